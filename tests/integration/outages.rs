//! Dead and frozen primaries (`kill -9`, `SIGSTOP`), with and without replicas: a
//! failing node costs one bounded wait (the failure budget, derived from the
//! cluster's `cluster-node-timeout`), not one per command; every piped line is
//! answered; a replica that takes over is found without `:refresh`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rcli::cluster::slot::slot_of;
use rcli::modes::sandbox::call;

use crate::util::*;

/// `count` lines `INCR ctr:N` cycling over `counters` counters, in chunks of `per_chunk`.
fn incr_lines(count: usize, counters: usize, per_chunk: usize) -> Vec<Vec<u8>> {
    let lines: Vec<String> = (0..count).map(|i| format!("INCR ctr:{}\n", i % counters)).collect();
    lines.chunks(per_chunk).map(|c| c.concat().into_bytes()).collect()
}

/// The index in `cluster.nodes` of the node at `port`.
fn index_of(cluster: &LocalCluster, endpoint: &rcli::endpoint::Endpoint) -> usize {
    (0..cluster.nodes.len()).find(|&i| cluster.endpoint(i) == *endpoint).expect("a node of the cluster")
}

/// Issue 10, defect 2: `kill -9` of one primary (no replicas) while 30,000 INCRs arrive
/// at 10,000 lines a second. Every line gets an answer in its place, rcli ends within
/// 20 s of the end of input with exit 1, and no INCR is doubled.
#[test]
fn a_dead_primary_costs_one_budget_and_every_piped_line_is_answered() {
    if !have_redis() {
        return;
    }
    let mut cluster = cluster(3, 0);
    let seed = cluster.port(0).to_string();
    let victim = index_of(&cluster, &topology(&cluster, 0).owner(slot_of(b"ctr:1")).unwrap().clone());
    let home = Home::new();
    let mut cmd = rcli(&home);
    cmd.args(["-c", "-p", &seed]);
    let started = Instant::now();
    let running = spawn_fed(cmd, incr_lines(30_000, 1000, 1000), Duration::from_millis(100));
    std::thread::sleep(Duration::from_secs(1));
    cluster.nodes[victim].kill();
    let out = running.finish(Duration::from_secs(60));
    let input_ended = Duration::from_secs(3);
    let after_input = started.elapsed().saturating_sub(input_ended);
    assert!(after_input < Duration::from_secs(20), "rcli ran {after_input:?} past the end of its input");
    assert_eq!(out.code, Some(1), "lines without a reply make the exit code 1: {}", out.stderr);
    let printed = out.text();
    // Raw mode follows an error with a blank line, as redis-cli does.
    let lines: Vec<&str> = printed.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 30_000, "one line per command\n{}", out.stderr);
    let down = lines.iter().filter(|l| l.contains(" is down (")).count();
    assert!(
        down > 0,
        "commands for the dead node fail at once once it is down:\n{}",
        &printed[..printed.len().min(3000)]
    );
    // No INCR ran twice: on the surviving nodes, each counter holds exactly the number
    // of increments acknowledged for it.
    let mut acked: HashMap<usize, i64> = HashMap::new();
    for (i, line) in lines.iter().enumerate() {
        if line.parse::<i64>().is_ok() {
            *acked.entry(i % 1000).or_default() += 1;
        }
    }
    for i in (0..cluster.nodes.len()).filter(|&i| i != victim) {
        call(&cluster.endpoint(i), &["CONFIG", "SET", "cluster-allow-reads-when-down", "yes"]).unwrap();
    }
    let topo = topology(&cluster, if victim == 0 { 1 } else { 0 });
    for counter in 0..1000 {
        let key = format!("ctr:{counter}");
        let owner = topo.owner(slot_of(key.as_bytes())).unwrap().clone();
        if owner == cluster.endpoint(victim) {
            continue;
        }
        let value = text(&call(&owner, &["GET", &key]).unwrap()).parse::<i64>().unwrap_or(0);
        assert_eq!(value, acked.get(&counter).copied().unwrap_or(0), "{key} on {owner}");
    }
}

