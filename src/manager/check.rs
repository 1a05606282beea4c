//! `check` and `info`, and the check that reshard, rebalance, add-node, import and
//! backup run first: node blocks, slot agreement, open slots, coverage and (asked for)
//! multiple owners, with redis-cli's exact lines (docs/cluster-manager.md, "Check").
//! `fix` runs the same check with repairs switched on ([`super::fix`]).

use serde_json::{Value, json};

use super::Manager;
use super::link::error_of;
use super::model::{Node, ranges_text};

/// What a check found.
#[derive(Debug, Clone, Default)]
pub struct CheckResult {
    pub ok: bool,
    pub consistent: bool,
    pub open_slots: Vec<u16>,
    pub uncovered: Vec<u16>,
    pub multiple_owners: Vec<(u16, Vec<String>)>,
    /// Slots an atomic slot migration is moving right now (Valkey 9.1+).
    pub migrating: Vec<u16>,
}

/// A node block: `M: <id> A:p` and its slots, flags and replicas, indented by `indent`.
pub fn node_info(node: &Node, indent: usize) -> String {
    let spaces = " ".repeat(indent);
    let role = if node.is_replica() { "S" } else { "M" };
    let mut info = spaces.clone();
    if node.dirty && node.replicate.is_some() {
        info.push_str(&format!("S: {} {}", node.id, node.addr()));
    } else {
        info.push_str(&format!(
            "{role}: {} {}\n{spaces}   slots:{} ({} slots) {}",
            node.id,
            node.addr(),
            ranges_text(&node.slots.ranges()),
            node.slots.len(),
            node.flag_string()
        ));
    }
    // rcli: the zone a Valkey 9.1+ node announces (redis-cli has no such line).
    if let Some(zone) = &node.zone {
        info.push_str(&format!("\n{spaces}   availability zone: {zone}"));
    }
    if let Some(master) = &node.replicate {
        info.push_str(&format!("\n{spaces}   replicates {master}"));
    } else if node.replicas_count > 0 {
        info.push_str(&format!("\n{spaces}   {} additional replica(s)", node.replicas_count));
    }
    info
}

/// Every node's block, in load order.
pub fn show_nodes(m: &mut Manager) {
    let blocks: Vec<String> = m.cluster.nodes.iter().map(|n| node_info(n, 0)).collect();
    for block in blocks {
        m.report.line(&block);
    }
}

/// Records an issue (redis-cli's `clusterManagerOnError`) and prints it in red.
pub fn on_error(m: &mut Manager, text: &str) {
    m.errors.push(text.to_string());
    m.report.err(text);
}

/// Open slots per node, in slot order, and all of them.
fn open_slots(m: &mut Manager) -> Vec<u16> {
    let mut all: Vec<u16> = Vec::new();
    let nodes = m.cluster.nodes.clone();
    for n in &nodes {
        for (kind, slots) in
            [("migrating", n.migrating_slots().collect::<Vec<_>>()), ("importing", n.importing_slots().collect())]
        {
            if slots.is_empty() {
                continue;
            }
            let list: Vec<String> = slots.iter().map(u16::to_string).collect();
            on_error(m, &format!("[WARNING] Node {} has slots in {kind} state {}.", n.addr(), list.join(",")));
            all.extend(slots);
        }
    }
    all.sort_unstable();
    all.dedup();
    all
}

