//! Errors of the Matrix side.

#[derive(Debug, thiserror::Error)]
pub enum MatrixError {
    #[error("Matrix client: {0}")]
    Client(#[from] matrix_sdk::ClientBuildError),
    #[error("Matrix: {0}")]
    Sdk(#[from] matrix_sdk::Error),
    #[error("Matrix request: {0}")]
    Http(#[from] matrix_sdk::HttpError),
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
