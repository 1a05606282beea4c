//! Misbehaving servers and impatient users (issue 10): replies never fall out of step
//! after a timeout, a user without permission to read the slot map still routes, split
//! writes that half succeed say which keys were applied, Ctrl-C stops a whole line
//! everywhere, and a blocking command's hop line shows before it waits.

use std::time::Duration;

use rcli::cluster::slot::slot_of;
use rcli::endpoint::Endpoint;
use rcli::modes::sandbox::call;

use crate::fake::{self, Act, FakeServer};

use crate::util::*;

/// Defect 1: the shell's start-up questions (INFO, COMMAND DOCS) time out while the
/// server sleeps; their connection is closed, so the first commands get their own
/// replies, not the late INFO reply.
#[test]
fn replies_never_shift_after_an_internal_request_timed_out() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let port = server.port().to_string();
    let endpoint = Endpoint::tcp("127.0.0.1", server.port());
    for i in 1..=3 {
        call(&endpoint, &["SET", &format!("k{i}"), &format!("v{i}")]).unwrap();
    }
    let sleeper = std::thread::spawn(move || {
        let _ = rcli::client::pool::call(&endpoint, &["DEBUG", "SLEEP", "6"], Duration::from_secs(20));
    });
    std::thread::sleep(Duration::from_millis(300));
    let home = Home::new();
    let prompt = format!("127.0.0.1:{port}> ");
    let mut p = shell(&home, &["-p", &port]);
    p.exp_string(&prompt).unwrap();
    settle();
    for i in 1..=3 {
        p.send_line(&format!("get k{i}")).unwrap();
        let printed = p.exp_string(&format!("\"v{i}\"")).unwrap();
        assert!(!printed.contains("redis_version"), "a late INFO reply was printed for get k{i}: {printed}");
        p.exp_string(&prompt).unwrap();
        settle();
    }
    sleeper.join().unwrap();
}

fn least_privilege_user(cluster: &LocalCluster) {
    for i in 0..cluster.nodes.len() {
        let reply = call(
            &cluster.endpoint(i),
            &["ACL", "SETUSER", "app", "on", ">pw", "~*", "&*", "+@read", "+@write", "+@connection"],
        )
        .unwrap();
        assert!(reply.is_ok(), "{reply:?}");
    }
}

/// Defect 3: a user who may not read the slot map (CLUSTER SHARDS/SLOTS, INFO, CONFIG
/// are denied) still writes to the right nodes: rcli says once (with `-v`, or on a
/// terminal) that it learns slots from redirects, follows MOVED, and never prints a raw
/// MOVED as a reply.
#[test]
fn a_user_without_permission_to_read_the_slot_map_follows_and_learns_redirects() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 0);
    least_privilege_user(&cluster);
    let seed = cluster.port(0).to_string();
    let auth = ["-c", "-p", &seed, "--user", "app", "--pass", "pw", "--no-auth-warning"];
    let home = Home::new();

    let one = rcli_run(&home, &[&auth[..], &["set", "foo", "v"]].concat(), "");
    assert_eq!((one.code, one.text().as_str()), (Some(0), "OK\n"), "{}", one.stderr);
    // On a non-terminal stderr without -v, nothing: redis-cli says nothing there (issue 20).
    assert_eq!(one.stderr, "", "quiet without -v");
    let told = rcli_run(&home, &[&auth[..], &["-v", "set", "foo", "v"]].concat(), "");
    assert!(told.stderr.contains("cannot read the slot map"), "said with -v: {}", told.stderr);

    let mut input = String::new();
    for i in 0..300 {
        input.push_str(&format!("set key:{i} v{i}\n"));
    }
    input.push_str(":nodes\n");
    let piped = rcli_run(&home, &[&auth[..], &["-v"]].concat(), &input);
    assert_eq!(piped.code, Some(0), "{}", piped.stderr);
    let printed = piped.text();
    assert_eq!(printed.lines().filter(|l| *l == "OK").count(), 300, "{printed}");
    assert!(!printed.contains("MOVED"), "{printed}");
    assert!(printed.contains("slot map: learned from redirects"), ":nodes says why: {printed}");
    assert_eq!(piped.stderr.matches("cannot read the slot map").count(), 1, "{}", piped.stderr);
    let topo = topology(&cluster, 0);
    for i in [0, 150, 299] {
        let key = format!("key:{i}");
        let owner = topo.owner(slot_of(key.as_bytes())).unwrap().clone();
        assert_eq!(text(&call(&owner, &["GET", &key]).unwrap()), format!("v{i}"), "{key} is on its owner");
    }
}

