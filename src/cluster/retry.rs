//! The one retry policy: given what happened to one attempt at a command, what to do
//! next. Pure — no sockets, no clock: the caller says what happened and how long the
//! node (or the cluster) has been failing, and acts on the answer. The shell, one-shot
//! commands, split parts and the pipeline's leftovers all go through [`decide`].
//!
//! The rules, in short:
//! * a reply that is not an error is the answer; so is any reply without `-c`;
//! * MOVED and ASK are followed, at most `max_hops` times per command;
//! * TRYAGAIN, LOADING and MASTERDOWN are retried a few times with growing pauses;
//! * CLUSTERDOWN, an unreachable node and an unanswered read wait for the cluster to
//!   heal (the slot map is reloaded each time) — but only while the outage is younger
//!   than the failure budget; after that the node or cluster is *down* and commands
//!   fail at once;
//! * a write whose reply was lost is never sent again: its outcome is unknown;
//! * SHUTDOWN (without ABORT) succeeds by closing the link: that is its answer.

use std::time::Duration;

use crate::cluster::redirect::{Redirect, RedirectKind};
use crate::endpoint::Endpoint;
use crate::protocol::resp::Frame;

/// Tries at TRYAGAIN/LOADING/MASTERDOWN before the error is shown.
pub const TRANSIENT_RETRIES: usize = 5;
/// The longest pause between two attempts at reaching a failing node.
const MAX_REROUTE_PAUSE: Duration = Duration::from_secs(1);

/// What one attempt produced.
#[derive(Debug, Clone, Copy)]
pub enum Happened<'a> {
    /// A reply arrived (error replies included).
    Reply(&'a Frame),
    /// The command never reached the node: no connection, or the write failed before
    /// any of it left. Sending it again cannot double it.
    Unsent,
    /// The command was written, then the link broke (closed, reset) before its reply.
    Lost,
    /// The command was written and nothing came back within the idle timeout.
    TimedOut,
    /// The node answered bytes that are not RESP: the link is unusable, and what the
    /// node did with the command is unknown.
    Garbled,
}

/// Everything the decision depends on besides what happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    /// `-c`: redirects are followed and failures wait for the cluster to heal.
    pub cluster: bool,
    /// The command only reads, so it is safe to send again after a lost reply.
    pub readonly: bool,
    /// Redirects followed so far, and the limit (`--max-hops`).
    pub hops: usize,
    pub max_hops: usize,
    /// TRYAGAIN/LOADING/MASTERDOWN retries so far.
    pub transient: usize,
    /// Times the command was sent again after a link failure or CLUSTERDOWN.
    pub resends: usize,
    /// How long the node (or, for CLUSTERDOWN, the cluster) has been failing.
    pub outage: Duration,
    /// How long a failure may last before the node or cluster is declared down.
    pub budget: Duration,
    /// SHUTDOWN without ABORT: a server that closes the link did what was asked.
    pub ends_server: bool,
}

impl Attempt {
    /// A first attempt at a command.
    pub fn first(cluster: bool, readonly: bool, max_hops: usize, budget: Duration) -> Attempt {
        Attempt {
            cluster,
            readonly,
            hops: 0,
            max_hops,
            transient: 0,
            resends: 0,
            outage: Duration::ZERO,
            budget,
            ends_server: false,
        }
    }
}

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// The reply is the answer.
    Done,
    /// MOVED: the slot map is stale; record the new owner and send there.
    Moved(Redirect),
    /// ASK: send `ASKING` and the command to the target, once; the map stays.
    Ask(Redirect),
    /// A transient error: pause, then send again to the same node.
    BackOff(Duration),
    /// The node or cluster is failing: pause, reload the slot map, and send to
    /// whichever node owns the slot then.
    Reroute(Duration),
    /// Not in cluster mode, the link was stale: send once more on a new connection.
    Reconnect,
    /// The outage outlasted the budget: the node (or cluster) is down; stop now.
    Down,
    /// A write was sent and its reply lost: report it, never send it again.
    OutcomeUnknown,
    /// SHUTDOWN closed the link: the server is gone, as asked; nothing to show.
    Ended,
    /// More redirects than `max_hops`.
    TooManyHops,
    /// Show the failure as it is.
    Fail,
}

