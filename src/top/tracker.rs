//! The state of a `rcli top` run between rounds: which nodes to ask (the cluster's
//! nodes from the latest map, or a node and the replicas it names), each node's last
//! INFO, rates and ops/s history, its link as the failure budget sees it
//! (`cluster/health.rs`), the hot slots and the events so far. Each round the poller's
//! answers go in and a [`View`] comes out. Pure: the clocks are passed in, so every
//! rule is unit-tested without servers (tests in `tracker_tests.rs`).

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant, SystemTime};

use super::events::{Shape, changes, shape};
use super::figures::{lag, totals};
use super::history::History;
use super::rates::{self, Rates};
use super::sample::{NodeInfo, SlotStat};
use super::view::{Event, HotSlot, HotSlots, Link, NodeView, ShardView, View};
use crate::cluster::health::{Domain, Health};
use crate::cluster::topology::Topology;
use crate::endpoint::Endpoint;

/// Events kept for the screen and the JSON (the oldest go first).
pub const EVENTS_KEPT: usize = 200;

/// One node's answer in a round.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Info(Box<Replies>),
    /// No answer (or a broken one): why, and how long rcli waited for it.
    Failed {
        cause: String,
        waited: Duration,
    },
}

/// What a node that answered said.
#[derive(Debug, Clone, PartialEq)]
pub struct Replies {
    pub info: NodeInfo,
    /// `CLUSTER SLOT-STATS ORDERBY key-count` when asked: the slots, or the server's
    /// error.
    pub by_keys: Option<Result<Vec<SlotStat>, String>>,
    /// `… ORDERBY cpu-usec` when asked.
    pub by_cpu: Option<Vec<SlotStat>>,
}

/// A node of a shard, as the slot map (or the seed's INFO) names it.
#[derive(Debug, Clone)]
struct Member {
    endpoint: Endpoint,
    id: String,
    primary: bool,
    health: String,
    hostname: Option<String>,
}

/// A shard's slot ranges and its nodes, the primary first.
type Group = (Vec<(u16, u16)>, Vec<Member>);

/// A slot's cumulative counters and their rates since the previous round.
#[derive(Debug, Clone)]
struct CpuSlot {
    stat: SlotStat,
    cpu: Option<f64>,
    input: Option<f64>,
    output: Option<f64>,
}

/// The slot map and the cluster state, from the node asked for them.
#[derive(Debug, Clone)]
pub struct MapAnswer {
    pub topology: Topology,
    pub state: Option<String>,
}

/// What the poller got in one round.
#[derive(Debug, Clone)]
pub struct Round {
    /// When the answers were in.
    pub now: Instant,
    pub wall: SystemTime,
    pub map: Option<MapAnswer>,
    pub answers: Vec<(Endpoint, Answer)>,
}

/// What to ask a node next round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    pub endpoint: Endpoint,
    pub replica: bool,
    /// The hostname the cluster announces for it (the name its TLS certificate is
    /// checked against).
    pub hostname: Option<String>,
    /// Also the slot map (`CLUSTER SHARDS`, `CLUSTER INFO`).
    pub map: bool,
    /// `CLUSTER SLOT-STATS ORDERBY key-count LIMIT n`.
    pub slots_by_keys: bool,
    /// `CLUSTER SLOT-STATS ORDERBY cpu-usec LIMIT n`.
    pub slots_by_cpu: bool,
}

#[derive(Debug, Default)]
struct Kept {
    info: Option<(Instant, NodeInfo)>,
    rates: Rates,
    history: History,
    asked: bool,
    /// The last per-slot CPU counters, for rates.
    cpu_slots: HashMap<u16, (Instant, SlotStat)>,
    by_keys: Vec<SlotStat>,
    by_cpu: Vec<CpuSlot>,
    /// `cluster-slot-stats-enabled` seen on (the replies carry CPU figures).
    stats_enabled: bool,
    /// It answered the last time it was asked.
    fresh: bool,
    /// Why it did not answer, the last time it did not.
    cause: String,
}

