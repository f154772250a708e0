//! Line plots of 1-D DataArrays, as xarray draws them: x from the dimension's coordinate
//! (dates on a time axis), y labelled "long_name [units]", gaps where values are missing.
//! Drawn by plotters twice, into pixels (PNG) and into SVG, from one drawing routine.

use plotters::coord::Shift;
use plotters::prelude::*;
use strata::labeled::{Calendar, DataArray, DateTime, Values};

use super::colormap::Rgb;
use super::draw::{color, ensure_font, FAMILY};
use super::figure::Figure;
use super::{label_of, PlotError};

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

/// What is drawn, as plain data.
struct Series {
    x: Vec<f64>,
    y: Vec<f64>,
    /// The calendar when x is time (x then holds fractional years).
    calendar: Option<Calendar>,
    x_label: String,
    y_label: String,
    title: String,
    color: Rgb,
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

    fn series(&self) -> Result<Series, PlotError> {
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

    /// Draws the plot.
    pub fn figure(&self) -> Result<Figure, PlotError> {
        ensure_font();
        let series = self.series()?;
        let (w, h) = self.size;
        let mut rgb = vec![255u8; (w * h * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
            draw(&root, &series)?;
            root.present().map_err(|e| PlotError::Draw(e.to_string()))?;
        }
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
            draw(&root, &series)?;
            root.present().map_err(|e| PlotError::Draw(e.to_string()))?;
        }
        Figure::new(w, h, rgb, Some(svg), series.title)
    }

}

/// A time as a fractional year in its calendar (1997.5 is mid-1997), so that ticks at nice
/// numbers fall on year boundaries.
fn fractional_year(seconds: i64, calendar: Calendar) -> f64 {
    if seconds == strata::labeled::coord::NAT {
        return f64::NAN;
    }
    let dt = DateTime::from_seconds(seconds, calendar);
    let start = DateTime::new(dt.year, 1, 1).to_seconds(calendar);
    let end = DateTime::new(dt.year + 1, 1, 1).to_seconds(calendar);
    dt.year as f64 + (seconds - start) as f64 / (end - start) as f64
}

/// A fractional year as a date label: "1997" on whole years over long spans, else "1997-12".
fn date_label(x: f64, span: f64) -> String {
    let year = x.floor();
    let month = ((x - year) * 12.0 + 1e-6).floor() as u32 + 1;
    if span >= 4.0 || month == 1 && (x - year) < 1e-3 && span >= 2.0 {
        format!("{}", x.round() as i64)
    } else {
        format!("{}-{:02}", year as i64, month.min(12))
    }
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, s: &Series) -> Result<(), PlotError> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| PlotError::Draw(e.to_string());
    root.fill(&WHITE).map_err(err)?;
    let finite_x: Vec<f64> = s.x.iter().copied().filter(|v| v.is_finite()).collect();
    let (x0, x1) = finite_x.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    let (x0, x1) = if x0.is_finite() && x1 > x0 { (x0, x1) } else { (0.0, 1.0) };
    let (y0, y1) = match s.ylim {
        Some(lim) => lim,
        None => {
            let (lo, hi) = s.y.iter().chain(&s.hlines).filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
            if !lo.is_finite() {
                (0.0, 1.0)
            } else if hi > lo {
                let pad = 0.05 * (hi - lo);
                (lo - pad, hi + pad)
            } else {
                (lo - 1.0, hi + 1.0)
            }
        }
    };
    let mut chart = ChartBuilder::on(root)
        .caption(&s.title, (FAMILY, 16))
        .margin(12)
        .x_label_area_size(42)
        .y_label_area_size(64)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    let span = x1 - x0;
    let time = s.calendar.is_some();
    let x_fmt = |x: &f64| if time { date_label(*x, span) } else { super::ticks::label(*x) };
    let y_fmt = |y: &f64| super::ticks::label(*y);
    chart
        .configure_mesh()
        .light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(215, 215, 215))
        .x_desc(&s.x_label)
        .y_desc(&s.y_label)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style((FAMILY, 12))
        .axis_desc_style((FAMILY, 13))
        .x_labels(8)
        .y_labels(6)
        .draw()
        .map_err(err)?;
    for &h in &s.hlines {
        let dashes = (0..40).map(|k| {
            let a = x0 + span * k as f64 / 40.0;
            vec![(a, h), (a + span / 80.0, h)]
        });
        for d in dashes {
            chart.draw_series(std::iter::once(PathElement::new(d, RGBColor(120, 120, 120)))).map_err(err)?;
        }
    }
    // One path per run of finite values: a missing value leaves a gap, as in xarray.
    let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    for (&x, &y) in s.x.iter().zip(&s.y) {
        if x.is_finite() && y.is_finite() {
            if let Some(run) = runs.last_mut() {
                run.push((x, y));
            }
        } else if runs.last().is_some_and(|r| !r.is_empty()) {
            runs.push(Vec::new());
        }
    }
    let style = color(s.color).stroke_width(2);
    for run in runs.into_iter().filter(|r| !r.is_empty()) {
        if run.len() == 1 {
            chart.draw_series(std::iter::once(Circle::new(run[0], 2, style.filled()))).map_err(err)?;
        } else {
            chart.draw_series(LineSeries::new(run, style)).map_err(err)?;
        }
    }
    Ok(())
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractional_years_and_their_labels() {
        let s = DateTime::new(1997, 7, 2).to_seconds(Calendar::Standard);
        let x = fractional_year(s, Calendar::Standard);
        assert!((x - 1997.5).abs() < 0.01, "{x}");
        assert_eq!(date_label(1990.0, 30.0), "1990");
        assert_eq!(date_label(1997.92, 1.0), "1997-12");
        let x360 = fractional_year(DateTime::new(2000, 7, 1).to_seconds(Calendar::Day360), Calendar::Day360);
        assert!((x360 - 2000.5).abs() < 1e-9, "{x360}");
    }
}
