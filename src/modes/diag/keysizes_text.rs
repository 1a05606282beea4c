//! The text of `--keystats`, line for line as redis-cli 7.4 prints it
//! (docs/redis-cli-modes.md, section 6.4): the banner; the head (progress, keys sampled,
//! total size, the top key sizes, the biggest key of each type by memory and by length
//! or cardinality), which a terminal sees redrawn during the scan; then the key size
//! percentiles, the key name lengths and the table of types. On a terminal (or with
//! `FAKETTY`) every line starts by erasing the line and the progress is a coloured bar,
//! as redis-cli's `cleanPrintfln` does. With `-c` the cluster's lines name each key's
//! node (` on HOST:PORT`). Key names are quoted where redis-cli quotes them and shown
//! with control characters escaped where it prints them raw. Pure.

use super::format::{bytes_to_human, c_fixed, two_decimals};
use super::hdr::c_to_i64;
use super::keysizes::{KeySizes, NAME_BOUNDS};
use super::keystats::{KeyStats, TypeStats};
use crate::protocol::split::repr_string;
use crate::protocol::text::escape_bytes;

/// The banner printed before scanning.
pub const BANNER: &str = "\n# Scanning the entire keyspace to find the biggest keys and distribution information.\n\
# Use -i 0.1 to sleep 0.1 sec per 100 SCAN commands (not usually needed).\n\
# Use --cursor <n> to start the scan at the cursor <n> (usually after a Ctrl-C).\n\
# Use --top <n> to display <n> top key sizes (default is 10).\n\
# Ctrl-C to stop the scan.\n\n";

/// The width of the progress bar on a terminal.
const BAR_WIDTH: usize = 60;

/// The figures a report shows.
#[derive(Debug, Clone, Copy)]
pub struct Figures<'a> {
    /// Per type, the length or cardinality (the `--bigkeys` figures).
    pub lengths: &'a KeyStats,
    pub sizes: &'a KeySizes,
    /// DBSIZE before the scan (the progress's 100%).
    pub dbsize: u64,
}

/// redis-cli's `bytesToHuman` of a C `long long`: `i64::MIN` (what a NaN mean of an
/// empty histogram becomes) prints as C prints it.
fn human(n: i64) -> String {
    if n == i64::MIN { format!("-{n}B") } else { bytes_to_human(n) }
}

/// `bytesToHuman` of an unsigned count (C converts it to `long long`).
fn human_u(n: u64) -> String {
    human(n as i64)
}

fn on(node: Option<&String>) -> String {
    node.map(|n| format!(" on {n}")).unwrap_or_default()
}

/// The six core types in redis-cli 7.4's dict order, then module types as first seen.
fn in_order(stats: &KeyStats) -> Vec<&TypeStats> {
    const CORE: [&str; 6] = ["list", "hash", "stream", "string", "set", "zset"];
    let core = CORE.iter().filter_map(|name| stats.types.iter().find(|t| t.name == *name));
    core.chain(stats.types.iter().filter(|t| !CORE.contains(&t.name.as_str()))).collect()
}

/// The progress line and `Keys sampled: N`.
fn progress(sampled: u64, total: u64, tty: bool) -> Vec<String> {
    let completion = match total {
        0 => 0.0,
        _ if sampled < total => sampled as f64 / total as f64,
        _ => 1.0,
    };
    let bar = if tty {
        let done = (BAR_WIDTH as f64 * completion).round().clamp(0.0, BAR_WIDTH as f64) as usize;
        format!("\x1b[32m{}\x1b[31m{}\x1b[39m", "|".repeat(done), "-".repeat(BAR_WIDTH - done))
    } else {
        "keys scanned".to_string()
    };
    vec![format!("{}% {bar}", c_fixed(completion * 100.0, 6, 2, false)), format!("Keys sampled: {sampled}")]
}

/// The head of the report (redis-cli's `displayKeyStats`).
pub fn head(figures: &Figures, tty: bool) -> Vec<String> {
    let sizes = figures.sizes;
    let mut lines = progress(figures.lengths.sampled, figures.dbsize, tty);
    lines.push(format!("Keys size:    {}", human_u(sizes.total_size)));
    lines.push(String::new());
    lines.push(format!("--- Top {} key sizes ---", sizes.top.limit));
    for (rank, key) in sizes.top.keys.iter().enumerate() {
        lines.push(format!(
            "{:>3} {:>8} {:<10} {}{}",
            rank + 1,
            human_u(key.size),
            key.type_name,
            repr_string(&key.key),
            on(key.node.as_ref())
        ));
    }
    lines.push(String::new());
    lines.push("--- Top size per type ---".to_string());
    for kind in in_order(&sizes.memory) {
        if let Some((key, node)) = &kind.biggest_key {
            let size = human_u(kind.biggest);
            lines.push(format!("{:<10} {} is {size}{}", kind.name, escape_bytes(key), on(node.as_ref())));
        }
    }
    lines.push(String::new());
    lines.push("--- Top length and cardinality per type ---".to_string());
    for kind in in_order(figures.lengths) {
        if let Some((key, node)) = &kind.biggest_key {
            let length = match kind.unit {
                "bytes" => human_u(kind.biggest),
                unit => format!("{} {unit}", kind.biggest),
            };
            lines.push(format!("{:<10} {} has {length}{}", kind.name, escape_bytes(key), on(node.as_ref())));
        }
    }
    lines
}

