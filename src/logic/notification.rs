//! What is announced to rooms, and how untrusted Owncast text is made safe to carry.

use serde::{Deserialize, Serialize};

/// Longest stream name kept, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest stream title kept, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Most tags kept, and the longest tag.
pub const MAX_TAGS: usize = 10;
pub const MAX_TAG_CHARS: usize = 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    GoLive,
    TitleChange,
    UnreachableWarning,
    Removed,
}

impl NotificationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GoLive => "go_live",
            Self::TitleChange => "title_change",
            Self::UnreachableWarning => "unreachable_warning",
            Self::Removed => "removed",
        }
    }
}

/// One announcement about one stream, before it is fanned out to rooms. Every text field has
/// been through [`clean`], so renderers only have to escape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub domain: String,
    pub kind: NotificationKind,
    pub name: String,
    pub title: String,
    pub tags: Vec<String>,
    pub url: String,
}

impl Notification {
    pub fn new(
        kind: NotificationKind,
        domain: &str,
        url: &str,
        name: &str,
        title: &str,
        tags: &[String],
    ) -> Self {
        let name = clean(name, MAX_NAME_CHARS);
        Self {
            domain: domain.to_owned(),
            kind,
            name: if name.is_empty() {
                domain.to_owned()
            } else {
                name
            },
            title: clean(title, MAX_TITLE_CHARS),
            tags: tags
                .iter()
                .map(|tag| clean_tag(tag))
                .filter(|tag| !tag.is_empty())
                .take(MAX_TAGS)
                .collect(),
            url: url.to_owned(),
        }
    }
}

/// Strips control and invisible formatting characters (which could reorder or hide text),
/// folds runs of white space, and caps the length with an ellipsis.
pub fn clean(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars * 4));
    let mut count = 0;
    let mut pending_space = false;
    for c in text.chars() {
        // Line breaks and tabs are control characters too; they fold into one space.
        if c.is_whitespace() {
            pending_space = count > 0;
            continue;
        }
        if is_invisible(c) {
            continue;
        }
        let needed = usize::from(pending_space) + 1;
        if count + needed > max_chars {
            out.push('…');
            return out;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
        count += needed;
    }
    out
}

/// A tag as a hashtag body: no white space, no leading `#`.
fn clean_tag(tag: &str) -> String {
    let joined: String = tag
        .chars()
        .filter(|c| !c.is_whitespace() && !is_invisible(*c))
        .collect();
    clean(joined.trim_start_matches('#'), MAX_TAG_CHARS)
}

fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200B}'..='\u{200F}'   // zero-width and direction marks
            | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
            | '\u{2060}'..='\u{2069}' // word joiner, invisible operators, bidi isolates
            | '\u{FEFF}'              // byte order mark
            | '\u{FFF9}'..='\u{FFFB}' // interlinear annotations
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_removes_controls_and_invisible_characters() {
        assert_eq!(clean("a\u{0007}b\u{202E}c\u{200B}d", 50), "abcd");
        assert_eq!(clean("  line\none\r\n\ttwo  ", 50), "line one two");
    }

    #[test]
    fn clean_caps_length_in_characters() {
        assert_eq!(clean("abcdef", 3), "abc…");
        assert_eq!(clean("ééé", 3), "ééé");
        assert_eq!(
            clean(&"x".repeat(10_000), MAX_TITLE_CHARS).chars().count(),
            201
        );
    }

    #[test]
    fn tags_become_hashtag_bodies() {
        let n = Notification::new(
            NotificationKind::GoLive,
            "example.com",
            "https://example.com/",
            "",
            "t",
            &["#rust lang".into(), " ".into(), "a\u{0000}b".into()],
        );
        assert_eq!(n.tags, vec!["rustlang", "ab"]);
        assert_eq!(n.name, "example.com", "empty name falls back to the domain");
    }

    #[test]
    fn too_many_tags_are_dropped() {
        let tags: Vec<String> = (0..50).map(|i| format!("t{i}")).collect();
        let n = Notification::new(NotificationKind::GoLive, "d", "u", "n", "t", &tags);
        assert_eq!(n.tags.len(), MAX_TAGS);
    }

    #[test]
    fn kind_serialises_as_in_the_stdout_contract() {
        let json = serde_json::to_string(&NotificationKind::UnreachableWarning).unwrap();
        assert_eq!(json, "\"unreachable_warning\"");
        assert_eq!(NotificationKind::TitleChange.as_str(), "title_change");
    }
}
