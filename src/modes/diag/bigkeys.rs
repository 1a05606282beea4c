//! `--bigkeys`, `--memkeys`, `--hotkeys` and `--keystats`: the SCAN walk of one node
//! they share, and the single-node run of the first three, as redis-cli 7.0.15 does them
//! (docs/redis-cli-modes.md, section 6): DBSIZE, the banner, SCAN page by page (no COUNT unless `--count`), TYPE
//! then the size command (or OBJECT FREQ) for every key of a page, a line for each new
//! biggest (hottest) key with the percentage scanned when its page began, a sleep of
//! `-i` every 100 SCANs, and the summary; Ctrl-C prints the partial summary.
//!
//! The walk pipelines more than redis-cli: each page's TYPEs (or OBJECT FREQs) go out
//! with the next SCAN, so a page costs two round trips instead of three, with the same
//! output. `--keystats` asks MEMORY USAGE and the size command of each key of a page
//! together (redis-cli 7.4 sends TYPE twice) and gathers [`KeySizes`] beside the
//! per-type figures; its run is [`super::keysizes_run`]. With `-c` every node is walked,
//! `--parallel` at once ([`super::bigkeys_cluster`]). What is asked of a node before
//! its walk is in [`super::preflight`].

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use super::format::scan_percent;
use super::keysizes::KeySizes;
use super::keystats::{self, Biggest, HotPool, KeyStats};
use super::nodes::{interrupted, pause};
use super::preflight::{dbsize, lfu_check, read_on_replica};
use super::progress::Progress;
use crate::cli::diagnostics::KeyScan;
use crate::client::pool::{Exchange, Pool};
use crate::endpoint::Endpoint;
use crate::error::Error;
use crate::exit::Exit;
use crate::protocol::encode::encode_command;
use crate::protocol::resp::Frame;
use crate::protocol::split::repr_string;
use crate::session::Session;

/// How a key scan runs.
#[derive(Debug, Clone)]
pub struct ScanSettings {
    pub scan: KeyScan,
    pub pattern: Option<Vec<u8>>,
    /// SCAN's COUNT (`None`: the server's default, as redis-cli).
    pub count: Option<u64>,
    /// `-i`: slept after every 100 SCANs.
    pub interval: Duration,
    /// The longest wait for a reply.
    pub wait: Option<Duration>,
    /// `--hotkeys-count`: how many hot keys the summary lists (16 by default).
    pub hot_slots: usize,
    /// `--cursor`: the first SCAN's cursor (0: the whole keyspace).
    pub cursor: u64,
    /// `--top`: the biggest keys `--keystats` lists.
    pub top: u64,
}

/// Something a page turned up, in key order.
#[derive(Debug, Clone, PartialEq)]
pub enum Find {
    Biggest(Biggest),
    Hot {
        key: Vec<u8>,
        freq: u64,
    },
    /// The node's millionth, two millionth… key.
    Milestone(u64),
}

/// One page's outcome, for the printer.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// The node's share scanned when the page began (redis-cli's `[pct]`).
    pub pct: f64,
    /// Keys counted on this page.
    pub keys: u64,
    pub finds: Vec<Find>,
    /// Warnings for stderr (a size command on a key that changed type…).
    pub warnings: Vec<String>,
}

/// Why a walk ended before the last page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    Interrupted,
    Failed(String),
}

/// One node's figures at the end of its walk.
#[derive(Debug, Clone, Default)]
pub struct NodeScan {
    /// Per type the sizes (with `--keystats`: the lengths and cardinalities).
    pub stats: KeyStats,
    /// `--keystats`' memory figures.
    pub sizes: Option<KeySizes>,
    /// The cursor that goes on from the last page counted (`0` once the walk is done).
    pub resume: Vec<u8>,
    pub hot: HotPool,
    pub dbsize: u64,
    /// The percentage at the start of the last page.
    pub pct: f64,
    pub ended: Option<End>,
}

impl NodeScan {
    /// Keys counted so far.
    pub fn sampled(&self) -> u64 {
        self.stats.sampled
    }
}

fn scan_command(settings: &ScanSettings, cursor: &[u8], out: &mut Vec<u8>) {
    let mut argv: Vec<&[u8]> = vec![b"SCAN", cursor];
    if let Some(pattern) = &settings.pattern {
        argv.extend([&b"MATCH"[..], pattern]);
    }
    let count = settings.count.map(|c| c.to_string());
    if let Some(count) = &count {
        argv.extend([&b"COUNT"[..], count.as_bytes()]);
    }
    encode_command(&argv, out);
}

