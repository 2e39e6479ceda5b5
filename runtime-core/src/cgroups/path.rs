//! `linux.cgroupsPath` → the cgroup directory in each hierarchy, as runc's
//! cgroupfs driver does: an absolute path is taken from the hierarchy root; a
//! relative one from this process's own cgroup (on v2 from its parent, which
//! holds no processes); when absent, the container id, relative. A path that
//! climbs out with `..` is refused rather than silently clamped.

use std::path::{Component, Path, PathBuf};

use super::hierarchy::Hierarchy;
use super::CgroupError;

const FIELD: &str = "linux.cgroupsPath";

/// A cleaned cgroupsPath.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CgroupPath {
    /// From the hierarchy root; holds no leading `/`.
    Absolute(PathBuf),
    /// From the runtime's own cgroup.
    Relative(PathBuf),
}

/// Clean `path` (or default it to `id`) and refuse what would escape.
pub(crate) fn parse(path: Option<&Path>, id: &str) -> Result<CgroupPath, CgroupError> {
    let raw = match path {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => return Ok(CgroupPath::Relative(PathBuf::from(id))),
    };
    let text = raw.to_string_lossy();
    if !raw.is_absolute() && text.split(':').count() == 3 {
        return Err(CgroupError::invalid(
            FIELD,
            format!("{text:?} is the systemd slice:prefix:name form; skiff's cgroupfs driver needs a path"),
        ));
    }
    let mut clean = PathBuf::new();
    for c in raw.components() {
        match c {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(n) => clean.push(n),
            Component::ParentDir => {
                if !clean.pop() {
                    return Err(CgroupError::invalid(
                        FIELD,
                        format!("{text:?} escapes the cgroup hierarchy with .."),
                    ));
                }
            }
            Component::Prefix(_) => {}
        }
    }
    if clean.as_os_str().is_empty() {
        return Err(CgroupError::invalid(
            FIELD,
            format!("{text:?} names the hierarchy root itself"),
        ));
    }
    Ok(if raw.is_absolute() {
        CgroupPath::Absolute(clean)
    } else {
        CgroupPath::Relative(clean)
    })
}

impl CgroupPath {
    /// The directory in the v1 hierarchy of `controller`.
    pub(crate) fn v1_dir(&self, h: &Hierarchy, controller: &str) -> Option<PathBuf> {
        Some(match self {
            CgroupPath::Absolute(p) => h.v1_root.get(controller)?.join(p),
            CgroupPath::Relative(p) => h.v1_own.get(controller)?.join(p),
        })
    }

    /// The directory in the cgroup2 hierarchy.
    pub(crate) fn v2_dir(&self, h: &Hierarchy) -> Option<PathBuf> {
        let root = h.unified.as_ref()?;
        Some(match self {
            CgroupPath::Absolute(p) => root.join(p),
            CgroupPath::Relative(p) => {
                let own = h.unified_own.parent().unwrap_or(Path::new("/"));
                let own = own.strip_prefix("/").unwrap_or(own);
                root.join(own).join(p)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<CgroupPath, CgroupError> {
        parse(Some(Path::new(s)), "ctr")
    }

    #[test]
    fn default_is_the_id_relative() {
        assert_eq!(
            parse(None, "ctr").ok(),
            Some(CgroupPath::Relative("ctr".into()))
        );
        assert_eq!(
            parse(Some(Path::new("")), "c").ok(),
            Some(CgroupPath::Relative("c".into()))
        );
    }

    #[test]
    fn absolute_and_relative_are_cleaned() {
        assert_eq!(
            p("/a//b/./c").ok(),
            Some(CgroupPath::Absolute("a/b/c".into()))
        );
        assert_eq!(
            p("/a/x/../b").ok(),
            Some(CgroupPath::Absolute("a/b".into()))
        );
        assert_eq!(p("a/b").ok(), Some(CgroupPath::Relative("a/b".into())));
    }

    #[test]
    fn escapes_and_root_are_refused() {
        for bad in ["../x", "/a/../../x", "/", "/..", "a/../.."] {
            let e = p(bad).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(e.starts_with("linux.cgroupsPath:"), "{bad}: {e}");
        }
        let e = p("system.slice:skiff:ctr").err().map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("systemd")));
    }

    #[test]
    fn dirs_follow_runc() {
        let mut h = Hierarchy::v1_at(Path::new("/cg"), &["memory"]);
        h.v1_own.insert("memory".into(), "/cg/memory/own".into());
        h.unified = Some("/u".into());
        h.unified_own = "/user.slice/me.scope".into();
        let rel = CgroupPath::Relative("ctr".into());
        let abs = CgroupPath::Absolute("x/ctr".into());
        assert_eq!(rel.v1_dir(&h, "memory"), Some("/cg/memory/own/ctr".into()));
        assert_eq!(abs.v1_dir(&h, "memory"), Some("/cg/memory/x/ctr".into()));
        assert_eq!(rel.v1_dir(&h, "cpu"), None);
        assert_eq!(rel.v2_dir(&h), Some("/u/user.slice/ctr".into()));
        assert_eq!(abs.v2_dir(&h), Some("/u/x/ctr".into()));
    }
}
