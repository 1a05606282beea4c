//! rcli's integration tests: one binary, real `redis-server` processes started per test
//! on free loopback ports, and the real `rcli` binary driven like a user would.

/// The harness: servers, a hermetic rcli command, deadlines.
mod util;

/// Cluster mode against real 3+3 clusters.
mod cluster;
/// One node: one-shot, piped lines, options, errors and exit codes.
mod core;
/// A corpus of command lines through rcli and redis-cli, byte for byte.
mod differential;
/// A scripted fake server for what a real one cannot be made to do.
mod fake;
/// Faults a real server cannot produce: garbage bytes, a reply cut mid-frame.
mod faults;
/// The cluster manager's side-by-side harness (redis-cli 7.0.15 vs `rcli --cluster`).
mod manager;
/// `create`, `info`, `check`, `call`, `help` and argument edge cases, side by side.
mod manager_create;
/// fix of open slots, BUSYKEY, unreachable masters and orphan keys, side by side.
mod manager_fix;
/// backup, set-timeout, import, del-node of a failed node, dry-run and JSON.
mod manager_ops;
/// Refusals before data loss, and --cluster-abandon.
mod manager_refusals;
/// add-node, rebalance, del-node and a big reshard, side by side.
mod manager_reshard;
/// kill -9 of a reshard at seven points, then --cluster-resume or --cluster fix.
mod manager_resume;
/// Dead and frozen primaries: one bounded wait, every piped line answered.
mod outages;
/// Piped input in cluster mode: pipelining, faults mid-run, `--pipe`.
mod pipeline;
/// The interactive shell in a pseudo-terminal.
mod pty;
/// Timeouts that never shift replies, least-privilege users, partial split writes,
/// Ctrl-C everywhere, hop lines before blocking.
mod resilience;
