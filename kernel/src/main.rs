//! `strata`: the command line over the kernel library.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use strata_kernel::engine::evcxr_engine::{self, EvcxrEngine};
use strata_kernel::engine::workspace::Workspace;
use strata_kernel::engine::{Engine, EngineHost, LiveOutput, OutputSink};
use strata_kernel::install::{self, Target};
use strata_kernel::pool::{self, spare::SpareOptions, PoolError};
use strata_kernel::protocol::ConnectionInfo;
use strata_kernel::KernelError;

#[derive(Parser)]
#[command(name = "strata", version, about = "Jupyter kernel for Rust cells, with the Strata runtime preloaded")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the kernel (Jupyter starts this from the kernelspec).
    Kernel {
        #[arg(long, short = 'f')]
        connection_file: PathBuf,
    },
    /// Register the "strata" kernelspec with Jupyter and warm the compile cache.
    Install(InstallArgs),
    /// Compile the preloaded crates into the cache, so new kernels start fast.
    Warm,
    /// Generate the tutorial datasets the notebooks use (cached; runs `strata-tutorial`)
    /// and print where they are.
    Tutorial {
        /// Which ones (default: all of sst, sla, oxygen).
        names: Vec<String>,
    },
    /// The warm-engine pool: a spare engine that new kernels take, so they start warm.
    Pool {
        #[command(subcommand)]
        action: PoolAction,
    },
}

#[derive(Subcommand)]
enum PoolAction {
    /// Start this build's spare engine in the background, unless one runs.
    Start {
        /// Also wait until it is warm.
        #[arg(long)]
        wait: bool,
        /// Seconds to wait with --wait.
        #[arg(long, default_value_t = 600)]
        timeout: u64,
    },
    /// Stop the spare engines of every build (running kernels are not affected).
    Stop,
    /// Say whether this build's spare engine is running, and what it does.
    Status,
    /// Be the spare engine, in the foreground (what `start` runs).
    #[command(hide = true)]
    Serve {
        /// Warm only once this process (a kernel) and its children are idle.
        #[arg(long)]
        after_idle: Option<i32>,
    },
}

#[derive(Args)]
#[group(multiple = false)]
struct Where {
    /// Install for the current user (the default).
    #[arg(long)]
    user: bool,
    /// Install into the active Python environment (virtualenv or conda).
    #[arg(long)]
    sys_prefix: bool,
    /// Install into DIR/share/jupyter/kernels.
    #[arg(long, value_name = "DIR")]
    prefix: Option<PathBuf>,
}

#[derive(Args)]
struct InstallArgs {
    #[command(flatten)]
    target: Where,
    /// Kernelspec name.
    #[arg(long, default_value = "strata")]
    name: String,
    /// Only write the kernelspec; skip compiling the preloaded crates.
    #[arg(long)]
    no_warm: bool,
}

fn main() -> ExitCode {
    // When evcxr starts this binary to run compiled cells, it never returns from here.
    evcxr_engine::child_process_hook();
    strata_kernel::logging::init();
    let result = match Cli::parse().command {
        Command::Kernel { connection_file } => run_kernel(&connection_file),
        Command::Install(args) => run_install(args),
        Command::Warm => warm(),
        Command::Tutorial { names } => tutorial(&names),
        Command::Pool { action } => run_pool(action),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("strata: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `strata-tutorial` (built beside this binary from the runtime, which the kernel does
/// not link) to generate the datasets and print where they are.
fn tutorial(names: &[String]) -> Result<(), KernelError> {
    let exe = std::env::current_exe().map_err(|e| KernelError::Tutorial(format!("where is this binary? {e}")))?;
    let tool = exe.with_file_name("strata-tutorial");
    if !tool.is_file() {
        return Err(KernelError::Tutorial(format!("{} is missing; build it with `cargo build --release -p strata --bins`", tool.display())));
    }
    let status = std::process::Command::new(&tool).args(names).status().map_err(|e| KernelError::Tutorial(format!("{}: {e}", tool.display())))?;
    if status.success() {
        Ok(())
    } else {
        Err(KernelError::Tutorial(format!("{} failed ({status})", tool.display())))
    }
}

fn run_kernel(connection_file: &std::path::Path) -> Result<(), KernelError> {
    let root = Workspace::cache_root();
    match pool::launcher::hand_off(&root, connection_file) {
        Ok(handed) => {
            log::info!("served by the warm engine {}", handed.engine_pid);
            // Jupyter interrupts through the control channel; a stray terminal Ctrl-C must not
            // end this process, which would end the engine.
            // SAFETY: setting a signal to be ignored.
            unsafe { libc::signal(libc::SIGINT, libc::SIG_IGN) };
            if let Err(e) = pool::launcher::start_spare(&root, Some(handed.engine_pid)) {
                log::warn!("cannot start the next spare engine: {e}");
            }
            handed.hold();
            return Ok(());
        }
        Err(e @ (PoolError::Disabled(_) | PoolError::NotWarmed)) => log::info!("starting cold: {e}"),
        Err(e) => log::warn!("starting cold: {e}"),
    }
    let conn = ConnectionInfo::from_file(connection_file)?;
    let (engine, _) = evcxr_engine::spawn_in_slot(&root)?;
    serve_session(conn, engine)
}

/// Serves a kernel session with `engine` until shutdown, then ends the process.
fn serve_session(conn: ConnectionInfo, engine: EngineHost) -> Result<(), KernelError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| KernelError::Io { context: "starting the async runtime".into(), source: e })?;
    runtime.block_on(async move {
        // The frontend interrupts through the control channel; a stray terminal Ctrl-C must
        // not kill the kernel (and with it, the user's variables).
        #[cfg(unix)]
        if let Ok(mut sigint) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()) {
            tokio::spawn(async move {
                while sigint.recv().await.is_some() {
                    log::info!("ignoring SIGINT; use the interrupt button (control channel)");
                }
            });
        }
        strata_kernel::server::serve(conn, engine).await
    })?;
    // Leave without unwinding the runtime: its socket tasks are parked in receives.
    std::process::exit(0);
}

