//! The codec's error type, split by cause: I/O, corrupt data, bad parameters, limits, model mismatch.

use pixelrnn_model::ModelError;

/// Everything that can go wrong while encoding or decoding a `.prnn` file.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The file is not a valid `.prnn` file or its data is damaged.
    #[error("corrupt .prnn file: {what}: expected {expected}, found {found}")]
    Corrupt {
        what: &'static str,
        expected: String,
        found: String,
    },
    /// The file is valid but written by a newer version or uses a feature this build lacks.
    #[error("unsupported .prnn file: {0}")]
    Unsupported(String),
    /// A parameter given by the caller is unusable.
    #[error("bad parameter: {0}")]
    BadParameter(String),
    /// A limit would be exceeded; nothing was allocated.
    #[error("limit exceeded: {what} is {value}, the limit is {limit}{hint}")]
    Limit {
        what: &'static str,
        value: u64,
        limit: u64,
        hint: &'static str,
    },
    /// The model given does not fit the file or the image.
    #[error("model mismatch: {0}")]
    ModelMismatch(String),
    #[error(transparent)]
    Model(#[from] ModelError),
}

impl CodecError {
    pub(crate) fn corrupt(what: &'static str, expected: impl ToString, found: impl ToString) -> Self {
        CodecError::Corrupt {
            what,
            expected: expected.to_string(),
            found: found.to_string(),
        }
    }
}

pub type Result<T, E = CodecError> = std::result::Result<T, E>;
