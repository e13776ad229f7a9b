//! The Matrix actor owns everything this process sends to Matrix: one queue (command replies
//! first, notifications round-robin across rooms, see [`SendQueue`]), a client-side rate limit,
//! and the pause a homeserver asks for with `M_LIMIT_EXCEEDED`. Messages go out one at a time.
//!
//! Notifications arrive from the persistence actor already committed to the outbox; each is
//! sent with its outbox transaction id (a resend after a crash is deduplicated by the
//! homeserver) and reported back as delivered with its event id.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use matrix_sdk::config::RequestConfig;
use matrix_sdk::ruma::api::error::{ErrorKind, RetryAfter};
use matrix_sdk::ruma::events::Mentions;
use matrix_sdk::ruma::events::room::message::{
    AddMentions, ForwardThread, MessageType, NoticeMessageEventContent, ReplyMetadata,
    RoomMessageEventContent, TextMessageEventContent,
};
use matrix_sdk::ruma::{OwnedEventId, OwnedRoomId, OwnedTransactionId, OwnedUserId, RoomId};
use matrix_sdk::{Client, RoomState};
use tokio::sync::oneshot;

use super::commands::{CommandDeps, execute};
use crate::actors::database::ForgetRoom;
use crate::actors::persistence::{MarkDelivered, Persistence};
use crate::actors::scheduler::Unfollow;
use crate::actors::{Deliver, Drain};
use crate::logic::command;
use crate::logic::render::{self, Rendered};
use crate::logic::send_queue::SendQueue;
use crate::settings::{MsgType, Settings};
use crate::storage::rows::Delivery;

/// A failed send is retried after this, doubling up to [`MAX_RETRY`].
const FIRST_RETRY: Duration = Duration::from_millis(500);
const MAX_RETRY: Duration = Duration::from_secs(60);

/// What the actor needs besides the client.
#[derive(Clone)]
pub struct MatrixOptions {
    pub msgtype: MsgType,
    pub command_prefix: String,
    pub messages_per_second: f64,
    pub message_burst: u32,
}

impl MatrixOptions {
    pub fn from_settings(settings: &Settings) -> Option<Self> {
        let matrix = settings.matrix.as_ref()?;
        Some(Self {
            msgtype: settings.notifications.msgtype,
            command_prefix: matrix.command_prefix.clone(),
            messages_per_second: matrix.messages_per_second,
            message_burst: matrix.message_burst,
        })
    }

    fn quota(&self) -> Quota {
        let period = Duration::from_secs_f64(1.0 / self.messages_per_second);
        let burst =
            std::num::NonZeroU32::new(self.message_burst).unwrap_or(std::num::NonZeroU32::MIN);
        Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(std::num::NonZeroU32::MIN))
            .allow_burst(burst)
    }
}

enum Outgoing {
    Notification(Delivery),
    Reply {
        room_id: OwnedRoomId,
        event_id: OwnedEventId,
        sender: OwnedUserId,
        message: Rendered,
    },
}

impl Outgoing {
    /// The room whose turn this item takes (`None`: a reply, sent ahead of turns).
    fn turn(&self) -> Option<&str> {
        match self {
            Outgoing::Notification(d) => Some(&d.room_id),
            Outgoing::Reply { .. } => None,
        }
    }
}

enum SendOutcome {
    Sent(OwnedEventId),
    /// Will never succeed (not in the room any more, forbidden); recorded and dropped.
    Dropped(String),
    /// Retry after the delay the homeserver asked for, or after the actor's own backoff.
    Retry {
        after: Option<Duration>,
        reason: String,
    },
}

pub struct MatrixActor {
    client: Client,
    persistence: Addr<Persistence>,
    options: MatrixOptions,
    limiter: Arc<DefaultDirectRateLimiter>,
    queue: SendQueue<Outgoing>,
    /// Transaction ids queued or in flight, so a delivery handed over twice is sent once.
    queued: HashSet<String>,
    /// A send is in flight, or the queue is paused before a retry.
    busy: bool,
    retry_delay: Duration,
    commands: Option<CommandDeps>,
    /// Shutting down: finish the send in flight, start no other.
    draining: bool,
    drain_waiters: Vec<oneshot::Sender<()>>,
}

impl MatrixActor {
    pub fn new(client: Client, persistence: Addr<Persistence>, options: MatrixOptions) -> Self {
        let limiter = Arc::new(RateLimiter::direct(options.quota()));
        Self {
            client,
            persistence,
            options,
            limiter,
            queue: SendQueue::default(),
            queued: HashSet::new(),
            busy: false,
            retry_delay: FIRST_RETRY,
            commands: None,
            draining: false,
            drain_waiters: Vec::new(),
        }
    }

