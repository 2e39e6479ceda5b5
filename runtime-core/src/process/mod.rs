//! The user process: working directory, rlimits, executable lookup, identity
//! (user, groups, capabilities, no_new_privs) and the final exec.

mod capabilities;
mod executable;
mod identity;
mod rlimits;

use std::ffi::CString;

use oci_spec::runtime::Process;

pub(crate) use capabilities::known_capabilities;
pub(crate) use identity::finish_identity;

use crate::launch::LaunchPlan;

/// Why the user process could not be prepared or executed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProcessError {
    #[error("process.cwd {path}: {source}")]
    Cwd { path: String, source: nix::Error },
    #[error(transparent)]
    Rlimit(#[from] rlimits::RlimitError),
    #[error("process.oomScoreAdj {value}: {source}")]
    OomScoreAdj { value: i32, source: std::io::Error },
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
}

fn cstrings(field: &'static str, items: &[String]) -> Result<Vec<CString>, ProcessError> {
    items
        .iter()
        .map(|s| CString::new(s.as_bytes()).map_err(|_| ProcessError::Nul { field, value: s.clone() }))
        .collect()
}

/// In C, inside the rootfs: cwd, rlimits, oom_score_adj, and the executable.
pub(crate) fn prepare(plan: &LaunchPlan) -> Result<Prepared, ProcessError> {
    let p: &Process = &plan.process;
    let cwd = p.cwd();
    nix::unistd::chdir(cwd).map_err(|source| ProcessError::Cwd { path: cwd.display().to_string(), source })?;
    rlimits::apply(p.rlimits().as_deref().unwrap_or_default())?;
    if let Some(value) = p.oom_score_adj() {
        std::fs::write("/proc/self/oom_score_adj", value.to_string())
            .map_err(|source| ProcessError::OomScoreAdj { value, source })?;
    }
    let args = p.args().clone().unwrap_or_default();
    let env = p.env().clone().unwrap_or_default();
    let path = executable::find(args.first().map(String::as_str).unwrap_or_default(), &env)?;
    Ok(Prepared {
        path: CString::new(path.into_os_string().into_encoded_bytes())
            .map_err(|_| ProcessError::Nul { field: "args[0]", value: String::new() })?,
        argv: cstrings("args", &args)?,
        envp: cstrings("env", &env)?,
    })
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
    match nix::unistd::execve(&prepared.path, &prepared.argv, &prepared.envp) {
        Err(e) => e,
        Ok(never) => match never {},
    }
}
