//! Running a plan of slot moves: consecutive moves between the same two nodes form
//! groups (moved together by [`mover::move_slots`]); groups whose nodes are all
//! different run at the same time, one thread each (up to `--cluster-parallel`, and no
//! more than half the nodes involved: [`movers`]); what they print comes out in plan
//! order, as if they had run one after the other. A first
//! Ctrl-C lets the running groups finish and starts no new one. Each mover has
//! connections of its own only to its group's source and target; the census and the
//! final SETSLOT NODE reach the other nodes through one pool shared by the run
//! ([`LinkTemplate::mover_link`]): about `nodes + 2 × movers` descriptors.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use super::journal::{SharedJournal, Unit};
use super::link::LinkTemplate;
use super::mover::{self, Peer, Piece, Settings, SlotOutcome, Style};
use super::progress::Progress;
use super::report::Report;
use crate::client::pool::Pool;

/// Slots moved together per node pair (their SETSLOTs share one config save per node).
pub const GROUP: usize = 32;

/// How many slots move as one group: [`GROUP`], or with atomic slot migration all of a
/// pair's consecutive moves (one server job, as valkey-cli does).
pub fn group_size(atomic: bool) -> usize {
    if atomic { usize::MAX } else { GROUP }
}

/// Slots moved together between one source and one target.
#[derive(Debug, Clone)]
pub struct Group {
    pub src: Peer,
    pub dst: Peer,
    pub slots: Vec<u16>,
}

/// Splits plan units into groups of at most `size` consecutive slots per node pair.
pub fn groups(units: &[Unit], size: usize) -> Vec<Group> {
    let mut out: Vec<Group> = Vec::new();
    for unit in units {
        match out.last_mut() {
            Some(g) if g.src == unit.src && g.dst == unit.dst && g.slots.len() < size.max(1) => g.slots.push(unit.slot),
            _ => out.push(Group { src: unit.src.clone(), dst: unit.dst.clone(), slots: vec![unit.slot] }),
        }
    }
    out
}

/// Prints what moving slots printed (redis-cli's lines and dots).
pub fn print_outcomes(report: &mut Report, outcomes: &[SlotOutcome]) {
    for outcome in outcomes {
        print_pieces(report, &outcome.pieces);
    }
}

pub fn print_pieces(report: &mut Report, pieces: &[Piece]) {
    for piece in pieces {
        match piece {
            Piece::Text(text) => report.text(text),
            Piece::Log(level, text) => report.log(*level, text),
            Piece::Note(text) => report.note(text),
            Piece::Aside(text) => report.aside(text),
        }
    }
}

/// The shared state of a run; `taken` and `results` have one entry per group.
struct Board {
    /// The first group not taken yet.
    next: usize,
    busy: HashSet<String>,
    taken: Vec<bool>,
    results: Vec<Option<Vec<SlotOutcome>>>,
    failed: bool,
    running: usize,
}

impl Board {
    fn is_taken(&self, index: usize) -> bool {
        self.taken.get(index).copied().unwrap_or(true)
    }

    fn result(&mut self, index: usize) -> Option<Vec<SlotOutcome>> {
        self.results.get_mut(index).and_then(Option::take)
    }

    /// The first group from `next` on that may start: not taken, its nodes not busy,
    /// and no earlier group waiting that shares a node with it (no overtaking).
    fn startable<'g>(&self, groups: &'g [Group]) -> Option<(usize, &'g Group)> {
        let mut waiting: Vec<&Group> = Vec::new();
        for (i, (group, &taken)) in groups.iter().zip(&self.taken).enumerate().skip(self.next) {
            if taken {
                continue;
            }
            if !self.busy.contains(&group.src.id) && !self.busy.contains(&group.dst.id) {
                let shares = |other: &&Group| {
                    [&other.src.id, &other.dst.id].iter().any(|id| **id == group.src.id || **id == group.dst.id)
                };
                return (!waiting.iter().any(shares)).then_some((i, group));
            }
            waiting.push(group);
        }
        None
    }

    fn take(&mut self, index: usize) {
        if let Some(taken) = self.taken.get_mut(index) {
            *taken = true;
        }
        self.running += 1;
        self.next = self.taken.iter().skip(self.next).position(|t| !t).map_or(self.taken.len(), |p| self.next + p);
    }

    fn finish(&mut self, index: usize, outcomes: Vec<SlotOutcome>) {
        self.running -= 1;
        if outcomes.iter().any(|o| o.error.is_some()) {
            self.failed = true;
        }
        if let Some(result) = self.results.get_mut(index) {
            *result = Some(outcomes);
        }
    }
}

