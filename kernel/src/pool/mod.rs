//! Warm engines for new kernels: a spare engine, built and warmed before anyone asks, takes a
//! kernel's connection file and serves it, so a notebook's first cell answers in about a
//! second instead of after the evcxr context, the Strata crates, the executor library and
//! rust-analyzer have all started.
//!
//! How it fits together:
//! - A *spare* (`strata pool serve`, [`spare`]) is one process per user and build: it
//!   starts an engine in a compile slot, warms it (a completion, so rust-analyzer has loaded
//!   the crate graph), then waits on a Unix socket in its pool directory. A file lock keeps
//!   it to one spare per build; it exits after a while unused, or when its build is
//!   replaced.
//! - Jupyter starts `strata kernel -f <connection file>` (the *launcher*, [`launcher`]). It
//!   connects to the spare and hands it the connection file, its working directory, its
//!   environment and its standard streams ([`handoff`]). The spare checks that it was built
//!   the way this kernel would build ([`shape`]), takes on the directory and environment,
//!   restarts its cell process so user code runs in them, and serves. The launcher then
//!   holds the socket for as long as it lives: when Jupyter kills it, the engine sees the
//!   socket close and ends itself and everything it started.
//! - After a handoff, the launcher asks for a new spare, which waits until the kernel that
//!   took the last one is idle before it warms (it is heavy: compiles and rust-analyzer),
//!   and pauses its builds whenever that kernel is busy again ([`yielding`]).
//! - When no spare runs, the launcher starts one and waits for it (as long as starting cold
//!   would take). It starts cold, in its own process, as before, and says why in its log, when
//!   the pool is turned off (`STRATA_POOL=off`), the compile cache was never warmed, no spare
//!   is ready within `STRATA_POOL_WAIT` seconds, or the spare refuses (another toolchain or
//!   cargo settings in the kernel's environment, see [`shape`]).

pub mod handoff;
pub mod launcher;
pub mod shape;
pub mod spare;
mod yielding;

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::engine::workspace::Workspace;

/// Set to `off` (or `0`, `false`, `no`) in a kernel's environment to start it cold.
pub const POOL_ENV: &str = "STRATA_POOL";
/// Seconds a spare waits unused before it exits (default an hour).
pub const IDLE_EXIT_ENV: &str = "STRATA_POOL_IDLE_EXIT";
/// Seconds a launcher waits for a spare that is still warming (default 60) before it starts
/// cold.
pub const WAIT_ENV: &str = "STRATA_POOL_WAIT";

#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error("the warm-engine pool is turned off ({POOL_ENV}={0})")]
    Disabled(String),
    #[error("the compile cache has not been warmed yet (`strata warm` does it)")]
    NotWarmed,
    #[error("no spare engine is running")]
    NoSpare,
    #[error("no spare engine was ready within {0} s")]
    Timeout(u64),
    #[error("the spare engine refused this kernel: {0}")]
    Refused(String),
    #[error("the pool's socket path is too long for a Unix socket: {0}")]
    PathTooLong(PathBuf),
    #[error("the spare engine could not start: {0}")]
    Engine(String),
    #[error("malformed handoff: {0}")]
    Protocol(String),
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
}

