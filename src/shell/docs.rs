//! Command documentation from `COMMAND DOCS`: summary, since, group, complexity and the
//! argument tree, for `help`, completion and hints. Comes from the connected server
//! (cached per version) or from `src/builtin/command_docs.resp` (Redis 7.0), so help
//! works offline. The syntax line follows redis-cli's `cliAddArgument`.

use crate::protocol::resp::{self, Frame, field};

/// `COMMAND DOCS` from redis-server 7.0.15, as raw RESP2.
pub const BUILTIN_COMMAND_DOCS: &[u8] = include_bytes!("../builtin/command_docs.resp");

/// The kind of an argument in the docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    Key,
    String,
    Integer,
    Double,
    Pattern,
    UnixTime,
    PureToken,
    OneOf,
    Block,
    Other,
}

/// One argument of a command's syntax.
#[derive(Debug, Clone)]
pub struct Arg {
    /// The argument as help shows it: its `display_text` where the server documents
    /// one (Valkey and Redis 7.2+ do: SORT's `by-pattern` is shown `pattern`), else
    /// its name, as redis-cli 7.2 and valkey-cli print it.
    pub name: String,
    pub kind: ArgKind,
    pub token: Option<String>,
    pub optional: bool,
    pub multiple: bool,
    pub multiple_token: bool,
    pub children: Vec<Arg>,
}

/// One `help` entry: a command or a subcommand (`CLIENT LIST`).
#[derive(Debug, Clone)]
pub struct DocEntry {
    /// Upper case, subcommands joined by a space.
    pub name: String,
    pub summary: String,
    pub since: String,
    pub group: String,
    pub complexity: String,
    pub args: Vec<Arg>,
}

impl DocEntry {
    /// The argument synopsis, as redis-cli prints it after the name.
    pub fn syntax(&self) -> String {
        join_args(&self.args, " ")
    }

    /// The words of the name (`["CLIENT", "LIST"]`).
    pub fn words(&self) -> Vec<&str> {
        self.name.split(' ').collect()
    }
}

/// Every documented command.
#[derive(Debug, Clone, Default)]
pub struct Docs {
    pub entries: Vec<DocEntry>,
}

/// A COMMAND DOCS string: it ends up in help and hints on the user's terminal, so any
/// control character in it is kept escaped.
fn text(frame: Option<&Frame>) -> String {
    let text = frame.and_then(Frame::to_text).unwrap_or_default();
    crate::protocol::text::escape_controls(&text, false).into_owned()
}

fn parse_arg(frame: &Frame) -> Option<Arg> {
    let pairs = frame.to_pairs()?;
    let kind = match text(field(&pairs, "type")).as_str() {
        "key" => ArgKind::Key,
        "string" => ArgKind::String,
        "integer" => ArgKind::Integer,
        "double" => ArgKind::Double,
        "pattern" => ArgKind::Pattern,
        "unix-time" => ArgKind::UnixTime,
        "pure-token" => ArgKind::PureToken,
        "oneof" => ArgKind::OneOf,
        "block" => ArgKind::Block,
        _ => ArgKind::Other,
    };
    let flags: Vec<String> =
        field(&pairs, "flags").and_then(Frame::as_items).unwrap_or_default().iter().map(|f| text(Some(f))).collect();
    let has = |flag: &str| flags.iter().any(|f| f == flag);
    Some(Arg {
        name: text(field(&pairs, "display_text").or(field(&pairs, "name"))),
        kind,
        token: field(&pairs, "token").map(|t| text(Some(t))),
        optional: has("optional"),
        multiple: has("multiple"),
        multiple_token: has("multiple_token"),
        children: field(&pairs, "arguments")
            .and_then(Frame::as_items)
            .unwrap_or_default()
            .iter()
            .filter_map(parse_arg)
            .collect(),
    })
}

