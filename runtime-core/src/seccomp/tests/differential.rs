//! skiff's program and libseccomp's (plus runc's ENOSYS stub, modelled
//! here) must return the same action for every input tried: random
//! profiles and hand-written precedence cases, over all five ABIs, a foreign
//! arch, edge and random syscall numbers, and boundary argument values.

use std::collections::{BTreeMap, BTreeSet};

use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompOperator,
};
use serde_json::{json, Value};

use super::interp::{run, Data};
use crate::seccomp::arch::Abi;
use crate::seccomp::{compile, libseccomp, tables};

const ENOSYS_RET: u32 = 0x0005_0026;
const ABIS: [Abi; 6] = Abi::ALL;

/// The ABIs random profiles name and draw their syscalls from. riscv64 is
/// left out: with it in the name pool and the architecture lists, seed
/// 0x5eed_5eed drives libseccomp 2.5.4's `seccomp_rule_add_array` into a
/// loop that never ends (seen in gdb; the same class of hang as the
/// inverted operators, see `random_profile`). riscv64 has its own test,
/// `riscv64_profiles_match_libseccomp`.
const RANDOM_ABIS: [Abi; 5] = [Abi::X86_64, Abi::X86, Abi::X32, Abi::Aarch64, Abi::Arm];

/// A small deterministic generator (xorshift64*), so failures replay.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }
    pub(super) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
}

/// Names on which skiff's tables and libseccomp agree on every ABI.
fn name_pool() -> Vec<&'static str> {
    let names: BTreeSet<&str> = tables::all_names().map(|(n, _)| n).collect();
    let mut pool = Vec::new();
    for name in names {
        // Calls libseccomp multiplexes (x86's socketcall and ipc) are left
        // out: skiff does not rewrite them (see the report).
        let agree = RANDOM_ABIS.iter().all(|abi| {
            tables::resolve(*abi, name) == libseccomp::resolve(abi_token(*abi), name)
                && !libseccomp::is_pseudo(abi_token(*abi), name)
        });
        if agree
            && ![
                "close",
                "execve",
                "execveat",
                "sendmsg",
                "exit",
                "exit_group",
            ]
            .contains(&name)
        {
            pool.push(name);
        }
    }
    pool
}

fn abi_token(abi: Abi) -> u32 {
    match abi {
        Abi::X32 => 0x4000_003e,
        other => other.audit_arch(),
    }
}

fn oci_arch(abi: Abi) -> &'static str {
    match abi {
        Abi::X86_64 => "SCMP_ARCH_X86_64",
        Abi::X86 => "SCMP_ARCH_X86",
        Abi::X32 => "SCMP_ARCH_X32",
        Abi::Aarch64 => "SCMP_ARCH_AARCH64",
        Abi::Arm => "SCMP_ARCH_ARM",
        Abi::Riscv64 => "SCMP_ARCH_RISCV64",
    }
}

const VALUES: [u64; 8] = [
    0,
    1,
    5,
    0xffff_ffff,
    0x1_0000_0000,
    0x1_0000_0005,
    u64::MAX,
    0x8000_0000_0000_0000,
];
const OPS: [&str; 7] = super::SPEC_OPERATORS;

fn random_action(r: &mut Rng) -> Value {
    let acts = [
        "SCMP_ACT_ALLOW",
        "SCMP_ACT_ERRNO",
        "SCMP_ACT_KILL",
        "SCMP_ACT_KILL_PROCESS",
        "SCMP_ACT_TRAP",
        "SCMP_ACT_TRACE",
        "SCMP_ACT_LOG",
        "SCMP_ACT_NOTIFY",
        "SCMP_ACT_ERRNO",
        "SCMP_ACT_KILL_THREAD",
    ];
    let act = *r.pick(&acts);
    let mut v = json!({ "action": act });
    if (act == "SCMP_ACT_ERRNO" || act == "SCMP_ACT_TRACE") && r.below(2) == 0 {
        v["errnoRet"] = json!(*r.pick(&[1u32, 13, 22, 38, 4095]));
    }
    v
}

fn random_value(r: &mut Rng) -> u64 {
    if r.below(4) == 0 {
        r.next()
    } else {
        *r.pick(&VALUES)
    }
}

