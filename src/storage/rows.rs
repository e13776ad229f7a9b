//! Row structs and their conversion to the types the rest of the program uses.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::StorageError;
use super::schema::{outbox, streams, subscriptions};
use crate::logic::notification::Notification;
use crate::logic::stream_state::StreamState;

pub fn to_millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub fn from_millis(ms: i64) -> Result<DateTime<Utc>, StorageError> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| StorageError::Corrupt(format!("timestamp {ms} out of range")))
}

fn from_opt_millis(ms: Option<i64>) -> Result<Option<DateTime<Utc>>, StorageError> {
    ms.map(from_millis).transpose()
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = streams)]
#[diesel(treat_none_as_null = true)]
pub struct StreamRow {
    pub domain: String,
    pub observed: bool,
    pub name: String,
    pub title: String,
    pub last_connect_time: Option<i64>,
    pub last_disconnect_time: Option<i64>,
    pub offline_since: Option<i64>,
    pub last_notified: Option<i64>,
    pub failure_streak: i32,
    pub first_failure_at: Option<i64>,
    pub warned: bool,
    pub updated_at: i64,
}

impl StreamRow {
    pub fn new(domain: &str, state: &StreamState, now: DateTime<Utc>) -> Self {
        Self {
            domain: domain.to_owned(),
            observed: state.observed,
            name: state.name.clone(),
            title: state.title.clone(),
            last_connect_time: state.last_connect_time.map(to_millis),
            last_disconnect_time: state.last_disconnect_time.map(to_millis),
            offline_since: state.offline_since.map(to_millis),
            last_notified: state.last_notified.map(to_millis),
            failure_streak: i32::try_from(state.failure_streak).unwrap_or(i32::MAX),
            first_failure_at: state.first_failure_at.map(to_millis),
            warned: state.warned,
            updated_at: to_millis(now),
        }
    }

    pub fn state(&self) -> Result<StreamState, StorageError> {
        Ok(StreamState {
            observed: self.observed,
            name: self.name.clone(),
            title: self.title.clone(),
            last_connect_time: from_opt_millis(self.last_connect_time)?,
            last_disconnect_time: from_opt_millis(self.last_disconnect_time)?,
            offline_since: from_opt_millis(self.offline_since)?,
            last_notified: from_opt_millis(self.last_notified)?,
            failure_streak: u32::try_from(self.failure_streak).unwrap_or(0),
            first_failure_at: from_opt_millis(self.first_failure_at)?,
            warned: self.warned,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = subscriptions)]
pub struct SubscriptionRow {
    pub room_id: String,
    pub domain: String,
    pub subscribed_by: String,
    pub subscribed_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Insertable)]
#[diesel(table_name = outbox)]
pub struct NewOutboxRow {
    pub txn_id: String,
    pub room_id: String,
    pub domain: String,
    pub kind: String,
    pub payload: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    pub id: i64,
    pub txn_id: String,
    pub room_id: String,
    pub domain: String,
    pub kind: String,
    pub payload: String,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
    pub event_id: Option<String>,
}

/// A notification addressed to one room, as committed to the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Stable per delivery: resending with the same transaction id cannot duplicate.
    pub txn_id: String,
    pub room_id: String,
    pub notification: Notification,
}

impl OutboxRow {
    pub fn delivery(&self) -> Result<Delivery, StorageError> {
        let notification = serde_json::from_str(&self.payload)
            .map_err(|e| StorageError::Corrupt(format!("outbox row {}: {e}", self.id)))?;
        Ok(Delivery {
            txn_id: self.txn_id.clone(),
            room_id: self.room_id.clone(),
            notification,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn stream_state_survives_a_round_trip_through_its_row() {
        let t = |s| Utc.timestamp_millis_opt(s).unwrap();
        let state = StreamState {
            observed: true,
            name: "n".into(),
            title: "t".into(),
            last_connect_time: Some(t(1_700_000_000_000)),
            last_disconnect_time: None,
            offline_since: Some(t(1_700_000_001_234)),
            last_notified: Some(t(1_700_000_002_000)),
            failure_streak: 3,
            first_failure_at: Some(t(1_700_000_003_000)),
            warned: true,
        };
        let row = StreamRow::new("example.com", &state, t(1_800_000_000_000));
        assert_eq!(row.state().unwrap(), state);
    }
}
