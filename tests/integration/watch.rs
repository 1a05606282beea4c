//! Cluster-wide MONITOR and keyspace notifications with `-c` on real clusters: every
//! primary's commands labelled with the right node, through a killed primary's
//! failover; rcli's memory bounded and the dropped messages counted while its stdout
//! is not read; keyspace events once per write from every primary, again after a
//! CLUSTER FAILOVER, with no duplicates; the `notify-keyspace-events` hint on a
//! terminal and silence on a pipe; the shell's MONITOR, with `:use all` too, and Ctrl-C.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use rcli::cluster::slot::slot_of;
use rcli::endpoint::Endpoint;
use rcli::modes::sandbox::call;

use crate::util::*;

/// rcli with `args`, stdout a pipe (read by [`lines_of`] when the test wants).
fn spawn(home: &Home, args: &[&str]) -> Child {
    let mut cmd = rcli(home);
    cmd.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.spawn().expect("spawn rcli")
}

/// The lines of the child's stdout, from a thread.
fn lines_of(child: &mut Child) -> Receiver<String> {
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// The next line, within 30 s.
fn next(lines: &Receiver<String>) -> String {
    lines.recv_timeout(Duration::from_secs(30)).expect("a line from rcli within 30 s")
}

/// Reads lines until one satisfies `wanted` (at most 30 s); returns it.
fn until(lines: &Receiver<String>, what: &str, wanted: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if wanted(&line) => return line,
            Ok(_) => {}
            Err(_) => panic!("no line with {what} within 30 s"),
        }
    }
}

/// The primaries, as the first live node sees them.
fn primaries(cluster: &LocalCluster) -> Vec<Endpoint> {
    let index = (0..cluster.nodes.len()).find(|&i| cluster.nodes[i].is_running()).unwrap();
    topology(cluster, index).primaries().iter().map(|n| n.endpoint.clone()).collect()
}

/// The slot owner of `key` as the live node `index` sees it.
fn owner_seen_by(cluster: &LocalCluster, index: usize, key: &str) -> Endpoint {
    topology(cluster, index).owner(slot_of(key.as_bytes())).unwrap().clone()
}

/// The `CLIENT LIST` lines of `node`'s MONITOR clients.
fn monitors(node: &Endpoint) -> Vec<String> {
    text(&call(node, &["CLIENT", "LIST"]).unwrap_or(rcli::protocol::resp::Frame::Null))
        .lines()
        .filter(|l| l.split(' ').any(|f| f.strip_prefix("flags=").is_some_and(|v| v.contains('O'))))
        .map(str::to_string)
        .collect()
}

/// Subscribers of `channel` on `node` (PUBSUB NUMSUB is per node).
fn subscribers(node: &Endpoint, channel: &str) -> i64 {
    call(node, &["PUBSUB", "NUMSUB", channel])
        .ok()
        .and_then(|f| f.as_items().and_then(|i| i.get(1)).and_then(rcli::protocol::resp::Frame::as_integer))
        .unwrap_or(-1)
}

/// A key whose slot `owner` serves, with `prefix`.
fn key_on(cluster: &LocalCluster, owner: &Endpoint, prefix: &str) -> String {
    (0..).map(|i| format!("{prefix}{i}")).find(|k| owner_of(cluster, k).0 == *owner).unwrap()
}

fn regex_escape(text: &str) -> String {
    text.replace('.', r"\.")
}

fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn monitor_with_c_labels_every_primary_and_follows_a_failover() {
    if !have_redis() {
        return;
    }
    let mut cluster = cluster(3, 1);
    let home = Home::new();
    let seed = cluster.port(0).to_string();
    let mut child = spawn(&home, &["-c", "-p", &seed, "monitor"]);
    let lines = lines_of(&mut child);
    let primaries = primaries(&cluster);
    wait_for("a MONITOR on every primary", Duration::from_secs(30), || {
        primaries.iter().all(|p| monitors(p).len() == 1)
    });
    assert_eq!(next(&lines), "OK", "MONITOR's reply, once");
    for primary in &primaries {
        let key = key_on(&cluster, primary, "mon:");
        call(primary, &["SET", &key, &format!("from-{primary}")]).unwrap();
        let line = until(&lines, &key, |l| l.contains(&format!("\"SET\" \"{key}\"")));
        assert!(line.starts_with(&format!("[{primary}] ")), "labelled with its node: {line}");
        assert!(line.ends_with(&format!("\"from-{primary}\"")), "{line}");
    }

    // A primary killed: its replica takes over, and rcli streams from it.
    let victim = primaries[1].clone();
    let victim_index = (0..cluster.nodes.len()).find(|&i| cluster.endpoint(i) == victim).unwrap();
    let survivor =
        (0..cluster.nodes.len()).find(|&i| i != victim_index && cluster.endpoint(i) == primaries[0]).unwrap();
    let key = key_on(&cluster, &victim, "after:");
    cluster.nodes[victim_index].kill();
    wait_for("the replica to take over", Duration::from_secs(30), || {
        call(&cluster.endpoint(survivor), &["CLUSTER", "SHARDS"]).is_ok()
            && owner_seen_by(&cluster, survivor, &key) != victim
    });
    let promoted = owner_seen_by(&cluster, survivor, &key);
    wait_for("a MONITOR on the promoted replica", Duration::from_secs(30), || monitors(&promoted).len() == 1);
    write_ok(&promoted, &["SET", &key, "after-failover"]);
    let line = until(&lines, &key, |l| l.contains(&format!("\"SET\" \"{key}\" \"after-failover\"")));
    assert!(line.starts_with(&format!("[{promoted}] ")), "{line}");
    stop(child);
}

/// Sends `count` ECHO commands of `size` bytes to `node`, pipelined, reading the
/// replies as they come.
fn pump(node: &Endpoint, count: usize, size: usize) {
    let Endpoint::Tcp { host, port } = node else { panic!("a TCP node") };
    let mut stream = TcpStream::connect((host.as_str(), *port)).unwrap();
    let reading = stream.try_clone().unwrap();
    let reader = std::thread::spawn(move || {
        let mut reader = BufReader::new(reading);
        let mut line = Vec::new();
        for _ in 0..count {
            // `$size\r\n` then the payload line.
            for _ in 0..2 {
                line.clear();
                reader.read_until(b'\n', &mut line).unwrap();
            }
        }
    });
    let payload = "x".repeat(size);
    let command = format!("*2\r\n$4\r\nECHO\r\n${size}\r\n{payload}\r\n");
    let batch = command.repeat(100);
    for _ in 0..count / 100 {
        stream.write_all(batch.as_bytes()).unwrap();
    }
    reader.join().unwrap();
}

/// The peak RSS (VmHWM, KB) of a running process.
fn peak_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn monitor_memory_stays_bounded_when_stdout_is_not_read() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 0);
    let home = Home::new();
    let seed = cluster.port(0).to_string();
    let mut child = spawn(&home, &["-c", "-p", &seed, "monitor"]);
    let primaries = primaries(&cluster);
    wait_for("a MONITOR on every primary", Duration::from_secs(30), || {
        primaries.iter().all(|p| monitors(p).len() == 1)
    });
    // 3 × 60,000 commands of 1 KB: 180 MB of MONITOR lines while nobody reads rcli's
    // stdout (a pipe of 64 KB).
    let pumps: Vec<_> =
        primaries.iter().cloned().map(|node| std::thread::spawn(move || pump(&node, 60_000, 1000))).collect();
    for pump in pumps {
        pump.join().unwrap();
    }
    // Every node has handed its MONITOR output to the socket: rcli read it (all but
    // what the kernel's buffers hold, a few MB).
    wait_for("the MONITOR output to leave the servers", Duration::from_secs(60), || {
        primaries.iter().all(|p| monitors(p).iter().all(|l| l.contains(" omem=0 ")))
    });
    let peak_mb = peak_rss_kb(child.id()) / 1024;
    eprintln!("rcli's peak RSS after 180 MB of MONITOR lines into an unread pipe: {peak_mb} MB");
    assert!(peak_mb < 100, "rcli grew to {peak_mb} MB while its stdout was not read");
    // Reading stdout now: the count of what could not be printed.
    let lines = lines_of(&mut child);
    let told = until(&lines, "the dropped count", |l| l.contains("dropped: the output could not keep up"));
    let count: u64 = told.trim_start_matches('(').split(' ').next().unwrap().parse().unwrap();
    assert!(count > 1000, "{told}");
    stop(child);
}

