//! The diagnostic modes' options (`--stat`, the latency family, `--intrinsic-latency`,
//! `--lru-test`, `--bigkeys`/`--memkeys`/`--hotkeys`), flattened into [`super::Args`],
//! and which of them runs when several are given: redis-cli's order of precedence
//! (docs/redis-cli-modes.md, "General facts": the mode dispatch order in `main`).

use clap::Args;

/// The diagnostic options, spelled and explained as in redis-cli.
#[derive(Debug, Clone, Default, Args)]
pub struct DiagnosticArgs {
    /// Print rolling stats about server: mem, clients, ... (with -c: cluster totals, -v adds a row per node).
    #[arg(long, display_order = 35)]
    pub stat: bool,
    /// Sample PING latency continuously (one 1 s sample, -i to change it, when output is not a terminal); with
    /// -c every primary (or --target) in parallel, a column per node
    #[arg(long, display_order = 36)]
    pub latency: bool,
    /// Like --latency but tracking latency changes over time. Default time interval is 15 sec. Change it using -i.
    #[arg(long, display_order = 37)]
    pub latency_history: bool,
    /// Shows latency as a spectrum, requires xterm 256 colors. Default time interval is 1 sec. Change it using -i.
    #[arg(long, display_order = 38)]
    pub latency_dist: bool,
    /// --latency-dist in shades of grey.
    #[arg(long, hide = true, display_order = 110, help_heading = "rcli additions")]
    pub mono: bool,
    /// Simulate a cache workload with an 80-20 distribution.
    #[arg(long, value_name = "keys", value_parser = clap::value_parser!(u64).range(1..), display_order = 39)]
    pub lru_test: Option<u64>,
    /// Sample Redis keys looking for keys with many elements (complexity).
    #[arg(long, display_order = 45)]
    pub bigkeys: bool,
    /// Sample Redis keys looking for keys consuming a lot of memory.
    #[arg(long, display_order = 46)]
    pub memkeys: bool,
    /// Sample Redis keys looking for keys consuming a lot of memory. And define number of key elements to sample
    #[arg(long, value_name = "n", display_order = 47)]
    pub memkeys_samples: Option<u32>,
    /// Sample Redis keys looking for hot keys. only works when maxmemory-policy is *lfu.
    #[arg(long, display_order = 48)]
    pub hotkeys: bool,
    /// Sample keys looking for the n most hot keys (valkey-cli). Only works when maxmemory-policy is *lfu.
    #[arg(long, value_name = "n", value_parser = clap::value_parser!(u32).range(1..=100_000), display_order = 48)]
    pub hotkeys_count: Option<u32>,
    /// Run a test to measure intrinsic system latency. The test will run for the specified amount of seconds.
    #[arg(long, value_name = "sec", value_parser = clap::value_parser!(u64).range(0..=315_360_000), display_order = 52)]
    pub intrinsic_latency: Option<u64>,
}

/// What a key scan looks at for each key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyScan {
    /// `--bigkeys`: elements (STRLEN, LLEN, SCARD, HLEN, ZCARD, XLEN).
    Big,
    /// `--memkeys`: MEMORY USAGE, with `SAMPLES n` when `samples` is not 0.
    Memory { samples: u32 },
    /// `--hotkeys`: OBJECT FREQ.
    Hot,
}

/// The diagnostic mode to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Diagnostic {
    Stat,
    Latency,
    LatencyHistory,
    LatencyDist { mono: bool },
    Keys(KeyScan),
    LruTest { keys: u64 },
    IntrinsicLatency { seconds: u64 },
}

