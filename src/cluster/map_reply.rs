//! Reading `CLUSTER SHARDS` (Redis 7+) and `CLUSTER SLOTS` replies into a
//! [`Topology`]. Everything in them is untrusted: slot ranges must lie in 0–16383 and not
//! overlap, ports in 1–65535, host names must be host names; node ids and health words
//! are shown escaped if they are not what a server sends. A bad value is an error that
//! names it, so the caller can say which node sent it and fall back (CLUSTER SLOTS).
//!
//! A node's endpoint is what the cluster announces: SHARDS `endpoint` (per
//! `cluster-preferred-endpoint-type`: an IP, a hostname, `?`), else `ip`; SLOTS element
//! 0 (or NULL); `?` or empty means the node asked, as the cluster spec says. On a TLS
//! connection the SHARDS port is `tls-port` (a TLS-only node reports no `port`). The
//! announced `hostname` (SHARDS field, SLOTS metadata) is kept for TLS names, and the
//! `availability-zone` (the same places, Valkey 9) for `--az`. Fields rcli does not know
//! are skipped, and a zone never makes a reply invalid: it is only shown (escaped) and
//! compared.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::cluster::slot::SLOTS;
use crate::cluster::topology::{Node, Shard, Topology};
use crate::endpoint::Endpoint;
use crate::protocol::resp::{Frame, field};
use crate::protocol::text::escape_controls;

/// Longest host name accepted (DNS allows 253 characters).
const MAX_HOST: usize = 255;

fn text(frame: &Frame) -> String {
    frame.to_text().unwrap_or_default()
}

/// A node's host: the one reported, or the asked node's host when the reply leaves it
/// empty (`cluster-preferred-endpoint-type unknown-endpoint`) or says `?`.
fn host_or(reported: String, asked: &Endpoint) -> Result<String, String> {
    match asked {
        Endpoint::Tcp { host, .. } if reported.is_empty() || reported == "?" => Ok(host.clone()),
        _ if reported.is_empty() || reported == "?" => Ok("127.0.0.1".to_string()),
        _ => valid_host(reported),
    }
}

/// True for a host rcli takes from a node: printable ASCII without spaces, at most
/// [`MAX_HOST`] bytes (a host name or an IP literal).
pub fn is_host(host: &str) -> bool {
    host.bytes().all(|b| b.is_ascii_graphic()) && host.len() <= MAX_HOST
}

/// A host name or IP literal ([`is_host`]), or an error naming it.
fn valid_host(host: String) -> Result<String, String> {
    if is_host(&host) { Ok(host) } else { Err(format!("invalid host name {:?}", escape_controls(&host, false))) }
}

/// An announced hostname: `None` when absent, empty or `?`.
fn hostname(frame: Option<&Frame>) -> Result<Option<String>, String> {
    match frame.map(text) {
        None => Ok(None),
        Some(name) if name.is_empty() || name == "?" => Ok(None),
        Some(name) => valid_host(name).map(Some),
    }
}

fn port_of(frame: Option<&Frame>) -> Result<u16, String> {
    let value = frame.and_then(Frame::as_integer).ok_or("a node without a port")?;
    u16::try_from(value).ok().filter(|&p| p != 0).ok_or_else(|| format!("invalid port {value}"))
}

fn slot_of(frame: &Frame) -> Result<u16, String> {
    let value = frame.as_integer().ok_or("a slot that is not a number")?;
    u16::try_from(value)
        .ok()
        .filter(|&s| usize::from(s) < SLOTS)
        .ok_or_else(|| format!("slot {value} out of range 0-{}", SLOTS - 1))
}

fn range(start: &Frame, end: &Frame) -> Result<(u16, u16), String> {
    let (start, end) = (slot_of(start)?, slot_of(end)?);
    if start > end {
        return Err(format!("slot range {start}-{end} is reversed"));
    }
    Ok((start, end))
}

