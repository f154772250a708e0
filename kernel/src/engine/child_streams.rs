//! In the process that runs cells: filters on its stdout and stderr that make what evcxr
//! hides from the kernel visible, and that lose nothing a cell wrote.
//!
//! evcxr reads the cell process's output line by line and treats some lines as its own:
//! - it runs a cell inside `catch_unwind` and wraps `?` errors; it prints
//!   `EVCXR_PANIC_NOTIFICATION` or `EVCXR_ERROR_OCCURRED`, consumes those lines and still
//!   reports success. A notebook user must see a failed cell fail, so a
//!   [`Marker::CellFailed`] line goes ahead of each.
//! - text without a line end (`print!("50%...")`) never completes a line, so evcxr would hold
//!   it back, or lose it when the cell ends. After a short quiet spell, or when the cell ends,
//!   the filter passes such text on as a [`Marker::Text`] line.
//! - a cell's `print!` text may still sit in the cell's stdout buffer (the cells' libstd is
//!   not this binary's) when the cell returns; before passing on `EVCXR_EXECUTION_COMPLETE`,
//!   the filter calls the flush function the cell hooks registered ([`FLUSH_FN_ENV`]), and has
//!   the stderr filter pass on everything the cell wrote to stderr, partial text included.
//!   stderr reaches the kernel through another pipe, so the two filters number that request:
//!   stdout says [`Marker::StderrAsked`] and stderr ends what it passed on with
//!   [`Marker::StderrBarrier`] of the same number, which the kernel waits for. No line is
//!   then late because the machine was busy.
//! - partial text followed by one of evcxr's lines arrives glued to it (`50%EVCXR_BEGIN_...`);
//!   evcxr would not recognise its line and would swallow or hang on it, so such lines are
//!   split where evcxr's part starts.

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::time::Duration;

use strata_markers::marker::{FailureCause, Marker, FLUSH_FN_ENV, PREFIX};

const PANIC_LINE: &[u8] = b"EVCXR_PANIC_NOTIFICATION";
const ERROR_LINE: &[u8] = b"EVCXR_ERROR_OCCURRED";
const COMPLETE_LINE: &[u8] = b"EVCXR_EXECUTION_COMPLETE";

/// How long a partial line may wait for its end before it is passed on as it is.
const PARTIAL_QUIET: Duration = Duration::from_millis(20);
/// How long the end-of-cell flush may take (a thread of the user's holding the stdout lock
/// must not hang the kernel).
const FLUSH_TIMEOUT: Duration = Duration::from_millis(250);

#[derive(Clone, Copy, PartialEq)]
enum Stream {
    Stdout,
    Stderr,
}

/// Puts both filters in place. Call before anything writes to stdout or stderr.
pub fn install() -> std::io::Result<()> {
    let (request_rx, request_tx) = pipe()?;
    interpose(1, Stream::Stdout, Some(Peer::Asks { request: request_tx, seq: 0 }))?;
    interpose(2, Stream::Stderr, Some(Peer::Answers { request: request_rx }))
}

/// How the stdout filter has the stderr filter pass on its partial text when a cell ends.
enum Peer {
    /// Writes numbered requests; the answer is the barrier the kernel waits for, not a
    /// reply to this filter.
    Asks { request: File, seq: u64 },
    Answers { request: File },
}

fn pipe() -> std::io::Result<(File, File)> {
    let mut fds = [0; 2];
    // SAFETY: pipe(2) fills two fds we then own, each wrapped in exactly one File.
    unsafe {
        if libc::pipe(fds.as_mut_ptr()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok((File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])))
    }
}

fn interpose(fd: RawFd, stream: Stream, peer: Option<Peer>) -> std::io::Result<()> {
    let (reader, pipe_writer) = pipe()?;
    // SAFETY: dup/dup2 on the process's standard fd; results are checked and the duplicate
    // of the original is wrapped in exactly one File.
    let writer = unsafe {
        let original = libc::dup(fd);
        if original < 0 || libc::dup2(pipe_writer.as_raw_fd(), fd) < 0 {
            return Err(std::io::Error::last_os_error());
        }
        File::from_raw_fd(original)
    };
    drop(pipe_writer); // `fd` now holds the write end
    std::thread::Builder::new()
        .name(if stream == Stream::Stdout { "stdout-filter" } else { "stderr-filter" }.into())
        .spawn(move || Filter { reader, out: writer, stream, pending: Vec::new(), peer }.run())?;
    Ok(())
}

struct Filter<W: Write> {
    reader: File,
    out: W,
    stream: Stream,
    /// Bytes of a line whose end has not arrived yet.
    pending: Vec<u8>,
    peer: Option<Peer>,
}

