//! Where figures are drawn: a renderer registered at start-up (strata-render, loaded with the
//! executor in a notebook's cell process, or linked into a program), reached through one
//! trait so that the crates cells compile against hold no plotting library.

use std::sync::OnceLock;

use super::figure::Figure;
use super::spec::FigureSpec;
use super::PlotError;

/// Draws figure specifications.
pub trait Renderer: Send + Sync {
    fn render(&self, spec: &FigureSpec) -> Result<Figure, PlotError>;
}

static RENDERER: OnceLock<Box<dyn Renderer>> = OnceLock::new();

/// Makes `renderer` the process's renderer; the first registration wins (a later one is
/// handed back).
pub fn register_renderer(renderer: Box<dyn Renderer>) -> Result<(), Box<dyn Renderer>> {
    RENDERER.set(renderer)
}

/// The registered renderer, or an error saying that none is loaded.
pub fn renderer() -> Result<&'static dyn Renderer, PlotError> {
    RENDERER.get().map(|r| r.as_ref()).ok_or(PlotError::NoRenderer)
}
