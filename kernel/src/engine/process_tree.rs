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
    let me = std::process::id() as i32;
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    for (pid, ppid) in processes() {
        children.entry(ppid).or_default().push(pid);
    }
    let mut found = Vec::new();
    let mut stack = children.get(&me).cloned().unwrap_or_default();
    while let Some(pid) = stack.pop() {
        if pid == keep {
            continue;
        }
        found.push(pid);
        stack.extend(children.get(&pid).cloned().unwrap_or_default());
    }
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

    /// The kill test kills every child of the test process: the tests must not overlap.
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

    #[test]
    fn finds_and_kills_a_child_but_spares_the_kept_one() {
        let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        let mut victim = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let mut kept = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let killed = kill_descendants_except(kept.id() as i32);
        assert!(killed >= 1);
        assert!(victim.wait().unwrap().code().is_none(), "the victim should have died by a signal");
        assert!(kept.try_wait().unwrap().is_none(), "the kept child must still run");
        let _ = kept.kill();
        let _ = kept.wait();
    }

    #[test]
    fn a_process_reading_stdin_is_idle() {
        let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        let mut cat = std::process::Command::new("cat").stdin(std::process::Stdio::piped()).spawn().unwrap();
        let pid = cat.id() as i32;
        // Until cat blocks on its stdin: at once on an idle machine, later on a loaded one.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let mut idle = false;
        while std::time::Instant::now() < deadline {
            if waiting_on_stdin(pid) {
                idle = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = cat.kill();
        let _ = cat.wait();
        assert!(idle, "cat waiting for input was not seen as idle");
    }
}
