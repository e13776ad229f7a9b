//! `GET /api/status`.
//!
//! The endpoint is documented as internal and unstable, and its shape changed between 0.0.4 and
//! 0.2.x, so only `online` is required and everything else degrades to a neutral value.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::error::OwncastError;
use super::json;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamStatus {
    pub online: bool,
    pub last_connect_time: Option<DateTime<Utc>>,
    pub last_disconnect_time: Option<DateTime<Utc>>,
    pub title: String,
    pub version: Option<String>,
    pub viewer_count: Option<u64>,
}

impl StreamStatus {
    /// Parses a status body. A body without a boolean `online` is not Owncast status JSON.
    pub fn parse(body: &[u8]) -> Result<StreamStatus, OwncastError> {
        let map = json::object(body)?;
        let online = match map.get("online") {
            Some(Value::Bool(online)) => *online,
            Some(_) => return Err(json::not_owncast("`online` is not true or false")),
            None => return Err(json::not_owncast("the response has no `online` field")),
        };
        Ok(StreamStatus {
            online,
            last_connect_time: timestamp(&map, "lastConnectTime")?,
            last_disconnect_time: timestamp(&map, "lastDisconnectTime")?,
            title: json::string(&map, "streamTitle").unwrap_or_default(),
            version: json::string(&map, "versionNumber").filter(|v| !v.is_empty()),
            // Negative or fractional counts come only from broken mocks; treat them as hidden.
            viewer_count: map.get("viewerCount").and_then(Value::as_u64),
        })
    }

    /// Whether a stream session exists. Owncast reports `online: false` for the first seconds
    /// after a connect, so the connect time, not `online`, identifies a live session.
    pub fn is_live(&self) -> bool {
        self.last_connect_time.is_some()
    }
}

