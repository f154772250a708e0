//! Running work on all cores, inside a memory budget, stoppable from outside.

pub mod cancel;
pub mod elementwise;
pub mod eval;
pub mod pool;
pub mod reduce;
pub(crate) mod run;
pub mod scan;
pub mod scheduler;
pub mod terminal;

use rayon::prelude::*;

use crate::error::Error;

pub use cancel::Computation;
pub use pool::{set_threads, threads, with_threads};
pub use scheduler::{compute, compute_chunks, for_each_region, memory_budget, progress_after, set_default_observer, set_memory_budget, set_progress_after, ComputeOptions, Observer, Progress, PROGRESS_AFTER_ENV};

/// Runs `f(0)`, ..., `f(n - 1)` in parallel and returns the results in order.
///
/// An interrupt (SIGINT) stops the computation between tasks: tasks already running finish,
/// no new ones start, and the call returns [`Error::Interrupted`] within one task's time.
/// Progress goes to the default observer (a notebook's bar), as for array computations.
pub fn map_tasks<T, F>(n: usize, f: F) -> Result<Vec<T>, Error>
where
    T: Send,
    F: Fn(usize) -> T + Sync + Send,
{
    pool::install(None, || map_tasks_here(n, f))?
}

fn map_tasks_here<T, F>(n: usize, f: F) -> Result<Vec<T>, Error>
where
    T: Send,
    F: Fn(usize) -> T + Sync + Send,
{
    let run = run::Run::start(scheduler::default_observer(), n);
    let result: Option<Vec<T>> = (0..n)
        .into_par_iter()
        .map(|i| {
            if run.is_cancelled() {
                return None;
            }
            let began = std::time::Instant::now();
            let value = f(i);
            run.task_done(0, "task", began);
            Some(value)
        })
        .collect();
    run.finish(result.ok_or_else(|| run.interrupted()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::cancel::TEST_SERIAL as SERIAL;

    #[test]
    fn results_come_back_in_order() {
        let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        let squares = map_tasks(1000, |i| i * i).unwrap();
        assert_eq!(squares.len(), 1000);
        assert!(squares.iter().enumerate().all(|(i, &v)| v == i * i));
    }

    #[test]
    fn a_cancelled_computation_stops_early_with_an_error() {
        let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        let started = AtomicUsize::new(0);
        let result = map_tasks(10_000, |i| {
            started.fetch_add(1, Ordering::SeqCst);
            if i == 5 {
                cancel::request_cancel();
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        });
        match result {
            Err(Error::Interrupted { completed, total }) => {
                assert_eq!(total, 10_000);
                assert!(completed < 10_000);
            }
            other => panic!("expected Interrupted, got {other:?}"),
        }
        assert!(started.load(Ordering::SeqCst) < 10_000, "tasks kept starting after the cancel");
        // The next computation is not affected by the old interrupt.
        assert_eq!(map_tasks(3, |i| i).unwrap(), vec![0, 1, 2]);
    }

    /// A real SIGINT during a computation cancels it, and does not end the process.
    #[cfg(unix)]
    #[test]
    fn sigint_cancels_a_running_computation() {
        let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        let result = map_tasks(10_000, |i| {
            if i == 3 {
                let _ = signal_hook::low_level::raise(signal_hook::consts::SIGINT);
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        });
        assert!(matches!(result, Err(Error::Interrupted { .. })), "{result:?}");
    }
}
