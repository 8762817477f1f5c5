//! Exact figures: dollars, averages, overflow, latency buckets and the p95.

use navi_analytics::{
    latency_bucket, AnalyticsError, CostUsd, Hundredths, LatencyHistogram, Sums,
    LATENCY_BUCKET_COUNT, LATENCY_BUCKET_UPPER_BOUNDS_MS, LATENCY_OVERFLOW_BUCKET,
};

fn usd(micros: i64) -> String {
    CostUsd::from_micros(micros).to_string()
}

fn average(sum: i64, count: i64) -> String {
    Hundredths::from_ratio(sum, count).unwrap().to_string()
}

#[test]
fn dollars_have_exactly_six_decimals() {
    assert_eq!(usd(0), "0.000000");
    assert_eq!(usd(1), "0.000001");
    assert_eq!(usd(999_999), "0.999999");
    assert_eq!(usd(1_000_000), "1.000000");
    assert_eq!(usd(12_345_678), "12.345678");
    assert_eq!(usd(-1), "-0.000001");
    assert_eq!(usd(i64::MAX), "9223372036854.775807");
    assert_eq!(usd(i64::MIN), "-9223372036854.775808");
}

#[test]
fn costs_beyond_32_bits_stay_exact() {
    // 5,000,000,000 micros + 1: past u32::MAX, and past what an f32 could count.
    let mut sums = Sums::default();
    sums.add(&Sums::of_call(0, 0, 5_000_000_000, 0)).unwrap();
    sums.add(&Sums::of_call(0, 0, 1, 0)).unwrap();
    assert_eq!(sums.cost_micros, 5_000_000_001);
    assert_eq!(usd(sums.cost_micros), "5000.000001");
    // 2^53 + 1 micros: beyond an f64's integers.
    assert_eq!(usd((1 << 53) + 1), "9007199254.740993");
}

#[test]
fn only_the_canonical_dollar_spelling_parses() {
    for micros in [0, 1, 12_345_678, -1, i64::MAX, i64::MIN] {
        let text = usd(micros);
        assert_eq!(
            CostUsd::parse(&text),
            Some(CostUsd::from_micros(micros)),
            "{text}"
        );
    }
    for bad in [
        "",
        "1",
        "1.5",
        "1.0000000",
        "01.000000",
        "-0.000000",
        "+1.000000",
        ".000000",
        "1.00000a",
        "9223372036854.775808",
        " 1.000000",
    ] {
        assert_eq!(CostUsd::parse(bad), None, "{bad:?}");
    }
}

#[test]
fn averages_round_half_away_from_zero() {
    assert_eq!(average(1, 8), "0.13"); // 0.125
    assert_eq!(average(5, 1000), "0.01"); // 0.005
    assert_eq!(average(4, 1000), "0.00"); // 0.004
    assert_eq!(average(1, 3), "0.33");
    assert_eq!(average(2, 3), "0.67");
    assert_eq!(average(601, 2), "300.50");
    assert_eq!(average(7, 1), "7.00");
    assert_eq!(average(0, 5), "0.00");
    assert_eq!(average(-1, 8), "-0.13");
    assert_eq!(average(1, -8), "-0.13");
    // 0.125 is exactly halfway in binary too: a float route would give 0.12 or 0.13 by luck.
    assert_eq!(
        average(1_000_000_000_000_000_001, 8),
        "125000000000000000.13"
    );
    assert_eq!(Hundredths::from_ratio(1, 0), None);
    // The numerator times 100 does not fit in an i64, and need not.
    assert_eq!(average(i64::MAX, 1), "9223372036854775807.00");
}

#[test]
fn averages_are_json_numbers_with_at_most_two_decimals() {
    assert_eq!(Hundredths::from_hundredths(13).to_f64(), 0.13);
    assert_eq!(
        Hundredths::from_f64(0.13),
        Some(Hundredths::from_hundredths(13))
    );
    assert_eq!(
        Hundredths::from_f64(300.5),
        Some(Hundredths::from_hundredths(30_050))
    );
    assert_eq!(Hundredths::from_f64(0.125), None);
    assert_eq!(Hundredths::from_f64(f64::NAN), None);
}

#[test]
fn overflow_is_an_error_and_leaves_the_sums_unchanged() {
    let mut sums = Sums::of_call(1, 2, i64::MAX, 4);
    let before = sums;
    assert_eq!(
        sums.add(&Sums::of_call(1, 1, 1, 1)),
        Err(AnalyticsError::Overflow {
            quantity: "cost_micros"
        })
    );
    assert_eq!(sums, before);
    let tokens = Sums::of_call(i64::MAX, 1, 0, 0);
    assert_eq!(
        tokens.total_tokens(),
        Err(AnalyticsError::Overflow {
            quantity: "total_tokens"
        })
    );
}

