//! What the figures share: the vendored font (registered once with plotters, so text looks
//! the same on every machine), plotters' colors from ours, and line clipping to a box.

use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::{DrawingArea, DrawingAreaErrorKind, DrawingBackend, PathElement};
use plotters::style::{FontStyle, RGBColor, ShapeStyle};

use strata_display::plot::Rgb;

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// The family every figure's text uses.
pub(crate) const FAMILY: &str = "sans-serif";

/// Registers the font with plotters' text renderer (once per process).
pub(crate) fn ensure_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for style in [FontStyle::Normal, FontStyle::Bold, FontStyle::Italic, FontStyle::Oblique] {
            // The font is compiled in and known to parse; a failure would only lose text.
            let _ = plotters::style::register_font(FAMILY, style, FONT);
        }
    });
}

pub(crate) fn color(c: Rgb) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

/// Draws a polyline one segment at a time, each from its left (or upper) end: plotters'
/// bitmap backend draws a 1-pixel horizontal segment running right to left as a dot.
pub(crate) fn polyline<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, points: &[(i32, i32)], style: ShapeStyle) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    for w in points.windows(2) {
        let (a, b) = if (w[1].0, w[1].1) < (w[0].0, w[0].1) { (w[1], w[0]) } else { (w[0], w[1]) };
        root.draw(&PathElement::new(vec![a, b], style))?;
    }
    Ok(())
}

/// A pixel-space box: x0..x1, y0..y1.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bounds {
    pub x0: f64,
    pub y0: f64,
    pub x1: f64,
    pub y1: f64,
}

impl Bounds {
    /// The part of segment a-b inside the box (Liang-Barsky), if any.
    pub(crate) fn clip(&self, a: (f64, f64), b: (f64, f64)) -> Option<((f64, f64), (f64, f64))> {
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let (mut t0, mut t1) = (0.0f64, 1.0f64);
        for (p, q) in [(-dx, a.0 - self.x0), (dx, self.x1 - a.0), (-dy, a.1 - self.y0), (dy, self.y1 - a.1)] {
            if p == 0.0 {
                if q < 0.0 {
                    return None;
                }
            } else {
                let r = q / p;
                if p < 0.0 {
                    t0 = t0.max(r);
                } else {
                    t1 = t1.min(r);
                }
                if t0 > t1 {
                    return None;
                }
            }
        }
        Some(((a.0 + t0 * dx, a.1 + t0 * dy), (a.0 + t1 * dx, a.1 + t1 * dy)))
    }

    /// A polyline cut into the runs that lie inside the box.
    pub(crate) fn clip_path(&self, points: &[(f64, f64)]) -> Vec<Vec<(i32, i32)>> {
        let mut runs: Vec<Vec<(i32, i32)>> = Vec::new();
        let mut current: Vec<(i32, i32)> = Vec::new();
        let px = |p: (f64, f64)| (p.0.round() as i32, p.1.round() as i32);
        for w in points.windows(2) {
            let finite = w.iter().all(|p| p.0.is_finite() && p.1.is_finite());
            match self.clip(w[0], w[1]).filter(|_| finite) {
                Some((a, b)) => {
                    let entered = (a.0 - w[0].0).abs() > 1e-9 || (a.1 - w[0].1).abs() > 1e-9;
                    if entered && !current.is_empty() {
                        runs.push(std::mem::take(&mut current));
                    }
                    if current.is_empty() {
                        current.push(px(a));
                    }
                    current.push(px(b));
                    let left = (b.0 - w[1].0).abs() > 1e-9 || (b.1 - w[1].1).abs() > 1e-9;
                    if left {
                        runs.push(std::mem::take(&mut current));
                    }
                }
                None => {
                    if !current.is_empty() {
                        runs.push(std::mem::take(&mut current));
                    }
                }
            }
        }
        if current.len() > 1 {
            runs.push(current);
        }
        runs.retain(|r| r.len() > 1);
        runs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_keeps_the_inside_runs() {
        let b = Bounds { x0: 0.0, y0: 0.0, x1: 10.0, y1: 10.0 };
        assert_eq!(b.clip((-5.0, 5.0), (5.0, 5.0)), Some(((0.0, 5.0), (5.0, 5.0))));
        assert_eq!(b.clip((-5.0, -5.0), (-1.0, 20.0)), None);
        let runs = b.clip_path(&[(2.0, 2.0), (8.0, 2.0), (15.0, 2.0), (15.0, 8.0), (8.0, 8.0), (2.0, 8.0)]);
        assert_eq!(runs, vec![vec![(2, 2), (8, 2), (10, 2)], vec![(10, 8), (8, 8), (2, 8)]]);
    }
}
