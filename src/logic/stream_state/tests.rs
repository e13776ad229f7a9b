use super::*;
use chrono::TimeZone;

fn at(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap() + TimeDelta::minutes(minute)
}

const COOLDOWNS: Cooldowns = Cooldowns {
    notification: TimeDelta::minutes(20),
    temporary_offline: TimeDelta::minutes(5),
};

fn live(session: i64, title: &str) -> Observation {
    Observation {
        last_connect_time: Some(at(session)),
        last_disconnect_time: None,
        title: title.into(),
    }
}

fn offline(since: i64, title: &str) -> Observation {
    Observation {
        last_connect_time: None,
        last_disconnect_time: Some(at(since)),
        title: title.into(),
    }
}

fn never_streamed() -> Observation {
    Observation {
        last_connect_time: None,
        last_disconnect_time: None,
        title: String::new(),
    }
}

/// Feeds observations in order, returning every decision and the final state.
fn run(start: StreamState, steps: &[(i64, Observation)]) -> (Vec<Decision>, StreamState) {
    let mut state = start;
    let mut decisions = Vec::new();
    for (minute, obs) in steps {
        let t = observe(&state, obs, at(*minute), COOLDOWNS);
        decisions.push(t.decision);
        state = t.state;
    }
    (decisions, state)
}

fn observed_offline() -> StreamState {
    run(StreamState::default(), &[(0, offline(-600, "old"))]).1
}

use Announcement::*;
use Decision::*;

#[test]
fn first_observation_while_live_is_silent() {
    let t = observe(&StreamState::default(), &live(-3, "hi"), at(0), COOLDOWNS);
    assert_eq!(t.decision, Recorded(Quiet::FirstObservation));
    assert!(t.state.observed);
    assert_eq!(t.state.last_connect_time, Some(at(-3)));
    assert_eq!(t.state.last_notified, None);
}

#[test]
fn server_that_never_streamed_announces_its_first_go_live() {
    // The seed keyed "first update" on both times being null, which is also what a server that
    // has never streamed reports; its first go-live must still be announced.
    let (decisions, _) = run(
        StreamState::default(),
        &[
            (0, never_streamed()),
            (1, never_streamed()),
            (2, live(2, "first")),
        ],
    );
    assert_eq!(
        decisions,
        vec![
            Recorded(Quiet::FirstObservation),
            Unchanged,
            Announce(GoLive)
        ]
    );
}

#[test]
fn goes_live_after_a_long_offline_period() {
    let (decisions, state) = run(observed_offline(), &[(1, live(1, "new show"))]);
    assert_eq!(decisions, vec![Announce(GoLive)]);
    assert_eq!(state.last_notified, Some(at(1)));
    assert_eq!(state.title, "new show");
}

#[test]
fn repeated_polls_of_the_same_status_change_nothing() {
    let (decisions, _) = run(
        observed_offline(),
        &[(1, live(1, "t")), (2, live(1, "t")), (3, live(1, "t"))],
    );
    assert_eq!(decisions, vec![Announce(GoLive), Unchanged, Unchanged]);
    let (decisions, _) = run(observed_offline(), &[(1, offline(-600, "old"))]);
    assert_eq!(decisions, vec![Unchanged]);
}

#[test]
fn going_offline_records_the_time() {
    let (decisions, state) = run(
        observed_offline(),
        &[(1, live(1, "t")), (30, offline(30, "t"))],
    );
    assert_eq!(
        decisions,
        vec![Announce(GoLive), Recorded(Quiet::WentOffline)]
    );
    assert_eq!(state.offline_since, Some(at(30)));
    assert_eq!(state.last_connect_time, None);
    assert_eq!(state.last_disconnect_time, Some(at(30)));
}

#[test]
fn brief_drop_with_the_same_title_is_silent() {
    let (decisions, _) = run(
        observed_offline(),
        &[
            (1, live(1, "t")),
            (30, offline(30, "t")),
            (33, live(33, "t")),
        ],
    );
    assert_eq!(decisions[2], Recorded(Quiet::BriefDrop));
}

#[test]
fn brief_drop_with_a_new_title_announces_the_title_change() {
    let (decisions, state) = run(
        observed_offline(),
        &[
            (1, live(1, "t")),
            (30, offline(30, "t")),
            (33, live(33, "part two")),
        ],
    );
    assert_eq!(decisions[2], Announce(TitleChange));
    assert_eq!(state.last_notified, Some(at(33)));
}

#[test]
fn drop_longer_than_the_temporary_cooldown_is_a_new_go_live() {
    let (decisions, _) = run(
        observed_offline(),
        &[
            (1, live(1, "t")),
            (30, offline(30, "t")),
            (35, live(35, "t")),
        ],
    );
    assert_eq!(decisions[2], Announce(GoLive));
}

