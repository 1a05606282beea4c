//! A frame as text lines (`--once`, and each interval when stdout is not a terminal)
//! and as JSON (`--json`: one object per frame, one line each). Pure. The JSON's shape
//! is documented in docs/top.md; numbers are numbers, unknown figures `null`.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use super::history::sparkline;
use super::table::{self, COLUMNS, Row, SortBy, bytes};
use super::view::{Event, HotSlot, HotSlots, NodeView, Severity, View};
use crate::protocol::text::escape_controls;

/// Events a text frame ends with.
pub const TEXT_EVENTS: usize = 10;

fn seconds_since_epoch(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// `2026-01-02 15:04:05 UTC`.
pub fn stamp(at: SystemTime) -> String {
    crate::client::tls::explain::utc(seconds_since_epoch(at))
}

/// `15:04:05` (UTC).
pub fn clock(at: SystemTime) -> String {
    let secs = seconds_since_epoch(at) % 86_400;
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

fn figure(value: Option<f64>, text: impl Fn(f64) -> String) -> String {
    value.map_or_else(|| "-".into(), text)
}

/// The first lines: where, when, the cluster's state and totals.
pub fn heading(view: &View) -> Vec<String> {
    let seed = escape_controls(&view.seed.to_string(), false).into_owned();
    let what = match (view.cluster, &view.state) {
        (true, Some(state)) => format!("cluster (state {})", escape_controls(state, false)),
        (true, None) => "cluster".into(),
        (false, _) => "single node".into(),
    };
    let t = &view.totals;
    vec![
        format!(
            "rcli top {seed}  {what}  {} nodes, {} answering  {}  every {}s",
            t.nodes,
            t.answering,
            stamp(view.sampled),
            trim_float(view.interval.as_secs_f64())
        ),
        format!(
            "total  ops/s {}  in {}/s  out {}/s  cpu {}%  mem {}  keys {}  clients {}",
            figure(t.ops, |v| format!("{v:.0}")),
            figure(t.input, bytes),
            figure(t.output, bytes),
            figure(t.cpu, |v| format!("{v:.1}")),
            bytes(t.used_memory as f64),
            t.keys,
            t.clients
        ),
    ]
}

fn trim_float(value: f64) -> String {
    let text = format!("{value:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// What the ops/s sparkline adds up.
pub fn history_label(view: &View) -> &'static str {
    if view.cluster { "cluster ops/s" } else { "ops/s" }
}

/// The table's lines, columns padded to their widest cell.
pub fn table_lines(rows: &[Row], sort: SortBy) -> Vec<String> {
    let titles: Vec<String> = COLUMNS
        .iter()
        .map(
            |c| if sort.column() == *c && sort != SortBy::Slots { format!("{}*", c.title()) } else { c.title().into() },
        )
        .collect();
    let widths: Vec<usize> = (0..COLUMNS.len())
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.cells.get(i))
                .chain(titles.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        let parts: Vec<String> = COLUMNS
            .iter()
            .zip(cells)
            .zip(&widths)
            .map(
                |((column, cell), width)| {
                    if column.numeric() { format!("{cell:>width$}") } else { format!("{cell:<width$}") }
                },
            )
            .collect();
        parts.join("  ").trim_end().to_string()
    };
    std::iter::once(line(&titles)).chain(rows.iter().map(|r| line(&r.cells))).collect()
}

fn hot_line(slot: &HotSlot, cpu: bool) -> String {
    let owner = escape_controls(&slot.owner.to_string(), false).into_owned();
    let mut text = format!("  slot {:>5}  keys {:>8}  {owner}", slot.stat.slot, slot.stat.keys);
    if cpu {
        text.push_str(&format!(
            "  cpu {} us/s  in {}/s  out {}/s",
            figure(slot.cpu_rate, |v| format!("{v:.0}")),
            figure(slot.in_rate, bytes),
            figure(slot.out_rate, bytes)
        ));
    }
    text
}

/// The hot-slot lines.
pub fn hot_lines(hot: &HotSlots) -> Vec<String> {
    match hot {
        HotSlots::None => Vec::new(),
        HotSlots::Unsupported(reason) => {
            vec![format!(
                "hot slots need CLUSTER SLOT-STATS (Valkey 8+); the server says: {}",
                escape_controls(reason, false)
            )]
        }
        HotSlots::Slots { by_keys, by_cpu, stats_enabled } => {
            let mut lines = vec!["hot slots by keys:".to_string()];
            lines.extend(by_keys.iter().map(|s| hot_line(s, false)));
            if *stats_enabled {
                lines.push("hot slots by CPU (cluster-slot-stats-enabled):".into());
                lines.extend(by_cpu.iter().map(|s| hot_line(s, true)));
            } else {
                lines.push("  (CPU and network per slot: CONFIG SET cluster-slot-stats-enabled yes)".into());
            }
            lines
        }
    }
}

/// An event's line: `15:04:05 text`.
pub fn event_line(event: &Event) -> String {
    format!("{} {}", clock(event.at), escape_controls(&event.text, false))
}

/// The whole frame as text, in slot order, unfiltered.
pub fn frame(view: &View) -> String {
    let mut lines = heading(view);
    lines.push(format!("{} {}", history_label(view), sparkline(&view.history, 60)));
    lines.push(String::new());
    lines.extend(table_lines(&table::rows(view, SortBy::Slots, false, ""), SortBy::Slots));
    let hot = hot_lines(&view.hot);
    if !hot.is_empty() {
        lines.push(String::new());
        lines.extend(hot);
    }
    if !view.events.is_empty() {
        lines.push(String::new());
        lines.push("events:".into());
        let skip = view.events.len().saturating_sub(TEXT_EVENTS);
        lines.extend(view.events.iter().skip(skip).map(|e| format!("  {}", event_line(e))));
    }
    lines.join("\n") + "\n"
}

fn number(value: Option<f64>) -> Value {
    value.filter(|v| v.is_finite()).map_or(Value::Null, |v| json!((v * 100.0).round() / 100.0))
}

fn node_json(node: &NodeView) -> Value {
    let info = node.info.as_ref();
    let keys: Map<String, Value> =
        info.map(|i| i.keys.iter().map(|(db, n)| (db.to_string(), json!(n))).collect()).unwrap_or_default();
    let lag = node.lag.as_ref().map_or(Value::Null, |lag| {
        json!({
            "bytes": lag.bytes,
            "seconds": lag.seconds,
            "link": lag.link_up.map(|up| if up { "up" } else { "down" }),
            "link_down_seconds": lag.down_for,
        })
    });
    let (silent_seconds, error) = match &node.link {
        super::view::Link::Silent { since, cause } | super::view::Link::Down { since, cause } => {
            (number(Some(since.as_secs_f64())), Value::from(cause.as_str()))
        }
        _ => (Value::Null, Value::Null),
    };
    json!({
        "address": node.endpoint.to_string(),
        "id": node.id,
        "role": if node.primary { "primary" } else { "replica" },
        "server_role": info.and_then(|i| i.role.clone()),
        "link": node.link.word(),
        "silent_seconds": silent_seconds,
        "error": error,
        "health": node.health,
        "version": info.and_then(|i| i.version.clone()),
        "ops_per_sec": number(node.rates.ops),
        "input_bytes_per_sec": number(node.rates.input),
        "output_bytes_per_sec": number(node.rates.output),
        "cpu_percent": number(node.rates.cpu),
        "used_memory": info.and_then(|i| i.used_memory),
        "maxmemory": info.and_then(|i| i.max_memory),
        "clients": info.and_then(|i| i.clients),
        "blocked_clients": info.and_then(|i| i.blocked_clients),
        "keys": keys,
        "replication": lag,
        "ops_history": node.history.iter().map(|v| number(*v)).collect::<Vec<_>>(),
    })
}

fn hot_json(slot: &HotSlot) -> Value {
    json!({
        "slot": slot.stat.slot,
        "keys": slot.stat.keys,
        "owner": slot.owner.to_string(),
        "cpu_usec": slot.stat.cpu_usec,
        "network_bytes_in": slot.stat.net_in,
        "network_bytes_out": slot.stat.net_out,
        "cpu_usec_per_sec": number(slot.cpu_rate),
        "network_bytes_in_per_sec": number(slot.in_rate),
        "network_bytes_out_per_sec": number(slot.out_rate),
    })
}

/// The frame as one JSON object.
pub fn json(view: &View) -> Value {
    let t = &view.totals;
    let hot = match &view.hot {
        HotSlots::None => Value::Null,
        HotSlots::Unsupported(reason) => json!({ "supported": false, "reason": reason }),
        HotSlots::Slots { by_keys, by_cpu, stats_enabled } => json!({
            "supported": true,
            "stats_enabled": stats_enabled,
            "by_keys": by_keys.iter().map(hot_json).collect::<Vec<_>>(),
            "by_cpu": by_cpu.iter().map(hot_json).collect::<Vec<_>>(),
        }),
    };
    let severity = |s: Severity| match s {
        Severity::Info => "info",
        Severity::Warning => "warning",
        Severity::Bad => "bad",
    };
    json!({
        "time": stamp(view.sampled),
        "timestamp": seconds_since_epoch(view.sampled),
        "round": view.rounds,
        "seed": view.seed.to_string(),
        "cluster": view.cluster,
        "cluster_state": view.state,
        "interval_seconds": view.interval.as_secs_f64(),
        "failure_budget_seconds": view.budget.as_secs_f64(),
        "totals": {
            "nodes": t.nodes,
            "answering": t.answering,
            "ops_per_sec": number(t.ops),
            "input_bytes_per_sec": number(t.input),
            "output_bytes_per_sec": number(t.output),
            "cpu_percent": number(t.cpu),
            "used_memory": t.used_memory,
            "keys": t.keys,
            "clients": t.clients,
        },
        "ops_history": view.history.iter().map(|v| number(*v)).collect::<Vec<_>>(),
        "shards": view.shards.iter().map(|shard| json!({
            "slots": shard.ranges.iter().map(|(a, b)| json!([a, b])).collect::<Vec<_>>(),
            "nodes": shard.nodes.iter().map(node_json).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "hot_slots": hot,
        "events": view.events.iter().map(|e| json!({
            "time": stamp(e.at),
            "severity": severity(e.severity),
            "text": e.text,
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
#[path = "text_tests.rs"]
mod tests;
