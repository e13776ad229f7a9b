//! Configuration (behaviour §7): a TOML file overridden by `OWNCAST_SENTRY__SECTION__KEY`
//! environment variables. Unknown keys and bad values are refused with the key named.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

mod validate;

pub use validate::SettingsError;

/// The file read when `--config` is not given, if it exists.
pub const DEFAULT_FILE: &str = "owncast-sentry.toml";
/// Environment variables with this prefix (and `__` between parts) override the file.
pub const ENV_PREFIX: &str = "OWNCAST_SENTRY";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub database: DatabaseSettings,
    /// Without this section notifications go to standard output.
    pub matrix: Option<MatrixSettings>,
    pub owncast: OwncastSettings,
    pub notifications: NotificationSettings,
    pub failures: FailureSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `sqlite://PATH` (default `sqlite://owncast-sentry.db`) or `postgres://…`.
    pub url: String,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: "sqlite://owncast-sentry.db".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MatrixSettings {
    pub homeserver: String,
    pub user_id: String,
    pub password: Option<String>,
    pub access_token: Option<String>,
    pub device_name: String,
    /// Session and encryption store; keep it to keep the device.
    pub store_path: PathBuf,
    pub command_prefix: String,
    /// Users allowed to manage subscriptions whatever their power level.
    pub admins: Vec<String>,
    pub min_power_level: i64,
    pub autojoin: bool,
    /// Client-side send rate (messages per second, sustained) and burst.
    pub messages_per_second: f64,
    pub message_burst: u32,
}

impl Default for MatrixSettings {
    fn default() -> Self {
        Self {
            homeserver: String::new(),
            user_id: String::new(),
            password: None,
            access_token: None,
            device_name: "owncast-sentry".into(),
            store_path: PathBuf::from("owncast-sentry-store"),
            command_prefix: "!owncast".into(),
            admins: Vec::new(),
            min_power_level: 50,
            autojoin: true,
            messages_per_second: 2.0,
            message_burst: 10,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OwncastSettings {
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    pub max_concurrent_requests: usize,
    pub user_agent: String,
    /// An HTTP proxy for every Owncast request.
    pub proxy: Option<String>,
    pub allow_private_addresses: bool,
    pub max_subscriptions_per_room: usize,
}

impl Default for OwncastSettings {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(60),
            request_timeout: Duration::from_secs(10),
            max_concurrent_requests: 64,
            user_agent: concat!(
                "owncast-sentry/",
                env!("CARGO_PKG_VERSION"),
                " (stream notification bot)"
            )
            .into(),
            proxy: None,
            allow_private_addresses: false,
            max_subscriptions_per_room: 100,
        }
    }
}

/// The Matrix message type of notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum MsgType {
    #[serde(rename = "m.text")]
    Text,
    #[serde(rename = "m.notice")]
    Notice,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotificationSettings {
    #[serde(with = "humantime_serde")]
    pub cooldown: Duration,
    #[serde(with = "humantime_serde")]
    pub temporary_offline_cooldown: Duration,
    pub msgtype: MsgType,
}

impl Default for NotificationSettings {
    fn default() -> Self {
        Self {
            cooldown: Duration::from_secs(20 * 60),
            temporary_offline_cooldown: Duration::from_secs(5 * 60),
            msgtype: MsgType::Text,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FailureSettings {
    #[serde(with = "humantime_serde")]
    pub stale_after: Duration,
    #[serde(with = "humantime_serde")]
    pub warn_after: Duration,
    #[serde(with = "humantime_serde")]
    pub remove_after: Duration,
    #[serde(with = "humantime_serde")]
    pub max_backoff: Duration,
}

impl Default for FailureSettings {
    fn default() -> Self {
        Self {
            stale_after: Duration::from_secs(10 * 60),
            warn_after: Duration::from_secs(24 * 3600),
            remove_after: Duration::from_secs(7 * 24 * 3600),
            max_backoff: Duration::from_secs(3600),
        }
    }
}

impl Settings {
    /// Reads `file` (or [`DEFAULT_FILE`] if present), applies environment overrides, and
    /// validates the result.
    pub fn load(file: Option<&Path>) -> Result<Self, SettingsError> {
        Self::load_with_env(file, std::env::vars())
    }

    /// As [`Settings::load`], with the environment given explicitly (tests).
    pub fn load_with_env(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, SettingsError> {
        use config::{Config, Environment, File, FileFormat};

        let mut builder = Config::builder();
        match file {
            Some(path) => {
                if !path.is_file() {
                    return Err(SettingsError::MissingFile(path.to_owned()));
                }
                builder = builder.add_source(File::from(path).format(FileFormat::Toml));
            }
            None if Path::new(DEFAULT_FILE).is_file() => {
                builder = builder.add_source(File::new(DEFAULT_FILE, FileFormat::Toml));
            }
            None => {}
        }
        let env: config::Map<String, String> = env
            .into_iter()
            .filter(|(key, _)| key.starts_with(&format!("{ENV_PREFIX}__")))
            .collect();
        builder = builder.add_source(
            Environment::with_prefix(ENV_PREFIX)
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .list_separator(",")
                .with_list_parse_key("matrix.admins")
                .source(Some(env)),
        );
        let settings: Settings = builder
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(SettingsError::from_config)?;
        settings.validate()?;
        Ok(settings)
    }
}

#[cfg(test)]
mod tests;
