//! One batch of writes, committed in a single transaction by the persistence actor.

use chrono::{DateTime, Utc};
use diesel::Connection;

use super::rows::Delivery;
use super::{Database, StorageError, outbox, streams, subscriptions};
use crate::logic::notification::Notification;
use crate::logic::stream_state::StreamState;

/// A write the daemon makes while running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// The new state of a stream.
    Stream { domain: String, state: StreamState },
    /// A notification for every room that follows its domain at commit time.
    Announce(Notification),
    /// Tell every room (with the given notification), then drop the domain's subscriptions.
    RemoveDomain(Notification),
    /// A delivery reached its room.
    Delivered {
        txn_id: String,
        event_id: Option<String>,
    },
}

/// Commits `writes` in one transaction and returns the deliveries it queued, in order.
pub fn commit(
    db: &mut Database,
    writes: &[Write],
    now: DateTime<Utc>,
) -> Result<Vec<Delivery>, StorageError> {
    db.transaction(|db| {
        let mut queued = Vec::new();
        for write in writes {
            match write {
                Write::Stream { domain, state } => {
                    streams::save(db, domain, state, now)?;
                }
                Write::Announce(notification) => {
                    let rooms = subscriptions::rooms_for(db, &notification.domain)?;
                    queue(db, &mut queued, rooms, notification, now)?;
                }
                Write::RemoveDomain(notification) => {
                    let rooms = subscriptions::remove_domain(db, &notification.domain)?;
                    queue(db, &mut queued, rooms, notification, now)?;
                }
                Write::Delivered { txn_id, event_id } => {
                    outbox::mark_delivered(db, txn_id, event_id.as_deref(), now)?;
                }
            }
        }
        Ok(queued)
    })
}

fn queue(
    db: &mut Database,
    queued: &mut Vec<Delivery>,
    rooms: Vec<String>,
    notification: &Notification,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let deliveries: Vec<Delivery> = rooms
        .into_iter()
        .map(|room_id| Delivery {
            txn_id: new_txn_id(),
            room_id,
            notification: notification.clone(),
        })
        .collect();
    outbox::enqueue(db, &deliveries, now)?;
    queued.extend(deliveries);
    Ok(())
}

/// A transaction id unique across restarts (random, 128 bits).
fn new_txn_id() -> String {
    format!("os{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}
