//! Stopping the default session's computations from code, as SIGINT does (the executor
//! listens for SIGINT itself: see [`crate::executor::Executor::watch_interrupts`]).

use crate::session::Session;

/// Stops every computation of the default session running now, as SIGINT does (from code:
/// a timer in a lesson, a callback).
pub fn request_cancel() {
    Session::global().interrupt();
}
