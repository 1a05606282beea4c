//! Pure routing decisions for cluster mode: which slot or node a command goes to,
//! how a cross-slot MGET/MSET/DEL/UNLINK/EXISTS/TOUCH is split and merged back, how
//! several nodes' replies combine under a response policy, and the explanation (with a
//! hash-tag rewrite) for a cross-slot command rcli refuses to send.

use crate::cluster::command::Traits;
use crate::cluster::commands::{RequestPolicy, ResponsePolicy};
use crate::cluster::slot::{self, HashedPart};
use crate::cluster::target::Target;
use crate::cluster::topology::{Node, Topology};
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};

/// Where a command goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// A keyless command to one node.
    Node(Endpoint),
    /// A keyed command whose keys share `slot`, owned by `endpoint`.
    Slot { slot: u16, endpoint: Endpoint },
    /// A multi-key command split into one command per slot: (slot, key positions).
    Split { kind: SplitKind, groups: Vec<(u16, Vec<usize>)> },
    /// A keyless command sent to several nodes.
    Fanout { nodes: Vec<Endpoint>, policy: Option<ResponsePolicy> },
}

/// The commands rcli splits across slots, and how their replies merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitKind {
    /// MGET: values back in key order.
    Mget,
    /// MSET: key/value pairs; OK only if every part is OK.
    Mset,
    /// DEL, UNLINK, EXISTS, TOUCH: integers summed.
    Sum,
}

impl SplitKind {
    pub fn of(name: &[u8]) -> Option<SplitKind> {
        let name = name.to_ascii_lowercase();
        match name.as_slice() {
            b"mget" => Some(SplitKind::Mget),
            b"mset" => Some(SplitKind::Mset),
            b"del" | b"unlink" | b"exists" | b"touch" => Some(SplitKind::Sum),
            _ => None,
        }
    }
}

/// Plans a keyless command: the `:use` target decides, and under the default target
/// the server's request-policy tip (all shards, all nodes) or else the prompt's node
/// (`current`). `pick` chooses among the primaries for the random target.
pub fn plan_keyless(target: &Target, traits: Traits, topology: &Topology, current: &Endpoint, pick: usize) -> Plan {
    let endpoints = |nodes: Vec<&Node>| -> Vec<Endpoint> { nodes.into_iter().map(|n| n.endpoint.clone()).collect() };
    let policy = traits.response_policy;
    match target {
        Target::Current => Plan::Node(current.clone()),
        Target::Node(e) => Plan::Node(e.clone()),
        Target::Primaries => Plan::Fanout { nodes: endpoints(topology.primaries()), policy },
        Target::Replicas => Plan::Fanout { nodes: endpoints(topology.replica_nodes()), policy },
        Target::All => Plan::Fanout { nodes: endpoints(topology.all_nodes()), policy },
        Target::Random => {
            let nodes = endpoints(topology.primaries());
            let chosen = nodes.len().checked_sub(1).map(|last| pick.min(last)).and_then(|i| nodes.get(i));
            Plan::Node(chosen.cloned().unwrap_or_else(|| current.clone()))
        }
        Target::Auto => match traits.request_policy {
            Some(RequestPolicy::AllShards) => Plan::Fanout { nodes: endpoints(topology.primaries()), policy },
            Some(RequestPolicy::AllNodes) => Plan::Fanout { nodes: endpoints(topology.all_nodes()), policy },
            _ => Plan::Node(current.clone()),
        },
    }
}

/// Plans a command with keys at `positions`. `owner` maps a slot to its primary.
pub fn plan_keyed(
    argv: &[Vec<u8>],
    positions: &[usize],
    in_transaction: bool,
    owner: impl Fn(u16) -> Option<Endpoint>,
) -> Result<Plan> {
    let slots: Vec<u16> = positions.iter().filter_map(|&p| argv.get(p)).map(|k| slot::slot_of(k)).collect();
    let Some(&first) = slots.first() else {
        return Err(Error::Refused("internal error: a keyed command without keys".into()));
    };
    if slots.iter().all(|&s| s == first) {
        let endpoint = owner(first).ok_or_else(|| {
            Error::Refused(format!("slot {first} is not served by any node (the cluster is missing slots)"))
        })?;
        return Ok(Plan::Slot { slot: first, endpoint });
    }
    match argv.first().and_then(|name| SplitKind::of(name)) {
        Some(kind) if !in_transaction => {
            let mut groups: Vec<(u16, Vec<usize>)> = Vec::new();
            for (&position, &slot) in positions.iter().zip(&slots) {
                match groups.iter_mut().find(|(s, _)| *s == slot) {
                    Some((_, group)) => group.push(position),
                    None => groups.push((slot, vec![position])),
                }
            }
            Ok(Plan::Split { kind, groups })
        }
        _ => Err(Error::Refused(cross_slot_explanation(argv, positions, in_transaction, owner))),
    }
}