fn random_profile(r: &mut Rng, pool: &[&str]) -> Value {
    // A few names, so that rules collide on the same syscall often.
    let names: Vec<&str> = (0..6).map(|_| *r.pick(pool)).collect();
    let mut rules = Vec::new();
    let cond_action = random_action(r);
    for _ in 0..r.below(12) + 1 {
        let nargs = *r.pick(&[0usize, 0, 1, 1, 2, 3]);
        // Conditional rules share one action per profile: overlapping
        // conditional rules with different actions are the hand-written
        // cases' job (libseccomp's tree merge is only partly modelled).
        let mut rule = if nargs == 0 {
            random_action(r)
        } else {
            cond_action.clone()
        };
        let n = r.below(3) + 1;
        let mut ns: Vec<&str> = (0..n).map(|_| *r.pick(&names)).collect();
        if r.below(10) == 0 {
            ns.push("skiff_no_such_call");
        }
        rule["names"] = json!(ns);
        let args: Vec<Value> = (0..nargs)
            .map(|_| {
                // libseccomp 2.5.4's `seccomp_rule_add` can loop forever
                // merging the inverted ops (NE, LT, LE) of several rules of
                // one syscall (seen in a sweep: the test hung), so random
                // profiles use EQ, GE, GT, MASKED_EQ (which hang it too, but
                // rarely: 3 seeds of 300 profiles in 20, none on the seed of
                // `random_profiles_match_libseccomp`); the inverted ops are
                // covered by `inverted_ops_match_libseccomp`.
                let op = *r.pick(&OPS[3..]);
                json!({"index": r.below(6), "value": random_value(r),
                       "valueTwo": random_value(r), "op": op})
            })
            .collect();
        if !args.is_empty() {
            rule["args"] = json!(args);
        }
        rules.push(rule);
    }
    let mut def = random_action(r);
    if def["action"] == "SCMP_ACT_NOTIFY" {
        def = json!({"action": "SCMP_ACT_ERRNO"});
    }
    let mut archs: Vec<&str> = RANDOM_ABIS
        .iter()
        .filter(|_| r.below(2) == 0)
        .map(|a| oci_arch(*a))
        .collect();
    archs.sort();
    let mut p = json!({
        "defaultAction": def["action"], "architectures": archs, "syscalls": rules,
        "listenerPath": "/run/agent.sock",
    });
    if let Some(e) = def.get("errnoRet") {
        p["defaultErrnoRet"] = e.clone();
    }
    p
}

/// runc's ENOSYS stub in front of libseccomp's program.
fn expected(m: &Model, reference: &[libc::sock_filter], d: &Data) -> u32 {
    let stub = run(reference, d).expect("libseccomp program runs");
    if !m.enosys_stub {
        return stub;
    }
    let Some(abi) = m.abi_of(d) else { return stub };
    let max = m.max_nr.get(&abi).copied().unwrap_or(0);
    if max != 0 && d.nr > max {
        ENOSYS_RET
    } else {
        stub
    }
}

/// Inputs: every ABI and a foreign arch; numbers the profile names, their
/// neighbours, edges and random ones; arguments at and around every value
/// the profile compares with.
fn inputs(p: &LinuxSeccomp, r: &mut Rng) -> Vec<Data> {
    let mut nrs: BTreeSet<u32> = [
        0,
        1,
        0x3fff_ffff,
        0x4000_0000,
        0x4000_0001,
        u32::MAX,
        0x0f_0001,
    ]
    .into();
    let mut vals: BTreeSet<u64> = VALUES.into_iter().collect();
    // riscv64's numbers and arch only where the profile names it, so that
    // the random profiles (without it) draw the same stream as before it.
    let riscv64 = p
        .architectures()
        .iter()
        .flatten()
        .any(|a| *a == Arch::ScmpArchRiscv64);
    let abis: &[Abi] = if riscv64 { &ABIS } else { &RANDOM_ABIS };
    for s in p.syscalls().iter().flatten() {
        for n in s.names() {
            for &abi in abis {
                if let Some(nr) = tables::resolve(abi, n) {
                    nrs.extend([nr.wrapping_sub(1), nr, nr + 1]);
                }
            }
        }
        for a in s.args().iter().flatten() {
            for v in [a.value(), a.value_two().unwrap_or(0)] {
                vals.extend([
                    v.wrapping_sub(1),
                    v,
                    v.wrapping_add(1),
                    v ^ 0xffff_ffff_0000_0000,
                ]);
                vals.extend([v & a.value_two().unwrap_or(0), v & 0xffff_ffff, v << 32]);
            }
        }
    }
    let vals: Vec<u64> = vals.into_iter().collect();
    let mut out = Vec::new();
    let mut archs = vec![0xc000_003e, 0x4000_0003, 0xc000_00b7, 0x4000_0028];
    if riscv64 {
        archs.push(0xc000_00f3);
    }
    archs.push(0x1234_5678);
    for arch in archs {
        for nr in &nrs {
            for _ in 0..12 {
                let mut args = [0u64; 6];
                for a in &mut args {
                    *a = if r.below(8) == 0 {
                        r.next()
                    } else {
                        *r.pick(&vals)
                    };
                }
                out.push(Data {
                    nr: *nr,
                    arch,
                    ip: r.next(),
                    args,
                });
            }
        }
        for _ in 0..20 {
            out.push(Data {
                nr: r.next() as u32 % 1200,
                arch,
                ip: 0,
                args: [r.next(); 6],
            });
        }
    }
    out
}

