//! `process.rlimits`: names to resources, applied with setrlimit.

use nix::sys::resource::{setrlimit, Resource};
use oci_spec::runtime::{PosixRlimit, PosixRlimitType};

/// Why an rlimit could not be set.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RlimitError {
    #[error("process.rlimits[{index}] {kind:?}: soft {soft} above hard {hard}")]
    SoftAboveHard { index: usize, kind: PosixRlimitType, soft: u64, hard: u64 },
    #[error("process.rlimits[{index}] {kind:?}: {source}")]
    Set { index: usize, kind: PosixRlimitType, source: nix::Error },
}

fn resource(kind: PosixRlimitType) -> Resource {
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

/// Set every rlimit, naming the failing entry.
pub(crate) fn apply(limits: &[PosixRlimit]) -> Result<(), RlimitError> {
    for (index, l) in limits.iter().enumerate() {
        let (kind, soft, hard) = (l.typ(), l.soft(), l.hard());
        if soft > hard {
            return Err(RlimitError::SoftAboveHard { index, kind, soft, hard });
        }
        setrlimit(resource(kind), soft, hard).map_err(|source| RlimitError::Set { index, kind, source })?;
    }
    Ok(())
}
