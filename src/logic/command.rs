//! Chat commands (behaviour §5): which messages are addressed to the bot, and what they ask.

use super::notification::clean;
use super::render::{Builder, Rendered};
use super::target::{StreamTarget, TargetError};

#[cfg(test)]
mod tests;

/// How much of a mistyped command word or address a reply repeats, so a huge paste does not
/// come back as a huge reply.
const MAX_ECHO_CHARS: usize = 80;

/// A request addressed to the bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Subscribe(StreamTarget),
    Unsubscribe(StreamTarget),
    List,
    Live,
    Help,
}

impl Command {
    /// The canonical command word, for logs.
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }

    /// Changes the room's subscriptions, so only moderators and bot admins may use it.
    pub fn is_privileged(&self) -> bool {
        self.kind().is_privileged()
    }

    fn kind(&self) -> Kind {
        match self {
            Command::Subscribe(_) => Kind::Subscribe,
            Command::Unsubscribe(_) => Kind::Unsubscribe,
            Command::List => Kind::List,
            Command::Live => Kind::Live,
            Command::Help => Kind::Help,
        }
    }
}

/// A message addressed to the bot that it cannot act on.
///
/// Each message is the reply the user sees, with a hint on correct usage. Messages echo user
/// input, so send them through [`render::error`](super::render::error), which defuses mentions
/// and links.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("Unknown command `{name}`. Try `{prefix} help`.")]
    UnknownCommand { prefix: String, name: String },
    #[error("`{prefix} {command}` needs a domain or URL, e.g. `{prefix} {command} example.com`")]
    MissingArgument {
        prefix: String,
        command: &'static str,
    },
    #[error("`{prefix} {command}` takes no arguments; send just `{prefix} {command}`")]
    UnexpectedArgument {
        prefix: String,
        command: &'static str,
    },
    #[error(
        "`{prefix} {command}` takes a single domain or URL, e.g. `{prefix} {command} example.com`"
    )]
    TooManyArguments {
        prefix: String,
        command: &'static str,
    },
    #[error(
        "`{input}` is not a valid Owncast address: {reason}. \
         Try e.g. `{prefix} {command} example.com`"
    )]
    BadTarget {
        prefix: String,
        command: &'static str,
        input: String,
        reason: TargetError,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Subscribe,
    Unsubscribe,
    List,
    Live,
    Help,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Subscribe => "subscribe",
            Kind::Unsubscribe => "unsubscribe",
            Kind::List => "list",
            Kind::Live => "live",
            Kind::Help => "help",
        }
    }

    fn is_privileged(self) -> bool {
        matches!(self, Kind::Subscribe | Kind::Unsubscribe)
    }
}

/// One row of the command table, which drives both parsing and `help`.
struct Spec {
    kind: Kind,
    aliases: &'static [&'static str],
    /// Shown in `help`; `None` for commands that take no argument.
    argument: Option<&'static str>,
    summary: &'static str,
}

/// In the order `help` lists them.
const COMMANDS: &[Spec] = &[
    Spec {
        kind: Kind::Subscribe,
        aliases: &["sub"],
        argument: Some("<domain or URL>"),
        summary: "announce that server's streams in this room",
    },
    Spec {
        kind: Kind::Unsubscribe,
        aliases: &["unsub"],
        argument: Some("<domain or URL>"),
        summary: "stop announcing that server here",
    },
    Spec {
        kind: Kind::List,
        aliases: &["ls"],
        argument: None,
        summary: "this room's subscriptions and whether they are live",
    },
    Spec {
        kind: Kind::Live,
        aliases: &[],
        argument: None,
        summary: "this room's streams that are live now",
    },
    Spec {
        kind: Kind::Help,
        aliases: &[],
        argument: None,
        summary: "this message",
    },
];

/// Reads a chat message.
///
/// `None` when the message is not for the bot: it does not start with `prefix` as a whole word
/// (after any reply fallback). The prefix and command words match case-insensitively. An empty
/// prefix matches nothing, so a misconfiguration cannot make the bot answer every message.
pub fn parse(body: &str, prefix: &str) -> Option<Result<Command, CommandError>> {
    let prefix = prefix.trim();
    if prefix.is_empty() {
        return None;
    }
    let text = strip_reply_fallback(body).trim_start();
    let rest = strip_prefix_ignore_case(text, prefix)?;
    if rest.chars().next().is_some_and(|c| !c.is_whitespace()) {
        return None;
    }
    let mut words = rest.split_whitespace();
    let Some(word) = words.next() else {
        return Some(Ok(Command::Help));
    };
    // Two are enough to tell "one argument" from "too many".
    let args: Vec<&str> = words.take(2).collect();
    Some(interpret(prefix, word, &args))
}

