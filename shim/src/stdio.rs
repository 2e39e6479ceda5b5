//! The streams of a container or exec process: the FIFOs (or files)
//! containerd names, and for a terminal the pty whose master skiff-core
//! sends over a socket pair.
//!
//! Without a terminal, stdout and stderr are handed to the process directly
//! (a FIFO is opened read-write, which never blocks, so the process is the
//! only writer and the reader sees EOF when it is gone); stdin goes through a
//! pipe fed by a thread, so that `CloseIO` can close it. With a terminal,
//! two threads copy between the FIFOs and the pty master. The stdin FIFO is
//! opened (non-blocking) before the launch, so containerd's writer never
//! waits for the copy thread, and an ended process's copy is always released.

use std::fs::{File, OpenOptions};
use std::io::{IoSliceMut, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};

use nix::sys::socket::{
    recvmsg, socketpair, AddressFamily, ControlMessageOwned, MsgFlags, SockFlag, SockType,
};

use crate::error::ShimError;

/// The streams containerd asked for.
#[derive(Debug, Clone, Default)]
pub struct IoPaths {
    /// stdin FIFO ("" for none).
    pub stdin: String,
    /// stdout FIFO or `file://` URI ("" for none).
    pub stdout: String,
    /// stderr FIFO or `file://` URI ("" for none).
    pub stderr: String,
    /// Whether the process has a pty.
    pub terminal: bool,
}

/// The shared write end of a process's stdin pipe (`None` once closed).
pub type StdinWriter = Arc<Mutex<Option<File>>>;

/// What the shim keeps of a running process's streams.
#[derive(Debug, Default)]
pub struct ProcIo {
    /// Non-terminal stdin: closed by `CloseIO` or at EOF of the FIFO.
    pub stdin: Option<StdinWriter>,
    /// The pty master, for `ResizePty`.
    pub console: Option<Arc<File>>,
    /// Fires when the terminal output copy has ended.
    pub out_done: Option<Receiver<()>>,
    /// Our read end of the stdin FIFO, shared with the copy thread (see
    /// [`release_stdin`]).
    pub stdin_fifo: Option<Arc<File>>,
}

/// Streams made ready before a launch; [`Prepared::finish`] after it.
pub struct Prepared {
    /// What the process gets as fds 0, 1, 2.
    pub stdio: skiff_core::Stdio,
    /// The socket end skiff-core sends the pty master over.
    pub console_theirs: Option<OwnedFd>,
    console_ours: Option<OwnedFd>,
    stdin_writer: Option<File>,
    stdin_fifo: Option<File>,
    paths: IoPaths,
}

