//! CVE-2019-5736: the container overwrites the runtime binary through /proc/PID/exe.

use super::*;

/// A private copy of the runtime binary, the one the attacks aim at, and a runtime
/// that runs it: the host's binary is never at risk.
struct PrivateRuntime {
    _dir: tempfile::TempDir,
    original: PathBuf,
    bin: PathBuf,
    before: Vec<u8>,
    rt: Runtime,
}

impl PrivateRuntime {
    fn new() -> Self {
        let original = runtime_binary().expect("runtime binary");
        let dir = tempfile::tempdir().expect("tempdir");
        let bin = dir.path().join(original.file_name().expect("binary name"));
        std::fs::copy(&original, &bin).expect("copy the runtime");
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let before = std::fs::read(&bin).expect("read binary");
        let rt = Runtime::with_bin(bin.clone()).expect("runtime");
        PrivateRuntime {
            _dir: dir,
            original,
            bin,
            before,
            rt,
        }
    }

    /// Whether the copy still holds what was copied.
    fn unchanged(&self) -> bool {
        std::fs::read(&self.bin).expect("read binary") == self.before
    }
}

/// A bundle running `args` with CAP_SYS_PTRACE, so that the container CAN open the exe
/// of a non-dumpable process.
fn ptrace_bundle(args: &[&str]) -> skiff_conformance::Bundle {
    let mut bundle = skiff_conformance::Bundle::new(args).expect("bundle");
    let caps = ["CAP_SYS_PTRACE", "CAP_KILL", "CAP_AUDIT_WRITE"];
    for set in ["bounding", "effective", "permitted"] {
        bundle.config_mut()["process"]["capabilities"][set] = json!(caps);
    }
    bundle
}

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
    let private = PrivateRuntime::new();
    let (rt, bin, original) = (
        &private.rt,
        private.bin.as_path(),
        private.original.as_path(),
    );
    let bundle = ptrace_bundle(&["/bin/sh", "-c", "sleep 30"]);
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
    assert!(private.unchanged(), "the runtime binary changed: {log}");
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
    let private = PrivateRuntime::new();
    let (rt, bin, original) = (
        &private.rt,
        private.bin.as_path(),
        private.original.as_path(),
    );
    let bundle = ptrace_bundle(&["/bin/probe", "hunt-exe", "4"]);
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
    assert!(private.unchanged(), "the runtime binary changed: {report}");
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
