//! The cluster's shape: which primary (and which replicas) own each of the 16384 slots,
//! with node ids, roles, health and announced hostnames, built from `CLUSTER SHARDS`
//! (Redis 7+) or `CLUSTER SLOTS` (older servers) by [`crate::cluster::map_reply`]. A
//! node's endpoint is what the cluster announces. Pure data: fetching it is the
//! client's job.

use std::collections::HashMap;

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

/// The slot map: 16384 slots → shard, with the indexes its readers need at scale
/// (docs/performance.md, "Big maps"): the shards in slot order, each node by endpoint
/// and each serving primary's position, built once so that finding a node or a colour
/// costs a hash lookup, not a sort of every shard.
#[derive(Debug, Clone)]
pub struct Topology {
    /// Read freely; changed only through [`Topology`]'s methods, which keep the
    /// indexes below in step.
    pub shards: Vec<Shard>,
    owner: Vec<Option<u32>>,
    /// Shard indexes ordered by first slot (shards without slots last, in the order
    /// they came).
    order: Vec<usize>,
    /// The first node at each endpoint, in [`Topology::all_nodes`] order.
    by_endpoint: HashMap<Endpoint, NodeAt>,
    /// Each serving primary's position among [`Topology::primaries`] (the first, for an
    /// endpoint listed twice).
    colour: HashMap<Endpoint, usize>,
}

/// Enters the nodes of `shard` (at `index`) into the endpoint index, where no node
/// entered before has their endpoint.
fn note_nodes(by_endpoint: &mut HashMap<Endpoint, NodeAt>, shard: &Shard, index: usize) {
    if let Some(primary) = &shard.primary {
        by_endpoint.entry(primary.endpoint.clone()).or_insert(NodeAt { shard: index, replica: None });
    }
    for (i, replica) in shard.replicas.iter().enumerate() {
        by_endpoint.entry(replica.endpoint.clone()).or_insert(NodeAt { shard: index, replica: Some(i) });
    }
}

/// Where a node sits in [`Topology::shards`]: its shard, and which replica (`None`: the
/// primary).
#[derive(Debug, Clone, Copy)]
struct NodeAt {
    shard: usize,
    replica: Option<usize>,
}

impl Topology {
    /// The map of `shards`; a slot claimed by two shards is an error naming it.
    pub(crate) fn new(shards: Vec<Shard>) -> Result<Topology, String> {
        let mut owner: Vec<Option<u32>> = vec![None; SLOTS];
        for (index, shard) in shards.iter().enumerate() {
            let index = u32::try_from(index).map_err(|_| "too many shards".to_string())?;
            for &(start, end) in &shard.ranges {
                // A whole range at once (a slot at a time cost 200,000 instructions of a
                // one-shot's start).
                let Some(entries) = owner.get_mut(usize::from(start)..=usize::from(end)) else {
                    return Err(format!("slots {start}-{end} are out of range"));
                };
                if let Some(taken) = entries.iter().position(Option::is_some) {
                    return Err(format!("slot {} is claimed by two shards", usize::from(start) + taken));
                }
                entries.fill(Some(index));
            }
        }
        let mut topology =
            Topology { shards, owner, order: Vec::new(), by_endpoint: HashMap::new(), colour: HashMap::new() };
        topology.index();
        Ok(topology)
    }

    /// A map that knows no slot yet (filled from redirects).
    pub fn empty() -> Topology {
        Topology {
            shards: Vec::new(),
            owner: vec![None; SLOTS],
            order: Vec::new(),
            by_endpoint: HashMap::new(),
            colour: HashMap::new(),
        }
    }

    /// Builds the slot order, the endpoint index and the colours from the shards.
    fn index(&mut self) {
        let first_slot = |s: &Shard| s.ranges.iter().map(|r| r.0).min().unwrap_or(u16::MAX);
        let mut order: Vec<usize> = (0..self.shards.len()).collect();
        order.sort_by_key(|&i| self.shards.get(i).map_or(u16::MAX, first_slot));
        self.by_endpoint.clear();
        self.colour.clear();
        self.by_endpoint.reserve(self.shards.iter().map(|s| 1 + s.replicas.len()).sum());
        self.colour.reserve(self.shards.len());
        let mut serving = 0;
        for &index in &order {
            let Some(shard) = self.shards.get(index) else { continue };
            if let Some(primary) = &shard.primary
                && !shard.ranges.is_empty()
            {
                self.colour.entry(primary.endpoint.clone()).or_insert(serving);
                serving += 1;
            }
            note_nodes(&mut self.by_endpoint, shard, index);
        }
        self.order = order;
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
                let index = self.shards.len() - 1;
                // Without slot ranges it sorts last and serves no colour.
                self.order.push(index);
                if let Some(shard) = self.shards.get(index) {
                    note_nodes(&mut self.by_endpoint, shard, index);
                }
                index
            }
        };
        if let (Some(entry), Ok(index)) = (self.owner.get_mut(usize::from(slot)), u32::try_from(index)) {
            *entry = Some(index);
        }
    }

    /// Every shard, ordered by its first slot (shards without slots last): the order of
    /// `:nodes`, `:map` and fan-out blocks.
    pub fn shards_in_slot_order(&self) -> Vec<&Shard> {
        self.ordered().collect()
    }

    fn ordered(&self) -> impl Iterator<Item = &Shard> {
        self.order.iter().filter_map(|&i| self.shards.get(i))
    }

    fn serving_shards(&self) -> impl Iterator<Item = &Shard> {
        self.ordered().filter(|s| !s.ranges.is_empty())
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
        self.ordered().flat_map(|s| s.primary.iter().chain(s.replicas.iter())).collect()
    }

    /// The position of the primary at `endpoint` among [`Topology::primaries`]: the
    /// colour its keys, its `:nodes` row and its `:map` cells are drawn in.
    pub fn colour_index(&self, endpoint: &Endpoint) -> Option<usize> {
        self.colour.get(endpoint).copied()
    }

    /// The node at `endpoint`, if known (the first in [`Topology::all_nodes`] order).
    pub fn node(&self, endpoint: &Endpoint) -> Option<&Node> {
        let at = self.by_endpoint.get(endpoint)?;
        let shard = self.shards.get(at.shard)?;
        match at.replica {
            None => shard.primary.as_ref(),
            Some(i) => shard.replicas.get(i),
        }
    }

    /// The node whose id starts with `prefix` (only when exactly one does).
    pub fn node_by_id_prefix(&self, prefix: &str) -> Option<&Node> {
        let mut matches = self
            .ordered()
            .flat_map(|s| s.primary.iter().chain(&s.replicas))
            .filter(|n| !prefix.is_empty() && n.id.starts_with(prefix));
        let first = matches.next()?;
        matches.next().is_none().then_some(first)
    }

    /// Slots that no primary serves.
    pub fn uncovered_slots(&self) -> usize {
        self.owner.iter().filter(|o| o.is_none()).count()
    }
}

