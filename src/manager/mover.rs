//! Moving slots from one master to another (docs/cluster-manager.md, "Moving one
//! slot"): IMPORTING on the target, then MIGRATING on the source; MIGRATE … KEYS until
//! the slot is empty; then SETSLOT NODE on the target, the source, and every other
//! master. redis-cli's lines and its BUSYKEY handling, with rcli's speed: the slots of
//! one source→target group are opened, emptied and finalised with pipelined commands
//! (SETSLOTs pipelined to one node share the node's one configuration save), and the
//! journal records each group before it changes anything.

use crate::endpoint::Endpoint;

use super::census::{self, Census};
pub use super::drain::drain;
use super::drain::{get_keys, keys_of};
use super::fault::fault_point;
use super::journal::SharedJournal;
use super::link::{Link, error_of};
use super::moves::setslot;
pub use super::moves::{Peer, Piece, Settings, SlotOutcome, Style};
use super::settle;

/// How many times a SETSLOT refused with NOREPLICAS is sent in all.
const SETSLOT_ATTEMPTS: usize = 4;

/// Sends `commands` (SETSLOTs) to `node`; the index and text of the first failure.
///
/// A Valkey 8 primary with replicas sends a SETSLOT to them first and applies it only
/// once they acknowledge it, within a timeout of its own (2 s by default); when they do
/// not, it answers NOREPLICAS and changes nothing. SETSLOT is idempotent, so the refused
/// command and those after it are sent again, a bounded number of times, before the
/// refusal counts as a failure (a replica slow to answer on a busy machine is not one).
fn all_ok(link: &mut Link, node: &Endpoint, commands: &[Vec<String>]) -> Result<(), (usize, String)> {
    let mut from = 0;
    let mut attempts = 1;
    loop {
        let pending = commands.get(from..).unwrap_or_default();
        let replies = link.pipeline(node, pending).map_err(|e| (from, e.to_string()))?;
        let Some(i) = replies.iter().position(|r| r.as_error().is_some()) else { return Ok(()) };
        let error = replies.get(i).and_then(error_of).unwrap_or_default();
        if !error.starts_with("NOREPLICAS") || attempts >= SETSLOT_ATTEMPTS {
            return Err((from + i, error));
        }
        attempts += 1;
        from += i;
    }
}

/// Opens `slots` (IMPORTING on the target first, then MIGRATING on the source). On a
/// failure, what was opened is closed again and the error returned.
pub fn open(link: &mut Link, src: &Peer, dst: &Peer, slots: &[u16]) -> Result<(), String> {
    let importing: Vec<Vec<String>> = slots.iter().map(|&s| setslot(s, "IMPORTING", &src.id)).collect();
    if let Err((_, e)) = all_ok(link, &dst.endpoint(), &importing) {
        let _ = stabilize(link, &dst.endpoint(), slots);
        return Err(e);
    }
    fault_point("importing");
    let migrating: Vec<Vec<String>> = slots.iter().map(|&s| setslot(s, "MIGRATING", &dst.id)).collect();
    if let Err((_, e)) = all_ok(link, &src.endpoint(), &migrating) {
        let _ = stabilize(link, &src.endpoint(), slots);
        let _ = stabilize(link, &dst.endpoint(), slots);
        return Err(e);
    }
    fault_point("migrating");
    Ok(())
}

/// `CLUSTER SETSLOT s STABLE` for every slot.
pub fn stabilize(link: &mut Link, node: &Endpoint, slots: &[u16]) -> Result<(), String> {
    let commands: Vec<Vec<String>> =
        slots.iter().map(|s| vec!["CLUSTER".into(), "SETSLOT".into(), s.to_string(), "STABLE".into()]).collect();
    all_ok(link, node, &commands).map_err(|(_, e)| e)
}

/// The final SETSLOT NODE: target first (it bumps its epoch and tells the others), then
/// the source (which may have become a replica of the target after losing its last
/// slot), then every other master at once.
pub fn finalize(link: &mut Link, src: &Peer, dst: &Peer, slots: &[u16], masters: &[Peer]) -> Result<(), String> {
    let node: Vec<Vec<String>> = slots.iter().map(|&s| setslot(s, "NODE", &dst.id)).collect();
    all_ok(link, &dst.endpoint(), &node).map_err(|(_, e)| e)?;
    fault_point("finalized-target");
    if let Err((_, e)) = all_ok(link, &src.endpoint(), &node)
        && !is_lost_last_slot(&e)
        && !target_owns(link, &src.endpoint(), &dst.id, slots)
    {
        return Err(e);
    }
    let others: Vec<Endpoint> =
        masters.iter().filter(|m| m.id != src.id && m.id != dst.id).map(Peer::endpoint).collect();
    for (other, result) in link.fan_out(&others, &node) {
        let replies = result.map_err(|e| e.to_string())?;
        match replies.iter().find_map(error_of) {
            // Its replicas were slow to acknowledge: asked again (all_ok) before it counts.
            Some(e) if e.starts_with("NOREPLICAS") => all_ok(link, &other, &node).map_err(|(_, e)| e)?,
            Some(e) => return Err(e),
            None => {}
        }
    }
    Ok(())
}

