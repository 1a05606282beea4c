//! `CLUSTER NODES` read (docs/cluster-manager.md, "Loading the cluster"): each line
//! validated into a [`NodeLine`] (id, address, flags, primary, epoch, link, slots in a
//! 16384-bit [`SlotSet`], open slots), and the configuration signature that tells
//! whether nodes agree about slot ownership. Pure; used by the cluster manager, the
//! sandbox's census and the census the manager takes before touching a slot.

use crate::cluster::slot::SLOTS;

/// A set of hash slots.
#[derive(Clone, PartialEq, Eq)]
pub struct SlotSet {
    bits: Vec<u64>,
}

impl Default for SlotSet {
    fn default() -> Self {
        SlotSet { bits: vec![0; SLOTS / 64] }
    }
}

impl std::fmt::Debug for SlotSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SlotSet({})", ranges_text(&self.ranges()))
    }
}

impl SlotSet {
    pub fn from_ranges(ranges: &[(u16, u16)]) -> SlotSet {
        let mut set = SlotSet::default();
        for &(a, b) in ranges {
            for slot in a..=b {
                set.insert(slot);
            }
        }
        set
    }

    pub fn contains(&self, slot: u16) -> bool {
        let slot = usize::from(slot);
        self.bits.get(slot / 64).is_some_and(|word| word & (1 << (slot % 64)) != 0)
    }

    pub fn insert(&mut self, slot: u16) {
        let slot = usize::from(slot);
        if let Some(word) = self.bits.get_mut(slot / 64) {
            *word |= 1 << (slot % 64);
        }
    }

    pub fn remove(&mut self, slot: u16) {
        let slot = usize::from(slot);
        if let Some(word) = self.bits.get_mut(slot / 64) {
            *word &= !(1 << (slot % 64));
        }
    }

    pub fn len(&self) -> usize {
        self.bits.iter().map(|w| w.count_ones() as usize).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.bits.iter().all(|w| *w == 0)
    }

    /// The slots in ascending order (empty words skipped whole).
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        self.bits.iter().enumerate().flat_map(|(index, &word)| {
            let mut left = word;
            std::iter::from_fn(move || {
                if left == 0 {
                    return None;
                }
                let bit = left.trailing_zeros() as usize;
                left &= left - 1;
                u16::try_from(index * 64 + bit).ok()
            })
        })
    }

    /// Adds every slot of `other`.
    pub fn union_with(&mut self, other: &SlotSet) {
        for (word, theirs) in self.bits.iter_mut().zip(&other.bits) {
            *word |= theirs;
        }
    }

    /// Ascending inclusive ranges. Each run's ends are found a word at a time (the
    /// first set or clear bit at or after a position), not slot by slot: a node's
    /// ranges cost a few hundred steps, which a check of hundreds of nodes repeats.
    pub fn ranges(&self) -> Vec<(u16, u16)> {
        let mut out: Vec<(u16, u16)> = Vec::new();
        let mut start: Option<usize> = None;
        for (index, &word) in self.bits.iter().enumerate() {
            let mut from = 0u32;
            loop {
                // The bits at `from` and above of what is looked for: set bits outside
                // a run, clear bits inside one.
                let looked_for = if start.is_some() { !word } else { word } & (u64::MAX << from);
                if looked_for == 0 {
                    break;
                }
                from = looked_for.trailing_zeros();
                let at = index * 64 + from as usize;
                match start.take() {
                    Some(first) => out.extend(slot_range(first, at.saturating_sub(1))),
                    None => start = Some(at),
                }
            }
        }
        if let Some(first) = start {
            out.extend(slot_range(first, SLOTS - 1));
        }
        out
    }
}

/// `(first, last)` as slots, when both are slots.
fn slot_range(first: usize, last: usize) -> Option<(u16, u16)> {
    Some((u16::try_from(first).ok()?, u16::try_from(last).ok()?))
}

