//! `--keystats` (`--keystats-samples N`, `--top N`, `--cursor N`) on the session's node
//! as redis-cli 7.4 runs it (docs/redis-cli-modes.md, section 6.4): READONLY on a
//! replica, DBSIZE, the banner, the SCAN walk of [`super::bigkeys::walk`] from
//! `--cursor`, on a terminal the head of the report redrawn every 300 ms, then the
//! report; after Ctrl-C the partial report and the cursor to go on from.
//!
//! With `-c` (an rcli addition, docs/compatibility.md): every primary (or the
//! `--target` set) walked, `--parallel` nodes at once (client/workers.rs), a pool per
//! node; the report has a section per node (redis-cli's report for that node; shared
//! or summed up past a dozen nodes, [`super::sections`]) and the cluster's summary,
//! whose keys name their node. `--cursor` belongs to one node's SCAN, so with `-c` it
//! needs a run on one node (`--target HOST:PORT`); an interrupted node's section says
//! how to go on with it.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use super::bigkeys::{End, NodeScan, Page, ScanSettings, walk};
use super::bigkeys_cluster::{Message, about, node_sizes, not_scanned, scan_every_node};
use super::keysizes::KeySizes;
use super::keysizes_text::{self, BANNER, Figures};
use super::keystats::{self, KeyStats};
use super::nodes::{Node, NodePools};
use super::preflight::{dbsize, read_on_replica};
use super::progress::Progress;
use super::sections::{self, NodeSection};
use crate::exit::Exit;
use crate::session::Session;

/// How often a terminal's report head is redrawn during the scan.
const REDRAW_EVERY: Duration = Duration::from_millis(300);

/// redis-cli's `IS_TTY_OR_FAKETTY()`: stdout is a terminal, or `FAKETTY` is set.
fn terminal() -> bool {
    std::io::stdout().is_terminal() || std::env::var_os("FAKETTY").is_some()
}

fn figures<'a>(node: &'a NodeScan, empty: &'a KeySizes) -> Figures<'a> {
    Figures { lengths: &node.stats, sizes: node.sizes.as_ref().unwrap_or(empty), dbsize: node.dbsize }
}

/// A walk that stopped before SCAN's cursor came back to 0 (or before its first page)
/// tells where to go on.
fn unfinished(node: &NodeScan) -> Option<String> {
    (node.resume.as_slice() != b"0" || node.ended.is_some()).then(|| crate::protocol::text::escape_bytes(&node.resume))
}

/// `--keystats` on the session's node: redis-cli's output.
pub fn run(session: &mut Session, settings: &ScanSettings, flag: &AtomicBool) -> Exit {
    let endpoint = session.client.current().clone();
    read_on_replica(session.client.pool(), &endpoint, settings.wait);
    let total = match dbsize(session.client.pool(), &endpoint, settings.wait) {
        Ok(total) => total,
        Err(problem) => {
            session.printer.note(&problem);
            return Exit::Failure;
        }
    };
    if session.printer.write(BANNER.as_bytes()).and_then(|()| session.printer.flush()).is_err() {
        return Exit::Success;
    }
    let tty = terminal();
    let mut progress = Progress::new(!tty && std::io::stderr().is_terminal());
    let printer = &mut session.printer;
    let empty = KeySizes::new(settings.top);
    let mut last_redraw = Instant::now();
    let mut closed = false;
    let mut on_page = |page: Page, node: &NodeScan| {
        progress.clear();
        for warning in &page.warnings {
            printer.note(warning);
        }
        if tty && last_redraw.elapsed() > REDRAW_EVERY {
            last_redraw = Instant::now();
            let text = keysizes_text::redraw(&figures(node, &empty));
            closed = printer.write(text.as_bytes()).and_then(|()| printer.flush()).is_err();
        }
        progress.add(page.keys, total);
        !closed
    };
    let node = walk(session.client.pool(), &endpoint, settings, total, flag, &mut on_page);
    progress.clear();
    if closed {
        return Exit::Success;
    }
    if let Some(End::Failed(problem)) = &node.ended {
        session.printer.note(problem);
        return Exit::Failure;
    }
    let shown = figures(&node, &empty);
    let mut text = keysizes_text::render(&keysizes_text::head(&shown, tty), tty);
    text.push_str(&keysizes_text::render(&keysizes_text::tail(&shown), tty));
    if let Some(cursor) = unfinished(&node) {
        text.push_str(&keysizes_text::interrupted(&cursor));
    }
    let _ = session.printer.write(text.as_bytes());
    Exit::Success
}

