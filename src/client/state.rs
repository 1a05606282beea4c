//! The session's state that every connection must share: credentials, protocol,
//! database, client name (restored by the handshake of each new connection), whether
//! the user asked for READONLY, and an open transaction. [`SessionState::observe`]
//! updates it from a command and its reply; it is pure, and says what the caller must
//! do about the other connections.

use std::fmt;

use crate::endpoint::Endpoint;
use crate::protocol::resp::{self, Frame};

/// Credentials sent with AUTH. They live only in memory.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: Option<Vec<u8>>,
    pub password: Vec<u8>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials(<hidden>)")
    }
}

/// The per-session state every new connection must restore.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionState {
    pub auth: Option<Credentials>,
    pub resp3: bool,
    pub db: i64,
    pub client_name: Option<Vec<u8>>,
}

/// A MULTI in progress: the node it runs on, the slot it is pinned to once a keyed
/// command was queued, and the keyless commands queued before that (replayed if the
/// transaction must move to the slot's owner).
#[derive(Debug, Clone)]
pub struct Transaction {
    pub node: Endpoint,
    pub slot: Option<u16>,
    pub queued: Vec<Vec<Vec<u8>>>,
}

/// What a command changed, for the caller to act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Change {
    /// The other connections no longer match the session: close them (they reconnect
    /// with the new state).
    pub relink_others: bool,
    /// READONLY/READWRITE typed by the user.
    pub readonly: Option<bool>,
}

impl SessionState {
    /// The commands a new connection sends to match this state (name for errors, argv).
    pub fn handshake(&self, readonly: bool) -> Vec<(&'static str, Vec<Vec<u8>>)> {
        let mut steps: Vec<(&str, Vec<Vec<u8>>)> = Vec::new();
        if self.resp3 {
            let mut hello = vec![b"HELLO".to_vec(), b"3".to_vec()];
            if let Some(auth) = &self.auth {
                hello.push(b"AUTH".to_vec());
                hello.push(auth.user.clone().unwrap_or_else(|| b"default".to_vec()));
                hello.push(auth.password.clone());
            }
            steps.push(("HELLO 3", hello));
        } else if let Some(auth) = &self.auth {
            let mut cmd = vec![b"AUTH".to_vec()];
            cmd.extend(auth.user.clone());
            cmd.push(auth.password.clone());
            steps.push(("AUTH", cmd));
        }
        if let Some(name) = &self.client_name {
            steps.push(("CLIENT SETNAME", vec![b"CLIENT".to_vec(), b"SETNAME".to_vec(), name.clone()]));
        }
        if self.db != 0 {
            steps.push(("SELECT", vec![b"SELECT".to_vec(), self.db.to_string().into_bytes()]));
        }
        if readonly {
            steps.push(("READONLY", vec![b"READONLY".to_vec()]));
        }
        steps
    }

    /// Updates the state after `argv` got `reply` (AUTH, SELECT, HELLO, CLIENT
    /// SETNAME, READONLY/READWRITE, RESET).
    pub fn observe(&mut self, argv: &[Vec<u8>], reply: &Frame) -> Change {
        let Some(name) = argv.first().map(|n| n.to_ascii_lowercase()) else { return Change::default() };
        let ok = reply.as_error().is_none();
        let arg = |i: usize| argv.get(i).map(|a| a.to_ascii_lowercase());
        let relink = Change { relink_others: true, readonly: None };
        match name.as_slice() {
            b"select" if reply.is_ok() => match argv.get(1).and_then(|d| resp::parse_i64(d)) {
                Some(db) => {
                    self.db = db;
                    relink
                }
                None => Change::default(),
            },
            b"auth" if reply.is_ok() => {
                self.auth = match argv {
                    [_, password] => Some(Credentials { user: None, password: password.clone() }),
                    [_, user, password] => Some(Credentials { user: Some(user.clone()), password: password.clone() }),
                    _ => self.auth.clone(),
                };
                relink
            }
            b"hello" if ok && !matches!(reply, Frame::Simple(_)) => {
                if let Some(version) = argv.get(1).and_then(|v| resp::parse_i64(v)) {
                    self.resp3 = version == 3;
                }
                let mut i = 2;
                while i < argv.len() {
                    match (arg(i).as_deref(), argv.get(i + 1), argv.get(i + 2)) {
                        (Some(b"auth"), Some(user), Some(password)) => {
                            self.auth = Some(Credentials { user: Some(user.clone()), password: password.clone() });
                            i += 3;
                        }
                        (Some(b"setname"), Some(name), _) => {
                            self.client_name = Some(name.clone());
                            i += 2;
                        }
                        _ => i += 1,
                    }
                }
                relink
            }
            b"client" if reply.is_ok() && arg(1).as_deref() == Some(b"setname") => {
                self.client_name = argv.get(2).cloned().filter(|n| !n.is_empty());
                relink
            }
            b"readonly" if reply.is_ok() => Change { relink_others: false, readonly: Some(true) },
            b"readwrite" if reply.is_ok() => Change { relink_others: false, readonly: Some(false) },
            b"reset" if ok => {
                *self = SessionState::default();
                Change { relink_others: true, readonly: Some(false) }
            }
            _ => Change::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(line: &str) -> Vec<Vec<u8>> {
        line.split(' ').map(|s| s.as_bytes().to_vec()).collect()
    }

    fn ok() -> Frame {
        Frame::Simple(b"OK".as_slice().into())
    }

    #[test]
    fn credentials_never_print() {
        let c = Credentials { user: None, password: b"secret".to_vec() };
        assert!(!format!("{c:?}").contains("secret"));
    }

    #[test]
    fn state_follows_successful_commands_only() {
        let mut state = SessionState::default();
        assert!(state.observe(&argv("SELECT 2"), &ok()).relink_others);
        assert_eq!(state.db, 2);
        state.observe(&argv("SELECT 5"), &Frame::Error(b"ERR DB index is out of range".to_vec()));
        assert_eq!(state.db, 2);
        state.observe(&argv("AUTH alice pw"), &ok());
        assert_eq!(state.auth.as_ref().and_then(|a| a.user.clone()), Some(b"alice".to_vec()));
        state.observe(&argv("CLIENT SETNAME me"), &ok());
        assert_eq!(state.client_name, Some(b"me".to_vec()));
        assert_eq!(state.observe(&argv("READONLY"), &ok()).readonly, Some(true));
        let hello = Frame::Map(vec![]);
        state.observe(&argv("HELLO 3 AUTH bob pw2 SETNAME x"), &hello);
        assert!(state.resp3);
        assert_eq!(state.client_name, Some(b"x".to_vec()));
        state.observe(&argv("RESET"), &Frame::Simple(b"RESET".as_slice().into()));
        assert_eq!(state, SessionState::default());
    }

    #[test]
    fn the_handshake_restores_the_state_in_order() {
        let state = SessionState {
            auth: Some(Credentials { user: Some(b"u".to_vec()), password: b"p".to_vec() }),
            resp3: false,
            db: 3,
            client_name: Some(b"n".to_vec()),
        };
        let names: Vec<&str> = state.handshake(true).into_iter().map(|(name, _)| name).collect();
        assert_eq!(names, ["AUTH", "CLIENT SETNAME", "SELECT", "READONLY"]);
        assert!(SessionState::default().handshake(false).is_empty());
    }
}
