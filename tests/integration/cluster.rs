//! Cluster mode (`-c`) against real 3-primary/3-replica clusters: routing before
//! sending, visible hops, MOVED/ASK during a migration, failover, split and refused
//! cross-slot commands, transactions, meta-commands, fan-out, `--scan`, replica reads,
//! sharded pub/sub and `rcli sandbox`.

use std::time::Duration;

use rcli::cluster::slot::slot_of;
use rcli::cluster::topology::Topology;
use rcli::endpoint::Endpoint;
use rcli::modes::sandbox::call;
use rcli::protocol::resp::Frame;

use crate::eqnice;

use crate::util::*;

fn owner(cluster: &LocalCluster, key: &str) -> Endpoint {
    owner_of(cluster, key).0
}

/// MOVED errors the servers have sent so far (`INFO errorstats`), over every live node.
fn moved_count(cluster: &LocalCluster) -> u64 {
    (0..cluster.nodes.len())
        .filter(|&i| cluster.nodes[i].is_running())
        .map(|i| {
            let info = text(&call(&cluster.endpoint(i), &["INFO", "errorstats"]).unwrap());
            info.lines()
                .find_map(|l| l.strip_prefix("errorstat_MOVED:count="))
                .map_or(0, |n| n.trim().parse::<u64>().unwrap_or(0))
        })
        .sum()
}

fn command_calls(endpoint: &Endpoint, command: &str) -> u64 {
    let info = text(&call(endpoint, &["INFO", "commandstats"]).unwrap());
    let prefix = format!("cmdstat_{command}:calls=");
    info.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |n| n.parse().unwrap_or(0))
}

#[test]
fn the_tutorial_session_routes_before_sending_and_moves_the_prompt() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 1);
    let home = Home::new();
    let seed = cluster.port(0).to_string();
    let foo_owner = owner(&cluster, "foo");
    let hello_owner = owner(&cluster, "hello");
    let moved_before = moved_count(&cluster);
    let mut p = shell(&home, &["-c", "-p", &seed]);
    p.exp_string(&format!("127.0.0.1:{seed}> ")).unwrap();
    p.send_and_expect(
        "set foo bar",
        &[&format!("-> Redirected to slot [12182] located at {foo_owner}"), "OK", &format!("{foo_owner}> ")],
    );
    p.send_and_expect(
        "set hello world",
        &[&format!("-> Redirected to slot [866] located at {hello_owner}"), "OK", &format!("{hello_owner}> ")],
    );
    p.send_and_expect("get foo", &["\"bar\"", &format!("{foo_owner}> ")]);
    p.send_and_expect(":slot user:{1000}.following", &["slot 11326"]);
    // rexpect reads bytes as Latin-1, so match the ASCII part of "first {…} → \"1000\" hashed".
    p.exp_string("\"1000\" hashed").unwrap();
    p.send_line("quit").unwrap();
    p.exp_eof().unwrap();
    assert_eq!(moved_count(&cluster), moved_before, "routing before sending: no MOVED at all");
}

#[test]
fn a_thousand_random_commands_cause_no_moved_and_cross_slot_commands_split_or_are_refused() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 1);
    let home = Home::new();
    let seed = cluster.port(0).to_string();
    let mut script = String::new();
    for i in 0..500 {
        script.push_str(&format!("set key:{} v{i}\nget key:{}\n", i * 7919 % 10007, i * 7919 % 10007));
    }
    let before = moved_count(&cluster);
    let out = rcli_run(&home, &["-c", "-p", &seed], &script);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let expected: String = (0..500).map(|i| format!("OK\nv{i}\n")).collect();
    eqnice!(expected, out.text());
    assert_eq!(moved_count(&cluster), before, "1000 routed commands caused MOVED replies");

    let merged = rcli_run(
        &home,
        &["-c", "-p", &seed, "-v"],
        "mset a 1 b 2 c 3 {a}x 4\nmget a b nosuch c {a}x\nexists a b c nosuch\ndel a b\nmget a b c\nsunionstore dst s1 s2\n",
    );
    eqnice!(
        "OK\n1\n2\n\n3\n4\n3\n2\n\n\n3\nCROSSSLOT: not sent, the keys of SUNIONSTORE map to different slots:\n\n",
        merged.text()
    );
    assert!(merged.stderr.contains("-> split across 3 slots on 3 nodes (not atomic)"), "{}", merged.stderr);
    let refused = rcli_run(&home, &["-c", "-p", &seed, "--no-raw", "sunionstore", "user:1000.a", "user:1000.b"], "");
    assert_eq!(refused.code, Some(1));
    assert!(refused.stderr.contains("\"user:1000.a\" → slot"), "{}", refused.stderr);
    assert!(refused.stderr.contains("\"{user:1000}.a\" \"{user:1000}.b\""), "{}", refused.stderr);
    assert_eq!(moved_count(&cluster), before);
}

