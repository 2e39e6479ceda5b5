//! Leak checks: mounts, processes, state directories and cgroups a container left behind.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::*;

impl Runtime {
    /// Everything a container `id` run from `bundle` may have left behind, described one
    /// line each; empty when clean. Retries for a short while since the kernel tears
    /// namespaces down asynchronously.
    pub fn leaks(&self, id: &str, bundle: &Bundle) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            reap_orphans();
            let found = self.leaks_once(id, bundle);
            if found.is_empty() || Instant::now() > deadline {
                return found;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn leaks_once(&self, id: &str, bundle: &Bundle) -> Vec<String> {
        let mut found = Vec::new();
        let bpath = bundle.path().to_string_lossy().into_owned();

        for m in mounts_under(bundle.path()) {
            found.push(format!("mount left on the host: {m}"));
        }

        let token = bundle.token();
        let me = std::process::id();
        for (pid, _, _) in list_processes() {
            if pid == me {
                continue;
            }
            let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap_or_default();
            let has = |hay: &[u8], needle: &str| {
                hay.windows(needle.len()).any(|w| w == needle.as_bytes())
            };
            if has(&environ, token) || has(&cmdline, &bpath) || cwd.starts_with(bundle.path()) {
                let cmd = String::from_utf8_lossy(&cmdline).replace('\0', " ");
                found.push(format!(
                    "process left: pid {pid} `{cmd}` cwd {}",
                    cwd.display()
                ));
            }
        }

        // Only a plain name can have a state directory; for ids like "../x" joining would
        // point outside the root (the bad-id tests check that separately).
        let plain = !id.is_empty() && id != "." && id != ".." && !id.contains('/');
        let state = self.root().join(id);
        if plain && state.exists() {
            found.push(format!("state left: {}", state.display()));
        }

        for dir in cgroup_dirs_named(id).into_iter().filter(|_| plain) {
            found.push(format!("cgroup left: {}", dir.display()));
        }
        found
    }
}

/// Mount points (from our mountinfo) at or below `path`, or whose source is there.
pub fn mounts_under(path: &Path) -> Vec<String> {
    let p = path.to_string_lossy().into_owned();
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    text.lines()
        .filter(|l| l.contains(p.as_str()))
        .map(str::to_string)
        .collect()
}

/// Lazily unmounts everything mounted at or below `path`, deepest first. A safety net so
/// that removing a temp dir never walks into a leaked bind mount of the host.
pub(crate) fn detach_mounts_under(path: &Path) -> bool {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut points: Vec<String> = text
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|mp| Path::new(mp).starts_with(path))
        .map(str::to_string)
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for mp in &points {
        if let Ok(c) = std::ffi::CString::new(mp.as_str()) {
            // SAFETY: umount2 with a valid NUL-terminated path; no other pointers.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
    }
    let left = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    !left
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .any(|mp| Path::new(mp).starts_with(path))
}

/// Directories in the host's cgroup hierarchies (six levels deep, so that a container's
/// cgroup under the test's own and nested cgroupsPaths are seen) whose name contains `id`.
pub fn cgroup_dirs_named(id: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, id: &str, depth: u32, found: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.filter_map(std::result::Result::ok) {
            let Ok(ft) = e.file_type() else { continue };
            if !ft.is_dir() {
                continue;
            }
            let path = e.path();
            if e.file_name().to_string_lossy().contains(id) {
                found.push(path.clone());
            }
            if depth > 0 {
                walk(&path, id, depth - 1, found);
            }
        }
    }
    let mut found = Vec::new();
    walk(Path::new("/sys/fs/cgroup"), id, 6, &mut found);
    found
}
