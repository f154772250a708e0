//! The engine that evaluates Rust cells with the `evcxr` library.
//!
//! evcxr compiles each cell into a shared object and runs it in a child process (this same
//! binary, re-entered through [`child_process_hook`]), so user code that crashes cannot take
//! the kernel with it. At start the engine declares the Strata runtime and display crates as
//! dependencies and brings their preludes into scope, so cells use them with no `:dep` line.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use evcxr::{CommandContext, EvalCallbacks, EvalContextOutputs};
use serde_json::Value;
use strata_display::input::INPUT_CANCELLED;
use strata_display::marker::{FailureCause, Marker};
use strata_display::result::RESULT_FORMAT_ENV;

use super::process_tree::{kill_descendants_except, waiting_on_stdin};
use super::workspace::Workspace;
use super::{
    CellError, Completions, Engine, ExecuteOutcome, InputSource, Inspection, Interrupter,
    LiveOutput, MimeBundle, OutputSink,
};

/// Run in each new cell process: panics reach the kernel as messages, and output without a
/// line end is flushed (see [`strata_display::marker::install_cell_hooks`]).
const CELL_HOOKS: &str = "strata_display::marker::install_cell_hooks();";

/// How long a cell may ignore SIGINT before its process is killed. Cooperative code (the
/// runtime's scheduler) stops well within this; a plain loop does not listen at all.
const INTERRUPT_GRACE: Duration = Duration::from_millis(1000);

/// How long an interrupt waits for a compile's next build step to appear (evcxr analyses
/// the code between cargo runs) before treating the cell as running code.
const COMPILE_WATCH: Duration = Duration::from_millis(1500);

/// Must run first in `main`: when this binary was started by evcxr as the process that runs
/// compiled cells (or as its rustc wrapper), this takes over and never returns.
pub fn child_process_hook() {
    if std::env::var_os("EVCXR_IS_RUNTIME").is_some() {
        if let Err(e) = super::child_streams::install() {
            eprintln!("strata: cell failures will show only as text: {e}");
        }
    }
    evcxr::runtime_hook();
}

