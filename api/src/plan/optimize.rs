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

use super::{AxisSelect, Node, NodeId, NodeRef, Op};
use crate::array::DType;
use super::build::{binary_node, expand_dims_node, group_reduce_node, reduce_node, select_node, take_node, transpose_node, unary_node, where_node};

/// Rewrites each shared sub-plan once, so that the rewritten plan shares it too (a reduction
/// used twice is still computed once).
#[derive(Default)]
struct Memo {
    plain: HashMap<NodeId, NodeRef>,
    pushed: HashMap<(NodeId, Vec<AxisSelect>), NodeRef>,
}

/// The optimizer's passes, in the order [`optimize`] runs them.
pub const PASSES: &[(&str, fn(&NodeRef) -> NodeRef)] = &[("push_selections", push_selections), ("fold_casts", fold_casts)];

/// The plan after every pass: what the scheduler runs.
pub fn optimize(root: &NodeRef) -> NodeRef {
    PASSES.iter().fold(root.clone(), |plan, (_, pass)| pass(&plan))
}

/// Rebuilds the plan bottom-up, replacing each node (its inputs already rebuilt) by what `f`
/// makes of it, if anything; shared nodes are rebuilt once and stay shared.
fn transform_up(root: &NodeRef, f: impl Fn(&NodeRef) -> Option<NodeRef>) -> NodeRef {
    let mut memo: HashMap<NodeId, NodeRef> = HashMap::new();
    for node in root.post_order() {
        let unchanged = node.op.inputs().into_iter().all(|i| memo.get(&i.id).is_some_and(|new| new.id == i.id));
        let rebuilt = if unchanged {
            node.clone()
        } else {
            Node::new(node.op.map_inputs(|i| memo.get(&i.id).cloned().unwrap_or_else(|| i.clone())), node.grid.clone(), node.dtype)
        };
        let out = f(&rebuilt).unwrap_or(rebuilt);
        memo.insert(node.id, out);
    }
    memo.remove(&root.id).unwrap_or_else(|| root.clone())
}

