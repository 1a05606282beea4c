//! `--latency`, `--latency-history` and `--latency-dist` with `-c`, an rcli addition
//! (docs/compatibility.md): every primary (or the `--target` set) is probed with a PING
//! every 10 ms, as redis-cli does for one node (docs/redis-cli-modes.md, sections
//! 5.1-5.2), by at most `--parallel` workers (client/workers.rs), each taking its share
//! of the nodes in turn, each node with a pool of its own (kept open between PINGs only
//! when there are no more nodes than workers). On a terminal there is one
//! column per node under a header of addresses (past [`COLUMNS_SHOWN`] nodes, one line
//! for all of them, naming the slowest); in raw, CSV and JSON output each line
//! is one node's figures, prefixed by its address, in redis-cli's format for that mode;
//! the spectrum is one labelled line per node. A node that does not answer is tried
//! again every second and shows `no reply` (and a note on stderr).

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::format::{Clock, two_decimals};
use super::latency::{DEFAULT_INTERVAL_MS, HISTORY_RANGE_MS, LatencyStats, SAMPLE_EVERY, interval_ms, range_line};
use super::nodes::{Node, NodePools, Stop, exit_code, interrupted, pause, reply_wait, write};
use super::spectrum::{Distribution, legend};
use crate::cli::diagnostics::Diagnostic;
use crate::client::pool::Pool;
use crate::client::workers;
use crate::error::{Error, os_message_of};
use crate::exit::Exit;
use crate::protocol::render::OutputMode;
use crate::protocol::split::repr_string;
use crate::session::Session;

/// One probe's outcome: the node's index, and the PING's start and end on the shared
/// clock (µs) or why it failed.
type Probe = (usize, Result<(i64, i64), String>);

/// The terminal line is redrawn at most this often.
const REDRAW_EVERY: Duration = Duration::from_millis(20);

/// The narrowest terminal column.
const MIN_COLUMN: usize = 22;

/// Up to this many nodes a terminal gets a column per node; past it, one line for all.
pub const COLUMNS_SHOWN: usize = 12;

/// A terminal cell: `min/max/avg (samples)` in ms.
pub fn cell(stats: &LatencyStats, answering: bool) -> String {
    if !answering {
        return "no reply".to_string();
    }
    format!("{}/{}/{} ({})", stats.min, stats.max, two_decimals(stats.avg()), stats.count)
}

/// The width of each terminal column for these nodes.
pub fn column_width(nodes: &[Node]) -> usize {
    nodes.iter().map(|n| n.endpoint.to_string().len()).max().unwrap_or(0).max(MIN_COLUMN) + 2
}

/// The terminal header: what the cells hold, then the nodes' addresses as columns.
pub fn header(nodes: &[Node], width: usize) -> String {
    let addresses: String = nodes.iter().map(|n| format!("{:<width$}", n.endpoint.to_string())).collect();
    format!("min/max/avg latency in ms (samples) per node:\n{}\n", addresses.trim_end())
}

/// The terminal header past [`COLUMNS_SHOWN`] nodes.
pub fn wide_header(nodes: usize) -> String {
    format!("min/max/avg latency in ms (samples) over {nodes} nodes, the slowest by average, nodes not answering:\n")
}

/// The redrawn terminal line past [`COLUMNS_SHOWN`] nodes: every node's PINGs together,
/// the node with the highest average, and how many do not answer.
pub fn wide_row(nodes: &[Node], stats: &[(&LatencyStats, bool)]) -> String {
    let mut all = LatencyStats::default();
    let mut slowest: Option<(usize, f64)> = None;
    let mut silent = 0usize;
    for (index, (node_stats, answering)) in stats.iter().enumerate() {
        if !answering {
            silent += 1;
            continue;
        }
        if node_stats.count == 0 {
            continue;
        }
        if all.count == 0 {
            all = **node_stats;
        } else {
            all.min = all.min.min(node_stats.min);
            all.max = all.max.max(node_stats.max);
            all.total = all.total.saturating_add(node_stats.total);
            all.count = all.count.saturating_add(node_stats.count);
        }
        if slowest.is_none_or(|(_, avg)| node_stats.avg() > avg) {
            slowest = Some((index, node_stats.avg()));
        }
    }
    let slowest = slowest
        .and_then(|(index, avg)| nodes.get(index).map(|n| format!("{} {}", n.endpoint, two_decimals(avg))))
        .unwrap_or_else(|| "-".into());
    format!("\x1b[0G\x1b[2Kall {}   slowest {slowest}   no reply {silent}", cell(&all, true))
}