/// Runs the check (`quiet`: without node blocks). With `m.fixing`, repairs as it goes.
pub fn check_cluster(m: &mut Manager, quiet: bool) -> CheckResult {
    let mut result = CheckResult { ok: true, ..CheckResult::default() };
    let Some(first) = m.cluster.nodes.first() else { return CheckResult::default() };
    let entry = first.addr();
    m.report.info(&format!(">>> Performing Cluster Check (using node {entry})"));
    if !quiet {
        show_nodes(m);
    }
    warn_unloaded(m);
    result.consistent = super::load::agree(m);
    if result.consistent {
        m.report.ok("[OK] All nodes agree about slots configuration.");
    } else {
        on_error(m, "[ERR] Nodes don't agree about configuration!");
        result.ok = false;
    }
    m.report.info(">>> Check for open slots...");
    let open = open_slots(m);
    if !open.is_empty() {
        result.ok = false;
        let list: Vec<String> = open.iter().map(u16::to_string).collect();
        m.report.err(&format!("[WARNING] The following slots are open: {}.", list.join(",")));
        if m.fixing {
            if super::fix::refuse_with_unreachable_masters(m, "open slots") {
                return CheckResult { ok: false, ..result };
            }
            m.report.progress = super::progress::Progress::start("fixing", open.len() as u64, "open slots");
            for &slot in &open {
                result.ok = super::fix::fix_open_slot(m, slot);
                if let Some(p) = &m.report.progress {
                    p.advance(1);
                }
                if !result.ok {
                    break;
                }
            }
            m.report.flush();
            if let Some(p) = m.report.progress.take() {
                p.finish();
            }
        }
    }
    result.open_slots = open;
    result.migrating = running_migrations(m);
    if !result.migrating.is_empty() {
        result.ok = false;
    }
    m.report.info(">>> Check slots coverage...");
    let covered = m.cluster.covered();
    if covered.len() == crate::cluster::slot::SLOTS {
        m.report.ok("[OK] All 16384 slots covered.");
    } else {
        on_error(m, "[ERR] Not all 16384 slots are covered by nodes.\n");
        result.ok = false;
        result.uncovered = (0..crate::cluster::slot::SLOTS as u16).filter(|s| !covered.contains(*s)).collect();
        if m.fixing {
            if super::fix::refuse_with_unreachable_masters(m, "slots coverage") {
                return CheckResult { ok: false, ..result };
            }
            let fixed = super::fix_owners::fix_slots_coverage(m, &result.uncovered);
            if fixed > 0 {
                result.ok = true;
            }
        }
    }
    if m.opts.search_multiple_owners {
        multiple_owners(m, &mut result);
    }
    result
}

/// rcli: atomic slot migrations running on the masters (Valkey 9.1+; other servers have
/// none to tell). Each is an issue (no reshard starts while one runs) and its slots are
/// left alone: the target counts the keys it imports, which would look like orphans.
fn running_migrations(m: &mut Manager) -> Vec<u16> {
    let masters: Vec<Node> = m.cluster.masters().cloned().collect();
    let endpoints: Vec<_> = masters.iter().map(Node::endpoint).collect();
    let asked = m.link.fan_out(&endpoints, &[vec!["CLUSTER", "GETSLOTMIGRATIONS"]]);
    let mut slots: Vec<u16> = Vec::new();
    for (node, (_, replies)) in masters.iter().zip(asked) {
        let Some(reply) = replies.ok().and_then(|r| r.into_iter().next()) else { continue };
        if reply.as_error().is_some() {
            continue;
        }
        for job in super::atomic::parse_jobs(&reply).into_iter().filter(|j| j.export && !j.is_over()) {
            let target = m.cluster.node(&job.target).map_or_else(|| job.target.clone(), Node::addr);
            on_error(
                m,
                &format!(
                    "[WARNING] Node {} is moving slots {} to {target} by atomic slot migration {} ({}).",
                    node.addr(),
                    job.ranges,
                    job.name,
                    job.state
                ),
            );
            for range in job.ranges.split(' ') {
                if let Some((a, b)) = range.split_once('-')
                    && let (Ok(a), Ok(b)) = (a.parse::<u16>(), b.parse::<u16>())
                {
                    slots.extend((a..=b.min(16383)).take(16384));
                }
            }
        }
    }
    slots
}