    fn content(&self, item: &Outgoing) -> RoomMessageEventContent {
        match item {
            Outgoing::Notification(delivery) => {
                let Rendered { body, html } = render::notification(&delivery.notification);
                let msgtype = match self.options.msgtype {
                    MsgType::Text => MessageType::Text(TextMessageEventContent::html(body, html)),
                    MsgType::Notice => {
                        MessageType::Notice(NoticeMessageEventContent::html(body, html))
                    }
                };
                // An empty m.mentions switches off legacy body-based highlights.
                RoomMessageEventContent::new(msgtype).add_mentions(Mentions::new())
            }
            Outgoing::Reply {
                event_id,
                sender,
                message,
                ..
            } => RoomMessageEventContent::notice_html(message.body.clone(), message.html.clone())
                .add_mentions(Mentions::new())
                .make_reply_to(
                    ReplyMetadata::new(event_id, sender, None),
                    ForwardThread::Yes,
                    AddMentions::No,
                ),
        }
    }

    /// Sends the next queued message unless one is in flight or the queue is paused.
    fn pump(&mut self, ctx: &mut Context<Self>) {
        if self.busy {
            return;
        }
        let next = if self.draining {
            None
        } else {
            self.queue.pop()
        };
        let Some(item) = next else {
            for waiter in self.drain_waiters.drain(..) {
                let _ = waiter.send(());
            }
            return;
        };
        self.busy = true;
        let content = self.content(&item);
        let (room_id, txn_id) = match &item {
            Outgoing::Notification(d) => (d.room_id.clone(), Some(d.txn_id.clone())),
            Outgoing::Reply { room_id, .. } => (room_id.to_string(), None),
        };
        let client = self.client.clone();
        let limiter = self.limiter.clone();
        async move {
            limiter.until_ready().await;
            send(&client, &room_id, txn_id, content).await
        }
        .into_actor(self)
        .map(move |outcome, act, ctx| act.sent(item, outcome, ctx))
        .spawn(ctx);
    }

    fn sent(&mut self, item: Outgoing, outcome: SendOutcome, ctx: &mut Context<Self>) {
        match outcome {
            SendOutcome::Sent(event_id) => {
                self.retry_delay = FIRST_RETRY;
                if let Outgoing::Notification(d) = item {
                    tracing::info!(room = %d.room_id, domain = %d.notification.domain, %event_id, "notification delivered");
                    self.delivered(d, Some(event_id.to_string()));
                }
            }
            SendOutcome::Dropped(reason) => {
                if let Outgoing::Notification(d) = item {
                    tracing::warn!(room = %d.room_id, domain = %d.notification.domain, %reason, "notification dropped");
                    self.delivered(d, None);
                } else {
                    tracing::warn!(%reason, "reply dropped");
                }
            }
            SendOutcome::Retry { after, reason } => {
                let after = after.unwrap_or_else(|| self.next_retry());
                tracing::warn!(%reason, retry_in_ms = after.as_millis(), "send failed; the queue waits");
                let turn = item.turn().map(str::to_owned);
                self.queue.push_front(turn.as_deref(), item);
                ctx.run_later(after, |act, ctx| {
                    act.busy = false;
                    act.pump(ctx);
                });
                return;
            }
        }
        self.busy = false;
        self.pump(ctx);
    }

    fn delivered(&mut self, delivery: Delivery, event_id: Option<String>) {
        self.queued.remove(&delivery.txn_id);
        self.persistence.do_send(MarkDelivered {
            txn_id: delivery.txn_id,
            event_id,
        });
    }

    /// The delay before retrying a failure the homeserver gave no delay for.
    fn next_retry(&mut self) -> Duration {
        let delay = self.retry_delay;
        self.retry_delay = (delay * 2).min(MAX_RETRY);
        delay
    }
}

async fn send(
    client: &Client,
    room_id: &str,
    txn_id: Option<String>,
    content: RoomMessageEventContent,
) -> SendOutcome {
    let Ok(room_id) = RoomId::parse(room_id) else {
        return SendOutcome::Dropped(format!("`{room_id}` is not a room id"));
    };
    let Some(room) = client.get_room(&room_id) else {
        return SendOutcome::Dropped("not in this room".into());
    };
    if room.state() != RoomState::Joined {
        return SendOutcome::Dropped(format!("room state is {:?}", room.state()));
    }
    // This actor decides about retries, so that a rate limit pauses the whole queue.
    let mut request = room
        .send(content)
        .with_request_config(RequestConfig::new().disable_retry());
    if let Some(txn_id) = txn_id {
        request = request.with_transaction_id(OwnedTransactionId::from(txn_id));
    }
    match request.await {
        Ok(result) => SendOutcome::Sent(result.response.event_id),
        Err(error) => classify(&error),
    }
}

