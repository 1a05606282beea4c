//! A command as every floor sees it: its words, its keys and what kind of command it is,
//! worked out once where a line becomes a command (the session, the pipeline, a mode)
//! from one look-up in the command table, then passed down to planning, the retry loop,
//! the pipeline's barriers and the shell. The rules that classify a command live here
//! and nowhere else (docs/architecture.md, "One rule, one home").

use crate::cluster::commands::{CommandInfo, CommandTable, RequestPolicy, ResponsePolicy};

/// What kind of command it is: everything the floors above decide on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traits {
    /// The command table knows it.
    pub known: bool,
    /// Flagged read-only: a replica may answer it.
    pub readonly: bool,
    /// Its reply is a stream of messages (SUBSCRIBE and kin, MONITOR, SYNC, PSYNC),
    /// served until Ctrl-C.
    pub streams: bool,
    /// It may wait for its reply without a bound: blocking commands, the streams, WAIT
    /// and WAITAOF.
    pub waits: bool,
    /// A Pub/Sub command.
    pub pubsub: bool,
    /// SHUTDOWN without ABORT: the server closing the link is its success.
    pub ends_server: bool,
    /// Changes the connection or a transaction (SELECT, AUTH, MULTI, CLIENT …): in a
    /// pipeline it waits for everything before it and runs alone.
    pub changes_session: bool,
    /// Where the server's tips send a keyless command, and how the replies combine.
    pub request_policy: Option<RequestPolicy>,
    pub response_policy: Option<ResponsePolicy>,
}

/// Commands whose reply is a stream of messages.
const STREAMS: &[&str] = &["subscribe", "psubscribe", "ssubscribe", "monitor", "sync", "psync"];

/// Commands that wait on the server's other nodes without a bound of their own.
const WAITS: &[&str] = &["wait", "waitaof"];

/// Commands that change the connection or a transaction (besides every `CLIENT …`).
const CHANGES_SESSION: &[&str] = &[
    "select",
    "auth",
    "hello",
    "reset",
    "readonly",
    "readwrite",
    "multi",
    "exec",
    "discard",
    "watch",
    "unwatch",
    "monitor",
    "shutdown",
];

fn is_one_of(word: &[u8], words: &[&str]) -> bool {
    words.iter().any(|w| word.eq_ignore_ascii_case(w.as_bytes()))
}

impl Traits {
    /// The traits of `argv`, whose table entry is `info` (`None`: unknown command).
    pub fn of<A: AsRef<[u8]>>(argv: &[A], info: Option<&CommandInfo>) -> Traits {
        let Some(name) = argv.first().map(AsRef::as_ref) else { return Traits::default() };
        let streams = is_one_of(name, STREAMS);
        let flags = info.map(|i| i.flags).unwrap_or_default();
        Traits {
            known: info.is_some(),
            readonly: flags.readonly,
            streams,
            waits: streams || flags.blocking || is_one_of(name, WAITS),
            pubsub: flags.pubsub,
            ends_server: name.eq_ignore_ascii_case(b"shutdown")
                && !argv.iter().skip(1).any(|a| a.as_ref().eq_ignore_ascii_case(b"abort")),
            changes_session: is_one_of(name, CHANGES_SESSION) || name.eq_ignore_ascii_case(b"client"),
            request_policy: info.and_then(|i| i.request_policy),
            response_policy: info.and_then(|i| i.response_policy),
        }
    }
}

/// One command: its words, where its keys are, and its traits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Command {
    pub argv: Vec<Vec<u8>>,
    /// Positions of the keys in `argv` (channels too, for SSUBSCRIBE and SPUBLISH).
    pub keys: Vec<usize>,
    pub traits: Traits,
}

impl Command {
    /// Classifies `argv` with one look-up in `table`.
    pub fn new(argv: Vec<Vec<u8>>, table: &CommandTable) -> Command {
        let info = table.lookup(&argv);
        Command::with_info(argv, info)
    }

