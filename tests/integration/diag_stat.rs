//! `--stat`, the latency family, `--intrinsic-latency` and `--lru-test` on one node.
//! Their figures are times and counters that cannot match between two runs, so these
//! are structural checks beside redis-cli 7.0.15 on the same server: the same header
//! and legend bytes, the same line shapes once numbers are masked, column widths,
//! intervals respected, exit codes, and Ctrl-C (docs/redis-cli-modes.md, sections 4-5).

use std::time::Duration;

use crate::diag_harness::*;
use crate::util::*;

const WAIT: Duration = Duration::from_secs(20);

/// One `--stat` data line, read by its columns (`%-11s%-8s %-8s%-8s%-19s %-12s`).
#[derive(Debug)]
struct StatLine {
    keys: i64,
    mem: String,
    requests: i64,
    delta: i64,
}

fn stat_line(line: &str) -> StatLine {
    let col =
        |a: usize, b: usize| line.get(a..b.min(line.len())).unwrap_or_else(|| panic!("short line {line:?}")).trim();
    let (requests, delta) = col(36, 55).split_once(" (+").unwrap_or_else(|| panic!("requests in {line:?}"));
    assert!(col(20, 28).parse::<i64>().is_ok() && col(28, 36).parse::<i64>().is_ok(), "{line:?}");
    assert!(col(56, 68).parse::<i64>().is_ok(), "{line:?}");
    StatLine {
        keys: col(0, 11).parse().unwrap(),
        mem: col(11, 19).to_string(),
        requests: requests.parse().unwrap(),
        delta: delta.trim_end_matches(')').parse().unwrap(),
    }
}

#[test]
fn stat_prints_redis_clis_header_every_20_lines_at_the_interval() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let home = Home::new();
    let port = server.port().to_string();
    seed(server.port(), "set a 1\nset b 2\nselect 3\nset c 3\n");
    let mut theirs = watch_redis_cli(&["-p", &port, "--stat", "-i", "0.1"]);
    theirs.wait_for("three lines", WAIT, |out| out.lines().count() >= 5);
    let theirs = theirs.interrupt_and_finish();
    assert_eq!(theirs.code, None, "redis-cli dies of the signal");
    let theirs: Vec<String> = theirs.text().lines().map(str::to_string).collect();

    let mut ours = watch_rcli(&home, &["-p", &port, "--stat", "-i", "0.1"]);
    ours.wait_for("23 data lines", WAIT, |out| out.lines().count() >= 27);
    let elapsed = ours.started.elapsed();
    let out = ours.interrupt_and_finish();
    assert_eq!(out.code, Some(130), "Ctrl-C: {}", out.stderr);
    let text = out.text();
    assert!(text.ends_with('\n'), "every line is whole");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[..2], theirs[..2], "the header");
    assert_eq!(lines[22..24], theirs[..2], "the header again after 20 lines");
    assert_eq!(lines[1].len(), 77);
    let data: Vec<&str> = lines.iter().enumerate().filter(|(i, _)| i % 22 > 1).map(|(_, l)| *l).collect();
    assert!(data.len() >= 23);
    let mut previous: Option<StatLine> = None;
    for line in &data {
        assert_eq!(line.len(), theirs[2].len(), "{line:?} is as wide as redis-cli's {:?}", theirs[2]);
        let stat = stat_line(line);
        assert_eq!(stat.keys, 3, "db0 and db3 add up: {line}");
        assert!(stat.mem.ends_with(['B', 'K', 'M', 'G']), "{line}");
        match &previous {
            None => assert_eq!(stat.delta, 0, "the first line says +0"),
            Some(before) => assert_eq!(stat.requests - before.requests, stat.delta, "{line}"),
        }
        previous = Some(stat);
    }
    stat_line(&theirs[2]);
    // 23 lines 0.1 s apart.
    assert!(elapsed >= Duration::from_millis(2200), "{elapsed:?}");
}

