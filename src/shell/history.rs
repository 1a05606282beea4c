//! The shell's history file: where it lives (`REDISCLI_HISTFILE`, else
//! `dirs::data_dir()/rcli/history`), mode 0600, one line per entry, and which commands
//! must never be written to it because they carry secrets.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;

use crate::protocol::split::{Repeat, repeat_prefix, split_args};

/// Entries kept in the file; older ones are dropped when the shell starts.
pub const MAX_ENTRIES: usize = 1000;

/// The history file, or `None` when disabled (`REDISCLI_HISTFILE=/dev/null`) or when
/// there is no data directory.
pub fn path() -> Option<PathBuf> {
    match std::env::var_os("REDISCLI_HISTFILE") {
        Some(p) if p.is_empty() => None,
        Some(p) if p == "/dev/null" => None,
        Some(p) => Some(PathBuf::from(p)),
        None => Some(dirs::data_dir()?.join("rcli").join("history")),
    }
}

fn is(arg: Option<&Vec<u8>>, word: &str) -> bool {
    arg.is_some_and(|a| a.eq_ignore_ascii_case(word.as_bytes()))
}

/// True for commands that carry a password: AUTH, HELLO … AUTH, ACL SETUSER/GETUSER/
/// DELUSER, CONFIG SET of a password parameter, MIGRATE … AUTH/AUTH2, SENTINEL auth
/// settings (redis-cli 7.4's list plus Valkey's names). A leading repeat count is skipped.
pub fn is_sensitive(line: &str) -> bool {
    // A line whose quotes do not balance (`auth "secret7`) is judged by its words.
    let mut argv = split_args(line.as_bytes()).unwrap_or_else(|_| {
        line.split_ascii_whitespace().map(|w| w.trim_matches(['"', '\'']).as_bytes().to_vec()).collect()
    });
    if repeat_prefix(&argv) != Repeat::Once {
        argv.remove(0);
    }
    let Some(first) = argv.first() else { return false };
    let name = first.to_ascii_lowercase();
    let at = |i: usize| argv.get(i);
    match name.as_slice() {
        b"auth" => true,
        b"acl" => is(at(1), "setuser") || is(at(1), "getuser") || is(at(1), "deluser"),
        b"config" if is(at(1), "set") => {
            const SECRET: &[&str] = &[
                "masterauth",
                "masteruser",
                "primaryauth",
                "primaryuser",
                "requirepass",
                "tls-key-file-pass",
                "tls-client-key-file-pass",
            ];
            (2..argv.len()).step_by(2).any(|i| SECRET.iter().any(|s| is(at(i), s)))
        }
        b"hello" => argv.iter().skip(2).any(|a| a.eq_ignore_ascii_case(b"auth")),
        b"migrate" => argv.iter().skip(6).any(|a| a.eq_ignore_ascii_case(b"auth") || a.eq_ignore_ascii_case(b"auth2")),
        b"sentinel" => {
            (is(at(1), "config") && is(at(2), "set") && (is(at(3), "sentinel-pass") || is(at(3), "sentinel-user")))
                || (is(at(1), "set")
                    && argv
                        .iter()
                        .skip(3)
                        .any(|a| a.eq_ignore_ascii_case(b"auth-pass") || a.eq_ignore_ascii_case(b"auth-user")))
        }
        _ => false,
    }
}

/// Reads the saved entries (the newest [`MAX_ENTRIES`]), rewriting the file if it grew
/// past twice that. A missing or unreadable file is an empty history.
pub fn load(path: &PathBuf) -> Vec<String> {
    let Ok(bytes) = fs::read(path) else { return Vec::new() };
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<String> = text.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect();
    let keep = lines.get(lines.len().saturating_sub(MAX_ENTRIES)..).unwrap_or_default().to_vec();
    if lines.len() > 2 * MAX_ENTRIES {
        let mut body = keep.join("\n");
        body.push('\n');
        let _ = fs::write(path, body);
    }
    keep
}

/// Appends one entry to the file (created with mode 0600), unless it is sensitive.
pub fn append(path: &PathBuf, line: &str) -> std::io::Result<()> {
    if is_sensitive(line) || line.contains('\n') {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let mut file = OpenOptions::new().create(true).append(true).mode(0o600).open(path)?;
    // A file made by something else keeps its mode otherwise.
    file.set_permissions(fs::Permissions::from_mode(0o600))?;
    writeln!(file, "{line}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_recognised() {
        for line in [
            "AUTH secret",
            "auth user secret",
            "3 auth x",
            "auth \"secret7",
            "acl setuser 'bob on >pw",
            "ACL SETUSER bob on >pw",
            "acl getuser bob",
            "CONFIG SET requirepass x",
            "config set maxmemory 1 masterauth x",
            "HELLO 3 AUTH default pw",
            "MIGRATE h 1 k 0 100 AUTH pw",
            "MIGRATE h 1 \"\" 0 100 AUTH2 u pw KEYS a",
            "SENTINEL CONFIG SET sentinel-pass x",
        ] {
            assert!(is_sensitive(line), "{line}");
        }
        for line in ["GET auth", "CONFIG SET maxmemory 1", "HELLO 3", "SET k v", "\"unbalanced"] {
            assert!(!is_sensitive(line), "{line}");
        }
    }
}
