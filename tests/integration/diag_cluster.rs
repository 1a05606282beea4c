//! The diagnostic modes with `-c` on a real 3+3 cluster: `--bigkeys`, `--memkeys` and
//! `--hotkeys` find what redis-cli finds on each primary, merged (each node's section is
//! redis-cli's summary for that node, byte for byte; the cluster summary names the node
//! of each biggest key); Ctrl-C's partial report; `--stat -c` totals are the sum of the
//! nodes'; `--latency*` print a column (or line) per primary.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::diag_harness::*;
use crate::util::*;

const WAIT: Duration = Duration::from_secs(30);

/// Keys of every type with sizes that never tie, spread over the slots.
fn typed_keys() -> String {
    let mut lines = String::new();
    for i in 1..=60 {
        lines.push_str(&format!("set str:{i} {}\n", "s".repeat(i)));
    }
    for i in 1..=12 {
        let items: Vec<String> = (0..i).map(|j| format!("e{j}")).collect();
        lines.push_str(&format!("rpush list:{i} {}\n", items.join(" ")));
        lines.push_str(&format!("sadd set:{i} {}\n", items.join(" ")));
        let pairs: Vec<String> = (0..i).map(|j| format!("f{j} v")).collect();
        lines.push_str(&format!("hset hash:{i} {}\n", pairs.join(" ")));
        let scored: Vec<String> = (0..i).map(|j| format!("{j} m{j}")).collect();
        lines.push_str(&format!("zadd zset:{i} {}\n", scored.join(" ")));
        for _ in 0..i {
            lines.push_str(&format!("xadd stream:{i} * a 1\n"));
        }
    }
    lines
}

/// `Biggest <type> found '<key>' has <n> <unit>` lines of a summary: type → (n, line).
fn biggest(summary: &str) -> BTreeMap<String, (u64, String)> {
    summary
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("Biggest ")?;
            let kind = rest.get(..6)?.trim().to_string();
            let size = rest.split(" has ").nth(1)?.split(' ').next()?.parse().ok()?;
            Some((kind, (size, line.to_string())))
        })
        .collect()
}

fn primaries(cluster: &LocalCluster) -> Vec<u16> {
    (0..cluster.primaries).map(|i| cluster.port(i)).collect()
}

/// rcli's report for `args` must hold, for each primary, redis-cli's summary on that
/// primary; returns the report.
fn per_node_sections_match(home: &Home, cluster: &LocalCluster, args: &[&str]) -> String {
    let seed = cluster.port(0).to_string();
    let mut all = vec!["-c", "-p", seed.as_str()];
    all.extend_from_slice(args);
    let ours = rcli_run(home, &all, "");
    assert_eq!(ours.code, Some(0), "{args:?}: {}", ours.stderr);
    let report = ours.text();
    for port in primaries(cluster) {
        let mut theirs_args = vec!["-p".to_string(), port.to_string()];
        theirs_args.extend(args.iter().map(|a| a.to_string()));
        let refs: Vec<&str> = theirs_args.iter().map(String::as_str).collect();
        let theirs = redis_cli_run(&refs, b"");
        assert_eq!(theirs.code, Some(0));
        assert_eq!(
            type_order_neutral(node_section(&report, &format!("127.0.0.1:{port}"))),
            type_order_neutral(summary_of(&theirs.text())),
            "{args:?} on {port}"
        );
    }
    report
}

