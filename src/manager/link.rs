//! The manager's way to talk to nodes: a [`Pool`] (so AUTH, the user and TLS come from
//! rcli's common options), one command or a pipeline of commands per call, every wait
//! bounded. A [`LinkTemplate`] makes more links for worker threads (one pool each). A
//! slot mover's link ([`LinkTemplate::mover_link`]) keeps connections of its own only
//! to its home nodes (the source and target it moves between); every other node is
//! reached through the run's one shared pool, locked for each exchange, so parallel
//! movers hold about `nodes + 2 × movers` descriptors, not `movers × nodes`.
//! Connections stay in database 0; [`Link::in_db`] runs a piece of work in another one
//! (Valkey 9's numbered databases in cluster mode): each exchange is then wrapped in
//! `SELECT n` … `SELECT 0`, and an exchange that fails closes its connection, so none
//! goes back to the pool in another database.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::client::pool::{Exchange, LinkSettings, Pool};
use crate::client::state::{Credentials, SessionState};
use crate::endpoint::Endpoint;
use crate::error::Result;
use crate::protocol::encode;
use crate::protocol::resp::Frame;

/// What every link of a run shares: credentials, timeouts, the interrupt flag.
#[derive(Clone)]
pub struct LinkTemplate {
    pub state: SessionState,
    pub settings: LinkSettings,
    pub interrupt: Arc<AtomicBool>,
}

impl LinkTemplate {
    /// Links with `auth`, opened as `settings` say (TLS, address map), waiting at most
    /// `timeout` for a reply.
    pub fn new(auth: Option<Credentials>, mut settings: LinkSettings, timeout: Duration) -> LinkTemplate {
        // RESP2, db 0: the manager parses RESP2 replies and clusters have one database.
        let state = SessionState { auth, resp3: false, db: 0, client_name: None };
        settings.internal_timeout = timeout;
        LinkTemplate { state, settings, interrupt: Arc::new(AtomicBool::new(false)) }
    }

    pub fn link(&self) -> Link {
        let mut pool = Pool::new(self.state.clone(), self.settings.clone());
        pool.set_interrupt(self.interrupt.clone());
        Link { pool, timeout: self.settings.internal_timeout, db: 0, shared: None, home: Vec::new() }
    }

    /// A link for a slot mover: its own connections only to its home nodes
    /// ([`Link::set_home`]), the others through `shared`.
    pub fn mover_link(&self, shared: Arc<Mutex<Pool>>) -> Link {
        Link { shared: Some(shared), ..self.link() }
    }

    pub fn auth(&self) -> Option<&Credentials> {
        self.state.auth.as_ref()
    }
}

/// Connections to the cluster's nodes.
pub struct Link {
    pool: Pool,
    timeout: Duration,
    /// The database commands run in (0: no wrapping).
    db: u32,
    /// A mover's link: the pool shared by a run's movers, for nodes not in `home`.
    shared: Option<Arc<Mutex<Pool>>>,
    /// The nodes a mover's link has connections of its own to.
    home: Vec<Endpoint>,
}

impl Link {
    /// Runs `work` on the pool that holds `node`'s connection: the link's own, or for a
    /// node away from a mover's home the shared one, locked for the whole exchange.
    fn with_pool<T>(&mut self, node: &Endpoint, work: impl FnOnce(&mut Pool) -> T) -> T {
        match &self.shared {
            Some(shared) if !self.home.contains(node) => {
                let mut guard = shared.lock().unwrap_or_else(|e| e.into_inner());
                work(&mut guard)
            }
            _ => work(&mut self.pool),
        }
    }

    /// A mover's link now works between `nodes`: its own connections to other nodes
    /// close.
    pub fn set_home(&mut self, nodes: &[Endpoint]) {
        for old in std::mem::replace(&mut self.home, nodes.to_vec()) {
            if !nodes.contains(&old) {
                self.pool.close(&old);
            }
        }
    }

    /// Lends this link's connections out as a shared pool for a run's movers (the link
    /// goes on with a fresh pool meanwhile); [`Link::take_back`] returns them.
    pub fn lend_pool(&mut self) -> Arc<Mutex<Pool>> {
        let mut fresh = Pool::new(self.pool.state().clone(), self.pool.settings().clone());
        if let Some(flag) = self.pool.interrupt_flag() {
            fresh.set_interrupt(flag);
        }
        Arc::new(Mutex::new(std::mem::replace(&mut self.pool, fresh)))
    }

    /// Takes back a pool lent by [`Link::lend_pool`] once no mover holds it.
    pub fn take_back(&mut self, shared: Arc<Mutex<Pool>>) {
        if let Ok(pool) = Arc::try_unwrap(shared) {
            let pool = pool.into_inner().unwrap_or_else(|e| e.into_inner());
            let fresh = std::mem::replace(&mut self.pool, pool);
            self.pool.absorb(fresh);
        }
    }

    /// Opens (or reuses) the connection to `node`: connect and AUTH errors show here.
    pub fn connect(&mut self, node: &Endpoint) -> Result<()> {
        self.with_pool(node, |pool| {
            let exchange = pool.borrow(node)?;
            pool.give_back(exchange);
            Ok(())
        })
    }

