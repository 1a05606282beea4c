//! `--rdb`, `--functions-rdb` and `--replica` against real servers, beside redis-cli
//! 7.0.15 (valkey-cli 8.1 on the Valkey pass; issue 14): the same messages, files redis-check-rdb accepts, no stale tail
//! from an older longer file, one file per primary with `-c`, and the replication
//! stream from its first command on.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use rcli::endpoint::Endpoint;
use rcli::modes::sandbox::call;

use crate::util::*;

/// redis-check-rdb's verdict on `path`: the keys it read, or its complaint.
fn checked_keys(path: &std::path::Path) -> Result<u64, String> {
    let out = Command::new("redis-check-rdb").arg(path).output().map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() || !text.contains("RDB looks OK") {
        return Err(text);
    }
    text.lines()
        .find_map(|l| l.strip_prefix("[info] ").and_then(|l| l.strip_suffix(" keys read")))
        .and_then(|n| n.trim().parse().ok())
        .ok_or(text)
}

fn size(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

#[test]
fn rdb_and_functions_rdb_match_redis_cli_and_leave_no_stale_tail() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let port = server.port().to_string();
    let endpoint = Endpoint::tcp("127.0.0.1", server.port());
    call(&endpoint, &["DEBUG", "POPULATE", "1000"]).unwrap();
    call(&endpoint, &["FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('f', function() return 1 end)"])
        .unwrap();
    let dir = Home::new();
    let home = Home::new();
    let theirs = dir.path.join("theirs.rdb");
    let ours = dir.path.join("ours.rdb");
    // An older, longer file where rcli writes: none of it may survive.
    std::fs::write(&ours, vec![b'x'; 1 << 20]).unwrap();
    for (flag, keys) in [("--rdb", 1000), ("--functions-rdb", 0)] {
        let expected = redis_cli_run(&["-p", &port, flag, &theirs.display().to_string()], b"");
        let got = rcli_run(&home, &["-p", &port, flag, &ours.display().to_string()], "");
        assert_eq!((got.code, expected.code), (Some(0), Some(0)), "{}", got.stderr);
        let same_names = |s: &str| s.replace("theirs.rdb", "ours.rdb");
        // valkey-cli says `SYNC sent to primary` where redis-cli 7.0 and rcli say master.
        assert_eq!(vocabulary(&same_names(&expected.stderr)), vocabulary(&got.stderr), "{flag}");
        // The files differ only in the creation time the server writes into them.
        assert_eq!(size(&theirs), size(&ours), "{flag}");
        assert_eq!(checked_keys(&ours), Ok(keys), "{flag}");
        let leftovers: Vec<_> = std::fs::read_dir(&dir.path).unwrap().filter_map(|e| e.ok()).collect();
        assert_eq!(leftovers.len(), 2, "no temporary file stays: {leftovers:?}");
    }
    // `-` streams the RDB to stdout.
    let piped = rcli_run(&home, &["-p", &port, "--rdb", "-"], "");
    assert_eq!(piped.code, Some(0), "{}", piped.stderr);
    std::fs::write(&ours, &piped.stdout).unwrap();
    assert_eq!(checked_keys(&ours), Ok(1000));
    // A file that cannot be written: one line, exit 1, nothing left behind.
    let nowhere = rcli_run(&home, &["-p", &port, "--rdb", "/no/such/dir/x.rdb"], "");
    assert_eq!(nowhere.code, Some(1));
    assert!(nowhere.stderr.lines().last().unwrap_or_default().contains("/no/such/dir/x.rdb"), "{}", nowhere.stderr);
}

#[test]
fn rdb_with_c_saves_one_valid_file_per_primary() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 1);
    let seed = cluster.port(0).to_string();
    let home = Home::new();
    let lines: String = (0..300).map(|i| format!("SET key:{i} {i}\n")).collect();
    let fill = rcli_run(&home, &["-c", "-p", &seed], &lines);
    assert_eq!(fill.code, Some(0), "{}", fill.stderr);
    let dir = Home::new();
    let got = rcli_run(&home, &["-c", "-p", &seed, "--rdb", &dir.path.display().to_string()], "");
    assert_eq!(got.code, Some(0), "{}", got.stderr);
    let topology = topology(&cluster, 0);
    let mut total = 0;
    for shard in topology.shards.iter().filter(|s| !s.ranges.is_empty()) {
        let primary = shard.primary.as_ref().expect("every shard has a primary");
        let Endpoint::Tcp { host, port } = &primary.endpoint else { panic!("tcp") };
        let name = format!("redis-node-{host}-{port}-{}.rdb", primary.id);
        let keys = checked_keys(&dir.path.join(&name)).unwrap_or_else(|e| panic!("{name}: {e}\n{}", got.stderr));
        assert!(keys > 0, "{name}");
        total += keys;
    }
    assert_eq!(total, 300);
    assert_eq!(std::fs::read_dir(&dir.path).unwrap().count(), 3, "one file per primary, no replica's");
}

#[test]
fn replica_shows_the_stream_as_csv_from_the_first_command() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let port = server.port().to_string();
    let endpoint = Endpoint::tcp("127.0.0.1", server.port());
    let home = Home::new();
    let mut cmd = rcli(&home);
    cmd.args(["-p", &port, "--replica"]).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let (tx, rx) = mpsc::channel();
    for reader in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(reader).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    let mut seen: Vec<String> = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut wait_for = |done: &dyn Fn(&str) -> bool| {
        while !seen.iter().any(|l| done(l)) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let Ok(line) = rx.recv_timeout(left) else {
                return Err(format!("saw only {seen:?}"));
            };
            seen.push(line);
        }
        Ok(seen.clone())
    };
    let synced =
        wait_for(&|l| l.starts_with("SYNC done after ") && l.ends_with(" bytes. Logging commands from master."));
    call(&endpoint, &["SET", "k1", "v1"]).unwrap();
    call(&endpoint, &["SET", "k2", "a b"]).unwrap();
    let streamed = wait_for(&|l| l == r#""SET","k2","a b""#);
    let _ = child.kill();
    let _ = child.wait();
    synced.unwrap();
    let lines = streamed.unwrap();
    let from_sync: Vec<&str> = lines
        .iter()
        .map(String::as_str)
        .skip_while(|l| !l.starts_with("SYNC done"))
        .filter(|l| *l != r#""ping""#)
        .collect();
    assert_eq!(
        from_sync.get(1..4),
        Some(&[r#""SELECT","0""#, r#""SET","k1","v1""#, r#""SET","k2","a b""#][..]),
        "{lines:?}"
    );
    assert_eq!(
        lines.get(..3).map(|l| l.to_vec()),
        Some(vec![
            "sending REPLCONF capa eof".to_string(),
            "sending REPLCONF rdb-filter-only ".to_string(),
            "SYNC with master, discarding bytes of bulk transfer until EOF marker...".to_string()
        ])
    );
}
