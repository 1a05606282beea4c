//! One batch of piped commands: the entries in input order and each node's share
//! encoded back to back; and the links the batches travel on. A node's link is lent by
//! the pool while any batch on it owes replies, and goes back only when none does; a
//! link whose read failed is dropped, and what was sent on it is accounted for
//! without waiting again.

use std::time::Duration;

use crate::client::pool::{Exchange, Pool};
use crate::client::routed::Outcome;
use crate::cluster::command::Traits;
use crate::cluster::event::Event;
use crate::endpoint::Endpoint;
use crate::error::{Error, os_message, os_message_of};

/// What became of one command of a batch.
#[derive(Debug)]
pub enum Status {
    /// Queued on a node, waiting for its reply.
    Queued,
    /// What the node (or the link to it) gave back.
    Answered(Outcome),
    /// rcli's own verdict: refused, node down, or the follow-up failed.
    Failed(Error),
    /// The line could not be split.
    Invalid,
}

/// One input command.
pub struct Entry {
    pub argv: Vec<Vec<u8>>,
    /// What kind of command it is, for the retry loop.
    pub traits: Traits,
    pub slot: Option<u16>,
    /// Index of the node it was sent to, in [`super::Pipeline::nodes`].
    pub node: usize,
    pub events: Vec<Event>,
    pub status: Status,
}

impl Entry {
    /// True when the status is more than a reply to print: an error reply (a
    /// redirect, a transient error…) or no reply at all.
    pub fn needs_attention(&self) -> bool {
        match &self.status {
            Status::Answered(Outcome::Reply(frame)) => frame.as_error().is_some(),
            Status::Answered(_) => true,
            _ => false,
        }
    }
}

/// The commands of a batch bound for one node, encoded back to back.
#[derive(Default)]
pub struct NodeQueue {
    pub buf: Vec<u8>,
    /// Per command: its entry index and the end of its bytes in `buf`.
    pub commands: Vec<(usize, usize)>,
    /// How many commands were completely written.
    pub written: usize,
    /// The link they were written on.
    link: u64,
}

/// One batch: entries in input order and per-node queues (indexed like the nodes).
#[derive(Default)]
pub struct Batch {
    pub entries: Vec<Entry>,
    pub queues: Vec<NodeQueue>,
    /// Its replies have been read already.
    pub received: bool,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The queue for node `node`, created on first use.
    #[allow(clippy::indexing_slicing, reason = "the vector was just resized to hold `node`")]
    pub fn queue(&mut self, node: usize) -> &mut NodeQueue {
        if self.queues.len() <= node {
            self.queues.resize_with(node + 1, NodeQueue::default);
        }
        &mut self.queues[node]
    }

    /// Empties a printed batch so the next one reuses its buffers.
    pub fn recycle(&mut self) {
        self.entries.clear();
        self.received = false;
        for q in &mut self.queues {
            q.buf.clear();
            q.commands.clear();
            q.written = 0;
        }
    }
}

enum Link {
    Idle,
    Open { exchange: Exchange, id: u64 },
    Broken { cause: Outcome, id: u64 },
}

/// The link of every node a batch went to.
#[derive(Default)]
pub struct Links {
    links: Vec<Link>,
    next_id: u64,
}

impl Links {
    #[allow(clippy::indexing_slicing, reason = "the vector was just resized to hold `node`")]
    fn slot(&mut self, node: usize) -> &mut Link {
        if self.links.len() <= node {
            self.links.resize_with(node + 1, || Link::Idle);
        }
        &mut self.links[node]
    }

    /// Writes node `node`'s share of a batch; commands that could not be written are
    /// answered as unsent.
    pub fn send(
        &mut self,
        pool: &mut Pool,
        node: usize,
        endpoint: &Endpoint,
        q: &mut NodeQueue,
        entries: &mut [Entry],
    ) {
        if q.commands.is_empty() {
            return;
        }
        if !matches!(self.slot(node), Link::Open { .. }) {
            match pool.borrow(endpoint) {
                Ok(exchange) => {
                    self.next_id += 1;
                    *self.slot(node) = Link::Open { exchange, id: self.next_id };
                }
                Err(error) => {
                    let cause = os_message_of(&error);
                    for &(entry, _) in &q.commands {
                        set(entries, entry, Status::Answered(Outcome::Unsent(unsent(endpoint, &cause))));
                    }
                    q.written = 0;
                    return;
                }
            }
        }
        let Link::Open { exchange, id } = self.slot(node) else { return };
        let (whole, error) = exchange.send_counted(&q.buf, q.commands.iter().map(|(_, end)| *end));
        q.written = whole;
        q.link = *id;
        if let Some(error) = error {
            let cause = os_message_of(&error);
            for &(entry, _) in q.commands.get(whole..).unwrap_or_default() {
                set(entries, entry, Status::Answered(Outcome::Unsent(unsent(endpoint, &cause))));
            }
        }
    }

