//! How many threads computations run on: all cores by default, fewer (or more, for tasks
//! that wait rather than compute) when asked, as dask's `num_workers`.
//!
//! Every entry point that runs tasks (array computations, writes, bags, delayed graphs) goes
//! through [`install`], so one setting governs them all. A computation started inside
//! another one's task stays on that task's pool.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use rayon::{ThreadPool, ThreadPoolBuilder};

use crate::error::Error;

/// The process-wide thread count set with [`set_threads`]; `None`: rayon's global pool.
static DEFAULT: RwLock<Option<usize>> = RwLock::new(None);

/// Pools by size, built once: a notebook that times 1 against 4 threads in a loop should
/// not start threads on every run.
static POOLS: Mutex<Option<HashMap<usize, Arc<ThreadPool>>>> = Mutex::new(None);

/// Runs computations on `threads` threads from now on (`None`: one per core).
pub fn set_threads(threads: Option<usize>) -> Result<(), Error> {
    if let Some(n) = threads {
        pool(n)?;
    }
    *DEFAULT.write().unwrap_or_else(|p| p.into_inner()) = threads;
    Ok(())
}

/// How many threads a computation started now would run on.
pub fn threads() -> usize {
    match *DEFAULT.read().unwrap_or_else(|p| p.into_inner()) {
        Some(n) if rayon::current_thread_index().is_none() => n,
        _ => rayon::current_num_threads(),
    }
}

/// Runs `f`, and every computation it starts, on `threads` threads.
pub fn with_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> Result<R, Error> {
    Ok(pool(threads)?.install(f))
}

/// Runs `f` on the pool a computation asking for `threads` (else the process default)
/// should use; inside a worker thread, on that thread's pool.
pub(crate) fn install<R: Send>(threads: Option<usize>, f: impl FnOnce() -> R + Send) -> Result<R, Error> {
    let on_worker = rayon::current_thread_index().is_some();
    match (threads, *DEFAULT.read().unwrap_or_else(|p| p.into_inner())) {
        // Asked for explicitly: honoured even inside another computation's task.
        (Some(n), _) if !on_worker || n != rayon::current_num_threads() => with_threads(n, f),
        // The process default applies to computations started from outside the pools.
        (None, Some(n)) if !on_worker => with_threads(n, f),
        _ => Ok(f()),
    }
}

fn pool(threads: usize) -> Result<Arc<ThreadPool>, Error> {
    let threads = threads.max(1);
    let mut pools = POOLS.lock().unwrap_or_else(|p| p.into_inner());
    let pools = pools.get_or_insert_with(HashMap::new);
    if let Some(pool) = pools.get(&threads) {
        return Ok(pool.clone());
    }
    let pool = ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(move |i| format!("strata-{threads}-{i}"))
        .build()
        .map_err(|e| Error::ThreadPool { threads, cause: e.to_string() })?;
    let pool = Arc::new(pool);
    pools.insert(threads, pool.clone());
    Ok(pool)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_computation_runs_on_the_threads_it_asks_for() {
        let _serial = super::super::cancel::TEST_SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        assert_eq!(with_threads(3, rayon::current_num_threads).unwrap(), 3);
        assert_eq!(install(Some(1), rayon::current_num_threads).unwrap(), 1);
        // Nested inside a pool, a computation naming no count stays there.
        assert_eq!(with_threads(3, || install(None, rayon::current_num_threads)).unwrap().unwrap(), 3);
        set_threads(Some(2)).unwrap();
        assert_eq!(threads(), 2);
        assert_eq!(install(None, rayon::current_num_threads).unwrap(), 2);
        set_threads(None).unwrap();
        assert_eq!(install(None, rayon::current_num_threads).unwrap(), rayon::current_num_threads());
    }
}
