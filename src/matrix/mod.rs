//! The Matrix side: logging in and keeping the session ([`session`]), the actor that sends
//! every message ([`actor`]), chat commands ([`commands`]) and following the sync stream
//! ([`sync`]).

pub mod actor;
pub mod bot;
pub mod commands;
pub mod error;
pub mod session;
pub mod sync;

pub use error::MatrixError;
