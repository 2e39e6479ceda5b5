//! Security settings of the process seen from inside: LSM labels (refused when the kernel
//! does not run that LSM), the five capability sets and the ambient rules, and user
//! namespaces (id mappings written for a new one, joining one by path).
#![allow(clippy::expect_used, clippy::panic)]

use std::path::Path;

use serde_json::{json, Value};
use skiff_conformance::{cap_mask, probe_caps, unique_id, Fixture};

/// Whether the kernel runs `lsm` ("apparmor", "selinux"), as skiff decides it.
fn lsm_enabled(lsm: &str) -> bool {
    if let Ok(list) = std::fs::read_to_string("/sys/kernel/security/lsm") {
        return list.trim().split(',').any(|l| l == lsm);
    }
    match lsm {
        "apparmor" => std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
            .is_ok_and(|v| v.trim() == "Y"),
        _ => Path::new("/sys/fs/selinux/enforce").exists(),
    }
}

fn run_probe(f: &Fixture, tag: &str) -> Value {
    let id = unique_id(tag);
    let out = f.rt.run(&id, &f.bundle).expect("run");
    assert_eq!(out.code(), Some(0), "{out}");
    let v = out.json().expect("probe JSON");
    assert_eq!(f.leaks(&id), Vec::<String>::new());
    v
}

// ---------------------------------------------------------------------------------------
// LSM labels.
// ---------------------------------------------------------------------------------------

/// Each label field, on a kernel without its LSM: `run` fails naming the field and
/// saying the LSM is not enabled, and leaves nothing behind. A runtime that ignored the
/// field would run the container unconfined (exit 0). On a kernel that runs the LSM the
/// case is skipped (skiff applies the label there).
#[test]
fn lsm_labels_are_refused_without_the_lsm() {
    let cases: [(&str, &str, fn(&mut Value)); 3] = [
        ("process.apparmorProfile", "apparmor", |c| {
            c["process"]["apparmorProfile"] = json!("skiff-test-profile")
        }),
        ("process.selinuxLabel", "selinux", |c| {
            c["process"]["selinuxLabel"] = json!("system_u:system_r:container_t:s0")
        }),
        ("linux.mountLabel", "selinux", |c| {
            c["linux"]["mountLabel"] = json!("system_u:object_r:container_file_t:s0")
        }),
    ];
    for (field, lsm, set) in cases {
        if lsm_enabled(lsm) {
            eprintln!("skipped {field}: this kernel runs {lsm}");
            continue;
        }
        let mut f = Fixture::new(&["/bin/probe", "exit", "0"]).expect("fixture");
        set(f.bundle.config_mut());
        let id = unique_id("lsm");
        let out = f.rt.run(&id, &f.bundle).expect("run");
        if f.rt.is_runc() && lsm == "selinux" {
            // runc ignores SELinux labels when SELinux is off.
            assert_eq!(f.rt.leaks(&id, &f.bundle), Vec::<String>::new());
            continue;
        }
        assert!(!out.success(), "{field} was accepted: {out}");
        if !f.rt.is_runc() {
            assert!(out.stderr.contains(field), "the error names {field}: {out}");
            assert!(
                out.stderr.contains("not enabled"),
                "the error says why: {out}"
            );
        }
        assert_eq!(f.leaks(&id), Vec::<String>::new());
    }
}

