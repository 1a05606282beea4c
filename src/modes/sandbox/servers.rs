//! Local `redis-server` children for the sandbox and the test harness: free loopback
//! ports (each with its cluster-bus port, +10000, below 32768) on 127.0.0.1 or ::1,
//! plain or TLS-only ([`Listen`]), a temp directory per group of servers, start-up
//! with a bounded wait for PING, and kill on drop.

use std::fs;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::time::{Duration, Instant};

use super::tls::TlsFiles;
use super::watchdog;
use crate::client::connection::{Connection, Wait};
use crate::client::pool::{self, LinkSettings};
use crate::client::tls::Tls;
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::protocol::resp::Frame;

const FIRST_PORT: u16 = 20000;
const LAST_PORT: u16 = 22700;
const BUS_OFFSET: u16 = 10000;
static NEXT_PORT: AtomicU16 = AtomicU16::new(0);

/// How sandbox servers listen.
#[derive(Debug, Clone)]
pub struct Listen {
    /// The loopback address: `127.0.0.1` or `::1`.
    pub host: String,
    /// TLS only (`port 0`, `tls-port`), with these certificates.
    pub tls: Option<TlsFiles>,
}

impl Default for Listen {
    fn default() -> Listen {
        Listen { host: "127.0.0.1".into(), tls: None }
    }
}

impl Listen {
    /// How rcli's own calls reach these servers: TLS with the sandbox's client
    /// certificate, one shared TLS client per group of servers. The server certificate is
    /// not checked: the sandbox made it, and tests give servers wrong ones on purpose.
    pub fn link(&self) -> LinkSettings {
        let mut link = LinkSettings::plain(Duration::from_secs(10));
        link.tls = self.tls.as_ref().map(|files| {
            Arc::new(Tls::new(crate::client::tls::TlsOptions { insecure: true, ..files.client_options() }))
        });
        link
    }
}

/// True when this machine can listen on the IPv6 loopback address.
pub fn ipv6_available() -> bool {
    TcpListener::bind(("::1", 0)).is_ok()
}

/// A free port P (and P + 10000) below 32768; tries a bounded number of candidates.
pub fn free_port() -> Result<u16> {
    free_port_on("127.0.0.1")
}

/// The ports servers may take: 20000-22700, or the part of it that
/// `RCLI_SANDBOX_PORTS=FIRST-LAST` names (scripts/test gives each of its concurrent
/// test passes a third); a value outside 20000-22700 or unreadable is ignored.
fn port_range() -> (u16, u16) {
    let named = std::env::var("RCLI_SANDBOX_PORTS").ok().and_then(|value| {
        let (first, last) = value.split_once('-')?;
        Some((first.trim().parse::<u16>().ok()?, last.trim().parse::<u16>().ok()?))
    });
    match named {
        Some((first, last)) if FIRST_PORT <= first && first < last && last <= LAST_PORT => (first, last),
        _ => (FIRST_PORT, LAST_PORT),
    }
}

