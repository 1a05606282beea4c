//! Commands piped on stdin, pipelined per node: `rcli -c -p 7000 < cmds.txt` at the speed
//! of the cluster. A reader thread splits lines; the main thread routes them into a
//! batch, writes each node's share in one go, and while the nodes work on it builds the
//! next batch; then it reads the replies and prints them in input order, exactly as
//! sequential execution would. At most two batches (each at most `window` commands per
//! node) are in flight, so memory stays flat for any input size.
//!
//! Commands for one node keep their input order on its connection, so commands for one
//! slot run in input order. Barriers (keyless and fan-out commands in cluster mode,
//! transactions, blocking and streaming commands, state changes such as SELECT/AUTH/
//! HELLO, meta-commands, huge lines) wait for everything before them and then run alone
//! through the normal [`Session`] path. Replies that are redirects or transient errors,
//! and commands that never reached a dead node, are run again through the client's
//! bounded redirect/failover loop, in input order; a write whose reply was lost is
//! reported as "outcome unknown" on its own line and never resent.

use std::io::{BufRead, BufReader, Read};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::time::Instant;

use crate::client::connection::Wait;
use crate::client::{Event, Reply, is_streaming};
use crate::cluster::commands::CommandInfo;
use crate::cluster::redirect::{Redirect, is_transient};
use crate::cluster::route::Plan;
use crate::cluster::slot::{SLOTS, slot_of};
use crate::endpoint::Endpoint;
use crate::error::Error;
use crate::output::HopLines;
use crate::protocol::resp::{self, Frame};
use crate::protocol::split::{InvalidArguments, split_args_into};
use crate::session::{Flow, SHELL_WORDS, Session};

/// Lines longer than this run alone, so a 100 MB value is not also copied into a batch.
const HUGE_LINE: usize = 1 << 20;
/// A node's share of a batch is sent once it holds this many bytes, even if it has
/// fewer than `window` commands: long lines do not make a batch huge.
const BATCH_BYTES: usize = 1 << 20;
const NO_NODE: u16 = u16::MAX;

/// One input command, split by a reader thread.
pub enum Input {
    Line(Result<Vec<Vec<u8>>, InvalidArguments>),
    ReadError(String),
}

/// What became of one command of a batch.
enum Outcome {
    /// Queued on a node, waiting for its reply.
    Queued,
    Reply(Frame),
    Failed(Error),
    /// Written, but the connection broke before its reply.
    Lost {
        addr: String,
        cause: String,
    },
    /// Never written: the node could not be reached.
    Unsent(Error),
    Invalid,
}

struct Entry {
    argv: Vec<Vec<u8>>,
    slot: Option<u16>,
    readonly: bool,
    events: Vec<Event>,
    outcome: Outcome,
}

/// The commands of a batch bound for one node, encoded back to back.
#[derive(Default)]
struct NodeQueue {
    buf: Vec<u8>,
    /// Per command: its entry index and the end of its bytes in `buf`.
    commands: Vec<(usize, usize)>,
    /// How many commands were completely written.
    written: usize,
}

/// One batch: its entries in input order and its per-node queues (indexed like
/// [`Pipeline::nodes`]).
#[derive(Default)]
struct Batch {
    entries: Vec<Entry>,
    queues: Vec<NodeQueue>,
    /// Its replies have been read already (see [`Pipeline::cycle`]).
    received: bool,
}

impl Batch {
    fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Empties a printed batch so the next one reuses its buffers instead of growing
    /// new ones.
    fn recycle(&mut self) {
        self.entries.clear();
        self.received = false;
        for q in &mut self.queues {
            q.buf.clear();
            q.commands.clear();
            q.written = 0;
        }
    }
}

/// Counts for the `--verbose` summary.
#[derive(Default)]
struct Totals {
    commands: u64,
    errors: u64,
}

/// Lines are handed over in chunks, so the channel costs little per line; a chunk
/// also ends at `CHUNK_BYTES`, so the lines waiting in the channel stay within a few
/// megabytes however long they are.
const CHUNK: usize = 256;
const CHUNK_BYTES: usize = 256 * 1024;

