//! What a notebook cell or a program brings into scope with `use strata::prelude::*`.

pub use crate::error::Error as StrataError;
pub use crate::exec::map_tasks;
