//! The sandbox lab, typed for real in a pseudo-terminal: `:kill`, `:stop`, `:restart`,
//! `:pause`, `:failover`, `:consistency on|off`, the watcher's lines above the prompt,
//! the prompt following a failover, `:nodes` showing what the lab did; each effect
//! checked on the servers themselves. And the refusal of every lab command in a
//! session that `rcli sandbox` did not start.

use std::process::Command;
use std::time::{Duration, Instant};

use rexpect::session::{PtySession, spawn_command};

use crate::util::*;
use rcli::endpoint::Endpoint;

/// An `rcli sandbox` (3+3) in a pty, its six ports (primaries first) and its directory.
struct Sandbox {
    p: PtySession,
    ports: Vec<u16>,
    dir: String,
}

fn sandbox(home: &Home) -> Sandbox {
    let mut cmd = Command::new(rcli_bin());
    hermetic(&mut cmd, &home.path);
    cmd.env("TERM", "xterm").arg("sandbox");
    let mut p = spawn_command(cmd, Some(30_000)).expect("spawn rcli sandbox");
    let (_, dir) = p.exp_regex(r"/\S*rcli-cluster-\S+").unwrap();
    let dir = dir.trim_end_matches(':').to_string();
    let (banner, _) = p.exp_regex(r"127\.0\.0\.1:\d+> ").unwrap();
    let ports: Vec<u16> = banner
        .lines()
        .filter_map(|l| l.trim().strip_prefix("127.0.0.1:"))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    assert_eq!(ports.len(), 6, "{banner}");
    settle();
    Sandbox { p, ports, dir }
}

fn node(port: u16) -> Endpoint {
    Endpoint::tcp("127.0.0.1", port)
}

/// The first line of `ROLE` (`master`, `slave`), or why there is none.
fn role(port: u16) -> String {
    match rcli::client::pool::call(&node(port), &["ROLE"], Duration::from_millis(500)) {
        Ok(reply) => reply.as_items().and_then(|items| items.first()).map(text).unwrap_or_default(),
        Err(e) => format!("no answer: {e}"),
    }
}

fn answers(port: u16) -> bool {
    rcli::client::pool::call(&node(port), &["PING"], Duration::from_millis(500)).is_ok()
}

/// Refused at once: no process listens any more (a stopped one would accept and stay silent).
fn refused(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(&std::net::SocketAddr::from(([127, 0, 0, 1], port)), Duration::from_secs(1))
        .is_err()
}

/// Redis-servers still running in `dir` (their working directory: redis-server
/// rewrites its command line), and whether each is stopped (state `T`).
fn servers_in(dir: &str) -> Vec<(String, bool)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let cwd = std::fs::read_link(entry.path().join("cwd")).unwrap_or_default();
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.starts_with("redis-server") && cwd == std::path::Path::new(dir) {
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            let stopped = stat.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('T'));
            found.push((cmdline, stopped));
        }
    }
    found
}

