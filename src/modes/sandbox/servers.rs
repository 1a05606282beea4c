//! Local `redis-server` children for the sandbox and the test harness: free loopback
//! ports (each with its cluster-bus port, +10000, below 32768), a temp directory per
//! group of servers, start-up with a bounded wait for PING, and kill on drop.

use std::fs;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use crate::client::pool;
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
pub(super) fn temp_dir(label: &str) -> Result<PathBuf> {
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
pub(super) fn spawn(dir: &Path, cluster: bool, extra: &[&str]) -> Result<Server> {
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

/// Starts one cluster-enabled redis-server in `dir` from a config file of its own
/// (`<port>.conf`), so that `CONFIG REWRITE` works; `extra` lines are appended to it.
pub(super) fn spawn_configured(dir: &Path, extra: &[&str]) -> Result<Server> {
    let mut last = None;
    for _ in 0..5 {
        let port = free_port()?;
        let log = dir.join(format!("{port}.log"));
        let conf = dir.join(format!("{port}.conf"));
        let mut text = format!(
            "port {port}\nbind 127.0.0.1\ndir {}\nlogfile {}\nsave \"\"\nappendonly no\nprotected-mode no\ndaemonize no\n\
             enable-debug-command yes\ncluster-enabled yes\ncluster-config-file nodes-{port}.conf\ncluster-node-timeout 2000\n\
             cluster-replica-validity-factor 0\n",
            dir.display(),
            log.display()
        );
        for line in extra {
            text.push_str(line);
            text.push('\n');
        }
        fs::write(&conf, text).map_err(|source| Error::File { path: conf.display().to_string(), source })?;
        let mut cmd = Command::new("redis-server");
        cmd.arg(&conf).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
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

pub(super) fn call_text(endpoint: &Endpoint, argv: &[&str]) -> Result<String> {
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
