//! Unit tests of the consistency checker's books: lost, not acked, extra, the
//! windows, and losses told apart by whether a failure was seen (clock passed in).

use super::*;

fn at(base: Instant, ms: u64) -> Instant {
    base + Duration::from_millis(ms)
}

/// The notices about values (lost, extra), without the windows'.
fn about_values(notices: Vec<Notice>) -> Vec<Notice> {
    notices.into_iter().filter(|n| matches!(n, Notice::Lost { .. } | Notice::Extra { .. })).collect()
}

#[test]
fn acknowledged_increments_are_consistent() {
    let t = Instant::now();
    let mut ledger = Ledger::new(&[0, 0], 1);
    assert!(ledger.read(0, t, t, Read::Value(0)).is_empty());
    assert!(ledger.write(0, t, t, Write::Acked(1)).is_empty());
    assert!(ledger.read(0, t, t, Read::Value(1)).is_empty());
    assert!(ledger.write(0, t, t, Write::Acked(2)).is_empty());
    assert_eq!(ledger.totals, Totals { reads: 2, writes: 2, ..Totals::default() });
    assert_eq!(ledger.unchecked(), vec![0]);
    assert_eq!(ledger.acked_on(&[0, 1]), 2);
    // A write that failed changed nothing: counter 1 needs no final read.
    ledger.write(1, t, t, Write::Failed("CLUSTERDOWN".into()));
    assert_eq!(ledger.unchecked(), vec![0]);
    assert!(ledger.windows().is_empty());
}

#[test]
fn a_value_below_the_acknowledged_one_is_lost_writes_counted_once() {
    let t = Instant::now();
    let mut ledger = Ledger::new(&[0], 1);
    for v in 1..=5 {
        ledger.write(0, t, t, Write::Acked(v));
    }
    // The primary died before its replica got the last two increments.
    let notices = ledger.read(0, t, t, Read::Value(3));
    assert_eq!(notices, vec![Notice::Lost { counter: 0, expected: 5, found: 3, failure_seen: false }]);
    // The next read agrees with the new base: nothing more is lost.
    assert!(ledger.read(0, t, t, Read::Value(3)).is_empty());
    assert_eq!(ledger.totals.lost, 2);
    // The next INCR starts from the value that survived.
    assert!(ledger.write(0, t, t, Write::Acked(4)).is_empty());
    assert_eq!(ledger.totals.lost, 2);
}

#[test]
fn an_incr_reply_also_reveals_lost_writes() {
    let t = Instant::now();
    let mut ledger = Ledger::new(&[0], 1);
    ledger.write(0, t, t, Write::Acked(1));
    ledger.write(0, t, t, Write::Acked(2));
    // The value before this INCR was 0: both acknowledged increments are gone.
    let notices = ledger.write(0, t, t, Write::Acked(1));
    assert_eq!(notices, vec![Notice::Lost { counter: 0, expected: 2, found: 0, failure_seen: false }]);
    assert_eq!(ledger.totals.lost, 2);
}

