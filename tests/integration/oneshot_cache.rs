//! One-shot commands in cluster mode (issue 22, item 3): what the seed is asked at start
//! (one exchange, no CONFIG GET), and the slot map cached on disk used as a hint —
//! a stale map after a reshard, a cluster rebuilt on the same ports, hostile cache
//! files, and writes that must never run twice. Counted with `INFO commandstats`.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use rcli::cluster::map_file::{self, Identity};
use rcli::cluster::slot::slot_of;
use rcli::cluster::topology::Topology;
use rcli::endpoint::Endpoint;
use rcli::modes::sandbox::{LocalCluster, call};

use crate::util::*;

/// Calls of `command` (`get`, `cluster|shards`…) on `endpoint` since its last RESETSTAT
/// that ran (`calls`) or that the node turned away (`rejected_calls`: a MOVED).
fn stat(endpoint: &Endpoint, command: &str, field: &str) -> u64 {
    let info = text(&call(endpoint, &["INFO", "commandstats"]).unwrap());
    let prefix = format!("cmdstat_{command}:");
    let Some(fields) = info.lines().find_map(|l| l.strip_prefix(&prefix)) else { return 0 };
    fields
        .split(',')
        .find_map(|f| f.strip_prefix(field).and_then(|rest| rest.strip_prefix('=')))
        .map_or(0, |n| n.trim().parse().unwrap_or(0))
}

fn calls(endpoint: &Endpoint, command: &str) -> u64 {
    stat(endpoint, command, "calls")
}

/// Calls of `command` over every node of `cluster`.
fn calls_everywhere(cluster: &LocalCluster, command: &str) -> u64 {
    (0..cluster.nodes.len()).map(|i| calls(&cluster.endpoint(i), command)).sum()
}

fn reset_stats(cluster: &LocalCluster) {
    for i in 0..cluster.nodes.len() {
        call(&cluster.endpoint(i), &["CONFIG", "RESETSTAT"]).unwrap();
    }
}

/// A node of `cluster` that does not own `key`'s slot: the seed, so the cache matters.
fn seed_away_from(cluster: &LocalCluster, key: &str) -> usize {
    let (_, owner) = owner_of(cluster, key);
    (0..cluster.primaries).find(|&i| i != owner).unwrap()
}

/// The cache directory of `home` and the slot-map files in it.
fn map_files(home: &Home) -> Vec<PathBuf> {
    let dir = home.path.join("cache").join("rcli");
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("slot-map-"))
        .collect();
    files.sort();
    files
}

fn identity(cluster: &LocalCluster, seed: usize) -> Identity {
    Identity { seed: Endpoint::tcp("127.0.0.1", cluster.port(seed)), tls: false }
}

/// The one cache file of `home`, read back as a map.
fn cached_map(home: &Home, identity: &Identity) -> Topology {
    let files = map_files(home);
    assert_eq!(files.len(), 1, "one cache file: {files:?}");
    map_file::decode(identity, &std::fs::read(&files[0]).unwrap()).expect("a sound cache file")
}