/// `:kill` of foo's primary: the watcher's lines (suspected, failed, taken over), the
/// prompt following the replica, `:nodes` saying "killed", then `:restart`: the node
/// answers again as a replica of the new primary. `:stop` is clean (its RDB file is
/// written) and `:restart` after it too. Leaving the shell leaves nothing running.
#[test]
fn lab_kill_restart_stop_with_the_clusters_reactions_above_the_prompt() {
    if !have_redis() {
        return;
    }
    let home = Home::new();
    let Sandbox { mut p, ports, dir } = sandbox(&home);
    assert_eq!(servers_in(&dir).len(), 6, "the sandbox's servers are found by their directory");
    p.send_and_expect("set foo bar", &["OK"]);
    // foo (slot 12182) is on the third primary; its replica is the sixth node.
    let (primary, replica) = (ports[2], ports[5]);
    p.exp_string(&format!("127.0.0.1:{primary}> ")).unwrap();
    settle();
    p.send_and_expect(
        ":kill primary-of foo",
        &[&format!("killed 127.0.0.1:{primary} (primary of 10922-16383) with SIGKILL")],
    );
    assert!(refused(primary), "the process is gone");
    p.exp_string(&format!("127.0.0.1:{primary} is marked failed (FAIL)")).unwrap();
    p.exp_string(&format!("127.0.0.1:{replica} took over slots 10922-16383 from 127.0.0.1:{primary} (failover)"))
        .unwrap();
    assert_eq!(role(replica), "master");
    settle();
    p.send_and_expect(":nodes", &[&format!("-> the prompt follows 127.0.0.1:{replica}")]);
    p.exp_regex(&format!(r"127\.0\.0\.1:{primary} +\S+ .*killed")).unwrap();
    p.exp_string(&format!("127.0.0.1:{replica}> ")).unwrap();
    settle();
    p.send_and_expect("get foo", &["\"bar\""]);
    settle();

    p.send_line(&format!(":restart {primary}")).unwrap();
    // The watcher may see the node answer before the restart's own line is printed.
    let (restarted, answers) =
        (format!("restarted 127\\.0\\.0\\.1:{primary}"), format!("127\\.0\\.0\\.1:{primary} answers again"));
    p.exp_regex(&format!("(?s)({restarted}.*{answers}|{answers}.*{restarted})")).unwrap();
    wait_for("the restarted node to be a replica", Duration::from_secs(20), || role(primary) == "slave");
    settle();

    // A clean stop of a replica, named by the start of its id (the id column of
    // `:nodes`): SHUTDOWN SAVE writes its own RDB file.
    let other = ports[3];
    let id = text(&rcli::client::pool::call(&node(other), &["CLUSTER", "MYID"], Duration::from_secs(2)).unwrap());
    p.send_and_expect(
        &format!(":stop {}", &id[..8]),
        &[&format!("stopped 127.0.0.1:{other} (replica of 127.0.0.1:{}) cleanly", ports[0])],
    );
    assert!(refused(other));
    assert!(std::path::Path::new(&dir).join(format!("dump-{other}.rdb")).exists(), "SHUTDOWN SAVE wrote its file");
    p.exp_string(&format!("127.0.0.1:{other} stopped answering")).unwrap();
    settle();
    p.send_and_expect(&format!(":restart {other}"), &["restarted"]);
    wait_for("the stopped replica to be back", Duration::from_secs(20), || role(other) == "slave");
    settle();
    // A small number is neither a port nor an id prefix, whatever the ids are.
    p.send_and_expect(":restart 1", &["(error) no sandbox node '1' (NODE: HOST:PORT or PORT"]);
    settle();
    p.send_control('d').unwrap();
    let _ = p.exp_eof();
    wait_for("every server to be gone", Duration::from_secs(15), || servers_in(&dir).is_empty());
}