/// One rule of a syscall on one ABI, as the oracle reads it.
struct OracleRule {
    action: u32,
    conds: Vec<LinuxSeccompArg>,
}

/// A profile resolved once per ABI, for [`expected`] and [`oracle`].
struct Model {
    abis: BTreeSet<Abi>,
    default: u32,
    /// runc's ENOSYS stub applies (the default action denies).
    enosys_stub: bool,
    /// The highest number the profile names, per ABI.
    max_nr: BTreeMap<Abi, u32>,
    /// The rules of each (ABI, number), in profile order, after runc's and
    /// libseccomp's rewriting (see [`oracle`]).
    rules: BTreeMap<(Abi, u32), Vec<OracleRule>>,
}

impl Model {
    fn new(p: &LinuxSeccomp) -> Model {
        let mut abis: BTreeSet<Abi> = BTreeSet::from([Abi::X86_64]);
        for a in p.architectures().iter().flatten() {
            abis.insert(Abi::from_oci(*a, Abi::X86_64).expect("arch"));
        }
        let default = libseccomp_action(p.default_action(), p.default_errno_ret());
        let enosys_stub = ![
            LinuxSeccompAction::ScmpActAllow,
            LinuxSeccompAction::ScmpActLog,
            LinuxSeccompAction::ScmpActTrace,
        ]
        .contains(&p.default_action())
            && p.default_errno_ret() != Some(38);
        let mut max_nr = BTreeMap::new();
        let mut rules: BTreeMap<(Abi, u32), Vec<OracleRule>> = BTreeMap::new();
        for abi in &abis {
            for s in p.syscalls().iter().flatten() {
                let act = libseccomp_action(s.action(), s.errno_ret());
                let args = s.args().clone().unwrap_or_default();
                let mut seen = [false; 6];
                let repeated = args
                    .iter()
                    .any(|a| std::mem::replace(&mut seen[a.index()], true));
                let split: Vec<Vec<LinuxSeccompArg>> = if repeated {
                    args.iter().map(|a| vec![*a]).collect()
                } else {
                    vec![args]
                };
                for n in s.names() {
                    let Some(nr) = libseccomp::resolve(abi_token(*abi), n) else {
                        continue;
                    };
                    let max = max_nr.entry(*abi).or_insert(0);
                    *max = nr.max(*max);
                    if act == default {
                        continue;
                    }
                    for conds in &split {
                        let conds = conds
                            .iter()
                            .filter(|c| !tautology(*abi, c))
                            .copied()
                            .collect();
                        rules
                            .entry((*abi, nr))
                            .or_default()
                            .push(OracleRule { action: act, conds });
                    }
                }
            }
        }
        Model {
            abis,
            default,
            enosys_stub,
            max_nr,
            rules,
        }
    }

    /// The ABI of the filter that takes `d`, if any.
    fn abi_of(&self, d: &Data) -> Option<Abi> {
        self.abis.iter().copied().find(|abi| {
            abi.audit_arch() == d.arch
                && (abi.audit_arch() != Abi::X86_64.audit_arch()
                    || (*abi == Abi::X32) == (d.nr & 0x4000_0000 != 0))
        })
    }
}