/// What a run of groups ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    Done,
    /// A move failed; its error text (possibly empty).
    Failed(String),
    /// Ctrl-C: stopped between groups.
    Stopped,
}

/// Runs `groups` and hands each group's outcomes, in plan order, to `emit`; the movers
/// reach nodes other than their group's two through `shared` ([`Link::lend_pool`]).
///
/// [`Link::lend_pool`]: super::link::Link::lend_pool
#[allow(clippy::too_many_arguments)]
pub fn run(
    template: &LinkTemplate,
    shared: &Arc<Mutex<Pool>>,
    groups: &[Group],
    settings: &Settings,
    style: Style,
    journal: Option<&SharedJournal>,
    parallel: usize,
    stop: &AtomicBool,
    progress: Option<&Progress>,
    emit: &mut dyn FnMut(usize, &[SlotOutcome]),
) -> Ended {
    let board = Mutex::new(Board {
        next: 0,
        busy: HashSet::new(),
        taken: vec![false; groups.len()],
        results: vec![None; groups.len()],
        failed: false,
        running: 0,
    });
    let changed = Condvar::new();
    let workers = movers(parallel, groups);
    let mut ended = Ended::Done;
    std::thread::scope(|scope| {
        // A mover the system refuses to start leaves its groups to the others.
        let started = crate::client::workers::start(scope, "rcli-mover", workers, || {
            || {
                let link = template.mover_link(shared.clone());
                worker(link, groups, settings, style, journal, stop, progress, &board, &changed)
            }
        });
        if started.is_empty() {
            ended = Ended::Failed("no thread could be started to move slots".into());
            return;
        }
        let mut emitted = 0;
        let mut guard = board.lock().unwrap_or_else(|e| e.into_inner());
        while emitted < groups.len() {
            if let Some(outcomes) = guard.result(emitted) {
                drop(guard);
                emit(emitted, &outcomes);
                if let Some(failed) = outcomes.iter().find_map(|o| o.error.clone()) {
                    ended = Ended::Failed(failed);
                }
                emitted += 1;
                guard = board.lock().unwrap_or_else(|e| e.into_inner());
                if ended != Ended::Done {
                    guard.failed = true;
                    changed.notify_all();
                }
                continue;
            }
            let nothing_left = !guard.is_taken(emitted) && (guard.failed || stop.load(Ordering::SeqCst));
            if nothing_left && guard.running == 0 {
                if ended == Ended::Done {
                    ended = Ended::Stopped;
                }
                // Later groups that ran in parallel already are printed too.
                for i in emitted..groups.len() {
                    if let Some(outcomes) = guard.result(i) {
                        drop(guard);
                        emit(i, &outcomes);
                        guard = board.lock().unwrap_or_else(|e| e.into_inner());
                    }
                }
                break;
            }
            guard = changed.wait(guard).unwrap_or_else(|e| e.into_inner());
        }
    });
    ended
}

/// How many movers a run starts: `--cluster-parallel`, but never more than there are
/// groups, nor than pairs of distinct nodes can move at once (each node is in one
/// running group at a time: half the nodes), nor [`workers::MAX_WIDTH`]; at least one.
///
/// [`workers::MAX_WIDTH`]: crate::client::workers::MAX_WIDTH
pub fn movers(parallel: usize, groups: &[Group]) -> usize {
    let nodes: HashSet<&str> = groups.iter().flat_map(|g| [g.src.id.as_str(), g.dst.id.as_str()]).collect();
    parallel.min(groups.len()).min(nodes.len() / 2).clamp(1, crate::client::workers::MAX_WIDTH)
}

