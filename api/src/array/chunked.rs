//! [`ChunkedArray`]: a typed, lazy, chunked N-d array. Every method builds a plan and returns
//! at once; `compute` runs it. Errors in building (shapes that do not broadcast, an axis out
//! of range) are kept in the plan and returned by `compute`, so expressions read like NumPy's.

use std::marker::PhantomData;
use std::ops::{Range, RangeFrom, RangeFull, RangeInclusive, RangeTo};
use std::sync::Arc;

use ndarray::ArrayD;

use super::{Block, BlockElement, ChunkGrid, ChunkSpec, DType};
use crate::error::Error;
use crate::exec::{self, ComputeOptions};
use crate::plan::build::{binary_node, reduce_dtype, reduce_node, scalar as scalar_node, select_node, take_node, where_node};
use crate::plan::{AxisSelect, BinaryOp, Node, NodeRef, Op, ReduceOp, UnaryOp};

/// Element types with NumPy's result types for sums and means.
pub trait Reducible: BlockElement {
    /// What `sum` returns: the widest type of the same kind.
    type Sum: BlockElement;
    /// What `mean`, `var` and `std` return.
    type Float: BlockElement;
}

macro_rules! reducible {
    ($($t:ty => $s:ty, $f:ty);*) => {$( impl Reducible for $t { type Sum = $s; type Float = $f; } )*};
}
reducible!(bool => i64, f64; i8 => i64, f64; i16 => i64, f64; i32 => i64, f64; i64 => i64, f64;
           u8 => u64, f64; u16 => u64, f64; u32 => u64, f64; u64 => u64, f64; f32 => f32, f32; f64 => f64, f64);

/// A lazy N-d array of `T` cut into chunks (dask's `Array`): a handle on a plan. Building on
/// it (arithmetic, selections, reductions) only builds a bigger plan; `compute` runs it.
/// Cloning is cheap: clones share the plan.
pub struct ChunkedArray<T> {
    node: NodeRef,
    _type: PhantomData<fn() -> T>,
}

impl<T> Clone for ChunkedArray<T> {
    fn clone(&self) -> Self {
        ChunkedArray { node: self.node.clone(), _type: PhantomData }
    }
}

impl<T: BlockElement> std::fmt::Debug for ChunkedArray<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ChunkedArray<{}>(shape={:?}, chunksize={:?}, npartitions={}, op={})",
            self.dtype(),
            self.shape(),
            self.chunksize(),
            self.npartitions(),
            self.node.op.name()
        )
    }
}

/// Which axes a reduction runs over: `..` (all), one axis, or a list.
pub trait Axes {
    /// The axes, sorted and without repeats, for an array of `ndim` dimensions; an error
    /// naming the first axis out of range.
    fn resolve(&self, ndim: usize) -> Result<Vec<usize>, Error>;
}

impl Axes for RangeFull {
    fn resolve(&self, ndim: usize) -> Result<Vec<usize>, Error> {
        Ok((0..ndim).collect())
    }
}

impl Axes for usize {
    fn resolve(&self, ndim: usize) -> Result<Vec<usize>, Error> {
        [*self].as_slice().resolve(ndim)
    }
}

impl Axes for &[usize] {
    fn resolve(&self, ndim: usize) -> Result<Vec<usize>, Error> {
        let mut axes = self.to_vec();
        axes.sort_unstable();
        axes.dedup();
        match axes.iter().find(|&&a| a >= ndim) {
            Some(&axis) => Err(Error::AxisOutOfRange { op: "reduce", axis, ndim }),
            None => Ok(axes),
        }
    }
}

impl<const N: usize> Axes for &[usize; N] {
    fn resolve(&self, ndim: usize) -> Result<Vec<usize>, Error> {
        self.as_slice().resolve(ndim)
    }
}

impl<const N: usize> Axes for [usize; N] {
    fn resolve(&self, ndim: usize) -> Result<Vec<usize>, Error> {
        self.as_slice().resolve(ndim)
    }
}

impl Axes for Vec<usize> {
    fn resolve(&self, ndim: usize) -> Result<Vec<usize>, Error> {
        self.as_slice().resolve(ndim)
    }
}

