//! The address guard: keeps chat-supplied targets from reaching loopback, private or otherwise
//! non-public addresses.
//!
//! A look-up made before the request would not be enough: the name could resolve differently a
//! moment later (DNS rebinding). So the check sits in the resolver the HTTP client connects
//! with, and every address it hands out has passed. IP literals never reach a resolver and are
//! checked up front; redirects are checked as they are followed.

use std::collections::HashSet;
use std::error::Error;
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect;
use url::{Host, Url};

use super::error::{BlockReason, OwncastError};
use crate::logic::address::{classify, is_public};
use crate::logic::target::StreamTarget;

pub(super) const MAX_REDIRECTS: usize = 5;

/// Environment variables reqwest reads its system proxies from.
const PROXY_ENV_VARS: [&str; 6] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// A request the guard refused; travels through reqwest's error chain to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct GuardError {
    pub host: String,
    pub reason: BlockReason,
}

impl fmt::Display for GuardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.host, self.reason)
    }
}

impl Error for GuardError {}

impl From<GuardError> for OwncastError {
    fn from(err: GuardError) -> Self {
        OwncastError::Blocked {
            host: err.host,
            reason: err.reason,
        }
    }
}

/// A redirect that is refused for a reason other than its address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RedirectError {
    TooMany,
    Scheme,
}

impl fmt::Display for RedirectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedirectError::TooMany => write!(f, "more than {MAX_REDIRECTS} redirects"),
            RedirectError::Scheme => f.write_str("redirect to an address that is not http(s)"),
        }
    }
}

impl Error for RedirectError {}

/// Refuses a target whose host is a non-public IP literal.
pub(super) fn check_target(target: &StreamTarget) -> Result<(), GuardError> {
    match target.ip_literal() {
        Some(ip) if !is_public(ip) => Err(GuardError {
            host: target.host().to_owned(),
            reason: BlockReason::Address(classify(ip)),
        }),
        _ => Ok(()),
    }
}

/// Follows at most [`MAX_REDIRECTS`] http(s) redirects; with `check_addresses`, also refuses
/// redirects to non-public IP literals (redirects to names go through [`PublicOnlyResolver`]).
pub(super) fn redirect_policy(check_addresses: bool) -> redirect::Policy {
    redirect::Policy::custom(move |attempt| {
        // `previous` includes the original request, as in reqwest's own limited policy.
        if attempt.previous().len() > MAX_REDIRECTS {
            return attempt.error(RedirectError::TooMany);
        }
        let url = attempt.url();
        if !matches!(url.scheme(), "http" | "https") {
            return attempt.error(RedirectError::Scheme);
        }
        if check_addresses && let Some(ip) = ip_literal(url).filter(|ip| !is_public(*ip)) {
            let err = GuardError {
                host: ip.to_string(),
                reason: BlockReason::RedirectTo(classify(ip)),
            };
            return attempt.error(err);
        }
        attempt.follow()
    })
}

fn ip_literal(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
        Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        Host::Domain(_) => None,
    }
}

/// Resolves with the system resolver and hands out only public addresses.
#[derive(Debug, Default)]
pub(super) struct PublicOnlyResolver {
    /// Proxy hosts. Through a proxy the proxy resolves the target, and the proxy itself is an
    /// operator's choice that may well live on a private network.
    exempt: HashSet<String>,
}

impl PublicOnlyResolver {
    pub(super) fn new(exempt: HashSet<String>) -> Self {
        PublicOnlyResolver { exempt }
    }
}

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let exempt = self.exempt.contains(&normalise_host(&host));
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if exempt {
                return Ok(Box::new(addrs.into_iter()) as Addrs);
            }
            let (public, refused): (Vec<SocketAddr>, Vec<SocketAddr>) =
                addrs.into_iter().partition(|a| is_public(a.ip()));
            if !public.is_empty() {
                return Ok(Box::new(public.into_iter()) as Addrs);
            }
            match refused.first() {
                Some(addr) => Err(GuardError {
                    host,
                    reason: BlockReason::ResolvesTo(classify(addr.ip())),
                }
                .into()),
                None => Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("{host} has no addresses"),
                )
                .into()),
            }
        })
    }
}

