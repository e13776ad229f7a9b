//! The persistence actor: the only writer.
//!
//! It owns the batch of writes not yet committed, and the latest uncommitted state of each
//! stream (so a restarted stream actor resumes from what it last decided, not from an older
//! row). A batch is committed in one transaction when it reaches `max_batch` writes or
//! `delay` after its first write; only after the commit are its notifications handed to the
//! notifier, so a notification is never sent without being recorded.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use chrono::Utc;
use tokio::sync::oneshot;

use super::Deliver;
use super::database::{Commit, DbExecutor, LoadStream, PruneOutbox};
use crate::logic::stream_state::StreamState;
use crate::storage::StorageError;
use crate::storage::batch::Write;

/// Batching limits.
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    pub max_batch: usize,
    pub delay: Duration,
}

impl Default for BatchLimits {
    fn default() -> Self {
        Self {
            max_batch: 512,
            delay: Duration::from_millis(50),
        }
    }
}

pub struct Persistence {
    db: Addr<DbExecutor>,
    notifier: Recipient<Deliver>,
    limits: BatchLimits,
    buffer: Vec<Write>,
    /// Stream states written but not yet committed, by domain.
    unflushed: HashMap<String, StreamState>,
    in_flight: bool,
    timer: Option<SpawnHandle>,
    retry_delay: Duration,
    /// `Flush` callers waiting for everything buffered to be committed.
    waiters: Vec<oneshot::Sender<()>>,
}

impl Persistence {
    pub fn new(db: Addr<DbExecutor>, notifier: Recipient<Deliver>, limits: BatchLimits) -> Self {
        Self {
            db,
            notifier,
            limits,
            buffer: Vec::new(),
            unflushed: HashMap::new(),
            in_flight: false,
            timer: None,
            retry_delay: Duration::from_millis(100),
            waiters: Vec::new(),
        }
    }

    fn schedule(&mut self, ctx: &mut Context<Self>, delay: Duration) {
        if self.timer.is_none() {
            self.timer = Some(ctx.run_later(delay, |act, ctx| {
                act.timer = None;
                act.flush(ctx);
            }));
        }
    }

    fn flush(&mut self, ctx: &mut Context<Self>) {
        if self.in_flight {
            return;
        }
        if self.buffer.is_empty() {
            for waiter in self.waiters.drain(..) {
                let _ = waiter.send(());
            }
            return;
        }
        if let Some(timer) = self.timer.take() {
            ctx.cancel_future(timer);
        }
        // Shared with the database thread; copied back only if the commit fails.
        let writes: Arc<[Write]> = std::mem::take(&mut self.buffer).into();
        self.in_flight = true;
        let commit = Commit {
            writes: Arc::clone(&writes),
            now: Utc::now(),
        };
        self.db
            .send(commit)
            .into_actor(self)
            .map(move |result, act, ctx| {
                act.in_flight = false;
                let result = result.unwrap_or_else(|e| Err(StorageError::Internal(e.to_string())));
                match result {
                    Ok(deliveries) => {
                        act.retry_delay = Duration::from_millis(100);
                        act.forget_committed(&writes);
                        if !deliveries.is_empty() {
                            act.notifier.do_send(Deliver(deliveries));
                        }
                        if act.buffer.len() >= act.limits.max_batch || !act.waiters.is_empty() {
                            act.flush(ctx);
                        } else if !act.buffer.is_empty() {
                            act.schedule(ctx, act.limits.delay);
                        }
                    }
                    Err(error) => {
                        // Nothing is dropped: the batch goes back in front and is retried.
                        tracing::error!(%error, writes = writes.len(), "commit failed; retrying");
                        let newer = std::mem::replace(&mut act.buffer, writes.to_vec());
                        act.buffer.extend(newer);
                        let delay = act.retry_delay;
                        act.retry_delay = (delay * 2).min(Duration::from_secs(30));
                        act.schedule(ctx, delay);
                    }
                }
            })
            .spawn(ctx);
    }

    /// Drops uncommitted states that the commit just made durable (unless overwritten since).
    fn forget_committed(&mut self, writes: &[Write]) {
        for write in writes {
            if let Write::Stream { domain, state } = write
                && self.unflushed.get(domain) == Some(state)
            {
                self.unflushed.remove(domain);
            }
        }
    }

    fn push(&mut self, write: Write) {
        match &write {
            Write::Stream { domain, state } => {
                self.unflushed.insert(domain.clone(), state.clone());
            }
            Write::RemoveDomain(notification) => {
                self.unflushed.remove(&notification.domain);
            }
            _ => {}
        }
        self.buffer.push(write);
    }
}

/// Delivered notifications are kept this long (for inspection), then pruned.
pub const KEEP_DELIVERED: Duration = Duration::from_secs(7 * 24 * 3600);

impl Actor for Persistence {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(Duration::from_secs(3600), |act, _| {
            let before = Utc::now() - crate::daemon::delta(KEEP_DELIVERED);
            act.db.do_send(PruneOutbox(before));
        });
    }

    fn stopping(&mut self, _: &mut Self::Context) -> Running {
        if !self.buffer.is_empty() {
            tracing::warn!(
                writes = self.buffer.len(),
                "stopping with uncommitted writes"
            );
        }
        Running::Stop
    }
}

/// Writes to commit together (a stream's new state with the notification it led to).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Record(pub Vec<Write>);

impl Handler<Record> for Persistence {
    type Result = ();

    fn handle(&mut self, msg: Record, ctx: &mut Self::Context) {
        for write in msg.0 {
            self.push(write);
        }
        if self.buffer.len() >= self.limits.max_batch {
            self.flush(ctx);
        } else {
            self.schedule(ctx, self.limits.delay);
        }
    }
}

/// A notifier delivered a notification.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct MarkDelivered {
    pub txn_id: String,
    pub event_id: Option<String>,
}

impl Handler<MarkDelivered> for Persistence {
    type Result = ();

    fn handle(&mut self, msg: MarkDelivered, ctx: &mut Self::Context) {
        let write = Write::Delivered {
            txn_id: msg.txn_id,
            event_id: msg.event_id,
        };
        self.handle(Record(vec![write]), ctx);
    }
}

/// The latest state of a stream, committed or not (`None` once unsubscribed).
#[derive(Debug, Message)]
#[rtype(result = "Result<Option<StreamState>, StorageError>")]
pub struct LoadState(pub String);

impl Handler<LoadState> for Persistence {
    type Result = ResponseFuture<Result<Option<StreamState>, StorageError>>;

    fn handle(&mut self, msg: LoadState, _: &mut Self::Context) -> Self::Result {
        if let Some(state) = self.unflushed.get(&msg.0) {
            let state = state.clone();
            return Box::pin(async move { Ok(Some(state)) });
        }
        let db = self.db.clone();
        Box::pin(async move {
            db.send(LoadStream(msg.0))
                .await
                .map_err(|e| StorageError::Internal(e.to_string()))?
        })
    }
}

/// Resolves once everything recorded before it has been committed.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Flush;

impl Handler<Flush> for Persistence {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: Flush, ctx: &mut Self::Context) -> Self::Result {
        let (tx, rx) = oneshot::channel();
        self.waiters.push(tx);
        self.flush(ctx);
        Box::pin(async move {
            let _ = rx.await;
        })
    }
}
