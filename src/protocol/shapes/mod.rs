//! Server text read into named fields (docs/json.md): which commands have a shape
//! ([`Kind::of`]), the shapes as JSON values ([`to_json`]) and the merged lists and
//! tables of several nodes' answers ([`merged`]; INFO's table in `info_table.rs`). Pure: a reply in, a value or lines
//! out. Everything here comes from a server and is untrusted: every parser is linear in
//! its input, skips what it does not understand and never panics.

mod columns;
mod info_table;
pub mod merged;
mod records;
#[cfg(test)]
mod tests;
mod text;

use serde_json::{Map, Value};

use crate::protocol::resp::Frame;
pub use info_table::summable;
pub use records::{commandlog, latency_latest, memory_stats, slowlog};
pub use text::{client_list, cluster_info, cluster_nodes, info};

/// A command whose reply has a shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Info,
    ClusterInfo,
    ClusterNodes,
    ClusterShards,
    ClusterSlots,
    ClientList,
    Slowlog,
    Commandlog(LogType),
    LatencyLatest,
    MemoryStats,
}

/// Which of COMMANDLOG's logs (Valkey 8.1): its entries' third field is a duration or a
/// size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogType {
    Slow,
    LargeRequest,
    LargeReply,
}

impl LogType {
    /// The name of an entry's measured value.
    pub fn value_name(self) -> &'static str {
        match self {
            LogType::Slow => "duration_us",
            LogType::LargeRequest => "request_bytes",
            LogType::LargeReply => "reply_bytes",
        }
    }
}

impl Kind {
    /// The shape of `argv`'s reply, if it has one.
    pub fn of<A: AsRef<[u8]>>(argv: &[A]) -> Option<Kind> {
        // Compared in place, case-insensitively: no copy of any argument.
        let is = |i: usize, word: &str| argv.get(i).is_some_and(|a| a.as_ref().eq_ignore_ascii_case(word.as_bytes()));
        let two = |first: &str, second: &str| argv.len() == 2 && is(0, first) && is(1, second);
        let kind = if is(0, "info") {
            Kind::Info
        } else if two("cluster", "info") {
            Kind::ClusterInfo
        } else if two("cluster", "nodes") {
            Kind::ClusterNodes
        } else if two("cluster", "shards") {
            Kind::ClusterShards
        } else if two("cluster", "slots") {
            Kind::ClusterSlots
        } else if is(0, "client") && is(1, "list") {
            Kind::ClientList
        } else if argv.len() <= 3 && is(0, "slowlog") && is(1, "get") {
            Kind::Slowlog
        } else if argv.len() == 4 && is(0, "commandlog") && is(1, "get") {
            let logs = [
                ("slow", LogType::Slow),
                ("large-request", LogType::LargeRequest),
                ("large-reply", LogType::LargeReply),
            ];
            Kind::Commandlog(logs.into_iter().find(|(name, _)| is(3, name))?.1)
        } else if two("latency", "latest") {
            Kind::LatencyLatest
        } else if two("memory", "stats") {
            Kind::MemoryStats
        } else {
            return None;
        };
        Some(kind)
    }

    /// True for the commands whose answers from several nodes become one list or table
    /// (docs/compatibility.md, "Merged diagnostics").
    pub fn merges(self) -> bool {
        matches!(self, Kind::Info | Kind::ClientList | Kind::Slowlog | Kind::Commandlog(_) | Kind::LatencyLatest)
    }

    /// True for the commands with a CSV shape: one row per entry, a header first.
    pub fn has_csv(self) -> bool {
        matches!(self, Kind::ClientList | Kind::Slowlog | Kind::Commandlog(_) | Kind::LatencyLatest)
    }
}

