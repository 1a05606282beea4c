//! Cluster-wide streams, the pure half (docs/compatibility.md, "MONITOR and keyspace
//! notifications with -c"): which MONITOR, SUBSCRIBE or PSUBSCRIBE runs on several
//! nodes with `-c` ([`Watch::of`]) and on which ([`Watch::nodes`]); the key a keyspace
//! notification is about ([`notified_key`]); whether a node's copy of a message is the
//! one shown, so nothing is printed twice ([`shown`]); the node label ([`labelled`]);
//! and the `notify-keyspace-events` hint ([`silent`], [`hint`]). The readers, the map
//! reloads and the printing are `session/watch/`'s.

use crate::cluster::slot::slot_of;
use crate::cluster::target::Target;
use crate::cluster::topology::Topology;
use crate::endpoint::Endpoint;
use crate::protocol::resp::Frame;
use crate::protocol::text::escape_bytes;

const KEYSPACE: &[u8] = b"__keyspace@";
const KEYEVENT: &[u8] = b"__keyevent@";

/// A streaming command that runs on several nodes of a cluster at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watch {
    /// MONITOR: each node's commands, labelled with the node.
    Monitor,
    /// SUBSCRIBE/PSUBSCRIBE naming keyspace (`__keyspace@N__:…`) or keyevent
    /// (`__keyevent@N__:…`) channels: each key's events come from its primary.
    Keyspace { keyspace: bool, keyevent: bool },
}

impl Watch {
    /// What `argv` becomes with `-c`: `None` keeps a single node's stream (SSUBSCRIBE
    /// is routed by slot; channels of no keyspace are the same on every node).
    pub fn of(argv: &[Vec<u8>]) -> Option<Watch> {
        let (name, channels) = argv.split_first()?;
        if name.eq_ignore_ascii_case(b"monitor") && channels.is_empty() {
            return Some(Watch::Monitor);
        }
        let pattern = name.eq_ignore_ascii_case(b"psubscribe");
        if !pattern && !name.eq_ignore_ascii_case(b"subscribe") {
            return None;
        }
        let keyspace = channels.iter().any(|c| reaches(c, pattern, KEYSPACE));
        let keyevent = channels.iter().any(|c| reaches(c, pattern, KEYEVENT));
        (keyspace || keyevent).then_some(Watch::Keyspace { keyspace, keyevent })
    }

    pub fn is_monitor(self) -> bool {
        self == Watch::Monitor
    }

    /// The nodes the stream runs on for `target`, in map order; `None` when the target
    /// is one node (`:use HOST:PORT`, `random`): that node's stream, as without `-c`.
    /// MONITOR goes where the target says (the prompt's node or `auto` mean every
    /// primary); keyspace events always come from every primary, since a replica
    /// repeats its primary's.
    pub fn nodes(self, target: &Target, topology: &Topology) -> Option<Vec<Endpoint>> {
        let nodes = match (self, target) {
            (_, Target::Node(_) | Target::Random) => return None,
            (Watch::Monitor, Target::Replicas) => topology.replica_nodes(),
            (Watch::Monitor, Target::All) => topology.all_nodes(),
            _ => topology.primaries(),
        };
        Some(nodes.into_iter().map(|n| n.endpoint.clone()).collect())
    }
}

/// Whether `channel` (a pattern when `pattern`) names channels starting with `prefix`.
/// A pattern counts when its text before the first glob character is at least `__key`
/// and agrees with `prefix` (`__key*__:*`, `__keyevent@0__:*`), so `*` alone does not.
fn reaches(channel: &[u8], pattern: bool, prefix: &[u8]) -> bool {
    let glob = if pattern { channel.iter().position(|b| b"*?[\\".contains(b)) } else { None };
    match glob {
        None => channel.starts_with(prefix),
        Some(end) => {
            let literal = channel.get(..end).unwrap_or_default();
            literal.len() >= 5 && (prefix.starts_with(literal) || literal.starts_with(prefix))
        }
    }
}