/// Where the runtime and display crates' sources are: `$STRATA_CRATES_DIR`, else the
/// workspace this binary was built from.
pub fn crates_dir() -> PathBuf {
    std::env::var_os("STRATA_CRATES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
}

/// Points evcxr at the workspace. Must be called before any thread other than the main one
/// exists, because it sets process environment variables.
///
/// Cells are shared objects linked against the toolchain's `libstd.so`. rustc's relative
/// rpath for it only resolves when the compile dir shares no path prefix with the toolchain
/// (as in `/tmp`); our persistent workspace lives under the home dir, so the child process
/// that loads cells is told where libstd is.
pub fn configure_process(workspace: &Workspace) {
    std::env::set_var("EVCXR_TMPDIR", workspace.dir());
    // evcxr also reads ~/.config/evcxr/evcxr.toml; a user's settings there (tmpdir, linking,
    // preludes) must not change how this kernel builds cells. An `evcxr.toml` in the
    // notebook's own directory is still honoured, as evcxr users expect.
    std::env::set_var("EVCXR_CONFIG_DIR", workspace.dir().join("evcxr-config"));
    let libdir = std::process::Command::new("rustc")
        .args(["--print", "target-libdir"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    if let Some(libdir) = libdir {
        let mut paths = vec![PathBuf::from(libdir)];
        if let Some(existing) = std::env::var_os("LD_LIBRARY_PATH") {
            paths.extend(std::env::split_paths(&existing));
        }
        if let Ok(joined) = std::env::join_paths(paths) {
            std::env::set_var("LD_LIBRARY_PATH", joined);
        }
    }
}

pub struct EvcxrEngine {
    ctx: CommandContext,
    /// The format set with `:fmt`, which the cell process must know too (see
    /// [`strata_display::result`]); re-applied when a new process starts.
    result_format: Option<String>,
    pump: OutputPump,
    interrupt: Arc<InterruptState>,
    /// Held for the engine's life: the lock that keeps other kernels out of this slot.
    _workspace: Workspace,
}

impl EvcxrEngine {
    /// Starts evcxr's child process and loads the preloaded crates. In a warm workspace this
    /// takes a few seconds; in a cold one, as long as compiling the dependencies.
    pub fn start(workspace: Workspace, crates_dir: &Path, sink: Arc<dyn OutputSink>) -> Result<Self, String> {
        let started = std::time::Instant::now();
        let (mut ctx, outputs) =
            CommandContext::new().map_err(|e| format!("could not start evcxr: {e}"))?;
        log::info!("evcxr context ready in {:?}", started.elapsed());
        let pump = OutputPump::spawn(outputs, sink);
        let interrupt = Arc::new(InterruptState {
            child: ctx.process_handle(),
            executing: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            interrupted_generation: AtomicU64::new(u64::MAX),
            build_killed_generation: AtomicU64::new(u64::MAX),
            awaiting_input: AtomicBool::new(false),
        });
        // The display crate depends on the runtime and its prelude re-exports it, so one
        // dependency (one cargo resolution and one rust-analyzer reload) brings in both.
        let display = crates_dir.join("display");
        if !display.join("Cargo.toml").exists() || !crates_dir.join("runtime/Cargo.toml").exists() {
            return Err(format!(
                "the Strata crates are not in {} (set STRATA_CRATES_DIR to the source checkout)",
                crates_dir.display()
            ));
        }
        // evcxr's build cache (`:cache`) keeps compiled registry crates across workspaces, so
        // a new slot (a second kernel running at once) compiles only the local crates.
        let preload = format!(
            ":cache 4096\n:dep strata-display = {{ path = {display:?} }}\nuse strata_display::prelude::*;\n{CELL_HOOKS}"
        );
        ctx.execute(&preload).map_err(|e| {
            format!("could not load the Strata crates: {}", describe_error(&e, &preload).evalue)
        })?;
        pump.flush();
        log::info!("Strata crates loaded; engine ready {:?} after start", started.elapsed());
        Ok(EvcxrEngine { ctx, result_format: None, pump, interrupt, _workspace: workspace })
    }

    /// Code that sets up a new cell process: the cell hooks, and the `:fmt` in force.
    fn process_setup(&self) -> String {
        let mut code = CELL_HOOKS.to_owned();
        if let Some(format) = &self.result_format {
            // evcxr compiles cells as edition 2024, where set_var is unsafe; the cell process is
            // single-threaded at this point but for our own idle flusher, which reads no env.
            code.push_str(&format!("\nunsafe {{ std::env::set_var({RESULT_FORMAT_ENV:?}, {format:?}); }}"));
        }
        code
    }

    /// Follows a `:fmt` the cell ran, so values shown without evcxr's fallback obey it too.
    fn track_result_format(&mut self, code: &str) {
        let Some(format) = code.lines().rev().find_map(|l| l.trim().strip_prefix(":fmt ")) else {
            return;
        };
        self.result_format = Some(format.trim().to_owned());
        let setup = self.process_setup();
        if let Err(e) = self.ctx.execute(&setup) {
            log::warn!("could not pass :fmt to the cell process: {e}");
        }
    }

    fn variables(&self) -> BTreeSet<String> {
        self.ctx.variables_and_types().map(|(name, _)| name.to_owned()).collect()
    }

    fn page_for(&mut self, name: &str) -> ExecuteOutcome {
        let text = match self.ctx.hover_at(name, name.len()) {
            Ok((text, _html)) => text,
            Err(e) => format!("No documentation found for `{name}`: {e}"),
        };
        ExecuteOutcome::Ok { data: MimeBundle::new(), page: Some(text) }
    }
}

/// `?name`, `name?` and `:doc name` ask for the pager, as in IPython.
fn documentation_request(code: &str) -> Option<&str> {
    let code = code.trim();
    let name = code
        .strip_prefix(":doc ")
        .or_else(|| code.strip_prefix('?'))
        .or_else(|| code.strip_suffix('?'))?
        .trim();
    let is_path = !name.is_empty()
        && name.chars().all(|c| c.is_alphanumeric() || c == '_' || c == ':' || c == '.');
    is_path.then_some(name)
}

impl Engine for EvcxrEngine {
    fn execute(&mut self, code: &str, input: Option<&dyn InputSource>) -> ExecuteOutcome {
        if let Some(name) = documentation_request(code) {
            return self.page_for(name);
        }
        let before = self.variables();
        self.pump.signals().reset();
        let generation = self.interrupt.begin();
        // evcxr does not export its request type; the field's type gives the closure its own.
        let awaiting = &self.interrupt.awaiting_input;
        let mut callbacks = EvalCallbacks {
            input_reader: &|request| {
                awaiting.store(true, Ordering::SeqCst);
                let answer = input.and_then(|i| i.read_line(&request.prompt, request.is_password));
                awaiting.store(false, Ordering::SeqCst);
                answer.unwrap_or_else(|| INPUT_CANCELLED.to_owned())
            },
        };
        let result = self.ctx.execute_with_callbacks(code, &mut callbacks);
        let interrupted = self.interrupt.end(generation);
        let build_killed = self.interrupt.build_was_killed(generation);
        self.pump.flush();
        let signals = self.pump.signals().take();
        match result {
            Ok(_) if signals.failed.is_some() => ExecuteOutcome::Error(failure_error(&signals, interrupted)),
            Ok(mut outputs) => {
                self.track_result_format(code);
                // A cell ending in a unit expression (a loop, a call) has nothing to show,
                // as a Python cell ending in None has not.
                if outputs.content_by_mime_type.len() == 1 && outputs.get("text/plain") == Some("()") {
                    outputs.content_by_mime_type.clear();
                }
                if let Some(timing) = outputs.timing {
                    self.pump.sink.emit(LiveOutput::Stdout(format!("Took {}ms", timing.as_millis())));
                }
                let data = outputs
                    .content_by_mime_type
                    .into_iter()
                    .map(|(mime, content)| {
                        let value = if mime.ends_with("json") {
                            serde_json::from_str(&content).unwrap_or(Value::String(content))
                        } else {
                            Value::String(content)
                        };
                        (mime, value)
                    })
                    .collect();
                ExecuteOutcome::Ok { data, page: None }
            }
            Err(_) if build_killed => {
                let message = "Interrupted while compiling: none of the cell's code ran, and every variable is kept.".to_owned();
                ExecuteOutcome::Error(CellError { ename: "Interrupted".into(), evalue: message.clone(), traceback: vec![message] })
            }
            Err(evcxr::Error::SubprocessTerminated(reason)) => {
                let lost: Vec<String> = before.into_iter().collect();
                let reason = describe_crash(&reason, &signals.recent_stderr);
                // evcxr has started a new process; it needs the cell hooks too.
                let setup = self.process_setup();
                if let Err(e) = self.ctx.execute(&setup) {
                    log::warn!("could not re-install the panic reporter: {e}");
                }
                self.pump.flush();
                self.pump.signals().reset();
                ExecuteOutcome::Error(restart_error(&reason, interrupted, &lost))
            }
            Err(error) => {
                let mut e = describe_error(&error, code);
                if interrupted {
                    e.ename = "Interrupted".into();
                }
                ExecuteOutcome::Error(e)
            }
        }
    }

    fn complete(&mut self, code: &str, cursor: usize) -> Completions {
        match self.ctx.completions(code, cursor) {
            Ok(c) => {
                let mut seen = BTreeSet::new();
                let matches = c
                    .completions
                    .into_iter()
                    .map(|c| c.code)
                    .filter(|m| seen.insert(m.clone()))
                    .collect();
                Completions { matches, start: c.start_offset, end: c.end_offset }
            }
            Err(e) => {
                log::warn!("completion failed: {e}");
                Completions { matches: Vec::new(), start: cursor, end: cursor }
            }
        }
    }

    fn inspect(&mut self, code: &str, cursor: usize) -> Option<Inspection> {
        // Hover looks at the name that ends at the cursor, so extend the cursor to the end
        // of the word it sits in.
        let end = code[cursor..]
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .map_or(code.len(), |i| cursor + i);
        let (text, html) = self.ctx.hover_at(code, end).ok()?;
        if text.trim().is_empty() || text == "No documentation found" {
            return None;
        }
        Some(Inspection { text, html: Some(html) })
    }

    fn interrupter(&self) -> Arc<dyn Interrupter> {
        Arc::new(ChildInterrupter(self.interrupt.clone()))
    }
}

/// A compile error pointing at the user's own line and column, or a runtime error.
fn describe_error(error: &evcxr::Error, code: &str) -> CellError {
    match error {
        evcxr::Error::CompilationErrors(errors) => {
            let mut traceback = Vec::new();
            for error in errors {
                let head = match error.code() {
                    Some(code) => format!("error[{code}]: {}", error.message()),
                    None => format!("error: {}", error.message()),
                };
                traceback.push(head);
                for spanned in error.spanned_messages() {
                    match &spanned.span {
                        Some(span) => {
                            traceback.push(format!(" --> cell:{}:{}", span.start_line, span.start_column));
                            if let Some(line) = code.lines().nth(span.start_line.saturating_sub(1)) {
                                let gutter = span.start_line.to_string();
                                let pad = " ".repeat(gutter.len());
                                let width = if span.end_line == span.start_line {
                                    span.end_column.saturating_sub(span.start_column).max(1)
                                } else {
                                    1
                                };
                                traceback.push(format!("{pad} |"));
                                traceback.push(format!("{gutter} | {line}"));
                                traceback.push(format!(
                                    "{pad} | {}{} {}",
                                    " ".repeat(span.start_column.saturating_sub(1)),
                                    "^".repeat(width),
                                    spanned.label
                                ));
                            }
                        }
                        None if !spanned.label.is_empty() => traceback.push(format!("  = {}", spanned.label)),
                        None => {}
                    }
                }
                for help in error.help() {
                    traceback.push(format!("  = help: {help}"));
                }
                traceback.push(String::new());
            }
            let evalue = errors.first().map(|e| e.message()).unwrap_or_else(|| "compilation failed".into());
            CellError { ename: "CompileError".into(), evalue, traceback }
        }
        evcxr::Error::TypeRedefinedVariablesLost(vars) => CellError {
            ename: "VariablesLost".into(),
            evalue: format!("redefining a type lost these variables: {}", vars.join(", ")),
            traceback: vec![format!("redefining a type lost these variables: {}", vars.join(", "))],
        },
        other => {
            let message = other.to_string();
            let first = message.lines().next().unwrap_or("error").to_owned();
            let ename = if first.contains("panic") || first.contains("Panic") { "Panic" } else { "Error" };
            CellError { ename: ename.into(), evalue: first, traceback: message.lines().map(str::to_owned).collect() }
        }
    }
}

/// The error for a cell that evcxr ran to its end but that panicked or hit a `?` error.
fn failure_error(signals: &CellSignals, interrupted: bool) -> CellError {
    match signals.failed {
        Some(FailureCause::Panic) => {
            let (message, location) = signals
                .panic
                .clone()
                .unwrap_or_else(|| ("the cell panicked".to_owned(), None));
            let mut traceback = Vec::new();
            // Locations inside the cell are evcxr's generated file: only library ones help.
            match location.filter(|l| !l.starts_with("src/lib.rs")) {
                Some(at) => traceback.push(format!("panicked at {at}:")),
                None => traceback.push("panicked:".to_owned()),
            }
            traceback.extend(message.lines().map(str::to_owned));
            let first = message.lines().next().unwrap_or_default().to_owned();
            let ename = if interrupted { "Interrupted" } else { "Panic" };
            CellError { ename: ename.into(), evalue: first, traceback }
        }
        _ => {
            let message = signals
                .recent_stderr
                .last()
                .cloned()
                .unwrap_or_else(|| "the cell returned an error".to_owned());
            let ename = if interrupted { "Interrupted" } else { "Error" };
            CellError { ename: ename.into(), evalue: message.clone(), traceback: vec![message] }
        }
    }
}

/// What a process death means, in words: evcxr reports only the wait status.
fn describe_crash(status: &str, stderr: &[String]) -> String {
    let said = |needle: &str| stderr.iter().any(|l| l.contains(needle));
    let cause = if said("Segmentation fault") {
        "a segmentation fault (invalid memory access)".to_owned()
    } else if said("stack overflow") || said("has overflowed its stack") {
        "a stack overflow".to_owned()
    } else if status.contains("SIGSEGV") {
        "a segmentation fault (invalid memory access) or a stack overflow (SIGSEGV)".to_owned()
    } else if status.contains("SIGABRT") {
        "an abort (SIGABRT: std::process::abort, or a crash reported on stderr above)".to_owned()
    } else if status.contains("SIGKILL") {
        "SIGKILL (killed, possibly by the system for using too much memory)".to_owned()
    } else if let Some(code) = status.split("exit status: ").nth(1) {
        format!("the process exiting with status {} (std::process::exit)", code.trim())
    } else {
        status.trim().to_owned()
    };
    format!("{cause}; {}", status.trim())
}

fn restart_error(reason: &str, interrupted: bool, lost: &[String]) -> CellError {
    let cause = if interrupted {
        "The cell was interrupted by stopping the process that ran it.".to_owned()
    } else {
        format!("The process running your code stopped: {}.", reason.trim())
    };
    let lost_line = if lost.is_empty() {
        "No variables were lost.".to_owned()
    } else {
        format!("Variables lost: {}. Functions, types and `use` items are kept.", lost.join(", "))
    };
    CellError {
        ename: if interrupted { "Interrupted".into() } else { "ProcessCrashed".into() },
        evalue: format!("{cause} {lost_line}"),
        traceback: vec![cause, lost_line, "A new process was started; the kernel is ready.".into()],
    }
}

/// Tracks which cell is running so that an interrupt hits that cell and only that one.
struct InterruptState {
    child: Arc<Mutex<std::process::Child>>,
    executing: AtomicBool,
    generation: AtomicU64,
    interrupted_generation: AtomicU64,
    /// The generation whose compile the interrupter stopped.
    build_killed_generation: AtomicU64,
    /// The cell waits for the user's input: the kernel cancels the input request instead.
    awaiting_input: AtomicBool,
}

impl InterruptState {
    fn begin(&self) -> u64 {
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        self.executing.store(true, Ordering::SeqCst);
        generation
    }

    /// Ends the cell; true if it was interrupted.
    fn end(&self, generation: u64) -> bool {
        self.executing.store(false, Ordering::SeqCst);
        self.interrupted_generation.load(Ordering::SeqCst) == generation
    }

    fn still_running(&self, generation: u64) -> bool {
        self.executing.load(Ordering::SeqCst) && self.generation.load(Ordering::SeqCst) == generation
    }

    fn child_pid(&self) -> Option<libc::pid_t> {
        self.child.lock().ok().and_then(|c| libc::pid_t::try_from(c.id()).ok())
    }

    fn signal_child(&self, signal: libc::c_int) {
        let Some(pid) = self.child_pid() else { return };
        // SAFETY: kill(2) on the child evcxr spawned for us, with a valid signal number.
        unsafe { libc::kill(pid, signal) };
    }

    fn build_was_killed(&self, generation: u64) -> bool {
        self.build_killed_generation.load(Ordering::SeqCst) == generation
    }

    /// Stops whatever the cell is doing. While it compiles (the cell process waits on its
    /// stdin), the build is killed: no code ran, every variable is kept. Once its code runs,
    /// SIGINT, then SIGKILL after the grace period.
    fn stop(&self, generation: u64) {
        let deadline = std::time::Instant::now() + COMPILE_WATCH;
        loop {
            if !self.still_running(generation) || self.awaiting_input.load(Ordering::SeqCst) {
                // Cancelling the input request (the kernel does) ends the cell by itself.
                return;
            }
            let Some(child) = self.child_pid() else { return };
            if waiting_on_stdin(child) {
                if kill_descendants_except(child) > 0 {
                    log::info!("interrupted a compile by stopping the build");
                    self.build_killed_generation.store(generation, Ordering::SeqCst);
                    return;
                }
                // Between builds (evcxr analysing the code): look again shortly.
                if std::time::Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(25));
                    continue;
                }
            }
            break;
        }
        self.signal_child(libc::SIGINT);
        std::thread::sleep(INTERRUPT_GRACE);
        if self.still_running(generation) {
            log::info!("cell ignored SIGINT; killing its process");
            self.signal_child(libc::SIGKILL);
        }
    }
}

/// The interrupter handed to the server: SIGINT first, and SIGKILL for code that ignores it.
struct ChildInterrupter(Arc<InterruptState>);

impl Interrupter for ChildInterrupter {
    /// The runtime turns SIGINT into a cancellation its scheduler checks between tasks, so a
    /// computation ends with an error and every variable intact. Code that does not listen
    /// is stopped by killing its process after a grace period; evcxr then starts a new one
    /// and the cell reports which variables were lost.
    fn interrupt(&self) {
        let state = &self.0;
        if !state.executing.load(Ordering::SeqCst) {
            return;
        }
        let generation = state.generation.load(Ordering::SeqCst);
        state.interrupted_generation.store(generation, Ordering::SeqCst);
        let state = state.clone();
        let watchdog = std::thread::Builder::new().name("interrupt-watchdog".into()).spawn(move || state.stop(generation));
        if let Err(e) = watchdog {
            log::error!("could not start the interrupt watchdog: {e}");
        }
    }

    fn terminate(&self) {
        self.0.signal_child(libc::SIGKILL);
    }
}

/// What the cell process said about the running cell, besides its output.
#[derive(Default, Clone)]
struct CellSignals {
    failed: Option<FailureCause>,
    panic: Option<(String, Option<String>)>,
    /// The cell's last few stderr lines: a `?` error's message is the last of them.
    recent_stderr: Vec<String>,
}

#[derive(Default)]
struct SharedSignals(Mutex<CellSignals>);

impl SharedSignals {
    fn with<R>(&self, f: impl FnOnce(&mut CellSignals) -> R) -> R {
        f(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
    fn reset(&self) {
        self.with(|s| *s = CellSignals::default());
    }
    fn take(&self) -> CellSignals {
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
struct OutputPump {
    flush_tx: crossbeam_channel::Sender<crossbeam_channel::Sender<()>>,
    sink: Arc<dyn OutputSink>,
    signals: Arc<SharedSignals>,
}

impl OutputPump {
    fn spawn(outputs: EvalContextOutputs, sink: Arc<dyn OutputSink>) -> Self {
        let (flush_tx, flush_rx) = crossbeam_channel::unbounded::<crossbeam_channel::Sender<()>>();
        let pump_sink = sink.clone();
        let signals = Arc::new(SharedSignals::default());
        let pump_signals = signals.clone();
        let spawned = std::thread::Builder::new().name("cell-output".into()).spawn(move || {
            let EvalContextOutputs { stdout, stderr } = outputs;
            loop {
                crossbeam_channel::select! {
                    recv(stdout) -> line => match line {
                        Ok(line) => pump_signals.observe_stdout(line, pump_sink.as_ref()),
                        Err(_) => break,
                    },
                    recv(stderr) -> line => match line {
                        Ok(line) => pump_signals.observe_stderr(line, pump_sink.as_ref()),
                        Err(_) => break,
                    },
                    recv(flush_rx) -> ack => match ack {
                        Ok(ack) => {
                            while let Ok(line) = stdout.try_recv() {
                                pump_signals.observe_stdout(line, pump_sink.as_ref());
                            }
                            // stderr travels through its own pipe and reader thread; give
                            // lines the cell wrote just before it ended a moment to arrive.
                            while let Ok(line) = stderr.recv_timeout(Duration::from_millis(15)) {
                                pump_signals.observe_stderr(line, pump_sink.as_ref());
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

    fn signals(&self) -> &SharedSignals {
        &self.signals
    }

    /// Returns once every line the cell wrote has reached the sink.
    fn flush(&self) {
        let (ack_tx, ack_rx) = crossbeam_channel::bounded(1);
        if self.flush_tx.send(ack_tx).is_ok() {
            let _ = ack_rx.recv_timeout(Duration::from_secs(5));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_documentation_requests() {
        assert_eq!(documentation_request("?Vec"), Some("Vec"));
        assert_eq!(documentation_request("std::vec::Vec?"), Some("std::vec::Vec"));
        assert_eq!(documentation_request(":doc HashMap"), Some("HashMap"));
        assert_eq!(documentation_request("let x = a?;"), None);
        assert_eq!(documentation_request("foo()?"), None);
    }
}
