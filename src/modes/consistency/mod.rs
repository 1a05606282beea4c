//! `rcli consistency-test`: the Redis Cluster tutorial's consistency checker
//! (docs/tutorial.md, "Which writes were lost") built into rcli, against any cluster
//! or server. N counters under a key prefix, visited in turn: each is read back (GET)
//! and incremented (INCR) through rcli's own client — the same routing, retry policy,
//! failure budget and "outcome unknown" rule as the shell — so what it reports is what
//! rcli's guarantees mean under failures: a line every second
//! (`R reads | W writes | N lost | N not acked`), a line when a window of failures
//! opens and closes, and at the end a final read of every counter, the removal of its
//! keys and a verdict.
//!
//! [`ledger`] keeps the books (pure), [`text`] words the lines (pure), [`cli`] is the
//! command line; this file is the loop, the only part that talks to servers. The shell's
//! `:consistency on|off` (sandbox only) runs the same loop on a thread.

pub mod cli;
pub mod ledger;
pub mod text;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::client::Client;
use crate::cluster::event::{Event, EventSink};
use crate::cluster::reply::Reply;
use crate::cluster::slot;
use crate::error::Error;
use crate::protocol::resp::Frame;
use ledger::{Ledger, Notice, Read, Totals, Write};
use text::Ending;

/// The default number of counters (the tutorial's working set).
pub const DEFAULT_COUNTERS: usize = 1000;
/// At most this many lost/extra lines are printed; the rest are counted.
const LISTED: usize = 20;

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub counters: usize,
    /// Stop after this long (`None`: until Ctrl-C, or `:consistency off`).
    pub duration: Option<Duration>,
    /// Every key starts with it: `<prefix><n>`.
    pub prefix: String,
    /// Leave the keys in place at the end (the tests read them).
    pub keep: bool,
}

impl Settings {
    /// A prefix no other run uses: `rcli-consistency:<pid>-<ms>:`.
    pub fn default_prefix() -> String {
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() % 1_000_000_000)
            .unwrap_or(0);
        format!("rcli-consistency:{}-{millis}:", std::process::id())
    }

    fn key(&self, counter: usize) -> Vec<u8> {
        format!("{}{counter}", self.prefix).into_bytes()
    }
}

/// Where the lines go (stdout, or above the shell's prompt).
pub trait Out {
    fn line(&mut self, text: &str);
}

/// How a run is stopped: `interrupt` is the client's Ctrl-C flag (the loop ends, the
/// final checks and the clean-up run; set again, it cuts them short); `abandon` ends
/// the run at once, without them (the sandbox is going away).
#[derive(Debug, Clone, Default)]
pub struct Controls {
    pub interrupt: Arc<AtomicBool>,
    pub abandon: Arc<AtomicBool>,
}

/// What a run found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub totals: Totals,
    pub ending: Ending,
}

impl Summary {
    pub fn consistent(&self) -> bool {
        text::consistent(&self.totals)
    }
}

/// Hop lines worth showing from the checker's client, printed as they happen: a node
/// that stopped answering (the command then waits for the cluster to heal).
struct Hops<'a> {
    out: &'a mut dyn Out,
    start: Instant,
}

impl EventSink for Hops<'_> {
    fn event(&mut self, event: Event) {
        if matches!(event, Event::NodeDown { .. }) {
            let line = crate::protocol::text::escape_controls(&event.line(), false).into_owned();
            self.out.line(&format!("{} {line}", text::since(self.start, Instant::now())));
        }
    }
}

/// Hop lines nobody looks at (the clean-up).
struct Quiet;

impl EventSink for Quiet {
    fn event(&mut self, _: Event) {}
}

/// The loop's state besides the books.
struct Run<'a> {
    client: &'a mut Client,
    settings: &'a Settings,
    controls: &'a Controls,
    out: &'a mut dyn Out,
    ledger: Ledger,
    groups: Vec<String>,
    start: Instant,
    listed: usize,
}

