//! What a slot move is made of, shared by everything that moves slots (the mover, the
//! drain, atomic slot migration, the journal, the census and its rules, recovery): the
//! nodes at each end ([`Peer`]), a planned move ([`Unit`]), how moves run ([`Settings`],
//! [`Style`]), and what one printed and ended with ([`SlotOutcome`], [`Piece`]). Pure:
//! types and the commands they turn into, no I/O.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use crate::client::state::Credentials;
use crate::endpoint::Endpoint;

use super::report::Level;

/// One planned slot move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub slot: u16,
    pub src: Peer,
    pub dst: Peer,
}

/// A master as the mover needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub id: String,
    pub host: String,
    pub port: u16,
}

impl Peer {
    pub fn endpoint(&self) -> Endpoint {
        Endpoint::tcp(&self.host, self.port)
    }

    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// How slots are moved.
#[derive(Debug, Clone)]
pub struct Settings {
    /// MIGRATE's I/O timeout in milliseconds.
    pub timeout_ms: i64,
    /// Keys asked for per GETKEYSINSLOT.
    pub get_count: usize,
    /// Keys per MIGRATE.
    pub batch: usize,
    pub replace: bool,
    /// `fix`: an unserved slot is given to the target before retrying.
    pub fixing: bool,
    pub auth: Option<Credentials>,
    /// Keys that MIGRATE moves one at a time (found big by the pre-flight).
    pub big_keys: Arc<HashSet<Vec<u8>>>,
    /// Every master, for the final SETSLOT NODE and the checks before a group.
    pub masters: Vec<Peer>,
    /// Databases per node (keys are counted, and moved, in each).
    pub databases: u32,
    /// Hot moves go by atomic slot migration ([`super::atomic`]).
    pub atomic: bool,
}

/// A piece of output: raw text or a log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    Log(Level, String),
    /// An rcli line on stderr.
    Note(String),
    /// An rcli line on stderr only where asides are shown ([`super::report::Report::aside`]).
    Aside(String),
}

/// What moving one slot did.
#[derive(Debug, Clone, Default)]
pub struct SlotOutcome {
    pub slot: u16,
    pub keys: u64,
    pub pieces: Vec<Piece>,
    /// Set on failure: the error text (redis-cli's `err`), possibly empty.
    pub error: Option<String>,
}

/// How a move runs: hot (open, drain, finalise) or cold (drain only, for `fix`), with
/// or without redis-cli's `Moving slot …` line and its dots.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub cold: bool,
    pub quiet: bool,
}

impl Settings {
    pub(super) fn migrate_wait(&self) -> Duration {
        let ms = u64::try_from(self.timeout_ms).unwrap_or(0).max(1000);
        Duration::from_millis(ms.saturating_mul(2)).saturating_add(Duration::from_secs(30))
    }

    /// `MIGRATE` of `keys` to `dst`, into the same database `db` they are in.
    pub(super) fn migrate_argv(&self, dst: &Peer, keys: &[Vec<u8>], replace: bool, db: u32) -> Vec<Vec<u8>> {
        let mut argv: Vec<Vec<u8>> = vec![
            b"MIGRATE".to_vec(),
            dst.host.clone().into_bytes(),
            dst.port.to_string().into_bytes(),
            Vec::new(),
            db.to_string().into_bytes(),
            self.timeout_ms.to_string().into_bytes(),
        ];
        if replace {
            argv.push(b"REPLACE".to_vec());
        }
        // Only with a password: a user alone must not add an empty argument (the
        // redis-cli bug that turns MIGRATE into CROSSSLOT).
        if let Some(auth) = &self.auth {
            match &auth.user {
                Some(user) => argv.extend([b"AUTH2".to_vec(), user.clone(), auth.password.clone()]),
                None => argv.extend([b"AUTH".to_vec(), auth.password.clone()]),
            }
        }
        argv.push(b"KEYS".to_vec());
        argv.extend(keys.iter().cloned());
        argv
    }

    /// Splits keys into MIGRATE batches: big keys alone, the others `batch` at a time.
    pub(super) fn batches(&self, keys: Vec<Vec<u8>>) -> Vec<Vec<Vec<u8>>> {
        let mut out: Vec<Vec<Vec<u8>>> = Vec::new();
        let mut current = Vec::new();
        for key in keys {
            if self.big_keys.contains(&key) {
                out.push(vec![key]);
                continue;
            }
            current.push(key);
            if current.len() >= self.batch.max(1) {
                out.push(std::mem::take(&mut current));
            }
        }
        if !current.is_empty() {
            out.push(current);
        }
        out
    }
}

/// `CLUSTER SETSLOT <slot> <kind> <id>`.
pub fn setslot(slot: u16, kind: &str, id: &str) -> Vec<String> {
    vec!["CLUSTER".into(), "SETSLOT".into(), slot.to_string(), kind.into(), id.into()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(batch: usize, big: &[&str]) -> Settings {
        Settings {
            timeout_ms: 60000,
            get_count: 10,
            batch,
            replace: false,
            fixing: false,
            auth: Some(Credentials { user: Some(b"u".to_vec()), password: b"p".to_vec() }),
            big_keys: Arc::new(big.iter().map(|k| k.as_bytes().to_vec()).collect()),
            masters: Vec::new(),
            databases: 1,
            atomic: false,
        }
    }

    #[test]
    fn big_keys_move_alone() {
        let keys: Vec<Vec<u8>> = ["a", "b", "big", "c"].iter().map(|k| k.as_bytes().to_vec()).collect();
        let batches = settings(2, &["big"]).batches(keys);
        let names: Vec<Vec<&[u8]>> = batches.iter().map(|b| b.iter().map(Vec::as_slice).collect()).collect();
        assert_eq!(names, vec![vec![b"a".as_slice(), b"b"], vec![b"big"], vec![b"c"]]);
    }

    #[test]
    fn migrate_carries_auth2_and_keys() {
        let dst = Peer { id: "x".into(), host: "10.0.0.2".into(), port: 7001 };
        let argv = settings(10, &[]).migrate_argv(&dst, &[b"k".to_vec()], true, 0);
        let text: Vec<String> = argv.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        assert_eq!(text, ["MIGRATE", "10.0.0.2", "7001", "", "0", "60000", "REPLACE", "AUTH2", "u", "p", "KEYS", "k"]);
        let mut no_password = settings(10, &[]);
        no_password.auth = None;
        assert_eq!(no_password.migrate_argv(&dst, &[b"k".to_vec()], false, 0).len(), 8);
        assert_eq!(no_password.migrate_argv(&dst, &[b"k".to_vec()], false, 7).get(4), Some(&b"7".to_vec()));
    }
}
