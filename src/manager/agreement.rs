//! `create`'s last wait (docs/cluster-manager.md, "create"): once slots are assigned,
//! the nodes have met and the replicas were told their primaries, rcli returns only
//! when every node's `CLUSTER NODES` says the same as the plan: each node known (not in
//! handshake, not failed), each primary with its planned slots, each replica attached
//! to its planned primary. Every node is asked at once (bounded threads) every 100 ms
//! or so; the wait is bounded (`--cluster-join-timeout`, else twice the node timeout
//! and 30 s more, at least 60 s). The judging is pure ([`disagreement`]).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::endpoint::Endpoint;

use super::Manager;
use super::link::{error_of, reply_text};
use super::model::{Node, owned_ranges, parse_node_head};

/// What the plan says of one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub id: String,
    pub addr: String,
    /// Its slots as merged ascending ranges (empty for a replica).
    pub slots: Vec<(u16, u16)>,
    /// The primary's id, for a replica.
    pub primary: Option<String>,
}

impl Planned {
    pub fn of(node: &Node) -> Planned {
        let primary = node.replicate.clone();
        let slots = if primary.is_some() { Vec::new() } else { node.slots.ranges() };
        Planned { id: node.id.clone(), addr: node.addr(), slots, primary }
    }
}

/// Ascending ranges with touching ones merged.
fn merged(mut ranges: Vec<(u16, u16)>) -> Vec<(u16, u16)> {
    ranges.sort_unstable();
    let mut out: Vec<(u16, u16)> = Vec::new();
    for (a, b) in ranges {
        match out.last_mut() {
            Some((_, end)) if u32::from(a) <= u32::from(*end) + 1 => *end = (*end).max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// How one node's view (`CLUSTER NODES` text) differs from the plan: `None` when it
/// agrees on every planned node's presence, role, primary and slots.
pub fn disagreement(view: &str, plan: &[Planned]) -> Option<String> {
    let mut lines = HashMap::new();
    for line in view.lines() {
        if let Some((head, tokens)) = parse_node_head(line) {
            let ranges = merged(owned_ranges(&tokens));
            lines.insert(head.id.clone(), (head, ranges));
        }
    }
    for node in plan {
        let Some((head, ranges)) = lines.get(&node.id) else {
            return Some(format!("does not know {} yet", node.addr));
        };
        if let Some(flag) = ["handshake", "noaddr", "fail", "fail?"].iter().find(|f| head.has_flag(f)) {
            return Some(format!("sees {} as {flag}", node.addr));
        }
        match &node.primary {
            Some(primary) if !head.has_flag("slave") || head.master.as_ref() != Some(primary) => {
                return Some(format!("does not see {} as a replica of {primary} yet", node.addr));
            }
            None if head.has_flag("slave") || !head.has_flag("master") => {
                return Some(format!("does not see {} as a primary yet", node.addr));
            }
            _ => {}
        }
        if *ranges != node.slots {
            return Some(format!("does not see {} with its planned slots yet", node.addr));
        }
    }
    None
}

/// The wait's bound: `--cluster-join-timeout`, else twice the node timeout the first
/// node reports and 30 s more (gossip reaches every node within about half a node
/// timeout), at least 60 s.
fn limit(m: &mut Manager, first: &Endpoint) -> Duration {
    if let Some(seconds) = m.opts.join_timeout_s {
        return Duration::from_secs(seconds);
    }
    let node_timeout_ms = m
        .link
        .cmd(first, &["CONFIG", "GET", "cluster-node-timeout"])
        .ok()
        .filter(|r| error_of(r).is_none())
        .and_then(|r| r.as_items().and_then(|items| items.get(1)).map(reply_text))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(15_000)
        .min(3_600_000);
    Duration::from_millis(node_timeout_ms.saturating_mul(2).saturating_add(30_000)).max(Duration::from_secs(60))
}

/// Waits until every planned node agrees with the plan (`retry` runs before each
/// round: what could not be applied yet is tried again). Nodes that agreed are asked
/// again only in the final round, which must find all of them agreeing. False (said on
/// stderr) when the bound passes or Ctrl-C stops the wait.
pub fn wait(m: &mut Manager, retry: &mut dyn FnMut(&mut Manager)) -> bool {
    let plan: Vec<Planned> = m.cluster.nodes.iter().map(Planned::of).collect();
    let endpoints: Vec<Endpoint> = m.cluster.nodes.iter().map(Node::endpoint).collect();
    let Some(first) = endpoints.first().cloned() else { return true };
    let limit = limit(m, &first);
    let started = Instant::now();
    let mut pending: Vec<usize> = (0..endpoints.len()).collect();
    let mut last = String::new();
    loop {
        retry(m);
        let round_started = Instant::now();
        let final_round = pending.is_empty();
        let asked: Vec<usize> = if final_round { (0..endpoints.len()).collect() } else { pending.clone() };
        let targets: Vec<Endpoint> = asked.iter().filter_map(|&i| endpoints.get(i).cloned()).collect();
        let verdicts = super::parallel::each_node(&m.template, &mut m.link, &targets, |link, node| {
            match link.cmd(node, &["CLUSTER", "NODES"]) {
                Ok(reply) if error_of(&reply).is_none() => disagreement(&reply_text(&reply), &plan),
                Ok(reply) => Some(format!("answers {}", error_of(&reply).unwrap_or_default())),
                Err(e) => Some(format!("does not answer ({e})")),
            }
        });
        pending.clear();
        for (&index, verdict) in asked.iter().zip(verdicts) {
            if let Some(why) = verdict {
                let addr = plan.get(index).map(|p| p.addr.as_str()).unwrap_or_default();
                last = format!("{addr} {why}");
                pending.push(index);
            }
        }
        if final_round && pending.is_empty() {
            return true;
        }
        if m.stop.load(std::sync::atomic::Ordering::SeqCst) || started.elapsed() > limit {
            m.report.note(&format!(
                "rcli: the nodes did not all agree on slots and roles within {} s ({last}); the configuration is applied, gossip has not reached every node yet",
                limit.as_secs()
            ));
            return false;
        }
        // Polling costs the nodes and this machine: at most half the time asking.
        std::thread::sleep(round_started.elapsed().max(Duration::from_millis(100)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn plan() -> Vec<Planned> {
        vec![
            Planned { id: A.into(), addr: "h:1".into(), slots: vec![(0, 16383)], primary: None },
            Planned { id: B.into(), addr: "h:2".into(), slots: vec![], primary: Some(A.into()) },
        ]
    }

    #[test]
    fn a_view_agrees_only_with_every_role_primary_and_slot_as_planned() {
        let good = format!(
            "{A} 127.0.0.1:1@11 myself,master - 0 0 1 connected 0-100 101-16383\n{B} 127.0.0.1:2@12 slave {A} 0 0 1 connected\n"
        );
        assert_eq!(disagreement(&good, &plan()), None);
        let still_primary = format!(
            "{A} 127.0.0.1:1@11 myself,master - 0 0 1 connected 0-16383\n{B} 127.0.0.1:2@12 master - 0 0 2 connected\n"
        );
        assert!(disagreement(&still_primary, &plan()).unwrap().contains("as a replica of"));
        let missing_slots = format!(
            "{A} 127.0.0.1:1@11 myself,master - 0 0 1 connected 0-100\n{B} 127.0.0.1:2@12 slave {A} 0 0 1 connected\n"
        );
        assert!(disagreement(&missing_slots, &plan()).unwrap().contains("planned slots"));
        let unknown = format!("{A} 127.0.0.1:1@11 myself,master - 0 0 1 connected 0-16383\n");
        assert!(disagreement(&unknown, &plan()).unwrap().contains("does not know h:2"));
        let shaking = format!(
            "{A} 127.0.0.1:1@11 myself,master - 0 0 1 connected 0-16383\n{B} 127.0.0.1:2@12 handshake - 0 0 0 connected\n"
        );
        assert!(disagreement(&shaking, &plan()).unwrap().contains("handshake"));
    }

    #[test]
    fn ranges_merge_when_they_touch() {
        assert_eq!(merged(vec![(5, 9), (0, 4), (11, 12)]), [(0, 9), (11, 12)]);
    }
}
