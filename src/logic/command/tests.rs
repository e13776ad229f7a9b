use super::*;

const PREFIX: &str = "!owncast";

fn target(input: &str) -> StreamTarget {
    StreamTarget::parse(input).unwrap_or_else(|e| panic!("`{input}` should parse: {e}"))
}

fn ok(command: Command) -> Option<Result<Command, CommandError>> {
    Some(Ok(command))
}

#[test]
fn messages_not_for_the_bot_are_ignored() {
    let cases = [
        "",
        "   ",
        "hello",
        "owncast list",
        "!owncaster list",
        "!owncast-list",
        "!owncast: list",
        "say !owncast list",
        "x !owncast",
        "!own",
        "> !owncast list",
        "> quote\n!owncast list",
        "> quote\n\nnot a command",
    ];
    for body in cases {
        assert_eq!(parse(body, PREFIX), None, "body {body:?}");
    }
}

#[test]
fn commands_and_aliases() {
    let cases = [
        ("!owncast", ok(Command::Help)),
        ("!owncast help", ok(Command::Help)),
        ("!owncast help subscribe", ok(Command::Help)),
        ("!owncast list", ok(Command::List)),
        ("!owncast ls", ok(Command::List)),
        ("!owncast live", ok(Command::Live)),
        (
            "!owncast subscribe example.com",
            ok(Command::Subscribe(target("example.com"))),
        ),
        (
            "!owncast sub https://Example.COM/watch",
            ok(Command::Subscribe(target("example.com"))),
        ),
        (
            "!owncast unsubscribe http://10.0.0.1:8080",
            ok(Command::Unsubscribe(target("http://10.0.0.1:8080"))),
        ),
        (
            "!owncast unsub example.com:8443",
            ok(Command::Unsubscribe(target("example.com:8443"))),
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(parse(body, PREFIX), expected, "body {body:?}");
    }
}

#[test]
fn case_and_white_space_are_tolerated() {
    let cases = [
        ("!OWNCAST LIST", ok(Command::List)),
        ("!OwnCast Ls", ok(Command::List)),
        ("  !owncast   live  ", ok(Command::Live)),
        ("\t!owncast\tlive\t", ok(Command::Live)),
        ("\n\n!owncast\n", ok(Command::Help)),
        (
            "!owncast\nSUB\n   example.com\n",
            ok(Command::Subscribe(target("example.com"))),
        ),
        (
            "!owncast\u{00A0}unsub\u{00A0}example.com",
            ok(Command::Unsubscribe(target("example.com"))),
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(parse(body, PREFIX), expected, "body {body:?}");
    }
}

#[test]
fn reply_fallback_is_stripped() {
    let cases = [
        (
            "> <@alice:example.org> hi\n\n!owncast live",
            ok(Command::Live),
        ),
        (
            "> <@alice:example.org> !owncast help\n> second line\n\n!owncast ls",
            ok(Command::List),
        ),
        ("> a\n>\n> b\n\n!owncast", ok(Command::Help)),
        ("> a\r\n\r\n!owncast live", ok(Command::Live)),
        ("> <@alice:example.org> !owncast list\n\nthanks!", None),
        ("> only a quote", None),
        ("> quote\n\n", None),
    ];
    for (body, expected) in cases {
        assert_eq!(parse(body, PREFIX), expected, "body {body:?}");
    }
}

#[test]
fn other_prefixes() {
    let cases = [
        ("?oc list", "?oc", ok(Command::List)),
        ("?OC list", "?oc", ok(Command::List)),
        ("?ocx list", "?oc", None),
        ("!owncast list", "?oc", None),
        ("Bot, live", "bot,", ok(Command::Live)),
        ("!stream list", "  !stream  ", ok(Command::List)),
        ("!ÉMISSION ls", "!émission", ok(Command::List)),
        ("hey bot live", "hey bot", ok(Command::Live)),
        ("list", "", None),
        ("list", "   ", None),
    ];
    for (body, prefix, expected) in cases {
        assert_eq!(
            parse(body, prefix),
            expected,
            "body {body:?} prefix {prefix:?}"
        );
    }
}

#[test]
fn errors_carry_the_prefix_and_command() {
    let prefix = || PREFIX.to_owned();
    let cases = [
        (
            "!owncast foo",
            CommandError::UnknownCommand {
                prefix: prefix(),
                name: "foo".into(),
            },
        ),
        (
            "!owncast subscribe",
            CommandError::MissingArgument {
                prefix: prefix(),
                command: "subscribe",
            },
        ),
        (
            "!owncast unsub   ",
            CommandError::MissingArgument {
                prefix: prefix(),
                command: "unsubscribe",
            },
        ),
        (
            "!owncast ls extra",
            CommandError::UnexpectedArgument {
                prefix: prefix(),
                command: "list",
            },
        ),
        (
            "!owncast live now please",
            CommandError::UnexpectedArgument {
                prefix: prefix(),
                command: "live",
            },
        ),
        (
            "!owncast sub a.example b.example",
            CommandError::TooManyArguments {
                prefix: prefix(),
                command: "subscribe",
            },
        ),
        (
            "!owncast subscribe ftp://x",
            CommandError::BadTarget {
                prefix: prefix(),
                command: "subscribe",
                input: "ftp://x".into(),
                reason: TargetError::UnsupportedScheme("ftp://x".into()),
            },
        ),
        (
            "!owncast unsubscribe exa*mple.com",
            CommandError::BadTarget {
                prefix: prefix(),
                command: "unsubscribe",
                input: "exa*mple.com".into(),
                reason: TargetError::InvalidDomain("exa*mple.com".into()),
            },
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(parse(body, PREFIX), Some(Err(expected)), "body {body:?}");
    }
}

#[test]
fn error_messages_read_well() {
    let message = |body: &str, prefix: &str| match parse(body, prefix) {
        Some(Err(e)) => e.to_string(),
        other => panic!("{body:?} should fail, got {other:?}"),
    };
    let cases = [
        (
            "!owncast foo",
            PREFIX,
            "Unknown command `foo`. Try `!owncast help`.",
        ),
        ("?oc FOO", "?oc", "Unknown command `FOO`. Try `?oc help`."),
        (
            "!owncast subscribe",
            PREFIX,
            "`!owncast subscribe` needs a domain or URL, e.g. `!owncast subscribe example.com`",
        ),
        (
            "!owncast list extra",
            PREFIX,
            "`!owncast list` takes no arguments; send just `!owncast list`",
        ),
        (
            "!owncast unsub a b",
            PREFIX,
            "`!owncast unsubscribe` takes a single domain or URL, e.g. \
             `!owncast unsubscribe example.com`",
        ),
        (
            "!owncast sub ftp://x",
            PREFIX,
            "`ftp://x` is not a valid Owncast address: `ftp://x` is not an http(s) address. \
             Try e.g. `!owncast subscribe example.com`",
        ),
    ];
    for (body, prefix, expected) in cases {
        assert_eq!(message(body, prefix), expected);
    }
}

#[test]
fn echoed_input_is_capped() {
    let long = "x".repeat(5000);
    let Some(Err(CommandError::UnknownCommand { name, .. })) =
        parse(&format!("!owncast {long}"), PREFIX)
    else {
        panic!("should be an unknown command");
    };
    assert_eq!(name.chars().count(), MAX_ECHO_CHARS + 1);

    let Some(Err(CommandError::BadTarget { input, .. })) =
        parse(&format!("!owncast sub {long}"), PREFIX)
    else {
        panic!("should be a bad target");
    };
    assert_eq!(input.chars().count(), MAX_ECHO_CHARS + 1);
}

#[test]
fn hostile_echo_is_defused_when_rendered() {
    let bodies = [
        "!owncast @room",
        "!owncast sub @alice:example.org",
        "!owncast <b>x</b>",
    ];
    for body in bodies {
        let Some(Err(e)) = parse(body, PREFIX) else {
            panic!("{body:?} should fail");
        };
        let r = super::super::render::error(&e.to_string());
        assert!(
            !r.body.contains("@room") && !r.body.contains("@alice"),
            "{r:?}"
        );
        assert!(!r.html.contains("<b>x"), "{r:?}");
    }
}

#[test]
fn command_names_and_privilege() {
    let cases = [
        (Command::Subscribe(target("example.com")), "subscribe", true),
        (
            Command::Unsubscribe(target("example.com")),
            "unsubscribe",
            true,
        ),
        (Command::List, "list", false),
        (Command::Live, "live", false),
        (Command::Help, "help", false),
    ];
    for (command, name, privileged) in cases {
        assert_eq!(command.name(), name);
        assert_eq!(command.is_privileged(), privileged, "{name}");
        let parsed = parse(&format!("!owncast {name} example.com"), PREFIX);
        if privileged {
            assert_eq!(parsed, ok(command), "the canonical name parses");
        }
    }
}

#[test]
fn help_lists_every_command_with_aliases_and_audience() {
    let r = help(PREFIX);
    let expected_lines = [
        "`!owncast subscribe <domain or URL>` (alias `sub`): announce that server's streams in \
         this room (moderators and bot admins)",
        "`!owncast unsubscribe <domain or URL>` (alias `unsub`): stop announcing that server \
         here (moderators and bot admins)",
        "`!owncast list` (alias `ls`): this room's subscriptions and whether they are live \
         (anyone)",
        "`!owncast live`: this room's streams that are live now (anyone)",
        "`!owncast help`: this message (anyone)",
    ];
    let lines: Vec<&str> = r.body.lines().collect();
    assert_eq!(lines.len(), expected_lines.len() + 2, "{}", r.body);
    assert_eq!(&lines[1..=expected_lines.len()], expected_lines);
    assert!(r.html.contains(
        "<li><code>!owncast subscribe &lt;domain or URL&gt;</code> (alias <code>sub</code>): "
    ));
    assert!(r.html.starts_with("<p>") && r.html.ends_with("</p>"));
}

#[test]
fn help_uses_and_escapes_the_prefix() {
    let r = help(" <oc> ");
    assert!(r.body.contains("`<oc> list`"), "{}", r.body);
    assert!(
        r.html.contains("<code>&lt;oc&gt; list</code>"),
        "{}",
        r.html
    );
    assert!(!r.html.contains("<oc>"));
}
