//! `--rdb FILE` (`-` for stdout), `--functions-rdb FILE` and `--replica`: an RDB
//! transferred from a node as a replica would get it, or the replication stream shown
//! as CSV lines, with redis-cli's messages (docs/redis-cli-modes.md §3). With `-c`,
//! `--rdb DIR` saves one file per primary, all primaries at once. A file is written in
//! full to a temporary name, synced and renamed, so an older, longer file never keeps a
//! stale tail (redis-cli's does).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::client::pool::{Exchange, Pool};
use crate::client::replication::Payload;
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::output::note;
use crate::protocol::render::{Format, OutputMode};
use crate::session::Session;

/// What to transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transfer {
    /// The whole dataset.
    Rdb,
    /// Functions only.
    Functions,
}

/// Runs `--rdb`/`--functions-rdb` to `target`; returns the exit code.
pub fn rdb(session: &mut Session, target: &Path, what: Transfer) -> i32 {
    if !session.connect_and_report() {
        return 1;
    }
    if session.client.is_cluster() {
        return rdb_per_primary(session, target, what);
    }
    let current = session.client.current().clone();
    let idle = session.client.options().read_timeout;
    match save(session.client.pool(), &current, target, what, idle, "") {
        Ok(()) => 0,
        Err(e) => {
            note(&e.to_string());
            1
        }
    }
}

/// One RDB per primary into the directory `dir`, named like the cluster manager's
/// backup files; the primaries are asked at once.
fn rdb_per_primary(session: &mut Session, dir: &Path, what: Transfer) -> i32 {
    let primaries: Vec<(Endpoint, String)> = session
        .client
        .topology()
        .map(|t| t.primaries().into_iter().map(|n| (n.endpoint.clone(), n.id.clone())).collect())
        .unwrap_or_default();
    if let Err(source) = std::fs::create_dir_all(dir) {
        note(&Error::File { path: dir.display().to_string(), source }.to_string());
        return 1;
    }
    let state = session.client.pool().state().clone();
    let settings = session.client.pool().settings().clone();
    let idle = session.client.options().read_timeout;
    let failures: usize = std::thread::scope(|scope| {
        let workers: Vec<_> = primaries
            .iter()
            .map(|(endpoint, id)| {
                let (state, settings) = (state.clone(), settings.clone());
                scope.spawn(move || {
                    let file = dir.join(backup_name(endpoint, id));
                    let mut pool = Pool::new(state, settings);
                    save(&mut pool, endpoint, &file, what, idle, &format!("{endpoint}: "))
                        .map_err(|e| note(&format!("{endpoint}: {e}")))
                        .is_err()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or(true)).filter(|failed| *failed).count()
    });
    i32::from(failures > 0)
}

/// `redis-node-<host>-<port>-<id>.rdb`, as the cluster manager's backup names them.
pub fn backup_name(endpoint: &Endpoint, id: &str) -> String {
    match endpoint {
        Endpoint::Tcp { host, port } => format!("redis-node-{host}-{port}-{id}.rdb"),
        Endpoint::Unix(_) => format!("redis-node-{id}.rdb"),
    }
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
    let file_error = |source| Error::File { path: shown.to_string(), source };
    let written = if target == Path::new("-") {
        let mut out = std::io::stdout().lock();
        let (written, _) = exchange.copy_payload(&payload, &mut out, idle)?;
        out.flush().map_err(file_error)?;
        written
    } else {
        let temporary = temporary_name(target);
        let mut file = File::create(&temporary).map_err(file_error)?;
        let copied = exchange.copy_payload(&payload, &mut file, idle);
        let synced = copied.and_then(|(written, _)| file.sync_all().map(|()| written).map_err(file_error));
        match synced {
            Ok(written) => {
                std::fs::rename(&temporary, target).map_err(file_error)?;
                written
            }
            Err(e) => {
                let _ = std::fs::remove_file(&temporary);
                return Err(e);
            }
        }
    };
    note(&match payload {
        Payload::EofMarked(_) => format!("{label}Transfer finished with success after {written} bytes"),
        Payload::Length(_) => format!("{label}Transfer finished with success."),
    });
    Ok(())
}

fn temporary_name(target: &Path) -> PathBuf {
    let mut name = target.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".tmp{}", std::process::id()));
    target.with_file_name(name)
}

/// Runs `--replica`: the node's replication stream, one CSV line per command.
pub fn replica(session: &mut Session) -> i32 {
    if !session.connect_and_report() {
        return 1;
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
        exchange.ack()?;
        let format = Format::new(OutputMode::Csv);
        loop {
            // The master pings every few seconds: no timeout, as for MONITOR.
            let frame = exchange.read_frame(None)?;
            let mut line = Vec::new();
            format.reply(&frame, false, &mut line);
            session.printer.write(&line).map_err(|_| Error::Interrupted)?;
            session.printer.flush().map_err(|_| Error::Interrupted)?;
        }
    })();
    match result {
        Err(Error::Interrupted) => 0,
        Err(e) => {
            note(&format!("Error: {e}"));
            1
        }
        Ok(()) => 0,
    }
}
