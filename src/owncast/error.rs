//! Errors of the Owncast client. Their messages are shown to chat users, so each is one line
//! and names the cause without internal detail.

use std::fmt;

use crate::logic::address::AddressClass;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OwncastError {
    #[error("the server did not answer in time")]
    Timeout,
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("refused: {host} {reason}")]
    Blocked { host: String, reason: BlockReason },
    #[error("HTTP {0}")]
    Status(u16),
    #[error("the response is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("not an Owncast server: {0}")]
    NotOwncast(String),
    #[error("request failed: {0}")]
    Request(String),
    #[error("invalid HTTP client settings: {0}")]
    Settings(String),
}

impl OwncastError {
    /// True when the address policy, not the server, stopped the request.
    pub fn is_blocked(&self) -> bool {
        matches!(self, OwncastError::Blocked { .. })
    }
}

/// Why the address policy refused a host. Displayed after the host name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockReason {
    /// The host is an IP literal outside public address space.
    Address(AddressClass),
    /// Every address the name resolved to is outside public address space (the first is named).
    ResolvesTo(AddressClass),
    /// A redirect pointed to an IP literal outside public address space.
    RedirectTo(AddressClass),
}

impl fmt::Display for BlockReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlockReason::Address(class) => write!(f, "is {class}"),
            BlockReason::ResolvesTo(class) => write!(f, "resolves only to {class}"),
            BlockReason::RedirectTo(class) => write!(f, "is a redirect to {class}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line_and_clear() {
        let cases = [
            (OwncastError::Timeout, "the server did not answer in time"),
            (OwncastError::Status(500), "HTTP 500"),
            (
                OwncastError::Blocked {
                    host: "example.internal".into(),
                    reason: BlockReason::ResolvesTo(AddressClass::Private),
                },
                "refused: example.internal resolves only to a private address",
            ),
            (
                OwncastError::Blocked {
                    host: "127.0.0.1".into(),
                    reason: BlockReason::Address(AddressClass::Loopback),
                },
                "refused: 127.0.0.1 is a loopback address",
            ),
            (
                OwncastError::TooLarge { limit: 65536 },
                "the response is larger than 65536 bytes",
            ),
            (
                OwncastError::NotOwncast("the response is HTML, not JSON".into()),
                "not an Owncast server: the response is HTML, not JSON",
            ),
        ];
        for (err, expected) in cases {
            assert_eq!(err.to_string(), expected);
            assert!(!err.to_string().contains('\n'));
        }
        assert!(
            OwncastError::Blocked {
                host: "x".into(),
                reason: BlockReason::Address(AddressClass::Private)
            }
            .is_blocked()
        );
        assert!(!OwncastError::Timeout.is_blocked());
    }
}
