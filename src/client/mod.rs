//! The session's client: where each command goes and how its answer comes back. The
//! pieces live in their own rooms:
//! * [`stream`], [`connection`]: bytes to and from one node; [`pool`]: the only owner
//!   of connections, lending one out per complete exchange;
//! * [`state`]: what every connection must share (AUTH, SELECT, HELLO, names, MULTI);
//! * [`routed`]: one command to its node through the retry policy
//!   ([`crate::cluster::retry`]) and node health ([`crate::cluster::health`]);
//! * [`refresh`]: loading the slot map and the failure budget; [`tables`], [`cache`]:
//!   the command tables, cached on disk and checked against the server;
//! * [`fanout`]: split commands, fan-out to several nodes, SCAN walks, streams.
//!
//! This file holds the [`Client`] and the dispatch of a planned command. Without `-c`
//! the same type serves one node: nothing is routed and a MOVED is just an error
//! reply, as in redis-cli. What reaches the user is returned as values ([`Reply`],
//! [`Event`]); printing them is the caller's job.

pub mod address_map;
pub mod cache;
pub mod connection;
pub mod fanout;
pub mod pool;
pub mod refresh;
pub mod replication;
pub mod routed;
pub mod state;
pub mod stream;
pub mod tables;
pub mod tls;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use crate::client::pool::{LinkSettings, Pool};
use crate::client::state::{SessionState, Transaction};
use crate::cluster::commands::{CommandTable, RequestPolicy};
use crate::cluster::event::{Event, EventSink};
use crate::cluster::health::Health;
use crate::cluster::reply::{Reply, Role};
use crate::cluster::route::{self, Plan};
use crate::cluster::slot;
use crate::cluster::target::Target;
use crate::cluster::topology::Topology;
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::protocol::resp::Frame;

/// How the client behaves; fixed for a session (except what meta-commands change).
#[derive(Debug, Clone)]
pub struct Options {
    /// Nodes to start from; the first is the one in the prompt.
    pub seeds: Vec<Endpoint>,
    /// `-c`: route by slot and follow redirects.
    pub cluster: bool,
    pub connect_timeout: Duration,
    /// The longest wait without a byte of a reply to a non-blocking command.
    pub read_timeout: Option<Duration>,
    /// Redirects followed for one command before giving up.
    pub max_hops: usize,
    /// Send read-only commands to the slot's replicas.
    pub read_from_replicas: bool,
    /// `--down-after`: the failure budget; `None` derives it from the cluster.
    pub down_after: Option<Duration>,
    /// `--tls`/`rediss://`: every connection is TLS, with this one shared client.
    pub tls: Option<Arc<tls::Tls>>,
    /// `--address-map`: where to reach announced endpoints.
    pub address_map: address_map::AddressMap,
}

/// Counters for `--verbose` summaries and tests.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counters {
    pub moved: u64,
    pub ask: u64,
    pub routed_away: u64,
    pub retries: u64,
}

/// The slot map and what is known about how it was obtained.
#[derive(Debug, Default)]
pub struct SlotMap {
    pub topology: Option<Topology>,
    /// Bumped whenever the map changes, so callers can cache routes.
    pub generation: u64,
    /// Why the map cannot be read from the cluster (then slots are learned from
    /// redirects).
    pub learning: Option<String>,
    /// When the map was last asked for (reloads are rate-limited).
    pub last_load: Option<Instant>,
}

/// How often a down node (or cluster) is looked at again.
pub const RECHECK: Duration = Duration::from_secs(1);

/// The session.
pub struct Client {
    options: Options,
    pool: Pool,
    health: Health,
    map: SlotMap,
    current: Endpoint,
    connected: bool,
    /// The server's fingerprint and where the command table came from.
    tables: tables::Tables,
    /// The server's command table once loaded; the built-in one is parsed only if
    /// something needs it first.
    commands: std::cell::OnceCell<Arc<CommandTable>>,
    target: Target,
    tx: Option<Transaction>,
    turn: usize,
    pub counters: Counters,
    /// RESP3 pushes met while reading replies, for `--show-pushes`.
    pushes: Vec<Frame>,
}

