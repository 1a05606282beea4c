//! The journal of a reshard or rebalance, so that one interrupted at any point (Ctrl-C,
//! `kill -9`, a lost node) can be resumed or abandoned (docs/cluster-manager.md,
//! "Journal and resume"). One JSON Lines file per run under
//! `$XDG_STATE_HOME/rcli/cluster-ops/`: a header with the plan, then an `open` entry
//! written (and synced) before a group of slots changes state and a `done` entry once
//! the group is handed over. The file is removed when the run completes. The header also
//! names each node's replicas, so that a recovery can follow a node that died to the
//! replica that took over from it ([`super::settle::Lineage`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::moves::Peer;
pub use super::moves::Unit;
use super::settle::Lineage;

/// A journal being written.
pub struct Journal {
    path: PathBuf,
    file: Mutex<Option<File>>,
}

/// The journal shared by the workers of a run.
pub type SharedJournal = Arc<Journal>;

fn peer_json(p: &Peer) -> Value {
    json!({"id": p.id, "host": p.host, "port": p.port})
}

fn peer_from(v: &Value) -> Option<Peer> {
    Some(Peer {
        id: v.get("id")?.as_str()?.to_string(),
        host: v.get("host")?.as_str()?.to_string(),
        port: u16::try_from(v.get("port")?.as_u64()?).ok()?,
    })
}

/// Where journals live.
pub fn dir() -> Option<PathBuf> {
    dirs::state_dir().or_else(dirs::data_local_dir).map(|d| d.join("rcli").join("cluster-ops"))
}

fn now_utc() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    secs.to_string()
}

impl Journal {
    /// Starts a journal for `op` over the cluster whose node ids are `ids` (`replicas`:
    /// each primary's replicas now).
    pub fn create(
        op: &str,
        ids: &[String],
        replicas: &BTreeMap<String, Vec<String>>,
        plan: &[Unit],
        atomic: bool,
    ) -> Result<SharedJournal, String> {
        let dir = dir().ok_or("no state directory for the journal")?;
        fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let started = now_utc();
        let pin = ids.iter().min().map(|id| id.chars().take(8).collect::<String>()).unwrap_or_default();
        let path = dir.join(format!("{pin}-{started}-{}-{op}.jsonl", std::process::id()));
        let header = json!({
            "op": op,
            "started": started,
            "nodes": ids,
            "host": super::lock::this_host(),
            "replicas": replicas,
            "atomic": atomic,
            "plan": plan.iter().map(|u| json!({"slot": u.slot, "src": peer_json(&u.src), "dst": peer_json(&u.dst)})).collect::<Vec<_>>(),
        });
        let mut file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        writeln!(file, "{header}").and_then(|()| file.sync_data()).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Arc::new(Journal { path, file: Mutex::new(Some(file)) }))
    }

    /// Reopens an existing journal to append to it (resume, fix).
    pub fn reopen(path: &Path) -> Result<SharedJournal, String> {
        let file = OpenOptions::new().append(true).open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Arc::new(Journal { path: path.to_path_buf(), file: Mutex::new(Some(file)) }))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn append(&self, entry: Value) {
        if let Ok(mut guard) = self.file.lock()
            && let Some(file) = guard.as_mut()
        {
            let _ = writeln!(file, "{entry}").and_then(|()| file.sync_data());
        }
    }

    /// Written before `slots` change state.
    pub fn opening(&self, slots: &[u16], src: &Peer, dst: &Peer) {
        self.append(json!({"open": slots, "src": src.id, "dst": dst.id}));
    }

    /// Written when the move of `slots` was refused before anything changed.
    pub fn not_started(&self, slots: &[u16]) {
        self.append(json!({"not_started": slots}));
    }

    /// Written once an atomic slot migration of `slots` runs on the server as `name`.
    pub fn job(&self, slots: &[u16], name: &str) {
        self.append(json!({"job": name, "slots": slots}));
    }

    /// Written once `slots` belong to their target everywhere.
    pub fn done(&self, slots: &[u16]) {
        self.append(json!({"done": slots}));
    }

    /// The run completed: the journal goes (unless it is to be kept).
    pub fn finish(&self, keep: bool) {
        if let Ok(mut guard) = self.file.lock() {
            guard.take();
        }
        if !keep {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// A journal read back.
#[derive(Debug, Clone)]
pub struct Record {
    pub path: PathBuf,
    pub op: String,
    pub started: String,
    pub nodes: Vec<String>,
    /// The host that wrote it.
    pub host: String,
    pub lineage: Lineage,
    /// Moved by atomic slot migration (Valkey 9.1+).
    pub atomic: bool,
    /// The server jobs of an atomic run, by slot.
    pub jobs: BTreeMap<u16, String>,
    pub plan: Vec<Unit>,
    pub opened: BTreeSet<u16>,
    pub done: BTreeSet<u16>,
}

impl Record {
    /// Slots opened and not handed over: the moves in flight.
    pub fn in_flight(&self) -> Vec<&Unit> {
        self.plan.iter().filter(|u| self.opened.contains(&u.slot) && !self.done.contains(&u.slot)).collect()
    }

    /// Slots not started yet.
    pub fn pending(&self) -> Vec<&Unit> {
        self.plan.iter().filter(|u| !self.opened.contains(&u.slot) && !self.done.contains(&u.slot)).collect()
    }

    pub fn unit(&self, slot: u16) -> Option<&Unit> {
        self.plan.iter().find(|u| u.slot == slot)
    }
}

/// `{"<id>": ["<replica id>", …]}`; anything else in it is left out.
fn replicas_from(value: Option<&Value>) -> BTreeMap<String, Vec<String>> {
    let Some(map) = value.and_then(Value::as_object) else { return BTreeMap::new() };
    map.iter()
        .filter(|(id, _)| super::model::is_node_id(id))
        .map(|(id, list)| {
            let ids = list
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .filter(|r| super::model::is_node_id(r))
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            (id.clone(), ids)
        })
        .collect()
}

/// Parses a journal's text (a torn last line, from a kill mid-write, is ignored).
pub fn parse(path: &Path, text: &str) -> Option<Record> {
    let mut lines = text.lines();
    let header: Value = serde_json::from_str(lines.next()?).ok()?;
    let plan = header
        .get("plan")?
        .as_array()?
        .iter()
        .filter_map(|u| {
            Some(Unit {
                slot: u16::try_from(u.get("slot")?.as_u64()?).ok().filter(|s| usize::from(*s) < 16384)?,
                src: peer_from(u.get("src")?)?,
                dst: peer_from(u.get("dst")?)?,
            })
        })
        .collect();
    let mut record = Record {
        path: path.to_path_buf(),
        op: header.get("op")?.as_str()?.to_string(),
        started: header.get("started").and_then(Value::as_str).unwrap_or_default().to_string(),
        nodes: header.get("nodes")?.as_array()?.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
        host: header.get("host").and_then(Value::as_str).unwrap_or_default().to_string(),
        lineage: Lineage { replicas: replicas_from(header.get("replicas")) },
        atomic: header.get("atomic").and_then(Value::as_bool).unwrap_or(false),
        jobs: BTreeMap::new(),
        plan,
        opened: BTreeSet::new(),
        done: BTreeSet::new(),
    };
    for line in lines {
        let Ok(entry) = serde_json::from_str::<Value>(line) else { continue };
        let slots = |key: &str| -> Vec<u16> {
            entry
                .get(key)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|s| s.as_u64().and_then(|s| u16::try_from(s).ok())).collect())
                .unwrap_or_default()
        };
        record.opened.extend(slots("open"));
        record.done.extend(slots("done"));
        for slot in slots("not_started") {
            record.opened.remove(&slot);
        }
        if let Some(name) = entry.get("job").and_then(Value::as_str).filter(|n| super::model::is_node_id(n)) {
            for slot in slots("slots") {
                record.jobs.insert(slot, name.to_string());
            }
        }
    }
    Some(record)
}

