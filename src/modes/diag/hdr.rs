//! An HdrHistogram that gives the numbers redis-cli's copy of the C library
//! (`deps/hdr_histogram`) gives, digit for digit: the same bucket layout from
//! (lowest, highest, significant figures), the same percentile iteration
//! (`hdr_iter_percentile_init` with one tick per half distance, as `--keystats` prints
//! it), `hdr_mean`, `hdr_stddev` and `hdr_value_at_percentile`, with the C library's
//! floating-point steps in the same order (docs/redis-cli-modes.md, section 6.4).
//! Counts are kept sparse (only the buckets that were hit), so a histogram costs a few
//! hundred bytes instead of the C library's 3.5 MB for `--keystats`' 1 TB range; every
//! iteration visits the buckets in the C library's index order. Pure.

use std::collections::BTreeMap;

/// A histogram of non-negative integers.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    unit_magnitude: u32,
    sub_bucket_half_count_magnitude: u32,
    sub_bucket_half_count: i64,
    sub_bucket_count: i64,
    sub_bucket_mask: i64,
    counts_len: i64,
    /// Count per counts index (the C library's `counts` array, zeros left out).
    counts: BTreeMap<i64, u64>,
    total: u64,
}

/// One line of the percentile iteration as `--keystats` prints it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PercentileRow {
    /// The highest value equivalent to the bucket's (`iter.highest_equivalent_value`).
    pub value: i64,
    /// The percentile the iteration reported there (100 on the last row).
    pub percentile: f64,
    /// Values recorded up to and including this bucket.
    pub cumulative: u64,
}

/// C's `(int64_t)` cast of a double as x86-64 performs it (`cvttsd2si`): truncation,
/// and `INT64_MIN` for NaN and values out of range (where C leaves it undefined).
pub fn c_to_i64(x: f64) -> i64 {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
    if (-LIMIT..LIMIT).contains(&x) { x as i64 } else { i64::MIN }
}

impl Histogram {
    /// `hdr_init(lowest, highest, significant_figures)`; `None` where the C library
    /// answers EINVAL.
    pub fn new(lowest: i64, highest: i64, significant_figures: u32) -> Option<Histogram> {
        if lowest < 1 || !(1..=5).contains(&significant_figures) || lowest.checked_mul(2)? > highest {
            return None;
        }
        let largest_single_unit = 2 * 10i64.pow(significant_figures);
        let sub_bucket_count_magnitude = ((largest_single_unit as f64).ln() / std::f64::consts::LN_2).ceil() as u32;
        let sub_bucket_half_count_magnitude = sub_bucket_count_magnitude.max(1) - 1;
        let unit_magnitude = ((lowest as f64).ln() / std::f64::consts::LN_2) as u32;
        if unit_magnitude + sub_bucket_half_count_magnitude > 61 {
            return None;
        }
        let sub_bucket_count = 1i64 << (sub_bucket_half_count_magnitude + 1);
        let sub_bucket_half_count = sub_bucket_count / 2;
        let sub_bucket_mask = (sub_bucket_count - 1) << unit_magnitude;
        // buckets_needed_to_cover_value
        let mut smallest_untrackable = sub_bucket_count << unit_magnitude;
        let mut bucket_count = 1i64;
        while smallest_untrackable <= highest {
            if smallest_untrackable > i64::MAX / 2 {
                bucket_count += 1;
                break;
            }
            smallest_untrackable <<= 1;
            bucket_count += 1;
        }
        Some(Histogram {
            unit_magnitude,
            sub_bucket_half_count_magnitude,
            sub_bucket_half_count,
            sub_bucket_count,
            sub_bucket_mask,
            counts_len: (bucket_count + 1) * sub_bucket_half_count,
            counts: BTreeMap::new(),
            total: 0,
        })
    }

    /// The histogram of redis-cli's `--keystats`: `hdr_init(1, 1 TB, 4)` (the figures
    /// [`Histogram::new`] computes for them, checked in the tests).
    pub fn for_key_sizes() -> Histogram {
        Histogram {
            unit_magnitude: 0,
            sub_bucket_half_count_magnitude: 14,
            sub_bucket_half_count: 16384,
            sub_bucket_count: 32768,
            sub_bucket_mask: 32767,
            counts_len: 458_752,
            counts: BTreeMap::new(),
            total: 0,
        }
    }

    /// Values recorded.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// `hdr_record_value`: false (nothing recorded) for a value beyond the range.
    pub fn record(&mut self, value: u64) -> bool {
        let Ok(value) = i64::try_from(value) else { return false };
        let index = self.counts_index_for(value);
        if index < 0 || index >= self.counts_len {
            return false;
        }
        *self.counts.entry(index).or_insert(0) += 1;
        self.total += 1;
        true
    }

    /// Adds `other`'s counts (histograms of the same layout add bucket by bucket, as
    /// `hdr_add` does).
    pub fn merge(&mut self, other: &Histogram) {
        for (&index, &count) in &other.counts {
            if (0..self.counts_len).contains(&index) {
                *self.counts.entry(index).or_insert(0) += count;
                self.total += count;
            }
        }
    }

    fn bucket_index(&self, value: i64) -> i64 {
        let pow2ceiling = 64 - i64::from((value | self.sub_bucket_mask).leading_zeros());
        pow2ceiling - i64::from(self.unit_magnitude) - i64::from(self.sub_bucket_half_count_magnitude + 1)
    }

