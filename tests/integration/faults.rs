//! Faults a real server cannot be made to produce, from a tiny fake server on loopback:
//! bytes that are not RESP, and a connection closed in the middle of a reply. rcli must
//! print one clear line and exit 1, never panic or hang.

use crate::fake::{Act, FakeServer};
use crate::util::*;

/// Answers `reply` to every command, then closes that connection.
fn fake_server(reply: &'static [u8]) -> FakeServer {
    FakeServer::start(move |_| Act::ReplyAndClose(reply.to_vec()))
}

#[test]
fn garbage_from_the_server_is_a_protocol_error_naming_the_node() {
    let server = fake_server(b"?what is this\r\n");
    let port = server.port;
    let home = Home::new();
    let out = rcli_run(&home, &["-p", &port.to_string(), "get", "foo"], "");
    drop(server);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr.contains(&format!("127.0.0.1:{port}: Protocol error: unexpected reply type byte '?'")),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("panicked"));
}

#[test]
fn a_write_whose_reply_is_cut_is_reported_as_outcome_unknown() {
    let server = fake_server(b"+O");
    let port = server.port;
    let home = Home::new();
    let out = rcli_run(&home, &["-p", &port.to_string(), "incr", "counter"], "");
    drop(server);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("outcome unknown"), "{}", out.stderr);
}

#[test]
fn a_reply_cut_mid_frame_is_a_clear_error() {
    let server = fake_server(b"*3\r\n$3\r\nfoo\r\n$10\r\nabc");
    let port = server.port;
    let home = Home::new();
    let out = rcli_run(&home, &["-p", &port.to_string(), "mget", "a", "b", "c"], "");
    drop(server);
    assert_eq!(out.code, Some(1), "{out:?}");
    // MGET is read-only, so rcli tries once more on a fresh connection, cut again.
    assert_eq!(out.stderr, format!("127.0.0.1:{port}: Server closed the connection\n"));
    assert!(!out.stderr.contains("panicked"));
}

#[test]
fn a_node_that_closes_without_a_word_is_one_line_and_exit_1() {
    let server = FakeServer::start(|_| Act::Close);
    let home = Home::new();
    let out = rcli_run(&home, &["-p", &server.port.to_string(), "get", "foo"], "");
    assert_eq!(out.code, Some(1), "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
}
