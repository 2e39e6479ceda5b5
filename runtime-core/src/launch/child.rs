//! C: the container process, from its clone to the exec of the user program.

use std::fs::File;
use std::io::Write;
use std::os::fd::{FromRawFd, OwnedFd};

use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;

use super::channel::Channel;
use super::message::Message;
use super::plan::{LaunchKind, LaunchPlan};
use crate::{hooks, process, rootfs, system, tty};

/// A failed step: what was being done, and why.
type StepError = (String, String);

fn at<E: std::fmt::Display>(step: impl Into<String>) -> impl FnOnce(E) -> StepError {
    let step = step.into();
    move |e| (step, e.to_string())
}

/// Run C to the exec of the user program; never returns. `host_pid` is C's
/// pid in the runtime's pid namespace, from I.
pub(crate) fn main(
    plan: &LaunchPlan,
    chan: &mut Channel,
    agent: Option<OwnedFd>,
    fifo: Option<OwnedFd>,
    host_pid: i32,
) -> ! {
    let err = match setup(plan, chan, fifo, host_pid) {
        Ok(ready) => match after_ready(plan, ready, agent) {
            Ok(never) => match never {},
            Err(e) => {
                // P is gone (create) or waiting for our exit (exec, run): the
                // container's stderr is the only place left to say it.
                let _ = writeln!(std::io::stderr(), "skiff: {}: {}", e.0, e.1);
                std::process::exit(127)
            }
        },
        Err(e) => e,
    };
    let _ = chan.send(&Message::Failed {
        step: err.0,
        message: err.1,
    });
    std::process::exit(1)
}

/// What C carries past Ready.
struct Ready {
    exec: process::Prepared,
    /// An O_PATH fd of `exec.fifo` (create only).
    fifo: Option<OwnedFd>,
    /// This process's pid as the runtime sees it.
    host_pid: i32,
}

fn setup(
    plan: &LaunchPlan,
    chan: &mut Channel,
    fifo: Option<OwnedFd>,
    host_pid: i32,
) -> Result<Ready, StepError> {
    nix::unistd::setsid().map_err(at("setsid"))?;
    if super::parent::user_namespace_setup(plan).is_some() {
        // An unprivileged P may only write our id maps while our /proc
        // files belong to our uid, which needs us dumpable (I made itself
        // not dumpable); nothing of the container runs yet, and we are made
        // non-dumpable again right after.
        let unprivileged = !nix::unistd::geteuid().is_root();
        if unprivileged {
            set_dumpable(true).map_err(at("prctl(PR_SET_DUMPABLE)"))?;
        }
        match chan
            .recv("UserNsReady")
            .map_err(at("wait for the user namespace's id maps"))?
        {
            Message::UserNsReady => {}
            other => {
                return Err((
                    "wait for the user namespace's id maps".into(),
                    other.name().into(),
                ))
            }
        }
        if unprivileged {
            set_dumpable(false).map_err(at("prctl(PR_SET_DUMPABLE)"))?;
        }
        crate::namespaces::become_root().map_err(at("user namespace"))?;
    }
    // In the container's pid (and user) namespace now: the runtime's procfs
    // handle becomes an instance of it (see procfs).
    crate::procfs::use_private_instance();
    if let LaunchKind::Create = plan.kind {
        rootfs::prepare(plan).map_err(at("prepare rootfs"))?;
        if hooks::has_create_runtime(&plan.spec) {
            chan.send(&Message::RunCreateRuntimeHooks)
                .map_err(at("request createRuntime hooks"))?;
            match chan
                .recv("HooksDone")
                .map_err(at("wait for createRuntime hooks"))?
            {
                Message::HooksDone => {}
                other => return Err(("wait for createRuntime hooks".into(), other.name().into())),
            }
        }
        let state = hooks::creating_state(plan, host_pid);
        hooks::run_create_container(&plan.spec, &state).map_err(at("createContainer hook"))?;
        rootfs::enter(plan).map_err(at("enter rootfs"))?;
        // sysctls and a missing cwd are written before the readonly paths
        // and a read-only root take effect, as runc does.
        system::apply(&plan.spec).map_err(at("configure container"))?;
        process::create_cwd(plan).map_err(at("create process.cwd"))?;
        setup_console(plan)?;
        rootfs::finish(plan).map_err(at("finish rootfs"))?;
    } else {
        setup_console(plan)?;
    }
    if !plan.no_new_keyring {
        process::join_session_keyring(plan).map_err(at("join session keyring"))?;
    }
    process::personality::apply(&plan.spec).map_err(at("set linux.personality"))?;
    let exec = process::prepare(plan).map_err(at("prepare process"))?;
    chan.send(&Message::Ready).map_err(at("report ready"))?;
    Ok(Ready {
        exec,
        fifo,
        host_pid,
    })
}

