//! `--latency`, `--latency-history` and `--latency-dist` on one node, as redis-cli
//! 7.0.15 runs them (docs/redis-cli-modes.md, sections 5.1 and 5.2): a PING every
//! 10 ms timed in whole milliseconds (µs for the spectrum), min/max/avg redrawn on a
//! terminal, one line per interval otherwise, ranges of 15 s (or `-i`) for the history,
//! a spectrum per second (or `-i`) for the distribution; with `--latency-percentiles`
//! (redis-cli 8.10) the PINGs are timed in µs ([`super::percentiles`]). The cluster variants are
//! [`super::latency_cluster`].

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use super::format::{Clock, two_decimals};
use super::nodes::{Stop, exit_code, pause, reconnecting, write};
use super::percentiles::Samples;
use super::spectrum::{Distribution, legend};
use crate::cli::diagnostics::Percentile;
use crate::exit::Exit;
use crate::protocol::render::OutputMode;
use crate::session::Session;

/// Pause between two PINGs (redis-cli's LATENCY_SAMPLE_RATE).
pub const SAMPLE_EVERY: Duration = Duration::from_millis(10);
/// `--latency-history`'s range without `-i`.
pub const HISTORY_RANGE_MS: i64 = 15_000;
/// `--latency`'s sampling time (non-terminal output) and `--latency-dist`'s interval
/// without `-i`.
pub const DEFAULT_INTERVAL_MS: i64 = 1_000;

/// min/max/avg over the samples of a run or a range, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LatencyStats {
    pub min: i64,
    pub max: i64,
    pub total: i64,
    pub count: i64,
}

impl LatencyStats {
    pub fn record(&mut self, ms: i64) {
        if self.count == 0 {
            *self = LatencyStats { min: ms, max: ms, total: ms, count: 1 };
        } else {
            self.min = self.min.min(ms);
            self.max = self.max.max(ms);
            self.total = self.total.saturating_add(ms);
            self.count += 1;
        }
    }

    pub fn avg(&self) -> f64 {
        if self.count == 0 { 0.0 } else { self.total as f64 / self.count as f64 }
    }

    /// redis-cli's `latencyModePrint` for `mode` (the terminal form has no newline: it
    /// is redrawn). `--quoted-json` prints the `--json` line (redis-cli prints nothing).
    pub fn text(&self, mode: OutputMode) -> String {
        let (min, max, avg, count) = (self.min, self.max, two_decimals(self.avg()), self.count);
        match mode {
            OutputMode::Tty => format!("min: {min}, max: {max}, avg: {avg} ({count} samples)"),
            OutputMode::Csv => format!("{min},{max},{avg},{count}\n"),
            OutputMode::Raw => format!("{min} {max} {avg} {count}\n"),
            OutputMode::Json | OutputMode::QuotedJson => {
                format!("{{\"min\": {min}, \"max\": {max}, \"avg\": {avg}, \"count\": {count}}}\n")
            }
        }
    }
}

/// The end of a history range: ` -- 15.00 seconds range` (redis-cli computes the
/// seconds as a C `float`).
pub fn range_line(elapsed_ms: i64) -> String {
    format!(" -- {} seconds range\n", two_decimals(f64::from(elapsed_ms as f32 / 1000.0)))
}

/// `-i` in milliseconds, or `default` when it is not given (0).
pub fn interval_ms(interval: Duration, default: i64) -> i64 {
    if interval.is_zero() { default } else { i64::try_from(interval.as_millis()).unwrap_or(i64::MAX) }
}

/// What a latency run keeps: redis-cli 7.0's whole milliseconds, or with
/// `--latency-percentiles` microseconds and a histogram (redis-cli 8.10).
enum Kept<'p> {
    Plain(LatencyStats),
    Percentiles(Samples, &'p [Percentile]),
}

impl Kept<'_> {
    fn record(&mut self, start_us: i64, end_us: i64) {
        match self {
            Kept::Plain(stats) => stats.record(end_us.div_euclid(1000) - start_us.div_euclid(1000)),
            Kept::Percentiles(samples, _) => samples.record(end_us - start_us),
        }
    }

    fn text(&self, mode: OutputMode) -> String {
        match self {
            Kept::Plain(stats) => stats.text(mode),
            Kept::Percentiles(samples, list) => samples.text(mode, list),
        }
    }

    fn reset(&mut self) {
        match self {
            Kept::Plain(stats) => *stats = LatencyStats::default(),
            Kept::Percentiles(samples, _) => {
                if let Some(fresh) = Samples::new() {
                    *samples = fresh;
                }
            }
        }
    }
}

