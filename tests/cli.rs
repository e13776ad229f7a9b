//! The one-shot subcommands through the real binary: `check`, `subscriptions`, `migrate`,
//! and refusal of bad configuration.

mod support;

use chrono::Utc;
use owncast_sentry::storage::{self, subscriptions};
use support::daemon::{BIN, Config};
use support::db::{Backend, TestDb};
use support::fake_owncast::FakeOwncast;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn check_prints_name_title_live_state_and_version() {
    let db = TestDb::new(Backend::Sqlite).unwrap();
    let config = Config::new(db.dir.path(), &db.url);
    let fake = FakeOwncast::start().await;
    fake.set_name("Check Me");
    fake.go_live("Checking in");

    let out = config.cli(&["check", &fake.uri()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("name:    Check Me"), "{stdout}");
    assert!(stdout.contains("title:   Checking in"), "{stdout}");
    assert!(stdout.contains("live:    live since"), "{stdout}");
    assert!(stdout.contains("version: 0.2.3"), "{stdout}");

    let out = config.cli(&["check", "--json", &fake.uri()]);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["name"], "Check Me");
    assert_eq!(json["title"], "Checking in");
    assert_eq!(json["live"], true);
    assert_eq!(json["version"], "0.2.3");
    assert_eq!(json["domain"], fake.target().as_str());

    fake.go_offline();
    let out = config.cli(&["check", &fake.uri()]);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("live:    offline"));
}

#[tokio::test]
async fn check_refuses_a_server_that_is_not_owncast_with_one_line() {
    let db = TestDb::new(Backend::Sqlite).unwrap();
    let config = Config::new(db.dir.path(), &db.url);
    let web = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            "<!doctype html><html><body>hello</body></html>",
            "text/html",
        ))
        .mount(&web)
        .await;

    let out = config.cli(&["check", &web.uri()]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("not an Owncast server"), "{stderr}");

    // Nothing listens here.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let out = config.cli(&["check", &format!("http://127.0.0.1:{closed}")]);
    assert!(!out.status.success());
    assert_eq!(
        text(&out.stderr).lines().count(),
        1,
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test]
async fn subscriptions_refuse_private_targets_unless_allowed() {
    let db = TestDb::new(Backend::Sqlite).unwrap();
    let mut config = Config::new(db.dir.path(), &db.url);
    config.set_raw("owncast", "allow_private_addresses", "false");
    let fake = FakeOwncast::start().await;

    for target in [
        fake.target(),
        format!(
            "http://localhost:{}",
            fake.uri().rsplit(':').next().unwrap()
        ),
    ] {
        let out = config.cli(&["subscriptions", "add", "!r:test.example", &target]);
        assert!(!out.status.success(), "{target} accepted");
        let stderr = text(&out.stderr);
        assert!(stderr.contains("loopback"), "{stderr}");
    }
    assert_eq!(fake.status_requests(), 0, "refused before any request");
    let out = config.cli(&["subscriptions", "list"]);
    assert_eq!(text(&out.stdout), "");

    config.set_raw("owncast", "allow_private_addresses", "true");
    config.subscribe("!r:test.example", &fake.target());
    let out = config.cli(&["subscriptions", "list"]);
    assert!(text(&out.stdout).contains(&fake.target()));
}

#[tokio::test]
async fn one_server_written_three_ways_is_one_subscription() {
    let db = TestDb::new(Backend::Sqlite).unwrap();
    let config = Config::new(db.dir.path(), &db.url);
    // Another room already follows example.com, so this room's subscription needs no
    // validation (which would need the real example.com).
    {
        let mut conn = storage::connect(&db.url).unwrap();
        subscriptions::add(
            &mut conn,
            "!other:test.example",
            "example.com",
            "t",
            Utc::now(),
            10,
        )
        .unwrap();
    }
    let out = config.cli(&["subscriptions", "add", "!r:test.example", "Example.com"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for same in [
        "https://example.com/",
        "example.com.",
        "https://EXAMPLE.com:443/live?x=1",
    ] {
        let out = config.cli(&["subscriptions", "add", "!r:test.example", same]);
        assert!(out.status.success());
        assert!(
            text(&out.stdout).contains("already subscribed"),
            "{same}: {}",
            text(&out.stdout)
        );
    }
    let out = config.cli(&["subscriptions", "list", "!r:test.example"]);
    let listing = text(&out.stdout);
    assert_eq!(listing.lines().count(), 1, "{listing}");
    assert!(
        listing.starts_with("!r:test.example\texample.com\t"),
        "{listing}"
    );

    // Removal needs no server at all, and accepts any spelling.
    let out = config.cli(&["subscriptions", "remove", "!r:test.example", "EXAMPLE.COM."]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = config.cli(&["subscriptions", "remove", "!r:test.example", "example.com"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("not subscribed"));
}

#[tokio::test]
async fn subscriptions_validate_room_target_and_limit() {
    let db = TestDb::new(Backend::Sqlite).unwrap();
    let mut config = Config::new(db.dir.path(), &db.url);
    config.set_raw("owncast", "max_subscriptions_per_room", "1");
    let one = FakeOwncast::start().await;
    let two = FakeOwncast::start().await;

    let out = config.cli(&["subscriptions", "add", "not-a-room", &one.target()]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("not a Matrix room id"));

    let out = config.cli(&["subscriptions", "add", "!r:test.example", "ftp://x.example"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("ftp://x.example"),
        "{}",
        text(&out.stderr)
    );

    config.subscribe("!r:test.example", &one.target());
    let out = config.cli(&["subscriptions", "add", "!r:test.example", &two.target()]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("already has 1 subscriptions"),
        "{}",
        text(&out.stderr)
    );

    // A server that is not Owncast is refused on first subscription, with the reason.
    let web = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500))
        .mount(&web)
        .await;
    let out = config.cli(&["subscriptions", "add", "!s:test.example", &web.uri()]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("HTTP 500"),
        "{}",
        text(&out.stderr)
    );
}

async fn migrate_is_idempotent(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let config = Config::new(db.dir.path(), &db.url);
    let out = config.cli(&["migrate"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("1 migrations applied"),
        "{}",
        text(&out.stdout)
    );
    let out = config.cli(&["migrate"]);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("0 migrations applied"));
}

#[tokio::test]
async fn migrate_sqlite() {
    migrate_is_idempotent(Backend::Sqlite).await;
}

#[tokio::test]
async fn migrate_postgres() {
    migrate_is_idempotent(Backend::Postgres).await;
}

#[test]
fn bad_configuration_is_refused_at_start_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "[owncast]\npoll_interval = \"often\"\n",
            "owncast.poll_interval",
        ),
        ("[owncast]\npoll_intervall = \"1m\"\n", "poll_intervall"),
        (
            "[notifications]\ncooldown = \"0s\"\nmsgtype = \"m.shout\"\n",
            "msgtype",
        ),
        ("[failures]\nmax_backoff = \"0s\"\n", "failures.max_backoff"),
    ];
    for (toml, key) in cases {
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, toml).unwrap();
        let out = std::process::Command::new(BIN)
            .args(["run", "--config"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{toml} accepted");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(key), "{key} not named in: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    // Environment overrides are checked the same way.
    let out = std::process::Command::new(BIN)
        .args(["check", "example.com"])
        .current_dir(dir.path())
        .env("OWNCAST_SENTRY__OWNCAST__REQUEST_TIMEOUT", "fast")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("owncast.request_timeout"),
        "{}",
        text(&out.stderr)
    );
}
