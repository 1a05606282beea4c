//! The encrypted stream to one node, over a blocking TCP socket:
//! * the handshake, bounded by the connect timeout, with a plain-text check: a
//!   plain-text Redis never answers a ClientHello (it waits for a newline), so after
//!   a second of silence a PING on a second connection tells whether that is what
//!   listens, and the failure is said at once instead of a timeout;
//! * reads that keep working with the 100 ms read timeouts the interrupt polling uses
//!   (rustls keeps a partial record buffered, so a timed-out read is retried safely);
//! * writes that never read (rustls's own `Stream::write` may block reading when a
//!   socket write times out), counting bytes as written once handed to rustls;
//! * non-blocking reads for the idle check: records without plain text (session
//!   tickets) give `WouldBlock`, a close_notify gives EOF;
//! * [`speaks_tls`]: whether a port that closed a plain-text connection unanswered
//!   talks TLS, so rcli without `--tls` can say so.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};

use super::config::{Built, NoVerify};
use super::explain::explain;

/// How long a handshake may see no byte before rcli checks for a plain-text server.
const SILENCE_BEFORE_PROBE: Duration = Duration::from_secs(1);
/// Read slices while handshaking (the deadline and the probe are checked between them).
const HANDSHAKE_SLICE: Duration = Duration::from_millis(100);
/// After a handshake with a server that asked for a certificate rcli does not have,
/// how long to wait for its refusal (TLS 1.3 sends it after the client's Finished);
/// once per run (`tls-auth-clients optional` accepts such connections).
const REFUSAL_WAIT: Duration = Duration::from_millis(200);

/// A TLS failure already explained for a person, carried inside an `io::Error`.
#[derive(Debug)]
pub struct Failure(pub String);

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Failure {}

/// The explanation inside `error`, when it is a TLS failure.
pub fn failure_text(error: &io::Error) -> Option<String> {
    error.get_ref().and_then(|inner| inner.downcast_ref::<Failure>()).map(|f| f.0.clone())
}

/// An open TLS connection.
pub struct TlsStream {
    conn: ClientConnection,
    sock: TcpStream,
    built: Arc<Built>,
    /// A write that failed after its bytes were counted: every later call fails.
    failed: Option<(io::ErrorKind, String)>,
}

impl std::fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsStream").field("sock", &self.sock).finish_non_exhaustive()
    }
}

/// Why a TLS exchange failed, for a person.
fn explain_io(error: &io::Error, built: &Built) -> String {
    if let Some(tls) = error.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
        return explain(tls, built.probe.requested(), built.have_cert);
    }
    match error.kind() {
        io::ErrorKind::UnexpectedEof => "the server closed the connection during the TLS handshake".into(),
        _ => format!("{} (during the TLS handshake)", crate::error::os_message(error)),
    }
}

impl TlsStream {
    /// Runs the handshake on `sock` within `limit`; `name` is what the certificate must
    /// carry. The error is one line for a person.
    pub fn handshake(sock: TcpStream, built: Arc<Built>, name: &str, limit: Duration) -> Result<TlsStream, String> {
        let started = Instant::now();
        let bare = name.trim_start_matches('[').trim_end_matches(']');
        let server_name =
            ServerName::try_from(bare.to_string()).map_err(|_| format!("invalid TLS server name '{bare}'"))?;
        let mut conn = ClientConnection::new(built.config.clone(), server_name).map_err(|e| format!("TLS: {e}"))?;
        let mut sock = sock;
        sock.set_read_timeout(Some(HANDSHAKE_SLICE)).map_err(|e| crate::error::os_message(&e))?;
        let (mut heard, mut probed) = (false, false);
        while conn.is_handshaking() {
            if started.elapsed() >= limit {
                return Err(format!("TLS handshake timed out after {:.1} s", limit.as_secs_f64()));
            }
            if !heard && !probed && started.elapsed() >= SILENCE_BEFORE_PROBE {
                probed = true;
                if let Some(reply) = sock.peer_addr().ok().and_then(|addr| plain_text_reply(addr, SILENCE_BEFORE_PROBE))
                {
                    return Err(format!(
                        "the server does not speak TLS on this port (a plain-text Redis answered {reply}); drop --tls"
                    ));
                }
            }
            match conn.complete_io(&mut sock) {
                Ok((read, _)) => heard |= read > 0,
                Err(e) if is_retry(&e) => {}
                Err(e) => return Err(explain_io(&e, &built)),
            }
        }
        if built.probe.requested() && !built.have_cert && !built.accepted_without_cert.load(Ordering::SeqCst) {
            let until = Instant::now() + REFUSAL_WAIT.min(limit.saturating_sub(started.elapsed()));
            while Instant::now() < until {
                match conn.complete_io(&mut sock) {
                    Ok((0, 0)) => break,
                    Ok(_) => {}
                    Err(e) if is_retry(&e) => {}
                    Err(e) => return Err(explain_io(&e, &built)),
                }
            }
            built.accepted_without_cert.store(true, Ordering::SeqCst);
        }
        sock.set_read_timeout(None).map_err(|e| crate::error::os_message(&e))?;
        Ok(TlsStream { conn, sock, built, failed: None })
    }

    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.sock.set_read_timeout(timeout)
    }

    fn failed_error(&self) -> Option<io::Error> {
        self.failed.as_ref().map(|(kind, text)| io::Error::new(*kind, text.clone()))
    }

    /// Plain-text bytes from the server. A timed-out read (`WouldBlock`) can be
    /// retried; EOF with or without close_notify is `Ok(0)`; a TLS alert is a
    /// [`Failure`].
    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(error) = self.failed_error() {
            return Err(error);
        }
        match rustls::Stream::new(&mut self.conn, &mut self.sock).read(buf) {
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
            Err(e) if e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) => {
                Err(io::Error::new(io::ErrorKind::InvalidData, Failure(explain_io(&e, &self.built))))
            }
            other => other,
        }
    }

    /// Sends what rustls holds; never reads.
    fn flush_records(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut self.sock) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Hands `buf` (or its first part) to rustls and sends the records. Bytes handed
    /// over count as written even when sending them fails (they may have left): the
    /// failure is then returned by every later call.
    pub fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(error) = self.failed_error() {
            return Err(error);
        }
        if let Err(e) = self.flush_records() {
            self.failed = Some((e.kind(), crate::error::os_message(&e)));
            return Err(e);
        }
        let taken = self.conn.writer().write(buf)?;
        if let Err(e) = self.flush_records() {
            self.failed = Some((e.kind(), crate::error::os_message(&e)));
        }
        Ok(taken)
    }

    pub fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        self.sock.set_nonblocking(on)
    }
}

