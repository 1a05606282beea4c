//! Commands piped on stdin, pipelined per node: `rcli -c -p 7000 < cmds.txt` at the speed
//! of the cluster. A reader thread splits lines ([`crate::modes::input`]); the main
//! thread routes them into a batch, writes each node's share in one go, and while the
//! nodes work on it builds the next batch; then it reads the replies and prints them in
//! input order, exactly as sequential execution would. At most two batches (each at
//! most `window` commands or [`BATCH_BYTES`] per node) are in flight, so memory stays
//! flat for any input size.
//!
//! Commands for one node keep their input order on its connection, so commands for one
//! slot run in input order. Barriers (keyless and fan-out commands in cluster mode,
//! transactions, blocking and streaming commands, state changes such as SELECT/AUTH/
//! HELLO, meta-commands, huge lines) wait for everything before them and then run alone
//! through the normal [`Session`] path. Whatever a batch could not finish — redirects,
//! transient errors, commands a dead node never got, lost replies — goes, in input
//! order, through the client's one retry loop ([`crate::client::Client::resume_routed`]);
//! a write whose reply was lost is reported as "outcome unknown" and never resent.
//! Commands for a node declared down fail at once, without being sent.

mod batch;
mod output;

use std::collections::VecDeque;
use std::io::Read;
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError};
use std::time::Instant;

use self::batch::{Batch, Entry, Links, Status};
use crate::client::routed::Outcome;
use crate::cluster::command::{Command, Traits};
use crate::cluster::commands::CommandInfo;
use crate::cluster::event::Event;
use crate::cluster::route::Plan;
use crate::cluster::slot::{SLOTS, slot_of};
use crate::endpoint::Endpoint;
use crate::modes::input::{self, Input, Spent};
use crate::output::HopLines;
use crate::protocol::encode;
use crate::protocol::split::{Repeat, repeat_prefix};
use crate::session::hooks::Hooks;
use crate::session::{Flow, SHELL_WORDS, Session};

/// Lines longer than this run alone, so a 100 MB value is not also copied into a batch.
const HUGE_LINE: usize = 1 << 20;
/// A node's share of a batch is sent once it holds this many bytes, even if it has
/// fewer than `window` commands: long lines do not make a batch huge.
pub const BATCH_BYTES: usize = 1 << 20;
const NO_NODE: u16 = u16::MAX;

/// Counts for the `--verbose` summary.
#[derive(Default)]
struct Totals {
    commands: u64,
    errors: u64,
}

/// Counts of `--pipe` mode, which prints only error replies (on stderr).
#[derive(Debug, Default, Clone, Copy)]
pub struct PipeCounts {
    pub errors: u64,
    pub replies: u64,
}

/// Runs piped input with at most `window` commands per node in each of the two batches
/// in flight.
pub fn run(
    session: &mut Session,
    hooks: &mut dyn Hooks,
    input: impl Read + Send + 'static,
    window: usize,
    verbose: bool,
) -> Flow {
    let (rx, spent) = input::spawn_lines(input, window * 4);
    run_commands(session, hooks, &rx, Some(spent), window, verbose, None).0
}

/// Runs commands from `rx`. With `pipe` set (`--pipe`), replies are counted instead of
/// printed, error replies go to stderr, and nothing is a barrier.
pub fn run_commands(
    session: &mut Session,
    hooks: &mut dyn Hooks,
    rx: &Receiver<Vec<Input>>,
    spent: Option<SyncSender<Spent>>,
    window: usize,
    verbose: bool,
    pipe: Option<PipeCounts>,
) -> (Flow, Option<PipeCounts>) {
    let started = Instant::now();
    if session.client.is_cluster() {
        // Every batch's wait is bounded by the failure budget: learned before the first.
        session.client.learn_budget_now();
    }
    let mut pipeline = Pipeline {
        window,
        building: Batch::default(),
        inflight: None,
        spare: Batch::default(),
        links: Links::default(),
        nodes: Vec::new(),
        slot_node: vec![NO_NODE; SLOTS],
        generation: u64::MAX,
        current: None,
        totals: Totals::default(),
        pipe,
        positions: Vec::new(),
        spent,
    };
    let flow = pipeline.drive(session, hooks, rx);
    pipeline.links.give_back(session.client.pool());
    if verbose {
        let counters = session.client.counters;
        session.printer.note(&format!(
            "rcli: {} commands, {} errors, {} redirects (MOVED {}, ASK {}), {} routed to another node, {:.2} s",
            pipeline.totals.commands,
            pipeline.totals.errors,
            counters.moved + counters.ask,
            counters.moved,
            counters.ask,
            counters.routed_away,
            started.elapsed().as_secs_f64()
        ));
    }
    (flow, pipeline.pipe)
}

