//! What the compiler accepts, by the spec's names, for `skiff features`:
//! the lists come from the tables `compile` itself uses, and the filter
//! flags from asking the running kernel.

use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction as Act, LinuxSeccompOperator as Op};
use serde::Serialize;

use super::arch::Abi;
use super::compile::{flag_bit, kernel_bits, FLAGS};
use super::install::kernel_takes_flag;

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

/// `linux.seccomp.knownFlags`: the flags skiff understands.
pub(crate) fn known_flags() -> Vec<String> {
    FLAGS.iter().map(name).collect()
}

/// `linux.seccomp.supportedFlags`: the known flags this kernel takes.
pub(crate) fn supported_flags() -> Vec<String> {
    FLAGS
        .iter()
        .filter(|f| kernel_takes_flag(kernel_bits(flag_bit(**f))))
        .map(name)
        .collect()
}

/// The first flag of `seccomp` the running kernel does not take, by name.
pub(crate) fn unsupported_flag(seccomp: &LinuxSeccomp) -> Option<String> {
    seccomp
        .flags()
        .iter()
        .flatten()
        .find_map(|fl| (!kernel_takes_flag(kernel_bits(flag_bit(*fl)))).then(|| name(fl)))
}