impl Client {
    /// How connections are opened for `options`: timeouts, TLS, the names certificates
    /// are checked against, the address map. Shared with the cluster manager.
    pub fn link_settings(options: &Options) -> LinkSettings {
        let seeds = options
            .seeds
            .iter()
            .filter_map(|seed| match seed {
                Endpoint::Tcp { host, .. } => Some(host.clone()),
                Endpoint::Unix(_) => None,
            })
            .collect();
        let sni = options.tls.as_ref().and_then(|t| t.options().sni.clone());
        LinkSettings {
            connect_timeout: options.connect_timeout,
            internal_timeout: options.connect_timeout.max(Duration::from_secs(5)),
            tls: options.tls.clone(),
            names: tls::ServerNames::new(sni, seeds),
            address_map: options.address_map.clone(),
        }
    }

    /// A client that has not connected yet.
    pub fn new(options: Options, state: SessionState) -> Client {
        let current = options.seeds.first().cloned().unwrap_or_else(|| Endpoint::tcp("127.0.0.1", 6379));
        let settings = Client::link_settings(&options);
        let budget = options.down_after.or(options.read_timeout).unwrap_or(refresh::DEFAULT_BUDGET);
        Client {
            pool: Pool::new(state, settings),
            health: Health::new(budget, RECHECK),
            options,
            map: SlotMap::default(),
            current,
            connected: false,
            tables: tables::Tables::default(),
            commands: std::cell::OnceCell::new(),
            target: Target::Current,
            tx: None,
            turn: 0,
            counters: Counters::default(),
            pushes: Vec::new(),
        }
    }

    /// Ctrl-C sets this flag; every wait looks at it.
    pub fn set_interrupt(&mut self, flag: Arc<AtomicBool>) {
        self.pool.set_interrupt(flag);
    }

    pub fn interrupt(&self) -> Option<&AtomicBool> {
        self.pool.interrupt()
    }

    pub fn current(&self) -> &Endpoint {
        &self.current
    }
    /// Replaces the node in the prompt (`:use HOST:PORT`, the pipeline's routing).
    pub fn set_current(&mut self, endpoint: Endpoint) {
        self.current = endpoint;
    }
    pub fn is_connected(&self) -> bool {
        self.connected
    }
    pub fn db(&self) -> i64 {
        self.pool.state().db
    }
    pub fn in_transaction(&self) -> bool {
        self.tx.is_some()
    }
    /// `-c`, unless the node said it has cluster support disabled.
    pub fn is_cluster(&self) -> bool {
        self.options.cluster
    }
    pub fn topology(&self) -> Option<&Topology> {
        self.map.topology.as_ref()
    }
    /// Why the slot map cannot be read, when rcli learns it from redirects instead.
    pub fn learning_slots(&self) -> Option<&str> {
        self.map.learning.as_deref()
    }
    pub fn health(&self) -> &Health {
        &self.health
    }
    pub fn commands(&self) -> &CommandTable {
        self.table()
    }

    fn table(&self) -> &Arc<CommandTable> {
        self.commands.get_or_init(|| Arc::new(CommandTable::builtin()))
    }

    /// A shared handle on the command table, to look commands up while the client is
    /// borrowed mutably.
    pub fn command_table(&self) -> Arc<CommandTable> {
        Arc::clone(self.table())
    }

    /// Changes whenever the slot map does.
    pub fn topology_generation(&self) -> u64 {
        self.map.generation
    }
    pub fn target(&self) -> &Target {
        &self.target
    }
    pub fn set_target(&mut self, target: Target) {
        self.target = target;
    }
    pub fn options(&self) -> &Options {
        &self.options
    }
    /// Bound on waiting for each reply (`None`: wait as long as the server takes).
    pub fn set_read_timeout(&mut self, timeout: Option<Duration>) {
        self.options.read_timeout = timeout;
    }
    pub fn set_read_from_replicas(&mut self, on: bool) {
        self.options.read_from_replicas = on;
    }
    pub fn pool(&mut self) -> &mut Pool {
        &mut self.pool
    }

    /// Keeps pushes for the caller to show (a bounded number).
    fn keep_pushes(&mut self, pushes: Vec<Frame>) {
        self.pushes.extend(pushes);
        let excess = self.pushes.len().saturating_sub(1000);
        self.pushes.drain(..excess);
    }

