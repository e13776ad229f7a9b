//! Turning panics into actor stops.
//!
//! actix restarts a supervised actor only when it stops itself; a panic in a handler would
//! instead kill it silently. Handlers run their work through these guards, which log the
//! panic and stop the actor so its supervisor restarts it.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};

use futures_util::FutureExt;

/// Runs `f`; on a panic logs it and returns `None` (the caller then stops the actor).
pub fn contain<R>(what: &str, f: impl FnOnce() -> R) -> Option<R> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(value) => Some(value),
        Err(payload) => {
            report(what, payload.as_ref());
            None
        }
    }
}

/// Awaits `future`; a panic while polling it becomes `None`.
pub async fn contain_async<R>(what: &str, future: impl Future<Output = R>) -> Option<R> {
    match AssertUnwindSafe(future).catch_unwind().await {
        Ok(value) => Some(value),
        Err(payload) => {
            report(what, payload.as_ref());
            None
        }
    }
}

fn report(what: &str, payload: &(dyn Any + Send)) {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-text panic payload".into());
    tracing::error!(panic = %message, "{what} panicked; restarting it");
}
