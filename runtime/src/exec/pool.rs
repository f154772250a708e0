//! How many threads computations run on: all cores by default, fewer (or more, for tasks
//! that wait rather than compute) when asked, as dask's `num_workers`. The setting and the
//! pools belong to a session ([`crate::session::Session`]); these functions act on the
//! default one.
//!
//! Every entry point that runs tasks (array computations, writes, bags, delayed graphs) goes
//! through [`install`], so one setting governs them all. A computation started inside
//! another one's task stays on that task's pool.

use super::scheduler::ComputeOptions;
use crate::error::Error;
use crate::session::Session;

/// Runs the default session's computations on `threads` threads from now on (`None`: one
/// per core).
pub fn set_threads(threads: Option<usize>) -> Result<(), Error> {
    Session::global().set_threads(threads)
}

/// How many threads a computation started now would run on.
pub fn threads() -> usize {
    match Session::current().threads_setting() {
        Some(n) if rayon::current_thread_index().is_none() => n,
        _ => rayon::current_num_threads(),
    }
}

/// Runs `f`, and every computation it starts, on `threads` threads.
pub fn with_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> Result<R, Error> {
    Ok(Session::current().pool(threads)?.install(f))
}

/// Runs `f` on the pool a computation with `options` should use: the thread count it asks
/// for, else its session's; inside a worker thread, on that thread's pool.
pub(crate) fn install<R: Send>(options: &ComputeOptions, f: impl FnOnce() -> R + Send) -> Result<R, Error> {
    let session = options.session();
    let on_worker = rayon::current_thread_index().is_some();
    match (options.threads, session.threads_setting()) {
        // Asked for explicitly: honoured even inside another computation's task.
        (Some(n), _) if !on_worker || n != rayon::current_num_threads() => Ok(session.pool(n)?.install(f)),
        // The session's setting applies to computations started from outside the pools.
        (None, Some(n)) if !on_worker => Ok(session.pool(n)?.install(f)),
        _ => Ok(f()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_computation_runs_on_the_threads_it_asks_for() {
        let session = Session::new();
        let options = ComputeOptions::default().in_session(&session);
        session.enter(|| {
            assert_eq!(with_threads(3, rayon::current_num_threads).unwrap(), 3);
            assert_eq!(install(&options.clone().threads(1), rayon::current_num_threads).unwrap(), 1);
            // Nested inside a pool, a computation naming no count stays there.
            assert_eq!(with_threads(3, || install(&options, rayon::current_num_threads)).unwrap().unwrap(), 3);
        });
        session.set_threads(Some(2)).unwrap();
        assert_eq!(session.enter(threads), 2);
        assert_eq!(install(&options, rayon::current_num_threads).unwrap(), 2);
        session.set_threads(None).unwrap();
        assert_eq!(install(&options, rayon::current_num_threads).unwrap(), rayon::current_num_threads());
    }
}