    /// The RESP3 pushes met since the last call.
    pub fn take_pushes(&mut self) -> Vec<Frame> {
        std::mem::take(&mut self.pushes)
    }

    /// The role of the node at `endpoint`, as far as the slot map knows.
    pub fn role_of(&self, endpoint: &Endpoint) -> Role {
        match self.topology().and_then(|t| t.node(endpoint)) {
            Some(node) if node.primary => Role::Primary,
            Some(_) => Role::Replica,
            None => Role::Unknown,
        }
    }

    /// How long to wait without a byte of the reply to a user's command: without limit
    /// for one that blocks on purpose (BLPOP k 0, SUBSCRIBE); in cluster mode no longer
    /// than the failure budget, since a node silent that long is failing in the
    /// cluster's own eyes too.
    pub fn reply_timeout(&self, blocking: bool) -> Option<Duration> {
        if blocking {
            return None;
        }
        match (self.options.read_timeout, self.is_cluster()) {
            (Some(timeout), true) => Some(timeout.min(self.health.budget())),
            (None, true) => Some(self.health.budget()),
            (timeout, false) => timeout,
        }
    }

    /// Sends one command to exactly `endpoint` with rcli's own bounded wait (for
    /// meta-commands and `--scan`): no routing, no redirects.
    pub fn request_at(&mut self, endpoint: &Endpoint, argv: &[Vec<u8>]) -> Result<Frame> {
        let idle = self.options.read_timeout.or(Some(Duration::from_secs(60)));
        self.pool.request(endpoint, argv, idle)
    }

    /// A node-by-node view for `:nodes`: DBSIZE of each node.
    pub fn dbsize(&mut self, endpoint: &Endpoint) -> Result<i64> {
        let reply = self.pool.internal(endpoint, &["DBSIZE"])?;
        reply
            .as_integer()
            .ok_or_else(|| Error::Protocol { addr: endpoint.to_string(), detail: "DBSIZE is not a number".into() })
    }

    /// `INFO <section>` of one node, as text (rcli's own request, bounded).
    pub fn info(&mut self, endpoint: &Endpoint, section: &str) -> Result<String> {
        let reply = self.pool.internal(endpoint, &["INFO", section])?;
        reply
            .as_bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .ok_or_else(|| Error::Protocol { addr: endpoint.to_string(), detail: "INFO is not text".into() })
    }

    /// Slot → owner for a key, for teaching output.
    pub fn owner_of_key(&self, key: &[u8]) -> (u16, Option<Endpoint>) {
        let slot = slot::slot_of(key);
        (slot, self.owner(slot))
    }

    /// The primary serving `slot`, per the slot map.
    pub fn owner(&self, slot: u16) -> Option<Endpoint> {
        self.topology()?.owner(slot).cloned()
    }

    /// Where a slot's command goes: its owner, or — while the map is unknown or being
    /// learned from redirects — the node in the prompt, whose MOVED will teach rcli.
    fn owner_or_current(&self, slot: u16) -> Option<Endpoint> {
        match self.owner(slot) {
            Some(owner) => Some(owner),
            None if self.map.learning.is_some() || self.map.topology.is_none() => Some(self.current.clone()),
            None => None,
        }
    }

    /// Decides where `argv` goes without sending anything.
    pub fn plan(&mut self, argv: &[Vec<u8>]) -> Result<Plan> {
        if !self.is_cluster() {
            return Ok(Plan::Node(self.current.clone()));
        }
        let positions = self.commands().key_positions(argv);
        if positions.is_empty() {
            if let Some(tx) = &self.tx {
                return Ok(Plan::Node(tx.node.clone()));
            }
            return Ok(self.plan_keyless(argv));
        }
        let in_tx = self.tx.is_some();
        route::plan_keyed(argv, &positions, in_tx, |slot| self.owner_or_current(slot))
    }

