//! Side by side with redis-cli 7.0.15 (valkey-cli 8.1 on the Valkey pass): `backup` (S8), `set-timeout` and `import` (S9),
//! del-node of a failed node; and rcli's own `--cluster-dry-run` and `--cluster-json`.

use std::time::Duration;

use crate::eqnice;
use crate::manager::*;
use crate::util::*;

/// The file `backup` writes for node `i` of `side`: rcli and redis-cli name it
/// `redis-node-…`, valkey-cli 8 `valkey-node-…` (docs/compatibility.md).
fn rdb_file(side: &Side, i: usize) -> String {
    let prefix = if side.tool == Tool::RedisCli && yardstick() == Yardstick::ValkeyCli { "valkey" } else { "redis" };
    format!("{prefix}-node-127.0.0.1-{}-{}.rdb", side.port(i), side.ids[i])
}

fn sorted(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines.sort();
    lines
}

#[test]
fn backup_writes_exact_rdb_files_and_nodes_json() {
    if !have_redis() {
        return;
    }
    let _one = serial();
    let pair = Pair::created(6);
    pair.r.load(&pair.home, 2000);
    pair.x.load(&pair.home, 2000);
    pair.r.wait_healthy(6);
    pair.x.wait_healthy(6);
    let dirs = [pair.home.path.join("bk-r"), pair.home.path.join("bk-x")];
    for (side, dir) in [&pair.r, &pair.x].iter().zip(&dirs) {
        std::fs::create_dir_all(dir).unwrap();
        // A bigger, older file where master 0's RDB goes.
        let stale = dir.join(rdb_file(side, 0));
        std::fs::write(&stale, vec![b'x'; 2 << 20]).unwrap();
    }
    let r = pair.r.run(&pair.home, &["--cluster", "backup", "{p0}", dirs[0].to_str().unwrap()], "");
    let x = pair.x.run(&pair.home, &["--cluster", "backup", "{p0}", dirs[1].to_str().unwrap()], "");
    assert_eq!((r.code, x.code), (Some(0), Some(0)), "{}\n{}", x.text(), x.stderr);
    let (rn, xn) = pair.normalized(&r, &x);
    let rn = rn.replace(dirs[0].to_str().unwrap(), "DIR");
    let xn = xn.replace(dirs[1].to_str().unwrap(), "DIR");
    eqnice!(sorted(&canon(&rn)).join("\n"), sorted(&canon(&xn)).join("\n"));
    assert!(xn.ends_with("Saving cluster configuration to: DIR/nodes.json\n[OK] Backup created into: DIR\n"), "{xn}");
    // The RDB header (and so its version) the yardstick's files start with.
    let header: Vec<u8> = std::fs::read(dirs[0].join(rdb_file(&pair.r, 1))).unwrap().into_iter().take(9).collect();
    assert!(header.starts_with(b"REDIS") || header.starts_with(b"VALKEY"), "{header:?}");
    for (i, (side, dir)) in [&pair.r, &pair.x].iter().zip(&dirs).enumerate() {
        let json: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("nodes.json")).unwrap()).unwrap();
        let nodes = json.as_array().unwrap();
        assert_eq!(nodes.len(), 6);
        let first = nodes.iter().find(|n| n["port"] == side.port(0)).unwrap();
        assert_eq!(first["slots"], serde_json::json!([[0, 5460]]));
        assert_eq!(first["replicate"], serde_json::Value::Null);
        let stale_size = std::fs::metadata(dir.join(rdb_file(side, 0))).unwrap().len();
        if i == 0 {
            assert_eq!(stale_size, 2 << 20, "redis-cli leaves the old file's tail");
            continue;
        }
        for m in 0..3 {
            let name = rdb_file(side, m);
            let bytes = std::fs::read(dir.join(&name)).unwrap();
            // The yardstick's header, except where the server writes two formats:
            // Valkey 9 writes its own (`VALKEY080`) for a disk-based SYNC (the
            // yardstick's) and `REDIS0011` for the diskless RDB-only transfer rcli asks
            // for. redis-check-rdb and a server loading each file check it below.
            let start: Vec<u8> = bytes.iter().take(9).copied().collect();
            let rdb = bytes.starts_with(&header)
                || (header.starts_with(b"VALKEY") && (bytes.starts_with(b"REDIS0") || bytes.starts_with(b"VALKEY")));
            assert!(
                rdb,
                "{name}: {:?}, the yardstick's: {:?}",
                String::from_utf8_lossy(&start),
                String::from_utf8_lossy(&header)
            );
            let check = std::process::Command::new("redis-check-rdb").arg(dir.join(&name)).output().unwrap();
            assert!(check.status.success(), "redis-check-rdb {name}: {}", String::from_utf8_lossy(&check.stdout));
            let server = Standalone::start(&["--dir", dir.to_str().unwrap(), "--dbfilename", &name]).unwrap();
            let keys = text_or_int(
                &rcli::modes::sandbox::call(&rcli::endpoint::Endpoint::tcp("127.0.0.1", server.port()), &["DBSIZE"])
                    .unwrap(),
            );
            assert_eq!(keys, side.cmd(m, &["DBSIZE"]), "{name} holds the master's keys");
        }
        assert!(x.stderr.contains("Transfer finished with success after"), "{}", x.stderr);
    }
}

