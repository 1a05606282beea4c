//! Test harness: starting real servers (via `rcli::modes::sandbox`), running the rcli binary
//! with a hermetic environment and a deadline, and comparing outputs readably.

pub mod dialogue;
pub mod keys;

pub use dialogue::{Dialogue, settle, shell};

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub use rcli::modes::sandbox::{LocalCluster, Standalone};

/// True when redis-server (and redis-cli) can be used. Without them a test is skipped
/// locally, but under CI (`CI` set) it fails: the suite must never go green by skipping.
pub fn have_redis() -> bool {
    let ok = rcli::modes::sandbox::redis_server_available();
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!(
                "redis-server is not installed but CI is set: install it (apt-get install redis-server redis-tools)"
            );
        }
        eprintln!("skipping: redis-server not found");
    }
    ok
}

/// The CLI that side-by-side tests compare rcli with: the `redis-cli` on PATH.
/// scripts/test runs the integration tests three times: against Redis 7.0 with
/// redis-cli 7.0, against Valkey 8.1 with valkey-cli 8.1 under the redis-cli name, and
/// against Valkey 9.1 with valkey-cli 8.1 again (docs/testing.md). Where valkey-cli differs from redis-cli 7.0 and rcli follows
/// redis-cli, the test that meets it says so (docs/compatibility.md, "valkey-cli").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Yardstick {
    RedisCli,
    ValkeyCli,
}

/// Which CLI `redis-cli` is, from its own `--version` line.
pub fn yardstick() -> Yardstick {
    static FOUND: OnceLock<Yardstick> = OnceLock::new();
    *FOUND.get_or_init(|| {
        let version = Command::new("redis-cli").arg("--version").output().map(|o| o.stdout).unwrap_or_default();
        if version.starts_with(b"valkey-cli") { Yardstick::ValkeyCli } else { Yardstick::RedisCli }
    })
}

/// Words valkey-cli 8 renamed, each with the name redis-cli 7.0 (and rcli) use.
const RENAMED: [(&str, &str); 12] = [
    ("masters", "primaries"),
    ("master", "primary"),
    ("Masters", "Primaries"),
    ("Master", "Primary"),
    ("MASTER", "PRIMARY"),
    ("slaves", "replicas"),
    ("slave", "replica"),
    ("Slaves", "Replicas"),
    ("Slave", "Replica"),
    ("SLAVE", "REPLICA"),
    ("Redis", "Valkey"),
    ("redis", "valkey"),
];

/// `text` in valkey-cli's words when valkey-cli is the yardstick (unchanged otherwise):
/// valkey-cli 8 says primary/replica for master/slave, Valkey for Redis (`valkey-cli`,
/// `Could not connect to Valkey at`, `valkey-node-….rdb`) and `N node(s)` for `N nodes`
/// where redis-cli 7.0 and rcli keep the old words. Applied to both outputs of a
/// comparison, it compares everything but those words; whole words only.
pub fn vocabulary(text: &str) -> String {
    match yardstick() {
        Yardstick::RedisCli => text.to_string(),
        Yardstick::ValkeyCli => valkey_words(text),
    }
}

