//! Strata's API: chunked, lazy N-d arrays (dask.array's job) and labeled datasets (xarray's),
//! as notebook cells and programs use them.
//!
//! The contract: building an array builds a plan ([`plan`], plain data) and does no work;
//! `compute` runs it through the [`executor`] inside a memory budget, checking for
//! cancellation between tasks and reporting progress to an observer. Bad input (shapes that do
//! not fit, axes out of range, a result larger than the budget) gives an [`Error`] naming the
//! cause; nothing panics on it. Nothing here knows about Jupyter, HTML or plotting.
//!
//! This crate is what a notebook cell compiles against, so it stays small: it starts no
//! threads, reads no files and builds no C. Those belong to the executor behind
//! [`executor::Executor`]: the `strata` crate, linked into programs or loaded as a shared
//! library by the notebook kernel. Without one, plans still compute, on the calling thread
//! (dask's synchronous scheduler), and storage gives [`Error::NoExecutor`].

#![warn(missing_docs)]

pub mod array;
pub mod bag;
pub mod delayed;
pub mod error;
pub mod exec;
pub mod executor;
pub mod geo;
pub mod io;
pub mod labeled;
pub mod plan;
pub mod present;
pub mod prelude;
pub mod session;
pub mod storage;
pub mod zarr;

pub use error::Error;
/// Re-exported so that notebook cells can parse JSON records (bags of JSON lines) without a
/// `:dep` line.
pub use serde_json;
/// The in-memory array type `compute` returns: re-exported so that cells (and programs) can
/// name it without depending on ndarray themselves, and so that evcxr can infer and keep
/// variables holding computed values.
pub use ndarray;
