//! Plans to and from JSON, so that a plan built in one process (a notebook cell) can be
//! evaluated in another (a worker). The file lists the nodes inputs first, each with its
//! operation (inputs as positions in the list), element type, chunks and id:
//!
//! ```json
//! {"format": "strata-plan/1", "root": 1, "nodes": [
//!   {"id": "…", "dtype": "float64", "chunks": [[5, 5]], "op": {"arange": {"start": 0.0, "step": 1.0}}},
//!   {"id": "…", "dtype": "float64", "chunks": [[1]], "op": {"reduce": {"input": 0, "op": "sum", …}}}]}
//! ```
//!
//! Reading a plan checks every node as the builders would have made it (axes and indices in
//! range, shapes that follow from the inputs, embedded values that fit their chunks), so a
//! damaged or hand-edited file is refused with the reason rather than failing in a task, and
//! checks that each node's content still hashes to its recorded id (the same version of the
//! plan format on both sides).

use serde::{Deserialize, Serialize};

use super::{Node, NodeRef, Op};
use crate::array::{ChunkGrid, ChunkSpec, DType};
use crate::error::Error;

/// The format written, and the only one read.
pub const FORMAT: &str = "strata-plan/1";

#[derive(Serialize, Deserialize)]
struct PlanFile {
    format: String,
    root: usize,
    nodes: Vec<NodeRecord>,
}

#[derive(Serialize, Deserialize)]
struct NodeRecord {
    id: String,
    dtype: DType,
    chunks: Vec<Vec<usize>>,
    op: Op<usize>,
}

/// The plan as JSON. Fails with the plan's own error if it could not be built, and with
/// [`Error::NotPortable`] if it holds a user closure.
pub fn to_json(root: &NodeRef) -> Result<String, Error> {
    if let Some(error) = root.first_error() {
        return Err(error);
    }
    let nodes = root.post_order();
    if let Some(closure) = nodes.iter().find(|n| !n.op.is_portable()) {
        return Err(Error::NotPortable { op: closure.op.name() });
    }
    let position: std::collections::HashMap<_, _> = nodes.iter().enumerate().map(|(i, n)| (n.id, i)).collect();
    let records = nodes
        .iter()
        .map(|n| NodeRecord {
            id: n.id.to_string(),
            dtype: n.dtype,
            chunks: n.grid.chunks().to_vec(),
            op: n.op.map_inputs(|input| position[&input.id]),
        })
        .collect();
    let file = PlanFile { format: FORMAT.into(), root: nodes.len() - 1, nodes: records };
    serde_json::to_string(&file).map_err(|e| Error::Plan { reason: e.to_string() })
}

/// The plan a [`to_json`] text describes, checked (see the module documentation).
pub fn from_json(text: &str) -> Result<NodeRef, Error> {
    let bad = |reason: String| Error::Plan { reason };
    let file: PlanFile = serde_json::from_str(text).map_err(|e| bad(format!("not a plan: {e}")))?;
    if file.format != FORMAT {
        return Err(bad(format!("format {:?}, but this version of Strata reads {FORMAT:?}", file.format)));
    }
    let mut built: Vec<NodeRef> = Vec::with_capacity(file.nodes.len());
    for (i, record) in file.nodes.into_iter().enumerate() {
        let name = record.op.name();
        let at = |reason: String| bad(format!("node {i} ({name}): {reason}"));
        if let Some(&later) = record.op.inputs().into_iter().find(|&&input| input >= i) {
            return Err(at(format!("input {later} is not an earlier node")));
        }
        let shape: Vec<usize> = record.chunks.iter().map(|c| c.iter().sum()).collect();
        let grid = ChunkGrid::from_spec(&shape, &ChunkSpec::Explicit(record.chunks), record.dtype.size_of()).map_err(|e| at(e.to_string()))?;
        let op = record.op.map_inputs(|&input| built[input].clone());
        check(&op, &shape, record.dtype, &grid).map_err(at)?;
        let node = Node::new(op, grid, record.dtype);
        if node.id.to_string() != record.id {
            return Err(at(format!("its content hashes to {} but the file says {}: written by another version of Strata, or edited", node.id, record.id)));
        }
        built.push(node);
    }
    built.get(file.root).cloned().ok_or_else(|| bad(format!("root {} is not one of the {} nodes", file.root, built.len())))
}

