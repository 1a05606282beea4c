//! The rules for touching a slot (docs/cluster-manager.md, "Acting on what the nodes
//! say"), pure: given what every node says now ([`Census`]) and the move a run meant
//! (`src` → `dst`, from a plan or a journal), decide what may be done. A slot is only
//! ever handed to a node, closed or emptied when its one owner is the move's source or
//! target (or the replica that took over from one of them) and no third node owns it,
//! holds keys in it or has it open; otherwise it is refused with what each node claims,
//! and left for a human.

use std::collections::BTreeMap;

use super::census::{Census, Seen};
use super::moves::Peer;

/// Who a journal's node is now: itself, or a replica of it that was promoted.
#[derive(Debug, Clone, Default)]
pub struct Lineage {
    /// node id → the ids of its replicas when the journal was written.
    pub replicas: BTreeMap<String, Vec<String>>,
}

impl Lineage {
    /// The primary that stands for `id` now: `id` itself when it answers as a primary,
    /// else the one replica of it (as recorded) that answers as a primary.
    pub fn now<'c>(&self, census: &'c Census, id: &str) -> Option<&'c Seen> {
        if let Some(node) = census.node(id).filter(|n| n.is_primary()) {
            return Some(node);
        }
        let heirs: Vec<&Seen> = self
            .replicas
            .get(id)
            .map(|ids| ids.iter().filter_map(|r| census.node(r)).filter(|n| n.is_primary()).collect())
            .unwrap_or_default();
        match heirs.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }
}

/// What may be done with one slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing left to do: one owner, nothing open, keys only on the owner.
    Settled { owner: Peer },
    /// A move from its start: `from` owns the slot; open both sides, empty it into
    /// `to`, hand it over.
    Move { from: Peer, to: Peer },
    /// `owner` keeps (or already has) the slot: the holders are put in IMPORTING from
    /// the owner (unless their slot is open), the owner's slot is closed if it is in
    /// `close`, the keys on `holders` go to it, then the others in `close` and the
    /// holders close; `announce`: every primary is told the owner.
    Gather { owner: Peer, holders: Vec<Peer>, close: Vec<Peer>, announce: bool },
    /// Not touched; the text says what each node claims and why.
    Refuse(String),
}

/// What a run wants of an interrupted move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// Finish it: the keys end on the target, which owns the slot.
    Finish,
    /// Undo it: the slot stays with (or goes back to) its owner, keys gathered there.
    Abandon,
}

/// The nodes that may be touched for the move `src` → `dst`, as they are now.
struct Sides<'c> {
    src: Option<&'c Seen>,
    dst: Option<&'c Seen>,
    /// The move's ids as planned (a side that is gone is still the move's own).
    planned: [&'c str; 2],
}

impl Sides<'_> {
    fn is_ours(&self, node: &Seen) -> bool {
        [self.src, self.dst].iter().flatten().any(|n| n.peer.id == node.peer.id)
    }
}

/// Every primary other than the move's two sides that owns the slot, holds keys in it
/// (or could not count them), or has it open; and every unreachable node still named
/// its owner. Empty when the slot is the move's alone.
fn strangers(census: &Census, sides: &Sides, slot: u16) -> Vec<String> {
    let mut found = Vec::new();
    for node in census.primaries().filter(|n| !sides.is_ours(n)) {
        let keys = node.keys_in(slot);
        if node.owns(slot) || node.is_open(slot) || keys != Some(0) {
            found.push(node.peer.id.clone());
        }
    }
    for missing in census.missing.iter().filter(|m| m.credited.contains(slot)) {
        if !sides.planned.contains(&missing.id.as_str()) {
            found.push(missing.id.clone());
        }
    }
    found
}

