//! Guided lessons in the sandbox shell (`rcli sandbox --lesson hash-tags|failover`, or
//! `:lesson NAME` in any sandbox shell): a few steps, each with a goal the user reaches
//! with their own commands, checked against the live cluster.
//!
//! A lesson is data and pure checks. For the command just typed (an [`Attempt`]: its
//! words, keys and what it got), a [`Step`] names the live state it wants read
//! ([`Probe`]s: a fresh slot map, a node's PING/INFO, a key's value on its owner, a
//! server's own answer to a read-only command); its check turns the attempt, those
//! [`Readings`] and the lesson's [`Memory`] into a [`Verdict`]: done (with a short
//! explanation), a hint, or nothing to say. Checks look at the cluster's state, not at
//! how the user got there (a primary killed with `:kill` or with `kill -9` from another
//! terminal is down all the same).
//!
//! [`progress`] walks a lesson's steps (pure); [`guide`] is the shell's side: it reads
//! the probes through rcli's client and prints. The lessons: [`hash_tags`],
//! [`failover`]; [`reading`] holds the probes and what they read.

pub mod failover;
pub mod guide;
pub mod hash_tags;
pub mod progress;
pub mod reading;

use crate::cluster::slot;
use crate::endpoint::Endpoint;
use crate::protocol::split::repr_string;
use crate::session::outcome::Outcome;

pub use guide::Guide;
pub use reading::{NodeInfo, NodeReading, Probe, Readings};

/// One lesson: its steps and what it remembers along the way.
pub struct Lesson {
    /// The name `--lesson` and `:lesson` take.
    pub name: &'static str,
    pub title: &'static str,
    /// Shown when the lesson starts.
    pub intro: &'static str,
    /// The lesson kills a primary and needs a replica to take over.
    pub needs_replicas: bool,
    pub steps: &'static [Step],
    /// Shown when the last step is done.
    pub outro: &'static str,
    /// What the lesson learns from any command, whatever the step: a value written,
    /// the node that owns a key (runs before the step's check).
    pub observe: fn(&Attempt, &Readings, &mut Memory),
    /// The probes `observe` needs for an attempt.
    pub observe_probes: fn(&Attempt, &Memory) -> Vec<Probe>,
}

/// One step of a lesson.
pub struct Step {
    pub title: &'static str,
    /// What to do, for a person (may name what the lesson learned: a node, a pid).
    pub goal: fn(&Memory) -> String,
    /// The live state the check needs for an attempt.
    pub probes: fn(&Attempt, &Memory) -> Vec<Probe>,
    pub check: fn(&Attempt, &Readings, &Memory) -> Verdict,
}

/// What a step's check says about an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The step is reached; why it worked, in a few sentences.
    Done(String),
    /// A relevant attempt that did not reach the step, and what to try.
    Hint(String),
    /// Nothing to say (the command had nothing to do with the step).
    Quiet,
}

/// What a lesson remembers between steps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Memory {
    /// The values the user wrote with SET, by key (the latest).
    pub written: Vec<(Vec<u8>, Vec<u8>)>,
    /// The node the lesson is about (the failover lesson: foo's primary before the kill).
    pub node: Option<Endpoint>,
    /// What was read from that node while it ran.
    pub node_info: Option<NodeInfo>,
    /// The last command rcli refused because its keys span slots (its name).
    pub refused: Option<String>,
    /// The shell has the sandbox lab commands (`:kill`, `:restart`, …).
    pub lab: bool,
}

impl Memory {
    /// The value the user last wrote to `key`.
    pub fn written(&self, key: &[u8]) -> Option<&[u8]> {
        self.written.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_slice())
    }

    /// Remembers `key = value`.
    pub fn write(&mut self, key: &[u8], value: &[u8]) {
        self.written.retain(|(k, _)| k != key);
        self.written.push((key.to_vec(), value.to_vec()));
    }
}

/// The command the user just ran, and what it got.
#[derive(Debug, Clone)]
pub struct Attempt<'a> {
    /// Its words (the `N` of a repeat removed); empty when Enter was pressed on an
    /// empty line (a request to check the cluster's state now).
    pub argv: &'a [Vec<u8>],
    /// Its keys: every argument of `:slot`, none for rcli's other `:commands`, the
    /// command table's key positions for the rest.
    pub keys: Vec<&'a [u8]>,
    /// What it got (`None` for rcli's own `:commands` and an empty line).
    pub outcome: Option<&'a Outcome>,
    /// The node in the prompt after it ran (where a keyless command went).
    pub at: Option<&'a Endpoint>,
}

