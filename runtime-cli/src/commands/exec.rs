//! `skiff exec ID [COMMAND...]`: run another process in a running container.
//! The process comes from `--process FILE`, or from the container's
//! config.json process with the command and the options applied, as runc's.

use std::path::Path;

use oci_spec::runtime::{Capability, LinuxCapabilities, Process, Spec};
use skiff_core::{block_forwarded_signals, forward_signals_until_exit, Container, ExecOptions};

use super::{check_terminal, CommandError};
use crate::args::ExecArgs;
use crate::tty_proxy;

pub(super) fn exec(root: &Path, a: ExecArgs) -> Result<i32, CommandError> {
    let container = Container::load(root, &a.id)?;
    let mut process = match &a.process {
        Some(path) => read_process(path)?,
        None => process_from_args(&a, &container.state().bundle)?,
    };
    // The labels go into the process: skiff-core applies them when the
    // kernel runs the LSM and refuses them, naming the field, when not.
    if let Some(profile) = &a.apparmor {
        process.set_apparmor_profile(Some(profile.clone()));
    }
    if let Some(label) = &a.process_label {
        process.set_selinux_label(Some(label.clone()));
    }
    if process.args().as_ref().is_none_or(Vec::is_empty) {
        return Err(CommandError::option(
            "exec",
            "the process has no args: give a command or --process",
        ));
    }
    let terminal = process.terminal().unwrap_or(false);
    check_terminal(a.detach, terminal, a.console_socket.as_deref())?;
    let mut opts = ExecOptions::new(process);
    opts.console_socket = a.console_socket.clone();
    opts.pid_file = a.pid_file.clone();
    opts.preserve_fds = a.preserve_fds;
    opts.ignore_paused = a.ignore_paused;
    let console = if terminal && !a.detach {
        let (ours, theirs) = tty_proxy::console_pair()?;
        opts.console_fd = Some(theirs);
        Some(ours)
    } else {
        None
    };
    if !a.detach {
        // Before the launch, so that no signal and no early exit is lost.
        block_forwarded_signals()?;
    }
    let proc = container.exec(opts)?;
    if a.detach {
        return Ok(0);
    }
    let status = match console {
        Some(sock) => {
            let master = tty_proxy::receive_master(&sock)?;
            tty_proxy::proxy_until_exit(master, proc.pid())?
        }
        None => forward_signals_until_exit(proc.pid())?,
    };
    Ok(status.code())
}

