//! `--rdb FILE` (`-` for stdout), `--functions-rdb FILE` and `--replica`: an RDB
//! transferred from a node as a replica would get it, or the replication stream shown
//! as CSV lines, with redis-cli's messages (docs/redis-cli-modes.md §3). With `-c`,
//! `--rdb DIR` saves one file per primary, `--parallel` primaries at once
//! (client/workers.rs), each named by the
//! cluster manager's backup rule (`manager::backup::node_rdb_path`: checked parts, a
//! path that stays in DIR). A file is written in full to a temporary name, synced and
//! renamed (`Exchange::save_payload`), so an older, longer file never keeps a stale
//! tail (redis-cli's does) and a failed transfer leaves nothing behind.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::cli::Transfer;
use crate::client::pool::{Exchange, Pool};
use crate::client::replication::Payload;
use crate::client::workers;
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::exit::Exit;
use crate::manager::backup::node_rdb_path;
use crate::output::note;
use crate::protocol::render::{Format, OutputMode};
use crate::session::Session;

/// How often `--replica` acknowledges, as a replica does.
const ACK_EVERY: Duration = Duration::from_secs(1);
/// How long one wait for the stream lasts before Ctrl-C is looked at.
const POLL_SPELL: Duration = Duration::from_millis(100);

/// Runs `--rdb`/`--functions-rdb` to `target`; returns the exit code.
pub fn rdb(session: &mut Session, target: &Path, what: Transfer) -> Exit {
    if !session.connect_and_report() {
        return Exit::Failure;
    }
    if session.client.is_cluster() {
        return rdb_per_primary(session, target, what);
    }
    let current = session.client.current().clone();
    let idle = session.client.options().read_timeout;
    match save(session.client.pool(), &current, target, what, idle, "") {
        Ok(()) => Exit::Success,
        Err(e) => {
            note(&e.to_string());
            Exit::Failure
        }
    }
}

/// One RDB per primary into the directory `dir`, named like the cluster manager's
/// backup files; the primaries are asked at once.
fn rdb_per_primary(session: &mut Session, dir: &Path, what: Transfer) -> Exit {
    let primaries: Vec<(Endpoint, String)> = session
        .client
        .topology()
        .map(|t| t.primaries().into_iter().map(|n| (n.endpoint.clone(), n.id.clone())).collect())
        .unwrap_or_default();
    if let Err(source) = std::fs::create_dir_all(dir) {
        note(&Error::File { path: dir.display().to_string(), source }.to_string());
        return Exit::Failure;
    }
    let state = session.client.pool().state().clone();
    let settings = session.client.pool().settings().clone();
    let idle = session.client.options().read_timeout;
    // Each file's name is built from what the node announced: checked before anything
    // is asked of the node or written (a node that fails the check is not saved).
    let mut refused = 0usize;
    let mut files = Vec::with_capacity(primaries.len());
    for (endpoint, id) in &primaries {
        let file = match endpoint {
            Endpoint::Tcp { host, port } => node_rdb_path(dir, host, *port, id),
            Endpoint::Unix(_) => Err(format!("{endpoint}: not saved: not a TCP node")),
        };
        match file {
            Ok(file) => files.push((endpoint, file)),
            Err(line) => {
                note(&line);
                refused += 1;
            }
        }
    }
    let width = settings.parallel;
    let failures = workers::run_each(files, width, None, |_, (endpoint, file)| {
        let mut pool = Pool::new(state.clone(), settings.clone());
        save(&mut pool, endpoint, &file, what, idle, &format!("{endpoint}: "))
            .map_err(|e| note(&e.about(&endpoint.to_string())))
            .is_err()
    })
    .into_iter()
    .filter(|failed| failed.unwrap_or(true))
    .count();
    Exit::from_failed(failures + refused > 0)
}

