//! The persistent directories where evcxr compiles cells, one per running kernel.
//!
//! Compiling the runtime's dependencies takes minutes; doing it once per machine instead of
//! once per kernel is what makes a fresh kernel answer in seconds. Each kernel takes an unused
//! numbered slot under the cache root (an OS file lock, released even when the kernel crashes)
//! and compiles in that slot's cargo target directory. Two kernels never share a slot, so they
//! never fight over a build.
//!
//! `strata warm` (run by `strata install`) compiles once, into the *seed* workspace. A slot
//! whose build is not from the current seed gets a copy of the seed's target directory, file
//! times kept, before its kernel's first build: cargo finds every dependency fresh, so a
//! second or tenth kernel running at once starts as fast as the first. Cargo records paths
//! inside a target directory relative to it, which is what makes the copy valid elsewhere.
//!
//! evcxr's own build cache (`:cache`) is not used: it replays a crate's compiler output,
//! dependency file included, into other target directories, and that file names the build
//! script's output directory of the target where the crate was first compiled. Once that
//! directory is gone, cargo finds such crates (serde's, among others) stale at every build and
//! recompiles them and everything above them, the runtime included, for every kernel.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use crate::error::KernelError;

/// How many kernels may run at once before we refuse to start another.
const MAX_SLOTS: usize = 64;

/// The workspace `strata warm` compiles into and slots are copied from.
const SEED_DIR: &str = "seed";
/// In the seed: the id of its last complete build. Absent while a warm-up runs or after one
/// failed, so that no slot copies a half-built seed.
const SEED_GENERATION: &str = ".seed-generation";
/// In a slot: the seed generation its target directory was copied from.
const SEEDED_FROM: &str = ".seeded-from";

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
    /// The directory holding the slots and the seed.
    sessions: PathBuf,
    _lock: File,
}

fn io_err(path: &Path, e: std::io::Error) -> KernelError {
    KernelError::Workspace { path: path.to_owned(), reason: e.to_string() }
}

impl Workspace {
    /// The root of Strata's caches: `$STRATA_CACHE_DIR`, else the user's cache dir.
    pub fn cache_root() -> PathBuf {
        if let Some(dir) = std::env::var_os("STRATA_CACHE_DIR") {
            return PathBuf::from(dir);
        }
        dirs::cache_dir().unwrap_or_else(std::env::temp_dir).join("strata")
    }

    /// Creates `root/sessions` and the cargo settings all workspaces share.
    fn sessions_dir(root: &Path) -> Result<PathBuf, KernelError> {
        let sessions = root.join("sessions");
        fs::create_dir_all(&sessions).map_err(|e| io_err(&sessions, e))?;
        // In the slots' parent: evcxr rewrites each slot's own `.cargo/config.toml`, and cargo
        // merges the configs of parent directories into it.
        let cargo_dir = sessions.join(".cargo");
        fs::create_dir_all(&cargo_dir).map_err(|e| io_err(&cargo_dir, e))?;
        let config = cargo_dir.join("config.toml");
        if fs::read_to_string(&config).ok().as_deref() != Some(CARGO_CONFIG) {
            fs::write(&config, CARGO_CONFIG).map_err(|e| io_err(&config, e))?;
        }
        Ok(sessions)
    }

    /// Takes the first free slot under `root`.
    pub fn acquire(root: &Path) -> Result<Workspace, KernelError> {
        let sessions = Self::sessions_dir(root)?;
        for n in 0..MAX_SLOTS {
            let dir = sessions.join(format!("slot-{n}"));
            fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
            let lock_path = dir.join(".lock");
            let lock = File::create(&lock_path).map_err(|e| io_err(&lock_path, e))?;
            match lock.try_lock() {
                Ok(()) => return Ok(Workspace { dir, sessions, _lock: lock }),
                Err(std::fs::TryLockError::WouldBlock) => continue,
                Err(std::fs::TryLockError::Error(e)) => return Err(io_err(&lock_path, e)),
            }
        }
        Err(KernelError::Workspace {
            path: sessions,
            reason: format!("all {MAX_SLOTS} compile slots are in use by running kernels"),
        })
    }

