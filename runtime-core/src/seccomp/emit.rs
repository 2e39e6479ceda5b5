//! Per-architecture sections → one classic-BPF program.
//!
//! ```text
//!   ld arch; jeq each AUDIT_ARCH → its section; ret KILL_THREAD (bad arch)
//!   section: ld nr
//!            [x86_64: nr ≥ X32 bit → the x32 section, else the x86_64 one]
//!            [jgt last-named-syscall → ret ENOSYS]
//!            decision tree over ranges of numbers, each leaf a
//!            `ret` of its action (default for unnamed numbers) or a
//!            jump to its body
//!            bodies: one per syscall with conditional rules, each rule a
//!                    chain of 64-bit comparisons ending in its action
//!            the shared `ret` of each unconditional action
//! ```

use std::collections::BTreeMap;

use libc::sock_filter;
use oci_spec::runtime::LinuxSeccompOperator as Op;

use super::arch::{Abi, X32_SYSCALL_BIT};
use super::bpf::{Asm, Cmp, Label};
use super::compile::{ret, Cond, Decision, Section};
use super::SeccompError;

const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
const OFF_ARGS: u32 = 16;
const ENOSYS: u32 = 38;

pub(super) fn program(
    sections: &[Section],
    default: u32,
) -> Result<Vec<sock_filter>, SeccompError> {
    let mut a = Asm::default();
    // audit arch → (its main ABI, x32 when the arch is x86_64)
    let mut groups: BTreeMap<u32, (Option<&Section>, Option<&Section>)> = BTreeMap::new();
    for s in sections {
        let g = groups.entry(s.abi.audit_arch()).or_default();
        if s.abi == Abi::X32 {
            g.1 = Some(s);
        } else {
            g.0 = Some(s);
        }
    }
    a.load(OFF_ARCH);
    let labels: Vec<Label> = groups.keys().map(|_| a.label()).collect();
    for (audit, l) in groups.keys().zip(&labels) {
        let next = a.label();
        a.jump(Cmp::Eq, *audit, *l, next);
        a.bind(next);
    }
    a.ret(ret::KILL_THREAD);
    for ((audit, (main, x32)), l) in groups.iter().zip(labels) {
        a.bind(l);
        a.load(OFF_NR);
        if *audit == Abi::X86_64.audit_arch() {
            let (lx32, lmain) = (a.label(), a.label());
            a.jump(Cmp::Ge, X32_SYSCALL_BIT, lx32, lmain);
            // Syscall -1 (a tracer skipping the call) is not x32: it goes
            // to the x86_64 rules, past the ENOSYS check, as in libseccomp.
            let minus_one = a.label();
            a.bind(lx32);
            match x32 {
                Some(s) => {
                    let unused = a.label();
                    section(&mut a, s, default, unused);
                }
                None if main.is_some() => {
                    let kill = a.label();
                    a.jump(Cmp::Eq, u32::MAX, minus_one, kill);
                    a.bind(kill);
                    a.ret(ret::KILL_THREAD);
                }
                None => a.ret(ret::KILL_THREAD),
            }
            a.bind(lmain);
            match main {
                Some(s) => section(&mut a, s, default, minus_one),
                None => a.ret(ret::KILL_THREAD),
            }
        } else if let Some(s) = main.or(*x32) {
            let unused = a.label();
            section(&mut a, s, default, unused);
        }
    }
    a.finish().map_err(|_| SeccompError::Layout)
}

/// Where a range of syscall numbers goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// Return this action.
    Ret(u32),
    /// Run the rules at this label.
    Body(Label),
}

/// One architecture, with the syscall number in A. `after_check` is bound
/// past the ENOSYS check.
fn section(a: &mut Asm, s: &Section, default: u32, after_check: Label) {
    let mut shared: BTreeMap<u32, Label> = BTreeMap::new();
    let mut bodies: Vec<(Label, &[super::compile::Rule])> = Vec::new();
    let mut entries: Vec<(u32, Target)> = Vec::new();
    for (nr, d) in &s.calls {
        let t = match d {
            Decision::Always(act) => Target::Ret(*act),
            Decision::FirstMatch(rules) => {
                let l = a.label();
                bodies.push((l, rules));
                Target::Body(l)
            }
        };
        entries.push((*nr, t));
    }
    let enosys = a.label();
    if let Some(max) = s.enosys_above {
        let tree = a.label();
        a.jump(Cmp::Gt, max, enosys, tree);
        a.bind(tree);
    }
    a.bind(after_check);
    search(a, &ranges(&entries, default));
    a.bind(enosys);
    a.ret(ret::ERRNO | ENOSYS);
    for (l, rules) in bodies {
        a.bind(l);
        for r in rules {
            let next_rule = a.label();
            for c in &r.conds {
                let pass = a.label();
                cond(a, c, s.abi.wide_args(), pass, next_rule);
                a.bind(pass);
            }
            let act = *shared.entry(r.action).or_insert_with(|| a.label());
            a.goto(act);
            a.bind(next_rule);
        }
        a.ret(default);
    }
    for (act, l) in shared {
        a.bind(l);
        a.ret(act);
    }
}

