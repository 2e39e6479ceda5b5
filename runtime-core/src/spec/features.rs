//! `skiff features`: what this build of skiff really supports.

use serde_json::{json, Value};

/// The runtime-spec features document (features.md) for this build.
pub fn features() -> Value {
    json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": "1.2.0",
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
        "mountOptions": crate::rootfs::MOUNT_OPTIONS,
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "uts", "user", "time"],
            "capabilities": crate::process::known_capabilities(),
            "cgroup": { "v1": true, "v2": true, "systemd": false, "systemdUser": false },
            "seccomp": {
                "enabled": true,
                "actions": crate::seccomp::actions(),
                "operators": crate::seccomp::operators(),
                "archs": crate::seccomp::archs(),
                "knownFlags": crate::seccomp::known_flags(),
                "supportedFlags": crate::seccomp::supported_flags()
            },
            "apparmor": { "enabled": crate::process::lsm::enabled(crate::process::lsm::Lsm::AppArmor) },
            "selinux": { "enabled": crate::process::lsm::enabled(crate::process::lsm::Lsm::SELinux) },
            "intelRdt": { "enabled": false },
            "mountExtensions": { "idmap": { "enabled": false } }
        },
        "annotations": {
            "org.opencontainers.runtime-spec.features.runtime.name": "skiff",
            "org.opencontainers.runtime-spec.features.runtime.version": env!("CARGO_PKG_VERSION")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What features() claims must match what validate() and the code accept.
    #[test]
    fn claims_match_the_code() {
        let f = features();
        let namespaces = f["linux"]["namespaces"].as_array().expect("namespaces");
        assert!(namespaces.iter().any(|n| n == "user"));
        assert_eq!(f["linux"]["seccomp"]["enabled"], true);
        use crate::process::lsm::{enabled, Lsm};
        for (name, lsm) in [("apparmor", Lsm::AppArmor), ("selinux", Lsm::SELinux)] {
            assert_eq!(f["linux"][name]["enabled"], enabled(lsm), "{name}");
        }
        let hooks = f["hooks"].as_array().expect("hooks");
        let kinds = crate::hooks::all_kinds(&crate::spec::default_spec());
        assert_eq!(hooks.len(), kinds.len());
        for (kind, _) in kinds {
            assert!(hooks.iter().any(|h| h == kind), "{kind}");
        }
        let caps = f["linux"]["capabilities"].as_array().expect("capabilities");
        assert!(caps.iter().any(|c| c == "CAP_SYS_ADMIN"));
    }

    /// Every name config-linux.md gives for seccomp actions, operators,
    /// architectures and flags: features lists a name exactly when a profile
    /// using it compiles (a name the spec types cannot carry is not listed).
    #[test]
    fn seccomp_lists_exactly_what_compiles() {
        const ACTIONS: [&str; 9] = [
            "SCMP_ACT_KILL",
            "SCMP_ACT_KILL_PROCESS",
            "SCMP_ACT_KILL_THREAD",
            "SCMP_ACT_TRAP",
            "SCMP_ACT_ERRNO",
            "SCMP_ACT_TRACE",
            "SCMP_ACT_ALLOW",
            "SCMP_ACT_LOG",
            "SCMP_ACT_NOTIFY",
        ];
        const ARCHS: [&str; 21] = [
            "SCMP_ARCH_X86",
            "SCMP_ARCH_X86_64",
            "SCMP_ARCH_X32",
            "SCMP_ARCH_ARM",
            "SCMP_ARCH_AARCH64",
            "SCMP_ARCH_MIPS",
            "SCMP_ARCH_MIPS64",
            "SCMP_ARCH_MIPS64N32",
            "SCMP_ARCH_MIPSEL",
            "SCMP_ARCH_MIPSEL64",
            "SCMP_ARCH_MIPSEL64N32",
            "SCMP_ARCH_PPC",
            "SCMP_ARCH_PPC64",
            "SCMP_ARCH_PPC64LE",
            "SCMP_ARCH_S390",
            "SCMP_ARCH_S390X",
            "SCMP_ARCH_PARISC",
            "SCMP_ARCH_PARISC64",
            "SCMP_ARCH_RISCV64",
            "SCMP_ARCH_LOONGARCH64",
            "SCMP_ARCH_M68K",
        ];
        const FLAGS: [&str; 4] = [
            "SECCOMP_FILTER_FLAG_TSYNC",
            "SECCOMP_FILTER_FLAG_LOG",
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
        ];
        let f = features();
        let listed = |key: &str| -> Vec<String> {
            let list = f["linux"]["seccomp"][key].as_array().expect(key);
            list.iter()
                .map(|v| v.as_str().expect(key).to_owned())
                .collect()
        };
        let compiles = |profile: Value| {
            serde_json::from_value::<oci_spec::runtime::LinuxSeccomp>(profile).is_ok_and(|p| {
                crate::seccomp::compile(&p, oci_spec::runtime::Arch::ScmpArchNative).is_ok()
            })
        };
        let check = |key: &str, names: &[&str], profile: &dyn Fn(&str) -> Value| {
            let listed = listed(key);
            for name in names {
                assert_eq!(
                    listed.iter().any(|l| l == name),
                    compiles(profile(name)),
                    "{key}: {name}"
                );
            }
            for l in &listed {
                assert!(names.contains(&l.as_str()), "{key}: {l} is not a spec name");
            }
        };
        check("actions", &ACTIONS, &|a| {
            json!({ "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/agent.sock",
                    "syscalls": [{ "names": ["getpid"], "action": a }] })
        });
        check("operators", &crate::seccomp::tests::SPEC_OPERATORS, &|op| {
            json!({ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{ "names": ["getpid"],
                    "action": "SCMP_ACT_ERRNO", "args": [{ "index": 0, "value": 1, "valueTwo": 1, "op": op }] }] })
        });
        check(
            "archs",
            &ARCHS,
            &|arch| json!({ "defaultAction": "SCMP_ACT_ALLOW", "architectures": [arch] }),
        );
        check(
            "knownFlags",
            &FLAGS,
            &|flag| json!({ "defaultAction": "SCMP_ACT_ALLOW", "flags": [flag] }),
        );
        let known = listed("knownFlags");
        for s in listed("supportedFlags") {
            assert!(known.contains(&s), "supportedFlags: {s} is not known");
        }
        assert_eq!(f["linux"]["cgroup"]["v1"], true);
        assert_eq!(f["linux"]["cgroup"]["v2"], true);
    }

    /// supportedFlags holds a known flag exactly when a filter with it loads
    /// on this kernel: a forked child installs an allow-all filter with each.
    #[test]
    fn supported_flags_load_on_this_kernel() {
        let f = features();
        let supported = f["linux"]["seccomp"]["supportedFlags"]
            .as_array()
            .expect("flags")
            .clone();
        for (flag, bit) in [
            ("SECCOMP_FILTER_FLAG_TSYNC", libc::SECCOMP_FILTER_FLAG_TSYNC),
            ("SECCOMP_FILTER_FLAG_LOG", libc::SECCOMP_FILTER_FLAG_LOG),
            (
                "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW,
            ),
            // Taken only with a listener.
            (
                "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
                libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
                    | libc::SECCOMP_FILTER_FLAG_NEW_LISTENER,
            ),
        ] {
            assert_eq!(
                supported.iter().any(|s| s == flag),
                loads_with(bit),
                "{flag}"
            );
        }
    }

    /// Install an allow-all filter with `flags` in a forked child.
    fn loads_with(flags: libc::c_ulong) -> bool {
        let mut allow = libc::sock_filter {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: libc::SECCOMP_RET_ALLOW,
        };
        let prog = libc::sock_fprog {
            len: 1,
            filter: &mut allow,
        };
        // SAFETY: the child only makes raw syscalls (prctl, seccomp, _exit),
        // which are async-signal-safe, on memory set up before the fork.
        match unsafe { libc::fork() } {
            0 => {
                // SAFETY: see above; `prog` is valid for the child's copy.
                let rc = unsafe {
                    libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
                    libc::syscall(
                        libc::SYS_seccomp,
                        libc::SECCOMP_SET_MODE_FILTER,
                        flags,
                        &prog,
                    )
                };
                // SAFETY: leave the child without running the parent's code.
                unsafe { libc::_exit(if rc < 0 { 1 } else { 0 }) }
            }
            pid if pid > 0 => {
                let status = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
                matches!(status, Ok(nix::sys::wait::WaitStatus::Exited(_, 0)))
            }
            _ => panic!("fork: {}", std::io::Error::last_os_error()),
        }
    }
}
