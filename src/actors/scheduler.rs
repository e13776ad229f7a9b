//! The scheduler owns the registry domain → stream actor and the poll clock.
//!
//! Polls are spread evenly over the poll interval: with `n` streams a tick every
//! `interval / n` (never faster than [`MIN_TICK`], then several streams per tick) goes to the
//! next stream in turn. A stream actor skips a tick while its own backoff runs. The registry
//! follows the database (subscriptions added by the operator tool appear within one interval)
//! and `Follow`/`Unfollow` for changes made by this process.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use tokio::sync::Semaphore;

use super::database::{DbExecutor, ListDomains};
use super::persistence::Persistence;
use super::stream::{Poll, StreamActor, StreamDeps};
use crate::logic::failure::FailurePolicy;
use crate::logic::stream_state::Cooldowns;
use crate::logic::target::StreamTarget;
use crate::owncast::OwncastClient;

/// The shortest gap between two ticks; more streams then share a tick.
pub const MIN_TICK: Duration = Duration::from_millis(10);

/// What the scheduler needs to build stream actors.
pub struct SchedulerConfig {
    pub client: OwncastClient,
    pub persistence: Addr<Persistence>,
    pub db: Addr<DbExecutor>,
    pub poll_interval: Duration,
    pub max_concurrent_requests: usize,
    pub cooldowns: Cooldowns,
    pub failures: FailurePolicy,
}

pub struct Scheduler {
    config: SchedulerConfig,
    permits: Arc<Semaphore>,
    streams: BTreeMap<String, Addr<StreamActor>>,
    /// The next stream in turn, by domain (stable while the registry changes).
    cursor: Option<String>,
    tick: Option<(SpawnHandle, Duration)>,
    stopped: bool,
}

/// The gap between ticks and how many streams each tick polls, for `n` streams: every stream
/// exactly once per interval, with ticks no closer than [`MIN_TICK`].
pub fn cadence(interval: Duration, n: usize) -> (Duration, usize) {
    if n == 0 {
        return (interval, 0);
    }
    let per_tick = (n as f64 * MIN_TICK.as_secs_f64() / interval.as_secs_f64())
        .ceil()
        .max(1.0);
    let gap = interval.mul_f64(per_tick / n as f64);
    (gap, per_tick as usize)
}

impl Scheduler {
    pub fn new(config: SchedulerConfig) -> Self {
        let permits = Arc::new(Semaphore::new(config.max_concurrent_requests));
        Self {
            config,
            permits,
            streams: BTreeMap::new(),
            cursor: None,
            tick: None,
            stopped: false,
        }
    }

    fn deps(&self, ctx: &Context<Self>) -> StreamDeps {
        StreamDeps {
            client: self.config.client.clone(),
            persistence: self.config.persistence.clone(),
            scheduler: ctx.address(),
            permits: self.permits.clone(),
            cooldowns: self.config.cooldowns,
            failures: self.config.failures,
        }
    }

    /// Starts an actor for `domain` unless one runs; returns it when newly started.
    fn follow(&mut self, domain: &str, ctx: &Context<Self>) -> Option<Addr<StreamActor>> {
        if self.streams.contains_key(domain) {
            return None;
        }
        let target = match StreamTarget::parse(domain) {
            Ok(target) => target,
            Err(error) => {
                tracing::error!(domain, %error, "stored domain is not a valid target; skipping");
                return None;
            }
        };
        let deps = self.deps(ctx);
        let addr = Supervisor::start(move |_| StreamActor::new(target, deps));
        self.streams.insert(domain.to_owned(), addr.clone());
        tracing::info!(domain, streams = self.streams.len(), "following");
        Some(addr)
    }

    fn unfollow(&mut self, domain: &str) {
        // Dropping the last address stops the actor for good (no restart).
        if self.streams.remove(domain).is_some() {
            tracing::info!(domain, streams = self.streams.len(), "no longer following");
        }
    }

    /// Re-arms the tick timer when the number of streams changes the cadence.
    fn retime(&mut self, ctx: &mut Context<Self>) {
        if self.stopped {
            return;
        }
        let (gap, _) = cadence(self.config.poll_interval, self.streams.len());
        if matches!(self.tick, Some((_, current)) if current == gap) {
            return;
        }
        if let Some((handle, _)) = self.tick.take() {
            ctx.cancel_future(handle);
        }
        let handle = ctx.run_interval(gap, |act, _| act.on_tick());
        self.tick = Some((handle, gap));
    }