/// An exec whose process asks for an AppArmor profile on a kernel without AppArmor is
/// refused; the container keeps running and nothing of the exec is left.
#[test]
fn exec_with_an_lsm_label_is_refused_without_the_lsm() {
    if lsm_enabled("apparmor") {
        eprintln!("skipped: this kernel runs apparmor");
        return;
    }
    let f = Fixture::new(&["/bin/sh", "-c", "sleep 30"]).expect("fixture");
    let id = unique_id("lsmexec");
    assert!(f.rt.create(&id, &f.bundle).expect("create").success());
    assert!(f.rt.start(&id).expect("start").success());
    let process = f.bundle.path().join("process.json");
    let mut p = f.bundle.config()["process"].clone();
    p["args"] = json!(["/bin/probe", "exit", "0"]);
    p["apparmorProfile"] = json!("skiff-test-profile");
    std::fs::write(&process, p.to_string()).expect("process.json");
    let path = process.to_string_lossy().into_owned();
    let out = f.rt.exec(&id, &["--process", &path], &[]).expect("exec");
    assert!(!out.success(), "exec was accepted: {out}");
    if !f.rt.is_runc() {
        assert!(
            out.stderr.contains("process.apparmorProfile"),
            "the error names the field: {out}"
        );
    }
    assert_eq!(f.rt.status(&id).as_deref(), Some("running"));
    let _ = f.rt.kill(&id, "KILL");
    let _ = f.rt.delete_force(&id);
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------
// Capabilities.
// ---------------------------------------------------------------------------------------

/// A non-root process with five different sets. After execve of a file without file
/// capabilities the kernel gives: bounding as set, inheritable as set, and permitted =
/// effective = ambient = the ambient capabilities that are also permitted and inheritable
/// (the others cannot be raised; runc skips them too). A runtime that mixed the sets up
/// or raised nothing shows other masks.
#[test]
fn non_root_gets_the_five_sets() {
    let mut f = Fixture::new(&["/bin/probe"]).expect("fixture");
    let bounding = [
        "CAP_CHOWN",
        "CAP_KILL",
        "CAP_NET_RAW",
        "CAP_SETUID",
        "CAP_FOWNER",
    ];
    let c = f.bundle.config_mut();
    c["process"]["user"] = json!({ "uid": 1000, "gid": 1000 });
    c["process"]["capabilities"] = json!({
        "bounding": bounding,
        "permitted": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"],
        "effective": ["CAP_CHOWN"],
        "inheritable": ["CAP_KILL", "CAP_NET_RAW", "CAP_FOWNER"],
        // CAP_CHOWN: not inheritable; CAP_FOWNER: not permitted; both are not raised.
        "ambient": ["CAP_KILL", "CAP_NET_RAW", "CAP_CHOWN", "CAP_FOWNER"],
    });
    let r = run_probe(&f, "caps5");
    let raised = cap_mask(&["CAP_KILL", "CAP_NET_RAW"]);
    assert_eq!(
        probe_caps(&r, "bounding"),
        Some(cap_mask(&bounding)),
        "{}",
        r["capabilities"]
    );
    assert_eq!(
        probe_caps(&r, "inheritable"),
        Some(cap_mask(&["CAP_KILL", "CAP_NET_RAW", "CAP_FOWNER"])),
        "{}",
        r["capabilities"]
    );
    for set in ["ambient", "permitted", "effective"] {
        assert_eq!(
            probe_caps(&r, set),
            Some(raised),
            "{set}: {}",
            r["capabilities"]
        );
    }
    assert_eq!(
        (r["uid"].as_u64(), r["euid"].as_u64()),
        (Some(1000), Some(1000))
    );
}

/// Root with a bounding set smaller than everything: nothing outside it survives, in any
/// set, and the inheritable set is kept. A runtime that forgot the bounding set shows
/// the full set of the runtime itself.
#[test]
fn root_is_held_to_the_bounding_set() {
    let mut f = Fixture::new(&["/bin/probe"]).expect("fixture");
    f.bundle.config_mut()["process"]["capabilities"] = json!({
        "bounding": ["CAP_NET_BIND_SERVICE"],
        "permitted": ["CAP_NET_BIND_SERVICE"],
        "effective": ["CAP_NET_BIND_SERVICE"],
        "inheritable": [],
        "ambient": [],
    });
    let r = run_probe(&f, "capsroot");
    let only = cap_mask(&["CAP_NET_BIND_SERVICE"]);
    for set in ["bounding", "permitted", "effective"] {
        assert_eq!(
            probe_caps(&r, set),
            Some(only),
            "{set}: {}",
            r["capabilities"]
        );
    }
    assert_eq!(probe_caps(&r, "inheritable"), Some(0));
    assert_eq!(probe_caps(&r, "ambient"), Some(0));
}

/// An empty capabilities object: the process has no capability at all (not the
/// runtime's). A runtime that kept its own shows a full bounding or permitted set.
#[test]
fn no_capabilities_means_none() {
    let mut f = Fixture::new(&["/bin/probe"]).expect("fixture");
    f.bundle.config_mut()["process"]["capabilities"] = json!({});
    let r = run_probe(&f, "capsnone");
    for set in [
        "bounding",
        "permitted",
        "effective",
        "inheritable",
        "ambient",
    ] {
        assert_eq!(probe_caps(&r, set), Some(0), "{set}: {}", r["capabilities"]);
    }
}

/// An unknown name in any of the five sets fails, naming the set's field path; nothing
/// is left behind. runc 1.1 warns and goes on (see README): only the leak check applies.
#[test]
fn unknown_capability_names_the_field() {
    for set in [
        "bounding",
        "effective",
        "permitted",
        "inheritable",
        "ambient",
    ] {
        let mut f = Fixture::new(&["/bin/probe", "exit", "0"]).expect("fixture");
        f.bundle.config_mut()["process"]["capabilities"][set] =
            json!(["CAP_KILL", "CAP_NOT_A_CAP"]);
        let id = unique_id("capbad");
        let out = f.rt.run(&id, &f.bundle).expect("run");
        if !f.rt.is_runc() {
            assert!(!out.success(), "{set}: accepted: {out}");
            let field = format!("process.capabilities.{set}");
            assert!(
                out.stderr.contains(&field),
                "the error names {field}: {out}"
            );
            assert!(out.stderr.contains("CAP_NOT_A_CAP"), "and the name: {out}");
        }
        assert_eq!(f.leaks(&id), Vec::<String>::new());
    }
}

/// `exec --cap` adds a capability to the exec'd process's sets (as runc's does), and an
/// unknown `--cap` is refused. A runtime that ignored `--cap` shows the container's sets.
#[test]
fn exec_cap_adds_and_unknown_is_refused() {
    let f = Fixture::new(&["/bin/sh", "-c", "sleep 30"]).expect("fixture");
    let id = unique_id("execcap");
    assert!(f.rt.create(&id, &f.bundle).expect("create").success());
    assert!(f.rt.start(&id).expect("start").success());
    let out =
        f.rt.exec(&id, &["--cap", "CAP_SYS_PTRACE"], &["/bin/probe"])
            .expect("exec");
    assert!(out.success(), "{out}");
    let r = out.json().expect("probe JSON");
    let ptrace = cap_mask(&["CAP_SYS_PTRACE"]);
    for set in ["bounding", "permitted", "effective"] {
        let mask = probe_caps(&r, set).unwrap_or(0);
        assert_eq!(mask & ptrace, ptrace, "{set}: {}", r["capabilities"]);
    }
    let out =
        f.rt.exec(
            &id,
            &["--cap", "CAP_NOT_A_CAP"],
            &["/bin/probe", "exit", "0"],
        )
        .expect("exec");
    // runc 1.1 warns about an unknown --cap and goes on.
    if !f.rt.is_runc() {
        assert!(!out.success(), "an unknown --cap was accepted: {out}");
        assert!(out.stderr.contains("CAP_NOT_A_CAP"), "{out}");
    }
    let _ = f.rt.kill(&id, "KILL");
    let _ = f.rt.delete_force(&id);
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}