/// Test fixtures shared by the tests of the floors that read a map.
#[cfg(test)]
pub mod fixtures {
    use super::*;

    /// A node on 127.0.0.1:`port`, online, with id `n<port>`.
    pub fn node(port: u16, primary: bool) -> Node {
        Node {
            id: format!("n{port}"),
            endpoint: Endpoint::tcp("127.0.0.1", port),
            primary,
            health: "online".into(),
            hostname: None,
            zone: None,
        }
    }

    /// Two shards: 7000 (replica 7003) serves 0-8191, 7001 (replica 7004) 8192-16383.
    pub fn two_shards() -> Topology {
        let shard = |primary, replica, ranges| Shard {
            primary: Some(node(primary, true)),
            replicas: vec![node(replica, false)],
            ranges: vec![ranges],
        };
        // Listed out of slot order, as a server may list them.
        Topology::new(vec![shard(7001, 7004, (8192, 16383)), shard(7000, 7003, (0, 8191))])
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::node;
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

    /// The indexes answer what a walk over the shards in slot order answers, with an
    /// endpoint listed twice (the first wins), a shard without slots, and a MOVED to a
    /// node the map did not know.
    #[test]
    fn indexes_agree_with_a_walk_in_slot_order() {
        let shard = |primary: u16, replicas: &[u16], ranges: Vec<(u16, u16)>| Shard {
            primary: Some(node(primary, true)),
            replicas: replicas.iter().map(|&p| node(p, false)).collect(),
            ranges,
        };
        let mut topo = Topology::new(vec![
            shard(7002, &[7012], vec![(9000, 16383)]),
            shard(7009, &[], vec![]),
            shard(7000, &[7010, 7002], vec![(0, 99), (5000, 5999)]),
            shard(7001, &[], vec![(100, 4999), (6000, 8999)]),
        ])
        .unwrap();
        let walk = |topo: &Topology| -> Vec<u16> {
            topo.all_nodes()
                .iter()
                .map(|n| match &n.endpoint {
                    Endpoint::Tcp { port, .. } => *port,
                    Endpoint::Unix(_) => 0,
                })
                .collect()
        };
        assert_eq!(walk(&topo), [7000, 7010, 7002, 7001, 7002, 7012, 7009]);
        let at = |port| Endpoint::tcp("127.0.0.1", port);
        let primaries: Vec<&Endpoint> = topo.primaries().iter().map(|n| &n.endpoint).collect();
        assert_eq!(primaries, [&at(7000), &at(7001), &at(7002)]);
        for port in [7000, 7001, 7002, 7009, 7010, 7012] {
            let first = topo.all_nodes().into_iter().find(|n| n.endpoint == at(port));
            assert_eq!(topo.node(&at(port)), first, "{port}");
            assert_eq!(topo.colour_index(&at(port)), primaries.iter().position(|e| **e == at(port)), "{port}");
        }
        assert!(!topo.node(&at(7002)).unwrap().primary, "7000's replica comes first in slot order");
        assert_eq!(topo.node(&at(7099)), None);
        topo.apply_moved(42, &at(7099));
        assert_eq!(walk(&topo).last(), Some(&7099), "a node learnt from MOVED comes last");
        assert_eq!(topo.node(&at(7099)).map(|n| n.primary), Some(true));
        assert_eq!(topo.colour_index(&at(7099)), None, "it serves no listed range");
        topo.apply_moved(43, &at(7099));
        assert_eq!(topo.shards.len(), 5, "the same node again is the same shard");
        assert_eq!(topo.owner(43), Some(&at(7099)));
        assert_eq!(topo.node_by_id_prefix("n70"), None, "several ids start so");
        assert_eq!(topo.node_by_id_prefix("n7012").map(|n| n.endpoint.clone()), Some(at(7012)));
    }
}
