//! The lab: the shell's handle on the servers `rcli sandbox` started, so that the
//! shell's lab meta-commands (`:kill`, `:stop`, `:restart`, `:pause`) can do to them what
//! an outage would. Only a session started by `rcli sandbox` has one: no other session
//! can reach a process.
//!
//! Each node has a lock of its own, so a slow clean stop of one node never delays the
//! timer that resumes another. A pause is a timer thread that sends SIGCONT at its
//! deadline (or never, when a later pause, a kill or a stop replaced it); dropping the
//! lab resumes every paused node and kills every server, and if rcli dies without
//! dropping it the watchdog (`watchdog.rs`) kills them, paused or not: no node is ever
//! left stopped.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::cluster::LocalCluster;
use super::process::StopEnd;
use super::servers::{Server, Started};
use crate::client::pool::LinkSettings;
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};

/// The longest pause the lab takes (a bounded partition, not a way to lose a node).
pub const MAX_PAUSE: Duration = Duration::from_secs(300);
/// The longest wait for a clean stop (Redis's own `shutdown-timeout` is 10 s).
const STOP_LIMIT: Duration = Duration::from_secs(15);
/// How often a pause timer looks at its deadline.
const TICK: Duration = Duration::from_millis(50);

/// What the lab did last to a node's process, as far as it knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Process {
    Running,
    /// Stopped with SIGSTOP; SIGCONT follows at `until`.
    Paused {
        until: Instant,
    },
    /// Killed with SIGKILL (`:kill`).
    Killed,
    /// Stopped cleanly (`:stop`).
    Stopped,
    /// Ended by itself (a SHUTDOWN typed in the shell, a crash).
    Ended,
}

impl Process {
    /// True while the process exists and can be signalled.
    pub fn is_alive(self) -> bool {
        matches!(self, Process::Running | Process::Paused { .. })
    }

    /// How the lab shows it (`:nodes`, messages), at `now`.
    pub fn describe(self, now: Instant) -> String {
        match self {
            Process::Running => "running".into(),
            Process::Paused { until } => {
                format!("paused ({:.0} s left)", until.saturating_duration_since(now).as_secs_f64().ceil())
            }
            Process::Killed => "killed".into(),
            Process::Stopped => "stopped".into(),
            Process::Ended => "ended".into(),
        }
    }
}

/// One sandbox node as the lab sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabNode {
    pub endpoint: Endpoint,
    pub id: String,
    pub process: Process,
    pub pid: Option<u32>,
}

struct Node {
    endpoint: Endpoint,
    id: String,
    state: Mutex<NodeState>,
}

struct NodeState {
    server: Server,
    process: Process,
    /// Bumped by every pause, kill, stop and restart: a pause timer whose turn is past
    /// does nothing.
    turn: u64,
}

struct Shared {
    nodes: Vec<Node>,
    closing: AtomicBool,
}

impl Shared {
    fn node(&self, index: usize) -> Result<(&Node, MutexGuard<'_, NodeState>)> {
        let node = self.nodes.get(index).ok_or_else(|| Error::Usage(format!("no sandbox node {index}")))?;
        let state = node.state.lock().unwrap_or_else(PoisonError::into_inner);
        Ok((node, state))
    }
}

/// The shell's handle on a sandbox's servers.
pub struct Lab {
    shared: Arc<Shared>,
    timers: Mutex<Vec<JoinHandle<()>>>,
    link: LinkSettings,
    /// What is left of the cluster once its servers moved here: its directory, removed
    /// when the lab is dropped.
    _cluster: LocalCluster,
}

