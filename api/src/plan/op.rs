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

/// The distribution a random array ([`Op::Random`]) draws its elements from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Distribution {
    /// Uniform in `[low, high)` (NumPy's `uniform`).
    Uniform {
        /// The smallest value that can be drawn.
        #[serde(with = "super::float")]
        low: f64,
        /// The bound above every value drawn (excluded).
        #[serde(with = "super::float")]
        high: f64,
    },
    /// Gaussian with this mean and standard deviation (NumPy's `normal`).
    Normal {
        /// The mean.
        #[serde(with = "super::float")]
        mean: f64,
        /// The standard deviation.
        #[serde(with = "super::float")]
        std: f64,
    },
}

/// An element-wise operation on one array ([`Op::Unary`]). The math functions compute in
/// the input's float type, or in float64 for integer and bool input (NumPy's rule, see
/// [`super::build::unary_dtype`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnaryOp {
    /// `-x` (wrapping for integers; bool becomes int64).
    Neg,
    /// `|x|` (NumPy's `abs`).
    Abs,
    /// Square root.
    Sqrt,
    /// `e` to the power `x`.
    Exp,
    /// Natural logarithm (NumPy's `log`).
    Ln,
    /// Base-10 logarithm.
    Log10,
    /// Sine, of radians.
    Sin,
    /// Cosine, of radians.
    Cos,
    /// Tangent, of radians.
    Tan,
    /// Hyperbolic tangent.
    Tanh,
    /// Largest integer not above `x`.
    Floor,
    /// Smallest integer not below `x`.
    Ceil,
    /// Nearest integer, halves to even (NumPy's `round`).
    Round,
    /// Whether `x` is NaN (false for every integer); a bool result.
    IsNan,
    /// Whether `x` is neither NaN nor infinite (true for every integer); a bool result.
    IsFinite,
    /// Logical not, of `x` taken as bool; a bool result.
    Not,
}

/// An element-wise operation on two broadcast arrays ([`Op::Binary`]). Integer arithmetic
/// wraps on overflow and gives 0 on division by zero instead of panicking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BinaryOp {
    /// `a + b`.
    Add,
    /// `a - b`.
    Sub,
    /// `a * b`.
    Mul,
    /// `a / b` (truncating for integers, as Rust's `/`).
    Div,
    /// `a % b`, Rust's remainder: the sign of `a` (NumPy's `fmod`, not its `%`).
    Rem,
    /// `a` to the power `b` (0 for a negative or too large integer exponent).
    Pow,
    /// The smaller of the two; NaN if either is NaN (NumPy's `minimum`).
    Min,
    /// The larger of the two; NaN if either is NaN (NumPy's `maximum`).
    Max,
    /// `a == b`; a bool result.
    Eq,
    /// `a != b`; a bool result.
    Ne,
    /// `a < b`; a bool result.
    Lt,
    /// `a <= b`; a bool result.
    Le,
    /// `a > b`; a bool result.
    Gt,
    /// `a >= b`; a bool result.
    Ge,
    /// Logical and, of both taken as bool; a bool result.
    And,
    /// Logical or, of both taken as bool; a bool result.
    Or,
}

impl BinaryOp {
    /// Whether this is one of the six comparisons (`Eq` to `Ge`), whose result is bool.
    pub fn is_comparison(self) -> bool {
        matches!(self, BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge)
    }
}

/// A reduction over one or more axes ([`Op::Reduce`]); result types follow NumPy (see
/// [`super::build::reduce_dtype`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReduceOp {
    /// The sum.
    Sum,
    /// The arithmetic mean (NaN when there are no elements).
    Mean,
    /// The variance, divided by `n - ddof`.
    Var,
    /// The standard deviation: the square root of [`ReduceOp::Var`].
    Std,
    /// The smallest element; NaN if any is NaN, unless NaN is skipped.
    Min,
    /// The largest element; NaN if any is NaN, unless NaN is skipped.
    Max,
    /// The position of the smallest element (the first on ties, a NaN if there is one).
    ArgMin,
    /// The position of the largest element (the first on ties, a NaN if there is one).
    ArgMax,
    /// Whether any element is non-zero.
    Any,
    /// Whether every element is non-zero.
    All,
    /// Elements that are not NaN.
    Count,
}

/// Which group each position along an axis belongs to, for group-by reductions: position
/// `i` goes to group `labels[i]` (in `0..ngroups`), or to none when that is `usize::MAX`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Groups {
    /// The group of each position along the axis (`usize::MAX`: none).
    pub labels: Vec<usize>,
    /// How many groups there are: the length of the grouped axis in the result.
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
    Range {
        /// The first position kept.
        start: usize,
        /// The distance between kept positions (1: contiguous).
        step: usize,
        /// How many positions are kept: the axis's length in the result.
        len: usize,
    },
    /// One element; the axis is dropped.
    Index(usize),
}

