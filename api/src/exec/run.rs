//! One computation's bookkeeping, shared by every way the runtime runs tasks (array plans,
//! `map_tasks` and bags, delayed graphs): the cancellation it answers to (its token, its
//! session's interrupt, and SIGINT in the default session), the observer it reports to, and
//! how many of its tasks are done. Each reports `Started`, a `Task` per task and `Finished` or
//! `Failed` the same way, so one progress bar serves them all.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use super::scheduler::{ComputeOptions, Observer, Progress};
use crate::error::Error;
use crate::executor::{executor, InterruptWatch};
use crate::session::{CancelToken, Running, Session};

/// One running computation, as schedulers see it: check it for cancellation before each task
/// and count each task done (which reports progress).
pub struct Run {
    /// This computation's own token, which its session's interrupt cancels. Fresh per run:
    /// a session interrupt must not cancel a caller's token for good.
    token: CancelToken,
    /// The caller's token (`ComputeOptions::cancel_with`), if any.
    caller: Option<CancelToken>,
    /// The session it runs in, entered around each task so that computations a task starts
    /// (an array computed inside a `delayed` task or a `map_blocks` function) run in it too.
    session: Session,
    /// Listed among the session's running computations while it runs.
    _running: Running,
    /// The default session's computations also stop on SIGINT.
    sigint: Option<Box<dyn InterruptWatch>>,
    observer: Option<Arc<dyn Observer>>,
    total: usize,
    done: AtomicUsize,
    started: Instant,
}

impl Run {
    /// Starts a computation of `total` tasks with `options` (session, observer, token).
    pub(crate) fn start(options: &ComputeOptions, total: usize) -> Run {
        let session = options.session();
        let token = CancelToken::default();
        let show_bar_after = session.progress_after();
        let run = Run {
            _running: session.running(&token),
            sigint: session.answers_sigint().then(|| executor().watch_interrupts()),
            observer: options.observer.clone().or_else(|| session.observer()),
            token,
            caller: options.cancel.clone(),
            session,
            total,
            done: AtomicUsize::new(0),
            started: Instant::now(),
        };
        run.report(Progress::Started { tasks: total, show_bar_after });
        run
    }

    fn report(&self, progress: Progress) {
        if let Some(o) = &self.observer {
            o.event(&progress);
        }
    }

    /// Whether the computation was cancelled: its session interrupted, the caller's token
    /// cancelled, or (in the default session) SIGINT received.
    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
            || self.caller.as_ref().is_some_and(CancelToken::is_cancelled)
            || self.sigint.as_ref().is_some_and(|s| s.interrupted())
    }

    /// Runs one task of this computation on the current thread: `Err(Interrupted)` if the
    /// computation was cancelled, else `f` inside the computation's session, counted as done
    /// when it succeeds (with the bytes it reports, under `op`).
    pub fn task<T>(&self, op: &'static str, f: impl FnOnce() -> Result<(T, u64), Error>) -> Result<T, Error> {
        self.check()?;
        let began = Instant::now();
        let (value, bytes) = self.session.enter(f)?;
        self.task_done(bytes, op, began);
        Ok(value)
    }

    /// `Err(Interrupted)` once the user has interrupted.
    pub fn check(&self) -> Result<(), Error> {
        if self.is_cancelled() {
            return Err(self.interrupted());
        }
        Ok(())
    }

    /// The error of this computation stopped by an interrupt, counting the tasks done.
    pub fn interrupted(&self) -> Error {
        Error::Interrupted { completed: self.done(), total: self.total }
    }

    /// How many tasks are done so far.
    pub fn done(&self) -> usize {
        self.done.load(Ordering::Relaxed)
    }

    /// Counts a finished task that produced `bytes` running `op`, begun at `began`.
    pub fn task_done(&self, bytes: u64, op: &'static str, began: Instant) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        self.report(Progress::Task { done, total: self.total, bytes, op, elapsed: began.elapsed() });
    }

    /// Reports how the computation ended, and passes its result on.
    pub(crate) fn finish<T>(&self, result: Result<T, Error>) -> Result<T, Error> {
        match &result {
            Ok(_) => self.report(Progress::Finished { tasks: self.total, elapsed: self.started.elapsed() }),
            Err(error) => self.report(Progress::Failed { done: self.done(), total: self.total, error: error.clone() }),
        }
        result
    }
}
