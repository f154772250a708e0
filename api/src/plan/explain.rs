//! A plan as text, one node per line with its inputs indented below it (DataFusion's
//! `EXPLAIN`): what each step does, its type, shape and chunks, and its id. A node used twice
//! is printed once; later uses refer to it by id. Optimizer tests assert on this text.

use std::collections::HashSet;
use std::fmt::Write;

use super::{AxisSelect, Distribution, NodeId, NodeRef, Op, ReduceOp};

/// The text of a plan (what `explain()` returns; shown as plain text in a notebook).
#[derive(Clone, PartialEq, Eq)]
pub struct Explain {
    text: String,
}

impl Explain {
    /// The plan as built and, when the optimizer changes it, as it will run.
    pub fn of(root: &NodeRef) -> Explain {
        let mut text = tree(root);
        let optimized = super::optimize::optimize(root);
        if optimized.id != root.id {
            text = format!("{text}\noptimized:\n{}", tree(&optimized));
        }
        Explain { text }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl std::fmt::Display for Explain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::fmt::Debug for Explain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// One node per line, inputs indented under the node that uses them.
pub fn tree(root: &NodeRef) -> String {
    let mut out = String::new();
    let mut seen = HashSet::new();
    write_node(root, 0, &mut seen, &mut out);
    out
}

fn write_node(node: &NodeRef, depth: usize, seen: &mut HashSet<NodeId>, out: &mut String) {
    let indent = "  ".repeat(depth);
    if !seen.insert(node.id) {
        let _ = writeln!(out, "{indent}{} #{} (above)", label(node), node.id.short());
        return;
    }
    let _ = writeln!(out, "{indent}{}: {} {} #{}", label(node), node.dtype, layout(node), node.id.short());
    for input in node.op.inputs() {
        write_node(input, depth + 1, seen, out);
    }
}

/// Shape and chunking, as dask summarises them: `(24, 6, 8) in 8 chunks of (12, 3, 4)`.
fn layout(node: &NodeRef) -> String {
    let shape = tuple(&node.shape());
    match node.grid.nchunks() {
        1 => format!("{shape}"),
        n => format!("{shape} in {n} chunks of {}", tuple(&node.grid.chunk_shape())),
    }
}

fn tuple(values: &[usize]) -> String {
    match values {
        [one] => format!("({one},)"),
        _ => format!("({})", values.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")),
    }
}

/// What the node does, with its parameters.
pub fn label(node: &NodeRef) -> String {
    match &node.op {
        Op::Random { seed, dist } => match dist {
            Distribution::Uniform { low, high } => format!("random uniform({low}, {high}) seed={seed}"),
            Distribution::Normal { mean, std } => format!("random normal({mean}, {std}) seed={seed}"),
        },
        Op::Full { value } => format!("full {value}"),
        Op::Arange { start, step } => format!("arange start={start} step={step}"),
        Op::Literal { data } => format!("array in memory ({} bytes)", data.nbytes()),
        Op::Zarr { source } => format!("from-zarr {}", source.location),
        Op::Netcdf { source } => format!("from-netcdf {} variable {:?}", source.path.display(), source.variable),
        Op::Persisted { data } => format!("persisted ({} chunks in memory)", data.blocks().len()),
        Op::Unary { op, .. } => snake(&format!("{op:?}")),
        Op::Binary { op, .. } => snake(&format!("{op:?}")),
        Op::Where { .. } => "where".into(),
        Op::Cast { input } => format!("astype {} -> {}", input.dtype, node.dtype),
        Op::Transpose { perm, .. } => format!("transpose {perm:?}"),
        Op::Select { axes, .. } => format!("getitem [{}]", axes.iter().map(selection).collect::<Vec<_>>().join(", ")),
        Op::Take { axis, indices, .. } => format!("take axis={axis} ({} positions)", indices.len()),
        Op::Concat { axis, .. } => format!("concatenate axis={axis}"),
        Op::Reshape { keep, .. } => format!("reshape keep={keep}"),
        Op::ExpandDims { axis, .. } => format!("expand_dims axis={axis}"),
        Op::Reduce { op, axes, ddof, skipna, groups, .. } => {
            let name = format!("{}{}", if *skipna { "nan" } else { "" }, snake(&format!("{op:?}")));
            let ddof = if matches!(op, ReduceOp::Var | ReduceOp::Std) && *ddof != 0 { format!(" ddof={ddof}") } else { String::new() };
            match groups {
                Some(g) => format!("groupby-{name} axis={} into {} groups{ddof}", axes[0], g.ngroups),
                None => format!("{name} axes={axes:?}{ddof}"),
            }
        }
        Op::Rechunk { .. } => "rechunk".into(),
        Op::CumSum { axis, skipna, .. } => format!("{}cumsum axis={axis}", if *skipna { "nan" } else { "" }),
        Op::MapBlocks { .. } => "map_blocks (a Rust closure: not portable)".into(),
        Op::Invalid { error } => format!("invalid: {error}"),
    }
}

/// NumPy's slice notation for one axis.
fn selection(sel: &AxisSelect) -> String {
    match sel {
        AxisSelect::Index(i) => i.to_string(),
        AxisSelect::Range { start, step: 1, len } => format!("{start}:{}", start + len),
        AxisSelect::Range { start, step, len } => format!("{start}:{}:{step}", start + step * len.saturating_sub(1) + 1),
    }
}

fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::array::{arange, ones, Sel};

    #[test]
    fn a_plan_prints_its_steps_types_and_shared_nodes_once() {
        let x = ones::<f32>(&[6, 4], &[3, 4]);
        let y = (&x + &x).isel(&[Sel::from(0..4).step(2), Sel::Index(1)]).sum(..);
        let text = crate::plan::explain::tree(y.plan());
        let lines: Vec<&str> = text.lines().map(|l| l.split(" #").next().unwrap_or(l)).collect();
        assert_eq!(
            lines,
            [
                "sum axes=[0]: float32 ()",
                "  getitem [0:3:2, 1]: float32 (2,)",
                "    add: float32 (6, 4) in 2 chunks of (3, 4)",
                "      full 1: float32 (6, 4) in 2 chunks of (3, 4)",
                "      full 1",
            ][..]
        );
        assert!(text.lines().last().unwrap().ends_with("(above)"));
        let a = arange(0.0, 10.0, 1.0, 5).cumsum(0);
        assert!(crate::plan::explain::tree(a.plan()).starts_with("cumsum axis=0: float64 (10,) in 2 chunks of (5,)"));
    }
}
