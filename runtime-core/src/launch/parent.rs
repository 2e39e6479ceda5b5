//! P's side of the handshake: start I, hand it the plan, answer C until Ready.

use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::Command;

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;

use super::channel::{Channel, ChannelError};
use super::entry::{INIT_ARGV0, INIT_FD_ENV};
use super::message::Message;
use super::plan::LaunchPlan;

/// Why a container process could not be launched.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// The launch socket could not be made.
    #[error("create launch socket: {0}")]
    Socket(std::io::Error),
    /// I could not be started.
    #[error("start init process {exe}: {source}")]
    Spawn {
        /// The binary that was executed.
        exe: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The write-protected view of the binary for the init process could not be made.
    #[error(transparent)]
    Seal(#[from] super::protected_exe::SealError),
    /// The handshake broke.
    #[error(transparent)]
    Channel(#[from] ChannelError),
    /// A step in I or C failed.
    #[error("{step}: {message}")]
    Step {
        /// What was being done.
        step: String,
        /// The cause.
        message: String,
    },
    /// P could not set up the container's user namespace (its id maps, or
    /// exec.fifo for its root).
    #[error("user namespace of process {pid}: {message}")]
    UserNamespace {
        /// The container process.
        pid: i32,
        /// The cause.
        message: String,
    },
    /// A hook or other runtime-side step between the handshake's messages failed.
    #[error("{0}")]
    Runtime(Box<crate::Error>),
}

/// What P does while C waits between its steps.
pub(crate) trait LaunchObserver {
    /// I is running (pid in P's namespace): place it in its cgroup.
    fn init_started(&mut self, init_pid: Pid) -> Result<(), crate::Error>;
    /// C exists and its namespaces and mounts are set up: run the prestart
    /// and createRuntime hooks.
    fn create_runtime(&mut self, pid: Pid) -> Result<(), crate::Error>;
}

/// Launch the plan's process and return its pid once it is Ready. On error,
/// nothing launched is left running.
pub(crate) fn launch(
    plan: &LaunchPlan,
    observer: &mut dyn LaunchObserver,
) -> Result<Pid, LaunchError> {
    let (ours, theirs) = UnixStream::pair().map_err(LaunchError::Socket)?;
    let mut chan = Channel::new(ours);
    let init = spawn_init(&theirs, plan)?;
    drop(theirs);
    let init_pid = Pid::from_raw(init.id() as i32);
    let mut container: Option<Pid> = None;
    let result = drive(plan, &mut chan, observer, init_pid, &mut container);
    if result.is_err() && container.is_none() {
        // I may still wait for the plan: it must not outlive the failure.
        let _ = kill(init_pid, Signal::SIGKILL);
    }
    // I exits right after sending the pid (or failing): always reap it.
    let _ = waitpid(init_pid, None);
    match result {
        Ok(pid) => Ok(pid),
        Err(e) => {
            if let Some(pid) = container {
                let _ = kill(pid, Signal::SIGKILL);
                let _ = waitpid(pid, None);
            }
            Err(e)
        }
    }
}

fn spawn_init(theirs: &UnixStream, plan: &LaunchPlan) -> Result<std::process::Child, LaunchError> {
    let exe = super::protected_exe::path().map_err(LaunchError::Seal)?;
    let fd = theirs.as_raw_fd();
    // I inherits the launch socket and the console socket (both must pass)
    // and the preserved fds 3..3+N (those the caller has open).
    let required = [fd, plan.console_socket_fd.unwrap_or(-1)];
    let preserved = 3..3 + plan.preserve_fds as RawFd;
    let mut cmd = Command::new(&exe);
    cmd.arg0(INIT_ARGV0)
        .env_clear()
        .env(INIT_FD_ENV, fd.to_string());
    super::stdio::apply(&mut cmd, plan.stdio).map_err(|source| LaunchError::Spawn {
        exe: exe.clone(),
        source,
    })?;
    // SAFETY: the closure runs between fork and exec and calls only fcntl(2),
    // which is async-signal-safe; it allocates nothing and takes no lock.
    unsafe {
        cmd.pre_exec(move || {
            for fd in required.into_iter().filter(|fd| *fd >= 0) {
                if libc::fcntl(fd, libc::F_SETFD, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            for fd in preserved.clone() {
                libc::fcntl(fd, libc::F_SETFD, 0);
            }
            Ok(())
        });
    }
    cmd.spawn()
        .map_err(|source| LaunchError::Spawn { exe, source })
}

/// The user namespace C waits for [`Message::UserNsReady`] about: a create
/// whose spec has one (new or joined).
pub(crate) fn user_namespace_setup(plan: &LaunchPlan) -> Option<oci_spec::runtime::LinuxNamespace> {
    match plan.kind {
        super::plan::LaunchKind::Create => crate::namespaces::user_namespace(&plan.spec),
        super::plan::LaunchKind::Exec { .. } => None,
    }
}

/// Write the maps of a new user namespace, then give exec.fifo to the
/// namespace's root, which C opens it as.
fn set_up_user_namespace(
    plan: &LaunchPlan,
    pid: Pid,
    new: bool,
) -> Result<(), crate::namespaces::NamespaceError> {
    if new {
        crate::namespaces::write_id_maps(pid.as_raw(), &plan.spec)?;
    }
    let (uid, gid) = crate::namespaces::host_root_of(pid.as_raw())?;
    crate::namespaces::chown_to(&plan.state_dir.join("exec.fifo"), uid, gid)
}

fn step(msg: Message, expected: &'static str) -> LaunchError {
    match msg {
        Message::Failed { step, message } => LaunchError::Step { step, message },
        other => ChannelError::Unexpected {
            expected,
            got: other.name(),
        }
        .into(),
    }
}

fn drive(
    plan: &LaunchPlan,
    chan: &mut Channel,
    observer: &mut dyn LaunchObserver,
    init_pid: Pid,
    container: &mut Option<Pid>,
) -> Result<Pid, LaunchError> {
    observer
        .init_started(init_pid)
        .map_err(|e| LaunchError::Runtime(Box::new(e)))?;
    chan.send(&Message::Plan(Box::new(plan.clone())))?;
    let pid = match chan.recv("Pid")? {
        Message::Pid(pid) => Pid::from_raw(pid),
        other => return Err(step(other, "Pid")),
    };
    *container = Some(pid);
    if let Some(userns) = user_namespace_setup(plan) {
        set_up_user_namespace(plan, pid, userns.path().is_none()).map_err(|e| {
            LaunchError::UserNamespace {
                pid: pid.as_raw(),
                message: e.to_string(),
            }
        })?;
        chan.send(&Message::UserNsReady)?;
    }
    loop {
        match chan.recv("Ready")? {
            Message::Ready => return Ok(pid),
            Message::RunCreateRuntimeHooks => {
                observer
                    .create_runtime(pid)
                    .map_err(|e| LaunchError::Runtime(Box::new(e)))?;
                chan.send(&Message::HooksDone)?;
            }
            other => return Err(step(other, "Ready")),
        }
    }
}