/// PR_SET_DUMPABLE on or off.
fn set_dumpable(on: bool) -> Result<(), std::io::Error> {
    // SAFETY: prctl(PR_SET_DUMPABLE) takes plain integers and touches no memory.
    if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, libc::c_ulong::from(on), 0, 0, 0) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// The pty, when the process has a terminal: its master goes to the console
/// socket, its slave becomes stdio and /dev/console.
fn setup_console(plan: &LaunchPlan) -> Result<(), StepError> {
    if let Some(fd) = plan.console_socket_fd {
        // SAFETY: P connected this socket and passed it to us for our sole use;
        // nothing else in this process owns the fd.
        let sock = unsafe { OwnedFd::from_raw_fd(fd) };
        let create = matches!(plan.kind, LaunchKind::Create);
        let size = plan.process.console_size().as_ref().map(|b| {
            let clamp = |v: u64| u16::try_from(v).unwrap_or(u16::MAX);
            (clamp(b.height()), clamp(b.width()))
        });
        tty::setup_console(sock, create, size).map_err(at("set up console"))?;
    }
    Ok(())
}

fn after_ready(
    plan: &LaunchPlan,
    ready: Ready,
    agent: Option<OwnedFd>,
) -> Result<std::convert::Infallible, StepError> {
    if let Some(path_fd) = ready.fifo {
        // Blocks until `start` opens the fifo for reading. Reopened through
        // the runtime's own /proc/self/fd: the container's /proc is not
        // trusted, and the state directory is not reachable from here.
        let fd = crate::procfs::in_fd_dir(|| {
            open(
                &crate::procfs::fd_name(&path_fd),
                OFlag::O_WRONLY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
        })
        .map_err(at("open exec.fifo"))?
        .map_err(at("open exec.fifo"))?;
        drop(path_fd);
        let mut fifo = File::from(fd);
        fifo.write_all(b"0").map_err(at("write exec.fifo"))?;
        drop(fifo);
        let state = hooks::creating_state(plan, ready.host_pid);
        hooks::run_start_container(&plan.spec, &state).map_err(at("startContainer hook"))?;
    }
    // The agent's message is made before the filter is loaded: after it,
    // the runtime makes no syscall but the sendmsg until the agent has it.
    let mut agent = match agent {
        Some(sock) => Some((sock, seccomp_state(plan, ready.host_pid)?)),
        None => None,
    };
    let mut send = |listener: OwnedFd| -> Result<(), crate::seccomp::SeccompError> {
        let path = listener_path(plan);
        let Some((sock, body)) = agent.take() else {
            return Err(crate::seccomp::SeccompError::NotifyWithoutListener);
        };
        crate::seccomp::send_listener_on(&sock, &path, std::os::fd::AsFd::as_fd(&listener), &body)
    };
    process::finish_identity(&plan.process, ready.exec.seccomp.as_ref(), &mut send)
        .map_err(at("set process identity"))?;
    Err((
        "exec".into(),
        process::exec(&ready.exec, plan.preserve_fds).to_string(),
    ))
}

fn listener_path(plan: &LaunchPlan) -> std::path::PathBuf {
    plan.spec
        .linux()
        .as_ref()
        .and_then(|l| l.seccomp().as_ref())
        .and_then(|s| s.listener_path().clone())
        .unwrap_or_default()
}

/// The container process state for the seccomp agent (config-linux.md:
/// "The Container Process State"), with the listener as `seccompFd`: `pid`
/// is this process (`host_pid`, as the runtime sees it), `state` the
/// container's, whose pid is its init's (for exec, not this process).
fn seccomp_state(plan: &LaunchPlan, host_pid: i32) -> Result<Vec<u8>, StepError> {
    let seccomp = plan
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.seccomp().as_ref());
    // A process of `exec` joins a container that is already running.
    let (status, container_pid) = match plan.kind {
        LaunchKind::Create => ("creating", host_pid),
        LaunchKind::Exec { pid } => ("running", pid),
    };
    let mut state = serde_json::json!({
        "ociVersion": plan.spec.version(),
        "fds": ["seccompFd"],
        "pid": host_pid,
        "state": {
            "ociVersion": plan.spec.version(),
            "id": plan.id,
            "status": status,
            "pid": container_pid,
            "bundle": plan.bundle,
            "annotations": plan.spec.annotations().clone().unwrap_or_default(),
        },
    });
    if let Some(m) = seccomp.and_then(|s| s.listener_metadata().clone()) {
        state["metadata"] = m.into();
    }
    serde_json::to_vec(&state).map_err(at("encode seccomp state"))
}
