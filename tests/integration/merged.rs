//! Merged diagnostics (docs/compatibility.md, "Merged diagnostics") on a real
//! 3-primary cluster: SLOWLOG, COMMANDLOG, LATENCY LATEST, CLIENT LIST and INFO of
//! every primary as one list or table (and as JSON and CSV), checked against what each
//! node answers itself; the shell's `:use primaries` and `:set merge off` in a pty.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;

use rcli::protocol::resp::Frame;
use serde_json::Value;

use crate::util::*;

pub fn call(cluster: &LocalCluster, index: usize, argv: &[&str]) -> Frame {
    cluster.call(index, argv).unwrap_or_else(|e| panic!("{argv:?} on node {index}: {e}"))
}

pub fn label(cluster: &LocalCluster, index: usize) -> String {
    format!("127.0.0.1:{}", cluster.port(index))
}

/// `rcli -c -p <node 0> --target primaries ARGS…`, which must succeed; its stdout.
pub fn fanout(home: &Home, cluster: &LocalCluster, args: &[&str], input: &str) -> String {
    let seed = cluster.port(0).to_string();
    let mut all = vec!["-c", "-p", seed.as_str(), "--target", "primaries"];
    all.extend_from_slice(args);
    let out = rcli_run(home, &all, input);
    assert_eq!(out.code, Some(0), "{all:?}: {}", out.stderr);
    out.text()
}

/// The value of `field` in INFO-like text (`field:value` lines).
pub fn info_field(text: &str, field: &str) -> Option<String> {
    text.lines().find_map(|l| l.trim_end().strip_prefix(field)?.strip_prefix(':').map(str::to_string))
}

/// A SLOWLOG GET reply's entries as (id, time, micros, args, client, name).
pub type Entry = (i64, i64, i64, Vec<String>, String, String);

pub fn entries(frame: &Frame) -> Vec<Entry> {
    frame
        .as_items()
        .unwrap()
        .iter()
        .map(|e| {
            let f = e.as_items().unwrap();
            let args = f[3].as_items().unwrap().iter().map(text).collect();
            (
                f[0].as_integer().unwrap(),
                f[1].as_integer().unwrap(),
                f[2].as_integer().unwrap(),
                args,
                text(&f[4]),
                text(&f[5]),
            )
        })
        .collect()
}

