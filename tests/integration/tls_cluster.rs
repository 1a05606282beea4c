//! TLS clusters: a 3+3 cluster in every mode and through a failover, nodes announcing
//! hostnames, a cluster reached only through `--address-map` with per-node TLS names
//! (the shell, and `rcli top`), and an IPv6 cluster.

use std::time::Duration;

use rcli::cluster::topology::Topology;
use rcli::endpoint::Endpoint;
use rcli::modes::sandbox::tls::{Authority, Validity};
use rcli::modes::sandbox::{Listen, ipv6_available};

use crate::tls::{Certs, args_with, owner_in, p, run_args, shell_args};
use crate::util::*;

/// A TLS 3+3 cluster: the tutorial session in the shell, Ctrl-C on a blocking command,
/// pub/sub, 50,000 piped lines, fan-out, `--scan` and a failover.
#[test]
fn a_tls_cluster_works_in_every_mode_and_through_a_failover() {
    if !have_redis() {
        return;
    }
    let certs = Certs::new(&[]);
    let mut cluster = LocalCluster::start_with(3, 1, certs.listen()).unwrap();
    let home = Home::new();
    let seed = cluster.port(0).to_string();
    let base = args_with(&certs.files.rcli_args(), &["-c", "-p", &seed]);
    let with = |rest: &[&str]| args_with(&base, rest);

    // The tutorial session, Ctrl-C on a blocking command, pub/sub.
    let mut p = shell_args(&home, &base);
    p.exp_string(&format!("127.0.0.1:{seed}> ")).unwrap();
    p.send_line("set foo bar").unwrap();
    let foo_owner = owner_in(&cluster, 0, "foo").unwrap();
    if foo_owner != cluster.endpoint(0) {
        p.exp_string(&format!("-> Redirected to slot [12182] located at {foo_owner}")).unwrap();
    }
    p.exp_string("OK").unwrap();
    p.send_and_expect("set hello world", &["OK"]);
    p.send_and_expect("get foo", &["\"bar\"", &format!("{foo_owner}> ")]);
    settle();
    p.send_line("blpop {foo}list 0").unwrap();
    std::thread::sleep(Duration::from_millis(500));
    p.send_control('c').unwrap();
    p.exp_string("(interrupted)").unwrap();
    p.exp_string(&format!("{foo_owner}> ")).unwrap();
    settle();
    p.send_and_expect("subscribe news", &["Reading messages"]);
    let foo_index = (0..cluster.nodes.len()).find(|&i| cluster.endpoint(i) == foo_owner).unwrap();
    wait_for("the subscription", Duration::from_secs(10), || {
        let reply = cluster.call(foo_index, &["PUBSUB", "NUMSUB", "news"]).unwrap();
        reply.as_items().and_then(|i| i.get(1)).and_then(|n| n.as_integer()) == Some(1)
    });
    let published = run_args(&home, &with(&["publish", "news", "hello-tls"]), "");
    assert_eq!(published.code, Some(0), "{}", published.stderr);
    p.exp_string("hello-tls").unwrap();
    p.send_control('c').unwrap();
    p.exp_string(&format!("{foo_owner}> ")).unwrap();
    settle();
    p.send_and_expect("get hello", &["\"world\""]);
    p.send_line("quit").unwrap();
    p.exp_eof().unwrap();

    // 50,000 piped lines, replies in input order.
    let mut script = String::new();
    for i in 0..50_000 {
        script.push_str(&format!("set key:{i} {i}\n"));
    }
    script.push_str("get key:49999\nget key:7\n");
    let piped = run_args(&home, &base, &script);
    assert_eq!(piped.code, Some(0), "{}", piped.stderr);
    let text = piped.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 50_002);
    assert!(lines[..50_000].iter().all(|l| *l == "OK"));
    assert_eq!(&lines[50_000..], ["49999", "7"]);

    // Fan-out and --scan.
    let dbsize = run_args(&home, &with(&["--target", "primaries", "dbsize"]), "");
    let total: i64 = dbsize.text().lines().filter_map(|l| l.trim().parse::<i64>().ok()).sum();
    assert!(total >= 50_002, "{}", dbsize.text());
    let scanned = run_args(&home, &with(&["--scan", "--pattern", "key:1234*"]), "");
    let text = scanned.text();
    let mut keys: Vec<&str> = text.lines().collect();
    keys.sort();
    let mut expected: Vec<String> = (0..10).map(|i| format!("key:1234{i}")).collect();
    expected.push("key:1234".into());
    expected.sort();
    assert_eq!(keys, expected);

    // A failover: the primary of {f} dies, its replica takes over, over TLS.
    let mut p = shell_args(&home, &base);
    p.send_and_expect("set {f}x 42", &["OK"]);
    p.send_and_expect("wait 1 2000", &["(integer) 1"]);
    let victim = owner_in(&cluster, 0, "{f}").unwrap();
    let victim_index = (0..3).find(|&i| cluster.endpoint(i) == victim).unwrap();
    cluster.nodes[victim_index].kill();
    let survivor = (victim_index + 1) % 3;
    wait_for("the replica to take over", Duration::from_secs(30), || {
        owner_in(&cluster, survivor, "{f}").is_some_and(|o| o != victim)
    });
    p.send_and_expect("get {f}x", &["\"42\""]);
    p.send_and_expect("incr {f}x", &["(integer) 43"]);
    p.send_line("quit").unwrap();
    p.exp_eof().unwrap();
}

