//! Numbers printed the way redis-cli's C `printf` prints them (docs/redis-cli-modes.md,
//! sections 4-6): `bytesToHuman`'s B/K/M/G, `%05.2f` percentages, `%.2f` averages with
//! C's `inf`/`-nan`, and a monotonic clock read in whole milliseconds or microseconds
//! like `mstime()`/`ustime()`. Pure.

use std::time::Instant;

/// redis-cli's `bytesToHuman` (docs/redis-cli-modes.md, section 4): `123B`, `1.46K`,
/// `12.00M`, `3.10G`. From 1 TiB on redis-cli writes nothing (the column then shows
/// the keys count still in its buffer); rcli prints `T` instead (docs/compatibility.md).
pub fn bytes_to_human(n: i64) -> String {
    let sign = if n < 0 { "-" } else { "" };
    let n = n.unsigned_abs();
    const K: u64 = 1024;
    let scaled = |unit: u64| n as f64 / unit as f64;
    match n {
        n if n < K => format!("{sign}{n}B"),
        n if n < K * K => format!("{sign}{:.2}K", scaled(K)),
        n if n < K * K * K => format!("{sign}{:.2}M", scaled(K * K)),
        n if n < K * K * K * K => format!("{sign}{:.2}G", scaled(K * K * K)),
        _ => format!("{sign}{:.2}T", scaled(K * K * K * K)),
    }
}

/// C's `%<width>.<precision>f` (`zero` for the `0` flag): finite values as Rust prints
/// them (the same digits and rounding), infinities and NaN as glibc does (`inf`,
/// `-nan` for the NaN a 0/0 division gives), padded with spaces since the `0` flag does
/// not apply to them.
pub fn c_fixed(x: f64, width: usize, precision: usize, zero: bool) -> String {
    if x.is_finite() {
        return if zero { format!("{x:0width$.precision$}") } else { format!("{x:width$.precision$}") };
    }
    let text = match (x.is_nan(), x.is_sign_negative()) {
        (true, true) => "-nan",
        (true, false) => "nan",
        (false, true) => "-inf",
        (false, false) => "inf",
    };
    format!("{text:>width$}")
}

/// `%05.2f`: the `[12.34%]` progress prefix and the summary's `% of keys`.
pub fn percent(x: f64) -> String {
    c_fixed(x, 5, 2, true)
}

/// redis-cli's `100 * (double)sampled/total_keys` (docs/redis-cli-modes.md, section 6),
/// with the result x86 gives for a division by zero spelled out (`inf`, and `-nan` for
/// 0/0) so it does not depend on the CPU.
pub fn scan_percent(sampled: u64, total: u64) -> f64 {
    match (sampled, total) {
        (0, 0) => -f64::NAN,
        (_, 0) => f64::INFINITY,
        _ => 100.0 * sampled as f64 / total as f64,
    }
}

/// `%.2f`.
pub fn two_decimals(x: f64) -> String {
    c_fixed(x, 0, 2, false)
}

/// A clock counted from its creation, read in whole units as redis-cli reads
/// `mstime()` and `ustime()`: a duration is the difference of two readings, so a
/// 0.3 ms PING measures 0 or 1 ms depending on where the millisecond turns.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    base: Instant,
}

impl Clock {
    pub fn new() -> Clock {
        Clock { base: Instant::now() }
    }

    /// Whole milliseconds since the clock started.
    pub fn ms(&self) -> i64 {
        i64::try_from(self.base.elapsed().as_millis()).unwrap_or(i64::MAX)
    }

    /// Whole microseconds since the clock started.
    pub fn us(&self) -> i64 {
        i64::try_from(self.base.elapsed().as_micros()).unwrap_or(i64::MAX)
    }
}

impl Default for Clock {
    fn default() -> Clock {
        Clock::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_read_like_redis_cli() {
        assert_eq!(bytes_to_human(0), "0B");
        assert_eq!(bytes_to_human(1023), "1023B");
        assert_eq!(bytes_to_human(1024), "1.00K");
        assert_eq!(bytes_to_human(1_530_000), "1.46M");
        assert_eq!(bytes_to_human(3 << 30), "3.00G");
        assert_eq!(bytes_to_human(-2048), "-2.00K");
        assert_eq!(bytes_to_human(i64::MIN), "-8388608.00T");
        assert_eq!(bytes_to_human(5 << 40), "5.00T");
    }

    #[test]
    fn floats_print_like_c() {
        // Checked against glibc's printf.
        assert_eq!(percent(0.0), "00.00");
        assert_eq!(percent(5.5), "05.50");
        assert_eq!(percent(27.5), "27.50");
        assert_eq!(percent(100.0), "100.00");
        assert_eq!(percent(f64::INFINITY), "  inf");
        assert_eq!(percent(scan_percent(0, 0)), " -nan");
        assert_eq!(percent(scan_percent(3, 0)), "  inf");
        assert_eq!(percent(scan_percent(11, 40)), "27.50");
        assert_eq!(two_decimals(0.125), "0.12");
        assert_eq!(two_decimals(0.375), "0.38");
        assert_eq!(two_decimals(4.25), "4.25");
        assert_eq!(two_decimals(f64::INFINITY), "inf");
        assert_eq!(c_fixed(2.5, 0, 0, false), "2");
        assert_eq!(c_fixed(f64::INFINITY, 0, 0, false), "inf");
    }

    #[test]
    fn the_clock_counts_up() {
        let clock = Clock::new();
        let (ms, us) = (clock.ms(), clock.us());
        assert!(ms >= 0 && us >= 0 && clock.us() >= us);
    }
}