/// A SCAN reply's cursor and keys, checked as redis-cli checks them.
fn scan_reply(reply: Frame) -> Result<(Vec<u8>, Vec<Vec<u8>>), String> {
    if let Some(error) = reply.as_error() {
        return Err(format!("SCAN error: {}", String::from_utf8_lossy(error)));
    }
    let Some(items) = reply.as_items() else { return Err("Non ARRAY response from SCAN!".into()) };
    let [cursor, keys] = items else { return Err("Invalid element count from SCAN!".into()) };
    let cursor = cursor.as_bytes().ok_or("Invalid cursor from SCAN!")?.to_vec();
    let keys = keys.as_items().unwrap_or_default().iter().filter_map(Frame::as_bytes).map(<[u8]>::to_vec).collect();
    Ok((cursor, keys))
}

fn failed(error: Error) -> End {
    match error {
        Error::Interrupted => End::Interrupted,
        other => End::Failed(other.to_string()),
    }
}

/// What a page's callback gets: the page, and the node's figures so far.
pub type OnPage<'a> = dyn FnMut(Page, &NodeScan) -> bool + 'a;

/// Walks `endpoint`'s keyspace from `settings.cursor`, handing each page to `on_page`
/// (which returns false to stop: stdout closed); Ctrl-C ends the walk after the page
/// being read is dropped.
pub fn walk(
    pool: &mut Pool,
    endpoint: &Endpoint,
    settings: &ScanSettings,
    dbsize: u64,
    flag: &AtomicBool,
    on_page: &mut OnPage,
) -> NodeScan {
    let sizes = matches!(settings.scan, KeyScan::Stats { .. }).then(|| KeySizes::new(settings.top));
    let resume = settings.cursor.to_string().into_bytes();
    let mut node = NodeScan { dbsize, sizes, resume, hot: HotPool::new(settings.hot_slots), ..NodeScan::default() };
    let mut exchange = match pool.borrow(endpoint) {
        Ok(exchange) => exchange,
        Err(error) => {
            node.pct = scan_percent(0, dbsize);
            node.ended = Some(failed(error));
            return node;
        }
    };
    node.ended = walk_pages(&mut exchange, settings, &mut node, flag, on_page).err();
    pool.give_back(exchange);
    node
}

fn walk_pages(
    exchange: &mut Exchange,
    settings: &ScanSettings,
    node: &mut NodeScan,
    flag: &AtomicBool,
    on_page: &mut OnPage,
) -> Result<(), End> {
    let wait = settings.wait;
    let mut out = Vec::new();
    node.pct = scan_percent(0, node.dbsize);
    scan_command(settings, &node.resume, &mut out);
    exchange.send(&out, 1).map_err(failed)?;
    let (mut cursor, mut keys) = scan_reply(exchange.read(wait).map_err(failed)?).map_err(End::Failed)?;
    let mut scans = 1u64;
    loop {
        let more = cursor.as_slice() != b"0";
        out.clear();
        for key in &keys {
            match settings.scan {
                KeyScan::Hot => encode_command(&[&b"OBJECT"[..], b"FREQ", key], &mut out),
                _ => encode_command(&[&b"TYPE"[..], key], &mut out),
            }
        }
        if more {
            scan_command(settings, &cursor, &mut out);
        }
        exchange.send(&out, keys.len() + usize::from(more)).map_err(failed)?;
        let firsts = keys.iter().map(|_| exchange.read(wait)).collect::<Result<Vec<Frame>, Error>>().map_err(failed)?;
        let mut page = Page { pct: node.pct, ..Page::default() };
        let next = match settings.scan {
            KeyScan::Hot => {
                let next = if more { Some(exchange.read(wait).map_err(failed)?) } else { None };
                hot_page(&keys, firsts, node, &mut page)?;
                next
            }
            _ => {
                let types = types_of(&keys, &firsts, &mut node.stats)?;
                let (sizes, next) = sizes_of(exchange, &keys, &types, settings, &node.stats, &mut page, more)?;
                big_page(&keys, &types, &sizes, settings.scan, node, &mut page);
                next
            }
        };
        node.resume.clone_from(&cursor);
        if !on_page(page, node) {
            return Ok(());
        }
        let Some(next) = next else { return Ok(()) };
        if interrupted(flag) {
            return Err(End::Interrupted);
        }
        if !settings.interval.is_zero() && scans.is_multiple_of(100) && !pause(settings.interval, flag) {
            return Err(End::Interrupted);
        }
        scans += 1;
        node.pct = scan_percent(node.sampled(), node.dbsize);
        (cursor, keys) = scan_reply(next).map_err(End::Failed)?;
    }
}

