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
//! [`watchdog`] removes them if rcli dies without its usual clean-up; this file is
//! `rcli sandbox` itself.

mod cluster;
mod servers;
mod watchdog;

use clap::Parser;

pub use cluster::LocalCluster;
pub use servers::{Server, Standalone, call, free_port, redis_server_available};

/// `rcli sandbox` options.
#[derive(Debug, Parser)]
#[command(
    name = "rcli sandbox",
    about = "Start a throwaway local Redis Cluster and open rcli on it; everything is removed on exit."
)]
struct SandboxArgs {
    /// Number of primaries.
    #[arg(long, default_value_t = 3)]
    primaries: usize,
    /// Replicas per primary.
    #[arg(long, default_value_t = 1)]
    replicas: usize,
}

/// Runs `rcli sandbox`; returns the exit code.
pub fn main(args: &[std::ffi::OsString]) -> i32 {
    let parsed = match SandboxArgs::try_parse_from(
        std::iter::once(std::ffi::OsString::from("rcli sandbox")).chain(args.iter().cloned()),
    ) {
        Ok(parsed) => parsed,
        Err(e) => {
            let _ = e.print();
            return e.exit_code();
        }
    };
    if !redis_server_available() {
        crate::output::note(
            "redis-server was not found on PATH. Install it first: apt-get install redis-server (Debian/Ubuntu), brew install redis (macOS).",
        );
        return 1;
    }
    crate::output::note(&format!("starting {} primaries with {} replica(s) each…", parsed.primaries, parsed.replicas));
    let cluster = match LocalCluster::start(parsed.primaries, parsed.replicas) {
        Ok(cluster) => cluster,
        Err(e) => {
            crate::output::note(&format!("sandbox: {e}"));
            return 1;
        }
    };
    crate::output::note(&format!("cluster ready in {}:", cluster.dir.display()));
    for (i, node) in cluster.nodes.iter().enumerate() {
        let role = if i < cluster.primaries {
            "primary".to_string()
        } else {
            let primary = cluster.nodes.get((i - cluster.primaries) % cluster.primaries).map_or(0, |n| n.port);
            format!("replica of {primary}")
        };
        crate::output::note(&format!("  127.0.0.1:{}  {role}", node.port));
    }
    crate::output::note(
        "everything is stopped and removed when you leave the shell (quit, Ctrl-D, a closed terminal, a kill).",
    );
    let argv: Vec<std::ffi::OsString> =
        ["rcli", "-c", "-p", &cluster.port(0).to_string()].iter().map(Into::into).collect();
    let code = match crate::cli::Args::try_parse_from(argv)
        .map_err(|e| e.to_string())
        .and_then(|a| crate::cli::Config::from_args(a).map_err(|e| e.to_string()))
    {
        Ok(mut config) => {
            // The sandbox's servers have no password: whatever the environment holds
            // for other servers (REDISCLI_AUTH) does not apply to them.
            if config.state.auth.take().is_some() {
                crate::output::note("sandbox: REDISCLI_AUTH is ignored (the sandbox's servers have no password)");
            }
            crate::run::run(config)
        }
        Err(e) => {
            crate::output::note(&format!("sandbox: {e}"));
            1
        }
    };
    drop(cluster);
    code
}
