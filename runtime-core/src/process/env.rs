//! The process's environment as runc builds it: the spec's `env` with later
//! entries replacing earlier ones of the same name (in the place of the
//! first), `HOME` from the container's /etc/passwd when `env` has none, and
//! the socket-activation variables when fds are passed through.

/// Why an `env` entry was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EnvError {
    #[error("process.env[{index}]: {entry:?}: missing '='")]
    NoEquals { index: usize, entry: String },
    #[error("process.env[{index}]: {entry:?}: empty variable name")]
    EmptyName { index: usize, entry: String },
    #[error("process.env[{index}]: {entry:?}: holds a NUL byte")]
    Nul { index: usize, entry: String },
}

/// Check every entry is `NAME=value` with a non-empty name and no NUL.
pub(crate) fn check(env: &[String]) -> Result<(), EnvError> {
    for (index, entry) in env.iter().enumerate() {
        let err = |f: fn(usize, String) -> EnvError| Err(f(index, entry.clone()));
        if entry.contains('\0') {
            return err(|index, entry| EnvError::Nul { index, entry });
        }
        match entry.split_once('=') {
            None => return err(|index, entry| EnvError::NoEquals { index, entry }),
            Some(("", _)) => return err(|index, entry| EnvError::EmptyName { index, entry }),
            Some(_) => {}
        }
    }
    Ok(())
}

/// The final environment: `env` deduplicated (the last value of a name wins,
/// in the place of its first), then `HOME` set from `home` if `env` lacks it.
pub(crate) fn build(
    env: &[String],
    home: impl FnOnce() -> String,
) -> Result<Vec<String>, EnvError> {
    check(env)?;
    let mut out: Vec<String> = Vec::with_capacity(env.len() + 1);
    for entry in env {
        let name = entry.split_once('=').map_or(entry.as_str(), |(n, _)| n);
        match out
            .iter_mut()
            .find(|e| e.split_once('=').is_some_and(|(n, _)| n == name))
        {
            Some(slot) => slot.clone_from(entry),
            None => out.push(entry.clone()),
        }
    }
    if !out.iter().any(|e| e.starts_with("HOME=")) {
        out.push(format!("HOME={}", home()));
    }
    Ok(out)
}

/// The home directory of `uid` in passwd(5) text, or `/` as runc's default.
pub(crate) fn home_of(passwd: &str, uid: u32) -> String {
    passwd
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 7 && f[2].parse::<u32>().ok() == Some(uid)).then(|| f[5].to_owned())
        })
        .find(|home| !home.is_empty())
        .unwrap_or_else(|| "/".to_owned())
}

/// Socket activation (sd_listen_fds(3)): how many fds the caller received
/// for its own pid. `listen_fds`/`listen_pid` are the caller's `LISTEN_FDS`
/// and `LISTEN_PID`; as runc, the fds count only when `LISTEN_PID` names the
/// caller (`own_pid`), and none when either is missing or malformed.
pub fn listen_fds(listen_fds: Option<&str>, listen_pid: Option<&str>, own_pid: u32) -> u32 {
    match (listen_fds, listen_pid) {
        (Some(n), Some(pid)) if pid.trim().parse::<u32>().ok() == Some(own_pid) => {
            n.trim().parse::<u32>().unwrap_or(0)
        }
        _ => 0,
    }
}

/// Add `LISTEN_FDS=n` and `LISTEN_PID=1` to a process environment when `n`
/// fds are passed through (they are the container's fds 3..3+n, and the
/// process is pid 1 of its pid namespace), replacing any it already has.
pub(crate) fn add_listen_env(env: &mut Vec<String>, n: u32) {
    if n == 0 {
        return;
    }
    env.retain(|e| !e.starts_with("LISTEN_FDS=") && !e.starts_with("LISTEN_PID="));
    env.push(format!("LISTEN_FDS={n}"));
    env.push("LISTEN_PID=1".to_owned());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn later_entries_win_in_place_and_home_is_added() {
        let env = build(&v(&["A=1", "B=2", "A=3", "EMPTY="]), || "/root".into()).expect("env");
        assert_eq!(env, v(&["A=3", "B=2", "EMPTY=", "HOME=/root"]));
        let env = build(&v(&["HOME=/h"]), || unreachable!()).expect("env");
        assert_eq!(env, v(&["HOME=/h"]));
    }

    #[test]
    fn malformed_entries_name_their_index() {
        let e = build(&v(&["A=1", "NOEQ"]), || "/".into()).expect_err("accepted");
        assert_eq!(e.to_string(), "process.env[1]: \"NOEQ\": missing '='");
        assert!(matches!(
            check(&v(&["=x"])),
            Err(EnvError::EmptyName { index: 0, .. })
        ));
        assert!(matches!(
            check(&v(&["A=\0"])),
            Err(EnvError::Nul { index: 0, .. })
        ));
    }

    #[test]
    fn home_from_passwd() {
        let passwd = "root:x:0:0:root:/root:/bin/sh\n# c\nnobody:x:65534:65534::/nonexistent:/bin/false\nbad\n";
        assert_eq!(home_of(passwd, 0), "/root");
        assert_eq!(home_of(passwd, 65534), "/nonexistent");
        assert_eq!(home_of(passwd, 1000), "/");
    }

    #[test]
    fn socket_activation() {
        assert_eq!(listen_fds(Some("2"), Some("42"), 42), 2);
        assert_eq!(listen_fds(Some("2"), Some("41"), 42), 0);
        assert_eq!(listen_fds(Some("x"), Some("42"), 42), 0);
        assert_eq!(listen_fds(None, Some("42"), 42), 0);
        let mut env = v(&["A=1", "LISTEN_FDS=9"]);
        add_listen_env(&mut env, 2);
        assert_eq!(env, v(&["A=1", "LISTEN_FDS=2", "LISTEN_PID=1"]));
        let mut env = v(&["A=1"]);
        add_listen_env(&mut env, 0);
        assert_eq!(env, v(&["A=1"]));
    }
}
