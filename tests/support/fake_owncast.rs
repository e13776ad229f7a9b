//! A stateful fake Owncast server for integration tests.
//!
//! Tests change its state (live, offline, title, failures) while the code under test polls it.
//! Bodies are byte-for-byte what Owncast 0.2.3 sends: Go's field order, Go's string escaping,
//! `serverTime` with trimmed nanoseconds, `viewerCount` omitted when 0, a trailing newline.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::watch;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const VERSION_NUMBER: &str = "0.2.3";
const RELEASE_STRING: &str = "Owncast v0.2.3-linux-64bit (fa1e0c8)";
const HUGE_BODY_BYTES: usize = 10 * 1024 * 1024;
/// Longer than any request timeout a test uses.
const HANG_DELAY: Duration = Duration::from_secs(30);
const WAIT_LIMIT: Duration = Duration::from_secs(60);

/// How the server misbehaves instead of answering normally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailureMode {
    #[default]
    None,
    Status500,
    Html,
    InvalidJson,
    Huge10MB,
    /// Answers only after 30 s.
    Hang,
}

struct State {
    online: bool,
    last_connect: Option<DateTime<Utc>>,
    last_disconnect: Option<DateTime<Utc>>,
    title: String,
    viewer_count: u64,
    name: String,
    summary: String,
    tags: Vec<String>,
    failure: FailureMode,
    config_failure: FailureMode,
}

