//! Opening a byte stream to a node: TCP (each resolved address in turn, within the
//! connect timeout) or a Unix socket. Opening can be interrupted by Ctrl-C within
//! [`INTERRUPT_POLL`]: the connect runs on a helper thread that is left to finish on
//! its own (bounded by the connect timeout) when the user gives up on it.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

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
}

impl Stream {
    /// Connects to `endpoint` within `timeout`; `interrupt` (Ctrl-C) cuts the wait short.
    pub fn connect(endpoint: &Endpoint, timeout: Duration, interrupt: Option<&AtomicBool>) -> Result<Stream> {
        let connect_error = |source| Error::Connect { addr: endpoint.to_string(), source };
        let Some(flag) = interrupt else {
            return open(endpoint, timeout).map_err(connect_error);
        };
        let (tx, rx) = mpsc::channel();
        let target = endpoint.clone();
        std::thread::spawn(move || {
            let _receiver_may_be_gone = tx.send(open(&target, timeout));
        });
        loop {
            if flag.load(Ordering::SeqCst) {
                return Err(Error::Interrupted);
            }
            match rx.recv_timeout(INTERRUPT_POLL) {
                Ok(result) => return result.map_err(connect_error),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(connect_error(io::Error::other("connect thread ended")));
                }
            }
        }
    }

    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_read_timeout(timeout),
            Stream::Unix(s) => s.set_read_timeout(timeout),
        }
    }

    pub fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_nonblocking(on),
            Stream::Unix(s) => s.set_nonblocking(on),
        }
    }
}

fn open(endpoint: &Endpoint, timeout: Duration) -> io::Result<Stream> {
    match endpoint {
        Endpoint::Tcp { host, port } => {
            let mut last = io::Error::new(io::ErrorKind::NotFound, "Name or service not known");
            for addr in (host.as_str(), *port).to_socket_addrs()? {
                match TcpStream::connect_timeout(&addr, timeout) {
                    Ok(stream) => {
                        // Small commands must leave at once; batching is done by the caller.
                        stream.set_nodelay(true)?;
                        stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
                        return Ok(Stream::Tcp(stream));
                    }
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