/// A run's state.
pub struct Tracker {
    seed: Endpoint,
    cluster: bool,
    interval: Duration,
    slots_shown: usize,
    health: Health,
    topology: Option<Topology>,
    state: Option<String>,
    map_from: Endpoint,
    nodes: HashMap<Endpoint, Kept>,
    /// Servers that answered SLOT-STATS with an error: its words.
    no_slot_stats: Option<String>,
    lacking: HashSet<Endpoint>,
    history: History,
    events: VecDeque<Event>,
    last_shape: Option<Shape>,
    rounds: u64,
}

impl Tracker {
    /// A run from `seed` (with its slot map in cluster mode), sampling every
    /// `interval`, declaring a node down after `budget`, showing `slots_shown` hot slots.
    pub fn new(
        seed: Endpoint,
        topology: Option<Topology>,
        interval: Duration,
        budget: Duration,
        slots_shown: usize,
    ) -> Tracker {
        Tracker {
            map_from: seed.clone(),
            cluster: topology.is_some(),
            seed,
            interval,
            slots_shown,
            health: Health::new(budget, crate::client::RECHECK),
            topology,
            state: None,
            nodes: HashMap::new(),
            no_slot_stats: None,
            lacking: HashSet::new(),
            history: History::default(),
            events: VecDeque::new(),
            last_shape: None,
            rounds: 0,
        }
    }

    /// The shards as rcli knows them: the slot map's, or the seed and the replicas
    /// its INFO names.
    fn shards(&self) -> Vec<Group> {
        let member = |n: &crate::cluster::topology::Node| Member {
            endpoint: n.endpoint.clone(),
            id: n.id.clone(),
            primary: n.primary,
            health: n.health.clone(),
            hostname: n.hostname.clone(),
        };
        let alone = |endpoint: Endpoint, primary: bool| Member {
            endpoint,
            id: String::new(),
            primary,
            health: "-".into(),
            hostname: None,
        };
        match &self.topology {
            Some(topology) => topology
                .shards_in_slot_order()
                .into_iter()
                .map(|shard| (shard.ranges.clone(), shard.primary.iter().chain(&shard.replicas).map(member).collect()))
                .collect(),
            None => {
                let seed_info = self.nodes.get(&self.seed).and_then(|k| k.info.as_ref()).map(|(_, info)| info);
                let mut nodes = vec![alone(self.seed.clone(), !seed_info.is_some_and(NodeInfo::is_replica))];
                if let Some(info) = seed_info.filter(|i| !i.is_replica()) {
                    for line in &info.replicas {
                        let endpoint = Endpoint::tcp(&line.ip, line.port);
                        if endpoint != self.seed {
                            nodes.push(alone(endpoint, false));
                        }
                    }
                }
                vec![(Vec::new(), nodes)]
            }
        }
    }

    /// Whom to ask what in the next round.
    pub fn asks(&self) -> Vec<Ask> {
        let mut asks: Vec<Ask> = Vec::new();
        for (_, nodes) in self.shards() {
            for Member { endpoint, primary, hostname, .. } in nodes {
                if asks.iter().any(|a| a.endpoint == endpoint) {
                    continue;
                }
                let kept = self.nodes.get(&endpoint);
                let slots = self.cluster && primary && !self.lacking.contains(&endpoint) && self.slots_shown > 0;
                asks.push(Ask {
                    map: self.cluster && endpoint == self.map_from,
                    replica: !primary,
                    hostname,
                    slots_by_keys: slots,
                    // First asked of every primary; then only where the statistics are on.
                    slots_by_cpu: slots && kept.is_none_or(|k| k.stats_enabled || k.info.is_none()),
                    endpoint,
                });
            }
        }
        if self.cluster && !asks.iter().any(|a| a.map) {
            match asks.first_mut() {
                Some(first) => first.map = true,
                None => asks.push(Ask {
                    endpoint: self.map_from.clone(),
                    replica: false,
                    hostname: None,
                    map: true,
                    slots_by_keys: false,
                    slots_by_cpu: false,
                }),
            }
        }
        asks
    }

    /// How many hot slots are shown (the LIMIT asked of each primary).
    pub fn slots_shown(&self) -> usize {
        self.slots_shown
    }

