//! One connection to one node: RESP frames read from a buffer that fills from the
//! socket, with waits that are bounded (an *idle* timeout: no byte for N seconds) and
//! interruptible, and the handshake that restores a session's state on a new
//! connection. A frame that arrives over many reads is scanned once in all (see
//! [`crate::protocol::scan`]), so reading is linear in the reply's size.
//!
//! Only [`crate::client::pool`] holds connections: everything else borrows one for a
//! complete exchange.

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::client::state::SessionState;
use crate::client::stream::{Dial, INTERRUPT_POLL, Stream};
use crate::client::tls::link::{failure_text, speaks_tls};
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::protocol::encode;
use crate::protocol::piecewise::{self, ReplySink};
use crate::protocol::resp::{self, Frame};
use crate::protocol::scan::{FrameScanner, Scanned};

/// How long to wait for bytes, and what may cut the wait short.
#[derive(Clone, Copy)]
pub struct Wait<'a> {
    /// The longest time without a byte; `None`: as long as the server takes (a
    /// blocking command the user asked for).
    pub idle: Option<Duration>,
    /// Set by the Ctrl-C handler; checked every [`INTERRUPT_POLL`].
    pub interrupt: Option<&'a AtomicBool>,
}

impl Wait<'_> {
    /// A bounded wait that only the clock ends.
    pub fn bounded(idle: Duration) -> Wait<'static> {
        Wait { idle: Some(idle), interrupt: None }
    }

    fn interrupted(&self) -> bool {
        self.interrupt.is_some_and(|flag| flag.load(Ordering::SeqCst))
    }
}

/// A handshake step the server refused that redis-cli only warns about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// SELECT of a database the server does not have: the session stays on 0.
    Select(String),
    /// AUTH (or HELLO … AUTH) to a server that has no password; `hello` when the whole
    /// HELLO failed with it (the protocol did not switch).
    AuthWithoutPassword { reply: String, hello: bool },
}

const READ_CHUNK: usize = 64 * 1024;
/// How long to wait for a TLS answer when checking whether a port speaks TLS.
const TLS_CHECK_WAIT: Duration = Duration::from_secs(1);
/// The longest raw line believed (SYNC's `$<len>` or `$EOF:<mark>` answer).
const MAX_RAW_LINE: usize = 1024;
/// Pushes kept for `--show-pushes` between two commands.
const MAX_KEPT_PUSHES: usize = 1000;
/// An aggregate's header line (`*1000000\r\n`) is never longer than this.
const HEADER_MAX: usize = 32;
/// A declared length is trusted for growing the buffer only up to this size; past it
/// the buffer grows as bytes actually arrive.
const TRUSTED_GROWTH: usize = 64 << 20;
/// A buffer grown for a big reply is given back once the reply has been read.
const SHRINK_ABOVE: usize = 4 << 20;

/// An open connection with its read buffer.
pub struct Connection {
    stream: Stream,
    endpoint: Endpoint,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Where the scan of a frame that did not fit one read stopped.
    scanner: FrameScanner,
    scanning: bool,
    read_timeout: Option<Duration>,
    /// Whether any byte came from the server yet (a plain-text connection closed before
    /// its first byte may have reached a TLS port).
    heard: bool,
    /// The peer of a plain TCP connection, kept for that check (a reset socket forgets it).
    plain_peer: Option<std::net::SocketAddr>,
    /// RESP3 pushes met while reading replies, for `--show-pushes`.
    pushes: Vec<Frame>,
}

