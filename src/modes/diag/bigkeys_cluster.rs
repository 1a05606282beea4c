//! `--bigkeys`, `--memkeys` and `--hotkeys` with `-c`, an rcli addition
//! (docs/compatibility.md): every primary (or the `--target` set) is walked, `--parallel`
//! nodes at once (client/workers.rs), each with a pool of its own, each doing what
//! redis-cli does for one node ([`super::bigkeys`]). The main thread prints: the banner, a line whenever a key
//! beats the biggest (hottest) so far across the cluster, naming its node, with the
//! share of the cluster's DBSIZE scanned; the progress line on stderr (a terminal only);
//! then a section per node (shared or summed up past a dozen nodes, [`super::sections`])
//! and the `summary` of the whole cluster, whose biggest keys
//! name their node. Ctrl-C stops every walk and prints the partial report. Before
//! scanning, every node must answer DBSIZE (and, for `--hotkeys`, have an LFU policy).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use super::bigkeys::{End, Find, NodeScan, Page, ScanSettings, walk};
use super::format::scan_percent;
use super::keystats::{self, HotPool, KeyStats};
use super::nodes::{Node, NodePools};
use super::preflight::{dbsize, lfu_check};
use super::progress::Progress;
use super::sections::{self, NodeSection};
use crate::cli::diagnostics::KeyScan;
use crate::client::workers;
use crate::exit::Exit;
use crate::output::Printer;
use crate::session::Session;

/// What a node's walk sends the printing thread: a page's finds, then its whole scan.
pub(super) enum Message {
    Page(usize, Page),
    Done(usize, Box<NodeScan>),
}

/// Walks every node of `nodes` (`totals`: their DBSIZEs) on the worker pool, sending
/// each page and each finished scan to `follow`, which runs on this thread while they
/// walk (the `--bigkeys -c` and `--keystats -c` reports each follow in their own way).
pub(super) fn scan_every_node<R>(
    nodes: &[Node],
    totals: Vec<u64>,
    pools: &NodePools,
    settings: &ScanSettings,
    flag: &AtomicBool,
    follow: impl FnOnce(&mpsc::Receiver<Message>) -> R,
) -> R {
    let (tx, rx) = mpsc::channel::<Message>();
    let width = pools.width();
    std::thread::scope(|scope| {
        let jobs: Vec<(&Node, u64)> = nodes.iter().zip(totals).collect();
        let running = workers::spawn(scope, jobs, width, Some(flag), move |index, (node, dbsize)| {
            let mut pool = pools.make(node);
            let mut send = |page: Page, _: &NodeScan| tx.send(Message::Page(index, page)).is_ok();
            let scan = walk(&mut pool, &node.endpoint, settings, dbsize, flag, &mut send);
            let _ = tx.send(Message::Done(index, Box::new(scan)));
        });
        let followed = follow(&rx);
        running.join();
        followed
    })
}

/// The key scan over `nodes`; exit 0, or 1 when a node could not be scanned.
pub fn run(session: &mut Session, nodes: Vec<Node>, settings: &ScanSettings, flag: &Arc<AtomicBool>) -> Exit {
    if nodes.is_empty() {
        session.printer.note("no node to scan: the slot map has no primary");
        return Exit::Failure;
    }
    let pools = NodePools::of(session, flag);
    let Some(totals) = node_sizes(session, &pools, &nodes, settings) else { return Exit::Failure };
    if session.printer.write(keystats::banner(settings.scan).as_bytes()).is_err() {
        return Exit::Success;
    }
    let total: u64 = totals.iter().sum();
    let names: Vec<String> = nodes.iter().map(|n| n.endpoint.to_string()).collect();
    let mut merge = Merge::new(&mut session.printer, &names, total, settings.hot_slots);
    let scans = scan_every_node(&nodes, totals, &pools, settings, flag, |rx| merge.follow(rx, flag));
    merge.progress.clear();
    let closed = merge.closed;
    let report = report(&names, &scans, &merge, settings.scan);
    drop(merge);
    if closed {
        return Exit::Success;
    }
    let _ = session.printer.write(report.as_bytes());
    let failed = scans.iter().any(|s| matches!(s.ended, Some(End::Failed(_))));
    Exit::from_failed(failed)
}

/// Every node's DBSIZE (and, for `--hotkeys`, its LFU policy checked), asked at once;
/// `None`, each failing node named on stderr, when one did not answer.
pub fn node_sizes(
    session: &mut Session,
    pools: &NodePools,
    nodes: &[Node],
    settings: &ScanSettings,
) -> Option<Vec<u64>> {
    let sizes = workers::run_each(nodes.iter().collect(), pools.width(), Some(pools.flag()), |_, node: &Node| {
        let mut pool = pools.make(node);
        if settings.scan == KeyScan::Hot {
            lfu_check(&mut pool, &node.endpoint, settings.wait)?;
        }
        dbsize(&mut pool, &node.endpoint, settings.wait)
    });
    let mut totals = Vec::with_capacity(nodes.len());
    let mut refused = false;
    for (node, size) in nodes.iter().zip(sizes) {
        match size.unwrap_or_else(|| Err(crate::error::Error::Interrupted.to_string())) {
            Ok(size) => totals.push(size),
            Err(problem) => {
                session.printer.note(&about(&node.endpoint.to_string(), &problem));
                refused = true;
            }
        }
    }
    (!refused).then_some(totals)
}

