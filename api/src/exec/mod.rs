//! Running work on all cores, inside a memory budget, stoppable from outside.

pub mod cancel;
pub mod elementwise;
pub mod eval;
pub mod graph;
pub mod local;
pub mod pool;
pub mod reduce;
pub mod run;
pub mod scan;
pub mod scheduler;
pub mod terminal;

use std::sync::Mutex;

use crate::error::Error;
use crate::executor::executor;

pub use pool::{set_threads, threads, with_threads};
pub use scheduler::{compute, compute_chunks, for_each_region, memory_budget, progress_after, set_default_observer, set_memory_budget, set_progress_after, BlockSink, ComputeOptions, Observer, Progress, Scheduler};
pub use graph::{Partial, Stage, StageKind, TaskGraph, TaskKey};
pub use local::LocalScheduler;
pub use run::Run;
pub use crate::session::{CancelToken, Session, PROGRESS_AFTER_ENV};

/// Runs `f(0)`, ..., `f(n - 1)` in parallel and returns the results in order.
///
/// An interrupt (SIGINT, the notebook's stop button, [`Session::interrupt`]) stops the
/// computation between tasks: tasks already running finish, no new ones start, and the call
/// returns [`Error::Interrupted`] within one task's time. Progress goes to the session's
/// observer (a notebook's bar), as for array computations.
pub fn map_tasks<T, F>(n: usize, f: F) -> Result<Vec<T>, Error>
where
    T: Send,
    F: Fn(usize) -> T + Sync + Send,
{
    map_tasks_with(n, &ComputeOptions::default(), f)
}

/// [`map_tasks`] with `options` (session, threads, observer, cancel token).
pub fn map_tasks_with<T, F>(n: usize, options: &ComputeOptions, f: F) -> Result<Vec<T>, Error>
where
    T: Send,
    F: Fn(usize) -> T + Sync + Send,
{
    let options = &options.resolved();
    pool::install(options, || map_tasks_here(n, options, f))?
}

fn map_tasks_here<T, F>(n: usize, options: &ComputeOptions, f: F) -> Result<Vec<T>, Error>
where
    T: Send,
    F: Fn(usize) -> T + Sync + Send,
{
    let run = run::Run::start(options, n);
    let slots: Vec<Mutex<Option<T>>> = (0..n).map(|_| Mutex::new(None)).collect();
    let ran = executor().try_for_each(n, &|i| {
        let value = run.task("task", || Ok((f(i), 0)))?;
        *slots[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(value);
        Ok(())
    });
    let result = ran.and_then(|()| {
        slots.into_iter().map(|slot| slot.into_inner().unwrap_or_else(|p| p.into_inner()).ok_or_else(|| run.interrupted())).collect()
    });
    run.finish(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn tasks_run_in_their_computations_session() {
        let mine = Session::new();
        let options = ComputeOptions::default().in_session(&mine);
        // A computation started inside a task (on a pool thread) belongs to the same session.
        let inside = map_tasks_with(8, &options, |_| Session::current().same(&mine)).unwrap();
        assert!(inside.iter().all(|&same| same));
    }

    #[test]
    fn a_session_interrupt_leaves_the_callers_token_usable() {
        let mine = Session::new();
        let token = CancelToken::new();
        let options = ComputeOptions::default().threads(1).in_session(&mine).cancel_with(token.clone());
        let interrupter = mine.clone();
        let stopped = map_tasks_with(100, &options, |i| {
            if i == 0 {
                interrupter.interrupt();
            }
        });
        assert!(matches!(stopped, Err(Error::Interrupted { .. })));
        assert!(!token.is_cancelled(), "the interrupt stopped the computation, not the caller's token");
        assert_eq!(map_tasks_with(10, &options, |i| i).unwrap().len(), 10, "the same options run again");
        token.cancel();
        assert!(matches!(map_tasks_with(10, &options, |i| i), Err(Error::Interrupted { .. })));
    }

    #[test]
    fn results_come_back_in_order() {
        let squares = map_tasks(1000, |i| i * i).unwrap();
        assert_eq!(squares.len(), 1000);
        assert!(squares.iter().enumerate().all(|(i, &v)| v == i * i));
    }

    #[test]
    fn an_interrupted_session_stops_its_computation_early_with_an_error() {
        let session = Session::new();
        let options = ComputeOptions::default().in_session(&session);
        let started = AtomicUsize::new(0);
        let result = map_tasks_with(10_000, &options, |i| {
            started.fetch_add(1, Ordering::SeqCst);
            if i == 5 {
                session.interrupt();
            }
            std::thread::sleep(Duration::from_millis(1));
        });
        match result {
            Err(Error::Interrupted { completed, total }) => {
                assert_eq!(total, 10_000);
                assert!(completed < 10_000);
            }
            other => panic!("expected Interrupted, got {other:?}"),
        }
        assert!(started.load(Ordering::SeqCst) < 10_000, "tasks kept starting after the interrupt");
        // The next computation is not affected by the old interrupt.
        assert_eq!(map_tasks_with(3, &options, |i| i).unwrap(), vec![0, 1, 2]);
    }

    /// Two computations at once, each with its own token: cancelling one leaves the other to
    /// finish. Each task of the first waits until it is cancelled, so it can only end by the
    /// token; the second runs meanwhile, on its own thread.
    #[test]
    fn two_computations_are_interrupted_separately() {
        let (first, second) = (CancelToken::new(), CancelToken::new());
        let waiting = std::sync::Arc::new(AtomicUsize::new(0));
        let (token, seen) = (first.clone(), waiting.clone());
        let stopped = std::thread::spawn(move || {
            let options = ComputeOptions::default().threads(2).cancel_with(token.clone());
            map_tasks_with(1_000, &options, |_| {
                seen.fetch_add(1, Ordering::SeqCst);
                while !token.is_cancelled() {
                    std::thread::sleep(Duration::from_millis(1));
                }
            })
        });
        while waiting.load(Ordering::SeqCst) == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        // On a pool of its own: the first one's tasks hold both threads of theirs.
        let options = ComputeOptions::default().threads(1).cancel_with(second.clone());
        assert_eq!(map_tasks_with(100, &options, |i| i * 2).unwrap().iter().sum::<usize>(), 9_900);
        first.cancel();
        assert!(matches!(stopped.join().unwrap(), Err(Error::Interrupted { total: 1_000, .. })));
        assert!(!second.is_cancelled());
    }

    /// Interrupting one session stops its running computations, not those of
    /// another session.
    #[test]
    fn an_interrupt_of_one_session_leaves_another_running() {
        let mine = Session::new();
        let started = std::sync::Arc::new(AtomicUsize::new(0));
        let seen = started.clone();
        let other = Session::new();
        let (session, ours) = (mine.clone(), ComputeOptions::default().threads(2).in_session(&mine));
        let stopped = std::thread::spawn(move || {
            map_tasks_with(100_000, &ours, |_| {
                seen.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(1));
            })
        });
        while started.load(Ordering::SeqCst) == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        let theirs = ComputeOptions::default().threads(2).in_session(&other);
        let finished = map_tasks_with(200, &theirs, |i| {
            if i == 0 {
                session.interrupt();
            }
            i
        });
        assert_eq!(finished.unwrap().len(), 200);
        assert!(matches!(stopped.join().unwrap(), Err(Error::Interrupted { .. })));
    }
}
