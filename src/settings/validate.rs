//! Checks that serde cannot express, each naming the offending key.

use std::path::PathBuf;
use std::time::Duration;

use super::Settings;

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("configuration file {0} does not exist")]
    MissingFile(PathBuf),
    #[error("configuration: {0}")]
    Parse(String),
    #[error("configuration key `{key}`: {reason}")]
    Invalid { key: &'static str, reason: String },
}

impl SettingsError {
    pub(super) fn from_config(error: config::ConfigError) -> Self {
        Self::Parse(error.to_string())
    }

    fn invalid(key: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            key,
            reason: reason.into(),
        }
    }
}

fn positive(key: &'static str, d: Duration) -> Result<(), SettingsError> {
    if d.is_zero() {
        return Err(SettingsError::invalid(key, "must be longer than zero"));
    }
    Ok(())
}

impl Settings {
    pub(super) fn validate(&self) -> Result<(), SettingsError> {
        positive("owncast.poll_interval", self.owncast.poll_interval)?;
        positive("owncast.request_timeout", self.owncast.request_timeout)?;
        positive("failures.max_backoff", self.failures.max_backoff)?;
        if self.owncast.max_concurrent_requests == 0 {
            return Err(SettingsError::invalid(
                "owncast.max_concurrent_requests",
                "must be at least 1",
            ));
        }
        if self.owncast.max_subscriptions_per_room == 0 {
            return Err(SettingsError::invalid(
                "owncast.max_subscriptions_per_room",
                "must be at least 1",
            ));
        }
        if self.owncast.user_agent.trim().is_empty() {
            return Err(SettingsError::invalid(
                "owncast.user_agent",
                "must not be empty",
            ));
        }
        if let Some(proxy) = &self.owncast.proxy {
            let ok = url::Url::parse(proxy)
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https" | "socks5" | "socks5h"));
            if !ok {
                return Err(SettingsError::invalid(
                    "owncast.proxy",
                    format!("`{proxy}` is not a proxy URL such as http://127.0.0.1:3128"),
                ));
            }
        }
        if !(self.database.url.starts_with("sqlite:")
            || self.database.url.starts_with("postgres://")
            || self.database.url.starts_with("postgresql://"))
        {
            return Err(SettingsError::invalid(
                "database.url",
                format!(
                    "`{}` is neither sqlite://PATH nor postgres://…",
                    self.database.url
                ),
            ));
        }
        if let Some(matrix) = &self.matrix {
            matrix.validate()?;
        }
        Ok(())
    }
}

impl super::MatrixSettings {
    fn validate(&self) -> Result<(), SettingsError> {
        if url::Url::parse(&self.homeserver)
            .map(|u| !matches!(u.scheme(), "http" | "https"))
            .unwrap_or(true)
        {
            return Err(SettingsError::invalid(
                "matrix.homeserver",
                format!("`{}` is not an http(s) URL", self.homeserver),
            ));
        }
        if !self.user_id.starts_with('@') || !self.user_id.contains(':') {
            return Err(SettingsError::invalid(
                "matrix.user_id",
                format!(
                    "`{}` is not a Matrix user id like @bot:example.org",
                    self.user_id
                ),
            ));
        }
        match (&self.password, &self.access_token) {
            (None, None) => {
                return Err(SettingsError::invalid(
                    "matrix.password",
                    "set matrix.password or matrix.access_token",
                ));
            }
            (Some(_), Some(_)) => {
                return Err(SettingsError::invalid(
                    "matrix.access_token",
                    "set either matrix.password or matrix.access_token, not both",
                ));
            }
            _ => {}
        }
        if self.command_prefix.trim().is_empty()
            || self.command_prefix.contains(char::is_whitespace)
        {
            return Err(SettingsError::invalid(
                "matrix.command_prefix",
                "must be one word such as !owncast",
            ));
        }
        if !(self.messages_per_second.is_finite() && self.messages_per_second > 0.0) {
            return Err(SettingsError::invalid(
                "matrix.messages_per_second",
                "must be a positive number",
            ));
        }
        if self.message_burst == 0 {
            return Err(SettingsError::invalid(
                "matrix.message_burst",
                "must be at least 1",
            ));
        }
        if let Some(bad) = self.admins.iter().find(|a| !a.starts_with('@')) {
            return Err(SettingsError::invalid(
                "matrix.admins",
                format!("`{bad}` is not a Matrix user id"),
            ));
        }
        Ok(())
    }
}
