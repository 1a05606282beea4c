//! Availability zones and numbered databases in cluster mode (Valkey 9's
//! `cluster-databases`), on real clusters the harness starts with them where the server
//! takes them (`util::cluster_options`): `--az` reads checked on every replica's own
//! INFO commandstats, `-n`/SELECT with `-c` checked on every primary's INFO keyspace,
//! the prompt's `[db]`, `:nodes` and `:map`, and `rcli sandbox --databases`. Each
//! expectation comes from the servers' answers (CLUSTER SHARDS, CONFIG GET, INFO); on a
//! server without zones or numbered databases the test says so and stops.

use std::time::Duration;

use rcli::cluster::slot::slot_of;
use rcli::cluster::topology::Topology;
use rcli::endpoint::Endpoint;
use rcli::modes::sandbox::{LocalCluster, call};

use crate::eqnice;

use crate::util::*;

/// Calls of `command` a node has served so far (`INFO commandstats`).
fn command_calls(endpoint: &Endpoint, command: &str) -> u64 {
    let info = text(&call(endpoint, &["INFO", "commandstats"]).unwrap());
    let prefix = format!("cmdstat_{command}:calls=");
    info.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |n| n.parse().unwrap_or(0))
}

/// Keys in database `db` of a node (`INFO keyspace`).
fn keys_in(endpoint: &Endpoint, db: u32) -> u64 {
    let info = text(&call(endpoint, &["INFO", "keyspace"]).unwrap());
    rcli::cluster::keyspace::databases(&info).into_iter().find(|&(n, _)| n == db).map_or(0, |(_, k)| k)
}

/// The slot map node 0 serves, once it names a zone for every node (zones travel by
/// gossip; bounded wait); `None` (said on stderr) when the server announces none, not
/// even node 0's own (Valkey 8.1 takes `availability-zone` but puts it in neither
/// CLUSTER SHARDS nor SLOTS).
fn zoned_topology(cluster: &LocalCluster) -> Option<Topology> {
    let seed = cluster.endpoint(0);
    let shards = || Topology::from_shards(&call(&seed, &["CLUSTER", "SHARDS"]).unwrap(), &seed).unwrap();
    if !cluster.zones || shards().node(&seed).is_none_or(|me| me.zone.is_none()) {
        eprintln!("skipping: this server announces no availability zones (availability-zone)");
        return None;
    }
    let mut found = None;
    wait_for("every node's zone in CLUSTER SHARDS", Duration::from_secs(20), || {
        let topo = shards();
        let done = topo.all_nodes().len() == cluster.nodes.len() && topo.all_nodes().iter().all(|n| n.zone.is_some());
        found = Some(topo);
        done
    });
    found
}

/// `per_shard` keys (`k0`, `k1`, …) for each primary of `topo`, grouped by primary.
fn keys_per_shard(topo: &Topology, per_shard: usize) -> Vec<(Endpoint, Vec<String>)> {
    let mut groups: Vec<(Endpoint, Vec<String>)> =
        topo.primaries().iter().map(|p| (p.endpoint.clone(), Vec::new())).collect();
    for i in 0.. {
        if groups.iter().all(|(_, keys)| keys.len() >= per_shard) {
            break;
        }
        let key = format!("k{i}");
        let owner = topo.owner(slot_of(key.as_bytes())).unwrap();
        if let Some((_, keys)) = groups.iter_mut().find(|(p, keys)| p == owner && keys.len() < per_shard) {
            keys.push(key);
        }
    }
    groups
}

fn port_of(endpoint: &Endpoint) -> String {
    match endpoint {
        Endpoint::Tcp { port, .. } => port.to_string(),
        other => panic!("not a TCP node: {other}"),
    }
}

