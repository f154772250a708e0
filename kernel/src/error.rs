//! The kernel's one error type: each variant names what failed and where.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    #[error("cannot use connection file {path}: {reason}")]
    ConnectionFile { path: PathBuf, reason: String },
    #[error("cannot bind the {channel} channel to {endpoint}: {reason}")]
    Bind { channel: &'static str, endpoint: String, reason: String },
    #[error("cannot prepare the compile workspace {path}: {reason}")]
    Workspace { path: PathBuf, reason: String },
    #[error("cannot install the kernelspec into {path}: {reason}")]
    Install { path: PathBuf, reason: String },
    #[error("cannot warm the compile cache: {0}")]
    Warm(String),
    #[error("cannot prepare the tutorial datasets: {0}")]
    Tutorial(String),
    #[error(transparent)]
    Pool(#[from] crate::pool::PoolError),
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
}
