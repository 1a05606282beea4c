//! The harness for the cluster manager's side-by-side tests (docs/cluster-manager.md,
//! "Testing side by side"): two identical sets of bare nodes, R driven by redis-cli
//! 7.0.15 and X by `rcli --cluster`; the same arguments with `{pN}` (node N's
//! `127.0.0.1:port`), `{portN}` and `{idN}` filled in per side; outputs normalised (node
//! ids → `N<k>`, ports → `p<k>`, colours stripped) before they are compared. Manager
//! tests run one at a time (a lock): each holds two clusters' servers. On the Valkey
//! pass of scripts/test, R is driven by valkey-cli 8.1 (the `redis-cli` on PATH, see
//! `util::Yardstick`) and outputs are compared in its words (`util::vocabulary`).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard, mpsc};
use std::time::Duration;

use rcli::endpoint::Endpoint;
use rcli::modes::sandbox::{BareNodes, call};

use crate::eqnice;
use crate::util::*;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Serialises the manager tests (two clusters each on a 2-core machine).
pub fn serial() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// Which tool drives a side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    RedisCli,
    Rcli,
}

/// One side: its nodes and the tool that manages them.
pub struct Side {
    pub nodes: BareNodes,
    pub tool: Tool,
    pub ids: Vec<String>,
}

/// `--cluster create` of nodes 0–5: three masters with a replica each, no questions.
pub const CREATE_3_3: [&str; 11] =
    ["--cluster", "create", "{p0}", "{p1}", "{p2}", "{p3}", "{p4}", "{p5}", "--cluster-replicas", "1", "--cluster-yes"];

impl Side {
    /// Creates the 3+3 cluster of nodes 0–5 with this side's tool and waits until it is
    /// healthy.
    pub fn create_3_3(&self, home: &Home) {
        let create = self.run(home, &CREATE_3_3, "");
        assert_eq!(create.code, Some(0), "{}{}", create.text(), create.stderr);
        self.wait_healthy(6);
    }

    pub fn start(count: usize, tool: Tool, extra: &[&str]) -> Side {
        let nodes = BareNodes::start(count, extra).unwrap_or_else(|e| panic!("could not start bare nodes: {e}"));
        let ids = (0..count).map(|i| text(&call(&nodes.endpoint(i), &["CLUSTER", "MYID"]).unwrap())).collect();
        Side { nodes, tool, ids }
    }

    pub fn endpoint(&self, i: usize) -> Endpoint {
        self.nodes.endpoint(i)
    }

    pub fn port(&self, i: usize) -> u16 {
        self.nodes.port(i)
    }

    pub fn addr(&self, i: usize) -> String {
        format!("127.0.0.1:{}", self.port(i))
    }

    /// `{pN}`, `{portN}`, `{idN}` filled in for this side.
    pub fn fill(&self, arg: &str) -> String {
        let mut out = arg.to_string();
        for i in (0..self.ids.len()).rev() {
            out = out
                .replace(&format!("{{p{i}}}"), &self.addr(i))
                .replace(&format!("{{port{i}}}"), &self.port(i).to_string())
                .replace(&format!("{{id{i}}}"), &self.ids[i]);
        }
        out
    }

    /// Runs this side's tool with `args` (filled in) and `stdin`.
    pub fn run(&self, home: &Home, args: &[&str], stdin: &str) -> Output {
        let filled: Vec<String> = args.iter().map(|a| self.fill(a)).collect();
        let mut cmd = match self.tool {
            Tool::RedisCli => {
                let mut cmd = Command::new("redis-cli");
                cmd.env_remove("REDISCLI_AUTH").env("REDISCLI_HISTFILE", "/dev/null");
                cmd
            }
            Tool::Rcli => rcli(home),
        };
        cmd.env("TERM", "dumb").env_remove("REDISCLI_CLUSTER_YES").args(&filled);
        run_with(cmd, stdin.as_bytes(), Duration::from_secs(300))
    }

    /// A command on node `i`, its reply as text.
    pub fn cmd(&self, i: usize, argv: &[&str]) -> String {
        let filled: Vec<String> = argv.iter().map(|a| self.fill(a)).collect();
        let argv: Vec<&str> = filled.iter().map(String::as_str).collect();
        let frame = call(&self.endpoint(i), &argv).unwrap_or_else(|e| {
            let log = self.nodes.nodes.get(i).map(|n| n.log_tail()).unwrap_or_default();
            panic!("{argv:?} on node {i}: {e}\n--- the end of its log:\n{log}")
        });
        frame_text(&frame)
    }

