//! The database thread: a sync actor that owns the one connection and runs every query.
//!
//! It sits on a `SyncArbiter` with one thread, so SQLite sees a single writer and diesel's
//! blocking calls never stall the actor runtime.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::{Actor, Handler, Message, SyncContext};
use chrono::{DateTime, Utc};

use super::panic_guard::contain;
use crate::logic::stream_state::StreamState;
use crate::storage::batch::{self, Write};
use crate::storage::rows::Delivery;
use crate::storage::{self, Database, StorageError, outbox, streams, subscriptions};

pub struct DbExecutor {
    db: Database,
}

impl Actor for DbExecutor {
    type Context = SyncContext<Self>;
}

impl DbExecutor {
    /// A factory for `SyncArbiter::start`: the first actor takes `first`, a connection opened
    /// (and migrated) at start-up; a restarted one reconnects, waiting while the database is
    /// down.
    pub fn factory(url: String, first: Database) -> impl Fn() -> DbExecutor + Send + Sync {
        let first = Arc::new(Mutex::new(Some(first)));
        move || {
            let taken = first.lock().ok().and_then(|mut slot| slot.take());
            let db = taken.unwrap_or_else(|| reconnect(&url));
            DbExecutor { db }
        }
    }

    /// Runs `f` on the connection; a panic stops this actor so the arbiter replaces it.
    fn run<R>(
        &mut self,
        ctx: &mut SyncContext<Self>,
        what: &str,
        f: impl FnOnce(&mut Database) -> Result<R, StorageError>,
    ) -> Result<R, StorageError> {
        let db = &mut self.db;
        contain(what, move || f(db)).unwrap_or_else(|| {
            actix::ActorContext::stop(ctx);
            Err(StorageError::Internal(format!("{what} panicked")))
        })
    }
}

