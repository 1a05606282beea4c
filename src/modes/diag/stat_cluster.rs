//! `--stat -c`, an rcli addition (docs/compatibility.md): every interval, INFO from
//! every primary (or the `--target` set), `--parallel` nodes at once
//! (client/workers.rs), and one line of cluster totals — keys, memory, clients, blocked
//! clients, ops/s and network in/out (the nodes' `instantaneous_*` figures, summed
//! exactly) and child processes; `-v` adds a row per node above each total (past
//! [`ROWS_SHOWN`] nodes: the busiest and those in error, and one row adding up the rest). A node that does not answer is named (its row,
//! or a note on stderr) and left out of the total, whose label then says how many
//! nodes it adds up (`total 2/3`); the slot map is reloaded so a failover shows up.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use super::format::bytes_to_human;
use super::nodes::{Node, NodePools, Stop, exit_code, pause, reply_wait, selected, write};
use super::stat::{HEADER_EVERY, NodeStat, child_label};
use crate::client::pool::Pool;
use crate::client::workers;
use crate::cluster::target::Target;
use crate::error::Error;
use crate::exit::Exit;
use crate::protocol::resp::Frame;
use crate::session::Session;

/// The columns after the row label: name and width (a space included).
const COLUMNS: [(&str, usize); 8] = [
    ("keys", 11),
    ("mem", 9),
    ("clients", 8),
    ("blocked", 8),
    ("ops/s", 9),
    ("in KB/s", 11),
    ("out KB/s", 11),
    ("child", 0),
];

/// One node's answer this interval.
pub type Sample = Result<NodeStat, String>;

/// The header line, with the row labels `label_width` wide.
pub fn header(label_width: usize) -> String {
    let names: Vec<String> = COLUMNS.iter().map(|(name, _)| name.to_string()).collect();
    format!("{}\n", row("node", label_width, &names))
}

fn row(label: &str, label_width: usize, cells: &[String]) -> String {
    let mut line = format!("{label:<label_width$}");
    for (cell, (_, width)) in cells.iter().zip(COLUMNS.iter()) {
        line.push_str(&format!("{cell:<width$}"));
        if cell.len() >= *width && *width > 0 {
            line.push(' ');
        }
    }
    line.trim_end().to_string()
}

fn kbps(centi: i64) -> String {
    let sign = if centi < 0 { "-" } else { "" };
    let centi = centi.unsigned_abs();
    format!("{sign}{}.{:02}", centi / 100, centi % 100)
}

fn cells(stat: &NodeStat, child: String) -> Vec<String> {
    vec![
        stat.keys.to_string(),
        bytes_to_human(stat.used_memory),
        stat.clients.to_string(),
        stat.blocked.to_string(),
        stat.ops.to_string(),
        kbps(stat.input_centi_kbps),
        kbps(stat.output_centi_kbps),
        child,
    ]
}

/// A node's row.
pub fn node_row(label: &str, label_width: usize, sample: &Sample) -> String {
    match sample {
        Ok(stat) => format!("{}\n", row(label, label_width, &cells(stat, child_label(stat.child).to_string()))),
        Err(error) => format!("{label:<label_width$}error: {error}\n"),
    }
}

/// Up to this many nodes, `-v` shows a row for each.
pub const ROWS_SHOWN: usize = 12;

/// `-v`'s rows: every node's, up to [`ROWS_SHOWN`] nodes; past that, in node order,
/// those of the busiest nodes (ops/s) and of every node in error, then a row adding up
/// the others (`+138 more`).
pub fn node_rows(nodes: &[Node], label_width: usize, samples: &[Sample]) -> String {
    let rows = nodes.iter().zip(samples);
    if nodes.len() <= ROWS_SHOWN {
        return rows.map(|(node, sample)| node_row(&node.endpoint.to_string(), label_width, sample)).collect();
    }
    let mut busiest: Vec<(usize, i64)> =
        samples.iter().enumerate().filter_map(|(i, s)| s.as_ref().ok().map(|stat| (i, stat.ops))).collect();
    busiest.sort_by_key(|&(i, ops)| (std::cmp::Reverse(ops), i));
    let busiest: Vec<usize> = busiest.into_iter().take(ROWS_SHOWN).map(|(i, _)| i).collect();
    let mut text = String::new();
    let mut rest: Vec<Sample> = Vec::new();
    for (index, (node, sample)) in rows.enumerate() {
        if sample.is_err() || busiest.contains(&index) {
            text.push_str(&node_row(&node.endpoint.to_string(), label_width, sample));
        } else {
            rest.push(sample.clone());
        }
    }
    if !rest.is_empty() {
        text.push_str(&summed_row(&format!("+{} more", rest.len()), label_width, &rest));
    }
    text
}

