//! The cell side of the marker lines ([`strata_markers::marker`], re-exported here): hooks
//! that report panics and flush output, and the evcxr result format of a cell's final value.

use serde_json::Value;
use std::io::Write;

pub use strata_markers::marker::{Bundle, FailureCause, Marker, FLUSH_FN_ENV, PREFIX};

/// Flushes the cells' stdout and stderr. Cells link the toolchain's shared libstd, whose
/// stdout buffer the kernel's own code cannot reach; the kernel calls this through the address
/// published by [`install_cell_hooks`] when a cell ends, so no `print!` text is left behind.
pub extern "C" fn flush_cell_output() {
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
}

/// Run once in each process that runs cells (the kernel does it at start and after a
/// restart): panics are reported as [`Marker::Panic`], `print!` text without a line end is
/// flushed within a tenth of a second while a cell runs, and the kernel learns how to flush
/// the rest when the cell ends.
pub fn install_cell_hooks() {
    report_panics();
    crate::repr::install();
    crate::progress::install();
    std::env::set_var(FLUSH_FN_ENV, (flush_cell_output as extern "C" fn() as usize).to_string());
    let _ = std::thread::Builder::new().name("strata-flush".into()).spawn(|| loop {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let _ = std::io::stdout().flush();
    });
}

/// Makes every later panic in this process write a [`Marker::Panic`] line, so the kernel can
/// report the panic's message as the cell's error instead of as loose stderr text.
pub fn report_panics() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic with a non-text payload".to_owned());
        let location = info.location().map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
        Marker::Panic { message, location }.emit();
    }));
}

/// Writes a cell's final value in the format evcxr collects into `execute_result`.
pub fn write_result(bundle: &Bundle) {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for (mime, value) in bundle {
        let text = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let _ = writeln!(out, "EVCXR_BEGIN_CONTENT {mime}\n{text}\nEVCXR_END_CONTENT");
    }
    let _ = out.flush();
}

