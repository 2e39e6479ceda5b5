//! CVE-2025-52881: the runtime's procfs writes redirected to another procfs file.

use super::*;

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
