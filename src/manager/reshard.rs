//! `reshard` (docs/cluster-manager.md, "reshard"): the check, the questions redis-cli
//! asks when options are missing, the plan, then the moves. rcli adds a pre-flight
//! sizing with refusals, `--cluster-dry-run`, a journal, and `--cluster-resume` /
//! `--cluster-abandon` for a run that was interrupted.

use std::collections::HashSet;
use std::ffi::OsString;
use std::sync::Arc;

use serde_json::json;

use super::execute::{self, Ended};
use super::journal::{self, Journal, SharedJournal, Unit};
use super::model::Node;
use super::mover::{self, Peer, Style};
use super::preflight::{self, Sizing};
use super::progress::Progress;
use super::{INVALID_HOST, Manager, check, host_arg, load, peer, plan, prompt};

/// Slots moved together per node pair (their SETSLOTs share one config save per node).
pub const GROUP: usize = 32;

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
    let ids: Vec<String> = m.cluster.nodes.iter().map(|n| n.id.clone()).collect();
    if let Some(record) = journal::find(&ids).into_iter().find(|r| !r.pending().is_empty() || !r.in_flight().is_empty())
    {
        let in_flight: Vec<String> = record
            .in_flight()
            .iter()
            .map(|u| format!("slot {} {} -> {}", u.slot, u.src.addr(), u.dst.addr()))
            .collect();
        m.report.note(&format!(
            "rcli: unfinished {} (journal {}, started at {} s since the epoch): {} slots in flight{}{}, {} not started; run it again with --cluster-resume or --cluster-abandon",
            record.op,
            record.path.display(),
            record.started,
            in_flight.len(),
            if in_flight.is_empty() { "" } else { ": " },
            in_flight.join(", "),
            record.pending().len()
        ));
        return true;
    }
    false
}

/// `reshard`.
pub fn run(m: &mut Manager, args: &[OsString]) -> bool {
    let Some(entry) = host_arg(args) else {
        m.report.note(INVALID_HOST);
        return false;
    };
    if load::load(m, &entry).is_err() {
        return false;
    }
    if m.opts.resume || m.opts.abandon {
        return resume(m);
    }
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
    for unit in &units {
        m.report.line(&format!("    Moving slot {} from {}", unit.slot, unit.src.id));
    }
    if (units.len() as i64) < slots {
        m.report.note(&format!("rcli: the plan has {} slots (requested {slots})", units.len()));
    }
    let Some(sizing) = size(m, &units) else { return false };
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
            if !e.is_empty() {
                m.report.err(&format!("clusterManagerMoveSlot failed: {e}"));
            }
            false
        }
        Ended::Stopped => false,
    }
}