fn reconnect(url: &str) -> Database {
    let mut delay = Duration::from_millis(250);
    loop {
        match storage::connect(url) {
            Ok(db) => return db,
            Err(error) => {
                tracing::error!(%error, "database unavailable; retrying in {delay:?}");
                // This is the database thread itself: nothing else runs here to wait for.
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        }
    }
}

/// Commit a batch of writes in one transaction.
#[derive(Debug, Message)]
#[rtype(result = "Result<Vec<Delivery>, StorageError>")]
pub struct Commit {
    pub writes: Arc<[Write]>,
    pub now: DateTime<Utc>,
}

impl Handler<Commit> for DbExecutor {
    type Result = Result<Vec<Delivery>, StorageError>;

    fn handle(&mut self, msg: Commit, ctx: &mut Self::Context) -> Self::Result {
        self.run(ctx, "commit", |db| batch::commit(db, &msg.writes, msg.now))
    }
}

/// The stored state of one stream (`None` once unsubscribed).
#[derive(Debug, Message)]
#[rtype(result = "Result<Option<StreamState>, StorageError>")]
pub struct LoadStream(pub String);

impl Handler<LoadStream> for DbExecutor {
    type Result = Result<Option<StreamState>, StorageError>;

    fn handle(&mut self, msg: LoadStream, ctx: &mut Self::Context) -> Self::Result {
        self.run(ctx, "load stream", |db| streams::load(db, &msg.0))
    }
}

/// Every followed domain.
#[derive(Debug, Message)]
#[rtype(result = "Result<Vec<String>, StorageError>")]
pub struct ListDomains;

impl Handler<ListDomains> for DbExecutor {
    type Result = Result<Vec<String>, StorageError>;

    fn handle(&mut self, _: ListDomains, ctx: &mut Self::Context) -> Self::Result {
        self.run(ctx, "list domains", subscriptions::domains)
    }
}

/// Notifications committed but not yet delivered, oldest first.
#[derive(Debug, Message)]
#[rtype(result = "Result<Vec<Delivery>, StorageError>")]
pub struct PendingDeliveries;

impl Handler<PendingDeliveries> for DbExecutor {
    type Result = Result<Vec<Delivery>, StorageError>;

    fn handle(&mut self, _: PendingDeliveries, ctx: &mut Self::Context) -> Self::Result {
        self.run(ctx, "pending deliveries", outbox::pending)
    }
}

/// Delete delivered notifications older than the given time.
#[derive(Debug, Message)]
#[rtype(result = "Result<usize, StorageError>")]
pub struct PruneOutbox(pub DateTime<Utc>);

impl Handler<PruneOutbox> for DbExecutor {
    type Result = Result<usize, StorageError>;

    fn handle(&mut self, msg: PruneOutbox, ctx: &mut Self::Context) -> Self::Result {
        self.run(ctx, "prune outbox", |db| outbox::prune(db, msg.0))
    }
}

/// Subscribe a room to a domain (at most `limit` subscriptions per room).
#[derive(Debug, Message)]
#[rtype(result = "Result<subscriptions::Added, StorageError>")]
pub struct Subscribe {
    pub room_id: String,
    pub domain: String,
    pub by: String,
    pub limit: usize,
    pub now: DateTime<Utc>,
}

impl Handler<Subscribe> for DbExecutor {
    type Result = Result<subscriptions::Added, StorageError>;

    fn handle(&mut self, msg: Subscribe, ctx: &mut Self::Context) -> Self::Result {
        self.run(ctx, "subscribe", |db| {
            subscriptions::add(db, &msg.room_id, &msg.domain, &msg.by, msg.now, msg.limit)
        })
    }
}

/// Unsubscribe a room from a domain.
#[derive(Debug, Message)]
#[rtype(result = "Result<subscriptions::Removed, StorageError>")]
pub struct Unsubscribe {
    pub room_id: String,
    pub domain: String,
}

impl Handler<Unsubscribe> for DbExecutor {
    type Result = Result<subscriptions::Removed, StorageError>;

    fn handle(&mut self, msg: Unsubscribe, ctx: &mut Self::Context) -> Self::Result {
        self.run(ctx, "unsubscribe", |db| {
            subscriptions::remove(db, &msg.room_id, &msg.domain)
        })
    }
}

/// Whether any room follows a domain (known domains need no validation).
#[derive(Debug, Message)]
#[rtype(result = "Result<bool, StorageError>")]
pub struct IsFollowed(pub String);

impl Handler<IsFollowed> for DbExecutor {
    type Result = Result<bool, StorageError>;

    fn handle(&mut self, msg: IsFollowed, ctx: &mut Self::Context) -> Self::Result {
        self.run(ctx, "is followed", |db| {
            subscriptions::is_followed(db, &msg.0)
        })
    }
}

/// A room's subscriptions with the stored state of each stream, by domain.
#[derive(Debug, Message)]
#[rtype(result = "Result<Vec<(String, StreamState)>, StorageError>")]
pub struct RoomStreams(pub String);

impl Handler<RoomStreams> for DbExecutor {
    type Result = Result<Vec<(String, StreamState)>, StorageError>;

    fn handle(&mut self, msg: RoomStreams, ctx: &mut Self::Context) -> Self::Result {
        self.run(ctx, "room streams", |db| {
            Ok(subscriptions::list_with_state(db, Some(&msg.0))?
                .into_iter()
                .map(|(row, state)| (row.domain, state))
                .collect())
        })
    }
}

/// Forget a room the bot is no longer in; returns the domains nobody follows any more.
#[derive(Debug, Message)]
#[rtype(result = "Result<Vec<String>, StorageError>")]
pub struct ForgetRoom(pub String);

impl Handler<ForgetRoom> for DbExecutor {
    type Result = Result<Vec<String>, StorageError>;

    fn handle(&mut self, msg: ForgetRoom, ctx: &mut Self::Context) -> Self::Result {
        self.run(ctx, "forget room", |db| {
            subscriptions::remove_room(db, &msg.0)
        })
    }
}
