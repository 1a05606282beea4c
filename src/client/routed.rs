//! One command to one node, through the one retry policy: send it, ask
//! [`retry::decide`] what to do about what happened, and do it — follow a redirect,
//! back off, reload the slot map and reroute, or stop. Node health
//! ([`crate::cluster::health`]) keeps a dead or frozen node's cost to one budget: once
//! it is spent, commands for that node fail at once until a periodic check finds a
//! live owner (the gate: `client/gate.rs`). The pipeline hands what happened to its
//! batched commands to [`Client::resume_routed`], so both paths share this loop.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::client::Client;
use crate::cluster::command::Traits;
use crate::cluster::event::{Event, EventSink};
use crate::cluster::health::Domain;
use crate::cluster::retry::{self, Attempt, Happened, Next, TRANSIENT_RETRIES};
use crate::endpoint::Endpoint;
use crate::error::{Error, Result, os_message_of};
use crate::protocol::encode;
use crate::protocol::piecewise::ReplySink;
use crate::protocol::resp::Frame;

/// What one attempt produced, owned: the pipeline gives its batched commands' results
/// to [`Client::resume_routed`] in this form.
#[derive(Debug)]
pub enum Outcome {
    Reply(Frame),
    /// A big reply that went to the caller's sink piece by piece.
    Streamed,
    /// Never reached the node.
    Unsent(Error),
    /// Written; the link broke before the reply.
    Lost(Error),
    /// Written; no byte for `idle`.
    TimedOut {
        error: Error,
        idle: Duration,
    },
    /// Written; the node answered bytes that are not RESP.
    Garbled(Error),
}

impl Outcome {
    /// Classifies a failed read of a command that was written.
    pub fn after_send(error: Error) -> Outcome {
        match error {
            Error::Timeout { seconds, .. } => {
                let idle = Duration::try_from_secs_f64(seconds).unwrap_or(Duration::ZERO);
                Outcome::TimedOut { error, idle }
            }
            Error::Protocol { .. } => Outcome::Garbled(error),
            other => Outcome::Lost(other),
        }
    }

    fn happened(&self) -> Happened<'_> {
        match self {
            Outcome::Reply(frame) => Happened::Reply(frame),
            Outcome::Streamed => Happened::Reply(&STREAMED),
            Outcome::Unsent(_) => Happened::Unsent,
            Outcome::Lost(_) => Happened::Lost,
            Outcome::TimedOut { .. } => Happened::TimedOut,
            Outcome::Garbled(_) => Happened::Garbled,
        }
    }

    fn error(&self) -> Option<&Error> {
        match self {
            Outcome::Reply(_) | Outcome::Streamed => None,
            Outcome::Unsent(e) | Outcome::Lost(e) | Outcome::Garbled(e) | Outcome::TimedOut { error: e, .. } => Some(e),
        }
    }

    fn into_error(self) -> Error {
        match self {
            Outcome::Streamed => Error::Refused("internal error: a streamed reply is not an error".into()),
            Outcome::Reply(frame) => {
                Error::Refused(String::from_utf8_lossy(frame.as_error().unwrap_or(b"unexpected reply")).into_owned())
            }
            Outcome::Unsent(e) | Outcome::Lost(e) | Outcome::Garbled(e) | Outcome::TimedOut { error: e, .. } => e,
        }
    }
}

/// What a reply read piece by piece stands for in the retry policy: an answer.
const STREAMED: Frame = Frame::Null;

/// Where the command goes next and how far it has come.
pub(super) struct Route {
    pub(super) endpoint: Endpoint,
    asking: bool,
    blocking: bool,
    attempt: Attempt,
    /// The "not answering" line was shown for this command already.
    announced: bool,
}

impl Client {
    /// One command to `first`, following redirects, transient errors and failovers
    /// within their bounds.
    pub fn send_routed(
        &mut self,
        argv: &[Vec<u8>],
        traits: Traits,
        slot: Option<u16>,
        first: Endpoint,
        events: &mut dyn EventSink,
    ) -> Result<Frame> {
        let mut route = self.new_route(traits, first);
        let frame = self.drive(argv, slot, &mut route, None, events, false)?;
        frame.ok_or_else(|| Error::Refused("internal error: a reply went nowhere".into()))
    }

    /// [`Client::send_routed`], where a big top-level array or set reply goes to
    /// `events`' piece sink as it arrives, if it has one (then `Ok(None)`).
    pub fn send_routed_pieces(
        &mut self,
        argv: &[Vec<u8>],
        traits: Traits,
        slot: Option<u16>,
        first: Endpoint,
        events: &mut dyn EventSink,
    ) -> Result<Option<Frame>> {
        let mut route = self.new_route(traits, first);
        self.drive(argv, slot, &mut route, None, events, true)
    }

