//! `fix`'s repairs, run from inside the check (docs/cluster-manager.md, "fix"): open
//! slots (redis-cli's cases 1-4), and the steps every repair is made of (SETSLOT, an
//! owner assigned, a slot's keys moved); slots with no owner or several are
//! [`super::fix_owners`]. rcli keeps redis-cli's lines and decisions, with three
//! changes: other holders of a slot are put in IMPORTING *before* an owner is assigned
//! (so a gossip race cannot make them drop their keys), a slot named in an interrupted
//! reshard's journal is finished as the journal says instead of guessed, and key-less
//! uncovered slots go round-robin to the masters with the fewest slots.

use std::collections::HashSet;
use std::sync::Arc;

use super::journal::{self, Journal};
use super::link::error_of;
use super::model::Node;
use super::mover::{self, Style};
use super::{Manager, peer};

/// redis-cli refuses to fix with unreachable masters (their slots look uncovered):
/// true when refused (said; the fix stops there, exit 1).
pub fn refuse_with_unreachable_masters(m: &mut Manager, what: &str) -> bool {
    let count = m.cluster.unreachable_masters;
    if count == 0 || m.opts.fix_with_unreachable_masters {
        return false;
    }
    m.report.warn(&format!(
        "*** Fixing {what} with {count} unreachable masters is dangerous: redis-cli will assume that slots about masters that are not reachable are not covered, and will try to reassign them to the reachable nodes. This can cause data loss and is rarely what you want to do. If you really want to proceed use the --cluster-fix-with-unreachable-masters option."
    ));
    let names: Vec<String> = m
        .cluster
        .skipped
        .iter()
        .filter(|s| s.master)
        .map(|s| format!("{}:{} ({}, {})", s.host, s.port, s.id, s.reason))
        .collect();
    m.report.note(&format!(
        "rcli: unreachable masters: {}. If one is gone for good, promote its replica with CLUSTER FAILOVER TAKEOVER first.",
        names.join(", ")
    ));
    true
}

pub(super) fn count_keys(m: &mut Manager, node: &Node, slot: u16) -> Option<i64> {
    m.link.keys_in_slot(&node.endpoint(), slot, m.databases)
}

pub(super) fn setslot(m: &mut Manager, node: &Node, slot: u16, args: &[&str]) -> bool {
    let mut argv = vec!["CLUSTER", "SETSLOT"];
    let slot = slot.to_string();
    argv.push(&slot);
    argv.extend_from_slice(args);
    m.link.cmd(&node.endpoint(), &argv).is_ok_and(|r| r.as_error().is_none())
}

pub(super) fn del_slot(m: &mut Manager, node: &Node, slot: u16) -> bool {
    match m.link.cmd(&node.endpoint(), &["CLUSTER", "DELSLOTS", &slot.to_string()]) {
        Ok(r) => error_of(&r).is_none_or(|e| e.contains("already unassigned")),
        Err(_) => false,
    }
}

/// The loaded model follows a slot that moved to or from `node`.
pub(super) fn model_slot(m: &mut Manager, node: &Node, slot: u16, owned: bool) {
    if let Some(n) = m.cluster.node_mut(&node.id) {
        if owned { n.slots.insert(slot) } else { n.slots.remove(slot) }
    }
}

/// `MULTI; DELSLOTS; ADDSLOTS; [SETSLOT STABLE;] BUMPEPOCH; EXEC`: only ADDSLOTS counts.
pub(super) fn set_slot_owner(m: &mut Manager, node: &Node, slot: u16, clear: bool) -> bool {
    let s = slot.to_string();
    let mut commands: Vec<Vec<String>> = vec![
        vec!["MULTI".into()],
        vec!["CLUSTER".into(), "DELSLOTS".into(), s.clone()],
        vec!["CLUSTER".into(), "ADDSLOTS".into(), s.clone()],
    ];
    if clear {
        commands.push(vec!["CLUSTER".into(), "SETSLOT".into(), s.clone(), "STABLE".into()]);
    }
    commands.push(vec!["CLUSTER".into(), "BUMPEPOCH".into()]);
    commands.push(vec!["EXEC".into()]);
    let Ok(replies) = m.link.pipeline(&node.endpoint(), &commands) else { return false };
    let ok = replies
        .last()
        .and_then(|exec| exec.as_items())
        .and_then(|items| items.get(1))
        .is_some_and(|add| add.as_error().is_none());
    if ok {
        model_slot(m, node, slot, true);
    }
    ok
}

