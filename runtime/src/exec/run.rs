//! One computation's bookkeeping, shared by every way the runtime runs tasks (array plans,
//! `map_tasks` and bags, delayed graphs): the cancellation it answers to, the observer it
//! reports to, and how many of its tasks are done. Each reports `Started`, a `Task` per task
//! and `Finished` or `Failed` the same way, so one progress bar serves them all.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use super::cancel::Computation;
use super::scheduler::{Observer, Progress};
use crate::error::Error;

pub(crate) struct Run {
    computation: Computation,
    observer: Option<Arc<dyn Observer>>,
    total: usize,
    done: AtomicUsize,
    started: Instant,
}

impl Run {
    /// Starts a computation of `total` tasks, reporting to `observer`.
    pub(crate) fn start(observer: Option<Arc<dyn Observer>>, total: usize) -> Run {
        let run = Run { computation: Computation::start(), observer, total, done: AtomicUsize::new(0), started: Instant::now() };
        run.report(Progress::Started { tasks: total });
        run
    }

    fn report(&self, progress: Progress) {
        if let Some(o) = &self.observer {
            o.event(&progress);
        }
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.computation.is_cancelled()
    }

    /// `Err(Interrupted)` once the user has interrupted.
    pub(crate) fn check(&self) -> Result<(), Error> {
        if self.is_cancelled() {
            return Err(self.interrupted());
        }
        Ok(())
    }

    /// The error of this computation stopped by an interrupt, counting the tasks done.
    pub(crate) fn interrupted(&self) -> Error {
        Error::Interrupted { completed: self.done(), total: self.total }
    }

    pub(crate) fn done(&self) -> usize {
        self.done.load(Ordering::Relaxed)
    }

    /// Counts a finished task that produced `bytes` running `op`, begun at `began`.
    pub(crate) fn task_done(&self, bytes: u64, op: &'static str, began: Instant) {
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
