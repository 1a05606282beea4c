//! One command to one node, through the one retry policy: send it, ask
//! [`retry::decide`] what to do about what happened, and do it (each effect is a small
//! method in `client/next_step.rs`) — follow a redirect, back off, reload the slot map
//! and reroute, or stop. Node health
//! ([`crate::cluster::health`]) keeps a dead or frozen node's cost to one budget: once
//! it is spent, commands for that node fail at once until a periodic check finds a
//! live owner (the gate: `client/gate.rs`). The pipeline hands what happened to its
//! batched commands to [`Client::resume_routed`], so both paths share this loop.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::client::Client;
use crate::cluster::command::Traits;
use crate::cluster::event::EventSink;
use crate::cluster::retry::{self, Attempt, Happened, Next};
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
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

    pub(super) fn happened(&self) -> Happened<'_> {
        match self {
            Outcome::Reply(frame) => Happened::Reply(frame),
            Outcome::Streamed => Happened::Reply(&STREAMED),
            Outcome::Unsent(_) => Happened::Unsent,
            Outcome::Lost(_) => Happened::Lost,
            Outcome::TimedOut { .. } => Happened::TimedOut,
            Outcome::Garbled(_) => Happened::Garbled,
        }
    }

    pub(super) fn error(&self) -> Option<&Error> {
        match self {
            Outcome::Reply(_) | Outcome::Streamed => None,
            Outcome::Unsent(e) | Outcome::Lost(e) | Outcome::Garbled(e) | Outcome::TimedOut { error: e, .. } => Some(e),
        }
    }

    pub(super) fn into_error(self) -> Error {
        match self {
            Outcome::Streamed => Error::Refused("internal error: a streamed reply is not an error".into()),
            Outcome::Reply(frame) => {
                Error::Refused(String::from_utf8_lossy(frame.as_error().unwrap_or(b"unexpected reply")).into_owned())
            }
            Outcome::Unsent(e) | Outcome::Lost(e) | Outcome::Garbled(e) | Outcome::TimedOut { error: e, .. } => e,
        }
    }
}

/// How long a reply may take to start before the failure budget (which bounds the
/// wait) is learned, when it is not known yet.
const FIRST_LOOK: Duration = Duration::from_secs(1);

/// What a reply read piece by piece stands for in the retry policy: an answer.
const STREAMED: Frame = Frame::Null;

/// Where the command goes next and how far it has come.
pub(super) struct Route {
    pub(super) endpoint: Endpoint,
    pub(super) asking: bool,
    pub(super) blocking: bool,
    pub(super) attempt: Attempt,
    /// The "not answering" line was shown for this command already.
    pub(super) announced: bool,
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
        let mut timeout = self.reply_timeout(route.blocking);
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
        if !self.budget_known && self.is_cluster() && !route.blocking && timeout.is_some_and(|t| t > FIRST_LOOK) {
            // A reply slow to start may be a node failing: the budget that bounds the
            // wait is learned now, from another node.
            match exchange.await_reply(FIRST_LOOK) {
                Ok(true) => {}
                Ok(false) => {
                    self.learn_budget(Some(&route.endpoint));
                    timeout = self.reply_timeout(false).map(|t| t.saturating_sub(FIRST_LOOK));
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