/// Errors a source gives once it lost its last slot and turned into a replica (Redis),
/// or while it waits for its replicas (Valkey): the move itself is done.
pub fn is_lost_last_slot(error: &str) -> bool {
    error.starts_with("ERR Please use SETSLOT only with masters")
        || error.starts_with("ERR Please use SETSLOT only with primaries")
        || error.starts_with("UNBLOCKED")
        || error.starts_with("NOREPLICAS")
}

/// Whether `node`, asked again (over a new connection if its link failed), sees `dst`
/// owning every slot of `slots`. A Valkey 8 source that loses its last slot while its
/// SETSLOT NODE waits for its replicas turns itself into a replica and may close that
/// link instead of answering UNBLOCKED: the move is done all the same.
fn target_owns(link: &mut Link, node: &Endpoint, dst: &str, slots: &[u16]) -> bool {
    let Ok(reply) = link.cmd(node, &["CLUSTER", "NODES"]) else { return false };
    if error_of(&reply).is_some() {
        return false;
    }
    super::model::parse_nodes(&super::link::reply_text(&reply))
        .iter()
        .find(|line| line.head.id == dst)
        .is_some_and(|line| slots.iter().all(|&slot| line.slots.contains(slot)))
}

/// Moves `slots` (in order) from `src` to `dst`. A hot group is opened at once, its
/// slots emptied one after the other, and finalised at once. Stops at the first
/// failure: the slots before it are finalised, the ones after it closed again (they
/// hold no moved keys), so only the failing slot stays open, as with redis-cli.
#[allow(clippy::too_many_arguments)]
pub fn move_slots(
    link: &mut Link,
    src: &Peer,
    dst: &Peer,
    slots: &[u16],
    s: &Settings,
    style: Style,
    journal: Option<&SharedJournal>,
    on_slot: &mut dyn FnMut(&SlotOutcome),
) -> Vec<SlotOutcome> {
    if s.atomic && !style.cold {
        let outcomes = super::atomic::move_group(link, src, dst, slots, s, style.quiet, journal);
        outcomes.iter().for_each(&mut *on_slot);
        return outcomes;
    }
    if !style.cold
        && let Err(refused) = nodes_allow(link, src, dst, slots, s, settle::may_open)
    {
        return refused;
    }
    if let Some(j) = journal {
        j.opening(slots, src, dst);
        fault_point("journal-open");
    }
    if !style.cold && slots.len() > 1 && open(link, src, dst, slots).is_err() {
        // One at a time: the failing slot then reports exactly what failed.
        let mut outcomes = Vec::new();
        for &slot in slots {
            let outcome = move_slots(link, src, dst, &[slot], s, style, None, on_slot).remove(0);
            let failed = outcome.error.is_some();
            outcomes.push(outcome);
            if failed {
                break;
            }
            if let Some(j) = journal {
                j.done(&[slot]);
            }
        }
        return outcomes;
    }
    let mut outcomes: Vec<SlotOutcome> = Vec::new();
    let start = |slot: u16| {
        let mut out = SlotOutcome { slot, ..SlotOutcome::default() };
        if !style.quiet {
            out.pieces.push(Piece::Text(format!("Moving slot {slot} from {} to {}: ", src.addr(), dst.addr())));
        }
        out
    };
    if !style.cold
        && let [slot] = slots
        && let Err(e) = open(link, src, dst, slots)
    {
        let mut out = start(*slot);
        if !style.quiet {
            out.pieces.push(Piece::Text("\n".into()));
        }
        out.error = Some(e);
        on_slot(&out);
        return vec![out];
    }
    let prefetched: Vec<Vec<Vec<u8>>> = {
        let commands: Vec<Vec<String>> = slots.iter().map(|&slot| get_keys(slot, s.get_count)).collect();
        match link.pipeline(&src.endpoint(), &commands) {
            Ok(replies) if replies.iter().all(|r| r.as_error().is_none()) => replies.iter().map(keys_of).collect(),
            _ => Vec::new(),
        }
    };
    for (i, &slot) in slots.iter().enumerate() {
        let mut out = start(slot);
        let result = drain(link, src, dst, slot, s, prefetched.get(i).cloned(), !style.quiet, &mut out);
        if !style.quiet {
            out.pieces.push(Piece::Text("\n".into()));
        }
        if let Err(e) = result {
            out.error = Some(e);
            if !style.cold {
                // The slots before this one are moved; the ones after it are not.
                let done = slots.get(..i).unwrap_or_default();
                if !done.is_empty()
                    && finalize(link, src, dst, done, &s.masters).is_ok()
                    && let Some(j) = journal
                {
                    j.done(done);
                }
                close_rest(link, src, dst, slots.get(i + 1..).unwrap_or_default(), s);
            }
            on_slot(&out);
            outcomes.push(out);
            return outcomes;
        }
        on_slot(&out);
        outcomes.push(out);
    }
    fault_point("drained");
    let mut result = verify_empty(link, src, dst, slots, s);
    if !style.cold && result.is_ok() {
        result = match nodes_allow(link, src, dst, slots, s, settle::may_hand_over) {
            Ok(()) => finalize(link, src, dst, slots, &s.masters),
            Err(refused) => {
                if let Some(last) = outcomes.last_mut() {
                    last.pieces.extend(refused.into_iter().flat_map(|o| o.pieces));
                }
                Err("the nodes no longer agree with the move (above): its slots stay open".into())
            }
        };
    }
    {
        if let Err(e) = result {
            // The group stays open; the journal lets --cluster-resume finish it.
            if let Some(last) = outcomes.last_mut() {
                last.error = Some(e);
            }
            return outcomes;
        }
    }
    fault_point("finalized");
    if let Some(j) = journal {
        j.done(slots);
    }
    outcomes
}

