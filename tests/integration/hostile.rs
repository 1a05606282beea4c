//! Hostile servers (issue 11): escape sequences in every field a node can fill, crafted
//! command tables that must not poison the cache, impossible numbers, redirect loops,
//! unsolicited bytes, pushes out of place, a bulk dripped forever, ten thousand nodes.
//! A scripted fake plays the node; rcli must never panic, hang, inject or answer wrong.

use std::time::Duration;

use crate::fake::{self, Act, FakeServer};

use crate::util::*;

const OSC_TITLE: &str = "\u{1b}]0;PWNED\u{7}";
const CSI_RED: &str = "\u{1b}[31mEVIL";
const OSC_CLIPBOARD: &str = "\u{1b}]52;c;ZXZpbA==\u{7}";

/// A fake cluster node whose every free-text field carries an escape sequence.
fn poisoned_node() -> FakeServer {
    FakeServer::with_port(|port| {
        move |argv: &[Vec<u8>]| match fake::name2(argv).as_str() {
            "CLUSTER SHARDS" => fake::shards_reply(&format!("abc{OSC_TITLE}"), "127.0.0.1", u64::from(port), CSI_RED),
            "INFO SERVER" => fake::bulk("# Server\r\nredis_version:7.0.15\r\n"),
            "COMMAND DOCS" => {
                let summary = format!("Get the value{OSC_CLIPBOARD}");
                let b = |t: &str| format!("${}\r\n{t}\r\n", t.len());
                Act::Reply(format!("*2\r\n{}*2\r\n{}{}", b("get"), b("summary"), b(&summary)).into_bytes())
            }
            "GET FOO" => fake::error(&format!("MOVED 12182 {OSC_TITLE}:7000")),
            "PING" => Act::Reply(format!(":12{OSC_TITLE}\r\n").into_bytes()),
            "DBSIZE" => Act::Reply(b":0\r\n".to_vec()),
            _ => fake::error("ERR unknown command"),
        }
    })
}

/// Defect 1: nothing a node sends reaches the terminal as an escape sequence: not its
/// CLUSTER SHARDS fields (`:nodes`), not COMMAND DOCS (`help`), not a MOVED target,
/// not the bytes of a protocol error.
#[test]
fn escape_sequences_from_a_node_never_reach_the_terminal_raw() {
    let node = poisoned_node();
    let port = node.port.to_string();
    let home = Home::new();
    let mut p = shell(&home, &["-c", "-p", &port]);
    let prompt = format!("127.0.0.1:{port}> ");
    let mut seen = p.exp_string(&prompt).unwrap();
    for line in [":nodes", "help get", "get foo", "ping"] {
        settle();
        p.send_line(line).unwrap();
        seen.push_str(&p.exp_regex(r"127\.0\.0\.1:\d+> |not connected> ").unwrap().0);
    }
    p.send_control('d').unwrap();
    seen.push_str(&p.exp_eof().unwrap_or_default());
    for raw in [OSC_TITLE, CSI_RED, OSC_CLIPBOARD] {
        assert!(!seen.contains(raw), "{raw:?} reached the terminal:\n{seen:?}");
    }
    assert!(seen.contains("\\x1b]0;PWNED\\x07"), "shown escaped instead: {seen:?}");
    assert!(seen.contains("\\x1b[31mEVIL"), "{seen:?}");
    assert!(seen.contains("\\x1b]52;c;"), "{seen:?}");
}

