//! What the sandbox's nodes say about each other at one moment (a census), and what
//! changed between two censuses, worded for a person: a node suspected or marked
//! failed, a replica taking over, a node answering again and as what, the cluster's
//! state. Pure: the watcher (`watcher.rs`) asks the nodes and hands their answers in.

use crate::cluster::nodes_reply::{NodeLine, parse_nodes};
use crate::endpoint::Endpoint;

/// A node's role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Primary,
    /// A replica of the node at this address (when known).
    Replica(Option<Endpoint>),
    Unknown,
}

/// How the other nodes see a node's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Flag {
    Fine,
    /// Some node suspects it (`fail?`, PFAIL).
    Suspected,
    /// Some node marks it failed (`fail`): the cluster agreed.
    Failed,
}

/// One node in a census.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub endpoint: Endpoint,
    pub answering: bool,
    pub role: Role,
    /// Slot ranges it serves (a primary's).
    pub slots: Vec<(u16, u16)>,
    pub flag: Flag,
}

/// Every sandbox node at one moment, and the cluster state most answering nodes report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Census {
    pub nodes: Vec<Seen>,
    pub state_ok: Option<bool>,
}

/// What one node answered: its `CLUSTER NODES` text and whether its `CLUSTER INFO`
/// says `cluster_state:ok`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub nodes: String,
    pub state_ok: Option<bool>,
}

fn endpoint_of(line: &NodeLine) -> Endpoint {
    Endpoint::tcp(&line.head.host, line.head.port)
}

impl Census {
    /// The census of `endpoints` from their answers (`None`: no answer).
    pub fn build(endpoints: &[Endpoint], answers: &[Option<Answer>]) -> Census {
        let views: Vec<Vec<NodeLine>> =
            answers.iter().map(|a| a.as_ref().map(|a| parse_nodes(&a.nodes)).unwrap_or_default()).collect();
        let nodes = endpoints
            .iter()
            .enumerate()
            .map(|(i, endpoint)| {
                let answering = answers.get(i).is_some_and(Option::is_some);
                // Its own line when it answers, else what the first other node says.
                let own = views.get(i).and_then(|v| v.iter().find(|l| l.head.has_flag("myself")));
                let others = views
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .filter_map(|(_, v)| v.iter().find(|l| endpoint_of(l) == *endpoint).map(|l| (l, v)));
                let mut flag = Flag::Fine;
                let mut described: Option<(&NodeLine, &Vec<NodeLine>)> = own.zip(views.get(i));
                for (line, view) in others {
                    if line.head.has_flag("fail") {
                        flag = flag.max(Flag::Failed);
                    } else if line.head.has_flag("fail?") {
                        flag = flag.max(Flag::Suspected);
                    }
                    described = described.or(Some((line, view)));
                }
                let (role, slots) = match described {
                    Some((line, _)) if line.head.has_flag("master") => (Role::Primary, line.slots.ranges()),
                    Some((line, view)) if line.head.has_flag("slave") => {
                        let primary = line
                            .head
                            .master
                            .as_ref()
                            .and_then(|id| view.iter().find(|l| &l.head.id == id))
                            .map(endpoint_of);
                        (Role::Replica(primary), Vec::new())
                    }
                    _ => (Role::Unknown, Vec::new()),
                };
                Seen { endpoint: endpoint.clone(), answering, role, slots, flag }
            })
            .collect();
        let states: Vec<bool> = answers.iter().flatten().filter_map(|a| a.state_ok).collect();
        let ok = states.iter().filter(|s| **s).count();
        let state_ok = (!states.is_empty()).then(|| ok * 2 >= states.len());
        Census { nodes, state_ok }
    }

    pub fn node(&self, endpoint: &Endpoint) -> Option<&Seen> {
        self.nodes.iter().find(|n| n.endpoint == *endpoint)
    }

    /// The primary serving `slot`, as the census sees it.
    pub fn owner(&self, slot: u16) -> Option<&Endpoint> {
        self.nodes
            .iter()
            .find(|n| n.role == Role::Primary && n.slots.iter().any(|&(a, b)| a <= slot && slot <= b))
            .map(|n| &n.endpoint)
    }
}