/// The type of each key from its TYPE reply (`None`: deleted since SCAN).
fn types_of(keys: &[Vec<u8>], replies: &[Frame], stats: &mut KeyStats) -> Result<Vec<Option<usize>>, End> {
    keys.iter()
        .zip(replies)
        .map(|(key, reply)| match reply {
            Frame::Simple(name) => Ok(stats.type_index(name)),
            Frame::Error(error) => {
                Err(End::Failed(format!("TYPE returned an error: {}", String::from_utf8_lossy(error))))
            }
            _ => Err(End::Failed(format!("Invalid reply type for TYPE on key '{}'!", repr_string(key)))),
        })
        .collect()
}

/// A page's sizes: per key the size command's answer (MEMORY USAGE for `--memkeys` and
/// `--keystats`), and for `--keystats` the length or cardinality too (0 where nothing
/// was asked).
#[derive(Debug, Default)]
struct Sizes {
    first: Vec<u64>,
    lengths: Vec<u64>,
}

/// Sends the size commands of a page and reads them, after the next page's SCAN reply
/// (sent before them) when there is one: for `--keystats` every MEMORY USAGE, then every
/// length command, in redis-cli's order (its warnings come in that order).
fn sizes_of(
    exchange: &mut Exchange,
    keys: &[Vec<u8>],
    types: &[Option<usize>],
    settings: &ScanSettings,
    stats: &KeyStats,
    page: &mut Page,
    more: bool,
) -> Result<(Sizes, Option<Frame>), End> {
    let samples = match settings.scan {
        KeyScan::Memory { samples } if samples != 0 => Some(samples.to_string()),
        KeyScan::Stats { samples } => samples.map(|n| n.to_string()),
        _ => None,
    };
    let mut out = Vec::new();
    let command = |index: usize| size_command(settings.scan, stats, index);
    let first = ask(keys, types, command, samples.as_deref(), &mut out);
    let lengths = match settings.scan {
        KeyScan::Stats { .. } => ask(keys, types, |index| size_command(KeyScan::Big, stats, index), None, &mut out),
        _ => Vec::new(),
    };
    let count = first.iter().chain(&lengths).flatten().count();
    if count > 0 {
        exchange.send(&out, count).map_err(failed)?;
    }
    let next = if more { Some(exchange.read(settings.wait).map_err(failed)?) } else { None };
    let first = answers(exchange, keys, &first, settings.wait, page)?;
    let lengths = answers(exchange, keys, &lengths, settings.wait, page)?;
    Ok((Sizes { first, lengths }, next))
}

/// Encodes `command_for`'s command for each key of a known type; which were asked.
fn ask(
    keys: &[Vec<u8>],
    types: &[Option<usize>],
    command_for: impl Fn(usize) -> Option<&'static str>,
    samples: Option<&str>,
    out: &mut Vec<u8>,
) -> Vec<Option<&'static str>> {
    let mut asked = Vec::with_capacity(keys.len());
    for (key, kind) in keys.iter().zip(types) {
        let Some(command) = kind.and_then(&command_for) else {
            asked.push(None);
            continue;
        };
        let mut argv: Vec<&[u8]> = command.split(' ').map(str::as_bytes).collect();
        argv.push(key);
        if let (Some(samples), "MEMORY USAGE") = (samples, command) {
            argv.extend([&b"SAMPLES"[..], samples.as_bytes()]);
        }
        encode_command(&argv, out);
        asked.push(Some(command));
    }
    asked
}

/// Reads the answers to what [`ask`] asked: a size per key (0 where nothing was asked
/// or the answer is not a number, with redis-cli's warning).
fn answers(
    exchange: &mut Exchange,
    keys: &[Vec<u8>],
    asked: &[Option<&'static str>],
    wait: Option<Duration>,
    page: &mut Page,
) -> Result<Vec<u64>, End> {
    let mut sizes = Vec::with_capacity(asked.len());
    for (key, command) in keys.iter().zip(asked) {
        let Some(command) = command else {
            sizes.push(0);
            continue;
        };
        match exchange.read(wait).map_err(failed)? {
            Frame::Integer(n) => sizes.push(u64::try_from(n).unwrap_or(0)),
            _ => {
                page.warnings.push(format!(
                    "Warning:  {command} on '{}' failed (may have changed type)",
                    String::from_utf8_lossy(key)
                ));
                sizes.push(0);
            }
        }
    }
    Ok(sizes)
}

/// The command that sizes a key of type `index`: `None` for a module type's key in
/// `--bigkeys` (its size counts as 0).
fn size_command(scan: KeyScan, stats: &KeyStats, index: usize) -> Option<&'static str> {
    match scan {
        KeyScan::Memory { .. } | KeyScan::Stats { .. } => Some("MEMORY USAGE"),
        _ => stats.types.get(index).and_then(|t| t.size_command),
    }
}

