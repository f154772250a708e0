//! What each node of a plan does: the operations and their parameters, all plain data.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::embedded::Embedded;
use super::source::{NetcdfRef, ZarrRef};
use super::NodeRef;
use crate::array::Block;
use crate::error::Error;

/// A user function applied to each chunk: the one kind of operation that is not data, so a
/// plan holding one cannot leave the process (see [`Op::is_portable`]).
pub type BlockFn = Arc<dyn Fn(&Block) -> Block + Send + Sync>;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Distribution {
    Uniform {
        #[serde(with = "super::float")]
        low: f64,
        #[serde(with = "super::float")]
        high: f64,
    },
    Normal {
        #[serde(with = "super::float")]
        mean: f64,
        #[serde(with = "super::float")]
        std: f64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// What an axis of a selection keeps.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AxisSelect {
    /// `len` elements from `start`, every `step`-th.
    Range { start: usize, step: usize, len: usize },
    /// One element; the axis is dropped.
    Index(usize),
}

/// One operation of a plan. `I` is how it refers to its inputs: shared nodes in a live plan,
/// positions in a node list once serialised ([`super::serial`]).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op<I = NodeRef> {
    Random { seed: u64, dist: Distribution },
    Full {
        #[serde(with = "super::float")]
        value: f64,
    },
    Arange {
        #[serde(with = "super::float")]
        start: f64,
        #[serde(with = "super::float")]
        step: f64,
    },
    /// Values given whole (`from_array`), one block cut into the node's chunks.
    Literal { data: Embedded },
    /// A Zarr array on disk, read chunk by chunk.
    Zarr { source: ZarrRef },
    /// A variable of a NetCDF file, read region by region.
    Netcdf { source: NetcdfRef },
    /// Chunks computed earlier and kept in memory, in the grid's row-major order.
    Persisted { data: Embedded },
    Unary { op: UnaryOp, input: I },
    Binary { op: BinaryOp, lhs: I, rhs: I },
    Where { cond: I, then: I, otherwise: I },
    Cast { input: I },
    Transpose { input: I, perm: Vec<usize> },
    Select { input: I, axes: Vec<AxisSelect> },
    Take { input: I, axis: usize, indices: Arc<Vec<usize>> },
    Concat { inputs: Vec<I>, axis: usize },
    /// The same elements in row-major order, in a new shape. Axes before `keep` are the
    /// input's, unchanged; the rest are the input's remaining axes regrouped.
    Reshape { input: I, keep: usize },
    /// A new length-1 axis at `axis`.
    ExpandDims { input: I, axis: usize },
    /// `skipna`: NaN elements are left out (the nan* reductions). With `groups`, the one
    /// reduced axis is kept, one position per group (a group-by reduction).
    Reduce { input: I, op: ReduceOp, axes: Vec<usize>, ddof: usize, skipna: bool, groups: Option<Arc<Groups>> },
    Rechunk { input: I },
    /// Cumulative sum along `axis` (NaN counted as 0 when `skipna`).
    CumSum { input: I, axis: usize, skipna: bool },
    /// A user function per chunk. Not data: never serialised.
    #[serde(skip)]
    MapBlocks { input: I, f: BlockFn },
    /// A plan that could not be built; evaluating it returns the error. Never serialised:
    /// serialising reports the error instead.
    #[serde(skip)]
    Invalid { error: Error },
}

impl<I> std::fmt::Debug for Op<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl<I> Op<I> {
    /// The task name progress reports and task keys use (dask's names where dask has one).
    pub fn name(&self) -> &'static str {
        match self {
            Op::Random { .. } => "random",
            Op::Full { .. } => "full",
            Op::Arange { .. } => "arange",
            Op::Literal { .. } => "array",
            Op::Zarr { .. } => "from-zarr",
            Op::Netcdf { .. } => "from-netcdf",
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

    /// Whether this operation is plain data (everything but user closures and build errors).
    pub fn is_portable(&self) -> bool {
        !matches!(self, Op::MapBlocks { .. } | Op::Invalid { .. })
    }

    /// Whether the operation reads stored data (its tasks wait on I/O).
    pub fn reads_storage(&self) -> bool {
        matches!(self, Op::Zarr { .. } | Op::Netcdf { .. })
    }

    pub fn inputs(&self) -> Vec<&I> {
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
            Op::Random { .. }
            | Op::Full { .. }
            | Op::Arange { .. }
            | Op::Literal { .. }
            | Op::Zarr { .. }
            | Op::Netcdf { .. }
            | Op::Persisted { .. }
            | Op::Invalid { .. } => Vec::new(),
        }
    }

    /// The same operation with each input replaced by `f(input)`, in [`Op::inputs`] order:
    /// how optimizer passes rebuild a node over new inputs, and how serialisation turns
    /// shared nodes into positions and back.
    pub fn map_inputs<J>(&self, mut f: impl FnMut(&I) -> J) -> Op<J> {
        match self {
            Op::Random { seed, dist } => Op::Random { seed: *seed, dist: *dist },
            Op::Full { value } => Op::Full { value: *value },
            Op::Arange { start, step } => Op::Arange { start: *start, step: *step },
            Op::Literal { data } => Op::Literal { data: data.clone() },
            Op::Zarr { source } => Op::Zarr { source: source.clone() },
            Op::Netcdf { source } => Op::Netcdf { source: source.clone() },
            Op::Persisted { data } => Op::Persisted { data: data.clone() },
            Op::Unary { op, input } => Op::Unary { op: *op, input: f(input) },
            Op::Binary { op, lhs, rhs } => {
                let lhs = f(lhs);
                Op::Binary { op: *op, lhs, rhs: f(rhs) }
            }
            Op::Where { cond, then, otherwise } => {
                let cond = f(cond);
                let then = f(then);
                Op::Where { cond, then, otherwise: f(otherwise) }
            }
            Op::Cast { input } => Op::Cast { input: f(input) },
            Op::Transpose { input, perm } => Op::Transpose { input: f(input), perm: perm.clone() },
            Op::Select { input, axes } => Op::Select { input: f(input), axes: axes.clone() },
            Op::Take { input, axis, indices } => Op::Take { input: f(input), axis: *axis, indices: indices.clone() },
            Op::Concat { inputs, axis } => Op::Concat { inputs: inputs.iter().map(&mut f).collect(), axis: *axis },
            Op::Reshape { input, keep } => Op::Reshape { input: f(input), keep: *keep },
            Op::ExpandDims { input, axis } => Op::ExpandDims { input: f(input), axis: *axis },
            Op::Reduce { input, op, axes, ddof, skipna, groups } => {
                Op::Reduce { input: f(input), op: *op, axes: axes.clone(), ddof: *ddof, skipna: *skipna, groups: groups.clone() }
            }
            Op::Rechunk { input } => Op::Rechunk { input: f(input) },
            Op::CumSum { input, axis, skipna } => Op::CumSum { input: f(input), axis: *axis, skipna: *skipna },
            Op::MapBlocks { input, f: func } => Op::MapBlocks { input: f(input), f: func.clone() },
            Op::Invalid { error } => Op::Invalid { error: error.clone() },
        }
    }
}
