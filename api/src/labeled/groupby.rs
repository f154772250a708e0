//! Split-apply-combine along one dimension: `groupby` over a coordinate or a datetime
//! component, `resample` into time bins, `rolling` windows and `coarsen` blocks.
//!
//! Group reductions are one pass over the data whatever the number of groups (a grouped
//! reduction in the plan, as flox does for xarray), not one selection per group.

use super::coord::{Coordinate, Values, NAT};
use super::dataarray::{concat, DataArray, Dims};
use super::select::Positions;
use super::time::{season, Calendar, DateTime, DAY, MAX_INSTANT, MICROS};
use super::Attrs;
use crate::array::{ChunkSpec, ChunkedArray};
use crate::error::Error;
use crate::plan::{BinaryOp, ReduceOp};

/// Groups of positions along a dimension, from [`DataArray::groupby`] or
/// [`DataArray::resample`].
pub struct GroupBy {
    obj: DataArray<f64>,
    dim: String,
    /// The dimension the reduced result has in place of `dim` ("month", or "time" for resample).
    name: String,
    /// Group of each position along `dim` (`usize::MAX`: none).
    labels: Vec<usize>,
    /// One label per group, in group order.
    groups: Values,
    group_attrs: Attrs,
}

/// What one position's datetime component is.
fn component(instant: i64, calendar: Calendar, part: &str) -> Result<Key, Error> {
    let d = DateTime::from_instant(instant, calendar);
    Ok(match part {
        "year" => Key::I(d.year),
        "month" => Key::I(d.month as i64),
        "day" => Key::I(d.day as i64),
        "hour" => Key::I(d.hour as i64),
        "dayofyear" => Key::I(d.dayofyear(calendar) as i64),
        "season" => Key::S(season(d.month).to_string()),
        other => return Err(Error::UnknownVariable { name: format!("time.{other}"), available: "time.year, time.month, time.day, time.hour, time.dayofyear and time.season".into() }),
    })
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    I(i64),
    S(String),
    /// A float label by its order-preserving bits.
    F(i64),
}

fn float_key(v: f64) -> Key {
    let b = v.to_bits() as i64;
    Key::F(if b < 0 { b ^ i64::MAX } else { b })
}

impl DataArray<f64> {
    /// Groups by a 1-D coordinate (`"region"`) or a datetime component of one
    /// (`"time.month"`, `"time.season"`, `"time.year"`, `"time.dayofyear"`). Groups are in
    /// sorted label order, as xarray's.
    pub fn groupby(&self, key: &str) -> Result<GroupBy, Error> {
        let (coord_name, part) = match key.split_once('.') {
            Some((c, p)) => (c, Some(p)),
            None => (key, None),
        };
        let coord = self.coord(coord_name)?;
        if coord.dims.len() != 1 {
            return Err(Error::Mismatch { what: format!("groupby {key:?}"), reason: "only one-dimensional coordinates can be grouped by".into() });
        }
        let dim = coord.dims[0].clone();
        let keys: Vec<Option<Key>> = match (&coord.values, part) {
            (Values::Time(a, cal), Some(p)) => a.iter().map(|&t| if t == NAT { Ok(None) } else { component(t, *cal, p).map(Some) }).collect::<Result<_, _>>()?,
            (_, Some(p)) => return Err(Error::Mismatch { what: format!("groupby {key:?}"), reason: format!("{coord_name:?} is not a time coordinate, so it has no {p:?}") }),
            (Values::Time(a, _), None) | (Values::I64(a), None) => a.iter().map(|&t| (t != NAT).then_some(Key::I(t))).collect(),
            (Values::F64(a), None) => a.iter().map(|&v| (!v.is_nan()).then(|| float_key(v))).collect(),
            (Values::Str(a), None) => a.iter().map(|s| Some(Key::S(s.clone()))).collect(),
        };
        let mut unique: Vec<Key> = keys.iter().flatten().cloned().collect();
        unique.sort();
        unique.dedup();
        let labels = keys.iter().map(|k| k.as_ref().and_then(|k| unique.binary_search(k).ok()).unwrap_or(usize::MAX)).collect();
        let name = part.unwrap_or(coord_name).to_string();
        let groups = match (&coord.values, part) {
            (_, Some(_)) if matches!(unique.first(), Some(Key::S(_))) => Values::from_strings(unique.iter().map(|k| if let Key::S(s) = k { s.clone() } else { String::new() }).collect()),
            (_, Some(_)) => Values::from_i64(unique.iter().map(|k| if let Key::I(v) = k { *v } else { 0 }).collect()),
            _ => {
                // The coordinate's own values, one per group (the first member's).
                let firsts: Vec<usize> = (0..unique.len()).map(|g| keys.iter().position(|k| k.as_ref() == Some(&unique[g])).unwrap_or(0)).collect();
                coord.values.take(0, &firsts)
            }
        };
        let group_attrs = if part.is_none() { coord.attrs.clone() } else { Attrs::new() };
        Ok(GroupBy { obj: self.clone(), dim, name, labels, groups, group_attrs })
    }

