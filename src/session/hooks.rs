//! What a layer above the session adds to each line, without the session knowing it:
//! the words it answers itself (the shell's `help` and `:meta` commands), and what it
//! keeps of each command (key names for completion, what the last command got, a
//! subscription to serve in subscribed mode). The shell implements [`Hooks`]; a run
//! without a shell passes [`NoHooks`].

use super::outcome::Outcome;
use super::{Flow, Session};
use crate::client::pool::Exchange;

/// The layer above a session.
pub trait Hooks {
    /// Answers `argv` itself when it is one of its words (then nothing is sent).
    fn answer(&mut self, session: &mut Session, argv: &[Vec<u8>]) -> Option<Flow>;

    /// Key names met in a typed command or a KEYS/SCAN reply (in the shell only).
    fn keys_seen(&mut self, _keys: &[Vec<u8>]) {}

    /// What the command just sent got (`None`: the line sent nothing).
    fn outcome(&mut self, _outcome: Option<Outcome>) {}

    /// A subscription the server confirmed, to be served by the caller; dropping it
    /// closes the connection, which ends the subscription.
    fn subscribed(&mut self, _stream: Exchange) {}
}

/// No layer above: every word goes to the server.
pub struct NoHooks;

impl Hooks for NoHooks {
    fn answer(&mut self, _session: &mut Session, _argv: &[Vec<u8>]) -> Option<Flow> {
        None
    }
}
