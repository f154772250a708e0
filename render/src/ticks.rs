//! Tick positions at "nice" numbers (1, 2, 2.5, 5 times a power of ten) and their labels,
//! as matplotlib's MaxNLocator chooses them, for axes, colorbars and default contour levels.

/// About `target` nice values covering `lo..=hi`, each within the range.
pub(crate) fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) {
        return Vec::new();
    }
    if hi <= lo {
        return vec![lo];
    }
    let step = nice_step((hi - lo) / target.max(1) as f64);
    let first = (lo / step).ceil();
    let last = (hi / step).floor();
    (first as i64..=last as i64).map(|k| clean(k as f64 * step)).collect()
}

/// Levels covering `lo..=hi` at a nice step, the outer ones at or beyond the data (for
/// default contour levels).
pub(crate) fn nice_levels(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) {
        return Vec::new();
    }
    if hi <= lo {
        return vec![lo - 0.5, lo + 0.5];
    }
    let step = nice_step((hi - lo) / target.max(1) as f64);
    let first = (lo / step).floor();
    let last = (hi / step).ceil();
    (first as i64..=last as i64).map(|k| clean(k as f64 * step)).collect()
}

/// About `target` ticks over `lo..=hi` degrees, at steps a map reader expects (1, 2, 5, 10,
/// 15, 20, 30, 45, 60, 90 degrees, or decimals of a degree for small regions).
pub(crate) fn degree_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return Vec::new();
    }
    let raw = (hi - lo) / target.max(1) as f64;
    let step = if raw < 1.0 { nice_step(raw) } else { [1.0, 2.0, 5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0].into_iter().find(|&s| s >= raw).unwrap_or(90.0) };
    let first = (lo / step).ceil();
    let last = (hi / step).floor();
    (first as i64..=last as i64).map(|k| clean(k as f64 * step)).collect()
}

fn nice_step(raw: f64) -> f64 {
    let magnitude = 10f64.powf(raw.log10().floor());
    let f = raw / magnitude;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 2.5 {
        2.5
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

/// Rounds away binary noise such as 0.30000000000000004.
fn clean(v: f64) -> f64 {
    let r = (v * 1e9).round() / 1e9;
    if r == 0.0 {
        0.0
    } else {
        r
    }
}

/// A number as a short label: no trailing zeros, at most 4 decimals, exponent when huge.
pub(crate) fn label(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if v.abs() >= 1e6 || v.abs() < 1e-4 {
        return format!("{v:.2e}");
    }
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_nice_and_inside() {
        assert_eq!(nice_ticks(0.0, 10.0, 5), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(nice_ticks(-1.3, 2.7, 4), vec![-1.0, 0.0, 1.0, 2.0]);
        assert_eq!(nice_levels(0.3, 9.2, 9), vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]);
        assert_eq!(degree_ticks(-180.0, 180.0, 6), vec![-180.0, -120.0, -60.0, 0.0, 60.0, 120.0, 180.0]);
        assert_eq!(degree_ticks(-90.0, 90.0, 5), vec![-90.0, -45.0, 0.0, 45.0, 90.0]);
        assert_eq!(label(0.30000000000000004), "0.3");
        assert_eq!(label(60.0), "60");
        assert_eq!(label(-2.5), "-2.5");
    }
}
