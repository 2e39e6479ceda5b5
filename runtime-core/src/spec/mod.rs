//! config.json → a validated spec: every check that can fail early does.

mod default;
mod features;
mod validate;
mod validate_process;

use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

pub use default::default_spec;
pub use default::default_spec_rootless;
pub use features::features;
pub(crate) use validate::validate;
pub(crate) use validate_process::validate_process;

/// Why a spec was refused.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// config.json could not be read.
    #[error("read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// config.json is not valid JSON of the spec's shape; `field` is the JSON
    /// path of the offending value, e.g. `linux.namespaces[0].type`.
    #[error("{path}: {field}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Where in the document.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A field holds a value skiff cannot honour.
    #[error("config: {field}: {message}")]
    Invalid {
        /// The field, as a JSON path.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The rootfs does not exist or is not a directory.
    #[error("config: root.path: rootfs {path}: {message}")]
    Rootfs {
        /// The resolved path.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl SpecError {
    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        SpecError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// What config.json says that the spec types skiff parses with cannot
/// carry, kept beside the [`Spec`] from parsing to the container process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Extras {
    /// `linux.seccomp.flags` names `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV`
    /// (Linux 5.19), which oci-spec 0.8 has no variant for.
    #[serde(default)]
    pub(crate) seccomp_wait_killable_recv: bool,
}

/// Refuse extras the running kernel cannot honour.
pub(crate) fn validate_extras(extras: &Extras) -> Result<(), SpecError> {
    if extras.seccomp_wait_killable_recv && !crate::seccomp::kernel_has_wait_killable_recv() {
        return Err(SpecError::invalid(
            "linux.seccomp.flags",
            format!(
                "{} is not supported by this kernel (Linux 5.19 or later)",
                crate::seccomp::WAIT_KILLABLE_RECV
            ),
        ));
    }
    Ok(())
}

/// Read and parse `bundle/config.json`.
pub(crate) fn load(bundle: &Path) -> Result<(Spec, Extras), SpecError> {
    let path = bundle.join("config.json");
    let text = std::fs::read(&path).map_err(|source| SpecError::Read {
        path: path.clone(),
        source,
    })?;
    parse(&text).map_err(|(field, message)| SpecError::Parse {
        path,
        field,
        message,
    })
}

/// Parse a spec, naming the JSON path of any error.
/// Mount id mappings (`mounts[].uidMappings`, `gidMappings`: idmapped
/// mounts) are not in the spec types skiff parses with, so serde would drop
/// them silently: refuse them by name from the raw document.
fn refuse_idmapped_mounts(text: &[u8]) -> Result<(), (String, String)> {
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(text) else {
        return Ok(());
    };
    for (i, m) in doc["mounts"].as_array().into_iter().flatten().enumerate() {
        for key in ["uidMappings", "gidMappings"] {
            if m.get(key).is_some_and(|v| !v.is_null()) {
                return Err((
                    format!("mounts[{i}].{key}"),
                    "idmapped mounts are not supported by skiff".into(),
                ));
            }
        }
    }
    Ok(())
}

/// Take the flags the spec types cannot carry out of `linux.seccomp.flags`:
/// the document to parse (only re-written when there was one), the indices
/// taken out, and the extras.
fn take_extras(text: &[u8]) -> (Option<Vec<u8>>, Vec<usize>, Extras) {
    let name = crate::seccomp::WAIT_KILLABLE_RECV;
    // Most documents do not name it: no second parse for them.
    if !text.windows(name.len()).any(|w| w == name.as_bytes()) {
        return (None, Vec::new(), Extras::default());
    }
    let Ok(mut doc) = serde_json::from_slice::<serde_json::Value>(text) else {
        return (None, Vec::new(), Extras::default());
    };
    let Some(flags) = doc
        .pointer_mut("/linux/seccomp/flags")
        .and_then(serde_json::Value::as_array_mut)
    else {
        return (None, Vec::new(), Extras::default());
    };
    let taken: Vec<usize> = (0..flags.len()).filter(|&i| flags[i] == name).collect();
    if taken.is_empty() {
        return (None, Vec::new(), Extras::default());
    }
    flags.retain(|f| f != name);
    let extras = Extras {
        seccomp_wait_killable_recv: true,
    };
    (serde_json::to_vec(&doc).ok(), taken, extras)
}

/// An error's field in the document as written: `linux.seccomp.flags[i]`
/// of the rewritten list, counted again with the taken flags in place.
fn original_field(field: String, taken: &[usize]) -> String {
    let Some(index) = field
        .strip_prefix("linux.seccomp.flags[")
        .and_then(|rest| rest.strip_suffix(']'))
        .and_then(|i| i.parse::<usize>().ok())
    else {
        return field;
    };
    let original = (0..)
        .filter(|i| !taken.contains(i))
        .nth(index)
        .unwrap_or(index);
    format!("linux.seccomp.flags[{original}]")
}

pub(crate) fn parse(text: &[u8]) -> Result<(Spec, Extras), (String, String)> {
    let (rewritten, taken, extras) = take_extras(text);
    let text = rewritten.as_deref().unwrap_or(text);
    let de = &mut serde_json::Deserializer::from_slice(text);
    let spec: Spec = serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        let field = if field == "." {
            "(document)".to_owned()
        } else {
            original_field(field, &taken)
        };
        (field, e.into_inner().to_string())
    })?;
    refuse_idmapped_mounts(text)?;
    Ok((spec, extras))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_error_names_the_field() {
        let text =
            br#"{"ociVersion":"1.0.2","linux":{"namespaces":[{"type":"pid"},{"type":"bogus"}]}}"#;
        let (field, message) = parse(text).expect_err("bogus namespace accepted");
        assert_eq!(field, "linux.namespaces[1].type");
        assert!(message.contains("bogus"), "{message}");
    }

    /// A flag oci-spec cannot name is taken out into the extras, and the
    /// rest of the list still parses; elsewhere the name is no flag.
    #[test]
    fn wait_killable_recv_is_kept_beside_the_spec() {
        let text = br#"{"ociVersion":"1.0.2","linux":{"seccomp":{"defaultAction":"SCMP_ACT_ALLOW",
            "flags":["SECCOMP_FILTER_FLAG_LOG","SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}}}"#;
        let (spec, extras) = parse(text).expect("parse");
        assert!(extras.seccomp_wait_killable_recv);
        let seccomp = spec
            .linux()
            .as_ref()
            .and_then(|l| l.seccomp().clone())
            .expect("seccomp");
        assert_eq!(seccomp.flags().as_ref().map(Vec::len), Some(1));
        let text = br#"{"ociVersion":"1.0.2","annotations":{"a":"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"}}"#;
        let (_, extras) = parse(text).expect("parse");
        assert!(!extras.seccomp_wait_killable_recv);
        let text = br#"{"ociVersion":"1.0.2","linux":{"seccomp":{"defaultAction":"SCMP_ACT_ALLOW",
            "flags":["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV","BOGUS"]}}}"#;
        let (field, _) = parse(text).expect_err("bogus flag accepted");
        assert_eq!(field, "linux.seccomp.flags[1]");
    }

    #[test]
    fn malformed_json_is_an_error() {
        assert!(parse(b"{\"ociVersion\": ").is_err());
    }
}
