//! The cluster manager on a cluster with numbered databases (Valkey 9's
//! `cluster-databases`, issue 20): keys written to databases 0, 7 and 9 survive reshard,
//! a reshard killed mid-run and resumed, rebalance onto a new master, fix of a slot left
//! half-moved in database 9, draining and del-node, and import of a standalone server's
//! databases 0 and 5; after each, every key is readable exactly once, in its database,
//! and each database's DBSIZE summed over the primaries is what was written there.
//! Skipped (with a line) where the server has no `cluster-databases`.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::manager::*;
use crate::util::keys::{tag_for, write_keys};
use crate::util::*;

const DATABASES: [u32; 3] = [0, 7, 9];

/// Keys per database, each written through `rcli -c -n DB`.
type Written = BTreeMap<u32, Vec<String>>;

fn write(side: &Side, home: &Home, written: &mut Written, db: u32, keys: Vec<String>) {
    write_keys(home, side.port(0), db, &keys, &db.to_string());
    written.entry(db).or_default().extend(keys);
}

/// Every key in its database once, through the cluster; per database, the primaries'
/// DBSIZEs (the manager's lock key aside in database 0) add up to what was written.
fn assert_every_key(side: &Side, home: &Home, written: &Written, primaries: &[usize]) {
    wait_for("the cluster to serve every slot", Duration::from_secs(30), || {
        side.cmd(primaries[0], &["CLUSTER", "INFO"]).contains("cluster_state:ok")
    });
    for (db, keys) in written {
        let input: String = keys.iter().map(|k| format!("GET {k}\n")).collect();
        let port = side.port(primaries[0]).to_string();
        let out = rcli_run(home, &["-c", "-n", &db.to_string(), "-p", &port], &input);
        let right = out.text().lines().filter(|l| *l == db.to_string()).count();
        assert_eq!(right, keys.len(), "db {db}: keys read back with their value\n{}", out.stderr);
        let total: usize = primaries
            .iter()
            .map(|&i| {
                let argv = ["-p", &side.port(i).to_string(), "-n", &db.to_string(), "DBSIZE"];
                rcli_run(home, &argv, "").text().trim().parse::<usize>().unwrap_or(0)
            })
            .sum();
        let lock = if *db == 0 {
            rcli_run(home, &["-c", "-p", &port, "EXISTS", "rcli:cluster-lock"], "").text().trim().parse().unwrap_or(0)
        } else {
            0
        };
        assert_eq!(total - lock, keys.len(), "db {db}: DBSIZE over the primaries");
    }
}

