//! I: the single-threaded copy of the caller that enters the namespaces and
//! clones the container process.

use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag};

use super::channel::Channel;
use super::message::Message;
use super::plan::{LaunchKind, LaunchPlan};
use crate::namespaces;

/// Run I to its end: read the plan, enter namespaces, clone C, report its pid.
pub(crate) fn main(mut chan: Channel) -> ! {
    let code = match run(&mut chan) {
        Ok(()) => 0,
        Err((step, message)) => {
            let _ = chan.send(&Message::Failed { step, message });
            1
        }
    };
    std::process::exit(code)
}

fn run(chan: &mut Channel) -> Result<(), (String, String)> {
    let fail = |step: &str| {
        let step = step.to_owned();
        move |e: &dyn std::fmt::Display| (step.clone(), e.to_string())
    };
    // Nothing in the container may open /proc/<pid>/exe of this process (the
    // skiff binary) or ptrace it: CVE-2019-5736.
    // SAFETY: prctl(PR_SET_DUMPABLE) takes plain integers and touches no memory.
    if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } != 0 {
        let e = std::io::Error::last_os_error();
        return Err(fail("prctl(PR_SET_DUMPABLE)")(&e));
    }
    fcntl(chan.socket(), FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))
        .map_err(|e| fail("mark launch socket close-on-exec")(&e))?;
    let plan: LaunchPlan = match chan.recv("Plan").map_err(|e| fail("receive plan")(&e))? {
        Message::Plan(plan) => *plan,
        other => {
            return Err((
                "receive plan".into(),
                format!("expected Plan, got {}", other.name()),
            ))
        }
    };
    // The seccomp agent's socket is a host path: connect while it is reachable.
    let agent = seccomp_agent(&plan).map_err(|e| fail("connect to seccomp listenerPath")(&e))?;
    // The host's /proc (C's procfs handle until it has one of its own pid
    // namespace; see procfs), and the exec fifo, opened while both are the
    // host's: C reopens the fifo through its fd, so it never holds a
    // directory of the host.
    crate::procfs::init().map_err(|e| fail("open /proc")(&e))?;
    let fifo = match plan.kind {
        LaunchKind::Create => {
            let path = plan.state_dir.join("exec.fifo");
            let fd = nix::fcntl::open(
                &path,
                OFlag::O_PATH | OFlag::O_CLOEXEC,
                nix::sys::stat::Mode::empty(),
            )
            .map_err(|e| fail(&format!("open {}", path.display()))(&e))?;
            Some(fd)
        }
        LaunchKind::Exec { .. } => None,
    };
    let entry =
        namespaces::enter(&plan).map_err(|e| ("enter namespaces".to_owned(), e.to_string()))?;
    // C shares the launch socket with I: it must not speak before I has sent
    // the pid, or P would read C's first message where it waits for Pid. I
    // releases C through this pipe once the pid is sent, by writing C its
    // own pid as the runtime sees it (for the seccomp agent: in an exec, C
    // is in the container's pid namespace and mount namespace, where
    // neither getpid nor /proc/self tells it); EOF before the pid means I
    // failed, and C exits.
    let (release_r, release_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| fail("create release pipe")(&e))?;
    if !nix::unistd::geteuid().is_root() && super::parent::user_namespace_setup(&plan).is_some() {
        // An unprivileged P writes C's id maps through C's /proc files,
        // which belong to C's uid only while C is dumpable: C is born so,
        // and turns it off once the maps are written (see child).
        // SAFETY: prctl(PR_SET_DUMPABLE) takes plain integers and touches no memory.
        if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0) } != 0 {
            let e = std::io::Error::last_os_error();
            return Err(fail("prctl(PR_SET_DUMPABLE)")(&e));
        }
    }
    // SAFETY: I is single-threaded (a fresh exec), so the child is a full copy
    // of a consistent process; without CLONE_VM and with a null stack the
    // child runs on a copy-on-write copy of this stack, like fork().
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (entry.clone_flags | libc::CLONE_PARENT | libc::SIGCHLD) as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    if pid < 0 {
        let e = std::io::Error::last_os_error();
        return Err(fail("clone container process")(&e));
    }
    if pid == 0 {
        drop(release_w);
        let mut bytes = [0u8; 4];
        // Four bytes, one write (under PIPE_BUF): one read gets them all.
        let host_pid = match nix::unistd::read(&release_r, &mut bytes) {
            Ok(4) => i32::from_ne_bytes(bytes),
            _ => std::process::exit(1),
        };
        drop(release_r);
        super::child::main(&plan, chan, agent, fifo, host_pid);
    }
    drop(release_r);
    let pid = i32::try_from(pid).map_err(|e| fail("clone container process")(&e))?;
    chan.send(&Message::Pid(pid))
        .map_err(|e| fail("send pid")(&e))?;
    nix::unistd::write(&release_w, &pid.to_ne_bytes())
        .map_err(|e| fail("release container process")(&e))?;
    Ok(())
}

/// A connection to `linux.seccomp.listenerPath`, when the profile has one.
fn seccomp_agent(
    plan: &LaunchPlan,
) -> Result<Option<std::os::fd::OwnedFd>, crate::seccomp::SeccompError> {
    let path = plan
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.seccomp().as_ref())
        .and_then(|s| s.listener_path().clone());
    match path {
        Some(path) if !path.as_os_str().is_empty() => {
            crate::seccomp::connect_agent(&path).map(Some)
        }
        _ => Ok(None),
    }
}
