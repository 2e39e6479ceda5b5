//! One file per command, each a few lines over `skiff_core`.

mod create;
mod delete;
mod events;
mod exec;
mod features;
mod kill;
mod list;
mod pause;
mod ps;
mod resume;
mod run;
mod spec;
mod start;
mod state;
mod update;

use std::path::{Path, PathBuf};

use crate::args::Command;
use crate::tty_proxy::TtyError;

/// Why a command failed. Each variant names the flag or file at fault.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The library refused or failed.
    #[error(transparent)]
    Core(#[from] skiff_core::Error),
    /// A file the CLI itself reads or writes.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A JSON document the CLI reads did not decode.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
    /// Output could not be encoded.
    #[error("encode output: {0}")]
    Encode(serde_json::Error),
    /// A command line option has a value skiff refuses.
    #[error("{flag}: {message}")]
    Option {
        /// The option, e.g. `--user`.
        flag: &'static str,
        /// What is wrong.
        message: String,
    },
    /// runc has this command; skiff does not yet.
    #[error("{0}: not implemented yet")]
    NotImplemented(&'static str),
    /// `spec` would overwrite the bundle's config.json.
    #[error("File {0} exists. Remove it first")]
    SpecExists(PathBuf),
    /// The host's `ps` failed or printed something unexpected.
    #[error("ps {args}: {why}")]
    Ps {
        /// The options it ran with.
        args: String,
        /// What went wrong.
        why: String,
    },
    /// The foreground terminal could not be proxied.
    #[error(transparent)]
    Tty(#[from] TtyError),
}

impl CommandError {
    pub(crate) fn option(flag: &'static str, message: impl Into<String>) -> Self {
        CommandError::Option {
            flag,
            message: message.into(),
        }
    }
}

/// Run `command` with state under `root` (`rootless`: runc's rootless
/// cgroup handling for the containers it creates); returns the exit code.
pub fn dispatch(command: Command, root: &Path, rootless: bool) -> Result<i32, CommandError> {
    match command {
        Command::Create(a) => create::create(root, rootless, a).map(|()| 0),
        Command::Start(a) => start::start(root, &a.id).map(|()| 0),
        Command::State(a) => state::state(root, &a.id).map(|()| 0),
        Command::Kill(a) => kill::kill(root, a).map(|()| 0),
        Command::Delete(a) => delete::delete(root, a).map(|()| 0),
        Command::Run(a) => run::run(root, rootless, a),
        Command::Exec(a) => exec::exec(root, a),
        Command::List(a) => list::list(root, a).map(|()| 0),
        Command::Spec(a) => spec::spec(a).map(|()| 0),
        Command::Features => features::features().map(|()| 0),
        Command::Pause(a) => pause::pause(root, &a.id).map(|()| 0),
        Command::Resume(a) => resume::resume(root, &a.id).map(|()| 0),
        Command::Ps(a) => ps::ps(root, a).map(|()| 0),
        Command::Events(a) => events::events(root, a).map(|()| 0),
        Command::Update(a) => update::update(root, a).map(|()| 0),
        other @ (Command::Checkpoint(_) | Command::Restore(_)) => {
            Err(CommandError::NotImplemented(other.name()))
        }
    }
}

/// runc's console checks: a detached terminal needs a console socket, and a
/// console socket is only for a detached terminal.
pub(crate) fn check_terminal(
    detach: bool,
    terminal: bool,
    console_socket: Option<&Path>,
) -> Result<(), CommandError> {
    if detach && terminal && console_socket.is_none() {
        return Err(CommandError::option(
            "--console-socket",
            "cannot allocate tty if skiff will detach without setting console socket",
        ));
    }
    if (!detach || !terminal) && console_socket.is_some() {
        return Err(CommandError::option(
            "--console-socket",
            "cannot use console socket if skiff will not detach or allocate tty",
        ));
    }
    Ok(())
}

/// Print `value` as runc does: indented JSON.
pub(crate) fn print_json(value: &impl serde::Serialize) -> Result<(), CommandError> {
    let text = serde_json::to_string_pretty(value).map_err(CommandError::Encode)?;
    println!("{text}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_checks_are_runcs() {
        let sock = Some(Path::new("/s"));
        assert!(check_terminal(true, true, None).is_err());
        assert!(check_terminal(true, true, sock).is_ok());
        assert!(check_terminal(false, true, None).is_ok());
        assert!(check_terminal(false, true, sock).is_err());
        assert!(check_terminal(true, false, sock).is_err());
        assert!(check_terminal(false, false, None).is_ok());
    }
}
