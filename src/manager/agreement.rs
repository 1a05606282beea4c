//! `create`'s last wait (docs/cluster-manager.md, "create"): once slots are assigned,
//! the nodes have met and the replicas were told their primaries, rcli returns only
//! when every node's `CLUSTER NODES` says the same as the plan: each node known (not in
//! handshake, not failed), each primary with its planned slots, each replica attached
//! to its planned primary, and each node serving (`cluster_state:ok`). Every node is
//! asked at once (bounded threads) every 100 ms or so; the wait is bounded
//! (`--cluster-join-timeout`, else twice the node timeout and 30 s more, at least 60
//! s). Each round, a node that a view shows otherwise than planned is told to MEET that
//! viewer ([`super::nudge`]): it hears the node's slots and role at once instead of at
//! their next ping. Past the bound, views that have not yet learnt another node's role
//! are a warning, not a failure, when everything else agrees. The judging is pure
//! ([`disagreement`], [`View::behind`]).

use std::time::{Duration, Instant};

use crate::endpoint::Endpoint;

use super::Manager;
use super::link::{error_of, reply_text};
use super::model::Node;
use super::views::{Expected, Role, UNUSABLE, View};

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

    /// What every view should show of it.
    fn expected(&self) -> Expected {
        let role = self.primary.clone().map_or(Role::Primary, Role::ReplicaOf);
        Expected { id: self.id.clone(), addr: self.addr.clone(), slots: self.slots.clone(), role }
    }
}

/// How one node's view differs from the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disagreement {
    /// What it says, e.g. "does not know h:2 yet".
    pub why: String,
    /// Only a node's role differs, in the view of another node: gossip does not carry
    /// roles, so a node learns another's role when the two next exchange a ping
    /// directly (at hundreds of nodes, minutes; a primary learns its own replica's role
    /// the same way).
    pub lagging_role: bool,
}

impl Disagreement {
    /// A difference that fails the wait at the bound.
    fn failing(why: String) -> Disagreement {
        Disagreement { why, lagging_role: false }
    }
}

/// How one node's view (`CLUSTER NODES` text) differs from the plan: `None` when it
/// agrees on every planned node's presence, role, primary and slots. A difference on
/// presence or slots, or on a node's own role in its own view, comes first; a lagging
/// role in another node's view (see [`Disagreement::lagging_role`]) only when there is
/// nothing else.
pub fn disagreement(view: &str, plan: &[Planned]) -> Option<Disagreement> {
    let expected: Vec<Expected> = plan.iter().map(Planned::expected).collect();
    disagreement_in(&View::parse(view), plan, &expected)
}

/// [`disagreement`] of a view already parsed; `expected` is the plan's
/// [`Planned::expected`], made once for every view.
fn disagreement_in(view: &View, plan: &[Planned], expected: &[Expected]) -> Option<Disagreement> {
    let (lines, viewer) = (&view.lines, &view.viewer);
    let hard = |why: String| Some(Disagreement::failing(why));
    // A handshake with a planned node left by a nudge that crossed the node's own
    // handshake: gone within a node timeout at most, and a client reading this view
    // before then would find a node it cannot name.
    if let Some(node) = plan.iter().find(|node| view.meeting.contains(&node.addr)) {
        return hard(format!("is still meeting {}", node.addr));
    }
    let mut lagging = None;
    for (node, want) in plan.iter().zip(expected) {
        let Some((head, ranges)) = lines.get(&node.id) else {
            return hard(format!("does not know {} yet", node.addr));
        };
        if let Some(flag) = UNUSABLE.iter().find(|f| head.has_flag(f)) {
            return hard(format!("sees {} as {flag}", node.addr));
        }
        let role = (!want.role.matches(head)).then(|| match &node.primary {
            Some(primary) => format!("does not see {} as a replica of {primary} yet", node.addr),
            None => format!("does not see {} as a primary yet", node.addr),
        });
        if let Some(why) = role {
            if viewer.as_ref().is_none_or(|me| *me == node.id) {
                return hard(why);
            }
            lagging.get_or_insert(Disagreement { why, lagging_role: true });
        }
        if *ranges != node.slots {
            return hard(format!("does not see {} with its planned slots yet", node.addr));
        }
    }
    lagging
}

