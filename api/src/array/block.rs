//! [`Block`]: one in-memory chunk of any element type. Plans are dynamically typed (data read
//! from files has its type only at run time), so evaluation works on blocks; typed arrays
//! convert at the edges.

use ndarray::{ArrayD, IxDyn, SliceInfoElem};
use std::ops::Range;

use super::dtype::{DType, Element};
use crate::error::Error;

/// An n-dimensional array of one of the supported element types.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// Booleans.
    Bool(ArrayD<bool>),
    /// 8-bit signed integers.
    I8(ArrayD<i8>),
    /// 16-bit signed integers.
    I16(ArrayD<i16>),
    /// 32-bit signed integers.
    I32(ArrayD<i32>),
    /// 64-bit signed integers.
    I64(ArrayD<i64>),
    /// 8-bit unsigned integers.
    U8(ArrayD<u8>),
    /// 16-bit unsigned integers.
    U16(ArrayD<u16>),
    /// 32-bit unsigned integers.
    U32(ArrayD<u32>),
    /// 64-bit unsigned integers.
    U64(ArrayD<u64>),
    /// 32-bit floats.
    F32(ArrayD<f32>),
    /// 64-bit floats.
    F64(ArrayD<f64>),
}

/// Runs `$body` with `$arr` bound to the block's array, whatever its element type; `$T` names
/// the element type inside the body.
#[macro_export]
#[doc(hidden)]
macro_rules! with_block {
    ($block:expr, $arr:ident, $T:ident => $body:expr) => {
        match $block {
            $crate::array::Block::Bool($arr) => { type $T = bool; $body }
            $crate::array::Block::I8($arr) => { type $T = i8; $body }
            $crate::array::Block::I16($arr) => { type $T = i16; $body }
            $crate::array::Block::I32($arr) => { type $T = i32; $body }
            $crate::array::Block::I64($arr) => { type $T = i64; $body }
            $crate::array::Block::U8($arr) => { type $T = u8; $body }
            $crate::array::Block::U16($arr) => { type $T = u16; $body }
            $crate::array::Block::U32($arr) => { type $T = u32; $body }
            $crate::array::Block::U64($arr) => { type $T = u64; $body }
            $crate::array::Block::F32($arr) => { type $T = f32; $body }
            $crate::array::Block::F64($arr) => { type $T = f64; $body }
        }
    };
}

/// Runs `$body` with `$T` bound to the Rust type of a [`DType`].
#[macro_export]
#[doc(hidden)]
macro_rules! with_dtype {
    ($dtype:expr, $T:ident => $body:expr) => {
        match $dtype {
            $crate::array::DType::Bool => { type $T = bool; $body }
            $crate::array::DType::I8 => { type $T = i8; $body }
            $crate::array::DType::I16 => { type $T = i16; $body }
            $crate::array::DType::I32 => { type $T = i32; $body }
            $crate::array::DType::I64 => { type $T = i64; $body }
            $crate::array::DType::U8 => { type $T = u8; $body }
            $crate::array::DType::U16 => { type $T = u16; $body }
            $crate::array::DType::U32 => { type $T = u32; $body }
            $crate::array::DType::U64 => { type $T = u64; $body }
            $crate::array::DType::F32 => { type $T = f32; $body }
            $crate::array::DType::F64 => { type $T = f64; $body }
        }
    };
}

/// ndarray's slice of `region` (one range per axis).
#[doc(hidden)]
pub fn slice_info(region: &[Range<usize>]) -> Vec<SliceInfoElem> {
    region.iter().map(|r| SliceInfoElem::Slice { start: r.start as isize, end: Some(r.end as isize), step: 1 }).collect()
}

/// Moves typed arrays into and out of blocks.
pub trait BlockElement: Element {
    /// The array as a block of this type's variant.
    fn wrap(array: ArrayD<Self>) -> Block;
    /// The array inside `block` if it holds this type, else `None` (no conversion; see
    /// [`Block::into_typed`] for that).
    fn unwrap(block: Block) -> Option<ArrayD<Self>>;
}

macro_rules! block_element {
    ($($t:ty => $v:ident),*) => {$(
        impl BlockElement for $t {
            fn wrap(array: ArrayD<Self>) -> Block { Block::$v(array) }
            fn unwrap(block: Block) -> Option<ArrayD<Self>> {
                match block { Block::$v(a) => Some(a), _ => None }
            }
        }
    )*};
}

