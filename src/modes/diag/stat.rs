//! `--stat` on one node, as redis-cli 7.0.15 prints it (docs/redis-cli-modes.md,
//! section 4): INFO every interval (1 s, or `-i`), one line of keys, memory, clients,
//! blocked clients, requests (+delta), connections and child process, the two header
//! lines before the first line and after every 20. Also the INFO reading both
//! `--stat` tables share; the cluster table is [`super::stat_cluster`].

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use super::format::bytes_to_human;
use super::nodes::{Stop, exit_code, pause, reconnecting, write};
use crate::exit::Exit;
use crate::session::Session;

/// redis-cli's header, printed before line 1, 21, 41…
pub const HEADER: &str = "------- data ------ --------------------- load -------------------- - child -\n\
                          keys       mem      clients blocked requests            connections          \n";

/// Lines between two headers.
pub const HEADER_EVERY: u64 = 20;

/// What one INFO says, read the way redis-cli reads it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeStat {
    /// The sum of the `keys` of every database INFO lists (redis-cli 7.0 reads only
    /// db0…db19; newer CLIs every one, as Valkey 9 may have more).
    pub keys: i64,
    pub used_memory: i64,
    pub clients: i64,
    pub blocked: i64,
    /// `total_commands_processed`.
    pub commands: i64,
    /// `total_connections_received`.
    pub connections: i64,
    /// `bgsave_in_progress | aof_rewrite_in_progress << 1 | loading << 2`.
    pub child: i64,
    /// `instantaneous_ops_per_sec` (the cluster table).
    pub ops: i64,
    /// `instantaneous_input_kbps` / `_output_kbps` in hundredths (the cluster table).
    pub input_centi_kbps: i64,
    pub output_centi_kbps: i64,
}

impl NodeStat {
    pub fn from_info(info: &[u8]) -> NodeStat {
        let keys = keyspace_keys(info);
        let child = long_field(info, "bgsave_in_progress")
            | long_field(info, "aof_rewrite_in_progress").wrapping_shl(1)
            | long_field(info, "loading").wrapping_shl(2);
        NodeStat {
            keys,
            used_memory: long_field(info, "used_memory"),
            clients: long_field(info, "connected_clients"),
            blocked: long_field(info, "blocked_clients"),
            commands: long_field(info, "total_commands_processed"),
            connections: long_field(info, "total_connections_received"),
            child,
            ops: long_field(info, "instantaneous_ops_per_sec"),
            input_centi_kbps: centi_field(info, "instantaneous_input_kbps"),
            output_centi_kbps: centi_field(info, "instantaneous_output_kbps"),
        }
    }

    /// redis-cli's data line; `previous` is the last line's request count (0 before the
    /// first, which then shows `+0`).
    pub fn line(&self, previous: i64) -> String {
        let delta = if previous == 0 { 0 } else { self.commands.wrapping_sub(previous) };
        format!(
            "{:<11}{:<8} {:<8}{:<8}{:<19} {:<12}{}\n",
            self.keys,
            bytes_to_human(self.used_memory),
            self.clients,
            self.blocked,
            format!("{} (+{delta})", self.commands),
            self.connections,
            child_label(self.child)
        )
    }
}

/// The child column: `SAVE`, `AOF`, `SAVE+AOF`, `LOAD`, or nothing.
pub fn child_label(bits: i64) -> &'static str {
    match bits {
        1 => "SAVE",
        2 => "AOF",
        3 => "SAVE+AOF",
        4 => "LOAD",
        _ => "",
    }
}

/// What redis-cli's `getLongInfoField` returns for a field INFO does not have.
pub const MISSING: i64 = i64::MIN;

/// The sum of `keys=N` over every `dbN:` line of INFO's keyspace section.
pub fn keyspace_keys(info: &[u8]) -> i64 {
    info.split(|&b| b == b'\n')
        .filter_map(|line| {
            let rest = line.strip_prefix(b"db")?;
            let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
            let fields = rest.get(digits..)?.strip_prefix(b":").filter(|_| digits > 0)?;
            fields.strip_prefix(b"keys=").map(strtol)
        })
        .fold(0i64, i64::wrapping_add)
}

/// redis-cli's `getInfoField`: the first place `field` occurs anywhere in the text (so
/// `bgsave_in_progress` finds `rdb_bgsave_in_progress`), one separator skipped, up to
/// the next `\r` or `,`.
pub fn info_field<'a>(info: &'a [u8], field: &str) -> Option<&'a [u8]> {
    let needle = field.as_bytes();
    let at = info.windows(needle.len().max(1)).position(|w| w == needle)?;
    let value = info.get(at + needle.len() + 1..).unwrap_or_default();
    let end = value.iter().position(|&b| b == b'\r' || b == b',').unwrap_or(value.len());
    value.get(..end)
}

/// `getLongInfoField`: the field read by `strtol`, or [`MISSING`].
pub fn long_field(info: &[u8], field: &str) -> i64 {
    info_field(info, field).map_or(MISSING, strtol)
}

/// C's `strtol(text, NULL, 10)`: leading spaces, a sign, digits up to the first other
/// byte (0 when there are none), saturating at the ends of the range.
pub fn strtol(text: &[u8]) -> i64 {
    let text = text.get(text.iter().take_while(|b| b.is_ascii_whitespace()).count()..).unwrap_or_default();
    let (negative, digits) = match text.first() {
        Some(b'-') => (true, text.get(1..).unwrap_or_default()),
        Some(b'+') => (false, text.get(1..).unwrap_or_default()),
        _ => (false, text),
    };
    let mut value: i64 = 0;
    for &b in digits.iter().take_while(|b| b.is_ascii_digit()) {
        let digit = i64::from(b - b'0');
        value = match value
            .checked_mul(10)
            .and_then(|v| if negative { v.checked_sub(digit) } else { v.checked_add(digit) })
        {
            Some(v) => v,
            None => return if negative { i64::MIN } else { i64::MAX },
        };
    }
    value
}

