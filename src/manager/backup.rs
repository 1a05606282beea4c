//! `backup host:port dir` (docs/cluster-manager.md, "backup"): the check, then one RDB
//! per master over a replication link, and `nodes.json` in redis-cli's exact format.
//! rcli asks for a diskless RDB-only transfer (`REPLCONF capa eof`, `rdb-only 1`),
//! writes each file to a temporary name, syncs and renames it (redis-cli leaves the
//! stale tail of an older, longer file), checks the `REDIS` magic, and carries on past
//! a failed node, exiting 1 with a summary.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::model::{Node, ranges_text};
use super::progress::Progress;
use super::{INVALID_HOST, Manager, WRONG_ARGS, check, host_arg, load};
use crate::client::replication::Payload;
use crate::protocol::resp;

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

fn rdb_path(dir: &str, node: &Node) -> PathBuf {
    Path::new(dir).join(format!("redis-node-{}-{}-{}.rdb", node.host, node.port, node.id))
}

/// Writes `bytes` to `path` through a synced temporary file and a rename.
fn write_exact(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut file = File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&tmp, path)
}

/// Streams one master's RDB into `path` (via `path.tmp`); the payload's size.
fn save_rdb(m: &mut Manager, node: &Node, path: &Path) -> Result<u64, String> {
    let tmp = path.with_extension("rdb.tmp");
    let shown = path.display().to_string();
    let file = File::create(&tmp).map_err(|e| format!("Error opening '{}': {}", tmp.display(), e))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let endpoint = node.endpoint();
    let mut exchange = m.link.pool_mut().borrow(&endpoint).map_err(|e| e.to_string())?;
    let mut commands = Vec::new();
    for argv in [["REPLCONF", "capa", "eof"], ["REPLCONF", "rdb-only", "1"]] {
        resp::encode_command(&argv, &mut commands);
    }
    exchange.send(&commands, 2).map_err(|e| e.to_string())?;
    for _ in 0..2 {
        let _ = exchange.read(Some(Duration::from_secs(30))).map_err(|e| e.to_string())?;
    }
    exchange.send(b"SYNC\r\n", 0).map_err(|e| e.to_string())?;
    let wait = Some(Duration::from_secs(u64::try_from(m.opts.timeout_ms / 1000).unwrap_or(60).max(60)));
    let payload = exchange.sync(wait).map_err(|e| e.to_string())?;
    crate::output::note(&match payload {
        Payload::Length(len) => format!("SYNC sent to master, writing {len} bytes to '{shown}'"),
        Payload::EofMarked(_) => {
            format!("SYNC sent to master, writing bytes of bulk transfer until EOF marker to '{shown}'")
        }
    });
    let (size, _) = exchange.copy_payload(&payload, &mut out, wait).map_err(|e| e.to_string())?;
    // The link is a replica's now: never lent again.
    exchange.abandon();
    let file = out.into_inner().map_err(|e| e.to_string())?;
    file.sync_all().map_err(|e| format!("Fail to fsync '{}': {e}", tmp.display()))?;
    drop(file);
    let mut magic = [0u8; 5];
    File::open(&tmp).and_then(|mut f| f.read_exact(&mut magic)).map_err(|e| e.to_string())?;
    if &magic != b"REDIS" {
        let _ = fs::remove_file(&tmp);
        return Err(format!("the payload from {} is not an RDB file", node.addr()));
    }
    fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(size)
}

/// `backup`.
pub fn run(m: &mut Manager, args: &[OsString]) -> bool {
    let [entry, dir, ..] = args else {
        m.report.note(WRONG_ARGS);
        return false;
    };
    let Some(entry) = host_arg(std::slice::from_ref(entry)) else {
        m.report.note(INVALID_HOST);
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
        match save_rdb(m, node, &rdb_path(&dir, node)) {
            Ok(size) => m.report.note(&format!("Transfer finished with success after {size} bytes")),
            Err(e) => {
                m.report.note(&e);
                failures.push(format!("{}: {e}", node.addr()));
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
