//! Queries on `streams`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::rows::StreamRow;
use super::schema::streams::dsl;
use super::{Database, StorageError};
use crate::logic::stream_state::StreamState;

pub fn load(db: &mut Database, domain: &str) -> Result<Option<StreamState>, StorageError> {
    dsl::streams
        .find(domain)
        .select(StreamRow::as_select())
        .first(db)
        .optional()?
        .map(|row| row.state())
        .transpose()
}

pub fn load_all(db: &mut Database) -> Result<Vec<(String, StreamState)>, StorageError> {
    dsl::streams
        .select(StreamRow::as_select())
        .order(dsl::domain)
        .load(db)?
        .into_iter()
        .map(|row| Ok((row.domain.clone(), row.state()?)))
        .collect()
}

/// Writes the state of `domain`. Rows are created only by subscribing, so a write that
/// arrives after the last room unsubscribed does not bring the stream back; returns whether
/// the row existed.
pub fn save(
    db: &mut Database,
    domain: &str,
    state: &StreamState,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let row = StreamRow::new(domain, state, now);
    let updated = diesel::update(dsl::streams.find(domain))
        .set(&row)
        .execute(db)?;
    Ok(updated > 0)
}

/// Creates an empty row for a newly subscribed domain; an existing row is kept.
pub fn ensure(db: &mut Database, domain: &str, now: DateTime<Utc>) -> Result<(), StorageError> {
    let exists = dsl::streams
        .find(domain)
        .select(dsl::domain)
        .first::<String>(db)
        .optional()?
        .is_some();
    if !exists {
        let row = StreamRow::new(domain, &StreamState::default(), now);
        diesel::insert_into(dsl::streams).values(&row).execute(db)?;
    }
    Ok(())
}

pub fn delete(db: &mut Database, domain: &str) -> Result<(), StorageError> {
    diesel::delete(dsl::streams.find(domain)).execute(db)?;
    Ok(())
}
