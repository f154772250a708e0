//! Stored data as a plan names it: where it is and what its metadata says, not an open
//! handle. The executor opens the store when a task first reads it and keeps the opened handle
//! beside the description (not serialised), so later reads in this process reuse it.

use std::any::Any;
use std::path::PathBuf;

use crate::storage::Location;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Whatever the executor opened for a source (a zarrs array, ...), opaque to the plan.
#[derive(Clone, Default)]
pub struct Handle(Arc<OnceLock<Arc<dyn Any + Send + Sync>>>);

impl Handle {
    /// The opened handle of type `T`, opening it with `open` the first time (for executors).
    pub fn get_or_open<T: Any + Send + Sync>(&self, open: impl FnOnce() -> Result<T, Error>) -> Result<Arc<T>, Error> {
        if let Some(opened) = self.0.get().and_then(|h| h.clone().downcast::<T>().ok()) {
            return Ok(opened);
        }
        let opened: Arc<dyn Any + Send + Sync> = Arc::new(open()?);
        // Two tasks may open at once; the first to finish is kept, both are equivalent.
        let kept = self.0.get_or_init(|| opened.clone()).clone();
        kept.downcast::<T>().or_else(|_| opened.downcast::<T>()).map_err(|_| Error::Plan { reason: "a source handle of another type".into() })
    }
}

/// A Zarr array (v2 or v3) in a directory or an object store.
#[derive(Clone, Serialize, Deserialize)]
pub struct ZarrRef {
    /// The array's directory or prefix (an array at a store's root, or inside a group), with
    /// the options that reach it.
    pub location: Location,
    /// The array's metadata as read when it was opened (`zarr.json`, or `.zarray` with
    /// `.zattrs`, in zarrs' normalised form): how its chunks are laid out and decoded.
    pub metadata: serde_json::Value,
    /// What the executor opened for it in this process (not serialised).
    #[serde(skip)]
    pub handle: Handle,
}

impl ZarrRef {
    /// The array at `location` with the metadata read from it, not yet opened in this process.
    pub fn new(location: Location, metadata: serde_json::Value) -> ZarrRef {
        ZarrRef { location, metadata, handle: Handle::default() }
    }
}

impl std::fmt::Debug for ZarrRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "zarr {}", self.location)
    }
}

/// A stored chunk a task is about to read (see [`crate::exec::eval::stored_reads`]).
#[derive(Debug, Clone, Copy)]
pub struct StoredRead<'a> {
    /// The array.
    pub source: &'a ZarrRef,
    /// The chunk's row-major number in the array's chunk grid.
    pub chunk: usize,
    /// Whether the task reads the whole chunk (else only part of it, which the executor may
    /// read in part).
    pub whole: bool,
}

/// One variable of a NetCDF-3 or NetCDF-4 file.
#[derive(Clone, Serialize, Deserialize)]
pub struct NetcdfRef {
    /// The file.
    pub path: PathBuf,
    /// The variable's name in the file.
    pub variable: String,
    /// What the executor opened for it in this process (a NetCDF-4 variable's chunk index;
    /// not serialised).
    #[serde(skip)]
    pub handle: Handle,
}

impl NetcdfRef {
    /// The variable `variable` of the file at `path`, not yet opened in this process.
    pub fn new(path: PathBuf, variable: impl Into<String>) -> NetcdfRef {
        NetcdfRef { path, variable: variable.into(), handle: Handle::default() }
    }
}

impl PartialEq for NetcdfRef {
    fn eq(&self, other: &NetcdfRef) -> bool {
        self.path == other.path && self.variable == other.variable
    }
}

impl std::fmt::Debug for NetcdfRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "netcdf {} variable {:?}", self.path.display(), self.variable)
    }
}