    /// Groups a time dimension into bins of `freq`: `"MS"` (months, labelled by their
    /// first day), `"ME"` (labelled by their last), `"YS"`/`"YE"`, `"QS-DEC"` (seasons from
    /// December; any `QS-<month>`), `"nD"` (n days), `"nh"` (n hours). Empty bins give NaN
    /// means, as pandas' do.
    pub fn resample(&self, dim: &str, freq: &str) -> Result<GroupBy, Error> {
        let index = self.index(dim).ok_or_else(|| Error::LabelNotFound { dim: dim.into(), label: freq.into(), reason: "resample needs a time index".into() })?;
        let Values::Time(times, cal) = &index.values else {
            return Err(Error::Mismatch { what: format!("resample {dim:?}"), reason: "the index is not a time coordinate".into() });
        };
        let cal = *cal;
        let bins = Bins::parse(freq)?;
        let valid: Vec<i64> = times.iter().copied().filter(|&t| t != NAT).collect();
        let (Some(&lo), Some(&hi)) = (valid.iter().min(), valid.iter().max()) else {
            return Err(Error::Mismatch { what: "resample".into(), reason: "the time index has no times".into() });
        };
        let origin = lo - lo.rem_euclid(DAY);
        let (first, last) = (bins.key(lo, cal, origin), bins.key(hi, cal, origin));
        let labels = times.iter().map(|&t| if t == NAT { usize::MAX } else { (bins.key(t, cal, origin) - first) as usize }).collect();
        let starts: Vec<i64> = (first..=last).map(|k| bins.label(k, cal, origin)).collect();
        Ok(GroupBy { obj: self.clone(), dim: dim.to_string(), name: dim.to_string(), labels, groups: Values::from_times(starts, cal), group_attrs: index.attrs.clone() })
    }

    /// Moving windows of `window` positions along `dim`, trailing by default.
    pub fn rolling(&self, dim: &str, window: usize) -> Rolling {
        Rolling { obj: self.clone(), dim: dim.to_string(), window: window.max(1), center: false, min_periods: None }
    }

    /// Blocks of `window` positions along each named dimension, reduced to one.
    pub fn coarsen<S: AsRef<str>>(&self, windows: impl IntoIterator<Item = (S, usize)>) -> Coarsen {
        Coarsen { obj: self.clone(), windows: windows.into_iter().map(|(d, w)| (d.as_ref().to_string(), w.max(1))).collect(), boundary: Boundary::Exact }
    }
}

/// Time bins for `resample`, as a key per instant (consecutive integers for consecutive bins).
enum Bins {
    /// Bins of a fixed length, in microseconds.
    Span(i64),
    Months { step: i64, anchor: i64, end_label: bool },
}

impl Bins {
    fn parse(freq: &str) -> Result<Bins, Error> {
        let bad = || Error::Mismatch { what: format!("resample frequency {freq:?}"), reason: "expected MS, ME, YS, YE, QS-DEC (QS-<MON>), nD or nh".into() };
        let digits: String = freq.chars().take_while(|c| c.is_ascii_digit()).collect();
        let n: i64 = if digits.is_empty() { 1 } else { digits.parse().map_err(|_| bad())? };
        if n == 0 {
            return Err(bad());
        }
        let unit = &freq[digits.len()..];
        const MONTHS: [&str; 12] = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
        // A bin longer than every representable time ("99999999999999D") would overflow the
        // bin arithmetic: it is refused, with the limit named.
        let too_long = || Error::Mismatch { what: format!("resample frequency {freq:?}"), reason: format!("bins longer than {} microseconds (about 146 000 years) are not supported", MAX_INSTANT) };
        let span = |per: i64| n.checked_mul(per).filter(|&s| s <= MAX_INSTANT).map(Bins::Span).ok_or_else(too_long);
        let months = |per: i64, anchor: i64, end_label: bool| {
            n.checked_mul(per).filter(|&m| m <= MAX_INSTANT / (31 * DAY)).map(|step| Bins::Months { step, anchor, end_label }).ok_or_else(too_long)
        };
        match unit {
            "D" => span(DAY),
            "h" | "H" => span(3600 * MICROS),
            "MS" => months(1, 0, false),
            "ME" | "M" => months(1, 0, true),
            "YS" | "AS" => months(12, 0, false),
            "YE" | "Y" | "A" => months(12, 0, true),
            "QS" => months(3, 0, false),
            q if q.starts_with("QS-") => {
                let m = MONTHS.iter().position(|m| *m == &q[3..]).ok_or_else(bad)? as i64;
                months(3, m, false)
            }
            _ => Err(bad()),
        }
    }

