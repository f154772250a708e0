//! Cumulative sums along an axis, as a scan over chunks. A first pass (run by the scheduler
//! like a reduction) sums each chunk along the axis; the exclusive prefix of those totals is
//! the offset each chunk's own cumulative sum starts from. Any region can then be evaluated
//! on its own, so the scan's output streams like an element-wise operation.

use std::ops::Range;

use ndarray::{ArrayD, Axis, IxDyn};

use super::eval::{eval, Materialized};
use crate::array::Block;
use crate::error::Error;
use crate::plan::Node;

/// A chunk's sum along `axis`, with the axis kept (length 1).
pub fn chunk_total(block: &Block, axis: usize, skipna: bool) -> ArrayD<f64> {
    let values = block.as_f64();
    let summed = if skipna {
        values.map_axis(Axis(axis), |lane| lane.iter().filter(|v| !v.is_nan()).sum::<f64>())
    } else {
        values.sum_axis(Axis(axis))
    };
    summed.insert_axis(Axis(axis))
}

/// Turns per-chunk totals (the axis holding one entry per chunk) into the sum of all chunks
/// before each one.
pub fn exclusive_prefix(mut totals: ArrayD<f64>, axis: usize) -> ArrayD<f64> {
    for mut lane in totals.lanes_mut(Axis(axis)) {
        let mut running = 0.0;
        for v in lane.iter_mut() {
            let total = *v;
            *v = running;
            running += total;
        }
    }
    totals
}

/// The cumulative sum of `input` along `axis` over `region`, given the chunk offsets.
pub fn eval_scan(
    input: &Node,
    axis: usize,
    skipna: bool,
    offsets: &Block,
    region: &[Range<usize>],
    done: &Materialized,
) -> Result<Block, Error> {
    let want = &region[axis];
    if want.is_empty() {
        let shape: Vec<usize> = region.iter().map(|r| r.len()).collect();
        return Ok(Block::F64(ArrayD::zeros(IxDyn(&shape))));
    }
    // Start from the beginning of the chunk holding the region's first element.
    let Some((k, chunk)) = input.grid.overlapping(axis, &(want.start..want.start + 1)).into_iter().next() else {
        return Err(Error::IndexOutOfRange { axis, index: want.start, len: input.shape()[axis] });
    };
    let mut inner = region.to_vec();
    inner[axis] = chunk.start..want.end;
    let mut values = eval(input, &inner, done)?.to_f64();
    if skipna {
        values.mapv_inplace(|v| if v.is_nan() { 0.0 } else { v });
    }
    values.accumulate_axis_inplace(Axis(axis), |prev, cur| *cur += *prev);
    let mut at = region.to_vec();
    at[axis] = k..k + 1;
    values += &offsets.slice(&at).to_f64();
    let skip = want.start - chunk.start;
    Ok(Block::F64(values.slice_axis(Axis(axis), ndarray::Slice::from(skip..)).to_owned()))
}
