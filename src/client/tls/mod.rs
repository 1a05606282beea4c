//! TLS for every connection (`--tls`, `rediss://`), over rustls with the `ring`
//! provider. The pieces:
//! * this file: the options as given ([`TlsOptions`]), the one client configuration a
//!   process shares ([`Tls`], built at first use: system roots are loaded once, and a
//!   shared configuration lets servers resume sessions), and the rule that picks the
//!   name each node's certificate is checked against ([`ServerNames`], pure);
//! * [`config`]: building the rustls configuration (roots, client certificate,
//!   `--insecure`, cipher lists);
//! * [`explain`]: one line for a person for each TLS failure;
//! * [`link`]: the encrypted stream itself (handshake with its plain-text detection,
//!   reads and writes that keep the 100 ms interrupt polling working, the idle check),
//!   and the probe that tells a TLS port apart when rcli was not asked for TLS.

pub mod config;
pub mod explain;
pub mod link;

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

/// The TLS options, as redis-cli names them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// `--sni NAME`: the name sent and checked when the cluster announces none.
    pub sni: Option<String>,
    pub cacert: Option<PathBuf>,
    pub cacertdir: Option<PathBuf>,
    /// `--insecure`: no certificate check at all.
    pub insecure: bool,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// `--tls-ciphers` (TLS 1.2, OpenSSL names).
    pub ciphers: Option<String>,
    /// `--tls-ciphersuites` (TLS 1.3, IANA names).
    pub ciphersuites: Option<String>,
}

/// The process's TLS client: the options, and the configuration built from them the
/// first time a connection needs it (then shared by every connection).
#[derive(Debug)]
pub struct Tls {
    options: TlsOptions,
    built: OnceLock<Result<Arc<config::Built>, String>>,
}

impl Tls {
    pub fn new(options: TlsOptions) -> Tls {
        Tls { options, built: OnceLock::new() }
    }

    pub fn options(&self) -> &TlsOptions {
        &self.options
    }

    /// Loads the certificates and builds the configuration (once); the error is one
    /// line naming the file or setting at fault.
    pub fn ready(&self) -> Result<(), String> {
        self.built().map(|_| ())
    }

    pub(crate) fn built(&self) -> Result<Arc<config::Built>, String> {
        self.built.get_or_init(|| config::build(&self.options).map(Arc::new)).clone()
    }
}

/// True for an IPv4 or IPv6 literal (brackets allowed), which certificates carry as
/// IP addresses rather than DNS names.
pub fn is_ip_literal(host: &str) -> bool {
    host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().is_ok()
}

/// Which name each node's certificate is checked against (and sent as SNI): the
/// node's announced hostname when the cluster gives one, else `--sni`, else the host
/// name the user gave for the seed. One rule for every connection, so `-c` redirects
/// to other nodes get the right name (redis-cli sends one `--sni` to every node).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerNames {
    sni: Option<String>,
    /// The hosts the user typed (`-h`, `-u`), first seed first.
    seeds: Vec<String>,
}

impl ServerNames {
    pub fn new(sni: Option<String>, seeds: Vec<String>) -> ServerNames {
        ServerNames { sni: sni.filter(|s| !s.is_empty()), seeds }
    }

    /// The name for the node at `host`; `announced` is the hostname the cluster
    /// announced for it (CLUSTER SHARDS `hostname`, CLUSTER SLOTS metadata).
    pub fn name_for<'a>(&'a self, host: &'a str, announced: Option<&'a str>) -> &'a str {
        if let Some(name) = announced.filter(|a| !a.is_empty() && *a != "?") {
            return name;
        }
        let typed = self.seeds.iter().any(|s| s.eq_ignore_ascii_case(host));
        if !typed && !is_ip_literal(host) {
            // A host name the cluster gave as the node's endpoint (or in a MOVED).
            return host;
        }
        if let Some(sni) = &self.sni {
            return sni;
        }
        if typed || !is_ip_literal(host) {
            return host;
        }
        // An address the cluster announced: the seed's host name, when the user gave a
        // name rather than an address.
        self.seeds.iter().find(|s| !is_ip_literal(s)).map_or(host, String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announced_hostnames_come_first_then_sni_then_the_seeds_name() {
        let names = ServerNames::new(Some("redis.example.com".into()), vec!["10.0.0.1".into()]);
        assert_eq!(names.name_for("10.0.0.2", Some("node2.example.com")), "node2.example.com");
        assert_eq!(names.name_for("node3.example.com", None), "node3.example.com", "an announced endpoint");
        assert_eq!(names.name_for("10.0.0.2", None), "redis.example.com");
        assert_eq!(names.name_for("10.0.0.1", None), "redis.example.com", "--sni names the seed");
        assert_eq!(names.name_for("10.0.0.2", Some("?")), "redis.example.com", "? is no hostname");

        let by_name = ServerNames::new(None, vec!["cluster.example.com".into()]);
        assert_eq!(by_name.name_for("cluster.example.com", None), "cluster.example.com");
        assert_eq!(by_name.name_for("10.0.0.7", None), "cluster.example.com", "an IP node: the seed's name");
        assert_eq!(by_name.name_for("10.0.0.7", Some("")), "cluster.example.com");

        let by_address = ServerNames::new(None, vec!["127.0.0.1".into()]);
        assert_eq!(by_address.name_for("127.0.0.1", None), "127.0.0.1");
        assert_eq!(by_address.name_for("::1", None), "::1", "an IP seed: each node's own address");
        assert_eq!(by_address.name_for("localhost", None), "localhost");

        let typed_name_with_sni = ServerNames::new(Some("real.example".into()), vec!["lb.internal".into()]);
        assert_eq!(typed_name_with_sni.name_for("LB.internal", None), "real.example", "--sni wins for seeds");
    }

    #[test]
    fn ip_literals_are_told_from_names() {
        assert!(is_ip_literal("127.0.0.1") && is_ip_literal("::1") && is_ip_literal("[::1]"));
        assert!(!is_ip_literal("localhost") && !is_ip_literal("10.0.0.1.example.com"));
    }
}
