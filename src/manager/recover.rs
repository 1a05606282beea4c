//! Finishing or undoing an interrupted reshard or rebalance (docs/cluster-manager.md,
//! "Journal and resume"): `--cluster-resume`, `--cluster-abandon` and the open slots `fix`
//! finds in a journal. The journal only says which moves were meant; what is done with
//! each slot is decided by [`settle::decide`] over what every node says now
//! ([`census::take`]), right before rcli acts on it. A slot whose state does not fit the
//! journal is refused with what each node claims and left as it is.

use std::collections::HashSet;
use std::sync::Arc;

use super::census::{self, Census};
use super::execute::{self, Ended};
use super::journal::{self, Journal, Record, SharedJournal, Unit};
use super::link::error_of;
use super::mover::{self, Peer, SlotOutcome, Style};
use super::preflight;
use super::settle::{self, Intent, Lineage, Verdict};
use super::{Manager, atomic, lock};

/// What settling one slot came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    Done,
    /// Left as it is; the line says why.
    Refused(String),
    /// An action failed half-way (said already); the slot stays as it is now.
    Failed,
}

/// The unfinished journal of the loaded cluster that a recovery works on (the newest).
pub fn unfinished(m: &Manager) -> Option<Record> {
    let ids: Vec<String> = m.cluster.nodes.iter().map(|n| n.id.clone()).collect();
    journal::find(&ids).into_iter().rev().find(|r| !r.pending().is_empty() || !r.in_flight().is_empty())
}

/// What the nodes say now about `slots`.
pub fn census(m: &mut Manager, slots: &[u16]) -> Census {
    let mut known: Vec<crate::endpoint::Endpoint> = m.cluster.nodes.iter().map(super::model::Node::endpoint).collect();
    known.extend(
        m.cluster
            .skipped
            .iter()
            .filter(|s| !s.host.is_empty() && s.port != 0)
            .map(|s| crate::endpoint::Endpoint::tcp(&s.host, s.port)),
    );
    census::take(&mut m.link, &known, slots, m.databases)
}

/// `--cluster-resume` / `--cluster-abandon` (with `--cluster-force`).
pub fn resume(m: &mut Manager) -> bool {
    let Some(record) = unfinished(m) else {
        m.report.note("rcli: no interrupted reshard or rebalance of this cluster to resume");
        return false;
    };
    let Ok(_lock) = lock::hold(m, if m.opts.abandon { "abandon" } else { "resume" }) else { return false };
    // What an atomic run left undone is moved the same way.
    m.opts.atomic |= record.atomic;
    let in_flight: Vec<Unit> = record.in_flight().into_iter().cloned().collect();
    let pending: Vec<Unit> = record.pending().into_iter().cloned().collect();
    let journal = match Journal::reopen(&record.path) {
        Ok(j) => j,
        Err(e) => {
            m.report.note(&format!("rcli: cannot write to the journal: {e}"));
            return false;
        }
    };
    let slots = |units: &[Unit]| census::slot_ranges(&units.iter().map(|u| u.slot).collect::<Vec<_>>());
    if m.opts.abandon {
        m.report.note(&format!(
            "rcli: abandoning the {} of {}: settling {} slots in flight ({}), dropping {} slots not started",
            record.op,
            record.path.display(),
            in_flight.len(),
            slots(&in_flight),
            pending.len()
        ));
        let refused = settle_all(m, &record, &in_flight, Intent::Abandon, &journal);
        return close(m, &journal, &refused, true);
    }
    m.report.note(&format!(
        "rcli: resuming the {} of {}: {} slots in flight ({}), {} not started",
        record.op,
        record.path.display(),
        in_flight.len(),
        slots(&in_flight),
        pending.len()
    ));
    let mut refused = settle_all(m, &record, &in_flight, Intent::Finish, &journal);
    if refused.iter().any(|r| matches!(r, Settled::Failed)) {
        return close(m, &journal, &refused, false);
    }
    let (movable, stale) = follow_pending(m, &record.lineage, &pending);
    for why in &stale {
        m.report.note(&format!("rcli: {why}; left as it is"));
    }
    refused.extend(stale.into_iter().map(Settled::Refused));
    if !movable.is_empty() && !move_pending(m, &movable, &journal) {
        return false;
    }
    close(m, &journal, &refused, false)
}