pub(crate) fn io_error(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> PoolError {
    let context = context.into();
    move |source| PoolError::Io { context, source }
}

/// Whether kernels look for a spare: `STRATA_POOL` unset, or anything but off.
pub fn enabled() -> Result<(), PoolError> {
    match std::env::var(POOL_ENV) {
        Ok(v) if matches!(v.trim().to_ascii_lowercase().as_str(), "off" | "0" | "false" | "no") => Err(PoolError::Disabled(v)),
        _ => Ok(()),
    }
}

/// A number of seconds from the environment, or `default`.
pub(crate) fn seconds_from_env(name: &str, default: u64) -> std::time::Duration {
    let secs = std::env::var(name).ok().and_then(|v| v.trim().parse::<f64>().ok()).filter(|s| s.is_finite() && *s >= 0.0);
    std::time::Duration::from_secs_f64(secs.unwrap_or(default as f64))
}

/// The directory of one build's spare: `<cache root>/pool/<build key>/`.
#[derive(Debug, Clone)]
pub struct PoolDir {
    dir: PathBuf,
    key: String,
}

/// Names of the files that say a launcher waits (see [`PoolDir::wanted_marker`]).
const WANTED_PREFIX: &str = "wanted.";

/// Longest path a Unix socket address holds (`sun_path`, with its terminating zero).
const MAX_SOCKET_PATH: usize = 107;

impl PoolDir {
    /// The pool directory of the running binary's build, under `root` (the cache root).
    pub fn for_this_build(root: &Path) -> Result<PoolDir, PoolError> {
        let key = build_key(root, &crate::engine::evcxr_engine::crates_dir())?;
        let dir = root.join("pool").join(&key);
        let pool = PoolDir { dir, key };
        if pool.socket().as_os_str().len() > MAX_SOCKET_PATH {
            return Err(PoolError::PathTooLong(pool.socket()));
        }
        Ok(pool)
    }

    /// Creates the directory, readable by this user only: whoever can reach the socket can
    /// run code as this user.
    pub(crate) fn create(&self) -> Result<(), PoolError> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(io_error(format!("creating {}", self.dir.display())))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    /// Where the spare listens, once it is warm.
    pub fn socket(&self) -> PathBuf {
        self.dir.join("spare.sock")
    }

    /// Held (exclusively) by the one spare of this build for as long as it is one.
    pub(crate) fn lock_path(&self) -> PathBuf {
        self.dir.join("spare.lock")
    }

    /// The spare's log while it waits (a kernel's log goes to Jupyter).
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("spare.log")
    }

    /// Present while the launcher `pid` waits: a spare then warms without waiting for the
    /// kernel before to be idle.
    pub(crate) fn wanted_marker(&self, pid: u32) -> PathBuf {
        self.dir.join(format!("{WANTED_PREFIX}{pid}"))
    }

    /// What the spare is doing, one line, for `strata pool status`.
    pub fn state_path(&self) -> PathBuf {
        self.dir.join("state")
    }

    /// The pid the spare wrote into its state line, if a spare is running.
    pub(crate) fn spare_pid(&self) -> Option<i32> {
        self.state()?.split_whitespace().nth(1)?.parse().ok().filter(|&p: &i32| p > 1)
    }

    /// The spare's state line, if a spare is running.
    pub fn state(&self) -> Option<String> {
        if !self.spare_running() {
            return None;
        }
        let mut text = String::new();
        File::open(self.state_path()).and_then(|mut f| f.read_to_string(&mut text)).ok()?;
        Some(text.trim().to_owned())
    }

    /// Whether a spare of this build is running (warming, waiting or ready): its lock is
    /// held. Probed with a shared lock, held for no longer than the probe, which a spare
    /// starting at that moment retries past.
    pub fn spare_running(&self) -> bool {
        let Ok(file) = File::options().read(true).write(true).create(true).truncate(false).open(self.lock_path()) else {
            return false;
        };
        match file.try_lock_shared() {
            Ok(()) => false,
            Err(std::fs::TryLockError::WouldBlock) => true,
            Err(std::fs::TryLockError::Error(_)) => false,
        }
    }
}

/// Identifies a build: this binary (path, size, modification time, inode), the seed warm-up
/// its compile slots copy, and the crates cells compile against. A spare of any other build
/// lives in another directory and is never used.
pub fn build_key(root: &Path, crates_dir: &Path) -> Result<String, PoolError> {
    use std::os::unix::fs::MetadataExt;
    let exe = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .map_err(io_error("locating the strata binary"))?;
    let meta = std::fs::metadata(&exe).map_err(io_error(format!("reading {}", exe.display())))?;
    let generation = Workspace::seed_generation(root).ok_or(PoolError::NotWarmed)?;
    let crates = crates_dir.canonicalize().unwrap_or_else(|_| crates_dir.to_owned());
    let mut hash = Sha256::new();
    for part in [
        exe.as_os_str().as_encoded_bytes(),
        &meta.len().to_le_bytes(),
        &meta.mtime().to_le_bytes(),
        &meta.mtime_nsec().to_le_bytes(),
        &meta.ino().to_le_bytes(),
        generation.trim().as_bytes(),
        crates.as_os_str().as_encoded_bytes(),
    ] {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part);
    }
    Ok(hex::encode(&hash.finalize()[..8]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_changes_with_the_seed_generation_and_the_crates() {
        let root = tempfile::tempdir().unwrap();
        assert!(matches!(build_key(root.path(), Path::new("/x")), Err(PoolError::NotWarmed)));
        let seed = root.path().join("sessions/seed");
        std::fs::create_dir_all(&seed).unwrap();
        std::fs::write(seed.join(".seed-generation"), "one").unwrap();
        let a = build_key(root.path(), Path::new("/x")).unwrap();
        assert_eq!(a, build_key(root.path(), Path::new("/x")).unwrap());
        assert_ne!(a, build_key(root.path(), Path::new("/y")).unwrap());
        std::fs::write(seed.join(".seed-generation"), "two").unwrap();
        assert_ne!(a, build_key(root.path(), Path::new("/x")).unwrap());
    }

    #[test]
    fn a_held_lock_means_a_spare_is_running() {
        let root = tempfile::tempdir().unwrap();
        let pool = PoolDir { dir: root.path().join("pool/k"), key: "k".into() };
        pool.create().unwrap();
        assert!(!pool.spare_running());
        let lock = File::create(pool.lock_path()).unwrap();
        lock.lock().unwrap();
        assert!(pool.spare_running());
        drop(lock);
        assert!(!pool.spare_running());
    }
}
