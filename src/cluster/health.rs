//! Node health, kept in one place: which nodes (and whether the cluster as a whole,
//! for CLUSTERDOWN) are failing, since when, and which are declared down. The failure
//! budget belongs to the node, not to each command: the first command to meet a dead
//! or frozen node waits for the cluster to heal (at most the budget, counted from the
//! first failure); once the budget is spent the node is *down*, and every later command
//! for it fails at once until a periodic check finds a live owner again.
//!
//! Pure: the clock is passed in, so the rules are unit-tested without sleeping.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::endpoint::Endpoint;

/// What fails: one node, or the whole cluster (CLUSTERDOWN from nodes that answer).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Domain {
    Node(Endpoint),
    Cluster,
}

impl Domain {
    /// How the domain is named in messages.
    pub fn name(&self) -> String {
        match self {
            Domain::Node(endpoint) => endpoint.to_string(),
            Domain::Cluster => "the cluster".to_string(),
        }
    }
}

#[derive(Debug, Clone)]
struct Failing {
    since: Instant,
    cause: String,
    /// Set once the outage outlasted the budget: when to look again.
    next_check: Option<Instant>,
}

/// Whether a command may go to a domain now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// Healthy, or failing but still within its budget: send.
    Open,
    /// Down, and due for a check: reload the slot map (and probe) before deciding.
    Recheck,
    /// Down: fail at once.
    Closed(Down),
}

/// A domain declared down, for the one-line error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Down {
    pub what: String,
    pub cause: String,
    pub waited: Duration,
}

/// The health of every node rcli has talked to.
#[derive(Debug, Clone)]
pub struct Health {
    failing: HashMap<Domain, Failing>,
    budget: Duration,
    recheck: Duration,
    generation: u64,
}

impl Health {
    /// `budget`: how long a failure may last before the domain is down; `recheck`: how
    /// often a down domain is looked at again.
    pub fn new(budget: Duration, recheck: Duration) -> Health {
        Health { failing: HashMap::new(), budget, recheck, generation: 0 }
    }

    pub fn budget(&self) -> Duration {
        self.budget
    }

    pub fn set_budget(&mut self, budget: Duration) {
        self.budget = budget;
    }

    /// True when nothing is failing: the pipeline's fast path skips every lookup.
    pub fn is_quiet(&self) -> bool {
        self.failing.is_empty()
    }

    /// Changes whenever a domain starts or stops failing or is declared down.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Records a failure of `domain` at `now`; `waited` is how long the failure itself
    /// took (a read that timed out), so the clock starts when the wait began. A
    /// cluster-wide outage shares the clock of the earliest failing node: one
    /// incident, one budget.
    pub fn failed(&mut self, domain: &Domain, now: Instant, waited: Duration, cause: &str) {
        let began = now.checked_sub(waited).unwrap_or(now);
        let earliest_node = self.failing.values().map(|f| f.since).min();
        let since = match domain {
            Domain::Cluster => earliest_node.map_or(began, |e| e.min(began)),
            Domain::Node(_) => began,
        };
        match self.failing.get_mut(domain) {
            Some(failing) => {
                failing.since = failing.since.min(since);
                failing.cause = cause.to_string();
            }
            None => {
                self.failing.insert(domain.clone(), Failing { since, cause: cause.to_string(), next_check: None });
                self.generation += 1;
            }
        }
    }

    /// The domain answered: it is healthy again.
    pub fn recovered(&mut self, domain: &Domain) {
        if self.failing.remove(domain).is_some() {
            self.generation += 1;
        }
    }

    /// How long `domain` has been failing (zero when healthy).
    pub fn outage(&self, domain: &Domain, now: Instant) -> Duration {
        self.failing.get(domain).map_or(Duration::ZERO, |f| now.saturating_duration_since(f.since))
    }

    /// Declares `domain` down (its outage outlasted the budget); the next check is one
    /// `recheck` away.
    pub fn declare_down(&mut self, domain: &Domain, now: Instant) -> Down {
        let recheck = self.recheck;
        let failing = self.failing.entry(domain.clone()).or_insert_with(|| Failing {
            since: now,
            cause: "not answering".into(),
            next_check: None,
        });
        if failing.next_check.is_none() {
            self.generation += 1;
        }
        failing.next_check = Some(now + recheck);
        Down { what: domain.name(), cause: failing.cause.clone(), waited: now.saturating_duration_since(failing.since) }
    }

