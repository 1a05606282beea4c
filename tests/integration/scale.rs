//! Hundreds of nodes: rcli's fan-out and `--cluster check` against a scripted fake
//! cluster of 300 nodes (150 primaries with one replica each, one process:
//! `fake_cluster.rs`) answer right, and the rcli process's peak thread count and open
//! descriptors (sampled from /proc every millisecond while it runs) stay within the
//! bounds documented in docs/performance.md ("Threads and descriptors at scale").
//! Today's code opens one connection per node and keeps it to the end, so the
//! descriptor bounds grow with the node count; the thread bounds do not (the manager
//! loads on at most 16 threads). A parallel `rebalance` on a small real cluster holds
//! about one connection per node, not one per node and mover.

use std::fs::File;
use std::process::Stdio;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use crate::fake_cluster::FakeCluster;
use crate::util::{Home, rcli, rcli_bin};

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
    let home = Home::new();
    let (out_path, err_path) = (home.path.join("stdout"), home.path.join("stderr"));
    let mut cmd = rcli(&home);
    cmd.args(args)
        .stdin(Stdio::null())
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
/// cache and history files, a connection's short-lived helpers.
const OWN_FDS: usize = 16;
/// Threads rcli may run at once whatever the node count: the main thread, a connect
/// helper (every connect is waited for on its own thread so Ctrl-C can cut it short).
const FANOUT_THREADS: usize = 4;
/// Threads the manager may run at once: up to 16 working on nodes (`manager/parallel.rs`,
/// the main thread one of them), each with its connect helper, and one more.
const MANAGER_THREADS: usize = 2 * 16 + 1;

#[test]
fn fan_out_over_300_nodes_answers_with_bounded_threads() {
    let (cluster, _turn) = three_hundred();
    let seed = cluster.seed().to_string();
    let all: u64 = cluster.nodes().iter().map(|n| n.keys).sum();
    let primaries: u64 = cluster.nodes().iter().enumerate().filter(|(i, n)| n.primary == *i).map(|(_, n)| n.keys).sum();
    for (target, expected, nodes) in [("all", all, 300), ("primaries", primaries, 150)] {
        let run = sampled(&["-c", "-p", &seed, "--target", target, "dbsize"]);
        eprintln!("--target {target} dbsize over {nodes} nodes: peak {} threads, {} descriptors", run.threads, run.fds);
        assert_eq!((run.code, run.stderr.as_str()), (Some(0), ""), "{}", run.stdout);
        assert_eq!(run.stdout.trim(), expected.to_string(), "every node's DBSIZE summed");
        assert!(run.threads <= FANOUT_THREADS, "--target {target}: {} threads at once", run.threads);
        // Today: one connection per node, all open at once (docs/performance.md).
        assert!(run.fds <= nodes + OWN_FDS, "--target {target}: {} descriptors for {nodes} nodes", run.fds);
    }
}

#[test]
fn cluster_check_of_300_nodes_passes_with_bounded_threads() {
    let (cluster, _turn) = three_hundred();
    let run = sampled(&["--cluster", "check", &format!("127.0.0.1:{}", cluster.seed())]);
    eprintln!(
        "--cluster check of 300 nodes: peak {} threads, {} descriptors, {:.3} s",
        run.threads,
        run.fds,
        run.elapsed.as_secs_f64()
    );
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("[OK] All nodes agree about slots configuration."), "{}", run.stdout);
    assert!(run.stdout.contains("[OK] All 16384 slots covered."), "{}", run.stdout);
    let keys: u64 = cluster.nodes().iter().enumerate().filter(|(i, n)| n.primary == *i).map(|(_, n)| n.keys).sum();
    assert!(run.stdout.contains(&format!("[OK] {keys} keys in 150 masters.")), "{}", run.stdout);
    assert!(run.threads <= MANAGER_THREADS, "{} threads at once", run.threads);
    // The manager keeps a connection to every node it loaded.
    assert!(run.fds <= 300 + OWN_FDS, "{} descriptors for 300 nodes", run.fds);
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
    eprintln!("rebalance over 9 nodes, {movers} movers: peak {} threads, {} descriptors", run.threads, run.fds);
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("Moving"), "slots moved: {}", run.stdout);
    let keys: usize = (0..9).map(|i| side.cmd(i, &["DBSIZE"]).trim().parse::<usize>().unwrap_or(0)).sum();
    assert_eq!(keys, 4000, "no key lost");
    assert!(run.fds <= 9 + 2 * movers + OWN_FDS, "{} descriptors for 9 nodes and {movers} movers", run.fds);
}
