//! `create host1:port1 … hostN:portN [--cluster-replicas R]` (docs/cluster-manager.md,
//! "create"): every node must be an empty cluster node; the layout comes from
//! [`plan::create_layout`]; then slots, epochs, MEET, the wait, replicas, and the
//! check. rcli: `--cluster-dry-run`, `--cluster-seed`, ADDSLOTSRANGE, a bounded wait,
//! an optimiser that keeps the printed pairing when swapping does not help, and the
//! final replica → master mapping on stderr when it differs from the printed one; it
//! returns only when every node agrees on slots and roles ([`super::agreement`]).

use std::ffi::OsString;

use serde_json::json;

use super::model::{Node, SlotSet};
use super::plan::{self, Rng};
use super::{Manager, check, load, nodes, prompt};
use crate::endpoint::Endpoint;

/// `create`.
pub fn run(m: &mut Manager, args: &[OsString]) -> bool {
    let mut typed_hosts = Vec::new();
    for arg in args {
        let text = arg.to_string_lossy().into_owned();
        let Some(endpoint) = super::host_arg(std::slice::from_ref(arg)).filter(|_| text.contains(':')) else {
            m.usage_error(&format!("Invalid address format: {text}"));
            return false;
        };
        if load::connect(m, &endpoint).is_err() {
            return false;
        }
        let addr = endpoint.to_string();
        match load::is_cluster_node(&mut m.link, &endpoint) {
            Ok(true) => {}
            _ => {
                m.report.err(&format!("[ERR] Node {addr} is not configured as a cluster node."));
                return false;
            }
        }
        let own = match load::own_line(&mut m.link, &endpoint) {
            Ok(own) => own,
            Err(e) => {
                m.report.err(&format!("Node {addr} replied with error:\n{e}"));
                return false;
            }
        };
        if !nodes::check_empty(m, &endpoint, &addr) {
            return false;
        }
        let mut node = Node::from_line(&own);
        if let Endpoint::Tcp { host, port } = &endpoint {
            node.host = host.clone();
            node.port = *port;
        }
        typed_hosts.push(node.host.clone());
        m.cluster.nodes.push(node);
    }
    let n = m.cluster.nodes.len();
    let replicas = usize::try_from(m.opts.replicas).unwrap_or(0);
    let masters = n / (replicas + 1);
    if masters < 3 {
        m.report.err("*** ERROR: Invalid configuration for cluster creation.");
        m.report.err("*** Redis Cluster requires at least 3 master nodes.");
        m.report.err(&format!("*** This is not possible with {n} nodes and {replicas} replicas per node."));
        m.report.err(&format!("*** At least {} nodes are required.", 3 * (replicas + 1)));
        return false;
    }
    m.report.info(&format!(">>> Performing hash slots allocation on {n} nodes..."));
    let addrs: Vec<String> = m.cluster.nodes.iter().map(Node::addr).collect();
    let layout = plan::create_layout(&typed_hosts, &addrs, replicas);
    for line in &layout.lines {
        m.report.line(line);
    }
    let mut replica_of = layout.replica_of.clone();
    let (score, _) = plan::anti_affinity(&typed_hosts, &replica_of);
    if score > 0 {
        m.report.info(">>> Trying to optimize slaves allocation for anti-affinity");
        let seed = m.opts.seed.unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1)
        });
        let final_score = plan::optimize(&typed_hosts, &mut replica_of, &mut Rng::new(seed));
        match final_score {
            0 => m.report.ok("[OK] Perfect anti-affinity obtained!"),
            s if s >= 10000 => m.report.warn("[WARNING] Some slaves are in the same host as their master"),
            _ => m.report.warn("[WARNING] Some slaves of the same master are in the same host"),
        }
    }
    // The layout names nodes by their position in the arguments (= in m.cluster.nodes).
    for (&master, &range) in layout.masters.iter().zip(&layout.ranges) {
        if let Some(node) = m.cluster.nodes.get_mut(master) {
            node.slots = SlotSet::from_ranges(&[range]);
            node.dirty = true;
        }
    }
    let ids: Vec<String> = m.cluster.nodes.iter().map(|n| n.id.clone()).collect();
    for (node, master) in m.cluster.nodes.iter_mut().zip(&replica_of) {
        if let Some(id) = master.and_then(|master| ids.get(master)) {
            node.replicate = Some(id.clone());
            node.dirty = true;
        }
    }
    if replica_of != layout.replica_of {
        for (addr, master) in addrs.iter().zip(&replica_of) {
            if let Some(master) = master.and_then(|master| addrs.get(master)) {
                m.report.aside(&format!("rcli: final pairing: {addr} replicates {master}"));
            }
        }
    }
    check::show_nodes(m);
    if m.opts.dry_run {
        let plan: Vec<_> = m
            .cluster
            .nodes
            .iter()
            .map(|n| json!({"addr": n.addr(), "id": n.id, "slots": n.slots.ranges(), "replicates": n.replicate}))
            .collect();
        m.report.doc = Some(json!({"type": "plan", "op": "create", "nodes": plan}));
        m.report.note("rcli dry-run: nothing was changed");
        return true;
    }
    if !prompt::confirm(m, "Can I set the above configuration?", false) {
        return true;
    }
    apply(m)
}