struct Pipeline {
    window: usize,
    building: Batch,
    inflight: Option<Batch>,
    /// A printed batch kept for its buffers.
    spare: Batch,
    links: Links,
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

/// What runs alone, through the session.
enum Barrier {
    /// A word the session or the shell answers, or a repeated command: not looked up.
    Line(Vec<Vec<u8>>),
    Command(Command),
}

impl Pipeline {
    fn drive(&mut self, session: &mut Session, hooks: &mut dyn Hooks, rx: &Receiver<Vec<Input>>) -> Flow {
        let mut pending = VecDeque::new();
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
                Some(Input::Line(Ok(argv))) => self.add(session, hooks, argv),
                Some(Input::Line(Err(_))) => {
                    self.building.entries.push(Entry {
                        argv: Vec::new(),
                        traits: Traits::default(),
                        slot: None,
                        node: usize::from(NO_NODE),
                        events: Vec::new(),
                        status: Status::Invalid,
                    });
                    Flow::Continue
                }
                Some(Input::ReadError(e)) => {
                    let flow = self.finish(session);
                    session.printer.note(&format!("stdin: {e}"));
                    if flow == Flow::Continue { Flow::Exit(crate::exit::Exit::Failure) } else { flow }
                }
            };
            if flow != Flow::Continue {
                return flow;
            }
        }
    }

    /// True for commands that must wait for everything before them and run alone.
    /// (Words the session or the shell answer, and repeated commands, are barriers
    /// before they are looked up: [`Pipeline::add`].)
    fn is_barrier(session: &Session, argv: &[Vec<u8>], traits: Traits) -> bool {
        session.client.in_transaction()
            || traits.waits
            || traits.pubsub
            || traits.changes_session
            || argv.iter().map(Vec::len).sum::<usize>() > HUGE_LINE
    }

    /// Words the session or the shell answer (`help`, `:meta`, `quit`…) and the
    /// `N cmd` repeat prefix: the session runs them, alone.
    fn is_session_line(argv: &[Vec<u8>]) -> bool {
        argv.first().is_some_and(|first| first.first() == Some(&b':') || is_word(first, SHELL_WORDS))
            || repeat_prefix(argv) != Repeat::Once
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
    /// cached copy of the slot map, with the prompt moved as
    /// [`crate::client::Client::move_prompt`] does, by index so nothing is allocated.
    fn route_slot(&mut self, session: &mut Session, slot: u16, events: &mut Vec<Event>) -> Option<usize> {
        if self.generation != session.client.topology_generation() {
            self.slot_node.fill(NO_NODE);
            self.generation = session.client.topology_generation();
        }
        let cached = *self.slot_node.get(usize::from(slot))?;
        let node = if cached == NO_NODE {
            let owner = session.client.owner(slot)?;
            let index = self.node_index(&owner);
            let index16 = u16::try_from(index).ok().filter(|&i| i != NO_NODE)?;
            if let Some(entry) = self.slot_node.get_mut(usize::from(slot)) {
                *entry = index16;
            }
            index
        } else {
            usize::from(cached)
        };
        let current = match self.current {
            Some(c) => c,
            None => {
                let prompt = session.client.current().clone();
                self.node_index(&prompt)
            }
        };
        if node != current {
            session.client.counters.routed_away += 1;
            if session.printer.hop_lines != HopLines::Hidden
                && session.hops
                && let Some(to) = self.nodes.get(node)
            {
                events.push(Event::Redirected { slot, to: to.clone() });
            }
        }
        self.current = Some(node);
        Some(node)
    }

    /// Where a command goes: `Ok(Some((slot, node)))` to queue it, `Ok(None)` when it
    /// must run alone as a barrier, `Err` when it cannot run.
    fn route(
        &mut self,
        session: &mut Session,
        info: Option<&CommandInfo>,
        traits: Traits,
        argv: &mut Vec<Vec<u8>>,
        events: &mut Vec<Event>,
    ) -> crate::error::Result<Option<(Option<u16>, usize)>> {
        if !session.client.is_cluster() {
            let current = session.client.current().clone();
            return Ok(Some((None, self.node_index(&current))));
        }
        let mut positions = std::mem::take(&mut self.positions);
        match info {
            Some(i) => i.key_positions_into(argv, &mut positions),
            None => positions.clear(),
        }
        // Each key is hashed once: the first, then the others against it.
        let mut keys = positions.iter().filter_map(|&p| argv.get(p));
        let first = keys.next().map(|k| slot_of(k));
        let one_slot = first.filter(|&slot| keys.all(|k| slot_of(k) == slot));
        if let Some(slot) = one_slot
            && !(traits.readonly && session.client.options().read_from_replicas)
            && let Some(node) = self.route_slot(session, slot, events)
        {
            self.positions = positions;
            return Ok(Some((Some(slot), node)));
        }
        // The client plans the rest: the words move into a command for that and back.
        let command = Command { argv: std::mem::take(argv), keys: positions, traits };
        let plan = session.client.plan(&command);
        *argv = command.argv;
        self.positions = command.keys;
        match plan? {
            Plan::Slot { slot, endpoint } => {
                self.sync_current(session);
                let prepared = session.client.prepare_slot(traits, slot, endpoint, events);
                self.current = None;
                prepared.map(|e| Some((Some(slot), self.node_index(&e))))
            }
            // --pipe sends keyless and cross-slot commands to the prompt's node.
            _ if self.pipe.is_some() => {
                let current = session.client.current().clone();
                Ok(Some((None, self.node_index(&current))))
            }
            // Keyless, split or fan-out in cluster mode: a barrier.
            _ => Ok(None),
        }
    }

    fn add(&mut self, session: &mut Session, hooks: &mut dyn Hooks, mut argv: Vec<Vec<u8>>) -> Flow {
        self.totals.commands += 1;
        if self.pipe.is_none() && Self::is_session_line(&argv) {
            return self.barrier(session, hooks, Barrier::Line(argv));
        }
        // The one look-up of this command in the table.
        let table = session.client.command_table();
        let info = table.lookup(&argv);
        let traits = Traits::of(&argv, info);
        if self.pipe.is_none() && Self::is_barrier(session, &argv, traits) {
            return self.barrier(session, hooks, Barrier::Command(Command::with_info(argv, info)));
        }
        let mut events = Vec::new();
        let routed = match self.route(session, info, traits, &mut argv, &mut events) {
            Ok(None) => return self.barrier(session, hooks, Barrier::Command(Command::with_info(argv, info))),
            Ok(Some((slot, node))) => self.pass_gate(session, slot, node, &mut events).map(|node| (slot, node)),
            Err(e) => Err(e),
        };
        let index = self.building.entries.len();
        let mut full = false;
        let (slot, node, status) = match routed {
            Ok((slot, node)) => {
                let window = self.window;
                let q = self.building.queue(node);
                encode::encode_command(&argv, &mut q.buf);
                q.commands.push((index, q.buf.len()));
                full = q.commands.len() >= window || q.buf.len() >= BATCH_BYTES;
                (slot, node, Status::Queued)
            }
            Err(e) => (None, usize::from(NO_NODE), Status::Failed(e)),
        };
        self.building.entries.push(Entry { argv, traits, slot, node, events, status });
        if full { self.cycle(session) } else { Flow::Continue }
    }

    /// While some node is failing, a command for a node declared down fails at once;
    /// one due for a check may be sent to a new owner instead.
    fn pass_gate(
        &mut self,
        session: &mut Session,
        slot: Option<u16>,
        node: usize,
        events: &mut Vec<Event>,
    ) -> crate::error::Result<usize> {
        if session.client.health().is_quiet() {
            return Ok(node);
        }
        let Some(endpoint) = self.nodes.get(node).cloned() else { return Ok(node) };
        let endpoint = session.client.check_gate(endpoint, slot, events)?;
        Ok(self.node_index(&endpoint))
    }

    /// Tells the client which node the prompt is on after commands routed here.
    fn sync_current(&mut self, session: &mut Session) {
        if let Some(endpoint) = self.current.and_then(|c| self.nodes.get(c)) {
            session.client.set_current(endpoint.clone());
        }
    }

    fn barrier(&mut self, session: &mut Session, hooks: &mut dyn Hooks, barrier: Barrier) -> Flow {
        let flow = self.finish(session);
        if flow != Flow::Continue {
            return flow;
        }
        let errors_before = session.error_replies;
        let flow = match barrier {
            Barrier::Line(argv) => session.run_argv(argv, hooks),
            Barrier::Command(command) => session.run_classified(command, 1, hooks),
        };
        self.current = None;
        self.totals.errors += session.error_replies - errors_before;
        flow
    }

    /// Sends the batch being built, then completes the one sent before it. Before
    /// anything of the previous batch runs again through the client, the batch just
    /// sent is read too and the links go back to the pool: no connection has a reply
    /// pending while the client uses it.
    fn cycle(&mut self, session: &mut Session) -> Flow {
        let mut batch = std::mem::replace(&mut self.building, std::mem::take(&mut self.spare));
        self.send(session, &mut batch);
        let flow = match self.inflight.take() {
            Some(mut previous) => {
                self.receive(session, &mut previous);
                if previous.entries.iter().any(Entry::needs_attention) {
                    self.receive(session, &mut batch);
                    self.links.give_back(session.client.pool());
                    self.resolve(session, &mut previous);
                }
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
        if let Some(mut last) = self.inflight.take()
            && flow == Flow::Continue
        {
            self.receive(session, &mut last);
            self.links.give_back(session.client.pool());
            self.resolve(session, &mut last);
            flow = self.print(session, last);
        }
        self.links.give_back(session.client.pool());
        self.sync_current(session);
        flow
    }

    fn send(&mut self, session: &mut Session, batch: &mut Batch) {
        let Batch { entries, queues, .. } = batch;
        for (node, q) in queues.iter_mut().enumerate() {
            if let Some(endpoint) = self.nodes.get(node) {
                self.links.send(session.client.pool(), node, endpoint, q, entries);
            }
        }
    }

    /// Reads every reply of `batch` (once).
    fn receive(&mut self, session: &mut Session, batch: &mut Batch) {
        if batch.received {
            return;
        }
        batch.received = true;
        let idle = session.client.reply_timeout(false);
        let Batch { entries, queues, .. } = batch;
        for (node, q) in queues.iter().enumerate() {
            if let Some(endpoint) = self.nodes.get(node) {
                self.links.receive(node, endpoint, q, entries, idle);
            }
        }
    }

    /// Runs again, in input order, through the client's retry loop, whatever the batch
    /// could not finish.
    fn resolve(&mut self, session: &mut Session, batch: &mut Batch) {
        for entry in &mut batch.entries {
            if !entry.needs_attention() {
                continue;
            }
            let Some(endpoint) = self.nodes.get(entry.node).cloned() else { continue };
            let Status::Answered(outcome) = std::mem::replace(&mut entry.status, Status::Queued) else { continue };
            if !session.client.needs_follow_up(entry.traits, &endpoint, &outcome) {
                entry.status = Status::Answered(outcome);
                continue;
            }
            entry.status = match session.client.resume_routed(
                &entry.argv,
                entry.traits,
                entry.slot,
                endpoint,
                outcome,
                &mut entry.events,
            ) {
                Ok(frame) => Status::Answered(Outcome::Reply(frame)),
                Err(e) => Status::Failed(e),
            };
        }
    }
}
