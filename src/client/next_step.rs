//! Doing what the retry policy decided about one outcome of one command: the decision
//! itself is pure ([`retry::decide`]); each effect here is one small method — keep the
//! node's health, follow a MOVED or an ASK, back off, reroute after a failure, declare
//! a node down, or stop with the error the user sees. [`Client::step`] is the loop's
//! one turn (`client/routed.rs` drives it).

use std::time::{Duration, Instant};

use super::routed::{Outcome, Route};
use crate::client::Client;
use crate::cluster::event::{Event, EventSink};
use crate::cluster::health::Domain;
use crate::cluster::redirect::Redirect;
use crate::cluster::retry::{self, Next, TRANSIENT_RETRIES};
use crate::error::{Error, Result, os_message_of};
use crate::protocol::resp::Frame;

/// A failure an outcome stands for: which domain, how long it took, the cause.
type Failure = (Domain, Duration, String);

/// What one turn of the loop ends with: `Some` when the command is done (`Some(None)`:
/// its reply went to the sink piece by piece), `None` to send it again.
pub(super) type Turn = Result<Option<Option<Frame>>>;

impl Client {
    /// Acts on one outcome of the command `argv` for `slot`.
    pub(super) fn step(
        &mut self,
        argv: &[Vec<u8>],
        slot: Option<u16>,
        route: &mut Route,
        outcome: Outcome,
        events: &mut dyn EventSink,
    ) -> Turn {
        if let Some(error) = outcome.error()
            && is_terminal(error)
        {
            return Err(self.terminal(route, outcome));
        }
        let now = Instant::now();
        let failure = self.keep_health(route, &outcome, now);
        if route.attempt.readonly && matches!(outcome, Outcome::Lost(_) | Outcome::TimedOut { .. }) {
            // About to resend a "read-only" command whose reply was lost: a table read
            // from the cache must not be the only witness of that.
            route.attempt.readonly = self.confirmed_readonly(argv, true);
        }
        match retry::decide(&route.attempt, outcome.happened(), &route.endpoint) {
            Next::Done => match outcome {
                Outcome::Reply(frame) => Ok(Some(Some(frame))),
                Outcome::Streamed => Ok(Some(None)),
                other => Err(other.into_error()),
            },
            Next::Moved(redirect) => {
                self.follow_moved(route, redirect, events);
                Ok(None)
            }
            Next::Ask(redirect) => {
                self.counters.ask += 1;
                route.attempt.hops += 1;
                events.event(Event::Ask { slot: redirect.slot, to: redirect.to.clone() });
                route.endpoint = redirect.to;
                route.asking = true;
                Ok(None)
            }
            Next::BackOff(delay) => self.back_off(route, &outcome, delay, events).map(|()| None),
            Next::Reroute(delay) => self.reroute(route, slot, failure.as_ref(), delay, events).map(|()| None),
            Next::Reconnect => {
                route.attempt.resends += 1;
                Ok(None)
            }
            Next::Down => self.down(route, slot, failure, now, events),
            Next::Ended => Err(self.ended(route, events)),
            Next::OutcomeUnknown => Err(self.outcome_unknown(route, &outcome, events)),
            Next::TooManyHops => {
                let last = match &outcome {
                    Outcome::Reply(frame) => String::from_utf8_lossy(frame.as_error().unwrap_or_default()).into_owned(),
                    _ => String::new(),
                };
                Err(Error::TooManyHops { limit: self.options.max_hops, last })
            }
            Next::Fail => Err(self.fail(route, outcome, now)),
        }
    }

    /// Refused credentials or handshake, TLS, Ctrl-C: no retry helps; the prompt's
    /// node is shown as not connected when its link cannot be set up.
    fn terminal(&mut self, route: &Route, outcome: Outcome) -> Error {
        let setup_failed = matches!(
            outcome.error(),
            Some(Error::Auth { .. } | Error::Handshake { .. } | Error::Tls { .. } | Error::TlsSetup(_))
        );
        if route.endpoint == self.current && setup_failed {
            self.connected = false;
        }
        outcome.into_error()
    }

    /// Records what the outcome says of the node's (or the cluster's) health, and
    /// returns the failure it stands for, if any.
    fn keep_health(&mut self, route: &mut Route, outcome: &Outcome, now: Instant) -> Option<Failure> {
        let failure = self.failure_of(route, outcome);
        match &failure {
            Some((domain, idle, cause)) => {
                let node_failed = matches!(domain, Domain::Node(_));
                self.learn_budget(node_failed.then_some(&route.endpoint));
                route.attempt.budget = self.health.budget();
                self.health.failed(domain, now, *idle, cause);
                route.attempt.outage = self.health.outage(domain, now);
            }
            None => {
                self.health.recovered(&Domain::Node(route.endpoint.clone()));
                self.health.recovered(&Domain::Cluster);
                if route.endpoint == self.current || self.tx.is_some() {
                    self.connected = true;
                }
            }
        }
        failure
    }

    /// MOVED: learn the slot's owner (and reload the map), move the prompt there
    /// outside a transaction, and send again.
    fn follow_moved(&mut self, route: &mut Route, redirect: Redirect, events: &mut dyn EventSink) {
        self.counters.moved += 1;
        route.attempt.hops += 1;
        events.event(Event::Moved { slot: redirect.slot, to: redirect.to.clone() });
        self.learn_slot(redirect.slot, &redirect.to);
        if self.map.learning.is_none() {
            let _ = self.refresh_topology(None, &mut Vec::new());
        }
        if self.tx.is_none() {
            self.current = redirect.to.clone();
        }
        route.endpoint = redirect.to;
        route.asking = false;
    }

