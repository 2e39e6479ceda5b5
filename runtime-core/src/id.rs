//! Container ids: what skiff accepts as a name for a state directory.

/// Why a container id was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdError {
    /// The id is empty.
    #[error("container id is empty")]
    Empty,
    /// The id is longer than 1024 bytes.
    #[error("container id is longer than {max} bytes")]
    TooLong {
        /// The limit.
        max: usize,
    },
    /// The id is `.` or `..`, or holds a character outside `[A-Za-z0-9_+.-]`.
    #[error("invalid container id {0:?}: use letters, digits and _ + - . only, and not . or ..")]
    Invalid(String),
}

const MAX_ID_LEN: usize = 1024;

/// Check that `id` is a container id skiff accepts: 1 to 1024 characters of
/// `[A-Za-z0-9_+.-]`, and neither `.` nor `..` (runc's rule).
pub fn validate_id(id: &str) -> Result<(), IdError> {
    if id.is_empty() {
        return Err(IdError::Empty);
    }
    if id.len() > MAX_ID_LEN {
        return Err(IdError::TooLong { max: MAX_ID_LEN });
    }
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-' | '.');
    if id == "." || id == ".." || !id.chars().all(ok_char) {
        return Err(IdError::Invalid(id.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_runc_style_ids() {
        for id in ["a", "abc-123", "x_y.z+1", &"a".repeat(1024)] {
            assert_eq!(validate_id(id), Ok(()), "{id}");
        }
    }

    #[test]
    fn refuses_paths_and_odd_bytes() {
        for id in [
            "",
            ".",
            "..",
            "a/b",
            "../x",
            "a\0b",
            "a b",
            "é",
            &"a".repeat(1025),
        ] {
            assert!(validate_id(id).is_err(), "{id:?} accepted");
        }
    }
}
