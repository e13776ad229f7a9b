//! The per-poll hot path: parsing an `/api/status` body and running the state machine on it.
//! Each is measured beside a baseline doing the least work of the same kind (a generic JSON
//! parse; a state clone), so the ratio holds on noisy machines.

use chrono::{TimeDelta, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use owncast_sentry::logic::stream_state::{Cooldowns, Observation, StreamState, observe};
use owncast_sentry::owncast::StreamStatus;
use std::hint::black_box;

const LIVE: &[u8] = br#"{"serverTime":"2025-06-01T12:00:00.123456789Z","lastConnectTime":"2025-06-01T11:00:00Z","lastDisconnectTime":null,"versionNumber":"0.2.3","streamTitle":"Building a poller","viewerCount":12,"online":true}
"#;

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("status_body");
    group.bench_function("baseline_serde_json_value", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(LIVE)).unwrap())
    });
    group.bench_function("StreamStatus::parse", |b| {
        b.iter(|| StreamStatus::parse(black_box(LIVE)).unwrap())
    });
    group.finish();
}

fn transition(c: &mut Criterion) {
    let status = StreamStatus::parse(LIVE).unwrap();
    let observation = Observation {
        last_connect_time: status.last_connect_time,
        last_disconnect_time: status.last_disconnect_time,
        title: status.title.clone(),
    };
    let now = Utc::now();
    let cooldowns = Cooldowns {
        notification: TimeDelta::minutes(20),
        temporary_offline: TimeDelta::minutes(5),
    };
    // The common case: a live stream polled again with nothing new.
    let state = StreamState {
        observed: true,
        name: "Stream".into(),
        title: observation.title.clone(),
        last_connect_time: observation.last_connect_time,
        last_notified: Some(now - TimeDelta::hours(1)),
        ..StreamState::default()
    };
    let mut group = c.benchmark_group("state_machine");
    group.bench_function("baseline_state_clone", |b| {
        b.iter(|| black_box(&state).clone())
    });
    group.bench_function("observe_unchanged", |b| {
        b.iter(|| observe(black_box(&state), black_box(&observation), now, cooldowns))
    });
    group.finish();
}

criterion_group!(benches, parse, transition);
criterion_main!(benches);
