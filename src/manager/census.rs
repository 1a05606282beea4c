//! What the nodes say now about some slots (docs/cluster-manager.md, "Acting on what the
//! nodes say"): every node's own `CLUSTER NODES` line (role, slots, open slots) and every
//! primary's key count in each slot of interest, in every database, asked in one
//! pipelined round per node. Nodes that another node lists but that do not answer are
//! kept as [`Missing`], with the slots the others still credit them with. Nothing here
//! decides; [`super::settle`] does, over a [`Census`].

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::endpoint::Endpoint;

use super::link::{Link, error_of, reply_text};
use super::model::{NodeHead, NodeLine, SlotSet, myself_line, owned_ranges, parse_node_head, ranges_text};
use super::moves::Peer;

/// The longest a census waits for one node's answer (a frozen node costs this once).
const NODE_WAIT: Duration = Duration::from_secs(10);

/// A node that answered.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The node's id and the address it was reached at.
    pub peer: Peer,
    /// Its own line of its `CLUSTER NODES`.
    pub line: NodeLine,
    /// Keys in each slot asked about, summed over the databases (absent: not counted).
    pub keys: BTreeMap<u16, u64>,
}

impl Seen {
    pub fn is_primary(&self) -> bool {
        self.line.head.has_flag("master") && !self.line.head.has_flag("slave")
    }

    pub fn owns(&self, slot: u16) -> bool {
        self.line.slots.contains(slot)
    }

    pub fn migrating_to(&self, slot: u16) -> Option<&str> {
        self.line.migrating.iter().find(|(s, _)| *s == slot).map(|(_, id)| id.as_str())
    }

    pub fn importing_from(&self, slot: u16) -> Option<&str> {
        self.line.importing.iter().find(|(s, _)| *s == slot).map(|(_, id)| id.as_str())
    }

    /// The slot is open here (migrating or importing).
    pub fn is_open(&self, slot: u16) -> bool {
        self.migrating_to(slot).is_some() || self.importing_from(slot).is_some()
    }

    pub fn keys_in(&self, slot: u16) -> Option<u64> {
        self.keys.get(&slot).copied()
    }
}

/// A node some view lists that did not answer, or that the views mark as failed.
#[derive(Debug, Clone)]
pub struct Missing {
    pub id: String,
    pub addr: String,
    pub why: String,
    /// Slots some view still names it the owner of.
    pub credited: SlotSet,
}

/// What the nodes say.
#[derive(Debug, Clone, Default)]
pub struct Census {
    pub seen: Vec<Seen>,
    pub missing: Vec<Missing>,
}

impl Census {
    pub fn node(&self, id: &str) -> Option<&Seen> {
        self.seen.iter().find(|s| s.peer.id == id)
    }

    pub fn primaries(&self) -> impl Iterator<Item = &Seen> {
        self.seen.iter().filter(|s| s.is_primary())
    }

    pub fn missing(&self, id: &str) -> Option<&Missing> {
        self.missing.iter().find(|m| m.id == id)
    }

    /// The primaries' endpoints (for the next census or the final SETSLOT NODE).
    pub fn primary_peers(&self) -> Vec<Peer> {
        self.primaries().map(|s| s.peer.clone()).collect()
    }

    /// A node named by id, however it is known: "127.0.0.1:7001", or the id when it is
    /// known to no one.
    pub fn name(&self, id: &str) -> String {
        match (self.node(id), self.missing(id)) {
            (Some(seen), _) => seen.peer.addr(),
            (None, Some(missing)) => missing.addr.clone(),
            (None, None) => id.to_string(),
        }
    }

    /// One line saying what every node claims about `slot`, for refusals.
    pub fn describe(&self, slot: u16) -> String {
        let mut parts: Vec<String> = Vec::new();
        for node in self.primaries() {
            let mut says: Vec<String> = Vec::new();
            if node.owns(slot) {
                says.push("owns it".into());
            }
            if let Some(to) = node.migrating_to(slot) {
                says.push(format!("migrates it to {}", self.name(to)));
            }
            if let Some(from) = node.importing_from(slot) {
                says.push(format!("imports it from {}", self.name(from)));
            }
            match node.keys_in(slot) {
                Some(0) if says.is_empty() => continue,
                Some(keys) => says.push(format!("holds {keys} keys")),
                None => says.push("did not count its keys".into()),
            }
            parts.push(format!("{} {}", node.peer.addr(), says.join(", ")));
        }
        for missing in &self.missing {
            if missing.credited.contains(slot) {
                parts.push(format!("{} ({}) is named its owner but {}", missing.addr, missing.id, missing.why));
            }
        }
        if parts.is_empty() { "no node claims it or holds keys in it".into() } else { parts.join("; ") }
    }
}

