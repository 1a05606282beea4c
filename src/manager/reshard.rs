//! `reshard` (docs/cluster-manager.md, "reshard"): the check, the questions redis-cli
//! asks when options are missing, the plan, then the moves. rcli adds a pre-flight
//! sizing with refusals, `--cluster-dry-run`, a journal, and `--cluster-resume` /
//! `--cluster-abandon` for a run that was interrupted.

use std::ffi::OsString;
use std::sync::Arc;

use serde_json::json;

use super::execute::{self, Ended};
use super::journal::{Journal, SharedJournal, Unit};
use super::model::Node;
use super::mover::{self, Peer, Style};
use super::preflight::{self, Sizing};
use super::progress::Progress;
use super::{INVALID_HOST, Manager, check, host_arg, load, lock, peer, plan, prompt, recover};
use super::{atomic, census};

/// redis-cli's `clusterNodeForResharding`: a known master by full id; a source equal to
/// the target is refused softly (`None`, no error).
fn node_for_resharding(m: &mut Manager, id: &str, target: Option<&Node>) -> Result<Option<Node>, ()> {
    match m.cluster.by_name(id).filter(|n| !n.is_replica()).cloned() {
        None => {
            m.report.err(&format!("*** The specified node ({id}) is not known or not a master, please retry."));
            Err(())
        }
        Some(n) if target.is_some_and(|t| t.id == n.id) => {
            m.report.err("*** It is not possible to use the target node as source node.");
            Ok(None)
        }
        Some(n) => Ok(Some(n)),
    }
}

/// Refuses to start while an interrupted run of this cluster is unfinished.
pub fn refuse_unfinished(m: &mut Manager) -> bool {
    let Some(record) = recover::unfinished(m) else { return false };
    let in_flight: Vec<u16> = record.in_flight().iter().map(|u| u.slot).collect();
    let by = if record.host.is_empty() { String::new() } else { format!(" on {}", record.host) };
    m.report.note(&format!(
        "rcli: unfinished {} (journal {}, started{by} at {} s since the epoch): {} slots in flight{}{}, {} not started; run it again with --cluster-resume or --cluster-abandon",
        record.op,
        record.path.display(),
        record.started,
        in_flight.len(),
        if in_flight.is_empty() { "" } else { ": " },
        census::slot_ranges(&in_flight),
        record.pending().len()
    ));
    true
}