/// The databases the cluster has in cluster mode, from `CONFIG GET cluster-databases`;
/// `None` (said on stderr) when it has only database 0.
fn cluster_databases(cluster: &LocalCluster) -> Option<u32> {
    let reply = call(&cluster.endpoint(0), &["CONFIG", "GET", "cluster-databases"]).unwrap();
    let count = reply.to_pairs().and_then(|pairs| {
        pairs.iter().find(|(k, _)| text(k) == "cluster-databases").and_then(|(_, v)| text(v).parse::<u32>().ok())
    });
    match count {
        Some(n) if n > 1 => Some(n),
        _ => {
            eprintln!("skipping: this server has no numbered databases in cluster mode (cluster-databases)");
            None
        }
    }
}

/// Runs `cmd` (rcli reading from replicas) on `input`, two GETs for each of 3 keys per
/// shard, and checks on every node's INFO commandstats where they were served: none on
/// a primary, all 6 of a shard on its replicas in `zone` when it has any there (the
/// two shards `zone_of` gives one), else spread over its replicas.
fn reads_land_in(topo: &Topology, zone: &str, cmd: std::process::Command, input: &str) {
    let before: Vec<(Endpoint, u64)> =
        topo.all_nodes().iter().map(|n| (n.endpoint.clone(), command_calls(&n.endpoint, "get"))).collect();
    let out = run_with(cmd, input.as_bytes(), Duration::from_secs(60));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    eqnice!("v\n".repeat(18), out.text());
    let served = |endpoint: &Endpoint| {
        let was = before.iter().find(|(e, _)| e == endpoint).map_or(0, |(_, n)| *n);
        command_calls(endpoint, "get") - was
    };
    let mut zone_shards = 0;
    for shard in topo.shards_in_slot_order() {
        let primary = shard.primary.as_ref().unwrap();
        assert_eq!(served(&primary.endpoint), 0, "no read on the primary {}", primary.endpoint);
        let (in_zone, elsewhere): (Vec<_>, Vec<_>) =
            shard.replicas.iter().partition(|r| r.zone.as_deref() == Some(zone));
        let total: u64 = shard.replicas.iter().map(|r| served(&r.endpoint)).sum();
        assert_eq!(total, 6, "the shard of {}: its 6 reads on its replicas", primary.endpoint);
        if !in_zone.is_empty() {
            zone_shards += 1;
            for replica in elsewhere {
                assert_eq!(served(&replica.endpoint), 0, "{} is not in {zone}", replica.endpoint);
            }
        }
    }
    assert_eq!(zone_shards, 2, "two shards have a replica in {zone} (zone_of), one has none");
}

