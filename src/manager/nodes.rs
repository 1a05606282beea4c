//! `add-node` and `del-node` (docs/cluster-manager.md), and the wait for nodes to agree
//! that `create` and `add-node` share (hurried by [`super::nudge`]). rcli: add-node
//! waits (bounded) for the cluster to know a new master so the next command can use it,
//! `--cluster-master-id` implies a replica; del-node checks everything before the first
//! FORGET, refuses a node that still holds keys, and removes unreachable or failed
//! nodes too.

use std::ffi::OsString;
use std::time::{Duration, Instant};

use super::link::{error_of, info_field, reply_text};
use super::model::{Node, parse_node_head};
use super::views::{self, View};
use super::{INVALID_HOST, Manager, WRONG_ARGS, check, load};
use crate::endpoint::Endpoint;

/// `Waiting for the cluster to join` and a dot a second until the nodes agree about
/// slots; bounded by `--cluster-join-timeout` (rcli), with redis-cli's warnings about
/// bus ports. rcli asks every node at once and again every 100 ms or so (redis-cli:
/// one node after another, once a second), so it finishes as soon as they agree.
pub fn wait_for_join(m: &mut Manager) -> bool {
    m.report.line("Waiting for the cluster to join");
    let started = Instant::now();
    let check_after = Duration::from_secs_f32(20.0 + m.cluster.nodes.len() as f32 * 0.15);
    let mut last_warning = Instant::now();
    let limit = m.opts.join_timeout_s.map(Duration::from_secs);
    let mut dots = 0u64;
    let mut nudger = super::nudge::Nudger::new(&m.cluster.nodes);
    loop {
        let round = Instant::now();
        let views = load::views(m);
        if load::all_agree(&views) {
            m.report.line("");
            return true;
        }
        if m.stop.load(std::sync::atomic::Ordering::SeqCst) || limit.is_some_and(|l| started.elapsed() > l) {
            m.report.line("");
            m.report.note("rcli: the nodes did not agree in time; their links:");
            link_warnings(m, true);
            return false;
        }
        nudger.nudge(m, &views::behind_own_lines(&views, m.template.settings.parallel));
        while dots < started.elapsed().as_secs() {
            m.report.text(".");
            dots += 1;
        }
        m.report.flush();
        // Polling costs the nodes and this machine: at most half the time asking.
        std::thread::sleep(round.elapsed().max(Duration::from_millis(100)));
        if last_warning.elapsed() > check_after {
            link_warnings(m, false);
            last_warning = Instant::now();
        }
    }
}

/// Nodes whose bus link is in handshake or disconnected, per node that sees it.
fn link_warnings(m: &mut Manager, to_stderr: bool) {
    let mut broken: Vec<(String, u16, Vec<String>)> = Vec::new();
    let views = load::views(m);
    for (n, view) in m.cluster.nodes.clone().iter().zip(views) {
        let Some(view) = view else { continue };
        for (line, _) in view.lines().filter_map(parse_node_head) {
            if line.has_flag("myself") || (!line.has_flag("handshake") && line.link_connected) {
                continue;
            }
            let bus = line.bus_port.unwrap_or(line.port.saturating_add(10000));
            match broken.iter_mut().find(|b| b.0 == line.host && b.1 == bus) {
                Some(b) => b.2.push(n.addr()),
                None => broken.push((line.host.clone(), bus, vec![n.addr()])),
            }
        }
    }
    if broken.is_empty() {
        return;
    }
    let mut lines = vec![format!("Warning: {} node(s) may be unreachable", broken.len())];
    for (host, bus, from) in &broken {
        lines.push(format!(" - The port {bus} of node {host} may be unreachable from:"));
        lines.extend(from.iter().map(|f| format!("   {f}")));
    }
    lines.push("Cluster bus ports must be reachable by every node.".into());
    lines.push("Remember that cluster bus ports are different from standard instance ports.".into());
    for line in lines {
        if to_stderr { m.report.note(&line) } else { m.report.warn(&line) }
    }
}

