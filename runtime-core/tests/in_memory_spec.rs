//! Containers made from an in-memory `Spec` (no config.json): the lifecycle,
//! exec, signals, status transitions, and typed errors.

mod common;

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use common::{ensure, fail, spec, state_root, Bundle, Failure, Test, TestResult};
use nix::sys::signal::Signal;
use skiff_core::{Container, ContainerBuilder, Error, ExecOptions, ExitStatus, Status};

fn main() -> ExitCode {
    skiff_core::init_if_requested();
    common::run(
        &[
            Test {
                name: "lifecycle_exec_and_signal",
                run: lifecycle_exec_and_signal,
            },
            Test {
                name: "exit_code_of_user_program",
                run: exit_code_of_user_program,
            },
            Test {
                name: "relative_root_resolves_against_bundle",
                run: relative_root_resolves_against_bundle,
            },
            Test {
                name: "delete_created_without_start",
                run: delete_created_without_start,
            },
            Test {
                name: "pid_files_exec_before_start_and_kill_all",
                run: pid_files_exec_before_start_and_kill_all,
            },
            Test {
                name: "state_errors_are_typed",
                run: state_errors_are_typed,
            },
            Test {
                name: "spec_errors_are_typed",
                run: spec_errors_are_typed,
            },
            Test {
                name: "own_stdio_for_container_and_exec",
                run: own_stdio_for_container_and_exec,
            },
        ],
        Duration::from_secs(60),
    )
}