    /// Whether a command may go to `domain` now.
    pub fn gate(&self, domain: &Domain, now: Instant) -> Gate {
        match self.failing.get(domain) {
            Some(Failing { since, cause, next_check: Some(check) }) => {
                if now >= *check {
                    Gate::Recheck
                } else {
                    Gate::Closed(Down {
                        what: domain.name(),
                        cause: cause.clone(),
                        waited: now.saturating_duration_since(*since),
                    })
                }
            }
            _ => Gate::Open,
        }
    }

    /// True when `domain` has been declared down.
    pub fn is_down(&self, domain: &Domain) -> bool {
        self.failing.get(domain).is_some_and(|f| f.next_check.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUDGET: Duration = Duration::from_secs(5);
    const RECHECK: Duration = Duration::from_secs(1);

    fn node(port: u16) -> Domain {
        Domain::Node(Endpoint::tcp("127.0.0.1", port))
    }

    #[test]
    fn the_clock_starts_at_the_first_failure_and_is_shared_by_later_commands() {
        let t0 = Instant::now();
        let mut health = Health::new(BUDGET, RECHECK);
        assert!(health.is_quiet());
        health.failed(&node(1), t0, Duration::ZERO, "Connection refused");
        health.failed(&node(1), t0 + Duration::from_secs(3), Duration::ZERO, "Connection refused");
        assert_eq!(health.outage(&node(1), t0 + Duration::from_secs(4)), Duration::from_secs(4));
        assert_eq!(health.outage(&node(2), t0 + Duration::from_secs(4)), Duration::ZERO);
        assert_eq!(health.gate(&node(1), t0 + Duration::from_secs(4)), Gate::Open, "failing but within budget");
    }

    #[test]
    fn a_timed_out_wait_counts_from_when_it_began() {
        let t0 = Instant::now();
        let mut health = Health::new(BUDGET, RECHECK);
        health.failed(&node(1), t0 + BUDGET, BUDGET, "no reply within 5 s");
        assert_eq!(health.outage(&node(1), t0 + BUDGET), BUDGET);
    }

    #[test]
    fn a_down_node_fails_at_once_and_is_rechecked_periodically() {
        let t0 = Instant::now();
        let mut health = Health::new(BUDGET, RECHECK);
        health.failed(&node(1), t0, Duration::ZERO, "Connection refused");
        let down = health.declare_down(&node(1), t0 + BUDGET);
        assert_eq!(down.waited, BUDGET);
        assert_eq!(down.what, "127.0.0.1:1");
        assert!(health.is_down(&node(1)));
        let later = t0 + BUDGET + Duration::from_millis(500);
        assert!(
            matches!(health.gate(&node(1), later), Gate::Closed(Down { ref cause, .. }) if cause == "Connection refused")
        );
        assert_eq!(health.gate(&node(1), t0 + BUDGET + RECHECK), Gate::Recheck);
        health.declare_down(&node(1), t0 + BUDGET + RECHECK);
        assert!(matches!(health.gate(&node(1), t0 + BUDGET + RECHECK), Gate::Closed(_)), "checked: closed again");
        health.recovered(&node(1));
        assert_eq!(health.gate(&node(1), t0 + BUDGET + RECHECK), Gate::Open);
        assert!(health.is_quiet());
    }

    #[test]
    fn clusterdown_shares_the_budget_of_the_node_that_caused_it() {
        let t0 = Instant::now();
        let mut health = Health::new(BUDGET, RECHECK);
        health.failed(&node(1), t0, Duration::ZERO, "Connection refused");
        health.failed(&Domain::Cluster, t0 + Duration::from_secs(4), Duration::ZERO, "CLUSTERDOWN The cluster is down");
        assert_eq!(health.outage(&Domain::Cluster, t0 + BUDGET), BUDGET, "one incident, one clock");
    }

    #[test]
    fn the_generation_changes_with_the_set_of_failing_domains() {
        let t0 = Instant::now();
        let mut health = Health::new(BUDGET, RECHECK);
        let g0 = health.generation();
        health.failed(&node(1), t0, Duration::ZERO, "x");
        let g1 = health.generation();
        health.failed(&node(1), t0, Duration::ZERO, "x");
        assert_eq!(health.generation(), g1, "a repeated failure changes nothing");
        health.declare_down(&node(1), t0);
        let g2 = health.generation();
        health.recovered(&node(1));
        assert!(g0 < g1 && g1 < g2 && g2 < health.generation());
    }
}