/// Whether `op` could have built a node of this shape, type and grid: what evaluation relies
/// on without checking again.
fn check(op: &Op, shape: &[usize], dtype: DType, grid: &ChunkGrid) -> Result<(), String> {
    let expect = |want: Vec<usize>| if want == shape { Ok(()) } else { Err(format!("shape {shape:?}, but its inputs give {want:?}")) };
    let axis_in = |axis: usize, ndim: usize| if axis < ndim { Ok(()) } else { Err(format!("axis {axis} out of range for {ndim} dimensions")) };
    // The element type the builders give this node, where they decide it (casts, sources and
    // grouped reductions take the type they are asked for).
    let typed = |want: DType| if want == dtype { Ok(()) } else { Err(format!("type {dtype}, but its inputs give {want}")) };
    match op {
        Op::Random { .. } | Op::Full { .. } => Ok(()),
        Op::Arange { .. } => if shape.len() == 1 { Ok(()) } else { Err("arange is one-dimensional".into()) },
        Op::Literal { data } => match data.blocks() {
            [block] if block.shape() == shape && block.dtype() == dtype => Ok(()),
            _ => Err(format!("the embedded values are not one {dtype} block of shape {shape:?}")),
        },
        Op::Persisted { data } => {
            let regions = grid.regions();
            let fits = data.blocks().len() == regions.len()
                && data.blocks().iter().zip(&regions).all(|(b, r)| b.dtype() == dtype && b.shape().iter().copied().eq(r.iter().map(|x| x.len())));
            if fits { Ok(()) } else { Err("the embedded chunks do not match the node's chunks".into()) }
        }
        Op::Zarr { source } => {
            let stored: Option<Vec<usize>> = source.metadata.get("shape").and_then(|s| s.as_array()).map(|a| a.iter().filter_map(|n| n.as_u64().map(|n| n as usize)).collect());
            if stored.as_deref() == Some(shape) { Ok(()) } else { Err(format!("the Zarr metadata's shape {stored:?} is not the node's {shape:?}")) }
        }
        Op::Netcdf { .. } => Ok(()),
        Op::Cast { input } | Op::MapBlocks { input, .. } => expect(input.shape()),
        Op::Unary { op, input } => {
            expect(input.shape())?;
            typed(super::build::unary_dtype(*op, input.dtype))
        }
        Op::Rechunk { input } => {
            expect(input.shape())?;
            typed(input.dtype)
        }
        Op::Binary { op, lhs, rhs } => {
            expect(super::build::broadcast_shapes(&lhs.shape(), &rhs.shape()).ok_or("operands do not broadcast")?)?;
            typed(super::build::binary_node(*op, lhs, rhs).dtype)
        }
        Op::Where { cond, then, otherwise } => {
            let both = super::build::broadcast_shapes(&cond.shape(), &then.shape()).ok_or("operands do not broadcast")?;
            expect(super::build::broadcast_shapes(&both, &otherwise.shape()).ok_or("operands do not broadcast")?)?;
            typed(then.dtype)
        }
        Op::Transpose { input, perm } => {
            let n = input.grid.ndim();
            let mut sorted = perm.clone();
            sorted.sort_unstable();
            if !sorted.iter().copied().eq(0..n) {
                return Err(format!("{perm:?} is not a permutation of {n} axes"));
            }
            let in_shape = input.shape();
            expect(perm.iter().map(|&p| in_shape[p]).collect())?;
            typed(input.dtype)
        }
        Op::Select { input, axes } => {
            let in_shape = input.shape();
            if axes.len() != in_shape.len() {
                return Err(format!("{} axis selections for {} axes", axes.len(), in_shape.len()));
            }
            let mut out = Vec::new();
            for (sel, &n) in axes.iter().zip(&in_shape) {
                match *sel {
                    super::AxisSelect::Index(i) if i < n => {}
                    super::AxisSelect::Range { start, step, len } if step >= 1 && (len == 0 || start + step * (len - 1) < n) => out.push(len),
                    _ => return Err(format!("selection {sel:?} out of range for length {n}")),
                }
            }
            expect(out)?;
            typed(input.dtype)
        }
        Op::Take { input, axis, indices } => {
            let mut out = input.shape();
            axis_in(*axis, out.len())?;
            if let Some(bad) = indices.iter().find(|&&i| i >= out[*axis]) {
                return Err(format!("index {bad} out of range for length {}", out[*axis]));
            }
            out[*axis] = indices.len();
            expect(out)?;
            typed(input.dtype)
        }
        Op::Concat { inputs, axis } => {
            let first = inputs.first().ok_or("concatenate of nothing")?.shape();
            axis_in(*axis, first.len())?;
            let mut out = first.clone();
            out[*axis] = 0;
            for input in inputs {
                let s = input.shape();
                if s.len() != first.len() || s.iter().enumerate().any(|(k, &n)| k != *axis && n != first[k]) {
                    return Err(format!("input of shape {s:?} does not join {first:?}"));
                }
                out[*axis] += s[*axis];
            }
            if let Some(other) = inputs.iter().find(|i| i.dtype != dtype) {
                return Err(format!("type {dtype}, but an input is {}", other.dtype));
            }
            expect(out)
        }
        Op::Reshape { input, keep } => {
            let in_shape = input.shape();
            let fits = *keep <= in_shape.len() && *keep <= shape.len() && in_shape[..*keep] == shape[..*keep] && in_shape.iter().product::<usize>() == shape.iter().product::<usize>();
            if !fits {
                return Err(format!("{in_shape:?} cannot be reshaped to {shape:?} keeping {keep} axes"));
            }
            typed(input.dtype)
        }
        Op::ExpandDims { input, axis } => {
            let mut out = input.shape();
            axis_in(*axis, out.len() + 1)?;
            out.insert(*axis, 1);
            expect(out)?;
            typed(input.dtype)
        }
        Op::Reduce { input, op, axes, groups, .. } => {
            let in_shape = input.shape();
            if axes.windows(2).any(|w| w[0] >= w[1]) || axes.iter().any(|&a| a >= in_shape.len()) {
                return Err(format!("axes {axes:?} are not ascending axes of {} dimensions", in_shape.len()));
            }
            match groups {
                None => {
                    expect(in_shape.iter().enumerate().filter(|(a, _)| !axes.contains(a)).map(|(_, &n)| n).collect())?;
                    // Or reading float32 for a float64 result: a cast folded into it
                    // (`optimize::fold_casts`).
                    let folded = input.dtype == DType::F32 && dtype == super::build::reduce_dtype(*op, DType::F64);
                    if folded { Ok(()) } else { typed(super::build::reduce_dtype(*op, input.dtype)) }
                }
                Some(groups) => {
                    let [axis] = axes[..] else { return Err("a grouped reduction has one axis".into()) };
                    if groups.labels.len() != in_shape[axis] || groups.labels.iter().any(|&g| g >= groups.ngroups && g != usize::MAX) {
                        return Err("group labels do not fit the axis".into());
                    }
                    let mut out = in_shape;
                    out[axis] = groups.ngroups;
                    expect(out)
                }
            }
        }
        Op::CumSum { input, axis, .. } => {
            axis_in(*axis, input.grid.ndim())?;
            expect(input.shape())?;
            typed(input.dtype.accumulator())
        }
        Op::Invalid { .. } => Err("an invalid node".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::array::{arange, from_array, full, RandomState, Sel};
    use crate::exec::{compute, ComputeOptions};

    fn round_trip(plan: &NodeRef) -> NodeRef {
        let text = to_json(plan).unwrap();
        let back = from_json(&text).unwrap();
        assert_eq!(back.id, plan.id, "the same content, the same id");
        back
    }

    #[test]
    fn plans_round_trip_and_evaluate_to_the_same_values() {
        let x = RandomState::new(3).normal(0.0, 2.0, &[20, 30], &[7, 10]);
        let values = ndarray::ArrayD::from_shape_fn(ndarray::IxDyn(&[30]), |i| i[0] as f64 * 0.25);
        let w = from_array(values, 8);
        let labels: Vec<usize> = (0..20).map(|i| if i == 3 { usize::MAX } else { i % 4 }).collect();
        let plans = [
            (&x * &w).sum(&[1]).plan().clone(),
            x.isel(&[Sel::from(2..15).step(3), Sel::Index(4)]).cumsum(0).plan().clone(),
            crate::array::where_(&x.gt_scalar(0.5), &x, &full(&[30], f64::NAN, 30)).nanmean(&[0]).plan().clone(),
            x.group_reduce(crate::plan::ReduceOp::Var, 0, labels, 4, 1, true).plan().clone(),
            crate::array::concatenate(&[x.clone(), x.t().t()], 1).take(0, &[5, 1, 1]).rechunk(4).astype::<f32>().plan().clone(),
            arange(0.0, 24.0, 1.0, 5).reshape(&[2, 3, 4]).transpose(&[2, 0, 1]).plan().clone(),
            x.persist().unwrap().std(.., 1).plan().clone(),
        ];
        for plan in plans {
            let back = round_trip(&plan);
            let options = ComputeOptions::default();
            assert_eq!(compute(&back, &options).unwrap(), compute(&plan, &options).unwrap(), "{}", plan.explain());
        }
    }

    #[test]
    fn closures_and_build_errors_do_not_serialise() {
        let x = full::<f64>(&[4], 1.0, 2);
        let err = to_json(x.map_blocks(|b| b * 2.0).sum(..).plan()).unwrap_err();
        assert!(matches!(err, Error::NotPortable { op: "map_blocks" }), "{err}");
        assert!(err.to_string().contains("closure"));
        let bad = x.sum(&[3]);
        assert!(matches!(to_json(bad.plan()), Err(Error::AxisOutOfRange { .. })));
    }

    #[test]
    fn damaged_plans_are_refused_with_the_reason() {
        let x = arange(0.0, 10.0, 1.0, 5).isel(&[Sel::from(2..8)]);
        let text = to_json(x.plan()).unwrap();
        let reason = |text: &str| match from_json(text) {
            Err(Error::Plan { reason }) => reason,
            other => panic!("expected a plan error, got {other:?}"),
        };
        assert!(reason("{").starts_with("not a plan"));
        assert!(reason(&text.replace("strata-plan/1", "strata-plan/9")).contains("format"));
        // An edited selection that reads past the end, with its shape edited to match.
        let past = text.replace(r#""start":2"#, r#""start":7"#);
        assert!(reason(&past).contains("out of range"), "{}", reason(&past));
        // An edit that keeps the node valid but changes what it computes is caught by its id.
        let other = text.replace(r#""start":2"#, r#""start":3"#);
        assert!(reason(&other).contains("hashes to"), "{}", reason(&other));
        let forward = text.replace(r#""input":0"#, r#""input":1"#);
        assert!(reason(&forward).contains("not an earlier node"));
        // A result type the operation cannot give is named before the id is compared.
        let mask = to_json(arange(0.0, 4.0, 1.0, 2).isnan().plan()).unwrap();
        assert!(mask.contains(r#""dtype":"bool""#), "{mask}");
        let retyped = mask.replace(r#""dtype":"bool""#, r#""dtype":"float64""#);
        assert!(reason(&retyped).contains("type float64, but its inputs give bool"), "{}", reason(&retyped));
        // An optimised plan is a plan too: a cast folded into a reduction reads back.
        let widened = from_array(ndarray::ArrayD::from_elem(ndarray::IxDyn(&[6]), 1.5f32), 4).astype::<f64>().mean(..);
        let folded = crate::plan::optimize::optimize(widened.plan());
        assert!(!folded.post_order().iter().any(|n| matches!(n.op, Op::Cast { .. })), "{}", folded.explain());
        round_trip(&folded);
        let summed = to_json(arange(0.0, 4.0, 1.0, 2).astype::<i32>().sum(..).plan()).unwrap();
        let narrowed = summed.replacen(r#""dtype":"int64""#, r#""dtype":"int32""#, 1);
        assert!(reason(&narrowed).contains("type int32, but its inputs give int64"), "{}", reason(&narrowed));
    }
}
