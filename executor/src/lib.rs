//! The executor for notebook cells: the `strata` crate's executor (thread pools, SIGINT,
//! storage) and strata-render's figure renderer, behind one C entry point.
//!
//! The kernel builds this into a shared library against the cells' own strata-cells dylib and
//! has each cell process load it (`strata_cells::load_executor`), which calls
//! [`strata_executor_init`]. Its API types are then the cells' (they come from the one
//! strata-cells library), so the executor it registers serves the cells' computations.

/// Registers the executor and the renderer with the process's API (the first registration
/// wins, so calling it again is harmless). Called by `strata_cells::load_executor` once the
/// library is loaded.
#[no_mangle]
pub extern "C" fn strata_executor_init() {
    strata::local::register();
    strata_render::register();
}

/// The API these register with: the one in strata-cells' library, shared with the cells.
pub use strata_cells::strata as api;
