//! Terminals: `terminal: true` with `--console-socket` (the pty master arrives over
//! SCM_RIGHTS, as containerd receives it), a foreground `run` under the test's own pty,
//! `exec --tty`, and the refusals runc makes.
#![allow(clippy::expect_used, clippy::panic)]

use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

use serde_json::json;
use skiff_conformance::{
    read_fd_until, spawn_on_pty, unique_id, wait_spawned, ConsoleSocket, Fixture,
};

const WAIT: Duration = Duration::from_secs(10);

/// True when `fd` is a pty master (TIOCGPTN answers).
fn is_pty_master(fd: &OwnedFd) -> bool {
    let mut n: libc::c_uint = 0;
    // SAFETY: TIOCGPTN writes one unsigned int through the valid pointer.
    unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGPTN, &mut n) == 0 }
}

/// Lines of terminal output without the carriage returns.
fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.trim_end_matches('\r').to_string())
        .collect()
}

const SHOW_TTY: &str = "busybox tty; busybox stty size; \
    busybox stat -L -c %t:%T /dev/console; busybox stat -L -c %t:%T $(busybox tty); echo ok";

#[test]
fn console_socket_receives_the_pty_master() {
    let mut f = Fixture::new(&["/bin/busybox", "sh", "-c", SHOW_TTY]).expect("fixture");
    f.bundle.config_mut()["process"]["terminal"] = json!(true);
    f.bundle.config_mut()["process"]["consoleSize"] = json!({ "height": 33, "width": 101 });
    let sock = ConsoleSocket::new().expect("console socket");
    let sock_path = sock.path().to_string_lossy().into_owned();
    let id = unique_id("console");
    let out =
        f.rt.create_with(&id, &f.bundle, &["--console-socket", &sock_path])
            .expect("create");
    assert!(out.success(), "{out}");
    let master = sock.receive(WAIT).expect("pty master over the socket");
    assert!(is_pty_master(&master), "the fd received is a pty master");
    assert!(f.rt.start(&id).expect("start").success());
    let text = read_fd_until(&master, Some("ok\r\n"), WAIT);
    let l = lines(&text);
    assert!(
        l.first().is_some_and(|t| t.starts_with("/dev/pts/")),
        "stdin is a pty: {text:?}"
    );
    assert_eq!(
        l.get(1).map(String::as_str),
        Some("33 101"),
        "consoleSize: {text:?}"
    );
    assert!(
        l.get(2).is_some() && l.get(2) == l.get(3),
        "/dev/console is the pty: {text:?}"
    );
    assert_eq!(l.get(4).map(String::as_str), Some("ok"), "{text:?}");
    f.rt.wait_status(&id, "stopped", WAIT).expect("stopped");
    assert!(f.rt.delete(&id).expect("delete").success());
    drop(master);
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

/// `run` in the foreground with `terminal: true`, on a pty the test allocated: the runtime
/// proxies between its own terminal and the container's pty.
#[test]
fn run_with_terminal_under_a_pty() {
    let mut f = Fixture::new(&[
        "/bin/busybox",
        "sh",
        "-c",
        "busybox tty; busybox stty size; echo ok-run; exit 7",
    ])
    .expect("fixture");
    f.bundle.config_mut()["process"]["terminal"] = json!(true);
    f.bundle.write_config().expect("config");
    let id = unique_id("ptyrun");
    let b = f.bundle.path().to_string_lossy().into_owned();
    let mut cmd = f.rt.command(&["run", "--bundle", &b, &id]);
    let (mut child, master) = spawn_on_pty(&mut cmd, 40, 120).expect("spawn run");
    drop(cmd);
    let text = read_fd_until(&master, Some("ok-run"), WAIT);
    let status = wait_spawned(&mut child, WAIT).expect("run finishes");
    let l = lines(&text);
    assert!(
        l.iter().any(|t| t.starts_with("/dev/pts/")),
        "the container has a pty: {text:?}"
    );
    assert!(
        l.iter().any(|t| t == "40 120"),
        "the size of the test's pty: {text:?}"
    );
    assert!(l.iter().any(|t| t == "ok-run"), "{text:?}");
    assert_eq!(
        status.code(),
        Some(7),
        "exit status passes through: {text:?}"
    );
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

/// `terminal: true` in detached mode needs a console socket (runc: "cannot allocate tty if
/// runc will detach without setting console socket").
#[test]
fn terminal_without_console_socket_is_refused() {
    let mut f = Fixture::new(&["/bin/true"]).expect("fixture");
    f.bundle.config_mut()["process"]["terminal"] = json!(true);
    let id = unique_id("nosock");
    let out = f.rt.create(&id, &f.bundle).expect("create");
    assert_eq!(out.code(), Some(1), "{out}");
    assert!(out.stderr.contains("console socket"), "{out}");
    assert_eq!(f.rt.status(&id), None);
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

/// A console socket with `terminal: false` is refused (runc: "cannot use console socket if
/// runc will not detach or allocate tty").
#[test]
fn console_socket_without_terminal_is_refused() {
    let f = Fixture::new(&["/bin/true"]).expect("fixture");
    let sock = ConsoleSocket::new().expect("console socket");
    let sock_path = sock.path().to_string_lossy().into_owned();
    let id = unique_id("sockonly");
    let out =
        f.rt.create_with(&id, &f.bundle, &["--console-socket", &sock_path])
            .expect("create");
    assert_eq!(out.code(), Some(1), "{out}");
    assert!(out.stderr.contains("console socket"), "{out}");
    assert_eq!(f.rt.status(&id), None);
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}

/// `exec -d --tty --console-socket`: the exec'd process gets a pty whose master arrives on
/// the socket.
#[test]
fn exec_tty_through_console_socket() {
    let f = Fixture::new(&["/bin/probe", "sleep", "60"]).expect("fixture");
    let id = unique_id("exectty");
    assert!(f.rt.create(&id, &f.bundle).expect("create").success());
    assert!(f.rt.start(&id).expect("start").success());
    let sock = ConsoleSocket::new().expect("console socket");
    let sock_path = sock.path().to_string_lossy().into_owned();
    let out =
        f.rt.exec(
            &id,
            &["-d", "--tty", "--console-socket", &sock_path],
            &["/bin/busybox", "sh", "-c", "busybox tty; echo ok-exec"],
        )
        .expect("exec");
    assert!(out.success(), "{out}");
    let master = sock.receive(WAIT).expect("pty master");
    assert!(is_pty_master(&master));
    let text = read_fd_until(&master, Some("ok-exec"), WAIT);
    let l = lines(&text);
    assert!(
        l.first().is_some_and(|t| t.starts_with("/dev/pts/")),
        "{text:?}"
    );
    assert!(l.iter().any(|t| t == "ok-exec"), "{text:?}");
    // Without -d a console socket is refused, as runc does (runc's exec fails with 255).
    let out =
        f.rt.exec(
            &id,
            &["--tty", "--console-socket", &sock_path],
            &["/bin/true"],
        )
        .expect("exec");
    assert!(out.stderr.contains("console socket"), "{out}");
    assert_eq!(
        out.code(),
        Some(255),
        "runc's exit code of a failed exec: {out}"
    );
    assert!(f.rt.delete_force(&id).expect("delete --force").success());
    drop(master);
    assert_eq!(f.leaks(&id), Vec::<String>::new());
}
