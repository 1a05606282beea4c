//! One-shot commands routed by the slot map cached on disk (`client/map_cache.rs`)
//! instead of a map loaded from the seed first. The cached map is only a hint:
//! * only a one-shot keyed command whose keys share one slot uses it
//!   ([`route::cached_map_slot`]); not with `--read-from-replicas`, not with the cache
//!   turned off;
//! * the node it names for the slot must prove to be the node the map knows
//!   (`CLUSTER MYID`, on the connection the command then uses) before the command is
//!   sent: a node that is gone, refuses, or is another node (a cluster rebuilt on the
//!   same ports) leaves nothing sent, and the session loads the map from the seed as
//!   usual (a contradicted file is removed);
//! * the command itself goes through the usual routed loop: the node's reply confirms
//!   the hint, a MOVED or ASK is followed as ever (and the map reloaded from the cluster
//!   is written back to the cache), and a write whose link fails after it was sent is
//!   reported as of unknown outcome, never sent again (`client/next_step.rs`).
//!
//! So the cache can cost a wasted MYID, never a wrong answer or a doubled write. The
//! command is classified with the built-in table's entry for it alone
//! ([`CommandTable::builtin_one`]): a one-shot needs no other.

use crate::client::Client;
use crate::client::map_cache;
use crate::cluster::command::Command;
use crate::cluster::commands::CommandTable;
use crate::cluster::map_file::Identity;
use crate::cluster::route;
use crate::cluster::topology::Topology;
use crate::endpoint::Endpoint;

impl Client {
    /// Which cluster's cache file this session reads and writes: the first seed, and
    /// TLS or not. `None` when the cache is off or the seed is a Unix socket.
    pub(super) fn map_identity(&self) -> Option<Identity> {
        match self.options.seeds.first() {
            Some(seed @ Endpoint::Tcp { .. }) if self.options.map_cache && self.options.cluster => {
                Some(Identity { seed: seed.clone(), tls: self.options.tls.is_some() })
            }
            _ => None,
        }
    }

    /// Writes a map the cluster gave to the cache (when it is on).
    pub(super) fn keep_map_on_disk(&self, topology: &Topology) {
        if let Some(identity) = self.map_identity() {
            map_cache::store(&identity, topology);
        }
    }

    /// Prepares the one-shot `argv` from the cached map: true when the map is
    /// installed and the slot's node proved to be the one it names (the command then
    /// goes through [`Client::execute`] as usual); false when nothing was sent for the
    /// command and the session must connect as usual.
    pub fn start_from_cached_map(&mut self, argv: &[Vec<u8>]) -> bool {
        if self.options.read_from_replicas || self.connected {
            return false;
        }
        let Some(identity) = self.map_identity() else { return false };
        let Some(topology) = map_cache::load(&identity) else { return false };
        // Classified only now, with the built-in table's entry for this one command:
        // without a cached map no table is needed before the server's own is loaded.
        let table = CommandTable::builtin_one(argv.first().map(Vec::as_slice).unwrap_or_default());
        let command = Command::new(argv.to_vec(), &table);
        let Some(slot) = route::cached_map_slot(&command.argv, &command.keys, command.traits) else { return false };
        let Some(node) = topology.owner(slot).and_then(|owner| topology.node(owner)).cloned() else { return false };
        self.learn_hostnames(&topology);
        let answer = self.pool.internal(&node.endpoint, &["CLUSTER", "MYID"]);
        let proved = match &answer {
            Ok(reply) => reply.as_bytes().is_some_and(|id| id.eq_ignore_ascii_case(node.id.as_bytes())),
            Err(_) => false,
        };
        if !proved {
            if answer.is_ok_and(|reply| reply.as_error().is_none()) {
                // Another node answers there now: the file describes a cluster gone.
                map_cache::discard(&identity);
            }
            self.pool.set_hostnames(std::collections::HashMap::new());
            return false;
        }
        self.map.topology = Some(topology);
        self.map.generation += 1;
        self.commands = std::cell::OnceCell::from(std::sync::Arc::new(table));
        self.connected = true;
        true
    }
}
