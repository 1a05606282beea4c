//! What `:nodes` and `:map` show of a cluster too big for one screen (more than
//! [`SMALL`] nodes, or primaries for `:map`): a few summary lines grouped by shard, and
//! which nodes a word picks for the details (`:nodes 127.0.0.1:7003`, `:nodes replica`,
//! `:nodes loading`, `:map 7001`). Pure: it reads the slot map only (whose ids, health
//! and zones were escaped when it was read); cluster_view.rs asks the nodes and draws.

use std::collections::{BTreeMap, HashSet};

use crate::cluster::topology::{Node, Topology};
use crate::endpoint::Endpoint;
use crate::protocol::text::escape_controls;

/// Up to this many nodes (primaries for `:map`), every one is listed as before.
pub const SMALL: usize = 12;

/// Addresses named in one summary line before `and N more`.
const NAMED: usize = 6;

/// Whether `node` answers to `word`: `primary`/`replica` (and their plurals, `master`,
/// `slave`), part of its address, 4+ leading characters of its id, its health or its
/// zone (any case).
pub fn matches(node: &Node, word: &str) -> bool {
    let lower = word.to_ascii_lowercase();
    match lower.as_str() {
        "primary" | "primaries" | "master" | "masters" => return node.primary,
        "replica" | "replicas" | "slave" | "slaves" => return !node.primary,
        _ => {}
    }
    node.endpoint.to_string().contains(word)
        || node.hostname.as_deref().is_some_and(|h| h.contains(word))
        || (lower.len() >= 4 && node.id.to_ascii_lowercase().starts_with(&lower))
        || node.health.eq_ignore_ascii_case(word)
        || node.zone.as_deref().is_some_and(|z| z.eq_ignore_ascii_case(word))
}

/// The nodes of `nodes` that `word` picks: the one whose address it is, exactly, when
/// there is one (`127.0.0.1:7000` is not also `127.0.0.1:70001`), else every match.
pub fn pick<'a>(nodes: &[&'a Node], word: &str) -> HashSet<&'a Endpoint> {
    let exact: HashSet<&Endpoint> =
        nodes.iter().filter(|n| n.endpoint.to_string() == word).map(|n| &n.endpoint).collect();
    if !exact.is_empty() {
        return exact;
    }
    nodes.iter().filter(|n| matches(n, word)).map(|n| &n.endpoint).collect()
}

/// The line for a word that picked nothing.
pub fn no_match(command: &str, word: &str) -> String {
    format!("no node matches '{}' ({command} alone for the summary)", escape_controls(word, false))
}

/// `count` things and the first few addresses of `endpoints`.
fn named(endpoints: &[String]) -> String {
    let mut text = endpoints.iter().take(NAMED).cloned().collect::<Vec<_>>().join(", ");
    if endpoints.len() > NAMED {
        text.push_str(&format!(" and {} more", endpoints.len() - NAMED));
    }
    text
}

fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

/// `:nodes` of a big cluster: the counts, the shards grouped by how many replicas they
/// have, the nodes whose health is not `online` by state, the zones, and how to see
/// details.
pub fn nodes_summary(topology: &Topology) -> Vec<String> {
    let shards = topology.shards_in_slot_order();
    let all = topology.all_nodes();
    let primaries = all.iter().filter(|n| n.primary).count();
    let mut lines = vec![format!(
        "{} in {}: {}, {}; {} of 16384 slots served",
        plural(all.len(), "node", "nodes"),
        plural(shards.len(), "shard", "shards"),
        plural(primaries, "primary", "primaries"),
        plural(all.len() - primaries, "replica", "replicas"),
        16384 - topology.uncovered_slots()
    )];
    let mut by_replicas: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let mut headless = Vec::new();
    for shard in &shards {
        match &shard.primary {
            Some(primary) => by_replicas.entry(shard.replicas.len()).or_default().push(primary.endpoint.to_string()),
            None => headless.extend(shard.replicas.iter().map(|r| r.endpoint.to_string())),
        }
    }
    let groups: Vec<String> = by_replicas
        .iter()
        .map(|(replicas, shards)| {
            let head = format!(
                "{} with {}",
                plural(shards.len(), "shard", "shards"),
                plural(*replicas, "replica", "replicas")
            );
            // Shapes shared by most shards are counted; rare ones are named.
            if by_replicas.len() > 1 && shards.len() <= NAMED { format!("{head} ({})", named(shards)) } else { head }
        })
        .collect();
    lines.push(format!("  shards: {}", groups.join("; ")));
    if !headless.is_empty() {
        lines.push(format!("  without a primary: {}", named(&headless)));
    }
    let mut by_health: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for node in &all {
        by_health.entry(node.health.as_str()).or_default().push(node.endpoint.to_string());
    }
    let healthy = by_health.get("online").map_or(0, Vec::len);
    let mut health = vec![format!("{healthy} online")];
    health.extend(
        by_health
            .iter()
            .filter(|(state, _)| **state != "online")
            .map(|(state, nodes)| format!("{} {state}: {}", nodes.len(), named(nodes))),
    );
    lines.push(format!("  health (as the cluster reports it): {}", health.join("; ")));
    let mut zones: BTreeMap<&str, usize> = BTreeMap::new();
    for node in &all {
        if let Some(zone) = &node.zone {
            *zones.entry(zone.as_str()).or_default() += 1;
        }
    }
    if !zones.is_empty() {
        let zones: Vec<String> = zones.iter().map(|(zone, count)| format!("{zone} {count}")).collect();
        lines.push(format!("  zones: {}", zones.join(", ")));
    }
    lines.push(
        "details (keys, links): :nodes HOST:PORT, or a word: part of an address, 4+ characters of an id, \
         primary, replica, a health state, a zone"
            .to_string(),
    );
    lines
}

