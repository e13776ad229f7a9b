//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod daemon;
pub mod db;
pub mod fake_owncast;
pub mod mxclient;