/// Slots and replicas as planned; replicas whose master is still unknown stay dirty.
fn flush(m: &mut Manager, first_pass: bool) -> bool {
    let Manager { link, report, cluster, .. } = m;
    for node in cluster.nodes.iter_mut().filter(|n| n.dirty) {
        if let Some(master) = &node.replicate {
            let ok =
                link.cmd(&node.endpoint(), &["CLUSTER", "REPLICATE", master]).is_ok_and(|r| r.as_error().is_none());
            if ok {
                node.dirty = false;
            }
            continue;
        }
        let mut argv = vec!["CLUSTER".to_string(), "ADDSLOTSRANGE".into()];
        for (a, b) in node.slots.ranges() {
            argv.push(a.to_string());
            argv.push(b.to_string());
        }
        let reply = link.cmd(&node.endpoint(), &argv);
        let error = match &reply {
            Ok(r) => super::link::error_of(r),
            Err(e) => Some(e.to_string()),
        };
        if let Some(e) = error {
            if first_pass {
                report.err(&format!("Node {} replied with error:\n{e}", node.addr()));
            }
            return false;
        }
        node.dirty = false;
    }
    true
}

fn apply(m: &mut Manager) -> bool {
    if !flush(m, true) {
        return false;
    }
    m.report.info(">>> Nodes configuration updated");
    m.report.info(">>> Assign a different config epoch to each node");
    for (epoch, node) in m.cluster.nodes.clone().iter().enumerate() {
        let _ = m.link.cmd(&node.endpoint(), &["CLUSTER", "SET-CONFIG-EPOCH", &(epoch + 1).to_string()]);
    }
    m.report.info(">>> Sending CLUSTER MEET messages to join the cluster");
    let Some(first) = m.cluster.nodes.first().cloned() else { return false };
    let Some(meet) = nodes::meet_argv(m, &first) else { return false };
    let meet: Vec<&str> = meet.iter().map(String::as_str).collect();
    for node in m.cluster.nodes.clone().iter().skip(1) {
        match m.link.cmd(&node.endpoint(), &meet) {
            Ok(reply) => {
                if let Some(e) = super::link::error_of(&reply) {
                    m.report.err(&format!("Node {} replied with error:\n{e}", node.addr()));
                    return false;
                }
            }
            Err(_) => {
                m.report.note("Failed to send CLUSTER MEET command.");
                return false;
            }
        }
    }
    if !nodes::wait_for_join(m) {
        return false;
    }
    // rcli: done only when every node agrees on slots and roles (replicas attached).
    if !super::agreement::wait(m, &mut |m| {
        flush(m, false);
    }) {
        return false;
    }
    let first = first.endpoint();
    m.errors.clear();
    if load::load(m, &first).is_err() {
        return false;
    }
    check::check_cluster(m, false);
    true
}