fn parse_entries(name_prefix: Option<&str>, reply: &Frame, out: &mut Vec<DocEntry>) {
    let Some(pairs) = reply.to_pairs() else { return };
    for (name, doc) in pairs {
        let raw_name = text(Some(name));
        let shown = match name_prefix {
            Some(_) => raw_name.split('|').next_back().unwrap_or(&raw_name).to_uppercase(),
            None => raw_name.to_uppercase(),
        };
        let full = match name_prefix {
            Some(prefix) => format!("{prefix} {shown}"),
            None => shown,
        };
        let Some(doc_pairs) = doc.to_pairs() else { continue };
        let entry = DocEntry {
            name: full.clone(),
            summary: text(field(&doc_pairs, "summary")),
            since: text(field(&doc_pairs, "since")),
            group: text(field(&doc_pairs, "group")),
            complexity: text(field(&doc_pairs, "complexity")),
            args: field(&doc_pairs, "arguments")
                .and_then(Frame::as_items)
                .unwrap_or_default()
                .iter()
                .filter_map(parse_arg)
                .collect(),
        };
        out.push(entry);
        // A container (CLIENT, CONFIG…) has its own entry and one per subcommand, as in
        // redis-cli.
        if let Some(sub) = field(&doc_pairs, "subcommands") {
            parse_entries(Some(&full), sub, out);
        }
    }
}

impl Docs {
    /// Builds the docs from a `COMMAND DOCS` reply.
    pub fn from_reply(reply: &Frame) -> Docs {
        let mut entries = Vec::new();
        parse_entries(None, reply, &mut entries);
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Docs { entries }
    }

    /// The built-in Redis 7.0 docs.
    pub fn builtin() -> Docs {
        match resp::parse(BUILTIN_COMMAND_DOCS) {
            Ok(Some((frame, _))) => Docs::from_reply(&frame),
            _ => Docs::default(),
        }
    }

    /// Every entry whose words start with `words` (case-insensitive), as `help client`.
    pub fn matching(&self, words: &[String]) -> Vec<&DocEntry> {
        self.entries
            .iter()
            .filter(|e| {
                let names = e.words();
                words.len() <= names.len() && words.iter().zip(&names).all(|(w, n)| w.eq_ignore_ascii_case(n))
            })
            .collect()
    }

    /// The entry for the longest command prefix of `argv` (`CLIENT KILL …` → CLIENT KILL).
    pub fn lookup(&self, argv: &[&str]) -> Option<&DocEntry> {
        let two = argv.get(..2).and_then(|w| {
            self.entries
                .iter()
                .find(|e| e.words().len() == 2 && e.words().iter().zip(w).all(|(n, w)| n.eq_ignore_ascii_case(w)))
        });
        two.or_else(|| {
            let first = argv.first()?;
            self.entries.iter().find(|e| e.words().len() == 1 && e.name.eq_ignore_ascii_case(first))
        })
    }

    /// Entries of one group (`help @string`).
    pub fn group(&self, group: &str) -> Vec<&DocEntry> {
        self.entries.iter().filter(|e| e.group.eq_ignore_ascii_case(group)).collect()
    }

    /// Every group name, sorted.
    pub fn groups(&self) -> Vec<String> {
        let mut groups: Vec<String> = self.entries.iter().map(|e| e.group.clone()).filter(|g| !g.is_empty()).collect();
        groups.sort();
        groups.dedup();
        groups
    }
}

fn join_args(args: &[Arg], separator: &str) -> String {
    args.iter().map(arg_syntax).collect::<Vec<_>>().join(separator)
}

/// A name or token as help shows it: an empty string is written `""` (MIGRATE's
/// `key|""`), as redis-cli does.
fn or_empty(text: &str) -> String {
    if text.is_empty() { "\"\"".to_string() } else { text.to_string() }
}

