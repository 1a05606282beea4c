//! Cluster-wide MONITOR and keyspace notifications (`-c`; docs/compatibility.md,
//! "MONITOR and keyspace events with -c"): one reader thread per node
//! ([`reader`]), every primary (or the `:use`/`--target` set for MONITOR); this thread
//! prints what they send, each line labelled with its node, once: the first node's
//! confirmations only, each keyspace event from its key's primary only
//! ([`crate::cluster::watch`] decides, pure). The slot map is read again every second
//! (and at once when a node's stream ends), so a promoted replica is streamed from and
//! a demoted primary is dropped; a printer that cannot keep up drops messages (the
//! readers' bounded channel) and says how many. Ctrl-C ends it within 100 ms; so does
//! a cluster with no node streaming for longer than the failure budget.

mod reader;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use super::{Flow, Session};
use crate::client::pool::Pool;
use crate::cluster::command::Command;
use crate::cluster::event::{Event, StreamChange};
use crate::cluster::watch::{self, Watch};
use crate::endpoint::Endpoint;
use crate::error::Error;
use crate::output::StdoutClosed;
use crate::protocol::resp::Frame;
use reader::{Channel, Item, Reader};

/// How long the printer waits for an item before looking at Ctrl-C and the map again.
const TICK: Duration = Duration::from_millis(50);
/// The slot map is read again this often while another node than the streamed ones
/// can answer (rcli's own CLUSTER SHARDS would show in a MONITOR), else every
/// [`QUIET_RELOAD`]; a node's stream ending asks for it at once.
const RELOAD: Duration = Duration::from_secs(1);
const QUIET_RELOAD: Duration = Duration::from_secs(5);
/// Reloads asked for by ended streams are at most this frequent.
const RELOAD_SOON: Duration = Duration::from_millis(200);
/// A node whose stream failed is tried again after this long.
const RETRY: Duration = Duration::from_secs(1);

/// One node being streamed from.
struct Streamed {
    reader: Reader,
    /// Every confirmation arrived.
    streaming: bool,
}

/// A cluster-wide stream under way.
struct Watching {
    watch: Watch,
    argv: Vec<Vec<u8>>,
    channel: Channel,
    /// The nodes the slot map selects, in map order.
    wanted: Vec<Endpoint>,
    nodes: HashMap<Endpoint, Streamed>,
    /// Nodes that refused the stream: not asked again.
    refused: HashSet<Endpoint>,
    tried: HashMap<Endpoint, Instant>,
    /// The node whose confirmations, and other channels' messages, are printed.
    voice: Option<Endpoint>,
    /// Until every first node streams (or the wait ends), messages are held so the
    /// confirmations come first.
    begun: bool,
    starting: HashSet<Endpoint>,
    held: Vec<(Endpoint, Frame)>,
    /// Nodes that send no keyspace events, not named yet, and those named.
    silent: Vec<(Endpoint, Vec<u8>)>,
    named: HashSet<Endpoint>,
    dropped_told: u64,
    last_reload: Instant,
    reload_soon: bool,
    alone_since: Option<Instant>,
    last_error: String,
}

impl Session {
    /// MONITOR, or SUBSCRIBE/PSUBSCRIBE of keyspace channels, with `-c` and a target of
    /// several nodes: run on all of them; `None` when the command is one node's stream.
    pub(super) fn watch_cluster(&mut self, command: &Command) -> Option<Flow> {
        if !self.client.is_cluster() {
            return None;
        }
        let watch = Watch::of(&command.argv)?;
        let nodes = watch.nodes(self.client.target(), self.client.topology()?)?;
        if nodes.is_empty() {
            return None;
        }
        Some(self.watch(command.argv.clone(), watch, nodes))
    }

    fn watch(&mut self, argv: Vec<Vec<u8>>, watch: Watch, nodes: Vec<Endpoint>) -> Flow {
        if self.interactive
            && self.printer.is_tty_format()
            && self.printer.line("Reading messages... (press Ctrl-C to quit)").is_err()
        {
            return Flow::StdoutClosed;
        }
        let (channel, receiver) = Channel::new();
        let mut w = Watching {
            watch,
            argv,
            channel,
            starting: nodes.iter().cloned().collect(),
            wanted: nodes,
            nodes: HashMap::new(),
            refused: HashSet::new(),
            tried: HashMap::new(),
            voice: None,
            begun: false,
            held: Vec::new(),
            silent: Vec::new(),
            named: HashSet::new(),
            dropped_told: 0,
            last_reload: Instant::now(),
            reload_soon: false,
            alone_since: None,
            last_error: String::new(),
        };
        let started = Instant::now();
        let first_wait = self.client.reply_timeout(false).unwrap_or(Duration::from_secs(5));
        let flow = loop {
            if self.interrupted() {
                break Flow::Continue;
            }
            self.start_missing(&mut w);
            let mut items = Vec::new();
            match receiver.recv_timeout(TICK) {
                Ok(item) => items.push(item),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break Flow::Continue,
            }
            items.extend(receiver.try_iter().take(reader::CAPACITY));
            let mut ended = None;
            for item in items {
                if let Some(flow) = self.take(&mut w, item) {
                    ended = Some(flow);
                    break;
                }
            }
            if let Some(flow) = ended {
                break flow;
            }
            if !w.begun && (w.starting.is_empty() || started.elapsed() >= first_wait) && self.begin(&mut w).is_err() {
                break Flow::StdoutClosed;
            }
            if self.tell_dropped(&mut w).and_then(|()| self.printer.flush()).is_err() {
                break Flow::StdoutClosed;
            }
            if let Some(flow) = self.follow_map(&mut w) {
                break flow;
            }
        };
        for streamed in w.nodes.values() {
            streamed.reader.stop();
        }
        flow
    }

