//! The diagnostic modes' options (`--stat`, the latency family, `--intrinsic-latency`,
//! `--lru-test`, `--bigkeys`/`--memkeys`/`--keystats`/`--hotkeys`), flattened into
//! [`super::Args`], and which of them runs when several are given: redis-cli's order of
//! precedence (docs/redis-cli-modes.md, "General facts": the mode dispatch order in
//! `main`). The numbers of `--keystats-samples`, `--cursor` and `--top` are read as
//! redis-cli 7.4 reads them (C's `strtoll`/`strtoull`), with its error lines.

use clap::Args;

/// Slots in the hot-key pool: redis-cli's 16, valkey-cli's `--hotkeys-count N`.
pub const HOT_SLOTS: usize = 16;

/// `--top`'s default.
pub const TOP_DEFAULT: u64 = 10;

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
    /// With --latency or --latency-history: also these latency percentiles, e.g. 50,99,99.9 (times in ms with three
    /// decimals, as redis-cli 8.10).
    #[arg(long, value_name = "p1,p2,...", value_parser = parse_percentiles, display_order = 38)]
    pub latency_percentiles: Option<Percentiles>,
    /// --latency-dist in shades of grey.
    #[arg(long, hide = true, display_order = 114, help_heading = "rcli additions")]
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
    /// Sample Redis keys looking for keys memory size and length (combine bigkeys and memkeys).
    #[arg(long, display_order = 48)]
    pub keystats: bool,
    /// Sample Redis keys looking for keys memory size and length. And define number of key elements to sample
    /// (only for memory usage).
    #[arg(long, value_name = "n", value_parser = keystats_samples, allow_hyphen_values = true, display_order = 49)]
    pub keystats_samples: Option<u64>,
    /// Start the scan at the cursor <n> (usually after a Ctrl-C). Optionally used with --keystats and
    /// --keystats-samples (with -c: one node, --target HOST:PORT).
    #[arg(long, value_name = "n", value_parser = cursor, allow_hyphen_values = true, display_order = 50)]
    pub cursor: Option<u64>,
    /// To display <n> top key sizes (default: 10). Optionally used with --keystats and --keystats-samples.
    #[arg(long, value_name = "n", value_parser = top, allow_hyphen_values = true, display_order = 51)]
    pub top: Option<u64>,
    /// Sample Redis keys looking for hot keys. only works when maxmemory-policy is *lfu.
    #[arg(long, display_order = 52)]
    pub hotkeys: bool,
    /// Sample keys looking for the n most hot keys (valkey-cli). Only works when maxmemory-policy is *lfu.
    #[arg(long, value_name = "n", value_parser = clap::value_parser!(u32).range(1..=100_000), display_order = 52)]
    pub hotkeys_count: Option<u32>,
    /// Run a test to measure intrinsic system latency. The test will run for the specified amount of seconds.
    #[arg(long, value_name = "sec", value_parser = clap::value_parser!(u64).range(0..=315_360_000), display_order = 56)]
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
    /// `--keystats`: MEMORY USAGE (with `SAMPLES n` when `samples` is given, 0 too)
    /// and the elements, as `--bigkeys` counts them.
    Stats { samples: Option<u64> },
}

/// A bad value's line in redis-cli's words, carried through clap to
/// `super::usage::redis_cli_words`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisCliLine(pub String);

impl std::fmt::Display for RedisCliLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RedisCliLine {}

