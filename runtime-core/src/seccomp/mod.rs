//! Seccomp, compiled by skiff: `linux.seccomp` → classic BPF, in Rust, and
//! installed with `seccomp(2)`. No libseccomp at run time.
//!
//! [`compile`] gives a profile the meaning runc gives it (see `compile`
//! for the rules), for the native architecture plus every listed one
//! (x86_64, x86, x32, aarch64, arm, riscv64), with full 64-bit argument
//! comparisons. The spec's other architectures (mips, ppc, s390, parisc)
//! are refused by name: they have no table here.
//! [`install`] loads a compiled [`Program`]; it allocates nothing, so the
//! container process compiles first and installs last, right before
//! `execve` (after no_new_privs). With a NOTIFY action the kernel hands back
//! a listener fd, which [`send_listener`] passes to the agent at
//! `listenerPath` together with the container's process state.
//!
//! The proof is the differential test in `tests/`: random and real profiles
//! compiled by skiff and by libseccomp, both programs run by an interpreter
//! over many `seccomp_data` inputs, verdicts compared.

mod arch;
mod bpf;
mod compile;
#[cfg(any(test, feature = "bench"))]
pub(crate) mod containers_common;
mod emit;
mod install;
#[cfg(any(test, feature = "bench"))]
pub(crate) mod libseccomp;
mod supported;
mod tables;

#[cfg(test)]
pub(crate) mod tests;

pub(crate) use compile::{compile, Program};
#[cfg(test)]
pub(crate) use install::send_listener;
pub(crate) use install::{connect_agent, install, send_listener_on};
pub(crate) use supported::{
    actions, archs, known_flags, operators, supported_flags, unsupported_flag,
};

use oci_spec::runtime::Arch;

/// Why a profile could not be compiled or installed.
#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    /// An architecture without a syscall table in skiff.
    #[error("linux.seccomp: architecture {0} is not supported by skiff")]
    UnsupportedArch(Arch),
    /// An `errnoRet` over 4094 (ERRNO) or 65535 (TRACE), as libseccomp.
    #[error("linux.seccomp: errnoRet {value} of {call} is out of range")]
    ErrnoRetRange {
        /// The first syscall name of the rule, or `default`.
        call: String,
        /// The value given.
        value: u32,
    },
    /// `errnoRet` on an action other than ERRNO or TRACE.
    #[error("linux.seccomp: errnoRet of {0} is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE")]
    ErrnoRetWithoutErrno(String),
    /// An argument index outside 0..=5.
    #[error("linux.seccomp: argument index {index} of {call} is not in 0..=5")]
    ArgIndex {
        /// The first syscall name of the rule.
        call: String,
        /// The index given.
        index: usize,
    },
    /// NOTIFY as the default action: the runtime could not finish.
    #[error("linux.seccomp: SCMP_ACT_NOTIFY cannot be the default action")]
    NotifyDefault,
    /// NOTIFY on a syscall the runtime makes before the agent has the
    /// listener.
    #[error("linux.seccomp: SCMP_ACT_NOTIFY cannot apply to {0}, which skiff calls to hand the listener to the agent")]
    NotifyOnRuntimeCall(String),
    /// NOTIFY without `listenerPath`.
    #[error("linux.seccomp: SCMP_ACT_NOTIFY needs listenerPath")]
    NotifyWithoutListener,
    /// More instructions than the kernel takes (`BPF_MAXINSNS`).
    #[error("linux.seccomp: the compiled filter has {0} instructions, over the kernel's 4096")]
    TooLong(usize),
    /// The BPF layout failed (a compiler bug).
    #[error("linux.seccomp: internal error laying out the BPF program")]
    Layout,
    /// `seccomp(SECCOMP_SET_MODE_FILTER)` failed.
    #[error("seccomp(SECCOMP_SET_MODE_FILTER): {0}")]
    Install(#[source] std::io::Error),
    /// `SECCOMP_FILTER_FLAG_TSYNC` failed on a thread.
    #[error("seccomp: thread {0} could not be synchronized (SECCOMP_FILTER_FLAG_TSYNC)")]
    Tsync(i64),
    /// Connecting to `listenerPath`.
    #[error("seccomp listener {path}: connect: {source}")]
    ListenerConnect {
        /// listenerPath.
        path: String,
        /// The error.
        #[source]
        source: nix::Error,
    },
    /// Sending the listener fd and state.
    #[error("seccomp listener {path}: sendmsg: {source}")]
    ListenerSend {
        /// listenerPath.
        path: String,
        /// The error.
        #[source]
        source: nix::Error,
    },
}