    /// A pool of the node's own, with the session's credentials and link settings.
    fn reader_pool(&mut self, node: &Endpoint) -> Pool {
        let hostname = self.client.topology().and_then(|t| t.node(node)).and_then(|n| n.hostname.clone());
        let pool = self.client.pool();
        let mut own = Pool::new(pool.state().clone(), pool.settings().clone());
        if let Some(hostname) = hostname {
            own.set_hostnames(HashMap::from([(node.clone(), hostname)]));
        }
        own
    }

    /// Starts a reader for each wanted node without one (a failed node once a
    /// [`RETRY`]).
    fn start_missing(&mut self, w: &mut Watching) {
        for node in w.wanted.clone() {
            let recent = w.tried.get(&node).is_some_and(|t| t.elapsed() < RETRY);
            if w.nodes.contains_key(&node) || w.refused.contains(&node) || recent {
                continue;
            }
            w.tried.insert(node.clone(), Instant::now());
            let pool = self.reader_pool(&node);
            let reader = Reader::start(node.clone(), w.argv.clone(), w.watch, pool, w.channel.clone());
            w.nodes.insert(node, Streamed { reader, streaming: false });
        }
    }

    /// Takes one item from a reader; `Some` ends the stream.
    fn take(&mut self, w: &mut Watching, item: Item) -> Option<Flow> {
        let printed = match item {
            Item::Setting(node, value) => {
                if let Some(value) = value.filter(|v| watch::silent(v, w.watch) && !w.named.contains(&node)) {
                    w.silent.push((node, value));
                }
                match w.begun {
                    true => self.name_silent(w),
                    false => Ok(()),
                }
            }
            Item::Confirmation(node, frame) => {
                let voice = w.voice.get_or_insert_with(|| node.clone());
                match !w.begun && *voice == node {
                    true => self.printer.frame(&w.argv, &frame),
                    false => Ok(()),
                }
            }
            Item::Streaming(node) => {
                w.starting.remove(&node);
                match w.nodes.get_mut(&node) {
                    Some(streamed) => {
                        streamed.streaming = true;
                        match w.begun {
                            true => self.printer.event(&Event::Stream { endpoint: node, change: StreamChange::Joined }),
                            false => Ok(()),
                        }
                    }
                    None => Ok(()),
                }
            }
            Item::Message(node, frame, size) => {
                w.channel.bytes.fetch_sub(size, Ordering::SeqCst);
                match w.begun {
                    true => self.print_message(w, &node, frame),
                    false if w.held.len() < reader::CAPACITY => {
                        w.held.push((node, frame));
                        Ok(())
                    }
                    false => {
                        w.channel.dropped.fetch_add(1, Ordering::SeqCst);
                        Ok(())
                    }
                }
            }
            Item::Refused(node, frame) => {
                w.starting.remove(&node);
                w.nodes.remove(&node);
                w.refused.insert(node.clone());
                if !w.begun {
                    // As on one node: the command is over (redis-cli leaves its loop).
                    return Some(self.stream_refused(&w.argv, frame));
                }
                let error = String::from_utf8_lossy(frame.as_error().unwrap_or_default()).into_owned();
                self.printer.event(&Event::Stream { endpoint: node, change: StreamChange::Refused(error) })
            }
            Item::Ended(node, error) => {
                w.starting.remove(&node);
                w.reload_soon = true;
                w.last_error = error.clone();
                // Link errors name their node already.
                let error = error.strip_prefix(&format!("{node}: ")).map_or(error.clone(), str::to_string);
                // Said once per stream that ran, not for each failed try to reach a node.
                match w.nodes.remove(&node) {
                    Some(streamed) if streamed.streaming => {
                        self.printer.event(&Event::Stream { endpoint: node, change: StreamChange::Lost(error) })
                    }
                    _ => Ok(()),
                }
            }
        };
        printed.err().map(|_| Flow::StdoutClosed)
    }

