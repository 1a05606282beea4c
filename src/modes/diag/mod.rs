//! The diagnostic modes (issue 14), each as redis-cli 7.0.15 runs it on one node
//! (docs/redis-cli-modes.md, sections 4-6) and, with `-c`, over every primary (or the
//! `--target` set) at once, a thread per node with a pool of its own
//! (docs/compatibility.md lists what rcli adds or does differently):
//! * [`stat`], [`stat_cluster`]: `--stat`;
//! * [`latency`], [`latency_cluster`], [`spectrum`]: `--latency`, `--latency-history`,
//!   `--latency-dist`;
//! * [`bigkeys`], [`bigkeys_cluster`], [`keystats`], [`progress`]: `--bigkeys`,
//!   `--memkeys`, `--hotkeys` (one SCAN walk);
//! * [`keysizes_run`], [`keysizes`], [`keysizes_text`], [`hdr`]: `--keystats` (redis-cli
//!   7.4's report, on the same walk);
//! * [`lru`]: `--lru-test`; [`intrinsic`]: `--intrinsic-latency`;
//! * [`format`]: numbers as redis-cli's printf prints them; [`nodes`]: what the modes
//!   share (the nodes, pools, Ctrl-C, pauses, reconnecting).
//!
//! Ctrl-C ends every mode within 100 ms: the key scans and `--intrinsic-latency` print
//! their (partial) report and exit 0 as redis-cli does; the others, which redis-cli
//! leaves to die of the signal, flush and exit 130.

pub mod bigkeys;
pub mod bigkeys_cluster;
pub mod format;
pub mod hdr;
pub mod intrinsic;
pub mod keysizes;
pub mod keysizes_run;
pub mod keysizes_text;
pub mod keystats;
pub mod latency;
pub mod latency_cluster;
pub mod lru;
pub mod nodes;
pub mod percentiles;
pub mod preflight;
pub mod progress;
pub mod sections;
pub mod spectrum;
pub mod stat;
pub mod stat_cluster;

use crate::cli::Config;
use crate::cli::diagnostics::{Diagnostic, KeyScan};
use crate::exit::Exit;
use crate::session::Session;

/// SCAN's COUNT for a key scan with `-c` when `--count` is not given: fewer, fuller
/// pages (the single-node scan keeps redis-cli's server default, so that its output
/// matches redis-cli's byte for byte).
pub const CLUSTER_SCAN_COUNT: u64 = 100;

/// Runs `diagnostic`; returns the exit code.
pub fn run(session: &mut Session, config: &Config, diagnostic: &Diagnostic) -> Exit {
    let flag = nodes::catch_ctrl_c(session);
    if let Diagnostic::IntrinsicLatency { seconds } = diagnostic {
        return intrinsic::run(&mut session.printer, *seconds, &flag);
    }
    if !session.connect_and_report() || select_refused(session, config) {
        return Exit::Failure;
    }
    if session.client.topology().is_some() {
        // Every wait of a mode's run is bounded by the budget: learned before it starts.
        session.client.learn_budget_now();
    }
    let cluster = nodes::selected(session, &config.target);
    if cluster.as_ref().is_some_and(Vec::is_empty) {
        session
            .printer
            .note(&format!("no node to work on: the slot map has none for --target {}", config.target.describe()));
        return Exit::Failure;
    }
    let interval = config.interval;
    let latency = matches!(diagnostic, Diagnostic::Latency | Diagnostic::LatencyHistory);
    if latency && cluster.is_some() && !config.latency_percentiles.is_empty() {
        session.printer.note("--latency-percentiles is not available with -c yet: use it on one node");
        return Exit::Usage;
    }
    match (diagnostic, cluster) {
        (Diagnostic::Stat, None) => stat::run(session, interval, &flag),
        (Diagnostic::Stat, Some(nodes)) => {
            stat_cluster::run(session, nodes, &config.target, interval, config.verbose, &flag)
        }
        (Diagnostic::Latency | Diagnostic::LatencyHistory, None) => {
            let history = *diagnostic == Diagnostic::LatencyHistory;
            latency::run(session, history, interval, &config.latency_percentiles, &flag)
        }
        (Diagnostic::LatencyDist { mono }, None) => latency::run_dist(session, palette(*mono), interval, &flag),
        (Diagnostic::Latency | Diagnostic::LatencyHistory | Diagnostic::LatencyDist { .. }, Some(nodes)) => {
            let mono = matches!(diagnostic, Diagnostic::LatencyDist { mono: true });
            latency_cluster::run(session, nodes, diagnostic, palette(mono), interval, &flag)
        }
        (Diagnostic::Keys(scan), cluster) => {
            let settings = bigkeys::ScanSettings {
                scan: *scan,
                pattern: config.scan_pattern.clone(),
                count: config.scan_count.or(cluster.is_some().then_some(CLUSTER_SCAN_COUNT)),
                interval,
                wait: nodes::reply_wait(session),
                hot_slots: config.hotkeys_count,
                cursor: if matches!(scan, KeyScan::Stats { .. }) { config.scan_cursor } else { 0 },
                top: config.keystats_top,
            };
            match (cluster, scan) {
                (Some(nodes), KeyScan::Stats { .. }) => keysizes_run::run_cluster(session, nodes, &settings, &flag),
                (None, KeyScan::Stats { .. }) => keysizes_run::run(session, &settings, &flag),
                (Some(nodes), _) => bigkeys_cluster::run(session, nodes, &settings, &flag),
                (None, _) => bigkeys::run(session, &settings, &flag),
            }
        }
        (Diagnostic::LruTest { keys }, _) => lru::run(session, *keys, &flag),
        (Diagnostic::IntrinsicLatency { .. }, _) => Exit::Success,
    }
}

/// redis-cli starts these modes only when its SELECT of `-n N` succeeds: a refused SELECT
/// (a database the server does not have, or `-n` with `-c` on a cluster without numbered
/// databases) ends the run with exit 1 after its `SELECT N failed: …` line, instead of
/// scanning or measuring database 0.
pub fn select_refused(session: &mut Session, config: &Config) -> bool {
    session.client.pool().state().db != config.state.db
}

fn palette(mono: bool) -> &'static [u8] {
    if mono { spectrum::MONO_PALETTE } else { spectrum::COLOR_PALETTE }
}