/// The slot of a one-shot command the slot map cached on disk may route
/// (docs/architecture.md, "The slot-map cache"): a command the table knows, with keys,
/// all in one slot, that neither streams nor changes the session. Commands split per
/// slot, keyless ones (a fan-out, the prompt's node, the server's tips) and unknown
/// ones load the map as usual.
pub fn cached_map_slot(argv: &[Vec<u8>], positions: &[usize], traits: Traits) -> Option<u16> {
    if !traits.known || traits.streams || traits.pubsub || traits.changes_session {
        return None;
    }
    let mut slots = positions.iter().map(|&p| argv.get(p).map(|key| slot::slot_of(key)));
    let first = slots.next()??;
    slots.all(|s| s == Some(first)).then_some(first)
}

/// The text shown instead of sending a command whose keys span slots.
pub fn cross_slot_explanation(
    argv: &[Vec<u8>],
    positions: &[usize],
    in_transaction: bool,
    owner: impl Fn(u16) -> Option<Endpoint>,
) -> String {
    let name = String::from_utf8_lossy(argv.first().map(Vec::as_slice).unwrap_or_default()).to_uppercase();
    let why = if in_transaction { " (inside MULTI rcli does not split commands)" } else { "" };
    let mut text = format!("CROSSSLOT: not sent, the keys of {name} map to different slots{why}:");
    let keys: Vec<&[u8]> = positions.iter().filter_map(|&p| argv.get(p)).map(Vec::as_slice).collect();
    for key in &keys {
        let s = slot::slot_of(key);
        let node = owner(s).map(|e| format!(" on {e}")).unwrap_or_default();
        text.push_str(&format!("\n  {} → slot {s}{node}", crate::protocol::split::repr_string(key)));
    }
    let suggestion: Vec<String> =
        suggest_hash_tags(&keys).iter().map(|k| crate::protocol::split::repr_string(k)).collect();
    text.push_str(&format!(
        "\nhint: give the keys a common hash tag so they share a slot, e.g. {}",
        suggestion.join(" ")
    ));
    text
}

/// Rewrites `keys` so they share a hash tag: the longest common prefix up to a
/// separator becomes the tag (`user:1000.a`, `user:1000.b` → `{user:1000}.a`,
/// `{user:1000}.b`); keys with no common prefix get the first key's tag or name.
pub fn suggest_hash_tags(keys: &[&[u8]]) -> Vec<Vec<u8>> {
    let untagged: Vec<Vec<u8>> = keys
        .iter()
        .map(|k| match slot::hashed_part(k) {
            // The key without its braces: `{user}:1` → `user:1`.
            HashedPart::Tag { start, end } => {
                let (before, rest) = k.split_at(start.saturating_sub(1).min(k.len()));
                let tag = rest.get(1..end.saturating_sub(before.len())).unwrap_or_default();
                let after = k.get(end + 1..).unwrap_or_default();
                [before, tag, after].concat()
            }
            _ => k.to_vec(),
        })
        .collect();
    let first = untagged.first().cloned().unwrap_or_default();
    let common = untagged
        .iter()
        .skip(1)
        .fold(first.len(), |len, k| first.iter().zip(k.iter()).take(len).take_while(|(a, b)| a == b).count());
    let separators = b":._-/|";
    let tag_len = first.get(..common).unwrap_or_default().iter().rposition(|b| separators.contains(b)).unwrap_or(0);
    if tag_len > 0 {
        untagged
            .iter()
            .map(|k| {
                let (tag, rest) = k.split_at(tag_len.min(k.len()));
                [b"{".as_slice(), tag, b"}", rest].concat()
            })
            .collect()
    } else {
        let first_key = keys.first().copied().unwrap_or_default();
        let tag = match slot::hashed_part(first_key) {
            part @ HashedPart::Tag { .. } => part.bytes(first_key).to_vec(),
            _ => first.clone(),
        };
        untagged.iter().map(|k| [b"{".as_slice(), &tag, b"}:", k].concat()).collect()
    }
}

