//! Opening a byte stream to a node: TCP (each resolved address in turn, within the
//! connect timeout), TLS over TCP (the handshake within the same timeout, see
//! [`crate::client::tls::link`]) or a Unix socket. The node is named by its announced
//! endpoint; the socket goes to [`Dial::address`] (the address map's translation).
//! Opening can be interrupted by Ctrl-C within [`INTERRUPT_POLL`]: a plain connect to an
//! IP address is tried on the caller's thread for one such slice; whatever takes longer
//! (a name to resolve, a TLS handshake, a slow network) runs on a helper thread that is
//! left to finish on its own (bounded by the connect timeout) when the user gives up.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::client::tls::Tls;
use crate::client::tls::link::TlsStream;
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};

/// How often a wait that can be interrupted looks at the interrupt flag.
pub const INTERRUPT_POLL: Duration = Duration::from_millis(100);
/// Writes that make no progress for this long fail instead of hanging.
const WRITE_TIMEOUT: Duration = Duration::from_secs(60);

/// An open byte stream to one node.
pub enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
    Tls(Box<TlsStream>),
}

/// How to open a stream to a node.
#[derive(Debug, Clone)]
pub struct Dial {
    /// Where the socket goes: the node's endpoint, or what the address map makes of it.
    pub address: Endpoint,
    /// Bounds the connect and the TLS handshake together.
    pub timeout: Duration,
    /// TLS, and the name the node's certificate must carry.
    pub tls: Option<(Arc<Tls>, String)>,
    /// Which addresses of a name are tried first (`-4`/`-6`).
    pub family: Family,
}

impl Dial {
    /// A plain connection to `address`.
    pub fn plain(address: &Endpoint, timeout: Duration) -> Dial {
        Dial { address: address.clone(), timeout, tls: None, family: Family::Any }
    }
}

/// redis-cli's `-4`/`-6`: when a host name resolves to IPv4 and IPv6 addresses, those
/// of the preferred family are tried first (the others still follow).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Family {
    /// The resolver's order.
    #[default]
    Any,
    PreferV4,
    PreferV6,
}

impl Family {
    /// `addresses` in the order they are tried: the preferred family first, each
    /// family in the resolver's order.
    pub fn order(self, addresses: impl Iterator<Item = SocketAddr>) -> Vec<SocketAddr> {
        let mut all: Vec<SocketAddr> = addresses.collect();
        match self {
            Family::Any => {}
            Family::PreferV4 => all.sort_by_key(|a| !a.is_ipv4()),
            Family::PreferV6 => all.sort_by_key(|a| !a.is_ipv6()),
        }
        all
    }
}

impl Stream {
    /// Connects to the node `endpoint` as `dial` says, within its timeout; `interrupt`
    /// (Ctrl-C) cuts the wait short.
    pub fn connect(endpoint: &Endpoint, dial: Dial, interrupt: Option<&AtomicBool>) -> Result<Stream> {
        let label =
            if dial.address == *endpoint { endpoint.to_string() } else { format!("{endpoint} (via {})", dial.address) };
        let Some(flag) = interrupt else {
            return open(&dial, &label);
        };
        if flag.load(Ordering::SeqCst) {
            return Err(Error::Interrupted);
        }
        let mut dial = dial;
        match quick_open(&dial) {
            Quick::Done(result) => return result.map_err(|source| Error::Connect { addr: label, source }),
            Quick::Pending(spent) => {
                dial.timeout = dial.timeout.saturating_sub(spent);
                if dial.timeout.is_zero() {
                    let source = io::Error::from(io::ErrorKind::TimedOut);
                    return Err(Error::Connect { addr: label, source });
                }
            }
            Quick::NotTried => {}
        }
        let (tx, rx) = mpsc::channel();
        let thread_label = label.clone();
        std::thread::spawn(move || {
            let _receiver_may_be_gone = tx.send(open(&dial, &thread_label));
        });
        loop {
            if flag.load(Ordering::SeqCst) {
                return Err(Error::Interrupted);
            }
            match rx.recv_timeout(INTERRUPT_POLL) {
                Ok(result) => return result,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(Error::Connect { addr: label, source: io::Error::other("connect thread ended") });
                }
            }
        }
    }

    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_read_timeout(timeout),
            Stream::Unix(s) => s.set_read_timeout(timeout),
            Stream::Tls(s) => s.set_read_timeout(timeout),
        }
    }

    /// The peer's address of a plain TCP stream (to check whether it speaks TLS).
    pub fn plain_tcp_peer(&self) -> Option<std::net::SocketAddr> {
        match self {
            Stream::Tcp(s) => s.peer_addr().ok(),
            _ => None,
        }
    }

    pub fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_nonblocking(on),
            Stream::Unix(s) => s.set_nonblocking(on),
            Stream::Tls(s) => s.set_nonblocking(on),
        }
    }
}

