//! Errors of the storage layer.

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("unsupported database URL `{0}`: expected sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    #[error("cannot open database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error("database migration failed: {0}")]
    Migration(String),
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("internal storage failure: {0}")]
    Internal(String),
}
