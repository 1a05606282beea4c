//! `import host:port --cluster-from src:port` (docs/cluster-manager.md, "import"):
//! every key of a standalone server's DB 0 is MIGRATEd to the master owning its slot
//! (deleted from the source unless `--cluster-copy`). redis-cli sends one MIGRATE per
//! key; rcli scans 1000 keys at a time and sends one MIGRATE … KEYS per target node,
//! printing the same `Migrating <key> to <node>: OK` lines. Without
//! `--cluster-replace`, keys that already exist on their target are looked for first,
//! so the run stops at the same key as redis-cli with the same error.

use std::collections::BTreeMap;
use std::ffi::OsString;

use super::link::{Link, LinkTemplate, error_of, info_field, reply_text};
use super::model::{Cluster, Node};
use super::mover::Peer;
use super::report::Level;
use super::{INVALID_HOST, Manager, check, host_arg, load, peer};
use crate::client::state::Credentials;
use crate::cluster::slot::{SLOTS, slot_of};
use crate::endpoint::Endpoint;

/// Which master serves each slot: the masters in cluster order, and for each slot the
/// position of its owner among them.
struct SlotOwners {
    masters: Vec<Peer>,
    by_slot: Vec<Option<usize>>,
}

impl SlotOwners {
    fn of(cluster: &Cluster) -> SlotOwners {
        let masters: Vec<&Node> = cluster.masters().collect();
        let by_slot = (0..SLOTS as u16).map(|s| masters.iter().position(|n| n.slots.contains(s))).collect();
        SlotOwners { masters: masters.into_iter().map(peer).collect(), by_slot }
    }

    /// The master serving `key`: its position (keys are grouped by it, in cluster
    /// order) and the master; `None` when no master serves the key's slot.
    fn owner(&self, key: &[u8]) -> Option<(usize, &Peer)> {
        let position = self.by_slot.get(usize::from(slot_of(key))).copied().flatten()?;
        Some((position, self.masters.get(position)?))
    }
}

/// `import`.
pub fn run(m: &mut Manager, args: &[OsString]) -> bool {
    let Some(entry) = host_arg(args) else {
        m.usage_error(INVALID_HOST);
        return false;
    };
    let Some(from) = m.opts.from.clone() else {
        m.usage_error("[ERR] Option '--cluster-from' is required for subcommand 'import'.");
        return false;
    };
    let Some(source) = host_arg(&[OsString::from(&from)]) else {
        m.usage_error("[ERR] Invalid --cluster-from host. You need to pass a valid address (ie. 120.0.0.1:7000).");
        return false;
    };
    m.report.info(&format!(">>> Importing data from {source} to cluster {entry}"));
    if load::load(m, &entry).is_err() {
        return false;
    }
    let Ok(_lock) = (if m.opts.dry_run { Ok(None) } else { super::lock::hold(m, "import") }) else { return false };
    if !check::check_cluster(m, false).ok {
        return false;
    }
    let mut password = m.opts.from_pass.clone().map(String::into_bytes);
    if m.opts.from_askpass {
        password =
            crate::cli::askpass::read_password("Please input import source node password: ").map(String::into_bytes);
    }
    let auth =
        password.map(|password| Credentials { user: m.opts.from_user.clone().map(String::into_bytes), password });
    let settings = m.template.settings.clone();
    let timeout = settings.internal_timeout;
    let mut src = LinkTemplate::new(auth, settings, timeout).link();
    let source_addr = source.to_string();
    let fail = |m: &mut Manager, err: &str| {
        m.report.err(&format!("Source {source_addr} replied with error:\n{err}"));
        false
    };
    if let Err(e) = src.connect(&source) {
        m.report.note(&e.to_string());
        return false;
    }
    let info = match src.cmd(&source, &["INFO"]) {
        Ok(r) if r.as_error().is_none() => reply_text(&r),
        Ok(r) => return fail(m, &error_of(&r).unwrap_or_default()),
        Err(e) => return fail(m, &e.to_string()),
    };
    if info_field(&info, "cluster_enabled").as_deref() == Some("1") {
        m.report.err("[ERR] The source node should not be a cluster node.");
        return false;
    }
    // redis-cli imports database 0; a cluster with numbered databases (Valkey 9) gets
    // every database of the source that has keys, each into the same database.
    let databases: Vec<(u32, i64)> = if m.databases > 1 { source_databases(&info) } else { vec![(0, 0)] };
    if let Some((db, _)) = databases.iter().find(|(db, _)| *db >= m.databases) {
        m.report.note(&format!(
            "rcli: {source_addr} holds keys in database {db}, and the cluster's nodes have {} databases; nothing was imported",
            m.databases
        ));
        return false;
    }
    let owners = SlotOwners::of(&m.cluster);
    let mut flags: Vec<&[u8]> = Vec::new();
    if m.opts.copy {
        flags.push(b"COPY");
    }
    if m.opts.replace {
        flags.push(b"REPLACE");
    }
    let auth_args: Vec<Vec<u8>> = match m.template.auth() {
        Some(Credentials { user: Some(user), password }) => vec![b"AUTH2".to_vec(), user.clone(), password.clone()],
        Some(Credentials { user: None, password }) => vec![b"AUTH".to_vec(), password.clone()],
        None => Vec::new(),
    };
    if m.opts.dry_run {
        return databases.iter().all(|(db, _)| src.in_db(*db, |src| dry_run(m, src, &source, &owners)));
    }
    if !m.opts.copy && !m.opts.yes && std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        let question =
            format!("rcli: the keys will be DELETED from {source_addr} (--cluster-copy keeps them). Continue?");
        if !super::prompt::confirm(m, &question, false) {
            return false;
        }
    }
    let how = Migrate { flags, auth_args, timeout: m.opts.timeout_ms.to_string() };
    for (db, _) in databases {
        let done = src.in_db(db, |src| import_db(m, src, &source, db, &owners, &how));
        if !done {
            return false;
        }
    }
    true
}

