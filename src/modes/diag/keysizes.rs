//! What `--keystats` learns from a key scan (redis-cli 7.4's `keyStats`,
//! docs/redis-cli-modes.md, section 6.4), beside the per-type lengths that
//! [`super::keystats::KeyStats`] keeps as for `--bigkeys`: per type the memory
//! (MEMORY USAGE) count, total and biggest key; the total memory; the `--top N` biggest
//! keys; the key sizes in an HdrHistogram ([`super::hdr`], 1 B to 1 TB, 4 significant
//! figures); the key names' lengths in redis-cli's fixed ranges. With `-c` each node's
//! figures merge into the cluster's, each key remembering its node. Pure; the report's
//! text is [`super::keysizes_text`].

use super::hdr::Histogram;
use super::keystats::KeyStats;
use crate::cli::diagnostics::KeyScan;

pub use crate::cli::diagnostics::TOP_DEFAULT;

/// The upper bounds of redis-cli's key name length ranges (32 B, 256 B, 64 KB, 1 MB,
/// 16 MB, 128 MB, 512 MB); longer names count in a last range shown as `inf`.
pub const NAME_BOUNDS: [u64; 7] = [32, 256, 64 << 10, 1 << 20, 16 << 20, 128 << 20, 512 << 20];

/// One of the biggest keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopKey {
    pub size: u64,
    /// Its type as redis-cli keeps it: at most 9 bytes (`char type_name[10]`).
    pub type_name: String,
    pub key: Vec<u8>,
    /// Its node, with `-c`.
    pub node: Option<String>,
}

/// The `--top N` biggest keys, biggest first; a key as big as one already listed goes
/// after it (redis-cli's `updateTopSizes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopKeys {
    pub limit: u64,
    pub keys: Vec<TopKey>,
}

impl TopKeys {
    pub fn new(limit: u64) -> TopKeys {
        TopKeys { limit, keys: Vec::new() }
    }

    /// Offers a key; `--top 0` keeps none.
    pub fn offer(&mut self, key: TopKey) {
        let full = u64::try_from(self.keys.len()).is_ok_and(|len| len >= self.limit);
        if full && self.keys.last().is_none_or(|last| key.size <= last.size) {
            return;
        }
        let at = self.keys.iter().position(|k| key.size > k.size).unwrap_or(self.keys.len());
        self.keys.insert(at, key);
        if u64::try_from(self.keys.len()).is_ok_and(|len| len > self.limit) {
            self.keys.pop();
        }
    }
}

/// Key name lengths in [`NAME_BOUNDS`]' ranges (redis-cli's `size_dist`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameLengths {
    /// Names per range; the last counts names longer than every bound.
    pub counts: [u64; NAME_BOUNDS.len() + 1],
    pub total_count: u64,
    pub total_size: u64,
    pub max_size: u64,
}

impl NameLengths {
    pub fn add(&mut self, length: u64) {
        self.total_count += 1;
        self.total_size = self.total_size.saturating_add(length);
        self.max_size = self.max_size.max(length);
        let range = NAME_BOUNDS.iter().position(|&bound| length <= bound).unwrap_or(NAME_BOUNDS.len());
        if let Some(count) = self.counts.get_mut(range) {
            *count += 1;
        }
    }

    pub fn merge(&mut self, other: &NameLengths) {
        for (ours, theirs) in self.counts.iter_mut().zip(other.counts) {
            *ours += theirs;
        }
        self.total_count += other.total_count;
        self.total_size = self.total_size.saturating_add(other.total_size);
        self.max_size = self.max_size.max(other.max_size);
    }
}

/// The memory side of `--keystats` for one node (or, merged, the cluster).
#[derive(Debug, Clone, PartialEq)]
pub struct KeySizes {
    /// Per type: keys, total MEMORY USAGE, biggest key.
    pub memory: KeyStats,
    pub total_size: u64,
    pub top: TopKeys,
    pub histogram: Histogram,
    pub names: NameLengths,
}

impl KeySizes {
    pub fn new(top: u64) -> KeySizes {
        KeySizes {
            memory: KeyStats::default(),
            total_size: 0,
            top: TopKeys::new(top),
            histogram: Histogram::for_key_sizes(),
            names: NameLengths::default(),
        }
    }

