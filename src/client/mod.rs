//! The session: one connection per node, the slot map, routing before sending, and the
//! bounded loop that follows MOVED/ASK, backs off on TRYAGAIN/CLUSTERDOWN/LOADING/
//! MASTERDOWN and survives a dead node. Also fan-out to several nodes, splitting of
//! cross-slot MGET/MSET/DEL/…, transactions pinned to one node, and the session state
//! (AUTH, SELECT, HELLO, CLIENT SETNAME, READONLY) replayed on every new connection.
//!
//! The same type serves a single node (no `-c`): then nothing is routed and a MOVED is
//! just an error reply, as in redis-cli. What reaches the user is returned as values
//! ([`Reply`], [`Event`]); printing them is the caller's job.

pub mod cache;
pub mod connection;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::client::connection::{Connection, Credentials, SessionState, Wait};
use crate::cluster::commands::{CommandTable, RequestPolicy, ResponsePolicy};
use crate::cluster::redirect::{Redirect, RedirectKind, is_transient};
use crate::cluster::route::{self, Plan, SplitKind};
use crate::cluster::slot;
use crate::cluster::topology::Topology;
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::protocol::resp::{self, Frame};

/// How the client behaves; fixed for a session (except what meta-commands change).
#[derive(Debug, Clone)]
pub struct Options {
    /// Nodes to start from; the first is the one in the prompt.
    pub seeds: Vec<Endpoint>,
    /// `-c`: route by slot and follow redirects.
    pub cluster: bool,
    pub connect_timeout: Duration,
    /// Bound on waiting for a reply to a non-blocking command.
    pub read_timeout: Option<Duration>,
    /// Redirects followed for one command before giving up.
    pub max_hops: usize,
    /// Send read-only commands to the slot's replicas.
    pub read_from_replicas: bool,
}

/// Where keyless commands go (`:use`, `--target`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The node in the prompt (redis-cli's behaviour).
    Current,
    Node(Endpoint),
    Primaries,
    Replicas,
    All,
    Random,
    /// Follow the command's `request_policy` tip.
    Auto,
}

impl Target {
    pub fn describe(&self) -> String {
        match self {
            Target::Current => "the node in the prompt".into(),
            Target::Node(e) => e.to_string(),
            Target::Primaries => "all primaries".into(),
            Target::Replicas => "all replicas".into(),
            Target::All => "all nodes".into(),
            Target::Random => "a random primary".into(),
            Target::Auto => "auto (the command's request_policy tip)".into(),
        }
    }
}

/// Something the user should see about how a command travelled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Routed to the slot's owner, which is not the node in the prompt.
    Redirected { slot: u16, to: Endpoint },
    /// A read-only command served by a replica.
    ReplicaRead { slot: u16, to: Endpoint },
    /// The server said MOVED: the slot map was stale.
    Moved { slot: u16, to: Endpoint },
    /// The server said ASK: the slot is migrating.
    Ask { slot: u16, to: Endpoint },
    /// A cross-slot command split into one command per slot.
    Split { slots: usize, nodes: usize },
    /// A transient cluster error; trying again after a pause.
    Retry { error: String, attempt: usize, of: usize, delay: Duration },
    /// A node did not answer; the slot map is being reloaded.
    NodeDown { endpoint: Endpoint, error: String },
    /// A non-cluster node given with `-c`.
    NotACluster { endpoint: Endpoint },
}

impl Event {
    /// The line printed for this event.
    pub fn line(&self) -> String {
        match self {
            Event::Redirected { slot, to } => format!("-> Redirected to slot [{slot}] located at {to}"),
            Event::ReplicaRead { slot, to } => format!("-> Reading slot [{slot}] from replica {to}"),
            Event::Moved { slot, to } => format!("-> MOVED: slot {slot} is now at {to}, slot map refreshed"),
            Event::Ask { slot, to } => format!("-> ASK: slot {slot} is migrating to {to}, asking there once"),
            Event::Split { slots, nodes } => {
                format!(
                    "-> split across {slots} slots on {nodes} node{} (not atomic)",
                    if *nodes == 1 { "" } else { "s" }
                )
            }
            Event::Retry { error, attempt, of, delay } => {
                format!("-> {error}: retrying in {} ms (attempt {attempt} of {of})", delay.as_millis())
            }
            Event::NodeDown { endpoint, error } => {
                format!("-> {endpoint} is not answering ({error}); reloading the slot map")
            }
            Event::NotACluster { endpoint } => {
                format!("-> {endpoint} has cluster support disabled; running as a single node")
            }
        }
    }
}

