//! Where `--rdb` and `--cluster backup` write, against scripted fake nodes (issue 19,
//! defects 4 and 5): a node announcing a hostile id or host in CLUSTER SHARDS, CLUSTER
//! SLOTS or CLUSTER NODES never names a file outside DIR (one line naming the node,
//! exit 1); a transfer the server cuts mid-way leaves no temporary file behind, and the
//! error names the node once.

use std::path::Path;
use std::time::Duration;

use crate::fake::{self, Act, FakeServer};
use crate::util::*;

const ID: &str = "0123456789abcdef0123456789abcdef01234567";
const HOSTILE_ID: &str = "x/../../adv-pwn-escape";

/// A payload the fake sends whole: an RDB header and some bytes.
fn payload() -> Vec<u8> {
    let body = [&b"REDIS0011"[..], &[0xfau8; 200][..]].concat();
    [format!("${}\r\n", body.len()).into_bytes(), body].concat()
}

/// A payload announced 100,000 bytes long and cut after 1,000: the connection closes.
fn cut_payload() -> Act {
    let body = [&b"REDIS0011"[..], &[0xfau8; 991][..]].concat();
    Act::ReplyAndClose([b"$100000\r\n".to_vec(), body].concat())
}

/// The replica's side of the wire: REPLCONF answered, SYNC answered by `sync`.
fn replication(argv: &[Vec<u8>], sync: impl Fn() -> Act) -> Option<Act> {
    match fake::name(argv).as_str() {
        "REPLCONF" => Some(fake::simple("OK")),
        "SYNC" => Some(sync()),
        _ => None,
    }
}

/// CLUSTER SLOTS with one primary owning every slot.
fn slots_reply(host: &str, port: u16, id: &str) -> Act {
    let b = |t: &str| format!("${}\r\n{t}\r\n", t.len());
    Act::Reply(format!("*1\r\n*3\r\n:0\r\n:16383\r\n*3\r\n{}:{port}\r\n{}", b(host), b(id)).into_bytes())
}

/// A fake cluster node whose only primary is announced as `host` with node id `id`,
/// in CLUSTER SHARDS or (when `shards` is false) CLUSTER SLOTS only; SYNC sends a whole
/// payload.
fn announcing(host: &'static str, id: &'static str, shards: bool) -> FakeServer {
    FakeServer::with_port(move |port| {
        move |argv: &[Vec<u8>]| {
            if let Some(act) = replication(argv, || Act::Reply(payload())) {
                return act;
            }
            match fake::name2(argv).as_str() {
                "CLUSTER SHARDS" if shards => fake::shards_reply(id, host, u64::from(port), "online"),
                "CLUSTER SLOTS" => slots_reply(host, port, id),
                _ => fake::error("ERR unknown command"),
            }
        }
    })
}

/// Every file under `root`, as paths relative to it.
fn files_under(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().filter_map(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path.clone());
            }
            found.push(path.strip_prefix(root).unwrap().display().to_string());
        }
    }
    found.sort();
    found
}

fn run(home: &Home, args: &[&str]) -> Output {
    let mut cmd = rcli(home);
    cmd.args(args);
    run_with(cmd, b"", Duration::from_secs(30))
}

/// `--rdb DIR -c` against nodes announcing a hostile id (CLUSTER SHARDS, then CLUSTER
/// SLOTS) or host: the node is refused with one escaped line naming it, exit 1, and
/// nothing is written anywhere. DIR holds the directory the old rcli's path climbed
/// out through, so a file written outside DIR would be found in `root`.
#[test]
fn rdb_with_c_never_writes_outside_its_directory() {
    let cases = [
        ("SHARDS id", announcing("127.0.0.1", HOSTILE_ID, true), format!("its node id \"{HOSTILE_ID}\"")),
        ("SLOTS id", announcing("127.0.0.1", HOSTILE_ID, false), format!("its node id \"{HOSTILE_ID}\"")),
        ("SHARDS host", announcing("127.0.0.1/../..", ID, true), "its host \"127.0.0.1/../..\"".to_string()),
    ];
    for (what, node, reason) in cases {
        let home = Home::new();
        let root = home.path.join("root");
        let dir = root.join("dir");
        std::fs::create_dir_all(dir.join(format!("redis-node-127.0.0.1-{}-x", node.port))).unwrap();
        let before = files_under(&root);
        let out = run(&home, &["-c", "-p", &node.port.to_string(), "--rdb", dir.to_str().unwrap()]);
        assert_eq!(files_under(&root), before, "{what}: nothing written\n{}", out.stderr);
        assert_eq!(out.code, Some(1), "{what}: {}", out.stderr);
        let refusals: Vec<&str> = out.stderr.lines().filter(|l| l.contains("not saved")).collect();
        assert_eq!(refusals.len(), 1, "{what}: {}", out.stderr);
        let named = format!(":{}: not saved: ", node.port);
        assert!(refusals[0].contains(&reason) && refusals[0].contains(&named), "{what}: {}", out.stderr);
    }
}