#[test]
fn buckets_hold_latencies_up_to_and_including_their_bound() {
    assert_eq!(LATENCY_BUCKET_UPPER_BOUNDS_MS[0], 10);
    assert_eq!(
        LATENCY_BUCKET_UPPER_BOUNDS_MS[LATENCY_OVERFLOW_BUCKET - 1],
        300_000
    );
    assert_eq!(LATENCY_BUCKET_COUNT, LATENCY_OVERFLOW_BUCKET + 1);
    assert!(LATENCY_BUCKET_UPPER_BOUNDS_MS
        .windows(2)
        .all(|pair| pair[0] < pair[1]));
    assert_eq!(latency_bucket(-5), 0);
    assert_eq!(latency_bucket(0), 0);
    assert_eq!(latency_bucket(10), 0);
    assert_eq!(latency_bucket(11), 1);
    assert_eq!(latency_bucket(15), 1);
    assert_eq!(latency_bucket(16), 2);
    assert_eq!(latency_bucket(300_000), LATENCY_OVERFLOW_BUCKET - 1);
    assert_eq!(latency_bucket(300_001), LATENCY_OVERFLOW_BUCKET);
    assert_eq!(latency_bucket(i64::MAX), LATENCY_OVERFLOW_BUCKET);
    for (bucket, bound) in LATENCY_BUCKET_UPPER_BOUNDS_MS.iter().enumerate() {
        assert_eq!(latency_bucket(*bound), bucket);
        assert_eq!(latency_bucket(bound + 1), bucket + 1);
    }
}

fn histogram(latencies: &[i64]) -> LatencyHistogram {
    let mut histogram = LatencyHistogram::new();
    for latency in latencies {
        histogram.record(*latency).unwrap();
    }
    histogram
}

#[test]
fn p95_of_nothing_is_none() {
    assert_eq!(LatencyHistogram::new().p95_ms(), None);
}

#[test]
fn p95_of_one_call_is_that_call_capped_by_its_bucket() {
    assert_eq!(histogram(&[0]).p95_ms(), Some(0));
    assert_eq!(histogram(&[12]).p95_ms(), Some(12));
    assert_eq!(histogram(&[15]).p95_ms(), Some(15));
    assert_eq!(histogram(&[400_000]).p95_ms(), Some(400_000));
}

#[test]
fn p95_takes_the_nearest_rank() {
    // 20 calls: rank ⌈19⌉ = 19, the 19th fastest.
    let mut latencies = vec![5; 19];
    latencies.push(1_000);
    assert_eq!(histogram(&latencies).p95_ms(), Some(10));
    // 21 calls: rank ⌈19.95⌉ = 20, now the slow one.
    latencies.push(1_000);
    assert_eq!(histogram(&latencies).p95_ms(), Some(1_000));
    // 100 calls: rank 95.
    let latencies: Vec<i64> = (1..=100).map(|i| i * 10).collect();
    // The 95th is 950 ms, in the bucket (750, 1000].
    assert_eq!(histogram(&latencies).p95_ms(), Some(1_000));
}

#[test]
fn p95_reports_the_bucket_bound_or_the_maximum_when_smaller() {
    // All in (200, 300]: bound 300, but nothing exceeded 240.
    assert_eq!(histogram(&[210, 220, 240]).p95_ms(), Some(240));
    // Above the last bound: the maximum, however large.
    assert_eq!(histogram(&[300_001, 900_000]).p95_ms(), Some(900_000));
    // Never below the true p95, at most 5/3 of it.
    assert_eq!(histogram(&[31, 31]).p95_ms(), Some(31));
    assert_eq!(histogram(&[31, 31, 1_000]).p95_ms(), Some(1_000));
    assert_eq!(
        histogram(&[31; 40].iter().copied().chain([1_000]).collect::<Vec<_>>()).p95_ms(),
        Some(50)
    );
}

#[test]
fn histograms_merge_exactly() {
    let mut left = histogram(&[5, 70, 3_000]);
    let right = histogram(&[80_000, 12]);
    left.merge(&right).unwrap();
    assert_eq!(left, histogram(&[5, 70, 3_000, 80_000, 12]));
    assert_eq!(left.total(), 5);
    assert_eq!(left.max_ms, 80_000);

    let mut by_bucket = LatencyHistogram::new();
    by_bucket.add_to_bucket(latency_bucket(70), 1, 70).unwrap();
    by_bucket.add_to_bucket(99, 2, 500_000).unwrap();
    assert_eq!(by_bucket.counts[LATENCY_OVERFLOW_BUCKET], 2);
    assert_eq!(by_bucket.p95_ms(), Some(500_000));
}

#[test]
fn histogram_overflow_is_an_error_and_leaves_it_unchanged() {
    let mut full = LatencyHistogram::new();
    full.add_to_bucket(3, i64::MAX, 30).unwrap();
    let before = full.clone();
    assert!(matches!(
        full.merge(&histogram(&[5, 30])),
        Err(AnalyticsError::Overflow { .. })
    ));
    assert_eq!(full, before);
    // Ranks are computed in 128 bits: no overflow there.
    assert_eq!(full.p95_ms(), Some(30));
}
