//! `rcli top` against real servers: `--once --json` checked against the INFO each node
//! answers directly (over TLS through the address map: tls_cluster.rs); one node and its replica;
//! frames on a pipe until Ctrl-C; usage and connection errors. And the live view in a
//! pseudo-terminal, read through a terminal emulator (the screen a person sees): every
//! node shown, a kill -9 of a primary followed to its replica's promotion, a SIGSTOPped
//! primary marked within the failure budget while the clock keeps moving, the keys,
//! and `q` giving the terminal back.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rexpect::session::{PtySession, spawn_command};
use serde_json::Value;

use crate::util::*;
use rcli::endpoint::Endpoint;

/// `rcli top … --once --json`, parsed.
pub fn once_json(home: &Home, args: &[&str]) -> Value {
    let args: Vec<&str> = ["top", "--once", "--json"].into_iter().chain(args.iter().copied()).collect();
    let out = rcli_run(home, &args, "");
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stderr.is_empty(), "nothing on stderr: {}", out.stderr);
    serde_json::from_str(&out.text()).unwrap_or_else(|e| panic!("not JSON ({e}): {}", out.text()))
}

fn info_of(cluster: &LocalCluster, endpoint: &str) -> String {
    let index = (0..cluster.nodes.len()).find(|&i| cluster.endpoint(i).to_string() == endpoint).unwrap();
    text(&cluster.call(index, &["INFO"]).unwrap())
}

fn field<'a>(info: &'a str, name: &str) -> Option<&'a str> {
    info.lines().find_map(|l| l.trim_end().strip_prefix(name)?.strip_prefix(':'))
}

/// Every node of the frame against its own INFO: role, keys per database, maxmemory
/// exactly; connected clients within 2 (rcli top's connection then, this test's now,
/// and a client of the harness coming or going).
fn check_against_info(frame: &Value, cluster: &LocalCluster) {
    let nodes: Vec<&Value> =
        frame["shards"].as_array().unwrap().iter().flat_map(|s| s["nodes"].as_array().unwrap()).collect();
    assert_eq!(nodes.len(), cluster.nodes.len(), "{frame}");
    let mut primaries_keys = 0;
    for node in nodes {
        let address = node["address"].as_str().unwrap();
        let info = info_of(cluster, address);
        assert_eq!(node["link"], "ok", "{node}");
        let role = if field(&info, "role") == Some("master") { "primary" } else { "replica" };
        assert_eq!(node["role"], role, "{address}");
        let keys: Vec<(u32, u64)> = rcli::cluster::keyspace::databases(&info);
        let shown: Vec<(u32, u64)> = node["keys"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(db, n)| (db.parse().unwrap(), n.as_u64().unwrap()))
            .collect();
        let mut shown = shown;
        shown.sort();
        assert_eq!(shown, keys, "{address}");
        if role == "primary" {
            primaries_keys += keys.iter().map(|(_, n)| n).sum::<u64>();
        }
        assert_eq!(node["maxmemory"].as_u64(), field(&info, "maxmemory").and_then(|v| v.parse().ok()), "{address}");
        let clients: i64 = field(&info, "connected_clients").unwrap().parse().unwrap();
        let shown_clients = node["clients"].as_i64().unwrap();
        assert!((shown_clients - clients).abs() <= 2, "{address}: {shown_clients} shown, {clients} in INFO");
        assert!(node["ops_per_sec"].is_number(), "two rounds give rates: {node}");
        assert!(node["cpu_percent"].is_number(), "{node}");
    }
    assert_eq!(frame["totals"]["keys"].as_u64(), Some(primaries_keys));
    assert_eq!(frame["totals"]["nodes"].as_u64(), Some(cluster.nodes.len() as u64));
    assert_eq!(frame["totals"]["answering"].as_u64(), Some(cluster.nodes.len() as u64));
}