/// A fake node the cluster manager loads: one master owning every slot (and, from
/// `friend`, another CLUSTER NODES line); SYNC answered by `sync`.
fn manager_node(friend: &'static str, sync: fn() -> Act) -> FakeServer {
    FakeServer::with_port(move |port| {
        move |argv: &[Vec<u8>]| {
            if let Some(act) = replication(argv, sync) {
                return act;
            }
            match fake::name2(argv).as_str() {
                "INFO CLUSTER" => fake::bulk("# Cluster\r\ncluster_enabled:1\r\n"),
                "CLUSTER NODES" => fake::bulk(&format!(
                    "{ID} 127.0.0.1:{port}@{bus} myself,master - 0 0 1 connected 0-16383\n{friend}",
                    bus = u32::from(port) + 10000
                )),
                "DBSIZE" => Act::Reply(b":0\r\n".to_vec()),
                _ => fake::error("ERR unknown command"),
            }
        }
    })
}

/// `--cluster backup` whose master cuts the transfer: exit 1, nodes.json written, no
/// temporary file left, and every line naming the failure names the node once; a
/// CLUSTER NODES line with a hostile id or host names no file either.
#[test]
fn backup_cut_mid_transfer_leaves_no_temporary_file_and_names_the_node_once() {
    let hostile = "abc/../../adv-pwn-escape 127.0.0.1/../..:1@11 master - 0 0 2 connected\n\
                   fedcba9876543210fedcba9876543210fedcba98 evil/../../adv:1@11 master - 0 0 3 connected\n";
    let node = manager_node(hostile, cut_payload);
    let home = Home::new();
    let root = home.path.join("root");
    let dir = root.join("dir");
    std::fs::create_dir_all(&dir).unwrap();
    let addr = format!("127.0.0.1:{}", node.port);
    let out = run(&home, &["--cluster", "backup", &addr, dir.to_str().unwrap()]);
    assert_eq!(out.code, Some(1), "{}\n{}", out.text(), out.stderr);
    assert_eq!(files_under(&root), vec!["dir".to_string(), "dir/nodes.json".to_string()], "{}", out.stderr);
    let cut = format!("{addr}: Server closed the connection");
    assert!(out.stderr.lines().any(|l| l == cut), "{}", out.stderr);
    assert!(out.stderr.lines().any(|l| l == format!("rcli:   {cut}")), "{}", out.stderr);
    assert!(!out.stderr.contains(&format!("{addr}: {addr}")), "the node named twice: {}", out.stderr);
}

/// `--rdb FILE` and `--rdb DIR -c` cut mid-transfer: exit 1, no temporary file, the
/// node named once.
#[test]
fn rdb_cut_mid_transfer_leaves_no_temporary_file() {
    let node = FakeServer::with_port(|port| {
        move |argv: &[Vec<u8>]| {
            if let Some(act) = replication(argv, cut_payload) {
                return act;
            }
            match fake::name2(argv).as_str() {
                "CLUSTER SHARDS" => fake::shards_reply(ID, "127.0.0.1", u64::from(port), "online"),
                _ => fake::error("ERR unknown command"),
            }
        }
    });
    let home = Home::new();
    let dir = home.path.join("dir");
    std::fs::create_dir_all(&dir).unwrap();
    let port = node.port.to_string();
    let file = dir.join("dump.rdb");
    let out = run(&home, &["-p", &port, "--rdb", file.to_str().unwrap()]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert_eq!(out.stderr.lines().last(), Some(format!("127.0.0.1:{port}: Server closed the connection").as_str()));
    let clustered = run(&home, &["-c", "-p", &port, "--rdb", dir.to_str().unwrap()]);
    assert_eq!(clustered.code, Some(1), "{}", clustered.stderr);
    assert_eq!(
        clustered.stderr.lines().last(),
        Some(format!("127.0.0.1:{port}: Server closed the connection").as_str()),
        "{}",
        clustered.stderr
    );
    assert!(files_under(&dir).is_empty(), "{:?}", files_under(&dir));
}
