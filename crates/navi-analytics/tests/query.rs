//! Reading dashboard queries, and laying their days out in time.

mod common;

use chrono::TimeDelta;
use chrono_tz::Tz;
use common::{date, finest_grain_seconds, query, utc};
use navi_analytics::{
    date_to_epoch_day, epoch_day_to_date, DashboardQuery, InvalidQuery, OffsetSegment,
};

fn parse(
    from: Option<&str>,
    to: Option<&str>,
    tz: Option<&str>,
) -> Result<DashboardQuery, InvalidQuery> {
    DashboardQuery::parse(from, to, tz, utc(2026, 11, 22, 9, 15, 0))
}

fn hours(day: &navi_analytics::LocalDay) -> i64 {
    (day.end - day.start).num_minutes() / 60
}

#[test]
fn defaults_are_the_last_thirty_days_in_utc() {
    let query = parse(None, None, None).unwrap();
    assert_eq!(query.tz(), Tz::UTC);
    assert_eq!(query.to(), date(2026, 11, 22));
    assert_eq!(query.from(), date(2026, 10, 24));
    assert_eq!(query.days().len(), 30);
}

#[test]
fn default_to_is_today_in_the_requested_zone() {
    let today = |tz, now| {
        DashboardQuery::parse(None, None, Some(tz), now)
            .unwrap()
            .to()
    };
    // 09:15 UTC on the 22nd is 22:15 in Auckland and 23:15 on the 21st in Honolulu.
    assert_eq!(
        today("Pacific/Auckland", utc(2026, 11, 22, 9, 15, 0)),
        date(2026, 11, 22)
    );
    assert_eq!(
        today("Pacific/Auckland", utc(2026, 11, 22, 11, 0, 0)),
        date(2026, 11, 23)
    );
    assert_eq!(
        today("Pacific/Honolulu", utc(2026, 11, 22, 9, 15, 0)),
        date(2026, 11, 21)
    );
    assert_eq!(
        today("Pacific/Honolulu", utc(2026, 11, 22, 10, 0, 0)),
        date(2026, 11, 22)
    );
}

#[test]
fn default_from_is_twenty_nine_days_before_to() {
    let query = parse(None, Some("2026-03-01"), None).unwrap();
    assert_eq!(query.from(), date(2026, 1, 31));
}

#[test]
fn a_single_day_is_a_valid_range() {
    let query = parse(Some("2026-11-22"), Some("2026-11-22"), None).unwrap();
    assert_eq!(query.days().len(), 1);
    assert_eq!(
        query.utc_range(),
        (utc(2026, 11, 22, 0, 0, 0), utc(2026, 11, 23, 0, 0, 0))
    );
}

#[test]
fn malformed_dates_name_their_field() {
    for bad in [
        "2026-1-05",
        "2026-01-5",
        "26-01-05",
        "2026/01/05",
        "2026-02-30",
        "2026-13-01",
        "20260105",
        "",
        " 2026-01-05",
        "2026-01-05T00:00:00Z",
        "+2026-01-05",
        "２０２６-01-05",
    ] {
        let error = parse(Some(bad), Some("2026-11-22"), None).unwrap_err();
        assert_eq!(error.field, "from", "{bad:?}");
        assert!(error.message.starts_with("from "), "{}", error.message);
        let error = parse(Some("2026-01-01"), Some(bad), None).unwrap_err();
        assert_eq!(error.field, "to", "{bad:?}");
        assert!(error.message.starts_with("to "), "{}", error.message);
    }
}

#[test]
fn unknown_zones_are_refused_naming_tz() {
    for bad in [
        "",
        "Mars/Olympus_Mons",
        "america/new_york",
        "UTC+2",
        " UTC",
        "+05:30",
    ] {
        let error = parse(None, None, Some(bad)).unwrap_err();
        assert_eq!(error.field, "tz", "{bad:?}");
        assert!(error.message.starts_with("tz "), "{}", error.message);
        assert_eq!(error.to_string(), error.message);
    }
}

