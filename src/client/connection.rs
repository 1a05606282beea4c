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
use crate::client::stream::{INTERRUPT_POLL, Stream};
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
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

const READ_CHUNK: usize = 64 * 1024;
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
}

impl Connection {
    /// Opens a socket to `endpoint` within `timeout`.
    pub fn connect(endpoint: &Endpoint, timeout: Duration, interrupt: Option<&AtomicBool>) -> Result<Connection> {
        let stream = Stream::connect(endpoint, timeout, interrupt)?;
        Ok(Connection {
            stream,
            endpoint: endpoint.clone(),
            buf: vec![0; READ_CHUNK],
            start: 0,
            end: 0,
            scanner: FrameScanner::default(),
            scanning: false,
            read_timeout: None,
        })
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    fn addr(&self) -> String {
        self.endpoint.to_string()
    }

    /// Sends the commands that make this connection match `state` (plus READONLY when
    /// `readonly`), and checks each reply.
    pub fn handshake(&mut self, state: &SessionState, readonly: bool, wait: Wait) -> Result<()> {
        let steps = state.handshake(readonly);
        if steps.is_empty() {
            return Ok(());
        }
        let mut out = Vec::new();
        for (_, argv) in &steps {
            resp::encode_command(argv, &mut out);
        }
        self.write_all(&out)?;
        for (what, _) in &steps {
            let reply = self.read_reply(wait)?;
            if let Some(err) = reply.as_error() {
                let reply = String::from_utf8_lossy(err).into_owned();
                let is_auth = *what == "AUTH" || reply.starts_with("WRONGPASS") || reply.starts_with("NOAUTH");
                return Err(if is_auth {
                    Error::Auth { addr: self.addr(), reply }
                } else {
                    Error::Handshake { addr: self.addr(), command: what.to_string(), reply }
                });
            }
        }
        Ok(())
    }

    /// True when the peer closed the connection while it sat idle.
    pub fn is_closed_by_peer(&self) -> bool {
        self.start == self.end && self.stream.is_closed_by_peer()
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
        resp::encode_command(argv, &mut out);
        self.write_all(&out)?;
        self.read_reply(wait)
    }

    /// Reads the next frame that is not a RESP3 push.
    pub fn read_reply(&mut self, wait: Wait) -> Result<Frame> {
        loop {
            let frame = self.read_frame(wait)?;
            if !matches!(frame, Frame::Push(_)) {
                return Ok(frame);
            }
        }
    }

    /// Reads the next frame, waiting as `wait` allows.
    pub fn read_frame(&mut self, wait: Wait) -> Result<Frame> {
        loop {
            let at_least = match self.buffered_frame()? {
                Ok(frame) => return Ok(frame),
                Err(at_least) => at_least,
            };
            self.fill(at_least, wait)?;
        }
    }

    /// A whole frame already in the buffer, or how many bytes (from the frame's start)
    /// are needed at least. Small frames are parsed at once; a frame that did not fit
    /// is scanned on from where the last scan stopped, and parsed once it is whole.
    fn buffered_frame(&mut self) -> Result<std::result::Result<Frame, usize>> {
        let pending = self.buf.get(self.start..self.end).unwrap_or_default();
        if pending.is_empty() {
            return Ok(Err(1));
        }
        let parsed = if self.scanning {
            match self.scanner.scan(pending) {
                Scanned::Complete(end) => match resp::parse(pending.get(..end).unwrap_or_default()) {
                    Ok(None) => Err(resp::ProtocolError("a frame ended where its structure said it would not".into())),
                    other => other,
                },
                Scanned::Incomplete { at_least } => return Ok(Err(at_least)),
                Scanned::Invalid => match resp::parse(pending) {
                    Err(e) => Err(e),
                    Ok(_) => Err(resp::ProtocolError("invalid frame structure".into())),
                },
            }
        } else {
            resp::parse(pending)
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

    /// Reads a replication payload, the answer to `SYNC`: the newlines a master sends
    /// while it prepares are skipped; `-ERR` comes back as `Ok(Err(text))`; a `$<len>`
    /// payload is copied to `out` byte for byte, an `$EOF:<40-byte mark>` payload up to
    /// (without) the mark. `started` learns the kind (`Some(len)` or `None` for a
    /// mark) before the first byte is written. Returns the payload's length.
    pub fn read_payload(
        &mut self,
        out: &mut dyn Write,
        wait: Wait,
        started: &mut dyn FnMut(Option<u64>),
    ) -> Result<std::result::Result<u64, String>> {
        const MARK: usize = 40;
        let line = loop {
            while self.buf.get(self.start) == Some(&b'\n') {
                self.start += 1;
            }
            let pending = self.buf.get(self.start..self.end).unwrap_or_default();
            if let Some(at) = pending.iter().position(|&b| b == b'\n') {
                let line = String::from_utf8_lossy(&pending[..at]).trim_end_matches('\r').to_string();
                self.start += at + 1;
                break line;
            }
            if pending.len() > 1024 {
                return Err(Error::Protocol { addr: self.addr(), detail: "no payload header".into() });
            }
            self.fill(pending.len() + 1, wait)?;
        };
        if let Some(error) = line.strip_prefix('-') {
            return Ok(Err(error.to_string()));
        }
        let protocol = |detail: &str| Error::Protocol { addr: self.endpoint.to_string(), detail: detail.to_string() };
        let header = line.strip_prefix('$').ok_or_else(|| protocol("the payload does not start with $"))?;
        let write_err = |e: io::Error| Error::File { path: "payload".into(), source: e };
        if let Some(mark) = header.strip_prefix("EOF:") {
            let mark = mark.as_bytes().get(..MARK).ok_or_else(|| protocol("short EOF mark"))?.to_vec();
            started(None);
            let mut held: Vec<u8> = Vec::with_capacity(2 * MARK);
            let mut written = 0u64;
            loop {
                if self.start == self.end {
                    self.start = 0;
                    self.end = 0;
                    self.fill(1, wait)?;
                }
                let chunk = self.buf.get(self.start..self.end).unwrap_or_default();
                held.extend_from_slice(chunk);
                self.start = self.end;
                if held.len() >= MARK && held.ends_with(&mark) {
                    let body = &held[..held.len() - MARK];
                    out.write_all(body).map_err(write_err)?;
                    return Ok(Ok(written + body.len() as u64));
                }
                if held.len() > MARK {
                    let cut = held.len() - MARK;
                    out.write_all(&held[..cut]).map_err(write_err)?;
                    written += cut as u64;
                    held.drain(..cut);
                }
            }
        }
        let length: u64 = header.parse().map_err(|_| protocol("bad payload length"))?;
        started(Some(length));
        let mut left = length;
        while left > 0 {
            if self.start == self.end {
                self.start = 0;
                self.end = 0;
                self.fill(1, wait)?;
            }
            let available = (self.end - self.start) as u64;
            let take = available.min(left) as usize;
            let chunk = self.buf.get(self.start..self.start + take).unwrap_or_default();
            out.write_all(chunk).map_err(write_err)?;
            self.start += take;
            left -= take as u64;
        }
        Ok(Ok(length))
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
                Ok(0) => return Err(Error::Closed { addr: self.addr() }),
                Ok(n) => {
                    self.end += n;
                    return Ok(());
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                    ) => {}
                Err(source) => return Err(Error::Io { addr: self.addr(), source }),
            }
        }
    }
}
