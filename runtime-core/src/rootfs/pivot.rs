//! Making the rootfs `/`.

use std::path::Path;

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::unistd::{chdir, chroot, pivot_root};

use super::{sys, RootfsError};

/// pivot_root into `rootfs` and detach the old root, stacked on the new one.
pub(crate) fn pivot(rootfs: &Path) -> Result<(), RootfsError> {
    chdir(rootfs).map_err(sys("chdir", rootfs))?;
    pivot_root(".", ".").map_err(sys("pivot_root", rootfs))?;
    // The old root is now mounted on top of ".": keep its unmount from
    // propagating to the host, then detach it.
    mount(
        None::<&str>,
        ".",
        None::<&str>,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(sys("make old root a slave", "/"))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(sys("unmount old root", "/"))?;
    chdir("/").map_err(sys("chdir", "/"))
}

/// --no-pivot: move the rootfs mount onto `/` and chroot into it.
pub(crate) fn move_root(rootfs: &Path) -> Result<(), RootfsError> {
    chdir(rootfs).map_err(sys("chdir", rootfs))?;
    mount(
        Some(rootfs),
        "/",
        None::<&str>,
        MsFlags::MS_MOVE,
        None::<&str>,
    )
    .map_err(sys("move rootfs to", "/"))?;
    chroot(".").map_err(sys("chroot", rootfs))?;
    chdir("/").map_err(sys("chdir", "/"))
}