/// Something that changed between two censuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    StoppedAnswering(Endpoint),
    /// Answers again, as a primary or a replica of a node.
    Answering(Endpoint, Role),
    Suspected(Endpoint),
    Failed(Endpoint),
    /// No node flags it any more.
    Cleared(Endpoint),
    /// A replica now serves slots, taken over from the node that served them before.
    TookOver {
        node: Endpoint,
        slots: Vec<(u16, u16)>,
        from: Option<Endpoint>,
    },
    /// A node that was a primary is now a replica.
    Demoted {
        node: Endpoint,
        of: Option<Endpoint>,
    },
    ClusterState(bool),
}

fn ranges_text(ranges: &[(u16, u16)]) -> String {
    let parts: Vec<String> =
        ranges.iter().map(|&(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") }).collect();
    parts.join(",")
}

fn role_text(role: &Role) -> String {
    match role {
        Role::Primary => "a primary".into(),
        Role::Replica(Some(of)) => format!("a replica of {of}"),
        Role::Replica(None) => "a replica".into(),
        Role::Unknown => "a node".into(),
    }
}

impl Change {
    /// The line shown for it.
    pub fn line(&self) -> String {
        match self {
            Change::StoppedAnswering(n) => format!("{n} stopped answering"),
            Change::Answering(n, role) => format!("{n} answers again, as {}", role_text(role)),
            Change::Suspected(n) => format!("{n} is suspected by another node (PFAIL)"),
            Change::Failed(n) => format!("{n} is marked failed (FAIL): the primaries agreed"),
            Change::Cleared(n) => format!("{n} is no longer flagged as failing"),
            Change::TookOver { node, slots, from } => {
                let from = from.as_ref().map(|f| format!(" from {f}")).unwrap_or_default();
                format!("{node} took over slots {}{from} (failover): it is a primary now", ranges_text(slots))
            }
            Change::Demoted { node, of } => {
                format!("{node} is a replica now{}", of.as_ref().map(|o| format!(", of {o}")).unwrap_or_default())
            }
            Change::ClusterState(true) => "cluster_state:ok: every slot is served".into(),
            Change::ClusterState(false) => "cluster_state:fail: the cluster refuses commands (CLUSTERDOWN)".into(),
        }
    }
}

/// What changed from `old` to `new`, in a readable order.
pub fn changes(old: &Census, new: &Census) -> Vec<Change> {
    let mut out = Vec::new();
    // A takeover reads before the demotion it causes.
    let mut demoted = Vec::new();
    for seen in &new.nodes {
        let Some(before) = old.node(&seen.endpoint) else { continue };
        let node = seen.endpoint.clone();
        if before.answering && !seen.answering {
            out.push(Change::StoppedAnswering(node.clone()));
        }
        if !before.answering && seen.answering {
            out.push(Change::Answering(node.clone(), seen.role.clone()));
        }
        match (before.flag, seen.flag) {
            (a, b) if a == b => {}
            (Flag::Fine, Flag::Suspected) => out.push(Change::Suspected(node.clone())),
            (_, Flag::Failed) => out.push(Change::Failed(node.clone())),
            (_, Flag::Fine) => out.push(Change::Cleared(node.clone())),
            _ => {}
        }
        let took_over = seen.role == Role::Primary && !seen.slots.is_empty() && before.role != Role::Primary;
        if took_over {
            let from = seen.slots.first().and_then(|&(a, _)| old.owner(a)).filter(|f| **f != node).cloned();
            out.push(Change::TookOver { node: node.clone(), slots: seen.slots.clone(), from });
        }
        // A node coming back already says what it is.
        if before.role == Role::Primary && matches!(seen.role, Role::Replica(_)) && before.answering == seen.answering {
            let of = match &seen.role {
                Role::Replica(of) => of.clone(),
                _ => None,
            };
            demoted.push(Change::Demoted { node, of });
        }
    }
    out.append(&mut demoted);
    if let (Some(a), Some(b)) = (old.state_ok, new.state_ok)
        && a != b
    {
        out.push(Change::ClusterState(b));
    }
    out
}

/// Where the prompt goes when its node, a primary in `old`, no longer serves its
/// slots in `new`: the node that serves the first of them now.
pub fn successor(old: &Census, new: &Census, node: &Endpoint) -> Option<Endpoint> {
    let before = old.node(node)?;
    let first = before.slots.first().map(|&(a, _)| a)?;
    if before.role != Role::Primary {
        return None;
    }
    let owner = new.owner(first)?;
    let still = new.node(node).is_some_and(|n| n.answering && n.role == Role::Primary);
    (!still && owner != node).then(|| owner.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn ep(port: u16) -> Endpoint {
        Endpoint::tcp("127.0.0.1", port)
    }

    /// A two-node shard: A (7000) primary of 0-16383, B (7001) its replica, seen by `me`.
    fn view(me: &str, a_flags: &str, b_flags: &str, b_primary: bool) -> String {
        let mark = |id: &str, flags: &str| if id == me { format!("myself,{flags}") } else { flags.to_string() };
        let (a_slots, b_slots) = if b_primary { ("", " 0-16383") } else { (" 0-16383", "") };
        let a_of = if b_primary { B } else { "-" };
        let b_of = if b_primary { "-" } else { A };
        format!(
            "{A} 127.0.0.1:7000@17000 {} {a_of} 0 0 1 connected{a_slots}\n{B} 127.0.0.1:7001@17001 {} {b_of} 0 0 2 connected{b_slots}\n",
            mark(A, a_flags),
            mark(B, b_flags)
        )
    }

    fn answer(text: String, ok: bool) -> Option<Answer> {
        Some(Answer { nodes: text, state_ok: Some(ok) })
    }

    #[test]
    fn a_kill_then_a_failover_then_a_return() {
        let eps = [ep(7000), ep(7001)];
        let healthy = Census::build(
            &eps,
            &[answer(view(A, "master", "slave", false), true), answer(view(B, "master", "slave", false), true)],
        );
        assert_eq!(healthy.nodes[0].role, Role::Primary);
        assert_eq!(healthy.nodes[1].role, Role::Replica(Some(ep(7000))));
        assert_eq!(healthy.owner(100), Some(&ep(7000)));

        let suspected = Census::build(&eps, &[None, answer(view(B, "master,fail?", "slave", false), true)]);
        assert_eq!(
            changes(&healthy, &suspected),
            vec![Change::StoppedAnswering(ep(7000)), Change::Suspected(ep(7000))]
        );
        // The dead node keeps the role others give it.
        assert_eq!(suspected.nodes[0].role, Role::Primary);

        let failed = Census::build(&eps, &[None, answer(view(B, "master,fail", "slave", false), false)]);
        assert_eq!(changes(&suspected, &failed), vec![Change::Failed(ep(7000)), Change::ClusterState(false)]);

        let promoted = Census::build(&eps, &[None, answer(view(B, "master,fail", "master", true), true)]);
        let took = changes(&failed, &promoted);
        assert_eq!(
            took,
            vec![
                Change::TookOver { node: ep(7001), slots: vec![(0, 16383)], from: Some(ep(7000)) },
                Change::ClusterState(true)
            ]
        );
        assert!(took[0].line().contains("took over slots 0-16383 from 127.0.0.1:7000"));
        assert_eq!(successor(&healthy, &promoted, &ep(7000)), Some(ep(7001)));
        assert_eq!(successor(&healthy, &promoted, &ep(7001)), None);

        let back = Census::build(
            &eps,
            &[answer(view(A, "slave", "master", true), true), answer(view(B, "slave", "master", true), true)],
        );
        assert_eq!(
            changes(&promoted, &back),
            vec![Change::Answering(ep(7000), Role::Replica(Some(ep(7001)))), Change::Cleared(ep(7000))]
        );
    }

    #[test]
    fn a_manual_failover_demotes_a_node_that_keeps_answering() {
        let eps = [ep(7000), ep(7001)];
        let before = Census::build(
            &eps,
            &[answer(view(A, "master", "slave", false), true), answer(view(B, "master", "slave", false), true)],
        );
        let after = Census::build(
            &eps,
            &[answer(view(A, "slave", "master", true), true), answer(view(B, "slave", "master", true), true)],
        );
        assert_eq!(
            changes(&before, &after),
            vec![
                Change::TookOver { node: ep(7001), slots: vec![(0, 16383)], from: Some(ep(7000)) },
                Change::Demoted { node: ep(7000), of: Some(ep(7001)) },
            ]
        );
        assert_eq!(successor(&before, &after, &ep(7000)), Some(ep(7001)));
    }

    #[test]
    fn garbage_answers_make_unknown_nodes() {
        let eps = [ep(7000)];
        let census = Census::build(&eps, &[Some(Answer { nodes: "\x1b[31m junk".into(), state_ok: None })]);
        assert_eq!(census.nodes[0].role, Role::Unknown);
        assert!(census.nodes[0].answering);
        assert_eq!(census.state_ok, None);
        assert!(changes(&census, &census).is_empty());
    }
}
