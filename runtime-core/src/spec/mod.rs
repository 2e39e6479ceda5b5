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

/// Read and parse `bundle/config.json`.
pub(crate) fn load(bundle: &Path) -> Result<Spec, SpecError> {
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

pub(crate) fn parse(text: &[u8]) -> Result<Spec, (String, String)> {
    let de = &mut serde_json::Deserializer::from_slice(text);
    let spec: Spec = serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        let field = if field == "." {
            "(document)".to_owned()
        } else {
            field
        };
        (field, e.into_inner().to_string())
    })?;
    refuse_idmapped_mounts(text)?;
    Ok(spec)
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

    #[test]
    fn malformed_json_is_an_error() {
        assert!(parse(b"{\"ociVersion\": ").is_err());
    }
}