#[test]
fn transactions_stay_on_one_slot() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 0);
    let home = Home::new();
    let seed = cluster.port(0).to_string();
    let script = "multi\nset {u}a 1\nincr {u}a\nset other 1\nget {u}a\nexec\nmulti\nping\nset {v}x 5\nexec\nget {v}x\n";
    let out = rcli_run(&home, &["-c", "-p", &seed, "--no-raw", "--pipeline", "1"], script);
    let text = out.text();
    assert!(
        text.starts_with("OK\nQUEUED\nQUEUED\n(error) refused inside MULTI: the transaction is pinned to slot"),
        "{text}"
    );
    assert!(text.contains("QUEUED\n1) OK\n2) (integer) 2\n3) \"2\"\n"), "{text}");
    assert!(text.ends_with("OK\nQUEUED\nQUEUED\n1) PONG\n2) OK\n\"5\"\n"), "{text}");
}

#[test]
fn a_migrating_slot_is_followed_through_ask_and_moved_updates_the_map() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 0);
    let home = Home::new();
    let seed = cluster.port(0).to_string();
    let key_slot = slot_of(b"{m}").to_string();
    let (source, source_index) = owner_of(&cluster, "{m}");
    let target_index = (source_index + 1) % 3;
    let target = cluster.endpoint(target_index);
    let (source_id, target_id) = (cluster.ids[source_index].clone(), cluster.ids[target_index].clone());

    let mut p = shell(&home, &["-c", "-p", &seed]);
    p.send_and_expect("set {m}old 1", &["OK"]);
    call(&target, &["CLUSTER", "SETSLOT", &key_slot, "IMPORTING", &source_id]).unwrap();
    call(&source, &["CLUSTER", "SETSLOT", &key_slot, "MIGRATING", &target_id]).unwrap();

    p.send_and_expect(
        "set {m}new 2",
        &[&format!("-> ASK: slot {key_slot} is migrating to {target}, asking there once"), "OK"],
    );
    p.send_and_expect("get {m}old", &["\"1\""]);
    assert_eq!(text(&call(&target, &["GET", "{m}new"]).unwrap_or(Frame::Null)), "", "GET without ASKING is redirected");
    // One key on each side of the migration: the source says TRYAGAIN; rcli retries with
    // a growing pause, a bounded number of times, then shows the error.
    p.send_and_expect(
        "mget {m}old {m}new",
        &[
            &format!("-> TRYAGAIN from {source}: retrying in 100 ms (attempt 1 of 5)"),
            "attempt 5 of 5",
            "(error) TRYAGAIN",
        ],
    );

    let Endpoint::Tcp { port, .. } = &target else { unreachable!() };
    call(&source, &["MIGRATE", "127.0.0.1", &port.to_string(), "{m}old", "0", "5000"]).unwrap();
    for i in 0..3 {
        call(&cluster.endpoint(i), &["CLUSTER", "SETSLOT", &key_slot, "NODE", &target_id]).unwrap();
    }
    p.send_and_expect(
        "get {m}old",
        &[&format!("-> MOVED: slot {key_slot} is now at {target}, slot map refreshed"), "\"1\""],
    );
    let moved = moved_count(&cluster);
    p.send_and_expect("get {m}new", &["\"2\""]);
    p.send_line("quit").unwrap();
    p.exp_eof().unwrap();
    assert_eq!(moved_count(&cluster), moved, "the map was updated by the first MOVED");
}

#[test]
fn a_killed_primary_is_replaced_without_restarting_rcli() {
    if !have_redis() {
        return;
    }
    let mut cluster = cluster(3, 1);
    let home = Home::new();
    let (victim, victim_index) = owner_of(&cluster, "{f}");
    let seed_index = (victim_index + 1) % 3;
    let seed = cluster.port(seed_index).to_string();
    let mut p = shell(&home, &["-c", "-p", &seed]);
    p.send_and_expect("set {f}x 42", &["OK"]);
    p.send_and_expect("wait 1 2000", &["(integer) 1"]);
    cluster.nodes[victim_index].kill();
    let survivor = cluster.endpoint(seed_index);
    wait_for("the replica to take over", Duration::from_secs(30), || {
        call(&survivor, &["CLUSTER", "SHARDS"])
            .ok()
            .and_then(|r| Topology::from_shards(&r, &survivor).ok())
            .and_then(|t| t.owner(slot_of(b"{f}")).cloned())
            .is_some_and(|o| o != victim)
    });
    p.send_and_expect("get {f}x", &[&format!("-> {victim} is not answering"), "\"42\""]);
    p.send_and_expect("incr {f}x", &["(integer) 43"]);
    p.send_line("quit").unwrap();
    p.exp_eof().unwrap();
}