    /// Continues a command that was already sent to `endpoint` (by the pipeline) from
    /// what happened to it.
    pub fn resume_routed(
        &mut self,
        argv: &[Vec<u8>],
        traits: Traits,
        slot: Option<u16>,
        endpoint: Endpoint,
        outcome: Outcome,
        events: &mut dyn EventSink,
    ) -> Result<Frame> {
        let mut route = self.new_route(traits, endpoint);
        let frame = self.drive(argv, slot, &mut route, Some(outcome), events, false)?;
        frame.ok_or_else(|| Error::Refused("internal error: a reply went nowhere".into()))
    }

    /// True when what happened to a batched command needs more than printing its
    /// reply: the retry policy would do something about it.
    pub fn needs_follow_up(&self, traits: Traits, endpoint: &Endpoint, outcome: &Outcome) -> bool {
        let route = self.new_route(traits, endpoint.clone());
        retry::decide(&route.attempt, outcome.happened(), endpoint) != Next::Done
    }

    pub(super) fn new_route(&self, traits: Traits, endpoint: Endpoint) -> Route {
        let attempt = Attempt {
            ends_server: traits.ends_server,
            ..Attempt::first(self.is_cluster(), traits.readonly, self.options.max_hops, self.health.budget())
        };
        Route { endpoint, asking: false, blocking: traits.waits, attempt, announced: false }
    }

    /// The loop: send (unless the first outcome is given), decide, act, until done.
    /// With `pieces`, a big reply may go to the sink piece by piece (then `Ok(None)`).
    fn drive(
        &mut self,
        argv: &[Vec<u8>],
        slot: Option<u16>,
        route: &mut Route,
        mut outcome: Option<Outcome>,
        events: &mut dyn EventSink,
        pieces: bool,
    ) -> Result<Option<Frame>> {
        loop {
            let happened = match outcome.take() {
                Some(outcome) => outcome,
                None => {
                    self.pass_gate(route, slot, events)?;
                    let sink = if pieces { events.pieces() } else { None };
                    self.round_trip(route, argv, sink)
                }
            };
            if let Some(done) = self.step(argv, slot, route, happened, events)? {
                return Ok(done);
            }
        }
    }

    /// Sends `argv` (after ASKING when asked to) on a borrowed connection and reads
    /// its reply.
    fn round_trip(&mut self, route: &Route, argv: &[Vec<u8>], sink: Option<&mut dyn ReplySink>) -> Outcome {
        let mut exchange = match self.pool.borrow(&route.endpoint) {
            Ok(exchange) => exchange,
            Err(e) => return Outcome::Unsent(e),
        };
        let mut out = Vec::new();
        if route.asking {
            encode::encode_command(&[&b"ASKING"[..]], &mut out);
        }
        encode::encode_command(argv, &mut out);
        if let Err(e) = exchange.send(&out, 1 + usize::from(route.asking)) {
            return Outcome::Unsent(e);
        }
        let timeout = self.reply_timeout(route.blocking);
        if route.asking {
            match exchange.read(timeout) {
                Ok(reply) => {
                    if let Some(err) = reply.as_error() {
                        // ASKING itself failed: the command's reply still follows.
                        let text = [b"ASKING failed: ".as_slice(), err].concat();
                        let _ = exchange.read(timeout);
                        self.pool.give_back(exchange);
                        return Outcome::Reply(Frame::Error(text));
                    }
                }
                Err(e) => return Outcome::after_send(e),
            }
        }
        let read = match sink {
            Some(sink) => exchange.read_pieces(timeout, sink),
            None => exchange.read(timeout).map(Some),
        };
        let outcome = match read {
            Ok(Some(frame)) => Outcome::Reply(frame),
            Ok(None) => Outcome::Streamed,
            Err(e) => Outcome::after_send(e),
        };
        self.keep_pushes(exchange.take_pushes());
        self.pool.give_back(exchange);
        outcome
    }

