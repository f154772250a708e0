//! The marker lines: the one definition of how a cell's process tells the kernel something
//! besides text: show, update or clear output in the middle of a cell, and how a cell failed.
//!
//! Each command is one stdout line: a prefix that ordinary output never starts with (it opens
//! with the ASCII record separator), then the command as single-line JSON. One line per
//! command means a command can never be split by, or mixed with, the user's own printing.
//!
//! The value a cell ends with uses evcxr's own result format instead (strata-display's
//! `write_result`), because evcxr collects it into the cell's `execute_result`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::io::Write;

/// Starts every marker line.
pub const PREFIX: &str = "\u{1e}strata-display:v1 ";

/// What a cell's process tells the kernel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Marker {
    /// Show a MIME bundle; with a display id it can be updated later.
    Display {
        data: Map<String, Value>,
        #[serde(default)]
        metadata: Map<String, Value>,
        #[serde(default)]
        display_id: Option<String>,
    },
    /// Replace what an earlier `Display` with this id shows, wherever it is.
    Update {
        data: Map<String, Value>,
        #[serde(default)]
        metadata: Map<String, Value>,
        display_id: String,
    },
    /// Clear the cell's output; with `wait`, only when the next output arrives.
    Clear {
        #[serde(default)]
        wait: bool,
    },
    /// A panic happened (written by the panic hook strata-display's `report_panics` installs). Whether it
    /// failed the cell is said by `CellFailed`: a panic caught inside user code does not.
    Panic { message: String, location: Option<String> },
    /// The cell did not complete: it panicked, or a `?` returned an error.
    CellFailed { cause: FailureCause },
    /// Text the cell wrote without a line end (yet), to be shown exactly as it is.
    Text { text: String },
    /// On stdout, at the end of a cell: the stderr filter was asked to pass on everything
    /// the cell wrote to stderr, and will then write [`Marker::StderrBarrier`] with this `seq`.
    StderrAsked { seq: u64 },
    /// On stderr: every line the cell wrote to stderr before request `seq` is ahead of this
    /// one. The kernel waits for it instead of waiting "a moment" for late lines.
    StderrBarrier { seq: u64 },
}

/// Names the environment variable through which the cell process (strata-display's
/// `install_cell_hooks`) tells the kernel's stream filter how to flush the cells' stdout (its
/// value: the address of an `extern "C" fn()` that flushes them).
pub const FLUSH_FN_ENV: &str = "STRATA_CELL_FLUSH_FN";

/// Why a cell failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureCause {
    Panic,
    /// A `?` in the cell returned an error; its message was written to stderr.
    Error,
}

impl Marker {
    /// The marker line, without its newline.
    pub fn to_line(&self) -> String {
        // A DisplayCommand always serializes: its maps have string keys.
        format!("{PREFIX}{}", serde_json::to_string(self).unwrap_or_default())
    }

    /// Parses a stdout line; `None` for ordinary output (or a damaged marker, which is then
    /// shown as the text it is rather than lost).
    pub fn parse(line: &str) -> Option<Marker> {
        serde_json::from_str(line.strip_prefix(PREFIX)?).ok()
    }

    /// Writes the marker to stdout at once, so it keeps its place among printed lines.
    pub fn emit(&self) {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        let _ = writeln!(out, "{}", self.to_line());
        let _ = out.flush();
    }
}

/// A MIME bundle as the markers carry it.
pub type Bundle = Map<String, Value>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_command_on_one_line() {
        let mut data = Map::new();
        data.insert("text/html".into(), Value::String("<b>multi\nline</b>".into()));
        let commands = [
            Marker::Display { data: data.clone(), metadata: Map::new(), display_id: Some("d1".into()) },
            Marker::Update { data, metadata: Map::new(), display_id: "d1".into() },
            Marker::Clear { wait: true },
            Marker::Panic { message: "boom\nline 2".into(), location: Some("src/lib.rs:1:1".into()) },
            Marker::CellFailed { cause: FailureCause::Error },
            Marker::Text { text: "50%\r".into() },
        ];
        for command in commands {
            let line = command.to_line();
            assert!(!line.contains('\n'));
            assert_eq!(Marker::parse(&line), Some(command));
        }
    }

    #[test]
    fn ordinary_and_damaged_lines_are_not_commands() {
        assert_eq!(Marker::parse("hello"), None);
        assert_eq!(Marker::parse(&format!("{PREFIX}{{not json")), None);
        assert_eq!(Marker::parse(&format!("{PREFIX}{{\"op\":\"explode\"}}")), None);
    }
}