#[test]
fn stat_reconnects_and_stops_on_an_error_reply() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let home = Home::new();
    let port = server.port().to_string();
    seed(server.port(), "acl setuser weak on >pw ~* +@all -info\n");
    let args = ["-p", &port, "--user", "weak", "-a", "pw", "--no-auth-warning", "--stat"];
    let theirs = redis_cli_run(&args, b"");
    let ours = rcli_run(&home, &args, "");
    assert_eq!((ours.code, ours.text()), (Some(1), String::new()));
    assert_eq!(ours.stderr, theirs.stderr);
    assert!(ours.stderr.starts_with("ERROR: NOPERM"), "{}", ours.stderr);

    let mut run = watch_rcli(&home, &["-p", &port, "--stat", "-i", "0.1"]);
    run.wait_for("two lines", WAIT, |out| out.lines().count() >= 4);
    drop(server);
    run.wait_for("a second reconnection", WAIT, |out| out.contains("\r\x1b[0KReconnecting... 2\r"));
    let out = run.interrupt_and_finish();
    assert_eq!(out.code, Some(130));
}

#[test]
fn latency_prints_one_line_in_machine_formats() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let home = Home::new();
    let port = server.port().to_string();
    for (mode, shape) in [
        ("--raw", "N N N.N N\n"),
        ("--csv", "N,N,N.N,N\n"),
        ("--json", "{\"min\": N, \"max\": N, \"avg\": N.N, \"count\": N}\n"),
    ] {
        let args = ["-p", port.as_str(), "--latency", "-i", "0.3", mode];
        let started = std::time::Instant::now();
        let ours = rcli_run(&home, &args, "");
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert_eq!(ours.code, Some(0), "{mode}: {}", ours.stderr);
        assert_eq!(mask_numbers(&ours.text()), shape, "{mode}: {}", ours.text());
        let theirs = redis_cli_run(&args, b"");
        assert_eq!(mask_numbers(&theirs.text()), shape, "redis-cli {mode}");
        let count: u64 = ours.text().trim_end_matches(['\n', '}']).rsplit([' ', ',']).next().unwrap().parse().unwrap();
        assert!((10..=31).contains(&count), "a PING every 10 ms for 0.3 s: {count}");
    }
    // redis-cli prints nothing for --quoted-json; rcli prints the --json line.
    let ours = rcli_run(&home, &["-p", &port, "--latency", "-i", "0.1", "--quoted-json"], "");
    assert_eq!(mask_numbers(&ours.text()), "{\"min\": N, \"max\": N, \"avg\": N.N, \"count\": N}\n");
}

/// The redrawn segments of a terminal's latency line, numbers masked.
fn redraws(text: &str) -> Vec<String> {
    let mut shapes: Vec<String> = text.split("\x1b[0G\x1b[2K").filter(|s| !s.is_empty()).map(mask_numbers).collect();
    shapes.dedup();
    shapes
}

#[test]
fn latency_on_a_terminal_redraws_until_ctrl_c() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let home = Home::new();
    let port = server.port().to_string();
    let mut theirs = watch_redis_cli(&["-p", &port, "--latency", "--no-raw"]);
    theirs.wait_for("redraws", WAIT, |out| out.matches("samples)").count() >= 5);
    let theirs = theirs.interrupt_and_finish();
    let mut ours = watch_rcli(&home, &["-p", &port, "--latency", "--no-raw"]);
    ours.wait_for("redraws", WAIT, |out| out.matches("samples)").count() >= 5);
    let out = ours.interrupt_and_finish();
    assert_eq!(out.code, Some(130));
    let text = out.text();
    assert!(text.starts_with("\x1b[0G\x1b[2Kmin: "), "{text:?}");
    assert!(text.ends_with("samples)\n"), "the last line is kept: {text:?}");
    assert_eq!(redraws(text.trim_end()), ["min: N, max: N, avg: N.N (N samples)"]);
    assert_eq!(redraws(&theirs.text()), ["min: N, max: N, avg: N.N (N samples)"]);
}

#[test]
fn latency_history_closes_a_range_every_interval() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let home = Home::new();
    let port = server.port().to_string();
    let args = ["-p", port.as_str(), "--latency-history", "-i", "0.2", "--raw"];
    let shapes = |text: &str| {
        let mut kinds: Vec<String> = text.lines().map(mask_numbers).collect();
        kinds.sort();
        kinds.dedup();
        kinds
    };
    let mut theirs = watch_redis_cli(&args);
    theirs.wait_for("two ranges", WAIT, |out| out.matches("seconds range").count() >= 2);
    let theirs = theirs.interrupt_and_finish();
    let mut ours = watch_rcli(&home, &args);
    ours.wait_for("two ranges", WAIT, |out| out.matches("seconds range").count() >= 2);
    let out = ours.interrupt_and_finish();
    assert_eq!(out.code, Some(130));
    assert_eq!(shapes(&out.text()), [" -- N.N seconds range", "N N N.N N"]);
    assert_eq!(shapes(&out.text()), shapes(&theirs.text()));
    for range in out.text().lines().filter_map(|l| l.strip_prefix(" -- ")) {
        let seconds: f64 = range.trim_end_matches(" seconds range").parse().unwrap();
        assert!(seconds >= 0.2, "{range}");
    }
    // Each range starts counting again.
    let after_first = out.text().split(" seconds range\n").nth(1).unwrap().lines().next().unwrap().to_string();
    assert!(after_first.ends_with(" 1"), "{after_first}");
}