    /// A busy node (TRYAGAIN, LOADING, MASTERDOWN): say so, wait, send again.
    fn back_off(
        &mut self,
        route: &mut Route,
        outcome: &Outcome,
        delay: Duration,
        events: &mut dyn EventSink,
    ) -> Result<()> {
        route.attempt.transient += 1;
        self.counters.retries += 1;
        let word = match outcome {
            Outcome::Reply(frame) => first_word(frame),
            _ => String::new(),
        };
        events.event(Event::Retry {
            error: format!("{word} from {}", route.endpoint),
            attempt: route.attempt.transient,
            of: TRANSIENT_RETRIES,
            delay,
        });
        self.pause(delay)
    }

    /// The node (or the cluster) failed: say so once, wait, reload the map, and send
    /// to the slot's owner now (a keyless command to another primary).
    fn reroute(
        &mut self,
        route: &mut Route,
        slot: Option<u16>,
        failure: Option<&Failure>,
        delay: Duration,
        events: &mut dyn EventSink,
    ) -> Result<()> {
        route.attempt.resends += 1;
        self.counters.retries += 1;
        let failing = route.endpoint.clone();
        let node_failed = matches!(failure, Some((Domain::Node(_), _, _)));
        if !route.announced {
            route.announced = true;
            let cause = failure.map(|(_, _, cause)| cause.clone()).unwrap_or_default();
            events.event(if node_failed {
                Event::NodeDown { endpoint: failing.clone(), error: cause }
            } else {
                Event::Retry { error: cause, attempt: 1, of: 1, delay }
            });
        }
        self.pause(delay)?;
        self.reload_after_failure(node_failed.then_some(&failing), events);
        let next = match slot {
            Some(s) => self.owner(s),
            None if node_failed => self.other_primary(&failing),
            None => None,
        };
        if let Some(next) = next {
            if failing == self.current && next != failing && self.tx.is_none() {
                if let Some(s) = slot {
                    events.event(Event::Redirected { slot: s, to: next.clone() });
                }
                self.current = next.clone();
            }
            route.endpoint = next;
        }
        route.asking = false;
        Ok(())
    }

    /// The failure budget is spent: down only if the map still names the node (a
    /// replica may have taken over while rcli waited), else on to the new owner.
    fn down(
        &mut self,
        route: &mut Route,
        slot: Option<u16>,
        failure: Option<Failure>,
        now: Instant,
        events: &mut dyn EventSink,
    ) -> Turn {
        let domain = failure.map_or(Domain::Node(route.endpoint.clone()), |(domain, _, _)| domain);
        if let (Domain::Node(failing), Some(s)) = (&domain, slot)
            && route.attempt.hops < route.attempt.max_hops
        {
            route.attempt.hops += 1;
            self.reload_after_failure(Some(failing), events);
            if let Some(owner) = self.owner(s).filter(|o| o != failing) {
                if *failing == self.current && self.tx.is_none() {
                    events.event(Event::Redirected { slot: s, to: owner.clone() });
                    self.current = owner.clone();
                }
                route.endpoint = owner;
                route.asking = false;
                return Ok(None);
            }
        }
        let down = self.health.declare_down(&domain, now);
        if route.endpoint == self.current {
            self.connected = false;
        }
        Err(Error::Down { what: down.what, cause: down.cause, waited: down.waited })
    }

    /// The server closed the link as SHUTDOWN's success.
    fn ended(&mut self, route: &Route, events: &mut dyn EventSink) -> Error {
        if route.endpoint == self.current {
            self.connected = false;
        }
        if self.is_cluster() {
            self.reload_after_failure(Some(&route.endpoint), events);
        }
        Error::ServerEnded { addr: route.endpoint.to_string() }
    }

    /// A write whose reply was lost: reported, never resent.
    fn outcome_unknown(&mut self, route: &Route, outcome: &Outcome, events: &mut dyn EventSink) -> Error {
        let cause = outcome.error().map(os_message_of).unwrap_or_default();
        if route.endpoint == self.current && !self.is_cluster() {
            self.connected = false;
        }
        if self.is_cluster() {
            self.reload_after_failure(Some(&route.endpoint), events);
        }
        Error::OutcomeUnknown { addr: route.endpoint.to_string(), cause }
    }

    /// Any other failure: shown as it is; a frozen single server costs one timeout,
    /// not one per command.
    fn fail(&mut self, route: &Route, outcome: Outcome, now: Instant) -> Error {
        if route.endpoint == self.current && outcome.error().is_some_and(Error::is_link_failure) {
            self.connected = false;
        }
        if !self.is_cluster() && matches!(outcome, Outcome::TimedOut { .. }) {
            self.health.declare_down(&Domain::Node(route.endpoint.clone()), now);
        }
        outcome.into_error()
    }
}

impl Client {
    /// Another slot-serving primary than `failing`, for a keyless command whose node
    /// stopped answering.
    fn other_primary(&self, failing: &crate::endpoint::Endpoint) -> Option<crate::endpoint::Endpoint> {
        self.topology()?.primaries().into_iter().map(|n| n.endpoint.clone()).find(|e| e != failing)
    }
}

/// Failures no retry can help: Ctrl-C, refused credentials or handshake, TLS failures.
fn is_terminal(error: &Error) -> bool {
    matches!(
        error,
        Error::Interrupted
            | Error::Auth { .. }
            | Error::Handshake { .. }
            | Error::Usage(_)
            | Error::Tls { .. }
            | Error::TlsSetup(_)
    )
}

/// The error code of an error reply (its first word).
fn first_word(frame: &Frame) -> String {
    let error = frame.as_error().unwrap_or_default();
    String::from_utf8_lossy(error.split(|&b| b == b' ').next().unwrap_or_default()).into_owned()
}