/// A selection along one axis, as in NumPy indexing: `Sel::from(2..10).step(2)`, `Sel::All`,
/// `Sel::Index(3)` (drops the axis).
#[derive(Debug, Clone, PartialEq)]
pub enum Sel {
    /// The whole axis (`:`).
    All,
    /// One position; the axis is dropped (`a[3]`).
    Index(usize),
    /// A slice `start:end:step` (`a[2:10:2]`).
    Range {
        /// The first position (`None`: 0).
        start: Option<usize>,
        /// The end, excluded (`None`: the axis's length).
        end: Option<usize>,
        /// The distance between positions kept; 0 is an error.
        step: usize,
    },
}

impl Sel {
    /// Every `step`-th element of the selection.
    pub fn step(self, step: usize) -> Sel {
        match self {
            Sel::All => Sel::Range { start: None, end: None, step },
            Sel::Range { start, end, .. } => Sel::Range { start, end, step },
            index => index,
        }
    }

    fn resolve(&self, axis: usize, len: usize) -> Result<AxisSelect, Error> {
        match *self {
            Sel::All => Ok(AxisSelect::Range { start: 0, step: 1, len }),
            Sel::Index(i) if i < len => Ok(AxisSelect::Index(i)),
            Sel::Index(index) => Err(Error::IndexOutOfRange { axis, index, len }),
            Sel::Range { start, end, step } => {
                let (start, end) = (start.unwrap_or(0), end.unwrap_or(len));
                if step == 0 || start > end || end > len {
                    return Err(Error::IndexOutOfRange { axis, index: end.max(start), len });
                }
                Ok(AxisSelect::Range { start, step, len: (end - start).div_ceil(step) })
            }
        }
    }
}

impl From<Range<usize>> for Sel {
    fn from(r: Range<usize>) -> Self {
        Sel::Range { start: Some(r.start), end: Some(r.end), step: 1 }
    }
}
impl From<RangeInclusive<usize>> for Sel {
    fn from(r: RangeInclusive<usize>) -> Self {
        Sel::Range { start: Some(*r.start()), end: Some(*r.end() + 1), step: 1 }
    }
}
impl From<RangeFrom<usize>> for Sel {
    fn from(r: RangeFrom<usize>) -> Self {
        Sel::Range { start: Some(r.start), end: None, step: 1 }
    }
}
impl From<RangeTo<usize>> for Sel {
    fn from(r: RangeTo<usize>) -> Self {
        Sel::Range { start: None, end: Some(r.end), step: 1 }
    }
}
impl From<RangeFull> for Sel {
    fn from(_: RangeFull) -> Self {
        Sel::All
    }
}
impl From<usize> for Sel {
    fn from(i: usize) -> Self {
        Sel::Index(i)
    }
}

impl<T: BlockElement> ChunkedArray<T> {
    pub(crate) fn from_node(node: NodeRef) -> Self {
        ChunkedArray { node, _type: PhantomData }
    }

    /// `node` as an array of `T`, with a cast added when the node computes another type
    /// (an operation's natural result type can differ from the typed API's).
    pub fn typed(node: NodeRef) -> Self {
        if node.dtype == T::DTYPE {
            ChunkedArray::from_node(node)
        } else {
            let grid = node.grid.clone();
            ChunkedArray::from_node(Node::new(Op::Cast { input: node }, grid, T::DTYPE))
        }
    }

    fn derive<U: BlockElement>(&self, op: Op, grid: ChunkGrid) -> ChunkedArray<U> {
        ChunkedArray::from_node(Node::new(op, grid, U::DTYPE))
    }

    fn invalid<U: BlockElement>(&self, error: Error) -> ChunkedArray<U> {
        ChunkedArray::from_node(Node::invalid(error, self.node.grid.clone(), U::DTYPE))
    }

    /// The plan as text: each step with its type, shape and chunks, and the plan the
    /// optimizer makes of it when that differs (what `compute` will run).
    pub fn explain(&self) -> crate::plan::Explain {
        self.node.explain()
    }

    /// The plan behind the array (plain data; what displays and optimisers read).
    pub fn plan(&self) -> &NodeRef {
        &self.node
    }