#[test]
fn losses_with_no_failure_seen_are_told_apart_from_a_failovers() {
    let t = Instant::now();
    let mut ledger = Ledger::new(&[0, 0, 1], 2);
    for c in 0..3 {
        ledger.write(c, at(t, 10), at(t, 11), Write::Acked(1));
        ledger.write(c, at(t, 20), at(t, 21), Write::Acked(2));
    }
    // Another client's FLUSHALL: every counter reads 0, no window anywhere.
    let notices = ledger.read(0, at(t, 30), at(t, 31), Read::Value(0));
    assert_eq!(notices, vec![Notice::Lost { counter: 0, expected: 2, found: 0, failure_seen: false }]);
    ledger.write(1, at(t, 40), at(t, 41), Write::Acked(1));
    assert_eq!((ledger.totals.lost, ledger.totals.lost_unseen, ledger.totals.went_back_unseen), (4, 4, 2));
    // Counter 0 goes back again: lost again, the counter counted once.
    ledger.write(0, at(t, 50), at(t, 51), Write::Acked(1));
    ledger.write(0, at(t, 60), at(t, 61), Write::Acked(2));
    ledger.read(0, at(t, 70), at(t, 71), Read::Value(1));
    assert_eq!((ledger.totals.lost_unseen, ledger.totals.went_back_unseen), (5, 2));

    // Group 1 fails over: a window, then its counter is found below its value.
    ledger.write(2, at(t, 100), at(t, 110), Write::Failed("CLUSTERDOWN".into()));
    let notices = ledger.read(2, at(t, 3000), at(t, 3001), Read::Value(1));
    assert!(notices.contains(&Notice::Lost { counter: 2, expected: 2, found: 1, failure_seen: true }), "{notices:?}");
    assert_eq!((ledger.totals.lost, ledger.totals.lost_unseen, ledger.totals.went_back_unseen), (6, 5, 2));
}

#[test]
fn a_failure_explains_only_the_losses_it_overlaps() {
    let t = Instant::now();
    let mut ledger = Ledger::new(&[0, 0, 0], 1);
    ledger.write(0, at(t, 0), at(t, 1), Write::Acked(1));
    // A failover's window, closed by counter 1's first success after it.
    ledger.write(1, at(t, 100), at(t, 200), Write::Failed("CLUSTERDOWN".into()));
    ledger.write(1, at(t, 2000), at(t, 2001), Write::Acked(1));
    // Counter 0 was acknowledged before the window: its loss is the failover's.
    let notices = about_values(ledger.read(0, at(t, 2100), at(t, 2101), Read::Value(0)));
    assert_eq!(notices, vec![Notice::Lost { counter: 0, expected: 1, found: 0, failure_seen: true }]);
    // Counter 1 was acknowledged after the window closed: a later loss is not.
    let notices = about_values(ledger.read(1, at(t, 2200), at(t, 2201), Read::Value(0)));
    assert_eq!(notices, vec![Notice::Lost { counter: 1, expected: 1, found: 0, failure_seen: false }]);
    // A loss found by an operation that waited for a failover (no failure, slow).
    ledger.write(2, at(t, 2300), at(t, 2301), Write::Acked(1));
    let notices = about_values(ledger.read(2, at(t, 2400), at(t, 5400), Read::Value(0)));
    assert_eq!(notices, vec![Notice::Lost { counter: 2, expected: 1, found: 0, failure_seen: true }]);
    assert_eq!((ledger.totals.lost, ledger.totals.lost_unseen, ledger.totals.went_back_unseen), (3, 1, 1));
}

#[test]
fn unknown_outcomes_resolve_when_read_back() {
    let t = Instant::now();
    let mut ledger = Ledger::new(&[0, 0], 1);
    ledger.write(0, t, t, Write::Acked(1));
    ledger.write(0, t, t, Write::Unknown("connection closed".into()));
    ledger.write(1, t, t, Write::Unknown("connection closed".into()));
    assert_eq!(ledger.totals.not_acked, 2);
    assert_eq!(ledger.unresolved(), 2);
    // Counter 0's unknown write was applied; counter 1's was not.
    assert!(about_values(ledger.read(0, t, t, Read::Value(2))).is_empty());
    assert!(about_values(ledger.read(1, t, t, Read::Value(0))).is_empty());
    assert_eq!(ledger.totals.applied_unknown, 1);
    assert_eq!((ledger.totals.lost, ledger.totals.extra, ledger.unresolved()), (0, 0, 0));
}

#[test]
fn a_value_beyond_every_write_sent_is_extra() {
    let t = Instant::now();
    let mut ledger = Ledger::new(&[0], 1);
    ledger.write(0, t, t, Write::Acked(1));
    ledger.write(0, t, t, Write::Unknown("timeout".into()));
    let notices = about_values(ledger.read(0, t, t, Read::Value(4)));
    assert_eq!(notices, vec![Notice::Extra { counter: 0, most: 2, found: 4 }]);
    assert_eq!((ledger.totals.extra, ledger.totals.applied_unknown), (2, 1));
}

