//! Careless input and a hostile environment (issue 11): options out of range, output
//! that cannot be written, pasted lines, a sandbox ended by any signal, a database that
//! does not exist, a `:nodes` cell wider than any format width. Never a panic (exit
//! 101), always a documented exit code.

use std::fs::File;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use rexpect::session::spawn_command;

use crate::fake::{self, Act, FakeServer};

use crate::util::*;

/// Runs `cmd` with `input` on stdin and stdout sent to `stdout`; the exit code and
/// stderr, bounded to 30 s.
fn run_to(mut cmd: Command, input: &[u8], stdout: Stdio) -> (Option<i32>, String) {
    cmd.stdin(Stdio::piped()).stdout(stdout).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input);
    }
    let status = exited_within(&mut child, Duration::from_secs(30)).expect("did not finish");
    let mut err = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut stderr, &mut err);
    }
    (status.code(), err)
}

#[test]
fn options_out_of_range_are_usage_errors_not_panics() {
    let home = Home::new();
    for args in [
        &["-t", "1e300", "ping"][..],
        &["--timeout", "1e300", "ping"],
        &["--timeout", "1e19", "ping"],
        &["-i", "1e300", "ping"],
        &["--pipe-timeout", "18446744073709551615", "--pipe"],
        &["--down-after", "-1", "ping"],
        &["-t", "nan", "ping"],
    ] {
        let out = rcli_run(&home, args, "");
        assert_eq!(out.code, Some(2), "{args:?}: {}", out.stderr);
        assert!(!out.stderr.contains("panicked"), "{args:?}: {}", out.stderr);
    }
}

/// A full disk on stdout fails the run (exit 1) in every mode; a reader that goes away
/// (`| head -c0`) ends it quietly (exit 0); a full stderr is no panic.
#[test]
fn output_that_cannot_be_written_ends_the_run_with_the_right_code() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let port = server.port().to_string();
    let home = Home::new();
    let full = || Stdio::from(File::create("/dev/full").expect("/dev/full"));
    let cases: [(&[&str], &[u8]); 4] =
        [(&["get", "nokey"], b""), (&["--scan"], b""), (&[], b"ping\nping\n"), (&["--pipe"], b"*1\r\n$4\r\nPING\r\n")];
    call_all(&server, 200);
    for (args, input) in cases {
        let mut cmd = rcli(&home);
        cmd.args(["-p", &port]).args(args);
        let (code, stderr) = run_to(cmd, input, full());
        assert_eq!(code, Some(1), "{args:?} > /dev/full: {stderr}");
        assert!(stderr.contains("No space left on device"), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let mut cmd = rcli(&home);
    cmd.args(["-p", &port, "--pipe"]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    drop(child.stdout.take());
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(b"*1\r\n$4\r\nPING\r\n");
    }
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0), "--pipe | head -c0 ends quietly");
    let mut cmd = rcli(&home);
    cmd.args(["-p", "1", "ping"]).stderr(full()).stdout(Stdio::null());
    assert_eq!(cmd.status().expect("run").code(), Some(1), "a refused connection with stderr full");
}

/// Keys for `--scan` to list, so its output is big enough to hit the full disk.
fn call_all(server: &Standalone, keys: usize) {
    let endpoint = rcli::endpoint::Endpoint::tcp("127.0.0.1", server.port());
    for i in 0..keys {
        rcli::modes::sandbox::call(&endpoint, &["SET", &format!("key:{i}"), "v"]).unwrap();
    }
}

/// `:nodes` with a cell wider than any format width (70,000 characters of health).
#[test]
fn a_huge_nodes_cell_is_printed_not_a_panic() {
    let node = FakeServer::with_port(|port| {
        move |argv: &[Vec<u8>]| match fake::name2(argv).as_str() {
            "CLUSTER SHARDS" => fake::shards_reply(&"a".repeat(40), "127.0.0.1", u64::from(port), &"x".repeat(70_000)),
            "DBSIZE" => Act::Reply(b":0\r\n".to_vec()),
            _ => fake::error("ERR unknown command"),
        }
    });
    let home = Home::new();
    let out = rcli_run(&home, &["-c", "-p", &node.port.to_string()], ":nodes\n");
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.text().contains(&"x".repeat(70_000)), "the cell is printed whole");
}

/// `-n 99999`: like redis-cli, a warning and the session goes on in database 0.
#[test]
fn a_database_that_does_not_exist_is_a_warning() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let home = Home::new();
    let out = rcli_run(&home, &["-p", &server.port().to_string(), "-n", "99999", "ping"], "");
    assert_eq!((out.code, out.text().as_str()), (Some(0), "PONG\n"), "{}", out.stderr);
    assert_eq!(out.stderr, "SELECT 99999 failed: ERR DB index is out of range\n");
}