#[test]
fn key_scans_across_primaries_agree_with_redis_cli_on_each() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 1);
    let home = Home::new();
    let seed_port = cluster.port(0);
    seed_cluster(&home, seed_port, &typed_keys());
    let dbsizes: Vec<i64> = primaries(&cluster)
        .iter()
        .map(|p| {
            rcli::modes::sandbox::call(&rcli::endpoint::Endpoint::tcp("127.0.0.1", *p), &["DBSIZE"])
                .unwrap()
                .as_integer()
                .unwrap()
        })
        .collect();
    assert!(dbsizes.iter().all(|&n| n > 20), "every primary has keys: {dbsizes:?}");
    let total: i64 = dbsizes.iter().sum();

    for mode in ["--bigkeys", "--memkeys"] {
        let report = per_node_sections_match(&home, &cluster, &[mode]);
        // The biggest of each type over redis-cli's per-node reports, merged by hand.
        let mut merged: BTreeMap<String, (u64, String, u16)> = BTreeMap::new();
        for port in primaries(&cluster) {
            let theirs = redis_cli_run(&["-p", &port.to_string(), mode], b"").text();
            for (kind, (size, line)) in biggest(summary_of(&theirs)) {
                if merged.get(&kind).is_none_or(|(best, _, _)| size > *best) {
                    merged.insert(kind, (size, line, port));
                }
            }
        }
        assert_eq!(merged.len(), 6, "{merged:?}");
        let summary = summary_of(&report);
        assert!(summary.starts_with(&format!("Sampled {total} keys in the keyspace!\n")), "{summary}");
        for (kind, (_, line, port)) in &merged {
            assert!(summary.contains(&format!("{line} on 127.0.0.1:{port}\n")), "{mode} {kind}: {summary}");
        }
        if mode == "--bigkeys" {
            assert!(summary.contains("Biggest string found '\"str:60\"' has 60 bytes on "), "{summary}");
        }
        assert!(report.contains(" found so far '"), "progress lines name their node: {report}");
    }

    // Replicas (READONLY on their links) hold the same keys.
    let replicas = rcli_run(&home, &["-c", "-p", &seed_port.to_string(), "--bigkeys", "--target", "replicas"], "");
    assert_eq!(replicas.code, Some(0), "{}", replicas.stderr);
    assert!(summary_of(&replicas.text()).starts_with(&format!("Sampled {total} keys in the keyspace!\n")));
    for port in (cluster.primaries..cluster.nodes.len()).map(|i| cluster.port(i)) {
        assert!(replicas.text().contains(&format!("-------- node 127.0.0.1:{port} -------")));
    }

    // --hotkeys: first without an LFU policy, then with one (counters that grow by one
    // per access and never decay).
    let no_lfu = rcli_run(&home, &["-c", "-p", &seed_port.to_string(), "--hotkeys"], "");
    assert_eq!((no_lfu.code, no_lfu.text()), (Some(1), String::new()));
    assert!(no_lfu.stderr.contains("--hotkeys needs an LFU maxmemory-policy, but 127.0.0.1:"), "{}", no_lfu.stderr);
    // Keys written before the switch would carry LRU clock bits as counters: start afresh.
    for port in primaries(&cluster) {
        seed(
            port,
            "config set maxmemory-policy allkeys-lfu\nconfig set lfu-log-factor 0\nconfig set lfu-decay-time 0\nflushall\n",
        );
    }
    let mut lines: String = (1..=40).map(|i| format!("set hot:{i} v\n")).collect();
    lines.extend((1..=30).map(|i| format!("get hot:{i}\n").repeat(i)));
    seed_cluster(&home, seed_port, &lines);
    let report = per_node_sections_match(&home, &cluster, &["--hotkeys"]);
    let mut hottest: Vec<(u64, String)> = Vec::new();
    for port in primaries(&cluster) {
        let theirs = redis_cli_run(&["-p", &port.to_string(), "--hotkeys"], b"").text();
        for line in summary_of(&theirs).lines().filter_map(|l| l.strip_prefix("hot key found with counter: ")) {
            let (counter, key) = line.split_once("\tkeyname: ").unwrap();
            hottest.push((counter.parse().unwrap(), format!("{key}\tnode: 127.0.0.1:{port}")));
        }
    }
    hottest.sort();
    let expected: Vec<String> =
        hottest.iter().rev().take(16).map(|(c, k)| format!("hot key found with counter: {c}\tkeyname: {k}")).collect();
    let ours: Vec<&str> = summary_of(&report).lines().skip(1).collect();
    assert_eq!(ours, expected);
}

#[test]
fn ctrl_c_stops_every_node_and_prints_the_partial_report() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 1);
    let home = Home::new();
    let seed_port = cluster.port(0).to_string();
    seed_cluster(
        &home,
        cluster.port(0),
        &(0..6000).map(|i| format!("set key:{i} {}\n", "v".repeat(i % 70 + 1))).collect::<String>(),
    );
    // Pages of 10 and a 10 s sleep every 100 pages: each node stops after ~1,000 keys.
    let mut run = watch_rcli(&home, &["-c", "-p", &seed_port, "--bigkeys", "--count", "10", "-i", "10"]);
    run.wait_for("a biggest key", WAIT, |out| out.contains("] Biggest string"));
    std::thread::sleep(Duration::from_millis(500));
    let out = run.interrupt_and_finish();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let report = out.text();
    let first = summary_of(&report).lines().next().unwrap().to_string();
    assert_eq!(mask_numbers(&first), "[N.N%] Sampled N keys in the keyspace!", "{report}");
    let sampled: u64 = first.split("Sampled ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!(sampled > 0 && sampled < 6000, "{first}");
    for port in primaries(&cluster) {
        let section = node_section(&report, &format!("127.0.0.1:{port}"));
        assert!(section.starts_with('['), "{port} was interrupted too: {section}");
    }
}