#[test]
fn meta_commands_fan_out_scan_and_targets() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 1);
    let home = Home::new();
    let seed = cluster.port(0).to_string();
    let mut script = String::new();
    for i in 0..300 {
        script.push_str(&format!("set scan:{i} x\n"));
    }
    assert_eq!(rcli_run(&home, &["-c", "-p", &seed], &script).code, Some(0));

    let scanned = rcli_run(&home, &["-c", "-p", &seed, "--scan", "--pattern", "scan:*"], "");
    let mut keys: Vec<&str> = scanned
        .stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| std::str::from_utf8(l).unwrap())
        .collect();
    keys.sort_unstable();
    let mut expected: Vec<String> = (0..300).map(|i| format!("scan:{i}")).collect();
    expected.sort_unstable();
    assert_eq!(keys, expected, "--scan walks every primary");

    eqnice!("300\n", rcli_run(&home, &["-c", "-p", &seed, "--target", "primaries", "dbsize"], "").text());
    // A dead first seed is skipped; a non-cluster node given with -c runs as one node.
    let dead = rcli::modes::sandbox::free_port().unwrap().to_string();
    eqnice!("x\n", rcli_run(&home, &["-c", "-p", &dead, "-p", &seed, "get", "scan:7"], "").text());
    let single = standalone();
    let plain = rcli_run(&home, &["-c", "-p", &single.port().to_string(), "-v", "ping"], "");
    eqnice!("PONG\n", plain.text());
    assert!(plain.stderr.contains("has cluster support disabled; running as a single node"), "{}", plain.stderr);
    let blocks =
        rcli_run(&home, &["-c", "-p", &seed, "--no-raw"], ":use primaries\ndbsize\nkeys nosuch*\n:use auto\nping\n");
    let text = blocks.text();
    assert!(text.starts_with("keyless commands now go to all primaries\n"), "{text}");
    assert_eq!(text.matches("(primary):\n(integer) ").count(), 3, "{text}");
    assert!(text.contains("=> agg_sum of 3 nodes: (integer) 300\n"), "{text}");
    assert!(text.contains("keyless commands now go to auto (the command's request_policy tip)\n"), "{text}");
    assert!(text.ends_with("=> all_succeeded of 3 nodes: PONG\n"), "{text}");

    let scan = rcli_run(&home, &["-c", "-p", &seed, "--target", "primaries", "scan", "0", "MATCH", "scan:*"], "");
    let scan_text = scan.text();
    let mut listed: Vec<&str> = scan_text.lines().filter(|l| l.starts_with("scan:")).collect();
    listed.sort_unstable();
    assert_eq!(listed, expected, "SCAN with a multi-node target iterates every primary");

    // -r and -x in cluster mode; the COMMAND table was cached on disk for this server.
    eqnice!("1\n2\n3\n", rcli_run(&home, &["-c", "-p", &seed, "-r", "3", "incr", "{r}n"], "").text());
    eqnice!("OK\n", rcli_run(&home, &["-c", "-p", &seed, "-x", "set", "{x}k"], "from stdin").text());
    eqnice!("from stdin\n", rcli_run(&home, &["-c", "-p", &seed, "get", "{x}k"], "").text());
    let cache_dir = home.path.join("cache").join("rcli");
    let cached = std::fs::read_dir(&cache_dir)
        .map(|entries| entries.flatten().any(|e| e.file_name().to_string_lossy().starts_with("command-info-")))
        .unwrap_or(false);
    assert!(cached, "no command table was cached in {}", cache_dir.display());

    let nodes = rcli_run(&home, &["-c", "-p", &seed], ":nodes\n");
    let table = nodes.text();
    assert!(table.starts_with("id        address"), "{table}");
    assert_eq!(table.matches(" primary ").count(), 3, "{table}");
    assert_eq!(table.matches(" replica ").count(), 3, "{table}");
    assert!(table.contains("0-5460"), "{table}");
}

