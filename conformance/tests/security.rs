//! Security settings of the process seen from inside: LSM labels (refused when the kernel
//! does not run that LSM; an AppArmor profile confines the process where AppArmor runs, as
//! in the v2 lane's guest kernel, and SELinux labels are applied where SELinux runs, as in
//! the lane's SELinux boot), the five capability sets and the ambient rules, and
//! user namespaces (id mappings written for a new one, joining one by path).
#![allow(clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

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
    type Case = (&'static str, &'static str, fn(&mut Value));
    let cases: [Case; 3] = [
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

/// An exec whose process asks for an AppArmor profile (in `--process`, or by
/// `--apparmor`), or an SELinux label (`--process-label`), on a kernel without that LSM
/// is refused naming the field; the container keeps running and nothing of the exec is
/// left. A runtime that ignored the label runs the process unconfined (exit 0). Each
/// case is skipped where its LSM runs (the v2 lane's boots run one of the two).
#[test]
fn exec_with_an_lsm_label_is_refused_without_the_lsm() {
    let (apparmor, selinux) = (lsm_enabled("apparmor"), lsm_enabled("selinux"));
    if apparmor && selinux {
        eprintln!("skipped: this kernel runs apparmor and selinux");
        return;
    }
    let f = Fixture::new(&["/bin/sh", "-c", "sleep 30"]).expect("fixture");
    let id = unique_id("lsmexec");
    assert!(f.rt.create(&id, &f.bundle).expect("create").success());
    assert!(f.rt.start(&id).expect("start").success());
    if apparmor {
        eprintln!("skipped --process with apparmorProfile: this kernel runs apparmor");
    } else {
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
    }
    for (flag, field, runs) in [
        ("--apparmor", "process.apparmorProfile", apparmor),
        ("--process-label", "process.selinuxLabel", selinux),
    ] {
        if f.rt.is_runc() && flag == "--process-label" {
            continue;
        }
        if runs {
            eprintln!("skipped {flag}: this kernel runs its LSM");
            continue;
        }
        let out =
            f.rt.exec(
                &id,
                &[flag, "skiff-test-label"],
                &["/bin/probe", "exit", "0"],
            )
            .expect("exec");
        assert!(!out.success(), "exec {flag} was accepted: {out}");
        if !f.rt.is_runc() {
            assert!(out.stderr.contains(field), "the error names {field}: {out}");
        }
    }
    assert_eq!(f.rt.status(&id).as_deref(), Some("running"));
    let _ = f.rt.kill(&id, "KILL");
    let _ = f.rt.delete_force(&id);
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

/// `apparmor_parser`: on PATH, else in /sbin or /usr/sbin.
fn apparmor_parser() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/sbin"), PathBuf::from("/usr/sbin")])
        .map(|d| d.join("apparmor_parser"))
        .find(|p| p.is_file())
}

/// The profiles the kernel has loaded, one `name (mode)` a line.
fn loaded_profiles() -> String {
    std::fs::read_to_string("/sys/kernel/security/apparmor/profiles").unwrap_or_default()
}

fn profile_loaded(name: &str) -> bool {
    loaded_profiles()
        .lines()
        .any(|l| l.split(" (").next() == Some(name))
}

/// An AppArmor profile loaded into the kernel for one test; removed again on drop.
/// It allows what a container needs and denies reading `/secret/denied` (a path as the
/// confined process sees it, inside its root).
struct TestProfile {
    parser: PathBuf,
    dir: tempfile::TempDir,
    name: String,
}

impl TestProfile {
    /// Loads profile `name`; panics if AppArmor runs but the parser is missing or fails.
    fn load(name: &str) -> TestProfile {
        let parser = apparmor_parser().expect(
            "AppArmor is enabled but apparmor_parser is not installed (apt-get install apparmor)",
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let text = format!(
            "profile {name} flags=(attach_disconnected,mediate_deleted) {{\n  file,\n  \
             capability,\n  mount,\n  umount,\n  pivot_root,\n  signal,\n  ptrace,\n  \
             unix,\n  network,\n  deny /secret/denied r,\n}}\n"
        );
        std::fs::write(dir.path().join("profile"), text).expect("write the profile");
        let profile = TestProfile {
            parser,
            dir,
            name: name.to_owned(),
        };
        let out = profile.parser_run("-r");
        assert!(out.status.success(), "apparmor_parser -r: {out:?}");
        assert!(
            profile_loaded(name),
            "{name} is not loaded: {}",
            loaded_profiles()
        );
        profile
    }

    /// `apparmor_parser FLAG -K profile` (-K: no cache).
    fn parser_run(&self, flag: &str) -> std::process::Output {
        std::process::Command::new(&self.parser)
            .args([flag, "-K"])
            .arg(self.dir.path().join("profile"))
            .output()
            .expect("run apparmor_parser")
    }

    /// Removes the profile, and checks it is gone.
    fn remove(self) {
        let out = self.parser_run("-R");
        assert!(out.status.success(), "apparmor_parser -R: {out:?}");
        assert!(!profile_loaded(&self.name), "{}", loaded_profiles());
        std::mem::forget(self);
    }
}

impl Drop for TestProfile {
    fn drop(&mut self) {
        let _ = self.parser_run("-R");
    }
}

/// A rootfs with `/secret/allowed` and `/secret/denied`: same owner and mode, both
/// readable to the container's root without the profile.
fn add_secrets(f: &Fixture) {
    let dir = f.bundle.rootfs().join("secret");
    std::fs::create_dir_all(&dir).expect("mkdir secret");
    std::fs::write(dir.join("allowed"), "allowed-content\n").expect("write allowed");
    std::fs::write(dir.join("denied"), "denied-content\n").expect("write denied");
}

/// What the confined process prints: its label, then the two files read by the probe
/// (errors on stderr with the errno).
const CONFINED_SCRIPT: &str = "(cat /proc/self/attr/apparmor/current 2>/dev/null || \
     cat /proc/self/attr/current); echo; /bin/probe cat /secret/allowed; \
     echo allowed-rc=$?; /bin/probe cat /secret/denied; echo denied-rc=$?";

/// The output of [`CONFINED_SCRIPT`] run under `profile`: the label, the allowed file
/// read and the denied one refused with EACCES.
fn assert_confined(out: &skiff_conformance::Outcome, profile: &str) {
    assert!(out.success(), "{out}");
    let label = out.stdout.lines().next().unwrap_or_default();
    assert_eq!(label, format!("{profile} (enforce)"), "the label: {out}");
    assert!(
        out.stdout.contains("allowed-content\nallowed-rc=0"),
        "{out}"
    );
    assert!(
        out.stdout.contains("denied-rc=1"),
        "the denied file was read: {out}"
    );
    assert!(!out.stdout.contains("denied-content"), "{out}");
    assert!(
        out.stderr
            .contains("cat /secret/denied: Permission denied (os error 13)"),
        "EACCES: {out}"
    );
}

/// `process.apparmorProfile` on a kernel running AppArmor: the container's process runs
/// in the profile (its label reads `NAME (enforce)`), and the profile holds: a file it
/// denies cannot be read (EACCES) while its neighbour, same owner and mode, can. The
/// container then goes away without leaks, and the profile is removed. A runtime that
/// ignored the field runs the process `unconfined` and reads both files. Skipped where
/// AppArmor does not run (the refusal is tested above); it runs in the v2 lane, whose
/// Debian kernel has AppArmor (docs/cgroup-v2-lane.md).
#[test]
fn apparmor_profile_confines_the_container() {
    if !lsm_enabled("apparmor") {
        eprintln!("skipped: this kernel does not run apparmor");
        return;
    }
    let profile = TestProfile::load("skiff-conf-test");
    let mut f = Fixture::new(&["/bin/sh", "-c", CONFINED_SCRIPT]).expect("fixture");
    add_secrets(&f);
    f.bundle.config_mut()["process"]["apparmorProfile"] = json!("skiff-conf-test");
    let id = unique_id("apparmor");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    assert_confined(&out, "skiff-conf-test");
    assert_eq!(f.leaks(&id), Vec::<String>::new());
    // The host (unconfined) reads the file the container could not.
    let host = std::fs::read_to_string(f.bundle.rootfs().join("secret/denied"));
    assert_eq!(host.expect("read on the host"), "denied-content\n");
    profile.remove();
}

/// `exec --apparmor PROFILE` into an unconfined container: the exec'd process runs in
/// the profile and is held to it; the container's own process stays unconfined. A
/// runtime that ignored `--apparmor` runs the exec unconfined.
#[test]
fn exec_apparmor_confines_the_process() {
    if !lsm_enabled("apparmor") {
        eprintln!("skipped: this kernel does not run apparmor");
        return;
    }
    let profile = TestProfile::load("skiff-conf-test-exec");
    let f = Fixture::new(&["/bin/sh", "-c", "sleep 30"]).expect("fixture");
    add_secrets(&f);
    let id = unique_id("apparmorexec");
    assert!(f.rt.create(&id, &f.bundle).expect("create").success());
    assert!(f.rt.start(&id).expect("start").success());
    let out =
        f.rt.exec(
            &id,
            &["--apparmor", "skiff-conf-test-exec"],
            &["/bin/sh", "-c", CONFINED_SCRIPT],
        )
        .expect("exec");
    assert_confined(&out, "skiff-conf-test-exec");
    let pid = f.rt.state_json(&id).expect("state")["pid"]
        .as_u64()
        .expect("pid");
    let init_label = std::fs::read_to_string(format!("/proc/{pid}/attr/current"));
    assert_eq!(init_label.expect("label").trim(), "unconfined");
    let _ = f.rt.kill(&id, "KILL");
    let _ = f.rt.delete_force(&id);
    assert_eq!(f.leaks(&id), Vec::<String>::new());
    profile.remove();
}

/// A profile the kernel has not loaded, in `process.apparmorProfile` and in
/// `exec --apparmor`: each fails naming the field and the profile and saying it is not
/// loaded; `run` leaves nothing behind and the container of the exec keeps running. A
/// runtime that ignored the write's error would run the process unconfined (exit 0).
#[test]
fn unknown_apparmor_profile_is_refused() {
    if !lsm_enabled("apparmor") {
        eprintln!("skipped: this kernel does not run apparmor");
        return;
    }
    let name = "skiff-conf-no-such-profile";
    assert!(!profile_loaded(name));
    refuses_label(
        "process.apparmorProfile",
        "--apparmor",
        name,
        "no profile of that name loaded",
    );
}

/// `label` in `field` (for `run`) and in `exec EXEC_FLAG` fails naming the field and the
/// label and saying `why` (runc 1.1.5 is only checked for failing); `run` leaves nothing
/// behind and the container of the exec keeps running.
fn refuses_label(field: &str, exec_flag: &str, label: &str, why: &str) {
    let check = |out: &skiff_conformance::Outcome, runc: bool| {
        assert!(!out.success(), "{field} {label:?} was accepted: {out}");
        if !runc {
            assert!(
                out.stderr.contains(field) && out.stderr.contains(label),
                "the error names the field and the label: {out}"
            );
            assert!(out.stderr.contains(why), "the error says why: {out}");
        }
    };
    let key = field.trim_start_matches("process.");
    let mut f = Fixture::new(&["/bin/probe", "exit", "0"]).expect("fixture");
    f.bundle.config_mut()["process"][key] = json!(label);
    let id = unique_id("badlabel");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    check(&out, f.rt.is_runc());
    assert_eq!(f.leaks(&id), Vec::<String>::new());

    let f = Fixture::new(&["/bin/sh", "-c", "sleep 30"]).expect("fixture");
    let id = unique_id("badlabelexec");
    assert!(f.rt.create(&id, &f.bundle).expect("create").success());
    assert!(f.rt.start(&id).expect("start").success());
    let out =
        f.rt.exec(&id, &[exec_flag, label], &["/bin/probe", "exit", "0"])
            .expect("exec");
    check(&out, f.rt.is_runc());
    assert_eq!(f.rt.status(&id).as_deref(), Some("running"));
    let _ = f.rt.kill(&id, "KILL");
    let _ = f.rt.delete_force(&id);
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

/// The labels the SELinux tests ask for. The v2 lane's SELinux boot loads a policy that
/// defines them (conformance/fixtures/selinux/minimal.cil); a distribution's container
/// policy (container-selinux) has the same types.
const CONTAINER_LABEL: &str = "system_u:system_r:container_t:s0";
const FILE_LABEL: &str = "system_u:object_r:container_file_t:s0";

/// Whether the SELinux tests can run: the kernel runs SELinux, with a policy loaded (else
/// every label is refused by the kernel). Prints why not when they cannot.
fn selinux_runs() -> bool {
    if !lsm_enabled("selinux") {
        eprintln!("skipped: this kernel does not run selinux");
        return false;
    }
    assert!(
        Path::new("/sys/fs/selinux/enforce").exists(),
        "the kernel runs SELinux but selinuxfs is not mounted at /sys/fs/selinux (no policy?)"
    );
    true
}

/// An SELinux context as the kernel reports it (procfs attr files and the
/// `security.selinux` attribute may end with a NUL).
fn context(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw)
        .trim_end_matches(['\0', '\n'])
        .to_owned()
}

/// The SELinux label of `path` (its `security.selinux` extended attribute).
fn file_label(path: &Path) -> std::io::Result<String> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())?;
    let mut buf = vec![0u8; 4096];
    // SAFETY: both names are NUL-terminated C strings that outlive the call, and the
    // kernel writes at most buf.len() bytes into buf.
    let n = unsafe {
        libc::getxattr(
            c_path.as_ptr(),
            c"security.selinux".as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    let n = usize::try_from(n).map_err(|_| std::io::Error::last_os_error())?;
    buf.truncate(n);
    Ok(context(&buf))
}

/// The SELinux label of process `pid`, read from the host.
fn process_label(pid: u64) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/attr/current")).expect("attr/current");
    context(&raw)
}

fn container_pid(f: &Fixture, id: &str) -> u64 {
    f.rt.state_json(id).expect("state")["pid"]
        .as_u64()
        .expect("pid")
}

/// `process.selinuxLabel` on a kernel running SELinux: the container's process runs in
/// that context, as it reads it itself (/proc/self/attr/current) and as the host sees it,
/// while the runtime's own context is another. A runtime that ignored the field runs the
/// process in the runtime's context. Skipped where SELinux does not run (the refusal is
/// tested above); it runs in the v2 lane's SELinux boot (docs/cgroup-v2-lane.md).
#[test]
fn selinux_label_is_applied() {
    if !selinux_runs() {
        return;
    }
    let own = context(&std::fs::read("/proc/self/attr/current").expect("own label"));
    assert_ne!(own, CONTAINER_LABEL, "the test itself runs in the label");
    let script = "cat /proc/self/attr/current; echo; sleep 30";
    let mut f = Fixture::new(&["/bin/sh", "-c", script]).expect("fixture");
    f.bundle.config_mut()["process"]["selinuxLabel"] = json!(CONTAINER_LABEL);
    let id = unique_id("selinux");
    let out = f.rt.create(&id, &f.bundle).expect("create");
    assert!(out.success(), "{out}");
    let pid = container_pid(&f, &id);
    // Before start the process is still the runtime's, waiting to execve the command.
    assert_eq!(process_label(pid), own, "before start");
    assert!(f.rt.start(&id).expect("start").success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while process_label(pid) != CONTAINER_LABEL && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(process_label(pid), CONTAINER_LABEL, "seen from the host");
    let _ = f.rt.kill(&id, "KILL");
    let _ = f.rt.delete_force(&id);
    assert_eq!(f.leaks(&id), Vec::<String>::new());

    // And from inside, in a foreground run.
    let mut f = Fixture::new(&["/bin/sh", "-c", "cat /proc/self/attr/current"]).expect("fixture");
    f.bundle.config_mut()["process"]["selinuxLabel"] = json!(CONTAINER_LABEL);
    let id = unique_id("selinuxrun");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    assert!(out.success(), "{out}");
    assert_eq!(context(out.stdout.as_bytes()), CONTAINER_LABEL, "{out}");
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

/// `linux.mountLabel` on a kernel running SELinux: the file systems skiff mounts for the
/// container (tmpfs /dev and /dev/shm, devpts /dev/pts, the tmpfs over a masked
/// directory) carry the label as their
/// `context=`, so their root directories and a file the container creates in /dev/shm
/// have it; the rootfs (a bind mount, which takes no `context=`) keeps its own. Read from
/// the host through /proc/PID/root (busybox has no `ls -Z`). A runtime that ignored the
/// field leaves the mounts with the policy's default label.
#[test]
fn selinux_mount_label_is_applied() {
    if !selinux_runs() {
        return;
    }
    let script = "echo x > /dev/shm/made-inside && sleep 30";
    let mut f = Fixture::new(&["/bin/sh", "-c", script]).expect("fixture");
    f.bundle.config_mut()["linux"]["mountLabel"] = json!(FILE_LABEL);
    let id = unique_id("selinuxmnt");
    let out = f.rt.create(&id, &f.bundle).expect("create");
    assert!(out.success(), "{out}");
    assert!(f.rt.start(&id).expect("start").success());
    let root = PathBuf::from(format!("/proc/{}/root", container_pid(&f, &id)));
    let made = root.join("dev/shm/made-inside");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !made.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let mut labelled = vec!["dev", "dev/shm", "dev/shm/made-inside", "dev/pts"];
    // A masked directory is a tmpfs too (MASKED_PATHS has /sys/firmware).
    if Path::new("/sys/firmware").is_dir() {
        labelled.push("sys/firmware");
    }
    for path in labelled {
        let label = file_label(&root.join(path));
        assert_eq!(label.expect(path), FILE_LABEL, "/{path}");
    }
    let rootfs = file_label(&root.join("bin")).expect("/bin");
    assert_ne!(rootfs, FILE_LABEL, "the rootfs is relabelled");
    let _ = f.rt.kill(&id, "KILL");
    let _ = f.rt.delete_force(&id);
    assert_eq!(f.leaks(&id), Vec::<String>::new());

    // In the host's network and IPC namespaces, /sys and /dev/mqueue are the host's own
    // superblocks, which SELinux will not mount again with another context= (EBUSY): as
    // runc, skiff gives proc, sysfs and mqueue no context=, and the container runs.
    let mut f = Fixture::new(&["/bin/probe", "exit", "0"]).expect("fixture");
    let c = f.bundle.config_mut();
    c["linux"]["mountLabel"] = json!(FILE_LABEL);
    c["linux"]["namespaces"]
        .as_array_mut()
        .expect("namespaces")
        .retain(|n| n["type"] != "network" && n["type"] != "ipc");
    let id = unique_id("selinuxmnthost");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    assert!(out.success(), "{out}");
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

/// `exec --process-label LABEL` into a container without a label: the exec'd process
/// runs in LABEL, while the container's own process keeps the runtime's context. A runtime
/// that ignored the flag runs the exec in the container's context.
#[test]
fn exec_selinux_process_label_is_applied() {
    if !selinux_runs() {
        return;
    }
    let own = context(&std::fs::read("/proc/self/attr/current").expect("own label"));
    let f = Fixture::new(&["/bin/sh", "-c", "sleep 30"]).expect("fixture");
    let id = unique_id("selinuxexec");
    assert!(f.rt.create(&id, &f.bundle).expect("create").success());
    assert!(f.rt.start(&id).expect("start").success());
    let out =
        f.rt.exec(
            &id,
            &["--process-label", CONTAINER_LABEL],
            &["/bin/sh", "-c", "cat /proc/self/attr/current"],
        )
        .expect("exec");
    assert!(out.success(), "{out}");
    assert_eq!(context(out.stdout.as_bytes()), CONTAINER_LABEL, "{out}");
    assert_eq!(
        process_label(container_pid(&f, &id)),
        own,
        "the container's own"
    );
    let out =
        f.rt.exec(&id, &[], &["/bin/sh", "-c", "cat /proc/self/attr/current"])
            .expect("exec");
    assert!(out.success(), "{out}");
    assert_eq!(
        context(out.stdout.as_bytes()),
        own,
        "an exec without a label: {out}"
    );
    let _ = f.rt.kill(&id, "KILL");
    let _ = f.rt.delete_force(&id);
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

/// A context the loaded policy does not define, in `process.selinuxLabel` and in
/// `exec --process-label`: each fails naming the field and the label and saying the
/// policy does not define it (the kernel fails the write with EINVAL); `run` leaves
/// nothing behind and the container of the exec keeps running. A runtime that ignored
/// the kernel's refusal would run the process in the runtime's context (exit 0).
#[test]
fn invalid_selinux_label_is_refused() {
    if !selinux_runs() {
        return;
    }
    refuses_label(
        "process.selinuxLabel",
        "--process-label",
        "system_u:system_r:skiff_no_such_t:s0",
        "not a valid SELinux context",
    );
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

// ---------------------------------------------------------------------------------------
// User namespaces.
// ---------------------------------------------------------------------------------------

const HOST_ROOT: u32 = 100_000;

/// A bundle whose container gets a new user namespace mapping 0..65536 to
/// HOST_ROOT..: the bundle is opened to others (the mapped root is "other" to the host's
/// files), and `/data` belongs to the mapped root.
fn userns_fixture(args: &[&str]) -> Fixture {
    use std::os::unix::fs::PermissionsExt;
    let mut f = Fixture::new(args).expect("fixture");
    std::fs::set_permissions(f.bundle.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod bundle");
    let data = f.bundle.rootfs().join("data");
    std::fs::create_dir_all(&data).expect("mkdir data");
    std::os::unix::fs::chown(&data, Some(HOST_ROOT), Some(HOST_ROOT)).expect("chown data");
    let c = f.bundle.config_mut();
    c["linux"]["namespaces"]
        .as_array_mut()
        .expect("namespaces")
        .push(json!({ "type": "user" }));
    let map = json!([{ "containerID": 0, "hostID": HOST_ROOT, "size": 65536 }]);
    c["linux"]["uidMappings"] = map.clone();
    c["linux"]["gidMappings"] = map;
    f
}

fn stat_owner(path: &Path) -> (u32, u32) {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).expect("stat");
    (m.uid(), m.gid())
}

/// A new user namespace: the maps the parent wrote are what the container reads in
/// /proc/self/uid_map and gid_map, the process is uid 0 inside, and what it creates
/// belongs to the mapped host uid. A runtime without user namespace support shows the
/// host's identity map (`0 0 4294967295`) and host-root-owned files, or refuses.
#[test]
fn new_user_namespace_maps_ids() {
    let script = "cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; \
                  echo x > /data/made-inside; mkdir /data/dir; echo ok";
    let f = userns_fixture(&["/bin/sh", "-c", script]);
    let id = unique_id("userns");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    assert!(out.success(), "{out}");
    let lines: Vec<Vec<&str>> = out
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let want = vec!["0", "100000", "65536"];
    assert_eq!(lines.first(), Some(&want), "uid_map: {out}");
    assert_eq!(lines.get(1), Some(&want), "gid_map: {out}");
    assert_eq!(lines.get(2), Some(&vec!["0"]), "uid inside: {out}");
    assert_eq!(lines.get(3), Some(&vec!["0"]), "gid inside: {out}");
    assert_eq!(lines.get(4), Some(&vec!["ok"]), "{out}");
    let data = f.bundle.rootfs().join("data");
    assert_eq!(
        stat_owner(&data.join("made-inside")),
        (HOST_ROOT, HOST_ROOT)
    );
    assert_eq!(stat_owner(&data.join("dir")), (HOST_ROOT, HOST_ROOT));
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

/// Root in the new user namespace is not root on the host: a file of the rootfs owned by
/// the host's root (unmapped inside) cannot be written, capabilities or not. A runtime
/// that ran the container as host root writes the file.
#[test]
fn user_namespace_root_is_not_host_root() {
    let f = userns_fixture(&["/bin/sh", "-c", "echo pwned > /etc/passwd; echo rc=$?"]);
    let before = std::fs::read_to_string(f.bundle.rootfs().join("etc/passwd")).expect("read");
    let id = unique_id("usernsro");
    let out = f.rt.run(&id, &f.bundle).expect("run");
    assert!(out.success(), "{out}");
    assert!(!out.stdout.contains("rc=0"), "the write succeeded: {out}");
    let after = std::fs::read_to_string(f.bundle.rootfs().join("etc/passwd")).expect("read");
    assert_eq!(before, after);
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

/// `exec` joins the container's user namespace: the exec'd process sees the same maps.
/// A runtime that left the user namespace out of exec shows the host's identity map.
#[test]
fn exec_joins_the_user_namespace() {
    let f = userns_fixture(&["/bin/sh", "-c", "sleep 30"]);
    let id = unique_id("usernsexec");
    let out = f.rt.create(&id, &f.bundle).expect("create");
    assert!(out.success(), "{out}");
    assert!(f.rt.start(&id).expect("start").success());
    let out =
        f.rt.exec(&id, &[], &["/bin/probe", "cat", "/proc/self/uid_map"])
            .expect("exec");
    assert!(out.success(), "{out}");
    let map: Vec<&str> = out.stdout.split_whitespace().collect();
    assert_eq!(map, vec!["0", "100000", "65536"], "{out}");
    let _ = f.rt.kill(&id, "KILL");
    let _ = f.rt.delete_force(&id);
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

/// A second container joins the first one's user namespace by path (with new
/// namespaces of its own, which the joined user namespace then owns): it sees the
/// first one's maps and creates files as the same mapped root. A runtime that ignored
/// the path shows the host's identity map.
#[test]
fn joins_a_user_namespace_by_path() {
    let a = userns_fixture(&["/bin/sh", "-c", "sleep 30"]);
    let id_a = unique_id("usernsa");
    assert!(a.rt.create(&id_a, &a.bundle).expect("create").success());
    assert!(a.rt.start(&id_a).expect("start").success());
    let pid = a.rt.state_json(&id_a).expect("state")["pid"]
        .as_u64()
        .expect("pid");

    let script = "cat /proc/self/uid_map; echo y > /data/made-by-b; echo ok";
    let mut b = userns_fixture(&["/bin/sh", "-c", script]);
    {
        let c = b.bundle.config_mut();
        for ns in c["linux"]["namespaces"].as_array_mut().expect("namespaces") {
            if ns["type"] == "user" {
                ns["path"] = json!(format!("/proc/{pid}/ns/user"));
            }
        }
        let linux = c["linux"].as_object_mut().expect("linux");
        linux.remove("uidMappings");
        linux.remove("gidMappings");
    }
    let id_b = unique_id("usernsb");
    let out = b.rt.run(&id_b, &b.bundle).expect("run");
    assert!(out.success(), "{out}");
    let first: Vec<&str> = out
        .stdout
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(first, vec!["0", "100000", "65536"], "{out}");
    assert_eq!(
        stat_owner(&b.bundle.rootfs().join("data/made-by-b")),
        (HOST_ROOT, HOST_ROOT)
    );
    assert_eq!(b.leaks(&id_b), Vec::<String>::new());
    let _ = a.rt.kill(&id_a, "KILL");
    let _ = a.rt.delete_force(&id_a);
    assert_eq!(a.leaks(&id_a), Vec::<String>::new());
}

/// Idmapped mounts (`mounts[].uidMappings`, or the `idmap` option) are not supported:
/// a clear error naming the mount, nothing left behind. A runtime that dropped the
/// mappings would run the container with a plain bind (exit 0).
#[test]
fn idmapped_mounts_are_refused() {
    let map = json!([{ "containerID": 0, "hostID": HOST_ROOT, "size": 65536 }]);
    for (tag, extra) in [
        (
            "fields",
            json!({ "uidMappings": map.clone(), "gidMappings": map.clone() }),
        ),
        ("option", json!({ "options": ["rbind", "idmap"] })),
    ] {
        let mut f = userns_fixture(&["/bin/probe", "exit", "0"]);
        let src = f.bundle.path().join("vol");
        std::fs::create_dir_all(&src).expect("mkdir");
        let mut m = json!({ "destination": "/vol", "type": "bind", "source": src,
                            "options": ["rbind"] });
        for (k, v) in extra.as_object().expect("object") {
            m[k] = v.clone();
        }
        let mounts = f.bundle.config_mut()["mounts"]
            .as_array_mut()
            .expect("mounts");
        mounts.push(m);
        let i = mounts.len() - 1;
        let id = unique_id("idmap");
        let out = f.rt.run(&id, &f.bundle).expect("run");
        if f.rt.is_runc() {
            // runc 1.1 has no idmapped mounts and ignores the fields.
            assert_eq!(f.leaks(&id), Vec::<String>::new());
            continue;
        }
        assert!(!out.success(), "{tag}: accepted: {out}");
        assert!(
            out.stderr.contains(&format!("mounts[{i}]")) && out.stderr.contains("idmap"),
            "{tag}: the error names the mount: {out}"
        );
        assert_eq!(f.leaks(&id), Vec::<String>::new());
    }
}
