//! `skiff run ID`: create, start, and in the foreground wait for the
//! container, forwarding signals, then delete it unless `--keep`.

use std::path::Path;

use skiff_core::{block_forwarded_signals, forward_signals_until_exit};

use super::create::{builder, destroy, wants_terminal};
use super::{check_terminal, CommandError};
use crate::args::RunArgs;
use crate::tty_proxy;

pub(super) fn run(root: &Path, rootless: bool, a: RunArgs) -> Result<i32, CommandError> {
    let terminal = wants_terminal(&a.create);
    check_terminal(a.detach, terminal, a.create.console_socket.as_deref())?;
    let mut b = builder(root, rootless, &a.create);
    let console = if terminal && !a.detach {
        let (ours, theirs) = tty_proxy::console_pair()?;
        b = b.console_socket_fd(theirs);
        Some(ours)
    } else {
        None
    };
    if !a.detach {
        // Before anything starts, so that no signal meant for the container
        // and no early exit is lost (the container's own mask is reset
        // before its execve).
        block_forwarded_signals()?;
    }
    let mut container = b.create()?;
    let master = match console.as_ref().map(tty_proxy::receive_master).transpose() {
        Ok(m) => m,
        Err(e) => {
            destroy(container);
            return Err(e.into());
        }
    };
    if let Err(e) = container.start() {
        destroy(container);
        return Err(e.into());
    }
    if a.detach {
        return Ok(0);
    }
    let status = match master {
        Some(master) => tty_proxy::proxy_until_exit(master, container.pid())?,
        None => forward_signals_until_exit(container.pid())?,
    };
    if !a.keep {
        container.delete(false)?;
    }
    Ok(status.code())
}