/// Every primary's slow log filled with a few commands (every command logged, then
/// logging stopped so reading the logs adds nothing); each node's entries, its index
/// with them.
fn filled_slowlogs(cluster: &LocalCluster) -> Vec<(usize, Entry)> {
    let mut all = Vec::new();
    for i in 0..cluster.primaries {
        call(cluster, i, &["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
        call(cluster, i, &["SLOWLOG", "RESET"]);
        for n in 0..=i {
            call(cluster, i, &["ECHO", &format!("hello-{i}-{n}")]);
        }
        call(cluster, i, &["PING"]);
        call(cluster, i, &["CONFIG", "SET", "slowlog-log-slower-than", "-1"]);
        all.extend(entries(&call(cluster, i, &["SLOWLOG", "GET", "128"])).into_iter().map(|e| (i, e)));
    }
    all
}

#[test]
fn merged_slowlog_is_every_nodes_entries_newest_first() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 0);
    let home = Home::new();
    let mut expected = filled_slowlogs(&cluster);
    assert!(expected.len() >= 9, "{expected:?}");
    expected.sort_by(|(ia, a), (ib, b)| b.1.cmp(&a.1).then(b.2.cmp(&a.2)).then(ia.cmp(ib)).then(b.0.cmp(&a.0)));

    let merged = fanout(&home, &cluster, &["slowlog", "get", "128"], "");
    let mut lines = merged.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split_whitespace().collect();
    assert_eq!(header, ["node", "id", "time", "duration_us", "client", "client_name", "command"], "{merged}");
    let rows: Vec<Vec<String>> = lines.map(|l| l.split_whitespace().map(String::from).collect()).collect();
    let wanted: Vec<Vec<String>> = expected
        .iter()
        .map(|(i, (id, time, micros, args, client, name))| {
            let mut row =
                vec![label(&cluster, *i), id.to_string(), time.to_string(), micros.to_string(), client.clone()];
            row.extend((!name.is_empty()).then(|| name.clone()));
            row.extend(args.iter().cloned());
            row
        })
        .collect();
    assert_eq!(rows, wanted, "{merged}");

    // --json: an object keyed by node, each node's entries with named fields.
    let json: Value =
        serde_json::from_str(fanout(&home, &cluster, &["--json", "slowlog", "get", "128"], "").trim()).unwrap();
    for i in 0..cluster.primaries {
        let got = json[label(&cluster, i)].as_array().unwrap_or_else(|| panic!("{json}"));
        let own: Vec<&Entry> = expected.iter().filter(|(n, _)| *n == i).map(|(_, e)| e).collect();
        assert_eq!(got.len(), own.len(), "{json}");
        for (id, time, micros, args, client, name) in own {
            let found = got.iter().find(|e| e["id"] == *id).unwrap_or_else(|| panic!("id {id} in {json}"));
            assert_eq!(found["time"], *time);
            assert_eq!(found["duration_us"], *micros);
            assert_eq!(found["command"], serde_json::json!(args));
            assert_eq!(found["client"], client.as_str());
            assert_eq!(found["client_name"], name.as_str());
        }
    }

    // --csv: a header, then a row per entry in the same order.
    let csv = fanout(&home, &cluster, &["--csv", "slowlog", "get", "128"], "");
    let csv_lines: Vec<&str> = csv.lines().collect();
    assert_eq!(csv_lines.first(), Some(&"node,id,time,duration_us,client,client_name,command"));
    assert_eq!(csv_lines.len(), expected.len() + 1, "{csv}");
    for (line, (i, (id, ..))) in csv_lines.iter().skip(1).zip(&expected) {
        assert!(line.starts_with(&format!("{},{id},", label(&cluster, *i))), "{line}");
    }

    // COMMANDLOG's slow log (Valkey 8.1+) is the slow log: the same rows.
    if cluster.call(0, &["COMMANDLOG", "LEN", "slow"]).is_ok_and(|f| f.as_error().is_none()) {
        let commandlog = fanout(&home, &cluster, &["commandlog", "get", "128", "slow"], "");
        assert_eq!(commandlog, merged, "COMMANDLOG GET slow");
    }

    // LATENCY LATEST: a spike on two nodes, one list with a node column.
    for i in [1, 2] {
        call(&cluster, i, &["CONFIG", "SET", "latency-monitor-threshold", "1"]);
        call(&cluster, i, &["DEBUG", "SLEEP", "0.02"]);
        call(&cluster, i, &["CONFIG", "SET", "latency-monitor-threshold", "0"]);
    }
    let mut spikes: Vec<(i64, i64, usize, String, i64)> = Vec::new();
    for i in 0..cluster.primaries {
        for event in call(&cluster, i, &["LATENCY", "LATEST"]).as_items().unwrap() {
            let e = event.as_items().unwrap();
            let (time, latest) = (e[1].as_integer().unwrap(), e[2].as_integer().unwrap());
            spikes.push((time, latest, i, text(&e[0]), e[3].as_integer().unwrap()));
        }
    }
    assert!(spikes.len() >= 2, "{spikes:?}");
    spikes.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)).then(a.3.cmp(&b.3)));
    let latency = fanout(&home, &cluster, &["latency", "latest"], "");
    let rows: Vec<Vec<String>> = latency.lines().map(|l| l.split_whitespace().map(String::from).collect()).collect();
    let mut wanted = vec![["node", "event", "time", "latest_ms", "max_ms"].map(String::from).to_vec()];
    wanted.extend(spikes.iter().map(|(time, latest, i, event, max)| {
        vec![label(&cluster, *i), event.clone(), time.to_string(), latest.to_string(), max.to_string()]
    }));
    assert_eq!(rows, wanted, "{latency}");

    // --no-merge and `:set merge off`: each node's reply on its own, as before.
    let blocks = fanout(&home, &cluster, &["--no-merge", "slowlog", "get", "128"], "");
    assert!(!blocks.contains("duration_us") && blocks.lines().any(|l| l == "hello-2-2"), "{blocks}");
    let piped = fanout(&home, &cluster, &[], ":set merge off\nslowlog get 128\n:set merge on\nslowlog get 1\n");
    assert_eq!(piped.matches("duration_us").count(), 1, "{piped}");
    assert!(piped.lines().any(|l| l == "hello-1-1"), "{piped}");
}

/// A connection named `name` held open on a node; its CLIENT ID.
pub fn probe(cluster: &LocalCluster, index: usize, name: &str) -> (TcpStream, i64) {
    let mut stream = TcpStream::connect(("127.0.0.1", cluster.port(index))).unwrap();
    stream.write_all(format!("CLIENT SETNAME {name}\r\nCLIENT ID\r\n").as_bytes()).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert_eq!(line, "+OK\r\n");
    line.clear();
    reader.read_line(&mut line).unwrap();
    let id = line.trim().strip_prefix(':').and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{line}"));
    (stream, id)
}

fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    line.split(' ').find_map(|w| w.strip_prefix(name)?.strip_prefix('='))
}