/// `--cluster-search-multiple-owners`: a slot claimed by, or holding keys on, more than
/// one master. rcli asks each master for all 16384 key counts in one pipeline.
fn multiple_owners(m: &mut Manager, result: &mut CheckResult) {
    m.report.info(">>> Check for multiple slot owners...");
    // Each master with its key count per slot (none when the pipeline failed).
    let mut masters: Vec<(Node, Vec<i64>)> = Vec::new();
    for n in m.cluster.masters().cloned().collect::<Vec<Node>>() {
        let commands: Vec<Vec<String>> = (0..crate::cluster::slot::SLOTS)
            .map(|s| vec!["CLUSTER".into(), "COUNTKEYSINSLOT".into(), s.to_string()])
            .collect();
        let mut counts = vec![0i64; crate::cluster::slot::SLOTS];
        for db in 0..m.databases.max(1) {
            let replies = m.link.in_db(db, |link| link.pipeline(&n.endpoint(), &commands)).unwrap_or_default();
            for (total, reply) in counts.iter_mut().zip(&replies) {
                *total = total.saturating_add(reply.as_integer().unwrap_or(0));
            }
        }
        masters.push((n, counts));
    }
    let mut remaining = 0;
    for slot in 0..crate::cluster::slot::SLOTS as u16 {
        if result.migrating.contains(&slot) {
            continue;
        }
        let owners: Vec<&Node> = masters
            .iter()
            .filter(|(n, counts)| n.slots.contains(slot) || counts.get(usize::from(slot)).is_some_and(|c| *c > 0))
            .map(|(n, _)| n)
            .collect();
        if owners.len() < 2 {
            continue;
        }
        result.ok = false;
        m.report.err(&format!("[WARNING] Slot {slot} has {} owners:", owners.len()));
        for n in &owners {
            m.report.err(&format!("    {}", n.addr()));
        }
        result.multiple_owners.push((slot, owners.iter().map(|n| n.addr()).collect()));
        remaining += 1;
        if m.fixing {
            let ids: Vec<String> = owners.iter().map(|n| n.id.clone()).collect();
            result.ok = super::fix_owners::fix_multiple_owners(m, slot, &ids);
            if !result.ok {
                m.report.err(&format!("Failed to fix multiple owners for slot {slot}"));
                break;
            }
            remaining -= 1;
        }
    }
    if remaining == 0 {
        m.report.ok("[OK] No multiple owners found.");
    }
}

/// rcli: nodes the entry node lists but that were not loaded, on stderr, since their
/// slots otherwise just look uncovered.
pub fn warn_unloaded(m: &mut Manager) {
    let skipped = m.cluster.skipped.clone();
    for s in skipped {
        m.report.note(&format!(
            "rcli: node {}:{} ({}) was not checked ({}): its {} slots are not verified",
            s.host, s.port, s.id, s.reason, s.slots
        ));
    }
}

