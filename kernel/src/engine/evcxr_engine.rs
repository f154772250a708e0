//! The engine that evaluates Rust cells with the `evcxr` library.
//!
//! evcxr compiles each cell into a shared object and runs it in a child process (this same
//! binary, re-entered through [`child_process_hook`]), so user code that crashes cannot take
//! the kernel with it. At start the engine declares the Strata API and display crates as a
//! dependency and brings their preludes into scope, so cells use them with no `:dep` line,
//! then builds the executor library against them and has the cell process load it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use evcxr::{CommandContext, EvalCallbacks};
use serde_json::Value;
use strata_markers::INPUT_CANCELLED;
use strata_markers::RESULT_FORMAT_ENV;

use super::cell_errors::{describe_crash, describe_error, failure_error, restart_error};
use super::cell_interrupt::{ChildInterrupter, InterruptState};
use super::cell_output::OutputPump;
use super::executor_library;
use super::workspace::Workspace;
use super::{
    CellError, Completions, Engine, ExecuteOutcome, InputSource, Inspection, Interrupter,
    LiveOutput, MimeBundle, OutputSink,
};

/// Run in each new cell process: panics reach the kernel as messages, and output without a
/// line end is flushed (strata-display's `marker::install_cell_hooks`).
const CELL_HOOKS: &str = "strata_cells::marker::install_cell_hooks();";

/// Loads the executor library into a new cell process (see [`executor_library`]); a
/// failure is printed in the cell, where the user sees it, and cells still run (on one
/// thread, without storage).
fn load_executor_code(library: &Path) -> String {
    format!(
        "if let Err(e) = strata_cells::load_executor({library:?}) {{ eprintln!(\"strata: {{e}}; computations run on one thread and storage is unavailable in this session\"); }}"
    )
}

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

/// Where Strata's crates' sources are: `$STRATA_CRATES_DIR`, else the
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
    configure_environment(workspace.dir());
}

/// What [`configure_process`] does, for a workspace directory: also re-applied by a spare
/// engine after it takes on a kernel session's environment (see [`crate::pool`]), so the
/// session's `LD_LIBRARY_PATH` is kept behind libstd's directory.
pub fn configure_environment(workspace_dir: &Path) {
    std::env::set_var("EVCXR_TMPDIR", workspace_dir);
    // evcxr also reads ~/.config/evcxr/evcxr.toml; a user's settings there (tmpdir, linking,
    // preludes) must not change how this kernel builds cells. An `evcxr.toml` in the
    // notebook's own directory is still honoured, as evcxr users expect.
    std::env::set_var("EVCXR_CONFIG_DIR", workspace_dir.join("evcxr-config"));
    if let Some(libdir) = toolchain_libdir() {
        let mut paths = vec![libdir.clone()];
        if let Some(existing) = std::env::var_os("LD_LIBRARY_PATH") {
            paths.extend(std::env::split_paths(&existing).filter(|p| p != libdir));
        }
        if let Ok(joined) = std::env::join_paths(paths) {
            std::env::set_var("LD_LIBRARY_PATH", joined);
        }
    }
}

/// The toolchain's `libstd.so` directory (`rustc --print target-libdir`), asked once.
fn toolchain_libdir() -> Option<&'static PathBuf> {
    static LIBDIR: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    LIBDIR
        .get_or_init(|| {
            std::process::Command::new(crate::toolchain::tool("rustc"))
                .args(["--print", "target-libdir"])
                .output()
                .ok()
                .and_then(|o| String::from_utf8(o.stdout).ok())
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
        })
        .as_ref()
}

/// Takes a compile slot under `root`, points evcxr at it, and starts an engine there on its
/// own thread: what a cold kernel and a spare both do. Returns the host and the slot's
/// directory. Must be called before the process has other threads (see [`configure_process`]).
pub fn spawn_in_slot(root: &Path) -> Result<(super::EngineHost, PathBuf), crate::KernelError> {
    let workspace = Workspace::acquire(root)?;
    let dir = workspace.dir().to_owned();
    configure_process(&workspace);
    let crates = crates_dir();
    let host = super::EngineHost::spawn(move |sink| EvcxrEngine::start(workspace, &crates, sink).map(|e| Box::new(e) as Box<dyn Engine>))
        .map_err(|e| crate::KernelError::Io { context: "starting the engine thread".into(), source: e })?;
    Ok((host, dir))
}

