//! Persistence through diesel: SQLite (embedded default) or PostgreSQL, chosen by URL.
//!
//! Row structs live in [`rows`], queries in one module per table; nothing outside this module
//! touches diesel.

pub mod batch;
pub mod connection;
pub mod error;
pub mod outbox;
pub mod rows;
pub mod schema;
pub mod streams;
pub mod subscriptions;

pub use connection::{Database, connect};
pub use error::StorageError;
