//! The boundary between the API and the executor: what a plan needs done that this crate
//! does not do itself (threads, storage, C libraries).
//!
//! Why a boundary: a notebook cell compiles against this crate and its whole dependency graph
//! on every run, so the heavy parts (a thread pool, Zarr codecs, libnetcdf, plotting) live in
//! the executor, which is compiled once. A program links the executor (the `strata` crate) and
//! it registers itself when the program starts; the notebook kernel loads it as a shared
//! library into the cell process, where it registers itself the same way. Either way the API
//! reaches it only through the [`Executor`] trait object registered here.
//!
//! Without a registered executor, [`executor`] gives [`Inline`]: plans compute on the calling
//! thread, one task at a time (dask's synchronous scheduler, useful in tests and when
//! debugging), and anything touching storage says that no executor is loaded.
//!
//! The registration is the process's one binding to its executor, as a global allocator is:
//! it is set once, before or at the first computation, and never changes. Everything a
//! computation may vary (threads, budget, observer, interrupt) lives in its
//! [`Session`](crate::session::Session).

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::{Map, Value};

use crate::array::{Block, DType};
use crate::error::Error;
use crate::labeled::Dataset;
use crate::plan::{NetcdfRef, NodeRef, StoredRead, ZarrRef};
use crate::session::Session;
use crate::storage::Location;
use crate::zarr::{ToZarr, ZarrArray, ZarrFormat};

/// What the API asks of an executor. Implementations must be usable from any thread.
pub trait Executor: Send + Sync {
    /// A short name for errors and logs (`"strata"` for the local executor).
    fn name(&self) -> &'static str;

    // -- threads ------------------------------------------------------------------------

    /// Runs `f` on a pool of `threads` threads that belongs to `session` (built on first use,
    /// kept for the session's life), and returns when it has run.
    fn install(&self, session: &Session, threads: usize, f: &mut (dyn FnMut() + Send)) -> Result<(), Error>;

    /// How many threads the pool the caller runs in has (outside any pool: the default one's).
    fn current_threads(&self) -> usize;

    /// True on one of the executor's worker threads (inside a running computation).
    fn on_worker(&self) -> bool;

    /// Runs `task(0)`, ..., `task(n - 1)` in parallel on the caller's pool, each as its own
    /// job. The first error is returned once the tasks already started have finished.
    fn try_for_each(&self, n: usize, task: &(dyn Fn(usize) -> Result<(), Error> + Sync)) -> Result<(), Error>;

    /// Listens for SIGINT while a computation of the default session runs: the returned watch
    /// says whether one arrived, and stops listening when dropped (when none remain, SIGINT
    /// ends the process again, as a program expects on Ctrl-C).
    fn watch_interrupts(&self) -> Box<dyn InterruptWatch>;

    /// The memory this process may use, in bytes: the machine's, or its container's limit
    /// (cgroup) where that is lower, as a JupyterHub pod has. `None` where it cannot be told.
    /// Sessions budget half of it by default.
    fn memory_limit(&self) -> Option<u64>;

    // -- reading a plan's sources --------------------------------------------------------

    /// Reads `part` (array coordinates) of the Zarr chunk numbered `index` (row-major), whose
    /// bounded region is `chunk`, in its stored type `dtype`.
    fn read_zarr_chunk(&self, source: &ZarrRef, dtype: DType, index: usize, chunk: &[Range<usize>], part: &[Range<usize>]) -> Result<Block, Error>;

    /// Starts fetching stored chunks that the tasks about to run will read, so that an object
    /// store's requests go out together rather than one per running task. A hint: a chunk
    /// not fetched ahead is read when a task asks for it; the default does nothing.
    fn prefetch(&self, reads: &[StoredRead<'_>]) {
        let _ = reads;
    }

    /// Reads `region` of a NetCDF variable, in its stored type `dtype`.
    fn read_netcdf(&self, source: &NetcdfRef, dtype: DType, region: &[Range<usize>]) -> Result<Block, Error>;

    // -- storage --------------------------------------------------------------------------

    /// Opens a Zarr store (a group of arrays) as a dataset, CF-decoded as xarray does.
    fn open_zarr(&self, at: &Location) -> Result<Dataset, Error>;

    /// Opens one Zarr array (reads its metadata only).
    fn open_zarr_array(&self, at: &Location) -> Result<ZarrArray, Error>;

    /// Computes `node` and writes it as a Zarr array, all or nothing; returns it, opened.
    fn write_zarr_array(&self, node: &NodeRef, at: &Location, options: &ToZarr) -> Result<ZarrArray, Error>;

    /// Writes a dataset as a Zarr store xarray opens, all or nothing; returns it, reopened.
    fn write_zarr_dataset(&self, dataset: &Dataset, at: &Location, options: &ToZarr) -> Result<Dataset, Error>;

    /// Creates a Zarr group (metadata only).
    fn create_zarr_group(&self, at: &Location, format: ZarrFormat, attributes: &Map<String, Value>) -> Result<(), Error>;

    /// Opens a NetCDF-3 or NetCDF-4 file as a dataset, CF-decoded as xarray does.
    fn open_netcdf(&self, path: &Path) -> Result<Dataset, Error>;

    /// Writes a dataset as a NetCDF-4 file (computing its variables), CF-encoded as its
    /// variables' encodings say, all or nothing.
    fn write_netcdf(&self, dataset: &Dataset, path: &Path) -> Result<(), Error>;

    /// The files a pattern names (a file, a directory's files, or a glob), in path order; an
    /// error when it names none. For bags of text files and many-file datasets alike.
    fn list_files(&self, pattern: &str) -> Result<Vec<PathBuf>, Error>;

    /// The lines of a text file, decompressed when it ends in `.gz`.
    fn read_lines(&self, path: &Path) -> Result<Vec<String>, Error>;
}

/// A computation's view of SIGINT (see [`Executor::watch_interrupts`]).
pub trait InterruptWatch: Send + Sync {
    /// True once SIGINT arrived while the computation ran.
    fn interrupted(&self) -> bool;
}

static REGISTERED: OnceLock<Box<dyn Executor>> = OnceLock::new();

/// Makes `executor` the process's executor. The first registration wins; a later one is
/// handed back (a program that links the executor and also loads it as a library keeps the
/// first).
pub fn register(executor: Box<dyn Executor>) -> Result<(), Box<dyn Executor>> {
    REGISTERED.set(executor)
}

/// The name of the registered executor, if one is.
pub fn registered() -> Option<&'static str> {
    REGISTERED.get().map(|e| e.name())
}

