//! Loading the cluster from one entry node, by redis-cli's rules (docs/cluster-manager.md,
//! "Loading the cluster"): the entry node's `CLUSTER NODES` lists the others; each is
//! asked for its own line (its slots and open slots); nodes that cannot be reached or
//! that the entry node marks `fail`/`noaddr`/disconnected are left out, and rcli
//! remembers them (`Cluster::skipped`) to warn and to refuse. The other nodes are asked
//! at once, on a bounded number of threads ([`super::parallel`]), each once: its own
//! line is found by its flags and parsed alone, and its view's configuration signature
//! is kept for the check that follows the load ([`agree`]), which then asks no one again.

use crate::endpoint::Endpoint;
use crate::error::Error;

use super::Manager;
use super::link::{Link, error_of, info_field, reply_text};
use super::model::{Cluster, Node, NodeLine, Skipped, config_signature, myself_line, parse_nodes};

/// Why loading stopped (already reported).
#[derive(Debug)]
pub struct LoadFailed;

/// Connects to `node`, printing redis-cli's connect error on stderr on failure.
pub fn connect(m: &mut Manager, node: &Endpoint) -> Result<(), LoadFailed> {
    match m.link.connect(node) {
        Ok(()) => Ok(()),
        Err(e) => {
            m.report.note(&connect_message(&e, node));
            Err(LoadFailed)
        }
    }
}

/// redis-cli's wording for a node that cannot be reached.
pub fn connect_message(e: &Error, node: &Endpoint) -> String {
    match e {
        Error::Connect { .. } | Error::Auth { .. } => e.to_string(),
        other => format!("Could not connect to Redis at {node}: {}", crate::error::os_message_of(other)),
    }
}

/// True when `INFO` says `cluster_enabled:1`.
pub fn is_cluster_node(link: &mut Link, node: &Endpoint) -> Result<bool, String> {
    let info = link.cmd(node, &["INFO", "cluster"]).map_err(|e| e.to_string())?;
    if let Some(err) = error_of(&info) {
        return Err(err);
    }
    Ok(info_field(&reply_text(&info), "cluster_enabled").as_deref() == Some("1"))
}

/// The node's own line of its `CLUSTER NODES` (`myself`), or an error text.
pub fn own_line(link: &mut Link, node: &Endpoint) -> Result<NodeLine, String> {
    own_line_and_signature(link, node).map(|(own, _)| own)
}

/// The node's own line and its view's configuration signature, from one `CLUSTER NODES`.
fn own_line_and_signature(link: &mut Link, node: &Endpoint) -> Result<(NodeLine, String), String> {
    let reply = link.cmd(node, &["CLUSTER", "NODES"]).map_err(|e| e.to_string())?;
    if let Some(err) = error_of(&reply) {
        return Err(err);
    }
    let text = reply_text(&reply);
    let own = myself_line(&text).ok_or_else(|| "CLUSTER NODES has no myself line".to_string())?;
    Ok((own, config_signature(&text)))
}

/// Why a listed node was not loaded.
enum NotLoaded {
    /// It cannot be reached: redis-cli's connect error.
    Unreachable(String),
    /// It did not say what its own line is.
    NoInfo,
}

/// Connects to a listed node and asks for its own line (on a helper thread).
fn ask(link: &mut Link, node: &Endpoint) -> Result<(NodeLine, String), NotLoaded> {
    link.connect(node).map_err(|e| NotLoaded::Unreachable(connect_message(&e, node)))?;
    own_line_and_signature(link, node).map_err(|_| NotLoaded::NoInfo)
}

