//! The interactive shell in a pseudo-terminal: prompt, a command and its reply, the
//! `[db]` and `(TX)` prompt parts, Ctrl-C on a line and during a blocking command,
//! history without secrets and with mode 0600, Ctrl-D.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use rexpect::session::spawn_command;

use crate::util::*;

#[test]
fn shell_prompt_replies_ctrl_c_history_and_ctrl_d() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let port = server.port().to_string();
    let home = Home::new();
    let prompt = format!("127.0.0.1:{port}> ");
    let mut p = shell(&home, &["-p", &port]);
    p.exp_string(&prompt).unwrap();
    p.send_and_expect("set foo bar", &["OK", &prompt]);
    p.send_and_expect("get foo", &["\"bar\""]);
    p.send_and_expect("auth nosuchuser secretpw", &["(error) WRONGPASS", &prompt]);

    // Ctrl-C on a typed line clears it; the shell stays.
    p.send("get never-sent").unwrap();
    p.flush().unwrap();
    p.send_control('c').unwrap();
    p.exp_string(&prompt).unwrap();
    settle();
    p.send_and_expect("ping", &["PONG"]);

    // Ctrl-C during a blocking command returns to a working prompt.
    p.send_line("blpop nokey 0").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    p.send_control('c').unwrap();
    p.exp_string("(interrupted)").unwrap();
    p.exp_string(&prompt).unwrap();
    settle();
    p.send_and_expect("echo still-here", &["\"still-here\""]);

    p.send_and_expect("select 2", &[&format!("127.0.0.1:{port}[2]> ")]);
    p.send_and_expect("multi", &[&format!("127.0.0.1:{port}[2](TX)> ")]);
    p.send_and_expect("discard", &[&format!("127.0.0.1:{port}[2]> ")]);
    p.send_control('d').unwrap();
    p.exp_eof().unwrap();

    let history = home.path.join("data").join("rcli").join("history");
    let text = std::fs::read_to_string(&history).expect("history file written");
    assert!(text.contains("set foo bar\n") && text.contains("get foo\n"), "{text}");
    assert!(!text.contains("secretpw"), "AUTH must never reach the history file: {text}");
    assert!(!text.contains("never-sent"), "{text}");
    let mode = std::fs::metadata(&history).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn shell_starts_when_nothing_listens_and_says_not_connected() {
    let home = Home::new();
    let port = rcli::modes::sandbox::free_port().unwrap().to_string();
    let mut p = shell(&home, &["-p", &port]);
    p.exp_string("Could not connect to Redis at").unwrap();
    p.exp_string("not connected> ").unwrap();
    p.send_and_expect("ping", &["Connection refused", "not connected> "]);
    p.send_line("quit").unwrap();
    p.exp_eof().unwrap();
}

