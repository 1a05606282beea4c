//! rcli's integration tests: one binary, real `redis-server` processes started per test
//! on free loopback ports, and the real `rcli` binary driven like a user would.

/// The harness: servers, a hermetic rcli command, deadlines.
mod util;

/// Cluster mode against real 3+3 clusters.
mod cluster;
/// `rcli consistency-test` against 3+3 and replica-less clusters, its figures checked
/// against the counters' final values.
mod consistency;
/// The shell's conveniences in a pseudo-terminal: confirmation, `| command`, `peek`, the
/// pager, key completion.
mod conveniences;
/// One node: one-shot, piped lines, options, errors and exit codes.
mod core;
/// The diagnostic modes with -c on a real 3+3 cluster.
mod diag_cluster;
/// What the diagnostic-mode tests share.
mod diag_harness;
/// --bigkeys, --memkeys, --hotkeys beside redis-cli.
mod diag_keys;
/// --keystats against what the server answers; key scans with -c -n N (Valkey 9).
mod diag_keystats;
/// --stat, the latency family, --intrinsic-latency, --lru-test beside redis-cli.
mod diag_stat;
/// A corpus of command lines through rcli and redis-cli, byte for byte.
mod differential;
/// A scripted fake server for what a real one cannot be made to do.
mod fake;
/// A scripted fake cluster of hundreds of nodes in this one process (one port each).
mod fake_cluster;
/// Faults a real server cannot produce: garbage bytes, a reply cut mid-frame.
mod faults;
/// Careless input: options out of range, unwritable output, pastes, sandbox signals.
mod hardening;
/// Hostile servers: escapes, poisoned tables, impossible numbers, redirect loops.
mod hostile;
/// redis-cli's input and script options and `help`, side by side with redis-cli.
mod inputs;
/// Every `--json` shape (docs/json.md) against the node's own reply.
mod json_shapes;
/// The sandbox lab in a pseudo-terminal: :kill, :stop, :restart, :pause, :failover,
/// :consistency; refused outside the sandbox.
mod lab;
/// The sandbox's guided lessons (`--lesson hash-tags|failover`) in a pseudo-terminal.
mod lessons;
/// The cluster manager's side-by-side harness (redis-cli 7.0.15 vs `rcli --cluster`).
mod manager;
/// `--cluster-use-atomic-slot-migration` (Valkey 9.1): reshard, rebalance, resume, abandon.
mod manager_atomic;
/// `create`, `info`, `check`, `call`, `help` and argument edge cases, side by side.
mod manager_create;
/// The manager on numbered databases (Valkey 9): every database's keys survive.
mod manager_databases;
/// fix of open slots, BUSYKEY, unreachable masters and orphan keys, side by side.
mod manager_fix;
/// backup, set-timeout, import, del-node of a failed node, dry-run and JSON.
mod manager_ops;
/// The manager attacked: stale journals, two operators, dead and forgotten targets.
mod manager_races;
/// Refusals before data loss, and --cluster-abandon.
mod manager_refusals;
/// add-node, rebalance, del-node and a big reshard, side by side.
mod manager_reshard;
/// kill -9 of a reshard at seven points, then --cluster-resume or --cluster fix.
mod manager_resume;
/// info and call through an entry node whose view missed a failover.
mod manager_stale_view;
/// Merged SLOWLOG, COMMANDLOG, LATENCY LATEST, CLIENT LIST and INFO of every primary
/// against each node's own replies; the shell's `:use` and `:set merge` in a pty.
mod merged;
/// The options redis-cli and valkey-cli gained after 7.0, against real servers.
mod newer_options;
/// One-shots in cluster mode: one start-up exchange, the slot map cached on disk.
mod oneshot_cache;
/// Dead and frozen primaries: one bounded wait, every piped line answered.
mod outages;
/// `rcli completions SHELL` (run in bash) and `rcli man` (rendered by man).
mod packaging;
/// `--parallel N`: bounds, and the same answers one job at a time.
mod parallel;
/// Piped input in cluster mode: pipelining, faults mid-run, `--pipe`.
mod pipeline;
/// The interactive shell in a pseudo-terminal.
mod pty;
/// Silent where redis-cli is silent: every one-shot mode's stderr beside redis-cli's,
/// byte for byte; usage errors in redis-cli's words.
mod quiet;
/// Where --rdb and --cluster backup write: hostile node ids and hosts, cut transfers.
mod rdb_files;
/// SUBSCRIBE-like commands and MONITOR refused by the server end like redis-cli's.
mod refused_streams;
/// Timeouts that never shift replies, least-privilege users, partial split writes,
/// Ctrl-C everywhere, hop lines before blocking.
mod resilience;
/// Hundreds of nodes (the fake cluster): fan-out and `--cluster check` answer right
/// with the threads and descriptors of the rcli process bounded.
mod scale;
/// The Lua debugger, RESP3 pushes and subscribed mode in a pseudo-terminal.
mod shell_modes;
/// TLS: certificates, client certificates, clear failures, `rediss://`.
mod tls;
/// TLS clusters in every mode, announced hostnames, the address map, IPv6.
mod tls_cluster;
/// `rcli top`: --once --json against each node's INFO, TLS and the address map, the
/// live view in a pseudo-terminal through a kill -9 and a SIGSTOP.
mod top;
/// --rdb, --functions-rdb and --replica beside redis-cli.
mod transfers;
/// Cluster-wide MONITOR and keyspace notifications with -c: labels, failovers, a slow
/// reader's bounded memory, no duplicates, the notify-keyspace-events hint.
mod watch;
/// Availability zones (`--az` reads checked on each replica) and numbered databases in
/// cluster mode (`-n`/SELECT with `-c`, `:nodes`, `:map`, `sandbox --databases`).
mod zones_databases;