/// Defect 3, with a node that answers a redirect and nothing else: no CLUSTER, INFO or
/// COMMAND at all. The ASK is followed to a second fake that only knows ASKING and SET.
#[test]
fn a_node_that_only_answers_a_redirect_is_followed() {
    let target = FakeServer::start(|argv| match fake::name(argv).as_str() {
        "ASKING" | "SET" => fake::simple("OK"),
        _ => fake::error("ERR unknown command"),
    });
    let to = target.port;
    let first = FakeServer::start(move |argv| match fake::name(argv).as_str() {
        "SET" => fake::error(&format!("ASK 12182 127.0.0.1:{to}")),
        _ => fake::error("ERR unknown command"),
    });
    let home = Home::new();
    let out = rcli_run(&home, &["-c", "-p", &first.port.to_string(), "set", "foo", "bar"], "");
    assert_eq!((out.code, out.text().as_str()), (Some(0), "OK\n"), "{}", out.stderr);
}

/// Defect 4: during a migration, a split MSET/DEL whose part for the migrating slot
/// keeps getting TRYAGAIN says which keys were applied and which not; `-e` exits 1.
#[test]
fn split_writes_that_half_succeed_name_the_keys_applied_and_not() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 0);
    let seed = cluster.port(0).to_string();
    let (source, source_index) = owner_of(&cluster, "{m}1");
    let target_index = (0..3).find(|&i| i != source_index).unwrap();
    let slot = slot_of(b"{m}1").to_string();
    write_ok(&source, &["SET", "{m}1", "old"]);
    call(&cluster.endpoint(target_index), &["CLUSTER", "SETSLOT", &slot, "IMPORTING", &cluster.ids[source_index]])
        .unwrap();
    call(&source, &["CLUSTER", "SETSLOT", &slot, "MIGRATING", &cluster.ids[target_index]]).unwrap();
    let home = Home::new();
    let out = rcli_run(&home, &["-c", "-p", &seed, "mset", "{m}1", "X", "{m}3", "X", "{n}1", "CHANGED"], "");
    let text = out.text();
    assert!(text.starts_with("PARTIAL MSET: 1 of 2 parts failed (not atomic)\n"), "{text}\n{}", out.stderr);
    assert!(text.contains("\n  applied: \"{n}1\"\n"), "{text}");
    assert!(text.contains("\n  not applied: \"{m}1\" \"{m}3\": TRYAGAIN"), "{text}");
    let n1 = owner_of(&cluster, "{n}1").0;
    assert_eq!(text_of(&n1, "{n}1"), "CHANGED");
    assert_eq!(text_of(&source, "{m}1"), "old");

    call(&n1, &["SET", "{n}2", "x"]).unwrap();
    let del = rcli_run(&home, &["-c", "-p", &seed, "-e", "del", "{m}1", "{m}3", "{n}2"], "");
    assert_eq!(del.code, Some(1), "-e treats a partial failure as an error: {}", del.text());
    assert!(del.stderr.contains("PARTIAL DEL: 1 of 2 parts failed"), "{}", del.stderr);
    assert!(del.stderr.contains("applied: \"{n}2\""), "{}", del.stderr);
}

fn text_of(endpoint: &Endpoint, key: &str) -> String {
    text(&call(endpoint, &["GET", key]).unwrap())
}