/// Runs the checker on a connected `client` until `settings.duration` passes or
/// `controls` stop it.
pub fn run(client: &mut Client, settings: &Settings, controls: &Controls, out: &mut dyn Out) -> Summary {
    let (groups, group_of) = groups(client, settings);
    let ledger = Ledger::new(&group_of, groups.len());
    out.line(&format!(
        "consistency test: {} counters under {:?} on {} shard(s), each read back and incremented in turn; \
         a line every second{}",
        settings.counters,
        settings.prefix,
        groups.len(),
        match settings.duration {
            Some(d) => format!(" for {} s", d.as_secs_f64()),
            None => String::new(),
        }
    ));
    let mut run = Run { client, settings, controls, out, ledger, groups, start: Instant::now(), listed: 0 };
    run.main_loop();
    if controls.abandon.load(Ordering::SeqCst) {
        return Summary {
            totals: run.ledger.totals,
            ending: Ending { prefix: settings.prefix.clone(), ..Ending::default() },
        };
    }
    controls.interrupt.store(false, Ordering::SeqCst);
    let unread = run.final_reads();
    let acked_unread = run.ledger.acked_on(&unread);
    let now = Instant::now();
    for window in run.ledger.close_all(now) {
        run.out.line(&text::still_open(&window, run.start, now, &run.groups));
    }
    let removed = if settings.keep { None } else { Some(run.remove_keys()) };
    let ending = Ending {
        unread: unread.len(),
        unresolved: run.ledger.unresolved(),
        acked_unread,
        removed,
        prefix: settings.prefix.clone(),
        interrupted: controls.interrupt.load(Ordering::SeqCst),
    };
    run.out.line(&text::progress(&run.ledger.totals, &[]));
    for line in text::verdict(&run.ledger.totals, run.ledger.windows(), &run.groups, run.start, &ending) {
        run.out.line(&line);
    }
    Summary { totals: run.ledger.totals, ending }
}

/// The groups (the primaries serving the counters' slots now, by address) and each
/// counter's group.
fn groups(client: &Client, settings: &Settings) -> (Vec<String>, Vec<usize>) {
    let mut names: Vec<String> = Vec::new();
    let mut of = Vec::with_capacity(settings.counters);
    for counter in 0..settings.counters {
        let owner = client.owner(slot::slot_of(&settings.key(counter))).unwrap_or_else(|| client.current().clone());
        let name = owner.to_string();
        let index = match names.iter().position(|n| *n == name) {
            Some(index) => index,
            None => {
                names.push(name);
                names.len() - 1
            }
        };
        of.push(index);
    }
    (names, of)
}

/// A GET's value: a missing key is 0.
fn read_of(result: Result<Reply, Error>) -> Option<Read> {
    match result {
        Ok(Reply::One(Frame::Null)) => Some(Read::Value(0)),
        Ok(Reply::One(frame)) => match (frame.as_error(), frame.as_bytes()) {
            (Some(error), _) => Some(Read::Failed(String::from_utf8_lossy(error).into_owned())),
            (None, Some(bytes)) => Some(
                std::str::from_utf8(bytes)
                    .ok()
                    .and_then(|t| t.parse::<i64>().ok())
                    .map_or_else(|| Read::Failed("the value is not a number".into()), Read::Value),
            ),
            (None, None) => Some(Read::Failed("unexpected reply to GET".into())),
        },
        Ok(_) => Some(Read::Failed("unexpected reply to GET".into())),
        Err(Error::Interrupted) => None,
        Err(e) => Some(Read::Failed(e.to_string())),
    }
}

/// What an INCR came to. A reply lost after sending, a garbled one or Ctrl-C while
/// waiting leave the outcome unknown; an error reply or a command never sent (no
/// connection, a node declared down) was not applied.
fn write_of(result: Result<Reply, Error>) -> Write {
    match result {
        Ok(Reply::One(Frame::Integer(value))) => Write::Acked(value),
        Ok(Reply::One(frame)) if frame.as_error().is_some() => {
            Write::Failed(String::from_utf8_lossy(frame.as_error().unwrap_or_default()).into_owned())
        }
        Ok(_) => Write::Unknown("unexpected reply to INCR".into()),
        Err(
            e @ (Error::OutcomeUnknown { .. } | Error::Interrupted | Error::Protocol { .. } | Error::Timeout { .. }),
        ) => Write::Unknown(e.to_string()),
        Err(e) => Write::Failed(e.to_string()),
    }
}