struct Shared {
    state: Mutex<State>,
    status_requests: watch::Sender<usize>,
    config_requests: AtomicUsize,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not take every later assertion down with it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

pub struct FakeOwncast {
    server: MockServer,
    shared: Arc<Shared>,
}

impl FakeOwncast {
    /// Starts a server that is offline and has never streamed (both times null).
    pub async fn start() -> FakeOwncast {
        let (status_requests, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                online: false,
                last_connect: None,
                last_disconnect: None,
                title: String::new(),
                viewer_count: 0,
                name: "Fake Owncast".to_owned(),
                summary: "A fake Owncast server for tests.".to_owned(),
                tags: Vec::new(),
                failure: FailureMode::None,
                config_failure: FailureMode::None,
            }),
            status_requests,
            config_requests: AtomicUsize::new(0),
        });
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(Responder(Arc::clone(&shared)))
            .mount(&server)
            .await;
        FakeOwncast { server, shared }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// The target identity string, `http://127.0.0.1:<port>`.
    pub fn target(&self) -> String {
        format!("http://{}", self.server.address())
    }

    /// Offline with both times null, as a server that never streamed reports.
    pub fn set_offline(&self) {
        let mut state = self.shared.state();
        state.online = false;
        state.last_connect = None;
        state.last_disconnect = None;
        state.viewer_count = 0;
    }

    /// Starts a new session: a new `lastConnectTime`, `online: true`.
    pub fn go_live(&self, title: &str) {
        self.start_session(title, true);
    }

    /// Starts a new session in Owncast's first seconds: connected but `online: false`.
    pub fn go_starting(&self, title: &str) {
        self.start_session(title, false);
    }

    fn start_session(&self, title: &str, online: bool) {
        let mut state = self.shared.state();
        let mut connect = whole_seconds(Utc::now());
        // Each session must be distinguishable even when two start within one second.
        if let Some(previous) = state
            .last_connect
            .into_iter()
            .chain(state.last_disconnect)
            .max()
            && connect <= previous
        {
            connect = previous + TimeDelta::seconds(1);
        }
        state.online = online;
        state.last_connect = Some(connect);
        state.last_disconnect = None;
        state.title = title.to_owned();
    }

    /// Ends the session: `lastConnectTime` null, `lastDisconnectTime` now.
    pub fn go_offline(&self) {
        let mut state = self.shared.state();
        let mut disconnect = whole_seconds(Utc::now());
        if let Some(connect) = state.last_connect
            && disconnect < connect
        {
            disconnect = connect;
        }
        state.online = false;
        state.last_connect = None;
        state.last_disconnect = Some(disconnect);
        state.viewer_count = 0;
    }

    pub fn set_title(&self, title: &str) {
        self.shared.state().title = title.to_owned();
    }

    pub fn set_name(&self, name: &str) {
        self.shared.state().name = name.to_owned();
    }

    pub fn set_summary(&self, summary: &str) {
        self.shared.state().summary = summary.to_owned();
    }

    pub fn set_tags(&self, tags: Vec<String>) {
        self.shared.state().tags = tags;
    }

    /// Shown only while online, as in Owncast.
    pub fn set_viewer_count(&self, viewers: u64) {
        self.shared.state().viewer_count = viewers;
    }

    /// Makes both endpoints misbehave (`FailureMode::None` restores them).
    pub fn fail(&self, mode: FailureMode) {
        let mut state = self.shared.state();
        state.failure = mode;
        state.config_failure = mode;
    }

    /// Makes only `/api/config` misbehave.
    pub fn fail_config(&self, mode: FailureMode) {
        self.shared.state().config_failure = mode;
    }

    /// `/api/status` requests received so far, failed ones included.
    pub fn status_requests(&self) -> usize {
        *self.shared.status_requests.borrow()
    }

    pub fn config_requests(&self) -> usize {
        self.shared.config_requests.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` `/api/status` requests have been received and answered by the
    /// responder (the bytes may still be in flight). Panics after 60 s.
    pub async fn wait_for_status_requests(&self, n: usize) {
        let mut rx = self.shared.status_requests.subscribe();
        let waited = tokio::time::timeout(WAIT_LIMIT, rx.wait_for(|count| *count >= n)).await;
        match waited {
            Ok(Ok(_)) => {}
            Ok(Err(_)) => panic!("fake Owncast at {} shut down", self.uri()),
            Err(_) => panic!(
                "fake Owncast at {}: expected {n} /api/status requests within {WAIT_LIMIT:?}, got {}",
                self.uri(),
                self.status_requests()
            ),
        }
    }
}

struct Responder(Arc<Shared>);

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let path = request.url.path();
        let is_api = matches!(path, "/api/status" | "/api/config");
        if !is_api {
            return ResponseTemplate::new(404)
                .set_body_raw("404 page not found\n", "text/plain; charset=utf-8");
        }
        if request.method != wiremock::http::Method::GET {
            return ResponseTemplate::new(405);
        }
        let now = Utc::now();
        // Build the response before counting, so a waiter never sees a count ahead of it.
        let response = {
            let state = self.0.state();
            if path == "/api/status" {
                respond_or_fail(state.failure, || status_body(&state, now), false)
            } else {
                respond_or_fail(state.config_failure, || config_body(&state), true)
            }
        };
        if path == "/api/status" {
            self.0.status_requests.send_modify(|count| *count += 1);
        } else {
            self.0.config_requests.fetch_add(1, Ordering::SeqCst);
        }
        response
    }
}

fn respond_or_fail(
    mode: FailureMode,
    body: impl FnOnce() -> String,
    cors: bool,
) -> ResponseTemplate {
    match mode {
        FailureMode::None => json_response(body(), cors),
        FailureMode::Hang => json_response(body(), cors).set_delay(HANG_DELAY),
        FailureMode::Status500 => ResponseTemplate::new(500)
            .set_body_raw("Internal Server Error\n", "text/plain; charset=utf-8"),
        FailureMode::Html => ResponseTemplate::new(200).set_body_raw(
            "<!DOCTYPE html>\n<html><head><title>Welcome</title></head><body>It works!</body></html>\n",
            "text/html; charset=utf-8",
        ),
        FailureMode::InvalidJson => ResponseTemplate::new(200)
            .set_body_raw("{\"serverTime\":\"2025-06-01T12:00:00Z\",\"online\":tr", "application/json"),
        FailureMode::Huge10MB => ResponseTemplate::new(200).set_body_raw(huge_body(), "application/json"),
    }
}

fn json_response(body: String, cors: bool) -> ResponseTemplate {
    let response = ResponseTemplate::new(200)
        .insert_header("Cache-Control", "no-cache, no-store, must-revalidate")
        .insert_header("Expires", "Thu, 1 Jan 1970 00:00:00 GMT")
        .set_body_raw(body, "application/json");
    if cors {
        response.insert_header("Access-Control-Allow-Origin", "*")
    } else {
        response
    }
}

/// Field order of Owncast 0.2.3's `webserver/handlers/status.go` response struct.
fn status_body(state: &State, now: DateTime<Utc>) -> String {
    let mut body = String::from("{");
    let _ = write!(body, "\"serverTime\":{}", go_string(&go_time_nano(now)));
    let _ = write!(
        body,
        ",\"lastConnectTime\":{}",
        null_time(state.last_connect)
    );
    let _ = write!(
        body,
        ",\"lastDisconnectTime\":{}",
        null_time(state.last_disconnect)
    );
    let _ = write!(body, ",\"versionNumber\":{}", go_string(VERSION_NUMBER));
    let _ = write!(body, ",\"streamTitle\":{}", go_string(&state.title));
    // Owncast forces the count to 0 while not connected, and `omitempty` drops a 0.
    let viewers = if state.online { state.viewer_count } else { 0 };
    if viewers > 0 {
        let _ = write!(body, ",\"viewerCount\":{viewers}");
    }
    let _ = write!(body, ",\"online\":{}", state.online);
    body.push_str("}\n");
    body
}

/// Field order of Owncast 0.2.3's `webConfigResponse`.
fn config_body(state: &State) -> String {
    let tags: Vec<String> = state.tags.iter().map(|t| go_string(t)).collect();
    let mut body = String::from("{\"appearanceVariables\":null");
    let _ = write!(body, ",\"name\":{}", go_string(&state.name));
    body.push_str(",\"customStyles\":\"\"");
    if !state.title.is_empty() {
        let _ = write!(body, ",\"streamTitle\":{}", go_string(&state.title));
    }
    body.push_str(",\"offlineMessage\":\"\",\"logo\":\"/logo\"");
    let _ = write!(body, ",\"version\":{}", go_string(RELEASE_STRING));
    body.push_str(
        ",\"extraPageContent\":\"\\u003cp\\u003eThis is a fake Owncast.\\u003c/p\\u003e\\n\"",
    );
    let _ = write!(body, ",\"summary\":{}", go_string(&state.summary));
    let _ = write!(body, ",\"tags\":[{}]", tags.join(","));
    body.push_str(concat!(
        ",\"socialHandles\":null,\"externalActions\":[]",
        ",\"notifications\":{\"browser\":{\"enabled\":false}}",
        ",\"federation\":{\"enabled\":false}",
        ",\"maxSocketPayloadSize\":2048,\"hideViewerCount\":false,\"chatDisabled\":false",
        ",\"chatSpamProtectionDisabled\":false,\"nsfw\":false",
        ",\"authentication\":{\"indieAuthEnabled\":false}}\n",
    ));
    body
}

fn huge_body() -> Vec<u8> {
    let head = b"{\"online\":false,\"padding\":\"";
    let tail = b"\"}\n";
    let mut body = Vec::with_capacity(HUGE_BODY_BYTES);
    body.extend_from_slice(head);
    body.resize(HUGE_BODY_BYTES - tail.len(), b'x');
    body.extend_from_slice(tail);
    body
}

fn whole_seconds(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

/// `utils.NullTime`: RFC 3339 in whole seconds, or `null`.
fn null_time(t: Option<DateTime<Utc>>) -> String {
    match t {
        Some(t) => go_string(&t.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        None => "null".to_owned(),
    }
}

/// Go's `time.RFC3339Nano`: the fraction has its trailing zeros removed, or is left out.
fn go_time_nano(t: DateTime<Utc>) -> String {
    let mut out = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = t.timestamp_subsec_nanos();
    if nanos > 0 {
        let fraction = format!("{nanos:09}");
        out.push('.');
        out.push_str(fraction.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// A JSON string as Go's `encoding/json` writes it, HTML-escaping included.
fn go_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_encoding() {
        assert_eq!(
            go_string("a<b>&\"c\"\n\u{1}"),
            r#""a\u003cb\u003e\u0026\"c\"\n\u0001""#
        );
        let t = DateTime::from_timestamp(1_748_779_200, 123_450_000).unwrap();
        assert_eq!(go_time_nano(t), "2025-06-01T12:00:00.12345Z");
        let t = DateTime::from_timestamp(1_748_779_200, 0).unwrap();
        assert_eq!(go_time_nano(t), "2025-06-01T12:00:00Z");
        assert_eq!(null_time(Some(t)), "\"2025-06-01T12:00:00Z\"");
    }
}