/// Among `candidates` (masters), the one with the most keys in `slot` (the first
/// when all have none).
pub(super) fn most_keys<'a>(m: &mut Manager, candidates: &'a [Node], slot: u16) -> Option<&'a Node> {
    let mut best: Option<(&Node, i64)> = None;
    for n in candidates {
        let count = count_keys(m, n, slot)?;
        if best.is_none_or(|(_, c)| count > c) {
            best = Some((n, count));
        }
    }
    best.map(|(n, _)| n)
}

pub(super) fn addr_list(nodes: &[Node]) -> String {
    nodes.iter().map(Node::addr).collect::<Vec<_>>().join(",")
}

/// Moves `slot` from `src` to `dst` (`cold`: without MIGRATING/IMPORTING and the final
/// SETSLOT NODE); prints what the move printed.
pub(super) fn move_slot(m: &mut Manager, src: &Node, dst: &Node, slot: u16, cold: bool) -> bool {
    let settings = m.move_settings(Arc::new(HashSet::new()));
    let outcomes = mover::move_slots(
        &mut m.link,
        &peer(src),
        &peer(dst),
        &[slot],
        &settings,
        Style { cold, quiet: false },
        None,
        &mut |_| {},
    );
    super::execute::print_outcomes(&mut m.report, &outcomes);
    outcomes.iter().all(|o| o.error.is_none())
}

pub(super) fn cold_move(m: &mut Manager, src: &Node, dst: &Node, slot: u16) -> bool {
    move_slot(m, src, dst, slot, true)
}

/// Removes `node` from `list` (by id).
pub(super) fn without(list: &mut Vec<Node>, node: &Node) {
    list.retain(|x| x.id != node.id);
}

