//! The cluster's shape: which primary (and which replicas) own each of the 16384 slots,
//! with node ids, roles, health and announced hostnames, built from `CLUSTER SHARDS`
//! (Redis 7+) or `CLUSTER SLOTS` (older servers) by [`crate::cluster::map_reply`]. A
//! node's endpoint is what the cluster announces. Pure data: fetching it is the
//! client's job.

use crate::cluster::slot::SLOTS;
use crate::endpoint::Endpoint;

/// One node as the cluster describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub id: String,
    pub endpoint: Endpoint,
    pub primary: bool,
    /// `online`, `failed`, `loading`, or `unknown` when the source does not say.
    pub health: String,
    /// The hostname the node announces (`cluster-announce-hostname`), if any: the name
    /// its TLS certificate is checked against.
    pub hostname: Option<String>,
    /// The availability zone the node announces (`availability-zone`, Valkey 9), if
    /// any: where `--az` reads prefer to go (`cluster::replica_choice`).
    pub zone: Option<String>,
}

/// A primary and its replicas, and the slot ranges they serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shard {
    pub primary: Option<Node>,
    pub replicas: Vec<Node>,
    pub ranges: Vec<(u16, u16)>,
}

impl Shard {
    pub fn slot_count(&self) -> usize {
        self.ranges.iter().map(|(a, b)| usize::from(b - a) + 1).sum()
    }
}

/// The slot map: 16384 slots → shard.
#[derive(Debug, Clone)]
pub struct Topology {
    pub shards: Vec<Shard>,
    owner: Vec<Option<u32>>,
}

impl Topology {
    /// The map of `shards`; a slot claimed by two shards is an error naming it.
    pub(crate) fn new(shards: Vec<Shard>) -> Result<Topology, String> {
        let mut owner: Vec<Option<u32>> = vec![None; SLOTS];
        for (index, shard) in shards.iter().enumerate() {
            let index = u32::try_from(index).map_err(|_| "too many shards".to_string())?;
            for &(start, end) in &shard.ranges {
                for slot in start..=end {
                    match owner.get_mut(usize::from(slot)) {
                        Some(entry @ None) => *entry = Some(index),
                        Some(Some(_)) => return Err(format!("slot {slot} is claimed by two shards")),
                        None => return Err(format!("slot {slot} is out of range")),
                    }
                }
            }
        }
        Ok(Topology { shards, owner })
    }

    /// A map that knows no slot yet (filled from redirects).
    pub fn empty() -> Topology {
        Topology { shards: Vec::new(), owner: vec![None; SLOTS] }
    }

    /// The slots split evenly over `primaries` in order, as a freshly created cluster
    /// has them (no replicas; ids are the addresses). For examples and tests of what
    /// reads a slot map.
    pub fn evenly(primaries: &[Endpoint]) -> Topology {
        let per = SLOTS / primaries.len().max(1);
        let shards = primaries
            .iter()
            .enumerate()
            .map(|(i, endpoint)| {
                let start = (i * per) as u16;
                let end = if i + 1 == primaries.len() { SLOTS - 1 } else { (i + 1) * per - 1 } as u16;
                Shard {
                    primary: Some(Node {
                        id: endpoint.to_string(),
                        endpoint: endpoint.clone(),
                        primary: true,
                        health: "online".into(),
                        hostname: None,
                        zone: None,
                    }),
                    replicas: Vec::new(),
                    ranges: vec![(start, end)],
                }
            })
            .collect();
        Topology::new(shards).unwrap_or_else(|_| Topology::empty())
    }

    fn shard(&self, slot: u16) -> Option<&Shard> {
        let index = (*self.owner.get(usize::from(slot))?)?;
        self.shards.get(usize::try_from(index).ok()?)
    }

    /// The primary serving `slot`.
    pub fn owner(&self, slot: u16) -> Option<&Endpoint> {
        self.shard(slot)?.primary.as_ref().map(|n| &n.endpoint)
    }

