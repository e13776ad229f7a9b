//! The message every notifier accepts.

use actix::Message;

use crate::storage::rows::Delivery;

/// Notifications committed to the outbox, to be delivered in order. A notifier reports each
/// delivery back to the persistence actor with `MarkDelivered`.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct Deliver(pub Vec<Delivery>);

/// Resolves after every `Deliver` sent before it has been handled (shutdown).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Drain;
