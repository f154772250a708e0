//! The interpreter interface: what the kernel core asks of whatever evaluates cells.
//!
//! Modelled on xeus's interpreter: the server (sockets, busy/idle, counters, history) never
//! changes when the language backend does. Nothing here builds a Jupyter message; engines
//! report plain data and raw child-process lines, and [`crate::outputs`] turns those into
//! iopub messages.

mod cell_errors;
mod cell_interrupt;
mod cell_output;
pub mod child_streams;
pub mod evcxr_engine;
pub mod executor_library;
pub mod host;
pub mod is_complete;
pub mod process_tree;
pub mod workspace;

use serde_json::Value;
use std::collections::BTreeMap;

pub use host::{EngineHost, OutputRelay};
pub use is_complete::Completeness;

/// A MIME bundle: mime type -> JSON value (strings for text and base64 images).
pub type MimeBundle = BTreeMap<String, Value>;

/// How a cell ended, besides the output it streamed while it ran.
#[derive(Debug, Clone, PartialEq)]
pub enum ExecuteOutcome {
    /// `data` is the final value's rich display (empty when the cell ends in a statement);
    /// `page` is text for the pager (documentation asked for with `:doc` or `?name`).
    Ok { data: MimeBundle, page: Option<String> },
    Error(CellError),
}

/// An error as a user should read it: a name, one line, and the lines that explain it.
#[derive(Debug, Clone, PartialEq)]
pub struct CellError {
    pub ename: String,
    pub evalue: String,
    pub traceback: Vec<String>,
}

/// One line the user's code wrote while the cell ran, in the order it was written.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveOutput {
    Stdout(String),
    Stderr(String),
}

/// Where an engine sends live output. The server decides which request it belongs to.
pub trait OutputSink: Send + Sync {
    fn emit(&self, output: LiveOutput);
}

/// Answers the user's code when it asks for input (Jupyter's stdin channel).
pub trait InputSource {
    /// `None` when the frontend cannot answer (no stdin) or the wait was interrupted.
    fn read_line(&self, prompt: &str, password: bool) -> Option<String>;
}

/// Completion matches for the text between `start` and `end` (byte offsets in the code).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Completions {
    pub matches: Vec<String>,
    pub start: usize,
    pub end: usize,
}

/// Documentation for the name at the cursor.
#[derive(Debug, Clone, PartialEq)]
pub struct Inspection {
    pub text: String,
    pub html: Option<String>,
}

/// Stops whatever a cell is doing. Callable from any thread while `execute` runs.
pub trait Interrupter: Send + Sync {
    /// Stops the running cell, keeping as much state as the engine can.
    fn interrupt(&self);
    /// Stops the cell's process at once, for shutdown.
    fn terminate(&self);
}

/// A language backend. Engines run on one dedicated thread ([`EngineHost`]), so they need
/// not be `Send`; only their [`Interrupter`] crosses threads.
pub trait Engine {
    /// Runs a cell. Live output goes to the sink given at construction.
    fn execute(&mut self, code: &str, input: Option<&dyn InputSource>) -> ExecuteOutcome;
    /// Completions at `cursor` (a byte offset into `code`).
    fn complete(&mut self, code: &str, cursor: usize) -> Completions;
    /// Type and documentation of the name at `cursor` (a byte offset), if any.
    fn inspect(&mut self, code: &str, cursor: usize) -> Option<Inspection>;
    fn interrupter(&self) -> std::sync::Arc<dyn Interrupter>;
    /// Prepares caches that would otherwise slow the first cells down; called when the
    /// engine is first idle, and by a spare engine before it is offered. Only the first
    /// call does anything.
    fn warm_up(&mut self) {}
    /// Starts a new process for the user's code, which inherits this process's current
    /// directory and environment as they are now: a spare engine, built and warmed before
    /// its session existed, takes on the session's (see [`crate::pool`]). Nothing the user
    /// defined is lost, because nothing has run yet.
    fn adopt_process_environment(&mut self) -> Result<(), String> {
        Ok(())
    }
}
