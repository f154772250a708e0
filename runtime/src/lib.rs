//! Strata's runtime: chunked, lazy, parallel N-d arrays (dask.array's job), for notebooks and
//! programs alike.
//!
//! The contract: building an array builds a plan ([`plan`], plain data) and does no work;
//! `compute` runs it on the rayon pool ([`exec`]) inside a memory budget, checking for
//! cancellation (SIGINT) between tasks and reporting progress to an observer. Bad input (shapes
//! that do not fit, axes out of range, a result larger than the budget) gives an [`Error`]
//! naming the cause; nothing panics on it. Nothing here knows about Jupyter, HTML or plotting.
//!
//! ```
//! use strata::prelude::*;
//! let x = RandomState::new(0).random(&[1_000, 1_000], &[250, 250]);
//! let y = &x + &x.t() - x.mean(&[0]);
//! let total = y.sum(..).scalar().unwrap();
//! assert!(total.is_finite());
//! ```

pub mod array;
pub mod bag;
pub mod delayed;
pub mod error;
pub mod exec;
pub mod geo;
pub mod io;
pub mod labeled;
pub mod plan;
pub mod present;
pub mod prelude;
pub mod session;
pub mod zarr;

pub use error::Error;
/// Re-exported so that notebook cells can parse JSON records (bags of JSON lines) without a
/// `:dep` line.
pub use serde_json;
/// The in-memory array type `compute` returns: re-exported so that cells (and programs) can
/// name it without depending on ndarray themselves, and so that evcxr can infer and keep
/// variables holding computed values.
pub use ndarray;
