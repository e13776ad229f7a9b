//! End to end against a real Synapse (`scripts/synapse.sh up`, then `. .mx/env`): the real
//! binary runs as a Matrix bot, a fake Owncast server changes state, and an independent client
//! (`tests/e2e/mxclient.py`, matrix-nio) plays the humans in the rooms.
//!
//! Each test registers a bot account of its own, so tests are independent, run side by side,
//! and every bot meets Synapse's stock message limit (0.2 per second after a burst of 10) on
//! its own: bots get no rate-limit override, only the human accounts may have one.
//!
//! Without `MX_HS_URL` every test returns at once with a note on stderr.

mod support;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use owncast_sentry::storage::rows::OutboxRow;
use serde_json::{Value, json};
use support::daemon::{Config, Daemon};
use support::fake_owncast::{FailureMode, FakeOwncast};
use support::mxclient::{MxClient, MxEnv};
use tempfile::TempDir;

/// A reply or notification may queue behind Synapse's limit: one message per 5 s once the
/// burst is spent.
const MESSAGE_WAIT: u64 = 120;
const JOIN_WAIT: u64 = 60;
/// Everything a rate-limited bot has queued, at 5 s per message.
const DELIVERY_WAIT: Duration = Duration::from_secs(300);

fn homeserver() -> Option<MxEnv> {
    let env = MxEnv::from_env();
    if env.is_none() {
        eprintln!(
            "skipping: MX_HS_URL is not set (scripts/test.sh sets it; or run \
             `scripts/synapse.sh up` and `. .mx/env`)"
        );
    }
    env
}

/// A bot account with its configuration, database and session store, and its daemon when
/// running.
struct Bot {
    user_id: String,
    config: Config,
    db_url: String,
    daemon: Option<Daemon>,
    _dir: TempDir,
}

impl Bot {
    /// Registers a fresh account; `role` only makes the name readable in Synapse's logs.
    async fn new(env: &MxEnv, registrar: &mut MxClient, role: &str) -> Bot {
        let localpart = format!("bot-{role}-{:08x}", fastrand::u32(..));
        let password = format!("{localpart}-pw");
        let user_id = registrar.register(&localpart, &password).await;
        let dir = tempfile::tempdir().expect("temp dir");
        let db_url = format!("sqlite://{}", dir.path().join("bot.db").display());
        let store = dir.path().join("store");
        let mut config = Config::new(dir.path(), &db_url);
        config
            .set("owncast", "poll_interval", "200ms")
            .set("matrix", "homeserver", &env.hs_url)
            .set("matrix", "user_id", &user_id)
            .set("matrix", "password", &password)
            .set("matrix", "store_path", store.to_str().expect("UTF-8 path"));
        Bot {
            user_id,
            config,
            db_url,
            daemon: None,
            _dir: dir,
        }
    }

    /// Starts `owncast-sentry run` and waits until it follows the homeserver.
    async fn start(&mut self) -> &mut Daemon {
        let mut daemon = Daemon::start(&self.config);
        daemon.wait_log(&["Matrix bot running"]).await;
        self.daemon.insert(daemon)
    }

    fn daemon(&mut self) -> &mut Daemon {
        self.daemon.as_mut().expect("the daemon is running")
    }

    /// SIGTERM, which must end the process cleanly.
    async fn stop(&mut self) {
        let daemon = self.daemon.take().expect("the daemon is running");
        let (status, printed) = daemon.stop().await;
        assert!(status.success(), "exit status {status}");
        assert!(printed.is_empty(), "stdout of a Matrix bot: {printed:?}");
    }

    async fn outbox(&self) -> Vec<OutboxRow> {
        let url = self.db_url.clone();
        tokio::task::spawn_blocking(move || {
            let mut db = owncast_sentry::storage::connect(&url).expect("open the bot's database");
            owncast_sentry::storage::outbox::all(&mut db).expect("read the outbox")
        })
        .await
        .expect("outbox reader")
    }

