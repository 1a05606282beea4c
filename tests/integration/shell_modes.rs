//! redis-cli's interactive modes in a pseudo-terminal (issue 14): the Lua debugger
//! (`--ldb`, `--ldb-sync-mode`), RESP3 pushes shown as redis-cli shows them
//! (`--show-pushes`), and the shell's subscribed mode.

use std::io::Write;

use rcli::endpoint::Endpoint;
use rcli::modes::sandbox::call;

use crate::util::*;

fn script(dir: &Home, text: &str) -> String {
    let path = dir.path.join("debugged.lua");
    std::fs::File::create(&path).unwrap().write_all(text.as_bytes()).unwrap();
    path.display().to_string()
}

/// A session in the debugger: step, print, continue; the script's changes are rolled
/// back (forked session) or kept (`--ldb-sync-mode`), and the shell goes on afterwards
/// at the normal prompt, as in redis-cli.
#[test]
fn the_lua_debugger_steps_prints_and_ends_like_redis_cli() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let port = server.port().to_string();
    let endpoint = Endpoint::tcp("127.0.0.1", server.port());
    let dir = Home::new();
    let lua = script(&dir, "local a = redis.call('SET', KEYS[1], ARGV[1])\nreturn redis.call('GET', KEYS[1])\n");
    let prompt = format!("127.0.0.1:{port}> ");
    for (flag, ending, kept) in [
        ("--ldb", "(Lua debugging session ended -- dataset changes rolled back)", false),
        ("--ldb-sync-mode", "(Lua debugging session ended)", true),
    ] {
        call(&endpoint, &["DEL", "dk"]).unwrap();
        let home = Home::new();
        let mut p = shell(&home, &["-p", &port, flag, "--eval", &lua, "dk", ",", "dv"]);
        p.exp_string("Lua debugging session started, please use:").unwrap();
        p.exp_string("* Stopped at 1, stop reason = step over").unwrap();
        p.exp_string("-> 1   local a = redis.call('SET', KEYS[1], ARGV[1])").unwrap();
        p.exp_string("lua debugger> ").unwrap();
        settle();
        p.send_line("step").unwrap();
        // The server writes these lines; the prefix of a command the script ran is its
        // own (`<redis>` in Redis 7.0, `<command>` in Valkey 8): rcli prints it as sent.
        p.exp_regex("<[a-z]+> SET dk dv").unwrap();
        p.exp_string("<reply> \"+OK\"").unwrap();
        p.exp_string("-> 2   return redis.call('GET', KEYS[1])").unwrap();
        p.exp_string("lua debugger> ").unwrap();
        settle();
        p.send_line("print").unwrap();
        // The server's text: `{["ok"]="OK"}` (Redis 7.0, Valkey 8), `{[ok]=OK; }` (Valkey 9).
        p.exp_regex(r#"<value> a = \{\["?ok"?\]="?OK"?(; )?\}"#).unwrap();
        p.exp_string("lua debugger> ").unwrap();
        settle();
        p.send_and_expect("continue", &["\"dv\"", ending, &prompt]);
        settle();
        p.send_and_expect("exists dk", &[if kept { "(integer) 1" } else { "(integer) 0" }, &prompt]);
        p.send_control('d').unwrap();
        p.exp_eof().unwrap();
    }
}

/// Client-side caching: an invalidation met while reading the next reply is shown as
/// redis-cli shows it, before that reply; `--show-pushes n` hides it.
#[test]
fn resp3_pushes_are_shown_before_the_next_reply() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let port = server.port().to_string();
    let endpoint = Endpoint::tcp("127.0.0.1", server.port());
    let prompt = format!("127.0.0.1:{port}> ");
    for (extra, shown) in [(None, true), (Some("n"), false)] {
        call(&endpoint, &["DEL", "tracked"]).unwrap();
        let home = Home::new();
        let mut args = vec!["-3", "-p", &port];
        if let Some(value) = extra {
            args.extend(["--show-pushes", value]);
        }
        let mut p = shell(&home, &args);
        p.exp_string(&prompt).unwrap();
        settle();
        p.send_and_expect("client tracking on", &["OK", &prompt]);
        settle();
        p.send_line("get tracked").unwrap();
        // Its reply, not the prompt: the prompt is redrawn while the line is typed.
        p.exp_string("(nil)").unwrap();
        p.exp_string(&prompt).unwrap();
        call(&endpoint, &["SET", "tracked", "changed"]).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(200));
        settle();
        p.send_line("echo after").unwrap();
        let before = p.exp_string("\"after\"").unwrap();
        assert_eq!(before.contains("-> invalidate: 'tracked'"), shown, "{before:?}");
        p.exp_string(&prompt).unwrap();
        p.send_control('d').unwrap();
        p.exp_eof().unwrap();
    }
}

/// SUBSCRIBE turns the prompt into `(subscribed mode)`; messages appear while it waits;
/// PING and UNSUBSCRIBE are typed there; the normal prompt comes back when no
/// subscription is left.
#[test]
fn the_shell_has_a_subscribed_mode() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let port = server.port().to_string();
    let endpoint = Endpoint::tcp("127.0.0.1", server.port());
    let prompt = format!("127.0.0.1:{port}> ");
    let subscribed = format!("127.0.0.1:{port}(subscribed mode)> ");
    let home = Home::new();
    let mut p = shell(&home, &["-p", &port]);
    p.exp_string(&prompt).unwrap();
    settle();
    p.send_and_expect(
        "subscribe ch1 ch2",
        &["Reading messages... (press Ctrl-C to quit)", "2) \"ch2\"\r\n3) (integer) 2", &subscribed],
    );
    let receivers = call(&endpoint, &["PUBLISH", "ch1", "hello"]).unwrap();
    assert_eq!(receivers, rcli::protocol::resp::Frame::Integer(1));
    p.exp_string("1) \"message\"\r\n2) \"ch1\"\r\n3) \"hello\"").unwrap();
    settle();
    p.send_and_expect("ping", &["1) \"pong\"\r\n2) \"\"", &subscribed]);
    settle();
    p.send_and_expect("unsubscribe", &["3) (integer) 0", &prompt]);
    settle();
    p.send_and_expect("echo back", &["\"back\""]);
    let numsub = call(&endpoint, &["PUBSUB", "NUMSUB", "ch1"]).unwrap();
    assert_eq!(
        numsub.as_items().and_then(|items| items.get(1).cloned()),
        Some(rcli::protocol::resp::Frame::Integer(0))
    );
    p.send_control('d').unwrap();
    p.exp_eof().unwrap();
}
