//! Client for the public Owncast HTTP API.
//!
//! Only `/api/status` and `/api/config` are ever requested: `/api/ping` and HLS fetches would
//! count the poller as a viewer.

mod client;
mod config;
mod error;
mod guard;
mod json;
mod status;

pub use client::{ClientSettings, OwncastClient};
pub use config::StreamConfig;
pub use error::{BlockReason, OwncastError};
pub use status::StreamStatus;
