//! Everything a notebook cell has in scope: the kernel runs `use strata_cells::prelude::*;`
//! at the start of every session. It re-exports the runtime's prelude and the `strata` crate
//! itself, so one dependency gives cells the whole platform (`strata::exec::map_tasks` and
//! `map_tasks` both work).

pub use crate::output::{clear_output, display, show_result, DisplayHandle, Html, Markdown, Render, Text};
pub use crate::plot::{Extend, Figure, Norm, Plot, Projection};
pub use crate::result::DebugResult;
pub use crate::input::{input, input_password};
pub use strata;
pub use strata::prelude::*;