/// The profile's own meaning for `d`, when `d` lands on a syscall that
/// has conditional rules (on an architecture of the filter): the verdict
/// of its rules evaluated directly, with libseccomp's deliberate rules
/// encoded. None elsewhere, and where rules with different actions match
/// at once (no plain meaning: libseccomp's tree order decides).
///
/// - rules whose action is the default action are dropped (runc);
/// - a rule naming one argument twice is one rule per condition (runc);
/// - MASKED_EQ compares the masked argument with the *masked* datum, and
///   a MASKED_EQ whose mask is 0 (its low word on a 32-bit ABI) is no
///   condition at all (libseccomp: `_db_node_mask_fixup`,
///   `_db_arg_cmp_need_{hi,lo}`);
/// - on a 32-bit ABI only the low words of argument and value count;
/// - an unconditional rule beats every conditional one (the first
///   unconditional one when there are several: libseccomp's `db_rule_add`
///   keeps a syscall's first unconditional action and clears its
///   conditional chains for a later one);
/// - otherwise the action of the matching conditional rules, or the
///   default action when none matches.
fn oracle(m: &Model, d: &Data) -> Option<u32> {
    let abi = m.abi_of(d)?;
    let rules = m.rules.get(&(abi, d.nr))?;
    if let Some(r) = rules.iter().find(|r| r.conds.is_empty()) {
        return (rules.len() > 1).then_some(r.action);
    }
    let matching: BTreeSet<u32> = rules
        .iter()
        .filter(|r| r.conds.iter().all(|c| holds(abi, c, d.args[c.index()])))
        .map(|r| r.action)
        .collect();
    match matching.len() {
        0 => Some(m.default),
        1 => matching.first().copied(),
        _ => None,
    }
}

/// A MASKED_EQ that libseccomp drops: nothing of it left to compare.
fn tautology(abi: Abi, c: &LinuxSeccompArg) -> bool {
    let mask = if abi.wide_args() {
        c.value()
    } else {
        c.value() & 0xffff_ffff
    };
    c.op() == LinuxSeccompOperator::ScmpCmpMaskedEq && mask == 0
}

/// Whether argument value `arg` satisfies `c` on `abi`.
fn holds(abi: Abi, c: &LinuxSeccompArg, arg: u64) -> bool {
    let width = if abi.wide_args() {
        u64::MAX
    } else {
        0xffff_ffff
    };
    let (a, v) = (arg & width, c.value() & width);
    match c.op() {
        LinuxSeccompOperator::ScmpCmpEq => a == v,
        LinuxSeccompOperator::ScmpCmpNe => a != v,
        LinuxSeccompOperator::ScmpCmpLt => a < v,
        LinuxSeccompOperator::ScmpCmpLe => a <= v,
        LinuxSeccompOperator::ScmpCmpGt => a > v,
        LinuxSeccompOperator::ScmpCmpGe => a >= v,
        LinuxSeccompOperator::ScmpCmpMaskedEq => a & v == c.value_two().unwrap_or(0) & v,
    }
}

/// runc's action value.
fn libseccomp_action(act: LinuxSeccompAction, errno: Option<u32>) -> u32 {
    let e = errno.unwrap_or(1) & 0xffff;
    match act {
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => 0,
        LinuxSeccompAction::ScmpActKillProcess => 0x8000_0000,
        LinuxSeccompAction::ScmpActTrap => 0x0003_0000,
        LinuxSeccompAction::ScmpActErrno => 0x0005_0000 | e,
        LinuxSeccompAction::ScmpActTrace => 0x7ff0_0000 | e,
        LinuxSeccompAction::ScmpActNotify => 0x7fc0_0000,
        LinuxSeccompAction::ScmpActLog => 0x7ffc_0000,
        LinuxSeccompAction::ScmpActAllow => 0x7fff_0000,
    }
}

/// What one profile's comparison found.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Tally {
    /// Inputs run.
    pub(super) inputs: usize,
    /// Inputs where libseccomp's verdict contradicts the profile's meaning
    /// (the oracle), and skiff was held to the oracle instead.
    pub(super) libseccomp_wrong: usize,
}

/// A verdict that differs: (input, skiff, libseccomp, oracle).
type Mismatch = (Data, u32, u32, Option<u32>);