/// Poll `cond` for up to five seconds.
fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..250 {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn process(args: &[&str]) -> Result<oci_spec::runtime::Process, common::Failure> {
    let mut p = skiff_core::default_spec()
        .process()
        .clone()
        .ok_or_else(|| fail("default spec has no process"))?;
    p.set_terminal(Some(false));
    p.set_args(Some(args.iter().map(|&a| a.to_owned()).collect()));
    Ok(p)
}

fn lifecycle_exec_and_signal() -> TestResult {
    let bundle = Bundle::new()?;
    let root = state_root()?;
    ensure!(
        !bundle.path().join("config.json").exists(),
        "the bundle must have no config.json"
    );
    let rootfs = bundle.rootfs();
    let mut c = ContainerBuilder::new("mem-life", &root)
        .bundle(bundle.path())
        .spec(spec(&["sleep", "1000"], &rootfs))
        .create()?;

    // created
    ensure!(
        c.status() == Status::Created,
        "after create: {}",
        c.status()
    );
    let state = c.state();
    ensure!(state.id == "mem-life", "state.id {}", state.id);
    ensure!(
        state.pid > 0 && state.pid == c.pid(),
        "state.pid {}",
        state.pid
    );
    ensure!(
        state.status == Status::Created,
        "state.status {}",
        state.status
    );
    ensure!(
        state.rootfs == rootfs.canonicalize()? || state.rootfs == rootfs,
        "state.rootfs {}",
        state.rootfs.display()
    );
    ensure!(
        state.bundle == bundle.path().canonicalize()?,
        "state.bundle {}",
        state.bundle.display()
    );
    let listed = skiff_core::list(&root)?;
    ensure!(
        listed.len() == 1 && listed[0].id == "mem-life",
        "list: {listed:?}"
    );

    // running
    c.start()?;
    ensure!(c.status() == Status::Running, "after start: {}", c.status());
    let loaded = Container::load(&root, "mem-life")?;
    ensure!(
        loaded.status() == Status::Running && loaded.pid() == c.pid(),
        "load: {} pid {}",
        loaded.status(),
        loaded.pid()
    );

    // exec: runs in the container (its hostname, its pid namespace)
    let p = c.exec(ExecOptions::new(process(&[
        "sh",
        "-c",
        "test \"$(hostname)\" = skiff || exit 1; \
         test \"$(cat /proc/1/comm)\" = sleep || exit 2; exit 7",
    ])?))?;
    ensure!(p.pid() > 0, "exec pid {}", p.pid());
    let status = p.wait()?;
    ensure!(
        status == ExitStatus::Exited(7),
        "exec exit: {status:?} (1: wrong hostname, 2: not in the pid namespace)"
    );
    // An exec killed by a signal.
    let p = c.exec(ExecOptions::new(process(&["sh", "-c", "kill -TERM $$"])?))?;
    let status = p.wait()?;
    ensure!(
        status == ExitStatus::Signaled(Signal::SIGTERM),
        "exec killed: {status:?}"
    );
    ensure!(c.status() == Status::Running, "after exec: {}", c.status());

    // stopped by a signal
    c.kill(Signal::SIGKILL, false)?;
    let status = c.wait()?;
    ensure!(
        status == ExitStatus::Signaled(Signal::SIGKILL),
        "wait after SIGKILL: {status:?}"
    );
    ensure!(status.code() == 137, "code {}", status.code());
    ensure!(c.status() == Status::Stopped, "after kill: {}", c.status());
    let state = c.state();
    ensure!(
        state.status == Status::Stopped && state.pid == 0,
        "stopped state: {} pid {}",
        state.status,
        state.pid
    );

    c.delete(false)?;
    ensure!(
        skiff_core::list(&root)?.is_empty(),
        "list after delete is not empty"
    );
    match Container::load(&root, "mem-life") {
        Err(Error::State(e)) => ensure!(
            e.to_string().contains("does not exist"),
            "load after delete: {e}"
        ),
        other => return Err(fail(format!("load after delete: {other:?}"))),
    }
    Ok(())
}

fn exit_code_of_user_program() -> TestResult {
    let bundle = Bundle::new()?;
    let root = state_root()?;
    let mut c = ContainerBuilder::new("mem-exit", &root)
        .bundle(bundle.path())
        .spec(spec(&["sh", "-c", "exit 42"], &bundle.rootfs()))
        .create()?;
    c.start()?;
    let status = c.wait()?;
    ensure!(status == ExitStatus::Exited(42), "exit: {status:?}");
    ensure!(c.status() == Status::Stopped, "status {}", c.status());
    c.delete(false)?;
    Ok(())
}

fn relative_root_resolves_against_bundle() -> TestResult {
    let bundle = Bundle::new()?;
    let root = state_root()?;
    let mut c = ContainerBuilder::new("mem-rel", &root)
        .bundle(bundle.path())
        .spec(spec(
            &["sh", "-c", "test -x /bin/busybox"],
            Path::new("rootfs"),
        ))
        .create()?;
    c.start()?;
    let status = c.wait()?;
    ensure!(status == ExitStatus::Exited(0), "exit: {status:?}");
    c.delete(false)?;
    Ok(())
}

fn delete_created_without_start() -> TestResult {
    let bundle = Bundle::new()?;
    let root = state_root()?;
    let c = ContainerBuilder::new("mem-created", &root)
        .bundle(bundle.path())
        .spec(spec(&["true"], &bundle.rootfs()))
        .create()?;
    let pid = c.pid();
    ensure!(c.status() == Status::Created, "status {}", c.status());
    c.delete(false)?;
    // The created process was killed; it is our child, so it is a zombie or
    // gone by now, never still waiting on its fifo.
    ensure!(
        eventually(|| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|s| s.contains(") Z "))
                .unwrap_or(true)
        }),
        "process {pid} of the deleted container still runs"
    );
    ensure!(skiff_core::list(&root)?.is_empty(), "state left behind");
    Ok(())
}