    fn plan_keyless(&self, argv: &[Vec<u8>]) -> Plan {
        let Some(topo) = self.topology() else { return Plan::Node(self.current.clone()) };
        let info = self.commands().lookup(argv);
        let policy = info.and_then(|i| i.response_policy);
        let request = info.and_then(|i| i.request_policy);
        let endpoints = |nodes: Vec<&crate::cluster::topology::Node>| -> Vec<Endpoint> {
            nodes.into_iter().map(|n| n.endpoint.clone()).collect()
        };
        match &self.target {
            Target::Current => Plan::Node(self.current.clone()),
            Target::Node(e) => Plan::Node(e.clone()),
            Target::Primaries => Plan::Fanout { nodes: endpoints(topo.primaries()), policy },
            Target::Replicas => Plan::Fanout { nodes: endpoints(topo.replica_nodes()), policy },
            Target::All => Plan::Fanout { nodes: endpoints(topo.all_nodes()), policy },
            Target::Random => {
                let nodes = endpoints(topo.primaries());
                let pick = pseudo_random(nodes.len());
                Plan::Node(nodes.get(pick).cloned().unwrap_or_else(|| self.current.clone()))
            }
            Target::Auto => match request {
                Some(RequestPolicy::AllShards) => Plan::Fanout { nodes: endpoints(topo.primaries()), policy },
                Some(RequestPolicy::AllNodes) => Plan::Fanout { nodes: endpoints(topo.all_nodes()), policy },
                _ => Plan::Node(self.current.clone()),
            },
        }
    }

    /// Runs one command and returns its reply; `events` receives what the user should
    /// see about its route, as it happens.
    /// A big array or set reply from a single node goes to `events`' piece sink as it
    /// arrives, when it has one ([`Reply::Streamed`]).
    pub fn execute(&mut self, argv: &[Vec<u8>], events: &mut dyn EventSink) -> Result<Reply> {
        if self.is_cluster() {
            self.ensure_map(events);
        }
        let plan = self.plan(argv)?;
        let (slot, endpoint) = match plan {
            Plan::Node(endpoint) => (None, endpoint),
            Plan::Slot { slot, endpoint } => (Some(slot), self.prepare_slot(argv, slot, endpoint, events)?),
            Plan::Split { kind, groups } => {
                let frame = self.execute_split(argv, kind, &groups, events);
                self.observe(argv, &frame);
                return Ok(Reply::One(frame));
            }
            Plan::Fanout { nodes, policy } => return Ok(self.execute_fanout(argv, &nodes, policy)),
        };
        let answer = match self.send_routed_pieces(argv, slot, endpoint, events) {
            Err(Error::ServerEnded { .. }) => return Ok(Reply::Ended),
            other => other?,
        };
        Ok(match answer {
            Some(frame) => {
                self.observe(argv, &frame);
                Reply::One(frame)
            }
            None => {
                // A big array: not an error, and none of the commands whose reply
                // changes the session's state (AUTH, SELECT, HELLO…) answers with one.
                self.observe(argv, &Frame::Array(Vec::new()));
                Reply::Streamed
            }
        })
    }

    /// Chooses the node for a single-slot command: the owner, a replica for reads when
    /// asked to, or the transaction's node; moves the prompt like redis-cli does.
    pub fn prepare_slot(
        &mut self,
        argv: &[Vec<u8>],
        slot: u16,
        owner: Endpoint,
        events: &mut dyn EventSink,
    ) -> Result<Endpoint> {
        if self.tx.is_some() {
            return self.pin_transaction(slot, owner, events);
        }
        let readonly = self.commands().lookup(argv).is_some_and(|i| i.flags.readonly);
        if readonly && self.options.read_from_replicas {
            let replicas: Vec<Endpoint> = self
                .topology()
                .map(|t| {
                    t.replicas(slot)
                        .into_iter()
                        .filter(|n| !matches!(n.health.as_str(), "fail" | "failed"))
                        .map(|n| n.endpoint.clone())
                        .collect()
                })
                .unwrap_or_default();
            if !replicas.is_empty() {
                self.turn = self.turn.wrapping_add(1);
                if let Some(replica) = replicas.get(self.turn % replicas.len()).cloned() {
                    self.pool.mark_replica(&replica);
                    events.event(Event::ReplicaRead { slot, to: replica.clone() });
                    return Ok(replica);
                }
            }
        }
        self.move_prompt(slot, &owner, events);
        Ok(owner)
    }