    /// Reads the replies of node `node`'s share of a batch. After a failed read, this
    /// and every later command on the link is answered with the same failure at once.
    pub fn receive(
        &mut self,
        node: usize,
        endpoint: &Endpoint,
        q: &NodeQueue,
        entries: &mut [Entry],
        idle: Option<Duration>,
    ) {
        let written = q.commands.get(..q.written).unwrap_or_default();
        if written.is_empty() {
            return;
        }
        let link = self.slot(node);
        let mut failure: Option<Outcome> = match link {
            Link::Open { id, .. } if *id == q.link => None,
            Link::Broken { cause, id } if *id == q.link => Some(same(cause)),
            _ => Some(Outcome::Lost(Error::Closed { addr: endpoint.to_string() })),
        };
        for &(entry, _) in written {
            let status = match (&failure, &mut *link) {
                (None, Link::Open { exchange, id }) => match exchange.read(idle) {
                    Ok(frame) => Status::Answered(Outcome::Reply(frame)),
                    Err(error) => {
                        let outcome = Outcome::after_send(error);
                        let cause = same(&outcome);
                        let id = *id;
                        failure = Some(same(&outcome));
                        *link = Link::Broken { cause, id };
                        Status::Answered(outcome)
                    }
                },
                (Some(cause), _) => Status::Answered(same(cause)),
                (None, _) => Status::Answered(Outcome::Lost(Error::Closed { addr: endpoint.to_string() })),
            };
            set(entries, entry, status);
        }
    }

    /// Gives every link that owes nothing back to the pool (before rcli uses the
    /// connections for anything else), and forgets broken ones.
    pub fn give_back(&mut self, pool: &mut Pool) {
        for link in &mut self.links {
            match std::mem::replace(link, Link::Idle) {
                Link::Open { exchange, id } if exchange.owed() > 0 => *link = Link::Open { exchange, id },
                Link::Open { exchange, .. } => pool.give_back(exchange),
                Link::Broken { .. } | Link::Idle => {}
            }
        }
    }
}

fn set(entries: &mut [Entry], index: usize, status: Status) {
    if let Some(entry) = entries.get_mut(index) {
        entry.status = status;
    }
}

fn unsent(endpoint: &Endpoint, cause: &str) -> Error {
    Error::Connect { addr: endpoint.to_string(), source: std::io::Error::other(cause.to_string()) }
}

