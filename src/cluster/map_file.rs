//! The slot map as a small text file, for the on-disk map cache (`client/map_cache.rs`):
//! written from a map the cluster gave, read back as a hint for one-shot commands. Pure:
//! bytes in, [`Topology`] out. A file is data from outside like any server reply, so
//! reading it checks everything — the header, the cluster it belongs to (the seed it
//! was loaded through, TLS or not), each node id (40 hex digits), host, port and
//! hostname, each slot range, no slot claimed twice, the closing line — and anything
//! wrong makes the whole file worthless ([`decode`] returns `None`).
//!
//! ```text
//! rcli-slot-map 1
//! cluster tls=0 seed=127.0.0.1:7000
//! shard <node id> <host> <port> <hostname or -> <start-end>[,<start-end>…]
//! end
//! ```
//!
//! Only primaries that serve slots are kept: that is all a hint needs. No credentials,
//! no TLS material: a file names nodes and slots, nothing else.

use crate::cluster::map_reply::is_host;
use crate::cluster::slot::SLOTS;
use crate::cluster::topology::{Node, Shard, Topology};
use crate::endpoint::Endpoint;

const HEADER: &str = "rcli-slot-map 1";
const END: &str = "end";
/// Slot ranges one shard may list (a map cut to single slots at worst).
const MAX_RANGES: usize = SLOTS;

/// Which cluster a file belongs to: the seed it was loaded through, and whether over
/// TLS (a node's TLS port is another endpoint than its plain one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub seed: Endpoint,
    pub tls: bool,
}

impl Identity {
    /// The file's second line.
    fn line(&self) -> Option<String> {
        match &self.seed {
            Endpoint::Tcp { host, port } if is_host(host) && !host.is_empty() => {
                Some(format!("cluster tls={} seed={host}:{port}", u8::from(self.tls)))
            }
            _ => None,
        }
    }
}

/// A node id as the cluster makes them: 40 hex digits.
pub fn is_node_id(id: &str) -> bool {
    id.len() == 40 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The file for `topology` loaded through `identity`'s seed; `None` when the map
/// holds what the file cannot carry faithfully (an id that is not a node id, a host
/// with spaces, a Unix socket) — then nothing is cached.
pub fn encode(identity: &Identity, topology: &Topology) -> Option<String> {
    let mut text = format!("{HEADER}\n{}\n", identity.line()?);
    let mut shards = 0;
    for shard in topology.shards_in_slot_order() {
        let Some(primary) = &shard.primary else { continue };
        if shard.ranges.is_empty() {
            continue;
        }
        let Endpoint::Tcp { host, port } = &primary.endpoint else { return None };
        if !is_node_id(&primary.id) || !is_host(host) || host.is_empty() {
            return None;
        }
        let hostname = match &primary.hostname {
            Some(name) if is_host(name) && !name.is_empty() => name.as_str(),
            Some(_) => return None,
            None => "-",
        };
        let ranges: Vec<String> = shard.ranges.iter().map(|(a, b)| format!("{a}-{b}")).collect();
        text.push_str(&format!("shard {} {host} {port} {hostname} {}\n", primary.id, ranges.join(",")));
        shards += 1;
    }
    if shards == 0 {
        return None;
    }
    text.push_str(END);
    text.push('\n');
    Some(text)
}

/// The map in `bytes` if it is a whole, sound file of `identity`'s cluster.
pub fn decode(identity: &Identity, bytes: &[u8]) -> Option<Topology> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut lines = text.split('\n');
    if lines.next()? != HEADER || lines.next()? != identity.line()? {
        return None;
    }
    let mut shards = Vec::new();
    loop {
        let line = lines.next()?;
        if line == END {
            break;
        }
        shards.push(shard(line)?);
    }
    // Nothing but the final newline may follow the closing line.
    if !lines.next()?.is_empty() || lines.next().is_some() || shards.is_empty() {
        return None;
    }
    Topology::new(shards).ok()
}

/// One `shard …` line.
fn shard(line: &str) -> Option<Shard> {
    let mut words = line.split(' ');
    if words.next()? != "shard" {
        return None;
    }
    let (id, host, port, hostname, ranges) =
        (words.next()?, words.next()?, words.next()?, words.next()?, words.next()?);
    if words.next().is_some() || !is_node_id(id) || host.is_empty() || !is_host(host) {
        return None;
    }
    let port: u16 = port.parse().ok().filter(|&p| p != 0 && !port.starts_with('+'))?;
    let hostname = match hostname {
        "-" => None,
        name if !name.is_empty() && is_host(name) => Some(name.to_string()),
        _ => return None,
    };
    let ranges = ranges.split(',').map(range).collect::<Option<Vec<_>>>()?;
    if ranges.is_empty() || ranges.len() > MAX_RANGES {
        return None;
    }
    let primary = Node {
        id: id.to_string(),
        endpoint: Endpoint::tcp(host, port),
        primary: true,
        health: "unknown".into(),
        hostname,
        zone: None,
    };
    Some(Shard { primary: Some(primary), replicas: Vec::new(), ranges })
}

