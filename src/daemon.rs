//! Wiring: builds the actor system for `run`, and takes it down gracefully.

use std::time::Duration;

use actix::prelude::*;
use chrono::TimeDelta;

use crate::actors::database::{DbExecutor, PendingDeliveries};
use crate::actors::persistence::{BatchLimits, Flush, Persistence};
use crate::actors::scheduler::{Scheduler, SchedulerConfig, StopPolling};
use crate::actors::{Deliver, Drain};
use crate::logic::failure::FailurePolicy;
use crate::logic::stream_state::Cooldowns;
use crate::owncast::{ClientSettings, OwncastClient, OwncastError};
use crate::settings::Settings;
use crate::storage::{self, StorageError};

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("Owncast client: {0}")]
    Client(#[from] OwncastError),
    #[error("{0}")]
    Notifier(String),
}

/// How the daemon reaches the notifier it was given.
#[derive(Clone)]
pub struct NotifierHandles {
    pub deliver: Recipient<Deliver>,
    pub drain: Recipient<Drain>,
}

/// The running actor system.
pub struct Daemon {
    pub scheduler: Addr<Scheduler>,
    pub persistence: Addr<Persistence>,
    pub db: Addr<DbExecutor>,
    pub client: OwncastClient,
    notifier: NotifierHandles,
}

pub fn client_settings(settings: &Settings) -> ClientSettings {
    ClientSettings {
        request_timeout: settings.owncast.request_timeout,
        user_agent: settings.owncast.user_agent.clone(),
        proxy: settings.owncast.proxy.clone(),
        allow_private_addresses: settings.owncast.allow_private_addresses,
    }
}

pub fn cooldowns(settings: &Settings) -> Cooldowns {
    Cooldowns {
        notification: delta(settings.notifications.cooldown),
        temporary_offline: delta(settings.notifications.temporary_offline_cooldown),
    }
}

pub fn failure_policy(settings: &Settings) -> FailurePolicy {
    FailurePolicy {
        poll_interval: settings.owncast.poll_interval,
        max_backoff: settings.failures.max_backoff,
        stale_after: delta(settings.failures.stale_after),
        warn_after: delta(settings.failures.warn_after),
        remove_after: delta(settings.failures.remove_after),
    }
}

/// A configured duration as a time difference (saturating: "100 years" stays huge).
pub fn delta(duration: Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}

impl Daemon {
    /// Opens the database (running migrations), starts every actor, and re-sends notifications
    /// left undelivered by the previous run. Must run inside an actix `System`.
    ///
    /// `notifier` builds the notifier given the persistence actor it reports deliveries to.
    pub async fn start(
        settings: &Settings,
        notifier: impl FnOnce(Addr<Persistence>) -> NotifierHandles,
    ) -> Result<Daemon, DaemonError> {
        let url = settings.database.url.clone();
        let first = {
            let url = url.clone();
            tokio::task::spawn_blocking(move || storage::connect(&url))
                .await
                .map_err(|e| StorageError::Internal(e.to_string()))??
        };
        let db = SyncArbiter::start(1, DbExecutor::factory(url, first));
        let client = OwncastClient::new(&client_settings(settings))?;

        let mut handles = None;
        let persistence = Persistence::create(|ctx| {
            let made = notifier(ctx.address());
            let deliver = made.deliver.clone();
            handles = Some(made);
            Persistence::new(db.clone(), deliver, BatchLimits::default())
        });
        let notifier = handles.ok_or_else(|| DaemonError::Notifier("no notifier".into()))?;

        let pending = db
            .send(PendingDeliveries)
            .await
            .map_err(|e| StorageError::Internal(e.to_string()))??;
        if !pending.is_empty() {
            tracing::info!(
                count = pending.len(),
                "re-sending undelivered notifications"
            );
            notifier.deliver.do_send(Deliver(pending));
        }

        let scheduler = Scheduler::new(SchedulerConfig {
            client: client.clone(),
            persistence: persistence.clone(),
            db: db.clone(),
            poll_interval: settings.owncast.poll_interval,
            max_concurrent_requests: settings.owncast.max_concurrent_requests,
            cooldowns: cooldowns(settings),
            failures: failure_policy(settings),
        })
        .start();

        Ok(Daemon {
            scheduler,
            persistence,
            db,
            client,
            notifier,
        })
    }

    /// Stops polling, commits every pending write and lets the notifier finish what it was
    /// given. Gives up after `grace` (a database that stays down must not hang the exit).
    pub async fn shutdown(&self, grace: Duration) {
        let steps = async {
            let _ = self.scheduler.send(StopPolling).await;
            let _ = self.persistence.send(Flush).await;
            let _ = self.notifier.drain.send(Drain).await;
            // Deliveries made while draining are recorded as delivered.
            let _ = self.persistence.send(Flush).await;
        };
        if tokio::time::timeout(grace, steps).await.is_err() {
            tracing::error!("shutdown did not finish within {grace:?}; exiting anyway");
        }
    }
}
