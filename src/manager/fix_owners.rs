//! `fix`'s repairs of slot ownership (docs/cluster-manager.md, "fix"): slots no node
//! owns (redis-cli's `clusterManagerFixSlotsCoverage`: given to the node holding their
//! keys, or round-robin to the masters with the fewest slots) and slots several nodes
//! own (`clusterManagerFixMultipleSlotOwners`, in rcli's safe order). Built from the
//! steps in [`super::fix`].

use super::Manager;
use super::fix::{cold_move, count_keys, del_slot, model_slot, most_keys, set_slot_owner, setslot};
use super::model::Node;

/// `clusterManagerFixSlotsCoverage`; returns how many slots were fixed (-1: failed).
pub fn fix_slots_coverage(m: &mut Manager, uncovered: &[u16]) -> i32 {
    m.report.info(">>> Fixing slots coverage...");
    let masters: Vec<Node> = m.cluster.masters().filter(|n| n.replicate.is_none()).cloned().collect();
    let mut holders: Vec<(u16, Vec<Node>)> = Vec::new();
    for &slot in uncovered {
        let mut nodes = Vec::new();
        for n in &masters {
            match count_keys(m, n, slot) {
                Some(count) if count > 0 => nodes.push(n.clone()),
                Some(_) => {}
                None => return -1,
            }
        }
        holders.push((slot, nodes));
    }
    let mut fixed = 0;
    let list = |class: &dyn Fn(usize) -> bool| -> Vec<(u16, Vec<Node>)> {
        holders.iter().filter(|(_, n)| class(n.len())).cloned().collect()
    };
    let (none, single, multi) = (list(&|n| n == 0), list(&|n| n == 1), list(&|n| n > 1));
    let slots_text = |set: &[(u16, Vec<Node>)]| {
        let ranges: Vec<(u16, u16)> = set.iter().map(|(s, _)| (*s, *s)).collect();
        super::model::ranges_text(&super::model::SlotSet::from_ranges(&ranges).ranges())
    };
    if !none.is_empty() {
        m.report.line("The following uncovered slots have no keys across the cluster:");
        m.report.line(&slots_text(&none));
        if super::prompt::confirm(m, "Fix these slots by covering with a random node?", true) {
            for (slot, _) in &none {
                // The master with the fewest slots now (each slot covered counts).
                let fewest = m.cluster.masters().filter(|n| n.replicate.is_none()).min_by_key(|n| n.slots.len());
                let Some(n) = fewest.cloned() else { return -1 };
                m.report.info(&format!(">>> Covering slot {slot} with {}", n.addr()));
                if !set_slot_owner(m, &n, *slot, false) {
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
                let Some(n) = nodes.first() else { return -1 };
                m.report.info(&format!(">>> Covering slot {slot} with {}", n.addr()));
                if !set_slot_owner(m, n, *slot, false) {
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
                m.report.info(&format!(">>> Covering slot {slot} moving keys to {}", target.addr()));
                for src in nodes.iter().filter(|n| n.id != target.id) {
                    if !setslot(m, src, *slot, &["NODE", &target.id])
                        || !setslot(m, src, *slot, &["IMPORTING", &target.id])
                    {
                        return -1;
                    }
                }
                if !set_slot_owner(m, target, *slot, true) {
                    return -1;
                }
                for src in nodes.iter().filter(|n| n.id != target.id) {
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
    let owners: Vec<Node> = owner_ids.iter().filter_map(|id| m.cluster.node(id).cloned()).collect();
    let Some(first) = owners.first() else { return false };
    let owner = most_keys(m, &owners, slot).unwrap_or(first).clone();
    m.report.info(&format!(">>> Setting slot {slot} owner: {}", owner.addr()));
    let others: Vec<Node> = m.cluster.masters().filter(|n| n.id != owner.id).cloned().collect();
    let mut holders = Vec::new();
    for n in &others {
        let Some(count) = count_keys(m, n, slot) else { return false };
        del_slot(m, n, slot);
        model_slot(m, n, slot, false);
        if count > 0 {
            if !setslot(m, n, slot, &["IMPORTING", &owner.id]) {
                return false;
            }
            holders.push(n);
        } else if !setslot(m, n, slot, &["NODE", &owner.id]) {
            return false;
        }
    }
    if !set_slot_owner(m, &owner, slot, false) {
        return false;
    }
    for n in holders {
        if !cold_move(m, n, &owner, slot)
            || !setslot(m, n, slot, &["STABLE"])
            || !setslot(m, n, slot, &["NODE", &owner.id])
        {
            return false;
        }
    }
    true
}
