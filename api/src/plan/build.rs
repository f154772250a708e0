//! Building nodes: where shapes, chunk grids and result types are worked out (NumPy's
//! broadcasting and promotion, dask's chunking of results), for the array API, the labeled
//! API and optimizer passes alike. A node that cannot be built becomes an `Invalid` node
//! carrying the error, reported when the plan is computed.

use std::sync::Arc;

use super::{AxisSelect, BinaryOp, Groups, Node, NodeRef, Op, ReduceOp, UnaryOp};
use crate::array::{BlockElement, ChunkGrid, ChunkSpec, DType};
use crate::error::Error;

/// NumPy broadcasting of two shapes.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    (0..n)
        .map(|k| {
            let x = if k + a.len() >= n { a[k + a.len() - n] } else { 1 };
            let y = if k + b.len() >= n { b[k + b.len() - n] } else { 1 };
            match (x, y) {
                _ if x == y => Some(x),
                (1, _) => Some(y),
                (_, 1) => Some(x),
                _ => None,
            }
        })
        .collect()
}

/// The output grid of a broadcasting operation: each axis chunked as the first operand
/// that is not broadcast along it.
fn broadcast_grid(shape: &[usize], operands: &[&NodeRef]) -> ChunkGrid {
    let n = shape.len();
    let chunks: Vec<Vec<usize>> = (0..n)
        .map(|k| {
            operands
                .iter()
                .find_map(|op| {
                    let s = op.shape();
                    let lead = n - s.len();
                    (k >= lead && s[k - lead] == shape[k]).then(|| op.grid.chunks()[k - lead].clone())
                })
                .unwrap_or_else(|| vec![shape[k]])
        })
        .collect();
    ChunkGrid::from_spec(shape, &ChunkSpec::Explicit(chunks), 8)
        .unwrap_or_else(|_| ChunkGrid::regular(shape, shape).unwrap_or_else(|_| ChunkGrid::regular(&[], &[]).expect("0-d grid")))
}

/// A selection of `input` (one [`AxisSelect`] per axis, already checked against its shape).
/// The result's chunks follow the input's where the selection keeps them whole.
pub fn select_node(input: &NodeRef, axes: Vec<AxisSelect>) -> NodeRef {
    let mut chunks = Vec::new();
    for (axis, sel) in axes.iter().enumerate() {
        if let AxisSelect::Range { start, step, len } = sel {
            let mut lens = Vec::new();
            let mut taken = 0;
            for r in input.grid.ranges(axis) {
                // Selected positions i with start + i*step inside r.
                let first = if r.start <= *start { 0 } else { (r.start - start).div_ceil(*step) };
                let last = if r.end <= *start { 0 } else { (r.end - start).div_ceil(*step) };
                let n = last.min(*len).saturating_sub(first.max(taken));
                if n > 0 {
                    lens.push(n);
                    taken += n;
                }
            }
            if lens.is_empty() {
                lens.push(0);
            }
            chunks.push(lens);
        }
    }
    let out_shape: Vec<usize> = chunks.iter().map(|c| c.iter().sum()).collect();
    let grid = if out_shape.contains(&0) {
        ChunkGrid::regular(&out_shape, &out_shape.iter().map(|&n| n.max(1)).collect::<Vec<_>>())
    } else {
        ChunkGrid::from_spec(&out_shape, &ChunkSpec::Explicit(chunks), 8)
    };
    match grid {
        Ok(grid) => Node::new(Op::Select { input: input.clone(), axes }, grid, input.dtype),
        Err(e) => Node::invalid(e, input.grid.clone(), input.dtype),
    }
}

/// `input` with its axes reordered: output axis `k` is input axis `perm[k]`.
pub fn transpose_node(input: &NodeRef, perm: &[usize]) -> NodeRef {
    let n = input.grid.ndim();
    let mut sorted = perm.to_vec();
    sorted.sort_unstable();
    if sorted != (0..n).collect::<Vec<_>>() {
        return Node::invalid(Error::ShapeMismatch { op: "transpose", left: input.shape(), right: perm.to_vec() }, input.grid.clone(), input.dtype);
    }
    let chunks: Vec<Vec<usize>> = perm.iter().map(|&p| input.grid.chunks()[p].clone()).collect();
    let shape: Vec<usize> = perm.iter().map(|&p| input.shape()[p]).collect();
    match ChunkGrid::from_spec(&shape, &ChunkSpec::Explicit(chunks), 8) {
        Ok(grid) => Node::new(Op::Transpose { input: input.clone(), perm: perm.to_vec() }, grid, input.dtype),
        Err(e) => Node::invalid(e, input.grid.clone(), input.dtype),
    }
}