/// Ends a recovery: the journal is closed when nothing was refused (or, abandoning with
/// `--cluster-force`, whatever was); otherwise it stays and the way on is said.
fn close(m: &mut Manager, journal: &SharedJournal, outcomes: &[Settled], abandoning: bool) -> bool {
    let left: Vec<&Settled> = outcomes.iter().filter(|o| **o != Settled::Done).collect();
    if left.is_empty() {
        journal.finish(m.opts.keep_journal && !abandoning);
        m.report.ok(if abandoning {
            "[OK] The interrupted run is abandoned."
        } else {
            "[OK] The interrupted run is complete."
        });
        return true;
    }
    if abandoning && m.opts.force && !left.contains(&&Settled::Failed) {
        journal.finish(false);
        m.report.note(&format!(
            "rcli: --cluster-force: the journal {} is closed with {} slots left as they are (above); `rcli --cluster fix` settles them from what the nodes say",
            journal.path().display(),
            left.len()
        ));
        return true;
    }
    m.report.note(&format!(
        "rcli: {} slots were left as they are (above); the journal {} stays: `--cluster-abandon` settles what it can, `--cluster-abandon --cluster-force` closes it leaving the rest, `rcli --cluster fix` settles a slot from what the nodes say",
        left.len(),
        journal.path().display()
    ));
    false
}

/// Settles every unit: one census of all their slots (after the atomic slot migrations
/// of the run, if any, are over), a verdict per slot, then the verdicts carried out:
/// moves from the start grouped per node pair, the others slot by slot.
fn settle_all(
    m: &mut Manager,
    record: &Record,
    units: &[Unit],
    intent: Intent,
    journal: &SharedJournal,
) -> Vec<Settled> {
    if record.atomic
        && let Err(why) = end_jobs(m, record, units, intent)
    {
        m.report.note(&format!("rcli: {why}"));
        return vec![Settled::Failed];
    }
    let slots: Vec<u16> = units.iter().map(|u| u.slot).collect();
    let census = census(m, &slots);
    let mut outcomes = Vec::new();
    let mut moves: Vec<(Peer, Peer, Vec<u16>)> = Vec::new();
    for unit in units {
        let verdict =
            settle::decide(&census, &record.lineage, unit.slot, &unit.src.id, &unit.dst.id, intent, m.opts.force);
        if let Verdict::Move { from, to } = verdict {
            match moves.iter_mut().find(|(f, t, _)| f.id == from.id && t.id == to.id) {
                Some((_, _, slots)) => slots.push(unit.slot),
                None => moves.push((from, to, vec![unit.slot])),
            }
            continue;
        }
        let outcome = act(m, &census, unit.slot, verdict);
        match &outcome {
            Settled::Done => journal.done(&[unit.slot]),
            Settled::Refused(why) => m.report.note(&format!("rcli: {why}; left as it is")),
            Settled::Failed => {}
        }
        let failed = outcome == Settled::Failed;
        outcomes.push(outcome);
        if failed {
            return outcomes;
        }
    }
    let mut settings = m.move_settings(Arc::new(HashSet::new()));
    settings.masters = census.primary_peers();
    for (from, to, slots) in moves {
        let style = Style { cold: false, quiet: false };
        let moved = mover::move_slots(&mut m.link, &from, &to, &slots, &settings, style, Some(journal), &mut |_| {});
        execute::print_outcomes(&mut m.report, &moved);
        if let Some(e) = moved.iter().find_map(|o| o.error.clone()) {
            if !e.is_empty() && !settings.atomic {
                m.report.err(&format!("clusterManagerMoveSlot failed: {e}"));
            }
            outcomes.push(Settled::Failed);
            return outcomes;
        }
        for slot in slots {
            m.cluster.give_slot(slot, &to.id);
            outcomes.push(Settled::Done);
        }
    }
    outcomes
}

/// The atomic slot migrations of an interrupted run, brought to an end before its slots
/// are judged: waited for (resume), or cancelled and then waited for (abandon; only a
/// source's sole running export is cancelled, the server cancels them all at once).
fn end_jobs(m: &mut Manager, record: &Record, units: &[Unit], intent: Intent) -> Result<(), String> {
    let slots: Vec<u16> = units.iter().map(|u| u.slot).collect();
    let census = census(m, &slots);
    let wait = m.move_settings(Arc::new(HashSet::new())).migrate_wait();
    let mut seen: Vec<&str> = Vec::new();
    for unit in units {
        let Some(name) = record.jobs.get(&unit.slot).map(String::as_str) else { continue };
        if seen.contains(&name) {
            continue;
        }
        seen.push(name);
        // Its source now; a source gone took its running job with it.
        let Some(source) = record.lineage.now(&census, &unit.src.id) else { continue };
        let source = source.peer.clone();
        if intent == Intent::Abandon && atomic::cancel(&mut m.link, &source, name, m.opts.force)? {
            m.report.note(&format!("rcli: cancelled atomic slot migration {name} on {}", source.addr()));
        }
        m.report.note(&format!("rcli: waiting for atomic slot migration {name} on {} to end", source.addr()));
        atomic::wait_over(&mut m.link, &source, name, wait)?;
        // The target cleans up a failed import by itself: its keys count only after that.
        if let Some(target) = record.lineage.now(&census, &unit.dst.id) {
            atomic::wait_over(&mut m.link, &target.peer.clone(), name, wait)?;
        }
    }
    Ok(())
}