impl Connection {
    /// Opens a stream to the node `endpoint` as `dial` says.
    pub fn connect(endpoint: &Endpoint, dial: Dial, interrupt: Option<&AtomicBool>) -> Result<Connection> {
        let stream = Stream::connect(endpoint, dial, interrupt)?;
        Ok(Connection {
            plain_peer: stream.plain_tcp_peer(),
            stream,
            endpoint: endpoint.clone(),
            buf: vec![0; READ_CHUNK],
            start: 0,
            end: 0,
            scanner: FrameScanner::default(),
            scanning: false,
            read_timeout: None,
            heard: false,
            pushes: Vec::new(),
        })
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    fn addr(&self) -> String {
        self.endpoint.to_string()
    }

    /// Sends the commands that make this connection match `state` (plus READONLY when
    /// `readonly`), and checks each reply. What redis-cli only warns about comes back as
    /// a [`Refusal`]: a SELECT of a database the server does not have, an AUTH to a
    /// server without a password; any other refusal is an error.
    pub fn handshake(&mut self, state: &SessionState, readonly: bool, wait: Wait) -> Result<Vec<Refusal>> {
        let steps = state.handshake(readonly);
        if steps.is_empty() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for (_, argv) in &steps {
            encode::encode_command(argv, &mut out);
        }
        self.write_all(&out)?;
        let mut refusals = Vec::new();
        let mut failure = None;
        for (what, _) in &steps {
            let reply = self.read_reply(wait)?;
            let Some(err) = reply.as_error() else { continue };
            let reply = String::from_utf8_lossy(err).into_owned();
            if *what == "SELECT" {
                refusals.push(Refusal::Select(reply));
            } else if reply.contains("without any password configured") {
                refusals.push(Refusal::AuthWithoutPassword { reply, hello: what.starts_with("HELLO") });
            } else if failure.is_none() {
                let is_auth = *what == "AUTH" || reply.starts_with("WRONGPASS") || reply.starts_with("NOAUTH");
                failure = Some(if is_auth {
                    Error::Auth { addr: self.addr(), reply }
                } else {
                    Error::Handshake { addr: self.addr(), command: what.to_string(), reply }
                });
            }
        }
        match failure {
            Some(error) => Err(error),
            None => Ok(refusals),
        }
    }

    /// True when the connection must not be used again after sitting idle: the peer
    /// closed it, or sent bytes no command asked for (then a reply would be read from
    /// the wrong place). RESP3 pushes that arrived meanwhile (client-side caching
    /// invalidations) are legitimate: they are kept, and the connection stays usable.
    pub fn is_unusable_when_idle(&mut self) -> bool {
        if self.stream.set_nonblocking(true).is_err() {
            return true;
        }
        let unusable = loop {
            self.make_room(1);
            let free = self.buf.get_mut(self.end..).unwrap_or_default();
            match self.stream.read(free) {
                Ok(0) => break true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break true,
            }
        };
        if unusable || self.stream.set_nonblocking(false).is_err() {
            return true;
        }
        // Whatever arrived must be whole pushes and nothing else.
        while self.start != self.end {
            match self.buffered_frame(0) {
                Ok(Ok(Frame::Push(items))) => self.keep_push(items),
                _ => return true,
            }
        }
        false
    }

    /// Writes all of `bytes`.
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        self.stream.write_all(bytes).map_err(|source| Error::Io { addr: self.endpoint.to_string(), source })
    }

    /// Writes `bytes` and reports how many were written before a failure, so a caller
    /// that wrote several commands knows which ones certainly never left.
    pub fn write_counted(&mut self, bytes: &[u8]) -> (usize, Option<Error>) {
        let mut written = 0;
        while let Some(rest) = bytes.get(written..).filter(|r| !r.is_empty()) {
            match self.stream.write(rest) {
                Ok(0) => return (written, Some(Error::Closed { addr: self.addr() })),
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => return (written, Some(Error::Io { addr: self.addr(), source })),
            }
        }
        (written, None)
    }

    /// Sends one command and reads its reply (skipping RESP3 pushes).
    pub fn request<A: AsRef<[u8]>>(&mut self, argv: &[A], wait: Wait) -> Result<Frame> {
        let mut out = Vec::new();
        encode::encode_command(argv, &mut out);
        self.write_all(&out)?;
        self.read_reply(wait)
    }

    /// Reads the next frame that is not a RESP3 push.
    pub fn read_reply(&mut self, wait: Wait) -> Result<Frame> {
        loop {
            match self.read_frame(wait)? {
                Frame::Push(items) => self.keep_push(items),
                frame => return Ok(frame),
            }
        }
    }