impl<W: Write> Filter<W> {
    fn run(mut self) {
        loop {
            let timeout = if self.pending.is_empty() { None } else { Some(PARTIAL_QUIET) };
            let request = match &self.peer {
                Some(Peer::Answers { request, .. }) => Some(request.as_raw_fd()),
                _ => None,
            };
            match wait_readable(&self.reader, request, timeout) {
                Readable::Data => {
                    if !self.read_some() {
                        self.pass_partial();
                        return;
                    }
                }
                Readable::Request => self.answer_request(),
                Readable::TimedOut => self.pass_partial(),
                Readable::Failed => return,
            }
        }
    }

    /// The stdout filter saw a cell end: pass on everything, then say so.
    fn answer_request(&mut self) {
        // Requests are 8-byte numbers; several may be waiting: the last one covers them all.
        let mut seq = None;
        if let Some(Peer::Answers { request, .. }) = &mut self.peer {
            let mut bytes = [0u8; 8 * 64];
            if let Ok(n) = std::io::Read::read(request, &mut bytes) {
                seq = bytes[..n - n % 8].chunks_exact(8).filter_map(|c| c.try_into().ok()).map(u64::from_le_bytes).max();
            }
        }
        self.drain_ready();
        self.pass_partial();
        if let Some(seq) = seq {
            self.marker(Marker::StderrBarrier { seq });
        }
    }

    /// Handles whatever can be read right now without waiting.
    fn drain_ready(&mut self) {
        while let Readable::Data = wait_readable(&self.reader, None, Some(Duration::ZERO)) {
            if !self.read_some() {
                return;
            }
        }
    }

    /// Reads what is there and handles every complete line; false at end of input.
    fn read_some(&mut self) -> bool {
        let mut buf = [0u8; 8192];
        let n = match std::io::Read::read(&mut self.reader, &mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => n,
        };
        self.take(&buf[..n]);
        true
    }

    fn take(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
        while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            self.line(&line);
        }
    }

    fn line(&mut self, line: &[u8]) {
        if self.stream == Stream::Stdout && !line.starts_with(PREFIX.as_bytes()) {
            if let Some(start) = find(line, b"EVCXR_").filter(|&start| start > 0) {
                let head = String::from_utf8_lossy(&line[..start]).into_owned();
                self.marker(Marker::Text { text: head });
                return self.line(&line[start..]);
            }
        }
        let text = line.strip_suffix(b"\n").unwrap_or(line);
        if self.stream == Stream::Stdout {
            match text {
                PANIC_LINE => self.marker(Marker::CellFailed { cause: FailureCause::Panic }),
                ERROR_LINE => self.marker(Marker::CellFailed { cause: FailureCause::Error }),
                COMPLETE_LINE => self.finish_cell(),
                _ => {}
            }
        }
        self.write(line);
    }

    /// The cell has returned: everything it wrote must go out ahead of the completion line.
    fn finish_cell(&mut self) {
        flush_cell_streams();
        // The flush wrote into our own pipe; pass on whatever it put there. Complete lines
        // are ordinary output here: evcxr writes nothing more until it hears of the end.
        while let Readable::Data = wait_readable(&self.reader, None, Some(Duration::ZERO)) {
            let mut buf = [0u8; 8192];
            match std::io::Read::read(&mut self.reader, &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    self.pending.extend_from_slice(&buf[..n]);
                    while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
                        let line: Vec<u8> = self.pending.drain(..=end).collect();
                        self.write(&line);
                    }
                }
            }
        }
        self.pass_partial();
        let mut asked = None;
        if let Some(Peer::Asks { request, seq }) = &mut self.peer {
            *seq += 1;
            if request.write_all(&seq.to_le_bytes()).is_ok() {
                asked = Some(*seq);
            }
        }
        // Only once the cell hooks are in (the kernel's output pump is reading by then): the
        // cell evcxr runs while it starts has nobody reading its stdout but evcxr, which would
        // wait forever for this line to be taken.
        if let Some(seq) = asked.filter(|_| std::env::var_os(FLUSH_FN_ENV).is_some()) {
            self.marker(Marker::StderrAsked { seq });
        }
    }

    fn pass_partial(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&std::mem::take(&mut self.pending)).into_owned();
        self.marker(Marker::Text { text });
    }

    fn marker(&mut self, marker: Marker) {
        let mut line = marker.to_line().into_bytes();
        line.push(b'\n');
        self.write(&line);
    }

    fn write(&mut self, bytes: &[u8]) {
        let _ = self.out.write_all(bytes).and_then(|_| self.out.flush());
    }
}

enum Readable {
    Data,
    Request,
    TimedOut,
    Failed,
}

