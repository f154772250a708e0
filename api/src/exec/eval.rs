//! Evaluating a plan over a region of its output. Every operation maps the region it is
//! asked for to the regions of its inputs, so a chain of element-wise operations runs as one
//! pass per chunk with no intermediate chunks stored (fusion), and a selection only ever
//! reads the part of its source it keeps (pushdown). Reductions are the exception: the
//! scheduler materialises them first, and here they are looked up.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::Arc;

use ndarray::{ArrayD, IxDyn};

use super::elementwise;
use crate::array::{Block, ChunkGrid};
use crate::error::Error;
use crate::plan::build::operand_dtype;
use crate::plan::{AxisSelect, Distribution, Node, NodeId, NodeRef, Op, StoredRead};

/// Results materialised before the main pass (reductions), by node id.
pub type Materialized = HashMap<NodeId, Arc<Block>>;

/// A box of an array: one range of positions per axis.
pub type Region = Vec<Range<usize>>;

thread_local! {
    /// The stored reads of the task running on this thread that its plan uses more than once
    /// (see [`eval_task`]), by node and region. Task-scoped: set and cleared around one task.
    static SHARED_READS: RefCell<Option<SharedReads>> = const { RefCell::new(None) };
}

/// Stored reads a task's plan makes more than once, and their values once read.
struct SharedReads {
    shared: HashSet<NodeId>,
    values: HashMap<(NodeId, Region), Block>,
}

/// The values of `node` inside `region`, as one task computes them: a source the plan reads
/// more than once over the same region (a CF mask is `where(x == fill, NaN, x)`, which names
/// `x` twice) is read once, and its other uses take a copy.
pub fn eval_task(node: &Node, region: &[Range<usize>], done: &Materialized) -> Result<Block, Error> {
    let mut counts = HashMap::new();
    count_sources(node, &mut counts);
    let shared: HashSet<NodeId> = counts.into_iter().filter(|&(_, n)| n > 1).map(|(id, _)| id).collect();
    if shared.is_empty() {
        return eval(node, region, done);
    }
    let outer = SHARED_READS.with(|s| s.replace(Some(SharedReads { shared, values: HashMap::new() })));
    let result = eval(node, region, done);
    SHARED_READS.with(|s| *s.borrow_mut() = outer);
    result
}

/// How many times each stored source appears in the plan under `node` (reductions, which
/// are materialised, are not looked into).
fn count_sources(node: &Node, counts: &mut HashMap<NodeId, usize>) {
    match &node.op {
        Op::Zarr { .. } | Op::Netcdf { .. } => *counts.entry(node.id).or_default() += 1,
        Op::Reduce { .. } => {}
        op => op.inputs().into_iter().for_each(|input| count_sources(input, counts)),
    }
}

/// Reads `region` of the stored source `node` with `read`, or takes the value the running
/// task already read (see [`eval_task`]).
fn stored(node: &Node, region: &[Range<usize>], read: impl FnOnce() -> Result<Block, Error>) -> Result<Block, Error> {
    let key = (node.id, region.to_vec());
    let kept = SHARED_READS.with(|s| s.borrow().as_ref().filter(|r| r.shared.contains(&node.id)).map(|r| r.values.get(&key).cloned()));
    match kept {
        None => read(),
        Some(Some(block)) => Ok(block),
        Some(None) => {
            let block = read()?;
            SHARED_READS.with(|s| {
                if let Some(reads) = s.borrow_mut().as_mut() {
                    reads.values.insert(key, block.clone());
                }
            });
            Ok(block)
        }
    }
}