/// redis-cli's `cliAddArgument` (docs/redis-cli-modes.md §8.1).
pub fn arg_syntax(arg: &Arg) -> String {
    let repeat = match arg.kind {
        ArgKind::OneOf => join_args(&arg.children, "|"),
        ArgKind::Block => join_args(&arg.children, " "),
        ArgKind::PureToken => String::new(),
        _ => or_empty(&arg.name),
    };
    let mut token = arg.token.as_deref().map(or_empty).unwrap_or_default();
    if !token.is_empty() && arg.kind != ArgKind::PureToken {
        token.push(' ');
    }
    let mut out = String::new();
    if arg.optional {
        out.push('[');
    }
    out.push_str(&token);
    out.push_str(&repeat);
    if arg.multiple {
        out.push_str(" [");
        if arg.multiple_token {
            out.push_str(&token);
        }
        out.push_str(&repeat);
        out.push_str(" ...]");
    }
    if arg.optional {
        out.push(']');
    }
    out
}

/// The text of `help`, `help CMD…` or `help @group`, as redis-cli prints it
/// (bold name, grey syntax, yellow labels, `\r\n` line ends); colours only when `color`.
pub fn help_text(docs: &Docs, words: &[String], color: bool) -> String {
    let paint = |code: &str, text: &str| if color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() };
    if words.is_empty() {
        return format!(
            "rcli {}\nTo get help about Redis commands type:\n      \"help @<group>\" to get a list of commands in <group>\n      \"help <command>\" for help on <command>\n      \"help <tab>\" to get a list of possible help topics\n      \"quit\" to exit\n\nrcli's own commands start with ':' (\":help\" lists them).\nTo set rcli preferences:\n      \":set hints\" enable online hints\n      \":set nohints\" disable online hints\nSet your preferences in the rclirc file (see \":help :set\")\n",
            env!("CARGO_PKG_VERSION")
        );
    }
    let Some(first) = words.first() else { return String::new() };
    let (entries, show_group) = match first.strip_prefix('@') {
        Some(group) => (docs.group(group), false),
        None => (docs.matching(words), true),
    };
    let mut out = String::new();
    for entry in entries {
        out.push_str(&format!("\r\n  {} {}\r\n", paint("1", &entry.name), paint("90", &entry.syntax())));
        out.push_str(&format!("  {} {}\r\n", paint("33", "summary:"), entry.summary));
        out.push_str(&format!("  {} {}\r\n", paint("33", "since:"), entry.since));
        if show_group {
            out.push_str(&format!("  {} {}\r\n", paint("33", "group:"), entry.group));
        }
    }
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_docs_give_redis_cli_syntax() {
        let docs = Docs::builtin();
        let set = docs.lookup(&["set"]).unwrap();
        assert_eq!(
            set.syntax(),
            "key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]"
        );
        assert_eq!(set.summary, "Set the string value of a key");
        assert_eq!(set.group, "string");
        assert_eq!(docs.lookup(&["client", "kill"]).unwrap().name, "CLIENT KILL");
        assert!(docs.matching(&["client".into()]).len() > 10);
        assert!(docs.groups().contains(&"sorted-set".to_string()));
    }

    #[test]
    fn an_arguments_display_text_is_shown_instead_of_its_name() {
        // Valkey 8.1's SORT_RO, cut to its key and BY arguments; the key has no display text.
        let reply = b"*2\r\n$7\r\nsort_ro\r\n*2\r\n$9\r\narguments\r\n*2\r\n\
            *4\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n\
            *10\r\n$4\r\nname\r\n$10\r\nby-pattern\r\n$4\r\ntype\r\n$7\r\npattern\r\n\
            $12\r\ndisplay_text\r\n$7\r\npattern\r\n$5\r\ntoken\r\n$2\r\nBY\r\n\
            $5\r\nflags\r\n*1\r\n$8\r\noptional\r\n";
        let frame = resp::parse(reply).unwrap().unwrap().0;
        let docs = Docs::from_reply(&frame);
        assert_eq!(docs.lookup(&["sort_ro"]).unwrap().syntax(), "key [BY pattern]");
    }

    #[test]
    fn help_text_matches_redis_cli_layout() {
        let docs = Docs::builtin();
        let text = help_text(&docs, &["get".into()], false);
        assert!(
            text.starts_with(
                "\r\n  GET key\r\n  summary: Get the value of a key\r\n  since: 1.0.0\r\n  group: string\r\n"
            ),
            "{text:?}"
        );
    }
}
