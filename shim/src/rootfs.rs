//! Mounting the rootfs containerd hands over (the snapshotter's mounts, an
//! overlay for images) on `bundle/rootfs`, and unmounting it on delete.
//!
//! The mounts are made by the shim itself, with mount(2), in its mount
//! namespace (the host's, as runc's shim does): nothing is forked.

use std::path::Path;

use nix::mount::{mount, umount2, MntFlags, MsFlags};

use containerd_shim::protos::api::Mount;

use crate::error::ShimError;

/// Mount `m` on `target`; its options are read by skiff-core's
/// [`skiff_core::mount_options`], as a spec's mounts are.
fn mount_one(i: usize, m: &Mount, target: &Path) -> Result<(), ShimError> {
    let options = skiff_core::mount_options(&m.options).map_err(|e| ShimError::Invalid {
        field: "rootfs",
        message: format!("rootfs[{i}] {} {}: {e}", m.type_, m.source),
    })?;
    let sys = |source| ShimError::Mount {
        target: format!(
            "{} (rootfs[{i}] {} {})",
            target.display(),
            m.type_,
            m.source
        ),
        source,
    };
    let flags = options.flags;
    let source = (!m.source.is_empty()).then_some(m.source.as_str());
    let fstype = (!m.type_.is_empty() && m.type_ != "bind").then_some(m.type_.as_str());
    let data = (!options.data.is_empty()).then_some(options.data.as_str());
    mount(source, target, fstype, flags, data).map_err(sys)?;
    for prop in options.propagation {
        mount(None::<&str>, target, None::<&str>, prop, None::<&str>).map_err(sys)?;
    }
    // A read-only bind mount needs a remount to become read-only.
    if flags.contains(MsFlags::MS_BIND | MsFlags::MS_RDONLY) {
        mount(
            None::<&str>,
            target,
            None::<&str>,
            flags | MsFlags::MS_REMOUNT,
            None::<&str>,
        )
        .map_err(sys)?;
    }
    Ok(())
}

/// Mount `mounts` on `bundle/rootfs` in order; false when there are none
/// (the spec then names its own rootfs). On failure nothing stays mounted.
pub fn mount_all(mounts: &[Mount], bundle: &Path) -> Result<bool, ShimError> {
    if mounts.is_empty() {
        return Ok(false);
    }
    let target = bundle.join("rootfs");
    std::fs::create_dir_all(&target).map_err(ShimError::io(target.display()))?;
    for (i, m) in mounts.iter().enumerate() {
        if let Err(e) = mount_one(i, m, &target) {
            unmount_all(bundle);
            return Err(e);
        }
    }
    Ok(true)
}

/// Unmount everything on `bundle/rootfs` (each layer, top first).
pub fn unmount_all(bundle: &Path) {
    let target = bundle.join("rootfs");
    while umount2(&target, MntFlags::MNT_DETACH).is_ok() {}
}
