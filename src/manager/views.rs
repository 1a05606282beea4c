//! A node's view of the cluster (its `CLUSTER NODES` text) as the manager's waits read
//! it: what it says of each node (known or not, flags, role, slots), and which of the
//! nodes it is expected to see it shows otherwise. Pure: the waits ask, this judges.

use std::collections::HashMap;

use super::model::{NodeHead, owned_ranges, parse_node_head};
use crate::cluster::nodes_reply::myself_lines;

/// Ascending ranges with touching ones merged.
pub fn merged(mut ranges: Vec<(u16, u16)>) -> Vec<(u16, u16)> {
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

/// The flags of a node a view knows but cannot use yet (or any more).
pub const UNUSABLE: [&str; 4] = ["handshake", "noaddr", "fail", "fail?"];

/// One node's view, parsed once.
pub struct View {
    /// The viewer's own id (its `myself` line), when it has one.
    pub viewer: Option<String>,
    /// Each listed node by id: its line's head and its slots as merged ranges.
    pub lines: HashMap<String, (NodeHead, Vec<(u16, u16)>)>,
    /// The `host:port` of each node it is in handshake with (listed under a made-up id).
    pub meeting: Vec<String>,
}

impl View {
    pub fn parse(text: &str) -> View {
        let mut lines = HashMap::new();
        let mut viewer = None;
        let mut meeting = Vec::new();
        for line in text.lines() {
            if let Some((head, tokens)) = parse_node_head(line) {
                if head.has_flag("myself") {
                    viewer = Some(head.id.clone());
                }
                if head.has_flag("handshake") {
                    meeting.push(format!("{}:{}", head.host, head.port));
                }
                let ranges = merged(owned_ranges(&tokens));
                lines.insert(head.id.clone(), (head, ranges));
            }
        }
        View { viewer, lines, meeting }
    }

    /// The viewer's own line, as what the others should see of it (any role).
    pub fn own(&self) -> Option<Expected> {
        let id = self.viewer.as_ref()?;
        let (head, slots) = self.lines.get(id)?;
        let addr = format!("{}:{}", head.host, head.port);
        Some(Expected { id: id.clone(), addr, slots: slots.clone(), role: Role::Any })
    }

    /// The indices of `expected` this view does not show as expected: unknown, still in
    /// handshake, failed, other slots or (where one is expected) another role. The
    /// viewer itself is never in the list, nor a node whose address it is meeting now
    /// (a nudge would only start a second handshake).
    pub fn behind(&self, expected: &[Expected]) -> Vec<usize> {
        let mut out = Vec::new();
        for (index, node) in expected.iter().enumerate() {
            if self.viewer.as_ref() == Some(&node.id) || self.meeting.contains(&node.addr) {
                continue;
            }
            let shown = self.lines.get(&node.id).is_some_and(|(head, slots)| {
                !UNUSABLE.iter().any(|f| head.has_flag(f)) && *slots == node.slots && node.role.matches(head)
            });
            if !shown {
                out.push(index);
            }
        }
        out
    }
}

/// The (viewer, subject) pairs of `texts` (each node's `CLUSTER NODES`, `None`: not
/// had) where the viewer does not show the subject's slots as the subject's own view
/// does, or does not know it. Each view is parsed on one of `width` workers and dropped
/// once judged: at 300 nodes all views parsed at once held 60 MB.
pub fn behind_own_lines(texts: &[Option<String>], width: usize) -> Vec<(usize, usize)> {
    let own: Vec<Option<Expected>> =
        texts.iter().map(|text| myself_lines(text.as_deref()?).find_map(|mine| View::parse(mine).own())).collect();
    // A node whose own view is not had is nobody's subject: an id no view lists.
    let expected: Vec<Expected> = own
        .into_iter()
        .map(|e| e.unwrap_or(Expected { id: String::new(), addr: String::new(), slots: Vec::new(), role: Role::Any }))
        .collect();
    let judged = crate::client::workers::run_each(texts.iter().collect(), width, None, |_, text: &Option<String>| {
        text.as_deref().map(|t| View::parse(t).behind(&expected)).unwrap_or_default()
    });
    let mut pairs = Vec::new();
    for (viewer, subjects) in judged.into_iter().enumerate() {
        let known =
            subjects.unwrap_or_default().into_iter().filter(|&s| expected.get(s).is_some_and(|e| !e.id.is_empty()));
        pairs.extend(known.map(|subject| (viewer, subject)));
    }
    pairs
}

/// What a view should show of one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub id: String,
    /// `host:port`, as a handshake line would show it.
    pub addr: String,
    /// Merged ascending ranges.
    pub slots: Vec<(u16, u16)>,
    pub role: Role,
}