/// The same failure again, for the next command on a broken link.
fn same(outcome: &Outcome) -> Outcome {
    let copy = |error: &Error| match error {
        Error::Timeout { addr, seconds } => Error::Timeout { addr: addr.clone(), seconds: *seconds },
        Error::Protocol { addr, detail } => Error::Protocol { addr: addr.clone(), detail: detail.clone() },
        Error::Io { addr, source } => {
            Error::Io { addr: addr.clone(), source: std::io::Error::new(source.kind(), os_message(source)) }
        }
        Error::Connect { addr, source } => {
            Error::Connect { addr: addr.clone(), source: std::io::Error::new(source.kind(), os_message(source)) }
        }
        Error::Closed { addr } => Error::Closed { addr: addr.clone() },
        Error::Tls { addr, detail } => Error::Tls { addr: addr.clone(), detail: detail.clone() },
        other => Error::Refused(other.to_string()),
    };
    match outcome {
        Outcome::Reply(frame) => Outcome::Reply(frame.clone()),
        Outcome::Streamed => Outcome::Streamed,
        Outcome::Unsent(e) => Outcome::Unsent(copy(e)),
        Outcome::Lost(e) => Outcome::Lost(copy(e)),
        Outcome::TimedOut { error, idle } => Outcome::TimedOut { error: copy(error), idle: *idle },
        Outcome::Garbled(e) => Outcome::Garbled(copy(e)),
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::client::pool::LinkSettings;
    use crate::client::state::SessionState;
    use crate::protocol::encode;
    use crate::protocol::resp::{self, Frame};

    /// A fake node on loopback: answers `:N` (the command's number on its connection) to
    /// each command, and closes a connection after `close_after` replies. Counts the
    /// connections it accepted.
    fn fake_node(close_after: usize) -> (Endpoint, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        std::thread::spawn(move || {
            for mut socket in listener.incoming().flatten() {
                count.fetch_add(1, Ordering::SeqCst);
                std::thread::spawn(move || {
                    let (mut buf, mut chunk, mut answered) = (Vec::new(), [0u8; 4096], 0);
                    loop {
                        while let Ok(Some((_, used))) = resp::parse(&buf) {
                            buf.drain(..used);
                            if answered == close_after {
                                return;
                            }
                            answered += 1;
                            let _ = socket.write_all(format!(":{answered}\r\n").as_bytes());
                        }
                        match socket.read(&mut chunk) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                });
            }
        });
        (Endpoint::tcp("127.0.0.1", port), accepted)
    }

    fn pool() -> Pool {
        let settings = LinkSettings::plain(Duration::from_secs(2));
        Pool::new(SessionState::default(), settings)
    }

    /// A batch of `n` PINGs for node 0.
    fn batch(n: usize) -> Batch {
        let mut batch = Batch::default();
        for i in 0..n {
            let argv = vec![b"PING".to_vec()];
            let q = batch.queue(0);
            encode::encode_command(&argv, &mut q.buf);
            q.commands.push((i, q.buf.len()));
            batch.entries.push(Entry {
                argv,
                traits: Traits::default(),
                slot: None,
                node: 0,
                events: Vec::new(),
                status: Status::Queued,
            });
        }
        batch
    }

    fn send(links: &mut Links, pool: &mut Pool, endpoint: &Endpoint, batch: &mut Batch) {
        let Batch { entries, queues, .. } = batch;
        links.send(pool, 0, endpoint, &mut queues[0], entries);
    }

    fn receive(links: &mut Links, endpoint: &Endpoint, batch: &mut Batch) {
        let Batch { entries, queues, .. } = batch;
        links.receive(0, endpoint, &queues[0], entries, Some(Duration::from_secs(5)));
    }

    fn replies(batch: &Batch) -> Vec<String> {
        batch
            .entries
            .iter()
            .map(|e| match &e.status {
                Status::Answered(Outcome::Reply(Frame::Integer(n))) => n.to_string(),
                Status::Answered(Outcome::Lost(_)) => "lost".into(),
                Status::Answered(Outcome::Unsent(_)) => "unsent".into(),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn two_batches_share_one_connection_and_replies_land_in_order() {
        let (endpoint, accepted) = fake_node(usize::MAX);
        let (mut pool, mut links) = (pool(), Links::default());
        let (mut first, mut second) = (batch(3), batch(2));
        send(&mut links, &mut pool, &endpoint, &mut first);
        send(&mut links, &mut pool, &endpoint, &mut second);
        receive(&mut links, &endpoint, &mut first);
        receive(&mut links, &endpoint, &mut second);
        assert_eq!(replies(&first), ["1", "2", "3"]);
        assert_eq!(replies(&second), ["4", "5"], "the second batch follows the first on the same connection");
        links.give_back(&mut pool);
        assert_eq!(pool.request(&endpoint, &["PING"], Some(Duration::from_secs(5))).ok(), Some(Frame::Integer(6)));
        assert_eq!(accepted.load(Ordering::SeqCst), 1, "the drained link went back to the pool and was reused");
    }

    #[test]
    fn a_link_that_breaks_loses_the_rest_at_once_and_the_next_batch_reconnects() {
        let (endpoint, accepted) = fake_node(2);
        let (mut pool, mut links) = (pool(), Links::default());
        let (mut first, mut second) = (batch(3), batch(2));
        send(&mut links, &mut pool, &endpoint, &mut first);
        send(&mut links, &mut pool, &endpoint, &mut second);
        receive(&mut links, &endpoint, &mut first);
        assert_eq!(replies(&first), ["1", "2", "lost"]);
        let started = std::time::Instant::now();
        receive(&mut links, &endpoint, &mut second);
        assert_eq!(replies(&second), ["lost", "lost"], "sent on the broken link");
        assert!(started.elapsed() < Duration::from_secs(1), "no second wait on a broken link");
        links.give_back(&mut pool);
        let mut third = batch(1);
        send(&mut links, &mut pool, &endpoint, &mut third);
        receive(&mut links, &endpoint, &mut third);
        assert_eq!(replies(&third), ["1"]);
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_node_that_cannot_be_reached_leaves_every_command_unsent() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = Endpoint::tcp("127.0.0.1", listener.local_addr().unwrap().port());
        drop(listener);
        let (mut pool, mut links) = (pool(), Links::default());
        let mut only = batch(3);
        send(&mut links, &mut pool, &endpoint, &mut only);
        receive(&mut links, &endpoint, &mut only);
        assert_eq!(replies(&only), ["unsent", "unsent", "unsent"]);
    }
}
