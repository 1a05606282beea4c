//! rcli's one error type. Expected outcomes (MOVED, ASK, `-ERR` replies, incomplete
//! frames) are values elsewhere; an [`Error`] is a failure of rcli or of the link to a
//! node, and every variant prints as one line for a person.

use std::fmt;
use std::io;

/// Everything that can go wrong, with enough context to say where.
#[derive(Debug)]
pub enum Error {
    /// Could not open a connection (redis-cli's wording, so scripts that grep it still work).
    Connect { addr: String, source: io::Error },
    /// The link to an open connection failed.
    Io { addr: String, source: io::Error },
    /// The server closed the connection.
    Closed { addr: String },
    /// No byte of a reply for the idle timeout.
    Timeout { addr: String, seconds: f64 },
    /// Bytes from the server that are not RESP.
    Protocol { addr: String, detail: String },
    /// AUTH (or HELLO … AUTH) was refused.
    Auth { addr: String, reply: String },
    /// The connection handshake (HELLO, SELECT, CLIENT SETNAME, READONLY) was refused.
    Handshake { addr: String, command: String, reply: String },
    /// A bad option, URI or argument.
    Usage(String),
    /// A command rcli will not send, with the reason (a cross-slot command, a foreign key
    /// inside MULTI, …).
    Refused(String),
    /// The cluster topology could not be loaded.
    Topology(String),
    /// More redirects than `--max-hops` for one command.
    TooManyHops { limit: usize, last: String },
    /// A write was sent and the node died before answering: it may or may not have run.
    OutcomeUnknown { addr: String, cause: String },
    /// SHUTDOWN closed the link, as it does when it succeeds ([`crate::client::Client::execute`]
    /// turns it into [`crate::cluster::reply::Reply::Ended`]).
    ServerEnded { addr: String },
    /// A node (or the cluster) failed for longer than the failure budget: the command
    /// was not sent.
    Down { what: String, cause: String, waited: std::time::Duration },
    /// The user pressed Ctrl-C while waiting.
    Interrupted,
    /// Local files (history, cache, sandbox directories).
    File { path: String, source: io::Error },
    /// A TLS failure with a node (certificate, client certificate, a peer that does not
    /// speak TLS or speaks only TLS), explained; retrying cannot help.
    Tls { addr: String, detail: String },
    /// The TLS options cannot be used (a certificate file, a cipher list).
    TlsSetup(String),
}

/// Result alias used across the crate.
pub type Result<T> = std::result::Result<T, Error>;

/// What a connect that met the open-file limit says (EMFILE, or the system's ENFILE);
/// the limit is raised at start (`client::descriptors`).
pub const EXHAUSTED: &str = "too many open files: raise ulimit -n or lower --parallel";

/// Whether `error` is the process (EMFILE) or the system (ENFILE) out of descriptors.
fn exhausted(error: &io::Error) -> bool {
    matches!(error.raw_os_error(), Some(code) if code == rustix::io::Errno::MFILE.raw_os_error()
        || code == rustix::io::Errno::NFILE.raw_os_error())
}

/// An OS error without Rust's " (os error N)" suffix and the resolver's prefix, so it reads
/// like redis-cli's `strerror` text: "Connection refused".
pub fn os_message(err: &io::Error) -> String {
    if exhausted(err) {
        return EXHAUSTED.to_string();
    }
    let text = err.to_string();
    let text = text.strip_prefix("failed to lookup address information: ").unwrap_or(&text);
    match text.find(" (os error") {
        Some(at) => text.get(..at).unwrap_or(text).to_string(),
        None => text.to_string(),
    }
}