/// The redrawn terminal line: one cell per node.
pub fn row(cells: &[String], width: usize) -> String {
    let line: String = cells.iter().map(|c| format!("{c:<width$}")).collect();
    format!("\x1b[0G\x1b[2K{}", line.trim_end())
}

/// One node's line in raw, CSV or JSON output.
pub fn node_line(node: &Node, stats: &LatencyStats, mode: OutputMode) -> String {
    let address = node.endpoint.to_string();
    match mode {
        OutputMode::Json | OutputMode::QuotedJson => {
            format!("{{\"node\": {}, {}", repr_string(address.as_bytes()), stats.text(mode).trim_start_matches('{'))
        }
        OutputMode::Csv => format!("{},{}", repr_string(address.as_bytes()), stats.text(mode)),
        OutputMode::Raw | OutputMode::Tty => format!("{address} {}", stats.text(OutputMode::Raw)),
    }
}

/// One PING to `node` on `pool`, timed from its write to its reply (a connect, when
/// one is needed, is not counted).
fn ping(pool: &mut Pool, node: &Node, clock: Clock, wait: Option<Duration>) -> Result<(i64, i64), Error> {
    let mut exchange = pool.borrow(&node.endpoint)?;
    let start = clock.us();
    exchange.send(b"*1\r\n$4\r\nPING\r\n", 1)?;
    exchange.read(wait)?;
    let end = clock.us();
    pool.give_back(exchange);
    Ok((start, end))
}

/// One worker's share of the nodes, each with its pool and, after a failure, when to
/// try it again.
type Share<'a> = Vec<(usize, &'a Node, Pool, Option<Instant>)>;

/// PINGs each node of `share` in turn, a round every 10 ms, until Ctrl-C or until `tx`
/// has no receiver; a node that does not answer is tried again after a second. Its
/// connection stays open between rounds only when `keep_open`.
fn probe(
    mut share: Share,
    clock: Clock,
    wait: Option<Duration>,
    tx: &mpsc::Sender<Probe>,
    flag: &AtomicBool,
    keep_open: bool,
) {
    loop {
        for (index, node, pool, retry) in share.iter_mut() {
            if retry.is_some_and(|at| Instant::now() < at) {
                continue;
            }
            let outcome = ping(pool, node, clock, wait);
            if !keep_open {
                pool.close(&node.endpoint);
            }
            *retry = outcome.is_err().then(|| Instant::now() + Duration::from_secs(1));
            if interrupted(flag) || tx.send((*index, outcome.map_err(|e| os_message_of(&e)))).is_err() {
                return;
            }
        }
        if !pause(SAMPLE_EVERY, flag) {
            return;
        }
    }
}

/// What the main thread keeps per node.
#[derive(Default, Clone)]
struct NodeState {
    stats: LatencyStats,
    dist: Distribution,
    failing: Option<String>,
}