    /// Takes the seed workspace for a warm-up, waiting for another warm-up to finish. Until
    /// [`Workspace::publish_seed`], no slot copies it.
    pub fn acquire_seed(root: &Path) -> Result<Workspace, KernelError> {
        let sessions = Self::sessions_dir(root)?;
        let dir = sessions.join(SEED_DIR);
        fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
        let lock_path = dir.join(".lock");
        let lock = File::create(&lock_path).map_err(|e| io_err(&lock_path, e))?;
        lock.lock().map_err(|e| io_err(&lock_path, e))?;
        let generation = dir.join(SEED_GENERATION);
        match fs::remove_file(&generation) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(&generation, e)),
        }
        Ok(Workspace { dir, sessions, _lock: lock })
    }

    /// Marks the seed's build complete: slots copy it from now on.
    pub fn publish_seed(&self) -> Result<(), KernelError> {
        let generation = self.dir.join(SEED_GENERATION);
        fs::write(&generation, uuid::Uuid::new_v4().to_string()).map_err(|e| io_err(&generation, e))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The id of the seed's last complete warm-up under `root`, if there is one: what a
    /// spare engine's build is from (see [`crate::pool`]).
    pub fn seed_generation(root: &Path) -> Option<String> {
        fs::read_to_string(root.join("sessions").join(SEED_DIR).join(SEED_GENERATION)).ok()
    }

    fn is_seed(&self) -> bool {
        self.dir == self.sessions.join(SEED_DIR)
    }

    /// Gives this slot a copy of the seed's build when the slot's build is not from the
    /// seed's latest generation. Returns whether it copied. A seed being rebuilt (locked by a
    /// warm-up) or never built is skipped: the slot then builds what it needs itself.
    pub fn refresh_from_seed(&self) -> Result<bool, KernelError> {
        if self.is_seed() {
            return Ok(false);
        }
        let seed = self.sessions.join(SEED_DIR);
        if !seed.join(SEED_GENERATION).is_file() {
            return Ok(false);
        }
        let lock_path = seed.join(".lock");
        let lock = File::options().create(true).truncate(false).write(true).open(&lock_path).map_err(|e| io_err(&lock_path, e))?;
        match lock.try_lock_shared() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Ok(false),
            Err(std::fs::TryLockError::Error(e)) => return Err(io_err(&lock_path, e)),
        }
        let Ok(generation) = fs::read_to_string(seed.join(SEED_GENERATION)) else {
            return Ok(false);
        };
        let seeded_from = self.dir.join(SEEDED_FROM);
        if fs::read_to_string(&seeded_from).ok().as_deref() == Some(generation.as_str()) {
            return Ok(false);
        }
        // The cells' build, and the executor library's beside it (its own target directory:
        // see engine::executor_library).
        let executor = Path::new(super::executor_library::EXECUTOR_DIR);
        for target in [PathBuf::from("target"), executor.join("target")] {
            replace_with_copy(&seed.join(&target), &self.dir.join(&target))?;
        }
        // The same lock file resolves the same versions, so every copied crate is used.
        let lockfile = seed.join("Cargo.lock");
        if lockfile.exists() {
            copy_file(&lockfile, &self.dir.join("Cargo.lock"))?;
        }
        fs::write(&seeded_from, &generation).map_err(|e| io_err(&seeded_from, e))?;
        Ok(true)
    }

    /// Removes the slot's compiled artifacts (the next build starts from the seed, or clean).
    pub fn clear_build(&self) {
        let executor_target = self.dir.join(super::executor_library::EXECUTOR_DIR).join("target");
        for path in [self.dir.join("target"), executor_target, self.dir.join(SEEDED_FROM)] {
            let removed = if path.is_dir() { fs::remove_dir_all(&path) } else { fs::remove_file(&path) };
            if let Err(e) = removed {
                if e.kind() != std::io::ErrorKind::NotFound {
                    log::warn!("could not clear {}: {e}", path.display());
                }
            }
        }
    }
}