/// Decides what to do after `happened`. `from` is the node that answered (an empty
/// host in a redirect means its host).
pub fn decide(attempt: &Attempt, happened: Happened, from: &Endpoint) -> Next {
    match happened {
        Happened::Reply(frame) => after_reply(attempt, frame, from),
        Happened::Unsent if !attempt.cluster => {
            if attempt.resends == 0 {
                Next::Reconnect
            } else {
                Next::Fail
            }
        }
        Happened::Unsent => wait_or_down(attempt),
        Happened::Lost if attempt.ends_server => Next::Ended,
        Happened::Lost if !attempt.readonly => Next::OutcomeUnknown,
        Happened::Lost if attempt.cluster => wait_or_down(attempt),
        Happened::Lost if attempt.resends == 0 => Next::Reconnect,
        Happened::Lost => Next::Fail,
        Happened::TimedOut if !attempt.readonly => Next::OutcomeUnknown,
        Happened::TimedOut if attempt.cluster => wait_or_down(attempt),
        Happened::TimedOut | Happened::Garbled => Next::Fail,
    }
}

fn after_reply(attempt: &Attempt, frame: &Frame, from: &Endpoint) -> Next {
    let Some(error) = frame.as_error() else { return Next::Done };
    if !attempt.cluster {
        return Next::Done;
    }
    if let Some(redirect) = Redirect::parse(error, from) {
        if attempt.hops >= attempt.max_hops {
            return Next::TooManyHops;
        }
        return match redirect.kind {
            RedirectKind::Moved => Next::Moved(redirect),
            RedirectKind::Ask => Next::Ask(redirect),
        };
    }
    if error.starts_with(b"CLUSTERDOWN") {
        return wait_or_down(attempt);
    }
    if is_transient(error) {
        return if attempt.transient < TRANSIENT_RETRIES {
            Next::BackOff(transient_pause(attempt.transient + 1))
        } else {
            Next::Done
        };
    }
    Next::Done
}

fn wait_or_down(attempt: &Attempt) -> Next {
    if attempt.outage >= attempt.budget { Next::Down } else { Next::Reroute(reroute_pause(attempt.resends)) }
}

/// The pause before the `n`th retry of a transient error: 100, 200, 400, 800, 1600 ms.
pub fn transient_pause(n: usize) -> Duration {
    Duration::from_millis(50u64 << n.min(6))
}

/// The pause before sending again to a failing node: at once the first time (the map
/// reload may already show a new owner), then 100 ms doubling to 1 s.
pub fn reroute_pause(resends: usize) -> Duration {
    match resends {
        0 => Duration::ZERO,
        n => Duration::from_millis(50u64 << n.min(5)).min(MAX_REROUTE_PAUSE),
    }
}

/// Error codes that mean "busy, ask again shortly": TRYAGAIN (a multi-key command
/// during a migration), LOADING and MASTERDOWN.
const BUSY: &[&str] = &["TRYAGAIN", "LOADING", "MASTERDOWN"];

/// The error code of a cluster without a quorum or with uncovered slots.
const CLUSTER_DOWN: &str = "CLUSTERDOWN";

/// An error reply that means "busy, ask again shortly" ([`BUSY`]).
pub fn is_transient(error: &[u8]) -> bool {
    BUSY.iter().any(|code| error.starts_with(code.as_bytes()))
}

/// An error reply of a cluster that is down (no quorum, uncovered slots).
pub fn is_cluster_down(error: &[u8]) -> bool {
    error.starts_with(CLUSTER_DOWN.as_bytes())
}