/// Compile with both and compare over the inputs: skiff must equal
/// libseccomp, except where libseccomp contradicts the oracle, where skiff
/// must equal the oracle. The mismatches are returned (not asserted).
fn compare(profile: &Value, r: &mut Rng) -> (Tally, Vec<Mismatch>) {
    let p: LinuxSeccomp = serde_json::from_value(profile.clone()).expect("profile");
    let ours = compile(&p, Arch::ScmpArchX86_64);
    let reference = match libseccomp::compile(&p) {
        Ok(r) => r,
        Err(e) => {
            // What libseccomp refuses (and so runc), skiff refuses.
            assert!(
                ours.is_err(),
                "libseccomp refused, skiff did not: {e}\n{profile:#}"
            );
            return (Tally::default(), Vec::new());
        }
    };
    let ours = ours.unwrap_or_else(|e| panic!("skiff: {e}\n{profile:#}"));
    let inputs = inputs(&p, r);
    let model = Model::new(&p);
    let mut tally = Tally {
        inputs: inputs.len(),
        libseccomp_wrong: 0,
    };
    let mut bad = Vec::new();
    for d in &inputs {
        let theirs = expected(&model, &reference, d);
        let got = run(&ours.filter, d).expect("skiff program runs");
        let meaning = oracle(&model, d);
        let want = match meaning {
            Some(m) if m != theirs => {
                tally.libseccomp_wrong += 1;

                m
            }
            _ => theirs,
        };
        if got != want {
            bad.push((*d, got, theirs, meaning));
        }
    }
    (tally, bad)
}

/// [`compare`], asserting no mismatch; the count of inputs tried.
pub(super) fn check(profile: &Value, r: &mut Rng) -> usize {
    check_tally(profile, r).inputs
}

fn check_tally(profile: &Value, r: &mut Rng) -> Tally {
    let (tally, bad) = compare(profile, r);
    if let Some((d, got, theirs, meaning)) = bad.first() {
        panic!(
            "{d:x?} skiff {got:#x} libseccomp {theirs:#x} oracle {meaning:x?}\nprofile {profile}"
        );
    }
    tally
}

/// `profiles` random profiles from `seed`: the tally summed.
fn random_run(seed: u64, profiles: usize) -> Tally {
    let pool = name_pool();
    assert!(pool.len() > 250, "only {} names agree", pool.len());
    let mut r = Rng::new(seed);
    let mut sum = Tally::default();
    for _ in 0..profiles {
        let p = random_profile(&mut r, &pool);
        let t = check_tally(&p, &mut r);
        sum.inputs += t.inputs;
        sum.libseccomp_wrong += t.libseccomp_wrong;
    }
    sum
}

/// Where libseccomp 2.5.4 contradicts the profile (the oracle), skiff
/// follows the profile; those inputs are counted and must stay rare. The
/// cause found so far is `_db_tree_add` (src/db.c): a 64-bit GT/GE is
/// split into `hi > v.hi` (true: the rule's action or its next argument)
/// and `hi == v.hi` → `lo >= v.lo` (its false branch); when a second rule
/// compares the same argument with the same high word, the two `hi >`
/// nodes are merged, and if the existing one already ends in an action
/// the merge returns ("existing tree is shorter") before it merges the
/// new rule's false branch, so the new rule is lost for arguments with
/// that high word (`setpgid` in
/// `libseccomp_tree_merge_bug_follows_the_profile`). How several rules
/// of one syscall combine is not specified by libseccomp:
/// https://github.com/seccomp/libseccomp/issues/118 (closed as a question).
#[test]
fn random_profiles_match_libseccomp() {
    let t = random_run(0x5eed_5eed, 1200);
    eprintln!(
        "{} inputs; libseccomp contradicted the profile on {} (skiff followed the profile)",
        t.inputs, t.libseccomp_wrong
    );
    assert!(t.inputs > 100_000, "{}", t.inputs);
    assert!(t.libseccomp_wrong * 10_000 <= t.inputs, "{t:?}");
}

/// The same over many seeds (`SEEDS`, default 10, from `START`), for a
/// local sweep: `cargo test -p skiff-core --lib -- random_profiles_sweep
/// --ignored --nocapture`. Some seeds (e.g. START=5) hang inside
/// libseccomp's `seccomp_rule_add`, and random inverted ops (NE, LT, LE)
/// in several rules of one syscall hang it often: see `random_profile`.
#[test]
#[ignore = "a local sweep over many seeds, minutes long"]
fn random_profiles_sweep() {
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(d)
    };
    let (start, seeds) = (env("START", 0), env("SEEDS", 10));
    for seed in start..start + seeds {
        let t = random_run(0x5eed_0000 + 2 * seed, 300);
        eprintln!("seed {seed}: {t:?}");
    }
}

fn rule(names: &[&str], action: &str, args: Value) -> Value {
    json!({"names": names, "action": action, "args": args})
}

