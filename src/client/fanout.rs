//! Commands that touch more than one node, or one node in more than one exchange:
//! cross-slot MGET/MSET/DEL/… split per slot (each part through the retry policy,
//! partial failures reported key by key), keyless commands fanned out to several
//! nodes, SCAN walks of one node page by page, and streams (SUBSCRIBE, MONITOR) that
//! keep a connection for themselves.

use std::collections::{HashSet, VecDeque};

use crate::client::Client;
use crate::client::pool::Exchange;
use crate::cluster::command::{Command, Traits};
use crate::cluster::commands::ResponsePolicy;
use crate::cluster::event::{Event, EventSink};
use crate::cluster::reply::{self, NodeReply, Part, Reply};
use crate::cluster::route::{self, Plan, SplitKind};
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::protocol::encode;
use crate::protocol::resp::Frame;

/// Pages one SCAN over one node may take (a billion keys at the default COUNT).
const MAX_SCAN_PAGES: usize = 100_000_000;

impl Client {
    /// Runs each slot's share of a split command through the retry policy and merges
    /// the answers; parts that still fail are named in the reply, key by key.
    pub(super) fn execute_split(
        &mut self,
        argv: &[Vec<u8>],
        traits: Traits,
        kind: SplitKind,
        groups: &[(u16, Vec<usize>)],
        events: &mut dyn EventSink,
    ) -> Frame {
        let nodes: HashSet<Option<Endpoint>> = groups.iter().map(|(s, _)| self.owner(*s)).collect();
        events.event(Event::Split { slots: groups.len(), nodes: nodes.len() });
        let mut parts = Vec::with_capacity(groups.len());
        let mut interrupted = false;
        for (slot, positions) in groups {
            if interrupted {
                parts.push(Part { positions: positions.clone(), result: Err(Error::Interrupted.to_string()) });
                continue;
            }
            let sub = route::sub_command(argv, kind, positions);
            let owner = self.owner_or_current(*slot).unwrap_or_else(|| self.current.clone());
            let result = self.send_routed(&sub, traits, Some(*slot), owner, events);
            interrupted = matches!(result, Err(Error::Interrupted));
            parts.push(Part { positions: positions.clone(), result: result.map_err(|e| e.to_string()) });
        }
        reply::merge_split(argv, kind, parts)
    }

    /// Sends `argv` to every node of `nodes` and reads each answer, with at most
    /// `--parallel` requests in flight: a window that slides one node on with each reply
    /// read, on this one thread. A fan-out over more nodes than that keeps only the
    /// connections that were open before it; those it opened are closed after their
    /// reply, so open descriptors stay within the width (docs/performance.md, "Threads
    /// and descriptors at scale").
    pub(super) fn execute_fanout(
        &mut self,
        argv: &[Vec<u8>],
        nodes: &[Endpoint],
        policy: Option<ResponsePolicy>,
    ) -> Reply {
        let timeout = self.reply_timeout(false);
        let width = self.pool.settings().parallel.max(1);
        let keep_new = nodes.len() <= width;
        let mut out = Vec::new();
        encode::encode_command(argv, &mut out);
        let mut in_flight: VecDeque<(Result<Exchange>, bool)> = VecDeque::with_capacity(width);
        let mut unsent = nodes.iter();
        let mut parts = Vec::with_capacity(nodes.len());
        for endpoint in nodes {
            while in_flight.len() < width {
                let Some(next) = unsent.next() else { break };
                let keep = keep_new || self.pool.has_idle(next);
                // After Ctrl-C no new request goes out (nor a connect starts).
                if self.pool.interrupt().is_some_and(|flag| flag.load(std::sync::atomic::Ordering::SeqCst)) {
                    in_flight.push_back((Err(Error::Interrupted), false));
                    continue;
                }
                let exchange = self.pool.borrow(next).and_then(|mut exchange| {
                    exchange.send(&out, 1)?;
                    Ok(exchange)
                });
                in_flight.push_back((exchange, keep));
            }
            let (exchange, keep) = in_flight.pop_front().unwrap_or_else(|| (Err(Error::Interrupted), false));
            let result = exchange.and_then(|mut exchange| {
                let reply = exchange.read(timeout);
                if keep {
                    self.pool.give_back(exchange);
                }
                reply
            });
            parts.push(NodeReply {
                endpoint: endpoint.clone(),
                role: self.role_of(endpoint),
                result: result.map_err(|e| e.to_string()),
            });
        }
        let combined = policy.and_then(|p| reply::combine(p, &parts).map(|frame| (p, frame)));
        Reply::Fanout { parts, combined }
    }