/// `--keystats -c` over `nodes`; exit 0, 1 when a node could not be scanned, 2 for
/// `--cursor` with more than one node.
pub fn run_cluster(session: &mut Session, nodes: Vec<Node>, settings: &ScanSettings, flag: &Arc<AtomicBool>) -> Exit {
    if nodes.is_empty() {
        session.printer.note("no node to scan: the slot map has no primary");
        return Exit::Failure;
    }
    if settings.cursor != 0 && nodes.len() > 1 {
        session.printer.note(
            "--cursor with -c needs one node (--target HOST:PORT): a SCAN cursor belongs to the node that gave it",
        );
        return Exit::Usage;
    }
    let pools = NodePools::of(session, flag);
    let Some(totals) = node_sizes(session, &pools, &nodes, settings) else { return Exit::Failure };
    if session.printer.write(BANNER.as_bytes()).and_then(|()| session.printer.flush()).is_err() {
        return Exit::Success;
    }
    let total: u64 = totals.iter().sum();
    let names: Vec<String> = nodes.iter().map(|n| n.endpoint.to_string()).collect();
    let printer = &mut session.printer;
    let scans = scan_every_node(&nodes, totals, &pools, settings, flag, |rx| {
        let mut progress = Progress::on_stderr();
        let mut scans: Vec<Option<NodeScan>> = vec![None; names.len()];
        while let Ok(message) = rx.recv() {
            match message {
                Message::Page(index, page) => {
                    progress.clear();
                    let name = names.get(index).map(String::as_str).unwrap_or_default();
                    for warning in &page.warnings {
                        printer.note(&about(name, warning));
                    }
                    progress.add(page.keys, total);
                }
                Message::Done(index, scan) => {
                    if let Some(slot) = scans.get_mut(index) {
                        *slot = Some(*scan);
                    }
                }
            }
        }
        progress.clear();
        scans.into_iter().map(|scan| scan.unwrap_or_else(|| not_scanned(flag))).collect::<Vec<_>>()
    });
    let _ = session.printer.write(report(&names, &scans, settings.top).as_bytes());
    Exit::from_failed(scans.iter().any(|s| matches!(s.ended, Some(End::Failed(_)))))
}

/// A section per node, then the cluster's summary.
fn report(names: &[String], scans: &[NodeScan], top: u64) -> String {
    let empty = KeySizes::new(top);
    let mut text = String::new();
    let mut lengths = KeyStats::default();
    let mut sizes = KeySizes::new(top);
    let mut dbsize = 0u64;
    let mut sections = Vec::with_capacity(scans.len());
    for (name, node) in names.iter().zip(scans) {
        let mut body = String::new();
        if let Some(End::Failed(problem)) = &node.ended {
            body.push_str(&format!("error: {problem} (the figures below stop there)\n"));
        }
        let shown = figures(node, &empty);
        body.push_str(&keysizes_text::render(&keysizes_text::head(&shown, false), false));
        body.push_str(&keysizes_text::render(&keysizes_text::tail(&shown), false));
        if let Some(cursor) = unfinished(node).filter(|_| node.ended.is_some()) {
            body.push_str(&format!(
                "\nScan interrupted:\nUse 'rcli -c --keystats --target {name} --cursor {cursor}' to go on with this \
                 node from its last cursor.\n"
            ));
        }
        sections.push(NodeSection { name: name.clone(), body, keys: node.sampled(), unfinished: node.ended.is_some() });
        lengths.merge(&node.stats, name);
        if let Some(node_sizes) = &node.sizes {
            sizes.merge(node_sizes, name);
        }
        dbsize += node.dbsize;
    }
    text.push_str(&sections::layout(&sections));
    text.push_str(&keystats::section("summary"));
    let cluster = Figures { lengths: &lengths, sizes: &sizes, dbsize };
    text.push_str(&keysizes_text::render(&keysizes_text::head(&cluster, false), false));
    text.push_str(&keysizes_text::render(&keysizes_text::tail(&cluster), false));
    text
}
