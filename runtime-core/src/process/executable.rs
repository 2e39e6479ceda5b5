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
        check(&path).map_err(|message| ExecutableError::Unusable {
            path: path.clone(),
            message,
        })?;
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
        let dir = tempfile::tempdir().expect("tempdir");
        let plain = dir.path().join("plain");
        std::fs::write(&plain, "").expect("write");
        std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let path = format!("PATH=/nonexistent:{}:/bin", dir.path().display());
        assert_eq!(
            find("sh", std::slice::from_ref(&path)).expect("sh"),
            PathBuf::from("/bin/sh")
        );
        // The last PATH wins, as in the final environment.
        let later = vec!["PATH=/nonexistent".to_owned(), "PATH=/bin".to_owned()];
        assert_eq!(find("sh", &later).expect("sh"), PathBuf::from("/bin/sh"));
        assert!(matches!(
            find("plain", &[path]),
            Err(ExecutableError::NotInPath(_))
        ));
        assert!(matches!(
            find("no-such-program-x", &[]),
            Err(ExecutableError::NotInPath(_))
        ));
        let e = find(&plain.display().to_string(), &[]).expect_err("not executable");
        assert!(e.to_string().ends_with("permission denied"), "{e}");
        let e = find(&dir.path().display().to_string(), &[]).expect_err("a directory");
        assert!(e.to_string().ends_with("is a directory"), "{e}");
        assert!(matches!(find("", &[]), Err(ExecutableError::Empty)));
    }
}
