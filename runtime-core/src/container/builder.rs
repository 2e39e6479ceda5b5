//! Building a container: where its spec comes from and how it is created.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

use super::Container;
use crate::launch::Stdio;
use crate::Error;

/// Creates a container from a bundle directory or an in-memory spec.
///
/// ```no_run
/// # fn main() -> Result<(), skiff_core::Error> {
/// let mut c = skiff_core::ContainerBuilder::new("demo", "/run/skiff")
///     .bundle("/path/to/bundle")
///     .create()?;
/// c.start()?;
/// let status = c.wait()?;
/// c.delete(false)?;
/// # let _ = status; Ok(()) }
/// ```
#[derive(Debug)]
pub struct ContainerBuilder {
    pub(crate) id: String,
    pub(crate) root: PathBuf,
    pub(crate) bundle: Option<PathBuf>,
    pub(crate) spec: Option<Spec>,
    pub(crate) console_socket: Option<PathBuf>,
    pub(crate) console_fd: Option<OwnedFd>,
    pub(crate) pid_file: Option<PathBuf>,
    pub(crate) no_pivot: bool,
    pub(crate) no_new_keyring: bool,
    pub(crate) preserve_fds: u32,
    pub(crate) listen_fds: u32,
    pub(crate) stdio: Stdio,
    pub(crate) rootless: bool,
}

impl ContainerBuilder {
    /// A container `id` whose state lives under `root` (runc's `--root`).
    pub fn new(id: impl Into<String>, root: impl AsRef<Path>) -> Self {
        Self {
            id: id.into(),
            root: root.as_ref().to_owned(),
            bundle: None,
            spec: None,
            console_socket: None,
            console_fd: None,
            pid_file: None,
            no_pivot: false,
            no_new_keyring: false,
            preserve_fds: 0,
            listen_fds: 0,
            stdio: Stdio::default(),
            rootless: false,
        }
    }

    /// The bundle directory; its config.json is read unless [`Self::spec`]
    /// gives the spec. Defaults to the current directory.
    pub fn bundle(mut self, dir: impl AsRef<Path>) -> Self {
        self.bundle = Some(dir.as_ref().to_owned());
        self
    }

    /// Use this spec instead of the bundle's config.json; `root.path` is
    /// resolved against the bundle directory when relative.
    pub fn spec(mut self, spec: Spec) -> Self {
        self.spec = Some(spec);
        self
    }

    /// Send the pty master of a `terminal: true` container to this unix socket.
    pub fn console_socket(mut self, path: impl AsRef<Path>) -> Self {
        self.console_socket = Some(path.as_ref().to_owned());
        self
    }

    /// Send the pty master over this connected unix socket (the library
    /// form of [`Self::console_socket`]).
    pub fn console_socket_fd(mut self, fd: OwnedFd) -> Self {
        self.console_fd = Some(fd);
        self
    }

    /// Write the container process's pid to this file.
    pub fn pid_file(mut self, path: impl AsRef<Path>) -> Self {
        self.pid_file = Some(path.as_ref().to_owned());
        self
    }

    /// Use chroot instead of pivot_root (runc's `--no-pivot`).
    pub fn no_pivot(mut self, yes: bool) -> Self {
        self.no_pivot = yes;
        self
    }

    /// Do not give the container a new session keyring.
    pub fn no_new_keyring(mut self, yes: bool) -> Self {
        self.no_new_keyring = yes;
        self
    }

    /// Pass the caller's fds 3..3+n into the container.
    pub fn preserve_fds(mut self, n: u32) -> Self {
        self.preserve_fds = n;
        self
    }

    /// Socket activation: pass the caller's `n` listening fds (3..3+n, after
    /// which the preserved fds follow) and set `LISTEN_FDS=n` and
    /// `LISTEN_PID=1` in the process's environment, as runc does when it was
    /// itself socket-activated (see [`crate::listen_fds`]).
    pub fn listen_fds(mut self, n: u32) -> Self {
        self.listen_fds = n;
        self
    }

    /// The container process's stdin, stdout and stderr (default: the
    /// caller's); with a terminal, the pty replaces those it is given to.
    pub fn stdio(mut self, stdio: Stdio) -> Self {
        self.stdio = stdio;
        self
    }

    /// Rootless cgroups (runc's `--rootless`): a cgroup the caller may not
    /// make is skipped when the spec asks for no resource limits and names
    /// no `linux.cgroupsPath` (the container then runs in the caller's
    /// cgroups: pause, stats and update are refused, `kill --all` reaches
    /// its pid namespace), and the device cgroup rules are not written.
    /// When it asks for limits, the refusal is an error naming the field.
    /// [`rootless_default`](crate::rootless_default) tells what runc's
    /// `auto` would choose.
    pub fn rootless(mut self, yes: bool) -> Self {
        self.rootless = yes;
        self
    }

    /// Create the container: everything up to the user program, which waits
    /// for [`Container::start`].
    pub fn create(self) -> Result<Container, Error> {
        super::create::create(self)
    }
}
