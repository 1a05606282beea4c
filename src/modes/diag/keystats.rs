//! What `--bigkeys`, `--memkeys` and `--hotkeys` learn from a key scan, and their
//! reports (docs/redis-cli-modes.md, sections 6.1-6.2): per type the count, total
//! size and biggest key; the pool of the 16 hottest keys; the summary in redis-cli's
//! exact words and order (`hashs` included, see docs/compatibility.md), and with `-c`
//! the node of each biggest/hottest key, a section per node and totals. Pure.

use super::format::{percent, two_decimals};
use crate::cli::diagnostics::KeyScan;
use crate::protocol::split::repr_string;

/// One key type's figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeStats {
    pub name: String,
    /// STRLEN, LLEN…; `None` for module types (size 0 unless `--memkeys`).
    pub size_command: Option<&'static str>,
    pub unit: &'static str,
    pub count: u64,
    pub total: u64,
    pub biggest: u64,
    /// The biggest key (raw), and the node it lives on with `-c`.
    pub biggest_key: Option<(Vec<u8>, Option<String>)>,
}

/// The six types redis-cli knows, in the order it registers them.
const KNOWN: [(&str, &str, &str); 6] = [
    ("string", "STRLEN", "bytes"),
    ("list", "LLEN", "items"),
    ("set", "SCARD", "members"),
    ("hash", "HLEN", "fields"),
    ("zset", "ZCARD", "members"),
    ("stream", "XLEN", "entries"),
];

/// Counts and biggest keys per type over the keys scanned so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStats {
    pub types: Vec<TypeStats>,
    pub sampled: u64,
    /// The key names' total length.
    pub key_bytes: u64,
    /// TYPE replies looked up: redis-cli's summary order depends on it.
    pub lookups: u64,
}

impl Default for KeyStats {
    fn default() -> KeyStats {
        let types = KNOWN
            .iter()
            .map(|&(name, command, unit)| TypeStats {
                name: name.to_string(),
                size_command: Some(command),
                unit,
                count: 0,
                total: 0,
                biggest: 0,
                biggest_key: None,
            })
            .collect();
        KeyStats { types, sampled: 0, key_bytes: 0, lookups: 0 }
    }
}

/// A new biggest key of its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Biggest {
    pub type_name: String,
    pub unit: &'static str,
    pub key: Vec<u8>,
    pub size: u64,
}

impl KeyStats {
    /// The type a TYPE reply names (a module type is added on first sight); `None` for
    /// `none`, a key deleted since SCAN saw it.
    pub fn type_index(&mut self, reply: &[u8]) -> Option<usize> {
        self.lookups += 1;
        if reply == b"none" {
            return None;
        }
        if let Some(index) = self.types.iter().position(|t| t.name.as_bytes() == reply) {
            return Some(index);
        }
        self.types.push(TypeStats {
            name: String::from_utf8_lossy(reply).into_owned(),
            size_command: None,
            unit: "?",
            count: 0,
            total: 0,
            biggest: 0,
            biggest_key: None,
        });
        Some(self.types.len() - 1)
    }

    /// Counts `key` of type `index` with `size`; the new biggest of its type, if it is.
    pub fn record(&mut self, index: usize, key: &[u8], size: u64, scan: KeyScan) -> Option<Biggest> {
        let kind = self.types.get_mut(index)?;
        kind.total = kind.total.saturating_add(size);
        kind.count += 1;
        self.key_bytes = self.key_bytes.saturating_add(key.len() as u64);
        self.sampled += 1;
        if size <= kind.biggest {
            return None;
        }
        kind.biggest = size;
        kind.biggest_key = Some((key.to_vec(), None));
        Some(Biggest { type_name: kind.name.clone(), unit: unit(kind, scan), key: key.to_vec(), size })
    }

