//! Starting the daemon with the Matrix notifier: log in, catch up, start the actors, then
//! follow the sync stream for commands and invites.

use std::time::Duration;

use actix::prelude::*;
use tokio::task::JoinHandle;

use super::actor::{AttachCommands, MatrixActor, MatrixOptions};
use super::commands::CommandDeps;
use super::{MatrixError, session, sync};
use crate::daemon::{Daemon, DaemonError, NotifierHandles, delta};
use crate::settings::Settings;

#[derive(Debug, thiserror::Error)]
pub enum BotError {
    #[error(transparent)]
    Matrix(#[from] MatrixError),
    #[error(transparent)]
    Daemon(#[from] DaemonError),
    #[error("no [matrix] section in the configuration")]
    NotConfigured,
}

/// The daemon with its Matrix side.
pub struct Bot {
    pub daemon: Daemon,
    pub actor: Addr<MatrixActor>,
    sync: JoinHandle<()>,
}

impl Bot {
    pub async fn start(settings: &Settings) -> Result<Bot, BotError> {
        let matrix = settings.matrix.as_ref().ok_or(BotError::NotConfigured)?;
        let options = MatrixOptions::from_settings(settings).ok_or(BotError::NotConfigured)?;
        let client = session::connect(matrix).await?;
        sync::initial_sync(&client).await?;

        let mut started = None;
        let daemon = Daemon::start(settings, |persistence| {
            let addr = MatrixActor::new(client.clone(), persistence, options).start();
            started = Some(addr.clone());
            NotifierHandles {
                deliver: addr.clone().recipient(),
                drain: addr.recipient(),
            }
        })
        .await?;
        let actor = started.ok_or(BotError::NotConfigured)?;
        actor.do_send(AttachCommands(CommandDeps {
            db: daemon.db.clone(),
            scheduler: daemon.scheduler.clone(),
            owncast: daemon.client.clone(),
            command_prefix: matrix.command_prefix.clone(),
            min_power_level: matrix.min_power_level,
            admins: matrix.admins.clone(),
            max_subscriptions_per_room: settings.owncast.max_subscriptions_per_room,
            stale_after: delta(settings.failures.stale_after),
        }));
        let sync = sync::follow(&client, actor.clone(), matrix.autojoin);
        tracing::info!(user = %matrix.user_id, "Matrix bot running");
        Ok(Bot {
            daemon,
            actor,
            sync,
        })
    }

    /// Stops following the homeserver, then shuts the daemon down.
    pub async fn shutdown(self, grace: Duration) {
        self.sync.abort();
        self.daemon.shutdown(grace).await;
    }
}
