//! Selection by label (`sel`): what a user writes for one dimension, and how it is turned
//! into positions along that dimension's index, with pandas' rules (inclusive label slices,
//! partial date strings as periods), except that a slice need not be written in the
//! index's direction.

use std::ops::{RangeFrom, RangeInclusive, RangeToInclusive};

use super::coord::{Coordinate, Values, NAT};
use super::time::{DateTime, Resolution, MICROS};
use crate::error::Error;

/// A label: a number, or text (a date for time indexes, a name for string ones).
#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    /// A number (for numeric indexes).
    Num(f64),
    /// Text: a date (possibly partial, a period) for time indexes, a label for string ones,
    /// or a number written as text.
    Text(String),
}

impl From<f64> for Key {
    fn from(v: f64) -> Key {
        Key::Num(v)
    }
}
impl From<i64> for Key {
    fn from(v: i64) -> Key {
        Key::Num(v as f64)
    }
}
impl From<i32> for Key {
    fn from(v: i32) -> Key {
        Key::Num(v as f64)
    }
}
impl From<&str> for Key {
    fn from(v: &str) -> Key {
        Key::Text(v.to_string())
    }
}
impl From<String> for Key {
    fn from(v: String) -> Key {
        Key::Text(v)
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Key::Num(v) => write!(f, "{v}"),
            Key::Text(t) => write!(f, "{t:?}"),
        }
    }
}

/// What `sel` keeps along one dimension. Built from plain values: `5.0` or `"1997-12-01"`
/// (one label; the dimension is dropped), `-5.0..=5.0` or `"1997-01"..="1998-12"` (a label
/// slice, both ends included; the dimension is kept), `"1997"` (a period, kept), a `Vec` of
/// labels, or [`nearest`] / [`nearest_within`].
#[derive(Debug, Clone, PartialEq)]
pub enum Selector {
    /// One label: the dimension is dropped; a date period keeps every label in it.
    At(Key),
    /// The labels between two ends, both included (`None`: open on that side).
    Slice(Option<Key>, Option<Key>),
    /// The label nearest to `key`.
    Nearest {
        /// The label looked for.
        key: Key,
        /// How far the nearest label may be (index units; seconds for time), or any.
        tolerance: Option<f64>,
    },
    /// Several labels, each matched exactly, in the order given.
    List(Vec<Key>),
}

/// The label nearest to `key` (`method="nearest"`).
pub fn nearest(key: impl Into<Key>) -> Selector {
    Selector::Nearest { key: key.into(), tolerance: None }
}

/// The label nearest to `key`, which must be within `tolerance` of it (in the index's units;
/// seconds for time).
pub fn nearest_within(key: impl Into<Key>, tolerance: f64) -> Selector {
    Selector::Nearest { key: key.into(), tolerance: Some(tolerance) }
}

macro_rules! selector_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Selector {
            fn from(v: $t) -> Selector { Selector::At(v.into()) }
        }
        impl From<RangeInclusive<$t>> for Selector {
            fn from(r: RangeInclusive<$t>) -> Selector {
                let (a, b) = r.into_inner();
                Selector::Slice(Some(a.into()), Some(b.into()))
            }
        }
        impl From<RangeFrom<$t>> for Selector {
            fn from(r: RangeFrom<$t>) -> Selector { Selector::Slice(Some(r.start.into()), None) }
        }
        impl From<RangeToInclusive<$t>> for Selector {
            fn from(r: RangeToInclusive<$t>) -> Selector { Selector::Slice(None, Some(r.end.into())) }
        }
        impl From<Vec<$t>> for Selector {
            fn from(v: Vec<$t>) -> Selector { Selector::List(v.into_iter().map(Into::into).collect()) }
        }
    )*};
}
selector_from!(f64, i64, i32, &str, String);

/// Where a selection lands along one dimension.
#[derive(Debug, Clone, PartialEq)]
pub enum Positions {
    /// One position; the dimension is dropped.
    One(usize),
    /// These positions, in order; the dimension is kept.
    Many(Vec<usize>),
}

/// A label's interval on a numeric key axis: `[lo, hi]`, or `[lo, hi)` for a date period.
struct Span {
    lo: f64,
    hi: f64,
    hi_open: bool,
    /// Given to the second or day, so an exact match is meant.
    exact: bool,
}

