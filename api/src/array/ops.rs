//! Operators: `&a + &b`, `a - b`, `&a * 2.0`, `-a`, with NumPy broadcasting. The result has
//! the operands' element type; for mixed types convert first with `astype`.

use std::ops::{Add, Div, Mul, Neg, Rem, Sub};

use crate::plan::build::binary_node;
use super::{BlockElement, ChunkedArray};
use crate::plan::{BinaryOp, Node, Op, UnaryOp};

fn combine<T: BlockElement>(op: BinaryOp, a: &ChunkedArray<T>, b: &crate::plan::NodeRef) -> ChunkedArray<T> {
    ChunkedArray::typed(binary_node(op, a.plan(), b))
}

fn scalar<T: BlockElement>(value: T) -> crate::plan::NodeRef {
    Node::new(
        Op::Full { value: value.to_f64() },
        super::ChunkGrid::regular(&[], &[]).expect("0-d grid"),
        T::DTYPE,
    )
}

macro_rules! array_ops {
    ($($trait:ident $method:ident $op:ident),*) => {$(
        impl<T: BlockElement> $trait<&ChunkedArray<T>> for &ChunkedArray<T> {
            type Output = ChunkedArray<T>;
            fn $method(self, rhs: &ChunkedArray<T>) -> ChunkedArray<T> { combine(BinaryOp::$op, self, rhs.plan()) }
        }
        impl<T: BlockElement> $trait<ChunkedArray<T>> for ChunkedArray<T> {
            type Output = ChunkedArray<T>;
            fn $method(self, rhs: ChunkedArray<T>) -> ChunkedArray<T> { combine(BinaryOp::$op, &self, rhs.plan()) }
        }
        impl<T: BlockElement> $trait<&ChunkedArray<T>> for ChunkedArray<T> {
            type Output = ChunkedArray<T>;
            fn $method(self, rhs: &ChunkedArray<T>) -> ChunkedArray<T> { combine(BinaryOp::$op, &self, rhs.plan()) }
        }
        impl<T: BlockElement> $trait<ChunkedArray<T>> for &ChunkedArray<T> {
            type Output = ChunkedArray<T>;
            fn $method(self, rhs: ChunkedArray<T>) -> ChunkedArray<T> { combine(BinaryOp::$op, self, rhs.plan()) }
        }
        impl<T: BlockElement> $trait<T> for &ChunkedArray<T> {
            type Output = ChunkedArray<T>;
            fn $method(self, rhs: T) -> ChunkedArray<T> { combine(BinaryOp::$op, self, &scalar(rhs)) }
        }
        impl<T: BlockElement> $trait<T> for ChunkedArray<T> {
            type Output = ChunkedArray<T>;
            fn $method(self, rhs: T) -> ChunkedArray<T> { combine(BinaryOp::$op, &self, &scalar(rhs)) }
        }
    )*};
}
array_ops!(Add add Add, Sub sub Sub, Mul mul Mul, Div div Div, Rem rem Rem);

/// `2.0 * &x` and friends: the scalar on the left.
macro_rules! scalar_left {
    ($($t:ty),*) => {$(
        impl Add<&ChunkedArray<$t>> for $t { type Output = ChunkedArray<$t>; fn add(self, rhs: &ChunkedArray<$t>) -> ChunkedArray<$t> { rhs + self } }
        impl Mul<&ChunkedArray<$t>> for $t { type Output = ChunkedArray<$t>; fn mul(self, rhs: &ChunkedArray<$t>) -> ChunkedArray<$t> { rhs * self } }
        impl Sub<&ChunkedArray<$t>> for $t {
            type Output = ChunkedArray<$t>;
            fn sub(self, rhs: &ChunkedArray<$t>) -> ChunkedArray<$t> { ChunkedArray::from_node(binary_node(BinaryOp::Sub, &scalar(self), rhs.plan())) }
        }
        impl Div<&ChunkedArray<$t>> for $t {
            type Output = ChunkedArray<$t>;
            fn div(self, rhs: &ChunkedArray<$t>) -> ChunkedArray<$t> { ChunkedArray::from_node(binary_node(BinaryOp::Div, &scalar(self), rhs.plan())) }
        }
    )*};
}
scalar_left!(f32, f64, i8, i16, i32, i64, u8, u16, u32, u64);

impl<T: BlockElement> Neg for &ChunkedArray<T> {
    type Output = ChunkedArray<T>;
    fn neg(self) -> ChunkedArray<T> {
        ChunkedArray::typed(crate::plan::build::unary_node(UnaryOp::Neg, self.plan()))
    }
}

impl<T: BlockElement> Neg for ChunkedArray<T> {
    type Output = ChunkedArray<T>;
    fn neg(self) -> ChunkedArray<T> {
        -&self
    }
}
