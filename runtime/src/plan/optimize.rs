//! Optimizer passes over a plan, run before it is scheduled. Each returns an equivalent plan
//! (same shape, type and values) that does less work.
//!
//! [`push_selections`] moves selections (`isel`/`sel`, which become `Select` nodes) below
//! element-wise operations, casts, takes, other selections and reductions, towards the data
//! sources. Evaluation is already demand-driven for element-wise chains, but a reduction is
//! computed whole before anything reads it: pushed below it, a box selection of an anomaly
//! (`(x - clim)[box]`) makes the climatology a reduction of the box alone, and only the box is
//! read from disk.

use std::collections::HashMap;

use super::{AxisSelect, Node, NodeRef, Op};
use crate::array::chunked::{binary_node, reduce_node, select_node, take_node, where_node};

/// Rewrites each shared sub-plan once, so that the rewritten plan shares it too (a reduction
/// used twice is still computed once).
#[derive(Default)]
struct Memo {
    plain: HashMap<u64, NodeRef>,
    pushed: HashMap<(u64, String), NodeRef>,
}

/// The plan with every selection pushed as far towards the sources as it goes.
pub fn push_selections(root: &NodeRef) -> NodeRef {
    rewrite(root, &mut Memo::default())
}

fn rewrite(node: &NodeRef, memo: &mut Memo) -> NodeRef {
    if let Some(done) = memo.plain.get(&node.id) {
        return done.clone();
    }
    let out = match &node.op {
        Op::Select { input, axes } => {
            let input = rewrite(input, memo);
            push(&input, axes, memo)
        }
        op => {
            let inputs: Vec<NodeRef> = op.inputs().into_iter().map(|i| rewrite(i, memo)).collect();
            if inputs.iter().zip(op.inputs()).all(|(new, old)| new.id == old.id) {
                node.clone()
            } else {
                Node::new(with_inputs(op, inputs), node.grid.clone(), node.dtype)
            }
        }
    };
    memo.plain.insert(node.id, out.clone());
    out
}

/// The same operation over other inputs (of the same shapes).
fn with_inputs(op: &Op, mut inputs: Vec<NodeRef>) -> Op {
    let mut next = || inputs.remove(0);
    match op {
        Op::Unary { op, .. } => Op::Unary { op: *op, input: next() },
        Op::Binary { op, .. } => Op::Binary { op: *op, lhs: next(), rhs: next() },
        Op::Where { .. } => Op::Where { cond: next(), then: next(), otherwise: next() },
        Op::Cast { .. } => Op::Cast { input: next() },
        Op::Transpose { perm, .. } => Op::Transpose { input: next(), perm: perm.clone() },
        Op::Select { axes, .. } => Op::Select { input: next(), axes: axes.clone() },
        Op::Take { axis, indices, .. } => Op::Take { input: next(), axis: *axis, indices: indices.clone() },
        Op::Concat { axis, inputs: old } => Op::Concat { inputs: (0..old.len()).map(|_| next()).collect(), axis: *axis },
        Op::Reshape { keep, .. } => Op::Reshape { input: next(), keep: *keep },
        Op::ExpandDims { axis, .. } => Op::ExpandDims { input: next(), axis: *axis },
        Op::Reduce { op, axes, ddof, skipna, groups, .. } => Op::Reduce { input: next(), op: *op, axes: axes.clone(), ddof: *ddof, skipna: *skipna, groups: groups.clone() },
        Op::Rechunk { .. } => Op::Rechunk { input: next() },
        Op::CumSum { axis, skipna, .. } => Op::CumSum { input: next(), axis: *axis, skipna: *skipna },
        Op::MapBlocks { f, .. } => Op::MapBlocks { input: next(), f: f.clone() },
        Op::Random { seed, dist } => Op::Random { seed: *seed, dist: *dist },
        Op::Full { value } => Op::Full { value: *value },
        Op::Arange { start, step } => Op::Arange { start: *start, step: *step },
        Op::Literal { block } => Op::Literal { block: block.clone() },
        Op::Zarr { source } => Op::Zarr { source: source.clone() },
        Op::Source { source } => Op::Source { source: source.clone() },
        Op::Persisted { chunks } => Op::Persisted { chunks: chunks.clone() },
        Op::Invalid { error } => Op::Invalid { error: error.clone() },
    }
}

fn full(len: usize) -> AxisSelect {
    AxisSelect::Range { start: 0, step: 1, len }
}

fn is_identity(node: &NodeRef, axes: &[AxisSelect]) -> bool {
    axes.iter().zip(node.shape()).all(|(a, n)| *a == full(n))
}

