//! Strata's figure renderer: draws the figure specifications plots build
//! ([`strata_display::plot::spec`]) into pixels with plotters, encoded as PNG, and as SVG for
//! line plots.
//!
//! Kept out of the crates notebook cells compile against (plotters and its font stack would
//! be compiled against on every cell); it is loaded with the executor and registers itself
//! ([`register`]) when loaded.

mod colormap;
mod draw;
mod line;
mod map;
mod ticks;

pub use colormap::Colormap;

use strata_display::plot::{register_renderer, Figure, FigureSpec, Frame, PlotError, Projection, Renderer};

/// Draws maps and line plots.
#[derive(Debug, Default, Clone, Copy)]
pub struct PlotRenderer;

impl Renderer for PlotRenderer {
    fn render(&self, spec: &FigureSpec) -> Result<Figure, PlotError> {
        match spec {
            FigureSpec::Map(map) => map::render_map(map),
            FigureSpec::Line(line) => line::render_line(line),
        }
    }
}

/// Registers [`PlotRenderer`] as the process's renderer, unless one already is.
pub fn register() {
    let _ = register_renderer(Box::new(PlotRenderer));
}

/// Registers the renderer when a program (or the shared library holding this crate) is
/// loaded.
///
/// Safety (ctor's): it runs before `main`, so it only allocates and sets a `OnceLock`.
#[ctor::ctor]
unsafe fn register_at_load() {
    register();
}

/// A drawn figure from its pixels: encodes them as PNG.
pub(crate) fn figure(width: u32, height: u32, rgb: Vec<u8>, svg: Option<String>, title: String, map: Option<(Projection, Frame)>) -> Result<Figure, PlotError> {
    let png = encode_png(width, height, &rgb)?;
    Figure::new(width, height, rgb, png, svg, title, map)
}

fn encode_png(width: u32, height: u32, rgb: &[u8]) -> Result<Vec<u8>, PlotError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header().map_err(|e| PlotError::Draw(format!("PNG header: {e}")))?;
    writer.write_image_data(rgb).map_err(|e| PlotError::Draw(format!("PNG data: {e}")))?;
    writer.finish().map_err(|e| PlotError::Draw(format!("PNG end: {e}")))?;
    Ok(out)
}
