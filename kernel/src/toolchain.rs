//! The Rust toolchain that compiles cells: `cargo` and `rustc` from `PATH`, as the user's
//! shell finds them, else the toolchain this kernel was built with. A JupyterLab started
//! without `~/.cargo/bin` on its `PATH` (from a desktop launcher, a service) still runs
//! kernels: evcxr falls back the same way for the cells it compiles, and the kernel's own
//! calls (the executor library's build, the libstd directory, the version it reports) must
//! agree with it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The cargo that built this kernel (cargo sets `CARGO` for every crate it compiles); its
/// toolchain's `rustc` sits beside it.
const BUILT_WITH_CARGO: &str = env!("CARGO");

/// `name` (`cargo`, `rustc`) on this process's `PATH`, else beside the cargo that built the
/// kernel, else the bare name (whose failure to start then names it).
pub fn tool(name: &str) -> PathBuf {
    find_on(std::env::var_os("PATH"), name)
}

/// `name` as [`tool`] finds it, for a process whose `PATH` is `path`.
pub fn find_on(path: Option<OsString>, name: &str) -> PathBuf {
    find_tool(name, path, Path::new(BUILT_WITH_CARGO))
}

fn find_tool(name: &str, path: Option<OsString>, built_with_cargo: &Path) -> PathBuf {
    let on_path = path.iter().flat_map(std::env::split_paths).map(|dir| dir.join(name)).find(|p| p.is_file());
    on_path
        .or_else(|| Some(built_with_cargo.with_file_name(name)).filter(|p| p.is_file()))
        .unwrap_or_else(|| PathBuf::from(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tool_on_the_path_is_used_first() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cargo"), "").unwrap();
        let path = std::env::join_paths([dir.path()]).unwrap();
        assert_eq!(find_tool("cargo", Some(path), Path::new("/elsewhere/cargo")), dir.path().join("cargo"));
    }

    #[test]
    fn without_it_on_the_path_the_toolchain_that_built_the_kernel_is_used() {
        let empty = tempfile::tempdir().unwrap();
        let path = std::env::join_paths([empty.path()]).unwrap();
        let found = find_tool("rustc", Some(path), Path::new(BUILT_WITH_CARGO));
        assert!(found.is_file() && found.parent() == Path::new(BUILT_WITH_CARGO).parent(), "{}", found.display());
        assert_eq!(find_tool("cargo", None, Path::new("/nowhere/cargo")), PathBuf::from("cargo"));
    }
}