/// Arguments of printed commands, handed back to the reader thread that allocated them,
/// which reuses them for the next lines: no allocation per argument in the steady
/// state, and no freeing on the main thread.
pub type Spent = Vec<Vec<Vec<u8>>>;

/// Argument vectors the reader keeps for reuse.
const POOL: usize = 32768;

fn spawn_reader(input: impl Read + Send + 'static, capacity: usize) -> (Receiver<Vec<Input>>, SyncSender<Spent>) {
    let (tx, rx): (SyncSender<Vec<Input>>, Receiver<Vec<Input>>) = sync_channel(capacity.div_ceil(CHUNK).max(2));
    let (spent_tx, spent_rx) = sync_channel::<Spent>(8);
    std::thread::spawn(move || {
        let mut reader = BufReader::with_capacity(256 * 1024, input);
        let mut line = Vec::new();
        let mut chunk = Vec::with_capacity(CHUNK);
        let mut chunk_bytes = 0;
        // Argument buffers of printed commands, reused for the next lines.
        let mut pool: Vec<Vec<Vec<u8>>> = Vec::new();
        loop {
            // Hand over what we have before a read that may block on a slow writer.
            if !chunk.is_empty() && (chunk.len() >= CHUNK || chunk_bytes >= CHUNK_BYTES || reader.buffer().is_empty()) {
                if tx.send(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK))).is_err() {
                    return;
                }
                chunk_bytes = 0;
            }
            if pool.is_empty() {
                while let Ok(spent) = spent_rx.try_recv() {
                    pool.extend(spent);
                    pool.truncate(POOL);
                }
            }
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) => break,
                Ok(n) => {
                    chunk_bytes += n;
                    let mut argv = pool.pop().unwrap_or_default();
                    chunk.push(Input::Line(match split_args_into(&line, &mut argv) {
                        Ok(()) => Ok(argv),
                        Err(invalid) => Err(invalid),
                    }));
                }
                Err(e) => {
                    chunk.push(Input::ReadError(e.to_string()));
                    break;
                }
            }
        }
        if !chunk.is_empty() {
            let _ = tx.send(chunk);
        }
    });
    (rx, spent_tx)
}

/// Runs piped input with at most `window` commands per node in each of the two batches
/// in flight.
pub fn run(session: &mut Session, input: impl Read + Send + 'static, window: usize, verbose: bool) -> Flow {
    let (rx, spent) = spawn_reader(input, window * 4);
    run_commands(session, &rx, Some(spent), window, verbose, None).0
}

/// Counts of `--pipe` mode, which prints only error replies (on stderr).
#[derive(Debug, Default, Clone, Copy)]
pub struct PipeCounts {
    pub errors: u64,
    pub replies: u64,
}

/// Runs commands from `rx`. With `pipe` set (`--pipe`), replies are counted instead of
/// printed, error replies go to stderr, and nothing is a barrier.
pub fn run_commands(
    session: &mut Session,
    rx: &Receiver<Vec<Input>>,
    spent: Option<SyncSender<Spent>>,
    window: usize,
    verbose: bool,
    pipe: Option<PipeCounts>,
) -> (Flow, Option<PipeCounts>) {
    let started = Instant::now();
    let mut pipeline = Pipeline {
        window,
        building: Batch::default(),
        inflight: None,
        spare: Batch::default(),
        nodes: Vec::new(),
        slot_node: vec![NO_NODE; SLOTS],
        generation: u64::MAX,
        current: None,
        totals: Totals::default(),
        pipe,
        positions: Vec::new(),
        spent,
    };
    let flow = pipeline.drive(session, rx);
    if verbose {
        let counters = session.client.counters;
        eprintln!(
            "rcli: {} commands, {} errors, {} redirects (MOVED {}, ASK {}), {} routed to another node, {:.2} s",
            pipeline.totals.commands,
            pipeline.totals.errors,
            counters.moved + counters.ask,
            counters.moved,
            counters.ask,
            counters.routed_away,
            started.elapsed().as_secs_f64()
        );
    }
    (flow, pipeline.pipe)
}

