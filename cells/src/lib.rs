//! The one library notebook cells link: everything strata-display offers (its prelude brings
//! the runtime, `strata`, along), re-exported from a Rust dylib so that all cells of a kernel
//! share one runtime. The kernel starts each session with `use strata_cells::prelude::*;`.

pub use strata_display::*;
