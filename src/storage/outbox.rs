//! Queries on `outbox`: notifications committed before they are sent, so none is lost.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::rows::{Delivery, NewOutboxRow, OutboxRow, to_millis};
use super::schema::outbox::dsl;
use super::{Database, StorageError};

/// Adds one delivery per room; the transaction id doubles as the Matrix transaction id.
pub fn enqueue(
    db: &mut Database,
    deliveries: &[Delivery],
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    for delivery in deliveries {
        let payload = serde_json::to_string(&delivery.notification)
            .map_err(|e| StorageError::Corrupt(e.to_string()))?;
        diesel::insert_into(dsl::outbox)
            .values(&NewOutboxRow {
                txn_id: delivery.txn_id.clone(),
                room_id: delivery.room_id.clone(),
                domain: delivery.notification.domain.clone(),
                kind: delivery.notification.kind.as_str().to_owned(),
                payload,
                created_at: to_millis(now),
            })
            .execute(db)?;
    }
    Ok(())
}

/// Undelivered notifications, oldest first.
pub fn pending(db: &mut Database) -> Result<Vec<Delivery>, StorageError> {
    dsl::outbox
        .filter(dsl::delivered_at.is_null())
        .order(dsl::id)
        .select(OutboxRow::as_select())
        .load(db)?
        .iter()
        .map(OutboxRow::delivery)
        .collect()
}

pub fn mark_delivered(
    db: &mut Database,
    txn_id: &str,
    event_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    diesel::update(dsl::outbox.filter(dsl::txn_id.eq(txn_id)))
        .set((
            dsl::delivered_at.eq(Some(to_millis(now))),
            dsl::event_id.eq(event_id),
        ))
        .execute(db)?;
    Ok(())
}

/// Deletes delivered rows older than `before`; returns how many.
pub fn prune(db: &mut Database, before: DateTime<Utc>) -> Result<usize, StorageError> {
    Ok(diesel::delete(
        dsl::outbox
            .filter(dsl::delivered_at.is_not_null())
            .filter(dsl::delivered_at.lt(to_millis(before))),
    )
    .execute(db)?)
}

/// Every row, oldest first (operator tools and tests).
pub fn all(db: &mut Database) -> Result<Vec<OutboxRow>, StorageError> {
    Ok(dsl::outbox
        .order(dsl::id)
        .select(OutboxRow::as_select())
        .load(db)?)
}
