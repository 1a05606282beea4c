//! The polling of `rcli top` (the only I/O with servers): every interval, one round in
//! which each node gets one pipelined exchange — `INFO`, and as the tracker asks, the
//! slot map (`CLUSTER SHARDS`, `CLUSTER INFO`) and `CLUSTER SLOT-STATS` — on a
//! [`Pool`] of its own (the session's credentials, TLS and address map). The nodes are
//! jobs of the worker pool (client/workers.rs: `--parallel` at once, default 16), and
//! each node's poll ends within the node wait, connect included: the round's thread
//! watches the clock and cuts a poll short at its deadline, so a silent or dripping
//! node holds a worker no longer than that. The screen never waits for a round: the
//! rounds run on a thread of their own and hand each frame over ([`Poller`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use super::sample::{NodeInfo, slot_stats};
use super::tracker::{Answer, Ask, MapAnswer, Replies, Round, Tracker};
use super::view::View;
use crate::client::pool::{LinkSettings, Pool};
use crate::client::state::SessionState;
use crate::client::workers;
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
    /// Set when the poller stops: no poll starts, the running ones are cut short.
    interrupt: Arc<AtomicBool>,
    /// The server refused `CLUSTER SHARDS`: ask `CLUSTER SLOTS`.
    slots_map: bool,
}

impl Links {
    fn take(&mut self, ask: &Ask) -> Pool {
        self.pools.remove(&ask.endpoint).unwrap_or_else(|| {
            let mut pool = Pool::new(self.reach.state.clone(), self.reach.link.clone());
            if let Some(hostname) = &ask.hostname {
                pool.set_hostnames(HashMap::from([(ask.endpoint.clone(), hostname.clone())]));
            }
            pool
        })
    }
}

/// One node's poll as the round's thread sees it: when it started, and the flag that
/// cuts it short (its pool's interrupt flag for this round).
#[derive(Default)]
struct Watch {
    started: Mutex<Option<Instant>>,
    cut: Arc<AtomicBool>,
}

impl Watch {
    fn start(&self) -> Instant {
        let now = Instant::now();
        *self.started.lock().unwrap_or_else(PoisonError::into_inner) = Some(now);
        now
    }

    /// Cuts the poll short if it has run for `wait` by `now`.
    fn cut_if_late(&self, now: Instant, wait: Duration) {
        let started = *self.started.lock().unwrap_or_else(PoisonError::into_inner);
        if started.is_some_and(|at| now.saturating_duration_since(at) >= wait) {
            self.cut.store(true, Ordering::SeqCst);
        }
    }
}

/// A node's poll: its answer, and the map when it was asked for it.
type Polled = (Answer, Option<Result<MapAnswer, String>>);

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

/// One node's poll on `pool`, cut short by `watch` (its deadline, or the poller's stop).
fn poll_node(pool: &mut Pool, ask: &Ask, watch: &Watch, limit: usize, tls: bool, slots_map: bool) -> Polled {
    pool.set_interrupt(Arc::clone(&watch.cut));
    let started = watch.start();
    match exchange(pool, ask, limit, slots_map) {
        Ok(replies) => read(ask, replies, tls, slots_map),
        Err(error) => {
            let waited = started.elapsed();
            let error = match error {
                // The deadline (or the poller's stop) cut it: say so as a timeout would.
                Error::Interrupted => Error::Timeout {
                    addr: ask.endpoint.to_string(),
                    seconds: pool.settings().internal_timeout.as_secs_f64(),
                },
                other => other,
            };
            (Answer::Failed { cause: os_message_of(&error), waited }, None)
        }
    }
}

/// A node whose poll did not run (a worker lost, Ctrl-C before its turn).
fn not_polled() -> Polled {
    (Answer::Failed { cause: "not polled".into(), waited: Duration::ZERO }, None)
}