fn span(dim: &str, values: &Values, key: &Key) -> Result<Span, Error> {
    let exact = |v: f64| Span { lo: v, hi: v, hi_open: false, exact: true };
    match (values, key) {
        (Values::Time(_, calendar), Key::Text(text)) => {
            let (date, resolution) = DateTime::parse(text)?;
            let date = date.checked(*calendar)?;
            // In seconds, as the index's numbers are (`Values::to_f64`).
            let lo = date.to_instant(*calendar) as f64 / MICROS as f64;
            let hi = date.end_of(resolution, *calendar) as f64 / MICROS as f64;
            Ok(Span { lo, hi, hi_open: true, exact: resolution >= Resolution::Day })
        }
        (Values::Time(..), Key::Num(_)) => Err(Error::LabelNotFound {
            dim: dim.into(),
            label: key.to_string(),
            reason: "a time index is selected by date strings such as \"1997-12-01\"".into(),
        }),
        (Values::Str(_), _) => Err(Error::LabelNotFound { dim: dim.into(), label: key.to_string(), reason: "not a label of this index".into() }),
        (_, Key::Num(v)) => Ok(exact(*v)),
        (_, Key::Text(t)) => t.trim().parse::<f64>().map(exact).map_err(|_| Error::LabelNotFound {
            dim: dim.into(),
            label: key.to_string(),
            reason: "the index holds numbers".into(),
        }),
    }
}

fn inside(v: f64, s: &Span) -> bool {
    v >= s.lo && if s.hi_open { v < s.hi } else { v <= s.hi }
}

/// Resolves `selector` against `index`, the 1-D coordinate of dimension `dim`.
pub fn resolve(dim: &str, index: &Coordinate, selector: &Selector) -> Result<Positions, Error> {
    let not_found = |key: &Key, reason: &str| Error::LabelNotFound { dim: dim.into(), label: key.to_string(), reason: reason.into() };
    if let Values::Str(labels) = &index.values {
        let find = |key: &Key| match key {
            Key::Text(t) => labels.iter().position(|l| l == t).ok_or_else(|| not_found(key, "no such label")),
            Key::Num(_) => Err(not_found(key, "the index holds strings")),
        };
        return match selector {
            Selector::At(key) | Selector::Nearest { key, .. } => find(key).map(Positions::One),
            Selector::List(keys) => keys.iter().map(find).collect::<Result<_, _>>().map(Positions::Many),
            Selector::Slice(a, b) => {
                let start = a.as_ref().map(find).transpose()?.unwrap_or(0);
                let end = b.as_ref().map(find).transpose()?.map_or(labels.len(), |e| e + 1);
                Ok(Positions::Many((start..end.max(start)).collect()))
            }
        };
    }
    let keys: Vec<f64> = index.values.to_f64().iter().copied().collect();
    match selector {
        Selector::At(key) => {
            let s = span(dim, &index.values, key)?;
            let hits: Vec<usize> = (0..keys.len()).filter(|&i| inside(keys[i], &s)).collect();
            match hits.as_slice() {
                [] => Err(not_found(key, "no such label")),
                [one] if s.exact => Ok(Positions::One(*one)),
                _ if s.exact && hits.iter().any(|&i| keys[i] == s.lo) => {
                    Ok(Positions::One(hits.into_iter().find(|&i| keys[i] == s.lo).unwrap_or(0)))
                }
                _ => Ok(Positions::Many(hits)),
            }
        }
        Selector::List(list) => list
            .iter()
            .map(|key| {
                let s = span(dim, &index.values, key)?;
                keys.iter().position(|&v| v == s.lo).ok_or_else(|| not_found(key, "no such label"))
            })
            .collect::<Result<_, _>>()
            .map(Positions::Many),
        Selector::Nearest { key, tolerance } => {
            let s = span(dim, &index.values, key)?;
            let best = (0..keys.len())
                .filter(|&i| !keys[i].is_nan())
                .min_by(|&a, &b| (keys[a] - s.lo).abs().total_cmp(&(keys[b] - s.lo).abs()));
            match best {
                None => Err(not_found(key, "the index is empty")),
                Some(i) => match tolerance {
                    Some(t) if (keys[i] - s.lo).abs() > *t => Err(not_found(key, &format!("the nearest label, {}, is farther than the tolerance {t}", index.values.format(i)))),
                    _ => Ok(Positions::One(i)),
                },
            }
        }
        Selector::Slice(a, b) => {
            let mut lo = a.as_ref().map(|k| span(dim, &index.values, k)).transpose()?;
            let mut hi = b.as_ref().map(|k| span(dim, &index.values, k)).transpose()?;
            // A slice means the labels between its ends, whichever way the index runs and
            // whichever end is written first: `-5.0..=5.0` and `5.0..=-5.0` select the same
            // latitudes of a descending index (where pandas would need the second).
            if let (Some(l), Some(h)) = (&lo, &hi) {
                if l.lo > h.lo {
                    std::mem::swap(&mut lo, &mut hi);
                }
            }
            let above = |v: f64| lo.as_ref().is_none_or(|s| v >= s.lo);
            let below = |v: f64| hi.as_ref().is_none_or(|s| if s.hi_open { v < s.hi } else { v <= s.hi });
            Ok(Positions::Many((0..keys.len()).filter(|&i| above(keys[i]) && below(keys[i])).collect()))
        }
    }
}

