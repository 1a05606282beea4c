//! The small subcommands: `check`, `info`, `fix` (the check with repairs), `call` and
//! `set-timeout` (docs/cluster-manager.md, "check", "info", "fix", "call",
//! "set-timeout").

use std::ffi::OsString;

use serde_json::{Value, json};

use super::link::error_of;
use super::report::Level;
use super::{INVALID_HOST, Manager, WRONG_ARGS, check, host_arg, load};
use crate::protocol::render;

fn entry(m: &mut Manager, args: &[OsString]) -> Option<crate::endpoint::Endpoint> {
    let entry = host_arg(args);
    if entry.is_none() {
        m.usage_error(INVALID_HOST);
    }
    entry
}

/// `check`: info, then the check; exit 0 only without issues.
pub fn check(m: &mut Manager, args: &[OsString]) -> bool {
    let Some(entry) = entry(m, args) else { return false };
    if load::load(m, &entry).is_err() {
        return false;
    }
    let info = check::show_cluster_info(m);
    let result = check::check_cluster(m, false);
    m.report.doc = Some(json!({"info": info, "check": check::check_json(m, &result)}));
    result.ok
}

/// `info`: keys, slots and replicas per master; always exit 0 once loaded.
pub fn info(m: &mut Manager, args: &[OsString]) -> bool {
    let Some(entry) = entry(m, args) else { return false };
    if load::load_at(m, &entry, load::Depth::Identity).is_err() {
        return false;
    }
    let info = check::show_cluster_info(m);
    m.report.doc = Some(info);
    true
}

/// `fix`: the check, repairing open slots, coverage and (asked for) multiple owners.
pub fn fix(m: &mut Manager, args: &[OsString]) -> bool {
    m.fixing = true;
    let Some(entry) = entry(m, args) else { return false };
    if load::load(m, &entry).is_err() {
        return false;
    }
    super::fix::load_journal(m);
    let info = check::show_cluster_info(m);
    if m.opts.dry_run {
        // The check alone: what it finds is what fix would repair.
        m.fixing = false;
        let result = check::check_cluster(m, false);
        m.report.note(&format!(
            "rcli dry-run: fix would repair {} open slots, {} uncovered slots{}; nothing was changed",
            result.open_slots.len(),
            result.uncovered.len(),
            if m.opts.search_multiple_owners {
                format!(", {} slots with several owners", result.multiple_owners.len())
            } else {
                String::new()
            }
        ));
        m.report.doc = Some(json!({"info": info, "check": check::check_json(m, &result)}));
        return true;
    }
    let Ok(_lock) = super::lock::hold(m, "fix") else { return false };
    let result = check::check_cluster(m, false);
    super::fix::after_fix(m);
    m.report.doc = Some(json!({"info": info, "check": check::check_json(m, &result)}));
    result.ok
}