/// What a connect tried on the caller's own thread came to.
enum Quick {
    /// Connected, or refused/unreachable: the answer.
    Done(io::Result<Stream>),
    /// Still pending after one interrupt slice (this long spent).
    Pending(Duration),
    /// Not tried: a name to resolve or a TLS handshake could block past a slice.
    NotTried,
}

/// A plain TCP connect to an address given as an IP, tried on the caller's thread for
/// at most one [`INTERRUPT_POLL`]: on loopback or a LAN it is done long before, and a
/// per-node job over hundreds of nodes then starts no helper thread per connection.
/// A connect still pending after the slice is given up and started again on a helper
/// thread (the wait stays interruptible).
fn quick_open(dial: &Dial) -> Quick {
    let Endpoint::Tcp { host, port } = &dial.address else { return Quick::NotTried };
    if dial.tls.is_some() {
        return Quick::NotTried;
    }
    let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>() else {
        return Quick::NotTried;
    };
    let slice = dial.timeout.min(INTERRUPT_POLL);
    if slice.is_zero() {
        return Quick::NotTried;
    }
    let started = Instant::now();
    match tcp(&SocketAddr::new(ip, *port), slice) {
        Err(e) if e.kind() == io::ErrorKind::TimedOut && dial.timeout > slice => Quick::Pending(started.elapsed()),
        done => Quick::Done(done),
    }
}

/// Opens the stream `dial` describes; errors name the node as `label`.
fn open(dial: &Dial, label: &str) -> Result<Stream> {
    let started = Instant::now();
    let connect_error = |source| Error::Connect { addr: label.to_string(), source };
    let stream = open_socket(&dial.address, dial.timeout, dial.family).map_err(connect_error)?;
    let Some((tls, name)) = &dial.tls else { return Ok(stream) };
    let Stream::Tcp(sock) = stream else {
        return Err(Error::Usage("TLS needs a TCP address, not a Unix socket".into()));
    };
    let built = tls.built().map_err(Error::TlsSetup)?;
    let left = dial.timeout.saturating_sub(started.elapsed());
    TlsStream::handshake(sock, built, name, left)
        .map(|s| Stream::Tls(Box::new(s)))
        .map_err(|detail| Error::Tls { addr: label.to_string(), detail })
}

fn open_socket(endpoint: &Endpoint, timeout: Duration, family: Family) -> io::Result<Stream> {
    match endpoint {
        Endpoint::Tcp { host, port } => {
            let mut last = io::Error::new(io::ErrorKind::NotFound, "Name or service not known");
            for addr in family.order((host.as_str(), *port).to_socket_addrs()?) {
                match tcp(&addr, timeout) {
                    Ok(stream) => return Ok(stream),
                    Err(e) => last = e,
                }
            }
            Err(last)
        }
        Endpoint::Unix(path) => {
            let stream = UnixStream::connect(path)?;
            stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
            Ok(Stream::Unix(stream))
        }
    }
}

/// One TCP connect to `addr` within `timeout`, set up for small commands.
fn tcp(addr: &SocketAddr, timeout: Duration) -> io::Result<Stream> {
    let stream = TcpStream::connect_timeout(addr, timeout)?;
    // Small commands must leave at once; batching is done by the caller.
    stream.set_nodelay(true)?;
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    Ok(Stream::Tcp(stream))
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_preferred_family_is_tried_first_and_the_other_still_follows() {
        let v4: SocketAddr = "127.0.0.1:7000".parse().unwrap();
        let v6: SocketAddr = "[::1]:7000".parse().unwrap();
        let other4: SocketAddr = "10.0.0.1:7000".parse().unwrap();
        let resolved = [v6, v4, other4];
        assert_eq!(Family::Any.order(resolved.into_iter()), [v6, v4, other4]);
        assert_eq!(Family::PreferV4.order(resolved.into_iter()), [v4, other4, v6]);
        assert_eq!(Family::PreferV6.order([v4, other4, v6].into_iter()), [v6, v4, other4]);
    }
}