#[allow(clippy::too_many_arguments)]
fn worker(
    mut link: super::link::Link,
    groups: &[Group],
    settings: &Settings,
    style: Style,
    journal: Option<&SharedJournal>,
    stop: &AtomicBool,
    progress: Option<&Progress>,
    board: &Mutex<Board>,
    changed: &Condvar,
) {
    loop {
        let mut guard = board.lock().unwrap_or_else(|e| e.into_inner());
        let (index, group) = loop {
            if guard.failed || stop.load(Ordering::SeqCst) || guard.next >= groups.len() {
                return;
            }
            match guard.startable(groups) {
                Some(found) => break found,
                None => guard = changed.wait(guard).unwrap_or_else(|e| e.into_inner()),
            }
        };
        guard.take(index);
        guard.busy.insert(group.src.id.clone());
        guard.busy.insert(group.dst.id.clone());
        drop(guard);
        link.set_home(&[group.src.endpoint(), group.dst.endpoint()]);
        let outcomes =
            mover::move_slots(&mut link, &group.src, &group.dst, &group.slots, settings, style, journal, &mut |o| {
                if let Some(p) = progress {
                    p.advance(1);
                    p.set_message(format!("{} keys in slot {}", o.keys, o.slot));
                }
            });
        let mut guard = board.lock().unwrap_or_else(|e| e.into_inner());
        guard.busy.remove(&group.src.id);
        guard.busy.remove(&group.dst.id);
        guard.finish(index, outcomes);
        changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(id: &str) -> Peer {
        Peer { id: id.into(), host: "h".into(), port: 1 }
    }

    #[test]
    fn consecutive_moves_of_a_pair_group_up_to_the_size() {
        let units: Vec<Unit> =
            (0..5u16).map(|s| Unit { slot: s, src: peer(if s < 4 { "a" } else { "b" }), dst: peer("c") }).collect();
        let g = groups(&units, 3);
        let sizes: Vec<usize> = g.iter().map(|g| g.slots.len()).collect();
        assert_eq!(sizes, [3, 1, 1]);
        assert_eq!(g[2].src.id, "b");
    }

    #[test]
    fn movers_are_bounded_by_the_pairs_that_can_move_at_once() {
        let group = |src: &str, dst: &str| Group { src: peer(src), dst: peer(dst), slots: vec![0] };
        // Five nodes: two pairs at most move at once, whatever --cluster-parallel says.
        let five: Vec<Group> =
            [("a", "b"), ("c", "d"), ("e", "a"), ("b", "c"), ("d", "e")].iter().map(|(s, d)| group(s, d)).collect();
        assert_eq!(movers(100_000, &five), 2);
        assert_eq!(movers(1, &five), 1);
        assert_eq!(movers(4, &five[..1]), 1, "no more movers than groups");
        assert_eq!(movers(0, &[]), 1);
        let many: Vec<Group> = (0..4000).map(|i| group(&format!("s{i}"), &format!("d{i}"))).collect();
        assert_eq!(movers(usize::MAX, &many), crate::client::workers::MAX_WIDTH);
    }

    fn board(groups: &[Group], busy: &[&str]) -> Board {
        Board {
            next: 0,
            busy: busy.iter().map(|b| b.to_string()).collect(),
            taken: vec![false; groups.len()],
            results: vec![None; groups.len()],
            failed: false,
            running: 0,
        }
    }

    #[test]
    fn a_group_starts_when_its_nodes_are_free_and_it_overtakes_no_group_sharing_one() {
        let group = |src: &str, dst: &str| Group { src: peer(src), dst: peer(dst), slots: vec![0] };
        let groups = [group("a", "b"), group("c", "d"), group("a", "e"), group("f", "g")];
        let first = |busy: &[&str]| board(&groups, busy).startable(&groups).map(|(i, _)| i);
        assert_eq!(first(&[]), Some(0));
        // a->b waits for b; c->d may overtake it.
        assert_eq!(first(&["b"]), Some(1));
        // The first free group, a->e, may not overtake a->b (both use a): nothing starts.
        assert_eq!(first(&["b", "c"]), None);
        assert_eq!(first(&["b", "c", "a"]), Some(3));
        assert_eq!(first(&["b", "d", "e", "g"]), None);
        let mut b = board(&groups, &[]);
        b.take(0);
        b.take(2);
        assert_eq!((b.next, b.running), (1, 2));
        b.take(1);
        assert_eq!(b.next, 3, "next skips every taken group");
        assert_eq!(b.startable(&groups).map(|(i, _)| i), Some(3));
        b.take(3);
        assert_eq!(b.next, 4);
        assert!(b.is_taken(4), "past the end counts as taken");
    }
}