/// The syscall numbers 0..=u32::MAX cut into ranges of one target each,
/// as the first number of each range: the numbers without an entry return
/// `default`, and neighbours returning the same action share one range.
fn ranges(entries: &[(u32, Target)], default: u32) -> Vec<(u32, Target)> {
    let mut out: Vec<(u32, Target)> = vec![(0, Target::Ret(default))];
    let mut next: u64 = 0;
    fn push(out: &mut Vec<(u32, Target)>, start: u32, t: Target) {
        let merges = matches!(t, Target::Ret(_)) && out.last().is_some_and(|(_, last)| *last == t);
        if !merges {
            if out.last().is_some_and(|(s, _)| *s == start) {
                out.pop();
            }
            out.push((start, t));
        }
    }
    for (nr, t) in entries {
        if u64::from(*nr) > next {
            // A gap before this number.
            push(&mut out, next as u32, Target::Ret(default));
        }
        push(&mut out, *nr, *t);
        next = u64::from(*nr) + 1;
    }
    if next <= u64::from(u32::MAX) {
        push(&mut out, next as u32, Target::Ret(default));
    }
    out
}

/// A binary decision tree over the ranges, with the number in A: every
/// leaf returns its action or jumps to its rules, so a leaf's jump never
/// crosses the program (no long-jump trampolines).
fn search(a: &mut Asm, ranges: &[(u32, Target)]) {
    match ranges {
        [] => {}
        [(_, Target::Ret(k))] => a.ret(*k),
        [(_, Target::Body(l))] => a.goto(*l),
        _ => {
            let (low, high) = ranges.split_at(ranges.len() / 2);
            let (lh, ll) = (a.label(), a.label());
            a.jump(Cmp::Ge, high[0].0, lh, ll);
            a.bind(ll);
            search(a, low);
            a.bind(lh);
            search(a, high);
        }
    }
}

/// The offsets of the low and high words of argument `i`.
fn arg_words(i: u32) -> (u32, u32) {
    let base = OFF_ARGS + 8 * i;
    if cfg!(target_endian = "little") {
        (base, base + 4)
    } else {
        (base + 4, base)
    }
}

fn split(v: u64) -> (u32, u32) {
    ((v >> 32) as u32, v as u32)
}

/// Jump to `pass` if the condition holds, else to `fail`. On a 32-bit ABI
/// only the low words are compared.
fn cond(a: &mut Asm, c: &Cond, wide: bool, pass: Label, fail: Label) {
    let (lo, hi) = arg_words(c.index);
    match c.op {
        Op::ScmpCmpEq => eq(a, (lo, hi), c.value, u64::MAX, wide, pass, fail),
        Op::ScmpCmpNe => eq(a, (lo, hi), c.value, u64::MAX, wide, fail, pass),
        // The datum is masked too, as libseccomp does: bits outside the
        // mask cannot make the comparison fail.
        Op::ScmpCmpMaskedEq => eq(
            a,
            (lo, hi),
            c.value_two & c.value,
            c.value,
            wide,
            pass,
            fail,
        ),
        Op::ScmpCmpGt => above(a, (lo, hi), c.value, Cmp::Gt, wide, pass, fail),
        Op::ScmpCmpGe => above(a, (lo, hi), c.value, Cmp::Ge, wide, pass, fail),
        Op::ScmpCmpLe => above(a, (lo, hi), c.value, Cmp::Gt, wide, fail, pass),
        Op::ScmpCmpLt => above(a, (lo, hi), c.value, Cmp::Ge, wide, fail, pass),
    }
}

/// `(arg & mask) == value`.
fn eq(a: &mut Asm, (lo, hi): (u32, u32), value: u64, mask: u64, wide: bool, t: Label, f: Label) {
    let ((vh, vl), (mh, ml)) = (split(value), split(mask));
    if wide {
        let next = a.label();
        a.load(hi);
        if mh != u32::MAX {
            a.and(mh);
        }
        a.jump(Cmp::Eq, vh, next, f);
        a.bind(next);
    }
    a.load(lo);
    if ml != u32::MAX {
        a.and(ml);
    }
    a.jump(Cmp::Eq, vl, t, f);
}

/// `arg > value` (`cmp` Gt) or `arg >= value` (Ge), unsigned 64-bit.
fn above(a: &mut Asm, (lo, hi): (u32, u32), value: u64, cmp: Cmp, wide: bool, t: Label, f: Label) {
    let (vh, vl) = split(value);
    if wide {
        let (not_above, equal) = (a.label(), a.label());
        a.load(hi);
        a.jump(Cmp::Gt, vh, t, not_above);
        a.bind(not_above);
        a.jump(Cmp::Eq, vh, equal, f);
        a.bind(equal);
    }
    a.load(lo);
    a.jump(cmp, vl, t, f);
}