/// Settles one interrupted move as `intent` asks, if the nodes allow it.
pub fn settle_slot(m: &mut Manager, lineage: &Lineage, unit: &Unit, intent: Intent) -> Settled {
    let census = census(m, &[unit.slot]);
    let verdict = settle::decide(&census, lineage, unit.slot, &unit.src.id, &unit.dst.id, intent, m.opts.force);
    act(m, &census, unit.slot, verdict)
}

/// Carries out a verdict on `slot`.
fn act(m: &mut Manager, census: &Census, slot: u16, verdict: Verdict) -> Settled {
    let mut settings = m.move_settings(Arc::new(HashSet::new()));
    settings.masters = census.primary_peers();
    let owner = match &verdict {
        Verdict::Refuse(why) => return Settled::Refused(why.clone()),
        Verdict::Settled { owner } | Verdict::Gather { owner, .. } => owner.id.clone(),
        Verdict::Move { to, .. } => to.id.clone(),
    };
    let result = match verdict {
        Verdict::Refuse(_) => Ok(()),
        Verdict::Settled { owner } => {
            m.report.line(&format!("Slot {slot} is settled on {}", owner.addr()));
            Ok(())
        }
        Verdict::Move { from, to } => {
            let outcomes = mover::move_slots(
                &mut m.link,
                &from,
                &to,
                &[slot],
                &settings,
                Style { cold: false, quiet: false },
                None,
                &mut |_| {},
            );
            execute::print_outcomes(&mut m.report, &outcomes);
            match outcomes.iter().find_map(|o| o.error.clone()) {
                Some(e) => Err(e),
                None => Ok(()),
            }
        }
        Verdict::Gather { owner, holders, close, announce } => {
            gather(m, census, slot, &owner, &holders, &close, announce, &settings)
        }
    };
    match result {
        Ok(()) => {
            m.cluster.give_slot(slot, &owner);
            Settled::Done
        }
        Err(e) => {
            if !e.is_empty() {
                m.report.err(&format!("clusterManagerMoveSlot failed: {e}"));
            }
            Settled::Failed
        }
    }
}

/// The keys of `slot` on `holders` go to `owner`; then the slot is closed on `close`
/// and the holders, owner first; with `announce`, every primary is told the owner.
#[allow(clippy::too_many_arguments)]
fn gather(
    m: &mut Manager,
    census: &Census,
    slot: u16,
    owner: &Peer,
    holders: &[Peer],
    close: &[Peer],
    announce: bool,
    settings: &mover::Settings,
) -> Result<(), String> {
    let s = slot.to_string();
    for holder in holders {
        // MIGRATE only works in an open slot, and an importing node never drops its keys.
        if !census.node(&holder.id).is_some_and(|n| n.is_open(slot)) {
            command(m, holder, &["CLUSTER", "SETSLOT", &s, "IMPORTING", &owner.id])?;
        }
    }
    // An owner that still migrates the slot answers a RESTORE of a key it lacks with
    // ASK: it closes first (the holders' keys are then out of sight until they arrive).
    if close.iter().any(|c| c.id == owner.id) {
        command(m, owner, &["CLUSTER", "SETSLOT", &s, "STABLE"])?;
    }
    for holder in holders {
        let mut out = SlotOutcome { slot, ..SlotOutcome::default() };
        out.pieces.push(mover::Piece::Text(format!("Moving slot {slot} from {} to {}: ", holder.addr(), owner.addr())));
        let result = mover::drain(&mut m.link, holder, owner, slot, settings, None, true, &mut out);
        out.pieces.push(mover::Piece::Text("\n".into()));
        execute::print_outcomes(&mut m.report, std::slice::from_ref(&out));
        result?;
    }
    let mut closed: Vec<&Peer> = close.iter().filter(|c| c.id != owner.id).collect();
    closed.extend(holders.iter().filter(|h| !close.iter().any(|c| c.id == h.id)));
    for node in closed {
        command(m, node, &["CLUSTER", "SETSLOT", &s, "STABLE"])?;
    }
    if announce {
        for primary in census.primaries().filter(|p| p.peer.id != owner.id) {
            match m.link.cmd(&primary.peer.endpoint(), &["CLUSTER", "SETSLOT", &s, "NODE", &owner.id]) {
                Ok(reply) => match error_of(&reply) {
                    Some(e) if !mover::is_lost_last_slot(&e) => return Err(format!("{}: {e}", primary.peer.addr())),
                    _ => {}
                },
                Err(e) => return Err(format!("{}: {e}", primary.peer.addr())),
            }
        }
    }
    Ok(())
}

