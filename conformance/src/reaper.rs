//! Child processes: the subreaper, reaping orphans, and the set of children std is
//! waiting for.

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard, Once};

/// Pids of children spawned through [`Runtime`] that std's `Child` still has to wait for.
/// [`reap_orphans`] must leave those alone, and it holds this lock while reaping, so a
/// child cannot exit and be reaped between its spawn and its registration here.
pub(crate) static ACTIVE: Mutex<Option<HashSet<u32>>> = Mutex::new(None);

pub(crate) fn active() -> MutexGuard<'static, Option<HashSet<u32>>> {
    ACTIVE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Makes this process a child subreaper, once. Called by every constructor here.
pub fn init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: PR_SET_CHILD_SUBREAPER takes an integer flag and no pointers.
        let r = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
        if r != 0 {
            eprintln!(
                "skiff-conformance: PR_SET_CHILD_SUBREAPER failed: {}",
                std::io::Error::last_os_error()
            );
        }
    });
}

/// Reaps zombie children of this process that no `std::process::Child` owns: container
/// processes reparented to us (we are a subreaper). Returns how many were reaped.
pub fn reap_orphans() -> usize {
    let guard = active();
    let me = std::process::id();
    let mut reaped = 0;
    for (pid, ppid, state) in list_processes() {
        if ppid != me || state != 'Z' {
            continue;
        }
        if guard.as_ref().is_some_and(|set| set.contains(&pid)) {
            continue;
        }
        let Ok(raw) = libc::pid_t::try_from(pid) else {
            continue;
        };
        let mut status = 0;
        // SAFETY: waitpid on a specific pid with a valid status pointer; WNOHANG so it
        // never blocks. The pid is our zombie child and no Child handle owns it.
        let r = unsafe { libc::waitpid(raw, &mut status, libc::WNOHANG) };
        if r == raw {
            reaped += 1;
        }
    }
    reaped
}

/// (pid, ppid, state) of every process in /proc.
pub(crate) fn list_processes() -> Vec<(u32, u32, char)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in dir.filter_map(std::result::Result::ok) {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) S ppid ...": comm may hold spaces and parens, so split at the last ')'.
        let Some(rest) = stat.rfind(')').and_then(|i| stat.get(i + 1..)) else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next().and_then(|s| s.chars().next()).unwrap_or('?');
        let ppid = fields.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        out.push((pid, ppid, state));
    }
    out
}