/// The unfinished journals of the cluster whose node ids are `ids`, oldest first.
pub fn find(ids: &[String]) -> Vec<Record> {
    let Some(dir) = dir() else { return Vec::new() };
    let Ok(entries) = fs::read_dir(&dir) else { return Vec::new() };
    let mut found: Vec<Record> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let path = e.path();
            let text = fs::read_to_string(&path).ok()?;
            parse(&path, &text)
        })
        .filter(|r| r.nodes.iter().any(|id| ids.contains(id)))
        .collect();
    found.sort_by(|a, b| a.started.cmp(&b.started));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(id: &str) -> Peer {
        Peer { id: id.into(), host: "127.0.0.1".into(), port: 7000 }
    }

    #[test]
    fn a_journal_reads_back_with_a_torn_tail() {
        let plan: Vec<Value> =
            (0..3u16).map(|s| json!({"slot": s, "src": peer_json(&peer("a")), "dst": peer_json(&peer("b"))})).collect();
        let a = "a".repeat(40);
        let b = "b".repeat(40);
        let text = format!(
            "{}\n{}\n{}\n{}",
            json!({"op": "reshard", "started": "1", "nodes": ["a", "b"], "plan": plan,
                   "replicas": {a.clone(): [b.clone(), "not-an-id"], "x": [a.clone()]}}),
            json!({"open": [0, 1], "src": "a", "dst": "b"}),
            json!({"done": [0]}),
            "{\"done\": [1"
        );
        let record = parse(Path::new("x"), &text).unwrap();
        assert_eq!(record.plan.len(), 3);
        assert_eq!(record.in_flight().iter().map(|u| u.slot).collect::<Vec<_>>(), [1]);
        assert_eq!(record.pending().iter().map(|u| u.slot).collect::<Vec<_>>(), [2]);
        assert_eq!(record.lineage.replicas.len(), 1, "ids that are not node ids are dropped");
        assert_eq!(record.lineage.replicas.get(&a), Some(&vec![b]));
        assert!(parse(Path::new("x"), "not json").is_none());
    }
}
