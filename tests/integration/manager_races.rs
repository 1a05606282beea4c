//! The manager attacked (issue 19, docs/cluster-manager.md "Acting on what the nodes
//! say" and "One operator at a time"): a journal made stale by another operator, two
//! reshards started together, a lock held by another host, a target killed mid-run and
//! taken over by its replica, a target gone for good. After each, every key written
//! before is readable exactly once through the cluster, the primaries' DBSIZEs add up to
//! what was written, and `redis-cli --cluster check` passes, or rcli refused and said why.

use std::process::Stdio;
use std::time::Duration;

use crate::manager::*;
use crate::util::keys::*;
use crate::util::*;

/// Writes `per_slot` keys into each of `slots` and 1,000 keys spread over the cluster.
fn fill(side: &Side, home: &Home, slots: std::ops::Range<u16>, per_slot: usize) -> Vec<String> {
    let mut keys = keys_in_slots("q", slots, per_slot);
    keys.extend((0..1000).map(|i| format!("spread:{i}")));
    write_keys(home, side.port(0), 0, &keys, "v");
    keys
}

/// Whether node `i` runs and calls itself a primary.
fn is_primary(side: &Side, i: usize) -> bool {
    side.nodes.nodes[i].is_running()
        && rcli::modes::sandbox::call(&side.endpoint(i), &["CLUSTER", "NODES"])
            .map(|n| frame_text(&n).lines().any(|l| l.contains("myself,master")))
            .unwrap_or(false)
}

/// The node index that replicates node `i`.
fn replica_of(side: &Side, i: usize) -> usize {
    (0..side.ids.len())
        .find(|&j| {
            j != i
                && side
                    .cmd(j, &["CLUSTER", "NODES"])
                    .lines()
                    .any(|l| l.contains("myself,slave") && l.contains(&side.ids[i]))
        })
        .expect("a replica")
}

/// Every key readable exactly once through the cluster, and the running primaries'
/// DBSIZEs (the manager's lock key aside) adding up to the keys written.
fn assert_all_there(side: &Side, home: &Home, keys: &[String]) {
    let live = (0..side.ids.len()).find(|&i| side.nodes.nodes[i].is_running()).expect("a live node");
    wait_for("the cluster to serve every slot", Duration::from_secs(30), || {
        side.cmd(live, &["CLUSTER", "INFO"]).contains("cluster_state:ok")
    });
    let input: String = keys.iter().map(|k| format!("EXISTS {k}\n")).collect();
    let out = rcli_run(home, &["-c", "-p", &side.port(live).to_string()], &input);
    let found = out.text().lines().filter(|l| *l == "1").count();
    assert_eq!(found, keys.len(), "keys readable through the cluster\n{}", out.stderr);
    let lock = rcli_run(home, &["-c", "-p", &side.port(live).to_string(), "EXISTS", "rcli:cluster-lock"], "");
    let locks: usize = lock.text().trim().parse().unwrap_or(0);
    let total: usize = (0..side.ids.len())
        .filter(|&i| is_primary(side, i))
        .map(|i| side.cmd(i, &["DBSIZE"]).parse::<usize>().unwrap_or(0))
        .sum();
    assert_eq!(total - locks, keys.len(), "DBSIZE summed over the primaries");
}

/// Moves `slots` from node `from` to node `to` by hand, the way another operator's tool
/// would (IMPORTING, MIGRATING, MIGRATE, SETSLOT NODE everywhere).
fn move_by_hand(side: &Side, slots: std::ops::Range<u16>, from: usize, to: usize, masters: &[usize]) {
    let (src, dst) = (side.ids[from].clone(), side.ids[to].clone());
    for slot in slots {
        let s = slot.to_string();
        side.cmd(to, &["CLUSTER", "SETSLOT", &s, "IMPORTING", &src]);
        side.cmd(from, &["CLUSTER", "SETSLOT", &s, "MIGRATING", &dst]);
        loop {
            let keys = side.cmd(from, &["CLUSTER", "GETKEYSINSLOT", &s, "100"]);
            let keys: Vec<&str> = keys.lines().filter(|k| !k.is_empty()).collect();
            if keys.is_empty() {
                break;
            }
            let port = side.port(to).to_string();
            let mut argv = vec!["MIGRATE", "127.0.0.1", &port, "", "0", "5000", "KEYS"];
            argv.extend(keys);
            assert_eq!(side.cmd(from, &argv), "OK");
        }
        for &i in masters {
            side.cmd(i, &["CLUSTER", "SETSLOT", &s, "NODE", &dst]);
        }
    }
}

