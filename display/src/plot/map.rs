//! Maps of 2-D (lat, lon) DataArrays being styled: pcolormesh, filled contours between user
//! levels (non-uniform too), contour lines with labels, colormaps and norms, land and
//! coastlines, PlateCarree or Robinson at any central longitude, a colorbar with units, and a
//! title from long_name and units: the Pangeo workshop's cartopy maps.
//!
//! Drawing one computes the field into a [`Grid`] and hands it, with the styling, to the
//! renderer as a [`MapSpec`] (strata-render rasterises and draws it).

use strata::labeled::DataArray;

use super::color::Rgb;
use super::figure::Figure;
use super::grid::Grid;
use super::norm::Norm;
use super::projection::Projection;
use super::spec::{FigureSpec, MapSpec};
use super::{label_of, renderer, PlotError};

/// Whether values beyond the first and last contour levels are colored (with the
/// colormap's ends) or left blank. `Auto`, the default, extends on the sides the data
/// exceeds, as xarray does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extend {
    Auto,
    Neither,
    Min,
    Max,
    Both,
}

/// What fills the map's field.
#[derive(Debug, Clone, PartialEq)]
pub enum Fill {
    /// No filled field: lines, land and coastlines only.
    None,
    /// One colored cell per grid point (pcolormesh).
    Mesh,
    /// Filled contours between these levels.
    Bands(Vec<f64>),
}

/// A map being styled; drawn by [`figure`](Self::figure), `save`, or when it is a cell's
/// value.
#[derive(Clone)]
pub struct MapPlot {
    da: DataArray<f64>,
    fill: Fill,
    lines: Option<Vec<f64>>,
    labels: bool,
    line_color: String,
    cmap: Option<String>,
    norm: Option<Norm>,
    limits: Option<(f64, f64)>,
    extend: Extend,
    projection: Option<Projection>,
    land: Option<String>,
    coastlines: bool,
    title: Option<String>,
    width: u32,
    colorbar: bool,
}

/// The map's window in projected coordinates and in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    /// Projected extent: x0..x1, y0..y1 (y up).
    pub x0: f64,
    pub x1: f64,
    pub y0: f64,
    pub y1: f64,
    /// Pixel box of the map: left, top, width, height.
    pub left: f64,
    pub top: f64,
    pub w: f64,
    pub h: f64,
}

impl Frame {
    /// The pixel (fractional) of projected point (x, y).
    pub fn to_pixel(&self, x: f64, y: f64) -> (f64, f64) {
        (self.left + (x - self.x0) / (self.x1 - self.x0) * self.w, self.top + (self.y1 - y) / (self.y1 - self.y0) * self.h)
    }

    /// The pixel showing (lon, lat), if the map shows it.
    pub fn pixel_of(&self, projection: &Projection, lon: f64, lat: f64) -> Option<(u32, u32)> {
        let (x, y) = projection.forward(lon, lat);
        let (px, py) = self.to_pixel(x, y);
        let inside = px >= self.left && px < self.left + self.w && py >= self.top && py < self.top + self.h;
        inside.then_some((px as u32, py as u32))
    }
}

impl MapPlot {
    pub(crate) fn new(da: DataArray<f64>) -> MapPlot {
        MapPlot {
            da,
            fill: Fill::Mesh,
            lines: None,
            labels: true,
            line_color: "black".into(),
            cmap: None,
            norm: None,
            limits: None,
            extend: Extend::Auto,
            projection: None,
            land: None,
            coastlines: true,
            title: None,
            width: 860,
            colorbar: true,
        }
    }

    /// Filled contours between `levels` (ascending, at least two).
    pub fn filled(mut self, levels: &[f64]) -> MapPlot {
        self.fill = Fill::Bands(levels.to_vec());
        self
    }

    /// One colored cell per grid point (the default).
    pub fn mesh(mut self) -> MapPlot {
        self.fill = Fill::Mesh;
        self
    }

    /// No filled field: lines, land and coastlines only.
    pub fn no_fill(mut self) -> MapPlot {
        self.fill = Fill::None;
        self
    }

    /// Contour lines at `levels`, labelled with their values unless `labels(false)`.
    pub fn lines(mut self, levels: &[f64]) -> MapPlot {
        self.lines = Some(levels.to_vec());
        self
    }

    /// Whether contour lines carry their values.
    pub fn labels(mut self, on: bool) -> MapPlot {
        self.labels = on;
        self
    }

    /// The contour lines' color (black unless set).
    pub fn line_color(mut self, color: &str) -> MapPlot {
        self.line_color = color.to_string();
        self
    }

    /// A colormap by matplotlib's name ("viridis", "RdBu", "RdBu_r", ...).
    pub fn cmap(mut self, name: &str) -> MapPlot {
        self.cmap = Some(name.to_string());
        self
    }

    /// How values map to colors, e.g. `Norm::centered(60.0)`, a diverging norm.
    pub fn norm(mut self, norm: Norm) -> MapPlot {
        self.norm = Some(norm);
        self
    }

    /// The color limits (vmin, vmax) of a pcolormesh.
    pub fn limits(mut self, vmin: f64, vmax: f64) -> MapPlot {
        self.limits = Some((vmin, vmax));
        self
    }

    pub fn extend(mut self, extend: Extend) -> MapPlot {
        self.extend = extend;
        self
    }

    pub fn projection(mut self, projection: Projection) -> MapPlot {
        self.projection = Some(projection);
        self
    }

    /// Land filled with a color ("black", "grey", "#rrggbb"), drawn over the field.
    pub fn land(mut self, color: &str) -> MapPlot {
        self.land = Some(color.to_string());
        self
    }

    /// Whether coastlines are drawn (they are unless turned off).
    pub fn coastlines(mut self, on: bool) -> MapPlot {
        self.coastlines = on;
        self
    }

    pub fn title(mut self, title: &str) -> MapPlot {
        self.title = Some(title.to_string());
        self
    }

    /// The image width in pixels (860 unless set); the height follows the map's shape.
    pub fn width(mut self, width: u32) -> MapPlot {
        self.width = width.clamp(200, 4000);
        self
    }

    pub fn colorbar(mut self, on: bool) -> MapPlot {
        self.colorbar = on;
        self
    }

    /// Draws the map: computes the field, then has the renderer draw it.
    pub fn figure(&self) -> Result<Figure, PlotError> {
        renderer()?.render(&FigureSpec::Map(self.spec()?))
    }

    /// The map as data: the computed field on its grid, and the styling.
    pub fn spec(&self) -> Result<MapSpec, PlotError> {
        let (grid, projection) = Grid::from_dataarray(&self.da, self.projection)?;
        let units = self.da.attrs().get("units").and_then(|u| u.as_str()).filter(|u| !u.is_empty()).map(str::to_string);
        Ok(MapSpec {
            grid,
            projection,
            fill: self.fill.clone(),
            lines: self.lines.clone(),
            labels: self.labels,
            line_color: Rgb::parse(&self.line_color)?,
            cmap: self.cmap.clone(),
            norm: self.norm,
            limits: self.limits,
            extend: self.extend,
            land: self.land.as_deref().map(Rgb::parse).transpose()?,
            coastlines: self.coastlines,
            title: self.title.clone().unwrap_or_else(|| label_of(self.da.name(), self.da.attrs())),
            name: self.da.name().unwrap_or("unnamed").to_string(),
            units,
            width: self.width,
            colorbar: self.colorbar,
        })
    }
}
