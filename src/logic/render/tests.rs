use super::*;

const WJ: &str = "\u{2060}";
const URL: &str = "https://example.com/";

fn note(kind: NotificationKind, name: &str, title: &str, tags: &[&str]) -> Notification {
    let tags: Vec<String> = tags.iter().map(|t| (*t).to_owned()).collect();
    Notification::new(kind, "example.com", URL, name, title, &tags)
}

fn entry(domain: &str, name: &str, title: &str, state: StreamLiveState) -> ListEntry {
    ListEntry {
        domain: domain.to_owned(),
        url: format!("https://{domain}/"),
        name: name.to_owned(),
        title: title.to_owned(),
        state,
    }
}

/// The tags in `html`, in order, with their attributes. Every `<` in `html` must start one of
/// ours, since escaped text never contains `<`.
fn tags_of(html: &str) -> Vec<&str> {
    html.match_indices('<')
        .map(|(start, _)| {
            let end = html[start..]
                .find('>')
                .unwrap_or_else(|| panic!("unclosed tag in {html}"));
            &html[start..=start + end]
        })
        .collect()
}

/// Asserts `html` uses only our tags and links only to `allowed_urls`, and returns how many
/// links it has. Scanning every `<` is enough: an `href` outside a tag is inert text.
fn assert_safe_html(html: &str, allowed_urls: &[&str]) -> usize {
    const OWN: &[&str] = &[
        "<p>", "</p>", "<b>", "</b>", "<code>", "</code>", "<ul>", "</ul>", "<li>", "</li>", "</a>",
    ];
    let mut links = 0;
    for tag in tags_of(html) {
        if let Some(href) = tag
            .strip_prefix("<a href=\"")
            .and_then(|t| t.strip_suffix("\">"))
        {
            assert!(allowed_urls.contains(&href), "foreign link {tag} in {html}");
            links += 1;
        } else {
            assert!(OWN.contains(&tag), "foreign tag {tag} in {html}");
        }
    }
    links
}

/// `html` without markup, unescaped, and `body` without line breaks must read the same.
fn assert_same_text(r: &Rendered) {
    let mut text = String::new();
    let mut in_tag = false;
    for c in r.html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = html_escape::decode_html_entities(&text).replace('`', "");
    let body = r.body.replace(['\n', '`'], "");
    assert_eq!(text, body, "html and body differ: {r:?}");
}

fn check(r: &Rendered, allowed_urls: &[&str]) -> usize {
    assert_same_text(r);
    assert_safe_html(&r.html, allowed_urls)
}

#[test]
fn go_live_matches_the_documented_example() {
    let r = notification(&note(
        NotificationKind::GoLive,
        "My Stream",
        "Building a poller",
        &["rust", "coding"],
    ));
    assert_eq!(
        r.body,
        "🔴 My Stream is live: Building a poller\n#rust #coding\nhttps://example.com/"
    );
    assert_eq!(
        r.html,
        "<p>🔴 <b>My Stream</b> is live: Building a poller</p><p>#rust #coding</p>\
         <p><a href=\"https://example.com/\">https://example.com/</a></p>"
    );
    assert_eq!(check(&r, &[URL]), 1);
}

#[test]
fn go_live_variants() {
    let cases: &[(&str, &str, &[&str], &str)] = &[
        (
            "My Stream",
            "",
            &[],
            "🔴 My Stream is live\nhttps://example.com/",
        ),
        (
            "My Stream",
            "Hi",
            &[],
            "🔴 My Stream is live: Hi\nhttps://example.com/",
        ),
        (
            "",
            "Hi",
            &["one"],
            "🔴 example.\u{2060}com is live: Hi\n#one\nhttps://example.com/",
        ),
        (
            "S",
            "Rust 1.80 is out",
            &["#already", "two words"],
            "🔴 S is live: Rust 1.\u{2060}80 is out\n#already #twowords\nhttps://example.com/",
        ),
    ];
    for (name, title, tags, body) in cases {
        let r = notification(&note(NotificationKind::GoLive, name, title, tags));
        assert_eq!(r.body, *body, "name {name:?} title {title:?}");
        assert_eq!(check(&r, &[URL]), 1);
    }
}