/// A reply as `cliFormatReplyRaw` prints it.
fn raw(frame: &crate::protocol::resp::Frame) -> String {
    let mut out = Vec::new();
    render::raw(frame, b"\n", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// `call`: one command on every node (or only masters/replicas), sent to all at once,
/// printed in load order. Always exit 0 once loaded.
pub fn call(m: &mut Manager, args: &[OsString]) -> bool {
    let Some((entry_arg, command)) = args.split_first() else {
        m.usage_error(WRONG_ARGS);
        return false;
    };
    let Some(entry) = entry(m, std::slice::from_ref(entry_arg)) else { return false };
    if load::load_at(m, &entry, load::Depth::Identity).is_err() {
        return false;
    }
    let mut argv: Vec<Vec<u8>> = command.iter().map(|a| a.as_encoded_bytes().to_vec()).collect();
    if m.stdin_last_arg {
        argv.push(m.prompt.rest());
    }
    m.report.log_partial(Level::Info, ">>> Calling");
    let shown: String = command.iter().map(|a| format!(" {}", a.to_string_lossy())).collect();
    m.report.text(&format!("{shown}\n"));
    let nodes: Vec<(String, crate::endpoint::Endpoint, bool)> = m
        .cluster
        .nodes
        .iter()
        .filter(|n| !(m.opts.only_masters && n.replicate.is_some()))
        .filter(|n| !(m.opts.only_replicas && n.replicate.is_none()))
        .map(|n| (n.addr(), n.endpoint(), n.replicate.is_some()))
        .collect();
    let endpoints: Vec<_> = nodes.iter().map(|(_, e, _)| e.clone()).collect();
    let results = m.link.fan_out(&endpoints, &[argv]);
    let mut rows: Vec<Value> = Vec::new();
    for ((addr, _, replica), (_, result)) in nodes.iter().zip(results) {
        let role = if *replica { "replica" } else { "master" };
        match result.ok().and_then(|r| r.into_iter().next()) {
            Some(frame) => {
                m.report.line(&format!("{addr}: {}", raw(&frame)));
                rows.push(match error_of(&frame) {
                    Some(e) => json!({"node": addr, "role": role, "error": e}),
                    None => json!({"node": addr, "role": role, "reply": raw(&frame)}),
                });
            }
            None => {
                m.report.line(&format!("{addr}: Failed!"));
                rows.push(json!({"node": addr, "role": role, "error": "Failed!"}));
            }
        }
    }
    m.report.doc = Some(json!({"type": "call", "nodes": rows}));
    true
}

/// `set-timeout`: CONFIG SET cluster-node-timeout and CONFIG REWRITE on every node.
pub fn set_timeout(m: &mut Manager, args: &[OsString]) -> bool {
    let [entry_arg, timeout, ..] = args else {
        m.usage_error(WRONG_ARGS);
        return false;
    };
    let Some(entry) = entry(m, std::slice::from_ref(entry_arg)) else { return false };
    let timeout = super::args::atoi(&timeout.to_string_lossy());
    if timeout < 100 {
        m.usage_error("Setting a node timeout of less than 100 milliseconds is a bad idea.");
        return false;
    }
    if load::load(m, &entry).is_err() {
        return false;
    }
    if m.opts.dry_run {
        m.report.note(&format!(
            "rcli dry-run: CONFIG SET cluster-node-timeout {timeout} and CONFIG REWRITE on {} nodes; nothing was changed",
            m.cluster.nodes.len()
        ));
        return true;
    }
    let (mut ok, mut failed) = (0, 0);
    m.report.info(">>> Reconfiguring node timeout in every cluster node...");
    for node in m.cluster.nodes.clone() {
        let set = m.link.cmd(&node.endpoint(), &["CONFIG", "SET", "cluster-node-timeout", &timeout.to_string()]);
        let set_error = match &set {
            Ok(frame) => error_of(frame),
            Err(e) => Some(e.to_string()),
        };
        let rewrite_error = if set_error.is_none() {
            match m.link.cmd(&node.endpoint(), &["CONFIG", "REWRITE"]) {
                Ok(frame) => error_of(&frame),
                Err(e) => Some(e.to_string()),
            }
        } else {
            None
        };
        match (set_error, rewrite_error) {
            (None, None) => {
                m.report.warn(&format!("*** New timeout set for {}", node.addr()));
                ok += 1;
            }
            (Some(e), _) => {
                m.report.err(&format!("ERR setting node-timeout for {}: {e}", node.addr()));
                failed += 1;
            }
            (None, Some(e)) => {
                m.report.err(&format!("ERR setting node-timeout for {}: {e}", node.addr()));
                m.report.note(&format!(
                    "rcli: {} runs with the new timeout, but CONFIG REWRITE failed, so a restart loses it",
                    node.addr()
                ));
                failed += 1;
            }
        }
    }
    m.report.info(&format!(">>> New node timeout set. {ok} OK, {failed} ERR."));
    for s in m.cluster.skipped.clone() {
        m.report.note(&format!("rcli: {}:{} ({}) was not reached: not changed", s.host, s.port, s.reason));
    }
    true
}
