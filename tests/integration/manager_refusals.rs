//! rcli's refusals before data loss, each with its reason and nothing changed: a key
//! bigger than the target's `proto-max-bulk-len`, a key MIGRATE cannot move within
//! `--cluster-timeout`, deleting a node that still holds keys; and `--cluster-abandon`,
//! which undoes the open slots of an interrupted reshard.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use crate::manager::*;
use crate::util::*;

fn tag_for(slot: u16) -> String {
    (0..).map(|i| format!("g{i}")).find(|t| rcli::cluster::slot::slot_of(t.as_bytes()) == slot).unwrap_or_default()
}

fn set_big(side: &Side, key: &str, bytes: usize) {
    let value = vec![b'b'; bytes];
    let argv: Vec<&[u8]> = vec![b"SET", key.as_bytes(), &value];
    assert!(rcli::client::pool::call(&side.endpoint(0), &argv, Duration::from_secs(30)).unwrap().is_ok());
}

fn unchanged(side: &Side) {
    assert_eq!(side.shape(7)[6].0, 0, "node 6 got no slot");
    assert!(!side.cmd(0, &["CLUSTER", "NODES"]).contains('['), "no open slot");
}

#[test]
fn refusals_before_data_loss_and_abandon() {
    if !have_redis() {
        return;
    }
    let _one = serial();
    let home = Home::new();
    let side = Side::start(7, Tool::Rcli, &[]);
    side.create_3_3(&home);
    assert_eq!(side.run(&home, &["--cluster", "add-node", "{p6}", "{p0}"], "").code, Some(0));
    side.wait_healthy(7);
    let input: String =
        (0..10u16).flat_map(|s| (0..5).map(move |i| format!("SET {{{}}}:{i} v\n", tag_for(s)))).collect();
    rcli_run(&home, &["-c", "-p", &side.port(0).to_string()], &input);
    let reshard = [
        "--cluster",
        "reshard",
        "{p0}",
        "--cluster-from",
        "{id0}",
        "--cluster-to",
        "{id6}",
        "--cluster-slots",
        "10",
        "--cluster-yes",
    ];

    // A key bigger than the target's proto-max-bulk-len.
    side.cmd(6, &["CONFIG", "SET", "proto-max-bulk-len", "1048576"]);
    let big = format!("{{{}}}:big", tag_for(3));
    set_big(&side, &big, 2 << 20);
    let out = side.run(&home, &reshard, "");
    assert_eq!(out.code, Some(1));
    let err = side.normalize(&out.stderr);
    assert!(err.contains(&format!("rcli: refusing to move slots: key '{big}' in slot 3 is about")), "{err}");
    assert!(err.contains("more than proto-max-bulk-len (1048576) of the target 127.0.0.1:p6"), "{err}");
    assert!(err.contains("nothing was changed; --cluster-allow-big-keys moves them anyway"), "{err}");
    unchanged(&side);
    side.cmd(6, &["CONFIG", "SET", "proto-max-bulk-len", "536870912"]);

    // A key MIGRATE cannot move within --cluster-timeout.
    let out = side.run(&home, &[&reshard[..], &["--cluster-timeout", "5"]].concat(), "");
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("more than --cluster-timeout (5 ms)"), "{}", out.stderr);
    unchanged(&side);
    side.cmd(0, &["DEL", &big]);

    // A master without slots that still holds a key is not deleted.
    let slot = "7";
    side.cmd(6, &["CLUSTER", "SETSLOT", slot, "IMPORTING", "{id0}"]);
    let out =
        rcli_run(&home, &["-p", &side.port(6).to_string()], &format!("ASKING\nSET {{{}}}:orphan x\n", tag_for(7)));
    assert!(out.text().ends_with("OK\nOK\n"), "{}", out.text());
    side.cmd(6, &["CLUSTER", "SETSLOT", slot, "STABLE"]);
    let out = side.run(&home, &["--cluster", "del-node", "{p0}", "{id6}"], "");
    assert_eq!(out.code, Some(1));
    assert!(
        side.normalize(&out.text()).contains("[ERR] Node 127.0.0.1:p6 is not empty! Reshard data away and try again.")
    );
    assert!(
        out.stderr.contains("has no slots but still holds 1 keys") && out.stderr.contains("nothing was changed"),
        "{}",
        out.stderr
    );
    let id6 = side.ids[6].clone();
    for i in 0..6 {
        assert!(side.cmd(i, &["CLUSTER", "NODES"]).contains(&id6), "node {i} was not told to forget node 6");
    }
    let fix = side.run(&home, &["--cluster", "fix", "{p0}", "--cluster-search-multiple-owners"], "");
    assert_eq!(fix.code, Some(0), "{}\n{}", fix.text(), fix.stderr);
    assert_eq!(side.cmd(6, &["DBSIZE"]), "0", "the orphan went to its slot's owner");

    // Abandon: a reshard killed mid-MIGRATE, its open slots closed, keys back at the source.
    let mut cmd = rcli(&home);
    let filled: Vec<String> = reshard.iter().map(|a| side.fill(a)).collect();
    cmd.env("TERM", "dumb")
        .env("RCLI_FAULT", "migrate-sent:2")
        .args(&filled)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    for line in stderr.lines().map_while(Result::ok) {
        if line.starts_with("rcli-fault: ") {
            break;
        }
    }
    child.kill().unwrap();
    let _ = child.wait();
    assert!(side.cmd(0, &["CLUSTER", "NODES"]).contains("->-"), "slots were left open");
    let out = side.run(&home, &["--cluster", "reshard", "{p0}", "--cluster-abandon"], "");
    assert_eq!(out.code, Some(0), "{}\n{}", out.text(), out.stderr);
    assert!(out.stderr.contains("rcli: abandoning the reshard"), "{}", out.stderr);
    side.wait_healthy(7);
    unchanged(&side);
    for s in 0..10u16 {
        let keys = side.cmd(0, &["CLUSTER", "COUNTKEYSINSLOT", &s.to_string()]);
        let expected = if s == 7 { "6" } else { "5" }; // slot 7 also got the orphan
        assert_eq!(keys, expected, "slot {s} is whole on node 0 again");
    }
    assert_check_passes(&side, 0);
    let again = side.run(&home, &reshard, "");
    assert_eq!(again.code, Some(0), "no journal blocks a new reshard: {}", again.stderr);
    assert_eq!(side.ranges(6), ["0-9"]);
}