/// What a selection of a broadcast result selects of one operand: operands align on their
/// trailing axes, and a length-1 axis that was broadcast keeps its one element.
fn for_operand(axes: &[AxisSelect], operand: &NodeRef) -> Vec<AxisSelect> {
    let shape = operand.shape();
    let lead = axes.len() - shape.len();
    shape
        .iter()
        .enumerate()
        .map(|(j, &n)| match &axes[lead + j] {
            AxisSelect::Index(_) if n == 1 => AxisSelect::Index(0),
            AxisSelect::Range { len, .. } if n == 1 && *len > 0 => full(1),
            sel => sel.clone(),
        })
        .collect()
}

/// `node` selected by `axes`, with the selection pushed into its inputs where that is exact.
fn push(node: &NodeRef, axes: &[AxisSelect], memo: &mut Memo) -> NodeRef {
    if is_identity(node, axes) {
        return node.clone();
    }
    let key = (node.id, format!("{axes:?}"));
    if let Some(done) = memo.pushed.get(&key) {
        return done.clone();
    }
    let out = match &node.op {
        Op::Unary { op, input } => {
            let input = push(input, axes, memo);
            Node::new(Op::Unary { op: *op, input: input.clone() }, input.grid.clone(), node.dtype)
        }
        Op::Cast { input } => {
            let input = push(input, axes, memo);
            Node::new(Op::Cast { input: input.clone() }, input.grid.clone(), node.dtype)
        }
        Op::Binary { op, lhs, rhs } if lhs.shape().len() <= axes.len() && rhs.shape().len() <= axes.len() => {
            let (l, r) = (push(lhs, &for_operand(axes, lhs), memo), push(rhs, &for_operand(axes, rhs), memo));
            binary_node(*op, &l, &r)
        }
        Op::Where { cond, then, otherwise } if [cond, then, otherwise].iter().all(|x| x.shape().len() <= axes.len()) => {
            let c = push(cond, &for_operand(axes, cond), memo);
            let t = push(then, &for_operand(axes, then), memo);
            let o = push(otherwise, &for_operand(axes, otherwise), memo);
            where_node(&c, &t, &o)
        }
        Op::Select { input, axes: inner } => push(input, &compose(inner, axes), memo),
        Op::Take { input, axis, indices } => {
            let mut below = axes.to_vec();
            match &axes[*axis] {
                AxisSelect::Index(i) => {
                    below[*axis] = AxisSelect::Index(indices[*i]);
                    push(input, &below, memo)
                }
                AxisSelect::Range { start, step, len } => {
                    let kept: Vec<usize> = (0..*len).map(|k| indices[start + k * step]).collect();
                    below[*axis] = full(input.shape()[*axis]);
                    let dropped = axes[..*axis].iter().filter(|a| matches!(a, AxisSelect::Index(_))).count();
                    let inner = push(input, &below, memo);
                    take_node(&inner, *axis - dropped, &kept)
                }
            }
        }
        Op::Reduce { input, op, axes: reduced, ddof, skipna, groups: None } => {
            // Output axes are the input's kept axes, in order.
            let mut below = Vec::new();
            let mut kept = axes.iter();
            for (a, &n) in input.shape().iter().enumerate() {
                if reduced.contains(&a) {
                    below.push(full(n));
                } else {
                    below.push(kept.next().cloned().unwrap_or(full(n)));
                }
            }
            let dropped = |a: usize| below[..a].iter().filter(|s| matches!(s, AxisSelect::Index(_))).count();
            let new_axes: Vec<usize> = reduced.iter().map(|&a| a - dropped(a)).collect();
            let inner = push(input, &below, memo);
            reduce_node(&inner, *op, new_axes, *ddof, *skipna)
        }
        Op::Reduce { input, op, axes: reduced, ddof, skipna, groups: Some(groups) } => {
            // The grouped axis stays whole below (each group needs all its members); the
            // selection along it is applied to the (small) result.
            let axis = reduced[0];
            let mut below = axes.to_vec();
            below[axis] = full(input.shape()[axis]);
            let inner = push(input, &below, memo);
            let dropped = axes[..axis].iter().filter(|a| matches!(a, AxisSelect::Index(_))).count();
            let mut shape = inner.shape();
            shape[axis - dropped] = groups.ngroups;
            let mut chunks = inner.grid.chunks().to_vec();
            chunks[axis - dropped] = vec![groups.ngroups];
            let grouped = match crate::array::ChunkGrid::from_spec(&shape, &crate::array::ChunkSpec::Explicit(chunks), 8) {
                Ok(grid) => Node::new(Op::Reduce { input: inner, op: *op, axes: vec![axis - dropped], ddof: *ddof, skipna: *skipna, groups: Some(groups.clone()) }, grid, node.dtype),
                Err(_) => return select_node(node, axes.to_vec()),
            };
            let mut above: Vec<AxisSelect> = grouped.shape().iter().map(|&n| full(n)).collect();
            above[axis - dropped] = axes[axis].clone();
            if is_identity(&grouped, &above) { grouped } else { select_node(&grouped, above) }
        }
        _ => select_node(node, axes.to_vec()),
    };
    memo.pushed.insert(key, out.clone());
    out
}

