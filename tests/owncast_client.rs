//! The Owncast HTTP client against local fake servers.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use owncast_sentry::logic::address::AddressClass;
use owncast_sentry::logic::target::StreamTarget;
use owncast_sentry::owncast::{BlockReason, ClientSettings, OwncastClient, OwncastError};
use support::fake_owncast::{FailureMode, FakeOwncast};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const STATUS_LIMIT: usize = 64 * 1024;

fn settings(allow_private_addresses: bool) -> ClientSettings {
    ClientSettings {
        request_timeout: Duration::from_secs(5),
        user_agent: "owncast-sentry-test/1.0".to_owned(),
        proxy: None,
        allow_private_addresses,
    }
}

fn client(settings: &ClientSettings) -> OwncastClient {
    OwncastClient::new(settings).expect("client builds")
}

fn local_client() -> OwncastClient {
    client(&settings(true))
}

fn target(s: &str) -> StreamTarget {
    StreamTarget::parse(s).expect("valid target")
}

#[tokio::test]
async fn follows_a_stream_through_its_states() {
    let fake = FakeOwncast::start().await;
    let http = local_client();
    let t = target(&fake.target());

    let status = http.status(&t).await.expect("status");
    assert!(!status.online && !status.is_live());
    assert_eq!(status.last_connect_time, None);
    assert_eq!(status.last_disconnect_time, None);
    assert_eq!(status.version.as_deref(), Some("0.2.3"));
    assert_eq!(status.viewer_count, None);

    fake.go_live("Rust <3 & \"friends\"");
    fake.set_viewer_count(7);
    let live = http.status(&t).await.expect("status");
    assert!(live.online && live.is_live());
    assert_eq!(live.title, "Rust <3 & \"friends\"");
    assert_eq!(live.viewer_count, Some(7));
    assert_eq!(live.last_disconnect_time, None);

    fake.go_live("Reconnected");
    let again = http.status(&t).await.expect("status");
    assert!(again.last_connect_time > live.last_connect_time);

    fake.go_offline();
    let offline = http.status(&t).await.expect("status");
    assert!(!offline.online && !offline.is_live());
    assert!(offline.last_disconnect_time.is_some());
    assert_eq!(offline.viewer_count, None);

    fake.go_starting("Warming up");
    let starting = http.status(&t).await.expect("status");
    assert!(!starting.online && starting.is_live());

    assert_eq!(fake.status_requests(), 5);
    fake.wait_for_status_requests(5).await;
}

#[tokio::test]
async fn fetches_config() {
    let fake = FakeOwncast::start().await;
    fake.set_name("My <Stream>");
    fake.set_tags(vec!["rust".to_owned(), "music & art".to_owned()]);
    fake.set_summary("All day");
    let config = local_client()
        .config(&target(&fake.target()))
        .await
        .expect("config");
    assert_eq!(config.name, "My <Stream>");
    assert_eq!(config.tags, ["rust", "music & art"]);
    assert_eq!(config.summary, "All day");
    assert_eq!(fake.config_requests(), 1);
    assert_eq!(fake.status_requests(), 0);
}

#[tokio::test]
async fn failure_modes_map_to_errors() {
    let fake = FakeOwncast::start().await;
    let http = local_client();
    let t = target(&fake.target());
    let cases = [
        (FailureMode::Status500, OwncastError::Status(500)),
        (
            FailureMode::Html,
            OwncastError::NotOwncast("the response is HTML, not JSON".into()),
        ),
        (
            FailureMode::InvalidJson,
            OwncastError::NotOwncast("the response is not valid JSON".into()),
        ),
        (
            FailureMode::Huge10MB,
            OwncastError::TooLarge {
                limit: STATUS_LIMIT,
            },
        ),
    ];
    for (mode, expected) in cases {
        fake.fail(mode);
        assert_eq!(http.status(&t).await, Err(expected), "{mode:?}");
    }
    fake.fail(FailureMode::None);
    assert!(http.status(&t).await.is_ok());
}

