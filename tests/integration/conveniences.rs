//! Issue 24's shell conveniences in a pseudo-terminal, on a real cluster: the question
//! before dangerous commands (yes runs, anything else does not, a pipe never asks),
//! `| command`, `peek` on every core type, the pager, key completion after a SCAN.

use crate::util::dialogue::{settle, shell};
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

    // Piped to a command: asked on the terminal, `(not run)` too, nothing piped.
    p.send_line("keys * | wc -l").unwrap();
    p.exp_string("KEYS on 3 primaries holding 4 keys").unwrap();
    settle();
    p.send_line("no").unwrap();
    p.exp_string("(not run)").unwrap();
    p.exp_regex(r"\r\n\s*0\r\n").unwrap();
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

    // --yes: no question, even with the rclirc file's `:set confirm on`.
    let rc = home.path.join("config").join("rcli");
    std::fs::create_dir_all(&rc).unwrap();
    std::fs::write(rc.join("rclirc"), ":set confirm on\n:set pager off\n").unwrap();
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

    // The key's slot moves to another primary behind rcli's back: the stale map's
    // MOVED is followed and said.
    let (from, from_index) = owner_of(&cluster, "peek:s");
    let to_index = (from_index + 1) % 3;
    let to = cluster.endpoint(to_index);
    let slot = rcli::cluster::slot::slot_of(b"peek:s").to_string();
    let id = |i: usize| text(&cluster.call(i, &["CLUSTER", "MYID"]).unwrap());
    let (from_id, to_id) = (id(from_index), id(to_index));
    cluster.call(to_index, &["CLUSTER", "SETSLOT", &slot, "IMPORTING", &from_id]).unwrap();
    cluster.call(from_index, &["CLUSTER", "SETSLOT", &slot, "MIGRATING", &to_id]).unwrap();
    let port = cluster.port(to_index).to_string();
    let migrated = cluster.call(from_index, &["MIGRATE", "127.0.0.1", &port, "peek:s", "0", "5000"]).unwrap();
    assert_eq!(text(&migrated), "OK");
    for i in 0..3 {
        cluster.call(i, &["CLUSTER", "SETSLOT", &slot, "NODE", &to_id]).unwrap();
    }
    p.send_line("peek peek:s").unwrap();
    p.exp_string(&format!("on {to} (primary; moved from {from}")).unwrap();
    p.exp_string("type: string").unwrap();
    p.exp_regex(prompt).unwrap();
    p.send_line("quit").unwrap();
    p.exp_eof().unwrap();

    // In a pipe `peek` is sent as typed (the server does not know it); `:peek` answers.
    let out = rcli_run(&home, &["-c", "-p", &seed], "peek peek:s\n:peek peek:l\n");
    let text = out.text();
    assert!(text.starts_with("ERR unknown command 'peek'"), "{text}");
    assert!(text.contains("type: list"), "{text}");
}

/// rcli in a pseudo-terminal of 20 rows and 100 columns (`stty`), `PAGER` set.
fn sized_shell(home: &Home, pager: &str, args: &[&str]) -> rexpect::session::PtySession {
    let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    let line = format!("stty rows 20 cols 100; exec '{}' {}", rcli_bin().display(), quoted.join(" "));
    let mut cmd = std::process::Command::new("sh");
    hermetic(&mut cmd, &home.path);
    cmd.env("TERM", "xterm").env("PAGER", pager).args(["-c", &line]);
    rexpect::session::spawn_command(cmd, Some(20_000)).expect("spawn rcli in a pty")
}

