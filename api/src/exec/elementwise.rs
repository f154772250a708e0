//! Element-wise kernels on blocks: arithmetic and comparisons with type promotion, unary math.

use ndarray::{ArrayD, Zip};

use crate::array::{Block, DType};
use crate::error::Error;
use crate::plan::{BinaryOp, UnaryOp};

/// Arithmetic that never panics: integers wrap on overflow and give 0 on division by zero
/// (NumPy's results, without its warnings).
trait Arith: Copy + PartialOrd {
    fn arith(op: BinaryOp, a: Self, b: Self) -> Self;
}

macro_rules! int_arith {
    ($($t:ty),*) => {$(
        impl Arith for $t {
            fn arith(op: BinaryOp, a: Self, b: Self) -> Self {
                match op {
                    BinaryOp::Add => a.wrapping_add(b),
                    BinaryOp::Sub => a.wrapping_sub(b),
                    BinaryOp::Mul => a.wrapping_mul(b),
                    BinaryOp::Div => a.checked_div(b).unwrap_or(0),
                    BinaryOp::Rem => a.checked_rem(b).unwrap_or(0),
                    BinaryOp::Pow => u32::try_from(b).map_or(0, |e| a.wrapping_pow(e)),
                    BinaryOp::Min => if b < a { b } else { a },
                    BinaryOp::Max => if b > a { b } else { a },
                    _ => a,
                }
            }
        }
    )*};
}
int_arith!(i8, i16, i32, i64, u8, u16, u32, u64);

macro_rules! float_arith {
    ($($t:ty),*) => {$(
        impl Arith for $t {
            fn arith(op: BinaryOp, a: Self, b: Self) -> Self {
                match op {
                    BinaryOp::Add => a + b,
                    BinaryOp::Sub => a - b,
                    BinaryOp::Mul => a * b,
                    BinaryOp::Div => a / b,
                    BinaryOp::Rem => a % b,
                    BinaryOp::Pow => a.powf(b),
                    // NaN wins, as in NumPy's minimum/maximum.
                    BinaryOp::Min => if a.is_nan() || b.is_nan() { <$t>::NAN } else { a.min(b) },
                    BinaryOp::Max => if a.is_nan() || b.is_nan() { <$t>::NAN } else { a.max(b) },
                    _ => a,
                }
            }
        }
    )*};
}
float_arith!(f32, f64);

/// `f` over two arrays broadcast to `shape` (NumPy rules; neither is copied to broadcast).
fn zip_map<A: Copy, B>(shape: &[usize], a: &ArrayD<A>, b: &ArrayD<A>, f: impl Fn(A, A) -> B) -> Result<ArrayD<B>, Error> {
    fn broadcast<'a, A>(x: &'a ArrayD<A>, shape: &[usize]) -> Result<ndarray::ArrayViewD<'a, A>, Error> {
        x.broadcast(ndarray::IxDyn(shape))
            .ok_or_else(|| Error::ShapeMismatch { op: "broadcast", left: x.shape().to_vec(), right: shape.to_vec() })
    }
    let (va, vb) = (broadcast(a, shape)?, broadcast(b, shape)?);
    Ok(Zip::from(&va).and(&vb).map_collect(|&x, &y| f(x, y)))
}

