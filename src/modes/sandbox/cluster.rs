//! A throwaway local cluster: formed by rcli itself (CLUSTER SET-CONFIG-EPOCH,
//! ADDSLOTSRANGE, MEET, REPLICATE — no redis-cli needed), waited on until every node
//! says `cluster_state:ok` and every replica is synced, and removed on drop. On servers
//! that have them ([`ClusterOptions`]), numbered databases (`cluster-databases`) and
//! availability zones (`availability-zone`, spread by [`zone_of`]).

use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::servers::{Listen, Server, call_text, spawn, temp_dir};
use crate::client::pool::LinkSettings;
use crate::cluster::slot::SLOTS;
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};

/// What a local cluster's nodes are started with beyond the sandbox's defaults.
#[derive(Debug, Clone, Default)]
pub struct ClusterOptions {
    /// How the nodes listen (address, TLS).
    pub listen: Listen,
    /// `cluster-databases N`: numbered databases 0..N in cluster mode (Valkey 9+).
    pub databases: Option<u32>,
    /// Every node is given an availability zone ([`zone_of`]; Valkey 8+ take the option,
    /// Valkey 9 announces it in CLUSTER SHARDS and SLOTS).
    pub zones: bool,
}

/// The availability zone of node `index` of a cluster of `primaries` primaries (primaries
/// first, then each row of replicas): three zones, `az-1` to `az-3`, turned by one for
/// each row, so a shard's nodes are in different zones as far as three go (with one
/// replica each: primary 1 in az-1 and its replica in az-2, primary 2 in az-2 and its
/// replica in az-3, …).
pub fn zone_of(index: usize, primaries: usize) -> String {
    let primaries = primaries.max(1);
    format!("az-{}", (index / primaries + index % primaries) % 3 + 1)
}

/// A local cluster of `primaries` primaries with `replicas` replicas each.
pub struct LocalCluster {
    pub nodes: Vec<Server>,
    pub ids: Vec<String>,
    pub primaries: usize,
    pub dir: PathBuf,
    /// How the nodes listen (address, TLS).
    pub listen: Listen,
    /// `cluster-databases` when the cluster was started with it.
    pub databases: Option<u32>,
    /// True when each node announces its zone ([`zone_of`]).
    pub zones: bool,
    link: LinkSettings,
}

impl LocalCluster {
    /// Starts and forms the cluster; waits (bounded) until it serves every slot.
    pub fn start(primaries: usize, replicas: usize) -> Result<LocalCluster> {
        LocalCluster::start_with(primaries, replicas, Listen::default())
    }

    /// [`LocalCluster::start`] with nodes listening as `listen` says (IPv6, TLS).
    pub fn start_with(primaries: usize, replicas: usize, listen: Listen) -> Result<LocalCluster> {
        LocalCluster::start_opts(primaries, replicas, ClusterOptions { listen, ..ClusterOptions::default() })
    }

    /// [`LocalCluster::start`] with the nodes started as `options` say.
    pub fn start_opts(primaries: usize, replicas: usize, options: ClusterOptions) -> Result<LocalCluster> {
        if primaries == 0 || primaries > 64 || replicas > 8 {
            return Err(Error::Usage("a sandbox needs 1-64 primaries and 0-8 replicas each".into()));
        }
        let dir = temp_dir("cluster")?;
        let ClusterOptions { listen, databases, zones } = options;
        let link = listen.link();
        let mut cluster =
            LocalCluster { nodes: Vec::new(), ids: Vec::new(), primaries, dir, listen, databases, zones, link };
        let databases_text = databases.map(|n| n.to_string());
        for index in 0..primaries * (1 + replicas) {
            let zone = zone_of(index, primaries);
            let mut extra: Vec<&str> = Vec::new();
            if let Some(count) = &databases_text {
                extra.extend(["--cluster-databases", count]);
            }
            if zones {
                extra.extend(["--availability-zone", &zone]);
            }
            cluster.nodes.push(spawn(&cluster.dir, true, &extra, &cluster.listen, &cluster.link)?);
        }
        cluster.form(replicas)?;
        Ok(cluster)
    }

    /// The zone node `index` was given, when the cluster has zones.
    pub fn zone(&self, index: usize) -> Option<String> {
        self.zones.then(|| zone_of(index, self.primaries))
    }

    /// True when node 0 announces its zone in CLUSTER SHARDS (Valkey 9; Valkey 8.1 takes
    /// the option and announces nothing).
    pub fn announces_zones(&self) -> bool {
        let endpoint = self.endpoint(0);
        self.call(0, &["CLUSTER", "SHARDS"])
            .ok()
            .and_then(|reply| {
                crate::cluster::topology::Topology::from_shards_via(&reply, &endpoint, self.listen.tls.is_some()).ok()
            })
            .is_some_and(|topology| topology.node(&endpoint).is_some_and(|me| me.zone.is_some()))
    }