fn text_or_int(frame: &rcli::protocol::resp::Frame) -> String {
    frame.as_integer().map(|n| n.to_string()).unwrap_or_else(|| text(frame))
}

#[test]
fn set_timeout_import_and_del_node_of_a_failed_node() {
    if !have_redis() {
        return;
    }
    let _one = serial();
    let pair = Pair::created(6);
    let (r, x) = pair.both(&["--cluster", "set-timeout", "{p0}", "3000"], "");
    assert_eq!((r.code, x.code), (Some(0), Some(0)));
    let (rn, xn) = pair.normalized(&r, &x);
    eqnice!(sorted(&rn).join("\n"), sorted(&xn).join("\n"));
    assert!(xn.ends_with(">>> New node timeout set. 6 OK, 0 ERR.\n"), "{xn}");
    for side in [&pair.r, &pair.x] {
        assert!(side.cmd(3, &["CONFIG", "GET", "cluster-node-timeout"]).contains("3000"));
        let conf = std::fs::read_to_string(side.nodes.config_file(3)).unwrap();
        assert!(conf.contains("cluster-node-timeout 3000"), "{conf}");
    }
    // import from two identical standalone servers.
    let sources = [Standalone::start(&[]).unwrap(), Standalone::start(&[]).unwrap()];
    let input: String = (0..100).map(|i| format!("SET imp:{i} v{i}\n")).collect();
    for s in &sources {
        rcli_run(&pair.home, &["-p", &s.port().to_string()], &input);
    }
    let import = |side: &Side, source: &Standalone, extra: &[&str]| {
        let from = format!("127.0.0.1:{}", source.port());
        let args = [&["--cluster", "import", "{p0}", "--cluster-from", from.as_str()][..], extra].concat();
        let out = side.run(&pair.home, &args, "");
        let normalized = side.normalize(&out.text()).replace(&source.port().to_string(), "SRC");
        (out, normalized)
    };
    let (r, rn) = import(&pair.r, &sources[0], &["--cluster-copy"]);
    let (x, xn) = import(&pair.x, &sources[1], &["--cluster-copy"]);
    assert_eq!((r.code, x.code), (Some(0), Some(0)), "{xn}");
    eqnice!(sorted(&canon(&rn)).join("\n"), sorted(&canon(&xn)).join("\n"));
    assert_eq!(xn.lines().filter(|l| l.starts_with("Migrating imp:") && l.ends_with(": OK")).count(), 100);
    assert!(xn.contains("*** Importing 100 keys from DB 0\n"), "{xn}");
    // Again without --cluster-replace: the first key already exists (BUSYKEY), exit 1.
    let (r, rn) = import(&pair.r, &sources[0], &["--cluster-copy"]);
    let (x, xn) = import(&pair.x, &sources[1], &["--cluster-copy"]);
    assert_eq!((r.code, x.code), (Some(1), Some(1)));
    let busy = "Source 127.0.0.1:SRC replied with error:\nERR Target instance replied with error: BUSYKEY Target key name already exists.\n";
    assert!(rn.ends_with(busy) && xn.ends_with(busy), "{rn}\n{xn}");
    assert_eq!(xn.lines().filter(|l| l.ends_with(": OK")).count(), 0);
    // Without --cluster-copy (and with --cluster-replace) the source is emptied.
    let (x, _) = import(&pair.x, &sources[1], &["--cluster-replace"]);
    assert_eq!(x.code, Some(0));
    assert_eq!(
        text_or_int(
            &rcli::modes::sandbox::call(&rcli::endpoint::Endpoint::tcp("127.0.0.1", sources[1].port()), &["DBSIZE"])
                .unwrap()
        ),
        "0"
    );
    // A replica dies; once the others mark it failed, redis-cli cannot delete it, rcli can.
    let mut pair = pair;
    for side in [&mut pair.r, &mut pair.x] {
        side.nodes.nodes[5].kill();
    }
    for side in [&pair.r, &pair.x] {
        let id5 = side.ids[5].clone();
        wait_for("node 5 to be marked failed", Duration::from_secs(30), || {
            side.cmd(0, &["CLUSTER", "NODES"]).lines().any(|l| l.starts_with(&id5) && l.contains(",fail "))
        });
    }
    let (r, x) = pair.both(&["--cluster", "del-node", "{p0}", "{id5}"], "");
    match yardstick() {
        Yardstick::RedisCli => {
            assert_eq!(r.code, Some(1));
            assert!(pair.r.normalize(&r.text()).contains("[ERR] No such node ID N5"));
        }
        // valkey-cli 8 deletes a failed node too.
        Yardstick::ValkeyCli => assert_eq!(r.code, Some(0), "{}\n{}", r.text(), r.stderr),
    }
    assert_eq!(x.code, Some(0), "{}\n{}", x.text(), x.stderr);
    let id5 = pair.x.ids[5].clone();
    for i in 0..5 {
        assert!(!pair.x.cmd(i, &["CLUSTER", "NODES"]).contains(&id5), "node {i} still lists the failed node");
    }
}