/// `start-end`, both slots, in order.
fn range(text: &str) -> Option<(u16, u16)> {
    let (start, end) = text.split_once('-')?;
    let slot =
        |s: &str| s.parse::<u16>().ok().filter(|&v| usize::from(v) < SLOTS && s.bytes().all(|b| b.is_ascii_digit()));
    let (start, end) = (slot(start)?, slot(end)?);
    (start <= end).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> String {
        format!("{n:02x}").repeat(20)
    }

    fn identity() -> Identity {
        Identity { seed: Endpoint::tcp("127.0.0.1", 7000), tls: false }
    }

    fn three() -> Topology {
        let node = |n: u8, port: u16, hostname: Option<&str>| Node {
            id: id(n),
            endpoint: Endpoint::tcp("127.0.0.1", port),
            primary: true,
            health: "online".into(),
            hostname: hostname.map(str::to_string),
            zone: None,
        };
        let shard = |node: Node, ranges: Vec<(u16, u16)>| Shard { primary: Some(node), replicas: Vec::new(), ranges };
        Topology::new(vec![
            shard(node(1, 7000, None), vec![(0, 5460)]),
            shard(node(2, 7001, Some("b.example")), vec![(5461, 10922)]),
            shard(node(3, 7002, None), vec![(10923, 16000), (16001, 16383)]),
        ])
        .unwrap()
    }

    #[test]
    fn a_map_reads_back_as_it_was_written() {
        let text = encode(&identity(), &three()).unwrap();
        assert!(text.starts_with("rcli-slot-map 1\ncluster tls=0 seed=127.0.0.1:7000\nshard "), "{text}");
        let back = decode(&identity(), text.as_bytes()).unwrap();
        for slot in [0, 5460, 5461, 10922, 10923, 16383] {
            assert_eq!(back.owner(slot), three().owner(slot), "slot {slot}");
        }
        let b = back.node(&Endpoint::tcp("127.0.0.1", 7001)).unwrap();
        assert_eq!((b.id.as_str(), b.hostname.as_deref()), (id(2).as_str(), Some("b.example")));
    }

    #[test]
    fn another_cluster_or_transport_does_not_read_it() {
        let text = encode(&identity(), &three()).unwrap();
        let other_seed = Identity { seed: Endpoint::tcp("127.0.0.1", 7001), tls: false };
        let over_tls = Identity { tls: true, ..identity() };
        assert!(decode(&other_seed, text.as_bytes()).is_none());
        assert!(decode(&over_tls, text.as_bytes()).is_none());
    }

    #[test]
    fn anything_garbled_makes_the_file_worthless() {
        let good = encode(&identity(), &three()).unwrap();
        let mut cases: Vec<String> = vec![
            String::new(),
            "garbage".into(),
            good.replace("end\n", ""),
            good.replace("end\n", "end"),
            good.replace("end\n", "end\nmore\n"),
            good.replace("7001", "0"),
            good.replace("7001", "70000"),
            good.replace("7001", "+7001"),
            good.replace("5461-10922", "5461-16384"),
            good.replace("5461-10922", "10922-5461"),
            good.replace("5461-10922", "5000-10922"),
            good.replace("5461-10922", "5461-10922,"),
            good.replace("b.example", "b\u{7}x"),
            good.replace(&id(2), &"z".repeat(40)),
            good.replace(&id(2), &id(2)[..39]),
            good.replace("shard ", "shard  "),
            good.replace("\n", "\r\n"),
        ];
        cases.push(good.replace("127.0.0.1 7001", "127.0.0.1\u{1b}[2J 7001"));
        for case in &cases {
            assert!(decode(&identity(), case.as_bytes()).is_none(), "accepted: {case:?}");
        }
        assert!(decode(&identity(), &[0xff, 0xfe]).is_none());
        assert!(decode(&identity(), good.as_bytes()).is_some());
    }

    #[test]
    fn maps_a_file_cannot_carry_are_not_written() {
        let unix = Identity { seed: Endpoint::Unix("/tmp/s".into()), tls: false };
        assert!(encode(&unix, &three()).is_none());
        assert!(encode(&identity(), &Topology::evenly(&[Endpoint::tcp("h", 1)])).is_none(), "ids are addresses");
        assert!(encode(&identity(), &Topology::empty()).is_none());
    }
}