/// The values of `node` inside `region`.
pub fn eval(node: &Node, region: &[Range<usize>], done: &Materialized) -> Result<Block, Error> {
    let shape: Vec<usize> = region.iter().map(|r| r.len()).collect();
    match &node.op {
        Op::Invalid { error } => Err(error.clone()),
        Op::Random { seed, dist } => Ok(random(*seed, *dist, &node.shape(), region, None).into_dtype(node.dtype)),
        Op::Full { value } => Ok(Block::full(node.dtype, &shape, *value)),
        Op::Arange { start, step } => {
            let r = region.first().cloned().unwrap_or(0..0);
            let values: Vec<f64> = r.map(|i| start + step * i as f64).collect();
            Ok(Block::F64(ArrayD::from_shape_vec(IxDyn(&shape), values).map_err(|_| Error::WrongLength {
                op: "arange",
                expected: shape.iter().product(),
                got: 0,
            })?)
            .into_dtype(node.dtype))
        }
        Op::Literal { data } => {
            let block = data.blocks().first().ok_or(Error::InvalidChunks { reason: "a literal array without values".into() })?;
            Ok(block.slice(region))
        }
        Op::Netcdf { source } => stored(node, region, || crate::executor::executor().read_netcdf(source, node.dtype, region)),
        Op::Zarr { source } => stored(node, region, || assemble(&node.grid, region, |index, chunk, part| crate::executor::executor().read_zarr_chunk(source, node.dtype, index, chunk, part))),
        Op::Persisted { data } => assemble(&node.grid, region, |index, chunk, part| {
            let block = data.blocks().get(index).ok_or(Error::InvalidChunks { reason: "persisted chunk missing".into() })?;
            Ok(block.slice(&local(chunk, part)))
        }),
        Op::Unary { op, input } => elementwise::unary(*op, eval(input, region, done)?),
        Op::Binary { op, lhs, rhs } => {
            let a = eval_operand(lhs, region, done)?;
            let b = eval_operand(rhs, region, done)?;
            elementwise::binary(*op, a, b, &shape, operand_dtype(*op, lhs, rhs, node.dtype))
        }
        Op::Where { cond, then, otherwise } => {
            let c = eval_operand(cond, region, done)?;
            let t = eval_operand(then, region, done)?;
            let o = eval_operand(otherwise, region, done)?;
            elementwise::select(c, t, o, &shape, node.dtype)
        }
        Op::Cast { input } => Ok(eval(input, region, done)?.into_dtype(node.dtype)),
        Op::Transpose { input, perm } => {
            if let Op::Random { seed, dist } = &input.op {
                return Ok(random(*seed, *dist, &input.shape(), region, Some(perm)).into_dtype(node.dtype));
            }
            Ok(eval(input, &transpose_inner(perm, region), done)?.permuted(perm))
        }
        Op::Select { input, axes } => {
            let mut block = eval(input, &select_inner(axes, region), done)?;
            for (axis, sel) in axes.iter().enumerate() {
                if let AxisSelect::Range { step, .. } = sel {
                    if *step > 1 {
                        let count = block.shape()[axis].div_ceil(*step);
                        block = block.stride(axis, 0, *step, count);
                    }
                }
            }
            for (axis, sel) in axes.iter().enumerate().rev() {
                if matches!(sel, AxisSelect::Index(_)) {
                    block = block.remove_axis(axis);
                }
            }
            Ok(block)
        }
        Op::Take { input, axis, indices } => {
            let wanted = &indices[region[*axis].clone()];
            let inner = take_inner(*axis, wanted, region);
            let block = eval(input, &inner, done)?;
            let local: Vec<usize> = wanted.iter().map(|i| i - inner[*axis].start).collect();
            Ok(block.take(*axis, &local))
        }
        Op::Concat { inputs, axis } => {
            let mut parts = Vec::new();
            for (input, inner) in concat_parts(inputs, *axis, region) {
                parts.push(eval(input, &inner, done)?.into_dtype(node.dtype));
            }
            if parts.len() == 1 {
                return Ok(parts.remove(0));
            }
            Block::concatenate(*axis, &parts)
        }
        Op::Reduce { .. } => match done.get(&node.id) {
            Some(block) => Ok(block.slice(region)),
            None => Err(Error::InvalidChunks { reason: "a reduction was not computed before its use".into() }),
        },
        Op::Rechunk { input } => eval(input, region, done),
        Op::CumSum { input, axis, skipna } => match done.get(&node.id) {
            Some(offsets) => Ok(super::scan::eval_scan(input, *axis, *skipna, offsets, region, done)?.into_dtype(node.dtype)),
            None => Err(Error::InvalidChunks { reason: "a cumulative sum's chunk offsets were not computed before its use".into() }),
        },
        Op::Reshape { input, keep } => reshape(input, *keep, &node.shape(), region, done),
        Op::ExpandDims { input, axis } => {
            let mut inner = region.to_vec();
            inner.remove(*axis);
            Ok(eval(input, &inner, done)?.insert_axis(*axis))
        }
        Op::MapBlocks { input, f } => assemble(&input.grid, region, |_, chunk, part| {
            // The function sees whole input chunks, as dask's map_blocks does.
            let block = eval(input, chunk, done)?;
            let out = f(&block);
            if out.shape() != block.shape() {
                return Err(Error::MapBlocksShape { expected: block.shape().to_vec(), got: out.shape().to_vec() });
            }
            Ok(out.slice(&local(chunk, part)))
        }),
    }
}

