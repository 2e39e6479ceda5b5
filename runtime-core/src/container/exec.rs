//! `exec`: run another process in a running container's namespaces.

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use nix::unistd::Pid;
use oci_spec::runtime::Process;

use super::wait::wait_pid;
use super::{Container, ExitStatus, StateError, Status};
use crate::launch::{self, LaunchKind, LaunchPlan, Stdio};
use crate::{cgroups, Error};

/// What to run with [`Container::exec`].
#[derive(Debug)]
pub struct ExecOptions {
    /// The process (args, env, cwd, user, capabilities, …).
    pub process: Process,
    /// Send the pty master of a `terminal: true` process to this socket.
    pub console_socket: Option<PathBuf>,
    /// Send the pty master over this connected socket.
    pub console_fd: Option<OwnedFd>,
    /// Write the process's pid to this file.
    pub pid_file: Option<PathBuf>,
    /// Pass the caller's fds 3..3+n into the process.
    pub preserve_fds: u32,
    /// The process's stdin, stdout and stderr (default: the caller's).
    pub stdio: Stdio,
    /// Allow an exec in a paused container (runc's `--ignore-paused`): the
    /// process joins the frozen cgroups and runs once the container resumes.
    pub ignore_paused: bool,
}

impl ExecOptions {
    /// Run `process` with no console, pid file or extra fds.
    pub fn new(process: Process) -> Self {
        Self {
            process,
            console_socket: None,
            console_fd: None,
            pid_file: None,
            preserve_fds: 0,
            stdio: Stdio::default(),
            ignore_paused: false,
        }
    }
}

/// A process started by [`Container::exec`].
#[derive(Debug)]
pub struct ExecProcess {
    pid: i32,
}

impl ExecProcess {
    /// Its pid on the host.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Wait for it to end (it is this process's child).
    pub fn wait(&self) -> Result<ExitStatus, Error> {
        Ok(wait_pid(self.pid)?)
    }
}

impl Container {
    /// Start `opts.process` inside the container; returns once it runs.
    pub fn exec(&self, opts: ExecOptions) -> Result<ExecProcess, Error> {
        let status = self.status();
        if !(status.can_exec() || opts.ignore_paused && status == Status::Paused) {
            return Err(StateError::WrongStatus {
                id: self.id().to_owned(),
                op: "exec",
                status,
            }
            .into());
        }
        crate::spec::validate_process(&opts.process)?;
        let console: Option<OwnedFd> = match (opts.console_fd, &opts.console_socket) {
            (Some(fd), _) => Some(fd),
            (None, Some(path)) => Some(
                UnixStream::connect(path)
                    .map_err(|source| StateError::Io {
                        path: path.clone(),
                        source,
                    })?
                    .into(),
            ),
            (None, None) => None,
        };
        let plan = LaunchPlan {
            kind: LaunchKind::Exec {
                pid: self.record.pid,
            },
            id: self.id().to_owned(),
            spec: self.record.spec.clone(),
            process: opts.process,
            rootfs: self.record.rootfs.clone(),
            bundle: self.record.bundle.clone(),
            state_dir: self.dir.clone(),
            no_pivot: false,
            no_new_keyring: false,
            preserve_fds: opts.preserve_fds,
            console_socket_fd: console.as_ref().map(|fd| fd.as_raw_fd()),
            stdio: opts.stdio.raw(),
        };
        let mut observer = ExecObserver { container: self };
        let pid = launch::launch(&plan, &mut observer)?;
        if let Some(path) = &opts.pid_file {
            super::create::write_pid_file(path, pid)?;
        }
        Ok(ExecProcess { pid: pid.as_raw() })
    }
}

struct ExecObserver<'a> {
    container: &'a Container,
}

impl launch::LaunchObserver for ExecObserver<'_> {
    fn init_started(&mut self, init_pid: Pid) -> Result<(), Error> {
        cgroups::add(&self.container.record.cgroups, init_pid)?;
        Ok(())
    }

    fn create_runtime(&mut self, _pid: Pid) -> Result<(), Error> {
        Ok(())
    }
}
