//! The launcher's side: hand a kernel's connection file to this build's spare, then stand
//! for the engine as the process Jupyter watches and kills (see the [module docs](super)).

use std::fs::File;
use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::handoff::{self, Reply, Request};
use super::{enabled, io_error, seconds_from_env, PoolDir, PoolError, WAIT_ENV};

/// A kernel session a spare engine now serves.
pub struct Handed {
    stream: UnixStream,
    pub engine_pid: u32,
}

impl Handed {
    /// Blocks for as long as the engine serves (until it closes its end of the socket).
    pub fn hold(mut self) {
        let mut buf = [0u8; 64];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => {
                    log::info!("the engine {} has ended", self.engine_pid);
                    return;
                }
                Ok(n) => log::warn!("unexpected {n} bytes from the engine {}", self.engine_pid),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    log::warn!("lost the connection to the engine {}: {e}", self.engine_pid);
                    return;
                }
            }
        }
    }
}

/// Marks, for as long as it lives, that this launcher waits for a spare: a spare that would
/// wait for the machine to be idle warms at once.
struct Wanted(PathBuf);

impl Wanted {
    fn mark(pool: &PoolDir) -> Wanted {
        let path = pool.wanted_marker(std::process::id());
        if let Err(e) = std::fs::write(&path, "") {
            log::debug!("cannot mark {}: {e}", path.display());
        }
        Wanted(path)
    }
}

impl Drop for Wanted {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Hands the kernel of `connection_file` to this build's spare under `root`, starting one
/// (and waiting for it to warm, up to `STRATA_POOL_WAIT` seconds) when none runs. An error
/// says why the kernel must start cold.
pub fn hand_off(root: &Path, connection_file: &Path) -> Result<Handed, PoolError> {
    enabled()?;
    let pool = PoolDir::for_this_build(root)?;
    pool.create()?;
    let connection_file = std::path::absolute(connection_file).map_err(io_error("locating the connection file"))?;
    let cwd = std::env::current_dir().map_err(io_error("reading the working directory"))?;
    let request = Request::new(pool.key(), &connection_file, &cwd, std::env::vars_os().collect());
    let wait = seconds_from_env(WAIT_ENV, 60);
    let deadline = Instant::now() + wait;
    let _wanted = Wanted::mark(&pool);
    let mut started_one = false;
    loop {
        match UnixStream::connect(pool.socket()) {
            Ok(stream) => match offer(stream, &request) {
                Ok(handed) => return Ok(handed),
                Err(e @ PoolError::Refused(_)) => return Err(e),
                // Another kernel took the spare while this one waited in its queue (or the
                // spare died): wait for the next one.
                Err(e) if Instant::now() < deadline => {
                    log::info!("the spare went away during the handoff ({e}); waiting for the next one");
                    std::thread::sleep(Duration::from_millis(25));
                }
                Err(e) => return Err(e),
            },
            Err(_) if !pool.spare_running() => {
                if started_one {
                    return Err(PoolError::NoSpare);
                }
                // The spare was just taken by another kernel, or there was none: start one and
                // wait for it, which costs no more than starting cold.
                log::info!("no spare engine for this build is running; starting one and waiting for it");
                start_spare(root, None)?;
                started_one = true;
            }
            Err(_) if Instant::now() >= deadline => return Err(PoolError::Timeout(wait.as_secs())),
            Err(_) => std::thread::sleep(Duration::from_millis(25)),
        }
    }
}

fn offer(mut stream: UnixStream, request: &Request) -> Result<Handed, PoolError> {
    // Taking on the kernel restarts the cell process: a second or so, longer on a busy machine.
    let _ = stream.set_read_timeout(Some(Duration::from_secs(120)));
    let (stdin, stdout, stderr) = (std::io::stdin(), std::io::stdout(), std::io::stderr());
    handoff::send_request(&mut stream, request, [stdin.as_fd(), stdout.as_fd(), stderr.as_fd()])?;
    match handoff::recv_reply(&mut stream)? {
        Reply::Accepted { engine_pid } => {
            let _ = stream.set_read_timeout(None);
            Ok(Handed { stream, engine_pid })
        }
        Reply::Refused { reason } => Err(PoolError::Refused(reason)),
    }
}

/// Starts a spare for this build in the background (`strata pool serve`), in a session of
/// its own so that neither a terminal's Ctrl-C nor Jupyter's killing of a kernel's process
/// group reaches it, logging to the pool's `spare.log`. With `after_idle`, it warms once
/// that process is idle. Returns once the spare holds the pool's lock (or has exited,
/// because another spare runs).
pub fn start_spare(root: &Path, after_idle: Option<u32>) -> Result<(), PoolError> {
    let pool = PoolDir::for_this_build(root)?;
    pool.create()?;
    let exe = std::env::current_exe().map_err(io_error("locating the strata binary"))?;
    let log_path = pool.log_path();
    let log = File::options().create(true).append(true).open(&log_path).map_err(io_error(format!("opening {}", log_path.display())))?;
    let log_err = log.try_clone().map_err(io_error(format!("opening {}", log_path.display())))?;
    let mut command = Command::new(exe);
    command.args(["pool", "serve"]).stdin(Stdio::null()).stdout(log).stderr(log_err);
    if let Some(pid) = after_idle {
        command.args(["--after-idle", &pid.to_string()]);
    }
    // SAFETY: setsid(2) is async-signal-safe, as required between fork and exec.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn().map_err(io_error("starting a spare engine"))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && !pool.spare_running() {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // Reaped in the background, so that a spare that exits while this process lives leaves
    // no zombie.
    std::thread::spawn(move || child.wait());
    Ok(())
}

/// Waits up to `timeout` for this build's spare to be ready; its state line on success.
pub fn wait_ready(root: &Path, timeout: Duration) -> Result<String, PoolError> {
    let pool = PoolDir::for_this_build(root)?;
    let deadline = Instant::now() + timeout;
    loop {
        match pool.state() {
            Some(state) if state.ends_with("ready") => return Ok(state),
            None if !pool.spare_running() => return Err(PoolError::NoSpare),
            _ if Instant::now() >= deadline => return Err(PoolError::Timeout(timeout.as_secs())),
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// Stops every spare under `root` (all builds), with their cell processes; how many.
pub fn stop_all(root: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(root.join("pool")) else { return 0 };
    let mut stopped = 0;
    for entry in entries.filter_map(|e| e.ok()) {
        let pool = PoolDir { dir: entry.path(), key: entry.file_name().to_string_lossy().into_owned() };
        // Only a spare: the pid its state names while it holds the pool's lock.
        let Some(pid) = pool.spare_pid() else { continue };
        if crate::engine::process_tree::kill_tree(pid) > 0 {
            stopped += 1;
            let _ = std::fs::remove_file(pool.state_path());
            let _ = std::fs::remove_file(pool.socket());
        }
    }
    stopped
}
