//! Every text the bot sends, as a plain `body` and an HTML `formatted_body` built side by side.
//!
//! Text that comes from an Owncast server (name, title, tags) or is echoed from a chat user is
//! untrusted. It is HTML-escaped in `html`, and in both forms it is *defused*: an invisible
//! U+2060 WORD JOINER is inserted where a client would otherwise see a mention (`@room`,
//! `@alice:example.org`) or turn a URL or bare domain into a link. Only URLs that the bot built
//! itself become links.
//!
//! Clients also highlight a message whose body merely contains a member's display name (legacy
//! push rules). That cannot be prevented by rewriting text; the sender turns those rules off for
//! its events by attaching an empty `m.mentions`.

use html_escape::{encode_double_quoted_attribute_to_string, encode_text_to_string};

use super::notification::{
    MAX_NAME_CHARS, MAX_TAG_CHARS, MAX_TITLE_CHARS, Notification, NotificationKind, clean,
};

#[cfg(test)]
mod tests;

/// Invisible, and not a word boundary, so linkifiers and mention detectors stop at it.
const WORD_JOINER: char = '\u{2060}';

/// Matrix events are capped at 64 KiB; `body` and `html` travel in one event next to JSON
/// escaping and other fields, so long lists are cut well below that.
const MAX_MESSAGE_BYTES: usize = 40_000;

/// Error texts can quote a server's response or a user's paste; a reply needs only the start.
const MAX_ERROR_CHARS: usize = 500;

/// A message ready to send: `body` for plain-text clients, `html` as `formatted_body`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub body: String,
    pub html: String,
}

/// What `list` and `live` know about one subscribed stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamLiveState {
    Live,
    Offline,
    Unreachable,
    /// Not polled successfully yet.
    Unknown,
}

impl StreamLiveState {
    /// One word, as the operator tool prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Offline => "offline",
            Self::Unreachable => "unreachable",
            Self::Unknown => "unknown",
        }
    }
}

/// One subscription of a room, as shown by `list` and `live`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEntry {
    /// The normalised target key, e.g. `example.com` or `http://10.0.0.1:8080`.
    pub domain: String,
    /// Built by the bot from `domain`; the only part that becomes a link.
    pub url: String,
    /// From the Owncast server: untrusted, may be empty.
    pub name: String,
    /// From the Owncast server: untrusted, may be empty.
    pub title: String,
    pub state: StreamLiveState,
}

/// Announcement for one stream event.
///
/// The warning does not say how long the server has been down: the thresholds are
/// configurable and the notification does not carry them, so it says "for a while".
pub fn notification(n: &Notification) -> Rendered {
    let name = display_name(&n.name, &n.domain);
    match n.kind {
        NotificationKind::GoLive => go_live(n, &name),
        NotificationKind::TitleChange => title_change(n, &name),
        NotificationKind::UnreachableWarning => server_down(
            n,
            "⚠️ ",
            " has been unreachable for a while. It will be unsubscribed if it stays unreachable.",
        ),
        NotificationKind::Removed => server_down(
            n,
            "🚫 ",
            " was unreachable for too long and has been unsubscribed.",
        ),
    }
}

fn go_live(n: &Notification, name: &str) -> Rendered {
    let title = clean(&n.title, MAX_TITLE_CHARS);
    let tags = hashtags(&n.tags);
    let mut b = Builder::new();
    b.paragraph(|b| {
        b.text("🔴 ").bold_untrusted(name).text(" is live");
        if !title.is_empty() {
            b.text(": ").untrusted(&title);
        }
    });
    if !tags.is_empty() {
        b.paragraph(|b| {
            b.untrusted(&tags);
        });
    }
    b.paragraph(|b| {
        b.link(&n.url);
    });
    b.finish()
}

fn title_change(n: &Notification, name: &str) -> Rendered {
    let title = clean(&n.title, MAX_TITLE_CHARS);
    let mut b = Builder::new();
    b.paragraph(|b| {
        b.text("📝 ").bold_untrusted(name);
        if title.is_empty() {
            b.text(" cleared the stream title");
        } else {
            b.text(" changed the stream title: ").untrusted(&title);
        }
    });
    b.paragraph(|b| {
        b.link(&n.url);
    });
    b.finish()
}

