//! The consistency checker's bookkeeping (docs/tutorial.md, "Which writes were lost"),
//! pure: the clock is passed in. For every counter it keeps the value the cluster
//! acknowledged last and how many increments since then have an unknown outcome (rcli
//! reported "outcome unknown": the INCR was sent and its reply lost; rcli never sends
//! such a write again). Every value read back (GET) and every INCR reply (its value
//! minus one is the value before it) is checked against that range:
//!
//! * below the acknowledged value: acknowledged writes were **lost**;
//! * within the range: consistent; the part above the acknowledged value is writes
//!   that were applied although their reply never came (**not acked**, applied);
//! * above the range: a write was applied more often than it was sent (**extra**: a
//!   resent write, or another writer) — what rcli's "never resent" rule rules out.
//!
//! Then the value read becomes the new base. So, once every counter has been read back
//! after the last write, for each counter: final value = acknowledged INCRs + applied
//! unknowns − lost + extra; the tests check exactly that against the servers.
//!
//! A counter found below its acknowledged value is lost **with a failure seen** when a
//! failure window of its group overlaps the time since its value was learned (the
//! operation that finds it counts, when it had to wait): a failover. With no failure
//! seen, something else took the increments away (another client's FLUSHALL or DEL, a
//! restart without persistence); the books say which, so the verdict can.
//!
//! Failure windows are kept per group (the shard that served the counter's slot when
//! the run began): a window opens at the start of an operation that failed, had an
//! unknown outcome, or took longer than [`SLOW`] (rcli waited for a failover), and
//! closes at the end of the group's next operation that succeeded.

use std::time::{Duration, Instant};

/// An operation slower than this is part of a failure window (a failover being waited
/// for), not a success like the others.
pub const SLOW: Duration = Duration::from_millis(500);

/// What a write (INCR) came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// The cluster answered with the new value.
    Acked(i64),
    /// It was not applied: refused with an error reply, or never sent (node down).
    Failed(String),
    /// Sent, reply lost: applied or not, nobody knows yet.
    Unknown(String),
}

/// What a read (GET) came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    Value(i64),
    Failed(String),
}

/// Totals over the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub reads: u64,
    pub failed_reads: u64,
    /// Writes acknowledged by the cluster.
    pub writes: u64,
    /// Writes refused or never sent: not applied.
    pub failed_writes: u64,
    /// Writes with an unknown outcome ("not acked").
    pub not_acked: u64,
    /// Of those, found applied when the counter was read back.
    pub applied_unknown: u64,
    /// Acknowledged increments missing from the values read back.
    pub lost: u64,
    /// Of those, the ones lost with no failure seen on their group.
    pub lost_unseen: u64,
    /// Counters that went back at least once with no failure seen.
    pub went_back_unseen: u64,
    /// Increments found beyond every write sent.
    pub extra: u64,
}

/// A window during which a group's operations failed or waited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub group: usize,
    pub opened: Instant,
    /// `None` while it is still open.
    pub closed: Option<Instant>,
    pub failed_reads: u64,
    pub failed_writes: u64,
    pub not_acked: u64,
    /// The longest single operation in it.
    pub longest: Duration,
    /// The first failure's cause (server text, not yet escaped).
    pub cause: Option<String>,
    /// Still open when the run ended (closed by [`Ledger::close_all`], not by a success).
    pub at_end: bool,
}

impl Window {
    fn new(group: usize, opened: Instant) -> Window {
        Window {
            group,
            opened,
            closed: None,
            failed_reads: 0,
            failed_writes: 0,
            not_acked: 0,
            longest: Duration::ZERO,
            cause: None,
            at_end: false,
        }
    }

    /// Its length, up to `now` while open.
    pub fn length(&self, now: Instant) -> Duration {
        self.closed.unwrap_or(now).saturating_duration_since(self.opened)
    }
}

/// Something worth a line as it happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A group's window opened with a failure of an operation that started `at`.
    Opened { group: usize, at: Instant, cause: String },
    /// A group's window closed.
    Closed(Window),
    /// Counter `counter` read `found`, below the acknowledged `expected`;
    /// `failure_seen`: a failure window of its group explains it.
    Lost { counter: usize, expected: i64, found: i64, failure_seen: bool },
    /// Counter `counter` read `found`, above every write sent (`most`).
    Extra { counter: usize, most: i64, found: i64 },
}