/// C's `strtoull(text, &end, 10)` (`strtoll` when `signed`): leading white space, a
/// sign, digits; the value (saturated on overflow; a `-` negates an unsigned value modulo
/// 2^64, as C does) and whether the whole text was read (`*end == '\0'`). Text without
/// digits reads as 0, wholly read only when it is empty.
pub fn c_strtonum(text: &str, signed: bool) -> (i128, bool) {
    let trimmed = text.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (negative, unsigned) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, trimmed.get(1..).unwrap_or_default()),
        Some(b'+') => (false, trimmed.get(1..).unwrap_or_default()),
        _ => (false, trimmed),
    };
    let digits = unsigned.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return (0, text.is_empty());
    }
    let whole = digits == unsigned.len();
    let magnitude = unsigned.get(..digits).and_then(|d| d.parse::<u128>().ok()).unwrap_or(u128::MAX);
    let value = if signed {
        let limit = if negative { 1u128 << 63 } else { (1u128 << 63) - 1 };
        let m = magnitude.min(limit) as i128;
        if negative { -m } else { m }
    } else if magnitude > u128::from(u64::MAX) {
        i128::from(u64::MAX)
    } else if negative {
        i128::from((magnitude as u64).wrapping_neg())
    } else {
        magnitude as i128
    };
    (value, whole)
}

/// `--keystats-samples n` as redis-cli reads it.
fn keystats_samples(text: &str) -> Result<u64, RedisCliLine> {
    match c_strtonum(text, true) {
        (_, false) => Err(RedisCliLine("--keystats-samples conversion error.".into())),
        (n, true) => u64::try_from(n).map_err(|_| RedisCliLine("--keystats-samples value should be positive.".into())),
    }
}

/// `--cursor n` and `--top n`: redis-cli refuses a negative number (but `-0`).
fn unsigned(text: &str, option: &str) -> Result<u64, RedisCliLine> {
    match c_strtonum(text, false) {
        (_, false) => Err(RedisCliLine(format!("{option} conversion error."))),
        (n, true) if n != 0 && text.starts_with('-') => {
            Err(RedisCliLine(format!("{option} should be followed by a positive integer.")))
        }
        (n, true) => Ok(u64::try_from(n).unwrap_or(u64::MAX)),
    }
}

fn cursor(text: &str) -> Result<u64, RedisCliLine> {
    unsigned(text, "--cursor")
}

fn top(text: &str) -> Result<u64, RedisCliLine> {
    unsigned(text, "--top")
}

/// One percentile of `--latency-percentiles`: its value and its label as the user wrote
/// it, tidied (`99.90` → `99.9`).
#[derive(Debug, Clone, PartialEq)]
pub struct Percentile {
    pub value: f64,
    pub label: String,
}

/// At most this many percentiles in one `--latency-percentiles` list (a bound on the
/// line's length).
pub const MAX_PERCENTILES: usize = 32;

/// The percentiles of `--latency-percentiles`, in the order given.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Percentiles(pub Vec<Percentile>);