/// Parses `--stat -c` rows: label → cells.
fn stat_rows(text: &str) -> Vec<(String, Vec<String>)> {
    text.lines()
        .filter(|l| !l.starts_with("node "))
        .map(|l| {
            let mut cells: Vec<String> = l.split_whitespace().map(str::to_string).collect();
            let mut label = cells.remove(0);
            if label == "total" && cells.first().is_some_and(|c| c.contains('/')) {
                label = format!("total {}", cells.remove(0));
            }
            (label, cells)
        })
        .collect()
}

fn human_bytes(text: &str) -> f64 {
    let (number, unit) = text.split_at(text.len() - 1);
    let scale = match unit {
        "B" => 1.0,
        "K" => 1024.0,
        "M" => 1024.0 * 1024.0,
        "G" => 1024.0 * 1024.0 * 1024.0,
        _ => panic!("{text}"),
    };
    number.parse::<f64>().unwrap() * scale
}

#[test]
fn stat_totals_and_latency_columns_cover_every_primary() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 1);
    let home = Home::new();
    let seed_port = cluster.port(0).to_string();
    seed_cluster(&home, cluster.port(0), &typed_keys());
    let addresses: Vec<String> = primaries(&cluster).iter().map(|p| format!("127.0.0.1:{p}")).collect();

    let mut run = watch_rcli(&home, &["-c", "-p", &seed_port, "--stat", "-v", "-i", "0.2"]);
    run.wait_for("four intervals", WAIT, |out| out.matches("\ntotal ").count() >= 4);
    let out = run.interrupt_and_finish();
    assert_eq!(out.code, Some(130));
    let text = out.text();
    assert!(text.starts_with("node "), "{text}");
    let total_keys = rcli_run(&home, &["-c", "-p", &seed_port, "--target", "primaries", "dbsize"], "").text();
    let total_keys: i64 = total_keys.lines().last().unwrap().parse().unwrap_or_else(|_| panic!("{total_keys}"));
    let rows = stat_rows(&text);
    for block in rows.chunks(4).filter(|b| b.len() == 4) {
        let labels: Vec<&str> = block.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(labels[..3], addresses[..], "{text}");
        let (label, total) = &block[3];
        assert_eq!(label, "total");
        assert_eq!(total[0].parse::<i64>().unwrap(), total_keys, "keys");
        for column in [0, 2, 3, 4] {
            let sum: i64 = block[..3].iter().map(|(_, c)| c[column].parse::<i64>().unwrap()).sum();
            assert_eq!(sum, total[column].parse::<i64>().unwrap(), "column {column}: {block:?}");
        }
        for column in [5, 6] {
            let cents = |v: &str| (v.parse::<f64>().unwrap() * 100.0).round() as i64;
            let sum: i64 = block[..3].iter().map(|(_, c)| cents(&c[column])).sum();
            assert_eq!(sum, cents(&total[column]), "column {column}: {block:?}");
        }
        let memory: f64 = block[..3].iter().map(|(_, c)| human_bytes(&c[1])).sum();
        let shown = human_bytes(&total[1]);
        assert!((memory - shown).abs() <= 0.02 * 1024.0 * 1024.0, "{memory} vs {shown}");
    }
    let mut run = watch_rcli(&home, &["-c", "-p", &seed_port, "--stat", "-i", "0.2"]);
    run.wait_for("two intervals", WAIT, |out| out.matches("\ntotal ").count() >= 2);
    let out = run.interrupt_and_finish();
    assert!(out.text().lines().skip(1).all(|l| l.starts_with("total ")), "{}", out.text());

    // --latency: a line per primary in raw output, a column per primary on a terminal.
    let out = rcli_run(&home, &["-c", "-p", &seed_port, "--latency", "-i", "0.3"], "");
    assert_eq!(out.code, Some(0));
    let shapes: Vec<String> = out.text().lines().map(mask_numbers).collect();
    assert_eq!(shapes, vec!["N.N.N.N:N N N N.N N"; 3]);
    let text = out.text();
    let labels: Vec<&str> = text.lines().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(labels, addresses);
    let mut run = watch_rcli(&home, &["-c", "-p", &seed_port, "--latency", "--no-raw"]);
    run.wait_for("redraws", WAIT, |out| out.matches("\x1b[0G\x1b[2K").count() >= 5);
    let out = run.interrupt_and_finish();
    assert_eq!(out.code, Some(130));
    let text = out.text();
    let header: Vec<&str> = text.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(header, addresses);
    let last = text.trim_end().rsplit("\x1b[0G\x1b[2K").next().unwrap();
    assert_eq!(
        mask_numbers(last).split_whitespace().collect::<Vec<_>>(),
        ["N/N/N.N", "(N)", "N/N/N.N", "(N)", "N/N/N.N", "(N)"]
    );

    let mut run = watch_rcli(&home, &["-c", "-p", &seed_port, "--latency-history", "-i", "0.2", "--csv"]);
    run.wait_for("a range", WAIT, |out| out.contains("seconds range"));
    let out = run.interrupt_and_finish();
    let mut kinds: Vec<String> = out.text().lines().map(mask_numbers).collect();
    kinds.sort();
    kinds.dedup();
    assert_eq!(kinds, [" -- N.N seconds range", "\"N.N.N.N:N\",N,N,N.N,N"]);

    let mut run = watch_rcli(&home, &["-c", "-p", &seed_port, "--latency-dist", "-i", "0.2"]);
    run.wait_for("two spectra per node", WAIT, |out| out.matches("\x1b[0m\n").count() >= 7);
    let out = run.interrupt_and_finish();
    assert_eq!(out.code, Some(130));
    let text = out.text();
    let spectra: Vec<&str> = text.lines().skip(8).take(3).map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(spectra, addresses);
}

