//! What the diagnostic modes share: the nodes a mode works on with `-c` (every primary,
//! or the `--target` set), a connection pool of its own for each node's job, the
//! Ctrl-C flag, pauses that Ctrl-C cuts short, and redis-cli's `reconnectingRedisCommand`
//! (docs/redis-cli-modes.md, section 4: `Reconnecting... N` once per second).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::client::pool::{LinkSettings, Pool};
use crate::client::state::SessionState;
use crate::cluster::target::Target;
use crate::cluster::topology::Topology;
use crate::endpoint::Endpoint;
use crate::error::Error;
use crate::exit::Exit;
use crate::output::Printer;
use crate::protocol::resp::Frame;
use crate::session::Session;

/// One node a mode works on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub endpoint: Endpoint,
    /// Replicas need READONLY for keyed reads (TYPE, STRLEN…) to be served there.
    pub replica: bool,
}

/// The nodes `--target` names in `topology`: every primary unless it says otherwise
/// (`current` and `auto` mean every primary here too).
pub fn cluster_nodes(topology: &Topology, target: &Target) -> Vec<Node> {
    let node = |n: &crate::cluster::topology::Node| Node { endpoint: n.endpoint.clone(), replica: !n.primary };
    match target {
        Target::Current | Target::Auto | Target::Primaries => topology.primaries().into_iter().map(node).collect(),
        Target::Replicas => topology.replica_nodes().into_iter().map(node).collect(),
        Target::All => topology.all_nodes().into_iter().map(node).collect(),
        Target::Random => {
            let primaries = topology.primaries();
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos() as usize)
                .unwrap_or(0);
            primaries.get(nanos / 1000 % primaries.len().max(1)).map(|n| node(n)).into_iter().collect()
        }
        Target::Node(endpoint) => {
            let replica = topology.node(endpoint).is_some_and(|n| !n.primary);
            vec![Node { endpoint: endpoint.clone(), replica }]
        }
    }
}

/// The nodes of this run: with `-c` and a slot map, `--target`'s set; otherwise the
/// node rcli connected to, alone (`None`: redis-cli's single-node output).
pub fn selected(session: &Session, target: &Target) -> Option<Vec<Node>> {
    session.client.topology().map(|topology| cluster_nodes(topology, target))
}

/// How each node's job gets a pool of its own (the session's credentials, database,
/// protocol and bounds, and its Ctrl-C flag), and how many jobs run at once
/// (`--parallel`, client/workers.rs); shared by the workers.
#[derive(Clone)]
pub struct NodePools {
    state: SessionState,
    settings: LinkSettings,
    flag: Arc<AtomicBool>,
}

impl NodePools {
    pub fn of(session: &mut Session, flag: &Arc<AtomicBool>) -> NodePools {
        let pool = session.client.pool();
        NodePools { state: pool.state().clone(), settings: pool.settings().clone(), flag: flag.clone() }
    }

    /// A new pool for `node`'s job; its connection closes when it is dropped.
    pub fn make(&self, node: &Node) -> Pool {
        let mut own = Pool::new(self.state.clone(), self.settings.clone());
        own.set_interrupt(self.flag.clone());
        if node.replica {
            own.mark_replica(&node.endpoint);
        }
        own
    }

    /// The Ctrl-C flag: no job starts once it is set.
    pub fn flag(&self) -> &AtomicBool {
        &self.flag
    }

    /// Jobs at once.
    pub fn width(&self) -> usize {
        self.settings.parallel
    }

    /// Whether one connection per node may stay open between rounds (`--stat -c`,
    /// `--latency -c`): only when there are no more nodes than jobs at once, so open
    /// descriptors stay within the width.
    pub fn keep_open(&self, nodes: usize) -> bool {
        nodes <= self.width()
    }
}

static INTERRUPT: std::sync::OnceLock<Arc<AtomicBool>> = std::sync::OnceLock::new();

/// Installs the Ctrl-C handler (once per process) and gives the session its flag: every
/// wait of the session's pool, and of the pools [`NodePools`] makes, looks at it.
pub fn catch_ctrl_c(session: &mut Session) -> Arc<AtomicBool> {
    let flag = INTERRUPT
        .get_or_init(|| {
            let flag = Arc::new(AtomicBool::new(false));
            let handler_flag = flag.clone();
            let _ = ctrlc::set_handler(move || handler_flag.store(true, Ordering::SeqCst));
            flag
        })
        .clone();
    session.client.set_interrupt(flag.clone());
    flag
}

pub fn interrupted(flag: &AtomicBool) -> bool {
    flag.load(Ordering::SeqCst)
}