/// The host names of the proxies reqwest will use: the configured one, or else those from the
/// environment (reqwest ignores the environment once a proxy is configured).
pub(super) fn proxy_hosts(
    configured: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
) -> HashSet<String> {
    let raw: Vec<String> = match configured {
        Some(proxy) => vec![proxy.to_owned()],
        None => PROXY_ENV_VARS.iter().filter_map(|var| env(var)).collect(),
    };
    raw.iter().filter_map(|p| proxy_host(p)).collect()
}

fn proxy_host(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    // Proxy variables are often written without a scheme (`proxy.lan:3128`).
    let url = if raw.contains("://") {
        Url::parse(raw)
    } else {
        Url::parse(&format!("http://{raw}"))
    }
    .ok()?;
    match url.host()? {
        Host::Domain(domain) => Some(normalise_host(domain)),
        // Literal proxy addresses are connected to directly, without the resolver.
        Host::Ipv4(_) | Host::Ipv6(_) => None,
    }
}

fn normalise_host(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logic::address::AddressClass;

    fn target(s: &str) -> StreamTarget {
        match StreamTarget::parse(s) {
            Ok(t) => t,
            Err(e) => panic!("bad test target {s}: {e}"),
        }
    }

    #[test]
    fn literal_targets() {
        let cases = [
            ("http://127.0.0.1:8080", Some(AddressClass::Loopback)),
            ("10.0.0.5", Some(AddressClass::Private)),
            ("[::1]:9000", Some(AddressClass::Loopback)),
            ("[fd00::1]", Some(AddressClass::UniqueLocal)),
            ("[::ffff:192.168.1.1]", Some(AddressClass::Private)),
            ("8.8.8.8", None),
            ("example.com", None),
            ("localhost", None),
        ];
        for (input, refused) in cases {
            let result = check_target(&target(input));
            match refused {
                Some(class) => assert_eq!(
                    result.map_err(|e| e.reason),
                    Err(BlockReason::Address(class)),
                    "{input}"
                ),
                None => assert_eq!(result, Ok(()), "{input}"),
            }
        }
        let Err(err) = check_target(&target("[::1]")) else {
            panic!("::1 must be refused");
        };
        assert_eq!(
            OwncastError::from(err).to_string(),
            "refused: ::1 is a loopback address"
        );
    }

    #[test]
    fn proxy_hosts_from_configuration_or_environment() {
        let env = |var: &str| match var {
            "HTTPS_PROXY" => Some("http://Proxy.Example:3128".to_owned()),
            "http_proxy" => Some("squid.lan:8080".to_owned()),
            "ALL_PROXY" => Some("http://10.0.0.1:3128".to_owned()),
            "all_proxy" => Some("  ".to_owned()),
            _ => None,
        };
        let from_env = proxy_hosts(None, env);
        let expected: HashSet<String> = ["proxy.example", "squid.lan"]
            .into_iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(from_env, expected);

        let configured = proxy_hosts(Some("http://user:pw@egress.internal.:3128"), env);
        let expected: HashSet<String> = ["egress.internal".to_owned()].into_iter().collect();
        assert_eq!(configured, expected);

        assert!(proxy_hosts(None, |_| None).is_empty());
    }

    #[tokio::test]
    async fn resolver_refuses_names_of_loopback() {
        let resolver = PublicOnlyResolver::default();
        let Ok(name) = "localhost".parse::<Name>() else {
            panic!("valid name");
        };
        let err = match resolver.resolve(name).await {
            Ok(addrs) => panic!("localhost resolved to {:?}", addrs.collect::<Vec<_>>()),
            Err(e) => e,
        };
        let Some(guard) = err.downcast_ref::<GuardError>() else {
            panic!("expected a guard error, got {err}");
        };
        assert_eq!(guard.host, "localhost");
        assert_eq!(
            guard.reason,
            BlockReason::ResolvesTo(AddressClass::Loopback)
        );
    }

    #[tokio::test]
    async fn resolver_lets_proxy_hosts_through() {
        let resolver = PublicOnlyResolver::new(["localhost".to_owned()].into_iter().collect());
        let Ok(name) = "LOCALHOST".parse::<Name>() else {
            panic!("valid name");
        };
        match resolver.resolve(name).await {
            Ok(addrs) => assert!(addrs.count() > 0),
            Err(e) => panic!("proxy host must resolve: {e}"),
        }
    }
}