/// Sets `config` on every node of `cluster` and waits until node 0's CLUSTER SHARDS
/// shows what `done` expects.
fn announce(cluster: &LocalCluster, config: impl Fn(usize) -> Vec<String>, done: impl Fn(&Topology) -> bool) {
    for i in 0..cluster.nodes.len() {
        let args = config(i);
        let argv: Vec<&str> = ["CONFIG", "SET"].into_iter().chain(args.iter().map(String::as_str)).collect();
        let reply = cluster.call(i, &argv).unwrap();
        assert!(reply.is_ok(), "{argv:?}: {reply:?}");
    }
    wait_for("the announced endpoints", Duration::from_secs(20), || {
        (0..cluster.nodes.len()).all(|i| {
            cluster
                .call(i, &["CLUSTER", "SHARDS"])
                .ok()
                .and_then(|r| Topology::from_shards_via(&r, &cluster.endpoint(i), true).ok())
                .is_some_and(|t| t.all_nodes().len() == cluster.nodes.len() && done(&t))
        })
    });
}

/// Nodes announcing `localhost` (cluster-announce-hostname, preferred endpoint type
/// hostname): rcli routes to `localhost:PORT` and checks each certificate for it.
#[test]
fn a_cluster_announcing_hostnames_is_routed_by_hostname() {
    if !have_redis() {
        return;
    }
    let certs = Certs::new(&[]);
    let cluster = LocalCluster::start_with(3, 0, certs.listen()).unwrap();
    announce(
        &cluster,
        |_| {
            ["cluster-announce-hostname", "localhost", "cluster-preferred-endpoint-type", "hostname"]
                .map(String::from)
                .to_vec()
        },
        |t| t.all_nodes().iter().all(|n| matches!(&n.endpoint, Endpoint::Tcp { host, .. } if host == "localhost")),
    );
    let home = Home::new();
    let seed = cluster.port(0).to_string();
    let base = args_with(&certs.files.rcli_args(), &["-c", "-p", &seed]);
    let script: String = (0..200).map(|i| format!("set host:{i} {i}\nget host:{i}\n")).collect();
    let out = run_args(&home, &args_with(&base, &["-v"]), &script);
    let expected: String = (0..200).map(|i| format!("OK\n{i}\n")).collect();
    assert_eq!(out.text(), expected, "{}", out.stderr);

    let mut p = shell_args(&home, &base);
    p.exp_string(&format!("127.0.0.1:{seed}> ")).unwrap();
    let owner = owner_in(&cluster, 0, "foo").unwrap();
    assert!(owner.to_string().starts_with("localhost:"), "{owner}");
    p.send_and_expect(
        "set foo bar",
        &[&format!("-> Redirected to slot [12182] located at {owner}"), "OK", &format!("{owner}> ")],
    );
    p.send_line("quit").unwrap();
    p.exp_eof().unwrap();
}

