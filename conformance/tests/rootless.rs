//! Rootless mode: the runtime run by an unprivileged user (`skiff-rootless`, created with
//! /etc/subuid and /etc/subgid ranges when absent) on a bundle with a user namespace.
#![allow(clippy::expect_used, clippy::panic)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::json;
use skiff_conformance::{runtime_binary, unique_id, Bundle};

const USER: &str = "skiff-rootless";

/// The test user's uid and gid; created (with subordinate ids) when absent.
fn user() -> (u32, u32) {
    static ONCE: OnceLock<(u32, u32)> = OnceLock::new();
    *ONCE.get_or_init(|| {
        let max = std::fs::read_to_string("/proc/sys/user/max_user_namespaces")
            .expect("read user.max_user_namespaces");
        assert_ne!(
            max.trim(),
            "0",
            "user.max_user_namespaces is 0: no rootless containers"
        );
        if let Ok(v) = std::fs::read_to_string("/proc/sys/kernel/unprivileged_userns_clone") {
            assert_eq!(v.trim(), "1", "kernel.unprivileged_userns_clone is off");
        }
        let id = |flag: &str| -> Option<u32> {
            let out = Command::new("id").args([flag, USER]).output().ok()?;
            String::from_utf8_lossy(&out.stdout).trim().parse().ok()
        };
        if id("-u").is_none() {
            let ok = Command::new("useradd")
                .args([
                    "--no-create-home",
                    "--shell",
                    "/usr/sbin/nologin",
                    "--user-group",
                    USER,
                ])
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok || id("-u").is_some(), "useradd {USER}");
        }
        for file in ["/etc/subuid", "/etc/subgid"] {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            if !text.lines().any(|l| l.starts_with(&format!("{USER}:"))) {
                let flag = if file.ends_with("uid") {
                    "--add-subuids"
                } else {
                    "--add-subgids"
                };
                let ok = Command::new("usermod")
                    .args([flag, "200000-265535", USER])
                    .status()
                    .is_ok_and(|s| s.success());
                assert!(ok, "usermod {flag} {USER}");
            }
        }
        (id("-u").expect("uid"), id("-g").expect("gid"))
    })
}

/// A copy of the binary under test that the user can execute.
fn binary(dir: &Path) -> PathBuf {
    let bin = dir.join("skiff");
    std::fs::copy(runtime_binary().expect("runtime"), &bin).expect("copy runtime");
    bin
}

fn chown_tree(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid)).expect("chown");
    if path.is_dir() && !path.is_symlink() {
        for e in std::fs::read_dir(path).expect("read dir").flatten() {
            chown_tree(&e.path(), uid, gid);
        }
    }
}

/// A bundle like `skiff spec --rootless`'s for the user, running `args`.
fn bundle(args: &[&str], uid: u32, gid: u32) -> Bundle {
    let b = Bundle::new(args).expect("bundle").with(|c| {
        c["linux"]["namespaces"] = json!([
            {"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "user"}
        ]);
        c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": uid, "size": 1}]);
        c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": gid, "size": 1}]);
        c["linux"]
            .as_object_mut()
            .expect("linux")
            .remove("resources");
        let mounts = c["mounts"].as_array_mut().expect("mounts");
        for m in mounts.iter_mut() {
            if m["destination"] == "/sys" {
                *m = json!({"destination": "/sys", "type": "none", "source": "/sys",
                            "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]});
            }
            if m["destination"] == "/dev/pts" {
                m["options"] = json!([
                    "nosuid",
                    "noexec",
                    "newinstance",
                    "ptmxmode=0666",
                    "mode=0620"
                ]);
            }
        }
    });
    b.write_config().expect("config");
    chown_tree(b.path(), uid, gid);
    b
}

/// Runs the binary as the user with `XDG_RUNTIME_DIR=xdg`; (exit code, stdout, stderr).
fn as_user(bin: &Path, xdg: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let (uid, gid) = user();
    // Files, not pipes: a created container holds its stdio open.
    let (out, err) = (
        tempfile::tempfile().expect("out"),
        tempfile::tempfile().expect("err"),
    );
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("dup"))
        .stderr(err.try_clone().expect("dup"))
        .uid(uid)
        .gid(gid);
    if !xdg.as_os_str().is_empty() {
        cmd.env("XDG_RUNTIME_DIR", xdg);
    }
    let status = cmd.status().expect("run as user");
    let read = |mut f: std::fs::File| {
        use std::io::{Read, Seek};
        let mut s = String::new();
        f.rewind().expect("rewind");
        f.read_to_string(&mut s).expect("read");
        s
    };
    (status.code(), read(out), read(err))
}

fn setup() -> (tempfile::TempDir, PathBuf, u32, u32) {
    let (uid, gid) = user();
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = binary(dir.path());
    std::fs::create_dir(dir.path().join("xdg")).expect("xdg");
    chown_tree(dir.path(), uid, gid);
    (dir, bin, uid, gid)
}

/// `run` as the user: root inside maps to the user's uid (written directly), the exit
/// code comes back, the state is under $XDG_RUNTIME_DIR/skiff and nothing is left.
#[test]
fn rootless_run_maps_root_to_the_user() {
    let (dir, bin, uid, gid) = setup();
    let b = bundle(
        &["sh", "-c", "id -u; cat /proc/self/uid_map; exit 7"],
        uid,
        gid,
    );
    let xdg = dir.path().join("xdg");
    let id = unique_id("rlrun");
    let bp = b.path().to_string_lossy().into_owned();
    let (code, out, err) = as_user(&bin, &xdg, &["run", "--bundle", &bp, &id]);
    assert_eq!(code, Some(7), "{out}{err}");
    let lines: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0], ["0"], "{out}");
    assert_eq!(lines[1], ["0", uid.to_string().as_str(), "1"], "{out}");
    assert!(!xdg.join("skiff").join(&id).exists(), "state left");
    assert!(skiff_conformance::cgroup_dirs_named(&id).is_empty());
}

