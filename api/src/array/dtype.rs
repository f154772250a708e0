//! Element types: the static [`Element`] trait for typed arrays, and the [`DType`] tag that
//! plans and dynamically typed data (from files) carry.

use std::fmt;

/// The element types an array can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    /// `bool` (NumPy's `bool`).
    Bool,
    /// `i8` (`int8`).
    I8,
    /// `i16` (`int16`).
    I16,
    /// `i32` (`int32`).
    I32,
    /// `i64` (`int64`).
    I64,
    /// `u8` (`uint8`).
    U8,
    /// `u16` (`uint16`).
    U16,
    /// `u32` (`uint32`).
    U32,
    /// `u64` (`uint64`).
    U64,
    /// `f32` (`float32`).
    F32,
    /// `f64` (`float64`).
    F64,
}

impl DType {
    /// Bytes per element (NumPy's `itemsize`).
    pub fn size_of(self) -> usize {
        match self {
            DType::Bool | DType::I8 | DType::U8 => 1,
            DType::I16 | DType::U16 => 2,
            DType::I32 | DType::U32 | DType::F32 => 4,
            DType::I64 | DType::U64 | DType::F64 => 8,
        }
    }

    /// Whether this is `F32` or `F64`.
    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F64)
    }

    /// Whether this is one of the signed integer types.
    pub fn is_signed_int(self) -> bool {
        matches!(self, DType::I8 | DType::I16 | DType::I32 | DType::I64)
    }

    /// The integer type of the same width with the given signedness (`_Unsigned` reads
    /// signed storage as unsigned); other types are returned as they are.
    pub fn with_signedness(self, signed: bool) -> DType {
        use DType::*;
        match (self, signed) {
            (I8 | U8, true) => I8,
            (I8 | U8, false) => U8,
            (I16 | U16, true) => I16,
            (I16 | U16, false) => U16,
            (I32 | U32, true) => I32,
            (I32 | U32, false) => U32,
            (I64 | U64, true) => I64,
            (I64 | U64, false) => U64,
            (other, _) => other,
        }
    }

    /// Whether this is one of the unsigned integer types.
    pub fn is_unsigned_int(self) -> bool {
        matches!(self, DType::U8 | DType::U16 | DType::U32 | DType::U64)
    }

    /// The type both operands of an arithmetic operation are converted to, after NumPy's
    /// rules: the wider of two like types; a float with an integer of more than half its
    /// mantissa's width goes to f64; signed with unsigned goes to the next signed width.
    pub fn promote(self, other: DType) -> DType {
        use DType::*;
        if self == other {
            return self;
        }
        let (a, b) = (self, other);
        match (a, b) {
            (Bool, x) | (x, Bool) => x,
            (F64, _) | (_, F64) => F64,
            (F32, x) | (x, F32) => {
                if matches!(x, I8 | I16 | U8 | U16) {
                    F32
                } else {
                    F64
                }
            }
            _ => {
                let signed = a.is_signed_int() || b.is_signed_int();
                let width = a.size_of().max(b.size_of());
                if !signed {
                    return if width == a.size_of() { a } else { b };
                }
                // A signed and an unsigned type of width w need w*2 bits of sign.
                let unsigned_width = [a, b].iter().filter(|t| t.is_unsigned_int()).map(|t| t.size_of()).max().unwrap_or(0);
                let need = if unsigned_width >= width { width * 2 } else { width };
                match need {
                    1 => I8,
                    2 => I16,
                    4 => I32,
                    8 => I64,
                    _ => F64, // u64 with a signed type: NumPy also goes to float64
                }
            }
        }
    }

    /// The type of a reduction's result: sums of small integers widen (as NumPy's do),
    /// means and variances of integers are floats.
    pub fn accumulator(self) -> DType {
        match self {
            DType::Bool | DType::I8 | DType::I16 | DType::I32 | DType::I64 => DType::I64,
            DType::U8 | DType::U16 | DType::U32 | DType::U64 => DType::U64,
            other => other,
        }
    }
}

impl DType {
    /// Every element type, bool first, then signed, unsigned and float by width.
    pub const ALL: [DType; 11] =
        [DType::Bool, DType::I8, DType::I16, DType::I32, DType::I64, DType::U8, DType::U16, DType::U32, DType::U64, DType::F32, DType::F64];

    /// NumPy's name for the type, which is also Zarr v3's.
    pub fn name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::I8 => "int8",
            DType::I16 => "int16",
            DType::I32 => "int32",
            DType::I64 => "int64",
            DType::U8 => "uint8",
            DType::U16 => "uint16",
            DType::U32 => "uint32",
            DType::U64 => "uint64",
            DType::F32 => "float32",
            DType::F64 => "float64",
        }
    }

    /// The type NumPy (and Zarr v3) call `name`.
    pub fn from_name(name: &str) -> Option<DType> {
        DType::ALL.into_iter().find(|d| d.name() == name)
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Written by NumPy's name ("float32"), as Zarr v3 and plans write it.
impl serde::Serialize for DType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for DType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<DType, D::Error> {
        let name = String::deserialize(deserializer)?;
        DType::from_name(&name).ok_or_else(|| serde::de::Error::custom(format!("{name:?} is not a supported element type")))
    }
}

/// A Rust type an array can hold.
pub trait Element: Copy + Send + Sync + PartialOrd + fmt::Debug + Default + 'static {
    /// The tag of this type.
    const DTYPE: DType;
    /// Lossy conversion through f64 (as NumPy's astype): used for casts and reductions.
    fn to_f64(self) -> f64;
    /// Conversion from f64 with Rust's `as` (floats to integers truncate and saturate, NaN
    /// becomes 0; bool is `value != 0`).
    fn from_f64(value: f64) -> Self;
}

macro_rules! numeric_element {
    ($($t:ty => $d:ident),*) => {$(
        impl Element for $t {
            const DTYPE: DType = DType::$d;
            fn to_f64(self) -> f64 { self as f64 }
            fn from_f64(value: f64) -> Self { value as $t }
        }
    )*};
}

numeric_element!(i8 => I8, i16 => I16, i32 => I32, i64 => I64, u8 => U8, u16 => U16, u32 => U32,
                 u64 => U64, f32 => F32, f64 => F64);

impl Element for bool {
    const DTYPE: DType = DType::Bool;
    fn to_f64(self) -> f64 {
        if self { 1.0 } else { 0.0 }
    }
    fn from_f64(value: f64) -> Self {
        value != 0.0
    }
}

#[cfg(test)]
mod tests {
    use super::DType::*;

    #[test]
    fn promotion_follows_numpy() {
        assert_eq!(F32.promote(F32), F32);
        assert_eq!(F32.promote(I16), F32);
        assert_eq!(F32.promote(I32), F64);
        assert_eq!(I32.promote(I64), I64);
        assert_eq!(U8.promote(I8), I16);
        assert_eq!(U32.promote(I32), I64);
        assert_eq!(U64.promote(I64), F64);
        assert_eq!(U8.promote(U32), U32);
        assert_eq!(Bool.promote(U8), U8);
        assert_eq!(I8.accumulator(), I64);
        assert_eq!(F32.accumulator(), F32);
    }
}
