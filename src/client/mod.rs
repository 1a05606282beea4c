//! The session's client: where each command goes and how its answer comes back. The
//! pieces live in their own rooms:
//! * [`stream`], [`connection`]: bytes to and from one node; [`pool`]: the only owner
//!   of connections, lending one out per complete exchange;
//! * [`state`]: what every connection must share (AUTH, SELECT, HELLO, names, MULTI);
//! * [`routed`]: one command to its node through the retry policy
//!   ([`crate::cluster::retry`]) and node health ([`crate::cluster::health`]);
//! * [`refresh`]: loading the slot map and the failure budget; [`tables`], [`cache`]:
//!   the command tables, cached on disk and checked against the server; `startup`:
//!   what a cluster session asks its seed first, in one exchange; `hint`,
//!   [`map_cache`]: one-shots routed by the slot map cached on disk;
//! * [`fanout`]: split commands, fan-out to several nodes, SCAN walks, streams.
//!
//! This file holds the [`Client`] and its settings; [`dispatch`] plans and sends one
//! command. Without `-c` the same type serves one node: nothing is routed and a MOVED
//! is just an error reply, as in redis-cli. What reaches the user is returned as values
//! ([`crate::cluster::reply::Reply`], [`crate::cluster::event::Event`]); printing them
//! is the caller's job.

pub mod address_map;
pub mod cache;
pub mod connection;
pub mod descriptors;
mod dispatch;
pub mod fanout;
mod gate;
mod hint;
pub mod map_cache;
mod next_step;
pub mod pool;
pub mod refresh;
pub mod replication;
pub mod routed;
mod startup;
pub mod state;
pub mod stream;
pub mod tables;
pub mod tls;
pub mod workers;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use crate::client::pool::{LinkSettings, Pool};
use crate::client::state::{SessionState, Transaction};
use crate::cluster::command::Command;
use crate::cluster::commands::CommandTable;
use crate::cluster::health::Health;
use crate::cluster::reply::Role;
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
    /// `--az`: replicas announcing this availability zone are preferred for those reads.
    pub az: Option<String>,
    /// `--down-after`: the failure budget; `None` derives it from the cluster.
    pub down_after: Option<Duration>,
    /// `--tls`/`rediss://`: every connection is TLS, with this one shared client.
    pub tls: Option<Arc<tls::Tls>>,
    /// `--address-map`: where to reach announced endpoints.
    pub address_map: address_map::AddressMap,
    /// `-4`/`-6`: which addresses of a host name are tried first.
    pub family: stream::Family,
    /// `--parallel`: per-node jobs at once (client/workers.rs).
    pub parallel: usize,
    /// The slot map cached on disk may route one-shot commands and is kept up to date
    /// (off with `--no-map-cache` or `RCLI_NO_MAP_CACHE=1`): `hint.rs`, `map_cache.rs`.
    pub map_cache: bool,
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
    /// The failure budget was learned (or given): until then it is provisional, and the
    /// first failure asks the cluster (`refresh.rs`).
    budget_known: bool,
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
            family: options.family,
            parallel: options.parallel,
        }
    }

    /// A client that has not connected yet.
    pub fn new(options: Options, state: SessionState) -> Client {
        let current = options.seeds.first().cloned().unwrap_or_else(|| Endpoint::tcp("127.0.0.1", 6379));
        let settings = Client::link_settings(&options);
        let budget = Client::provisional_budget(&options);
        Client {
            pool: Pool::new(state, settings),
            health: Health::new(budget, RECHECK),
            budget_known: options.down_after.is_some(),
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

    /// Learns the failure budget now rather than at the first failure (`rcli top`
    /// shows a node as down once its outage outlasts it).
    pub fn learn_budget_now(&mut self) {
        self.learn_budget(None);
    }
    pub fn commands(&self) -> &CommandTable {
        self.table()
    }

    /// `argv` as a command: classified once, with this client's command table.
    pub fn command(&self, argv: Vec<Vec<u8>>) -> Command {
        Command::new(argv, self.table())
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
    /// The availability zone whose replicas replica reads prefer (`None`: any replica).
    pub fn set_az(&mut self, zone: Option<String>) {
        self.options.az = zone;
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
    /// meta-commands and `--scan`): no routing, no redirects. With a slot map the wait
    /// is no longer than the failure budget, as for a user's command.
    pub fn request_at(&mut self, endpoint: &Endpoint, argv: &[Vec<u8>]) -> Result<Frame> {
        let idle = match self.topology() {
            Some(_) => self.reply_timeout(false),
            None => self.options.read_timeout.or(Some(Duration::from_secs(60))),
        };
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