    fn sub_bucket_index(&self, value: i64, bucket_index: i64) -> i64 {
        value.checked_shr(u32::try_from(bucket_index + i64::from(self.unit_magnitude)).unwrap_or(0)).unwrap_or(0)
    }

    fn counts_index_for(&self, value: i64) -> i64 {
        let bucket_index = self.bucket_index(value);
        let sub_bucket_index = self.sub_bucket_index(value, bucket_index);
        ((bucket_index + 1) << self.sub_bucket_half_count_magnitude) + (sub_bucket_index - self.sub_bucket_half_count)
    }

    /// `hdr_value_at_index`.
    fn value_at_index(&self, index: i64) -> i64 {
        let mut bucket_index = (index >> self.sub_bucket_half_count_magnitude) - 1;
        let mut sub_bucket_index = (index & (self.sub_bucket_half_count - 1)) + self.sub_bucket_half_count;
        if bucket_index < 0 {
            sub_bucket_index -= self.sub_bucket_half_count;
            bucket_index = 0;
        }
        shift_left(sub_bucket_index, bucket_index + i64::from(self.unit_magnitude))
    }

    /// The lowest value equivalent to `value` and the size of its range.
    fn equivalent_range(&self, value: i64) -> (i64, i64) {
        let bucket_index = self.bucket_index(value);
        let sub_bucket_index = self.sub_bucket_index(value, bucket_index);
        let lowest = shift_left(sub_bucket_index, bucket_index + i64::from(self.unit_magnitude));
        let adjusted = if sub_bucket_index >= self.sub_bucket_count { bucket_index + 1 } else { bucket_index };
        (lowest, shift_left(1, i64::from(self.unit_magnitude) + adjusted))
    }

    /// The highest value equivalent to the value at counts index `index`.
    fn highest_equivalent_at(&self, index: i64) -> i64 {
        let (lowest, size) = self.equivalent_range(self.value_at_index(index));
        lowest.wrapping_add(size).wrapping_sub(1)
    }

    fn median_equivalent_at(&self, index: i64) -> i64 {
        let (lowest, size) = self.equivalent_range(self.value_at_index(index));
        lowest.wrapping_add(size >> 1)
    }

    /// The rows `--keystats` prints: the percentile iteration with one tick per half
    /// distance, a row where the cumulative count changes, the last one at 100%.
    pub fn percentile_rows(&self) -> Vec<PercentileRow> {
        let mut rows = Vec::new();
        let mut percentile_to_iterate_to = 0.0f64;
        let mut cumulative = 0u64;
        for (&index, &count) in &self.counts {
            if count == 0 {
                continue;
            }
            cumulative += count;
            let current = (100.0 * cumulative as f64) / self.total as f64;
            if percentile_to_iterate_to > current {
                continue;
            }
            let percentile = if cumulative == self.total { 100.0 } else { percentile_to_iterate_to };
            rows.push(PercentileRow { value: self.highest_equivalent_at(index), percentile, cumulative });
            // Every further report from this bucket repeats its cumulative count (not
            // printed); the iteration only moves its next percentile on.
            while percentile_to_iterate_to <= current {
                percentile_to_iterate_to += next_tick(percentile_to_iterate_to);
            }
        }
        rows
    }

    /// `hdr_mean` (NaN when empty, as in C).
    pub fn mean(&self) -> f64 {
        let total = self.counts.iter().fold(0i64, |sum, (&index, &count)| {
            sum.wrapping_add((count as i64).wrapping_mul(self.median_equivalent_at(index)))
        });
        (total as f64) / self.total as f64
    }

    /// `hdr_stddev`.
    pub fn stddev(&self) -> f64 {
        let mean = self.mean();
        let deviation = self.counts.iter().fold(0.0f64, |sum, (&index, &count)| {
            let dev = self.median_equivalent_at(index) as f64 - mean;
            sum + (dev * dev) * count as f64
        });
        (deviation / self.total as f64).sqrt()
    }

    /// `hdr_value_at_percentile`.
    pub fn value_at_percentile(&self, percentile: f64) -> i64 {
        let requested = if percentile < 100.0 { percentile } else { 100.0 };
        let wanted = c_to_i64((requested / 100.0) * self.total as f64 + 0.5).min(self.total as i64);
        let mut seen = 0i64;
        let mut value = 0i64;
        for (&index, &count) in &self.counts {
            if seen >= wanted {
                break;
            }
            seen = seen.saturating_add(count as i64);
            value = self.value_at_index(index);
        }
        let (lowest, size) = self.equivalent_range(value);
        if percentile == 0.0 { lowest } else { lowest.wrapping_add(size).wrapping_sub(1) }
    }
}

/// How far the percentile iteration moves after reporting at `percentile` (the C
/// library's `100.0 / (ticks_per_half_distance * 2^(floor(log2(100 / (100 - p))) + 1))`
/// with one tick per half distance; at 100 it becomes infinite, as in C).
fn next_tick(percentile: f64) -> f64 {
    let temp = c_to_i64((100.0 / (100.0 - percentile)).ln() / std::f64::consts::LN_2).wrapping_add(1);
    let half_distance = c_to_i64(2f64.powf(temp as f64));
    100.0 / half_distance as f64
}

fn shift_left(value: i64, by: i64) -> i64 {
    u32::try_from(by).ok().and_then(|by| value.checked_shl(by)).unwrap_or(0)
}

#[cfg(test)]
#[path = "hdr_tests.rs"]
mod tests;