    /// The length of each axis.
    pub fn shape(&self) -> Vec<usize> {
        self.node.shape()
    }

    /// The number of axes.
    pub fn ndim(&self) -> usize {
        self.node.grid.ndim()
    }

    /// The number of elements.
    pub fn size(&self) -> usize {
        self.shape().iter().product()
    }

    /// The element type the plan computes (normally `T`'s).
    pub fn dtype(&self) -> DType {
        self.node.dtype
    }

    /// The bytes the computed array takes.
    pub fn nbytes(&self) -> u64 {
        self.node.nbytes()
    }

    /// Chunk lengths along each axis.
    pub fn chunks(&self) -> &[Vec<usize>] {
        self.node.grid.chunks()
    }

    /// The largest chunk's shape.
    pub fn chunksize(&self) -> Vec<usize> {
        self.node.grid.chunk_shape()
    }

    /// The number of chunks (dask's `npartitions`).
    pub fn npartitions(&self) -> usize {
        self.node.grid.nchunks()
    }

    /// Runs the plan on all cores and returns the values.
    pub fn compute(&self) -> Result<ArrayD<T>, Error> {
        self.compute_with(&ComputeOptions::default())
    }

    /// [`ChunkedArray::compute`] with `options` (threads, budget, observer).
    pub fn compute_with(&self, options: &ComputeOptions) -> Result<ArrayD<T>, Error> {
        Ok(exec::compute(&self.node, options)?.into_typed::<T>())
    }

    /// The single value of a 0-d (or one-element) result, e.g. `x.sum(..).scalar()?`.
    pub fn scalar(&self) -> Result<T, Error> {
        self.scalar_with(&ComputeOptions::default())
    }

    /// [`ChunkedArray::scalar`] with `options` (threads, budget, observer).
    pub fn scalar_with(&self, options: &ComputeOptions) -> Result<T, Error> {
        let values = self.compute_with(options)?;
        match values.iter().next() {
            Some(&v) if values.len() == 1 => Ok(v),
            _ => Err(Error::WrongLength { op: "scalar", expected: 1, got: values.len() }),
        }
    }

    /// Computes the chunks and keeps them in memory: later plans built on the result reuse
    /// them instead of recomputing.
    pub fn persist(&self) -> Result<ChunkedArray<T>, Error> {
        let chunks = exec::compute_chunks(&self.node, &ComputeOptions::default())?;
        Ok(self.derive(Op::Persisted { data: crate::plan::Embedded::new(chunks) }, self.node.grid.clone()))
    }

    /// Computes the array and writes it as a Zarr v3 array (zstd, chunked as the array) at
    /// `path`, which must not exist yet. See [`ChunkedArray::to_zarr_with`] for options.
    pub fn to_zarr(&self, path: impl AsRef<std::path::Path>) -> Result<crate::zarr::ZarrArray, Error> {
        self.to_zarr_with(path, &crate::zarr::ToZarr::default())
    }

    /// Computes the array chunk by chunk, streaming, and writes it as a Zarr array at `path`.
    /// Readers never see a partial result: the array appears (or replaces the old one, with
    /// `overwrite`) only once complete.
    pub fn to_zarr_with(&self, path: impl AsRef<std::path::Path>, options: &crate::zarr::ToZarr) -> Result<crate::zarr::ZarrArray, Error> {
        crate::executor::executor().write_zarr_array(&self.node, &crate::storage::Location::parse(path, &options.storage), options)
    }

    /// The same values cut into other chunks (dask's `rechunk`); an invalid spec is an
    /// error at `compute`.
    pub fn rechunk(&self, chunks: impl Into<ChunkSpec>) -> ChunkedArray<T> {
        match ChunkGrid::from_spec(&self.shape(), &chunks.into(), T::DTYPE.size_of()) {
            Ok(grid) => self.derive(Op::Rechunk { input: self.node.clone() }, grid),
            Err(e) => self.invalid(e),
        }
    }

    /// Reverses the axes.
    pub fn t(&self) -> ChunkedArray<T> {
        let perm: Vec<usize> = (0..self.ndim()).rev().collect();
        self.transpose(&perm)
    }

