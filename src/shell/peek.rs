//! `peek KEY` (and `:peek KEY`): a key's type, encoding, TTL, memory, length and the
//! first items of its value, asked of the key's owner in ONE round of pipelined
//! commands — TYPE, OBJECT ENCODING, PTTL, MEMORY USAGE and, for every core type, its
//! length and a bounded preview (the ones of other types answer WRONGTYPE, which is
//! ignored) — so the type need not be known first (a stale slot map's MOVED costs a
//! second round, at the node it names). The report is built pure
//! ([`report`]); everything from the server is escaped (docs/shell.md).

use crate::cluster::redirect::{Redirect, RedirectKind};
use crate::endpoint::Endpoint;
use crate::output::StdoutClosed;
use crate::protocol::encode::encode_command;
use crate::protocol::resp::Frame;
use crate::protocol::split::repr_string;
use crate::session::Session;

/// Items shown of a list, set, sorted set, hash or stream.
const PREVIEW_ITEMS: usize = 10;
/// Bytes shown of a string.
const PREVIEW_BYTES: usize = 200;

/// The commands sent, in order; [`report`] reads the replies by these positions.
pub fn requests(key: &[u8]) -> Vec<Vec<Vec<u8>>> {
    let last = (PREVIEW_ITEMS - 1).to_string();
    let count = PREVIEW_ITEMS.to_string();
    let bytes_last = (PREVIEW_BYTES - 1).to_string();
    let with = |words: &[&str]| -> Vec<Vec<u8>> {
        let mut argv: Vec<Vec<u8>> = Vec::with_capacity(words.len() + 1);
        let mut words = words.iter();
        if let Some(first) = words.next() {
            argv.push(first.as_bytes().to_vec());
        }
        // The key is the first argument, or the second for OBJECT/MEMORY.
        let sub = matches!(argv.first().map(Vec::as_slice), Some(b"OBJECT" | b"MEMORY"));
        if sub && let Some(word) = words.next() {
            argv.push(word.as_bytes().to_vec());
        }
        argv.push(key.to_vec());
        argv.extend(words.map(|w| w.as_bytes().to_vec()));
        argv
    };
    vec![
        with(&["TYPE"]),
        with(&["OBJECT", "ENCODING"]),
        with(&["PTTL"]),
        with(&["MEMORY", "USAGE"]),
        with(&["STRLEN"]),
        with(&["GETRANGE", "0", &bytes_last]),
        with(&["LLEN"]),
        with(&["LRANGE", "0", &last]),
        with(&["SCARD"]),
        with(&["SSCAN", "0", "COUNT", &count]),
        with(&["ZCARD"]),
        with(&["ZRANGE", "0", &last, "WITHSCORES"]),
        with(&["HLEN"]),
        with(&["HSCAN", "0", "COUNT", &count]),
        with(&["XLEN"]),
        with(&["XRANGE", "-", "+", "COUNT", &count]),
    ]
}

/// A string from the server, quoted and escaped as redis-cli shows it.
fn quoted(frame: &Frame) -> String {
    match frame {
        Frame::Integer(n) => n.to_string(),
        Frame::Double(d) | Frame::BigNumber(d) => repr_string(d),
        other => repr_string(other.as_bytes().unwrap_or_default()),
    }
}

/// Unquoted text from the server, escaped (a type or encoding name).
fn word(frame: &Frame) -> String {
    let text = repr_string(frame.as_bytes().unwrap_or_default());
    text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).map(str::to_string).unwrap_or(text)
}

fn ttl(frame: &Frame) -> String {
    match frame.as_integer() {
        Some(-1) => "none".to_string(),
        Some(ms) if ms >= 0 => format!("{:.1} s", ms as f64 / 1000.0),
        Some(_) => "gone".to_string(),
        None => "?".to_string(),
    }
}

/// The preview's lines: numbered items, pairs as `a → b`, then how many are not shown.
fn items(lines: &mut Vec<String>, shown: Vec<String>, total: Option<i64>) {
    let count = shown.len();
    for (i, item) in shown.into_iter().take(PREVIEW_ITEMS).enumerate() {
        lines.push(format!("  {}) {item}", i + 1));
    }
    let total = total.and_then(|t| usize::try_from(t).ok()).unwrap_or(count);
    let shown = count.min(PREVIEW_ITEMS);
    if total > shown {
        lines.push(format!("  … first {shown} of {total}"));
    }
}