#[derive(Debug, Clone, Copy)]
struct Counter {
    /// The value the counter is believed to hold (acknowledged, or read back).
    base: i64,
    /// Increments with an unknown outcome since `base` was learned.
    unknown: i64,
    group: usize,
    /// A value was seen since the last write (the final pass reads the rest).
    checked: bool,
    /// Writes acknowledged for it.
    acked: u64,
    /// When `base` was learned (`None`: at the start).
    learned: Option<Instant>,
    /// It went back once already with no failure seen (counted once).
    went_back_unseen: bool,
}

/// The checker's state.
#[derive(Debug, Clone)]
pub struct Ledger {
    counters: Vec<Counter>,
    open: Vec<Option<Window>>,
    closed: Vec<Window>,
    pub totals: Totals,
}

impl Ledger {
    /// `groups[i]` is the group of counter `i`; `group_count` groups in all (a larger
    /// group number widens it). Counters start at 0 (their keys do not exist yet).
    pub fn new(groups: &[usize], group_count: usize) -> Ledger {
        let group_count = groups.iter().map(|g| g.saturating_add(1)).max().unwrap_or(0).max(group_count);
        Ledger {
            counters: groups
                .iter()
                .map(|&group| Counter {
                    base: 0,
                    unknown: 0,
                    group,
                    checked: true,
                    acked: 0,
                    learned: None,
                    went_back_unseen: false,
                })
                .collect(),
            open: vec![None; group_count],
            closed: Vec::new(),
            totals: Totals::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.counters.len()
    }

    pub fn is_empty(&self) -> bool {
        self.counters.is_empty()
    }

    /// The counters not read back since their last write.
    pub fn unchecked(&self) -> Vec<usize> {
        self.counters.iter().enumerate().filter(|(_, c)| !c.checked).map(|(i, _)| i).collect()
    }

    /// Increments whose outcome is still unknown.
    pub fn unresolved(&self) -> u64 {
        self.counters.iter().map(|c| c.unknown.unsigned_abs()).sum()
    }

    /// Writes acknowledged for `counters` over the whole run (those the final read
    /// could not reach: their values are not checked at the end).
    pub fn acked_on(&self, counters: &[usize]) -> u64 {
        counters.iter().filter_map(|&i| self.counters.get(i)).map(|c| c.acked).sum()
    }

    /// The windows closed so far, in the order they closed.
    pub fn windows(&self) -> &[Window] {
        &self.closed
    }

    /// The windows still open.
    pub fn open_windows(&self) -> Vec<&Window> {
        self.open.iter().flatten().collect()
    }

    /// Records a GET of `counter` that ran from `started` to `ended`.
    pub fn read(&mut self, counter: usize, started: Instant, ended: Instant, read: Read) -> Vec<Notice> {
        let mut notices = Vec::new();
        let Some(group) = self.counters.get(counter).map(|c| c.group) else { return notices };
        match read {
            Read::Value(found) => {
                self.totals.reads += 1;
                self.settle(counter, found, (started, ended), &mut notices);
                if let Some(c) = self.counters.get_mut(counter) {
                    c.checked = true;
                }
                self.succeeded(group, started, ended, &mut notices);
            }
            Read::Failed(cause) => {
                self.totals.failed_reads += 1;
                self.failed(group, (started, ended), cause, &mut notices, |w| w.failed_reads += 1);
            }
        }
        notices
    }

    /// Records an INCR of `counter` that ran from `started` to `ended`.
    pub fn write(&mut self, counter: usize, started: Instant, ended: Instant, write: Write) -> Vec<Notice> {
        let mut notices = Vec::new();
        let Some(group) = self.counters.get(counter).map(|c| c.group) else { return notices };
        match write {
            Write::Acked(value) => {
                self.totals.writes += 1;
                self.settle(counter, value.saturating_sub(1), (started, ended), &mut notices);
                if let Some(c) = self.counters.get_mut(counter) {
                    c.base = value;
                    c.checked = false;
                    c.acked += 1;
                }
                self.succeeded(group, started, ended, &mut notices);
            }
            Write::Failed(cause) => {
                self.totals.failed_writes += 1;
                self.failed(group, (started, ended), cause, &mut notices, |w| w.failed_writes += 1);
            }
            Write::Unknown(cause) => {
                self.totals.not_acked += 1;
                if let Some(c) = self.counters.get_mut(counter) {
                    c.unknown = c.unknown.saturating_add(1);
                    c.checked = false;
                }
                self.failed(group, (started, ended), cause, &mut notices, |w| w.not_acked += 1);
            }
        }
        notices
    }

    /// Closes every open window at `now` (the run ended with them open).
    pub fn close_all(&mut self, now: Instant) -> Vec<Window> {
        let mut ended = Vec::new();
        for slot in &mut self.open {
            if let Some(mut window) = slot.take() {
                window.closed = Some(now);
                window.at_end = true;
                self.closed.push(window.clone());
                ended.push(window);
            }
        }
        ended
    }

    /// True when a failure window of `group` overlaps the time from `since` (`None`:
    /// the start) to the end of `span`, the operation that found a loss; that
    /// operation counts too when it had to wait ([`SLOW`]).
    fn failure_seen(&self, group: usize, since: Option<Instant>, span: (Instant, Instant)) -> bool {
        let (started, ended) = span;
        let after_since = |closed: Option<Instant>| match (closed, since) {
            // A window closed by the operation that learned the value came before it.
            (Some(closed), Some(since)) => closed > since,
            _ => true,
        };
        ended.saturating_duration_since(started) >= SLOW
            || self.open.get(group).is_some_and(Option::is_some)
            || self.closed.iter().any(|w| w.group == group && w.opened <= ended && after_since(w.closed))
    }

    /// Checks `found` (the counter's value at the end of `span`) against what is known,
    /// and makes it the new base.
    fn settle(&mut self, counter: usize, found: i64, span: (Instant, Instant), notices: &mut Vec<Notice>) {
        let Some(&Counter { group, learned, .. }) = self.counters.get(counter) else { return };
        let failure_seen = self.failure_seen(group, learned, span);
        let Some(c) = self.counters.get_mut(counter) else { return };
        let (low, high) = (c.base, c.base.saturating_add(c.unknown));
        if found < low {
            let missing = low.abs_diff(found);
            self.totals.lost += missing;
            if !failure_seen {
                self.totals.lost_unseen += missing;
                if !c.went_back_unseen {
                    c.went_back_unseen = true;
                    self.totals.went_back_unseen += 1;
                }
            }
            notices.push(Notice::Lost { counter, expected: low, found, failure_seen });
        } else if found > high {
            self.totals.applied_unknown += c.unknown.unsigned_abs();
            self.totals.extra += found.abs_diff(high);
            notices.push(Notice::Extra { counter, most: high, found });
        } else {
            self.totals.applied_unknown += found.abs_diff(low);
        }
        c.base = found;
        c.unknown = 0;
        c.learned = Some(span.1);
    }

    fn succeeded(&mut self, group: usize, started: Instant, ended: Instant, notices: &mut Vec<Notice>) {
        let took = ended.saturating_duration_since(started);
        let Some(slot) = self.open.get_mut(group) else { return };
        match slot.take() {
            Some(mut window) => {
                window.longest = window.longest.max(took);
                window.closed = Some(ended);
                self.closed.push(window.clone());
                notices.push(Notice::Closed(window));
            }
            None if took >= SLOW => {
                // A success that had to wait: a window that opened and closed with it.
                let mut window = Window::new(group, started);
                window.longest = took;
                window.closed = Some(ended);
                self.closed.push(window.clone());
                notices.push(Notice::Closed(window));
            }
            None => {}
        }
    }

    /// Notes a failure in the group's open window (opened now if there is none);
    /// `count` adds it to the window's tally.
    fn failed(
        &mut self,
        group: usize,
        span: (Instant, Instant),
        cause: String,
        notices: &mut Vec<Notice>,
        count: impl FnOnce(&mut Window),
    ) {
        let (started, ended) = span;
        let Some(slot) = self.open.get_mut(group) else { return };
        let window = slot.get_or_insert_with(|| {
            notices.push(Notice::Opened { group, at: started, cause: cause.clone() });
            Window::new(group, started)
        });
        window.longest = window.longest.max(ended.saturating_duration_since(started));
        if window.cause.is_none() {
            window.cause = Some(cause);
        }
        count(window);
    }
}

#[cfg(test)]
#[path = "ledger_tests.rs"]
mod tests;
