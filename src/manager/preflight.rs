//! Sizing the keys of the slots a plan moves, before anything changes: key counts and
//! bytes per slot (for `--cluster-dry-run`, the progress bar and the time estimate),
//! the keys big enough to be migrated alone, and refusals for keys MIGRATE cannot move
//! safely (bigger than the target's `proto-max-bulk-len`, or so big that MIGRATE would
//! block a node longer than its `cluster-node-timeout` or than `--cluster-timeout`).
//! docs/cluster-manager.md, "reshard".

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::endpoint::Endpoint;

use super::Manager;
use super::journal::Unit;
use super::link::{Link, reply_text};

/// The slower end of what DUMP + transfer + RESTORE manage on one core, for estimates.
pub const BYTES_PER_SECOND: f64 = 100.0 * 1024.0 * 1024.0;
/// Fixed cost of moving one slot (SETSLOTs with their config saves, round trips).
pub const SECONDS_PER_SLOT: f64 = 0.0005;
pub const SECONDS_PER_KEY: f64 = 0.000_005;
/// `client-output-buffer-limit replica` soft limit (64 MB by default).
const REPLICA_SOFT_LIMIT: u64 = 64 << 20;

/// What the plan will move.
#[derive(Debug, Clone, Default)]
pub struct Sizing {
    /// slot → (keys, bytes).
    pub slots: BTreeMap<u16, (u64, u64)>,
    pub big_keys: HashSet<Vec<u8>>,
    pub refusals: Vec<String>,
    pub warnings: Vec<String>,
}

impl Sizing {
    pub fn keys(&self) -> u64 {
        self.slots.values().map(|(k, _)| k).sum()
    }

    pub fn bytes(&self) -> u64 {
        self.slots.values().map(|(_, b)| b).sum()
    }
}

/// Estimated seconds to move `slots` slots holding `keys` keys and `bytes` bytes.
pub fn estimate(slots: usize, keys: u64, bytes: u64) -> f64 {
    slots as f64 * SECONDS_PER_SLOT + keys as f64 * SECONDS_PER_KEY + bytes as f64 / BYTES_PER_SECOND
}

/// `1.2 MB`, `512 B`.
pub fn human_bytes(bytes: u64) -> String {
    let mut value = bytes as f64;
    let mut unit = "B";
    for larger in ["KB", "MB", "GB", "TB"] {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = larger;
    }
    if unit == "B" { format!("{bytes} B") } else { format!("{value:.1} {unit}") }
}

/// Sizes the keys to move; prints refusals (and returns `None`) unless allowed.
pub fn checked(m: &mut Manager, units: &[Unit]) -> Option<Sizing> {
    // Atomic slot migration moves keys of any size without MIGRATE's limits: sized for
    // a dry run's figures only.
    if m.opts.atomic && !m.opts.dry_run {
        return Some(Sizing::default());
    }
    let sizing = match size(&mut m.link, units, m.opts.big_key_bytes, m.opts.timeout_ms, m.databases) {
        Ok(sizing) => sizing,
        Err(e) => {
            m.report.note(&format!("rcli: sizing the keys to move failed: {e}"));
            return None;
        }
    };
    for warning in &sizing.warnings {
        m.report.note(warning);
    }
    if !sizing.refusals.is_empty() && !m.opts.allow_big_keys {
        for refusal in &sizing.refusals {
            m.report.note(&format!("rcli: refusing to move slots: {refusal}"));
        }
        m.report.note("rcli: nothing was changed; --cluster-allow-big-keys moves them anyway");
        return None;
    }
    Some(sizing)
}

/// A node's limits that matter to MIGRATE.
struct Limits {
    proto_max_bulk_len: Option<u64>,
    node_timeout_ms: Option<u64>,
}

fn limits(link: &mut Link, node: &Endpoint) -> Limits {
    let get = |link: &mut Link, name: &str| -> Option<u64> {
        let reply = link.cmd(node, &["CONFIG", "GET", name]).ok()?;
        reply.as_items()?.get(1).map(reply_text)?.parse().ok()
    };
    Limits { proto_max_bulk_len: get(link, "proto-max-bulk-len"), node_timeout_ms: get(link, "cluster-node-timeout") }
}

const CHUNK: usize = 5000;

