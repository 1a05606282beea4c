//! The cluster as the manager sees it: the nodes it loaded, their replicas, weights and
//! zones, and the queries the subcommands make of them (docs/cluster-manager.md,
//! "Loading" and "Check"). Pure; reading it from the servers is [`super::load`], and a
//! `CLUSTER NODES` line is read by [`crate::cluster::nodes_reply`].

pub use crate::cluster::nodes_reply::{
    NodeHead, NodeLine, SlotSet, config_signature, is_node_id, myself_line, owned_ranges, parse_node_head,
    parse_node_line, parse_nodes, ranges_text,
};
use crate::endpoint::Endpoint;

/// A node of the loaded cluster.
#[derive(Debug, Clone)]
pub struct Node {
    pub id: String,
    pub host: String,
    pub port: u16,
    pub bus_port: Option<u16>,
    /// The node's own flags (its `myself` line), shown in node blocks.
    pub own_flags: Vec<String>,
    /// Flags as the entry node sees it, or-ed with the node's own: used for decisions.
    pub flags: Vec<String>,
    pub replicate: Option<String>,
    pub slots: SlotSet,
    pub migrating: Vec<(u16, String)>,
    pub importing: Vec<(u16, String)>,
    pub config_epoch: u64,
    pub replicas_count: usize,
    /// Set in a `create` plan: the node's configuration is not applied yet.
    pub dirty: bool,
    /// Weight and balance for `rebalance`.
    pub weight: f32,
    /// The availability zone it announces (Valkey 9.1+), from CLUSTER SHARDS.
    pub zone: Option<String>,
}

impl Node {
    pub fn from_line(line: &NodeLine) -> Node {
        Node {
            id: line.head.id.clone(),
            host: line.head.host.clone(),
            port: line.head.port,
            bus_port: line.head.bus_port,
            own_flags: line.head.flags.clone(),
            flags: line.head.flags.clone(),
            replicate: line.head.master.clone(),
            slots: line.slots.clone(),
            migrating: line.migrating.clone(),
            importing: line.importing.clone(),
            config_epoch: line.head.config_epoch,
            replicas_count: 0,
            dirty: false,
            weight: 1.0,
            zone: None,
        }
    }

    pub fn endpoint(&self) -> Endpoint {
        Endpoint::tcp(&self.host, self.port)
    }

    /// `ip:port` as redis-cli prints it (no brackets around IPv6).
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    pub fn is_replica(&self) -> bool {
        self.flags.iter().any(|f| f == "slave")
    }

    /// A primary: neither flagged as a replica nor replicating anyone.
    pub fn is_master(&self) -> bool {
        !self.is_replica() && self.replicate.is_none()
    }

    /// The flags shown in a node block: its own, without `myself`.
    pub fn flag_string(&self) -> String {
        let flags: Vec<&str> = self.own_flags.iter().map(String::as_str).filter(|f| *f != "myself").collect();
        flags.join(",")
    }

    pub fn migrating_slots(&self) -> impl Iterator<Item = u16> + '_ {
        self.migrating.iter().map(|(s, _)| *s)
    }

    pub fn importing_slots(&self) -> impl Iterator<Item = u16> + '_ {
        self.importing.iter().map(|(s, _)| *s)
    }
}

/// A node the entry node lists that was not loaded (unreachable, failed, no address).
#[derive(Debug, Clone)]
pub struct Skipped {
    pub id: String,
    pub host: String,
    pub port: u16,
    pub flags: Vec<String>,
    pub master: bool,
    pub slots: usize,
    pub reason: String,
}

/// The loaded cluster: the entry node first, then the others in the entry node's
/// `CLUSTER NODES` order.
#[derive(Debug, Clone, Default)]
pub struct Cluster {
    pub nodes: Vec<Node>,
    /// Masters listed but not loaded (redis-cli's `unreachable_masters`).
    pub unreachable_masters: usize,
    pub skipped: Vec<Skipped>,
}

impl Cluster {
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }

    pub fn node_mut(&mut self, id: &str) -> Option<&mut Node> {
        self.nodes.iter_mut().find(|n| n.id == id)
    }

    /// redis-cli's `clusterManagerNodeByName`: the full id, case-insensitive.
    pub fn by_name(&self, name: &str) -> Option<&Node> {
        self.node(&name.to_ascii_lowercase())
    }

    /// The one node whose id starts with `prefix` (`None` when none or several do).
    pub fn by_prefix_mut(&mut self, prefix: &str) -> Option<&mut Node> {
        let prefix = prefix.to_ascii_lowercase();
        let mut found = self.nodes.iter_mut().filter(|n| n.id.starts_with(&prefix));
        let first = found.next()?;
        found.next().is_none().then_some(first)
    }

    pub fn masters(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(|n| !n.is_replica())
    }

    /// The loaded model follows a slot settled on `owner`: nobody else has it, open or not.
    pub fn give_slot(&mut self, slot: u16, owner: &str) {
        for node in &mut self.nodes {
            if node.id == owner {
                node.slots.insert(slot)
            } else {
                node.slots.remove(slot)
            }
            node.migrating.retain(|(s, _)| *s != slot);
            node.importing.retain(|(s, _)| *s != slot);
        }
    }

    /// Each primary's replicas, by id.
    pub fn replicas(&self) -> std::collections::BTreeMap<String, Vec<String>> {
        let mut map: std::collections::BTreeMap<String, Vec<String>> = std::collections::BTreeMap::new();
        for node in &self.nodes {
            if let Some(master) = &node.replicate {
                map.entry(master.clone()).or_default().push(node.id.clone());
            }
        }
        map
    }

    /// The master with the fewest replicas (the first on ties).
    pub fn master_with_least_replicas(&self) -> Option<&Node> {
        self.masters().min_by_key(|n| n.replicas_count)
    }

    /// Slots claimed by some loaded node.
    pub fn covered(&self) -> SlotSet {
        let mut all = SlotSet::default();
        for n in &self.nodes {
            all.union_with(&n.slots);
        }
        all
    }

    /// Counts replicas per master; returns warnings for replicas of unknown masters.
    pub fn count_replicas(&mut self) -> Vec<String> {
        let mut warnings = Vec::new();
        for n in &mut self.nodes {
            n.replicas_count = 0;
        }
        let claims: Vec<(String, String)> =
            self.nodes.iter().filter_map(|n| Some((n.addr(), n.replicate.clone()?))).collect();
        for (replica, master) in claims {
            match self.nodes.iter_mut().find(|n| n.id == master) {
                Some(m) => m.replicas_count += 1,
                None => {
                    warnings.push(format!("*** WARNING: {replica} claims to be slave of unknown node ID {master}."))
                }
            }
        }
        warnings
    }
}