fn pid_files_exec_before_start_and_kill_all() -> TestResult {
    let bundle = Bundle::new()?;
    let root = state_root()?;
    let pid_file = bundle.path().join("container.pid");
    let mut c = ContainerBuilder::new("mem-details", &root)
        .bundle(bundle.path())
        .spec(spec(&["sleep", "1000"], &bundle.rootfs()))
        .pid_file(&pid_file)
        .create()?;
    let written = std::fs::read_to_string(&pid_file)?;
    ensure!(
        written == c.pid().to_string(),
        "pid file {written:?}, pid {}",
        c.pid()
    );

    // exec is allowed in a created container, and leaves it created.
    let exec_pid_file = bundle.path().join("exec.pid");
    let mut opts = ExecOptions::new(process(&["sh", "-c", "exit 4"])?);
    opts.pid_file = Some(exec_pid_file.clone());
    let p = c.exec(opts)?;
    let written = std::fs::read_to_string(&exec_pid_file)?;
    ensure!(
        written == p.pid().to_string(),
        "exec pid file {written:?}, pid {}",
        p.pid()
    );
    let status = p.wait()?;
    ensure!(status == ExitStatus::Exited(4), "exec exit {status:?}");
    ensure!(c.status() == Status::Created, "after exec: {}", c.status());

    c.start()?;
    // A second process in the container, then kill --all takes both.
    let p = c.exec(ExecOptions::new(process(&["sleep", "1000"])?))?;
    // A handle loaded from the state root acts on the same container.
    let other = Container::load(&root, "mem-details")?;
    other.kill(Signal::SIGKILL, true)?;
    let exec_status = p.wait()?;
    let status = other.wait()?;
    ensure!(
        status == ExitStatus::Signaled(Signal::SIGKILL),
        "container exit {status:?}"
    );
    ensure!(
        exec_status == ExitStatus::Signaled(Signal::SIGKILL),
        "exec exit {exec_status:?}"
    );
    ensure!(c.status() == Status::Stopped, "status {}", c.status());
    c.delete(false)?;
    Ok(())
}

/// The error must be `Error::State` and its message mention `needle`.
fn expect_state_error<T: std::fmt::Debug>(
    what: &str,
    r: Result<T, Error>,
    needle: &str,
) -> TestResult {
    match r {
        Err(Error::State(e)) if e.to_string().contains(needle) => Ok(()),
        other => Err(fail(format!(
            "{what}: expected Error::State mentioning {needle:?}, got {other:?}"
        ))),
    }
}

fn state_errors_are_typed() -> TestResult {
    let bundle = Bundle::new()?;
    let root = state_root()?;
    let make = |id: &str| {
        ContainerBuilder::new(id, &root)
            .bundle(bundle.path())
            .spec(spec(&["sleep", "1000"], &bundle.rootfs()))
            .create()
    };
    let mut c = make("mem-errors")?;

    // The same id twice.
    expect_state_error("create twice", make("mem-errors"), "already exists")?;
    // Exec into a created container is allowed; delete of a running one is not.
    c.start()?;
    expect_state_error("start twice", c.start(), "container is running")?;
    let again = Container::load(&root, "mem-errors")?;
    expect_state_error(
        "delete running",
        again.delete(false),
        "container is running",
    )?;

    c.kill(Signal::SIGKILL, false)?;
    let status = c.wait()?;
    ensure!(
        status == ExitStatus::Signaled(Signal::SIGKILL),
        "wait: {status:?}"
    );
    expect_state_error(
        "start stopped",
        c.start(),
        "container not running (stopped)",
    )?;
    expect_state_error(
        "kill stopped",
        c.kill(Signal::SIGTERM, false),
        "container not running (stopped)",
    )?;
    expect_state_error(
        "exec stopped",
        c.exec(ExecOptions::new(process(&["true"])?)),
        "container not running (stopped)",
    )?;
    expect_state_error(
        "load missing",
        Container::load(&root, "no-such-container"),
        "does not exist",
    )?;
    ensure!(
        matches!(skiff_core::parse_signal("SIGNOPE"), Err(e) if e.to_string().contains("SIGNOPE")),
        "parse_signal accepted SIGNOPE"
    );
    c.delete(false)?;

    // delete --force of a running container kills it.
    let mut c = make("mem-force")?;
    c.start()?;
    let pid = c.pid();
    c.delete(true)?;
    ensure!(
        !Path::new(&format!("/proc/{pid}/cmdline")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| s.contains(") Z ")),
        "delete --force left {pid} running"
    );
    ensure!(skiff_core::list(&root)?.is_empty(), "state left behind");
    Ok(())
}