/// The slot has moved on without the move: one other primary serves it cleanly (its
/// only owner, nothing open anywhere, keys on it alone) and both sides answer (a side
/// seen as a replica holds nothing of its own) without owning, holding or opening it.
fn moved_on<'c>(census: &'c Census, sides: &Sides, slot: u16, src: &str, dst: &str) -> Option<&'c Seen> {
    let answers = |id: &str, now: Option<&Seen>| now.is_some() || census.node(id).is_some_and(|n| !n.is_primary());
    if !answers(src, sides.src) || !answers(dst, sides.dst) {
        return None;
    }
    let mut owners = census.primaries().filter(|n| n.owns(slot));
    let owner = owners.next().filter(|o| !sides.is_ours(o))?;
    let clean = owners.next().is_none()
        && census.primaries().all(|n| !n.is_open(slot) && (n.peer.id == owner.peer.id || n.keys_in(slot) == Some(0)))
        && !census.missing.iter().any(|m| m.credited.contains(slot) && m.id != owner.peer.id);
    clean.then_some(owner)
}

fn refuse(census: &Census, slot: u16, why: &str) -> Verdict {
    Verdict::Refuse(format!("slot {slot}: {why} ({})", census.describe(slot)))
}

/// Decides what may be done with the interrupted move of `slot` from `src` to `dst`
/// (journal ids), for `intent`. `force` lets an abandon close a slot whose moved keys
/// sit on a node that is gone for good.
pub fn decide<'c>(
    census: &'c Census,
    lineage: &Lineage,
    slot: u16,
    src: &'c str,
    dst: &'c str,
    intent: Intent,
    force: bool,
) -> Verdict {
    let sides = Sides { src: lineage.now(census, src), dst: lineage.now(census, dst), planned: [src, dst] };
    if let Some(owner) = moved_on(census, &sides, slot, src, dst) {
        return match intent {
            Intent::Abandon => Verdict::Settled { owner: owner.peer.clone() },
            Intent::Finish => refuse(
                census,
                slot,
                &format!("it belongs to {} now, which the move did not plan: not moved", owner.peer.addr()),
            ),
        };
    }
    if !strangers(census, &sides, slot).is_empty() {
        return refuse(census, slot, "another node owns it, holds keys in it or has it open");
    }
    let owners: Vec<&Seen> = census.primaries().filter(|n| n.owns(slot)).collect();
    let owner = match owners.as_slice() {
        [one] => *one,
        [] => return refuse(census, slot, "no node that answers serves it"),
        // A hand-over half done: the target took the slot (its SETSLOT NODE raised its
        // epoch above the source's) and the source has not heard yet.
        [a, b] if handing_over(&sides, a, b) => sides.dst.unwrap_or(a),
        _ => return refuse(census, slot, "several nodes claim it"),
    };
    // The source still claiming the slot is told the owner even with nothing to move.
    let contested = owners.len() > 1;
    let ours: Vec<&Seen> = [sides.src, sides.dst].into_iter().flatten().collect();
    if ours.iter().any(|n| n.keys_in(slot).is_none()) {
        return refuse(census, slot, "a node's keys could not be counted");
    }
    let holders: Vec<Peer> = ours
        .iter()
        .filter(|n| n.peer.id != owner.peer.id && n.keys_in(slot).unwrap_or(0) > 0)
        .map(|n| n.peer.clone())
        .collect();
    let open: Vec<Peer> = ours.iter().filter(|n| n.is_open(slot)).map(|n| n.peer.clone()).collect();
    // A side that is gone (no heir answers) may hold keys moved to it before it died.
    let gone: Vec<&str> = [(sides.src, src), (sides.dst, dst)]
        .iter()
        .filter(|(now, _)| now.is_none())
        .map(|(_, id)| *id)
        .filter(|id| census.missing(id).is_some() || census.node(id).is_none())
        .collect();
    let owner_is_dst = sides.dst.is_some_and(|d| d.peer.id == owner.peer.id);
    match intent {
        Intent::Finish if owner_is_dst => gather_or_settled(owner, holders, open, true, contested),
        Intent::Finish => match sides.dst {
            Some(to) if sides.src.is_some_and(|s| s.peer.id == owner.peer.id) => {
                Verdict::Move { from: owner.peer.clone(), to: to.peer.clone() }
            }
            Some(_) => refuse(census, slot, "its owner is neither side of the move"),
            None => refuse(
                census,
                slot,
                &format!(
                    "the target {} is gone and none of its replicas took over: --cluster-abandon gives the slot back",
                    census.name(dst)
                ),
            ),
        },
        Intent::Abandon => {
            if !ours.iter().any(|n| n.peer.id == owner.peer.id) {
                return refuse(census, slot, "its owner is neither side of the move");
            }
            if let Some(dead) = gone.first().filter(|_| !force) {
                return refuse(
                    census,
                    slot,
                    &format!(
                        "{} is gone and no replica of it took over: keys it held of this slot cannot be brought back; bring it back, or --cluster-force closes the slot without them",
                        census.name(dead)
                    ),
                );
            }
            gather_or_settled(owner, holders, open, owner_is_dst, contested)
        }
    }
}

