//! Which node serves a read when reads may go to replicas (`--read-from-replicas`,
//! `:readonly on`), optionally preferring an availability zone (`--az`, `:set az`): one
//! pure function over the slot map. The client keeps only the turn counter that spreads
//! reads over the replicas it may choose from.

use crate::cluster::topology::{Node, Topology};

/// True for a node the cluster says has failed (`fail`, `failed`): never read from.
fn failed(node: &Node) -> bool {
    matches!(node.health.as_str(), "fail" | "failed")
}

/// The replica that serves a read of `slot`, or `None` when the slot's shard has no
/// usable replica (the primary serves it then). The candidates are the shard's replicas
/// that have not failed; when `zone` is given and some of them announce that zone, only
/// those. `turn` picks among the candidates in rotation (the caller counts reads).
pub fn read_replica<'a>(topology: &'a Topology, slot: u16, zone: Option<&str>, turn: usize) -> Option<&'a Node> {
    let usable: Vec<&Node> = topology.replicas(slot).into_iter().filter(|n| !failed(n)).collect();
    let in_zone: Vec<&Node> =
        zone.map(|z| usable.iter().copied().filter(|n| n.zone.as_deref() == Some(z)).collect()).unwrap_or_default();
    let candidates = if in_zone.is_empty() { usable } else { in_zone };
    let count = candidates.len();
    if count == 0 {
        return None;
    }
    candidates.get(turn % count).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::topology::Shard;
    use crate::endpoint::Endpoint;

    fn node(port: u16, primary: bool, zone: Option<&str>, health: &str) -> Node {
        Node {
            id: format!("id{port}"),
            endpoint: Endpoint::tcp("127.0.0.1", port),
            primary,
            health: health.into(),
            hostname: None,
            zone: zone.map(String::from),
        }
    }

    /// Slots 0-99: a primary in az-1 with replicas in az-1, az-2 and az-2; 100-199: a
    /// primary with one failed replica in az-2; 200-16383: a primary and a replica
    /// without zones.
    fn topology() -> Topology {
        Topology::new(vec![
            Shard {
                primary: Some(node(7000, true, Some("az-1"), "online")),
                replicas: vec![
                    node(7010, false, Some("az-1"), "online"),
                    node(7011, false, Some("az-2"), "online"),
                    node(7012, false, Some("az-2"), "online"),
                ],
                ranges: vec![(0, 99)],
            },
            Shard {
                primary: Some(node(7001, true, Some("az-2"), "online")),
                replicas: vec![node(7013, false, Some("az-2"), "fail")],
                ranges: vec![(100, 199)],
            },
            Shard {
                primary: Some(node(7002, true, None, "online")),
                replicas: vec![node(7014, false, None, "online")],
                ranges: vec![(200, 16383)],
            },
        ])
        .unwrap()
    }

    fn ports(topology: &Topology, slot: u16, zone: Option<&str>) -> Vec<Option<u16>> {
        (0..4)
            .map(|turn| {
                read_replica(topology, slot, zone, turn).and_then(|n| match &n.endpoint {
                    Endpoint::Tcp { port, .. } => Some(*port),
                    _ => None,
                })
            })
            .collect()
    }

    #[test]
    fn a_zone_narrows_the_replicas_when_it_has_any() {
        let topo = topology();
        assert_eq!(ports(&topo, 5, None), [Some(7010), Some(7011), Some(7012), Some(7010)], "every replica in turn");
        assert_eq!(ports(&topo, 5, Some("az-2")), [Some(7011), Some(7012), Some(7011), Some(7012)]);
        assert_eq!(ports(&topo, 5, Some("az-1")), [Some(7010); 4], "the primary's zone-mate is a replica too");
        assert_eq!(ports(&topo, 5, Some("az-9")), ports(&topo, 5, None), "no replica there: as without a zone");
        assert_eq!(ports(&topo, 5000, Some("az-1")), [Some(7014); 4], "replicas without zones still serve");
    }

    #[test]
    fn failed_replicas_never_serve_and_no_replica_means_the_primary() {
        let topo = topology();
        assert_eq!(ports(&topo, 150, Some("az-2")), [None; 4]);
        assert_eq!(ports(&topo, 150, None), [None; 4]);
        assert_eq!(read_replica(&Topology::empty(), 5, None, 0), None);
    }
}
