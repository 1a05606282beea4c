//! The options redis-cli and valkey-cli gained after 7.0 (issue 20), against real
//! servers: `--name`, `valkey://` URIs, `VALKEYCLI_*` variables, `-4`/`-6`,
//! `--hotkeys-count`, `--stat` counting every database. docs/compatibility.md lists
//! each with the CLI version that brought it.

use std::time::Duration;

use crate::diag_harness::{mask_numbers, seed, watch_rcli};
use crate::util::*;

#[test]
fn name_is_set_on_every_connection_of_every_node() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let home = Home::new();
    let port = server.port().to_string();
    let one = rcli_run(&home, &["-p", &port, "--name", "reporting", "client", "getname"], "");
    assert_eq!((one.code, one.text().as_str()), (Some(0), "reporting\n"), "{}", one.stderr);
    // Piped lines and a reconnect after CLIENT KILL keep the name.
    let piped =
        rcli_run(&home, &["-p", &port, "--name", "batch"], "client getname\nclient kill type normal\nclient getname\n");
    assert!(piped.text().ends_with("batch\n"), "{}", piped.text());
    assert!(piped.text().starts_with("batch\n"), "{}", piped.text());

    let cluster = cluster(3, 0);
    let seed_port = cluster.port(0).to_string();
    let all =
        rcli_run(&home, &["-c", "-p", &seed_port, "--name", "app", "--target", "primaries", "client", "getname"], "");
    assert_eq!((all.code, all.text().as_str()), (Some(0), "app\napp\napp\n"), "{}", all.stderr);
    // A key on another node: the connection rcli opens there carries the name too.
    let mut input = String::new();
    for i in 0..20 {
        input.push_str(&format!("set key:{i} v\n"));
    }
    input.push_str(":use primaries\nclient getname\n");
    let out = rcli_run(&home, &["-c", "-p", &seed_port, "--name", "writer"], &input);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.text().ends_with("writer\nwriter\nwriter\n"), "{}", out.text());
}

#[test]
fn valkey_uris_and_valkeycli_variables_connect() {
    if !have_redis() {
        return;
    }
    let server = Standalone::start(&["--requirepass", "pw"]).unwrap();
    let home = Home::new();
    let port = server.port().to_string();
    let uri = format!("valkey://default:pw@127.0.0.1:{port}/2");
    let set = rcli_run(&home, &["--no-auth-warning", "-u", &uri, "set", "k", "in-db-2"], "");
    assert_eq!((set.code, set.text().as_str()), (Some(0), "OK\n"), "{}", set.stderr);
    let get = rcli_run(&home, &["-a", "pw", "--no-auth-warning", "-p", &port, "-n", "2", "get", "k"], "");
    assert_eq!(get.text(), "in-db-2\n");
    // valkeys:// asks for TLS, as rediss:// does (this server has none).
    let tls = rcli_run(&home, &["-t", "2", "-u", &format!("valkeys://127.0.0.1:{port}"), "ping"], "");
    assert_eq!(tls.code, Some(1), "{}", tls.stderr);

    // VALKEYCLI_HOST, VALKEYCLI_PORT and VALKEYCLI_AUTH, as valkey-cli reads them.
    let mut cmd = rcli(&home);
    cmd.env("VALKEYCLI_HOST", "127.0.0.1").env("VALKEYCLI_PORT", &port).env("VALKEYCLI_AUTH", "pw").arg("ping");
    let out = run_with(cmd, b"", Duration::from_secs(30));
    assert_eq!((out.code, out.text().as_str(), out.stderr.as_str()), (Some(0), "PONG\n", ""));
    // REDISCLI_AUTH comes first, -p before VALKEYCLI_PORT.
    let mut cmd = rcli(&home);
    cmd.env("VALKEYCLI_PORT", "1")
        .env("REDISCLI_AUTH", "wrong")
        .env("VALKEYCLI_AUTH", "pw")
        .args(["-p", &port, "ping"]);
    let out = run_with(cmd, b"", Duration::from_secs(30));
    assert_eq!(out.code, Some(1), "REDISCLI_AUTH is used first: {}", out.stderr);
    assert!(out.stderr.contains("WRONGPASS"), "{}", out.stderr);
    let mut cmd = rcli(&home);
    cmd.env("VALKEYCLI_PORT", "x").arg("ping");
    let out = run_with(cmd, b"", Duration::from_secs(30));
    assert_eq!((out.code, out.stderr.as_str()), (Some(2), "Invalid server port.\n"));
}