pub struct EvcxrEngine {
    ctx: CommandContext,
    /// The format set with `:fmt`, which the cell process must know too (see
    /// [`strata_markers::RESULT_FORMAT_ENV`]); re-applied when a new process starts.
    result_format: Option<String>,
    pump: OutputPump,
    interrupt: Arc<InterruptState>,
    /// The executor library each cell process loads.
    executor_library: PathBuf,
    /// rust-analyzer has been asked its first question (see [`Engine::warm_up`]).
    warmed: bool,
    /// Held for the engine's life: the lock that keeps other kernels out of this slot.
    _workspace: Workspace,
}

/// Copies the seed's build into the slot if it is not from the seed's latest warm-up. A
/// failure costs only time (the slot builds what it lacks), so it is logged, not fatal.
fn refresh_from_seed(workspace: &Workspace) {
    let started = std::time::Instant::now();
    match workspace.refresh_from_seed() {
        Ok(true) => log::info!("{} copied from the seed in {:?}", workspace.dir().display(), started.elapsed()),
        Ok(false) => {}
        Err(e) => log::warn!("could not copy the seed build: {e}"),
    }
}

/// rustc's ways of saying that compiled dependencies in the target directory do not match
/// each other (an interrupted or mixed-version build), which only a clean build mends.
fn is_stale_build(message: &str) -> bool {
    ["can't find crate for", "found possibly newer version of crate", "E0463", "E0460", "E0514"]
        .iter()
        .any(|sign| message.contains(sign))
}

impl EvcxrEngine {
    /// Starts evcxr's child process and loads the preloaded crates. In a warm workspace this
    /// takes a few seconds; in a cold one, as long as compiling the dependencies.
    ///
    /// A slot whose build artifacts no longer fit together (cargo calls them fresh, rustc
    /// cannot load them: "can't find crate", "found possibly newer version") is cleared and
    /// built again, once, instead of leaving the kernel unable to start.
    pub fn start(workspace: Workspace, crates_dir: &Path, sink: Arc<dyn OutputSink>) -> Result<Self, String> {
        refresh_from_seed(&workspace);
        match Self::start_once(workspace, crates_dir, sink.clone()) {
            Ok(engine) => Ok(engine),
            Err((message, workspace)) if is_stale_build(&message) => {
                log::warn!("stale build artifacts in {}; rebuilding: {message}", workspace.dir().display());
                workspace.clear_build();
                refresh_from_seed(&workspace);
                Self::start_once(workspace, crates_dir, sink).map_err(|(message, _)| message)
            }
            Err((message, _)) => Err(message),
        }
    }

    fn start_once(workspace: Workspace, crates_dir: &Path, sink: Arc<dyn OutputSink>) -> Result<Self, (String, Workspace)> {
        let started = std::time::Instant::now();
        let (mut ctx, outputs) = match CommandContext::new() {
            Ok(pair) => pair,
            Err(e) => return Err((format!("could not start evcxr: {e}"), workspace)),
        };
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
        // strata-cells is the display crate (whose prelude re-exports the API) as one dylib,
        // so one thin dependency (one cargo resolution and one rust-analyzer reload) brings
        // in both, and every cell shares one API state; the executor library is built and
        // loaded beside it, outside the cells' crate graph.
        let cells = crates_dir.join("cells");
        if !cells.join("Cargo.toml").exists() || !crates_dir.join("executor/Cargo.toml").exists() {
            let message = format!(
                "the Strata crates are not in {} (set STRATA_CRATES_DIR to the source checkout)",
                crates_dir.display()
            );
            return Err((message, workspace));
        }
        // No `:cache`: see the workspace module for why evcxr's build cache is not used.
        let preload = format!(":dep strata-cells = {{ path = {cells:?} }}\nuse strata_cells::prelude::*;\n{CELL_HOOKS}");
        if let Err(e) = ctx.execute(&preload) {
            return Err((format!("could not load the Strata crates: {}", describe_error(&e, &preload).evalue), workspace));
        }
        log::info!("Strata crates loaded {:?} after start", started.elapsed());
        let Some(triple) = executor_library::host_triple() else {
            return Err(("cannot tell the host's target triple (`rustc -vV` failed)".to_owned(), workspace));
        };
        let executor_library = match executor_library::build(workspace.dir(), crates_dir, &triple) {
            Ok(path) => path,
            Err(e) => return Err((format!("could not build Strata's executor library: {e}"), workspace)),
        };
        log::info!("executor library {} ready {:?} after start", executor_library.display(), started.elapsed());
        let load = load_executor_code(&executor_library);
        if let Err(e) = ctx.execute(&load) {
            return Err((format!("could not load Strata's executor: {}", describe_error(&e, &load).evalue), workspace));
        }
        pump.flush();
        log::info!("engine ready {:?} after start", started.elapsed());
        Ok(EvcxrEngine { ctx, result_format: None, pump, interrupt, executor_library, warmed: false, _workspace: workspace })
    }

