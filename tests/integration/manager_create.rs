//! Side by side with redis-cli 7.0.15 (valkey-cli 8.1 on the Valkey pass): `create` (S1 of docs/cluster-manager.md's test
//! plan) with its refusals, then `info`, `check` and `call` (S2), `help` (S9) and the
//! argument edge cases (S10).

use crate::eqnice;
use crate::manager::*;
use crate::util::*;

#[test]
fn create_refusals_and_a_declined_plan_match_redis_cli() {
    if !have_redis() {
        return;
    }
    let _one = serial();
    let pair = Pair::start(8);
    // 5 nodes cannot make 3 masters with 1 replica each.
    let (r, x) =
        pair.both(&["--cluster", "create", "{p0}", "{p1}", "{p2}", "{p3}", "{p4}", "--cluster-replicas", "1"], "");
    assert_eq!((r.code, x.code), (Some(1), Some(1)));
    let (rn, xn) = pair.normalized(&r, &x);
    match yardstick() {
        Yardstick::RedisCli => eqnice!(rn, xn),
        // valkey-cli 8 offers 2 primaries with a replica each and asks first (no answer:
        // exit 1); rcli refuses as redis-cli 7.0 does (docs/compatibility.md).
        Yardstick::ValkeyCli => assert!(
            rn.contains("Requested to create a cluster with 2 primaries and 1 replicas per primary.\n")
                && rn.contains("requires at least 3 primary nodes for automatic failover. Are you sure?"),
            "{rn}"
        ),
    }
    assert!(xn.contains("*** At least 6 nodes are required."), "{xn}");
    // Declined: the plan is printed, nothing changes, exit 0.
    let args = ["--cluster", "create", "{p0}", "{p1}", "{p2}", "{p3}", "{p4}", "{p5}", "--cluster-replicas", "1"];
    let (r, x) = pair.both(&args, "no\n");
    assert_eq!((r.code, x.code), (Some(0), Some(0)), "{}", x.stderr);
    let (rn, xn) = pair.normalized(&r, &x);
    eqnice!(mask_replicates(&rn), mask_replicates(&xn));
    assert!(xn.ends_with("Can I set the above configuration? (type 'yes' to accept): "), "{xn}");
    for side in [&pair.r, &pair.x] {
        assert!(side.cmd(0, &["CLUSTER", "INFO"]).contains("cluster_known_nodes:1"));
    }
    // A node that knows another node is not empty.
    for side in [&pair.r, &pair.x] {
        side.cmd(6, &["CLUSTER", "MEET", "127.0.0.1", "{port7}"]);
    }
    wait_for("the meet", std::time::Duration::from_secs(10), || {
        pair.x.cmd(6, &["CLUSTER", "INFO"]).contains("cluster_known_nodes:2")
            && pair.r.cmd(6, &["CLUSTER", "INFO"]).contains("cluster_known_nodes:2")
    });
    let (r, x) = pair.both(&["--cluster", "create", "{p0}", "{p1}", "{p6}"], "");
    assert_eq!((r.code, x.code), (Some(1), Some(1)));
    let (rn, xn) = pair.normalized(&r, &x);
    eqnice!(rn, xn);
    assert!(xn.contains("[ERR] Node 127.0.0.1:p6 is not empty."), "{xn}");
    // A word that is not host:port.
    let (r, x) = pair.both(&["--cluster", "create", "nonsense", "{p1}", "{p2}"], "");
    // A usage error: rcli exits 2 (docs/compatibility.md), redis-cli 1.
    assert_eq!((r.code, x.code), (Some(1), Some(2)));
    assert_eq!(r.stderr, x.stderr);
}

