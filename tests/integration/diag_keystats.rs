//! `--keystats` (redis-cli 7.4's report; no redis-cli here has it, so the text itself is
//! held to redis-cli 7.4.1's bytes by the unit tests of `src/modes/diag/keysizes_text.rs`)
//! against real servers: the report is what the server's own answers (SCAN, TYPE,
//! MEMORY USAGE, the size commands, asked by the test through redis-cli) make; Ctrl-C
//! prints the cursor to go on from, and `--cursor` goes on from it; on a replica; with
//! `-c` each node's section is rcli's one-node report on that primary and the summary
//! merges them. Key scans with `-c -n N` read database N on every primary of a Valkey 9
//! cluster with `cluster-databases 16`, and fail as redis-cli does on a cluster without
//! numbered databases.

use std::time::Duration;

use rcli::cli::diagnostics::KeyScan;
use rcli::endpoint::Endpoint;
use rcli::modes::diag::format::bytes_to_human;
use rcli::modes::diag::keysizes::KeySizes;
use rcli::modes::diag::keysizes_text::{BANNER, Figures, head, render, tail};
use rcli::modes::diag::keystats::KeyStats;
use rcli::modes::sandbox::{LocalCluster, call};

use crate::diag_harness::*;
use crate::util::*;

const WAIT: Duration = Duration::from_secs(30);

/// Keys of every type, simple names (one per line in redis-cli's raw output).
fn mixed_keys() -> String {
    let mut lines = String::new();
    for i in 1..=40 {
        lines.push_str(&format!("set str:{i} {}\n", "s".repeat(i * i)));
    }
    lines.push_str("set empty \"\"\nset int 12345\n");
    lines.push_str(&format!("set {} long-name\n", "n".repeat(300)));
    for i in 1..=5 {
        let items: Vec<String> = (0..i * 7).map(|j| format!("e{j}")).collect();
        lines.push_str(&format!("rpush list:{i} {}\n", items.join(" ")));
        lines.push_str(&format!("sadd set:{i} {}\n", items.join(" ")));
        let pairs: Vec<String> = (0..i * 7).map(|j| format!("f{j} {}", "v".repeat(j + 1))).collect();
        lines.push_str(&format!("hset hash:{i} {}\n", pairs.join(" ")));
        let scored: Vec<String> = (0..i * 9).map(|j| format!("{j} m{j}")).collect();
        lines.push_str(&format!("zadd zset:{i} {}\n", scored.join(" ")));
        for _ in 0..i {
            lines.push_str(&format!("xadd stream:{i} * a 1\n"));
        }
    }
    lines
}

/// Piped `commands` through redis-cli on `port`: one raw reply per line.
fn replies(port: u16, db: &str, commands: &[String]) -> Vec<String> {
    let input: String = commands.iter().map(|c| format!("{c}\n")).collect();
    let out = redis_cli_run(&["-p", &port.to_string(), "-n", db], input.as_bytes());
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    out.text().lines().map(str::to_string).collect()
}

/// The report (after the banner) that the server's own answers make: keys in SCAN's
/// order, TYPE, MEMORY USAGE (with `samples`) and the size command of each.
fn expected_report(port: u16, db: &str, samples: Option<u64>, top: u64) -> String {
    let scan = redis_cli_run(&["-p", &port.to_string(), "-n", db, "--scan"], b"");
    let keys: Vec<String> = scan.text().lines().map(str::to_string).collect();
    let types = replies(port, db, &keys.iter().map(|k| format!("type {k}")).collect::<Vec<_>>());
    let samples = samples.map(|n| format!(" samples {n}")).unwrap_or_default();
    let memory = replies(port, db, &keys.iter().map(|k| format!("memory usage {k}{samples}")).collect::<Vec<_>>());
    let size_command = |kind: &str| match kind {
        "string" => "strlen",
        "list" => "llen",
        "set" => "scard",
        "hash" => "hlen",
        "zset" => "zcard",
        _ => "xlen",
    };
    let lengths = replies(
        port,
        db,
        &keys.iter().zip(&types).map(|(k, t)| format!("{} {k}", size_command(t))).collect::<Vec<_>>(),
    );
    let mut by_length = KeyStats::default();
    let mut sizes = KeySizes::new(top);
    for (((key, kind), memory), length) in keys.iter().zip(&types).zip(&memory).zip(&lengths) {
        let index = by_length.type_index(kind.as_bytes()).unwrap();
        by_length.record(index, key.as_bytes(), length.parse().unwrap(), KeyScan::Big);
        sizes.record(kind.as_bytes(), key.as_bytes(), memory.parse().unwrap());
    }
    let figures = Figures { lengths: &by_length, sizes: &sizes, dbsize: keys.len() as u64 };
    format!("{}{}", render(&head(&figures, false), false), render(&tail(&figures), false))
}

