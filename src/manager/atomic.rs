//! Atomic slot migration (Valkey 9.1's `CLUSTER MIGRATESLOTS`), for reshard and rebalance
//! with `--cluster-use-atomic-slot-migration` (docs/cluster-manager.md, "Atomic slot
//! migration"): one server-driven job per source → target group, started on the source
//! and followed with `CLUSTER GETSLOTMIGRATIONS` until it ends. The server moves every
//! database's keys, never leaves a slot open and cleans up a failed import by itself;
//! rcli checks before it starts what the server does not (the target must hold no key
//! of the slots: a 9.1.2 target crashes otherwise), journals the job's name, and judges
//! the end by who owns the slots, not only by the job's state.

use std::time::{Duration, Instant};

use crate::protocol::resp::{Frame, field};

use super::census::{self, Census};
use super::journal::SharedJournal;
use super::link::{Link, error_of};
use super::moves::{Peer, Piece, Settings, SlotOutcome};
use super::report::Level;
use super::settle;

/// How often a running job is looked at.
const POLL: Duration = Duration::from_millis(100);

/// One entry of `CLUSTER GETSLOTMIGRATIONS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// 40 hex characters, the same on the source and the target.
    pub name: String,
    pub export: bool,
    /// As the server shows them: `0-999 2000-2000`.
    pub ranges: String,
    pub source: String,
    pub target: String,
    pub state: String,
    pub message: String,
    /// What changes while the job makes progress (times, bytes left).
    pub progress: String,
}

impl Job {
    pub fn is_over(&self) -> bool {
        matches!(self.state.as_str(), "success" | "failed" | "cancelled")
    }
}

/// A short plain word or number from the server (anything else reads as empty).
fn word(pairs: &[(&Frame, &Frame)], name: &str) -> String {
    let text = field(pairs, name).and_then(Frame::to_text).unwrap_or_default();
    let plain = text.len() <= 64 && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b));
    if plain { text } else { String::new() }
}

/// Parses `CLUSTER GETSLOTMIGRATIONS` (arrays of pairs, or maps under RESP3); entries
/// without a valid name are left out, unknown fields ignored.
pub fn parse_jobs(reply: &Frame) -> Vec<Job> {
    reply
        .as_items()
        .unwrap_or_default()
        .iter()
        .filter_map(|entry| {
            let pairs = entry.to_pairs()?;
            let name = word(&pairs, "name").to_ascii_lowercase();
            if !super::model::is_node_id(&name) {
                return None;
            }
            let ranges = field(&pairs, "slot_ranges").and_then(Frame::to_text).unwrap_or_default();
            let ranges = if ranges.len() <= 100_000 && ranges.bytes().all(|b| b.is_ascii_digit() || b" -".contains(&b))
            {
                ranges
            } else {
                String::new()
            };
            let message = field(&pairs, "message").and_then(Frame::to_text).unwrap_or_default();
            let progress = ["last_update_time", "last_ack_time", "remaining_repl_size", "state"]
                .iter()
                .map(|f| word(&pairs, f))
                .collect::<Vec<_>>()
                .join("/");
            Some(Job {
                name,
                export: word(&pairs, "operation").eq_ignore_ascii_case("EXPORT"),
                ranges,
                source: word(&pairs, "source_node").to_ascii_lowercase(),
                target: word(&pairs, "target_node").to_ascii_lowercase(),
                state: word(&pairs, "state"),
                message: message.trim_end().chars().take(500).collect(),
                progress,
            })
        })
        .collect()
}

/// Contiguous ranges of `slots` (in order), as the server writes them: `0-999 2000-2000`.
pub fn range_text(slots: &[u16]) -> String {
    let mut ranges: Vec<(u16, u16)> = Vec::new();
    for &slot in slots {
        match ranges.last_mut() {
            Some((_, end)) if end.checked_add(1) == Some(slot) => *end = slot,
            _ => ranges.push((slot, slot)),
        }
    }
    ranges.iter().map(|(a, b)| format!("{a}-{b}")).collect::<Vec<_>>().join(" ")
}

/// `CLUSTER MIGRATESLOTS SLOTSRANGE a b … NODE <target>`.
fn migrate_slots_argv(slots: &[u16], target: &str) -> Vec<String> {
    let mut argv = vec!["CLUSTER".to_string(), "MIGRATESLOTS".into(), "SLOTSRANGE".into()];
    for range in range_text(slots).split(' ').filter(|r| !r.is_empty()) {
        argv.extend(range.split('-').map(str::to_string));
    }
    argv.extend(["NODE".to_string(), target.to_string()]);
    argv
}