/// What follows the head at the end of the scan.
pub fn tail(figures: &Figures) -> Vec<String> {
    let mut lines = vec![String::new()];
    lines.extend(size_percentiles(figures.sizes));
    lines.push(String::new());
    lines.extend(name_lengths(figures.sizes));
    lines.push(String::new());
    lines.extend(types(figures));
    lines
}

fn size_percentiles(sizes: &KeySizes) -> Vec<String> {
    let mut lines = vec!["Key size Percentile Total keys".to_string(), "-------- ---------- -----------".to_string()];
    for row in sizes.histogram.percentile_rows() {
        lines.push(format!("{:>8} {}% {:>11}", human(row.value), c_fixed(row.percentile, 9, 4, false), row.cumulative));
    }
    let (mean, stddev) = (sizes.histogram.mean(), sizes.histogram.stddev());
    lines.push(format!(
        "Note: 0.01% size precision, Mean: {}, StdDeviation: {}",
        human(c_to_i64(mean)),
        human(c_to_i64(stddev))
    ));
    lines
}

fn name_lengths(sizes: &KeySizes) -> Vec<String> {
    let names = &sizes.names;
    let mut lines =
        vec!["Key name length Percentile Total keys".to_string(), "--------------- ---------- -----------".to_string()];
    let mut keys = 0u64;
    for (&bound, &count) in NAME_BOUNDS.iter().zip(&names.counts) {
        if count == 0 {
            continue;
        }
        keys += count;
        let share = 100.0 * keys as f64 / names.total_count as f64;
        lines.push(format!("{:>15} {}% {keys:>11}", human_u(names.max_size.min(bound)), c_fixed(share, 9, 4, false)));
    }
    if keys < names.total_count {
        lines.push(format!("           inf {}% {:>11}", c_fixed(100.0, 9, 4, false), names.total_count));
    }
    let average = match names.total_count {
        0 => "0".to_string(),
        count => human_u(names.total_size / count),
    };
    lines.push(format!("Total key length is {} ({average} avg)", human_u(names.total_size)));
    lines
}

fn types(figures: &Figures) -> Vec<String> {
    let sampled = figures.lengths.sampled;
    let mut lines = vec![
        "Type        Total keys  Keys % Tot size Avg size  Total length/card Avg ln/card".to_string(),
        "--------- ------------ ------- -------- -------- ------------------ -----------".to_string(),
    ];
    for kind in in_order(&figures.sizes.memory) {
        if kind.count == 0 {
            continue;
        }
        let (mut length, mut average) = (" - ".to_string(), " - ".to_string());
        let by_length = figures.lengths.types.iter().find(|t| t.name == kind.name);
        if let Some(bigkey) = by_length.filter(|t| t.size_command.is_some() && t.count > 0) {
            let avg = bigkey.total as f64 / bigkey.count as f64;
            (length, average) = if bigkey.unit == "bytes" {
                (human_u(bigkey.total), human(c_to_i64(avg.round())))
            } else {
                (format!("{} {}", bigkey.total, bigkey.unit), two_decimals(avg))
            };
        }
        let share = if sampled == 0 { 0.0 } else { 100.0 * kind.count as f64 / sampled as f64 };
        lines.push(format!(
            "{:<10} {:>11} {}% {:>8} {:>8} {length:>18} {average:>11}",
            kind.name,
            kind.count,
            c_fixed(share, 6, 2, false),
            human_u(kind.total),
            human_u(kind.total / kind.count),
        ));
    }
    lines
}

/// Lines as redis-cli's `cleanPrintfln` writes them.
pub fn render(lines: &[String], tty: bool) -> String {
    let mut out = String::new();
    for line in lines {
        if tty {
            out.push_str("\x1b[2K\r");
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// On a terminal during the scan: the head, then the cursor back to its first line.
pub fn redraw(figures: &Figures) -> String {
    let lines = head(figures, true);
    format!("{}\x1b[{}A\r", render(&lines, true), lines.len())
}

/// After a scan stopped before its end, how to go on (`cursor`: SCAN's next cursor).
pub fn interrupted(cursor: &str) -> String {
    format!("\nScan interrupted:\nUse 'redis-cli --keystats --cursor {cursor}' to restart from the last cursor.\n")
}

#[cfg(test)]
#[path = "keysizes_tests.rs"]
mod tests;