/// Sees that the lock is noticed as stale rather than panicking on poison.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Lab {
    /// Takes over the servers of `cluster` (the rest of it — its directory — is removed
    /// with the lab).
    pub fn new(mut cluster: LocalCluster) -> Lab {
        let servers = std::mem::take(&mut cluster.nodes);
        let nodes = servers
            .into_iter()
            .enumerate()
            .map(|(i, server)| Node {
                endpoint: server.endpoint(),
                id: cluster.ids.get(i).cloned().unwrap_or_default(),
                state: Mutex::new(NodeState { server, process: Process::Running, turn: 0 }),
            })
            .collect();
        let link = cluster.link().clone();
        Lab {
            shared: Arc::new(Shared { nodes, closing: AtomicBool::new(false) }),
            timers: Mutex::new(Vec::new()),
            link,
            _cluster: cluster,
        }
    }

    /// How rcli's own calls reach the nodes (TLS in a TLS sandbox).
    pub fn link(&self) -> &LinkSettings {
        &self.link
    }

    /// The nodes' addresses, in the order the sandbox started them.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        self.shared.nodes.iter().map(|n| n.endpoint.clone()).collect()
    }

    /// Every node and its process, noticing processes that ended by themselves.
    pub fn nodes(&self) -> Vec<LabNode> {
        self.shared
            .nodes
            .iter()
            .map(|node| {
                let mut state = lock(&node.state);
                if state.process.is_alive() && state.server.has_ended() {
                    state.process = Process::Ended;
                }
                LabNode {
                    endpoint: node.endpoint.clone(),
                    id: node.id.clone(),
                    process: state.process,
                    pid: state.server.pid(),
                }
            })
            .collect()
    }

    /// `:kill`: SIGKILL, as a crash would (a paused node dies too).
    pub fn kill(&self, index: usize) -> Result<()> {
        let (node, mut state) = self.shared.node(index)?;
        if state.server.has_ended() {
            return Err(Error::Usage(format!("{} is not running", node.endpoint)));
        }
        state.server.kill();
        state.process = Process::Killed;
        state.turn += 1;
        Ok(())
    }

    /// `:stop`: a clean stop (SHUTDOWN SAVE), a paused node resumed first so it can
    /// obey; bounded, the wait cut short by `interrupt` (then the node is killed).
    pub fn stop(&self, index: usize, interrupt: Option<&AtomicBool>) -> Result<StopEnd> {
        let (node, mut state) = self.shared.node(index)?;
        if state.server.has_ended() {
            return Err(Error::Usage(format!("{} is not running", node.endpoint)));
        }
        stop_locked(&mut state, interrupt)
    }

    /// `:restart`: starts a node that is not running again from its own command line
    /// (it rejoins the cluster); a running node is stopped cleanly first. Returns how
    /// the running node was stopped, if it was, and whether the wait for the new
    /// process to answer was cut short (`interrupt`: Ctrl-C).
    pub fn restart(&self, index: usize, interrupt: Option<&AtomicBool>) -> Result<(Option<StopEnd>, Started)> {
        let (node, mut state) = self.shared.node(index)?;
        let stopped = if state.server.has_ended() { None } else { Some(stop_locked(&mut state, interrupt)?) };
        if stopped == Some(StopEnd::Killed) && interrupt.is_some_and(|flag| flag.load(Ordering::SeqCst)) {
            return Err(Error::Usage(format!(
                "interrupted: {} was killed while it stopped; not restarted",
                node.endpoint
            )));
        }
        state.turn += 1;
        match state.server.restart(interrupt) {
            Ok(started) => {
                state.process = Process::Running;
                Ok((stopped, started))
            }
            Err(e) => {
                state.process = Process::Ended;
                Err(e)
            }
        }
    }

    /// `:pause`: SIGSTOP now and SIGCONT after `length` (a pause of a paused node
    /// replaces its deadline; a zero length resumes it now). Returns the deadline.
    pub fn pause(&self, index: usize, length: Duration) -> Result<Option<Instant>> {
        if length > MAX_PAUSE {
            return Err(Error::Usage(format!("a pause lasts at most {} s", MAX_PAUSE.as_secs())));
        }
        let (node, mut state) = self.shared.node(index)?;
        if !state.process.is_alive() || state.server.has_ended() {
            return Err(Error::Usage(format!("{} is not running", node.endpoint)));
        }
        state.turn += 1;
        if length.is_zero() {
            if matches!(state.process, Process::Paused { .. }) {
                state.server.signal("CONT")?;
                state.process = Process::Running;
                return Ok(None);
            }
            return Err(Error::Usage(format!("{} is not paused", node.endpoint)));
        }
        if !matches!(state.process, Process::Paused { .. }) {
            state.server.signal("STOP")?;
        }
        let until = Instant::now() + length;
        state.process = Process::Paused { until };
        let turn = state.turn;
        drop(state);
        let shared = Arc::clone(&self.shared);
        let timer = std::thread::spawn(move || resume_at(&shared, index, turn));
        let mut timers = lock(&self.timers);
        timers.retain(|t| !t.is_finished());
        timers.push(timer);
        Ok(Some(until))
    }
}

/// A clean stop with the node's lock held.
fn stop_locked(state: &mut NodeState, interrupt: Option<&AtomicBool>) -> Result<StopEnd> {
    if matches!(state.process, Process::Paused { .. }) {
        state.server.signal("CONT")?;
    }
    state.turn += 1;
    let end = state.server.shut_down(STOP_LIMIT, interrupt);
    state.process = if end == StopEnd::Killed { Process::Killed } else { Process::Stopped };
    Ok(end)
}

/// A pause timer: at the deadline of pause `turn`, SIGCONT — unless the pause was
/// replaced, the node killed or stopped, or the lab is closing (which resumes it).
fn resume_at(shared: &Shared, index: usize, turn: u64) {
    while !shared.closing.load(Ordering::SeqCst) {
        let Ok((_, mut state)) = shared.node(index) else { return };
        if state.turn != turn {
            return;
        }
        match state.process {
            Process::Paused { until } if Instant::now() >= until => {
                let _ = state.server.signal("CONT");
                state.process = Process::Running;
                return;
            }
            Process::Paused { .. } => {}
            _ => return,
        }
        drop(state);
        std::thread::sleep(TICK);
    }
}

impl Drop for Lab {
    /// Resumes every paused node and kills every server; the timers end within a tick.
    fn drop(&mut self) {
        self.shared.closing.store(true, Ordering::SeqCst);
        for node in &self.shared.nodes {
            let mut state = lock(&node.state);
            if matches!(state.process, Process::Paused { .. }) {
                let _ = state.server.signal("CONT");
            }
            state.server.kill();
        }
        for timer in lock(&self.timers).drain(..) {
            let _ = timer.join();
        }
    }
}