/// What asking a node for its jobs came to.
pub enum Asked {
    Jobs(Vec<Job>),
    /// An error reply (no such command: not Valkey 9.1+).
    Refused(String),
    /// The node could not be asked (gone, frozen past the wait).
    Unreachable(String),
    /// Ctrl-C (the second): stop waiting.
    Interrupted,
}

/// The node's slot migration jobs.
pub fn ask(link: &mut Link, node: &Peer) -> Asked {
    match link.cmd(&node.endpoint(), &["CLUSTER", "GETSLOTMIGRATIONS"]) {
        Err(crate::error::Error::Interrupted) => Asked::Interrupted,
        Err(e) => Asked::Unreachable(e.to_string()),
        Ok(reply) => match error_of(&reply) {
            Some(e) => Asked::Refused(e),
            None => Asked::Jobs(parse_jobs(&reply)),
        },
    }
}

/// The node's jobs, or why not.
pub fn jobs(link: &mut Link, node: &Peer) -> Result<Vec<Job>, String> {
    match ask(link, node) {
        Asked::Jobs(jobs) => Ok(jobs),
        Asked::Refused(e) | Asked::Unreachable(e) => Err(e),
        Asked::Interrupted => Err("interrupted".into()),
    }
}

/// What is wrong with starting a job moving `slots` from `src` to `dst` now, one line
/// per problem (empty: go ahead): the legacy checks of [`settle::may_open`], and what
/// the server needs: no slot open on either side, no key of the slots on the target.
pub fn may_start(census: &Census, slots: &[u16], src: &Peer, dst: &Peer) -> Vec<String> {
    let mut refusals = settle::may_open(census, slots, &src.id, &dst.id);
    for side in [src, dst] {
        if let Some(node) = census.node(&side.id)
            && let Some(slot) = node.line.migrating.iter().chain(&node.line.importing).map(|(s, _)| *s).next()
        {
            refusals.push(format!(
                "{} has slot {slot} open (a move by MIGRATE): atomic slot migration needs none open; `rcli --cluster fix` closes it",
                side.addr()
            ));
        }
    }
    if let Some(target) = census.node(&dst.id) {
        let held: Vec<u16> = slots.iter().copied().filter(|s| target.keys_in(*s) != Some(0)).collect();
        if !held.is_empty() {
            refusals.push(format!(
                "the target {} holds keys of slots {} it does not own (left by an interrupted move?): `rcli --cluster fix <host:port> --cluster-search-multiple-owners` gives them to their owner first",
                dst.addr(),
                census::slot_ranges(&held)
            ));
        }
    }
    refusals
}