/// The first node's address for CLUSTER MEET: an IP (MEET takes no host names).
pub fn meet_argv(m: &mut Manager, first: &Node) -> Option<Vec<String>> {
    let argv = super::nudge::meet_command(first);
    if argv.is_none() {
        m.report.note(&format!("Invalid IP address or hostname specified: {}", first.host));
    }
    argv
}

/// `[ERR] Node A:p is not empty…` unless the node knows no other node and has no keys.
pub fn check_empty(m: &mut Manager, endpoint: &Endpoint, addr: &str) -> bool {
    let info = m.link.cmd(endpoint, &["INFO"]).map(|r| reply_text(&r)).unwrap_or_default();
    let cluster = m.link.cmd(endpoint, &["CLUSTER", "INFO"]).map(|r| reply_text(&r)).unwrap_or_default();
    let has_keys = info.lines().any(|l| l.starts_with("db0:"));
    let known = info_field(&cluster, "cluster_known_nodes").and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    if has_keys || known != 1 {
        m.report.err(&format!(
            "[ERR] Node {addr} is not empty. Either the node already knows other nodes (check with CLUSTER NODES) or contains some key in database 0."
        ));
        return false;
    }
    true
}

fn checked(m: &mut Manager, endpoint: &Endpoint, addr: &str, argv: &[&str]) -> bool {
    match m.link.cmd(endpoint, argv) {
        Ok(reply) => match error_of(&reply) {
            Some(e) => {
                m.report.err(&format!("Node {addr} replied with error:\n{e}"));
                false
            }
            None => true,
        },
        Err(_) => false,
    }
}

/// `add-node new_host:new_port existing_host:existing_port`.
pub fn add_node(m: &mut Manager, args: &[OsString]) -> bool {
    let [new, existing, ..] = args else {
        m.usage_error(WRONG_ARGS);
        return false;
    };
    let (Some(existing), Some(new)) =
        (super::host_arg(std::slice::from_ref(existing)), super::host_arg(std::slice::from_ref(new)))
    else {
        m.usage_error(INVALID_HOST);
        return false;
    };
    let new_addr = new.to_string();
    m.report.info(&format!(">>> Adding node {new_addr} to cluster {existing}"));
    if load::load(m, &existing).is_err() || !check::check_cluster(m, false).ok {
        return false;
    }
    let mut replica = m.opts.slave;
    if m.opts.master_id.is_some() && !replica {
        m.report.aside("rcli: --cluster-master-id implies --cluster-slave: the node is added as a replica");
        replica = true;
    }
    let mut master: Option<Node> = None;
    if replica {
        master = match &m.opts.master_id {
            Some(id) => match m.cluster.by_name(id).filter(|n| !n.is_replica()) {
                Some(n) => Some(n.clone()),
                None => {
                    m.report.err(&format!("[ERR] No such master ID {id}"));
                    return false;
                }
            },
            None => {
                let chosen = m.cluster.master_with_least_replicas().cloned();
                if let Some(n) = &chosen {
                    m.report.line(&format!("Automatically selected master {}", n.addr()));
                }
                chosen
            }
        };
    }
    if let Err(e) = m.link.connect(&new) {
        m.report.note(&load::connect_message(&e, &new));
        m.report.err(&format!("[ERR] Sorry, can't connect to node {new_addr}"));
        return false;
    }
    match load::is_cluster_node(&mut m.link, &new) {
        Ok(true) => {}
        _ => {
            m.report.err(&format!("[ERR] Node {new_addr} is not configured as a cluster node."));
            return false;
        }
    }
    let own = match load::own_line(&mut m.link, &new) {
        Ok(own) => own,
        Err(e) => {
            m.report.err(&format!("Node {new_addr} replied with error:\n{e}"));
            return false;
        }
    };
    if !check_empty(m, &new, &new_addr) {
        return false;
    }
    // The entry node, loaded first.
    let Some(first) = m.cluster.nodes.first().cloned() else { return false };
    if m.opts.dry_run {
        let role = match &master {
            Some(n) => format!("a replica of {}", n.addr()),
            None => "a master (after copying the cluster's functions)".to_string(),
        };
        m.report.note(&format!(
            "rcli dry-run: {new_addr} would meet {} and join as {role}; nothing was changed",
            first.addr()
        ));
        return true;
    }
    if master.is_none() && !copy_functions(m, &first, &new, &new_addr) {
        return false;
    }
    m.report.info(&format!(">>> Send CLUSTER MEET to node {new_addr} to make it join the cluster."));
    let Some(meet) = meet_argv(m, &first) else { return false };
    let meet: Vec<&str> = meet.iter().map(String::as_str).collect();
    if !checked(m, &new, &new_addr, &meet) {
        return false;
    }
    let mut node = Node::from_line(&own);
    if let Endpoint::Tcp { host, port } = &new {
        node.host = host.clone();
        node.port = *port;
    }
    m.cluster.nodes.push(node);
    if let Some(master) = master {
        std::thread::sleep(Duration::from_secs(1));
        if !wait_for_join(m) {
            return false;
        }
        m.report.info(&format!(">>> Configure node as replica of {}.", master.addr()));
        if !checked(m, &new, &new_addr, &["CLUSTER", "REPLICATE", &master.id]) {
            return false;
        }
        wait_for_sync(m, &new);
    } else {
        wait_until_known(m, &own.head.id, &new);
    }
    m.report.ok("[OK] New node added correctly.");
    true
}