/// [`free_port`] on the loopback address `host`.
pub fn free_port_on(host: &str) -> Result<u16> {
    let (first, last) = port_range();
    let span = last - first;
    // Spread processes apart so parallel test binaries rarely probe the same ports.
    let _ = NEXT_PORT.compare_exchange(
        0,
        (std::process::id() % u32::from(span)) as u16 + 1,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    for _ in 0..span {
        let offset = NEXT_PORT.fetch_add(1, Ordering::SeqCst) % span;
        let port = first + offset;
        let free = |p: u16| TcpListener::bind((host, p)).is_ok();
        if free(port) && free(port + BUS_OFFSET) {
            return Ok(port);
        }
    }
    Err(Error::Usage(format!("no free port pair in {first}-{last}")))
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
pub fn temp_dir(label: &str) -> Result<PathBuf> {
    static COUNTER: AtomicU16 = AtomicU16::new(0);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "rcli-{label}-{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    ));
    fs::create_dir_all(&dir).map_err(|source| Error::File { path: dir.display().to_string(), source })?;
    watchdog::watch_dir(&dir);
    Ok(dir)
}

/// One running redis-server child.
pub struct Server {
    /// The client port (the TLS port of a TLS server).
    pub port: u16,
    pub host: String,
    pub(super) child: Option<Child>,
    pub(super) log: PathBuf,
    pub(super) link: LinkSettings,
    /// The command line it was started with: a restart uses it again (same port,
    /// directory, config file), so the node rejoins its cluster.
    pub(super) args: Vec<String>,
}

impl Server {
    pub fn endpoint(&self) -> Endpoint {
        Endpoint::tcp(&self.host, self.port)
    }

    /// Sends one command to this server (over TLS for a TLS server), bounded.
    pub fn call(&self, argv: &[&str]) -> Result<Frame> {
        pool::call_via(&self.link, &self.endpoint(), argv, self.link.connect_timeout)
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
        lines.get(lines.len().saturating_sub(15)..).unwrap_or_default().join("\n")
    }
}

/// Starts one redis-server in `dir`, listening as `listen` says; `cluster` turns on
/// cluster mode; rcli's own calls to it go through `link`.
pub(super) fn spawn(dir: &Path, cluster: bool, extra: &[&str], listen: &Listen, link: &LinkSettings) -> Result<Server> {
    let mut last = None;
    for _ in 0..5 {
        let port = free_port_on(&listen.host)?;
        let log = dir.join(format!("{port}.log"));
        let mut args: Vec<String> = match &listen.tls {
            Some(files) => files.server_args(port, cluster),
            None => vec!["--port".into(), port.to_string()],
        };
        let dir_text = dir.display().to_string();
        let log_text = log.display().to_string();
        let common = [
            "--bind",
            &listen.host,
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            &dir_text,
            "--logfile",
            &log_text,
            "--enable-debug-command",
            "yes",
            "--protected-mode",
            "no",
            "--daemonize",
            "no",
            // A replica (or --rdb) gets its full sync at once, not after 5 s of waiting
            // for others to join.
            "--repl-diskless-sync-delay",
            "0",
        ];
        args.extend(common.iter().map(|a| a.to_string()));
        // Each node its own RDB file in the shared directory (a replica's full sync and
        // the lab's clean stop write one; a restart reads it back).
        args.extend(["--dbfilename".to_string(), format!("dump-{port}.rdb")]);
        if cluster {
            let config_file = format!("nodes-{port}.conf");
            let cluster_args = [
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                &config_file,
                "--cluster-node-timeout",
                "2000",
                "--cluster-replica-validity-factor",
                "0",
            ];
            args.extend(cluster_args.iter().map(|a| a.to_string()));
        }
        args.extend(extra.iter().map(|a| a.to_string()));
        let mut server = Server { port, host: listen.host.clone(), child: None, log, link: link.clone(), args };
        match server.launch() {
            Ok(()) => return Ok(server),
            Err(e) => last = Some(e),
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
             cluster-replica-validity-factor 0\ndbfilename dump-{port}.rdb\n",
            dir.display(),
            log.display()
        );
        for line in extra {
            text.push_str(line);
            text.push('\n');
        }
        fs::write(&conf, text).map_err(|source| Error::File { path: conf.display().to_string(), source })?;
        let link = LinkSettings::plain(Duration::from_secs(10));
        let args = vec![conf.display().to_string()];
        let mut server = Server { port, host: "127.0.0.1".into(), child: None, log, link, args };
        match server.launch() {
            Ok(()) => return Ok(server),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| Error::Usage("redis-server did not start".into())))
}

/// How a start ended when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Started {
    /// The server answers PING.
    Answering,
    /// Ctrl-C ended the wait: the process runs, not answering yet.
    NotWaitedFor,
}

impl Server {
    /// Starts the process from its command line (in a process group of its own, so a
    /// Ctrl-C in the shell does not reach it; watched by the watchdog) and waits,
    /// bounded, until it answers PING. On failure the process is killed.
    pub(super) fn launch(&mut self) -> Result<()> {
        self.launch_until(None).map(|_| ())
    }

    /// [`Server::launch`] whose wait `interrupt` cuts short (the process is kept).
    pub(super) fn launch_until(&mut self, interrupt: Option<&AtomicBool>) -> Result<Started> {
        let mut cmd = Command::new("redis-server");
        cmd.args(&self.args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        cmd.process_group(0);
        let child = cmd.spawn().map_err(|source| Error::File { path: "redis-server".into(), source })?;
        watchdog::watch_pid(child.id());
        self.child = Some(child);
        wait_for_ping(self, interrupt).inspect_err(|_| self.kill())
    }
}

fn wait_for_ping(server: &mut Server, interrupt: Option<&AtomicBool>) -> Result<Started> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if interrupt.is_some_and(|flag| flag.load(Ordering::SeqCst)) {
            return Ok(Started::NotWaitedFor);
        }
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
        if call_until(&server.link, &server.endpoint(), &["PING"], Duration::from_millis(500), interrupt).is_ok() {
            return Ok(Started::Answering);
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

/// One command on a connection of its own, as [`pool::call_via`], whose wait (to
/// connect, then `timeout` without a byte of the reply) `interrupt` also ends.
pub fn call_until<A: AsRef<[u8]>>(
    link: &LinkSettings,
    endpoint: &Endpoint,
    argv: &[A],
    timeout: Duration,
    interrupt: Option<&AtomicBool>,
) -> Result<Frame> {
    let mut conn = Connection::connect(endpoint, link.dial(endpoint, None), interrupt)?;
    conn.request(argv, Wait { idle: Some(timeout), interrupt })
}

/// Sends one command to a local server with a bounded wait.
pub fn call(endpoint: &Endpoint, argv: &[&str]) -> Result<Frame> {
    pool::call(endpoint, argv, Duration::from_secs(10))
}

pub(super) fn call_text(server: &Server, argv: &[&str]) -> Result<String> {
    let frame = server.call(argv)?;
    if let Some(err) = frame.as_error() {
        return Err(Error::Usage(format!(
            "{}: {} failed: {}",
            server.endpoint(),
            argv.join(" "),
            String::from_utf8_lossy(err)
        )));
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
        Standalone::start_with(&Listen::default(), extra)
    }

    /// A server listening as `listen` says.
    pub fn start_with(listen: &Listen, extra: &[&str]) -> Result<Standalone> {
        let dir = temp_dir("server")?;
        match spawn(&dir, false, extra, listen, &listen.link()) {
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
