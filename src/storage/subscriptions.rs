//! Queries on `subscriptions`: one row per (room, domain).

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::rows::{StreamRow, SubscriptionRow};
use super::schema;
use super::schema::subscriptions::dsl;
use super::{Database, StorageError, streams};
use crate::logic::stream_state::StreamState;
use crate::storage::rows::to_millis;

/// The result of adding a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    Subscribed,
    AlreadySubscribed,
    /// The room already has `limit` subscriptions.
    LimitReached {
        limit: usize,
    },
}

/// The result of removing a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removed {
    /// Removed; `last` says no room follows the domain any more (its stream row is gone too).
    Unsubscribed {
        last: bool,
    },
    NotSubscribed,
}

/// Whether any room follows `domain` (a known domain needs no validation).
pub fn is_followed(db: &mut Database, domain: &str) -> Result<bool, StorageError> {
    let count: i64 = dsl::subscriptions
        .filter(dsl::domain.eq(domain))
        .count()
        .get_result(db)?;
    Ok(count > 0)
}

pub fn add(
    db: &mut Database,
    room_id: &str,
    domain: &str,
    subscribed_by: &str,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Added, StorageError> {
    db.transaction(|db| {
        let existing: i64 = dsl::subscriptions
            .find((room_id, domain))
            .count()
            .get_result(db)?;
        if existing > 0 {
            return Ok(Added::AlreadySubscribed);
        }
        let in_room: i64 = dsl::subscriptions
            .filter(dsl::room_id.eq(room_id))
            .count()
            .get_result(db)?;
        if usize::try_from(in_room).unwrap_or(usize::MAX) >= limit {
            return Ok(Added::LimitReached { limit });
        }
        diesel::insert_into(dsl::subscriptions)
            .values(&SubscriptionRow {
                room_id: room_id.to_owned(),
                domain: domain.to_owned(),
                subscribed_by: subscribed_by.to_owned(),
                subscribed_at: to_millis(now),
            })
            .execute(db)?;
        streams::ensure(db, domain, now)?;
        Ok(Added::Subscribed)
    })
}

pub fn remove(db: &mut Database, room_id: &str, domain: &str) -> Result<Removed, StorageError> {
    db.transaction(|db| {
        let deleted = diesel::delete(dsl::subscriptions.find((room_id, domain))).execute(db)?;
        if deleted == 0 {
            return Ok(Removed::NotSubscribed);
        }
        let last = !is_followed(db, domain)?;
        if last {
            streams::delete(db, domain)?;
        }
        Ok(Removed::Unsubscribed { last })
    })
}

/// Removes every subscription to `domain` and its stream row; returns the rooms that followed it.
pub fn remove_domain(db: &mut Database, domain: &str) -> Result<Vec<String>, StorageError> {
    let rooms = rooms_for(db, domain)?;
    diesel::delete(dsl::subscriptions.filter(dsl::domain.eq(domain))).execute(db)?;
    streams::delete(db, domain)?;
    Ok(rooms)
}

/// Removes every subscription of a room (the bot left it); returns the domains no room
/// follows any more (their stream rows are gone too).
pub fn remove_room(db: &mut Database, room_id: &str) -> Result<Vec<String>, StorageError> {
    db.transaction(|db| {
        let domains: Vec<String> = dsl::subscriptions
            .filter(dsl::room_id.eq(room_id))
            .select(dsl::domain)
            .load(db)?;
        diesel::delete(dsl::subscriptions.filter(dsl::room_id.eq(room_id))).execute(db)?;
        let mut orphaned = Vec::new();
        for domain in domains {
            if !is_followed(db, &domain)? {
                streams::delete(db, &domain)?;
                orphaned.push(domain);
            }
        }
        Ok(orphaned)
    })
}

pub fn rooms_for(db: &mut Database, domain: &str) -> Result<Vec<String>, StorageError> {
    Ok(dsl::subscriptions
        .filter(dsl::domain.eq(domain))
        .select(dsl::room_id)
        .order(dsl::room_id)
        .load(db)?)
}

/// Every subscription, or those of one room, ordered by room then domain.
pub fn list(
    db: &mut Database,
    room_id: Option<&str>,
) -> Result<Vec<SubscriptionRow>, StorageError> {
    let mut query = dsl::subscriptions
        .select(SubscriptionRow::as_select())
        .order((dsl::room_id, dsl::domain))
        .into_boxed();
    if let Some(room) = room_id {
        query = query.filter(dsl::room_id.eq(room.to_owned()));
    }
    Ok(query.load(db)?)
}

/// Subscriptions (of one room, or all) with the state of their stream, in one query.
pub fn list_with_state(
    db: &mut Database,
    room_id: Option<&str>,
) -> Result<Vec<(SubscriptionRow, StreamState)>, StorageError> {
    let mut query = dsl::subscriptions
        .inner_join(schema::streams::table)
        .select((SubscriptionRow::as_select(), StreamRow::as_select()))
        .order((dsl::room_id, dsl::domain))
        .into_boxed();
    if let Some(room) = room_id {
        query = query.filter(dsl::room_id.eq(room.to_owned()));
    }
    query
        .load::<(SubscriptionRow, StreamRow)>(db)?
        .into_iter()
        .map(|(subscription, stream)| Ok((subscription, stream.state()?)))
        .collect()
}

/// Every followed domain, once.
pub fn domains(db: &mut Database) -> Result<Vec<String>, StorageError> {
    Ok(dsl::subscriptions
        .select(dsl::domain)
        .distinct()
        .order(dsl::domain)
        .load(db)?)
}