fn read_process(path: &Path) -> Result<Process, CommandError> {
    let text = std::fs::read(path).map_err(|source| CommandError::Io {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_slice(&text).map_err(|source| CommandError::Json {
        path: path.to_owned(),
        source,
    })
}

/// The container's config.json process, with the command line applied.
fn process_from_args(a: &ExecArgs, bundle: &Path) -> Result<Process, CommandError> {
    let path = bundle.join("config.json");
    let text = std::fs::read(&path).map_err(|source| CommandError::Io {
        path: path.clone(),
        source,
    })?;
    let spec: Spec =
        serde_json::from_slice(&text).map_err(|source| CommandError::Json { path, source })?;
    let mut p = spec.process().clone().unwrap_or_default();
    apply_args(&mut p, a)?;
    Ok(p)
}

fn apply_args(p: &mut Process, a: &ExecArgs) -> Result<(), CommandError> {
    p.set_args(Some(a.command.clone()));
    if let Some(cwd) = &a.cwd {
        p.set_cwd(cwd.clone());
    }
    if !a.env.is_empty() {
        let mut env = p.env().clone().unwrap_or_default();
        env.extend(a.env.iter().cloned());
        p.set_env(Some(env));
    }
    p.set_terminal(Some(a.tty));
    if a.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    if let Some(user) = &a.user {
        let (uid, gid) = parse_user(user)?;
        p.user_mut().set_uid(uid);
        if let Some(gid) = gid {
            p.user_mut().set_gid(gid);
        }
    }
    if !a.additional_gids.is_empty() {
        let mut gids = p.user().additional_gids().clone().unwrap_or_default();
        gids.extend(&a.additional_gids);
        p.user_mut().set_additional_gids(Some(gids));
    }
    if !a.cap.is_empty() {
        let mut caps = p.capabilities().clone().unwrap_or_else(empty_caps);
        for name in &a.cap {
            add_cap(&mut caps, parse_cap(name)?);
        }
        p.set_capabilities(Some(caps));
    }
    Ok(())
}

/// `UID[:GID]`, numbers only, as runc.
fn parse_user(s: &str) -> Result<(u32, Option<u32>), CommandError> {
    let bad = || CommandError::option("--user", format!("{s:?}: want UID[:GID] (numbers)"));
    let (uid, gid) = match s.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (s, None),
    };
    let uid = uid.parse().map_err(|_| bad())?;
    let gid = gid.map(|g| g.parse().map_err(|_| bad())).transpose()?;
    Ok((uid, gid))
}

/// `CAP_KILL`, `cap_kill` or `KILL`.
fn parse_cap(name: &str) -> Result<Capability, CommandError> {
    let upper = name.to_ascii_uppercase();
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    serde_json::from_value(serde_json::Value::String(full))
        .map_err(|_| CommandError::option("--cap", format!("unknown capability {name:?}")))
}

fn empty_caps() -> LinuxCapabilities {
    let mut caps = LinuxCapabilities::default();
    caps.set_bounding(None);
    caps.set_effective(None);
    caps.set_inheritable(None);
    caps.set_permitted(None);
    caps.set_ambient(None);
    caps
}

/// runc's `--cap`: into bounding, effective and permitted; into ambient too
/// only when the process has inheritable capabilities to make that work.
fn add_cap(caps: &mut LinuxCapabilities, cap: Capability) {
    let add = |set: &Option<_>| {
        let mut set: std::collections::HashSet<Capability> = set.clone().unwrap_or_default();
        set.insert(cap);
        Some(set)
    };
    caps.set_bounding(add(caps.bounding()));
    caps.set_effective(add(caps.effective()));
    caps.set_permitted(add(caps.permitted()));
    if caps.inheritable().is_some() {
        caps.set_ambient(add(caps.ambient()));
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::args::{Cli, Command};

    fn exec_args(args: &[&str]) -> ExecArgs {
        let cli = Cli::try_parse_from(["skiff", "exec"].into_iter().chain(args.iter().copied()));
        match cli.map(|c| c.command) {
            Ok(Some(Command::Exec(a))) => a,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn options_override_the_config_process() {
        let a = exec_args(&[
            "-u",
            "1000:100",
            "-g",
            "7",
            "--cwd",
            "/tmp",
            "-e",
            "X=1",
            "--no-new-privs",
            "-c",
            "net_raw",
            "c1",
            "id",
        ]);
        let mut p = Process::default();
        assert!(apply_args(&mut p, &a).is_ok());
        assert_eq!(p.args().as_deref(), Some(&["id".to_owned()][..]));
        assert_eq!((p.user().uid(), p.user().gid()), (1000, 100));
        assert_eq!(p.user().additional_gids().as_deref(), Some(&[7][..]));
        assert_eq!(p.cwd(), Path::new("/tmp"));
        assert_eq!(
            p.env().as_ref().and_then(|e| e.last()).map(String::as_str),
            Some("X=1")
        );
        assert_eq!(p.terminal(), Some(false));
        assert_eq!(p.no_new_privileges(), Some(true));
        let caps = p.capabilities().clone().unwrap_or_else(empty_caps);
        assert!(caps
            .bounding()
            .as_ref()
            .is_some_and(|s| s.contains(&Capability::NetRaw)));
        assert!(caps
            .effective()
            .as_ref()
            .is_some_and(|s| s.contains(&Capability::NetRaw)));
    }

    #[test]
    fn user_forms() {
        assert_eq!(parse_user("5").ok(), Some((5, None)));
        assert_eq!(parse_user("5:6").ok(), Some((5, Some(6))));
        assert!(parse_user("root").is_err());
        assert!(parse_user("5:").is_err());
    }

    #[test]
    fn cap_forms() {
        for name in ["CAP_KILL", "cap_kill", "KILL"] {
            assert_eq!(parse_cap(name).ok(), Some(Capability::Kill), "{name}");
        }
        assert!(parse_cap("CAP_NOPE").is_err());
    }
}
