//! The display-marker lines: the one definition of how a cell's process asks the kernel to
//! show, update or clear output in the middle of a cell.
//!
//! Each command is one stdout line: a prefix that ordinary output never starts with (it opens
//! with the ASCII record separator), then the command as single-line JSON. One line per
//! command means a command can never be split by, or mixed with, the user's own printing.
//!
//! The value a cell ends with uses evcxr's own result format instead ([`write_result`]),
//! because evcxr collects it into the cell's `execute_result`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::io::Write;

/// Starts every marker line.
pub const PREFIX: &str = "\u{1e}strata-display:v1 ";

/// What a cell asks the frontend to do with its output area.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum DisplayCommand {
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
}

impl DisplayCommand {
    /// The marker line, without its newline.
    pub fn to_line(&self) -> String {
        // A DisplayCommand always serializes: its maps have string keys.
        format!("{PREFIX}{}", serde_json::to_string(self).unwrap_or_default())
    }

    /// Parses a stdout line; `None` for ordinary output (or a damaged marker, which is then
    /// shown as the text it is rather than lost).
    pub fn parse(line: &str) -> Option<DisplayCommand> {
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

/// Writes a cell's final value in the format evcxr collects into `execute_result`.
pub fn write_result(bundle: &Map<String, Value>) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_command_on_one_line() {
        let mut data = Map::new();
        data.insert("text/html".into(), Value::String("<b>multi\nline</b>".into()));
        let commands = [
            DisplayCommand::Display { data: data.clone(), metadata: Map::new(), display_id: Some("d1".into()) },
            DisplayCommand::Update { data, metadata: Map::new(), display_id: "d1".into() },
            DisplayCommand::Clear { wait: true },
        ];
        for command in commands {
            let line = command.to_line();
            assert!(!line.contains('\n'));
            assert_eq!(DisplayCommand::parse(&line), Some(command));
        }
    }

    #[test]
    fn ordinary_and_damaged_lines_are_not_commands() {
        assert_eq!(DisplayCommand::parse("hello"), None);
        assert_eq!(DisplayCommand::parse(&format!("{PREFIX}{{not json")), None);
        assert_eq!(DisplayCommand::parse(&format!("{PREFIX}{{\"op\":\"explode\"}}")), None);
    }
}
