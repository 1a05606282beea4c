//! A throwaway local cluster: formed by rcli itself (CLUSTER SET-CONFIG-EPOCH,
//! ADDSLOTSRANGE, MEET, REPLICATE — no redis-cli needed), waited on until every node
//! says `cluster_state:ok` and every replica is synced, and removed on drop.

use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::servers::{Server, call_text, spawn, temp_dir};
use crate::cluster::slot::SLOTS;
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};

/// A local cluster of `primaries` primaries with `replicas` replicas each.
pub struct LocalCluster {
    pub nodes: Vec<Server>,
    pub ids: Vec<String>,
    pub primaries: usize,
    pub dir: PathBuf,
}

impl LocalCluster {
    /// Starts and forms the cluster; waits (bounded) until it serves every slot.
    pub fn start(primaries: usize, replicas: usize) -> Result<LocalCluster> {
        if primaries == 0 || primaries > 64 || replicas > 8 {
            return Err(Error::Usage("a sandbox needs 1-64 primaries and 0-8 replicas each".into()));
        }
        let dir = temp_dir("cluster")?;
        let mut cluster = LocalCluster { nodes: Vec::new(), ids: Vec::new(), primaries, dir };
        for _ in 0..primaries * (1 + replicas) {
            cluster.nodes.push(spawn(&cluster.dir, true, &[])?);
        }
        cluster.form(replicas)?;
        Ok(cluster)
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

    fn form(&mut self, replicas: usize) -> Result<()> {
        let endpoints: Vec<Endpoint> = self.nodes.iter().map(Server::endpoint).collect();
        for (i, endpoint) in endpoints.iter().enumerate() {
            self.ids.push(call_text(endpoint, &["CLUSTER", "MYID"])?);
            call_text(endpoint, &["CLUSTER", "SET-CONFIG-EPOCH", &(i + 1).to_string()])?;
        }
        let per = SLOTS / self.primaries;
        for (i, primary) in endpoints.iter().take(self.primaries).enumerate() {
            let start = i * per;
            let end = if i + 1 == self.primaries { SLOTS - 1 } else { start + per - 1 };
            call_text(primary, &["CLUSTER", "ADDSLOTSRANGE", &start.to_string(), &end.to_string()])?;
        }
        if let Some((first, others)) = endpoints.split_first() {
            for endpoint in others {
                if let Endpoint::Tcp { port, .. } = endpoint {
                    call_text(first, &["CLUSTER", "MEET", "127.0.0.1", &port.to_string()])?;
                }
            }
        }
        let total = endpoints.len();
        self.wait("every node to know every other", Duration::from_secs(20), |c| {
            c.nodes.iter().all(|n| {
                call_text(&n.endpoint(), &["CLUSTER", "NODES"])
                    .is_ok_and(|t| t.lines().filter(|l| !l.contains("handshake")).count() == total)
            })
        })?;
        // Replica `r` of primary `p` is node `primaries + r * primaries + p`.
        for (offset, replica) in endpoints.iter().skip(self.primaries).take(replicas * self.primaries).enumerate() {
            if let Some(primary_id) = self.ids.get(offset % self.primaries) {
                call_text(replica, &["CLUSTER", "REPLICATE", primary_id])?;
            }
        }
        self.wait_until_healthy(Duration::from_secs(30))
    }

    /// Waits until every running node says `cluster_state:ok` and every running replica
    /// is synced with its primary.
    pub fn wait_until_healthy(&self, limit: Duration) -> Result<()> {
        self.wait("the cluster to be ok with synced replicas", limit, |c| {
            c.nodes.iter().filter(|n| n.is_running()).all(|n| {
                let endpoint = n.endpoint();
                let ok = call_text(&endpoint, &["CLUSTER", "INFO"]).is_ok_and(|t| t.contains("cluster_state:ok"));
                let repl = call_text(&endpoint, &["INFO", "replication"]).unwrap_or_default();
                let synced = !repl.contains("role:slave") || repl.contains("master_link_status:up");
                ok && synced
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
