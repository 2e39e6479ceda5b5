//! `terminal: true`: the pty master comes over the caller's console socket
//! (SCM_RIGHTS), and the container process runs on the pty's slave.

mod common;

use std::io::{IoSliceMut, Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use common::{ensure, fail, spec, state_root, Bundle, Failure, Test, TestResult};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use skiff_core::{ContainerBuilder, ExecOptions, ExitStatus};

fn main() -> ExitCode {
    skiff_core::init_if_requested();
    common::run(
        &[
            Test {
                name: "pty_master_over_console_socket",
                run: pty_master_over_console_socket,
            },
            Test {
                name: "pty_input_reaches_the_process",
                run: pty_input_reaches_the_process,
            },
            Test {
                name: "exec_with_terminal",
                run: exec_with_terminal,
            },
        ],
        Duration::from_secs(60),
    )
}

/// Receive one fd and its data (the pty's name) from `sock`.
fn receive_master(sock: &UnixStream) -> Result<(OwnedFd, String), Failure> {
    let mut fds = [PollFd::new(sock.as_fd(), PollFlags::POLLIN)];
    if poll(&mut fds, PollTimeout::from(5000u16))? == 0 {
        return Err(fail("no message on the console socket within 5 s"));
    }
    let mut buf = [0u8; 4096];
    let mut iov = [IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )?;
    let mut master = None;
    for cmsg in msg.cmsgs()? {
        if let ControlMessageOwned::ScmRights(received) = cmsg {
            for fd in received {
                // SAFETY: the kernel installed this fd in our table for the
                // message just received; nothing else owns it.
                let owned = unsafe { OwnedFd::from_raw_fd(fd) };
                if master.is_none() {
                    master = Some(owned);
                }
            }
        }
    }
    let len = msg.bytes;
    let name = String::from_utf8_lossy(&buf[..len]).into_owned();
    let master = master.ok_or_else(|| fail("the console message carried no fd"))?;
    Ok((master, name))
}

/// Read the pty master until the slave side is closed everywhere (EIO) or
/// `timeout` passes; returns what was read.
fn read_all(master: &OwnedFd, timeout: Duration) -> Result<String, Failure> {
    let mut file = std::fs::File::from(master.try_clone()?);
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(fail(format!(
                "pty still open after {timeout:?}; read so far: {:?}",
                String::from_utf8_lossy(&out)
            )));
        }
        let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(master.as_fd(), PollFlags::POLLIN)];
        if poll(&mut fds, PollTimeout::from(ms))? == 0 {
            continue;
        }
        let mut buf = [0u8; 1024];
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            // EIO: the last slave fd was closed.
            Err(e) if e.raw_os_error() == Some(libc::EIO) => break,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn terminal_spec(bundle: &Bundle, args: &[&str]) -> skiff_core::Spec {
    let mut spec = spec(args, &bundle.rootfs());
    if let Some(p) = spec.process_mut() {
        p.set_terminal(Some(true));
    }
    spec
}

fn pty_master_over_console_socket() -> TestResult {
    let bundle = Bundle::new()?;
    let root = state_root()?;
    let (ours, theirs) = UnixStream::pair()?;
    let mut c = ContainerBuilder::new("console-tty", &root)
        .bundle(bundle.path())
        .spec(terminal_spec(
            &bundle,
            &["sh", "-c", "tty; test -t 0 && test -t 1 && echo hi"],
        ))
        .console_socket_fd(theirs.into())
        .create()?;
    let (master, name) = receive_master(&ours)?;
    ensure!(
        name.starts_with("/dev/pts/"),
        "pty name sent with the master: {name:?}"
    );
    c.start()?;
    let output = read_all(&master, Duration::from_secs(10))?;
    let status = c.wait()?;
    let lines: Vec<&str> = output.lines().map(|l| l.trim_end_matches('\r')).collect();
    ensure!(
        lines.first().is_some_and(|l| l.starts_with("/dev/pts/")),
        "tty printed {output:?}"
    );
    ensure!(lines.contains(&"hi"), "output {output:?}");
    ensure!(status == ExitStatus::Exited(0), "exit {status:?}");
    c.delete(false)?;
    Ok(())
}

fn pty_input_reaches_the_process() -> TestResult {
    let bundle = Bundle::new()?;
    let root = state_root()?;
    let (ours, theirs) = UnixStream::pair()?;
    let mut c = ContainerBuilder::new("console-input", &root)
        .bundle(bundle.path())
        .spec(terminal_spec(
            &bundle,
            &["sh", "-c", "read line; echo \"got:$line\"; exit 3"],
        ))
        .console_socket_fd(theirs.into())
        .create()?;
    let (master, _) = receive_master(&ours)?;
    drop(ours);
    c.start()?;
    std::fs::File::from(master.try_clone()?).write_all(b"ahoy\n")?;
    let output = read_all(&master, Duration::from_secs(10))?;
    let status = c.wait()?;
    ensure!(output.contains("got:ahoy"), "output {output:?}");
    ensure!(status == ExitStatus::Exited(3), "exit {status:?}");
    c.delete(false)?;
    Ok(())
}

fn exec_with_terminal() -> TestResult {
    let bundle = Bundle::new()?;
    let root = state_root()?;
    let mut c = ContainerBuilder::new("console-exec", &root)
        .bundle(bundle.path())
        .spec(spec(&["sleep", "1000"], &bundle.rootfs()))
        .create()?;
    c.start()?;

    let mut process = skiff_core::default_spec()
        .process()
        .clone()
        .ok_or_else(|| fail("default spec has no process"))?;
    process.set_terminal(Some(true));
    process.set_args(Some(
        ["sh", "-c", "tty; test -t 0 && echo exec-hi"]
            .map(str::to_owned)
            .to_vec(),
    ));
    let (ours, theirs) = UnixStream::pair()?;
    let mut opts = ExecOptions::new(process);
    opts.console_fd = Some(theirs.into());
    let p = c.exec(opts)?;
    let (master, name) = receive_master(&ours)?;
    let output = read_all(&master, Duration::from_secs(10))?;
    let status = p.wait()?;
    ensure!(name.starts_with("/dev/pts/"), "pty name {name:?}");
    ensure!(
        output.contains(name.as_str()),
        "tty printed {output:?}, pty {name}"
    );
    ensure!(output.contains("exec-hi"), "output {output:?}");
    ensure!(status == ExitStatus::Exited(0), "exec exit {status:?}");

    c.kill(Signal::SIGKILL, false)?;
    let status = c.wait()?;
    ensure!(
        status == ExitStatus::Signaled(Signal::SIGKILL),
        "container exit {status:?}"
    );
    c.delete(false)?;
    Ok(())
}