/// Asks every primary what it says about `slots` now and applies `rule` (a
/// [`settle`] check); the refusals as outcomes (each a line and the error) when any.
fn nodes_allow(
    link: &mut Link,
    src: &Peer,
    dst: &Peer,
    slots: &[u16],
    s: &Settings,
    rule: fn(&Census, &[u16], &str, &str) -> Vec<String>,
) -> Result<(), Vec<SlotOutcome>> {
    let mut known: Vec<Endpoint> = s.masters.iter().map(Peer::endpoint).collect();
    known.extend([src.endpoint(), dst.endpoint()]);
    let census = census::take(link, &known, slots, s.databases);
    let refusals = rule(&census, slots, &src.id, &dst.id);
    let Some(first) = refusals.first() else { return Ok(()) };
    let slot = first.strip_prefix("slot ").and_then(|t| t.split(':').next()).and_then(|n| n.parse().ok()).unwrap_or(0);
    let mut out = SlotOutcome { slot, ..SlotOutcome::default() };
    out.pieces.extend(refusals.iter().map(|r| Piece::Note(format!("rcli: refusing to move {r}"))));
    out.error = Some(format!("the nodes do not agree with moving slot {slot} from {} to {}", src.addr(), dst.addr()));
    Err(vec![out])
}

/// Makes sure the source holds no key of `slots` before they are handed over (a last
/// batch shorter than asked for is not checked again while draining).
fn verify_empty(link: &mut Link, src: &Peer, dst: &Peer, slots: &[u16], s: &Settings) -> Result<(), String> {
    for _ in 0..10 {
        let commands: Vec<Vec<String>> =
            slots.iter().map(|s| vec!["CLUSTER".into(), "COUNTKEYSINSLOT".into(), s.to_string()]).collect();
        let mut left: Vec<u16> = Vec::new();
        for replies in link.each_db(&src.endpoint(), s.databases, &commands).map_err(|e| e.to_string())? {
            left.extend(slots.iter().zip(&replies).filter(|(_, r)| r.as_integer() != Some(0)).map(|(s, _)| *s));
        }
        left.sort_unstable();
        left.dedup();
        if left.is_empty() {
            return Ok(());
        }
        for slot in left {
            let mut sink = SlotOutcome::default();
            drain(link, src, dst, slot, s, None, false, &mut sink)?;
        }
    }
    Err("keys keep appearing in the slots being moved".into())
}

/// Closes opened slots that were not emptied yet: the source stops redirecting first;
/// keys a client wrote to the target meanwhile (after an ASK) go back to the source.
fn close_rest(link: &mut Link, src: &Peer, dst: &Peer, slots: &[u16], s: &Settings) {
    if slots.is_empty() {
        return;
    }
    let _ = stabilize(link, &src.endpoint(), slots);
    for &slot in slots {
        let mut sink = SlotOutcome::default();
        if drain(link, dst, src, slot, s, None, false, &mut sink).is_ok() {
            let _ = stabilize(link, &dst.endpoint(), &[slot]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_that_lost_its_last_slot_is_not_an_error() {
        assert!(is_lost_last_slot("ERR Please use SETSLOT only with masters."));
        assert!(is_lost_last_slot("UNBLOCKED force unblock"));
        assert!(!is_lost_last_slot("ERR I don't know about node x"));
    }
}
