//! What the compiler accepts, by the spec's names, for `skiff features`:
//! the lists come from the tables `compile` itself uses, and the filter
//! flags from asking the running kernel.

use oci_spec::runtime::{LinuxSeccompAction as Act, LinuxSeccompOperator as Op};
use serde::Serialize;

use super::arch::Abi;
use super::compile::{flag, FLAGS};
use super::install::kernel_takes_flag;
use super::WAIT_KILLABLE_RECV;

/// Every action `compile` gives a meaning to.
const ACTIONS: [Act; 9] = [
    Act::ScmpActAllow,
    Act::ScmpActErrno,
    Act::ScmpActKill,
    Act::ScmpActKillProcess,
    Act::ScmpActKillThread,
    Act::ScmpActLog,
    Act::ScmpActNotify,
    Act::ScmpActTrace,
    Act::ScmpActTrap,
];

/// Every comparison `emit` lays out.
const OPERATORS: [Op; 7] = [
    Op::ScmpCmpEq,
    Op::ScmpCmpGe,
    Op::ScmpCmpGt,
    Op::ScmpCmpLe,
    Op::ScmpCmpLt,
    Op::ScmpCmpMaskedEq,
    Op::ScmpCmpNe,
];

/// The JSON name of a spec value (`SCMP_ACT_ALLOW`, ...).
fn name(value: impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        other => format!("{other:?}"),
    }
}

/// `linux.seccomp.actions` of features.md.
pub(crate) fn actions() -> Vec<String> {
    ACTIONS.into_iter().map(name).collect()
}

/// `linux.seccomp.operators`.
pub(crate) fn operators() -> Vec<String> {
    OPERATORS.into_iter().map(name).collect()
}

/// `linux.seccomp.archs`: the architectures with a syscall table.
pub(crate) fn archs() -> Vec<String> {
    Abi::ALL.into_iter().map(|abi| name(abi.oci())).collect()
}

/// `linux.seccomp.knownFlags`: the flags skiff understands (the one the
/// spec types cannot carry comes through `spec::Extras`).
pub(crate) fn known_flags() -> Vec<String> {
    let mut known: Vec<String> = FLAGS.iter().map(|(f, _)| name(f)).collect();
    known.push(WAIT_KILLABLE_RECV.to_owned());
    known
}

/// Whether the kernel takes `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV`, which
/// it accepts only together with a listener.
pub(crate) fn kernel_has_wait_killable_recv() -> bool {
    kernel_takes_flag(flag::WAIT_KILLABLE_RECV | flag::NEW_LISTENER)
}

/// `linux.seccomp.supportedFlags`: the known flags this kernel takes.
pub(crate) fn supported_flags() -> Vec<String> {
    let mut supported: Vec<String> = FLAGS
        .iter()
        .filter(|(_, bit)| kernel_takes_flag(*bit))
        .map(|(f, _)| name(f))
        .collect();
    if kernel_has_wait_killable_recv() {
        supported.push(WAIT_KILLABLE_RECV.to_owned());
    }
    supported
}
