//! `rcli consistency-test` against real clusters: a 3+3 cluster with a primary killed
//! mid-run (a bounded failure window; the lost, not-acked and acknowledged figures
//! agree with the counters' final values, read by the test itself), a shard without a
//! replica (its writes fail and are counted, the verdict says so), and another client's
//! FLUSHALL (counters that went back with no failure seen, not blamed on a failover).

use std::io::Read;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::util::*;
use rcli::cluster::slot::slot_of;

/// `rcli -c -p PORT consistency-test …` running, its stdout collected as it comes.
struct Checker {
    child: Child,
    out: Arc<Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

fn start(home: &Home, args: &[&str]) -> Checker {
    let mut cmd = rcli(home);
    cmd.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn rcli consistency-test");
    let mut stdout = child.stdout.take().expect("stdout");
    let out = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&out);
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    Checker { child, out, reader: Some(reader) }
}

impl Checker {
    fn text(&self) -> String {
        self.out.lock().unwrap().clone()
    }

    fn progress_lines(&self) -> usize {
        self.text().lines().filter(|l| l.contains(" R (") && l.contains(" not acked")).count()
    }

    /// Waits for the exit (bounded); returns the exit code and everything printed.
    fn finish(mut self, limit: Duration) -> (Option<i32>, String) {
        let Some(status) = exited_within(&mut self.child, limit) else {
            panic!("consistency-test did not end in {limit:?}: {}", self.text());
        };
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        let mut err = String::new();
        let _ = self.child.stderr.take().unwrap().read_to_string(&mut err);
        (status.code(), format!("{}{err}", self.text()))
    }
}

/// The number before `word` in `line` (`"12 lost"` → 12).
/// The checker on 300 counters for 14 s, keys kept for the test to read; `extra` are
/// rcli options before the word.
fn start_300(home: &Home, seed: &str, prefix: &str, extra: &[&str]) -> Checker {
    let checker = ["consistency-test", "--counters", "300", "--duration", "14", "--key-prefix", prefix, "--keep-keys"];
    start(home, &[&["-c", "-p", seed][..], extra, &checker].concat())
}

fn number_before(line: &str, word: &str) -> u64 {
    let at = line.find(word).unwrap_or_else(|| panic!("no '{word}' in {line:?}"));
    line[..at].split_whitespace().last().unwrap().trim_start_matches('(').parse().unwrap()
}

/// The figures the verdict gives.
#[derive(Debug)]
struct Figures {
    acked: u64,
    failed: u64,
    lost: u64,
    not_acked: u64,
    applied: u64,
    extra: u64,
    windows: Vec<f64>,
}

fn figures(out: &str) -> Figures {
    let lines: Vec<&str> = out.lines().collect();
    let verdict = lines.iter().position(|l| l.starts_with("verdict: ")).unwrap_or_else(|| panic!("no verdict: {out}"));
    let progress = lines[verdict - 1];
    let acked_line = lines[verdict + 1];
    let unknown_line = lines[verdict + 2];
    let windows = lines[verdict..]
        .iter()
        .filter(|l| l.starts_with("    ") && l.contains("'s slots unavailable for "))
        .map(|l| {
            let after = l.split("unavailable for ").nth(1).unwrap();
            after.split(" s").next().unwrap().parse::<f64>().unwrap()
        })
        .collect();
    Figures {
        acked: number_before(acked_line, "writes acknowledged"),
        failed: number_before(acked_line, "failed;"),
        lost: number_before(progress, "lost"),
        not_acked: number_before(progress, "not acked"),
        applied: number_before(unknown_line, "applied,"),
        extra: if progress.contains("extra") { number_before(progress, "extra") } else { 0 },
        windows,
    }
}

/// The value of every counter `prefix0…prefix{n-1}`, read from each key's owner as a
/// live node sees the cluster now (`None` where no live node serves the slot).
fn final_values(cluster: &LocalCluster, live: usize, prefix: &str, n: usize) -> Vec<Option<i64>> {
    let map = topology(cluster, live);
    (0..n)
        .map(|i| {
            let key = format!("{prefix}{i}");
            let owner = map.owner(slot_of(key.as_bytes()))?;
            let reply = rcli::client::pool::call(owner, &["GET", &key], Duration::from_secs(2)).ok()?;
            Some(if reply == rcli::protocol::resp::Frame::Null { 0 } else { text(&reply).parse().unwrap() })
        })
        .collect()
}