    /// Walks one node's keyspace with SCAN from cursor 0 (`argv` is a SCAN command; its
    /// cursor is replaced), handing each page's keys to `page` with whether more pages
    /// follow; `page` returns false to stop early. An error reply ends the walk and is
    /// returned. Bounded by [`MAX_SCAN_PAGES`]; Ctrl-C ends it with an error. A
    /// connection the walk opened (not the current node's) is closed after it, so a
    /// walk of every primary holds one node's connection at a time.
    pub fn scan_node(
        &mut self,
        endpoint: &Endpoint,
        argv: &[Vec<u8>],
        page: impl FnMut(&[Frame], bool) -> bool,
    ) -> Result<Option<Frame>> {
        let was_open = self.pool.has_idle(endpoint) || *endpoint == self.current;
        let walked = self.walk_node(endpoint, argv, page);
        if !was_open {
            self.pool.close(endpoint);
        }
        walked
    }

    fn walk_node(
        &mut self,
        endpoint: &Endpoint,
        argv: &[Vec<u8>],
        mut page: impl FnMut(&[Frame], bool) -> bool,
    ) -> Result<Option<Frame>> {
        let mut request = argv.to_vec();
        if let Some(cursor) = request.get_mut(1) {
            *cursor = b"0".to_vec();
        }
        for _ in 0..MAX_SCAN_PAGES {
            let reply = self.request_at(endpoint, &request)?;
            if reply.as_error().is_some() {
                return Ok(Some(reply));
            }
            let Some([next, keys]) = reply.as_items().and_then(|i| <&[Frame; 2]>::try_from(i).ok()) else {
                return Err(Error::Protocol { addr: endpoint.to_string(), detail: "unexpected SCAN reply".into() });
            };
            let cursor = next.as_bytes().filter(|c| *c != b"0");
            if !page(keys.as_items().unwrap_or_default(), cursor.is_some()) {
                break;
            }
            match (cursor, request.get_mut(1)) {
                (Some(cursor), Some(slot)) => *slot = cursor.to_vec(),
                _ => break,
            }
        }
        Ok(None)
    }

    /// The nodes a SCAN with a multi-node target walks, when it has one.
    pub fn scan_targets(&mut self, command: &Command) -> Option<Vec<Endpoint>> {
        match self.plan(command) {
            Ok(Plan::Fanout { nodes, .. }) => Some(nodes),
            _ => None,
        }
    }

    /// Sends a SUBSCRIBE-like or MONITOR command and hands over the connection, which
    /// now streams messages; read them with [`Exchange::read_frame`]. Dropping the
    /// exchange closes the connection.
    pub fn open_stream(&mut self, command: &Command, events: &mut dyn EventSink) -> Result<Exchange> {
        let endpoint = match self.plan(command)? {
            Plan::Node(e) => e,
            Plan::Slot { slot, endpoint } => self.prepare_slot(command.traits, slot, endpoint, events)?,
            Plan::Split { .. } | Plan::Fanout { .. } => {
                return Err(Error::Refused(
                    "subscribe to channels of one slot at a time (or :use a single node)".into(),
                ));
            }
        };
        let mut exchange = self.pool.borrow(&endpoint)?;
        let mut out = Vec::new();
        encode::encode_command(&command.argv, &mut out);
        exchange.send(&out, 0)?;
        // The stream's replies are read by the caller; the connection never returns.
        exchange.abandon();
        Ok(exchange)
    }
}