    /// Runs `work` with every command in database `db`, then back in the one before.
    pub fn in_db<T>(&mut self, db: u32, work: impl FnOnce(&mut Link) -> T) -> T {
        let before = std::mem::replace(&mut self.db, db);
        let out = work(self);
        self.db = before;
        out
    }

    /// The database commands run in now.
    pub fn db(&self) -> u32 {
        self.db
    }

    /// One command, waiting at most the link's timeout for the reply.
    pub fn cmd<A: AsRef<[u8]>>(&mut self, node: &Endpoint, argv: &[A]) -> Result<Frame> {
        self.cmd_for(node, argv, self.timeout)
    }

    /// One command with its own bound (MIGRATE waits as long as the server may).
    pub fn cmd_for<A: AsRef<[u8]>>(&mut self, node: &Endpoint, argv: &[A], idle: Duration) -> Result<Frame> {
        if self.db == 0 {
            return self.with_pool(node, |pool| pool.request(node, argv, Some(idle)));
        }
        let command: Vec<&[u8]> = argv.iter().map(AsRef::as_ref).collect();
        let mut replies = self.pipeline_then(node, &[command], idle, &|| {})?;
        Ok(replies.pop().unwrap_or(Frame::Null))
    }

    /// Several commands in one write, their replies in order.
    pub fn pipeline<A: AsRef<[u8]>>(&mut self, node: &Endpoint, commands: &[Vec<A>]) -> Result<Vec<Frame>> {
        self.pipeline_for(node, commands, self.timeout)
    }

    pub fn pipeline_for<A: AsRef<[u8]>>(
        &mut self,
        node: &Endpoint,
        commands: &[Vec<A>],
        idle: Duration,
    ) -> Result<Vec<Frame>> {
        self.pipeline_then(node, commands, idle, &|| {})
    }

    /// [`Link::pipeline_for`] that calls `sent` between the write and the first read.
    pub fn pipeline_then<A: AsRef<[u8]>>(
        &mut self,
        node: &Endpoint,
        commands: &[Vec<A>],
        idle: Duration,
        sent: &dyn Fn(),
    ) -> Result<Vec<Frame>> {
        if commands.is_empty() {
            return Ok(Vec::new());
        }
        let (out, sent_count) = self.encode(commands);
        let replies = self.with_pool(node, |pool| {
            let mut exchange = pool.borrow(node)?;
            exchange.send(&out, sent_count)?;
            sent();
            read_replies(pool, exchange, sent_count, idle)
        })?;
        Ok(self.unwrap_db(replies))
    }

    /// The bytes of `commands` (wrapped in SELECT when the link works in another
    /// database) and how many replies they get.
    fn encode<A: AsRef<[u8]>>(&self, commands: &[Vec<A>]) -> (Vec<u8>, usize) {
        let mut out = Vec::new();
        let db = self.db.to_string();
        if self.db != 0 {
            encode::encode_command(&["SELECT", db.as_str()], &mut out);
        }
        for argv in commands {
            encode::encode_command(argv, &mut out);
        }
        if self.db != 0 {
            encode::encode_command(&["SELECT", "0"], &mut out);
        }
        (out, commands.len() + if self.db != 0 { 2 } else { 0 })
    }

    /// The commands' own replies out of a wrapped exchange; a refused SELECT becomes
    /// every command's reply (nothing ran in the wrong database).
    fn unwrap_db(&self, mut replies: Vec<Frame>) -> Vec<Frame> {
        if self.db == 0 || replies.len() < 2 {
            return replies;
        }
        replies.pop();
        let select = replies.remove(0);
        if select.as_error().is_some() {
            return replies.iter().map(|_| select.clone()).collect();
        }
        replies
    }

    /// The same command list sent to several nodes at once (each its own write), the
    /// replies read node by node: one round trip for all of them.
    pub fn fan_out<A: AsRef<[u8]>>(
        &mut self,
        nodes: &[Endpoint],
        commands: &[Vec<A>],
    ) -> Vec<(Endpoint, Result<Vec<Frame>>)> {
        self.fan_out_for(nodes, commands, self.timeout)
    }

    /// [`Link::fan_out`] waiting at most `idle` (and the link's own bound) per reply.
    pub fn fan_out_for<A: AsRef<[u8]>>(
        &mut self,
        nodes: &[Endpoint],
        commands: &[Vec<A>],
        idle: Duration,
    ) -> Vec<(Endpoint, Result<Vec<Frame>>)> {
        let idle = idle.min(self.timeout);
        let (out, count) = self.encode(commands);
        // A mover's link: the shared pool is held for the whole round.
        let shared = self.shared.clone();
        let mut guard = shared.as_ref().map(|s| s.lock().unwrap_or_else(|e| e.into_inner()));
        let home = &self.home;
        let own = &mut self.pool;
        let mut lent = Vec::new();
        for node in nodes {
            let pool: &mut Pool = match guard.as_deref_mut() {
                Some(shared) if !home.contains(node) => shared,
                _ => &mut *own,
            };
            let sent = pool.borrow(node).and_then(|mut exchange| {
                exchange.send(&out, count)?;
                Ok(exchange)
            });
            lent.push((node.clone(), sent));
        }
        let mut results = Vec::new();
        for (node, sent) in lent {
            let pool: &mut Pool = match guard.as_deref_mut() {
                Some(shared) if !home.contains(&node) => shared,
                _ => &mut *own,
            };
            let result = sent.and_then(|exchange| read_replies(pool, exchange, count, idle));
            results.push((node, result));
        }
        drop(guard);
        results.into_iter().map(|(node, result)| (node, result.map(|replies| self.unwrap_db(replies)))).collect()
    }

