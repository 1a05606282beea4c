//! What the user sees about how a command travelled: hop lines such as redis-cli's
//! `-> Redirected to slot [12182] located at 127.0.0.1:7002`, splits, retries, nodes
//! that stopped answering. Events are values; the caller decides whether and where to
//! print them (immediately in the shell, in input order for piped input).

use std::time::Duration;

use crate::endpoint::Endpoint;
use crate::protocol::piecewise::ReplySink;

/// Something the user should see about how a command travelled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Routed to the slot's owner, which is not the node in the prompt.
    Redirected { slot: u16, to: Endpoint },
    /// A read-only command served by a replica.
    ReplicaRead { slot: u16, to: Endpoint },
    /// The server said MOVED: the slot map was stale.
    Moved { slot: u16, to: Endpoint },
    /// The server said ASK: the slot is migrating.
    Ask { slot: u16, to: Endpoint },
    /// A cross-slot command split into one command per slot.
    Split { slots: usize, nodes: usize },
    /// A transient cluster error; trying again after a pause.
    Retry { error: String, attempt: usize, of: usize, delay: Duration },
    /// A node did not answer; the slot map is being reloaded.
    NodeDown { endpoint: Endpoint, error: String },
    /// A non-cluster node given with `-c`.
    NotACluster { endpoint: Endpoint },
    /// The slot map cannot be read (no permission, or the node does not answer CLUSTER
    /// SHARDS/SLOTS): rcli follows redirects and learns slots from them.
    LearningSlots { endpoint: Endpoint, reason: String },
    /// A cluster-wide stream (MONITOR, keyspace events with `-c`) gained, lost or was
    /// refused a node.
    Stream { endpoint: Endpoint, change: StreamChange },
}

/// What happened to one node of a cluster-wide stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamChange {
    /// The slot map selects a node it did not (a promoted replica).
    Joined,
    /// The slot map no longer selects it (a primary turned replica).
    Left,
    /// Its connection ended; the slot map is followed to whoever takes over.
    Lost(String),
    /// It answered the stream's command with an error; it is not asked again.
    Refused(String),
}

impl Event {
    /// Events that change how the whole session works: shown even where hop lines are
    /// hidden, on stderr then, when stderr is a terminal (`-v` shows them anywhere).
    pub fn is_notice(&self) -> bool {
        matches!(self, Event::NotACluster { .. } | Event::LearningSlots { .. })
    }

    /// The line printed for this event.
    pub fn line(&self) -> String {
        match self {
            Event::Redirected { slot, to } => format!("-> Redirected to slot [{slot}] located at {to}"),
            Event::ReplicaRead { slot, to } => format!("-> Reading slot [{slot}] from replica {to}"),
            Event::Moved { slot, to } => format!("-> MOVED: slot {slot} is now at {to}, slot map refreshed"),
            Event::Ask { slot, to } => format!("-> ASK: slot {slot} is migrating to {to}, asking there once"),
            Event::Split { slots, nodes } => format!(
                "-> split across {slots} slots on {nodes} node{} (not atomic)",
                if *nodes == 1 { "" } else { "s" }
            ),
            Event::Retry { error, attempt, of, delay } => {
                format!("-> {error}: retrying in {} ms (attempt {attempt} of {of})", delay.as_millis())
            }
            Event::NodeDown { endpoint, error } => {
                format!("-> {endpoint} is not answering ({error}); reloading the slot map")
            }
            Event::NotACluster { endpoint } => {
                format!("-> {endpoint} has cluster support disabled; running as a single node")
            }
            Event::LearningSlots { endpoint, reason } => format!(
                "-> cannot read the slot map from {endpoint} ({reason}); following MOVED/ASK and learning slots from them"
            ),
            Event::Stream { endpoint, change } => match change {
                StreamChange::Joined => format!("-> streaming from {endpoint} too (the slot map now selects it)"),
                StreamChange::Left => {
                    format!("-> stopped streaming from {endpoint} (the slot map no longer selects it)")
                }
                StreamChange::Lost(error) => {
                    format!("-> the stream from {endpoint} ended ({error}); following the slot map")
                }
                StreamChange::Refused(error) => format!("-> {endpoint} refused the stream: {error}"),
            },
        }
    }
}

/// Where events go while a command runs: collected (piped input prints them in input
/// order) or shown at once (the shell shows a hop before a blocking command waits). The
/// same sink may also take a big reply piece by piece as it arrives.
pub trait EventSink {
    fn event(&mut self, event: Event);

    /// Where a big array or set reply goes piece by piece, if the caller prints it as it
    /// arrives; `None` (the default) to get it whole.
    fn pieces(&mut self) -> Option<&mut dyn ReplySink> {
        None
    }
}

impl EventSink for Vec<Event> {
    fn event(&mut self, event: Event) {
        self.push(event);
    }
}