#[test]
fn unconditional_and_conditional_precedence_matches_libseccomp() {
    let a0 = json!([{"index": 0, "value": 5, "op": "SCMP_CMP_EQ"}]);
    let a1 = json!([{"index": 1, "value": 7, "op": "SCMP_CMP_GT"}]);
    let cases = [
        vec![
            rule(&["getpid"], "SCMP_ACT_ALLOW", json!([])),
            rule(&["getpid"], "SCMP_ACT_TRAP", a0.clone()),
        ],
        vec![
            rule(&["getpid"], "SCMP_ACT_TRAP", a0.clone()),
            rule(&["getpid"], "SCMP_ACT_ALLOW", json!([])),
        ],
        vec![
            rule(&["getpid"], "SCMP_ACT_TRAP", a0.clone()),
            rule(&["getpid"], "SCMP_ACT_LOG", a1.clone()),
        ],
        vec![
            rule(&["getpid"], "SCMP_ACT_LOG", a1.clone()),
            rule(&["getpid"], "SCMP_ACT_TRAP", a0.clone()),
        ],
        vec![
            rule(&["getpid"], "SCMP_ACT_LOG", json!([])),
            rule(&["getpid"], "SCMP_ACT_TRAP", json!([])),
        ],
        vec![
            rule(&["getpid"], "SCMP_ACT_ERRNO", a0.clone()),
            rule(&["getpid"], "SCMP_ACT_ALLOW", json!([])),
        ],
        vec![
            rule(&["getpid"], "SCMP_ACT_ALLOW", a0),
            rule(&["getpid"], "SCMP_ACT_ALLOW", a1),
        ],
    ];
    let mut r = Rng::new(7);
    for (i, rules) in cases.into_iter().enumerate() {
        for def in ["SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_ALLOW"] {
            let p = json!({"defaultAction": def, "syscalls": rules,
                           "architectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]});
            assert!(check(&p, &mut r) > 0, "case {i}");
        }
    }
}

#[test]
fn inverted_ops_match_libseccomp() {
    let mut r = Rng::new(11);
    for op in ["SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE"] {
        for v in VALUES {
            for index in [0, 3, 5] {
                let args = json!([{"index": index, "value": v, "op": op}]);
                let p = json!({"defaultAction": "SCMP_ACT_ERRNO",
                    "architectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
                    "syscalls": [rule(&["getpid", "dup"], "SCMP_ACT_ALLOW", args),
                                 rule(&["dup"], "SCMP_ACT_TRAP", json!([]))]});
                assert!(check(&p, &mut r) > 0);
            }
        }
    }
}

/// MASKED_EQ (`value` the mask, `valueTwo` the datum) compares with the
/// masked datum, as libseccomp does: `(a4 & 1) == 5` holds for odd a4.
/// (The first failure of the random test: skiff answered the default.)
#[test]
fn masked_eq_masks_the_datum_as_libseccomp() {
    let mut r = Rng::new(13);
    for (mask, datum) in [
        (1u64, 5u64),
        (0xffff_ffff, 0x8000_0000_0000_0000),
        (0xff00, 0x12345),
    ] {
        let args = json!([{"index": 4, "value": mask, "valueTwo": datum, "op": "SCMP_CMP_MASKED_EQ"},
                          {"index": 3, "value": 1, "op": "SCMP_CMP_GE"}]);
        let p = json!({"defaultAction": "SCMP_ACT_ERRNO",
            "architectures": ["SCMP_ARCH_X86", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64"],
            "syscalls": [rule(&["dup"], "SCMP_ACT_KILL_PROCESS", args)]});
        assert!(check(&p, &mut r) > 0);
    }
}

/// A MASKED_EQ with a zero mask (on a 32-bit ABI, a zero low word) is no
/// condition: libseccomp makes the rule unconditional, and so it beats the
/// conditional rules of its syscall.
#[test]
fn masked_eq_without_mask_bits_is_unconditional_as_libseccomp() {
    let mut r = Rng::new(17);
    for mask in [0u64, 0x1_0000_0000] {
        let none = json!([{"index": 2, "value": mask, "valueTwo": 7, "op": "SCMP_CMP_MASKED_EQ"}]);
        let a0 = json!([{"index": 0, "value": 5, "op": "SCMP_CMP_EQ"}]);
        for rules in [
            vec![
                rule(&["getpid"], "SCMP_ACT_TRAP", none.clone()),
                rule(&["getpid"], "SCMP_ACT_ALLOW", a0.clone()),
            ],
            vec![
                rule(&["getpid"], "SCMP_ACT_ALLOW", a0.clone()),
                rule(&["getpid"], "SCMP_ACT_TRAP", none.clone()),
            ],
        ] {
            let p = json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": rules,
                "architectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64"]});
            assert!(check(&p, &mut r) > 0, "mask {mask:#x}");
        }
    }
}