/// The latency modes over `nodes` until Ctrl-C (exit 130), the end of `--latency`'s
/// sampling time in non-terminal output (exit 0), or a closed stdout.
pub fn run(
    session: &mut Session,
    nodes: Vec<Node>,
    diagnostic: &Diagnostic,
    palette: &[u8],
    interval: Duration,
    flag: &Arc<AtomicBool>,
) -> Exit {
    let mode = session.printer.format.mode;
    let wait = reply_wait(session);
    let clock = Clock::new();
    let maker = NodePools::of(session, flag);
    let keep_open = maker.keep_open(nodes.len());
    let workers = maker.width().clamp(1, nodes.len().max(1));
    let mut shares: Vec<Share> = (0..workers).map(|_| Vec::new()).collect();
    for (index, node) in nodes.iter().enumerate() {
        if let Some(share) = shares.get_mut(index % workers) {
            share.push((index, node, maker.make(node), None));
        }
    }
    let (tx, rx) = mpsc::channel::<Probe>();
    let stop = std::thread::scope(|scope| {
        let flag: &AtomicBool = flag;
        let running = workers::spawn(scope, shares, workers, None, move |_, share| {
            probe(share, clock, wait, &tx, flag, keep_open);
        });
        let mut view = View {
            session: &mut *session,
            nodes: &nodes,
            mode,
            palette,
            clock,
            states: vec![NodeState::default(); nodes.len()],
        };
        let stop = view.follow(&rx, diagnostic, interval, flag);
        // The probes end on Ctrl-C or, once `rx` is dropped, at their next send.
        drop(rx);
        running.join();
        stop
    });
    match stop {
        Ok(()) => Exit::Success,
        Err(stop) => {
            if mode == OutputMode::Tty
                && matches!(stop, Stop::Interrupted)
                && !matches!(diagnostic, Diagnostic::LatencyDist { .. })
            {
                let _ = write(&mut session.printer, "\n");
            }
            exit_code(&mut session.printer, stop)
        }
    }
}

struct View<'a> {
    session: &'a mut Session,
    nodes: &'a [Node],
    mode: OutputMode,
    palette: &'a [u8],
    clock: Clock,
    states: Vec<NodeState>,
}

