//! config.json → a validated spec: every check that can fail early does.

mod default;
mod features;
mod validate;
mod validate_process;

use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;
use serde::Deserialize;

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

/// Mount id mappings (`mounts[].uidMappings`, `gidMappings`: idmapped
/// mounts) are parsed, but skiff does not make idmapped mounts: refuse them
/// by name rather than mount without them.
fn refuse_idmapped_mounts(spec: &Spec) -> Result<(), (String, String)> {
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        let maps = [
            ("uidMappings", m.uid_mappings().is_some()),
            ("gidMappings", m.gid_mappings().is_some()),
        ];
        if let Some((key, _)) = maps.into_iter().find(|(_, set)| *set) {
            return Err((
                format!("mounts[{i}].{key}"),
                "idmapped mounts are not supported by skiff".into(),
            ));
        }
    }
    Ok(())
}

/// Parse a spec, naming the JSON path of any error.
pub(crate) fn parse(text: &[u8]) -> Result<Spec, (String, String)> {
    // The same Deserialize as state.json's records (serde_json over a
    // slice): one copy of the spec's decoder in each binary. Wrapping it
    // (serde_path_to_error) to learn the failing field made a second copy,
    // some 250 KB of code; the field is found from the error's position
    // instead, and only when there is an error.
    let de = &mut serde_json::Deserializer::from_slice(text);
    let spec = Spec::deserialize(de).map_err(|e| {
        let at = offset_of(text, e.line(), e.column());
        let field = path_at(text, at);
        let field = if field.is_empty() {
            "(document)".to_owned()
        } else {
            field
        };
        (field, e.to_string())
    })?;
    refuse_idmapped_mounts(&spec)?;
    Ok(spec)
}

/// The byte offset of 1-based `line`, `column` (as serde_json counts them:
/// the column is the bytes read on that line).
fn offset_of(text: &[u8], line: usize, column: usize) -> usize {
    let start = if line <= 1 {
        0
    } else {
        text.iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(line - 2)
            .map_or(text.len(), |(i, _)| i + 1)
    };
    (start + column).min(text.len())
}

/// Where the JSON parser stood at byte `at`: the path of the value it was
/// in (`linux.namespaces[1].type`), or "" at the top level.
fn path_at(text: &[u8], at: usize) -> String {
    enum Frame {
        Object { key: Option<String>, want_key: bool },
        Array(usize),
    }
    let text = &text[..at.min(text.len())];
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'{' => stack.push(Frame::Object {
                key: None,
                want_key: true,
            }),
            b'[' => stack.push(Frame::Array(0)),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Frame::Array(n)) => *n += 1,
                Some(Frame::Object { key, want_key }) => {
                    *key = None;
                    *want_key = true;
                }
                None => {}
            },
            b'"' => {
                let start = i + 1;
                i = start;
                while i < text.len() && text[i] != b'"' {
                    i += if text[i] == b'\\' { 2 } else { 1 };
                }
                if let Some(Frame::Object { key, want_key }) = stack.last_mut() {
                    if *want_key {
                        let end = i.min(text.len());
                        *key = Some(String::from_utf8_lossy(&text[start..end]).into_owned());
                        *want_key = false;
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    let mut path = String::new();
    for frame in &stack {
        match frame {
            Frame::Object { key: Some(k), .. } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
            }
            Frame::Object { key: None, .. } => {}
            Frame::Array(n) => path.push_str(&format!("[{n}]")),
        }
    }
    path
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
    fn the_field_is_found_on_any_line() {
        let text = b"{\n  \"ociVersion\": \"1.0.2\",\n  \"process\": {\"cwd\": \"/\", \"args\": [\"a\", 7]}\n}";
        let (field, message) = parse(text).expect_err("number accepted as an arg");
        assert_eq!(field, "process.args[1]");
        assert!(message.contains("line 3"), "{message}");
        let (field, _) = parse(b"{\"ociVersion\": 7}").expect_err("number accepted");
        assert_eq!(field, "ociVersion");
        let (field, _) = parse(b"7").expect_err("number accepted");
        assert_eq!(field, "(document)");
        let (field, _) =
            parse(br#"{"annotations":{"a\"b":"x"},"ociVersion":1}"#).expect_err("accepted");
        assert_eq!(field, "ociVersion");
    }

    #[test]
    fn malformed_json_is_an_error() {
        assert!(parse(b"{\"ociVersion\": ").is_err());
    }
}