/// `[0-5460],[5462]`: redis-cli's way of listing slot ranges.
pub fn ranges_text(ranges: &[(u16, u16)]) -> String {
    let parts: Vec<String> =
        ranges.iter().map(|&(a, b)| if a == b { format!("[{a}]") } else { format!("[{a}-{b}]") }).collect();
    parts.join(",")
}

/// One line of `CLUSTER NODES`, validated: its head and its slots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeLine {
    pub head: NodeHead,
    pub slots: SlotSet,
    /// `[slot->-id]` entries: slot, target id.
    pub migrating: Vec<(u16, String)>,
    /// `[slot-<-id]` entries: slot, source id.
    pub importing: Vec<(u16, String)>,
}

fn parse_slot(text: &str) -> Option<u16> {
    text.parse::<u16>().ok().filter(|s| usize::from(*s) < SLOTS)
}

/// A node id: 40 hex characters (lower-cased).
pub fn is_node_id(text: &str) -> bool {
    text.len() == 40 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The fields of a `CLUSTER NODES` line before its slots (no slot set built): what a
/// reader of every line of a big view needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeHead {
    pub id: String,
    pub host: String,
    pub port: u16,
    /// The cluster-bus port after `@`, when given.
    pub bus_port: Option<u16>,
    pub flags: Vec<String>,
    /// The primary's id for a replica (`-` is `None`).
    pub master: Option<String>,
    pub config_epoch: u64,
    pub link_connected: bool,
}

impl NodeHead {
    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }
}

/// Parses one line's head and returns its slot tokens unread; `None` for a line that
/// is not one.
pub fn parse_node_head(line: &str) -> Option<(NodeHead, Vec<&str>)> {
    let fields: Vec<&str> = line.split(' ').filter(|f| !f.is_empty()).collect();
    // id ip:port@cport[,hostname] flags master ping-sent pong-recv epoch link slot...
    let [id, addr, flags, master, _, _, config_epoch, link, slot_tokens @ ..] = fields.as_slice() else {
        return None;
    };
    let id = id.to_ascii_lowercase();
    if !is_node_id(&id) {
        return None;
    }
    let addr = addr.split(',').next().unwrap_or_default();
    let (hostport, bus) = match addr.rsplit_once('@') {
        Some((hp, bus)) => (hp, bus.parse::<u16>().ok()),
        None => (addr, None),
    };
    let (host, port) = hostport.rsplit_once(':')?;
    let head = NodeHead {
        id,
        host: host.trim_start_matches('[').trim_end_matches(']').to_string(),
        port: port.parse::<u16>().unwrap_or(0),
        bus_port: bus,
        flags: flags.split(',').map(str::to_string).collect(),
        master: Some(*master).filter(|m| *m != "-" && is_node_id(m)).map(str::to_ascii_lowercase),
        config_epoch: config_epoch.parse::<u64>().unwrap_or(0),
        link_connected: *link == "connected",
    };
    Some((head, slot_tokens.to_vec()))
}

/// The slot ranges a line's slot tokens give its node (open-slot tokens and invalid
/// ranges left out), in the order given.
pub fn owned_ranges(slot_tokens: &[&str]) -> Vec<(u16, u16)> {
    let mut ranges = Vec::new();
    for token in slot_tokens.iter().filter(|t| !t.starts_with('[')) {
        if let Some((a, b)) = token.split_once('-') {
            if let (Some(a), Some(b)) = (parse_slot(a), parse_slot(b))
                && a <= b
            {
                ranges.push((a, b));
            }
        } else if let Some(slot) = parse_slot(token) {
            ranges.push((slot, slot));
        }
    }
    ranges
}