/// The body of rcli's `-------- node ADDR -------` section (the report's own lines
/// hold `-------- ` too, so the next section title ends it).
fn section<'a>(report: &'a str, addr: &str) -> &'a str {
    let title = format!("-------- node {addr} -------\n\n");
    let (_, rest) = report.split_once(&title).unwrap_or_else(|| panic!("no section for {addr} in:\n{report}"));
    let end = ["\n-------- node ", "\n-------- summary -------"].iter().filter_map(|t| rest.find(t)).min();
    rest.get(..end.unwrap_or(rest.len())).unwrap()
}

fn after_banner(text: &str) -> &str {
    text.strip_prefix(BANNER).unwrap_or_else(|| panic!("no banner:\n{text}"))
}

#[test]
fn keystats_reports_what_the_server_answers() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let home = Home::new();
    let port = server.port();
    seed(port, &mixed_keys());
    seed(port, "select 2\nset a 1\nrpush b x y\n");
    // SCAN's order changes while the keyspace's hash table is being rehashed; every
    // lookup moves the rehash on, so enough of them leave one order for both tools.
    let keys = redis_cli_run(&["-p", &port.to_string(), "--scan"], b"").text();
    let lookups: Vec<String> = keys.lines().map(|k| format!("exists {k}")).collect();
    for _ in 0..6 {
        replies(port, "0", &lookups);
        replies(port, "2", &vec!["exists a".to_string(); 100]);
    }
    for (args, db, samples, top) in [
        (&["--keystats"][..], "0", None, 10),
        (&["--keystats-samples", "0", "--top", "3"], "0", Some(0), 3),
        (&["--keystats", "--top", "25", "--keystats-samples", "2"], "0", Some(2), 25),
        (&["--keystats", "-n", "2"], "2", None, 10),
    ] {
        let mut all = vec!["-p".to_string(), port.to_string()];
        all.extend(args.iter().map(|a| a.to_string()));
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        let out = rcli_run(&home, &refs, "");
        assert_eq!((out.code, out.stderr.as_str()), (Some(0), ""), "{args:?}");
        assert_eq!(after_banner(&out.text()), expected_report(port, db, samples, top), "{args:?}");
    }
    let report = rcli_run(&home, &["-p", &port.to_string(), "--keystats"], "").text();
    assert!(report.contains("Keys sampled: 68\n"), "{report}");
    assert!(report.contains("           300B  100.0000%          68\n"), "the long name: {report}");
    assert!(report.contains("\n  1 "), "{report}");
}