struct Pipeline {
    window: usize,
    building: Batch,
    inflight: Option<Batch>,
    /// A printed batch kept for its buffers.
    spare: Batch,
    /// Every node a command was queued for; queue `i` of a batch belongs to `nodes[i]`.
    nodes: Vec<Endpoint>,
    /// Slot → index in `nodes`, valid for the client's slot-map `generation`.
    slot_node: Vec<u16>,
    generation: u64,
    /// The node in the prompt while batches are built (index in `nodes`).
    current: Option<usize>,
    totals: Totals,
    pipe: Option<PipeCounts>,
    /// Key positions of the command being routed (a buffer reused for every command).
    positions: Vec<usize>,
    /// Where printed commands' arguments go to be freed (the reader thread).
    spent: Option<SyncSender<Spent>>,
}

fn is_word(arg: &[u8], words: &[&str]) -> bool {
    words.iter().any(|w| arg.eq_ignore_ascii_case(w.as_bytes()))
}

/// Whether a command of a received batch must be run again through the client: a
/// redirect or transient error in cluster mode, never sent, or a read-only command
/// whose reply was lost.
fn needs_retry(entry: &Entry, cluster: bool, current: &Endpoint) -> bool {
    match &entry.outcome {
        Outcome::Reply(frame) if cluster => {
            frame.as_error().is_some_and(|e| is_transient(e) || Redirect::parse(e, current).is_some())
        }
        Outcome::Unsent(_) => true,
        Outcome::Lost { .. } => entry.readonly,
        _ => false,
    }
}

/// Commands that change the session or a transaction: always barriers.
fn changes_session(name: &str) -> bool {
    matches!(
        name,
        "select"
            | "auth"
            | "hello"
            | "reset"
            | "readonly"
            | "readwrite"
            | "multi"
            | "exec"
            | "discard"
            | "watch"
            | "unwatch"
            | "monitor"
    ) || name.starts_with("client")
}

impl Pipeline {
    fn drive(&mut self, session: &mut Session, rx: &Receiver<Vec<Input>>) -> Flow {
        let mut pending = std::collections::VecDeque::new();
        loop {
            // Block for input only when nothing is waiting to be sent or read.
            if pending.is_empty() {
                let chunk = if self.building.is_empty() && self.inflight.is_none() {
                    match rx.recv() {
                        Ok(chunk) => Some(chunk),
                        Err(_) => return Flow::Continue,
                    }
                } else {
                    match rx.try_recv() {
                        Ok(chunk) => Some(chunk),
                        Err(TryRecvError::Empty) => None,
                        Err(TryRecvError::Disconnected) => return self.finish(session),
                    }
                };
                pending.extend(chunk.into_iter().flatten());
            }
            let flow = match pending.pop_front() {
                None => self.finish(session),
                Some(Input::Line(Ok(argv))) if argv.is_empty() => Flow::Continue,
                Some(Input::Line(Ok(argv))) => self.add(session, argv),
                Some(Input::Line(Err(InvalidArguments))) => {
                    self.building.entries.push(Entry {
                        argv: Vec::new(),
                        slot: None,
                        readonly: false,
                        events: Vec::new(),
                        outcome: Outcome::Invalid,
                    });
                    Flow::Continue
                }
                Some(Input::ReadError(e)) => {
                    let flow = self.finish(session);
                    eprintln!("stdin: {e}");
                    if flow == Flow::Continue { Flow::Exit(1) } else { flow }
                }
            };
            if flow != Flow::Continue {
                return flow;
            }
        }
    }

    /// True for commands that must wait for everything before them and run alone.
    fn is_barrier(session: &Session, info: Option<&CommandInfo>, argv: &[Vec<u8>]) -> bool {
        let first = &argv[0];
        session.client.in_transaction()
            || first.first() == Some(&b':')
            || (argv.len() > 1 && first.iter().all(u8::is_ascii_digit))
            || is_streaming(argv)
            || argv.iter().map(Vec::len).sum::<usize>() > HUGE_LINE
            || match info {
                Some(i) => i.flags.blocking || i.flags.pubsub || changes_session(&i.name),
                None => is_word(first, SHELL_WORDS),
            }
    }

    fn node_index(&mut self, endpoint: &Endpoint) -> usize {
        match self.nodes.iter().position(|n| n == endpoint) {
            Some(i) => i,
            None => {
                self.nodes.push(endpoint.clone());
                self.nodes.len() - 1
            }
        }
    }

