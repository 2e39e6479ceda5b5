//! Mount options: the strings of `mounts[].options` to flags, recursive
//! attributes (mount_setattr) and filesystem data.

use nix::mount::MsFlags;

/// `MS_NOSYMFOLLOW` (Linux 5.10), missing from nix.
pub(crate) const MS_NOSYMFOLLOW: MsFlags = MsFlags::from_bits_retain(256);

/// `MOUNT_ATTR_*` of mount_setattr(2) (linux/mount.h).
pub(crate) mod attr {
    pub(crate) const RDONLY: u64 = 0x1;
    pub(crate) const NOSUID: u64 = 0x2;
    pub(crate) const NODEV: u64 = 0x4;
    pub(crate) const NOEXEC: u64 = 0x8;
    /// The atime values are an enum in these bits, not flags.
    pub(crate) const ATIME_MASK: u64 = 0x70;
    pub(crate) const RELATIME: u64 = 0x0;
    pub(crate) const NOATIME: u64 = 0x10;
    pub(crate) const STRICTATIME: u64 = 0x20;
    pub(crate) const NODIRATIME: u64 = 0x80;
    pub(crate) const NOSYMFOLLOW: u64 = 0x20_0000;
}

/// Attributes to set and clear on a mount and every mount below it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RecursiveAttr {
    pub(crate) set: u64,
    pub(crate) clear: u64,
}

impl RecursiveAttr {
    pub(crate) fn is_empty(&self) -> bool {
        self.set == 0 && self.clear == 0
    }
}

/// What a mount's options ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Options {
    /// Flags for mount(2); on a bind, all but MS_BIND|MS_REC take a remount.
    pub(crate) flags: MsFlags,
    /// Propagation changes, in order, after the mount.
    pub(crate) propagation: Vec<MsFlags>,
    /// `r*` options: mount_setattr(AT_RECURSIVE) after the mount.
    pub(crate) recursive: RecursiveAttr,
    /// Filesystem data, comma-joined.
    pub(crate) data: String,
}

/// The option names skiff understands (features.json `mountOptions`). Any
/// other option goes to the filesystem as data.
pub(crate) const MOUNT_OPTIONS: &[&str] = &[
    "acl",
    "async",
    "atime",
    "bind",
    "defaults",
    "dev",
    "diratime",
    "dirsync",
    "exec",
    "iversion",
    "lazytime",
    "loud",
    "mand",
    "noacl",
    "noatime",
    "nodev",
    "nodiratime",
    "noexec",
    "noiversion",
    "nolazytime",
    "nomand",
    "norelatime",
    "nostrictatime",
    "nosuid",
    "nosymfollow",
    "private",
    "ratime",
    "rbind",
    "rdev",
    "rdiratime",
    "relatime",
    "remount",
    "rexec",
    "rnoatime",
    "rnodev",
    "rnodiratime",
    "rnoexec",
    "rnorelatime",
    "rnostrictatime",
    "rnosuid",
    "rnosymfollow",
    "ro",
    "rprivate",
    "rrelatime",
    "rro",
    "rrw",
    "rshared",
    "rslave",
    "rstrictatime",
    "rsuid",
    "rsymfollow",
    "runbindable",
    "rw",
    "shared",
    "silent",
    "slave",
    "strictatime",
    "suid",
    "symfollow",
    "sync",
    "unbindable",
];