/// A multi-id map goes through newuidmap/newgidmap (the user's /etc/subuid range); a
/// resource limit is refused naming the field; `--rootless false` is refused.
#[test]
fn rootless_maps_limits_and_refusals() {
    let (dir, bin, uid, gid) = setup();
    let xdg = dir.path().join("xdg");
    let mut b = bundle(
        &["cat", "/proc/self/uid_map", "/proc/self/gid_map"],
        uid,
        gid,
    );
    let range = std::fs::read_to_string("/etc/subuid").expect("subuid");
    let sub: u32 = range
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{USER}:")))
        .and_then(|r| r.split(':').next()?.parse().ok())
        .expect("subuid range");
    let subg: u32 = std::fs::read_to_string("/etc/subgid")
        .expect("subgid")
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{USER}:")).map(str::to_owned))
        .and_then(|r| r.split(':').next()?.parse().ok())
        .expect("subgid range");
    b.config_mut()["linux"]["uidMappings"] = json!([
        {"containerID": 0, "hostID": uid, "size": 1}, {"containerID": 1, "hostID": sub, "size": 1000}]);
    b.config_mut()["linux"]["gidMappings"] = json!([
        {"containerID": 0, "hostID": gid, "size": 1}, {"containerID": 1, "hostID": subg, "size": 1000}]);
    b.write_config().expect("config");
    let bp = b.path().to_string_lossy().into_owned();
    let id = unique_id("rlmap");
    let (code, out, err) = as_user(&bin, &xdg, &["run", "--bundle", &bp, &id]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains(&format!("{sub}")), "{out}");

    b.config_mut()["linux"]["resources"] = json!({"memory": {"limit": 100_000_000}});
    b.write_config().expect("config");
    let id = unique_id("rllimit");
    let (code, out, err) = as_user(&bin, &xdg, &["run", "--bundle", &bp, &id]);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(err.contains("linux.resources.memory"), "{err}");
    assert!(!xdg.join("skiff").join(&id).exists(), "state left");

    b.config_mut()["linux"]
        .as_object_mut()
        .expect("linux")
        .remove("resources");
    b.write_config().expect("config");
    let id = unique_id("rlfalse");
    let (code, out, err) = as_user(
        &bin,
        &xdg,
        &["--rootless", "false", "run", "--bundle", &bp, &id],
    );
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(err.contains("Permission denied"), "{err}");
    assert!(!xdg.join("skiff").join(&id).exists(), "state left");
    assert!(skiff_conformance::cgroup_dirs_named(&id).is_empty());
}

/// create/start/state/exec/kill/delete as the user; pause is refused without a cgroup.
#[test]
fn rootless_lifecycle() {
    let (dir, bin, uid, gid) = setup();
    let xdg = dir.path().join("xdg");
    let b = bundle(&["sleep", "60"], uid, gid);
    let bp = b.path().to_string_lossy().into_owned();
    let id = unique_id("rllife");
    let (code, out, err) = as_user(&bin, &xdg, &["create", "--bundle", &bp, &id]);
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, _, err) = as_user(&bin, &xdg, &["start", &id]);
    assert_eq!(code, Some(0), "{err}");
    let (code, out, err) = as_user(&bin, &xdg, &["state", &id]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("\"running\""), "{out}");
    let (code, out, err) = as_user(&bin, &xdg, &["exec", &id, "id", "-u"]);
    assert_eq!((code, out.trim()), (Some(0), "0"), "{err}");
    let (code, _, err) = as_user(&bin, &xdg, &["pause", &id]);
    assert_eq!(code, Some(1));
    assert!(err.contains("cgroup"), "{err}");
    let (code, _, err) = as_user(&bin, &xdg, &["kill", "--all", &id, "KILL"]);
    assert_eq!(code, Some(0), "{err}");
    let (code, _, err) = as_user(&bin, &xdg, &["delete", "--force", &id]);
    assert_eq!(code, Some(0), "{err}");
    assert!(!xdg.join("skiff").join(&id).exists(), "state left");
    // Without XDG_RUNTIME_DIR and --root: a clear error.
    let (code, _, err) = as_user(&bin, Path::new(""), &["list"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("XDG_RUNTIME_DIR"), "{err}");
}