#[test]
fn title_change_says_what_changed() {
    let r = notification(&note(
        NotificationKind::TitleChange,
        "My Stream",
        "Now: tests",
        &["ignored"],
    ));
    assert_eq!(
        r.body,
        "📝 My Stream changed the stream title: Now: tests\nhttps://example.com/"
    );
    assert_eq!(
        r.html,
        "<p>📝 <b>My Stream</b> changed the stream title: Now: tests</p>\
         <p><a href=\"https://example.com/\">https://example.com/</a></p>"
    );
    check(&r, &[URL]);

    let r = notification(&note(NotificationKind::TitleChange, "My Stream", "", &[]));
    assert_eq!(
        r.body,
        "📝 My Stream cleared the stream title\nhttps://example.com/"
    );
}

#[test]
fn unreachable_warning_and_removal() {
    let cases = [
        (
            NotificationKind::UnreachableWarning,
            "My Stream",
            "⚠️ My Stream (example.com) has been unreachable for a while. It will be \
             unsubscribed if it stays unreachable.",
        ),
        (
            NotificationKind::UnreachableWarning,
            "",
            "⚠️ example.com has been unreachable for a while. It will be unsubscribed if it \
             stays unreachable.",
        ),
        (
            NotificationKind::Removed,
            "My Stream",
            "🚫 My Stream (example.com) was unreachable for too long and has been unsubscribed.",
        ),
        (
            NotificationKind::Removed,
            "example.com",
            "🚫 example.com was unreachable for too long and has been unsubscribed.",
        ),
    ];
    for (kind, name, body) in cases {
        let r = notification(&note(kind, name, "title", &["tag"]));
        assert_eq!(r.body, body);
        assert_eq!(check(&r, &[URL]), 1);
    }
    let r = notification(&note(NotificationKind::Removed, "My Stream", "", &[]));
    assert_eq!(
        r.html,
        "<p>🚫 <b>My Stream</b> (<a href=\"https://example.com/\">example.com</a>) was \
         unreachable for too long and has been unsubscribed.</p>"
    );
}

const HOSTILE: &[&str] = &[
    "<script>alert(1)</script>",
    "<a href=\"https://evil.example/\">click</a>",
    "<img src=x onerror=alert(1)>",
    "&amp; &lt;b&gt;",
    "@room",
    "hey @room look",
    "@alice:example.org",
    "mail bob@example.org",
    "https://evil.example/x",
    "HTTP://EVIL.EXAMPLE",
    "visit evil.example today",
    "www.evil.example",
    "10.0.0.1",
    "evil。example",
    "#room:example.org",
    "mailto:x@evil.example",
    "javascript:alert(1)",
    "[click](https://evil.example)",
    "**bold** _it_ `code`",
    "\"quoted\" 'name'",
    "</p></b><p>",
    "a\u{202E}b\u{200B}c\u{0007}",
];

/// Substrings that must never survive into a message, in body or html.
const DANGEROUS: &[&str] = &[
    "@room",
    "@alice",
    "@example",
    "@evil",
    "://",
    "evil.example",
    "EVIL.EXAMPLE",
    "evil。example",
    "example.org",
    "www.evil",
    "0.0",
    "javascript:alert",
    "mailto:x",
    "\u{202E}",
];

/// Markup that must never appear in `html`; the plain body may show it as text.
const MARKUP: &[&str] = &["<script", "<img", "<a href=\"https://evil"];

/// `own_urls` are the bot's links, which are allowed to stay links.
fn assert_defused(r: &Rendered, input: &str, own_urls: &[&str]) {
    let (mut body, mut html) = (r.body.clone(), r.html.clone());
    for url in own_urls {
        body = body.replace(url, "");
        html = html.replace(url, "");
    }
    for bad in DANGEROUS {
        assert!(
            !body.contains(bad),
            "{bad:?} from {input:?} in body {body:?}"
        );
        assert!(
            !html.contains(bad),
            "{bad:?} from {input:?} in html {html:?}"
        );
    }
    for bad in MARKUP {
        assert!(
            !html.contains(bad),
            "{bad:?} from {input:?} in html {html:?}"
        );
    }
}