/// The keyspace messages read from rcli's raw output (4 lines each: kind, channel,
/// key, node) until `n` have come; the key → node of each, and every key's count.
fn events(lines: &Receiver<String>, n: usize, seen: &mut HashMap<String, Vec<String>>) {
    let mut got = 0;
    while got < n {
        let kind = next(lines);
        assert_eq!(kind, "message", "a message at a time");
        assert_eq!(next(lines), "__keyevent@0__:set");
        let key = next(lines);
        let node = next(lines);
        seen.entry(key).or_default().push(node);
        got += 1;
    }
}

#[test]
fn keyspace_events_with_c_come_once_from_every_primary_and_after_a_failover() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 1);
    for i in 0..cluster.nodes.len() {
        cluster.call(i, &["CONFIG", "SET", "notify-keyspace-events", "KEA"]).unwrap();
    }
    let home = Home::new();
    let seed = cluster.port(0).to_string();
    let channel = "__keyevent@0__:set";
    let mut child = spawn(&home, &["-c", "-p", &seed, "subscribe", channel]);
    let lines = lines_of(&mut child);
    let primaries = primaries(&cluster);
    wait_for("a subscription on every primary", Duration::from_secs(30), || {
        primaries.iter().all(|p| subscribers(p, channel) == 1)
    });
    // The confirmation, once.
    assert_eq!([next(&lines), next(&lines), next(&lines)], ["subscribe", channel, "1"]);

    let keys: Vec<String> = (0..60).map(|i| format!("ks:{i}")).collect();
    let owners: Vec<Endpoint> = keys.iter().map(|k| owner_of(&cluster, k).0).collect();
    for p in &primaries {
        assert!(owners.contains(p), "the writes reach every primary");
    }
    for (key, owner) in keys.iter().zip(&owners) {
        write_ok(owner, &["SET", key, "v"]);
    }
    let mut seen = HashMap::new();
    events(&lines, keys.len(), &mut seen);
    for (key, owner) in keys.iter().zip(&owners) {
        assert_eq!(seen.get(key), Some(&vec![owner.to_string()]), "{key}: once, from its primary");
    }

    // A clean failover: the replica of the first key's primary takes over.
    let old = owners[0].clone();
    let replica = topology(&cluster, 0).replicas(slot_of(keys[0].as_bytes()))[0].endpoint.clone();
    replicated(&old);
    assert_eq!(text(&call(&replica, &["CLUSTER", "FAILOVER"]).unwrap()), "OK");
    let role = |node: &Endpoint| text(&call(node, &["ROLE"]).unwrap().as_items().unwrap()[0].clone());
    wait_for("the failover", Duration::from_secs(30), || role(&replica) == "master" && role(&old) == "slave");
    // rcli reads the map from nodes it does not stream first (here a replica), whose
    // view follows the failover by gossip: slow on a loaded machine (30 s was once too
    // little on the Redis pass of a full CI run).
    wait_for("rcli to follow it", Duration::from_secs(90), || {
        subscribers(&replica, channel) == 1 && subscribers(&old, channel) == 0
    });
    let after: Vec<String> = (0..60).map(|i| format!("ks2:{i}")).collect();
    let owners_after: Vec<Endpoint> = after.iter().map(|k| owner_seen_by(&cluster, 0, k)).collect();
    assert!(owners_after.contains(&replica) && !owners_after.contains(&old), "{owners_after:?}");
    for (key, owner) in after.iter().zip(&owners_after) {
        write_ok(owner, &["SET", key, "v"]);
    }
    events(&lines, after.len(), &mut seen);
    for (key, owner) in after.iter().zip(&owners_after) {
        assert_eq!(seen.get(key), Some(&vec![owner.to_string()]), "{key}: once, from its new primary");
    }
    let now_primaries: Vec<Endpoint> = topology(&cluster, 0).primaries().iter().map(|n| n.endpoint.clone()).collect();
    // An empty slot moves between two primaries (CLUSTER SETSLOT … NODE on each primary,
    // the new owner first): its next write's event comes once, from the new owner.
    let moved = (0..)
        .map(|i| format!("moved:{i}"))
        .find(|k| {
            let owner = owner_seen_by(&cluster, 0, k);
            let slot = slot_of(k.as_bytes()).to_string();
            call(&owner, &["CLUSTER", "COUNTKEYSINSLOT", &slot]).ok().and_then(|f| f.as_integer()) == Some(0)
        })
        .unwrap();
    let from = owner_seen_by(&cluster, 0, &moved);
    let to = topology(&cluster, 0).primaries().iter().map(|n| n.endpoint.clone()).find(|p| *p != from).unwrap();
    let to_id = text(&call(&to, &["CLUSTER", "MYID"]).unwrap());
    let slot = slot_of(moved.as_bytes()).to_string();
    // Opened on both sides first, as a move does: the new owner's SETSLOT NODE then
    // bumps its epoch, so the old owner's gossip cannot take the slot back meanwhile.
    let from_id = text(&call(&from, &["CLUSTER", "MYID"]).unwrap());
    for (node, state, peer) in [(&to, "IMPORTING", &from_id), (&from, "MIGRATING", &to_id)] {
        let reply = call(node, &["CLUSTER", "SETSLOT", &slot, state, peer]).unwrap();
        assert_eq!(text(&reply), "OK", "{node}: {reply:?}");
    }
    let mut order: Vec<Endpoint> = vec![to.clone(), from.clone()];
    order.extend(now_primaries.iter().filter(|e| **e != to && **e != from).cloned());
    for node in &order {
        let reply = call(node, &["CLUSTER", "SETSLOT", &slot, "NODE", &to_id]).unwrap();
        assert_eq!(text(&reply), "OK", "{node}: {reply:?}");
    }
    write_ok(&to, &["SET", &moved, "v"]);
    events(&lines, 1, &mut seen);
    assert_eq!(seen.get(&moved), Some(&vec![to.to_string()]), "{moved}");

    // Nothing more came for any of them: a last write on each primary arrives next.
    for p in &now_primaries {
        let key = (0..).map(|i| format!("last:{i}")).find(|k| owner_seen_by(&cluster, 0, k) == *p).unwrap();
        write_ok(p, &["SET", &key, "v"]);
        events(&lines, 1, &mut seen);
        assert_eq!(seen.get(&key), Some(&vec![p.to_string()]), "{key}");
    }
    assert_eq!(seen.values().map(Vec::len).sum::<usize>(), 124, "{seen:?}");
    stop(child);
}

