//! `linux.seccomp` → the rules of each architecture, with the meaning runc
//! gives a profile when it hands it to libseccomp:
//!
//! - the filter holds the native architecture and every listed one;
//! - each name is resolved per architecture; a name an architecture lacks is
//!   skipped there, a name none has is skipped everywhere;
//! - a rule whose action equals the default action is dropped;
//! - a rule naming the same argument twice becomes one rule per condition;
//! - MASKED_EQ (`value` the mask, `valueTwo` the datum) compares the masked
//!   argument with the *masked* datum, as libseccomp documents and does
//!   (`_db_node_mask_fixup`): bits of the datum outside the mask are
//!   ignored; a MASKED_EQ with a zero mask (on a 32-bit ABI: a zero low
//!   word) is no condition at all, so a rule of only such is unconditional;
//! - per syscall, an unconditional rule wins over every conditional one (the
//!   first unconditional one when there are several); otherwise the first
//!   conditional rule whose conditions all hold decides, the rules taken in
//!   the order libseccomp tests them (by lowest argument index, highest
//!   first; rules whose lowest index is the same and that overlap with
//!   different actions are merged by libseccomp in ways not modelled);
//! - a syscall numbered above every syscall the profile names (on that
//!   architecture) gets `ENOSYS` instead of the default action, unless the
//!   default action lets calls through (ALLOW, LOG, TRACE) or is already
//!   `ENOSYS` (runc's `patchbpf`).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction as Act, LinuxSeccompArg, LinuxSeccompFilterFlag,
    LinuxSeccompOperator,
};

use super::arch::Abi;
use super::{emit, tables, SeccompError};

/// `SECCOMP_RET_*` action values.
pub(super) mod ret {
    pub(crate) const KILL_PROCESS: u32 = 0x8000_0000;
    pub(crate) const KILL_THREAD: u32 = 0x0000_0000;
    pub(crate) const TRAP: u32 = 0x0003_0000;
    pub(crate) const ERRNO: u32 = 0x0005_0000;
    pub(crate) const USER_NOTIF: u32 = 0x7fc0_0000;
    pub(crate) const TRACE: u32 = 0x7ff0_0000;
    pub(crate) const LOG: u32 = 0x7ffc_0000;
    pub(crate) const ALLOW: u32 = 0x7fff_0000;
}

/// `SECCOMP_FILTER_FLAG_*`.
pub(super) mod flag {
    pub(crate) const TSYNC: u32 = 1 << 0;
    pub(crate) const LOG: u32 = 1 << 1;
    pub(crate) const SPEC_ALLOW: u32 = 1 << 2;
    pub(crate) const NEW_LISTENER: u32 = 1 << 3;
    pub(crate) const TSYNC_ESRCH: u32 = 1 << 4;
    pub(crate) const WAIT_KILLABLE_RECV: u32 = 1 << 5;
}

/// Syscalls the runtime makes between loading the filter and handing its
/// listener to the agent (`install::send_listener_on`): a NOTIFY rule on
/// one of them would hold the runtime in that call with no agent to answer
/// it, forever. (runc refuses `write` for the same reason: its init writes
/// the listener's number to its parent.) Every later call of the runtime
/// (setresuid, capset, execve, ...) may be held: the agent has the listener
/// by then and answers.
const BEFORE_AGENT: [&str; 1] = ["sendmsg"];

/// The kernel's limit on a filter's length (`BPF_MAXINSNS`).
const MAX_INSNS: usize = 4096;

const EPERM: u32 = 1;
const ENOSYS: u32 = 38;

/// A compiled filter, ready for [`super::install`]: all of its memory is
/// allocated here, so installing it allocates nothing.
#[derive(Debug, Clone)]
pub(crate) struct Program {
    pub(super) filter: Vec<libc::sock_filter>,
    /// `SECCOMP_FILTER_FLAG_*` for `seccomp(2)`.
    pub(super) flags: u32,
}

impl Program {
    /// The BPF instructions (for the fuzz target's structural checks and
    /// the bench's instruction count).
    #[cfg(any(feature = "fuzzing", feature = "bench"))]
    pub(crate) fn instructions(&self) -> &[libc::sock_filter] {
        &self.filter
    }

    /// Whether installing returns a listener fd (the profile uses NOTIFY).
    pub(crate) fn has_listener(&self) -> bool {
        self.flags & flag::NEW_LISTENER != 0
    }
}

/// One comparison of a syscall argument.
#[derive(Debug, Clone, Copy)]
pub(super) struct Cond {
    pub(super) index: u32,
    pub(super) op: LinuxSeccompOperator,
    pub(super) value: u64,
    pub(super) value_two: u64,
}

