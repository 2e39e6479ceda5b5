//! Known runc container escapes, one test each, set up from the public advisories: the
//! runtime must refuse the configuration or be unaffected. Every test says what it would
//! see on a vulnerable runtime.
//!
//! None of them harms the host when the runtime IS vulnerable: the binary attacked in
//! CVE-2019-5736 is a private copy, redirected writes land in files of the bundle, and
//! the procfs files named as symlink targets are only looked at, never written.
#![allow(clippy::expect_used, clippy::panic)]

use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use skiff_conformance::{
    probe_fds, runtime_binary, unique_id, ConsoleSocket, Fixture, Runtime, MASKED_PATHS,
};

const WAIT: Duration = Duration::from_secs(10);

fn push_mount(f: &mut Fixture, mount: Value) -> usize {
    let mounts = f.bundle.config_mut()["mounts"]
        .as_array_mut()
        .expect("mounts array");
    mounts.push(mount);
    mounts.len() - 1
}

/// Drop the spec's mounts at these destinations (so that the image's own dirs show).
fn drop_mounts(f: &mut Fixture, dests: &[&str]) {
    f.bundle.config_mut()["mounts"]
        .as_array_mut()
        .expect("mounts array")
        .retain(|m| !dests.contains(&m["destination"].as_str().unwrap_or_default()));
}

fn wait_for_file(path: &Path) -> bool {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if path.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// The probe's `paths` report for one path.
fn path_entry<'a>(report: &'a Value, path: &str) -> &'a Value {
    report
        .as_array()
        .and_then(|a| a.iter().find(|e| e["path"] == path))
        .unwrap_or_else(|| panic!("{path} in {report}"))
}

fn mknod(path: &Path, kind: libc::mode_t, major: u32, minor: u32) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("path");
    // SAFETY: `c` is a valid NUL-terminated path that outlives the call.
    let rc = unsafe { libc::mknod(c.as_ptr(), kind | 0o666, libc::makedev(major, minor)) };
    assert_eq!(
        rc,
        0,
        "mknod {}: {}",
        path.display(),
        std::io::Error::last_os_error()
    );
}

// ---------------------------------------------------------------------------------------
// CVE-2019-5736: the container overwrites the runtime binary through /proc/PID/exe.
// ---------------------------------------------------------------------------------------

/// The attack: a process of the container opens `/proc/1/exe` while pid 1 is still the
/// runtime's init (between `create` and `start`), keeps the fd, and once init has exec'd
/// the user program (no more ETXTBSY) writes through `/proc/self/fd/N`. The container
/// gets CAP_SYS_PTRACE so that it CAN open the exe of a non-dumpable process: what it
/// reaches must be write-protected (skiff: a detached read-only mount of the binary,
/// or a sealed memfd copy where that is refused): writes fail, and the binary on the host must not
/// change. A vulnerable runtime (runc < 1.0-rc6) shows the host binary as the target,
/// the write succeeds and the copy of the binary used here changes.
#[test]
fn cve_2019_5736_runtime_exe_is_write_protected() {
    let original = runtime_binary().expect("runtime binary");
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = dir.path().join(original.file_name().expect("binary name"));
    std::fs::copy(&original, &bin).expect("copy the runtime");
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let before = std::fs::read(&bin).expect("read binary");
    let rt = Runtime::with_bin(bin.clone()).expect("runtime");
    let mut bundle =
        skiff_conformance::Bundle::new(&["/bin/sh", "-c", "sleep 30"]).expect("bundle");
    let caps = ["CAP_SYS_PTRACE", "CAP_KILL", "CAP_AUDIT_WRITE"];
    for set in ["bounding", "effective", "permitted"] {
        bundle.config_mut()["process"]["capabilities"][set] = json!(caps);
    }
    let id = unique_id("cve5736");
    let out = rt.create(&id, &bundle).expect("create");
    assert!(out.success(), "{out}");
    let hunter = r#"
        exec 3</proc/1/exe || { echo open=failed > /hunt.tmp; mv /hunt.tmp /hunt.log; touch /hunt.ready; exit 0; }
        t=$(readlink /proc/self/fd/3)
        echo "target=$t" > /hunt.tmp
        touch /hunt.ready
        i=0
        while [ "$(readlink /proc/1/exe)" = "$t" ] && [ $i -lt 300 ]; do sleep 0.05; i=$((i+1)); done
        echo "pid1=$(readlink /proc/1/exe)" >> /hunt.tmp
        if echo skiff-cve-2019-5736 >> /proc/self/fd/3; then echo write=ok >> /hunt.tmp; else echo write=failed >> /hunt.tmp; fi
        mv /hunt.tmp /hunt.log
    "#;
    let out = rt
        .exec(&id, &["--detach"], &["/bin/sh", "-c", hunter])
        .expect("exec");
    assert!(out.success(), "{out}");
    let ready = bundle.rootfs().join("hunt.ready");
    assert!(wait_for_file(&ready), "the hunter did not start");
    assert!(rt.start(&id).expect("start").success());
    let log_path = bundle.rootfs().join("hunt.log");
    assert!(wait_for_file(&log_path), "the hunter did not finish");
    let log = std::fs::read_to_string(&log_path).expect("hunt log");
    let after = std::fs::read(&bin).expect("read binary");
    assert!(after == before, "the runtime binary changed: {log}");
    assert!(
        !log.contains("open=failed"),
        "with CAP_SYS_PTRACE the exe of pid 1 opens (else this test checks nothing): {log}"
    );
    let target = log
        .lines()
        .find_map(|l| l.strip_prefix("target="))
        .unwrap_or_default();
    assert!(
        !target.is_empty() && Path::new(target) != bin && Path::new(target) != original,
        "pid 1's exe is the host binary: {log}"
    );
    assert!(
        log.contains("pid1=/bin/busybox"),
        "pid 1 exec'd the user program: {log}"
    );
    assert!(
        log.contains("write=failed"),
        "a write through the exe succeeded: {log}"
    );
    let _ = rt.kill(&id, "KILL");
    let _ = rt.delete_force(&id);
    assert_eq!(rt.leaks(&id, &bundle), Vec::<String>::new());
}

