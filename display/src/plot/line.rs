//! Line plots of 1-D DataArrays, as xarray draws them: x from the dimension's coordinate
//! (dates on a time axis), y labelled "long_name [units]", gaps where values are missing.
//! Drawing one computes the series ([`Series`]) and hands it to the renderer.

use strata::labeled::{Calendar, DataArray, DateTime, Values};

use super::color::Rgb;
use super::figure::Figure;
use super::spec::{FigureSpec, LineSpec, Series};
use super::{label_of, renderer, PlotError};

/// A line plot being styled; drawn by [`figure`](Self::figure), `save`, or when it is a
/// cell's value.
#[derive(Clone)]
pub struct LinePlot {
    da: DataArray<f64>,
    size: (u32, u32),
    title: Option<String>,
    color: String,
    hlines: Vec<f64>,
    ylim: Option<(f64, f64)>,
}

impl LinePlot {
    pub(crate) fn new(da: DataArray<f64>) -> LinePlot {
        LinePlot { da, size: (720, 360), title: None, color: "#1f77b4".into(), hlines: Vec::new(), ylim: None }
    }

    /// The image size in pixels (720 x 360 unless set).
    pub fn size(mut self, width: u32, height: u32) -> LinePlot {
        self.size = (width.max(120), height.max(80));
        self
    }

    pub fn title(mut self, title: &str) -> LinePlot {
        self.title = Some(title.to_string());
        self
    }

    /// The line's color: a name ("black", "red") or "#rrggbb".
    pub fn color(mut self, color: &str) -> LinePlot {
        self.color = color.to_string();
        self
    }

    /// A dashed horizontal reference line at `y` (e.g. an index's thresholds).
    pub fn hline(mut self, y: f64) -> LinePlot {
        self.hlines.push(y);
        self
    }

    /// The y axis's limits (otherwise the data's range, padded).
    pub fn ylim(mut self, lo: f64, hi: f64) -> LinePlot {
        self.ylim = Some((lo, hi));
        self
    }

    /// The plot as data: the computed series and its styling.
    pub fn series(&self) -> Result<Series, PlotError> {
        let da = &self.da;
        let what = || format!("'{}' ({})", da.name().unwrap_or("unnamed"), da.dims().join(", "));
        if da.dims().len() != 1 {
            return Err(PlotError::NotPlottable { what: what(), why: "a line plot needs exactly one dimension".into() });
        }
        let dim = da.dims()[0].clone();
        let y: Vec<f64> = da.values()?.iter().copied().collect();
        let coord = da.index(&dim);
        let (x, calendar) = match coord.map(|c| &c.values) {
            Some(Values::Time(t, cal)) => (t.iter().map(|&s| fractional_year(s, *cal)).collect(), Some(*cal)),
            Some(Values::F64(_)) | Some(Values::I64(_)) => (coord.map(|c| c.values.to_f64().iter().copied().collect()).unwrap_or_default(), None),
            _ => ((0..y.len()).map(|i| i as f64).collect(), None),
        };
        let x_label = match coord {
            Some(c) if calendar.is_none() => label_of(Some(&dim), &c.attrs),
            _ => dim.clone(),
        };
        Ok(Series {
            x,
            y,
            calendar,
            x_label,
            y_label: label_of(da.name(), da.attrs()),
            title: self.title.clone().or_else(|| da.name().map(str::to_string)).unwrap_or_default(),
            color: Rgb::parse(&self.color)?,
            hlines: self.hlines.clone(),
            ylim: self.ylim,
        })
    }

    /// Draws the plot: computes the series, then has the renderer draw it.
    pub fn figure(&self) -> Result<Figure, PlotError> {
        let (width, height) = self.size;
        renderer()?.render(&FigureSpec::Line(LineSpec { series: self.series()?, width, height }))
    }
}

/// A time as a fractional year in its calendar (1997.5 is mid-1997), so that ticks at nice
/// numbers fall on year boundaries.
fn fractional_year(instant: i64, calendar: Calendar) -> f64 {
    if instant == strata::labeled::coord::NAT {
        return f64::NAN;
    }
    let dt = DateTime::from_instant(instant, calendar);
    let start = DateTime::new(dt.year, 1, 1).to_instant(calendar);
    let end = DateTime::new(dt.year + 1, 1, 1).to_instant(calendar);
    dt.year as f64 + (instant - start) as f64 / (end - start) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractional_years() {
        let s = DateTime::new(1997, 7, 2).to_instant(Calendar::Standard);
        let x = fractional_year(s, Calendar::Standard);
        assert!((x - 1997.5).abs() < 0.01, "{x}");
        let x360 = fractional_year(DateTime::new(2000, 7, 1).to_instant(Calendar::Day360), Calendar::Day360);
        assert!((x360 - 2000.5).abs() < 1e-9, "{x360}");
    }
}
