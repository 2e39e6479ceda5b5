//! Smoke tests of the bench harness (not benchmarks: no timing thresholds).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

const BENCH: &str = env!("CARGO_BIN_EXE_skiff-bench");
/// The containers-common seccomp profile (golang-github-containers-common).
const SECCOMP_PROFILE: &str = "/usr/share/containers/seccomp.json";

fn on_path(name: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(
            ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
                .iter()
                .map(Into::into),
        )
        .any(|dir| dir.join(name).is_file())
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn runtime<'a>(report: &'a Value, name: &str) -> Option<&'a Value> {
    report["runtimes"]
        .as_array()?
        .iter()
        .find(|r| r["name"] == name)
}

#[test]
fn quick_run_against_runc() -> Result<(), Box<dyn std::error::Error>> {
    if !is_root() || !on_path("runc") || !on_path("busybox") {
        eprintln!("skipping: needs root, runc and busybox");
        return Ok(());
    }
    let out = Command::new(BENCH)
        .args(["--quick", "--runtimes", "runc", "--json"])
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "skiff-bench failed: {stderr}");
    let report: Value = serde_json::from_slice(&out.stdout)?;
    let runc = runtime(&report, "runc").ok_or("no runc entry")?;
    assert_eq!(runc["status"], "ok", "{runc}");
    assert_eq!(runc["completed_iterations"], 1);
    assert!(runc["binary_size_bytes"].as_u64().unwrap_or(0) > 0);
    for op in ["run", "create", "start", "delete"] {
        let stats = &report["stats"][op]["runc"];
        assert_eq!(stats["samples"], 1, "{op}: {stats}");
        assert!(stats["median_ms"].as_f64().unwrap_or(0.0) > 0.0, "{op}");
    }
    assert!(
        report["stats"]["create"]["runc"]["median_rss_kib"]
            .as_u64()
            .unwrap_or(0)
            > 0
    );
    if Path::new(SECCOMP_PROFILE).is_file() {
        let seccomp = &report["seccomp"];
        assert_eq!(seccomp["rounds"], 3, "{seccomp}");
        assert_eq!(seccomp["compilers"][1]["name"], "libseccomp", "{seccomp}");
    }
    Ok(())
}

#[test]
fn seccomp_compile_skiff_and_libseccomp() -> Result<(), Box<dyn std::error::Error>> {
    if !Path::new(SECCOMP_PROFILE).is_file() {
        eprintln!("skipping: needs {SECCOMP_PROFILE} (golang-github-containers-common)");
        return Ok(());
    }
    let out = Command::new(BENCH)
        .args(["seccomp", "-n", "3", "--warmup", "1"])
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "skiff-bench seccomp failed: {stderr}");
    let table = String::from_utf8(out.stdout)?;
    let row = |name: &str| {
        table
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .map(|l| l.split_whitespace().count())
    };
    // skiff: label, median, p90, instructions; libseccomp has its version.
    assert_eq!(row("skiff"), Some(4), "{table}");
    assert_eq!(row("libseccomp"), Some(5), "{table}");
    assert_eq!(row("skiff/libseccomp"), Some(4), "{table}");
    assert!(table.contains(SECCOMP_PROFILE), "{table}");

    let out = Command::new(BENCH)
        .args(["seccomp", "-n", "2", "--warmup", "0", "--json"])
        .output()?;
    assert!(out.status.success());
    let report: Value = serde_json::from_slice(&out.stdout)?;
    let compilers = report["compilers"].as_array().ok_or("no compilers")?;
    assert_eq!(compilers.len(), 2, "{report}");
    for (c, name) in compilers.iter().zip(["skiff", "libseccomp"]) {
        assert_eq!(c["name"], name, "{c}");
        assert_eq!(c["samples"], 2, "{c}");
        assert!(c["instructions"].as_u64().unwrap_or(0) > 100, "{c}");
    }
    assert!(report["ratios"]["median"].as_f64().is_some(), "{report}");
    Ok(())
}

#[test]
fn seccomp_missing_profile_names_the_path() -> Result<(), Box<dyn std::error::Error>> {
    let out = Command::new(BENCH)
        .args([
            "seccomp",
            "-n",
            "1",
            "--profile",
            "/nonexistent/seccomp.json",
        ])
        .output()?;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/nonexistent/seccomp.json"), "{stderr}");
    Ok(())
}

#[test]
fn failing_runtime_is_reported_not_fatal() -> Result<(), Box<dyn std::error::Error>> {
    if !on_path("busybox") || !Path::new("/bin/false").is_file() {
        eprintln!("skipping: needs busybox and /bin/false");
        return Ok(());
    }
    let out = Command::new(BENCH)
        .args([
            "--quick",
            "--no-unshare",
            "--runtimes",
            "crun,skiff",
            "--crun",
            "/bin/false",
            "--skiff",
            "/nonexistent/skiff",
            "--json",
        ])
        .output()?;
    // Nothing produced data, so the exit status says so, but the report is
    // still printed.
    assert!(!out.status.success());
    let report: Value = serde_json::from_slice(&out.stdout)?;
    let crun = runtime(&report, "crun").ok_or("no crun entry")?;
    assert_eq!(crun["status"], "failed", "{crun}");
    assert!(crun["error"]
        .as_str()
        .unwrap_or("")
        .contains("exit status 1"));
    let skiff = runtime(&report, "skiff").ok_or("no skiff entry")?;
    assert_eq!(skiff["status"], "missing", "{skiff}");
    Ok(())
}
