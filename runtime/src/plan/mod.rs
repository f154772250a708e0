//! The lazy computation as plain data: a DAG of [`Node`]s, each with its shape, chunk grid and
//! element type. Building a plan does no work; `exec` evaluates it. Only user closures
//! (`map_blocks`) are not data, and they are marked as such.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::array::{Block, ChunkGrid, DType};
use crate::error::Error;

pub mod optimize;

pub type NodeRef = Arc<Node>;

/// A user function applied to each chunk; the one kind of node that is not plain data.
pub type BlockFn = Arc<dyn Fn(&Block) -> Block + Send + Sync>;

#[derive(Debug)]
pub struct Node {
    /// Unique per node: evaluation caches materialised results by it.
    pub id: u64,
    pub op: Op,
    pub grid: ChunkGrid,
    pub dtype: DType,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Distribution {
    Uniform { low: f64, high: f64 },
    Normal { mean: f64, std: f64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Abs,
    Sqrt,
    Exp,
    Ln,
    Log10,
    Sin,
    Cos,
    Tan,
    Tanh,
    Floor,
    Ceil,
    Round,
    IsNan,
    IsFinite,
    Not,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Pow,
    Min,
    Max,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

impl BinaryOp {
    pub fn is_comparison(self) -> bool {
        matches!(self, BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReduceOp {
    Sum,
    Mean,
    Var,
    Std,
    Min,
    Max,
    ArgMin,
    ArgMax,
    Any,
    All,
    /// Elements that are not NaN.
    Count,
}

/// Which group each position along an axis belongs to, for group-by reductions: position
/// `i` goes to group `labels[i]` (in `0..ngroups`), or to none when that is `usize::MAX`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Groups {
    pub labels: Vec<usize>,
    pub ngroups: usize,
}

impl Groups {
    /// Positions of `range` by group, in order: what one chunk contributes to each group.
    pub fn members(&self, range: std::ops::Range<usize>) -> Vec<(usize, Vec<usize>)> {
        let mut by_group: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
        for i in range {
            let g = self.labels[i];
            if g < self.ngroups {
                by_group.entry(g).or_default().push(i);
            }
        }
        by_group.into_iter().collect()
    }
}

/// Stored data that can read any region of itself (a hyperslab), for formats other than
/// Zarr. Reads happen in scheduler tasks, so they must be thread-safe.
pub trait RegionSource: Send + Sync + std::fmt::Debug {
    /// The values in `region` (one range per axis), in the node's element type.
    fn read(&self, region: &[std::ops::Range<usize>]) -> Result<Block, Error>;
    /// The task name progress reports use ("from-netcdf").
    fn op_name(&self) -> &'static str;
}

/// What an axis of a selection keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AxisSelect {
    /// `len` elements from `start`, every `step`-th.
    Range { start: usize, step: usize, len: usize },
    /// One element; the axis is dropped.
    Index(usize),
}

pub enum Op {
    Random { seed: u64, dist: Distribution },
    Full { value: f64 },
    Arange { start: f64, step: f64 },
    Literal { block: Arc<Block> },
    /// A Zarr array on disk, read chunk by chunk.
    Zarr { source: Arc<crate::zarr::ZarrSource> },
    /// Any other stored data read region by region (NetCDF variables).
    Source { source: Arc<dyn RegionSource> },
    /// Chunks computed earlier and kept in memory, in the grid's row-major order.
    Persisted { chunks: Arc<Vec<Block>> },
    Unary { op: UnaryOp, input: NodeRef },
    Binary { op: BinaryOp, lhs: NodeRef, rhs: NodeRef },
    Where { cond: NodeRef, then: NodeRef, otherwise: NodeRef },
    Cast { input: NodeRef },
    Transpose { input: NodeRef, perm: Vec<usize> },
    Select { input: NodeRef, axes: Vec<AxisSelect> },
    Take { input: NodeRef, axis: usize, indices: Arc<Vec<usize>> },
    Concat { inputs: Vec<NodeRef>, axis: usize },
    /// The same elements in row-major order, in a new shape. Axes before `keep` are the
    /// input's, unchanged; the rest are the input's remaining axes regrouped.
    Reshape { input: NodeRef, keep: usize },
    /// A new length-1 axis at `axis`.
    ExpandDims { input: NodeRef, axis: usize },
    /// `skipna`: NaN elements are left out (the nan* reductions). With `groups`, the one
    /// reduced axis is kept, one position per group (a group-by reduction).
    Reduce { input: NodeRef, op: ReduceOp, axes: Vec<usize>, ddof: usize, skipna: bool, groups: Option<Arc<Groups>> },
    Rechunk { input: NodeRef },
    /// Cumulative sum along `axis` (NaN counted as 0 when `skipna`).
    CumSum { input: NodeRef, axis: usize, skipna: bool },
    MapBlocks { input: NodeRef, f: BlockFn },
    /// A plan that could not be built; evaluating it returns the error.
    Invalid { error: Error },
}

impl std::fmt::Debug for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Op {
    pub fn name(&self) -> &'static str {
        match self {
            Op::Random { .. } => "random",
            Op::Full { .. } => "full",
            Op::Arange { .. } => "arange",
            Op::Literal { .. } => "array",
            Op::Zarr { .. } => "from-zarr",
            Op::Source { source } => source.op_name(),
            Op::Persisted { .. } => "persisted",
            Op::Unary { .. } => "elementwise",
            Op::Binary { .. } => "elementwise",
            Op::Where { .. } => "where",
            Op::Cast { .. } => "astype",
            Op::Transpose { .. } => "transpose",
            Op::Select { .. } => "getitem",
            Op::Take { .. } => "take",
            Op::Concat { .. } => "concatenate",
            Op::ExpandDims { .. } => "expand_dims",
            Op::Reshape { .. } => "reshape",
            Op::Reduce { .. } => "reduce",
            Op::Rechunk { .. } => "rechunk",
            Op::CumSum { .. } => "cumsum",
            Op::MapBlocks { .. } => "map_blocks",
            Op::Invalid { .. } => "invalid",
        }
    }

    pub fn inputs(&self) -> Vec<&NodeRef> {
        match self {
            Op::Unary { input, .. }
            | Op::Cast { input }
            | Op::Transpose { input, .. }
            | Op::Select { input, .. }
            | Op::Take { input, .. }
            | Op::Reduce { input, .. }
            | Op::Rechunk { input }
            | Op::CumSum { input, .. }
            | Op::ExpandDims { input, .. }
            | Op::Reshape { input, .. }
            | Op::MapBlocks { input, .. } => vec![input],
            Op::Binary { lhs, rhs, .. } => vec![lhs, rhs],
            Op::Where { cond, then, otherwise } => vec![cond, then, otherwise],
            Op::Concat { inputs, .. } => inputs.iter().collect(),
            _ => Vec::new(),
        }
    }
}

fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl Node {
    pub fn new(op: Op, grid: ChunkGrid, dtype: DType) -> NodeRef {
        Arc::new(Node { id: next_id(), op, grid, dtype })
    }

    pub fn invalid(error: Error, grid: ChunkGrid, dtype: DType) -> NodeRef {
        Node::new(Op::Invalid { error }, grid, dtype)
    }

    pub fn shape(&self) -> Vec<usize> {
        self.grid.shape()
    }

    pub fn nbytes(&self) -> u64 {
        self.shape().iter().map(|&n| n as u64).product::<u64>() * self.dtype.size_of() as u64
    }

    /// Every node of the plan once, inputs before the nodes that use them.
    pub fn post_order(self: &NodeRef) -> Vec<NodeRef> {
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        fn visit(node: &NodeRef, seen: &mut std::collections::HashSet<u64>, out: &mut Vec<NodeRef>) {
            if !seen.insert(node.id) {
                return;
            }
            for input in node.op.inputs() {
                visit(input, seen, out);
            }
            out.push(node.clone());
        }
        visit(self, &mut seen, &mut out);
        out
    }

    /// The first error recorded while the plan was built, if any.
    pub fn first_error(self: &NodeRef) -> Option<Error> {
        self.post_order().iter().find_map(|n| match &n.op {
            Op::Invalid { error } => Some(error.clone()),
            _ => None,
        })
    }
}
