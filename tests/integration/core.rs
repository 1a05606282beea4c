//! One node, the real binary: one-shot commands, piped lines, options, the errors users
//! hit and the documented exit codes (0 ok, 1 failure or `-e` error, 2 usage).

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use crate::eqnice;
use crate::util::*;

#[test]
fn one_shot_commands_print_raw_when_piped_and_formatted_with_no_raw() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let port = server.port().to_string();
    let home = Home::new();
    eqnice!("OK\n", rcli_run(&home, &["-p", &port, "set", "foo", "bar"], "").text());
    eqnice!("bar\n", rcli_run(&home, &["-p", &port, "get", "foo"], "").text());
    eqnice!("\"bar\"\n", rcli_run(&home, &["-p", &port, "--no-raw", "get", "foo"], "").text());
    eqnice!("(integer) -2\n", rcli_run(&home, &["-p", &port, "--no-raw", "ttl", "nosuch"], "").text());
    let error = rcli_run(&home, &["-p", &port, "incr", "foo"], "");
    eqnice!("ERR value is not an integer or out of range\n\n", error.text());
    assert_eq!(error.code, Some(0), "an error reply exits 0 without -e, like redis-cli");
}

#[test]
fn nothing_listening_is_one_line_and_exit_1() {
    let home = Home::new();
    let port = rcli::modes::sandbox::free_port().unwrap().to_string();
    let out = rcli_run(&home, &["-p", &port, "ping"], "");
    assert_eq!(out.code, Some(1));
    eqnice!(format!("Could not connect to Redis at 127.0.0.1:{port}: Connection refused\n"), out.stderr);
    let piped = rcli_run(&home, &["-p", &port], "ping\nping\n");
    assert_eq!(piped.code, Some(1), "piped commands left without a reply exit 1");
    assert!(piped.stderr.starts_with("Could not connect to Redis at"), "{}", piped.stderr);
}

#[test]
fn an_unknown_host_is_one_line_and_exit_1() {
    let home = Home::new();
    let out = rcli_run(&home, &["-h", "no-such-host.invalid", "ping"], "");
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.starts_with("Could not connect to Redis at no-such-host.invalid:6379: "), "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
}

#[test]
fn usage_errors_exit_2() {
    let home = Home::new();
    let out = rcli_run(&home, &["--no-such-option"], "");
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("--no-such-option"), "{}", out.stderr);
    let out = rcli_run(&home, &["-2", "-3", "ping"], "");
    assert_eq!(out.code, Some(2));
    eqnice!("Options -2 and -3 are mutually exclusive.\n", out.stderr);
    let out = rcli_run(&home, &["-u", "http://x", "ping"], "");
    assert_eq!(out.code, Some(2));
}

#[test]
fn piped_lines_skip_blank_lines_and_survive_bad_quotes() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let port = server.port().to_string();
    let home = Home::new();
    let out = rcli_run(&home, &["-p", &port], "set a 1\n\n   \nget \"a\nget a\n");
    eqnice!("OK\nInvalid argument(s)\n1\n", out.text());
    assert_eq!(out.code, Some(0));
}

#[test]
fn passwords_from_flags_uri_and_environment() {
    if !have_redis() {
        return;
    }
    let server = Standalone::start(&["--requirepass", "s3cret"]).unwrap();
    let port = server.port().to_string();
    let home = Home::new();
    let out = rcli_run(&home, &["-p", &port, "-a", "s3cret", "ping"], "");
    eqnice!("PONG\n", out.text());
    eqnice!(
        "Warning: Using a password with '-a' or '-u' option on the command line interface may not be safe.\n",
        out.stderr
    );
    let quiet = rcli_run(&home, &["-p", &port, "-a", "s3cret", "--no-auth-warning", "ping"], "");
    eqnice!("", quiet.stderr);
    let uri = rcli_run(
        &home,
        &["-u", &format!("redis://:s3cret@127.0.0.1:{port}/2"), "--no-auth-warning", "set", "k", "v"],
        "",
    );
    eqnice!("OK\n", uri.text());
    eqnice!("v\n", rcli_run(&home, &["-p", &port, "-a", "s3cret", "-n", "2", "get", "k"], "").text());
    let mut cmd = rcli(&home);
    cmd.args(["-p", &port, "ping"]).env("REDISCLI_AUTH", "s3cret");
    let env = run_with(cmd, b"", Duration::from_secs(30));
    eqnice!("PONG\n", env.text());
    eqnice!("", env.stderr);
    let wrong = rcli_run(&home, &["-p", &port, "-a", "wrong", "--no-auth-warning", "ping"], "");
    assert_eq!(wrong.code, Some(1));
    eqnice!("AUTH failed: WRONGPASS invalid username-password pair or user is disabled.\n", wrong.stderr);
    let missing = rcli_run(&home, &["-p", &port, "ping"], "");
    eqnice!("NOAUTH Authentication required.\n\n", missing.text());
}

#[test]
fn a_reconnect_restores_auth_db_and_client_name() {
    if !have_redis() {
        return;
    }
    let server = Standalone::start(&["--requirepass", "pw"]).unwrap();
    let port = server.port().to_string();
    let home = Home::new();
    let script =
        "AUTH pw\nSELECT 2\nCLIENT SETNAME me\nSET k v\nCLIENT KILL TYPE normal SKIPME no\nGET k\nCLIENT GETNAME\n";
    let out = rcli_run(&home, &["-p", &port, "--pipeline", "1"], script);
    eqnice!("OK\nOK\nOK\nOK\n1\nv\nme\n", out.text());
}