    /// Takes a round's answers in and returns the frame they make.
    pub fn update(&mut self, round: Round) -> View {
        self.rounds += 1;
        match round.map {
            Some(map) => {
                self.topology = Some(map.topology);
                self.state = map.state;
            }
            None if self.cluster => {
                // The node asked for the map did not answer it: ask the next one that answers.
                if let Some((endpoint, _)) =
                    round.answers.iter().find(|(e, a)| *e != self.map_from && matches!(a, Answer::Info(_)))
                {
                    self.map_from = endpoint.clone();
                }
            }
            None => {}
        }
        for (endpoint, answer) in round.answers {
            self.take(endpoint, answer, round.now);
        }
        let view = self.view(round.now, round.wall);
        let now_shape = shape(&view);
        if let Some(old) = &self.last_shape {
            for (severity, text) in changes(old, &now_shape) {
                if self.events.len() == EVENTS_KEPT {
                    self.events.pop_front();
                }
                self.events.push_back(Event { at: round.wall, severity, text });
            }
        }
        self.last_shape = Some(now_shape);
        View { events: self.events.iter().cloned().collect(), ..view }
    }

    fn take(&mut self, endpoint: Endpoint, answer: Answer, now: Instant) {
        let domain = Domain::Node(endpoint.clone());
        let kept = self.nodes.entry(endpoint.clone()).or_default();
        kept.asked = true;
        match answer {
            Answer::Info(replies) => {
                let Replies { info, by_keys, by_cpu } = *replies;
                self.health.recovered(&domain);
                kept.fresh = true;
                kept.rates = match &kept.info {
                    Some((then, old)) => rates::between(old, &info, now.saturating_duration_since(*then)),
                    None => Rates::default(),
                };
                kept.history.push(kept.rates.ops);
                kept.info = Some((now, info));
                match by_keys {
                    Some(Ok(slots)) => {
                        kept.stats_enabled = slots.iter().any(|s| s.cpu_usec.is_some());
                        kept.by_keys = slots;
                    }
                    Some(Err(error)) => {
                        self.lacking.insert(endpoint);
                        self.no_slot_stats.get_or_insert(error);
                        kept.by_keys.clear();
                    }
                    None => kept.by_keys.clear(),
                }
                kept.by_cpu = by_cpu.unwrap_or_default().into_iter().map(|stat| slot_rates(kept, stat, now)).collect();
                let seen: HashSet<u16> = kept.by_cpu.iter().map(|c| c.stat.slot).collect();
                kept.cpu_slots.retain(|slot, _| seen.contains(slot));
                for slot in &kept.by_cpu {
                    kept.cpu_slots.insert(slot.stat.slot, (now, slot.stat.clone()));
                }
            }
            Answer::Failed { cause, waited } => {
                self.health.failed(&domain, now, waited, &cause);
                kept.fresh = false;
                kept.cause = cause;
                kept.rates = Rates::default();
                kept.history.push(None);
                kept.by_keys.clear();
                kept.by_cpu.clear();
            }
        }
    }

    fn link(&self, endpoint: &Endpoint, now: Instant) -> Link {
        let domain = Domain::Node(endpoint.clone());
        let since = self.health.outage(&domain, now);
        match self.nodes.get(endpoint) {
            None => Link::Unknown,
            Some(kept) if !kept.asked => Link::Unknown,
            Some(_) if since.is_zero() => Link::Ok,
            Some(kept) => {
                let cause = kept.cause.clone();
                if since >= self.health.budget() { Link::Down { since, cause } } else { Link::Silent { since, cause } }
            }
        }
    }

    fn view(&mut self, now: Instant, wall: SystemTime) -> View {
        let mut shards = Vec::new();
        for (ranges, nodes) in self.shards() {
            let primary_info = nodes.first().filter(|m| m.primary).and_then(|m| self.fresh_info(&m.endpoint)).cloned();
            let views = nodes
                .into_iter()
                .map(|Member { endpoint, id, primary, health, .. }| {
                    let kept = self.nodes.get(&endpoint);
                    let info = kept.and_then(|k| k.info.as_ref()).map(|(_, i)| i.clone());
                    let lag = (!primary).then(|| lag(&endpoint, self.fresh_info(&endpoint), primary_info.as_ref()));
                    NodeView {
                        link: self.link(&endpoint, now),
                        rates: kept.map(|k| k.rates).unwrap_or_default(),
                        history: kept.map(|k| k.history.values()).unwrap_or_default(),
                        endpoint,
                        id,
                        primary,
                        health,
                        info,
                        lag,
                    }
                })
                .collect();
            shards.push(ShardView { ranges, nodes: views });
        }
        let totals = totals(&shards);
        self.history.push(totals.ops);
        View {
            sampled: wall,
            seed: self.seed.clone(),
            cluster: self.cluster,
            state: self.state.clone(),
            totals,
            history: self.history.values(),
            hot: self.hot(&shards),
            shards,
            events: Vec::new(),
            interval: self.interval,
            budget: self.health.budget(),
            rounds: self.rounds,
        }
    }