/// `reshard`.
pub fn run(m: &mut Manager, args: &[OsString]) -> bool {
    let Some(entry) = host_arg(args) else {
        m.usage_error(INVALID_HOST);
        return false;
    };
    if load::load(m, &entry).is_err() {
        return false;
    }
    if m.opts.resume || m.opts.abandon {
        return recover::resume(m);
    }
    let Ok(_lock) = (if m.opts.dry_run { Ok(None) } else { lock::hold(m, "reshard") }) else { return false };
    check::check_cluster(m, false);
    if !m.errors.is_empty() {
        m.report.note("*** Please fix your cluster problems before resharding");
        return false;
    }
    if refuse_unfinished(m) {
        return false;
    }
    let mut slots = m.opts.slots;
    if m.opts.given.iter().any(|g| g == "--cluster-slots") && !(1..=16384).contains(&slots) {
        m.report.note(&format!("rcli: --cluster-slots must be between 1 and 16384 (got {slots})"));
        return false;
    }
    while !(1..=16384).contains(&slots) {
        let Some(answer) = prompt::ask(m, "How many slots do you want to move (from 1 to 16384)? ") else {
            return false;
        };
        slots = super::args::atoi(&answer);
    }
    let mut to = m.opts.to.clone();
    while to.as_deref().is_none_or(str::is_empty) {
        let Some(answer) = prompt::ask(m, "What is the receiving node ID? ") else { return false };
        to = Some(answer);
    }
    let Ok(Some(target)) = node_for_resharding(m, &to.unwrap_or_default(), None) else { return false };
    let mut sources = Vec::new();
    let mut all = false;
    match m.opts.from.clone() {
        None => {
            m.report.line("Please enter all the source node IDs.");
            m.report.line("  Type 'all' to use all the nodes as source nodes for the hash slots.");
            m.report.line("  Type 'done' once you entered all the source nodes IDs.");
            loop {
                let Some(answer) = prompt::ask(m, &format!("Source node #{}: ", sources.len() + 1)) else {
                    return false;
                };
                match answer.as_str() {
                    "done" => break,
                    "all" => {
                        all = true;
                        break;
                    }
                    id => match node_for_resharding(m, id, Some(&target)) {
                        Ok(Some(n)) => sources.push(n),
                        Ok(None) => {}
                        Err(()) => return false,
                    },
                }
            }
        }
        Some(from) => {
            for id in from.split(',') {
                if id == "all" {
                    all = true;
                    break;
                }
                if id.is_empty() {
                    continue;
                }
                match node_for_resharding(m, id, Some(&target)) {
                    Ok(Some(n)) => sources.push(n),
                    Ok(None) => {}
                    Err(()) => return false,
                }
            }
        }
    }
    if all {
        sources = m.cluster.masters().filter(|n| n.replicate.is_none() && n.id != target.id).cloned().collect();
    }
    if sources.is_empty() {
        m.report.note("*** No source nodes given, operation aborted.");
        return false;
    }
    let available: usize = sources.iter().map(|n| n.slots.len()).sum();
    if m.opts.given.iter().any(|g| g == "--cluster-slots") && slots as usize > available {
        m.report.note(&format!("rcli: --cluster-slots {slots} is more than the {available} slots the sources have"));
        return false;
    }
    m.report.line(&format!("\nReady to move {slots} slots."));
    m.report.line("  Source nodes:");
    for n in &sources {
        m.report.line(&check::node_info(n, 4));
    }
    m.report.line("  Destination node:");
    m.report.line(&check::node_info(&target, 4));
    let input: Vec<(Peer, Vec<u16>)> = sources.iter().map(|n| (peer(n), n.slots.iter().collect())).collect();
    let dst = peer(&target);
    let units: Vec<Unit> = plan::reshard_table(&input, slots)
        .into_iter()
        .map(|(src, slot)| Unit { slot, src, dst: dst.clone() })
        .collect();
    m.report.line("  Resharding plan:");
    if m.opts.atomic {
        // valkey-cli 9.1's plan with atomic slot migration: a line per source.
        for (src, slots) in by_source(&units) {
            m.report.line(&format!("    Moving slot range {} from {}", atomic::range_text(&slots), src.id));
        }
    } else {
        for unit in &units {
            m.report.line(&format!("    Moving slot {} from {}", unit.slot, unit.src.id));
        }
    }
    if (units.len() as i64) < slots {
        m.report.aside(&format!("rcli: the plan has {} slots (requested {slots})", units.len()));
    }
    if m.opts.atomic && !atomic_supported(m, &units) {
        return false;
    }
    let Some(sizing) = preflight::checked(m, &units) else { return false };
    if m.opts.dry_run {
        print_plan(m, "reshard", &units, &sizing);
        return true;
    }
    if !m.opts.yes {
        let Some(answer) = prompt::ask(m, "Do you want to proceed with the proposed reshard plan (yes/no)? ") else {
            return false;
        };
        if !prompt::accepts(Some(&answer)) {
            return false;
        }
    }
    let ended =
        execute_units(m, "reshard", &units, &sizing, Style { cold: false, quiet: false }, &mut |m, _, outcomes| {
            execute::print_outcomes(&mut m.report, outcomes);
        });
    match ended {
        Ended::Done => true,
        Ended::Failed(e) => {
            // Atomic slot migration printed its own failure line.
            if !e.is_empty() && !m.opts.atomic {
                m.report.err(&format!("clusterManagerMoveSlot failed: {e}"));
            }
            false
        }
        Ended::Stopped => false,
    }
}

/// The plan's slots per source, sources in plan order.
fn by_source(units: &[Unit]) -> Vec<(Peer, Vec<u16>)> {
    let mut out: Vec<(Peer, Vec<u16>)> = Vec::new();
    for unit in units {
        match out.iter_mut().find(|(src, _)| src.id == unit.src.id) {
            Some((_, slots)) => slots.push(unit.slot),
            None => out.push((unit.src.clone(), vec![unit.slot])),
        }
    }
    out
}

/// `--cluster-use-atomic-slot-migration` needs every node of the plan to know
/// `CLUSTER MIGRATESLOTS` (Valkey 9.1+): refused before anything changes otherwise.
pub fn atomic_supported(m: &mut Manager, units: &[Unit]) -> bool {
    let mut nodes: Vec<Peer> = Vec::new();
    for unit in units {
        for peer in [&unit.src, &unit.dst] {
            if !nodes.iter().any(|n| n.id == peer.id) {
                nodes.push(peer.clone());
            }
        }
    }
    for node in nodes {
        if let atomic::Asked::Refused(e) | atomic::Asked::Unreachable(e) = atomic::ask(&mut m.link, &node) {
            m.report.note(&format!(
                "rcli: --cluster-use-atomic-slot-migration needs CLUSTER MIGRATESLOTS (Valkey 9.1+), and {} answers: {e}; nothing was changed",
                node.addr()
            ));
            return false;
        }
    }
    true
}