    /// The node for a single-slot command on the fast path: the slot's primary from a
    /// cached copy of the slot map. Moves the prompt node like the shell does.
    fn route_slot(&mut self, session: &mut Session, slot: u16, events: &mut Vec<Event>) -> Option<usize> {
        if self.generation != session.client.topology_generation() {
            self.slot_node.fill(NO_NODE);
            self.generation = session.client.topology_generation();
        }
        let mut node = self.slot_node[usize::from(slot)];
        if node == NO_NODE {
            let owner = session.client.owner(slot)?;
            node = self.node_index(&owner) as u16;
            self.slot_node[usize::from(slot)] = node;
        }
        let node = usize::from(node);
        let current = match self.current {
            Some(c) => c,
            None => {
                let prompt = session.client.current().clone();
                self.node_index(&prompt)
            }
        };
        if node != current {
            session.client.counters.routed_away += 1;
            if session.printer.hop_lines != HopLines::Hidden && session.prefs.hops {
                events.push(Event::Redirected { slot, to: self.nodes[node].clone() });
            }
        }
        self.current = Some(node);
        Some(node)
    }

    fn add(&mut self, session: &mut Session, argv: Vec<Vec<u8>>) -> Flow {
        self.totals.commands += 1;
        let table = session.client.command_table();
        let info = table.lookup(&argv);
        if self.pipe.is_none() && Self::is_barrier(session, info, &argv) {
            return self.barrier(session, argv);
        }
        let readonly = info.is_some_and(|i| i.flags.readonly);
        let mut events = Vec::new();
        let routed = if !session.client.is_cluster() {
            let current = session.client.current().clone();
            Ok((None, self.node_index(&current)))
        } else {
            let mut positions = std::mem::take(&mut self.positions);
            match info {
                Some(i) => i.key_positions_into(&argv, &mut positions),
                None => positions.clear(),
            }
            let slot = positions.first().map(|&p| slot_of(&argv[p]));
            let one_slot = slot.filter(|&s| positions[1..].iter().all(|&p| slot_of(&argv[p]) == s));
            self.positions = positions;
            let fast = match one_slot {
                Some(s) if !(readonly && session.client.options().read_from_replicas) => {
                    self.route_slot(session, s, &mut events).map(|node| (Some(s), node))
                }
                _ => None,
            };
            match fast {
                Some(route) => Ok(route),
                None => match session.client.plan(&argv) {
                    Ok(Plan::Slot { slot, endpoint }) => {
                        self.sync_current(session);
                        let prepared = session.client.prepare_slot(&argv, slot, endpoint, &mut events);
                        self.current = None;
                        prepared.map(|e| (Some(slot), self.node_index(&e)))
                    }
                    // --pipe sends keyless and cross-slot commands to the prompt's node.
                    Ok(_) if self.pipe.is_some() => {
                        let current = session.client.current().clone();
                        Ok((None, self.node_index(&current)))
                    }
                    // Keyless, split or fan-out in cluster mode: a barrier.
                    Ok(_) => return self.barrier(session, argv),
                    Err(e) => Err(e),
                },
            }
        };
        let index = self.building.entries.len();
        let mut full = false;
        let (slot, outcome) = match routed {
            Ok((slot, node)) => {
                if self.building.queues.len() <= node {
                    self.building.queues.resize_with(node + 1, NodeQueue::default);
                }
                let q = &mut self.building.queues[node];
                resp::encode_command(&argv, &mut q.buf);
                q.commands.push((index, q.buf.len()));
                full = q.commands.len() >= self.window || q.buf.len() >= BATCH_BYTES;
                (slot, Outcome::Queued)
            }
            Err(e) => (None, Outcome::Failed(e)),
        };
        self.building.entries.push(Entry { argv, slot, readonly, events, outcome });
        if full { self.cycle(session) } else { Flow::Continue }
    }

    /// Tells the client which node the prompt is on after commands routed here.
    fn sync_current(&mut self, session: &mut Session) {
        if let Some(current) = self.current {
            session.client.set_current(self.nodes[current].clone());
        }
    }

