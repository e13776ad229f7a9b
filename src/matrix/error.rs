//! Errors of the Matrix side.

#[derive(Debug, thiserror::Error)]
pub enum MatrixError {
    // The SDK's errors are large; boxed so every `Result` here stays small.
    #[error("Matrix client: {0}")]
    Client(Box<matrix_sdk::ClientBuildError>),
    #[error("Matrix: {0}")]
    Sdk(Box<matrix_sdk::Error>),
    #[error("Matrix request: {0}")]
    Http(Box<matrix_sdk::HttpError>),
    #[error("session file {path}: {reason}")]
    Session { path: String, reason: String },
    #[error("invalid Matrix id `{0}`")]
    Id(String),
    #[error(
        "the store at {path} belongs to {stored}, not {configured}; use another matrix.store_path"
    )]
    WrongUser {
        path: String,
        stored: String,
        configured: String,
    },
}

impl From<matrix_sdk::ClientBuildError> for MatrixError {
    fn from(error: matrix_sdk::ClientBuildError) -> Self {
        Self::Client(Box::new(error))
    }
}

impl From<matrix_sdk::Error> for MatrixError {
    fn from(error: matrix_sdk::Error) -> Self {
        Self::Sdk(Box::new(error))
    }
}

impl From<matrix_sdk::HttpError> for MatrixError {
    fn from(error: matrix_sdk::HttpError) -> Self {
        Self::Http(Box::new(error))
    }
}
