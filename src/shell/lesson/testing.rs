//! Helpers for the lessons' unit tests: typed lines, their attempts (keys from the
//! built-in command table), replies, and a 3+3 slot map on ports 7000-7005.

use std::sync::OnceLock;

use super::Attempt;
use crate::cluster::commands::CommandTable;
use crate::cluster::topology::{Node, Shard, Topology};
use crate::endpoint::Endpoint;
use crate::protocol::resp::Frame;
use crate::session::outcome::Outcome;

/// A line split on spaces.
pub fn words(line: &str) -> Vec<Vec<u8>> {
    line.split(' ').filter(|w| !w.is_empty()).map(|w| w.as_bytes().to_vec()).collect()
}

/// The attempt of `argv` with its keys from the built-in command table.
pub fn typed<'a>(argv: &'a [Vec<u8>], outcome: Option<&'a Outcome>) -> Attempt<'a> {
    static TABLE: OnceLock<CommandTable> = OnceLock::new();
    let positions = TABLE.get_or_init(CommandTable::builtin).key_positions(argv);
    Attempt::new(argv, &positions, outcome, None)
}

pub fn ok() -> Outcome {
    Outcome::Scalar(Frame::Simple(b"OK".as_slice().into()))
}

pub fn error(text: &str) -> Outcome {
    Outcome::Scalar(Frame::Error(text.as_bytes().to_vec()))
}

pub fn bulk(text: &str) -> Outcome {
    Outcome::Scalar(Frame::Bulk(text.as_bytes().to_vec()))
}

pub fn node(port: u16) -> Endpoint {
    Endpoint::tcp("127.0.0.1", port)
}

/// Three primaries (7000: 0-5460, 7001: 5461-10922, 7002: 10923-16383) with one
/// replica each (7003, 7004, 7005); `promoted` swaps a primary with its replica.
pub fn topology(promoted: Option<u16>) -> Topology {
    let member = |port: u16, primary: bool| Node {
        id: format!("id{port}"),
        endpoint: node(port),
        primary,
        health: "online".into(),
        hostname: None,
        zone: None,
    };
    let shards = [(7000, 7003, 0, 5460), (7001, 7004, 5461, 10922), (7002, 7005, 10923, 16383)]
        .into_iter()
        .map(|(primary, replica, start, end)| {
            let (primary, replica) = if promoted == Some(primary) { (replica, primary) } else { (primary, replica) };
            Shard {
                primary: Some(member(primary, true)),
                replicas: vec![member(replica, false)],
                ranges: vec![(start, end)],
            }
        })
        .collect();
    Topology::new(shards).unwrap()
}