/// Files left in rcli's journal directory.
fn journals(home: &Home) -> usize {
    std::fs::read_dir(home.path.join("state/rcli/cluster-ops")).map(|d| d.count()).unwrap_or(0)
}

#[test]
fn a_stale_journal_is_refused_by_resume_and_abandon_and_fix_settles_from_the_nodes() {
    if !have_redis() {
        return;
    }
    let _one = serial();
    let home = Home::new();
    let side = Side::start(6, Tool::Rcli, &[]);
    side.create_3_3(&home);
    let keys = fill(&side, &home, 0..32, 20);
    // Operator B's reshard 0 -> 2 dies once node 2 imports slots 0-31.
    kill_at(&side, &home, &refs(&reshard_words("{id0}", "{id2}", "32", &[])), "importing:1");
    assert!(side.cmd(2, &["CLUSTER", "NODES"]).contains(&format!("[0-<-{}]", side.ids[0])));
    // Meanwhile another operator moved those slots, keys and all, to node 1.
    move_by_hand(&side, 0..32, 0, 1, &[0, 1, 2]);
    side.wait_healthy(6);

    // Redis 7.0 leaves node 2 importing (the case); Valkey 8+ closes a slot a
    // node imports once gossip names its owner, so there the slots simply moved on.
    let stale = side.cmd(2, &["CLUSTER", "NODES"]).contains("-<-");
    let resume = side.run(&home, &["--cluster", "reshard", "{p0}", "--cluster-resume"], "");
    assert_eq!(resume.code, Some(1), "{}\n{}", resume.text(), resume.stderr);
    let err = side.normalize(&resume.stderr);
    for slot in 0..32 {
        let refused = [
            format!("rcli: slot {slot}: another node owns it, holds keys in it or has it open ("),
            format!("rcli: slot {slot}: it belongs to 127.0.0.1:p1 now, which the move did not plan: not moved ("),
        ];
        assert!(refused.iter().any(|r| err.contains(r)), "slot {slot}: {err}");
    }
    assert!(err.contains("127.0.0.1:p1 owns it, holds "), "{err}");
    assert!(!stale || err.contains("127.0.0.1:p2 imports it from 127.0.0.1:p0"), "{err}");
    assert!(err.contains("32 slots were left as they are"), "{err}");
    assert_all_there(&side, &home, &keys);

    if stale {
        let abandon = side.run(&home, &["--cluster", "reshard", "{p0}", "--cluster-abandon"], "");
        assert_eq!(abandon.code, Some(1), "{}\n{}", abandon.text(), abandon.stderr);
        assert!(!abandon.stderr.contains("already belongs"), "{}", abandon.stderr);
        assert_all_there(&side, &home, &keys);

        let fix = side.run(&home, &["--cluster", "fix", "{p0}"], "");
        assert_eq!(fix.code, Some(0), "{}\n{}", fix.text(), fix.stderr);
        assert!(fix.stderr.contains("the journal no longer fits it"), "{}", fix.stderr);
        assert_all_there(&side, &home, &keys);
    }
    side.wait_healthy(6);
    assert_check_passes(&side, 0);
    assert_eq!(side.ranges(1).first().map(String::as_str), Some("0-31"), "node 1 kept what it was given");

    // Nothing of the journal is left in the cluster: abandon closes it.
    let abandon = side.run(&home, &["--cluster", "reshard", "{p0}", "--cluster-abandon"], "");
    assert_eq!(abandon.code, Some(0), "{}\n{}", abandon.text(), abandon.stderr);
    assert_eq!(journals(&home), 0);
    assert_all_there(&side, &home, &keys);
}

