//! The rules of [`super`] over hand-made censuses: the stale journal, the dead target with
//! a promoted replica, the forgotten node, the half-finished hand-over.

use std::collections::BTreeMap;

use super::*;
use crate::manager::census::{Census, Missing, Seen};
use crate::manager::model::{NodeHead, NodeLine, SlotSet};

const X: &str = "1111111111111111111111111111111111111111";
const Y: &str = "2222222222222222222222222222222222222222";
const Z: &str = "3333333333333333333333333333333333333333";
const Z2: &str = "4444444444444444444444444444444444444444";
const S: u16 = 4000;

struct Node {
    id: &'static str,
    primary: bool,
    owns: bool,
    migrating: Option<&'static str>,
    importing: Option<&'static str>,
    keys: Option<u64>,
}

fn node(id: &'static str) -> Node {
    Node { id, primary: true, owns: false, migrating: None, importing: None, keys: Some(0) }
}

impl Node {
    fn owns(mut self) -> Node {
        self.owns = true;
        self
    }
    fn keys(mut self, n: u64) -> Node {
        self.keys = Some(n);
        self
    }
    fn migrating(mut self, to: &'static str) -> Node {
        self.migrating = Some(to);
        self
    }
    fn importing(mut self, from: &'static str) -> Node {
        self.importing = Some(from);
        self
    }
    fn replica(mut self) -> Node {
        self.primary = false;
        self
    }
    fn seen(self, port: u16) -> Seen {
        let mut slots = SlotSet::default();
        if self.owns {
            slots.insert(S);
        }
        let head = NodeHead {
            id: self.id.into(),
            host: "127.0.0.1".into(),
            port,
            bus_port: None,
            flags: vec!["myself".into(), if self.primary { "master" } else { "slave" }.into()],
            master: None,
            config_epoch: 1,
            link_connected: true,
        };
        let line = NodeLine {
            head,
            slots,
            migrating: self.migrating.map(|t| vec![(S, t.to_string())]).unwrap_or_default(),
            importing: self.importing.map(|t| vec![(S, t.to_string())]).unwrap_or_default(),
        };
        let keys: BTreeMap<u16, u64> = self.keys.map(|k| [(S, k)].into_iter().collect()).unwrap_or_default();
        Seen { peer: Peer { id: self.id.into(), host: "127.0.0.1".into(), port }, line, keys }
    }
}

fn census(nodes: Vec<Node>) -> Census {
    Census { seen: nodes.into_iter().enumerate().map(|(i, n)| n.seen(7000 + i as u16)).collect(), missing: vec![] }
}

fn failed(census: &mut Census, id: &str, credited: bool) {
    let mut slots = SlotSet::default();
    if credited {
        slots.insert(S);
    }
    census.missing.push(Missing {
        id: id.into(),
        addr: "127.0.0.1:7999".into(),
        why: "is marked failed".into(),
        credited: slots,
    });
}

fn lineage() -> Lineage {
    Lineage { replicas: [(Z.to_string(), vec![Z2.to_string()])].into_iter().collect() }
}

fn ids(peers: &[Peer]) -> Vec<&str> {
    peers.iter().map(|p| p.id.as_str()).collect()
}

#[test]
fn a_stale_journal_never_hands_a_third_nodes_slot_over() {
    // Journal: X -> Z. Since then Y took the slot with its keys; Z still imports it.
    let c = census(vec![node(X), node(Y).owns().keys(26), node(Z).importing(X)]);
    for intent in [Intent::Finish, Intent::Abandon] {
        for force in [false, true] {
            let Verdict::Refuse(why) = decide(&c, &lineage(), S, X, Z, intent, force) else {
                panic!("{intent:?} force={force} must refuse");
            };
            assert!(why.starts_with("slot 4000: another node"), "{why}");
            assert!(why.contains("127.0.0.1:7001 owns it, holds 26 keys"), "{why}");
            assert!(why.contains("127.0.0.1:7002 imports it from 127.0.0.1:7000"), "{why}");
        }
    }
}

#[test]
fn a_slot_that_moved_on_cleanly_is_no_longer_the_journals() {
    // Someone fixed it by hand: Y serves the slot, nothing is open.
    let c = census(vec![node(X), node(Y).owns().keys(26), node(Z)]);
    let Verdict::Refuse(why) = decide(&c, &lineage(), S, X, Z, Intent::Finish, false) else {
        panic!("resume moves nothing")
    };
    assert!(why.contains("it belongs to 127.0.0.1:7001 now"), "{why}");
    assert_eq!(
        decide(&c, &lineage(), S, X, Z, Intent::Abandon, false),
        Verdict::Settled { owner: c.seen[1].peer.clone() }
    );
    // Not when a side is gone: it may hold keys of the slot.
    let mut c = census(vec![node(X), node(Y).owns().keys(26)]);
    failed(&mut c, Z, false);
    assert!(matches!(decide(&c, &Lineage::default(), S, X, Z, Intent::Abandon, false), Verdict::Refuse(_)));
}

#[test]
fn an_interrupted_move_is_finished_or_given_back() {
    let c = census(vec![node(X).owns().keys(6).migrating(Z), node(Y), node(Z).importing(X).keys(4)]);
    assert_eq!(
        decide(&c, &lineage(), S, X, Z, Intent::Finish, false),
        Verdict::Move { from: c.seen[0].peer.clone(), to: c.seen[2].peer.clone() }
    );
    let Verdict::Gather { owner, holders, close, announce } = decide(&c, &lineage(), S, X, Z, Intent::Abandon, false)
    else {
        panic!("abandon gathers the keys back");
    };
    assert_eq!((owner.id.as_str(), ids(&holders), ids(&close), announce), (X, vec![Z], vec![X, Z], false));
}

