//! Emptying one slot: GETKEYSINSLOT and MIGRATE … KEYS until the source holds no key of
//! it (redis-cli's `clusterManagerMigrateKeysInSlot`, docs/cluster-manager.md, "Moving
//! one slot"), with redis-cli's BUSYKEY handling (values compared, replaced only when
//! equal or with `--cluster-replace`), a retry while the target's cluster is down, and
//! one retry when the source no longer serves the slot.

use std::time::Duration;

use crate::cluster::retry;
use crate::endpoint::Endpoint;
use crate::protocol::resp::Frame;

use super::fault::fault_point;
use super::link::{Link, error_of};
use super::moves::{Peer, Piece, Settings, SlotOutcome, setslot};
use super::report::Level;
use super::values;

pub(super) fn keys_of(frame: &Frame) -> Vec<Vec<u8>> {
    frame.as_items().unwrap_or_default().iter().filter_map(|k| k.as_bytes().map(<[u8]>::to_vec)).collect()
}

pub(super) fn get_keys(slot: u16, count: usize) -> Vec<String> {
    vec!["CLUSTER".into(), "GETKEYSINSLOT".into(), slot.to_string(), count.to_string()]
}

/// Moves every key of `slot` from `src` to `dst` in every database (redis-cli's
/// `clusterManagerMigrateKeysInSlot`, which knows database 0 only), appending dots (one
/// per key) and messages to `out`; `prefetched`: database 0's first keys.
#[allow(clippy::too_many_arguments)]
pub fn drain(
    link: &mut Link,
    src: &Peer,
    dst: &Peer,
    slot: u16,
    s: &Settings,
    mut prefetched: Option<Vec<Vec<u8>>>,
    dots: bool,
    out: &mut SlotOutcome,
) -> Result<(), String> {
    // Only the databases that hold keys of the slot (one exchange to find them); a
    // MIGRATING slot gets no new key on the source, and verify_empty checks them all.
    let count = vec![vec!["CLUSTER".to_string(), "COUNTKEYSINSLOT".into(), slot.to_string()]];
    let held: Vec<u32> = if s.databases > 1 {
        let counts = link.each_db(&src.endpoint(), s.databases, &count).map_err(|e| e.to_string())?;
        (0u32..)
            .zip(counts)
            .filter(|(_, r)| r.first().and_then(Frame::as_integer) != Some(0))
            .map(|(db, _)| db)
            .collect()
    } else {
        vec![0]
    };
    for db in held {
        let first = if db == 0 { prefetched.take() } else { None };
        link.in_db(db, |link| drain_db(link, src, dst, slot, s, first, dots, out))?;
    }
    Ok(())
}

/// [`drain`] in the link's database. A round that returned fewer keys than asked for
/// ends the loop: the source gets no new keys in a MIGRATING slot (they go to the target
/// by ASK), and `mover::verify_empty` checks before the slot is handed over.
#[allow(clippy::too_many_arguments)]
fn drain_db(
    link: &mut Link,
    src: &Peer,
    dst: &Peer,
    slot: u16,
    s: &Settings,
    mut prefetched: Option<Vec<Vec<u8>>>,
    dots: bool,
    out: &mut SlotOutcome,
) -> Result<(), String> {
    let wait = s.migrate_wait();
    let mut short_round = false;
    loop {
        if short_round {
            return Ok(());
        }
        let keys = match prefetched.take() {
            Some(keys) => keys,
            None => {
                let reply = link.cmd(&src.endpoint(), &get_keys(slot, s.get_count)).map_err(|e| e.to_string())?;
                if let Some(err) = error_of(&reply) {
                    out.pieces.push(Piece::Log(Level::Err, format!("Node {} replied with error:\n{err}", src.addr())));
                    return Err(err);
                }
                keys_of(&reply)
            }
        };
        if keys.is_empty() {
            return Ok(());
        }
        short_round = keys.len() < s.get_count;
        let batches = s.batches(keys);
        let commands: Vec<Vec<Vec<u8>>> = batches.iter().map(|b| s.migrate_argv(dst, b, false, link.db())).collect();
        let replies = link
            .pipeline_then(&src.endpoint(), &commands, wait, &|| fault_point("migrate-sent"))
            .map_err(|e| e.to_string())?;
        for (batch, reply) in batches.iter().zip(replies) {
            if let Some(err) = error_of(&reply) {
                retry_failed_batch(link, src, dst, slot, s, batch, &err, out)?;
            }
            out.keys += batch.len() as u64;
            if dots {
                out.pieces.push(Piece::Text(".".repeat(batch.len())));
            }
        }
    }
}