#[test]
fn every_database_survives_every_manager_operation() {
    if !have_redis() {
        return;
    }
    let _one = serial();
    let Ok(nodes) = rcli::modes::sandbox::BareNodes::start(8, &["cluster-databases 16"]) else {
        eprintln!("manager_databases: this redis-server has no cluster-databases (Valkey 9+); skipped");
        return;
    };
    let ids =
        (0..8).map(|i| text(&rcli::modes::sandbox::call(&nodes.endpoint(i), &["CLUSTER", "MYID"]).unwrap())).collect();
    let side = Side { nodes, tool: Tool::Rcli, ids };
    let home = Home::new();
    side.create_3_3(&home);
    let mut written = Written::new();
    for db in DATABASES {
        let keys = (0..64u16)
            .map(|slot| tag_for("d", slot))
            .flat_map(|t| (0..5).map(move |i| format!("{{{t}}}:{db}:{i}")))
            .collect();
        write(&side, &home, &mut written, db, keys);
        write(&side, &home, &mut written, db, (0..300).map(|i| format!("spread:{db}:{i}")).collect());
    }
    let reshard = |from: &str, to: &str, slots: &str| -> Vec<String> {
        [
            "--cluster",
            "reshard",
            "{p0}",
            "--cluster-from",
            from,
            "--cluster-to",
            to,
            "--cluster-slots",
            slots,
            "--cluster-yes",
        ]
        .iter()
        .map(|a| side.fill(a))
        .collect()
    };

    // A reshard moves every database's keys.
    let args = reshard("{id0}", "{id1}", "32");
    let out = side.run(&home, &args.iter().map(String::as_str).collect::<Vec<_>>(), "");
    assert_eq!(out.code, Some(0), "{}\n{}", out.text(), out.stderr);
    assert_every_key(&side, &home, &written, &[0, 1, 2]);

    // Killed while moving slot 33's keys of database 7, then resumed.
    let args = reshard("{id0}", "{id2}", "32");
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    kill_at(&side, &home, &argv, "migrate-sent:4");
    let out = side.run(&home, &["--cluster", "reshard", "{p0}", "--cluster-resume"], "");
    assert_eq!(out.code, Some(0), "{}\n{}", out.text(), out.stderr);
    assert_every_key(&side, &home, &written, &[0, 1, 2]);

    // Rebalance onto a new master.
    assert_eq!(side.run(&home, &["--cluster", "add-node", "{p6}", "{p0}"], "").code, Some(0));
    let out = side.run(&home, &["--cluster", "rebalance", "{p0}", "--cluster-use-empty-masters", "--cluster-yes"], "");
    assert_eq!(out.code, Some(0), "{}\n{}", out.text(), out.stderr);
    side.wait_healthy(7);
    assert_every_key(&side, &home, &written, &[0, 1, 2, 6]);

    // A slot left half-moved in database 9 (keys on both sides), then fix.
    let slot = side.cmd(0, &["CLUSTER", "NODES"]);
    let owned: u16 = slot
        .lines()
        .find(|l| l.contains("myself"))
        .and_then(|l| l.split(' ').nth(8))
        .and_then(|r| r.split('-').next())
        .and_then(|s| s.parse().ok())
        .expect("node 0 owns a slot");
    let tag = tag_for("d", owned);
    let keys: Vec<String> = (0..6).map(|i| format!("{{{tag}}}:fix:{i}")).collect();
    write(&side, &home, &mut written, 9, keys.clone());
    let s = owned.to_string();
    side.cmd(1, &["CLUSTER", "SETSLOT", &s, "IMPORTING", "{id0}"]);
    side.cmd(0, &["CLUSTER", "SETSLOT", &s, "MIGRATING", "{id1}"]);
    let port = side.port(1).to_string();
    let migrate = format!("SELECT 9\nMIGRATE 127.0.0.1 {port} \"\" 9 5000 KEYS {} {}\n", keys[0], keys[1]);
    let moved = rcli_run(&home, &["-p", &side.port(0).to_string()], &migrate);
    assert!(moved.text().ends_with("OK\n"), "{}", moved.text());
    let out = side.run(&home, &["--cluster", "fix", "{p0}"], "");
    assert_eq!(out.code, Some(0), "{}\n{}", out.text(), out.stderr);
    side.wait_healthy(7);
    assert_every_key(&side, &home, &written, &[0, 1, 2, 6]);

    // Drain node 6 and delete it.
    let out = side.run(&home, &["--cluster", "rebalance", "{p0}", "--cluster-weight", "{id6}=0", "--cluster-yes"], "");
    assert_eq!(out.code, Some(0), "{}\n{}", out.text(), out.stderr);
    wait_for("node 6 to be empty everywhere", Duration::from_secs(30), || side.shape(7)[6].0 == 0);
    let out = side.run(&home, &["--cluster", "del-node", "{p0}", "{id6}"], "");
    assert_eq!(out.code, Some(0), "{}\n{}", out.text(), out.stderr);
    assert_every_key(&side, &home, &written, &[0, 1, 2]);

    // Zones announced by the nodes (Valkey 9.1) show in check's node blocks and JSON.
    side.cmd(1, &["CONFIG", "SET", "availability-zone", "zone-b"]);
    wait_for("node 1's zone to be known", Duration::from_secs(10), || {
        rcli::modes::sandbox::call(&side.endpoint(0), &["CLUSTER", "SHARDS"])
            .map(|r| frame_text(&r).contains("zone-b"))
            .unwrap_or(false)
    });
    let check = side.run(&home, &["--cluster", "check", "{p0}"], "");
    let blocks = side.normalize(&check.text());
    assert!(
        blocks.contains("127.0.0.1:p1\n   slots:") && blocks.contains("   availability zone: zone-b\n"),
        "{blocks}"
    );
    let json = side.run(&home, &["--cluster", "check", "{p0}", "--cluster-json"], "");
    assert!(json.text().contains("\"availability_zone\": \"zone-b\""), "{}", json.text());

    // info counts every database and names them.
    let info = side.run(&home, &["--cluster", "info", "{p0}"], "");
    assert!(info.text().contains("keys per database: db0="), "{}", info.text());
    let total: usize = written.values().map(Vec::len).sum();
    assert!(info.text().contains(&format!("] {total} keys in 3 ")), "{}", info.text());

    // Import a standalone server's databases 0 and 5.
    let source = rcli::modes::sandbox::Standalone::start(&["--databases", "16"]).expect("a standalone server");
    let feed = |db: u32| -> Vec<String> { (0..200).map(|i| format!("imported:{db}:{i}")).collect() };
    for db in [0u32, 5] {
        let input: String = feed(db).iter().map(|k| format!("SET {k} {db}\n")).collect();
        let out = rcli_run(&home, &["-n", &db.to_string(), "-p", &source.port().to_string()], &input);
        assert_eq!(out.code, Some(0));
    }
    let from = format!("127.0.0.1:{}", source.port());
    let out = side.run(&home, &["--cluster", "import", "{p0}", "--cluster-from", &from, "--cluster-copy"], "");
    assert_eq!(out.code, Some(0), "{}\n{}", out.text(), out.stderr);
    assert!(out.text().contains("*** Importing 200 keys from DB 5"), "{}", out.text());
    for db in [0u32, 5] {
        written.entry(db).or_default().extend(feed(db));
    }
    assert_every_key(&side, &home, &written, &[0, 1, 2]);
    assert_check_passes(&side, 0);
}
