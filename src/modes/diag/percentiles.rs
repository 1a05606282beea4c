//! `--latency-percentiles p1,p2,…` (redis-cli 8.10; the list is read in
//! `cli::diagnostics`) for `--latency` and `--latency-history` on one node, pure: the
//! samples kept
//! in microseconds (min, max, total) and in an HdrHistogram of `hdr_init(1 µs, 3 s, 3)`
//! (samples out of range clamped, as redis-cli does), and the line in each output mode:
//! milliseconds with three decimals, each percentile as `pN: value` (docs/compatibility.md).

use super::format::c_fixed;
use super::hdr::Histogram;
use crate::cli::diagnostics::Percentile;
use crate::protocol::render::OutputMode;

/// The histogram's range in microseconds (redis-cli's `hdr_init(1, 3000000, 3)`).
const LOWEST_US: i64 = 1;
const HIGHEST_US: i64 = 3_000_000;
/// Samples of a run (or of a `--latency-history` range) in microseconds.
#[derive(Debug, Clone)]
pub struct Samples {
    min: i64,
    max: i64,
    total: i64,
    count: i64,
    histogram: Histogram,
}

impl Samples {
    /// No samples yet; `None` only if the histogram's fixed range were refused.
    pub fn new() -> Option<Samples> {
        let histogram = Histogram::new(LOWEST_US, HIGHEST_US, 3)?;
        Some(Samples { min: 0, max: 0, total: 0, count: 0, histogram })
    }

    /// One PING's round trip in microseconds.
    pub fn record(&mut self, us: i64) {
        let us = us.max(0);
        if self.count == 0 {
            (self.min, self.max) = (us, us);
        } else {
            self.min = self.min.min(us);
            self.max = self.max.max(us);
        }
        self.total = self.total.saturating_add(us);
        self.count = self.count.saturating_add(1);
        self.histogram.record(us.clamp(LOWEST_US, HIGHEST_US) as u64);
    }

    /// The line for `mode` (the terminal form has no newline: it is redrawn).
    pub fn text(&self, mode: OutputMode, percentiles: &[Percentile]) -> String {
        let ms = |us: f64| c_fixed(us / 1000.0, 0, 3, false);
        let avg = if self.count == 0 { 0.0 } else { self.total as f64 / self.count as f64 };
        let (min, max, avg, count) = (ms(self.min as f64), ms(self.max as f64), ms(avg), self.count);
        let values: Vec<(String, String)> = percentiles
            .iter()
            .map(|p| {
                let value = if self.count == 0 { 0 } else { self.histogram.value_at_percentile(p.value) };
                (p.label.clone(), ms(value as f64))
            })
            .collect();
        match mode {
            OutputMode::Tty => {
                let mut line = format!("min: {min}, max: {max}, avg: {avg} ({count} samples)");
                for (label, value) in &values {
                    line.push_str(&format!(", p{label}: {value}"));
                }
                line
            }
            OutputMode::Csv | OutputMode::Raw => {
                let separator = if mode == OutputMode::Csv { "," } else { " " };
                let mut fields = vec![min, max, avg, count.to_string()];
                fields.extend(values.into_iter().map(|(_, value)| value));
                format!("{}\n", fields.join(separator))
            }
            OutputMode::Json | OutputMode::QuotedJson => {
                let listed: Vec<String> = values.iter().map(|(label, value)| format!("\"{label}\": {value}")).collect();
                format!(
                    "{{\"min\": {min}, \"max\": {max}, \"avg\": {avg}, \"count\": {count}, \"percentiles\": {{{}}}}}\n",
                    listed.join(", ")
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::diagnostics::parse_percentiles as parse_list;

    fn samples(values: &[i64]) -> Samples {
        let mut samples = Samples::new().unwrap();
        for &v in values {
            samples.record(v);
        }
        samples
    }

    #[test]
    fn lines_in_every_mode() {
        let list = parse_list("50,99").unwrap().0;
        let s = samples(&(1..=100).map(|i| i * 10).collect::<Vec<_>>());
        assert_eq!(
            s.text(OutputMode::Tty, &list),
            "min: 0.010, max: 1.000, avg: 0.505 (100 samples), p50: 0.500, p99: 0.990"
        );
        assert_eq!(s.text(OutputMode::Csv, &list), "0.010,1.000,0.505,100,0.500,0.990\n");
        assert_eq!(s.text(OutputMode::Raw, &list), "0.010 1.000 0.505 100 0.500 0.990\n");
        let json: serde_json::Value = serde_json::from_str(&s.text(OutputMode::Json, &list)).unwrap();
        assert_eq!(json["count"], 100);
        assert_eq!(json["percentiles"]["99"], 0.99);
        assert_eq!(json["min"], 0.01);
    }

    #[test]
    fn out_of_range_samples_are_clamped_and_no_samples_print_zeros() {
        let list = parse_list("100").unwrap().0;
        let s = samples(&[5_000_000]);
        // Clamped to 3 s, reported as the top of its bucket (3 significant figures), as
        // the C library's hdr_value_at_percentile does.
        assert_eq!(s.text(OutputMode::Raw, &list), "5000.000 5000.000 5000.000 1 3000.319\n");
        let empty = samples(&[]);
        assert_eq!(empty.text(OutputMode::Raw, &list), "0.000 0.000 0.000 0 0.000\n");
    }
}