#[test]
fn the_notify_keyspace_events_hint_on_a_terminal_and_nothing_on_a_pipe() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 0);
    let primaries = primaries(&cluster);
    // One primary sends events, the two others do not (the server's default is "").
    call(&primaries[0], &["CONFIG", "SET", "notify-keyspace-events", "KEA"]).unwrap();
    let home = Home::new();
    let seed = cluster.port(0).to_string();
    let mut p = shell(&home, &["-c", "-p", &seed]);
    p.exp_string("> ").unwrap();
    settle();
    p.send_line("psubscribe __key*__:*").unwrap();
    p.exp_string("Reading messages... (press Ctrl-C to quit)").unwrap();
    let (_, hint) = p.exp_regex(r"-> no keyspace events come from [^\r\n]*turns them on").unwrap();
    let hint = hint.replace("\r\n", "");
    assert!(hint.contains(&format!("{} (\"\")", primaries[1])), "{hint}");
    assert!(hint.contains(&format!("{} (\"\")", primaries[2])), "{hint}");
    assert!(!hint.contains(&primaries[0].to_string()), "{hint}");
    assert!(hint.contains("CONFIG SET notify-keyspace-events KEA"), "{hint}");
    // Events of the primary that sends them, labelled.
    let key = key_on(&cluster, &primaries[0], "hint:");
    wait_for("the pattern on every primary", Duration::from_secs(30), || {
        call(&primaries[0], &["PUBSUB", "NUMPAT"]).ok().and_then(|f| f.as_integer()) == Some(1)
    });
    call(&primaries[0], &["SET", &key, "v"]).unwrap();
    p.exp_string(&format!("\"__keyspace@0__:{key}\"")).unwrap();
    p.exp_string(&format!("\"{}\"", primaries[0])).unwrap();
    p.send_control('c').unwrap();
    p.exp_regex(r"127\.0\.0\.1:\d+> ").unwrap();
    settle();
    p.send_line("quit").unwrap();
    p.exp_eof().unwrap();

    // On a pipe, stderr stays empty.
    let mut child = spawn(&home, &["-c", "-p", &seed, "psubscribe", "__key*__:*"]);
    let lines = lines_of(&mut child);
    assert_eq!([next(&lines), next(&lines), next(&lines)], ["psubscribe", "__key*__:*", "1"]);
    wait_for("the pattern on every primary", Duration::from_secs(30), || {
        primaries.iter().all(|p| call(p, &["PUBSUB", "NUMPAT"]).ok().and_then(|f| f.as_integer()) == Some(1))
    });
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stderr), "", "nothing on a non-terminal stderr");
}