#[test]
fn lru_test_routes_by_slot_and_a_frozen_primary_is_named() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 1);
    let home = Home::new();
    let seed_port = cluster.port(0).to_string();
    // --lru-test with -c sends each key to its slot's owner: no MOVED errors.
    let mut run = watch_rcli(&home, &["-c", "-p", &seed_port, "--lru-test", "300"]);
    run.wait_for("a line", WAIT, |out| out.lines().count() >= 1);
    let out = run.interrupt_and_finish();
    assert_eq!((out.code, out.stderr.as_str()), (Some(130), ""));
    for port in primaries(&cluster) {
        let keys = redis_cli_run(&["-p", &port.to_string(), "dbsize"], b"").text();
        assert!(keys.trim().parse::<u32>().unwrap() > 10, "{port} has lru:* keys: {keys}");
    }

    // A primary that does not answer: the key scan refuses to start and names it; the
    // stat table leaves it out of the total and says so.
    signal(&cluster.nodes[1], "STOP");
    let frozen = format!("127.0.0.1:{}", cluster.port(1));
    let out = rcli_run(&home, &["-c", "-p", &seed_port, "--bigkeys", "--timeout", "1"], "");
    assert_eq!((out.code, out.text()), (Some(1), String::new()));
    assert!(out.stderr.starts_with(&format!("{frozen}: no reply for 1 s\n")), "{}", out.stderr);
    let mut run = watch_rcli(&home, &["-c", "-p", &seed_port, "--stat", "-v", "--timeout", "1", "-i", "0.2"]);
    run.wait_for("a partial total", WAIT, |out| out.contains("\ntotal 2/3 "));
    let out = run.interrupt_and_finish();
    signal(&cluster.nodes[1], "CONT");
    assert!(out.text().contains(&format!("\n{frozen}  ")), "{}", out.text());
    assert!(out.text().contains("error: no reply for 1 s"), "{}", out.text());
}

/// Issue 19, item 6: a frozen primary (SIGSTOP) ends every key scan with `-c` within
/// the node's failure budget (`--down-after`, else cluster-node-timeout + 3 s), naming
/// the node, instead of the 60 s reply timeout.
#[test]
fn key_scans_give_a_frozen_primary_its_failure_budget_only() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 0);
    let home = Home::new();
    let seed_port = cluster.port(0).to_string();
    seed_cluster(&home, cluster.port(0), &typed_keys());
    signal(&cluster.nodes[1], "STOP");
    let frozen = format!("127.0.0.1:{}", cluster.port(1));
    let mut seen = Vec::new();
    for (args, expected) in [
        (&["--bigkeys", "--down-after", "1"][..], format!("{frozen}: no reply for 1 s\n")),
        (&["--memkeys", "--down-after", "1"], format!("{frozen}: no reply for 1 s\n")),
        (&["--hotkeys", "--down-after", "1"], format!("{frozen}: no reply for 1 s\n")),
        (&["--scan", "--down-after", "1"], format!("SCAN error: {frozen}: no reply for 1 s\n")),
        // The default budget: the test cluster's cluster-node-timeout (2 s) + 3 s.
        (&["--bigkeys"], format!("{frozen}: no reply for 5 s\n")),
    ] {
        let mut all = vec!["-c", "-p", seed_port.as_str()];
        all.extend_from_slice(args);
        let out = rcli_run(&home, &all, "");
        seen.push((args.to_vec(), out.code, out.stderr.contains(&expected), out.stderr));
    }
    signal(&cluster.nodes[1], "CONT");
    for (args, code, named, stderr) in seen {
        assert_eq!(code, Some(1), "{args:?}: {stderr}");
        assert!(named, "{args:?}: {stderr}");
    }
}
