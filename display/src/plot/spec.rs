//! A figure as data: what a plot computed (a field on its grid, a series) and how it is
//! styled, for a renderer to draw. Plots build these in the cell process; strata-render,
//! loaded with the executor, turns them into pixels, so cells never compile a plotting
//! library.

use strata::labeled::Calendar;

use super::color::Rgb;
use super::grid::Grid;
use super::map::{Extend, Fill};
use super::norm::Norm;
use super::projection::Projection;

/// A figure to draw.
#[derive(Debug, Clone)]
pub enum FigureSpec {
    Map(MapSpec),
    Line(LineSpec),
}

/// A map: the field on its (lat, lon) grid, in the projection it is drawn in, with styling.
#[derive(Debug, Clone)]
pub struct MapSpec {
    pub grid: Grid,
    pub projection: Projection,
    pub fill: Fill,
    /// Contour lines at these levels (empty: levels chosen from the data).
    pub lines: Option<Vec<f64>>,
    /// Whether contour lines carry their values.
    pub labels: bool,
    pub line_color: Rgb,
    /// A colormap by matplotlib's name; `None`: viridis, or RdBu_r for data around zero.
    pub cmap: Option<String>,
    pub norm: Option<Norm>,
    /// The color limits of a pcolormesh.
    pub limits: Option<(f64, f64)>,
    pub extend: Extend,
    /// Land filled with this color, over the field.
    pub land: Option<Rgb>,
    pub coastlines: bool,
    pub title: String,
    /// The variable's name, for errors.
    pub name: String,
    /// The colorbar's label.
    pub units: Option<String>,
    /// The image width in pixels; the height follows the map's shape.
    pub width: u32,
    pub colorbar: bool,
}

/// A line plot: one series and its image size.
#[derive(Debug, Clone)]
pub struct LineSpec {
    pub series: Series,
    pub width: u32,
    pub height: u32,
}

/// What a line plot draws.
#[derive(Debug, Clone)]
pub struct Series {
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    /// The calendar when x is time (x then holds fractional years).
    pub calendar: Option<Calendar>,
    pub x_label: String,
    pub y_label: String,
    pub title: String,
    pub color: Rgb,
    /// Dashed horizontal reference lines.
    pub hlines: Vec<f64>,
    pub ylim: Option<(f64, f64)>,
}
