//! The cgroup manager: one small trait, and a closed enum over the drivers
//! so that calls are dispatched statically. The systemd driver, when it
//! comes, is one more variant (it asks systemd for a scope, then applies
//! what systemd has no property for through the cgroupfs driver).

use std::collections::BTreeMap;
use std::path::PathBuf;

use nix::sys::signal::Signal;
use nix::unistd::Pid;
use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};

use super::devices::DeviceRule;
use super::stats::Stats;
use super::v1::V1;
use super::v2::V2;
use super::CgroupError;

/// What a driver does for one container's cgroup.
pub(crate) trait CgroupManager {
    /// Make the cgroup and any missing parents; a frozen or populated
    /// cgroup is refused.
    fn create(&mut self) -> Result<(), CgroupError>;
    /// Write `resources` (checked beforehand) and the device `rules` (left
    /// alone when `None`, as on update).
    fn apply(
        &self,
        resources: &LinuxResources,
        rules: Option<&[DeviceRule]>,
    ) -> Result<(), CgroupError>;
    /// Move `pid` into the cgroup.
    fn add(&self, pid: Pid) -> Result<(), CgroupError>;
    /// Freeze (`true`) or thaw every process of the cgroup, and wait for it.
    fn set_frozen(&self, frozen: bool) -> Result<(), CgroupError>;
    /// Whether the cgroup is frozen.
    fn is_frozen(&self) -> Result<bool, CgroupError>;
    /// Resource usage.
    fn stats(&self) -> Result<Stats, CgroupError>;
    /// Every process in the cgroup and its descendants.
    fn pids(&self) -> Result<Vec<i32>, CgroupError>;
    /// Send `signal` to every process in the cgroup.
    fn kill_all(&self, signal: Signal) -> Result<(), CgroupError>;
    /// Remove the cgroup and the parents `create` made; processes must be gone.
    fn destroy(&self) -> Result<(), CgroupError>;
}

/// Where a container's cgroups are: to be kept in its state so that later
/// commands (exec, pause, stats, delete) find them whatever cgroup those
/// commands run in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CgroupPaths {
    /// v1 controller → directory (empty on a pure v2 host).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub v1: BTreeMap<String, PathBuf>,
    /// The cgroup2 directory (on a hybrid host, the one in the unified tree).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unified: Option<PathBuf>,
    /// The directories skiff made, outermost first: delete removes these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub created: Vec<PathBuf>,
}

impl CgroupPaths {
    /// No cgroup at all (a record from before cgroups were recorded).
    pub fn is_empty(&self) -> bool {
        self.v1.is_empty() && self.unified.is_none()
    }

    /// Every cgroup directory, each once (v1 controllers may share one).
    pub fn dirs(&self) -> Vec<&std::path::Path> {
        let mut d: Vec<&std::path::Path> = self
            .v1
            .values()
            .chain(&self.unified)
            .map(PathBuf::as_path)
            .collect();
        d.sort();
        d.dedup();
        d
    }
}

/// The drivers.
#[derive(Debug)]
pub(crate) enum Driver {
    /// cgroupfs v1: a directory per controller.
    V1(V1),
    /// cgroupfs v2: one directory.
    V2(V2),
    /// v1 controllers, plus the unified tree for what v1 lacks (hugetlb).
    Hybrid(V1, V2),
}

impl Driver {
    /// The driver for recorded paths.
    pub(crate) fn from_paths(p: &CgroupPaths) -> Self {
        let mut driver = match (&p.unified, p.v1.is_empty()) {
            (Some(u), true) => Driver::V2(V2::new(u.clone(), None)),
            (Some(u), false) => Driver::Hybrid(V1::new(p.v1.clone()), V2::new(u.clone(), None)),
            (None, _) => Driver::V1(V1::new(p.v1.clone())),
        };
        match &mut driver {
            Driver::V1(v1) => v1.created = p.created.clone(),
            Driver::V2(v2) => v2.created = p.created.clone(),
            Driver::Hybrid(v1, v2) => {
                // The unified tree's dirs are the ancestors of its cgroup.
                let (ours, theirs) = p
                    .created
                    .iter()
                    .cloned()
                    .partition(|d| v2.dir.starts_with(d));
                v2.created = ours;
                v1.created = theirs;
            }
        }
        driver
    }