/// Open what `paths` names for a process about to be launched.
pub fn prepare(paths: &IoPaths) -> Result<Prepared, ShimError> {
    if paths.terminal {
        let (ours, theirs) = socketpair(
            AddressFamily::Unix,
            SockType::Stream,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .map_err(|e| ShimError::io("console socket pair")(e.into()))?;
        return Ok(Prepared {
            stdio: skiff_core::Stdio::default(),
            console_theirs: Some(theirs),
            console_ours: Some(ours),
            stdin_writer: None,
            stdin_fifo: open_stdin_fifo(&paths.stdin)?,
            paths: paths.clone(),
        });
    }
    let mut stdio = skiff_core::Stdio::default();
    let mut stdin_writer = None;
    if paths.stdin.is_empty() {
        stdio.stdin = Some(dev_null(false)?);
    } else {
        let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .map_err(|e| ShimError::io("stdin pipe")(e.into()))?;
        stdio.stdin = Some(r);
        stdin_writer = Some(File::from(w));
    }
    stdio.stdout = Some(open_output("stdout", &paths.stdout)?);
    stdio.stderr = Some(open_output("stderr", &paths.stderr)?);
    Ok(Prepared {
        stdio,
        console_theirs: None,
        console_ours: None,
        stdin_writer,
        stdin_fifo: open_stdin_fifo(&paths.stdin)?,
        paths: paths.clone(),
    })
}

/// Open our read end of the stdin FIFO now, without blocking: containerd's
/// writer can then connect at once, whenever the copy thread runs.
fn open_stdin_fifo(path: &str) -> Result<Option<File>, ShimError> {
    if path.is_empty() {
        return Ok(None);
    }
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map(Some)
        .map_err(ShimError::io(path))
}

/// Copy from the stdin FIFO to `sink` until the writer has come and gone
/// (EOF) or `sink` refuses. The FIFO is non-blocking: poll for data or hang-up
/// (which the kernel reports only after a writer has connected and left).
fn copy_fifo(fifo: &File, mut sink: impl FnMut(&[u8]) -> bool) {
    use std::os::fd::AsFd;
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let mut fds = [nix::poll::PollFd::new(
            fifo.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        match nix::poll::poll(&mut fds, nix::poll::PollTimeout::NONE) {
            Ok(_) | Err(nix::Error::EINTR) => {}
            Err(_) => return,
        }
        match std::io::Read::read(&mut &*fifo, &mut buf) {
            Ok(0) => return,
            Ok(n) => {
                if !sink(&buf[..n]) {
                    return;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

fn dev_null(write: bool) -> Result<OwnedFd, ShimError> {
    OpenOptions::new()
        .read(!write)
        .write(write)
        .custom_flags(libc::O_CLOEXEC)
        .open("/dev/null")
        .map(OwnedFd::from)
        .map_err(ShimError::io("/dev/null"))
}

fn open_output(field: &'static str, uri: &str) -> Result<OwnedFd, ShimError> {
    if uri.is_empty() {
        return dev_null(true);
    }
    if let Some(path) = uri.strip_prefix("file://") {
        return OpenOptions::new()
            .append(true)
            .create(true)
            .custom_flags(libc::O_CLOEXEC)
            .open(path)
            .map(OwnedFd::from)
            .map_err(ShimError::io(path));
    }
    if uri.contains("://") {
        return Err(ShimError::Invalid {
            field,
            message: format!("{uri}: only FIFO paths and file:// are supported"),
        });
    }
    let is_fifo = std::fs::metadata(uri)
        .map(|m| m.file_type().is_fifo())
        .map_err(ShimError::io(uri))?;
    let mut opts = OpenOptions::new();
    if is_fifo {
        // Read-write: never blocks, whether or not containerd reads yet.
        opts.read(true).write(true);
    } else {
        opts.append(true);
    }
    opts.custom_flags(libc::O_CLOEXEC)
        .open(uri)
        .map(OwnedFd::from)
        .map_err(ShimError::io(uri))
}

impl Prepared {
    /// After a successful launch: take the pty master and start the copies.
    pub fn finish(self) -> Result<ProcIo, ShimError> {
        let Prepared {
            stdio,
            console_theirs,
            console_ours,
            stdin_writer,
            stdin_fifo,
            paths,
        } = self;
        let stdin_fifo = stdin_fifo.map(Arc::new);
        // The process has its copies now.
        drop(stdio);
        drop(console_theirs);
        if let Some(ours) = console_ours {
            return start_terminal(&ours, &paths, stdin_fifo);
        }
        let mut io = ProcIo::default();
        if let (Some(w), Some(fifo)) = (stdin_writer, stdin_fifo) {
            let writer: StdinWriter = Arc::new(Mutex::new(Some(w)));
            let theirs = Arc::clone(&writer);
            let reader = Arc::clone(&fifo);
            spawn("stdin", move || {
                copy_fifo(&reader, |data| {
                    let mut guard = lock(&theirs);
                    guard.as_mut().is_some_and(|w| w.write_all(data).is_ok())
                });
                // EOF (or no stdin after all): the process sees EOF too.
                lock(&theirs).take();
            })?;
            io.stdin = Some(writer);
            io.stdin_fifo = Some(fifo);
        }
        Ok(io)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<(), ShimError> {
    std::thread::Builder::new()
        .name(name.into())
        .stack_size(64 * 1024)
        .spawn(f)
        .map(|_| ())
        .map_err(ShimError::io(format!("start {name} thread")))
}

fn start_terminal(
    ours: &OwnedFd,
    paths: &IoPaths,
    stdin_fifo: Option<Arc<File>>,
) -> Result<ProcIo, ShimError> {
    let master = Arc::new(File::from(receive_fd(ours)?));
    let (done_tx, done_rx) = channel();
    {
        let master = Arc::clone(&master);
        let path = paths.stdout.clone();
        spawn("pty-out", move || {
            if let Ok(mut out) = OpenOptions::new().write(true).open(&path) {
                let _ = std::io::copy(&mut &*master, &mut out);
            } else {
                // Nobody reads: drain so the process does not block.
                let _ = std::io::copy(&mut &*master, &mut std::io::sink());
            }
            let _ = done_tx.send(());
        })?;
    }
    if let Some(fifo) = &stdin_fifo {
        let master = Arc::clone(&master);
        let reader = Arc::clone(fifo);
        spawn("pty-in", move || {
            copy_fifo(&reader, |data| (&*master).write_all(data).is_ok());
        })?;
    }
    Ok(ProcIo {
        stdin: None,
        console: Some(master),
        out_done: Some(done_rx),
        stdin_fifo,
    })
}

/// The fd skiff-core sent over the console socket pair.
fn receive_fd(sock: &OwnedFd) -> Result<OwnedFd, ShimError> {
    let mut buf = [0u8; 4096];
    let mut iov = [IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!(std::os::fd::RawFd);
    let msg = recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC | MsgFlags::MSG_DONTWAIT,
    )
    .map_err(|e| ShimError::io("receive the pty master")(e.into()))?;
    let cmsgs = msg
        .cmsgs()
        .map_err(|e| ShimError::io("receive the pty master")(e.into()))?;
    for cmsg in cmsgs {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            let mut owned: Vec<OwnedFd> = fds
                .into_iter()
                // SAFETY: the kernel installed these fds in our table for
                // this message; nothing else owns them.
                .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })
                .collect();
            if !owned.is_empty() {
                return Ok(owned.swap_remove(0));
            }
        }
    }
    Err(ShimError::io("receive the pty master")(
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "no fd in the console message",
        ),
    ))
}

/// Let the stdin copy of an ended process go: connect to our FIFO as a
/// writer and leave at once, so that the thread sees a hang-up even if
/// containerd never connected (through /proc/self/fd: the FIFO's path may be
/// gone already).
pub fn release_stdin(fifo: &File) {
    let _ = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(format!("/proc/self/fd/{}", fifo.as_raw_fd()));
}

/// Set the pty's window size.
pub fn resize(console: &File, width: u32, height: u32) -> Result<(), ShimError> {
    let ws = libc::winsize {
        ws_row: u16::try_from(height).unwrap_or(u16::MAX),
        ws_col: u16::try_from(width).unwrap_or(u16::MAX),
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize from the pointer, which is valid for
    // the call; the fd is the open pty master.
    let rc = unsafe { libc::ioctl(console.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    if rc != 0 {
        return Err(ShimError::io("resize pty")(std::io::Error::last_os_error()));
    }
    Ok(())
}
