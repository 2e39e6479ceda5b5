//! Capability names: the spec's names to the kernel's, and the supported list.

use std::collections::HashSet;
use std::str::FromStr;

use caps::Capability;

/// Every capability name skiff knows, as `CAP_*`.
pub(crate) fn known_capabilities() -> Vec<String> {
    caps::all().iter().map(|c| c.to_string()).collect::<std::collections::BTreeSet<_>>().into_iter().collect()
}

/// Convert the spec's capability set to the kernel's; names skiff does not
/// know are returned as the error.
pub(crate) fn convert(
    set: &Option<HashSet<oci_spec::runtime::Capability>>,
) -> Result<HashSet<Capability>, String> {
    let mut out = HashSet::new();
    for cap in set.iter().flatten() {
        let name = serde_json::to_value(cap)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        out.insert(Capability::from_str(&name).map_err(|_| name)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_names_convert() {
        let set: HashSet<oci_spec::runtime::Capability> =
            serde_json::from_str(r#"["CAP_CHOWN","CAP_NET_BIND_SERVICE","CAP_SYS_ADMIN"]"#).expect("parse");
        let caps = convert(&Some(set)).expect("convert");
        assert!(caps.contains(&Capability::CAP_SYS_ADMIN) && caps.len() == 3);
        assert!(known_capabilities().contains(&"CAP_BPF".to_owned()));
    }
}
