//! Issue 24's shell conveniences in a pseudo-terminal, on a real cluster: the question
//! before dangerous commands (yes runs, anything else does not, a pipe never asks),
//! `| command`, `peek` on every core type, the pager, key completion after a SCAN.

use crate::pty::{settle, shell};
use crate::util::*;

/// Keys held by the cluster's primaries (DBSIZE summed).
fn keys_held(cluster: &rcli::modes::sandbox::LocalCluster, primaries: usize) -> i64 {
    (0..primaries)
        .map(|i| rcli::modes::sandbox::call(&cluster.endpoint(i), &["DBSIZE"]).unwrap().as_integer().unwrap())
        .sum()
}

#[test]
fn flushall_asks_first_at_a_terminal_and_never_in_a_pipe() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 0);
    for key in ["a", "b", "c", "user:1"] {
        let (owner, _) = owner_of(&cluster, key);
        write_ok(&owner, &["SET", key, "v"]);
    }
    let home = Home::new();
    let seed = cluster.port(0).to_string();
    let prompt = format!("127.0.0.1:{seed}> ");
    let mut p = shell(&home, &["-c", "-p", &seed]);
    p.exp_string(&prompt).unwrap();

    // Where keyless commands go by default (the node in the prompt) is what is named.
    let here = rcli::modes::sandbox::call(&cluster.endpoint(0), &["DBSIZE"]).unwrap().as_integer().unwrap();
    let noun = if here == 1 { "key" } else { "keys" };
    p.send_line("flushall").unwrap();
    p.exp_string(&format!("FLUSHALL on 127.0.0.1:{seed} holding {here} {noun} ")).unwrap();
    p.exp_string("type yes to go on: ").unwrap();
    settle();
    p.send_line("").unwrap();
    p.exp_string("(not run)").unwrap();
    p.exp_string(&prompt).unwrap();

    // On every primary: they are counted (the dash is UTF-8, matched around).
    p.send_line(":use primaries").unwrap();
    p.exp_string(&prompt).unwrap();
    // Anything but yes: not run, the data still there.
    p.send_line("flushall").unwrap();
    p.exp_string("FLUSHALL on 3 primaries holding 4 keys ").unwrap();
    p.exp_string("type yes to go on: ").unwrap();
    settle();
    p.send_line("y").unwrap();
    p.exp_string("(not run)").unwrap();
    p.exp_string(&prompt).unwrap();
    assert_eq!(keys_held(&cluster, 3), 4);

    // KEYS asks too; Ctrl-C is a no.
    p.send_line("keys *").unwrap();
    p.exp_string("KEYS on 3 primaries holding 4 keys").unwrap();
    settle();
    p.send_control('c').unwrap();
    p.exp_string("(not run)").unwrap();
    p.exp_string(&prompt).unwrap();

    // `:set confirm off` skips the question; on brings it back.
    p.send_line(":set confirm off").unwrap();
    p.exp_string(&prompt).unwrap();
    p.send_line("keys user:*").unwrap();
    p.exp_string("\"user:1\"").unwrap();
    p.exp_string(&prompt).unwrap();
    p.send_line(":set confirm on").unwrap();
    p.exp_string(&prompt).unwrap();

    // yes: it runs.
    p.send_line("flushall").unwrap();
    p.exp_string("type yes to go on: ").unwrap();
    settle();
    p.send_line("yes").unwrap();
    p.exp_string("OK").unwrap();
    p.exp_string(&prompt).unwrap();
    assert_eq!(keys_held(&cluster, 3), 0);
    p.send_line("quit").unwrap();
    p.exp_eof().unwrap();

    // --yes: no question.
    write_ok(&owner_of(&cluster, "a").0, &["SET", "a", "v"]);
    let mut p = shell(&home, &["-c", "-p", &seed, "--target", "primaries", "--yes"]);
    p.exp_string(&prompt).unwrap();
    p.send_line("flushall").unwrap();
    let before = p.exp_string("OK").unwrap();
    assert!(!before.contains("type yes"), "{before:?}");
    assert_eq!(keys_held(&cluster, 3), 0);
    p.send_line("quit").unwrap();
    p.exp_eof().unwrap();

    // Piped input never asks: redis-cli's behaviour stays for scripts.
    write_ok(&owner_of(&cluster, "a").0, &["SET", "a", "v"]);
    let out = rcli_run(&home, &["-c", "-p", &seed, "--target", "primaries"], "flushall\n");
    assert!(out.text().ends_with("OK\n") && !out.text().contains("yes"), "{out:?}");
    assert_eq!(out.stderr, "");
    assert_eq!(keys_held(&cluster, 3), 0);
}

