//! `kill`: signal the container process, or every process of the container.

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::{record, Container, StateError, Status};
use crate::{cgroups, Error};

/// Parse a signal as runc does: `9`, `KILL` or `SIGKILL` (any case).
pub fn parse_signal(s: &str) -> Result<Signal, StateError> {
    let unknown = || StateError::UnknownSignal(s.to_owned());
    if let Ok(n) = s.parse::<i32>() {
        return Signal::try_from(n).map_err(|_| unknown());
    }
    let upper = s.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    name.parse::<Signal>().map_err(|_| unknown())
}

impl Container {
    /// Send `signal` to the container process; with `all`, to every process
    /// of the container: those in its cgroups (v2: cgroup.kill for SIGKILL;
    /// v1: frozen, signalled, thawed), or, for a container without recorded
    /// cgroups, those in its pid namespace. As runc, `all` also reaches what
    /// is left of a stopped container, and SIGKILL thaws a paused container
    /// so that it is delivered.
    pub fn kill(&self, signal: Signal, all: bool) -> Result<(), Error> {
        let _lock = record::lock(&self.dir, self.id())?;
        if all {
            let status = self.status();
            if status == Status::Stopped && !self.record.cgroups.is_empty() {
                cgroups::kill_all(&self.record.cgroups, signal)?;
                return Ok(());
            }
            self.require(Status::can_kill, "kill")?;
            return self.signal_all(signal);
        }
        let status = self.require(Status::can_kill, "kill")?;
        let pid = self.record.pid;
        kill(Pid::from_raw(pid), signal).map_err(|source| StateError::Sys {
            op: format!("kill {pid}"),
            source,
        })?;
        if status == Status::Paused && signal == Signal::SIGKILL {
            cgroups::set_frozen(&self.record.cgroups, false)?;
        }
        Ok(())
    }

    /// Signal every process of the running container (see [`Self::kill`]).
    pub(crate) fn signal_all(&self, signal: Signal) -> Result<(), Error> {
        if !self.record.cgroups.is_empty() {
            cgroups::kill_all(&self.record.cgroups, signal)?;
            return Ok(());
        }
        let pid = self.record.pid;
        for target in self.ns_processes() {
            match kill(Pid::from_raw(target), signal) {
                Ok(()) | Err(nix::Error::ESRCH) if target != pid => {}
                Ok(()) => {}
                Err(source) => {
                    return Err(StateError::Sys {
                        op: format!("kill {target}"),
                        source,
                    }
                    .into())
                }
            }
        }
        Ok(())
    }

    /// The pids of the container's processes without cgroups: its init, and
    /// when it has a pid namespace of its own, every process in it.
    fn ns_processes(&self) -> Vec<i32> {
        let init = self.record.pid;
        let ns_of = |pid: i32| std::fs::read_link(format!("/proc/{pid}/ns/pid")).ok();
        let (Some(theirs), Some(ours)) = (ns_of(init), ns_of(std::process::id() as i32)) else {
            return vec![init];
        };
        if theirs == ours {
            return vec![init];
        }
        let mut pids = vec![init];
        if let Ok(entries) = std::fs::read_dir("/proc") {
            for entry in entries.flatten() {
                let Some(pid) = entry
                    .file_name()
                    .to_str()
                    .and_then(|s| s.parse::<i32>().ok())
                else {
                    continue;
                };
                if pid != init && ns_of(pid).as_ref() == Some(&theirs) {
                    pids.push(pid);
                }
            }
        }
        pids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_forms() {
        for s in ["9", "KILL", "SIGKILL", "kill", "sigkill"] {
            assert_eq!(parse_signal(s).expect(s), Signal::SIGKILL);
        }
        for s in ["", "0x9", "SIGNOPE", "999"] {
            assert!(parse_signal(s).is_err(), "{s}");
        }
    }
}