/// The short cause of a link failure ("Connection refused", "connection closed"),
/// for messages that already name the node.
pub fn os_message_of(err: &Error) -> String {
    match err {
        Error::Connect { source, .. } | Error::Io { source, .. } => os_message(source),
        Error::Closed { .. } => "connection closed".to_string(),
        Error::Timeout { seconds, .. } => format!("no reply for {seconds} s"),
        other => other.to_string(),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Connect { addr, source } => {
                write!(f, "Could not connect to Redis at {addr}: {}", os_message(source))
            }
            Error::Io { addr, source } => write!(f, "{addr}: {}", os_message(source)),
            Error::Closed { addr } => write!(f, "{addr}: Server closed the connection"),
            Error::Timeout { addr, seconds } => write!(f, "{addr}: no reply for {seconds} s"),
            Error::Protocol { addr, detail } => write!(f, "{addr}: Protocol error: {detail}"),
            Error::Auth { addr: _, reply } => write!(f, "AUTH failed: {reply}"),
            Error::Handshake { addr, command, reply } => write!(f, "{addr}: {command} failed: {reply}"),
            Error::Usage(text) | Error::Refused(text) => f.write_str(text),
            Error::Topology(text) => write!(f, "cluster topology: {text}"),
            Error::TooManyHops { limit, last } => {
                write!(
                    f,
                    "gave up after {limit} redirects (last: {last}); raise --max-hops if the cluster is resharding"
                )
            }
            Error::ServerEnded { addr } => write!(f, "{addr} shut down"),
            Error::OutcomeUnknown { addr, cause } => {
                write!(f, "outcome unknown: {addr} failed after the command was sent ({cause}); not retried")
            }
            Error::Down { what, cause, waited } => write!(
                f,
                "{what} is down ({cause}; rcli waited {:.1} s); not sent, rcli checks again every second",
                waited.as_secs_f64()
            ),
            Error::Interrupted => f.write_str("interrupted"),
            Error::File { path, source } => write!(f, "{path}: {}", os_message(source)),
            Error::Tls { addr, detail } => write!(f, "Could not connect to Redis at {addr}: {detail}"),
            Error::TlsSetup(detail) => write!(f, "Could not negotiate a TLS connection: {detail}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Connect { source, .. } | Error::Io { source, .. } | Error::File { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl Error {
    /// The node this error's text names, when it names one.
    fn named_node(&self) -> Option<&str> {
        match self {
            Error::Connect { addr, .. }
            | Error::Io { addr, .. }
            | Error::Closed { addr }
            | Error::Timeout { addr, .. }
            | Error::Protocol { addr, .. }
            | Error::Handshake { addr, .. }
            | Error::ServerEnded { addr }
            | Error::OutcomeUnknown { addr, .. }
            | Error::Tls { addr, .. } => Some(addr),
            _ => None,
        }
    }

    /// This error as a line about `node` (`HOST:PORT`): as it is when its text already
    /// names that node, else after `node: `, so the node is named exactly once.
    pub fn about(&self, node: &str) -> String {
        match self.named_node() {
            Some(named) if named == node => self.to_string(),
            _ => format!("{node}: {self}"),
        }
    }

    /// True when the node itself is unreachable or its link broke, so another node or a
    /// fresh topology may help.
    pub fn is_link_failure(&self) -> bool {
        matches!(
            self,
            Error::Connect { .. }
                | Error::Io { .. }
                | Error::Closed { .. }
                | Error::Timeout { .. }
                | Error::Protocol { .. }
                | Error::Down { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emfile_and_enfile_are_the_limit() {
        assert!(exhausted(&io::Error::from_raw_os_error(24)));
        assert!(exhausted(&io::Error::from_raw_os_error(23)));
        assert!(!exhausted(&io::Error::from_raw_os_error(111)));
        assert!(!exhausted(&io::Error::other("x")));
    }

    #[test]
    fn connect_errors_read_like_redis_cli() {
        let err = Error::Connect { addr: "127.0.0.1:6379".into(), source: io::Error::from_raw_os_error(111) };
        assert_eq!(err.to_string(), "Could not connect to Redis at 127.0.0.1:6379: Connection refused");
    }

    #[test]
    fn a_line_about_a_node_names_it_once() {
        let closed = Error::Closed { addr: "127.0.0.1:21505".into() };
        assert_eq!(closed.about("127.0.0.1:21505"), "127.0.0.1:21505: Server closed the connection");
        assert_eq!(closed.about("127.0.0.1:7000"), "127.0.0.1:7000: 127.0.0.1:21505: Server closed the connection");
        let file = Error::File { path: "/b/x.rdb".into(), source: io::Error::from_raw_os_error(28) };
        assert_eq!(file.about("127.0.0.1:7000"), "127.0.0.1:7000: /b/x.rdb: No space left on device");
        let auth = Error::Auth { addr: "127.0.0.1:7000".into(), reply: "WRONGPASS".into() };
        assert_eq!(auth.about("127.0.0.1:7000"), "127.0.0.1:7000: AUTH failed: WRONGPASS");
    }
}
