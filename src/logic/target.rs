//! The normalised identity of an Owncast server.
//!
//! Users write the same server in many ways (`Example.COM.`, `https://example.com/watch`,
//! `example.com:443`); all of them must map to one subscription, so the identity is built from
//! the parts that decide where a request goes: scheme, ASCII host and non-default port.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;

use url::Url;

/// Longest input accepted; real addresses are far shorter, and the input is echoed in errors.
const MAX_INPUT_LEN: usize = 2048;
/// How much of the user's input an error message repeats.
const MAX_ECHO_CHARS: usize = 80;
const MAX_DOMAIN_LEN: usize = 253;
const MAX_LABEL_LEN: usize = 63;

/// Why an input is not a usable Owncast address. Messages are shown to chat users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("no address given")]
    Empty,
    #[error("the address is too long")]
    TooLong,
    #[error("`{0}` is not an http(s) address")]
    UnsupportedScheme(String),
    #[error("`{0}`: addresses with a user name or password are not accepted")]
    UserInfo(String),
    #[error("missing host in `{0}`")]
    MissingHost(String),
    #[error("`{0}` is not a valid domain")]
    InvalidDomain(String),
    #[error("`{0}` is not a valid IP address")]
    InvalidIp(String),
    #[error("`{0}` has an invalid port")]
    InvalidPort(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Scheme {
    Http,
    Https,
}

impl Scheme {
    fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// A normalised Owncast server address; two spellings of one server compare equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StreamTarget {
    scheme: Scheme,
    /// ASCII host; IPv6 without brackets.
    host: String,
    ip: Option<IpAddr>,
    /// Only a non-default port is kept, so `example.com:443` and `example.com` are one target.
    port: Option<u16>,
    key: String,
    base: Url,
}

impl StreamTarget {
    /// Normalises a user-supplied domain or URL.
    pub fn parse(input: &str) -> Result<StreamTarget, TargetError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(TargetError::Empty);
        }
        if input.len() > MAX_INPUT_LEN {
            return Err(TargetError::TooLong);
        }
        if input.chars().any(char::is_whitespace) {
            return Err(TargetError::InvalidDomain(echo(input)));
        }

        let (scheme, rest) = split_scheme(input);
        let scheme = match scheme.map(str::to_ascii_lowercase).as_deref() {
            None | Some("https") => Scheme::Https,
            Some("http") => Scheme::Http,
            Some(_) => return Err(TargetError::UnsupportedScheme(echo(input))),
        };

        // A bare IPv6 address (`::1`) is unambiguous, though a URL would need brackets.
        let bracketed;
        let rest = if rest.parse::<Ipv6Addr>().is_ok() {
            bracketed = format!("[{rest}]");
            bracketed.as_str()
        } else {
            rest
        };

        let authority = authority_of(rest);
        if authority.is_empty() {
            return Err(TargetError::MissingHost(echo(input)));
        }
        // Checked on the raw text: the URL parser drops an empty user name silently.
        if authority.contains('@') {
            return Err(TargetError::UserInfo(echo(input)));
        }

        let url = Url::parse(&format!("{}://{rest}", scheme.as_str()))
            .map_err(|e| url_error(e, input))?;

        let (host, ip) = match url.host() {
            None => return Err(TargetError::MissingHost(echo(input))),
            Some(url::Host::Domain(domain)) => (normalise_domain(domain, input)?, None),
            Some(url::Host::Ipv4(v4)) => (v4.to_string(), Some(IpAddr::V4(v4))),
            Some(url::Host::Ipv6(v6)) => (v6.to_string(), Some(IpAddr::V6(v6))),
        };

        let port = match url.port() {
            Some(0) => return Err(TargetError::InvalidPort(echo(input))),
            Some(p) if p == scheme.default_port() => None,
            other => other,
        };

        Self::from_parts(scheme, host, ip, port, input)
    }

    fn from_parts(
        scheme: Scheme,
        host: String,
        ip: Option<IpAddr>,
        port: Option<u16>,
        input: &str,
    ) -> Result<StreamTarget, TargetError> {
        let mut authority = match ip {
            Some(IpAddr::V6(_)) => format!("[{host}]"),
            _ => host.clone(),
        };
        if let Some(port) = port {
            authority = format!("{authority}:{port}");
        }
        let key = match scheme {
            Scheme::Https => authority.clone(),
            Scheme::Http => format!("http://{authority}"),
        };
        let base = Url::parse(&format!("{}://{authority}/", scheme.as_str()))
            .map_err(|_| TargetError::InvalidDomain(echo(input)))?;
        Ok(StreamTarget {
            scheme,
            host,
            ip,
            port,
            key,
            base,
        })
    }

    /// The identity string: stored in the database and shown to users.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// `https://example.com/` or `http://127.0.0.1:8080/`.
    pub fn base_url(&self) -> Url {
        self.base.clone()
    }

    /// An absolute URL for an API path such as `/api/status`.
    pub fn endpoint(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        url.set_path(path);
        url
    }

    pub fn ip_literal(&self) -> Option<IpAddr> {
        self.ip
    }

    /// ASCII host name, or the IP address without brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port_or_default(&self) -> u16 {
        self.port.unwrap_or_else(|| self.scheme.default_port())
    }

    /// `"http"` or `"https"`.
    pub fn scheme(&self) -> &'static str {
        self.scheme.as_str()
    }
}

