//! What an engine's build depends on besides the binary: a spare may serve a kernel only if
//! the kernel, started cold, would have built its cells the same way.
//!
//! Everything else in the kernel's environment (credentials, `JPY_*`, `STRATA_LOG`, the
//! user's own variables) the spare takes on at handoff, and the cell process is restarted
//! in it. What cannot be taken on afterwards is what evcxr and cargo read when the engine
//! starts or when they compile: the toolchain (found through `PATH`), cargo's and rustup's
//! settings, the Strata crates and cache, and an `evcxr.toml` in the notebook's directory.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

/// The settings two engines must share for one to stand in for the other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineShape {
    cargo: PathBuf,
    rustc: PathBuf,
    crates_dir: PathBuf,
    /// Variables cargo, rustc, rustup and evcxr read, by name.
    build_vars: BTreeMap<OsString, OsString>,
}

/// Variables set by the kernel itself for evcxr: not the user's choice, so not compared.
const SET_BY_THE_KERNEL: [&str; 2] = ["EVCXR_TMPDIR", "EVCXR_CONFIG_DIR"];

/// Runtime-only variables with build-tool prefixes: they change what a program prints when
/// it fails, not what is built, and the restarted cell process takes them on.
const RUNTIME_ONLY: [&str; 3] = ["RUST_BACKTRACE", "RUST_LIB_BACKTRACE", "RUST_LOG"];

fn shapes_the_build(name: &OsStr) -> bool {
    let Some(name) = name.to_str() else { return false };
    if SET_BY_THE_KERNEL.contains(&name) || RUNTIME_ONLY.contains(&name) {
        return false;
    }
    ["CARGO", "RUST", "EVCXR_"].iter().any(|prefix| name.starts_with(prefix)) || name == "STRATA_CACHE_DIR"
}

impl EngineShape {
    /// The shape of an engine started in `env` (name, value pairs).
    pub fn of(env: &[(OsString, OsString)]) -> EngineShape {
        let lookup = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let path = lookup("PATH");
        let crates_dir = lookup("STRATA_CRATES_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".."));
        EngineShape {
            cargo: crate::toolchain::find_on(path.clone(), "cargo"),
            rustc: crate::toolchain::find_on(path, "rustc"),
            crates_dir: crates_dir.canonicalize().unwrap_or(crates_dir),
            build_vars: env.iter().filter(|(k, _)| shapes_the_build(k)).cloned().collect(),
        }
    }

    /// The shape of an engine started in this process's environment.
    pub fn current() -> EngineShape {
        EngineShape::of(&std::env::vars_os().collect::<Vec<_>>())
    }

    /// Why an engine of shape `self` cannot serve a kernel of shape `wanted`, if it cannot:
    /// the settings that differ, by name (never their values, which may be secrets).
    pub fn mismatch(&self, wanted: &EngineShape) -> Option<String> {
        let mut differ: Vec<String> = Vec::new();
        if self.cargo != wanted.cargo || self.rustc != wanted.rustc {
            differ.push(format!("the toolchain ({} instead of {})", wanted.rustc.display(), self.rustc.display()));
        }
        if self.crates_dir != wanted.crates_dir {
            differ.push(format!("the Strata crates ({} instead of {})", wanted.crates_dir.display(), self.crates_dir.display()));
        }
        let names: std::collections::BTreeSet<&OsString> = self.build_vars.keys().chain(wanted.build_vars.keys()).collect();
        for name in names {
            if self.build_vars.get(name) != wanted.build_vars.get(name) {
                differ.push(name.to_string_lossy().into_owned());
            }
        }
        (!differ.is_empty()).then(|| format!("the kernel's environment differs in {}", differ.join(", ")))
    }
}

/// An `evcxr.toml` in the directory a kernel starts in configures the engine as it starts,
/// which a spare has done already.
pub fn local_evcxr_config(cwd: &Path) -> Option<PathBuf> {
    Some(cwd.join("evcxr.toml")).filter(|p| p.exists())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs.iter().map(|(k, v)| (OsString::from(k), OsString::from(v))).collect()
    }

    #[test]
    fn the_users_own_variables_do_not_matter_but_build_settings_do() {
        let base = env(&[("PATH", "/usr/bin"), ("HOME", "/h"), ("RUST_BACKTRACE", "0")]);
        let spare = EngineShape::of(&base);
        let user = env(&[("PATH", "/usr/bin"), ("HOME", "/h"), ("AWS_ACCESS_KEY_ID", "k"), ("JPY_PARENT_PID", "1"), ("RUST_BACKTRACE", "full")]);
        assert_eq!(spare.mismatch(&EngineShape::of(&user)), None);
        let flags = env(&[("PATH", "/usr/bin"), ("RUSTFLAGS", "-C target-cpu=native")]);
        let why = spare.mismatch(&EngineShape::of(&flags)).unwrap();
        assert!(why.contains("RUSTFLAGS") && !why.contains("native"), "{why}");
        let cache = env(&[("PATH", "/usr/bin"), ("STRATA_CACHE_DIR", "/elsewhere")]);
        assert!(spare.mismatch(&EngineShape::of(&cache)).unwrap().contains("STRATA_CACHE_DIR"));
    }

    #[test]
    fn another_toolchain_on_the_path_is_a_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("rustc"), "").unwrap();
        std::fs::write(dir.path().join("cargo"), "").unwrap();
        let ours = EngineShape::of(&env(&[("PATH", "/nonexistent")]));
        let theirs = EngineShape::of(&[(OsString::from("PATH"), dir.path().as_os_str().to_owned())]);
        assert!(ours.mismatch(&theirs).unwrap().contains("toolchain"));
    }
}