    /// The node's INFO when it answered this round.
    fn fresh_info(&self, endpoint: &Endpoint) -> Option<&NodeInfo> {
        self.nodes.get(endpoint).filter(|k| k.fresh)?.info.as_ref().map(|(_, info)| info)
    }

    fn hot(&self, shards: &[ShardView]) -> HotSlots {
        if !self.cluster {
            return HotSlots::None;
        }
        let primaries: Vec<&Endpoint> =
            shards.iter().flat_map(|s| s.nodes.iter()).filter(|n| n.primary).map(|n| &n.endpoint).collect();
        let answered: Vec<(&Endpoint, &Kept)> = primaries
            .iter()
            .filter(|e| !self.lacking.contains(**e))
            .filter_map(|e| self.nodes.get(*e).filter(|k| k.info.is_some()).map(|k| (*e, k)))
            .collect();
        if answered.is_empty() {
            return match &self.no_slot_stats {
                Some(error) => HotSlots::Unsupported(error.clone()),
                None => HotSlots::None,
            };
        }
        let mut by_keys: Vec<HotSlot> = answered
            .iter()
            .flat_map(|(owner, kept)| {
                kept.by_keys.iter().filter(|stat| stat.keys > 0).map(|stat| HotSlot {
                    stat: stat.clone(),
                    owner: (*owner).clone(),
                    cpu_rate: None,
                    in_rate: None,
                    out_rate: None,
                })
            })
            .collect();
        by_keys.sort_by(|a, b| b.stat.keys.cmp(&a.stat.keys).then(a.stat.slot.cmp(&b.stat.slot)));
        by_keys.truncate(self.slots_shown);
        let mut by_cpu: Vec<HotSlot> = answered
            .iter()
            .flat_map(|(owner, kept)| {
                kept.by_cpu.iter().filter(|slot| slot.stat.cpu_usec.is_some_and(|c| c > 0)).map(|slot| HotSlot {
                    stat: slot.stat.clone(),
                    owner: (*owner).clone(),
                    cpu_rate: slot.cpu,
                    in_rate: slot.input,
                    out_rate: slot.output,
                })
            })
            .collect();
        by_cpu.sort_by(|a, b| {
            let key = |h: &HotSlot| (h.cpu_rate.unwrap_or(-1.0), h.stat.cpu_usec.unwrap_or(0));
            key(b).partial_cmp(&key(a)).unwrap_or(std::cmp::Ordering::Equal).then(a.stat.slot.cmp(&b.stat.slot))
        });
        by_cpu.truncate(self.slots_shown);
        let stats_enabled = answered.iter().any(|(_, k)| k.stats_enabled);
        HotSlots::Slots { by_keys, by_cpu, stats_enabled }
    }
}

/// A slot's counters with their rates since the node's previous round.
fn slot_rates(kept: &Kept, stat: SlotStat, now: Instant) -> CpuSlot {
    let Some((then, old)) = kept.cpu_slots.get(&stat.slot) else {
        return CpuSlot { stat, cpu: None, input: None, output: None };
    };
    let seconds = now.saturating_duration_since(*then).as_secs_f64();
    let rate = |a: Option<u64>, b: Option<u64>| {
        let change = b?.checked_sub(a?)?;
        (seconds > 0.0).then(|| change as f64 / seconds)
    };
    let (cpu, input, output) =
        (rate(old.cpu_usec, stat.cpu_usec), rate(old.net_in, stat.net_in), rate(old.net_out, stat.net_out));
    CpuSlot { stat, cpu, input, output }
}

#[cfg(test)]
#[path = "tracker_tests.rs"]
mod tests;