/// A region of a reshaped array. Axes before `keep` map one to one. Past them, the
/// region's span of output axis `keep` (with all later axes whole) is one contiguous run of
/// elements in row-major order, which is a run of whole rows of the input's axis `keep`:
/// those rows are read, flattened, cut to the run and given the output's shape. A region that
/// takes part of the later axes is cut from that afterwards.
fn reshape(input: &Node, keep: usize, out_shape: &[usize], region: &[Range<usize>], done: &Materialized) -> Result<Block, Error> {
    let in_shape = input.shape();
    let mut inner: Region = region[..keep].to_vec();
    let prefix: Vec<usize> = inner.iter().map(|r| r.len()).collect();
    if keep == out_shape.len() || keep == in_shape.len() {
        // What follows the kept axes holds a single element on both sides.
        inner.extend(in_shape[keep..].iter().map(|&n| 0..n));
        let shape: Vec<usize> = region.iter().map(|r| r.len()).collect();
        return eval(input, &inner, done)?.reshape(&shape);
    }
    let row_in: usize = in_shape[keep + 1..].iter().product();
    let row_out: usize = out_shape[keep + 1..].iter().product();
    let span = &region[keep];
    let (flat_lo, flat_hi) = (span.start * row_out, span.end * row_out);
    let (lo, hi) = (flat_lo / row_in.max(1), flat_hi.div_ceil(row_in.max(1)));
    inner.push(lo..hi);
    inner.extend(in_shape[keep + 1..].iter().map(|&n| 0..n));
    let rows = eval(input, &inner, done)?;
    let mut flat_shape = prefix.clone();
    flat_shape.push((hi - lo) * row_in);
    let mut cut: Region = prefix.iter().map(|&n| 0..n).collect();
    cut.push(flat_lo - lo * row_in..flat_hi - lo * row_in);
    let mut whole_shape = prefix.clone();
    whole_shape.push(span.len());
    whole_shape.extend(&out_shape[keep + 1..]);
    let whole = rows.reshape(&flat_shape)?.slice(&cut).reshape(&whole_shape)?;
    let mut part: Region = whole_shape.iter().map(|&n| 0..n).collect();
    part[keep + 1..].clone_from_slice(&region[keep + 1..]);
    Ok(if part[keep + 1..].iter().zip(&out_shape[keep + 1..]).all(|(r, &n)| r.len() == n) { whole } else { whole.slice(&part) })
}

/// Evaluates an operand of a broadcasting operation for the output `region`.
fn eval_operand(node: &Node, region: &[Range<usize>], done: &Materialized) -> Result<Block, Error> {
    eval(node, &operand_inner(node, region), done)
}

/// The part of an operand of a broadcasting operation that broadcasts to the output
/// `region` (axes of length 1 and missing leading axes stay so).
fn operand_inner(node: &Node, region: &[Range<usize>]) -> Region {
    let shape = node.shape();
    let lead = region.len() - shape.len();
    shape.iter().enumerate().map(|(k, &n)| if n == 1 { 0..1 } else { region[lead + k].clone() }).collect()
}

/// The input region a transposition's output `region` reads.
fn transpose_inner(perm: &[usize], region: &[Range<usize>]) -> Region {
    let mut inner = vec![0..0; perm.len()];
    for (k, &p) in perm.iter().enumerate() {
        inner[p] = region[k].clone();
    }
    inner
}

/// The input region a selection's output `region` reads: the span of each kept range (its
/// step is applied afterwards), one position for each indexed axis.
fn select_inner(axes: &[AxisSelect], region: &[Range<usize>]) -> Region {
    let mut inner = Vec::with_capacity(axes.len());
    let mut k = 0;
    for sel in axes {
        match sel {
            AxisSelect::Range { start, step, .. } => {
                let r = &region[k];
                let first = start + step * r.start;
                let end = if r.is_empty() { first } else { first + step * (r.len() - 1) + 1 };
                inner.push(first..end);
                k += 1;
            }
            AxisSelect::Index(i) => inner.push(*i..*i + 1),
        }
    }
    inner
}

/// The input region a `take` of the positions `wanted` along `axis` reads: their span.
fn take_inner(axis: usize, wanted: &[usize], region: &[Range<usize>]) -> Region {
    let span = match (wanted.iter().min(), wanted.iter().max()) {
        (Some(&lo), Some(&hi)) => lo..hi + 1,
        _ => 0..0,
    };
    let mut inner = region.to_vec();
    inner[axis] = span;
    inner
}

