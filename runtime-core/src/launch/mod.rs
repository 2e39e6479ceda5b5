//! Launching a container process: the handshake between the runtime and the
//! processes it starts, and nothing else.
//!
//! Three processes take part. `P` is the caller (the `skiff` CLI, or a program
//! that links this crate, which may be multithreaded). `I` is a fresh copy of
//! the calling binary, started with fork+exec through a write-protected view of
//! `/proc/self/exe` (argv[0] `skiff-init`; see `protected_exe`), so everything
//! it does runs single-threaded and fork-safe.
//! `C` is the container process, cloned by `I` with `CLONE_PARENT` so that it
//! is `P`'s child, in its new namespaces.
//!
//! ```text
//!   P (runtime)                     I (skiff-init)                 C (container)
//!   │ socketpair; spawn I ─────────▶│ PR_SET_DUMPABLE=0
//!   │ make cgroups, add I to them   │
//!   │── Plan ──────────────────────▶│ open /proc, exec.fifo (O_PATH)
//!   │                               │ setns(joined ns; user first)
//!   │                               │ unshare(CLONE_NEWTIME)?
//!   │                               │ clone(CLONE_PARENT|new ns) ─▶│
//!   │◀─────────────────── Pid(C) ───│ release C (pipe) ───────────▶│ (waits for it)
//!   │                               │ exit(0)                      │
//!   │ waitpid(I)                                                   │ setsid
//!   │ user namespace (create with one): write uid_map/gid_map      │
//!   │ if new; chown exec.fifo to its root                          │
//!   │── UserNsReady ──────────────────────────────────────────────▶│ setresuid/gid(0)
//!   │                                                              │ mounts (create)
//!   │◀───────────────────────────────────── RunCreateRuntimeHooks ─│ (only if there are any)
//!   │ prestart + createRuntime hooks                               │
//!   │── HooksDone ────────────────────────────────────────────────▶│
//!   │                                                              │ createContainer hooks
//!   │                                                              │ pivot_root; hostname, sysctl
//!   │                                                              │ console; masked/readonly
//!   │                                                              │ cwd, rlimits, find executable
//!   │◀───────────────────────────────────────────────────── Ready ─│
//!   │ write state (created); exit                                  │ open exec.fifo O_WRONLY (blocks)
//!   ⋮                                                              ⋮
//!   `skiff start`: open exec.fifo O_RDONLY, read 1 byte ──────────▶│ startContainer hooks
//!                                                                  │ LSM exec label, user,
//!                                                                  │ capabilities, no_new_privs
//!                                                                  │ mark fds ≥ 3+preserve CLOEXEC
//!                                                                  │ execve(process.args)
//! ```
//!
//! The host's `/proc` that `I` opens before any namespace is the one every
//! procfs write and fd magic link of `C` goes through (see `procfs`); `C`
//! reopens `exec.fifo` through its O_PATH fd and never holds a directory of
//! the host.
//!
//! Any step of `I` or `C` that fails sends `Failed { step, message }` in place
//! of the message `P` waits for, then exits; `P` kills and reaps `C` and
//! returns the error. An `exec` runs the same protocol with `I` joining every
//! namespace of the running container and `C` skipping the rootfs steps and
//! the fifo: it execs right after `Ready`.

mod channel;
mod child;
mod entry;
mod init;
mod message;
mod parent;
mod plan;
mod protected_exe;
mod stdio;

pub use entry::init_if_requested;
pub use parent::LaunchError;
pub(crate) use parent::{launch, LaunchObserver};
pub(crate) use plan::{LaunchKind, LaunchPlan};
pub use stdio::Stdio;
