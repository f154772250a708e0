//! A drawn figure: its pixels, encoded as PNG for notebooks and files, and an SVG where the
//! figure is vector art (line plots). Shown as a cell's value, saved with `.save(path)`.

use std::io::Write;
use std::path::Path;

use base64::Engine;
use serde_json::Value;

use super::color::Rgb;
use super::map::Frame;
use super::projection::Projection;
use super::PlotError;
use crate::output::{show_result, MimeBundle, Render};

#[derive(Clone)]
pub struct Figure {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
    png: Vec<u8>,
    svg: Option<String>,
    title: String,
    /// Where a map's longitudes and latitudes are drawn.
    map: Option<(Projection, Frame)>,
}

impl std::fmt::Debug for Figure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<Figure {}x{}: {}>", self.width, self.height, self.title)
    }
}

impl Figure {
    /// The figure a renderer drew: its pixels (row-major RGB, `3 * width * height` bytes),
    /// their PNG encoding, an SVG where the figure is vector art, its title, and for a map the
    /// projection and frame it was drawn in.
    pub fn new(width: u32, height: u32, rgb: Vec<u8>, png: Vec<u8>, svg: Option<String>, title: String, map: Option<(Projection, Frame)>) -> Result<Figure, PlotError> {
        if rgb.len() != 3 * width as usize * height as usize {
            return Err(PlotError::Draw(format!("{} bytes of pixels for a {width}x{height} figure", rgb.len())));
        }
        Ok(Figure { width, height, rgb, png, svg, title, map })
    }

    /// For a map, the pixel (x right, y down) where (lon, lat) is drawn; None off the map.
    pub fn pixel_at(&self, lon: f64, lat: f64) -> Option<(u32, u32)> {
        let (projection, frame) = self.map.as_ref()?;
        frame.pixel_of(projection, lon, lat)
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// The PNG file's bytes.
    pub fn png(&self) -> &[u8] {
        &self.png
    }

    /// The figure as SVG: vector art for line plots; for maps, the raster inside an SVG.
    pub fn svg(&self) -> String {
        match &self.svg {
            Some(svg) => svg.clone(),
            None => format!(
                "<svg xmlns='http://www.w3.org/2000/svg' width='{w}' height='{h}' viewBox='0 0 {w} {h}'><image width='{w}' height='{h}' href='data:image/png;base64,{}'/></svg>",
                base64::engine::general_purpose::STANDARD.encode(&self.png),
                w = self.width,
                h = self.height
            ),
        }
    }

    /// The color of one pixel (x right, y down from the top-left corner).
    pub fn pixel(&self, x: u32, y: u32) -> Option<Rgb> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let i = 3 * (y as usize * self.width as usize + x as usize);
        Some(Rgb(self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]))
    }

    /// Writes the figure to `path` as PNG or SVG, by its extension. The file appears whole or
    /// not at all (written beside it, then renamed).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), PlotError> {
        let path = path.as_ref();
        let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        let bytes = match ext.as_deref() {
            Some("png") => self.png.clone(),
            Some("svg") => self.svg().into_bytes(),
            _ => return Err(PlotError::Format { path: path.to_path_buf() }),
        };
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let partial = path.with_file_name(format!(".{name}.partial-{}", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::File::create(&partial)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            std::fs::rename(&partial, path)
        };
        write().map_err(|source| {
            let _ = std::fs::remove_file(&partial);
            PlotError::Write { path: path.to_path_buf(), source }
        })
    }

    /// Called by evcxr on a cell's final value.
    pub fn evcxr_display(&self) {
        show_result(self)
    }
}

impl Render for Figure {
    fn mime_bundle(&self) -> MimeBundle {
        let mut bundle = MimeBundle::new();
        bundle.insert("image/png".into(), Value::String(base64::engine::general_purpose::STANDARD.encode(&self.png)));
        if let Some(svg) = &self.svg {
            bundle.insert("image/svg+xml".into(), Value::String(svg.clone()));
        }
        bundle.insert("text/plain".into(), Value::String(format!("{self:?}")));
        bundle
    }
}