#[test]
fn two_operators_at_once_end_with_one_done_and_one_refused() {
    if !have_redis() {
        return;
    }
    let _one = serial();
    let home = Home::new();
    let side = Side::start(6, Tool::Rcli, &[]);
    side.create_3_3(&home);
    let keys = fill(&side, &home, 0..128, 200);
    let spawn = |to: &str| {
        let args: Vec<String> = reshard_words("{id0}", to, "64", &[]).iter().map(|a| side.fill(a)).collect();
        let mut cmd = rcli(&home);
        cmd.env("TERM", "dumb").args(&args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd.spawn().expect("spawn rcli")
    };
    let (a, b) = (spawn("{id1}"), spawn("{id2}"));
    let (a, b) = (a.wait_with_output().expect("a"), b.wait_with_output().expect("b"));
    let refusal = "another rcli is changing this cluster: reshard started";
    let outcomes: Vec<(Option<i32>, String)> =
        [a, b].iter().map(|o| (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned())).collect();
    let done = outcomes.iter().filter(|(code, _)| *code == Some(0)).count();
    let refused = outcomes.iter().filter(|(code, err)| *code == Some(1) && err.contains(refusal)).count();
    assert_eq!((done, refused), (1, 1), "{outcomes:?}");
    assert!(outcomes.iter().any(|(_, err)| err.contains("nothing was changed")), "{outcomes:?}");
    assert_eq!(journals(&home), 0, "neither run left a journal");
    side.wait_healthy(6);
    assert_check_passes(&side, 0);
    assert_all_there(&side, &home, &keys);
    let moved: usize = [1, 2].iter().map(|&i| side.ranges(i).iter().filter(|r| r.starts_with("0-")).count()).sum();
    assert_eq!(moved, 1, "one of the two got slots 0-63");

    // A lock held by an rcli on another host: refused with who and how long ago.
    let started = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() - 7;
    let value = format!("rcli op=rebalance host=elsewhere pid=4242 started={started}");
    let set = rcli_run(
        &home,
        &["-c", "-p", &side.port(0).to_string(), "SET", "rcli:cluster-lock", &value, "PX", "60000"],
        "",
    );
    assert_eq!(set.text(), "OK\n");
    let before: Vec<Vec<String>> = (0..3).map(|i| side.ranges(i)).collect();
    let out = side.run(&home, &refs(&reshard_words("{id1}", "{id0}", "10", &[])), "");
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("rebalance started 7 s ago") || out.stderr.contains("rebalance started 8 s ago"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("by process 4242 on elsewhere"), "{}", out.stderr);
    assert_eq!((0..3).map(|i| side.ranges(i)).collect::<Vec<_>>(), before, "nothing moved");
    rcli_run(&home, &["-c", "-p", &side.port(0).to_string(), "DEL", "rcli:cluster-lock"], "");
    let out = side.run(&home, &refs(&reshard_words("{id1}", "{id0}", "10", &[])), "");
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_all_there(&side, &home, &keys);
}

/// A reshard 0 -> 2 killed mid-MIGRATE, then node 2 killed too and its replica promoted.
fn dead_target(home: &Home) -> (Side, Vec<String>, usize) {
    let mut side = Side::start(6, Tool::Rcli, &[]);
    side.create_3_3(home);
    let keys = fill(&side, home, 0..64, 20);
    let heir = replica_of(&side, 2);
    kill_at(&side, home, &refs(&reshard_words("{id0}", "{id2}", "64", &[])), "migrate-sent:3");
    wait_for("node 2 to have keys of slot 1", Duration::from_secs(10), || {
        side.cmd(2, &["CLUSTER", "COUNTKEYSINSLOT", "1"]) != "0"
    });
    replicated(&side.endpoint(2));
    side.nodes.nodes[2].kill();
    wait_for("node 2's replica to take over", Duration::from_secs(30), || is_primary(&side, heir));
    wait_for("the others to see node 2 failed, its slots taken over", Duration::from_secs(30), || {
        [0, 1].iter().all(|&i| {
            side.cmd(i, &["CLUSTER", "NODES"]).lines().filter(|l| l.starts_with(&side.ids[2])).all(|l| {
                let fields: Vec<&str> = l.split(' ').collect();
                fields.get(2).is_some_and(|f| f.contains("fail")) && fields.len() <= 8
            })
        })
    });
    (side, keys, heir)
}

#[test]
fn resume_follows_a_dead_target_to_the_replica_that_took_over() {
    if !have_redis() {
        return;
    }
    let _one = serial();
    let home = Home::new();
    let (side, keys, heir) = dead_target(&home);
    let resume = side.run(&home, &["--cluster", "reshard", "{p0}", "--cluster-resume"], "");
    assert_eq!(resume.code, Some(0), "{}\n{}", resume.text(), resume.stderr);
    assert_all_there(&side, &home, &keys);
    assert!(side.ranges(heir).iter().any(|r| r.starts_with("0-63")), "{:?}", side.ranges(heir));
    let forget = side.run(&home, &["--cluster", "del-node", "{p0}", "{id2}"], "");
    assert_eq!(forget.code, Some(0), "{}\n{}", forget.text(), forget.stderr);
    assert_check_passes(&side, 0);
}

#[test]
fn abandon_after_the_dead_target_is_forgotten_brings_every_key_back() {
    if !have_redis() {
        return;
    }
    let _one = serial();
    let home = Home::new();
    let (side, keys, heir) = dead_target(&home);
    // The operator forgets the dead node and runs fix first (issue 19's second case).
    let forget = side.run(&home, &["--cluster", "del-node", "{p0}", "{id2}"], "");
    assert_eq!(forget.code, Some(0), "{}\n{}", forget.text(), forget.stderr);
    let fix = side.run(&home, &["--cluster", "fix", "{p0}"], "");
    assert_eq!(fix.code, Some(0), "{}\n{}", fix.text(), fix.stderr);
    // Forgetting node 2 closed node 0's side of the move: no slot is open for fix, and
    // the keys moved before node 2 died sit on its heir, out of sight, until abandon.
    assert!(fix.stderr.contains("slots left"), "{}", fix.stderr);
    let abandon = side.run(&home, &["--cluster", "reshard", "{p0}", "--cluster-abandon"], "");
    assert_eq!(abandon.code, Some(0), "{}\n{}", abandon.text(), abandon.stderr);
    assert!(!abandon.stderr.contains(&side.ids[2]), "the forgotten node is named nowhere: {}", abandon.stderr);
    assert_eq!(journals(&home), 0);
    assert_all_there(&side, &home, &keys);
    // Slot 1's keys sit on one node: node 0 again (Redis 7.0: abandon brought them
    // back), or the heir that owns the slot (Valkey 8 copies the dead node's IMPORTING
    // state to its replica, so fix found the slots open and finished the move there).
    let on = |i: usize| side.cmd(i, &["CLUSTER", "COUNTKEYSINSLOT", "1"]) != "0";
    assert!(on(0) != on(heir), "slot 1's keys on node 0: {}, on the heir: {}", on(0), on(heir));
    assert_check_passes(&side, 0);
    let again = side.run(&home, &refs(&reshard_words("{id0}", "{id1}", "16", &[])), "");
    assert_eq!(again.code, Some(0), "no journal blocks the next reshard: {}", again.stderr);
}

#[test]
fn a_target_gone_for_good_is_closed_with_force_and_said_so() {
    if !have_redis() {
        return;
    }
    let _one = serial();
    let home = Home::new();
    let mut side = Side::start(7, Tool::Rcli, &[]);
    side.create_3_3(&home);
    assert_eq!(side.run(&home, &["--cluster", "add-node", "{p6}", "{p0}"], "").code, Some(0));
    side.wait_healthy(7);
    let keys = fill(&side, &home, 0..32, 20);
    // A reshard to node 6 (no replica) dies once node 6 imports; then node 6 dies for good.
    kill_at(&side, &home, &refs(&reshard_words("{id0}", "{id6}", "32", &[])), "importing:1");
    side.nodes.nodes[6].kill();
    let forget = side.run(&home, &["--cluster", "del-node", "{p0}", "{id6}"], "");
    assert_eq!(forget.code, Some(0), "{}\n{}", forget.text(), forget.stderr);

    let resume = side.run(&home, &["--cluster", "reshard", "{p0}", "--cluster-resume"], "");
    assert_eq!(resume.code, Some(1), "{}", resume.stderr);
    assert!(resume.stderr.contains("is gone and none of its replicas took over"), "{}", resume.stderr);
    let abandon = side.run(&home, &["--cluster", "reshard", "{p0}", "--cluster-abandon"], "");
    assert_eq!(abandon.code, Some(1), "{}", abandon.stderr);
    assert!(abandon.stderr.contains("--cluster-force closes the slot without them"), "{}", abandon.stderr);
    assert_all_there(&side, &home, &keys);
    let forced = side.run(&home, &["--cluster", "reshard", "{p0}", "--cluster-abandon", "--cluster-force"], "");
    assert_eq!(forced.code, Some(0), "{}\n{}", forced.text(), forced.stderr);
    assert_eq!(journals(&home), 0);
    assert_all_there(&side, &home, &keys);
    side.wait_healthy(6);
    assert_check_passes(&side, 0);
}