/// The total row over the nodes that answered; its child cell counts the nodes per
/// kind of child process (`SAVE:2 LOAD:1`).
pub fn total_row(label_width: usize, samples: &[Sample]) -> String {
    let answered = samples.iter().filter(|s| s.is_ok()).count();
    let label =
        if answered == samples.len() { "total".to_string() } else { format!("total {answered}/{}", samples.len()) };
    summed_row(&label, label_width, samples)
}

/// A row labelled `label` adding up the nodes of `samples` that answered.
fn summed_row(label: &str, label_width: usize, samples: &[Sample]) -> String {
    let answered: Vec<&NodeStat> = samples.iter().filter_map(|s| s.as_ref().ok()).collect();
    let add = |f: fn(&NodeStat) -> i64| answered.iter().map(|s| f(s)).fold(0i64, i64::saturating_add);
    let total = NodeStat {
        keys: add(|s| s.keys),
        used_memory: add(|s| s.used_memory),
        clients: add(|s| s.clients),
        blocked: add(|s| s.blocked),
        commands: add(|s| s.commands),
        connections: add(|s| s.connections),
        child: 0,
        ops: add(|s| s.ops),
        input_centi_kbps: add(|s| s.input_centi_kbps),
        output_centi_kbps: add(|s| s.output_centi_kbps),
    };
    let children: Vec<String> = [1, 2, 3, 4]
        .iter()
        .filter_map(|&bits| {
            let n = answered.iter().filter(|s| s.child == bits).count();
            (n > 0).then(|| format!("{}:{n}", child_label(bits)))
        })
        .collect();
    format!("{}\n", row(label, label_width, &cells(&total, children.join(" "))))
}

/// The width of the label column for these nodes.
pub fn label_width(nodes: &[Node]) -> usize {
    nodes.iter().map(|n| n.endpoint.to_string().len()).chain(["total 00/00".len()]).max().unwrap_or(0) + 2
}

/// INFO from every node, `--parallel` at once, none started after Ctrl-C; a node's
/// connection stays open for the next round only as [`NodePools::keep_open`] says.
fn sample(pools: &mut [Pool], nodes: &[Node], wait: Option<Duration>, maker: &NodePools) -> Result<Vec<Sample>, Stop> {
    let keep_open = maker.keep_open(nodes.len());
    let jobs: Vec<(&mut Pool, &Node)> = pools.iter_mut().zip(nodes).collect();
    let replies: Vec<Result<Frame, Error>> =
        workers::run_each(jobs, maker.width(), Some(maker.flag()), |_, (pool, node)| {
            let reply = pool.request(&node.endpoint, &["INFO"], wait);
            if !keep_open {
                pool.close(&node.endpoint);
            }
            reply
        })
        .into_iter()
        // A job not started: Ctrl-C.
        .map(|reply| reply.unwrap_or(Err(Error::Interrupted)))
        .collect();
    if replies.iter().any(|r| matches!(r, Err(Error::Interrupted))) {
        return Err(Stop::Interrupted);
    }
    Ok(replies
        .into_iter()
        .map(|reply| match reply {
            Ok(frame) => match frame.as_error() {
                Some(error) => Err(String::from_utf8_lossy(error).into_owned()),
                None => Ok(NodeStat::from_info(frame.as_bytes().unwrap_or_default())),
            },
            Err(error) => Err(crate::error::os_message_of(&error)),
        })
        .collect())
}

