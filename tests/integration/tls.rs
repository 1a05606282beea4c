//! TLS against real TLS-only redis-servers with certificates made in the test (the
//! sandbox's rcgen CA): trust from a CA file, a CA directory and the system-store
//! variables; client certificates; every certificate failure as one clear line; the
//! plain-text/TLS port mix-ups detected; `rediss://`; a TLS 3+3 cluster in every mode;
//! clusters announcing hostnames, reached through `--address-map`, and over IPv6.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rcli::cluster::slot::slot_of;
use rcli::cluster::topology::Topology;
use rcli::endpoint::Endpoint;
use rcli::modes::sandbox::tls::{Authority, TlsFiles, Validity};
use rcli::modes::sandbox::{Listen, ipv6_available};

use crate::pty::{settle, shell};
use crate::util::*;

/// Certificates in a temp directory (removed on drop).
struct Certs {
    home: Home,
    files: TlsFiles,
}

impl Certs {
    fn new(extra_names: &[&str]) -> Certs {
        let home = Home::new();
        let files = TlsFiles::generate(&home.path.join("tls"), extra_names).unwrap();
        Certs { home, files }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.home.path.join(name)
    }

    /// Writes a certificate from a new, untrusted CA; returns (cert, key) paths.
    fn foreign(&self, names: &[&str], stem: &str) -> (PathBuf, PathBuf) {
        let other = Authority::new("some other CA").unwrap();
        std::fs::write(self.path(&format!("{stem}-ca.crt")), &other.cert_pem).unwrap();
        let (cert, key) = other.issue(names, Validity::Current).unwrap();
        self.write_pair(stem, &cert, &key)
    }

    fn write_pair(&self, stem: &str, cert: &str, key: &str) -> (PathBuf, PathBuf) {
        let (cert_path, key_path) = (self.path(&format!("{stem}.crt")), self.path(&format!("{stem}.key")));
        std::fs::write(&cert_path, cert).unwrap();
        std::fs::write(&key_path, key).unwrap();
        (cert_path, key_path)
    }

    fn listen(&self) -> Listen {
        Listen { host: "127.0.0.1".into(), tls: Some(self.files.clone()) }
    }