/// The positions of 1-D time `values` that are missing (NaT), for masks.
pub fn is_nat(values: &Values) -> Vec<bool> {
    match values {
        Values::Time(a, _) => a.iter().map(|&v| v == NAT).collect(),
        other => other.to_f64().iter().map(|v| v.is_nan()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labeled::time::Calendar;

    fn lat_desc() -> Coordinate {
        Coordinate::new(&["lat"], Values::from_f64(vec![10.0, 5.0, 0.0, -5.0, -10.0]))
    }

    #[test]
    fn slices_select_between_their_ends_in_index_order() {
        let lat = lat_desc();
        assert_eq!(resolve("lat", &lat, &(5.0..=-5.0).into()).unwrap(), Positions::Many(vec![1, 2, 3]));
        assert_eq!(resolve("lat", &lat, &(-5.0..=5.0).into()).unwrap(), Positions::Many(vec![1, 2, 3]));
        assert_eq!(resolve("lat", &lat, &(..=0.0).into()).unwrap(), Positions::Many(vec![2, 3, 4]));
        let up = Coordinate::new(&["lat"], Values::from_f64(vec![-10.0, -5.0, 0.0, 5.0]));
        assert_eq!(resolve("lat", &up, &(-5.0..=5.0).into()).unwrap(), Positions::Many(vec![1, 2, 3]));
    }

    #[test]
    fn labels_nearest_and_errors() {
        let lat = lat_desc();
        assert_eq!(resolve("lat", &lat, &0.0.into()).unwrap(), Positions::One(2));
        assert!(matches!(resolve("lat", &lat, &1.0.into()), Err(Error::LabelNotFound { .. })));
        assert_eq!(resolve("lat", &lat, &nearest(1.0)).unwrap(), Positions::One(2));
        assert!(resolve("lat", &lat, &nearest_within(2.6, 2.0)).is_err());
        assert_eq!(resolve("lat", &lat, &vec![10.0, -10.0].into()).unwrap(), Positions::Many(vec![0, 4]));
    }

    #[test]
    fn partial_date_strings_select_periods() {
        let c = Calendar::Standard;
        let months: Vec<i64> = (1..=24).map(|k| DateTime::new(1997 + (k - 1) / 12, ((k - 1) % 12 + 1) as u32, 15).to_instant(c)).collect();
        let time = Coordinate::new(&["time"], Values::from_times(months, c));
        assert_eq!(resolve("time", &time, &"1997-12".into()).unwrap(), Positions::Many(vec![11]));
        assert_eq!(resolve("time", &time, &"1998".into()).unwrap(), Positions::Many((12..24).collect()));
        assert_eq!(resolve("time", &time, &"1997-12-15".into()).unwrap(), Positions::One(11));
        assert_eq!(resolve("time", &time, &("1997-11"..="1998-01").into()).unwrap(), Positions::Many(vec![10, 11, 12]));
        assert!(resolve("time", &time, &"1999-01".into()).is_err());
        assert!(resolve("time", &time, &"next week".into()).is_err());
        // A day its month does not have is an error, not the 3rd of the next month.
        assert!(matches!(resolve("time", &time, &"1998-02-31".into()), Err(Error::BadDate { .. })));
    }
}
