//! `create`: validate, make the state directory, launch, record.

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use nix::sys::stat::Mode;
use nix::unistd::Pid;
use oci_spec::runtime::Spec;

use super::{record, Container, ContainerBuilder, Record, StateError, Status};
use crate::cgroups::{self, CgroupPaths};
use crate::hooks::{self, HookState};
use crate::launch::{self, LaunchKind, LaunchPlan};
use crate::{process, spec, Error};

pub(super) fn create(b: ContainerBuilder) -> Result<Container, Error> {
    crate::id::validate_id(&b.id)?;
    let bundle = match &b.bundle {
        Some(dir) => dir.clone(),
        None => std::env::current_dir().map_err(|source| StateError::Io {
            path: ".".into(),
            source,
        })?,
    };
    let bundle = bundle.canonicalize().map_err(|source| StateError::Io {
        path: bundle.clone(),
        source,
    })?;
    let spec = match b.spec.clone() {
        Some(spec) => spec,
        None => spec::load(&bundle)?,
    };
    let rootfs = spec::validate(&spec, &bundle)?;
    crate::rootless::check_spec(&spec)?;
    let terminal = spec
        .process()
        .as_ref()
        .and_then(|p| p.terminal())
        .unwrap_or(false);
    let console = b.console_fd.is_some() || b.console_socket.is_some();
    if terminal && !console {
        return Err(spec::SpecError::invalid(
            "process.terminal",
            "a terminal needs a console socket (--console-socket) to send its pty to",
        )
        .into());
    }
    if !terminal && console {
        return Err(spec::SpecError::invalid(
            "process.terminal",
            "a console socket was given but the process has no terminal",
        )
        .into());
    }
    let dir = record::make_dir(&b.root, &b.id)?;
    let result = create_in(&b, &dir, bundle, rootfs, spec);
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

fn create_in(
    b: &ContainerBuilder,
    dir: &Path,
    bundle: PathBuf,
    rootfs: PathBuf,
    spec: Spec,
) -> Result<Container, Error> {
    let _lock = record::lock(dir, &b.id)?;
    let fifo = dir.join(record::FIFO);
    nix::unistd::mkfifo(&fifo, Mode::from_bits_truncate(0o600)).map_err(|e| StateError::Sys {
        op: format!("mkfifo {}", fifo.display()),
        source: e,
    })?;
    let console: Option<OwnedFd> = match (&b.console_fd, &b.console_socket) {
        (Some(fd), _) => Some(fd.try_clone().map_err(|source| StateError::Io {
            path: "console socket".into(),
            source,
        })?),
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
    let mut process = spec.process().clone().unwrap_or_default();
    if b.listen_fds > 0 {
        let mut env = process.env().clone().unwrap_or_default();
        process::add_listen_env(&mut env, b.listen_fds);
        process.set_env(Some(env));
    }
    let plan = LaunchPlan {
        kind: LaunchKind::Create,
        id: b.id.clone(),
        spec: spec.clone(),
        process,
        rootfs: rootfs.clone(),
        bundle: bundle.clone(),
        state_dir: dir.to_owned(),
        no_pivot: b.no_pivot,
        no_new_keyring: b.no_new_keyring,
        preserve_fds: b.preserve_fds + b.listen_fds,
        console_socket_fd: console.as_ref().map(|fd| fd.as_raw_fd()),
        stdio: b.stdio.raw(),
    };
    let annotations = spec.annotations().clone().unwrap_or_default();
    let mut observer = CreateObserver {
        spec: &spec,
        id: &b.id,
        cgroups: None,
        state: HookState {
            oci_version: spec.version().clone(),
            id: b.id.clone(),
            status: Status::Creating,
            pid: 0,
            bundle: bundle.clone(),
            annotations: annotations.clone(),
        },
        rootless: b.rootless,
    };
    let launched = launch::launch(&plan, &mut observer);
    let cgroup_paths = observer.cgroups.take().unwrap_or_default();
    let pid = match launched {
        Ok(pid) => pid,
        Err(e) => {
            // The launch killed and reaped what it started; anything else
            // in the cgroups goes with them.
            let _ = cgroups::remove(&cgroup_paths);
            return Err(e.into());
        }
    };
    drop(console);
    let record = Record {
        id: b.id.clone(),
        pid: pid.as_raw(),
        pid_start: record::proc_stat(pid.as_raw())
            .map(|(_, start)| start)
            .unwrap_or(0),
        bundle,
        rootfs,
        created: record::now_rfc3339(),
        owner: owner(),
        annotations,
        spec,
        cgroups: cgroup_paths,
    };
    let written = record::write(dir, &record).and_then(|()| match &b.pid_file {
        Some(path) => write_pid_file(path, pid),
        None => Ok(()),
    });
    if let Err(e) = written {
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(pid, None);
        let _ = cgroups::remove(&record.cgroups);
        return Err(e.into());
    }
    Ok(Container {
        root: b.root.clone(),
        dir: dir.to_owned(),
        record,
    })
}

/// Write a pid file atomically, as runc does.
pub(crate) fn write_pid_file(path: &Path, pid: Pid) -> Result<(), StateError> {
    let tmp = path.with_extension("skiff-tmp");
    std::fs::write(&tmp, pid.as_raw().to_string())
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|source| StateError::Io {
            path: path.to_owned(),
            source,
        })
}

/// The caller's user name for `list`'s OWNER column, read from /etc/passwd
/// directly (no NSS: the release binary is linked statically), else the uid.
fn owner() -> String {
    let uid = nix::unistd::getuid().as_raw();
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|text| user_name(&text, uid))
        .unwrap_or_else(|| uid.to_string())
}

/// The name of `uid` in the text of a passwd file.
fn user_name(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let id = fields.nth(1)?.parse::<u32>().ok()?;
        (id == uid && !name.is_empty()).then(|| name.to_owned())
    })
}

/// P's work during the handshake: cgroup placement and the runtime-side hooks.
struct CreateObserver<'a> {
    spec: &'a Spec,
    id: &'a str,
    /// The cgroups once made: removed by `create_in` if the launch fails.
    cgroups: Option<CgroupPaths>,
    state: HookState,
    rootless: bool,
}

impl launch::LaunchObserver for CreateObserver<'_> {
    fn init_started(&mut self, init_pid: Pid) -> Result<(), Error> {
        let paths = cgroups::prepare(self.spec, self.id, self.rootless)?;
        let paths = self.cgroups.insert(paths);
        cgroups::add(paths, init_pid)?;
        Ok(())
    }

    fn create_runtime(&mut self, pid: Pid) -> Result<(), Error> {
        self.state.pid = pid.as_raw();
        hooks::run_prestart_and_create_runtime(self.spec, &self.state)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::user_name;

    #[test]
    fn user_name_from_passwd() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\n# comment\nbad line\nnobody:x:65534:65534::/:/bin/false\n";
        assert_eq!(user_name(passwd, 0).as_deref(), Some("root"));
        assert_eq!(user_name(passwd, 65534).as_deref(), Some("nobody"));
        assert_eq!(user_name(passwd, 1000), None);
    }
}
