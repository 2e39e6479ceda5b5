//! Capability sets: the spec's names to the kernel's, and which ambient
//! capabilities can be raised.

use std::collections::{BTreeSet, HashSet};
use std::str::FromStr;

use caps::Capability;
use oci_spec::runtime::LinuxCapabilities;

/// A capability the spec names that this build of skiff does not know.
#[derive(Debug, thiserror::Error)]
#[error("process.capabilities.{set}: unknown capability {name}")]
pub(crate) struct UnknownCapability {
    pub(crate) set: &'static str,
    pub(crate) name: String,
}

/// Every capability name skiff knows, as `CAP_*`, sorted.
pub(crate) fn known_capabilities() -> Vec<String> {
    caps::all()
        .iter()
        .map(|c| c.to_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The five sets of `process.capabilities`, in the kernel's terms. A set
/// the spec leaves out is empty, as in runc.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct CapSets {
    pub(crate) bounding: HashSet<Capability>,
    pub(crate) effective: HashSet<Capability>,
    pub(crate) permitted: HashSet<Capability>,
    pub(crate) inheritable: HashSet<Capability>,
    pub(crate) ambient: HashSet<Capability>,
}

fn convert(
    set: &'static str,
    names: &Option<HashSet<oci_spec::runtime::Capability>>,
) -> Result<HashSet<Capability>, UnknownCapability> {
    let mut out = HashSet::new();
    for cap in names.iter().flatten() {
        // The spec's enum serializes as its `CAP_*` name.
        let name = serde_json::to_value(cap)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        out.insert(Capability::from_str(&name).map_err(|_| UnknownCapability { set, name })?);
    }
    Ok(out)
}

impl CapSets {
    /// Convert `process.capabilities`, naming the set of an unknown name.
    pub(crate) fn from_spec(caps: Option<&LinuxCapabilities>) -> Result<Self, UnknownCapability> {
        let Some(c) = caps else {
            return Ok(Self::default());
        };
        Ok(Self {
            bounding: convert("bounding", c.bounding())?,
            effective: convert("effective", c.effective())?,
            permitted: convert("permitted", c.permitted())?,
            inheritable: convert("inheritable", c.inheritable())?,
            ambient: convert("ambient", c.ambient())?,
        })
    }

    /// The ambient capabilities the kernel lets us raise: those also
    /// permitted and inheritable. runc's own default spec lists ambient
    /// capabilities and no inheritable ones; runc skips the rest, as skiff.
    pub(crate) fn raisable_ambient(&self) -> HashSet<Capability> {
        self.ambient
            .iter()
            .filter(|c| self.permitted.contains(c) && self.inheritable.contains(c))
            .copied()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec_caps(json: &str) -> LinuxCapabilities {
        serde_json::from_str(json).expect("capabilities")
    }

    #[test]
    fn spec_names_convert() {
        let c = spec_caps(
            r#"{"bounding":["CAP_CHOWN","CAP_NET_BIND_SERVICE","CAP_SYS_ADMIN"],"ambient":["CAP_BPF"]}"#,
        );
        let sets = CapSets::from_spec(Some(&c)).expect("convert");
        assert_eq!(sets.bounding.len(), 3);
        assert!(sets.bounding.contains(&Capability::CAP_SYS_ADMIN));
        assert_eq!(sets.ambient, HashSet::from([Capability::CAP_BPF]));
        assert!(
            sets.effective.is_empty() && sets.permitted.is_empty() && sets.inheritable.is_empty()
        );
        assert_eq!(CapSets::from_spec(None).expect("none"), CapSets::default());
        assert!(known_capabilities().contains(&"CAP_BPF".to_owned()));
    }

    #[test]
    fn unknown_names_are_a_parse_error_naming_the_set() {
        // The spec's enum refuses them: the JSON path names the set.
        let text = br#"{"ociVersion":"1.0.2","process":{"cwd":"/","user":{"uid":0,"gid":0},
            "capabilities":{"effective":["CAP_NOPE"]}}}"#;
        let (field, message) = crate::spec::parse(text).expect_err("accepted");
        assert!(
            field.starts_with("process.capabilities.effective"),
            "{field}"
        );
        assert!(message.contains("CAP_NOPE"), "{message}");
    }

    #[test]
    fn ambient_needs_permitted_and_inheritable() {
        let c = spec_caps(
            r#"{"permitted":["CAP_KILL","CAP_CHOWN"],"inheritable":["CAP_KILL","CAP_FOWNER"],
                "ambient":["CAP_KILL","CAP_CHOWN","CAP_FOWNER"]}"#,
        );
        let sets = CapSets::from_spec(Some(&c)).expect("convert");
        assert_eq!(
            sets.raisable_ambient(),
            HashSet::from([Capability::CAP_KILL])
        );
    }
}