/// FUNCTION DUMP from the cluster, FUNCTION RESTORE on the new master.
fn copy_functions(m: &mut Manager, first: &Node, new: &Endpoint, new_addr: &str) -> bool {
    m.report.info(">>> Getting functions from cluster");
    let dump = m.link.cmd(&first.endpoint(), &["FUNCTION", "DUMP"]);
    let payload = match &dump {
        Ok(reply) if reply.as_error().is_none() => reply.as_bytes().map(<[u8]>::to_vec),
        _ => None,
    };
    let Some(payload) = payload else {
        let err = match &dump {
            Ok(reply) => error_of(reply).unwrap_or_default(),
            Err(_) => "NULL reply".into(),
        };
        m.report.info(&format!(
            ">>> Failed retrieving Functions from the cluster, skip this step as Redis version do not support function command (error = '{err}')"
        ));
        return true;
    };
    m.report.info(&format!(">>> Send FUNCTION LIST to {new_addr} to verify there is no functions in it"));
    match m.link.cmd(new, &["FUNCTION", "LIST"]) {
        Ok(reply) if reply.as_error().is_none() => {
            if reply.as_items().is_some_and(|f| !f.is_empty()) {
                m.report.err(">>> New node already contains functions and can not be added to the cluster. Use FUNCTION FLUSH and try again.\r");
                return false;
            }
        }
        Ok(reply) => {
            m.report.err(&format!(">>> Failed on CLUSTER LIST (error = '{}')\r", error_of(&reply).unwrap_or_default()));
            return false;
        }
        Err(_) => return false,
    }
    m.report.info(&format!(">>> Send FUNCTION RESTORE to {new_addr}"));
    let restore: Vec<Vec<u8>> = vec![b"FUNCTION".to_vec(), b"RESTORE".to_vec(), payload];
    match m.link.cmd(new, &restore) {
        Ok(reply) if reply.as_error().is_none() => true,
        Ok(reply) => {
            m.report.err(&format!(
                ">>> Failed loading functions to the new node (error = '{}')\r",
                error_of(&reply).unwrap_or_default()
            ));
            false
        }
        Err(_) => false,
    }
}