    /// Output axis `k` is input axis `perm[k]`.
    pub fn transpose(&self, perm: &[usize]) -> ChunkedArray<T> {
        ChunkedArray::from_node(crate::plan::build::transpose_node(&self.node, perm))
    }

    /// Axes `a` and `b` exchanged (NumPy's `swapaxes`).
    pub fn swapaxes(&self, a: usize, b: usize) -> ChunkedArray<T> {
        let n = self.ndim();
        if a >= n || b >= n {
            return self.invalid(Error::AxisOutOfRange { op: "swapaxes", axis: a.max(b), ndim: n });
        }
        let mut perm: Vec<usize> = (0..n).collect();
        perm.swap(a, b);
        self.transpose(&perm)
    }

    /// NumPy basic indexing, one [`Sel`] per leading axis (missing ones keep everything).
    pub fn isel(&self, selection: &[Sel]) -> ChunkedArray<T> {
        let shape = self.shape();
        if selection.len() > shape.len() {
            return self.invalid(Error::AxisOutOfRange { op: "isel", axis: selection.len() - 1, ndim: shape.len() });
        }
        let mut axes = Vec::with_capacity(shape.len());
        for (axis, &len) in shape.iter().enumerate() {
            match selection.get(axis).unwrap_or(&Sel::All).resolve(axis, len) {
                Ok(sel) => axes.push(sel),
                Err(e) => return self.invalid(e),
            }
        }
        ChunkedArray::from_node(select_node(&self.node, axes))
    }

    /// The elements at `indices` along `axis`, in that order.
    pub fn take(&self, axis: usize, indices: &[usize]) -> ChunkedArray<T> {
        let shape = self.shape();
        if axis >= shape.len() {
            return self.invalid(Error::AxisOutOfRange { op: "take", axis, ndim: shape.len() });
        }
        if let Some(&bad) = indices.iter().find(|&&i| i >= shape[axis]) {
            return self.invalid(Error::IndexOutOfRange { axis, index: bad, len: shape[axis] });
        }
        ChunkedArray::from_node(take_node(&self.node, axis, indices))
    }

    /// The elements along `axis` where `mask` is true (a boolean index along one axis).
    pub fn compress(&self, axis: usize, mask: &[bool]) -> ChunkedArray<T> {
        let len = self.shape().get(axis).copied().unwrap_or(0);
        if mask.len() != len {
            return self.invalid(Error::WrongLength { op: "boolean mask", expected: len, got: mask.len() });
        }
        let indices: Vec<usize> = mask.iter().enumerate().filter(|(_, &m)| m).map(|(i, _)| i).collect();
        self.take(axis, &indices)
    }

    /// The values converted to `U` (NumPy's `astype`: floats to integers truncate and
    /// saturate, NaN becomes 0).
    pub fn astype<U: BlockElement>(&self) -> ChunkedArray<U> {
        self.derive(Op::Cast { input: self.node.clone() }, self.node.grid.clone())
    }

    fn unary<U: BlockElement>(&self, op: UnaryOp) -> ChunkedArray<U> {
        ChunkedArray::typed(crate::plan::build::unary_node(op, &self.node))
    }

    /// Whether each element is NaN (never for integers).
    pub fn isnan(&self) -> ChunkedArray<bool> {
        self.unary(UnaryOp::IsNan)
    }

    /// Whether each element is neither NaN nor infinite (always for integers).
    pub fn isfinite(&self) -> ChunkedArray<bool> {
        self.unary(UnaryOp::IsFinite)
    }

    /// Whether each element is not NaN (xarray's `notnull`).
    pub fn notnull(&self) -> ChunkedArray<bool> {
        self.isnan().not()
    }

    fn binary_with(&self, op: BinaryOp, other: &NodeRef) -> NodeRef {
        binary_node(op, &self.node, other)
    }

    fn compare(&self, op: BinaryOp, other: &NodeRef) -> ChunkedArray<bool> {
        ChunkedArray::from_node(self.binary_with(op, other))
    }

