//! The polling of `rcli top` (the only I/O with servers): every interval, one round in
//! which each node gets one pipelined exchange — `INFO`, and as the tracker asks, the
//! slot map (`CLUSTER SHARDS`, `CLUSTER INFO`) and `CLUSTER SLOT-STATS` — on a thread
//! of its own and a [`Pool`] of its own (the session's credentials, TLS and address
//! map), every read bounded by the node wait. A silent node costs its thread that
//! wait, never the round's other nodes and never the screen: the rounds run on a
//! thread of their own and hand each frame over ([`Poller`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use super::sample::{NodeInfo, slot_stats};
use super::tracker::{Answer, Ask, MapAnswer, Replies, Round, Tracker};
use super::view::View;
use crate::client::pool::{LinkSettings, Pool};
use crate::client::state::SessionState;
use crate::cluster::topology::Topology;
use crate::endpoint::Endpoint;
use crate::error::{Error, os_message_of};
use crate::protocol::resp::Frame;

/// The longest and shortest wait for one node's answer in a round.
const LONGEST_WAIT: Duration = Duration::from_secs(2);
const SHORTEST_WAIT: Duration = Duration::from_millis(500);
/// How often a pause looks at the stop flag.
const TICK: Duration = Duration::from_millis(25);

/// How long a node may take to answer a round sampled every `interval`.
pub fn node_wait(interval: Duration) -> Duration {
    interval.clamp(SHORTEST_WAIT, LONGEST_WAIT)
}

/// How the nodes are reached: the session's state (AUTH, database, name) and link
/// settings (TLS, the address map), with every wait bounded by the node wait.
#[derive(Clone)]
pub struct Reach {
    pub state: SessionState,
    pub link: LinkSettings,
    /// Connections are TLS: the slot map's ports are `tls-port`s.
    pub tls: bool,
}

/// The pools, one per node, and what was learnt about the servers.
struct Links {
    reach: Reach,
    pools: HashMap<Endpoint, Pool>,
    interrupt: Arc<AtomicBool>,
    /// The server refused `CLUSTER SHARDS`: ask `CLUSTER SLOTS`.
    slots_map: bool,
}

impl Links {
    fn take(&mut self, ask: &Ask) -> Pool {
        self.pools.remove(&ask.endpoint).unwrap_or_else(|| {
            let mut pool = Pool::new(self.reach.state.clone(), self.reach.link.clone());
            pool.set_interrupt(Arc::clone(&self.interrupt));
            if let Some(hostname) = &ask.hostname {
                pool.set_hostnames(HashMap::from([(ask.endpoint.clone(), hostname.clone())]));
            }
            pool
        })
    }
}

/// One node's exchange: the commands the ask names, in one write.
fn exchange(pool: &mut Pool, ask: &Ask, limit: usize, slots_map: bool) -> Result<Vec<Frame>, Error> {
    let limit = limit.to_string();
    let mut commands: Vec<Vec<&str>> = vec![vec!["INFO"]];
    if ask.map {
        commands.push(if slots_map { vec!["CLUSTER", "SLOTS"] } else { vec!["CLUSTER", "SHARDS"] });
        commands.push(vec!["CLUSTER", "INFO"]);
    }
    if ask.slots_by_keys {
        commands.push(vec!["CLUSTER", "SLOT-STATS", "ORDERBY", "key-count", "LIMIT", &limit]);
    }
    if ask.slots_by_cpu {
        commands.push(vec!["CLUSTER", "SLOT-STATS", "ORDERBY", "cpu-usec", "LIMIT", &limit]);
    }
    let commands: Vec<&[&str]> = commands.iter().map(Vec::as_slice).collect();
    pool.internal_batch(&ask.endpoint, &commands)
}

fn text_of(frame: &Frame) -> Option<String> {
    frame.as_bytes().map(|b| String::from_utf8_lossy(b).into_owned())
}

