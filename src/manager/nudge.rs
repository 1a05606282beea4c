//! Hurrying gossip while the manager waits for nodes to agree (create's join and
//! roles, add-node's join; docs/cluster-manager.md, "create"). A node takes what another
//! node says of itself (its slots, its role, its primary) only from a message of that
//! node, and with hundreds of nodes a given pair exchanges one every few seconds to
//! minutes. `CLUSTER MEET` sent to node S naming node V makes S send V a MEET at once,
//! and V reads S's header from it: if V does not know S yet it starts a handshake with
//! it, else it takes S's slots and role from it. So for each pair (viewer V, subject S)
//! whose view is behind, S is told to MEET V: each pair at most once in [`AGAIN_AFTER`],
//! at most [`PER_NODE`] × the nodes' count MEETs a round, every subject's MEETs in one
//! pipelined exchange, the subjects at once on the run's workers. Only the nodes being
//! waited for are named, and only to each other: for create the addresses the operator
//! gave, for add-node the new node and the members the load found (which already know
//! each other, so a MEET among them starts no new membership). An error or a dead node
//! only costs the wait its natural pace (each exchange within the link's timeout): the
//! nudges hurry, the waits decide.

use std::collections::HashMap;
use std::net::ToSocketAddrs;
use std::time::{Duration, Instant};

use crate::endpoint::Endpoint;

use super::Manager;
use super::model::Node;

/// The least time between two nudges of one pair (a handshake takes a round trip and a
/// cron tick of the node, 100 ms).
pub const AGAIN_AFTER: Duration = Duration::from_secs(2);

/// MEETs a round, per node waited for: 300 nodes start with ~90,000 pairs to meet;
/// this spreads them over rounds so the nodes keep answering the wait's polls.
pub const PER_NODE: usize = 32;

/// The `CLUSTER MEET` that names `node`: its IP (MEET takes no host names), port, and
/// bus port when it is not port + 10000. `None` when the host does not resolve.
pub fn meet_command(node: &Node) -> Option<Vec<String>> {
    let ip = (node.host.as_str(), node.port).to_socket_addrs().ok()?.next()?.ip().to_string();
    let mut out = vec!["CLUSTER".to_string(), "MEET".to_string(), ip, node.port.to_string()];
    if let Some(bus) = node.bus_port.filter(|b| *b != 0 && u32::from(*b) != u32::from(node.port) + 10000) {
        out.push(bus.to_string());
    }
    Some(out)
}

/// The nudges of one wait: each node's endpoint and the MEET that names it, and when
/// each pair was last nudged.
pub struct Nudger {
    endpoints: Vec<Endpoint>,
    meets: Vec<Option<Vec<String>>>,
    last: HashMap<(usize, usize), Instant>,
}

impl Nudger {
    /// For the nodes waited for, in the order the waits index them.
    pub fn new(nodes: &[Node]) -> Nudger {
        Nudger {
            endpoints: nodes.iter().map(Node::endpoint).collect(),
            meets: nodes.iter().map(meet_command).collect(),
            last: HashMap::new(),
        }
    }

    /// Which of `behind` (viewer, subject) pairs to nudge now: not nudged within
    /// [`AGAIN_AFTER`], never nudged first, at most the round's budget; per subject, the
    /// MEETs naming its viewers.
    pub fn choose(&mut self, behind: &[(usize, usize)], now: Instant) -> Vec<(usize, Vec<Vec<String>>)> {
        let budget = PER_NODE.saturating_mul(self.endpoints.len().max(1));
        let mut due: Vec<(Option<Instant>, usize, usize)> = behind
            .iter()
            .filter(|(viewer, subject)| viewer != subject && self.meets.get(*viewer).is_some_and(Option::is_some))
            .map(|&(viewer, subject)| (self.last.get(&(viewer, subject)).copied(), viewer, subject))
            .filter(|(last, _, _)| last.is_none_or(|t| now.saturating_duration_since(t) >= AGAIN_AFTER))
            .collect();
        due.sort_unstable();
        due.dedup_by_key(|(_, viewer, subject)| (*viewer, *subject));
        due.truncate(budget);
        let mut per_subject: HashMap<usize, Vec<Vec<String>>> = HashMap::new();
        for (_, viewer, subject) in due {
            let Some(Some(meet)) = self.meets.get(viewer) else { continue };
            self.last.insert((viewer, subject), now);
            per_subject.entry(subject).or_default().push(meet.clone());
        }
        let mut out: Vec<(usize, Vec<Vec<String>>)> = per_subject.into_iter().collect();
        out.sort_unstable_by_key(|(subject, _)| *subject);
        out
    }

