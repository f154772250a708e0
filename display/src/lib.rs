//! Rich notebook output for Strata.
//!
//! The contract: code running in a cell describes what it wants shown as MIME bundles, and
//! this crate writes them as [`marker`] lines on stdout; the kernel, reading the cell's
//! process output, turns those lines into Jupyter messages. The kernel and this crate share
//! that one format definition, so neither guesses at the other.

pub mod html;
pub mod input;
pub mod marker;
pub mod output;
pub mod plot;
pub mod prelude;
pub mod progress;
pub mod repr;
pub mod result;

pub use output::{clear_output, display, show_result, DisplayHandle, Html, Markdown, MimeBundle, Render, Text};
