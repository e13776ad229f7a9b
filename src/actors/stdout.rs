//! The stdout notifier: used when no `[matrix]` section is configured. Each delivery is one
//! JSON line on standard output (logs go to standard error), then marked delivered.

use std::io::Write as _;

use actix::prelude::*;
use serde::Serialize;

use super::persistence::{MarkDelivered, Persistence};
use super::{Deliver, Drain};
use crate::daemon::NotifierHandles;
use crate::logic::notification::NotificationKind;
use crate::storage::rows::Delivery;

pub struct StdoutNotifier {
    persistence: Addr<Persistence>,
}

impl StdoutNotifier {
    pub fn new(persistence: Addr<Persistence>) -> Self {
        Self { persistence }
    }

    /// Starts a stdout notifier reporting to `persistence`.
    pub fn start_for(persistence: Addr<Persistence>) -> NotifierHandles {
        let addr = Self::new(persistence).start();
        NotifierHandles {
            deliver: addr.clone().recipient(),
            drain: addr.recipient(),
        }
    }
}

impl Actor for StdoutNotifier {
    type Context = Context<Self>;
}

/// The line format of behaviour §7.
#[derive(Serialize)]
struct Line<'a> {
    room: &'a str,
    domain: &'a str,
    kind: NotificationKind,
    name: &'a str,
    title: &'a str,
    tags: &'a [String],
    url: &'a str,
}

pub fn render_line(delivery: &Delivery) -> String {
    let n = &delivery.notification;
    let line = Line {
        room: &delivery.room_id,
        domain: &n.domain,
        kind: n.kind,
        name: &n.name,
        title: &n.title,
        tags: &n.tags,
        url: &n.url,
    };
    serde_json::to_string(&line).unwrap_or_default()
}

impl Handler<Deliver> for StdoutNotifier {
    type Result = ();

    fn handle(&mut self, msg: Deliver, _: &mut Self::Context) {
        let mut out = std::io::stdout().lock();
        for delivery in msg.0 {
            let written = writeln!(out, "{}", render_line(&delivery)).and_then(|()| out.flush());
            match written {
                Ok(()) => self.persistence.do_send(MarkDelivered {
                    txn_id: delivery.txn_id,
                    event_id: None,
                }),
                // Left undelivered in the outbox: sent again at the next start.
                Err(error) => tracing::error!(%error, "cannot write to standard output"),
            }
        }
    }
}

impl Handler<Drain> for StdoutNotifier {
    type Result = ();

    fn handle(&mut self, _: Drain, _: &mut Self::Context) {}
}