#[test]
fn dry_run_and_json_change_nothing_and_parse() {
    if !have_redis() {
        return;
    }
    let _one = serial();
    let side = Side::start(7, Tool::Rcli, &[]);
    let home = Home::new();
    let create = side.run(
        &home,
        &[
            "--cluster",
            "create",
            "{p0}",
            "{p1}",
            "{p2}",
            "{p3}",
            "{p4}",
            "{p5}",
            "--cluster-replicas",
            "1",
            "--cluster-dry-run",
        ],
        "",
    );
    assert_eq!(create.code, Some(0));
    assert!(side.cmd(0, &["CLUSTER", "INFO"]).contains("cluster_known_nodes:1"), "a dry-run create changes nothing");
    side.create_3_3(&home);
    side.load(&home, 2000);
    let add = side.run(&home, &["--cluster", "add-node", "{p6}", "{p0}"], "");
    assert_eq!(add.code, Some(0));
    let plan = side.run(
        &home,
        &[
            "--cluster",
            "reshard",
            "{p0}",
            "--cluster-from",
            "{id0}",
            "--cluster-to",
            "{id6}",
            "--cluster-slots",
            "100",
            "--cluster-dry-run",
            "--cluster-json",
        ],
        "",
    );
    assert_eq!(plan.code, Some(0), "{}", plan.stderr);
    let json: serde_json::Value =
        serde_json::from_slice(&plan.stdout).unwrap_or_else(|e| panic!("{e}: {}", plan.text()));
    assert_eq!(json["type"], "plan");
    assert_eq!(json["slots"].as_array().map(Vec::len), Some(100));
    assert!(json["keys"].as_u64().unwrap_or(0) > 0);
    assert!(plan.stderr.contains("rcli dry-run:") && plan.stderr.contains("nothing was changed"), "{}", plan.stderr);
    assert_eq!(side.shape(7)[6].0, 0, "a dry-run reshard moves nothing");
    let check = side.run(&home, &["--cluster", "check", "{p0}", "--cluster-json"], "");
    assert_eq!(check.code, Some(0));
    let json: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(json["check"]["ok"], true);
    assert_eq!(json["check"]["nodes"].as_array().map(Vec::len), Some(7));
    assert_eq!(json["info"]["keys"], 2000);
    let call = side.run(&home, &["--cluster", "call", "{p0}", "PING", "--cluster-json"], "");
    let json: serde_json::Value = serde_json::from_slice(&call.stdout).unwrap();
    assert_eq!(json["nodes"].as_array().map(Vec::len), Some(7));
    let rebalance =
        side.run(&home, &["--cluster", "rebalance", "{p0}", "--cluster-use-empty-masters", "--cluster-dry-run"], "");
    assert_eq!(rebalance.code, Some(0));
    assert!(rebalance.text().contains("Moving 1366 slots from"), "{}", rebalance.text());
    assert_eq!(side.shape(7)[6].0, 0, "a dry-run rebalance moves nothing");
    // Every other changing command has a dry run too.
    let before = side.cmd(0, &["CLUSTER", "NODES"]);
    for (args, says) in [
        (vec!["--cluster", "del-node", "{p0}", "{id6}", "--cluster-dry-run"], "nodes would forget"),
        (vec!["--cluster", "set-timeout", "{p0}", "4000", "--cluster-dry-run"], "CONFIG SET cluster-node-timeout 4000"),
        (vec!["--cluster", "fix", "{p0}", "--cluster-dry-run"], "fix would repair 0 open slots, 0 uncovered slots"),
    ] {
        let out = side.run(&home, &args, "");
        assert_eq!(out.code, Some(0), "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(says) && out.stderr.contains("nothing was changed"), "{args:?}: {}", out.stderr);
    }
    assert_eq!(signature(&before), signature(&side.cmd(0, &["CLUSTER", "NODES"])));
    assert_eq!(side.cmd(6, &["CLUSTER", "NODES"]).lines().count(), 7, "node 6 is still a member");
    assert!(side.cmd(1, &["CONFIG", "GET", "cluster-node-timeout"]).contains("2000"));
    let source = Standalone::start(&[]).unwrap();
    rcli_run(&home, &["-p", &source.port().to_string()], "SET a 1\nSET b 2\nSET c 3\n");
    let from = format!("127.0.0.1:{}", source.port());
    let out = side.run(&home, &["--cluster", "import", "{p0}", "--cluster-from", &from, "--cluster-dry-run"], "");
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stderr.contains("keys would go to"), "{}", out.stderr);
    let left = rcli_run(&home, &["-p", &source.port().to_string(), "DBSIZE"], "");
    assert_eq!(left.text(), "3\n", "the source keeps its keys");
}