/// Keys spread over the slots (and database 2 where the cluster has numbered
/// databases), replicated before the frame is taken.
fn fill(home: &Home, cluster: &LocalCluster, count: usize) {
    let seed = cluster.port(0).to_string();
    let script: String = (0..count).map(|i| format!("set top:{i} {i}\n")).collect();
    let out = rcli_run(home, &["-c", "-p", &seed], &script);
    assert_eq!(out.code, Some(0), "{out:?}");
    if cluster.databases.is_some() {
        let out = rcli_run(home, &["-c", "-p", &seed, "-n", "2"], "set top:db2:a 1\nset top:db2:b 2\n");
        assert_eq!(out.code, Some(0), "{out:?}");
    }
    for i in 0..cluster.primaries {
        replicated(&cluster.endpoint(i));
    }
}

#[test]
fn once_json_matches_what_each_node_answers() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 1);
    let home = Home::new();
    fill(&home, &cluster, 300);
    let seed = cluster.port(0).to_string();
    let frame = once_json(&home, &["-c", "-p", &seed]);
    check_against_info(&frame, &cluster);
    assert_eq!(frame["cluster"], true);
    assert_eq!(frame["cluster_state"], "ok");
    assert_eq!(frame["round"], 2, "the frame of the second round: the first has no rates");
    // Shards as the cluster has them: each one's slots, its primary first.
    let topology = topology(&cluster, 0);
    for shard in frame["shards"].as_array().unwrap() {
        let primary = shard["nodes"][0]["address"].as_str().unwrap();
        let known = topology.shards.iter().find(|s| s.primary.as_ref().unwrap().endpoint.to_string() == primary);
        let ranges: Vec<Value> = known.unwrap().ranges.iter().map(|(a, b)| serde_json::json!([a, b])).collect();
        assert_eq!(shard["slots"], Value::Array(ranges));
        assert_eq!(shard["nodes"][1]["role"], "replica");
        assert!(shard["nodes"][1]["replication"]["bytes"].is_u64(), "{shard}");
    }
    // Hot slots where the server keeps them (Valkey 8+), else one reason.
    let hot = &frame["hot_slots"];
    if hot["supported"] == true {
        let by_keys = hot["by_keys"].as_array().unwrap();
        assert!(!by_keys.is_empty());
        for slot in by_keys {
            let index = (0..cluster.nodes.len())
                .find(|&i| cluster.endpoint(i).to_string() == slot["owner"].as_str().unwrap())
                .unwrap();
            let n = slot["slot"].as_u64().unwrap().to_string();
            let counted = cluster.call(index, &["CLUSTER", "COUNTKEYSINSLOT", &n]).unwrap().as_integer();
            assert_eq!(slot["keys"].as_i64(), counted, "slot {n}");
        }
    } else {
        assert_eq!(hot["supported"], false, "{hot}");
    }
    // The text frame names every node.
    let out = rcli_run(&home, &["top", "--once", "-c", "-p", &seed], "");
    assert_eq!(out.code, Some(0), "{out:?}");
    for i in 0..cluster.nodes.len() {
        assert!(out.text().contains(&cluster.endpoint(i).to_string()), "{}", out.text());
    }
}

#[test]
fn one_node_and_its_replica() {
    if !have_redis() {
        return;
    }
    let primary = standalone();
    let replica = Standalone::start(&["--replicaof", "127.0.0.1", &primary.port().to_string()]).unwrap();
    wait_for("the replica to sync", Duration::from_secs(20), || {
        replica.server.call(&["INFO", "replication"]).is_ok_and(|r| text(&r).contains("master_link_status:up"))
    });
    let home = Home::new();
    let port = primary.port().to_string();
    let frame = once_json(&home, &["-p", &port]);
    assert_eq!(frame["cluster"], false);
    assert_eq!(frame["hot_slots"], Value::Null);
    let nodes = frame["shards"][0]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 2, "{frame}");
    assert_eq!(nodes[0]["role"], "primary");
    assert_eq!(nodes[1]["address"], format!("127.0.0.1:{}", replica.port()));
    assert_eq!(nodes[1]["replication"]["link"], "up");
    let out = rcli_run(&home, &["top", "--once", "-p", &port], "");
    assert!(out.text().lines().next().unwrap().contains("single node"), "{}", out.text());
}