#[test]
fn from_after_to_names_from() {
    let error = parse(Some("2026-11-23"), Some("2026-11-22"), None).unwrap_err();
    assert_eq!(error.field, "from");
    assert_eq!(error.message, "from must not be after to.");
    // With `to` defaulted to today.
    assert_eq!(
        parse(Some("2026-12-01"), None, None).unwrap_err().field,
        "from"
    );
}

#[test]
fn ranges_longer_than_366_days_name_to() {
    let leap_year = parse(Some("2028-01-01"), Some("2028-12-31"), None).unwrap();
    assert_eq!(leap_year.days().len(), 366);
    let error = parse(Some("2026-01-01"), Some("2027-01-02"), None).unwrap_err();
    assert_eq!(error.field, "to");
    assert_eq!(
        error.message,
        "to must be no more than 365 days after from (366 days in all)."
    );
}

#[test]
fn dates_outside_the_supported_years_are_refused() {
    assert_eq!(
        parse(Some("1979-12-31"), Some("1980-01-05"), None)
            .unwrap_err()
            .field,
        "from"
    );
    assert_eq!(
        parse(Some("0000-01-01"), Some("0000-01-05"), None)
            .unwrap_err()
            .field,
        "from"
    );
    assert!(parse(
        Some("9999-12-01"),
        Some("9999-12-31"),
        Some("Pacific/Kiritimati")
    )
    .is_ok());
    assert!(parse(
        Some("1980-01-01"),
        Some("1980-01-31"),
        Some("America/Los_Angeles")
    )
    .is_ok());
}

#[test]
fn epoch_days_round_trip() {
    assert_eq!(date_to_epoch_day(date(1970, 1, 1)), 0);
    assert_eq!(date_to_epoch_day(date(1969, 12, 31)), -1);
    assert_eq!(date_to_epoch_day(date(2026, 11, 22)), 20_779);
    assert_eq!(epoch_day_to_date(20_779), Some(date(2026, 11, 22)));
    assert_eq!(epoch_day_to_date(-1), Some(date(1969, 12, 31)));
    assert_eq!(epoch_day_to_date(i64::MAX), None);
}

#[test]
fn new_year_in_utc() {
    let query = query(date(2026, 12, 31), date(2027, 1, 1), Tz::UTC);
    let days = query.days();
    assert_eq!(days[0].date, date(2026, 12, 31));
    assert_eq!(days[0].start, utc(2026, 12, 31, 0, 0, 0));
    assert_eq!(days[1].date, date(2027, 1, 1));
    assert_eq!(days[1].end, utc(2027, 1, 2, 0, 0, 0));
    assert_eq!(
        query.offset_segments(),
        [OffsetSegment {
            start: utc(2026, 12, 31, 0, 0, 0).timestamp(),
            end: utc(2027, 1, 2, 0, 0, 0).timestamp(),
            offset: 0,
        }]
    );
    assert_eq!(finest_grain_seconds(&query), 3600);
}

#[test]
fn new_year_in_auckland_starts_the_day_before_in_utc() {
    let query = query(date(2026, 12, 31), date(2027, 1, 1), Tz::Pacific__Auckland);
    // NZDT, +13:00.
    assert_eq!(
        query.utc_range(),
        (utc(2026, 12, 30, 11, 0, 0), utc(2027, 1, 1, 11, 0, 0))
    );
    assert_eq!(query.days()[1].start, utc(2026, 12, 31, 11, 0, 0));
    assert_eq!(query.offset_segments().len(), 1);
    assert_eq!(query.offset_segments()[0].offset, 13 * 3600);
    assert_eq!(
        query.local_date_of(utc(2026, 12, 31, 10, 59, 59)),
        Some(date(2026, 12, 31))
    );
    assert_eq!(
        query.local_date_of(utc(2026, 12, 31, 11, 0, 0)),
        Some(date(2027, 1, 1))
    );
    assert_eq!(query.local_date_of(utc(2027, 1, 1, 11, 0, 0)), None);
    assert_eq!(query.local_date_of(utc(2026, 12, 30, 10, 59, 59)), None);
}