/// One selection that does what `inner` and then `outer` do.
fn compose(inner: &[AxisSelect], outer: &[AxisSelect]) -> Vec<AxisSelect> {
    let mut outer = outer.iter();
    inner
        .iter()
        .map(|sel| match sel {
            AxisSelect::Index(i) => AxisSelect::Index(*i),
            AxisSelect::Range { start, step, len } => match outer.next() {
                Some(AxisSelect::Index(i)) => AxisSelect::Index(start + i * step),
                Some(AxisSelect::Range { start: s2, step: st2, len: l2 }) => AxisSelect::Range { start: start + s2 * step, step: step * st2, len: *l2 },
                None => AxisSelect::Range { start: *start, step: *step, len: *len },
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::array::{from_array, ChunkSpec, Sel};

    fn count(node: &NodeRef, f: impl Fn(&Op) -> bool) -> usize {
        node.post_order().iter().filter(|n| f(&n.op)).count()
    }

    #[test]
    fn a_box_of_an_anomaly_reduces_only_the_box() {
        let values = ndarray::Array3::from_shape_fn((24, 6, 8), |(t, y, x)| (t * 100 + y * 10 + x) as f64 + (t % 5) as f64 * 0.5).into_dyn();
        let x = from_array(values, ChunkSpec::Explicit(vec![vec![12, 12], vec![3, 3], vec![4, 4]]));
        let labels: Vec<usize> = (0..24).map(|t| t % 12).collect();
        let clim = x.group_reduce(crate::plan::ReduceOp::Mean, 0, labels.clone(), 12, 0, true);
        let anom = &x - &clim.take(0, &labels);
        let boxed = anom.isel(&[Sel::All, Sel::from(2..4), Sel::from(1..6)]).mean(&[1, 2]);
        let plan = push_selections(boxed.plan());
        // The grouped reduction now reads a 2 x 5 box, not the 6 x 8 field.
        let grouped: Vec<NodeRef> = plan.post_order().into_iter().filter(|n| matches!(&n.op, Op::Reduce { groups: Some(_), .. })).collect();
        assert_eq!(grouped.len(), 1);
        assert_eq!(grouped[0].op.inputs()[0].shape(), vec![24, 2, 5]);
        assert_eq!(count(&plan, |op| matches!(op, Op::Select { .. })), 1, "one selection, at the source");
        let unoptimized = crate::exec::ComputeOptions { unoptimized: true, ..Default::default() };
        let direct = crate::exec::compute(boxed.plan(), &unoptimized).unwrap().to_f64();
        let optimized = crate::exec::compute(&plan, &unoptimized).unwrap().to_f64();
        assert_eq!(direct.shape(), optimized.shape());
        for (a, b) in direct.iter().zip(optimized.iter()) {
            assert!((a - b).abs() < 1e-9, "{a} vs {b}");
        }
    }

    #[test]
    fn composed_selections_and_reductions_keep_their_values() {
        let values = ndarray::Array3::from_shape_fn((5, 7, 9), |(a, b, c)| (a * 63 + b * 9 + c) as f64).into_dyn();
        let x = from_array(values, ChunkSpec::Uniform(3));
        let y = (&x * 2.0).sum(&[1]).isel(&[Sel::from(1..5).step(2), Sel::Index(4)]);
        let z = (&x + &x.isel(&[Sel::Index(0)])).isel(&[Sel::from(1..4), Sel::Index(2), Sel::from(0..9).step(4)]).isel(&[Sel::Index(1)]);
        for plan in [y.plan(), z.plan()] {
            let optimized = push_selections(plan);
            let unoptimized = crate::exec::ComputeOptions { unoptimized: true, ..Default::default() };
            let a = crate::exec::compute(plan, &unoptimized).unwrap();
            let b = crate::exec::compute(&optimized, &unoptimized).unwrap();
            assert_eq!(a, b);
        }
    }
}
