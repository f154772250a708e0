//! Coordinates: the labels along dimensions. They are held in memory, as xarray holds its
//! indexes: they are small next to the data, and every selection by label reads them.

use ndarray::{ArrayD, Axis, IxDyn};

use super::time::{Calendar, DateTime, MICROS};
use super::Attrs;
use crate::error::Error;

/// A coordinate's values, of one of the kinds labels come in.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// Numbers (NaN allowed).
    F64(ArrayD<f64>),
    /// Integers.
    I64(ArrayD<i64>),
    /// Instants as microseconds since 1970-01-01 in `calendar`; `i64::MIN` is "not a time".
    Time(ArrayD<i64>, Calendar),
    /// Text labels (xarray's object or string coordinates).
    Str(ArrayD<String>),
}

/// `i64::MIN`: a time value that is missing (NaT).
pub const NAT: i64 = i64::MIN;

impl Values {
    /// The length of each axis.
    pub fn shape(&self) -> &[usize] {
        match self {
            Values::F64(a) => a.shape(),
            Values::I64(a) => a.shape(),
            Values::Time(a, _) => a.shape(),
            Values::Str(a) => a.shape(),
        }
    }

    /// The number of values.
    pub fn len(&self) -> usize {
        self.shape().iter().product()
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The kind's name, as a dtype would be shown.
    pub fn kind(&self) -> &'static str {
        match self {
            Values::F64(_) => "float64",
            Values::I64(_) => "int64",
            Values::Time(..) => "datetime",
            Values::Str(_) => "object",
        }
    }

    /// 1-D numbers.
    pub fn from_f64(values: Vec<f64>) -> Values {
        let n = values.len();
        Values::F64(ArrayD::from_shape_vec(IxDyn(&[n]), values).unwrap_or_else(|_| ArrayD::zeros(IxDyn(&[0]))))
    }

    /// 1-D integers.
    pub fn from_i64(values: Vec<i64>) -> Values {
        let n = values.len();
        Values::I64(ArrayD::from_shape_vec(IxDyn(&[n]), values).unwrap_or_else(|_| ArrayD::zeros(IxDyn(&[0]))))
    }

    /// 1-D times: instants, microseconds since 1970-01-01 in `calendar` (see
    /// [`DateTime::to_instant`]; [`NAT`] for missing).
    pub fn from_times(instants: Vec<i64>, calendar: Calendar) -> Values {
        let n = instants.len();
        Values::Time(ArrayD::from_shape_vec(IxDyn(&[n]), instants).unwrap_or_else(|_| ArrayD::zeros(IxDyn(&[0]))), calendar)
    }

    /// 1-D text labels.
    pub fn from_strings(values: Vec<String>) -> Values {
        let n = values.len();
        Values::Str(ArrayD::from_shape_vec(IxDyn(&[n]), values).unwrap_or_else(|_| ArrayD::from_elem(IxDyn(&[0]), String::new())))
    }

    /// The values as numbers (times as seconds since 1970, with their fraction; NaN for NaT
    /// and for strings): what weights, tolerances and interpolation targets count in.
    pub fn to_f64(&self) -> ArrayD<f64> {
        match self {
            Values::F64(a) => a.clone(),
            Values::I64(a) => a.mapv(|v| v as f64),
            Values::Time(a, _) => a.mapv(|v| if v == NAT { f64::NAN } else { v as f64 / MICROS as f64 }),
            Values::Str(a) => a.mapv(|_| f64::NAN),
        }
    }

    /// The elements at `indices` along `axis`.
    pub fn take(&self, axis: usize, indices: &[usize]) -> Values {
        match self {
            Values::F64(a) => Values::F64(a.select(Axis(axis), indices)),
            Values::I64(a) => Values::I64(a.select(Axis(axis), indices)),
            Values::Time(a, c) => Values::Time(a.select(Axis(axis), indices), *c),
            Values::Str(a) => Values::Str(a.select(Axis(axis), indices)),
        }
    }

    /// The values with `axis` dropped at `index`.
    pub fn index_axis(&self, axis: usize, index: usize) -> Values {
        match self {
            Values::F64(a) => Values::F64(a.index_axis(Axis(axis), index).to_owned()),
            Values::I64(a) => Values::I64(a.index_axis(Axis(axis), index).to_owned()),
            Values::Time(a, c) => Values::Time(a.index_axis(Axis(axis), index).to_owned(), *c),
            Values::Str(a) => Values::Str(a.index_axis(Axis(axis), index).to_owned()),
        }
    }

    /// The values with their axes reordered (axis `k` is this one's `perm[k]`).
    pub fn permuted(&self, perm: &[usize]) -> Values {
        match self {
            Values::F64(a) => Values::F64(a.clone().permuted_axes(IxDyn(perm)).as_standard_layout().into_owned()),
            Values::I64(a) => Values::I64(a.clone().permuted_axes(IxDyn(perm)).as_standard_layout().into_owned()),
            Values::Time(a, c) => Values::Time(a.clone().permuted_axes(IxDyn(perm)).as_standard_layout().into_owned(), *c),
            Values::Str(a) => Values::Str(a.clone().permuted_axes(IxDyn(perm)).as_standard_layout().into_owned()),
        }
    }

