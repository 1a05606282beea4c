//! What a cluster session asks its seed before the first command, in one exchange: the
//! server's fingerprint (INFO server, INFO modules, COMMAND COUNT), a sample of its
//! command table (COMMAND INFO, compared with a cached table) and its slot map (CLUSTER
//! SHARDS) are written together and read together. Every reply is handled on its own: a
//! refusal (an ACL user without COMMAND or CLUSTER SHARDS) is a value that leaves that
//! part to its fallback, as if it had been asked alone. Only what the replies leave
//! open costs another exchange: the whole COMMAND table when no cached one matches,
//! CLUSTER SLOTS when SHARDS is refused, another node when the seed's map cannot be
//! read. The failure budget is not asked here but when a node first fails
//! (`refresh.rs`).

use crate::client::Client;
use crate::client::tables::{FINGERPRINT, sample_command};
use crate::cluster::event::EventSink;
use crate::error::Result;

impl Client {
    /// The start-up exchange on the node in the prompt, then whatever its replies
    /// leave open (see the file's header).
    pub(super) fn start_exchange(&mut self, events: &mut dyn EventSink) -> Result<()> {
        let current = self.current.clone();
        let sample = sample_command();
        let mut asked: Vec<&[&str]> = FINGERPRINT.to_vec();
        let sample_at = asked.len();
        asked.push(&sample);
        let shards_at = asked.len();
        asked.push(&["CLUSTER", "SHARDS"]);
        // A link that fails mid-exchange leaves every part to its fallback, each asked
        // on a new connection as before.
        let replies = self.pool.internal_batch(&current, &asked).unwrap_or_default();
        self.keep_fingerprint(replies.get(..FINGERPRINT.len()).unwrap_or_default());
        self.load_command_table(replies.get(sample_at));
        let shards = replies.get(shards_at).cloned().map(|reply| (current, reply));
        self.refresh_topology_with(None, shards, events)
    }
}
