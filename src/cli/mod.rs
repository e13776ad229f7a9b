//! Command-line interface (behaviour §7).

mod check;
mod run;
mod subscriptions;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use owncast_sentry::settings::Settings;
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(
    name = "owncast-sentry",
    version,
    about = "Announces Owncast streams in Matrix rooms"
)]
pub struct Cli {
    /// Configuration file (TOML); default: owncast-sentry.toml if present.
    #[arg(long, short, global = true, value_name = "FILE")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the daemon: poll every followed server and send notifications.
    Run,
    /// Poll one server once and print its name, title, live state and version.
    Check {
        /// Domain or URL of the Owncast server.
        target: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Manage subscriptions directly in the database.
    #[command(subcommand)]
    Subscriptions(SubscriptionsCommand),
}

#[derive(Debug, Subcommand)]
enum SubscriptionsCommand {
    /// Subscribe a room to a server (validated like the chat command).
    Add {
        /// Matrix room id, e.g. !abc:example.org
        room: String,
        /// Domain or URL of the Owncast server.
        target: String,
    },
    /// Unsubscribe a room from a server.
    Remove { room: String, target: String },
    /// List subscriptions, optionally of one room.
    List { room: Option<String> },
}

fn init_logs(default: &str) {
    // The crypto store warns on every key share that no server-side backup is set up, which
    // a bot does not use.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{default},matrix_sdk_crypto::backups=error")));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(cli.config.as_deref()).context("invalid configuration")?;
    match cli.command {
        Command::Run => {
            init_logs("info");
            run::run(settings)
        }
        Command::Check { target, json } => {
            init_logs("warn");
            check::check(&settings, &target, json)
        }
        Command::Migrate => {
            init_logs("info");
            let mut db = owncast_sentry::storage::connection::open(&settings.database.url)?;
            let applied = owncast_sentry::storage::connection::migrate(&mut db)?;
            println!("database is up to date ({applied} migrations applied)");
            Ok(ExitCode::SUCCESS)
        }
        Command::Subscriptions(command) => {
            init_logs("warn");
            match command {
                SubscriptionsCommand::Add { room, target } => {
                    subscriptions::add(&settings, &room, &target)
                }
                SubscriptionsCommand::Remove { room, target } => {
                    subscriptions::remove(&settings, &room, &target)
                }
                SubscriptionsCommand::List { room } => {
                    subscriptions::list(&settings, room.as_deref())
                }
            }
        }
    }
}

/// Runs `future` on a fresh actix system (one runtime, so one HTTP client, per command).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    actix::System::new().block_on(future)
}