/// rcli: waits (at most 30 s) until the new replica finished its first sync. Until then
/// it holds no data, and a manual failover to it (which compares replication offsets,
/// both 0 before a new primary's first sync) would promote an empty node.
fn wait_for_sync(m: &mut Manager, new: &Endpoint) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let info = m.link.cmd(new, &["INFO", "replication"]).map(|r| reply_text(&r)).unwrap_or_default();
        if info_field(&info, "master_link_status").as_deref() == Some("up") {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    m.report.note(
        "rcli: the new replica has not finished its first sync yet (waited 30 s); do not fail over to it before it has",
    );
}

/// rcli: waits (at most 30 s) until the new node serves (`cluster_state:ok`) and every
/// node lists it, so the next command (a reshard to it, a replica of it) can use it.
/// Nodes that do not list it yet are met by it at once, and it is met by those whose
/// slots it does not know yet ([`super::nudge`]): left to gossip, 100 nodes took 44 s
/// to learn of a new one.
fn wait_until_known(m: &mut Manager, id: &str, new: &Endpoint) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut nudger = super::nudge::Nudger::new(&m.cluster.nodes);
    while Instant::now() < deadline {
        let ready = m.link.cmd(new, &["CLUSTER", "INFO"]).is_ok_and(|r| reply_text(&r).contains("cluster_state:ok"));
        let views = load::views(m);
        // Each view lists the new node, and is in no handshake with a node of the
        // cluster (one left by a nudge that crossed another).
        let addrs: Vec<String> = m.cluster.nodes.iter().map(Node::addr).collect();
        let settled = |view: &Option<String>| {
            view.as_deref().map(View::parse).is_some_and(|view| {
                let known = view.lines.get(id).is_some_and(|(l, _)| !l.has_flag("handshake") && !l.has_flag("noaddr"));
                known && !view.meeting.iter().any(|a| addrs.contains(a))
            })
        };
        if ready && views.iter().all(settled) && load::all_agree(&views) {
            return;
        }
        nudger.nudge(m, &views::behind_own_lines(&views, m.template.settings.parallel));
        std::thread::sleep(Duration::from_millis(100));
    }
    m.report.note("rcli: not every node knows the new node yet (waited 30 s); it may take a little longer");
}

/// `del-node host:port node_id`.
pub fn del_node(m: &mut Manager, args: &[OsString]) -> bool {
    let [entry, id, ..] = args else {
        m.usage_error(WRONG_ARGS);
        return false;
    };
    let Some(entry) = super::host_arg(std::slice::from_ref(entry)) else {
        m.usage_error(INVALID_HOST);
        return false;
    };
    let id = id.to_string_lossy().into_owned();
    m.report.info(&format!(">>> Removing node {id} from cluster {entry}"));
    if load::load(m, &entry).is_err() {
        return false;
    }
    let Ok(_lock) = super::lock::hold(m, "del-node") else { return false };
    let Some(node) = m.cluster.by_name(&id).cloned() else {
        return del_unreachable(m, &id);
    };
    if !node.slots.is_empty() {
        m.report.err(&format!("[ERR] Node {} is not empty! Reshard data away and try again.", node.addr()));
        return false;
    }
    if !node.is_replica() {
        let keys = m.link.keys_on(&node.endpoint(), m.databases).unwrap_or(0);
        if keys > 0 {
            m.report.err(&format!("[ERR] Node {} is not empty! Reshard data away and try again.", node.addr()));
            m.report.note(&format!(
                "rcli: {} has no slots but still holds {keys} keys (left by an interrupted move?); nothing was changed. `--cluster fix <host:port> --cluster-search-multiple-owners` moves them to their slots' owners",
                node.addr()
            ));
            return false;
        }
    }
    let new_master = replacement_master(m, &node.id);
    let orphans: Vec<Node> =
        m.cluster.nodes.iter().filter(|n| n.replicate.as_deref() == Some(&node.id)).cloned().collect();
    if !orphans.is_empty() && new_master.is_none() {
        m.report.note(&format!(
            "rcli: no master with slots can take over the replicas of {}; nothing was changed",
            node.addr()
        ));
        return false;
    }
    if m.opts.dry_run {
        for n in &orphans {
            if let Some(master) = &new_master {
                m.report.note(&format!("rcli dry-run: {} would replicate {}", n.addr(), master.addr()));
            }
        }
        m.report.note(&format!(
            "rcli dry-run: {} nodes would forget {}, then it would get CLUSTER RESET SOFT; nothing was changed",
            m.cluster.nodes.len() - 1,
            node.addr()
        ));
        return true;
    }
    m.report.info(">>> Sending CLUSTER FORGET messages to the cluster...");
    for n in m.cluster.nodes.clone() {
        if n.id == node.id {
            continue;
        }
        if n.replicate.as_deref() == Some(&node.id)
            && let Some(master) = &new_master
        {
            m.report.info(&format!(">>> {} as replica of {}", n.addr(), master.addr()));
            if !checked(m, &n.endpoint(), &n.addr(), &["CLUSTER", "REPLICATE", &master.id]) {
                return false;
            }
        }
        if !checked(m, &n.endpoint(), &n.addr(), &["CLUSTER", "FORGET", &node.id]) {
            return false;
        }
    }
    m.report.info(">>> Sending CLUSTER RESET SOFT to the deleted node.");
    if !checked(m, &node.endpoint(), &node.addr(), &["CLUSTER", "RESET", "SOFT"]) {
        return false;
    }
    m.report.ok(&format!("[OK] Node {} removed from the cluster.", node.id));
    true
}

