//! What the diagnostic-mode tests share: a process whose output is watched while it
//! runs (to send Ctrl-C once it has printed something), redis-cli unbuffered (its modes
//! never flush a pipe), seeding keys, and reading the reports.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::util::*;

/// A running process whose stdout and stderr are collected as they come.
pub struct Watched {
    child: Child,
    name: String,
    out: Arc<Mutex<Vec<u8>>>,
    err: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
    pub started: Instant,
}

fn collect(mut from: impl Read + Send + 'static, into: Arc<Mutex<Vec<u8>>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 {
                break;
            }
            into.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    })
}

/// Starts `cmd` with no stdin and its output collected.
pub fn watch(mut cmd: Command) -> Watched {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let name = format!("{cmd:?}");
    let mut child = cmd.spawn().expect("spawn");
    let out = Arc::new(Mutex::new(Vec::new()));
    let err = Arc::new(Mutex::new(Vec::new()));
    let readers = vec![
        collect(child.stdout.take().expect("stdout"), out.clone()),
        collect(child.stderr.take().expect("stderr"), err.clone()),
    ];
    Watched { child, name, out, err, readers, started: Instant::now() }
}

impl Watched {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().unwrap()).into_owned()
    }

    /// Waits (at most `limit`) until stdout satisfies `done`.
    pub fn wait_for(&mut self, what: &str, limit: Duration, done: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + limit;
        while !done(&self.stdout()) {
            if Instant::now() > deadline || self.child.try_wait().unwrap().is_some() {
                let err = String::from_utf8_lossy(&self.err.lock().unwrap()).into_owned();
                let _ = self.child.kill();
                panic!("{}: no {what} within {limit:?}\nstdout:\n{}\nstderr:\n{err}", self.name, self.stdout());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGINT, as Ctrl-C does.
    pub fn interrupt(&self) {
        let status = Command::new("kill").args(["-INT", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
    }

    /// Waits for the end (killing it and panicking after `limit`).
    pub fn finish(mut self, limit: Duration) -> Output {
        let Some(status) = exited_within(&mut self.child, limit) else {
            panic!("{} did not finish within {limit:?}; stdout:\n{}", self.name, self.stdout());
        };
        for reader in self.readers.drain(..) {
            reader.join().unwrap();
        }
        let stdout = self.out.lock().unwrap().clone();
        let stderr = String::from_utf8_lossy(&self.err.lock().unwrap()).into_owned();
        Output { code: status.code(), stdout, stderr, peak_rss_kb: 0 }
    }

    /// Ctrl-C, then the end within 5 s.
    pub fn interrupt_and_finish(self) -> Output {
        self.interrupt();
        self.finish(Duration::from_secs(5))
    }
}

/// rcli with `args`, hermetic, watched.
pub fn watch_rcli(home: &Home, args: &[&str]) -> Watched {
    let mut cmd = rcli(home);
    cmd.args(args);
    watch(cmd)
}

/// redis-cli with `args` and its stdout unbuffered (its --stat and --lru-test never
/// flush, so a pipe would get nothing before the kill), watched.
pub fn watch_redis_cli(args: &[&str]) -> Watched {
    let mut cmd = Command::new("stdbuf");
    cmd.arg("-o0").arg("redis-cli").args(args).env_remove("REDISCLI_AUTH").env("REDISCLI_HISTFILE", "/dev/null");
    watch(cmd)
}

/// Runs `lines` of commands through redis-cli against `port` (asserting success).
pub fn seed(port: u16, lines: &str) {
    let out = redis_cli_run(&["-p", &port.to_string()], lines.as_bytes());
    assert_eq!(out.code, Some(0), "seeding failed: {}", out.stderr);
    assert!(!out.text().contains("ERR"), "seeding failed: {}", out.text());
}

/// Runs `lines` through rcli in cluster mode (routed per slot).
pub fn seed_cluster(home: &Home, port: u16, lines: &str) {
    let out = rcli_run(home, &["-c", "-p", &port.to_string()], lines);
    assert_eq!(out.code, Some(0), "seeding failed: {}", out.stderr);
    assert!(!out.text().contains("ERR"), "seeding failed: {}", out.text());
}

/// Every run of ASCII digits replaced by `N`: lines whose numbers cannot match.
pub fn mask_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_number = false;
    for c in text.chars() {
        if c.is_ascii_digit() {
            if !in_number {
                out.push('N');
            }
            in_number = true;
        } else {
            out.push(c);
            in_number = false;
        }
    }
    out
}

/// The text after the last `-------- summary -------` line.
pub fn summary_of(report: &str) -> &str {
    report
        .rsplit_once("-------- summary -------\n\n")
        .map(|(_, s)| s)
        .unwrap_or_else(|| panic!("no summary in:\n{report}"))
}

/// The body of rcli's `-------- node ADDR -------` section.
pub fn node_section<'a>(report: &'a str, addr: &str) -> &'a str {
    let title = format!("-------- node {addr} -------\n\n");
    let (_, rest) = report.split_once(&title).unwrap_or_else(|| panic!("no section for {addr} in:\n{report}"));
    rest.split_once("\n-------- ").map(|(body, _)| body).unwrap_or(rest)
}

/// A key-scan summary with its type lines in one fixed order when valkey-cli is the
/// yardstick (unchanged with redis-cli): redis-cli 7.0 lists the types in its dict's
/// iteration order, and rcli follows it (docs/compatibility.md); valkey-cli 8.1's dict
/// iterates in another order. Consecutive `Biggest …` lines and consecutive
/// `N <type>s with …` lines are sorted; every line is still compared.
pub fn type_order_neutral(summary: &str) -> String {
    if yardstick() == Yardstick::RedisCli {
        return summary.to_string();
    }
    let is_type_line = |line: &str| {
        line.starts_with("Biggest ")
            || line.split_once(' ').is_some_and(|(count, rest)| {
                count.chars().all(|c| c.is_ascii_digit())
                    && rest.split_once(' ').is_some_and(|(_, r)| r.starts_with("with "))
            })
    };
    let mut out: Vec<&str> = Vec::new();
    let mut run: Vec<&str> = Vec::new();
    for line in summary.split_inclusive('\n') {
        if is_type_line(line)
            && run.first().is_none_or(|first| first.starts_with("Biggest ") == line.starts_with("Biggest "))
        {
            run.push(line);
            continue;
        }
        run.sort_unstable();
        out.append(&mut run);
        if is_type_line(line) {
            run.push(line);
        } else {
            out.push(line);
        }
    }
    run.sort_unstable();
    out.append(&mut run);
    out.concat()
}