/// Reductions read float32 data that a cast widened to float64 (a labeled variable decoded
/// as float64, `astype::<f64>()`) in float32, accumulating in float64 from the first addition:
/// the same result bit for bit, without a float64 copy of every chunk (half the bytes
/// touched, and no page faults for the copies).
pub fn fold_casts(root: &NodeRef) -> NodeRef {
    transform_up(root, |node| {
        let Op::Reduce { input, op, axes, ddof, skipna, groups } = &node.op else { return None };
        let Op::Cast { input: narrow } = &input.op else { return None };
        if !(narrow.dtype == DType::F32 && input.dtype == DType::F64) {
            return None;
        }
        let op = Op::Reduce { input: narrow.clone(), op: *op, axes: axes.clone(), ddof: *ddof, skipna: *skipna, groups: groups.clone() };
        Some(Node::new(op, node.grid.clone(), node.dtype))
    })
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
                {
                let mut inputs = inputs.into_iter();
                Node::new(op.map_inputs(|old| inputs.next().unwrap_or_else(|| old.clone())), node.grid.clone(), node.dtype)
            }
            }
        }
    };
    memo.plain.insert(node.id, out.clone());
    out
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
    let key = (node.id, axes.to_vec());
    if let Some(done) = memo.pushed.get(&key) {
        return done.clone();
    }
    let out = match &node.op {
        Op::Unary { op, input } => {
            unary_node(*op, &push(input, axes, memo))
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
        Op::ExpandDims { input, axis } => {
            let mut below = axes.to_vec();
            match below.remove(*axis) {
                // The new axis's one element, dropped: the input selected as it was.
                AxisSelect::Index(_) => push(input, &below, memo),
                AxisSelect::Range { len: 1, .. } => {
                    let dropped = axes[..*axis].iter().filter(|a| matches!(a, AxisSelect::Index(_))).count();
                    expand_dims_node(&push(input, &below, memo), axis - dropped)
                }
                _ => select_node(node, axes.to_vec()),
            }
        }
        Op::Transpose { input, perm } => {
            // Output axis k is input axis perm[k]: select each input axis as its output axis.
            let mut below = vec![full(0); perm.len()];
            for (k, &p) in perm.iter().enumerate() {
                below[p] = axes[k].clone();
            }
            let kept = |p: usize| !matches!(below[p], AxisSelect::Index(_));
            let kept_inputs: Vec<usize> = (0..perm.len()).filter(|&p| kept(p)).collect();
            let order: Vec<usize> = perm.iter().filter(|&&p| kept(p)).filter_map(|p| kept_inputs.iter().position(|q| q == p)).collect();
            transpose_node(&push(input, &below, memo), &order)
        }
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
            let grouped = group_reduce_node(&inner, *op, axis - dropped, groups.clone(), *ddof, *skipna, node.dtype);
            if matches!(grouped.op, Op::Invalid { .. }) {
                return select_node(node, axes.to_vec());
            }
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

    /// The plan's lines without ids.
    fn printed(plan: &NodeRef) -> Vec<String> {
        crate::plan::explain::tree(plan).lines().map(|l| l.split(" #").next().unwrap_or(l).to_string()).collect()
    }

    #[test]
    fn selections_move_below_arithmetic_and_reductions_to_the_source() {
        let x = crate::array::arange(0.0, 240.0, 1.0, 60).reshape(&[10, 24]).rechunk([5, 8]);
        let y = (&x * 2.0).sum(&[0]).isel(&[Sel::from(4..12)]);
        assert_eq!(
            printed(y.plan()),
            [
                "getitem [4:12]: float64 (8,) in 2 chunks of (4,)",
                "  sum axes=[0]: float64 (24,) in 3 chunks of (8,)",
                "    mul: float64 (10, 24) in 6 chunks of (5, 8)",
                "      rechunk: float64 (10, 24) in 6 chunks of (5, 8)",
                "        reshape keep=0: float64 (10, 24) in 5 chunks of (2, 24)",
                "          arange start=0 step=1: float64 (240,) in 4 chunks of (60,)",
                "      full 2: float64 ()",
            ]
        );
        assert_eq!(
            printed(&push_selections(y.plan())),
            [
                "sum axes=[0]: float64 (8,) in 2 chunks of (4,)",
                "  mul: float64 (10, 8) in 4 chunks of (5, 4)",
                "    getitem [0:10, 4:12]: float64 (10, 8) in 4 chunks of (5, 4)",
                "      rechunk: float64 (10, 24) in 6 chunks of (5, 8)",
                "        reshape keep=0: float64 (10, 24) in 5 chunks of (2, 24)",
                "          arange start=0 step=1: float64 (240,) in 4 chunks of (60,)",
                "    full 2: float64 ()",
            ]
        );
    }

    #[test]
    fn a_widening_cast_under_a_reduction_is_folded_into_it_with_the_same_bits() {
        let values = ndarray::Array3::from_shape_fn((7, 9, 11), |(t, y, x)| {
            if (t * 99 + y * 11 + x) % 13 == 5 { f32::NAN } else { ((t * 31 + y * 7 + x) % 97) as f32 * 0.37 - 11.0 }
        });
        let x = from_array(values.into_dyn(), ChunkSpec::Explicit(vec![vec![3, 4], vec![9], vec![5, 6]]));
        let wide = x.astype::<f64>();
        let y = wide.nanmean(&[1, 2]);
        assert_eq!(
            printed(&fold_casts(y.plan())),
            ["nanmean axes=[1, 2]: float64 (7,) in 2 chunks of (4,)", "  array in memory (2772 bytes): float32 (7, 9, 11) in 4 chunks of (4, 9, 6)"]
        );
        let unoptimized = crate::exec::ComputeOptions { unoptimized: true, ..Default::default() };
        let plans = [
            y.plan().clone(),
            wide.nansum(&[0]).plan().clone(),
            wide.sum(..).plan().clone(),
            wide.mean(&[2]).plan().clone(),
            wide.nanvar(&[0, 1], 1).plan().clone(),
            wide.nanmax(&[1]).plan().clone(),
            wide.count(&[0]).plan().clone(),
        ];
        for plan in plans {
            let folded = fold_casts(&plan);
            assert!(!folded.post_order().iter().any(|n| matches!(n.op, Op::Cast { .. })), "{}", crate::plan::explain::tree(&folded));
            let a = crate::exec::compute(&plan, &unoptimized).unwrap();
            let b = crate::exec::compute(&folded, &unoptimized).unwrap();
            assert_eq!(a.dtype(), b.dtype());
            let (a, b) = (a.to_f64(), b.to_f64());
            assert!(a.iter().zip(b.iter()).all(|(p, q)| p.to_bits() == q.to_bits()), "{a} vs {b}");
        }
        // A narrowing cast, or one to another type, is left where it is.
        let narrow = from_array(ndarray::ArrayD::<f64>::zeros(ndarray::IxDyn(&[4])), 2).astype::<f32>().sum(..);
        assert_eq!(fold_casts(narrow.plan()).id, narrow.plan().id);
    }

    #[test]
    fn selections_move_below_new_axes_and_transposes() {
        let x = crate::array::arange(0.0, 24.0, 1.0, 24).reshape(&[2, 3, 4]);
        // x - mean over axis 0, broadcast back with a new axis: the box reaches the mean.
        let anomaly = crate::plan::build::binary_node(crate::plan::BinaryOp::Sub, x.plan(), &crate::plan::build::expand_dims_node(x.mean(&[0]).plan(), 0));
        let boxed = select_node(&anomaly, vec![full(2), AxisSelect::Range { start: 1, step: 1, len: 2 }, AxisSelect::Index(3)]);
        let pushed = push_selections(&boxed);
        assert!(printed(&pushed).contains(&"    mean axes=[0]: float64 (2,)".to_string()), "{}", crate::plan::explain::tree(&pushed));
        let t = x.transpose(&[2, 0, 1]).isel(&[Sel::from(1..3), Sel::Index(1), Sel::from(0..3).step(2)]);
        assert_eq!(printed(&push_selections(t.plan()))[..2], ["transpose [1, 0]: float64 (2, 2)".to_string(), "  getitem [1, 0:3:2, 1:3]: float64 (2, 2)".to_string()]);
        let unoptimized = crate::exec::ComputeOptions { unoptimized: true, ..Default::default() };
        for plan in [&boxed, t.plan()] {
            let a = crate::exec::compute(plan, &unoptimized).unwrap();
            let b = crate::exec::compute(&push_selections(plan), &unoptimized).unwrap();
            assert_eq!(a, b);
        }
    }

    #[test]
    fn a_selection_of_a_take_selects_the_taken_positions() {
        let x = crate::array::arange(0.0, 12.0, 1.0, 4);
        let y = x.take(0, &[9, 1, 5, 7]).isel(&[Sel::Index(2)]);
        assert_eq!(printed(&push_selections(y.plan())), ["getitem [5]: float64 ()", "  arange start=0 step=1: float64 (12,) in 3 chunks of (4,)"]);
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