/// A field with two decimals (`0.03`) in hundredths, so that sums are exact; 0 when
/// missing.
fn centi_field(info: &[u8], field: &str) -> i64 {
    let Some(value) = info_field(info, field) else { return 0 };
    let mut parts = value.splitn(2, |&b| b == b'.');
    let whole = strtol(parts.next().unwrap_or_default());
    let fraction = parts.next().unwrap_or_default();
    let digit = |i: usize| fraction.get(i).filter(|b| b.is_ascii_digit()).map_or(0, |b| i64::from(b - b'0'));
    let cents = digit(0) * 10 + digit(1);
    whole.saturating_mul(100).saturating_add(if whole < 0 { -cents } else { cents })
}

/// `--stat` on one node until Ctrl-C (exit 130), an error reply (exit 1) or a closed
/// stdout. Each line is flushed at once (redis-cli's are not, and a kill loses them
/// when stdout is a pipe).
pub fn run(session: &mut Session, interval: Duration, flag: &AtomicBool) -> Exit {
    let interval = if interval.is_zero() { Duration::from_secs(1) } else { interval };
    let mut lines = 0u64;
    let mut requests = 0i64;
    loop {
        let reply = match reconnecting(session, &["INFO"], flag) {
            Ok(reply) => reply,
            Err(stop) => return exit_code(&mut session.printer, stop),
        };
        if let Some(error) = reply.as_error() {
            let text = format!("ERROR: {}", String::from_utf8_lossy(error));
            return exit_code(&mut session.printer, Stop::Failed(text));
        }
        let stat = NodeStat::from_info(reply.as_bytes().unwrap_or_default());
        let mut text = String::new();
        if lines.is_multiple_of(HEADER_EVERY) {
            text.push_str(HEADER);
        }
        lines += 1;
        text.push_str(&stat.line(requests));
        requests = stat.commands;
        if let Err(stop) = write(&mut session.printer, &text) {
            return exit_code(&mut session.printer, stop);
        }
        if !pause(interval, flag) {
            return exit_code(&mut session.printer, Stop::Interrupted);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: &[u8] = b"# Server\r\nredis_version:7.0.15\r\n# Clients\r\nconnected_clients:1\r\nblocked_clients:0\r\n\
        # Memory\r\nused_memory:1530000\r\nused_memory_human:1.46M\r\n# Persistence\r\nloading:0\r\nasync_loading:0\r\n\
        rdb_bgsave_in_progress:1\r\naof_rewrite_in_progress:0\r\n# Stats\r\ntotal_connections_received:65\r\n\
        total_commands_processed:125\r\ninstantaneous_ops_per_sec:7\r\ninstantaneous_input_kbps:0.31\r\n\
        instantaneous_output_kbps:12.5\r\n# Keyspace\r\ndb0:keys=6,expires=0,avg_ttl=0\r\ndb3:keys=4,expires=1,avg_ttl=9\r\n";

    #[test]
    fn info_is_read_like_redis_cli() {
        let stat = NodeStat::from_info(INFO);
        assert_eq!(stat.keys, 10);
        assert_eq!(keyspace_keys(b"# Keyspace\r\ndb0:keys=1,expires=0\r\ndb25:keys=7,expires=0\r\ndbx:keys=9\r\n"), 8);
        assert_eq!(stat.used_memory, 1_530_000);
        assert_eq!((stat.clients, stat.blocked, stat.commands, stat.connections), (1, 0, 125, 65));
        // `bgsave_in_progress` is found inside `rdb_bgsave_in_progress`.
        assert_eq!(stat.child, 1);
        assert_eq!((stat.ops, stat.input_centi_kbps, stat.output_centi_kbps), (7, 31, 1250));
        assert_eq!(long_field(INFO, "no_such_field"), MISSING);
        assert_eq!(info_field(b"a:1", "a:1"), Some(&b""[..]));
    }

    #[test]
    fn lines_match_redis_cli_byte_for_byte() {
        let stat = NodeStat {
            keys: 6,
            used_memory: 1_530_000,
            clients: 1,
            commands: 124,
            connections: 65,
            ..NodeStat::default()
        };
        assert_eq!(stat.line(0), "6          1.46M    1       0       124 (+0)            65          \n");
        let next = NodeStat { commands: 125, ..stat };
        assert_eq!(next.line(124), "6          1.46M    1       0       125 (+1)            65          \n");
        let saving = NodeStat { child: 3, ..stat };
        assert!(saving.line(0).ends_with("65          SAVE+AOF\n"));
        assert_eq!(HEADER.lines().map(str::len).collect::<Vec<_>>(), [77, 77]);
    }

    #[test]
    fn strtol_reads_like_c() {
        assert_eq!(strtol(b"42"), 42);
        assert_eq!(strtol(b" -7x"), -7);
        assert_eq!(strtol(b"x"), 0);
        assert_eq!(strtol(b"99999999999999999999"), i64::MAX);
        assert_eq!(strtol(b"-99999999999999999999"), i64::MIN);
    }
}
