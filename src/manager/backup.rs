//! `backup host:port dir` (docs/cluster-manager.md, "backup"): the check, then one RDB
//! per master over a replication link, and `nodes.json` in redis-cli's exact format.
//! rcli asks for a diskless RDB-only transfer (`REPLCONF capa eof`, `rdb-only 1`),
//! writes each file to a temporary name, syncs and renames it (redis-cli leaves the
//! stale tail of an older, longer file), checks the `REDIS` magic, and carries on past
//! a failed node (its temporary file removed), exiting 1 with a summary. The file name
//! is built from checked parts only ([`node_rdb_path`], also `--rdb DIR -c`'s).

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use super::model::{Node, is_node_id, ranges_text};
use super::progress::Progress;
use super::{INVALID_HOST, Manager, WRONG_ARGS, check, host_arg, load};
use crate::client::replication::Payload;
use crate::cluster::map_reply;
use crate::endpoint::Endpoint;
use crate::error::Error;
use crate::protocol::encode;
use crate::protocol::text::escape_controls;

/// A node's entry in `nodes.json`, byte for byte redis-cli's `clusterManagerNodeGetJSON`.
pub fn node_json(node: &Node, errors: usize) -> String {
    let replicate = node.replicate.as_ref().map_or_else(|| "null".to_string(), |r| format!("\"{r}\""));
    let slots = ranges_text(&node.slots.ranges()).replace('-', ",");
    let mut json = format!(
        "  {{\n    \"name\": \"{}\",\n    \"host\": \"{}\",\n    \"port\": {},\n    \"replicate\": {replicate},\n    \"slots\": [{slots}],\n    \"slots_count\": {},\n    \"flags\": \"{}\",\n    \"current_epoch\": {}",
        node.id,
        node.host,
        node.port,
        node.slots.len(),
        node.flag_string(),
        node.config_epoch
    );
    if errors > 0 {
        json.push_str(&format!(",\n    \"cluster_errors\": {errors}"));
    }
    for (name, list) in [("migrating", &node.migrating), ("importing", &node.importing)] {
        if !list.is_empty() {
            let entries: Vec<String> = list.iter().map(|(s, id)| format!("\"{s}\": \"{id}\"")).collect();
            json.push_str(&format!(",\n    \"{name}\": {{{}}}", entries.join(",")));
        }
    }
    json.push_str("\n  }");
    json
}

/// The file a node's RDB goes to in `dir`: `redis-node-HOST-PORT-ID.rdb`, for
/// `--cluster backup` and `--rdb DIR -c` alike. Every part comes from the cluster and is
/// checked before it names a file: the id is 40 hex digits, the host one rcli takes
/// from a node ([`map_reply::is_host`]) without a path separator, the port not 0; the
/// name is then one plain file name in `dir`, so the path cannot leave it. Anything
/// else is one line naming the node, escaped. Pure.
pub fn node_rdb_path(dir: &Path, host: &str, port: u16, id: &str) -> Result<PathBuf, String> {
    let node = Endpoint::tcp(host, port);
    let refuse = |why: String| Err(format!("{node}: not saved: {why}"));
    if !is_node_id(id) {
        return refuse(format!("its node id \"{}\" is not 40 hex digits", escape_controls(id, false)));
    }
    if host.is_empty() || !map_reply::is_host(host) || host.contains(['/', '\\']) {
        return refuse(format!("its host \"{}\" cannot be part of a file name", escape_controls(host, false)));
    }
    if port == 0 {
        return refuse("its port is 0".to_string());
    }
    let name = format!("redis-node-{host}-{port}-{id}.rdb");
    let mut parts = Path::new(&name).components();
    match (parts.next(), parts.next()) {
        (Some(Component::Normal(part)), None) if part == name.as_str() => Ok(dir.join(part)),
        _ => refuse(format!("\"{}\" is not a plain file name", escape_controls(&name, false))),
    }
}