/// The databases of an `INFO` reply's keyspace section that hold keys, in order.
fn source_databases(info: &str) -> Vec<(u32, i64)> {
    info.lines()
        .filter_map(|line| {
            let (name, fields) = line.split_once(':')?;
            let db = name.strip_prefix("db")?.parse::<u32>().ok()?;
            let keys = fields.split(',').find_map(|f| f.strip_prefix("keys="))?.parse::<i64>().ok()?;
            (keys > 0).then_some((db, keys))
        })
        .collect()
}

/// What every MIGRATE of an import carries.
struct Migrate<'a> {
    flags: Vec<&'a [u8]>,
    auth_args: Vec<Vec<u8>>,
    timeout: String,
}

impl Migrate<'_> {
    /// `MIGRATE host port <key> db timeout [AUTH…] [COPY] [REPLACE] [KEYS k…]`.
    fn argv(&self, node: &Peer, key: Vec<u8>, db: u32, keys: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
        let mut argv: Vec<Vec<u8>> = vec![
            b"MIGRATE".to_vec(),
            node.host.clone().into_bytes(),
            node.port.to_string().into_bytes(),
            key,
            db.to_string().into_bytes(),
            self.timeout.clone().into_bytes(),
        ];
        argv.extend(self.auth_args.iter().cloned());
        argv.extend(self.flags.iter().map(|f| f.to_vec()));
        if !keys.is_empty() {
            argv.push(b"KEYS".to_vec());
            argv.extend(keys);
        }
        argv
    }
}

