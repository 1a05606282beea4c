//! The interactive shell in a pseudo-terminal: prompt, a command and its reply, the
//! `[db]` and `(TX)` prompt parts, Ctrl-C on a line and during a blocking command,
//! history without secrets and with mode 0600, Ctrl-D.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use rexpect::session::{PtySession, spawn_command};

use crate::util::*;

/// rcli in a pseudo-terminal with a hermetic environment; every wait is bounded.
pub fn shell(home: &Home, args: &[&str]) -> PtySession {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rcli"));
    hermetic(&mut cmd, &home.path);
    cmd.env("TERM", "xterm").args(args);
    spawn_command(cmd, Some(20_000)).expect("spawn rcli in a pty")
}

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
    p.send_line("set foo bar").unwrap();
    p.exp_string("OK").unwrap();
    p.exp_string(&prompt).unwrap();
    p.send_line("get foo").unwrap();
    p.exp_string("\"bar\"").unwrap();
    p.send_line("auth nosuchuser secretpw").unwrap();
    p.exp_string("(error) WRONGPASS").unwrap();
    p.exp_string(&prompt).unwrap();

    // Ctrl-C on a typed line clears it; the shell stays.
    p.send("get never-sent").unwrap();
    p.flush().unwrap();
    p.send_control('c').unwrap();
    p.exp_string(&prompt).unwrap();
    p.send_line("ping").unwrap();
    p.exp_string("PONG").unwrap();

    // Ctrl-C during a blocking command returns to a working prompt.
    p.send_line("blpop nokey 0").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    p.send_control('c').unwrap();
    p.exp_string("(interrupted)").unwrap();
    p.exp_string(&prompt).unwrap();
    p.send_line("echo still-here").unwrap();
    p.exp_string("\"still-here\"").unwrap();

    p.send_line("select 2").unwrap();
    p.exp_string(&format!("127.0.0.1:{port}[2]> ")).unwrap();
    p.send_line("multi").unwrap();
    p.exp_string(&format!("127.0.0.1:{port}[2](TX)> ")).unwrap();
    p.send_line("discard").unwrap();
    p.exp_string(&format!("127.0.0.1:{port}[2]> ")).unwrap();
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
    let port = rcli::sandbox::free_port().unwrap().to_string();
    let mut p = shell(&home, &["-p", &port]);
    p.exp_string("Could not connect to Redis at").unwrap();
    p.exp_string("not connected> ").unwrap();
    p.send_line("ping").unwrap();
    p.exp_string("Connection refused").unwrap();
    p.exp_string("not connected> ").unwrap();
    p.send_line("quit").unwrap();
    p.exp_eof().unwrap();
}