/// A MIGRATE batch failed with `err`: BUSYKEY is resolved by comparing values (and
/// replacing only equal values, or with `--cluster-replace`); a slot the source no
/// longer serves is retried once. Anything else fails the move.
#[allow(clippy::too_many_arguments)]
fn retry_failed_batch(
    link: &mut Link,
    src: &Peer,
    dst: &Peer,
    slot: u16,
    s: &Settings,
    batch: &[Vec<u8>],
    err: &str,
    out: &mut SlotOutcome,
) -> Result<(), String> {
    if is_transient(err) {
        // The target is not ready (it just joined, or its view is catching up):
        // nothing moved, so the batch is sent again, for at most 20 s.
        for _ in 0..100 {
            std::thread::sleep(Duration::from_millis(200));
            let reply = link.cmd_for(&src.endpoint(), &s.migrate_argv(dst, batch, false, link.db()), s.migrate_wait());
            match reply.as_ref().map(error_of) {
                Ok(None) => return Ok(()),
                Ok(Some(e)) if is_transient(&e) => continue,
                Ok(Some(e)) => return retry_failed_batch(link, src, dst, slot, s, batch, &e, out),
                Err(e) => return Err(e.to_string()),
            }
        }
    }
    let busy = err.contains("BUSYKEY");
    let not_served = !busy && !serves(link, &src.endpoint(), slot);
    if !busy && !not_served {
        return fail_batch(src, err, out);
    }
    if s.fixing && not_served {
        out.pieces
            .push(Piece::Log(Level::Warn, format!("*** Slot was not served, setting owner to node {}.", dst.addr())));
        let _ = link.cmd(&src.endpoint(), &setslot(slot, "node", &dst.id));
    }
    if busy {
        out.pieces.push(Piece::Log(Level::Warn, "\n*** Target key exists".into()));
        if !s.replace {
            out.pieces.push(Piece::Log(Level::Warn, "*** Checking key values on both nodes...".into()));
            let (equal, method) = match values::compare(link, &src.endpoint(), &dst.endpoint(), batch) {
                Ok(found) => found,
                Err(_) => {
                    out.pieces.push(Piece::Log(Level::Err, "*** Value check failed!".into()));
                    return Err(String::new());
                }
            };
            if method == values::Method::Dump {
                out.pieces.push(Piece::Aside(
                    "rcli: DEBUG is disabled on these nodes; the values were compared with DUMP".into(),
                ));
            }
            let different: Vec<&Vec<u8>> =
                batch.iter().zip(&equal).filter(|(_, same)| !**same).map(|(k, _)| k).collect();
            if !different.is_empty() {
                out.pieces.push(Piece::Log(
                    Level::Err,
                    format!(
                        "*** Found {} key(s) in both source node and target node having different values.\n    Source node: {}\n    Target node: {}\n    Keys(s):",
                        different.len(),
                        src.addr(),
                        dst.addr()
                    ),
                ));
                for key in different {
                    out.pieces.push(Piece::Log(Level::Err, format!("    - {}", String::from_utf8_lossy(key))));
                }
                out.pieces.push(Piece::Log(
                    Level::Err,
                    "Please fix the above key(s) manually and try again or relaunch the command \nwith --cluster-replace option to force key overriding.".into(),
                ));
                return Err(String::new());
            }
        }
        out.pieces.push(Piece::Log(Level::Warn, "*** Replacing target keys...".into()));
    }
    let reply = link.cmd_for(&src.endpoint(), &s.migrate_argv(dst, batch, busy, link.db()), s.migrate_wait());
    match reply {
        Ok(frame) => match error_of(&frame) {
            Some(e) if !e.starts_with("NOKEY") => fail_batch(src, &e, out),
            _ => Ok(()),
        },
        Err(e) => Err(e.to_string()),
    }
}

/// A MIGRATE error that passes by itself (the one classifier: [`retry::passes_by_itself`]).
fn is_transient(err: &str) -> bool {
    retry::passes_by_itself(err.as_bytes())
}

fn fail_batch(src: &Peer, err: &str, out: &mut SlotOutcome) -> Result<(), String> {
    out.pieces.push(Piece::Text("\n".into()));
    out.pieces.push(Piece::Log(Level::Err, format!("Node {} replied with error:\n{err}", src.addr())));
    Err(err.to_string())
}

/// Does `node` serve `slot` according to its own CLUSTER SLOTS?
fn serves(link: &mut Link, node: &Endpoint, slot: u16) -> bool {
    let Ok(reply) = link.cmd(node, &["CLUSTER", "SLOTS"]) else { return true };
    reply.as_items().unwrap_or_default().iter().any(|range| {
        let items = range.as_items().unwrap_or_default();
        let bound = |i: usize| items.get(i).and_then(Frame::as_integer);
        matches!((bound(0), bound(1)), (Some(a), Some(b)) if a <= i64::from(slot) && i64::from(slot) <= b)
    })
}
