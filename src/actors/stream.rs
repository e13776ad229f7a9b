//! One actor per followed Owncast server. It owns that stream's state (as last decided) and
//! its poll timer (`next_poll_at`, pushed back by failures). The scheduler sends it `Poll`
//! ticks; it polls only when its backoff allows and no poll is already running.
//!
//! It is supervised: a panic anywhere in its work stops it, and the supervisor restarts it
//! from the latest state known to the persistence actor. The others never notice.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use chrono::{TimeDelta, Utc};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::panic_guard::{contain, contain_async};
use super::persistence::{LoadState, Persistence, Record};
use super::scheduler::{Scheduler, Unfollow};
use crate::logic::failure::{FailurePolicy, backoff_delay, on_failure};
use crate::logic::notification::{Notification, NotificationKind};
use crate::logic::stream_state::{
    Announcement, Cooldowns, Decision, Observation, Quiet, StreamState, Transition, observe,
};
use crate::logic::target::StreamTarget;
use crate::owncast::{OwncastClient, OwncastError, StreamConfig, StreamStatus};
use crate::storage::StorageError;
use crate::storage::batch::Write;

/// What every stream actor shares.
#[derive(Clone)]
pub struct StreamDeps {
    pub client: OwncastClient,
    pub persistence: Addr<Persistence>,
    pub scheduler: Addr<Scheduler>,
    /// Bounds concurrent HTTP requests across all streams.
    pub permits: Arc<Semaphore>,
    pub cooldowns: Cooldowns,
    pub failures: FailurePolicy,
}

pub struct StreamActor {
    target: StreamTarget,
    deps: StreamDeps,
    /// `None` until loaded (at start and after every restart).
    state: Option<StreamState>,
    next_poll_at: Instant,
    polling: bool,
    restarts: u32,
}

impl StreamActor {
    pub fn new(target: StreamTarget, deps: StreamDeps) -> Self {
        Self {
            target,
            deps,
            state: None,
            next_poll_at: Instant::now(),
            polling: false,
            restarts: 0,
        }
    }

    fn domain(&self) -> &str {
        self.target.key()
    }

    fn load(&mut self, ctx: &mut Context<Self>) {
        let request = self
            .deps
            .persistence
            .send(LoadState(self.domain().to_owned()));
        // `wait` holds back every other message until the state is in place.
        ctx.wait(request.into_actor(self).map(|result, act, ctx| {
            let result = result.unwrap_or_else(|e| Err(StorageError::Internal(e.to_string())));
            match result {
                Ok(Some(state)) => act.state = Some(state),
                Ok(None) => {
                    tracing::info!(domain = %act.target, "no longer followed; stopping");
                    act.deps
                        .scheduler
                        .do_send(Unfollow(act.domain().to_owned()));
                }
                Err(error) => {
                    tracing::error!(domain = %act.target, %error, "cannot load state; retrying");
                    ctx.run_later(Duration::from_secs(1), |act, ctx| act.load(ctx));
                }
            }
        }));
    }

    /// A poll finished: decide, record, and set the next poll time.
    fn finish(&mut self, outcome: PollOutcome) {
        let Some(old) = self.state.clone() else {
            return;
        };
        let mut writes = Vec::new();
        let state = match outcome {
            PollOutcome::Success(success) => {
                let PollSuccess {
                    transition,
                    status,
                    config,
                } = *success;
                self.next_poll_at = Instant::now();
                self.succeeded(&old, transition, &status, config, &mut writes)
            }
            PollOutcome::Failure(error) => match self.failed(&old, &error, &mut writes) {
                Some(state) => state,
                None => {
                    self.deps.persistence.do_send(Record(writes));
                    self.deps
                        .scheduler
                        .do_send(Unfollow(self.domain().to_owned()));
                    self.state = None;
                    return;
                }
            },
        };
        if state != old {
            writes.insert(
                0,
                Write::Stream {
                    domain: self.domain().to_owned(),
                    state: state.clone(),
                },
            );
        }
        if !writes.is_empty() {
            self.deps.persistence.do_send(Record(writes));
        }
        self.state = Some(state);
    }

    /// A failed poll (§4): back off, and warn or remove once unreachable long enough.
    /// Returns `None` when the stream was removed.
    fn failed(
        &mut self,
        old: &StreamState,
        error: &OwncastError,
        writes: &mut Vec<Write>,
    ) -> Option<StreamState> {
        let now = Utc::now();
        let out = on_failure(old, now, &self.deps.failures);
        let streak = out.state.failure_streak;
        let delay = backoff_delay(streak, &self.deps.failures, fastrand::f64());
        self.next_poll_at = Instant::now() + delay;
        let down_for = out
            .state
            .first_failure_at
            .map(|t| now - t)
            .unwrap_or_default();
        tracing::warn!(
            domain = %self.target,
            %error,
            streak,
            down_for = %human(down_for),
            retry_in_ms = delay.as_millis(),
            "poll failed"
        );
        if out.stale {
            tracing::warn!(domain = %self.target, "unreachable too long: treated as offline (stale)");
        }
        if out.warn {
            tracing::warn!(domain = %self.target, "unreachable for a long time: warning the rooms");
            writes.push(Write::Announce(
                self.notice(&out.state, NotificationKind::UnreachableWarning),
            ));
        }
        if out.remove {
            tracing::warn!(domain = %self.target, "unreachable too long: removing its subscriptions");
            writes.push(Write::RemoveDomain(
                self.notice(&out.state, NotificationKind::Removed),
            ));
            return None;
        }
        Some(out.state)
    }