    /// Adds a node's figures (nodes merged in order: on a tie the first node keeps the
    /// biggest key).
    pub fn merge(&mut self, node: &KeyStats, address: &str) {
        self.sampled += node.sampled;
        self.key_bytes = self.key_bytes.saturating_add(node.key_bytes);
        self.lookups += node.lookups;
        for theirs in &node.types {
            let index = match self.types.iter().position(|t| t.name == theirs.name) {
                Some(index) => index,
                None => {
                    self.types.push(TypeStats { count: 0, total: 0, biggest: 0, biggest_key: None, ..theirs.clone() });
                    self.types.len() - 1
                }
            };
            let Some(ours) = self.types.get_mut(index) else { continue };
            ours.count += theirs.count;
            ours.total = ours.total.saturating_add(theirs.total);
            if let Some((key, _)) = &theirs.biggest_key
                && theirs.biggest > ours.biggest
            {
                ours.biggest = theirs.biggest;
                ours.biggest_key = Some((key.clone(), Some(address.to_string())));
            }
        }
    }

    /// The order redis-cli 7.0.15 lists types in: its dict's iteration order, which
    /// depends on how far the dict's rehash went, i.e. on the number of TYPE replies
    /// looked up (docs/redis-cli-modes.md, section 6.1). Module types come last.
    pub fn summary_order(&self) -> Vec<&TypeStats> {
        let names: [&str; 6] = match self.lookups {
            0 => ["hash", "list", "string", "stream", "set", "zset"],
            1 => ["string", "list", "hash", "stream", "set", "zset"],
            _ => ["list", "hash", "string", "stream", "set", "zset"],
        };
        let known = names.iter().filter_map(|n| self.types.iter().find(|t| t.name == *n));
        known.chain(self.types.iter().filter(|t| !names.contains(&t.name.as_str()))).collect()
    }

    /// The summary after `-------- summary -------`: redis-cli's lines, with
    /// `[pct] ` before the first when the scan was interrupted, and with `-c` the node
    /// of each biggest key (` on HOST:PORT`).
    pub fn summary(&self, scan: KeyScan, interrupted_at: Option<f64>) -> String {
        let mut out = String::new();
        if let Some(pct) = interrupted_at {
            out.push_str(&format!("[{}%] ", percent(pct)));
        }
        let avg_len = if self.key_bytes == 0 { 0.0 } else { self.key_bytes as f64 / self.sampled as f64 };
        out.push_str(&format!("Sampled {} keys in the keyspace!\n", self.sampled));
        out.push_str(&format!(
            "Total key length in bytes is {} (avg len {})\n\n",
            self.key_bytes,
            two_decimals(avg_len)
        ));
        let order = self.summary_order();
        for kind in &order {
            if let Some((key, node)) = &kind.biggest_key {
                let on = node.as_ref().map(|n| format!(" on {n}")).unwrap_or_default();
                out.push_str(&format!(
                    "Biggest {:>6} found '{}' has {} {}{on}\n",
                    kind.name,
                    repr_string(key),
                    kind.biggest,
                    unit(kind, scan)
                ));
            }
        }
        out.push('\n');
        for kind in &order {
            let share = if self.sampled == 0 { 0.0 } else { 100.0 * kind.count as f64 / self.sampled as f64 };
            let avg = if kind.count == 0 { 0.0 } else { kind.total as f64 / kind.count as f64 };
            out.push_str(&format!(
                "{} {}s with {} {} ({}% of keys, avg size {})\n",
                kind.count,
                kind.name,
                kind.total,
                unit(kind, scan),
                percent(share),
                two_decimals(avg)
            ));
        }
        out
    }
}

/// The unit a type's sizes are in: `bytes` for `--memkeys`.
fn unit(kind: &TypeStats, scan: KeyScan) -> &'static str {
    if matches!(scan, KeyScan::Memory { .. }) { "bytes" } else { kind.unit }
}

/// The `[pct] Biggest …` line printed when a key beats its type's biggest; with `-c`
/// it names the node.
pub fn biggest_line(pct: f64, found: &Biggest, node: Option<&str>) -> String {
    let on = node.map(|n| format!(" on {n}")).unwrap_or_default();
    format!(
        "[{}%] Biggest {:<6} found so far '{}' with {} {}{on}\n",
        percent(pct),
        found.type_name,
        repr_string(&found.key),
        found.size,
        found.unit
    )
}

