//! Mounting the rootfs containerd hands over (the snapshotter's mounts, an
//! overlay for images) on `bundle/rootfs`, and unmounting it on delete.
//!
//! The mounts are made by the shim itself, with mount(2), in its mount
//! namespace (the host's, as runc's shim does): nothing is forked.

use std::path::Path;

use nix::mount::{mount, umount2, MntFlags, MsFlags};

use containerd_shim::protos::api::Mount;

use crate::error::ShimError;

/// Mount options that are flags (`true`: set, `false`: clear); the others
/// are passed to the filesystem as data.
fn flag(option: &str) -> Option<(bool, MsFlags)> {
    Some(match option {
        "ro" => (true, MsFlags::MS_RDONLY),
        "rw" => (false, MsFlags::MS_RDONLY),
        "bind" => (true, MsFlags::MS_BIND),
        "rbind" => (true, MsFlags::MS_BIND | MsFlags::MS_REC),
        "nosuid" => (true, MsFlags::MS_NOSUID),
        "suid" => (false, MsFlags::MS_NOSUID),
        "nodev" => (true, MsFlags::MS_NODEV),
        "dev" => (false, MsFlags::MS_NODEV),
        "noexec" => (true, MsFlags::MS_NOEXEC),
        "exec" => (false, MsFlags::MS_NOEXEC),
        "sync" => (true, MsFlags::MS_SYNCHRONOUS),
        "async" => (false, MsFlags::MS_SYNCHRONOUS),
        "dirsync" => (true, MsFlags::MS_DIRSYNC),
        "remount" => (true, MsFlags::MS_REMOUNT),
        "mand" => (true, MsFlags::MS_MANDLOCK),
        "nomand" => (false, MsFlags::MS_MANDLOCK),
        "noatime" => (true, MsFlags::MS_NOATIME),
        "atime" => (false, MsFlags::MS_NOATIME),
        "nodiratime" => (true, MsFlags::MS_NODIRATIME),
        "diratime" => (false, MsFlags::MS_NODIRATIME),
        "relatime" => (true, MsFlags::MS_RELATIME),
        "norelatime" => (false, MsFlags::MS_RELATIME),
        "strictatime" => (true, MsFlags::MS_STRICTATIME),
        "nostrictatime" => (false, MsFlags::MS_STRICTATIME),
        _ => return None,
    })
}

fn propagation(option: &str) -> Option<MsFlags> {
    Some(match option {
        "private" => MsFlags::MS_PRIVATE,
        "rprivate" => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        "shared" => MsFlags::MS_SHARED,
        "rshared" => MsFlags::MS_SHARED | MsFlags::MS_REC,
        "slave" => MsFlags::MS_SLAVE,
        "rslave" => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        "runbindable" => MsFlags::MS_UNBINDABLE | MsFlags::MS_REC,
        _ => return None,
    })
}

/// Split `options` into mount flags, propagation flags and data.
pub fn parse_options(options: &[String]) -> (MsFlags, MsFlags, String) {
    let mut flags = MsFlags::empty();
    let mut prop = MsFlags::empty();
    let mut data: Vec<&str> = Vec::new();
    for o in options {
        if let Some((set, f)) = flag(o) {
            if set {
                flags |= f;
            } else {
                flags &= !f;
            }
        } else if let Some(p) = propagation(o) {
            prop |= p;
        } else {
            data.push(o);
        }
    }
    (flags, prop, data.join(","))
}

fn mount_one(m: &Mount, target: &Path) -> nix::Result<()> {
    let (flags, prop, data) = parse_options(&m.options);
    let source = (!m.source.is_empty()).then_some(m.source.as_str());
    let fstype = (!m.type_.is_empty() && m.type_ != "bind").then_some(m.type_.as_str());
    let data = (!data.is_empty()).then_some(data.as_str());
    mount(source, target, fstype, flags, data)?;
    if !prop.is_empty() {
        mount(None::<&str>, target, None::<&str>, prop, None::<&str>)?;
    }
    // A read-only bind mount needs a remount to become read-only.
    if flags.contains(MsFlags::MS_BIND | MsFlags::MS_RDONLY) {
        mount(
            None::<&str>,
            target,
            None::<&str>,
            flags | MsFlags::MS_REMOUNT,
            None::<&str>,
        )?;
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
        if let Err(e) = mount_one(m, &target) {
            unmount_all(bundle);
            return Err(ShimError::Mount {
                target: format!(
                    "{} (rootfs[{i}] {} {})",
                    target.display(),
                    m.type_,
                    m.source
                ),
                source: e,
            });
        }
    }
    Ok(true)
}

/// Unmount everything on `bundle/rootfs` (each layer, top first).
pub fn unmount_all(bundle: &Path) {
    let target = bundle.join("rootfs");
    while umount2(&target, MntFlags::MNT_DETACH).is_ok() {}
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn options_split_into_flags_propagation_and_data() {
        let opts: Vec<String> = [
            "ro",
            "nosuid",
            "rprivate",
            "lowerdir=/a:/b",
            "upperdir=/u",
            "rw",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (flags, prop, data) = parse_options(&opts);
        assert_eq!(flags, MsFlags::MS_NOSUID, "rw after ro clears it");
        assert_eq!(prop, MsFlags::MS_PRIVATE | MsFlags::MS_REC);
        assert_eq!(data, "lowerdir=/a:/b,upperdir=/u");
    }
}