    fn succeeded(
        &self,
        old: &StreamState,
        transition: Transition,
        status: &StreamStatus,
        config: Option<Result<StreamConfig, OwncastError>>,
        writes: &mut Vec<Write>,
    ) -> StreamState {
        let mut state = transition.state;
        let (name, tags) = match config {
            Some(Ok(config)) => {
                state.name = config.name.clone();
                (config.name, config.tags)
            }
            Some(Err(error)) => {
                // A config failure never blocks a notification (§3.8).
                tracing::warn!(domain = %self.target, %error, "config fetch failed; using fallbacks");
                (String::new(), Vec::new())
            }
            None => (state.name.clone(), Vec::new()),
        };
        let title = &status.title;
        match transition.decision {
            Decision::Announce(announcement) => {
                let kind = match announcement {
                    Announcement::GoLive => NotificationKind::GoLive,
                    Announcement::TitleChange => NotificationKind::TitleChange,
                };
                tracing::info!(domain = %self.target, kind = kind.as_str(), %title, "announcing");
                let url = self.target.base_url();
                writes.push(Write::Announce(Notification::new(
                    kind,
                    self.domain(),
                    url.as_str(),
                    &name,
                    title,
                    &tags,
                )));
            }
            Decision::Suppressed(announcement) => {
                let last = old.last_notified.map(|t| human(Utc::now() - t));
                tracing::info!(domain = %self.target, ?announcement, last_notified = ?last, "within the notification cooldown; not announcing");
            }
            Decision::Recorded(Quiet::BriefDrop) => {
                tracing::info!(domain = %self.target, "back after a brief drop with the same title; not announcing");
            }
            Decision::Recorded(quiet) => {
                tracing::info!(domain = %self.target, ?quiet, live = status.is_live(), "state recorded");
            }
            Decision::Unchanged => {
                tracing::debug!(domain = %self.target, "unchanged");
            }
        }
        state
    }

    fn notice(&self, state: &StreamState, kind: NotificationKind) -> Notification {
        let url = self.target.base_url();
        Notification::new(
            kind,
            self.domain(),
            url.as_str(),
            &state.name,
            &state.title,
            &[],
        )
    }
}

fn human(delta: TimeDelta) -> String {
    let secs = delta.num_seconds().max(0).unsigned_abs();
    humantime::format_duration(Duration::from_secs(secs)).to_string()
}

fn observation(status: &StreamStatus) -> Observation {
    Observation {
        last_connect_time: status.last_connect_time,
        last_disconnect_time: status.last_disconnect_time,
        title: status.title.clone(),
    }
}

struct PollSuccess {
    transition: Transition,
    status: StreamStatus,
    /// Fetched only when a notification or a first look needs the name and tags.
    config: Option<Result<StreamConfig, OwncastError>>,
}

enum PollOutcome {
    Success(Box<PollSuccess>),
    Failure(OwncastError),
}

impl Actor for StreamActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.load(ctx);
    }
}

impl Supervised for StreamActor {
    fn restarting(&mut self, _: &mut Self::Context) {
        self.restarts += 1;
        tracing::warn!(domain = %self.target, restarts = self.restarts, "restarting stream actor");
        // Futures and timers were dropped with the old context; reload what was decided.
        self.state = None;
        self.polling = false;
    }
}

/// A tick from the scheduler: poll now unless backing off or already polling.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Poll;

impl Handler<Poll> for StreamActor {
    type Result = ();

    fn handle(&mut self, _: Poll, ctx: &mut Self::Context) {
        if self.polling || Instant::now() < self.next_poll_at {
            return;
        }
        let Some(old) = self.state.clone() else {
            return;
        };
        self.polling = true;
        let client = self.deps.client.clone();
        let permits = self.deps.permits.clone();
        let target = self.target.clone();
        let cooldowns = self.deps.cooldowns;
        let work = async move {
            let Ok(_permit) = permits.acquire_owned().await else {
                return PollOutcome::Failure(OwncastError::Request("shutting down".into()));
            };
            let status = match client.status(&target).await {
                Ok(status) => status,
                Err(error) => return PollOutcome::Failure(error),
            };
            let transition = observe(&old, &observation(&status), Utc::now(), cooldowns);
            let wants_config = matches!(
                transition.decision,
                Decision::Announce(_) | Decision::Recorded(Quiet::FirstObservation)
            );
            let config = if wants_config {
                Some(client.config(&target).await)
            } else {
                None
            };
            PollOutcome::Success(Box::new(PollSuccess {
                transition,
                status,
                config,
            }))
        };
        let what = format!("poll of {}", self.target);
        async move { contain_async(&what, work).await }
            .into_actor(self)
            .map(|outcome, act, ctx| {
                act.polling = false;
                let what = format!("stream actor {}", act.target);
                let finished = outcome.and_then(|outcome| contain(&what, || act.finish(outcome)));
                if finished.is_none() {
                    ctx.stop();
                }
            })
            .spawn(ctx);
    }
}

/// Makes the actor panic inside its guarded section, as a bug would. Used to check that a
/// panic restarts only this actor; harmless in production (the actor restarts from its state).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Crash;

impl Handler<Crash> for StreamActor {
    type Result = ();

    fn handle(&mut self, _: Crash, ctx: &mut Self::Context) {
        let what = format!("stream actor {}", self.target);
        if contain::<()>(&what, || panic!("injected panic")).is_none() {
            ctx.stop();
        }
    }
}

/// How many times this actor has been restarted.
#[derive(Debug, Message)]
#[rtype(result = "u32")]
pub struct Restarts;

impl Handler<Restarts> for StreamActor {
    type Result = u32;

    fn handle(&mut self, _: Restarts, _: &mut Self::Context) -> u32 {
        self.restarts
    }
}