/// A node's role, for fan-out headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Primary,
    Replica,
    Unknown,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Primary => "primary",
            Role::Replica => "replica",
            Role::Unknown => "node",
        }
    }
}

/// One node's answer in a fan-out.
#[derive(Debug)]
pub struct NodeReply {
    pub endpoint: Endpoint,
    pub role: Role,
    pub result: std::result::Result<Frame, String>,
}

/// What a command produced.
#[derive(Debug)]
pub enum Reply {
    One(Frame),
    /// Several nodes answered; `combined` is set when a response policy merges them.
    Fanout {
        parts: Vec<NodeReply>,
        combined: Option<(ResponsePolicy, Frame)>,
    },
}

/// Counters for `--verbose` summaries and tests.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counters {
    pub moved: u64,
    pub ask: u64,
    pub routed_away: u64,
    pub retries: u64,
}

#[derive(Debug, Clone)]
struct Transaction {
    node: Endpoint,
    slot: Option<u16>,
    queued: Vec<Vec<Vec<u8>>>,
}

/// How a round trip failed: before the command could have reached the server (safe to
/// send again), or after (the outcome is unknown).
enum Failure {
    Unsent(Error),
    Sent(Error),
}

/// Attempts at the transient errors (TRYAGAIN, CLUSTERDOWN, …) before showing them.
pub const TRANSIENT_RETRIES: usize = 5;
/// Attempts at reaching a slot's owner after node failures, with the map reloaded and a
/// growing pause between them (about 12 s in all, enough for a replica to take over).
pub const FAILOVER_ATTEMPTS: usize = 8;
const IDLE_CHECK: Duration = Duration::from_secs(1);
/// Pages one SCAN over one node may take (a billion keys at the default COUNT).
const MAX_SCAN_PAGES: usize = 100_000_000;

/// The session.
pub struct Client {
    options: Options,
    state: SessionState,
    user_readonly: bool,
    pool: HashMap<Endpoint, (Connection, Instant)>,
    readonly_links: HashSet<Endpoint>,
    current: Endpoint,
    connected: bool,
    topology: Option<Topology>,
    /// `redis_version` of the node in the prompt, once asked.
    server_version: Option<String>,
    /// The server's command table once loaded; the built-in one is parsed only if
    /// something needs it first.
    commands: std::cell::OnceCell<Arc<CommandTable>>,
    /// Bumped whenever the slot map changes, so callers can cache routes.
    generation: u64,
    target: Target,
    tx: Option<Transaction>,
    interrupt: Option<Arc<AtomicBool>>,
    turn: usize,
    pub counters: Counters,
}

impl Client {
    /// A client that has not connected yet.
    pub fn new(options: Options, state: SessionState) -> Client {
        let current = options.seeds.first().cloned().unwrap_or_else(|| Endpoint::tcp("127.0.0.1", 6379));
        Client {
            options,
            state,
            user_readonly: false,
            pool: HashMap::new(),
            readonly_links: HashSet::new(),
            current,
            connected: false,
            topology: None,
            server_version: None,
            commands: std::cell::OnceCell::new(),
            generation: 0,
            target: Target::Current,
            tx: None,
            interrupt: None,
            turn: 0,
            counters: Counters::default(),
        }
    }

    /// Opens the first connection and, in cluster mode, loads the command table and the
    /// slot map.
    pub fn connect(&mut self, events: &mut Vec<Event>) -> Result<()> {
        let current = self.current.clone();
        let mut result = self.link(&current).map(|_| ());
        if result.is_err() && self.options.cluster {
            // In cluster mode any seed will do: the first that answers is the prompt's node.
            for seed in self.options.seeds.clone().iter().filter(|s| **s != current) {
                if self.link(seed).is_ok() {
                    self.current = seed.clone();
                    result = Ok(());
                    break;
                }
            }
        }
        self.connected = result.is_ok();
        result?;
        if self.options.cluster {
            self.load_command_table();
            self.refresh_topology(None, events)?;
        }
        Ok(())
    }

    /// Points the session at another node (`connect HOST PORT`), dropping every link.
    pub fn reconnect_to(&mut self, endpoint: Endpoint, events: &mut Vec<Event>) -> Result<()> {
        self.pool.clear();
        self.readonly_links.clear();
        self.topology = None;
        self.generation += 1;
        self.server_version = None;
        self.tx = None;
        self.current = endpoint.clone();
        self.options.seeds.insert(0, endpoint);
        self.connect(events)
    }

    /// Ctrl-C sets this flag; waits for replies to user commands look at it.
    pub fn set_interrupt(&mut self, flag: Arc<AtomicBool>) {
        self.interrupt = Some(flag);
    }

