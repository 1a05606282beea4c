//! Learning about the server: the first connection, the slot map (CLUSTER SHARDS, or
//! CLUSTER SLOTS on older servers, or — when neither may be read — slots learned from
//! redirects), and the failure budget (from `cluster-node-timeout`, asked when a node
//! first fails). The command tables are `tables.rs`'s; what a cluster session asks its
//! seed at start goes in one exchange (`startup.rs`).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::client::Client;
use crate::cluster::event::{Event, EventSink};
use crate::cluster::topology::Topology;
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::protocol::resp::Frame;

/// Redis's default `cluster-node-timeout`, assumed when CONFIG GET is not allowed.
pub const DEFAULT_NODE_TIMEOUT: Duration = Duration::from_secs(15);
/// Time for a failover after a node is flagged as failing: the replicas' election
/// delay (0.5–1 s plus a second per rank) and the new map reaching rcli.
pub const FAILOVER_MARGIN: Duration = Duration::from_secs(3);
/// The failure budget when nothing better is known.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(18);
/// The longest wait for the answer about `cluster-node-timeout`.
const BUDGET_QUESTION_WAIT: Duration = Duration::from_secs(2);
/// Slot-map reloads asked for by failures are at most this frequent.
const RELOAD_EVERY: Duration = Duration::from_millis(200);

/// Why a slot-map request failed.
enum MapFailure {
    /// The node answered with an error (no permission, unknown command): asking
    /// another node the same is unlikely to help.
    Refused(String),
    /// The node did not answer.
    Unreachable(String),
    /// The node's map holds values that cannot be true (a port 0, a slot past 16383).
    Invalid(String),
}

impl Client {
    /// Opens the first connection and, in cluster mode, loads the command table, the
    /// failure budget and the slot map.
    pub fn connect(&mut self, events: &mut dyn EventSink) -> Result<()> {
        let mut result = self.open_current();
        if result.is_err() && self.options.cluster {
            // In cluster mode any seed will do: the first that answers is the prompt's node.
            for seed in self.options.seeds.clone() {
                if seed != self.current && self.pool.borrow(&seed).map(|e| self.pool.give_back(e)).is_ok() {
                    self.current = seed;
                    result = Ok(());
                    break;
                }
            }
        }
        self.connected = result.is_ok();
        result?;
        if self.options.cluster {
            self.start_exchange(events)?;
        }
        Ok(())
    }

    fn open_current(&mut self) -> Result<()> {
        let current = self.current.clone();
        let exchange = self.pool.borrow(&current)?;
        self.pool.give_back(exchange);
        Ok(())
    }

    /// Points the session at another node (`connect HOST PORT`), dropping every link.
    pub fn reconnect_to(&mut self, endpoint: Endpoint, events: &mut dyn EventSink) -> Result<()> {
        self.pool.close_all();
        self.map = super::SlotMap { generation: self.map.generation + 1, ..Default::default() };
        self.tables.reset();
        self.forget_budget();
        self.tx = None;
        self.current = endpoint.clone();
        self.options.seeds.insert(0, endpoint);
        self.connect(events)
    }

    /// The failure budget, learned once, when a node first fails (or a reply is slow
    /// to come): `--down-after`, else the cluster's `cluster-node-timeout` plus the time
    /// a failover takes, else a default for Redis's own default. The question goes to a
    /// node other than `failing` (which may be frozen); with none, the default stands.
    pub(super) fn learn_budget(&mut self, failing: Option<&Endpoint>) {
        if self.budget_known {
            return;
        }
        self.budget_known = true;
        if let Some(budget) = self.options.down_after {
            self.health.set_budget(budget);
            return;
        }
        let mut candidates = vec![self.current.clone()];
        candidates.extend(self.options.seeds.iter().cloned());
        if let Some(topo) = &self.map.topology {
            candidates.extend(topo.primaries().into_iter().map(|n| n.endpoint.clone()));
        }
        let asked = candidates.into_iter().find(|e| Some(e) != failing);
        let node_timeout = asked
            .and_then(|node| {
                let wait = Some(self.pool.settings().internal_timeout.min(BUDGET_QUESTION_WAIT));
                self.pool.request(&node, &["CONFIG", "GET", "cluster-node-timeout"], wait).ok()
            })
            .and_then(|reply| {
                let pairs = reply.to_pairs()?;
                let (_, value) = pairs.first()?;
                let millis = crate::protocol::resp::parse_i64(value.as_bytes()?)?;
                Some(Duration::from_millis(u64::try_from(millis).ok()?.min(3_600_000)))
            })
            .unwrap_or(DEFAULT_NODE_TIMEOUT);
        self.health.set_budget(node_timeout + FAILOVER_MARGIN);
    }