fn command(m: &mut Manager, node: &Peer, argv: &[&str]) -> Result<(), String> {
    let reply = m.link.cmd(&node.endpoint(), argv).map_err(|e| format!("{}: {e}", node.addr()))?;
    match error_of(&reply) {
        Some(e) => Err(format!("{}: {e}", node.addr())),
        None => Ok(()),
    }
}

/// The slots not started yet, each followed to the nodes that stand for its source and
/// target now; those that no longer fit (another node owns the slot, a side is gone) are
/// refused with what the nodes say.
fn follow_pending(m: &mut Manager, lineage: &Lineage, pending: &[Unit]) -> (Vec<Unit>, Vec<String>) {
    if pending.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let slots: Vec<u16> = pending.iter().map(|u| u.slot).collect();
    let census = census(m, &slots);
    let mut movable = Vec::new();
    let mut refused = Vec::new();
    for unit in pending {
        let (Some(src), Some(dst)) = (lineage.now(&census, &unit.src.id), lineage.now(&census, &unit.dst.id)) else {
            refused.push(format!(
                "slot {}: {} or {} is gone and none of its replicas took over ({})",
                unit.slot,
                census.name(&unit.src.id),
                census.name(&unit.dst.id),
                census.describe(unit.slot)
            ));
            continue;
        };
        match settle::may_open(&census, &[unit.slot], &src.peer.id, &dst.peer.id).into_iter().next() {
            Some(why) => refused.push(why),
            None => movable.push(Unit { slot: unit.slot, src: src.peer.clone(), dst: dst.peer.clone() }),
        }
    }
    (movable, refused)
}

/// Moves the slots not started yet, as the interrupted run would have.
fn move_pending(m: &mut Manager, units: &[Unit], journal: &SharedJournal) -> bool {
    let Some(sizing) = preflight::checked(m, units) else { return false };
    let groups = execute::groups(units, execute::group_size(m.opts.atomic));
    let settings = m.move_settings(Arc::new(sizing.big_keys.clone()));
    let template = m.template.clone();
    let stop = m.stop.clone();
    let parallel = if m.opts.parallel == 0 { 4 } else { m.opts.parallel };
    let shared = m.link.lend_pool();
    let mut sink = |_: usize, outcomes: &[SlotOutcome]| execute::print_outcomes(&mut m.report, outcomes);
    let ended = execute::run(
        &template,
        &shared,
        &groups,
        &settings,
        Style { cold: false, quiet: false },
        Some(journal),
        parallel,
        &stop,
        None,
        &mut sink,
    );
    m.link.take_back(shared);
    if let Ended::Failed(e) = &ended
        && !e.is_empty()
    {
        m.report.err(&format!("clusterManagerMoveSlot failed: {e}"));
    }
    ended == Ended::Done
}

/// `fix` meets `slot` open and a journal names it in flight: the move is finished the
/// way the journal meant when the nodes allow it (`Some(ok)`); `None` when the journal no
/// longer fits the slot (said), so that fix settles it from what the nodes say.
pub fn finish_for_fix(m: &mut Manager, record: &Record, slot: u16) -> Option<bool> {
    let unit = record.in_flight().into_iter().find(|u| u.slot == slot)?.clone();
    let census = census(m, &[slot]);
    let verdict = settle::decide(&census, &record.lineage, slot, &unit.src.id, &unit.dst.id, Intent::Finish, false);
    if let Verdict::Refuse(why) = &verdict {
        m.report.note(&format!(
            "rcli: slot {slot} is in flight in the interrupted {} of {}, but the journal no longer fits it ({why}): fixing it from what the nodes say",
            record.op,
            record.path.display()
        ));
        return None;
    }
    m.report.note(&format!(
        "rcli: slot {slot} is part of an interrupted {} (journal {}): finishing its move {} -> {}",
        record.op,
        record.path.display(),
        census.name(&unit.src.id),
        census.name(&unit.dst.id)
    ));
    let outcome = act(m, &census, slot, verdict);
    if outcome == Settled::Done
        && let Ok(j) = Journal::reopen(&record.path)
    {
        j.done(&[slot]);
    }
    Some(outcome == Settled::Done)
}