/// The inputs of a concatenation along `axis` that the output `region` overlaps, each with
/// the region of it read.
fn concat_parts<'a>(inputs: &'a [NodeRef], axis: usize, region: &[Range<usize>]) -> Vec<(&'a Node, Region)> {
    let mut parts = Vec::new();
    let mut offset = 0;
    let want = &region[axis];
    for input in inputs {
        let len = input.shape()[axis];
        let (lo, hi) = (want.start.max(offset), want.end.min(offset + len));
        if lo < hi {
            let mut inner = region.to_vec();
            inner[axis] = lo - offset..hi - offset;
            parts.push((&**input, inner));
        }
        offset += len;
    }
    parts
}

/// The stored chunks that evaluating `region` of `node` reads, appended to `reads`: what the
/// scheduler asks the executor to fetch ahead of the tasks (an object store's requests then
/// go out together). It follows [`eval`]'s own mapping of regions through the operations a
/// chunk passes through; below those it does not follow (reshapes, scans, reductions, which
/// are materialised anyway) it stops, and those chunks are fetched when read.
pub fn stored_reads<'a>(node: &'a Node, region: &[Range<usize>], reads: &mut Vec<StoredRead<'a>>) {
    if region.iter().any(|r| r.is_empty()) {
        return;
    }
    match &node.op {
        Op::Zarr { source } => {
            let grid_shape = node.grid.grid_shape();
            let per_axis: Vec<Vec<(usize, Range<usize>)>> = region.iter().enumerate().map(|(axis, r)| node.grid.overlapping(axis, r)).collect();
            // Every combination of overlapping chunks, row-major; each is read whole when the
            // region covers it.
            let mut chunks: Vec<(usize, bool)> = vec![(0, true)];
            for (axis, overlapping) in per_axis.iter().enumerate() {
                let (n, want) = (grid_shape[axis], &region[axis]);
                chunks = chunks
                    .iter()
                    .flat_map(|&(index, whole)| overlapping.iter().map(move |(i, chunk)| (index * n + i, whole && want.start <= chunk.start && chunk.end <= want.end)))
                    .collect();
            }
            reads.extend(chunks.into_iter().map(|(chunk, whole)| StoredRead { source, chunk, whole }));
        }
        Op::Unary { input, .. } | Op::Cast { input } | Op::Rechunk { input } => stored_reads(input, region, reads),
        Op::Binary { lhs, rhs, .. } => {
            stored_reads(lhs, &operand_inner(lhs, region), reads);
            stored_reads(rhs, &operand_inner(rhs, region), reads);
        }
        Op::Where { cond, then, otherwise } => {
            for operand in [cond, then, otherwise] {
                stored_reads(operand, &operand_inner(operand, region), reads);
            }
        }
        Op::Transpose { input, perm } => stored_reads(input, &transpose_inner(perm, region), reads),
        Op::Select { input, axes } => stored_reads(input, &select_inner(axes, region), reads),
        Op::Take { input, axis, indices } => stored_reads(input, &take_inner(*axis, &indices[region[*axis].clone()], region), reads),
        Op::Concat { inputs, axis } => {
            for (input, inner) in concat_parts(inputs, *axis, region) {
                stored_reads(input, &inner, reads);
            }
        }
        Op::ExpandDims { input, axis } => {
            let mut inner = region.to_vec();
            inner.remove(*axis);
            stored_reads(input, &inner, reads);
        }
        Op::MapBlocks { input, .. } => {
            // The function sees whole input chunks: the span of those the region overlaps.
            let hull: Option<Region> = (0..region.len()).map(|axis| {
                let overlapping = input.grid.overlapping(axis, &region[axis]);
                Some(overlapping.first()?.1.start..overlapping.last()?.1.end)
            }).collect();
            if let Some(hull) = hull {
                stored_reads(input, &hull, reads);
            }
        }
        _ => {}
    }
}