    /// Replaces this side's ids and ports with `N<k>` and `p<k>`, strips colours; with
    /// valkey-cli as the yardstick, puts both sides in its words ([`vocabulary`]:
    /// valkey-cli 8 says primary/replica where redis-cli 7.0 and rcli say master/slave).
    pub fn normalize(&self, output: &str) -> String {
        let mut out = vocabulary(&strip_ansi(output));
        for (i, id) in self.ids.iter().enumerate() {
            out = out.replace(id, &format!("N{i}")).replace(&format!("({}...)", &id[..8]), &format!("(N{i})"));
        }
        for i in (0..self.ids.len()).rev() {
            out = out.replace(&self.port(i).to_string(), &format!("p{i}"));
        }
        out
    }

    /// Waits until every running node says cluster_state:ok, agrees on the slots, and
    /// every replica is synced.
    pub fn wait_healthy(&self, count: usize) {
        wait_for("the cluster to settle", Duration::from_secs(60), || {
            (0..count).all(|i| {
                let info = self.cmd(i, &["CLUSTER", "INFO"]);
                let repl = self.cmd(i, &["INFO", "replication"]);
                info.contains("cluster_state:ok")
                    && (!repl.contains("role:slave") || repl.contains("master_link_status:up"))
            }) && {
                let views: Vec<String> = (0..count).map(|i| signature(&self.cmd(i, &["CLUSTER", "NODES"]))).collect();
                views.windows(2).all(|w| w[0] == w[1])
            }
        });
    }

    /// Per node: its slot count and, for a replica, the index of its master.
    pub fn shape(&self, count: usize) -> Vec<(usize, Option<usize>)> {
        (0..count)
            .map(|i| {
                let nodes = self.cmd(i, &["CLUSTER", "NODES"]);
                let me = nodes.lines().find(|l| l.contains("myself")).unwrap_or_default().to_string();
                let fields: Vec<&str> = me.split(' ').collect();
                let slots = fields[8..].iter().filter(|t| !t.starts_with('[')).map(|t| count_range(t)).sum();
                let master = self.ids.iter().position(|id| fields.get(3) == Some(&id.as_str()));
                (slots, master)
            })
            .collect()
    }

    /// The slot ranges node `i` owns, as CLUSTER NODES lists them.
    pub fn ranges(&self, i: usize) -> Vec<String> {
        let nodes = self.cmd(i, &["CLUSTER", "NODES"]);
        let me = nodes.lines().find(|l| l.contains("myself")).unwrap_or_default().to_string();
        me.split(' ').skip(8).filter(|t| !t.starts_with('[')).map(str::to_string).collect()
    }

    /// Loads `count` keys `key:<n>` through rcli's pipeline.
    pub fn load(&self, home: &Home, count: usize) {
        let input: String = (0..count).map(|n| format!("SET key:{n} v{n}\n")).collect();
        let out = rcli_run(home, &["-c", "-p", &self.port(0).to_string()], &input);
        assert_eq!(out.code, Some(0), "loading failed: {}", out.stderr);
    }
}

/// A reply as text: strings, numbers, errors, and arrays one item a line.
pub fn frame_text(frame: &rcli::protocol::resp::Frame) -> String {
    if let Some(n) = frame.as_integer() {
        return n.to_string();
    }
    if let Some(e) = frame.as_error() {
        return String::from_utf8_lossy(e).into_owned();
    }
    match frame.as_items() {
        Some(items) => items.iter().map(frame_text).collect::<Vec<_>>().join("\n"),
        None => text(frame),
    }
}

fn count_range(token: &str) -> usize {
    match token.split_once('-') {
        Some((a, b)) => b.parse::<usize>().unwrap_or(0) - a.parse::<usize>().unwrap_or(0) + 1,
        None => 1,
    }
}

/// Slot ownership of a CLUSTER NODES view (open slots and roles ignored).
pub fn signature(nodes: &str) -> String {
    let mut entries: Vec<String> = nodes
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let mut slots: Vec<&str> = f.get(8..)?.iter().copied().filter(|t| !t.starts_with('[')).collect();
            slots.sort();
            (!slots.is_empty()).then(|| format!("{}:{}", f[0], slots.join(",")))
        })
        .collect();
    entries.sort();
    entries.join("|")
}

pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for d in chars.by_ref() {
                if d == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The two sides of a comparison and a home for rcli.
pub struct Pair {
    pub r: Side,
    pub x: Side,
    pub home: Home,
}

impl Pair {
    /// `count` bare nodes per side.
    pub fn start(count: usize) -> Pair {
        Pair::start_with(count, &[])
    }

    pub fn start_with(count: usize, extra: &[&str]) -> Pair {
        Pair {
            r: Side::start(count, Tool::RedisCli, extra),
            x: Side::start(count, Tool::Rcli, extra),
            home: Home::new(),
        }
    }

    /// Both sides created as 3 masters + 3 replicas (nodes 0-5), each by its tool.
    pub fn created(count: usize) -> Pair {
        let pair = Pair::start(count);
        pair.create_3_3();
        pair
    }

    pub fn create_3_3(&self) {
        let (r, x) = self.both(&CREATE_3_3, "");
        assert_eq!(r.code, Some(0), "redis-cli create: {}{}", r.text(), r.stderr);
        assert_eq!(x.code, Some(0), "rcli create: {}{}", x.text(), x.stderr);
        self.r.wait_healthy(6);
        self.x.wait_healthy(6);
    }

    /// The same arguments on both sides. Where both succeed, rcli's stderr (a pipe: not
    /// a terminal, no -v) must be redis-cli's, byte for byte once ids and ports are
    /// normalised: scripts that treat stderr output as failure work with both.
    pub fn both(&self, args: &[&str], stdin: &str) -> (Output, Output) {
        let (r, x) = (self.r.run(&self.home, args, stdin), self.x.run(&self.home, args, stdin));
        if (r.code, x.code) == (Some(0), Some(0)) {
            eqnice!(self.r.normalize(&r.stderr), self.x.normalize(&x.stderr));
        }
        (r, x)
    }

    /// Both outputs normalised, replica pairings masked (redis-cli's create pairs them
    /// at random, so the two clusters differ there).
    pub fn normalized(&self, r: &Output, x: &Output) -> (String, String) {
        (
            replicas_open_slots(&self.r, &mask_replicates(&self.r.normalize(&r.text()))),
            replicas_open_slots(&self.x, &mask_replicates(&self.x.normalize(&x.text()))),
        )
    }
}

/// Valkey 8 replicates CLUSTER SETSLOT MIGRATING/IMPORTING to a primary's replicas, so
/// `check` and `fix` also warn about the replicas' open slots (Redis 7.0's replicas have
/// none): a replica is named by its primary in those warnings (the two sides pair
/// replicas differently), and the warnings are sorted (valkey-cli lists nodes in its
/// dict's order). Unchanged when no replica has an open slot (Redis 7.0: the order is
/// compared too).
pub fn replicas_open_slots(side: &Side, text: &str) -> String {
    let is_warning = |l: &str| l.starts_with("[WARNING] Node ") && l.contains(" has slots in ");
    if !text.lines().any(is_warning) {
        return text.to_string();
    }
    // Each replica's address and its primary's, from the first node that answers.
    let nodes = (0..side.ids.len())
        .find_map(|i| call(&side.endpoint(i), &["CLUSTER", "NODES"]).ok().map(|f| frame_text(&f)))
        .unwrap_or_default();
    let address = |id: &str| {
        nodes
            .lines()
            .find(|l| l.starts_with(id))
            .and_then(|l| l.split(' ').nth(1))
            .map(|a| a.split('@').next().unwrap_or(a).to_string())
    };
    let mut replicas = Vec::new();
    for line in nodes.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        if let (Some(me), Some(primary)) = (fields.get(1), fields.get(3))
            && *primary != "-"
            && let Some(primary) = address(primary)
        {
            let me = me.split('@').next().unwrap_or(me);
            replicas.push((side.normalize(me), format!("replica of {}", side.normalize(&primary))));
        }
    }
    let named = |line: &str| {
        replicas
            .iter()
            .fold(line.to_string(), |l, (me, name)| l.replace(&format!("Node {me} has"), &format!("Node {name} has")))
    };
    if !text.lines().any(|l| is_warning(l) && named(l) != l) {
        return text.to_string();
    }
    let mut out: Vec<String> = Vec::new();
    let mut run: Vec<String> = Vec::new();
    for line in text.lines() {
        if is_warning(line) {
            run.push(named(line));
            continue;
        }
        run.sort();
        out.append(&mut run);
        out.push(line.to_string());
    }
    run.sort();
    out.append(&mut run);
    let newline = if text.ends_with('\n') { "\n" } else { "" };
    out.join("\n") + newline
}