/// The `exec` window: the container's init is a hunter that, for a few seconds, opens the
/// exe of every process that appears in the container (the runtime's helper joining it
/// for `exec`, before it execs the command) and afterwards tries to append to each
/// through the kept fd, while the test runs `exec` again and again. Catching the helper
/// is a race, so the test does not require a catch; it requires that no write succeeded,
/// that whatever was caught is not the host binary, and that the binary is unchanged. A
/// vulnerable runtime, once caught, shows the host binary as the exe and a successful
/// write (and a changed copy of the binary).
#[test]
fn cve_2019_5736_exec_helper_exe_is_write_protected() {
    let original = runtime_binary().expect("runtime binary");
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = dir.path().join(original.file_name().expect("binary name"));
    std::fs::copy(&original, &bin).expect("copy the runtime");
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let before = std::fs::read(&bin).expect("read binary");
    let rt = Runtime::with_bin(bin.clone()).expect("runtime");
    let mut bundle =
        skiff_conformance::Bundle::new(&["/bin/probe", "hunt-exe", "4"]).expect("bundle");
    let caps = ["CAP_SYS_PTRACE", "CAP_KILL", "CAP_AUDIT_WRITE"];
    for set in ["bounding", "effective", "permitted"] {
        bundle.config_mut()["process"]["capabilities"][set] = json!(caps);
    }
    let id = unique_id("cve5736x");
    assert!(rt.create(&id, &bundle).expect("create").success());
    assert!(rt.start(&id).expect("start").success());
    let mut execs = 0;
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        let out = rt
            .exec(&id, &[], &["/bin/probe", "exit", "0"])
            .expect("exec");
        assert!(out.success(), "{out}");
        execs += 1;
    }
    rt.wait_status(&id, "stopped", WAIT).expect("hunter done");
    let (stdout, stderr) = rt.output(&id);
    let report: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("hunter report: {e}: {stdout} {stderr}"));
    let after = std::fs::read(&bin).expect("read binary");
    assert!(after == before, "the runtime binary changed: {report}");
    assert_eq!(
        report["writes_ok"], 0,
        "a write through a caught exe succeeded: {report}"
    );
    for c in report["caught"].as_array().into_iter().flatten() {
        let exe = c["exe"].as_str().unwrap_or_default();
        assert!(
            Path::new(exe) != bin && Path::new(exe) != original,
            "the exe of {c} is the host binary"
        );
    }
    eprintln!(
        "{execs} execs; caught {} helper(s): {}",
        report["caught"].as_array().map_or(0, Vec::len),
        report["caught"]
    );
    let _ = rt.delete_force(&id);
    assert_eq!(rt.leaks(&id, &bundle), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------
// CVE-2019-16884 (and CVE-2023-28642): /proc covered by a volume, or /proc a symlink.
// ---------------------------------------------------------------------------------------

/// A volume mounted over /proc after the proc mount: the runtime's later procfs writes
/// (the LSM label in the advisory; a sysctl here) would land in the volume. It must be
/// refused. A vulnerable runtime runs the container and writes "1234" into the fake
/// `sys/kernel/shmmni` of the volume, a file of the host.
#[test]
fn cve_2019_16884_volume_over_proc_is_refused() {
    let mut f = Fixture::new(&["/bin/probe", "exit", "0"]).expect("fixture");
    let fake = f.bundle.path().join("fakeproc");
    std::fs::create_dir_all(fake.join("sys/kernel")).expect("mkdir");
    std::fs::write(fake.join("sys/kernel/shmmni"), "fake").expect("fake sysctl");
    let i = push_mount(
        &mut f,
        json!({ "destination": "/proc", "type": "bind", "source": fake, "options": ["rbind"] }),
    );
    f.bundle.config_mut()["linux"]["sysctl"] = json!({ "kernel.shmmni": "1234" });
    let id = unique_id("cve16884");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    let content = std::fs::read_to_string(fake.join("sys/kernel/shmmni")).expect("read");
    assert_eq!(
        content, "fake",
        "a procfs write landed in the volume: {out}"
    );
    assert!(!out.success(), "a volume over /proc was accepted: {out}");
    if !f.rt.is_runc() {
        assert!(
            out.stderr.contains(&format!("mounts[{i}]")) && out.stderr.contains("/proc"),
            "the error names the mount: {out}"
        );
    }
    assert_eq!(f.leaks(&id), Vec::<String>::new());

    // The same with a directory of the host's procfs as the volume: what covers the
    // container's /proc is not its procfs, and its readonly /proc/sys is then missing
    // (a vulnerable runtime runs it; the probe would see /proc/sys absent).
    let mut f = Fixture::new(&["/bin/probe", "paths", "/proc/sys"]).expect("fixture");
    let i = push_mount(
        &mut f,
        json!({ "destination": "/proc", "type": "bind", "source": "/proc/sys", "options": ["rbind"] }),
    );
    let id = unique_id("cve16884p");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    if f.rt.is_runc() {
        // runc allows any procfs source (checkProcMount): only the leak check.
        assert_eq!(f.leaks(&id), Vec::<String>::new());
        return;
    }
    assert!(
        !out.success(),
        "a procfs subdirectory over /proc was accepted: {out}"
    );
    assert!(out.stderr.contains(&format!("mounts[{i}]")), "{out}");
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

/// The image's /proc is a symlink to a directory of its own. runc refuses it since 1.1.5
/// (CVE-2023-28642); a runtime that follows it must still leave the real procfs masked
/// and read-only where the spec says. A vulnerable runtime mounts proc where the symlink
/// leads and applies the masks to paths that are not procfs, leaving /proc/kcore
/// readable or /proc/sys writable.
#[test]
fn cve_2019_16884_proc_symlink_in_image() {
    let mut args = vec!["/bin/probe", "paths", "/proc/sys"];
    args.extend(MASKED_PATHS.iter().filter(|p| p.starts_with("/proc")));
    let f = Fixture::new(&args).expect("fixture");
    let rootfs = f.bundle.rootfs();
    std::fs::remove_dir(rootfs.join("proc")).expect("rmdir proc");
    std::fs::create_dir(rootfs.join("fakeproc")).expect("mkdir");
    symlink("/fakeproc", rootfs.join("proc")).expect("symlink");
    let id = unique_id("cve16884l");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    if out.success() {
        let r = out.json().expect("probe JSON");
        assert_eq!(
            path_entry(&r, "/proc/sys")["writable"],
            false,
            "/proc/sys is writable: {r}"
        );
        for p in MASKED_PATHS.iter().filter(|p| p.starts_with("/proc")) {
            let e = path_entry(&r, p);
            assert!(
                e["exists"] == false || e["empty"] == true || e["readable"] == false,
                "{p} is not masked: {e}"
            );
        }
    } else if !f.rt.is_runc() {
        assert!(out.stderr.contains("/proc"), "the error names /proc: {out}");
    }
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------
// CVE-2019-19921, CVE-2023-27561: a volume redirected onto /proc through a symlink.
// ---------------------------------------------------------------------------------------

/// The image has `/vol -> /proc`; the spec mounts a volume at `/vol/sys`, which lands on
/// the container's /proc/sys and takes the place of the real one (which the spec then
/// "makes read-only" in vain). It must be refused. A vulnerable runtime runs it and the
/// container sees the volume's marker file at /proc/sys/marker.
#[test]
fn cve_2019_19921_volume_through_symlink_onto_proc() {
    let mut f = Fixture::new(&["/bin/probe", "paths", "/proc/sys/marker"]).expect("fixture");
    let vol = f.bundle.path().join("vol");
    std::fs::create_dir_all(&vol).expect("mkdir");
    std::fs::write(vol.join("marker"), "volume").expect("marker");
    symlink("/proc", f.bundle.rootfs().join("vol")).expect("symlink");
    let i = push_mount(
        &mut f,
        json!({ "destination": "/vol/sys", "type": "bind", "source": vol, "options": ["rbind"] }),
    );
    let id = unique_id("cve19921");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    if out.success() {
        let r = out.json().expect("probe JSON");
        assert_eq!(
            path_entry(&r, "/proc/sys/marker")["exists"],
            false,
            "the volume covers /proc/sys: {r}"
        );
    } else if !f.rt.is_runc() {
        assert!(
            out.stderr.contains(&format!("mounts[{i}]")),
            "the error names the mount: {out}"
        );
    }
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

/// CVE-2023-27561 re-opened CVE-2019-19921 in runc 1.0-rc95..1.1.4. The same class with
/// a file: the image has `/k -> /proc/sys/kernel` and the spec binds a file of the bundle
/// at `/k/core_pattern`, covering the real procfs file. It must be refused. A vulnerable
/// runtime runs it and the container reads the bundle file's text at
/// /proc/sys/kernel/core_pattern.
#[test]
fn cve_2023_27561_file_volume_through_symlink_onto_proc() {
    let mut f =
        Fixture::new(&["/bin/probe", "cat", "/proc/sys/kernel/core_pattern"]).expect("fixture");
    let file = f.bundle.path().join("not-core-pattern");
    std::fs::write(&file, "skiff-cve-2023-27561").expect("file");
    symlink("/proc/sys/kernel", f.bundle.rootfs().join("k")).expect("symlink");
    let i = push_mount(
        &mut f,
        json!({ "destination": "/k/core_pattern", "type": "bind", "source": file }),
    );
    let id = unique_id("cve27561");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    assert!(
        !out.stdout.contains("skiff-cve-2023-27561"),
        "a volume covers /proc/sys/kernel/core_pattern: {out}"
    );
    if !out.success() && !f.rt.is_runc() {
        assert!(
            out.stderr.contains(&format!("mounts[{i}]")),
            "the error names the mount: {out}"
        );
    }
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------
// CVE-2021-30465: a mount destination swapped for a symlink that leads out.
// ---------------------------------------------------------------------------------------

/// A host directory that a mount escaping the rootfs would land in, and its checks.
struct HostTarget {
    dir: PathBuf,
}

impl HostTarget {
    fn new(tag: &str, token: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("skiff-{tag}-{token}"));
        std::fs::create_dir_all(&dir).expect("host dir");
        HostTarget { dir }
    }

    /// What a runtime that escaped left there.
    fn damage(&self) -> Vec<String> {
        let mut found: Vec<String> = skiff_conformance::mounts_under(&self.dir);
        if let Ok(entries) = std::fs::read_dir(&self.dir) {
            found.extend(
                entries
                    .filter_map(Result::ok)
                    .map(|e| format!("created {}", e.path().display())),
            );
        }
        found
    }
}

impl Drop for HostTarget {
    fn drop(&mut self) {
        for m in skiff_conformance::mounts_under(&self.dir) {
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(&m)
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Static variants: the destination's parent is a symlink in the image to an absolute
/// host path, for a tmpfs and for a bind. The mounts must stay in the rootfs (or be
/// refused). A vulnerable runtime creates and mounts in the host directory.
#[test]
fn cve_2021_30465_symlinked_destination_stays_in_rootfs() {
    let mut f = Fixture::new(&["/bin/probe", "exit", "0"]).expect("fixture");
    let host = HostTarget::new("cve30465s", f.bundle.token());
    symlink(&host.dir, f.bundle.rootfs().join("link")).expect("symlink");
    let src = f.bundle.path().join("volsrc");
    std::fs::create_dir_all(&src).expect("mkdir");
    push_mount(
        &mut f,
        json!({ "destination": "/link/tmpfs", "type": "tmpfs", "source": "tmpfs" }),
    );
    push_mount(
        &mut f,
        json!({ "destination": "/link/bind", "type": "bind", "source": src, "options": ["rbind"] }),
    );
    let id = unique_id("cve30465s");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    assert_eq!(
        host.damage(),
        Vec::<String>::new(),
        "mounts escaped the rootfs: {out}"
    );
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

/// The race: while containers are set up again and again, a thread swaps the image's
/// `/race/link` between a directory and a symlink to a host directory
/// (renameat2(RENAME_EXCHANGE), as the advisory's second container does on a shared
/// volume). A bounded number of runs; nothing may ever appear in the host directory. A
/// vulnerable runtime (checking the path, then mounting it by name) loses the race now
/// and then and mounts on the host.
#[test]
fn cve_2021_30465_racing_symlink_swap_stays_in_rootfs() {
    let mut f = Fixture::new(&["/bin/probe", "exit", "0"]).expect("fixture");
    let host = HostTarget::new("cve30465r", f.bundle.token());
    let race = f.bundle.rootfs().join("race");
    std::fs::create_dir_all(race.join("link")).expect("mkdir");
    symlink(&host.dir, race.join("link~")).expect("symlink");
    push_mount(
        &mut f,
        json!({ "destination": "/race/link/m", "type": "tmpfs", "source": "tmpfs" }),
    );
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swapper = {
        let stop = stop.clone();
        let a =
            std::ffi::CString::new(race.join("link").as_os_str().as_encoded_bytes()).expect("path");
        let b = std::ffi::CString::new(race.join("link~").as_os_str().as_encoded_bytes())
            .expect("path");
        std::thread::spawn(move || {
            let mut swaps = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // SAFETY: both paths are valid NUL-terminated strings that outlive the call.
                let rc = unsafe {
                    libc::renameat2(
                        libc::AT_FDCWD,
                        a.as_ptr(),
                        libc::AT_FDCWD,
                        b.as_ptr(),
                        libc::RENAME_EXCHANGE,
                    )
                };
                if rc == 0 {
                    swaps += 1;
                }
            }
            swaps
        })
    };
    let runs: usize = std::env::var("SKIFF_ESCAPE_RACE_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let mut outcomes = Vec::new();
    for n in 0..runs {
        let id = unique_id(&format!("cve30465r{n}"));
        let out = f.rt.run(&id, &f.bundle).expect("run");
        outcomes.push(out.success());
        let damage = host.damage();
        if !damage.is_empty() {
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            panic!("run {n} escaped the rootfs: {damage:?}: {out}");
        }
        assert_eq!(f.leaks(&id), Vec::<String>::new());
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let swaps = swapper.join().expect("swapper");
    assert!(swaps > 0, "the swapper never swapped");
    assert_eq!(host.damage(), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------
// CVE-2024-21626: a leaked fd of the host reached through process.cwd.
// ---------------------------------------------------------------------------------------

/// A host file that a process whose cwd leaked out of the container would reach by
/// `..`; removed on drop.
struct Canary(PathBuf);

impl Drop for Canary {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The canary, and the relative path that reaches it from any directory of the host.
fn host_canary(token: &str) -> (Canary, String) {
    let name = format!("skiff-cve21626-{token}");
    let path = Path::new("/tmp").join(&name);
    std::fs::write(&path, "host").expect("canary");
    (Canary(path), format!("{}tmp/{name}", "../".repeat(24)))
}

/// `process.cwd` set to `/proc/self/fd/N` for every small N: if the runtime still holds
/// a directory of the host at N when it changes into the cwd (runc 1.0.0-rc93..1.1.11
/// leaked /sys/fs/cgroup), the container starts outside its root and reaches host files
/// by `..`. It must be refused or stay inside. A vulnerable runtime shows the host
/// canary as existing for some N.
#[test]
fn cve_2024_21626_cwd_through_leaked_fd() {
    let mut f = Fixture::new(&["/bin/probe"]).expect("fixture");
    let (canary, rel) = host_canary(f.bundle.token());
    f.bundle.args(&["/bin/probe", "paths", &rel]);
    for n in 3..=12 {
        f.bundle.config_mut()["process"]["cwd"] = json!(format!("/proc/self/fd/{n}"));
        let id = unique_id(&format!("cve21626c{n}"));
        let out = f.rt.run(&id, &f.bundle).expect("run");
        if out.success() {
            let r = out.json().expect("probe JSON");
            assert_eq!(
                path_entry(&r, &rel)["exists"],
                false,
                "cwd /proc/self/fd/{n} reached the host: {out}"
            );
        }
        assert_eq!(f.leaks(&id), Vec::<String>::new());
    }
    drop(canary);
}

/// The same through `exec --cwd`, and no fd of the runtime left open in the container's
/// process, for `run` and for `exec`. A vulnerable runtime lists extra fds (3 and up) in
/// the probe's report, or reaches the host canary.
#[test]
fn cve_2024_21626_exec_cwd_and_no_runtime_fds() {
    let f = Fixture::new(&["/bin/sh", "-c", "sleep 30"]).expect("fixture");
    let (canary, rel) = host_canary(f.bundle.token());
    let id = unique_id("cve21626e");
    let out = f.rt.create(&id, &f.bundle).expect("create");
    assert!(out.success(), "{out}");
    assert!(f.rt.start(&id).expect("start").success());
    let out = f.rt.exec(&id, &[], &["/bin/probe", "fds"]).expect("exec");
    assert!(out.success(), "{out}");
    let fds = json!({ "fds": out.json().expect("probe JSON") });
    assert_eq!(probe_fds(&fds), vec![0, 1, 2], "exec: {}", fds["fds"]);
    for n in 3..=12 {
        let cwd = format!("/proc/self/fd/{n}");
        let out =
            f.rt.exec(&id, &["--cwd", &cwd], &["/bin/probe", "paths", &rel])
                .expect("exec");
        if out.success() {
            let r = out.json().expect("probe JSON");
            assert_eq!(
                path_entry(&r, &rel)["exists"],
                false,
                "exec --cwd {cwd} reached the host: {out}"
            );
        }
    }
    let _ = f.rt.kill(&id, "KILL");
    let _ = f.rt.delete_force(&id);
    assert_eq!(f.leaks(&id), Vec::<String>::new());

    let mut f = Fixture::new(&["/bin/probe", "fds"]).expect("fixture");
    f.bundle.config_mut()["process"]["cwd"] = json!("/tmp");
    let id = unique_id("cve21626r");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    assert!(out.success(), "{out}");
    let fds = json!({ "fds": out.json().expect("probe JSON") });
    assert_eq!(probe_fds(&fds), vec![0, 1, 2], "run: {}", fds["fds"]);
    assert_eq!(f.leaks(&id), Vec::<String>::new());
    drop(canary);
}

/// Between `create` and `start` the runtime's init (pid 1) still holds the fds of its
/// setup. A process of the container with CAP_SYS_PTRACE can reach them through
/// /proc/1/fd/N: none may lead to the host, neither as a directory of the host (`..`
/// climbs out) nor as a procfs of the host's pid namespace (`N/1/root` is the host's
/// root). A vulnerable runtime (runc 1.0-rc93..1.1.11 kept /sys/fs/cgroup open; a
/// runtime holding the host's /proc) lets the hunter reach the host canary.
#[test]
fn cve_2024_21626_init_fds_do_not_reach_the_host() {
    let mut f = Fixture::new(&["/bin/sh", "-c", "sleep 30"]).expect("fixture");
    let (canary, _) = host_canary(f.bundle.token());
    let name = canary
        .0
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let caps = ["CAP_SYS_PTRACE", "CAP_KILL", "CAP_AUDIT_WRITE"];
    for set in ["bounding", "effective", "permitted"] {
        f.bundle.config_mut()["process"]["capabilities"][set] = json!(caps);
    }
    let id = unique_id("cve21626i");
    assert!(f.rt.create(&id, &f.bundle).expect("create").success());
    let up = "../".repeat(24);
    let script = format!(
        "n=0; for fd in /proc/1/fd/*; do n=$((n+1)); \
           for p in \"$fd/1/root/tmp/{name}\" \"$fd/{up}tmp/{name}\" \"$fd/tmp/{name}\"; do \
             [ -e \"$p\" ] && echo \"reached $p -> $(readlink $fd)\"; done; done; \
         echo \"fds=$n\""
    );
    let out =
        f.rt.exec(&id, &[], &["/bin/sh", "-c", &script])
            .expect("exec");
    assert!(out.success(), "{out}");
    assert!(
        !out.stdout.contains("reached"),
        "init's fds reach the host: {out}"
    );
    assert!(
        out.stdout.contains("fds=") && !out.stdout.contains("fds=0"),
        "the hunter saw init's fds: {out}"
    );
    let _ = f.rt.delete_force(&id);
    assert_eq!(f.leaks(&id), Vec::<String>::new());
    drop(canary);
}

// ---------------------------------------------------------------------------------------
// CVE-2025-31133: maskedPaths with a /dev/null that is not /dev/null.
// ---------------------------------------------------------------------------------------

/// The image's /dev (no tmpfs over it) has a /dev/null that is a symlink to
/// /proc/sys/kernel/core_pattern, a regular file, or another char device (1:5). Masking a
/// file binds /dev/null over it: the runtime must refuse, or mask with the real null
/// device. A vulnerable runtime binds the symlink's target (core_pattern, writable) or
/// the file over /proc/kcore & co, which the probe then finds readable with content or
/// writable.
#[test]
fn cve_2025_31133_masking_with_a_fake_dev_null() {
    let masked: Vec<&str> = MASKED_PATHS
        .iter()
        .copied()
        .filter(|p| ["/proc/kcore", "/proc/keys", "/proc/timer_list"].contains(p))
        .collect();
    let core_before = std::fs::read_to_string("/proc/sys/kernel/core_pattern").expect("read");
    for variant in ["symlink", "file", "zero"] {
        let mut args = vec!["/bin/probe", "paths"];
        args.extend(&masked);
        let mut f = Fixture::new(&args).expect("fixture");
        drop_mounts(&mut f, &["/dev"]);
        let dev = f.bundle.rootfs().join("dev");
        std::fs::create_dir_all(dev.join("pts")).expect("mkdir");
        std::fs::create_dir_all(dev.join("shm")).expect("mkdir");
        std::fs::create_dir_all(dev.join("mqueue")).expect("mkdir");
        let null = dev.join("null");
        match variant {
            "symlink" => symlink("/proc/sys/kernel/core_pattern", &null).expect("symlink"),
            "file" => std::fs::write(&null, "not the null device").expect("file"),
            _ => mknod(&null, libc::S_IFCHR, 1, 5),
        }
        let id = unique_id(&format!("cve31133{variant}"));
        let out = f.rt.run(&id, &f.bundle).expect("run");
        if out.success() {
            let r = out
                .json()
                .unwrap_or_else(|e| panic!("{variant}: no probe report: {e}: {out}"));
            for p in &masked {
                let e = path_entry(&r, p);
                assert!(
                    e["exists"] == false || (e["writable"] == false && e["empty"] != false),
                    "{variant}: {p} is not masked by the null device: {e}"
                );
            }
        } else if !f.rt.is_runc() {
            assert!(
                out.stderr.contains("/dev/null"),
                "{variant}: the error names /dev/null: {out}"
            );
        }
        assert_eq!(f.leaks(&id), Vec::<String>::new());
    }
    let core_after = std::fs::read_to_string("/proc/sys/kernel/core_pattern").expect("read");
    assert_eq!(core_before, core_after, "the host's core_pattern changed");
}

// ---------------------------------------------------------------------------------------
// CVE-2025-52565: the /dev/console bind when the image's /dev/console or /dev/pts/N is
// a symlink.
// ---------------------------------------------------------------------------------------

/// The image brings its own /dev (no tmpfs over it; devpts still at /dev/pts), whose
/// /dev/console is a symlink to /proc/sys/kernel/core_pattern. /dev/console must end up the
/// container's own pty and the procfs file untouched. A vulnerable runtime follows the
/// symlink and binds the pty over /proc/sys/kernel/core_pattern (the container sees /dev/console
/// as a symlink and core_pattern as a char device), or binds the procfs file, writable,
/// onto /dev/console (a regular file). The advisory's other half, /dev/pts/N swapped for
/// a symlink, needs a race on a shared devpts that a static image cannot set up (the
/// kernel serves /dev/ptmx only next to a devpts); skiff binds the pty from its fd
/// (TIOCGPTPEER) and never opens /dev/pts/N by name.
#[test]
fn cve_2025_52565_console_symlink_in_image() {
    let script = "busybox stat -c %F /dev/console; busybox stat -L -c %t:%T /dev/console; \
                  busybox stat -L -c %t:%T $(busybox tty); \
                  busybox stat -c %F /proc/sys/kernel/core_pattern; echo ok";
    let mut f = Fixture::new(&["/bin/busybox", "sh", "-c", script]).expect("fixture");
    f.bundle.config_mut()["process"]["terminal"] = json!(true);
    drop_mounts(&mut f, &["/dev"]);
    let dev = f.bundle.rootfs().join("dev");
    for d in ["pts", "shm", "mqueue"] {
        std::fs::create_dir_all(dev.join(d)).expect("mkdir");
    }
    symlink("/proc/sys/kernel/core_pattern", dev.join("console")).expect("symlink");
    let sock = ConsoleSocket::new().expect("console socket");
    let sock_path = sock.path().to_string_lossy().into_owned();
    let id = unique_id("cve52565");
    let out =
        f.rt.create_with(&id, &f.bundle, &["--console-socket", &sock_path])
            .expect("create");
    if out.success() {
        let master = sock.receive(WAIT).expect("pty master");
        assert!(f.rt.start(&id).expect("start").success());
        let text = skiff_conformance::read_fd_until(&master, Some("ok\r\n"), WAIT);
        let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
        assert_eq!(
            lines.first().copied(),
            Some("character special file"),
            "/dev/console is the pty: {text:?}"
        );
        assert!(
            lines.get(1).is_some() && lines.get(1) == lines.get(2),
            "/dev/console is the process's own pty: {text:?}"
        );
        assert_eq!(
            lines.get(3).copied(),
            Some("regular empty file"),
            "/proc/sys/kernel/core_pattern is untouched: {text:?}"
        );
        let _ = f.rt.wait_status(&id, "stopped", WAIT);
    } else if !f.rt.is_runc() {
        assert!(
            out.stderr.contains("console") || out.stderr.contains("pty"),
            "the error names the console: {out}"
        );
    }
    let _ = f.rt.delete_force(&id);
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------
// CVE-2025-52881: the runtime's procfs writes redirected to another procfs file.
// ---------------------------------------------------------------------------------------

/// The spec binds the container's /proc/sys/kernel/msgmax over /proc/sys/kernel/shmmni
/// (the advisory does it with racing shared mounts; the effect is the same) and sets the
/// sysctl kernel.shmmni: the runtime's write must not land in msgmax. And a file of the
/// bundle over /proc/self/oom_score_adj with process.oomScoreAdj set: the value must not
/// land in that file. Refusing either configuration is fine. A vulnerable runtime writes
/// 1234 into kernel.msgmax of the container's ipc namespace (the probe reads it back), or
/// 500 into the bundle file.
#[test]
fn cve_2025_52881_procfs_writes_are_not_redirected() {
    let mut f = Fixture::new(&["/bin/probe", "sysctl", "kernel.msgmax"]).expect("fixture");
    let i = push_mount(
        &mut f,
        json!({ "destination": "/proc/sys/kernel/shmmni", "type": "bind",
                "source": "/proc/sys/kernel/msgmax" }),
    );
    f.bundle.config_mut()["linux"]["sysctl"] = json!({ "kernel.shmmni": "1234" });
    let id = unique_id("cve52881s");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    if out.success() {
        let r = out.json().expect("probe JSON");
        assert_ne!(
            r["kernel.msgmax"], "1234",
            "the sysctl write landed in kernel.msgmax: {out}"
        );
    } else if !f.rt.is_runc() {
        assert!(
            out.stderr.contains(&format!("mounts[{i}]")),
            "the error names the mount: {out}"
        );
    }
    assert_eq!(f.leaks(&id), Vec::<String>::new());

    let mut f = Fixture::new(&["/bin/probe", "exit", "0"]).expect("fixture");
    let fake = f.bundle.path().join("fake-oom");
    std::fs::write(&fake, "fake").expect("file");
    push_mount(
        &mut f,
        json!({ "destination": "/proc/self/oom_score_adj", "type": "bind", "source": fake }),
    );
    f.bundle.config_mut()["process"]["oomScoreAdj"] = json!(500);
    let id = unique_id("cve52881o");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    assert_eq!(
        std::fs::read_to_string(&fake).expect("read"),
        "fake",
        "oom_score_adj was written into the bundle file: {out}"
    );
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}
