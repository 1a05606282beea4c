//! The health gate in front of every routed command: whether a command may go to its
//! node now ([`crate::cluster::health`] decides; this file acts on it), what failure an
//! attempt's outcome stands for, and the periodic check (a map reload, then a PING) that
//! lets a down node's slots be served again.

use std::time::{Duration, Instant};

use super::routed::{Outcome, Route};
use crate::client::Client;
use crate::cluster::command::Traits;
use crate::cluster::event::EventSink;
use crate::cluster::health::{Domain, Gate};
use crate::cluster::retry;
use crate::endpoint::Endpoint;
use crate::error::{Error, Result, os_message_of};

impl Client {
    /// The node a command for `slot` may go to now: `endpoint`, a new owner found by a
    /// due check, or an error when the node (or the cluster) is down.
    pub fn check_gate(
        &mut self,
        endpoint: Endpoint,
        slot: Option<u16>,
        events: &mut dyn EventSink,
    ) -> Result<Endpoint> {
        let mut route = self.new_route(Traits::default(), endpoint);
        self.pass_gate(&mut route, slot, events)?;
        Ok(route.endpoint)
    }

    /// The failure an outcome stands for: which domain, how long it took, the cause.
    pub(super) fn failure_of(&self, route: &Route, outcome: &Outcome) -> Option<(Domain, Duration, String)> {
        let node = Domain::Node(route.endpoint.clone());
        match outcome {
            Outcome::Reply(frame) => {
                let error = frame.as_error()?;
                (self.is_cluster() && retry::is_cluster_down(error))
                    .then(|| (Domain::Cluster, Duration::ZERO, String::from_utf8_lossy(error).into_owned()))
            }
            Outcome::TimedOut { error, idle } => Some((node, *idle, os_message_of(error))),
            Outcome::Unsent(error) | Outcome::Lost(error) => Some((node, Duration::ZERO, os_message_of(error))),
            Outcome::Garbled(_) | Outcome::Streamed => None,
        }
    }

    /// Lets the command through unless its node (or the cluster) is down; a down node
    /// due for a check gets one (a map reload, then a probe when the map still names
    /// it), which may send the command to a new owner instead.
    pub(super) fn pass_gate(&mut self, route: &mut Route, slot: Option<u16>, events: &mut dyn EventSink) -> Result<()> {
        if self.health.is_quiet() {
            return Ok(());
        }
        let now = Instant::now();
        if self.is_cluster()
            && let Gate::Closed(down) = self.health.gate(&Domain::Cluster, now)
        {
            return Err(Error::Down { what: down.what, cause: down.cause, waited: down.waited });
        }
        let domain = Domain::Node(route.endpoint.clone());
        match self.health.gate(&domain, now) {
            Gate::Open => Ok(()),
            Gate::Closed(down) => Err(Error::Down { what: down.what, cause: down.cause, waited: down.waited }),
            Gate::Recheck => {
                if self.is_cluster() {
                    self.reload_after_failure(Some(&route.endpoint), events);
                    if let Some(owner) = slot.and_then(|s| self.owner(s))
                        && owner != route.endpoint
                    {
                        route.endpoint = owner;
                        return self.pass_gate(route, slot, events);
                    }
                }
                if self.probe(&route.endpoint) {
                    self.health.recovered(&domain);
                    return Ok(());
                }
                let down = self.health.declare_down(&domain, Instant::now());
                Err(Error::Down { what: down.what, cause: down.cause, waited: down.waited })
            }
        }
    }

    /// Whether a down node answers again: a PING with a short wait, skipped while the
    /// slot map says the cluster itself considers the node failed.
    fn probe(&mut self, endpoint: &Endpoint) -> bool {
        let failed_in_map = self
            .topology()
            .and_then(|t| t.node(endpoint))
            .is_some_and(|n| matches!(n.health.as_str(), "fail" | "failed"));
        if failed_in_map {
            return false;
        }
        let wait = self.health.budget().min(super::RECHECK);
        self.pool.request(endpoint, &["PING"], Some(wait)).is_ok_and(|reply| reply.as_error().is_none())
    }
}
