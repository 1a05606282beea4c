//! `redis://` and `rediss://` URIs (`-u`; valkey-cli's `valkey://` and `valkeys://`
//! too), parsed like redis-cli's `parseRedisUri`: user, password (percent-decoded), host
//! (IPv6 in brackets), port, database, and TLS for `rediss://`.

use crate::error::{Error, Result};

fn percent_decode(text: &str) -> Vec<u8> {
    let hex = |b: &u8| (*b as char).to_digit(16).and_then(|d| u8::try_from(d).ok());
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if let [b'%', hi, lo, after @ ..] = rest
            && let (Some(hi), Some(lo)) = (hex(hi), hex(lo))
        {
            out.push(hi * 16 + lo);
            rest = after;
            continue;
        }
        out.push(b);
        rest = tail;
    }
    out
}

/// What a `redis://` URI holds.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Uri {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub user: Option<Vec<u8>>,
    pub password: Option<Vec<u8>>,
    pub db: Option<i64>,
    /// `rediss://`: connect with TLS.
    pub tls: bool,
}

/// Parses `redis[s]://[[user]:pass@]host[:port][/db]` like redis-cli's `parseRedisUri`.
pub fn parse_uri(uri: &str) -> Result<Uri> {
    let mut parsed = Uri::default();
    // valkey-cli's schemes are accepted too.
    let rest = if let Some(rest) = uri.strip_prefix("redis://").or_else(|| uri.strip_prefix("valkey://")) {
        rest
    } else if let Some(rest) = uri.strip_prefix("rediss://").or_else(|| uri.strip_prefix("valkeys://")) {
        parsed.tls = true;
        rest
    } else {
        return Err(Error::Usage("Invalid URI scheme".into()));
    };
    let (auth, hostpart) = match rest.rsplit_once('@') {
        Some((auth, host)) => (Some(auth), host),
        None => (None, rest),
    };
    if let Some(auth) = auth {
        match auth.split_once(':') {
            Some((user, pass)) => {
                if !user.is_empty() {
                    parsed.user = Some(percent_decode(user));
                }
                parsed.password = Some(percent_decode(pass));
            }
            None => parsed.password = Some(percent_decode(auth)),
        }
    }
    let (hostport, path) = match hostpart.split_once('/') {
        Some((hp, path)) => (hp, Some(path)),
        None => (hostpart, None),
    };
    if let Some(path) = path.filter(|p| !p.is_empty()) {
        parsed.db = Some(path.parse().map_err(|_| Error::Usage(format!("Invalid database number in URI: {path}")))?);
    }
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, rest)) => (h, rest.strip_prefix(':')),
            None => return Err(Error::Usage("Invalid IPv6 address in URI".into())),
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    if !host.is_empty() {
        parsed.host = Some(host.to_string());
    }
    if let Some(port) = port.filter(|p| !p.is_empty()) {
        parsed.port = Some(port.parse().map_err(|_| Error::Usage(format!("Invalid port in URI: {port}")))?);
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_parse_like_redis_cli() {
        let uri = parse_uri("redis://alice:p%40ss@example.com:6380/3").unwrap();
        assert_eq!(uri.host.as_deref(), Some("example.com"));
        assert_eq!(uri.port, Some(6380));
        assert_eq!(uri.user.as_deref(), Some(&b"alice"[..]));
        assert_eq!(uri.password.as_deref(), Some(&b"p@ss"[..]));
        assert_eq!(uri.db, Some(3));
        assert_eq!(parse_uri("redis://:secret@[::1]:7000").unwrap().host.as_deref(), Some("::1"));
        assert!(parse_uri("http://x").is_err());
        assert_eq!(parse_uri("valkey://alice:p%40ss@example.com:6380/3").unwrap(), uri);
        assert!(parse_uri("valkeys://h").unwrap().tls);
        let tls = parse_uri("rediss://user:pass@host.example:6380/2").unwrap();
        assert!(tls.tls && !uri.tls);
        assert_eq!((tls.port, tls.db, tls.user.as_deref()), (Some(6380), Some(2), Some(&b"user"[..])));
    }
}
