//! owncast-sentry: follows Owncast servers and announces their streams to Matrix rooms.
//!
//! The crate is split by responsibility:
//! - [`logic`]: pure decisions (targets, address policy, the stream state machine, backoff,
//!   rendering) with no I/O;
//! - [`owncast`]: the HTTP client that talks to Owncast servers;
//! - [`storage`]: diesel schema, rows and queries for SQLite and PostgreSQL;
//! - [`actors`]: the actix actors that own state, timers and delivery;
//! - [`settings`]: configuration loading and validation;
//! - [`daemon`]: wiring the actors together for `run`.
//!
//! The command-line front end lives in the binary (`src/main.rs`, `src/cli/`).

pub mod actors;
pub mod daemon;
pub mod logic;
pub mod matrix;
pub mod owncast;
pub mod settings;
pub mod storage;
