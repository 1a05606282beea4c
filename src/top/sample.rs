//! What one node said in one round of `rcli top`, read from its `INFO` text (counters
//! and gauges) and its `CLUSTER SLOT-STATS` replies (per-slot figures, Valkey 8+).
//! Pure: the poller (`poll.rs`) hands the replies in. Everything is untrusted: a field
//! that is missing or not a number is `None`, never a guess.

use crate::cluster::keyspace;
use crate::cluster::slot::SLOTS;
use crate::protocol::resp::{Frame, field};

/// The figures `rcli top` shows, from one `INFO` reply.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeInfo {
    /// `run_id`: a new one means the node restarted and its counters began again.
    pub run_id: Option<String>,
    /// `master` or `slave` (the server's words).
    pub role: Option<String>,
    pub commands: Option<u64>,
    pub net_input: Option<u64>,
    pub net_output: Option<u64>,
    /// `used_cpu_sys` + `used_cpu_user`, seconds.
    pub cpu_seconds: Option<f64>,
    pub used_memory: Option<u64>,
    /// 0 means no limit.
    pub max_memory: Option<u64>,
    pub clients: Option<u64>,
    pub blocked_clients: Option<u64>,
    /// Keys per database number.
    pub keys: Vec<(u32, u64)>,
    /// A primary's `master_repl_offset`; a replica's own offset is `replica_offset`.
    pub repl_offset: Option<u64>,
    pub replica_offset: Option<u64>,
    /// A replica's `master_link_status:up`.
    pub master_link_up: Option<bool>,
    pub master_link_down_seconds: Option<u64>,
    /// A replica's `master_host` and `master_port`.
    pub master: Option<(String, u16)>,
    /// A primary's `slaveN:` lines.
    pub replicas: Vec<ReplicaLine>,
    /// `redis_version` or `valkey_version`, with the server's name.
    pub version: Option<String>,
}

/// One `slaveN:ip=…,port=…,state=…,offset=…,lag=…` line of a primary's INFO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaLine {
    pub ip: String,
    pub port: u16,
    pub state: String,
    pub offset: Option<u64>,
    /// Seconds since the replica's last acknowledgement.
    pub lag: Option<u64>,
}

fn number<T: std::str::FromStr>(value: Option<&str>) -> Option<T> {
    value.and_then(|v| v.trim().parse::<T>().ok())
}

/// Longest text kept from a field (an id, a version, a host).
const MAX_TEXT: usize = 255;

fn short_text(value: &str) -> String {
    value.chars().take(MAX_TEXT).collect()
}

fn replica_line(value: &str) -> Option<ReplicaLine> {
    let part = |name: &str| value.split(',').find_map(|p| p.strip_prefix(name)?.strip_prefix('='));
    Some(ReplicaLine {
        ip: short_text(part("ip")?),
        port: number::<u16>(part("port")).filter(|p| *p != 0)?,
        state: short_text(part("state").unwrap_or("?")),
        offset: number(part("offset")),
        lag: number(part("lag")),
    })
}

