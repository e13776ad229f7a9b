//! `owncast-sentry subscriptions add|remove|list`: operator tools on the same database, with
//! the same normalisation and validation as the chat command.

use std::process::ExitCode;

use anyhow::{Context as _, bail};
use chrono::Utc;
use matrix_sdk::ruma::RoomId;
use owncast_sentry::daemon::{client_settings, delta};
use owncast_sentry::logic::target::StreamTarget;
use owncast_sentry::owncast::OwncastClient;
use owncast_sentry::settings::Settings;
use owncast_sentry::storage;
use owncast_sentry::storage::subscriptions::{self, Added, Removed};

/// Recorded as the subscriber of subscriptions made with this tool.
const OPERATOR: &str = "operator (command line)";

fn room_id(room: &str) -> anyhow::Result<String> {
    RoomId::parse(room)
        .map(|id| id.to_string())
        .with_context(|| {
            format!("`{room}` is not a Matrix room id (they look like !abc:example.org)")
        })
}

pub fn add(settings: &Settings, room: &str, input: &str) -> anyhow::Result<ExitCode> {
    let room = room_id(room)?;
    let target = StreamTarget::parse(input)?;
    let mut db = storage::connect(&settings.database.url)?;
    if !subscriptions::is_followed(&mut db, target.key())? {
        let client = client_settings(settings);
        let checked = super::block_on(async { OwncastClient::new(&client)?.status(&target).await });
        if let Err(error) = checked {
            bail!("{target}: {error}");
        }
    }
    let limit = settings.owncast.max_subscriptions_per_room;
    match subscriptions::add(&mut db, &room, target.key(), OPERATOR, Utc::now(), limit)? {
        Added::Subscribed => println!("{room} is now subscribed to {target}"),
        Added::AlreadySubscribed => println!("{room} is already subscribed to {target}"),
        Added::LimitReached { limit } => {
            bail!("{room} already has {limit} subscriptions (owncast.max_subscriptions_per_room)")
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn remove(settings: &Settings, room: &str, input: &str) -> anyhow::Result<ExitCode> {
    let room = room_id(room)?;
    let target = StreamTarget::parse(input)?;
    let mut db = storage::connect(&settings.database.url)?;
    match subscriptions::remove(&mut db, &room, target.key())? {
        Removed::Unsubscribed { .. } => {
            println!("{room} is no longer subscribed to {target}");
            Ok(ExitCode::SUCCESS)
        }
        Removed::NotSubscribed => bail!("{room} is not subscribed to {target}"),
    }
}

pub fn list(settings: &Settings, room: Option<&str>) -> anyhow::Result<ExitCode> {
    let room = room.map(room_id).transpose()?;
    let mut db = storage::connect(&settings.database.url)?;
    let now = Utc::now();
    let stale_after = delta(settings.failures.stale_after);
    for (row, state) in subscriptions::list_with_state(&mut db, room.as_deref())? {
        let status = state.presence(now, stale_after).as_str();
        println!(
            "{}\t{}\t{}\t{}\t{}",
            row.room_id, row.domain, status, state.name, state.title
        );
    }
    Ok(ExitCode::SUCCESS)
}