/// `input` with a new length-1 axis at `axis`.
pub fn expand_dims_node(input: &NodeRef, axis: usize) -> NodeRef {
    let ndim = input.grid.ndim();
    if axis > ndim {
        return Node::invalid(Error::AxisOutOfRange { op: "expand_dims", axis, ndim }, input.grid.clone(), input.dtype);
    }
    let mut chunks = input.grid.chunks().to_vec();
    chunks.insert(axis, vec![1]);
    let mut shape = input.shape();
    shape.insert(axis, 1);
    match ChunkGrid::from_spec(&shape, &ChunkSpec::Explicit(chunks), 8) {
        Ok(grid) => Node::new(Op::ExpandDims { input: input.clone(), axis }, grid, input.dtype),
        Err(e) => Node::invalid(e, input.grid.clone(), input.dtype),
    }
}

/// `indices` of `input` along `axis` (checked in range), chunked as the input along it.
pub fn take_node(input: &NodeRef, axis: usize, indices: &[usize]) -> NodeRef {
    let shape = input.shape();
    if axis >= shape.len() {
        return Node::invalid(Error::AxisOutOfRange { op: "take", axis, ndim: shape.len() }, input.grid.clone(), input.dtype);
    }
    if let Some(&bad) = indices.iter().find(|&&i| i >= shape[axis]) {
        return Node::invalid(Error::IndexOutOfRange { axis, index: bad, len: shape[axis] }, input.grid.clone(), input.dtype);
    }
    let mut chunks: Vec<Vec<usize>> = input.grid.chunks().to_vec();
    let per = input.grid.chunk_shape()[axis].max(1);
    let mut lens = vec![per; indices.len() / per];
    if indices.len() % per != 0 || indices.is_empty() {
        lens.push(indices.len() % per);
    }
    chunks[axis] = lens;
    let mut out_shape = shape.clone();
    out_shape[axis] = indices.len();
    match ChunkGrid::from_spec(&out_shape, &ChunkSpec::Explicit(chunks), 8) {
        Ok(grid) => Node::new(Op::Take { input: input.clone(), axis, indices: Arc::new(indices.to_vec()) }, grid, input.dtype),
        Err(e) => Node::invalid(e, input.grid.clone(), input.dtype),
    }
}

/// A reduction of `input` over `axes` (sorted, in range), in NumPy's result type.
pub fn reduce_node(input: &NodeRef, op: ReduceOp, axes: Vec<usize>, ddof: usize, skipna: bool) -> NodeRef {
    let kept: Vec<usize> = (0..input.grid.ndim()).filter(|a| !axes.contains(a)).collect();
    let chunks: Vec<Vec<usize>> = kept.iter().map(|&a| input.grid.chunks()[a].clone()).collect();
    let shape: Vec<usize> = kept.iter().map(|&a| input.shape()[a]).collect();
    let dtype = reduce_dtype(op, input.dtype);
    match ChunkGrid::from_spec(&shape, &ChunkSpec::Explicit(chunks), 8) {
        Ok(grid) => Node::new(Op::Reduce { input: input.clone(), op, axes, ddof, skipna, groups: None }, grid, dtype),
        Err(e) => Node::invalid(e, input.grid.clone(), dtype),
    }
}

/// A reduction within `groups` along `axis` (one output position per group along it), of
/// type `dtype`.
pub fn group_reduce_node(input: &NodeRef, op: ReduceOp, axis: usize, groups: Arc<Groups>, ddof: usize, skipna: bool, dtype: DType) -> NodeRef {
    let (grid, ndim) = (input.grid.clone(), input.grid.ndim());
    if axis >= ndim {
        return Node::invalid(Error::AxisOutOfRange { op: "group reduce", axis, ndim }, grid, dtype);
    }
    if groups.labels.len() != input.shape()[axis] {
        return Node::invalid(Error::WrongLength { op: "group labels", expected: input.shape()[axis], got: groups.labels.len() }, grid, dtype);
    }
    if matches!(op, ReduceOp::ArgMin | ReduceOp::ArgMax) {
        return Node::invalid(Error::UnsupportedDType { op: "group argmin/argmax", dtype: input.dtype }, grid, dtype);
    }
    let mut chunks = input.grid.chunks().to_vec();
    chunks[axis] = vec![groups.ngroups];
    let mut shape = input.shape();
    shape[axis] = groups.ngroups;
    match ChunkGrid::from_spec(&shape, &ChunkSpec::Explicit(chunks), 8) {
        Ok(out) => Node::new(Op::Reduce { input: input.clone(), op, axes: vec![axis], ddof, skipna, groups: Some(groups) }, out, dtype),
        Err(e) => Node::invalid(e, grid, dtype),
    }
}

