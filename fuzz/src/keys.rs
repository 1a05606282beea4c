//! The key-spec extractor (`CommandTable::from_reply`, `key_positions`), on three kinds
//! of table chosen by the input: the built-in Redis 7.0 table with any arguments, a
//! table from any bytes that parse as RESP, and a structure-aware COMMAND reply with
//! hostile numbers (indices, steps, limits near zero and near `i64` limits), odd types
//! and subcommands. For every one:
//!
//! * nothing panics (or overflows: the targets build with debug assertions);
//! * every key position is within `1..argv.len()`, sorted, without repeats;
//! * `key_positions_into` over a used buffer, and the entry from `lookup`, agree;
//! * a table read from the reply encoded and parsed again (as it comes from a server or
//!   the disk cache) gives the same positions.

use std::sync::OnceLock;

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use rcli::cluster::commands::{BUILTIN_COMMAND_INFO, CommandTable};
use rcli::protocol::encode::encode_frame;
use rcli::protocol::resp::{Frame, parse};

pub fn check(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(kind) = u.int_in_range(0..=2u8) else { return };
    let _ = match kind {
        0 => builtin(&mut u),
        1 => from_bytes(u.take_rest()),
        _ => structured(&mut u),
    };
}

/// The built-in table and its names (`[container, sub]` for subcommands), built once.
fn builtin_table() -> &'static (CommandTable, Vec<Vec<Vec<u8>>>) {
    static TABLE: OnceLock<(CommandTable, Vec<Vec<Vec<u8>>>)> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut names = Vec::new();
        if let Ok(Some((reply, _))) = parse(BUILTIN_COMMAND_INFO) {
            for entry in reply.as_items().unwrap_or_default() {
                let Some(items) = entry.as_items() else { continue };
                let Some(name) = items.first().and_then(Frame::as_bytes) else { continue };
                names.push(vec![name.to_vec()]);
                for sub in items.get(9).and_then(Frame::as_items).unwrap_or_default() {
                    let sub_name = sub.as_items().and_then(|s| s.first()).and_then(Frame::as_bytes);
                    if let Some(sub_name) = sub_name.and_then(|s| s.splitn(2, |&b| b == b'|').nth(1)) {
                        names.push(vec![name.to_vec(), sub_name.to_vec()]);
                    }
                }
            }
        }
        assert!(names.len() > 200, "the built-in table has {} names", names.len());
        (CommandTable::builtin(), names)
    })
}

/// Arguments that steer key-specs: keywords, counts, the empty key.
const TOKENS: &[&[u8]] = &[
    b"",
    b"0",
    b"1",
    b"2",
    b"3",
    b"-1",
    b"k",
    b"STORE",
    b"store",
    b"LIMIT",
    b"GET",
    b"BY",
    b"STREAMS",
    b"KEYS",
    b"WITHSCORES",
    b"99999999999999999999",
    b"9223372036854775807",
    b"kw",
];

fn args(u: &mut Unstructured, argv: &mut Vec<Vec<u8>>) -> Result<()> {
    let count = u.int_in_range(0..=16)?;
    for _ in 0..count {
        argv.push(if u.ratio(3, 4)? { u.choose(TOKENS)?.to_vec() } else { u.arbitrary::<&[u8]>()?.to_vec() });
    }
    Ok(())
}

fn with_case(u: &mut Unstructured, name: &[u8]) -> Result<Vec<u8>> {
    Ok(match u.int_in_range(0..=2)? {
        0 => name.to_vec(),
        1 => name.to_ascii_uppercase(),
        _ => name.iter().map(|b| if b % 2 == 0 { b.to_ascii_uppercase() } else { *b }).collect(),
    })
}

fn builtin(u: &mut Unstructured) -> Result<()> {
    let (table, names) = builtin_table();
    let mut argv = Vec::new();
    for part in u.choose(names)? {
        argv.push(with_case(u, part)?);
    }
    args(u, &mut argv)?;
    check_positions(table, &argv);
    Ok(())
}

/// Any bytes: a RESP frame as the COMMAND reply, the rest as space-separated arguments
/// led by the first entry's name.
fn from_bytes(data: &[u8]) -> Result<()> {
    let Ok(Some((reply, used))) = parse(data) else { return Ok(()) };
    let table = CommandTable::from_reply(&reply);
    let name = reply.as_items().and_then(|e| e.first()).and_then(Frame::as_items).and_then(|e| e.first());
    let mut argv = vec![name.and_then(Frame::as_bytes).unwrap_or(b"get").to_vec()];
    argv.extend(data[used..].split(|&b| b == b' ').map(<[u8]>::to_vec));
    check_positions(&table, &argv);
    check_reencoded(&reply, &table, &argv);
    Ok(())
}

fn structured(u: &mut Unstructured) -> Result<()> {
    let count = u.int_in_range(1..=3)?;
    let mut entries = Vec::new();
    let mut names = Vec::new();
    for _ in 0..count {
        let name = name(u)?;
        entries.push(entry(u, &name, 0)?);
        names.push(name);
    }
    let reply = Frame::Array(entries);
    let table = CommandTable::from_reply(&reply);
    let first = u.choose(&names)?.clone();
    let mut argv = vec![with_case(u, &first)?];
    if u.ratio(1, 3)? {
        argv.push(u.choose(SUBCOMMANDS)?.to_vec());
    }
    args(u, &mut argv)?;
    check_positions(&table, &argv);
    check_reencoded(&reply, &table, &argv);
    Ok(())
}

