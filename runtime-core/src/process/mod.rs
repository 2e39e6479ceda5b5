//! The user process: everything in the spec's `process` object. Its working
//! directory, rlimits, oom_score_adj, environment and executable are set up
//! before Ready ([`prepare`]); its identity (user, groups, umask,
//! capabilities, no_new_privs) right before the exec ([`finish_identity`]).
//! What skiff cannot apply yet is refused up front (`security`).

mod capabilities;
mod env;
mod executable;
mod identity;
mod keyring;
pub(crate) mod lsm;
pub(crate) mod personality;
mod rlimits;
mod security;

use std::ffi::CString;

use oci_spec::runtime::Process;

pub(crate) use capabilities::{known_capabilities, CapSets};
pub(crate) use env::add_listen_env;
pub use env::listen_fds;
pub(crate) use env::{check as check_env, EnvError};
pub(crate) use identity::finish_identity;
pub(crate) use keyring::KeyringError;
pub(crate) use rlimits::{check as check_rlimits, RlimitError};
pub(crate) use security::check_process as check_supported_process;

use crate::launch::{LaunchKind, LaunchPlan};

/// Why the user process could not be prepared or executed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProcessError {
    #[error(transparent)]
    Seccomp(crate::seccomp::SeccompError),
    #[error("process.cwd {path}: {source}")]
    Cwd {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Rlimit(#[from] RlimitError),
    #[error("process.oomScoreAdj {value}: {source}")]
    OomScoreAdj {
        value: i32,
        source: crate::procfs::ProcfsError,
    },
    #[error("process.cwd {path}: {source}")]
    CwdInRoot {
        path: String,
        source: crate::rootfs::RootfsError,
    },
    #[error("process.cwd {path}: resolves outside the container (to {outside:?})")]
    CwdOutside { path: String, outside: String },
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error(transparent)]
    Executable(#[from] executable::ExecutableError),
    #[error("process.{field}: {value:?} holds a NUL byte")]
    Nul { field: &'static str, value: String },
}

/// The exec, ready to go: everything allocated before Ready.
#[derive(Debug)]
pub(crate) struct Prepared {
    path: CString,
    argv: Vec<CString>,
    envp: Vec<CString>,
    /// The compiled `linux.seccomp` filter (create: the container's; exec:
    /// the container's too, as runc does).
    pub(crate) seccomp: Option<crate::seccomp::Program>,
}

fn cstrings(field: &'static str, items: &[String]) -> Result<Vec<CString>, ProcessError> {
    items
        .iter()
        .map(|s| {
            CString::new(s.as_bytes()).map_err(|_| ProcessError::Nul {
                field,
                value: s.clone(),
            })
        })
        .collect()
}

/// The oomScoreAdj range (proc(5): OOM_SCORE_ADJ_MIN..=OOM_SCORE_ADJ_MAX).
pub(crate) const OOM_SCORE_ADJ: std::ops::RangeInclusive<i32> = -1000..=1000;

/// In C, inside the rootfs (create) or the container's mount namespace
/// (exec): cwd, rlimits, oom_score_adj, the environment and the executable.
pub(crate) fn prepare(plan: &LaunchPlan) -> Result<Prepared, ProcessError> {
    let p: &Process = &plan.process;
    enter_cwd(p.cwd())?;
    rlimits::apply(p.rlimits().as_deref().unwrap_or_default())?;
    if let Some(value) = p.oom_score_adj() {
        crate::procfs::write(
            std::path::Path::new("self/oom_score_adj"),
            value.to_string().as_bytes(),
        )
        .map_err(|source| ProcessError::OomScoreAdj { value, source })?;
    }
    let args = p.args().clone().unwrap_or_default();
    let env = env::build(p.env().as_deref().unwrap_or_default(), || {
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        env::home_of(&passwd, p.user().uid())
    })?;
    let path = executable::find(args.first().map(String::as_str).unwrap_or_default(), &env)?;
    let path_text = path.display().to_string();
    Ok(Prepared {
        path: CString::new(path.into_os_string().into_encoded_bytes()).map_err(|_| {
            ProcessError::Nul {
                field: "args[0]",
                value: path_text,
            }
        })?,
        argv: cstrings("args", &args)?,
        envp: cstrings("env", &env)?,
        seccomp: compile_seccomp(plan)?,
    })
}

/// Change to `process.cwd`, resolved with the container's root as `/`
/// and no magic link followed: a cwd of `/proc/self/fd/N` must not reach
/// a file the runtime holds open (CVE-2024-21626). The result is checked
/// too: getcwd(2) fails for a directory outside the root.
fn enter_cwd(cwd: &std::path::Path) -> Result<(), ProcessError> {
    let path = cwd.display().to_string();
    let dir = crate::rootfs::open_dir_in_root(cwd).map_err(|source| ProcessError::CwdInRoot {
        path: path.clone(),
        source,
    })?;
    nix::unistd::fchdir(&dir).map_err(|e| ProcessError::Cwd {
        path: path.clone(),
        source: e.into(),
    })?;
    match nix::unistd::getcwd() {
        Ok(p) if p.is_absolute() => Ok(()),
        Ok(p) => Err(ProcessError::CwdOutside {
            path,
            outside: p.display().to_string(),
        }),
        Err(e) => Err(ProcessError::CwdOutside {
            path,
            outside: e.desc().to_owned(),
        }),
    }
}

/// In C (create), inside the rootfs but before it is made read-only: make
/// a missing `process.cwd`, as runc does, inside the root.
pub(crate) fn create_cwd(plan: &LaunchPlan) -> Result<(), ProcessError> {
    let cwd = plan.process.cwd();
    match plan.kind {
        LaunchKind::Create => crate::rootfs::create_dir_in_root(cwd)
            .map(drop)
            .map_err(|source| ProcessError::CwdInRoot {
                path: cwd.display().to_string(),
                source,
            }),
        LaunchKind::Exec { .. } => Ok(()),
    }
}

/// In C, before [`finish_identity`]: give the container its own session
/// keyring `_ses.<id>` unless `--no-new-keyring` (see [`keyring`]).
pub(crate) fn join_session_keyring(plan: &LaunchPlan) -> Result<(), KeyringError> {
    keyring::join_session_keyring(&plan.id, plan.no_new_keyring)
}

/// Mark every fd from 3 + `preserve_fds` up close-on-exec and exec; returns
/// only on failure.
pub(crate) fn exec(prepared: &Prepared, preserve_fds: u32) -> nix::Error {
    // SAFETY: close_range takes plain integers; CLOSE_RANGE_CLOEXEC changes
    // only fd flags, so no fd this process still uses before exec is closed.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3 + preserve_fds,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if rc != 0 {
        return nix::Error::last();
    }
    if let Err(e) = reset_signals() {
        return e;
    }
    match nix::unistd::execve(&prepared.path, &prepared.argv, &prepared.envp) {
        Err(e) => e,
        Ok(never) => match never {},
    }
}

/// Give the user program the signal state of a fresh process: nothing
/// blocked (the runtime may block signals it forwards) and nothing ignored
/// (the Rust runtime ignores SIGPIPE; ignored signals survive execve).
fn reset_signals() -> Result<(), nix::Error> {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal};
    let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    for sig in Signal::iterator().filter(|s| !matches!(s, Signal::SIGKILL | Signal::SIGSTOP)) {
        // SAFETY: installing SIG_DFL runs no handler code; the previous
        // action is dropped, and no Rust code relies on a handler here.
        unsafe { sigaction(sig, &default) }?;
    }
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)
}

/// Compile the container's seccomp profile for this machine, before Ready,
/// so that installing it later allocates nothing.
fn compile_seccomp(plan: &LaunchPlan) -> Result<Option<crate::seccomp::Program>, ProcessError> {
    let Some(profile) = plan
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.seccomp().as_ref())
    else {
        return Ok(None);
    };
    crate::seccomp::compile(profile, oci_spec::runtime::Arch::ScmpArchNative)
        .map(Some)
        .map_err(ProcessError::Seccomp)
}