/// `clusterManagerFixOpenSlot`.
pub fn fix_open_slot(m: &mut Manager, slot: u16) -> bool {
    m.report.info(&format!(">>> Fixing open slot {slot}"));
    if let Some(done) = finish_from_journal(m, slot) {
        return done;
    }
    let census = refresh_slot(m, slot);
    if let Some(done) = close_on_replicas(m, &census, slot) {
        return done;
    }
    let masters: Vec<Node> = m.cluster.masters().cloned().collect();
    let mut owners: Vec<Node> = Vec::new();
    for n in &masters {
        if n.slots.contains(slot) {
            owners.push(n.clone());
        } else {
            let Some(count) = count_keys(m, n, slot) else { return false };
            if count > 0 {
                m.report.warn(&format!("*** Found keys about slot {slot} in non-owner node {}!", n.addr()));
                owners.push(n.clone());
            }
        }
    }
    let mut owner: Option<Node> = match owners.as_slice() {
        [only] => Some(only.clone()),
        _ => None,
    };
    let (mut migrating, mut importing): (Vec<Node>, Vec<Node>) = (Vec::new(), Vec::new());
    for n in &masters {
        if n.migrating_slots().any(|s| s == slot) {
            migrating.push(n.clone());
        } else if n.importing_slots().any(|s| s == slot) {
            importing.push(n.clone());
        } else if owner.as_ref().is_none_or(|o| o.id != n.id) {
            let Some(count) = count_keys(m, n, slot) else { return false };
            if count > 0 {
                m.report.warn(&format!("*** Found keys about slot {slot} in node {}!", n.addr()));
                importing.push(n.clone());
            }
        }
    }
    let (migrating_str, importing_str) = (addr_list(&migrating), addr_list(&importing));
    if !migrating.is_empty() {
        m.report.line(&format!("Set as migrating in: {migrating_str}"));
    }
    if !importing.is_empty() {
        m.report.line(&format!("Set as importing in: {importing_str}"));
    }
    let chosen = match &owner {
        Some(o) => o.clone(),
        None => {
            m.report.info(">>> No single clear owner for the slot, selecting an owner by # of keys...");
            let Some(o) = most_keys(m, &masters, slot) else {
                m.report.err("[ERR] Can't select a slot owner. Impossible to fix.");
                return false;
            };
            o.clone()
        }
    };
    // rcli: protect every other holder (IMPORTING from the owner) before the owner's
    // epoch is bumped; redis-cli does it after, racing the gossip that drops keys.
    for n in owners.iter().filter(|n| n.id != chosen.id) {
        if !del_slot(m, n, slot) {
            return false;
        }
        model_slot(m, n, slot, false);
        if !setslot(m, n, slot, &["NODE", &chosen.id]) || !setslot(m, n, slot, &["IMPORTING", &chosen.id]) {
            return false;
        }
        without(&mut importing, n);
        importing.push(n.clone());
        without(&mut migrating, n);
    }
    if owner.is_none() {
        m.report.warn(&format!("*** Configuring {} as the slot owner", chosen.addr()));
        if !setslot(m, &chosen, slot, &["STABLE"]) || !set_slot_owner(m, &chosen, slot, false) {
            return false;
        }
        without(&mut migrating, &chosen);
        without(&mut importing, &chosen);
        owner = Some(chosen.clone());
    }
    let owner = owner.unwrap_or(chosen);
    let owner_addr = owner.addr();
    if let ([src], [dst]) = (migrating.as_slice(), importing.as_slice()) {
        m.report.info(&format!(">>> Case 1: Moving slot {slot} from {} to {}", src.addr(), dst.addr()));
        let ok = move_slot(m, src, dst, slot, false);
        if ok {
            model_slot(m, src, slot, false);
            model_slot(m, dst, slot, true);
        }
        return ok;
    }
    if migrating.is_empty() && !importing.is_empty() {
        m.report.info(&format!(">>> Case 2: Moving all the {slot} slot keys to its owner {owner_addr}"));
        for n in importing.iter().filter(|n| n.id != owner.id) {
            if !cold_move(m, n, &owner, slot) {
                return false;
            }
            m.report.info(&format!(">>> Setting {slot} as STABLE in {}", n.addr()));
            if !setslot(m, n, slot, &["STABLE"]) {
                return false;
            }
        }
        for n in masters.iter().filter(|n| n.id != owner.id) {
            if !setslot(m, n, slot, &["NODE", &owner.id]) {
                return false;
            }
        }
        return true;
    }
    if let [src] = migrating.as_slice()
        && importing.len() > 1
    {
        return case_3(m, slot, src, &importing, &migrating_str, &importing_str, &owner_addr);
    }
    // Case 4: one node migrating, nobody importing, and no keys left to move.
    if let ([src], []) = (migrating.as_slice(), importing.as_slice()) {
        let mut close = true;
        if src.id != owner.id {
            match count_keys(m, src, slot) {
                Some(count) => close = count == 0,
                None => return false,
            }
        }
        if close {
            m.report.info(&format!(">>> Case 4: Closing slot {slot} on {}", src.addr()));
            return setslot(m, src, slot, &["STABLE"]);
        }
    }
    unhandled(m, &migrating_str, &importing_str, &owner_addr)
}

fn unhandled(m: &mut Manager, migrating: &str, importing: &str, owner: &str) -> bool {
    m.report.err(&format!(
        "[ERR] Sorry, redis-cli can't fix this slot yet (work in progress). Slot is set as migrating in {migrating}, as importing in {importing}, owner is {owner}"
    ));
    false
}