/// `op` on two blocks broadcast to `shape`, computing in `dtype`.
pub fn binary(op: BinaryOp, a: Block, b: Block, shape: &[usize], dtype: DType) -> Result<Block, Error> {
    if matches!(op, BinaryOp::And | BinaryOp::Or) {
        let (Block::Bool(x), Block::Bool(y)) = (a.into_dtype(DType::Bool), b.into_dtype(DType::Bool)) else {
            return Err(Error::UnsupportedDType { op: "logical", dtype });
        };
        let and = op == BinaryOp::And;
        return Ok(Block::Bool(zip_map(shape, &x, &y, |p, q| if and { p && q } else { p || q })?));
    }
    let (a, b) = (a.into_dtype(dtype), b.into_dtype(dtype));
    // Arithmetic into the left operand's own buffer when it already has the result's shape:
    // a chain like `x + y - z` then allocates nothing per step.
    if !op.is_comparison() && a.shape() == shape {
        macro_rules! in_place {
            ($($v:ident),*) => {
                match (a, b) {
                    $( (Block::$v(mut x), Block::$v(y)) => {
                        let y = y.broadcast(ndarray::IxDyn(shape)).ok_or_else(|| Error::ShapeMismatch {
                            op: "broadcast", left: y.shape().to_vec(), right: shape.to_vec(),
                        })?;
                        Zip::from(&mut x).and(&y).for_each(|p, &q| *p = Arith::arith(op, *p, q));
                        return Ok(Block::$v(x));
                    } )*
                    _ => return Err(Error::UnsupportedDType { op: "arithmetic", dtype }),
                }
            };
        }
        in_place!(I8, I16, I32, I64, U8, U16, U32, U64, F32, F64);
    }
    macro_rules! go {
        ($($v:ident),*) => {
            match (&a, &b) {
                $( (Block::$v(x), Block::$v(y)) => Ok(if op.is_comparison() {
                    Block::Bool(zip_map(shape, x, y, |p, q| compare(op, p, q))?)
                } else {
                    Block::$v(zip_map(shape, x, y, |p, q| Arith::arith(op, p, q))?)
                }), )*
                (Block::Bool(x), Block::Bool(y)) if op.is_comparison() => Ok(Block::Bool(zip_map(shape, x, y, |p, q| compare(op, p, q))?)),
                _ => Err(Error::UnsupportedDType { op: "arithmetic", dtype }),
            }
        };
    }
    go!(I8, I16, I32, I64, U8, U16, U32, U64, F32, F64)
}

fn compare<T: PartialOrd>(op: BinaryOp, a: T, b: T) -> bool {
    match op {
        BinaryOp::Eq => a == b,
        BinaryOp::Ne => a != b,
        BinaryOp::Lt => a < b,
        BinaryOp::Le => a <= b,
        BinaryOp::Gt => a > b,
        BinaryOp::Ge => a >= b,
        _ => false,
    }
}

macro_rules! float_unary {
    ($t:ty, $op:expr, $x:expr) => {{
        let x: $t = $x;
        match $op {
            UnaryOp::Neg => -x,
            UnaryOp::Abs => x.abs(),
            UnaryOp::Sqrt => x.sqrt(),
            UnaryOp::Exp => x.exp(),
            UnaryOp::Ln => x.ln(),
            UnaryOp::Log10 => x.log10(),
            UnaryOp::Sin => x.sin(),
            UnaryOp::Cos => x.cos(),
            UnaryOp::Tan => x.tan(),
            UnaryOp::Tanh => x.tanh(),
            UnaryOp::Floor => x.floor(),
            UnaryOp::Ceil => x.ceil(),
            // NumPy rounds half to even.
            UnaryOp::Round => x.round_ties_even(),
            _ => x,
        }
    }};
}

/// `op` on each element of `input`, in the type [`crate::plan::build::unary_dtype`] gives;
/// an error for math on bool.
pub fn unary(op: UnaryOp, input: Block) -> Result<Block, Error> {
    let out = crate::plan::build::unary_dtype(op, input.dtype());
    match op {
        UnaryOp::IsNan => return Ok(Block::Bool(match &input {
            Block::F32(a) => a.mapv(f32::is_nan),
            Block::F64(a) => a.mapv(f64::is_nan),
            other => ArrayD::from_elem(other.shape(), false),
        })),
        UnaryOp::IsFinite => return Ok(Block::Bool(match &input {
            Block::F32(a) => a.mapv(f32::is_finite),
            Block::F64(a) => a.mapv(f64::is_finite),
            other => ArrayD::from_elem(other.shape(), true),
        })),
        UnaryOp::Not => return match input.into_dtype(DType::Bool) {
            Block::Bool(a) => Ok(Block::Bool(a.mapv(|v| !v))),
            other => Err(Error::UnsupportedDType { op: "not", dtype: other.dtype() }),
        },
        _ => {}
    }
    let x = input.into_dtype(out);
    Ok(match x {
        Block::F32(a) => Block::F32(a.mapv(|v| float_unary!(f32, op, v))),
        Block::F64(a) => Block::F64(a.mapv(|v| float_unary!(f64, op, v))),
        Block::I8(a) => Block::I8(a.mapv(|v| int_unary(op, v as i64) as i8)),
        Block::I16(a) => Block::I16(a.mapv(|v| int_unary(op, v as i64) as i16)),
        Block::I32(a) => Block::I32(a.mapv(|v| int_unary(op, v as i64) as i32)),
        Block::I64(a) => Block::I64(a.mapv(|v| int_unary(op, v))),
        Block::U8(a) => Block::U8(a.mapv(|v| if op == UnaryOp::Neg { v.wrapping_neg() } else { v })),
        Block::U16(a) => Block::U16(a.mapv(|v| if op == UnaryOp::Neg { v.wrapping_neg() } else { v })),
        Block::U32(a) => Block::U32(a.mapv(|v| if op == UnaryOp::Neg { v.wrapping_neg() } else { v })),
        Block::U64(a) => Block::U64(a.mapv(|v| if op == UnaryOp::Neg { v.wrapping_neg() } else { v })),
        Block::Bool(_) => return Err(Error::UnsupportedDType { op: "unary math", dtype: DType::Bool }),
    })
}