#[test]
fn create_3_3_then_info_check_and_call_match_redis_cli() {
    if !have_redis() {
        return;
    }
    let _one = serial();
    let pair = Pair::start(6);
    let (r, x) = pair.both(&CREATE_3_3, "");
    assert_eq!((r.code, x.code), (Some(0), Some(0)), "{}\n{}", x.text(), x.stderr);
    let (rn, xn) = pair.normalized(&r, &x);
    eqnice!(blocks_sorted(&mask_replicates(&rn)), blocks_sorted(&mask_replicates(&xn)));
    for line in [
        ">>> Performing hash slots allocation on 6 nodes...",
        "Master[0] -> Slots 0 - 5460",
        "Master[1] -> Slots 5461 - 10922",
        "Master[2] -> Slots 10923 - 16383",
        "Adding replica 127.0.0.1:p4 to 127.0.0.1:p0",
        "Adding replica 127.0.0.1:p5 to 127.0.0.1:p1",
        "Adding replica 127.0.0.1:p3 to 127.0.0.1:p2",
        "[WARNING] Some slaves are in the same host as their master",
        "Waiting for the cluster to join",
        "[OK] All 16384 slots covered.",
    ] {
        assert!(xn.lines().any(|l| l == vocabulary(line)), "rcli's create lacks {line:?}:\n{xn}");
    }
    pair.r.wait_healthy(6);
    pair.x.wait_healthy(6);
    for side in [&pair.r, &pair.x] {
        let shape = side.shape(6);
        assert_eq!(shape[..3].iter().map(|s| s.0).collect::<Vec<_>>(), [5461, 5462, 5461]);
        assert_eq!(side.ranges(0), ["0-5460"]);
        assert_eq!(side.ranges(2), ["10923-16383"]);
        let mut masters: Vec<usize> = shape[3..].iter().filter_map(|s| s.1).collect();
        masters.sort_unstable();
        assert_eq!(masters, [0, 1, 2], "each master has exactly one replica");
        assert_check_passes(side, 0);
    }
    // info on an empty cluster, then with keys.
    let (r, x) = pair.both(&["--cluster", "info", "{p0}"], "");
    assert_eq!((r.code, x.code), (Some(0), Some(0)));
    let (rn, xn) = pair.normalized(&r, &x);
    eqnice!(sorted_lines(&rn), sorted_lines(&xn));
    assert!(xn.contains(&vocabulary("[OK] 0 keys in 3 masters.\n0.00 keys per slot on average.\n")), "{xn}");
    pair.r.load(&pair.home, 3000);
    pair.x.load(&pair.home, 3000);
    pair.r.wait_healthy(6);
    pair.x.wait_healthy(6);
    let (r, x) = pair.both(&["--cluster", "info", "127.0.0.1", "{port0}"], "");
    let (rn, xn) = pair.normalized(&r, &x);
    eqnice!(sorted_lines(&rn), sorted_lines(&xn));
    assert!(xn.contains(&vocabulary("[OK] 3000 keys in 3 masters.\n0.18 keys per slot on average.\n")), "{xn}");
    let (r, x) = pair.both(&["--cluster", "check", "{p1}"], "");
    assert_eq!((r.code, x.code), (Some(0), Some(0)));
    let (rn, xn) = pair.normalized(&r, &x);
    eqnice!(blocks_sorted(&sorted_info(&rn)), blocks_sorted(&sorted_info(&xn)));
    // Options before --cluster, as redis-cli reads them.
    let x2 = pair.x.run(&pair.home, &["--cluster-search-multiple-owners", "--cluster", "check", "{p1}"], "");
    assert_eq!(x2.code, Some(0));
    assert!(x2.text().contains("[OK] No multiple owners found."), "{}", x2.text());
    // call: every node, masters only, an error reply (still exit 0).
    for args in [
        vec!["--cluster", "call", "{p0}", "DBSIZE"],
        vec!["--cluster", "call", "{p0}", "CONFIG", "GET", "maxmemory", "--cluster-only-masters"],
        vec!["--cluster", "call", "{p0}", "NOSUCHCMD"],
        vec!["--cluster", "call", "{p0}", "ROLE", "--cluster-only-replicas"],
        // An option call ignores: silent, as in redis-cli (Pair::both compares stderr).
        vec!["--cluster-yes", "--cluster", "call", "{p0}", "DBSIZE"],
    ] {
        let (r, x) = pair.both(&args, "");
        assert_eq!((r.code, x.code), (Some(0), Some(0)), "{args:?}");
        let (rn, xn) = pair.normalized(&r, &x);
        // redis-cli pairs replicas at random (anti-affinity swaps): a replica's answer
        // is compared without its name.
        let unnamed = |t: &str| {
            ["p3", "p4", "p5"]
                .iter()
                .fold(t.to_string(), |t, p| t.replace(&format!("127.0.0.1:{p}: "), "127.0.0.1:replica: "))
        };
        // A replica's ROLE ends with its replication offset, which depends on when the
        // primary last pinged it and on the manager's own lock writes: not compared.
        let offsetless = |t: String| {
            if !args.contains(&"ROLE") {
                return t;
            }
            t.lines()
                .map(|l| if l.bytes().all(|b| b.is_ascii_digit()) { "N" } else { l })
                .collect::<Vec<_>>()
                .join("\n")
        };
        eqnice!(call_sorted(&offsetless(unnamed(&rn))), call_sorted(&offsetless(unnamed(&xn))));
    }
    // With -v rcli says what it ignored.
    let told = pair.x.run(&pair.home, &["-v", "--cluster-yes", "--cluster", "call", "{p0}", "PING"], "");
    assert_eq!(told.stderr, "rcli: --cluster-yes is ignored by call\n");
    let x = pair.x.run(&pair.home, &["--cluster", "call", "{p0}", "DBSIZE", "--cluster-only-masters"], "");
    assert_eq!(x.text().lines().filter(|l| l.starts_with("127.0.0.1:")).count(), 3, "{}", x.text());
    // The shell's :cluster check and :cluster info run the same check.
    let shell = rcli_run(&pair.home, &["-c", "-p", &pair.x.port(2).to_string()], ":cluster check\n:cluster info\n");
    let text = pair.x.normalize(&shell.text());
    assert!(text.contains(">>> Performing Cluster Check (using node 127.0.0.1:p2)\n"), "{text}");
    assert!(text.contains("[OK] All 16384 slots covered.\n"), "{text}");
    assert!(text.ends_with(&vocabulary("[OK] 3000 keys in 3 masters.\n0.18 keys per slot on average.\n")), "{text}");
}