impl<'a> Attempt<'a> {
    /// The attempt of `argv`, whose keys (for a command sent to Redis) are at `positions`.
    pub fn new(
        argv: &'a [Vec<u8>],
        positions: &[usize],
        outcome: Option<&'a Outcome>,
        at: Option<&'a Endpoint>,
    ) -> Attempt<'a> {
        let keys = match argv.split_first() {
            Some((name, rest)) if name.eq_ignore_ascii_case(b":slot") => rest.iter().map(Vec::as_slice).collect(),
            Some((name, _)) if name.first() == Some(&b':') => Vec::new(),
            _ => positions.iter().filter_map(|&p| argv.get(p)).map(Vec::as_slice).collect(),
        };
        Attempt { argv, keys, outcome, at }
    }

    /// True for rcli's own `:commands`.
    pub fn is_meta(&self) -> bool {
        self.argv.first().is_some_and(|w| w.first() == Some(&b':'))
    }

    /// True for Enter on an empty line.
    pub fn is_enter(&self) -> bool {
        self.argv.is_empty()
    }

    /// True when the command's name is `name` (any case).
    pub fn is(&self, name: &str) -> bool {
        self.argv.first().is_some_and(|w| w.eq_ignore_ascii_case(name.as_bytes()))
    }

    /// The command's name in upper case.
    pub fn name(&self) -> String {
        String::from_utf8_lossy(self.argv.first().map(Vec::as_slice).unwrap_or_default()).to_uppercase()
    }

    /// The argument at `index` (0 is the command).
    pub fn arg(&self, index: usize) -> Option<&'a [u8]> {
        self.argv.get(index).map(Vec::as_slice)
    }

    /// Its keys without repeats, in order.
    pub fn distinct_keys(&self) -> Vec<&'a [u8]> {
        let mut keys: Vec<&[u8]> = Vec::new();
        for &key in &self.keys {
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        keys
    }

    /// The slots of its keys without repeats, in the keys' order.
    pub fn slots(&self) -> Vec<u16> {
        let mut slots = Vec::new();
        for key in &self.keys {
            let slot = slot::slot_of(key);
            if !slots.contains(&slot) {
                slots.push(slot);
            }
        }
        slots
    }

    /// True when it names `key` among its keys.
    pub fn has_key(&self, key: &[u8]) -> bool {
        self.keys.contains(&key)
    }
}

/// Every lesson, in the order `:lesson` lists them.
pub const LESSONS: &[&Lesson] = &[&hash_tags::LESSON, &failover::LESSON];

/// The lessons' names, for `--lesson`'s possible values.
pub const NAMES: &[&str] = &[hash_tags::LESSON.name, failover::LESSON.name];

/// The lesson called `name`.
pub fn find(name: &str) -> Option<&'static Lesson> {
    LESSONS.iter().copied().find(|l| l.name.eq_ignore_ascii_case(name))
}

/// A key as the shell quotes it (`"user:1:name"`).
pub fn quoted(key: &[u8]) -> String {
    repr_string(key)
}

/// Where `key` goes, for teaching: `"user:1:name" → slot 12345 (hashed: "1")`.
pub fn key_and_slot(key: &[u8]) -> String {
    let part = slot::hashed_part(key);
    let hashed = match part {
        slot::HashedPart::Tag { .. } => format!("only {} hashed", quoted(part.bytes(key))),
        _ => "whole key hashed".to_string(),
    };
    format!("{} → slot {} ({hashed})", quoted(key), slot::slot_of(key))
}

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
mod tests {
    use super::testing::words;
    use super::*;

    #[test]
    fn lessons_are_listed_once_with_steps() {
        assert_eq!(NAMES, LESSONS.iter().map(|l| l.name).collect::<Vec<_>>().as_slice());
        assert!(LESSONS.iter().all(|l| (3..=8).contains(&l.steps.len())));
        assert_eq!(find("Hash-Tags").map(|l| l.name), Some("hash-tags"));
        assert!(find("nope").is_none());
    }

    #[test]
    fn attempts_know_their_keys_and_slots() {
        let argv = words("MSET a 1 b 2 a 3");
        let attempt = Attempt::new(&argv, &[1, 3, 5], None, None);
        assert!(attempt.is("mset") && !attempt.is_enter());
        assert_eq!(attempt.distinct_keys(), vec![b"a".as_slice(), b"b"]);
        assert_eq!(attempt.slots(), vec![15495, 3300]);
        let slot = words(":slot a {a}b");
        assert_eq!(Attempt::new(&slot, &[], None, None).keys, vec![b"a".as_slice(), b"{a}b"]);
        let meta = words(":explain get a");
        assert!(Attempt::new(&meta, &[2], None, None).keys.is_empty());
        assert_eq!(key_and_slot(b"user:{1}:name"), "\"user:{1}:name\" → slot 9842 (only \"1\" hashed)");
        assert_eq!(key_and_slot(b"foo"), "\"foo\" → slot 12182 (whole key hashed)");
    }

    #[test]
    fn memory_keeps_the_latest_value() {
        let mut memory = Memory::default();
        memory.write(b"foo", b"1");
        memory.write(b"foo", b"2");
        assert_eq!(memory.written(b"foo"), Some(b"2".as_slice()));
        assert_eq!(memory.written.len(), 1);
    }
}