/// Defect 5: Ctrl-C stops a repeated command entirely (one `(interrupted)`, a handful
/// of connections), not one repetition at a time.
#[test]
fn ctrl_c_stops_a_repeated_command_entirely() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let port = server.port().to_string();
    let endpoint = Endpoint::tcp("127.0.0.1", server.port());
    let connections = || {
        let info = text(&call(&endpoint, &["INFO", "stats"]).unwrap());
        info.lines().find_map(|l| l.strip_prefix("total_connections_received:")).unwrap().trim().parse::<u64>().unwrap()
    };
    let home = Home::new();
    let prompt = format!("127.0.0.1:{port}> ");
    let mut p = shell(&home, &["-p", &port]);
    p.exp_string(&prompt).unwrap();
    settle();
    let before = connections();
    p.send_line("5000 blpop nolist 0.01").unwrap();
    std::thread::sleep(Duration::from_millis(600));
    p.send_control('c').unwrap();
    p.exp_string("(interrupted)").unwrap();
    let printed = p.exp_string(&prompt).unwrap();
    assert!(!printed.contains("(interrupted)") && !printed.contains("(nil)"), "the line stopped: {printed}");
    assert!(connections() - before < 5, "no reconnect per repetition");
    settle();
    p.send_and_expect("ping", &["PONG"]);
}

/// Defect 5: fan-out SCAN (`:use all`) and `:nodes` against a frozen node stop on
/// Ctrl-C; SCAN prints the pages it got before.
#[test]
fn ctrl_c_stops_fan_out_scan_and_nodes_against_a_frozen_node() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 0);
    let seed = cluster.port(0).to_string();
    call(&cluster.endpoint(0), &["SET", "{a}seen", "1"]).unwrap();
    let frozen = 2;
    let home = Home::new();
    let prompt = format!("127.0.0.1:{seed}> ");
    let mut p = shell(&home, &["-c", "-p", &seed]);
    p.exp_string(&prompt).unwrap();
    settle();
    p.send_and_expect(":use all", &[&prompt]);
    settle();
    signal(&cluster.nodes[frozen], "STOP");
    for line in ["scan 0", ":nodes"] {
        p.send_line(line).unwrap();
        std::thread::sleep(Duration::from_millis(800));
        p.send_control('c').unwrap();
        p.exp_string("(interrupted)").unwrap_or_else(|e| panic!("{line}: {e}"));
        p.exp_string(&prompt).unwrap();
        settle();
    }
    signal(&cluster.nodes[frozen], "CONT");
    p.send_and_expect("ping", &["PONG"]);
}

/// Defect 7: the hop line of a blocking command on another node shows while it waits.
#[test]
fn a_blocking_commands_hop_line_shows_before_it_waits() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 0);
    let (owner, index) = owner_of(&cluster, "{q}list");
    let seed_index = (0..3).find(|&i| i != index).unwrap();
    let seed = cluster.port(seed_index).to_string();
    let home = Home::new();
    let mut p = shell(&home, &["-c", "-p", &seed]);
    p.exp_string(&format!("127.0.0.1:{seed}> ")).unwrap();
    settle();
    p.send_and_expect(
        "blpop {q}list 0",
        &[&format!("-> Redirected to slot [{}] located at {owner}", slot_of(b"{q}list"))],
    );
    call(&owner, &["RPUSH", "{q}list", "arrived"]).unwrap();
    p.exp_string("\"arrived\"").unwrap();
    p.exp_string(&format!("{owner}> ")).unwrap();
}

/// A fake whose SET reply never comes: an idle timeout, then outcome unknown.
#[test]
fn a_write_that_gets_no_reply_is_reported_not_resent() {
    let server = FakeServer::start(|argv| match fake::name(argv).as_str() {
        "INCR" => Act::Reply(Vec::new()),
        _ => fake::error("ERR unknown command"),
    });
    let home = Home::new();
    let out = rcli_run(&home, &["-p", &server.port.to_string(), "--timeout", "1", "incr", "x"], "");
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("outcome unknown"), "{}", out.stderr);
    assert_eq!(server.connections.load(std::sync::atomic::Ordering::SeqCst), 1, "never resent");
}