#[test]
fn unix_sockets_and_databases() {
    if !have_redis() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("rcli-sock-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let socket = dir.join("redis.sock");
    let server = Standalone::start(&["--unixsocket", socket.to_str().unwrap()]).unwrap();
    let home = Home::new();
    let out = rcli_run(&home, &["-s", socket.to_str().unwrap(), "-n", "3", "set", "k", "v"], "");
    eqnice!("OK\n", out.text());
    eqnice!("v\n", rcli_run(&home, &["-p", &server.port().to_string(), "-n", "3", "get", "k"], "").text());
    eqnice!("\n", rcli_run(&home, &["-p", &server.port().to_string(), "get", "k"], "").text());
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn stdin_as_last_argument_repeat_and_interval() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let port = server.port().to_string();
    let home = Home::new();
    eqnice!("OK\n", rcli_run(&home, &["-p", &port, "-x", "set", "k"], "line1\nline2\n").text());
    eqnice!("line1\nline2\n\n", rcli_run(&home, &["-p", &port, "get", "k"], "").text());
    eqnice!("1\n2\n3\n", rcli_run(&home, &["-p", &port, "-r", "3", "incr", "n"], "").text());
    eqnice!("4\n5\n", rcli_run(&home, &["-p", &port, "-r", "2", "-i", "0.05", "incr", "n"], "").text());
    eqnice!("PONG\nPONG\n", rcli_run(&home, &["-p", &port], "2 ping\n").text());
}

#[test]
fn dash_e_exits_1_on_the_first_error_reply_also_for_piped_lines() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let port = server.port().to_string();
    let home = Home::new();
    let one = rcli_run(&home, &["-p", &port, "-e", "lpush", "nolist"], "");
    assert_eq!(one.code, Some(1));
    eqnice!("ERR wrong number of arguments for 'lpush' command\n", one.stderr);
    let script = "set a 1\nincr a\nhget a f\nset b 2\n";
    for pipeline in ["512", "1"] {
        let piped = rcli_run(&home, &["-p", &port, "-e", "--pipeline", pipeline], script);
        assert_eq!(piped.code, Some(1));
        eqnice!("OK\n2\n", piped.text());
        eqnice!("WRONGTYPE Operation against a key holding the wrong kind of value\n", piped.stderr);
    }
    // One command at a time, nothing after the error runs (pipelined, the rest of the
    // batch already in flight may have; see docs/compatibility.md).
    rcli_run(&home, &["-p", &port, "del", "b"], "");
    rcli_run(&home, &["-p", &port, "-e", "--pipeline", "1"], script);
    eqnice!("", rcli_run(&home, &["-p", &port, "get", "b"], "").text().trim());
}

#[test]
fn help_works_offline() {
    let home = Home::new();
    let out = rcli_run(&home, &["-p", "1", "help", "set"], "");
    assert_eq!(out.code, Some(0));
    assert!(out.text().contains("summary: Set the string value of a key"), "{}", out.text());
}

#[test]
fn a_closed_stdout_exits_quietly() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let port = server.port().to_string();
    let home = Home::new();
    let values: Vec<String> = (0..20000).map(|i| format!("value-{i}")).collect();
    let mut rpush = vec!["-p".to_string(), port.clone(), "rpush".into(), "big".into()];
    rpush.extend(values);
    let args: Vec<&str> = rpush.iter().map(String::as_str).collect();
    eqnice!("20000\n", rcli_run(&home, &args, "").text());
    let mut cmd = rcli(&home);
    cmd.args(["-p", &port, "-r", "50", "lrange", "big", "0", "-1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    drop(reader);
    let status = exited_within(&mut child, Duration::from_secs(30)).expect("rcli kept running after stdout closed");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    eqnice!("value-0\n", first);
    assert_eq!(status.code(), Some(0), "stderr: {stderr}");
    eqnice!("", stderr);
}

/// SHUTDOWN succeeds by closing the connection: silent and exit 0 as in redis-cli, never
/// "outcome unknown"; in piped input, commands after it meet a server that is gone.
/// `SHUTDOWN ABORT` is an ordinary command.
#[test]
fn shutdown_is_a_success_not_a_lost_reply() {
    if !have_redis() {
        return;
    }
    let home = Home::new();
    let server = standalone();
    let port = server.port().to_string();
    let aborted = rcli_run(&home, &["-p", &port, "shutdown", "abort"], "");
    assert_eq!((aborted.code, aborted.text().as_str()), (Some(0), "ERR No shutdown in progress.\n\n"));
    let out = rcli_run(&home, &["-p", &port, "shutdown", "nosave"], "");
    assert_eq!((out.code, out.text().as_str(), out.stderr.as_str()), (Some(0), "", ""));
    let server = standalone();
    let port = server.port().to_string();
    let piped = rcli_run(&home, &["-p", &port], "ping\nshutdown nosave\n");
    assert_eq!((piped.code, piped.text().as_str(), piped.stderr.as_str()), (Some(0), "PONG\n", ""));
}