    /// The paths to record, with what `create` made.
    pub(crate) fn paths(&self) -> CgroupPaths {
        match self {
            Driver::V1(v1) => CgroupPaths {
                v1: v1.dirs.clone(),
                unified: None,
                created: v1.created.clone(),
            },
            Driver::V2(v2) => CgroupPaths {
                v1: BTreeMap::new(),
                unified: Some(v2.dir.clone()),
                created: v2.created.clone(),
            },
            Driver::Hybrid(v1, v2) => CgroupPaths {
                v1: v1.dirs.clone(),
                unified: Some(v2.dir.clone()),
                created: v1.created.iter().chain(&v2.created).cloned().collect(),
            },
        }
    }
}

impl CgroupManager for Driver {
    fn create(&mut self) -> Result<(), CgroupError> {
        match self {
            Driver::V1(v1) => v1.create(),
            Driver::V2(v2) => v2.create(),
            Driver::Hybrid(v1, v2) => {
                v1.create()?;
                v2.create().inspect_err(|_| {
                    let _ = v1.destroy();
                })
            }
        }
    }

    fn apply(
        &self,
        resources: &LinuxResources,
        rules: Option<&[DeviceRule]>,
    ) -> Result<(), CgroupError> {
        match self {
            Driver::V1(v1) => v1.apply(resources, rules, false),
            Driver::V2(v2) => v2.apply(resources, rules),
            Driver::Hybrid(v1, v2) => {
                let unified_hugetlb = !v1.has("hugetlb");
                v1.apply(resources, rules, unified_hugetlb)?;
                if unified_hugetlb {
                    v2.apply_hugetlb(resources)?;
                }
                Ok(())
            }
        }
    }

    fn add(&self, pid: Pid) -> Result<(), CgroupError> {
        match self {
            Driver::V1(v1) => v1.add(pid),
            Driver::V2(v2) => v2.add(pid),
            Driver::Hybrid(v1, v2) => v1.add(pid).and_then(|()| v2.add(pid)),
        }
    }

    fn set_frozen(&self, frozen: bool) -> Result<(), CgroupError> {
        match self {
            Driver::V1(v1) | Driver::Hybrid(v1, _) => v1.set_frozen(frozen),
            Driver::V2(v2) => v2.set_frozen(frozen),
        }
    }

    fn is_frozen(&self) -> Result<bool, CgroupError> {
        match self {
            Driver::V1(v1) | Driver::Hybrid(v1, _) => v1.is_frozen(),
            Driver::V2(v2) => v2.is_frozen(),
        }
    }

    fn stats(&self) -> Result<Stats, CgroupError> {
        match self {
            Driver::V1(v1) => v1.stats(),
            Driver::V2(v2) => v2.stats(),
            Driver::Hybrid(v1, v2) => {
                let mut s = v1.stats()?;
                if s.hugetlb.is_empty() {
                    s.hugetlb = v2.stats()?.hugetlb;
                }
                Ok(s)
            }
        }
    }

    fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        match self {
            Driver::V1(v1) | Driver::Hybrid(v1, _) => v1.pids(),
            Driver::V2(v2) => v2.pids(),
        }
    }

    fn kill_all(&self, signal: Signal) -> Result<(), CgroupError> {
        match self {
            Driver::V1(v1) | Driver::Hybrid(v1, _) => v1.kill_all(signal),
            Driver::V2(v2) => v2.kill_all(signal),
        }
    }

    fn destroy(&self) -> Result<(), CgroupError> {
        match self {
            Driver::V1(v1) => v1.destroy(),
            Driver::V2(v2) => v2.destroy(),
            Driver::Hybrid(v1, v2) => {
                let a = v1.destroy();
                let b = v2.destroy();
                a.and(b)
            }
        }
    }
}