/// Pairs from a flat `[a, b, a, b]` or nested `[[a, b], …]` reply.
fn pairs(frame: &Frame, sep: &str) -> Vec<String> {
    let flat = frame.as_items().unwrap_or_default();
    if flat.iter().all(|f| f.as_items().is_some_and(|p| p.len() == 2)) && !flat.is_empty() {
        return flat
            .iter()
            .filter_map(|p| match p.as_items()? {
                [a, b] => Some(format!("{}{sep}{}", quoted(a), quoted(b))),
                _ => None,
            })
            .collect();
    }
    flat.chunks(2)
        .filter_map(|pair| match pair {
            [a, b] => Some(format!("{}{sep}{}", quoted(a), quoted(b))),
            _ => None,
        })
        .collect()
}

/// A stream entry: its id and fields.
fn entry(frame: &Frame) -> Option<String> {
    match frame.as_items()? {
        [id, fields] => Some(format!("{} {{{}}}", quoted(id), pairs(fields, ": ").join(", "))),
        _ => None,
    }
}

/// The report's lines from the replies to [`requests`], in order. `place` is the
/// slot/owner line (cluster mode).
pub fn report(key: &[u8], place: Option<String>, replies: &[Frame]) -> Vec<String> {
    let at = |i: usize| replies.get(i).unwrap_or(&Frame::Null);
    let mut lines = vec![format!("key {}", repr_string(key))];
    if let Some(place) = place {
        lines.push(place);
    }
    if let Some(error) = at(0).as_error() {
        lines.push(format!("(error) {}", word(&Frame::Bulk(error.to_vec()))));
        return lines;
    }
    let kind = word(at(0));
    if kind == "none" {
        lines.push("(no such key)".to_string());
        return lines;
    }
    let memory = at(3).as_integer().map_or("?".to_string(), |n| format!("{n} bytes"));
    let encoding = if at(1).as_error().is_some() { "?".to_string() } else { word(at(1)) };
    lines.push(format!("type: {kind} · encoding: {encoding} · ttl: {} · memory: {memory}", ttl(at(2))));
    let length = |i: usize, unit: &str| {
        at(i).as_integer().map_or(format!("length: ? {unit}"), |n| format!("length: {n} {unit}"))
    };
    match kind.as_str() {
        "string" => {
            lines.push(length(4, "bytes"));
            let mut value = quoted(at(5));
            if at(4).as_integer().is_some_and(|n| n > PREVIEW_BYTES as i64) {
                value.push_str(" …");
            }
            lines.push(format!("  {value}"));
        }
        "list" => {
            lines.push(length(6, "items"));
            items(&mut lines, at(7).as_items().unwrap_or_default().iter().map(quoted).collect(), at(6).as_integer());
        }
        "set" => {
            lines.push(length(8, "members"));
            let found = at(9).as_items().and_then(|r| r.get(1)).and_then(Frame::as_items).unwrap_or_default();
            items(&mut lines, found.iter().map(quoted).collect(), at(8).as_integer());
        }
        "zset" => {
            lines.push(length(10, "members"));
            items(&mut lines, pairs(at(11), " score "), at(10).as_integer());
        }
        "hash" => {
            lines.push(length(12, "fields"));
            let found = at(13).as_items().and_then(|r| r.get(1)).unwrap_or(&Frame::Null);
            items(&mut lines, pairs(found, " → "), at(12).as_integer());
        }
        "stream" => {
            lines.push(length(14, "entries"));
            let entries = at(15).as_items().unwrap_or_default().iter().filter_map(entry).collect();
            items(&mut lines, entries, at(14).as_integer());
        }
        _ => lines.push(format!("a module type ({kind}): no preview")),
    }
    lines
}

/// The replies to `commands`, pipelined to `node` in one write, each read bounded.
fn round(session: &mut Session, node: &Endpoint, commands: &[Vec<Vec<u8>>]) -> crate::error::Result<Vec<Frame>> {
    let mut out = Vec::new();
    for argv in commands {
        encode_command(argv, &mut out);
    }
    let idle = session.client.reply_timeout(false);
    let pool = session.client.pool();
    let mut exchange = pool.borrow(node)?;
    let replies = exchange
        .send(&out, commands.len())
        .and_then(|()| commands.iter().map(|_| exchange.read(idle)).collect::<crate::error::Result<Vec<_>>>());
    pool.give_back(exchange);
    replies
}

