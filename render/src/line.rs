//! Drawing line plots ([`LineSpec`]) with plotters, twice from one routine: into pixels
//! (PNG) and into SVG.

use plotters::coord::Shift;
use plotters::prelude::*;
use strata_display::plot::{Figure, LineSpec, PlotError, Series};

use crate::draw::{color, ensure_font, FAMILY};

/// Draws a line plot.
pub(crate) fn render_line(spec: &LineSpec) -> Result<Figure, PlotError> {
    ensure_font();
    let series = &spec.series;
    let (w, h) = (spec.width, spec.height);
    let mut rgb = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        draw(&root, series)?;
        root.present().map_err(|e| PlotError::Draw(e.to_string()))?;
    }
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        draw(&root, series)?;
        root.present().map_err(|e| PlotError::Draw(e.to_string()))?;
    }
    crate::figure(w, h, rgb, Some(svg), series.title.clone(), None)
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
    let x_fmt = |x: &f64| if time { date_label(*x, span) } else { crate::ticks::label(*x) };
    let y_fmt = |y: &f64| crate::ticks::label(*y);
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
    fn date_labels_are_years_over_long_spans_and_months_over_short_ones() {
        assert_eq!(date_label(1990.0, 30.0), "1990");
        assert_eq!(date_label(1997.92, 1.0), "1997-12");
    }
}