/// The key a keyspace or keyevent message is about: the channel's tail after
/// `__keyspace@N__:`, or a keyevent message's payload. `None` for anything else
/// (confirmations, other channels' messages).
pub fn notified_key(frame: &Frame) -> Option<&[u8]> {
    let items = frame.as_items()?;
    let is = |kind: &Frame, word: &[u8]| kind.as_bytes().is_some_and(|k| k.eq_ignore_ascii_case(word));
    let (channel, payload) = match items {
        [kind, channel, payload] if is(kind, b"message") => (channel, payload),
        [kind, _, channel, payload] if is(kind, b"pmessage") => (channel, payload),
        _ => return None,
    };
    let channel = channel.as_bytes()?;
    if let Some(rest) = channel.strip_prefix(KEYSPACE) {
        return after_database(rest);
    }
    let rest = channel.strip_prefix(KEYEVENT)?;
    after_database(rest)?;
    payload.as_bytes()
}

/// `N__:tail` → `tail`, when N is a database number.
fn after_database(rest: &[u8]) -> Option<&[u8]> {
    let end = rest.windows(3).position(|w| w == b"__:")?;
    let digits = rest.get(..end)?;
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    rest.get(end.checked_add(3)?..)
}

/// Whether `from`'s copy of `frame` is printed, so that each event shows once. Only a
/// replica repeats another node's events (its primary's writes, replicated): a
/// keyspace event shows when the map has `from` as a primary (the key's owner, or a
/// slot's new owner while the map catches up with a move), or when the key's owner is
/// not streamed (`live`): the map is behind a failover and `from` was promoted. Another
/// channel's message (PUBLISH reaches every node) shows only from `voice`, one
/// streamed node.
pub fn shown(
    from: &Endpoint,
    frame: &Frame,
    topology: Option<&Topology>,
    live: impl Fn(&Endpoint) -> bool,
    voice: Option<&Endpoint>,
) -> bool {
    let Some(key) = notified_key(frame) else { return voice == Some(from) };
    let Some(topology) = topology else { return true };
    if topology.node(from).is_some_and(|n| n.primary) {
        return true;
    }
    topology.owner(slot_of(key)).is_none_or(|owner| owner == from || !live(owner))
}

/// `frame` from `node` with the node's label: a MONITOR line prefixed with
/// `[HOST:PORT] `, a message with the node appended as its last element.
pub fn labelled(frame: Frame, node: &Endpoint) -> Frame {
    match frame {
        Frame::Simple(text) => {
            let mut line = format!("[{node}] ").into_bytes();
            line.extend_from_slice(&text);
            Frame::Simple(line.into())
        }
        Frame::Array(mut items) | Frame::Push(mut items) => {
            items.push(Frame::Bulk(node.to_string().into_bytes()));
            Frame::Array(items)
        }
        other => other,
    }
}

/// Whether a node whose `notify-keyspace-events` is `value` sends none of the events
/// `watch` subscribes to: no event class, or neither K (keyspace channels) nor E
/// (keyevent channels) where they are wanted.
pub fn silent(value: &[u8], watch: Watch) -> bool {
    let Watch::Keyspace { keyspace, keyevent } = watch else { return false };
    let has = |flag: u8| value.contains(&flag);
    let classes = value.iter().any(|b| b"g$lshzxeAtmdn".contains(b));
    !classes || !((keyspace && has(b'K')) || (keyevent && has(b'E')))
}