/// Defect 2: a fake claiming Redis 7.0.15 with a crafted command table (GET a write
/// without keys, MGET without keys) and docs with escapes does not change how rcli
/// treats the real 7.0.15 cluster afterwards, with the same cache directory.
#[test]
fn a_fake_servers_tables_do_not_poison_the_cache_for_real_servers() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 0);
    let count = match rcli::modes::sandbox::call(&cluster.endpoint(0), &["COMMAND", "COUNT"]).unwrap() {
        rcli::protocol::resp::Frame::Integer(n) => n,
        other => panic!("{other:?}"),
    };
    let fake = FakeServer::with_port(move |port| {
        move |argv: &[Vec<u8>]| {
            let b = |t: &str| format!("${}\r\n{t}\r\n", t.len());
            let entry = |name: &str, flag: &str| {
                format!("*10\r\n{}:2\r\n*1\r\n{}:0\r\n:0\r\n:0\r\n*0\r\n*0\r\n*0\r\n*0\r\n", b(name), b(flag))
            };
            match fake::name2(argv).as_str() {
                "CLUSTER SHARDS" => fake::shards_reply(&"a".repeat(40), "127.0.0.1", u64::from(port), "online"),
                "INFO SERVER" => fake::bulk("# Server\r\nredis_version:7.0.15\r\n"),
                "INFO MODULES" => fake::bulk("# Modules\r\n"),
                "COMMAND COUNT" => Act::Reply(format!(":{count}\r\n").into_bytes()),
                "COMMAND" | "COMMAND INFO" => {
                    Act::Reply(format!("*2\r\n{}{}", entry("get", "write"), entry("mget", "readonly")).into_bytes())
                }
                "COMMAND DOCS" => Act::Reply(
                    format!("*2\r\n{}*2\r\n{}{}", b("get"), b("summary"), b(&format!("poisoned{OSC_TITLE}")))
                        .into_bytes(),
                ),
                _ => fake::error("ERR unknown command"),
            }
        }
    });
    let home = Home::new();
    let poisoned = rcli_run(&home, &["-c", "-p", &fake.port.to_string()], ":explain get foo\n");
    assert!(poisoned.text().contains("GET (write)"), "the fake's table was used for the fake: {}", poisoned.text());
    // The shell loads (and caches) the fake's docs too.
    let fake_port = fake.port.to_string();
    let mut p = shell(&home, &["-c", "-p", &fake_port]);
    p.exp_string(&format!("127.0.0.1:{fake_port}> ")).unwrap();
    settle();
    p.send_and_expect("help get", &["poisoned"]);
    p.send_control('d').unwrap();
    let _ = p.exp_eof();
    drop(fake);

    let seed = cluster.port(0).to_string();
    let out = rcli_run(&home, &["-c", "-p", &seed], ":explain get foo\nmset {a}x 1 {b}y 2\nmget {a}x {b}y\n");
    let printed = out.text();
    assert!(printed.contains("GET (read-only)"), "{printed}");
    assert!(printed.contains("key at argument 1: \"foo\""), "{printed}");
    assert!(printed.ends_with("1\n2\n"), "MGET across slots still splits: {printed}");
    let mut p = shell(&home, &["-c", "-p", &seed]);
    p.exp_string(&format!("127.0.0.1:{seed}> ")).unwrap();
    settle();
    p.send_line("help get").unwrap();
    let help = p.exp_string("GET key").unwrap();
    let rest = p.exp_string(&format!("127.0.0.1:{seed}> ")).unwrap();
    assert!(!help.contains("poisoned") && !rest.contains("poisoned"), "the fake's docs were not used: {help}{rest}");
}

/// Defect 3: impossible numbers in CLUSTER SHARDS (a port of 70000) are named, and
/// rcli falls back to CLUSTER SLOTS; when both are impossible, one clear error naming
/// the node, exit 1.
#[test]
fn impossible_slot_map_values_fall_back_to_cluster_slots_or_fail_clearly() {
    for slots_ok in [true, false] {
        let node = FakeServer::with_port(move |port| {
            move |argv: &[Vec<u8>]| match fake::name2(argv).as_str() {
                "CLUSTER SHARDS" => fake::shards_reply(&"a".repeat(40), "127.0.0.1", 70000, "online"),
                "CLUSTER SLOTS" => {
                    let shown = if slots_ok { u32::from(port) } else { 0 };
                    Act::Reply(
                        format!("*1\r\n*3\r\n:0\r\n:16383\r\n*2\r\n$9\r\n127.0.0.1\r\n:{shown}\r\n").into_bytes(),
                    )
                }
                "GET FOO" => fake::bulk("bar"),
                _ => fake::error("ERR unknown command"),
            }
        });
        let home = Home::new();
        let out = rcli_run(&home, &["-c", "-p", &node.port.to_string(), "get", "foo"], "");
        if slots_ok {
            assert_eq!((out.code, out.text().as_str()), (Some(0), "bar\n"), "{}", out.stderr);
        } else {
            assert_eq!(out.code, Some(1), "{out:?}");
            let expected = format!("127.0.0.1:{}: CLUSTER SHARDS: invalid port 70000", node.port);
            assert!(out.stderr.contains(&expected), "{}", out.stderr);
            assert!(out.stderr.contains("CLUSTER SLOTS: invalid port 0"), "{}", out.stderr);
        }
    }
}

/// A node that redirects to itself, forever, with MOVED or with ASK: the hop limit.
#[test]
fn redirect_loops_stop_at_the_hop_limit() {
    for kind in ["MOVED", "ASK"] {
        let node = FakeServer::with_port(move |port| {
            move |argv: &[Vec<u8>]| match fake::name(argv).as_str() {
                "GET" => fake::error(&format!("{kind} 12182 127.0.0.1:{port}")),
                "ASKING" => fake::simple("OK"),
                _ => fake::error("ERR unknown command"),
            }
        });
        let home = Home::new();
        let out = rcli_run(&home, &["-c", "-p", &node.port.to_string(), "--max-hops", "5", "get", "foo"], "");
        assert_eq!(out.code, Some(1), "{kind}: {out:?}");
        assert!(out.stderr.contains("gave up after 5 redirects"), "{kind}: {}", out.stderr);
    }
}