/// Sizes every key of the planned slots, in every one of `databases` databases
/// (pipelined per source node).
pub fn size(
    link: &mut Link,
    units: &[Unit],
    big_key_bytes: u64,
    migrate_timeout_ms: i64,
    databases: u32,
) -> Result<Sizing, String> {
    let mut sizing = Sizing::default();
    let mut limits_of: HashMap<String, Limits> = HashMap::new();
    let mut by_source: BTreeMap<String, (Endpoint, Vec<&Unit>)> = BTreeMap::new();
    for unit in units {
        by_source.entry(unit.src.id.clone()).or_insert_with(|| (unit.src.endpoint(), Vec::new())).1.push(unit);
        for peer in [&unit.src, &unit.dst] {
            if !limits_of.contains_key(&peer.id) {
                let l = limits(link, &peer.endpoint());
                limits_of.insert(peer.id.clone(), l);
            }
        }
    }
    for db in 0..databases.max(1) {
        link.in_db(db, |link| -> Result<(), String> {
            for (endpoint, units) in by_source.values() {
                for chunk in units.chunks(64) {
                    size_chunk(link, endpoint, chunk, big_key_bytes, migrate_timeout_ms, &limits_of, &mut sizing)?;
                }
            }
            Ok(())
        })?;
    }
    Ok(sizing)
}

/// Sizes the keys of up to 64 slots of one source, in the link's database.
fn size_chunk(
    link: &mut Link,
    endpoint: &Endpoint,
    chunk: &[&Unit],
    big_key_bytes: u64,
    migrate_timeout_ms: i64,
    limits_of: &HashMap<String, Limits>,
    sizing: &mut Sizing,
) -> Result<(), String> {
    let commands: Vec<Vec<String>> = chunk
        .iter()
        .map(|u| vec!["CLUSTER".into(), "GETKEYSINSLOT".into(), u.slot.to_string(), "4294967295".into()])
        .collect();
    let replies = link.pipeline(endpoint, &commands).map_err(|e| e.to_string())?;
    for (unit, reply) in chunk.iter().zip(replies) {
        let keys: Vec<Vec<u8>> =
            reply.as_items().unwrap_or_default().iter().filter_map(|k| k.as_bytes().map(<[u8]>::to_vec)).collect();
        let mut total = 0u64;
        for part in keys.chunks(CHUNK) {
            let commands: Vec<Vec<Vec<u8>>> =
                part.iter().map(|k| vec![b"MEMORY".to_vec(), b"USAGE".to_vec(), k.clone()]).collect();
            let sizes = link.pipeline(endpoint, &commands).map_err(|e| e.to_string())?;
            for (key, size) in part.iter().zip(sizes) {
                let bytes = u64::try_from(size.as_integer().unwrap_or(0)).unwrap_or(0);
                total = total.saturating_add(bytes);
                if bytes > big_key_bytes {
                    sizing.big_keys.insert(key.clone());
                }
                judge(sizing, unit, key, bytes, limits_of, migrate_timeout_ms);
            }
        }
        let entry = sizing.slots.entry(unit.slot).or_default();
        *entry = (entry.0.saturating_add(keys.len() as u64), entry.1.saturating_add(total));
    }
    Ok(())
}

fn judge(sizing: &mut Sizing, unit: &Unit, key: &[u8], bytes: u64, limits: &HashMap<String, Limits>, timeout_ms: i64) {
    if bytes < (1 << 20) {
        return;
    }
    let name = String::from_utf8_lossy(key);
    let dst = limits.get(&unit.dst.id);
    let src = limits.get(&unit.src.id);
    if let Some(max) = dst.and_then(|l| l.proto_max_bulk_len)
        && bytes > max
    {
        sizing.refusals.push(format!(
            "key '{name}' in slot {} is about {} ({bytes} bytes), more than proto-max-bulk-len ({max}) of the target {}: MIGRATE cannot move it",
            unit.slot,
            human_bytes(bytes),
            unit.dst.addr()
        ));
        return;
    }
    let seconds = bytes as f64 / BYTES_PER_SECOND;
    let node_timeout = [src, dst].iter().filter_map(|l| l.and_then(|l| l.node_timeout_ms)).min();
    if let Some(node_timeout) = node_timeout
        && seconds * 1000.0 > node_timeout as f64 / 2.0
    {
        sizing.refusals.push(format!(
            "key '{name}' in slot {} is about {}: MIGRATE would block {} and {} for about {seconds:.1} s, more than half their cluster-node-timeout ({node_timeout} ms), long enough for a failover",
            unit.slot,
            human_bytes(bytes),
            unit.src.addr(),
            unit.dst.addr()
        ));
        return;
    }
    if timeout_ms > 0 && seconds * 1000.0 > timeout_ms as f64 {
        sizing.refusals.push(format!(
            "key '{name}' in slot {} is about {}: MIGRATE needs about {seconds:.1} s, more than --cluster-timeout ({timeout_ms} ms)",
            unit.slot,
            human_bytes(bytes)
        ));
        return;
    }
    if bytes > REPLICA_SOFT_LIMIT {
        sizing.warnings.push(format!(
            "rcli: key '{name}' in slot {} is about {}: its RESTORE is replicated to the replicas of {} and may pass their client-output-buffer-limit (64 MB soft)",
            unit.slot,
            human_bytes(bytes),
            unit.dst.addr()
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_print_readably() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(52_428_800), "50.0 MB");
        assert!(estimate(1000, 100_000, 50 << 20) > 1.0);
    }
}