#[test]
fn latency_dist_draws_redis_clis_legend_and_spectrum() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let home = Home::new();
    let port = server.port().to_string();
    for extra in [None, Some("--mono")] {
        let mut args = vec!["-p", port.as_str(), "--latency-dist", "-i", "0.2"];
        args.extend(extra);
        let mut theirs = watch_redis_cli(&args);
        theirs.wait_for("two spectra", WAIT, |out| out.matches("\x1b[0m\n").count() >= 3);
        let theirs = theirs.interrupt_and_finish().text();
        let mut ours = watch_rcli(&home, &args);
        ours.wait_for("two spectra", WAIT, |out| out.matches("\x1b[0m\n").count() >= 3);
        let out = ours.interrupt_and_finish();
        assert_eq!(out.code, Some(130));
        let text = out.text();
        let legend = |t: &str| t.lines().take(8).collect::<Vec<_>>().join("\n");
        assert_eq!(legend(&text), legend(&theirs), "{extra:?}");
        let spectrum = text.lines().nth(8).unwrap();
        assert_eq!(spectrum.matches("\x1b[48;5;").count(), 31);
        let characters: String = spectrum.split("\x1b[48;5;").skip(1).map(|c| c.split('m').nth(1).unwrap()).collect();
        assert_eq!(characters.trim_end_matches("\x1b[0"), ".-*#123456789ABCDEFGHIJKLMNOPQ?");
        assert_eq!(mask_numbers(spectrum), mask_numbers(theirs.lines().nth(8).unwrap()));
    }
}

#[test]
fn intrinsic_latency_runs_for_its_seconds_or_until_ctrl_c() {
    let home = Home::new();
    let shape = |text: &str| {
        let mut lines: Vec<String> = text.lines().map(mask_numbers).collect();
        lines.dedup();
        lines
    };
    let expected = [
        "Max latency so far: N microseconds.",
        "",
        "N total runs (avg latency: N.N microseconds / N.N nanoseconds per run).",
        "Worst run took Nx longer than the average latency.",
    ];
    let started = std::time::Instant::now();
    let ours = rcli_run(&home, &["--intrinsic-latency", "1"], "");
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(ours.code, Some(0));
    assert_eq!(shape(&ours.text()), expected);
    if have_redis() {
        assert_eq!(shape(&redis_cli_run(&["--intrinsic-latency", "1"], b"").text()), expected);
    }
    let mut run = watch_rcli(&home, &["--intrinsic-latency", "100"]);
    run.wait_for("a first line", WAIT, |out| out.contains("Max latency so far"));
    let out = run.interrupt_and_finish();
    assert_eq!(out.code, Some(0), "Ctrl-C ends the test early with its summary");
    assert_eq!(shape(&out.text()), expected);
    for bad in ["x", "-1", "999999999999"] {
        assert_eq!(rcli_run(&home, &["--intrinsic-latency", bad], "").code, Some(2), "{bad}");
    }
}

