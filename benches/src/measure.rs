//! Timing one runtime invocation: wall-clock from just before `fork` to
//! just after `wait4`, plus the `ru_maxrss` that `wait4` reports for the
//! runtime process (and the helpers it reaped itself).

use std::fs::File;
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::error::{io, sys, BenchError, Result};

/// One runtime under test.
#[derive(Debug, Clone)]
pub struct Runtime {
    /// Short name used in tables and container IDs (`skiff`, `runc`, `crun`).
    pub name: String,
    /// The runtime binary.
    pub path: PathBuf,
    /// The private state directory passed as `--root`.
    pub root: PathBuf,
}

/// What one successful invocation cost.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub elapsed: Duration,
    /// Peak resident set size in KiB (`ru_maxrss`).
    pub maxrss_kib: u64,
}

/// Result of [`invoke`]: the measurement and, if asked for, stdout.
#[derive(Debug)]
pub struct Outcome {
    pub sample: Sample,
    pub stdout: String,
}

impl Runtime {
    /// `<name> --root <root> <args...>`, for messages.
    pub fn describe(&self, args: &[&str]) -> String {
        format!(
            "{} --root {} {}",
            self.name,
            self.root.display(),
            args.join(" ")
        )
    }

    /// Run `self --root <root> args...` and measure it.
    ///
    /// stdin and (unless `capture`) stdout go to /dev/null; stderr goes to
    /// `scratch`.err. Files rather than pipes are used on purpose: a detached
    /// container inherits the runtime's stdio and would keep a pipe open.
    pub fn invoke(
        &self,
        args: &[&str],
        scratch: &Path,
        capture: bool,
        timeout: Duration,
    ) -> Result<Outcome> {
        let err_path = scratch.with_extension("err");
        let out_path = scratch.with_extension("out");
        let stderr =
            File::create(&err_path).map_err(io(format!("create {}", err_path.display())))?;
        let stdout = if capture {
            let file =
                File::create(&out_path).map_err(io(format!("create {}", out_path.display())))?;
            Stdio::from(file)
        } else {
            Stdio::null()
        };
        let mut cmd = Command::new(&self.path);
        cmd.arg("--root")
            .arg(&self.root)
            .args(args)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::from(stderr));

        let start = Instant::now();
        let child = cmd
            .spawn()
            .map_err(io(format!("spawn {}", self.path.display())))?;
        let pid = Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX));
        // `child` is only a handle; std never waits on drop, we reap below.
        drop(child);
        let timed_out = !wait_exit(pid, timeout);
        if timed_out {
            // Ignore errors: it may have exited just now.
            let _ = kill(pid, Signal::SIGKILL);
        }
        let (status, maxrss_kib) = wait4(pid)?;
        let elapsed = start.elapsed();

        let command = self.describe(args);
        if timed_out {
            return Err(BenchError::Timeout {
                command,
                secs: timeout.as_secs(),
            });
        }
        if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
            let log = std::fs::read_to_string(&err_path).unwrap_or_default();
            let log = tail(log.trim(), 600);
            return Err(BenchError::Command {
                command,
                status: describe_status(status),
                detail: if log.is_empty() {
                    String::new()
                } else {
                    format!(": {log}")
                },
            });
        }
        let stdout = if capture {
            std::fs::read_to_string(&out_path)
                .map_err(io(format!("read {}", out_path.display())))?
        } else {
            String::new()
        };
        Ok(Outcome {
            sample: Sample {
                elapsed,
                maxrss_kib,
            },
            stdout,
        })
    }
}

/// Wait until `pid` has exited (without reaping it) or `timeout` passes.
/// Returns false on timeout. Falls back to "exited" (and so a blocking
/// `wait4`) if pidfds are unavailable.
fn wait_exit(pid: Pid, timeout: Duration) -> bool {
    // SAFETY: pidfd_open takes a pid and a flags word and returns a new file
    // descriptor or -1; no memory is passed to the kernel.
    let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    let Ok(raw) = i32::try_from(raw) else {
        return true;
    };
    if raw < 0 {
        return true;
    }
    // SAFETY: `raw` is a freshly created pidfd that nothing else owns.
    let pidfd = unsafe { OwnedFd::from_raw_fd(raw) };
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(left) = PollTimeout::try_from(left) else {
            return true;
        };
        let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, left) {
            Ok(0) => return false,
            Ok(_) => return true,
            Err(Errno::EINTR) => continue,
            Err(_) => return true,
        }
    }
}

/// Reap `pid`, returning its raw wait status and `ru_maxrss` (KiB).
fn wait4(pid: Pid) -> Result<(libc::c_int, u64)> {
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data for which all-zero is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both pointers refer to live, properly aligned locals that
        // the kernel fills in; the pid is our own unreaped child.
        let ret = unsafe { libc::wait4(pid.as_raw(), &mut status, 0, &mut usage) };
        if ret == pid.as_raw() {
            break;
        }
        let err = Errno::last();
        if err != Errno::EINTR {
            return Err(sys(format!("wait4({pid})"))(err));
        }
    }
    Ok((status, u64::try_from(usage.ru_maxrss).unwrap_or(0)))
}

fn describe_status(status: libc::c_int) -> String {
    if libc::WIFEXITED(status) {
        format!("exit status {}", libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        format!("killed by signal {}", libc::WTERMSIG(status))
    } else {
        format!("wait status {status:#x}")
    }
}

/// The last `max` bytes of `s`, cut on a character boundary.
fn tail(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

/// Find `name` on `$PATH` (plus the sbin directories, which root's PATH
/// usually has but a sanitised environment may not).
pub fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(
            [
                "/usr/local/sbin",
                "/usr/local/bin",
                "/usr/sbin",
                "/usr/bin",
                "/sbin",
                "/bin",
            ]
            .iter()
            .map(PathBuf::from),
        )
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_respects_char_boundaries() {
        assert_eq!(tail("abc", 10), "abc");
        assert_eq!(tail("abcdef", 3), "def");
        assert_eq!(tail("aé", 1), "");
    }

    #[test]
    fn invoke_measures_a_trivial_command() -> Result<()> {
        let Some(true_bin) = find_in_path("true") else {
            return Ok(());
        };
        let dir = tempfile::tempdir().map_err(io("tempdir"))?;
        // `true --root X` ignores its arguments and exits 0.
        let rt = Runtime {
            name: "true".into(),
            path: true_bin,
            root: dir.path().to_path_buf(),
        };
        let out = rt.invoke(&["x"], &dir.path().join("t"), true, Duration::from_secs(10))?;
        assert!(out.sample.maxrss_kib > 0);
        Ok(())
    }

    #[test]
    fn invoke_reports_failure() -> Result<()> {
        let Some(false_bin) = find_in_path("false") else {
            return Ok(());
        };
        let dir = tempfile::tempdir().map_err(io("tempdir"))?;
        let rt = Runtime {
            name: "false".into(),
            path: false_bin,
            root: dir.path().to_path_buf(),
        };
        let res = rt.invoke(
            &["x"],
            &dir.path().join("t"),
            false,
            Duration::from_secs(10),
        );
        assert!(matches!(res, Err(BenchError::Command { .. })));
        Ok(())
    }
}