/// Loads the cluster through `entry` into `m.cluster`; prints what redis-cli prints
/// when that fails.
pub fn load(m: &mut Manager, entry: &Endpoint) -> Result<(), LoadFailed> {
    connect(m, entry)?;
    let (host, port) = match entry {
        Endpoint::Tcp { host, port } => (host.clone(), *port),
        Endpoint::Unix(_) => (String::new(), 0),
    };
    match is_cluster_node(&mut m.link, entry) {
        Ok(true) => {}
        Ok(false) => {
            m.report.err(&format!("[ERR] Node {host}:{port} is not configured as a cluster node."));
            return Err(LoadFailed);
        }
        Err(e) => {
            m.report.err(&format!("[ERR] Node {host}:{port} {e}"));
            return Err(LoadFailed);
        }
    }
    let reply = match m.link.cmd(entry, &["CLUSTER", "NODES"]) {
        Ok(reply) => reply,
        Err(e) => {
            m.report.note(&connect_message(&e, entry));
            return Err(LoadFailed);
        }
    };
    if let Some(err) = error_of(&reply) {
        m.report.err(&format!("Node {host}:{port} replied with error:\n{err}"));
        return Err(LoadFailed);
    }
    let text = reply_text(&reply);
    let lines = parse_nodes(&text);
    let Some(me) = lines.iter().find(|l| l.head.has_flag("myself")) else {
        m.report.err(&format!("Node {host}:{port} replied with error:\nCLUSTER NODES has no myself line"));
        return Err(LoadFailed);
    };
    let mut first = Node::from_line(me);
    first.host = host;
    first.port = port;
    let mut cluster = Cluster { nodes: vec![first], unreachable_masters: 0, skipped: Vec::new() };
    let mut signatures = vec![config_signature(&text)];
    let has_address = |l: &NodeLine| !l.head.host.is_empty() && l.head.port != 0;
    let friends: Vec<&NodeLine> = lines.iter().filter(|l| !l.head.has_flag("myself")).collect();
    let asked: Vec<Endpoint> =
        friends.iter().filter(|l| has_address(l)).map(|l| Endpoint::tcp(&l.head.host, l.head.port)).collect();
    let mut answers = super::parallel::each_node(&m.template, &mut m.link, &asked, ask).into_iter();
    for friend in friends {
        let is_slave = friend.head.has_flag("slave");
        let skip = |cluster: &mut Cluster, reason: &str| {
            if !is_slave {
                cluster.unreachable_masters += 1;
            }
            cluster.skipped.push(Skipped {
                id: friend.head.id.clone(),
                host: friend.head.host.clone(),
                port: friend.head.port,
                flags: friend.head.flags.clone(),
                master: !is_slave,
                slots: friend.slots.len(),
                reason: reason.to_string(),
            });
        };
        if !has_address(friend) {
            skip(&mut cluster, "no address");
            continue;
        }
        let (own, signature) = match answers.next() {
            Some(Ok(answer)) => answer,
            Some(Err(NotLoaded::Unreachable(message))) => {
                m.report.note(&message);
                skip(&mut cluster, "unreachable");
                continue;
            }
            Some(Err(NotLoaded::NoInfo)) | None => {
                m.report.err(&format!("[ERR] Unable to load info for node {}:{}", friend.head.host, friend.head.port));
                skip(&mut cluster, "unreachable");
                continue;
            }
        };
        let mut node = Node::from_line(friend);
        node.own_flags = own.head.flags.clone();
        for flag in &own.head.flags {
            if !node.flags.contains(flag) {
                node.flags.push(flag.clone());
            }
        }
        node.slots = own.slots;
        node.migrating = own.migrating;
        node.importing = own.importing;
        node.config_epoch = own.head.config_epoch;
        node.replicate = own.head.master.or(node.replicate);
        let bad = node.flags.iter().find(|f| *f == "noaddr" || *f == "fail").cloned();
        if let Some(flag) = bad.or_else(|| (!friend.head.link_connected).then(|| "disconnected".to_string())) {
            skip(&mut cluster, &flag);
            continue;
        }
        cluster.nodes.push(node);
        signatures.push(signature);
    }
    for warning in cluster.count_replicas() {
        m.report.warn(&warning);
    }
    let zones = zones(&mut m.link, entry);
    for node in &mut cluster.nodes {
        node.zone = zones.get(&node.id).cloned();
    }
    m.cluster = cluster;
    m.load_signatures = Some(signatures);
    m.databases = databases(m);
    Ok(())
}