/// One round: every ask, at most `--parallel` at once, each poll within the node wait.
fn round(links: &mut Links, asks: &[Ask], limit: usize) -> Round {
    let (tls, slots_map) = (links.reach.tls, links.slots_map);
    let (width, wait) = (links.reach.link.parallel, links.reach.link.internal_timeout);
    let jobs: Vec<(Pool, &Ask)> = asks.iter().map(|a| (links.take(a), a)).collect();
    let stop = Arc::clone(&links.interrupt);
    let stop: &AtomicBool = &stop;
    let watches: Vec<Watch> = asks.iter().map(|_| Watch::default()).collect();
    let (done, finished) = channel::<()>();
    let polled: Vec<Option<(Pool, Polled)>> = std::thread::scope(|scope| {
        let watches = &watches;
        let running = workers::spawn(scope, jobs, width, Some(stop), move |index, (mut pool, ask): (Pool, &Ask)| {
            let polled = match watches.get(index) {
                Some(watch) => poll_node(&mut pool, ask, watch, limit, tls, slots_map),
                None => not_polled(),
            };
            let _ = done.send(());
            (pool, polled)
        });
        let mut ended = 0;
        while ended < asks.len() && !running.is_finished() {
            match finished.recv_timeout(TICK) {
                Ok(()) => ended += 1,
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            let (now, stopping) = (Instant::now(), stop.load(Ordering::SeqCst));
            for watch in watches {
                if stopping {
                    watch.cut.store(true, Ordering::SeqCst);
                }
                watch.cut_if_late(now, wait);
            }
        }
        running.join()
    });
    let mut pools = Vec::new();
    let results: Vec<Polled> = polled
        .into_iter()
        .zip(asks)
        .map(|(polled, ask)| match polled {
            Some((pool, polled)) => {
                pools.push((ask.endpoint.clone(), pool));
                polled
            }
            None => not_polled(),
        })
        .collect();
    for (endpoint, pool) in pools {
        links.pools.insert(endpoint, pool);
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
/// the thread (within a tick: no poll starts, and the round's watch cuts the running
/// ones short).
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

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::net::TcpListener;

    use super::*;

    /// A node that starts a long reply at once and then sends a byte of it every 100 ms
    /// for as long as the connection lasts: never silent for a whole node wait.
    fn dripping_node() -> Endpoint {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for mut socket in listener.incoming().flatten() {
                std::thread::spawn(move || {
                    let mut sent = socket.write_all(b"$100000\r\n");
                    while sent.is_ok() {
                        std::thread::sleep(Duration::from_millis(100));
                        sent = socket.write_all(b"x");
                    }
                });
            }
        });
        Endpoint::tcp("127.0.0.1", port)
    }

    #[test]
    fn a_dripping_node_is_cut_off_at_its_deadline() {
        let wait = Duration::from_millis(300);
        let mut link = LinkSettings::plain(wait);
        link.parallel = 1;
        let reach = Reach { state: SessionState::default(), link, tls: false };
        let asks: Vec<Ask> = (0..3)
            .map(|_| Ask {
                endpoint: dripping_node(),
                replica: false,
                hostname: None,
                map: false,
                slots_by_keys: false,
                slots_by_cpu: false,
            })
            .collect();
        let (send, answers) = channel();
        std::thread::spawn(move || {
            let interrupt = Arc::new(AtomicBool::new(false));
            let mut links = Links { reach, pools: HashMap::new(), interrupt, slots_map: false };
            let taken = round(&mut links, &asks, 10);
            let causes: Vec<String> = taken
                .answers
                .into_iter()
                .map(|(_, answer)| match answer {
                    Answer::Failed { cause, .. } => cause,
                    Answer::Info(_) => "answered".into(),
                })
                .collect();
            let _ = send.send(causes);
        });
        // One worker for three nodes that never go quiet: each ends at its deadline, so
        // the round ends (without the deadline it would never end).
        let causes = answers.recv_timeout(Duration::from_secs(60)).expect("the round ended");
        assert_eq!(causes, vec!["no reply for 0.3 s"; 3]);
    }
}