    /// Ends the engine (its cell process with it) and hands back its workspace, still locked.
    pub fn into_workspace(self) -> Workspace {
        let EvcxrEngine { ctx, pump, _workspace: workspace, .. } = self;
        drop(ctx);
        drop(pump);
        workspace
    }

    /// Code that sets up a new cell process: the cell hooks, the executor, and the `:fmt` in
    /// force.
    fn process_setup(&self) -> String {
        let mut code = format!("{CELL_HOOKS}\n{}", load_executor_code(&self.executor_library));
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

/// `:clear` and `:restart` make evcxr start a new cell process.
fn restarts_process(code: &str) -> bool {
    code.lines().any(|l| matches!(l.trim(), ":clear" | ":restart"))
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
                if restarts_process(code) {
                    // evcxr started a new cell process, which needs the hooks and the executor.
                    let setup = self.process_setup();
                    if let Err(e) = self.ctx.execute(&setup) {
                        log::warn!("could not set up the new cell process: {e}");
                    }
                }
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

    /// rust-analyzer resolves the whole crate graph cells compile against the first time it
    /// is asked anything (seconds), and it is asked at the first `let` (to infer the
    /// variable's type). One completion pays for that while the user reads.
    fn warm_up(&mut self) {
        if std::mem::replace(&mut self.warmed, true) {
            return;
        }
        let started = std::time::Instant::now();
        let probe = "let _ = zer";
        if let Err(e) = self.ctx.completions(probe, probe.len()) {
            log::warn!("warm-up completion failed: {e}");
        }
        log::info!("rust-analyzer warmed up in {:?}", started.elapsed());
    }

    /// evcxr's `:restart` starts the cell process again from this process's environment;
    /// the new process then needs the cell hooks and the executor, as after any restart.
    fn adopt_process_environment(&mut self) -> Result<(), String> {
        self.ctx.execute(":restart").map_err(|e| format!("could not restart the cell process: {e}"))?;
        let setup = self.process_setup();
        self.ctx.execute(&setup).map_err(|e| format!("could not set up the new cell process: {}", describe_error(&e, &setup).evalue))?;
        self.pump.flush();
        self.pump.signals().reset();
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cells_input_request_lines_are_evcxrs() {
        // Cells print these themselves (strata-display does not link evcxr_input); evcxr
        // reads them on the cell's stdout to call the input callback above.
        assert_eq!(strata_markers::INPUT_REQUEST, evcxr_input::GET_CMD);
        assert_eq!(strata_markers::INPUT_REQUEST_PASSWORD, evcxr_input::GET_CMD_PASSWORD);
    }

    #[test]
    fn recognises_documentation_requests() {
        assert_eq!(documentation_request("?Vec"), Some("Vec"));
        assert_eq!(documentation_request("std::vec::Vec?"), Some("std::vec::Vec"));
        assert_eq!(documentation_request(":doc HashMap"), Some("HashMap"));
        assert_eq!(documentation_request("let x = a?;"), None);
        assert_eq!(documentation_request("foo()?"), None);
    }
}