    /// The replicas of the primary serving `slot`.
    pub fn replicas(&self, slot: u16) -> Vec<&Node> {
        self.shard(slot).map(|s| s.replicas.iter().collect()).unwrap_or_default()
    }

    /// Records a MOVED: `slot` now belongs to `endpoint`.
    pub fn apply_moved(&mut self, slot: u16, endpoint: &Endpoint) {
        let index = match self.shards.iter().position(|s| s.primary.as_ref().is_some_and(|p| &p.endpoint == endpoint)) {
            Some(index) => index,
            None => {
                self.shards.push(Shard {
                    primary: Some(Node {
                        id: String::new(),
                        endpoint: endpoint.clone(),
                        primary: true,
                        health: "unknown".into(),
                        hostname: None,
                        zone: None,
                    }),
                    replicas: Vec::new(),
                    ranges: Vec::new(),
                });
                self.shards.len() - 1
            }
        };
        if let (Some(entry), Ok(index)) = (self.owner.get_mut(usize::from(slot)), u32::try_from(index)) {
            *entry = Some(index);
        }
    }

    /// Every shard, ordered by its first slot (shards without slots last): the order of
    /// `:nodes`, `:map` and fan-out blocks.
    pub fn shards_in_slot_order(&self) -> Vec<&Shard> {
        let mut shards: Vec<&Shard> = self.shards.iter().collect();
        shards.sort_by_key(|s| s.ranges.iter().map(|r| r.0).min().unwrap_or(u16::MAX));
        shards
    }

    fn serving_shards(&self) -> impl Iterator<Item = &Shard> {
        self.shards_in_slot_order().into_iter().filter(|s| !s.ranges.is_empty())
    }

    /// Primaries that own at least one slot, in slot order.
    pub fn primaries(&self) -> Vec<&Node> {
        self.serving_shards().filter_map(|s| s.primary.as_ref()).collect()
    }

    /// Every replica of a slot-owning primary.
    pub fn replica_nodes(&self) -> Vec<&Node> {
        self.serving_shards().flat_map(|s| s.replicas.iter()).collect()
    }

    /// Every known node: primaries first, each followed by its replicas.
    pub fn all_nodes(&self) -> Vec<&Node> {
        self.shards_in_slot_order().into_iter().flat_map(|s| s.primary.iter().chain(s.replicas.iter())).collect()
    }

    /// The position of the primary at `endpoint` among [`Topology::primaries`]: the
    /// colour its keys, its `:nodes` row and its `:map` cells are drawn in.
    pub fn colour_index(&self, endpoint: &Endpoint) -> Option<usize> {
        self.primaries().iter().position(|n| &n.endpoint == endpoint)
    }

    /// The node at `endpoint`, if known.
    pub fn node(&self, endpoint: &Endpoint) -> Option<&Node> {
        self.all_nodes().into_iter().find(|n| &n.endpoint == endpoint)
    }

    /// The node whose id starts with `prefix` (only when exactly one does).
    pub fn node_by_id_prefix(&self, prefix: &str) -> Option<&Node> {
        let mut matches = self.all_nodes().into_iter().filter(|n| !prefix.is_empty() && n.id.starts_with(prefix));
        let first = matches.next()?;
        matches.next().is_none().then_some(first)
    }

    /// Slots that no primary serves.
    pub fn uncovered_slots(&self) -> usize {
        self.owner.iter().filter(|o| o.is_none()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moved_slots_change_owner_and_evenly_covers_every_slot() {
        let a = Endpoint::tcp("127.0.0.1", 7000);
        let b = Endpoint::tcp("127.0.0.1", 7001);
        let mut topo = Topology::evenly(&[a.clone(), b.clone()]);
        assert_eq!(topo.uncovered_slots(), 0);
        assert_eq!(topo.owner(0), Some(&a));
        topo.apply_moved(5, &Endpoint::tcp("127.0.0.1", 7009));
        assert_eq!(topo.owner(5), Some(&Endpoint::tcp("127.0.0.1", 7009)));
        assert_eq!(topo.owner(6), Some(&a));
        assert_eq!(topo.owner(16383), Some(&b));
    }
}
