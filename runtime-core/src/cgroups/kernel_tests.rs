//! Tests on the host's real cgroups (v1 or hybrid), as root. Each makes its
//! own cgroup under the hierarchy roots and removes it; they skip (and say
//! so) when not root or when the host has no v1 memory controller.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use nix::sys::signal::Signal;
use nix::unistd::Pid;

use super::hierarchy::Hierarchy;
use super::manager::{CgroupManager, Driver};
use super::testutil::spec;
use super::*;

fn host() -> Option<Hierarchy> {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: not root");
        return None;
    }
    match Hierarchy::detect() {
        Ok(h) if h.v1_root.contains_key("memory") && h.v1_root.contains_key("pids") => Some(h),
        _ => {
            eprintln!("skipped: no v1 memory and pids controllers");
            None
        }
    }
}

/// A shell that waits for a line on stdin before running `script`.
fn gated_shell(script: &str) -> Child {
    let child = Command::new("/bin/sh")
        .arg("-c")
        .arg(format!("read go; {script}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    match child {
        Ok(c) => c,
        Err(e) => panic!("spawn sh: {e}"),
    }
}

fn go(child: &mut Child) {
    if let Some(stdin) = child.stdin.as_mut() {
        let _ = stdin.write_all(b"go\n");
    }
}

/// Wait for `child`, killing it after `secs` so that a test never hangs.
fn wait_timeout(child: &mut Child, secs: u64) -> Option<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        match child.try_wait() {
            Ok(Some(s)) => return Some(s),
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

fn pid(child: &Child) -> Pid {
    Pid::from_raw(child.id() as i32)
}

/// Set up cgroups for `linux` (a spec's linux object) around `child`.
fn place_in(
    h: &Hierarchy,
    linux: &str,
    child: &Child,
) -> Result<(Driver, CgroupPaths), CgroupError> {
    let s = spec(linux);
    let paths = set_up(driver_for(&s, "unused", h)?, &s, pid(child))?;
    Ok((Driver::from_paths(&paths), paths))
}

fn name(test: &str) -> String {
    format!("/skiff-test-{}-{test}", std::process::id())
}

fn all_gone(paths: &CgroupPaths) -> bool {
    let dirs: Vec<&PathBuf> = paths
        .v1
        .values()
        .chain(&paths.unified)
        .chain(&paths.created)
        .collect();
    dirs.iter().all(|d| !d.exists())
}

fn finish(mut child: Child, driver: &Driver, paths: &CgroupPaths) -> (String, Option<i32>) {
    let _ = driver.kill_all(Signal::SIGKILL);
    let status = wait_timeout(&mut child, 10).and_then(|s| {
        use std::os::unix::process::ExitStatusExt;
        s.signal()
    });
    let mut err = String::new();
    if let Some(e) = child.stderr.as_mut() {
        let _ = e.read_to_string(&mut err);
    }
    let destroyed = driver.destroy();
    assert!(destroyed.is_ok(), "destroy: {destroyed:?}");
    assert!(all_gone(paths), "left behind: {paths:?}");
    (err, status)
}

#[test]
fn kernel_pids_limit_makes_fork_fail() {
    let Some(h) = host() else { return };
    let mut child = gated_shell("for i in 1 2 3 4 5 6; do /bin/sleep 2 & done; wait");
    let linux = format!(
        r#"{{"cgroupsPath": "{}", "resources": {{"pids": {{"limit": 3}}}}}}"#,
        name("pids")
    );
    let (driver, paths) = match place_in(&h, &linux, &child) {
        Ok(d) => d,
        Err(e) => panic!("place: {e}"),
    };
    assert_eq!(
        std::fs::read_to_string(paths.v1["pids"].join("pids.max"))
            .ok()
            .as_deref(),
        Some("3\n")
    );
    go(&mut child);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let stats = driver.stats();
    assert!(
        stats
            .as_ref()
            .is_ok_and(|s| s.pids.current <= 3 && s.pids.limit == 3),
        "{stats:?}"
    );
    // The shell may have died of its failed fork; the sleeps remain.
    let pids = driver.pids().unwrap_or_default();
    let (err, _) = finish(child, &driver, &paths);
    assert!(!pids.is_empty() && pids.len() <= 3, "{pids:?}");
    assert!(err.to_lowercase().contains("fork"), "stderr: {err}");
}

#[test]
fn kernel_memory_limit_ooms_an_allocating_process() {
    let Some(h) = host() else { return };
    // The shell keeps the whole output of the substitution in memory.
    let mut child =
        gated_shell("x=$(/usr/bin/head -c 200000000 /dev/zero | /usr/bin/tr '\\0' a); echo ${#x}");
    let linux = format!(
        r#"{{"cgroupsPath": "{}", "resources": {{"memory": {{"limit": 33554432, "swap": 33554432}}}}}}"#,
        name("oom")
    );
    let (driver, paths) = match place_in(&h, &linux, &child) {
        Ok(d) => d,
        Err(e) => panic!("place: {e}"),
    };
    go(&mut child);
    let status = wait_timeout(&mut child, 20);
    let stats = driver.stats();
    assert!(
        stats
            .as_ref()
            .is_ok_and(|s| s.memory.oom_kills >= 1 && s.memory.limit == 33554432),
        "{stats:?}"
    );
    let (_, _) = finish(child, &driver, &paths);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.and_then(|s| s.signal()), Some(libc::SIGKILL));
}

#[test]
fn kernel_freeze_thaw_and_kill_all() {
    let Some(h) = host() else { return };
    if !h.v1_root.contains_key("freezer") {
        eprintln!("skipped: no v1 freezer");
        return;
    }
    let mut child = gated_shell("/bin/sleep 30 & /bin/sleep 30");
    let linux = format!(r#"{{"cgroupsPath": "{}"}}"#, name("freeze"));
    let (driver, paths) = match place_in(&h, &linux, &child) {
        Ok(d) => d,
        Err(e) => panic!("place: {e}"),
    };
    go(&mut child);
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(driver.set_frozen(true).is_ok());
    assert_eq!(
        std::fs::read_to_string(paths.v1["freezer"].join("freezer.state"))
            .ok()
            .as_deref(),
        Some("FROZEN\n")
    );
    assert!(driver.is_frozen().unwrap_or(false));
    // A frozen or populated cgroup is not taken for a second container.
    let again = place_in(&h, &linux, &child).err();
    assert!(
        matches!(again, Some(CgroupError::InUse { .. })),
        "{again:?}"
    );
    assert!(driver.set_frozen(false).is_ok());
    assert!(!driver.is_frozen().unwrap_or(true));
    let (_, signal) = finish(child, &driver, &paths);
    assert_eq!(signal, Some(libc::SIGKILL));
}

#[test]
fn kernel_resources_read_back_and_devices_list() {
    let Some(h) = host() else { return };
    let child = gated_shell("true");
    let linux = format!(
        r#"{{"cgroupsPath": "{}/nested/leaf", "resources": {{
            "memory": {{"limit": 67108864, "reservation": 33554432, "swappiness": 20}},
            "cpu": {{"shares": 256, "quota": 20000, "period": 100000}},
            "devices": [{{"allow": false, "access": "rwm"}}]}}}}"#,
        name("readback")
    );
    let (driver, paths) = match place_in(&h, &linux, &child) {
        Ok(d) => d,
        Err(e) => panic!("place: {e}"),
    };
    assert!(
        paths.created.len() >= 3,
        "nested parents recorded: {:?}",
        paths.created
    );
    let rd = |c: &str, f: &str| std::fs::read_to_string(paths.v1[c].join(f)).unwrap_or_default();
    assert_eq!(rd("memory", "memory.limit_in_bytes"), "67108864\n");
    assert_eq!(rd("memory", "memory.soft_limit_in_bytes"), "33554432\n");
    assert_eq!(rd("memory", "memory.swappiness"), "20\n");
    if paths.v1.contains_key("cpu") {
        assert_eq!(rd("cpu", "cpu.shares"), "256\n");
        assert_eq!(rd("cpu", "cpu.cfs_quota_us"), "20000\n");
    }
    if paths.v1.contains_key("devices") {
        let list = rd("devices", "devices.list");
        assert!(
            list.contains("c 1:3 rwm") && list.contains("c 136:* rwm"),
            "{list}"
        );
        assert!(!list.contains("a *:* rwm"), "{list}");
    }
    let (_, _) = finish(child, &driver, &paths);
}

