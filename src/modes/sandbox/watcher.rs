//! The lab's watcher: a thread that asks every sandbox node `CLUSTER NODES` and
//! `CLUSTER INFO` a few times a second (one pipelined round trip per node, on
//! connections of its own, each wait bounded), builds a [`Census`] and hands what
//! changed to a callback — the shell prints it above the prompt as it happens — and
//! keeps the latest census for the shell to read between lines (the prompt follows a
//! failover; `:nodes` reloads the map).
//!
//! Why a thread rather than a check between lines: a failover happens seconds after a
//! `:kill`, while the user looks at the prompt; a check between lines would say nothing
//! until the next Enter, and the timing (suspected, failed, taken over) is the lesson.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::census::{Answer, Census, Change, changes};
use crate::client::pool::{LinkSettings, Pool};
use crate::client::state::SessionState;
use crate::endpoint::Endpoint;

/// How often the nodes are asked.
const EVERY: Duration = Duration::from_millis(250);
/// The longest wait for one node (a paused node costs this much per round).
const WAIT: Duration = Duration::from_millis(300);

/// Where each round's changes go.
pub type Report = Box<dyn FnMut(&[Change]) + Send>;

/// The latest census and a number that changes with it.
#[derive(Debug, Clone, Default)]
pub struct Latest {
    pub census: Option<Census>,
    pub generation: u64,
}

/// A running watcher; dropping it stops the thread (within one wait).
pub struct Watcher {
    stop: Arc<AtomicBool>,
    latest: Arc<Mutex<Latest>>,
    thread: Option<JoinHandle<()>>,
}

impl Watcher {
    /// Watches `endpoints` through connections made as `link` says; `report` gets each
    /// round's changes (never an empty list).
    pub fn start(endpoints: Vec<Endpoint>, link: &LinkSettings, mut report: Report) -> Watcher {
        let stop = Arc::new(AtomicBool::new(false));
        let latest = Arc::new(Mutex::new(Latest::default()));
        let mut link = link.clone();
        link.connect_timeout = WAIT;
        link.internal_timeout = WAIT;
        let (stopping, shared) = (Arc::clone(&stop), Arc::clone(&latest));
        let thread = std::thread::spawn(move || {
            let mut pool = Pool::new(SessionState::default(), link);
            pool.set_interrupt(Arc::clone(&stopping));
            let mut previous: Option<Census> = None;
            while !stopping.load(Ordering::SeqCst) {
                let round = Instant::now();
                let answers: Vec<Option<Answer>> = endpoints.iter().map(|e| ask(&mut pool, e)).collect();
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let census = Census::build(&endpoints, &answers);
                let changed = previous.as_ref().map(|p| changes(p, &census)).unwrap_or_default();
                if previous.as_ref() != Some(&census) {
                    let mut latest = shared.lock().unwrap_or_else(PoisonError::into_inner);
                    latest.census = Some(census.clone());
                    latest.generation += 1;
                }
                if !changed.is_empty() {
                    report(&changed);
                }
                previous = Some(census);
                let rest = EVERY.saturating_sub(round.elapsed());
                let until = Instant::now() + rest;
                while Instant::now() < until && !stopping.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(25).min(until.saturating_duration_since(Instant::now())));
                }
            }
        });
        Watcher { stop, latest, thread: Some(thread) }
    }

    /// The latest census and its generation.
    pub fn latest(&self) -> Latest {
        self.latest.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// One node's answer, or `None` when it does not answer (or answers nonsense).
fn ask(pool: &mut Pool, endpoint: &Endpoint) -> Option<Answer> {
    let replies = pool.internal_batch(endpoint, &[&["CLUSTER", "NODES"], &["CLUSTER", "INFO"]]).ok()?;
    let text = |i: usize| replies.get(i).and_then(|f| f.as_bytes()).map(|b| String::from_utf8_lossy(b).into_owned());
    let nodes = text(0)?;
    let state_ok = text(1)
        .and_then(|info| info.lines().find_map(|l| l.trim().strip_prefix("cluster_state:").map(|s| s.trim() == "ok")));
    Some(Answer { nodes, state_ok })
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
