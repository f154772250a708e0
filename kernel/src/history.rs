//! Cell history, kept across kernel restarts in one JSON-lines file.
//!
//! Each kernel start is a new session numbered after the last one on disk; appends are single
//! lines, so two kernels writing at once interleave whole entries, never torn ones.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    pub session: u32,
    pub line: u32,
    pub input: String,
}

pub struct History {
    path: Option<PathBuf>,
    session: u32,
    entries: Vec<Entry>,
}

impl History {
    /// `$STRATA_HISTORY_FILE`, else `history.jsonl` in the user's data dir.
    pub fn default_path() -> Option<PathBuf> {
        std::env::var_os("STRATA_HISTORY_FILE")
            .map(PathBuf::from)
            .or_else(|| dirs::data_dir().map(|d| d.join("strata").join("history.jsonl")))
    }

    /// Loads earlier sessions; unreadable lines are skipped, a missing file is an empty history.
    pub fn open(path: Option<&Path>) -> History {
        let entries: Vec<Entry> = path
            .and_then(|p| std::fs::read_to_string(p).ok())
            .map(|text| text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect())
            .unwrap_or_default();
        let session = entries.iter().map(|e| e.session).max().unwrap_or(0) + 1;
        History { path: path.map(Path::to_owned), session, entries }
    }

    pub fn session(&self) -> u32 {
        self.session
    }

    /// Records a cell. History is a convenience: failing to persist it is logged, not fatal.
    pub fn append(&mut self, line: u32, input: &str) {
        let entry = Entry { session: self.session, line, input: input.to_owned() };
        if let Some(path) = &self.path {
            let result = (|| -> std::io::Result<()> {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
                let mut text = serde_json::to_string(&entry).map_err(std::io::Error::other)?;
                text.push('\n');
                file.write_all(text.as_bytes())
            })();
            if let Err(e) = result {
                log::warn!("could not save history to {}: {e}", path.display());
            }
        }
        self.entries.push(entry);
    }

    pub fn tail(&self, n: usize) -> Vec<&Entry> {
        let skip = self.entries.len().saturating_sub(n);
        self.entries.iter().skip(skip).collect()
    }

    /// Lines `start..stop` of a session; session 0 is this one, negative counts back from it.
    pub fn range(&self, session: i64, start: i64, stop: Option<i64>) -> Vec<&Entry> {
        let session = if session <= 0 { i64::from(self.session) + session } else { session };
        self.entries
            .iter()
            .filter(|e| i64::from(e.session) == session)
            .filter(|e| i64::from(e.line) >= start && stop.is_none_or(|s| i64::from(e.line) < s))
            .collect()
    }

    /// Entries whose input matches the glob `pattern` (`*`, `?`), the last `n`.
    pub fn search(&self, pattern: &str, n: Option<usize>, unique: bool) -> Vec<&Entry> {
        let mut found: Vec<&Entry> = self.entries.iter().filter(|e| glob_match(pattern, &e.input)).collect();
        if unique {
            let mut seen = std::collections::HashSet::new();
            let mut kept: Vec<&Entry> = found.into_iter().rev().filter(|e| seen.insert(e.input.as_str())).collect();
            kept.reverse();
            found = kept;
        }
        if let Some(n) = n {
            let skip = found.len().saturating_sub(n);
            found = found.into_iter().skip(skip).collect();
        }
        found
    }
}

/// The history list as the protocol sends it: `[session, line, input]` triples.
pub fn to_reply(entries: &[&Entry], with_output: bool) -> Value {
    Value::Array(
        entries
            .iter()
            .map(|e| {
                if with_output {
                    json!([e.session, e.line, [e.input, Value::Null]])
                } else {
                    json!([e.session, e.line, e.input])
                }
            })
            .collect(),
    )
}

fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_survives_a_restart_and_numbers_sessions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.jsonl");
        let mut h = History::open(Some(&path));
        assert_eq!(h.session(), 1);
        h.append(1, "let a = 1;");
        h.append(2, "a + 1");
        let h2 = History::open(Some(&path));
        assert_eq!(h2.session(), 2);
        assert_eq!(h2.tail(10).len(), 2);
        assert_eq!(h2.range(-1, 2, None)[0].input, "a + 1");
        assert_eq!(h2.range(1, 1, Some(2)).len(), 1);
        assert_eq!(h2.search("*a*", None, false).len(), 2);
        assert_eq!(h2.search("a*", None, false).len(), 1);
        assert_eq!(h2.search("a + ?", None, false).len(), 1);
        assert_eq!(to_reply(&h2.tail(1), false), json!([[1, 2, "a + 1"]]));
    }

    #[test]
    fn glob() {
        assert!(glob_match("*", ""));
        assert!(glob_match("1?2*", "1x2yyy"));
        assert!(!glob_match("1?2*", "12"));
        assert!(glob_match("*print*", "println!(\"x\")"));
    }
}