/// `Keys sampled: N` of a report.
fn sampled(report: &str) -> u64 {
    report
        .lines()
        .find_map(|l| l.strip_prefix("Keys sampled: "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no Keys sampled in:\n{report}"))
}

#[test]
fn ctrl_c_prints_the_cursor_and_cursor_goes_on_from_it() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let home = Home::new();
    let port = server.port().to_string();
    let keys: String = (0..3000).map(|i| format!("set k{i} {i}\n")).collect();
    seed(server.port(), &keys);
    // One key per SCAN and 0.1 s asleep every 100 SCANs: at least 3 s of scanning.
    let mut run = watch_rcli(&home, &["-p", &port, "--keystats", "--count", "1", "-i", "0.1"]);
    run.wait_for("the banner", WAIT, |out| out.starts_with(BANNER));
    let first = run.interrupt_and_finish();
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    let report = first.text();
    let cursor = report
        .split_once("\nScan interrupted:\nUse 'redis-cli --keystats --cursor ")
        .and_then(|(_, rest)| rest.strip_suffix("' to restart from the last cursor.\n"))
        .unwrap_or_else(|| panic!("no cursor in:\n{report}"))
        .to_string();
    let rest = rcli_run(&home, &["-p", &port, "--keystats", "--cursor", &cursor], "");
    assert_eq!(rest.code, Some(0), "{}", rest.stderr);
    assert!(!rest.text().contains("Scan interrupted"), "{}", rest.text());
    assert_eq!(sampled(&report) + sampled(&rest.text()), 3000, "every key once, from cursor {cursor}");
}

#[test]
fn keystats_on_a_cluster_every_primary_and_replicas() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 1);
    let home = Home::new();
    let seed_port = cluster.port(0).to_string();
    seed_cluster(&home, cluster.port(0), &mixed_keys());
    let primaries: Vec<u16> = (0..cluster.primaries).map(|i| cluster.port(i)).collect();

    // SCAN's COUNT as on one node, so that keys of equal size come in the same order.
    let out = rcli_run(&home, &["-c", "-p", &seed_port, "--keystats", "--count", "10"], "");
    assert_eq!((out.code, out.stderr.as_str()), (Some(0), ""));
    let report = out.text();
    let mut memory = Vec::new();
    for &port in &primaries {
        let alone = rcli_run(&home, &["-p", &port.to_string(), "--keystats"], "");
        assert_eq!(alone.code, Some(0), "{}", alone.stderr);
        let section = section(&report, &format!("127.0.0.1:{port}"));
        assert_eq!(section, after_banner(&alone.text()), "node {port}");
        let keys = redis_cli_run(&["-p", &port.to_string(), "--scan"], b"").text();
        let keys: Vec<String> = keys.lines().map(|k| format!("memory usage {k}")).collect();
        memory.extend(replies(port, "0", &keys).iter().map(|m| m.parse::<i64>().unwrap()));
    }
    let summary = summary_of(&report);
    assert!(summary.starts_with(&format!("100.00% keys scanned\nKeys sampled: {}\n", memory.len())), "{summary}");
    // The ten biggest keys of the cluster, each naming its node.
    memory.sort_unstable_by(|a, b| b.cmp(a));
    let tops: Vec<&str> = summary.lines().skip_while(|l| !l.starts_with("--- Top 10")).skip(1).take(10).collect();
    let mut shown: Vec<String> = tops.iter().map(|l| l.get(4..12).unwrap().trim().to_string()).collect();
    let mut wanted: Vec<String> = memory.iter().take(10).map(|&m| bytes_to_human(m)).collect();
    shown.sort();
    wanted.sort();
    assert_eq!(shown, wanted, "{summary}");
    assert!(tops.iter().all(|l| l.contains(" on 127.0.0.1:")), "{summary}");
    assert!(summary.contains("string     str:40 has 1.56K on 127.0.0.1:"), "{summary}");

    // A cursor belongs to one node.
    let refused = rcli_run(&home, &["-c", "-p", &seed_port, "--keystats", "--cursor", "5"], "");
    assert_eq!((refused.code, refused.text()), (Some(2), String::new()));
    assert!(refused.stderr.contains("--cursor with -c needs one node (--target HOST:PORT)"), "{}", refused.stderr);
    let target = format!("127.0.0.1:{}", primaries[1]);
    let one = rcli_run(&home, &["-c", "-p", &seed_port, "--keystats", "--target", &target, "--cursor", "0"], "");
    assert_eq!(one.code, Some(0), "{}", one.stderr);
    assert!(one.text().contains(&format!("-------- node {target} -------")));

    // Replicas: READONLY with -c (--target replicas) and without (a replica alone).
    let replicas = rcli_run(&home, &["-c", "-p", &seed_port, "--keystats", "--target", "replicas"], "");
    assert_eq!(replicas.code, Some(0), "{}", replicas.stderr);
    assert_eq!(sampled(summary_of(&replicas.text())), memory.len() as u64);
    let replica = cluster.port(cluster.primaries);
    let role = call(&Endpoint::tcp("127.0.0.1", replica), &["ROLE"]).unwrap();
    let primary_port = u16::try_from(role.as_items().unwrap()[2].as_integer().unwrap()).unwrap();
    let primary_of_replica = Endpoint::tcp("127.0.0.1", primary_port);
    replicated(&primary_of_replica);
    let alone = rcli_run(&home, &["-p", &replica.to_string(), "--keystats"], "");
    assert_eq!((alone.code, alone.stderr.as_str()), (Some(0), ""));
    let dbsize = call(&primary_of_replica, &["DBSIZE"]).unwrap().as_integer().unwrap();
    assert_eq!(sampled(&alone.text()), dbsize as u64, "{}", alone.text());
}