#[test]
fn lru_test_fills_the_cache_and_reports_every_second() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let home = Home::new();
    let port = server.port().to_string();
    let shape = "N Gets/sec | Hits: N (N.N%) | Misses: N (N.N%)";
    let mut theirs = watch_redis_cli(&["-p", &port, "--lru-test", "500"]);
    theirs.wait_for("a line", WAIT, |out| out.lines().count() >= 1);
    let theirs = theirs.interrupt_and_finish();
    assert_eq!(mask_numbers(theirs.text().lines().next().unwrap()), shape);
    seed(server.port(), "flushall\n");
    let mut ours = watch_rcli(&home, &["-p", &port, "--lru-test", "500"]);
    ours.wait_for("two lines", WAIT, |out| out.lines().count() >= 2);
    let out = ours.interrupt_and_finish();
    assert_eq!(out.code, Some(130), "{}", out.stderr);
    for line in out.text().lines() {
        assert_eq!(mask_numbers(line), shape);
        let gets: u64 = line.split(' ').next().unwrap().parse().unwrap();
        let hits: u64 = line.split("Hits: ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
        let misses: u64 = line.split("Misses: ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
        assert_eq!(hits + misses, gets);
        assert!(gets > 0 && gets.is_multiple_of(250), "whole batches of 250: {line}");
    }
    let keys = redis_cli_run(&["-p", &port, "--scan"], b"").text();
    assert!(keys.lines().count() > 100 && keys.lines().count() <= 500, "{}", keys.lines().count());
    assert!(
        keys.lines().all(|k| k
            .strip_prefix("lru:")
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|n| (1..=500).contains(&n)))
    );
    let value = redis_cli_run(&["-p", &port, "get", keys.lines().next().unwrap()], b"").text();
    assert!(value.trim_end().len() == 5 && value.trim_end().bytes().all(|b| (b'A'..=b'y').contains(&b)), "{value}");
    assert_eq!(rcli_run(&home, &["--lru-test", "0"], "").code, Some(2));
}

/// `--latency-percentiles` (redis-cli 8.10): microsecond timing, three decimals, the
/// percentiles after min/max/avg/count in every output mode; the histogram starts again
/// with each `--latency-history` range; a bad list is one line, exit 2.
#[test]
fn latency_percentiles_add_their_figures_in_every_mode() {
    if !have_redis() {
        return;
    }
    let server = standalone();
    let home = Home::new();
    let port = server.port().to_string();
    let base = ["-p", port.as_str(), "--latency", "-i", "0.3", "--latency-percentiles", "50,99,99.90"];
    let raw = rcli_run(&home, &base, "");
    assert_eq!(raw.code, Some(0), "{}", raw.stderr);
    assert!(raw.stderr.is_empty(), "{}", raw.stderr);
    let fields: Vec<f64> = raw.text().split_whitespace().map(|f| f.parse().unwrap()).collect();
    assert_eq!(fields.len(), 7, "{}", raw.text());
    let (min, max, count, p50, p99, p999) = (fields[0], fields[1], fields[3], fields[4], fields[5], fields[6]);
    assert!(count >= 1.0 && min <= p50 && p50 <= p99 && p99 <= p999, "{}", raw.text());
    // A percentile is the top of its histogram bucket: within 0.1 % of the slowest sample.
    assert!(p999 <= max * 1.001 + 0.001, "{}", raw.text());
    let min_text = raw.text().split(' ').next().unwrap().to_string();
    assert_eq!(min_text.split('.').nth(1).map(str::len), Some(3), "milliseconds with three decimals: {min_text}");
    let csv = rcli_run(&home, &[&base[..], &["--csv"]].concat(), "");
    assert_eq!(csv.text().trim_end().split(',').count(), 7, "{}", csv.text());
    let json = rcli_run(&home, &[&base[..], &["--json"]].concat(), "");
    let value: serde_json::Value = serde_json::from_str(&json.text()).unwrap();
    let listed: Vec<&String> = value["percentiles"].as_object().unwrap().keys().collect();
    assert_eq!(listed, ["50", "99", "99.9"]);
    assert!(value["count"].as_u64().unwrap() >= 1);

    let history = ["-p", port.as_str(), "--latency-history", "-i", "0.2", "--raw", "--latency-percentiles", "50"];
    let mut run = watch_rcli(&home, &history);
    run.wait_for("two ranges", WAIT, |out| out.matches("seconds range").count() >= 2);
    let out = run.interrupt_and_finish();
    let after_first = out.text().split(" seconds range\n").nth(1).unwrap().lines().next().unwrap().to_string();
    let counted: Vec<&str> = after_first.split(' ').collect();
    assert_eq!((counted.len(), counted[3]), (5, "1"), "each range counts again: {after_first}");

    let bad = rcli_run(&home, &["-p", &port, "--latency", "--latency-percentiles", "50,101"], "");
    assert_eq!(bad.code, Some(2));
    assert_eq!(bad.stderr.lines().count(), 1, "{}", bad.stderr);
}