#[test]
fn merged_client_list_and_info_table_match_each_node() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 0);
    let home = Home::new();
    let probes: Vec<(TcpStream, i64)> = (0..3).map(|i| probe(&cluster, i, &format!("probe-{i}"))).collect();
    let before: Vec<String> = (0..3).map(|i| text(&call(&cluster, i, &["CLIENT", "LIST"]))).collect();

    let merged = fanout(&home, &cluster, &["client", "list"], "");
    let mut order = Vec::new();
    for line in merged.lines() {
        let node = field(line, "node").unwrap_or_else(|| panic!("no node= in {line:?}"));
        let index = (0..3).find(|&i| label(&cluster, i) == node).unwrap_or_else(|| panic!("{node}"));
        let id: i64 = field(line, "id").unwrap().parse().unwrap();
        order.push((index, id));
        // Each line is the node's own line for that client, with node= in front.
        let own = line.split_once(' ').unwrap().1;
        if field(own, "cmd") != Some("client|list") {
            let theirs = before[index].lines().find(|l| field(l, "id") == Some(&id.to_string()));
            let theirs = theirs.unwrap_or_else(|| panic!("client {id} not in node {index}'s list:\n{}", before[index]));
            assert_eq!(field(own, "addr"), field(theirs, "addr"));
            assert_eq!(field(own, "name"), field(theirs, "name"));
        }
    }
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "by node, then id:\n{merged}");
    for (i, (_, id)) in probes.iter().enumerate() {
        let line = format!("node={} id={id} ", label(&cluster, i));
        let found = merged.lines().find(|l| l.starts_with(&line)).unwrap_or_else(|| panic!("{line} in\n{merged}"));
        assert_eq!(field(found, "name"), Some(format!("probe-{i}").as_str()));
    }
    // Every client of a node (but the connections reading the lists) is there.
    for (i, list) in before.iter().enumerate() {
        for theirs in list.lines().filter(|l| field(l, "cmd") != Some("client|list")) {
            let line = format!("node={} id={} ", label(&cluster, i), field(theirs, "id").unwrap());
            assert!(merged.lines().any(|l| l.starts_with(&line)), "{line} in\n{merged}");
        }
    }

    // INFO: a column per node, totals where a sum means something.
    let keys: String = (0..40).map(|n| format!("set key:{n} v\n")).collect();
    let seed = cluster.port(0).to_string();
    assert_eq!(rcli_run(&home, &["-c", "-p", &seed], &keys).code, Some(0));
    let table = fanout(&home, &cluster, &["info", "keyspace"], "") + &fanout(&home, &cluster, &["info", "server"], "");
    let row = |name: &str| -> Vec<String> {
        let line = table
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} in\n{table}"));
        line.split_whitespace().skip(1).map(String::from).collect()
    };
    let header: Vec<String> = table.lines().next().unwrap().split_whitespace().map(String::from).collect();
    let labels: Vec<String> = (0..3).map(|i| label(&cluster, i)).collect();
    assert_eq!(header[1..4], labels[..], "{table}");
    assert_eq!(header[4], "total");
    let mut sum = 0;
    let keys_row = row("db0.keys");
    for (i, shown_keys) in keys_row.iter().take(3).enumerate() {
        let info = text(&call(&cluster, i, &["INFO", "keyspace"]));
        let own: i64 = info_field(&info, "db0")
            .and_then(|v| v.split(',').find_map(|p| p.strip_prefix("keys=")?.parse().ok()))
            .unwrap_or(0);
        sum += own;
        let shown = if own == 0 { "-".to_string() } else { own.to_string() };
        assert_eq!(*shown_keys, shown, "{table}");
        let server = text(&call(&cluster, i, &["INFO", "server"]));
        assert_eq!(row("tcp_port")[i], info_field(&server, "tcp_port").unwrap());
        assert_eq!(row("run_id")[i], info_field(&server, "run_id").unwrap());
    }
    assert_eq!(sum, 40);
    assert_eq!(keys_row[3], "40", "{table}");
    assert_eq!(row("tcp_port").len(), 3, "no total of ports: {table}");
    drop(probes);
}

/// In the shell on a terminal: `:use primaries` merges, server text is escaped (an
/// argument holding an escape sequence is shown quoted), `:set merge off` gives the
/// per-node blocks back.
#[test]
fn the_shell_merges_after_use_primaries() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 0);
    let home = Home::new();
    for i in 0..cluster.primaries {
        call(&cluster, i, &["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
        call(&cluster, i, &["ECHO", &format!("\x1b[2Jnode-{i}")]);
        call(&cluster, i, &["CONFIG", "SET", "slowlog-log-slower-than", "-1"]);
    }
    let seed = cluster.port(0).to_string();
    let mut p = shell(&home, &["-c", "-p", &seed]);
    p.exp_string(&format!("127.0.0.1:{seed}> ")).unwrap();
    p.send_and_expect(":use primaries", &["keyless commands now go to all primaries"]);
    let rows: Vec<String> = (0..3).map(|i| format!("{}  ", label(&cluster, i))).collect();
    let echoes: Vec<String> = (0..3).map(|i| format!("ECHO \"\\x1b[2Jnode-{i}\"")).collect();
    settle();
    p.send_and_expect("slowlog get 1", &["node", "duration_us", "command"]);
    let out = p.exp_string(&format!("127.0.0.1:{seed}> ")).unwrap();
    for (row, echo) in rows.iter().zip(&echoes) {
        assert!(
            out.lines().any(|l| l.starts_with(row.as_str()) && l.ends_with(echo.as_str())),
            "{row}…{echo} in {out:?}"
        );
    }
    assert!(!out.contains("\x1b[2J"), "no escape sequence from a server reaches the terminal: {out:?}");
    settle();
    p.send_line(":set merge off").unwrap();
    p.exp_string(&format!("127.0.0.1:{seed}> ")).unwrap();
    settle();
    p.send_and_expect("slowlog get 1", &[&format!("{} (primary):", label(&cluster, 0)), "1) 1) (integer)"]);
}
