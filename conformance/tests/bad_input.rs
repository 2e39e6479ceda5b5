//! Bad input: each case must fail with a non-zero exit, an error message naming what was
//! wrong, and nothing left behind.
#![allow(clippy::expect_used, clippy::panic)]

use serde_json::json;
use skiff_conformance::{unique_id, Fixture, Outcome};

/// Runs the fixture's bundle under `id` and checks: non-zero exit, `needle` in stderr
/// (case-insensitive), no leaks.
fn fails_naming(f: &Fixture, id: &str, needle: &str) -> Outcome {
    let out = f.rt.run(id, &f.bundle).expect("run");
    assert!(!out.success(), "must fail: {out}");
    assert_ne!(
        out.code(),
        None,
        "the runtime must exit, not die of a signal: {out}"
    );
    assert_eq!(f.leaks(id), Vec::<String>::new());
    assert!(
        out.stderr.to_lowercase().contains(&needle.to_lowercase()),
        "the error names {needle:?}: {out}"
    );
    out
}

/// Like [`fails_naming`], but runc 1.1.5 is known not to name the culprit: for runc only
/// the failure and the leak check are asserted.
fn fails_naming_except_runc(f: &Fixture, id: &str, needle: &str) {
    if f.rt.is_runc() {
        let out = f.rt.run(id, &f.bundle).expect("run");
        assert!(!out.success(), "must fail: {out}");
        assert_eq!(f.leaks(id), Vec::<String>::new());
        eprintln!("runc does not name {needle:?} here: {}", out.stderr.trim());
    } else {
        fails_naming(f, id, needle);
    }
}

#[test]
fn malformed_config_json() {
    let mut f = Fixture::new(&["/bin/true"]).expect("fixture");
    f.bundle
        .write_raw_config("{ \"ociVersion\": \"1.0.2\", \"process\": ")
        .expect("write config");
    let id = unique_id("badjson");
    // runc 1.1.5 says only "unexpected EOF".
    fails_naming_except_runc(&f, &id, "config.json");
}

#[test]
fn config_json_of_the_wrong_shape() {
    let mut f = Fixture::new(&["/bin/true"]).expect("fixture");
    f.bundle.config_mut()["process"]["args"] = json!("not-an-array");
    let id = unique_id("badshape");
    fails_naming(&f, &id, "args");
}

#[test]
fn missing_config_json() {
    let mut f = Fixture::new(&["/bin/true"]).expect("fixture");
    f.bundle.write_raw_config("").expect("write config");
    std::fs::remove_file(f.bundle.path().join("config.json")).expect("remove config");
    let id = unique_id("noconfig");
    fails_naming(&f, &id, "config.json");
}

#[test]
fn missing_rootfs() {
    let mut f = Fixture::new(&["/bin/true"]).expect("fixture");
    f.bundle.config_mut()["root"]["path"] = json!("no-such-rootfs");
    let id = unique_id("norootfs");
    fails_naming(&f, &id, "no-such-rootfs");
}

#[test]
fn bad_container_ids() {
    let f = Fixture::new(&["/bin/true"]).expect("fixture");
    for id in ["../x", "a/b", "..", "/abs"] {
        fails_naming(&f, id, "id");
        // And nothing was created next to the state root.
        let parent = f.rt.root().join("..").join("x");
        assert!(!parent.exists(), "{id} escaped the state root");
    }
}

#[test]
fn unknown_namespace_type() {
    let mut f = Fixture::new(&["/bin/true"]).expect("fixture");
    f.bundle.config_mut()["linux"]["namespaces"]
        .as_array_mut()
        .expect("namespaces")
        .push(json!({ "type": "bogusns" }));
    let id = unique_id("badns");
    fails_naming(&f, &id, "bogusns");
}

#[test]
fn namespace_path_that_does_not_exist() {
    let mut f = Fixture::new(&["/bin/true"]).expect("fixture");
    for ns in f.bundle.config_mut()["linux"]["namespaces"]
        .as_array_mut()
        .expect("namespaces")
    {
        if ns["type"] == "network" {
            ns["path"] = json!("/proc/self/ns/no-such-ns");
        }
    }
    let id = unique_id("badnspath");
    fails_naming(&f, &id, "/proc/self/ns/no-such-ns");
}

#[test]
fn mount_source_that_does_not_exist() {
    let mut f = Fixture::new(&["/bin/true"]).expect("fixture");
    let source = format!("/nonexistent-skiff-source-{}", f.bundle.token());
    f.bundle.config_mut()["mounts"]
        .as_array_mut()
        .expect("mounts")
        .push(json!({
            "destination": "/data",
            "type": "bind",
            "source": source,
            "options": ["rbind"],
        }));
    let id = unique_id("badsrc");
    fails_naming(&f, &id, &source);
}

#[test]
fn process_binary_that_does_not_exist() {
    let f = Fixture::new(&["/bin/no-such-binary"]).expect("fixture");
    let id = unique_id("nobin");
    fails_naming(&f, &id, "/bin/no-such-binary");
}

#[test]
fn process_cwd_that_is_a_file() {
    let mut f = Fixture::new(&["/bin/true"]).expect("fixture");
    f.bundle.config_mut()["process"]["cwd"] = json!("/etc/passwd");
    let id = unique_id("badcwd");
    fails_naming(&f, &id, "/etc/passwd");
}

#[test]
fn unknown_rlimit() {
    let mut f = Fixture::new(&["/bin/true"]).expect("fixture");
    f.bundle.config_mut()["process"]["rlimits"] =
        json!([{ "type": "RLIMIT_BOGUS", "soft": 1, "hard": 1 }]);
    let id = unique_id("badrlimit");
    fails_naming(&f, &id, "RLIMIT_BOGUS");
}

#[test]
fn unknown_capability() {
    let mut f = Fixture::new(&["/bin/true"]).expect("fixture");
    f.bundle.config_mut()["process"]["capabilities"]["bounding"] = json!(["CAP_BOGUS"]);
    let id = unique_id("badcap");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    // runc 1.1 warns about unknown capabilities and goes on; failing is fine too, but it
    // must not crash and must leave nothing behind.
    assert_ne!(out.code(), None, "{out}");
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

#[test]
fn missing_bundle_dir() {
    let f = Fixture::new(&["/bin/true"]).expect("fixture");
    let id = unique_id("nobundle");
    let out =
        f.rt.cmd(&["run", "--bundle", "/nonexistent-skiff-bundle", &id])
            .expect("run");
    assert!(!out.success(), "{out}");
    assert!(out.stderr.contains("/nonexistent-skiff-bundle"), "{out}");
    assert!(!f.rt.root().join(&id).exists());
}

#[test]
fn unknown_personality_domain() {
    let mut f = Fixture::new(&["/bin/true"]).expect("fixture");
    f.bundle.config_mut()["linux"]["personality"] = json!({ "domain": "LINUX64" });
    if f.rt.is_runc() {
        eprintln!("skipped: runc 1.1.5 ignores linux.personality");
        return;
    }
    fails_naming(&f, &unique_id("badpers"), "linux.personality.domain");
}

#[test]
fn personality_flags() {
    let mut f = Fixture::new(&["/bin/true"]).expect("fixture");
    f.bundle.config_mut()["linux"]["personality"] =
        json!({ "domain": "LINUX", "flags": ["ADDR_NO_RANDOMIZE"] });
    if f.rt.is_runc() {
        eprintln!("skipped: runc 1.1.5 ignores linux.personality");
        return;
    }
    fails_naming(&f, &unique_id("perflag"), "linux.personality.flags");
}