/// Imports database `db` of the source (the source link works in it); false once an
/// error was reported.
fn import_db(m: &mut Manager, src: &mut Link, source: &Endpoint, db: u32, owners: &SlotOwners, how: &Migrate) -> bool {
    let source_addr = source.to_string();
    let fail = |m: &mut Manager, err: &str| {
        m.report.err(&format!("Source {source_addr} replied with error:\n{err}"));
        false
    };
    let size = match src.cmd(source, &["DBSIZE"]) {
        Ok(r) => r.as_integer().unwrap_or(0),
        Err(e) => return fail(m, &e.to_string()),
    };
    m.report.warn(&format!("*** Importing {size} keys from DB {db}"));
    m.report.progress = super::progress::Progress::start("importing", u64::try_from(size).unwrap_or(0), "keys");
    let mut cursor = b"0".to_vec();
    loop {
        let reply = match src.cmd(source, &[b"SCAN".as_slice(), &cursor, b"COUNT", b"1000"]) {
            Ok(r) if r.as_error().is_none() => r,
            Ok(r) => return fail(m, &error_of(&r).unwrap_or_default()),
            Err(e) => return fail(m, &e.to_string()),
        };
        let items = reply.as_items().unwrap_or_default();
        cursor = items.first().and_then(|c| c.as_bytes()).map(<[u8]>::to_vec).unwrap_or_else(|| b"0".to_vec());
        let keys: Vec<Vec<u8>> = items
            .get(1)
            .and_then(|k| k.as_items())
            .unwrap_or_default()
            .iter()
            .filter_map(|k| k.as_bytes().map(<[u8]>::to_vec))
            .collect();
        let targets: Vec<Option<(usize, &Peer)>> = keys.iter().map(|k| owners.owner(k)).collect();
        let mut stop_at = keys.len();
        if !m.opts.replace {
            stop_at = m.link.in_db(db, |link| first_existing(link, &keys, &targets)).unwrap_or(keys.len());
        }
        let mut by_target: BTreeMap<usize, (&Peer, Vec<Vec<u8>>)> = BTreeMap::new();
        for (key, target) in keys.iter().zip(&targets).take(stop_at) {
            let Some((t, node)) = target else { continue };
            by_target.entry(*t).or_insert_with(|| (node, Vec::new())).1.push(key.clone());
        }
        let order: Vec<usize> = by_target.keys().copied().collect();
        let commands: Vec<Vec<Vec<u8>>> =
            by_target.into_values().map(|(node, batch)| how.argv(node, Vec::new(), db, batch)).collect();
        let replies = match src.pipeline(source, &commands) {
            Ok(r) => r,
            Err(e) => return fail(m, &e.to_string()),
        };
        let failed: Vec<(usize, String)> =
            order.iter().zip(&replies).filter_map(|(t, r)| error_of(r).map(|e| (*t, e))).collect();
        for (key, target) in keys.iter().zip(&targets).take(stop_at) {
            let Some((t, node)) = target else { continue };
            m.report.text(&format!("Migrating {} to {}: ", String::from_utf8_lossy(key), node.addr()));
            if let Some((_, e)) = failed.iter().find(|(ft, _)| ft == t) {
                return fail(m, e);
            }
            m.report.log(Level::Ok, "OK");
        }
        if let Some(p) = &m.report.progress {
            p.advance(stop_at as u64);
        }
        // The first key that exists on its target: MIGRATE it alone for the server's error.
        if let Some(key) = keys.get(stop_at) {
            let Some(Some((_, node))) = targets.get(stop_at) else { return false };
            m.report.text(&format!("Migrating {} to {}: ", String::from_utf8_lossy(key), node.addr()));
            return match src.cmd(source, &how.argv(node, key.clone(), db, Vec::new())) {
                Ok(r) => match error_of(&r) {
                    Some(e) => fail(m, &e),
                    None => {
                        m.report.log(Level::Ok, "OK");
                        false
                    }
                },
                Err(e) => fail(m, &e.to_string()),
            };
        }
        if cursor == b"0" {
            if let Some(p) = m.report.progress.take() {
                p.finish();
            }
            return true;
        }
    }
}

/// `--cluster-dry-run`: how many keys would go to each master; reads only.
fn dry_run(m: &mut Manager, src: &mut Link, source: &Endpoint, owners: &SlotOwners) -> bool {
    let mut per_node: BTreeMap<usize, (&Peer, u64)> = BTreeMap::new();
    let mut cursor = b"0".to_vec();
    loop {
        let Ok(reply) = src.cmd(source, &[b"SCAN".as_slice(), &cursor, b"COUNT", b"1000"]) else { return false };
        let items = reply.as_items().unwrap_or_default();
        cursor = items.first().and_then(|c| c.as_bytes()).map(<[u8]>::to_vec).unwrap_or_else(|| b"0".to_vec());
        for key in items.get(1).and_then(|k| k.as_items()).unwrap_or_default() {
            if let Some((t, node)) = key.as_bytes().and_then(|k| owners.owner(k)) {
                per_node.entry(t).or_insert((node, 0)).1 += 1;
            }
        }
        if cursor == b"0" {
            break;
        }
    }
    let mut rows = Vec::new();
    for (node, count) in per_node.values() {
        let addr = node.addr();
        m.report.note(&format!("rcli dry-run: {count} keys would go to {addr}"));
        rows.push(serde_json::json!({"to": addr, "keys": count}));
    }
    m.report.note("rcli dry-run: nothing was changed");
    m.report.doc = Some(serde_json::json!({"type": "plan", "op": "import", "moves": rows}));
    true
}

/// The index of the first key that already exists on its target node.
fn first_existing(link: &mut Link, keys: &[Vec<u8>], targets: &[Option<(usize, &Peer)>]) -> Option<usize> {
    // Per target: the target, and its keys with their positions.
    type Batch<'a> = (&'a Peer, Vec<(usize, &'a [u8])>);
    let mut by_target: BTreeMap<usize, Batch> = BTreeMap::new();
    for (i, (key, target)) in keys.iter().zip(targets).enumerate() {
        if let Some((t, node)) = target {
            by_target.entry(*t).or_insert_with(|| (node, Vec::new())).1.push((i, key));
        }
    }
    let mut first: Option<usize> = None;
    for (node, batch) in by_target.into_values() {
        let commands: Vec<Vec<Vec<u8>>> = batch.iter().map(|(_, key)| vec![b"EXISTS".to_vec(), key.to_vec()]).collect();
        let Ok(replies) = link.pipeline(&node.endpoint(), &commands) else { continue };
        for ((i, _), reply) in batch.iter().zip(replies) {
            if reply.as_integer().unwrap_or(0) > 0 {
                first = Some(first.map_or(*i, |f| f.min(*i)));
            }
        }
    }
    first
}
