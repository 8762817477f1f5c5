//! Property tests: the time logic against chrono-tz.

mod common;

use chrono::{DateTime, LocalResult, NaiveDate, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::{GapInfo, Tz};
use common::{date, ZONES};
use navi_analytics::{epoch_day_to_date, DashboardQuery, ROLLUP_GRAINS_SECONDS};
use proptest::prelude::*;

/// The first day instants are drawn from, and how many days they cover (2026-10-01..=2027-04-30).
fn first_day() -> NaiveDate {
    date(2026, 10, 1)
}
const DATA_DAYS: i64 = 212;

fn zone() -> impl Strategy<Value = Tz> {
    proptest::sample::select(ZONES.to_vec())
}

/// A range starting within those months: mostly short, sometimes up to a year.
fn range() -> impl Strategy<Value = (NaiveDate, NaiveDate)> {
    let length = prop_oneof![4 => 1_i64..=45, 1 => 1_i64..=366];
    (0..DATA_DAYS, length).prop_map(|(start, length)| {
        let from = first_day() + TimeDelta::days(start);
        (from, from + TimeDelta::days(length - 1))
    })
}

/// An instant in those months, half the time on or right next to a quarter hour, where
/// day and offset boundaries lie.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    let time_of_day = prop_oneof![
        0_i64..86_400,
        (0_i64..96, -1_i64..=1).prop_map(|(quarter, nudge)| quarter * 900 + nudge),
    ];
    (-2..DATA_DAYS + 2, time_of_day).prop_map(|(day, seconds)| {
        let midnight = first_day().and_hms_opt(0, 0, 0).unwrap().and_utc();
        midnight + TimeDelta::days(day) + TimeDelta::seconds(seconds)
    })
}

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
        prop_assert_eq!(segments[0].start_epoch, range_start.timestamp());
        prop_assert_eq!(segments[segments.len() - 1].end_epoch, range_end.timestamp());
        for (index, segment) in segments.iter().enumerate() {
            prop_assert!(segment.start_epoch < segment.end_epoch);
            prop_assert_eq!(segment.offset_seconds % 900, 0);
            prop_assert_eq!(offset_at(tz, segment.start_epoch), segment.offset_seconds);
            prop_assert_eq!(offset_at(tz, segment.end_epoch - 1), segment.offset_seconds);
            if let Some(next) = segments.get(index + 1) {
                prop_assert_eq!(segment.end_epoch, next.start_epoch);
                prop_assert_ne!(segment.offset_seconds, next.offset_seconds);
            }
        }

        // The grain divides every boundary, and is the coarsest that does.
        let grain = query.finest_grain_seconds();
        let mut boundaries: Vec<i64> = days.iter().map(|day| day.start.timestamp()).collect();
        boundaries.push(range_end.timestamp());
        boundaries.extend(segments.iter().map(|segment| segment.start_epoch));
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
}