    /// `self > other`, element-wise with broadcasting.
    pub fn gt(&self, other: &ChunkedArray<T>) -> ChunkedArray<bool> { self.compare(BinaryOp::Gt, &other.node) }
    /// `self >= other`, element-wise with broadcasting.
    pub fn ge(&self, other: &ChunkedArray<T>) -> ChunkedArray<bool> { self.compare(BinaryOp::Ge, &other.node) }
    /// `self < other`, element-wise with broadcasting.
    pub fn lt(&self, other: &ChunkedArray<T>) -> ChunkedArray<bool> { self.compare(BinaryOp::Lt, &other.node) }
    /// `self <= other`, element-wise with broadcasting.
    pub fn le(&self, other: &ChunkedArray<T>) -> ChunkedArray<bool> { self.compare(BinaryOp::Le, &other.node) }
    /// `self == other`, element-wise with broadcasting (named so as not to clash with
    /// `PartialEq::eq`).
    pub fn eq_(&self, other: &ChunkedArray<T>) -> ChunkedArray<bool> { self.compare(BinaryOp::Eq, &other.node) }
    /// `self != other`, element-wise with broadcasting.
    pub fn ne_(&self, other: &ChunkedArray<T>) -> ChunkedArray<bool> { self.compare(BinaryOp::Ne, &other.node) }
    /// `self > v` for each element.
    pub fn gt_scalar(&self, v: T) -> ChunkedArray<bool> { self.compare(BinaryOp::Gt, &scalar_node(v)) }
    /// `self >= v` for each element.
    pub fn ge_scalar(&self, v: T) -> ChunkedArray<bool> { self.compare(BinaryOp::Ge, &scalar_node(v)) }
    /// `self < v` for each element.
    pub fn lt_scalar(&self, v: T) -> ChunkedArray<bool> { self.compare(BinaryOp::Lt, &scalar_node(v)) }
    /// `self <= v` for each element.
    pub fn le_scalar(&self, v: T) -> ChunkedArray<bool> { self.compare(BinaryOp::Le, &scalar_node(v)) }
    /// `self == v` for each element.
    pub fn eq_scalar(&self, v: T) -> ChunkedArray<bool> { self.compare(BinaryOp::Eq, &scalar_node(v)) }

    /// Element-wise minimum (NaN wins, as NumPy's `minimum`).
    pub fn minimum(&self, other: &ChunkedArray<T>) -> ChunkedArray<T> {
        self.arith(BinaryOp::Min, &other.node)
    }

    /// Element-wise maximum (NaN wins, as NumPy's `maximum`).
    pub fn maximum(&self, other: &ChunkedArray<T>) -> ChunkedArray<T> {
        self.arith(BinaryOp::Max, &other.node)
    }

    /// Each element to the power `exponent` (for integers, a negative exponent gives 0).
    pub fn powf(&self, exponent: T) -> ChunkedArray<T> {
        self.arith(BinaryOp::Pow, &scalar_node(exponent))
    }

    fn arith(&self, op: BinaryOp, other: &NodeRef) -> ChunkedArray<T> {
        ChunkedArray::typed(self.binary_with(op, other))
    }

    /// Applies `f` to every chunk (the whole chunk, as an ndarray); it must keep the shape.
    pub fn map_blocks<F>(&self, f: F) -> ChunkedArray<T>
    where
        F: Fn(ArrayD<T>) -> ArrayD<T> + Send + Sync + 'static,
    {
        let f = Arc::new(move |block: &Block| T::wrap(f(block.clone().into_typed::<T>())));
        self.derive(Op::MapBlocks { input: self.node.clone(), f }, self.node.grid.clone())
    }

    fn reduce<U: BlockElement>(&self, op: ReduceOp, axes: impl Axes, ddof: usize, skipna: bool) -> ChunkedArray<U> {
        let axes = match axes.resolve(self.ndim()) {
            Ok(axes) => axes,
            Err(e) => return self.invalid(e),
        };
        if matches!(op, ReduceOp::ArgMin | ReduceOp::ArgMax) && axes.len() != 1 {
            return self.invalid(Error::WrongLength { op: "argmin/argmax axes", expected: 1, got: axes.len() });
        }
        ChunkedArray::typed(reduce_node(&self.node, op, axes, ddof, skipna))
    }