fn run_pool(action: PoolAction) -> Result<(), KernelError> {
    let root = Workspace::cache_root();
    match action {
        PoolAction::Start { wait, timeout } => {
            pool::launcher::start_spare(&root, None)?;
            if wait {
                let state = pool::launcher::wait_ready(&root, std::time::Duration::from_secs(timeout))?;
                println!("spare engine: {state}");
            }
            Ok(())
        }
        PoolAction::Stop => {
            println!("stopped {} spare engine(s)", pool::launcher::stop_all(&root));
            Ok(())
        }
        PoolAction::Status => {
            let dir = pool::PoolDir::for_this_build(&root)?;
            match dir.state() {
                Some(state) => println!("spare engine: {state} ({})", dir.dir().display()),
                None => println!("no spare engine is running for this build ({})", dir.dir().display()),
            }
            Ok(())
        }
        PoolAction::Serve { after_idle } => match pool::spare::run(&root, &SpareOptions { after_idle })? {
            None => Ok(()),
            Some(adopted) => {
                adopted.end_with_launcher()?;
                let pool::spare::Adopted { conn, engine, .. } = adopted;
                serve_session(conn, engine)
            }
        },
    }
}

fn run_install(args: InstallArgs) -> Result<(), KernelError> {
    let target = match (args.target.user, args.target.sys_prefix, args.target.prefix) {
        (_, true, _) => Target::SysPrefix,
        (_, _, Some(dir)) => Target::Prefix(dir),
        _ => Target::User,
    };
    let exe = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .map_err(|e| KernelError::Io { context: "locating the strata binary".into(), source: e })?;
    let crates = evcxr_engine::crates_dir()
        .canonicalize()
        .map_err(|e| KernelError::Io { context: "locating the Strata crates".into(), source: e })?;
    let dir = install::install_kernelspec(&target, &args.name, &exe, &crates)?;
    println!("Installed kernelspec {} in {}", args.name, dir.display());
    if args.no_warm {
        return Ok(());
    }
    warm()
}

/// Prints build progress so a first install does not look hung.
struct StderrSink;

impl OutputSink for StderrSink {
    fn emit(&self, output: LiveOutput) {
        match output {
            LiveOutput::Stdout(line) | LiveOutput::Stderr(line) => eprintln!("  {line}"),
        }
    }
}

fn warm() -> Result<(), KernelError> {
    let started = std::time::Instant::now();
    eprintln!("Compiling the preloaded crates into the cache (the first time takes a few minutes)...");
    // One build, in the seed; each kernel's slot starts from a copy of it.
    let seed = Workspace::acquire_seed(&Workspace::cache_root())?;
    let dir = seed.dir().display().to_string();
    evcxr_engine::configure_process(&seed);
    let mut engine =
        EvcxrEngine::start(seed, &evcxr_engine::crates_dir(), Arc::new(StderrSink)).map_err(KernelError::Warm)?;
    // The executor must be the loaded library, not the one-thread fallback.
    let check = "assert_eq!(strata::executor::registered(), Some(\"strata\")); strata::exec::map_tasks(4, |i| i).map(|v| v.len())";
    match engine.execute(check, None) {
        strata_kernel::engine::ExecuteOutcome::Ok { .. } => {}
        strata_kernel::engine::ExecuteOutcome::Error(e) => {
            return Err(KernelError::Warm(format!("{dir}: {}: {}", e.ename, e.evalue)))
        }
    }
    // Published only once nothing builds in it any more: the engine (and its lock) goes last.
    let seed = engine.into_workspace();
    seed.publish_seed()?;
    eprintln!("  {dir} ready");
    eprintln!("Cache ready in {:.1} s.", started.elapsed().as_secs_f64());
    Ok(())
}