    /// The first nodes all stream (or the wait is over): the hint, then the messages
    /// held meanwhile.
    fn begin(&mut self, w: &mut Watching) -> Result<(), StdoutClosed> {
        w.begun = true;
        self.name_silent(w)?;
        for (node, frame) in std::mem::take(&mut w.held) {
            self.print_message(w, &node, frame)?;
        }
        Ok(())
    }

    /// One line naming the nodes that send no keyspace events (rcli's own notice:
    /// on a terminal's stderr, or with `-v`).
    fn name_silent(&mut self, w: &mut Watching) -> Result<(), StdoutClosed> {
        if w.silent.is_empty() {
            return Ok(());
        }
        w.named.extend(w.silent.iter().map(|(node, _)| node.clone()));
        let mut silent = std::mem::take(&mut w.silent);
        silent.sort_by_key(|(node, _)| w.wanted.iter().position(|n| n == node));
        let line = watch::hint(&silent);
        self.printer.notice(&line)
    }

    /// Prints a message labelled with its node, unless another node's copy is the one
    /// shown or its node is not streamed any more.
    fn print_message(&mut self, w: &mut Watching, node: &Endpoint, frame: Frame) -> Result<(), StdoutClosed> {
        if !w.nodes.contains_key(node) {
            return Ok(());
        }
        if !w.voice.as_ref().is_some_and(|v| w.nodes.get(v).is_some_and(|s| s.streaming)) {
            w.voice = w.wanted.iter().find(|n| w.nodes.get(*n).is_some_and(|s| s.streaming)).cloned();
        }
        if let Watch::Keyspace { .. } = w.watch {
            let live = |n: &Endpoint| w.nodes.get(n).is_some_and(|s| s.streaming);
            if !watch::shown(node, &frame, self.client.topology(), live, w.voice.as_ref()) {
                return Ok(());
            }
        }
        self.printer.frame(&w.argv, &watch::labelled(frame, node))
    }

    /// A line saying how many messages were dropped since the last such line.
    fn tell_dropped(&mut self, w: &mut Watching) -> Result<(), StdoutClosed> {
        let dropped = w.channel.dropped.load(Ordering::SeqCst);
        if !w.begun || dropped == w.dropped_told {
            return Ok(());
        }
        let count = dropped.saturating_sub(w.dropped_told);
        w.dropped_told = dropped;
        let noun = if count == 1 { "message" } else { "messages" };
        self.printer.line(&format!("({count} {noun} dropped: the output could not keep up)"))
    }

    /// Reads the slot map again when it is due and streams from the nodes it selects
    /// now; ends the stream (with the last failure) once no node has streamed for the
    /// failure budget.
    fn follow_map(&mut self, w: &mut Watching) -> Option<Flow> {
        let others: Vec<Endpoint> = self
            .client
            .topology()
            .map(|t| t.all_nodes().into_iter().filter(|n| n.health == "online" || n.health == "unknown"))
            .into_iter()
            .flatten()
            .map(|n| n.endpoint.clone())
            .filter(|e| !w.wanted.contains(e))
            .collect();
        let period = if w.reload_soon {
            RELOAD_SOON
        } else if others.is_empty() {
            QUIET_RELOAD
        } else {
            RELOAD
        };
        if w.last_reload.elapsed() >= period {
            w.last_reload = Instant::now();
            w.reload_soon = false;
            let mut events = Vec::new();
            if let Err(error) = self.client.refresh_topology_asking(&others, &mut events) {
                if matches!(error, Error::Interrupted) {
                    return Some(Flow::Continue);
                }
                w.last_error = error.to_string();
            }
            for event in events {
                if self.printer.event(&event).is_err() {
                    return Some(Flow::StdoutClosed);
                }
            }
            let wanted = self.client.topology().and_then(|t| w.watch.nodes(self.client.target(), t));
            if let Some(wanted) = wanted.filter(|n| !n.is_empty()) {
                for node in w.nodes.keys().filter(|n| !wanted.contains(n)).cloned().collect::<Vec<_>>() {
                    if let Some(streamed) = w.nodes.remove(&node) {
                        streamed.reader.stop();
                        let left = Event::Stream { endpoint: node, change: StreamChange::Left };
                        if self.printer.event(&left).is_err() {
                            return Some(Flow::StdoutClosed);
                        }
                    }
                }
                w.wanted = wanted;
            }
        }
        if !w.begun || w.nodes.values().any(|s| s.streaming) {
            w.alone_since = None;
            return None;
        }
        let alone = *w.alone_since.get_or_insert_with(Instant::now);
        if alone.elapsed() < self.client.health().budget() {
            return None;
        }
        let error = Error::Topology(format!(
            "no node streamed for {:.1} s, the failure budget (last: {})",
            alone.elapsed().as_secs_f64(),
            w.last_error
        ));
        Some(self.report_error(&error).map_or(Flow::StdoutClosed, |()| Flow::Continue))
    }
}