pub use crate::cli::diagnostics::HOT_SLOTS;

/// redis-cli's pool of hot keys: counters ascending, slot 0 the coldest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HotPool {
    pub counters: Vec<u64>,
    /// Each slot's key (raw), and its node with `-c`.
    pub keys: Vec<Option<(Vec<u8>, Option<String>)>>,
}

impl Default for HotPool {
    fn default() -> HotPool {
        HotPool::new(HOT_SLOTS)
    }
}

impl HotPool {
    /// An empty pool of `slots` keys.
    pub fn new(slots: usize) -> HotPool {
        HotPool { counters: vec![0; slots], keys: vec![None; slots] }
    }

    /// Offers a key with its LFU counter, as redis-cli's `findHotKeys` does
    /// (docs/redis-cli-modes.md, section 6.2); true when it entered the pool.
    pub fn offer(&mut self, freq: u64, key: &[u8], node: Option<&str>) -> bool {
        let k = self.counters.iter().take_while(|&&c| freq > c).count();
        let Some(k) = k.checked_sub(1) else { return false };
        let shift = k != 0 && self.counters.get(k).is_some_and(|&c| c != 0);
        if shift {
            self.counters.copy_within(1..=k, 0);
            if let Some(moved) = self.keys.get_mut(..=k) {
                moved.rotate_left(1);
            }
        }
        if let (Some(counter), Some(slot)) = (self.counters.get_mut(k), self.keys.get_mut(k)) {
            *counter = freq;
            *slot = Some((key.to_vec(), node.map(str::to_string)));
        }
        true
    }

    /// `Sampled N keys…` and the hot keys, hottest first.
    pub fn summary(&self, sampled: u64, interrupted_at: Option<f64>) -> String {
        let mut out = String::new();
        if let Some(pct) = interrupted_at {
            out.push_str(&format!("[{}%] ", percent(pct)));
        }
        out.push_str(&format!("Sampled {sampled} keys in the keyspace!\n"));
        for (counter, slot) in self.counters.iter().zip(&self.keys).rev() {
            if let (true, Some((key, node))) = (*counter > 0, slot) {
                let on = node.as_ref().map(|n| format!("\tnode: {n}")).unwrap_or_default();
                out.push_str(&format!("hot key found with counter: {counter}\tkeyname: {}{on}\n", repr_string(key)));
            }
        }
        out
    }
}

/// The `[pct] Hot key …` line.
pub fn hot_line(pct: f64, key: &[u8], freq: u64, node: Option<&str>) -> String {
    let on = node.map(|n| format!(" on {n}")).unwrap_or_default();
    format!("[{}%] Hot key '{}' found so far with counter {freq}{on}\n", percent(pct), repr_string(key))
}

/// The `[pct] Sampled N keys so far` line printed every million keys.
pub fn milestone_line(pct: f64, sampled: u64) -> String {
    format!("[{}%] Sampled {sampled} keys so far\n", percent(pct))
}

/// The banner printed before scanning.
pub fn banner(scan: KeyScan) -> &'static str {
    match scan {
        KeyScan::Hot => {
            "\n# Scanning the entire keyspace to find hot keys as well as\n\
             # average sizes per key type.  You can use -i 0.1 to sleep 0.1 sec\n\
             # per 100 SCAN commands (not usually needed).\n\n"
        }
        _ => {
            "\n# Scanning the entire keyspace to find biggest keys as well as\n\
             # average sizes per key type.  You can use -i 0.1 to sleep 0.1 sec\n\
             # per 100 SCAN commands (not usually needed).\n\n"
        }
    }
}

/// The line before the summary (and, with `-c`, the title of each node's section).
pub fn section(title: &str) -> String {
    format!("\n-------- {title} -------\n\n")
}

#[cfg(test)]
#[path = "keystats_tests.rs"]
mod tests;
