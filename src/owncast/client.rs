//! The HTTP client that polls Owncast servers.

use std::error::Error;
use std::time::Duration;

use reqwest::header::{ACCEPT, HeaderMap, HeaderValue};

use super::config::StreamConfig;
use super::error::OwncastError;
use super::guard::{self, GuardError, PublicOnlyResolver, RedirectError};
use super::status::StreamStatus;
use crate::logic::target::StreamTarget;

/// A status body is a few hundred bytes; anything near this is not Owncast.
const STATUS_BODY_LIMIT: usize = 64 * 1024;
/// Config carries custom CSS and page content, so it may legitimately be larger.
const CONFIG_BODY_LIMIT: usize = 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSettings {
    /// Bound on one whole request: connect, headers and body.
    pub request_timeout: Duration,
    pub user_agent: String,
    /// An `http://host:port` proxy for every request. Without it the standard
    /// `HTTP_PROXY`/`HTTPS_PROXY`/`ALL_PROXY`/`NO_PROXY` variables apply.
    pub proxy: Option<String>,
    pub allow_private_addresses: bool,
}

impl Default for ClientSettings {
    fn default() -> Self {
        ClientSettings {
            request_timeout: Duration::from_secs(10),
            user_agent: concat!("owncast-sentry/", env!("CARGO_PKG_VERSION")).to_owned(),
            proxy: None,
            allow_private_addresses: false,
        }
    }
}

/// Cheap to clone: all clones share one connection pool. Build it on the runtime that will use
/// it, since pooled connections belong to the runtime that opened them.
#[derive(Debug, Clone)]
pub struct OwncastClient {
    http: reqwest::Client,
    check_addresses: bool,
}

impl OwncastClient {
    pub fn new(settings: &ClientSettings) -> Result<OwncastClient, OwncastError> {
        let check_addresses = !settings.allow_private_addresses;
        let user_agent = HeaderValue::from_str(&settings.user_agent).map_err(|_| {
            OwncastError::Settings("the user agent is not a valid HTTP header value".into())
        })?;
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));

        let mut builder = reqwest::Client::builder()
            .tls_backend_rustls()
            .user_agent(user_agent)
            .default_headers(headers)
            .gzip(true)
            .timeout(settings.request_timeout)
            .connect_timeout(settings.request_timeout)
            .referer(false)
            .redirect(guard::redirect_policy(check_addresses));
        if let Some(proxy) = &settings.proxy {
            builder = builder.proxy(parse_proxy(proxy)?);
        }
        if check_addresses {
            let exempt =
                guard::proxy_hosts(settings.proxy.as_deref(), |var| std::env::var(var).ok());
            builder = builder.dns_resolver(PublicOnlyResolver::new(exempt));
        }
        let http = builder
            .build()
            .map_err(|e| OwncastError::Settings(root_cause(&e)))?;
        Ok(OwncastClient {
            http,
            check_addresses,
        })
    }

    /// `GET <base>/api/status`.
    pub async fn status(&self, target: &StreamTarget) -> Result<StreamStatus, OwncastError> {
        let body = self.fetch(target, "/api/status", STATUS_BODY_LIMIT).await?;
        StreamStatus::parse(&body)
    }

    /// `GET <base>/api/config`.
    pub async fn config(&self, target: &StreamTarget) -> Result<StreamConfig, OwncastError> {
        let body = self.fetch(target, "/api/config", CONFIG_BODY_LIMIT).await?;
        StreamConfig::parse(&body)
    }

    async fn fetch(
        &self,
        target: &StreamTarget,
        path: &str,
        limit: usize,
    ) -> Result<Vec<u8>, OwncastError> {
        if self.check_addresses {
            guard::check_target(target)?;
        }
        let mut response = self
            .http
            .get(target.endpoint(path))
            .send()
            .await
            .map_err(map_reqwest)?;
        let status = response.status();
        if !status.is_success() {
            return Err(OwncastError::Status(status.as_u16()));
        }
        read_capped(&mut response, limit).await
    }
}

fn parse_proxy(proxy: &str) -> Result<reqwest::Proxy, OwncastError> {
    // The proxy URL may carry credentials, so it is never repeated in the message.
    let invalid = || OwncastError::Settings("the proxy is not a valid http(s) URL".into());
    let url = url::Url::parse(proxy).map_err(|_| invalid())?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(invalid());
    }
    reqwest::Proxy::all(url).map_err(|_| invalid())
}

/// Reads the body while counting, so a hostile server cannot make us buffer more than `limit`
/// (decompressed) bytes; a declared length over the limit is refused before reading at all.
async fn read_capped(
    response: &mut reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, OwncastError> {
    let declared = response.content_length();
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(OwncastError::TooLarge { limit });
    }
    let capacity = declared.map_or(0, |len| len as usize);
    let mut body = Vec::with_capacity(capacity);
    while let Some(chunk) = response.chunk().await.map_err(map_reqwest)? {
        if body.len() + chunk.len() > limit {
            return Err(OwncastError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn map_reqwest(err: reqwest::Error) -> OwncastError {
    if let Some(blocked) = find_in_chain::<GuardError>(&err) {
        return blocked.clone().into();
    }
    if let Some(redirect) = find_in_chain::<RedirectError>(&err) {
        return OwncastError::Request(redirect.to_string());
    }
    if err.is_timeout() {
        return OwncastError::Timeout;
    }
    let cause = root_cause(&err);
    if err.is_connect() {
        OwncastError::Connect(cause)
    } else if err.is_body() || err.is_decode() {
        OwncastError::Request(format!("could not read the response: {cause}"))
    } else {
        OwncastError::Request(cause)
    }
}

fn find_in_chain<'a, T: Error + 'static>(err: &'a (dyn Error + 'static)) -> Option<&'a T> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<T>() {
            return Some(found);
        }
        current = e.source();
    }
    None
}

/// The innermost message ("Connection refused (os error 111)") is the one a user can act on;
/// the outer layers only repeat the URL and the library's plumbing.
fn root_cause(err: &(dyn Error + 'static)) -> String {
    let mut current = err;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_with_defaults_and_with_a_proxy() {
        assert!(OwncastClient::new(&ClientSettings::default()).is_ok());
        let with_proxy = ClientSettings {
            proxy: Some("http://proxy.example:3128".into()),
            ..ClientSettings::default()
        };
        assert!(OwncastClient::new(&with_proxy).is_ok());
    }

    #[test]
    fn refuses_bad_settings() {
        for proxy in ["not a url", "socks5://proxy.example:1080", "http://"] {
            let settings = ClientSettings {
                proxy: Some(proxy.into()),
                ..ClientSettings::default()
            };
            assert!(
                matches!(
                    OwncastClient::new(&settings),
                    Err(OwncastError::Settings(_))
                ),
                "{proxy}"
            );
        }
        let settings = ClientSettings {
            user_agent: "bad\nagent".into(),
            ..ClientSettings::default()
        };
        assert!(matches!(
            OwncastClient::new(&settings),
            Err(OwncastError::Settings(_))
        ));
    }

    #[test]
    fn proxy_error_does_not_leak_credentials() {
        let settings = ClientSettings {
            proxy: Some("ftp://user:secret@proxy.example".into()),
            ..ClientSettings::default()
        };
        match OwncastClient::new(&settings) {
            Err(e) => assert!(!e.to_string().contains("secret")),
            Ok(_) => panic!("ftp proxy must be refused"),
        }
    }
}
