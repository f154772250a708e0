//! A text progress bar on stderr, for computations run outside a notebook from a terminal
//! (programs, tests run by hand). Drawn only when stderr is a terminal and the computation
//! has run for its session's [`crate::session::Session::progress_after`] (half a
//! second unless set); redrawn in place with a carriage return, at most ten times a
//! second; nothing at all when stderr is a file or a pipe.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{Observer, Progress};
use crate::error::human_bytes;

/// An [`Observer`] drawing a text progress bar on stderr (see the module documentation).
#[derive(Default)]
pub struct TerminalProgress {
    /// (started, last drawn, bytes so far, delay before the first draw)
    state: Mutex<Option<(Instant, Option<Instant>, u64, Duration)>>,
}

impl TerminalProgress {
    /// The bar when stderr is a terminal; `None` otherwise.
    pub fn for_stderr() -> Option<TerminalProgress> {
        std::io::stderr().is_terminal().then(TerminalProgress::default)
    }
}

/// A 30-character gauge and percentage, `[###############---------------]  50%`: the text
/// bar's left part, here and in a notebook's text/plain bar.
pub fn gauge(fraction: f64) -> String {
    let fraction = fraction.clamp(0.0, 1.0);
    let filled = (fraction * 30.0).round() as usize;
    format!("[{}{}] {:>3.0}%", "#".repeat(filled), "-".repeat(30 - filled), fraction * 100.0)
}

fn line(done: usize, total: usize, bytes: u64, elapsed: Duration) -> String {
    let fraction = if total == 0 { 1.0 } else { done as f64 / total as f64 };
    format!("\r{} {done} / {total} tasks · {} · {:.1} s", gauge(fraction), human_bytes(bytes), elapsed.as_secs_f64())
}

impl Observer for TerminalProgress {
    fn event(&self, progress: &Progress) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match progress {
            Progress::Started { show_bar_after, .. } => *state = Some((Instant::now(), None, 0, *show_bar_after)),
            Progress::Task { done, total, bytes, .. } => {
                if let Some((started, drawn, sum, after)) = state.as_mut() {
                    *sum += bytes;
                    let due = drawn.is_none_or(|d| d.elapsed() >= Duration::from_millis(100));
                    if started.elapsed() >= *after && due {
                        eprint!("{}", line(*done, *total, *sum, started.elapsed()));
                        let _ = std::io::stderr().flush();
                        *drawn = Some(Instant::now());
                    }
                }
            }
            Progress::Finished { tasks, elapsed } => {
                if let Some((_, Some(_), sum, _)) = state.take() {
                    eprintln!("{}", line(*tasks, *tasks, sum, *elapsed));
                }
            }
            Progress::Failed { done, total, error } => {
                if let Some((started, Some(_), _, _)) = state.take() {
                    eprintln!("\r{done} / {total} tasks, {:.1} s: {error}", started.elapsed().as_secs_f64());
                }
            }
        }
    }
}
