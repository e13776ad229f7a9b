//! Turning a response body into a JSON object, with reasons a user can act on.

use serde_json::{Map, Value};

use super::error::OwncastError;

/// Parses `body` as a JSON object; anything else means the server is not an Owncast API.
pub(super) fn object(body: &[u8]) -> Result<Map<String, Value>, OwncastError> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let first = body.iter().copied().find(|b| !b.is_ascii_whitespace());
    match first {
        None => return Err(not_owncast("the response is empty")),
        // Web servers answer unknown paths with HTML pages; saying so is the useful hint.
        Some(b'<') => return Err(not_owncast("the response is HTML, not JSON")),
        _ => {}
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(Value::Array(_)) => Err(not_owncast("the response is a JSON array, not an object")),
        Ok(_) => Err(not_owncast("the response is not a JSON object")),
        Err(_) => Err(not_owncast("the response is not valid JSON")),
    }
}

pub(super) fn not_owncast(reason: impl Into<String>) -> OwncastError {
    OwncastError::NotOwncast(reason.into())
}

/// A string field, or `None` when missing, null or of another type.
pub(super) fn string(map: &Map<String, Value>, field: &str) -> Option<String> {
    map.get(field).and_then(Value::as_str).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons() {
        let cases: [(&[u8], &str); 7] = [
            (b"", "the response is empty"),
            (b"  \n", "the response is empty"),
            (
                b"<!DOCTYPE html><html></html>",
                "the response is HTML, not JSON",
            ),
            (b"\n  <html>", "the response is HTML, not JSON"),
            (b"[1,2]", "the response is a JSON array, not an object"),
            (b"42", "the response is not a JSON object"),
            (b"{\"online\": tru", "the response is not valid JSON"),
        ];
        for (body, reason) in cases {
            assert_eq!(object(body), Err(not_owncast(reason)), "{body:?}");
        }
        assert!(object(b"\xEF\xBB\xBF{\"a\":1}").is_ok());
    }
}