/// Nodes announcing names nothing resolves (`nodeN.rcli.test`), each with a certificate
/// for its own name only: reached through `--address-map` (and the rclirc file), each
/// connection checked against the node's own announced name (not one `--sni` for all).
#[test]
fn a_cluster_behind_an_address_map_gets_each_nodes_own_tls_name() {
    if !have_redis() {
        return;
    }
    let certs = Certs::new(&[]);
    let cluster = LocalCluster::start_with(3, 0, certs.listen()).unwrap();
    let authority = Authority::new("rcli per-node CA").unwrap();
    std::fs::write(&certs.files.ca, &authority.cert_pem).unwrap();
    let name = |i: usize| format!("node{i}.rcli.test");
    for i in 0..3 {
        let (cert, key) = authority.issue(&[&name(i)], Validity::Current).unwrap();
        let (cert, key) = certs.write_pair(&format!("node{i}"), &cert, &key);
        let argv =
            ["CONFIG", "SET", "tls-cert-file", &p(&cert), "tls-key-file", &p(&key), "tls-ca-cert-file", &certs.ca()];
        let reply = cluster.call(i, &argv).unwrap();
        assert!(reply.is_ok(), "{reply:?}");
    }
    announce(
        &cluster,
        |i| {
            vec![
                "cluster-announce-hostname".into(),
                name(i),
                "cluster-preferred-endpoint-type".into(),
                "hostname".into(),
            ]
        },
        |t| t.all_nodes().iter().all(|n| n.endpoint.to_string().contains(".rcli.test:")),
    );
    let home = Home::new();
    let seed = cluster.port(0).to_string();
    let map0 = format!("{}=127.0.0.1", name(0));
    let map1 = format!("{}:{}=127.0.0.1:{}", name(1), cluster.port(1), cluster.port(1));
    let base = args_with(
        &certs.files.rcli_args(),
        &["-c", "-p", &seed, "--sni", &name(0), "--address-map", &map0, "--address-map", &map1],
    );
    let rcfile = home.path.join("config").join("rcli");
    std::fs::create_dir_all(&rcfile).unwrap();
    std::fs::write(rcfile.join("rclirc"), format!(":set address-map {}=localhost\n", name(2))).unwrap();

    let script: String = (0..200).map(|i| format!("set nat:{i} {i}\nget nat:{i}\n")).collect();
    let out = run_args(&home, &base, &script);
    let expected: String = (0..200).map(|i| format!("OK\n{i}\n")).collect();
    assert_eq!(out.text(), expected, "{}", out.stderr);

    let mut p = shell_args(&home, &base);
    p.exp_string(&format!("127.0.0.1:{seed}> ")).unwrap();
    p.send_and_expect(":nodes", &["reached at"]);
    for i in 0..3 {
        let announced = format!("{}:{}", name(i), cluster.port(i));
        let reached =
            if i == 2 { format!("localhost:{}", cluster.port(i)) } else { format!("127.0.0.1:{}", cluster.port(i)) };
        let row = p.exp_regex(&format!("{}\\s+{}", regex_escape(&announced), regex_escape(&reached))).unwrap();
        assert!(!row.1.is_empty());
    }
    settle();
    p.send_and_expect("get nat:7", &["\"7\""]);
    p.send_line("quit").unwrap();
    p.exp_eof().unwrap();

    // Without the map the announced names lead nowhere (they resolve to nothing).
    let key_elsewhere = (0..100)
        .map(|i| format!("nat:{i}"))
        .find(|k| owner_in(&cluster, 0, k).is_some_and(|o| o.to_string().starts_with(&name(1))));
    let key = key_elsewhere.unwrap();
    let unmapped =
        run_args(&home, &args_with(&certs.files.rcli_args(), &["-c", "-p", &seed, "--sni", &name(0), "get", &key]), "");
    assert_eq!(unmapped.code, Some(1), "{unmapped:?}");
}

fn regex_escape(text: &str) -> String {
    text.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_string() } else { format!("\\{c}") }).collect()
}