    pub fn current(&self) -> &Endpoint {
        &self.current
    }
    pub fn is_connected(&self) -> bool {
        self.connected
    }
    pub fn db(&self) -> i64 {
        self.state.db
    }
    pub fn in_transaction(&self) -> bool {
        self.tx.is_some()
    }
    pub fn is_cluster(&self) -> bool {
        self.options.cluster && self.topology.is_some()
    }
    pub fn topology(&self) -> Option<&Topology> {
        self.topology.as_ref()
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
        self.generation
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

    /// The role of the node at `endpoint`, as far as the slot map knows.
    pub fn role_of(&self, endpoint: &Endpoint) -> Role {
        match self.topology.as_ref().and_then(|t| t.node(endpoint)) {
            Some(node) if node.primary => Role::Primary,
            Some(_) => Role::Replica,
            None => Role::Unknown,
        }
    }

    /// How long to wait for the reply to a user's command: without limit for one that
    /// blocks on purpose (BLPOP k 0, SUBSCRIBE), else the read timeout.
    fn reply_timeout(&self, blocking: bool) -> Option<Duration> {
        if blocking { None } else { self.options.read_timeout }
    }

    fn internal_wait(&self) -> Wait<'static> {
        Wait::bounded(self.options.connect_timeout.max(Duration::from_secs(5)))
    }

    /// The open connection to `endpoint`, opened (with the session handshake) if needed.
    pub fn link(&mut self, endpoint: &Endpoint) -> Result<&mut Connection> {
        let readonly = self.user_readonly || self.readonly_links.contains(endpoint);
        if !self.pool.contains_key(endpoint) {
            let conn = Connection::open(endpoint, &self.state, readonly, self.options.connect_timeout)?;
            self.pool.insert(endpoint.clone(), (conn, Instant::now()));
        }
        match self.pool.get_mut(endpoint) {
            Some((conn, used)) => {
                *used = Instant::now();
                Ok(conn)
            }
            None => Err(Error::Closed { addr: endpoint.to_string() }),
        }
    }

    /// Forgets the connection to `endpoint` (after an error, or when its state is
    /// unknown after Ctrl-C); the next use reconnects and replays the session.
    pub fn drop_link(&mut self, endpoint: &Endpoint) {
        self.pool.remove(endpoint);
    }

    /// Drops every connection but the current one, so the others reconnect with a
    /// changed session state (a typed AUTH, SELECT, HELLO or CLIENT SETNAME).
    fn drop_other_links(&mut self, keep: &Endpoint) {
        self.pool.retain(|endpoint, _| endpoint == keep);
    }

    /// A reply about the server's commands (`COMMAND`, `COMMAND DOCS`) from the on-disk
    /// cache for its version, or asked of the node in the prompt (then cached). The
    /// version is asked once per node.
    fn server_reply(&mut self, kind: &str, command: &[&str]) -> Option<Frame> {
        let current = self.current.clone();
        let wait = self.internal_wait();
        let version = match self.server_version.clone() {
            Some(version) => version,
            None => {
                let info = self.link(&current).ok()?.request(&["INFO", "server"], wait).ok()?;
                let version = cache::version_from_info(&info)?;
                self.server_version = Some(version.clone());
                version
            }
        };
        let conn = self.link(&current).ok()?;
        cache::reply_for_version(kind, &version, || conn.request(command, wait).ok().filter(|f| f.as_error().is_none()))
    }

    fn load_command_table(&mut self) {
        if let Some(reply) = self.server_reply("command-info", &["COMMAND"]) {
            let table = CommandTable::from_reply(&reply);
            if !table.is_empty() {
                self.commands = std::cell::OnceCell::from(Arc::new(table));
            }
        }
    }

    /// Command docs from the server (`COMMAND DOCS`, cached per version), for help,
    /// completion and hints; `None` when the server cannot answer.
    pub fn load_docs(&mut self) -> Option<crate::shell::docs::Docs> {
        let reply = self.server_reply("command-docs", &["COMMAND", "DOCS"])?;
        let docs = crate::shell::docs::Docs::from_reply(&reply);
        (!docs.entries.is_empty()).then_some(docs)
    }

