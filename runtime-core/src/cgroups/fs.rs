//! Reading and writing cgroup files, making and removing cgroup directories.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::CgroupError;

/// Write `value` to `dir/file` for the spec field `field`. The file must
/// exist (cgroupfs makes them; a missing one means the host lacks it).
pub(crate) fn write(dir: &Path, file: &str, value: &str, field: &str) -> Result<(), CgroupError> {
    let path = dir.join(file);
    if !path.exists() {
        return Err(CgroupError::NoFile {
            field: field.to_owned(),
            file: file.to_owned(),
        });
    }
    let result = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&path)
        .and_then(|mut f| f.write_all(value.as_bytes()));
    result.map_err(|source| CgroupError::Write {
        field: field.to_owned(),
        value: value.to_owned(),
        path,
        source,
    })
}

/// The text of `dir/file`.
pub(crate) fn read(dir: &Path, file: &str) -> Result<String, CgroupError> {
    let path = dir.join(file);
    std::fs::read_to_string(&path).map_err(|source| CgroupError::Io {
        op: "read",
        path,
        source,
    })
}

/// `dir/file` as one number; `max` reads as `u64::MAX`.
pub(crate) fn read_u64(dir: &Path, file: &str) -> Result<u64, CgroupError> {
    let text = read(dir, file)?;
    parse_u64(text.trim()).ok_or_else(|| CgroupError::Parse {
        path: dir.join(file),
        text,
    })
}

pub(crate) fn parse_u64(s: &str) -> Option<u64> {
    if s == "max" {
        Some(u64::MAX)
    } else {
        s.parse().ok()
    }
}

/// `KEY VALUE` lines (memory.stat, cpu.stat, pids.events...) as pairs.
pub(crate) fn flat_keyed(text: &str) -> impl Iterator<Item = (&str, u64)> {
    text.lines().filter_map(|l| {
        let (k, v) = l.split_once(' ')?;
        Some((k, parse_u64(v.trim())?))
    })
}

/// The pids in `dir/cgroup.procs`.
pub(crate) fn procs(dir: &Path) -> Result<Vec<i32>, CgroupError> {
    let path = dir.join("cgroup.procs");
    let text = read(dir, "cgroup.procs")?;
    text.split_ascii_whitespace()
        .map(|p| {
            p.parse().map_err(|_| CgroupError::Parse {
                path: path.clone(),
                text: p.to_owned(),
            })
        })
        .collect()
}

/// Make `dir` and any missing parents; returns the directories made,
/// outermost first (so that only those are removed on destroy).
pub(crate) fn mkdir_all(dir: &Path) -> Result<Vec<PathBuf>, CgroupError> {
    let mut missing = Vec::new();
    let mut cur = Some(dir);
    while let Some(d) = cur {
        if d.exists() {
            break;
        }
        missing.push(d.to_owned());
        cur = d.parent();
    }
    missing.reverse();
    let mut made = Vec::new();
    for d in missing {
        match std::fs::create_dir(&d) {
            Ok(()) => made.push(d),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(source) => {
                let _ = remove_all(&made);
                return Err(CgroupError::Io {
                    op: "mkdir",
                    path: d,
                    source,
                });
            }
        }
    }
    Ok(made)
}

/// Remove the cgroup directories `made` (outermost first), innermost first,
/// retrying a busy one briefly: exiting processes leave cgroups late. A
/// directory that still holds a child cgroup stays, without error: a parent
/// skiff made for one container may since hold another's cgroup (two
/// containers under one `/namespace/` prefix); it is left behind then, as
/// runc leaves every parent it made.
pub(crate) fn remove_all(made: &[PathBuf]) -> Result<(), CgroupError> {
    let mut first_err = None;
    for d in made.iter().rev() {
        if has_child_dir(d) {
            continue;
        }
        if let Err(e) = rmdir_retry(d) {
            first_err.get_or_insert(e);
        }
    }
    first_err.map_or(Ok(()), Err)
}

/// Whether `dir` has a subdirectory (a child cgroup).
fn has_child_dir(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .filter_map(Result::ok)
            .any(|e| e.file_type().is_ok_and(|t| t.is_dir()))
    })
}

/// Remove one cgroup directory. On a real cgroupfs only the directory goes
/// (its files are the kernel's); on a test tree the files go first.
pub(crate) fn rmdir_retry(dir: &Path) -> Result<(), CgroupError> {
    let deadline = Instant::now() + Duration::from_millis(2000);
    let mut wait = Duration::from_millis(5);
    let mut emptied = false;
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                if Instant::now() >= deadline {
                    return Err(CgroupError::Busy {
                        path: dir.to_owned(),
                    });
                }
                std::thread::sleep(wait);
                wait = (wait * 2).min(Duration::from_millis(100));
            }
            Err(e)
                if e.raw_os_error() == Some(libc::ENOTEMPTY) && !emptied && !is_cgroupfs(dir) =>
            {
                remove_plain_files(dir)?;
                emptied = true;
            }
            Err(source) => {
                return Err(CgroupError::Io {
                    op: "rmdir",
                    path: dir.to_owned(),
                    source,
                })
            }
        }
    }
}

fn is_cgroupfs(dir: &Path) -> bool {
    nix::sys::statfs::statfs(dir).is_ok_and(|s| {
        let t = s.filesystem_type();
        t == nix::sys::statfs::CGROUP_SUPER_MAGIC || t == nix::sys::statfs::CGROUP2_SUPER_MAGIC
    })
}

/// A test tree's cgroup: its files stand for the kernel's.
fn remove_plain_files(dir: &Path) -> Result<(), CgroupError> {
    let io = |source| CgroupError::Io {
        op: "rmdir",
        path: dir.to_owned(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        if entry.file_type().map_err(io)?.is_file() {
            std::fs::remove_file(entry.path()).map_err(io)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod remove_tests {
    use super::*;

    #[test]
    fn a_made_parent_holding_another_cgroup_stays() {
        let tmp = tempfile::tempdir().expect("tmp");
        let parent = tmp.path().join("ns");
        let leaf = parent.join("a");
        let sibling = parent.join("b");
        for d in [&leaf, &sibling] {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        std::fs::write(leaf.join("cgroup.procs"), "").expect("file");
        remove_all(&[parent.clone(), leaf.clone()]).expect("remove");
        assert!(!leaf.exists(), "the container's own cgroup goes");
        assert!(
            sibling.exists() && parent.exists(),
            "the shared parent stays"
        );
        std::fs::remove_dir(&sibling).expect("rmdir sibling");
        remove_all(std::slice::from_ref(&parent)).expect("remove parent");
        assert!(!parent.exists(), "an empty made parent goes");
    }
}