    /// Polls the outbox until `done` holds. The database is the only place the daemon records
    /// a delivery, so there is nothing to be notified by; it writes in batches of 50 ms.
    async fn wait_outbox(&self, what: &str, done: impl Fn(&[OutboxRow]) -> bool) -> Vec<OutboxRow> {
        let deadline = Instant::now() + DELIVERY_WAIT;
        loop {
            let rows = self.outbox().await;
            if done(&rows) {
                return rows;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: not within {DELIVERY_WAIT:?}; outbox:\n{}",
                describe(&rows)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the outbox holds `count` rows, every one delivered.
    async fn wait_all_delivered(&self, count: usize) -> Vec<OutboxRow> {
        self.wait_outbox(&format!("{count} delivered notifications"), |rows| {
            rows.len() >= count && rows.iter().all(|r| r.delivered_at.is_some())
        })
        .await
    }
}

impl Drop for Bot {
    fn drop(&mut self) {
        if std::thread::panicking()
            && let Some(daemon) = &self.daemon
        {
            eprintln!(
                "----- log of the daemon for {} -----\n{}",
                self.user_id,
                daemon.logs()
            );
        }
    }
}

fn describe(rows: &[OutboxRow]) -> String {
    rows.iter()
        .map(|r| {
            format!(
                "{} {} {} {} delivered={:?} event={:?}",
                r.id, r.room_id, r.kind, r.domain, r.delivered_at, r.event_id
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Returns once a poll that started after this call has been processed: the stream actor
/// starts a request only when the previous one is done.
async fn settle(fake: &FakeOwncast) {
    let seen = fake.status_requests();
    fake.wait_for_status_requests(seen + 2).await;
}

fn body(message: &Value) -> &str {
    message["body"].as_str().unwrap_or_default()
}

fn html(message: &Value) -> &str {
    message["formatted_body"].as_str().unwrap_or_default()
}

/// Sends a chat command and returns the bot's reply, which must be an `m.notice` replying to
/// it. The command's event id is added to `sent`.
async fn command(
    human: &mut MxClient,
    room: &str,
    bot: &str,
    text: &str,
    sent: &mut Vec<String>,
) -> Value {
    let id = human.send(room, text).await;
    sent.push(id.clone());
    let reply = human.wait_reply(room, bot, &id, MESSAGE_WAIT).await;
    assert_eq!(reply["msgtype"], "m.notice", "reply to {text:?}: {reply}");
    assert_eq!(
        reply["in_reply_to"],
        id.as_str(),
        "reply to {text:?}: {reply}"
    );
    reply
}

fn assert_contains(message: &Value, needle: &str) {
    assert!(
        body(message).contains(needle),
        "expected {needle:?} in the body of {message}"
    );
}

/// The next notification (an `m.text` from the bot) after `after`.
async fn next_notification(human: &mut MxClient, room: &str, bot: &str, after: &str) -> Value {
    let n = human
        .call(json!({
            "cmd": "wait_message", "room_id": room, "sender": bot, "after_event_id": after,
            "msgtype": "m.text", "timeout": MESSAGE_WAIT,
        }))
        .await;
    assert_eq!(
        n["in_reply_to"],
        Value::Null,
        "a notification is no reply: {n}"
    );
    assert_eq!(n["format"], "org.matrix.custom.html", "{n}");
    n
}

/// Checks a go-live notification for the fake's name, title, tags and link.
fn assert_go_live(n: &Value, fake: &FakeOwncast, name: &str, title: &str, tags: &str) {
    let link = format!("{}/", fake.uri());
    assert_contains(n, &format!("{name} is live: {title}"));
    assert_contains(n, tags);
    assert_contains(n, &link);
    let formatted = html(n);
    assert!(formatted.contains(&format!("<b>{name}</b>")), "{n}");
    assert!(formatted.contains(&format!("<a href=\"{link}\">")), "{n}");
    // No body-based highlights from whatever the stream is called.
    assert_eq!(n["content"]["m.mentions"], json!({}), "{n}");
}

/// The bot's messages in a room's server history, oldest first.
fn from_bot<'a>(history: &'a [Value], bot: &str) -> Vec<&'a Value> {
    history.iter().filter(|m| m["sender"] == bot).collect()
}

/// No event twice, no reply to anything but `commands`, and exactly one reply to each.
/// Returns the bot's other messages, the notifications.
fn assert_one_reply_per_command<'a>(
    bot_messages: &[&'a Value],
    commands: &[String],
) -> Vec<&'a Value> {
    let mut ids = HashSet::new();
    let mut replies: HashMap<&str, usize> = HashMap::new();
    let mut notifications = Vec::new();
    for m in bot_messages {
        assert!(
            ids.insert(m["event_id"].as_str().unwrap_or_default()),
            "event twice in the history: {m}"
        );
        match m["in_reply_to"].as_str() {
            Some(target) => *replies.entry(target).or_default() += 1,
            None => notifications.push(*m),
        }
    }
    for id in commands {
        assert_eq!(replies.remove(id.as_str()), Some(1), "replies to {id}");
    }
    assert!(replies.is_empty(), "replies to other events: {replies:?}");
    notifications
}

/// In every room, the bot's notifications in the history are exactly the outbox's deliveries
/// for that room (by event id), in the outbox's order; every row was delivered with an event.
fn assert_history_matches_outbox(rows: &[OutboxRow], room: &str, notifications: &[&Value]) {
    let expected: Vec<&str> = rows
        .iter()
        .filter(|r| r.room_id == room)
        .map(|r| {
            assert!(r.delivered_at.is_some(), "undelivered: {r:?}");
            r.event_id
                .as_deref()
                .unwrap_or_else(|| panic!("no event id: {r:?}"))
        })
        .collect();
    let seen: Vec<&str> = notifications
        .iter()
        .map(|m| m["event_id"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        seen,
        expected,
        "room {room}: notifications in the history vs. the outbox:\n{}",
        describe(rows)
    );
}

/// Commands, their replies and a stream's notifications in an unencrypted room, with a second
/// member who may not manage subscriptions until promoted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_room_commands_and_notifications() {
    let Some(env) = homeserver() else { return };
    let started = Instant::now();
    let mut alice = MxClient::start(&env, "alice", "alice-pw").await;
    let mut bob = MxClient::start(&env, "bob", "bob-pw").await;
    let mut bot = Bot::new(&env, &mut alice, "plain").await;
    let fake = FakeOwncast::start().await;
    fake.set_name("Rusty Stream");
    fake.set_tags(vec!["rust".into(), "gamedev".into()]);
    let web_page = FakeOwncast::start().await;
    web_page.fail(FailureMode::Html);
    bot.start().await;
    let b = bot.user_id.clone();

    let room = alice.create_room(&[&b], false, "e2e plain").await;
    alice.wait_joined(&room, &b, JOIN_WAIT).await;
    bot.daemon().wait_log(&["joined on invite", &room]).await;
    let mut sent = Vec::new();

    let help = command(&mut alice, &room, &b, "!owncast help", &mut sent).await;
    for usage in [
        "!owncast subscribe <domain or URL>",
        "!owncast unsubscribe <domain or URL>",
        "!owncast list",
        "!owncast live",
        "!owncast help",
    ] {
        assert_contains(&help, usage);
    }
    assert!(html(&help).contains("<ul>"), "{help}");

    // Alice created the room: in room version 12 that is "infinite" power, with no entry in
    // the power levels' `users`.
    let text = format!("!owncast subscribe {}", fake.uri());
    let subscribed = command(&mut alice, &room, &b, &text, &mut sent).await;
    assert_contains(
        &subscribed,
        &format!("Subscribed to Rusty Stream (`{}`)", fake.target()),
    );

    settle(&fake).await;
    fake.go_live("Hello from the fake");
    let after = subscribed["event_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let live = next_notification(&mut alice, &room, &b, &after).await;
    assert_eq!(live["msgtype"], "m.text");
    assert_go_live(
        &live,
        &fake,
        "Rusty Stream",
        "Hello from the fake",
        "#rust #gamedev",
    );

    fake.set_title("Second part");
    let after = live["event_id"].as_str().unwrap_or_default().to_owned();
    let renamed = next_notification(&mut alice, &room, &b, &after).await;
    assert_contains(
        &renamed,
        "Rusty Stream changed the stream title: Second part",
    );
    assert!(
        html(&renamed).contains(&format!("<a href=\"{}/\">", fake.uri())),
        "{renamed}"
    );

    let list = command(&mut alice, &room, &b, "!owncast list", &mut sent).await;
    assert_contains(
        &list,
        &format!("Rusty Stream ({}) is live: Second part", fake.target()),
    );
    let now_live = command(&mut alice, &room, &b, "!owncast live", &mut sent).await;
    assert_contains(&now_live, "Live now (1)");
    assert_contains(&now_live, "Second part");
    assert!(
        html(&now_live).contains(&format!("<a href=\"{}/\">", fake.uri())),
        "{now_live}"
    );

    let text = format!("!owncast unsubscribe {}", fake.uri());
    let gone = command(&mut alice, &room, &b, &text, &mut sent).await;
    assert_contains(&gone, &format!("Unsubscribed from `{}`", fake.target()));
    let empty = command(&mut alice, &room, &b, "!owncast ls", &mut sent).await;
    assert_contains(&empty, "no subscriptions");

    alice.invite(&room, &bob.user_id).await;
    bob.join(&room).await;
    let denied = command(
        &mut bob,
        &room,
        &b,
        "!owncast subscribe example.com",
        &mut sent,
    )
    .await;
    assert_contains(&denied, "only members with power level 50 or higher");
    alice.set_power_level(&room, &bob.user_id, 50).await;
    let allowed = command(&mut bob, &room, &b, "!owncast unsub example.com", &mut sent).await;
    assert_contains(&allowed, "This room is not subscribed to `example.com`");

    let spaces = command(
        &mut alice,
        &room,
        &b,
        "!owncast subscribe not a domain",
        &mut sent,
    )
    .await;
    assert_contains(&spaces, "takes a single domain or URL");
    let malformed = command(
        &mut alice,
        &room,
        &b,
        "!owncast sub not_a_domain!",
        &mut sent,
    )
    .await;
    assert_contains(&malformed, "`not_a_domain!` is not a valid Owncast address");
    let text = format!("!owncast subscribe {}", web_page.uri());
    let not_owncast = command(&mut alice, &room, &b, &text, &mut sent).await;
    assert_contains(&not_owncast, "does not look like an Owncast server");
    assert_contains(&not_owncast, "HTML");
    let unknown = command(&mut alice, &room, &b, "!owncast frobnicate", &mut sent).await;
    assert_contains(&unknown, "Unknown command `frobnicate`");

    let history = alice.messages(&room).await;
    let mine = from_bot(&history, &b);
    let notifications = assert_one_reply_per_command(&mine, &sent);
    let ids: Vec<&Value> = notifications.iter().map(|m| &m["event_id"]).collect();
    assert_eq!(
        ids,
        [&live["event_id"], &renamed["event_id"]],
        "notifications: {notifications:?}"
    );
    assert_history_matches_outbox(&bot.outbox().await, &room, &notifications);

    // Kicked out of the room, the bot drops its subscriptions there (and stops polling a
    // server no other room follows).
    let text = format!("!owncast subscribe {}", fake.uri());
    let again = command(&mut alice, &room, &b, &text, &mut sent).await;
    assert_contains(&again, "Subscribed");
    let listed = bot.config.cli(&["subscriptions", "list"]);
    assert!(String::from_utf8_lossy(&listed.stdout).contains(&room));
    alice
        .call(serde_json::json!({"cmd": "kick", "room_id": room, "user_id": b}))
        .await;
    bot.daemon()
        .wait_log(&["left the room; its subscriptions are removed", &room])
        .await;
    bot.daemon()
        .wait_log(&["no longer following", &fake.target()])
        .await;
    let listed = bot.config.cli(&["subscriptions", "list"]);
    assert_eq!(String::from_utf8_lossy(&listed.stdout), "");

    bot.stop().await;
    eprintln!("plain room: {:.1} s", started.elapsed().as_secs_f64());
}

/// The core flow in an encrypted room, and again after a restart on the same device.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encrypted_room_commands_and_notifications() {
    let Some(env) = homeserver() else { return };
    if !env.e2e {
        eprintln!("skipping: the Matrix client has no E2EE support (MX_E2E != 1)");
        return;
    }
    let started = Instant::now();
    let mut carol = MxClient::start(&env, "carol", "carol-pw").await;
    let mut bot = Bot::new(&env, &mut carol, "e2ee").await;
    let fake = FakeOwncast::start().await;
    fake.set_name("Secret Stream");
    fake.set_tags(vec!["crypto".into()]);
    bot.start().await;
    let b = bot.user_id.clone();
    let device = bot.daemon().wait_log(&["logged in to Matrix"]).await;
    let device = device
        .split("device=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("device id in the log")
        .to_owned();

    let room = carol.create_room(&[&b], true, "e2e encrypted").await;
    carol.wait_joined(&room, &b, JOIN_WAIT).await;
    let mut sent = Vec::new();

    let help = command(&mut carol, &room, &b, "!owncast help", &mut sent).await;
    assert_eq!(help["encrypted"], true, "{help}");
    assert_contains(&help, "!owncast subscribe <domain or URL>");
    let text = format!("!owncast subscribe {}", fake.uri());
    let subscribed = command(&mut carol, &room, &b, &text, &mut sent).await;
    assert_eq!(subscribed["encrypted"], true, "{subscribed}");
    assert_contains(&subscribed, "Subscribed to Secret Stream");

    settle(&fake).await;
    fake.go_live("Encrypted hello");
    let after = subscribed["event_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let live = next_notification(&mut carol, &room, &b, &after).await;
    assert_eq!(live["encrypted"], true, "{live}");
    assert_go_live(&live, &fake, "Secret Stream", "Encrypted hello", "#crypto");

    // The session and the encryption keys survive a restart.
    bot.stop().await;
    bot.start().await;
    bot.daemon()
        .wait_log(&["restoring the Matrix session", &device])
        .await;
    let now_live = command(&mut carol, &room, &b, "!owncast live", &mut sent).await;
    assert_eq!(now_live["encrypted"], true, "{now_live}");
    assert_contains(&now_live, "Encrypted hello");

    let history = carol.messages(&room).await;
    let undecryptable: Vec<&Value> = history
        .iter()
        .filter(|m| m["undecryptable"] == true)
        .collect();
    assert!(undecryptable.is_empty(), "undecryptable: {undecryptable:?}");
    let mine = from_bot(&history, &b);
    assert!(mine.iter().all(|m| m["encrypted"] == true), "{mine:?}");
    let notifications = assert_one_reply_per_command(&mine, &sent);
    assert_history_matches_outbox(&bot.outbox().await, &room, &notifications);
    assert_eq!(notifications.len(), 1, "{notifications:?}");

    bot.stop().await;
    eprintln!("encrypted room: {:.1} s", started.elapsed().as_secs_f64());
}

/// Rooms and fakes for the tests that send many notifications. The bot is invited to every
/// room before it starts, so it joins them from its first sync.
struct Fleet {
    rooms: Vec<String>,
    fakes: Vec<FakeOwncast>,
}

impl Fleet {
    async fn new(human: &mut MxClient, bot: &Bot, rooms: usize, fakes: usize) -> Fleet {
        let mut fleet = Fleet {
            rooms: Vec::new(),
            fakes: Vec::new(),
        };
        for i in 0..rooms {
            let name = format!("e2e fleet {i}");
            fleet
                .rooms
                .push(human.create_room(&[&bot.user_id], false, &name).await);
        }
        for i in 0..fakes {
            let fake = FakeOwncast::start().await;
            fake.set_name(&format!("Stream {i}"));
            for room in &fleet.rooms {
                bot.config.subscribe(room, &fake.target());
            }
            fleet.fakes.push(fake);
        }
        fleet
    }

    async fn wait_joined(&self, human: &mut MxClient, bot: &str) {
        for room in &self.rooms {
            human.wait_joined(room, bot, JOIN_WAIT).await;
        }
    }

    /// Every stream goes live, then changes its title: two notifications per subscription.
    async fn go_live_then_retitle(&self) {
        for fake in &self.fakes {
            settle(fake).await;
        }
        for (i, fake) in self.fakes.iter().enumerate() {
            fake.go_live(&format!("Live {i}"));
        }
        for fake in &self.fakes {
            settle(fake).await;
        }
        for (i, fake) in self.fakes.iter().enumerate() {
            fake.set_title(&format!("Second {i}"));
        }
    }

    fn notifications(&self) -> usize {
        self.rooms.len() * self.fakes.len() * 2
    }

    /// Each row's message says what the row is about.
    fn assert_bodies(&self, rows: &[OutboxRow], history: &[&Value]) {
        let by_event: HashMap<&str, &Value> = history
            .iter()
            .map(|m| (m["event_id"].as_str().unwrap_or_default(), *m))
            .collect();
        for row in rows {
            let i = self
                .fakes
                .iter()
                .position(|f| f.target() == row.domain)
                .unwrap_or_else(|| panic!("unknown domain in {row:?}"));
            let Some(message) = row.event_id.as_deref().and_then(|e| by_event.get(e)) else {
                continue;
            };
            match row.kind.as_str() {
                "go_live" => assert_contains(message, &format!("Stream {i} is live: Live {i}")),
                "title_change" => assert_contains(
                    message,
                    &format!("Stream {i} changed the stream title: Second {i}"),
                ),
                other => panic!("unexpected kind {other}: {row:?}"),
            }
        }
    }

    /// The outbox holds one go-live and one title change per subscription, and every room's
    /// history matches it.
    async fn assert_rooms(
        &self,
        human: &mut MxClient,
        bot: &str,
        rows: &[OutboxRow],
        commands: &[String],
    ) {
        assert_eq!(rows.len(), self.notifications(), "{}", describe(rows));
        let mut per_subscription: HashMap<(&str, &str, &str), usize> = HashMap::new();
        for r in rows {
            *per_subscription
                .entry((&r.room_id, &r.domain, &r.kind))
                .or_default() += 1;
        }
        assert!(
            per_subscription.values().all(|&n| n == 1) && per_subscription.len() == rows.len(),
            "one go-live and one title change per subscription:\n{}",
            describe(rows)
        );
        for room in &self.rooms {
            let history = human.messages(room).await;
            let mine = from_bot(&history, bot);
            let room_commands: Vec<String> = commands
                .iter()
                .filter(|c| history.iter().any(|m| m["event_id"] == c.as_str()))
                .cloned()
                .collect();
            let notifications = assert_one_reply_per_command(&mine, &room_commands);
            assert_history_matches_outbox(rows, room, &notifications);
            self.assert_bodies(rows, &notifications);
        }
    }
}

/// Far more notifications than Synapse's burst allows, to several rooms: all arrive, none
/// twice, each room in order; the bot was really held back by the homeserver.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_under_default_rate_limits() {
    let Some(env) = homeserver() else { return };
    let started = Instant::now();
    let mut alice = MxClient::start(&env, "alice", "alice-pw").await;
    let mut bot = Bot::new(&env, &mut alice, "burst").await;
    let fleet = Fleet::new(&mut alice, &bot, 3, 5).await;
    bot.start().await;
    let b = bot.user_id.clone();
    fleet.wait_joined(&mut alice, &b).await;

    fleet.go_live_then_retitle().await;
    eprintln!(
        "burst: notifications start after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let rows = bot.wait_all_delivered(fleet.notifications()).await;
    if std::env::var("MX_RATELIMIT").as_deref() == Ok("off") {
        eprintln!("MX_RATELIMIT=off: not checking that Synapse held the bot back");
    } else {
        let limited = bot
            .daemon()
            .wait_log(&["send failed; the queue waits", "M_LIMIT_EXCEEDED"])
            .await;
        eprintln!("rate limited: {limited}");
    }
    fleet.assert_rooms(&mut alice, &b, &rows, &[]).await;

    bot.stop().await;
    eprintln!(
        "burst: {} notifications in {:.1} s",
        rows.len(),
        started.elapsed().as_secs_f64()
    );
}

/// SIGKILL with notifications queued: after a restart on the same database and device every
/// one arrives exactly once, and a command answered before the crash is not answered again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_with_queued_notifications() {
    let Some(env) = homeserver() else { return };
    let started = Instant::now();
    let mut alice = MxClient::start(&env, "alice", "alice-pw").await;
    let mut bot = Bot::new(&env, &mut alice, "sigkill").await;
    // One message every 2 s on the bot's side: a long queue from the start.
    bot.config
        .set_raw("matrix", "messages_per_second", "0.5")
        .set_raw("matrix", "message_burst", "1");
    let fleet = Fleet::new(&mut alice, &bot, 3, 3).await;
    bot.start().await;
    let b = bot.user_id.clone();
    let device = bot.daemon().wait_log(&["logged in to Matrix"]).await;
    let device = device
        .split("device=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("device id in the log")
        .to_owned();
    fleet.wait_joined(&mut alice, &b).await;
    let mut sent = Vec::new();
    command(&mut alice, &fleet.rooms[0], &b, "!owncast help", &mut sent).await;

    fleet.go_live_then_retitle().await;
    let total = fleet.notifications();
    // Delivered as far as the database knows, not only sent: the kill must leave some
    // delivered rows behind.
    bot.wait_outbox("every notification committed, one delivered", |rows| {
        rows.len() >= total && rows.iter().any(|r| r.delivered_at.is_some())
    })
    .await;
    bot.daemon.take().expect("running").kill();
    let rows = bot.outbox().await;
    let pending = rows.iter().filter(|r| r.delivered_at.is_none()).count();
    assert!(
        pending >= 15 && pending < total,
        "{pending} of {total} pending at the kill:\n{}",
        describe(&rows)
    );

    bot.start().await;
    bot.daemon()
        .wait_log(&["restoring the Matrix session", &device])
        .await;
    bot.daemon()
        .wait_log(&["re-sending undelivered notifications"])
        .await;
    let rows = bot.wait_all_delivered(total).await;
    fleet.assert_rooms(&mut alice, &b, &rows, &sent).await;

    bot.stop().await;
    eprintln!(
        "sigkill: {} notifications, {pending} pending at the kill, {:.1} s",
        rows.len(),
        started.elapsed().as_secs_f64()
    );
}
