//! A live progress bar in the cell's output for computations that take more than half a
//! second (or their session's `progress_after`, settable with `set_progress_after` and by the
//! `STRATA_PROGRESS_AFTER` environment variable): shown once (`display_data` with a display id), then updated in place
//! (`update_display_data`) at most ten times a second with the fraction done, tasks, bytes
//! and elapsed time; it ends at 100% with the total time, or says "interrupted" or "failed"
//! and why. Installed as the runtime's default observer in each cell process.

use std::sync::mpsc::{RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;
use strata::error::{human_bytes, Error};
use strata::exec::{Observer, Progress};

use crate::output::{display, DisplayHandle, MimeBundle, Render};

/// The shortest time between two updates of a bar.
pub const UPDATE_EVERY: Duration = Duration::from_millis(100);

/// How a computation ended, for the bar's last state.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Running,
    Finished,
    Interrupted,
    Failed(String),
}

/// One bar's state, and its rendering.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub done: usize,
    pub total: usize,
    pub bytes: u64,
    pub elapsed: Duration,
    pub outcome: Outcome,
}

impl Bar {
    fn fraction(&self) -> f64 {
        match self.outcome {
            Outcome::Finished => 1.0,
            _ if self.total == 0 => 0.0,
            _ => self.done as f64 / self.total as f64,
        }
    }

    /// Bytes produced, when the tasks report any (delayed tasks and bags do not).
    fn bytes_part(&self) -> String {
        if self.bytes == 0 { String::new() } else { format!(" · {}", human_bytes(self.bytes)) }
    }

    fn status(&self) -> String {
        let secs = self.elapsed.as_secs_f64();
        match &self.outcome {
            Outcome::Running => format!("{} / {} tasks{} · {secs:.1} s", self.done, self.total, self.bytes_part()),
            Outcome::Finished => format!("done: {} tasks{} · {secs:.2} s", self.total, self.bytes_part()),
            Outcome::Interrupted => format!("interrupted after {} of {} tasks · {secs:.1} s", self.done, self.total),
            Outcome::Failed(cause) => format!("failed after {} of {} tasks: {cause}", self.done, self.total),
        }
    }

    /// The text form: `[##########----------]  50% 5 / 10 tasks · 1.00 MiB · 0.6 s`.
    pub fn text(&self) -> String {
        format!("{} {}", strata::exec::terminal::gauge(self.fraction()), self.status())
    }

    fn html(&self) -> String {
        let color = match self.outcome {
            Outcome::Running => "var(--jp-brand-color1, #2196f3)",
            Outcome::Finished => "var(--jp-success-color1, #4caf50)",
            _ => "var(--jp-error-color1, #f44336)",
        };
        format!(
            "<div class='strata-progress' style='font-family: var(--jp-code-font-family, monospace); font-size: 12px; display: flex; align-items: center; gap: 8px'>\
<div style='width: 240px; height: 10px; border: 1px solid var(--jp-border-color1, #bdbdbd); border-radius: 2px; overflow: hidden'>\
<div style='width: {:.1}%; height: 100%; background: {color}'></div></div><span>{:.0}%</span><span>{}</span></div>",
            self.fraction() * 100.0,
            self.fraction() * 100.0,
            crate::html::escape(&self.status())
        )
    }
}

impl Render for Bar {
    fn mime_bundle(&self) -> MimeBundle {
        [("text/html".to_string(), Value::String(self.html())), ("text/plain".to_string(), Value::String(self.text()))].into_iter().collect()
    }
}

struct Active {
    started: Instant,
    /// How long the computation runs before its bar appears, read when it starts.
    show_after: Duration,
    bar: Bar,
    shown: Option<DisplayHandle>,
    last: Option<Bar>,
}

impl Active {
    /// Shows or updates the bar if it is due and has changed.
    fn refresh(&mut self, force: bool) {
        self.bar.elapsed = self.started.elapsed();
        if !force && self.bar.elapsed < self.show_after {
            return;
        }
        match &self.shown {
            None => self.shown = Some(display(self.bar.clone())),
            Some(handle) if self.last.as_ref().is_none_or(|l| l.done != self.bar.done || l.outcome != self.bar.outcome || force) => handle.update(self.bar.clone()),
            Some(_) => return,
        }
        self.last = Some(self.bar.clone());
    }
}