impl View<'_> {
    fn write(&mut self, text: &str) -> Result<(), Stop> {
        write(&mut self.session.printer, text)
    }

    /// Takes the probes' outcomes and prints; `Ok` when `--latency`'s sampling time
    /// ends (non-terminal output).
    fn follow(
        &mut self,
        rx: &mpsc::Receiver<Probe>,
        diagnostic: &Diagnostic,
        interval: Duration,
        flag: &AtomicBool,
    ) -> Result<(), Stop> {
        let dist = matches!(diagnostic, Diagnostic::LatencyDist { .. });
        let history = *diagnostic == Diagnostic::LatencyHistory;
        let range_ms = interval_ms(interval, if history { HISTORY_RANGE_MS } else { DEFAULT_INTERVAL_MS });
        let width = column_width(self.nodes);
        let tty_columns = self.mode == OutputMode::Tty && !dist;
        if tty_columns {
            let header = if self.nodes.len() > COLUMNS_SHOWN {
                wide_header(self.nodes.len())
            } else {
                header(self.nodes, width)
            };
            self.write(&header)?;
        }
        let mut range_start = self.clock.ms();
        let mut outputs = 0u64;
        let mut drawn: Option<Instant> = None;
        loop {
            if interrupted(flag) {
                if tty_columns {
                    self.draw(width)?;
                }
                return Err(Stop::Interrupted);
            }
            let (index, outcome) = match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(probe) => probe,
                Err(mpsc::RecvTimeoutError::Timeout) => continue,
                Err(mpsc::RecvTimeoutError::Disconnected) => return Err(Stop::Interrupted),
            };
            self.record(index, outcome);
            if dist {
                if self.clock.ms() - range_start > range_ms {
                    let mut text = if outputs.is_multiple_of(20) { legend(self.palette) } else { String::new() };
                    outputs += 1;
                    for (node, state) in self.nodes.iter().zip(self.states.iter_mut()) {
                        text.push_str(&format!(
                            "{:<width$}{}",
                            node.endpoint.to_string(),
                            state.dist.line(self.palette)
                        ));
                        state.dist = Distribution::default();
                    }
                    self.write(&text)?;
                    range_start = self.clock.ms();
                }
                continue;
            }
            if tty_columns {
                // Redrawn at most every REDRAW_EVERY, whatever the number of nodes.
                if drawn.is_none_or(|t| t.elapsed() >= REDRAW_EVERY) {
                    self.draw(width)?;
                    drawn = Some(Instant::now());
                }
            } else if history {
                if let (Some(node), Some(state)) = (self.nodes.get(index), self.states.get(index)) {
                    let line = node_line(node, &state.stats, self.mode);
                    self.write(&line)?;
                }
            } else if self.clock.ms() - range_start > range_ms {
                let lines: String =
                    self.nodes.iter().zip(&self.states).map(|(n, s)| node_line(n, &s.stats, self.mode)).collect();
                return self.write(&lines);
            }
            if history && self.clock.ms() - range_start > range_ms {
                if tty_columns {
                    self.draw(width)?;
                }
                self.write(&range_line(self.clock.ms() - range_start))?;
                range_start = self.clock.ms();
                for state in &mut self.states {
                    state.stats = LatencyStats::default();
                }
            }
        }
    }

    /// Redraws the terminal line of cells.
    fn draw(&mut self, width: usize) -> Result<(), Stop> {
        if self.nodes.len() > COLUMNS_SHOWN {
            let stats: Vec<(&LatencyStats, bool)> =
                self.states.iter().map(|s| (&s.stats, s.failing.is_none())).collect();
            let line = wide_row(self.nodes, &stats);
            return self.write(&line);
        }
        let cells: Vec<String> = self.states.iter().map(|s| cell(&s.stats, s.failing.is_none())).collect();
        self.write(&row(&cells, width))
    }

    /// Counts one probe; a node that stops or starts answering gets a note on stderr.
    fn record(&mut self, index: usize, outcome: Result<(i64, i64), String>) {
        let (Some(state), Some(node)) = (self.states.get_mut(index), self.nodes.get(index)) else { return };
        match outcome {
            Ok((start_us, end_us)) => {
                if state.failing.take().is_some() {
                    self.session.printer.note(&format!("\n{}: answers again", node.endpoint));
                }
                state.stats.record(end_us / 1000 - start_us / 1000);
                state.dist.record(u64::try_from(end_us - start_us).unwrap_or(0));
            }
            Err(error) => {
                if state.failing.is_none() {
                    self.session.printer.note(&format!("\n{}: {error} (trying again every second)", node.endpoint));
                }
                state.failing = Some(error);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::Endpoint;

    fn nodes() -> Vec<Node> {
        [7000, 7001].iter().map(|&p| Node { endpoint: Endpoint::tcp("127.0.0.1", p), replica: false }).collect()
    }

    #[test]
    fn terminal_columns_line_up_under_the_addresses() {
        let nodes = nodes();
        let width = column_width(&nodes);
        assert_eq!(width, 24);
        let header = header(&nodes, width);
        assert_eq!(header.lines().nth(1), Some("127.0.0.1:7000          127.0.0.1:7001"));
        let stats = LatencyStats { min: 0, max: 1, total: 1, count: 8 };
        let line = row(&[cell(&stats, true), cell(&stats, false)], width);
        assert_eq!(line, "\x1b[0G\x1b[2K0/1/0.12 (8)            no reply");
    }

    #[test]
    fn past_a_dozen_nodes_one_line_sums_them_up() {
        let nodes: Vec<Node> =
            (0..20).map(|i| Node { endpoint: Endpoint::tcp("127.0.0.1", 7000 + i), replica: false }).collect();
        let stats: Vec<LatencyStats> =
            (0..20).map(|i| LatencyStats { min: 0, max: i, total: i * 4, count: 4 }).collect();
        let mut shown: Vec<(&LatencyStats, bool)> = stats.iter().map(|s| (s, true)).collect();
        shown[19].1 = false;
        assert_eq!(
            wide_row(&nodes, &shown),
            "\x1b[0G\x1b[2Kall 0/18/9.00 (76)   slowest 127.0.0.1:7018 18.00   no reply 1"
        );
    }

    #[test]
    fn machine_lines_name_their_node() {
        let node = &nodes()[0];
        let stats = LatencyStats { min: 0, max: 2, total: 3, count: 4 };
        assert_eq!(node_line(node, &stats, OutputMode::Raw), "127.0.0.1:7000 0 2 0.75 4\n");
        assert_eq!(node_line(node, &stats, OutputMode::Csv), "\"127.0.0.1:7000\",0,2,0.75,4\n");
        assert_eq!(
            node_line(node, &stats, OutputMode::Json),
            "{\"node\": \"127.0.0.1:7000\", \"min\": 0, \"max\": 2, \"avg\": 0.75, \"count\": 4}\n"
        );
    }
}