#[test]
fn a_dead_target_is_followed_to_the_replica_that_took_over() {
    // Z died; Z2 (its replica) is a primary now, with the 4 keys already moved.
    let mut c = census(vec![node(X).owns().keys(6).migrating(Z), node(Z2).keys(4)]);
    failed(&mut c, Z, false);
    assert_eq!(
        decide(&c, &lineage(), S, X, Z, Intent::Finish, false),
        Verdict::Move { from: c.seen[0].peer.clone(), to: c.seen[1].peer.clone() }
    );
    let Verdict::Gather { holders, close, .. } = decide(&c, &lineage(), S, X, Z, Intent::Abandon, false) else {
        panic!("abandon brings the keys back from the promoted replica");
    };
    assert_eq!((ids(&holders), ids(&close)), (vec![Z2], vec![X]));
}

#[test]
fn a_target_gone_for_good_needs_force_to_close() {
    // Z was forgotten (del-node) and had no replica: the server cleared X's state.
    let c = census(vec![node(X).owns().keys(10)]);
    let finish = decide(&c, &Lineage::default(), S, X, Z, Intent::Finish, false);
    assert!(matches!(&finish, Verdict::Refuse(why) if why.contains("is gone and none of its replicas")), "{finish:?}");
    let abandon = decide(&c, &Lineage::default(), S, X, Z, Intent::Abandon, false);
    assert!(matches!(&abandon, Verdict::Refuse(why) if why.contains("--cluster-force")), "{abandon:?}");
    assert_eq!(
        decide(&c, &Lineage::default(), S, X, Z, Intent::Abandon, true),
        Verdict::Settled { owner: c.seen[0].peer.clone() }
    );
}

#[test]
fn a_half_done_hand_over_is_finished_whatever_was_asked() {
    // Z owns the slot; X still migrates it and holds 2 keys.
    let c = census(vec![node(X).keys(2).migrating(Z), node(Z).owns().keys(8)]);
    for intent in [Intent::Finish, Intent::Abandon] {
        let Verdict::Gather { owner, holders, close, announce } = decide(&c, &lineage(), S, X, Z, intent, false) else {
            panic!("{intent:?}: the target keeps the slot");
        };
        assert_eq!((owner.id.as_str(), ids(&holders), ids(&close), announce), (Z, vec![X], vec![X], true));
    }
    // The source turned replica once it lost its last slot: nothing left to do.
    let c = census(vec![node(X).replica(), node(Z).owns().keys(10)]);
    assert_eq!(
        decide(&c, &lineage(), S, X, Z, Intent::Finish, false),
        Verdict::Settled { owner: c.seen[1].peer.clone() }
    );
}

#[test]
fn a_hand_over_the_source_has_not_heard_of_yet_is_finished() {
    // The target's SETSLOT NODE raised its epoch; the source still claims and migrates.
    let mut c = census(vec![node(X).owns().migrating(Z), node(Z).owns().keys(10)]);
    c.seen[1].line.head.config_epoch = 9;
    for intent in [Intent::Finish, Intent::Abandon] {
        let Verdict::Gather { owner, holders, close, announce } = decide(&c, &lineage(), S, X, Z, intent, false) else {
            panic!("{intent:?}: the target's claim wins");
        };
        assert_eq!((owner.id.as_str(), ids(&holders), ids(&close), announce), (Z, vec![], vec![X], true));
    }
    // Same epochs: nobody can tell which claim wins.
    let c = census(vec![node(X).owns().migrating(Z), node(Z).owns().keys(10)]);
    assert!(matches!(decide(&c, &lineage(), S, X, Z, Intent::Finish, false), Verdict::Refuse(_)));
}

#[test]
fn disagreement_and_unknowns_are_refused() {
    let c = census(vec![node(X).owns().keys(1), node(Z).owns().keys(1)]);
    assert!(
        matches!(decide(&c, &lineage(), S, X, Z, Intent::Finish, false), Verdict::Refuse(w) if w.contains("several nodes claim it"))
    );
    let mut unknown = node(Z).importing(X);
    unknown.keys = None;
    let c = census(vec![node(X).owns(), unknown]);
    assert!(
        matches!(decide(&c, &lineage(), S, X, Z, Intent::Abandon, false), Verdict::Refuse(w) if w.contains("could not be counted"))
    );
    // The source died with no heir: nobody that answers serves the slot.
    let mut c = census(vec![node(Z).importing(X).keys(3)]);
    failed(&mut c, X, true);
    let verdict = decide(&c, &lineage(), S, X, Z, Intent::Abandon, true);
    assert!(matches!(&verdict, Verdict::Refuse(w) if w.contains("no node that answers serves it")), "{verdict:?}");
}

#[test]
fn a_fresh_group_opens_only_where_the_slot_is_the_sources_alone() {
    let c = census(vec![node(X).owns().keys(5), node(Y), node(Z)]);
    assert!(may_open(&c, &[S], X, Z).is_empty());
    let c = census(vec![node(X).owns().keys(5), node(Y).keys(1), node(Z)]);
    let refusals = may_open(&c, &[S], X, Z);
    assert!(refusals.len() == 1 && refusals[0].contains("127.0.0.1:7001 holds 1 keys"), "{refusals:?}");
    let c = census(vec![node(X), node(Y).owns(), node(Z)]);
    assert!(may_open(&c, &[S], X, Z)[0].contains("the source 127.0.0.1:7000 does not own it"));
    let c = census(vec![node(X).owns().keys(3), node(Z).importing(X)]);
    assert!(may_open(&c, &[S], X, Z).is_empty(), "the move's own states are allowed");
    assert!(may_hand_over(&c, &[S], X, Z)[0].contains("still holds keys"));
}