#[test]
fn kernel_bad_input_leaves_nothing_behind() {
    let Some(h) = host() else { return };
    let child = gated_shell("true");
    let base = name("bad");
    // blkio.weight needs CFQ/BFQ: this host's blkio controller may lack it.
    for (resources, field) in [
        (
            r#"{"memory": {"limit": -5}}"#,
            "linux.resources.memory.limit",
        ),
        (
            r#"{"unified": {"memory.high": "1"}}"#,
            "linux.resources.unified",
        ),
        (
            r#"{"network": {"classID": 1}}"#,
            "linux.resources.network.classID",
        ),
    ] {
        let linux = format!(r#"{{"cgroupsPath": "{base}/x", "resources": {resources}}}"#);
        let e = place_in(&h, &linux, &child)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with(field), "{resources}: {e}");
        for root in h.v1_root.values().chain(&h.unified) {
            let left = root.join(base.trim_start_matches('/'));
            assert!(!left.exists(), "{resources}: left {}", left.display());
        }
    }
    let mut child = child;
    let _ = child.kill();
    let _ = child.wait();
}

fn alive(pid: Pid) -> bool {
    crate::container::proc_stat(pid.as_raw()).is_some_and(|(s, _)| !matches!(s, 'Z' | 'X'))
}

#[test]
fn kernel_remove_kills_a_frozen_leftover_and_removes_the_parents_made() {
    let Some(h) = host() else { return };
    if !h.v1_root.contains_key("freezer") {
        eprintln!("skipped: no v1 freezer");
        return;
    }
    let mut child = gated_shell("/bin/sleep 30; /bin/sleep 30");
    let linux = format!(r#"{{"cgroupsPath": "{}/parent/leaf"}}"#, name("remove"));
    let (driver, paths) = match place_in(&h, &linux, &child) {
        Ok(d) => d,
        Err(e) => panic!("place: {e}"),
    };
    go(&mut child);
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(driver.set_frozen(true).is_ok());
    let left = driver.pids().unwrap_or_default();
    assert_eq!(left.len(), 2, "{left:?}");
    // A frozen process only dies of SIGKILL once thawed: remove does both.
    let removed = remove(&paths);
    assert!(removed.is_ok(), "{removed:?}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while left.iter().any(|p| alive(Pid::from_raw(*p))) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(!left.iter().any(|p| alive(Pid::from_raw(*p))), "{left:?}");
    assert!(all_gone(&paths), "left behind: {paths:?}");
    let _ = child.wait();
}

/// Unlike the tests above, on any layout: the v2 lane (a pure cgroup v2
/// guest) runs it too, where it checks what the shim answers Stats with.
#[test]
fn kernel_stats_report_the_hierarchy_version() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: not root");
        return;
    }
    let Ok(h) = Hierarchy::detect() else {
        eprintln!("skipped: no cgroups");
        return;
    };
    let pure_v2 = h.v1_own.is_empty();
    let child = gated_shell("true");
    let linux = format!(
        r#"{{"cgroupsPath": "{}", "resources": {{"pids": {{"limit": 5}}}}}}"#,
        name("version")
    );
    let (driver, paths) = match place_in(&h, &linux, &child) {
        Ok(d) => d,
        Err(e) => panic!("place: {e}"),
    };
    let stats = driver.stats();
    let (_, _) = finish(child, &driver, &paths);
    let Ok(s) = stats else {
        panic!("stats: {stats:?}")
    };
    if pure_v2 {
        assert_eq!(s.version, CgroupVersion::V2);
        // memory.events is kept whole for containerd's v2 metrics.
        assert!(s.memory.events.contains_key("oom_kill"), "{s:?}");
    } else {
        assert_eq!(s.version, CgroupVersion::V1);
        assert!(s.memory.events.is_empty(), "{s:?}");
    }
    assert_eq!(s.pids.limit, 5);
    assert!(s.pids.current >= 1, "{s:?}");
}