/// Sleeps `delay` in slices Ctrl-C can end; false when it did.
pub fn pause(delay: Duration, flag: &AtomicBool) -> bool {
    let until = Instant::now().checked_add(delay).unwrap_or_else(Instant::now);
    loop {
        if interrupted(flag) {
            return false;
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        std::thread::sleep(left.min(Duration::from_millis(20)));
    }
}

/// Why a mode's loop stopped.
#[derive(Debug)]
pub enum Stop {
    /// Ctrl-C.
    Interrupted,
    /// stdout went away.
    StdoutClosed,
    /// An error that ends the mode with exit 1 (already worded for stderr).
    Failed(String),
}

/// The longest wait for one reply in the diagnostic modes: `--timeout`, or 60 s; with a
/// slot map (`-c` on a cluster) no longer than the node's failure budget (`--down-after`,
/// else `cluster-node-timeout` + 3 s), as every other command of rcli in cluster mode,
/// so a frozen node ends a key scan within its budget (docs/architecture.md, "Failure
/// budget").
pub fn reply_wait(session: &Session) -> Option<Duration> {
    match session.client.topology() {
        Some(_) => session.client.reply_timeout(false),
        None => session.client.options().read_timeout.or(Some(Duration::from_secs(60))),
    }
}

/// One command to the session's node, as redis-cli's `reconnectingRedisCommand`: when
/// the link fails, `Reconnecting... N` is drawn on stdout and a new connection is tried
/// every second until the node answers (Ctrl-C ends the wait); then the line is
/// cleared. A refused handshake (AUTH) ends the mode.
pub fn reconnecting(session: &mut Session, argv: &[&str], flag: &AtomicBool) -> Result<Frame, Stop> {
    let endpoint = session.client.current().clone();
    let wait = reply_wait(session);
    let mut tries = 0u64;
    loop {
        match session.client.pool().request(&endpoint, argv, wait) {
            Ok(reply) => {
                if tries > 0 {
                    write(&mut session.printer, "\r\x1b[0K")?;
                }
                return Ok(reply);
            }
            Err(Error::Interrupted) => return Err(Stop::Interrupted),
            Err(error) if error.is_link_failure() => {
                tries += 1;
                write(&mut session.printer, &format!("\r\x1b[0KReconnecting... {tries}\r"))?;
                if !pause(Duration::from_secs(1), flag) {
                    return Err(Stop::Interrupted);
                }
            }
            Err(error) => return Err(Stop::Failed(format!("Error: {error}"))),
        }
    }
}

/// Writes `text` to stdout at once.
pub fn write(printer: &mut Printer, text: &str) -> Result<(), Stop> {
    printer.write(text.as_bytes()).and_then(|()| printer.flush()).map_err(|_| Stop::StdoutClosed)
}

/// The exit code for how a loop that runs until Ctrl-C ended.
pub fn exit_code(printer: &mut Printer, stop: Stop) -> Exit {
    let _ = printer.flush();
    match stop {
        // redis-cli dies of SIGINT here: what a shell reports for it.
        Stop::Interrupted => Exit::Interrupted,
        Stop::StdoutClosed => Exit::Success,
        Stop::Failed(text) => {
            printer.note(&text);
            Exit::Failure
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::topology::fixtures::two_shards as topology;

    #[test]
    fn targets_pick_the_nodes() {
        let topo = topology();
        let ports = |target: Target| -> Vec<(String, bool)> {
            cluster_nodes(&topo, &target).into_iter().map(|n| (n.endpoint.to_string(), n.replica)).collect()
        };
        let primaries = vec![("127.0.0.1:7000".to_string(), false), ("127.0.0.1:7001".to_string(), false)];
        assert_eq!(ports(Target::Current), primaries);
        assert_eq!(ports(Target::Auto), primaries);
        assert_eq!(
            ports(Target::Replicas),
            [("127.0.0.1:7003".to_string(), true), ("127.0.0.1:7004".to_string(), true)]
        );
        assert_eq!(ports(Target::All).len(), 4);
        assert_eq!(ports(Target::Random).len(), 1);
        assert_eq!(ports(Target::Node(Endpoint::tcp("127.0.0.1", 7004))), [("127.0.0.1:7004".to_string(), true)]);
    }

    #[test]
    fn pauses_end_on_ctrl_c() {
        let flag = AtomicBool::new(false);
        assert!(pause(Duration::from_millis(5), &flag));
        flag.store(true, Ordering::SeqCst);
        let started = Instant::now();
        assert!(!pause(Duration::from_secs(10), &flag));
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}