#[test]
fn key_scans_with_n_on_a_cluster_without_databases_fail_like_redis_cli() {
    if !have_redis() {
        return;
    }
    // Without `cluster-databases` even where the server has it (the Valkey 9.1 pass's
    // harness clusters have 16 databases): database 0 only, on every server.
    let options = rcli::modes::sandbox::ClusterOptions { databases: None, ..cluster_options() };
    let cluster = LocalCluster::start_opts(3, 0, options).unwrap();
    let home = Home::new();
    let port = cluster.port(0).to_string();
    seed_cluster(&home, cluster.port(0), "set a 1\nset b 2\nset c 3\n");
    let mut refusal = String::new();
    for mode in ["--scan", "--bigkeys", "--memkeys", "--keystats"] {
        let ours = rcli_run(&home, &["-c", "-p", &port, "-n", "3", mode], "");
        assert_eq!((ours.code, ours.text()), (Some(1), String::new()), "{mode}: {}", ours.stderr);
        assert!(ours.stderr.starts_with("SELECT 3 failed: "), "{mode}: {}", ours.stderr);
        if mode != "--keystats" {
            // redis-cli 7.0 and valkey-cli 8.1 have no --keystats.
            let theirs = redis_cli_run(&["-c", "-p", &port, "-n", "3", mode], b"");
            assert_eq!((ours.code, ours.stderr.as_str()), (theirs.code, theirs.stderr.as_str()), "{mode}");
        }
        refusal = ours.stderr;
    }
    let keystats = rcli_run(&home, &["-c", "-p", &port, "-n", "3", "--keystats"], "");
    assert_eq!(keystats.stderr, refusal);
}

/// A 3-primary cluster with numbered databases, from the harness: its clusters have
/// `cluster-databases 16` wherever the server takes it (`util::cluster_options`: the
/// Valkey 9.1 pass). `None`, said on stderr, elsewhere.
struct Numbered {
    ports: Vec<u16>,
    _cluster: LocalCluster,
}

impl Numbered {
    fn start() -> Option<Numbered> {
        if !have_redis() {
            return None;
        }
        if cluster_options().databases.is_none() {
            eprintln!("skipping: this server has no numbered databases in cluster mode (cluster-databases)");
            return None;
        }
        let cluster = cluster(3, 0);
        Some(Numbered { ports: (0..3).map(|i| cluster.port(i)).collect(), _cluster: cluster })
    }
}

#[test]
fn key_scans_with_c_n_read_that_database_on_every_primary() {
    let Some(cluster) = Numbered::start() else { return };
    let home = Home::new();
    let port = cluster.ports[0].to_string();
    let in_db3: String = (0..60).map(|i| format!("set k{i} {}\n", "v".repeat(i + 1))).collect();
    let put = rcli_run(&home, &["-c", "-p", &port, "-n", "3"], &in_db3);
    assert_eq!(put.code, Some(0), "{}", put.stderr);
    seed_cluster(&home, cluster.ports[0], "set other:1 x\nset other:2 y\n");

    let scan = rcli_run(&home, &["-c", "-p", &port, "-n", "3", "--scan"], "");
    assert_eq!(scan.code, Some(0), "{}", scan.stderr);
    let listed = scan.text();
    let mut keys: Vec<&str> = listed.lines().collect();
    keys.sort_unstable();
    let mut wanted: Vec<String> = (0..60).map(|i| format!("k{i}")).collect();
    wanted.sort_unstable();
    assert_eq!(keys, wanted);

    for (mode, line) in [
        ("--bigkeys", "Sampled 60 keys in the keyspace!\n"),
        ("--memkeys", "Sampled 60 keys in the keyspace!\n"),
        ("--keystats", "Keys sampled: 60\n"),
    ] {
        let out = rcli_run(&home, &["-c", "-p", &port, "-n", "3", mode], "");
        assert_eq!((out.code, out.stderr.as_str()), (Some(0), ""), "{mode}");
        let report = out.text();
        let summary = summary_of(&report);
        assert!(summary.contains(line), "{mode}: {summary}");
        for node in &cluster.ports {
            assert!(out.text().contains(&format!("-------- node 127.0.0.1:{node} -------")), "{mode}");
        }
    }
    let biggest = rcli_run(&home, &["-c", "-p", &port, "-n", "3", "--bigkeys"], "").text();
    assert!(summary_of(&biggest).contains("Biggest string found '\"k59\"' has 60 bytes on "), "{biggest}");
    // Database 0 holds only the other keys.
    let db0 = rcli_run(&home, &["-c", "-p", &port, "--keystats"], "");
    assert!(summary_of(&db0.text()).contains("Keys sampled: 2\n"), "{}", db0.text());

    // --hotkeys with an LFU policy on every node.
    for &p in &cluster.ports {
        call(&Endpoint::tcp("127.0.0.1", p), &["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"]).unwrap();
    }
    let hot = rcli_run(&home, &["-c", "-p", &port, "-n", "3", "--hotkeys"], "");
    assert_eq!(hot.code, Some(0), "{}", hot.stderr);
    assert!(summary_of(&hot.text()).starts_with("Sampled 60 keys in the keyspace!\n"), "{}", hot.text());
}
