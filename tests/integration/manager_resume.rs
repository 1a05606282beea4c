//! A reshard killed with `kill -9` at seven points of a slot move (the journal written,
//! IMPORTING set, MIGRATING set, a MIGRATE of a 20 MB key on the wire, the slots
//! emptied, the target told, all told), then recovered with `--cluster-resume` or with
//! `--cluster fix` (which follows the journal) and `--cluster-resume`: every key is
//! readable exactly once, on its slot's owner, and `redis-cli --cluster check` passes.
//! The kill points come from rcli's fault hook (`RCLI_FAULT`, docs/testing.md).

use std::process::Stdio;
use std::time::Duration;

use crate::manager::*;
use crate::util::*;

const SLOTS: u16 = 64;

/// Every key of slots 0..SLOTS once, on its slot's owner, readable through rcli -c.
fn assert_every_key_once(side: &Side, home: &Home, keys: &[String]) {
    side.wait_healthy(7);
    let nodes = side.cmd(0, &["CLUSTER", "NODES"]);
    for slot in 0..SLOTS {
        let s = slot.to_string();
        let counts: Vec<i64> = [0, 1, 2, 6]
            .iter()
            .map(|&i| side.cmd(i, &["CLUSTER", "COUNTKEYSINSLOT", &s]).parse().unwrap_or(-1))
            .collect();
        let holders = counts.iter().filter(|c| **c > 0).count();
        assert_eq!(holders, 1, "slot {slot} keys per master (0, 1, 2, 6): {counts:?}\n{nodes}");
    }
    let input: String = keys.iter().map(|k| format!("EXISTS {k}\n")).collect();
    let out = rcli_run(home, &["-c", "-p", &side.port(0).to_string()], &input);
    assert_eq!(out.text().lines().filter(|l| *l == "1").count(), keys.len(), "{}", out.stderr);
    assert_check_passes(side, 0);
}

/// Whether any running node of `side` has a slot in migrating or importing state.
fn any_open_slot(side: &Side) -> bool {
    (0..side.ids.len()).any(|i| {
        rcli::modes::sandbox::call(&side.endpoint(i), &["CLUSTER", "NODES"])
            .map(|nodes| {
                frame_text(&nodes).lines().any(|l| l.contains("myself") && (l.contains("->-") || l.contains("-<-")))
            })
            .unwrap_or(false)
    })
}

fn recover(side: &Side, home: &Home, with_fix: bool, direction: &[&str]) {
    let mut resume_needed = true;
    if with_fix {
        // Valkey 8 clears a source's MIGRATING state once it learns that the target owns
        // the slot, so after some kills no slot is left open for fix to close: once the
        // nodes agree on who owns what, the open slots are what fix will find.
        wait_for("the nodes to agree on the slots", Duration::from_secs(20), || {
            let views: Vec<String> = (0..side.ids.len())
                .map(|i| {
                    rcli::modes::sandbox::call(&side.endpoint(i), &["CLUSTER", "NODES"])
                        .map(|n| signature(&frame_text(&n)))
                        .unwrap_or_default()
                })
                .collect();
            views.windows(2).all(|w| w[0] == w[1])
        });
        let open = any_open_slot(side);
        let fix = side.run(home, &["--cluster", "fix", "{p0}"], "");
        assert_eq!(fix.code, Some(0), "fix:\n{}\n{}", fix.text(), fix.stderr);
        assert!(fix.stderr.contains("interrupted reshard"), "{}", fix.stderr);
        assert_eq!(fix.stderr.contains("rcli: slot "), open, "open slots before fix: {open}\n{}", fix.stderr);
        // The nodes agree once the new epochs have spread by gossip.
        let mut last = String::new();
        let clean = (0..50).any(|_| {
            let check = side.run(home, &["--cluster", "check", "{p0}"], "");
            last = check.text();
            std::thread::sleep(Duration::from_millis(200));
            check.code == Some(0)
        });
        assert!(clean, "check after fix:\n{last}");
        resume_needed = fix.stderr.contains("slots left");
    }
    if !resume_needed {
        return;
    }
    let resume = side.run(home, &["--cluster", "reshard", "{p0}", "--cluster-resume"], "");
    assert_eq!(resume.code, Some(0), "resume:\n{}\n{}", resume.text(), resume.stderr);
    let owner = if direction.windows(2).any(|w| w == ["--cluster-to", "{id6}"]) { 6 } else { 0 };
    let ranges = side.ranges(owner);
    assert!(ranges.iter().any(|r| r.starts_with("0-")), "node {owner} owns slots 0-{}: {ranges:?}", SLOTS - 1);
}

