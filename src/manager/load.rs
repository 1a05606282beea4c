//! Loading the cluster from one entry node, by redis-cli's rules (docs/cluster-manager.md,
//! "Loading the cluster"): the entry node's `CLUSTER NODES` lists the others; each is
//! asked for its own line (its slots and open slots); nodes that cannot be reached or
//! that the entry node marks `fail`/`noaddr`/disconnected are left out, and rcli
//! remembers them (`Cluster::skipped`) to warn and to refuse. The other nodes are asked
//! at once, on a bounded number of threads ([`super::parallel`]), each once: its own
//! line is found by its flags and parsed alone, and its view's configuration signature
//! is kept for the check that follows the load ([`agree`]), which then asks no one again.
//! `info` and `call` load at [`Depth::Identity`]: a listed node is asked only who it is
//! and what role it has (`CLUSTER MYID`, `ROLE`: one exchange, well under a microsecond of
//! server time where `CLUSTER NODES` of 100 nodes costs 60-300 µs), its slots taken from
//! the entry node's view; a node whose answer differs from that view is asked for its own
//! line after all.

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

/// How much each listed node is asked while loading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// Its own `CLUSTER NODES` line (its slots, open slots, epoch, its view's signature):
    /// what the check, fix and every move act on.
    OwnView,
    /// Who it is and its role now; its slots as the entry node lists them. For `info` and
    /// `call`, which change nothing and read no open slot.
    Identity,
}

/// A listed node's id and role as it says them now.
#[derive(Debug, PartialEq, Eq)]
struct Identity {
    id: String,
    /// `ROLE` says `master`.
    primary: bool,
}

/// What a listed node answered.
enum Answer {
    /// Its own line and its view's signature.
    Own(NodeLine, String),
    /// Its identity (the depth asked no more).
    Identity(Identity),
}

/// Why a listed node was not loaded.
enum NotLoaded {
    /// It cannot be reached: redis-cli's connect error.
    Unreachable(String),
    /// It did not say what its own line is.
    NoInfo,
}

/// Connects to a listed node and asks it what `depth` needs (on a helper thread).
fn ask(link: &mut Link, node: &Endpoint, depth: Depth) -> Result<Answer, NotLoaded> {
    link.connect(node).map_err(|e| NotLoaded::Unreachable(connect_message(&e, node)))?;
    if depth == Depth::Identity
        && let Ok(replies) = link.pipeline(node, &[vec!["CLUSTER", "MYID"], vec!["ROLE"]])
        && let Some(identity) = identity_of(&replies)
    {
        return Ok(Answer::Identity(identity));
    }
    let (own, signature) = own_line_and_signature(link, node).map_err(|_| NotLoaded::NoInfo)?;
    Ok(Answer::Own(own, signature))
}

/// The identity in the replies to `CLUSTER MYID` and `ROLE`; `None` for anything else
/// (an error, an id that is not one, a role neither primary nor replica).
fn identity_of(replies: &[crate::protocol::resp::Frame]) -> Option<Identity> {
    let [myid, role] = replies else { return None };
    let id = myid.as_error().is_none().then(|| reply_text(myid).to_ascii_lowercase())?;
    let role = role.as_items()?.first().map(reply_text)?;
    let primary = match role.as_str() {
        "master" => true,
        "slave" | "replica" => false,
        _ => return None,
    };
    super::model::is_node_id(&id).then_some(Identity { id, primary })
}

/// Loads the cluster through `entry` into `m.cluster`, asking each node for its own
/// line; prints what redis-cli prints when that fails.
pub fn load(m: &mut Manager, entry: &Endpoint) -> Result<(), LoadFailed> {
    load_at(m, entry, Depth::OwnView)
}