    fn key(&self, t: i64, cal: Calendar, origin: i64) -> i64 {
        match *self {
            Bins::Span(s) => (t - origin).div_euclid(s),
            Bins::Months { step, anchor, .. } => {
                let d = DateTime::from_instant(t, cal);
                (d.year * 12 + d.month as i64 - 1 - anchor).div_euclid(step)
            }
        }
    }

    fn label(&self, key: i64, cal: Calendar, origin: i64) -> i64 {
        match *self {
            Bins::Span(s) => origin + key * s,
            Bins::Months { step, anchor, end_label } => {
                let month_index = key * step + anchor + if end_label { step - 1 } else { 0 };
                let (y, m) = (month_index.div_euclid(12), (month_index.rem_euclid(12) + 1) as u32);
                let day = if end_label { cal.days_in_month(y, m) } else { 1 };
                DateTime::new(y, m, day).to_instant(cal)
            }
        }
    }
}

impl GroupBy {
    /// The labels of the groups (months 1..=12, seasons, bin starts).
    pub fn groups(&self) -> &Values {
        &self.groups
    }

    fn grouped(&self, op: ReduceOp, data: &ChunkedArray<f64>, axis: usize) -> ChunkedArray<f64> {
        data.group_reduce(op, axis, self.labels.clone(), self.groups.len(), 0, true)
    }

    fn reduce(&self, op: ReduceOp, dims: impl Dims) -> Result<DataArray<f64>, Error> {
        let names = dims.names(&self.obj.variable.dims);
        if !names.contains(&self.dim) {
            return Err(Error::Mismatch { what: "groupby reduction".into(), reason: format!("the grouped dimension {:?} must be among those reduced ({names:?})", self.dim) });
        }
        let others: Vec<String> = names.into_iter().filter(|d| *d != self.dim).collect();
        let axis = self.obj.axis(&self.dim)?;
        let data = self.obj.data();
        let result = match op {
            // Reduced over other dimensions first, as sums and counts, so NaNs weigh right.
            ReduceOp::Mean if !others.is_empty() => {
                let (s, n) = (self.pre_reduce(&data, &others, ReduceOp::Sum)?, self.pre_reduce(&data, &others, ReduceOp::Count)?);
                let axis = s.1;
                &self.grouped(ReduceOp::Sum, &s.0, axis) / &self.grouped(ReduceOp::Sum, &n.0, axis)
            }
            ReduceOp::Sum | ReduceOp::Min | ReduceOp::Max if !others.is_empty() => {
                let (d, axis) = self.pre_reduce(&data, &others, op)?;
                self.grouped(op, &d, axis)
            }
            ReduceOp::Count => {
                let (d, axis) = self.pre_reduce(&data, &others, ReduceOp::Count)?;
                self.grouped(ReduceOp::Sum, &d, axis)
            }
            _ if !others.is_empty() => return Err(Error::Mismatch { what: "groupby std/var".into(), reason: "reduce over the grouped dimension alone".into() }),
            _ => self.grouped(op, &data, axis),
        };
        let dims: Vec<String> = self.obj.variable.dims.iter().filter(|d| !others.contains(d)).map(|d| if *d == self.dim { self.name.clone() } else { d.clone() }).collect();
        let mut coords: indexmap::IndexMap<String, Coordinate> = self
            .obj
            .coords
            .iter()
            .filter(|(_, c)| !c.dims.iter().any(|d| *d == self.dim || others.contains(d)))
            .map(|(n, c)| (n.clone(), c.clone()))
            .collect();
        coords.insert(self.name.clone(), Coordinate { dims: vec![self.name.clone()], values: self.groups.clone(), attrs: self.group_attrs.clone() });
        Ok(DataArray::from_parts(self.obj.name.clone(), dims, result, coords, Attrs::new()))
    }