#[test]
fn hostile_notification_fields_are_inert() {
    let kinds = [
        NotificationKind::GoLive,
        NotificationKind::TitleChange,
        NotificationKind::UnreachableWarning,
        NotificationKind::Removed,
    ];
    for input in HOSTILE {
        for kind in kinds {
            let r = notification(&note(kind, input, input, &[input, input]));
            assert_eq!(check(&r, &[URL]), 1, "{kind:?} {input:?}");
            assert_defused(&r, input, &[URL]);
        }
    }
}

#[test]
fn hostile_text_is_escaped_not_dropped() {
    let r = notification(&note(
        NotificationKind::GoLive,
        "\"Q\" & <b>",
        "&amp; **x**",
        &[],
    ));
    assert!(
        r.html.contains("<b>\"Q\" &amp; &lt;b&gt;</b>"),
        "{}",
        r.html
    );
    assert!(r.html.contains("&amp;amp; **x**"), "{}", r.html);
    assert!(r.body.starts_with("🔴 \"Q\" & <b> is live: &amp; **x**"));
}

#[test]
fn mentions_get_a_word_joiner() {
    let r = notification(&note(
        NotificationKind::GoLive,
        "@room",
        "ping @alice:example.org",
        &[],
    ));
    assert!(r.body.starts_with(&format!(
        "🔴 @{WJ}room is live: ping @{WJ}alice:{WJ}example.{WJ}org"
    )));
}

#[test]
fn defuse_table() {
    let cases = [
        ("", ""),
        ("plain text", "plain text"),
        ("@room", "@\u{2060}room"),
        ("trailing @", "trailing @"),
        ("a@b.c", "a@\u{2060}b.\u{2060}c"),
        ("https://x", "https:\u{2060}//x"),
        ("Time: 12:30", "Time: 12:\u{2060}30"),
        ("end.", "end."),
        ("end. Next", "end. Next"),
        ("1.5", "1.\u{2060}5"),
        ("..a", "..a"),
        ("Bücher.de", "Bücher.\u{2060}de"),
        ("evil．example", "evil．\u{2060}example"),
        ("#a:b", "#a:\u{2060}b"),
    ];
    for (input, expected) in cases {
        assert_eq!(defuse(input), expected, "input {input:?}");
    }
}

#[test]
fn only_web_urls_become_links() {
    let mut n = note(NotificationKind::GoLive, "S", "", &[]);
    for url in [
        "javascript:alert(1)",
        "data:text/html,x",
        "",
        "https://a b/",
    ] {
        n.url = url.to_owned();
        let r = notification(&n);
        assert_eq!(check(&r, &[]), 0, "url {url:?}");
    }
    n.url = "http://10.0.0.1:8080/?a=\"b\"&c".to_owned();
    let r = notification(&n);
    assert!(
        r.html
            .contains("<a href=\"http://10.0.0.1:8080/?a=&quot;b&quot;&amp;c\">"),
        "{}",
        r.html
    );
}

#[test]
fn stored_notifications_are_cleaned_again() {
    let n = Notification {
        domain: "example.com".into(),
        kind: NotificationKind::GoLive,
        name: format!("a\u{202E}b\n{}", "n".repeat(500)),
        title: "t\u{0000}".into(),
        tags: vec!["#x y".into(), "  ".into()],
        url: URL.into(),
    };
    let r = notification(&n);
    assert!(!r.body.contains(['\u{202E}', '\u{0000}']));
    assert!(r.body.contains("\n#xy\n"), "{}", r.body);
    assert!(r.body.len() < 400, "name is capped");
    check(&r, &[URL]);
}