/// Writes `bytes` to `path` through a synced temporary file and a rename; the
/// temporary file does not outlive a failure.
fn write_exact(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let written = File::create(&tmp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    let renamed = written.and_then(|()| fs::rename(&tmp, path));
    if renamed.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    renamed
}

/// Streams one master's RDB into `path` (through a temporary file that no failure
/// leaves behind); the payload's size.
fn save_rdb(m: &mut Manager, node: &Node, path: &Path) -> Result<u64, Error> {
    let shown = path.display().to_string();
    let endpoint = node.endpoint();
    let mut exchange = m.link.pool_mut().borrow(&endpoint)?;
    let mut commands = Vec::new();
    for argv in [["REPLCONF", "capa", "eof"], ["REPLCONF", "rdb-only", "1"]] {
        encode::encode_command(&argv, &mut commands);
    }
    exchange.send(&commands, 2)?;
    for _ in 0..2 {
        let _ = exchange.read(Some(Duration::from_secs(30)))?;
    }
    let wait = Some(Duration::from_secs(u64::try_from(m.opts.timeout_ms / 1000).unwrap_or(60).max(60)));
    let payload = exchange.sync(wait)?;
    crate::output::note(&match payload {
        Payload::Length(len) => format!("SYNC sent to master, writing {len} bytes to '{shown}'"),
        Payload::EofMarked(_) => {
            format!("SYNC sent to master, writing bytes of bulk transfer until EOF marker to '{shown}'")
        }
    });
    let saved = exchange.save_payload(&payload, path, wait, Some(b"REDIS"));
    // The link is a replica's now: never lent again.
    exchange.abandon();
    saved.map(|(size, _)| size)
}

/// `backup`.
pub fn run(m: &mut Manager, args: &[OsString]) -> bool {
    let [entry, dir, ..] = args else {
        m.usage_error(WRONG_ARGS);
        return false;
    };
    let Some(entry) = host_arg(std::slice::from_ref(entry)) else {
        m.usage_error(INVALID_HOST);
        return false;
    };
    let dir = dir.to_string_lossy().into_owned();
    if load::load(m, &entry).is_err() {
        return false;
    }
    let result = check::check_cluster(m, false);
    let errors = if result.ok { 0 } else { m.errors.len() };
    let nodes = m.cluster.nodes.clone();
    let mut entries = Vec::new();
    let mut failures = Vec::new();
    let masters = nodes.iter().filter(|n| n.replicate.is_none()).count();
    m.report.progress = Progress::start("backup", masters as u64, "masters");
    for node in &nodes {
        entries.push(node_json(node, errors));
        if node.replicate.is_some() {
            continue;
        }
        m.report.info(&format!(">>> Node {} -> Saving RDB...", node.addr()));
        m.report.flush();
        let saved = node_rdb_path(Path::new(&dir), &node.host, node.port, &node.id)
            .and_then(|path| save_rdb(m, node, &path).map_err(|e| e.about(&node.endpoint().to_string())));
        match saved {
            Ok(size) => m.report.note(&format!("Transfer finished with success after {size} bytes")),
            Err(line) => {
                m.report.note(&line);
                failures.push(line);
            }
        }
        m.link.close(&node.endpoint());
        if let Some(p) = &m.report.progress {
            p.advance(1);
        }
    }
    if let Some(p) = m.report.progress.take() {
        p.finish();
    }
    let json = format!("[\n{}\n]", entries.join(",\n"));
    let mut path = dir.clone();
    if !path.ends_with('/') {
        path.push('/');
    }
    path.push_str("nodes.json");
    m.report.info(&format!("Saving cluster configuration to: {path}"));
    if write_exact(Path::new(&path), json.as_bytes()).is_err() {
        m.report.err(&format!("Could not save nodes to: {path}"));
        m.report.ok("[ERR] Failed to back cluster!");
        return false;
    }
    if !failures.is_empty() {
        m.report.note(&format!("rcli: {} of {masters} masters could not be saved:", failures.len()));
        for failure in &failures {
            m.report.note(&format!("rcli:   {failure}"));
        }
        m.report.ok("[ERR] Failed to back cluster!");
        return false;
    }
    if !result.ok {
        m.report.warn(
            "*** Cluster seems to have some problems, please be aware of it if you're going to restore this backup.",
        );
    }
    m.report.ok(&format!("[OK] Backup created into: {dir}"));
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn a_nodes_rdb_file_is_named_from_checked_parts_inside_the_directory() {
        let dir = Path::new("/backups");
        assert_eq!(
            node_rdb_path(dir, "127.0.0.1", 7000, ID),
            Ok(PathBuf::from(format!("/backups/redis-node-127.0.0.1-7000-{ID}.rdb")))
        );
        assert_eq!(
            node_rdb_path(dir, "::1", 7000, ID),
            Ok(PathBuf::from(format!("/backups/redis-node-::1-7000-{ID}.rdb")))
        );
        assert_eq!(
            node_rdb_path(dir, "node-1.example.test", 7000, ID).map(|p| p.parent().map(Path::to_path_buf)),
            Ok(Some(dir.to_path_buf()))
        );
    }

    #[test]
    fn hostile_ids_and_hosts_are_refused_with_one_escaped_line() {
        let dir = Path::new("/backups");
        assert_eq!(
            node_rdb_path(dir, "127.0.0.1", 7000, "x/../../../adv-pwn-escape"),
            Err("127.0.0.1:7000: not saved: its node id \"x/../../../adv-pwn-escape\" is not 40 hex digits".into())
        );
        assert!(node_rdb_path(dir, "127.0.0.1", 7000, &ID[1..]).is_err(), "39 digits");
        assert!(node_rdb_path(dir, "127.0.0.1", 7000, &format!("{}g", &ID[1..])).is_err());
        let escaped = node_rdb_path(dir, "127.0.0.1", 7000, "\u{1b}]0;PWNED\u{7}").unwrap_err();
        assert!(!escaped.contains('\u{1b}') && escaped.contains("\\x1b]0;PWNED\\x07"), "{escaped:?}");
        assert_eq!(
            node_rdb_path(dir, "h/../../x", 7000, ID),
            Err("h/../../x:7000: not saved: its host \"h/../../x\" cannot be part of a file name".into())
        );
        for host in ["", "a b", "a\\b", "\u{1b}[31m", &"h".repeat(256)] {
            let refused = node_rdb_path(dir, host, 7000, ID).unwrap_err();
            assert!(!refused.contains('\u{1b}') && !refused.contains('\n'), "{refused:?}");
        }
        assert_eq!(node_rdb_path(dir, "127.0.0.1", 0, ID), Err("127.0.0.1:0: not saved: its port is 0".into()));
    }
}
