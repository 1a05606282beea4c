//! What a lesson's step asks to have read from the live cluster ([`Probe`]) and what
//! was read ([`Readings`]), with the pure parsing of a node's INFO into [`NodeInfo`].
//! The reading itself is the guide's ([`super::guide`]).

use crate::cluster::topology::Topology;
use crate::endpoint::Endpoint;

/// Something to read from the live cluster before a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// Reload the slot map first (a node may have failed or come back since).
    FreshMap,
    /// PING, INFO and `cluster-node-timeout` of one node.
    Node(Endpoint),
    /// [`Probe::Node`] of the primary that owns a slot (per the slot map).
    Owner(u16),
    /// GET a key from its slot's owner, without following a redirect.
    Value(Vec<u8>),
    /// A read-only command sent as it is to the owner of its first key, to show the
    /// server's own answer (a CROSSSLOT error).
    ServerSays(Vec<Vec<u8>>),
}

/// What a node answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeReading {
    /// No answer to PING (refused, closed, timed out): why.
    Silent(String),
    /// It answered.
    Up(NodeInfo),
}

/// What a running node says about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeInfo {
    /// Its process id (INFO server).
    pub pid: Option<u32>,
    /// The primary it replicates (INFO replication), when it is a replica.
    pub replica_of: Option<Endpoint>,
    /// A replica's link to its primary is up and synced.
    pub link_up: bool,
    /// `cluster-node-timeout` in milliseconds.
    pub node_timeout_ms: Option<u64>,
    /// Its working directory and cluster config file (`CONFIG GET`): how to start it again.
    pub dir: Option<String>,
    pub config_file: Option<String>,
}

/// The `CONFIG GET` parameters a node probe reads.
pub const CONFIG_READ: &[&str] = &["cluster-node-timeout", "dir", "cluster-config-file"];

/// A key's value read from its owner: `Ok(None)` for nil, `Err` for an error reply or
/// no answer.
pub type ValueReading = Result<Option<Vec<u8>>, String>;

/// The live state read for one check.
#[derive(Debug, Clone, Default)]
pub struct Readings<'a> {
    /// The slot map (reloaded first when a probe asked for it).
    pub map: Option<&'a Topology>,
    pub nodes: Vec<(Endpoint, NodeReading)>,
    /// Each key's value on its owner.
    pub values: Vec<(Vec<u8>, ValueReading)>,
    /// The node a [`Probe::ServerSays`] went to, and its answer as text.
    pub server_said: Option<(Endpoint, String)>,
}

impl Readings<'_> {
    /// What `endpoint` answered, if it was probed.
    pub fn node(&self, endpoint: &Endpoint) -> Option<&NodeReading> {
        self.nodes.iter().find(|(e, _)| e == endpoint).map(|(_, r)| r)
    }

    /// The primary that owns `slot`, per the slot map.
    pub fn owner(&self, slot: u16) -> Option<&Endpoint> {
        self.map?.owner(slot)
    }

    /// The endpoints of the replicas of `slot`'s primary, per the slot map.
    pub fn replicas(&self, slot: u16) -> Vec<&Endpoint> {
        self.map.map(|m| m.replicas(slot).into_iter().map(|n| &n.endpoint).collect()).unwrap_or_default()
    }

    /// The value read for `key`, if it was probed.
    pub fn value(&self, key: &[u8]) -> Option<&ValueReading> {
        self.values.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

/// Reads a node's `INFO` text and its [`CONFIG_READ`] values (name, value pairs) into
/// [`NodeInfo`]; fields that are missing or malformed stay unknown.
pub fn parse_info(text: &str, config: &[(String, String)]) -> NodeInfo {
    let field = |name: &str| {
        text.lines().find_map(|line| line.strip_prefix(name).and_then(|rest| rest.strip_prefix(':'))).map(str::trim)
    };
    let setting = |name: &str| {
        config
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty() && v.len() <= 4096 && !v.chars().any(char::is_control))
    };
    let replica = field("role") == Some("slave");
    let primary = match (field("master_host"), field("master_port").and_then(|p| p.parse::<u16>().ok())) {
        (Some(host), Some(port)) if replica && port != 0 && is_host(host) => Some(Endpoint::tcp(host, port)),
        _ => None,
    };
    NodeInfo {
        pid: field("process_id").and_then(|p| p.parse().ok()),
        link_up: replica && field("master_link_status") == Some("up"),
        replica_of: primary,
        node_timeout_ms: setting("cluster-node-timeout").and_then(|t| t.parse().ok()),
        dir: setting("dir").map(str::to_string),
        config_file: setting("cluster-config-file").map(str::to_string),
    }
}