/// `--latency` and `--latency-history` on one node (`percentiles`: those of
/// `--latency-percentiles`, empty without it).
pub fn run(
    session: &mut Session,
    history: bool,
    interval: Duration,
    percentiles: &[Percentile],
    flag: &AtomicBool,
) -> Exit {
    let mode = session.printer.format.mode;
    let range_ms = interval_ms(interval, HISTORY_RANGE_MS);
    let sampling_ms = interval_ms(interval, DEFAULT_INTERVAL_MS);
    let clock = Clock::new();
    let mut kept = match Samples::new() {
        Some(samples) if !percentiles.is_empty() => Kept::Percentiles(samples, percentiles),
        _ => Kept::Plain(LatencyStats::default()),
    };
    let mut range_start = clock.ms();
    let stop = loop {
        let start = clock.us();
        if let Err(stop) = reconnecting(session, &["PING"], flag) {
            break stop;
        }
        kept.record(start, clock.us());
        let text = if mode == OutputMode::Tty {
            format!("\x1b[0G\x1b[2K{}", kept.text(mode))
        } else if history {
            kept.text(mode)
        } else if clock.ms() - range_start > sampling_ms {
            return match write(&mut session.printer, &kept.text(mode)) {
                Ok(()) => Exit::Success,
                Err(stop) => exit_code(&mut session.printer, stop),
            };
        } else {
            String::new()
        };
        if let Err(stop) = write(&mut session.printer, &text) {
            break stop;
        }
        if history && clock.ms() - range_start > range_ms {
            if let Err(stop) = write(&mut session.printer, &range_line(clock.ms() - range_start)) {
                break stop;
            }
            range_start = clock.ms();
            kept.reset();
        }
        if !pause(SAMPLE_EVERY, flag) {
            break Stop::Interrupted;
        }
    };
    end_redrawn_line(session, mode, &stop);
    exit_code(&mut session.printer, stop)
}

/// On Ctrl-C the redrawn line is kept: the prompt comes on the next one.
fn end_redrawn_line(session: &mut Session, mode: OutputMode, stop: &Stop) {
    if mode == OutputMode::Tty && matches!(stop, Stop::Interrupted) {
        let _ = write(&mut session.printer, "\n");
    }
}

/// `--latency-dist` on one node: always ANSI, whatever the output mode.
pub fn run_dist(session: &mut Session, palette: &[u8], interval: Duration, flag: &AtomicBool) -> Exit {
    let every_ms = interval_ms(interval, DEFAULT_INTERVAL_MS);
    let clock = Clock::new();
    let mut dist = Distribution::default();
    let mut outputs = 0u64;
    let mut range_start = clock.us();
    let stop = loop {
        let start = clock.us();
        if let Err(stop) = reconnecting(session, &["PING"], flag) {
            break stop;
        }
        dist.record(u64::try_from(clock.us() - start).unwrap_or(0));
        if (clock.us() - range_start) / 1000 > every_ms {
            let mut text = if outputs.is_multiple_of(20) { legend(palette) } else { String::new() };
            outputs += 1;
            text.push_str(&dist.line(palette));
            if let Err(stop) = write(&mut session.printer, &text) {
                break stop;
            }
            range_start = clock.us();
            dist = Distribution::default();
        }
        if !pause(SAMPLE_EVERY, flag) {
            break Stop::Interrupted;
        }
    };
    exit_code(&mut session.printer, stop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_print_in_every_output_mode() {
        let mut stats = LatencyStats::default();
        for ms in [1, 0, 0, 0, 0, 0, 0, 0] {
            stats.record(ms);
        }
        assert_eq!(stats, LatencyStats { min: 0, max: 1, total: 1, count: 8 });
        assert_eq!(stats.text(OutputMode::Tty), "min: 0, max: 1, avg: 0.12 (8 samples)");
        assert_eq!(stats.text(OutputMode::Raw), "0 1 0.12 8\n");
        assert_eq!(stats.text(OutputMode::Csv), "0,1,0.12,8\n");
        assert_eq!(stats.text(OutputMode::Json), "{\"min\": 0, \"max\": 1, \"avg\": 0.12, \"count\": 8}\n");
        assert_eq!(LatencyStats::default().text(OutputMode::Raw), "0 0 0.00 0\n");
    }

    #[test]
    fn ranges_and_intervals() {
        assert_eq!(range_line(310), " -- 0.31 seconds range\n");
        assert_eq!(range_line(15_003), " -- 15.00 seconds range\n");
        assert_eq!(interval_ms(Duration::ZERO, HISTORY_RANGE_MS), 15_000);
        assert_eq!(interval_ms(Duration::from_millis(300), HISTORY_RANGE_MS), 300);
    }
}