/// One operation of a plan. `I` is how it refers to its inputs: shared nodes in a live plan,
/// positions in a node list once serialised ([`super::serial`]).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op<I = NodeRef> {
    /// Random numbers, each a function of the seed and the element's row-major position, so
    /// values do not depend on the chunks (dask's `random`).
    Random {
        /// The stream's key: each array drawn from a `RandomState` gets its own.
        seed: u64,
        /// What the numbers are drawn from.
        dist: Distribution,
    },
    /// Every element the same value (`full`, `zeros`, `ones`; a 0-d one is a scalar operand).
    Full {
        /// The value, converted to the node's element type.
        #[serde(with = "super::float")]
        value: f64,
    },
    /// The 1-d range `start + step * i` (`arange`, `linspace`).
    Arange {
        /// The first value.
        #[serde(with = "super::float")]
        start: f64,
        /// The difference between neighbouring values.
        #[serde(with = "super::float")]
        step: f64,
    },
    /// Values given whole (`from_array`), one block cut into the node's chunks.
    Literal {
        /// The values, as one block.
        data: Embedded,
    },
    /// A Zarr array on disk, read chunk by chunk.
    Zarr {
        /// Where the array is stored.
        source: ZarrRef,
    },
    /// A variable of a NetCDF file, read region by region.
    Netcdf {
        /// The file and the variable in it.
        source: NetcdfRef,
    },
    /// Chunks computed earlier and kept in memory, in the grid's row-major order.
    Persisted {
        /// The chunks, one block each.
        data: Embedded,
    },
    /// `op` applied to each element of `input`.
    Unary {
        /// The operation.
        op: UnaryOp,
        /// Its operand.
        input: I,
    },
    /// `op` applied to the elements of `lhs` and `rhs`, broadcast to one shape (NumPy's
    /// rules).
    Binary {
        /// The operation.
        op: BinaryOp,
        /// The left operand.
        lhs: I,
        /// The right operand.
        rhs: I,
    },
    /// `then` where `cond` is true, else `otherwise`, all three broadcast (`where`).
    Where {
        /// The condition, taken as bool.
        cond: I,
        /// The values where the condition holds.
        then: I,
        /// The values where it does not.
        otherwise: I,
    },
    /// `input` converted to the node's element type (`astype`).
    Cast {
        /// The values converted.
        input: I,
    },
    /// `input` with its axes reordered.
    Transpose {
        /// The array transposed.
        input: I,
        /// Output axis `k` is input axis `perm[k]`.
        perm: Vec<usize>,
    },
    /// A basic (slice and integer) selection of `input` (NumPy's basic indexing).
    Select {
        /// The array selected from.
        input: I,
        /// What each axis of the input keeps, one entry per input axis.
        axes: Vec<AxisSelect>,
    },
    /// Chosen positions along one axis, in any order and with repeats (NumPy's `take`).
    Take {
        /// The array taken from.
        input: I,
        /// The axis the positions are on.
        axis: usize,
        /// The positions, in output order (each checked in range when the node is built).
        indices: Arc<Vec<usize>>,
    },
    /// The inputs joined end to end along an existing axis (`concatenate`).
    Concat {
        /// The arrays joined, in order; their other axes agree.
        inputs: Vec<I>,
        /// The axis they are joined along.
        axis: usize,
    },
    /// The same elements in row-major order, in a new shape. Axes before `keep` are the
    /// input's, unchanged; the rest are the input's remaining axes regrouped.
    Reshape {
        /// The array reshaped.
        input: I,
        /// How many leading axes are left as they are.
        keep: usize,
    },
    /// A new length-1 axis at `axis`.
    ExpandDims {
        /// The array given the axis.
        input: I,
        /// Where the new axis goes in the output.
        axis: usize,
    },
    /// `skipna`: NaN elements are left out (the nan* reductions). With `groups`, the one
    /// reduced axis is kept, one position per group (a group-by reduction).
    Reduce {
        /// The array reduced.
        input: I,
        /// The reduction.
        op: ReduceOp,
        /// The reduced axes of the input, ascending.
        axes: Vec<usize>,
        /// Delta degrees of freedom for `Var` and `Std`: the divisor is `n - ddof`.
        ddof: usize,
        /// Whether NaN elements are left out.
        skipna: bool,
        /// For a group-by reduction, the group of each position along the reduced axis.
        groups: Option<Arc<Groups>>,
    },
    /// `input`'s values in the node's chunk grid (`rechunk`); the values are unchanged.
    Rechunk {
        /// The array rechunked.
        input: I,
    },
    /// Cumulative sum along `axis` (NaN counted as 0 when `skipna`).
    CumSum {
        /// The array summed.
        input: I,
        /// The axis summed along.
        axis: usize,
        /// Whether NaN counts as 0 (`nancumsum`) rather than making the rest NaN.
        skipna: bool,
    },
    /// A user function per chunk. Not data: never serialised.
    #[serde(skip)]
    MapBlocks {
        /// The array whose chunks the function gets.
        input: I,
        /// The function; it must return a block of its argument's shape.
        f: BlockFn,
    },
    /// A plan that could not be built; evaluating it returns the error. Never serialised:
    /// serialising reports the error instead.
    #[serde(skip)]
    Invalid {
        /// Why the plan could not be built.
        error: Error,
    },
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

    /// The operation's inputs, in order (none for sources).
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