#[test]
fn the_shells_monitor_with_c_shows_every_primary_then_with_use_all_every_node() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 1);
    let home = Home::new();
    let seed = cluster.port(0).to_string();
    let primaries = primaries(&cluster);
    let mut p = shell(&home, &["-c", "-p", &seed]);
    p.exp_string(&format!("127.0.0.1:{seed}> ")).unwrap();
    settle();
    p.send_line("monitor").unwrap();
    p.exp_string("Reading messages... (press Ctrl-C to quit)").unwrap();
    wait_for("a MONITOR on every primary", Duration::from_secs(30), || {
        primaries.iter().all(|p| monitors(p).len() == 1)
    });
    for primary in &primaries {
        call(primary, &["ECHO", &format!("hello-{primary}")]).unwrap();
        p.exp_string(&format!("[{primary}] ")).unwrap();
        p.exp_string(&format!("\"ECHO\" \"hello-{primary}\"")).unwrap();
    }
    p.send_control('c').unwrap();
    p.exp_string(&format!("127.0.0.1:{seed}> ")).unwrap();
    wait_for("every MONITOR to end", Duration::from_secs(10), || primaries.iter().all(|p| monitors(p).is_empty()));
    // `:use all`: the replicas too, each showing what it replicates under its own name.
    settle();
    p.send_line(":use all").unwrap();
    settle();
    p.send_line("monitor").unwrap();
    p.exp_string("Reading messages... (press Ctrl-C to quit)").unwrap();
    let everyone: Vec<Endpoint> = (0..cluster.nodes.len()).map(|i| cluster.endpoint(i)).collect();
    wait_for("a MONITOR on every node", Duration::from_secs(30), || everyone.iter().all(|n| monitors(n).len() == 1));
    let key = "{watch}replicated";
    let (owner, _) = owner_of(&cluster, key);
    let replica = topology(&cluster, 0).replicas(slot_of(key.as_bytes()))[0].endpoint.clone();
    call(&owner, &["SET", key, "both"]).unwrap();
    let line = p.exp_regex(&format!(r#"\[{}\] [^\r\n]*"both""#, regex_escape(&replica.to_string()))).unwrap().1;
    assert!(line.contains(key), "{line}");
    p.send_control('c').unwrap();
    p.exp_regex(r"127\.0\.0\.1:\d+> ").unwrap();
    wait_for("every MONITOR to end", Duration::from_secs(10), || everyone.iter().all(|n| monitors(n).is_empty()));
    settle();
    p.send_line("quit").unwrap();
    p.exp_eof().unwrap();
}