/// Builds `region` from the chunks of `grid` it overlaps. `piece(index, chunk, part)` returns
/// `part` (array coordinates) of the chunk numbered `index` (row-major), whose full region is
/// `chunk`.
fn assemble(
    grid: &ChunkGrid,
    region: &[Range<usize>],
    piece: impl Fn(usize, &[Range<usize>], &[Range<usize>]) -> Result<Block, Error>,
) -> Result<Block, Error> {
    struct Walk<'a> {
        region: &'a [Range<usize>],
        per_axis: Vec<Vec<(usize, Range<usize>)>>,
        grid_shape: Vec<usize>,
        piece: &'a dyn Fn(usize, &[Range<usize>], &[Range<usize>]) -> Result<Block, Error>,
    }
    fn build(w: &Walk, axis: usize, index: usize, chunk: &mut Region, part: &mut Region) -> Result<Block, Error> {
        if axis == w.region.len() {
            return (w.piece)(index, chunk, part);
        }
        let mut parts = Vec::new();
        for (i, range) in &w.per_axis[axis] {
            chunk.push(range.clone());
            part.push(range.start.max(w.region[axis].start)..range.end.min(w.region[axis].end));
            parts.push(build(w, axis + 1, index * w.grid_shape[axis] + i, chunk, part)?);
            chunk.pop();
            part.pop();
        }
        if parts.len() == 1 {
            Ok(parts.remove(0))
        } else {
            Block::concatenate(axis, &parts)
        }
    }
    let walk = Walk {
        region,
        per_axis: region.iter().enumerate().map(|(axis, r)| grid.overlapping(axis, r)).collect(),
        grid_shape: grid.grid_shape(),
        piece: &piece,
    };
    build(&walk, 0, 0, &mut Vec::new(), &mut Vec::new())
}

/// `part` relative to `chunk`'s start.
fn local(chunk: &[Range<usize>], part: &[Range<usize>]) -> Region {
    chunk.iter().zip(part).map(|(c, p)| p.start - c.start..p.end - c.start).collect()
}

/// Counter-based random numbers: element `i` of a stream is a hash of (stream key, i), so
/// values depend on neither the chunking nor the thread count. `perm` reads the region through
/// a transpose (`perm[k]` is the source axis of output axis `k`), so a transposed random array
/// is generated in its output order instead of generated and then copied.
fn random(seed: u64, dist: Distribution, shape: &[usize], region: &[Range<usize>], perm: Option<&[usize]>) -> Block {
    let out_shape: Vec<usize> = region.iter().map(|r| r.len()).collect();
    if shape.is_empty() {
        return Block::F64(ArrayD::from_elem(IxDyn(&[]), sample(&Stream::new(seed), dist, 0)));
    }
    let mut source_strides = vec![1u64; shape.len()];
    for k in (0..shape.len() - 1).rev() {
        source_strides[k] = source_strides[k + 1] * shape[k + 1] as u64;
    }
    // The linear-index stride of each output axis.
    let strides: Vec<u64> = match perm {
        Some(perm) => perm.iter().map(|&p| source_strides[p]).collect(),
        None => source_strides,
    };
    let stream = Stream::new(seed);
    let n = out_shape.len();
    let inner_stride = strides[n - 1];
    let inner = region[n - 1].clone();
    let row_len = inner.len();
    let outer: usize = out_shape[..n - 1].iter().product();
    let mut values: Vec<f64> = Vec::with_capacity(outer * row_len);
    for o in 0..outer {
        let mut rem = o;
        let mut base = 0u64;
        for k in (0..n - 1).rev() {
            let i = rem % out_shape[k];
            rem /= out_shape[k];
            base += (region[k].start + i) as u64 * strides[k];
        }
        let first = base + inner.start as u64 * inner_stride;
        // The distribution is chosen once per row, so the loops below are tight.
        // (Filled by `extend` over an exact-size iterator: no zeroing pass first.)
        match dist {
            Distribution::Uniform { low, high } => {
                uniform_row(&mut values, stream.keys[0], first, inner_stride, row_len, low, high - low);
            }
            Distribution::Normal { .. } => {
                values.extend((0..row_len as u64).map(|j| sample(&stream, dist, first + j * inner_stride)));
            }
        }
    }
    Block::F64(ArrayD::from_shape_vec(IxDyn(&out_shape), values).unwrap_or_else(|_| ArrayD::zeros(IxDyn(&out_shape))))
}

/// Appends `len` uniform numbers in [low, low + scale) for positions `first`, `first +
/// stride`, ... Dispatches to copies compiled for AVX-512 or AVX2 where the CPU has them: the
/// generator's 64-bit multiplies then run several lanes at once.
fn uniform_row(values: &mut Vec<f64>, key: u64, first: u64, stride: u64, len: usize, low: f64, scale: f64) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512dq") {
            // SAFETY: the CPU supports AVX-512 DQ (and F), checked just above.
            return unsafe { uniform_row_avx512(values, key, first, stride, len, low, scale) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            return unsafe { uniform_row_avx2(values, key, first, stride, len, low, scale) };
        }
    }
    uniform_row_portable(values, key, first, stride, len, low, scale)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq")]
