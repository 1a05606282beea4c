//! The server's command table (`COMMAND`: key-specs, flags, tips) and docs (`COMMAND
//! DOCS`), from the on-disk cache or the server. A cached reply is never trusted
//! blindly: before use, a sample of its entries is compared with the live server's own
//! answer (a mismatch discards the file and the table is fetched again), and a command
//! a cached table calls read-only is asked about before a lost reply is resent — a
//! table can never turn a write into something rcli sends twice.

use std::collections::HashMap;
use std::sync::Arc;

use crate::client::Client;
use crate::client::cache::{self, Fingerprint};
use crate::cluster::commands::CommandTable;
use crate::protocol::resp::Frame;

/// Where the command table in use came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TableSource {
    /// Compiled into rcli (Redis 7.0's table), until the server's is loaded.
    #[default]
    Builtin,
    /// Asked of the server in this session.
    Server,
    /// Read from the cache and checked against a sample of the server's answers.
    Cache,
}

/// Commands whose entries are compared with the server's before a cached table is used:
/// the ones rcli routes, splits or resends most.
const SAMPLE: &[&str] = &["get", "set", "mget", "mset", "del", "exists", "incr", "eval", "expire", "hset"];

/// What fingerprints a server: asked together, read together.
pub(super) const FINGERPRINT: [&[&str]; 3] = [&["INFO", "server"], &["INFO", "modules"], &["COMMAND", "COUNT"]];

/// `COMMAND INFO` of the [`SAMPLE`]: the live answer a cached table is compared with.
pub(super) fn sample_command() -> Vec<&'static str> {
    let mut sample = vec!["COMMAND", "INFO"];
    sample.extend(SAMPLE);
    sample
}

/// What is known about the server's tables this session.
#[derive(Debug, Default)]
pub struct Tables {
    /// Asked once per session (`None` inside: the server would not say).
    fingerprint: Option<Option<Fingerprint>>,
    pub source: TableSource,
    /// Read-only flags confirmed by the server for a cached table.
    confirmed: HashMap<String, bool>,
}

impl Tables {
    /// Forgets everything (another server).
    pub fn reset(&mut self) {
        *self = Tables::default();
    }
}

/// A reply with RESP3 maps and sets turned into RESP2 arrays, so replies read over
/// either protocol compare equal.
fn canonical(frame: &Frame) -> Frame {
    match frame {
        Frame::Map(pairs) => Frame::Array(pairs.iter().flat_map(|(k, v)| [canonical(k), canonical(v)]).collect()),
        Frame::Array(items) | Frame::Set(items) => Frame::Array(items.iter().map(canonical).collect()),
        Frame::Simple(text) => Frame::Bulk(text.to_vec()),
        Frame::Attributed { reply, .. } => canonical(reply),
        other => other.clone(),
    }
}

/// The entry named `name` in a COMMAND-shaped reply (an array of per-command arrays).
fn entry<'f>(reply: &'f Frame, name: &str) -> Option<&'f Frame> {
    reply.as_items()?.iter().find(|e| {
        e.as_items()
            .and_then(|items| items.first())
            .and_then(Frame::as_bytes)
            .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()))
    })
}

/// The entry named `name` in a COMMAND DOCS-shaped reply (name, docs, name, docs…).
fn docs_entry(reply: &Frame, name: &str) -> Option<Frame> {
    let pairs = reply.to_pairs()?;
    pairs
        .iter()
        .find(|(k, _)| k.as_bytes().is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes())))
        .map(|(_, v)| canonical(v))
}

impl Client {
    /// The server's fingerprint, asked once: INFO server, INFO modules and COMMAND
    /// COUNT. `None` when the server will not say (no permission, not Redis).
    fn fingerprint(&mut self) -> Option<Fingerprint> {
        if let Some(known) = &self.tables.fingerprint {
            return known.clone();
        }
        let current = self.current.clone();
        let replies = self.pool.internal_batch(&current, &FINGERPRINT).unwrap_or_default();
        self.keep_fingerprint(&replies)
    }