/// Moves `slots` from `src` to `dst` in one job. Output as valkey-cli's: `Moving slot
/// range R from A to B via atomic slot migration`, a dot per look at the running job, a
/// `#` per slot (rcli ends the line); quiet (rebalance): nothing (the caller prints `#`s).
pub fn move_group(
    link: &mut Link,
    src: &Peer,
    dst: &Peer,
    slots: &[u16],
    s: &Settings,
    quiet: bool,
    journal: Option<&SharedJournal>,
) -> Vec<SlotOutcome> {
    let first = slots.first().copied().unwrap_or(0);
    let mut out = SlotOutcome { slot: first, ..SlotOutcome::default() };
    let ranges = range_text(slots);
    let fail = |mut out: SlotOutcome, error: String| {
        out.pieces.push(Piece::Log(Level::Err, format!("Atomic slot migration failed: {error}")));
        out.error = Some(error);
        vec![out]
    };
    let mut known: Vec<crate::endpoint::Endpoint> = s.masters.iter().map(Peer::endpoint).collect();
    known.extend([src.endpoint(), dst.endpoint()]);
    let census = census::take(link, &known, slots, s.databases);
    let refusals = may_start(&census, slots, src, dst);
    if !refusals.is_empty() {
        out.pieces.extend(refusals.iter().map(|r| Piece::Note(format!("rcli: refusing to move {r}"))));
        out.error = Some(format!("the nodes do not allow moving slots {ranges} from {} to {}", src.addr(), dst.addr()));
        return vec![out];
    }
    if !quiet {
        out.pieces.push(Piece::Text(format!(
            "Moving slot range {ranges} from {} to {} via atomic slot migration",
            src.addr(),
            dst.addr()
        )));
    }
    if let Some(j) = journal {
        j.opening(slots, src, dst);
        super::fault::fault_point("journal-open");
    }
    let started = link.cmd(&src.endpoint(), &migrate_slots_argv(slots, &dst.id));
    match started {
        Ok(reply) => {
            if let Some(e) = error_of(&reply) {
                if let Some(j) = journal {
                    j.not_started(slots);
                }
                return fail(out, e);
            }
        }
        Err(e) => return fail(out, format!("{}: {e}", src.addr())),
    }
    // Its name, once: the newest export of exactly these ranges to this target.
    let name = jobs(link, src).ok().and_then(|jobs| {
        jobs.into_iter().find(|j| j.export && j.ranges == ranges && j.target == dst.id).map(|j| j.name)
    });
    if let (Some(j), Some(name)) = (journal, &name) {
        j.job(slots, name);
    }
    super::fault::fault_point("atomic-started");
    // A job that failed while its cut-over went through still moved the slots: who owns
    // them has the last word.
    let ended = match follow(link, src, name.as_deref(), s, quiet, &mut out) {
        Ok(()) => owned_by(link, dst, slots, s),
        Err(e) => owned_by(link, dst, slots, s).map_err(|_| e),
    };
    match ended {
        Ok(()) => {
            if let Some(j) = journal {
                j.done(slots);
            }
            if !quiet {
                out.pieces.push(Piece::Text(format!("{}\n", "#".repeat(slots.len()))));
            }
            let mut outcomes = vec![out];
            outcomes.extend(slots.iter().skip(1).map(|&slot| SlotOutcome { slot, ..SlotOutcome::default() }));
            outcomes
        }
        Err(e) => {
            if !quiet {
                out.pieces.push(Piece::Text("\n".into()));
            }
            fail(out, e)
        }
    }
}

/// Waits for job `name` on `src` to end (a dot per look, unless quiet). Ends with an
/// error when it failed or was cancelled, when rcli stops waiting (Ctrl-C twice, or no
/// progress for the MIGRATE wait: the job goes on on the server), or when the source no
/// longer knows it (then the owner of the slots tells, see [`owned_by`]).
fn follow(
    link: &mut Link,
    src: &Peer,
    name: Option<&str>,
    s: &Settings,
    quiet: bool,
    out: &mut SlotOutcome,
) -> Result<(), String> {
    let Some(name) = name else { return Ok(()) };
    let mut last = String::new();
    let mut since = Instant::now();
    loop {
        let job = match ask(link, src) {
            Asked::Jobs(jobs) => jobs.into_iter().find(|j| j.name == name),
            Asked::Interrupted => {
                return Err(format!(
                    "rcli stopped waiting: job {name} goes on on the server; --cluster-resume follows it"
                ));
            }
            // Source gone (a failover, a crash): who owns the slots now tells.
            Asked::Refused(_) | Asked::Unreachable(_) => return Ok(()),
        };
        let Some(job) = job else { return Ok(()) };
        match job.state.as_str() {
            "success" => return Ok(()),
            "failed" | "cancelled" if job.message.is_empty() => return Err(format!("the job was {}", job.state)),
            "failed" | "cancelled" => return Err(job.message),
            _ => {}
        }
        if job.progress != last {
            last = job.progress;
            since = Instant::now();
        } else if since.elapsed() > s.migrate_wait() {
            return Err(format!(
                "job {name} made no progress for {} s; rcli stopped waiting (it goes on on the server): --cluster-resume follows it, --cluster-abandon cancels it",
                s.migrate_wait().as_secs()
            ));
        }
        if !quiet {
            out.pieces.push(Piece::Text(".".into()));
        }
        std::thread::sleep(POLL);
    }
}

/// Whether `dst` owns every slot of `slots` by its own account (the end of a job, or a
/// job the source no longer knows, is judged by ownership).
fn owned_by(link: &mut Link, dst: &Peer, slots: &[u16], s: &Settings) -> Result<(), String> {
    let census = census::take(link, &[dst.endpoint()], slots, s.databases);
    let owns = census.node(&dst.id).is_some_and(|d| slots.iter().all(|&slot| d.owns(slot)));
    if owns {
        Ok(())
    } else {
        Err(format!("{} does not own slots {} after the migration", dst.addr(), census::slot_ranges(slots)))
    }
}