#[test]
fn a_reply_piped_to_a_shell_command() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 0);
    let home = Home::new();
    let seed = cluster.port(0).to_string();
    // The prompt follows the node last talked to.
    let prompt = r"127\.0\.0\.1:\d+> ";
    let mut p = shell(&home, &["-c", "-p", &seed]);
    p.exp_regex(prompt).unwrap();
    p.send_line("rpush pipe:list a b c d e").unwrap();
    p.exp_string("(integer) 5").unwrap();
    p.exp_regex(prompt).unwrap();

    // The reply as printed raw (one element a line), through wc on the key's owner.
    p.send_line("lrange pipe:list 0 -1 | wc -l").unwrap();
    p.exp_regex(r"\r\n\s*5\r\n").unwrap();
    p.exp_regex(prompt).unwrap();
    p.send_line("lrange pipe:list 0 1 | tr a-z A-Z").unwrap();
    p.exp_string("A\r\nB\r\n").unwrap();
    p.exp_regex(prompt).unwrap();

    // A failing command's status is said.
    p.send_line("echo hi | grep -q nothing-like-it").unwrap();
    p.exp_string("(exit status 1)").unwrap();
    p.exp_regex(prompt).unwrap();

    // A | inside quotes or inside a word is an argument.
    p.send_line("set pipe:k \"a | b\"").unwrap();
    p.exp_string("OK").unwrap();
    p.send_line("get pipe:k").unwrap();
    p.exp_string("\"a | b\"").unwrap();
    p.send_line("echo x|y").unwrap();
    p.exp_string("\"x|y\"").unwrap();
    p.exp_regex(prompt).unwrap();

    // Ctrl-C ends the child; the shell goes on.
    p.send_line("ping | sleep 60").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    p.send_control('c').unwrap();
    p.exp_string("(ended by signal").unwrap();
    p.exp_regex(prompt).unwrap();
    settle();
    p.send_line("lrange pipe:list 0 0 | cat").unwrap();
    p.exp_string("a\r\n").unwrap();
    p.exp_regex(prompt).unwrap();
    p.send_line("quit").unwrap();
    p.exp_eof().unwrap();
}

#[test]
fn peek_shows_every_core_type_from_its_owner() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 0);
    let home = Home::new();
    let seed = cluster.port(0).to_string();
    let prompt = r"127\.0\.0\.1:\d+> ";
    let mut p = shell(&home, &["-c", "-p", &seed]);
    p.exp_regex(prompt).unwrap();
    for (line, reply) in [
        ("set peek:s hello", "OK"),
        ("expire peek:s 1000", "(integer) 1"),
        ("rpush peek:l a b c d e f g h i j k l", "(integer) 12"),
        ("sadd peek:set only", "(integer) 1"),
        ("zadd peek:z 1.5 m", "(integer) 1"),
        ("hset peek:h field \"v\\x1b[2J\"", "(integer) 1"),
        ("xadd peek:x 1-0 a 1", "\"1-0\""),
    ] {
        p.send_line(line).unwrap();
        p.exp_string(reply).unwrap();
        p.exp_regex(prompt).unwrap();
    }
    let place = |key: &str| {
        let (owner, _) = owner_of(&cluster, key);
        format!("slot {} on {owner} (primary)", rcli::cluster::slot::slot_of(key.as_bytes()))
    };
    let checks: [(&str, &[&str]); 6] = [
        ("peek:s", &["type: string", "ttl: 99", "length: 5 bytes", "\"hello\""]),
        ("peek:l", &["type: list", "length: 12 items", "1) \"a\"", "10) \"j\"", "first 10 of 12"]),
        ("peek:set", &["type: set", "length: 1 members", "1) \"only\""]),
        ("peek:z", &["type: zset", "length: 1 members", "1) \"m\" score \"1.5\""]),
        ("peek:h", &["type: hash", "length: 1 fields", "\"field\" → \"v\\x1b[2J\""]),
        ("peek:x", &["type: stream", "length: 1 entries", "1) \"1-0\" {\"a\": \"1\"}"]),
    ];
    for (key, expected) in checks {
        p.send_line(&format!("peek {key}")).unwrap();
        p.exp_string(&place(key)).unwrap();
        for text in expected {
            // UTF-8 (→, …) is read byte by byte by the pty reader: matched in ASCII pieces.
            for piece in text.split(['→', '…']) {
                p.exp_string(piece.trim()).unwrap();
            }
        }
        p.exp_regex(prompt).unwrap();
    }
    p.send_line(":peek nosuchkey").unwrap();
    p.exp_string("(no such key)").unwrap();
    p.exp_regex(prompt).unwrap();
    p.send_line("quit").unwrap();
    p.exp_eof().unwrap();

    // In a pipe `peek` is sent as typed (the server does not know it); `:peek` answers.
    let out = rcli_run(&home, &["-c", "-p", &seed], "peek peek:s\n:peek peek:l\n");
    let text = out.text();
    assert!(text.starts_with("ERR unknown command 'peek'"), "{text}");
    assert!(text.contains("type: list"), "{text}");
}