/// A node's answer (and the map, when it was asked for it) from its replies.
fn read(ask: &Ask, replies: Vec<Frame>, tls: bool, slots_map: bool) -> (Answer, Option<Result<MapAnswer, String>>) {
    let mut replies = replies.into_iter();
    let info = replies.next().unwrap_or(Frame::Null);
    if let Some(error) = info.as_error() {
        let cause = String::from_utf8_lossy(error).into_owned();
        return (Answer::Failed { cause, waited: Duration::ZERO }, None);
    }
    let info = NodeInfo::parse(&text_of(&info).unwrap_or_default());
    let map = ask.map.then(|| {
        let map = replies.next().unwrap_or(Frame::Null);
        let cluster_info = replies.next().and_then(|f| text_of(&f)).unwrap_or_default();
        let state = cluster_info.lines().find_map(|l| l.trim().strip_prefix("cluster_state:").map(str::to_string));
        if let Some(error) = map.as_error() {
            return Err(String::from_utf8_lossy(error).into_owned());
        }
        let topology = if slots_map {
            Topology::from_slots(&map, &ask.endpoint)
        } else {
            Topology::from_shards_via(&map, &ask.endpoint, tls)
        };
        topology.map(|topology| MapAnswer { topology, state })
    });
    let slots = |frame: Option<Frame>| -> Option<Result<Vec<super::sample::SlotStat>, String>> {
        let frame = frame?;
        Some(match slot_stats(&frame) {
            Some(slots) => Ok(slots),
            None => Err(frame.as_error().map_or("not a slot list".into(), |e| String::from_utf8_lossy(e).into_owned())),
        })
    };
    let by_keys = if ask.slots_by_keys { slots(replies.next()) } else { None };
    let by_cpu = if ask.slots_by_cpu { slots(replies.next()).and_then(Result::ok) } else { None };
    (Answer::Info(Box::new(Replies { info, by_keys, by_cpu })), map)
}

/// One round: every ask at once, one thread each.
fn round(links: &mut Links, asks: &[Ask], limit: usize) -> Round {
    let (tls, slots_map) = (links.reach.tls, links.slots_map);
    let mut pools: Vec<Pool> = asks.iter().map(|a| links.take(a)).collect();
    let results: Vec<(Answer, Option<Result<MapAnswer, String>>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = pools
            .iter_mut()
            .zip(asks)
            .map(|(pool, ask)| {
                scope.spawn(move || {
                    let started = Instant::now();
                    match exchange(pool, ask, limit, slots_map) {
                        Ok(replies) => read(ask, replies, tls, slots_map),
                        Err(error) => {
                            let waited = started.elapsed();
                            (Answer::Failed { cause: os_message_of(&error), waited }, None)
                        }
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    (Answer::Failed { cause: "the polling thread stopped".into(), waited: Duration::ZERO }, None)
                })
            })
            .collect()
    });
    for (ask, pool) in asks.iter().zip(pools) {
        links.pools.insert(ask.endpoint.clone(), pool);
    }
    let mut map = None;
    let mut answers = Vec::new();
    for (ask, (answer, asked_map)) in asks.iter().zip(results) {
        match asked_map {
            Some(Ok(found)) => map = Some(found),
            Some(Err(error)) if !links.slots_map && error.contains("unknown subcommand") => links.slots_map = true,
            _ => {}
        }
        answers.push((ask.endpoint.clone(), answer));
    }
    links.pools.retain(|endpoint, _| asks.iter().any(|a| a.endpoint == *endpoint));
    Round { now: Instant::now(), wall: SystemTime::now(), map, answers }
}

/// Sleeps until `until`, or until `stop` is set; false when stopped.
pub fn pause_until(until: Instant, stop: &AtomicBool) -> bool {
    while Instant::now() < until {
        if stop.load(Ordering::SeqCst) {
            return false;
        }
        std::thread::sleep(TICK.min(until.saturating_duration_since(Instant::now())));
    }
    !stop.load(Ordering::SeqCst)
}

/// Rounds on a thread of their own; each frame goes down a channel. Dropping it stops
/// the thread (within one wait: the pools look at the stop flag).
pub struct Poller {
    stop: Arc<AtomicBool>,
    frames: Receiver<View>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Poller {
    /// Starts the rounds: one at once, then one every `interval`.
    pub fn start(mut tracker: Tracker, reach: Reach, interval: Duration) -> Poller {
        let stop = Arc::new(AtomicBool::new(false));
        let (send, frames): (Sender<View>, Receiver<View>) = channel();
        let mut reach = reach;
        let wait = node_wait(interval);
        reach.link.connect_timeout = wait;
        reach.link.internal_timeout = wait;
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut links = Links { reach, pools: HashMap::new(), interrupt: Arc::clone(&flag), slots_map: false };
            let mut next = Instant::now();
            loop {
                let asks = tracker.asks();
                let taken = round(&mut links, &asks, tracker.slots_shown().clamp(1, 100));
                if flag.load(Ordering::SeqCst) {
                    return;
                }
                if send.send(tracker.update(taken)).is_err() {
                    return;
                }
                next += interval;
                // A round that took longer than the interval starts the next one now.
                next = next.max(Instant::now());
                if !pause_until(next, &flag) {
                    return;
                }
            }
        });
        Poller { stop, frames, thread: Mutex::new(Some(thread)) }
    }

    /// The newest frame since the last call, if any (older ones are skipped).
    pub fn newest(&self) -> Option<View> {
        self.frames.try_iter().last()
    }

    /// Waits at most `limit` for the next frame.
    pub fn next(&self, limit: Duration) -> Option<View> {
        self.frames.recv_timeout(limit).ok()
    }
}

impl Drop for Poller {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let thread = self.thread.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}
