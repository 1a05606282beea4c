//! The cluster's shape: which primary (and which replicas) own each of the 16384 slots,
//! with node ids, roles, health and announced hostnames, built from `CLUSTER SHARDS`
//! (Redis 7+) or `CLUSTER SLOTS` (older servers). A node's endpoint is what the
//! cluster announces (`endpoint`, per `cluster-preferred-endpoint-type`; `?` or empty:
//! the host of the node asked), with the TLS port on TLS connections. Server values are
//! checked (ports 1–65535, host names); a node that fails the check is left out. Pure
//! data: fetching it is the client's job.

use crate::cluster::slot::SLOTS;
use crate::endpoint::{Endpoint, valid_host};
use crate::protocol::resp::{Frame, field};

/// One node as the cluster describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub id: String,
    pub endpoint: Endpoint,
    pub primary: bool,
    /// `online`, `failed`, `loading`, or `unknown` when the source does not say.
    pub health: String,
    /// The hostname the node announces (`cluster-announce-hostname`), if any.
    pub hostname: Option<String>,
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
    owner: Vec<Option<u16>>,
}

fn text(frame: &Frame) -> String {
    match frame {
        Frame::Integer(n) => n.to_string(),
        other => other.as_bytes().map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default(),
    }
}

/// A node's host: the one reported, or the asked node's host when the reply leaves it
/// empty (`cluster-preferred-endpoint-type unknown-endpoint`) or says `?` (a node
/// with no hostname while hostnames are preferred); `None` for a host that is not a
/// host name or address.
fn host_or(reported: String, asked: &Endpoint) -> Option<String> {
    let reported = reported.trim_start_matches('[').trim_end_matches(']').to_string();
    let host = match asked {
        Endpoint::Tcp { host, .. } if reported.is_empty() || reported == "?" => host.clone(),
        _ if reported.is_empty() || reported == "?" => "127.0.0.1".to_string(),
        _ => reported,
    };
    valid_host(&host).then_some(host)
}

/// A hostname worth keeping: announced, and a valid name.
fn hostname(frame: Option<&Frame>) -> Option<String> {
    frame.map(text).filter(|h| !h.is_empty() && h != "?" && valid_host(h))
}

fn to_u16(frame: &Frame) -> Option<u16> {
    frame.as_integer().and_then(|n| u16::try_from(n).ok()).filter(|&n| usize::from(n) < SLOTS)
}

/// A TCP port (1–65535); 0 means "not served".
fn to_port(frame: Option<&Frame>) -> Option<u16> {
    frame?.as_integer().and_then(|n| u16::try_from(n).ok()).filter(|&p| p > 0)
}

impl Topology {
    fn new(shards: Vec<Shard>) -> Topology {
        let mut owner = vec![None; SLOTS];
        for (index, shard) in shards.iter().enumerate() {
            for &(start, end) in &shard.ranges {
                for slot in start..=end {
                    owner[usize::from(slot)] = Some(index as u16);
                }
            }
        }
        Topology { shards, owner }
    }