/// Replaces the directory `to` with a copy of `from` (file times kept), built beside it and
/// renamed into place; nothing when `from` does not exist.
fn replace_with_copy(from: &Path, to: &Path) -> Result<(), KernelError> {
    if !from.is_dir() {
        return Ok(());
    }
    let mut staging = to.as_os_str().to_owned();
    staging.push(".seeding");
    let staging = PathBuf::from(staging);
    remove_dir_if_present(&staging)?;
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent).map_err(|e| io_err(parent, e))?;
    }
    copy_tree(from, &staging)?;
    remove_dir_if_present(to)?;
    fs::rename(&staging, to).map_err(|e| io_err(to, e))
}

fn remove_dir_if_present(path: &Path) -> Result<(), KernelError> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(path, e)),
    }
}

/// Copies a file with its modification time: cargo decides what is fresh by comparing them.
fn copy_file(from: &Path, to: &Path) -> Result<(), KernelError> {
    fs::copy(from, to).map_err(|e| io_err(from, e))?;
    let modified = fs::metadata(from).and_then(|m| m.modified()).map_err(|e| io_err(from, e))?;
    let file = fs::OpenOptions::new().write(true).open(to).map_err(|e| io_err(to, e))?;
    file.set_modified(modified).map_err(|e| io_err(to, e))
}

