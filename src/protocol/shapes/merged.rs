//! Several nodes' answers to one command as one list, one table or one JSON object
//! (docs/compatibility.md, "Merged diagnostics"; docs/json.md): SLOWLOG, COMMANDLOG
//! and LATENCY LATEST entries with a node column, newest first; CLIENT LIST lines with
//! a `node=` field, by node then id; INFO as a table with a column per node and
//! totals where a sum means something. Pure: answers in, lines out.

use serde_json::{Map, Value};

use super::columns::aligned;
use super::records::{LogEntry, latency_entries, log_entries};
use super::text::client_fields;
use super::{Kind, error_value, plain, text_of, to_json};
use crate::protocol::resp::Frame;
use crate::protocol::split::repr_string;

/// One node's answer: its label (`host:port`) and its reply, or why it has none.
pub type Answer<'a> = (String, Result<&'a Frame, String>);

/// The merged text of `answers` to a command of `kind`, in the nodes' order; `None`
/// when no node gave the command's reply, or one gave something else (the answers are
/// then printed node by node, as they came).
pub fn text(kind: Kind, answers: &[Answer]) -> Option<Vec<String>> {
    let (answered, failed) = split(answers);
    if answered.is_empty() {
        return None;
    }
    let mut lines = match kind {
        Kind::Slowlog | Kind::Commandlog(_) => log_table(kind, &logs(&answered)?),
        Kind::LatencyLatest => aligned(&latency_rows(&answered)?),
        Kind::ClientList => client_lines(&answered)?,
        Kind::Info => super::info_table::info_table(&answered)?,
        _ => return None,
    };
    lines.extend(failed.into_iter().map(|(node, text)| format!("(error) {node}: {}", first_line(&text))));
    Some(lines)
}

/// The CSV rows (a header first) of `answers` to CLIENT LIST, SLOWLOG, COMMANDLOG or
/// LATENCY LATEST;
/// with `node_column`, each row starts with the node. `None` as for [`text`].
pub fn csv(kind: Kind, answers: &[Answer], node_column: bool) -> Option<Vec<String>> {
    let (answered, failed) = split(answers);
    if answered.is_empty() {
        return None;
    }
    let mut rows: Vec<Vec<String>> = match kind {
        Kind::Slowlog | Kind::Commandlog(_) => {
            let mut rows = vec![log_header(kind)];
            rows.extend(logs(&answered)?.into_iter().map(|(node, e)| log_row(&node, &e, |a| a.join(" "))));
            rows
        }
        Kind::ClientList => client_rows(&answered)?,
        Kind::LatencyLatest => latency_rows(&answered)?,
        _ => return None,
    };
    if !node_column {
        for row in &mut rows {
            if !row.is_empty() {
                row.remove(0);
            }
        }
    }
    let mut lines: Vec<String> = rows.iter().map(|row| csv_line(row)).collect();
    lines.extend(failed.into_iter().map(|(node, text)| csv_line(&["ERROR".into(), format!("{node}: {text}")])));
    Some(lines)
}

/// `answers` as one JSON object keyed by node: each node's shape, its reply as plain
/// JSON when it has none, or `{"error": …}`.
pub fn json_by_node(kind: Kind, answers: &[Answer]) -> Value {
    let mut object = Map::new();
    for (node, reply) in answers {
        let value = match reply {
            Ok(frame) => to_json(kind, frame).unwrap_or_else(|| plain(frame)),
            Err(text) => error_value(text),
        };
        object.insert(node.clone(), value);
    }
    Value::Object(object)
}

type Answered<'a> = Vec<(String, &'a Frame)>;