/// The master that takes over the deleted node's replicas: the one with the fewest
/// replicas among those with slots, never the node itself (redis-cli may pick it).
fn replacement_master(m: &Manager, deleted: &str) -> Option<Node> {
    m.cluster.masters().filter(|n| n.id != deleted && !n.slots.is_empty()).min_by_key(|n| n.replicas_count).cloned()
}

/// rcli: a node that is listed but unreachable or failed is forgotten by every reachable
/// node (and its replicas moved), as valkey-cli does.
fn del_unreachable(m: &mut Manager, id: &str) -> bool {
    let Some(skipped) = m.cluster.skipped.iter().find(|s| s.id.eq_ignore_ascii_case(id)).cloned() else {
        m.report.err(&format!("[ERR] No such node ID {id}"));
        return false;
    };
    let addr = format!("{}:{}", skipped.host, skipped.port);
    if skipped.slots > 0 {
        m.report.err(&format!("[ERR] Node {addr} is not empty! Reshard data away and try again."));
        m.report
            .note("rcli: it is unreachable and still owns slots: promote a replica (CLUSTER FAILOVER TAKEOVER) first");
        return false;
    }
    m.report.aside(&format!(
        "rcli: {addr} ({}) cannot be reached ({}): every reachable node forgets it; reset it (CLUSTER RESET) before it runs again",
        skipped.id, skipped.reason
    ));
    let new_master = replacement_master(m, &skipped.id);
    if m.opts.dry_run {
        m.report
            .note(&format!("rcli dry-run: {} nodes would forget {addr}; nothing was changed", m.cluster.nodes.len()));
        return true;
    }
    m.report.info(">>> Sending CLUSTER FORGET messages to the cluster...");
    for n in m.cluster.nodes.clone() {
        if n.replicate.as_deref() == Some(&skipped.id)
            && let Some(master) = &new_master
        {
            m.report.info(&format!(">>> {} as replica of {}", n.addr(), master.addr()));
            if !checked(m, &n.endpoint(), &n.addr(), &["CLUSTER", "REPLICATE", &master.id]) {
                return false;
            }
        }
        if !checked(m, &n.endpoint(), &n.addr(), &["CLUSTER", "FORGET", &skipped.id]) {
            return false;
        }
    }
    m.report.ok(&format!("[OK] Node {} removed from the cluster.", skipped.id));
    true
}
