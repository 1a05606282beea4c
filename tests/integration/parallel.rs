//! `--parallel N` (client/workers.rs) on a real 3+1 cluster: a value outside 1..=1024
//! is a usage error (exit 2); one job at a time gives the same answers as the default
//! width for the fan-out, the key scans' reports and `--rdb DIR -c`'s files.

use crate::diag_harness::seed_cluster;
use crate::util::*;

#[test]
fn parallel_outside_1_to_1024_is_a_usage_error() {
    let home = Home::new();
    for bad in ["0", "1025", "100000", "many"] {
        let out = rcli_run(&home, &["-c", "--parallel", bad, "dbsize"], "");
        assert_eq!(out.code, Some(2), "--parallel {bad}: {}", out.stderr);
        assert!(out.stderr.contains("--parallel"), "--parallel {bad}: {}", out.stderr);
        assert!(out.text().is_empty(), "--parallel {bad}: nothing on stdout");
    }
}

/// The report after the live lines (whose order follows which node answers first).
fn report(text: &str) -> &str {
    text.split_once("-------- node ").map(|(_, rest)| rest).unwrap_or_else(|| panic!("no report in:\n{text}"))
}

#[test]
fn one_job_at_a_time_gives_the_default_widths_answers() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 1);
    let home = Home::new();
    let seed = cluster.port(0).to_string();
    let lines: String =
        (0..200).map(|i| format!("set key:{i} {}\nrpush list:{i} a b\n", "v".repeat(i % 17 + 1))).collect();
    seed_cluster(&home, cluster.port(0), &lines);
    let run = |extra: &[&str], args: &[&str]| {
        let mut all = vec!["-c", "-p", seed.as_str()];
        all.extend_from_slice(extra);
        all.extend_from_slice(args);
        let out = rcli_run(&home, &all, "");
        assert_eq!(out.code, Some(0), "{all:?}: {}\n{}", out.text(), out.stderr);
        // --rdb says what it transfers on stderr, as redis-cli does.
        assert!(args.contains(&"--rdb") || out.stderr.is_empty(), "{all:?}: {}", out.stderr);
        out.text()
    };
    for target in ["all", "primaries", "replicas"] {
        let args = ["--target", target, "dbsize"];
        assert_eq!(run(&["--parallel", "1"], &args), run(&[], &args), "--target {target} dbsize");
    }
    assert_eq!(run(&["--parallel", "1"], &["--target", "all", "dbsize"]).trim(), "800");
    for mode in ["--bigkeys", "--memkeys", "--keystats"] {
        let (one, default) = (run(&["--parallel", "1"], &[mode]), run(&[], &[mode]));
        assert_eq!(report(&one), report(&default), "{mode}");
        assert_eq!(report(&one).matches("-------- node ").count(), 2, "{mode}: 3 sections");
    }
    let files = |extra: &[&str]| {
        let dir = Home::new();
        run(extra, &["--rdb", &dir.path.display().to_string()]);
        let mut names: Vec<(String, bool)> = std::fs::read_dir(&dir.path)
            .expect("the backup directory")
            .map(|e| {
                let e = e.expect("an entry");
                (e.file_name().to_string_lossy().into_owned(), e.metadata().map(|m| m.len() > 0).unwrap_or(false))
            })
            .collect();
        names.sort();
        names
    };
    let (one, default) = (files(&["--parallel", "1"]), files(&[]));
    assert_eq!(one.len(), 3, "{one:?}");
    assert!(one.iter().all(|(_, written)| *written), "{one:?}");
    assert_eq!(one, default);
}
