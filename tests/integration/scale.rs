//! Hundreds of nodes: rcli's fan-out, `--cluster check` and `rcli top` against a
//! scripted fake cluster of 300 nodes (150 primaries with one replica each, one
//! process: `fake_cluster.rs`) answer right, and the rcli process's peak thread count
//! and open descriptors (sampled from /proc every millisecond while it runs) stay
//! within the bounds documented in docs/performance.md ("Threads and descriptors at
//! scale"): the fan-out and the key scans keep at most `--parallel` (default 16)
//! connections and workers, whatever the node count (client/workers.rs). The manager's
//! loading and `rcli top`'s rounds run `--parallel` nodes at once and keep a
//! connection per node. The open-file limit: raised to the hard one at start, and one
//! clear line when a connect still meets it. A parallel `rebalance` on a small real
//! cluster holds about one connection per node, not one per node and mover.

use std::fs::File;
use std::process::Stdio;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use crate::fake_cluster::FakeCluster;
use crate::util::{Home, hermetic, rcli, rcli_bin};

/// What one sampled run of rcli left.
struct Sampled {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    /// The most threads /proc/PID/status showed at once.
    threads: usize,
    /// The most entries /proc/PID/fd showed at once (stdin, stdout and stderr included).
    fds: usize,
    /// How long it ran (printed for docs/performance.md, never asserted).
    elapsed: Duration,
}

impl Sampled {
    /// Prints the run's peaks and time (for docs/performance.md; never asserted).
    fn say(&self, what: &str) {
        eprintln!(
            "{what}: peak {} threads, {} descriptors, {:.3} s",
            self.threads,
            self.fds,
            self.elapsed.as_secs_f64()
        );
    }
}

fn count_threads(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("Threads:")).and_then(|n| n.trim().parse().ok()).unwrap_or(0)
}

fn count_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map(|dir| dir.count()).unwrap_or(0)
}

/// Runs rcli with `args` (output to files, so a long report never blocks it), sampling
/// its threads and descriptors until it exits; killed and failed after 120 s.
fn sampled(args: &[&str]) -> Sampled {
    sampled_fed(args, None)
}