    /// A reduction within groups along `axis`: position `i` belongs to group `labels[i]`
    /// (`usize::MAX`: to none), and the result has `ngroups` positions along `axis`, as
    /// xarray's groupby reductions (and flox) give. One pass over the input, whatever the
    /// number of groups. `op` may be any reduction but argmin/argmax.
    pub fn group_reduce(&self, op: ReduceOp, axis: usize, labels: Vec<usize>, ngroups: usize, ddof: usize, skipna: bool) -> ChunkedArray<T::Float>
    where
        T: Reducible,
    {
        let groups = Arc::new(crate::plan::Groups { labels, ngroups });
        ChunkedArray::typed(crate::plan::build::group_reduce_node(&self.node, op, axis, groups, ddof, skipna, reduce_dtype(op, T::DTYPE)))
    }

    /// The smallest element over `axes` (NaN if any is NaN, as NumPy's `min`).
    pub fn min(&self, axes: impl Axes) -> ChunkedArray<T> { self.reduce(ReduceOp::Min, axes, 0, false) }
    /// The largest element over `axes` (NaN if any is NaN, as NumPy's `max`).
    pub fn max(&self, axes: impl Axes) -> ChunkedArray<T> { self.reduce(ReduceOp::Max, axes, 0, false) }
    /// The smallest element over `axes`, NaN left out (NaN where all are).
    pub fn nanmin(&self, axes: impl Axes) -> ChunkedArray<T> { self.reduce(ReduceOp::Min, axes, 0, true) }
    /// The largest element over `axes`, NaN left out (NaN where all are).
    pub fn nanmax(&self, axes: impl Axes) -> ChunkedArray<T> { self.reduce(ReduceOp::Max, axes, 0, true) }
    /// The position of the smallest element along `axis` (the first on ties; a NaN's if
    /// there is one, as NumPy).
    pub fn argmin(&self, axis: usize) -> ChunkedArray<i64> { self.reduce(ReduceOp::ArgMin, axis, 0, false) }
    /// The position of the largest element along `axis` (the first on ties; a NaN's if
    /// there is one, as NumPy).
    pub fn argmax(&self, axis: usize) -> ChunkedArray<i64> { self.reduce(ReduceOp::ArgMax, axis, 0, false) }
    /// [`ChunkedArray::argmin`] with NaN left out.
    pub fn nanargmin(&self, axis: usize) -> ChunkedArray<i64> { self.reduce(ReduceOp::ArgMin, axis, 0, true) }
    /// [`ChunkedArray::argmax`] with NaN left out.
    pub fn nanargmax(&self, axis: usize) -> ChunkedArray<i64> { self.reduce(ReduceOp::ArgMax, axis, 0, true) }
    /// Whether any element over `axes` is non-zero (true).
    pub fn any(&self, axes: impl Axes) -> ChunkedArray<bool> { self.reduce(ReduceOp::Any, axes, 0, false) }
    /// Whether every element over `axes` is non-zero (true).
    pub fn all(&self, axes: impl Axes) -> ChunkedArray<bool> { self.reduce(ReduceOp::All, axes, 0, false) }
    /// Elements that are not NaN.
    pub fn count(&self, axes: impl Axes) -> ChunkedArray<i64> { self.reduce(ReduceOp::Count, axes, 0, false) }
}

impl<T: Reducible> ChunkedArray<T> {
    /// Cumulative sum along `axis` (NumPy's `cumsum`; a NaN carries on to the end).
    pub fn cumsum(&self, axis: usize) -> ChunkedArray<T::Sum> {
        self.scan(axis, false)
    }

    /// Cumulative sum along `axis` with NaN counted as zero (`nancumsum`).
    pub fn nancumsum(&self, axis: usize) -> ChunkedArray<T::Sum> {
        self.scan(axis, true)
    }

