//! Where a Zarr node lies: a local directory or a directory (prefix) in an object store. The
//! reading and writing code goes through [`Dir`] for metadata documents and listing, and
//! gets a zarrs store from it for chunks, so it is the same for both.

use std::fs;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;
use zarrs::filesystem::FilesystemStore;
use zarrs::storage::{ReadableStorageTraits, WritableStorageTraits};

use super::store::{write_atomically, AtomicFsStore};
use crate::error::Error;
use crate::storage::object::zarr_store::RemoteStore;
use crate::storage::object::{ObjectStores, Remote};
use crate::storage::references::{ReferenceSet, ReferenceStore};
use crate::storage::Location;

/// The directory of a Zarr group or array.
#[derive(Clone, Debug)]
pub(crate) struct Dir {
    /// As the user named it (with the options that reach it): what a plan records.
    pub(crate) at: Location,
    pub(crate) kind: DirKind,
}

#[derive(Clone, Debug)]
pub(crate) enum DirKind {
    Local(PathBuf),
    Remote(Remote),
    /// A node of a reference set (read-only).
    Reference { set: Arc<ReferenceSet>, prefix: String },
}

impl Dir {
    /// The directory `at` names: a local path as it is, a URL through its object store.
    pub(crate) fn open(at: &Location, stores: &ObjectStores) -> Result<Dir, Error> {
        let kind = match (at.local_path(), at.scheme()) {
            (Some(path), _) => DirKind::Local(path),
            (None, Some("reference")) => {
                let rest = &at.url()["reference://".len()..];
                let (file, prefix) = rest.split_once('#').unwrap_or((rest, ""));
                DirKind::Reference { set: stores.references(&Location::new(file, at.storage()))?, prefix: prefix.to_owned() }
            }
            (None, _) => DirKind::Remote(stores.remote(at)?),
        };
        Ok(Dir { at: at.clone(), kind })
    }

    /// A local directory.
    pub(crate) fn local(path: impl Into<PathBuf>) -> Dir {
        let path = path.into();
        Dir { at: Location::local(&path), kind: DirKind::Local(path) }
    }

    /// The directory `name` inside this one.
    pub(crate) fn join(&self, name: &str) -> Dir {
        let kind = match &self.kind {
            DirKind::Local(path) => DirKind::Local(path.join(name)),
            DirKind::Remote(remote) => DirKind::Remote(remote.join(name)),
            DirKind::Reference { set, prefix } => DirKind::Reference { set: set.clone(), prefix: join_key(prefix, name) },
        };
        Dir { at: self.at.join(name), kind }
    }

    /// The path or URL, for messages.
    pub(crate) fn shown(&self) -> String {
        match &self.kind {
            DirKind::Local(path) => path.display().to_string(),
            DirKind::Remote(remote) => remote.url().to_owned(),
            DirKind::Reference { .. } => self.at.url().to_owned(),
        }
    }

    /// The bytes at `key`, `None` when there is no such key.
    pub(crate) fn read(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        match &self.kind {
            DirKind::Local(path) => match fs::read(path.join(key)) {
                Ok(bytes) => Ok(Some(bytes)),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory | std::io::ErrorKind::IsADirectory) => Ok(None),
                Err(e) => Err(Error::NotZarr { path: path.join(key).display().to_string(), cause: e.to_string() }),
            },
            DirKind::Remote(remote) => Ok(remote.get(key)?.map(|b| b.to_vec())),
            DirKind::Reference { set, prefix } => Ok(set.get(&join_key(prefix, key))?.map(|b| b.to_vec())),
        }
    }

    /// The JSON document at `key`: `None` when there is none, or when it is not JSON (a
    /// store's metadata key holding something else is treated as absent, as zarr-python does).
    pub(crate) fn read_json(&self, key: &str) -> Result<Option<Value>, Error> {
        Ok(self.read(key)?.and_then(|bytes| serde_json::from_slice(&bytes).ok()))
    }

    /// Writes `bytes` at `key`, atomically (a reader sees the old value or the new).
    pub(crate) fn write(&self, key: &str, bytes: Vec<u8>) -> Result<(), Error> {
        match &self.kind {
            DirKind::Local(path) => write_atomically(&path.join(key), &bytes).map_err(|e| Error::ZarrWrite { path: path.join(key).display().to_string(), cause: e.to_string() }),
            DirKind::Remote(remote) => remote.put(key, bytes.into()),
            DirKind::Reference { .. } => Err(self.read_only()),
        }
    }

    /// The names of the directories directly inside (hidden ones left out).
    pub(crate) fn child_dirs(&self) -> Result<Vec<String>, Error> {
        let mut names: Vec<String> = match &self.kind {
            DirKind::Local(path) => fs::read_dir(path)
                .map_err(|e| Error::NotZarr { path: path.display().to_string(), cause: e.to_string() })?
                .flatten()
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect(),
            DirKind::Remote(remote) => remote.child_dirs()?,
            DirKind::Reference { set, prefix } => set.children(prefix),
        };
        names.retain(|n| !n.starts_with('.'));
        names.sort();
        Ok(names)
    }

    /// A zarrs store reading this directory.
    pub(crate) fn readable(&self) -> Result<Arc<dyn ReadableStorageTraits>, Error> {
        Ok(match &self.kind {
            DirKind::Local(path) => Arc::new(FilesystemStore::new(path).map_err(|e| Error::NotZarr { path: path.display().to_string(), cause: e.to_string() })?),
            DirKind::Remote(remote) => RemoteStore::new(remote.clone()),
            DirKind::Reference { set, prefix } => Arc::new(ReferenceStore { set: set.clone(), prefix: prefix.clone() }),
        })
    }

    /// A zarrs store writing this directory, each key atomically.
    pub(crate) fn writable(&self) -> Result<Arc<dyn WritableStorageTraits>, Error> {
        match &self.kind {
            DirKind::Local(path) => Ok(Arc::new(AtomicFsStore::new(path))),
            DirKind::Remote(remote) => Ok(RemoteStore::new(remote.clone())),
            DirKind::Reference { .. } => Err(self.read_only()),
        }
    }

    fn read_only(&self) -> Error {
        Error::ZarrWrite { path: self.shown(), cause: "a reference set is read-only: write the dataset to a Zarr store or a NetCDF file".into() }
    }
}

/// `key` inside the node `prefix` of a reference set.
fn join_key(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}/{key}")
    }
}