/// [`sampled`], with `input` (if any) on stdin.
fn sampled_fed(args: &[&str], input: Option<&str>) -> Sampled {
    let home = Home::new();
    let (out_path, err_path) = (home.path.join("stdout"), home.path.join("stderr"));
    let stdin = match input {
        Some(text) => {
            let in_path = home.path.join("stdin");
            std::fs::write(&in_path, text).expect("stdin file");
            Stdio::from(File::open(&in_path).expect("stdin file"))
        }
        None => Stdio::null(),
    };
    let mut cmd = rcli(&home);
    cmd.args(args)
        .stdin(stdin)
        .stdout(File::create(&out_path).expect("stdout file"))
        .stderr(File::create(&err_path).expect("stderr file"));
    let started = Instant::now();
    let mut child = cmd.spawn().expect("spawn rcli");
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(120);
    // Until it has exec'd, the child holds a copy of this process's descriptors (the
    // fake's hundreds of sockets): only the exec'd program is sampled.
    let program: String = rcli_bin().file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let comm: String = program.chars().take(15).collect();
    let (mut threads, mut fds) = (0, 0);
    let status = loop {
        let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if name.trim_end() == comm {
            threads = threads.max(count_threads(pid));
            fds = fds.max(count_fds(pid));
        }
        if let Some(status) = child.try_wait().expect("wait for rcli") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("rcli {args:?} did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    Sampled {
        code: status.code(),
        stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
        threads,
        fds,
        elapsed: started.elapsed(),
    }
}

/// 150 primaries with one replica each, shared by the tests here, which take turns
/// (the guard): 300 listening sockets and up to 300 connections in this process, well
/// under a default 1,024-descriptor limit, whatever else runs beside them.
fn three_hundred() -> (&'static FakeCluster, MutexGuard<'static, ()>) {
    static CLUSTER: OnceLock<FakeCluster> = OnceLock::new();
    static TURN: Mutex<()> = Mutex::new(());
    let turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    (CLUSTER.get_or_init(|| FakeCluster::start(150, 1)), turn)
}

/// Descriptors rcli holds besides its node connections: stdio, its command-table
/// cache and history files, the session's own connections (the seed), a connection's
/// short-lived helpers.
const OWN_FDS: usize = 16;
/// Threads rcli may run at once whatever the node count: the main thread, a connect
/// helper (every connect is waited for on its own thread so Ctrl-C can cut it short).
const FANOUT_THREADS: usize = 4;
/// Threads the manager may run at once with `--parallel width`: up to `width` working
/// on nodes (`manager/parallel.rs`, the main thread one of them), each with its connect
/// helper, the Ctrl-C handler's thread, and a connect helper still ending.
fn manager_threads(width: usize) -> usize {
    2 * width + 2
}
/// `--parallel`'s default (client/workers.rs).
const WIDTH: usize = 16;

/// Threads at most with `width` workers: each worker and its connect helper (a
/// helper that has handed over its connection may still be ending while the worker's
/// next connect starts one more), and the main thread.
fn worker_threads(width: usize) -> usize {
    3 * width + FANOUT_THREADS
}

/// The sums DBSIZE gives over every node and over the primaries.
fn key_sums(cluster: &FakeCluster) -> (u64, u64) {
    let all: u64 = cluster.nodes().iter().map(|n| n.keys).sum();
    let primaries: u64 = cluster.nodes().iter().enumerate().filter(|(i, n)| n.primary == *i).map(|(_, n)| n.keys).sum();
    (all, primaries)
}

#[test]
fn fan_out_over_300_nodes_keeps_within_the_width() {
    let (cluster, _turn) = three_hundred();
    let seed = cluster.seed().to_string();
    let (all, primaries) = key_sums(cluster);
    for (target, expected, nodes) in [("all", all, 300), ("primaries", primaries, 150)] {
        let run = sampled(&["-c", "-p", &seed, "--target", target, "dbsize"]);
        run.say(&format!("--target {target} dbsize over {nodes} nodes"));
        assert_eq!((run.code, run.stderr.as_str()), (Some(0), ""), "{}", run.stdout);
        assert_eq!(run.stdout.trim(), expected.to_string(), "every node's DBSIZE summed");
        assert!(run.threads <= FANOUT_THREADS, "--target {target}: {} threads at once", run.threads);
        // At most --parallel requests in flight, and no more connections kept.
        assert!(run.fds <= WIDTH + OWN_FDS, "--target {target}: {} descriptors for {nodes} nodes", run.fds);
    }
    let run = sampled(&["-c", "-p", &seed, "--target", "all", "--parallel", "2", "dbsize"]);
    run.say("--parallel 2 --target all dbsize");
    assert_eq!((run.code, run.stdout.trim()), (Some(0), all.to_string().as_str()), "{}", run.stderr);
    assert!(run.fds <= 2 + OWN_FDS, "--parallel 2: {} descriptors", run.fds);
}

#[test]
fn key_scans_over_150_primaries_run_width_nodes_at_once() {
    let (cluster, _turn) = three_hundred();
    let seed = cluster.seed().to_string();
    for (args, width) in
        [(vec!["--bigkeys"], WIDTH), (vec!["--keystats"], WIDTH), (vec!["--memkeys", "--parallel", "3"], 3)]
    {
        let mut all = vec!["-c", "-p", seed.as_str()];
        all.extend(&args);
        let run = sampled(&all);
        run.say(&format!("{args:?} over 150 primaries"));
        assert_eq!(run.code, Some(0), "{args:?}: {}\n{}", run.stdout, run.stderr);
        // Every node's figures are the same (no keys): one section for all of them.
        assert!(run.stdout.contains("\n-------- 150 nodes with the same figures: 127.0.0.1:"), "{}", run.stdout);
        assert!(!run.stdout.contains("-------- node "), "{args:?}: {}", run.stdout);
        assert!(run.stdout.contains("-------- summary"), "{args:?}: {}", run.stdout);
        assert!(run.threads <= worker_threads(width), "{args:?}: {} threads at once", run.threads);
        assert!(run.fds <= width + OWN_FDS, "{args:?}: {} descriptors", run.fds);
    }
}

#[test]
fn scan_of_150_primaries_holds_one_walk_connection_at_a_time() {
    let (cluster, _turn) = three_hundred();
    let seed = cluster.seed().to_string();
    let run = sampled(&["-c", "-p", &seed, "--scan"]);
    run.say("--scan -c over 150 primaries");
    assert_eq!((run.code, run.stdout.as_str(), run.stderr.as_str()), (Some(0), "", ""), "no key anywhere");
    assert!(run.threads <= FANOUT_THREADS, "{} threads at once", run.threads);
    // The seed's connection, and the node being walked.
    assert!(run.fds <= 2 + OWN_FDS, "{} descriptors", run.fds);
}

#[test]
fn latency_over_150_primaries_runs_width_workers() {
    let (cluster, _turn) = three_hundred();
    let seed = cluster.seed().to_string();
    let run = sampled(&["-c", "-p", &seed, "--latency", "-i", "1", "--raw"]);
    run.say("--latency -c over 150 primaries");
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.stdout.lines().count(), 150, "a line per node: {}", run.stdout);
    assert!(run.threads <= worker_threads(WIDTH), "{} threads at once", run.threads);
    // More nodes than workers: no connection is kept between PINGs.
    assert!(run.fds <= WIDTH + OWN_FDS, "{} descriptors", run.fds);
}

