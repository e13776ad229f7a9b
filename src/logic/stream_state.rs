//! The stream state machine of a single Owncast server (behaviour §3).
//!
//! [`observe`] is a pure function: from the stored state, one successful `/api/status` reading
//! and the current time it derives the next state and what, if anything, to announce. Failed
//! polls are handled by [`crate::logic::failure`]. Every timer that matters for a decision
//! (`offline_since`, `last_notified`) is part of [`StreamState`] and therefore persisted, so a
//! restart neither forgets a cooldown nor re-announces a live stream.

use chrono::{DateTime, TimeDelta, Utc};

use super::render::StreamLiveState;

/// Everything remembered about one stream between polls.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StreamState {
    /// At least one poll succeeded. Tracked explicitly: a server that never streamed reports
    /// both connect and disconnect time as null, which must not look like "never polled".
    pub observed: bool,
    pub name: String,
    pub title: String,
    pub last_connect_time: Option<DateTime<Utc>>,
    pub last_disconnect_time: Option<DateTime<Utc>>,
    /// Our clock when the stream was last seen going offline.
    pub offline_since: Option<DateTime<Utc>>,
    /// Our clock when a notification was last sent for this stream.
    pub last_notified: Option<DateTime<Utc>>,
    /// Consecutive failed polls; 0 when the last poll succeeded.
    pub failure_streak: u32,
    /// When the current failure streak began.
    pub first_failure_at: Option<DateTime<Utc>>,
    /// The rooms were already warned about the current failure streak.
    pub warned: bool,
}

impl StreamState {
    /// Live as far as users are concerned: connected, and not unreachable for too long.
    pub fn is_live(&self, now: DateTime<Utc>, stale_after: TimeDelta) -> bool {
        self.last_connect_time.is_some() && !self.is_stale(now, stale_after)
    }

    /// Unreachable for longer than `stale_after`: treated as offline.
    pub fn is_stale(&self, now: DateTime<Utc>, stale_after: TimeDelta) -> bool {
        self.first_failure_at
            .is_some_and(|since| now - since >= stale_after)
    }

    /// What `list` and the operator tool show.
    pub fn presence(&self, now: DateTime<Utc>, stale_after: TimeDelta) -> StreamLiveState {
        if !self.observed {
            StreamLiveState::Unknown
        } else if self.is_live(now, stale_after) {
            StreamLiveState::Live
        } else if self.is_stale(now, stale_after) {
            StreamLiveState::Unreachable
        } else {
            StreamLiveState::Offline
        }
    }
}

/// One successful `/api/status` reading, reduced to what the state machine needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    pub last_connect_time: Option<DateTime<Utc>>,
    pub last_disconnect_time: Option<DateTime<Utc>>,
    pub title: String,
}

/// The cooldowns of §3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cooldowns {
    /// At most one notification per stream within this window.
    pub notification: TimeDelta,
    /// A stream back within this window after going offline only announces a new title.
    pub temporary_offline: TimeDelta,
}

/// What a notification says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Announcement {
    GoLive,
    TitleChange,
}

/// Why a change was recorded without announcing anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quiet {
    /// First successful poll: record, never notify (even if already live).
    FirstObservation,
    /// Went offline.
    WentOffline,
    /// Back after a drop shorter than the temporary-offline cooldown, same title.
    BriefDrop,
    /// Recovered from failures without a change worth announcing.
    Recovered,
}

/// The outcome of one successful poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Nothing changed.
    Unchanged,
    /// The state changed; nobody is told.
    Recorded(Quiet),
    /// Tell every subscribed room.
    Announce(Announcement),
    /// Would announce, but the notification cooldown has not passed (logged, never queued).
    Suppressed(Announcement),
}

/// The next state and the decision that led to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub state: StreamState,
    pub decision: Decision,
}

impl Transition {
    /// Whether the state must be written (§3.5: only when something changed).
    pub fn changed(&self, old: &StreamState) -> bool {
        &self.state != old
    }
}

/// Applies one successful poll to the stored state.
pub fn observe(
    old: &StreamState,
    new: &Observation,
    now: DateTime<Utc>,
    cooldowns: Cooldowns,
) -> Transition {
    let mut state = old.clone();
    let recovering = old.failure_streak > 0;
    state.failure_streak = 0;
    state.first_failure_at = None;
    state.warned = false;

    if !old.observed {
        state.observed = true;
        record_status(&mut state, new);
        return Transition {
            state,
            decision: Decision::Recorded(Quiet::FirstObservation),
        };
    }

    // When polls were failing, the old session may have ended at any point since the first
    // failure; the earliest possible moment is the honest bound for the offline cooldown.
    let went_offline_at = match old.first_failure_at {
        Some(since) if recovering => since,
        _ => now,
    };

    let wanted = match (old.last_connect_time, new.last_connect_time) {
        (None, Some(_)) => {
            let wanted = go_live(old, new, now, cooldowns);
            record_status(&mut state, new);
            wanted
        }
        (Some(before), Some(after)) if before != after => {
            // A new session began without a poll ever seeing it offline.
            state.offline_since = Some(went_offline_at);
            let wanted = go_live(&state, new, now, cooldowns);
            record_status(&mut state, new);
            wanted
        }
        (Some(_), Some(_)) if old.title != new.title => {
            record_status(&mut state, new);
            // The seed's special case: a stream that dropped while its notification was held
            // back by the cooldown was never announced for this session, so a title change
            // now is its first news and reads as a go-live.
            if old.offline_since > old.last_notified {
                Wanted::Announce(Announcement::GoLive)
            } else {
                Wanted::Announce(Announcement::TitleChange)
            }
        }
        (Some(_), None) => {
            state.offline_since = Some(went_offline_at);
            record_status(&mut state, new);
            Wanted::Quiet(Quiet::WentOffline)
        }
        _ => Wanted::Quiet(Quiet::Recovered),
    };

    let decision = match wanted {
        Wanted::Quiet(Quiet::Recovered) if state == *old => Decision::Unchanged,
        Wanted::Quiet(quiet) => Decision::Recorded(quiet),
        Wanted::Announce(announcement) => {
            let cooling = old
                .last_notified
                .is_some_and(|at| now - at < cooldowns.notification);
            if cooling {
                Decision::Suppressed(announcement)
            } else {
                state.last_notified = Some(now);
                Decision::Announce(announcement)
            }
        }
    };
    Transition { state, decision }
}

/// What a branch of the machine asks for, before the notification cooldown has its say.
enum Wanted {
    Quiet(Quiet),
    Announce(Announcement),
}

/// The go-live branch (§3.2).
fn go_live(
    old: &StreamState,
    new: &Observation,
    now: DateTime<Utc>,
    cooldowns: Cooldowns,
) -> Wanted {
    let brief = old
        .offline_since
        .is_some_and(|since| now - since < cooldowns.temporary_offline);
    match (brief, old.title != new.title) {
        (true, true) => Wanted::Announce(Announcement::TitleChange),
        (true, false) => Wanted::Quiet(Quiet::BriefDrop),
        (false, _) => Wanted::Announce(Announcement::GoLive),
    }
}

fn record_status(state: &mut StreamState, new: &Observation) {
    state.title = new.title.clone();
    state.last_connect_time = new.last_connect_time;
    state.last_disconnect_time = new.last_disconnect_time;
}

#[cfg(test)]
mod tests;
