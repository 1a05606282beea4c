//! Where a node listens: a TCP host and port, or a Unix socket path, printed the way
//! redis-cli prints addresses.

use std::fmt;
use std::path::PathBuf;

use crate::protocol::text::escape_controls;

/// Where a node listens.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    Tcp { host: String, port: u16 },
    Unix(PathBuf),
}

impl Endpoint {
    pub fn tcp(host: &str, port: u16) -> Self {
        Endpoint::Tcp { host: host.to_string(), port }
    }

    /// Parses `host:port` (the last `:` splits, so `::1:7000` and `[::1]:7000` work).
    pub fn parse(text: &str) -> Option<Self> {
        let (host, port) = text.rsplit_once(':')?;
        let port = port.parse().ok()?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        (!host.is_empty()).then(|| Endpoint::tcp(host, port))
    }
}

impl fmt::Display for Endpoint {
    /// `127.0.0.1:7000`, `[::1]:7000`, or the socket path, as redis-cli's `formatAddr`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A host name comes from the user or from a node's announcement: whatever it
        // holds, it must not reach a terminal as control characters.
        match self {
            Endpoint::Tcp { host, port } if host.contains(':') => {
                write!(f, "[{}]:{port}", escape_controls(host, false))
            }
            Endpoint::Tcp { host, port } => write!(f, "{}:{port}", escape_controls(host, false)),
            Endpoint::Unix(path) => write!(f, "{}", escape_controls(&path.display().to_string(), false)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse_and_print_like_redis_cli() {
        assert_eq!(Endpoint::parse("127.0.0.1:7000"), Some(Endpoint::tcp("127.0.0.1", 7000)));
        assert_eq!(Endpoint::parse("[::1]:7000").map(|e| e.to_string()), Some("[::1]:7000".into()));
        assert_eq!(Endpoint::parse("::1:7000").map(|e| e.to_string()), Some("[::1]:7000".into()));
        assert_eq!(Endpoint::parse("nope"), None);
        assert_eq!(Endpoint::parse(":7000"), None);
    }
}