    fn barrier(&mut self, session: &mut Session, argv: Vec<Vec<u8>>) -> Flow {
        let flow = self.finish(session);
        if flow != Flow::Continue {
            return flow;
        }
        let errors_before = session.error_replies;
        let flow = session.run_argv(argv);
        self.current = None;
        self.totals.errors += session.error_replies - errors_before;
        flow
    }

    /// Sends the batch being built, then completes the one sent before it. A retry
    /// (redirect, transient error, dead node) talks to the nodes on the same
    /// connections, so before anything of the previous batch is run again the replies
    /// of the batch just sent are read first: no connection has a reply pending while
    /// the client uses it.
    fn cycle(&mut self, session: &mut Session) -> Flow {
        let mut batch = std::mem::replace(&mut self.building, std::mem::take(&mut self.spare));
        self.send(session, &mut batch);
        let flow = match self.inflight.take() {
            Some(mut previous) => {
                self.receive(session, &mut previous);
                let cluster = session.client.is_cluster();
                if previous.entries.iter().any(|e| needs_retry(e, cluster, session.client.current())) {
                    self.receive(session, &mut batch);
                }
                self.resolve(session, &mut previous);
                self.print(session, previous)
            }
            None => Flow::Continue,
        };
        self.inflight = Some(batch);
        flow
    }

    /// Sends and completes everything: before a barrier, when input pauses, at the end.
    fn finish(&mut self, session: &mut Session) -> Flow {
        let mut flow = Flow::Continue;
        if !self.building.is_empty() {
            flow = self.cycle(session);
        }
        if let Some(last) = self.inflight.take()
            && flow == Flow::Continue
        {
            flow = self.complete(session, last);
        }
        self.sync_current(session);
        flow
    }

    fn send(&mut self, session: &mut Session, batch: &mut Batch) {
        for (node, q) in batch.queues.iter_mut().enumerate() {
            if q.commands.is_empty() {
                continue;
            }
            let endpoint = &self.nodes[node];
            let (written, error) = match session.client.link(endpoint) {
                Ok(conn) => conn.write_counted(&q.buf),
                Err(e) => (0, Some(e)),
            };
            q.written = q.commands.iter().take_while(|(_, end)| *end <= written).count();
            if let Some(error) = error {
                session.client.drop_link(endpoint);
                let (addr, cause) = (endpoint.to_string(), crate::error::os_message_of(&error));
                for &(entry, _) in &q.commands[q.written..] {
                    let source = std::io::Error::other(cause.clone());
                    batch.entries[entry].outcome = Outcome::Unsent(Error::Connect { addr: addr.clone(), source });
                }
            }
        }
    }

    fn complete(&mut self, session: &mut Session, mut batch: Batch) -> Flow {
        self.receive(session, &mut batch);
        self.resolve(session, &mut batch);
        self.print(session, batch)
    }

    /// Reads every reply of `batch` (once).
    fn receive(&mut self, session: &mut Session, batch: &mut Batch) {
        if batch.received {
            return;
        }
        batch.received = true;
        let timeout = session.client.options().read_timeout;
        for (node, q) in batch.queues.iter().enumerate() {
            if q.written == 0 {
                continue;
            }
            let endpoint = &self.nodes[node];
            let mut broken: Option<String> = None;
            let mut conn = match session.client.link(endpoint) {
                Ok(conn) => Some(conn),
                Err(e) => {
                    broken = Some(crate::error::os_message_of(&e));
                    None
                }
            };
            for &(entry, _) in &q.commands[..q.written] {
                let result = match (&mut conn, &broken) {
                    (Some(conn), None) => conn.read_reply(Wait { timeout, interrupt: None }),
                    _ => Err(Error::Closed { addr: endpoint.to_string() }),
                };
                batch.entries[entry].outcome = match result {
                    Ok(frame) => Outcome::Reply(frame),
                    Err(error) => {
                        let cause = broken.get_or_insert_with(|| crate::error::os_message_of(&error)).clone();
                        Outcome::Lost { addr: endpoint.to_string(), cause }
                    }
                };
            }
            if broken.is_some() {
                session.client.drop_link(endpoint);
            }
        }
    }

