//! One connection to one Redis node: TCP or Unix socket, buffered reads of RESP frames
//! with bounded, interruptible waits, and the handshake that restores a session's state
//! (AUTH, HELLO 3, SELECT, CLIENT SETNAME, READONLY) on every new connection.
//!
//! This is the only module that touches sockets.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::protocol::resp::{self, Frame};

/// Credentials sent with AUTH. They live only in memory.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: Option<Vec<u8>>,
    pub password: Vec<u8>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials(<hidden>)")
    }
}

/// The per-session state every new connection must restore.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionState {
    pub auth: Option<Credentials>,
    pub resp3: bool,
    pub db: i64,
    pub client_name: Option<Vec<u8>>,
}

/// How long to wait for a reply, and what may cut the wait short.
#[derive(Clone, Copy)]
pub struct Wait<'a> {
    /// `None`: wait as long as the server takes (a blocking command the user asked for).
    pub timeout: Option<Duration>,
    /// Set by the Ctrl-C handler; checked every [`INTERRUPT_POLL`].
    pub interrupt: Option<&'a AtomicBool>,
}

/// How often a wait that can be interrupted looks at the interrupt flag.
pub const INTERRUPT_POLL: Duration = Duration::from_millis(100);

impl Wait<'_> {
    /// A bounded wait for rcli's own requests (topology, COMMAND INFO).
    pub fn bounded(timeout: Duration) -> Wait<'static> {
        Wait { timeout: Some(timeout), interrupt: None }
    }
}

enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_read_timeout(timeout),
            Stream::Unix(s) => s.set_read_timeout(timeout),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

const READ_CHUNK: usize = 64 * 1024;
/// Writes that make no progress for this long fail instead of hanging.
const WRITE_TIMEOUT: Duration = Duration::from_secs(60);

/// An open connection with its read buffer.
pub struct Connection {
    stream: Stream,
    endpoint: Endpoint,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    read_timeout: Option<Duration>,
}

impl Connection {
    /// Opens a socket to `endpoint` within `timeout`.
    pub fn connect(endpoint: &Endpoint, timeout: Duration) -> Result<Connection> {
        let connect_error = |source| Error::Connect { addr: endpoint.to_string(), source };
        let stream = match endpoint {
            Endpoint::Tcp { host, port } => {
                let addrs = (host.as_str(), *port).to_socket_addrs().map_err(connect_error)?;
                let mut last = io::Error::new(io::ErrorKind::NotFound, "Name or service not known");
                let mut connected = None;
                for addr in addrs {
                    match TcpStream::connect_timeout(&addr, timeout) {
                        Ok(s) => {
                            connected = Some(s);
                            break;
                        }
                        Err(e) => last = e,
                    }
                }
                let stream = connected.ok_or_else(|| connect_error(last))?;
                // Small commands must leave at once; batching is done by the caller.
                stream.set_nodelay(true).map_err(connect_error)?;
                stream.set_write_timeout(Some(WRITE_TIMEOUT)).map_err(connect_error)?;
                Stream::Tcp(stream)
            }
            Endpoint::Unix(path) => {
                let stream = UnixStream::connect(path).map_err(connect_error)?;
                stream.set_write_timeout(Some(WRITE_TIMEOUT)).map_err(connect_error)?;
                Stream::Unix(stream)
            }
        };
        Ok(Connection {
            stream,
            endpoint: endpoint.clone(),
            buf: vec![0; READ_CHUNK],
            start: 0,
            end: 0,
            read_timeout: None,
        })
    }

