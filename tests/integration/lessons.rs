//! The sandbox's guided lessons, typed for real in a pseudo-terminal: `rcli sandbox
//! --lesson hash-tags` and `--lesson failover` walked through step by step, each with a
//! wrong attempt first that must get a hint; what the lessons teach is checked against
//! the live cluster (slots and owners), and the failover lesson's primary is killed with
//! `kill -9` from outside, as a second terminal would, then started again with the
//! command the lesson prints.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rexpect::session::{PtySession, spawn_command};

use crate::util::*;

const PROMPT: &str = r"127\.0\.0\.1:\d+> ";

/// `rcli sandbox ARGS` in a pty with a hermetic environment; every wait is bounded.
fn sandbox(home: &Home, args: &[&str]) -> PtySession {
    let mut cmd = Command::new(rcli_bin());
    hermetic(&mut cmd, &home.path);
    cmd.env("TERM", "xterm").arg("sandbox").args(args);
    spawn_command(cmd, Some(30_000)).expect("spawn rcli sandbox in a pty")
}

/// A regex for `text` that matches it however the lesson wrapped its lines. rexpect
/// reads the terminal byte by byte (a UTF-8 `→` arrives as three characters), so the
/// regex spells non-ASCII characters the same way.
fn words(text: &str) -> String {
    let escape = |word: &str| {
        let mut out = String::new();
        for c in word.chars() {
            if "\\.+*?()|[]{}^$#&-~".contains(c) {
                out.push('\\');
            }
            let mut utf8 = [0; 4];
            out.extend(c.encode_utf8(&mut utf8).bytes().map(char::from));
        }
        out
    };
    text.split_whitespace().map(escape).collect::<Vec<_>>().join(r"\s+")
}

/// Waits until the terminal shows `text` (across line wraps).
fn expect(p: &mut PtySession, text: &str) {
    p.exp_regex(&words(text)).unwrap_or_else(|e| panic!("the lesson should say {text:?}: {e}"));
}

/// Types `line` once the editor is ready, waits until the lesson says `said` (matched
/// across line wraps), then for the next prompt; returns everything printed until that
/// prompt, on one line (line breaks and runs of spaces as one space).
fn step(p: &mut PtySession, line: &str, said: &str) -> String {
    settle();
    p.send_line(line).unwrap();
    let (before, matched) =
        p.exp_regex(&words(said)).unwrap_or_else(|e| panic!("after `{line}` the lesson should say {said:?}: {e}"));
    let (after, _) = p.exp_regex(PROMPT).unwrap();
    flat(&format!("{before}{matched}{after}"))
}