fn check_positions(table: &CommandTable, argv: &[Vec<u8>]) {
    let positions = table.key_positions(argv);
    assert!(positions.iter().all(|&p| p >= 1 && p < argv.len()), "positions {positions:?} of {} args", argv.len());
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "positions not sorted or repeated: {positions:?}");
    if let Some(info) = table.lookup(argv) {
        assert_eq!(info.key_positions(argv), positions, "lookup then key_positions");
        let mut reused = vec![7, 0, usize::MAX];
        info.key_positions_into(argv, &mut reused);
        assert_eq!(reused, positions, "key_positions_into over a used buffer");
    } else {
        assert!(positions.is_empty(), "keys for an unknown command");
    }
}

fn check_reencoded(reply: &Frame, table: &CommandTable, argv: &[Vec<u8>]) {
    let mut bytes = Vec::new();
    encode_frame(reply, &mut bytes);
    let Ok(Some((again, _))) = parse(&bytes) else { panic!("the reply does not parse after encoding") };
    assert_eq!(CommandTable::from_reply(&again).key_positions(argv), table.key_positions(argv), "re-read table");
}

const NAMES: &[&[u8]] = &[b"get", b"sort", b"sort_ro", b"migrate", b"eval", b"xread", b"Container"];
const SUBCOMMANDS: &[&[u8]] = &[b"sub", b"SUB", b"other"];

fn name(u: &mut Unstructured) -> Result<Vec<u8>> {
    Ok(if u.ratio(7, 8)? { u.choose(NAMES)?.to_vec() } else { u.arbitrary::<&[u8]>()?.to_vec() })
}

fn bulk(text: &[u8]) -> Frame {
    Frame::Bulk(text.to_vec())
}

/// A number a server might send: small, at the spec limit, or at the `i64` limits.
fn number(u: &mut Unstructured) -> Result<Frame> {
    const LIMIT: i64 = 1 << 20;
    Ok(match u.int_in_range(0..=9)? {
        0 => Frame::Integer(*u.choose(&[i64::MIN, i64::MAX, i64::MIN + 1, i64::MAX - 1])?),
        1 => Frame::Integer(*u.choose(&[LIMIT, -LIMIT, LIMIT + 1, -LIMIT - 1])?),
        2 => Frame::Integer(u.arbitrary()?),
        3 => bulk(b"1"),
        _ => Frame::Integer(u.int_in_range(-4..=6)?),
    })
}

/// Key/value pairs as a RESP3 map or a RESP2 flat array; sometimes a field is dropped.
fn pairs(u: &mut Unstructured, fields: Vec<(&[u8], Frame)>) -> Result<Frame> {
    let mut kept = Vec::new();
    for (key, value) in fields {
        if u.ratio(15, 16)? {
            kept.push((bulk(key), value));
        }
    }
    Ok(if u.arbitrary()? {
        Frame::Map(kept)
    } else {
        Frame::Array(kept.into_iter().flat_map(|(k, v)| [k, v]).collect())
    })
}

fn key_spec(u: &mut Unstructured) -> Result<Frame> {
    let begin_type = *u.choose(&[&b"index"[..], b"keyword", b"unknown", b"INDEX"])?;
    let keyword = if u.ratio(3, 4)? { bulk(u.choose(TOKENS)?) } else { number(u)? };
    let begin_fields: Vec<(&[u8], Frame)> =
        vec![(b"index", number(u)?), (b"keyword", keyword), (b"startfrom", number(u)?)];
    let begin_spec = pairs(u, begin_fields)?;
    let begin = pairs(u, vec![(b"type", bulk(begin_type)), (b"spec", begin_spec)])?;
    let find_type = *u.choose(&[&b"range"[..], b"keynum", b"unknown"])?;
    let find_fields: Vec<(&[u8], Frame)> = vec![
        (b"lastkey", number(u)?),
        (b"keystep", number(u)?),
        (b"limit", number(u)?),
        (b"keynumidx", number(u)?),
        (b"firstkey", number(u)?),
    ];
    let find_spec = pairs(u, find_fields)?;
    let find = pairs(u, vec![(b"type", bulk(find_type)), (b"spec", find_spec)])?;
    pairs(u, vec![(b"flags", Frame::Array(vec![bulk(b"RW")])), (b"begin_search", begin), (b"find_keys", find)])
}

/// One COMMAND entry: name, arity, flags, first/last/step, ACL categories, tips,
/// key-specs, subcommands (named `container|sub`).
fn entry(u: &mut Unstructured, name: &[u8], depth: usize) -> Result<Frame> {
    let mut flags = Vec::new();
    for flag in ["readonly", "write", "blocking", "pubsub", "movablekeys"] {
        if u.ratio(1, 3)? {
            flags.push(Frame::Simple(flag.as_bytes().to_vec().into()));
        }
    }
    let mut fields = vec![
        bulk(name),
        number(u)?,
        Frame::Array(flags),
        number(u)?,
        number(u)?,
        number(u)?,
        Frame::Array(Vec::new()),
        Frame::Array(vec![bulk(b"request_policy:all_shards"), bulk(b"response_policy:agg_sum")]),
    ];
    let specs = u.int_in_range(0..=3)?;
    fields.push(Frame::Array((0..specs).map(|_| key_spec(u)).collect::<Result<_>>()?));
    let subs = if depth == 0 { u.int_in_range(0..=2)? } else { 0 };
    let mut subcommands = Vec::new();
    for _ in 0..subs {
        let mut sub_name = name.to_ascii_lowercase();
        sub_name.push(b'|');
        sub_name.extend_from_slice(u.choose(SUBCOMMANDS)?);
        subcommands.push(entry(u, &sub_name, depth + 1)?);
    }
    fields.push(Frame::Array(subcommands));
    let keep = u.int_in_range(1..=fields.len())?;
    fields.truncate(if u.ratio(7, 8)? { fields.len() } else { keep });
    Ok(Frame::Array(fields))
}