impl NodeInfo {
    /// Reads the fields of an `INFO` reply's text.
    pub fn parse(text: &str) -> NodeInfo {
        let mut info = NodeInfo { keys: keyspace::databases(text), ..NodeInfo::default() };
        let (mut cpu_sys, mut cpu_user) = (None::<f64>, None::<f64>);
        let (mut master_host, mut master_port) = (None, None);
        for line in text.lines() {
            let Some((name, value)) = line.trim_end().split_once(':') else { continue };
            let value = Some(value);
            match name {
                "run_id" => info.run_id = value.map(short_text),
                "role" => info.role = value.map(short_text),
                "redis_version" if info.version.is_none() => {
                    info.version = value.map(|v| format!("Redis {}", short_text(v)))
                }
                "valkey_version" => info.version = value.map(|v| format!("Valkey {}", short_text(v))),
                "total_commands_processed" => info.commands = number(value),
                "total_net_input_bytes" => info.net_input = number(value),
                "total_net_output_bytes" => info.net_output = number(value),
                "used_cpu_sys" => cpu_sys = number::<f64>(value).filter(|v| v.is_finite() && *v >= 0.0),
                "used_cpu_user" => cpu_user = number::<f64>(value).filter(|v| v.is_finite() && *v >= 0.0),
                "used_memory" => info.used_memory = number(value),
                "maxmemory" => info.max_memory = number(value),
                "connected_clients" => info.clients = number(value),
                "blocked_clients" => info.blocked_clients = number(value),
                "master_repl_offset" => info.repl_offset = number(value),
                "slave_repl_offset" => info.replica_offset = number(value),
                "master_link_status" => info.master_link_up = value.map(|v| v.trim() == "up"),
                "master_link_down_since_seconds" => info.master_link_down_seconds = number(value),
                "master_host" => master_host = value.map(short_text),
                "master_port" => master_port = number::<u16>(value),
                _ if name.starts_with("slave") && name.get(5..).is_some_and(|n| n.parse::<u32>().is_ok()) => {
                    info.replicas.extend(value.and_then(replica_line));
                }
                _ => {}
            }
        }
        info.cpu_seconds = cpu_sys.zip(cpu_user).map(|(sys, user)| sys + user);
        info.master = master_host.zip(master_port.filter(|p| *p != 0));
        info
    }

    /// True for a replica.
    pub fn is_replica(&self) -> bool {
        self.role.as_deref() == Some("slave")
    }

    /// Keys over every database.
    pub fn total_keys(&self) -> u64 {
        self.keys.iter().map(|(_, n)| *n).fold(0, u64::saturating_add)
    }
}

/// One slot's line of a `CLUSTER SLOT-STATS` reply; the cumulative counters are there
/// only when `cluster-slot-stats-enabled` is on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlotStat {
    pub slot: u16,
    pub keys: u64,
    pub cpu_usec: Option<u64>,
    pub net_in: Option<u64>,
    pub net_out: Option<u64>,
}

/// Most slots read from one reply (the poller asks for far fewer).
const MAX_SLOT_LINES: usize = 1024;

