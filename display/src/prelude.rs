//! What a notebook cell brings into scope with `use strata_display::prelude::*` (the kernel
//! does this for every session).

pub use crate::output::{clear_output, display, DisplayHandle, Html, Markdown, Render, Text};
pub use evcxr_input::{get_password as input_password, get_string as input};