block_element!(bool => Bool, i8 => I8, i16 => I16, i32 => I32, i64 => I64, u8 => U8, u16 => U16,
               u32 => U32, u64 => U64, f32 => F32, f64 => F64);

impl Block {
    /// The element type.
    pub fn dtype(&self) -> DType {
        with_block!(self, _a, T => <T as Element>::DTYPE)
    }

    /// The length of each axis.
    pub fn shape(&self) -> &[usize] {
        with_block!(self, a, _T => a.shape())
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.shape().iter().product()
    }

    /// Whether the block has no elements (some axis has length 0).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes its elements take.
    pub fn nbytes(&self) -> usize {
        self.len() * self.dtype().size_of()
    }

    /// A block of `shape` filled with `value` (converted to `dtype`).
    pub fn full(dtype: DType, shape: &[usize], value: f64) -> Block {
        with_dtype!(dtype, T => T::wrap(ArrayD::from_elem(IxDyn(shape), <T as Element>::from_f64(value))))
    }

    /// Converts every element to `dtype`, as NumPy's `astype` (floats to ints truncate and
    /// saturate; NaN becomes 0).
    pub fn cast(&self, dtype: DType) -> Block {
        if self.dtype() == dtype {
            return self.clone();
        }
        with_block!(self, a, _S => with_dtype!(dtype, T => T::wrap(a.mapv(|v| <T as Element>::from_f64(v.to_f64())))))
    }

    /// The values converted to f64, as a new array.
    pub fn to_f64(&self) -> ArrayD<f64> {
        self.as_f64().into_owned()
    }

