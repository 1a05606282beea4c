//! The line editor's helper: completion, hints and highlighting, on made-up state.

use super::*;
use rustyline::history::DefaultHistory;

/// A helper over the built-in docs and a 3-primary slot map on ports 7000-7002.
fn helper(color: bool) -> RcliHelper {
    let primaries = [7000, 7001, 7002].map(|p| Endpoint::tcp("127.0.0.1", p));
    RcliHelper {
        state: HelperState {
            docs: Arc::new(Docs::builtin()),
            commands: Arc::new(CommandTable::builtin()),
            topology: Some(Arc::new(Topology::evenly(&primaries))),
            hints: true,
            color,
            keys: Arc::new(vec![b"user:1000".to_vec(), b"foo".to_vec()]),
            scanner: None,
        },
    }
}

fn complete(h: &RcliHelper, line: &str) -> (usize, Vec<String>) {
    let history = DefaultHistory::new();
    let (start, pairs) = h.complete(line, line.len(), &Context::new(&history)).unwrap();
    (start, pairs.into_iter().map(|p| p.replacement).collect())
}

fn hint(h: &RcliHelper, line: &str) -> Option<String> {
    let history = DefaultHistory::new();
    h.hint(line, line.len(), &Context::new(&history))
}

#[test]
fn completes_commands_subcommands_tokens_meta_and_keys() {
    let h = helper(false);
    let (start, names) = complete(&h, "ge");
    assert_eq!((start, names[0].as_str()), (0, "GET"));
    assert!(names.contains(&"GEOADD".to_string()) && names.contains(&"GETRANGE".to_string()));
    assert_eq!(complete(&h, "getr").1, ["GETRANGE"]);
    assert!(complete(&h, "client l").1.contains(&"list".to_string()));
    let (start, tokens) = complete(&h, "SET k v ");
    assert_eq!(start, 8);
    for t in ["NX", "XX", "EX", "KEEPTTL", "GET"] {
        assert!(tokens.contains(&t.to_string()), "{t} in {tokens:?}");
    }
    assert_eq!(complete(&h, "set k v e").1, ["ex", "exat"]);
    assert_eq!(complete(&h, "set k v E").1, ["EX", "EXAT"]);
    assert_eq!(complete(&h, ":us").1, [":use"]);
    assert!(complete(&h, ":use ").1.contains(&"primaries".to_string()));
    assert!(complete(&h, ":use 127").1.contains(&"127.0.0.1:7001".to_string()));
    assert_eq!(complete(&h, "get us").1, ["user:1000"]);
    assert!(complete(&h, "help @so").1.contains(&"@sorted-set".to_string()));
}

#[test]
fn hints_track_arguments_and_add_where_keys_land() {
    let h = helper(false);
    assert_eq!(
        hint(&h, "set foo ").as_deref(),
        Some(
            "value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]  · slot 12182 → 127.0.0.1:7002"
        )
    );
    assert_eq!(
        hint(&h, "set user:{1000}.following v EX ").as_deref(),
        Some("seconds [NX|XX] [GET]  · slot 11326 (hashes \"1000\") → 127.0.0.1:7002")
    );
    assert_eq!(hint(&h, "zadd z 0 ").as_deref(), Some("member [score member ...]  · slot 8157 → 127.0.0.1:7001"));
    assert_eq!(hint(&h, "scan 0 COUNT ").as_deref(), Some("count [MATCH pattern] [TYPE type]"));
    assert_eq!(
        hint(&h, "set foo v FOOBAR ").as_deref(),
        Some("· slot 12182 → 127.0.0.1:7002"),
        "no syntax hint when the line does not fit"
    );
    assert_eq!(hint(&h, "get").as_deref(), Some(" key"));
    assert_eq!(hint(&h, "get k"), None, "a word being typed counts as given");
    assert_eq!(
        hint(&h, "set k").as_deref(),
        Some(
            " value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]"
        )
    );
    assert_eq!(hint(&h, ":slot ").as_deref(), Some("KEY [KEY ...]"));
}

#[test]
fn cross_slot_keys_warn_before_enter() {
    let h = helper(false);
    let warning = hint(&h, "mset a 1 b 2").unwrap();
    assert!(warning.contains("CROSSSLOT: a → 15495, b → 3300 (rcli will split it per slot, not atomic)"), "{warning}");
    let refused = hint(&h, "sunionstore {u}:d user:1 ").unwrap();
    assert!(refused.contains("CROSSSLOT: {u}:d → 11826, user:1 → 10778 (use a common {hash tag})"), "{refused}");
    assert!(!hint(&h, "mset {u}a 1 {u}b 2 ").unwrap().contains("CROSSSLOT"));
}

#[test]
fn highlighting_marks_commands_keys_and_mistakes() {
    let h = helper(true);
    let line = h.state.highlight_line("set user:{1000}.x \"hello\" 42");
    assert!(line.contains(&paint::bold("set")), "{line:?}");
    assert!(line.contains(&paint::underline("1000")), "{line:?}");
    assert!(line.contains(&paint::string("\"hello\"")), "{line:?}");
    let unknown = h.state.highlight_line("nosuchcommand x");
    assert!(unknown.starts_with(&paint::wrong("nosuchcommand")), "{unknown:?}");
    let wrong = h.state.highlight_line("set k v FOOBAR ");
    assert!(wrong.contains(&paint::wrong("FOOBAR")), "{wrong:?}");
    let plain = helper(false);
    assert!(matches!(plain.highlight("set k v", 7), Cow::Borrowed(_)));
}

#[test]
fn a_scan_is_asked_for_only_at_a_key_position() {
    let h = helper(false);
    assert_eq!(h.state.key_word_at("get us", 6), Some(b"us".to_vec()));
    assert_eq!(h.state.key_word_at("get ", 4), Some(Vec::new()));
    assert_eq!(h.state.key_word_at("peek user", 9), Some(b"user".to_vec()));
    assert_eq!(h.state.key_word_at(":slot a b", 9), Some(b"b".to_vec()));
    assert_eq!(h.state.key_word_at("ge", 2), None);
    assert_eq!(h.state.key_word_at("set k ", 6), None, "a value, not a key");
    assert_eq!(h.state.key_word_at("ping ", 5), None);
}
