//! `--cluster-use-atomic-slot-migration` (Valkey 9.1's CLUSTER MIGRATESLOTS, issue 20):
//! a reshard of 1,000 slots holding keys in three databases, a rebalance, a run killed
//! once its job started (resume follows the job), a run killed and abandoned (the job is
//! cancelled, or judged by who owns the slots), and the refusals before anything
//! changes (a target holding stray keys of the slots: Valkey 9.1.2 crashes on those; a
//! server without MIGRATESLOTS). Every key is read back in its database afterwards.

use std::time::Duration;

use crate::manager::*;
use crate::util::keys::*;
use crate::util::*;

/// A 3+3 cluster of Valkey 9.1+ with 16 databases, or `None` (said) elsewhere.
fn valkey_9_side(home: &Home) -> Option<Side> {
    let Ok(nodes) = rcli::modes::sandbox::BareNodes::start(6, &["cluster-databases 16"]) else {
        eprintln!("manager_atomic: this server has no cluster-databases (Valkey 9+); skipped");
        return None;
    };
    let asked = rcli::modes::sandbox::call(&nodes.endpoint(0), &["CLUSTER", "GETSLOTMIGRATIONS"]);
    if !asked.is_ok_and(|r| r.as_error().is_none()) {
        eprintln!("manager_atomic: this server has no CLUSTER GETSLOTMIGRATIONS (Valkey 9.1+); skipped");
        return None;
    }
    let ids =
        (0..6).map(|i| text(&rcli::modes::sandbox::call(&nodes.endpoint(i), &["CLUSTER", "MYID"]).unwrap())).collect();
    let side = Side { nodes, tool: Tool::Rcli, ids };
    side.create_3_3(home);
    Some(side)
}

/// Writes `per_slot` keys into each of `slots` in each of `dbs`, values naming the db.
fn fill(side: &Side, home: &Home, slots: std::ops::Range<u16>, per_slot: usize, dbs: &[u32]) -> Vec<(u32, String)> {
    let tags: Vec<String> = slots.map(|slot| tag_for("a", slot)).collect();
    let mut all = Vec::new();
    for &db in dbs {
        let keys: Vec<String> = tags.iter().flat_map(|t| (0..per_slot).map(move |i| format!("{{{t}}}:{i}"))).collect();
        write_keys(home, side.port(0), db, &keys, &db.to_string());
        all.extend(keys.into_iter().map(|k| (db, k)));
    }
    all
}

/// Every key in its database with its value, read through the cluster.
fn assert_all_there(side: &Side, home: &Home, keys: &[(u32, String)]) {
    side.wait_healthy(6);
    let mut by_db: std::collections::BTreeMap<u32, Vec<&str>> = std::collections::BTreeMap::new();
    for (db, key) in keys {
        by_db.entry(*db).or_default().push(key);
    }
    for (db, keys) in by_db {
        let input: String = keys.iter().map(|k| format!("GET {k}\n")).collect();
        let out = rcli_run(home, &["-c", "-n", &db.to_string(), "-p", &side.port(0).to_string()], &input);
        let right = out.text().lines().filter(|l| *l == db.to_string()).count();
        assert_eq!(right, keys.len(), "db {db}\n{}", out.stderr);
    }
}

/// The master (0-2) owning `slot`, and how many of its slots come before it.
fn slot_owner(side: &Side, slot: u16) -> (usize, usize) {
    for i in 0..3 {
        let mut before = 0;
        for range in side.ranges(i) {
            let (a, b) = range.split_once('-').unwrap_or((&range, &range));
            let (a, b): (u16, u16) = (a.parse().unwrap(), b.parse().unwrap());
            if (a..=b).contains(&slot) {
                return (i, before + usize::from(slot - a));
            }
            before += usize::from(b - a) + 1;
        }
    }
    panic!("nobody owns slot {slot}");
}

