//! The one library notebook cells link: strata-display (whose prelude brings the API, as
//! `strata`), re-exported from a Rust dylib so that all cells of a kernel share one copy of
//! the API's process-wide state. The kernel starts each session with
//! `use strata_cells::prelude::*;` and loads the executor with [`load_executor`].
//!
//! The executor (thread pools, storage, codecs, libnetcdf, the figure renderer) is not a
//! dependency: cells would compile against its whole crate graph on every run. It is a
//! separate shared library, built against this one (see `executor/`), that the kernel has
//! the cell process load.

pub use strata_display::*;
/// The API (strata-api), as cells and the executor library name it.
pub use strata;

mod load;

pub use load::{load_executor, LoadError};
