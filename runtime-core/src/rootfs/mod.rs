//! The container's root filesystem: mounts resolved inside the rootfs,
//! devices, pivot_root, masked and readonly paths.

mod devices;
mod options;
mod paths;
mod pivot;
mod resolve;

use std::path::PathBuf;

use nix::mount::{mount, MsFlags};

pub(crate) use options::MOUNT_OPTIONS;

use crate::launch::LaunchPlan;

/// Why the rootfs could not be set up.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RootfsError {
    #[error("{what} {path}: {source}")]
    Sys { what: &'static str, path: PathBuf, source: nix::Error },
    #[error("mounts[{index}] {destination}: {source}")]
    Mount { index: usize, destination: PathBuf, source: Box<RootfsError> },
    #[error(transparent)]
    Resolve(#[from] resolve::ResolveError),
    #[error("linux.rootfsPropagation: unknown value {0:?}")]
    Propagation(String),
}

pub(crate) fn sys(what: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(nix::Error) -> RootfsError {
    let path = path.into();
    move |source| RootfsError::Sys { what, path, source }
}

/// Before pivot_root, in the container's new mount namespace: stop mount
/// events reaching the host, make the rootfs a mount point, and mount
/// everything in `mounts` plus the default devices.
pub(crate) fn prepare(plan: &LaunchPlan) -> Result<(), RootfsError> {
    let propagation = plan.spec.linux().as_ref().and_then(|l| l.rootfs_propagation().clone());
    let flag = match propagation.as_deref() {
        None | Some("") => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        Some(p) => options::propagation(p).ok_or_else(|| RootfsError::Propagation(p.to_owned()))?,
    };
    mount(None::<&str>, "/", None::<&str>, flag, None::<&str>).map_err(sys("set propagation of", "/"))?;
    let rootfs = &plan.rootfs;
    mount(Some(rootfs), rootfs, None::<&str>, MsFlags::MS_BIND | MsFlags::MS_REC, None::<&str>)
        .map_err(sys("bind rootfs onto itself", rootfs))?;
    let root = resolve::Root::open(rootfs)?;
    for (index, m) in plan.spec.mounts().iter().flatten().enumerate() {
        paths::mount_one(&root, m).map_err(|e| RootfsError::Mount {
            index,
            destination: m.destination().clone(),
            source: Box::new(e),
        })?;
    }
    devices::create(&root, &plan.spec)?;
    Ok(())
}

/// Make the rootfs the process's `/` (pivot_root, or chroot with --no-pivot).
pub(crate) fn enter(plan: &LaunchPlan) -> Result<(), RootfsError> {
    if plan.no_pivot {
        pivot::move_root(&plan.rootfs)
    } else {
        pivot::pivot(&plan.rootfs)
    }
}

/// After pivot_root: masked and readonly paths, and a readonly root.
pub(crate) fn finish(plan: &LaunchPlan) -> Result<(), RootfsError> {
    let linux = plan.spec.linux().as_ref();
    for p in linux.and_then(|l| l.masked_paths().as_ref()).into_iter().flatten() {
        paths::mask(p)?;
    }
    for p in linux.and_then(|l| l.readonly_paths().as_ref()).into_iter().flatten() {
        paths::make_readonly(p)?;
    }
    if plan.spec.root().as_ref().and_then(|r| r.readonly()).unwrap_or(false) {
        let flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
        mount(None::<&str>, "/", None::<&str>, flags, None::<&str>).map_err(sys("remount read-only", "/"))?;
    }
    Ok(())
}
