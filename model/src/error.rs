//! The model crate's error type, split by cause.

use std::fmt;

/// Everything that can go wrong while loading, validating or running a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// Reading or writing a weight file failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The weight file is not a valid pixelrnn safetensors file.
    #[error("corrupt weight file: {what}: expected {expected}, found {found}")]
    Format {
        what: String,
        expected: String,
        found: String,
    },
    /// A configuration value is out of range.
    #[error("bad model parameter {name}: {reason}")]
    BadParameter { name: &'static str, reason: String },
    /// The input does not fit the model (channel count, levels, image size).
    #[error("model mismatch: {what}: the model expects {expected}, the input has {found}")]
    Mismatch {
        what: &'static str,
        expected: String,
        found: String,
    },
    /// A size limit would be exceeded.
    #[error("limit exceeded: {what} is {value}, the limit is {limit}")]
    Limit { what: &'static str, value: u64, limit: u64 },
}

impl ModelError {
    pub(crate) fn format(what: impl Into<String>, expected: impl fmt::Display, found: impl fmt::Display) -> Self {
        ModelError::Format {
            what: what.into(),
            expected: expected.to_string(),
            found: found.to_string(),
        }
    }

    pub(crate) fn bad(name: &'static str, reason: impl Into<String>) -> Self {
        ModelError::BadParameter {
            name,
            reason: reason.into(),
        }
    }
}

pub type Result<T, E = ModelError> = std::result::Result<T, E>;