fn spec_errors_are_typed() -> TestResult {
    let bundle = Bundle::new()?;
    let root = state_root()?;
    let build = |id: &str, spec| {
        ContainerBuilder::new(id, &root)
            .bundle(bundle.path())
            .spec(spec)
            .create()
    };

    let missing = bundle.path().join("no-such-rootfs");
    match build("bad-rootfs", spec(&["true"], &missing)) {
        Err(Error::Spec(e)) => ensure!(
            e.to_string().contains("root.path"),
            "bad rootfs message: {e}"
        ),
        other => return Err(fail(format!("bad rootfs: {other:?}"))),
    }

    // A file is not a rootfs either.
    let file = bundle.rootfs().join("bin/busybox");
    ensure!(
        matches!(
            build("file-rootfs", spec(&["true"], &file)),
            Err(Error::Spec(_))
        ),
        "a file as rootfs was accepted"
    );

    // terminal without a console socket.
    let mut tty = spec(&["true"], &bundle.rootfs());
    if let Some(p) = tty.process_mut() {
        p.set_terminal(Some(true));
    }
    match build("no-console", tty) {
        Err(Error::Spec(e)) => ensure!(
            e.to_string().contains("process.terminal"),
            "terminal message: {e}"
        ),
        other => return Err(fail(format!("terminal without console: {other:?}"))),
    }

    // No process at all.
    let mut none = spec(&["true"], &bundle.rootfs());
    none.set_process(None);
    ensure!(
        matches!(build("no-process", none), Err(Error::Spec(_))),
        "a spec without process was accepted"
    );

    // A bad id is refused before anything else.
    ensure!(
        matches!(
            build("../escape", spec(&["true"], &bundle.rootfs())),
            Err(Error::Id(_))
        ),
        "id ../escape was accepted"
    );
    ensure!(
        skiff_core::validate_id("").is_err(),
        "the empty id was accepted"
    );

    // Nothing was created on the way.
    ensure!(skiff_core::list(&root)?.is_empty(), "state left behind");
    Ok(())
}

/// Pipes as the streams of a container and of an exec process, as a shim
/// gives each process its own: what goes in comes out, and EOF reaches both
/// ends.
fn own_stdio_for_container_and_exec() -> TestResult {
    use std::io::{Read, Write};
    let pipe = || -> Result<(std::fs::File, std::os::fd::OwnedFd), Failure> {
        let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
        Ok((std::fs::File::from(r), w))
    };
    let bundle = Bundle::new()?;
    let root = state_root()?;
    let (in_r, in_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
    let (mut out_r, out_w) = pipe()?;
    let (mut err_r, err_w) = pipe()?;
    let mut c = ContainerBuilder::new("mem-stdio", &root)
        .bundle(bundle.path())
        .spec(spec(
            &[
                "sh",
                "-c",
                "read line; echo got-$line; echo to-stderr >&2; sleep 1000",
            ],
            &bundle.rootfs(),
        ))
        .stdio(skiff_core::Stdio {
            stdin: Some(in_r),
            stdout: Some(out_w),
            stderr: Some(err_w),
        })
        .create()?;
    c.start()?;
    let mut stdin = std::fs::File::from(in_w);
    stdin.write_all(b"hello\n")?;
    drop(stdin);
    let mut line = [0u8; 10];
    out_r.read_exact(&mut line)?;
    ensure!(
        &line == b"got-hello\n",
        "stdout {:?}",
        String::from_utf8_lossy(&line)
    );
    let mut err = [0u8; 10];
    err_r.read_exact(&mut err)?;
    ensure!(
        &err == b"to-stderr\n",
        "stderr {:?}",
        String::from_utf8_lossy(&err)
    );

    let (mut exec_r, exec_w) = pipe()?;
    let mut opts = ExecOptions::new(process(&["echo", "from-exec"])?);
    opts.stdio.stdout = Some(exec_w);
    let p = c.exec(opts)?;
    let status = p.wait()?;
    ensure!(status == ExitStatus::Exited(0), "exec: {status:?}");
    let mut text = String::new();
    exec_r.read_to_string(&mut text)?;
    ensure!(text == "from-exec\n", "exec stdout {text:?}");

    c.delete(true)?;
    // The container held the last write ends: both streams are at EOF.
    let mut rest = Vec::new();
    out_r.read_to_end(&mut rest)?;
    ensure!(rest.is_empty(), "more stdout {rest:?}");
    Ok(())
}
