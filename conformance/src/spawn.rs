//! Children the tests spawn themselves (a runtime under a pty, under `sh -c`, ...).

use std::collections::HashSet;
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::*;

/// Spawns `cmd` and registers its pid so that [`reap_orphans`] (run by other threads)
/// leaves it for [`wait_spawned`].
pub fn spawn_registered(cmd: &mut Command) -> Result<std::process::Child> {
    init();
    let mut guard = active();
    let child = cmd
        .spawn()
        .map_err(|e| Error::io(format!("spawning {cmd:?}"), e))?;
    guard.get_or_insert_with(HashSet::new).insert(child.id());
    Ok(child)
}

/// Spawns `cmd` (as [`spawn_registered`]) in a new session whose controlling terminal is
/// the slave of a fresh pty of `rows` x `cols`, on its stdin, stdout and stderr, as a
/// person's shell would run it. Returns the child and the pty master.
pub fn spawn_on_pty(
    cmd: &mut Command,
    rows: u16,
    cols: u16,
) -> Result<(std::process::Child, OwnedFd)> {
    let ws = nix::pty::Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = nix::pty::openpty(Some(&ws), None)
        .map_err(|e| Error::io("openpty", std::io::Error::from(e)))?;
    let slave = |what: &str| {
        pty.slave
            .try_clone()
            .map_err(|e| Error::io(format!("dup the pty slave for {what}"), e))
    };
    cmd.stdin(Stdio::from(slave("stdin")?))
        .stdout(Stdio::from(slave("stdout")?))
        .stderr(Stdio::from(slave("stderr")?));
    // SAFETY: setsid and ioctl are async-signal-safe; no allocation in the closure.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = spawn_registered(cmd)?;
    // The parent keeps only the master: the slave's last copy is the child's.
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    drop(pty.slave);
    Ok((child, pty.master))
}

/// Waits at most `timeout` for a child from [`spawn_registered`]; kills it (and its
/// process group when it leads one) and returns [`Error::Timeout`] when it takes longer.
pub fn wait_spawned(child: &mut std::process::Child, timeout: Duration) -> Result<ExitStatus> {
    let pid = child.id();
    let start = Instant::now();
    let result = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) => {}
            Err(e) => break Err(Error::io("waiting for a child", e)),
        }
        if start.elapsed() > timeout {
            if let Ok(raw) = libc::pid_t::try_from(pid) {
                // SAFETY: getpgid and kill on our own child's pid; no pointers.
                unsafe {
                    if libc::getpgid(raw) == raw {
                        libc::kill(-raw, libc::SIGKILL);
                    }
                }
            }
            let _ = child.kill();
            let _ = child.wait();
            break Err(Error::Timeout {
                command: format!("child {pid}"),
                after: timeout,
                stdout: String::new(),
                stderr: String::new(),
            });
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    if let Some(set) = active().as_mut() {
        set.remove(&pid);
    }
    reap_orphans();
    result
}

impl Runtime {
    /// A `Command` for `runtime --root ROOT ARGS...`, for tests that need their own stdio
    /// (a pty, inherited fds); spawn it with [`spawn_registered`]. Containers it makes are
    /// force-deleted on drop like the others (their state is under the root).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("--root").arg(self.root()).args(args);
        cmd
    }
}