    /// The address of node `index` (primaries first, then replicas).
    #[allow(clippy::indexing_slicing, reason = "a harness accessor: an index outside the cluster is the caller's bug")]
    pub fn endpoint(&self, index: usize) -> Endpoint {
        self.nodes[index].endpoint()
    }

    #[allow(clippy::indexing_slicing, reason = "a harness accessor: an index outside the cluster is the caller's bug")]
    pub fn port(&self, index: usize) -> u16 {
        self.nodes[index].port
    }

    /// How rcli's own calls reach the nodes (TLS settings included).
    pub fn link(&self) -> &LinkSettings {
        &self.link
    }

    /// Sends one command to node `index` (over TLS in a TLS cluster), bounded.
    pub fn call(&self, index: usize, argv: &[&str]) -> Result<crate::protocol::resp::Frame> {
        let node = self.nodes.get(index).ok_or_else(|| Error::Usage(format!("no node {index} in this cluster")))?;
        node.call(argv)
    }

    fn form(&mut self, replicas: usize) -> Result<()> {
        for (i, node) in self.nodes.iter().enumerate() {
            self.ids.push(call_text(node, &["CLUSTER", "MYID"])?);
            call_text(node, &["CLUSTER", "SET-CONFIG-EPOCH", &(i + 1).to_string()])?;
        }
        let per = SLOTS / self.primaries;
        for (i, primary) in self.nodes.iter().take(self.primaries).enumerate() {
            let start = i * per;
            let end = if i + 1 == self.primaries { SLOTS - 1 } else { start + per - 1 };
            call_text(primary, &["CLUSTER", "ADDSLOTSRANGE", &start.to_string(), &end.to_string()])?;
        }
        if let Some((first, others)) = self.nodes.split_first() {
            for node in others {
                call_text(first, &["CLUSTER", "MEET", &node.host, &node.port.to_string()])?;
            }
        }
        let total = self.nodes.len();
        self.wait("every node to know every other", Duration::from_secs(20), |c| {
            c.nodes.iter().all(|n| {
                call_text(n, &["CLUSTER", "NODES"])
                    .is_ok_and(|t| t.lines().filter(|l| !l.contains("handshake")).count() == total)
            })
        })?;
        // Replica `r` of primary `p` is node `primaries + r * primaries + p`.
        for (offset, replica) in self.nodes.iter().skip(self.primaries).take(replicas * self.primaries).enumerate() {
            if let Some(primary_id) = self.ids.get(offset % self.primaries) {
                call_text(replica, &["CLUSTER", "REPLICATE", primary_id])?;
            }
        }
        self.wait_until_healthy(Duration::from_secs(30))
    }

    /// Waits until every running node says `cluster_state:ok`, every running replica
    /// is synced with its primary, and every node knows every replica as one (until
    /// gossip spreads a CLUSTER REPLICATE, others list the replica as a slotless
    /// primary).
    pub fn wait_until_healthy(&self, limit: Duration) -> Result<()> {
        self.wait("the cluster to be ok with synced replicas", limit, |c| {
            let running: Vec<&Server> = c.nodes.iter().filter(|n| n.is_running()).collect();
            let mut replicas = 0;
            for n in &running {
                let ok = call_text(n, &["CLUSTER", "INFO"]).is_ok_and(|t| t.contains("cluster_state:ok"));
                let repl = call_text(n, &["INFO", "replication"]).unwrap_or_default();
                let replica = repl.contains("role:slave");
                if !ok || (replica && !repl.contains("master_link_status:up")) {
                    return false;
                }
                replicas += usize::from(replica);
            }
            running.iter().all(|n| {
                let nodes = call_text(n, &["CLUSTER", "NODES"]).unwrap_or_default();
                let known = nodes.lines().filter(|l| l.split(' ').nth(2).is_some_and(|f| f.contains("slave"))).count();
                known == replicas
            })
        })
    }

    fn wait(&self, what: &str, limit: Duration, done: impl Fn(&LocalCluster) -> bool) -> Result<()> {
        let deadline = Instant::now() + limit;
        while !done(self) {
            if Instant::now() > deadline {
                let logs: Vec<String> =
                    self.nodes.iter().map(|n| format!("--- {}:\n{}", n.port, n.log_tail())).collect();
                return Err(Error::Topology(format!("timed out waiting for {what}\n{}", logs.join("\n"))));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.kill();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::zone_of;

    #[test]
    fn zones_turn_by_one_per_row_of_replicas() {
        let zones: Vec<String> = (0..9).map(|i| zone_of(i, 3)).collect();
        assert_eq!(zones, ["az-1", "az-2", "az-3", "az-2", "az-3", "az-1", "az-3", "az-1", "az-2"]);
        assert_eq!(zone_of(0, 0), "az-1");
    }
}
