//! A spare warms at low priority: it starts once the kernel that took the previous spare is
//! idle, and while it warms, its builds (cargo, rustc) are paused whenever that kernel is busy
//! again, so the user's cells do not share the machine with it.
//!
//! Letting the spare warm beside a kernel that keeps a core free was tried: on two cores it
//! made the kernel's first cell result come at 2.0 s instead of 1.1 s and its `1 + 1` p95
//! 0.87 s instead of 0.49 s (the warm-up is itself parallel: cargo's jobs, rust-analyzer), so
//! the spare yields to any activity of the kernel.
//!
//! Lowering the spare's scheduling priority instead (nice, `SCHED_IDLE`) would stay with it:
//! an unprivileged process cannot raise its priority again, and the spare becomes a kernel.
//! Pausing with `SIGSTOP`/`SIGCONT` leaves nothing behind. A launcher waiting for a spare
//! (see [`PoolDir::wanted_marker`]) lifts both the wait and the pauses: then the spare is
//! what the user waits for.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{PoolDir, WANTED_PREFIX};
use crate::engine::process_tree;

/// Below this share of one CPU, a kernel's process tree counts as idle.
const IDLE_CPU_SHARE: f64 = 0.1;
/// How often the kernel's activity is sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(250);

/// Whether a launcher is waiting for a spare now (a wanted marker of a live process).
pub(super) fn launcher_waiting(pool: &PoolDir) -> bool {
    let Ok(entries) = std::fs::read_dir(pool.dir()) else { return false };
    entries.filter_map(|e| e.ok()).any(|e| {
        let name = e.file_name();
        let pid = name.to_str().and_then(|n| n.strip_prefix(WANTED_PREFIX)).and_then(|p| p.parse::<i32>().ok());
        pid.is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists())
    })
}

/// The CPU a process tree uses, sampled.
struct Activity {
    pid: i32,
    ticks_per_second: f64,
    last: (Instant, u64),
}

impl Activity {
    /// `None` when `pid` has ended.
    fn of(pid: i32) -> Option<Activity> {
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        Some(Activity { pid, ticks_per_second: hz, last: (Instant::now(), process_tree::tree_cpu_ticks(pid)?) })
    }

    /// Whether the tree used at least [`IDLE_CPU_SHARE`] of a CPU since the last sample;
    /// `None` once it has ended.
    fn busy(&mut self) -> Option<bool> {
        let now = (Instant::now(), process_tree::tree_cpu_ticks(self.pid)?);
        let seconds = now.0.duration_since(self.last.0).as_secs_f64().max(1e-3);
        let used = now.1.saturating_sub(self.last.1) as f64 / self.ticks_per_second;
        self.last = now;
        Some(used / seconds >= IDLE_CPU_SHARE)
    }
}

/// Waits until `pid`'s process tree is idle over half a second, has ended, or a launcher
/// waits for a spare; says which.
pub(super) fn wait_until_idle(pool: &PoolDir, pid: i32) -> &'static str {
    let Some(mut activity) = Activity::of(pid) else { return "the kernel has ended" };
    loop {
        std::thread::sleep(Duration::from_millis(500));
        if launcher_waiting(pool) {
            return "a kernel is waiting";
        }
        match activity.busy() {
            None => return "the kernel has ended",
            Some(false) => return "the kernel is idle",
            Some(true) => {}
        }
    }
}