impl FromStr for StreamTarget {
    type Err = TargetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        StreamTarget::parse(s)
    }
}

impl fmt::Display for StreamTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key)
    }
}

/// Splits off `scheme://` only when the prefix looks like a scheme, so a `://` inside a query
/// string (`example.com/?next=https://x`) is not mistaken for one.
fn split_scheme(input: &str) -> (Option<&str>, &str) {
    if let Some(idx) = input.find("://") {
        let candidate = &input[..idx];
        let mut chars = candidate.chars();
        let starts_alpha = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
        if starts_alpha && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        {
            return (Some(candidate), &input[idx + 3..]);
        }
    }
    (None, input)
}

/// The `user@host:port` part. A backslash ends it too, because the URL parser treats it as `/`.
fn authority_of(rest: &str) -> &str {
    let end = rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len());
    &rest[..end]
}

fn url_error(err: url::ParseError, input: &str) -> TargetError {
    let shown = echo(input);
    match err {
        url::ParseError::EmptyHost => TargetError::MissingHost(shown),
        url::ParseError::InvalidPort => TargetError::InvalidPort(shown),
        url::ParseError::InvalidIpv4Address | url::ParseError::InvalidIpv6Address => {
            TargetError::InvalidIp(shown)
        }
        _ => TargetError::InvalidDomain(shown),
    }
}

/// The URL parser already lower-cased and IDNA-encoded the domain but accepts characters
/// (`_`, `*`, `!`, …) and label shapes that no resolvable host name has; refuse those here so
/// the user learns about the typo instead of getting a DNS error later.
fn normalise_domain(domain: &str, input: &str) -> Result<String, TargetError> {
    let invalid = || TargetError::InvalidDomain(echo(input));
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    if domain.is_empty() || domain.len() > MAX_DOMAIN_LEN {
        return Err(invalid());
    }
    for label in domain.split('.') {
        let valid_chars = label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if label.is_empty()
            || label.len() > MAX_LABEL_LEN
            || !valid_chars
            || label.starts_with('-')
            || label.ends_with('-')
        {
            return Err(invalid());
        }
    }
    Ok(domain.to_owned())
}