/// Whether two claimants of a slot are the move's source and target, the target with
/// the newer configuration epoch: the target's claim wins as soon as gossip carries it.
fn handing_over(sides: &Sides, a: &Seen, b: &Seen) -> bool {
    let (Some(src), Some(dst)) = (sides.src, sides.dst) else { return false };
    let pair = |x: &Seen, y: &Seen| x.peer.id == src.peer.id && y.peer.id == dst.peer.id;
    (pair(a, b) || pair(b, a)) && dst.line.head.config_epoch > src.line.head.config_epoch
}

fn gather_or_settled(owner: &Seen, holders: Vec<Peer>, open: Vec<Peer>, announce: bool, contested: bool) -> Verdict {
    if holders.is_empty() && open.is_empty() && !contested {
        return Verdict::Settled { owner: owner.peer.clone() };
    }
    // The owner closes first (it stops sending clients elsewhere), then the others.
    let mut close: Vec<Peer> = open.iter().filter(|p| p.id == owner.peer.id).cloned().collect();
    close.extend(open.into_iter().filter(|p| p.id != owner.peer.id));
    Verdict::Gather { owner: owner.peer.clone(), holders, close, announce }
}

/// Before a group of a fresh move opens: every slot must be owned by `src` alone, and no
/// node other than `src` and `dst` may own it, hold keys in it or have it open. The
/// refusals, one per slot (empty: go ahead).
pub fn may_open(census: &Census, slots: &[u16], src: &str, dst: &str) -> Vec<String> {
    let sides = Sides { src: census.node(src), dst: census.node(dst), planned: [src, dst] };
    slots
        .iter()
        .filter_map(|&slot| {
            let Some(source) = sides.src.filter(|s| s.is_primary()) else {
                return Some(refuse(
                    census,
                    slot,
                    &format!("the source {} does not answer as a primary", census.name(src)),
                ));
            };
            if sides.dst.is_none_or(|d| !d.is_primary()) {
                return Some(refuse(
                    census,
                    slot,
                    &format!("the target {} does not answer as a primary", census.name(dst)),
                ));
            }
            if !source.owns(slot) {
                return Some(refuse(census, slot, &format!("the source {} does not own it", source.peer.addr())));
            }
            if sides.dst.is_some_and(|d| d.owns(slot)) {
                return Some(refuse(census, slot, "the target owns it too"));
            }
            (!strangers(census, &sides, slot).is_empty())
                .then(|| refuse(census, slot, "another node owns it, holds keys in it or has it open"))
        })
        .map(|v| match v {
            Verdict::Refuse(text) => text,
            _ => String::new(),
        })
        .collect()
}

/// Before a group is handed over: the same, and the source must not hold keys of it.
pub fn may_hand_over(census: &Census, slots: &[u16], src: &str, dst: &str) -> Vec<String> {
    let mut refusals = may_open(census, slots, src, dst);
    if let Some(source) = census.node(src) {
        for &slot in slots {
            if source.keys_in(slot) != Some(0) {
                refusals.push(format!("slot {slot}: the source still holds keys in it ({})", census.describe(slot)));
            }
        }
    }
    refusals
}

#[cfg(test)]
#[path = "settle_tests.rs"]
mod tests;
