//! The spare: an engine started and warmed before any kernel asks for it, waiting on its
//! pool's socket for a launcher to hand it a session (see the [module docs](super)).

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::handoff::{self, Reply, Request};
use super::shape::{local_evcxr_config, EngineShape};
use super::yielding;
use super::{io_error, seconds_from_env, PoolDir, PoolError, IDLE_EXIT_ENV};
use crate::engine::evcxr_engine;
use crate::engine::{process_tree, EngineHost};
use crate::protocol::ConnectionInfo;

/// A kernel session a spare has taken on: serve `conn` with `engine`, and end when the
/// launcher does ([`Adopted::end_with_launcher`]).
pub struct Adopted {
    pub conn: ConnectionInfo,
    pub engine: EngineHost,
    launcher: UnixStream,
}

impl Adopted {
    /// Watches the launcher's end of the socket: when it closes (Jupyter killed or stopped
    /// the kernel process), this engine ends, and its cell process and any build with it.
    pub fn end_with_launcher(&self) -> Result<(), PoolError> {
        let watched = self.launcher.try_clone().map_err(io_error("watching the launcher"))?;
        std::thread::Builder::new()
            .name("launcher-watch".into())
            .spawn(move || {
                let why = wait_until_closed(watched);
                let killed = process_tree::kill_all_descendants();
                log::info!("{why}; stopping this engine ({killed} processes stopped)");
                std::process::exit(0);
            })
            .map(|_| ())
            .map_err(io_error("watching the launcher"))
    }
}

/// Blocks until the other end of `stream` is closed (or the connection breaks), and says
/// which. Nothing is ever sent on it.
fn wait_until_closed(mut stream: UnixStream) -> String {
    // The handoff's read timeout belongs to the socket, shared by every descriptor of it.
    if let Err(e) = stream.set_read_timeout(None) {
        log::warn!("cannot clear the launcher socket's timeout: {e}");
    }
    let mut byte = [0u8; 1];
    loop {
        match stream.read(&mut byte) {
            Ok(0) => return "the kernel process ended".to_owned(),
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::Interrupted | std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => continue,
            Err(e) => return format!("lost the kernel process: {e}"),
        }
    }
}

/// How a spare was asked to start.
#[derive(Debug, Clone, Default)]
pub struct SpareOptions {
    /// Warm only once this process (the kernel that took the previous spare) and its
    /// descendants are idle, or a launcher is waiting.
    pub after_idle: Option<i32>,
}

/// One line about what the spare is doing, for `strata pool status`.
fn set_state(pool: &PoolDir, state: &str) {
    let line = format!("pid {} {state}\n", std::process::id());
    if let Err(e) = std::fs::write(pool.state_path(), line) {
        log::warn!("cannot write {}: {e}", pool.state_path().display());
    }
}

/// Takes this build's spare lock, retrying briefly past a launcher's probe of it; `None`
/// when another spare holds it.
fn take_lock(pool: &PoolDir) -> Result<Option<File>, PoolError> {
    let path = pool.lock_path();
    let file = File::options().read(true).write(true).create(true).truncate(false).open(&path).map_err(io_error(format!("opening {}", path.display())))?;
    for _ in 0..25 {
        match file.try_lock() {
            Ok(()) => return Ok(Some(file)),
            Err(std::fs::TryLockError::WouldBlock) => std::thread::sleep(Duration::from_millis(20)),
            Err(std::fs::TryLockError::Error(e)) => return Err(io_error(format!("locking {}", path.display()))(e)),
        }
    }
    Ok(None)
}