    /// Reloads the slot map from the first node that answers, other than `avoid`: the
    /// node in the prompt, then the seeds, then every other known node.
    pub fn refresh_topology(&mut self, avoid: Option<&Endpoint>, events: &mut Vec<Event>) -> Result<()> {
        let mut candidates = vec![self.current.clone()];
        candidates.extend(self.options.seeds.iter().cloned());
        if let Some(topo) = &self.topology {
            candidates.extend(topo.all_nodes().into_iter().map(|n| n.endpoint.clone()));
        }
        let mut seen = HashSet::new();
        candidates.retain(|e| Some(e) != avoid && seen.insert(e.clone()));
        let wait = self.internal_wait();
        let mut last_error = String::from("no node to ask");
        for endpoint in candidates {
            let conn = match self.link(&endpoint) {
                Ok(conn) => conn,
                Err(e) => {
                    last_error = e.to_string();
                    continue;
                }
            };
            let reply = conn.request(&["CLUSTER", "SHARDS"], wait);
            let parsed = match &reply {
                Ok(frame) if frame.as_error().is_none() => Topology::from_shards(frame, &endpoint),
                Ok(frame) => {
                    let error = String::from_utf8_lossy(frame.as_error().unwrap_or_default()).into_owned();
                    if error.contains("cluster support disabled") {
                        self.options.cluster = false;
                        self.topology = None;
                        events.push(Event::NotACluster { endpoint });
                        return Ok(());
                    }
                    match conn.request(&["CLUSTER", "SLOTS"], wait) {
                        Ok(slots) if slots.as_error().is_none() => Topology::from_slots(&slots, &endpoint),
                        Ok(slots) => {
                            last_error = format!(
                                "{endpoint}: {}",
                                String::from_utf8_lossy(slots.as_error().unwrap_or_default())
                            );
                            None
                        }
                        Err(e) => {
                            last_error = e.to_string();
                            None
                        }
                    }
                }
                Err(e) => {
                    last_error = e.to_string();
                    None
                }
            };
            match parsed {
                Some(topo) if !topo.primaries().is_empty() => {
                    self.topology = Some(topo);
                    self.generation += 1;
                    return Ok(());
                }
                Some(_) => last_error = format!("{endpoint}: no slots are assigned"),
                None if reply.is_err() => self.drop_link(&endpoint),
                None => {}
            }
        }
        Err(Error::Topology(last_error))
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
            return self.plan_keyless(argv);
        }
        let in_tx = self.tx.is_some();
        route::plan_keyed(argv, &positions, in_tx, |slot| self.owner(slot))
    }

    /// The primary serving `slot`, per the slot map.
    pub fn owner(&self, slot: u16) -> Option<Endpoint> {
        self.topology.as_ref()?.owner(slot).cloned()
    }

    fn plan_keyless(&mut self, argv: &[Vec<u8>]) -> Result<Plan> {
        let Some(topo) = &self.topology else { return Ok(Plan::Node(self.current.clone())) };
        let info = self.commands().lookup(argv);
        let policy = info.and_then(|i| i.response_policy);
        let request = info.and_then(|i| i.request_policy);
        let primaries = || topo.primaries().into_iter().map(|n| n.endpoint.clone()).collect::<Vec<_>>();
        let plan = match &self.target {
            Target::Current => Plan::Node(self.current.clone()),
            Target::Node(e) => Plan::Node(e.clone()),
            Target::Primaries => Plan::Fanout { nodes: primaries(), policy },
            Target::Replicas => {
                Plan::Fanout { nodes: topo.replica_nodes().into_iter().map(|n| n.endpoint.clone()).collect(), policy }
            }
            Target::All => {
                Plan::Fanout { nodes: topo.all_nodes().into_iter().map(|n| n.endpoint.clone()).collect(), policy }
            }
            Target::Random => {
                let nodes = primaries();
                let pick = pseudo_random(nodes.len());
                Plan::Node(nodes.get(pick).cloned().unwrap_or_else(|| self.current.clone()))
            }
            Target::Auto => match request {
                Some(RequestPolicy::AllShards) => Plan::Fanout { nodes: primaries(), policy },
                Some(RequestPolicy::AllNodes) => {
                    Plan::Fanout { nodes: topo.all_nodes().into_iter().map(|n| n.endpoint.clone()).collect(), policy }
                }
                _ => Plan::Node(self.current.clone()),
            },
        };
        Ok(plan)
    }

    /// Runs one command and returns its reply; `events` receives what the user should
    /// see about its route.
    pub fn execute(&mut self, argv: &[Vec<u8>], events: &mut Vec<Event>) -> Result<Reply> {
        let plan = self.plan(argv)?;
        let reply = match plan {
            Plan::Node(endpoint) => Reply::One(self.send_routed(argv, None, endpoint, events)?),
            Plan::Slot { slot, endpoint } => {
                let endpoint = self.prepare_slot(argv, slot, endpoint, events)?;
                Reply::One(self.send_routed(argv, Some(slot), endpoint, events)?)
            }
            Plan::Split { kind, groups } => Reply::One(self.execute_split(argv, kind, &groups, events)?),
            Plan::Fanout { nodes, policy } => self.execute_fanout(argv, &nodes, policy),
        };
        if let Reply::One(frame) = &reply {
            self.observe(argv, frame);
        }
        Ok(reply)
    }

    /// Chooses the node for a single-slot command: the owner, a replica for reads when
    /// asked to, or the transaction's node; moves the prompt like redis-cli does.
    pub fn prepare_slot(
        &mut self,
        argv: &[Vec<u8>],
        slot: u16,
        owner: Endpoint,
        events: &mut Vec<Event>,
    ) -> Result<Endpoint> {
        if self.tx.is_some() {
            return self.pin_transaction(slot, owner, events);
        }
        let readonly = self.commands().lookup(argv).is_some_and(|i| i.flags.readonly);
        if readonly && self.options.read_from_replicas {
            let replicas: Vec<Endpoint> = self
                .topology
                .as_ref()
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
                let replica = replicas[self.turn % replicas.len()].clone();
                if self.readonly_links.insert(replica.clone()) {
                    self.drop_link(&replica);
                }
                events.push(Event::ReplicaRead { slot, to: replica.clone() });
                return Ok(replica);
            }
        }
        if owner != self.current {
            events.push(Event::Redirected { slot, to: owner.clone() });
            self.counters.routed_away += 1;
            self.current = owner.clone();
        }
        Ok(owner)
    }

    /// Inside MULTI: the first keyed command pins the transaction to its slot (moving
    /// MULTI to the slot's owner if needed); a command for another slot is refused.
    fn pin_transaction(&mut self, slot: u16, owner: Endpoint, events: &mut Vec<Event>) -> Result<Endpoint> {
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
                // Move the (so far keyless) transaction to the slot's owner.
                let wait = self.internal_wait();
                if let Ok(conn) = self.link(&tx.node) {
                    let _ = conn.request(&["DISCARD"], wait);
                }
                let conn = self.link(&owner)?;
                let reply = conn.request(&["MULTI"], wait)?;
                if let Some(err) = reply.as_error() {
                    return Err(Error::Refused(format!("MULTI on {owner} failed: {}", String::from_utf8_lossy(err))));
                }
                for queued in &tx.queued {
                    conn.request(queued, wait)?;
                }
                events.push(Event::Redirected { slot, to: owner.clone() });
                self.current = owner.clone();
                self.tx = Some(Transaction { node: owner.clone(), slot: Some(slot), queued: tx.queued });
                Ok(owner)
            }
        }
    }

    /// One command to one node, following redirects, transient errors and failovers
    /// within their bounds.
    pub fn send_routed(
        &mut self,
        argv: &[Vec<u8>],
        slot: Option<u16>,
        first: Endpoint,
        events: &mut Vec<Event>,
    ) -> Result<Frame> {
        let info = self.commands().lookup(argv);
        let blocking = info.is_some_and(|i| i.flags.blocking) || is_streaming(argv);
        let readonly = info.is_some_and(|i| i.flags.readonly);
        let cluster = self.is_cluster();
        let mut endpoint = first;
        let mut asking = false;
        let (mut hops, mut transient, mut failures) = (0, 0, 0);
        loop {
            match self.round_trip(&endpoint, argv, asking, blocking) {
                Ok(frame) => {
                    let error = frame.as_error().map(<[u8]>::to_vec);
                    let Some(error) = error.filter(|_| cluster) else {
                        if endpoint == self.current || self.tx.is_some() {
                            self.connected = true;
                        }
                        return Ok(frame);
                    };
                    if let Some(redirect) = Redirect::parse(&error, &endpoint) {
                        hops += 1;
                        if hops > self.options.max_hops {
                            return Err(Error::TooManyHops {
                                limit: self.options.max_hops,
                                last: String::from_utf8_lossy(&error).into_owned(),
                            });
                        }
                        asking = self.follow(&redirect, events);
                        endpoint = redirect.to;
                        continue;
                    }
                    if is_transient(&error) && transient < TRANSIENT_RETRIES {
                        transient += 1;
                        self.counters.retries += 1;
                        let delay = Duration::from_millis(50 << transient);
                        let word = String::from_utf8_lossy(error.split(|&b| b == b' ').next().unwrap_or_default())
                            .into_owned();
                        events.push(Event::Retry {
                            error: format!("{word} from {endpoint}"),
                            attempt: transient,
                            of: TRANSIENT_RETRIES,
                            delay,
                        });
                        self.pause(delay)?;
                        if error.starts_with(b"CLUSTERDOWN") {
                            let _ = self.refresh_topology(None, events);
                            if let Some(owner) = slot.and_then(|s| self.owner(s)) {
                                endpoint = owner;
                            }
                        }
                        continue;
                    }
                    return Ok(frame);
                }
                Err(Failure::Sent(error)) if !(readonly && failures == 0 && is_broken_link(&error)) => {
                    // The command may have run: only a read-only one is sent again.
                    self.drop_link(&endpoint);
                    if endpoint == self.current && error.is_link_failure() {
                        self.connected = false;
                    }
                    return Err(if is_broken_link(&error) && !readonly {
                        Error::OutcomeUnknown { addr: endpoint.to_string(), cause: crate::error::os_message_of(&error) }
                    } else {
                        error
                    });
                }
                Err(Failure::Sent(error) | Failure::Unsent(error)) => {
                    self.drop_link(&endpoint);
                    if matches!(error, Error::Auth { .. } | Error::Handshake { .. } | Error::Interrupted) {
                        return Err(error);
                    }
                    failures += 1;
                    if !cluster {
                        // A stale connection: reconnect once, the command never reached the server.
                        if failures > 1 {
                            if endpoint == self.current {
                                self.connected = false;
                            }
                            return Err(error);
                        }
                        continue;
                    }
                    if failures > FAILOVER_ATTEMPTS {
                        return Err(error);
                    }
                    events.push(Event::NodeDown {
                        endpoint: endpoint.clone(),
                        error: crate::error::os_message_of(&error),
                    });
                    if failures > 1 {
                        self.pause(Duration::from_millis(250 * (1 << (failures - 2).min(3))))?;
                    }
                    let _ = self.refresh_topology(Some(&endpoint), events);
                    let next = match slot {
                        Some(s) => self.owner(s),
                        None => self.topology.as_ref().and_then(|t| {
                            t.primaries().into_iter().map(|n| n.endpoint.clone()).find(|e| *e != endpoint)
                        }),
                    };
                    if let Some(next) = next {
                        if endpoint == self.current && next != endpoint && self.tx.is_none() {
                            if let Some(s) = slot {
                                events.push(Event::Redirected { slot: s, to: next.clone() });
                            }
                            self.current = next.clone();
                        }
                        endpoint = next;
                    }
                    asking = false;
                }
            }
        }
    }

    /// Records a MOVED/ASK and says whether the next attempt needs ASKING.
    fn follow(&mut self, redirect: &Redirect, events: &mut Vec<Event>) -> bool {
        match redirect.kind {
            RedirectKind::Moved => {
                self.counters.moved += 1;
                events.push(Event::Moved { slot: redirect.slot, to: redirect.to.clone() });
                if let Some(topo) = &mut self.topology {
                    topo.apply_moved(redirect.slot, &redirect.to);
                }
                self.generation += 1;
                let _ = self.refresh_topology(None, &mut Vec::new());
                if self.tx.is_none() {
                    self.current = redirect.to.clone();
                }
                false
            }
            RedirectKind::Ask => {
                self.counters.ask += 1;
                events.push(Event::Ask { slot: redirect.slot, to: redirect.to.clone() });
                true
            }
        }
    }

    /// Walks one node's keyspace with SCAN from cursor 0 (`argv` is a SCAN command; its
    /// cursor is replaced), handing each page's keys to `page` with whether more pages
    /// follow; `page` returns false to stop early. An error reply ends the walk and is
    /// returned. Bounded by [`MAX_SCAN_PAGES`].
    pub fn scan_node(
        &mut self,
        endpoint: &Endpoint,
        argv: &[Vec<u8>],
        mut page: impl FnMut(&[Frame], bool) -> bool,
    ) -> Result<Option<Frame>> {
        let mut request = argv.to_vec();
        request[1] = b"0".to_vec();
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
            match cursor {
                Some(cursor) => request[1] = cursor.to_vec(),
                None => break,
            }
        }
        Ok(None)
    }

    /// SCAN with a multi-node target: one node's whole keyspace as one SCAN reply with
    /// cursor 0.
    fn scan_whole_node(&mut self, endpoint: &Endpoint, argv: &[Vec<u8>]) -> Result<Frame> {
        let mut keys = Vec::new();
        let error = self.scan_node(endpoint, argv, |found, _| {
            keys.extend_from_slice(found);
            true
        })?;
        Ok(error.unwrap_or_else(|| Frame::Array(vec![Frame::Bulk(b"0".to_vec()), Frame::Array(keys)])))
    }

    fn pause(&self, delay: Duration) -> Result<()> {
        let until = Instant::now() + delay;
        while Instant::now() < until {
            if self.interrupt.as_ref().is_some_and(|f| f.load(Ordering::SeqCst)) {
                return Err(Error::Interrupted);
            }
            std::thread::sleep(until.saturating_duration_since(Instant::now()).min(Duration::from_millis(50)));
        }
        Ok(())
    }

    fn round_trip(
        &mut self,
        endpoint: &Endpoint,
        argv: &[Vec<u8>],
        asking: bool,
        blocking: bool,
    ) -> std::result::Result<Frame, Failure> {
        if let Some((conn, used)) = self.pool.get_mut(endpoint)
            && used.elapsed() > IDLE_CHECK
            && conn.is_closed_by_peer()
        {
            self.pool.remove(endpoint);
        }
        let interrupt = self.interrupt.clone();
        let timeout = self.reply_timeout(blocking);
        let conn = self.link(endpoint).map_err(Failure::Unsent)?;
        let mut out = Vec::new();
        if asking {
            resp::encode_command(&[&b"ASKING"[..]], &mut out);
        }
        resp::encode_command(argv, &mut out);
        conn.write_all(&out).map_err(Failure::Unsent)?;
        let wait = Wait { timeout, interrupt: interrupt.as_deref() };
        if asking {
            let reply = conn.read_reply(wait).map_err(Failure::Sent)?;
            if let Some(err) = reply.as_error() {
                // ASKING itself failed: the command's reply still follows.
                let _ = conn.read_reply(wait);
                return Ok(Frame::Error([b"ASKING failed: ".as_slice(), err].concat()));
            }
        }
        conn.read_reply(wait).map_err(Failure::Sent)
    }

    fn execute_split(
        &mut self,
        argv: &[Vec<u8>],
        kind: SplitKind,
        groups: &[(u16, Vec<usize>)],
        events: &mut Vec<Event>,
    ) -> Result<Frame> {
        let nodes: HashSet<Option<Endpoint>> = groups.iter().map(|(s, _)| self.owner(*s)).collect();
        events.push(Event::Split { slots: groups.len(), nodes: nodes.len() });
        let mut parts = Vec::with_capacity(groups.len());
        for (slot, positions) in groups {
            let sub = route::sub_command(argv, kind, positions);
            let owner = self.owner(*slot).unwrap_or_else(|| self.current.clone());
            let frame = self.send_routed(&sub, Some(*slot), owner, events)?;
            parts.push((positions.clone(), frame));
        }
        Ok(route::merge_split(argv, kind, parts))
    }

    fn execute_fanout(&mut self, argv: &[Vec<u8>], nodes: &[Endpoint], policy: Option<ResponsePolicy>) -> Reply {
        if argv.len() >= 2 && argv[0].eq_ignore_ascii_case(b"scan") {
            let parts = nodes
                .iter()
                .map(|endpoint| NodeReply {
                    endpoint: endpoint.clone(),
                    role: self.role_of(endpoint),
                    result: self.scan_whole_node(endpoint, argv).map_err(|e| e.to_string()),
                })
                .collect();
            return Reply::Fanout { parts, combined: None };
        }
        let timeout = self.reply_timeout(false);
        let interrupt = self.interrupt.clone();
        let mut out = Vec::new();
        resp::encode_command(argv, &mut out);
        let mut sent = Vec::new();
        for endpoint in nodes {
            let result = self.link(endpoint).and_then(|conn| conn.write_all(&out));
            sent.push(result.err());
        }
        let mut parts = Vec::new();
        for (endpoint, send_error) in nodes.iter().zip(sent) {
            let result = match send_error {
                Some(e) => Err(e),
                None => match self.link(endpoint) {
                    Ok(conn) => conn.read_reply(Wait { timeout, interrupt: interrupt.as_deref() }),
                    Err(e) => Err(e),
                },
            };
            if result.is_err() {
                self.drop_link(endpoint);
            }
            parts.push(NodeReply {
                endpoint: endpoint.clone(),
                role: self.role_of(endpoint),
                result: result.map_err(|e| e.to_string()),
            });
        }
        let combined = policy.and_then(|p| route::combine(p, &parts).map(|frame| (p, frame)));
        Reply::Fanout { parts, combined }
    }

    /// Updates the session after a successful reply: what a reconnect must restore,
    /// the prompt's `[db]` and `(TX)`.
    pub fn observe(&mut self, argv: &[Vec<u8>], reply: &Frame) {
        let Some(name) = argv.first().map(|n| n.to_ascii_lowercase()) else { return };
        let ok = reply.as_error().is_none();
        let arg = |i: usize| argv.get(i).map(|a| a.to_ascii_lowercase());
        let current = self.current.clone();
        match name.as_slice() {
            b"select" if reply.is_ok() => {
                if let Some(db) = argv.get(1).and_then(|d| resp::parse_i64(d)) {
                    self.state.db = db;
                    self.drop_other_links(&current);
                }
            }
            b"auth" if reply.is_ok() => {
                self.state.auth = match argv.len() {
                    2 => Some(Credentials { user: None, password: argv[1].clone() }),
                    3 => Some(Credentials { user: Some(argv[1].clone()), password: argv[2].clone() }),
                    _ => self.state.auth.clone(),
                };
                self.drop_other_links(&current);
            }
            b"hello" if ok && !matches!(reply, Frame::Simple(_)) => {
                if let Some(version) = argv.get(1).and_then(|v| resp::parse_i64(v)) {
                    self.state.resp3 = version == 3;
                }
                let mut i = 2;
                while i < argv.len() {
                    match arg(i).as_deref() {
                        Some(b"auth") if i + 2 < argv.len() => {
                            self.state.auth =
                                Some(Credentials { user: Some(argv[i + 1].clone()), password: argv[i + 2].clone() });
                            i += 3;
                        }
                        Some(b"setname") if i + 1 < argv.len() => {
                            self.state.client_name = Some(argv[i + 1].clone());
                            i += 2;
                        }
                        _ => i += 1,
                    }
                }
                self.drop_other_links(&current);
            }
            b"client" if reply.is_ok() && arg(1).as_deref() == Some(b"setname") => {
                self.state.client_name = argv.get(2).cloned().filter(|n| !n.is_empty());
                self.drop_other_links(&current);
            }
            b"readonly" if reply.is_ok() => self.user_readonly = true,
            b"readwrite" if reply.is_ok() => self.user_readonly = false,
            b"reset" if ok => {
                self.state = SessionState::default();
                self.user_readonly = false;
                self.tx = None;
                self.drop_other_links(&current);
            }
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

    /// Sends a SUBSCRIBE-like or MONITOR command and returns the node whose connection
    /// now streams messages; read them with [`Client::next_message`].
    pub fn start_stream(&mut self, argv: &[Vec<u8>], events: &mut Vec<Event>) -> Result<Endpoint> {
        let endpoint = match self.plan(argv)? {
            Plan::Node(e) => e,
            Plan::Slot { slot, endpoint } => self.prepare_slot(argv, slot, endpoint, events)?,
            Plan::Split { .. } | Plan::Fanout { .. } => {
                return Err(Error::Refused(
                    "subscribe to channels of one slot at a time (or :use a single node)".into(),
                ));
            }
        };
        let mut out = Vec::new();
        resp::encode_command(argv, &mut out);
        self.link(&endpoint)?.write_all(&out)?;
        Ok(endpoint)
    }

    /// The next message (or confirmation) on a streaming connection.
    pub fn next_message(&mut self, endpoint: &Endpoint) -> Result<Frame> {
        let interrupt = self.interrupt.clone();
        let conn = self.link(endpoint)?;
        conn.read_frame(Wait { timeout: None, interrupt: interrupt.as_deref() })
    }

    /// A node-by-node view for `:nodes`: DBSIZE of each node (None if unreachable).
    pub fn dbsize(&mut self, endpoint: &Endpoint) -> Option<i64> {
        let wait = self.internal_wait();
        let result = self.link(endpoint).and_then(|c| c.request(&["DBSIZE"], wait));
        match result {
            Ok(frame) => frame.as_integer(),
            Err(_) => {
                self.drop_link(endpoint);
                None
            }
        }
    }

    /// Sends one command to exactly `endpoint` with rcli's own bounded wait (for
    /// meta-commands and `--scan`): no routing, no redirects.
    pub fn request_at(&mut self, endpoint: &Endpoint, argv: &[Vec<u8>]) -> Result<Frame> {
        let wait = Wait { timeout: self.options.read_timeout.or(Some(Duration::from_secs(60))), interrupt: None };
        let result = self.link(endpoint).and_then(|c| c.request(argv, wait));
        if result.is_err() {
            self.drop_link(endpoint);
        }
        result
    }

    /// Slot → owner for a key, for teaching output.
    pub fn owner_of_key(&self, key: &[u8]) -> (u16, Option<Endpoint>) {
        let slot = slot::slot_of(key);
        (slot, self.owner(slot))
    }

    /// Replaces the current node (used when the user picks one with `:use` host:port).
    pub fn set_current(&mut self, endpoint: Endpoint) {
        self.current = endpoint;
    }
}

/// A connection that broke (closed, reset) rather than one that misbehaved: only these
/// are worth another try.
fn is_broken_link(error: &Error) -> bool {
    matches!(error, Error::Closed { .. } | Error::Io { .. })
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