/// A node whose walk never reported: not started before Ctrl-C (or a closed stdout),
/// or its worker stopped.
pub fn not_scanned(flag: &AtomicBool) -> NodeScan {
    let ended = if flag.load(Ordering::SeqCst) { End::Interrupted } else { End::Failed("the scan stopped".into()) };
    NodeScan { ended: Some(ended), ..NodeScan::default() }
}

/// `problem` on `node`, named once (link errors name their node already).
pub fn about(node: &str, problem: &str) -> String {
    if problem.starts_with(node) { problem.to_string() } else { format!("{node}: {problem}") }
}

/// The main thread's view of the walks: what has been printed as biggest (hottest)
/// so far across the cluster.
struct Merge<'a> {
    printer: &'a mut Printer,
    names: &'a [String],
    total: u64,
    sampled: u64,
    biggest: HashMap<String, u64>,
    hot: HotPool,
    next_milestone: u64,
    progress: Progress,
    closed: bool,
}

impl<'a> Merge<'a> {
    fn new(printer: &'a mut Printer, names: &'a [String], total: u64, hot_slots: usize) -> Merge<'a> {
        Merge {
            printer,
            names,
            total,
            sampled: 0,
            biggest: HashMap::new(),
            hot: HotPool::new(hot_slots),
            next_milestone: 1_000_000,
            progress: Progress::on_stderr(),
            closed: false,
        }
    }

    /// Prints pages as they come until every walk is done; returns each node's scan.
    fn follow(&mut self, rx: &mpsc::Receiver<Message>, flag: &AtomicBool) -> Vec<NodeScan> {
        let mut scans: Vec<Option<NodeScan>> = vec![None; self.names.len()];
        while let Ok(message) = rx.recv() {
            match message {
                Message::Page(index, page) => {
                    if !self.page(index, page) {
                        // stdout is gone: stop every walk.
                        self.closed = true;
                        flag.store(true, Ordering::SeqCst);
                    }
                }
                Message::Done(index, scan) => {
                    if let Some(slot) = scans.get_mut(index) {
                        *slot = Some(*scan);
                    }
                }
            }
        }
        scans.into_iter().map(|scan| scan.unwrap_or_else(|| not_scanned(flag))).collect()
    }

    /// Prints what a page found that beats the cluster's best so far; false when
    /// stdout is closed.
    fn page(&mut self, index: usize, page: Page) -> bool {
        if self.closed {
            return false;
        }
        let node = self.names.get(index).map(String::as_str).unwrap_or_default();
        self.progress.clear();
        for warning in &page.warnings {
            self.printer.note(&about(node, warning));
        }
        let pct = scan_percent(self.sampled, self.total);
        let mut text = String::new();
        for find in &page.finds {
            match find {
                Find::Biggest(found) => {
                    let best = self.biggest.entry(found.type_name.clone()).or_insert(0);
                    if found.size > *best {
                        *best = found.size;
                        text.push_str(&keystats::biggest_line(pct, found, Some(node)));
                    }
                }
                Find::Hot { key, freq } => {
                    if self.hot.offer(*freq, key, Some(node)) {
                        text.push_str(&keystats::hot_line(pct, key, *freq, Some(node)));
                    }
                }
                Find::Milestone(_) => {}
            }
        }
        self.sampled += page.keys;
        while self.sampled >= self.next_milestone {
            text.push_str(&keystats::milestone_line(pct, self.next_milestone));
            self.next_milestone += 1_000_000;
        }
        // Found keys show at once, also in a pipe (a page with none costs nothing).
        if !text.is_empty() && self.printer.write(text.as_bytes()).and_then(|()| self.printer.flush()).is_err() {
            return false;
        }
        self.progress.add(page.keys, self.total);
        true
    }
}

/// A section per node, then the cluster's summary.
fn report(names: &[String], scans: &[NodeScan], merge: &Merge, scan: KeyScan) -> String {
    let mut text = String::new();
    let mut total = KeyStats::default();
    let mut interrupted = false;
    let mut sections = Vec::with_capacity(scans.len());
    for (name, node) in names.iter().zip(scans) {
        let mut body = String::new();
        let at = match &node.ended {
            Some(End::Failed(problem)) => {
                body.push_str(&format!("error: {problem} (the figures below stop there)\n"));
                None
            }
            Some(End::Interrupted) => {
                interrupted = true;
                Some(node.pct)
            }
            None => None,
        };
        body.push_str(&match scan {
            KeyScan::Hot => node.hot.summary(node.sampled(), at),
            _ => node.stats.summary(scan, at),
        });
        sections.push(NodeSection { name: name.clone(), body, keys: node.sampled(), unfinished: node.ended.is_some() });
        total.merge(&node.stats, name);
    }
    text.push_str(&sections::layout(&sections));
    text.push_str(&keystats::section("summary"));
    let at = interrupted.then(|| scan_percent(merge.sampled, merge.total));
    text.push_str(&match scan {
        KeyScan::Hot => merge.hot.summary(total.sampled, at),
        _ => total.summary(scan, at),
    });
    text
}
