//! `fix`'s repairs, run from inside the check (docs/cluster-manager.md, "fix"): open
//! slots (redis-cli's cases 1-4), uncovered slots, slots with several owners. rcli keeps
//! redis-cli's lines and decisions, with three changes: other holders of a slot are put
//! in IMPORTING *before* an owner is assigned (so a gossip race cannot make them drop
//! their keys), a slot named in an interrupted reshard's journal is finished as the
//! journal says instead of guessed, and key-less uncovered slots go round-robin to the
//! masters with the fewest slots.

use std::collections::HashSet;
use std::sync::Arc;

use super::Manager;
use super::journal::{self, Journal, Record};
use super::link::error_of;
use super::mover::{self, Style};

/// redis-cli refuses to fix with unreachable masters (their slots look uncovered).
pub fn refuse_with_unreachable_masters(m: &mut Manager, what: &str) {
    let count = m.cluster.unreachable_masters;
    if count == 0 || m.opts.fix_with_unreachable_masters {
        return;
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
    m.report.finish();
    std::process::exit(1);
}

fn count_keys(m: &mut Manager, node: usize, slot: u16) -> Option<i64> {
    let endpoint = m.cluster.nodes[node].endpoint();
    m.link.cmd(&endpoint, &["CLUSTER", "COUNTKEYSINSLOT", &slot.to_string()]).ok()?.as_integer()
}

fn setslot(m: &mut Manager, node: usize, slot: u16, args: &[&str]) -> bool {
    let endpoint = m.cluster.nodes[node].endpoint();
    let mut argv = vec!["CLUSTER", "SETSLOT"];
    let slot = slot.to_string();
    argv.push(&slot);
    argv.extend_from_slice(args);
    m.link.cmd(&endpoint, &argv).is_ok_and(|r| r.as_error().is_none())
}

fn del_slot(m: &mut Manager, node: usize, slot: u16) -> bool {
    let endpoint = m.cluster.nodes[node].endpoint();
    match m.link.cmd(&endpoint, &["CLUSTER", "DELSLOTS", &slot.to_string()]) {
        Ok(r) => error_of(&r).is_none_or(|e| e.contains("already unassigned")),
        Err(_) => false,
    }
}

/// `MULTI; DELSLOTS; ADDSLOTS; [SETSLOT STABLE;] BUMPEPOCH; EXEC`: only ADDSLOTS counts.
fn set_slot_owner(m: &mut Manager, node: usize, slot: u16, clear: bool) -> bool {
    let endpoint = m.cluster.nodes[node].endpoint();
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
    let Ok(replies) = m.link.pipeline(&endpoint, &commands) else { return false };
    let ok = replies
        .last()
        .and_then(|exec| exec.as_items())
        .and_then(|items| items.get(1))
        .is_some_and(|add| add.as_error().is_none());
    if ok {
        m.cluster.nodes[node].slots.insert(slot);
    }
    ok
}

/// Among `candidates` (masters), the one with the most keys in `slot` (the first
/// when all have none).
fn most_keys(m: &mut Manager, candidates: &[usize], slot: u16) -> Option<usize> {
    let mut best: Option<(usize, i64)> = None;
    for &n in candidates {
        let count = count_keys(m, n, slot)?;
        if best.is_none_or(|(_, c)| count > c) {
            best = Some((n, count));
        }
    }
    best.map(|(n, _)| n)
}

fn addr_list(m: &Manager, nodes: &[usize]) -> String {
    nodes.iter().map(|&n| m.cluster.nodes[n].addr()).collect::<Vec<_>>().join(",")
}

fn cold_move(m: &mut Manager, src: usize, dst: usize, slot: u16) -> bool {
    let settings = m.move_settings(Arc::new(HashSet::new()));
    let (a, b) = (m.peer(src), m.peer(dst));
    let outcomes = mover::move_slots(
        &mut m.link,
        &a,
        &b,
        &[slot],
        &settings,
        Style { cold: true, quiet: false },
        None,
        &mut |_| {},
    );
    let ok = outcomes.iter().all(|o| o.error.is_none());
    super::execute::print_outcomes(&mut m.report, &outcomes);
    ok
}

/// `clusterManagerFixOpenSlot`.
pub fn fix_open_slot(m: &mut Manager, slot: u16) -> bool {
    m.report.info(&format!(">>> Fixing open slot {slot}"));
    if let Some(done) = finish_from_journal(m, slot) {
        return done;
    }
    let masters: Vec<usize> = m.cluster.masters().map(|(i, _)| i).collect();
    let mut owners = Vec::new();
    for &n in &masters {
        if m.cluster.nodes[n].slots.contains(slot) {
            owners.push(n);
        } else {
            let Some(count) = count_keys(m, n, slot) else { return false };
            if count > 0 {
                let addr = m.cluster.nodes[n].addr();
                m.report.warn(&format!("*** Found keys about slot {slot} in non-owner node {addr}!"));
                owners.push(n);
            }
        }
    }
    let mut owner = (owners.len() == 1).then(|| owners[0]);
    let (mut migrating, mut importing) = (Vec::new(), Vec::new());
    for &n in &masters {
        let node = &m.cluster.nodes[n];
        if node.migrating_slots().any(|s| s == slot) {
            migrating.push(n);
        } else if node.importing_slots().any(|s| s == slot) {
            importing.push(n);
        } else if Some(n) != owner {
            let Some(count) = count_keys(m, n, slot) else { return false };
            if count > 0 {
                let addr = m.cluster.nodes[n].addr();
                m.report.warn(&format!("*** Found keys about slot {slot} in node {addr}!"));
                importing.push(n);
            }
        }
    }
    let (migrating_str, importing_str) = (addr_list(m, &migrating), addr_list(m, &importing));
    if !migrating.is_empty() {
        m.report.line(&format!("Set as migrating in: {migrating_str}"));
    }
    if !importing.is_empty() {
        m.report.line(&format!("Set as importing in: {importing_str}"));
    }
    let chosen = match owner {
        Some(o) => o,
        None => {
            m.report.info(">>> No single clear owner for the slot, selecting an owner by # of keys...");
            let Some(o) = most_keys(m, &masters, slot) else {
                m.report.err("[ERR] Can't select a slot owner. Impossible to fix.");
                return false;
            };
            o
        }
    };
    // rcli: protect every other holder (IMPORTING from the owner) before the owner's
    // epoch is bumped; redis-cli does it after, racing the gossip that drops keys.
    for &n in owners.iter().filter(|&&n| n != chosen) {
        if !del_slot(m, n, slot) {
            return false;
        }
        m.cluster.nodes[n].slots.remove(slot);
        let id = m.cluster.nodes[chosen].id.clone();
        if !setslot(m, n, slot, &["NODE", &id]) || !setslot(m, n, slot, &["IMPORTING", &id]) {
            return false;
        }
        importing.retain(|&x| x != n);
        importing.push(n);
        migrating.retain(|&x| x != n);
    }
    if owner.is_none() {
        let addr = m.cluster.nodes[chosen].addr();
        m.report.warn(&format!("*** Configuring {addr} as the slot owner"));
        if !setslot(m, chosen, slot, &["STABLE"]) || !set_slot_owner(m, chosen, slot, false) {
            return false;
        }
        migrating.retain(|&x| x != chosen);
        importing.retain(|&x| x != chosen);
        owner = Some(chosen);
    }
    let owner = owner.unwrap_or(chosen);
    let owner_addr = m.cluster.nodes[owner].addr();
    if migrating.len() == 1 && importing.len() == 1 {
        let (src, dst) = (migrating[0], importing[0]);
        let (a, b) = (m.cluster.nodes[src].addr(), m.cluster.nodes[dst].addr());
        m.report.info(&format!(">>> Case 1: Moving slot {slot} from {a} to {b}"));
        let settings = m.move_settings(Arc::new(HashSet::new()));
        let (p, q) = (m.peer(src), m.peer(dst));
        let outcomes = mover::move_slots(
            &mut m.link,
            &p,
            &q,
            &[slot],
            &settings,
            Style { cold: false, quiet: false },
            None,
            &mut |_| {},
        );
        super::execute::print_outcomes(&mut m.report, &outcomes);
        let ok = outcomes.iter().all(|o| o.error.is_none());
        if ok {
            m.cluster.nodes[src].slots.remove(slot);
            m.cluster.nodes[dst].slots.insert(slot);
        }
        return ok;
    }
    if migrating.is_empty() && !importing.is_empty() {
        m.report.info(&format!(">>> Case 2: Moving all the {slot} slot keys to its owner {owner_addr}"));
        for &n in importing.iter().filter(|&&n| n != owner) {
            if !cold_move(m, n, owner, slot) {
                return false;
            }
            let addr = m.cluster.nodes[n].addr();
            m.report.info(&format!(">>> Setting {slot} as STABLE in {addr}"));
            if !setslot(m, n, slot, &["STABLE"]) {
                return false;
            }
        }
        let id = m.cluster.nodes[owner].id.clone();
        for &n in masters.iter().filter(|&&n| n != owner) {
            if !setslot(m, n, slot, &["NODE", &id]) {
                return false;
            }
        }
        return true;
    }
    if migrating.len() == 1 && importing.len() > 1 {
        return case_3(m, slot, migrating[0], &importing, &migrating_str, &importing_str, &owner_addr);
    }
    let mut close = importing.is_empty() && migrating.len() == 1;
    if close && migrating[0] != owner {
        let endpoint = m.cluster.nodes[migrating[0]].endpoint();
        match m.link.cmd(&endpoint, &["CLUSTER", "GETKEYSINSLOT", &slot.to_string(), "10"]) {
            Ok(r) if r.as_error().is_none() => close = r.as_items().is_some_and(<[_]>::is_empty),
            _ => return false,
        }
    }
    if close {
        let addr = m.cluster.nodes[migrating[0]].addr();
        m.report.info(&format!(">>> Case 4: Closing slot {slot} on {addr}"));
        return setslot(m, migrating[0], slot, &["STABLE"]);
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
fn case_3(m: &mut Manager, slot: u16, src: usize, importing: &[usize], ms: &str, is: &str, owner: &str) -> bool {
    let target = m.cluster.nodes[src].migrating.iter().find(|(s, _)| *s == slot).map(|(_, id)| id.clone());
    let mut dst = None;
    for &n in importing {
        if count_keys(m, n, slot).is_none_or(|c| c > 0) {
            return unhandled(m, ms, is, owner);
        }
        if Some(&m.cluster.nodes[n].id) == target.as_ref() {
            dst = Some(n);
        }
    }
    let src_addr = m.cluster.nodes[src].addr();
    match dst {
        Some(d) => {
            let dst_addr = m.cluster.nodes[d].addr();
            m.report.info(&format!(
                ">>> Case 3: Moving slot {slot} from {src_addr} to {dst_addr} and closing it on all the other importing nodes."
            ));
            let settings = m.move_settings(Arc::new(HashSet::new()));
            let (p, q) = (m.peer(src), m.peer(d));
            let outcomes = mover::move_slots(
                &mut m.link,
                &p,
                &q,
                &[slot],
                &settings,
                Style { cold: false, quiet: false },
                None,
                &mut |_| {},
            );
            super::execute::print_outcomes(&mut m.report, &outcomes);
            if outcomes.iter().any(|o| o.error.is_some()) {
                return false;
            }
            importing.iter().filter(|&&n| n != d).all(|&n| setslot(m, n, slot, &["STABLE"]))
        }
        None => {
            m.report.info(&format!(">>> Case 3: Closing slot {slot} on both migrating and importing nodes."));
            setslot(m, src, slot, &["STABLE"]) && importing.iter().all(|&n| setslot(m, n, slot, &["STABLE"]))
        }
    }
}

/// `clusterManagerFixSlotsCoverage`; returns how many slots were fixed (-1: failed).
pub fn fix_slots_coverage(m: &mut Manager, uncovered: &[u16]) -> i32 {
    m.report.info(">>> Fixing slots coverage...");
    let masters: Vec<usize> = m.cluster.masters().filter(|(_, n)| n.replicate.is_none()).map(|(i, _)| i).collect();
    let mut holders: Vec<(u16, Vec<usize>)> = Vec::new();
    for &slot in uncovered {
        let mut nodes = Vec::new();
        for &n in &masters {
            let endpoint = m.cluster.nodes[n].endpoint();
            match m.link.cmd(&endpoint, &["CLUSTER", "GETKEYSINSLOT", &slot.to_string(), "1"]) {
                Ok(r) if r.as_error().is_none() => {
                    if r.as_items().is_some_and(|k| !k.is_empty()) {
                        nodes.push(n);
                    }
                }
                _ => return -1,
            }
        }
        holders.push((slot, nodes));
    }
    let mut fixed = 0;
    let list = |class: &dyn Fn(usize) -> bool| -> Vec<(u16, Vec<usize>)> {
        holders.iter().filter(|(_, n)| class(n.len())).cloned().collect()
    };
    let (none, single, multi) = (list(&|n| n == 0), list(&|n| n == 1), list(&|n| n > 1));
    let slots_text = |set: &[(u16, Vec<usize>)]| {
        let ranges: Vec<(u16, u16)> = set.iter().map(|(s, _)| (*s, *s)).collect();
        super::model::ranges_text(&super::model::SlotSet::from_ranges(&ranges).ranges())
    };
    if !none.is_empty() {
        m.report.line("The following uncovered slots have no keys across the cluster:");
        m.report.line(&slots_text(&none));
        if super::prompt::confirm(m, "Fix these slots by covering with a random node?", true) {
            for (slot, _) in &none {
                let Some(&n) = masters.iter().min_by_key(|&&i| m.cluster.nodes[i].slots.len()) else { return -1 };
                let addr = m.cluster.nodes[n].addr();
                m.report.info(&format!(">>> Covering slot {slot} with {addr}"));
                if !set_slot_owner(m, n, *slot, false) {
                    return -1;
                }
                fixed += 1;
            }
        }
    }
    if !single.is_empty() {
        m.report.line("The following uncovered slots have keys in just one node:");
        m.report.line(&slots_text(&single));
        if super::prompt::confirm(m, "Fix these slots by covering with those nodes?", true) {
            for (slot, nodes) in &single {
                let addr = m.cluster.nodes[nodes[0]].addr();
                m.report.info(&format!(">>> Covering slot {slot} with {addr}"));
                if !set_slot_owner(m, nodes[0], *slot, false) {
                    return -1;
                }
                fixed += 1;
            }
        }
    }
    if !multi.is_empty() {
        m.report.line("The following uncovered slots have keys in multiple nodes:");
        m.report.line(&slots_text(&multi));
        if super::prompt::confirm(m, "Fix these slots by moving keys into a single node?", true) {
            for (slot, nodes) in &multi {
                let Some(target) = most_keys(m, nodes, *slot) else { return -1 };
                let addr = m.cluster.nodes[target].addr();
                m.report.info(&format!(">>> Covering slot {slot} moving keys to {addr}"));
                let id = m.cluster.nodes[target].id.clone();
                for &src in nodes.iter().filter(|&&n| n != target) {
                    if !setslot(m, src, *slot, &["NODE", &id]) || !setslot(m, src, *slot, &["IMPORTING", &id]) {
                        return -1;
                    }
                }
                if !set_slot_owner(m, target, *slot, true) {
                    return -1;
                }
                for &src in nodes.iter().filter(|&&n| n != target) {
                    if !cold_move(m, src, target, *slot) || !setslot(m, src, *slot, &["STABLE"]) {
                        return -1;
                    }
                }
                fixed += 1;
            }
        }
    }
    fixed
}

/// `clusterManagerFixMultipleSlotOwners`, in the safe order: the other holders are
/// put in IMPORTING first, then the owner is assigned, then their keys move.
pub fn fix_multiple_owners(m: &mut Manager, slot: u16, owner_ids: &[String]) -> bool {
    m.report.info(&format!(">>> Fixing multiple owners for slot {slot}..."));
    let owners: Vec<usize> = owner_ids.iter().filter_map(|id| m.cluster.index_of(id)).collect();
    let Some(&first) = owners.first() else { return false };
    let owner = most_keys(m, &owners, slot).unwrap_or(first);
    let addr = m.cluster.nodes[owner].addr();
    m.report.info(&format!(">>> Setting slot {slot} owner: {addr}"));
    let id = m.cluster.nodes[owner].id.clone();
    let others: Vec<usize> = m.cluster.masters().map(|(i, _)| i).filter(|&i| i != owner).collect();
    let mut holders = Vec::new();
    for &n in &others {
        let Some(count) = count_keys(m, n, slot) else { return false };
        del_slot(m, n, slot);
        m.cluster.nodes[n].slots.remove(slot);
        if count > 0 {
            if !setslot(m, n, slot, &["IMPORTING", &id]) {
                return false;
            }
            holders.push(n);
        } else if !setslot(m, n, slot, &["NODE", &id]) {
            return false;
        }
    }
    if !set_slot_owner(m, owner, slot, false) {
        return false;
    }
    for n in holders {
        if !cold_move(m, n, owner, slot) || !setslot(m, n, slot, &["STABLE"]) || !setslot(m, n, slot, &["NODE", &id]) {
            return false;
        }
    }
    true
}

/// Looks for an interrupted reshard's journal of this cluster (used by the open-slot fix).
pub fn load_journal(m: &mut Manager) {
    let ids: Vec<String> = m.cluster.nodes.iter().map(|n| n.id.clone()).collect();
    m.journal = journal::find(&ids).into_iter().last();
}

/// A slot in flight in the journal: finish that move instead of guessing an owner.
fn finish_from_journal(m: &mut Manager, slot: u16) -> Option<bool> {
    let record: &Record = m.journal.as_ref()?;
    if !record.in_flight().iter().any(|u| u.slot == slot) {
        return None;
    }
    let unit = record.unit(slot)?.clone();
    let path = record.path.clone();
    m.cluster.index_of(&unit.src.id)?;
    m.cluster.index_of(&unit.dst.id)?;
    m.report.note(&format!(
        "rcli: slot {slot} is part of an interrupted {} (journal {}): finishing its move {} -> {}",
        record.op,
        path.display(),
        unit.src.addr(),
        unit.dst.addr()
    ));
    let journal = Journal::reopen(&path).ok();
    let ok = super::reshard::finish_in_flight(m, std::slice::from_ref(&unit), journal.as_ref());
    if ok && let Some(record) = m.journal.as_mut() {
        record.done.insert(slot);
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