/// Runs a spare for this build until a launcher takes it (the session is returned) or it is
/// not needed: another spare runs, it went unused for `STRATA_POOL_IDLE_EXIT` seconds, or
/// its build was replaced (then `None`).
pub fn run(root: &Path, options: &SpareOptions) -> Result<Option<Adopted>, PoolError> {
    let pool = PoolDir::for_this_build(root)?;
    pool.create()?;
    let Some(lock) = take_lock(&pool)? else {
        log::info!("a spare engine for this build is already running");
        return Ok(None);
    };
    let yielder = match options.after_idle {
        Some(pid) => {
            set_state(&pool, &format!("waiting for kernel {pid} to be idle"));
            let why = yielding::wait_until_idle(&pool, pid);
            log::info!("warming a spare engine: {why}");
            Some(yielding::Yielder::start(pool.clone(), pid))
        }
        None => None,
    };
    set_state(&pool, "warming");
    let started = Instant::now();
    let shape = EngineShape::current();
    let (engine, workspace_dir) = evcxr_engine::spawn_in_slot(root).map_err(|e| PoolError::Engine(e.to_string()))?;
    engine.run_blocking(|e| e.warm_up()).map_err(|e| PoolError::Engine(e.to_string()))?;
    if let Some(yielder) = yielder {
        log::info!("spare warming paused {} times, for {:?}, while its kernel was busy", yielder.pauses(), yielder.paused_for());
        yielder.stop();
    }
    log::info!("spare engine warm in {:?}", started.elapsed());

    let socket = pool.socket();
    let _ = std::fs::remove_file(&socket);
    let listener = UnixListener::bind(&socket).map_err(io_error(format!("listening on {}", socket.display())))?;
    set_state(&pool, "ready");
    let spare = Spare { pool, shape, engine, workspace_dir, listener, lock };
    spare.wait_for_a_kernel()
}

struct Spare {
    pool: PoolDir,
    shape: EngineShape,
    engine: EngineHost,
    workspace_dir: PathBuf,
    listener: UnixListener,
    lock: File,
}

/// How often a waiting spare checks whether its build is still current.
const CHECK_EVERY: Duration = Duration::from_secs(2);

impl Spare {
    fn wait_for_a_kernel(self) -> Result<Option<Adopted>, PoolError> {
        let idle_exit = seconds_from_env(IDLE_EXIT_ENV, 3600);
        let unused_since = Instant::now();
        self.listener.set_nonblocking(true).map_err(io_error("configuring the spare's socket"))?;
        let root = self.pool.dir().parent().and_then(Path::parent).map(Path::to_owned).unwrap_or_default();
        let mut last_check = Instant::now();
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => match self.offer(stream) {
                    Ok(Some((conn, launcher))) => return Ok(Some(Adopted { conn, engine: self.engine, launcher })),
                    Ok(None) => continue,
                    Err(e) => {
                        // Its environment may already be the refused kernel's: not a spare any more.
                        self.retire();
                        return Err(e);
                    }
                },
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => log::warn!("accepting on the spare's socket: {e}"),
            }
            if unused_since.elapsed() >= idle_exit {
                log::info!("spare engine unused for {idle_exit:?}; exiting");
                self.retire();
                return Ok(None);
            }
            if last_check.elapsed() >= CHECK_EVERY {
                last_check = Instant::now();
                if super::build_key(&root, &evcxr_engine::crates_dir()).ok().as_deref() != Some(self.pool.key()) {
                    log::info!("this spare's build was replaced; exiting");
                    self.retire();
                    return Ok(None);
                }
            }
            wait_readable(&self.listener, Duration::from_millis(500));
        }
    }

    /// Leaves the pool: no launcher finds this spare any more.
    fn retire(&self) {
        let _ = std::fs::remove_file(self.pool.socket());
        let _ = std::fs::remove_file(self.pool.state_path());
    }

    /// Answers one connection: `Some` when this engine now serves its kernel.
    fn offer(&self, mut stream: UnixStream) -> Result<Option<(ConnectionInfo, UnixStream)>, PoolError> {
        stream.set_nonblocking(false).map_err(io_error("configuring a launcher's connection"))?;
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
        // Only this user's processes may hand this user's engine a session.
        let peer = rustix::net::sockopt::socket_peercred(&stream).map_err(|e| PoolError::Io { context: "asking who connected".into(), source: e.into() })?;
        if peer.uid != rustix::process::getuid() {
            log::warn!("refused a connection from uid {:?}", peer.uid);
            return Ok(None);
        }
        let (request, streams) = match handoff::recv_request(&mut stream) {
            Ok(received) => received,
            Err(e) => {
                log::warn!("ignoring a malformed handoff: {e}");
                return Ok(None);
            }
        };
        let conn = match self.check(&request) {
            Ok(conn) => conn,
            Err(reason) => {
                log::info!("refused a kernel: {reason}");
                let _ = handoff::send_reply(&mut stream, &Reply::Refused { reason });
                return Ok(None);
            }
        };
        // From here the process is the kernel's: its directory, its environment, its streams.
        self.retire();
        take_on_environment(&request, &self.workspace_dir)?;
        if let Err(reason) = self.engine.run_blocking(|e| e.adopt_process_environment()).map_err(|e| e.to_string()).and_then(|r| r) {
            let _ = handoff::send_reply(&mut stream, &Reply::Refused { reason: reason.clone() });
            return Err(PoolError::Refused(reason));
        }
        take_on_streams(streams);
        handoff::send_reply(&mut stream, &Reply::Accepted { engine_pid: std::process::id() })?;
        // The next spare may start now.
        let _ = self.lock.unlock();
        Ok(Some((conn, stream)))
    }

    /// Why this spare cannot serve `request`, or its connection info.
    fn check(&self, request: &Request) -> Result<ConnectionInfo, String> {
        if request.version != handoff::VERSION {
            return Err(format!("handoff version {} (this spare speaks {})", request.version, handoff::VERSION));
        }
        if request.build_key != self.pool.key() {
            return Err("the launcher is from another build".into());
        }
        if let Some(why) = self.shape.mismatch(&EngineShape::of(&request.env())) {
            return Err(why);
        }
        let cwd = request.cwd();
        if !cwd.is_dir() {
            return Err(format!("the kernel's directory {} does not exist", cwd.display()));
        }
        if let Some(config) = local_evcxr_config(&cwd) {
            return Err(format!("{} configures the engine as it starts", config.display()));
        }
        ConnectionInfo::from_file(&request.connection_file()).map_err(|e| e.to_string())
    }
}

