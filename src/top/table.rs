//! The node table of a frame: its columns, each node's cells, sorting (shards stay
//! grouped: a primary, then its replicas) and filtering. Shared by the text frame
//! (`text.rs`) and the screen (`screen.rs`). Pure.

use super::history::sparkline;
use super::view::{Lag, Link, NodeView, ShardView, View};
use crate::protocol::text::escape_controls;

/// The table's columns, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Slots,
    Node,
    Role,
    Link,
    Health,
    Ops,
    Trend,
    Input,
    Output,
    Memory,
    MaxMemory,
    Clients,
    Keys,
    Lag,
    Cpu,
}

pub const COLUMNS: [Column; 15] = [
    Column::Slots,
    Column::Node,
    Column::Role,
    Column::Link,
    Column::Health,
    Column::Ops,
    Column::Trend,
    Column::Input,
    Column::Output,
    Column::Memory,
    Column::MaxMemory,
    Column::Clients,
    Column::Keys,
    Column::Lag,
    Column::Cpu,
];

/// Width of the trend (sparkline) column.
pub const TREND_WIDTH: usize = 12;

impl Column {
    pub fn title(self) -> &'static str {
        match self {
            Column::Slots => "slots",
            Column::Node => "node",
            Column::Role => "role",
            Column::Link => "link",
            Column::Health => "health",
            Column::Ops => "ops/s",
            Column::Trend => "ops trend",
            Column::Input => "in/s",
            Column::Output => "out/s",
            Column::Memory => "mem",
            Column::MaxMemory => "maxmem",
            Column::Clients => "clients",
            Column::Keys => "keys",
            Column::Lag => "lag",
            Column::Cpu => "cpu%",
        }
    }

    /// Numbers are right-aligned.
    pub fn numeric(self) -> bool {
        matches!(
            self,
            Column::Ops
                | Column::Input
                | Column::Output
                | Column::Memory
                | Column::MaxMemory
                | Column::Clients
                | Column::Keys
                | Column::Cpu
        )
    }
}

/// What the rows are sorted by (`s` cycles through them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    /// Slot order (the cluster's shape), nodes as the map lists them.
    Slots,
    Ops,
    Cpu,
    Memory,
    Keys,
    Clients,
    Input,
    Output,
    Lag,
    Node,
}

const SORTS: [SortBy; 10] = [
    SortBy::Slots,
    SortBy::Ops,
    SortBy::Cpu,
    SortBy::Memory,
    SortBy::Keys,
    SortBy::Clients,
    SortBy::Input,
    SortBy::Output,
    SortBy::Lag,
    SortBy::Node,
];

impl SortBy {
    /// The next in the cycle.
    pub fn next(self) -> SortBy {
        let at = SORTS.iter().position(|s| *s == self).unwrap_or(0);
        SORTS.get(at + 1).copied().unwrap_or(SortBy::Slots)
    }

    pub fn name(self) -> &'static str {
        match self {
            SortBy::Slots => "slots",
            SortBy::Ops => "ops/s",
            SortBy::Cpu => "cpu%",
            SortBy::Memory => "mem",
            SortBy::Keys => "keys",
            SortBy::Clients => "clients",
            SortBy::Input => "in/s",
            SortBy::Output => "out/s",
            SortBy::Lag => "lag",
            SortBy::Node => "node",
        }
    }

    /// The column it sorts, for the heading's marker.
    pub fn column(self) -> Column {
        match self {
            SortBy::Slots => Column::Slots,
            SortBy::Ops => Column::Ops,
            SortBy::Cpu => Column::Cpu,
            SortBy::Memory => Column::Memory,
            SortBy::Keys => Column::Keys,
            SortBy::Clients => Column::Clients,
            SortBy::Input => Column::Input,
            SortBy::Output => Column::Output,
            SortBy::Lag => Column::Lag,
            SortBy::Node => Column::Node,
        }
    }
}

/// How a row should look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Normal,
    /// Not answering, within the budget; a replica whose link is down.
    Warning,
    /// Down, or marked failed by the cluster.
    Bad,
}

/// One row: the cells in [`COLUMNS`] order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub cells: Vec<String>,
    pub primary: bool,
    pub tone: Tone,
}