/// Terminal text (read byte by byte, see [`words`]) decoded, on one line.
fn flat(text: &str) -> String {
    let bytes: Vec<u8> = text.chars().map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')).collect();
    String::from_utf8_lossy(&bytes).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The port in the first `127.0.0.1:PORT` after `marker` in `text`.
fn port_after(text: &str, marker: &str) -> u16 {
    let rest = &text[text.find(marker).unwrap_or_else(|| panic!("{marker:?} in {text}")) + marker.len()..];
    let digits: String =
        rest.trim_start().trim_start_matches("127.0.0.1:").chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or_else(|_| panic!("a port after {marker:?} in {text}"))
}

/// The primary that owns `key`, as the cluster at `port` says.
fn owner(port: u16, key: &str) -> u16 {
    let endpoint = rcli::endpoint::Endpoint::tcp("127.0.0.1", port);
    let reply = rcli::modes::sandbox::call(&endpoint, &["CLUSTER", "SHARDS"]).unwrap();
    let topology = rcli::cluster::topology::Topology::from_shards(&reply, &endpoint).unwrap();
    match topology.owner(rcli::cluster::slot::slot_of(key.as_bytes())) {
        Some(rcli::endpoint::Endpoint::Tcp { port, .. }) => *port,
        other => panic!("no owner for {key}: {other:?}"),
    }
}

#[test]
fn the_hash_tags_lesson_walks_from_slots_to_crossslot_with_hints() {
    if !have_redis() {
        return;
    }
    let home = Home::new();
    let mut p = sandbox(&home, &["--lesson", "hash-tags", "--replicas", "0"]);
    expect(&mut p, "Lesson hash-tags: where keys go");
    expect(&mut p, "── hash-tags, step 1 of 5: Where does a key go?");
    let (_, seed) = p.exp_regex(PROMPT).unwrap();
    let seed: u16 = seed.trim_end_matches("> ").rsplit(':').next().unwrap().parse().unwrap();

    // A command that runs instead of asking rcli: a hint.
    step(&mut p, "get user:1:name", "hint: That ran. This step asks rcli where a key goes");
    let said = step(&mut p, ":slot user:1:name", "so each command goes straight to its owner.");
    assert!(said.contains("✓ step 1: \"user:1:name\" → slot 12440 (whole key hashed), served by"), "{said}");
    assert_eq!(
        port_after(&said, "✓ step 1: \"user:1:name\" → slot 12440 (whole key hashed), served by"),
        owner(seed, "user:1:name")
    );
    assert!(said.contains("── hash-tags, step 2 of 5: Two keys, one slot"), "{said}");
    // `:lesson` shows the step again.
    step(&mut p, ":lesson", "── hash-tags, step 2 of 5: Two keys, one slot");

    let hint = step(&mut p, ":slot user:1:name user:1:email", "`user:{1}:email`.");
    assert!(
        hint.contains("hint: \"user:1:name\" → slot 12440 (whole key hashed) \"user:1:email\" → slot 6268"),
        "{hint}"
    );
    assert!(hint.contains("[lesson hash-tags 2/5] Two keys, one slot"), "{hint}");
    let said = step(&mut p, ":slot user:{1}:name user:{1}:email", "one node.");
    assert!(said.contains("✓ step 2:"), "{said}");
    assert_eq!(port_after(&said, "slot 9842, served by"), owner(seed, "user:{1}:name"));

    let split = step(&mut p, "mset user:1:name Ada user:1:email ada@example.com", "Give the keys one hash tag");
    assert!(split.contains("hint:") && split.contains("split it into 2 MSETs, one per slot"), "{split}");
    assert!(split.contains("(error) CROSSSLOT Keys in request don't hash to the same slot"), "{split}");
    let said = step(&mut p, "mset user:{1}:name Ada user:{1}:email ada@example.com", "before anything runs.");
    assert!(said.contains("✓ step 3: One slot (9842), so one command"), "{said}");
    assert!(said.contains("holds \"user:{1}:name\" = \"Ada\", \"user:{1}:email\" = \"ada@example.com\""), "{said}");

    step(&mut p, "mget a b", "hint: rcli split that MGET into one command per slot");
    let said = step(&mut p, "msetnx a 1 b 2", "and a rewrite that shares a hash tag.");
    assert!(said.contains("✓ step 4: MSETNX's keys are in slots 15495, 3300"), "{said}");
    assert!(said.contains("answers `MGET \"a\" \"b\"` with: (error) CROSSSLOT"), "{said}");
    assert!(said.contains("── hash-tags, step 5 of 5: Fix it with a hash tag"), "{said}");

    step(&mut p, "msetnx a 1 b 2", "hint: \"a\" → slot 15495 (whole key hashed)");
    let said = step(&mut p, "msetnx {t}a 1 {t}b 2", "Lesson hash-tags complete: 5 of 5 steps done.");
    assert!(said.contains("✓ step 5: Every key hashes \"t\" → slot 15891"), "{said}");

    // The lesson is over: `:lesson` lists them; failover needs replicas this sandbox lacks.
    step(&mut p, ":lesson", "Lessons: `:lesson hash-tags`");
    step(&mut p, ":lesson failover", "The failover lesson needs replicas, and this cluster has none");
    // Started again, skipped and ended from the shell.
    step(&mut p, ":lesson hash-tags", "── hash-tags, step 1 of 5");
    let said = step(&mut p, ":lesson skip", "Step 1 skipped.");
    assert!(said.contains("── hash-tags, step 2 of 5"), "{said}");
    step(&mut p, ":lesson quit", "Lesson hash-tags ended.");
    settle();
    p.send_line("quit").unwrap();
    p.exp_eof().unwrap();
}

/// A redis-server started by the test the way the lesson tells a person to, stopped
/// when the test ends.
struct Restarted(Child);

impl Drop for Restarted {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_failover_lesson_sees_a_primary_killed_from_outside_and_rejoin_as_a_replica() {
    if !have_redis() {
        return;
    }
    let home = Home::new();
    let mut p = sandbox(&home, &["--lesson", "failover"]);
    expect(&mut p, "── failover, step 1 of 6: Write a key");
    p.exp_regex(PROMPT).unwrap();

    step(&mut p, "set bar 1", "hint: This lesson follows the key foo: `SET foo hello`.");
    let said = step(&mut p, "set foo hello", "(replication is asynchronous).");
    assert!(said.contains("✓ step 1: \"foo\" → slot 12182"), "{said}");
    let said = step(&mut p, ":slot foo", "copies every write it takes.");
    let primary = port_after(&said, "foo is in slot 12182 on");
    assert_eq!(primary, owner(primary, "foo"), "the lesson names foo's real primary");
    let pid: u32 = said
        .split("(process ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("a process id in {said}"));
    let said = step(&mut p, "wait 1 1000", "✓ step 3: 1 replica acknowledged every write");
    // (`:kill` too, once the shell has the lab commands.)
    assert!(said.contains(&format!("`kill -9 {pid}`")), "{said}");

    // Enter before the kill: the primary still answers.
    step(&mut p, "", &format!("hint: 127.0.0.1:{primary} still answers. Kill it"));
    let status = Command::new("kill").args(["-9", &pid.to_string()]).status().unwrap();
    assert!(status.success());
    step(&mut p, "", &format!("✓ step 4: 127.0.0.1:{primary} does not answer (Connection refused)."));
    let said = step(&mut p, "get foo", "so nothing was lost.");
    assert!(said.contains("\"hello\" survived"), "{said}");
    let promoted = port_after(&said, "\"hello\" survived:");
    assert_ne!(promoted, primary);
    assert_eq!(owner(promoted, "foo"), promoted, "the lesson names the promoted replica");

    // Step 6 tells how to start the old primary again; Enter before that gets a hint.
    let start = said.find("cd /").unwrap_or_else(|| panic!("a restart command in {said}"));
    let command = said[start..].split(" Then press Enter").next().unwrap().to_string();
    assert!(command.contains(&format!("redis-server --port {primary} --cluster-enabled yes")), "{command}");
    step(&mut p, "", &format!("hint: 127.0.0.1:{primary} is not running yet: start it again"));
    // The lesson's command, run as a second terminal would.
    let child = Command::new("sh")
        .args(["-c", &command.replacen("&& redis-server", "&& exec redis-server", 1)])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let _restarted = Restarted(child);
    let mut rejoined = false;
    for _ in 0..40 {
        std::thread::sleep(Duration::from_millis(500));
        settle();
        p.send_line("").unwrap();
        let (_, said) = p.exp_regex(&format!("{}|hint: ", words("✓ step 6:"))).unwrap();
        let (rest, _) = p.exp_regex(PROMPT).unwrap();
        if !said.starts_with("hint") {
            let rest = flat(&rest);
            assert!(
                rest.contains(&format!("127.0.0.1:{primary} is back as a replica of 127.0.0.1:{promoted}")),
                "{rest}"
            );
            assert!(rest.contains("Lesson failover complete: 6 of 6 steps done."), "{rest}");
            rejoined = true;
            break;
        }
    }
    assert!(rejoined, "the old primary never rejoined as a replica");
    settle();
    p.send_line("quit").unwrap();
    p.exp_eof().unwrap();
}

#[test]
fn a_lesson_is_refused_before_any_server_starts_when_it_cannot_run() {
    let home = Home::new();
    let out = rcli_run(&home, &["sandbox", "--lesson", "nope"], "");
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("hash-tags") && out.stderr.contains("failover"), "{}", out.stderr);
    if !have_redis() {
        return;
    }
    let out = rcli_run(&home, &["sandbox", "--lesson", "failover", "--replicas", "0"], "");
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert_eq!(out.stderr, "sandbox: the failover lesson needs replicas (--replicas 1 or more)\n");
}
