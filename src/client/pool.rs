//! Every connection rcli holds, owned in one place. A connection is lent out as an
//! [`Exchange`] for one complete exchange — one command, a fan-out's request, a
//! pipeline's batches — and comes back only when every reply it owes has been read. A
//! connection whose exchange failed, timed out or was interrupted is closed, never
//! reused, so replies can never fall out of step with commands, whoever asked.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use crate::client::connection::{Connection, Wait};
use crate::client::state::SessionState;
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::protocol::resp::{self, Frame};

/// An idle connection older than this is checked for a close by the peer before use.
const IDLE_CHECK: Duration = Duration::from_secs(1);

struct Idle {
    conn: Connection,
    since: Instant,
}

/// A connection lent out for one exchange: commands written, replies owed.
pub struct Exchange {
    conn: Connection,
    owed: usize,
    broken: bool,
    interrupt: Option<Arc<AtomicBool>>,
}

impl Exchange {
    pub fn endpoint(&self) -> &Endpoint {
        self.conn.endpoint()
    }

    /// Replies written for and not read yet.
    pub fn owed(&self) -> usize {
        self.owed
    }

    /// Writes `bytes`, which hold `commands` whole commands.
    pub fn send(&mut self, bytes: &[u8], commands: usize) -> Result<()> {
        match self.conn.write_all(bytes) {
            Ok(()) => {
                self.owed += commands;
                Ok(())
            }
            Err(e) => {
                self.broken = true;
                Err(e)
            }
        }
    }

    /// Writes `bytes`, whose commands end at the offsets `ends`; returns how many
    /// commands were written whole (their replies are owed) and the error that stopped
    /// the rest, if any.
    pub fn send_counted(&mut self, bytes: &[u8], ends: impl Iterator<Item = usize>) -> (usize, Option<Error>) {
        let (written, error) = self.conn.write_counted(bytes);
        let whole = ends.take_while(|end| *end <= written).count();
        self.owed += whole;
        if error.is_some() {
            self.broken = true;
        }
        (whole, error)
    }

    /// Reads the next reply (RESP3 pushes skipped), waiting at most `idle` without a
    /// byte; Ctrl-C interrupts the wait. Any failure leaves the exchange broken.
    pub fn read(&mut self, idle: Option<Duration>) -> Result<Frame> {
        let wait = Wait { idle, interrupt: self.interrupt.as_deref() };
        match self.conn.read_reply(wait) {
            Ok(frame) => {
                self.owed = self.owed.saturating_sub(1);
                Ok(frame)
            }
            Err(e) => {
                self.broken = true;
                Err(e)
            }
        }
    }

    /// Reads the next frame, pushes included (streams of messages).
    pub fn read_frame(&mut self, idle: Option<Duration>) -> Result<Frame> {
        let wait = Wait { idle, interrupt: self.interrupt.as_deref() };
        self.conn.read_frame(wait).inspect_err(|_| self.broken = true)
    }

    /// Streams a replication payload (after `SYNC`) to `out`; see
    /// [`Connection::read_payload`]. The connection is a replica link afterwards, so
    /// the exchange is never given back.
    pub fn read_payload(
        &mut self,
        out: &mut dyn std::io::Write,
        idle: Option<Duration>,
        started: &mut dyn FnMut(Option<u64>),
    ) -> Result<std::result::Result<u64, String>> {
        self.broken = true;
        let wait = Wait { idle, interrupt: self.interrupt.as_deref() };
        self.conn.read_payload(out, wait, started)
    }

    /// Marks the exchange as unusable (its owner gave up on it).
    pub fn abandon(&mut self) {
        self.broken = true;
    }
}

/// Settings of the connections the pool opens.
#[derive(Debug, Clone)]
pub struct LinkSettings {
    pub connect_timeout: Duration,
    /// Bound on rcli's own requests (handshakes, topology, command tables).
    pub internal_timeout: Duration,
}

/// The connections, one idle one at most per node.
pub struct Pool {
    idle: HashMap<Endpoint, Idle>,
    state: SessionState,
    /// The user typed READONLY: every new connection sends it.
    user_readonly: bool,
    /// Replicas rcli reads from (`--read-from-replicas`): their connections send
    /// READONLY.
    replica_links: HashSet<Endpoint>,
    settings: LinkSettings,
    interrupt: Option<Arc<AtomicBool>>,
}