/// A host name or address a node may report for its primary (no spaces or controls).
fn is_host(host: &str) -> bool {
    !host.is_empty() && host.len() <= 255 && host.chars().all(|c| c.is_ascii_alphanumeric() || ".-:_[]".contains(c))
}

/// `word` quoted for a POSIX shell when it needs to be.
pub fn shell_word(word: &str) -> String {
    if !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=,@+".contains(c)) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// How to start a cluster node again by hand with its own cluster config file (so it
/// comes back with its node id), from what it said while it ran.
pub fn restart_command(port: u16, info: &NodeInfo) -> Option<String> {
    let (dir, file) = (info.dir.as_deref()?, info.config_file.as_deref()?);
    let mut words = vec![
        "redis-server".to_string(),
        "--port".into(),
        port.to_string(),
        "--cluster-enabled".into(),
        "yes".into(),
        "--cluster-config-file".into(),
        shell_word(file),
    ];
    if let Some(timeout) = info.node_timeout_ms {
        words.extend(["--cluster-node-timeout".to_string(), timeout.to_string()]);
    }
    Some(format!("cd {} && {}", shell_word(dir), words.join(" ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_of_a_primary_and_of_a_replica() {
        let primary = "# Server\r\nredis_version:7.0.15\r\nprocess_id:4242\r\n# Replication\r\nrole:master\r\nconnected_slaves:1\r\n";
        let config =
            [("cluster-node-timeout", "2000"), ("dir", "/tmp/rcli x"), ("cluster-config-file", "nodes-20001.conf")]
                .map(|(n, v)| (n.to_string(), v.to_string()));
        let info = parse_info(primary, &config);
        assert_eq!(info.pid, Some(4242));
        assert_eq!((info.replica_of.clone(), info.link_up, info.node_timeout_ms), (None, false, Some(2000)));
        assert_eq!(
            restart_command(20001, &info).as_deref(),
            Some(
                "cd '/tmp/rcli x' && redis-server --port 20001 --cluster-enabled yes --cluster-config-file nodes-20001.conf --cluster-node-timeout 2000"
            )
        );

        let replica =
            "process_id:7\r\nrole:slave\r\nmaster_host:127.0.0.1\r\nmaster_port:20001\r\nmaster_link_status:up\r\n";
        let info = parse_info(replica, &[]);
        assert_eq!(info.replica_of, Some(Endpoint::tcp("127.0.0.1", 20001)));
        assert!(info.link_up);
        assert_eq!(restart_command(20001, &info), None);
        let syncing = replica.replace("status:up", "status:down");
        assert!(!parse_info(&syncing, &[]).link_up);
    }

    #[test]
    fn hostile_info_fields_stay_unknown() {
        let text = "process_id:-1\r\nrole:slave\r\nmaster_host:\x1b]0;evil\x07\r\nmaster_port:70000\r\n";
        let config =
            [("cluster-node-timeout", "soon"), ("dir", "/tmp/\x1b[2J")].map(|(n, v)| (n.to_string(), v.to_string()));
        assert_eq!(parse_info(text, &config), NodeInfo::default());
        let text = "role:slave\r\nmaster_host:10.0.0.1\r\nmaster_port:0\r\n";
        assert_eq!(parse_info(text, &[]).replica_of, None);
    }

    #[test]
    fn words_are_quoted_for_a_shell() {
        assert_eq!(shell_word("nodes-1.conf"), "nodes-1.conf");
        assert_eq!(shell_word("it's here"), "'it'\\''s here'");
        assert_eq!(shell_word(""), "''");
    }
}
