//! The Strata Jupyter kernel: Rust cells, evaluated by evcxr, with the Strata API and display
//! crates preloaded and the executor library loaded beside them.
//!
//! The contract, in layers: [`protocol`] is the Jupyter wire protocol as plain data;
//! [`server`] binds the channels and runs the request loops (busy/idle, counters, history,
//! abort-on-error); [`engine`] is the interpreter interface and its evcxr implementation;
//! [`outputs`] turns a cell's process output into iopub messages. The protocol knows
//! nothing of evcxr, and the engine builds no Jupyter message.

pub mod engine;
pub mod error;
pub mod history;
pub mod install;
pub mod logging;
pub mod outbox;
pub mod outputs;
pub mod pool;
pub mod protocol;
pub mod server;
pub mod toolchain;

pub use error::KernelError;
