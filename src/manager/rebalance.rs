//! `rebalance` (docs/cluster-manager.md, "rebalance"): weights, the quiet check, the
//! balance arithmetic of [`plan::rebalance`], then `Moving n slots from … to …` and one
//! `#` per slot moved. rcli adds the pre-flight sizing, `--cluster-dry-run`, the journal
//! and `--cluster-resume`, and moves independent node pairs at the same time.

use std::ffi::OsString;

use super::execute::Ended;
use super::journal::Unit;
use super::mover::{Peer, Style};
use super::plan::{self, Rebalance, Weighted};
use super::{INVALID_HOST, Manager, check, host_arg, load, reshard};

/// `rebalance`.
pub fn run(m: &mut Manager, args: &[OsString]) -> bool {
    let Some(entry) = host_arg(args) else {
        m.usage_error(INVALID_HOST);
        return false;
    };
    if load::load(m, &entry).is_err() {
        return false;
    }
    if m.opts.resume || m.opts.abandon {
        return super::recover::resume(m);
    }
    let changes = !(m.opts.simulate || m.opts.dry_run);
    let Ok(_lock) = (if changes { super::lock::hold(m, "rebalance") } else { Ok(None) }) else { return false };
    for pair in m.opts.weights.clone().unwrap_or_default() {
        let Some((name, weight)) = pair.split_once('=') else {
            m.report.err(&format!("*** invalid input {pair}"));
            return false;
        };
        let Some(node) = m.cluster.by_prefix_mut(name) else {
            m.report.err(&format!("*** No such master node {name}"));
            return false;
        };
        node.weight = super::args::atof(weight) as f32;
    }
    let mut involved = Vec::new();
    for n in m.cluster.masters() {
        if n.replicate.is_some() {
            continue;
        }
        if !m.opts.use_empty_masters && n.slots.is_empty() {
            continue;
        }
        involved.push(Weighted { node: super::peer(n), slots: n.slots.iter().collect(), weight: n.weight });
    }
    check::check_cluster(m, true);
    if !m.errors.is_empty() {
        m.report.err("*** Please fix your cluster problems before rebalancing");
        return false;
    }
    if reshard::refuse_unfinished(m) {
        return false;
    }
    let outcome = plan::rebalance(&involved, m.opts.threshold as f32);
    let Rebalance::Moves { total_weight, balances, steps, short_table } = outcome else {
        m.report
            .warn(&format!("*** No rebalancing needed! All nodes are within the {:.2}% threshold.", m.opts.threshold));
        return true;
    };
    m.report.info(&format!(">>> Rebalancing across {} nodes. Total weight = {total_weight:.2}", involved.len()));
    if m.verbose {
        for (node, balance) in &balances {
            m.report.line(&format!("{} balance is {balance} slots", node.addr()));
        }
    }
    let header = |step: &plan::Step<Peer>| {
        format!("Moving {} slots from {} to {}", step.count, step.src.addr(), step.dst.addr())
    };
    let units: Vec<Unit> = steps
        .iter()
        .flat_map(|step| step.slots.iter().map(|&slot| Unit { slot, src: step.src.clone(), dst: step.dst.clone() }))
        .collect();
    if m.opts.simulate || m.opts.dry_run {
        for step in &steps {
            m.report.line(&header(step));
            if step.slots.len() as i64 != step.count {
                m.report.err("*** Assertion failed: Reshard table != number of slots");
                return false;
            }
            m.report.line(&"#".repeat(step.slots.len()));
        }
        if m.opts.dry_run {
            let Some(sizing) = super::preflight::checked(m, &units) else { return false };
            reshard::print_plan(m, "rebalance", &units, &sizing);
        }
        return true;
    }
    if m.opts.atomic && !reshard::atomic_supported(m, &units) {
        return false;
    }
    let Some(sizing) = super::preflight::checked(m, &units) else { return false };
    // Which step each group of moves belongs to, and where each step ends.
    let groups = super::execute::groups(&units, super::execute::group_size(m.opts.atomic));
    let mut group_step = Vec::new();
    let mut step = 0;
    let mut used = 0usize;
    for g in &groups {
        while steps.get(step).is_some_and(|s| used >= s.slots.len()) {
            step += 1;
            used = 0;
        }
        group_step.push(step);
        used += g.slots.len();
    }
    let mut printed_header: Option<usize> = None;
    let ended = reshard::execute_units(
        m,
        "rebalance",
        &units,
        &sizing,
        Style { cold: false, quiet: true },
        &mut |m, i, outcomes| {
            let step = group_step.get(i).copied().unwrap_or(0);
            if printed_header != Some(step) {
                if let Some(previous) = printed_header
                    && previous != step
                {
                    m.report.text("\n");
                }
                if let Some(current) = steps.get(step) {
                    m.report.line(&header(current));
                }
                printed_header = Some(step);
            }
            for outcome in outcomes {
                match &outcome.error {
                    None => m.report.text("#"),
                    Some(e) => {
                        let e = if e.is_empty() { "(null)" } else { e.as_str() };
                        super::execute::print_pieces(&mut m.report, &outcome.pieces);
                        // Atomic slot migration printed its own failure line.
                        if !m.opts.atomic {
                            m.report.err(&format!("*** clusterManagerMoveSlot: {e}"));
                        }
                    }
                }
            }
            m.report.flush();
        },
    );
    if ended == Ended::Done {
        m.report.text("\n");
    }
    if short_table {
        m.report.err("*** Assertion failed: Reshard table != number of slots");
        return false;
    }
    ended == Ended::Done
}
