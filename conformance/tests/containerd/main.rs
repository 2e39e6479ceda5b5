//! containerd driving skiff through its shim, `containerd-shim-skiff-v2`
//! (runtime `io.containerd.skiff.v2`): a private containerd per test (own
//! root, state, sockets and namespace, CRI disabled), driven with `ctr` on a
//! busybox rootfs. Each test ends by checking that no shim, container
//! process, cgroup, mount or state is left behind.
//!
//! The `runc_shim_*` tests use containerd's stock shim instead,
//! `containerd-shim-runc-v2` (runtime `io.containerd.runc.v2`), with the
//! runtime binary under test as its runc (`ctr run --runc-binary`): skiff's
//! CLI as containerd calls runc. `RUNTIME=/usr/sbin/runc` runs them on runc.
//!
//! Needs containerd and ctr (`apt-get install -y containerd`) and the built
//! shim: `$SKIFF_SHIM_BIN`, else `containerd-shim-skiff-v2` next to this test's
//! target dir (`cargo build -p skiff-shim` first).
//!
//! The harness (the private containerd and its `ctr` calls) is in
//! `harness.rs`; test bodies run on both shims are in `checks.rs`.
#![allow(clippy::expect_used, clippy::panic)]

mod checks;
mod events;
mod harness;
mod image;
mod update;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use skiff_conformance::{reap_orphans, Bundle, ToolOutput};

use checks::{
    check_a_failing_exec_is_reported_and_the_container_goes_on, check_an_oom_kill_is_published,
    check_each_task_event_is_published_once, check_exec_kill_pause_resume_ps_metrics,
    check_kill_all_stops_every_process, check_run_returns_exit_status_and_output,
    check_terminal_run_and_exec,
};
use events::EventLog;
use harness::{assert_clean, shim_binary, Containerd, RUNTIME, SETTLE};
use image::image_archive;

// ---------------------------------------------------------------------------------------------

#[test]
fn shim_prints_version_and_info() {
    let out = Command::new(shim_binary())
        .arg("-v")
        .output()
        .expect("run the shim");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(RUNTIME), "{text}");
    let out = Command::new(shim_binary())
        .arg("-info")
        .stdin(Stdio::null())
        .output()
        .expect("run the shim");
    assert!(out.status.success());
    // A protobuf RuntimeInfo: the name, then the features document as JSON.
    let bytes = String::from_utf8_lossy(&out.stdout);
    assert!(bytes.contains(RUNTIME), "{bytes}");
    assert!(bytes.contains("ociVersionMin"), "{bytes}");
}

/// Each check runs twice: through skiff's shim (the first name), and through containerd's
/// stock shim, containerd-shim-runc-v2, with the runtime binary under test as its runc
/// (`ctr run --runc-binary`; the second name). With `RUNTIME=/usr/sbin/runc` the second
/// runs against runc itself, which checks the checks.
macro_rules! on_both_shims {
    ($($skiff:ident, $runc:ident => $check:ident;)*) => {$(
        #[test]
        fn $skiff() {
            $check(&Containerd::start());
        }

        #[test]
        fn $runc() {
            $check(&Containerd::start_runc_shim());
        }
    )*};
}

on_both_shims! {
    run_returns_exit_status_and_output,
    runc_shim_run_returns_exit_status_and_output
        => check_run_returns_exit_status_and_output;
    exec_kill_pause_resume_ps_metrics,
    runc_shim_exec_kill_pause_resume_ps_metrics
        => check_exec_kill_pause_resume_ps_metrics;
    kill_all_stops_every_process,
    runc_shim_kill_all_stops_every_process
        => check_kill_all_stops_every_process;
    // `ctr run -t` and `ctr task exec -t`: the shim passes `--console-socket`
    // to create and exec and receives the pty master.
    terminal_run_and_exec,
    runc_shim_terminal_run_and_exec
        => check_terminal_run_and_exec;
    each_task_event_is_published_once,
    runc_shim_each_task_event_is_published_once
        => check_each_task_event_is_published_once;
    // The runc shim watches the container's memory cgroup itself.
    an_oom_kill_is_published,
    runc_shim_an_oom_kill_is_published
        => check_an_oom_kill_is_published;
    // `ctr task exec` of a missing binary: the shim's `exec --process FILE
    // --detach --pid-file FILE` fails with the runtime's message, and the
    // container goes on.
    a_failing_exec_is_reported_and_the_container_goes_on,
    runc_shim_failing_exec_is_reported_and_the_container_goes_on
        => check_a_failing_exec_is_reported_and_the_container_goes_on;
}