#[test]
fn prefer_ipv4_or_ipv6_still_connects_and_both_are_refused() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let home = Home::new();
    let port = server.port().to_string();
    // localhost resolves to 127.0.0.1 here: -4 takes it first, -6 falls back to it.
    for family in ["-4", "-6"] {
        let out = rcli_run(&home, &[family, "-h", "localhost", "-p", &port, "ping"], "");
        assert_eq!((out.code, out.text().as_str()), (Some(0), "PONG\n"), "{family}: {}", out.stderr);
    }
    let both = rcli_run(&home, &["-4", "-6", "ping"], "");
    assert_eq!((both.code, both.stderr.as_str()), (Some(2), "Options -4 and -6 are mutually exclusive.\n"));
}

#[test]
fn hotkeys_count_keeps_that_many_hot_keys() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let home = Home::new();
    let port = server.port();
    let mut lines = String::from("config set maxmemory-policy allkeys-lfu\n");
    for i in 0..30 {
        lines.push_str(&format!("set hot:{i} v\n"));
        for _ in 0..i {
            lines.push_str(&format!("get hot:{i}\n"));
        }
    }
    seed(port, &lines);
    let listed = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["-p".to_string(), port.to_string()];
        all.extend(args.iter().map(|a| a.to_string()));
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        let out = rcli_run(&home, &all, "");
        assert_eq!(out.code, Some(0), "{args:?}: {}", out.stderr);
        out.text().lines().filter(|l| l.starts_with("hot key found")).map(str::to_string).collect()
    };
    let default = listed(&["--hotkeys"]);
    assert_eq!(default.len(), 16, "{default:?}");
    let three = listed(&["--hotkeys-count", "3"]);
    assert_eq!(three, default[..3], "the 3 hottest, hottest first");
    let bad = rcli_run(&home, &["--hotkeys-count", "0"], "");
    assert_eq!(bad.code, Some(2));
}

#[test]
fn stat_counts_the_keys_of_every_database() {
    if !have_redis() {
        return;
    }
    let server = Standalone::start(&["--databases", "32"]).unwrap();
    let home = Home::new();
    let port = server.port();
    seed(port, "select 25\nset a 1\nset b 2\nselect 3\nset c 3\n");
    let mut run = watch_rcli(&home, &["-p", &port.to_string(), "--stat", "-i", "0.2"]);
    run.wait_for("a row", Duration::from_secs(30), |out| out.lines().count() >= 3);
    let out = run.interrupt_and_finish();
    let row = out.text().lines().nth(2).unwrap_or_default().to_string();
    // redis-cli 7.0 reads db0..db19 only (it would show 1).
    assert_eq!(row.split_whitespace().next(), Some("3"), "{}", out.text());
}

/// `--bigkeys`/`--memkeys` pointed at a cluster replica (without `-c`): the keys are read
/// there (READONLY), as newer CLIs do, and the report is the one its primary gives.
#[test]
fn key_scans_work_on_a_cluster_replica() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(1, 1);
    let home = Home::new();
    let primary = cluster.port(0).to_string();
    let replica = cluster.port(1).to_string();
    let mut lines = String::new();
    for i in 1..=30 {
        lines.push_str(&format!("set s:{i} {}\nrpush l:{i} {}\n", "x".repeat(i), "a ".repeat(i)));
    }
    seed(cluster.port(0), &lines);
    replicated(&cluster.endpoint(0));
    for mode in ["--bigkeys", "--memkeys"] {
        let on_primary = rcli_run(&home, &["-p", &primary, mode], "");
        let on_replica = rcli_run(&home, &["-p", &replica, mode], "");
        assert_eq!((on_replica.code, on_replica.stderr.as_str()), (Some(0), ""), "{mode}");
        let summary = |text: &str| text.split("-------- summary -------").nth(1).unwrap_or_default().to_string();
        // By length s:30 is the biggest; by memory several strings may share a size (s:29
        // and s:30; on Valkey 9.1 s:24 to s:30), and the first one found wins.
        let biggest =
            if mode == "--bigkeys" { "Biggest string found so far '\"s:30\"'" } else { "Biggest string found so far" };
        assert!(on_replica.text().contains(biggest), "{}", on_replica.text());
        // MEMORY USAGE may differ by a few bytes between a Valkey primary and its replica.
        let comparable = |text: &str| if mode == "--memkeys" { mask_numbers(&summary(text)) } else { summary(text) };
        assert_eq!(comparable(&on_replica.text()), comparable(&on_primary.text()), "{mode}");
    }
}