#[tokio::test]
async fn config_failure_leaves_status_working() {
    let fake = FakeOwncast::start().await;
    fake.fail_config(FailureMode::Status500);
    let http = local_client();
    let t = target(&fake.target());
    assert_eq!(http.config(&t).await, Err(OwncastError::Status(500)));
    assert!(http.status(&t).await.is_ok());
}

#[tokio::test]
async fn a_hanging_server_times_out() {
    let fake = FakeOwncast::start().await;
    fake.fail(FailureMode::Hang);
    let http = client(&ClientSettings {
        request_timeout: Duration::from_millis(300),
        ..settings(true)
    });
    let started = Instant::now();
    let result = http.status(&target(&fake.target())).await;
    assert_eq!(result, Err(OwncastError::Timeout));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn sends_user_agent_and_accept() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/status"))
        .and(header("user-agent", "owncast-sentry-test/1.0"))
        .and(header("accept", "application/json"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw("{\"online\":false}", "application/json"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let t = target(&format!("http://{}", server.address()));
    assert!(local_client().status(&t).await.is_ok());
    server.verify().await;
}

#[tokio::test]
async fn accepts_gzip_bodies() {
    let body = br#"{"serverTime":"2025-06-01T12:00:00.5Z","lastConnectTime":"2025-06-01T11:00:00Z","lastDisconnectTime":null,"versionNumber":"0.2.3","streamTitle":"Compressed","viewerCount":3,"online":true}"#;
    let server = MockServer::start().await;
    Mock::given(path("/api/status"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("Content-Encoding", "gzip")
                .set_body_raw(gzip_stored(body), "application/json"),
        )
        .mount(&server)
        .await;
    let t = target(&format!("http://{}", server.address()));
    let status = local_client().status(&t).await.expect("gzip status");
    assert_eq!(status.title, "Compressed");

    let requests = server.received_requests().await.unwrap_or_default();
    let accept_encoding = requests[0]
        .headers
        .get("accept-encoding")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(accept_encoding.contains("gzip"), "{accept_encoding}");
}

#[tokio::test]
async fn caps_bodies_without_a_declared_length() {
    let addr = chunked_server(256 * 1024).await;
    let t = target(&format!("http://{addr}"));
    assert_eq!(
        local_client().status(&t).await,
        Err(OwncastError::TooLarge {
            limit: STATUS_LIMIT
        })
    );
}

#[tokio::test]
async fn never_requests_other_paths() {
    let server = MockServer::start().await;
    let http = local_client();
    let t = target(&format!("http://{}", server.address()));
    let _ = http.status(&t).await;
    let _ = http.config(&t).await;
    let paths: Vec<String> = server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    assert_eq!(paths, ["/api/status", "/api/config"]);
}

#[tokio::test]
async fn refuses_loopback_literal_without_a_request() {
    let fake = FakeOwncast::start().await;
    let http = client(&settings(false));
    let t = target(&fake.target());
    let expected = OwncastError::Blocked {
        host: "127.0.0.1".into(),
        reason: BlockReason::Address(AddressClass::Loopback),
    };
    assert_eq!(http.status(&t).await, Err(expected.clone()));
    assert_eq!(http.config(&t).await, Err(expected));
    assert_eq!(fake.status_requests(), 0);
    assert_eq!(fake.config_requests(), 0);
}

#[tokio::test]
async fn refuses_names_resolving_to_loopback() {
    let fake = FakeOwncast::start().await;
    let http = client(&settings(false));
    let port = fake
        .target()
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_owned();
    let t = target(&format!("http://localhost:{port}"));
    let err = http
        .status(&t)
        .await
        .expect_err("localhost must be refused");
    assert_eq!(
        err,
        OwncastError::Blocked {
            host: "localhost".into(),
            reason: BlockReason::ResolvesTo(AddressClass::Loopback),
        }
    );
    assert!(err.is_blocked());
    assert_eq!(
        err.to_string(),
        "refused: localhost resolves only to a loopback address"
    );
    assert_eq!(fake.status_requests(), 0);
}

/// Through a proxy, the proxy resolves names: a `.invalid` name (which never resolves) is
/// answered, which shows the guard left name resolution to the proxy. The proxy is named
/// `localhost` to show that its own (loopback) name is exempt from the guard.
#[tokio::test]
async fn names_go_through_a_configured_proxy() {
    let proxy = MockServer::start().await;
    Mock::given(path("/api/status"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw("{\"online\":true}", "application/json"),
        )
        .mount(&proxy)
        .await;
    let http = client(&ClientSettings {
        proxy: Some(format!("http://localhost:{}", proxy.address().port())),
        ..settings(false)
    });
    let status = http
        .status(&target("http://owncast.invalid"))
        .await
        .expect("status through the proxy");
    assert!(status.online);
    let requests = proxy.received_requests().await.unwrap_or_default();
    assert_eq!(requests[0].url.host_str(), Some("owncast.invalid"));
}

#[tokio::test]
async fn refuses_redirects_to_private_literals() {
    let proxy = MockServer::start().await;
    Mock::given(path("/api/status"))
        .respond_with(
            ResponseTemplate::new(302).insert_header("Location", "http://10.1.2.3/api/status"),
        )
        .mount(&proxy)
        .await;
    let http = client(&ClientSettings {
        proxy: Some(proxy.uri()),
        ..settings(false)
    });
    let err = http
        .status(&target("http://owncast.invalid"))
        .await
        .expect_err("redirect must be refused");
    assert_eq!(
        err,
        OwncastError::Blocked {
            host: "10.1.2.3".into(),
            reason: BlockReason::RedirectTo(AddressClass::Private),
        }
    );
    assert_eq!(proxy.received_requests().await.map(|r| r.len()), Some(1));
}

#[tokio::test]
async fn limits_redirects_and_their_schemes() {
    let server = MockServer::start().await;
    let base = server.uri();
    Mock::given(path("/api/status"))
        .respond_with(
            ResponseTemplate::new(302).insert_header("Location", format!("{base}/loop").as_str()),
        )
        .mount(&server)
        .await;
    Mock::given(path("/loop"))
        .respond_with(
            ResponseTemplate::new(302).insert_header("Location", format!("{base}/loop").as_str()),
        )
        .mount(&server)
        .await;
    Mock::given(path("/api/config"))
        .respond_with(ResponseTemplate::new(301).insert_header("Location", "ftp://example.com/"))
        .mount(&server)
        .await;
    let http = local_client();
    let t = target(&format!("http://{}", server.address()));
    assert_eq!(
        http.status(&t).await,
        Err(OwncastError::Request("more than 5 redirects".into()))
    );
    assert_eq!(server.received_requests().await.map(|r| r.len()), Some(6));
    assert!(matches!(
        http.config(&t).await,
        Err(OwncastError::Request(_))
    ));
}

#[tokio::test]
async fn connection_refused_is_a_connect_error() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let err = local_client()
        .status(&target(&format!("http://{addr}")))
        .await
        .expect_err("nothing listens");
    assert!(matches!(err, OwncastError::Connect(_)), "{err:?}");
    // The innermost cause is what a user can act on, not reqwest's wrapper text.
    assert!(err.to_string().to_lowercase().contains("refused"), "{err}");
}

/// Serves one response of `total` bytes with chunked encoding, so no length is declared.
async fn chunked_server(total: usize) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let Ok((mut socket, _)) = listener.accept().await else {
            return;
        };
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        let start = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
        if socket.write_all(start.as_bytes()).await.is_err() {
            return;
        }
        let chunk = [b' '; 8192];
        let mut sent = 0;
        while sent < total {
            let frame = [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
            if socket.write_all(&frame).await.is_err() {
                return;
            }
            sent += chunk.len();
        }
        let _ = socket.write_all(b"0\r\n\r\n").await;
    });
    addr
}

/// A gzip member with stored (uncompressed) deflate blocks: valid gzip without a compressor.
fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let blocks: Vec<&[u8]> = if data.is_empty() {
        vec![&[]]
    } else {
        data.chunks(usize::from(u16::MAX)).collect()
    };
    for (i, block) in blocks.iter().enumerate() {
        out.push(u8::from(i + 1 == blocks.len()));
        let len = u16::try_from(block.len()).expect("block fits");
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&u32::try_from(data.len()).expect("small").to_le_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = u32::MAX;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xedb8_8320 & mask);
        }
    }
    !crc
}