/// The command for one slot's share of a split command.
pub fn sub_command(argv: &[Vec<u8>], kind: SplitKind, positions: &[usize]) -> Vec<Vec<u8>> {
    let mut sub: Vec<Vec<u8>> = argv.first().cloned().into_iter().collect();
    for &p in positions {
        let Some(key) = argv.get(p) else { continue };
        sub.push(key.clone());
        if kind == SplitKind::Mset
            && let Some(value) = argv.get(p + 1)
        {
            sub.push(value.clone());
        }
    }
    sub
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(line: &str) -> Vec<Vec<u8>> {
        line.split(' ').map(|s| s.as_bytes().to_vec()).collect()
    }

    fn owner(slot: u16) -> Option<Endpoint> {
        Some(Endpoint::tcp("127.0.0.1", if slot < 8192 { 7000 } else { 7001 }))
    }

    #[test]
    fn same_slot_goes_to_its_owner() {
        let plan = plan_keyed(&argv("MSET {u}a 1 {u}b 2"), &[1, 3], false, owner).unwrap();
        assert!(matches!(plan, Plan::Slot { .. }));
    }

    #[test]
    fn cross_slot_mget_splits_by_slot() {
        let cmd = argv("MGET foo bar foo2");
        let Plan::Split { kind, groups } = plan_keyed(&cmd, &[1, 2, 3], false, owner).unwrap() else {
            panic!("expected a split")
        };
        assert_eq!(kind, SplitKind::Mget);
        let positions: Vec<usize> = groups.iter().flat_map(|(_, p)| p.clone()).collect();
        assert_eq!(positions.len(), 3);
    }

    #[test]
    fn mset_sub_commands_keep_values() {
        assert_eq!(sub_command(&argv("MSET a 1 b 2"), SplitKind::Mset, &[3]), argv("MSET b 2"));
    }

    #[test]
    fn cross_slot_commands_that_cannot_split_are_refused_with_a_tag_hint() {
        let err = plan_keyed(&argv("SUNIONSTORE user:1000.a user:1000.b x"), &[1, 2, 3], false, owner).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("CROSSSLOT: not sent"), "{text}");
        assert!(text.contains("\"user:1000.a\" → slot"), "{text}");
        assert!(plan_keyed(&argv("MGET foo bar"), &[1, 2], true, owner).is_err(), "no splitting inside MULTI");
    }

    #[test]
    fn hash_tag_suggestions() {
        let keys: Vec<&[u8]> = vec![b"user:1000.a", b"user:1000.b"];
        assert_eq!(suggest_hash_tags(&keys), vec![b"{user:1000}.a".to_vec(), b"{user:1000}.b".to_vec()]);
        let keys: Vec<&[u8]> = vec![b"a", b"b"];
        assert_eq!(suggest_hash_tags(&keys), vec![b"{a}:a".to_vec(), b"{a}:b".to_vec()]);
        for k in suggest_hash_tags(&[b"user:1:x", b"user:2:y"]) {
            assert_eq!(slot::slot_of(&k), slot::slot_of(b"{user}"));
        }
    }

    #[test]
    fn the_cached_map_routes_known_single_slot_commands_only() {
        let table = crate::cluster::commands::CommandTable::builtin();
        let slot_of = |line: &str| {
            let command = crate::cluster::command::Command::new(argv(line), &table);
            cached_map_slot(&command.argv, &command.keys, command.traits)
        };
        assert_eq!(slot_of("GET foo"), Some(slot::slot_of(b"foo")));
        assert_eq!(slot_of("INCR foo"), Some(slot::slot_of(b"foo")));
        assert_eq!(slot_of("MGET {u}a {u}b"), Some(slot::slot_of(b"u")));
        assert_eq!(slot_of("MGET a b"), None, "split per slot");
        assert_eq!(slot_of("DBSIZE"), None, "keyless");
        assert_eq!(slot_of("SSUBSCRIBE ch"), None, "a stream");
        assert_eq!(slot_of("SPUBLISH ch m"), None, "Pub/Sub");
        assert_eq!(slot_of("WATCH k"), None, "changes the session");
        assert_eq!(slot_of("NOSUCHCOMMAND k"), None, "unknown");
    }
}