/// A rule after runc's processing: its conditions all hold → `action`.
#[derive(Debug, Clone)]
pub(super) struct Rule {
    pub(super) action: u32,
    pub(super) conds: Vec<Cond>,
}

/// What one syscall of one architecture does.
#[derive(Debug, Clone)]
pub(super) enum Decision {
    Always(u32),
    FirstMatch(Vec<Rule>),
}

/// One architecture's part of the filter.
#[derive(Debug, Clone)]
pub(super) struct Section {
    pub(super) abi: Abi,
    pub(super) calls: BTreeMap<u32, Decision>,
    /// Numbers above this get `ENOSYS` (runc's stub), when set.
    pub(super) enosys_above: Option<u32>,
}

/// Compile `seccomp` for a container of architecture `arch`.
pub(crate) fn compile(seccomp: &LinuxSeccomp, arch: Arch) -> Result<Program, SeccompError> {
    let native = Abi::from_oci(arch, Abi::native())?;
    let mut abis = BTreeSet::from([native]);
    for a in seccomp.architectures().iter().flatten() {
        abis.insert(Abi::from_oci(*a, native)?);
    }
    let default = action(
        seccomp.default_action(),
        seccomp.default_errno_ret(),
        "default",
    )?;
    if seccomp.default_action() == Act::ScmpActNotify {
        return Err(SeccompError::NotifyDefault);
    }
    let mut rules: Vec<(&[String], Option<Rule>)> = Vec::new();
    let mut notify = false;
    for call in seccomp.syscalls().iter().flatten() {
        let first = call.names().first().map_or("", String::as_str);
        let act = action(call.action(), call.errno_ret(), first)?;
        if call.action() == Act::ScmpActNotify {
            notify = true;
            if let Some(n) = call
                .names()
                .iter()
                .find(|n| BEFORE_AGENT.contains(&n.as_str()))
            {
                return Err(SeccompError::NotifyOnRuntimeCall(n.clone()));
            }
        }
        let conds = conditions(call.args().as_deref().unwrap_or_default(), first)?;
        // Rules equal to the default are dropped, yet their names still
        // count for the ENOSYS threshold.
        if act == default {
            rules.push((call.names(), None));
            continue;
        }
        if has_repeated_index(&conds) {
            for c in conds {
                let rule = Rule {
                    action: act,
                    conds: vec![c],
                };
                rules.push((call.names(), Some(rule)));
            }
        } else {
            rules.push((call.names(), Some(Rule { action: act, conds })));
        }
    }
    if notify && seccomp.listener_path().is_none() {
        return Err(SeccompError::NotifyWithoutListener);
    }
    let stub = !matches!(default & 0xffff_0000, ret::ALLOW | ret::LOG | ret::TRACE)
        && seccomp.default_errno_ret() != Some(ENOSYS);
    let sections = abis
        .into_iter()
        .map(|abi| section(abi, &rules, stub))
        .collect::<Vec<_>>();
    let filter = emit::program(&sections, default)?;
    if filter.len() > MAX_INSNS {
        return Err(SeccompError::TooLong(filter.len()));
    }
    Ok(Program {
        filter,
        flags: flags(seccomp, notify),
    })
}

fn section(abi: Abi, rules: &[(&[String], Option<Rule>)], stub: bool) -> Section {
    let mut max = 0;
    let mut per_call: BTreeMap<u32, Vec<&Rule>> = BTreeMap::new();
    for (names, rule) in rules {
        for nr in names.iter().filter_map(|n| tables::resolve(abi, n)) {
            max = max.max(nr);
            if let Some(rule) = rule {
                per_call.entry(nr).or_default().push(rule);
            }
        }
    }
    let calls = per_call
        .into_iter()
        .map(|(nr, rules)| {
            let rules: Vec<Rule> = rules
                .into_iter()
                .map(|r| Rule {
                    action: r.action,
                    conds: r
                        .conds
                        .iter()
                        .filter(|c| !tautology(abi, c))
                        .copied()
                        .collect(),
                })
                .collect();
            let decision = match rules.iter().find(|r| r.conds.is_empty()) {
                Some(r) => Decision::Always(r.action),
                None => {
                    // libseccomp tests the rules by their lowest argument
                    // index, highest first.
                    let mut rules = rules;
                    rules.sort_by_key(|r| Reverse(r.conds.iter().map(|c| c.index).min()));
                    Decision::FirstMatch(rules)
                }
            };
            (nr, decision)
        })
        .collect();
    Section {
        abi,
        calls,
        enosys_above: (stub && max != 0).then_some(max),
    }
}