/// A frozen primary with a replica: 2,048 piped GETs of its keys at the default
/// timeouts wait once for the failover, then every one is answered by the promoted
/// replica (today's redis-cli-style waiting would take 2,048 × 60 s).
#[test]
fn a_frozen_primary_with_a_replica_costs_one_wait_and_reads_move_to_the_new_primary() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 1);
    let seed = cluster.port(0).to_string();
    let (owner, victim) = owner_of(&cluster, "{frozen}k");
    write_ok(&owner, &["SET", "{frozen}k", "still-here"]);
    replicated(&owner);
    signal(&cluster.nodes[victim], "STOP");
    let home = Home::new();
    let input = "GET {frozen}k\n".repeat(2048);
    let mut cmd = rcli(&home);
    cmd.args(["-c", "-p", &seed]);
    let started = Instant::now();
    let out = run_with(cmd, input.as_bytes(), Duration::from_secs(90));
    let took = started.elapsed();
    signal(&cluster.nodes[victim], "CONT");
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.text(), "still-here\n".repeat(2048), "{}", out.stderr);
    assert!(took < Duration::from_secs(45), "one wait for the failover, not one per command: {took:?}");
}

/// A frozen primary without a replica: its commands fail at once after one budget,
/// the other nodes' commands are answered, and the run ends with exit 1.
#[test]
fn a_frozen_primary_without_replicas_fails_its_commands_fast_after_one_budget() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 0);
    let seed_index = (0..3).find(|&i| cluster.endpoint(i) != owner_of(&cluster, "{frozen}k").0).unwrap();
    let seed = cluster.port(seed_index).to_string();
    let (owner, victim) = owner_of(&cluster, "{frozen}k");
    let live = (0..3).find(|&i| i != victim).map(|i| cluster.endpoint(i)).unwrap();
    let live_key = (0..)
        .map(|i| format!("live:{i}"))
        .find(|k| topology(&cluster, 0).owner(slot_of(k.as_bytes())) == Some(&live))
        .unwrap();
    write_ok(&live, &["SET", &live_key, "ok"]);
    let _ = owner;
    // The live shards keep serving while one is down.
    for i in 0..3 {
        call(&cluster.endpoint(i), &["CONFIG", "SET", "cluster-require-full-coverage", "no"]).unwrap();
    }
    signal(&cluster.nodes[victim], "STOP");
    let home = Home::new();
    let mut input = String::new();
    for _ in 0..200 {
        input.push_str("GET {frozen}k\n");
        input.push_str(&format!("GET {live_key}\n"));
    }
    let mut cmd = rcli(&home);
    cmd.args(["-c", "-p", &seed, "--timeout", "2"]);
    let started = Instant::now();
    let out = run_with(cmd, input.as_bytes(), Duration::from_secs(90));
    let took = started.elapsed();
    signal(&cluster.nodes[victim], "CONT");
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let text = out.text();
    let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 400, "{text}");
    for pair in lines.chunks(2) {
        assert!(pair[0].contains("is down") || pair[0].contains("no reply"), "{pair:?}");
        assert_eq!(pair[1], "ok", "{pair:?}");
    }
    assert!(took < Duration::from_secs(30), "one budget, not one timeout per command: {took:?}");
}

/// The shell on a cluster whose primary freezes: one command waits (at most the
/// budget), the promoted replica answers it, the prompt moves there — never `not
/// connected>` — and the next command is immediate.
#[test]
fn the_shell_finds_the_replica_that_took_over_from_a_frozen_primary() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 1);
    let (owner, victim) = owner_of(&cluster, "{frozen}k");
    write_ok(&owner, &["SET", "{frozen}k", "v1"]);
    replicated(&owner);
    let seed = cluster.port(victim).to_string();
    let home = Home::new();
    // A budget longer than a failover on a loaded machine (the default, the
    // cluster-node-timeout of 2 s + 3 s, can run out before the replica is elected),
    // and shorter than the pty's 20 s wait: the command waits it out, then the map
    // reload finds the promoted replica.
    let mut p = shell(&home, &["-c", "-p", &seed, "--down-after", "12"]);
    p.exp_string(&format!("127.0.0.1:{seed}> ")).unwrap();
    settle();
    signal(&cluster.nodes[victim], "STOP");
    p.send_line("get {frozen}k").unwrap();
    let before = p.exp_string("\"v1\"").unwrap();
    assert!(!before.contains("not connected"), "{before}");
    let after = p.exp_regex(r"127\.0\.0\.1:\d+> ").unwrap();
    signal(&cluster.nodes[victim], "CONT");
    assert!(!after.1.contains(&seed), "the prompt moved to the new primary: {after:?}");
    settle();
    p.send_and_expect("get {frozen}k", &["\"v1\""]);
}