/// Parses one `CLUSTER NODES` line; `None` for a line that is not one.
pub fn parse_node_line(line: &str) -> Option<NodeLine> {
    let (head, slot_tokens) = parse_node_head(line)?;
    let mut slots = SlotSet::default();
    for (a, b) in owned_ranges(&slot_tokens) {
        for slot in a..=b {
            slots.insert(slot);
        }
    }
    let mut migrating = Vec::new();
    let mut importing = Vec::new();
    for token in &slot_tokens {
        let Some(inner) = token.strip_prefix('[').and_then(|t| t.strip_suffix(']')) else { continue };
        if let Some((slot, target)) = inner.split_once("->-") {
            if let (Some(slot), true) = (parse_slot(slot), is_node_id(target)) {
                migrating.push((slot, target.to_ascii_lowercase()));
            }
        } else if let Some((slot, source)) = inner.split_once("-<-")
            && let (Some(slot), true) = (parse_slot(slot), is_node_id(source))
        {
            importing.push((slot, source.to_ascii_lowercase()));
        }
    }
    Some(NodeLine { head, slots, migrating, importing })
}

/// The node's own line of a `CLUSTER NODES` reply (flags with `myself`), found by its
/// flags field first: only that line is parsed whole (a big view costs one pass).
pub fn myself_line(text: &str) -> Option<NodeLine> {
    myself_lines(text).find_map(parse_node_line)
}

/// The lines of a `CLUSTER NODES` reply flagged `myself`, unparsed (one in a sane reply).
pub fn myself_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter(|line| {
        let flags = line.split(' ').filter(|f| !f.is_empty()).nth(2).unwrap_or_default();
        flags.split(',').any(|f| f == "myself")
    })
}

/// Every valid line of a `CLUSTER NODES` reply.
pub fn parse_nodes(text: &str) -> Vec<NodeLine> {
    text.lines().filter_map(parse_node_line).collect()
}

/// The configuration signature of one node's `CLUSTER NODES` view: for each node
/// with slots, `id:` and its slot tokens sorted as strings; entries sorted and joined
/// by `|`. Nodes agree when their signatures are equal (only slot ownership counts).
pub fn config_signature(text: &str) -> String {
    // Borrowed pieces of `text`, sorted, then written out once: no string per line.
    let mut entries: Vec<(&str, Vec<&str>)> = Vec::new();
    for line in text.lines() {
        // id ip:port flags master ping-sent pong-recv epoch link, then the slot tokens.
        let mut fields = line.splitn(9, ' ');
        let Some(id) = fields.next() else { continue };
        let Some(tokens) = fields.nth(7) else { continue };
        let mut slots: Vec<&str> = tokens.split(' ').filter(|t| !t.is_empty() && !t.starts_with('[')).collect();
        if slots.is_empty() {
            continue;
        }
        slots.sort_unstable();
        entries.push((id, slots));
    }
    entries.sort_unstable();
    let mut signature = String::with_capacity(entries.iter().map(|(id, slots)| id.len() + 12 * slots.len()).sum());
    for (index, (id, slots)) in entries.iter().enumerate() {
        if index > 0 {
            signature.push('|');
        }
        signature.push_str(id);
        signature.push(':');
        for (at, slot) in slots.iter().enumerate() {
            if at > 0 {
                signature.push(',');
            }
            signature.push_str(slot);
        }
    }
    signature
}

#[cfg(test)]
mod tests {
    use super::*;

    const NODES: &str = "\
07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004,host4 slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected
67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@31002 master - 0 1426238316232 2 connected 5461-10922
292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 127.0.0.1:30003@31003 master - 0 1426238318243 3 connected 10923-16383
e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001 myself,master - 0 0 1 connected 0-5460 [609->-292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f] [77-<-67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1]
";

