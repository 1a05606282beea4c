//! Loading the cluster from one entry node, by redis-cli's rules (docs/cluster-manager.md,
//! "Loading the cluster"): the entry node's `CLUSTER NODES` lists the others; each is
//! asked for its own line (its slots and open slots); nodes that cannot be reached or
//! that the entry node marks `fail`/`noaddr`/disconnected are left out, and rcli
//! remembers them (`Cluster::skipped`) to warn and to refuse.

use crate::endpoint::Endpoint;
use crate::error::Error;

use super::Manager;
use super::link::{Link, error_of, info_field, reply_text};
use super::model::{Cluster, Node, Skipped, parse_nodes};

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
pub fn own_line(link: &mut Link, node: &Endpoint) -> Result<super::model::NodeLine, String> {
    let reply = link.cmd(node, &["CLUSTER", "NODES"]).map_err(|e| e.to_string())?;
    if let Some(err) = error_of(&reply) {
        return Err(err);
    }
    parse_nodes(&reply_text(&reply))
        .into_iter()
        .find(|l| l.has_flag("myself"))
        .ok_or_else(|| "CLUSTER NODES has no myself line".to_string())
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
    let lines = parse_nodes(&reply_text(&reply));
    let Some(me) = lines.iter().find(|l| l.has_flag("myself")) else {
        m.report.err(&format!("Node {host}:{port} replied with error:\nCLUSTER NODES has no myself line"));
        return Err(LoadFailed);
    };
    let mut first = Node::from_line(me);
    first.host = host;
    first.port = port;
    let mut cluster = Cluster { nodes: vec![first], unreachable_masters: 0, skipped: Vec::new() };
    for friend in lines.iter().filter(|l| !l.has_flag("myself")) {
        let is_slave = friend.has_flag("slave");
        let skip = |cluster: &mut Cluster, reason: &str| {
            if !is_slave {
                cluster.unreachable_masters += 1;
            }
            cluster.skipped.push(Skipped {
                id: friend.id.clone(),
                host: friend.host.clone(),
                port: friend.port,
                flags: friend.flags.clone(),
                master: !is_slave,
                slots: friend.slots.len(),
                reason: reason.to_string(),
            });
        };
        if friend.host.is_empty() || friend.port == 0 {
            skip(&mut cluster, "no address");
            continue;
        }
        let endpoint = Endpoint::tcp(&friend.host, friend.port);
        if let Err(e) = m.link.connect(&endpoint) {
            m.report.note(&connect_message(&e, &endpoint));
            skip(&mut cluster, "unreachable");
            continue;
        }
        let own = match own_line(&mut m.link, &endpoint) {
            Ok(own) => own,
            Err(_) => {
                m.report.err(&format!("[ERR] Unable to load info for node {}:{}", friend.host, friend.port));
                skip(&mut cluster, "unreachable");
                continue;
            }
        };
        let mut node = Node::from_line(friend);
        node.own_flags = own.flags.clone();
        for flag in &own.flags {
            if !node.flags.contains(flag) {
                node.flags.push(flag.clone());
            }
        }
        node.slots = own.slots;
        node.migrating = own.migrating;
        node.importing = own.importing;
        node.config_epoch = own.config_epoch;
        node.replicate = own.master.or(node.replicate);
        let bad = node.flags.iter().find(|f| *f == "noaddr" || *f == "fail").cloned();
        if let Some(flag) = bad.or_else(|| (!friend.link_connected).then(|| "disconnected".to_string())) {
            skip(&mut cluster, &flag);
            continue;
        }
        cluster.nodes.push(node);
    }
    for warning in cluster.count_replicas() {
        m.report.warn(&warning);
    }
    let zones = zones(&mut m.link, entry);
    for node in &mut cluster.nodes {
        node.zone = zones.get(&node.id).cloned();
    }
    m.cluster = cluster;
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
    for node in &masters {
        let Ok(reply) = m.link.cmd(node, &["INFO", "keyspace"]) else { continue };
        for line in reply_text(&reply).lines() {
            let db =
                line.strip_prefix("db").and_then(|rest| rest.split(':').next()).and_then(|n| n.parse::<u32>().ok());
            highest = highest.max(db.unwrap_or(0).min(MAX_DATABASES - 1));
        }
    }
    highest + 1
}

/// Every loaded node's `CLUSTER NODES`, for the consistency check: `None` for a node
/// that did not answer.
pub fn views(link: &mut Link, cluster: &Cluster) -> Vec<Option<String>> {
    cluster
        .nodes
        .iter()
        .map(|n| {
            link.cmd(&n.endpoint(), &["CLUSTER", "NODES"])
                .ok()
                .filter(|r| r.as_error().is_none())
                .map(|r| reply_text(&r))
        })
        .collect()
}

/// True when every loaded node has the same slot configuration signature.
pub fn is_consistent(link: &mut Link, cluster: &Cluster) -> bool {
    let signatures: Vec<Option<String>> =
        views(link, cluster).into_iter().map(|v| v.map(|t| super::model::config_signature(&t))).collect();
    let Some(first) = signatures.first() else { return true };
    signatures.iter().all(|s| s.is_some() && s == first)
}