fn server_down(n: &Notification, icon: &str, what: &str) -> Rendered {
    let mut b = Builder::new();
    b.paragraph(|b| {
        b.text(icon);
        stream_label(b, &n.name, &n.domain, &n.url);
        b.text(what);
    });
    b.finish()
}

/// `#rust #coding`; the tags were cleaned of white space and `#` when the notification was
/// made, and are cleaned again here because a stored notification may bypass that.
fn hashtags(tags: &[String]) -> String {
    tags.iter()
        .map(|tag| {
            clean(tag, MAX_TAG_CHARS)
                .replace(char::is_whitespace, "")
                .trim_start_matches('#')
                .to_owned()
        })
        .filter(|tag| !tag.is_empty())
        .map(|tag| format!("#{tag}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The stream's own name, or the domain for a server that has none.
fn display_name(name: &str, domain: &str) -> String {
    let name = clean(name, MAX_NAME_CHARS);
    if name.is_empty() {
        domain.to_owned()
    } else {
        name
    }
}

/// `My Stream (example.com)` with the domain linked to the server, or only the linked domain
/// when the stream has no name of its own, so it is not repeated.
fn stream_label(b: &mut Builder, name: &str, domain: &str, url: &str) {
    let name = clean(name, MAX_NAME_CHARS);
    if name.is_empty() || name == domain {
        b.link_text(url, domain);
    } else {
        b.bold_untrusted(&name)
            .text(" (")
            .link_text(url, domain)
            .text(")");
    }
}

/// Reply to a successful `subscribe`. `name` is the stream name if the server told us one.
pub fn subscribed(target_key: &str, name: Option<&str>) -> Rendered {
    let name = name.map(|n| clean(n, MAX_NAME_CHARS)).unwrap_or_default();
    let mut b = Builder::new();
    b.paragraph(|b| {
        b.text("✅ Subscribed to ");
        if name.is_empty() || name == target_key {
            b.code(target_key);
        } else {
            b.bold_untrusted(&name)
                .text(" (")
                .code(target_key)
                .text(")");
        }
        b.text(". This room will be told when it goes live.");
    });
    b.finish()
}

pub fn already_subscribed(target_key: &str) -> Rendered {
    about_target("ℹ️ This room is already subscribed to ", target_key, ".")
}

pub fn unsubscribed(target_key: &str) -> Rendered {
    about_target("✅ Unsubscribed from ", target_key, ".")
}

pub fn not_subscribed(target_key: &str) -> Rendered {
    about_target("ℹ️ This room is not subscribed to ", target_key, ".")
}

fn about_target(before: &str, target_key: &str, after: &str) -> Rendered {
    let mut b = Builder::new();
    b.paragraph(|b| {
        b.text(before).code(target_key).text(after);
    });
    b.finish()
}

pub fn permission_denied(required_level: i64) -> Rendered {
    plain(&format!(
        "❌ Sorry, only members with power level {required_level} or higher, or bot admins, \
         can do that."
    ))
}

pub fn limit_reached(limit: usize) -> Rendered {
    let noun = if limit == 1 {
        "subscription"
    } else {
        "subscriptions"
    };
    plain(&format!(
        "❌ This room already has {limit} {noun}, the most allowed. Unsubscribe from one to add \
         another."
    ))
}

/// Validation failed. `reason` is our own text but may quote what the server or the user sent,
/// so it is cleaned like Owncast text.
pub fn not_owncast(target_key: &str, reason: &str) -> Rendered {
    let reason = clean(reason, MAX_ERROR_CHARS);
    let mut b = Builder::new();
    b.paragraph(|b| {
        b.text("❌ ")
            .code(target_key)
            .text(" does not look like an Owncast server: ")
            .untrusted(&reason);
    });
    b.finish()
}

/// Any failure reply, such as a [`CommandError`](super::command::CommandError) message.
/// `` `spans` `` become code in HTML. Everything is cleaned and defused because error texts echo
/// user input; line breaks become spaces.
pub fn error(text: &str) -> Rendered {
    let text = clean(text, MAX_ERROR_CHARS);
    let mut b = Builder::new();
    b.paragraph(|b| {
        b.text("❌ ").untrusted_with_code(&text);
    });
    b.finish()
}

/// This room's subscriptions, in the given order, each with its state.
pub fn list(entries: &[ListEntry]) -> Rendered {
    let mut b = Builder::new();
    if entries.is_empty() {
        b.paragraph(|b| {
            b.text("This room has no subscriptions yet. Add one with the ")
                .code("subscribe")
                .text(" command (see ")
                .code("help")
                .text(").");
        });
        return b.finish();
    }
    b.paragraph(|b| {
        b.text(&format!("Subscriptions in this room ({}):", entries.len()));
    });
    b.bullets(entries, list_line);
    b.finish()
}

fn list_line(b: &mut Builder, entry: &ListEntry) {
    let title = clean(&entry.title, MAX_TITLE_CHARS);
    b.text(state_icon(entry.state)).text(" ");
    stream_label(b, &entry.name, &entry.domain, &entry.url);
    match entry.state {
        StreamLiveState::Live if !title.is_empty() => {
            b.text(" is live: ").untrusted(&title);
        }
        StreamLiveState::Live => {
            b.text(" is live");
        }
        StreamLiveState::Offline => {
            b.text(" is offline");
        }
        StreamLiveState::Unreachable => {
            b.text(" is unreachable");
        }
        StreamLiveState::Unknown => {
            b.text(" has not been checked yet");
        }
    }
}

fn state_icon(state: StreamLiveState) -> &'static str {
    match state {
        StreamLiveState::Live => "🔴",
        StreamLiveState::Offline => "⚫",
        StreamLiveState::Unreachable => "⚠️",
        StreamLiveState::Unknown => "⏳",
    }
}

/// This room's streams that are live now, with title and link.
pub fn live(entries: &[ListEntry]) -> Rendered {
    let live: Vec<&ListEntry> = entries
        .iter()
        .filter(|e| e.state == StreamLiveState::Live)
        .collect();
    if live.is_empty() {
        return plain("No subscribed stream is live right now.");
    }
    let mut b = Builder::new();
    b.paragraph(|b| {
        b.text(&format!("Live now ({}):", live.len()));
    });
    b.bullets(&live, |b, entry| live_line(b, entry));
    b.finish()
}

fn live_line(b: &mut Builder, entry: &ListEntry) {
    let title = clean(&entry.title, MAX_TITLE_CHARS);
    b.text("🔴 ");
    stream_label(b, &entry.name, &entry.domain, &entry.url);
    if !title.is_empty() {
        b.text(": ").untrusted(&title);
    }
}

/// A message made only of the bot's own words.
fn plain(text: &str) -> Rendered {
    let mut b = Builder::new();
    b.paragraph(|b| {
        b.text(text);
    });
    b.finish()
}

/// Inserts a word joiner wherever a client could see a mention or a link.
pub(crate) fn defuse(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let mut prev = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if needs_joiner(prev, c, chars.peek().copied()) {
            out.push(WORD_JOINER);
        }
        prev = Some(c);
    }
    out
}

fn needs_joiner(prev: Option<char>, c: char, next: Option<char>) -> bool {
    let Some(next) = next else {
        return false;
    };
    match c {
        // `@room`, `@user:server`, `user@example.org`.
        '@' => true,
        // `https://`, `mailto:x`, `#alias:server`; a colon before a space is just punctuation.
        ':' => !next.is_whitespace(),
        // Bare domains and IP addresses; full-width and ideographic dots are accepted by some
        // linkifiers too.
        '.' | '。' | '．' | '｡' => {
            prev.is_some_and(char::is_alphanumeric) && next.is_alphanumeric()
        }
        _ => false,
    }
}

/// Only these tags are ever written, so no other markup can appear in `html`.
#[derive(Debug, Clone, Copy)]
enum Tag {
    Paragraph,
    Bold,
    Code,
    List,
    Item,
}

impl Tag {
    fn name(self) -> &'static str {
        match self {
            Tag::Paragraph => "p",
            Tag::Bold => "b",
            Tag::Code => "code",
            Tag::List => "ul",
            Tag::Item => "li",
        }
    }
}