    /// The word-at-a-time iteration and ranges agree with a slot-by-slot walk, on runs
    /// that start and end on and across word edges, single slots, the first and last
    /// slot, the empty and the full set.
    #[test]
    fn slot_sets_iterate_and_range_like_a_walk_of_every_slot() {
        let cases: Vec<Vec<(u16, u16)>> = vec![
            vec![],
            vec![(0, 16383)],
            vec![(0, 0), (16383, 16383)],
            vec![(63, 64), (127, 127), (129, 191), (193, 255)],
            vec![(5, 5), (7, 9), (1000, 5460), (5462, 10922), (16320, 16383)],
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut random = SlotSet::default();
        for slot in 0..16384u16 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            if seed.is_multiple_of(3) {
                random.insert(slot);
            }
        }
        let mut sets: Vec<SlotSet> = cases.iter().map(|r| SlotSet::from_ranges(r)).collect();
        sets.push(random);
        for set in &sets {
            let walked: Vec<u16> = (0..16384u16).filter(|s| set.contains(*s)).collect();
            assert_eq!(set.iter().collect::<Vec<_>>(), walked);
            let mut runs: Vec<(u16, u16)> = Vec::new();
            for slot in walked {
                match runs.last_mut() {
                    Some((_, end)) if *end + 1 == slot => *end = slot,
                    _ => runs.push((slot, slot)),
                }
            }
            assert_eq!(set.ranges(), runs);
        }
        for ranges in &cases {
            assert_eq!(&SlotSet::from_ranges(ranges).ranges(), ranges);
        }
    }

    #[test]
    fn node_lines_parse() {
        let nodes = parse_nodes(NODES);
        assert_eq!(nodes.len(), 4);
        let replica = &nodes[0];
        assert_eq!(
            (replica.head.host.as_str(), replica.head.port, replica.head.bus_port),
            ("127.0.0.1", 30004, Some(31004))
        );
        assert_eq!(replica.head.master.as_deref(), Some("e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca"));
        let me = &nodes[3];
        assert!(me.head.has_flag("myself"));
        assert_eq!(me.slots.len(), 5461);
        assert_eq!(me.migrating, vec![(609, "292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f".to_string())]);
        assert_eq!(me.importing.len(), 1);
        assert_eq!(me.head.config_epoch, 1);
    }

    #[test]
    fn the_own_line_is_found_by_its_flags_and_parsed_alone() {
        let me = myself_line(NODES).unwrap();
        assert_eq!(Some(&me), parse_nodes(NODES).iter().find(|l| l.head.has_flag("myself")));
        assert!(myself_line("e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 1:2@3 master - 0 0 1 connected").is_none());
        let (head, tokens) = parse_node_head(NODES.lines().nth(3).unwrap()).unwrap();
        assert!(head.has_flag("myself") && tokens.len() == 3);
        assert_eq!(owned_ranges(&tokens), [(0, 5460)]);
        assert_eq!(owned_ranges(&["5-3", "7", "9-10", "[1->-x]", "16384"]), [(7, 7), (9, 10)]);
    }

    #[test]
    fn hostile_lines_are_skipped_or_clamped() {
        assert!(parse_node_line("garbage").is_none());
        assert!(parse_node_line("xyz 1:2@3 master - 0 0 1 connected").is_none());
        let line = parse_node_line(
            "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:99999@1 master - 0 0 x connected 16380-99999 5-3 16384 [9->-bad]",
        )
        .unwrap();
        assert_eq!(line.head.port, 0);
        assert!(line.slots.is_empty());
        assert!(line.migrating.is_empty());
    }

    #[test]
    fn ranges_print_like_redis_cli() {
        let set = SlotSet::from_ranges(&[(0, 5460), (5462, 5462), (7000, 7001)]);
        assert_eq!(ranges_text(&set.ranges()), "[0-5460],[5462],[7000-7001]");
        assert_eq!(set.len(), 5464);
    }

    #[test]
    fn signature_ignores_open_slots_and_order() {
        let a = config_signature(NODES);
        let reordered: String = NODES.lines().rev().map(|l| format!("{l}\n")).collect();
        assert_eq!(a, config_signature(&reordered));
        assert!(a.starts_with("292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f:10923-16383|"));
        assert!(!a.contains('['));
        assert!(!a.contains("07c37dfe"), "nodes without slots have no entry");
    }
}