/// [`load`] asking each listed node what `depth` says.
pub fn load_at(m: &mut Manager, entry: &Endpoint, depth: Depth) -> Result<(), LoadFailed> {
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
    let mut signatures = vec![Some(config_signature(&text))];
    let has_address = |l: &NodeLine| !l.head.host.is_empty() && l.head.port != 0;
    let friends: Vec<&NodeLine> = lines.iter().filter(|l| !l.head.has_flag("myself")).collect();
    let asked: Vec<Endpoint> =
        friends.iter().filter(|l| has_address(l)).map(|l| Endpoint::tcp(&l.head.host, l.head.port)).collect();
    let mut answers =
        super::parallel::each_node(&m.template, &mut m.link, &asked, |link, node| ask(link, node, depth)).into_iter();
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
        let answer = match answers.next() {
            Some(Ok(Answer::Identity(identity))) if agrees(friend, &identity) => Ok(Answer::Identity(identity)),
            // The node says something else than the entry node's view: its own line decides.
            Some(Ok(Answer::Identity(_))) => {
                ask(&mut m.link, &Endpoint::tcp(&friend.head.host, friend.head.port), Depth::OwnView)
            }
            other => other.unwrap_or(Err(NotLoaded::NoInfo)),
        };
        let (own, signature) = match answer {
            Ok(Answer::Own(own, signature)) => (own, Some(signature)),
            Ok(Answer::Identity(_)) => ((*friend).clone(), None),
            Err(NotLoaded::Unreachable(message)) => {
                m.report.note(&message);
                skip(&mut cluster, "unreachable");
                continue;
            }
            Err(NotLoaded::NoInfo) => {
                m.report.err(&format!("[ERR] Unable to load info for node {}:{}", friend.head.host, friend.head.port));
                skip(&mut cluster, "unreachable");
                continue;
            }
        };
        let mut node = Node::from_line(friend);
        node.own_flags = own.head.flags.clone();
        // Its role is what the node itself says (redis-cli takes a node's flags from its
        // own line): the entry node's view may not have heard of a failover yet.
        let own_role = ["master", "slave"].into_iter().find(|role| own.head.has_flag(role));
        if let Some(role) = own_role {
            node.flags.retain(|f| (f != "master" && f != "slave") || f == role);
        }
        for flag in &own.head.flags {
            if !node.flags.contains(flag) {
                node.flags.push(flag.clone());
            }
        }
        node.slots = own.slots;
        node.migrating = own.migrating;
        node.importing = own.importing;
        node.config_epoch = own.head.config_epoch;
        node.replicate = match own_role {
            Some("master") => None,
            _ => own.head.master.or(node.replicate),
        };
        let bad = node.flags.iter().find(|f| *f == "noaddr" || *f == "fail").cloned();
        if let Some(flag) = bad.or_else(|| (!friend.head.link_connected).then(|| "disconnected".to_string())) {
            skip(&mut cluster, &flag);
            continue;
        }
        cluster.nodes.push(node);
        signatures.push(signature);
    }
    // A signature of every node or none: the check asks again when one is missing.
    let signatures: Option<Vec<String>> = signatures.into_iter().collect();
    for warning in cluster.count_replicas() {
        m.report.warn(&warning);
    }
    let zones = zones(&mut m.link, entry);
    for node in &mut cluster.nodes {
        node.zone = zones.get(&node.id).cloned();
    }
    m.cluster = cluster;
    m.load_signatures = signatures;
    m.databases = databases(m);
    Ok(())
}

/// True when a node's identity is what the entry node lists: the same id and role.
fn agrees(listed: &NodeLine, identity: &Identity) -> bool {
    listed.head.id == identity.id && listed.head.has_flag("master") == identity.primary
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

/// Every loaded node's `CLUSTER NODES` text, asked now, at once (`None`: no answer, or
/// an error reply).
pub fn views(m: &mut Manager) -> Vec<Option<String>> {
    let nodes: Vec<Endpoint> = m.cluster.nodes.iter().map(Node::endpoint).collect();
    super::parallel::each_node(&m.template, &mut m.link, &nodes, |link, node| {
        link.cmd(node, &["CLUSTER", "NODES"]).ok().filter(|r| error_of(r).is_none()).map(|r| reply_text(&r))
    })
}

/// True when every view (`CLUSTER NODES` text; `None`: not had) is there and has the
/// same slot configuration signature.
pub fn all_agree(views: &[Option<String>]) -> bool {
    all_equal(&views.iter().map(|v| v.as_deref().map(config_signature)).collect::<Vec<_>>())
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
