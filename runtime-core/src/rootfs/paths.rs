//! One mount of `mounts`, and the masked and readonly paths.

use std::path::{Path, PathBuf};

use nix::mount::{mount, MsFlags};
use oci_spec::runtime::Mount;

use super::options;
use super::resolve::{proc_fd_path, Kind, Root};
use super::{sys, RootfsError};

/// Mount `m` at its destination resolved inside `root`.
pub(crate) fn mount_one(root: &Root, m: &Mount) -> Result<(), RootfsError> {
    let opts = options::parse(m.options().as_deref().unwrap_or_default());
    let typ = m.typ().as_deref().unwrap_or("");
    let is_bind = opts.flags.contains(MsFlags::MS_BIND) || typ == "bind";
    let source: Option<PathBuf> = m.source().clone();
    let kind = match (&source, is_bind) {
        (Some(src), true) => {
            let meta = std::fs::metadata(src).map_err(|e| RootfsError::Sys {
                what: "bind source",
                path: src.clone(),
                source: nix::Error::from_raw(e.raw_os_error().unwrap_or(libc::EINVAL)),
            })?;
            if meta.is_dir() {
                Kind::Dir
            } else {
                Kind::File
            }
        }
        _ => Kind::Dir,
    };
    let dest = root.open_or_create(m.destination(), kind)?;
    let target = proc_fd_path(&dest);
    let fstype = if is_bind { None } else { Some(typ) };
    let data = (!opts.data.is_empty()).then_some(opts.data.as_str());
    let mut flags = opts.flags;
    if is_bind {
        flags.insert(MsFlags::MS_BIND);
        // The read-only and similar flags of a bind take a remount.
        mount(source.as_deref(), &target, None::<&str>, flags & (MsFlags::MS_BIND | MsFlags::MS_REC), data)
            .map_err(sys("mount", m.destination()))?;
        let per_mount = flags & !(MsFlags::MS_BIND | MsFlags::MS_REC);
        if !per_mount.is_empty() {
            // Reopen: the fd still names the covered directory, not the mount.
            let dest = root.open_or_create(m.destination(), kind)?;
            mount(None::<&str>, &proc_fd_path(&dest), None::<&str>, per_mount | MsFlags::MS_BIND | MsFlags::MS_REMOUNT, None::<&str>)
                .map_err(sys("remount", m.destination()))?;
        }
    } else {
        mount(source.as_deref().or(Some(Path::new(typ))), &target, fstype, flags, data)
            .map_err(sys("mount", m.destination()))?;
    }
    if !opts.propagation.is_empty() {
        let dest = root.open_or_create(m.destination(), kind)?;
        for p in &opts.propagation {
            mount(None::<&str>, &proc_fd_path(&dest), None::<&str>, *p, None::<&str>)
                .map_err(sys("set propagation of", m.destination()))?;
        }
    }
    Ok(())
}

/// Hide `path`: an empty read-only tmpfs over a directory, /dev/null over a
/// file. A path that does not exist is fine.
pub(crate) fn mask(path: &str) -> Result<(), RootfsError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(_) => return Ok(()),
    };
    if meta.is_dir() {
        mount(Some("tmpfs"), path, Some("tmpfs"), MsFlags::MS_RDONLY, Some("size=0k"))
            .map_err(sys("mask", path))
    } else {
        match mount(Some("/dev/null"), path, None::<&str>, MsFlags::MS_BIND, None::<&str>) {
            Ok(()) | Err(nix::Error::ENOENT) => Ok(()),
            Err(e) => Err(sys("mask", path)(e)),
        }
    }
}

/// Make `path` read-only with a bind of itself. A path that does not exist is fine.
pub(crate) fn make_readonly(path: &str) -> Result<(), RootfsError> {
    match mount(Some(path), path, None::<&str>, MsFlags::MS_BIND | MsFlags::MS_REC, None::<&str>) {
        Ok(()) => {}
        Err(nix::Error::ENOENT) => return Ok(()),
        Err(e) => return Err(sys("bind", path)(e)),
    }
    let flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    mount(None::<&str>, path, None::<&str>, flags, None::<&str>).map_err(sys("remount read-only", path))
}
