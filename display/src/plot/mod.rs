//! Plots of labeled data, shown inline as PNG (and SVG for line plots), the way xarray's
//! `.plot()` and cartopy maps are:
//!
//! - `.plot()` on a 1-D DataArray: a line plot, labelled from the array's name, long_name and
//!   units, with dates on a time axis;
//! - `.plot()` on a 2-D (lat, lon) DataArray: a map (pcolormesh);
//! - `.contourf(levels)`, `.pcolormesh()`, `.contour(levels)`: map builders with colormaps,
//!   norms (a diverging norm centred on a chosen value), projections (PlateCarree, Robinson),
//!   land and coastlines from Natural Earth, contour labels and a colorbar with units.
//!
//! A plot computes its data here, in the cell, into a figure specification ([`spec`]); the
//! registered [`Renderer`] (strata-render, with plotters) draws it. Maps are rasterised pixel
//! by pixel through the projection's inverse, so filled bands are exact for the bilinear
//! field and a global grid has no seam at its date line.

mod color;
mod figure;
pub mod grid;
mod line;
mod map;
pub mod norm;
pub mod projection;
mod renderer;
pub mod spec;

pub use color::Rgb;
pub use figure::Figure;
pub use grid::Grid;
pub use line::LinePlot;
pub use map::{Extend, Fill, Frame, MapPlot};
pub use norm::Norm;
pub use projection::Projection;
pub use renderer::{register_renderer, renderer, Renderer};
pub use spec::{FigureSpec, LineSpec, MapSpec, Series};

use std::path::PathBuf;

use strata::array::BlockElement;
use strata::labeled::DataArray;

/// What a plot being styled shares once drawn: saving, showing as a cell's value, and
/// `display(plot)` (the figure, or why it could not be drawn). `evcxr_display` must be
/// inherent (see `crate::result`), hence a macro rather than a trait's default methods.
macro_rules! drawn_as_figure {
    ($($plot:ty),*) => {$(
        impl $plot {
            /// Draws it into a PNG or SVG file (by the path's extension).
            pub fn save(&self, path: impl AsRef<std::path::Path>) -> Result<(), PlotError> {
                self.figure()?.save(path)
            }

            /// Called by evcxr on a cell's final value: the figure, or why it was not drawn.
            pub fn evcxr_display(&self) {
                match self.figure() {
                    Ok(f) => f.evcxr_display(),
                    Err(e) => eprintln!("plot failed: {e}"),
                }
            }
        }

        impl crate::output::Render for $plot {
            fn mime_bundle(&self) -> crate::output::MimeBundle {
                match self.figure() {
                    Ok(figure) => figure.mime_bundle(),
                    Err(e) => [("text/plain".to_string(), serde_json::Value::String(format!("plot failed: {e}")))].into_iter().collect(),
                }
            }
        }
    )*};
}

drawn_as_figure!(LinePlot, MapPlot);

/// Why a plot could not be drawn or saved.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("cannot plot {what}: {why}")]
    NotPlottable { what: String, why: String },
    #[error(transparent)]
    Data(#[from] strata::error::Error),
    #[error("unknown colormap '{name}' (known: {known})")]
    UnknownColormap { name: String, known: String },
    #[error("unknown color '{0}' (a name such as 'black', or '#rrggbb')")]
    UnknownColor(String),
    #[error("bad contour levels: {0}")]
    BadLevels(String),
    #[error("bad norm: {0}")]
    BadNorm(String),
    #[error("drawing failed: {0}")]
    Draw(String),
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("cannot save {path}: the file name must end in .png or .svg")]
    Format { path: PathBuf },
    #[error("no figure renderer is loaded in this process (a notebook loads it with the executor; a program links strata-render)")]
    NoRenderer,
}

/// Plotting methods on DataArrays (in every notebook cell's prelude).
pub trait Plot {
    /// xarray's `.plot()`: a line plot of a 1-D array, a map (pcolormesh) of a 2-D one.
    fn plot(&self) -> Result<Figure, PlotError>;
    /// A line plot to style before drawing.
    fn line(&self) -> LinePlot;
    /// A map of filled contours between `levels` (ascending; spacing may vary).
    fn contourf(&self, levels: &[f64]) -> MapPlot;
    /// A map with one colored cell per grid point.
    fn pcolormesh(&self) -> MapPlot;
    /// A map of contour lines at `levels`, labelled.
    fn contour(&self, levels: &[f64]) -> MapPlot;
}

impl<T: BlockElement> Plot for DataArray<T> {
    fn plot(&self) -> Result<Figure, PlotError> {
        match self.dims().len() {
            1 => self.line().figure(),
            2 => self.pcolormesh().figure(),
            n => Err(PlotError::NotPlottable {
                what: format!("a DataArray with {n} dimensions ({})", self.dims().join(", ")),
                why: "plot() draws 1-D arrays as lines and 2-D (lat, lon) arrays as maps; select or reduce the others first (isel, sel, mean)".into(),
            }),
        }
    }

    fn line(&self) -> LinePlot {
        LinePlot::new(self.astype::<f64>())
    }

    fn contourf(&self, levels: &[f64]) -> MapPlot {
        MapPlot::new(self.astype::<f64>()).filled(levels)
    }

    fn pcolormesh(&self) -> MapPlot {
        MapPlot::new(self.astype::<f64>())
    }

    fn contour(&self, levels: &[f64]) -> MapPlot {
        MapPlot::new(self.astype::<f64>()).no_fill().lines(levels)
    }
}

/// The title xarray gives a variable: long_name (else the name), then units in brackets.
pub(crate) fn label_of(name: Option<&str>, attrs: &strata::labeled::Attrs) -> String {
    let text = |k: &str| attrs.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let base = text("long_name").or_else(|| text("standard_name")).or_else(|| name.map(str::to_string)).unwrap_or_default();
    match text("units") {
        Some(u) if !u.is_empty() => format!("{base} [{u}]"),
        _ => base,
    }
}