#[test]
fn command_replies() {
    let cases = [
        (
            subscribed("example.com", Some("My Stream")),
            "✅ Subscribed to My Stream (`example.com`). This room will be told when it goes live.",
            "<p>✅ Subscribed to <b>My Stream</b> (<code>example.com</code>). This room will be \
             told when it goes live.</p>",
        ),
        (
            subscribed("example.com", None),
            "✅ Subscribed to `example.com`. This room will be told when it goes live.",
            "<p>✅ Subscribed to <code>example.com</code>. This room will be told when it goes \
             live.</p>",
        ),
        (
            subscribed("example.com", Some(" ")),
            "✅ Subscribed to `example.com`. This room will be told when it goes live.",
            "<p>✅ Subscribed to <code>example.com</code>. This room will be told when it goes \
             live.</p>",
        ),
        (
            already_subscribed("example.com"),
            "ℹ️ This room is already subscribed to `example.com`.",
            "<p>ℹ️ This room is already subscribed to <code>example.com</code>.</p>",
        ),
        (
            unsubscribed("http://10.0.0.1:8080"),
            "✅ Unsubscribed from `http://10.0.0.1:8080`.",
            "<p>✅ Unsubscribed from <code>http://10.0.0.1:8080</code>.</p>",
        ),
        (
            not_subscribed("example.com"),
            "ℹ️ This room is not subscribed to `example.com`.",
            "<p>ℹ️ This room is not subscribed to <code>example.com</code>.</p>",
        ),
        (
            permission_denied(50),
            "❌ Sorry, only members with power level 50 or higher, or bot admins, can do that.",
            "<p>❌ Sorry, only members with power level 50 or higher, or bot admins, can do \
             that.</p>",
        ),
        (
            limit_reached(100),
            "❌ This room already has 100 subscriptions, the most allowed. Unsubscribe from one \
             to add another.",
            "<p>❌ This room already has 100 subscriptions, the most allowed. Unsubscribe from \
             one to add another.</p>",
        ),
        (
            limit_reached(1),
            "❌ This room already has 1 subscription, the most allowed. Unsubscribe from one to \
             add another.",
            "<p>❌ This room already has 1 subscription, the most allowed. Unsubscribe from one \
             to add another.</p>",
        ),
        (
            not_owncast("example.com", "/api/status answered 404 <Not Found>"),
            "❌ `example.com` does not look like an Owncast server: /api/status answered 404 \
             <Not Found>",
            "<p>❌ <code>example.com</code> does not look like an Owncast server: /api/status \
             answered 404 &lt;Not Found&gt;</p>",
        ),
        (
            error("Unknown command `foo`. Try `!owncast help`."),
            "❌ Unknown command `foo`. Try `!owncast help`.",
            "<p>❌ Unknown command <code>foo</code>. Try <code>!owncast help</code>.</p>",
        ),
        (
            error("unbalanced ` tick"),
            "❌ unbalanced ` tick",
            "<p>❌ unbalanced ` tick</p>",
        ),
        (
            error("a < b & c"),
            "❌ a < b & c",
            "<p>❌ a &lt; b &amp; c</p>",
        ),
    ];
    for (r, body, html) in cases {
        assert_eq!(r.body, body);
        assert_eq!(r.html, html);
        assert_eq!(check(&r, &[]), 0);
    }
}

#[test]
fn hostile_text_in_replies_is_inert() {
    for input in HOSTILE {
        let replies = [
            subscribed("example.com", Some(input)),
            not_owncast("example.com", input),
            error(input),
            error(&format!("`{input}` is not valid: `{input}`")),
        ];
        for r in replies {
            assert_eq!(check(&r, &[]), 0, "{input:?}");
            assert_defused(&r, input, &[]);
        }
    }
}

#[test]
fn list_empty_points_to_subscribe() {
    let r = list(&[]);
    assert_eq!(
        r.body,
        "This room has no subscriptions yet. Add one with the `subscribe` command (see `help`)."
    );
    check(&r, &[]);
}

