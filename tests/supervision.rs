//! Supervision through the real actor system: a panic in one stream actor restarts that actor
//! alone, from the state it had decided, while every other stream carries on.

mod support;

use std::time::Duration;

use actix::prelude::*;
use chrono::Utc;
use owncast_sentry::actors::persistence::{MarkDelivered, Persistence};
use owncast_sentry::actors::scheduler::Lookup;
use owncast_sentry::actors::stream::{Crash, Restarts};
use owncast_sentry::actors::{Deliver, Drain};
use owncast_sentry::daemon::{Daemon, NotifierHandles};
use owncast_sentry::logic::notification::NotificationKind;
use owncast_sentry::settings::Settings;
use owncast_sentry::storage::{self, rows::Delivery, subscriptions};
use support::db::{Backend, TestDb};
use support::fake_owncast::FakeOwncast;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

/// A notifier that hands deliveries to the test.
struct Collector {
    persistence: Addr<Persistence>,
    out: UnboundedSender<Delivery>,
}

impl Actor for Collector {
    type Context = Context<Self>;
}

impl Handler<Deliver> for Collector {
    type Result = ();

    fn handle(&mut self, msg: Deliver, _: &mut Self::Context) {
        for delivery in msg.0 {
            self.persistence.do_send(MarkDelivered {
                txn_id: delivery.txn_id.clone(),
                event_id: None,
            });
            let _ = self.out.send(delivery);
        }
    }
}

impl Handler<Drain> for Collector {
    type Result = ();

    fn handle(&mut self, _: Drain, _: &mut Self::Context) {}
}

async fn next(rx: &mut UnboundedReceiver<Delivery>) -> Delivery {
    tokio::time::timeout(Duration::from_secs(60), rx.recv())
        .await
        .expect("a notification within 60 s")
        .expect("notifier alive")
}

async fn settle(fake: &FakeOwncast) {
    let seen = fake.status_requests();
    fake.wait_for_status_requests(seen + 2).await;
}

/// Starts the daemon on `db` following `fakes` from one room, delivering to a channel.
async fn start(db: &TestDb, fakes: &[&FakeOwncast]) -> (Daemon, UnboundedReceiver<Delivery>) {
    {
        let mut conn = storage::connect(&db.url).unwrap();
        for fake in fakes {
            subscriptions::add(&mut conn, "!r:t", &fake.target(), "test", Utc::now(), 10).unwrap();
        }
    }
    let mut settings = Settings::default();
    settings.database.url = db.url.clone();
    settings.owncast.poll_interval = Duration::from_millis(100);
    settings.owncast.allow_private_addresses = true;
    settings.notifications.cooldown = Duration::ZERO;
    settings.notifications.temporary_offline_cooldown = Duration::ZERO;

    let (tx, rx) = unbounded_channel();
    let daemon = Daemon::start(&settings, |persistence| {
        let addr = Collector {
            persistence,
            out: tx,
        }
        .start();
        NotifierHandles {
            deliver: addr.clone().recipient(),
            drain: addr.recipient(),
        }
    })
    .await
    .unwrap();
    (daemon, rx)
}

#[actix_rt::test]
async fn a_panic_restarts_only_that_stream_actor() {
    let db = TestDb::new(Backend::Sqlite).unwrap();
    let a = FakeOwncast::start().await;
    let b = FakeOwncast::start().await;
    let (daemon, mut rx) = start(&db, &[&a, &b]).await;

    settle(&a).await;
    settle(&b).await;
    a.go_live("A is live");
    let d = next(&mut rx).await;
    assert_eq!(
        (d.notification.kind, d.notification.domain.as_str()),
        (NotificationKind::GoLive, a.target().as_str())
    );

    let actor_a = daemon
        .scheduler
        .send(Lookup(a.target()))
        .await
        .unwrap()
        .unwrap();
    let actor_b = daemon
        .scheduler
        .send(Lookup(b.target()))
        .await
        .unwrap()
        .unwrap();
    actor_a
        .send(Crash)
        .await
        .expect("the panic is contained, the mailbox stays open");
    assert_eq!(actor_a.send(Restarts).await.unwrap(), 1);
    assert_eq!(actor_b.send(Restarts).await.unwrap(), 0);

    // The restarted actor keeps polling, resumes from the state it had (no second go-live for
    // the same session), and still reacts to changes.
    settle(&a).await;
    a.set_title("A, after the panic");
    let d = next(&mut rx).await;
    assert_eq!(d.notification.kind, NotificationKind::TitleChange, "{d:?}");
    assert_eq!(d.notification.domain, a.target());

    // The other stream never stopped.
    b.go_live("B is live");
    let d = next(&mut rx).await;
    assert_eq!(
        (d.notification.kind, d.notification.domain.as_str()),
        (NotificationKind::GoLive, b.target().as_str())
    );

    daemon.shutdown(Duration::from_secs(10)).await;
    assert!(rx.try_recv().is_err(), "nothing else was announced");
}

#[actix_rt::test]
async fn stream_actors_survive_repeated_panics() {
    let db = TestDb::new(Backend::Sqlite).unwrap();
    let a = FakeOwncast::start().await;
    let (daemon, mut rx) = start(&db, &[&a]).await;
    settle(&a).await;
    let actor = daemon
        .scheduler
        .send(Lookup(a.target()))
        .await
        .unwrap()
        .unwrap();
    for n in 1..=5 {
        actor.send(Crash).await.unwrap();
        assert_eq!(actor.send(Restarts).await.unwrap(), n);
    }
    a.go_live("Still polled");
    let d = next(&mut rx).await;
    assert_eq!(d.notification.kind, NotificationKind::GoLive);
    daemon.shutdown(Duration::from_secs(10)).await;
}