    /// `data` reduced over `others` (a sum, count, min or max skipping NaN), and where the
    /// grouped axis then is.
    fn pre_reduce(&self, data: &ChunkedArray<f64>, others: &[String], op: ReduceOp) -> Result<(ChunkedArray<f64>, usize), Error> {
        let axes: Vec<usize> = others.iter().map(|d| self.obj.axis(d)).collect::<Result<_, _>>()?;
        let axis = self.obj.axis(&self.dim)?;
        let axis_after = axis - axes.iter().filter(|&&a| a < axis).count();
        let out = if axes.is_empty() {
            match op {
                ReduceOp::Count => data.notnull().astype::<f64>(),
                _ => data.clone(),
            }
        } else {
            match op {
                ReduceOp::Sum => data.nansum(axes.as_slice()),
                ReduceOp::Count => data.count(axes.as_slice()).astype::<f64>(),
                ReduceOp::Min => data.nanmin(axes.as_slice()),
                _ => data.nanmax(axes.as_slice()),
            }
        };
        Ok((out, axis_after))
    }

    /// The mean of each group, skipping NaN, over `dims`, which must include the grouped
    /// dimension: in the result it is replaced by a dimension of the groups (named for the
    /// key: "month" for `"time.month"`), as xarray's `groupby(...).mean`.
    pub fn mean(&self, dims: impl Dims) -> Result<DataArray<f64>, Error> {
        self.reduce(ReduceOp::Mean, dims)
    }
    /// The sum of each group, skipping NaN, over `dims` (see [`GroupBy::mean`]).
    pub fn sum(&self, dims: impl Dims) -> Result<DataArray<f64>, Error> {
        self.reduce(ReduceOp::Sum, dims)
    }
    /// The standard deviation of each group (ddof 0), skipping NaN; `dims` must be the
    /// grouped dimension alone.
    pub fn std(&self, dims: impl Dims) -> Result<DataArray<f64>, Error> {
        self.reduce(ReduceOp::Std, dims)
    }
    /// The variance of each group (ddof 0), skipping NaN; `dims` must be the grouped
    /// dimension alone.
    pub fn var(&self, dims: impl Dims) -> Result<DataArray<f64>, Error> {
        self.reduce(ReduceOp::Var, dims)
    }
    /// The minimum of each group, skipping NaN, over `dims` (see [`GroupBy::mean`]).
    pub fn min(&self, dims: impl Dims) -> Result<DataArray<f64>, Error> {
        self.reduce(ReduceOp::Min, dims)
    }
    /// The maximum of each group, skipping NaN, over `dims` (see [`GroupBy::mean`]).
    pub fn max(&self, dims: impl Dims) -> Result<DataArray<f64>, Error> {
        self.reduce(ReduceOp::Max, dims)
    }
    /// How many values of each group are not NaN, over `dims` (see [`GroupBy::mean`]).
    pub fn count(&self, dims: impl Dims) -> Result<DataArray<f64>, Error> {
        self.reduce(ReduceOp::Count, dims)
    }

    /// `other` (indexed by the groups, as a groupby reduction gives) spread back over the
    /// grouped dimension: each position gets its group's values.
    pub fn broadcast(&self, other: &DataArray<f64>) -> Result<DataArray<f64>, Error> {
        let gaxis = other.axis(&self.name)?;
        let index = other.index(&self.name).ok_or_else(|| Error::Mismatch { what: "group-wise arithmetic".into(), reason: format!("the other array has no {:?} index", self.name) })?;
        // Position in `other` of each group, then of each position along the grouped dim.
        let of_group: Vec<Option<usize>> = (0..self.groups.len())
            .map(|g| (0..index.values.len()).find(|&j| index.values.format(j) == self.groups.format(g)))
            .collect();
        let mut take = Vec::with_capacity(self.labels.len());
        for (i, &g) in self.labels.iter().enumerate() {
            match of_group.get(g).copied().flatten() {
                Some(j) => take.push(j),
                None => return Err(Error::LabelNotFound { dim: self.name.clone(), label: if g == usize::MAX { "(none)".into() } else { self.groups.format(g) }, reason: format!("position {i} of {:?} belongs to a group the other array has no values for", self.dim) }),
            }
        }
        let data = other.data().take(gaxis, &take);
        let mut dims = other.variable.dims.clone();
        dims[gaxis] = self.dim.clone();
        let mut coords: indexmap::IndexMap<String, Coordinate> = other.coords.iter().filter(|(_, c)| !c.dims.contains(&self.name)).map(|(n, c)| (n.clone(), c.clone())).collect();
        for (n, c) in &self.obj.coords {
            if c.dims == [self.dim.clone()] {
                coords.insert(n.clone(), c.clone());
            }
        }
        Ok(DataArray::from_parts(other.name.clone(), dims, data, coords, Attrs::new()))
    }