/// Repeats user input in an error without letting a huge paste flood the chat reply.
fn echo(input: &str) -> String {
    if input.chars().count() <= MAX_ECHO_CHARS {
        input.to_owned()
    } else {
        let mut shown: String = input.chars().take(MAX_ECHO_CHARS).collect();
        shown.push('…');
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn key_of(input: &str) -> String {
        match StreamTarget::parse(input) {
            Ok(t) => t.key().to_owned(),
            Err(e) => panic!("`{input}` should parse, got: {e}"),
        }
    }

    #[test]
    fn normalises_to_expected_keys() {
        let cases = [
            ("example.com", "example.com"),
            ("Example.com", "example.com"),
            ("Example.COM.", "example.com"),
            ("  example.com  ", "example.com"),
            ("https://example.com/", "example.com"),
            ("HTTPS://EXAMPLE.COM", "example.com"),
            ("https://example.com/some/path?q#f", "example.com"),
            ("example.com/some/path", "example.com"),
            ("example.com?q=1", "example.com"),
            ("example.com#frag", "example.com"),
            ("example.com/?next=https://other.example", "example.com"),
            ("example.com:443", "example.com"),
            ("https://example.com:443/", "example.com"),
            ("example.com:8443", "example.com:8443"),
            ("https://example.com:8443/x", "example.com:8443"),
            ("http://example.com", "http://example.com"),
            ("http://example.com:80/", "http://example.com"),
            ("HTTP://Example.com.:8080/live", "http://example.com:8080"),
            ("http://example.com:443", "http://example.com:443"),
            ("127.0.0.1:8080", "127.0.0.1:8080"),
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("[::1]:9000", "[::1]:9000"),
            ("http://[::1]", "http://[::1]"),
            ("[2001:DB8:0:0::1]", "[2001:db8::1]"),
            ("::1", "[::1]"),
            ("http://fe80::1", "http://[fe80::1]"),
            ("Bücher.example", "xn--bcher-kva.example"),
            ("https://BÜCHER.example/watch", "xn--bcher-kva.example"),
            ("stream_host.example", "stream_host.example"),
            ("localhost", "localhost"),
            (
                "sub.domain-with-hyphen.example",
                "sub.domain-with-hyphen.example",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(key_of(input), expected, "input `{input}`");
        }
    }

    #[test]
    fn spellings_of_one_server_are_equal() {
        let groups: &[&[&str]] = &[
            &[
                "Example.com",
                "https://example.com/",
                "example.com.",
                "example.com:443",
            ],
            &["http://example.com", "HTTP://EXAMPLE.COM:80/path"],
            &["Bücher.example", "xn--bcher-kva.example"],
        ];
        for group in groups {
            let first = StreamTarget::parse(group[0]);
            for other in &group[1..] {
                assert_eq!(first, StreamTarget::parse(other), "{} vs {other}", group[0]);
            }
        }
    }

    #[test]
    fn http_and_https_are_distinct() {
        let http = StreamTarget::parse("http://example.com");
        let https = StreamTarget::parse("example.com");
        assert!(http.is_ok() && https.is_ok());
        assert_ne!(http, https);
    }

    #[test]
    fn key_round_trips() {
        let inputs = [
            "example.com",
            "example.com:8443",
            "http://example.com",
            "http://example.com:8080",
            "http://127.0.0.1:8080",
            "10.1.2.3",
            "[::1]:9000",
            "http://[fe80::1]",
            "Bücher.example",
        ];
        for input in inputs {
            let Ok(target) = StreamTarget::parse(input) else {
                panic!("`{input}` should parse");
            };
            assert_eq!(StreamTarget::parse(target.key()), Ok(target.clone()));
            assert_eq!(target.to_string().parse::<StreamTarget>(), Ok(target));
        }
    }

    #[test]
    fn accessors() {
        let Ok(t) = StreamTarget::parse("Example.com:8443/x") else {
            panic!("should parse");
        };
        assert_eq!(t.host(), "example.com");
        assert_eq!(t.port_or_default(), 8443);
        assert_eq!(t.scheme(), "https");
        assert_eq!(t.ip_literal(), None);
        assert_eq!(t.base_url().as_str(), "https://example.com:8443/");
        assert_eq!(
            t.endpoint("/api/status").as_str(),
            "https://example.com:8443/api/status"
        );

        let Ok(t) = StreamTarget::parse("http://[::1]") else {
            panic!("should parse");
        };
        assert_eq!(t.host(), "::1");
        assert_eq!(t.port_or_default(), 80);
        assert_eq!(t.ip_literal(), Some(IpAddr::V6(Ipv6Addr::LOCALHOST)));
        assert_eq!(
            t.endpoint("/api/config").as_str(),
            "http://[::1]/api/config"
        );

        let Ok(t) = StreamTarget::parse("127.0.0.1") else {
            panic!("should parse");
        };
        assert_eq!(t.ip_literal(), Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        assert_eq!(t.port_or_default(), 443);
        assert_eq!(t.base_url().as_str(), "https://127.0.0.1/");
    }

    /// Which kind of error an input must produce.
    type ErrorCheck = fn(&TargetError) -> bool;

    #[test]
    fn rejects_bad_input() {
        use TargetError as E;
        let cases: &[(&str, ErrorCheck)] = &[
            ("", |e| *e == E::Empty),
            ("   ", |e| *e == E::Empty),
            ("a b", |e| matches!(e, E::InvalidDomain(_))),
            ("example.com /x", |e| matches!(e, E::InvalidDomain(_))),
            ("ftp://x", |e| matches!(e, E::UnsupportedScheme(_))),
            ("wss://example.com", |e| {
                matches!(e, E::UnsupportedScheme(_))
            }),
            ("user:pw@example.com", |e| matches!(e, E::UserInfo(_))),
            ("https://user@example.com/", |e| matches!(e, E::UserInfo(_))),
            ("https://@example.com/", |e| matches!(e, E::UserInfo(_))),
            ("https://", |e| matches!(e, E::MissingHost(_))),
            ("https:///path", |e| matches!(e, E::MissingHost(_))),
            ("http://:8080", |e| matches!(e, E::MissingHost(_))),
            ("/just/a/path", |e| matches!(e, E::MissingHost(_))),
            ("example.com:99999", |e| matches!(e, E::InvalidPort(_))),
            ("example.com:0", |e| matches!(e, E::InvalidPort(_))),
            ("example.com:http", |e| matches!(e, E::InvalidPort(_))),
            ("[::g]", |e| matches!(e, E::InvalidIp(_))),
            ("1.2.3.999", |e| matches!(e, E::InvalidIp(_))),
            ("exa*mple.com", |e| matches!(e, E::InvalidDomain(_))),
            ("-bad.example", |e| matches!(e, E::InvalidDomain(_))),
            ("a..b", |e| matches!(e, E::InvalidDomain(_))),
            ("example.com..", |e| matches!(e, E::InvalidDomain(_))),
            ("exa<mple.com", |e| matches!(e, E::InvalidDomain(_))),
        ];
        for (input, check) in cases {
            match StreamTarget::parse(input) {
                Ok(t) => panic!("`{input}` should be refused, got {t}"),
                Err(e) => assert!(check(&e), "`{input}` gave unexpected error {e:?}"),
            }
        }
        let long_label = format!("{}.example", "a".repeat(64));
        assert!(matches!(
            StreamTarget::parse(&long_label),
            Err(E::InvalidDomain(_))
        ));
        assert_eq!(StreamTarget::parse(&"a".repeat(5000)), Err(E::TooLong));
    }

    #[test]
    fn error_messages_read_well() {
        let msg = |input: &str| match StreamTarget::parse(input) {
            Ok(_) => panic!("`{input}` should fail"),
            Err(e) => e.to_string(),
        };
        assert_eq!(msg("ftp://x"), "`ftp://x` is not an http(s) address");
        assert_eq!(msg("a b"), "`a b` is not a valid domain");
        assert_eq!(msg("https://"), "missing host in `https://`");
        assert_eq!(msg(""), "no address given");
        let long = format!("{} x", "a".repeat(200));
        assert!(msg(&long).chars().count() < 120);
    }
}