/// The notebook observer: one bar per top-level computation (computations started inside
/// another one's tasks report to it, and draw no bar of their own).
#[derive(Default)]
pub struct NotebookProgress {
    inner: Arc<Mutex<Option<Active>>>,
    depth: Mutex<usize>,
    ticker: Mutex<Option<(JoinHandle<()>, Sender<()>)>>,
}

impl NotebookProgress {
    fn start(&self, total: usize, show_after: Duration) {
        *self.inner.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(Active { started: Instant::now(), show_after, bar: Bar { done: 0, total, bytes: 0, elapsed: Duration::ZERO, outcome: Outcome::Running }, shown: None, last: None });
        let inner = self.inner.clone();
        // Dropping `stop` (when the computation ends) wakes the ticker at once: a sleeping
        // ticker would otherwise hold every computation's end back by up to a tick.
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        // Ticks even while a long task gives no events, so the bar appears on time.
        let ticker = std::thread::Builder::new().name("strata-progress".into()).spawn(move || {
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(UPDATE_EVERY) {
                if let Some(active) = inner.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
                    if active.bar.outcome == Outcome::Running {
                        active.refresh(false);
                    }
                }
            }
        });
        if let Ok(handle) = ticker {
            *self.ticker.lock().unwrap_or_else(|p| p.into_inner()) = Some((handle, stop));
        }
    }

    fn finish(&self, outcome: Outcome, done: usize) {
        if let Some((handle, stop)) = self.ticker.lock().unwrap_or_else(|p| p.into_inner()).take() {
            drop(stop);
            let _ = handle.join();
        }
        if let Some(mut active) = self.inner.lock().unwrap_or_else(|p| p.into_inner()).take() {
            active.bar.done = if outcome == Outcome::Finished { active.bar.total } else { done };
            active.bar.outcome = outcome;
            active.bar.elapsed = active.started.elapsed();
            // A bar that was shown (or that should have been) gets its final state.
            if active.shown.is_some() || active.bar.elapsed >= active.show_after {
                active.refresh(true);
            }
        }
    }
}

impl Observer for NotebookProgress {
    fn event(&self, progress: &Progress) {
        let mut depth = self.depth.lock().unwrap_or_else(|p| p.into_inner());
        match progress {
            Progress::Started { tasks, show_bar_after } => {
                *depth += 1;
                if *depth == 1 {
                    drop(depth);
                    self.start(*tasks, *show_bar_after);
                }
            }
            Progress::Task { done, bytes, .. } if *depth == 1 => {
                if let Some(active) = self.inner.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
                    active.bar.done = active.bar.done.max(*done);
                    active.bar.bytes += bytes;
                }
            }
            Progress::Task { .. } => {}
            Progress::Finished { .. } | Progress::Failed { .. } => {
                *depth = depth.saturating_sub(1);
                if *depth == 0 {
                    drop(depth);
                    match progress {
                        Progress::Failed { error: Error::Interrupted { .. }, done, .. } => self.finish(Outcome::Interrupted, *done),
                        Progress::Failed { error, done, .. } => self.finish(Outcome::Failed(error.to_string()), *done),
                        _ => self.finish(Outcome::Finished, 0),
                    }
                }
            }
        }
    }
}

/// Makes computations in this (cell) process draw notebook progress bars.
pub fn install() {
    strata::exec::set_default_observer(Some(Arc::new(NotebookProgress::default())));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_render_each_state() {
        let mut bar = Bar { done: 5, total: 10, bytes: 1 << 20, elapsed: Duration::from_millis(600), outcome: Outcome::Running };
        assert!(bar.text().starts_with("[###############---------------]  50% 5 / 10 tasks · 1.00 MiB"), "{}", bar.text());
        assert!(bar.mime_bundle()["text/html"].as_str().unwrap().contains("width: 50.0%"));
        bar.outcome = Outcome::Finished;
        assert!(bar.text().contains("100% done: 10 tasks"), "{}", bar.text());
        bar.outcome = Outcome::Interrupted;
        assert!(bar.text().contains("interrupted after 5 of 10 tasks"));
        bar.outcome = Outcome::Failed("disk <full>".into());
        assert!(bar.mime_bundle()["text/html"].as_str().unwrap().contains("disk &lt;full&gt;"));
    }
}