#[test]
fn the_day_clocks_go_back_in_new_york_has_25_hours() {
    let query = query(date(2026, 10, 31), date(2026, 11, 2), Tz::America__New_York);
    let days = query.days();
    assert_eq!(days.iter().map(hours).collect::<Vec<_>>(), [24, 25, 24]);
    assert_eq!(days[1].start, utc(2026, 11, 1, 4, 0, 0)); // midnight EDT
    assert_eq!(days[1].end, utc(2026, 11, 2, 5, 0, 0)); // midnight EST
    let segments = query.offset_segments();
    assert_eq!(segments.len(), 2);
    // 02:00 EDT becomes 01:00 EST at 06:00 UTC.
    assert_eq!(segments[0].end, utc(2026, 11, 1, 6, 0, 0).timestamp());
    assert_eq!(segments[1].start, segments[0].end);
    assert_eq!(
        (segments[0].offset, segments[1].offset),
        (-4 * 3600, -5 * 3600)
    );
    // Both passes through 01:30 local belong to 1 November.
    assert_eq!(
        query.local_date_of(utc(2026, 11, 1, 5, 30, 0)),
        Some(date(2026, 11, 1))
    );
    assert_eq!(
        query.local_date_of(utc(2026, 11, 1, 6, 30, 0)),
        Some(date(2026, 11, 1))
    );
    // 04:30 UTC on the 2nd is 23:30 EST on the 1st.
    assert_eq!(
        query.local_date_of(utc(2026, 11, 2, 4, 30, 0)),
        Some(date(2026, 11, 1))
    );
    assert_eq!(
        query.local_date_of(utc(2026, 11, 2, 5, 0, 0)),
        Some(date(2026, 11, 2))
    );
    assert_eq!(finest_grain_seconds(&query), 3600);
}

#[test]
fn the_day_clocks_go_forward_in_new_york_has_23_hours() {
    let query = query(date(2027, 3, 13), date(2027, 3, 15), Tz::America__New_York);
    let days = query.days();
    assert_eq!(days.iter().map(hours).collect::<Vec<_>>(), [24, 23, 24]);
    assert_eq!(days[1].start, utc(2027, 3, 14, 5, 0, 0)); // midnight EST
    assert_eq!(days[1].end, utc(2027, 3, 15, 4, 0, 0)); // midnight EDT
    assert_eq!(
        query.offset_segments()[0].end,
        utc(2027, 3, 14, 7, 0, 0).timestamp()
    );
    assert_eq!(
        query.local_date_of(utc(2027, 3, 15, 3, 59, 59)),
        Some(date(2027, 3, 14))
    );
    assert_eq!(
        query.local_date_of(utc(2027, 3, 15, 4, 0, 0)),
        Some(date(2027, 3, 15))
    );
}

#[test]
fn kathmandu_days_turn_at_18_15_utc() {
    let query = query(date(2026, 12, 1), date(2026, 12, 2), Tz::Asia__Kathmandu);
    assert_eq!(query.days()[1].start, utc(2026, 12, 1, 18, 15, 0));
    assert_eq!(
        query.local_date_of(utc(2026, 12, 1, 18, 14, 59)),
        Some(date(2026, 12, 1))
    );
    assert_eq!(
        query.local_date_of(utc(2026, 12, 1, 18, 15, 0)),
        Some(date(2026, 12, 2))
    );
    assert_eq!(query.offset_segments()[0].offset, 5 * 3600 + 45 * 60);
    assert_eq!(finest_grain_seconds(&query), 900);
}