fn one_shot(home: &Home, seed: u16, words: &[&str]) -> Output {
    let mut args = vec!["-c".to_string(), "-p".to_string(), seed.to_string()];
    args.extend(words.iter().map(|w| w.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    rcli_run(home, &args, "")
}

/// [`one_shot`] with the cache turned off by `RCLI_NO_MAP_CACHE=1`.
fn one_shot_uncached(home: &Home, seed: u16, words: &[&str]) -> Output {
    let mut cmd = rcli(home);
    cmd.env("RCLI_NO_MAP_CACHE", "1").args(["-c", "-p", &seed.to_string()]).args(words);
    run_with(cmd, b"", std::time::Duration::from_secs(60))
}

/// Moves `key`'s slot (and its keys) from its owner to another primary; returns the
/// new owner's index.
fn reshard_slot_of(cluster: &LocalCluster, key: &str) -> usize {
    let slot = slot_of(key.as_bytes()).to_string();
    let (source, source_index) = owner_of(cluster, key);
    let target_index = (source_index + 1) % cluster.primaries;
    let target = cluster.endpoint(target_index);
    let (source_id, target_id) = (cluster.ids[source_index].clone(), cluster.ids[target_index].clone());
    call(&target, &["CLUSTER", "SETSLOT", &slot, "IMPORTING", &source_id]).unwrap();
    call(&source, &["CLUSTER", "SETSLOT", &slot, "MIGRATING", &target_id]).unwrap();
    let port = cluster.port(target_index).to_string();
    call(&source, &["MIGRATE", "127.0.0.1", &port, "", "0", "5000", "KEYS", key]).unwrap();
    for i in 0..cluster.nodes.len() {
        call(&cluster.endpoint(i), &["CLUSTER", "SETSLOT", &slot, "NODE", &target_id]).unwrap();
    }
    wait_for("every node to agree on the slot's owner", std::time::Duration::from_secs(20), || {
        (0..cluster.nodes.len()).all(|i| topology(cluster, i).owner(slot_of(key.as_bytes())) == Some(&target))
    });
    target_index
}

/// Start-up on the seed is one exchange: INFO server and modules, COMMAND COUNT, the
/// COMMAND INFO sample and CLUSTER SHARDS, each once, and no CONFIG GET (the failure
/// budget is asked only when a node fails). With the map cached, a one-shot asks the
/// seed nothing: the owner gets CLUSTER MYID and the command.
#[test]
fn a_one_shot_asks_the_seed_once_and_then_not_at_all() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 0);
    let home = Home::new();
    let seed_index = seed_away_from(&cluster, "foo");
    let seed = cluster.endpoint(seed_index);
    let (owner, _) = owner_of(&cluster, "foo");
    write_ok(&owner, &["SET", "foo", "bar"]);
    // The first run caches the command table; the second compares it with the sample.
    let warm = one_shot_uncached(&home, cluster.port(seed_index), &["GET", "foo"]);
    assert_eq!((warm.text().as_str(), warm.stderr.as_str()), ("bar\n", ""));
    assert!(map_files(&home).is_empty(), "RCLI_NO_MAP_CACHE=1 writes no map");
    reset_stats(&cluster);
    let out = one_shot_uncached(&home, cluster.port(seed_index), &["GET", "foo"]);
    assert_eq!((out.code, out.text().as_str(), out.stderr.as_str()), (Some(0), "bar\n", ""));
    let asked: Vec<(&str, u64)> = ["info", "command|count", "command|info", "cluster|shards", "config|get", "command"]
        .iter()
        .map(|c| (*c, calls(&seed, c)))
        .collect();
    assert_eq!(
        asked,
        [
            ("info", 2),
            ("command|count", 1),
            ("command|info", 1),
            ("cluster|shards", 1),
            ("config|get", 0),
            ("command", 0)
        ],
        "what the seed was asked at start"
    );
    assert_eq!(calls_everywhere(&cluster, "config|get"), 0, "no CONFIG GET anywhere");

    // The same through the cache: written by a run, then used.
    let first = one_shot(&home, cluster.port(seed_index), &["GET", "foo"]);
    assert_eq!((first.text().as_str(), first.stderr.as_str()), ("bar\n", ""));
    let files = map_files(&home);
    assert_eq!(files.len(), 1, "{files:?}");
    let mode = std::fs::metadata(&files[0]).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the cache file is the user's alone");
    let cached = cached_map(&home, &identity(&cluster, seed_index));
    assert_eq!(cached.owner(slot_of(b"foo")), Some(&owner));
    reset_stats(&cluster);
    let out = one_shot(&home, cluster.port(seed_index), &["GET", "foo"]);
    assert_eq!((out.code, out.text().as_str(), out.stderr.as_str()), (Some(0), "bar\n", ""));
    let seed_total: u64 = ["info", "command|count", "command|info", "cluster|shards", "cluster|slots", "command"]
        .iter()
        .map(|c| calls(&seed, c))
        .sum();
    assert_eq!(seed_total, 0, "the seed is asked nothing");
    assert_eq!((calls(&owner, "cluster|myid"), calls(&owner, "get")), (1, 1), "the owner proves itself, then answers");
}