#[test]
fn errors_are_one_line_with_their_exit_code() {
    let home = Home::new();
    let out = rcli_run(&home, &["top", "--slots", "many"], "");
    assert_eq!(out.code, Some(2), "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    let out = rcli_run(&home, &["top", "-p", "1", "get", "x"], "");
    assert_eq!(out.code, Some(2), "{out:?}");
    let port = rcli::modes::sandbox::free_port().unwrap().to_string();
    let out = rcli_run(&home, &["top", "--once", "-p", &port], "");
    assert_eq!(out.code, Some(1), "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stdout.is_empty());
    let out = rcli_run(&home, &["top", "--help"], "");
    assert_eq!(out.code, Some(0));
    assert!(out.text().contains("--once"));
}

/// stdout a pipe, no `--once`: a JSON frame per interval until Ctrl-C (exit 130).
#[test]
fn frames_on_a_pipe_until_ctrl_c() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let home = Home::new();
    let mut cmd = rcli(&home);
    cmd.args(["top", "--json", "-i", "0.2", "-p", &server.port().to_string()]);
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for round in 1..=3 {
        let line = lines.next().unwrap().unwrap();
        let frame: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(frame["round"], round);
    }
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let status = exited_within(&mut child, Duration::from_secs(10)).expect("Ctrl-C ends it");
    assert_eq!(status.code(), Some(130));
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(stderr.is_empty(), "{stderr}");
}

/// The live view in a pseudo-terminal, rendered by a terminal emulator.
struct Live {
    p: PtySession,
    screen: vt100::Parser,
}

impl Live {
    fn start(home: &Home, args: &[&str]) -> Live {
        let words: Vec<&str> = std::iter::once("top").chain(args.iter().copied()).collect();
        Live::rcli(home, &words)
    }

    /// rcli with `words` in a 45 × 200 pty read through a terminal emulator.
    fn rcli(home: &Home, words: &[&str]) -> Live {
        let mut cmd = Command::new("sh");
        hermetic(&mut cmd, &home.path);
        let quoted: Vec<String> = words.iter().map(|a| format!("'{a}'")).collect();
        let line = format!("stty rows 45 cols 200; exec '{}' {}", rcli_bin().display(), quoted.join(" "));
        cmd.env("TERM", "xterm").args(["-c", &line]);
        let p = spawn_command(cmd, Some(20_000)).expect("spawn rcli top in a pty");
        let size = |n: u16| std::num::NonZeroU16::new(n).unwrap();
        Live { p, screen: vt100::Parser::new(size(45), size(200), 0) }
    }

    /// Feeds what arrived to the emulator (rexpect hands each byte over as a char).
    fn pump(&mut self) {
        let mut bytes = Vec::new();
        while let Some(c) = self.p.try_read() {
            bytes.push(u8::try_from(u32::from(c)).unwrap_or(b'?'));
        }
        self.screen.process(&bytes);
    }

    fn contents(&mut self) -> String {
        self.pump();
        self.screen.screen().contents()
    }

    /// Waits (at most `limit`) until the screen satisfies `done`; returns it.
    fn wait(&mut self, what: &str, limit: Duration, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let text = self.contents();
            if done(&text) {
                return text;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}; the screen:\n{text}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn send(&mut self, keys: &str) {
        self.p.send(keys).unwrap();
        self.p.flush().unwrap();
    }
}

/// The screen line of the node table naming `endpoint` (its row).
fn row<'a>(screen: &'a str, endpoint: &Endpoint) -> &'a str {
    let name = endpoint.to_string();
    screen.lines().find(|l| l.contains(&name) && (l.contains("primary") || l.contains("replica"))).unwrap_or("")
}

/// `now HH:MM:SS` in the heading.
fn clock(screen: &str) -> String {
    screen.split("now ").nth(1).map(|rest| rest.chars().take(8).collect()).unwrap_or_default()
}