#[test]
fn a_reshard_killed_anywhere_is_finished_by_resume_or_fix() {
    if !have_redis() {
        return;
    }
    let _one = serial();
    let home = Home::new();
    // Node 6 stays a master when it gives all its slots back.
    let side = Side::start(7, Tool::Rcli, &["cluster-allow-replica-migration no"]);
    side.create_3_3(&home);
    let add = side.run(&home, &["--cluster", "add-node", "{p6}", "{p0}"], "");
    assert_eq!(add.code, Some(0), "{}", add.stderr);
    side.wait_healthy(7);
    // 10 keys in each of slots 0..63 (hash tags), and a 20 MB key in slot 0.
    let tags: Vec<String> = (0..SLOTS)
        .map(|slot| {
            (0..)
                .map(|i| format!("r{i}"))
                .find(|t| rcli::cluster::slot::slot_of(t.as_bytes()) == slot)
                .unwrap_or_default()
        })
        .collect();
    let mut keys: Vec<String> = tags.iter().flat_map(|t| (0..10).map(move |i| format!("{{{t}}}:{i}"))).collect();
    let input: String = keys.iter().map(|k| format!("SET {k} v\n")).collect();
    rcli_run(&home, &["-c", "-p", &side.port(0).to_string()], &input);
    let big = format!("{{{}}}:big", tags[0]);
    let value = vec![b'z'; 20 << 20];
    let argv: Vec<&[u8]> = vec![b"SET", big.as_bytes(), &value];
    assert!(rcli::client::pool::call(&side.endpoint(0), &argv, Duration::from_secs(60)).unwrap().is_ok());
    keys.push(big);
    let slots = SLOTS.to_string();
    let forward = [
        "--cluster",
        "reshard",
        "{p0}",
        "--cluster-from",
        "{id0}",
        "--cluster-to",
        "{id6}",
        "--cluster-slots",
        &slots,
        "--cluster-yes",
    ];
    let back = [
        "--cluster",
        "reshard",
        "{p0}",
        "--cluster-from",
        "{id6}",
        "--cluster-to",
        "{id0}",
        "--cluster-slots",
        &slots,
        "--cluster-yes",
    ];
    let scenarios: [(&str, bool); 8] = [
        ("journal-open:1", false),
        ("importing:2", true),
        ("migrating:1", false),
        ("migrate-sent:1", true),
        ("migrate-sent:40", false),
        ("drained:1", false),
        ("finalized-target:2", true),
        ("finalized:1", false),
    ];
    for (n, (fault, with_fix)) in scenarios.iter().enumerate() {
        let direction: &[&str] = if n % 2 == 0 { &forward } else { &back };
        kill_at(&side, &home, direction, fault);
        recover(&side, &home, *with_fix, direction);
        assert_every_key_once(&side, &home, &keys);
    }
    // And at moments chosen by the clock rather than by the code.
    let mut seed = std::process::id() as u64;
    for _ in 0..3 {
        let direction: &[&str] = if side.ranges(0).iter().any(|r| r.starts_with("0-")) { &forward } else { &back };
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let delay = Duration::from_millis(100 + (seed >> 33) % 600);
        let filled: Vec<String> = direction.iter().map(|a| side.fill(a)).collect();
        let mut cmd = rcli(&home);
        cmd.env("TERM", "dumb").args(&filled).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        let mut child = cmd.spawn().expect("spawn rcli");
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
        let resume = side.run(&home, &["--cluster", "reshard", "{p0}", "--cluster-resume"], "");
        let nothing = resume.stderr.contains("no interrupted reshard");
        assert!(resume.code == Some(0) || nothing, "resume after {delay:?}:\n{}\n{}", resume.text(), resume.stderr);
        assert_every_key_once(&side, &home, &keys);
    }
}
