//! Unit tests of `cluster::commands`: the built-in table, key positions, flags and tips.

use super::*;

fn keys(line: &str) -> Vec<String> {
    let table = CommandTable::builtin();
    let argv: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
    table.key_positions(&argv).into_iter().map(|i| String::from_utf8_lossy(argv[i]).into_owned()).collect()
}

#[test]
fn one_builtin_entry_is_the_whole_tables_entry() {
    let whole = CommandTable::builtin();
    for argv in [&["GET", "k"][..], &["client", "list"], &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"]] {
        let one = CommandTable::builtin_one(argv[0].as_bytes());
        assert_eq!(one.len(), 1);
        assert_eq!(format!("{:?}", one.lookup(argv)), format!("{:?}", whole.lookup(argv)), "{argv:?}");
    }
    assert!(CommandTable::builtin_one(b"nosuchcommand").is_empty());
    // Every command of the table, found alone, is the table's entry.
    for &(name, _) in super::builtin_index::ENTRIES {
        let one = CommandTable::builtin_one(name.as_bytes());
        assert_eq!(format!("{:?}", one.lookup(&[name])), format!("{:?}", whole.lookup(&[name])), "{name}");
    }
}

#[test]
fn builtin_table_loads() {
    let table = CommandTable::builtin();
    assert!(table.len() > 200, "{} commands", table.len());
    let get = table.lookup(&["GET"]).unwrap();
    assert!(get.flags.readonly);
    let blpop = table.lookup(&["blpop"]).unwrap();
    assert!(blpop.flags.blocking);
    let dbsize = table.lookup(&["DBSIZE"]).unwrap();
    assert_eq!(dbsize.request_policy, Some(RequestPolicy::AllShards));
    assert_eq!(dbsize.response_policy, Some(ResponsePolicy::AggSum));
    assert_eq!(table.lookup(&["client", "list"]).unwrap().name, "client|list");
}

#[test]
fn simple_and_multi_key_commands() {
    assert_eq!(keys("GET foo"), ["foo"]);
    assert_eq!(keys("SET foo bar EX 10"), ["foo"]);
    assert_eq!(keys("MSET a 1 b 2 c 3"), ["a", "b", "c"]);
    assert_eq!(keys("MGET a b c"), ["a", "b", "c"]);
    assert_eq!(keys("DEL a b"), ["a", "b"]);
    assert!(keys("PING").is_empty());
    assert!(keys("NOSUCHCOMMAND x").is_empty());
}

#[test]
fn numkeys_commands() {
    assert_eq!(keys("EVAL script 2 k1 k2 a1"), ["k1", "k2"]);
    assert!(keys("EVAL script 0 a1").is_empty());
    assert_eq!(keys("EVALSHA sha 1 k1 a1"), ["k1"]);
    assert_eq!(keys("FCALL f 1 k1 a1"), ["k1"]);
    assert_eq!(keys("ZUNIONSTORE dst 2 z1 z2 WEIGHTS 1 2"), ["dst", "z1", "z2"]);
    assert_eq!(keys("ZINTERSTORE dst 1 z1"), ["dst", "z1"]);
    assert_eq!(keys("LMPOP 2 l1 l2 LEFT"), ["l1", "l2"]);
    assert_eq!(keys("BLMPOP 0 2 l1 l2 LEFT"), ["l1", "l2"]);
    assert_eq!(keys("ZMPOP 1 z MIN"), ["z"]);
    assert_eq!(keys("SINTERCARD 2 s1 s2 LIMIT 1"), ["s1", "s2"]);
}

#[test]
fn keyword_commands() {
    assert_eq!(keys("XREAD COUNT 2 STREAMS s1 s2 0 0"), ["s1", "s2"]);
    assert_eq!(keys("XREADGROUP GROUP g c STREAMS s1 >"), ["s1"]);
    assert_eq!(keys("MIGRATE h 1 k 0 5000"), ["k"]);
    assert_eq!(keys("MIGRATE h 1  0 5000 KEYS a b"), ["a", "b"]);
    assert_eq!(keys("GEORADIUS g 0 0 1 km STORE dst"), ["g", "dst"]);
    assert_eq!(keys("SORT src BY w_* GET o_* STORE dst"), ["src", "dst"]);
    assert_eq!(keys("SORT src LIMIT 0 10"), ["src"]);
    assert_eq!(keys("SORT src GET store"), ["src"]);
    assert_eq!(keys("OBJECT ENCODING k"), ["k"]);
    assert_eq!(keys("MEMORY USAGE k"), ["k"]);
    assert_eq!(keys("SPUBLISH ch msg"), ["ch"]);
    assert_eq!(keys("SSUBSCRIBE a b"), ["a", "b"]);
}

