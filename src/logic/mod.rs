//! Pure logic: no network, no database, no clock reads (time is always passed in).

pub mod address;
pub mod command;
pub mod failure;
pub mod notification;
pub mod render;
pub mod send_queue;
pub mod stream_state;
pub mod target;
