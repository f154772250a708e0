//! The executor of this process: rayon pools per session, SIGINT, and storage (local files
//! and object stores), registered with the API at load (see the crate's docs).

use std::ops::Range;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuilder};
use serde_json::{Map, Value};

use crate::array::{Block, DType};
use crate::error::Error;
use crate::executor::{Executor, InterruptWatch};
use crate::labeled::Dataset;
use crate::plan::{NetcdfRef, NodeRef, StoredRead, ZarrRef};
use crate::session::Session;
use crate::storage::object::ObjectStores;
use crate::storage::{netcdf, zarr, Location};
use crate::zarr::{ToZarr, ZarrArray, ZarrFormat};

/// Computations on rayon, storage on the local file system and in object stores.
#[derive(Default)]
pub struct LocalExecutor {
    /// Object store clients and the runtime their requests run on, made on first use.
    stores: ObjectStores,
}

impl std::fmt::Debug for LocalExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LocalExecutor")
    }
}

/// Registers [`LocalExecutor`] as the process's executor, unless one already is (a program
/// that also loads the shared library keeps the first). Runs when this crate is loaded.
pub fn register() {
    let _ = crate::executor::register(Box::new(LocalExecutor::default()));
}

fn build_pool(threads: usize) -> Result<ThreadPool, Error> {
    ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(move |i| format!("strata-{threads}-{i}"))
        .build()
        .map_err(|e| Error::ThreadPool { threads, cause: e.to_string() })
}

impl Executor for LocalExecutor {
    fn name(&self) -> &'static str {
        "strata"
    }

    fn install(&self, session: &Session, threads: usize, f: &mut (dyn FnMut() + Send)) -> Result<(), Error> {
        session.pool(threads, build_pool)?.install(f);
        Ok(())
    }

    fn current_threads(&self) -> usize {
        rayon::current_num_threads()
    }

    fn memory_limit(&self) -> Option<u64> {
        crate::memory::limit()
    }

    fn on_worker(&self) -> bool {
        rayon::current_thread_index().is_some()
    }

    fn try_for_each(&self, n: usize, task: &(dyn Fn(usize) -> Result<(), Error> + Sync)) -> Result<(), Error> {
        // One task per job: tasks are chunks, few and long, and must start as soon as a
        // thread is free.
        (0..n).into_par_iter().with_max_len(1).try_for_each(task)
    }

    fn watch_interrupts(&self) -> Box<dyn InterruptWatch> {
        Box::new(crate::sigint::SigintScope::start())
    }

    fn read_zarr_chunk(&self, source: &ZarrRef, dtype: DType, index: usize, chunk: &[Range<usize>], part: &[Range<usize>]) -> Result<Block, Error> {
        zarr::read::read_chunk(&self.stores, source, dtype, index, chunk, part)
    }

    fn prefetch(&self, reads: &[StoredRead<'_>]) {
        for read in reads {
            zarr::read::prefetch(&self.stores, read.source, read.chunk, read.whole);
        }
    }

    fn read_netcdf(&self, source: &NetcdfRef, dtype: DType, region: &[Range<usize>]) -> Result<Block, Error> {
        netcdf::read_region(source, dtype, region)
    }

    fn open_zarr(&self, at: &Location) -> Result<Dataset, Error> {
        zarr::dataset::open_zarr(&self.stores, at)
    }

    fn open_zarr_array(&self, at: &Location) -> Result<ZarrArray, Error> {
        zarr::read::open_array(&self.stores, at)
    }

    fn write_zarr_array(&self, node: &NodeRef, at: &Location, options: &ToZarr) -> Result<ZarrArray, Error> {
        zarr::write::write_array(&self.stores, node, at, options)
    }

    fn write_zarr_dataset(&self, dataset: &Dataset, at: &Location, options: &ToZarr) -> Result<Dataset, Error> {
        zarr::dataset::write_dataset(&self.stores, dataset, at, options)
    }

    fn create_zarr_group(&self, at: &Location, format: ZarrFormat, attributes: &Map<String, Value>) -> Result<(), Error> {
        zarr::write::create_group(&zarr::dir::Dir::open(at, &self.stores)?, format, attributes)
    }

    fn open_netcdf(&self, path: &Path) -> Result<Dataset, Error> {
        netcdf::open(path)
    }

    fn write_netcdf(&self, dataset: &Dataset, path: &Path) -> Result<(), Error> {
        netcdf::write(dataset, path)
    }

    fn list_files(&self, pattern: &str) -> Result<Vec<PathBuf>, Error> {
        crate::text::files(pattern)
    }

    fn read_lines(&self, path: &Path) -> Result<Vec<String>, Error> {
        crate::text::lines(path)
    }
}

#[cfg(test)]
mod tests {
    use crate::exec::{map_tasks_with, threads, with_threads, ComputeOptions};
    use crate::session::Session;

    /// The pool a computation with `options` runs on, as its one task sees it.
    fn pool_size(options: &ComputeOptions) -> usize {
        map_tasks_with(1, options, |_| rayon::current_num_threads()).unwrap()[0]
    }

    #[test]
    fn linking_the_crate_registered_this_executor() {
        assert_eq!(crate::executor::registered(), Some("strata"));
    }

    #[test]
    fn a_computation_runs_on_the_threads_it_asks_for() {
        let session = Session::new();
        let options = ComputeOptions::default().in_session(&session);
        session.enter(|| {
            assert_eq!(with_threads(3, rayon::current_num_threads).unwrap(), 3);
            assert_eq!(pool_size(&options.clone().threads(1)), 1);
            // Nested inside a pool, a computation naming no count stays there.
            assert_eq!(with_threads(3, || pool_size(&options)).unwrap(), 3);
        });
        session.set_threads(Some(2)).unwrap();
        assert_eq!(session.enter(threads), 2);
        assert_eq!(pool_size(&options), 2);
        session.set_threads(None).unwrap();
        assert_eq!(pool_size(&options), rayon::current_num_threads());
    }
}