    fn scan(&self, axis: usize, skipna: bool) -> ChunkedArray<T::Sum> {
        if axis >= self.ndim() {
            return self.invalid(Error::AxisOutOfRange { op: "cumsum", axis, ndim: self.ndim() });
        }
        let dtype = T::DTYPE.accumulator();
        ChunkedArray::typed(Node::new(Op::CumSum { input: self.node.clone(), axis, skipna }, self.node.grid.clone(), dtype))
    }

    /// The sum over `axes`, in the widest type of `T`'s kind (NumPy's `sum`).
    pub fn sum(&self, axes: impl Axes) -> ChunkedArray<T::Sum> { self.reduce(ReduceOp::Sum, axes, 0, false) }
    /// The sum over `axes` with NaN counted as zero (`nansum`).
    pub fn nansum(&self, axes: impl Axes) -> ChunkedArray<T::Sum> { self.reduce(ReduceOp::Sum, axes, 0, true) }
    /// The mean over `axes`, as a float (NumPy's `mean`).
    pub fn mean(&self, axes: impl Axes) -> ChunkedArray<T::Float> { self.reduce(ReduceOp::Mean, axes, 0, false) }
    /// The mean over `axes` of the elements that are not NaN (`nanmean`).
    pub fn nanmean(&self, axes: impl Axes) -> ChunkedArray<T::Float> { self.reduce(ReduceOp::Mean, axes, 0, true) }
    /// The variance over `axes`, divided by `n - ddof` (NumPy's `var`).
    pub fn var(&self, axes: impl Axes, ddof: usize) -> ChunkedArray<T::Float> { self.reduce(ReduceOp::Var, axes, ddof, false) }
    /// The variance over `axes` of the elements that are not NaN (`nanvar`).
    pub fn nanvar(&self, axes: impl Axes, ddof: usize) -> ChunkedArray<T::Float> { self.reduce(ReduceOp::Var, axes, ddof, true) }
    /// The standard deviation over `axes`, with divisor `n - ddof` (NumPy's `std`).
    pub fn std(&self, axes: impl Axes, ddof: usize) -> ChunkedArray<T::Float> { self.reduce(ReduceOp::Std, axes, ddof, false) }
    /// The standard deviation over `axes` of the elements that are not NaN (`nanstd`).
    pub fn nanstd(&self, axes: impl Axes, ddof: usize) -> ChunkedArray<T::Float> { self.reduce(ReduceOp::Std, axes, ddof, true) }
}

macro_rules! float_math {
    ($($name:ident => $op:ident),*) => {
        impl<T: Reducible> ChunkedArray<T> {
            $(
                #[doc = concat!("`", stringify!($name), "` of each element, in `T::Float` (float64 for integers, as NumPy).")]
                pub fn $name(&self) -> ChunkedArray<T::Float> { self.unary(UnaryOp::$op) }
            )*
        }
    };
}
float_math!(sqrt => Sqrt, exp => Exp, ln => Ln, log10 => Log10, sin => Sin, cos => Cos, tan => Tan,
            tanh => Tanh, floor => Floor, ceil => Ceil, round => Round);

impl<T: BlockElement> ChunkedArray<T> {
    /// The absolute value of each element.
    pub fn abs(&self) -> ChunkedArray<T> {
        self.unary(UnaryOp::Abs)
    }
}

impl ChunkedArray<bool> {
    /// Logical not of each element.
    pub fn not(&self) -> ChunkedArray<bool> {
        self.unary(UnaryOp::Not)
    }

    /// Logical and, element-wise with broadcasting (NumPy's `&` on bools).
    pub fn and(&self, other: &ChunkedArray<bool>) -> ChunkedArray<bool> {
        self.compare(BinaryOp::And, &other.node)
    }

    /// Logical or, element-wise with broadcasting (NumPy's `|` on bools).
    pub fn or(&self, other: &ChunkedArray<bool>) -> ChunkedArray<bool> {
        self.compare(BinaryOp::Or, &other.node)
    }
}

/// `cond ? a : b`, element-wise, with broadcasting (NumPy's `where`).
pub fn where_<T: BlockElement>(cond: &ChunkedArray<bool>, a: &ChunkedArray<T>, b: &ChunkedArray<T>) -> ChunkedArray<T> {
    ChunkedArray::typed(where_node(&cond.node, &a.node, &b.node))
}

