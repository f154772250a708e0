//! Cancellation by SIGINT, scoped to running computations.
//!
//! While a computation runs, SIGINT asks it to stop between tasks (so a notebook interrupt
//! keeps every variable). While none runs, SIGINT keeps its default meaning and ends the
//! process, so a program using this crate still quits on Ctrl-C.
//!
//! One process-wide flag does both. It reads "idle or cancelled". Two signal-hook actions run
//! in order on SIGINT: the first performs the default action (ends the process) if the flag is
//! already set, i.e. when idle; the second sets it, which running computations see as a
//! cancel. Starting a computation clears the flag; finishing the last one sets it again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

struct State {
    /// True when no computation runs, or when the running ones were asked to stop.
    idle_or_cancelled: Arc<AtomicBool>,
    active: Mutex<usize>,
}

fn state() -> &'static State {
    static STATE: OnceLock<State> = OnceLock::new();
    STATE.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(true));
        #[cfg(unix)]
        let registered = signal_hook::flag::register_conditional_default(
            signal_hook::consts::SIGINT,
            flag.clone(),
        )
        .and_then(|_| signal_hook::flag::register(signal_hook::consts::SIGINT, flag.clone()));
        #[cfg(unix)]
        if let Err(e) = registered {
            // Without the handler, SIGINT still ends the process: nothing is lost but the
            // ability to cancel cooperatively.
            eprintln!("strata: could not install the interrupt handler: {e}");
        }
        State { idle_or_cancelled: flag, active: Mutex::new(0) }
    })
}

/// A running computation. Dropping it marks the process idle again once none remain.
pub struct Computation {
    _private: (),
}

impl Computation {
    pub fn start() -> Computation {
        let s = state();
        let mut active = s.active.lock().unwrap_or_else(|p| p.into_inner());
        if *active == 0 {
            s.idle_or_cancelled.store(false, Ordering::SeqCst);
        }
        *active += 1;
        Computation { _private: () }
    }

    pub fn is_cancelled(&self) -> bool {
        state().idle_or_cancelled.load(Ordering::SeqCst)
    }
}

impl Drop for Computation {
    fn drop(&mut self) {
        let s = state();
        let mut active = s.active.lock().unwrap_or_else(|p| p.into_inner());
        *active = active.saturating_sub(1);
        if *active == 0 {
            s.idle_or_cancelled.store(true, Ordering::SeqCst);
        }
    }
}

/// Asks every running computation to stop, as SIGINT does.
pub fn request_cancel() {
    state().idle_or_cancelled.store(true, Ordering::SeqCst);
}

/// Cancellation is process-wide, so unit tests that compute (and may cancel) take this lock
/// to keep from cancelling each other.
#[cfg(test)]
pub(crate) static TEST_SERIAL: Mutex<()> = Mutex::new(());