/// Each node's availability zone (Valkey 9.1+), from the entry node's CLUSTER SHARDS;
/// empty where the server has none or the reply cannot be read. A zone is kept only
/// when it is printable and short (it is shown to the user).
fn zones(link: &mut Link, entry: &Endpoint) -> std::collections::BTreeMap<String, String> {
    use crate::protocol::resp::field;
    let mut zones = std::collections::BTreeMap::new();
    let Ok(reply) = link.cmd(entry, &["CLUSTER", "SHARDS"]) else { return zones };
    for shard in reply.as_items().unwrap_or_default() {
        let Some(pairs) = shard.to_pairs() else { continue };
        for node in field(&pairs, "nodes").and_then(|n| n.as_items()).unwrap_or_default() {
            let Some(node) = node.to_pairs() else { continue };
            let id = field(&node, "id").and_then(|f| f.to_text()).unwrap_or_default();
            let zone = field(&node, "availability-zone").and_then(|f| f.to_text()).unwrap_or_default();
            if super::model::is_node_id(&id) && !zone.is_empty() && crate::cluster::map_reply::is_host(&zone) {
                zones.insert(id, zone);
            }
        }
    }
    zones
}

/// The most databases a node may have (a bound on what a server's answer can make rcli do).
const MAX_DATABASES: u32 = 1 << 16;

/// How many databases the cluster's nodes have: Valkey 9's `cluster-databases`, else
/// (CONFIG denied) one more than the highest database `INFO keyspace` shows on any
/// primary; 1 for servers without numbered databases in cluster mode.
pub fn databases(m: &mut Manager) -> u32 {
    let masters: Vec<Endpoint> = m.cluster.masters().map(Node::endpoint).collect();
    let Some(first) = masters.first() else { return 1 };
    if let Ok(reply) = m.link.cmd(first, &["CONFIG", "GET", "cluster-databases"])
        && error_of(&reply).is_none()
    {
        let value = reply.as_items().and_then(|items| items.get(1)).map(reply_text);
        return value.and_then(|v| v.parse::<u32>().ok()).map_or(1, |n| n.clamp(1, MAX_DATABASES));
    }
    let mut highest = 0u32;
    // Every primary asked at once (one round trip for all of them).
    for (_, replies) in m.link.fan_out(&masters, &[vec!["INFO", "keyspace"]]) {
        let Some(reply) = replies.ok().and_then(|mut r| r.pop()) else { continue };
        for line in reply_text(&reply).lines() {
            let db =
                line.strip_prefix("db").and_then(|rest| rest.split(':').next()).and_then(|n| n.parse::<u32>().ok());
            highest = highest.max(db.unwrap_or(0).min(MAX_DATABASES - 1));
        }
    }
    highest + 1
}

/// True when every loaded node, asked now, has the same slot configuration signature.
pub fn is_consistent(m: &mut Manager) -> bool {
    let nodes: Vec<Endpoint> = m.cluster.nodes.iter().map(Node::endpoint).collect();
    let signatures = super::parallel::each_node(&m.template, &mut m.link, &nodes, |link, node| {
        let reply = link.cmd(node, &["CLUSTER", "NODES"]).ok().filter(|r| r.as_error().is_none())?;
        Some(config_signature(&reply_text(&reply)))
    });
    all_equal(&signatures)
}

/// The check's answer to "do the nodes agree?": the signatures the load just read when
/// this is the first check since and no cluster lock was taken in between (no node
/// asked twice), else [`is_consistent`].
pub fn agree(m: &mut Manager) -> bool {
    match m.load_signatures.take() {
        Some(signatures) => all_equal(&signatures.into_iter().map(Some).collect::<Vec<_>>()),
        None => is_consistent(m),
    }
}

/// Every signature known and equal (true for none).
fn all_equal(signatures: &[Option<String>]) -> bool {
    let Some(first) = signatures.first() else { return true };
    signatures.iter().all(|s| s.is_some() && s == first)
}
