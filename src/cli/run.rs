//! `owncast-sentry run`.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use owncast_sentry::actors::stdout::StdoutNotifier;
use owncast_sentry::daemon::Daemon;
use owncast_sentry::matrix::bot::Bot;
use owncast_sentry::settings::Settings;
use tokio::signal::unix::{SignalKind, signal};

enum Running {
    Bot(Bot),
    Stdout(Daemon),
}

/// How long shutdown may take to commit and deliver what is pending.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

pub fn run(settings: Settings) -> anyhow::Result<ExitCode> {
    let system = actix::System::new();
    let result = system.block_on(async move {
        let mut terminate = signal(SignalKind::terminate()).context("SIGTERM handler")?;
        let mut interrupt = signal(SignalKind::interrupt()).context("SIGINT handler")?;
        let running = if settings.matrix.is_some() {
            Running::Bot(Bot::start(&settings).await?)
        } else {
            tracing::info!("no [matrix] section: notifications go to standard output");
            Running::Stdout(Daemon::start(&settings, StdoutNotifier::start_for).await?)
        };
        tracing::info!(database = %redact(&settings.database.url), "running");
        tokio::select! {
            _ = terminate.recv() => tracing::info!("SIGTERM: shutting down"),
            _ = interrupt.recv() => tracing::info!("SIGINT: shutting down"),
        }
        match running {
            Running::Bot(bot) => bot.shutdown(SHUTDOWN_GRACE).await,
            Running::Stdout(daemon) => daemon.shutdown(SHUTDOWN_GRACE).await,
        }
        tracing::info!("stopped");
        Ok(ExitCode::SUCCESS)
    });
    // Actors still alive are dropped with the system, outside `block_on`. The Matrix client's
    // SQLite pool closes its connections through `spawn_blocking`, which panics (and aborts the
    // process, being in a destructor) unless a runtime is entered.
    let handle = system.runtime().tokio_runtime().handle().clone();
    let _entered = handle.enter();
    drop(system);
    result
}

/// The database URL without a password.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}
