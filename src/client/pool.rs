//! Every connection rcli holds, owned in one place. A connection is lent out as an
//! [`Exchange`] for one complete exchange — one command, a fan-out's request, a
//! pipeline's batches — and comes back only when every reply it owes has been read. A
//! connection whose exchange failed, timed out or was interrupted is closed, never
//! reused, so replies can never fall out of step with commands, whoever asked.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use crate::client::address_map::AddressMap;
use crate::client::connection::{Connection, Refusal, Wait};
use crate::client::state::SessionState;
use crate::client::stream::{Dial, Family};
use crate::client::tls::{ServerNames, Tls};
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::protocol::encode;
use crate::protocol::piecewise::ReplySink;
use crate::protocol::resp::Frame;

struct Idle {
    conn: Connection,
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

    /// Whether a byte of the next reply arrives within `idle` (nothing is taken; a
    /// quiet spell leaves the exchange sound). Any other failure leaves it broken.
    pub fn await_reply(&mut self, idle: Duration) -> Result<bool> {
        let wait = Wait { idle: Some(idle), interrupt: self.interrupt.as_deref() };
        self.conn.await_bytes(wait).inspect_err(|_| self.broken = true)
    }

    /// [`Exchange::read`], with a big top-level array or set handed to `sink` piece by
    /// piece as it arrives (then `Ok(None)`).
    pub fn read_pieces(&mut self, idle: Option<Duration>, sink: &mut dyn ReplySink) -> Result<Option<Frame>> {
        let wait = Wait { idle, interrupt: self.interrupt.as_deref() };
        match self.conn.read_reply_pieces(wait, sink) {
            Ok(reply) => {
                self.owed = self.owed.saturating_sub(1);
                Ok(reply)
            }
            Err(e) => {
                self.broken = true;
                Err(e)
            }
        }
    }

