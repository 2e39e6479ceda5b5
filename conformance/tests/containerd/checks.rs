//! Test bodies shared by the skiff shim's tests and the `runc_shim_*` ones:
//! each takes the containerd to run on.

use std::fs::File;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::Duration;

use skiff_conformance::{spawn_registered, wait_spawned};

use super::events::EventLog;
use super::harness::{assert_clean, rss_kb, which, Containerd, CTR_TIMEOUT, SEQ};

pub(crate) fn check_run_returns_exit_status_and_output(cd: &Containerd) {
    let out = cd.run(
        &["--rm"],
        "exit3",
        &["sh", "-c", "echo out-$((6*7)); echo err-line >&2; exit 3"],
    );
    assert_eq!(out.code, Some(3), "{out}\n{}", cd.log());
    assert_eq!(out.stdout, "out-42\n", "{out}");
    assert!(out.stderr.contains("err-line"), "{out}");
    assert_clean(cd);
}

pub(crate) fn check_exec_kill_pause_resume_ps_metrics(cd: &Containerd) {
    let id = "long";
    cd.run_sleeper(&[], id);
    let pid = cd.task_pid(id);

    let shim = cd.shim_of(id);
    assert_eq!(
        cd.shim_sockets().len(),
        1,
        "the shim's socket is where we look"
    );
    let rss = rss_kb(shim).expect("shim rss");
    eprintln!("shim RSS while a container runs: {rss} kB");

    let out = cd.ctr(&[
        "task",
        "exec",
        "--exec-id",
        "e1",
        id,
        "sh",
        "-c",
        "echo in-exec; exit 5",
    ]);
    assert_eq!(out.code, Some(5), "{out}\n{}", cd.log());
    assert_eq!(out.stdout, "in-exec\n", "{out}");

    let out = cd.ctr(&["task", "ps", id]);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(
        out.stdout
            .lines()
            .any(|l| l.split_whitespace().next() == Some(&pid.to_string())),
        "init {pid} not in `task ps`: {out}"
    );

    let out = cd.ctr(&["task", "pause", id]);
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(cd.task_status(id).as_deref(), Some("PAUSED"));
    let out = cd.ctr(&["task", "resume", id]);
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(cd.task_status(id).as_deref(), Some("RUNNING"));

    // The shim answers in the metrics type of the host's hierarchy, as
    // runc's does; ctr prints v1 and v2 metrics under different names.
    let out = cd.ctr(&["task", "metrics", id]);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(out.stdout.contains("pids.current"), "{out}");
    let memory = if pure_cgroup_v2() {
        "memory.usage_limit"
    } else {
        "memory.usage_in_bytes"
    };
    assert!(out.stdout.contains(memory), "{out}");

    // SIGTERM to a pid-namespace init without a handler does nothing.
    let out = cd.ctr(&["task", "kill", "-s", "TERM", id]);
    assert_eq!(out.code, Some(0), "{out}");
    let out = cd.ctr(&["task", "kill", "-s", "KILL", id]);
    assert_eq!(out.code, Some(0), "{out}");
    cd.wait_status(id, "STOPPED");
    let out = cd.ctr(&["task", "delete", id]);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(
        out.stderr.contains("137") || out.stdout.contains("137"),
        "{out}"
    );
    let out = cd.ctr(&["containers", "rm", id]);
    assert_eq!(out.code, Some(0), "{out}");
    assert_clean(cd);
}

pub(crate) fn check_kill_all_stops_every_process(cd: &Containerd) {
    let id = "many";
    let out = cd.run(
        &["-d"],
        id,
        &["sh", "-c", "sleep 1000 & sleep 1000 & trap '' TERM; wait"],
    );
    assert_eq!(out.code, Some(0), "{out}\n{}", cd.log());
    cd.wait_status(id, "RUNNING");
    let out = cd.ctr(&["task", "kill", "-a", "-s", "KILL", id]);
    assert_eq!(out.code, Some(0), "{out}");
    cd.wait_status(id, "STOPPED");
    cd.remove(id);
    assert_clean(cd);
}

pub(crate) fn check_terminal_run_and_exec(cd: &Containerd) {
    // `--runtime NAME` and the runtime's options, for the command lines below.
    let runtime = format!("{} --runtime {}", cd.run_opts.join(" "), cd.runtime);
    // ctr wants a terminal for -t: run it under script(1)'s pty.
    let ctr = format!(
        "{} --address {} -n {}",
        which("ctr").display(),
        cd.sock().display(),
        cd.ns
    );
    let rootfs = cd.rootfs();
    let fifo = cd.fifo_dir();
    for id in ["tty1", "tty3"] {
        cd.note(id);
    }
    let script = |cmd: String| {
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let out_path = cd.dir.path().join(format!("script-{n}.out"));
        let mut c = Command::new("script");
        c.args(["-qec", &cmd, "/dev/null"])
            .stdin(Stdio::null())
            .stdout(File::create(&out_path).expect("out"))
            .stderr(Stdio::null());
        let mut child = spawn_registered(&mut c).expect("script");
        let status = wait_spawned(&mut child, CTR_TIMEOUT).expect("script");
        (
            status.code(),
            std::fs::read_to_string(&out_path).unwrap_or_default(),
        )
    };
    let (code, out) = script(format!(
        "{ctr} run -t --rm --fifo-dir {fifo} {runtime} --rootfs {rootfs} tty1 sh -c 'tty; echo on-a-tty; exit 4'"
    ));
    assert_eq!(code, Some(4), "{out}\n{}", cd.log());
    assert!(out.contains("/dev/pts/0"), "{out}");
    assert!(out.contains("on-a-tty"), "{out}");

    // ResizePty: ctr passes its terminal's size on; the container sees it.
    let (code, out) = script(format!(
        "stty rows 31 cols 97; {ctr} run -t --rm --fifo-dir {fifo} {runtime} --rootfs {rootfs} tty3 \
         sh -c 'until [ \"$(stty size)\" = \"31 97\" ]; do sleep 0.05; done; echo resized'"
    ));
    assert_eq!(code, Some(0), "{out}\n{}", cd.log());
    assert!(out.contains("resized"), "{out}");

    let out = cd.run(&["-d"], "tty2", &["sleep", "1000"]);
    assert_eq!(out.code, Some(0), "{out}");
    let (code, out) = script(format!(
        "{ctr} task exec -t --fifo-dir {fifo} --exec-id t1 tty2 sh -c 'test -t 0 && echo exec-tty; exit 6'"
    ));
    assert_eq!(code, Some(6), "{out}\n{}", cd.log());
    assert!(out.contains("exec-tty"), "{out}");
    cd.kill_and_remove("tty2");
    assert_clean(cd);
}