/// A propagation option's flags.
pub(crate) fn propagation(name: &str) -> Option<MsFlags> {
    Some(match name {
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

/// A mount(2) flag option: (flags set, flags cleared).
fn flag(name: &str) -> Option<(MsFlags, MsFlags)> {
    let none = MsFlags::empty();
    Some(match name {
        "defaults" => (none, none),
        "ro" => (MsFlags::MS_RDONLY, none),
        "rw" => (none, MsFlags::MS_RDONLY),
        "nosuid" => (MsFlags::MS_NOSUID, none),
        "suid" => (none, MsFlags::MS_NOSUID),
        "nodev" => (MsFlags::MS_NODEV, none),
        "dev" => (none, MsFlags::MS_NODEV),
        "noexec" => (MsFlags::MS_NOEXEC, none),
        "exec" => (none, MsFlags::MS_NOEXEC),
        "sync" => (MsFlags::MS_SYNCHRONOUS, none),
        "async" => (none, MsFlags::MS_SYNCHRONOUS),
        "dirsync" => (MsFlags::MS_DIRSYNC, none),
        "remount" => (MsFlags::MS_REMOUNT, none),
        "mand" => (MsFlags::MS_MANDLOCK, none),
        "nomand" => (none, MsFlags::MS_MANDLOCK),
        "noatime" => (MsFlags::MS_NOATIME, none),
        "atime" => (none, MsFlags::MS_NOATIME),
        "nodiratime" => (MsFlags::MS_NODIRATIME, none),
        "diratime" => (none, MsFlags::MS_NODIRATIME),
        "bind" => (MsFlags::MS_BIND, none),
        "rbind" => (MsFlags::MS_BIND | MsFlags::MS_REC, none),
        "relatime" => (MsFlags::MS_RELATIME, none),
        "norelatime" => (none, MsFlags::MS_RELATIME),
        "strictatime" => (MsFlags::MS_STRICTATIME, none),
        "nostrictatime" => (none, MsFlags::MS_STRICTATIME),
        "acl" => (MsFlags::MS_POSIXACL, none),
        "noacl" => (none, MsFlags::MS_POSIXACL),
        "iversion" => (MsFlags::MS_I_VERSION, none),
        "noiversion" => (none, MsFlags::MS_I_VERSION),
        "lazytime" => (MsFlags::MS_LAZYTIME, none),
        "nolazytime" => (none, MsFlags::MS_LAZYTIME),
        "silent" => (MsFlags::MS_SILENT, none),
        "loud" => (none, MsFlags::MS_SILENT),
        "nosymfollow" => (MS_NOSYMFOLLOW, none),
        "symfollow" => (none, MS_NOSYMFOLLOW),
        _ => return None,
    })
}

/// A recursive option: (attributes set, attributes cleared). An atime value
/// replaces the whole atime field, so it clears ATIME_MASK; `ratime` and
/// `rnostrictatime` return to the kernel default (relatime), `rnorelatime`
/// to strictatime.
fn recursive(name: &str) -> Option<(u64, u64)> {
    use attr::*;
    Some(match name {
        "rro" => (RDONLY, 0),
        "rrw" => (0, RDONLY),
        "rnosuid" => (NOSUID, 0),
        "rsuid" => (0, NOSUID),
        "rnodev" => (NODEV, 0),
        "rdev" => (0, NODEV),
        "rnoexec" => (NOEXEC, 0),
        "rexec" => (0, NOEXEC),
        "rnodiratime" => (NODIRATIME, 0),
        "rdiratime" => (0, NODIRATIME),
        "rnosymfollow" => (NOSYMFOLLOW, 0),
        "rsymfollow" => (0, NOSYMFOLLOW),
        "rrelatime" | "ratime" | "rnostrictatime" => (RELATIME, ATIME_MASK),
        "rnoatime" => (NOATIME, ATIME_MASK),
        "rstrictatime" | "rnorelatime" => (STRICTATIME, ATIME_MASK),
        _ => return None,
    })
}

/// A mount option skiff cannot apply.
#[derive(Debug, thiserror::Error)]
#[error("option {option:?}: {why}")]
pub struct MountOptionError {
    /// The option as written.
    pub option: String,
    /// Why it cannot be applied.
    pub why: &'static str,
}

/// A mount's options as mount(2) takes them: see [`mount_options`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOptions {
    /// The flags for the mount call (a read-only bind needs a remount too).
    pub flags: MsFlags,
    /// Propagation changes, in order, each a mount call after the mount.
    pub propagation: Vec<MsFlags>,
    /// The filesystem's data, comma-joined (every option that is no flag).
    pub data: String,
}

/// Split the `options` of a mount (OCI `mounts[].options`, or the mounts a
/// containerd snapshotter hands a shim) as mount(2) takes them, with skiff's
/// own reading of every flag name. Recursive attributes (`rro`, ...) need
/// mount_setattr after the mount and idmapped mounts are not supported:
/// both are refused.
pub fn mount_options(options: &[String]) -> Result<MountOptions, MountOptionError> {
    if let Some(r) = options.iter().find(|o| recursive(o).is_some()) {
        return Err(MountOptionError {
            option: r.clone(),
            why: "a recursive attribute needs mount_setattr after the mount",
        });
    }
    let o = parse(options)?;
    Ok(MountOptions {
        flags: o.flags,
        propagation: o.propagation,
        data: o.data,
    })
}

/// Parse `options`; an unknown name goes to the filesystem as data.
/// Idmapped mounts are refused.
pub(crate) fn parse(options: &[String]) -> Result<Options, MountOptionError> {
    let mut o = Options {
        flags: MsFlags::empty(),
        propagation: Vec::new(),
        recursive: RecursiveAttr::default(),
        data: String::new(),
    };
    let mut data = Vec::new();
    for opt in options {
        let opt = opt.as_str();
        if let Some((set, clear)) = flag(opt) {
            o.flags.insert(set);
            o.flags.remove(clear);
        } else if let Some((set, clear)) = recursive(opt) {
            // The last option for an attribute wins.
            let touched = set | clear;
            o.recursive.set = (o.recursive.set & !touched) | set;
            o.recursive.clear = (o.recursive.clear & !touched) | clear;
        } else if let Some(p) = propagation(opt) {
            o.propagation.push(p);
        } else if opt == "idmap" || opt == "ridmap" || opt.starts_with("idmap=") {
            return Err(MountOptionError {
                option: opt.to_owned(),
                why: "idmapped mounts are not supported",
            });
        } else {
            data.push(opt);
        }
    }
    o.data = data.join(",");
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(list: &[&str]) -> Options {
        parse(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>()).expect("parse")
    }

    #[test]
    fn flags_data_and_propagation() {
        let o = opts(&["nosuid", "strictatime", "mode=755", "size=65536k", "rslave"]);
        assert_eq!(o.flags, MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME);
        assert_eq!(o.data, "mode=755,size=65536k");
        assert_eq!(o.propagation, vec![MsFlags::MS_SLAVE | MsFlags::MS_REC]);
        assert!(o.recursive.is_empty());
        assert_eq!(opts(&["ro", "rw"]).flags, MsFlags::empty());
        assert_eq!(
            opts(&["rbind", "ro"]).flags,
            MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_RDONLY
        );
        assert_eq!(opts(&["nosymfollow"]).flags, MS_NOSYMFOLLOW);
    }

    #[test]
    fn recursive_attributes() {
        let o = opts(&["rbind", "rro", "rnosuid", "rnoatime", "rexec"]);
        assert_eq!(o.recursive.set, attr::RDONLY | attr::NOSUID | attr::NOATIME);
        assert_eq!(o.recursive.clear, attr::ATIME_MASK | attr::NOEXEC);
        // The last word wins, for flags and for the atime field.
        let o = opts(&["rro", "rrw", "rnoatime", "rstrictatime"]);
        assert_eq!(o.recursive.set, attr::STRICTATIME);
        assert_eq!(o.recursive.clear, attr::RDONLY | attr::ATIME_MASK);
        let o = opts(&["rnoatime", "ratime"]);
        assert_eq!(
            (o.recursive.set, o.recursive.clear),
            (attr::RELATIME, attr::ATIME_MASK)
        );
    }

    #[test]
    fn mount_options_for_a_snapshotters_mounts() {
        let list = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let o = mount_options(&list(&[
            "ro",
            "nosuid",
            "rprivate",
            "lowerdir=/a:/b",
            "upperdir=/u",
            "rw",
        ]))
        .expect("overlay options");
        assert_eq!(o.flags, MsFlags::MS_NOSUID, "rw after ro clears it");
        assert_eq!(o.propagation, vec![MsFlags::MS_PRIVATE | MsFlags::MS_REC]);
        assert_eq!(o.data, "lowerdir=/a:/b,upperdir=/u");
        let e = mount_options(&list(&["rbind", "rro"])).expect_err("rro");
        assert!(e.to_string().contains("\"rro\""), "{e}");
        let e = mount_options(&list(&["idmap"])).expect_err("idmap");
        assert!(e.to_string().contains("idmap"), "{e}");
    }

    #[test]
    fn idmap_refused_and_options_listed() {
        for bad in ["idmap", "ridmap"] {
            let e = parse(&[bad.to_string()]).expect_err("idmap must be refused");
            assert!(e.to_string().contains(bad), "{e}");
        }
        for name in MOUNT_OPTIONS {
            let known =
                flag(name).is_some() || recursive(name).is_some() || propagation(name).is_some();
            assert!(known, "{name} listed but not understood");
        }
    }
}
