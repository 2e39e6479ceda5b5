//! `linux.personality`: the execution domain the container's processes run
//! in (personality(2)). LINUX32 makes `uname -m` report the 32-bit machine,
//! as `setarch i686` does. The spec defines no flags yet, so any flag is
//! refused by name. Applied in C before the process is prepared, for the
//! container's process and for every exec'd one, as runc does.

use oci_spec::runtime::{LinuxPersonality, LinuxPersonalityDomain, Spec};

/// PER_LINUX and PER_LINUX32 from <linux/personality.h>.
const PER_LINUX: libc::c_ulong = 0x0000;
const PER_LINUX32: libc::c_ulong = 0x0008;

/// Why `linux.personality` cannot be honoured.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PersonalityError {
    #[error("{0:?}: the runtime spec defines no personality flags")]
    Flags(Vec<String>),
    #[error("personality({persona:#x}): {source}")]
    Set {
        persona: libc::c_ulong,
        source: std::io::Error,
    },
}

fn requested(spec: &Spec) -> Option<&LinuxPersonality> {
    spec.linux().as_ref()?.personality().as_ref()
}

/// The persona personality(2) takes for `p`.
fn persona(p: &LinuxPersonality) -> libc::c_ulong {
    match p.domain() {
        LinuxPersonalityDomain::PerLinux => PER_LINUX,
        LinuxPersonalityDomain::PerLinux32 => PER_LINUX32,
    }
}

/// Refuse what skiff cannot apply, before anything is created.
pub(crate) fn check(spec: &Spec) -> Result<(), PersonalityError> {
    match requested(spec).and_then(|p| p.flags().as_ref()) {
        Some(flags) if !flags.is_empty() => Err(PersonalityError::Flags(flags.clone())),
        _ => Ok(()),
    }
}

/// In C: set the persona `spec` asks for, if any.
pub(crate) fn apply(spec: &Spec) -> Result<(), PersonalityError> {
    check(spec)?;
    let Some(p) = requested(spec) else {
        return Ok(());
    };
    let persona = persona(p);
    // SAFETY: personality(2) takes a plain integer and touches no memory.
    if unsafe { libc::personality(persona) } == -1 {
        return Err(PersonalityError::Set {
            persona,
            source: std::io::Error::last_os_error(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]
    use super::*;

    fn spec(personality: serde_json::Value) -> Spec {
        let mut doc: serde_json::Value =
            serde_json::to_value(Spec::default()).expect("default spec");
        doc["linux"]["personality"] = personality;
        serde_json::from_value(doc).expect("spec")
    }

    #[test]
    fn domains_map_to_personas() {
        let linux = spec(serde_json::json!({ "domain": "LINUX" }));
        let linux32 = spec(serde_json::json!({ "domain": "LINUX32", "flags": [] }));
        assert_eq!(requested(&linux).map(persona), Some(PER_LINUX));
        assert_eq!(requested(&linux32).map(persona), Some(PER_LINUX32));
        assert!(check(&linux32).is_ok());
    }

    #[test]
    fn flags_are_refused_by_name() {
        let s = spec(serde_json::json!({ "domain": "LINUX", "flags": ["ADDR_NO_RANDOMIZE"] }));
        let err = check(&s).expect_err("flags");
        assert!(
            matches!(&err, PersonalityError::Flags(f) if f == &["ADDR_NO_RANDOMIZE"]),
            "{err}"
        );
    }

    #[test]
    fn no_personality_is_nothing_to_do() {
        assert!(check(&Spec::default()).is_ok());
        assert!(requested(&Spec::default()).is_none());
    }
}