pub(crate) fn check_each_task_event_is_published_once(cd: &Containerd) {
    let events = EventLog::start(cd);
    // Let `ctr events` subscribe before the container exists.
    std::thread::sleep(Duration::from_millis(300));
    cd.run_sleeper(&[], "ev");
    let out = cd.ctr(&[
        "task",
        "exec",
        "--exec-id",
        "x1",
        "ev",
        "sh",
        "-c",
        "exit 2",
    ]);
    assert_eq!(out.code, Some(2), "{out}");
    assert_eq!(cd.ctr(&["task", "pause", "ev"]).code, Some(0));
    assert_eq!(cd.ctr(&["task", "resume", "ev"]).code, Some(0));
    assert_eq!(cd.ctr(&["task", "kill", "-s", "KILL", "ev"]).code, Some(0));
    cd.wait_status("ev", "STOPPED");
    assert_eq!(cd.ctr(&["task", "delete", "ev"]).code, Some(0));
    events.wait_for("/tasks/delete", "ev");
    let text = events.stop();
    for (topic, n) in [
        ("/tasks/create", 1),
        ("/tasks/start", 1),
        ("/tasks/exec-added", 1),
        ("/tasks/exec-started", 1),
        ("/tasks/paused", 1),
        ("/tasks/resumed", 1),
        // one for the exec process, one for the container
        ("/tasks/exit", 2),
        ("/tasks/delete", 1),
    ] {
        let seen = text
            .lines()
            .filter(|l| l.contains(&format!(" {topic} ")))
            .count();
        assert_eq!(seen, n, "{topic} seen {seen} times, want {n}:\n{text}");
    }
    assert_eq!(cd.ctr(&["containers", "rm", "ev"]).code, Some(0));
    assert_clean(cd);
}

pub(crate) fn check_an_oom_kill_is_published(cd: &Containerd) {
    let events = EventLog::start(cd);
    std::thread::sleep(Duration::from_millis(300));
    // 64 MiB buffer under a 16 MiB limit (the host has no swap to hide it).
    // The hog waits for /go, made by an exec once the task runs: the stock
    // runc shim starts watching for OOM only when start returns, and an OOM
    // before that would not be published.
    let id = "hog";
    let out = cd.run(
        &["-d", "--memory-limit", "16777216"],
        id,
        &[
            "sh",
            "-c",
            "until [ -e /go ]; do sleep 0.05; done; \
             exec busybox dd if=/dev/zero of=/dev/null bs=64M count=1",
        ],
    );
    assert_eq!(out.code, Some(0), "{out}\n{}", cd.log());
    cd.wait_status(id, "RUNNING");
    let out = cd.ctr(&["task", "exec", "--exec-id", "go", id, "touch", "/go"]);
    assert_eq!(out.code, Some(0), "{out}\n{}", cd.log());
    cd.wait_status(id, "STOPPED");
    let out = cd.ctr(&["task", "delete", id]);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(
        out.stderr.contains("137") || out.stdout.contains("137"),
        "{out}"
    );
    assert_eq!(cd.ctr(&["containers", "rm", id]).code, Some(0));
    events.wait_for("/tasks/oom", id);
    let text = events.stop();
    // The kernel may report one OOM episode more than once; never none.
    assert!(
        text.lines()
            .any(|l| l.contains(" /tasks/oom ") && l.contains("\"hog\"")),
        "{text}"
    );
    // /go is in the shared rootfs.
    let _ = std::fs::remove_file(cd.bundle.rootfs().join("go"));
    assert_clean(cd);
}

pub(crate) fn check_a_failing_exec_is_reported_and_the_container_goes_on(cd: &Containerd) {
    cd.run_sleeper(&[], "host");
    let out = cd.ctr(&["task", "exec", "--exec-id", "bad", "host", "/no/such/tool"]);
    assert_ne!(out.code, Some(0), "{out}");
    assert!(out.stderr.contains("/no/such/tool"), "{out}");
    let out = cd.ctr(&["task", "exec", "--exec-id", "good", "host", "echo", "fine"]);
    assert_eq!(out.code, Some(0), "{out}\n{}", cd.log());
    assert_eq!(out.stdout, "fine\n");
    assert_eq!(cd.task_status("host").as_deref(), Some("RUNNING"));
    cd.kill_and_remove("host");
    assert_clean(cd);
}

/// Whether the host has the unified hierarchy alone (no v1 controller
/// mounted), where containers get cgroup v2 metrics.
fn pure_cgroup_v2() -> bool {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let fstypes: Vec<&str> = mounts
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .collect();
    fstypes.contains(&"cgroup2") && !fstypes.contains(&"cgroup")
}