    /// Runs again, in input order, what the batch could not finish: redirects,
    /// transient errors, commands a dead node never received, lost reads of read-only
    /// commands. A lost write becomes "outcome unknown".
    fn resolve(&mut self, session: &mut Session, batch: &mut Batch) {
        let cluster = session.client.is_cluster();
        for entry in &mut batch.entries {
            if !needs_retry(entry, cluster, session.client.current()) {
                if let Outcome::Lost { addr, cause } = &entry.outcome {
                    entry.outcome = Outcome::Failed(Error::OutcomeUnknown { addr: addr.clone(), cause: cause.clone() });
                }
                continue;
            }
            let first = match entry.slot.and_then(|s| session.client.owner(s)) {
                Some(owner) => owner,
                None => session.client.current().clone(),
            };
            entry.outcome = match session.client.send_routed(&entry.argv, entry.slot, first, &mut entry.events) {
                Ok(frame) => Outcome::Reply(frame),
                Err(e) => Outcome::Failed(e),
            };
        }
    }

    /// `--pipe`: count replies, show only errors (on stderr, as redis-cli does).
    fn count(counts: &mut PipeCounts, session: &mut Session, batch: &mut Batch) {
        let _ = session.printer.flush();
        for entry in batch.entries.drain(..) {
            match entry.outcome {
                Outcome::Reply(frame) => {
                    counts.replies += 1;
                    if let Some(error) = frame.as_error() {
                        counts.errors += 1;
                        eprintln!("{}", String::from_utf8_lossy(error));
                    }
                }
                Outcome::Invalid => {
                    counts.errors += 1;
                    eprintln!("Invalid argument(s)");
                }
                Outcome::Failed(error) | Outcome::Unsent(error) => {
                    counts.errors += 1;
                    session.unanswered += 1;
                    eprintln!("{error}");
                }
                Outcome::Queued | Outcome::Lost { .. } => counts.errors += 1,
            }
        }
    }

    /// Prints (or with `--pipe` counts) the replies of a completed batch, then keeps
    /// the batch for its buffers.
    fn print(&mut self, session: &mut Session, mut batch: Batch) -> Flow {
        let flow = match &mut self.pipe {
            Some(counts) => {
                Self::count(counts, session, &mut batch);
                Flow::Continue
            }
            None => self.print_replies(session, &mut batch),
        };
        batch.recycle();
        self.spare = batch;
        flow
    }

    fn print_replies(&mut self, session: &mut Session, batch: &mut Batch) -> Flow {
        let show_events = session.prefs.hops && session.printer.hop_lines != HopLines::Hidden;
        let mut spent = Vec::with_capacity(batch.entries.len());
        for mut entry in batch.entries.drain(..) {
            if show_events {
                for event in &entry.events {
                    if session.printer.event(event).is_err() {
                        return Flow::StdoutClosed;
                    }
                }
            }
            let printed = match entry.outcome {
                Outcome::Invalid => session.printer.line("Invalid argument(s)"),
                Outcome::Reply(frame) => {
                    self.totals.errors += u64::from(frame.as_error().is_some());
                    let reply = Reply::One(frame);
                    if let Some(flow) = session.exit_on_error_reply(&reply) {
                        return flow;
                    }
                    session.printer.reply(&entry.argv, &reply)
                }
                Outcome::Failed(error) | Outcome::Unsent(error) => {
                    self.totals.errors += 1;
                    if let Some(flow) = session.exit_on_failure(&error) {
                        return flow;
                    }
                    session.report_error(&error)
                }
                // receive() and resolve() give every queued command an outcome.
                Outcome::Queued | Outcome::Lost { .. } => session
                    .report_error(&Error::Refused("internal error: a command was left without an outcome".into())),
            };
            if printed.is_err() {
                return Flow::StdoutClosed;
            }
            spent.push(std::mem::take(&mut entry.argv));
        }
        if let Some(tx) = &self.spent {
            // A full or closed channel only means this batch is freed here.
            let _ = tx.try_send(spent);
        }
        match session.printer.flush() {
            Ok(()) => Flow::Continue,
            Err(_) => Flow::StdoutClosed,
        }
    }
}
