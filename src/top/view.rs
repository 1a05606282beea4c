//! What one frame of `rcli top` shows, as plain values: the shards (a primary, then
//! its replicas), each node's figures and link, the cluster's totals and sparkline,
//! the hot slots and the events so far. Built by `tracker.rs`, laid out as a table by
//! `table.rs`, printed by `text.rs` or drawn by `screen.rs`. Pure data.

use std::time::{Duration, SystemTime};

use super::rates::Rates;
use super::sample::{NodeInfo, SlotStat};
use crate::endpoint::Endpoint;

/// How rcli's own requests to a node fare (the failure budget's view,
/// `cluster/health.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// Not asked yet.
    Unknown,
    /// It answered this round.
    Ok,
    /// It has not answered for this long, still within the failure budget.
    Silent { since: Duration, cause: String },
    /// It has not answered for longer than the failure budget.
    Down { since: Duration, cause: String },
}

impl Link {
    pub fn answering(&self) -> bool {
        matches!(self, Link::Ok)
    }

    /// One word for tables and JSON.
    pub fn word(&self) -> &'static str {
        match self {
            Link::Unknown => "-",
            Link::Ok => "ok",
            Link::Silent { .. } => "silent",
            Link::Down { .. } => "down",
        }
    }
}

/// How far a replica is behind its primary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lag {
    /// The primary's offset minus the replica's.
    pub bytes: Option<u64>,
    /// Seconds since the replica last acknowledged (the primary's `lag=`).
    pub seconds: Option<u64>,
    /// The replica's link to its primary (`master_link_status`).
    pub link_up: Option<bool>,
    /// How long that link has been down (`master_link_down_since_seconds`).
    pub down_for: Option<u64>,
}

/// One node in a frame.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeView {
    pub endpoint: Endpoint,
    /// The cluster's node id (empty outside a cluster).
    pub id: String,
    pub primary: bool,
    /// The cluster's word for it (`online`, `failed`, `loading`; `-` outside a cluster).
    pub health: String,
    pub link: Link,
    /// Its last INFO (kept while it does not answer, so the row stays readable).
    pub info: Option<NodeInfo>,
    pub rates: Rates,
    /// ops/s over the last rounds, oldest first.
    pub history: Vec<Option<f64>>,
    /// Replicas only.
    pub lag: Option<Lag>,
}

/// A primary and its replicas (outside a cluster: the node and the replicas it names).
#[derive(Debug, Clone, PartialEq)]
pub struct ShardView {
    /// Slot ranges it serves (empty outside a cluster).
    pub ranges: Vec<(u16, u16)>,
    /// The primary first (when known), then the replicas.
    pub nodes: Vec<NodeView>,
}

/// The cluster's sums over the nodes that answered.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Totals {
    pub nodes: usize,
    pub answering: usize,
    pub ops: Option<f64>,
    pub input: Option<f64>,
    pub output: Option<f64>,
    pub cpu: Option<f64>,
    pub used_memory: u64,
    /// Primaries' keys (replicas hold copies).
    pub keys: u64,
    pub clients: u64,
}

/// One slot's figures, with the rates since the previous round when the server keeps
/// per-slot statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct HotSlot {
    pub stat: SlotStat,
    pub owner: Endpoint,
    pub cpu_rate: Option<f64>,
    pub in_rate: Option<f64>,
    pub out_rate: Option<f64>,
}

/// What the frame can say about hot slots.
#[derive(Debug, Clone, PartialEq)]
pub enum HotSlots {
    /// Not a cluster, or no primary answered yet.
    None,
    /// The server has no `CLUSTER SLOT-STATS` (Valkey 8+ has it): its words.
    Unsupported(String),
    /// Busiest slots by key count and, when `cluster-slot-stats-enabled` is on, by
    /// CPU time (cumulative counters; rates between rounds).
    Slots { by_keys: Vec<HotSlot>, by_cpu: Vec<HotSlot>, stats_enabled: bool },
}

/// How bad an event is, for colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Info,
    Warning,
    Bad,
}

/// Something that happened between two rounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub at: SystemTime,
    pub severity: Severity,
    pub text: String,
}

/// One frame.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    /// When the round behind it was taken.
    pub sampled: SystemTime,
    /// Where the view comes from (the seed).
    pub seed: Endpoint,
    pub cluster: bool,
    /// `cluster_state` (`ok`, `fail`) as the node asked for the map says.
    pub state: Option<String>,
    pub shards: Vec<ShardView>,
    pub totals: Totals,
    pub history: Vec<Option<f64>>,
    pub hot: HotSlots,
    /// Oldest first.
    pub events: Vec<Event>,
    pub interval: Duration,
    pub budget: Duration,
    /// Rounds taken so far.
    pub rounds: u64,
}

impl View {
    /// Every node, shard by shard.
    pub fn nodes(&self) -> impl Iterator<Item = &NodeView> {
        self.shards.iter().flat_map(|s| s.nodes.iter())
    }
}
