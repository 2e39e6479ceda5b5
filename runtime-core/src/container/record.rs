//! The state directory: `ROOT/ID/state.json` written atomically, a lock so that
//! commands on one id serialize, and the process liveness check.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use oci_spec::runtime::Spec;
use serde::{Deserialize, Serialize};

use super::{StateError, Status};
use crate::cgroups::{self, CgroupPaths};

/// What skiff remembers of a container between commands.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Record {
    pub(crate) id: String,
    /// The container process, in the pid namespace of the runtime.
    pub(crate) pid: i32,
    /// Its start time (field 22 of /proc/PID/stat), to tell a reused pid.
    pub(crate) pid_start: u64,
    pub(crate) bundle: PathBuf,
    pub(crate) rootfs: PathBuf,
    /// RFC 3339 creation time.
    pub(crate) created: String,
    pub(crate) owner: String,
    pub(crate) annotations: HashMap<String, String>,
    /// The spec the container was created from (hooks and exec need it).
    pub(crate) spec: Spec,
    /// Its cgroups (empty in records written before they were recorded).
    #[serde(default)]
    pub(crate) cgroups: CgroupPaths,
}

pub(crate) const STATE_FILE: &str = "state.json";
pub(crate) const FIFO: &str = "exec.fifo";

/// The state directory of one container.
pub(crate) fn dir(root: &Path, id: &str) -> PathBuf {
    root.join(id)
}

/// Make the state directory; fails if the container exists.
pub(crate) fn make_dir(root: &Path, id: &str) -> Result<PathBuf, StateError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o711)
        .create(root)
        .map_err(|source| StateError::Io {
            path: root.to_owned(),
            source,
        })?;
    let dir = dir(root, id);
    match std::fs::DirBuilder::new().mode(0o711).create(&dir) {
        Ok(()) => Ok(dir),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(StateError::Exists(id.to_owned()))
        }
        Err(source) => Err(StateError::Io { path: dir, source }),
    }
}

/// Take the container's lock (an exclusive flock on its state directory).
pub(crate) fn lock(dir: &Path, id: &str) -> Result<Flock<File>, StateError> {
    let file = File::open(dir).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => StateError::NotFound(id.to_owned()),
        _ => StateError::Io {
            path: dir.to_owned(),
            source,
        },
    })?;
    let lock = Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, e)| StateError::Io {
        path: dir.to_owned(),
        source: e.into(),
    })?;
    // A concurrent delete may have removed the directory while we waited:
    // a removed directory has no links left.
    let removed = nix::sys::stat::fstat(&*lock)
        .map(|st| st.st_nlink == 0)
        .unwrap_or(true);
    if removed {
        return Err(StateError::NotFound(id.to_owned()));
    }
    Ok(lock)
}

pub(crate) fn write(dir: &Path, record: &Record) -> Result<(), StateError> {
    let tmp = dir.join(".state.json.tmp");
    let path = dir.join(STATE_FILE);
    let body = serde_json::to_vec(record).map_err(StateError::Encode)?;
    let io = |source| StateError::Io {
        path: tmp.clone(),
        source,
    };
    // Not fsync'ed: the rename alone makes the write atomic for every reader,
    // and the record describes processes that a crash or power loss ends
    // anyway (runc does not sync its state.json either). Where /run is on a
    // disk rather than tmpfs, the fsync cost 2 to 50 ms per create.
    let mut f = File::create(&tmp).map_err(io)?;
    f.write_all(&body).map_err(io)?;
    drop(f);
    std::fs::rename(&tmp, &path).map_err(|source| StateError::Io { path, source })
}

pub(crate) fn read(dir: &Path, id: &str) -> Result<Record, StateError> {
    let path = dir.join(STATE_FILE);
    let body = std::fs::read(&path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => StateError::NotFound(id.to_owned()),
        _ => StateError::Io {
            path: path.clone(),
            source,
        },
    })?;
    serde_json::from_slice(&body).map_err(|source| StateError::Decode { path, source })
}

/// The state of `/proc/PID/stat`: its one-letter state and start time.
pub(crate) fn proc_stat(pid: i32) -> Option<(char, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The comm field may hold spaces and parentheses: split after the last ')'.
    let rest = &text[text.rfind(')')? + 2..];
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?.chars().next()?;
    // After state come fields 4..; starttime is field 22, the 20th after state.
    let start = fields.nth(18)?.parse().ok()?;
    Some((state, start))
}

/// The live status of a recorded container.
pub(crate) fn status(dir: &Path, record: &Record) -> Status {
    if record.pid <= 0 {
        return Status::Stopped;
    }
    match proc_stat(record.pid) {
        Some((state, start)) if start == record.pid_start && !matches!(state, 'Z' | 'X' | 'x') => {
            if cgroups::is_frozen(&record.cgroups) {
                Status::Paused
            } else if dir.join(FIFO).exists() {
                Status::Created
            } else {
                Status::Running
            }
        }
        _ => Status::Stopped,
    }
}

/// Now, as RFC 3339 UTC with nanoseconds (runc's `created`).
pub(crate) fn now_rfc3339() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        now.subsec_nanos()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_stat_parses() {
        let (state, start) = proc_stat(std::process::id() as i32).expect("own stat");
        assert!(matches!(state, 'R' | 'S'));
        assert!(start > 0);
    }

    #[test]
    fn old_records_have_no_cgroups() {
        let spec = crate::spec::default_spec();
        let mut v = serde_json::json!({
            "id": "x", "pid": 1, "pid_start": 2, "bundle": "/b", "rootfs": "/b/r",
            "created": "t", "owner": "root", "annotations": {}, "spec": spec,
        });
        let old: Result<Record, _> = serde_json::from_value(v.clone());
        assert!(old.is_ok_and(|r| r.cgroups.is_empty()));
        v["cgroups"] = serde_json::json!({"v1": {"memory": "/m/x"}, "created": ["/m/x"]});
        let new: Result<Record, _> = serde_json::from_value(v);
        let new = new.map(|r| r.cgroups);
        assert!(
            new.as_ref()
                .is_ok_and(|c| !c.is_empty() && c.created.len() == 1),
            "{new:?}"
        );
    }

    #[test]
    fn rfc3339_shape() {
        let t = now_rfc3339();
        assert_eq!(t.len(), 30, "{t}");
        assert!(t.starts_with("20") && t.ends_with('Z'), "{t}");
    }
}
