//! Helpers shared by the integration tests.
#![allow(dead_code)]

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use navi_analytics::DashboardQuery;

/// The zones the property tests draw from: whole-hour, half-hour and 45-minute offsets, DST in
/// both hemispheres, a 30-minute DST shift (Lord Howe) and midnight transitions (Santiago).
pub const ZONES: [Tz; 9] = [
    Tz::UTC,
    Tz::America__New_York,
    Tz::Europe__London,
    Tz::Pacific__Auckland,
    Tz::Asia__Kathmandu,
    Tz::Asia__Kolkata,
    Tz::Australia__Lord_Howe,
    Tz::America__Santiago,
    Tz::Pacific__Chatham,
];

pub fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).unwrap()
}

pub fn utc(year: i32, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, month, day, hour, minute, second)
        .unwrap()
}

pub fn query(from: NaiveDate, to: NaiveDate, tz: Tz) -> DashboardQuery {
    DashboardQuery::new(from, to, tz).unwrap()
}
