//! Events from two successive views of the cluster, worded for an operator: a node
//! that stops answering rcli (then is down, once the failure budget is spent) or
//! answers again; a node the cluster marks failed or online again; a failover (a
//! replica taking over its primary's slots); a node changing role; slots moving from
//! one primary to another; nodes joining or leaving; the cluster's state. Pure.

use super::view::{Link, Severity, View};
use crate::cluster::slot::SLOTS;

/// What of a node is compared between two views.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The node id, or the address outside a cluster.
    pub key: String,
    pub name: String,
    pub primary: bool,
    pub health: String,
    pub link: Link,
    pub ranges: Vec<(u16, u16)>,
}

/// The comparable part of a view.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Shape {
    pub nodes: Vec<Seen>,
    pub state: Option<String>,
}

/// The shape of `view`.
pub fn shape(view: &View) -> Shape {
    let nodes = view
        .shards
        .iter()
        .flat_map(|shard| {
            shard.nodes.iter().map(|node| Seen {
                key: if node.id.is_empty() { node.endpoint.to_string() } else { node.id.clone() },
                name: node.endpoint.to_string(),
                primary: node.primary,
                health: node.health.clone(),
                link: node.link.clone(),
                ranges: if node.primary { shard.ranges.clone() } else { Vec::new() },
            })
        })
        .collect();
    Shape { nodes, state: view.state.clone() }
}

/// Which node (index into `shape.nodes`) owns each slot.
fn owners(shape: &Shape) -> Vec<Option<usize>> {
    let mut owner = vec![None; SLOTS];
    for (index, node) in shape.nodes.iter().enumerate() {
        for &(start, end) in &node.ranges {
            for slot in start..=end {
                if let Some(entry) = owner.get_mut(usize::from(slot)) {
                    *entry = Some(index);
                }
            }
        }
    }
    owner
}

fn ranges_text(slots: &[u16]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut run: Option<(u16, u16)> = None;
    let flush = |run: Option<(u16, u16)>, parts: &mut Vec<String>| match run {
        Some((a, b)) if a == b => parts.push(a.to_string()),
        Some((a, b)) => parts.push(format!("{a}-{b}")),
        None => {}
    };
    for &slot in slots {
        run = match run {
            Some((a, b)) if b.checked_add(1) == Some(slot) => Some((a, slot)),
            other => {
                flush(other, &mut parts);
                Some((slot, slot))
            }
        };
    }
    flush(run, &mut parts);
    parts.join(",")
}

fn link_change(name: &str, old: &Link, new: &Link) -> Option<(Severity, String)> {
    match (old, new) {
        (Link::Ok | Link::Unknown, Link::Silent { cause, .. }) => {
            Some((Severity::Warning, format!("{name} stopped answering ({cause})")))
        }
        (Link::Ok | Link::Unknown, Link::Down { since, cause }) => Some((
            Severity::Bad,
            format!("{name} is down: no answer for {:.1}s, the failure budget ({cause})", since.as_secs_f64()),
        )),
        (Link::Silent { .. }, Link::Down { since, .. }) => Some((
            Severity::Bad,
            format!("{name} is down: no answer for {:.1}s, the failure budget", since.as_secs_f64()),
        )),
        (Link::Silent { .. } | Link::Down { .. }, Link::Ok) => Some((Severity::Info, format!("{name} answers again"))),
        _ => None,
    }
}

fn health_change(name: &str, old: &str, new: &str) -> Option<(Severity, String)> {
    let failed = |h: &str| h == "failed" || h == "fail";
    match (failed(old), failed(new)) {
        (false, true) => Some((Severity::Bad, format!("{name} marked failed by the cluster"))),
        (true, false) => Some((Severity::Info, format!("{name} no longer marked failed ({new})"))),
        _ => None,
    }
}