unsafe fn uniform_row_avx512(values: &mut Vec<f64>, key: u64, first: u64, stride: u64, len: usize, low: f64, scale: f64) {
    uniform_row_portable(values, key, first, stride, len, low, scale)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn uniform_row_avx2(values: &mut Vec<f64>, key: u64, first: u64, stride: u64, len: usize, low: f64, scale: f64) {
    uniform_row_portable(values, key, first, stride, len, low, scale)
}

#[inline(always)]
fn uniform_row_portable(values: &mut Vec<f64>, key: u64, first: u64, stride: u64, len: usize, low: f64, scale: f64) {
    values.extend((0..len as u64).map(|j| low + scale * unit(key, first + j * stride)));
}

/// A uniform number in [0, 1) from 53 random bits: SplitMix64 (Steele, Lea, Flood 2014) at
/// position `index` of the sequence keyed by `key`. Counter-based, so a number depends only
/// on its position; two 64-bit multiplies, which vectorise, where a 128-bit one would not.
#[inline(always)]
fn unit(key: u64, index: u64) -> f64 {
    let bits = splitmix64(key.wrapping_add(index.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15)));
    // 52 random mantissa bits under the exponent of 1.0 give [1, 2); no int-to-float
    // conversion needed.
    f64::from_bits(0x3FF0_0000_0000_0000 | (bits >> 12)) - 1.0
}

/// Per-stream keys, mixed once per chunk rather than once per number.
struct Stream {
    keys: [u64; 3],
}

impl Stream {
    fn new(seed: u64) -> Stream {
        Stream { keys: [0u64, 1, 2].map(|lane| splitmix64(seed ^ lane.wrapping_mul(0xD6E8_FEB8_6659_FD93))) }
    }

    fn unit(&self, lane: usize, index: u64) -> f64 {
        unit(self.keys[lane], index)
    }
}

/// The splitmix64 finaliser (Steele, Lea, Flood 2014): a bijective mix of 64 bits.
#[inline(always)]
fn splitmix64(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn sample(stream: &Stream, dist: Distribution, index: u64) -> f64 {
    match dist {
        Distribution::Uniform { low, high } => low + (high - low) * stream.unit(0, index),
        Distribution::Normal { mean, std } => {
            // Box-Muller; 1 - u keeps the logarithm's argument in (0, 1].
            let u1 = 1.0 - stream.unit(1, index);
            let u2 = stream.unit(2, index);
            mean + std * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::array::{ChunkedArray, DType, Sel};
    use crate::plan::ZarrRef;
    use crate::storage::Location;

    /// A 10 x 10 stored array in 4 x 4 chunks (3 x 3 of them), as a plan.
    fn stored() -> ChunkedArray<f64> {
        let source = ZarrRef::new(Location::new("s3://b/a.zarr", &Default::default()), serde_json::json!({}));
        let grid = ChunkGrid::regular(&[10, 10], &[4, 4]).unwrap();
        ChunkedArray::typed(Node::new(Op::Zarr { source }, grid, DType::F64))
    }

    fn reads(x: &ChunkedArray<f64>, region: &[Range<usize>]) -> Vec<(usize, bool)> {
        let mut out = Vec::new();
        stored_reads(x.plan(), region, &mut out);
        out.iter().map(|r| (r.chunk, r.whole)).collect()
    }

    #[test]
    fn the_chunks_a_region_reads_are_found_through_the_operations() {
        let x = stored();
        assert_eq!(reads(&x, &[0..4, 0..8]), vec![(0, true), (1, true)]);
        assert_eq!(reads(&x, &[2..6, 4..8]), vec![(1, false), (4, false)]);
        // Through a transposition and an element-wise operation with itself.
        let y = &x.t() * 2.0 + &x;
        assert_eq!(reads(&y, &[0..4, 4..8]), vec![(3, true), (1, true)]);
        // Through a selection: rows 1, 3, 5 of columns 8 and 9.
        let z = x.isel(&[Sel::from(1..7).step(2), Sel::from(8..)]);
        assert_eq!(reads(&z, &[0..3, 0..2]), vec![(2, false), (5, false)]);
        // An empty region reads nothing.
        assert!(reads(&x, &[0..0, 0..4]).is_empty());
    }
}
