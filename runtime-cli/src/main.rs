//! `skiff`: an OCI container runtime with runc's command line.
//!
//! Parse the command line, set up the log, dispatch to one command. Exit
//! codes are runc's: 0 on success, 1 on any error (usage errors too), and for
//! a foreground `run` or `exec` the process's own status (128 + signal when
//! a signal killed it).

mod args;
mod commands;
mod log;
mod tty_proxy;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};

use crate::args::Cli;
#[cfg(test)]
use crate::args::Rootless;
use crate::commands::CommandError;
use crate::log::{error_chain, Logger};

fn main() {
    skiff_core::init_if_requested();
    std::process::exit(real_main());
}

fn real_main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => 0,
                _ => 1,
            };
        }
    };
    if cli.version {
        print!("{}", version_text());
        return 0;
    }
    let mut logger = match Logger::new(cli.log.as_deref(), cli.log_format, cli.debug) {
        Ok(l) => l,
        Err(e) => {
            Logger::stderr().error(&error_chain(&e));
            return 1;
        }
    };
    let Some(command) = cli.command else {
        let _ = Cli::command().print_help();
        return 0;
    };
    let rootless = cli.rootless.decide();
    // `spec` and `features` keep no state: they need no state root.
    let stateless = matches!(
        command,
        crate::args::Command::Spec(_) | crate::args::Command::Features
    );
    let root = match cli
        .root
        .clone()
        .map_or_else(skiff_core::default_state_root, Ok)
    {
        Ok(root) => root,
        Err(_) if stateless => std::path::PathBuf::from(skiff_core::DEFAULT_ROOT),
        Err(e) => {
            logger.error(&error_chain(&e));
            return 1;
        }
    };
    logger.debug(&format!(
        "skiff {} (root {}, rootless {rootless})",
        command.name(),
        root.display()
    ));
    // runc's exec fails with 255, so that a caller can tell its failure
    // from the exit status of the process it runs; the other commands with 1.
    let failure = if matches!(command, crate::args::Command::Exec(_)) {
        255
    } else {
        1
    };
    let result = unsupported_globals(cli.systemd_cgroup)
        .and_then(|()| commands::dispatch(command, &root, rootless));
    match result {
        Ok(code) => code,
        Err(e) => {
            logger.error(&error_chain(&e));
            failure
        }
    }
}

/// The global options skiff accepts but cannot honour yet.
fn unsupported_globals(systemd_cgroup: bool) -> Result<(), CommandError> {
    if systemd_cgroup {
        return Err(CommandError::option(
            "--systemd-cgroup",
            "the systemd cgroup driver is not supported yet",
        ));
    }
    Ok(())
}

/// `skiff --version`, in runc's shape.
fn version_text() -> String {
    let features = skiff_core::features();
    let spec = features
        .get("ociVersionMax")
        .and_then(|v| v.as_str())
        .unwrap_or("unknown");
    format!(
        "skiff version {}\nspec: {spec}\n",
        env!("CARGO_PKG_VERSION")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_lines() {
        let text = version_text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines, ["skiff version 0.1.0", "spec: 1.2.0"]);
    }

    #[test]
    fn systemd_is_refused() {
        assert!(unsupported_globals(true).is_err());
        assert!(unsupported_globals(false).is_ok());
    }

    #[test]
    fn rootless_modes() {
        assert!(Rootless::True.decide());
        assert!(!Rootless::False.decide());
        // The unit tests run as root in the initial user namespace.
        assert_eq!(Rootless::Auto.decide(), skiff_core::rootless_default());
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