fn interpret(prefix: &str, word: &str, args: &[&str]) -> Result<Command, CommandError> {
    let spec = find(word).ok_or_else(|| CommandError::UnknownCommand {
        prefix: prefix.to_owned(),
        name: clean(word, MAX_ECHO_CHARS),
    })?;
    match spec.kind {
        // Someone asking for help about something gets help, not an error.
        Kind::Help => Ok(Command::Help),
        Kind::List => no_argument(prefix, spec, args).map(|()| Command::List),
        Kind::Live => no_argument(prefix, spec, args).map(|()| Command::Live),
        Kind::Subscribe => one_target(prefix, spec, args).map(Command::Subscribe),
        Kind::Unsubscribe => one_target(prefix, spec, args).map(Command::Unsubscribe),
    }
}

fn find(word: &str) -> Option<&'static Spec> {
    let word = word.to_lowercase();
    COMMANDS
        .iter()
        .find(|spec| spec.kind.name() == word || spec.aliases.contains(&word.as_str()))
}

fn no_argument(prefix: &str, spec: &Spec, args: &[&str]) -> Result<(), CommandError> {
    if args.is_empty() {
        Ok(())
    } else {
        Err(CommandError::UnexpectedArgument {
            prefix: prefix.to_owned(),
            command: spec.kind.name(),
        })
    }
}

fn one_target(prefix: &str, spec: &Spec, args: &[&str]) -> Result<StreamTarget, CommandError> {
    let prefix = prefix.to_owned();
    let command = spec.kind.name();
    match args {
        [] => Err(CommandError::MissingArgument { prefix, command }),
        [input] => StreamTarget::parse(input).map_err(|reason| CommandError::BadTarget {
            prefix,
            command,
            input: clean(input, MAX_ECHO_CHARS),
            reason,
        }),
        _ => Err(CommandError::TooManyArguments { prefix, command }),
    }
}

/// Drops the quote that older clients put at the start of a reply's `body`: lines starting
/// with `> ` (or a bare `>` for an empty quoted line), then one empty line. Quoted lines that
/// are not followed by an empty line are not a fallback, and the text is left alone.
fn strip_reply_fallback(body: &str) -> &str {
    if !body.starts_with("> ") {
        return body;
    }
    let mut rest = body;
    loop {
        let (line, after) = rest.split_once('\n').unwrap_or((rest, ""));
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.starts_with("> ") || line == ">" {
            rest = after;
        } else if line.is_empty() {
            return after;
        } else {
            return body;
        }
    }
}

/// The text after `prefix`, compared character by character ignoring case.
fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let mut rest = text.chars();
    for expected in prefix.chars() {
        let actual = rest.next()?;
        if !actual.to_lowercase().eq(expected.to_lowercase()) {
            return None;
        }
    }
    Some(rest.as_str())
}

/// Usage of every command, with aliases and who may use it.
pub fn help(prefix: &str) -> Rendered {
    let prefix = prefix.trim();
    let mut b = Builder::new();
    b.paragraph(|b| {
        b.text("I announce Owncast streams in this room when they go live. Commands:");
    });
    b.bullets(COMMANDS, |b, spec| help_line(b, prefix, spec));
    b.paragraph(|b| {
        b.text("A server can be given as a domain or a URL, e.g. ")
            .code("example.com")
            .text(" or ")
            .code("https://example.com:8443/")
            .text(".");
    });
    b.finish()
}

fn help_line(b: &mut Builder, prefix: &str, spec: &Spec) {
    let usage = match spec.argument {
        Some(argument) => format!("{prefix} {} {argument}", spec.kind.name()),
        None => format!("{prefix} {}", spec.kind.name()),
    };
    b.code(&usage);
    for (i, alias) in spec.aliases.iter().enumerate() {
        b.text(if i == 0 { " (alias " } else { ", " }).code(alias);
    }
    if !spec.aliases.is_empty() {
        b.text(")");
    }
    let who = if spec.kind.is_privileged() {
        "moderators and bot admins"
    } else {
        "anyone"
    };
    b.text(": ")
        .text(spec.summary)
        .text(" (")
        .text(who)
        .text(")");
}
