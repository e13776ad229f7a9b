//! `GET /api/config`: the server's public metadata, used to dress up notifications.
//!
//! Its shape varies more than status across versions (0.0.3 sent `logo` as an object, unset
//! arrays come back as `null`), so every field is optional and the rest is ignored.

use serde_json::Value;

use super::error::OwncastError;
use super::json;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamConfig {
    pub name: String,
    pub tags: Vec<String>,
    pub summary: String,
}

impl StreamConfig {
    /// Parses a config body; only a body that is not a JSON object is an error.
    pub fn parse(body: &[u8]) -> Result<StreamConfig, OwncastError> {
        let map = json::object(body)?;
        let tags = map
            .get("tags")
            .and_then(Value::as_array)
            .map(|tags| {
                tags.iter()
                    .filter_map(Value::as_str)
                    .filter(|t| !t.trim().is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        Ok(StreamConfig {
            name: json::string(&map, "name").unwrap_or_default(),
            tags,
            summary: json::string(&map, "summary").unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(body: &str) -> StreamConfig {
        match StreamConfig::parse(body.as_bytes()) {
            Ok(config) => config,
            Err(e) => panic!("should parse: {e}\n{body}"),
        }
    }

    #[test]
    fn v0_2_full_body() {
        let c = parse_ok(concat!(
            r#"{"appearanceVariables":null,"name":"My \u003cOwncast\u003e","summary":"Streams \u0026 chat","#,
            r#""offlineMessage":"","logo":"/logo","tags":["rust","owncast"],"version":"Owncast v0.2.3-linux-64bit (abc123)","#,
            r#""socialHandles":null,"extraPageContent":"\u003cp\u003ehi\u003c/p\u003e","streamTitle":"Live now","#,
            r#""customStyles":"","maxSocketPayloadSize":2048,"externalActions":[],"notifications":{"browser":{"enabled":false}},"#,
            r#""federation":{"enabled":false},"authentication":{"indieAuthEnabled":false},"nsfw":false,"#,
            r#""hideViewerCount":false,"chatDisabled":false,"chatSpamProtectionDisabled":false}"#,
            "\n"
        ));
        assert_eq!(
            c,
            StreamConfig {
                name: "My <Owncast>".into(),
                tags: vec!["rust".into(), "owncast".into()],
                summary: "Streams & chat".into(),
            }
        );
    }

    #[test]
    fn v0_0_6_body() {
        let c = parse_ok(
            r#"{"name":"Owncast","summary":"This is brought to you by Owncast.","logo":"/logo","tags":["owncast","streaming"],"version":"Owncast v0.0.6-linux-64bit (abc)","nsfw":false,"extraPageContent":"","streamTitle":"","socialHandles":[{"platform":"github","url":"https://github.com/owncast/owncast"}],"chatDisabled":false,"externalActions":[],"customStyles":"","maxSocketPayloadSize":2048}"#,
        );
        assert_eq!(c.name, "Owncast");
        assert_eq!(c.tags, ["owncast", "streaming"]);
    }

    #[test]
    fn v0_0_3_logo_object_and_null_tags() {
        let c = parse_ok(
            r#"{"title":"Old","name":"Old server","logo":{"large":"/img/logo.png","small":"/img/logo-s.png"},"tags":null}"#,
        );
        assert_eq!(
            c,
            StreamConfig {
                name: "Old server".into(),
                tags: vec![],
                summary: String::new(),
            }
        );
    }

    #[test]
    fn every_field_optional() {
        assert_eq!(parse_ok("{}"), StreamConfig::default());
        let c = parse_ok(r#"{"name":null,"summary":7,"tags":["ok",3,null,"  ","also"]}"#);
        assert_eq!(c.name, "");
        assert_eq!(c.summary, "");
        assert_eq!(c.tags, ["ok", "also"]);
    }

    #[test]
    fn refuses_non_objects() {
        for body in ["<html></html>", "[]", "nope", ""] {
            assert!(
                matches!(
                    StreamConfig::parse(body.as_bytes()),
                    Err(OwncastError::NotOwncast(_))
                ),
                "{body}"
            );
        }
    }
}