/// Copies a directory tree, files with their modification times, symlinks as symlinks.
fn copy_tree(from: &Path, to: &Path) -> Result<(), KernelError> {
    fs::create_dir_all(to).map_err(|e| io_err(to, e))?;
    for entry in fs::read_dir(from).map_err(|e| io_err(from, e))? {
        let entry = entry.map_err(|e| io_err(from, e))?;
        let (source, dest) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().map_err(|e| io_err(&source, e))?;
        if kind.is_dir() {
            copy_tree(&source, &dest)?;
        } else if kind.is_symlink() {
            let link = fs::read_link(&source).map_err(|e| io_err(&source, e))?;
            #[cfg(unix)]
            std::os::unix::fs::symlink(&link, &dest).map_err(|e| io_err(&dest, e))?;
            #[cfg(not(unix))]
            let _ = link;
        } else {
            copy_file(&source, &dest)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

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

    fn write_old(path: &Path, text: &str, age_secs: u64) -> SystemTime {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
        let when = SystemTime::now() - Duration::from_secs(age_secs);
        File::options().write(true).open(path).unwrap().set_modified(when).unwrap();
        fs::metadata(path).unwrap().modified().unwrap()
    }

    #[test]
    fn a_slot_takes_each_published_seed_build_once_with_file_times_kept() {
        let root = tempfile::tempdir().unwrap();
        let seed = Workspace::acquire_seed(root.path()).unwrap();
        let rlib = seed.dir().join("target/debug/deps/libx.rlib");
        let when = write_old(&rlib, "v1", 3600);
        write_old(&seed.dir().join("Cargo.lock"), "lock v1", 3600);
        let slot = Workspace::acquire(root.path()).unwrap();
        assert!(!slot.refresh_from_seed().unwrap(), "a seed still being built must not be copied");
        seed.publish_seed().unwrap();
        drop(seed);

        let stale = slot.dir().join("target/debug/deps/libold.rlib");
        write_old(&stale, "from an older build", 10);
        assert!(slot.refresh_from_seed().unwrap());
        let copied = slot.dir().join("target/debug/deps/libx.rlib");
        assert_eq!(fs::read_to_string(&copied).unwrap(), "v1");
        assert_eq!(fs::metadata(&copied).unwrap().modified().unwrap(), when, "cargo compares file times");
        assert_eq!(fs::read_to_string(slot.dir().join("Cargo.lock")).unwrap(), "lock v1");
        assert!(!stale.exists(), "the slot's build is replaced, not merged");
        assert!(!slot.refresh_from_seed().unwrap(), "the same generation is copied once");

        // A new warm-up publishes a new generation, which the slot takes at its next start.
        let seed = Workspace::acquire_seed(root.path()).unwrap();
        write_old(&seed.dir().join("target/debug/deps/libx.rlib"), "v2", 60);
        assert!(!slot.refresh_from_seed().unwrap(), "the seed is locked while it is rebuilt");
        seed.publish_seed().unwrap();
        drop(seed);
        assert!(slot.refresh_from_seed().unwrap());
        assert_eq!(fs::read_to_string(&copied).unwrap(), "v2");
    }

    #[test]
    fn a_failed_warm_up_leaves_no_seed_to_copy() {
        let root = tempfile::tempdir().unwrap();
        let seed = Workspace::acquire_seed(root.path()).unwrap();
        write_old(&seed.dir().join("target/a"), "a", 1);
        seed.publish_seed().unwrap();
        drop(seed);
        // The next warm-up starts and fails before publishing.
        drop(Workspace::acquire_seed(root.path()).unwrap());
        let slot = Workspace::acquire(root.path()).unwrap();
        assert!(!slot.refresh_from_seed().unwrap());
        assert!(!slot.dir().join("target").exists());
    }

    /// The property the seed relies on, with real cargo: a target directory copied into
    /// another workspace is fresh there, including a dependency whose build script generates
    /// source that the crate includes (as serde's does), and stays fresh once the original
    /// is deleted.
    #[test]
    fn a_copied_build_is_fresh_for_cargo_in_another_workspace() {
        let root = tempfile::tempdir().unwrap();
        let dep = root.path().join("gen-dep");
        fs::create_dir_all(dep.join("src")).unwrap();
        fs::write(
            dep.join("Cargo.toml"),
            "[package]\nname = \"gen-dep\"\nversion = \"0.1.0\"\nedition = \"2021\"\nbuild = \"build.rs\"\n",
        )
        .unwrap();
        fs::write(
            dep.join("build.rs"),
            "fn main() { let out = std::env::var(\"OUT_DIR\").unwrap(); \
             std::fs::write(std::path::Path::new(&out).join(\"gen.rs\"), \"pub fn answer() -> u32 { 42 }\").unwrap(); }\n",
        )
        .unwrap();
        fs::write(dep.join("src/lib.rs"), "include!(concat!(env!(\"OUT_DIR\"), \"/gen.rs\"));\n").unwrap();
        let manifest = format!(
            "[package]\nname = \"ctx\"\nversion = \"1.0.0\"\nedition = \"2021\"\n[workspace]\n[dependencies]\ngen-dep = {{ path = {:?} }}\n",
            dep.display().to_string()
        );
        let write_crate = |dir: &Path| {
            fs::create_dir_all(dir.join("src")).unwrap();
            fs::write(dir.join("Cargo.toml"), &manifest).unwrap();
            fs::write(dir.join("src/lib.rs"), "pub fn f() -> u32 { gen_dep::answer() }\n").unwrap();
        };
        // Whether cargo compiled gen-dep in `dir` (false: it found it fresh).
        let build = |dir: &Path| -> bool {
            let out = std::process::Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
                .args(["build", "--offline", "--message-format=json"])
                .current_dir(dir)
                .env("CARGO_TARGET_DIR", "target")
                .env_remove("CARGO_BUILD_BUILD_DIR")
                .env_remove("RUSTFLAGS")
                .output()
                .unwrap();
            let stdout = String::from_utf8(out.stdout).unwrap();
            // With JSON messages, compiler errors come on stdout.
            assert!(out.status.success(), "{}\n{stdout}", String::from_utf8_lossy(&out.stderr));
            let artifact = stdout
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .find(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "gen_dep")
                .expect("cargo reports gen-dep");
            artifact["fresh"] == false
        };

        let seed = Workspace::acquire_seed(root.path()).unwrap();
        write_crate(seed.dir());
        assert!(build(seed.dir()), "the seed compiles gen-dep");
        seed.publish_seed().unwrap();
        let seed_dir = seed.dir().to_owned();
        drop(seed);

        let slot = Workspace::acquire(root.path()).unwrap();
        write_crate(slot.dir());
        assert!(slot.refresh_from_seed().unwrap());
        assert!(!build(slot.dir()), "the copied build of gen-dep is fresh in the slot");
        fs::remove_dir_all(seed_dir.join("target")).unwrap();
        assert!(!build(slot.dir()), "and needs nothing from the seed's own target directory");
    }
}
