//! Strata's runtime: parallel, cancellable computation for notebooks and programs alike.
//!
//! The contract: nothing here knows about Jupyter, HTML or plotting. A computation runs on
//! the rayon pool, checks for cancellation between tasks, and reports failures as
//! [`Error`] values that name their cause; no input makes it panic.
//!
//! This crate grows into the chunked, lazy array engine (plan, optimizer, scheduler, Zarr
//! I/O); today it provides the execution core those will run on.

pub mod error;
pub mod exec;
pub mod prelude;

pub use error::Error;