    /// Waits at most `wait.idle` for the first byte of the next frame, taking nothing:
    /// false when none came (the connection stays usable: a later read goes on).
    pub fn await_bytes(&mut self, wait: Wait) -> Result<bool> {
        if self.start < self.end {
            return Ok(true);
        }
        match self.fill(1, wait) {
            Ok(()) => Ok(true),
            Err(Error::Timeout { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Keeps a RESP3 push met while reading a reply, for `--show-pushes` (a bounded
    /// number: older ones are dropped first).
    fn keep_push(&mut self, items: Vec<Frame>) {
        if self.pushes.len() >= MAX_KEPT_PUSHES {
            self.pushes.remove(0);
        }
        self.pushes.push(Frame::Push(items));
    }

    /// The pushes met since the last call.
    pub fn take_pushes(&mut self) -> Vec<Frame> {
        std::mem::take(&mut self.pushes)
    }

    /// Reads the next reply (RESP3 pushes skipped); a big top-level array or set is
    /// handed to `sink` piece by piece as it arrives (then `Ok(None)`).
    pub fn read_reply_pieces(&mut self, wait: Wait, sink: &mut dyn ReplySink) -> Result<Option<Frame>> {
        loop {
            let pending = self.buf.get(self.start..self.end).unwrap_or_default();
            let header_may_follow =
                matches!(pending.first(), Some(b'*' | b'~')) && pending.len() < HEADER_MAX && !pending.contains(&b'\n');
            if pending.is_empty() || header_may_follow {
                self.fill(pending.len() + 1, wait)?;
                continue;
            }
            if let Some((kind, len, header)) = piecewise::aggregate_header(pending) {
                self.start += header;
                sink.start(kind, len);
                for _ in 0..len {
                    let element = self.read_frame_at(wait, 1)?;
                    sink.element(element);
                }
                sink.end();
                return Ok(None);
            }
            match self.read_frame(wait)? {
                Frame::Push(items) => self.keep_push(items),
                frame => return Ok(Some(frame)),
            }
        }
    }

    /// Raw bytes, not frames (a replication payload): up to `max` of them, waiting as
    /// `wait` allows for at least one.
    pub fn read_raw(&mut self, max: usize, wait: Wait) -> Result<Vec<u8>> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            self.fill(1, wait)?;
        }
        let available = self.end.saturating_sub(self.start).min(max);
        let bytes = self.buf.get(self.start..self.start + available).unwrap_or_default().to_vec();
        self.start += available;
        Ok(bytes)
    }

    /// Puts bytes back in front of what is still to be read.
    pub fn unread(&mut self, bytes: &[u8]) {
        let mut rest = bytes.to_vec();
        rest.extend_from_slice(self.buf.get(self.start..self.end).unwrap_or_default());
        let len = rest.len();
        rest.resize(len.max(READ_CHUNK), 0);
        self.buf = rest;
        self.start = 0;
        self.end = len;
        self.scanning = false;
    }

    /// A raw line up to `\n` (kept `\r` included), skipping the bare `\n`s a master
    /// sends to keep the link alive while it prepares an RDB.
    pub fn read_raw_line(&mut self, wait: Wait) -> Result<Vec<u8>> {
        let mut line = Vec::new();
        loop {
            for byte in self.read_raw(1, wait)? {
                match byte {
                    b'\n' if line.is_empty() => {}
                    b'\n' => return Ok(line),
                    other if line.len() < MAX_RAW_LINE => line.push(other),
                    _ => return Err(Error::Protocol { addr: self.addr(), detail: "a line too long".into() }),
                }
            }
        }
    }

    /// Reads the next frame, waiting as `wait` allows.
    pub fn read_frame(&mut self, wait: Wait) -> Result<Frame> {
        self.read_frame_at(wait, 0)
    }

    /// Reads the next frame, nested `depth` levels deep in a reply read piece by piece.
    fn read_frame_at(&mut self, wait: Wait, depth: usize) -> Result<Frame> {
        loop {
            let at_least = match self.buffered_frame(depth)? {
                Ok(frame) => return Ok(frame),
                Err(at_least) => at_least,
            };
            self.fill(at_least, wait)?;
        }
    }

    /// A whole frame already in the buffer, or how many bytes (from the frame's start)
    /// are needed at least. Small frames are parsed at once; a frame that did not fit
    /// is scanned on from where the last scan stopped, and parsed once it is whole.
    fn buffered_frame(&mut self, depth: usize) -> Result<std::result::Result<Frame, usize>> {
        let pending = self.buf.get(self.start..self.end).unwrap_or_default();
        if pending.is_empty() {
            return Ok(Err(1));
        }
        let parsed = if self.scanning {
            match self.scanner.scan(pending) {
                Scanned::Complete(end) => match resp::parse_at_depth(pending.get(..end).unwrap_or_default(), depth) {
                    Ok(None) => Err(resp::ProtocolError("a frame ended where its structure said it would not".into())),
                    other => other,
                },
                Scanned::Incomplete { at_least } => return Ok(Err(at_least)),
                Scanned::Invalid => match resp::parse_at_depth(pending, depth) {
                    Err(e) => Err(e),
                    Ok(_) => Err(resp::ProtocolError("invalid frame structure".into())),
                },
            }
        } else {
            resp::parse_at_depth(pending, depth)
        };
        match parsed {
            Ok(Some((frame, used))) => {
                self.scanning = false;
                self.start += used;
                if self.start == self.end {
                    self.start = 0;
                    self.end = 0;
                    if self.buf.len() > SHRINK_ABOVE {
                        self.buf = vec![0; READ_CHUNK];
                    }
                }
                Ok(Ok(frame))
            }
            Ok(None) => {
                // Too big for what arrived so far: scan it once, then on each read
                // only the new bytes.
                self.scanning = true;
                self.scanner.reset();
                match self.scanner.scan(pending) {
                    Scanned::Incomplete { at_least } => Ok(Err(at_least)),
                    Scanned::Complete(_) | Scanned::Invalid => {
                        Err(Error::Protocol { addr: self.addr(), detail: "invalid frame structure".into() })
                    }
                }
            }
            Err(e) => Err(Error::Protocol { addr: self.addr(), detail: e.0 }),
        }
    }

    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> Result<()> {
        if self.read_timeout != timeout {
            self.stream
                .set_read_timeout(timeout)
                .map_err(|source| Error::Io { addr: self.endpoint.to_string(), source })?;
            self.read_timeout = timeout;
        }
        Ok(())
    }

    /// A plain-text connection that the server closed or reset before its first byte:
    /// a TLS port does that to plain-text clients, and is told so.
    fn unheard(&self, error: Error) -> Error {
        if self.heard {
            return error;
        }
        match self.plain_peer {
            Some(peer) if speaks_tls(peer, TLS_CHECK_WAIT) => Error::Tls {
                addr: self.addr(),
                detail: "the server speaks TLS on this port (add --tls, or use a rediss:// URI)".into(),
            },
            _ => error,
        }
    }

    /// Makes room for more bytes, and for the whole frame when its size (`at_least`
    /// bytes from its start) is known and believable.
    fn make_room(&mut self, at_least: usize) {
        let trusted = at_least <= TRUSTED_GROWTH;
        let fits =
            |c: &Connection| c.end < c.buf.len() && (!trusted || c.start.saturating_add(at_least) <= c.buf.len());
        if fits(self) {
            return;
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if fits(self) {
            return;
        }
        let wanted = if trusted { at_least } else { self.buf.len().saturating_mul(2) };
        self.buf.resize(wanted.max(self.end.saturating_add(READ_CHUNK)), 0);
    }

    /// Reads at least one more byte, waiting at most `wait.idle` for it.
    fn fill(&mut self, at_least: usize, wait: Wait) -> Result<()> {
        self.make_room(at_least);
        let deadline = wait.idle.map(|idle| Instant::now() + idle);
        loop {
            if wait.interrupted() {
                return Err(Error::Interrupted);
            }
            let remaining = match deadline {
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        let seconds = wait.idle.map_or(0.0, |t| t.as_secs_f64());
                        return Err(Error::Timeout { addr: self.addr(), seconds });
                    }
                    Some(left)
                }
                None => None,
            };
            let slice = match (wait.interrupt, remaining) {
                (Some(_), Some(left)) => Some(left.min(INTERRUPT_POLL)),
                (Some(_), None) => Some(INTERRUPT_POLL),
                (None, left) => left,
            };
            self.set_read_timeout(slice)?;
            let free = self.buf.get_mut(self.end..).unwrap_or_default();
            match self.stream.read(free) {
                Ok(0) => return Err(self.unheard(Error::Closed { addr: self.addr() })),
                Ok(n) => {
                    self.end += n;
                    self.heard = true;
                    return Ok(());
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                    ) => {}
                Err(source) => {
                    if let Some(detail) = failure_text(&source) {
                        return Err(Error::Tls { addr: self.addr(), detail });
                    }
                    return Err(self.unheard(Error::Io { addr: self.addr(), source }));
                }
            }
        }
    }
}
