//! What the consistency checker prints, pure: the line every second (the tutorial's
//! `R reads | W writes | N lost | N not acked`), a line when a failure window opens or
//! closes, and the verdict. Server text inside them is escaped.

use std::time::{Duration, Instant};

use super::ledger::{Notice, Totals, Window};
use crate::protocol::text::escape_controls;

/// Seconds since the start, as `+12.34s`.
pub fn since(start: Instant, at: Instant) -> String {
    format!("+{:.2}s", at.saturating_duration_since(start).as_secs_f64())
}

fn seconds(length: Duration) -> String {
    format!("{:.2} s", length.as_secs_f64())
}

/// The line printed every second; `open` names the groups failing now and since when.
pub fn progress(totals: &Totals, open: &[(String, Duration)]) -> String {
    let mut line = format!(
        "{} R ({} err) | {} W ({} err) | {} lost | {} not acked",
        totals.reads, totals.failed_reads, totals.writes, totals.failed_writes, totals.lost, totals.not_acked
    );
    if totals.extra > 0 {
        line.push_str(&format!(" | {} extra", totals.extra));
    }
    for (group, length) in open {
        line.push_str(&format!(" | {group} failing for {:.1} s", length.as_secs_f64()));
    }
    line
}

/// What a window was about, in a few words.
fn window_summary(window: &Window) -> String {
    let mut parts = Vec::new();
    if window.failed_reads + window.failed_writes > 0 {
        parts.push(format!("{} reads and {} writes failed", window.failed_reads, window.failed_writes));
    }
    if window.not_acked > 0 {
        parts.push(format!("{} not acked", window.not_acked));
    }
    parts.push(format!("longest wait {}", seconds(window.longest)));
    parts.join(", ")
}

/// A window in a few words: `<group>'s slots unavailable for 3.20 s from +2.10s`.
fn window_span(window: &Window, start: Instant, now: Instant, groups: &[String]) -> String {
    let group = groups.get(window.group).cloned().unwrap_or_else(|| format!("group {}", window.group));
    format!("{group}'s slots unavailable for {} from {}", seconds(window.length(now)), since(start, window.opened))
}

/// The line for a notice; `groups` names the groups, `key` names a counter's key.
pub fn notice(
    notice: &Notice,
    start: Instant,
    now: Instant,
    groups: &[String],
    key: impl Fn(usize) -> String,
) -> String {
    let group = |g: usize| groups.get(g).cloned().unwrap_or_else(|| format!("group {g}"));
    match notice {
        Notice::Opened { group: g, at, cause } => format!(
            "{} window opens: {}'s slots failing: {}",
            since(start, *at),
            group(*g),
            escape_controls(cause, false)
        ),
        Notice::Closed(window) => format!(
            "{} window closed: {} ({})",
            since(start, window.closed.unwrap_or(now)),
            window_span(window, start, now, groups),
            window_summary(window)
        ),
        Notice::Lost { counter, expected, found, failure_seen } => format!(
            "{} lost: {} is {found}, {} acknowledged increment(s) missing (expected {expected}){}",
            since(start, now),
            key(*counter),
            expected.abs_diff(*found),
            if *failure_seen { "" } else { ", with no failure seen" }
        ),
        Notice::Extra { counter, most, found } => format!(
            "{} extra: {} is {found}, more than every increment sent ({most})",
            since(start, now),
            key(*counter)
        ),
    }
}

/// The line for a window still open when the run ended (its length counts to `now`).
pub fn still_open(window: &Window, start: Instant, now: Instant, groups: &[String]) -> String {
    format!(
        "{} window still open at the end: {} ({})",
        since(start, now),
        window_span(window, start, now, groups),
        window_summary(window)
    )
}

/// How the run ended, beyond the totals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ending {
    /// Counters whose final value could not be read back.
    pub unread: usize,
    /// Increments whose outcome is still unknown at the end (their counter could not
    /// be read back).
    pub unresolved: u64,
    /// Writes acknowledged over the run for the counters that could not be read back.
    pub acked_unread: u64,
    /// Keys removed, and keys that could not be (`None`: kept on purpose).
    pub removed: Option<(usize, usize)>,
    pub prefix: String,
    /// The run was cut short (a second Ctrl-C) before the checks or the clean-up.
    pub interrupted: bool,
}

/// True when nothing acknowledged was lost and nothing was applied twice.
pub fn consistent(totals: &Totals) -> bool {
    totals.lost == 0 && totals.extra == 0
}

