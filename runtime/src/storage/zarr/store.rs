//! A filesystem store whose every write is atomic: a key's new value goes to a temporary file
//! in the same directory, is synced, and is renamed over the key. A reader (or a process
//! killed mid-write) therefore sees the old value or the new one, never a torn file.
//! zarrs' own `FilesystemStore` truncates and rewrites in place, which is why this exists.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use zarrs::storage::{Bytes, OffsetBytesIterator, StorageError, StoreKey, StorePrefix, WritableStorageTraits};

/// Temporary files carry this marker so that leftovers of a killed writer can be recognised.
pub(crate) const PARTIAL_MARKER: &str = ".strata-partial";

pub(crate) struct AtomicFsStore {
    root: PathBuf,
}

impl AtomicFsStore {
    pub(crate) fn new(root: impl Into<PathBuf>) -> AtomicFsStore {
        AtomicFsStore { root: root.into() }
    }

    fn path(&self, key: &StoreKey) -> PathBuf {
        self.root.join(key.as_str())
    }
}

fn io(error: std::io::Error) -> StorageError {
    StorageError::IOError(Arc::new(error))
}

/// Writes `bytes` to `path` atomically (temporary sibling, fsync, rename, fsync the directory).
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = dir.join(format!(
        ".{name}{PARTIAL_MARKER}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temp, path)?;
        // The rename itself is durable only once the directory is synced.
        fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

impl WritableStorageTraits for AtomicFsStore {
    fn set(&self, key: &StoreKey, value: Bytes) -> Result<(), StorageError> {
        write_atomically(&self.path(key), &value).map_err(io)
    }

    fn set_partial_many(&self, key: &StoreKey, _offset_values: OffsetBytesIterator) -> Result<(), StorageError> {
        Err(StorageError::Other(format!("{}: partial writes would not be atomic", key.as_str())))
    }

    fn erase(&self, key: &StoreKey) -> Result<(), StorageError> {
        match fs::remove_file(self.path(key)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(e)),
            _ => Ok(()),
        }
    }

    fn erase_prefix(&self, prefix: &StorePrefix) -> Result<(), StorageError> {
        match fs::remove_dir_all(self.root.join(prefix.as_str())) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(e)),
            _ => Ok(()),
        }
    }

    fn supports_set_partial(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_replaces_the_file_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("strata-atomic-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let store = AtomicFsStore::new(&dir);
        let key = StoreKey::new("c/0/1").unwrap();
        store.set(&key, Bytes::from_static(b"first")).unwrap();
        store.set(&key, Bytes::from_static(b"second")).unwrap();
        assert_eq!(fs::read(dir.join("c/0/1")).unwrap(), b"second");
        let names: Vec<String> =
            fs::read_dir(dir.join("c/0")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert_eq!(names, vec!["1".to_string()]);
        store.erase(&key).unwrap();
        store.erase(&key).unwrap();
        assert!(!dir.join("c/0/1").exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