impl Drop for TlsStream {
    /// Says goodbye (close_notify) without ever blocking on a dead peer.
    fn drop(&mut self) {
        if self.failed.is_none() && self.sock.set_nonblocking(true).is_ok() {
            self.conn.send_close_notify();
            let _ = self.conn.write_tls(&mut self.sock);
        }
    }
}

fn is_retry(error: &io::Error) -> bool {
    matches!(error.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted)
}

/// What a plain-text Redis at `addr` answers to PING on a connection of its own
/// (`+PONG`, `-NOAUTH …`), when it answers like Redis within `wait`.
fn plain_text_reply(addr: SocketAddr, wait: Duration) -> Option<String> {
    let mut sock = TcpStream::connect_timeout(&addr, wait).ok()?;
    sock.set_read_timeout(Some(wait)).ok()?;
    sock.set_write_timeout(Some(wait)).ok()?;
    sock.write_all(b"PING\r\n").ok()?;
    let mut reply = [0u8; 64];
    let n = sock.read(&mut reply).ok()?;
    let line = reply.get(..n)?.split(|&b| b == b'\r' || b == b'\n').next()?;
    let looks_like_resp = matches!(line.first(), Some(b'+' | b'-' | b'$' | b'*' | b':'));
    // Only printable ASCII of the server's text is shown.
    let shown: String = line.iter().filter(|b| b.is_ascii_graphic() || **b == b' ').map(|&b| b as char).collect();
    looks_like_resp.then(|| format!("\"{shown}\""))
}

/// True when the server at `addr` answers a TLS ClientHello with TLS records (a
/// handshake or an alert): a TLS port reached without `--tls`.
pub fn speaks_tls(addr: SocketAddr, wait: Duration) -> bool {
    static PROBE: OnceLock<Option<Arc<ClientConfig>>> = OnceLock::new();
    let config = PROBE.get_or_init(|| {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder =
            ClientConfig::builder_with_provider(provider.clone()).with_safe_default_protocol_versions().ok()?;
        let config =
            builder.dangerous().with_custom_certificate_verifier(Arc::new(NoVerify(provider))).with_no_client_auth();
        Some(Arc::new(config))
    });
    let Some(config) = config.clone() else { return false };
    let Ok(name) = ServerName::try_from("localhost") else { return false };
    let Ok(mut conn) = ClientConnection::new(config, name) else { return false };
    let Ok(mut sock) = TcpStream::connect_timeout(&addr, wait) else { return false };
    if sock.set_read_timeout(Some(wait)).is_err() || sock.set_write_timeout(Some(wait)).is_err() {
        return false;
    }
    while conn.wants_write() {
        if conn.write_tls(&mut sock).is_err() {
            return false;
        }
    }
    let mut head = [0u8; 2];
    // A TLS record starts with its type (22 handshake, 21 alert) and major version 3.
    sock.read_exact(&mut head).is_ok() && matches!(head, [0x15 | 0x16, 0x03])
}