/// The verdict: a first line that says it all, then the figures behind it.
pub fn verdict(totals: &Totals, windows: &[Window], groups: &[String], start: Instant, ending: &Ending) -> Vec<String> {
    let mut lines = Vec::new();
    let mut first = if consistent(totals) {
        "verdict: consistent: every acknowledged write is there, none was applied twice".to_string()
    } else {
        let mut why = Vec::new();
        match (totals.lost, totals.lost_unseen) {
            (0, _) => {}
            (lost, 0) => why.push(format!("{lost} acknowledged write(s) lost")),
            (lost, unseen) => {
                why.push(format!("{lost} acknowledged write(s) lost, {unseen} of them with no failure seen"))
            }
        }
        if totals.extra > 0 {
            why.push(format!("{} increment(s) applied more often than sent", totals.extra));
        }
        format!("verdict: NOT consistent: {}", why.join(", "))
    };
    if totals.failed_writes > 0 {
        first.push_str(&format!("; {} write(s) failed (not applied)", totals.failed_writes));
    }
    if ending.unread > 0 {
        first.push_str(&format!(
            "; {} counter(s) could not be read back at the end ({} acknowledged writes on them unchecked)",
            ending.unread, ending.acked_unread
        ));
    }
    lines.push(first);
    lines.push(format!(
        "  {} writes acknowledged, {} failed; {} reads, {} failed",
        totals.writes, totals.failed_writes, totals.reads, totals.failed_reads
    ));
    let not_applied = totals.not_acked.saturating_sub(totals.applied_unknown).saturating_sub(ending.unresolved);
    let mut fates = format!("{} applied, {not_applied} not applied", totals.applied_unknown);
    if ending.unresolved > 0 {
        fates.push_str(&format!(", {} never read back", ending.unresolved));
    }
    lines.push(format!("  {} not acked (outcome unknown, never resent): {fates}", totals.not_acked));
    // Losses a failure window explains are a failover's; the others are not.
    let lost_in_failures = totals.lost.saturating_sub(totals.lost_unseen);
    if lost_in_failures > 0 {
        let which = match totals.lost_unseen {
            0 => "lost writes".to_string(),
            _ => format!("{lost_in_failures} lost during failures"),
        };
        lines.push(format!(
            "  {which}: Redis Cluster replicates asynchronously, so a primary that fails before its replica \
             has a write loses it when the replica takes over"
        ));
    }
    if totals.went_back_unseen > 0 {
        lines.push(format!(
            "  {} counter(s) went back with no failure seen ({} acknowledged increment(s)): another client \
             changed or removed them (a FLUSHALL, a DEL, a restart without persistence?)",
            totals.went_back_unseen, totals.lost_unseen
        ));
    }
    if totals.failed_writes > 0 {
        lines.push(
            "  failed writes: their slots had no primary that answered (a primary without a replica, or a \
             cluster that stopped accepting writes while slots were uncovered)"
                .to_string(),
        );
    }
    match windows {
        [] => lines.push("  no failure window".to_string()),
        _ => {
            // Every window is closed by now; an open one would count up to `start`, i.e. 0.
            let longest = windows.iter().map(|w| w.length(start)).max().unwrap_or_default();
            lines.push(format!("  {} failure window(s), the longest {}:", windows.len(), seconds(longest)));
            for window in windows {
                let open = if window.at_end { ", still open at the end" } else { "" };
                lines.push(format!(
                    "    {}{open} ({})",
                    window_span(window, start, start, groups),
                    window_summary(window)
                ));
            }
        }
    }
    let prefix = escape_controls(&ending.prefix, false);
    match ending.removed {
        Some((removed, 0)) => lines.push(format!("  {removed} keys removed (prefix {prefix})")),
        Some((removed, left)) => lines.push(format!(
            "  {removed} keys removed, {left} could not be (prefix {prefix}): remove them once their slots are served"
        )),
        None => lines.push(format!("  keys kept (prefix {prefix})")),
    }
    if ending.interrupted {
        lines.push("  interrupted: the last checks or the clean-up were cut short".to_string());
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modes::consistency::ledger::{Ledger, Read, Write};

    #[test]
    fn the_progress_line_reads_like_the_tutorial() {
        let totals = Totals { reads: 120, writes: 119, failed_writes: 1, lost: 2, not_acked: 3, ..Totals::default() };
        assert_eq!(progress(&totals, &[]), "120 R (0 err) | 119 W (1 err) | 2 lost | 3 not acked");
        let open = [("127.0.0.1:7002".to_string(), Duration::from_millis(2140))];
        assert!(progress(&totals, &open).ends_with("| 127.0.0.1:7002 failing for 2.1 s"));
    }

    #[test]
    fn server_text_in_a_notice_is_escaped() {
        let t = Instant::now();
        let n = Notice::Opened { group: 0, at: t, cause: "ERR \x1b[31mred".into() };
        let line = notice(&n, t, t, &["a".to_string()], |i| i.to_string());
        assert!(!line.contains('\x1b'), "{line:?}");
        assert!(line.contains("a's slots failing"), "{line}");
    }

    #[test]
    fn the_verdict_says_what_happened() {
        let t = Instant::now();
        let mut ledger = Ledger::new(&[0], 1);
        ledger.write(0, t, t + Duration::from_secs(3), Write::Unknown("closed".into()));
        ledger.write(0, t + Duration::from_secs(3), t + Duration::from_secs(3), Write::Acked(2));
        let ending = Ending { removed: Some((1000, 0)), prefix: "p:".into(), ..Ending::default() };
        let lines = verdict(&ledger.totals, ledger.windows(), &["n1".to_string()], t, &ending);
        assert!(lines[0].starts_with("verdict: consistent"), "{lines:?}");
        assert!(lines.iter().any(|l| l.contains("1 failure window(s), the longest 3.00 s")), "{lines:?}");
        assert!(
            lines.iter().any(|l| l.contains("1 not acked (outcome unknown, never resent): 1 applied, 0")),
            "{lines:?}"
        );
        assert!(lines[1].contains("1 writes acknowledged"), "{lines:?}");
        assert!(
            lines
                .iter()
                .any(|l| l == "    n1's slots unavailable for 3.00 s from +0.00s (1 not acked, longest wait 3.00 s)"),
            "{lines:?}"
        );
        // A window the end of the run closed says so, live and in the verdict.
        ledger.write(0, t + Duration::from_secs(4), t + Duration::from_secs(4), Write::Failed("CLUSTERDOWN".into()));
        let end = t + Duration::from_secs(6);
        let still = ledger.close_all(end);
        let [window] = still.as_slice() else { panic!("{still:?}") };
        assert_eq!(
            still_open(window, t, end, &["n1".to_string()]),
            "+6.00s window still open at the end: n1's slots unavailable for 2.00 s from +4.00s \
             (0 reads and 1 writes failed, longest wait 0.00 s)"
        );
        let lines = verdict(&ledger.totals, ledger.windows(), &["n1".to_string()], t, &ending);
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("    n1's slots unavailable for 2.00 s from +4.00s, still open at the end (")),
            "{lines:?}"
        );
        let lost = Totals { lost: 2, failed_writes: 5, ..Totals::default() };
        let failover = verdict(&lost, &[], &[], t, &Ending::default());
        assert!(failover.iter().any(|l| l.starts_with("  lost writes: Redis Cluster replicates asynchronously")));
        assert!(!failover.iter().any(|l| l.contains("no failure seen")), "{failover:?}");
        let lines = verdict(&lost, &[], &[], t, &Ending { unread: 3, ..Ending::default() });
        assert_eq!(
            lines[0],
            "verdict: NOT consistent: 2 acknowledged write(s) lost; 5 write(s) failed (not applied); \
             3 counter(s) could not be read back at the end (0 acknowledged writes on them unchecked)"
        );
    }

    #[test]
    fn counters_that_went_back_with_no_failure_seen_are_blamed_on_another_client() {
        let t = Instant::now();
        let mut ledger = Ledger::new(&[0, 0], 1);
        for (counter, value) in [(0, 1), (0, 2), (0, 3), (1, 1), (1, 2)] {
            ledger.write(counter, t, t, Write::Acked(value));
        }
        // A FLUSHALL from another client: both counters read 0, no failure anywhere.
        let lost = ledger.read(0, t, t, Read::Value(0));
        assert_eq!(
            notice(&lost[0], t, t, &[], |i| format!("k{i}")),
            "+0.00s lost: k0 is 0, 3 acknowledged increment(s) missing (expected 3), with no failure seen"
        );
        ledger.read(1, t, t, Read::Value(0));
        let lines = verdict(&ledger.totals, ledger.windows(), &["n1".to_string()], t, &Ending::default());
        assert_eq!(lines[0], "verdict: NOT consistent: 5 acknowledged write(s) lost, 5 of them with no failure seen");
        assert!(
            lines.contains(
                &"  2 counter(s) went back with no failure seen (5 acknowledged increment(s)): another client \
                  changed or removed them (a FLUSHALL, a DEL, a restart without persistence?)"
                    .to_string()
            ),
            "{lines:?}"
        );
        assert!(!lines.iter().any(|l| l.contains("a primary that fails")), "no failover blamed: {lines:?}");
        assert!(lines.contains(&"  no failure window".to_string()), "{lines:?}");

        // Both at once: a failover's losses and another client's, each named.
        let both = Totals { lost: 7, lost_unseen: 5, went_back_unseen: 2, ..Totals::default() };
        let lines = verdict(&both, &[], &[], t, &Ending::default());
        assert_eq!(lines[0], "verdict: NOT consistent: 7 acknowledged write(s) lost, 5 of them with no failure seen");
        assert!(lines.iter().any(|l| l.starts_with("  2 lost during failures: Redis Cluster replicates")), "{lines:?}");
        assert!(lines.iter().any(|l| l.starts_with("  2 counter(s) went back with no failure seen (5 ")), "{lines:?}");
    }
}