/// Sizes the keys to move; prints refusals (and returns `None`) unless allowed.
pub fn size(m: &mut Manager, units: &[Unit]) -> Option<Sizing> {
    let sizing = match preflight::size(&mut m.link, units, m.opts.big_key_bytes, m.opts.timeout_ms) {
        Ok(sizing) => sizing,
        Err(e) => {
            m.report.note(&format!("rcli: sizing the keys to move failed: {e}"));
            return None;
        }
    };
    for warning in &sizing.warnings {
        m.report.note(warning);
    }
    if !sizing.refusals.is_empty() && !m.opts.allow_big_keys {
        for refusal in &sizing.refusals {
            m.report.note(&format!("rcli: refusing to move slots: {refusal}"));
        }
        m.report.note("rcli: nothing was changed; --cluster-allow-big-keys moves them anyway");
        return None;
    }
    Some(sizing)
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
    m.report.doc = Some(json!({"type": "plan", "op": op, "moves": rows, "slots": slots, "keys": sizing.keys(),
        "bytes": sizing.bytes(), "seconds": total}));
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
    let journal = match Journal::create(op, &ids, units) {
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
    let groups = execute::groups(units, GROUP);
    let settings = m.move_settings(Arc::new(sizing.big_keys.clone()));
    let progress = Progress::start("moving", units.len() as u64, "slots");
    let parallel = if m.opts.parallel == 0 { 4 } else { m.opts.parallel };
    let template = m.template.clone();
    let stop = m.stop.clone();
    m.report.progress = progress.clone();
    let mut sink = |i: usize, outcomes: &[mover::SlotOutcome]| emit(m, i, outcomes);
    let ended =
        execute::run(&template, &groups, &settings, style, journal, parallel, &stop, progress.as_ref(), &mut sink);
    m.report.flush();
    if let Some(p) = m.report.progress.take() {
        p.finish();
    }
    ended
}

/// `--cluster-resume` / `--cluster-abandon`: finishes (or undoes) the slots in flight of
/// this cluster's unfinished journal, then (resume) moves the slots not started yet.
pub fn resume(m: &mut Manager) -> bool {
    let ids: Vec<String> = m.cluster.nodes.iter().map(|n| n.id.clone()).collect();
    let Some(record) =
        journal::find(&ids).into_iter().rev().find(|r| !r.pending().is_empty() || !r.in_flight().is_empty())
    else {
        m.report.note("rcli: no interrupted reshard or rebalance of this cluster to resume");
        return false;
    };
    let in_flight: Vec<Unit> = record.in_flight().into_iter().cloned().collect();
    let pending: Vec<Unit> = record.pending().into_iter().cloned().collect();
    let Ok(journal) = Journal::reopen(&record.path) else { return false };
    if m.opts.abandon {
        m.report.note(&format!(
            "rcli: abandoning the {} of {}: closing {} open slots, {} slots not started are dropped",
            record.op,
            record.path.display(),
            in_flight.len(),
            pending.len()
        ));
        let ok = in_flight.iter().all(|u| abandon_slot(m, u, &journal));
        if ok {
            journal.finish(false);
        }
        return ok;
    }
    m.report.note(&format!(
        "rcli: resuming the {} of {}: {} slots in flight, {} not started",
        record.op,
        record.path.display(),
        in_flight.len(),
        pending.len()
    ));
    if !finish_in_flight(m, &in_flight, Some(&journal)) {
        return false;
    }
    if !pending.is_empty() {
        let Some(sizing) = size(m, &pending) else { return false };
        let groups = execute::groups(&pending, GROUP);
        let settings = m.move_settings(Arc::new(sizing.big_keys.clone()));
        let template = m.template.clone();
        let stop = m.stop.clone();
        let parallel = if m.opts.parallel == 0 { 4 } else { m.opts.parallel };
        let mut sink = |_: usize, outcomes: &[mover::SlotOutcome]| execute::print_outcomes(&mut m.report, outcomes);
        let ended = execute::run(
            &template,
            &groups,
            &settings,
            Style { cold: false, quiet: false },
            Some(&journal),
            parallel,
            &stop,
            None,
            &mut sink,
        );
        if let Ended::Failed(e) = &ended
            && !e.is_empty()
        {
            m.report.err(&format!("clusterManagerMoveSlot failed: {e}"));
        }
        if ended != Ended::Done {
            return false;
        }
    }
    journal.finish(m.opts.keep_journal);
    m.report.ok("[OK] The interrupted run is complete.");
    true
}

/// Finishes moves that were in flight: whatever state each slot was left in (opened on
/// one side or both, keys partly moved, handed over on some nodes only), the keys end
/// on the target and every master names the target as the owner.
pub fn finish_in_flight(m: &mut Manager, units: &[Unit], journal: Option<&SharedJournal>) -> bool {
    let settings = m.move_settings(Arc::new(HashSet::new()));
    for unit in units {
        let src = load::own_line(&mut m.link, &unit.src.endpoint());
        let dst = load::own_line(&mut m.link, &unit.dst.endpoint());
        let (Ok(src_line), Ok(dst_line)) = (src, dst) else {
            m.report.note(&format!(
                "rcli: slot {}: {} or {} cannot be reached",
                unit.slot,
                unit.src.addr(),
                unit.dst.addr()
            ));
            return false;
        };
        let handed_over = dst_line.slots.contains(unit.slot);
        let outcomes = if !handed_over && src_line.slots.contains(unit.slot) {
            mover::move_slots(
                &mut m.link,
                &unit.src,
                &unit.dst,
                &[unit.slot],
                &settings,
                Style { cold: false, quiet: false },
                None,
                &mut |_| {},
            )
        } else if handed_over || dst_line.importing.iter().any(|(s, _)| *s == unit.slot) {
            // Handed over on some nodes: empty what is left on the source, finish.
            let mut out = mover::SlotOutcome { slot: unit.slot, ..Default::default() };
            out.pieces.push(mover::Piece::Text(format!(
                "Moving slot {} from {} to {}: ",
                unit.slot,
                unit.src.addr(),
                unit.dst.addr()
            )));
            let result = mover::drain(&mut m.link, &unit.src, &unit.dst, unit.slot, &settings, None, true, &mut out)
                .and_then(|()| mover::finalize(&mut m.link, &unit.src, &unit.dst, &[unit.slot], &settings.masters));
            out.pieces.push(mover::Piece::Text("\n".into()));
            out.error = result.err();
            vec![out]
        } else {
            m.report.note(&format!(
                "rcli: slot {} belongs to neither {} nor {}: left as it is",
                unit.slot,
                unit.src.addr(),
                unit.dst.addr()
            ));
            continue;
        };
        execute::print_outcomes(&mut m.report, &outcomes);
        if let Some(e) = outcomes.iter().find_map(|o| o.error.clone()) {
            if !e.is_empty() {
                m.report.err(&format!("clusterManagerMoveSlot failed: {e}"));
            }
            return false;
        }
        if let Some(j) = journal {
            j.done(&[unit.slot]);
        }
        if let Some(src) = m.cluster.node_mut(&unit.src.id) {
            src.slots.remove(unit.slot);
            src.migrating.retain(|(x, _)| *x != unit.slot);
        }
        if let Some(dst) = m.cluster.node_mut(&unit.dst.id) {
            dst.slots.insert(unit.slot);
            dst.importing.retain(|(x, _)| *x != unit.slot);
        }
    }
    true
}

/// Undoes one open slot: the source serves it again and the keys already moved come
/// back from the target. A slot the target already owns is finished instead.
fn abandon_slot(m: &mut Manager, unit: &Unit, journal: &SharedJournal) -> bool {
    let Ok(src_line) = load::own_line(&mut m.link, &unit.src.endpoint()) else { return false };
    if !src_line.slots.contains(unit.slot) {
        m.report.note(&format!(
            "rcli: slot {} already belongs to {}: finishing its move instead",
            unit.slot,
            unit.dst.addr()
        ));
        return finish_in_flight(m, std::slice::from_ref(unit), Some(journal));
    }
    let settings = m.move_settings(Arc::new(HashSet::new()));
    m.report.info(&format!(">>> Abandoning slot {}: moving its keys back to {}", unit.slot, unit.src.addr()));
    let mut out = mover::SlotOutcome { slot: unit.slot, ..Default::default() };
    let ok = mover::stabilize(&mut m.link, &unit.src.endpoint(), &[unit.slot]).is_ok()
        && mover::drain(&mut m.link, &unit.dst, &unit.src, unit.slot, &settings, None, false, &mut out).is_ok()
        && mover::stabilize(&mut m.link, &unit.dst.endpoint(), &[unit.slot]).is_ok();
    execute::print_outcomes(&mut m.report, std::slice::from_ref(&out));
    if ok {
        journal.done(&[unit.slot]);
    }
    ok
}
