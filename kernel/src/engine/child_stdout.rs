//! In the process that runs cells: a filter on stdout that makes evcxr's private failure
//! lines visible to the kernel.
//!
//! evcxr runs a cell inside `catch_unwind` and wraps `?` errors; it prints
//! `EVCXR_PANIC_NOTIFICATION` or `EVCXR_ERROR_OCCURRED` on stdout, consumes those lines itself
//! and still reports the cell as a success. A notebook user must see a failed cell fail, so
//! this filter, placed between the cell process and its stdout pipe, writes a
//! [`Marker::CellFailed`] line ahead of each of them. Everything else passes through
//! unchanged, line by line.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::FromRawFd;

use strata_display::marker::{FailureCause, Marker};

const PANIC_LINE: &[u8] = b"EVCXR_PANIC_NOTIFICATION";
const ERROR_LINE: &[u8] = b"EVCXR_ERROR_OCCURRED";

/// Puts the filter in place. Call before anything writes to stdout.
pub fn install() -> std::io::Result<()> {
    let mut fds = [0; 2];
    // SAFETY: plain fd syscalls on descriptors this function owns; results are checked.
    unsafe {
        if libc::pipe(fds.as_mut_ptr()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let original = libc::dup(1);
        if original < 0 || libc::dup2(fds[1], 1) < 0 {
            return Err(std::io::Error::last_os_error());
        }
        libc::close(fds[1]);
        let reader = File::from_raw_fd(fds[0]);
        let writer = File::from_raw_fd(original);
        std::thread::Builder::new()
            .name("stdout-filter".into())
            .spawn(move || forward(BufReader::new(reader), writer))?;
    }
    Ok(())
}

fn forward(mut reader: impl BufRead, mut out: impl Write) {
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        let cause = match text {
            PANIC_LINE => Some(FailureCause::Panic),
            ERROR_LINE => Some(FailureCause::Error),
            _ => None,
        };
        if let Some(cause) = cause {
            let marker = Marker::CellFailed { cause }.to_line();
            let _ = out.write_all(marker.as_bytes());
            let _ = out.write_all(b"\n");
        }
        if out.write_all(&line).and_then(|_| out.flush()).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_a_failure_marker_before_evcxrs_private_lines() {
        let input = b"hello\nEVCXR_ERROR_OCCURRED\nEVCXR_PANIC_NOTIFICATION\npartial";
        let mut out = Vec::new();
        forward(&input[..], &mut out);
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.split('\n').collect();
        assert_eq!(lines[0], "hello");
        assert_eq!(Marker::parse(lines[1]), Some(Marker::CellFailed { cause: FailureCause::Error }));
        assert_eq!(lines[2], "EVCXR_ERROR_OCCURRED");
        assert_eq!(Marker::parse(lines[3]), Some(Marker::CellFailed { cause: FailureCause::Panic }));
        assert_eq!(lines[4], "EVCXR_PANIC_NOTIFICATION");
        assert_eq!(lines[5], "partial");
    }
}