#[test]
fn the_shell_completes_hints_and_warns_while_typing_on_a_cluster() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 0);
    let home = Home::new();
    let seed = cluster.port(0).to_string();
    let mut p = shell(&home, &["-c", "-p", &seed]);
    let prompt = format!("127.0.0.1:{seed}> ");
    p.exp_string(&prompt).unwrap();

    // ge<Tab> completes GET: sent without arguments, the server names the command.
    p.send("ge\t").unwrap();
    p.flush().unwrap();
    p.exp_string("GET").unwrap();
    p.send_and_expect("", &["(error) ERR wrong number of arguments for 'get' command"]);

    // Hints while typing: the syntax, then where the key lands.
    p.send("set foo ").unwrap();
    p.flush().unwrap();
    // SET's syntax as the server documents it (Redis 7.0 `value [NX|XX] [GET] …`,
    // Valkey 8.1 `value [NX|XX|IFEQ comparison-value] [GET] …`), the key given.
    let reply = rcli::modes::sandbox::call(&cluster.endpoint(0), &["COMMAND", "DOCS", "SET"]).unwrap();
    let docs = rcli::shell::docs::Docs::from_reply(&reply);
    let set = docs.lookup(&["set"]).expect("the server documents SET");
    let syntax = set.syntax();
    let rest = syntax.strip_prefix("key ").expect("SET's first argument is its key");
    let hint = &rest[..rest.find("[GET]").expect("SET has GET") + "[GET]".len()];
    p.exp_string(hint).unwrap();
    p.exp_string("slot 12182").unwrap();
    p.send_control('c').unwrap();
    // The editor drops type-ahead when it starts a new line: wait for the prompt.
    p.exp_string(&prompt).unwrap();
    settle();

    p.send("mset a 1 b 2").unwrap();
    p.flush().unwrap();
    p.exp_string("CROSSSLOT: a ").unwrap();
    p.exp_string("15495").unwrap();
    p.send_control('c').unwrap();
    p.exp_string(&prompt).unwrap();
    settle();

    p.send_and_expect("help set", &[&format!("summary: {}", set.summary)]);

    p.exp_string(&prompt).unwrap();
    p.send_and_expect("set tutorial:key hello", &["OK", "> "]);
    // Ctrl-R finds the earlier line; Enter runs it again.
    p.send_control('r').unwrap();
    p.send("tutorial:k").unwrap();
    p.flush().unwrap();
    p.exp_string("reverse-i-search").unwrap();
    p.send_and_expect("", &["OK", "> "]);

    p.send_line("blpop nokey 0").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    p.send_control('c').unwrap();
    p.exp_string("(interrupted)").unwrap();
    p.exp_string("> ").unwrap();
    settle();
    p.send_and_expect("get tutorial:key", &["\"hello\""]);
    p.send_control('d').unwrap();
    p.exp_eof().unwrap();

    // The rc file's `:set hops off` applies at start: no redirect line, same reply.
    let rc = home.path.join("rclirc");
    std::fs::write(&rc, "# rcli preferences\n:set hops off\n:set nohints\n").unwrap();
    let mut cmd = Command::new(rcli_bin());
    hermetic(&mut cmd, &home.path);
    cmd.env("TERM", "xterm").env("RCLI_RCFILE", &rc).args(["-c", "-p", &seed]);
    let mut quiet = spawn_command(cmd, Some(20_000)).unwrap();
    quiet.exp_string(&prompt).unwrap();
    quiet.send_line("get tutorial:key").unwrap();
    let before = quiet.exp_string("\"hello\"").unwrap();
    assert!(!before.contains("Redirected"), "hops are off: {before:?}");
    quiet.send_line("quit").unwrap();
    quiet.exp_eof().unwrap();
}

/// `--askpass` reads the password from the terminal, masked, and uses it.
#[test]
fn askpass_reads_a_masked_password() {
    if !have_redis() {
        return;
    }
    let server = Standalone::start(&["--requirepass", "s3cret"]).unwrap();
    let home = Home::new();
    let mut p = shell(&home, &["-p", &server.port().to_string(), "--askpass", "ping"]);
    p.exp_string("Please input password: ").unwrap();
    settle();
    p.send_line("s3cret").unwrap();
    let shown = p.exp_string("PONG").unwrap();
    assert!(!shown.contains("s3cret"), "the password was echoed: {shown:?}");
    p.exp_eof().unwrap();
}

/// Ctrl-R (newer redis-cli's reverse history search) finds a line typed in an earlier
/// session, read back from the history file, and Enter runs it.
#[test]
fn ctrl_r_searches_the_history_of_earlier_sessions() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let port = server.port().to_string();
    let home = Home::new();
    let prompt = format!("127.0.0.1:{port}> ");
    let mut p = shell(&home, &["-p", &port]);
    p.exp_string(&prompt).unwrap();
    p.send_and_expect("incr ctrlr:counter", &["(integer) 1", &prompt]);
    p.send_and_expect("ping", &["PONG", &prompt]);
    p.send_control('d').unwrap();
    p.exp_eof().unwrap();

    let mut p = shell(&home, &["-p", &port]);
    p.exp_string(&prompt).unwrap();
    settle();
    p.send_control('r').unwrap();
    p.send("ctrlr:c").unwrap();
    p.flush().unwrap();
    p.exp_string("reverse-i-search").unwrap();
    p.send_and_expect("", &["(integer) 2", &prompt]);
    p.send_control('d').unwrap();
    p.exp_eof().unwrap();
}