    fn ca(&self) -> String {
        self.files.ca.display().to_string()
    }
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

fn tls_server(certs: &Certs, extra: &[&str]) -> Standalone {
    Standalone::start_with(&certs.listen(), extra).unwrap_or_else(|e| panic!("could not start a TLS server: {e}"))
}

/// A TLS server whose certificate is `names`/`validity` (signed by the test CA).
fn server_with_cert(certs: &Certs, names: &[&str], validity: Validity) -> Standalone {
    let authority_files = &certs.files;
    // Re-issue: a fresh CA would not be trusted, so sign with a CA the test writes as the trusted one.
    let authority = Authority::new("rcli test CA").unwrap();
    std::fs::write(&authority_files.ca, &authority.cert_pem).unwrap();
    let (cert, key) = authority.issue(names, validity).unwrap();
    std::fs::write(&authority_files.cert, cert).unwrap();
    std::fs::write(&authority_files.key, key).unwrap();
    tls_server(certs, &[])
}

fn one_line_error(out: &Output) -> String {
    assert_eq!(out.code, Some(1), "exit 1: {out:?}");
    let lines: Vec<&str> = out.stderr.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {:?}", out.stderr);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    lines[0].to_string()
}

#[test]
fn standalone_tls_trusts_a_ca_file_a_ca_directory_and_the_system_store_variables() {
    if !have_redis() {
        return;
    }
    let certs = Certs::new(&[]);
    let server = tls_server(&certs, &[]);
    let port = server.port().to_string();
    let home = Home::new();
    let ping = |extra: &[&str]| {
        let mut args = vec!["--tls", "-p", &port];
        args.extend_from_slice(extra);
        args.push("ping");
        rcli_run(&home, &args, "")
    };
    assert_eq!(ping(&["--cacert", &certs.ca()]).text(), "PONG\n");

    // --cacertdir: every certificate file in the directory counts (an unrelated CA too).
    let dir = certs.path("cadir");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(&certs.files.ca, dir.join("a1b2c3d4.0")).unwrap();
    std::fs::write(dir.join("other.pem"), Authority::new("unrelated").unwrap().cert_pem).unwrap();
    assert_eq!(ping(&["--cacertdir", &p(&dir)]).text(), "PONG\n");

    // Without --cacert the system store is used: a bundle named by SSL_CERT_FILE.
    let bundle = certs.path("bundle.pem");
    let unrelated = Authority::new("unrelated").unwrap().cert_pem;
    std::fs::write(&bundle, format!("{unrelated}{}", std::fs::read_to_string(&certs.files.ca).unwrap())).unwrap();
    let mut cmd = rcli(&home);
    cmd.args(["--tls", "-p", &port, "ping"]).env("SSL_CERT_FILE", &bundle).env("SSL_CERT_DIR", certs.path("none"));
    assert_eq!(run_with(cmd, b"", Duration::from_secs(30)).text(), "PONG\n");

    // A system store without the CA: unknown CA.
    let mut cmd = rcli(&home);
    let only_unrelated = certs.path("unrelated.pem");
    std::fs::write(&only_unrelated, unrelated).unwrap();
    cmd.args(["--tls", "-p", &port, "ping"])
        .env("SSL_CERT_FILE", &only_unrelated)
        .env("SSL_CERT_DIR", certs.path("none"));
    let line = one_line_error(&run_with(cmd, b"", Duration::from_secs(30)));
    assert!(line.contains("certificate verify failed: unknown CA"), "{line}");

    // Piped lines and --pipe over TLS.
    let piped = rcli_run(&home, &["--tls", "--cacert", &certs.ca(), "-p", &port], "set a 1\nincr a\nget a\n");
    assert_eq!(piped.text(), "OK\n2\n2\n");
    let raw = "*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n7\r\n";
    let pipe = rcli_run(&home, &["--tls", "--cacert", &certs.ca(), "-p", &port, "--pipe"], raw);
    assert!(pipe.text().contains("errors: 0, replies: 1"), "{}", pipe.text());
}

#[test]
fn certificate_failures_are_one_clear_line_and_sni_and_insecure_work() {
    if !have_redis() {
        return;
    }
    let certs = Certs::new(&[]);
    let home = Home::new();
    let run = |port: &str, extra: &[&str]| {
        let mut args = vec!["--tls", "-p", port];
        args.extend_from_slice(extra);
        args.push("ping");
        rcli_run(&home, &args, "")
    };

    // Wrong CA.
    let server = tls_server(&certs, &[]);
    let port = server.port().to_string();
    let other_ca = certs.path("other-ca.pem");
    std::fs::write(&other_ca, Authority::new("other").unwrap().cert_pem).unwrap();
    let line = one_line_error(&run(&port, &["--cacert", &p(&other_ca)]));
    assert!(line.starts_with(&format!("Could not connect to Redis at 127.0.0.1:{port}: certificate verify failed: unknown CA")), "{line}");
    assert_eq!(run(&port, &["--insecure"]).text(), "PONG\n", "--insecure skips the check");
    drop(server);

    // A certificate for another name: hostname mismatch, unless --sni names it.
    let server = server_with_cert(&certs, &["wrong.example.com"], Validity::Current);
    let port = server.port().to_string();
    let line = one_line_error(&run(&port, &["--cacert", &certs.ca()]));
    assert!(line.contains("hostname mismatch") && line.contains("wrong.example.com"), "{line}");
    assert_eq!(run(&port, &["--cacert", &certs.ca(), "--sni", "wrong.example.com"]).text(), "PONG\n");
    let line = one_line_error(&run(&port, &["--cacert", &certs.ca(), "--sni", "other.example.com"]));
    assert!(line.contains("not valid for other.example.com"), "{line}");
    assert_eq!(run(&port, &["--insecure"]).text(), "PONG\n");
    drop(server);

    // Expired.
    let server = server_with_cert(&certs, &["127.0.0.1"], Validity::Expired);
    let port = server.port().to_string();
    let line = one_line_error(&run(&port, &["--cacert", &certs.ca()]));
    assert!(line.contains("the certificate expired on 2021-01-01 00:00:00 UTC"), "{line}");
    drop(server);

    // A bad CA file is refused before connecting.
    let line = one_line_error(&run(&port, &["--cacert", "/nonexistent/ca.crt"]));
    assert_eq!(line, "Could not negotiate a TLS connection: /nonexistent/ca.crt: No such file or directory");
    let line = one_line_error(&run(&port, &["--cacert", &certs.ca(), "--tls-ciphers", "BOGUS", "--tls-ciphersuites", ""]));
    assert!(line.starts_with("Could not negotiate a TLS connection: Error while configuring ciphers"), "{line}");
}

#[test]
fn client_certificates_are_required_presented_and_refused() {
    if !have_redis() {
        return;
    }
    let certs = Certs::new(&[]);
    let server = tls_server(&certs, &["--tls-auth-clients", "yes"]);
    let port = server.port().to_string();
    let home = Home::new();
    let ca = certs.ca();
    let (cert, key) = (p(&certs.files.client_cert), p(&certs.files.client_key));
    let ok = rcli_run(&home, &["--tls", "--cacert", &ca, "--cert", &cert, "--key", &key, "-p", &port, "ping"], "");
    assert_eq!(ok.text(), "PONG\n", "{}", ok.stderr);

    for extra in [&[][..], &["--tls-ciphersuites", ""][..]] {
        // TLS 1.3 refuses after the handshake, TLS 1.2 during it: the same line either way.
        let mut args = vec!["--tls", "--cacert", &ca, "-p", &port];
        args.extend_from_slice(extra);
        args.push("ping");
        let line = one_line_error(&rcli_run(&home, &args, ""));
        assert!(line.contains("the server requires a client certificate"), "{extra:?}: {line}");
    }

    let (foreign_cert, foreign_key) = certs.foreign(&["rcli client"], "foreign");
    let args = ["--tls", "--cacert", &ca, "--cert", &p(&foreign_cert), "--key", &p(&foreign_key), "-p", &port, "ping"];
    let line = one_line_error(&rcli_run(&home, &args, ""));
    assert!(line.contains("the server rejected the client certificate"), "{line}");

    let half = rcli_run(&home, &["--tls", "--cacert", &ca, "--cert", &cert, "-p", &port, "ping"], "");
    assert_eq!(half.code, Some(2), "--cert without --key is a usage error");
    let mismatched = ["--tls", "--cacert", &ca, "--cert", &cert, "--key", &p(&foreign_key), "-p", &port, "ping"];
    let line = one_line_error(&rcli_run(&home, &mismatched, ""));
    assert!(line.contains("does not match the private key"), "{line}");
}

#[test]
fn plain_text_and_tls_ports_mixed_up_are_detected_not_timed_out() {
    if !have_redis() {
        return;
    }
    let certs = Certs::new(&[]);
    let plain = standalone();
    let tls = tls_server(&certs, &[]);
    let home = Home::new();
    let started = Instant::now();
    let line = one_line_error(&rcli_run(
        &home,
        &["--tls", "--cacert", &certs.ca(), "-p", &plain.port().to_string(), "-t", "20", "ping"],
        "",
    ));
    assert!(line.contains("does not speak TLS") && line.contains("+PONG"), "{line}");
    assert!(started.elapsed() < Duration::from_secs(15), "detected, not the 20 s connect timeout");
    let line = one_line_error(&rcli_run(&home, &["-p", &tls.port().to_string(), "ping"], ""));
    assert!(line.contains("the server speaks TLS on this port (add --tls"), "{line}");
}

#[test]
fn rediss_uris_carry_user_password_and_database() {
    if !have_redis() {
        return;
    }
    let certs = Certs::new(&[]);
    let server = tls_server(&certs, &[]);
    let reply = server.server.call(&["ACL", "SETUSER", "alice", "on", ">s3cret", "~*", "&*", "+@all"]).unwrap();
    assert!(reply.is_ok(), "{reply:?}");
    let home = Home::new();
    let uri = format!("rediss://alice:s3cret@127.0.0.1:{}/2", server.port());
    let out = rcli_run(&home, &["-u", &uri, "--cacert", &certs.ca(), "--no-auth-warning", "client", "info"], "");
    let info = out.text();
    assert!(info.contains(" db=2 ") && info.contains(" user=alice "), "{info}{}", out.stderr);
}

/// rcli's arguments: `tls` then `rest`.
fn args_with(tls: &[String], rest: &[&str]) -> Vec<String> {
    tls.iter().cloned().chain(rest.iter().map(|s| s.to_string())).collect()
}

fn run_args(home: &Home, args: &[String], input: &str) -> Output {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    rcli_run(home, &refs, input)
}

fn shell_args(home: &Home, args: &[String]) -> rexpect::session::PtySession {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    shell(home, &refs)
}

fn owner_in(cluster: &LocalCluster, index: usize, key: &str) -> Option<Endpoint> {
    let reply = cluster.call(index, &["CLUSTER", "SHARDS"]).ok()?;
    let topo = Topology::from_shards_via(&reply, &cluster.endpoint(index), true)?;
    topo.owner(slot_of(key.as_bytes())).cloned()
}

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
    p.send_line("set hello world").unwrap();
    p.exp_string("OK").unwrap();
    p.send_line("get foo").unwrap();
    p.exp_string("\"bar\"").unwrap();
    p.exp_string(&format!("{foo_owner}> ")).unwrap();
    settle();
    p.send_line("blpop {foo}list 0").unwrap();
    std::thread::sleep(Duration::from_millis(500));
    p.send_control('c').unwrap();
    p.exp_string("(interrupted)").unwrap();
    p.exp_string(&format!("{foo_owner}> ")).unwrap();
    settle();
    p.send_line("subscribe news").unwrap();
    p.exp_string("Reading messages").unwrap();
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
    p.send_line("get hello").unwrap();
    p.exp_string("\"world\"").unwrap();
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
    p.send_line("set {f}x 42").unwrap();
    p.exp_string("OK").unwrap();
    p.send_line("wait 1 2000").unwrap();
    p.exp_string("(integer) 1").unwrap();
    let victim = owner_in(&cluster, 0, "{f}").unwrap();
    let victim_index = (0..3).find(|&i| cluster.endpoint(i) == victim).unwrap();
    cluster.nodes[victim_index].kill();
    let survivor = (victim_index + 1) % 3;
    wait_for("the replica to take over", Duration::from_secs(30), || {
        owner_in(&cluster, survivor, "{f}").is_some_and(|o| o != victim)
    });
    p.send_line("get {f}x").unwrap();
    p.exp_string("\"42\"").unwrap();
    p.send_line("incr {f}x").unwrap();
    p.exp_string("(integer) 43").unwrap();
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
                .and_then(|r| Topology::from_shards_via(&r, &cluster.endpoint(i), true))
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
        |_| ["cluster-announce-hostname", "localhost", "cluster-preferred-endpoint-type", "hostname"].map(String::from).to_vec(),
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
    p.send_line("set foo bar").unwrap();
    p.exp_string(&format!("-> Redirected to slot [12182] located at {owner}")).unwrap();
    p.exp_string("OK").unwrap();
    p.exp_string(&format!("{owner}> ")).unwrap();
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
        let argv = ["CONFIG", "SET", "tls-cert-file", &p(&cert), "tls-key-file", &p(&key), "tls-ca-cert-file", &certs.ca()];
        let reply = cluster.call(i, &argv).unwrap();
        assert!(reply.is_ok(), "{reply:?}");
    }
    announce(
        &cluster,
        |i| vec!["cluster-announce-hostname".into(), name(i), "cluster-preferred-endpoint-type".into(), "hostname".into()],
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
    p.send_line(":nodes").unwrap();
    p.exp_string("reached at").unwrap();
    for i in 0..3 {
        let announced = format!("{}:{}", name(i), cluster.port(i));
        let reached = if i == 2 { format!("localhost:{}", cluster.port(i)) } else { format!("127.0.0.1:{}", cluster.port(i)) };
        let row = p.exp_regex(&format!("{}\\s+{}", regex_escape(&announced), regex_escape(&reached))).unwrap();
        assert!(!row.1.is_empty());
    }
    settle();
    p.send_line("get nat:7").unwrap();
    p.exp_string("\"7\"").unwrap();
    p.send_line("quit").unwrap();
    p.exp_eof().unwrap();


    // Without the map the announced names lead nowhere (they resolve to nothing).
    let key_elsewhere = (0..100).map(|i| format!("nat:{i}")).find(|k| {
        owner_in(&cluster, 0, k).is_some_and(|o| o.to_string().starts_with(&name(1)))
    });
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
    p.send_line(&format!(":use {other}")).unwrap();
    p.exp_string(&format!("keyless commands now go to {other}")).unwrap();
    p.exp_string(&format!("{other}> ")).unwrap();
    settle();
    p.send_line("cluster myid").unwrap();
    p.exp_string(&cluster.ids[1]).unwrap();
    p.send_line("quit").unwrap();
    p.exp_eof().unwrap();
}