/// The one line naming the nodes that send no keyspace events and the setting that
/// fixes it (rcli does not change it).
pub fn hint(nodes: &[(Endpoint, Vec<u8>)]) -> String {
    let named: Vec<String> =
        nodes.iter().map(|(node, value)| format!("{node} (\"{}\")", escape_bytes(value))).collect();
    format!(
        "-> no keyspace events come from {}: notify-keyspace-events leaves them off; \
         CONFIG SET notify-keyspace-events KEA on each node turns them on",
        named.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::topology::fixtures::two_shards as topology;

    fn argv(words: &[&str]) -> Vec<Vec<u8>> {
        words.iter().map(|w| w.as_bytes().to_vec()).collect()
    }

    fn bulk(text: &str) -> Frame {
        Frame::Bulk(text.as_bytes().to_vec())
    }

    #[test]
    fn monitor_and_keyspace_channels_go_cluster_wide_and_nothing_else() {
        assert_eq!(Watch::of(&argv(&["MONITOR"])), Some(Watch::Monitor));
        assert_eq!(Watch::of(&argv(&["monitor", "x"])), None);
        let both = Watch::Keyspace { keyspace: true, keyevent: true };
        assert_eq!(Watch::of(&argv(&["psubscribe", "__key*__:*"])), Some(both));
        assert_eq!(
            Watch::of(&argv(&["subscribe", "news", "__keyevent@0__:set"])),
            Some(Watch::Keyspace { keyspace: false, keyevent: true })
        );
        assert_eq!(
            Watch::of(&argv(&["PSUBSCRIBE", "__keyspace@*__:user:*"])),
            Some(Watch::Keyspace { keyspace: true, keyevent: false })
        );
        for plain in [
            &["subscribe", "news"][..],
            &["psubscribe", "*"],
            &["psubscribe", "__k*"],
            &["ssubscribe", "__keyspace@0__:a"],
        ] {
            assert_eq!(Watch::of(&argv(plain)), None, "{plain:?}");
        }
        // A channel (not a pattern) must really start with the prefix.
        assert_eq!(Watch::of(&argv(&["subscribe", "__key*__:*"])), None);
    }

    #[test]
    fn the_target_picks_the_nodes() {
        let topo = topology();
        let ports = |watch: Watch, target: Target| {
            watch.nodes(&target, &topo).map(|nodes| nodes.iter().map(ToString::to_string).collect::<Vec<_>>())
        };
        let primaries = Some(vec!["127.0.0.1:7000".to_string(), "127.0.0.1:7001".to_string()]);
        assert_eq!(ports(Watch::Monitor, Target::Current), primaries);
        assert_eq!(ports(Watch::Monitor, Target::Auto), primaries);
        assert_eq!(ports(Watch::Monitor, Target::All).map(|n| n.len()), Some(4));
        assert_eq!(ports(Watch::Monitor, Target::Replicas).map(|n| n.len()), Some(2));
        assert_eq!(ports(Watch::Monitor, Target::Node(Endpoint::tcp("127.0.0.1", 7003))), None);
        assert_eq!(ports(Watch::Monitor, Target::Random), None);
        let keyspace = Watch::Keyspace { keyspace: true, keyevent: false };
        assert_eq!(ports(keyspace, Target::All), primaries, "replicas would repeat their primary's events");
    }

    #[test]
    fn the_key_of_a_notification() {
        let message = |channel: &str, payload: &str| Frame::Array(vec![bulk("message"), bulk(channel), bulk(payload)]);
        assert_eq!(notified_key(&message("__keyspace@0__:user:1", "set")), Some(&b"user:1"[..]));
        assert_eq!(notified_key(&message("__keyspace@12__:a__:b", "del")), Some(&b"a__:b"[..]));
        assert_eq!(notified_key(&message("__keyevent@0__:expired", "k")), Some(&b"k"[..]));
        let pmessage = Frame::Push(vec![bulk("pmessage"), bulk("__key*__:*"), bulk("__keyevent@3__:set"), bulk("z")]);
        assert_eq!(notified_key(&pmessage), Some(&b"z"[..]));
        assert_eq!(notified_key(&message("news", "hi")), None);
        assert_eq!(notified_key(&message("__keyspace@x__:k", "set")), None);
        assert_eq!(notified_key(&message("__keyspace@0_k", "set")), None);
        let confirmation = Frame::Array(vec![bulk("subscribe"), bulk("__keyevent@0__:set"), Frame::Integer(1)]);
        assert_eq!(notified_key(&confirmation), None);
    }

    #[test]
    fn each_event_is_shown_once() {
        let topo = topology();
        let (a, b, replica) =
            (Endpoint::tcp("127.0.0.1", 7000), Endpoint::tcp("127.0.0.1", 7001), Endpoint::tcp("127.0.0.1", 7003));
        // "a" hashes to 15495 (7001's), "b" to 3300 (7000's).
        let event = |key: &str| Frame::Array(vec![bulk("message"), bulk("__keyevent@0__:set"), bulk(key)]);
        let everyone = |_: &Endpoint| true;
        assert!(shown(&b, &event("a"), Some(&topo), everyone, Some(&a)));
        assert!(shown(&a, &event("b"), Some(&topo), everyone, Some(&a)));
        // A primary repeats nobody: a slot moving shows on its new owner before the
        // map says so.
        assert!(shown(&a, &event("a"), Some(&topo), everyone, Some(&a)));
        // A replica's copy is its primary's event again.
        assert!(!shown(&replica, &event("b"), Some(&topo), everyone, Some(&a)));
        assert!(!shown(&replica, &event("a"), Some(&topo), everyone, Some(&a)));
        // A replica promoted before the map knows it: its events show while the old
        // owner is not streamed any more, and never beside the owner's own.
        assert!(shown(&replica, &event("b"), Some(&topo), |e: &Endpoint| *e != a, None));
        assert!(!shown(&replica, &event("b"), Some(&topo), everyone, None));
        // Other channels: once, from the voice.
        let news = Frame::Array(vec![bulk("message"), bulk("news"), bulk("hi")]);
        assert!(shown(&a, &news, Some(&topo), everyone, Some(&a)));
        assert!(!shown(&b, &news, Some(&topo), everyone, Some(&a)));
    }

    #[test]
    fn labels() {
        let node = Endpoint::tcp("127.0.0.1", 7001);
        let line = Frame::Simple(b"1700000000.123456 [0 127.0.0.1:5555] \"SET\" \"a\" \"1\"".as_slice().into());
        assert_eq!(
            labelled(line, &node),
            Frame::Simple(
                b"[127.0.0.1:7001] 1700000000.123456 [0 127.0.0.1:5555] \"SET\" \"a\" \"1\"".as_slice().into()
            )
        );
        let message = Frame::Push(vec![bulk("message"), bulk("__keyevent@0__:set"), bulk("k")]);
        assert_eq!(
            labelled(message, &node),
            Frame::Array(vec![bulk("message"), bulk("__keyevent@0__:set"), bulk("k"), bulk("127.0.0.1:7001")])
        );
    }

    #[test]
    fn silent_nodes_and_the_hint() {
        let both = Watch::Keyspace { keyspace: true, keyevent: true };
        let events = Watch::Keyspace { keyspace: false, keyevent: true };
        assert!(silent(b"", both));
        assert!(silent(b"KE", both), "no event class");
        assert!(!silent(b"KEA", both));
        assert!(!silent(b"Kx", both));
        assert!(silent(b"Kx", events), "keyevent channels need E");
        assert!(!silent(b"Eg$", events));
        assert!(!silent(b"", Watch::Monitor));
        let line = hint(&[
            (Endpoint::tcp("127.0.0.1", 7000), Vec::new()),
            (Endpoint::tcp("127.0.0.1", 7001), b"K\n".to_vec()),
        ]);
        assert_eq!(
            line,
            "-> no keyspace events come from 127.0.0.1:7000 (\"\"), 127.0.0.1:7001 (\"K\\x0a\"): notify-keyspace-events \
             leaves them off; CONFIG SET notify-keyspace-events KEA on each node turns them on"
        );
    }
}