/// `--stat -c` until Ctrl-C (exit 130) or a closed stdout.
pub fn run(
    session: &mut Session,
    mut nodes: Vec<Node>,
    target: &Target,
    interval: Duration,
    verbose: bool,
    flag: &Arc<AtomicBool>,
) -> Exit {
    let interval = if interval.is_zero() { Duration::from_secs(1) } else { interval };
    let wait = reply_wait(session);
    let maker = NodePools::of(session, flag);
    let mut pools: Vec<Pool> = nodes.iter().map(|n| maker.make(n)).collect();
    let mut width = label_width(&nodes);
    let mut lines = 0u64;
    let mut failing: Vec<bool> = vec![false; nodes.len()];
    loop {
        let samples = match sample(&mut pools, &nodes, wait, &maker) {
            Ok(samples) => samples,
            Err(stop) => return exit_code(&mut session.printer, stop),
        };
        let mut text = String::new();
        if lines.is_multiple_of(HEADER_EVERY) {
            text.push_str(&header(width));
        }
        lines += 1;
        if verbose {
            text.push_str(&node_rows(&nodes, width, &samples));
        }
        text.push_str(&total_row(width, &samples));
        if let Err(stop) = write(&mut session.printer, &text) {
            return exit_code(&mut session.printer, stop);
        }
        for ((node, sample), was_failing) in nodes.iter().zip(&samples).zip(failing.iter_mut()) {
            match (sample, *was_failing) {
                (Err(error), false) if !verbose => {
                    session.printer.note(&format!("{}: {error} (left out of the totals)", node.endpoint));
                }
                (Ok(_), true) if !verbose => session.printer.note(&format!("{}: answers again", node.endpoint)),
                _ => {}
            }
            *was_failing = sample.is_err();
        }
        if let Some(failed) = nodes.iter().zip(&samples).find(|(_, s)| s.is_err()).map(|(n, _)| n.endpoint.clone()) {
            // A failover gives the shard a new primary: follow the slot map.
            session.client.reload_after_failure(Some(&failed), &mut Vec::new());
            if let Some(now) = selected(session, target).filter(|now| !now.is_empty() && *now != nodes) {
                pools = now.iter().map(|n| maker.make(n)).collect();
                failing = vec![false; now.len()];
                nodes = now;
                width = label_width(&nodes);
                lines = 0;
            }
        }
        if !pause(interval, flag) {
            return exit_code(&mut session.printer, Stop::Interrupted);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(keys: i64, memory: i64, ops: i64, input: i64, child: i64) -> NodeStat {
        NodeStat {
            keys,
            used_memory: memory,
            clients: 2,
            blocked: 1,
            ops,
            input_centi_kbps: input,
            output_centi_kbps: input * 10,
            child,
            ..NodeStat::default()
        }
    }

    #[test]
    fn totals_add_up_the_nodes_that_answered() {
        let samples =
            vec![Ok(stat(10, 2048, 5, 31, 0)), Ok(stat(20, 1024, 7, 99, 1)), Err("Connection refused".into())];
        let width = 17;
        assert_eq!(
            header(width),
            "node             keys       mem      clients blocked ops/s    in KB/s    out KB/s   child\n"
        );
        assert_eq!(
            node_row("127.0.0.1:7000", width, &samples[0]),
            "127.0.0.1:7000   10         2.00K    2       1       5        0.31       3.10\n"
        );
        assert_eq!(node_row("127.0.0.1:7002", width, &samples[2]), "127.0.0.1:7002   error: Connection refused\n");
        assert_eq!(
            total_row(width, &samples),
            "total 2/3        30         3.00K    4       2       12       1.30       13.00      SAVE:1\n"
        );
        assert!(total_row(width, &samples[..2]).starts_with("total            30 "));
    }

    #[test]
    fn past_a_dozen_nodes_verbose_shows_the_busiest_and_adds_up_the_rest() {
        let nodes: Vec<Node> = (0..40)
            .map(|i| Node { endpoint: crate::endpoint::Endpoint::tcp("127.0.0.1", 7000 + i), replica: false })
            .collect();
        let mut samples: Vec<Sample> = (0..40).map(|i| Ok(stat(1, 1024, i, 0, 0))).collect();
        samples[0] = Err("Connection refused".into());
        let width = label_width(&nodes);
        let text = node_rows(&nodes, width, &samples);
        assert_eq!(text.lines().count(), 12 + 1 + 1, "{text}");
        assert!(text.starts_with("127.0.0.1:7000  error: Connection refused\n"), "{text}");
        assert!(
            text.contains("127.0.0.1:7039 ") && text.contains("127.0.0.1:7028 ") && !text.contains("127.0.0.1:7027 ")
        );
        let rest: i64 = (1..28).sum();
        assert!(text.lines().last().unwrap_or_default().starts_with("+27 more"), "{text}");
        assert!(text.lines().last().unwrap_or_default().contains(&format!(" {rest} ")), "{text}");
        assert_eq!(node_rows(&nodes[..3], width, &samples[..3]).lines().count(), 3);
    }

    #[test]
    fn wide_cells_stay_apart() {
        let big = NodeStat { keys: 123_456_789_012, ..NodeStat::default() };
        let line = node_row("n", 3, &Ok(big));
        assert!(line.starts_with("n  123456789012 0B"), "{line}");
        assert_eq!(line.split_whitespace().count(), 8);
    }
}