/// libseccomp 2.5.4 loses `a0 >= 5 && a4 >= 2^32` when `a0 >= 0xffffffff`
/// came first (see `random_profiles_match_libseccomp`): for a0 below 2^32
/// and a4 at or above 2^32 it answers the default. skiff follows the
/// profile (KILL), and the oracle counts those inputs.
#[test]
fn libseccomp_tree_merge_bug_follows_the_profile() {
    let p = json!({"defaultAction": "SCMP_ACT_ERRNO",
    "syscalls": [
        rule(&["setpgid"], "SCMP_ACT_KILL_THREAD",
             json!([{"index": 0, "value": 0xffff_ffffu64, "op": "SCMP_CMP_GE"}])),
        rule(&["setpgid"], "SCMP_ACT_KILL_THREAD",
             json!([{"index": 4, "value": 0x1_0000_0000u64, "op": "SCMP_CMP_GE"},
                    {"index": 0, "value": 5, "op": "SCMP_CMP_GE"}])),
    ]});
    let t = check_tally(&p, &mut Rng::new(19));
    assert!(t.libseccomp_wrong > 0, "{t:?}");
    // The input of the report, as the kernel would see it.
    let p: LinuxSeccomp = serde_json::from_value(p).expect("profile");
    let prog = compile(&p, Arch::ScmpArchX86_64).expect("skiff");
    let lib = libseccomp::compile(&p).expect("libseccomp");
    let d = Data {
        nr: 109,
        arch: Abi::X86_64.audit_arch(),
        ip: 0,
        args: [0x1445_c78a, 0, 0, 0, 0x6b58_e934_0000_0000, 0],
    };
    assert_eq!(run(&prog.filter, &d), Ok(0));
    assert_eq!(run(&lib, &d), Ok(0x0005_0001));
}

/// riscv64 (kept out of the random profiles, see [`RANDOM_ABIS`]): rules
/// of every operator, action and argument width on calls the asm-generic
/// table shares with aarch64 and on riscv_flush_icache, alone and beside
/// x86_64, against libseccomp over the inputs of every ABI.
#[test]
fn riscv64_profiles_match_libseccomp() {
    let wide = json!([{"index": 1, "value": 0x1_0000_0005u64, "op": "SCMP_CMP_GE"}]);
    let masked = json!([{"index": 0, "value": 0xff00u64, "valueTwo": 0x1200u64,
                         "op": "SCMP_CMP_MASKED_EQ"}]);
    let two = json!([{"index": 0, "value": 3, "op": "SCMP_CMP_EQ"},
                     {"index": 2, "value": 0xffff_ffffu64, "op": "SCMP_CMP_GT"}]);
    let ne = json!([{"index": 3, "value": 9, "op": "SCMP_CMP_NE"}]);
    let rules = vec![
        rule(&["openat", "read"], "SCMP_ACT_ALLOW", json!([])),
        rule(&["riscv_flush_icache"], "SCMP_ACT_TRAP", json!([])),
        rule(&["setpgid"], "SCMP_ACT_KILL_THREAD", wide),
        rule(&["ioctl"], "SCMP_ACT_LOG", masked),
        rule(&["fcntl"], "SCMP_ACT_ERRNO", two),
        rule(&["clone3"], "SCMP_ACT_TRACE", ne),
        rule(&["personality"], "SCMP_ACT_KILL_PROCESS", json!([])),
    ];
    let mut r = Rng::new(23);
    let mut inputs = 0;
    for archs in [
        json!(["SCMP_ARCH_RISCV64"]),
        json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_RISCV64"]),
    ] {
        for default in ["SCMP_ACT_ERRNO", "SCMP_ACT_ALLOW"] {
            let p = json!({"defaultAction": default, "architectures": archs,
                           "syscalls": rules});
            let t = check_tally(&p, &mut r);
            assert_eq!(t.libseccomp_wrong, 0, "{p}");
            inputs += t.inputs;
        }
    }
    assert!(inputs > 1000, "{inputs}");
}