    /// The values as f64, borrowed when they already are.
    pub fn as_f64(&self) -> std::borrow::Cow<'_, ArrayD<f64>> {
        match self {
            Block::F64(a) => std::borrow::Cow::Borrowed(a),
            other => std::borrow::Cow::Owned(with_block!(other, a, _T => a.mapv(|v| v.to_f64()))),
        }
    }

    /// Converts to `dtype`, without copying when it already is.
    pub fn into_dtype(self, dtype: DType) -> Block {
        if self.dtype() == dtype { self } else { self.cast(dtype) }
    }

    /// The typed array, converting the element type if it differs.
    pub fn into_typed<T: BlockElement>(self) -> ArrayD<T> {
        let cast = if self.dtype() == T::DTYPE { self } else { self.cast(T::DTYPE) };
        // After the cast the variant is T's, so unwrap cannot fail; an empty array would only
        // hide a bug, so fall back to a default-filled one of the right shape.
        let shape = cast.shape().to_vec();
        T::unwrap(cast).unwrap_or_else(|| ArrayD::from_elem(IxDyn(&shape), T::default()))
    }

    /// The part of the block inside `region` (one range per axis, relative to the block).
    pub fn slice(&self, region: &[Range<usize>]) -> Block {
        let info = slice_info(region);
        with_block!(self, a, T => T::wrap(a.slice(info.as_slice()).to_owned()))
    }

    /// Copies `part` (converted to this block's type) into this block at `region`; an error,
    /// not a panic, when they do not fit (parts can come from another process).
    pub fn paste(&mut self, region: &[Range<usize>], part: &Block) -> Result<(), Error> {
        let fits = region.len() == self.shape().len()
            && region.iter().zip(self.shape()).all(|(r, &n)| r.start <= r.end && r.end <= n)
            && region.iter().map(|r| r.len()).eq(part.shape().iter().copied());
        if !fits {
            return Err(Error::ShapeMismatch { op: "paste", left: region.iter().map(|r| r.len()).collect(), right: part.shape().to_vec() });
        }
        let info = slice_info(region);
        let dtype = self.dtype();
        with_block!(self, out, T => out.slice_mut(info.as_slice()).assign(&part.cast(dtype).into_typed::<T>()));
        Ok(())
    }

    /// Every `step`-th element from `start`, `count` of them, along `axis`.
    pub fn stride(&self, axis: usize, start: usize, step: usize, count: usize) -> Block {
        let info: Vec<SliceInfoElem> = (0..self.shape().len())
            .map(|k| {
                if k == axis {
                    let end = start + step * count.saturating_sub(1) + 1;
                    SliceInfoElem::Slice { start: start as isize, end: Some(end as isize), step: step as isize }
                } else {
                    SliceInfoElem::Slice { start: 0, end: None, step: 1 }
                }
            })
            .collect();
        with_block!(self, a, T => T::wrap(a.slice(info.as_slice()).to_owned()))
    }

    /// The elements at `indices` along `axis`, in that order.
    pub fn take(&self, axis: usize, indices: &[usize]) -> Block {
        with_block!(self, a, T => T::wrap(a.select(ndarray::Axis(axis), indices)))
    }

    /// The block with its axes reordered (axis `k` is this block's `perm[k]`), copied into
    /// row-major order.
    pub fn permuted(&self, perm: &[usize]) -> Block {
        with_block!(self, a, T => T::wrap(a.clone().permuted_axes(IxDyn(perm)).as_standard_layout().into_owned()))
    }

    /// The block without `axis`, keeping its first position along it (for length-1 axes).
    pub fn remove_axis(&self, axis: usize) -> Block {
        with_block!(self, a, T => T::wrap(a.index_axis(ndarray::Axis(axis), 0).to_owned()))
    }

    /// The block with a new length-1 axis at `axis`.
    pub fn insert_axis(&self, axis: usize) -> Block {
        with_block!(self, a, T => T::wrap(a.clone().insert_axis(ndarray::Axis(axis))))
    }

    /// The same elements in row-major order, in `shape`; an error when the element counts
    /// differ.
    pub fn reshape(&self, shape: &[usize]) -> Result<Block, Error> {
        with_block!(self, a, T => {
            let standard = a.as_standard_layout().into_owned();
            let from = standard.shape().to_vec();
            standard
                .into_shape_with_order(IxDyn(shape))
                .map(T::wrap)
                .map_err(|_| Error::ShapeMismatch { op: "reshape", left: from, right: shape.to_vec() })
        })
    }

    /// Repeats size-1 axes to `shape` (NumPy broadcasting, after leading axes are added).
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Block, Error> {
        with_block!(self, a, T => match a.broadcast(IxDyn(shape)) {
            Some(view) => Ok(T::wrap(view.to_owned())),
            None => Err(Error::ShapeMismatch { op: "broadcast", left: a.shape().to_vec(), right: shape.to_vec() }),
        })
    }

    /// Concatenates blocks along `axis` (all of one dtype).
    pub fn concatenate(axis: usize, blocks: &[Block]) -> Result<Block, Error> {
        let Some(first) = blocks.first() else {
            return Err(Error::Empty { op: "concatenate" });
        };
        let dtype = first.dtype();
        with_dtype!(dtype, T => {
            let typed: Vec<ArrayD<T>> = blocks.iter().map(|b| b.clone().into_typed::<T>()).collect();
            let views: Vec<_> = typed.iter().map(|a| a.view()).collect();
            ndarray::concatenate(ndarray::Axis(axis), &views)
                .map(T::wrap)
                .map_err(|_| Error::ShapeMismatch {
                    op: "concatenate",
                    left: first.shape().to_vec(),
                    right: blocks.last().map(|b| b.shape().to_vec()).unwrap_or_default(),
                })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paste_copies_a_part_in_place_and_refuses_one_that_does_not_fit() {
        let mut out = Block::full(DType::F32, &[3, 4], 0.0);
        out.paste(&[1..3, 2..4], &Block::full(DType::F64, &[2, 2], 1.5)).unwrap();
        assert_eq!(out.to_f64().sum(), 6.0);
        assert!(out.paste(&[1..3, 2..4], &Block::full(DType::F64, &[2, 3], 1.0)).is_err());
        assert!(out.paste(&[2..4, 0..2], &Block::full(DType::F64, &[2, 2], 1.0)).is_err());
    }
    use ndarray::array;

    #[test]
    fn casts_slices_and_broadcasts() {
        let b = Block::F64(array![[1.5, -2.5], [3.0, 4.0]].into_dyn());
        assert_eq!(b.cast(DType::I32), Block::I32(array![[1, -2], [3, 4]].into_dyn()));
        assert_eq!(b.slice(&[1..2, 0..2]).shape(), &[1, 2]);
        assert_eq!(b.permuted(&[1, 0]).to_f64()[[0, 1]], 3.0);
        let row = Block::F64(array![[1.0, 2.0]].into_dyn());
        assert_eq!(row.broadcast_to(&[3, 2]).unwrap().shape(), &[3, 2]);
        assert!(row.broadcast_to(&[3, 3]).is_err());
        assert_eq!(b.stride(0, 0, 2, 1).shape(), &[1, 2]);
        assert_eq!(Block::full(DType::U8, &[2], 7.0), Block::U8(array![7u8, 7].into_dyn()));
    }
}