    /// 1-D values joined end to end (all of one kind).
    pub fn concat(parts: &[&Values]) -> Result<Values, Error> {
        let mismatch = || Error::Mismatch { what: "concat".into(), reason: "coordinates of different kinds".into() };
        let Some(first) = parts.first() else { return Ok(Values::from_f64(Vec::new())) };
        Ok(match first {
            Values::F64(_) => Values::from_f64(parts.iter().map(|p| match p { Values::F64(a) => Ok(a.iter().copied().collect::<Vec<_>>()), _ => Err(mismatch()) }).collect::<Result<Vec<_>, _>>()?.concat()),
            Values::I64(_) => Values::from_i64(parts.iter().map(|p| match p { Values::I64(a) => Ok(a.iter().copied().collect::<Vec<_>>()), _ => Err(mismatch()) }).collect::<Result<Vec<_>, _>>()?.concat()),
            Values::Time(_, c) => Values::from_times(parts.iter().map(|p| match p { Values::Time(a, d) if d == c => Ok(a.iter().copied().collect::<Vec<_>>()), _ => Err(mismatch()) }).collect::<Result<Vec<_>, _>>()?.concat(), *c),
            Values::Str(_) => Values::from_strings(parts.iter().map(|p| match p { Values::Str(a) => Ok(a.iter().cloned().collect::<Vec<_>>()), _ => Err(mismatch()) }).collect::<Result<Vec<_>, _>>()?.concat()),
        })
    }

    /// One value as text (times as ISO dates), for reprs and errors.
    pub fn format(&self, i: usize) -> String {
        match self {
            Values::F64(a) => a.iter().nth(i).map(|v| format!("{v}")).unwrap_or_default(),
            Values::I64(a) => a.iter().nth(i).map(|v| v.to_string()).unwrap_or_default(),
            Values::Time(a, c) => a
                .iter()
                .nth(i)
                .map(|&v| if v == NAT { "NaT".to_string() } else { DateTime::from_instant(v, *c).to_string() })
                .unwrap_or_default(),
            Values::Str(a) => a.iter().nth(i).cloned().unwrap_or_default(),
        }
    }

    /// Whether the two hold the same labels (NaN equal to NaN).
    pub fn same_labels(&self, other: &Values) -> bool {
        match (self, other) {
            (Values::F64(a), Values::F64(b)) => a.shape() == b.shape() && a.iter().zip(b).all(|(x, y)| x == y || (x.is_nan() && y.is_nan())),
            _ => self == other,
        }
    }
}

/// A coordinate: values along some dimensions, with attributes. An index coordinate is the
/// one-dimensional coordinate named as its dimension.
#[derive(Debug, Clone, PartialEq)]
pub struct Coordinate {
    /// The dimensions the values run along, one per axis of `values`.
    pub dims: Vec<String>,
    /// The labels.
    pub values: Values,
    /// Attributes (`units`, `long_name`, ...).
    pub attrs: Attrs,
}

impl Coordinate {
    /// A coordinate of `values` along `dims`, without attributes. Not checked here: the
    /// array or dataset it is added to checks the dimensions and lengths.
    pub fn new(dims: &[&str], values: Values) -> Coordinate {
        Coordinate { dims: dims.iter().map(|d| d.to_string()).collect(), values, attrs: Attrs::new() }
    }

    /// The coordinate with `attrs` as its attributes.
    pub fn with_attrs(mut self, attrs: Attrs) -> Coordinate {
        self.attrs = attrs;
        self
    }

    /// The coordinate after selecting `indices` along `dim` (or dropping it at one index).
    pub fn select(&self, dim: &str, indices: &[usize], drop: bool) -> Coordinate {
        let Some(axis) = self.dims.iter().position(|d| d == dim) else { return self.clone() };
        if drop {
            let mut dims = self.dims.clone();
            dims.remove(axis);
            Coordinate { dims, values: self.values.index_axis(axis, indices[0]), attrs: self.attrs.clone() }
        } else {
            Coordinate { dims: self.dims.clone(), values: self.values.take(axis, indices), attrs: self.attrs.clone() }
        }
    }
}

/// Which way a 1-D index runs, if it runs one way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Monotonic {
    /// Each value at least the one before (also: fewer than two values).
    Increasing,
    /// Each value at most the one before.
    Decreasing,
    /// Neither (or a NaN among the values).
    No,
}

/// Which way `keys` run (ties allowed), as label slicing and interpolation need to know.
pub fn monotonic(keys: &[f64]) -> Monotonic {
    if keys.windows(2).all(|w| w[0] <= w[1]) {
        Monotonic::Increasing
    } else if keys.windows(2).all(|w| w[0] >= w[1]) {
        Monotonic::Decreasing
    } else {
        Monotonic::No
    }
}