/// The slots of a `CLUSTER SLOT-STATS` reply (RESP2: `[slot, [name, value, …]]`
/// pairs; RESP3: `[slot, {name: value}]`), or `None` when it is not one (an error
/// reply: a server without the command).
pub fn slot_stats(reply: &Frame) -> Option<Vec<SlotStat>> {
    let items = reply.as_items()?;
    let mut found = Vec::new();
    for entry in items.iter().take(MAX_SLOT_LINES) {
        let Some([slot, stats]) = entry.as_items() else { return None };
        let slot = slot.as_integer().and_then(|s| u16::try_from(s).ok()).filter(|s| usize::from(*s) < SLOTS)?;
        let pairs = stats.to_pairs()?;
        let count = |name: &str| field(&pairs, name).and_then(Frame::as_integer).and_then(|n| u64::try_from(n).ok());
        found.push(SlotStat {
            slot,
            keys: count("key-count").unwrap_or(0),
            cpu_usec: count("cpu-usec"),
            net_in: count("network-bytes-in"),
            net_out: count("network-bytes-out"),
        });
    }
    Some(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRIMARY: &str = "# Server\r\nredis_version:7.2.4\r\nvalkey_version:8.1.1\r\nrun_id:abc\r\n\
        # Clients\r\nconnected_clients:3\r\nblocked_clients:1\r\n# Memory\r\nused_memory:1048576\r\nmaxmemory:0\r\n\
        # Stats\r\ntotal_commands_processed:1000\r\ntotal_net_input_bytes:5000\r\ntotal_net_output_bytes:9000\r\n\
        # Replication\r\nrole:master\r\nconnected_slaves:2\r\n\
        slave0:ip=127.0.0.1,port=7003,state=online,offset=900,lag=0\r\n\
        slave1:ip=10.0.0.2,port=bad,state=online,offset=1,lag=1\r\nmaster_repl_offset:1000\r\n\
        # CPU\r\nused_cpu_sys:1.5\r\nused_cpu_user:0.25\r\n# Keyspace\r\ndb0:keys=10,expires=0,avg_ttl=0\r\ndb3:keys=2,expires=0\r\n";

    #[test]
    fn a_primarys_info_is_read() {
        let info = NodeInfo::parse(PRIMARY);
        assert_eq!(info.role.as_deref(), Some("master"));
        assert!(!info.is_replica());
        assert_eq!(info.version.as_deref(), Some("Valkey 8.1.1"));
        assert_eq!((info.commands, info.net_input, info.net_output), (Some(1000), Some(5000), Some(9000)));
        assert_eq!(info.cpu_seconds, Some(1.75));
        assert_eq!((info.used_memory, info.max_memory, info.clients), (Some(1_048_576), Some(0), Some(3)));
        assert_eq!(info.keys, [(0, 10), (3, 2)]);
        assert_eq!(info.total_keys(), 12);
        assert_eq!(info.repl_offset, Some(1000));
        assert_eq!(
            info.replicas,
            [ReplicaLine {
                ip: "127.0.0.1".into(),
                port: 7003,
                state: "online".into(),
                offset: Some(900),
                lag: Some(0)
            }]
        );
    }

    #[test]
    fn a_replicas_info_is_read() {
        let info = NodeInfo::parse(
            "role:slave\r\nmaster_host:127.0.0.1\r\nmaster_port:7000\r\nmaster_link_status:down\r\n\
             master_link_down_since_seconds:4\r\nslave_repl_offset:77\r\nused_cpu_sys:nan\r\nused_cpu_user:1\r\n",
        );
        assert!(info.is_replica());
        assert_eq!(info.master, Some(("127.0.0.1".into(), 7000)));
        assert_eq!((info.master_link_up, info.master_link_down_seconds), (Some(false), Some(4)));
        assert_eq!(info.replica_offset, Some(77));
        assert_eq!(info.cpu_seconds, None, "a NaN is no figure");
    }

    #[test]
    fn garbage_is_no_figure() {
        let info = NodeInfo::parse("connected_clients:-1\r\nused_memory:lots\r\nrole\r\n\u{0}:\r\n");
        assert_eq!(info, NodeInfo::default());
    }

    fn bulk(text: &str) -> Frame {
        Frame::Bulk(text.as_bytes().to_vec())
    }

    #[test]
    fn slot_stats_are_read_in_both_protocols() {
        let resp2 = Frame::Array(vec![Frame::Array(vec![
            Frame::Integer(12182),
            Frame::Array(vec![
                bulk("key-count"),
                Frame::Integer(3),
                bulk("cpu-usec"),
                Frame::Integer(99),
                bulk("network-bytes-in"),
                Frame::Integer(51),
                bulk("network-bytes-out"),
                Frame::Integer(12),
                bulk("some-future-field"),
                Frame::Integer(1),
            ]),
        ])]);
        let expected = SlotStat { slot: 12182, keys: 3, cpu_usec: Some(99), net_in: Some(51), net_out: Some(12) };
        assert_eq!(slot_stats(&resp2), Some(vec![expected]));
        let resp3 = Frame::Array(vec![Frame::Array(vec![
            Frame::Integer(5),
            Frame::Map(vec![(bulk("key-count"), Frame::Integer(1))]),
        ])]);
        assert_eq!(slot_stats(&resp3), Some(vec![SlotStat { slot: 5, keys: 1, ..SlotStat::default() }]));
    }

    #[test]
    fn bad_slot_stats_are_refused() {
        assert_eq!(slot_stats(&Frame::Error(b"ERR unknown subcommand".to_vec())), None);
        let out_of_range = Frame::Array(vec![Frame::Array(vec![Frame::Integer(16384), Frame::Array(vec![])])]);
        assert_eq!(slot_stats(&out_of_range), None);
        assert_eq!(slot_stats(&Frame::Array(vec![Frame::Integer(1)])), None);
    }
}
