//! The cgroupfs v2 driver: one directory in the unified hierarchy.

mod resources;
mod stats;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::Pid;

use super::v1::{all_procs, refuse_reuse, signal_all};
use super::{fs, CgroupError};

/// A container's v2 cgroup.
#[derive(Debug, Clone)]
pub(crate) struct V2 {
    pub(crate) dir: PathBuf,
    /// The hierarchy root, to enable controllers from; unknown once recorded.
    root: Option<PathBuf>,
    /// The controllers to enable on the way down; `None` for all offered.
    only: Option<Vec<String>>,
    /// Directories `create` made, outermost first.
    pub(crate) created: Vec<PathBuf>,
    /// Load and attach the eBPF device filter (off on test trees).
    pub(crate) bpf: bool,
}

impl V2 {
    pub(crate) fn new(dir: PathBuf, root: Option<PathBuf>) -> Self {
        Self {
            dir,
            root,
            only: None,
            created: Vec::new(),
            bpf: true,
        }
    }

    /// Enable only `controllers` on the way down (hybrid hosts).
    pub(crate) fn only(mut self, controllers: Vec<String>) -> Self {
        self.only = Some(controllers);
        self
    }

    pub(crate) fn create(&mut self) -> Result<(), CgroupError> {
        if self.dir.exists() {
            refuse_reuse(&self.dir)?;
            if self.is_frozen()? {
                return Err(CgroupError::InUse {
                    path: self.dir.clone(),
                    why: "frozen",
                });
            }
        }
        let result = self.make_dirs();
        if result.is_err() {
            let _ = fs::remove_all(&self.created);
            self.created.clear();
        }
        result
    }

    /// Make each missing directory from the root down, enabling the wanted
    /// controllers in each parent's cgroup.subtree_control first.
    fn make_dirs(&mut self) -> Result<(), CgroupError> {
        let Some(root) = self.root.clone() else {
            self.created = fs::mkdir_all(&self.dir)?;
            return Ok(());
        };
        let rel = self
            .dir
            .strip_prefix(&root)
            .unwrap_or(Path::new(""))
            .to_owned();
        let mut cur = root;
        for part in rel.components() {
            self.enable_controllers(&cur)?;
            cur.push(part);
            if !cur.exists() {
                self.created.extend(fs::mkdir_all(&cur)?);
            }
        }
        Ok(())
    }

    fn enable_controllers(&self, dir: &Path) -> Result<(), CgroupError> {
        let offered = std::fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
        let enabled =
            std::fs::read_to_string(dir.join("cgroup.subtree_control")).unwrap_or_default();
        let wanted: Vec<String> = offered
            .split_whitespace()
            .filter(|c| self.only.as_ref().is_none_or(|o| o.iter().any(|w| w == c)))
            .filter(|c| !enabled.split_whitespace().any(|e| e == *c))
            .map(|c| format!("+{c}"))
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        fs::write(
            dir,
            "cgroup.subtree_control",
            &wanted.join(" "),
            "cgroup.subtree_control",
        )
    }

    pub(crate) fn add(&self, pid: Pid) -> Result<(), CgroupError> {
        fs::write(&self.dir, "cgroup.procs", &pid.to_string(), "cgroup.procs")
    }

    pub(crate) fn set_frozen(&self, frozen: bool) -> Result<(), CgroupError> {
        let v = if frozen { "1" } else { "0" };
        fs::write(&self.dir, "cgroup.freeze", v, "cgroup.freeze")?;
        let want = format!("frozen {v}");
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let events = fs::read(&self.dir, "cgroup.events")?;
            if events.lines().any(|l| l.trim() == want) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                if frozen {
                    let _ = fs::write(&self.dir, "cgroup.freeze", "0", "cgroup.freeze");
                }
                return Err(CgroupError::FreezeTimeout {
                    path: self.dir.clone(),
                    state: if frozen { "thawed" } else { "frozen" }.to_owned(),
                });
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    pub(crate) fn is_frozen(&self) -> Result<bool, CgroupError> {
        match std::fs::read_to_string(self.dir.join("cgroup.freeze")) {
            Ok(s) => Ok(s.trim() == "1"),
            // Kernels before 5.2 cannot freeze on v2.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(CgroupError::Io {
                op: "read",
                path: self.dir.join("cgroup.freeze"),
                source,
            }),
        }
    }

    pub(crate) fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        all_procs(&self.dir)
    }

    /// SIGKILL through cgroup.kill (5.14+); other signals one by one.
    pub(crate) fn kill_all(&self, signal: Signal) -> Result<(), CgroupError> {
        if signal == Signal::SIGKILL && self.dir.join("cgroup.kill").exists() {
            return fs::write(&self.dir, "cgroup.kill", "1", "cgroup.kill");
        }
        signal_all(&self.pids()?, signal)
    }

    pub(crate) fn destroy(&self) -> Result<(), CgroupError> {
        let leaf = fs::rmdir_retry(&self.dir);
        fs::remove_all(&self.created).and(leaf)
    }
}

#[cfg(test)]
mod tests;
