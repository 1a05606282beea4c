//! Running a plan of slot moves: consecutive moves between the same two nodes form
//! groups (moved together by [`mover::move_slots`]); groups whose nodes are all
//! different run at the same time, one thread and one pool each (up to
//! `--cluster-parallel`); what they print comes out in plan order, as if they had run
//! one after the other. A first Ctrl-C lets the running groups finish and starts no
//! new one.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};

use super::journal::{SharedJournal, Unit};
use super::link::LinkTemplate;
use super::mover::{self, Peer, Piece, Settings, SlotOutcome, Style};
use super::progress::Progress;
use super::report::Report;

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
        }
    }
}

struct Board {
    next: usize,
    busy: HashSet<String>,
    taken: Vec<bool>,
    results: Vec<Option<Vec<SlotOutcome>>>,
    failed: bool,
    running: usize,
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

/// Runs `groups` and hands each group's outcomes, in plan order, to `emit`.
#[allow(clippy::too_many_arguments)]
pub fn run(
    template: &LinkTemplate,
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
    let workers = parallel.clamp(1, groups.len().max(1));
    let mut ended = Ended::Done;
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| worker(template, groups, settings, style, journal, stop, progress, &board, &changed));
        }
        let mut emitted = 0;
        let mut guard = board.lock().unwrap_or_else(|e| e.into_inner());
        while emitted < groups.len() {
            if let Some(outcomes) = guard.results[emitted].take() {
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
            let nothing_left = !guard.taken[emitted] && (guard.failed || stop.load(Ordering::SeqCst));
            if nothing_left && guard.running == 0 {
                if ended == Ended::Done {
                    ended = Ended::Stopped;
                }
                // Later groups that ran in parallel already are printed too.
                for i in emitted..groups.len() {
                    if let Some(outcomes) = guard.results[i].take() {
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

#[allow(clippy::too_many_arguments)]
fn worker(
    template: &LinkTemplate,
    groups: &[Group],
    settings: &Settings,
    style: Style,
    journal: Option<&SharedJournal>,
    stop: &AtomicBool,
    progress: Option<&Progress>,
    board: &Mutex<Board>,
    changed: &Condvar,
) {
    let mut link = template.link();
    loop {
        let mut guard = board.lock().unwrap_or_else(|e| e.into_inner());
        let index = loop {
            if guard.failed || stop.load(Ordering::SeqCst) || guard.next >= groups.len() {
                return;
            }
            let start = guard.next;
            let free = (start..groups.len()).find(|&i| {
                !guard.taken[i] && !guard.busy.contains(&groups[i].src.id) && !guard.busy.contains(&groups[i].dst.id)
            });
            // A group may not overtake an earlier one that shares a node with it.
            let allowed = free.filter(|&i| {
                (start..i).all(|j| {
                    guard.taken[j]
                        || ![&groups[j].src.id, &groups[j].dst.id]
                            .iter()
                            .any(|id| **id == groups[i].src.id || **id == groups[i].dst.id)
                })
            });
            match allowed {
                Some(i) => break i,
                None => guard = changed.wait(guard).unwrap_or_else(|e| e.into_inner()),
            }
        };
        guard.taken[index] = true;
        guard.running += 1;
        while guard.next < groups.len() && guard.taken[guard.next] {
            guard.next += 1;
        }
        let group = &groups[index];
        guard.busy.insert(group.src.id.clone());
        guard.busy.insert(group.dst.id.clone());
        drop(guard);
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
        guard.running -= 1;
        if outcomes.iter().any(|o| o.error.is_some()) {
            guard.failed = true;
        }
        guard.results[index] = Some(outcomes);
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
}