fn big_page(
    keys: &[Vec<u8>],
    types: &[Option<usize>],
    sizes: &Sizes,
    scan: KeyScan,
    node: &mut NodeScan,
    page: &mut Page,
) {
    let lengths = sizes.lengths.iter().copied().chain(std::iter::repeat(0));
    for (((key, kind), &size), length) in keys.iter().zip(types).zip(&sizes.first).zip(lengths) {
        let Some(index) = kind else { continue };
        if let Some(figures) = node.sizes.as_mut() {
            // `--keystats`: the memory beside, the lengths in `stats`.
            let name = node.stats.types.get(*index).map(|t| t.name.clone()).unwrap_or_default();
            page.warnings.extend(figures.record(name.as_bytes(), key, size));
            node.stats.record(*index, key, length, KeyScan::Big);
        } else if let Some(found) = node.stats.record(*index, key, size, scan) {
            page.finds.push(Find::Biggest(found));
        }
        page.keys += 1;
        if node.stats.sampled.is_multiple_of(1_000_000) {
            page.finds.push(Find::Milestone(node.stats.sampled));
        }
    }
}

fn hot_page(keys: &[Vec<u8>], replies: Vec<Frame>, node: &mut NodeScan, page: &mut Page) -> Result<(), End> {
    for (key, reply) in keys.iter().zip(replies) {
        let freq = match reply {
            Frame::Integer(n) => u64::try_from(n).unwrap_or(0),
            Frame::Error(error) => return Err(End::Failed(format!("Error: {}", String::from_utf8_lossy(&error)))),
            _ => {
                page.warnings
                    .push(format!("Warning: OBJECT freq on '{}' failed (may have been deleted)", repr_string(key)));
                0
            }
        };
        node.stats.sampled += 1;
        page.keys += 1;
        if node.stats.sampled.is_multiple_of(1_000_000) {
            page.finds.push(Find::Milestone(node.stats.sampled));
        }
        if node.hot.offer(freq, key, None) {
            page.finds.push(Find::Hot { key: key.clone(), freq });
        }
    }
    Ok(())
}

/// `--bigkeys`/`--memkeys`/`--hotkeys` on the session's node: redis-cli's output.
pub fn run(session: &mut Session, settings: &ScanSettings, flag: &AtomicBool) -> Exit {
    let endpoint = session.client.current().clone();
    read_on_replica(session.client.pool(), &endpoint, settings.wait);
    if settings.scan == KeyScan::Hot
        && let Err(problem) = lfu_check(session.client.pool(), &endpoint, settings.wait)
    {
        session.printer.note(&problem);
        return Exit::Failure;
    }
    let total = match dbsize(session.client.pool(), &endpoint, settings.wait) {
        Ok(total) => total,
        Err(problem) => {
            session.printer.note(&problem);
            return Exit::Failure;
        }
    };
    if session.printer.write(keystats::banner(settings.scan).as_bytes()).is_err() {
        return Exit::Success;
    }
    let mut progress = Progress::on_stderr();
    let printer = &mut session.printer;
    let mut closed = false;
    let mut on_page = |page: Page, _: &NodeScan| {
        progress.clear();
        for warning in &page.warnings {
            printer.note(warning);
        }
        let text: String = page
            .finds
            .iter()
            .map(|find| match find {
                Find::Biggest(found) => keystats::biggest_line(page.pct, found, None),
                Find::Hot { key, freq } => keystats::hot_line(page.pct, key, *freq, None),
                Find::Milestone(n) => keystats::milestone_line(page.pct, *n),
            })
            .collect();
        // Found keys show at once, also in a pipe (a page with none costs nothing).
        closed = !text.is_empty() && printer.write(text.as_bytes()).and_then(|()| printer.flush()).is_err();
        progress.add(page.keys, total);
        !closed
    };
    let node = walk(session.client.pool(), &endpoint, settings, total, flag, &mut on_page);
    progress.clear();
    if closed {
        return Exit::Success;
    }
    let interrupted_at = match &node.ended {
        Some(End::Failed(problem)) => {
            session.printer.note(problem);
            return Exit::Failure;
        }
        Some(End::Interrupted) => Some(node.pct),
        None => None,
    };
    let mut text = keystats::section("summary");
    text.push_str(&match settings.scan {
        KeyScan::Hot => node.hot.summary(node.sampled(), interrupted_at),
        _ => node.stats.summary(settings.scan, interrupted_at),
    });
    let _ = session.printer.write(text.as_bytes());
    Exit::Success
}