#[test]
fn title_change_mid_session() {
    let (decisions, state) = run(
        observed_offline(),
        &[(1, live(1, "t")), (25, live(1, "t2"))],
    );
    assert_eq!(decisions[1], Announce(TitleChange));
    assert_eq!(state.title, "t2");
}

#[test]
fn title_change_inside_the_notification_cooldown_is_suppressed_but_recorded() {
    let (decisions, state) = run(
        observed_offline(),
        &[(1, live(1, "t")), (5, live(1, "t2")), (6, live(1, "t2"))],
    );
    assert_eq!(decisions[1..], [Suppressed(TitleChange), Unchanged]);
    assert_eq!(state.title, "t2");
    assert_eq!(
        state.last_notified,
        Some(at(1)),
        "suppression keeps the clock"
    );
}

#[test]
fn title_change_after_a_rate_limited_drop_reads_as_go_live() {
    // Live at 1 (announced), offline at 10, back at 16: a new go-live, but held back by the
    // 20-minute cooldown. The title change at 25 is the first news of this session.
    let (decisions, _) = run(
        observed_offline(),
        &[
            (1, live(1, "t")),
            (10, offline(10, "t")),
            (16, live(16, "t")),
            (25, live(16, "t2")),
        ],
    );
    assert_eq!(
        decisions,
        vec![
            Announce(GoLive),
            Recorded(Quiet::WentOffline),
            Suppressed(GoLive),
            Announce(GoLive),
        ]
    );
}

#[test]
fn title_change_after_an_announced_go_live_stays_a_title_change() {
    let (decisions, _) = run(
        observed_offline(),
        &[
            (1, live(1, "t")),
            (10, offline(10, "t")),
            (40, live(40, "t")),
            (70, live(40, "t2")),
        ],
    );
    assert_eq!(decisions[2..], [Announce(GoLive), Announce(TitleChange)]);
}

#[test]
fn go_live_inside_the_notification_cooldown_is_suppressed() {
    let (decisions, state) = run(
        observed_offline(),
        &[(1, live(1, "t")), (3, offline(3, "t")), (10, live(10, "t"))],
    );
    assert_eq!(decisions[2], Suppressed(GoLive));
    assert_eq!(state.last_notified, Some(at(1)));
}

#[test]
fn reconnect_between_two_polls_is_a_brief_drop() {
    let (decisions, _) = run(
        observed_offline(),
        &[
            (1, live(1, "t")),
            (30, live(30, "t")),
            (60, live(59, "other")),
        ],
    );
    assert_eq!(
        decisions[1..],
        [Recorded(Quiet::BriefDrop), Announce(TitleChange)]
    );
}

#[test]
fn offline_title_edits_are_compared_when_the_stream_returns() {
    // The title is not recorded while offline, so a brief drop during which the title was
    // edited still reads as a title change.
    let (decisions, _) = run(
        observed_offline(),
        &[
            (1, live(1, "t")),
            (30, offline(30, "t")),
            (31, offline(30, "edited")),
            (32, live(32, "edited")),
        ],
    );
    assert_eq!(decisions[2..], [Unchanged, Announce(TitleChange)]);
}

#[test]
fn recovery_into_the_same_session_is_not_re_announced() {
    let mut state = run(observed_offline(), &[(1, live(1, "t"))]).1;
    state.failure_streak = 7;
    state.first_failure_at = Some(at(5));
    state.warned = true;
    let t = observe(&state, &live(1, "t"), at(90), COOLDOWNS);
    assert_eq!(t.decision, Recorded(Quiet::Recovered));
    assert_eq!(t.state.failure_streak, 0);
    assert_eq!(t.state.first_failure_at, None);
    assert!(!t.state.warned);
}

#[test]
fn recovery_into_a_new_session_counts_the_outage_as_offline_time() {
    let mut state = run(observed_offline(), &[(1, live(1, "t"))]).1;
    state.failure_streak = 3;
    state.first_failure_at = Some(at(10));
    let t = observe(&state, &live(80, "t"), at(90), COOLDOWNS);
    assert_eq!(t.decision, Announce(GoLive));
    assert_eq!(t.state.offline_since, Some(at(10)));
}

#[test]
fn staleness_hides_a_live_stream() {
    let mut state = run(observed_offline(), &[(1, live(1, "t"))]).1;
    let stale_after = TimeDelta::minutes(10);
    assert!(state.is_live(at(2), stale_after));
    state.failure_streak = 2;
    state.first_failure_at = Some(at(3));
    assert!(state.is_live(at(12), stale_after));
    assert!(!state.is_live(at(13), stale_after));
    assert!(state.is_stale(at(13), stale_after));
}
