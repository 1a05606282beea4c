//! Key names for completion from a SCAN of the current node or the cluster's primaries,
//! on demand (docs/shell.md): a Tab at a key position asks for the typed prefix; a
//! background thread with its own connections runs `SCAN … MATCH prefix* COUNT 200` on
//! each node, bounded (at most [`PER_REQUEST`] names and [`ROUNDS`] calls a node, each
//! read bounded), and adds what it finds to a shared list. The keystroke waits at most
//! [`KEYSTROKE_WAIT`] for it; a slower answer serves the next Tab.

use std::collections::HashSet;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::client::pool::{LinkSettings, Pool};
use crate::client::state::SessionState;
use crate::endpoint::Endpoint;
use crate::protocol::resp::Frame;

/// Names one request adds at most.
pub const PER_REQUEST: usize = 300;
/// SCAN calls on one node for one request at most.
pub const ROUNDS: usize = 20;
/// Names kept at most.
const KEPT: usize = 5000;
/// How long a keystroke waits for a fresh scan.
pub const KEYSTROKE_WAIT: Duration = Duration::from_millis(5);
/// The wait for one SCAN reply.
const REPLY_WAIT: Duration = Duration::from_secs(2);

/// What the scans found, shared with the line editor's helper.
#[derive(Default)]
struct Found {
    names: Vec<Vec<u8>>,
    /// Prefixes asked for, and whether their scan is over.
    asked: HashSet<Vec<u8>>,
    done: HashSet<Vec<u8>>,
}

/// The handle the helper holds; dropping the last one ends the thread.
pub struct KeyScanner {
    found: Arc<Mutex<Found>>,
    requests: Sender<Vec<u8>>,
}

/// `prefix*` as a SCAN pattern, the glob characters in the prefix escaped.
pub fn pattern(prefix: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(prefix.len() + 1);
    for &b in prefix {
        if matches!(b, b'*' | b'?' | b'[' | b']' | b'\\') {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'*');
    out
}

/// The next cursor and the names of a SCAN reply.
fn parse(reply: &Frame) -> Option<(Vec<u8>, Vec<Vec<u8>>)> {
    match reply.as_items()? {
        [cursor, names] => Some((
            cursor.as_bytes()?.to_vec(),
            names
                .as_items()?
                .iter()
                .filter_map(|n| n.as_bytes().filter(|n| n.len() <= 256).map(<[u8]>::to_vec))
                .collect(),
        )),
        _ => None,
    }
}

impl KeyScanner {
    /// Starts the thread that scans `nodes` with the session's login and database.
    pub fn start(nodes: Vec<Endpoint>, state: SessionState, settings: LinkSettings) -> KeyScanner {
        let found = Arc::new(Mutex::new(Found::default()));
        let (requests, receiver) = mpsc::channel();
        let shared = Arc::clone(&found);
        let spawned = std::thread::Builder::new()
            .name("rcli-key-scan".into())
            .spawn(move || serve(&nodes, Pool::new(state, settings), &receiver, &shared));
        if spawned.is_err() {
            // No thread: completion goes on with the keys seen.
            let (dead, _) = mpsc::channel();
            return KeyScanner { found, requests: dead };
        }
        KeyScanner { found, requests }
    }

    /// Asks for the keys starting with `prefix` (once per prefix) and waits at most
    /// [`KEYSTROKE_WAIT`] for the answer.
    pub fn request(&self, prefix: &[u8]) {
        let Ok(mut found) = self.found.lock() else { return };
        if !found.asked.insert(prefix.to_vec()) {
            return;
        }
        drop(found);
        if self.requests.send(prefix.to_vec()).is_err() {
            return;
        }
        let until = Instant::now() + KEYSTROKE_WAIT;
        while Instant::now() < until {
            if self.found.lock().is_ok_and(|f| f.done.contains(prefix)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Every name found so far.
    pub fn names(&self) -> Vec<Vec<u8>> {
        self.found.lock().map(|f| f.names.clone()).unwrap_or_default()
    }
}

/// The thread: one request at a time until the handle is dropped.
fn serve(nodes: &[Endpoint], mut pool: Pool, requests: &Receiver<Vec<u8>>, found: &Mutex<Found>) {
    while let Ok(prefix) = requests.recv() {
        let names = scan(&mut pool, nodes, &prefix);
        let Ok(mut shared) = found.lock() else { return };
        for name in names {
            if shared.names.len() < KEPT && !shared.names.contains(&name) {
                shared.names.push(name);
            }
        }
        shared.done.insert(prefix);
    }
}

/// Names starting with `prefix` on `nodes`, bounded.
fn scan(pool: &mut Pool, nodes: &[Endpoint], prefix: &[u8]) -> Vec<Vec<u8>> {
    let pattern = pattern(prefix);
    let mut names = Vec::new();
    for node in nodes {
        let mut cursor = b"0".to_vec();
        for _ in 0..ROUNDS {
            let argv: [&[u8]; 6] = [b"SCAN", &cursor, b"MATCH", &pattern, b"COUNT", b"200"];
            let Some((next, batch)) = pool.request(node, &argv, Some(REPLY_WAIT)).ok().as_ref().and_then(parse) else {
                break;
            };
            names.extend(batch);
            if next == b"0" || names.len() >= PER_REQUEST {
                break;
            }
            cursor = next;
        }
        if names.len() >= PER_REQUEST {
            names.truncate(PER_REQUEST);
            break;
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prefix_is_matched_literally() {
        assert_eq!(pattern(b"user:"), b"user:*");
        assert_eq!(pattern(b"a*b?[c]\\"), b"a\\*b\\?\\[c\\]\\\\*");
        assert_eq!(pattern(b""), b"*");
    }

    #[test]
    fn scan_replies_are_read_defensively() {
        let reply = Frame::Array(vec![
            Frame::Bulk(b"17".to_vec()),
            Frame::Array(vec![Frame::Bulk(b"k1".to_vec()), Frame::Integer(3), Frame::Bulk(vec![b'x'; 300])]),
        ]);
        assert_eq!(parse(&reply), Some((b"17".to_vec(), vec![b"k1".to_vec()])));
        assert_eq!(parse(&Frame::Error(b"ERR".to_vec())), None);
        assert_eq!(parse(&Frame::Array(vec![])), None);
    }
}