    /// Moves the prompt to `to`, with redis-cli's redirect line, when a command for
    /// `slot` goes there from another node.
    pub fn move_prompt(&mut self, slot: u16, to: &Endpoint, events: &mut dyn EventSink) {
        if *to != self.current {
            events.event(Event::Redirected { slot, to: to.clone() });
            self.counters.routed_away += 1;
            self.current = to.clone();
        }
    }

    /// Inside MULTI: the first keyed command pins the transaction to its slot (moving
    /// MULTI to the slot's owner if needed); a command for another slot is refused.
    fn pin_transaction(&mut self, slot: u16, owner: Endpoint, events: &mut dyn EventSink) -> Result<Endpoint> {
        let Some(tx) = self.tx.clone() else { return Ok(owner) };
        match tx.slot {
            Some(pinned) if pinned != slot => Err(Error::Refused(format!(
                "refused inside MULTI: the transaction is pinned to slot {pinned} on {}, this key is in slot {slot}; \
                 give the keys a common {{hash tag}}, or EXEC/DISCARD first",
                tx.node
            ))),
            Some(_) => Ok(tx.node),
            None if owner == tx.node => {
                if let Some(t) = &mut self.tx {
                    t.slot = Some(slot);
                }
                Ok(owner)
            }
            None => {
                // Move the (so far keyless) transaction to the slot's owner. A failed
                // DISCARD only closes that connection, which ends the MULTI there too.
                let _ = self.pool.internal(&tx.node, &["DISCARD"]);
                let reply = self.pool.internal(&owner, &["MULTI"])?;
                if let Some(err) = reply.as_error() {
                    return Err(Error::Refused(format!("MULTI on {owner} failed: {}", String::from_utf8_lossy(err))));
                }
                for queued in &tx.queued {
                    self.pool.internal(&owner, queued)?;
                }
                events.event(Event::Redirected { slot, to: owner.clone() });
                self.current = owner.clone();
                self.tx = Some(Transaction { node: owner.clone(), slot: Some(slot), queued: tx.queued });
                Ok(owner)
            }
        }
    }

    /// Updates the session after a reply: what a reconnect must restore, the prompt's
    /// `[db]` and `(TX)`.
    pub fn observe(&mut self, argv: &[Vec<u8>], reply: &Frame) {
        let mut state = self.pool.state().clone();
        let change = state.observe(argv, reply);
        if change.relink_others {
            let current = self.current.clone();
            self.pool.update_state(state, Some(&current));
        }
        if let Some(readonly) = change.readonly {
            self.pool.set_user_readonly(readonly);
        }
        let name = argv.first().map(|n| n.to_ascii_lowercase()).unwrap_or_default();
        let ok = reply.as_error().is_none();
        match name.as_slice() {
            b"reset" if ok => self.tx = None,
            b"multi" if reply.is_ok() => {
                self.tx = Some(Transaction { node: self.current.clone(), slot: None, queued: Vec::new() });
            }
            b"exec" | b"discard" => self.tx = None,
            _ => {
                if let Some(tx) = &mut self.tx
                    && ok
                    && tx.slot.is_none()
                {
                    tx.queued.push(argv.to_vec());
                }
            }
        }
    }
}

/// SHUTDOWN without ABORT: the server closing the link is its success.
pub fn ends_server(argv: &[Vec<u8>]) -> bool {
    argv.first().is_some_and(|n| n.eq_ignore_ascii_case(b"shutdown"))
        && !argv.iter().skip(1).any(|a| a.eq_ignore_ascii_case(b"abort"))
}

/// Commands whose reply is a stream of messages: they wait without a timeout.
pub fn is_streaming(argv: &[Vec<u8>]) -> bool {
    argv.first().is_some_and(|n| {
        ["subscribe", "psubscribe", "ssubscribe", "monitor", "sync", "psync", "wait", "waitaof"]
            .iter()
            .any(|s| n.eq_ignore_ascii_case(s.as_bytes()))
    })
}

/// A small index in `0..n` that differs between calls, without a random-number crate.
fn pseudo_random(n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    (nanos as usize / 1000) % n
}