    /// Acts on one outcome; `Some` when the command is done (`Some(None)`: its reply
    /// went to the sink piece by piece).
    fn step(
        &mut self,
        argv: &[Vec<u8>],
        slot: Option<u16>,
        route: &mut Route,
        outcome: Outcome,
        events: &mut dyn EventSink,
    ) -> Result<Option<Option<Frame>>> {
        if let Some(error) = outcome.error()
            && is_terminal(error)
        {
            if route.endpoint == self.current
                && matches!(
                    error,
                    Error::Auth { .. } | Error::Handshake { .. } | Error::Tls { .. } | Error::TlsSetup(_)
                )
            {
                self.connected = false;
            }
            return Err(outcome.into_error());
        }
        let now = Instant::now();
        let failure = self.failure_of(route, &outcome);
        match &failure {
            Some((domain, idle, cause)) => {
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
        if route.attempt.readonly && matches!(outcome, Outcome::Lost(_) | Outcome::TimedOut { .. }) {
            // About to resend a "read-only" command whose reply was lost: a table read
            // from the cache must not be the only witness of that.
            route.attempt.readonly = self.confirmed_readonly(argv, true);
        }
        let next = retry::decide(&route.attempt, outcome.happened(), &route.endpoint);
        match next {
            Next::Done => match outcome {
                Outcome::Reply(frame) => Ok(Some(Some(frame))),
                Outcome::Streamed => Ok(Some(None)),
                other => Err(other.into_error()),
            },
            Next::Moved(redirect) => {
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
            Next::BackOff(delay) => {
                route.attempt.transient += 1;
                self.counters.retries += 1;
                let word = match &outcome {
                    Outcome::Reply(frame) => first_word(frame),
                    _ => String::new(),
                };
                events.event(Event::Retry {
                    error: format!("{word} from {}", route.endpoint),
                    attempt: route.attempt.transient,
                    of: TRANSIENT_RETRIES,
                    delay,
                });
                self.pause(delay)?;
                Ok(None)
            }
            Next::Reroute(delay) => {
                route.attempt.resends += 1;
                self.counters.retries += 1;
                let failing = route.endpoint.clone();
                let node_failed = matches!(&failure, Some((Domain::Node(_), _, _)));
                if !route.announced {
                    route.announced = true;
                    let cause = failure.as_ref().map(|(_, _, cause)| cause.clone()).unwrap_or_default();
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
                Ok(None)
            }
            Next::Reconnect => {
                route.attempt.resends += 1;
                Ok(None)
            }
            Next::Down => {
                let domain = failure.map_or(Domain::Node(route.endpoint.clone()), |(domain, _, _)| domain);
                // Down only if the map still names it: a replica may have taken over
                // while rcli waited.
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
            Next::Ended => {
                if route.endpoint == self.current {
                    self.connected = false;
                }
                if self.is_cluster() {
                    self.reload_after_failure(Some(&route.endpoint), events);
                }
                Err(Error::ServerEnded { addr: route.endpoint.to_string() })
            }
            Next::OutcomeUnknown => {
                let cause = outcome.error().map(os_message_of).unwrap_or_default();
                if route.endpoint == self.current && !self.is_cluster() {
                    self.connected = false;
                }
                if self.is_cluster() {
                    self.reload_after_failure(Some(&route.endpoint), events);
                }
                Err(Error::OutcomeUnknown { addr: route.endpoint.to_string(), cause })
            }
            Next::TooManyHops => {
                let last = match &outcome {
                    Outcome::Reply(frame) => String::from_utf8_lossy(frame.as_error().unwrap_or_default()).into_owned(),
                    _ => String::new(),
                };
                Err(Error::TooManyHops { limit: self.options.max_hops, last })
            }
            Next::Fail => {
                if route.endpoint == self.current && outcome.error().is_some_and(Error::is_link_failure) {
                    self.connected = false;
                }
                if !self.is_cluster() && matches!(outcome, Outcome::TimedOut { .. }) {
                    // A frozen server costs one timeout, not one per command.
                    self.health.declare_down(&Domain::Node(route.endpoint.clone()), now);
                }
                Err(outcome.into_error())
            }
        }
    }

    /// Another slot-serving primary than `failing`, for a keyless command whose node
    /// stopped answering.
    fn other_primary(&self, failing: &Endpoint) -> Option<Endpoint> {
        self.topology()?.primaries().into_iter().map(|n| n.endpoint.clone()).find(|e| e != failing)
    }

    /// Sleeps `delay`, cut short by Ctrl-C.
    pub fn pause(&self, delay: Duration) -> Result<()> {
        let until = Instant::now() + delay;
        while Instant::now() < until {
            if self.pool.interrupt().is_some_and(|f| f.load(Ordering::SeqCst)) {
                return Err(Error::Interrupted);
            }
            std::thread::sleep(until.saturating_duration_since(Instant::now()).min(Duration::from_millis(50)));
        }
        Ok(())
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

fn first_word(frame: &Frame) -> String {
    let error = frame.as_error().unwrap_or_default();
    String::from_utf8_lossy(error.split(|&b| b == b' ').next().unwrap_or_default()).into_owned()
}