#[test]
fn a_tall_reply_goes_through_the_pager_and_q_comes_back() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let port = server.port().to_string();
    let home = Home::new();
    // A pager that says it got the text, counts its lines and waits for a key on the
    // terminal, as less does for q.
    let pager = home.path.join("pager.sh");
    std::fs::write(
        &pager,
        "echo '[pager in]'; wc -l; echo '[pager waits]'; read key </dev/tty; echo \"[pager out: $key]\"\n",
    )
    .unwrap();
    let prompt = format!("127.0.0.1:{port}> ");
    let mut p = sized_shell(&home, &format!("sh {}", pager.display()), &["-p", &port]);
    p.exp_string(&prompt).unwrap();
    p.send_line("rpush tall a b c d e f g h i j k l m n o p q r s t u v w x y z").unwrap();
    p.exp_string("(integer) 26").unwrap();
    p.exp_string(&prompt).unwrap();

    // Taller than 20 rows: the pager gets all 26 lines; q returns to the prompt.
    p.send_line("lrange tall 0 -1").unwrap();
    p.exp_string("[pager in]").unwrap();
    p.exp_regex(r"\r\n\s*26\r\n").unwrap();
    p.exp_string("[pager waits]").unwrap();
    settle();
    p.send_line("q").unwrap();
    p.exp_string("[pager out: q]").unwrap();
    p.exp_string(&prompt).unwrap();
    settle();

    // Short: printed as usual, no pager.
    p.send_line("lrange tall 0 2").unwrap();
    let shown = p.exp_string("3) \"c\"").unwrap();
    assert!(!shown.contains("[pager"), "{shown:?}");
    p.exp_string(&prompt).unwrap();

    // :set pager off: the tall reply is printed.
    p.send_line(":set pager off").unwrap();
    p.exp_string(&prompt).unwrap();
    p.send_line("lrange tall 0 -1").unwrap();
    let shown = p.exp_string("26) \"z\"").unwrap();
    assert!(!shown.contains("[pager"), "{shown:?}");
    p.exp_string(&prompt).unwrap();
    p.send_line("quit").unwrap();
    p.exp_eof().unwrap();

    // The real less: q returns to the prompt, which works on.
    let mut p = sized_shell(&home, "less -R", &["-p", &port]);
    p.exp_string(&prompt).unwrap();
    p.send_line("lrange tall 0 -1").unwrap();
    p.exp_string("19) \"s\"").unwrap();
    settle();
    p.send("q").unwrap();
    p.flush().unwrap();
    p.exp_string(&prompt).unwrap();
    settle();
    p.send_line("llen tall").unwrap();
    p.exp_string("(integer) 26").unwrap();
    p.send_line("quit").unwrap();
    p.exp_eof().unwrap();

    // stdout not a terminal: never paged.
    let mut cmd = rcli(&home);
    cmd.env("PAGER", format!("sh {}", pager.display())).args(["-p", &port, "lrange", "tall", "0", "-1"]);
    let out = run_with(cmd, b"", std::time::Duration::from_secs(60));
    assert_eq!(out.text().lines().count(), 26, "{out:?}");
}

#[test]
fn a_key_never_seen_completes_after_a_scan() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 0);
    // Written behind the shell's back, on another primary than the one in the prompt:
    // only a SCAN of the cluster's primaries can find it.
    let key = (0..100)
        .map(|i| format!("scanme:alpha-{i}"))
        .find(|k| owner_of(&cluster, k).1 != 0)
        .expect("a key owned by another primary");
    let (owner, _) = owner_of(&cluster, &key);
    write_ok(&owner, &["SET", &key, "found-by-scan"]);
    let home = Home::new();
    let seed = cluster.port(0).to_string();
    let mut p = shell(&home, &["-c", "-p", &seed]);
    p.exp_string(&format!("127.0.0.1:{seed}> ")).unwrap();
    settle();
    // The first Tab asks for the scan (the keystroke waits a few ms at most: the first
    // one, which connects, may miss it); the line is dropped, and the next Tab on the
    // same prefix is served what the scan found.
    p.send("get scanme:al\t").unwrap();
    p.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    p.send_control('c').unwrap();
    p.exp_regex(r"127\.0\.0\.1:\d+> ").unwrap();
    settle();
    // Past everything the first line showed.
    p.send_until_seen("echo between", "\"between\"", 3);
    p.exp_regex(r"127\.0\.0\.1:\d+> ").unwrap();
    settle();
    p.send("get scanme:al\t").unwrap();
    p.flush().unwrap();
    p.exp_string(&key).unwrap();
    p.send_line("").unwrap();
    p.exp_string("\"found-by-scan\"").unwrap();
    p.send_line("quit").unwrap();
    p.exp_eof().unwrap();
}

/// stdin a terminal, stdout a file (`rcli > out`): redis-cli's behaviour, none of the
/// additions — FLUSHALL runs unasked, `|` and `peek` go to the server as typed.
#[test]
fn typed_lines_with_stdout_in_a_file_behave_as_redis_cli() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let port = server.port().to_string();
    write_ok(&server.server.endpoint(), &["SET", "k", "v"]);
    let home = Home::new();
    let out = home.path.join("out.txt");
    let line = format!("exec '{}' -p {port} > '{}'", rcli_bin().display(), out.display());
    let mut cmd = std::process::Command::new("sh");
    hermetic(&mut cmd, &home.path);
    cmd.env("TERM", "xterm").env("PAGER", "false").args(["-c", &line]);
    let mut p = rexpect::session::spawn_command(cmd, Some(20_000)).unwrap();
    settle();
    p.send_line("echo a | wc -l").unwrap();
    settle();
    p.send_line("peek k").unwrap();
    settle();
    p.send_line("flushall").unwrap();
    settle();
    p.send_line("quit").unwrap();
    p.exp_eof().unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(!text.contains("type yes"), "{text}");
    assert!(text.contains("ERR unknown command 'peek'"), "{text}");
    assert!(text.contains("ERR wrong number of arguments for 'echo'"), "`|` was sent: {text}");
    assert!(text.contains("\nOK\n"), "{text}");
    let left = rcli::modes::sandbox::call(&server.server.endpoint(), &["DBSIZE"]).unwrap();
    assert_eq!(left.as_integer(), Some(0));
}