    /// Makes `connect HOST PORT` learn the new cluster's budget.
    fn forget_budget(&mut self) {
        self.budget_known = self.options.down_after.is_some();
        self.health.set_budget(Client::provisional_budget(&self.options));
    }

    /// The budget in force until the cluster's is learned: `--down-after`, else in
    /// cluster mode the one for Redis's default node timeout, else `--timeout`.
    pub(super) fn provisional_budget(options: &super::Options) -> Duration {
        let unclustered = options.read_timeout.filter(|_| !options.cluster);
        options.down_after.or(unclustered).unwrap_or(DEFAULT_BUDGET)
    }

    /// Loads the slot map if it is missing (a seed that was slow at start), at most
    /// once per [`super::RECHECK`].
    pub fn ensure_map(&mut self, events: &mut dyn EventSink) {
        let due = self.map.last_load.is_none_or(|t| t.elapsed() >= super::RECHECK);
        if self.map.topology.is_none() && self.map.learning.is_none() && due {
            let _ = self.refresh_topology(None, events);
        }
    }

    /// Reloads the map after a failure unless it was reloaded moments ago.
    pub fn reload_after_failure(&mut self, avoid: Option<&Endpoint>, events: &mut dyn EventSink) {
        if self.map.learning.is_some() {
            return;
        }
        if self.map.last_load.is_none_or(|t| t.elapsed() >= RELOAD_EVERY) {
            let _ = self.refresh_topology(avoid, events);
        }
    }

    /// Reloads the slot map from the first node that answers, other than `avoid`: the
    /// node in the prompt, then the seeds, then every other known node. When the map
    /// may not be read at all (no permission, a node without CLUSTER commands), rcli
    /// says so once and learns slots from redirects.
    pub fn refresh_topology(&mut self, avoid: Option<&Endpoint>, events: &mut dyn EventSink) -> Result<()> {
        self.reload_map(&[], avoid, None, events)
    }

    /// [`Client::refresh_topology`], asking the nodes of `first` before the usual ones
    /// (a cluster-wide MONITOR asks nodes it does not monitor, so rcli's own CLUSTER
    /// SHARDS stays out of the stream).
    pub fn refresh_topology_asking(&mut self, first: &[Endpoint], events: &mut dyn EventSink) -> Result<()> {
        self.reload_map(first, None, None, events)
    }

    /// [`Client::refresh_topology`], where one node's CLUSTER SHARDS reply was already
    /// read (the start-up exchange): that node's map comes from it.
    pub(super) fn refresh_topology_with(
        &mut self,
        avoid: Option<&Endpoint>,
        answered: Option<(Endpoint, Frame)>,
        events: &mut dyn EventSink,
    ) -> Result<()> {
        self.reload_map(&[], avoid, answered, events)
    }

