//! /dev: the default devices and links when /dev is the container's own.

use std::path::Path;

use nix::mount::{mount, MsFlags};
use nix::sys::stat::{makedev, mknodat, Mode, SFlag};
use oci_spec::runtime::Spec;

use super::resolve::{proc_fd_path, Kind, Root};
use super::{sys, RootfsError};

/// The devices every container gets: (name, major, minor).
const DEFAULT_DEVICES: &[(&str, u64, u64)] =
    &[("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0)];

const LINKS: &[(&str, &str)] = &[
    ("/proc/self/fd", "fd"),
    ("/proc/self/fd/0", "stdin"),
    ("/proc/self/fd/1", "stdout"),
    ("/proc/self/fd/2", "stderr"),
    ("pts/ptmx", "ptmx"),
];

/// Whether the spec mounts something of its own at /dev.
fn owns_dev(spec: &Spec) -> bool {
    spec.mounts().iter().flatten().any(|m| m.destination() == Path::new("/dev"))
}

/// Create the default devices (mknod, or a bind of the host's where mknod is
/// not allowed) and the /dev links, inside the rootfs.
pub(crate) fn create(root: &Root, spec: &Spec) -> Result<(), RootfsError> {
    if !owns_dev(spec) {
        return Ok(());
    }
    let dev = root.open_or_create(Path::new("/dev"), Kind::Dir)?;
    // Reopen /dev as a real directory fd for mknodat/symlinkat.
    let dir = nix::fcntl::open(
        &proc_fd_path(&dev),
        nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(sys("open", root.path().join("dev")))?;
    for (name, major, minor) in DEFAULT_DEVICES {
        let made = mknodat(&dir, *name, SFlag::S_IFCHR, Mode::from_bits_truncate(0o666), makedev(*major, *minor));
        match made {
            Ok(()) | Err(nix::Error::EEXIST) => {}
            Err(nix::Error::EPERM) => {
                let target = root.open_or_create(&Path::new("/dev").join(name), Kind::File)?;
                mount(Some(&Path::new("/dev").join(name)), &proc_fd_path(&target), None::<&str>, MsFlags::MS_BIND, None::<&str>)
                    .map_err(sys("bind device", Path::new("/dev").join(name)))?;
            }
            Err(e) => return Err(sys("mknod", Path::new("/dev").join(name))(e)),
        }
    }
    for (target, name) in LINKS {
        match nix::unistd::symlinkat(*target, &dir, *name) {
            Ok(()) | Err(nix::Error::EEXIST) => {}
            Err(e) => return Err(sys("symlink", Path::new("/dev").join(name))(e)),
        }
    }
    Ok(())
}