/// A map cached before a reshard: the answer is right (MOVED followed), and the file
/// is rewritten with the slot's new owner. An INCR through a stale map runs once.
#[test]
fn a_stale_cache_after_a_reshard_answers_right_and_is_rewritten() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 0);
    let home = Home::new();
    let seed_index = seed_away_from(&cluster, "{r}n");
    let seed = cluster.port(seed_index);
    let set = one_shot(&home, seed, &["SET", "{r}n", "5"]);
    assert_eq!((set.text().as_str(), set.stderr.as_str()), ("OK\n", ""));
    let id = identity(&cluster, seed_index);
    let (old_owner, _) = owner_of(&cluster, "{r}n");
    assert_eq!(cached_map(&home, &id).owner(slot_of(b"{r}n")), Some(&old_owner));

    let new_owner = cluster.endpoint(reshard_slot_of(&cluster, "{r}n"));
    reset_stats(&cluster);
    let out = one_shot(&home, seed, &["INCR", "{r}n"]);
    assert_eq!((out.code, out.text().as_str(), out.stderr.as_str()), (Some(0), "6\n", ""));
    assert_eq!(stat(&old_owner, "incr", "rejected_calls"), 1, "sent to the stale owner, which said MOVED");
    assert_eq!(calls_everywhere(&cluster, "incr"), 1, "run once, by the new owner");
    assert_eq!(text(&call(&new_owner, &["GET", "{r}n"]).unwrap()), "6", "applied exactly once");
    assert_eq!(cached_map(&home, &id).owner(slot_of(b"{r}n")), Some(&new_owner), "the cache was rewritten");

    reset_stats(&cluster);
    let out = one_shot(&home, seed, &["GET", "{r}n"]);
    assert_eq!((out.text().as_str(), out.stderr.as_str()), ("6\n", ""));
    assert_eq!(calls(&new_owner, "get"), 1);
    assert_eq!(calls_everywhere(&cluster, "cluster|shards"), 0, "the rewritten map is used as is");
}

/// A cache file from a cluster that was on these ports before (other node ids, another
/// slot layout): the node it names does not prove to be that node, nothing is sent
/// there, the map is loaded from the seed and the file replaced. Writes run once.
#[test]
fn a_cluster_rebuilt_on_the_same_ports_is_not_mistaken_for_the_cached_one() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 0);
    let home = Home::new();
    let seed_index = seed_away_from(&cluster, "{b}n");
    let seed = cluster.port(seed_index);
    let (owner, owner_index) = owner_of(&cluster, "{b}n");
    write_ok(&owner, &["SET", "{b}n", "41"]);
    // The old cluster: every slot on a node that is not the owner today, with an id no
    // node has now.
    let elsewhere = cluster.endpoint((owner_index + 1) % 3);
    let old = Topology::from_shards(&shards_reply(&"cd".repeat(20), &elsewhere), &elsewhere).unwrap();
    let stale = map_file::encode(&identity(&cluster, seed_index), &old).unwrap();
    // Through rcli's own path: a run with the cache on writes it, then it is replaced.
    let warm = one_shot(&home, seed, &["GET", "{b}n"]);
    assert_eq!(warm.text(), "41\n");
    let file = map_files(&home).pop().unwrap();
    std::fs::write(&file, &stale).unwrap();
    assert!(map_file::decode(&identity(&cluster, seed_index), stale.as_bytes()).is_some(), "a sound but stale file");

    reset_stats(&cluster);
    let out = one_shot(&home, seed, &["INCR", "{b}n"]);
    assert_eq!((out.code, out.text().as_str(), out.stderr.as_str()), (Some(0), "42\n", ""));
    assert_eq!(calls_everywhere(&cluster, "incr"), 1, "run once");
    let at_stale_node = calls(&elsewhere, "incr") + stat(&elsewhere, "incr", "rejected_calls");
    assert_eq!(at_stale_node, 0, "never sent to the node the stale file named");
    assert_eq!(calls(&elsewhere, "cluster|myid"), 1, "that node was asked who it is");
    assert_eq!(text_of(&owner, "{b}n"), "42");
    let fresh = cached_map(&home, &identity(&cluster, seed_index));
    assert_eq!(fresh.owner(slot_of(b"{b}n")), Some(&owner), "the file describes the cluster of today");
    assert_eq!(fresh.node(&owner).unwrap().id, cluster.ids[owner_index]);
}

