//! Runs an [`Engine`] on a thread of its own and lets async code send it work.
//!
//! Evaluation blocks for as long as a cell runs, and evcxr's context is not `Send`, so the
//! engine is created on and never leaves its thread. The server awaits each job's answer;
//! interrupts go around the queue through the engine's [`Interrupter`].

use std::sync::{mpsc, Arc, Mutex, OnceLock, RwLock};

use super::{Engine, Interrupter, LiveOutput, OutputSink};

type Job = Box<dyn FnOnce(&mut dyn Engine) + Send>;

/// How long the engine must have been idle before it warms up.
const IDLE_BEFORE_WARM_UP: std::time::Duration = std::time::Duration::from_millis(300);

/// The engine could not be started, so it cannot run anything.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the Rust engine is not available: {0}")]
pub struct EngineUnavailable(pub String);

/// Where an engine's live output goes: the kernel session that owns the engine, once there
/// is one. A spare engine is built and warmed before any session exists (see
/// [`crate::pool`]); whatever it prints until a session takes it is logged, not lost.
#[derive(Default)]
pub struct OutputRelay {
    target: RwLock<Option<Arc<dyn OutputSink>>>,
}

impl OutputRelay {
    /// Sends all further output to `sink`.
    pub fn connect(&self, sink: Arc<dyn OutputSink>) {
        *self.target.write().unwrap_or_else(|p| p.into_inner()) = Some(sink);
    }
}

impl OutputSink for OutputRelay {
    fn emit(&self, output: LiveOutput) {
        match self.target.read().unwrap_or_else(|p| p.into_inner()).as_ref() {
            Some(sink) => sink.emit(output),
            None => log::info!("engine output before a session: {output:?}"),
        }
    }
}

pub struct EngineHost {
    jobs: mpsc::Sender<Job>,
    interrupter: Arc<OnceLock<Arc<dyn Interrupter>>>,
    start_error: Arc<Mutex<Option<String>>>,
    output: Arc<OutputRelay>,
}

impl EngineHost {
    /// Starts `make` on a new thread, giving it the sink for the engine's live output (see
    /// [`EngineHost::connect_output`]); jobs sent before it finishes wait for it.
    pub fn spawn<F>(make: F) -> std::io::Result<Self>
    where
        F: FnOnce(Arc<dyn OutputSink>) -> Result<Box<dyn Engine>, String> + Send + 'static,
    {
        let output = Arc::new(OutputRelay::default());
        let sink: Arc<dyn OutputSink> = output.clone();
        let (jobs, queue) = mpsc::channel::<Job>();
        let interrupter: Arc<OnceLock<Arc<dyn Interrupter>>> = Arc::new(OnceLock::new());
        let start_error = Arc::new(Mutex::new(None));
        let (slot, error_slot) = (interrupter.clone(), start_error.clone());
        std::thread::Builder::new().name("engine".into()).spawn(move || {
            let mut engine = match make(sink) {
                Ok(engine) => engine,
                Err(reason) => {
                    log::error!("engine failed to start: {reason}");
                    if let Ok(mut e) = error_slot.lock() {
                        *e = Some(reason);
                    }
                    // Dropping the queue makes every waiting job report the start error.
                    return;
                }
            };
            let _ = slot.set(engine.interrupter());
            // The first quiet moment after start is spent warming the engine's caches, so
            // that the user's first cells do not pay for it; work that is already waiting
            // goes first.
            let mut warm = false;
            loop {
                let job = if warm {
                    queue.recv().ok()
                } else {
                    match queue.recv_timeout(IDLE_BEFORE_WARM_UP) {
                        Ok(job) => Some(job),
                        Err(mpsc::RecvTimeoutError::Timeout) => {
                            engine.warm_up();
                            warm = true;
                            continue;
                        }
                        Err(mpsc::RecvTimeoutError::Disconnected) => None,
                    }
                };
                match job {
                    Some(job) => job(engine.as_mut()),
                    None => break,
                }
            }
        })?;
        Ok(EngineHost { jobs, interrupter, start_error, output })
    }

    /// Sends the engine's live output to `sink` from now on.
    pub fn connect_output(&self, sink: Arc<dyn OutputSink>) {
        self.output.connect(sink);
    }

    /// Runs `f` on the engine thread and blocks this thread until it is done: for callers
    /// outside the async runtime (a spare engine, before it serves a session).
    pub fn run_blocking<R, F>(&self, f: F) -> Result<R, EngineUnavailable>
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn Engine) -> R + Send + 'static,
    {
        let (tx, rx) = mpsc::channel();
        let job: Job = Box::new(move |engine| {
            let _ = tx.send(f(engine));
        });
        if self.jobs.send(job).is_err() {
            return Err(self.unavailable());
        }
        rx.recv().map_err(|_| self.unavailable())
    }

    /// Runs `f` on the engine thread and waits for its result.
    pub async fn run<R, F>(&self, f: F) -> Result<R, EngineUnavailable>
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn Engine) -> R + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |engine| {
            let _ = tx.send(f(engine));
        });
        if self.jobs.send(job).is_err() {
            return Err(self.unavailable());
        }
        rx.await.map_err(|_| self.unavailable())
    }

    /// The engine's interrupter, once the engine has started.
    pub fn interrupter(&self) -> Option<Arc<dyn Interrupter>> {
        self.interrupter.get().cloned()
    }

    fn unavailable(&self) -> EngineUnavailable {
        let reason = self
            .start_error
            .lock()
            .ok()
            .and_then(|e| e.clone())
            .unwrap_or_else(|| "the engine thread stopped".into());
        EngineUnavailable(reason)
    }
}