impl Pool {
    pub fn new(state: SessionState, settings: LinkSettings) -> Pool {
        Pool {
            idle: HashMap::new(),
            state,
            user_readonly: false,
            replica_links: HashSet::new(),
            settings,
            interrupt: None,
        }
    }

    /// Ctrl-C sets this flag; every wait looks at it.
    pub fn set_interrupt(&mut self, flag: Arc<AtomicBool>) {
        self.interrupt = Some(flag);
    }

    pub fn interrupt(&self) -> Option<&AtomicBool> {
        self.interrupt.as_deref()
    }

    /// The Ctrl-C flag itself, for work that runs its own pools (the shell's `:cluster`).
    pub fn interrupt_flag(&self) -> Option<Arc<AtomicBool>> {
        self.interrupt.clone()
    }

    pub fn settings(&self) -> &LinkSettings {
        &self.settings
    }

    pub fn state(&self) -> &SessionState {
        &self.state
    }

    /// Changes the session state; connections to other nodes than `keep` no longer
    /// match it and are closed (they reconnect with it).
    pub fn update_state(&mut self, state: SessionState, keep: Option<&Endpoint>) {
        self.state = state;
        self.idle.retain(|endpoint, _| Some(endpoint) == keep);
    }

    pub fn set_user_readonly(&mut self, on: bool) {
        self.user_readonly = on;
    }

    /// Reads from `replica` need READONLY on its connection; an existing one without
    /// it is closed.
    pub fn mark_replica(&mut self, replica: &Endpoint) {
        if self.replica_links.insert(replica.clone()) {
            self.idle.remove(replica);
        }
    }

    /// Lends out the connection to `endpoint`, opening it (with the session's
    /// handshake) when there is none or the idle one was closed by the peer.
    pub fn borrow(&mut self, endpoint: &Endpoint) -> Result<Exchange> {
        if let Some(idle) = self.idle.remove(endpoint)
            && (idle.since.elapsed() < IDLE_CHECK || !idle.conn.is_closed_by_peer())
        {
            return Ok(self.lend(idle.conn));
        }
        let interrupt = self.interrupt.clone();
        let mut conn = Connection::connect(endpoint, self.settings.connect_timeout, interrupt.as_deref())?;
        let readonly = self.user_readonly || self.replica_links.contains(endpoint);
        let wait = Wait { idle: Some(self.settings.internal_timeout), interrupt: interrupt.as_deref() };
        conn.handshake(&self.state, readonly, wait)?;
        Ok(self.lend(conn))
    }

    fn lend(&self, conn: Connection) -> Exchange {
        Exchange { conn, owed: 0, broken: false, interrupt: self.interrupt.clone() }
    }

    /// Takes a connection back: kept only if its exchange is complete and sound.
    pub fn give_back(&mut self, exchange: Exchange) {
        if exchange.owed == 0 && !exchange.broken {
            let endpoint = exchange.conn.endpoint().clone();
            self.idle.insert(endpoint, Idle { conn: exchange.conn, since: Instant::now() });
        }
    }

    /// One command to `endpoint` and its reply, waiting at most `idle` without a byte.
    pub fn request<A: AsRef<[u8]>>(
        &mut self,
        endpoint: &Endpoint,
        argv: &[A],
        idle: Option<Duration>,
    ) -> Result<Frame> {
        let mut exchange = self.borrow(endpoint)?;
        let mut out = Vec::new();
        resp::encode_command(argv, &mut out);
        exchange.send(&out, 1)?;
        let reply = exchange.read(idle);
        self.give_back(exchange);
        reply
    }

    /// [`Pool::request`] with rcli's internal bound.
    pub fn internal<A: AsRef<[u8]>>(&mut self, endpoint: &Endpoint, argv: &[A]) -> Result<Frame> {
        self.request(endpoint, argv, Some(self.settings.internal_timeout))
    }

    /// Closes the idle connection to `endpoint`, if any.
    pub fn close(&mut self, endpoint: &Endpoint) {
        self.idle.remove(endpoint);
    }

    /// Closes every idle connection.
    pub fn close_all(&mut self) {
        self.idle.clear();
        self.replica_links.clear();
    }
}

/// Sends one command to a node on a connection of its own and reads the reply: for
/// tools that talk to a server outside any session (the sandbox, the test harness).
pub fn call<A: AsRef<[u8]>>(endpoint: &Endpoint, argv: &[A], timeout: Duration) -> Result<Frame> {
    let mut conn = Connection::connect(endpoint, timeout, None)?;
    conn.request(argv, Wait::bounded(timeout))
}