fn sorted_lines(text: &str) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort_unstable();
    lines.join("\n")
}

/// `call` prints one block per node in load order: compare the blocks as a set.
fn call_sorted(text: &str) -> String {
    let mut blocks: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.starts_with("127.0.0.1:") || blocks.is_empty() {
            blocks.push(line.to_string());
        } else if let Some(last) = blocks.last_mut() {
            last.push('\n');
            last.push_str(line);
        }
    }
    let head = blocks.remove(0);
    blocks.sort();
    format!("{head}\n{}", blocks.join("\n"))
}

#[test]
fn help_and_argument_edge_cases_match_redis_cli() {
    if !have_redis() {
        return;
    }
    let home = Home::new();
    let r = redis_cli_run(&["--cluster", "help"], b"");
    let x = rcli_run(&home, &["--cluster", "help"], "");
    assert_eq!((r.code, x.code), (Some(1), Some(0)), "help exits 0 in rcli (docs/compatibility.md)");
    let rcli_part = x.text().split("rcli options:").next().unwrap_or_default().to_string();
    // valkey-cli 8.1's help names add-node's option `--cluster-primaries-id`, which it
    // does not accept (it reads --cluster-primary-id, and --cluster-master-id).
    let theirs = vocabulary(&r.text()).replace("--cluster-primaries-id", "--cluster-primary-id");
    eqnice!(theirs, vocabulary(&rcli_part));
    for (args, message) in [
        (
            vec!["--cluster", "call", "127.0.0.1:1", "INCRBY", "k", "-1"],
            "Unrecognized option or bad number of args for: '-1'\n",
        ),
        (vec!["--cluster", "foo"], "Unknown --cluster subcommand\n"),
        (
            vec!["--cluster", "del-node", "127.0.0.1:1"],
            "[ERR] Wrong number of arguments for specified --cluster sub command\n",
        ),
        (
            vec!["--cluster", "check", "nocolon"],
            "[ERR] Invalid arguments: you need to pass either a valid address (ie. 120.0.0.1:7000) or space separated IP and port (ie. 120.0.0.1 7000)\n",
        ),
        (
            vec!["--cluster", "set-timeout", "127.0.0.1:1", "50"],
            "Setting a node timeout of less than 100 milliseconds is a bad idea.\n",
        ),
        (
            vec!["--cluster", "import", "127.0.0.1:1"],
            "[ERR] Option '--cluster-from' is required for subcommand 'import'.\n",
        ),
    ] {
        let r = redis_cli_run(&args, b"");
        let x = rcli_run(&home, &args, "");
        // Usage errors: rcli exits 2 as everywhere else (docs/compatibility.md), redis-cli 1.
        assert_eq!((r.code, x.code), (Some(1), Some(2)), "{args:?}: {}", x.stderr);
        assert_eq!(r.stderr, message, "redis-cli {args:?}");
        assert_eq!(x.stderr, message, "rcli {args:?}");
    }
    // An unreachable node: redis-cli's connect error on stderr, exit 1.
    let r = redis_cli_run(&["--cluster", "info", "127.0.0.1:1"], b"");
    let x = rcli_run(&home, &["--cluster", "info", "127.0.0.1:1"], "");
    assert_eq!((r.code, x.code), (Some(1), Some(1)));
    assert_eq!(vocabulary(&r.stderr), vocabulary(&x.stderr));
}

/// One node's view: per node id, its role, its primary and its slot tokens (sorted).
fn roles_and_slots(view: &str) -> std::collections::BTreeMap<String, (bool, String, Vec<String>)> {
    view.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let flags = fields.get(2)?;
            let mut slots: Vec<String> = fields
                .get(8..)
                .unwrap_or_default()
                .iter()
                .filter(|t| !t.starts_with('['))
                .map(|t| t.to_string())
                .collect();
            slots.sort();
            let replica = flags.split(',').any(|f| f == "slave");
            Some((fields[0].to_string(), (replica, fields.get(3)?.to_string(), slots)))
        })
        .collect()
}