/// A node id as shown: the id when it is one (hex), else escaped.
fn node_id(frame: Option<&Frame>) -> String {
    let id = frame.map(text).unwrap_or_default();
    if id.bytes().all(|b| b.is_ascii_hexdigit()) { id } else { escaped(id) }
}

/// An announced availability zone: `None` when absent or empty; control characters
/// escaped, at most [`MAX_HOST`] characters kept (it is only shown and compared).
fn zone(frame: Option<&Frame>) -> Option<String> {
    let name = frame.map(text).filter(|name| !name.is_empty())?;
    let name: String = name.chars().take(MAX_HOST).collect();
    Some(escape_controls(&name, false).into_owned())
}

fn health(frame: Option<&Frame>) -> String {
    match frame.map(text) {
        None => "unknown".into(),
        Some(word) => escaped(word),
    }
}

/// `text` with control characters escaped, reusing it when there are none.
fn escaped(text: String) -> String {
    match escape_controls(&text, false) {
        Cow::Borrowed(_) => text,
        Cow::Owned(escaped) => escaped,
    }
}

/// The fields of one `CLUSTER SHARDS` node that rcli reads, found in one pass over its
/// key/value pairs (a RESP3 map or a RESP2 array; the first of a repeated key counts,
/// as [`field`] finds it).
#[derive(Default)]
struct NodeFields<'f> {
    id: Option<&'f Frame>,
    port: Option<&'f Frame>,
    tls_port: Option<&'f Frame>,
    endpoint: Option<&'f Frame>,
    ip: Option<&'f Frame>,
    role: Option<&'f Frame>,
    health: Option<&'f Frame>,
    hostname: Option<&'f Frame>,
    zone: Option<&'f Frame>,
}

impl<'f> NodeFields<'f> {
    /// The fields of `frame`; `None` when it is not key/value pairs.
    fn of(frame: &'f Frame) -> Option<NodeFields<'f>> {
        let mut fields = NodeFields::default();
        match frame {
            Frame::Map(pairs) => pairs.iter().for_each(|(key, value)| fields.take(key, value)),
            Frame::Array(items) if items.len() % 2 == 0 => {
                for pair in items.chunks_exact(2) {
                    if let [key, value] = pair {
                        fields.take(key, value);
                    }
                }
            }
            Frame::Attributed { reply, .. } => return NodeFields::of(reply),
            _ => return None,
        }
        Some(fields)
    }

    fn take(&mut self, key: &Frame, value: &'f Frame) {
        let slot = match key.as_bytes() {
            Some(b"id") => &mut self.id,
            Some(b"port") => &mut self.port,
            Some(b"tls-port") => &mut self.tls_port,
            Some(b"endpoint") => &mut self.endpoint,
            Some(b"ip") => &mut self.ip,
            Some(b"role") => &mut self.role,
            Some(b"health") => &mut self.health,
            Some(b"hostname") => &mut self.hostname,
            Some(b"availability-zone") => &mut self.zone,
            _ => return,
        };
        slot.get_or_insert(value);
    }
}

impl Topology {
    /// Parses a `CLUSTER SHARDS` reply received from `asked` on a plain connection.
    pub fn from_shards(reply: &Frame, asked: &Endpoint) -> Result<Topology, String> {
        Topology::from_shards_via(reply, asked, false)
    }

