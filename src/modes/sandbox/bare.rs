//! `rcli sandbox --bare N`: N empty cluster-enabled servers that know nothing of each
//! other, each started from a config file of its own (so `set-timeout`'s CONFIG REWRITE
//! works), for the tutorial's `rcli --cluster create` step and for tests that compare
//! the cluster manager with redis-cli's. Killed and removed on drop.

use std::fs;
use std::path::PathBuf;

use super::servers::{Server, spawn_configured, temp_dir};
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};

/// Unjoined cluster nodes.
pub struct BareNodes {
    pub nodes: Vec<Server>,
    pub dir: PathBuf,
}

impl BareNodes {
    /// Starts `count` nodes; `extra` config lines go to every node.
    pub fn start(count: usize, extra: &[&str]) -> Result<BareNodes> {
        if count == 0 || count > 64 {
            return Err(Error::Usage("a bare sandbox has 1-64 nodes".into()));
        }
        let dir = temp_dir("bare")?;
        let mut bare = BareNodes { nodes: Vec::new(), dir };
        for _ in 0..count {
            bare.nodes.push(spawn_configured(&bare.dir, extra)?);
        }
        Ok(bare)
    }

    #[allow(clippy::indexing_slicing, reason = "a harness accessor: an index outside the nodes is the caller's bug")]
    pub fn endpoint(&self, index: usize) -> Endpoint {
        self.nodes[index].endpoint()
    }

    #[allow(clippy::indexing_slicing, reason = "a harness accessor: an index outside the nodes is the caller's bug")]
    pub fn port(&self, index: usize) -> u16 {
        self.nodes[index].port
    }

    /// `127.0.0.1:<port>` of every node, in order.
    pub fn addrs(&self) -> Vec<String> {
        self.nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)).collect()
    }

    /// The config file of node `index`.
    #[allow(clippy::indexing_slicing, reason = "a harness accessor: an index outside the nodes is the caller's bug")]
    pub fn config_file(&self, index: usize) -> PathBuf {
        self.dir.join(format!("{}.conf", self.nodes[index].port))
    }
}

impl Drop for BareNodes {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.kill();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}
