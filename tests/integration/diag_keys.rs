//! `--bigkeys`, `--memkeys`, `--memkeys-samples` and `--hotkeys` on one node, side by
//! side with redis-cli 7.0.15 on the same server: stdout, stderr and exit codes
//! byte-identical (docs/redis-cli-modes.md, section 6), except where rcli differs on
//! purpose (docs/compatibility.md): the LFU check before `--hotkeys`, the progress line
//! on a terminal's stderr, Ctrl-C's partial report, a bare `--memkeys-samples`.

use std::time::Duration;

use crate::diag_harness::*;
use crate::eqnice;
use crate::util::*;

/// Strings of 1-40 bytes, one key of each other type, a binary key name.
fn mixed_keys() -> String {
    let mut lines: String = (1..=40).map(|i| format!("set k{i} {}\n", "x".repeat(i))).collect();
    lines.push_str("rpush l1 a b c\nhset h a 1 b 2\nsadd st a b\nzadd z 1 a\nxadd x * a 1\nset \"bin\\x01\" 1234567\n");
    lines.push_str("set \"quote\\\"d\" v\nrpush l2 a\n");
    lines
}

/// Runs rcli and redis-cli with `args` against `port` and requires the same stdout,
/// stderr and exit code.
fn same_as_redis_cli(home: &Home, port: u16, args: &[&str]) -> String {
    let port = port.to_string();
    let mut all = vec!["-p", port.as_str()];
    all.extend_from_slice(args);
    let expected = redis_cli_run(&all, b"");
    let got = rcli_run(home, &all, "");
    eqnice!(type_order_neutral(&expected.text()), type_order_neutral(&got.text()));
    assert_eq!(expected.stderr, got.stderr, "stderr of {args:?}");
    assert_eq!(expected.code, got.code, "exit code of {args:?}");
    got.text()
}

#[test]
fn bigkeys_and_memkeys_match_redis_cli_byte_for_byte() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let home = Home::new();
    let port = server.port();
    // An empty database, then one key: the summary's type order changes with them.
    same_as_redis_cli(&home, port, &["--bigkeys"]);
    seed(port, "set only 1\n");
    same_as_redis_cli(&home, port, &["--bigkeys"]);
    seed(port, &mixed_keys());
    for args in [
        &["--bigkeys"][..],
        &["--memkeys"],
        &["--memkeys-samples", "2"],
        &["--memkeys-samples", "0"],
        &["--bigkeys", "--pattern", "k1*"],
        &["--bigkeys", "--pattern", "nomatch"],
        &["--bigkeys", "--raw"],
        &["--bigkeys", "-3"],
        &["--memkeys", "-3"],
        &["--bigkeys", "-n", "0"],
    ] {
        let text = same_as_redis_cli(&home, port, args);
        assert!(text.contains("-------- summary -------"), "{args:?}: {text}");
    }
    let report = same_as_redis_cli(&home, port, &["--bigkeys"]);
    assert!(report.contains("Biggest string found '\"k40\"' has 40 bytes\n"), "{report}");
    assert!(report.contains("1 hashs with 2 fields"), "redis-cli's plural is kept: {report}");
    // Another database, and pages of 100 keys (--count) with -i: the same keys.
    seed(port, "select 3\nset a 1\nrpush b 1 2\n");
    same_as_redis_cli(&home, port, &["--bigkeys", "-n", "3"]);
    let big = (0..2500).map(|i| format!("set many:{i} {}\n", "v".repeat(i % 50 + 1))).collect::<String>();
    seed(port, &big);
    same_as_redis_cli(&home, port, &["--bigkeys", "-i", "0.2"]);
    // A sleep of 0.2 s after every 100th SCAN: how many SCANs the keys take is the
    // server's business (~250 pages of 10 on Redis 7.0, ~200 on Valkey 8.1), so the
    // server's own count says how many sleeps there must have been.
    let endpoint = rcli::endpoint::Endpoint::tcp("127.0.0.1", port);
    rcli::modes::sandbox::call(&endpoint, &["CONFIG", "RESETSTAT"]).unwrap();
    let started = std::time::Instant::now();
    let out = rcli_run(&home, &["-p", &port.to_string(), "--bigkeys", "-i", "0.2"], "");
    let took = started.elapsed();
    assert_eq!(out.code, Some(0));
    let stats = text(&rcli::modes::sandbox::call(&endpoint, &["INFO", "commandstats"]).unwrap());
    let scans: u32 = stats
        .lines()
        .find_map(|l| l.strip_prefix("cmdstat_scan:calls=")?.split(',').next()?.parse().ok())
        .expect("SCAN calls in INFO commandstats");
    let sleeps = scans.saturating_sub(2) / 100;
    assert!(sleeps >= 1, "{scans} SCANs: too few keys to see -i at work");
    assert!(took >= Duration::from_millis(200) * sleeps, "-i sleeps every 100 SCANs: {scans} SCANs in {took:?}");
}