impl Run<'_> {
    fn stopping(&self) -> bool {
        self.controls.interrupt.load(Ordering::SeqCst) || self.controls.abandon.load(Ordering::SeqCst)
    }

    fn key_text(&self, counter: usize) -> String {
        format!("{}{counter}", crate::protocol::text::escape_controls(&self.settings.prefix, false))
    }

    fn main_loop(&mut self) {
        let mut next_report = self.start + Duration::from_secs(1);
        let mut step: usize = 0;
        while !self.stopping() && self.settings.counters > 0 {
            let counter = step % self.settings.counters;
            step = step.wrapping_add(1);
            let key = self.settings.key(counter);
            let (started, result) = self.execute(&[b"GET".to_vec(), key.clone()]);
            let Some(read) = read_of(result) else { break };
            let notices = self.ledger.read(counter, started, Instant::now(), read);
            self.show(&notices);
            if self.stopping() {
                break;
            }
            let (started, result) = self.execute(&[b"INCR".to_vec(), key]);
            let interrupted = matches!(result, Err(Error::Interrupted));
            let notices = self.ledger.write(counter, started, Instant::now(), write_of(result));
            self.show(&notices);
            let now = Instant::now();
            if now >= next_report {
                let open: Vec<(String, Duration)> = self
                    .ledger
                    .open_windows()
                    .iter()
                    .map(|w| (self.groups.get(w.group).cloned().unwrap_or_default(), w.length(now)))
                    .collect();
                self.out.line(&text::progress(&self.ledger.totals, &open));
                while next_report <= now {
                    next_report += Duration::from_secs(1);
                }
            }
            if interrupted || self.settings.duration.is_some_and(|d| now.saturating_duration_since(self.start) >= d) {
                break;
            }
        }
    }

    fn execute(&mut self, argv: &[Vec<u8>]) -> (Instant, Result<Reply, Error>) {
        let started = Instant::now();
        let mut hops = Hops { out: &mut *self.out, start: self.start };
        let command = self.client.command(argv.to_vec());
        let result = self.client.execute(&command, &mut hops);
        (started, result)
    }

    fn show(&mut self, notices: &[Notice]) {
        let now = Instant::now();
        for notice in notices {
            if matches!(notice, Notice::Lost { .. } | Notice::Extra { .. }) {
                self.listed += 1;
                if self.listed > LISTED {
                    if self.listed == LISTED + 1 {
                        self.out.line("(further lost or extra increments are counted, not listed)");
                    }
                    continue;
                }
            }
            let line = text::notice(notice, self.start, now, &self.groups, |i| self.key_text(i));
            self.out.line(&line);
        }
    }

    /// Reads back every counter once more, so that every write's fate is settled (a
    /// write acknowledged and read back may still be lost by a failover after the
    /// read); returns the counters that could not be read.
    fn final_reads(&mut self) -> Vec<usize> {
        let mut unread = Vec::new();
        for counter in 0..self.settings.counters {
            if self.controls.interrupt.load(Ordering::SeqCst) {
                unread.push(counter);
                continue;
            }
            let (started, result) = self.execute(&[b"GET".to_vec(), self.settings.key(counter)]);
            match read_of(result) {
                Some(read @ Read::Value(_)) => {
                    let notices = self.ledger.read(counter, started, Instant::now(), read);
                    self.show(&notices);
                }
                _ => unread.push(counter),
            }
        }
        unread
    }

    /// Removes the counters' keys; returns (removed, left).
    fn remove_keys(&mut self) -> (usize, usize) {
        let (mut removed, mut left) = (0, 0);
        for counter in 0..self.settings.counters {
            if self.controls.interrupt.load(Ordering::SeqCst) {
                left += 1;
                continue;
            }
            let unlink = self.client.command(vec![b"UNLINK".to_vec(), self.settings.key(counter)]);
            match self.client.execute(&unlink, &mut Quiet) {
                Ok(Reply::One(frame)) if frame.as_error().is_none() => removed += 1,
                _ => left += 1,
            }
        }
        (removed, left)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_classified_by_what_they_say_about_the_write() {
        let unknown = Error::OutcomeUnknown { addr: "a:1".into(), cause: "connection closed".into() };
        assert!(matches!(write_of(Err(unknown)), Write::Unknown(_)));
        assert!(matches!(write_of(Err(Error::Interrupted)), Write::Unknown(_)));
        let down = Error::Down { what: "a:1".into(), cause: "refused".into(), waited: Duration::from_secs(5) };
        assert!(matches!(write_of(Err(down)), Write::Failed(_)));
        assert_eq!(write_of(Ok(Reply::One(Frame::Integer(7)))), Write::Acked(7));
        let clusterdown = Frame::Error(b"CLUSTERDOWN The cluster is down".to_vec());
        assert_eq!(write_of(Ok(Reply::One(clusterdown))), Write::Failed("CLUSTERDOWN The cluster is down".into()));
        assert_eq!(read_of(Ok(Reply::One(Frame::Null))), Some(Read::Value(0)));
        assert_eq!(read_of(Ok(Reply::One(Frame::Bulk(b"42".to_vec())))), Some(Read::Value(42)));
        assert!(matches!(read_of(Ok(Reply::One(Frame::Bulk(b"x".to_vec())))), Some(Read::Failed(_))));
        assert_eq!(read_of(Err(Error::Interrupted)), None);
    }
}
