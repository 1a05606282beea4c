//! Throwaway local Redis servers: `rcli sandbox` and the test harness. Spawns
//! `redis-server` children (found on PATH) on free loopback ports in a temp directory,
//! forms a cluster itself (CLUSTER SET-CONFIG-EPOCH, ADDSLOTSRANGE, MEET, REPLICATE — no
//! redis-cli needed), waits for `cluster_state:ok` and synced replicas, and on drop
//! (normal exit, error or panic) kills every child and removes the directory.
//!
//! Ports and their cluster-bus ports (port + 10000) stay below 32768, out of the range
//! the kernel hands to outgoing connections.

use std::fs;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;

use crate::client::pool;
use crate::cluster::slot::SLOTS;
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::protocol::resp::Frame;

const FIRST_PORT: u16 = 20000;
const LAST_PORT: u16 = 22700;
const BUS_OFFSET: u16 = 10000;
static NEXT_PORT: AtomicU16 = AtomicU16::new(0);

/// A free port P (and P + 10000) below 32768; tries a bounded number of candidates.
pub fn free_port() -> Result<u16> {
    let span = LAST_PORT - FIRST_PORT;
    // Spread processes apart so parallel test binaries rarely probe the same ports.
    let _ = NEXT_PORT.compare_exchange(
        0,
        (std::process::id() % u32::from(span)) as u16 + 1,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    for _ in 0..span {
        let offset = NEXT_PORT.fetch_add(1, Ordering::SeqCst) % span;
        let port = FIRST_PORT + offset;
        let free = |p: u16| TcpListener::bind(("127.0.0.1", p)).is_ok();
        if free(port) && free(port + BUS_OFFSET) {
            return Ok(port);
        }
    }
    Err(Error::Usage(format!("no free port pair in {FIRST_PORT}-{LAST_PORT}")))
}

/// Is `redis-server` on PATH?
pub fn redis_server_available() -> bool {
    Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A directory under the system temp dir, removed with the servers.
fn temp_dir(label: &str) -> Result<PathBuf> {
    static COUNTER: AtomicU16 = AtomicU16::new(0);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "rcli-{label}-{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    ));
    fs::create_dir_all(&dir).map_err(|source| Error::File { path: dir.display().to_string(), source })?;
    Ok(dir)
}

/// One running redis-server child.
pub struct Server {
    pub port: u16,
    child: Option<Child>,
    log: PathBuf,
}

impl Server {
    pub fn endpoint(&self) -> Endpoint {
        Endpoint::tcp("127.0.0.1", self.port)
    }

    /// Kills the server at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The server's process id while it runs (tests freeze it with SIGSTOP).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// The end of the server's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}

/// Starts one redis-server in `dir`; `cluster` turns on cluster mode.
fn spawn(dir: &Path, cluster: bool, extra: &[&str]) -> Result<Server> {
    let mut last = None;
    for _ in 0..5 {
        let port = free_port()?;
        let log = dir.join(format!("{port}.log"));
        let mut cmd = Command::new("redis-server");
        cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--dir", &dir.display().to_string(), "--logfile", &log.display().to_string()])
            .args(["--enable-debug-command", "yes", "--protected-mode", "no", "--daemonize", "no"]);
        if cluster {
            cmd.args(["--cluster-enabled", "yes", "--cluster-config-file", &format!("nodes-{port}.conf")]).args([
                "--cluster-node-timeout",
                "2000",
                "--cluster-replica-validity-factor",
                "0",
            ]);
        }
        cmd.args(extra).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        // Own process group: a Ctrl-C in the shell must not reach the servers.
        cmd.process_group(0);
        let child = cmd.spawn().map_err(|source| Error::File { path: "redis-server".into(), source })?;
        let mut server = Server { port, child: Some(child), log };
        match wait_for_ping(&mut server) {
            Ok(()) => return Ok(server),
            Err(e) => {
                server.kill();
                last = Some(e);
            }
        }
    }
    Err(last.unwrap_or_else(|| Error::Usage("redis-server did not start".into())))
}

fn wait_for_ping(server: &mut Server) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(child) = &mut server.child
            && let Ok(Some(status)) = child.try_wait()
        {
            server.child = None;
            return Err(Error::Usage(format!(
                "redis-server on port {} exited ({status}): {}",
                server.port,
                server.log_tail()
            )));
        }
        if pool::call(&server.endpoint(), &["PING"], Duration::from_millis(500)).is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(Error::Usage(format!(
                "redis-server on port {} did not answer: {}",
                server.port,
                server.log_tail()
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends one command to a local server with a bounded wait.
pub fn call(endpoint: &Endpoint, argv: &[&str]) -> Result<Frame> {
    pool::call(endpoint, argv, Duration::from_secs(10))
}

fn call_text(endpoint: &Endpoint, argv: &[&str]) -> Result<String> {
    let frame = call(endpoint, argv)?;
    if let Some(err) = frame.as_error() {
        return Err(Error::Usage(format!("{endpoint}: {} failed: {}", argv.join(" "), String::from_utf8_lossy(err))));
    }
    Ok(frame.as_bytes().map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default())
}

/// A single non-cluster server.
pub struct Standalone {
    pub server: Server,
    dir: PathBuf,
}

impl Standalone {
    pub fn start(extra: &[&str]) -> Result<Standalone> {
        let dir = temp_dir("server")?;
        match spawn(&dir, false, extra) {
            Ok(server) => Ok(Standalone { server, dir }),
            Err(e) => {
                let _ = fs::remove_dir_all(&dir);
                Err(e)
            }
        }
    }

    pub fn port(&self) -> u16 {
        self.server.port
    }
}

impl Drop for Standalone {
    fn drop(&mut self) {
        self.server.kill();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A local cluster of `primaries` primaries with `replicas` replicas each.
pub struct LocalCluster {
    pub nodes: Vec<Server>,
    pub ids: Vec<String>,
    pub primaries: usize,
    pub dir: PathBuf,
}

impl LocalCluster {
    /// Starts and forms the cluster; waits (bounded) until it serves every slot.
    pub fn start(primaries: usize, replicas: usize) -> Result<LocalCluster> {
        if primaries == 0 || primaries > 64 || replicas > 8 {
            return Err(Error::Usage("a sandbox needs 1-64 primaries and 0-8 replicas each".into()));
        }
        let dir = temp_dir("cluster")?;
        let mut cluster = LocalCluster { nodes: Vec::new(), ids: Vec::new(), primaries, dir };
        for _ in 0..primaries * (1 + replicas) {
            cluster.nodes.push(spawn(&cluster.dir, true, &[])?);
        }
        cluster.form(replicas)?;
        Ok(cluster)
    }

    pub fn endpoint(&self, index: usize) -> Endpoint {
        self.nodes[index].endpoint()
    }

    pub fn port(&self, index: usize) -> u16 {
        self.nodes[index].port
    }

    fn form(&mut self, replicas: usize) -> Result<()> {
        let endpoints: Vec<Endpoint> = self.nodes.iter().map(Server::endpoint).collect();
        for (i, endpoint) in endpoints.iter().enumerate() {
            self.ids.push(call_text(endpoint, &["CLUSTER", "MYID"])?);
            call_text(endpoint, &["CLUSTER", "SET-CONFIG-EPOCH", &(i + 1).to_string()])?;
        }
        let per = SLOTS / self.primaries;
        for (i, primary) in endpoints.iter().take(self.primaries).enumerate() {
            let start = i * per;
            let end = if i + 1 == self.primaries { SLOTS - 1 } else { start + per - 1 };
            call_text(primary, &["CLUSTER", "ADDSLOTSRANGE", &start.to_string(), &end.to_string()])?;
        }
        for endpoint in &endpoints[1..] {
            if let Endpoint::Tcp { port, .. } = endpoint {
                call_text(&endpoints[0], &["CLUSTER", "MEET", "127.0.0.1", &port.to_string()])?;
            }
        }
        let total = endpoints.len();
        self.wait("every node to know every other", Duration::from_secs(20), |c| {
            c.nodes.iter().all(|n| {
                call_text(&n.endpoint(), &["CLUSTER", "NODES"])
                    .is_ok_and(|t| t.lines().filter(|l| !l.contains("handshake")).count() == total)
            })
        })?;
        for r in 0..replicas {
            for p in 0..self.primaries {
                let replica = self.primaries + r * self.primaries + p;
                call_text(&endpoints[replica], &["CLUSTER", "REPLICATE", &self.ids[p]])?;
            }
        }
        self.wait_until_healthy(Duration::from_secs(30))
    }

    /// Waits until every running node says `cluster_state:ok` and every running replica
    /// is synced with its primary.
    pub fn wait_until_healthy(&self, limit: Duration) -> Result<()> {
        self.wait("the cluster to be ok with synced replicas", limit, |c| {
            c.nodes.iter().filter(|n| n.is_running()).all(|n| {
                let endpoint = n.endpoint();
                let ok = call_text(&endpoint, &["CLUSTER", "INFO"]).is_ok_and(|t| t.contains("cluster_state:ok"));
                let repl = call_text(&endpoint, &["INFO", "replication"]).unwrap_or_default();
                let synced = !repl.contains("role:slave") || repl.contains("master_link_status:up");
                ok && synced
            })
        })
    }

    fn wait(&self, what: &str, limit: Duration, done: impl Fn(&LocalCluster) -> bool) -> Result<()> {
        let deadline = Instant::now() + limit;
        while !done(self) {
            if Instant::now() > deadline {
                let logs: Vec<String> =
                    self.nodes.iter().map(|n| format!("--- {}:\n{}", n.port, n.log_tail())).collect();
                return Err(Error::Topology(format!("timed out waiting for {what}\n{}", logs.join("\n"))));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.kill();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// `rcli sandbox` options.
#[derive(Debug, Parser)]
#[command(
    name = "rcli sandbox",
    about = "Start a throwaway local Redis Cluster and open rcli on it; everything is removed on exit."
)]
struct SandboxArgs {
    /// Number of primaries.
    #[arg(long, default_value_t = 3)]
    primaries: usize,
    /// Replicas per primary.
    #[arg(long, default_value_t = 1)]
    replicas: usize,
}

/// Runs `rcli sandbox`; returns the exit code.
pub fn main(args: &[std::ffi::OsString]) -> i32 {
    let parsed = match SandboxArgs::try_parse_from(
        std::iter::once(std::ffi::OsString::from("rcli sandbox")).chain(args.iter().cloned()),
    ) {
        Ok(parsed) => parsed,
        Err(e) => {
            let _ = e.print();
            return e.exit_code();
        }
    };
    if !redis_server_available() {
        eprintln!(
            "redis-server was not found on PATH. Install it first: apt-get install redis-server (Debian/Ubuntu), brew install redis (macOS)."
        );
        return 1;
    }
    eprintln!("starting {} primaries with {} replica(s) each…", parsed.primaries, parsed.replicas);
    let cluster = match LocalCluster::start(parsed.primaries, parsed.replicas) {
        Ok(cluster) => cluster,
        Err(e) => {
            eprintln!("sandbox: {e}");
            return 1;
        }
    };
    eprintln!("cluster ready in {}:", cluster.dir.display());
    for (i, node) in cluster.nodes.iter().enumerate() {
        let role = if i < cluster.primaries {
            "primary".to_string()
        } else {
            format!("replica of {}", cluster.nodes[(i - cluster.primaries) % cluster.primaries].port)
        };
        eprintln!("  127.0.0.1:{}  {role}", node.port);
    }
    eprintln!("everything is stopped and removed when you leave the shell (quit or Ctrl-D).");
    let argv: Vec<std::ffi::OsString> =
        ["rcli", "-c", "-p", &cluster.port(0).to_string()].iter().map(Into::into).collect();
    let code = match crate::cli::Args::try_parse_from(argv)
        .map_err(|e| e.to_string())
        .and_then(|a| crate::cli::Config::from_args(a).map_err(|e| e.to_string()))
    {
        Ok(config) => crate::run::run(config),
        Err(e) => {
            eprintln!("sandbox: {e}");
            1
        }
    };
    drop(cluster);
    code
}
