//! The container's root filesystem: mounts resolved inside the rootfs,
//! devices, pivot_root, masked and readonly paths.
//!
//! All of it runs in C, in its own mount namespace: a failed step leaves
//! nothing on the host, since the namespace dies with C. Each change is an
//! [`kernel::Op`] planned here and carried out by a [`kernel::Kernel`]
//! ([`live::Live`] for real), so the planning is tested without root.

mod cgroup;
mod devices;
mod kernel;
mod live;
mod mountinfo;
mod options;
mod paths;
mod pivot;
mod resolve;

use std::path::{Path, PathBuf};

use nix::mount::{mount, MsFlags};
use oci_spec::runtime::{LinuxNamespaceType, Spec};

pub(crate) use devices::mount_console;
pub(crate) use live::make_read_only;
pub(crate) use options::MOUNT_OPTIONS;
pub use options::{mount_options, MountOptionError, MountOptions};

use crate::launch::LaunchPlan;

/// Why the rootfs could not be set up.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RootfsError {
    #[error("{what} {}: {}", path.display(), source.desc())]
    Sys {
        what: &'static str,
        path: PathBuf,
        source: nix::Error,
    },
    /// A failure while setting up one entry of a list of the spec.
    #[error("{field}[{index}] {}: {source}", path.display())]
    Entry {
        field: &'static str,
        index: usize,
        path: PathBuf,
        source: Box<RootfsError>,
    },
    #[error(transparent)]
    Resolve(#[from] resolve::ResolveError),
    #[error("linux.rootfsPropagation: unknown value {0:?}")]
    Propagation(String),
    #[error(transparent)]
    Option(#[from] options::MountOptionError),
    #[error("a bind mount needs a source")]
    NoSource,
    #[error("{why}")]
    Device { why: &'static str },
    #[error("/dev/null is not the null device (char 1:3); refusing to mask with it")]
    NotDevNull,
    #[error("{} resolves to a file of /proc: only a proc mount may cover procfs", .0.display())]
    OverProc(PathBuf),
    #[error("{} is not on procfs: refusing to mask or make read-only something else", .0.display())]
    NotOnProc(PathBuf),
    #[error("{}: a proc or sysfs destination may not be or pass through a symlink", .0.display())]
    SymlinkedDest(PathBuf),
    #[error(transparent)]
    Procfs(Box<crate::procfs::ProcfsError>),
}

impl RootfsError {
    /// The errno at the bottom of the error, if any.
    pub(crate) fn errno(&self) -> Option<nix::Error> {
        match self {
            Self::Sys { source, .. } => Some(*source),
            Self::Entry { source, .. } => source.errno(),
            Self::Resolve(r) => r.errno(),
            _ => None,
        }
    }
}

pub(crate) fn sys(
    what: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(nix::Error) -> RootfsError {
    let path = path.into();
    move |source| RootfsError::Sys { what, path, source }
}

fn entry<'a>(
    field: &'static str,
    index: usize,
    path: &'a Path,
) -> impl FnOnce(RootfsError) -> RootfsError + 'a {
    move |e| RootfsError::Entry {
        field,
        index,
        path: path.to_owned(),
        source: Box::new(e),
    }
}

/// `linux.rootfsPropagation` as flags; `None` when unset.
fn propagation(spec: &Spec) -> Result<Option<MsFlags>, RootfsError> {
    match spec
        .linux()
        .as_ref()
        .and_then(|l| l.rootfs_propagation().as_deref())
    {
        None | Some("") => Ok(None),
        Some(p) => options::propagation(p)
            .map(Some)
            .ok_or_else(|| RootfsError::Propagation(p.to_owned())),
    }
}

/// Before pivot_root, in the container's new mount namespace: stop mount
/// events reaching the host, make the rootfs a mount point, and mount
/// everything in `mounts` plus the devices.
pub(crate) fn prepare(plan: &LaunchPlan) -> Result<(), RootfsError> {
    let spec = &plan.spec;
    let flag = propagation(spec)?.unwrap_or(MsFlags::MS_SLAVE | MsFlags::MS_REC);
    mount(None::<&str>, "/", None::<&str>, flag, None::<&str>)
        .map_err(sys("set propagation of", "/"))?;
    let rootfs = &plan.rootfs;
    let mut host = paths::HostView::default();
    // A shared (or unbindable) parent would make the bind below propagate
    // (or fail) and pivot_root refuse; only a recursive slave/private
    // change rules that out without reading mountinfo.
    let settled =
        flag.contains(MsFlags::MS_REC) && flag.intersects(MsFlags::MS_SLAVE | MsFlags::MS_PRIVATE);
    if !settled {
        if let Some(parent) =
            mountinfo::containing(host.mountinfo()?, rootfs).filter(|m| m.needs_private())
        {
            mount(
                None::<&str>,
                &parent.mount_point,
                None::<&str>,
                MsFlags::MS_PRIVATE,
                None::<&str>,
            )
            .map_err(sys("make private", &parent.mount_point))?;
        }
    }
    mount(
        Some(rootfs),
        rootfs,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(sys("bind rootfs onto itself", rootfs))?;
    let mut k = live::Live::for_spec_mounts(resolve::Root::open(rootfs)?);
    let cgroupns = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|ns| ns.iter().any(|n| n.typ() == LinuxNamespaceType::Cgroup));
    let mount_label = spec
        .linux()
        .as_ref()
        .and_then(|l| l.mount_label().as_deref());
    let mut cx = paths::Context {
        bundle: &plan.bundle,
        cgroupns,
        host: &mut host,
        mount_label,
    };
    for (index, m) in spec.mounts().iter().flatten().enumerate() {
        paths::mount_one(&mut k, m, &mut cx).map_err(entry("mounts", index, m.destination()))?;
    }
    if devices::needed(spec) {
        // The host's /proc is still the one mounted here.
        devices::create(&mut k, spec, Path::new("/proc/kcore").exists())?;
    }
    Ok(())
}

/// Open the directory `path` of the current root (`/` is the container's
/// after pivot_root; for exec, after joining its mount namespace), with no
/// symlink leading out of it and no magic link followed.
pub(crate) fn open_dir_in_root(path: &Path) -> Result<std::os::fd::OwnedFd, RootfsError> {
    let fd = resolve::Root::open(Path::new("/"))?.lookup_dir(path)?;
    Ok(fd)
}

/// Create the directory `path` (and its parents) in the current root, as
/// [`open_dir_in_root`] resolves it.
pub(crate) fn create_dir_in_root(path: &Path) -> Result<std::os::fd::OwnedFd, RootfsError> {
    Ok(resolve::Root::open(Path::new("/"))?.open_or_create(path, resolve::Kind::Dir)?)
}

/// Make the rootfs the process's `/` (pivot_root, or chroot with --no-pivot),
/// then give `/` the rootfsPropagation asked for: the bind made in prepare
/// is private, so shared, slave and unbindable are set again here.
pub(crate) fn enter(plan: &LaunchPlan) -> Result<(), RootfsError> {
    if plan.no_pivot {
        pivot::move_root(&plan.rootfs)?;
    } else {
        pivot::pivot(&plan.rootfs)?;
    }
    match propagation(&plan.spec)? {
        Some(flag) if !flag.contains(MsFlags::MS_PRIVATE) => {
            mount(None::<&str>, "/", None::<&str>, flag, None::<&str>)
                .map_err(sys("set propagation of", "/"))
        }
        _ => Ok(()),
    }
}

/// After pivot_root: masked and readonly paths, a read-only /dev if asked,
/// and a read-only root, each remount keeping the mount's other flags.
pub(crate) fn finish(plan: &LaunchPlan) -> Result<(), RootfsError> {
    let spec = &plan.spec;
    let mut k = live::Live::for_masks(resolve::Root::open(Path::new("/"))?);
    let linux = spec.linux().as_ref();
    let mount_label = linux.and_then(|l| l.mount_label().as_deref());
    for (i, p) in linux
        .and_then(|l| l.masked_paths().as_ref())
        .into_iter()
        .flatten()
        .enumerate()
    {
        paths::mask(&mut k, Path::new(p), mount_label).map_err(entry(
            "linux.maskedPaths",
            i,
            Path::new(p),
        ))?;
    }
    for (i, p) in linux
        .and_then(|l| l.readonly_paths().as_ref())
        .into_iter()
        .flatten()
        .enumerate()
    {
        paths::make_readonly(&mut k, Path::new(p)).map_err(entry(
            "linux.readonlyPaths",
            i,
            Path::new(p),
        ))?;
    }
    let dev_ro = spec
        .mounts()
        .iter()
        .flatten()
        .enumerate()
        .find(|(_, m)| paths::is_dev(m) && !paths::is_bind_mount(m));
    let ro = |m: &oci_spec::runtime::Mount| {
        options::parse(m.options().as_deref().unwrap_or_default())
            .is_ok_and(|o| o.flags.contains(MsFlags::MS_RDONLY))
    };
    if let Some((i, m)) = dev_ro.filter(|(_, m)| ro(m)) {
        paths::remount_readonly(&mut k, Path::new("/dev")).map_err(entry(
            "mounts",
            i,
            m.destination(),
        ))?;
    }
    if spec
        .root()
        .as_ref()
        .and_then(|r| r.readonly())
        .unwrap_or(false)
    {
        paths::remount_readonly(&mut k, Path::new("/"))?;
    }
    Ok(())
}
