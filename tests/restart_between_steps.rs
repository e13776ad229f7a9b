//! Every branch of the state machine gives the same decisions when the daemon restarts between
//! any two polls: the state (with its timers) is written to the database and read back before
//! each step. Runs on SQLite and, with `TEST_POSTGRES_URL`, on PostgreSQL.

mod support;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use owncast_sentry::logic::stream_state::{Cooldowns, Decision, Observation, StreamState, observe};
use owncast_sentry::storage::batch::{Write, commit};
use owncast_sentry::storage::{self, Database, streams, subscriptions};
use support::db::{Backend, TestDb};

const COOLDOWNS: Cooldowns = Cooldowns {
    notification: TimeDelta::minutes(20),
    temporary_offline: TimeDelta::minutes(5),
};

fn at(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap() + TimeDelta::minutes(minute)
}

fn live(session: i64, title: &str) -> Observation {
    Observation {
        last_connect_time: Some(at(session)),
        last_disconnect_time: None,
        title: title.into(),
    }
}

fn offline(since: i64) -> Observation {
    Observation {
        last_connect_time: None,
        last_disconnect_time: Some(at(since)),
        title: "t".into(),
    }
}

/// Named sequences of (minute, observation) covering each branch of §3.
fn scenarios() -> Vec<(&'static str, Vec<(i64, Observation)>)> {
    vec![
        (
            "first observation while live",
            vec![(0, live(-5, "t")), (1, live(-5, "t"))],
        ),
        (
            "go-live",
            vec![(0, offline(-99)), (1, live(1, "t")), (2, live(1, "t"))],
        ),
        (
            "brief drop, same title",
            vec![
                (0, offline(-99)),
                (1, live(1, "t")),
                (30, offline(30)),
                (32, live(32, "t")),
            ],
        ),
        (
            "brief drop, new title",
            vec![
                (0, offline(-99)),
                (1, live(1, "t")),
                (30, offline(30)),
                (32, live(32, "new")),
            ],
        ),
        (
            "title change mid-session",
            vec![(0, offline(-99)), (1, live(1, "t")), (40, live(1, "t2"))],
        ),
        (
            "title change after a rate-limited drop",
            vec![
                (0, offline(-99)),
                (1, live(1, "t")),
                (10, offline(10)),
                (16, live(16, "t")),
                (25, live(16, "t2")),
            ],
        ),
        (
            "notification cooldown",
            vec![
                (0, offline(-99)),
                (1, live(1, "t")),
                (3, offline(3)),
                (10, live(10, "t")),
            ],
        ),
        (
            "offline",
            vec![(0, live(-9, "t")), (5, offline(5)), (6, offline(5))],
        ),
    ]
}

fn reload(db: &mut Database, domain: &str, state: &StreamState, now: DateTime<Utc>) -> StreamState {
    let write = Write::Stream {
        domain: domain.into(),
        state: state.clone(),
    };
    commit(db, &[write], now).unwrap();
    streams::load(db, domain).unwrap().expect("stream row")
}

async fn decisions_survive_restarts(backend: Backend) {
    let Some(test_db) = TestDb::new(backend) else {
        return;
    };
    let mut db = storage::connect(&test_db.url).unwrap();
    for (i, (name, steps)) in scenarios().into_iter().enumerate() {
        let domain = format!("s{i}.example");
        subscriptions::add(&mut db, "!r:t", &domain, "t", at(0), 100).unwrap();

        let mut uninterrupted = (StreamState::default(), Vec::<Decision>::new());
        let mut restarted = (StreamState::default(), Vec::<Decision>::new());
        for (minute, obs) in &steps {
            let t = observe(&uninterrupted.0, obs, at(*minute), COOLDOWNS);
            uninterrupted.1.push(t.decision);
            uninterrupted.0 = t.state;

            let loaded = reload(&mut db, &domain, &restarted.0, at(*minute));
            assert_eq!(
                loaded, restarted.0,
                "{name}: state changed across a restart"
            );
            let t = observe(&loaded, obs, at(*minute), COOLDOWNS);
            restarted.1.push(t.decision);
            restarted.0 = t.state;
        }
        assert_eq!(restarted.1, uninterrupted.1, "{name}");
        assert_eq!(restarted.0, uninterrupted.0, "{name}");
    }
}

#[tokio::test]
async fn sqlite() {
    decisions_survive_restarts(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres() {
    decisions_survive_restarts(Backend::Postgres).await;
}