/// `1.5K`, `3.2M`, `812B`: bytes in powers of 1024.
pub fn bytes(value: f64) -> String {
    const UNITS: [&str; 6] = ["B", "K", "M", "G", "T", "P"];
    let mut value = value.max(0.0);
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    let name = UNITS.get(unit).copied().unwrap_or("B");
    if unit == 0 { format!("{value:.0}{name}") } else { format!("{value:.1}{name}") }
}

fn rate(value: Option<f64>, text: impl Fn(f64) -> String) -> String {
    value.map_or_else(|| "-".to_string(), text)
}

/// Seconds as `3s`, `2m05s`, `1h02m`.
pub fn seconds(value: u64) -> String {
    match value {
        0..60 => format!("{value}s"),
        60..3600 => format!("{}m{:02}s", value / 60, value % 60),
        _ => format!("{}h{:02}m", value / 3600, value % 3600 / 60),
    }
}

/// A primary's slots: `0-5460`, `0-99 +2` (more ranges), `-` for none.
pub fn slots_text(ranges: &[(u16, u16)]) -> String {
    let Some(&(start, end)) = ranges.first() else { return "-".into() };
    let first = if start == end { start.to_string() } else { format!("{start}-{end}") };
    match ranges.len() {
        1 => first,
        n => format!("{first} +{}", n - 1),
    }
}

/// The link cell: `ok`, `silent 3s`, `DOWN 21s`.
pub fn link_text(link: &Link) -> String {
    match link {
        Link::Unknown => "-".into(),
        Link::Ok => "ok".into(),
        Link::Silent { since, .. } => format!("silent {}", seconds(since.as_secs())),
        Link::Down { since, .. } => format!("DOWN {}", seconds(since.as_secs())),
    }
}

/// The lag cell: `0B 0s`, `12.0K 3s`, `link down 4s`.
pub fn lag_text(lag: &Lag) -> String {
    if lag.link_up == Some(false) {
        return match lag.down_for {
            Some(s) => format!("link down {}", seconds(s)),
            None => "link down".into(),
        };
    }
    let bytes_part = lag.bytes.map_or("-".to_string(), |b| bytes(b as f64));
    let seconds_part = lag.seconds.map_or("-".to_string(), seconds);
    format!("{bytes_part} {seconds_part}")
}

/// Keys: the total, and each database's when more than db0 hold keys (`12 0:10,3:2`).
pub fn keys_text(databases: &[(u32, u64)]) -> String {
    let total = databases.iter().map(|(_, n)| *n).fold(0u64, u64::saturating_add);
    match databases {
        [] => "0".into(),
        [(0, _)] => total.to_string(),
        _ => {
            let each: Vec<String> = databases.iter().map(|(db, n)| format!("{db}:{n}")).collect();
            format!("{total} {}", each.join(","))
        }
    }
}

fn cells(node: &NodeView, ranges: &[(u16, u16)]) -> Vec<String> {
    let info = node.info.as_ref();
    let figure = |f: fn(&super::sample::NodeInfo) -> Option<u64>, text: fn(u64) -> String| {
        info.and_then(f).map_or_else(|| "-".to_string(), text)
    };
    COLUMNS
        .iter()
        .map(|column| match column {
            Column::Slots => {
                if node.primary {
                    slots_text(ranges)
                } else {
                    String::new()
                }
            }
            Column::Node => {
                let name = escape_controls(&node.endpoint.to_string(), false).into_owned();
                if node.primary { name } else { format!(" └ {name}") }
            }
            Column::Role => (if node.primary { "primary" } else { "replica" }).into(),
            Column::Link => link_text(&node.link),
            Column::Health => escape_controls(&node.health, false).into_owned(),
            Column::Ops => rate(node.rates.ops, |v| format!("{v:.0}")),
            Column::Trend => sparkline(&node.history, TREND_WIDTH),
            Column::Input => rate(node.rates.input, bytes),
            Column::Output => rate(node.rates.output, bytes),
            Column::Memory => figure(|i| i.used_memory, |v| bytes(v as f64)),
            Column::MaxMemory => figure(|i| i.max_memory, |v| if v == 0 { "none".into() } else { bytes(v as f64) }),
            Column::Clients => figure(|i| i.clients, |v| v.to_string()),
            Column::Keys => info.map_or_else(|| "-".into(), |i| keys_text(&i.keys)),
            Column::Lag => node.lag.as_ref().map(lag_text).unwrap_or_default(),
            Column::Cpu => rate(node.rates.cpu, |v| format!("{v:.1}")),
        })
        .collect()
}