/// MOVED to port 0 is no redirect (shown as the error it is); MOVED to a host that
/// does not resolve fails that command once the budget is spent, naming the host.
#[test]
fn redirects_to_nowhere_end_in_one_clear_line() {
    let node = FakeServer::start(|argv| match (fake::name(argv).as_str(), argv.get(1).map(Vec::as_slice)) {
        ("GET", Some(b"zero")) => fake::error("MOVED 1 127.0.0.1:0"),
        ("GET", _) => fake::error("MOVED 12182 no-such-host.invalid:7000"),
        _ => fake::error("ERR unknown command"),
    });
    let home = Home::new();
    let port = node.port.to_string();
    let zero = rcli_run(&home, &["-c", "-p", &port, "get", "zero"], "");
    assert_eq!(zero.text(), "MOVED 1 127.0.0.1:0\n\n", "{zero:?}");
    let nowhere = rcli_run(&home, &["-c", "-p", &port, "--down-after", "1", "get", "foo"], "");
    assert_eq!(nowhere.code, Some(1), "{nowhere:?}");
    assert!(nowhere.stderr.contains("no-such-host.invalid:7000 is down"), "{}", nowhere.stderr);
    assert!(!nowhere.stderr.contains("panicked"));
}

/// A node that sends a second reply nobody asked for: the connection is dropped, so
/// the next command gets its own reply, never the extra one.
#[test]
fn unsolicited_bytes_never_become_the_next_commands_reply() {
    let node = FakeServer::start(|argv| match fake::name(argv).as_str() {
        "ECHO" => {
            let word = String::from_utf8_lossy(argv.get(1).map(Vec::as_slice).unwrap_or_default()).into_owned();
            Act::Reply(format!("${}\r\n{word}\r\n+UNSOLICITED\r\n", word.len()).into_bytes())
        }
        _ => fake::error("ERR unknown command"),
    });
    let home = Home::new();
    let out = rcli_run(&home, &["-p", &node.port.to_string(), "--pipeline", "1"], "echo one\necho two\necho three\n");
    assert_eq!(out.text(), "one\ntwo\nthree\n", "{}", out.stderr);
}

/// A RESP3 push in a RESP2 session is skipped, not taken for the reply.
#[test]
fn a_push_out_of_place_is_not_a_reply() {
    let node = FakeServer::start(|argv| match fake::name(argv).as_str() {
        "GET" => Act::Reply(b">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n$5\r\nvalue\r\n".to_vec()),
        _ => fake::error("ERR unknown command"),
    });
    let home = Home::new();
    let out = rcli_run(&home, &["-p", &node.port.to_string(), "get", "k"], "");
    assert_eq!((out.code, out.text().as_str()), (Some(0), "value\n"), "{}", out.stderr);
}

/// A 1 GB bulk string dripped a byte at a time: memory stays flat (the declared length
/// is not believed) and the idle timeout ends the wait.
#[test]
fn a_gigabyte_bulk_dripped_slowly_neither_fills_memory_nor_hangs() {
    let node = FakeServer::start(|argv| match fake::name(argv).as_str() {
        "GET" => Act::Reply(b"$1000000000\r\nab".to_vec()),
        _ => fake::error("ERR unknown command"),
    });
    let home = Home::new();
    let mut cmd = rcli(&home);
    cmd.args(["-p", &node.port.to_string(), "--timeout", "1", "get", "big"]);
    let out = run_with(cmd, b"", Duration::from_secs(20));
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("no reply for 1 s") || out.stderr.contains("outcome unknown"), "{}", out.stderr);
    assert!(out.peak_rss_kb < 64 * 1024, "peak RSS {} KB", out.peak_rss_kb);
}

/// A map of ten thousand nodes loads, and `:nodes` lists them without trouble.
#[test]
fn ten_thousand_nodes_in_the_slot_map_are_fine() {
    let node = FakeServer::with_port(|port| {
        let b = |t: &str| format!("${}\r\n{t}\r\n", t.len());
        let mut nodes = String::new();
        for i in 0..10_000u32 {
            let role = if i == 0 { "master" } else { "replica" };
            let node_port = if i == 0 { u32::from(port) } else { 20_000 + i };
            nodes.push_str(&format!(
                "*10\r\n{}{}{}:{node_port}\r\n{}{}{}{}{}{}",
                b("id"),
                b(&format!("{i:040x}")),
                b("port"),
                b("ip"),
                b("127.0.0.1"),
                b("role"),
                b(role),
                b("health"),
                b("online")
            ));
        }
        let reply =
            format!("*1\r\n*4\r\n{}*2\r\n:0\r\n:16383\r\n{}*10000\r\n{nodes}", b("slots"), b("nodes")).into_bytes();
        move |argv: &[Vec<u8>]| match fake::name2(argv).as_str() {
            "CLUSTER SHARDS" => Act::Reply(reply.clone()),
            "GET FOO" => fake::bulk("bar"),
            "DBSIZE" => Act::Reply(b":0\r\n".to_vec()),
            _ => fake::error("ERR unknown command"),
        }
    });
    let home = Home::new();
    let mut cmd = rcli(&home);
    cmd.args(["-c", "-p", &node.port.to_string(), "--timeout", "1", "get", "foo"]);
    let out = run_with(cmd, b"", Duration::from_secs(60));
    assert_eq!((out.code, out.text().as_str()), (Some(0), "bar\n"), "{}", out.stderr);
}
