//! Interrupting a cell: stop its build while it compiles (nothing ran, every variable kept),
//! leave it to the input cancellation while it waits for input, and otherwise SIGINT its
//! process (the runtime cancels cooperatively), then SIGKILL after a grace period.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::process_tree::{kill_descendants_except, waiting_on_stdin};
use super::Interrupter;

/// How long a cell may ignore SIGINT before its process is killed. Cooperative code (the
/// runtime's scheduler) stops well within this; a plain loop does not listen at all.
const INTERRUPT_GRACE: Duration = Duration::from_millis(1000);

/// How long an interrupt waits for a compile's next build step to appear (evcxr analyses
/// the code between cargo runs) before treating the cell as running code.
const COMPILE_WATCH: Duration = Duration::from_millis(1500);

/// Tracks which cell is running so that an interrupt hits that cell and only that one.
pub(super) struct InterruptState {
    pub(super) child: Arc<Mutex<std::process::Child>>,
    pub(super) executing: AtomicBool,
    pub(super) generation: AtomicU64,
    pub(super) interrupted_generation: AtomicU64,
    /// The generation whose compile the interrupter stopped.
    pub(super) build_killed_generation: AtomicU64,
    /// The cell waits for the user's input: the kernel cancels the input request instead.
    pub(super) awaiting_input: AtomicBool,
}

impl InterruptState {
    pub(super) fn begin(&self) -> u64 {
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        self.executing.store(true, Ordering::SeqCst);
        generation
    }

    /// Ends the cell; true if it was interrupted.
    pub(super) fn end(&self, generation: u64) -> bool {
        self.executing.store(false, Ordering::SeqCst);
        self.interrupted_generation.load(Ordering::SeqCst) == generation
    }

    fn still_running(&self, generation: u64) -> bool {
        self.executing.load(Ordering::SeqCst) && self.generation.load(Ordering::SeqCst) == generation
    }

    fn child_pid(&self) -> Option<libc::pid_t> {
        self.child.lock().ok().and_then(|c| libc::pid_t::try_from(c.id()).ok())
    }

    fn signal_child(&self, signal: libc::c_int) {
        let Some(pid) = self.child_pid() else { return };
        // SAFETY: kill(2) on the child evcxr spawned for us, with a valid signal number.
        unsafe { libc::kill(pid, signal) };
    }

    pub(super) fn build_was_killed(&self, generation: u64) -> bool {
        self.build_killed_generation.load(Ordering::SeqCst) == generation
    }

    /// Stops whatever the cell is doing. While it compiles (the cell process waits on its
    /// stdin), the build is killed: no code ran, every variable is kept. Once its code runs,
    /// SIGINT, then SIGKILL after the grace period.
    fn stop(&self, generation: u64) {
        let deadline = std::time::Instant::now() + COMPILE_WATCH;
        loop {
            if !self.still_running(generation) || self.awaiting_input.load(Ordering::SeqCst) {
                // Cancelling the input request (the kernel does) ends the cell by itself.
                return;
            }
            let Some(child) = self.child_pid() else { return };
            if waiting_on_stdin(child) {
                if kill_descendants_except(child) > 0 {
                    log::info!("interrupted a compile by stopping the build");
                    self.build_killed_generation.store(generation, Ordering::SeqCst);
                    return;
                }
                // Between builds (evcxr analysing the code): look again shortly.
                if std::time::Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(25));
                    continue;
                }
            }
            break;
        }
        self.signal_child(libc::SIGINT);
        std::thread::sleep(INTERRUPT_GRACE);
        if self.still_running(generation) {
            log::info!("cell ignored SIGINT; killing its process");
            self.signal_child(libc::SIGKILL);
        }
    }
}

/// The interrupter handed to the server: SIGINT first, and SIGKILL for code that ignores it.
pub(super) struct ChildInterrupter(pub(super) Arc<InterruptState>);

impl Interrupter for ChildInterrupter {
    /// The runtime turns SIGINT into a cancellation its scheduler checks between tasks, so a
    /// computation ends with an error and every variable intact. Code that does not listen
    /// is stopped by killing its process after a grace period; evcxr then starts a new one
    /// and the cell reports which variables were lost.
    fn interrupt(&self) {
        let state = &self.0;
        if !state.executing.load(Ordering::SeqCst) {
            return;
        }
        let generation = state.generation.load(Ordering::SeqCst);
        state.interrupted_generation.store(generation, Ordering::SeqCst);
        let state = state.clone();
        let watchdog = std::thread::Builder::new().name("interrupt-watchdog".into()).spawn(move || state.stop(generation));
        if let Err(e) = watchdog {
            log::error!("could not start the interrupt watchdog: {e}");
        }
    }

    fn terminate(&self) {
        self.0.signal_child(libc::SIGKILL);
    }
}