/// `cond ? then : otherwise` with broadcasting, in `then`'s type.
pub fn where_node(cond: &NodeRef, then: &NodeRef, otherwise: &NodeRef) -> NodeRef {
    let shape = broadcast_shapes(&cond.shape(), &then.shape()).and_then(|s| broadcast_shapes(&s, &otherwise.shape()));
    match shape {
        Some(shape) => Node::new(
            Op::Where { cond: cond.clone(), then: then.clone(), otherwise: otherwise.clone() },
            broadcast_grid(&shape, &[then, otherwise, cond]),
            then.dtype,
        ),
        None => Node::invalid(Error::ShapeMismatch { op: "where", left: cond.shape(), right: then.shape() }, then.grid.clone(), then.dtype),
    }
}

/// `op` on `lhs` and `rhs` broadcast together (NumPy's rules), in the promoted type of the
/// operands (a scalar takes the array's); bool for comparisons and logic, int64 for
/// arithmetic on bools.
pub fn binary_node(op: BinaryOp, lhs: &NodeRef, rhs: &NodeRef) -> NodeRef {
    let operand = promote_operands(lhs, rhs);
    let dtype = if op.is_comparison() || matches!(op, BinaryOp::And | BinaryOp::Or) {
        DType::Bool
    } else if operand == DType::Bool {
        DType::I64
    } else {
        operand
    };
    match broadcast_shapes(&lhs.shape(), &rhs.shape()) {
        Some(shape) => Node::new(Op::Binary { op, lhs: lhs.clone(), rhs: rhs.clone() }, broadcast_grid(&shape, &[lhs, rhs]), dtype),
        None => Node::invalid(
            Error::ShapeMismatch { op: "broadcast", left: lhs.shape(), right: rhs.shape() },
            lhs.grid.clone(),
            dtype,
        ),
    }
}

/// A 0-d constant, which takes the other operand's type in arithmetic (NumPy's rule for
/// Python scalars).
pub fn scalar<S: BlockElement>(value: S) -> NodeRef {
    Node::new(Op::Full { value: value.to_f64() }, ChunkGrid::regular(&[], &[]).expect("0-d grid"), S::DTYPE)
}

/// The type both operands are converted to before `op` (its result type, but for
/// comparisons, whose result is bool).
pub fn operand_dtype(op: BinaryOp, lhs: &Node, rhs: &Node, out: DType) -> DType {
    if !op.is_comparison() {
        return out;
    }
    promote_operands(lhs, rhs)
}

/// NumPy's promotion, where a scalar (a 0-d full) takes the array's type.
pub fn promote_operands(lhs: &Node, rhs: &Node) -> DType {
    let scalar = |n: &Node| n.grid.ndim() == 0 && matches!(n.op, Op::Full { .. });
    match (scalar(lhs), scalar(rhs)) {
        (true, false) if !(lhs.dtype.is_float() && !rhs.dtype.is_float()) => rhs.dtype,
        (false, true) if !(rhs.dtype.is_float() && !lhs.dtype.is_float()) => lhs.dtype,
        _ => lhs.dtype.promote(rhs.dtype),
    }
}


/// `op` applied to each element of `input`.
pub fn unary_node(op: UnaryOp, input: &NodeRef) -> NodeRef {
    Node::new(Op::Unary { op, input: input.clone() }, input.grid.clone(), unary_dtype(op, input.dtype))
}

/// The type a unary operation computes in and returns, as NumPy gives it.
pub fn unary_dtype(op: UnaryOp, input: DType) -> DType {
    match op {
        UnaryOp::IsNan | UnaryOp::IsFinite | UnaryOp::Not => DType::Bool,
        UnaryOp::Neg | UnaryOp::Abs => if input == DType::Bool { DType::I64 } else { input },
        _ => if input.is_float() { input } else { DType::F64 },
    }
}

/// The element type of the result, as NumPy gives it.
pub fn reduce_dtype(op: ReduceOp, input: DType) -> DType {
    match op {
        ReduceOp::Sum => input.accumulator(),
        ReduceOp::Mean | ReduceOp::Var | ReduceOp::Std => if input == DType::F32 { DType::F32 } else { DType::F64 },
        ReduceOp::Min | ReduceOp::Max => input,
        ReduceOp::ArgMin | ReduceOp::ArgMax | ReduceOp::Count => DType::I64,
        ReduceOp::Any | ReduceOp::All => DType::Bool,
    }
}