/// `:map` of a big cluster, after its bar: how the slots are shared among the primaries.
pub fn map_summary(topology: &Topology) -> Vec<String> {
    let owners: Vec<(usize, usize)> = topology
        .shards
        .iter()
        .filter(|s| s.primary.is_some() && !s.ranges.is_empty())
        .map(|s| (s.slot_count(), s.ranges.len()))
        .collect();
    let fewest = owners.iter().map(|(slots, _)| *slots).min().unwrap_or(0);
    let most = owners.iter().map(|(slots, _)| *slots).max().unwrap_or(0);
    let ranges: usize = owners.iter().map(|(_, ranges)| ranges).sum();
    let idle = topology.primaries().len().saturating_sub(owners.len());
    let mut lines = vec![format!(
        "  {} own {} of 16384 slots in {}: {fewest} to {most} slots each",
        plural(owners.len(), "primary", "primaries"),
        16384 - topology.uncovered_slots(),
        plural(ranges, "range", "ranges"),
    )];
    if idle > 0 {
        lines.push(format!("  {} without slots", plural(idle, "primary", "primaries")));
    }
    lines.push("details: :map HOST:PORT, or part of primaries' addresses".to_string());
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::topology::Shard;

    fn node(port: u16, primary: bool, health: &str) -> Node {
        Node {
            id: format!("{port:08x}{}", "0".repeat(32)),
            endpoint: Endpoint::tcp("127.0.0.1", port),
            primary,
            health: health.into(),
            hostname: None,
            zone: None,
        }
    }

    /// `shards` primaries on ports 7000, 7002…, each with a replica on the next port
    /// (7001 loading), the slots shared evenly.
    fn cluster(shards: u16) -> Topology {
        let per = 16384 / shards;
        Topology::new(
            (0..shards)
                .map(|i| {
                    let port = 7000 + 2 * i;
                    let last = if i + 1 == shards { 16383 } else { (i + 1) * per - 1 };
                    let health = if port == 7000 { "loading" } else { "online" };
                    Shard {
                        primary: Some(node(port, true, "online")),
                        replicas: vec![node(port + 1, false, health)],
                        ranges: vec![(i * per, last)],
                    }
                })
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn a_big_cluster_fits_a_few_lines() {
        let lines = nodes_summary(&cluster(150));
        assert_eq!(lines[0], "300 nodes in 150 shards: 150 primaries, 150 replicas; 16384 of 16384 slots served");
        assert_eq!(lines[1], "  shards: 150 shards with 1 replica");
        assert_eq!(lines[2], "  health (as the cluster reports it): 299 online; 1 loading: 127.0.0.1:7001");
        assert!(lines[3].starts_with("details"), "{lines:?}");
        assert_eq!(lines.len(), 4);
        let map = map_summary(&cluster(150));
        assert_eq!(map[0], "  150 primaries own 16384 of 16384 slots in 150 ranges: 109 to 143 slots each");
    }

    #[test]
    fn a_word_picks_nodes_and_an_address_only_its_node() {
        let topology = cluster(40);
        let all = topology.all_nodes();
        let ports = |word: &str| {
            let mut ports: Vec<u16> = pick(&all, word)
                .into_iter()
                .filter_map(|e| match e {
                    Endpoint::Tcp { port, .. } => Some(*port),
                    Endpoint::Unix(_) => None,
                })
                .collect();
            ports.sort();
            ports
        };
        assert_eq!(ports("127.0.0.1:7003"), [7003]);
        assert_eq!(ports("7003"), [7003]);
        assert_eq!(ports(":706"), (7060..7070).collect::<Vec<_>>());
        assert_eq!(ports("LOADING"), [7001]);
        assert_eq!(ports("replica").len(), 40);
        assert_eq!(ports("00001b5a"), [7002]);
        assert_eq!(ports("0000").len(), 80, "4 characters of an id: every id starts so here");
        assert!(ports("nothing").is_empty());
        assert_eq!(no_match(":nodes", "x\x1b"), "no node matches 'x\\x1b' (:nodes alone for the summary)");
    }
}