#[test]
fn replica_reads_and_sharded_pubsub() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 1);
    let home = Home::new();
    let seed = cluster.port(0).to_string();
    let primary = owner(&cluster, "{r}");
    let replica = topology(&cluster, 0).replicas(slot_of(b"{r}"))[0].endpoint.clone();
    eqnice!("OK\n", rcli_run(&home, &["-c", "-p", &seed, "set", "{r}k", "v"], "").text());
    replicated(&primary);
    let (replica_before, primary_before) = (command_calls(&replica, "get"), command_calls(&primary, "get"));
    let out = rcli_run(&home, &["-c", "-p", &seed, "--read-from-replicas"], "get {r}k\nget {r}k\nset {r}k w\n");
    eqnice!("v\nv\nOK\n", out.text());
    assert_eq!(command_calls(&replica, "get"), replica_before + 2, "reads went to the replica");
    assert_eq!(command_calls(&primary, "get"), primary_before);

    let mut p = shell(&home, &["-c", "-p", &seed]);
    p.send_and_expect("ssubscribe news", &["Reading messages"]);
    let news_owner = owner(&cluster, "news");
    wait_for("the subscription", Duration::from_secs(10), || {
        call(&news_owner, &["PUBSUB", "SHARDNUMSUB", "news"])
            .ok()
            .and_then(|f| f.as_items().and_then(|i| i.get(1)).and_then(Frame::as_integer))
            == Some(1)
    });
    call(&news_owner, &["SPUBLISH", "news", "hello-shard"]).unwrap();
    p.exp_string("hello-shard").unwrap();
    p.send_control('c').unwrap();
    p.exp_string(&format!("{news_owner}> ")).unwrap();
    settle();
    p.send_and_expect("get {r}k", &["\"w\""]);
    p.send_line("quit").unwrap();
    p.exp_eof().unwrap();
}

#[test]
fn sandbox_answers_and_leaves_nothing_behind() {
    if !have_redis() {
        return;
    }
    let home = Home::new();
    let mut cmd = rcli(&home);
    cmd.args(["sandbox", "--primaries", "3", "--replicas", "0"]);
    let out = run_with(cmd, b"set foo bar\nget foo\n:nodes\n", Duration::from_secs(90));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let text = out.text();
    assert!(text.starts_with("OK\nbar\nid "), "{text}");
    let dir =
        out.stderr.lines().find_map(|l| l.strip_prefix("cluster ready in ")).expect("sandbox prints its directory");
    let dir = dir.trim_end_matches(':');
    assert!(!std::path::Path::new(dir).exists(), "{dir} was not removed");
    let ports: Vec<String> = out
        .stderr
        .lines()
        .filter_map(|l| l.trim().strip_prefix("127.0.0.1:"))
        .map(|l| l.split(' ').next().unwrap().to_string())
        .collect();
    assert_eq!(ports.len(), 3);
    for port in ports {
        let endpoint = Endpoint::tcp("127.0.0.1", port.parse().unwrap());
        assert!(call(&endpoint, &["PING"]).is_err(), "a server on {port} is still running");
    }
}

/// A typed AUTH is replayed on every connection rcli opens afterwards (redis-cli loses
/// it after a redirect: redis/redis#13525).
#[test]
fn a_typed_auth_follows_the_session_to_every_node() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 0);
    let home = Home::new();
    let seed = cluster.port(0).to_string();
    for i in 0..3 {
        call(&cluster.endpoint(i), &["ACL", "SETUSER", "alice", "on", ">pw", "~*", "&*", "+@all"]).unwrap();
    }
    let script = "auth alice pw\nset foo bar\nset hello world\n:use all\nacl whoami\n";
    let out = rcli_run(&home, &["-c", "-p", &seed, "--no-raw"], script);
    let text = out.text();
    assert!(text.starts_with("OK\nOK\nOK\n"), "{text}");
    assert_eq!(text.matches("\"alice\"").count(), 3, "every node's connection is alice's: {text}");
    assert!(!text.contains("default"), "{text}");
}

/// A fresh cluster: Redis 7.0 reports its replicas' health as `loading` until the
/// first write, though their links are up; `:nodes` shows each replica's own view.
#[test]
fn nodes_shows_replicas_of_a_fresh_cluster_as_linked() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 1);
    let home = Home::new();
    let table = rcli_run(&home, &["-c", "-p", &cluster.port(0).to_string()], ":nodes\n").text();
    let links: Vec<&str> = table.lines().skip(1).filter_map(|l| l.split_whitespace().last()).collect();
    assert_eq!(links, ["ok"; 6], "{table}");
}