    fn arith(&self, op: BinaryOp, other: &DataArray<f64>) -> Result<DataArray<f64>, Error> {
        let spread = self.broadcast(other)?;
        let mut out = self.obj.binary(op, &spread)?;
        out.name = self.obj.name.clone();
        Ok(out)
    }

    /// Group-wise `x - other[group of x]`: anomalies from a climatology.
    pub fn sub(&self, other: &DataArray<f64>) -> Result<DataArray<f64>, Error> {
        self.arith(BinaryOp::Sub, other)
    }
    /// Group-wise `x + other[group of x]`.
    pub fn add(&self, other: &DataArray<f64>) -> Result<DataArray<f64>, Error> {
        self.arith(BinaryOp::Add, other)
    }
    /// Group-wise `x * other[group of x]`.
    pub fn mul(&self, other: &DataArray<f64>) -> Result<DataArray<f64>, Error> {
        self.arith(BinaryOp::Mul, other)
    }
    /// Group-wise `x / other[group of x]`: standardising by a climatology, say.
    pub fn div(&self, other: &DataArray<f64>) -> Result<DataArray<f64>, Error> {
        self.arith(BinaryOp::Div, other)
    }

    /// Applies `f` to each group and combines: results that keep the grouped dimension are put
    /// back in the original order (standardised anomalies, say); results without it are
    /// joined along a new dimension named for the groups.
    pub fn map(&self, f: impl Fn(&DataArray<f64>) -> Result<DataArray<f64>, Error>) -> Result<DataArray<f64>, Error> {
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); self.groups.len()];
        for (i, &g) in self.labels.iter().enumerate() {
            if g < members.len() {
                members[g].push(i);
            }
        }
        let results: Vec<DataArray<f64>> = members.iter().map(|m| f(&self.obj.select_positions(&self.dim, &Positions::Many(m.clone())))).collect::<Result<_, _>>()?;
        if results.iter().all(|r| r.variable.dims.contains(&self.dim)) {
            let joined = concat(&results, &self.dim)?;
            // Back to the original order along the dimension.
            let order: Vec<usize> = members.concat();
            let mut inverse = vec![0; order.len()];
            for (k, &i) in order.iter().enumerate() {
                inverse[i] = k;
            }
            let restore: Vec<usize> = (0..self.labels.len()).filter(|&i| self.labels[i] < members.len()).map(|i| inverse[i]).collect();
            Ok(joined.select_positions(&self.dim, &Positions::Many(restore)))
        } else {
            let mut out = concat(&results, &self.name)?;
            out.coords.insert(self.name.clone(), Coordinate { dims: vec![self.name.clone()], values: self.groups.clone(), attrs: self.group_attrs.clone() });
            Ok(out)
        }
    }
}

/// Moving windows, from [`DataArray::rolling`].
pub struct Rolling {
    obj: DataArray<f64>,
    dim: String,
    window: usize,
    center: bool,
    min_periods: Option<usize>,
}

impl Rolling {
    /// Labels each window at its centre rather than its end.
    pub fn center(mut self, center: bool) -> Rolling {
        self.center = center;
        self
    }

    /// Windows with fewer non-NaN values give NaN (default: the window length).
    pub fn min_periods(mut self, n: usize) -> Rolling {
        self.min_periods = Some(n.max(1));
        self
    }