impl DiagnosticArgs {
    /// The diagnostic mode that runs, in redis-cli's order: latency, latency-dist,
    /// (`--replica`, `--rdb`, `--pipe`: `earlier`), bigkeys, memkeys, hotkeys, stat,
    /// (`--scan`), lru-test, intrinsic-latency. `None` when none is asked for or one of
    /// those modes comes first.
    pub fn select(&self, earlier: bool, scan: bool) -> Option<Diagnostic> {
        if self.latency_history {
            return Some(Diagnostic::LatencyHistory);
        }
        if self.latency {
            return Some(Diagnostic::Latency);
        }
        if self.latency_dist {
            return Some(Diagnostic::LatencyDist { mono: self.mono });
        }
        if earlier {
            return None;
        }
        if self.bigkeys {
            return Some(Diagnostic::Keys(KeyScan::Big));
        }
        if self.memkeys || self.memkeys_samples.is_some() {
            return Some(Diagnostic::Keys(KeyScan::Memory { samples: self.memkeys_samples.unwrap_or(0) }));
        }
        if self.hotkeys || self.hotkeys_count.is_some() {
            return Some(Diagnostic::Keys(KeyScan::Hot));
        }
        if self.stat {
            return Some(Diagnostic::Stat);
        }
        if scan {
            return None;
        }
        if let Some(keys) = self.lru_test {
            return Some(Diagnostic::LruTest { keys });
        }
        self.intrinsic_latency.map(|seconds| Diagnostic::IntrinsicLatency { seconds })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Args;
    use clap::Parser;

    fn selected(args: &[&str]) -> Option<Diagnostic> {
        let args = Args::try_parse_from(std::iter::once("rcli").chain(args.iter().copied())).unwrap();
        args.diagnostics
            .select(args.pipe || args.replica || args.rdb.is_some() || args.functions_rdb.is_some(), args.scan)
    }

    #[test]
    fn modes_follow_redis_cli_precedence() {
        assert_eq!(selected(&["--stat", "--latency"]), Some(Diagnostic::Latency));
        assert_eq!(selected(&["--latency", "--latency-history"]), Some(Diagnostic::LatencyHistory));
        assert_eq!(selected(&["--latency-dist", "--mono"]), Some(Diagnostic::LatencyDist { mono: true }));
        assert_eq!(selected(&["--bigkeys", "--pipe"]), None);
        assert_eq!(selected(&["--latency", "--pipe"]), Some(Diagnostic::Latency));
        assert_eq!(selected(&["--latency-dist", "--replica"]), Some(Diagnostic::LatencyDist { mono: false }));
        assert_eq!(selected(&["--stat", "--replica"]), None);
        assert_eq!(selected(&["--hotkeys", "--rdb", "x"]), None);
        assert_eq!(selected(&["--hotkeys", "--memkeys", "--bigkeys"]), Some(Diagnostic::Keys(KeyScan::Big)));
        assert_eq!(selected(&["--memkeys-samples", "7"]), Some(Diagnostic::Keys(KeyScan::Memory { samples: 7 })));
        assert_eq!(selected(&["--stat", "--hotkeys"]), Some(Diagnostic::Keys(KeyScan::Hot)));
        assert_eq!(selected(&["--stat", "--scan"]), Some(Diagnostic::Stat));
        assert_eq!(selected(&["--lru-test", "10", "--scan"]), None);
        assert_eq!(selected(&["--lru-test", "10", "--intrinsic-latency", "1"]), Some(Diagnostic::LruTest { keys: 10 }));
        assert_eq!(selected(&["--intrinsic-latency", "0"]), Some(Diagnostic::IntrinsicLatency { seconds: 0 }));
        assert_eq!(selected(&["get", "k"]), None);
    }

    #[test]
    fn values_are_checked() {
        for bad in [
            &["--memkeys-samples"][..],
            &["--memkeys-samples", "-1"],
            &["--lru-test", "0"],
            &["--lru-test"],
            &["--intrinsic-latency", "x"],
            &["--intrinsic-latency", "999999999999"],
        ] {
            let err = Args::try_parse_from(std::iter::once("rcli").chain(bad.iter().copied())).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad:?}");
        }
    }
}
