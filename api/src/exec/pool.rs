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
use crate::executor::executor;
use crate::session::Session;

/// Runs the default session's computations on `threads` threads from now on (`None`: one
/// per core).
pub fn set_threads(threads: Option<usize>) -> Result<(), Error> {
    Session::global().set_threads(threads)
}

/// How many threads a computation started now would run on.
pub fn threads() -> usize {
    match Session::current().threads_setting() {
        Some(n) if !executor().on_worker() => n,
        _ => executor().current_threads(),
    }
}

/// Runs `f`, and every computation it starts, on `threads` threads.
pub fn with_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> Result<R, Error> {
    on_pool(&Session::current(), threads, f)
}

/// Runs `f` on `session`'s pool of `threads` threads and returns what it returned.
fn on_pool<R: Send>(session: &Session, threads: usize, f: impl FnOnce() -> R + Send) -> Result<R, Error> {
    let mut f = Some(f);
    let mut out = None;
    executor().install(session, threads, &mut || out = f.take().map(|f| f()))?;
    out.ok_or_else(|| Error::Plan { reason: format!("the executor {} did not run the computation", executor().name()) })
}

/// Runs `f` on the pool a computation with `options` should use: the thread count it asks
/// for, else its session's; inside a worker thread, on that thread's pool.
pub(crate) fn install<R: Send>(options: &ComputeOptions, f: impl FnOnce() -> R + Send) -> Result<R, Error> {
    let session = options.session();
    let on_worker = executor().on_worker();
    match (options.threads, session.threads_setting()) {
        // Asked for explicitly: honoured even inside another computation's task.
        (Some(n), _) if !on_worker || n != executor().current_threads() => on_pool(&session, n, f),
        // The session's setting applies to computations started from outside the pools.
        (None, Some(n)) if !on_worker => on_pool(&session, n, f),
        _ => Ok(f()),
    }
}