/// Node blocks (`M:`/`S:` and their indented lines) sorted, the other lines in order:
/// redis-cli prints nodes and open-slot lists in dict order.
pub fn blocks_sorted(text: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut blocks: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let indented = line.starts_with("   ") && !line.starts_with("    Moving");
        if line.starts_with("M: ") || line.starts_with("S: ") {
            if let Some(b) = current.take() {
                blocks.push(b);
            }
            current = Some(line.to_string());
        } else if indented && current.is_some() {
            if let Some(b) = current.as_mut() {
                b.push('\n');
                b.push_str(line);
            }
        } else {
            if let Some(b) = current.take() {
                blocks.push(b);
            }
            if !blocks.is_empty() {
                blocks.sort();
                out.push(blocks.join("\n"));
                blocks.clear();
            }
            out.push(line.to_string());
        }
    }
    if let Some(b) = current.take() {
        blocks.push(b);
    }
    blocks.sort();
    if !blocks.is_empty() {
        out.push(blocks.join("\n"));
    }
    out.join("\n")
}

/// Masks what differs by design between runs: the replica pairing after create (random
/// in redis-cli) and the dots while waiting for the join.
pub fn mask_replicates(text: &str) -> String {
    let newline = if text.ends_with('\n') { "\n" } else { "" };
    let masked = text
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("replicates N") {
                l.rsplit_once(' ').map(|(a, _)| format!("{a} N?")).unwrap_or_default()
            } else if !l.is_empty() && l.chars().all(|c| c == '.') {
                String::new()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    masked + newline
}

/// The per-master info lines (load order differs between clusters) sorted in place.
pub fn sorted_info(text: &str) -> String {
    let (info, rest): (Vec<&str>, Vec<&str>) = text.lines().partition(|l| l.contains(" keys | "));
    let mut info = info;
    info.sort_unstable();
    format!("{}\n{}", info.join("\n"), rest.join("\n"))
}

/// Output in a canonical order: info lines and node blocks sorted.
pub fn canon(text: &str) -> String {
    blocks_sorted(&sorted_info(text))
}

/// Runs rcli with `RCLI_FAULT=fault`; once it reports the fault point, kills it (SIGKILL).
pub fn kill_at(side: &Side, home: &Home, args: &[&str], fault: &str) {
    let filled: Vec<String> = args.iter().map(|a| side.fill(a)).collect();
    let mut cmd = rcli(home);
    cmd.env("TERM", "dumb")
        .env("RCLI_FAULT", fault)
        .args(&filled)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn rcli");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.starts_with("rcli-fault: ") {
                let _ = tx.send(Ok(()));
            }
            seen.push(line);
        }
        let _ = tx.send(Err(seen.join("\n")));
    });
    match rx.recv_timeout(Duration::from_secs(120)) {
        Ok(Ok(())) => {}
        Ok(Err(stderr)) => panic!("rcli ended before reaching {fault}: {stderr}"),
        Err(_) => panic!("rcli did not reach {fault}"),
    }
    child.kill().expect("kill -9");
    let _ = child.wait();
}

/// Asserts `redis-cli --cluster check` passes on node `i` of `side`.
pub fn assert_check_passes(side: &Side, i: usize) {
    let out = redis_cli_run(&["--cluster", "check", &side.addr(i)], b"");
    assert_eq!(out.code, Some(0), "redis-cli --cluster check fails:\n{}", out.text());
}

#[test]
fn harness_normalises_ids_ports_and_blocks() {
    let text = "M: a\n   slots: x\nS: b\n   replicates a\n[OK] done\n";
    assert_eq!(blocks_sorted(text), "M: a\n   slots: x\nS: b\n   replicates a\n[OK] done");
    assert_eq!(strip_ansi("\x1b[32;1m[OK] x\n\x1b[0m"), "[OK] x\n");
    assert_eq!(signature("a 1:1@2 master - 0 0 1 connected 5-9 0-4 [7->-b]\n"), "a:0-4,5-9");
}
