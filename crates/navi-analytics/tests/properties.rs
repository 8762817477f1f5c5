//! Property tests: the time logic against chrono-tz, the builder against the reference, and the
//! JSON shape of any dashboard.

mod common;

use chrono::{DateTime, LocalResult, NaiveDate, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::{GapInfo, Tz};
use common::{
    dataset, finest_grain_seconds, instant, range, zone, CellSource, ORGS, ROLLUP_GRAINS_SECONDS,
    USERS,
};
use navi_analytics::{epoch_day_to_date, DashboardQuery, UsageSource};
use proptest::prelude::*;
use serde_json::Value;

/// The first instant of `date` in `tz`, as chrono-tz answers it directly.
fn chrono_day_start(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_hms_opt(0, 0, 0).unwrap();
    match tz.from_local_datetime(&midnight) {
        LocalResult::Single(start) | LocalResult::Ambiguous(start, _) => start.with_timezone(&Utc),
        LocalResult::None => GapInfo::new(&midnight, &tz)
            .and_then(|gap| gap.end)
            .unwrap()
            .with_timezone(&Utc),
    }
}

fn offset_at(tz: Tz, epoch_seconds: i64) -> i64 {
    let utc = DateTime::from_timestamp(epoch_seconds, 0).unwrap();
    i64::from(utc.with_timezone(&tz).offset().fix().local_minus_utc())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// (a) Segments and days agree with chrono-tz, instant by instant, and tile the range.
    #[test]
    fn segments_and_days_agree_with_chrono_tz(
        tz in zone(),
        (from, to) in range(),
        instants in proptest::collection::vec(instant(), 40),
        nudges in proptest::collection::vec(-2_i64..=2, 8),
    ) {
        let query = DashboardQuery::new(from, to, tz).unwrap();
        let (range_start, range_end) = query.utc_range();
        let segments = query.offset_segments();
        let days = query.days();

        // Days: one per date, in order, each starting where chrono-tz says, tiling the range.
        prop_assert_eq!(days.len() as i64, (to - from).num_days() + 1);
        prop_assert_eq!(days[0].start, range_start);
        prop_assert_eq!(days[days.len() - 1].end, range_end);
        for (index, day) in days.iter().enumerate() {
            prop_assert_eq!(day.date, from + TimeDelta::days(index as i64));
            prop_assert_eq!(day.start, chrono_day_start(tz, day.date));
            prop_assert!(day.start < day.end);
            if let Some(next) = days.get(index + 1) {
                prop_assert_eq!(day.end, next.start);
            }
        }

        // Segments: tiling the range, each of one offset, each maximal.
        prop_assert!(!segments.is_empty());
        prop_assert_eq!(segments[0].start, range_start.timestamp());
        prop_assert_eq!(segments[segments.len() - 1].end, range_end.timestamp());
        for (index, segment) in segments.iter().enumerate() {
            prop_assert!(segment.start < segment.end);
            prop_assert_eq!(segment.offset % 900, 0);
            prop_assert_eq!(offset_at(tz, segment.start), segment.offset);
            prop_assert_eq!(offset_at(tz, segment.end - 1), segment.offset);
            if let Some(next) = segments.get(index + 1) {
                prop_assert_eq!(segment.end, next.start);
                prop_assert_ne!(segment.offset, next.offset);
            }
        }

        // The grain divides every boundary, and is the coarsest that does.
        let grain = finest_grain_seconds(&query);
        let mut boundaries: Vec<i64> = days.iter().map(|day| day.start.timestamp()).collect();
        boundaries.push(range_end.timestamp());
        boundaries.extend(segments.iter().map(|segment| segment.start));
        prop_assert!(boundaries.iter().all(|boundary| boundary % grain == 0));
        if let Some(coarser) = ROLLUP_GRAINS_SECONDS.iter().rev().find(|g| **g > grain) {
            prop_assert!(boundaries.iter().any(|boundary| boundary % coarser != 0));
        }

        // Instant by instant: in a segment exactly when its local date is in range, and then
        // the segment's formula gives that date. Boundaries are probed too.
        let probes = instants.into_iter().chain(days.iter().flat_map(|day| {
            nudges.iter().map(move |nudge| day.start + TimeDelta::seconds(*nudge))
        }));
        for probe in probes {
            let expected = probe.with_timezone(&tz).date_naive();
            let in_range = from <= expected && expected <= to;
            let t = probe.timestamp();
            let by_segments = segments
                .iter()
                .find(|segment| segment.contains(t))
                .map(|segment| epoch_day_to_date(segment.local_epoch_day(t)).unwrap());
            prop_assert_eq!(by_segments, in_range.then_some(expected), "{}", probe);
            prop_assert_eq!(query.local_date_of(probe), in_range.then_some(expected), "{}", probe);
            prop_assert_eq!(in_range, range_start <= probe && probe < range_end, "{}", probe);
        }
    }

    /// (b) The builder fed per call, or per rollup bucket at the query's grain, through the
    /// segments, gives the reference's dashboards exactly.
    #[test]
    fn the_builder_matches_the_reference(
        mut reference in dataset(),
        tz in zone(),
        (from, to) in range(),
    ) {
        let query = DashboardQuery::new(from, to, tz).unwrap();
        let grains = [None, Some(finest_grain_seconds(&query))];
        for org in ORGS.iter().chain(&["org_without_data"]) {
            let expected = reference.org_dashboard(org, &query).unwrap();
            for grain in grains {
                let mut cells = CellSource { data: &reference, grain };
                prop_assert_eq!(&cells.org_dashboard(org, &query).unwrap(), &expected, "grain {:?}", grain);
            }
            for user in USERS {
                let expected = reference.usage_dashboard(org, user, &query).unwrap();
                for grain in grains {
                    let mut cells = CellSource { data: &reference, grain };
                    prop_assert_eq!(&cells.usage_dashboard(org, user, &query).unwrap(), &expected, "grain {:?}", grain);
                }
            }
        }
    }

    /// (c) Any dashboard serializes to the contract's keys, in order, with dollars written
    /// `D.DDDDDD` and averages with at most two decimals, and reads back to itself.
    #[test]
    fn dashboards_serialize_to_the_contract(
        mut reference in dataset(),
        tz in zone(),
        (from, to) in range(),
        org in proptest::sample::select(ORGS.to_vec()),
        user in proptest::sample::select(USERS.to_vec()),
    ) {
        let query = DashboardQuery::new(from, to, tz).unwrap();
        for dashboard in [
            reference.org_dashboard(org, &query).unwrap(),
            reference.usage_dashboard(org, user, &query).unwrap(),
        ] {
            let text = serde_json::to_string(&dashboard).unwrap();
            let value: Value = serde_json::from_str(&text).unwrap();
            let org_wide = dashboard.user_id.is_none();
            let mut top = vec!["org_id", "user_id", "from", "to", "tz", "totals", "daily", "by_model"];
            if org_wide {
                top.push("by_user");
            }
            prop_assert_eq!(keys(&value), top);
            prop_assert_eq!(&value["tz"], &Value::from(tz.name()));
            prop_assert_eq!(
                keys(&value["totals"]),
                ["requests", "prompt_tokens", "completion_tokens", "total_tokens", "cost_micros",
                 "cost_usd", "avg_latency_ms", "p95_latency_ms", "feedback_positive",
                 "feedback_negative"]
            );
            check_figures(&value["totals"])?;
            let daily = value["daily"].as_array().unwrap();
            prop_assert_eq!(daily.len(), query.day_count());
            for (row, day) in daily.iter().zip(query.days()) {
                prop_assert_eq!(keys(row), ["date", "requests", "total_tokens", "cost_micros", "cost_usd", "avg_latency_ms"]);
                prop_assert_eq!(&row["date"], &Value::from(day.date.format("%Y-%m-%d").to_string()));
                check_figures(row)?;
            }
            let lists: &[(&str, &str)] = if org_wide {
                &[("by_model", "model"), ("by_user", "user_id")]
            } else {
                &[("by_model", "model")]
            };
            for (list, name) in lists {
                for row in value[*list].as_array().unwrap() {
                    prop_assert_eq!(keys(row), [*name, "requests", "total_tokens", "cost_micros", "cost_usd", "avg_latency_ms"]);
                    prop_assert!(row["requests"].as_i64().unwrap() > 0);
                    check_figures(row)?;
                }
            }
            prop_assert_eq!(serde_json::from_str::<navi_analytics::Dashboard>(&text).unwrap(), dashboard);
        }
    }
}

fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

/// `cost_usd` is `cost_micros` written as dollars; `avg_latency_ms` is null exactly without
/// requests, and otherwise a number with at most two decimals.
fn check_figures(row: &Value) -> Result<(), TestCaseError> {
    let micros = row["cost_micros"].as_i64().unwrap();
    let dollars = row["cost_usd"].as_str().unwrap();
    let (whole, fraction) = dollars.split_once('.').unwrap();
    prop_assert_eq!(fraction.len(), 6);
    prop_assert!(fraction.bytes().all(|b| b.is_ascii_digit()));
    prop_assert_eq!(
        whole.parse::<i64>().unwrap() * 1_000_000 + fraction.parse::<i64>().unwrap(),
        micros
    );
    let requests = row["requests"].as_i64().unwrap();
    let average = &row["avg_latency_ms"];
    if requests == 0 {
        prop_assert!(average.is_null());
    } else {
        let text = average.to_string();
        let decimals = text
            .split_once('.')
            .map_or(0, |(_, fraction)| fraction.len());
        prop_assert!(
            average.is_number() && decimals <= 2 && !text.contains('e'),
            "{}",
            text
        );
    }
    Ok(())
}