    fn reload_map(
        &mut self,
        first: &[Endpoint],
        avoid: Option<&Endpoint>,
        mut answered: Option<(Endpoint, Frame)>,
        events: &mut dyn EventSink,
    ) -> Result<()> {
        self.map.last_load = Some(Instant::now());
        let mut candidates = first.to_vec();
        candidates.push(self.current.clone());
        candidates.extend(self.options.seeds.iter().cloned());
        if let Some(topo) = &self.map.topology {
            candidates.extend(topo.all_nodes().into_iter().map(|n| n.endpoint.clone()));
        }
        let mut seen = HashSet::new();
        candidates.retain(|e| Some(e) != avoid && seen.insert(e.clone()));
        let mut last_error = String::from("no node to ask");
        let mut refused = None;
        for endpoint in candidates {
            let shards = match answered.take() {
                Some((at, reply)) if at == endpoint => Some(reply),
                other => {
                    answered = other;
                    None
                }
            };
            match self.map_from(&endpoint, shards) {
                Ok(Some(topo)) if !topo.primaries().is_empty() => {
                    self.learn_hostnames(&topo);
                    self.keep_map_on_disk(&topo);
                    self.map.topology = Some(topo);
                    self.map.learning = None;
                    self.map.generation += 1;
                    return Ok(());
                }
                Ok(Some(_)) => last_error = format!("{endpoint}: no slots are assigned"),
                Ok(None) => {
                    self.options.cluster = false;
                    self.map.topology = None;
                    events.event(Event::NotACluster { endpoint });
                    return Ok(());
                }
                Err(MapFailure::Refused(reason)) => {
                    last_error = format!("{endpoint}: {reason}");
                    refused.get_or_insert((endpoint, reason));
                }
                Err(MapFailure::Unreachable(reason) | MapFailure::Invalid(reason)) => last_error = reason,
            }
        }
        if let Some((endpoint, reason)) = refused {
            if self.map.learning.is_none() {
                events.event(Event::LearningSlots { endpoint, reason: reason.clone() });
                self.map.learning = Some(reason);
                self.map.generation += 1;
            }
            return Ok(());
        }
        Err(Error::Topology(last_error))
    }

    /// The slot map as `endpoint` sees it; `Ok(None)` when it is not a cluster node.
    /// CLUSTER SHARDS first; CLUSTER SLOTS when SHARDS is refused or its reply holds
    /// values that cannot be true.
    fn map_from(
        &mut self,
        endpoint: &Endpoint,
        shards: Option<Frame>,
    ) -> std::result::Result<Option<Topology>, MapFailure> {
        let unreachable = |e: Error| MapFailure::Unreachable(e.to_string());
        let shards = match shards {
            Some(reply) => reply,
            None => self.pool.internal(endpoint, &["CLUSTER", "SHARDS"]).map_err(unreachable)?,
        };
        let tls = self.pool.settings().tls.is_some();
        let shards_problem = match shards.as_error() {
            None => match Topology::from_shards_via(&shards, endpoint, tls) {
                Ok(topo) => return Ok(Some(topo)),
                Err(problem) => Some(format!("{endpoint}: CLUSTER SHARDS: {problem}")),
            },
            Some(error) if String::from_utf8_lossy(error).contains("cluster support disabled") => return Ok(None),
            Some(_) => None,
        };
        let slots = self.pool.internal(endpoint, &["CLUSTER", "SLOTS"]).map_err(unreachable)?;
        match slots.as_error() {
            None => Topology::from_slots(&slots, endpoint).map(Some).map_err(|problem| {
                let slots_problem = format!("{endpoint}: CLUSTER SLOTS: {problem}");
                MapFailure::Invalid(shards_problem.map_or(slots_problem.clone(), |s| format!("{s}; {slots_problem}")))
            }),
            Some(error) => match shards_problem {
                Some(problem) => Err(MapFailure::Invalid(problem)),
                None => Err(MapFailure::Refused(first_line(error))),
            },
        }
    }

    /// The hostnames `topo` announces, as the names its nodes' TLS certificates carry.
    pub(super) fn learn_hostnames(&mut self, topo: &Topology) {
        let hostnames =
            topo.all_nodes().into_iter().filter_map(|n| Some((n.endpoint.clone(), n.hostname.clone()?))).collect();
        self.pool.set_hostnames(hostnames);
    }

    /// Records a MOVED: the slot's new owner, and in learning mode nothing else.
    pub fn learn_slot(&mut self, slot: u16, owner: &Endpoint) {
        let topo = self.map.topology.get_or_insert_with(Topology::empty);
        topo.apply_moved(slot, owner);
        self.map.generation += 1;
    }
}

fn first_line(error: &[u8]) -> String {
    crate::protocol::text::escape_bytes(error.split(|&b| b == b'\n').next().unwrap_or_default())
}