/// Writes `body` and `html` together so that the two always say the same thing, and every
/// piece of text goes through exactly one escaping rule chosen by the method called.
#[derive(Debug, Default)]
pub(crate) struct Builder {
    body: String,
    html: String,
}

impl Builder {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn finish(self) -> Rendered {
        Rendered {
            body: self.body,
            html: self.html,
        }
    }

    fn len(&self) -> usize {
        self.body.len() + self.html.len()
    }

    /// The bot's own words.
    pub(crate) fn text(&mut self, text: &str) -> &mut Self {
        self.body.push_str(text);
        encode_text_to_string(text, &mut self.html);
        self
    }

    /// Text from a server or a user.
    pub(crate) fn untrusted(&mut self, text: &str) -> &mut Self {
        self.text(&defuse(text))
    }

    pub(crate) fn bold_untrusted(&mut self, text: &str) -> &mut Self {
        self.wrap(Tag::Bold, |b| {
            b.untrusted(text);
        })
    }

    /// An identifier or command the user may copy. Not defused, because a word joiner would
    /// be copied along with it; callers pass only the bot's own identifiers here.
    pub(crate) fn code(&mut self, text: &str) -> &mut Self {
        self.body.push('`');
        self.wrap(Tag::Code, |b| {
            b.text(text);
        });
        self.body.push('`');
        self
    }