/// `:pause` freezes a node for the time given and resumes it by itself; a replica
/// takes over meanwhile. `:failover` is refused on a primary and works on a replica.
/// A node paused when the shell ends is not left stopped.
#[test]
fn lab_pause_resumes_by_itself_failover_and_nothing_left_stopped() {
    if !have_redis() {
        return;
    }
    let home = Home::new();
    let Sandbox { mut p, ports, dir } = sandbox(&home);
    let (first, its_replica) = (ports[0], ports[3]);
    let started = Instant::now();
    p.send_and_expect(
        &format!(":pause {first} 8"),
        &[&format!("paused 127.0.0.1:{first} (primary of 0-5460) with SIGSTOP for 8 s")],
    );
    assert!(!answers(first), "frozen");
    assert!(!refused(first), "frozen, not gone");
    p.exp_string(&format!("127.0.0.1:{its_replica} took over slots 0-5460")).unwrap();
    p.exp_string(&format!("127.0.0.1:{first} answers again")).unwrap();
    assert!(started.elapsed() >= Duration::from_secs(7), "it stayed paused: {:?}", started.elapsed());
    // It comes back as a replica of the node that took over (the watcher may first
    // see it still calling itself a primary).
    wait_for("the resumed node to be a replica", Duration::from_secs(20), || role(first) == "slave");
    assert!(answers(first));
    // A manual failover needs a replica in sync with its primary.
    wait_for("the old primary to sync as a replica", Duration::from_secs(20), || {
        rcli::client::pool::call(&node(first), &["INFO", "replication"], Duration::from_millis(500))
            .is_ok_and(|info| text(&info).contains("master_link_status:up"))
    });
    settle();

    p.send_line(&format!(":failover {its_replica}")).unwrap();
    p.exp_string(&format!(
        "127.0.0.1:{its_replica} is a primary: CLUSTER FAILOVER goes to one of its replicas (try 127.0.0.1:{first})"
    ))
    .unwrap();
    settle();
    p.send_and_expect(
        &format!(":failover {first}"),
        &[
            &format!("127.0.0.1:{first} accepted CLUSTER FAILOVER (OK)"),
            &format!("127.0.0.1:{first} took over slots 0-5460 from 127.0.0.1:{its_replica}"),
        ],
    );
    wait_for("the manual failover", Duration::from_secs(10), || role(first) == "master");
    settle();
    p.send_and_expect(":failover 127.0.0.1:1 sideways", &["(error) no sandbox node"]);
    settle();
    p.send_and_expect(&format!(":pause {} 601", ports[1]), &["usage: :pause NODE SECONDS"]);
    settle();

    // Paused for a minute, then the shell ends: every server goes, none stays stopped.
    p.send_and_expect(&format!(":pause {} 60", ports[1]), &["with SIGSTOP for 60 s"]);
    assert!(servers_in(&dir).iter().any(|(_, stopped)| *stopped), "one server is stopped");
    settle();
    p.send_line("quit").unwrap();
    let _ = p.exp_eof();
    wait_for("every server to be gone", Duration::from_secs(15), || servers_in(&dir).is_empty());
}

/// `:consistency on` runs the checker in the background, its lines above the prompt,
/// while a primary is killed; `:consistency off` ends it with its verdict.
#[test]
fn lab_consistency_runs_in_the_background_while_a_primary_dies() {
    if !have_redis() {
        return;
    }
    let home = Home::new();
    let Sandbox { mut p, ports, dir } = sandbox(&home);
    p.send_and_expect(":consistency on", &["consistency checker started"]);
    p.exp_regex(r"\[consistency\] \d+ R \(0 err\) \| \d+ W \(0 err\) \| 0 lost \| 0 not acked").unwrap();
    settle();
    p.send_and_expect(
        &format!(":kill {}", ports[1]),
        &["killed", &format!("took over slots 5461-10921 from 127.0.0.1:{}", ports[1]), "[consistency] +"],
    );
    p.exp_regex(&format!(r"window closed: 127\.0\.0\.1:{}'s slots unavailable for", ports[1])).unwrap();
    p.exp_regex(r"\[consistency\] \d+ R").unwrap();
    settle();
    p.send_and_expect(":consistency on", &["already running"]);
    settle();
    p.send_and_expect(
        ":consistency off",
        &["[consistency] verdict: consistent", "1000 keys removed", "consistency checker stopped"],
    );
    settle();
    p.send_and_expect("dbsize", &["(integer) 0"]);
    settle();
    p.send_control('d').unwrap();
    let _ = p.exp_eof();
    wait_for("every server to be gone", Duration::from_secs(15), || servers_in(&dir).is_empty());
}

/// On a cluster the sandbox did not start, every lab command is one refusal line and
/// nothing happens to any node.
#[test]
fn lab_commands_are_refused_outside_the_sandbox() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 0);
    let home = Home::new();
    let port = cluster.port(0);
    let input = format!(
        ":kill {port}\n:stop {port}\n:restart {port}\n:pause {port} 5\n:failover {port}\n:consistency on\nping\n"
    );
    let out = rcli_run(&home, &["-c", "-p", &port.to_string()], &input);
    let shown = out.text();
    for name in [":kill", ":stop", ":restart", ":pause", ":failover", ":consistency"] {
        let line = format!(
            "(error) {name} is a lab command: it works only in a shell started by `rcli sandbox`, on the servers the sandbox started"
        );
        assert!(shown.contains(&line), "{name}: {shown}");
    }
    assert!(shown.ends_with("PONG\n"), "{shown}");
    for i in 0..3 {
        assert_eq!(text(&cluster.call(i, &["PING"]).unwrap()), "PONG");
    }
}