/// `--cluster-dry-run`: the plan's size per node pair and its estimated time.
pub fn print_plan(m: &mut Manager, op: &str, units: &[Unit], sizing: &Sizing) {
    let mut pairs: Vec<(String, String, usize, u64, u64)> = Vec::new();
    for unit in units {
        let (keys, bytes) = sizing.slots.get(&unit.slot).copied().unwrap_or_default();
        match pairs.iter_mut().find(|p| p.0 == unit.src.addr() && p.1 == unit.dst.addr()) {
            Some(p) => {
                p.2 += 1;
                p.3 += keys;
                p.4 += bytes;
            }
            None => pairs.push((unit.src.addr(), unit.dst.addr(), 1, keys, bytes)),
        }
    }
    let mut rows = Vec::new();
    for (src, dst, slots, keys, bytes) in &pairs {
        let seconds = preflight::estimate(*slots, *keys, *bytes);
        m.report.note(&format!(
            "rcli dry-run: {src} -> {dst}: {slots} slots, {keys} keys, {}, about {seconds:.1} s",
            preflight::human_bytes(*bytes)
        ));
        rows.push(json!({"from": src, "to": dst, "slots": slots, "keys": keys, "bytes": bytes, "seconds": seconds}));
    }
    let total = preflight::estimate(units.len(), sizing.keys(), sizing.bytes());
    m.report.note(&format!(
        "rcli dry-run: {} slots, {} keys, {} in all, about {total:.1} s (one pair at a time); nothing was changed",
        units.len(),
        sizing.keys(),
        preflight::human_bytes(sizing.bytes())
    ));
    let slots: Vec<_> = units
        .iter()
        .map(|u| {
            let (keys, bytes) = sizing.slots.get(&u.slot).copied().unwrap_or_default();
            json!({"slot": u.slot, "from": u.src.id, "to": u.dst.id, "keys": keys, "bytes": bytes})
        })
        .collect();
    m.report.doc = Some(json!({"type": "plan", "op": op, "atomic": m.opts.atomic, "moves": rows, "slots": slots,
        "keys": sizing.keys(), "bytes": sizing.bytes(), "seconds": total}));
}

/// Moves `units` with a journal and a progress bar; `emit` prints each group's outcomes.
pub fn execute_units(
    m: &mut Manager,
    op: &str,
    units: &[Unit],
    sizing: &Sizing,
    style: Style,
    emit: &mut dyn FnMut(&mut Manager, usize, &[mover::SlotOutcome]),
) -> Ended {
    let ids: Vec<String> = m.cluster.nodes.iter().map(|n| n.id.clone()).collect();
    let journal = match Journal::create(op, &ids, &m.cluster.replicas(), units, m.opts.atomic) {
        Ok(j) => Some(j),
        Err(e) => {
            m.report.note(&format!("rcli: no journal ({e}); an interruption will need --cluster fix"));
            None
        }
    };
    let ended = run_groups(m, units, sizing, style, journal.as_ref(), emit);
    if let Some(j) = &journal {
        match &ended {
            Ended::Done => j.finish(m.opts.keep_journal),
            _ => m.report.note(&format!(
                "rcli: stopped; the journal {} lets `--cluster {op} <host:port> --cluster-resume` finish the run (or --cluster-abandon undo its open slots)",
                j.path().display()
            )),
        }
    }
    ended
}

fn run_groups(
    m: &mut Manager,
    units: &[Unit],
    sizing: &Sizing,
    style: Style,
    journal: Option<&SharedJournal>,
    emit: &mut dyn FnMut(&mut Manager, usize, &[mover::SlotOutcome]),
) -> Ended {
    let groups = execute::groups(units, execute::group_size(m.opts.atomic));
    let settings = m.move_settings(Arc::new(sizing.big_keys.clone()));
    let progress = Progress::start("moving", units.len() as u64, "slots");
    let parallel = if m.opts.parallel == 0 { 4 } else { m.opts.parallel };
    let template = m.template.clone();
    let stop = m.stop.clone();
    m.report.progress = progress.clone();
    let shared = m.link.lend_pool();
    let mut sink = |i: usize, outcomes: &[mover::SlotOutcome]| emit(m, i, outcomes);
    let ended = execute::run(
        &template,
        &shared,
        &groups,
        &settings,
        style,
        journal,
        parallel,
        &stop,
        progress.as_ref(),
        &mut sink,
    );
    m.link.take_back(shared);
    m.report.flush();
    if let Some(p) = m.report.progress.take() {
        p.finish();
    }
    ended
}