/// What changed from `old` to `new`, in a stable order: links, health, roles and
/// failovers, slot moves, nodes joining or leaving, the cluster state.
pub fn changes(old: &Shape, new: &Shape) -> Vec<(Severity, String)> {
    let mut found = Vec::new();
    let before = |key: &str| old.nodes.iter().find(|n| n.key == key);
    for node in &new.nodes {
        let Some(was) = before(&node.key) else { continue };
        found.extend(link_change(&node.name, &was.link, &node.link));
        found.extend(health_change(&node.name, &was.health, &node.health));
    }
    // Slots whose owner changed, grouped by (old owner, new owner).
    let (old_owner, new_owner) = (owners(old), owners(new));
    let mut moves: Vec<((usize, usize), Vec<u16>)> = Vec::new();
    for (slot, (a, b)) in old_owner.iter().zip(&new_owner).enumerate() {
        let (Some(a), Some(b)) = (a, b) else { continue };
        let (Some(from), Some(to)) = (old.nodes.get(*a), new.nodes.get(*b)) else { continue };
        if from.key == to.key {
            continue;
        }
        let Ok(slot) = u16::try_from(slot) else { continue };
        match moves.iter_mut().find(|(pair, _)| *pair == (*a, *b)) {
            Some((_, slots)) => slots.push(slot),
            None => moves.push(((*a, *b), vec![slot])),
        }
    }
    for node in &new.nodes {
        let Some(was) = before(&node.key) else { continue };
        if !was.primary && node.primary {
            let took_over: Vec<&str> = moves
                .iter()
                .filter(|((_, to), _)| new.nodes.get(*to).is_some_and(|t| t.key == node.key))
                .filter_map(|((from, _), _)| old.nodes.get(*from).map(|f| f.name.as_str()))
                .collect();
            let text = match took_over.as_slice() {
                [] => format!("{} is now a primary", node.name),
                from => format!("failover: {} took over from {}", node.name, from.join(", ")),
            };
            found.push((Severity::Warning, text));
        }
    }
    for node in &new.nodes {
        if before(&node.key).is_some_and(|was| was.primary) && !node.primary {
            found.push((Severity::Warning, format!("{} is now a replica", node.name)));
        }
    }
    for ((from, to), slots) in &moves {
        let (Some(from), Some(to)) = (old.nodes.get(*from), new.nodes.get(*to)) else { continue };
        let failover = !before(&to.key).is_none_or(|t| t.primary);
        if !failover {
            let count = slots.len();
            let plural = if count == 1 { "slot" } else { "slots" };
            found.push((
                Severity::Info,
                format!("{count} {plural} moved from {} to {}: {}", from.name, to.name, ranges_text(slots)),
            ));
        }
    }
    for node in &new.nodes {
        if before(&node.key).is_none() && !old.nodes.is_empty() {
            found.push((Severity::Info, format!("{} joined", node.name)));
        }
    }
    for node in &old.nodes {
        if !new.nodes.iter().any(|n| n.key == node.key) {
            found.push((Severity::Warning, format!("{} left the cluster", node.name)));
        }
    }
    if let (Some(was), Some(now)) = (&old.state, &new.state)
        && was != now
    {
        let severity = if now == "ok" { Severity::Info } else { Severity::Bad };
        found.push((severity, format!("cluster state {was} -> {now}")));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn seen(key: &str, primary: bool, ranges: &[(u16, u16)]) -> Seen {
        Seen {
            key: key.into(),
            name: format!("node-{key}"),
            primary,
            health: "online".into(),
            link: Link::Ok,
            ranges: ranges.to_vec(),
        }
    }

    fn shape(nodes: Vec<Seen>) -> Shape {
        Shape { nodes, state: Some("ok".into()) }
    }

    fn texts(old: &Shape, new: &Shape) -> Vec<String> {
        changes(old, new).into_iter().map(|(_, t)| t).collect()
    }

    #[test]
    fn nothing_changed_nothing_said() {
        let a = shape(vec![seen("a", true, &[(0, 16383)]), seen("b", false, &[])]);
        assert!(changes(&a, &a).is_empty());
    }

    #[test]
    fn a_dead_primary_then_its_replica_taking_over() {
        let before = shape(vec![seen("a", true, &[(0, 100)]), seen("b", false, &[])]);
        let mut silent = before.clone();
        silent.nodes[0].link = Link::Silent { since: Duration::from_secs(1), cause: "Connection refused".into() };
        assert_eq!(texts(&before, &silent), ["node-a stopped answering (Connection refused)"]);
        let mut failed = silent.clone();
        failed.nodes[0].health = "fail".into();
        failed.state = Some("fail".into());
        assert_eq!(texts(&silent, &failed), ["node-a marked failed by the cluster", "cluster state ok -> fail"]);
        let mut over = failed.clone();
        over.nodes[0] = Seen { primary: false, ranges: vec![], ..failed.nodes[0].clone() };
        over.nodes[1] = Seen { primary: true, ranges: vec![(0, 100)], ..failed.nodes[1].clone() };
        over.state = Some("ok".into());
        assert_eq!(
            texts(&failed, &over),
            ["failover: node-b took over from node-a", "node-a is now a replica", "cluster state fail -> ok"]
        );
        let mut down = over.clone();
        down.nodes[0].link = Link::Down { since: Duration::from_millis(5200), cause: "Connection refused".into() };
        assert_eq!(texts(&over, &down), ["node-a is down: no answer for 5.2s, the failure budget"]);
        let mut back = down.clone();
        back.nodes[0].link = Link::Ok;
        assert_eq!(texts(&down, &back), ["node-a answers again"]);
        assert!(texts(&down, &over).is_empty(), "down to silent is no news");
    }

    #[test]
    fn slots_moving_between_primaries() {
        let before = shape(vec![seen("a", true, &[(0, 100)]), seen("c", true, &[(101, 200)])]);
        let after = shape(vec![seen("a", true, &[(0, 89), (95, 100)]), seen("c", true, &[(90, 94), (101, 200)])]);
        assert_eq!(texts(&before, &after), ["5 slots moved from node-a to node-c: 90-94"]);
        let one = shape(vec![seen("a", true, &[(0, 99)]), seen("c", true, &[(100, 200)])]);
        assert_eq!(texts(&before, &one), ["1 slot moved from node-a to node-c: 100"]);
    }

    #[test]
    fn nodes_joining_and_leaving() {
        let before = shape(vec![seen("a", true, &[(0, 100)])]);
        let after = shape(vec![seen("a", true, &[(0, 100)]), seen("d", false, &[])]);
        assert_eq!(texts(&before, &after), ["node-d joined"]);
        assert_eq!(texts(&after, &before), ["node-d left the cluster"]);
        assert!(changes(&Shape::default(), &after).is_empty(), "the first view is no news");
    }

    #[test]
    fn slot_lists_are_compact() {
        assert_eq!(ranges_text(&[1, 2, 3, 7, 9, 10]), "1-3,7,9-10");
        assert_eq!(ranges_text(&[]), "");
    }
}