#[test]
fn stdin_reaches_the_container_and_closes() {
    let cd = Containerd::start();
    let rootfs = cd.rootfs();
    cd.note("cat1");
    let out = cd.ctr_with(
        &[
            "run",
            "--rm",
            "--runtime",
            RUNTIME,
            "--rootfs",
            &rootfs,
            "cat1",
            "sh",
            "-c",
            "cat; echo done",
        ],
        Some("line one\nline two\n"),
    );
    assert_eq!(out.code, Some(0), "{out}\n{}", cd.log());
    assert_eq!(out.stdout, "line one\nline two\ndone\n", "{out}");
    assert_clean(&cd);
}

#[test]
fn twenty_containers_at_once() {
    let cd = Containerd::start();
    let outs: Vec<(usize, ToolOutput)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..20)
            .map(|i| {
                let cd = &cd;
                s.spawn(move || {
                    let id = format!("par{i}");
                    let script = format!("echo hello-{i}; exit {}", i % 7);
                    (i, cd.run(&["--rm"], &id, &["sh", "-c", &script]))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    for (i, out) in outs {
        assert_eq!(out.code, Some((i % 7) as i32), "container {i}: {out}");
        assert_eq!(out.stdout, format!("hello-{i}\n"), "container {i}: {out}");
    }
    assert_clean(&cd);
}

#[test]
fn containerd_restart_keeps_a_running_container() {
    let mut cd = Containerd::start();
    cd.run_sleeper(&[], "survivor");
    let pid = cd.task_pid("survivor");
    let shim = cd.shim_of("survivor");
    cd.stop_daemon();
    // The shim and the container outlive containerd.
    assert!(Path::new(&format!("/proc/{shim}")).exists());
    assert!(Path::new(&format!("/proc/{pid}")).exists());
    cd.start_daemon();
    cd.wait_status("survivor", "RUNNING");
    assert_eq!(cd.task_pid("survivor"), pid);
    let out = cd.ctr(&[
        "task",
        "exec",
        "--exec-id",
        "after",
        "survivor",
        "echo",
        "still-here",
    ]);
    assert_eq!(out.code, Some(0), "{out}\n{}", cd.log());
    assert_eq!(out.stdout, "still-here\n");
    assert_eq!(
        cd.ctr(&["task", "kill", "-s", "KILL", "survivor"]).code,
        Some(0)
    );
    cd.wait_status("survivor", "STOPPED");
    let out = cd.ctr(&["task", "delete", "survivor"]);
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(cd.ctr(&["containers", "rm", "survivor"]).code, Some(0));
    assert_clean(&cd);
}

#[test]
fn killed_shim_is_seen_as_an_exit() {
    let cd = Containerd::start();
    cd.run_sleeper(&[], "orphan");
    let pid = cd.task_pid("orphan");
    let shim = cd.shim_of("orphan");
    let events = EventLog::start(&cd);
    std::thread::sleep(Duration::from_millis(300));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(shim),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill the shim");
    // containerd runs `shim delete`, which kills the container; containerd
    // publishes the task's exit (137) and forgets the task.
    events.wait_for("/tasks/exit", "orphan");
    let text = events.stop();
    let exit = text
        .lines()
        .find(|l| l.contains(" /tasks/exit ") && l.contains("\"orphan\""))
        .unwrap_or_else(|| panic!("no exit event for the task:\n{text}\n{}", cd.log()));
    assert!(exit.contains("137"), "{exit}");
    assert_eq!(cd.task_status("orphan"), None);
    let start = Instant::now();
    while Path::new(&format!("/proc/{pid}")).exists() && start.elapsed() < SETTLE {
        reap_orphans();
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "the container outlived its shim"
    );
    let _ = cd.ctr(&["task", "delete", "orphan"]);
    assert_eq!(cd.ctr(&["containers", "rm", "orphan"]).code, Some(0));
    assert_clean(&cd);
}

#[test]
fn image_rootfs_is_mounted_and_unmounted() {
    let cd = Containerd::start();
    let name = "docker.io/library/skiff-shim-test:latest";
    let archive = image_archive(&cd, name);
    cd.note("img1");
    let out = cd.ctr(&["images", "import", &archive.display().to_string()]);
    assert_eq!(out.code, Some(0), "{out}\n{}", cd.log());
    // The snapshotter's layers come to the shim as mounts (overlay) that it
    // mounts on the bundle's rootfs, and unmounts on delete.
    let out = cd.ctr(&[
        "run",
        "--rm",
        "--runtime",
        RUNTIME,
        name,
        "img1",
        "sh",
        "-c",
        "echo from-image > /written; cat /written; exit 9",
    ]);
    assert_eq!(out.code, Some(9), "{out}\n{}", cd.log());
    assert_eq!(out.stdout, "from-image\n", "{out}");
    assert_clean(&cd);
}

#[test]
fn a_pod_shares_one_shim() {
    let cd = Containerd::start();
    let pod = "--annotation=io.kubernetes.cri.sandbox-id=pod1";
    cd.note("pod1");
    for id in ["pod-a", "pod-b"] {
        cd.run_sleeper(&[pod], id);
    }
    let shims = cd.shims();
    assert_eq!(shims.len(), 1, "one shim for the pod: {shims:?}");
    let fds = |pid: i32| {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    let before = fds(shims[0]);
    for n in 0..5 {
        let exec_id = format!("x{n}");
        let out = cd.ctr(&[
            "task",
            "exec",
            "--exec-id",
            &exec_id,
            "pod-b",
            "sh",
            "-c",
            "exit 8",
        ]);
        assert_eq!(out.code, Some(8), "{out}");
    }
    // Every exec's streams and threads are gone once it has ended.
    let start = Instant::now();
    while fds(shims[0]) != before && start.elapsed() < SETTLE {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(fds(shims[0]), before, "the shim's fds after 5 execs");
    // Deleting one container leaves the shim serving the other.
    assert_eq!(
        cd.ctr(&["task", "kill", "-s", "KILL", "pod-a"]).code,
        Some(0)
    );
    cd.wait_status("pod-a", "STOPPED");
    let out = cd.ctr(&["task", "delete", "pod-a"]);
    assert_eq!(out.code, Some(0), "{out}\n{}", cd.log());
    assert_eq!(cd.ctr(&["containers", "rm", "pod-a"]).code, Some(0));
    assert_eq!(cd.shims(), shims);
    let out = cd.ctr(&["task", "exec", "--exec-id", "y", "pod-b", "echo", "alive"]);
    assert_eq!(out.code, Some(0), "{out}\n{}", cd.log());
    assert_eq!(out.stdout, "alive\n");
    cd.kill_and_remove("pod-b");
    // Now the shim has nothing left and exits.
    assert_clean(&cd);
}

#[test]
fn a_failing_create_is_reported_and_leaves_nothing() {
    let cd = Containerd::start();
    let out = cd.run(&["--rm"], "nobin", &["/no/such/binary"]);
    assert_ne!(out.code, Some(0), "{out}");
    assert!(out.stderr.contains("/no/such/binary"), "{out}");
    let _ = cd.ctr(&["containers", "rm", "nobin"]);
    let out = cd.ctr(&["task", "ls", "-q"]);
    assert_eq!(out.stdout.trim(), "", "{out}");
    assert_clean(&cd);
}

#[test]
fn an_exit_while_containerd_is_down_is_reported_after_restart() {
    let mut cd = Containerd::start();
    cd.run_sleeper(&[], "lonely");
    let pid = cd.task_pid("lonely");
    cd.stop_daemon();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill the container");
    cd.start_daemon();
    // The shim keeps the exit (and retries its TaskExit) until containerd
    // is back.
    cd.wait_status("lonely", "STOPPED");
    let out = cd.ctr(&["task", "delete", "lonely"]);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(
        out.stderr.contains("137") || out.stdout.contains("137"),
        "{out}"
    );
    assert_eq!(cd.ctr(&["containers", "rm", "lonely"]).code, Some(0));
    assert_clean(&cd);
}

#[test]
fn log_uri_file_works_and_binary_is_refused() {
    let cd = Containerd::start();
    let log = cd.dir.path().join("container.log");
    let uri = format!("file://{}", log.display());
    let out = cd.run(
        &["--rm", "--log-uri", &uri],
        "logged",
        &["sh", "-c", "echo to-the-log; echo err-too >&2; exit 2"],
    );
    assert_eq!(out.code, Some(2), "{out}\n{}", cd.log());
    let text = std::fs::read_to_string(&log).expect("log file");
    assert!(
        text.contains("to-the-log") && text.contains("err-too"),
        "{text}"
    );

    let out = cd.run(
        &["--rm", "--log-uri", "binary:///bin/cat"],
        "binlog",
        &["true"],
    );
    assert_ne!(out.code, Some(0), "{out}");
    assert!(out.stderr.contains("binary:///bin/cat"), "{out}");
    let _ = cd.ctr(&["containers", "rm", "binlog"]);
    assert_clean(&cd);
}

#[test]
fn ten_containers_at_once_in_one_pod_shim() {
    let cd = Containerd::start();
    let pod = "--annotation=io.kubernetes.cri.sandbox-id=busy-pod";
    cd.note("busy-pod");
    // The pod's sandbox keeps the shim alive, as the pause container does.
    cd.run_sleeper(&[pod], "sandbox");
    let outs: Vec<(usize, ToolOutput)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..10)
            .map(|i| {
                let cd = &cd;
                s.spawn(move || {
                    let id = format!("member{i}");
                    let script = format!("echo member-{i}; exit {}", 10 + i);
                    (i, cd.run(&["--rm", pod], &id, &["sh", "-c", &script]))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    for (i, out) in outs {
        assert_eq!(
            out.code,
            Some(10 + i as i32),
            "member {i}: {out}\n{}",
            cd.log()
        );
        assert_eq!(out.stdout, format!("member-{i}\n"), "member {i}: {out}");
    }
    assert_eq!(cd.shims().len(), 1, "one shim for the whole pod");
    cd.kill_and_remove("sandbox");
    assert_clean(&cd);
}

#[test]
fn kill_all_of_a_member_spares_the_pod_sharing_its_pid_namespace() {
    let cd = Containerd::start();
    cd.run_sleeper(&[], "sbx");
    let sbx = cd.task_pid("sbx");
    let ns = format!("pid:/proc/{sbx}/ns/pid");
    cd.run_sleeper(&["--with-ns", &ns], "member");
    // --all means the member's processes (its cgroup), as with runc, not
    // everything in the pid namespace it joined. (One process: orphans of a
    // member would be adopted by the sandbox's `sleep`, which never reaps
    // them, and their zombies keep the member's cgroup busy.)
    let out = cd.ctr(&["task", "kill", "-a", "-s", "KILL", "member"]);
    assert_eq!(out.code, Some(0), "{out}");
    cd.wait_status("member", "STOPPED");
    assert_eq!(cd.task_status("sbx").as_deref(), Some("RUNNING"));
    // A member whose shim dies is cleaned up by `shim delete`: that too
    // spares the sandbox.
    cd.run_sleeper(&["--with-ns", &ns], "member2");
    let shim = cd.shim_of("member2");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(shim),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill the member's shim");
    let start = Instant::now();
    while cd.task_status("member2").is_some() && start.elapsed() < SETTLE {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        cd.task_status("member2"),
        None,
        "containerd cleaned up member2"
    );
    assert_eq!(cd.task_status("sbx").as_deref(), Some("RUNNING"));
    assert_eq!(cd.ctr(&["containers", "rm", "member2"]).code, Some(0));
    for id in ["member", "sbx"] {
        let _ = cd.ctr(&["task", "kill", "-s", "KILL", id]);
        cd.wait_status(id, "STOPPED");
        cd.remove(id);
    }
    assert_clean(&cd);
}

// ---------------------------------------------------------------------------------------------
// containerd's stock shim, containerd-shim-runc-v2, with the runtime binary
// under test as its runc (`ctr run --runc-binary`). With `RUNTIME=/usr/sbin/runc`
// these tests run against runc itself, which checks the tests.

/// The error message the runtime binary under test writes to its JSON log
/// (`--log FILE --log-format json`, as the runc shim calls it) when
/// `create` is run directly on a bundle whose process is a missing binary.
fn direct_create_error(missing: &str) -> String {
    let rt = skiff_conformance::Runtime::new().expect("runtime");
    let bundle = Bundle::new(&[missing]).expect("bundle");
    bundle.write_config().expect("config.json");
    let log = bundle.path().join("direct-log.json");
    let log_arg = log.display().to_string();
    let b = bundle.path().display().to_string();
    let out = rt
        .invoke(
            &[
                "--log",
                &log_arg,
                "--log-format",
                "json",
                "create",
                "--bundle",
                &b,
                "direct-nobin",
            ],
            skiff_conformance::Opts::default(),
        )
        .expect("run create");
    assert!(!out.success(), "create of {missing} succeeded");
    let text = std::fs::read_to_string(&log).expect("log.json");
    let msg = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["level"] == "error")
        .filter_map(|v| v["msg"].as_str().map(str::to_owned))
        .next_back()
        .unwrap_or_else(|| panic!("no error entry in log.json: {text}"));
    let leaks = rt.leaks("direct-nobin", &bundle);
    assert!(leaks.is_empty(), "direct create left {leaks:?}");
    msg
}

/// The shim reads the runtime's error from `--log log.json --log-format
/// json` and containerd passes it on to ctr: ctr shows the same message the
/// runtime logs for the same failure when run directly.
#[test]
fn runc_shim_failing_create_reports_the_runtime_error() {
    let expected = direct_create_error("/no/such/binary");
    let cd = Containerd::start_runc_shim();
    let out = cd.run(&["--rm"], "nobin", &["/no/such/binary"]);
    assert_ne!(out.code, Some(0), "{out}");
    eprintln!("runtime's own message: {expected}\nctr: {out}");
    assert!(out.stderr.contains("OCI runtime create failed"), "{out}");
    assert!(
        out.stderr.contains(&expected),
        "wanted {expected:?} in\n{out}"
    );
    let _ = cd.ctr(&["containers", "rm", "nobin"]);
    let out = cd.ctr(&["task", "ls", "-q"]);
    assert_eq!(out.stdout.trim(), "", "{out}");
    assert_clean(&cd);
}

/// `--no-pivot` (create's `--no-pivot`) and `--memory-limit` (the spec's
/// memory limit, found on the container's cgroup under the namespace's).
#[test]
fn runc_shim_no_pivot_and_memory_limit() {
    let cd = Containerd::start_runc_shim();
    let id = "nopivot";
    let out = cd.run(
        &["-d", "--no-pivot", "--memory-limit", "33554432"],
        id,
        &["sleep", "1000"],
    );
    assert_eq!(out.code, Some(0), "{out}\n{}", cd.log());
    cd.wait_status(id, "RUNNING");
    // The runtime's state is where the leak check looks.
    let state = cd.state_root.join(&cd.ns).join(id);
    assert!(state.is_dir(), "no state at {}", state.display());
    let limit = Path::new("/sys/fs/cgroup/memory")
        .join(&cd.ns)
        .join(id)
        .join("memory.limit_in_bytes");
    let text =
        std::fs::read_to_string(&limit).unwrap_or_else(|e| panic!("{}: {e}", limit.display()));
    assert_eq!(text.trim(), "33554432");
    cd.kill_and_remove(id);
    assert_clean(&cd);
}

/// `ctr task kill` of a task that has exited: the shim calls the runtime's
/// `kill`, which fails, and maps the failure to "not found" only by its text
/// ("container not running", "no such process", ...).
#[test]
fn runc_shim_kill_of_an_exited_task_is_not_found() {
    let cd = Containerd::start_runc_shim();
    let id = "gone";
    let out = cd.run(&["-d"], id, &["true"]);
    assert_eq!(out.code, Some(0), "{out}\n{}", cd.log());
    cd.wait_status(id, "STOPPED");
    let out = cd.ctr(&["task", "kill", "-s", "KILL", id]);
    assert_ne!(out.code, Some(0), "{out}");
    assert!(
        out.stderr.contains("process already finished: not found"),
        "{out}"
    );
    // `kill --all` of the exited task succeeds.
    let out = cd.ctr(&["task", "kill", "-a", "-s", "KILL", id]);
    assert_eq!(out.code, Some(0), "{out}");
    cd.remove(id);
    assert_clean(&cd);
}
