//! The runtime's one error type.

/// Everything a runtime computation can fail with, each variant naming its cause.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The user interrupted the computation (Ctrl-C, or the notebook's stop button).
    #[error("computation interrupted after {completed} of {total} tasks")]
    Interrupted { completed: usize, total: usize },
}
