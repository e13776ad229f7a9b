//! Following the homeserver: the initial sync (whose messages are history, never answered),
//! auto-joining invites, and forwarding new text messages to the Matrix actor.

use std::time::Duration;

use actix::Addr;
use matrix_sdk::config::SyncSettings;
use matrix_sdk::ruma::events::room::member::{
    MembershipState, OriginalSyncRoomMemberEvent, StrippedRoomMemberEvent,
};
use matrix_sdk::ruma::events::room::message::{MessageType, OriginalSyncRoomMessageEvent};
use matrix_sdk::{Client, Room, RoomState};
use tokio::task::JoinHandle;

use super::MatrixError;
use super::actor::{Incoming, LeftRoom, MatrixActor};

/// How long the homeserver may hold a sync request open.
const LONG_POLL: Duration = Duration::from_secs(30);
/// Joining an invite is retried (the homeserver may not be ready) for about an hour.
const JOIN_ATTEMPTS: u32 = 12;

/// Catches up with the homeserver without handling anything: events up to now are history.
pub async fn initial_sync(client: &Client) -> Result<(), MatrixError> {
    client
        .sync_once(SyncSettings::default().timeout(Duration::ZERO))
        .await?;
    Ok(())
}

/// Registers the handlers, joins invites that arrived while offline, and follows the sync
/// stream in the background until the returned task is aborted.
pub fn follow(client: &Client, actor: Addr<MatrixActor>, autojoin: bool) -> JoinHandle<()> {
    let messages = actor.clone();
    client.add_event_handler(
        move |event: OriginalSyncRoomMessageEvent, room: Room, client: Client| {
            let actor = messages.clone();
            async move {
                if room.state() != RoomState::Joined || Some(&*event.sender) == client.user_id() {
                    return;
                }
                let body = match &event.content.msgtype {
                    MessageType::Text(text) => text.body.clone(),
                    // Notices are what bots send; never answer them (no loops between bots).
                    _ => return,
                };
                actor.do_send(Incoming {
                    room_id: room.room_id().to_owned(),
                    event_id: event.event_id,
                    sender: event.sender,
                    body,
                });
            }
        },
    );
    let departures = actor.clone();
    client.add_event_handler(
        move |event: OriginalSyncRoomMemberEvent, room: Room, client: Client| {
            let actor = departures.clone();
            async move {
                let gone = matches!(
                    event.content.membership,
                    MembershipState::Leave | MembershipState::Ban
                );
                if gone && Some(&*event.state_key) == client.user_id() {
                    actor.do_send(LeftRoom(room.room_id().to_owned()));
                }
            }
        },
    );
    if autojoin {
        client.add_event_handler(
            |event: StrippedRoomMemberEvent, room: Room, client: Client| async move {
                if event.content.membership == MembershipState::Invite
                    && Some(&*event.state_key) == client.user_id()
                {
                    // Off the sync loop, which must keep running while we retry.
                    tokio::spawn(join(room));
                }
            },
        );
        for room in client.invited_rooms() {
            tokio::spawn(join(room));
        }
    }
    let client = client.clone();
    tokio::spawn(async move {
        let mut delay = Duration::from_secs(1);
        loop {
            // A loop of `sync_once` rather than `sync`: the latter pauses between quick
            // responses, which would delay replies.
            match client
                .sync_once(SyncSettings::default().timeout(LONG_POLL))
                .await
            {
                Ok(_) => delay = Duration::from_secs(1),
                Err(error) => {
                    tracing::warn!(%error, "sync failed; retrying in {delay:?}");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(60));
                }
            }
        }
    })
}

async fn join(room: Room) {
    let mut delay = Duration::from_secs(2);
    for attempt in 1..=JOIN_ATTEMPTS {
        match room.join().await {
            Ok(()) => {
                tracing::info!(room = %room.room_id(), "joined on invite");
                return;
            }
            Err(error) => {
                tracing::warn!(room = %room.room_id(), %error, attempt, "cannot join yet; retrying in {delay:?}");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(600));
            }
        }
    }
    tracing::error!(room = %room.room_id(), "giving up joining");
}
