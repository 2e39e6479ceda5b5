//! `process.rlimits`: names to resources, applied with setrlimit.

use nix::sys::resource::{getrlimit, setrlimit, Resource};
use oci_spec::runtime::{PosixRlimit, PosixRlimitType};

/// Why an rlimit could not be set.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RlimitError {
    #[error("process.rlimits[{index}] {kind}: soft limit {soft} above hard limit {hard}")]
    SoftAboveHard {
        index: usize,
        kind: PosixRlimitType,
        soft: u64,
        hard: u64,
    },
    #[error("process.rlimits[{index}] {kind}: listed twice (first at process.rlimits[{first}])")]
    Duplicate {
        index: usize,
        first: usize,
        kind: PosixRlimitType,
    },
    #[error(
        "process.rlimits[{index}] {kind}: hard limit {hard} above the runtime's own hard limit \
         {current}; raising a hard limit needs CAP_SYS_RESOURCE ({source})"
    )]
    AboveHard {
        index: usize,
        kind: PosixRlimitType,
        hard: u64,
        current: u64,
        source: nix::Error,
    },
    #[error("process.rlimits[{index}] {kind}: setrlimit(soft {soft}, hard {hard}): {source}")]
    Set {
        index: usize,
        kind: PosixRlimitType,
        soft: u64,
        hard: u64,
        source: nix::Error,
    },
}

/// The kernel resource of a spec rlimit type.
pub(crate) fn resource(kind: PosixRlimitType) -> Resource {
    match kind {
        PosixRlimitType::RlimitCpu => Resource::RLIMIT_CPU,
        PosixRlimitType::RlimitFsize => Resource::RLIMIT_FSIZE,
        PosixRlimitType::RlimitData => Resource::RLIMIT_DATA,
        PosixRlimitType::RlimitStack => Resource::RLIMIT_STACK,
        PosixRlimitType::RlimitCore => Resource::RLIMIT_CORE,
        PosixRlimitType::RlimitRss => Resource::RLIMIT_RSS,
        PosixRlimitType::RlimitNproc => Resource::RLIMIT_NPROC,
        PosixRlimitType::RlimitNofile => Resource::RLIMIT_NOFILE,
        PosixRlimitType::RlimitMemlock => Resource::RLIMIT_MEMLOCK,
        PosixRlimitType::RlimitAs => Resource::RLIMIT_AS,
        PosixRlimitType::RlimitLocks => Resource::RLIMIT_LOCKS,
        PosixRlimitType::RlimitSigpending => Resource::RLIMIT_SIGPENDING,
        PosixRlimitType::RlimitMsgqueue => Resource::RLIMIT_MSGQUEUE,
        PosixRlimitType::RlimitNice => Resource::RLIMIT_NICE,
        PosixRlimitType::RlimitRtprio => Resource::RLIMIT_RTPRIO,
        PosixRlimitType::RlimitRttime => Resource::RLIMIT_RTTIME,
    }
}

/// The checks that need no kernel: soft ≤ hard, each type once.
pub(crate) fn check(limits: &[PosixRlimit]) -> Result<(), RlimitError> {
    for (index, l) in limits.iter().enumerate() {
        let (kind, soft, hard) = (l.typ(), l.soft(), l.hard());
        if soft > hard {
            return Err(RlimitError::SoftAboveHard {
                index,
                kind,
                soft,
                hard,
            });
        }
        if let Some(first) = limits[..index].iter().position(|o| o.typ() == kind) {
            return Err(RlimitError::Duplicate { index, first, kind });
        }
    }
    Ok(())
}

/// Set every rlimit, naming the failing entry; a hard limit above the
/// runtime's own is explained (only CAP_SYS_RESOURCE may raise one).
pub(crate) fn apply(limits: &[PosixRlimit]) -> Result<(), RlimitError> {
    check(limits)?;
    for (index, l) in limits.iter().enumerate() {
        let (kind, soft, hard) = (l.typ(), l.soft(), l.hard());
        if let Err(source) = setrlimit(resource(kind), soft, hard) {
            return Err(match getrlimit(resource(kind)) {
                Ok((_, current)) if source == nix::Error::EPERM && hard > current => {
                    RlimitError::AboveHard {
                        index,
                        kind,
                        hard,
                        current,
                        source,
                    }
                }
                _ => RlimitError::Set {
                    index,
                    kind,
                    soft,
                    hard,
                    source,
                },
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(kind: PosixRlimitType, soft: u64, hard: u64) -> PosixRlimit {
        oci_spec::runtime::PosixRlimitBuilder::default()
            .typ(kind)
            .soft(soft)
            .hard(hard)
            .build()
            .expect("rlimit")
    }

    #[test]
    fn names_map_to_resources() {
        let all: Vec<PosixRlimitType> = serde_json::from_str(
            r#"["RLIMIT_CPU","RLIMIT_FSIZE","RLIMIT_DATA","RLIMIT_STACK","RLIMIT_CORE","RLIMIT_RSS",
                "RLIMIT_NPROC","RLIMIT_NOFILE","RLIMIT_MEMLOCK","RLIMIT_AS","RLIMIT_LOCKS",
                "RLIMIT_SIGPENDING","RLIMIT_MSGQUEUE","RLIMIT_NICE","RLIMIT_RTPRIO","RLIMIT_RTTIME"]"#,
        )
        .expect("types");
        let resources: std::collections::HashSet<_> =
            all.iter().map(|k| resource(*k) as i64).collect();
        assert_eq!(resources.len(), 16);
        assert_eq!(
            resource(PosixRlimitType::RlimitNofile),
            Resource::RLIMIT_NOFILE
        );
        assert_eq!(PosixRlimitType::RlimitNofile.to_string(), "RLIMIT_NOFILE");
    }

    #[test]
    fn checks_name_the_entry() {
        let e = check(&[limit(PosixRlimitType::RlimitCore, 2, 1)]).expect_err("soft > hard");
        assert_eq!(
            e.to_string(),
            "process.rlimits[0] RLIMIT_CORE: soft limit 2 above hard limit 1"
        );
        let twice = [
            limit(PosixRlimitType::RlimitCore, 1, 1),
            limit(PosixRlimitType::RlimitCore, 1, 1),
        ];
        assert!(matches!(
            check(&twice),
            Err(RlimitError::Duplicate {
                index: 1,
                first: 0,
                ..
            })
        ));
    }

    #[test]
    fn raising_the_hard_limit_is_explained() {
        // A refused setrlimit changes nothing: safe in the test process.
        let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit");
        let privileged = caps::has_cap(
            None,
            caps::CapSet::Effective,
            caps::Capability::CAP_SYS_RESOURCE,
        )
        .unwrap_or(true);
        if hard == u64::MAX || privileged {
            return; // this process may raise it: nothing to explain
        }
        let e = apply(&[limit(PosixRlimitType::RlimitNofile, 1, hard + 1)]).expect_err("raised");
        assert!(matches!(e, RlimitError::AboveHard { .. }), "{e}");
        assert!(e.to_string().contains("CAP_SYS_RESOURCE"), "{e}");
    }
}