#[test]
fn the_grain_follows_the_offsets() {
    let grain = |tz| finest_grain_seconds(&query(date(2026, 10, 1), date(2027, 4, 30), tz));
    assert_eq!(grain(Tz::UTC), 3600);
    assert_eq!(grain(Tz::America__New_York), 3600);
    assert_eq!(grain(Tz::Europe__London), 3600);
    assert_eq!(grain(Tz::Asia__Kolkata), 1800);
    // +10:30 in winter, +11:00 in summer.
    assert_eq!(grain(Tz::Australia__Lord_Howe), 1800);
    assert_eq!(grain(Tz::Pacific__Chatham), 900);
    assert_eq!(grain(Tz::Asia__Kathmandu), 900);
    // A whole-hour day in a half-hour zone is still laid on half hours.
    assert_eq!(
        finest_grain_seconds(&query(
            date(2026, 5, 1),
            date(2026, 5, 1),
            Tz::Asia__Kolkata
        )),
        1800
    );
}

#[test]
fn a_transition_at_an_odd_minute_allows_no_rollup() {
    // Antarctica/Casey moved from +08 to +11 at 16:01 UTC on 2022-10-01.
    let query = query(date(2022, 9, 30), date(2022, 10, 3), Tz::Antarctica__Casey);
    assert_eq!(finest_grain_seconds(&query), 1);
    assert_eq!(
        query.offset_segments()[1].start,
        utc(2022, 10, 1, 16, 1, 0).timestamp()
    );
}

#[test]
fn when_midnight_does_not_exist_the_day_starts_after_the_gap() {
    // Chile springs forward from 24:00 to 01:00: 6 September 2026 starts at 01:00 -03.
    let santiago = query(date(2026, 9, 5), date(2026, 9, 7), Tz::America__Santiago);
    let days = santiago.days();
    assert_eq!(days[1].start, utc(2026, 9, 6, 4, 0, 0));
    assert_eq!(days.iter().map(hours).collect::<Vec<_>>(), [24, 23, 24]);
    assert_eq!(
        santiago.local_date_of(utc(2026, 9, 6, 3, 59, 59)),
        Some(date(2026, 9, 5))
    );
    assert_eq!(
        santiago.local_date_of(utc(2026, 9, 6, 4, 0, 0)),
        Some(date(2026, 9, 6))
    );

    // Lebanon springs forward at midnight too: 29 March 2026 starts at 01:00 +03.
    let beirut = query(date(2026, 3, 29), date(2026, 3, 29), Tz::Asia__Beirut);
    assert_eq!(beirut.days()[0].start, utc(2026, 3, 28, 22, 0, 0));
    assert_eq!(hours(&beirut.days()[0]), 23);
}

#[test]
fn when_clocks_go_back_at_midnight_the_hour_belongs_to_the_earlier_day() {
    // Chile falls back from 24:00 to 23:00: 4 April 2026 has 25 hours.
    let santiago = query(date(2026, 4, 4), date(2026, 4, 5), Tz::America__Santiago);
    assert_eq!(
        santiago.days().iter().map(hours).collect::<Vec<_>>(),
        [25, 24]
    );
    assert_eq!(santiago.days()[1].start, utc(2026, 4, 5, 4, 0, 0));
    assert_eq!(
        santiago.local_date_of(utc(2026, 4, 5, 3, 30, 0)),
        Some(date(2026, 4, 4))
    );
}

#[test]
fn a_skipped_date_is_an_empty_day() {
    // Samoa crossed the date line: 30 December 2011 never happened in Apia.
    let query = query(date(2011, 12, 29), date(2011, 12, 31), Tz::Pacific__Apia);
    let days = query.days();
    assert_eq!(days[1].date, date(2011, 12, 30));
    assert_eq!(days[1].start, days[1].end);
    assert_eq!(hours(&days[0]), 24);
    assert_eq!(hours(&days[2]), 24);
    // Nothing but the skipped day: an empty range.
    let skipped = common::query(date(2011, 12, 30), date(2011, 12, 30), Tz::Pacific__Apia);
    assert!(skipped.offset_segments().is_empty());
    assert_eq!(skipped.utc_range().0, skipped.utc_range().1);
}