fn split<'a>(answers: &[Answer<'a>]) -> (Answered<'a>, Vec<(String, String)>) {
    let (mut answered, mut failed) = (Vec::new(), Vec::new());
    for (node, reply) in answers {
        match reply {
            Ok(frame) => match frame.as_error() {
                Some(text) => failed.push((node.clone(), String::from_utf8_lossy(text).into_owned())),
                None => answered.push((node.clone(), *frame)),
            },
            Err(text) => failed.push((node.clone(), text.clone())),
        }
    }
    (answered, failed)
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// Every node's log entries, newest first, then the longest (the biggest), then in
/// the nodes' order, then by id (highest first).
fn logs(answered: &[(String, &Frame)]) -> Option<Vec<(String, LogEntry)>> {
    let mut all: Vec<(usize, String, LogEntry)> = Vec::new();
    for (index, (node, frame)) in answered.iter().enumerate() {
        all.extend(log_entries(frame)?.into_iter().map(|e| (index, node.clone(), e)));
    }
    all.sort_by(|(ia, _, a), (ib, _, b)| {
        b.time.cmp(&a.time).then(b.value.cmp(&a.value)).then(ia.cmp(ib)).then(b.id.cmp(&a.id))
    });
    Some(all.into_iter().map(|(_, node, e)| (node, e)).collect())
}

fn log_header(kind: Kind) -> Vec<String> {
    let value = match kind {
        Kind::Commandlog(log) => log.value_name(),
        _ => super::LogType::Slow.value_name(),
    };
    ["node", "id", "time", value, "client", "client_name", "command"].map(String::from).to_vec()
}

fn log_row(node: &str, entry: &LogEntry, command: impl Fn(Vec<String>) -> String) -> Vec<String> {
    let args: Vec<String> = entry.args.iter().map(|a| word(a)).collect();
    vec![
        node.to_string(),
        entry.id.to_string(),
        entry.time.to_string(),
        entry.value.to_string(),
        entry.client.clone(),
        entry.client_name.clone(),
        command(args),
    ]
}

/// An argument as it can be typed back: plain when it is printable without spaces or
/// quotes, else quoted as redis-cli quotes.
fn word(arg: &[u8]) -> String {
    let plain = !arg.is_empty() && arg.iter().all(|&b| b.is_ascii_graphic() && b != b'"' && b != b'\'' && b != b'\\');
    if plain { String::from_utf8_lossy(arg).into_owned() } else { repr_string(arg) }
}

fn log_table(kind: Kind, entries: &[(String, LogEntry)]) -> Vec<String> {
    let mut rows = vec![log_header(kind)];
    rows.extend(entries.iter().map(|(node, e)| log_row(node, e, |a| a.join(" "))));
    aligned(&rows)
}

/// Every node's LATENCY LATEST events, the latest spike first, a header first.
fn latency_rows(answered: &[(String, &Frame)]) -> Option<Vec<Vec<String>>> {
    let mut all = Vec::new();
    for (index, (node, frame)) in answered.iter().enumerate() {
        all.extend(latency_entries(frame)?.into_iter().map(|e| (index, node.clone(), e)));
    }
    all.sort_by(|(ia, _, a), (ib, _, b)| {
        b.time.cmp(&a.time).then(b.latest_ms.cmp(&a.latest_ms)).then(ia.cmp(ib)).then(a.event.cmp(&b.event))
    });
    let mut rows = vec![["node", "event", "time", "latest_ms", "max_ms"].map(String::from).to_vec()];
    rows.extend(
        all.into_iter()
            .map(|(_, node, e)| vec![node, e.event, e.time.to_string(), e.latest_ms.to_string(), e.max_ms.to_string()]),
    );
    Some(rows)
}

/// Each client's line with `node=<node>` in front, by node (in the nodes' order) then
/// by id.
fn client_lines(answered: &[(String, &Frame)]) -> Option<Vec<String>> {
    let mut all: Vec<(usize, i64, String)> = Vec::new();
    for (index, (node, frame)) in answered.iter().enumerate() {
        let text = text_of(frame)?;
        for line in text.lines().map(|l| l.trim_end_matches('\r')).filter(|l| !l.trim().is_empty()) {
            let id =
                line.split(' ').find_map(|w| w.strip_prefix("id=")).and_then(|id| id.parse().ok()).unwrap_or(i64::MAX);
            all.push((index, id, format!("node={node} {line}")));
        }
    }
    all.sort_by_key(|(index, id, _)| (*index, *id));
    Some(all.into_iter().map(|(_, _, line)| line).collect())
}

/// CLIENT LIST as CSV rows: the node, then every field any client has, in the order
/// first met.
fn client_rows(answered: &[(String, &Frame)]) -> Option<Vec<Vec<String>>> {
    let texts: Vec<String> = answered.iter().map(|(_, frame)| text_of(frame)).collect::<Option<_>>()?;
    let mut clients = Vec::new();
    for (index, ((node, _), text)) in answered.iter().zip(&texts).enumerate() {
        for fields in client_fields(text) {
            let id = fields.iter().find(|(k, _)| *k == "id").and_then(|(_, v)| v.parse().ok()).unwrap_or(i64::MAX);
            clients.push((index, id, node.clone(), fields));
        }
    }
    clients.sort_by_key(|(index, id, _, _)| (*index, *id));
    let mut names: Vec<&str> = Vec::new();
    for (_, _, _, fields) in &clients {
        for (name, _) in fields {
            if !names.contains(name) {
                names.push(name);
            }
        }
    }
    let mut rows = vec![std::iter::once("node").chain(names.iter().copied()).map(String::from).collect::<Vec<_>>()];
    for (_, _, node, fields) in &clients {
        let cell = |name: &&str| fields.iter().find(|(k, _)| k == name).map_or(String::new(), |(_, v)| v.to_string());
        rows.push(std::iter::once(node.clone()).chain(names.iter().map(cell)).collect());
    }
    Some(rows)
}

/// One CSV line: a cell is quoted (quotes doubled) when it holds a comma, a quote, a
/// space or a line break.
pub fn csv_line(cells: &[String]) -> String {
    let cell = |text: &String| {
        if text.contains([',', '"', '\n', '\r', ' ']) {
            format!("\"{}\"", text.replace('"', "\"\""))
        } else {
            text.clone()
        }
    };
    cells.iter().map(cell).collect::<Vec<_>>().join(",")
}