/// The process's executor: the registered one, else [`Inline`].
pub fn executor() -> &'static dyn Executor {
    match REGISTERED.get() {
        Some(registered) => registered.as_ref(),
        None => &Inline,
    }
}

/// The executor when none is registered: tasks run one at a time on the calling thread, and
/// storage is unavailable ([`Error::NoExecutor`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Inline;

struct NeverInterrupted;

impl InterruptWatch for NeverInterrupted {
    fn interrupted(&self) -> bool {
        false
    }
}

fn unavailable<T>(what: &str) -> Result<T, Error> {
    Err(Error::NoExecutor { what: what.to_owned() })
}

impl Executor for Inline {
    fn name(&self) -> &'static str {
        "inline"
    }

    fn install(&self, _session: &Session, _threads: usize, f: &mut (dyn FnMut() + Send)) -> Result<(), Error> {
        f();
        Ok(())
    }

    fn current_threads(&self) -> usize {
        1
    }

    fn memory_limit(&self) -> Option<u64> {
        None
    }

    fn on_worker(&self) -> bool {
        false
    }

    fn try_for_each(&self, n: usize, task: &(dyn Fn(usize) -> Result<(), Error> + Sync)) -> Result<(), Error> {
        (0..n).try_for_each(task)
    }

    fn watch_interrupts(&self) -> Box<dyn InterruptWatch> {
        Box::new(NeverInterrupted)
    }

    fn read_zarr_chunk(&self, source: &ZarrRef, _: DType, _: usize, _: &[Range<usize>], _: &[Range<usize>]) -> Result<Block, Error> {
        unavailable(&format!("reading the Zarr array {}", source.location))
    }

    fn read_netcdf(&self, source: &NetcdfRef, _: DType, _: &[Range<usize>]) -> Result<Block, Error> {
        unavailable(&format!("reading {} from {}", source.variable, source.path.display()))
    }

    fn open_zarr(&self, at: &Location) -> Result<Dataset, Error> {
        unavailable(&format!("opening {at}"))
    }

    fn open_zarr_array(&self, at: &Location) -> Result<ZarrArray, Error> {
        unavailable(&format!("opening {at}"))
    }

    fn write_zarr_array(&self, _: &NodeRef, at: &Location, _: &ToZarr) -> Result<ZarrArray, Error> {
        unavailable(&format!("writing {at}"))
    }

    fn write_zarr_dataset(&self, _: &Dataset, at: &Location, _: &ToZarr) -> Result<Dataset, Error> {
        unavailable(&format!("writing {at}"))
    }

    fn create_zarr_group(&self, at: &Location, _: ZarrFormat, _: &Map<String, Value>) -> Result<(), Error> {
        unavailable(&format!("writing {at}"))
    }

    fn open_netcdf(&self, path: &Path) -> Result<Dataset, Error> {
        unavailable(&format!("opening {}", path.display()))
    }

    fn write_netcdf(&self, _: &Dataset, path: &Path) -> Result<(), Error> {
        unavailable(&format!("writing {}", path.display()))
    }

    fn list_files(&self, pattern: &str) -> Result<Vec<PathBuf>, Error> {
        unavailable(&format!("listing {pattern}"))
    }

    fn read_lines(&self, path: &Path) -> Result<Vec<String>, Error> {
        unavailable(&format!("reading {}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_an_executor_storage_says_so_and_names_what_was_asked() {
        let err = Inline.open_zarr(&Location::local("/data/sst.zarr")).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("/data/sst.zarr") && text.contains("no executor"), "{text}");
    }

    #[test]
    fn the_inline_executor_runs_every_task_and_stops_at_the_first_error() {
        let seen = std::sync::Mutex::new(Vec::new());
        let result = Inline.try_for_each(5, &|i| {
            seen.lock().unwrap().push(i);
            if i == 2 {
                Err(Error::Plan { reason: "two".into() })
            } else {
                Ok(())
            }
        });
        assert!(matches!(result, Err(Error::Plan { .. })));
        assert_eq!(*seen.lock().unwrap(), vec![0, 1, 2]);
    }
}