    /// The windows stacked along a new last axis (NaN beyond the ends), as xarray's
    /// `rolling(...).construct`.
    fn windows(&self) -> Result<(ChunkedArray<f64>, usize), Error> {
        let axis = self.obj.axis(&self.dim)?;
        let shape = self.obj.shape();
        let n = shape[axis];
        let w = self.window;
        let before = if self.center { w / 2 } else { w - 1 };
        let pad = |len: usize| {
            let mut s = shape.clone();
            s[axis] = len;
            crate::array::full(&s, f64::NAN, ChunkSpec::Uniform(usize::MAX))
        };
        let mut parts = Vec::new();
        if before > 0 {
            parts.push(pad(before));
        }
        parts.push(self.obj.data());
        if w - 1 - before > 0 {
            parts.push(pad(w - 1 - before));
        }
        let padded = crate::array::concatenate(&parts, axis);
        let ndim = shape.len();
        let shifted: Vec<ChunkedArray<f64>> = (0..w)
            .map(|k| {
                let mut sel = vec![crate::array::Sel::All; ndim];
                sel[axis] = crate::array::Sel::from(k..k + n);
                padded.isel(&sel)
            })
            .collect();
        Ok((crate::array::stack(&shifted, ndim), ndim))
    }

    fn reduce(&self, f: impl Fn(&ChunkedArray<f64>, usize) -> ChunkedArray<f64>) -> Result<DataArray<f64>, Error> {
        let (stacked, last) = self.windows()?;
        let value = f(&stacked, last);
        let enough = stacked.count(last).ge_scalar(self.min_periods.unwrap_or(self.window) as i64);
        let nan = crate::array::full(&[], f64::NAN, ChunkSpec::Uniform(usize::MAX));
        let mut out = self.obj.with_data(crate::array::where_(&enough, &value, &nan));
        out.variable.attrs = Attrs::new();
        Ok(out)
    }

    /// The mean of each window, skipping NaN (NaN where the window has too few values).
    pub fn mean(&self) -> Result<DataArray<f64>, Error> {
        self.reduce(|s, a| s.nanmean(a))
    }
    /// The sum of each window, skipping NaN (NaN where the window has too few values).
    pub fn sum(&self) -> Result<DataArray<f64>, Error> {
        self.reduce(|s, a| s.nansum(a))
    }
    /// The minimum of each window, skipping NaN (NaN where the window has too few values).
    pub fn min(&self) -> Result<DataArray<f64>, Error> {
        self.reduce(|s, a| s.nanmin(a))
    }
    /// The maximum of each window, skipping NaN (NaN where the window has too few values).
    pub fn max(&self) -> Result<DataArray<f64>, Error> {
        self.reduce(|s, a| s.nanmax(a))
    }
    /// Standard deviation in each window (ddof 0, as xarray's rolling std).
    pub fn std(&self) -> Result<DataArray<f64>, Error> {
        self.reduce(|s, a| s.nanstd(a, 0))
    }
}

/// What `coarsen` does with a dimension whose length is not a multiple of the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boundary {
    /// It is an error (xarray's default, "exact").
    Exact,
    /// The incomplete block at the end is dropped.
    Trim,
    /// The incomplete block at the end is reduced over what it has (padded with NaN).
    Pad,
}

/// Block reductions, from [`DataArray::coarsen`].
pub struct Coarsen {
    obj: DataArray<f64>,
    windows: Vec<(String, usize)>,
    boundary: Boundary,
}

impl Coarsen {
    /// What to do with a dimension whose length is not a multiple of its window (default
    /// [`Boundary::Exact`]).
    pub fn boundary(mut self, boundary: Boundary) -> Coarsen {
        self.boundary = boundary;
        self
    }

    /// Applies a grouped reduction along each coarsened dimension in turn; coordinates become
    /// the mean of each block's labels (xarray's default `coord_func`).
    fn apply(&self, data: &ChunkedArray<f64>, op: ReduceOp) -> Result<(ChunkedArray<f64>, DataArray<f64>), Error> {
        let mut data = data.clone();
        let mut labels_of = self.obj.clone();
        for (dim, w) in &self.windows {
            let axis = self.obj.axis(dim)?;
            let n = self.obj.shape()[axis];
            let full = n / w;
            let ngroups = match self.boundary {
                Boundary::Exact if n % w != 0 => return Err(Error::Mismatch { what: format!("coarsen {dim:?}"), reason: format!("length {n} is not a multiple of the window {w}; use boundary(Trim) or boundary(Pad)") }),
                Boundary::Pad => n.div_ceil(*w),
                _ => full,
            };
            let labels: Vec<usize> = (0..n).map(|i| if i / w < ngroups { i / w } else { usize::MAX }).collect();
            data = data.group_reduce(op, axis, labels.clone(), ngroups, 0, true);
            labels_of = coarsen_coords(&labels_of, dim, &labels, ngroups);
        }
        Ok((data, labels_of))
    }