/// `info`'s lines: keys, slots and replicas per master. Returns the JSON rows.
pub fn show_cluster_info(m: &mut Manager) -> Value {
    let mut masters = 0i64;
    let mut keys = 0i64;
    let mut rows = Vec::new();
    let nodes = m.cluster.nodes.clone();
    // Every master's DBSIZE asked at once (one round trip for all of them).
    let endpoints: Vec<_> = nodes.iter().filter(|n| !n.is_replica()).map(Node::endpoint).collect();
    let mut sizes = m.link.fan_out(&endpoints, &[vec!["DBSIZE"]]).into_iter();
    for node in nodes.iter().filter(|n| !n.is_replica()) {
        let replicas = nodes.iter().filter(|n| n.is_replica() && n.replicate.as_deref() == Some(&node.id)).count();
        let reply = match sizes.next() {
            Some((_, Ok(mut replies))) if !replies.is_empty() => Ok(replies.swap_remove(0)),
            Some((_, Err(e))) => Err(e),
            _ => m.link.cmd(&node.endpoint(), &["DBSIZE"]),
        };
        // With numbered databases (Valkey 9): each one's count, summed.
        let per_db: Vec<(u32, i64)> = match &reply {
            Ok(frame) if m.databases > 1 && frame.as_integer().is_some() => {
                let mut counts = Vec::new();
                for db in 0..m.databases {
                    let count = m.link.in_db(db, |link| link.cmd(&node.endpoint(), &["DBSIZE"]));
                    match count.ok().and_then(|c| c.as_integer()) {
                        Some(n) => counts.push((db, n)),
                        None => break,
                    }
                }
                counts
            }
            _ => Vec::new(),
        };
        let dbsize = match &reply {
            Ok(_) if m.databases > 1 => {
                (per_db.len() == m.databases as usize).then(|| per_db.iter().map(|(_, n)| *n).sum::<i64>())
            }
            Ok(frame) => frame.as_integer(),
            Err(_) => None,
        };
        let Some(dbsize) = dbsize else {
            let err = reply.as_ref().ok().and_then(error_of).unwrap_or_default();
            m.report.err(&format!("Node {} replied with error:\n{err}", node.addr()));
            return json!({"type": "info", "masters": rows, "error": err});
        };
        let name: String = node.id.chars().take(8).collect();
        m.report.line(&format!(
            "{} ({name}...) -> {dbsize} keys | {} slots | {replicas} slaves.",
            node.addr(),
            node.slots.len()
        ));
        let used: Vec<&(u32, i64)> = per_db.iter().filter(|(_, n)| *n > 0).collect();
        if used.iter().any(|(db, _)| *db != 0) {
            let list: Vec<String> = used.iter().map(|(db, n)| format!("db{db}={n}")).collect();
            m.report.line(&format!("   keys per database: {}", list.join(", ")));
        }
        let databases: serde_json::Map<String, Value> = used.iter().map(|(db, n)| (db.to_string(), json!(n))).collect();
        rows.push(json!({"id": node.id, "addr": node.addr(), "keys": dbsize, "databases": databases,
                         "slots": node.slots.len(), "replicas": replicas}));
        masters += 1;
        keys += dbsize;
    }
    m.report.ok(&format!("[OK] {keys} keys in {masters} masters."));
    m.report.line(&format!("{:.2} keys per slot on average.", keys as f32 / 16384.0));
    for s in m.cluster.skipped.clone().iter().filter(|s| s.master) {
        m.report.note(&format!("rcli: master {}:{} ({}) is not listed: {}", s.host, s.port, s.id, s.reason));
    }
    json!({"type": "info", "masters": rows, "keys": keys, "keys_per_slot": keys as f64 / 16384.0})
}

/// The check's findings and the cluster's nodes as JSON (`--cluster-json`).
pub fn check_json(m: &Manager, result: &CheckResult) -> Value {
    let nodes: Vec<Value> = m
        .cluster
        .nodes
        .iter()
        .map(|n| {
            json!({
                "id": n.id,
                "addr": n.addr(),
                "role": if n.is_replica() { "replica" } else { "master" },
                "master": n.replicate,
                "flags": n.flag_string(),
                "slots": n.slots.ranges().iter().map(|(a, b)| json!([a, b])).collect::<Vec<_>>(),
                "epoch": n.config_epoch,
                "availability_zone": n.zone,
                "reachable": true,
                "migrating": n.migrating.iter().map(|(s, id)| (s.to_string(), json!(id))).collect::<serde_json::Map<_, _>>(),
                "importing": n.importing.iter().map(|(s, id)| (s.to_string(), json!(id))).collect::<serde_json::Map<_, _>>(),
            })
        })
        .chain(m.cluster.skipped.iter().map(|s| {
            json!({"id": s.id, "addr": format!("{}:{}", s.host, s.port), "role": if s.master { "master" } else { "replica" },
                   "flags": s.flags.join(","), "reachable": false, "reason": s.reason})
        }))
        .collect();
    json!({
        "type": "check",
        "nodes": nodes,
        "consistent": result.consistent,
        "open_slots": result.open_slots,
        "uncovered": super::model::SlotSet::from_ranges(&result.uncovered.iter().map(|&s| (s, s)).collect::<Vec<_>>())
            .ranges().iter().map(|(a, b)| json!([a, b])).collect::<Vec<_>>(),
        "multiple_owners": result.multiple_owners.iter().map(|(s, n)| json!({"slot": s, "nodes": n})).collect::<Vec<_>>(),
        "errors": m.errors,
        "ok": result.ok,
    })
}