fn int_unary(op: UnaryOp, v: i64) -> i64 {
    match op {
        UnaryOp::Neg => v.wrapping_neg(),
        UnaryOp::Abs => v.wrapping_abs(),
        _ => v,
    }
}

/// `cond ? then : otherwise`, element-wise, broadcast to `shape`, in `dtype`.
pub fn select(cond: Block, then: Block, otherwise: Block, shape: &[usize], dtype: DType) -> Result<Block, Error> {
    let cond = cond.into_dtype(DType::Bool).broadcast_to(shape)?;
    let Block::Bool(c) = cond else {
        return Err(Error::UnsupportedDType { op: "where", dtype });
    };
    let (t, o) = (then.into_dtype(dtype).broadcast_to(shape)?, otherwise.into_dtype(dtype).broadcast_to(shape)?);
    Ok(crate::with_block!(&t, ta, T => {
        let oa = o.clone().into_typed::<T>();
        <T as crate::array::BlockElement>::wrap(Zip::from(&c).and(ta).and(&oa).map_collect(|&k, &x, &y| if k { x } else { y }))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn integer_arithmetic_never_panics() {
        let a = Block::I32(array![1, i32::MAX, 7].into_dyn());
        let b = Block::I32(array![0, 1, 2].into_dyn());
        let op = |op, a: &Block, b: &Block| binary(op, a.clone(), b.clone(), &[3], DType::I32).unwrap();
        assert_eq!(op(BinaryOp::Div, &a, &b), Block::I32(array![0, i32::MAX, 3].into_dyn()));
        assert_eq!(op(BinaryOp::Add, &a, &b), Block::I32(array![1, i32::MIN, 9].into_dyn()));
        assert_eq!(op(BinaryOp::Rem, &a, &b), Block::I32(array![0, 0, 1].into_dyn()));
    }

    #[test]
    fn comparisons_and_math() {
        let a = Block::F64(array![1.0, f64::NAN, 4.0].into_dyn());
        let b = Block::F64(array![2.0, 2.0, 2.0].into_dyn());
        assert_eq!(binary(BinaryOp::Lt, a.clone(), b.clone(), &[3], DType::F64).unwrap(), Block::Bool(array![true, false, false].into_dyn()));
        assert_eq!(unary(UnaryOp::Sqrt, Block::I32(array![4, 9].into_dyn())).unwrap(), Block::F64(array![2.0, 3.0].into_dyn()));
        assert_eq!(unary(UnaryOp::IsNan, a.clone()).unwrap(), Block::Bool(array![false, true, false].into_dyn()));
        assert_eq!(unary(UnaryOp::Round, Block::F64(array![0.5, 1.5, 2.5].into_dyn())).unwrap(), Block::F64(array![0.0, 2.0, 2.0].into_dyn()));
        let max = binary(BinaryOp::Max, a, b, &[3], DType::F64).unwrap().to_f64();
        assert!(max[1].is_nan() && max[2] == 4.0);
    }
}
