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
            "cgroup": { "v1": false, "v2": false, "systemd": false, "systemdUser": false },
            "seccomp": {
                "enabled": true,
                "actions": [
                    "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                    "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE",
                    "SCMP_ACT_TRAP"
                ],
                "operators": [
                    "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
                    "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"
                ],
                "archs": [
                    "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", "SCMP_ARCH_X32", "SCMP_ARCH_X86",
                    "SCMP_ARCH_X86_64"
                ],
                "knownFlags": [
                    "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                    "SECCOMP_FILTER_FLAG_TSYNC"
                ],
                "supportedFlags": [
                    "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                    "SECCOMP_FILTER_FLAG_TSYNC"
                ]
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
}