/// Waits for data on `file` (or a request on `request`), at most `timeout` (forever: None).
fn wait_readable(file: &File, request: Option<RawFd>, timeout: Option<Duration>) -> Readable {
    let mut pfds = [
        libc::pollfd { fd: file.as_raw_fd(), events: libc::POLLIN, revents: 0 },
        libc::pollfd { fd: request.unwrap_or(-1), events: libc::POLLIN, revents: 0 },
    ];
    let count: libc::nfds_t = if request.is_some() { 2 } else { 1 };
    let ms = timeout.map_or(-1, |t| i32::try_from(t.as_millis()).unwrap_or(i32::MAX));
    loop {
        // SAFETY: `count` valid pollfds for fds we own.
        let r = unsafe { libc::poll(pfds.as_mut_ptr(), count, ms) };
        if r > 0 {
            // A request is answered after the data that came before it.
            if pfds[0].revents != 0 {
                return Readable::Data;
            }
            return Readable::Request;
        }
        if r == 0 {
            return Readable::TimedOut;
        }
        if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return Readable::Failed;
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Calls the flush function the cell hooks registered, if any, waiting at most
/// [`FLUSH_TIMEOUT`].
fn flush_cell_streams() {
    let Some(address) = std::env::var(FLUSH_FN_ENV).ok().and_then(|v| v.parse::<usize>().ok()) else {
        return;
    };
    if address == 0 {
        return;
    }
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new().name("cell-flush".into()).spawn(move || {
        // SAFETY: the address was published by `strata_display::marker::install_cell_hooks`
        // in this process, from a function item of type `extern "C" fn()` in a library that
        // evcxr never unloads.
        let flush: extern "C" fn() = unsafe { std::mem::transmute::<usize, extern "C" fn()>(address) };
        flush();
        let _ = done_tx.send(());
    });
    if spawned.is_ok() {
        let _ = done_rx.recv_timeout(FLUSH_TIMEOUT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(stream: Stream) -> Filter<Vec<u8>> {
        // Any readable fd will do: the tests feed bytes through `take` directly.
        let reader = File::open("/dev/null").unwrap();
        Filter { reader, out: Vec::new(), stream, pending: Vec::new(), peer: None }
    }

    fn lines(out: &[u8]) -> Vec<String> {
        String::from_utf8(out.to_vec()).unwrap().lines().map(str::to_owned).collect()
    }

    #[test]
    fn inserts_a_failure_marker_before_evcxrs_private_lines() {
        let mut f = filter(Stream::Stdout);
        f.take(b"hello\nEVCXR_ERROR_OCCURRED\nEVCXR_PANIC_NOTIFICATION\n");
        let lines = lines(&f.out);
        assert_eq!(lines[0], "hello");
        assert_eq!(Marker::parse(&lines[1]), Some(Marker::CellFailed { cause: FailureCause::Error }));
        assert_eq!(lines[2], "EVCXR_ERROR_OCCURRED");
        assert_eq!(Marker::parse(&lines[3]), Some(Marker::CellFailed { cause: FailureCause::Panic }));
        assert_eq!(lines[4], "EVCXR_PANIC_NOTIFICATION");
    }

    #[test]
    fn partial_text_is_passed_on_before_the_completion_line() {
        let mut f = filter(Stream::Stdout);
        f.take(b"50%");
        assert!(f.out.is_empty(), "a partial line waits for its end or a quiet spell");
        f.take(b" done\nlast bit");
        f.finish_cell();
        f.write(b"EVCXR_EXECUTION_COMPLETE\n");
        let lines = lines(&f.out);
        assert_eq!(lines[0], "50% done");
        assert_eq!(Marker::parse(&lines[1]), Some(Marker::Text { text: "last bit".into() }));
        assert_eq!(lines[2], "EVCXR_EXECUTION_COMPLETE");
    }

    #[test]
    fn partial_text_glued_to_evcxrs_lines_is_split_off() {
        let mut f = filter(Stream::Stdout);
        f.take(b"aEVCXR_BEGIN_CONTENT text/plain\n1\nEVCXR_END_CONTENT\n50%EVCXR_EXECUTION_COMPLETE\n");
        let lines = lines(&f.out);
        assert_eq!(Marker::parse(&lines[0]), Some(Marker::Text { text: "a".into() }));
        assert_eq!(lines[1], "EVCXR_BEGIN_CONTENT text/plain");
        assert_eq!(lines[2..4], ["1", "EVCXR_END_CONTENT"]);
        assert_eq!(Marker::parse(&lines[4]), Some(Marker::Text { text: "50%".into() }));
        assert_eq!(lines[5], "EVCXR_EXECUTION_COMPLETE");
    }

    #[test]
    fn stderr_lines_are_not_interpreted() {
        let mut f = filter(Stream::Stderr);
        f.take(b"EVCXR_ERROR_OCCURRED\n");
        assert_eq!(lines(&f.out), vec!["EVCXR_ERROR_OCCURRED"]);
    }
}
