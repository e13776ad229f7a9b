//! Unreachable servers (behaviour §4): failure streaks, backoff, staleness, warning, removal.

use chrono::{DateTime, TimeDelta, Utc};
use std::time::Duration;

use super::stream_state::StreamState;

/// Thresholds for unreachable servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailurePolicy {
    pub poll_interval: Duration,
    pub max_backoff: Duration,
    pub stale_after: TimeDelta,
    pub warn_after: TimeDelta,
    pub remove_after: TimeDelta,
}

/// What a failed poll leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureOutcome {
    pub state: StreamState,
    /// A live stream has been unreachable for longer than `stale_after`: shown as offline.
    pub stale: bool,
    /// Tell every subscribed room, once per streak.
    pub warn: bool,
    /// Remove every subscription and tell the rooms.
    pub remove: bool,
}

/// Applies one failed poll.
pub fn on_failure(old: &StreamState, now: DateTime<Utc>, policy: &FailurePolicy) -> FailureOutcome {
    let mut state = old.clone();
    state.failure_streak = old.failure_streak.saturating_add(1);
    let since = *state.first_failure_at.get_or_insert(now);
    let down_for = now - since;

    let stale = state.last_connect_time.is_some() && down_for >= policy.stale_after;

    let warn = !old.warned && down_for >= policy.warn_after;
    state.warned |= warn;
    let remove = down_for >= policy.remove_after;

    FailureOutcome {
        state,
        stale,
        warn,
        remove,
    }
}

/// Delay before the next poll after `streak` consecutive failures: doubling from the poll
/// interval, capped at `max_backoff`, and spread by `jitter` (a sample from `[0, 1)`) over the
/// upper half of the window so that servers that failed together do not return together.
pub fn backoff_delay(streak: u32, policy: &FailurePolicy, jitter: f64) -> Duration {
    if streak == 0 {
        return policy.poll_interval;
    }
    let doublings = streak.min(31);
    let window = policy
        .poll_interval
        .saturating_mul(1u32 << doublings.min(20))
        .min(policy.max_backoff)
        .max(policy.poll_interval);
    let spread = window.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0));
    spread.max(policy.poll_interval)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(minute: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + TimeDelta::minutes(minute)
    }

    fn policy() -> FailurePolicy {
        FailurePolicy {
            poll_interval: Duration::from_secs(60),
            max_backoff: Duration::from_secs(3600),
            stale_after: TimeDelta::minutes(10),
            warn_after: TimeDelta::days(1),
            remove_after: TimeDelta::days(7),
        }
    }

    fn live_state() -> StreamState {
        StreamState {
            observed: true,
            last_connect_time: Some(at(-30)),
            ..StreamState::default()
        }
    }

    #[test]
    fn streak_counts_and_remembers_its_start() {
        let first = on_failure(&live_state(), at(0), &policy());
        assert_eq!(first.state.failure_streak, 1);
        assert_eq!(first.state.first_failure_at, Some(at(0)));
        let second = on_failure(&first.state, at(1), &policy());
        assert_eq!(second.state.failure_streak, 2);
        assert_eq!(second.state.first_failure_at, Some(at(0)));
        assert!(!second.stale && !second.warn && !second.remove);
    }

    #[test]
    fn becomes_stale_after_stale_after() {
        let mut state = live_state();
        let mut stale = Vec::new();
        for minute in [0, 5, 9, 10, 20] {
            let out = on_failure(&state, at(minute), &policy());
            stale.push(out.stale);
            state = out.state;
        }
        assert_eq!(stale, vec![false, false, false, true, true]);
    }

    #[test]
    fn an_offline_stream_never_becomes_stale() {
        let state = StreamState {
            observed: true,
            ..StreamState::default()
        };
        let first = on_failure(&state, at(0), &policy());
        let later = on_failure(&first.state, at(30), &policy());
        assert!(!later.stale);
    }

    #[test]
    fn warns_once_then_removes() {
        let mut state = live_state();
        let mut warns = 0;
        let mut removed_at = None;
        for hour in 0..=24 * 8 {
            let out = on_failure(&state, at(hour * 60), &policy());
            warns += usize::from(out.warn);
            if out.remove && removed_at.is_none() {
                removed_at = Some(hour);
            }
            state = out.state;
        }
        assert_eq!(warns, 1);
        assert_eq!(removed_at, Some(24 * 7));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_never_undercuts_the_interval() {
        let p = policy();
        assert_eq!(backoff_delay(0, &p, 0.3), Duration::from_secs(60));
        // Top of the jitter range shows the window itself.
        let windows: Vec<u64> = (1..=8)
            .map(|streak| backoff_delay(streak, &p, 1.0).as_secs())
            .collect();
        assert_eq!(windows, vec![120, 240, 480, 960, 1920, 3600, 3600, 3600]);
        for streak in 0..100 {
            for jitter in [0.0, 0.25, 0.999] {
                let d = backoff_delay(streak, &p, jitter);
                assert!(
                    d >= p.poll_interval && d <= p.max_backoff,
                    "{streak} {jitter} {d:?}"
                );
            }
        }
        assert_eq!(backoff_delay(3, &p, 0.0), Duration::from_secs(240));
    }
}