    fn on_tick(&mut self) {
        let (_, per_tick) = cadence(self.config.poll_interval, self.streams.len());
        for _ in 0..per_tick {
            let next = match &self.cursor {
                Some(after) => self
                    .streams
                    .range::<str, _>((
                        std::ops::Bound::Excluded(after.as_str()),
                        std::ops::Bound::Unbounded,
                    ))
                    .next()
                    .or_else(|| self.streams.iter().next()),
                None => self.streams.iter().next(),
            };
            let Some((domain, addr)) = next else {
                return;
            };
            addr.do_send(Poll);
            self.cursor = Some(domain.clone());
        }
    }

    fn resync(&mut self, ctx: &mut Context<Self>) {
        self.config
            .db
            .send(ListDomains)
            .into_actor(self)
            .map(|result, act, ctx| match result {
                Ok(Ok(domains)) => act.apply_domains(domains, ctx),
                Ok(Err(error)) => tracing::error!(%error, "cannot list subscriptions"),
                Err(error) => tracing::error!(%error, "database actor unavailable"),
            })
            .wait(ctx);
    }

    fn apply_domains(&mut self, domains: Vec<String>, ctx: &mut Context<Self>) {
        let gone: Vec<String> = self
            .streams
            .keys()
            .filter(|d| domains.binary_search(d).is_err())
            .cloned()
            .collect();
        for domain in gone {
            self.unfollow(&domain);
        }
        for domain in &domains {
            self.follow(domain, ctx);
        }
        self.retime(ctx);
    }
}

impl Actor for Scheduler {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.resync(ctx);
        let interval = self.config.poll_interval;
        ctx.run_interval(interval, |act, ctx| {
            if !act.stopped {
                act.resync(ctx);
            }
        });
    }
}

/// Follow a domain now (a room subscribed through this process) and poll it at once.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Follow(pub String);

impl Handler<Follow> for Scheduler {
    type Result = ();

    fn handle(&mut self, msg: Follow, ctx: &mut Self::Context) {
        if self.stopped {
            return;
        }
        if let Some(addr) = self.follow(&msg.0, ctx) {
            addr.do_send(Poll);
        }
        self.retime(ctx);
    }
}

/// Stop following a domain (no room follows it any more, or it was removed).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Unfollow(pub String);

impl Handler<Unfollow> for Scheduler {
    type Result = ();

    fn handle(&mut self, msg: Unfollow, ctx: &mut Self::Context) {
        self.unfollow(&msg.0);
        self.retime(ctx);
    }
}

/// The stream actor of a domain, if followed.
#[derive(Debug, Message)]
#[rtype(result = "Option<Addr<StreamActor>>")]
pub struct Lookup(pub String);

impl Handler<Lookup> for Scheduler {
    type Result = Option<Addr<StreamActor>>;

    fn handle(&mut self, msg: Lookup, _: &mut Self::Context) -> Self::Result {
        self.streams.get(&msg.0).cloned()
    }
}

/// Stop polling (shutdown). Stream actors stay until the system stops.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct StopPolling;

impl Handler<StopPolling> for Scheduler {
    type Result = ();

    fn handle(&mut self, _: StopPolling, ctx: &mut Self::Context) {
        self.stopped = true;
        if let Some((handle, _)) = self.tick.take() {
            ctx.cancel_future(handle);
        }
        // Polls waiting for a permit give up instead of starting new requests.
        self.permits.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cadence_spreads_streams_over_the_interval() {
        let minute = Duration::from_secs(60);
        assert_eq!(cadence(minute, 0), (minute, 0));
        assert_eq!(cadence(minute, 1), (minute, 1));
        assert_eq!(cadence(minute, 60), (Duration::from_secs(1), 1));
        // 60 000 streams: 10 per tick at the 10 ms floor.
        assert_eq!(cadence(minute, 60_000), (MIN_TICK, 10));
        for n in [1, 7, 100, 300, 5_000, 6_001, 123_457] {
            for interval in [Duration::from_secs(2), minute, Duration::from_millis(100)] {
                let (gap, per_tick) = cadence(interval, n);
                assert!(gap >= MIN_TICK || per_tick == 1, "{n}: {gap:?}");
                // Streams polled per interval: n, up to rounding of the gap to nanoseconds.
                let per_interval = interval.as_secs_f64() / gap.as_secs_f64() * per_tick as f64;
                assert!(
                    (per_interval - n as f64).abs() < 0.01 * n as f64 + 1.0,
                    "{n} in {interval:?}: {per_interval}"
                );
            }
        }
    }
}