    /// Untrusted text in which `` `spans` `` are shown as code. Unbalanced backticks are left
    /// as they are rather than guessing where the span ends.
    pub(crate) fn untrusted_with_code(&mut self, text: &str) -> &mut Self {
        let parts: Vec<&str> = text.split('`').collect();
        if parts.len().is_multiple_of(2) {
            return self.untrusted(text);
        }
        for (i, part) in parts.iter().enumerate() {
            if i.is_multiple_of(2) {
                self.untrusted(part);
            } else {
                self.code(&defuse(part));
            }
        }
        self
    }

    /// A link showing its own address.
    pub(crate) fn link(&mut self, url: &str) -> &mut Self {
        self.link_text(url, url)
    }

    /// A link to a URL the bot built. Anything that is not a plain web address is shown as
    /// text instead, so a bug upstream cannot produce a `javascript:` link.
    pub(crate) fn link_text(&mut self, url: &str, text: &str) -> &mut Self {
        if !is_web_url(url) {
            return self.text(text);
        }
        self.html.push_str("<a href=\"");
        encode_double_quoted_attribute_to_string(url, &mut self.html);
        self.html.push_str("\">");
        self.text(text);
        self.html.push_str("</a>");
        self
    }

    /// A block: a line of its own in `body`, a `<p>` in `html`.
    pub(crate) fn paragraph(&mut self, fill: impl FnOnce(&mut Self)) -> &mut Self {
        self.new_line();
        self.wrap(Tag::Paragraph, fill)
    }

    /// One line per item in `body`, a `<ul>` in `html`. Items that would push the message past
    /// the event size limit are replaced by a count.
    pub(crate) fn bullets<T>(&mut self, items: &[T], fill: impl Fn(&mut Self, &T)) -> &mut Self {
        self.wrap(Tag::List, |b| b.items_within_budget(items, fill))
    }

    fn items_within_budget<T>(&mut self, items: &[T], fill: impl Fn(&mut Self, &T)) {
        // Room for the closing tags and the "more" line.
        const RESERVE: usize = 200;
        for (shown, item) in items.iter().enumerate() {
            let mut line = Builder::new();
            line.wrap(Tag::Item, |b| fill(b, item));
            if self.len() + line.len() + RESERVE > MAX_MESSAGE_BYTES {
                let more = items.len() - shown;
                self.item(|b| {
                    b.text(&format!("…and {more} more."));
                });
                return;
            }
            self.new_line();
            self.body.push_str(&line.body);
            self.html.push_str(&line.html);
        }
    }

    fn item(&mut self, fill: impl FnOnce(&mut Self)) -> &mut Self {
        self.new_line();
        self.wrap(Tag::Item, fill)
    }

    fn new_line(&mut self) {
        if !self.body.is_empty() {
            self.body.push('\n');
        }
    }

    fn wrap(&mut self, tag: Tag, fill: impl FnOnce(&mut Self)) -> &mut Self {
        self.html.push('<');
        self.html.push_str(tag.name());
        self.html.push('>');
        fill(self);
        self.html.push_str("</");
        self.html.push_str(tag.name());
        self.html.push('>');
        self
    }
}

fn is_web_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://"))
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}