    fn finish(&self, data: ChunkedArray<f64>, labels: DataArray<f64>) -> DataArray<f64> {
        let mut out = labels.with_data(data);
        out.variable.attrs = Attrs::new();
        out
    }

    /// The mean of each block, skipping NaN.
    pub fn mean(&self) -> Result<DataArray<f64>, Error> {
        let (sum, labels) = self.apply(&self.obj.data(), ReduceOp::Sum)?;
        let (count, _) = self.apply(&self.obj.data().notnull().astype::<f64>(), ReduceOp::Sum)?;
        Ok(self.finish(&sum / &count, labels))
    }
    /// The sum of each block, skipping NaN.
    pub fn sum(&self) -> Result<DataArray<f64>, Error> {
        let (d, l) = self.apply(&self.obj.data(), ReduceOp::Sum)?;
        Ok(self.finish(d, l))
    }
    /// The minimum of each block, skipping NaN.
    pub fn min(&self) -> Result<DataArray<f64>, Error> {
        let (d, l) = self.apply(&self.obj.data(), ReduceOp::Min)?;
        Ok(self.finish(d, l))
    }
    /// The maximum of each block, skipping NaN.
    pub fn max(&self) -> Result<DataArray<f64>, Error> {
        let (d, l) = self.apply(&self.obj.data(), ReduceOp::Max)?;
        Ok(self.finish(d, l))
    }
}

/// `obj`'s coordinates with those along `dim` replaced by their block means.
fn coarsen_coords(obj: &DataArray<f64>, dim: &str, labels: &[usize], ngroups: usize) -> DataArray<f64> {
    let mut out = obj.clone();
    let mut coords = indexmap::IndexMap::new();
    for (name, c) in &obj.coords {
        if !c.dims.iter().any(|d| d == dim) {
            coords.insert(name.clone(), c.clone());
            continue;
        }
        if c.dims.len() != 1 {
            continue;
        }
        let keys: Vec<f64> = c.values.to_f64().iter().copied().collect();
        let (mut sums, mut counts) = (vec![0.0; ngroups], vec![0.0; ngroups]);
        for (i, &g) in labels.iter().enumerate() {
            if g < ngroups {
                sums[g] += keys[i];
                counts[g] += 1.0;
            }
        }
        let means: Vec<f64> = sums.iter().zip(&counts).map(|(s, n)| s / n).collect();
        let values = match &c.values {
            Values::Time(_, cal) => Values::from_times(means.iter().map(|&m| (m * MICROS as f64).round() as i64).collect(), *cal),
            _ => Values::from_f64(means),
        };
        coords.insert(name.clone(), Coordinate { dims: c.dims.clone(), values, attrs: c.attrs.clone() });
    }
    out.coords = coords;
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::array::from_array;
    use ndarray::ArrayD;

    fn da(values: Vec<f64>, dims: &[&str], shape: &[usize]) -> DataArray<f64> {
        DataArray::new(from_array(ArrayD::from_shape_vec(ndarray::IxDyn(shape), values).unwrap(), ChunkSpec::Uniform(4)), dims).unwrap()
    }

    #[test]
    fn resample_refuses_bins_too_long_to_count() {
        let days: Vec<i64> = (0..10).map(|d| d * DAY).collect();
        let a = da((0..10).map(f64::from).collect(), &["time"], &[10])
            .with_coord("time", Coordinate::new(&["time"], Values::from_times(days, Calendar::Standard)))
            .unwrap();
        for freq in ["99999999999999D", "9223372036854775807h", "999999999999999999MS", "99999999999999999999D", "40000000000000YS"] {
            assert!(matches!(a.resample("time", freq), Err(Error::Mismatch { .. })), "{freq}");
        }
        // Long but countable bins are one bin here.
        let one = a.resample("time", "10000000D").unwrap().sum("time").unwrap();
        assert_eq!(one.values().unwrap().into_raw_vec_and_offset().0, vec![45.0]);
        let fives = a.resample("time", "5D").unwrap().sum("time").unwrap();
        assert_eq!(fives.values().unwrap().into_raw_vec_and_offset().0, vec![10.0, 35.0]);
    }
}