/// The commands asked of every node: its view, then each slot's key count per database.
fn questions(slots: &[u16], databases: u32) -> Vec<Vec<String>> {
    let mut commands = vec![vec!["CLUSTER".to_string(), "NODES".into()]];
    for db in 0..databases.max(1) {
        if databases > 1 {
            commands.push(vec!["SELECT".into(), db.to_string()]);
        }
        commands.extend(slots.iter().map(|s| vec!["CLUSTER".into(), "COUNTKEYSINSLOT".into(), s.to_string()]));
    }
    if databases > 1 {
        commands.push(vec!["SELECT".into(), "0".into()]);
    }
    commands
}

/// Another node as a view lists it: its head and which of the slots asked about the
/// view credits it with.
type Listed = (NodeHead, Vec<u16>);

/// The other lines of a view, each read only as far as a census needs (no slot set
/// per line: a view of N nodes costs one pass, not N slot bitmaps).
fn others(text: &str, slots: &[u16]) -> Vec<Listed> {
    text.lines()
        .filter_map(|line| {
            let (head, tokens) = parse_node_head(line)?;
            if head.has_flag("myself") {
                return None;
            }
            let owned = owned_ranges(&tokens);
            let credited = slots.iter().copied().filter(|s| owned.iter().any(|(a, b)| (*a..=*b).contains(s))).collect();
            Some((head, credited))
        })
        .collect()
}

/// Reads one node's answers to [`questions`]: its own line, its key counts (a slot
/// whose count failed in any database is left out: unknown) and the other nodes its
/// view lists.
fn answers(
    endpoint: &Endpoint,
    replies: &[crate::protocol::resp::Frame],
    slots: &[u16],
    databases: u32,
) -> Option<(Seen, Vec<Listed>)> {
    let (view, mut rest) = replies.split_first()?;
    if error_of(view).is_some() {
        return None;
    }
    let text = reply_text(view);
    let own = myself_line(&text)?;
    let mut keys: BTreeMap<u16, u64> = slots.iter().map(|&s| (s, 0)).collect();
    for _ in 0..databases.max(1) {
        if databases > 1 {
            let (select, after) = rest.split_first()?;
            rest = after;
            if error_of(select).is_some() {
                return None;
            }
        }
        let counts = rest.get(..slots.len())?;
        rest = rest.get(slots.len()..)?;
        for (slot, reply) in slots.iter().zip(counts) {
            match reply.as_integer().and_then(|n| u64::try_from(n).ok()) {
                Some(n) => {
                    if let Some(total) = keys.get_mut(slot) {
                        *total = total.saturating_add(n);
                    }
                }
                None => {
                    keys.remove(slot);
                }
            }
        }
    }
    let (host, port) = match endpoint {
        Endpoint::Tcp { host, port } => (host.clone(), *port),
        Endpoint::Unix(_) => (own.head.host.clone(), own.head.port),
    };
    let listed = others(&text, slots);
    Some((Seen { peer: Peer { id: own.head.id.clone(), host, port }, line: own, keys }, listed))
}