#[test]
fn hotkeys_match_redis_cli_and_say_when_the_policy_is_not_lfu() {
    if !have_redis() {
        return;
    }
    // Counters that grow by exactly one per access and never decay.
    let server =
        Standalone::start(&["--maxmemory-policy", "allkeys-lfu", "--lfu-log-factor", "0", "--lfu-decay-time", "0"])
            .unwrap();
    let home = Home::new();
    let port = server.port();
    let mut lines: String = (0..24).map(|i| format!("set hot{i} v\n")).collect();
    for i in 0..24 {
        lines.push_str(&format!("get hot{i}\n").repeat(i % 7 + (i % 3) * 5));
    }
    seed(port, &lines);
    let report = same_as_redis_cli(&home, port, &["--hotkeys"]);
    assert_eq!(summary_of(&report).lines().filter(|l| l.starts_with("hot key found with counter: ")).count(), 16);
    same_as_redis_cli(&home, port, &["--hotkeys", "--pattern", "hot1*"]);
    same_as_redis_cli(&home, port, &["--hotkeys", "-3"]);

    // Without an LFU policy redis-cli prints the banner, then fails on the first key.
    seed(port, "config set maxmemory-policy allkeys-lru\n");
    let p = port.to_string();
    let theirs = redis_cli_run(&["-p", &p, "--hotkeys"], b"");
    assert_eq!(theirs.code, Some(1));
    assert!(theirs.text().contains("# Scanning the entire keyspace to find hot keys"));
    assert!(theirs.stderr.starts_with("Error: ERR An LFU maxmemory policy is not selected"), "{}", theirs.stderr);
    // rcli looks at the policy first and says what to do.
    let ours = rcli_run(&home, &["-p", &p, "--hotkeys"], "");
    assert_eq!(ours.code, Some(1));
    assert_eq!(ours.text(), "", "nothing on stdout");
    assert!(
        ours.stderr
            .contains(&format!("--hotkeys needs an LFU maxmemory-policy, but 127.0.0.1:{port} has 'allkeys-lru'"))
            && ours.stderr.contains("CONFIG SET maxmemory-policy allkeys-lfu"),
        "{}",
        ours.stderr
    );
}

#[test]
fn ctrl_c_prints_the_partial_report_and_exits_0() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let home = Home::new();
    let port = server.port();
    seed(port, &(0..3000).map(|i| format!("set key:{i} {}\n", "v".repeat(i % 90 + 1))).collect::<String>());
    for mode in ["--bigkeys", "--memkeys"] {
        // -i 10: after 100 pages (about 1,000 keys) the walk sleeps 10 s; Ctrl-C ends it.
        let mut run = watch_rcli(&home, &["-p", &port.to_string(), mode, "-i", "10"]);
        run.wait_for("a biggest key", Duration::from_secs(20), |out| out.contains("] Biggest string"));
        std::thread::sleep(Duration::from_millis(300));
        let out = run.interrupt_and_finish();
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        let summary = summary_of(&out.text()).to_string();
        let first = summary.lines().next().unwrap();
        let (pct, sampled) = first
            .strip_prefix('[')
            .and_then(|l| l.split_once("%] Sampled "))
            .and_then(|(pct, rest)| {
                Some((pct.parse::<f64>().ok()?, rest.strip_suffix(" keys in the keyspace!")?.parse::<u64>().ok()?))
            })
            .unwrap_or_else(|| panic!("not a partial summary: {first}"));
        assert!(sampled > 0 && sampled < 3000 && pct > 0.0 && pct < 100.0, "{first}");
        assert!(summary.contains("strings with "), "{summary}");
    }
}

#[test]
fn progress_goes_to_stderr_only_on_a_terminal() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let home = Home::new();
    let port = server.port();
    seed(port, &(0..500).map(|i| format!("set key:{i} v\n")).collect::<String>());
    let piped = rcli_run(&home, &["-p", &port.to_string(), "--bigkeys"], "");
    assert_eq!(piped.stderr, "", "no progress into a pipe");
    let mut pty = shell(&home, &["-p", &port.to_string(), "--bigkeys"]);
    pty.exp_regex(r"scanned \d+ of 500 keys \(\d\d?\.\d\d%\)").unwrap();
    pty.exp_string("Sampled 500 keys in the keyspace!").unwrap();
    pty.exp_eof().unwrap();
}

#[test]
fn key_scan_options_are_checked() {
    let home = Home::new();
    // redis-cli 7.0.15 dereferences a missing value here and dies (exit 139).
    for args in [&["--memkeys-samples"][..], &["--memkeys-samples", "-3"], &["--memkeys-samples", "x"]] {
        let out = rcli_run(&home, args, "");
        assert_eq!(out.code, Some(2), "{args:?}: {}", out.stderr);
    }
}