/// `--az az-1` on a 3+6 cluster whose nodes announce zones (`util::cluster_options`):
/// the GETs of a shard with a replica in az-1 all land on that replica, those of a shard
/// without one are spread over its replicas as without `--az`, the primaries serve none;
/// the same with the rc file's `:set az az-3`, and `--az` winning over it.
/// What lands where is read on each node (INFO commandstats); which replica is in which
/// zone, from CLUSTER SHARDS.
#[test]
fn az_reads_land_on_the_zones_replica() {
    if !have_redis() {
        return;
    }
    let cluster = LocalCluster::start_opts(3, 2, cluster_options()).unwrap();
    let Some(topo) = zoned_topology(&cluster) else { return };
    let groups = keys_per_shard(&topo, 3);
    for (primary, keys) in &groups {
        for key in keys {
            write_ok(primary, &["SET", key, "v"]);
        }
    }
    for (primary, _) in &groups {
        replicated(primary);
        // Every replica has it, not only the first one to catch up.
        let shard = topo.shards.iter().find(|s| s.primary.as_ref().is_some_and(|p| &p.endpoint == primary)).unwrap();
        for replica in &shard.replicas {
            wait_for("each replica to have the keys", Duration::from_secs(20), || keys_in(&replica.endpoint, 0) == 3);
        }
    }
    let home = Home::new();
    let seed = cluster.port(0).to_string();
    let input: String = groups.iter().flat_map(|(_, keys)| keys).map(|k| format!("get {k}\nget {k}\n")).collect();
    let mut cmd = rcli(&home);
    cmd.args(["-c", "-p", &seed, "--az", "az-1"]);
    reads_land_in(&topo, "az-1", cmd, &input);
    // The zone from the rc file, read in every mode; --az would win over it.
    let rc = home.path.join("rclirc");
    std::fs::write(&rc, ":set az az-3\n").unwrap();
    let mut cmd = rcli(&home);
    cmd.env("RCLI_RCFILE", &rc).args(["-c", "-p", &seed, "--read-from-replicas"]);
    reads_land_in(&topo, "az-3", cmd, &input);
    let mut cmd = rcli(&home);
    cmd.env("RCLI_RCFILE", &rc).args(["-c", "-p", &seed, "--az", "az-1"]);
    reads_land_in(&topo, "az-1", cmd, &input);

    // The shell: :set az, :readonly on, and :nodes shows each node's zone.
    let out = rcli_run(&home, &["-c", "-p", &seed], ":set az az-2\n:readonly on\n:set az\n:nodes\n");
    let printed = out.text();
    assert!(printed.contains("read-only commands now go to replicas (in az-2 where a slot has one)"), "{printed}");
    assert!(printed.contains("availability zone: az-2; replica reads on"), "{printed}");
    let header = printed.lines().find(|l| l.starts_with("id ")).unwrap();
    assert!(header.contains(" zone ") && header.ends_with(" link"), "{header}");
    for node in topo.all_nodes() {
        let row = printed.lines().find(|l| l.contains(&format!(" {} ", node.endpoint))).unwrap();
        assert!(row.contains(&format!(" {} ", node.zone.as_deref().unwrap())), "{row}");
    }
}

/// `--az` takes a zone name: nothing else, exit 2 (no server needed).
#[test]
fn az_needs_a_zone_name() {
    let home = Home::new();
    for bad in ["", "two words", "tab\there"] {
        let out = rcli_run(&home, &["-c", "-p", "1", "--az", bad, "get", "k"], "");
        assert_eq!(out.code, Some(2), "{bad:?}: {}", out.stderr);
        assert!(out.stderr.contains("is not an availability zone name"), "{}", out.stderr);
    }
}