/// rcli with `args` under an open-file limit of `soft` (hard `hard`), as `prlimit` sets it.
fn limited(soft: usize, hard: usize, args: &[&str]) -> (Option<i32>, String, String) {
    let home = Home::new();
    let mut cmd = std::process::Command::new("prlimit");
    hermetic(&mut cmd, &home.path);
    cmd.arg(format!("--nofile={soft}:{hard}")).arg(rcli_bin()).args(args).stdin(Stdio::null());
    let out = cmd.output().expect("prlimit runs rcli");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_soft_open_file_limit_is_raised_and_a_hard_one_met_is_named() {
    let (cluster, _turn) = three_hundred();
    let seed = cluster.seed().to_string();
    let (all, _) = key_sums(cluster);
    // A soft limit of 40 with a hard one of 4096: raised at start, so 64 connections at once fit.
    let args = ["-c", "-p", seed.as_str(), "--target", "all", "--parallel", "64", "dbsize"];
    let (code, stdout, stderr) = limited(40, 4096, &args);
    assert_eq!((code, stdout.trim(), stderr.as_str()), (Some(0), all.to_string().as_str(), ""));
    // A hard limit of 40: the connects past it fail, each saying why and what to do.
    let (code, stdout, stderr) = limited(40, 40, &args);
    let text = format!("{stdout}{stderr}");
    assert!(text.contains("too many open files: raise ulimit -n or lower --parallel"), "exit {code:?}: {text}");
    assert!(!text.contains("(os error"), "{text}");
    // Within the limit, --parallel keeps the same job whole.
    let (code, stdout, _) =
        limited(40, 40, &["-c", "-p", seed.as_str(), "--target", "all", "--parallel", "8", "dbsize"]);
    assert_eq!((code, stdout.trim()), (Some(0), all.to_string().as_str()));
}

#[test]
fn cluster_check_of_300_nodes_works_on_parallel_nodes_at_once() {
    let (cluster, _turn) = three_hundred();
    let seed = format!("127.0.0.1:{}", cluster.seed());
    let (_, keys) = key_sums(cluster);
    for (extra, width) in [(vec![], WIDTH), (vec!["--parallel", "4"], 4), (vec!["--parallel", "1"], 1)] {
        let mut args = vec!["--cluster", "check", seed.as_str()];
        args.extend(&extra);
        let run = sampled(&args);
        run.say(&format!("--cluster check of 300 nodes {extra:?}"));
        assert_eq!(run.code, Some(0), "{extra:?}: {}\n{}", run.stdout, run.stderr);
        assert!(run.stdout.contains("[OK] All nodes agree about slots configuration."), "{}", run.stdout);
        assert!(run.stdout.contains("[OK] All 16384 slots covered."), "{}", run.stdout);
        assert!(run.stdout.contains(&format!("[OK] {keys} keys in 150 masters.")), "{}", run.stdout);
        assert!(run.threads <= manager_threads(width), "{extra:?}: {} threads at once", run.threads);
        // The manager keeps a connection to every node it loaded.
        assert!(run.fds <= 300 + OWN_FDS, "{extra:?}: {} descriptors for 300 nodes", run.fds);
    }
}

/// `rcli top --once` over 300 nodes: every node answers, polled `--parallel` at once
/// (each poll with its connect helper, and one still ending), beside the main thread,
/// the rounds' thread and the Ctrl-C handler's.
#[test]
fn top_over_300_nodes_polls_parallel_nodes_at_once() {
    let (cluster, _turn) = three_hundred();
    let seed = cluster.seed().to_string();
    for (extra, width) in [(vec![], WIDTH), (vec!["--parallel", "4"], 4)] {
        let mut args = vec!["top", "--once", "--json", "-c", "-p", seed.as_str()];
        args.extend(&extra);
        let run = sampled(&args);
        run.say(&format!("top --once over 300 nodes {extra:?}"));
        assert_eq!((run.code, run.stderr.as_str()), (Some(0), ""), "{extra:?}: {}", run.stdout);
        let frame: serde_json::Value = serde_json::from_str(run.stdout.trim()).expect("one JSON frame");
        assert_eq!(frame["totals"]["nodes"], 300, "{extra:?}");
        assert_eq!(frame["totals"]["answering"], 300, "{extra:?}: every node answered");
        assert_eq!(frame["shards"].as_array().map(Vec::len), Some(150));
        assert!(run.threads <= 2 * width + 4, "{extra:?}: {} threads at once", run.threads);
        // A connection per node is kept between rounds.
        assert!(run.fds <= 300 + OWN_FDS, "{extra:?}: {} descriptors for 300 nodes", run.fds);
    }
}

/// Piped commands (`rcli -c < file`) go out on the main thread, one connection per
/// node written to (the pipeline's throughput needs every node's link at once;
/// redis-cli -c holds one and reconnects on each redirect): 3,000 SETs spread over the 150 primaries hold at
/// most a connection per primary, on the main thread and the reader's.
#[test]
fn piping_to_150_primaries_holds_a_connection_per_primary_on_two_threads() {
    let (cluster, _turn) = three_hundred();
    let seed = cluster.seed().to_string();
    let input: String = (0..3000).map(|i| format!("SET key:{i} v\n")).collect();
    let run = sampled_fed(&["-c", "-p", &seed], Some(&input));
    run.say("3,000 piped SETs over 150 primaries");
    assert_eq!((run.code, run.stderr.as_str()), (Some(0), ""), "{}", run.stdout);
    assert_eq!(run.stdout.lines().filter(|l| *l == "OK").count(), 3000, "{}", run.stdout);
    // The main thread, the input's reader, a connect helper (and one ending), Ctrl-C's.
    assert!(run.threads <= 5, "{} threads at once", run.threads);
    assert!(run.fds <= 150 + OWN_FDS, "{} descriptors for 150 primaries", run.fds);
}

/// Parallel slot movers hold connections of their own only to their pair's nodes; the
/// rest go through one shared pool: about nodes + 2 × movers descriptors, not
/// (movers + 1) × nodes (docs/performance.md, "Threads and descriptors at scale").
#[test]
fn a_parallel_rebalance_holds_about_one_connection_per_node() {
    use crate::manager::{Side, Tool, serial};
    if !crate::util::have_redis() {
        return;
    }
    let _one = serial();
    let side = Side::start(9, Tool::Rcli, &[]);
    let home = Home::new();
    let create: Vec<String> = ["--cluster", "create"]
        .iter()
        .map(|a| a.to_string())
        .chain((0..8).map(|i| side.addr(i)))
        .chain(["--cluster-yes".to_string()])
        .collect();
    let create: Vec<&str> = create.iter().map(String::as_str).collect();
    let out = crate::util::rcli_run(&home, &create, "");
    assert_eq!(out.code, Some(0), "{}{}", out.text(), out.stderr);
    side.load(&home, 4000);
    let add = crate::util::rcli_run(&home, &["--cluster", "add-node", &side.addr(8), &side.addr(0)], "");
    assert_eq!(add.code, Some(0), "{}{}", add.text(), add.stderr);
    let movers = 4;
    let run = sampled(&[
        "--cluster",
        "rebalance",
        &side.addr(0),
        "--cluster-use-empty-masters",
        "--cluster-parallel",
        &movers.to_string(),
        "--cluster-yes",
    ]);
    run.say(&format!("rebalance over 9 nodes, {movers} movers"));
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("Moving"), "slots moved: {}", run.stdout);
    let keys: usize = (0..9).map(|i| side.cmd(i, &["DBSIZE"]).trim().parse::<usize>().unwrap_or(0)).sum();
    assert_eq!(keys, 4000, "no key lost");
    assert!(run.fds <= 9 + 2 * movers + OWN_FDS, "{} descriptors for 9 nodes and {movers} movers", run.fds);
}