/// A COMMAND entry whose key-spec numbers are hostile.
fn hostile_get(spec: Frame) -> CommandTable {
    let bulk = |t: &str| Frame::Bulk(t.as_bytes().to_vec());
    let entry = Frame::Array(vec![
        bulk("get"),
        Frame::Integer(2),
        Frame::Array(vec![bulk("readonly")]),
        Frame::Integer(i64::MAX),
        Frame::Integer(i64::MIN),
        Frame::Integer(i64::MAX),
        Frame::Array(vec![]),
        Frame::Array(vec![]),
        Frame::Array(vec![spec]),
        Frame::Array(vec![]),
    ]);
    CommandTable::from_reply(&Frame::Array(vec![entry]))
}

fn spec(begin: Vec<(&str, Frame)>, find: Vec<(&str, Frame)>) -> Frame {
    let bulk = |t: &str| Frame::Bulk(t.as_bytes().to_vec());
    let map = |pairs: Vec<(&str, Frame)>| Frame::Array(pairs.into_iter().flat_map(|(k, v)| [bulk(k), v]).collect());
    Frame::Array(vec![
        bulk("begin_search"),
        map(vec![
            ("type", bulk(if begin.iter().any(|(k, _)| *k == "keyword") { "keyword" } else { "index" })),
            ("spec", map(begin)),
        ]),
        bulk("find_keys"),
        map(vec![
            ("type", bulk(if find.iter().any(|(k, _)| *k == "keynumidx") { "keynum" } else { "range" })),
            ("spec", map(find)),
        ]),
    ])
}

#[test]
fn hostile_key_spec_numbers_neither_panic_nor_invent_keys() {
    let argv: Vec<&[u8]> = vec![b"GET", b"a", b"b", b"3"];
    let cases = [
        spec(
            vec![("index", Frame::Integer(1))],
            vec![("lastkey", Frame::Integer(0)), ("keystep", Frame::Integer(i64::MAX)), ("limit", Frame::Integer(0))],
        ),
        spec(
            vec![("index", Frame::Integer(i64::MAX))],
            vec![("lastkey", Frame::Integer(i64::MAX)), ("keystep", Frame::Integer(1)), ("limit", Frame::Integer(0))],
        ),
        spec(
            vec![("index", Frame::Integer(1))],
            vec![("lastkey", Frame::Integer(-1)), ("keystep", Frame::Integer(1)), ("limit", Frame::Integer(i64::MIN))],
        ),
        spec(
            vec![("keyword", Frame::Bulk(b"a".to_vec())), ("startfrom", Frame::Integer(i64::MIN))],
            vec![("lastkey", Frame::Integer(0)), ("keystep", Frame::Integer(1)), ("limit", Frame::Integer(0))],
        ),
        spec(
            vec![("index", Frame::Integer(1))],
            vec![
                ("keynumidx", Frame::Integer(i64::MAX)),
                ("firstkey", Frame::Integer(1)),
                ("keystep", Frame::Integer(1)),
            ],
        ),
        spec(
            vec![("index", Frame::Integer(1))],
            vec![
                ("keynumidx", Frame::Integer(2)),
                ("firstkey", Frame::Integer(i64::MAX)),
                ("keystep", Frame::Integer(1)),
            ],
        ),
    ];
    for case in cases {
        let table = hostile_get(case);
        let positions = table.key_positions(&argv);
        assert!(positions.iter().all(|&p| p >= 1 && p < argv.len()), "{positions:?}");
    }
}

#[test]
fn command_names_of_any_length_are_found() {
    let bulk = |t: &str| Frame::Bulk(t.as_bytes().to_vec());
    let long = "a.module.command.with.a.name.longer.than.32.bytes";
    let entry = Frame::Array(vec![
        bulk(long),
        Frame::Integer(2),
        Frame::Array(vec![bulk("readonly")]),
        Frame::Integer(1),
        Frame::Integer(1),
        Frame::Integer(1),
    ]);
    let table = CommandTable::from_reply(&Frame::Array(vec![entry]));
    assert_eq!(table.key_positions(&[long.to_uppercase().as_str(), "k"]), [1]);
}

/// The generated index says where each entry of the built-in table starts, for every
/// entry (regenerate: `python3 scripts/gen-builtin-commands.py --index-only`).
#[test]
fn the_builtin_index_names_every_entry_where_it_starts() {
    use crate::protocol::scan::{FrameScanner, Scanned};
    let bytes = BUILTIN_COMMAND_INFO;
    let mut at = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
    let mut found = Vec::new();
    let mut scanner = FrameScanner::default();
    while at < bytes.len() {
        let Scanned::Complete(len) = scanner.scan(&bytes[at..]) else { panic!("a whole entry at {at}") };
        let name = entry_name(&bytes[at..at + len]).unwrap();
        found.push((String::from_utf8(name.to_vec()).unwrap(), at));
        at += len;
    }
    found.sort();
    let indexed: Vec<(String, usize)> =
        super::builtin_index::ENTRIES.iter().map(|&(name, at)| (name.to_string(), at)).collect();
    assert_eq!(indexed, found, "src/builtin/command_info_index.rs is stale");
}
