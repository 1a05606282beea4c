//! Dispatch of one planned command: [`Client::plan`] decides where a command goes (no
//! I/O; the rules are [`route`]'s), [`Client::execute`] sends it there — routed, fanned out, or pinned to the node
//! of a transaction — and [`Client::observe`] keeps what a reply changes in the
//! session's state (SELECT, MULTI, a queued command).

use super::{Client, pseudo_random};
use crate::client::state::Transaction;
use crate::cluster::command::{Command, Traits};
use crate::cluster::event::{Event, EventSink};
use crate::cluster::replica_choice;
use crate::cluster::reply::Reply;
use crate::cluster::route::{self, Plan};
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::protocol::resp::Frame;

impl Client {
    /// Decides where `command` goes without sending anything.
    pub fn plan(&mut self, command: &Command) -> Result<Plan> {
        if !self.is_cluster() {
            return Ok(Plan::Node(self.current.clone()));
        }
        if command.keys.is_empty() {
            if let Some(tx) = &self.tx {
                return Ok(Plan::Node(tx.node.clone()));
            }
            let Some(topology) = self.topology() else { return Ok(Plan::Node(self.current.clone())) };
            let pick = pseudo_random(topology.primaries().len());
            return Ok(route::plan_keyless(&self.target, command.traits, topology, &self.current, pick));
        }
        let in_tx = self.tx.is_some();
        route::plan_keyed(&command.argv, &command.keys, in_tx, |slot| self.owner_or_current(slot))
    }

    /// Runs one command and returns its reply; `events` receives what the user should
    /// see about its route, as it happens.
    /// A big array or set reply from a single node goes to `events`' piece sink as it
    /// arrives, when it has one ([`Reply::Streamed`]).
    pub fn execute(&mut self, command: &Command, events: &mut dyn EventSink) -> Result<Reply> {
        if self.is_cluster() {
            self.ensure_map(events);
        }
        let plan = self.plan(command)?;
        let (argv, traits) = (command.argv.as_slice(), command.traits);
        let (slot, endpoint) = match plan {
            Plan::Node(endpoint) => (None, endpoint),
            Plan::Slot { slot, endpoint } => (Some(slot), self.prepare_slot(traits, slot, endpoint, events)?),
            Plan::Split { kind, groups } => {
                let frame = self.execute_split(argv, traits, kind, &groups, events);
                self.observe(argv, &frame);
                return Ok(Reply::One(frame));
            }
            Plan::Fanout { nodes, policy } => return Ok(self.execute_fanout(argv, &nodes, policy)),
        };
        let answer = match self.send_routed_pieces(argv, traits, slot, endpoint, events) {
            Err(Error::ServerEnded { .. }) => return Ok(Reply::Ended),
            other => other?,
        };
        Ok(match answer {
            Some(frame) => {
                self.observe(argv, &frame);
                Reply::One(frame)
            }
            None => {
                // A big array: not an error, and none of the commands whose reply
                // changes the session's state (AUTH, SELECT, HELLO…) answers with one.
                self.observe(argv, &Frame::Array(Vec::new()));
                Reply::Streamed
            }
        })
    }

    /// Chooses the node for a single-slot command: the owner, a replica for reads when
    /// asked to, or the transaction's node; moves the prompt like redis-cli does.
    pub fn prepare_slot(
        &mut self,
        traits: Traits,
        slot: u16,
        owner: Endpoint,
        events: &mut dyn EventSink,
    ) -> Result<Endpoint> {
        if self.tx.is_some() {
            return self.pin_transaction(slot, owner, events);
        }
        if traits.readonly && self.options.read_from_replicas {
            let turn = self.turn.wrapping_add(1);
            let zone = self.options.az.as_deref();
            let replica = self
                .topology()
                .and_then(|t| replica_choice::read_replica(t, slot, zone, turn))
                .map(|n| n.endpoint.clone());
            if let Some(replica) = replica {
                self.turn = turn;
                self.pool.mark_replica(&replica);
                events.event(Event::ReplicaRead { slot, to: replica.clone() });
                return Ok(replica);
            }
        }
        self.move_prompt(slot, &owner, events);
        Ok(owner)
    }

    /// Moves the prompt to `to`, with redis-cli's redirect line, when a command for
    /// `slot` goes there from another node.
    pub fn move_prompt(&mut self, slot: u16, to: &Endpoint, events: &mut dyn EventSink) {
        if *to != self.current {
            events.event(Event::Redirected { slot, to: to.clone() });
            self.counters.routed_away += 1;
            self.current = to.clone();
        }
    }

    /// Inside MULTI: the first keyed command pins the transaction to its slot (moving
    /// MULTI to the slot's owner if needed); a command for another slot is refused.
    fn pin_transaction(&mut self, slot: u16, owner: Endpoint, events: &mut dyn EventSink) -> Result<Endpoint> {
        let Some(tx) = self.tx.clone() else { return Ok(owner) };
        match tx.slot {
            Some(pinned) if pinned != slot => Err(Error::Refused(format!(
                "refused inside MULTI: the transaction is pinned to slot {pinned} on {}, this key is in slot {slot}; \
                 give the keys a common {{hash tag}}, or EXEC/DISCARD first",
                tx.node
            ))),
            Some(_) => Ok(tx.node),
            None if owner == tx.node => {
                if let Some(t) = &mut self.tx {
                    t.slot = Some(slot);
                }
                Ok(owner)
            }
            None => {
                // Move the (so far keyless) transaction to the slot's owner. A failed
                // DISCARD only closes that connection, which ends the MULTI there too.
                let _ = self.pool.internal(&tx.node, &["DISCARD"]);
                let reply = self.pool.internal(&owner, &["MULTI"])?;
                if let Some(err) = reply.as_error() {
                    return Err(Error::Refused(format!("MULTI on {owner} failed: {}", String::from_utf8_lossy(err))));
                }
                for queued in &tx.queued {
                    self.pool.internal(&owner, queued)?;
                }
                events.event(Event::Redirected { slot, to: owner.clone() });
                self.current = owner.clone();
                self.tx = Some(Transaction { node: owner.clone(), slot: Some(slot), queued: tx.queued });
                Ok(owner)
            }
        }
    }

    /// Updates the session after a reply: what a reconnect must restore, the prompt's
    /// `[db]` and `(TX)`.
    pub fn observe(&mut self, argv: &[Vec<u8>], reply: &Frame) {
        let mut state = self.pool.state().clone();
        let change = state.observe(argv, reply);
        if change.relink_others {
            let current = self.current.clone();
            self.pool.update_state(state, Some(&current));
        }
        if let Some(readonly) = change.readonly {
            self.pool.set_user_readonly(readonly);
        }
        let name = argv.first().map(|n| n.to_ascii_lowercase()).unwrap_or_default();
        let ok = reply.as_error().is_none();
        match name.as_slice() {
            b"reset" if ok => self.tx = None,
            b"multi" if reply.is_ok() => {
                self.tx = Some(Transaction { node: self.current.clone(), slot: None, queued: Vec::new() });
            }
            b"exec" | b"discard" => self.tx = None,
            _ => {
                if let Some(tx) = &mut self.tx
                    && ok
                    && tx.slot.is_none()
                {
                    tx.queued.push(argv.to_vec());
                }
            }
        }
    }
}