/// A primary of a 3+3 cluster killed while the checker runs: one bounded window, and
/// final values = acknowledged + applied unknown − lost + extra, counter by counter
/// summed, read by the test from the servers (`--keep-keys`).
#[test]
fn consistency_test_with_a_primary_killed_accounts_for_every_write() {
    if !have_redis() {
        return;
    }
    let mut cluster = cluster(3, 1);
    let home = Home::new();
    let prefix = "ct:kill:";
    let seed = cluster.port(0).to_string();
    let n = 300;
    // A failure budget longer than any failover here (on a loaded machine one can take
    // longer than the sandbox's 5 s): the checker waits for the replica, so no write
    // fails and the window is the failover's length.
    let checker = start_300(&home, &seed, prefix, &["--down-after", "20"]);
    wait_for("two progress lines", Duration::from_secs(20), || checker.progress_lines() >= 2);
    let victim = cluster.endpoint(1);
    cluster.nodes[1].kill();
    let killed_at = checker.progress_lines();
    let (code, out) = checker.finish(Duration::from_secs(90));
    assert_eq!(code, Some(0), "{out}");
    let f = figures(&out);
    // Progress went on after the failover.
    assert!(out.lines().filter(|l| l.contains(" R (")).count() > killed_at + 2, "{out}");
    assert!(out.contains(&format!("window closed: {victim}'s slots unavailable for")), "{out}");
    assert!(!f.windows.is_empty(), "{out}");
    let longest = f.windows.iter().copied().fold(0.0, f64::max);
    // Bounded: the failover takes about 3 s (cluster-node-timeout is 2 s here), always
    // less than the failure budget given (or writes would have failed).
    assert!(longest > 1.0 && longest < 20.0, "window {longest} s: {out}");
    assert_eq!(f.failed, 0, "a replica took over within the budget: {out}");
    assert!(f.not_acked <= 2, "one command in flight at the kill: {out}");
    let values = final_values(&cluster, 0, prefix, n);
    assert!(values.iter().all(Option::is_some), "every counter is served again");
    let sum: i64 = values.iter().flatten().sum();
    assert_eq!(sum as u64 + f.lost, f.acked + f.applied + f.extra, "{f:?}\n{out}");
    assert!(out.contains("keys kept (prefix ct:kill:)"), "{out}");
    // Writes lost here are the failover's, and the verdict says so.
    if f.lost > 0 {
        assert!(out.contains("  lost writes: Redis Cluster replicates asynchronously"), "{out}");
        assert!(!out.contains("no failure seen"), "{out}");
    }
}

/// A shard without a replica (the cluster set to keep serving the other slots):
/// after its primary dies, the writes to its slots fail and are counted, the other
/// shards' writes go on, and the verdict says that writes failed and which counters
/// could not be read back — exactly those of the dead shard.
#[test]
fn consistency_test_with_a_replica_less_shard_reports_its_failed_writes() {
    if !have_redis() {
        return;
    }
    let mut cluster = cluster(3, 0);
    for i in 0..3 {
        cluster.call(i, &["CONFIG", "SET", "cluster-require-full-coverage", "no"]).unwrap();
    }
    let home = Home::new();
    let prefix = "ct:alone:";
    let n = 300;
    let dead_ranges = topology(&cluster, 1)
        .shards
        .iter()
        .find(|s| s.primary.as_ref().is_some_and(|p| p.endpoint == cluster.endpoint(1)))
        .unwrap()
        .ranges
        .clone();
    let on_dead = (0..n)
        .filter(|i| {
            let slot = slot_of(format!("{prefix}{i}").as_bytes());
            dead_ranges.iter().any(|&(a, b)| a <= slot && slot <= b)
        })
        .count();
    let seed = cluster.port(0).to_string();
    let checker = start_300(&home, &seed, prefix, &[]);
    wait_for("two progress lines", Duration::from_secs(20), || checker.progress_lines() >= 2);
    let victim = cluster.endpoint(1);
    cluster.nodes[1].kill();
    let (code, out) = checker.finish(Duration::from_secs(90));
    assert_eq!(code, Some(0), "nothing acknowledged was lost: {out}");
    let f = figures(&out);
    assert!(f.failed > 0, "{out}");
    assert!(out.contains(&format!("window opens: {victim}'s slots failing")), "{out}");
    // The window never closed: said when the run ends, and in the verdict's list.
    assert!(out.contains(&format!("window still open at the end: {victim}'s slots unavailable for ")), "{out}");
    assert!(
        out.lines().any(|l| l.starts_with(&format!("    {victim}'s slots unavailable for "))
            && l.contains(", still open at the end (")),
        "{out}"
    );
    assert!(!out.contains(&format!("window closed: {victim}'s")), "{out}");
    let first = out.lines().find(|l| l.starts_with("verdict: ")).unwrap();
    assert!(first.starts_with("verdict: consistent"), "{out}");
    assert!(first.contains(&format!("; {} write(s) failed (not applied)", f.failed)), "{out}");
    assert!(first.contains(&format!("; {on_dead} counter(s) could not be read back at the end")), "{on_dead}: {out}");
    // The other shards' counters were checked, and add up.
    let unverified = number_before(first, "acknowledged writes on them");
    let values = final_values(&cluster, 0, prefix, n);
    assert_eq!(values.iter().filter(|v| v.is_none()).count(), on_dead);
    let sum: i64 = values.iter().flatten().sum();
    assert_eq!(sum as u64 + f.lost, f.acked - unverified + f.applied + f.extra, "{f:?}\n{out}");
    // Writes to the live shards went on after the kill: more were acknowledged than
    // the dead shard ever got.
    assert!(f.acked > unverified * 2, "{f:?}");
}