/// A TLS cluster on the IPv6 loopback address: `[::1]:PORT` in the prompt, MOVED
/// targets and `:use`.
#[test]
fn an_ipv6_tls_cluster_routes_and_prints_bracketed_addresses() {
    if !have_redis() {
        return;
    }
    if !ipv6_available() {
        eprintln!("skipping: this machine cannot listen on ::1");
        return;
    }
    let certs = Certs::new(&[]);
    let listen = Listen { host: "::1".into(), tls: Some(certs.files.clone()) };
    let cluster = LocalCluster::start_with(3, 0, listen).unwrap();
    let home = Home::new();
    let seed = cluster.port(0).to_string();
    let base = args_with(&certs.files.rcli_args(), &["-c", "-h", "::1", "-p", &seed]);
    let script: String = (0..100).map(|i| format!("set v6:{i} {i}\nget v6:{i}\n")).collect();
    let out = run_args(&home, &base, &script);
    let expected: String = (0..100).map(|i| format!("OK\n{i}\n")).collect();
    assert_eq!(out.text(), expected, "{}", out.stderr);

    let owner = owner_in(&cluster, 0, "foo").unwrap();
    assert!(owner.to_string().starts_with("[::1]:"), "{owner}");
    let mut p = shell_args(&home, &base);
    p.exp_string(&format!("[::1]:{seed}> ")).unwrap();
    p.send_line("set foo bar").unwrap();
    if owner != cluster.endpoint(0) {
        p.exp_string(&format!("-> Redirected to slot [12182] located at {owner}")).unwrap();
    }
    p.exp_string(&format!("{owner}> ")).unwrap();
    let other = format!("[::1]:{}", cluster.port(1));
    p.send_and_expect(
        &format!(":use {other}"),
        &[&format!("keyless commands now go to {other}"), &format!("{other}> ")],
    );
    settle();
    p.send_and_expect("cluster myid", &[&cluster.ids[1]]);
    p.send_line("quit").unwrap();
    p.exp_eof().unwrap();
}

/// `rcli sandbox --tls`: a TLS-only cluster, a shell on it over TLS, and nothing left
/// behind (servers, cluster directory, certificates).
#[test]
fn the_tls_sandbox_answers_over_tls_and_leaves_nothing_behind() {
    if !have_redis() {
        return;
    }
    let home = Home::new();
    let mut cmd = rcli(&home);
    cmd.args(["sandbox", "--tls", "--primaries", "3", "--replicas", "0"]);
    let out = run_with(cmd, b"set foo bar\nget foo\nconfig get port\n", Duration::from_secs(90));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.text(), "OK\nbar\nport\n0\n", "TLS only: the plain port is off");
    let ca = out.stderr.lines().find_map(|l| l.split("--cacert ").nth(1)).expect("the sandbox says how to connect");
    assert!(ca.ends_with("ca.crt"), "{ca}");
    assert!(!std::path::Path::new(ca).exists(), "{ca} was not removed");
    let ports: Vec<u16> = out
        .stderr
        .lines()
        .filter_map(|l| l.trim().strip_prefix("127.0.0.1:"))
        .map(|l| l.split(' ').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(ports.len(), 3);
    for port in ports {
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "a server on {port} is still running");
    }
}

/// `rcli top` over TLS, nodes announcing names nothing resolves, reached through
/// `--address-map`: every node answers, named as the cluster announces it.
#[test]
fn top_over_tls_through_the_address_map() {
    if !have_redis() {
        return;
    }
    let names: Vec<String> = (0..4).map(|i| format!("node{i}.rcli.test")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let certs = Certs::new(&refs);
    let cluster = LocalCluster::start_with(2, 1, certs.listen()).unwrap();
    let home = Home::new();
    announce(
        &cluster,
        |i| {
            vec![
                "cluster-announce-hostname".into(),
                format!("node{i}.rcli.test"),
                "cluster-preferred-endpoint-type".into(),
                "hostname".into(),
            ]
        },
        |t| t.all_nodes().iter().all(|n| n.endpoint.to_string().contains(".rcli.test:")),
    );
    let seed = cluster.port(0).to_string();
    let mut args: Vec<String> = certs.files.rcli_args();
    args.extend(["-c".into(), "-p".into(), seed]);
    for name in &names {
        args.extend(["--address-map".into(), format!("{name}=127.0.0.1")]);
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let frame = crate::top::once_json(&home, &refs);
    let addresses: Vec<&str> = frame["shards"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["nodes"].as_array().unwrap())
        .map(|n| {
            assert_eq!(n["link"], "ok", "{n}");
            n["address"].as_str().unwrap()
        })
        .collect();
    assert_eq!(addresses.len(), 4, "{frame}");
    for i in 0..4 {
        let announced = format!("node{i}.rcli.test:{}", cluster.port(i));
        assert!(addresses.contains(&announced.as_str()), "{announced} in {addresses:?}");
    }
}
