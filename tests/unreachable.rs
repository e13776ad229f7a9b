//! Broken Owncast servers (behaviour §4): each failure mode affects only its own stream,
//! backs off, is shown as offline once stale, and is warned about and removed in time.

mod support;

use support::daemon::{Config, Daemon, kinds};
use support::db::{Backend, TestDb};
use support::fake_owncast::{FailureMode, FakeOwncast};

const ROOM: &str = "!room:test.example";

async fn settle(fake: &FakeOwncast) {
    let seen = fake.status_requests();
    fake.wait_for_status_requests(seen + 2).await;
}

/// The `retry_in_ms` field of a "poll failed" log line.
fn retry_in_ms(line: &str) -> u64 {
    let value = line
        .split("retry_in_ms=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no retry_in_ms in {line}"));
    value
        .parse()
        .unwrap_or_else(|_| panic!("bad retry_in_ms in {line}"))
}

#[tokio::test]
async fn broken_servers_only_affect_their_own_stream() {
    let db = TestDb::new(Backend::Sqlite).unwrap();
    let mut config = Config::new(db.dir.path(), &db.url);
    config
        .set("owncast", "request_timeout", "500ms")
        .set("failures", "max_backoff", "800ms")
        .set("failures", "stale_after", "1s");

    let modes = [
        FailureMode::Hang,
        FailureMode::Status500,
        FailureMode::Html,
        FailureMode::InvalidJson,
        FailureMode::Huge10MB,
    ];
    let mut broken = Vec::new();
    for _ in modes {
        let fake = FakeOwncast::start().await;
        fake.go_live("Was fine");
        config.subscribe(ROOM, &fake.target());
        broken.push(fake);
    }
    let healthy = FakeOwncast::start().await;
    config.subscribe(ROOM, &healthy.target());

    let mut daemon = Daemon::start(&config);
    for fake in &broken {
        settle(fake).await;
    }
    settle(&healthy).await;
    for (fake, mode) in broken.iter().zip(modes) {
        fake.fail(mode);
    }

    // Every broken stream backs off: the third retry waits longer than the first could.
    for fake in &broken {
        let first = daemon
            .wait_log(&["poll failed", &fake.target(), "streak=1 "])
            .await;
        let third = daemon
            .wait_log(&["poll failed", &fake.target(), "streak=3 "])
            .await;
        let (first, third) = (retry_in_ms(&first), retry_in_ms(&third));
        assert!((100..=200).contains(&first), "first retry in {first} ms");
        assert!((400..=800).contains(&third), "third retry in {third} ms");
    }

    // Meanwhile the healthy stream is polled and announced as usual.
    healthy.go_live("Still here");
    let n = daemon.next_notification().await;
    assert_eq!(n["kind"], "go_live");
    assert_eq!(n["domain"], healthy.target().as_str());

    for fake in &broken {
        daemon
            .wait_log(&["treated as offline (stale)", &fake.target()])
            .await;
    }
    let (status, rest) = daemon.stop().await;
    assert!(status.success());
    assert!(rest.is_empty(), "{:?}", kinds(&rest));

    // The operator's view: the healthy stream live, every broken one unreachable.
    let out = config.cli(&["subscriptions", "list"]);
    assert!(out.status.success());
    let listing = String::from_utf8(out.stdout).unwrap();
    for fake in &broken {
        let line = listing
            .lines()
            .find(|l| l.contains(&fake.target()))
            .unwrap_or_else(|| panic!("{} missing from:\n{listing}", fake.target()));
        assert!(line.contains("\tunreachable\t"), "{line}");
    }
    let line = listing
        .lines()
        .find(|l| l.contains(&healthy.target()))
        .unwrap();
    assert!(line.contains("\tlive\t"), "{line}");
}

async fn unreachable_servers_are_warned_about_then_removed(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let mut config = Config::new(db.dir.path(), &db.url);
    config
        .set("failures", "max_backoff", "200ms")
        .set("failures", "warn_after", "500ms")
        .set("failures", "remove_after", "1500ms");
    let fake = FakeOwncast::start().await;
    fake.set_name("Gone Soon");
    let keep = FakeOwncast::start().await;
    for room in ["!a:test.example", "!b:test.example"] {
        config.subscribe(room, &fake.target());
        config.subscribe(room, &keep.target());
    }
    let mut daemon = Daemon::start(&config);
    settle(&fake).await;
    fake.fail(FailureMode::Status500);

    let mut warned = Vec::new();
    for _ in 0..2 {
        let n = daemon.next_notification().await;
        assert_eq!(n["kind"], "unreachable_warning", "{n}");
        assert_eq!(n["domain"], fake.target().as_str());
        assert_eq!(n["name"], "Gone Soon");
        warned.push(n["room"].as_str().unwrap().to_owned());
    }
    let mut removed = Vec::new();
    for _ in 0..2 {
        let n = daemon.next_notification().await;
        assert_eq!(n["kind"], "removed", "{n}");
        removed.push(n["room"].as_str().unwrap().to_owned());
    }
    warned.sort();
    removed.sort();
    assert_eq!(warned, ["!a:test.example", "!b:test.example"]);
    assert_eq!(removed, warned);

    let (status, rest) = daemon.stop().await;
    assert!(status.success());
    assert!(
        rest.is_empty(),
        "warned or removed twice: {:?}",
        kinds(&rest)
    );
    let out = config.cli(&["subscriptions", "list"]);
    let listing = String::from_utf8(out.stdout).unwrap();
    assert!(!listing.contains(&fake.target()), "{listing}");
    assert_eq!(listing.matches(&keep.target()).count(), 2, "{listing}");
}

#[tokio::test]
async fn warned_then_removed_sqlite() {
    unreachable_servers_are_warned_about_then_removed(Backend::Sqlite).await;
}

#[tokio::test]
async fn warned_then_removed_postgres() {
    unreachable_servers_are_warned_about_then_removed(Backend::Postgres).await;
}
