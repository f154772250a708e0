//! `strata install`: registers the kernelspec where Jupyter looks, like ipykernel's installer,
//! and warms the compile cache so the first cell of a new kernel answers in seconds.

use std::path::{Path, PathBuf};

use crate::error::KernelError;

const KERNEL_JSON: &str = include_str!("../../kernelspec/kernel.json");
const LOGOS: [(&str, &[u8]); 3] = [
    ("logo-32x32.png", include_bytes!("../../kernelspec/logo-32x32.png")),
    ("logo-64x64.png", include_bytes!("../../kernelspec/logo-64x64.png")),
    ("logo-svg.svg", include_bytes!("../../kernelspec/logo-svg.svg")),
];

/// Where to install, with ipykernel's meanings.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// The user's Jupyter data dir (`$JUPYTER_DATA_DIR`, else `~/.local/share/jupyter`).
    User,
    /// The active Python environment's prefix (`$VIRTUAL_ENV`, `$CONDA_PREFIX`, else the
    /// prefix of `python3` on PATH).
    SysPrefix,
    /// `DIR/share/jupyter`.
    Prefix(PathBuf),
}

/// The `kernels/` directory of the chosen target.
pub fn kernels_dir(target: &Target) -> Result<PathBuf, KernelError> {
    let jupyter_dir = match target {
        Target::User => match std::env::var_os("JUPYTER_DATA_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => dirs::data_dir()
                .ok_or_else(|| KernelError::Install { path: PathBuf::from("~"), reason: "no home directory".into() })?
                .join("jupyter"),
        },
        Target::SysPrefix => python_prefix()?.join("share").join("jupyter"),
        Target::Prefix(dir) => dir.join("share").join("jupyter"),
    };
    Ok(jupyter_dir.join("kernels"))
}

fn python_prefix() -> Result<PathBuf, KernelError> {
    for var in ["VIRTUAL_ENV", "CONDA_PREFIX"] {
        if let Some(dir) = std::env::var_os(var) {
            return Ok(PathBuf::from(dir));
        }
    }
    let output = std::process::Command::new("python3")
        .args(["-c", "import sys; print(sys.prefix)"])
        .output()
        .map_err(|e| KernelError::Install { path: "python3".into(), reason: format!("cannot ask python3 for sys.prefix: {e}") })?;
    let prefix = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if prefix.is_empty() {
        return Err(KernelError::Install { path: "python3".into(), reason: "python3 printed no sys.prefix".into() });
    }
    Ok(PathBuf::from(prefix))
}

/// The kernel.json for a kernel run by `exe`, loading the crates in `crates_dir`.
pub fn kernel_json(exe: &Path, crates_dir: &Path) -> String {
    // The template holds JSON strings; escape the paths the way JSON wants them.
    let quote = |p: &Path| {
        let s = serde_json::to_string(&p.to_string_lossy()).unwrap_or_default();
        s[1..s.len() - 1].to_owned()
    };
    KERNEL_JSON.replace("{strata_exe}", &quote(exe)).replace("{crates_dir}", &quote(crates_dir))
}

/// Writes the kernelspec `name` into the target; returns its directory.
pub fn install_kernelspec(target: &Target, name: &str, exe: &Path, crates_dir: &Path) -> Result<PathBuf, KernelError> {
    let dir = kernels_dir(target)?.join(name);
    let err = |path: &Path, e: std::io::Error| KernelError::Install { path: path.to_owned(), reason: e.to_string() };
    std::fs::create_dir_all(&dir).map_err(|e| err(&dir, e))?;
    let json_path = dir.join("kernel.json");
    std::fs::write(&json_path, kernel_json(exe, crates_dir)).map_err(|e| err(&json_path, e))?;
    for (file, bytes) in LOGOS {
        let path = dir.join(file);
        std::fs::write(&path, bytes).map_err(|e| err(&path, e))?;
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_valid_kernelspec_with_logos() {
        let prefix = tempfile::tempdir().unwrap();
        let target = Target::Prefix(prefix.path().to_owned());
        let dir = install_kernelspec(&target, "strata", Path::new("/opt/a \"b\"/strata"), Path::new("/src")).unwrap();
        assert_eq!(dir, prefix.path().join("share/jupyter/kernels/strata"));
        let spec: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("kernel.json")).unwrap()).unwrap();
        assert_eq!(spec["argv"][0], "/opt/a \"b\"/strata");
        assert_eq!(spec["argv"][3], "{connection_file}");
        assert_eq!(spec["display_name"], "Rust (Strata)");
        assert_eq!(spec["language"], "rust");
        assert_eq!(spec["interrupt_mode"], "message");
        assert_eq!(spec["env"]["STRATA_CRATES_DIR"], "/src");
        for (file, _) in LOGOS {
            assert!(dir.join(file).exists(), "{file}");
        }
    }
}
