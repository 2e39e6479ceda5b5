use super::interp::run;
use super::*;
use crate::cgroups::devices::{DEFAULT_ALLOW, MKNOD, READ, WRITE};

fn rule(allow: bool, kind: Kind, major: Option<u32>, minor: Option<u32>, access: u8) -> DeviceRule {
    DeviceRule {
        allow,
        kind,
        major,
        minor,
        access,
    }
}

/// The verdict for one request: (type, major, minor, access).
fn verdict(rules: &[DeviceRule], kind: u32, major: u32, minor: u32, access: u8) -> bool {
    let prog = program(rules);
    match run(&prog, (u32::from(access) << 16) | kind, major, minor) {
        Some(r0) => r0 == 1,
        None => panic!("malformed program: {prog:?}"),
    }
}

fn runc_default() -> Vec<DeviceRule> {
    let mut rules = vec![rule(false, Kind::All, None, None, 7)];
    rules.extend_from_slice(DEFAULT_ALLOW);
    rules
}

#[test]
fn default_list_allows_the_standard_devices_only() {
    let r = runc_default();
    for (maj, min) in [
        (1, 3),
        (1, 5),
        (1, 7),
        (1, 8),
        (1, 9),
        (5, 0),
        (5, 2),
        (136, 0),
        (136, 9),
        (10, 200),
    ] {
        assert!(
            verdict(&r, DEV_CHAR, maj, min, READ | WRITE),
            "c {maj}:{min} rw"
        );
    }
    assert!(!verdict(&r, DEV_CHAR, 1, 1, READ), "c 1:1 (/dev/mem) r");
    assert!(!verdict(&r, DEV_BLOCK, 8, 0, READ), "b 8:0 r");
    assert!(!verdict(&r, DEV_BLOCK, 1, 3, READ), "b 1:3 is not c 1:3");
    assert!(!verdict(&r, DEV_CHAR, 10, 229, WRITE), "c 10:229 (fuse) w");
    // mknod of anything, but not use.
    assert!(verdict(&r, DEV_BLOCK, 8, 0, MKNOD));
    assert!(verdict(&r, DEV_CHAR, 1, 1, MKNOD));
    assert!(!verdict(&r, DEV_CHAR, 1, 1, MKNOD | READ));
}

#[test]
fn later_rules_override_and_access_must_be_covered() {
    let mut r = runc_default();
    r.push(rule(true, Kind::Block, Some(8), None, READ));
    assert!(verdict(&r, DEV_BLOCK, 8, 16, READ));
    assert!(
        !verdict(&r, DEV_BLOCK, 8, 16, READ | WRITE),
        "write not granted"
    );
    r.push(rule(false, Kind::Char, Some(1), Some(9), 7));
    assert!(
        !verdict(&r, DEV_CHAR, 1, 9, READ),
        "urandom denied by a later rule"
    );
    assert!(verdict(&r, DEV_CHAR, 1, 8, READ), "random still allowed");
}

#[test]
fn allow_all_then_deny_one() {
    let r = [
        rule(true, Kind::All, None, None, 7),
        rule(false, Kind::Char, Some(1), Some(1), READ | WRITE),
    ];
    assert!(verdict(&r, DEV_BLOCK, 8, 0, READ | WRITE));
    assert!(!verdict(&r, DEV_CHAR, 1, 1, READ));
    assert!(
        verdict(&r, DEV_CHAR, 1, 1, MKNOD),
        "the deny covers rw only"
    );
}

#[test]
fn empty_rules_deny_everything() {
    assert!(!verdict(&[], DEV_CHAR, 1, 3, READ));
    assert_eq!(program(&[]).len(), 8);
}

#[test]
fn jumps_stay_inside_the_program() {
    let prog = program(&runc_default());
    for (pc, i) in prog.iter().enumerate() {
        if i.code == insn::JMP_JNE_K {
            let target = pc as i64 + 1 + i64::from(i.off);
            assert!(
                target > pc as i64 && (target as usize) < prog.len(),
                "{pc}: {i:?}"
            );
        }
    }
    assert_eq!(prog.last().map(|i| i.code), Some(insn::JMP_EXIT));
}

/// The kernel's verifier takes the program (as root; skipped otherwise).
#[test]
fn kernel_verifier_accepts_the_program() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: not root");
        return;
    }
    for rules in [
        runc_default(),
        Vec::new(),
        vec![rule(true, Kind::All, None, None, 7)],
    ] {
        let loaded = sys::load(&program(&rules));
        assert!(loaded.is_ok(), "{rules:?}: {:?}", loaded.err());
    }
}