/// Joins arrays along an existing axis.
pub fn concatenate<T: BlockElement>(arrays: &[ChunkedArray<T>], axis: usize) -> ChunkedArray<T> {
    let Some(first) = arrays.first() else {
        return ChunkedArray::from_node(Node::invalid(
            Error::Empty { op: "concatenate" },
            ChunkGrid::regular(&[0], &[1]).expect("empty grid"),
            T::DTYPE,
        ));
    };
    let ndim = first.ndim();
    if axis >= ndim {
        return first.invalid(Error::AxisOutOfRange { op: "concatenate", axis, ndim });
    }
    let mut chunks = first.chunks().to_vec();
    for other in &arrays[1..] {
        let (a, b) = (first.shape(), other.shape());
        let fits = a.len() == b.len() && a.iter().zip(&b).enumerate().all(|(k, (x, y))| k == axis || x == y);
        if !fits {
            return first.invalid(Error::ShapeMismatch { op: "concatenate", left: a, right: b });
        }
        chunks[axis].extend(other.chunks()[axis].iter().copied().filter(|&n| n > 0));
    }
    let mut shape = first.shape();
    shape[axis] = arrays.iter().map(|a| a.shape()[axis]).sum();
    match ChunkGrid::from_spec(&shape, &ChunkSpec::Explicit(chunks), 8) {
        Ok(grid) => ChunkedArray::from_node(Node::new(
            Op::Concat { inputs: arrays.iter().map(|a| a.node.clone()).collect(), axis },
            grid,
            T::DTYPE,
        )),
        Err(e) => first.invalid(e),
    }
}

/// Joins arrays along a new axis.
pub fn stack<T: BlockElement>(arrays: &[ChunkedArray<T>], axis: usize) -> ChunkedArray<T> {
    let expanded: Vec<ChunkedArray<T>> = arrays.iter().map(|a| a.expand_dims(axis)).collect();
    concatenate(&expanded, axis)
}

impl<T: BlockElement> ChunkedArray<T> {
    /// The same elements in row-major order with a new `shape` (NumPy's `reshape`). Axes that
    /// keep their length at the front keep their chunks; the regrouped axes after them are
    /// chunked on the first of them only (later ones whole), in chunks of about the input's
    /// size, so each output chunk is one contiguous run of input rows.
    pub fn reshape(&self, shape: &[usize]) -> ChunkedArray<T> {
        let from = self.shape();
        if from.iter().product::<usize>() != shape.iter().product::<usize>() {
            return self.invalid(Error::ShapeMismatch { op: "reshape", left: from, right: shape.to_vec() });
        }
        if from == shape {
            return self.clone();
        }
        if shape.iter().product::<usize>() == 0 {
            return super::create::full(shape, T::default(), ChunkSpec::Uniform(usize::MAX));
        }
        let keep = from.iter().zip(shape).take_while(|(a, b)| a == b).count();
        let mut chunks: Vec<Vec<usize>> = self.chunks()[..keep].to_vec();
        if keep < shape.len() {
            let row_out: usize = shape[keep + 1..].iter().product();
            let per_chunk_in = if keep < from.len() {
                self.chunks()[keep][0] * from[keep + 1..].iter().product::<usize>()
            } else {
                1
            };
            let len = (per_chunk_in / row_out.max(1)).clamp(1, shape[keep]);
            let mut lens = vec![len; shape[keep] / len];
            if shape[keep] % len != 0 {
                lens.push(shape[keep] % len);
            }
            chunks.push(lens);
            chunks.extend(shape[keep + 1..].iter().map(|&n| vec![n]));
        }
        match ChunkGrid::from_spec(shape, &ChunkSpec::Explicit(chunks), T::DTYPE.size_of()) {
            Ok(grid) => self.derive(Op::Reshape { input: self.node.clone(), keep }, grid),
            Err(e) => self.invalid(e),
        }
    }

    /// Inserts a length-1 axis at `axis`.
    pub fn expand_dims(&self, axis: usize) -> ChunkedArray<T> {
        ChunkedArray::from_node(crate::plan::build::expand_dims_node(&self.node, axis))
    }
}