    /// Connects and restores `state`, plus READONLY when `readonly` (replica reads).
    pub fn open(endpoint: &Endpoint, state: &SessionState, readonly: bool, timeout: Duration) -> Result<Connection> {
        let mut conn = Connection::connect(endpoint, timeout)?;
        conn.handshake(state, readonly, Wait::bounded(timeout.max(Duration::from_secs(5))))?;
        Ok(conn)
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    fn addr(&self) -> String {
        self.endpoint.to_string()
    }

    /// Sends the commands that make this connection match `state`, and checks each reply.
    pub fn handshake(&mut self, state: &SessionState, readonly: bool, wait: Wait) -> Result<()> {
        let mut steps: Vec<(&str, Vec<Vec<u8>>)> = Vec::new();
        if state.resp3 {
            let mut hello = vec![b"HELLO".to_vec(), b"3".to_vec()];
            if let Some(auth) = &state.auth {
                hello.push(b"AUTH".to_vec());
                hello.push(auth.user.clone().unwrap_or_else(|| b"default".to_vec()));
                hello.push(auth.password.clone());
            }
            steps.push(("HELLO 3", hello));
        } else if let Some(auth) = &state.auth {
            let mut cmd = vec![b"AUTH".to_vec()];
            cmd.extend(auth.user.clone());
            cmd.push(auth.password.clone());
            steps.push(("AUTH", cmd));
        }
        if let Some(name) = &state.client_name {
            steps.push(("CLIENT SETNAME", vec![b"CLIENT".to_vec(), b"SETNAME".to_vec(), name.clone()]));
        }
        if state.db != 0 {
            steps.push(("SELECT", vec![b"SELECT".to_vec(), state.db.to_string().into_bytes()]));
        }
        if readonly {
            steps.push(("READONLY", vec![b"READONLY".to_vec()]));
        }
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
                let is_auth = *what == "AUTH" || (reply.starts_with("WRONGPASS") || reply.starts_with("NOAUTH"));
                return Err(if is_auth {
                    Error::Auth { addr: self.addr(), reply }
                } else {
                    Error::Handshake { addr: self.addr(), command: what.to_string(), reply }
                });
            }
        }
        Ok(())
    }

    /// True when the peer has closed the connection (EOF or reset is waiting to be
    /// read) while it sat idle, so a command is not written into a dead socket.
    pub fn is_closed_by_peer(&mut self) -> bool {
        if self.start != self.end {
            return false;
        }
        let Stream::Tcp(stream) = &self.stream else { return false };
        if stream.set_nonblocking(true).is_err() {
            return true;
        }
        let mut probe = [0u8; 1];
        let closed = match stream.peek(&mut probe) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => e.kind() != io::ErrorKind::WouldBlock,
        };
        closed || stream.set_nonblocking(false).is_err()
    }

    /// Writes all of `bytes`.
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        self.stream.write_all(bytes).map_err(|source| Error::Io { addr: self.endpoint.to_string(), source })
    }

    /// Writes `bytes` and reports how many were written before a failure, so a caller
    /// that wrote several commands knows which ones certainly never left.
    pub fn write_counted(&mut self, bytes: &[u8]) -> (usize, Option<Error>) {
        let mut written = 0;
        while written < bytes.len() {
            match self.stream.write(&bytes[written..]) {
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

    /// A whole frame already in the buffer, if any; never touches the socket.
    pub fn buffered_frame(&mut self) -> Result<Option<Frame>> {
        if self.start == self.end {
            return Ok(None);
        }
        match resp::parse(&self.buf[self.start..self.end]) {
            Ok(Some((frame, used))) => {
                self.start += used;
                if self.start == self.end {
                    self.start = 0;
                    self.end = 0;
                }
                Ok(Some(frame))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(Error::Protocol { addr: self.addr(), detail: e.0 }),
        }
    }

    /// Reads the next frame, waiting as `wait` allows.
    pub fn read_frame(&mut self, wait: Wait) -> Result<Frame> {
        // The clock is read only when the socket must be waited on: piped replies are
        // mostly already in the buffer.
        let mut deadline = None;
        loop {
            if let Some(frame) = self.buffered_frame()? {
                return Ok(frame);
            }
            let until = *deadline.get_or_insert_with(|| wait.timeout.map(|t| Instant::now() + t));
            self.fill(until, wait)?;
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

    /// Reads at least one more byte into the buffer.
    fn fill(&mut self, deadline: Option<Instant>, wait: Wait) -> Result<()> {
        if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else {
                let grown = self.buf.len() * 2;
                self.buf.resize(grown, 0);
            }
        }
        loop {
            if wait.interrupt.is_some_and(|flag| flag.load(Ordering::SeqCst)) {
                return Err(Error::Interrupted);
            }
            let remaining = match deadline {
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        let seconds = wait.timeout.map_or(0.0, |t| t.as_secs_f64());
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
            match self.stream.read(&mut self.buf[self.end..]) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_print() {
        let c = Credentials { user: None, password: b"secret".to_vec() };
        assert!(!format!("{c:?}").contains("secret"));
    }
}