#[test]
fn sandbox_bare_starts_unjoined_nodes_and_removes_them() {
    if !have_redis() {
        return;
    }
    use std::io::{BufRead, BufReader, Write};
    let home = Home::new();
    let mut cmd = rcli(&home);
    cmd.args(["sandbox", "--bare", "3"]).stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    while lines.len() < 5 {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap() == 0 {
            break;
        }
        lines.push(line);
    }
    let addrs: Vec<String> = lines[1].split_whitespace().map(str::to_string).collect();
    assert_eq!(addrs.len(), 3, "{lines:?}");
    assert!(lines[3].contains(&format!("rcli --cluster create {} --cluster-replicas 1", addrs.join(" "))), "{lines:?}");
    let dir = lines[0].split(" in ").nth(1).unwrap().trim_end_matches(":\n").to_string();
    for addr in &addrs {
        let endpoint = rcli::endpoint::Endpoint::parse(addr).unwrap();
        let info = text(&rcli::modes::sandbox::call(&endpoint, &["CLUSTER", "INFO"]).unwrap());
        assert!(info.contains("cluster_known_nodes:1"), "{info}");
        let conf = text_or_int(&rcli::modes::sandbox::call(&endpoint, &["CONFIG", "REWRITE"]).unwrap());
        assert_eq!(conf, "OK", "started from a config file");
    }
    child.stdin.take().unwrap().write_all(b"\n").unwrap();
    assert!(child.wait().unwrap().success());
    assert!(!std::path::Path::new(&dir).exists(), "{dir} removed");
    let endpoint = rcli::endpoint::Endpoint::parse(&addrs[0]).unwrap();
    assert!(rcli::modes::sandbox::call(&endpoint, &["PING"]).is_err(), "the nodes are stopped");
}