/// `:nodes` and `:map` of 300 nodes in the shell: a summary that fits a screen, and the
/// rows a word picks (an address: that node alone; a state; nothing).
#[test]
fn nodes_and_map_of_300_nodes_fit_a_screen_and_a_word_picks_rows() {
    let (cluster, _turn) = three_hundred();
    let seed = cluster.seed().to_string();
    let home = Home::new();
    let prompt = format!("127.0.0.1:{seed}> ");
    let mut p = crate::util::shell(&home, &["-c", "-p", &seed]);
    p.exp_string(&prompt).expect("the prompt");
    // What `line` prints: up to `marker` (the echo included), and from it to the prompt.
    let mut ask = |line: &str, marker: &str| -> String {
        p.send_line(line).expect("send");
        let before = p.exp_string(marker).unwrap_or_else(|e| panic!("{line}: {e}"));
        let after = p.exp_string(&prompt).unwrap_or_else(|e| panic!("{line}: {e}"));
        format!("{before}{marker}{after}")
    };
    let summary = ask(":nodes", "details (keys, links)");
    assert!(
        summary.contains("300 nodes in 150 shards: 150 primaries, 150 replicas; 16384 of 16384 slots served"),
        "{summary}"
    );
    assert!(summary.contains("shards: 150 shards with 1 replica"), "{summary}");
    assert!(summary.lines().count() < 12, "a screen at most: {summary}");
    let replica = &cluster.nodes()[3];
    let address = format!("127.0.0.1:{}", replica.port);
    let rows = ask(&format!(":nodes {address}"), "link\r\n");
    let row = rows.lines().find(|l| l.contains(&address) && l.contains("replica")).unwrap_or_else(|| panic!("{rows}"));
    assert!(row.split_whitespace().any(|cell| cell == replica.keys.to_string()), "its DBSIZE: {row}");
    let other = format!("127.0.0.1:{}", cluster.nodes()[2].port);
    assert!(!rows.contains(&other), "only the node asked for: {rows}");
    ask(":nodes nosuchword", "no node matches 'nosuchword'");
    let map = ask(":map", "details: :map");
    assert!(map.contains("150 primaries own 16384 of 16384 slots in 150 ranges"), "{map}");
    assert!(map.lines().count() < 10, "{map}");
    let primary = format!("127.0.0.1:{}", cluster.nodes()[2].port);
    let one = ask(&format!(":map {primary}"), "slots per cell)");
    assert!(one.lines().any(|l| l.contains(&primary) && l.contains(" slots: ")), "{one}");
}