/// Waits until `listener` has a connection or `timeout` passes.
fn wait_readable(listener: &UnixListener, timeout: Duration) {
    let mut fds = [rustix::event::PollFd::new(listener, rustix::event::PollFlags::IN)];
    let timeout = rustix::event::Timespec { tv_sec: timeout.as_secs() as _, tv_nsec: timeout.subsec_nanos() as _ };
    let _ = rustix::event::poll(&mut fds, Some(&timeout));
}

/// Replaces this process's working directory and environment with the kernel's, then
/// re-applies what the kernel sets for evcxr and reads the log filter again.
///
/// Called on the main thread while the engine thread waits for work; no other thread of
/// ours reads the environment then.
fn take_on_environment(request: &Request, workspace_dir: &Path) -> Result<(), PoolError> {
    let cwd = request.cwd();
    std::env::set_current_dir(&cwd).map_err(io_error(format!("entering {}", cwd.display())))?;
    let wanted = request.env();
    let keep: std::collections::HashSet<&std::ffi::OsStr> = wanted.iter().map(|(k, _)| k.as_os_str()).collect();
    for (name, _) in std::env::vars_os() {
        if !keep.contains(name.as_os_str()) {
            std::env::remove_var(&name);
        }
    }
    for (name, value) in &wanted {
        if !name.is_empty() && !name.to_string_lossy().contains('=') {
            std::env::set_var(name, value);
        }
    }
    evcxr_engine::configure_environment(workspace_dir);
    crate::logging::reload_from_env();
    Ok(())
}

/// Makes the launcher's standard input, output and error this process's.
fn take_on_streams(streams: Vec<OwnedFd>) {
    if streams.len() != 3 {
        log::warn!("the launcher passed {} streams, not 3; keeping the spare's", streams.len());
        return;
    }
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    for (target, fd) in streams.iter().enumerate() {
        // SAFETY: dup2 onto the standard descriptors, with a descriptor we own.
        if unsafe { libc::dup2(fd.as_raw_fd(), target as i32) } < 0 {
            log::warn!("cannot take on the launcher's stream {target}: {}", std::io::Error::last_os_error());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A read timeout left on the socket by the handoff (10 s there, 20 ms here) must not be
    /// taken for the launcher's end: only closing it is.
    #[test]
    fn the_launcher_is_gone_only_when_its_end_closes() {
        let (launcher, engine) = UnixStream::pair().unwrap();
        engine.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || done_tx.send(wait_until_closed(engine)));
        assert!(done_rx.recv_timeout(Duration::from_millis(300)).is_err(), "ended while the launcher lives");
        drop(launcher);
        let why = done_rx.recv_timeout(Duration::from_secs(30)).expect("not ended after the launcher closed");
        assert_eq!(why, "the kernel process ended");
    }
}