/// A CLUSTER SHARDS reply of one shard holding every slot on `node`, whose id is `id`.
fn shards_reply(id: &str, node: &Endpoint) -> rcli::protocol::resp::Frame {
    use rcli::protocol::resp::Frame;
    let bulk = |s: &str| Frame::Bulk(s.as_bytes().to_vec());
    let Endpoint::Tcp { host, port } = node else { panic!("a TCP node") };
    let fields = vec![
        bulk("id"),
        bulk(id),
        bulk("port"),
        Frame::Integer(i64::from(*port)),
        bulk("ip"),
        bulk(host),
        bulk("endpoint"),
        bulk(host),
        bulk("role"),
        bulk("master"),
        bulk("health"),
        bulk("online"),
    ];
    Frame::Array(vec![Frame::Array(vec![
        bulk("slots"),
        Frame::Array(vec![Frame::Integer(0), Frame::Integer(16383)]),
        bulk("nodes"),
        Frame::Array(vec![Frame::Array(fields)]),
    ])])
}

/// Puts a hostile file in place of the cache file.
type Planter<'a> = Box<dyn Fn() + 'a>;

fn text_of(endpoint: &Endpoint, key: &str) -> String {
    text(&call(endpoint, &["GET", key]).unwrap())
}

/// Cache files rcli did not write as it writes them are never read: garbage, a file
/// past the size bound, one others may read, a symlink (not followed for reading, and
/// replaced — not written through — when the map is stored). Each is a sound map of
/// this very cluster inside, so using it would show: the seed would not be asked for
/// the map.
#[test]
fn hostile_cache_files_are_ignored_and_never_followed() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 0);
    let home = Home::new();
    let seed_index = seed_away_from(&cluster, "foo");
    let seed = cluster.port(seed_index);
    let seed_endpoint = cluster.endpoint(seed_index);
    let (owner, _) = owner_of(&cluster, "foo");
    write_ok(&owner, &["SET", "foo", "bar"]);
    let warm = one_shot(&home, seed, &["GET", "foo"]);
    assert_eq!(warm.text(), "bar\n");
    let file = map_files(&home).pop().unwrap();
    let sound = std::fs::read(&file).unwrap();
    let outside = home.path.join("elsewhere.map");

    let mut huge = sound.clone();
    huge.extend(std::iter::repeat_n(b'#', 2 << 20));
    let cases: Vec<(&str, Planter)> = vec![
        ("garbage", Box::new(|| std::fs::write(&file, b"\x00\xffnot a map at all\n").unwrap())),
        ("huge", Box::new(|| std::fs::write(&file, &huge).unwrap())),
        (
            "readable by others",
            Box::new(|| {
                std::fs::write(&file, &sound).unwrap();
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
            }),
        ),
        (
            "a symlink",
            Box::new(|| {
                std::fs::write(&outside, &sound).unwrap();
                std::fs::set_permissions(&outside, std::fs::Permissions::from_mode(0o600)).unwrap();
                let _ = std::fs::remove_file(&file);
                std::os::unix::fs::symlink(&outside, &file).unwrap();
            }),
        ),
    ];
    for (what, plant) in &cases {
        let _ = std::fs::remove_file(&file);
        plant();
        reset_stats(&cluster);
        let out = one_shot(&home, seed, &["GET", "foo"]);
        assert_eq!((out.code, out.text().as_str(), out.stderr.as_str()), (Some(0), "bar\n", ""), "{what}");
        assert_eq!(calls(&seed_endpoint, "cluster|shards"), 1, "{what}: the file was not used");
        assert_eq!(calls_everywhere(&cluster, "cluster|myid"), 0, "{what}: no node was asked from it");
        let now = std::fs::symlink_metadata(&file).unwrap();
        assert!(now.file_type().is_file(), "{what}: replaced by a regular file");
        assert_eq!(now.permissions().mode() & 0o777, 0o600, "{what}");
        assert_eq!(std::fs::read(&file).unwrap(), sound, "{what}: rewritten whole");
    }
    assert_eq!(std::fs::read(&outside).unwrap(), sound, "the symlink's target was never written");

    // --no-map-cache: the file is neither read nor written.
    std::fs::write(&file, b"garbage").unwrap();
    reset_stats(&cluster);
    let out = one_shot(&home, seed, &["--no-map-cache", "GET", "foo"]);
    assert_eq!((out.text().as_str(), out.stderr.as_str()), ("bar\n", ""));
    assert_eq!(calls(&seed_endpoint, "cluster|shards"), 1, "the cache is off");
    assert_eq!(std::fs::read(&file).unwrap(), b"garbage", "and not written");
}