    /// Classifies `argv` whose table entry the caller already looked up.
    pub fn with_info(argv: Vec<Vec<u8>>, info: Option<&CommandInfo>) -> Command {
        let keys = info.map(|i| i.key_positions(&argv)).unwrap_or_default();
        let traits = Traits::of(&argv, info);
        Command { argv, keys, traits }
    }

    /// A command rcli builds itself, known to carry no keys and no special traits
    /// (a health probe, an internal request).
    pub fn plain(argv: Vec<Vec<u8>>) -> Command {
        let traits = Traits::of(&argv, None);
        Command { argv, keys: Vec::new(), traits }
    }

    /// One node's share of this command (a split command's group): the same traits,
    /// with `keys` the key positions in `argv`.
    pub fn part(&self, argv: Vec<Vec<u8>>, keys: Vec<usize>) -> Command {
        Command { argv, keys, traits: self.traits }
    }

    /// True when the command's name is `word` (any case).
    pub fn is(&self, word: &str) -> bool {
        self.argv.first().is_some_and(|n| n.eq_ignore_ascii_case(word.as_bytes()))
    }

    /// The key arguments, in order.
    pub fn key_args(&self) -> impl Iterator<Item = &Vec<u8>> {
        self.keys.iter().filter_map(|&p| self.argv.get(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<Vec<u8>> {
        words.iter().map(|w| w.as_bytes().to_vec()).collect()
    }

    fn classify(words: &[&str]) -> Command {
        Command::new(argv(words), &CommandTable::builtin())
    }

    #[test]
    fn keys_and_read_only_come_from_the_table() {
        let get = classify(&["GET", "k"]);
        assert_eq!(get.keys, vec![1]);
        assert!(get.traits.known && get.traits.readonly && !get.traits.waits);
        let mset = classify(&["mset", "a", "1", "b", "2"]);
        assert_eq!(mset.key_args().collect::<Vec<_>>(), vec![&b"a".to_vec(), &b"b".to_vec()]);
        assert!(!mset.traits.readonly);
        let unknown = classify(&["NOSUCH", "k"]);
        assert!(!unknown.traits.known && unknown.keys.is_empty());
    }

    #[test]
    fn streams_wait_and_blocking_commands_wait() {
        for words in [&["subscribe", "c"][..], &["MONITOR"], &["psync", "?", "-1"]] {
            let c = classify(words);
            assert!(c.traits.streams && c.traits.waits, "{words:?}");
        }
        for words in [&["WAIT", "1", "0"][..], &["waitaof", "0", "1", "0"], &["BLPOP", "k", "0"]] {
            let c = classify(words);
            assert!(!c.traits.streams && c.traits.waits, "{words:?}");
        }
    }

    #[test]
    fn shutdown_ends_the_server_unless_aborted() {
        assert!(classify(&["SHUTDOWN"]).traits.ends_server);
        assert!(classify(&["shutdown", "nosave"]).traits.ends_server);
        assert!(!classify(&["SHUTDOWN", "ABORT"]).traits.ends_server);
        assert!(!classify(&["GET", "shutdown"]).traits.ends_server);
    }

    #[test]
    fn session_changes_are_recognised_known_or_not() {
        for words in [&["select", "1"][..], &["CLIENT", "SETNAME", "x"], &["multi"], &["HELLO", "3"]] {
            assert!(classify(words).traits.changes_session, "{words:?}");
        }
        assert!(Command::plain(argv(&["auth", "p"])).traits.changes_session);
        assert!(!classify(&["SET", "k", "v"]).traits.changes_session);
    }

    #[test]
    fn parts_keep_the_traits() {
        let mget = classify(&["MGET", "a", "b"]);
        let part = mget.part(argv(&["MGET", "b"]), vec![1]);
        assert_eq!(part.traits, mget.traits);
        assert_eq!(part.key_args().collect::<Vec<_>>(), vec![&b"b".to_vec()]);
    }

    #[test]
    fn an_empty_command_has_no_traits() {
        assert_eq!(Command::plain(Vec::new()).traits, Traits::default());
    }
}
