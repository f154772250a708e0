//! SIGINT, for the default session's computations.
//!
//! While one of them runs, SIGINT asks it to stop between tasks (so a notebook interrupt keeps
//! every variable). While none runs, SIGINT keeps its default meaning and ends the process, so
//! a program using this crate still quits on Ctrl-C. Computations of other sessions
//! ([`crate::session::Session::new`]) do not listen: they stop through their session's
//! `interrupt` or a [`crate::session::CancelToken`]. The API asks for a watch through
//! [`crate::executor::Executor::watch_interrupts`].
//!
//! A signal handler may only touch atomics, so one flag does both. It reads "idle or
//! interrupted". Two signal-hook actions run in order on SIGINT: the first performs the
//! default action (ends the process) if the flag is already set, i.e. when idle; the second
//! sets it, which running computations see as an interrupt. Starting a computation clears the
//! flag; finishing the last one sets it again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crate::executor::InterruptWatch;

struct State {
    /// True when no computation of the default session runs, or when SIGINT asked the
    /// running ones to stop.
    idle_or_interrupted: Arc<AtomicBool>,
    active: Mutex<usize>,
}

fn state() -> &'static State {
    static STATE: OnceLock<State> = OnceLock::new();
    STATE.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(true));
        #[cfg(unix)]
        let registered = signal_hook::flag::register_conditional_default(signal_hook::consts::SIGINT, flag.clone())
            .and_then(|_| signal_hook::flag::register(signal_hook::consts::SIGINT, flag.clone()));
        #[cfg(unix)]
        if let Err(e) = registered {
            // Without the handler, SIGINT still ends the process: nothing is lost but the
            // ability to stop a computation and keep the process.
            eprintln!("strata: could not install the interrupt handler: {e}");
        }
        State { idle_or_interrupted: flag, active: Mutex::new(0) }
    })
}

/// A running computation of the default session, listening for SIGINT. Dropping it marks the
/// process idle again once none remain.
pub(crate) struct SigintScope {
    _private: (),
}

impl SigintScope {
    pub(crate) fn start() -> SigintScope {
        let s = state();
        let mut active = s.active.lock().unwrap_or_else(|p| p.into_inner());
        if *active == 0 {
            s.idle_or_interrupted.store(false, Ordering::SeqCst);
        }
        *active += 1;
        SigintScope { _private: () }
    }

}

impl InterruptWatch for SigintScope {
    /// True once SIGINT arrived while this computation ran.
    fn interrupted(&self) -> bool {
        state().idle_or_interrupted.load(Ordering::SeqCst)
    }
}

impl Drop for SigintScope {
    fn drop(&mut self) {
        let s = state();
        let mut active = s.active.lock().unwrap_or_else(|p| p.into_inner());
        *active = active.saturating_sub(1);
        if *active == 0 {
            s.idle_or_interrupted.store(true, Ordering::SeqCst);
        }
    }
}