/// Owncast writes `null` for an unset time; a value that is present but unreadable means the
/// body is not what it claims to be.
fn timestamp(map: &Map<String, Value>, field: &str) -> Result<Option<DateTime<Utc>>, OwncastError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => DateTime::parse_from_rfc3339(s)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| json::not_owncast(format!("`{field}` is not a valid timestamp"))),
        Some(_) => Err(json::not_owncast(format!("`{field}` is not a timestamp"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        match DateTime::parse_from_rfc3339(s) {
            Ok(t) => t.with_timezone(&Utc),
            Err(e) => panic!("bad test timestamp {s}: {e}"),
        }
    }

    fn parse_ok(body: &str) -> StreamStatus {
        match StreamStatus::parse(body.as_bytes()) {
            Ok(status) => status,
            Err(e) => panic!("should parse: {e}\n{body}"),
        }
    }

    #[test]
    fn v0_0_4_offline_with_max_counts() {
        let s = parse_ok(
            r#"{"online":false,"viewerCount":0,"overallMaxViewerCount":14,"sessionMaxViewerCount":3,"lastConnectTime":null,"lastDisconnectTime":"2021-01-10T18:22:31Z","versionNumber":"0.0.4"}"#,
        );
        assert_eq!(
            s,
            StreamStatus {
                online: false,
                last_connect_time: None,
                last_disconnect_time: Some(utc("2021-01-10T18:22:31Z")),
                title: String::new(),
                version: Some("0.0.4".into()),
                viewer_count: Some(0),
            }
        );
        assert!(!s.is_live());
    }

    #[test]
    fn v0_0_4_live_with_offset() {
        let s = parse_ok(
            r#"{"online":true,"viewerCount":2,"overallMaxViewerCount":5,"sessionMaxViewerCount":2,"lastConnectTime":"2021-01-10T13:00:00-05:00","lastDisconnectTime":null,"versionNumber":"0.0.4"}"#,
        );
        assert!(s.online && s.is_live());
        assert_eq!(s.last_connect_time, Some(utc("2021-01-10T18:00:00Z")));
        assert_eq!(s.viewer_count, Some(2));
    }

    #[test]
    fn v0_0_6_live_with_title() {
        let s = parse_ok(
            r#"{"online":true,"viewerCount":0,"lastConnectTime":"2021-06-01T20:00:00Z","lastDisconnectTime":null,"versionNumber":"0.0.6","streamTitle":"Weekly show"}"#,
        );
        assert_eq!(s.title, "Weekly show");
        assert_eq!(s.viewer_count, Some(0));
        assert_eq!(s.version.as_deref(), Some("0.0.6"));
    }

    #[test]
    fn v0_1_never_streamed() {
        let s = parse_ok(
            "{\"serverTime\":\"2023-03-01T10:00:00.123456789Z\",\"lastConnectTime\":null,\"lastDisconnectTime\":null,\"versionNumber\":\"0.1.0\",\"streamTitle\":\"\",\"online\":false}\n",
        );
        assert!(!s.online && !s.is_live());
        assert_eq!(s.last_disconnect_time, None);
        assert_eq!(s.viewer_count, None);
        assert_eq!(s.title, "");
    }

    #[test]
    fn v0_2_offline_and_live() {
        let offline = parse_ok(
            "{\"serverTime\":\"2025-06-01T12:00:00.123456789Z\",\"lastConnectTime\":null,\"lastDisconnectTime\":\"2025-06-01T10:00:00Z\",\"versionNumber\":\"0.2.3\",\"streamTitle\":\"\",\"online\":false}\n",
        );
        assert!(!offline.is_live());
        assert_eq!(
            offline.last_disconnect_time,
            Some(utc("2025-06-01T10:00:00Z"))
        );

        let live = parse_ok(
            "{\"serverTime\":\"2025-06-01T12:00:00.5Z\",\"lastConnectTime\":\"2025-06-01T11:00:00Z\",\"lastDisconnectTime\":null,\"versionNumber\":\"0.2.3\",\"streamTitle\":\"Building a poller\",\"viewerCount\":12,\"online\":true}\n",
        );
        assert_eq!(
            live,
            StreamStatus {
                online: true,
                last_connect_time: Some(utc("2025-06-01T11:00:00Z")),
                last_disconnect_time: None,
                title: "Building a poller".into(),
                version: Some("0.2.3".into()),
                viewer_count: Some(12),
            }
        );
    }

    #[test]
    fn v0_2_starting_is_live_before_online() {
        let s = parse_ok(
            r#"{"serverTime":"2025-06-01T11:00:03.25Z","lastConnectTime":"2025-06-01T11:00:00Z","lastDisconnectTime":null,"versionNumber":"0.2.3","streamTitle":"Soon","online":false}"#,
        );
        assert!(!s.online);
        assert!(s.is_live());
    }

    #[test]
    fn newest_with_scheduled_event() {
        let s = parse_ok(
            r#"{"serverTime":"2026-02-01T09:00:00.000000001Z","lastConnectTime":null,"lastDisconnectTime":"2026-01-31T22:00:00Z","versionNumber":"0.2.4","streamTitle":"","scheduledEvent":{"id":"abc","name":"Launch","description":"x","startTime":"2026-02-02T18:00:00Z","durationMinutes":60,"chatOpen":false},"online":false}"#,
        );
        assert!(!s.is_live());
        assert_eq!(s.version.as_deref(), Some("0.2.4"));
    }

    #[test]
    fn offsets_and_fractions_become_utc() {
        let s = parse_ok(
            r#"{"serverTime":"2025-06-01T14:00:00.123456789+02:00","lastConnectTime":"2025-06-01T13:00:00+02:00","lastDisconnectTime":"2025-06-01T10:59:59.999999999+00:00","online":true}"#,
        );
        assert_eq!(s.last_connect_time, Some(utc("2025-06-01T11:00:00Z")));
        assert_eq!(
            s.last_disconnect_time,
            Some(utc("2025-06-01T10:59:59.999999999Z"))
        );
    }

    #[test]
    fn go_html_escapes_are_decoded() {
        let s = parse_ok(
            r#"{"lastConnectTime":"2025-06-01T11:00:00Z","lastDisconnectTime":null,"streamTitle":"Rust \u003c3 \u0026 \u003cb\u003efriends\u003c/b\u003e","online":true}"#,
        );
        assert_eq!(s.title, "Rust <3 & <b>friends</b>");
    }

    #[test]
    fn lenient_about_missing_and_odd_fields() {
        let s = parse_ok(r#"{"online":true}"#);
        assert_eq!(
            s,
            StreamStatus {
                online: true,
                last_connect_time: None,
                last_disconnect_time: None,
                title: String::new(),
                version: None,
                viewer_count: None,
            }
        );
        let s = parse_ok(
            r#"{"online":false,"viewerCount":-3,"streamTitle":null,"versionNumber":"","lastConnectTime":"","extra":[1]}"#,
        );
        assert_eq!(s.viewer_count, None);
        assert_eq!(s.title, "");
        assert_eq!(s.version, None);
        assert_eq!(s.last_connect_time, None);
    }

    #[test]
    fn refuses_what_is_not_status_json() {
        let cases: [(&str, &str); 7] = [
            (
                "<html><body>Welcome to nginx!</body></html>",
                "the response is HTML, not JSON",
            ),
            ("{\"online\": tr", "the response is not valid JSON"),
            (
                "[{\"online\":true}]",
                "the response is a JSON array, not an object",
            ),
            ("{\"status\":\"ok\"}", "the response has no `online` field"),
            ("{\"online\":\"true\"}", "`online` is not true or false"),
            (
                "{\"online\":true,\"lastConnectTime\":\"string\"}",
                "`lastConnectTime` is not a valid timestamp",
            ),
            (
                "{\"online\":false,\"lastDisconnectTime\":1717236000}",
                "`lastDisconnectTime` is not a timestamp",
            ),
        ];
        for (body, reason) in cases {
            assert_eq!(
                StreamStatus::parse(body.as_bytes()),
                Err(OwncastError::NotOwncast(reason.into())),
                "{body}"
            );
        }
    }
}