#[test]
fn when_create_returns_every_node_agrees_on_slots_and_roles() {
    if !have_redis() {
        return;
    }
    let _one = serial();
    let side = Side::start(6, Tool::Rcli, &[]);
    let home = Home::new();
    let out = side.run(&home, &CREATE_3_3, "");
    assert_eq!(out.code, Some(0), "{}{}", out.text(), out.stderr);
    // At once, no waiting: each node's CLUSTER NODES.
    let views: Vec<_> = (0..6).map(|i| roles_and_slots(&side.cmd(i, &["CLUSTER", "NODES"]))).collect();
    let reference = &views[0];
    assert_eq!(reference.len(), 6, "{reference:?}");
    let primaries: Vec<&String> = reference.iter().filter(|(_, (replica, _, _))| !replica).map(|(id, _)| id).collect();
    assert_eq!(primaries.len(), 3, "{reference:?}");
    let mut attached: Vec<&String> = reference.values().filter(|(replica, _, _)| *replica).map(|(_, p, _)| p).collect();
    attached.sort();
    let mut expected = primaries.clone();
    expected.sort();
    assert_eq!(attached, expected, "one replica per primary: {reference:?}");
    for (i, view) in views.iter().enumerate() {
        assert_eq!(view, reference, "node {i} sees another cluster than node 0");
    }
    // And every node serves: a primary waits 2 s after its start before it does, which
    // a create done within a second would not wait for (CLUSTERDOWN to the next client).
    for i in 0..6 {
        let info = side.cmd(i, &["CLUSTER", "INFO"]);
        assert!(info.contains("cluster_state:ok"), "node {i} right after create: {info}");
    }
}

/// `CLUSTER MEET` calls node `i` has served since it started.
fn meets_served(side: &Side, i: usize) -> u64 {
    let stats = side.cmd(i, &["INFO", "commandstats"]);
    let line = stats.lines().find(|l| l.starts_with("cmdstat_cluster|meet:")).unwrap_or_default();
    line.split([':', ',']).find_map(|f| f.strip_prefix("calls=")).and_then(|n| n.parse().ok()).unwrap_or(0)
}

/// `count` nodes with a minute-long node timeout (gossip alone is slow), nodes 0-5
/// created 3+3 by rcli.
fn created_slow_gossip(count: usize) -> (Side, Home) {
    let side = Side::start(count, Tool::Rcli, &["cluster-node-timeout 60000"]);
    let home = Home::new();
    let out = side.run(&home, &CREATE_3_3, "");
    assert_eq!(out.code, Some(0), "{}{}", out.text(), out.stderr);
    (side, home)
}

/// create hurries gossip (docs/cluster-manager.md, "create"): besides the MEETs that
/// join every node to the first, a node that another does not see as planned yet is
/// told to MEET that one, so it hears the node's slots and role at once instead of at
/// their next ping (minutes at hundreds of nodes, with this minute-long node timeout).
#[test]
fn create_tells_nodes_to_meet_those_that_do_not_see_them_yet() {
    if !have_redis() {
        return;
    }
    let _one = serial();
    let (side, _home) = created_slow_gossip(6);
    let meets: Vec<u64> = (0..6).map(|i| meets_served(&side, i)).collect();
    // The join alone is five MEETs (nodes 1-5 meet node 0); the first look finds views
    // behind (a handshake takes a cron tick of 100 ms), which are nudged.
    assert!(meets.iter().sum::<u64>() > 5, "MEETs served per node: {meets:?}");
    let views: Vec<_> = (0..6).map(|i| roles_and_slots(&side.cmd(i, &["CLUSTER", "NODES"]))).collect();
    for (i, view) in views.iter().enumerate() {
        assert_eq!(view, &views[0], "node {i} sees another cluster than node 0");
    }
}

/// add-node of a master hurries gossip too: the nodes that do not list the new node
/// yet are met by it, so it is not left to learn of them one ping at a time, and when
/// add-node returns every node lists it.
#[test]
fn add_node_has_the_new_node_meet_those_that_do_not_know_it_yet() {
    if !have_redis() {
        return;
    }
    let _one = serial();
    let (side, home) = created_slow_gossip(7);
    let add = side.run(&home, &["--cluster", "add-node", "{p6}", "{p0}"], "");
    assert_eq!(add.code, Some(0), "{}{}", add.text(), add.stderr);
    assert!(!add.stderr.contains("not every node knows"), "{}", add.stderr);
    // One MEET asks it to join through node 0; the rest are nudges.
    assert!(meets_served(&side, 6) > 1, "MEETs the new node served: {}", meets_served(&side, 6));
    for i in 0..7 {
        let view = side.cmd(i, &["CLUSTER", "NODES"]);
        let line = view.lines().find(|l| l.starts_with(&side.ids[6])).unwrap_or_default();
        assert!(line.contains(" master ") || line.contains("myself,master"), "node {i} lists the new node: {view}");
        assert!(!view.contains("handshake"), "node {i}: {view}");
    }
}
