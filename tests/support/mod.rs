//! Helpers shared by the integration tests.
#![allow(dead_code)]

/// Defines a `sqlite` and a `postgres` module with one test per named scenario; each scenario
/// is an `async fn(Backend)` in the including file (which imports `Backend`).
#[allow(unused_macros)]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $name() { super::$name(super::Backend::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test] async fn $name() { super::$name(super::Backend::Postgres).await })*
        }
    };
}

pub mod daemon;
pub mod db;
pub mod fake_owncast;
pub mod mxclient;