#[test]
fn list_shows_every_state() {
    let entries = [
        entry("a.example", "Alpha", "Coding", StreamLiveState::Live),
        entry("b.example", "Beta", "old title", StreamLiveState::Offline),
        entry("c.example", "", "", StreamLiveState::Unreachable),
        entry("d.example", "d.example", "", StreamLiveState::Unknown),
        entry("e.example", "Echo", "", StreamLiveState::Live),
    ];
    let r = list(&entries);
    assert_eq!(
        r.body,
        "Subscriptions in this room (5):\n\
         🔴 Alpha (a.example) is live: Coding\n\
         ⚫ Beta (b.example) is offline\n\
         ⚠️ c.example is unreachable\n\
         ⏳ d.example has not been checked yet\n\
         🔴 Echo (e.example) is live"
    );
    assert!(r.html.starts_with(
        "<p>Subscriptions in this room (5):</p><ul><li>🔴 <b>Alpha</b> \
         (<a href=\"https://a.example/\">a.example</a>) is live: Coding</li>"
    ));
    assert!(r.html.ends_with("</li></ul>"));
    let urls: Vec<String> = entries.iter().map(|e| e.url.clone()).collect();
    let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
    assert_eq!(check(&r, &urls), 5);
}

#[test]
fn live_shows_only_live_streams() {
    let entries = [
        entry("a.example", "Alpha", "Coding", StreamLiveState::Live),
        entry("b.example", "Beta", "old title", StreamLiveState::Offline),
        entry("c.example", "", "", StreamLiveState::Live),
        entry("d.example", "Delta", "x", StreamLiveState::Unreachable),
    ];
    let r = live(&entries);
    assert_eq!(
        r.body,
        "Live now (2):\n🔴 Alpha (a.example): Coding\n🔴 c.example"
    );
    assert_eq!(
        r.html,
        "<p>Live now (2):</p><ul>\
         <li>🔴 <b>Alpha</b> (<a href=\"https://a.example/\">a.example</a>): Coding</li>\
         <li>🔴 <a href=\"https://c.example/\">c.example</a></li></ul>"
    );
    check(&r, &["https://a.example/", "https://c.example/"]);
}

#[test]
fn live_with_nothing_live() {
    let offline = [entry("b.example", "Beta", "", StreamLiveState::Offline)];
    for entries in [&offline[..], &[]] {
        let r = live(entries);
        assert_eq!(r.body, "No subscribed stream is live right now.");
        assert_eq!(r.html, "<p>No subscribed stream is live right now.</p>");
    }
}

#[test]
fn hostile_list_entries_are_inert() {
    for input in HOSTILE {
        let entries: Vec<ListEntry> = [
            StreamLiveState::Live,
            StreamLiveState::Offline,
            StreamLiveState::Unreachable,
            StreamLiveState::Unknown,
        ]
        .into_iter()
        .map(|state| entry("example.com", input, input, state))
        .collect();
        for r in [list(&entries), live(&entries)] {
            check(&r, &[URL]);
            assert_defused(&r, input, &[URL]);
        }
    }
}

#[test]
fn long_lists_stay_within_an_event() {
    let title = "&<".repeat(150);
    let entries: Vec<ListEntry> = (0..1000)
        .map(|i| {
            entry(
                &format!("stream-{i}.example"),
                &"@".repeat(100),
                &title,
                StreamLiveState::Live,
            )
        })
        .collect();
    for r in [list(&entries), live(&entries)] {
        assert!(r.body.len() + r.html.len() <= MAX_MESSAGE_BYTES);
        assert!(r.body.ends_with(" more."), "{} bytes", r.body.len());
        assert!(r.html.ends_with(" more.</li></ul>"));
        assert_same_text(&r);
    }
    let short: Vec<ListEntry> = entries.into_iter().take(3).collect();
    assert!(!list(&short).body.contains("more."));
}

#[test]
fn error_texts_are_cleaned_and_capped() {
    let r = error(&format!("line one\nline\u{202E} two {}", "x".repeat(2000)));
    assert!(r.body.starts_with("❌ line one line two x"), "{}", r.body);
    assert_eq!(r.body.chars().count(), 2 + MAX_ERROR_CHARS + 1);
    let r = not_owncast("example.com", &"y".repeat(2000));
    assert!(r.body.ends_with("y…"));
    assert!(r.body.chars().count() < MAX_ERROR_CHARS + 80);
}
