//! The storage layer on a real database: subscriptions, the outbox, and batches. Runs on
//! SQLite and, with `TEST_POSTGRES_URL`, on PostgreSQL.

#[macro_use]
mod support;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use owncast_sentry::logic::notification::{Notification, NotificationKind};
use owncast_sentry::logic::stream_state::StreamState;
use owncast_sentry::storage::batch::{Write, commit};
use owncast_sentry::storage::subscriptions::{self, Added, Removed};
use owncast_sentry::storage::{self, Database, outbox, streams};
use support::db::{Backend, TestDb};

fn at(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).unwrap() + TimeDelta::minutes(minute)
}

fn note(domain: &str, kind: NotificationKind) -> Notification {
    Notification::new(
        kind,
        domain,
        &format!("https://{domain}/"),
        "Name",
        "Title",
        &[],
    )
}

fn open(db: &TestDb) -> Database {
    storage::connect(&db.url).unwrap()
}

async fn subscriptions_are_one_row_per_pair(backend: Backend) {
    let Some(test_db) = TestDb::new(backend) else {
        return;
    };
    let mut db = open(&test_db);
    assert_eq!(
        subscriptions::add(&mut db, "!a:t", "x.example", "@u:t", at(0), 2).unwrap(),
        Added::Subscribed
    );
    assert_eq!(
        subscriptions::add(&mut db, "!a:t", "x.example", "@u:t", at(1), 2).unwrap(),
        Added::AlreadySubscribed
    );
    assert_eq!(
        subscriptions::add(&mut db, "!a:t", "y.example", "@u:t", at(1), 2).unwrap(),
        Added::Subscribed
    );
    assert_eq!(
        subscriptions::add(&mut db, "!a:t", "z.example", "@u:t", at(1), 2).unwrap(),
        Added::LimitReached { limit: 2 }
    );
    assert_eq!(
        subscriptions::add(&mut db, "!b:t", "x.example", "@v:t", at(2), 2).unwrap(),
        Added::Subscribed
    );
    assert_eq!(
        subscriptions::domains(&mut db).unwrap(),
        ["x.example", "y.example"]
    );
    assert_eq!(
        subscriptions::rooms_for(&mut db, "x.example").unwrap(),
        ["!a:t", "!b:t"]
    );
    let listed = subscriptions::list(&mut db, Some("!b:t")).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].subscribed_by.as_str(), listed[0].subscribed_at),
        ("@v:t", at(2).timestamp_millis())
    );

    // The stream row lives while some room follows the domain.
    assert_eq!(
        subscriptions::remove(&mut db, "!a:t", "x.example").unwrap(),
        Removed::Unsubscribed { last: false }
    );
    assert!(streams::load(&mut db, "x.example").unwrap().is_some());
    assert_eq!(
        subscriptions::remove(&mut db, "!a:t", "x.example").unwrap(),
        Removed::NotSubscribed
    );
    assert_eq!(
        subscriptions::remove(&mut db, "!b:t", "x.example").unwrap(),
        Removed::Unsubscribed { last: true }
    );
    assert!(streams::load(&mut db, "x.example").unwrap().is_none());
}

async fn forgetting_a_room_drops_only_what_nobody_else_follows(backend: Backend) {
    let Some(test_db) = TestDb::new(backend) else {
        return;
    };
    let mut db = open(&test_db);
    for (room, domain) in [
        ("!gone:t", "shared.example"),
        ("!gone:t", "solo.example"),
        ("!stay:t", "shared.example"),
    ] {
        subscriptions::add(&mut db, room, domain, "@u:t", at(0), 10).unwrap();
    }
    assert_eq!(
        subscriptions::remove_room(&mut db, "!gone:t").unwrap(),
        ["solo.example"]
    );
    assert_eq!(subscriptions::domains(&mut db).unwrap(), ["shared.example"]);
    assert!(streams::load(&mut db, "solo.example").unwrap().is_none());
    assert!(
        subscriptions::list(&mut db, Some("!gone:t"))
            .unwrap()
            .is_empty()
    );
}

async fn a_batch_commits_state_and_fans_out_notifications(backend: Backend) {
    let Some(test_db) = TestDb::new(backend) else {
        return;
    };
    let mut db = open(&test_db);
    for room in ["!a:t", "!b:t"] {
        subscriptions::add(&mut db, room, "x.example", "@u:t", at(0), 10).unwrap();
    }
    let state = StreamState {
        observed: true,
        title: "Live now".into(),
        last_connect_time: Some(at(1)),
        last_notified: Some(at(1)),
        ..StreamState::default()
    };
    let queued = commit(
        &mut db,
        &[
            Write::Stream {
                domain: "x.example".into(),
                state: state.clone(),
            },
            Write::Announce(note("x.example", NotificationKind::GoLive)),
            // A write for a domain nobody follows creates nothing.
            Write::Stream {
                domain: "nobody.example".into(),
                state: state.clone(),
            },
        ],
        at(1),
    )
    .unwrap();
    assert_eq!(queued.len(), 2);
    assert_ne!(queued[0].txn_id, queued[1].txn_id);
    assert_eq!(streams::load(&mut db, "x.example").unwrap(), Some(state));
    assert!(streams::load(&mut db, "nobody.example").unwrap().is_none());

    // Pending until marked; each delivery once, in commit order.
    assert_eq!(outbox::pending(&mut db).unwrap(), queued);
    commit(
        &mut db,
        &[Write::Delivered {
            txn_id: queued[0].txn_id.clone(),
            event_id: Some("$e1".into()),
        }],
        at(2),
    )
    .unwrap();
    assert_eq!(outbox::pending(&mut db).unwrap(), queued[1..]);
    let rows = outbox::all(&mut db).unwrap();
    assert_eq!(rows[0].event_id.as_deref(), Some("$e1"));
    assert_eq!(rows[0].kind, "go_live");

    // Pruning keeps undelivered rows whatever their age.
    assert_eq!(outbox::prune(&mut db, at(60)).unwrap(), 1);
    assert_eq!(outbox::all(&mut db).unwrap().len(), 1);
}

async fn removal_tells_every_room_then_forgets_the_domain(backend: Backend) {
    let Some(test_db) = TestDb::new(backend) else {
        return;
    };
    let mut db = open(&test_db);
    for room in ["!a:t", "!b:t"] {
        subscriptions::add(&mut db, room, "dead.example", "@u:t", at(0), 10).unwrap();
    }
    let queued = commit(
        &mut db,
        &[Write::RemoveDomain(note(
            "dead.example",
            NotificationKind::Removed,
        ))],
        at(5),
    )
    .unwrap();
    let rooms: Vec<&str> = queued.iter().map(|d| d.room_id.as_str()).collect();
    assert_eq!(rooms, ["!a:t", "!b:t"]);
    assert!(subscriptions::domains(&mut db).unwrap().is_empty());
    // Removing again finds nobody to tell.
    let again = commit(
        &mut db,
        &[Write::RemoveDomain(note(
            "dead.example",
            NotificationKind::Removed,
        ))],
        at(6),
    )
    .unwrap();
    assert!(again.is_empty());
}

on_both_backends!(
    subscriptions_are_one_row_per_pair,
    forgetting_a_room_drops_only_what_nobody_else_follows,
    a_batch_commits_state_and_fans_out_notifications,
    removal_tells_every_room_then_forgets_the_domain,
);
