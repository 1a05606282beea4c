//! Throwaway local Redis servers: `rcli sandbox` and the test harness. Spawns
//! `redis-server` children (found on PATH) on free loopback ports in a temp directory,
//! forms a cluster itself (CLUSTER SET-CONFIG-EPOCH, ADDSLOTSRANGE, MEET, REPLICATE — no
//! redis-cli needed), waits for `cluster_state:ok` and synced replicas, and on drop
//! (normal exit, error or panic) kills every child and removes the directory.
//!
//! Ports and their cluster-bus ports (port + 10000) stay below 32768, out of the range
//! the kernel hands to outgoing connections.
//!
//! [`servers`] starts and stops single servers, [`cluster`] forms a cluster of them,
//! [`tls`] makes the certificates of a TLS sandbox (`rcli sandbox --tls`), [`watchdog`]
//! removes them if rcli dies without its usual clean-up. The lab the sandbox's shell
//! gets (`:kill`, `:pause`, … in `shell/meta/lab.rs`): [`lab`] owns the servers then,
//! [`process`] signals, stops and restarts one, [`watcher`] watches the cluster and
//! [`census`] words what changed. [`probe`] asks the server which options it takes
//! (`--databases`, availability zones). `rcli sandbox` itself, which opens rcli's shell on
//! such a cluster, is an entry of the front door (`front/sandbox.rs`).

mod bare;
pub mod census;
mod cluster;
pub mod lab;
pub mod probe;
pub mod process;
mod servers;
pub mod tls;
mod watchdog;
pub mod watcher;

pub use bare::BareNodes;
pub use cluster::{ClusterOptions, LocalCluster, zone_of};
pub use probe::server_accepts;
pub use servers::{
    Listen, Server, Standalone, Started, call, call_until, free_port, ipv6_available, redis_server_available, temp_dir,
};