/// Asks `known` (and then every other node their views list) what they say about
/// `slots`, counting keys in `databases` databases. One pipelined round per node,
/// nodes asked at once; each waits at most [`NODE_WAIT`] (or the link's own bound).
pub fn take(link: &mut Link, known: &[Endpoint], slots: &[u16], databases: u32) -> Census {
    let commands = questions(slots, databases);
    let mut census = Census::default();
    let mut asked: BTreeSet<String> = BTreeSet::new();
    // Every node any view lists: id -> (address, flags, credited slots), as first seen.
    let mut listed: BTreeMap<String, (String, u16, Vec<String>, SlotSet)> = BTreeMap::new();
    let mut unanswered: BTreeMap<String, String> = BTreeMap::new();
    let mut round: Vec<Endpoint> = known.to_vec();
    for _ in 0..2 {
        round.retain(|e| asked.insert(e.to_string()));
        if round.is_empty() {
            break;
        }
        for (endpoint, result) in link.fan_out_for(&round, &commands, NODE_WAIT) {
            let answered = result.ok().and_then(|replies| answers(&endpoint, &replies, slots, databases));
            let Some((seen, lines)) = answered else {
                unanswered.insert(endpoint.to_string(), "does not answer".into());
                continue;
            };
            for (line, credited) in lines {
                let entry = listed
                    .entry(line.id.clone())
                    .or_insert_with(|| (line.host.clone(), line.port, line.flags.clone(), SlotSet::default()));
                for flag in &line.flags {
                    if !entry.2.contains(flag) {
                        entry.2.push(flag.clone());
                    }
                }
                for slot in credited {
                    entry.3.insert(slot);
                }
            }
            if census.node(&seen.peer.id).is_none() {
                census.seen.push(seen);
            }
        }
        // Next round: listed nodes not heard from yet, with an address.
        round = listed
            .iter()
            .filter(|(id, (host, port, _, _))| census.node(id).is_none() && !host.is_empty() && *port != 0)
            .map(|(_, (host, port, _, _))| Endpoint::tcp(host, *port))
            .collect();
    }
    for (id, (host, port, flags, credited)) in listed {
        if census.node(&id).is_some() {
            continue;
        }
        let addr = format!("{host}:{port}");
        let why = if flags.iter().any(|f| f == "fail") {
            "is marked failed".to_string()
        } else if flags.iter().any(|f| f == "noaddr") || host.is_empty() || port == 0 {
            "has no address".to_string()
        } else {
            unanswered.get(&Endpoint::tcp(&host, port).to_string()).cloned().unwrap_or_else(|| "does not answer".into())
        };
        census.missing.push(Missing { id, addr, why, credited });
    }
    census
}

/// `slots` as ranges for a line of text: `4000-4031,4064`.
pub fn slot_ranges(slots: &[u16]) -> String {
    let set = SlotSet::from_ranges(&slots.iter().map(|&s| (s, s)).collect::<Vec<_>>());
    ranges_text(&set.ranges()).replace(['[', ']'], "")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::resp::Frame;

    const ME: &str = "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca";
    const OTHER: &str = "67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1";

    fn view() -> Frame {
        Frame::Bulk(
            format!(
                "{ME} 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-10 [5->-{OTHER}]\n{OTHER} 127.0.0.1:7001@17001 master - 0 0 2 connected 11-20\n"
            )
            .into_bytes(),
        )
    }

    #[test]
    fn counts_add_up_over_databases_and_a_failed_count_is_unknown() {
        let slots = [5, 6];
        let commands = questions(&slots, 2);
        assert_eq!(commands.len(), 1 + 2 * (1 + 2) + 1);
        let ok = || Frame::Simple(b"OK".to_vec().into());
        let replies = vec![
            view(),
            ok(),
            Frame::Integer(3),
            Frame::Integer(0),
            ok(),
            Frame::Integer(4),
            Frame::Error(b"ERR nope".to_vec()),
            ok(),
        ];
        let (seen, lines) = answers(&Endpoint::tcp("127.0.0.1", 7000), &replies, &slots, 2).unwrap();
        assert_eq!(seen.keys_in(5), Some(7));
        assert_eq!(seen.keys_in(6), None, "one database's count failed: the total is unknown");
        assert_eq!(seen.migrating_to(5), Some(OTHER));
        assert!(seen.is_primary() && seen.owns(5) && !seen.owns(11));
        assert_eq!(lines.len(), 1, "the other node");
        assert_eq!(lines[0].0.id, OTHER);
        assert!(lines[0].1.is_empty(), "11-20 holds neither 5 nor 6");
        assert_eq!(others(&reply_text(&view()), &[5, 12, 20, 21])[0].1, [12, 20]);
    }

    #[test]
    fn a_reply_without_a_myself_line_is_not_a_node() {
        let replies = vec![Frame::Bulk(b"garbage".to_vec())];
        assert!(answers(&Endpoint::tcp("h", 1), &replies, &[], 1).is_none());
        assert!(answers(&Endpoint::tcp("h", 1), &[Frame::Error(b"ERR".to_vec())], &[], 1).is_none());
    }

    #[test]
    fn slot_lists_print_as_ranges() {
        assert_eq!(slot_ranges(&[4001, 4000, 4002, 4064]), "4000-4002,4064");
        assert_eq!(slot_ranges(&[]), "");
    }
}