/// `-n 5 -c` and SELECT with `-c` on a cluster with numbered databases: every key is
/// routed to its slot's owner in the chosen database (each primary's INFO keyspace
/// says so), piped and in the shell, whose prompt keeps the `[db]` across nodes, and
/// `:nodes`/`:map` name the databases in use.
#[test]
fn numbered_databases_with_c() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 0);
    let Some(databases) = cluster_databases(&cluster) else { return };
    assert!(databases >= 10, "the harness asks for 16");
    let home = Home::new();
    let seed = cluster.port(0).to_string();
    let topo = topology(&cluster, 0);
    let groups = keys_per_shard(&topo, 4);
    let keys: Vec<&String> = groups.iter().flat_map(|(_, k)| k).collect();

    // Piped, -n 5: each key on its owner, in db 5 only.
    let sets: String = keys.iter().map(|k| format!("set {k} five-{k}\n")).collect();
    let gets: String = keys.iter().map(|k| format!("get {k}\n")).collect();
    let out = rcli_run(&home, &["-c", "-p", &seed, "-n", "5"], &format!("{sets}{gets}"));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let expected: String =
        keys.iter().map(|_| "OK\n".to_string()).chain(keys.iter().map(|k| format!("five-{k}\n"))).collect();
    eqnice!(expected, out.text());
    for (primary, keys) in &groups {
        assert_eq!(keys_in(primary, 5), keys.len() as u64, "{primary} holds its keys in db 5");
        assert_eq!(keys_in(primary, 0), 0, "{primary}: nothing in db 0");
    }
    // One-shot, beside the yardstick CLI where it routes in databases too.
    let key = keys.last().unwrap();
    let ours = rcli_run(&home, &["-c", "-p", &seed, "-n", "5", "get", key], "");
    eqnice!(format!("five-{key}\n"), ours.text());
    let theirs = redis_cli_run(&["-c", "-p", &seed, "-n", "5", "get", key], b"");
    if theirs.text() == ours.text() {
        eqnice!(theirs.text(), ours.text());
    } else {
        eprintln!("the yardstick answers -n 5 -c otherwise: {:?} {:?}", theirs.text(), theirs.stderr);
    }

    // SELECT piped (a barrier, then every node's link in db 7).
    let input = format!("select 7\n{}", keys.iter().map(|k| format!("set {k} seven\n")).collect::<String>());
    let out = rcli_run(&home, &["-c", "-p", &seed], &input);
    eqnice!("OK\n".repeat(keys.len() + 1), out.text());
    for (primary, keys) in &groups {
        assert_eq!(keys_in(primary, 7), keys.len() as u64, "{primary} holds its keys in db 7");
    }

    // :nodes and :map name the databases in use.
    let out = rcli_run(&home, &["-c", "-p", &seed], ":nodes\n:map\n");
    let printed = out.text();
    let header = printed.lines().find(|l| l.starts_with("id ")).unwrap();
    assert!(header.contains(" dbs "), "{printed}");
    for (primary, _) in &groups {
        let row = printed.lines().find(|l| !l.contains("slots:") && l.contains(&format!(" {primary} "))).unwrap();
        assert!(row.contains(" 5,7 "), "{row}");
        let map_line = printed.lines().find(|l| l.contains("slots:") && l.contains(&format!(" {primary} "))).unwrap();
        assert!(map_line.ends_with("dbs: 5,7"), "{map_line}");
    }

    // The shell: the prompt shows the database on every node it moves to.
    let (first, second) = (&groups[0], &groups[1]);
    let mut p = shell(&home, &["-c", "-p", &port_of(&first.0), "-n", "5"]);
    p.exp_string(&format!("{}[5]> ", first.0)).unwrap();
    settle();
    p.send_and_expect(
        &format!("get {}", second.1[0]),
        &[&format!("five-{}", second.1[0]), &format!("{}[5]> ", second.0)],
    );
    settle();
    p.send_and_expect("select 7", &[&format!("{}[7]> ", second.0)]);
    settle();
    p.send_and_expect(&format!("get {}", first.1[0]), &["seven", &format!("{}[7]> ", first.0)]);
    settle();
    p.send_and_expect(&format!("select {databases}"), &["(error) ERR DB index is out of range"]);
    p.send_line("quit").unwrap();
    p.exp_eof().unwrap();
}

/// `rcli sandbox --databases 4`: a cluster with databases 0-3 in cluster mode where the
/// server has them; elsewhere one line on stderr and exit 1, before any server starts.
#[test]
fn sandbox_with_databases() {
    if !have_redis() {
        return;
    }
    let home = Home::new();
    let mut cmd = rcli(&home);
    cmd.args(["sandbox", "--primaries", "3", "--replicas", "0", "--databases", "4"]);
    let input = b"select 3\nset foo bar\nget foo\nselect 4\nconfig get cluster-databases\n";
    let out = run_with(cmd, input, Duration::from_secs(90));
    if rcli::modes::sandbox::server_accepts(&[("cluster-databases", "4")]).is_err() {
        assert_eq!(out.code, Some(1), "{}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "one line: {}", out.stderr);
        assert!(out.stderr.contains("has no numbered databases in cluster mode"), "{}", out.stderr);
        assert!(out.stdout.is_empty());
        return;
    }
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stderr.contains("databases 0-3 on every node (cluster-databases 4)"), "{}", out.stderr);
    let printed = out.text();
    assert!(printed.starts_with("OK\nOK\nbar\n"), "{printed}");
    assert!(printed.contains("ERR DB index is out of range"), "{printed}");
    assert!(printed.ends_with("cluster-databases\n4\n"), "{printed}");
}