#[test]
fn when_clocks_went_back_across_midnight_segments_hold_exactly_the_range() {
    // St. John's, 7 November 2010: 00:01 NDT became 23:01 NST on the 6th, so the minutes
    // 23:01–23:59 of the 6th happened twice, the second time after the 7th had begun.
    let tz = Tz::America__St_Johns;
    let repeated = utc(2010, 11, 7, 3, 0, 0); // 23:30 NST, 6 November
    let first_minute = utc(2010, 11, 7, 2, 30, 30); // 00:00:30 NDT, 7 November
    let only_the_6th = query(date(2010, 11, 6), date(2010, 11, 6), tz);
    assert_eq!(
        only_the_6th.local_date_of(repeated),
        Some(date(2010, 11, 6))
    );
    assert_eq!(only_the_6th.local_date_of(first_minute), None);
    assert_eq!(only_the_6th.utc_range().1, utc(2010, 11, 7, 3, 30, 0));
    assert_eq!(only_the_6th.offset_segments().len(), 2);

    let only_the_7th = query(date(2010, 11, 7), date(2010, 11, 7), tz);
    assert_eq!(only_the_7th.local_date_of(repeated), None);
    assert_eq!(
        only_the_7th.local_date_of(first_minute),
        Some(date(2010, 11, 7))
    );
    assert_eq!(only_the_7th.utc_range().0, utc(2010, 11, 7, 2, 30, 0));
    // The 7th's minute before the jump, then the rest of the 7th: a gap between them.
    let segments = only_the_7th.offset_segments();
    assert_eq!(segments.len(), 2);
    assert_eq!(segments[1].start - segments[0].end, 59 * 60);
    assert_eq!(finest_grain_seconds(&only_the_7th), 1);

    // Both days together: one tiling, whatever happened in between.
    let both = query(date(2010, 11, 6), date(2010, 11, 7), tz);
    let segments = both.offset_segments();
    assert_eq!(segments.len(), 2);
    assert_eq!(segments[0].end, segments[1].start);
    assert_eq!(both.days()[0].end, both.days()[1].start);
}

#[test]
fn a_year_of_days_tiles_its_range() {
    let query = query(date(2026, 5, 1), date(2027, 4, 30), Tz::Pacific__Chatham);
    let days = query.days();
    assert_eq!(days.len(), 365);
    assert_eq!(days[0].start, query.utc_range().0);
    assert_eq!(days[364].end, query.utc_range().1);
    for pair in days.windows(2) {
        assert_eq!(pair[0].end, pair[1].start);
        assert_eq!(pair[0].date + TimeDelta::days(1), pair[1].date);
    }
    // Chatham: +12:45 in winter, +13:45 in summer, two changes a year.
    assert_eq!(query.offset_segments().len(), 3);
}

#[test]
fn every_offset_since_1980_is_a_whole_number_of_quarter_hours() {
    use chrono::{Offset, TimeZone};
    for tz in chrono_tz::TZ_VARIANTS {
        for year in 1980..=2100 {
            for month in [1, 4, 7, 10] {
                let instant = utc(year, month, 15, 12, 0, 0);
                let offset = tz.offset_from_utc_datetime(&instant.naive_utc()).fix();
                assert_eq!(offset.local_minus_utc() % 900, 0, "{tz} in {year}-{month}");
            }
        }
    }
}

#[test]
fn every_zone_lays_out_a_year() {
    for tz in chrono_tz::TZ_VARIANTS {
        let query = query(date(2026, 6, 1), date(2027, 6, 1), tz);
        let days = query.days();
        assert_eq!(days.len(), 366);
        assert_eq!(days[0].start, query.utc_range().0, "{tz}");
        assert_eq!(days[365].end, query.utc_range().1, "{tz}");
        assert!(days.iter().all(|day| day.start < day.end), "{tz}");
        for pair in query.offset_segments().windows(2) {
            assert_eq!(pair[0].end, pair[1].start, "{tz}");
        }
        assert!(finest_grain_seconds(&query) >= 900, "{tz}");
    }
}
