//! The actix actors. Each owns one piece of mutable state and is a thin shell over the pure
//! logic in [`crate::logic`]:
//!
//! - [`scheduler::Scheduler`]: the registry of stream actors and the poll clock;
//! - [`stream::StreamActor`]: one per Owncast server, its state and timers;
//! - [`persistence::Persistence`]: batches every write, commits through [`database::DbExecutor`];
//! - [`stdout::StdoutNotifier`]: delivers notifications as JSON lines when no Matrix is set up.

pub mod database;
pub mod deliver;
pub mod panic_guard;
pub mod persistence;
pub mod scheduler;
pub mod stdout;
pub mod stream;

pub use deliver::{Deliver, Drain};