fn classify(error: &matrix_sdk::Error) -> SendOutcome {
    let reason = error.to_string();
    match error.client_api_error_kind() {
        Some(ErrorKind::LimitExceeded(limit)) => {
            let after = match limit.retry_after {
                Some(RetryAfter::Delay(delay)) => delay,
                Some(RetryAfter::DateTime(at)) => at
                    .duration_since(std::time::SystemTime::now())
                    .unwrap_or_default(),
                None => Duration::from_secs(5),
            };
            SendOutcome::Retry {
                after: Some(after),
                reason,
            }
        }
        Some(ErrorKind::Forbidden) => SendOutcome::Dropped(reason),
        // Network trouble, server errors, an expired token: keep the message, wait, retry.
        _ => SendOutcome::Retry {
            after: None,
            reason,
        },
    }
}

impl Actor for MatrixActor {
    type Context = Context<Self>;
}

impl Handler<Deliver> for MatrixActor {
    type Result = ();

    fn handle(&mut self, msg: Deliver, ctx: &mut Self::Context) {
        for delivery in msg.0 {
            if self.queued.insert(delivery.txn_id.clone()) {
                let room = delivery.room_id.clone();
                self.queue.push(&room, Outgoing::Notification(delivery));
            }
        }
        self.pump(ctx);
    }
}

/// Shutdown: the send in flight finishes; whatever is still queued stays undelivered in the
/// outbox and goes out at the next start.
impl Handler<Drain> for MatrixActor {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: Drain, ctx: &mut Self::Context) -> Self::Result {
        let (tx, rx) = oneshot::channel();
        self.drain_waiters.push(tx);
        self.draining = true;
        self.pump(ctx);
        Box::pin(async move {
            let _ = rx.await;
        })
    }
}

/// Connects the command side (available once the rest of the daemon runs).
#[derive(Message)]
#[rtype(result = "()")]
pub struct AttachCommands(pub CommandDeps);

impl Handler<AttachCommands> for MatrixActor {
    type Result = ();

    fn handle(&mut self, msg: AttachCommands, _: &mut Self::Context) {
        self.commands = Some(msg.0);
    }
}

/// A text message someone sent in a room the bot is in.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Incoming {
    pub room_id: OwnedRoomId,
    pub event_id: OwnedEventId,
    pub sender: OwnedUserId,
    pub body: String,
}

impl Handler<Incoming> for MatrixActor {
    type Result = ();

    fn handle(&mut self, msg: Incoming, ctx: &mut Self::Context) {
        let Some(parsed) = command::parse(&msg.body, &self.options.command_prefix) else {
            return;
        };
        let Some(deps) = self.commands.clone() else {
            return;
        };
        let client = self.client.clone();
        let room_id = msg.room_id.clone();
        let sender = msg.sender.clone();
        async move {
            match parsed {
                Ok(command) => execute(&client, &deps, &room_id, &sender, command).await,
                Err(error) => render::error(&error.to_string()),
            }
        }
        .into_actor(self)
        .map(move |message, act, ctx| {
            tracing::debug!(room = %msg.room_id, sender = %msg.sender, "replying to a command");
            act.queue.push_urgent(Outgoing::Reply {
                room_id: msg.room_id,
                event_id: msg.event_id,
                sender: msg.sender,
                message,
            });
            act.pump(ctx);
        })
        .spawn(ctx);
    }
}

/// The bot left, was kicked from or banned from a room: its subscriptions go too, and with
/// them the polling of servers no other room follows.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct LeftRoom(pub OwnedRoomId);

impl Handler<LeftRoom> for MatrixActor {
    type Result = ();

    fn handle(&mut self, msg: LeftRoom, ctx: &mut Self::Context) {
        let Some(deps) = self.commands.clone() else {
            return;
        };
        let room = msg.0.to_string();
        async move {
            match deps.db.send(ForgetRoom(room.clone())).await {
                Ok(Ok(orphaned)) => {
                    tracing::info!(%room, unfollowed = orphaned.len(), "left the room; its subscriptions are removed");
                    for domain in orphaned {
                        deps.scheduler.do_send(Unfollow(domain));
                    }
                }
                Ok(Err(error)) => tracing::error!(%room, %error, "cannot remove the subscriptions of a room left"),
                Err(error) => tracing::error!(%room, %error, "database actor unavailable"),
            }
        }
        .into_actor(self)
        .spawn(ctx);
    }
}