    /// Parses a `CLUSTER SHARDS` reply received from `asked`; `tls`: on a TLS
    /// connection, whose nodes are reached on their `tls-port`.
    pub fn from_shards_via(reply: &Frame, asked: &Endpoint, tls: bool) -> Result<Topology, String> {
        let shard_frames = reply.as_items().ok_or("CLUSTER SHARDS reply is not an array")?;
        let mut shards = Vec::with_capacity(shard_frames.len().min(SLOTS));
        for shard_frame in shard_frames {
            let pairs = shard_frame.to_pairs().ok_or("a shard is not a map")?;
            let bounds = field(&pairs, "slots").and_then(Frame::as_items).ok_or("a shard without slots")?;
            if bounds.len() % 2 != 0 {
                return Err("a shard's slot list has an odd length".into());
            }
            let ranges = bounds
                .chunks_exact(2)
                .map(|r| match r {
                    [start, end] => range(start, end),
                    _ => Err("a slot range without both bounds".into()),
                })
                .collect::<Result<Vec<_>, String>>()?;
            let mut shard = Shard { primary: None, replicas: Vec::new(), ranges };
            let nodes = field(&pairs, "nodes").and_then(Frame::as_items).ok_or("a shard without nodes")?;
            for node_frame in nodes {
                let node = NodeFields::of(node_frame).ok_or("a node is not a map")?;
                let port = match tls {
                    true => port_of(node.tls_port).or_else(|_| port_of(node.port))?,
                    false => port_of(node.port)?,
                };
                let host = host_or(node.endpoint.or(node.ip).map(text).unwrap_or_default(), asked)?;
                let role = node.role.and_then(Frame::as_bytes);
                let parsed = Node {
                    id: node_id(node.id),
                    endpoint: Endpoint::Tcp { host, port },
                    primary: role == Some(b"master") || role == Some(b"primary"),
                    health: health(node.health),
                    hostname: hostname(node.hostname)?,
                    zone: zone(node.zone),
                };
                // After a failover the old primary may still be listed as a failed master.
                if parsed.primary && (shard.primary.is_none() || parsed.health == "online") {
                    if let Some(previous) = shard.primary.replace(parsed) {
                        shard.replicas.push(Node { primary: false, ..previous });
                    }
                } else {
                    shard.replicas.push(Node { primary: false, ..parsed });
                }
            }
            shards.push(shard);
        }
        Topology::new(shards)
    }

    /// Parses a `CLUSTER SLOTS` reply received from `asked`.
    pub fn from_slots(reply: &Frame, asked: &Endpoint) -> Result<Topology, String> {
        let mut shards: Vec<Shard> = Vec::new();
        // Each primary's shard, by endpoint: a range names its primary again.
        let mut shard_of: HashMap<Endpoint, usize> = HashMap::new();
        for entry in reply.as_items().ok_or("CLUSTER SLOTS reply is not an array")? {
            let items = entry.as_items().ok_or("a slot range is not an array")?;
            let [start, end, nodes @ ..] = items else { return Err("a slot range without bounds".into()) };
            let slots = range(start, end)?;
            let mut nodes = nodes.iter().map(|n| {
                let fields = n.as_items().ok_or("a node is not an array")?;
                let host = host_or(fields.first().map(text).unwrap_or_default(), asked)?;
                let port = port_of(fields.get(1))?;
                // Element 3: metadata (`hostname`, `ip`, `availability-zone`), a map in
                // RESP3, pairs in RESP2.
                let metadata = fields.get(3).and_then(Frame::to_pairs).unwrap_or_default();
                Ok(Node {
                    id: node_id(fields.get(2)),
                    endpoint: Endpoint::tcp(&host, port),
                    primary: false,
                    health: "unknown".into(),
                    hostname: hostname(field(&metadata, "hostname"))?,
                    zone: zone(field(&metadata, "availability-zone")),
                })
            });
            let Some(primary) = nodes.next().transpose()? else { continue };
            let replicas: Vec<Node> = nodes.collect::<Result<_, String>>()?;
            match shard_of.get(&primary.endpoint).and_then(|&i| shards.get_mut(i)) {
                Some(shard) => shard.ranges.push(slots),
                None => {
                    shard_of.insert(primary.endpoint.clone(), shards.len());
                    shards.push(Shard {
                        primary: Some(Node { primary: true, ..primary }),
                        replicas,
                        ranges: vec![slots],
                    });
                }
            }
        }
        Topology::new(shards)
    }
}

#[cfg(test)]
#[path = "map_reply_tests.rs"]
mod tests;