/// The `SECCOMP_RET_*` value of an action; `errno` is its `errnoRet`.
fn action(act: Act, errno: Option<u32>, call: &str) -> Result<u32, SeccompError> {
    // libseccomp takes an errno below MAX_ERRNO (4095), any 16 bits for TRACE.
    let data = |default: u32, max: u32| -> Result<u32, SeccompError> {
        let e = errno.unwrap_or(default);
        if e > max {
            return Err(SeccompError::ErrnoRetRange {
                call: call.to_owned(),
                value: e,
            });
        }
        Ok(e)
    };
    if errno.is_some() && !matches!(act, Act::ScmpActErrno | Act::ScmpActTrace) {
        return Err(SeccompError::ErrnoRetWithoutErrno(call.to_owned()));
    }
    Ok(match act {
        Act::ScmpActKill | Act::ScmpActKillThread => ret::KILL_THREAD,
        Act::ScmpActKillProcess => ret::KILL_PROCESS,
        Act::ScmpActTrap => ret::TRAP,
        Act::ScmpActErrno => ret::ERRNO | data(EPERM, 4094)?,
        Act::ScmpActTrace => ret::TRACE | data(EPERM, 0xffff)?,
        Act::ScmpActNotify => ret::USER_NOTIF,
        Act::ScmpActLog => ret::LOG,
        Act::ScmpActAllow => ret::ALLOW,
    })
}

fn conditions(args: &[LinuxSeccompArg], call: &str) -> Result<Vec<Cond>, SeccompError> {
    args.iter()
        .map(|a| {
            let index = u32::try_from(a.index()).ok().filter(|i| *i < 6);
            let index = index.ok_or_else(|| SeccompError::ArgIndex {
                call: call.to_owned(),
                index: a.index(),
            })?;
            Ok(Cond {
                index,
                op: a.op(),
                value: a.value(),
                value_two: a.value_two().unwrap_or(0),
            })
        })
        .collect()
}

/// A MASKED_EQ with nothing to compare on `abi`: its mask is 0 (its low
/// word, on a 32-bit ABI). libseccomp generates no test for it
/// (`_db_arg_cmp_need_{hi,lo}`), so a rule of only such conditions is
/// unconditional, with the precedence of one.
fn tautology(abi: Abi, c: &Cond) -> bool {
    let mask = if abi.wide_args() {
        c.value
    } else {
        c.value & 0xffff_ffff
    };
    c.op == LinuxSeccompOperator::ScmpCmpMaskedEq && mask == 0
}

fn has_repeated_index(conds: &[Cond]) -> bool {
    let mut seen = [false; 6];
    conds
        .iter()
        .any(|c| std::mem::replace(&mut seen[c.index as usize], true))
}

/// The `flags` of `linux.seccomp`: every flag the spec names (features
/// lists them from here).
pub(super) const FLAGS: [LinuxSeccompFilterFlag; 4] = [
    LinuxSeccompFilterFlag::SeccompFilterFlagTsync,
    LinuxSeccompFilterFlag::SeccompFilterFlagLog,
    LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow,
    LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv,
];

/// The `seccomp(2)` bit of a spec flag. The match is exhaustive so that
/// a flag a newer oci-spec adds fails to compile here instead of being
/// silently dropped.
pub(super) fn flag_bit(fl: LinuxSeccompFilterFlag) -> u32 {
    match fl {
        LinuxSeccompFilterFlag::SeccompFilterFlagTsync => flag::TSYNC,
        LinuxSeccompFilterFlag::SeccompFilterFlagLog => flag::LOG,
        LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => flag::SPEC_ALLOW,
        LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => flag::WAIT_KILLABLE_RECV,
    }
}

/// The flags `seccomp(2)` needs to take flag `bit` on its own:
/// WAIT_KILLABLE_RECV comes only with a listener.
pub(super) fn kernel_bits(bit: u32) -> u32 {
    if bit == flag::WAIT_KILLABLE_RECV {
        bit | flag::NEW_LISTENER
    } else {
        bit
    }
}

fn flags(seccomp: &LinuxSeccomp, notify: bool) -> u32 {
    let mut f = 0;
    for fl in seccomp.flags().iter().flatten() {
        f |= flag_bit(*fl);
    }
    // The kernel takes WAIT_KILLABLE_RECV only with a listener: without
    // NOTIFY rules it has no meaning and is left out, as libseccomp does.
    if !notify {
        f &= !flag::WAIT_KILLABLE_RECV;
    }
    if notify {
        f |= flag::NEW_LISTENER;
        // The kernel refuses TSYNC with a listener unless TSYNC_ESRCH says
        // how to report a thread that cannot sync.
        if f & flag::TSYNC != 0 {
            f |= flag::TSYNC_ESRCH;
        }
    }
    f
}
