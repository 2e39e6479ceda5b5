//! Finding the program to exec, with the container's own PATH.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Why the program cannot be executed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ExecutableError {
    #[error("exec: process.args is empty")]
    Empty,
    #[error("exec: {0:?}: executable file not found in $PATH")]
    NotInPath(String),
    #[error("exec: {path:?}: {message}")]
    Unusable { path: PathBuf, message: String },
}

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn check(path: &Path) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if meta.is_dir() {
        return Err("is a directory".into());
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Err("permission denied".into());
    }
    Ok(())
}

/// Resolve `arg0` as execvp(3) would, with PATH from the process's `env`.
pub(crate) fn find(arg0: &str, env: &[String]) -> Result<PathBuf, ExecutableError> {
    if arg0.is_empty() {
        return Err(ExecutableError::Empty);
    }
    if arg0.contains('/') {
        let path = PathBuf::from(arg0);
        check(&path).map_err(|message| ExecutableError::Unusable { path: path.clone(), message })?;
        return Ok(path);
    }
    let search = env
        .iter()
        .rev()
        .find_map(|kv| kv.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH);
    search
        .split(':')
        .map(|dir| Path::new(if dir.is_empty() { "." } else { dir }).join(arg0))
        .find(|candidate| check(candidate).is_ok())
        .ok_or_else(|| ExecutableError::NotInPath(arg0.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_by_path_and_refuses_missing() {
        assert_eq!(find("sh", &["PATH=/nonexistent:/bin".into()]).expect("sh"), PathBuf::from("/bin/sh"));
        assert!(matches!(find("no-such-program-x", &[]), Err(ExecutableError::NotInPath(_))));
        assert!(matches!(find("/etc/hostname", &[]), Err(ExecutableError::Unusable { .. })));
        assert!(matches!(find("", &[]), Err(ExecutableError::Empty)));
    }
}