/// Runs `peek KEY` on the key's owner (the node in the prompt without a slot map). A
/// stale slot map's MOVED is followed once (a second round, said in the place line).
pub fn run(session: &mut Session, args: &[Vec<u8>]) -> Result<(), StdoutClosed> {
    let [key] = args else { return session.printer.line("usage: peek KEY") };
    let (slot, owner) = session.client.owner_of_key(key);
    let mut place = session.client.is_cluster().then(|| match &owner {
        Some(owner) => format!("slot {slot} on {owner} (primary)"),
        None => format!("slot {slot}: no node serves it"),
    });
    let node: Endpoint = owner.unwrap_or_else(|| session.client.current().clone());
    let commands = requests(key);
    let mut replies = round(session, &node, &commands);
    let moved = replies
        .as_ref()
        .ok()
        .and_then(|r| r.first())
        .and_then(Frame::as_error)
        .and_then(|e| Redirect::parse(e, &node))
        .filter(|r| r.kind == RedirectKind::Moved);
    if let Some(redirect) = moved {
        place = Some(format!(
            "slot {} on {} (primary; moved from {node}, :refresh reloads the map)",
            redirect.slot, redirect.to
        ));
        replies = round(session, &redirect.to, &commands);
    }
    match replies {
        Ok(replies) => {
            for line in report(key, place, &replies) {
                session.printer.line(&line)?;
            }
            Ok(())
        }
        Err(e) => session.report_error(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Frame {
        Frame::Bulk(s.as_bytes().to_vec())
    }

    fn replies(kind: &str, fill: &[(usize, Frame)]) -> Vec<Frame> {
        let mut all: Vec<Frame> = (0..16).map(|_| Frame::Error(b"WRONGTYPE".to_vec())).collect();
        all[0] = Frame::Simple(kind.as_bytes().to_vec().into());
        all[1] = bulk("listpack");
        all[2] = Frame::Integer(-1);
        all[3] = Frame::Integer(96);
        for (i, frame) in fill {
            all[*i] = frame.clone();
        }
        all
    }

    #[test]
    fn one_round_asks_for_every_type_with_the_key_in_place() {
        let sent = requests(b"k");
        assert_eq!(sent.len(), 16);
        assert_eq!(sent[1], vec![b"OBJECT".to_vec(), b"ENCODING".to_vec(), b"k".to_vec()]);
        assert_eq!(sent[7], ["LRANGE", "k", "0", "9"].map(|w| w.as_bytes().to_vec()));
    }

    #[test]
    fn each_type_is_previewed_and_escaped() {
        let hash = replies(
            "hash",
            &[
                (12, Frame::Integer(12)),
                (13, Frame::Array(vec![bulk("0"), Frame::Array(vec![bulk("f\x1b"), bulk("v")])])),
            ],
        );
        let lines = report(b"h", Some("slot 1 on 127.0.0.1:1 (primary)".into()), &hash);
        assert_eq!(lines[0], "key \"h\"");
        assert_eq!(lines[1], "slot 1 on 127.0.0.1:1 (primary)");
        assert_eq!(lines[2], "type: hash · encoding: listpack · ttl: none · memory: 96 bytes");
        assert_eq!(lines[3], "length: 12 fields");
        assert_eq!(lines[4], "  1) \"f\\x1b\" → \"v\"");
        assert_eq!(lines[5], "  … first 1 of 12");
        let zset = replies(
            "zset",
            &[
                (10, Frame::Integer(1)),
                (11, Frame::Array(vec![Frame::Array(vec![bulk("m"), Frame::Double(b"1.5".to_vec())])])),
            ],
        );
        assert_eq!(report(b"z", None, &zset)[3], "  1) \"m\" score \"1.5\"");
        let stream = replies(
            "stream",
            &[
                (14, Frame::Integer(1)),
                (15, Frame::Array(vec![Frame::Array(vec![bulk("1-0"), Frame::Array(vec![bulk("a"), bulk("1")])])])),
            ],
        );
        assert_eq!(report(b"s", None, &stream)[3], "  1) \"1-0\" {\"a\": \"1\"}");
        let string = replies("string", &[(4, Frame::Integer(3)), (5, bulk("abc"))]);
        assert_eq!(report(b"s", None, &string)[2..], ["length: 3 bytes".to_string(), "  \"abc\"".to_string()]);
        let module = replies("ReJSON-RL", &[]);
        assert_eq!(report(b"j", None, &module)[2], "a module type (ReJSON-RL): no preview");
        let none = replies("none", &[]);
        assert_eq!(report(b"n", None, &none)[1], "(no such key)");
    }
}