/// Master `i`'s lowest slot, and `i`.
fn first_slot(side: &Side, i: usize) -> (u16, usize) {
    let ranges = side.ranges(i);
    let first = ranges.iter().filter_map(|r| r.split('-').next()?.parse::<u16>().ok()).min().expect("a slot");
    (first, i)
}

#[test]
fn atomic_reshard_rebalance_and_recoveries_keep_every_key() {
    if !have_redis() {
        return;
    }
    let _one = serial();
    let home = Home::new();
    let Some(side) = valkey_9_side(&home) else { return };
    let keys = fill(&side, &home, 0..1000, 10, &[0, 3, 15]);

    let out =
        side.run(&home, &refs(&reshard_words("{id0}", "{id1}", "1000", &["--cluster-use-atomic-slot-migration"])), "");
    assert_eq!(out.code, Some(0), "{}\n{}", out.text(), out.stderr);
    let text = side.normalize(&out.text());
    assert!(text.contains("    Moving slot range 0-999 from N0\n"), "{text}");
    assert!(
        text.contains("Moving slot range 0-999 from 127.0.0.1:p0 to 127.0.0.1:p1 via atomic slot migration"),
        "{text}"
    );
    assert!(text.contains(&format!("{}\n", "#".repeat(1000))), "{text}");
    assert_eq!(side.ranges(1).first().map(String::as_str), Some("0-999"));
    assert_all_there(&side, &home, &keys);
    assert_check_passes(&side, 0);

    // Rebalance back (quiet: `Moving N slots from A to B` and a # per slot).
    let out = side.run(&home, &["--cluster", "rebalance", "{p0}", "--cluster-use-atomic-slot-migration"], "");
    assert_eq!(out.code, Some(0), "{}\n{}", out.text(), out.stderr);
    assert!(out.text().contains("Moving ") && out.text().contains('#'), "{}", out.text());
    assert_all_there(&side, &home, &keys);

    // Killed once its job runs on the server: resume follows the job to its end.
    kill_at(
        &side,
        &home,
        &refs(&reshard_words("{id1}", "{id2}", "500", &["--cluster-use-atomic-slot-migration"])),
        "atomic-started:1",
    );
    let resume = side.run(&home, &["--cluster", "reshard", "{p0}", "--cluster-resume"], "");
    assert_eq!(resume.code, Some(0), "{}\n{}", resume.text(), resume.stderr);
    assert_all_there(&side, &home, &keys);
    assert_check_passes(&side, 0);

    // Killed with a big job running, then abandoned: the job is cancelled (or it ended
    // first, and the slots stay with whichever node owns them); nothing is lost.
    let slot = rcli::cluster::slot::slot_of(b"{b}");
    let (owner, before_it) = slot_owner(&side, slot);
    let value = vec![b'v'; 1 << 20];
    for i in 0..150 {
        let key = format!("{{b}}:big:{i}");
        let argv: Vec<&[u8]> = vec![b"SET", key.as_bytes(), &value];
        assert!(rcli::client::pool::call(&side.endpoint(owner), &argv, Duration::from_secs(30)).unwrap().is_ok());
    }
    let others: Vec<usize> = (0..3).filter(|&i| i != owner).collect();
    let from = format!("{{id{owner}}}");
    let to = format!("{{id{}}}", others[0]);
    let before: usize = (0..3).map(|i| side.cmd(i, &["DBSIZE"]).parse::<usize>().unwrap_or(0)).sum();
    // The owner's lowest slots up to {b}'s: it keeps the rest (and stays a primary).
    let count = (before_it + 1).to_string();
    // The source's snapshot slowed down (rdb-key-save-delay, µs per key): the job still
    // runs when abandon cancels it.
    side.cmd(owner, &["CONFIG", "SET", "rdb-key-save-delay", "200"]);
    kill_at(
        &side,
        &home,
        &refs(&reshard_words(&from, &to, &count, &["--cluster-use-atomic-slot-migration"])),
        "atomic-started:1",
    );
    // check sees the job: an issue (no reshard starts meanwhile), its slots left alone.
    let check = side.run(&home, &["--cluster", "check", "{p0}", "--cluster-search-multiple-owners"], "");
    assert_eq!(check.code, Some(1), "{}", check.text());
    assert!(check.text().contains(" by atomic slot migration "), "{}", check.text());
    assert!(check.text().contains("[OK] No multiple owners found."), "{}", check.text());
    let abandon = side.run(&home, &["--cluster", "reshard", "{p0}", "--cluster-abandon"], "");
    assert!(abandon.stderr.contains("rcli: cancelled atomic slot migration"), "{}", abandon.stderr);
    side.cmd(owner, &["CONFIG", "SET", "rdb-key-save-delay", "0"]);
    assert_eq!(abandon.code, Some(0), "{}\n{}", abandon.text(), abandon.stderr);
    side.wait_healthy(6);
    let after: usize = (0..3).map(|i| side.cmd(i, &["DBSIZE"]).parse::<usize>().unwrap_or(0)).sum();
    assert_eq!(after, before, "db 0 holds as many keys as before");
    let input: String = (0..150).map(|i| format!("EXISTS {{b}}:big:{i}\n")).collect();
    let found = rcli_run(&home, &["-c", "-p", &side.port(0).to_string()], &input);
    assert_eq!(found.text().lines().filter(|l| *l == "1").count(), 150, "{}", found.stderr);
    assert_check_passes(&side, 0);

    // A target holding a stray key of a planned slot is refused before anything starts.
    assert_eq!(slot_owner(&side, slot).0, owner, "the cancelled job left {{b}}'s slot where it was");
    let target = others[1];
    let (first, _) = first_slot(&side, owner);
    let stray = format!("{{{}}}:stray", tag_for("a", first));
    let s = first.to_string();
    side.cmd(target, &["CLUSTER", "SETSLOT", &s, "IMPORTING", &side.ids[owner]]);
    let planted = rcli_run(&home, &["-p", &side.port(target).to_string()], &format!("ASKING\nSET {stray} x\n"));
    assert!(planted.text().ends_with("OK\nOK\n"), "{}", planted.text());
    side.cmd(target, &["CLUSTER", "SETSLOT", &s, "STABLE"]);
    let refused = side.run(
        &home,
        &refs(&reshard_words(
            &format!("{{id{owner}}}"),
            &format!("{{id{target}}}"),
            "1",
            &["--cluster-use-atomic-slot-migration"],
        )),
        "",
    );
    assert_eq!(refused.code, Some(1), "{}\n{}", refused.text(), refused.stderr);
    assert!(refused.stderr.contains("holds keys of slots"), "{}", refused.stderr);
    assert!(side.nodes.nodes[target].is_running(), "the target did not crash");
    assert_all_there(&side, &home, &keys);
}

#[test]
fn atomic_slot_migration_is_refused_where_the_server_lacks_it() {
    if !have_redis() {
        return;
    }
    let _one = serial();
    let home = Home::new();
    let side = Side::start(6, Tool::Rcli, &[]);
    if rcli::modes::sandbox::call(&side.endpoint(0), &["CLUSTER", "GETSLOTMIGRATIONS"])
        .is_ok_and(|r| r.as_error().is_none())
    {
        return; // Valkey 9.1+: covered above.
    }
    side.create_3_3(&home);
    let out =
        side.run(&home, &refs(&reshard_words("{id0}", "{id1}", "10", &["--cluster-use-atomic-slot-migration"])), "");
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("--cluster-use-atomic-slot-migration needs CLUSTER MIGRATESLOTS"), "{}", out.stderr);
    assert!(out.stderr.contains("nothing was changed"), "{}", out.stderr);
    assert_eq!(side.ranges(1), ["5461-10922"], "nothing moved");
}