/// Cancels the running exports of `src` (the server cancels them all at once): only
/// when the one running is `name`, else the names of the others.
pub fn cancel(link: &mut Link, src: &Peer, name: &str, force: bool) -> Result<bool, String> {
    let running: Vec<Job> = jobs(link, src)?.into_iter().filter(|j| j.export && !j.is_over()).collect();
    if !running.iter().any(|j| j.name == name) {
        return Ok(false);
    }
    let others: Vec<&str> = running.iter().filter(|j| j.name != name).map(|j| j.name.as_str()).collect();
    if !others.is_empty() && !force {
        return Err(format!(
            "{} also runs migrations {}: cancelling cancels them all; --cluster-force does it anyway",
            src.addr(),
            others.join(", ")
        ));
    }
    let reply = link.cmd(&src.endpoint(), &["CLUSTER", "CANCELSLOTMIGRATIONS"]).map_err(|e| e.to_string())?;
    if let Some(e) = error_of(&reply).filter(|e| !e.contains("No migrations ongoing")) {
        return Err(e);
    }
    Ok(true)
}

/// Waits (bounded) until job `name` is over on `src`, or `src` no longer knows it.
pub fn wait_over(link: &mut Link, src: &Peer, name: &str, limit: Duration) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    loop {
        let job = match ask(link, src) {
            Asked::Jobs(jobs) => jobs.into_iter().find(|j| j.name == name),
            Asked::Interrupted => return Err("interrupted".into()),
            Asked::Refused(_) | Asked::Unreachable(_) => None,
        };
        if job.is_none_or(|j| j.is_over()) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("job {name} on {} is still running after {} s", src.addr(), limit.as_secs()));
        }
        std::thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(text: &str) -> Frame {
        Frame::Bulk(text.as_bytes().to_vec())
    }

    fn entry(pairs: &[(&str, Frame)]) -> Frame {
        Frame::Array(pairs.iter().flat_map(|(k, v)| [bulk(k), v.clone()]).collect())
    }

    #[test]
    fn jobs_parse_from_arrays_and_maps_and_hostile_fields_are_dropped() {
        let name = "8ae1680005a14fdaf40eda16aa0f60501d8afadd";
        let good = entry(&[
            ("name", bulk(name)),
            ("operation", bulk("EXPORT")),
            ("slot_ranges", bulk("0-999 2000-2000")),
            ("target_node", bulk(&"e".repeat(40))),
            ("source_node", bulk(&"f".repeat(40))),
            ("create_time", Frame::Integer(1)),
            ("last_update_time", Frame::Integer(2)),
            ("state", bulk("failed")),
            ("message", bulk("Connection lost to target.\r\n")),
            ("new_field_of_9_2", bulk("ignored")),
        ]);
        let map = Frame::Map(vec![(bulk("name"), bulk(&"a".repeat(40))), (bulk("state"), bulk("snapshotting"))]);
        let hostile = entry(&[("name", bulk("../../x")), ("state", bulk("success"))]);
        let jobs = parse_jobs(&Frame::Array(vec![good, map, hostile]));
        assert_eq!(jobs.len(), 2);
        assert_eq!(jobs[0].name, name);
        assert!(jobs[0].export && jobs[0].is_over());
        assert_eq!(jobs[0].ranges, "0-999 2000-2000");
        assert_eq!(jobs[0].message, "Connection lost to target.");
        assert_eq!((jobs[1].state.as_str(), jobs[1].is_over()), ("snapshotting", false));
        let odd = entry(&[("name", bulk(name)), ("state", bulk("x\u{1b}[2J")), ("slot_ranges", bulk("1-2;rm"))]);
        let jobs = parse_jobs(&Frame::Array(vec![odd]));
        assert_eq!((jobs[0].state.as_str(), jobs[0].ranges.as_str()), ("", ""));
    }

    #[test]
    fn ranges_read_like_the_servers() {
        assert_eq!(range_text(&[0, 1, 2, 5, 7, 8]), "0-2 5-5 7-8");
        assert_eq!(range_text(&[]), "");
        let argv = migrate_slots_argv(&[0, 1, 2, 5], "t");
        assert_eq!(argv, ["CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", "0", "2", "5", "5", "NODE", "t"]);
    }
}