    /// Nudges the chosen pairs of `behind` (see [`Nudger::choose`]); what the nodes
    /// answer is not read further than the exchange (a refused MEET only leaves gossip
    /// its own pace).
    pub fn nudge(&mut self, m: &mut Manager, behind: &[(usize, usize)]) {
        let chosen = self.choose(behind, Instant::now());
        if chosen.is_empty() {
            return;
        }
        let mut meets: HashMap<Endpoint, Vec<Vec<String>>> = HashMap::new();
        for (subject, argvs) in chosen {
            if let Some(endpoint) = self.endpoints.get(subject) {
                meets.entry(endpoint.clone()).or_default().extend(argvs);
            }
        }
        let subjects: Vec<Endpoint> = meets.keys().cloned().collect();
        super::parallel::each_node(&m.template, &mut m.link, &subjects, |link, node| {
            if let Some(argvs) = meets.get(node) {
                let _ = link.pipeline(node, argvs);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::nodes_reply::NodeHead;
    use crate::manager::model::NodeLine;

    fn node(port: u16) -> Node {
        Node::from_line(&NodeLine {
            head: NodeHead {
                id: format!("{port:040}"),
                host: "127.0.0.1".into(),
                port,
                bus_port: Some(if port == 3 { 7000 } else { port + 10000 }),
                flags: vec!["master".into()],
                master: None,
                config_epoch: 0,
                link_connected: true,
            },
            slots: Default::default(),
            migrating: Vec::new(),
            importing: Vec::new(),
        })
    }

    #[test]
    fn each_subject_is_told_to_meet_its_viewers_once_in_a_while() {
        let mut nudger = Nudger::new(&[node(1), node(2), node(3)]);
        let now = Instant::now();
        let chosen = nudger.choose(&[(0, 1), (2, 1), (1, 0), (1, 1)], now);
        let meet = |port: &str| vec!["CLUSTER".to_string(), "MEET".into(), "127.0.0.1".into(), port.to_string()];
        let mut bus = meet("3");
        bus.push("7000".into());
        assert_eq!(chosen, vec![(0, vec![meet("2")]), (1, vec![meet("1"), bus.clone()])]);
        // Nudged pairs wait their turn; a new pair does not.
        assert_eq!(nudger.choose(&[(0, 1), (2, 0)], now + Duration::from_millis(500)), vec![(0, vec![bus])]);
        assert_eq!(nudger.choose(&[(0, 1)], now + AGAIN_AFTER).len(), 1);
    }

    #[test]
    fn a_round_nudges_at_most_its_budget_oldest_first() {
        let nodes: Vec<Node> = (1..=2).map(node).collect();
        let mut nudger = Nudger::new(&nodes);
        let many: Vec<(usize, usize)> = (0..1000).map(|i| (i % 2, 1 - i % 2)).collect();
        let count = |chosen: &[(usize, Vec<Vec<String>>)]| chosen.iter().map(|(_, v)| v.len()).sum::<usize>();
        // Two distinct pairs only: duplicates of a pair are one nudge.
        assert_eq!(count(&nudger.choose(&many, Instant::now())), 2);
        let wide: Vec<Node> = (1..=200).map(node).collect();
        let mut nudger = Nudger::new(&wide);
        let pairs: Vec<(usize, usize)> = (0..200).flat_map(|v| (0..200).map(move |s| (v, s))).collect();
        let now = Instant::now();
        let first = count(&nudger.choose(&pairs, now));
        assert_eq!(first, 200 * PER_NODE);
        let second = count(&nudger.choose(&pairs, now + Duration::from_millis(100)));
        assert_eq!(second, 200 * PER_NODE, "the next round takes pairs never nudged");
    }
}