    /// The fingerprint from the replies to [`FINGERPRINT`]'s commands (asked in the
    /// start-up exchange, `client/startup.rs`); error replies count as missing.
    pub(super) fn keep_fingerprint(&mut self, replies: &[Frame]) -> Option<Fingerprint> {
        let answer = |i: usize| replies.get(i).filter(|f| f.as_error().is_none());
        let fingerprint = answer(0)
            .and_then(|info| Fingerprint::from_replies(info, answer(1), answer(2).and_then(Frame::as_integer)));
        self.tables.fingerprint = Some(fingerprint.clone());
        fingerprint
    }

    /// A reply about the server's commands: from the cache when the server agrees with
    /// it on a sample (`matches` compares the cached reply with the live one), else
    /// asked of the node in the prompt (then cached). The bool is true for the cache.
    fn table_reply(
        &mut self,
        kind: &str,
        command: &[&str],
        matches: impl FnOnce(&mut Client, &Frame) -> bool,
    ) -> Option<(Frame, bool)> {
        let fingerprint = self.fingerprint();
        if let Some(fp) = &fingerprint
            && let Some(cached) = cache::load(kind, fp)
        {
            if matches(self, &cached) {
                return Some((cached, true));
            }
            cache::discard(kind, fp);
        }
        let current = self.current.clone();
        let fresh = self.pool.internal(&current, command).ok().filter(|f| f.as_error().is_none())?;
        if let Some(fp) = &fingerprint {
            cache::store(kind, fp, &fresh);
        }
        Some((fresh, false))
    }

    /// Loads the server's command table: the cached one when `live_sample` (the
    /// server's answer to [`sample_command`], asked in the start-up exchange) agrees
    /// with it, else fetched (then cached).
    pub(super) fn load_command_table(&mut self, live_sample: Option<&Frame>) {
        let check = |_: &mut Client, cached: &Frame| {
            let Some(live) = live_sample else { return false };
            SAMPLE.iter().all(|name| entry(live, name).map(canonical) == entry(cached, name).map(canonical))
        };
        if let Some((reply, cached)) = self.table_reply("command-info", &["COMMAND"], check) {
            let table = CommandTable::from_reply(&reply);
            if !table.is_empty() {
                self.commands = std::cell::OnceCell::from(Arc::new(table));
                self.tables.source = if cached { TableSource::Cache } else { TableSource::Server };
            }
        }
    }

    /// The server's `COMMAND DOCS` reply (cached, or fetched), for help, completion and
    /// hints; `None` when the server cannot answer.
    pub fn command_docs(&mut self) -> Option<Frame> {
        let check = |client: &mut Client, cached: &Frame| {
            let current = client.current.clone();
            let Ok(live) = client.pool.internal(&current, &["COMMAND", "DOCS", "get", "set", "mget"]) else {
                return false;
            };
            ["get", "set", "mget"].iter().all(|name| docs_entry(&live, name) == docs_entry(cached, name))
        };
        self.table_reply("command-docs", &["COMMAND", "DOCS"], check).map(|(reply, _)| reply)
    }

    /// Whether `argv`'s command only reads, as far as resending it after a lost reply
    /// is concerned: a table read from the cache is confirmed by the server first (once
    /// per command); when the server cannot say, the command counts as a write.
    pub(super) fn confirmed_readonly(&mut self, argv: &[Vec<u8>], readonly: bool) -> bool {
        if !readonly || self.tables.source != TableSource::Cache {
            return readonly;
        }
        let name = argv.first().map(|n| String::from_utf8_lossy(n).to_ascii_lowercase()).unwrap_or_default();
        if let Some(&known) = self.tables.confirmed.get(&name) {
            return known;
        }
        let current = self.current.clone();
        let confirmed = self
            .pool
            .internal(&current, &["COMMAND", "INFO", name.as_str()])
            .ok()
            .and_then(|reply| {
                let flags = entry(&reply, &name)?.as_items()?.get(2)?.as_items()?.to_vec();
                Some(flags.iter().any(|f| f.as_bytes().is_some_and(|b| b.eq_ignore_ascii_case(b"readonly"))))
            })
            .unwrap_or(false);
        self.tables.confirmed.insert(name, confirmed);
        confirmed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_over_resp2_and_resp3_compare_equal() {
        let resp2 = Frame::Array(vec![Frame::Bulk(b"k".to_vec()), Frame::Integer(1)]);
        let resp3 = Frame::Map(vec![(Frame::Simple(b"k".as_slice().into()), Frame::Integer(1))]);
        assert_eq!(canonical(&resp2), canonical(&resp3));
    }
}
