//! Carrying out chat commands (behaviour §5): permission checks from the room's power levels,
//! validation of new servers, and the database changes. Parsing and wording are pure
//! ([`crate::logic::command`], [`crate::logic::render`]); this module does the I/O between.

use actix::Addr;
use chrono::{TimeDelta, Utc};
use matrix_sdk::Client;
use matrix_sdk::ruma::events::room::power_levels::UserPowerLevel;
use matrix_sdk::ruma::{RoomId, UserId};

use crate::actors::database::{DbExecutor, IsFollowed, RoomStreams, Subscribe, Unsubscribe};
use crate::actors::scheduler::{Follow, Scheduler, Unfollow};
use crate::logic::command::Command;
use crate::logic::render::{self, ListEntry, Rendered};
use crate::logic::stream_state::StreamState;
use crate::logic::target::StreamTarget;
use crate::owncast::OwncastClient;
use crate::storage::StorageError;
use crate::storage::subscriptions::{Added, Removed};

/// What commands need from the rest of the daemon.
#[derive(Clone)]
pub struct CommandDeps {
    pub db: Addr<DbExecutor>,
    pub scheduler: Addr<Scheduler>,
    pub owncast: OwncastClient,
    pub command_prefix: String,
    pub min_power_level: i64,
    pub admins: Vec<String>,
    pub max_subscriptions_per_room: usize,
    pub stale_after: TimeDelta,
}

pub async fn execute(
    client: &Client,
    deps: &CommandDeps,
    room_id: &RoomId,
    sender: &UserId,
    command: Command,
) -> Rendered {
    if command.is_privileged() && !may_manage(client, deps, room_id, sender).await {
        return render::permission_denied(deps.min_power_level);
    }
    let result = match command {
        Command::Subscribe(target) => subscribe(deps, room_id, sender, &target).await,
        Command::Unsubscribe(target) => unsubscribe(deps, room_id, &target).await,
        Command::List => room_entries(deps, room_id).await.map(|e| render::list(&e)),
        Command::Live => room_entries(deps, room_id).await.map(|e| render::live(&e)),
        Command::Help => Ok(crate::logic::command::help(&deps.command_prefix)),
    };
    result.unwrap_or_else(|error| {
        tracing::error!(%error, room = %room_id, "command failed");
        render::error("Something went wrong on my side; please try again later.")
    })
}

/// Admins always; others at or above `min_power_level` in this room.
async fn may_manage(
    client: &Client,
    deps: &CommandDeps,
    room_id: &RoomId,
    sender: &UserId,
) -> bool {
    if deps.admins.iter().any(|admin| admin == sender.as_str()) {
        return true;
    }
    let Some(room) = client.get_room(room_id) else {
        return false;
    };
    match room.get_member(sender).await {
        Ok(Some(member)) => match member.power_level() {
            UserPowerLevel::Infinite => true,
            UserPowerLevel::Int(level) => i64::from(level) >= deps.min_power_level,
            _ => false,
        },
        Ok(None) => false,
        Err(error) => {
            tracing::warn!(%error, room = %room_id, "cannot read power levels");
            false
        }
    }
}

fn mailbox(error: actix::MailboxError) -> StorageError {
    StorageError::Internal(error.to_string())
}

async fn subscribe(
    deps: &CommandDeps,
    room_id: &RoomId,
    sender: &UserId,
    target: &StreamTarget,
) -> Result<Rendered, StorageError> {
    let domain = target.key().to_owned();
    let known = deps
        .db
        .send(IsFollowed(domain.clone()))
        .await
        .map_err(mailbox)??;
    let mut name = None;
    if !known {
        // Only the first room to follow a server pays for validating it.
        if let Err(error) = deps.owncast.status(target).await {
            return Ok(render::not_owncast(&domain, &error.to_string()));
        }
        name = deps.owncast.config(target).await.ok().map(|c| c.name);
    }
    let added = deps
        .db
        .send(Subscribe {
            room_id: room_id.to_string(),
            domain: domain.clone(),
            by: sender.to_string(),
            limit: deps.max_subscriptions_per_room,
            now: Utc::now(),
        })
        .await
        .map_err(mailbox)??;
    Ok(match added {
        Added::Subscribed => {
            tracing::info!(domain = %domain, room = %room_id, by = %sender, "subscribed");
            deps.scheduler.do_send(Follow(domain.clone()));
            render::subscribed(&domain, name.as_deref().filter(|n| !n.is_empty()))
        }
        Added::AlreadySubscribed => render::already_subscribed(&domain),
        Added::LimitReached { limit } => render::limit_reached(limit),
    })
}

async fn unsubscribe(
    deps: &CommandDeps,
    room_id: &RoomId,
    target: &StreamTarget,
) -> Result<Rendered, StorageError> {
    let domain = target.key().to_owned();
    let removed = deps
        .db
        .send(Unsubscribe {
            room_id: room_id.to_string(),
            domain: domain.clone(),
        })
        .await
        .map_err(mailbox)??;
    Ok(match removed {
        Removed::Unsubscribed { last } => {
            tracing::info!(domain = %domain, room = %room_id, "unsubscribed");
            if last {
                deps.scheduler.do_send(Unfollow(domain.clone()));
            }
            render::unsubscribed(&domain)
        }
        Removed::NotSubscribed => render::not_subscribed(&domain),
    })
}

async fn room_entries(
    deps: &CommandDeps,
    room_id: &RoomId,
) -> Result<Vec<ListEntry>, StorageError> {
    let streams = deps
        .db
        .send(RoomStreams(room_id.to_string()))
        .await
        .map_err(mailbox)??;
    let now = Utc::now();
    Ok(streams
        .into_iter()
        .map(|(domain, state)| entry(domain, &state, now, deps.stale_after))
        .collect())
}

fn entry(
    domain: String,
    state: &StreamState,
    now: chrono::DateTime<Utc>,
    stale_after: TimeDelta,
) -> ListEntry {
    let url = StreamTarget::parse(&domain)
        .map(|t| t.base_url().to_string())
        .unwrap_or_default();
    ListEntry {
        domain,
        url,
        name: state.name.clone(),
        title: state.title.clone(),
        state: state.presence(now, stale_after),
    }
}
