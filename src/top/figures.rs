//! Figures a frame computes from its nodes: how far a replica is behind its primary,
//! and the cluster's totals. Pure.

use super::rates;
use super::sample::NodeInfo;
use super::view::{Lag, NodeView, ShardView, Totals};
use crate::endpoint::Endpoint;

/// How far `replica` is behind: offsets from both nodes' INFO of this round, the
/// acknowledgement age from the primary's line for it.
pub fn lag(replica: &Endpoint, own: Option<&NodeInfo>, primary: Option<&NodeInfo>) -> Lag {
    let bytes =
        primary.and_then(|p| p.repl_offset).zip(own.and_then(|r| r.replica_offset)).map(|(p, r)| p.saturating_sub(r));
    let line = primary.and_then(|p| {
        let (host, port) = match replica {
            Endpoint::Tcp { host, port } => (host.as_str(), *port),
            Endpoint::Unix(_) => return None,
        };
        let exact = p.replicas.iter().find(|l| l.ip == host && l.port == port);
        let mut same_port = p.replicas.iter().filter(|l| l.port == port);
        exact.or_else(|| same_port.next().filter(|_| same_port.next().is_none()))
    });
    Lag {
        bytes,
        seconds: line.and_then(|l| l.lag),
        link_up: own.and_then(|r| r.master_link_up),
        down_for: own.filter(|r| r.master_link_up == Some(false)).and_then(|r| r.master_link_down_seconds),
    }
}

/// Sums over the nodes that answered; keys over primaries only.
pub fn totals(shards: &[ShardView]) -> Totals {
    let nodes: Vec<&NodeView> = shards.iter().flat_map(|s| s.nodes.iter()).collect();
    let answering: Vec<&&NodeView> = nodes.iter().filter(|n| n.link.answering()).collect();
    let add = |f: fn(&NodeInfo) -> Option<u64>, primaries: bool| {
        answering
            .iter()
            .filter(|n| !primaries || n.primary)
            .filter_map(|n| n.info.as_ref().and_then(f))
            .fold(0u64, u64::saturating_add)
    };
    Totals {
        nodes: nodes.len(),
        answering: answering.len(),
        ops: rates::sum(answering.iter().map(|n| n.rates.ops)),
        input: rates::sum(answering.iter().map(|n| n.rates.input)),
        output: rates::sum(answering.iter().map(|n| n.rates.output)),
        cpu: rates::sum(answering.iter().map(|n| n.rates.cpu)),
        used_memory: add(|i| i.used_memory, false),
        keys: add(|i| Some(i.total_keys()), true),
        clients: add(|i| i.clients, false),
    }
}