#[test]
fn the_live_view_follows_a_kill_and_a_stop() {
    if !have_redis() {
        return;
    }
    let mut cluster = cluster(3, 1);
    let home = Home::new();
    fill(&home, &cluster, 100);
    let seed = cluster.port(0).to_string();
    let mut live = Live::start(&home, &["-c", "-p", &seed]);
    let all: Vec<Endpoint> = (0..cluster.nodes.len()).map(|i| cluster.endpoint(i)).collect();
    live.wait("every node", Duration::from_secs(20), |s| {
        s.contains("6 nodes, 6 answering") && all.iter().all(|e| !row(s, e).is_empty())
    });

    // The keys: sort, filter, pause.
    live.send("s");
    live.wait("sorted by ops/s", Duration::from_secs(5), |s| s.contains("ops/s▼") && s.contains("s sort (ops/s ▼)"));
    live.send(&format!("/{}", cluster.port(1)));
    live.wait("one node left by the filter", Duration::from_secs(5), |s| s.contains("nodes (1 shown of 6)"));
    live.send("\r");
    live.send("\x1b");
    live.wait("the filter dropped", Duration::from_secs(5), |s| s.contains("nodes (6 shown of 6)"));
    live.send(" ");
    live.wait("paused", Duration::from_secs(5), |s| s.contains("PAUSED"));
    live.send(" ");
    live.wait("running again", Duration::from_secs(5), |s| !s.contains("PAUSED"));

    // kill -9 of a primary: marked, then its replica takes over (node timeout 2 s).
    let topology = topology(&cluster, 0);
    let killed = cluster.endpoint(0);
    let replica = topology.shards.iter().find(|s| s.primary.as_ref().unwrap().endpoint == killed).unwrap().replicas[0]
        .endpoint
        .clone();
    cluster.nodes[0].kill();
    let failover = format!("failover: {replica} took over from {killed}");
    let screen = live.wait("the failover", Duration::from_secs(60), |s| {
        s.contains(&failover) && row(s, &replica).contains("primary") && row(s, &killed).contains("DOWN")
    });
    assert!(screen.contains(&format!("{killed} stopped answering")), "{screen}");

    // SIGSTOP of another primary: silent, then down, while the clock keeps moving.
    let frozen = cluster.endpoint(1);
    signal(&cluster.nodes[1], "STOP");
    let screen = live.wait("the frozen node marked", Duration::from_secs(30), |s| row(s, &frozen).contains("silent"));
    let before = clock(&screen);
    live.wait("the clock to move", Duration::from_secs(10), |s| clock(s) != before && row(s, &frozen).contains(' '));
    let screen = live.wait("the frozen node down", Duration::from_secs(30), |s| row(s, &frozen).contains("DOWN"));
    assert!(screen.contains(&format!("{frozen} is down: no answer for")), "{screen}");
    let before = clock(&screen);
    live.wait("the clock to move again", Duration::from_secs(10), |s| clock(s) != before);
    signal(&cluster.nodes[1], "CONT");

    // q: rcli ends and the terminal is given back (main screen, cursor shown).
    live.send("q");
    let rest = live.p.exp_eof().unwrap();
    let bytes: Vec<u8> = rest.chars().map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')).collect();
    live.screen.process(&bytes);
    assert!(!live.screen.screen().alternate_screen(), "the alternate screen is left");
    assert!(!live.screen.screen().hide_cursor(), "the cursor is shown again");
}

/// `:top` in the shell: the live view over the session's own connection shows every
/// node, `q` gives the prompt back and the shell still answers; piped into rcli it is
/// refused with one line (it would never end).
#[test]
fn top_in_the_shell_and_back_to_the_prompt() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 0);
    let home = Home::new();
    let seed = cluster.port(0).to_string();
    let mut live = Live::rcli(&home, &["-c", "-p", &seed]);
    let prompt = format!("127.0.0.1:{seed}>");
    live.wait("the prompt", Duration::from_secs(20), |s| s.contains(&prompt));
    live.send(":top\r");
    live.wait("every node in the view", Duration::from_secs(30), |s| {
        (0..3).all(|i| row(s, &cluster.endpoint(i)).contains("primary"))
    });
    live.send("q");
    live.wait("the view gone", Duration::from_secs(10), |s| row(s, &cluster.endpoint(1)).is_empty());
    live.send("dbsize\r");
    live.wait("the shell answering", Duration::from_secs(10), |s| s.contains("(integer) "));
    live.send("quit\r");
    let _ = live.p.exp_eof();

    let piped = rcli_run(&home, &["-c", "-p", &seed], ":top\n");
    assert_eq!(piped.code, Some(0), "{}", piped.stderr);
    assert!(piped.text().starts_with(":top needs a terminal"), "{}", piped.text());
}
