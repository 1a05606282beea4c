//! The text replies: INFO and CLUSTER INFO (`key:value` lines), CLIENT LIST (a line of
//! `name=value` words per client), CLUSTER NODES (a line of positional fields per node).
//! Lines that do not fit are skipped; no value is trusted to be well formed.

use serde_json::{Map, Value};

use super::{number, scalar};

/// One section of an INFO reply: its title as the server wrote it (`Server`) and its
/// `key:value` lines in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InfoSection {
    pub title: String,
    pub fields: Vec<(String, String)>,
}

/// INFO text as sections, in the server's order. Lines before any `# Title` line go to
/// a section titled "".
pub fn info_sections(text: &str) -> Vec<InfoSection> {
    let mut sections: Vec<InfoSection> = Vec::new();
    for line in text.lines().map(|l| l.trim_end_matches('\r')) {
        if let Some(title) = line.strip_prefix('#') {
            sections.push(InfoSection { title: title.trim().to_string(), fields: Vec::new() });
            continue;
        }
        let Some((key, value)) = line.split_once(':') else { continue };
        if key.is_empty() {
            continue;
        }
        if sections.is_empty() {
            sections.push(InfoSection { title: String::new(), fields: Vec::new() });
        }
        if let Some(section) = sections.last_mut() {
            section.fields.push((key.to_string(), value.to_string()));
        }
    }
    sections
}

/// A section title as a JSON key: `Server` → `server`, `Keyspace` → `keyspace`.
pub fn section_key(title: &str) -> String {
    title.to_ascii_lowercase().replace(' ', "_")
}

/// INFO as an object of sections, each an object of fields; a value written as
/// `a=1,b=2` (db0, slave0, cmdstat_get, …) is an object itself.
pub fn info(text: &str) -> Value {
    let mut sections = Map::new();
    for section in info_sections(text) {
        let fields = section.fields.iter().map(|(k, v)| (k.clone(), info_value(v))).collect();
        sections.insert(section_key(&section.title), Value::Object(fields));
    }
    Value::Object(sections)
}

/// One INFO value: `a=1,b=2` as an object when every part is `name=value`, else a
/// number or the text.
pub fn info_value(value: &str) -> Value {
    match sub_fields(value) {
        Some(fields) => Value::Object(fields.into_iter().map(|(k, v)| (k.to_string(), scalar(v))).collect()),
        None => scalar(value),
    }
}

/// `a=1,b=2` as its parts; `None` unless every part is `name=value` with a plain name.
pub fn sub_fields(value: &str) -> Option<Vec<(&str, &str)>> {
    if !value.contains('=') {
        return None;
    }
    value
        .split(',')
        .map(|part| {
            let (name, v) = part.split_once('=')?;
            let plain = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            plain.then_some((name, v))
        })
        .collect()
}

/// CLUSTER INFO as one object of its fields.
pub fn cluster_info(text: &str) -> Value {
    let fields = info_sections(text).into_iter().flat_map(|s| s.fields);
    Value::Object(fields.map(|(k, v)| (k, scalar(&v))).collect())
}

/// CLIENT LIST as one object per client: each `name=value` word a field (numbers as
/// numbers, except the flags and names that only look like numbers).
pub fn client_list(text: &str) -> Vec<Map<String, Value>> {
    client_fields(text)
        .into_iter()
        .map(|fields| fields.into_iter().map(|(name, value)| (name.to_string(), client_value(name, value))).collect())
        .collect()
}

/// CLIENT LIST's lines as their `name=value` words, in the server's order; lines
/// without one are skipped.
pub fn client_fields(text: &str) -> Vec<Vec<(&str, &str)>> {
    text.lines()
        .map(|line| {
            line.trim_end_matches('\r')
                .split(' ')
                .filter_map(|word| word.split_once('='))
                .filter(|(name, _)| !name.is_empty())
                .collect::<Vec<_>>()
        })
        .filter(|fields| !fields.is_empty())
        .collect()
}

/// Fields of CLIENT LIST that are text even when they look like numbers.
const CLIENT_TEXT_FIELDS: &[&str] = &["name", "flags", "events", "cmd", "user", "lib-name", "lib-ver", "addr", "laddr"];

fn client_value(name: &str, value: &str) -> Value {
    if CLIENT_TEXT_FIELDS.contains(&name) { Value::String(value.to_string()) } else { scalar(value) }
}

/// CLUSTER NODES as one object per node line (docs/json.md names the fields).
pub fn cluster_nodes(text: &str) -> Value {
    Value::Array(text.lines().filter_map(|line| node_line(line.trim_end_matches('\r'))).collect())
}

fn node_line(line: &str) -> Option<Value> {
    let mut words = line.split(' ').filter(|w| !w.is_empty());
    let (id, address, flags, primary) = (words.next()?, words.next()?, words.next()?, words.next()?);
    let (ping_sent, pong_recv, epoch, link) = (words.next()?, words.next()?, words.next()?, words.next()?);
    let mut node = Map::new();
    node.insert("id".into(), Value::String(id.to_string()));
    node.insert("address".into(), Value::String(address.to_string()));
    let (endpoint, hostname) = address.split_once(',').unwrap_or((address, ""));
    let (host_port, bus_port) = endpoint.split_once('@').unwrap_or((endpoint, ""));
    let (host, port) = host_port.rsplit_once(':').unwrap_or((host_port, ""));
    node.insert("ip".into(), Value::String(host.to_string()));
    node.insert("port".into(), number(port).unwrap_or(Value::Null));
    node.insert("bus_port".into(), number(bus_port).unwrap_or(Value::Null));
    node.insert("hostname".into(), Value::String(hostname.to_string()));
    let flags: Vec<Value> = flags.split(',').filter(|f| !f.is_empty()).map(|f| Value::String(f.into())).collect();
    node.insert("flags".into(), Value::Array(flags));
    let primary = if primary == "-" { Value::Null } else { Value::String(primary.to_string()) };
    node.insert("primary".into(), primary);
    node.insert("ping_sent".into(), scalar(ping_sent));
    node.insert("pong_recv".into(), scalar(pong_recv));
    node.insert("config_epoch".into(), scalar(epoch));
    node.insert("link_state".into(), Value::String(link.to_string()));
    let (mut slots, mut migrating, mut importing) = (Vec::new(), Vec::new(), Vec::new());
    for word in words {
        if let Some(open) = word.strip_prefix('[').and_then(|w| w.strip_suffix(']')) {
            if let Some((slot, to)) = open.split_once("->-") {
                migrating.push(slot_move(slot, "to", to));
            } else if let Some((slot, from)) = open.split_once("-<-") {
                importing.push(slot_move(slot, "from", from));
            }
            continue;
        }
        let (start, end) = word.split_once('-').unwrap_or((word, word));
        if let (Some(start), Some(end)) = (number(start), number(end)) {
            slots.push(Value::Array(vec![start, end]));
        }
    }
    node.insert("slots".into(), Value::Array(slots));
    node.insert("migrating".into(), Value::Array(migrating));
    node.insert("importing".into(), Value::Array(importing));
    Some(Value::Object(node))
}

fn slot_move(slot: &str, direction: &str, node: &str) -> Value {
    let mut entry = Map::new();
    entry.insert("slot".into(), scalar(slot));
    entry.insert(direction.into(), Value::String(node.to_string()));
    Value::Object(entry)
}