/// A node that agrees with the plan but does not serve yet (`CLUSTER INFO` without
/// `cluster_state:ok`: a primary started under 2 s ago waits that long before it
/// serves, and a create that ends within a second would hand over a cluster answering
/// CLUSTERDOWN).
fn not_serving(cluster_info: &str) -> Option<Disagreement> {
    let state = super::link::info_field(cluster_info, "cluster_state").unwrap_or_default();
    (state != "ok").then(|| Disagreement::failing(format!("does not serve yet (cluster_state:{state})")))
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
    let expected: Vec<Expected> = plan.iter().map(Planned::expected).collect();
    let mut nudger = super::nudge::Nudger::new(&m.cluster.nodes);
    let endpoints: Vec<Endpoint> = m.cluster.nodes.iter().map(Node::endpoint).collect();
    let Some(first) = endpoints.first().cloned() else { return true };
    let limit = limit(m, &first);
    let started = Instant::now();
    let mut pending: Vec<usize> = (0..endpoints.len()).collect();
    let mut last = String::new();
    // Set when only lagging roles are left at the bound: every node is asked once more
    // before create says so (earlier rounds' answers may be old).
    let mut closing = false;
    loop {
        retry(m);
        let round_started = Instant::now();
        let final_round = pending.is_empty() || closing;
        let asked: Vec<usize> = if final_round { (0..endpoints.len()).collect() } else { pending.clone() };
        let targets: Vec<Endpoint> = asked.iter().filter_map(|&i| endpoints.get(i).cloned()).collect();
        let verdicts = super::parallel::each_node(&m.template, &mut m.link, &targets, |link, node| {
            let asked = [vec!["CLUSTER", "NODES"], vec!["CLUSTER", "INFO"]];
            match link.pipeline(node, &asked).as_deref() {
                Ok([nodes, info]) if error_of(nodes).is_none() => {
                    let view = View::parse(&reply_text(nodes));
                    let verdict = disagreement_in(&view, &plan, &expected).or_else(|| not_serving(&reply_text(info)));
                    (verdict, view.behind(&expected))
                }
                Ok([nodes, _]) => (
                    Some(Disagreement::failing(format!("answers {}", error_of(nodes).unwrap_or_default()))),
                    Vec::new(),
                ),
                Ok(_) => (Some(Disagreement::failing("answers something else".into())), Vec::new()),
                Err(e) => (Some(Disagreement::failing(format!("does not answer ({e})"))), Vec::new()),
            }
        });
        pending.clear();
        let mut only_roles_lag = true;
        let mut behind = Vec::new();
        for (&index, (verdict, subjects)) in asked.iter().zip(verdicts) {
            behind.extend(subjects.into_iter().map(|subject| (index, subject)));
            if let Some(verdict) = verdict {
                // What is said at the bound: a difference that fails the wait, when any.
                if only_roles_lag || !verdict.lagging_role {
                    let addr = plan.get(index).map(|p| p.addr.as_str()).unwrap_or_default();
                    last = format!("{addr} {}", verdict.why);
                }
                only_roles_lag &= verdict.lagging_role;
                pending.push(index);
            }
        }
        if final_round && pending.is_empty() {
            return true;
        }
        let stopped = m.stop.load(std::sync::atomic::Ordering::SeqCst);
        // Past the bound with nothing pending, the next round (every node) decides.
        let late = started.elapsed() > limit && !pending.is_empty();
        if !stopped && late && only_roles_lag {
            if !final_round {
                closing = true;
                continue;
            }
            // Every node agrees on slots and on its own role; only some views of
            // other nodes' roles lag (docs/cluster-manager.md, "create").
            m.report.warn(&format!(
                "[WARNING] {} of {} nodes do not see every replica's role yet after {} s ({last}): a node learns a replica's role when the two next exchange a ping directly, which gossip does not hurry; every node agrees on slots and on its own role",
                pending.len(),
                endpoints.len(),
                limit.as_secs()
            ));
            return true;
        }
        if stopped || late {
            m.report.note(&format!(
                "rcli: the nodes did not all agree on slots and roles within {} s ({last}); the configuration is applied, gossip has not reached every node yet",
                limit.as_secs()
            ));
            return false;
        }
        nudger.nudge(m, &behind);
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
        let why = |view: &str| disagreement(view, &plan()).map(|d| d.why).unwrap_or_default();
        let still_primary = format!(
            "{A} 127.0.0.1:1@11 myself,master - 0 0 1 connected 0-16383\n{B} 127.0.0.1:2@12 master - 0 0 2 connected\n"
        );
        assert!(why(&still_primary).contains("as a replica of"));
        let missing_slots = format!(
            "{A} 127.0.0.1:1@11 myself,master - 0 0 1 connected 0-100\n{B} 127.0.0.1:2@12 slave {A} 0 0 1 connected\n"
        );
        assert!(why(&missing_slots).contains("planned slots"));
        let unknown = format!("{A} 127.0.0.1:1@11 myself,master - 0 0 1 connected 0-16383\n");
        assert!(why(&unknown).contains("does not know h:2"));
        let shaking = format!(
            "{A} 127.0.0.1:1@11 myself,master - 0 0 1 connected 0-16383\n{B} 127.0.0.1:2@12 handshake - 0 0 0 connected\n"
        );
        assert!(why(&shaking).contains("handshake"));
        // Known and as planned, but also in a handshake under a made-up id (a nudge
        // that crossed the node's own handshake): not yet.
        let mut plan = plan();
        plan[1].addr = "127.0.0.1:2".into();
        let crossed = format!("{good}{} 127.0.0.1:2@12 handshake - 0 0 0 disconnected\n", "d".repeat(40));
        let why = disagreement(&crossed, &plan).map(|d| d.why).unwrap_or_default();
        assert!(why.contains("still meeting 127.0.0.1:2"), "{why}");
    }

    /// Another node's view (its primary's too) that has not yet seen a replica's role
    /// lags (soft); the replica's own view, or a slot difference anywhere, does not.
    #[test]
    fn only_another_nodes_view_of_a_role_lags() {
        const C: &str = "cccccccccccccccccccccccccccccccccccccccc";
        let mut plan = plan();
        plan.push(Planned { id: C.into(), addr: "h:3".into(), slots: vec![], primary: None });
        plan[0].slots = vec![(0, 16383)];
        let view = |me: &str, b_role: &str| {
            let flag = |id: &str| if id == me { "myself," } else { "" };
            format!(
                "{A} 127.0.0.1:1@11 {}master - 0 0 1 connected 0-16383\n{B} 127.0.0.1:2@12 {}{b_role} 0 0 1 connected\n{C} 127.0.0.1:3@13 {}master - 0 0 3 connected\n",
                flag(A),
                flag(B),
                flag(C)
            )
        };
        let lagging = disagreement(&view(C, "master -"), &plan).unwrap();
        assert!(lagging.lagging_role && lagging.why.contains("replica of"), "{lagging:?}");
        assert!(disagreement(&view(A, "master -"), &plan).unwrap().lagging_role);
        assert!(!disagreement(&view(B, "master -"), &plan).unwrap().lagging_role);
        assert_eq!(disagreement(&view(C, &format!("slave {A}")), &plan), None);
        // A slot difference outranks a lagging role in the same view.
        let both = view(C, "master -").replace("0-16383", "0-100");
        assert!(!disagreement(&both, &plan).unwrap().lagging_role);
    }
}