    /// `commands` run in each of `databases` databases of `node`, in one exchange
    /// (`SELECT 0 … SELECT 1 … SELECT 0`): each database's replies. A refused SELECT
    /// fails the whole (nothing is read as another database's answer).
    pub fn each_db<A: AsRef<[u8]>>(
        &mut self,
        node: &Endpoint,
        databases: u32,
        commands: &[Vec<A>],
    ) -> Result<Vec<Vec<Frame>>> {
        let databases = databases.max(1);
        if databases == 1 {
            return self.pipeline(node, commands).map(|replies| vec![replies]);
        }
        let mut all: Vec<Vec<Vec<u8>>> = Vec::new();
        for db in 0..databases {
            all.push(vec![b"SELECT".to_vec(), db.to_string().into_bytes()]);
            all.extend(commands.iter().map(|argv| argv.iter().map(|a| a.as_ref().to_vec()).collect()));
        }
        all.push(vec![b"SELECT".to_vec(), b"0".to_vec()]);
        let replies = self.in_db(0, |link| link.pipeline(node, &all))?;
        let mut out = Vec::new();
        for block in replies.chunks(commands.len() + 1).take(databases as usize) {
            let Some((select, rest)) = block.split_first() else { break };
            if let Some(e) = select.as_error() {
                return Err(crate::error::Error::Protocol {
                    addr: node.to_string(),
                    detail: format!("SELECT refused: {}", String::from_utf8_lossy(e)),
                });
            }
            out.push(rest.to_vec());
        }
        Ok(out)
    }

    /// Keys of `slot` on `node`, summed over `databases` databases (`None`: a count failed).
    pub fn keys_in_slot(&mut self, node: &Endpoint, slot: u16, databases: u32) -> Option<i64> {
        let count = vec![vec!["CLUSTER".to_string(), "COUNTKEYSINSLOT".into(), slot.to_string()]];
        let mut total = 0i64;
        for replies in self.each_db(node, databases, &count).ok()? {
            total = total.checked_add(replies.first()?.as_integer()?)?;
        }
        Some(total)
    }

    /// `DBSIZE` of `node`, summed over `databases` databases (`None`: one failed).
    pub fn keys_on(&mut self, node: &Endpoint, databases: u32) -> Option<i64> {
        let mut total = 0i64;
        for replies in self.each_db(node, databases, &[vec!["DBSIZE"]]).ok()? {
            total = total.checked_add(replies.first()?.as_integer()?)?;
        }
        Some(total)
    }

    /// Closes the connection to `node` (after a reset, a shutdown).
    pub fn close(&mut self, node: &Endpoint) {
        self.with_pool(node, |pool| pool.close(node));
    }

    /// Takes over `other`'s idle connections (work done on helper threads).
    pub fn adopt(&mut self, other: Link) {
        self.pool.absorb(other.pool);
    }

    pub fn pool_mut(&mut self) -> &mut Pool {
        &mut self.pool
    }
}

/// Reads the `count` replies `exchange` owes (each within `idle`) and gives it back to
/// `pool`, which keeps the connection only if every reply was read.
fn read_replies(pool: &mut Pool, mut exchange: Exchange, count: usize, idle: Duration) -> Result<Vec<Frame>> {
    let mut replies = Vec::with_capacity(count);
    for _ in 0..count {
        match exchange.read(Some(idle)) {
            Ok(frame) => replies.push(frame),
            Err(e) => {
                pool.give_back(exchange);
                return Err(e);
            }
        }
    }
    pool.give_back(exchange);
    Ok(replies)
}

/// A reply's text: a string, a number, or an error's message.
pub fn reply_text(frame: &Frame) -> String {
    match frame {
        Frame::Integer(n) => n.to_string(),
        Frame::Error(e) => String::from_utf8_lossy(e).into_owned(),
        other => other.as_bytes().map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default(),
    }
}

/// The error message of an error reply.
pub fn error_of(frame: &Frame) -> Option<String> {
    frame.as_error().map(|e| String::from_utf8_lossy(e).into_owned())
}

/// `field:value` from an INFO reply.
pub fn info_field(info: &str, field: &str) -> Option<String> {
    info.lines().find_map(|line| line.strip_prefix(field)?.strip_prefix(':')).map(|v| v.trim().to_string())
}
