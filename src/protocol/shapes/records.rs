//! The array replies: SLOWLOG and COMMANDLOG entries, LATENCY LATEST, MEMORY STATS,
//! CLUSTER SHARDS and CLUSTER SLOTS, read into named fields. An entry that does not
//! have the fields its command gives is skipped; a reply that is not a list at all
//! has no shape (`None`).

use serde_json::{Map, Value};

use super::{LogType, key_text, plain, text_of};
use crate::protocol::resp::Frame;

/// One SLOWLOG or COMMANDLOG entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub id: i64,
    /// Unix time, seconds.
    pub time: i64,
    /// Microseconds (SLOWLOG, COMMANDLOG slow) or bytes (COMMANDLOG large-*).
    pub value: i64,
    pub args: Vec<Vec<u8>>,
    pub client: String,
    pub client_name: String,
}

/// The entries of a SLOWLOG GET or COMMANDLOG GET reply.
pub fn log_entries(frame: &Frame) -> Option<Vec<LogEntry>> {
    Some(frame.as_items()?.iter().filter_map(log_entry).collect())
}

fn log_entry(frame: &Frame) -> Option<LogEntry> {
    let fields = frame.as_items()?;
    let int = |i: usize| fields.get(i).and_then(Frame::as_integer);
    let text = |i: usize| fields.get(i).and_then(text_of).unwrap_or_default();
    let args = fields.get(3)?.as_items()?.iter().filter_map(|a| a.as_bytes().map(<[u8]>::to_vec)).collect();
    Some(LogEntry { id: int(0)?, time: int(1)?, value: int(2)?, args, client: text(4), client_name: text(5) })
}

fn log_object(entry: &LogEntry, value_name: &str) -> Map<String, Value> {
    let mut object = Map::new();
    object.insert("id".into(), Value::from(entry.id));
    object.insert("time".into(), Value::from(entry.time));
    object.insert(value_name.into(), Value::from(entry.value));
    let args = entry.args.iter().map(|a| Value::String(String::from_utf8_lossy(a).into_owned())).collect();
    object.insert("command".into(), Value::Array(args));
    object.insert("client".into(), Value::String(entry.client.clone()));
    object.insert("client_name".into(), Value::String(entry.client_name.clone()));
    object
}

/// SLOWLOG GET as objects: id, time, duration_us, command, client, client_name.
pub fn slowlog(frame: &Frame) -> Option<Vec<Map<String, Value>>> {
    Some(log_entries(frame)?.iter().map(|e| log_object(e, LogType::Slow.value_name())).collect())
}

/// COMMANDLOG GET as objects, the measured value named after the log.
pub fn commandlog(frame: &Frame, log: LogType) -> Option<Vec<Map<String, Value>>> {
    Some(log_entries(frame)?.iter().map(|e| log_object(e, log.value_name())).collect())
}

/// One LATENCY LATEST entry: the event, when it last happened, its latest and highest
/// latency in milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatencyEntry {
    pub event: String,
    pub time: i64,
    pub latest_ms: i64,
    pub max_ms: i64,
}

/// The entries of a LATENCY LATEST reply.
pub fn latency_entries(frame: &Frame) -> Option<Vec<LatencyEntry>> {
    let entry = |frame: &Frame| {
        let fields = frame.as_items()?;
        let int = |i: usize| fields.get(i).and_then(Frame::as_integer);
        Some(LatencyEntry { event: text_of(fields.first()?)?, time: int(1)?, latest_ms: int(2)?, max_ms: int(3)? })
    };
    Some(frame.as_items()?.iter().filter_map(entry).collect())
}

/// LATENCY LATEST as objects: event, time, latest_ms, max_ms.
pub fn latency_latest(frame: &Frame) -> Option<Vec<Map<String, Value>>> {
    let object = |e: &LatencyEntry| {
        let mut object = Map::new();
        object.insert("event".into(), Value::String(e.event.clone()));
        object.insert("time".into(), Value::from(e.time));
        object.insert("latest_ms".into(), Value::from(e.latest_ms));
        object.insert("max_ms".into(), Value::from(e.max_ms));
        object
    };
    Some(latency_entries(frame)?.iter().map(object).collect())
}

/// A map, or a RESP2 array of alternating names and values, as an object (values
/// nested the same way one level down, as MEMORY STATS's `db.N` and CLUSTER SHARDS's
/// nodes are); `None` for anything else.
fn pairs_object(frame: &Frame, depth: usize) -> Option<Value> {
    if matches!(frame, Frame::Array(items) if items.iter().step_by(2).any(|k| k.as_bytes().is_none())) {
        return None;
    }
    let pairs = frame.to_pairs()?;
    let fields = pairs.into_iter().map(|(k, v)| {
        let nested = if depth > 0 { pairs_object(v, depth - 1) } else { None };
        (key_text(k), nested.unwrap_or_else(|| plain(v)))
    });
    Some(Value::Object(fields.collect()))
}

/// MEMORY STATS as one object (`db.0` an object of its own).
pub fn memory_stats(frame: &Frame) -> Option<Value> {
    pairs_object(frame, 1)
}

/// CLUSTER SHARDS as a list of shards, each `{"slots": [[start, end], …], "nodes":
/// [{…}, …]}` with the node fields the server gave.
pub fn cluster_shards(frame: &Frame) -> Option<Value> {
    let shard = |frame: &Frame| -> Option<Value> {
        let pairs = frame.to_pairs()?;
        let mut object = Map::new();
        for (key, value) in pairs {
            let key = key_text(key);
            let shaped = match key.as_str() {
                "slots" => {
                    let bounds: Vec<Value> = value.as_items()?.iter().map(plain).collect();
                    Value::Array(bounds.chunks(2).map(|pair| Value::Array(pair.to_vec())).collect())
                }
                "nodes" => Value::Array(
                    value.as_items()?.iter().map(|n| pairs_object(n, 0).unwrap_or_else(|| plain(n))).collect(),
                ),
                _ => plain(value),
            };
            object.insert(key, shaped);
        }
        Some(Value::Object(object))
    };
    Some(Value::Array(frame.as_items()?.iter().filter_map(shard).collect()))
}

/// CLUSTER SLOTS as a list of ranges: `{"start", "end", "primary": node, "replicas":
/// [node, …]}`, a node being `{"host", "port", "id", …its metadata}`.
pub fn cluster_slots(frame: &Frame) -> Option<Value> {
    let node = |frame: &Frame| -> Option<Value> {
        let fields = frame.as_items()?;
        let mut object = Map::new();
        object.insert("host".into(), fields.first().map(plain)?);
        object.insert("port".into(), fields.get(1).map(plain)?);
        object.insert("id".into(), fields.get(2).map_or(Value::Null, plain));
        if let Some(Value::Object(metadata)) = fields.get(3).and_then(|m| pairs_object(m, 0)) {
            for (key, value) in metadata {
                object.entry(key).or_insert(value);
            }
        }
        Some(Value::Object(object))
    };
    let range = |frame: &Frame| -> Option<Value> {
        let fields = frame.as_items()?;
        let mut object = Map::new();
        object.insert("start".into(), Value::from(fields.first()?.as_integer()?));
        object.insert("end".into(), Value::from(fields.get(1)?.as_integer()?));
        let mut nodes = fields.iter().skip(2).filter_map(node);
        object.insert("primary".into(), nodes.next().unwrap_or(Value::Null));
        object.insert("replicas".into(), Value::Array(nodes.collect()));
        Some(Value::Object(object))
    };
    Some(Value::Array(frame.as_items()?.iter().filter_map(range).collect()))
}