/// Reads `50,99,99.9`: numbers above 0 and at most 100, at most [`MAX_PERCENTILES`].
pub fn parse_percentiles(text: &str) -> Result<Percentiles, RedisCliLine> {
    let refused = || {
        RedisCliLine(format!(
            "Invalid --latency-percentiles value '{text}': a comma-separated list of numbers above 0 and at most 100."
        ))
    };
    let list: Vec<Percentile> = text
        .split(',')
        .map(|word| {
            let value: f64 = word.trim().parse().ok().filter(|v: &f64| v.is_finite() && *v > 0.0 && *v <= 100.0)?;
            Some(Percentile { value, label: format!("{value}") })
        })
        .collect::<Option<_>>()
        .ok_or_else(refused)?;
    if list.is_empty() || list.len() > MAX_PERCENTILES {
        return Err(refused());
    }
    Ok(Percentiles(list))
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
    /// (`--replica`, `--rdb`, `--pipe`: `earlier`), bigkeys, memkeys, keystats, hotkeys, stat,
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
        if self.keystats || self.keystats_samples.is_some() {
            return Some(Diagnostic::Keys(KeyScan::Stats { samples: self.keystats_samples }));
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
        assert_eq!(selected(&["--hotkeys", "--keystats"]), Some(Diagnostic::Keys(KeyScan::Stats { samples: None })));
        assert_eq!(selected(&["--keystats", "--memkeys"]), Some(Diagnostic::Keys(KeyScan::Memory { samples: 0 })));
        assert_eq!(
            selected(&["--keystats-samples", "0", "--top", "3"]),
            Some(Diagnostic::Keys(KeyScan::Stats { samples: Some(0) }))
        );
        assert_eq!(selected(&["--top", "3", "--cursor", "5"]), None);
        assert_eq!(selected(&["--stat", "--scan"]), Some(Diagnostic::Stat));
        assert_eq!(selected(&["--lru-test", "10", "--scan"]), None);
        assert_eq!(selected(&["--lru-test", "10", "--intrinsic-latency", "1"]), Some(Diagnostic::LruTest { keys: 10 }));
        assert_eq!(selected(&["--intrinsic-latency", "0"]), Some(Diagnostic::IntrinsicLatency { seconds: 0 }));
        assert_eq!(selected(&["get", "k"]), None);
    }

    #[test]
    fn numbers_read_like_c() {
        assert_eq!(c_strtonum("12", false), (12, true));
        assert_eq!(c_strtonum("  +12", false), (12, true));
        assert_eq!(c_strtonum("12x", false), (12, false));
        assert_eq!(c_strtonum("", false), (0, true));
        assert_eq!(c_strtonum(" ", false), (0, false));
        assert_eq!(c_strtonum("-", false), (0, false));
        assert_eq!(c_strtonum("-5", false), (i128::from(u64::MAX - 4), true));
        assert_eq!(c_strtonum("99999999999999999999999", false), (i128::from(u64::MAX), true));
        assert_eq!(c_strtonum("-5", true), (-5, true));
        assert_eq!(c_strtonum("99999999999999999999999", true), (i128::from(i64::MAX), true));
    }

    #[test]
    fn keystats_numbers_get_redis_clis_lines() {
        let line = |args: &[&str]| {
            let argv: Vec<std::ffi::OsString> =
                std::iter::once("rcli").chain(args.iter().copied()).map(Into::into).collect();
            let error = Args::try_parse_from(&argv).unwrap_err();
            assert_eq!(error.exit_code(), 2);
            crate::cli::usage::redis_cli_words(&error, &argv)
        };
        assert_eq!(line(&["--top", "x"]).as_deref(), Some("--top conversion error."));
        assert_eq!(line(&["--top", "-3"]).as_deref(), Some("--top should be followed by a positive integer."));
        assert_eq!(line(&["--cursor", "5 "]).as_deref(), Some("--cursor conversion error."));
        assert_eq!(line(&["--cursor", "-1"]).as_deref(), Some("--cursor should be followed by a positive integer."));
        assert_eq!(
            line(&["--keystats-samples", "-1"]).as_deref(),
            Some("--keystats-samples value should be positive.")
        );
        assert_eq!(line(&["--keystats-samples", "1.5"]).as_deref(), Some("--keystats-samples conversion error."));
        assert_eq!(
            line(&["--keystats", "--top"]).as_deref(),
            Some("Unrecognized option or bad number of args for: '--top'")
        );
        let args = Args::try_parse_from(["rcli", "--cursor", "-0", "--top", "", "--keystats-samples", "+7"]).unwrap();
        let d = args.diagnostics;
        assert_eq!((d.cursor, d.top, d.keystats_samples), (Some(0), Some(0), Some(7)));
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

    #[test]
    fn latency_percentiles_are_read_and_checked() {
        let list = parse_percentiles("50,99,99.90,100").unwrap();
        let labels: Vec<&str> = list.0.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(labels, ["50", "99", "99.9", "100"]);
        for bad in ["", "0", "101", "50,,99", "abc", "-1", "nan", "inf", "50;99"] {
            assert!(parse_percentiles(bad).is_err(), "{bad}");
        }
        let many = vec!["1"; MAX_PERCENTILES + 1].join(",");
        assert!(parse_percentiles(&many).is_err());
    }
}
