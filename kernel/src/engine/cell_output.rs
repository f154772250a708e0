//! The cell process's output on its way to the kernel: stdout and stderr lines go to the sink
//! as they arrive; failure markers are kept aside for the engine to turn into the cell's error.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use evcxr::EvalContextOutputs;
use strata_markers::marker::{FailureCause, Marker};

use super::{LiveOutput, OutputSink};

/// What the cell process said about the running cell, besides its output.
#[derive(Default, Clone)]
pub(super) struct CellSignals {
    pub(super) failed: Option<FailureCause>,
    pub(super) panic: Option<(String, Option<String>)>,
    /// The cell's last few stderr lines: a `?` error's message is the last of them.
    pub(super) recent_stderr: Vec<String>,
}

#[derive(Default)]
pub(super) struct SharedSignals(Mutex<CellSignals>);

impl SharedSignals {
    fn with<R>(&self, f: impl FnOnce(&mut CellSignals) -> R) -> R {
        f(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
    pub(super) fn reset(&self) {
        self.with(|s| *s = CellSignals::default());
    }
    pub(super) fn take(&self) -> CellSignals {
        self.with(std::mem::take)
    }
    /// Routes one stdout line: failure markers are kept here, everything else is output.
    fn observe_stdout(&self, line: String, sink: &dyn OutputSink) {
        match Marker::parse(&line) {
            Some(Marker::CellFailed { cause }) => self.with(|s| s.failed = Some(cause)),
            Some(Marker::Panic { message, location }) => self.with(|s| s.panic = Some((message, location))),
            _ => sink.emit(LiveOutput::Stdout(line)),
        }
    }
    fn observe_stderr(&self, line: String, sink: &dyn OutputSink) {
        if Marker::parse(&line).is_some() {
            sink.emit(LiveOutput::Stderr(line));
            return;
        }
        self.with(|s| {
            if s.recent_stderr.len() == 8 {
                s.recent_stderr.remove(0);
            }
            s.recent_stderr.push(line.clone());
        });
        sink.emit(LiveOutput::Stderr(line));
    }
}

/// Moves the child's stdout and stderr lines to the sink as they arrive.
pub(super) struct OutputPump {
    flush_tx: crossbeam_channel::Sender<crossbeam_channel::Sender<()>>,
    pub(super) sink: Arc<dyn OutputSink>,
    signals: Arc<SharedSignals>,
}

/// How long the end of a cell waits for the stderr barrier (a cell process that died, or a
/// filter stuck behind a user thread, must not hang the kernel).
const BARRIER_TIMEOUT: Duration = Duration::from_secs(10);

/// The latest end-of-cell stderr request the stdout filter announced, and the latest barrier
/// the stderr filter wrote: stderr is complete when `reached >= expected`.
#[derive(Default)]
struct StderrBarrier {
    expected: u64,
    reached: u64,
}

impl OutputPump {
    pub(super) fn spawn(outputs: EvalContextOutputs, sink: Arc<dyn OutputSink>) -> Self {
        let (flush_tx, flush_rx) = crossbeam_channel::unbounded::<crossbeam_channel::Sender<()>>();
        let pump_sink = sink.clone();
        let signals = Arc::new(SharedSignals::default());
        let pump_signals = signals.clone();
        let spawned = std::thread::Builder::new().name("cell-output".into()).spawn(move || {
            let EvalContextOutputs { stdout, stderr } = outputs;
            let mut barrier = StderrBarrier::default();
            let on_stdout = |line: String, barrier: &mut StderrBarrier| match Marker::parse(&line) {
                Some(Marker::StderrAsked { seq }) => barrier.expected = barrier.expected.max(seq),
                _ => pump_signals.observe_stdout(line, pump_sink.as_ref()),
            };
            let on_stderr = |line: String, barrier: &mut StderrBarrier| match Marker::parse(&line) {
                Some(Marker::StderrBarrier { seq }) => barrier.reached = barrier.reached.max(seq),
                _ => pump_signals.observe_stderr(line, pump_sink.as_ref()),
            };
            loop {
                crossbeam_channel::select! {
                    recv(stdout) -> line => match line {
                        Ok(line) => on_stdout(line, &mut barrier),
                        Err(_) => break,
                    },
                    recv(stderr) -> line => match line {
                        Ok(line) => on_stderr(line, &mut barrier),
                        Err(_) => break,
                    },
                    recv(flush_rx) -> ack => match ack {
                        Ok(ack) => {
                            while let Ok(line) = stdout.try_recv() {
                                on_stdout(line, &mut barrier);
                            }
                            // stderr travels through its own pipe and reader thread: when the
                            // cell ran to its end, its filter ends what the cell wrote with a
                            // barrier, and everything up to it belongs to this cell.
                            let deadline = std::time::Instant::now() + BARRIER_TIMEOUT;
                            while barrier.reached < barrier.expected {
                                match stderr.recv_deadline(deadline) {
                                    Ok(line) => on_stderr(line, &mut barrier),
                                    Err(_) => {
                                        log::warn!("stderr barrier {} did not arrive", barrier.expected);
                                        barrier.reached = barrier.expected;
                                    }
                                }
                            }
                            while let Ok(line) = stderr.try_recv() {
                                on_stderr(line, &mut barrier);
                            }
                            let _ = ack.send(());
                        }
                        Err(_) => break,
                    },
                }
            }
        });
        if let Err(e) = spawned {
            log::error!("could not start the output thread: {e}");
        }
        OutputPump { flush_tx, sink, signals }
    }

    pub(super) fn signals(&self) -> &SharedSignals {
        &self.signals
    }

    /// Returns once every line the cell wrote has reached the sink.
    pub(super) fn flush(&self) {
        let (ack_tx, ack_rx) = crossbeam_channel::bounded(1);
        if self.flush_tx.send(ack_tx).is_ok() {
            let _ = ack_rx.recv_timeout(BARRIER_TIMEOUT + Duration::from_secs(5));
        }
    }
}