#[allow(clippy::too_many_arguments)]
fn case_3(m: &mut Manager, slot: u16, src: &Node, importing: &[Node], ms: &str, is: &str, owner: &str) -> bool {
    let target = src.migrating.iter().find(|(s, _)| *s == slot).map(|(_, id)| id.clone());
    let mut dst = None;
    for n in importing {
        if count_keys(m, n, slot).is_none_or(|c| c > 0) {
            return unhandled(m, ms, is, owner);
        }
        if Some(&n.id) == target.as_ref() {
            dst = Some(n);
        }
    }
    match dst {
        Some(d) => {
            m.report.info(&format!(
                ">>> Case 3: Moving slot {slot} from {} to {} and closing it on all the other importing nodes.",
                src.addr(),
                d.addr()
            ));
            if !move_slot(m, src, d, slot, false) {
                return false;
            }
            importing.iter().filter(|n| n.id != d.id).all(|n| setslot(m, n, slot, &["STABLE"]))
        }
        None => {
            m.report.info(&format!(">>> Case 3: Closing slot {slot} on both migrating and importing nodes."));
            setslot(m, src, slot, &["STABLE"]) && importing.iter().all(|n| setslot(m, n, slot, &["STABLE"]))
        }
    }
}

/// Looks for an interrupted reshard's journal of this cluster (used by the open-slot fix).
pub fn load_journal(m: &mut Manager) {
    let ids: Vec<String> = m.cluster.nodes.iter().map(|n| n.id.clone()).collect();
    m.journal = journal::find(&ids).into_iter().last();
}

/// A slot in flight in the journal: finish that move when the nodes allow it, instead
/// of guessing an owner (`None`: settle it from what the nodes say).
fn finish_from_journal(m: &mut Manager, slot: u16) -> Option<bool> {
    let record = m.journal.clone()?;
    let ok = super::recover::finish_for_fix(m, &record, slot)?;
    if ok && let Some(record) = m.journal.as_mut() {
        record.done.insert(slot);
    }
    Some(ok)
}

/// The loaded model of `slot` replaced by what every node says now (fix decides on it);
/// the census it came from.
fn refresh_slot(m: &mut Manager, slot: u16) -> super::census::Census {
    let census = super::recover::census(m, &[slot]);
    for node in &mut m.cluster.nodes {
        let Some(seen) = census.node(&node.id) else { continue };
        if seen.owns(slot) {
            node.slots.insert(slot)
        } else {
            node.slots.remove(slot)
        }
        node.migrating.retain(|(s, _)| *s != slot);
        node.importing.retain(|(s, _)| *s != slot);
        if let Some(to) = seen.migrating_to(slot) {
            node.migrating.push((slot, to.to_string()));
        }
        if let Some(from) = seen.importing_from(slot) {
            node.importing.push((slot, from.to_string()));
        }
    }
    census
}

/// rcli: a slot open only on replicas (Valkey 8+ copies SETSLOT to a primary's replicas;
/// a primary that closes the slot when gossip tells it the new owner leaves its
/// replicas' copy behind). SETSLOT is refused on a replica, so the slot is closed on
/// their primaries, which pass it on. `None` when a primary has the slot open.
fn close_on_replicas(m: &mut Manager, census: &super::census::Census, slot: u16) -> Option<bool> {
    if census.primaries().any(|p| p.is_open(slot)) {
        return None;
    }
    let primaries: Vec<String> = census
        .seen
        .iter()
        .filter(|n| !n.is_primary() && n.is_open(slot))
        .filter_map(|n| n.line.head.master.clone())
        .collect();
    let mut ok = true;
    for id in primaries {
        let Some(primary) = m.cluster.node(&id).cloned() else { continue };
        m.report.info(&format!(
            ">>> Closing slot {slot} on the replicas of {} (their primary has it closed)",
            primary.addr()
        ));
        ok &= setslot(m, &primary, slot, &["STABLE"]);
    }
    Some(ok)
}

/// After a fix: say what is left of an interrupted reshard.
pub fn after_fix(m: &mut Manager) {
    let Some(record) = m.journal.clone() else { return };
    let pending = record.pending().len() + record.in_flight().len();
    if pending > 0 {
        m.report.note(&format!(
            "rcli: the interrupted {} has {pending} slots left: `rcli --cluster {} <host:port> --cluster-resume` finishes it, --cluster-abandon drops it",
            record.op, record.op
        ));
    } else if let Ok(j) = Journal::reopen(&record.path) {
        j.finish(m.opts.keep_journal);
    }
}