    /// A map that knows no slot yet (filled from redirects).
    pub fn empty() -> Topology {
        Topology::new(Vec::new())
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
                    }),
                    replicas: Vec::new(),
                    ranges: vec![(start, end)],
                }
            })
            .collect();
        Topology::new(shards)
    }

    /// Parses a `CLUSTER SHARDS` reply received from `asked` on a plain connection.
    pub fn from_shards(reply: &Frame, asked: &Endpoint) -> Option<Topology> {
        Topology::from_shards_via(reply, asked, false)
    }

    /// Parses a `CLUSTER SHARDS` reply received from `asked`; `tls`: the connection was
    /// TLS, so nodes are reached on their `tls-port` (a TLS-only node reports no
    /// `port`, or `port 0`).
    pub fn from_shards_via(reply: &Frame, asked: &Endpoint, tls: bool) -> Option<Topology> {
        let mut shards = Vec::new();
        for shard_frame in reply.as_items()? {
            let pairs = shard_frame.to_pairs()?;
            let bounds: Vec<u16> = field(&pairs, "slots")?.as_items()?.iter().filter_map(to_u16).collect();
            let ranges = bounds.chunks_exact(2).map(|r| (r[0], r[1])).filter(|(a, b)| a <= b).collect();
            let mut shard = Shard { primary: None, replicas: Vec::new(), ranges };
            for node_frame in field(&pairs, "nodes")?.as_items()? {
                let node = node_frame.to_pairs()?;
                let plain = to_port(field(&node, "port"));
                let Some(port) = (if tls { to_port(field(&node, "tls-port")).or(plain) } else { plain }) else {
                    continue;
                };
                let reported = field(&node, "endpoint").or_else(|| field(&node, "ip")).map(text).unwrap_or_default();
                let Some(host) = host_or(reported, asked) else { continue };
                let role = field(&node, "role").map(text).unwrap_or_default();
                let parsed = Node {
                    id: field(&node, "id").map(text).unwrap_or_default(),
                    endpoint: Endpoint::tcp(&host, port),
                    primary: role == "master" || role == "primary",
                    health: field(&node, "health").map(text).unwrap_or_else(|| "unknown".into()),
                    hostname: hostname(field(&node, "hostname")),
                };
                // After a failover the old primary may still be listed as a failed master.
                if parsed.primary && (shard.primary.is_none() || parsed.health == "online") {
                    if let Some(previous) = shard.primary.replace(parsed) {
                        shard.replicas.push(Node { primary: false, ..previous });
                    }
                } else {
                    shard.replicas.push(Node { primary: false, ..parsed });
                }
            }
            shards.push(shard);
        }
        Some(Topology::new(shards))
    }

    /// Parses a `CLUSTER SLOTS` reply received from `asked`.
    pub fn from_slots(reply: &Frame, asked: &Endpoint) -> Option<Topology> {
        let mut shards: Vec<Shard> = Vec::new();
        for range in reply.as_items()? {
            let items = range.as_items()?;
            let (start, end) = (to_u16(items.first()?)?, to_u16(items.get(1)?)?);
            let mut nodes = items.get(2..).unwrap_or_default().iter().filter_map(|n| {
                let fields = n.as_items()?;
                // Element 0 is the preferred endpoint: an address, a hostname, `?`, or
                // NULL (unknown: the node asked); element 3 holds `hostname`/`ip` metadata.
                let host = host_or(text(fields.first()?), asked)?;
                let port = to_port(fields.get(1))?;
                let id = fields.get(2).map(text).unwrap_or_default();
                let metadata = fields.get(3).and_then(Frame::to_pairs).unwrap_or_default();
                let hostname = hostname(field(&metadata, "hostname"));
                Some(Node {
                    id,
                    endpoint: Endpoint::tcp(&host, port),
                    primary: false,
                    health: "unknown".into(),
                    hostname,
                })
            });
            let Some(primary) = nodes.next() else { continue };
            let replicas: Vec<Node> = nodes.collect();
            match shards.iter_mut().find(|s| s.primary.as_ref().is_some_and(|p| p.endpoint == primary.endpoint)) {
                Some(shard) => shard.ranges.push((start, end)),
                None => shards.push(Shard {
                    primary: Some(Node { primary: true, ..primary }),
                    replicas,
                    ranges: vec![(start, end)],
                }),
            }
        }
        Some(Topology::new(shards))
    }

    fn shard(&self, slot: u16) -> Option<&Shard> {
        let index = (*self.owner.get(usize::from(slot))?)?;
        self.shards.get(usize::from(index))
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
                    }),
                    replicas: Vec::new(),
                    ranges: Vec::new(),
                });
                self.shards.len() - 1
            }
        };
        if let Some(entry) = self.owner.get_mut(usize::from(slot)) {
            *entry = Some(index as u16);
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

    fn bulk(s: &str) -> Frame {
        Frame::Bulk(s.as_bytes().to_vec())
    }

    fn node(id: &str, ip: &str, port: i64, role: &str, health: &str) -> Frame {
        Frame::Array(vec![
            bulk("id"),
            bulk(id),
            bulk("port"),
            Frame::Integer(port),
            bulk("ip"),
            bulk(ip),
            bulk("role"),
            bulk(role),
            bulk("health"),
            bulk(health),
        ])
    }

    fn shard(ranges: &[i64], nodes: Vec<Frame>) -> Frame {
        Frame::Array(vec![
            bulk("slots"),
            Frame::Array(ranges.iter().map(|&n| Frame::Integer(n)).collect()),
            bulk("nodes"),
            Frame::Array(nodes),
        ])
    }

    #[test]
    fn shards_reply_builds_the_slot_map() {
        let reply = Frame::Array(vec![
            shard(
                &[0, 8191],
                vec![node("a1", "127.0.0.1", 7000, "master", "online"), node("b1", "", 7003, "replica", "online")],
            ),
            shard(&[8192, 16383], vec![node("c1", "127.0.0.1", 7001, "master", "online")]),
        ]);
        let topo = Topology::from_shards(&reply, &Endpoint::tcp("10.0.0.9", 7000)).unwrap();
        assert_eq!(topo.owner(0), Some(&Endpoint::tcp("127.0.0.1", 7000)));
        assert_eq!(topo.owner(16383), Some(&Endpoint::tcp("127.0.0.1", 7001)));
        assert_eq!(topo.replicas(5)[0].endpoint, Endpoint::tcp("10.0.0.9", 7003), "empty ip means the asked host");
        assert_eq!(topo.primaries().len(), 2);
        assert_eq!(topo.uncovered_slots(), 0);
        assert_eq!(topo.node_by_id_prefix("c").map(|n| n.endpoint.to_string()), Some("127.0.0.1:7001".into()));
    }

    #[test]
    fn a_failed_old_primary_does_not_shadow_the_promoted_one() {
        let reply = Frame::Array(vec![shard(
            &[0, 16383],
            vec![
                node("old", "127.0.0.1", 7000, "master", "failed"),
                node("new", "127.0.0.1", 7003, "master", "online"),
            ],
        )]);
        let topo = Topology::from_shards(&reply, &Endpoint::tcp("127.0.0.1", 7003)).unwrap();
        assert_eq!(topo.owner(42), Some(&Endpoint::tcp("127.0.0.1", 7003)));
    }

    fn tls_node(fields: &[(&str, Frame)]) -> Frame {
        Frame::Array(fields.iter().flat_map(|(k, v)| [bulk(k), v.clone()]).collect())
    }

    #[test]
    fn tls_ports_announced_endpoints_and_hostnames() {
        let asked = Endpoint::tcp("seed.example", 7000);
        let reply = Frame::Array(vec![shard(
            &[0, 16383],
            vec![
                // TLS only: no `port` at all.
                tls_node(&[
                    ("id", bulk("a")),
                    ("tls-port", Frame::Integer(8000)),
                    ("ip", bulk("10.0.0.1")),
                    ("endpoint", bulk("node-a.example")),
                    ("hostname", bulk("node-a.example")),
                    ("role", bulk("master")),
                ]),
                // Both ports, `port 0` elsewhere, `?` endpoint, IPv6.
                tls_node(&[
                    ("id", bulk("b")),
                    ("port", Frame::Integer(7001)),
                    ("tls-port", Frame::Integer(8001)),
                    ("endpoint", bulk("?")),
                    ("role", bulk("replica")),
                ]),
                tls_node(&[
                    ("id", bulk("c")),
                    ("port", Frame::Integer(0)),
                    ("tls-port", Frame::Integer(8002)),
                    ("endpoint", bulk("::1")),
                    ("role", bulk("replica")),
                ]),
                // Hostile values: a host with an escape sequence, a port out of range.
                tls_node(&[("id", bulk("d")), ("port", Frame::Integer(7003)), ("endpoint", bulk("x\x1b[2J"))]),
                tls_node(&[("id", bulk("e")), ("port", Frame::Integer(70000)), ("endpoint", bulk("10.0.0.5"))]),
            ],
        )]);
        let tls = Topology::from_shards_via(&reply, &asked, true).unwrap();
        let primary = tls.shards[0].primary.clone().unwrap();
        assert_eq!(primary.endpoint, Endpoint::tcp("node-a.example", 8000));
        assert_eq!(primary.hostname.as_deref(), Some("node-a.example"));
        let replicas: Vec<String> = tls.replicas(0).iter().map(|n| n.endpoint.to_string()).collect();
        assert_eq!(replicas, ["seed.example:8001", "[::1]:8002"], "? is the asked host; bad nodes are left out");

        let plain = Topology::from_shards(&reply, &asked).unwrap();
        let ids: Vec<&str> = plain.all_nodes().iter().map(|n| n.id.as_str()).collect();
        assert_eq!(ids, ["b"], "a plain connection uses `port`; TLS-only and port-0 nodes have none");
        assert_eq!(plain.all_nodes()[0].endpoint, Endpoint::tcp("seed.example", 7001));
    }

    #[test]
    fn slots_reply_with_hostname_metadata_and_unknown_endpoints() {
        let asked = Endpoint::tcp("10.9.9.9", 7000);
        let meta = |pairs: &[(&str, &str)]| Frame::Map(pairs.iter().map(|(k, v)| (bulk(k), bulk(v))).collect());
        let reply = Frame::Array(vec![
            Frame::Array(vec![
                Frame::Integer(0),
                Frame::Integer(8191),
                Frame::Array(vec![
                    bulk("127.0.0.1"),
                    Frame::Integer(7001),
                    bulk("a"),
                    meta(&[("hostname", "a.example")]),
                ]),
                Frame::Array(vec![Frame::Null, Frame::Integer(7002), bulk("b"), meta(&[("ip", "127.0.0.1")])]),
            ]),
            Frame::Array(vec![
                Frame::Integer(8192),
                Frame::Integer(16383),
                Frame::Array(vec![bulk("?"), Frame::Integer(7003), bulk("c"), Frame::Array(vec![])]),
                Frame::Array(vec![bulk("127.0.0.1"), Frame::Integer(0), bulk("d")]),
            ]),
        ]);
        let topo = Topology::from_slots(&reply, &asked).unwrap();
        let primary = topo.shards[0].primary.clone().unwrap();
        assert_eq!(
            (primary.endpoint.to_string(), primary.hostname.as_deref()),
            ("127.0.0.1:7001".into(), Some("a.example"))
        );
        assert_eq!(topo.replicas(0)[0].endpoint, Endpoint::tcp("10.9.9.9", 7002), "NULL: the node asked");
        assert_eq!(topo.owner(9000), Some(&Endpoint::tcp("10.9.9.9", 7003)), "? : the node asked");
        assert!(topo.replicas(9000).is_empty(), "port 0 is no endpoint");
    }

    #[test]
    fn slots_reply_and_moved() {
        let entry = |a, b, port| {
            Frame::Array(vec![
                Frame::Integer(a),
                Frame::Integer(b),
                Frame::Array(vec![bulk("127.0.0.1"), Frame::Integer(port), bulk("id")]),
            ])
        };
        let reply = Frame::Array(vec![
            entry(0, 100, 7000),
            entry(101, 199, 7001),
            entry(200, 200, 7000),
            entry(201, 16383, 7001),
        ]);
        let mut topo = Topology::from_slots(&reply, &Endpoint::tcp("127.0.0.1", 7000)).unwrap();
        assert_eq!(topo.shards.len(), 2);
        assert_eq!(topo.owner(200), Some(&Endpoint::tcp("127.0.0.1", 7000)));
        topo.apply_moved(5, &Endpoint::tcp("127.0.0.1", 7009));
        assert_eq!(topo.owner(5), Some(&Endpoint::tcp("127.0.0.1", 7009)));
        assert_eq!(topo.owner(6), Some(&Endpoint::tcp("127.0.0.1", 7000)));
    }
}
