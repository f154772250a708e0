//! The persistent directories where evcxr compiles cells, one per running kernel.
//!
//! Compiling the runtime's dependencies takes about a minute; doing it once per machine
//! instead of once per kernel is what makes a fresh kernel answer in seconds. Each kernel
//! takes an unused numbered slot under the cache root (an OS file lock, released even when the
//! kernel crashes) and compiles in that slot's cargo target directory, which is warm from
//! earlier sessions. Two kernels never share a slot, so they never fight over a build.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use crate::error::KernelError;

/// How many kernels may run at once before we refuse to start another.
const MAX_SLOTS: usize = 64;

/// Cargo settings for the compile directory: dependencies (the runtime among them) are
/// optimised, the user's own cell crate follows evcxr's `:opt`.
const CARGO_CONFIG: &str = r#"# Written by strata: optimise dependencies, keep cell builds fast.
[profile.dev.package."*"]
opt-level = 3
debug-assertions = false
overflow-checks = false
"#;

pub struct Workspace {
    dir: PathBuf,
    _lock: File,
}

impl Workspace {
    /// The root of Strata's caches: `$STRATA_CACHE_DIR`, else the user's cache dir.
    pub fn cache_root() -> PathBuf {
        if let Some(dir) = std::env::var_os("STRATA_CACHE_DIR") {
            return PathBuf::from(dir);
        }
        dirs::cache_dir().unwrap_or_else(std::env::temp_dir).join("strata")
    }

    /// Takes the first free slot under `root`.
    pub fn acquire(root: &Path) -> Result<Workspace, KernelError> {
        let sessions = root.join("sessions");
        let io_err = |path: &Path, e: std::io::Error| KernelError::Workspace {
            path: path.to_owned(),
            reason: e.to_string(),
        };
        fs::create_dir_all(&sessions).map_err(|e| io_err(&sessions, e))?;
        // In the slots' parent: evcxr rewrites each slot's own `.cargo/config.toml`, and cargo
        // merges the configs of parent directories into it.
        let cargo_dir = sessions.join(".cargo");
        fs::create_dir_all(&cargo_dir).map_err(|e| io_err(&cargo_dir, e))?;
        let config = cargo_dir.join("config.toml");
        if fs::read_to_string(&config).ok().as_deref() != Some(CARGO_CONFIG) {
            fs::write(&config, CARGO_CONFIG).map_err(|e| io_err(&config, e))?;
        }
        for n in 0..MAX_SLOTS {
            let dir = sessions.join(format!("slot-{n}"));
            fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
            let lock_path = dir.join(".lock");
            let lock = File::create(&lock_path).map_err(|e| io_err(&lock_path, e))?;
            match lock.try_lock() {
                Ok(()) => return Ok(Workspace { dir, _lock: lock }),
                Err(std::fs::TryLockError::WouldBlock) => continue,
                Err(std::fs::TryLockError::Error(e)) => return Err(io_err(&lock_path, e)),
            }
        }
        Err(KernelError::Workspace {
            path: sessions,
            reason: format!("all {MAX_SLOTS} compile slots are in use by running kernels"),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Removes the slot's compiled artifacts (the next build starts clean).
    pub fn clear_build(&self) {
        if let Err(e) = fs::remove_dir_all(self.dir.join("target")) {
            log::warn!("could not clear {}: {e}", self.dir.join("target").display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_kernels_get_distinct_slots_and_slots_are_reused() {
        let root = tempfile::tempdir().unwrap();
        let a = Workspace::acquire(root.path()).unwrap();
        let b = Workspace::acquire(root.path()).unwrap();
        assert_ne!(a.dir(), b.dir());
        let a_dir = a.dir().to_owned();
        drop(a);
        let c = Workspace::acquire(root.path()).unwrap();
        assert_eq!(c.dir(), a_dir, "a released slot should be reused, keeping its warm build");
        // The cargo settings sit in the slots' parent, where evcxr does not overwrite them.
        let config = std::fs::read_to_string(root.path().join("sessions/.cargo/config.toml")).unwrap();
        assert!(config.contains("opt-level = 3"));
    }
}