/// The role a view should show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// Whichever (the join wait looks at slots only).
    Any,
    Primary,
    /// A replica of the primary with this id.
    ReplicaOf(String),
}

impl Role {
    pub fn matches(&self, head: &NodeHead) -> bool {
        match self {
            Role::Any => true,
            Role::Primary => head.has_flag("master") && !head.has_flag("slave"),
            Role::ReplicaOf(primary) => head.has_flag("slave") && head.master.as_ref() == Some(primary),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const C: &str = "cccccccccccccccccccccccccccccccccccccccc";

    fn expected() -> Vec<Expected> {
        vec![
            Expected { id: A.into(), addr: "127.0.0.1:1".into(), slots: vec![(0, 16383)], role: Role::Primary },
            Expected { id: B.into(), addr: "127.0.0.1:2".into(), slots: vec![], role: Role::ReplicaOf(A.into()) },
            Expected { id: C.into(), addr: "127.0.0.1:3".into(), slots: vec![], role: Role::Any },
        ]
    }

    #[test]
    fn a_view_is_behind_on_each_node_it_shows_otherwise() {
        let good = format!(
            "{A} 127.0.0.1:1@11 master - 0 0 1 connected 0-100 101-16383\n{B} 127.0.0.1:2@12 slave {A} 0 0 1 connected\n{C} 127.0.0.1:3@13 myself,master - 0 0 1 connected\n"
        );
        let view = View::parse(&good);
        assert_eq!(view.behind(&expected()), Vec::<usize>::new());
        assert_eq!(
            view.own(),
            Some(Expected { id: C.into(), addr: "127.0.0.1:3".into(), slots: vec![], role: Role::Any })
        );
        let lagging = good.replace(&format!("slave {A}"), "master -").replace("0-100 101-16383", "0-100");
        assert_eq!(View::parse(&lagging).behind(&expected()), [0, 1]);
        // B unknown; A only in handshake (under a made-up id): being met, not nudged.
        let shaking = "d".repeat(40);
        let unknown_and_shaking = format!(
            "{shaking} 127.0.0.1:1@11 handshake - 0 0 1 connected\n{C} 127.0.0.1:3@13 myself,master - 0 0 1 connected\n"
        );
        let view = View::parse(&unknown_and_shaking);
        assert_eq!(view.meeting, ["127.0.0.1:1"]);
        assert_eq!(view.behind(&expected()), [1]);
        // Failed, though known: behind.
        assert_eq!(
            View::parse(&good.replace("127.0.0.1:1@11 master", "127.0.0.1:1@11 master,fail")).behind(&expected()),
            [0]
        );
        // The viewer is not behind on itself, whatever its own line says.
        let b_views = format!(
            "{A} 127.0.0.1:1@11 master - 0 0 1 connected 0-16383\n{B} 127.0.0.1:2@12 myself,master - 0 0 1 connected\n{C} 127.0.0.1:3@13 master - 0 0 1 connected\n"
        );
        assert_eq!(View::parse(&b_views).behind(&expected()), Vec::<usize>::new());
    }

    #[test]
    fn each_view_is_judged_against_the_others_own_lines() {
        let a = format!(
            "{A} 127.0.0.1:1@11 myself,master - 0 0 1 connected 0-16383\n{B} 127.0.0.1:2@12 master - 0 0 1 connected\n"
        );
        // B does not know A yet; C answered nothing.
        let b = format!("{B} 127.0.0.1:2@12 myself,master - 0 0 1 connected\n");
        for width in [1, 4] {
            assert_eq!(behind_own_lines(&[Some(a.clone()), Some(b.clone()), None], width), [(1, 0)]);
        }
        // A sees B with slots B does not claim.
        let a_wrong = a.replace("127.0.0.1:2@12 master - 0 0 1 connected", "127.0.0.1:2@12 master - 0 0 1 connected 5");
        assert_eq!(behind_own_lines(&[Some(a_wrong), Some(b), None], 2), [(0, 1), (1, 0)]);
    }

    #[test]
    fn ranges_merge_when_they_touch() {
        assert_eq!(merged(vec![(5, 9), (0, 4), (11, 12)]), [(0, 9), (11, 12)]);
    }
}