#[test]
fn final_values_add_up() {
    // Whatever happens, once each counter is read back: value = acked + applied − lost + extra.
    let t = Instant::now();
    let mut ledger = Ledger::new(&[0, 1], 2);
    let mut value = [0i64; 2];
    let script: &[(usize, &str)] = &[(0, "ack"), (0, "ack"), (1, "unknown-applied"), (0, "lose"), (1, "ack")];
    for &(c, what) in script {
        match what {
            "ack" => {
                value[c] += 1;
                ledger.write(c, t, t, Write::Acked(value[c]));
            }
            "unknown-applied" => {
                value[c] += 1;
                ledger.write(c, t, t, Write::Unknown("x".into()));
            }
            _ => value[c] -= 1,
        }
    }
    for (c, &v) in value.iter().enumerate() {
        ledger.read(c, t, t, Read::Value(v));
    }
    let s = ledger.totals;
    let sum: i64 = value.iter().sum();
    assert_eq!(sum as u64, s.writes + s.applied_unknown - s.lost + s.extra);
    assert!(ledger.unchecked().is_empty());
}

#[test]
fn a_window_spans_failures_until_the_next_success_of_its_group() {
    let t = Instant::now();
    let mut ledger = Ledger::new(&[0, 1], 2);
    let opened = ledger.write(0, at(t, 100), at(t, 110), Write::Failed("CLUSTERDOWN".into()));
    assert_eq!(opened, vec![Notice::Opened { group: 0, at: at(t, 100), cause: "CLUSTERDOWN".into() }]);
    // Another group's success does not close it.
    assert!(ledger.write(1, at(t, 200), at(t, 201), Write::Acked(1)).is_empty());
    ledger.read(0, at(t, 300), at(t, 301), Read::Failed("down".into()));
    ledger.write(0, at(t, 400), at(t, 2400), Write::Unknown("closed".into()));
    assert_eq!(ledger.open_windows().len(), 1);
    let closed = ledger.write(0, at(t, 3000), at(t, 3001), Write::Acked(1));
    let [Notice::Closed(window)] = closed.as_slice() else { panic!("{closed:?}") };
    assert_eq!(window.length(t), Duration::from_millis(2901));
    assert_eq!((window.failed_reads, window.failed_writes, window.not_acked), (1, 1, 1));
    assert_eq!(window.longest, Duration::from_millis(2000));
    assert_eq!(window.cause.as_deref(), Some("CLUSTERDOWN"));
    assert!(ledger.open_windows().is_empty());
}

#[test]
fn a_slow_success_is_a_window_of_its_own_and_a_fast_one_is_not() {
    let t = Instant::now();
    let mut ledger = Ledger::new(&[0], 1);
    assert!(ledger.write(0, t, at(t, 20), Write::Acked(1)).is_empty());
    let notices = ledger.write(0, at(t, 100), at(t, 3500), Write::Acked(2));
    let [Notice::Closed(window)] = notices.as_slice() else { panic!("{notices:?}") };
    assert_eq!(window.length(t), Duration::from_millis(3400));
    assert_eq!(window.failed_writes + window.failed_reads + window.not_acked, 0);
    assert_eq!(ledger.windows().len(), 1);
}

#[test]
fn open_windows_close_at_the_end() {
    let t = Instant::now();
    let mut ledger = Ledger::new(&[0], 1);
    ledger.write(0, t, t, Write::Failed("down".into()));
    let ended = ledger.close_all(at(t, 5000));
    assert_eq!(ended.len(), 1);
    assert!(ended.iter().all(|w| w.at_end));
    assert_eq!(ledger.windows().first().map(|w| w.length(t)), Some(Duration::from_secs(5)));
    assert!(ledger.open_windows().is_empty());
}
