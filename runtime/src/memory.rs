//! How much memory this process may use: the machine's (`MemTotal`), or less where a cgroup
//! limits it. In a container (a JupyterHub pod, a batch job) the machine's figure is the
//! host's, and a default budget of half of it would let a computation run into the
//! container's limit and be killed, losing the kernel's variables.

use std::path::{Path, PathBuf};

/// The lower of the machine's memory and every cgroup limit on this process; `None` where
/// neither can be read (not Linux).
pub(crate) fn limit() -> Option<u64> {
    limit_with(&|path| std::fs::read_to_string(path).ok())
}

/// [`limit`], reading files through `read` (the tests give it a made-up `/proc` and `/sys`).
fn limit_with(read: &dyn Fn(&Path) -> Option<String>) -> Option<u64> {
    let total = read(Path::new("/proc/meminfo")).and_then(|info| mem_total(&info));
    let cgroups = read(Path::new("/proc/self/cgroup")).map(|text| cgroup_limits(&text, read)).unwrap_or_default();
    total.into_iter().chain(cgroups).min()
}

/// `MemTotal` of `/proc/meminfo`, in bytes.
fn mem_total(info: &str) -> Option<u64> {
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The memory limits of this process's cgroup and of each cgroup above it (a limit anywhere
/// up the tree applies), from `/proc/self/cgroup`'s lines: `0::/path` for cgroup v2,
/// `N:memory:/path` (or `N:...,memory,...:/path`) for v1. With a cgroup namespace the path is
/// `/` and the mount's root holds the limit; without one the path may not exist inside the
/// container, so the mount's root is always read too.
fn cgroup_limits(self_cgroup: &str, read: &dyn Fn(&Path) -> Option<String>) -> Vec<u64> {
    let mut limits = Vec::new();
    for line in self_cgroup.lines() {
        let mut fields = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (fields.next(), fields.next(), fields.next()) else { continue };
        let (mount, file) = if controllers.is_empty() {
            (PathBuf::from("/sys/fs/cgroup"), "memory.max")
        } else if controllers.split(',').any(|c| c == "memory") {
            (PathBuf::from("/sys/fs/cgroup/memory"), "memory.limit_in_bytes")
        } else {
            continue;
        };
        let mut dir = Some(Path::new(path.trim()));
        while let Some(d) = dir {
            let at = mount.join(d.strip_prefix("/").unwrap_or(d)).join(file);
            // "max" (v2) means no limit; v1 writes a huge number instead, which the minimum
            // with the machine's memory discards.
            if let Some(bytes) = read(&at).and_then(|v| v.trim().parse::<u64>().ok()) {
                limits.push(bytes);
            }
            dir = d.parent();
        }
    }
    limits
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn files(entries: &[(&str, &str)]) -> impl Fn(&Path) -> Option<String> {
        let map: HashMap<PathBuf, String> = entries.iter().map(|(p, v)| (PathBuf::from(p), v.to_string())).collect();
        move |p: &Path| map.get(p).cloned()
    }

    const MEMINFO: &str = "MemTotal:       25165824 kB\nMemFree:         1000 kB\n";

    #[test]
    fn a_v2_container_limit_below_the_machine_wins() {
        let read = files(&[("/proc/meminfo", MEMINFO), ("/proc/self/cgroup", "0::/\n"), ("/sys/fs/cgroup/memory.max", "4294967296\n")]);
        assert_eq!(limit_with(&read), Some(4 << 30));
    }

    #[test]
    fn a_limit_up_the_tree_applies_and_max_means_none() {
        let read = files(&[
            ("/proc/meminfo", MEMINFO),
            ("/proc/self/cgroup", "0::/user.slice/session-1.scope\n"),
            ("/sys/fs/cgroup/user.slice/session-1.scope/memory.max", "max\n"),
            ("/sys/fs/cgroup/user.slice/memory.max", "2147483648\n"),
        ]);
        assert_eq!(limit_with(&read), Some(2 << 30));
    }

    #[test]
    fn v1_reads_the_memory_controller_and_ignores_its_unlimited_value() {
        let read = files(&[
            ("/proc/meminfo", MEMINFO),
            ("/proc/self/cgroup", "12:cpu,cpuacct:/x\n4:memory:/docker/abc\n"),
            ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n"),
            ("/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes", "1073741824\n"),
        ]);
        assert_eq!(limit_with(&read), Some(1 << 30));
        let unlimited = files(&[("/proc/meminfo", MEMINFO), ("/proc/self/cgroup", "4:memory:/\n"), ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n")]);
        assert_eq!(limit_with(&unlimited), Some(25165824 * 1024));
    }

    #[test]
    fn nothing_readable_is_none() {
        assert_eq!(limit_with(&|_: &Path| None), None);
    }

    #[test]
    fn this_machine_has_a_limit() {
        let limit = limit().expect("Linux has /proc/meminfo");
        assert!(limit > 64 << 20, "{limit}");
    }
}
