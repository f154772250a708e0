//! Loading the executor's shared library into the cell process.
//!
//! The library links against this crate's dylib (the one the cells already loaded), so the
//! API types it implements are the cells' own; its entry point registers the executor and the
//! figure renderer with them. A library built against another build of this crate (other
//! versions or features of a shared dependency) does not load: its symbols carry that build's
//! hash, and the dynamic loader names the one it misses.
//!
//! `dlopen`, `dlsym` and `dlerror` are declared here rather than taken from a crate: they are
//! three C functions, and every crate this one depends on is compiled against by every cell.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::path::Path;

/// The entry point the executor library exports (see the `strata-executor` crate).
const ENTRY: &str = "strata_executor_init";

/// Resolve every symbol at load, so a library built against another strata-cells fails here,
/// with the missing symbol's name (the value on glibc and macOS alike).
const RTLD_NOW: c_int = 2;

extern "C" {
    fn dlopen(filename: *const c_char, flag: c_int) -> *mut c_void;
    fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
    fn dlerror() -> *mut c_char;
}

/// Why the executor did not load.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("the executor library {path} does not exist (the kernel builds it at start: see its log)")]
    Missing { path: String },
    #[error("the executor library {path} could not be loaded: {cause}")]
    Open { path: String, cause: String },
    #[error("{path} is not Strata's executor library: it has no `{ENTRY}` ({cause})")]
    NoEntry { path: String, cause: String },
    #[error("the executor library {path} loaded, but registered no executor")]
    NotRegistered { path: String },
}

fn last_error() -> String {
    // SAFETY: dlerror returns null or a C string owned by libdl, valid until the next dl call.
    let message = unsafe { dlerror() };
    if message.is_null() {
        "unknown error".to_owned()
    } else {
        // SAFETY: non-null, NUL-terminated (dlerror's contract).
        unsafe { CStr::from_ptr(message) }.to_string_lossy().into_owned()
    }
}

/// Loads the executor library at `path` and runs its entry point, which registers the
/// executor (and the figure renderer) with this process's API. Loading it twice is harmless.
/// Returns the registered executor's name.
pub fn load_executor(path: impl AsRef<Path>) -> Result<&'static str, LoadError> {
    let path = path.as_ref();
    let shown = path.display().to_string();
    if !path.is_file() {
        return Err(LoadError::Missing { path: shown });
    }
    let c_path = CString::new(path.as_os_str().as_encoded_bytes()).map_err(|e| LoadError::Open { path: shown.clone(), cause: e.to_string() })?;
    // SAFETY: a NUL-terminated path; the library is kept loaded for the process's life (never
    // closed), since the registered executor's code lives in it.
    let handle = unsafe { dlopen(c_path.as_ptr(), RTLD_NOW) };
    if handle.is_null() {
        return Err(LoadError::Open { path: shown, cause: last_error() });
    }
    let entry_name = CString::new(ENTRY).map_err(|e| LoadError::NoEntry { path: shown.clone(), cause: e.to_string() })?;
    // SAFETY: a valid handle and a NUL-terminated name.
    let entry = unsafe { dlsym(handle, entry_name.as_ptr()) };
    if entry.is_null() {
        return Err(LoadError::NoEntry { path: shown, cause: last_error() });
    }
    // SAFETY: the symbol is the executor's `extern "C" fn()` entry point (the crate's contract).
    let init: extern "C" fn() = unsafe { std::mem::transmute::<*mut c_void, extern "C" fn()>(entry) };
    init();
    strata::executor::registered().ok_or(LoadError::NotRegistered { path: shown })
}