fn tone(node: &NodeView) -> Tone {
    let failed = node.health == "failed" || node.health == "fail";
    match &node.link {
        Link::Down { .. } => Tone::Bad,
        _ if failed => Tone::Bad,
        Link::Silent { .. } => Tone::Warning,
        _ if node.lag.as_ref().is_some_and(|l| l.link_up == Some(false)) => Tone::Warning,
        _ => Tone::Normal,
    }
}

/// The value a node is sorted by (higher first when descending); `None` last.
fn key(node: &NodeView, sort: SortBy) -> Option<f64> {
    let info = node.info.as_ref();
    match sort {
        SortBy::Slots | SortBy::Node => None,
        SortBy::Ops => node.rates.ops,
        SortBy::Cpu => node.rates.cpu,
        SortBy::Input => node.rates.input,
        SortBy::Output => node.rates.output,
        SortBy::Memory => info.and_then(|i| i.used_memory).map(|v| v as f64),
        SortBy::Keys => info.map(|i| i.total_keys() as f64),
        SortBy::Clients => info.and_then(|i| i.clients).map(|v| v as f64),
        SortBy::Lag => node.lag.as_ref().and_then(|l| l.bytes).map(|v| v as f64),
    }
}

fn compare(a: Option<f64>, b: Option<f64>, descending: bool) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (Some(a), Some(b)) => {
            let order = a.partial_cmp(&b).unwrap_or(Ordering::Equal);
            if descending { order.reverse() } else { order }
        }
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// True when `filter` (any case) is in the node's address, id, role, link or health.
pub fn matches(node: &NodeView, filter: &str) -> bool {
    if filter.is_empty() {
        return true;
    }
    let filter = filter.to_lowercase();
    let role = if node.primary { "primary" } else { "replica" };
    [node.endpoint.to_string(), node.id.clone(), role.to_string(), link_text(&node.link), node.health.clone()]
        .iter()
        .any(|field| field.to_lowercase().contains(&filter))
}

/// The rows of `view`: shards ordered by their busiest node for `sort` (slot order for
/// [`SortBy::Slots`], addresses for [`SortBy::Node`]), each primary before its
/// replicas; only the nodes `filter` matches.
pub fn rows(view: &View, sort: SortBy, descending: bool, filter: &str) -> Vec<Row> {
    let mut shards: Vec<&ShardView> = view.shards.iter().collect();
    let best =
        |shard: &ShardView| {
            shard.nodes.iter().filter_map(|n| key(n, sort)).fold(None, |best: Option<f64>, v| {
                Some(best.map_or(v, |b| if descending { b.max(v) } else { b.min(v) }))
            })
        };
    let first_name = |shard: &ShardView| shard.nodes.first().map(|n| n.endpoint.to_string()).unwrap_or_default();
    match sort {
        SortBy::Slots if !descending => {}
        SortBy::Slots => shards.reverse(),
        SortBy::Node => {
            shards.sort_by_key(|s| first_name(s));
            if descending {
                shards.reverse();
            }
        }
        _ => shards.sort_by(|a, b| compare(best(a), best(b), descending)),
    }
    let mut rows = Vec::new();
    for shard in shards {
        let mut nodes: Vec<&NodeView> = shard.nodes.iter().collect();
        if !matches!(sort, SortBy::Slots | SortBy::Node) {
            // The primary stays first; replicas by the sort key.
            let (primaries, mut replicas): (Vec<&NodeView>, Vec<&NodeView>) =
                nodes.into_iter().partition(|n| n.primary);
            replicas.sort_by(|a, b| compare(key(a, sort), key(b, sort), descending));
            nodes = primaries.into_iter().chain(replicas).collect();
        }
        for node in nodes.into_iter().filter(|n| matches(n, filter)) {
            rows.push(Row { cells: cells(node, &shard.ranges), primary: node.primary, tone: tone(node) });
        }
    }
    rows
}

#[cfg(test)]
#[path = "table_tests.rs"]
mod tests;
