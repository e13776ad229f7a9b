//! The whole pipeline through the real binary: subscriptions made with the operator tool, a
//! fake Owncast changing state, notifications read from the stdout notifier. Every scenario
//! runs on SQLite and, when `TEST_POSTGRES_URL` is set, on PostgreSQL.

#[macro_use]
mod support;

use serde_json::Value;
use support::daemon::{Config, Daemon, kinds};
use support::db::{Backend, TestDb};
use support::fake_owncast::FakeOwncast;

const ROOM: &str = "!room:test.example";

/// Returns once a poll that started after this call has been fully processed: the request
/// after the next one can only start when the next one is done.
async fn settle(fake: &FakeOwncast) {
    let seen = fake.status_requests();
    fake.wait_for_status_requests(seen + 2).await;
}

fn assert_notification(n: &Value, kind: &str, fake: &FakeOwncast, title: &str) {
    assert_eq!(n["kind"], kind, "{n}");
    assert_eq!(n["domain"], fake.target().as_str(), "{n}");
    assert_eq!(n["room"], ROOM, "{n}");
    assert_eq!(n["title"], title, "{n}");
    assert_eq!(n["url"], format!("{}/", fake.uri()), "{n}");
}

async fn go_live_title_change_and_brief_drops(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let fake = FakeOwncast::start().await;
    fake.set_name("Test Stream");
    fake.set_tags(vec!["rust".into(), "coding".into()]);
    let mut config = Config::new(db.dir.path(), &db.url);
    config.set("notifications", "temporary_offline_cooldown", "1h");
    config.subscribe(ROOM, &fake.target());
    let mut daemon = Daemon::start(&config);

    // The first poll only records.
    settle(&fake).await;
    fake.go_live("Hello");
    let n = daemon.next_notification().await;
    assert_notification(&n, "go_live", &fake, "Hello");
    assert_eq!(n["name"], "Test Stream");
    assert_eq!(n["tags"], serde_json::json!(["rust", "coding"]));

    fake.set_title("Part 2");
    let n = daemon.next_notification().await;
    assert_notification(&n, "title_change", &fake, "Part 2");

    // Back within the temporary-offline cooldown with the same title: silent.
    fake.go_offline();
    settle(&fake).await;
    fake.go_live("Part 2");
    daemon.wait_log(&["brief drop", &fake.target()]).await;

    // Back within it with a new title: a title change.
    fake.go_offline();
    settle(&fake).await;
    fake.go_live("Part 3");
    let n = daemon.next_notification().await;
    assert_notification(&n, "title_change", &fake, "Part 3");

    let (status, rest) = daemon.stop().await;
    assert!(status.success(), "{status}");
    assert!(
        rest.is_empty(),
        "unexpected notifications: {:?}",
        kinds(&rest)
    );
}

async fn restart_neither_re_announces_nor_forgets_cooldowns(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let fake = FakeOwncast::start().await;
    let mut config = Config::new(db.dir.path(), &db.url);
    config.set("notifications", "cooldown", "1h");
    config.subscribe(ROOM, &fake.target());

    let mut daemon = Daemon::start(&config);
    settle(&fake).await;
    fake.go_live("One");
    let n = daemon.next_notification().await;
    assert_notification(&n, "go_live", &fake, "One");
    let (status, rest) = daemon.stop().await;
    assert!(status.success());
    assert!(rest.is_empty(), "{:?}", kinds(&rest));

    // Still live after the restart: known, so not announced again.
    let mut daemon = Daemon::start(&config);
    settle(&fake).await;
    // A new session after a long drop would be a go-live, but the notification cooldown
    // started before the restart still runs.
    fake.go_offline();
    settle(&fake).await;
    fake.go_live("Two");
    daemon
        .wait_log(&["within the notification cooldown", &fake.target()])
        .await;
    let (status, rest) = daemon.stop().await;
    assert!(status.success());
    assert!(rest.is_empty(), "{:?}", kinds(&rest));
}

async fn restart_keeps_the_temporary_offline_cooldown(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let fake = FakeOwncast::start().await;
    let mut config = Config::new(db.dir.path(), &db.url);
    config.set("notifications", "temporary_offline_cooldown", "1h");
    config.subscribe(ROOM, &fake.target());

    let mut daemon = Daemon::start(&config);
    settle(&fake).await;
    fake.go_live("Same");
    daemon.next_notification().await;
    fake.go_offline();
    settle(&fake).await;
    let (_, rest) = daemon.stop().await;
    assert!(rest.is_empty(), "{:?}", kinds(&rest));

    // The drop began before the restart; coming back with the same title is still brief.
    fake.go_live("Same");
    let mut daemon = Daemon::start(&config);
    daemon.wait_log(&["brief drop", &fake.target()]).await;
    let (status, rest) = daemon.stop().await;
    assert!(status.success());
    assert!(rest.is_empty(), "{:?}", kinds(&rest));
}

async fn flapping_inside_the_cooldowns_announces_once(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let fake = FakeOwncast::start().await;
    let mut config = Config::new(db.dir.path(), &db.url);
    config.set("notifications", "cooldown", "1h").set(
        "notifications",
        "temporary_offline_cooldown",
        "1h",
    );
    config.subscribe(ROOM, &fake.target());
    let mut daemon = Daemon::start(&config);
    settle(&fake).await;
    fake.go_live("Flappy");
    let n = daemon.next_notification().await;
    assert_notification(&n, "go_live", &fake, "Flappy");
    for _ in 0..3 {
        fake.go_offline();
        settle(&fake).await;
        fake.go_live("Flappy");
        settle(&fake).await;
    }
    // A new title after a brief drop would be announced, but not inside the cooldown.
    fake.go_offline();
    settle(&fake).await;
    fake.go_live("Flappy again");
    daemon
        .wait_log(&["within the notification cooldown", &fake.target()])
        .await;
    let (status, rest) = daemon.stop().await;
    assert!(status.success());
    assert!(rest.is_empty(), "{:?}", kinds(&rest));
}

async fn one_poll_serves_every_subscribed_room(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let fake = FakeOwncast::start().await;
    let config = Config::new(db.dir.path(), &db.url);
    for room in ["!a:test.example", "!b:test.example", "!c:test.example"] {
        config.subscribe(room, &fake.target());
    }
    let mut daemon = Daemon::start(&config);
    settle(&fake).await;
    fake.go_live("Everyone");
    let mut rooms = Vec::new();
    for _ in 0..3 {
        let n = daemon.next_notification().await;
        assert_eq!(n["kind"], "go_live");
        rooms.push(n["room"].as_str().unwrap().to_owned());
    }
    rooms.sort();
    assert_eq!(
        rooms,
        ["!a:test.example", "!b:test.example", "!c:test.example"]
    );
    let (_, rest) = daemon.stop().await;
    assert!(rest.is_empty(), "{:?}", kinds(&rest));
}

on_both_backends!(
    go_live_title_change_and_brief_drops,
    restart_neither_re_announces_nor_forgets_cooldowns,
    restart_keeps_the_temporary_offline_cooldown,
    flapping_inside_the_cooldowns_announces_once,
    one_poll_serves_every_subscribed_room,
);