    /// Counts `key` (of the type a TYPE reply named) using `memory` bytes; the warning
    /// redis-cli prints on stderr when the histogram cannot hold the size.
    pub fn record(&mut self, type_name: &[u8], key: &[u8], memory: u64) -> Option<String> {
        self.total_size = self.total_size.saturating_add(memory);
        let type_name = String::from_utf8_lossy(type_name).into_owned();
        self.top.offer(TopKey { size: memory, type_name: short_type_name(&type_name), key: key.to_vec(), node: None });
        if let Some(index) = self.memory.type_index(type_name.as_bytes()) {
            self.memory.record(index, key, memory, KeyScan::Memory { samples: 0 });
        }
        let refused = !self.histogram.record(memory);
        self.names.add(key.len() as u64);
        refused.then(|| format!("Value {memory} not added in the hdr histogram."))
    }

    /// Adds a node's figures; `node` names its keys (on a tie the node merged first
    /// keeps its place).
    pub fn merge(&mut self, other: &KeySizes, node: &str) {
        self.total_size = self.total_size.saturating_add(other.total_size);
        for key in &other.top.keys {
            self.top.offer(TopKey { node: Some(node.to_string()), ..key.clone() });
        }
        self.memory.merge(&other.memory, node);
        self.histogram.merge(&other.histogram);
        self.names.merge(&other.names);
    }
}

/// A type name as redis-cli's 10-byte buffer keeps it (9 bytes, not cutting a
/// character in two).
fn short_type_name(name: &str) -> String {
    let mut end = name.len().min(9);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name.get(..end).unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(size: u64, name: &str) -> TopKey {
        TopKey { size, type_name: "string".into(), key: name.as_bytes().to_vec(), node: None }
    }

    fn names(top: &TopKeys) -> Vec<String> {
        top.keys.iter().map(|k| String::from_utf8_lossy(&k.key).into_owned()).collect()
    }

    #[test]
    fn the_top_list_keeps_the_biggest_first_and_ties_in_arrival_order() {
        let mut top = TopKeys::new(3);
        for (size, name) in [(5, "a"), (9, "b"), (5, "c"), (7, "d"), (5, "e"), (9, "f"), (1, "g")] {
            top.offer(key(size, name));
        }
        assert_eq!(names(&top), ["b", "f", "d"]);
        let mut none = TopKeys::new(0);
        none.offer(key(5, "a"));
        assert!(none.keys.is_empty());
    }

    #[test]
    fn name_lengths_fall_in_redis_clis_ranges() {
        let mut lengths = NameLengths::default();
        for length in [0, 32, 33, 256, 257, 600 << 20] {
            lengths.add(length);
        }
        assert_eq!(lengths.counts, [2, 2, 1, 0, 0, 0, 0, 1]);
        assert_eq!((lengths.total_count, lengths.max_size), (6, 600 << 20));
    }

    #[test]
    fn type_names_are_cut_like_redis_clis() {
        assert_eq!(short_type_name("ReJSON-RL"), "ReJSON-RL");
        assert_eq!(short_type_name("MBbloomCFX"), "MBbloomCF");
        assert_eq!(short_type_name("abcdefgh\u{e9}"), "abcdefgh");
    }

    #[test]
    fn nodes_merge_into_the_cluster() {
        let mut first = KeySizes::new(2);
        first.record(b"string", b"k1", 100);
        first.record(b"string", b"k2", 300);
        let mut second = KeySizes::new(2);
        second.record(b"list", b"l", 300);
        assert_eq!(
            second.record(b"list", b"huge", 1 << 42),
            Some(format!("Value {} not added in the hdr histogram.", 1u64 << 42))
        );
        let mut total = KeySizes::new(2);
        total.merge(&first, "n1");
        total.merge(&second, "n2");
        assert_eq!(names(&total.top), ["huge", "k2"]);
        assert_eq!(
            total.top.keys.iter().map(|k| k.node.clone()).collect::<Vec<_>>(),
            [Some("n2".into()), Some("n1".into())]
        );
        assert_eq!((total.total_size, total.histogram.total(), total.names.total_count), (700 + (1 << 42), 3, 4));
        assert_eq!(total.memory.sampled, 4);
    }
}
