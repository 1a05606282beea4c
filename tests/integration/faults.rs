//! Faults a real server cannot be made to produce, from a tiny fake server on loopback:
//! bytes that are not RESP, and a connection closed in the middle of a reply. rcli must
//! print one clear line and exit 1, never panic or hang.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread;

use crate::util::*;

/// Answers `reply` to the first command on each of `connections` connections, then
/// closes each one.
fn fake_server(reply: &'static [u8], connections: usize) -> (u16, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        for _ in 0..connections {
            if let Ok((mut socket, _)) = listener.accept() {
                let mut buf = [0u8; 1024];
                let _ = socket.read(&mut buf);
                let _ = socket.write_all(reply);
            }
        }
    });
    (port, handle)
}

#[test]
fn garbage_from_the_server_is_a_protocol_error_naming_the_node() {
    let (port, server) = fake_server(b"?what is this\r\n", 1);
    let home = Home::new();
    let out = rcli_run(&home, &["-p", &port.to_string(), "get", "foo"], "");
    server.join().unwrap();
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
    let (port, server) = fake_server(b"+O", 1);
    let home = Home::new();
    let out = rcli_run(&home, &["-p", &port.to_string(), "incr", "counter"], "");
    server.join().unwrap();
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("outcome unknown"), "{}", out.stderr);
}

#[test]
fn a_reply_cut_mid_frame_is_a_clear_error() {
    let (port, server) = fake_server(b"*3\r\n$3\r\nfoo\r\n$10\r\nabc", 2);
    let home = Home::new();
    let out = rcli_run(&home, &["-p", &port.to_string(), "mget", "a", "b", "c"], "");
    server.join().unwrap();
    assert_eq!(out.code, Some(1), "{out:?}");
    // MGET is read-only, so rcli tries once more on a fresh connection, cut again.
    assert_eq!(out.stderr, format!("127.0.0.1:{port}: Server closed the connection\n"));
    assert!(!out.stderr.contains("panicked"));
}
