//! The kernel's child processes, read from /proc: which builds (cargo, rustc, the linker) are
//! running, and whether the cell process is idle. Interrupting a cell depends on both: a
//! compile is stopped by killing the build (nothing ran, every variable is kept); running
//! code is stopped by signalling the cell process.

use std::collections::HashMap;

/// (pid, parent pid) of every process, from /proc/*/stat.
fn processes() -> Vec<(i32, i32)> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()))
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // The command name may hold spaces and parentheses: fields resume after the last ')'.
            let rest = &stat[stat.rfind(')')? + 1..];
            let ppid = rest.split_whitespace().nth(1)?.parse().ok()?;
            Some((pid, ppid))
        })
        .collect()
}

/// Kills every descendant of this process except `keep` and its own descendants; returns
/// how many were signalled. Used to stop a build: cargo, its rustc and linker processes.
pub fn kill_descendants_except(keep: i32) -> usize {
    kill_descendants_of(std::process::id() as i32, keep)
}

/// Kills every descendant of this process: the cell process and any build. For an engine
/// whose kernel is gone.
pub fn kill_all_descendants() -> usize {
    kill_descendants_of(std::process::id() as i32, 0)
}

/// Sends `signal` to every descendant of this process; how many there were. A spare engine
/// pauses (`SIGSTOP`) and resumes (`SIGCONT`) its builds with it.
pub fn signal_descendants(signal: i32) -> usize {
    let found = descendants(std::process::id() as i32, 0);
    for &pid in &found {
        // SAFETY: kill(2) on a process we just saw as our own descendant.
        unsafe { libc::kill(pid, signal) };
    }
    found.len()
}

/// `root`'s descendants, except `keep` and its own descendants.
fn descendants(root: i32, keep: i32) -> Vec<i32> {
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    for (pid, ppid) in processes() {
        children.entry(ppid).or_default().push(pid);
    }
    let mut found = Vec::new();
    let mut stack = children.get(&root).cloned().unwrap_or_default();
    while let Some(pid) = stack.pop() {
        if pid == keep {
            continue;
        }
        found.push(pid);
        stack.extend(children.get(&pid).cloned().unwrap_or_default());
    }
    found
}

/// CPU time (user and system, in clock ticks) used so far by `root` and its descendants
/// now running; `None` once `root` has ended.
pub fn tree_cpu_ticks(root: i32) -> Option<u64> {
    let ticks = |pid: i32| -> Option<u64> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // After the command name: state is field 3, utime and stime fields 14 and 15. A
        // zombie (state Z) has ended.
        let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
        if fields.next()? == "Z" {
            return None;
        }
        let mut times = fields.skip(10);
        Some(times.next()?.parse::<u64>().ok()? + times.next()?.parse::<u64>().ok()?)
    };
    let own = ticks(root)?;
    Some(own + descendants(root, 0).into_iter().filter_map(ticks).sum::<u64>())
}

/// Kills `pid` and its descendants (a spare engine being stopped, with its cell process).
pub fn kill_tree(pid: i32) -> usize {
    let killed = kill_descendants_of(pid, 0);
    // SAFETY: kill(2) on a pid the caller names; a stale pid of another user's process is
    // refused by the kernel.
    killed + usize::from(unsafe { libc::kill(pid, libc::SIGKILL) } == 0)
}

/// Kills every descendant of `root` except `keep` and its own descendants.
fn kill_descendants_of(root: i32, keep: i32) -> usize {
    let found = descendants(root, keep);
    for &pid in &found {
        // SAFETY: kill(2) on a process we just saw as our own descendant.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    found.len()
}

/// True when `pid`'s main thread is blocked reading its stdin: the cell process waiting for
/// evcxr's next command (or for the user's input), not running a cell's code.
pub fn waiting_on_stdin(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/syscall"))
        .map(|s| {
            let mut fields = s.split_whitespace();
            fields.next() == Some("0") && fields.next() == Some("0x0")
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Polls `done` for up to 30 s (at once on an idle machine, later on a loaded one).
    fn eventually(mut done: impl FnMut() -> bool) -> bool {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            if done() {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        false
    }

    fn alive(pid: i32) -> bool {
        // A zombie (state Z) has died and waits to be reaped.
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|stat| stat.rfind(')').and_then(|i| stat[i + 1..].split_whitespace().next()) != Some("Z"))
    }

    /// Under a shell of its own, so that the processes the other tests of this binary run at
    /// the same time (cargo builds) are not among the descendants killed.
    #[test]
    fn finds_and_kills_a_descendant_but_spares_the_kept_one() {
        let mut shell = std::process::Command::new("sh").args(["-c", "sleep 30 & sleep 30 & wait"]).spawn().unwrap();
        let root = shell.id() as i32;
        let mut sleepers = Vec::new();
        assert!(eventually(|| {
            sleepers = processes().into_iter().filter(|&(_, ppid)| ppid == root).map(|(pid, _)| pid).collect();
            sleepers.len() == 2
        }));
        let (victim, kept) = (sleepers[0], sleepers[1]);
        assert_eq!(kill_descendants_of(root, kept), 1);
        assert!(eventually(|| !alive(victim)), "the victim should have died");
        assert!(alive(kept), "the kept process must still run");
        // SAFETY: kill(2) on the shell's child we found above.
        unsafe { libc::kill(kept, libc::SIGKILL) };
        assert!(shell.wait().is_ok());
    }

    #[test]
    fn a_process_reading_stdin_is_idle() {
        let mut cat = std::process::Command::new("cat").stdin(std::process::Stdio::piped()).spawn().unwrap();
        let pid = cat.id() as i32;
        let idle = eventually(|| waiting_on_stdin(pid));
        let _ = cat.kill();
        let _ = cat.wait();
        assert!(idle, "cat waiting for input was not seen as idle");
    }
}