    /// For a stream (a subscription: no reply is owed), the next frame if one arrives
    /// within `quiet`; a quiet spell is no failure there. Ctrl-C is not looked at: the
    /// caller polls in short spells and decides.
    pub fn poll(&mut self, quiet: Duration) -> Result<Option<Frame>> {
        match self.conn.read_frame(Wait { idle: Some(quiet), interrupt: None }) {
            Ok(frame) => Ok(Some(frame)),
            Err(Error::Timeout { .. }) => Ok(None),
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

    /// RESP3 pushes met while reading (client-side caching invalidations…).
    pub fn take_pushes(&mut self) -> Vec<Frame> {
        self.conn.take_pushes()
    }

    /// Raw bytes (a replication payload), at most `max`; any failure breaks the exchange.
    pub fn read_raw(&mut self, max: usize, idle: Option<Duration>) -> Result<Vec<u8>> {
        let wait = Wait { idle, interrupt: self.interrupt.as_deref() };
        self.conn.read_raw(max, wait).inspect_err(|_| self.broken = true)
    }

    /// Puts bytes back in front of what is still to be read.
    pub fn unread(&mut self, bytes: &[u8]) {
        self.conn.unread(bytes);
    }

    /// A raw line (SYNC's answer), bare newlines before it skipped.
    pub fn read_raw_line(&mut self, idle: Option<Duration>) -> Result<Vec<u8>> {
        let wait = Wait { idle, interrupt: self.interrupt.as_deref() };
        self.conn.read_raw_line(wait).inspect_err(|_| self.broken = true)
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
    /// `--tls`: every connection is TLS, with this shared client.
    pub tls: Option<Arc<Tls>>,
    /// The name each node's certificate must carry.
    pub names: ServerNames,
    /// Announced endpoints → addresses rcli can reach.
    pub address_map: AddressMap,
    /// `-4`/`-6`: which addresses of a host name are tried first.
    pub family: Family,
    /// `--parallel`: per-node jobs at once, and how many connections a fan-out keeps
    /// open (client/workers.rs).
    pub parallel: usize,
}

impl LinkSettings {
    /// Plain connections, nothing mapped.
    pub fn plain(connect_timeout: Duration) -> LinkSettings {
        LinkSettings {
            connect_timeout,
            internal_timeout: connect_timeout,
            tls: None,
            names: ServerNames::default(),
            address_map: AddressMap::default(),
            family: Family::Any,
            parallel: crate::client::workers::DEFAULT_WIDTH,
        }
    }

    /// How to open a connection to the node announced as `endpoint`, whose announced
    /// hostname (if any) is `hostname`.
    pub fn dial(&self, endpoint: &Endpoint, hostname: Option<&str>) -> Dial {
        let tls = self.tls.as_ref().map(|tls| {
            let host = match endpoint {
                Endpoint::Tcp { host, .. } => host.as_str(),
                Endpoint::Unix(_) => "localhost",
            };
            (Arc::clone(tls), self.names.name_for(host, hostname).to_string())
        });
        Dial { address: self.address_map.reach(endpoint), timeout: self.connect_timeout, tls, family: self.family }
    }
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
    /// Hostnames the cluster announced for nodes it names by address.
    hostnames: HashMap<Endpoint, String>,
    interrupt: Option<Arc<AtomicBool>>,
    /// What redis-cli would print as warnings, waiting for the session to show them.
    warnings: Vec<String>,
}

impl Pool {
    pub fn new(state: SessionState, settings: LinkSettings) -> Pool {
        Pool {
            idle: HashMap::new(),
            state,
            user_readonly: false,
            replica_links: HashSet::new(),
            settings,
            hostnames: HashMap::new(),
            interrupt: None,
            warnings: Vec::new(),
        }
    }

    /// Warnings from opening connections (a SELECT or AUTH the server refused), once.
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
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

    /// Replaces the address map (`:set address-map`); open connections are closed so
    /// the next ones go where the map says.
    pub fn set_address_map(&mut self, map: AddressMap) {
        self.settings.address_map = map;
        self.idle.clear();
    }

    /// The hostnames the cluster announces for its nodes (from the slot map), used as
    /// their TLS names.
    pub fn set_hostnames(&mut self, hostnames: HashMap<Endpoint, String>) {
        self.hostnames = hostnames;
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
        if let Some(mut idle) = self.idle.remove(endpoint)
            && !idle.conn.is_unusable_when_idle()
        {
            return Ok(self.lend(idle.conn));
        }
        let interrupt = self.interrupt.clone();
        let readonly = self.user_readonly || self.replica_links.contains(endpoint);
        let wait = Wait { idle: Some(self.settings.internal_timeout), interrupt: interrupt.as_deref() };
        // Twice at most: a HELLO that failed only for its AUTH is sent again without it.
        for _ in 0..2 {
            let dial = self.settings.dial(endpoint, self.hostnames.get(endpoint).map(String::as_str));
            let mut conn = Connection::connect(endpoint, dial, interrupt.as_deref())?;
            let mut again = false;
            for refusal in conn.handshake(&self.state, readonly, wait)? {
                match refusal {
                    Refusal::Select(reply) => {
                        self.warnings.push(format!("SELECT {} failed: {reply}", self.state.db));
                        self.state.db = 0;
                    }
                    Refusal::AuthWithoutPassword { reply, hello } => {
                        self.warnings.push(format!("AUTH failed: {reply}"));
                        self.state.auth = None;
                        again |= hello;
                    }
                }
            }
            if !again {
                return Ok(self.lend(conn));
            }
        }
        Err(Error::Handshake { addr: endpoint.to_string(), command: "HELLO".into(), reply: "refused twice".into() })
    }

    fn lend(&self, conn: Connection) -> Exchange {
        Exchange { conn, owed: 0, broken: false, interrupt: self.interrupt.clone() }
    }

    /// Takes a connection back: kept only if its exchange is complete and sound.
    pub fn give_back(&mut self, exchange: Exchange) {
        if exchange.owed == 0 && !exchange.broken {
            let endpoint = exchange.conn.endpoint().clone();
            self.idle.insert(endpoint, Idle { conn: exchange.conn });
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
        encode::encode_command(argv, &mut out);
        exchange.send(&out, 1)?;
        let reply = exchange.read(idle);
        self.give_back(exchange);
        reply
    }

    /// [`Pool::request`] with rcli's internal bound.
    pub fn internal<A: AsRef<[u8]>>(&mut self, endpoint: &Endpoint, argv: &[A]) -> Result<Frame> {
        self.request(endpoint, argv, Some(self.settings.internal_timeout))
    }

    /// Several commands to `endpoint` in one write, their replies in order, with
    /// rcli's internal bound.
    pub fn internal_batch(&mut self, endpoint: &Endpoint, commands: &[&[&str]]) -> Result<Vec<Frame>> {
        let mut exchange = self.borrow(endpoint)?;
        let mut out = Vec::new();
        for argv in commands {
            encode::encode_command(argv, &mut out);
        }
        exchange.send(&out, commands.len())?;
        let idle = Some(self.settings.internal_timeout);
        let replies = commands.iter().map(|_| exchange.read(idle)).collect::<Result<Vec<_>>>();
        self.give_back(exchange);
        replies
    }

    /// Whether a connection to `endpoint` is open and idle.
    pub fn has_idle(&self, endpoint: &Endpoint) -> bool {
        self.idle.contains_key(endpoint)
    }

    /// Closes the idle connection to `endpoint`, if any.
    pub fn close(&mut self, endpoint: &Endpoint) {
        self.idle.remove(endpoint);
    }

    /// Takes over `other`'s idle connections to nodes this pool has none to (the rest
    /// close) and its warnings: work done on helper pools leaves its connections here.
    pub fn absorb(&mut self, other: Pool) {
        for (endpoint, idle) in other.idle {
            self.idle.entry(endpoint).or_insert(idle);
        }
        self.warnings.extend(other.warnings);
    }

    /// Hands the idle connection to `endpoint`, if any, to `other` (work moving to
    /// another thread takes its connection along).
    pub fn move_idle(&mut self, endpoint: &Endpoint, other: &mut Pool) {
        if let Some(idle) = self.idle.remove(endpoint) {
            other.idle.insert(endpoint.clone(), idle);
        }
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
    call_via(&LinkSettings::plain(timeout), endpoint, argv, timeout)
}

/// [`call`] over connections made as `settings` say (TLS, the address map).
pub fn call_via<A: AsRef<[u8]>>(
    settings: &LinkSettings,
    endpoint: &Endpoint,
    argv: &[A],
    timeout: Duration,
) -> Result<Frame> {
    let mut conn = Connection::connect(endpoint, settings.dial(endpoint, None), None)?;
    conn.request(argv, Wait::bounded(timeout))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::tls::TlsOptions;

    #[test]
    fn dial_maps_the_address_and_names_the_announced_node() {
        let mut settings = LinkSettings::plain(Duration::from_secs(1));
        settings.address_map.add("node1.internal=127.0.0.1").unwrap();
        let node = Endpoint::tcp("node1.internal", 7001);
        let plain = settings.dial(&node, None);
        assert_eq!((plain.address, plain.tls.is_none()), (Endpoint::tcp("127.0.0.1", 7001), true));

        settings.tls = Some(Arc::new(Tls::new(TlsOptions::default())));
        settings.names = ServerNames::new(Some("seed.example".into()), vec!["10.0.0.1".into()]);
        let name = |endpoint: &Endpoint, hostname| settings.dial(endpoint, hostname).tls.map(|(_, name)| name);
        assert_eq!(name(&node, None).as_deref(), Some("node1.internal"), "the announced endpoint, not --sni");
        assert_eq!(name(&Endpoint::tcp("10.0.0.2", 1), Some("n2.example")).as_deref(), Some("n2.example"));
        assert_eq!(name(&Endpoint::tcp("10.0.0.1", 1), None).as_deref(), Some("seed.example"));
    }
}