/// An error that passes by itself (busy, or the cluster down for now), also when a
/// node relays it from another one: MIGRATE puts the target's error after its own
/// words ("IOERR … Target instance replied with error: CLUSTERDOWN …"). The manager's
/// moves wait these out; the shell's retry loop reads [`is_transient`] and
/// [`is_cluster_down`] on the codes themselves.
pub fn passes_by_itself(error: &[u8]) -> bool {
    BUSY.iter().chain(&[CLUSTER_DOWN]).any(|code| error.windows(code.len()).any(|w| w == code.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node() -> Endpoint {
        Endpoint::tcp("127.0.0.1", 7000)
    }

    #[test]
    fn one_classifier_for_errors_that_pass() {
        for code in ["TRYAGAIN x", "LOADING y", "MASTERDOWN z"] {
            assert!(is_transient(code.as_bytes()) && passes_by_itself(code.as_bytes()), "{code}");
        }
        assert!(is_cluster_down(b"CLUSTERDOWN The cluster is down") && !is_transient(b"CLUSTERDOWN x"));
        let relayed = b"IOERR error or timeout reading to target instance: MASTERDOWN Link with MASTER is down";
        assert!(passes_by_itself(relayed) && !is_transient(relayed));
        assert!(passes_by_itself(b"ERR Target instance replied with error: CLUSTERDOWN Hash slot not served"));
        for other in ["ERR wrong number", "BUSYKEY Target key name already exists.", "NOREPLICAS x"] {
            assert!(!passes_by_itself(other.as_bytes()), "{other}");
        }
    }

    fn attempt(cluster: bool, readonly: bool) -> Attempt {
        Attempt::first(cluster, readonly, 16, Duration::from_secs(5))
    }

    fn error(text: &str) -> Frame {
        Frame::Error(text.as_bytes().to_vec())
    }

    /// What each kind of event leads to, for every combination of cluster mode and
    /// read-only-ness, on a first attempt with a fresh outage.
    #[test]
    fn shutdown_succeeds_by_closing_the_link() {
        for cluster in [false, true] {
            let shutdown = Attempt { ends_server: true, ..attempt(cluster, false) };
            assert_eq!(decide(&shutdown, Happened::Lost, &node()), Next::Ended);
            // A timeout is not a closed link: the server may still be saving.
            assert_eq!(decide(&shutdown, Happened::TimedOut, &node()), Next::OutcomeUnknown);
            let error = error("ERR Errors trying to SHUTDOWN. Check logs.");
            assert_eq!(decide(&shutdown, Happened::Reply(&error), &node()), Next::Done);
        }
    }

    #[test]
    fn every_outcome_for_reads_and_writes_in_and_out_of_cluster_mode() {
        let moved = error("MOVED 12182 127.0.0.1:7002");
        let ask = error("ASK 12182 127.0.0.1:7002");
        let value = Frame::Bulk(b"v".to_vec());
        let plain_error = error("ERR wrong number of arguments");
        let tryagain = error("TRYAGAIN Multiple keys request during rehashing of slot");
        let clusterdown = error("CLUSTERDOWN The cluster is down");
        let redirect = |kind| Redirect { kind, slot: 12182, to: Endpoint::tcp("127.0.0.1", 7002) };
        for cluster in [false, true] {
            for readonly in [false, true] {
                let a = attempt(cluster, readonly);
                let d = |h: Happened| decide(&a, h, &node());
                let case = format!("cluster={cluster} readonly={readonly}");
                assert_eq!(d(Happened::Reply(&value)), Next::Done, "{case}");
                assert_eq!(d(Happened::Reply(&plain_error)), Next::Done, "{case}");
                if cluster {
                    assert_eq!(d(Happened::Reply(&moved)), Next::Moved(redirect(RedirectKind::Moved)), "{case}");
                    assert_eq!(d(Happened::Reply(&ask)), Next::Ask(redirect(RedirectKind::Ask)), "{case}");
                    assert_eq!(d(Happened::Reply(&tryagain)), Next::BackOff(Duration::from_millis(100)), "{case}");
                    assert_eq!(d(Happened::Reply(&clusterdown)), Next::Reroute(Duration::ZERO), "{case}");
                    assert_eq!(d(Happened::Unsent), Next::Reroute(Duration::ZERO), "{case}");
                } else {
                    for reply in [&moved, &ask, &tryagain, &clusterdown] {
                        assert_eq!(d(Happened::Reply(reply)), Next::Done, "{case}: without -c errors are replies");
                    }
                    assert_eq!(d(Happened::Unsent), Next::Reconnect, "{case}");
                }
                assert_eq!(d(Happened::Garbled), Next::Fail, "{case}");
                match (cluster, readonly) {
                    (_, false) => {
                        assert_eq!(d(Happened::Lost), Next::OutcomeUnknown, "{case}: a lost write is never resent");
                        assert_eq!(d(Happened::TimedOut), Next::OutcomeUnknown, "{case}");
                    }
                    (true, true) => {
                        assert_eq!(d(Happened::Lost), Next::Reroute(Duration::ZERO), "{case}");
                        assert_eq!(d(Happened::TimedOut), Next::Reroute(Duration::ZERO), "{case}");
                    }
                    (false, true) => {
                        assert_eq!(d(Happened::Lost), Next::Reconnect, "{case}");
                        assert_eq!(d(Happened::TimedOut), Next::Fail, "{case}");
                    }
                }
            }
        }
    }

    #[test]
    fn an_outage_past_the_budget_is_down_not_another_wait() {
        let clusterdown = error("CLUSTERDOWN Hash slot not served");
        for readonly in [false, true] {
            let mut a = attempt(true, readonly);
            a.outage = Duration::from_secs(5);
            assert_eq!(decide(&a, Happened::Unsent, &node()), Next::Down);
            assert_eq!(decide(&a, Happened::Reply(&clusterdown), &node()), Next::Down);
            let lost = if readonly { Next::Down } else { Next::OutcomeUnknown };
            assert_eq!(decide(&a, Happened::Lost, &node()), lost);
            assert_eq!(decide(&a, Happened::TimedOut, &node()), lost);
        }
    }

    #[test]
    fn retries_are_bounded() {
        let mut a = attempt(true, true);
        a.hops = 16;
        assert_eq!(decide(&a, Happened::Reply(&error("MOVED 1 h:1")), &node()), Next::TooManyHops);
        let mut a = attempt(true, false);
        a.transient = TRANSIENT_RETRIES;
        assert_eq!(decide(&a, Happened::Reply(&error("TRYAGAIN x")), &node()), Next::Done);
        let mut a = attempt(false, true);
        a.resends = 1;
        assert_eq!(decide(&a, Happened::Unsent, &node()), Next::Fail, "one reconnect, not a loop");
        assert_eq!(decide(&a, Happened::Lost, &node()), Next::Fail);
    }

    #[test]
    fn pauses_grow_and_stay_bounded() {
        let pauses: Vec<u128> = (1..=5).map(|n| transient_pause(n).as_millis()).collect();
        assert_eq!(pauses, [100, 200, 400, 800, 1600]);
        assert_eq!(reroute_pause(0), Duration::ZERO);
        assert_eq!(reroute_pause(1), Duration::from_millis(100));
        assert_eq!(reroute_pause(50), MAX_REROUTE_PAUSE);
        assert_eq!(transient_pause(usize::MAX), Duration::from_millis(50 << 6));
    }

    #[test]
    fn an_empty_host_in_a_redirect_means_the_node_that_answered() {
        let a = attempt(true, false);
        let from = Endpoint::tcp("10.0.0.5", 7000);
        assert_eq!(
            decide(&a, Happened::Reply(&error("MOVED 5 :7001")), &from),
            Next::Moved(Redirect { kind: RedirectKind::Moved, slot: 5, to: Endpoint::tcp("10.0.0.5", 7001) })
        );
    }
}