/// Another client's FLUSHALL during a run, no node failing (issue 19, defect 7): the
/// counters went back, and the verdict says so — another client, not a failover.
#[test]
fn consistency_test_after_a_flushall_blames_another_client_not_a_failover() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let home = Home::new();
    let port = server.port().to_string();
    let checker = start(&home, &["-p", &port, "consistency-test", "--counters", "50", "--duration", "6"]);
    wait_for("two progress lines", Duration::from_secs(20), || checker.progress_lines() >= 2);
    rcli::modes::sandbox::call(&server.server.endpoint(), &["FLUSHALL"]).unwrap();
    let (code, out) = checker.finish(Duration::from_secs(60));
    assert_eq!(code, Some(1), "acknowledged increments are gone: {out}");
    let first = out.lines().find(|l| l.starts_with("verdict: ")).unwrap_or_else(|| panic!("no verdict: {out}"));
    assert!(first.starts_with("verdict: NOT consistent: ") && first.contains(" with no failure seen"), "{out}");
    let went_back = out
        .lines()
        .find(|l| l.contains(" counter(s) went back with no failure seen ("))
        .unwrap_or_else(|| panic!("the verdict does not say what it saw: {out}"));
    let counters = number_before(went_back, "counter(s)");
    assert!((1..=50).contains(&counters), "{out}");
    assert!(
        went_back
            .ends_with("another client changed or removed them (a FLUSHALL, a DEL, a restart without persistence?)"),
        "{out}"
    );
    assert!(out.lines().any(|l| l.contains(" lost: ") && l.ends_with(", with no failure seen")), "{out}");
    // No node failed: a failover is blamed only if the run saw a failure window (an
    // operation that stalled on a loaded machine), and then for those losses only.
    if out.lines().any(|l| l == "  no failure window") {
        assert!(!out.contains("a primary that fails before its replica"), "{out}");
    }
}

/// Usage errors are exit 2; `--help` explains the figures.
#[test]
fn consistency_test_usage() {
    let home = Home::new();
    let out = run_with(
        {
            let mut cmd = rcli(&home);
            cmd.args(["consistency-test", "--counters", "0"]);
            cmd
        },
        b"",
        Duration::from_secs(10),
    );
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("--counters: '0' is not a number from 1 to 1000000"), "{}", out.stderr);
    let mut cmd = rcli(&home);
    cmd.args(["-p", "1", "consistency-test", "get", "x"]);
    let out = run_with(cmd, b"", Duration::from_secs(10));
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    let mut cmd = rcli(&home);
    cmd.args(["consistency-test", "--help"]);
    let out = run_with(cmd, b"", Duration::from_secs(10));
    assert_eq!(out.code, Some(0));
    assert!(out.text().contains("not acked   increments whose reply never came"), "{}", out.text());
}
