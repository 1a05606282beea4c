//! The histogram against the C library: every expected figure below was printed by
//! redis/redis's `deps/hdr_histogram/hdr_histogram.c` compiled with gcc on the same
//! values (`hdr_init(1, 1 TB, 4)`, the percentile iteration as `--keystats` walks it,
//! `hdr_mean`, `hdr_stddev`, `hdr_value_at_percentile`), see docs/testing.md.

use super::*;

const TB: i64 = 1 << 40;

fn keystats_histogram(values: &[u64]) -> Histogram {
    let mut h = Histogram::new(1, TB, 4).unwrap();
    for &v in values {
        h.record(v);
    }
    h
}

/// The C harness's value generator: `n` values of widely spread magnitudes.
fn spread(n: usize, seed: u64, bits: u64) -> Vec<u64> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let shift = (x >> 59) % (bits + 1);
            (x >> 20) & ((1u64 << shift) - 1)
        })
        .collect()
}

fn rows(h: &Histogram) -> Vec<(i64, f64, u64)> {
    h.percentile_rows().into_iter().map(|r| (r.value, r.percentile, r.cumulative)).collect()
}

#[test]
fn the_layout_is_the_c_librarys() {
    let h = Histogram::new(1, TB, 4).unwrap();
    assert_eq!((h.sub_bucket_half_count_magnitude, h.sub_bucket_count, h.unit_magnitude), (14, 32768, 0));
    assert_eq!(h.counts_len, 458_752);
    assert_eq!(Histogram::for_key_sizes(), h);
    assert!(Histogram::new(0, TB, 4).is_none());
    assert!(Histogram::new(1, TB, 6).is_none());
    assert!(Histogram::new(10, 15, 3).is_none());
}

#[test]
fn ten_thousand_spread_values() {
    let h = keystats_histogram(&spread(10_000, 7, 40));
    let expected = [
        (0, 0.0, 634),
        (18767, 50.0, 5000),
        (5288959, 75.0, 7500),
        (79036415, 87.5, 8750),
        (319143935, 93.75, 9375),
        (717914111, 96.875, 9688),
        (1198063615, 98.4375, 9844),
        (1663696895, 99.21875, 9922),
        (1913651199, 99.609375, 9961),
        (2054160383, 99.8046875, 9981),
        (2115239935, 99.90234375, 9991),
        (2136670207, 99.951171875, 9996),
        (2139750399, 99.9755859375, 9998),
        (2145124351, 99.98779296875, 9999),
        (2146238463, 100.0, 10000),
    ];
    assert_eq!(rows(&h), expected);
    assert_eq!(h.mean(), 69326747.5641);
    assert_eq!(h.stddev(), 251294899.0826411);
    assert_eq!(c_to_i64(h.mean()), 69326747);
    let at: Vec<i64> = [0.0, 50.0, 90.0, 99.0, 99.9, 100.0].iter().map(|&p| h.value_at_percentile(p)).collect();
    assert_eq!(at, [0, 18767, 127913983, 1556611071, 2110521343, 2146238463]);
}

#[test]
fn small_sets() {
    let h = keystats_histogram(&spread(3, 1, 40));
    assert_eq!(rows(&h), [(1087, 0.0, 1), (14436, 50.0, 2), (627231, 100.0, 3)]);
    assert_eq!((h.mean(), h.stddev()), (214246.33333333334, 292064.49988582236));

    let h = keystats_histogram(&spread(1000, 42, 20));
    assert_eq!(
        rows(&h),
        [
            (0, 0.0, 132),
            (59, 50.0, 501),
            (1629, 75.0, 750),
            (23406, 87.5, 875),
            (114171, 93.75, 938),
            (258543, 96.875, 969),
            (483343, 98.4375, 985),
            (775711, 99.21875, 993),
            (925759, 99.609375, 997),
            (937055, 99.8046875, 999),
            (972895, 100.0, 1000),
        ]
    );
    assert_eq!((h.mean(), h.stddev()), (27315.217, 109011.11488514332));
    assert_eq!((h.value_at_percentile(50.0), h.value_at_percentile(99.99)), (59, 972895));

    let h = keystats_histogram(&[80, 144]);
    assert_eq!(rows(&h), [(80, 0.0, 1), (144, 100.0, 2)]);
    assert_eq!((h.mean(), h.stddev()), (112.0, 32.0));
}

#[test]
fn the_edges_of_the_range() {
    let mut h = Histogram::new(1, TB, 4).unwrap();
    let values = [TB as u64, TB as u64 - 1, 1 << 39, (1 << 41) - 1, 1 << 41, 0, 1, 32767, 32768, 65535, 65536];
    let kept: Vec<bool> = values.iter().map(|&v| h.record(v)).collect();
    assert_eq!(kept, [true, true, true, true, false, true, true, true, true, true, true]);
    assert!(!h.record(u64::MAX));
    assert_eq!(
        rows(&h),
        [(0, 0.0, 1), (65535, 50.0, 5), (1099511627775, 75.0, 8), (1099578736639, 87.5, 9), (2199023255551, 100.0, 10)]
    );
    assert_eq!((h.mean(), h.stddev()), (494780252160.2, 714676091835.2253));
    assert_eq!((h.value_at_percentile(50.0), h.value_at_percentile(100.0)), (65535, 2199023255551));
}

#[test]
fn an_empty_histogram_is_nan_as_in_c() {
    let h = Histogram::new(1, TB, 4).unwrap();
    assert!(rows(&h).is_empty());
    assert!(h.mean().is_nan() && h.stddev().is_nan());
    assert_eq!(c_to_i64(h.mean()), i64::MIN);
    assert_eq!(h.value_at_percentile(50.0), 0);
}

#[test]
fn merged_histograms_equal_one_fed_everything() {
    let values = spread(3000, 9, 30);
    let (left, right) = values.split_at(1234);
    let mut merged = keystats_histogram(left);
    merged.merge(&keystats_histogram(right));
    assert_eq!(merged, keystats_histogram(&values));
}

#[test]
fn casts_follow_x86() {
    assert_eq!(c_to_i64(2.9), 2);
    assert_eq!(c_to_i64(-2.9), -2);
    assert_eq!(c_to_i64(f64::INFINITY), i64::MIN);
    assert_eq!(c_to_i64(f64::NAN), i64::MIN);
    assert_eq!(next_tick(0.0), 50.0);
    assert_eq!(next_tick(50.0), 25.0);
    assert_eq!(next_tick(100.0), f64::INFINITY);
}