/// Pasting several lines runs each as its own command, in order, all of them: a
/// bracketed paste (two lines, then 300) and 3,000 lines typed ahead without it (33 KB:
/// eight times a terminal's input buffer, so typing waits on the shell as it reads;
/// the editor handles every key, about 0.1 ms of CPU each, so more lines only cost CPU
/// that three test passes at once on two cores do not have).
#[test]
fn every_pasted_line_runs_as_its_own_command() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let port = server.port().to_string();
    let endpoint = rcli::endpoint::Endpoint::tcp("127.0.0.1", server.port());
    let home = Home::new();
    let prompt = format!("127.0.0.1:{port}> ");
    let mut p = shell(&home, &["-p", &port]);
    p.exp_string(&prompt).unwrap();
    settle();
    p.send("\u{1b}[200~sadd s a\nsadd s b\n\u{1b}[201~").unwrap();
    p.send_and_expect("", &["(integer) 1", "(integer) 1", &prompt]);
    let incr = "incr pc\n".repeat(300);
    p.send(&format!("\u{1b}[200~{incr}\u{1b}[201~")).unwrap();
    p.send_and_expect("", &["(integer) 300"]);
    settle();
    let count = |key: &str| text(&rcli::modes::sandbox::call(&endpoint, &["GET", key]).unwrap());
    // Without bracketed paste: lines arrive while earlier ones run.
    let typed = "incr typed\n".repeat(3_000);
    // rexpect's reader thread drains the terminal meanwhile, as a terminal would.
    for chunk in typed.as_bytes().chunks(4096) {
        p.send(std::str::from_utf8(chunk).unwrap()).unwrap();
    }
    wait_for("3,000 typed lines to run", Duration::from_secs(240), || count("typed") == "3000");
    assert_eq!(count("pc"), "300");
}

/// The process id of an `rcli sandbox` started through `sh -c 'echo …; exec …'` in a
/// pty, its servers' temp directory prefix, and the session.
fn sandbox_in_pty(home: &Home, wait_until_ready: bool) -> (u32, rexpect::session::PtySession) {
    let mut cmd = Command::new("sh");
    hermetic(&mut cmd, &home.path);
    let bin = rcli_bin();
    cmd.env("TERM", "xterm")
        .args(["-c", &format!("echo \"rcli pid $$\"; exec {} sandbox --primaries 1 --replicas 0", bin.display())]);
    let mut p = spawn_command(cmd, Some(30_000)).expect("spawn");
    p.exp_string("rcli pid ").unwrap();
    let pid: u32 = p.exp_regex(r"\d+").unwrap().1.parse().unwrap();
    if wait_until_ready {
        p.exp_regex(r"127\.0\.0\.1:\d+> ").unwrap();
    } else {
        p.exp_string("starting").unwrap();
    }
    (pid, p)
}

/// Whatever is left of a sandbox started by process `pid`: temp directories and
/// running redis-servers in them.
fn leftovers(pid: u32) -> Vec<String> {
    let prefix = format!("rcli-cluster-{pid}-");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(std::env::temp_dir()).into_iter().flatten().flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            found.push(entry.path().display().to_string());
        }
    }
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.starts_with("redis-server") && cmdline.contains(&prefix) {
            found.push(cmdline);
        }
    }
    found
}

/// A sandbox ended by SIGHUP (a closed terminal), SIGTERM or `kill -9` — or by Ctrl-C
/// while its servers start — leaves no server and no directory behind.
#[test]
fn a_sandbox_ended_by_any_signal_leaves_nothing_behind() {
    if !have_redis() {
        return;
    }
    for (signal, ready) in [("HUP", true), ("TERM", true), ("KILL", true), ("INT", false)] {
        let home = Home::new();
        let (pid, mut p) = sandbox_in_pty(&home, ready);
        if signal == "INT" {
            p.send_control('c').unwrap();
        } else {
            let status = Command::new("kill").args([&format!("-{signal}"), &pid.to_string()]).status().unwrap();
            assert!(status.success());
        }
        let _ = p.exp_eof();
        wait_for(&format!("the sandbox to clean up after SIG{signal}"), Duration::from_secs(15), || {
            leftovers(pid).is_empty()
        });
    }
}

/// `REDISCLI_AUTH` meant for other servers does not break the sandbox.
#[test]
fn the_sandbox_works_whatever_redis_cli_auth_holds() {
    if !have_redis() {
        return;
    }
    let home = Home::new();
    let mut cmd = Command::new(rcli_bin());
    hermetic(&mut cmd, &home.path);
    cmd.env("REDISCLI_AUTH", "not-for-the-sandbox").env("TERM", "xterm").args([
        "sandbox",
        "--primaries",
        "1",
        "--replicas",
        "0",
    ]);
    let mut p = spawn_command(cmd, Some(30_000)).expect("spawn");
    p.exp_regex(r"127\.0\.0\.1:\d+> ").unwrap();
    settle();
    p.send_and_expect("set k v", &["OK"]);
    p.send_control('d').unwrap();
    let _ = p.exp_eof();
}