/// Pauses this process's builds while the kernel `pid` is busy, for as long as it runs.
pub(super) struct Yielder {
    done: Arc<AtomicBool>,
    pauses: Arc<AtomicU32>,
    paused_ms: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Yielder {
    pub(super) fn start(pool: PoolDir, pid: i32) -> Yielder {
        let done = Arc::new(AtomicBool::new(false));
        let pauses = Arc::new(AtomicU32::new(0));
        let paused_ms = Arc::new(AtomicU64::new(0));
        let (d, p, ms) = (done.clone(), pauses.clone(), paused_ms.clone());
        let thread = std::thread::Builder::new()
            .name("spare-yield".into())
            .spawn(move || {
                let Some(mut activity) = Activity::of(pid) else { return };
                let mut paused_since: Option<Instant> = None;
                while !d.load(Ordering::SeqCst) {
                    std::thread::sleep(SAMPLE_EVERY);
                    let busy = activity.busy().unwrap_or(false) && !launcher_waiting(&pool);
                    match (busy, paused_since) {
                        (true, None) => {
                            process_tree::signal_descendants(libc::SIGSTOP);
                            p.fetch_add(1, Ordering::SeqCst);
                            paused_since = Some(Instant::now());
                        }
                        (false, Some(since)) => {
                            process_tree::signal_descendants(libc::SIGCONT);
                            ms.fetch_add(since.elapsed().as_millis() as u64, Ordering::SeqCst);
                            paused_since = None;
                        }
                        // Builds started since the pause began are paused too.
                        (true, Some(_)) => {
                            process_tree::signal_descendants(libc::SIGSTOP);
                        }
                        (false, None) => {}
                    }
                }
                if let Some(since) = paused_since {
                    ms.fetch_add(since.elapsed().as_millis() as u64, Ordering::SeqCst);
                }
                process_tree::signal_descendants(libc::SIGCONT);
            })
            .ok();
        Yielder { done, pauses, paused_ms, thread }
    }

    pub(super) fn pauses(&self) -> u32 {
        self.pauses.load(Ordering::SeqCst)
    }

    pub(super) fn paused_for(&self) -> Duration {
        Duration::from_millis(self.paused_ms.load(Ordering::SeqCst))
    }

    /// Stops pausing, and resumes whatever is paused (as dropping it does).
    pub(super) fn stop(self) {}
}

impl Drop for Yielder {
    /// Resumes whatever is paused: a spare that fails while warming leaves no build stopped.
    fn drop(&mut self) {
        self.done.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(dir: &Path) -> PoolDir {
        PoolDir { dir: dir.to_owned(), key: "k".into() }
    }

    #[test]
    fn a_waiting_launcher_is_seen_only_while_it_lives() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool(dir.path());
        assert!(!launcher_waiting(&pool));
        std::fs::write(pool.wanted_marker(std::process::id()), "").unwrap();
        assert!(launcher_waiting(&pool));
        std::fs::remove_file(pool.wanted_marker(std::process::id())).unwrap();
        // A pid that cannot exist (above the kernel's pid_max).
        std::fs::write(pool.wanted_marker(2_147_483_646), "").unwrap();
        assert!(!launcher_waiting(&pool));
    }

    /// A busy loop is busy and a sleeping process is idle, whatever the machine's speed: the
    /// loop uses a whole CPU when it runs at all, the sleeper none.
    #[test]
    fn a_spinning_process_is_busy_and_a_sleeping_one_idle() {
        let mut spinner = std::process::Command::new("sh").args(["-c", "while :; do :; done"]).spawn().unwrap();
        let mut sleeper = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let mut spinning = Activity::of(spinner.id() as i32).unwrap();
        let mut sleeping = Activity::of(sleeper.id() as i32).unwrap();
        // Long enough for the spinner to be scheduled for a few ticks even on a loaded machine.
        let mut busy = false;
        for _ in 0..40 {
            std::thread::sleep(Duration::from_millis(250));
            busy = spinning.busy().unwrap();
            if busy {
                break;
            }
        }
        let idle = !sleeping.busy().unwrap();
        let _ = spinner.kill();
        let _ = spinner.wait();
        let _ = sleeper.kill();
        let _ = sleeper.wait();
        assert!(busy, "a spinning shell never looked busy");
        assert!(idle, "a sleeping process looked busy");
        assert!(Activity::of(spinner.id() as i32).is_none(), "an ended process has no activity");
    }
}