/// `text` with redis-cli 7.0's words replaced by valkey-cli 8's (see [`vocabulary`]).
pub fn valkey_words(text: &str) -> String {
    let text = text.replace("node(s)", "nodes");
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let renamed = RENAMED.iter().find(|(old, _)| old == word).map_or(word.as_str(), |(_, new)| new);
        out.push_str(renamed);
        word.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphabetic() {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

pub fn standalone() -> Standalone {
    Standalone::start(&[]).unwrap_or_else(|e| panic!("could not start redis-server: {e}"))
}

/// What the harness's clusters are started with, from what the server on PATH takes
/// (asked of the server, never read from its version): numbered databases
/// (`cluster-databases 16`, Valkey 9+) and availability zones (`availability-zone`,
/// taken by Valkey 8+, announced by Valkey 9). So every cluster test on the Valkey 9.1
/// pass runs on a cluster with 16 databases whose nodes announce zones
/// (docs/testing.md).
pub fn cluster_options() -> rcli::modes::sandbox::ClusterOptions {
    static FOUND: OnceLock<(Option<u32>, bool)> = OnceLock::new();
    let (databases, zones) = *FOUND.get_or_init(|| {
        let accepts = |option: &str, value: &str| rcli::modes::sandbox::server_accepts(&[(option, value)]).is_ok();
        (accepts("cluster-databases", "16").then_some(16), accepts("availability-zone", "az-1"))
    });
    rcli::modes::sandbox::ClusterOptions { databases, zones, ..Default::default() }
}

pub fn cluster(primaries: usize, replicas: usize) -> LocalCluster {
    LocalCluster::start_opts(primaries, replicas, cluster_options())
        .unwrap_or_else(|e| panic!("could not start a cluster: {e}"))
}

/// The slot map as node `index` of `cluster` sees it.
pub fn topology(cluster: &LocalCluster, index: usize) -> rcli::cluster::topology::Topology {
    let endpoint = cluster.endpoint(index);
    let reply = rcli::modes::sandbox::call(&endpoint, &["CLUSTER", "SHARDS"]).unwrap();
    rcli::cluster::topology::Topology::from_shards(&reply, &endpoint).unwrap()
}

/// The primary owning `key`, and its index in `cluster.nodes`.
pub fn owner_of(cluster: &LocalCluster, key: &str) -> (rcli::endpoint::Endpoint, usize) {
    let owner = topology(cluster, 0).owner(rcli::cluster::slot::slot_of(key.as_bytes())).unwrap().clone();
    let index = (0..cluster.nodes.len()).find(|&i| cluster.endpoint(i) == owner).unwrap();
    (owner, index)
}

/// The text of a string-like reply (empty for anything else).
pub fn text(frame: &rcli::protocol::resp::Frame) -> String {
    frame.as_bytes().map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default()
}

/// Sends a write to `endpoint` until it answers OK (at most 20 s): a cluster just formed
/// may still answer CLUSTERDOWN or TRYAGAIN for a moment. Panics with the last reply, so
/// a test never goes on believing a write happened that did not.
pub fn write_ok(endpoint: &rcli::endpoint::Endpoint, argv: &[&str]) {
    let mut last = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        match rcli::modes::sandbox::call(endpoint, argv) {
            Ok(rcli::protocol::resp::Frame::Simple(ok)) if *ok == b"OK"[..] => return,
            reply => last = format!("{reply:?}"),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{argv:?} on {endpoint}: {last}");
}

/// Waits (at most 20 s) until a replica of `primary` has every write the primary had
/// when this was called: a replica's offset in the primary's INFO reaches the primary's
/// own. (WAIT would not do: it waits for the writes of its own connection, and a new
/// connection has none, so it answers at once.)
pub fn replicated(primary: &rcli::endpoint::Endpoint) {
    let info = || {
        text(
            &rcli::modes::sandbox::call(primary, &["INFO", "replication"]).unwrap_or(rcli::protocol::resp::Frame::Null),
        )
    };
    let field = |line: &str, name: &str| -> Option<u64> {
        line.split([',', ':']).find_map(|part| part.strip_prefix(name)?.strip_prefix('=').and_then(|v| v.parse().ok()))
    };
    let target: u64 = rcli::manager::link::info_field(&info(), "master_repl_offset")
        .and_then(|v| v.parse().ok())
        .expect("the primary's replication offset");
    wait_for("a replica to have the primary's writes", Duration::from_secs(20), || {
        info()
            .lines()
            .filter(|l| l.starts_with("slave"))
            .any(|l| field(l.trim_end(), "offset").is_some_and(|o| o >= target))
    });
}

/// Waits for `child` to exit, at most `limit`; after that it is killed and reaped, and
/// `None` says it did not end by itself.
pub fn exited_within(child: &mut std::process::Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait for a child") {
            return Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Polls `done` every 100 ms; panics naming `what` after `limit`.
pub fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Sends a signal to a running server (`STOP` freezes it, `CONT` thaws it).
pub fn signal(server: &rcli::modes::sandbox::Server, name: &str) {
    let pid = server.pid().expect("the server runs").to_string();
    let status = Command::new("kill").args([&format!("-{name}"), &pid]).status().expect("run kill");
    assert!(status.success(), "kill -{name} {pid}");
}

/// A temp directory for one test's HOME and XDG dirs, removed on drop.
pub struct Home {
    pub path: PathBuf,
}

impl Home {
    pub fn new() -> Home {
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "rcli-test-home-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&path).unwrap();
        Home { path }
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Applies a hermetic environment: HOME and XDG dirs inside `home`, no colour, no
/// inherited auth or history settings.
pub fn hermetic(cmd: &mut Command, home: &Path) {
    cmd.env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("NO_COLOR", "1")
        .env_remove("REDISCLI_AUTH")
        .env_remove("VALKEYCLI_AUTH")
        .env_remove("VALKEYCLI_HOST")
        .env_remove("VALKEYCLI_PORT")
        .env_remove("REDISCLI_HISTFILE")
        .env_remove("RCLI_RCFILE")
        .env_remove("FAKETTY");
}

/// The rcli binary under test: this build's, or `RCLI_TEST_BIN` (to check that a new
/// test fails against an older build).
pub fn rcli_bin() -> PathBuf {
    std::env::var_os("RCLI_TEST_BIN").map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_rcli")), PathBuf::from)
}

/// The rcli binary with a hermetic environment.
pub fn rcli(home: &Home) -> Command {
    let mut cmd = Command::new(rcli_bin());
    hermetic(&mut cmd, &home.path);
    cmd
}

/// What a finished process printed.
#[derive(Debug)]
pub struct Output {
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
    /// The highest peak RSS (`VmHWM`, in KB) read from /proc while the process ran,
    /// polled every 10 ms: at most the real peak, so a test asserting an upper bound
    /// on it can only err on the lenient side.
    pub peak_rss_kb: u64,
}

/// The process's peak RSS so far, in KB, from /proc (0 when it cannot be read).
fn peak_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

impl Output {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

/// A child process being fed stdin by a writer thread.
pub struct Running {
    child: std::process::Child,
    name: String,
    writer: std::thread::JoinHandle<()>,
    out_reader: std::thread::JoinHandle<Vec<u8>>,
    err_reader: std::thread::JoinHandle<Vec<u8>>,
}

/// Starts `cmd` and feeds it `chunks` of stdin, pausing `pause` between chunks (to keep
/// a run going while a test changes the cluster underneath it).
pub fn spawn_fed(mut cmd: Command, chunks: Vec<Vec<u8>>, pause: Duration) -> Running {
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let name = format!("{cmd:?}");
    let mut child = cmd.spawn().expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        for (i, chunk) in chunks.iter().enumerate() {
            if i > 0 && !pause.is_zero() {
                std::thread::sleep(pause);
            }
            if stdin.write_all(chunk).is_err() {
                return;
            }
        }
    });
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    Running { child, name, writer, out_reader, err_reader }
}

impl Running {
    /// Waits for the process; kills it and panics after `limit`.
    pub fn finish(mut self, limit: Duration) -> Output {
        let deadline = Instant::now() + limit;
        let mut peak = 0;
        let status = loop {
            peak = peak.max(peak_rss_kb(self.child.id()));
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("{} did not finish within {limit:?}", self.name);
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let _ = self.writer.join();
        Output {
            code: status.code(),
            stdout: self.out_reader.join().unwrap_or_default(),
            stderr: String::from_utf8_lossy(&self.err_reader.join().unwrap_or_default()).into_owned(),
            peak_rss_kb: peak,
        }
    }
}

/// Runs `cmd` with `input` on stdin; kills it and panics after `limit`.
pub fn run_with(cmd: Command, input: &[u8], limit: Duration) -> Output {
    spawn_fed(cmd, vec![input.to_vec()], Duration::ZERO).finish(limit)
}

/// Runs rcli with `args` and `input`, bounded to 60 s.
pub fn rcli_run(home: &Home, args: &[&str], input: &str) -> Output {
    let mut cmd = rcli(home);
    cmd.args(args);
    run_with(cmd, input.as_bytes(), Duration::from_secs(60))
}

/// Runs redis-cli (the yardstick: redis-cli 7.0 or valkey-cli, see [`Yardstick`]) with
/// `args` and `input`.
pub fn redis_cli_run(args: &[&str], input: &[u8]) -> Output {
    let mut cmd = Command::new("redis-cli");
    cmd.args(args).env_remove("REDISCLI_AUTH").env("REDISCLI_HISTFILE", "/dev/null");
    run_with(cmd, input, Duration::from_secs(120))
}

#[test]
fn valkey_words_rename_whole_words_only() {
    assert_eq!(
        valkey_words("Adding replica to master; 1 slaves | 3 masters on 6 node(s) (redis-cli, Redis, masterauth)"),
        "Adding replica to primary; 1 replicas | 3 primaries on 6 nodes (valkey-cli, Valkey, masterauth)"
    );
    assert_eq!(valkey_words("[OK] 10 keys in 3 primaries."), "[OK] 10 keys in 3 primaries.");
}

/// Asserts two outputs are equal, showing both in full when they are not.
#[macro_export]
macro_rules! eqnice {
    ($expected:expr, $got:expr) => {{
        let expected: String = $expected.to_string();
        let got: String = $got.to_string();
        if expected != got {
            let first = expected.lines().zip(got.lines()).position(|(a, b)| a != b);
            panic!(
                "outputs differ (first differing line: {:?})\nexpected:\n~~~\n{}~~~\ngot:\n~~~\n{}~~~",
                first.map(|i| i + 1),
                expected,
                got
            );
        }
    }};
}