/// `frame` (an answer to a command of `kind`) with named fields; `None` when it is not
/// the reply the command gives (an error, another type), so it prints as it came.
pub fn to_json(kind: Kind, frame: &Frame) -> Option<Value> {
    if frame.as_error().is_some() {
        return None;
    }
    match kind {
        Kind::Info => Some(info(&text_of(frame)?)),
        Kind::ClusterInfo => Some(cluster_info(&text_of(frame)?)),
        Kind::ClusterNodes => Some(cluster_nodes(&text_of(frame)?)),
        Kind::ClientList => Some(Value::Array(client_list(&text_of(frame)?).into_iter().map(Value::Object).collect())),
        Kind::ClusterShards => records::cluster_shards(frame),
        Kind::ClusterSlots => records::cluster_slots(frame),
        Kind::Slowlog => Some(objects(slowlog(frame)?)),
        Kind::Commandlog(log) => Some(objects(commandlog(frame, log)?)),
        Kind::LatencyLatest => Some(objects(latency_latest(frame)?)),
        Kind::MemoryStats => memory_stats(frame),
    }
}

fn objects(list: Vec<Map<String, Value>>) -> Value {
    Value::Array(list.into_iter().map(Value::Object).collect())
}

/// The text of a string reply (INFO, CLIENT LIST, CLUSTER NODES are bulk strings, or
/// verbatim strings in RESP3).
pub fn text_of(frame: &Frame) -> Option<String> {
    frame.as_bytes().map(|b| String::from_utf8_lossy(b).into_owned())
}

/// The longest text read as a number: longer runs of digits are ids, not figures.
const NUMBER_DIGITS: usize = 20;

/// A value from server text: an integer or a decimal number when it is written as one
/// (`12`, `-3`, `0.75`), else the text itself (versions, ids, addresses, `1.2M`).
pub fn scalar(text: &str) -> Value {
    number(text).unwrap_or_else(|| Value::String(text.to_string()))
}

/// `text` as a JSON number when it is written as one, in plain decimal digits (no
/// exponent, no leading `+`, no leading zeros but `0` and `0.…`).
pub fn number(text: &str) -> Option<Value> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || digits.len() > NUMBER_DIGITS {
        return None;
    }
    let (whole, fraction) = match digits.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (digits, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(whole) || (whole.len() > 1 && whole.starts_with('0')) || fraction.is_some_and(|f| !all_digits(f)) {
        return None;
    }
    if fraction.is_none() {
        if let Ok(n) = text.parse::<i64>() {
            return Some(Value::from(n));
        }
        return text.parse::<u64>().ok().map(Value::from);
    }
    text.parse::<f64>().ok().and_then(serde_json::Number::from_f64).map(Value::Number)
}

/// A frame as a plain JSON value: strings that are numbers become numbers, maps (or
/// RESP2 arrays of pairs, where `pairs` says so) become objects.
pub fn plain(frame: &Frame) -> Value {
    match frame {
        Frame::Integer(n) => Value::from(*n),
        Frame::Double(text) | Frame::BigNumber(text) => {
            let text = String::from_utf8_lossy(text);
            number(&text).unwrap_or_else(|| Value::String(text.into_owned()))
        }
        Frame::Boolean(b) => Value::Bool(*b),
        Frame::Null => Value::Null,
        Frame::Error(text) => error_value(&String::from_utf8_lossy(text)),
        Frame::Attributed { reply, .. } => plain(reply),
        Frame::Map(pairs) => Value::Object(pairs.iter().map(|(k, v)| (key_text(k), plain(v))).collect()),
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => Value::Array(items.iter().map(plain).collect()),
        other => scalar(&text_of(other).unwrap_or_default()),
    }
}

/// A key of a map as object key text.
pub fn key_text(frame: &Frame) -> String {
    frame.to_text().unwrap_or_else(|| plain(frame).to_string())
}

/// `{"error": text}`: a node's error reply or why it gave none, inside a bigger value.
pub fn error_value(text: &str) -> Value {
    let mut object = Map::new();
    object.insert("error".into(), Value::String(text.to_string()));
    Value::Object(object)
}
