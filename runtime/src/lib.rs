//! Strata: chunked, lazy, parallel N-d arrays and labeled datasets (dask.array's and xarray's
//! jobs) for programs, and the executor behind notebook cells.
//!
//! Everything a user names comes from the API crate (`strata-api`), re-exported here whole,
//! so that `use strata::prelude::*` is all a program needs. This crate adds the executor: the
//! thread pools computations run on, SIGINT, and storage (Zarr through zarrs, NetCDF through
//! libnetcdf, text files). Linking it registers it ([`local::LocalExecutor`]) before `main`
//! runs; the notebook kernel loads it as a shared library into the cell process instead,
//! where loading registers it the same way.
//!
//! ```
//! use strata::prelude::*;
//! let x = RandomState::new(0).random(&[1_000, 1_000], &[250, 250]);
//! let y = &x + &x.t() - x.mean(&[0]);
//! let total = y.sum(..).scalar().unwrap();
//! assert!(total.is_finite());
//! ```

pub use strata_api::*;

pub mod local;
mod memory;
mod sigint;
pub mod storage;
mod text;

pub use local::LocalExecutor;

/// Registers [`LocalExecutor`] when the program (or the shared library holding this crate)
/// is loaded, so that no program has to remember to: a computation started before `main`
/// would otherwise run without threads or storage.
///
/// Safety (ctor's): it runs before `main`, so it only allocates and sets a `OnceLock`; it
/// starts no threads and touches no I/O.
#[ctor::ctor]
unsafe fn register_at_load() {
    local::register();
}
