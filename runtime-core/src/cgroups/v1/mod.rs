//! The cgroupfs v1 driver: one directory per controller hierarchy.

mod resources;
mod stats;

pub(crate) use resources::rdma_line;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::Pid;

use super::fs;
use super::CgroupError;

/// A container's v1 cgroups.
#[derive(Debug, Clone)]
pub(crate) struct V1 {
    /// Controller → its directory (co-mounted controllers share one).
    pub(crate) dirs: BTreeMap<String, PathBuf>,
    /// Directories `create` made, outermost first.
    pub(crate) created: Vec<PathBuf>,
}

impl V1 {
    pub(crate) fn new(dirs: BTreeMap<String, PathBuf>) -> Self {
        Self {
            dirs,
            created: Vec::new(),
        }
    }

    pub(crate) fn has(&self, controller: &str) -> bool {
        self.dirs.contains_key(controller)
    }

    /// The directory of `controller`, or an error naming `field`.
    pub(crate) fn dir(&self, controller: &str, field: &str) -> Result<&Path, CgroupError> {
        self.dirs
            .get(controller)
            .map(PathBuf::as_path)
            .ok_or_else(|| CgroupError::NoController {
                field: field.to_owned(),
                controller: controller.to_owned(),
            })
    }

    /// Each distinct directory once.
    fn unique_dirs(&self) -> BTreeSet<&Path> {
        self.dirs.values().map(PathBuf::as_path).collect()
    }

    pub(crate) fn create(&mut self) -> Result<(), CgroupError> {
        for dir in self.unique_dirs() {
            if dir.exists() {
                refuse_reuse(dir)?;
            }
        }
        if let Some(dir) = self.dirs.get("freezer").filter(|d| d.exists()) {
            if fs::read(dir, "freezer.state")?.trim() != "THAWED" {
                return Err(CgroupError::InUse {
                    path: dir.clone(),
                    why: "frozen",
                });
            }
        }
        let dirs: Vec<PathBuf> = self.unique_dirs().into_iter().map(Path::to_owned).collect();
        for dir in dirs {
            match fs::mkdir_all(&dir) {
                Ok(made) => self.created.extend(made),
                Err(e) => {
                    let _ = fs::remove_all(&self.created);
                    self.created.clear();
                    return Err(e);
                }
            }
        }
        if let Err(e) = self.init_cpuset() {
            let _ = self.destroy();
            return Err(e);
        }
        Ok(())
    }

    /// A new cpuset cgroup starts with no CPUs and no memory nodes, and a
    /// process cannot join it: fill every empty one from the leaf up to the
    /// first complete ancestor, outermost first. Not only the directories
    /// this container made: a concurrent create may have made a shared
    /// parent and not filled it yet (both then write the same values).
    fn init_cpuset(&self) -> Result<(), CgroupError> {
        const FILES: [&str; 2] = ["cpuset.cpus", "cpuset.mems"];
        let Some(leaf) = self.dirs.get("cpuset") else {
            return Ok(());
        };
        let mut empty = Vec::new();
        let mut dir = leaf.as_path();
        loop {
            let mut complete = true;
            for file in FILES {
                complete &= !fs::read(dir, file)?.trim().is_empty();
            }
            if complete {
                break;
            }
            empty.push(dir);
            match dir.parent() {
                Some(parent) => dir = parent,
                None => break,
            }
        }
        for dir in empty.into_iter().rev() {
            let Some(parent) = dir.parent() else { continue };
            for file in FILES {
                if fs::read(dir, file)?.trim().is_empty() {
                    let value = fs::read(parent, file)?;
                    fs::write(dir, file, value.trim(), "linux.resources.cpu")?;
                }
            }
        }
        Ok(())
    }

    pub(crate) fn add(&self, pid: Pid) -> Result<(), CgroupError> {
        for dir in self.unique_dirs() {
            fs::write(dir, "cgroup.procs", &pid.to_string(), "cgroup.procs")?;
        }
        Ok(())
    }

    pub(crate) fn set_frozen(&self, frozen: bool) -> Result<(), CgroupError> {
        let dir = self.dir("freezer", "pause")?;
        let want = if frozen { "FROZEN" } else { "THAWED" };
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            // Writing FROZEN again nudges a freezer stuck in FREEZING.
            fs::write(dir, "freezer.state", want, "freezer.state")?;
            let state = fs::read(dir, "freezer.state")?;
            if state.trim() == want {
                return Ok(());
            }
            if Instant::now() >= deadline {
                if frozen {
                    let _ = fs::write(dir, "freezer.state", "THAWED", "freezer.state");
                }
                return Err(CgroupError::FreezeTimeout {
                    path: dir.to_owned(),
                    state: state.trim().to_owned(),
                });
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    pub(crate) fn is_frozen(&self) -> Result<bool, CgroupError> {
        match self.dirs.get("freezer") {
            Some(dir) => Ok(fs::read(dir, "freezer.state")?.trim() != "THAWED"),
            None => Ok(false),
        }
    }

    /// The pids from the pids (or freezer, or any) hierarchy.
    pub(crate) fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        let dir = ["pids", "freezer", "memory", "cpu", "devices"]
            .iter()
            .find_map(|c| self.dirs.get(*c))
            .or_else(|| self.dirs.values().next());
        match dir {
            Some(dir) => all_procs(dir),
            None => Ok(Vec::new()),
        }
    }

    /// Signal every process, frozen meanwhile so that none forks away.
    pub(crate) fn kill_all(&self, signal: Signal) -> Result<(), CgroupError> {
        let freeze = self.has("freezer") && !self.is_frozen()?;
        if freeze {
            self.set_frozen(true)?;
        }
        let result = signal_all(&self.pids()?, signal);
        if freeze {
            self.set_frozen(false)?;
        }
        result
    }

    pub(crate) fn destroy(&self) -> Result<(), CgroupError> {
        let mut first_err = None;
        for dir in self.unique_dirs() {
            if let Err(e) = fs::rmdir_retry(dir) {
                first_err.get_or_insert(e);
            }
        }
        if let Err(e) = fs::remove_all(&self.created) {
            first_err.get_or_insert(e);
        }
        first_err.map_or(Ok(()), Err)
    }
}

/// A populated cgroup may not be reused (v1 and v2).
pub(crate) fn refuse_reuse(dir: &Path) -> Result<(), CgroupError> {
    if !all_procs(dir)?.is_empty() {
        return Err(CgroupError::InUse {
            path: dir.to_owned(),
            why: "populated",
        });
    }
    Ok(())
}

/// The processes of `dir` and every cgroup below it.
pub(crate) fn all_procs(dir: &Path) -> Result<Vec<i32>, CgroupError> {
    let mut pids = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        match fs::procs(&d) {
            Ok(p) => pids.extend(p),
            Err(CgroupError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        if let Ok(entries) = std::fs::read_dir(&d) {
            todo.extend(
                entries
                    .flatten()
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .map(|e| e.path()),
            );
        }
    }
    pids.sort_unstable();
    pids.dedup();
    Ok(pids)
}

/// Signal each pid; one that is gone already is no error.
pub(crate) fn signal_all(pids: &[i32], signal: Signal) -> Result<(), CgroupError> {
    for &pid in pids {
        match nix::sys::signal::kill(Pid::from_raw(pid), signal) {
            Ok(()) | Err(nix::Error::ESRCH) => {}
            Err(source) => return Err(CgroupError::Kill { pid, source }),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