/// The replica handshake and SYNC on a fresh connection to `endpoint`; messages on
/// stderr start with `label`.
fn handshake(
    pool: &mut Pool,
    endpoint: &Endpoint,
    what: Option<Transfer>,
    idle: Option<Duration>,
    label: &str,
) -> Result<(Exchange, Payload)> {
    let mut exchange = pool.borrow(endpoint)?;
    let replconf = |exchange: &mut Exchange, a: &str, b: &str| -> Result<bool> {
        note(&format!("{label}sending REPLCONF {a} {b}"));
        let reply = exchange.replconf(a, b, idle)?;
        Ok(match reply.as_error() {
            Some(error) => {
                note(&format!("{label}REPLCONF {a} error: {}", String::from_utf8_lossy(error)));
                false
            }
            None => true,
        })
    };
    replconf(&mut exchange, "capa", "eof")?;
    match what {
        Some(what) => {
            replconf(&mut exchange, "rdb-only", "1")?;
            if what == Transfer::Functions && !replconf(&mut exchange, "rdb-filter-only", "functions")? {
                return Err(Error::Refused("Failed requesting functions only RDB from server, aborting".into()));
            }
        }
        None => {
            replconf(&mut exchange, "rdb-filter-only", "")?;
        }
    }
    let payload = exchange.sync(idle)?;
    Ok((exchange, payload))
}

/// Transfers one node's RDB to `target` (`-`: stdout).
fn save(
    pool: &mut Pool,
    endpoint: &Endpoint,
    target: &Path,
    what: Transfer,
    idle: Option<Duration>,
    label: &str,
) -> Result<()> {
    let (mut exchange, payload) = handshake(pool, endpoint, Some(what), idle, label)?;
    let shown = target.display();
    note(&match &payload {
        Payload::EofMarked(_) => {
            format!("{label}SYNC sent to master, writing bytes of bulk transfer until EOF marker to '{shown}'")
        }
        Payload::Length(len) => format!("{label}SYNC sent to master, writing {len} bytes to '{shown}'"),
    });
    let written = if target == Path::new("-") {
        let mut out = std::io::stdout().lock();
        let (written, _) = exchange.copy_payload(&payload, &mut out, idle)?;
        out.flush().map_err(|source| Error::File { path: shown.to_string(), source })?;
        written
    } else {
        exchange.save_payload(&payload, target, idle, None)?.0
    };
    note(&match payload {
        Payload::EofMarked(_) => format!("{label}Transfer finished with success after {written} bytes"),
        Payload::Length(_) => format!("{label}Transfer finished with success."),
    });
    Ok(())
}

/// Runs `--replica`: the node's replication stream, one CSV line per command.
pub fn replica(session: &mut Session) -> Exit {
    if !session.connect_and_report() {
        return Exit::Failure;
    }
    let current = session.client.current().clone();
    let idle = session.client.options().read_timeout;
    let result = (|| -> Result<()> {
        let (mut exchange, payload) = handshake(session.client.pool(), &current, None, idle, "")?;
        note(&match &payload {
            Payload::EofMarked(_) => {
                "SYNC with master, discarding bytes of bulk transfer until EOF marker...".to_string()
            }
            Payload::Length(len) => format!("SYNC with master, discarding {len} bytes of bulk transfer..."),
        });
        let (_, received) = exchange.copy_payload(&payload, &mut std::io::sink(), idle)?;
        note(&match payload {
            Payload::EofMarked(_) => format!("SYNC done after {received} bytes. Logging commands from master."),
            Payload::Length(_) => "SYNC done. Logging commands from master.".to_string(),
        });
        let format = Format::new(OutputMode::Csv);
        let mut last_ack: Option<Instant> = None;
        loop {
            // A master starts the stream on the first ACK it gets after it has put this
            // replica online, which may be after the first one sent: like a replica,
            // ACK every second. (Offset 0 always: rcli must never count for WAIT.)
            if last_ack.is_none_or(|at| at.elapsed() >= ACK_EVERY) {
                exchange.ack()?;
                last_ack = Some(Instant::now());
            }
            if session.interrupted() {
                return Err(Error::Interrupted);
            }
            // The master pings every few seconds but may be silent longer: quiet
            // spells are no failure, as for MONITOR.
            let Some(frame) = exchange.poll(ACK_EVERY.min(POLL_SPELL))? else { continue };
            let mut line = Vec::new();
            format.reply(&frame, false, &mut line);
            session.printer.write(&line).map_err(|_| Error::Interrupted)?;
            session.printer.flush().map_err(|_| Error::Interrupted)?;
        }
    })();
    match result {
        Err(Error::Interrupted) => Exit::Success,
        Err(e) => {
            note(&format!("Error: {e}"));
            Exit::Failure
        }
        Ok(()) => Exit::Success,
    }
}
