//! Calendar windows of spend budgets: a day, an ISO week (Monday to Sunday) or a calendar month
//! in an IANA time zone, as a half-open UTC interval `[start, end)`.
//!
//! A window's edges are the dashboard's day edges ([`DashboardQuery`]): the first instant of a
//! local date, which is local midnight unless the zone skipped it (then the first instant after
//! the gap). So the windows of a budget tile time with no gap and no overlap, a day can have 23
//! or 25 hours, and which window an instant belongs to is decided by its local date.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use navi_analytics::windows::{Period, Window};
//!
//! // 00:30 on 1 December in Auckland is still 30 November in UTC.
//! let at = Utc.with_ymd_and_hms(2026, 11, 30, 11, 30, 0).unwrap();
//! let window = Window::containing(Period::Month, chrono_tz::Pacific::Auckland, at).unwrap();
//! assert_eq!(window.start, Utc.with_ymd_and_hms(2026, 11, 30, 11, 0, 0).unwrap());
//! assert_eq!(window.end, Utc.with_ymd_and_hms(2026, 12, 31, 11, 0, 0).unwrap());
//! ```

use chrono::{DateTime, Datelike, Months, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;

use crate::query::DashboardQuery;

/// How long a budget's window is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    /// A calendar day.
    Day,
    /// An ISO week, from Monday.
    Week,
    /// A calendar month.
    Month,
}

impl Period {
    /// `day`, `week` or `month`.
    pub fn parse(text: &str) -> Option<Period> {
        match text {
            "day" => Some(Period::Day),
            "week" => Some(Period::Week),
            "month" => Some(Period::Month),
            _ => None,
        }
    }

    /// The name [`Period::parse`] reads.
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
        }
    }

    /// The first and last local dates of the period that holds `date`.
    fn dates_around(self, date: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
        match self {
            Period::Day => Some((date, date)),
            Period::Week => {
                let monday = date.checked_sub_signed(TimeDelta::try_days(i64::from(
                    date.weekday().num_days_from_monday(),
                ))?)?;
                Some((monday, monday.checked_add_signed(TimeDelta::try_days(6)?)?))
            }
            Period::Month => {
                let first = date.with_day(1)?;
                let last = first.checked_add_months(Months::new(1))?.pred_opt()?;
                Some((first, last))
            }
        }
    }
}

/// One window of a period in a zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Its first instant (included).
    pub start: DateTime<Utc>,
    /// The first instant of the next window (excluded).
    pub end: DateTime<Utc>,
}

impl Window {
    /// The window of `period` in `tz` that holds the instant `at` (by `at`'s local date). `None`
    /// only for instants chrono cannot place on a calendar (hundreds of thousands of years away).
    pub fn containing(period: Period, tz: Tz, at: DateTime<Utc>) -> Option<Window> {
        let local_date = at.with_timezone(&tz).date_naive();
        let (first, last) = period.dates_around(local_date)?;
        let days = DashboardQuery::new(first, last, tz).ok()?;
        Some(Window {
            start: days.days().first()?.start,
            end: days.days().last()?.end,
        })
    }

    /// Whether `at` falls within the window.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.start <= at && at < self.end
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use chrono_tz::{America, Asia, Pacific, UTC};

    use super::*;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    #[test]
    fn a_month_in_auckland_turns_at_local_midnight_across_the_month_end() {
        // NZDT is UTC+13: December begins at 11:00 UTC on 30 November.
        let before =
            Window::containing(Period::Month, Pacific::Auckland, utc(2026, 11, 30, 10, 59))
                .unwrap();
        let after =
            Window::containing(Period::Month, Pacific::Auckland, utc(2026, 11, 30, 11, 0)).unwrap();
        assert_eq!(before.end, after.start, "months tile time");
        assert_eq!(after.start, utc(2026, 11, 30, 11, 0));
        assert_eq!(after.end, utc(2026, 12, 31, 11, 0));
        // November began under NZDT too (since late September): 11:00 UTC on 31 October.
        assert_eq!(before.start, utc(2026, 10, 31, 11, 0));
    }

    #[test]
    fn days_in_new_york_last_23_and_25_hours_when_clocks_change() {
        let spring =
            Window::containing(Period::Day, America::New_York, utc(2026, 3, 8, 12, 0)).unwrap();
        assert_eq!(spring.start, utc(2026, 3, 8, 5, 0));
        assert_eq!((spring.end - spring.start).num_hours(), 23);
        let autumn =
            Window::containing(Period::Day, America::New_York, utc(2026, 11, 1, 12, 0)).unwrap();
        assert_eq!(autumn.start, utc(2026, 11, 1, 4, 0));
        assert_eq!((autumn.end - autumn.start).num_hours(), 25);
        // 03:30 UTC on 2 November is still 1 November (22:30 EST).
        assert!(autumn.contains(utc(2026, 11, 2, 3, 30)));
    }

    #[test]
    fn a_week_in_kathmandu_starts_at_its_monday_midnight() {
        // UTC+05:45: Monday 7 December 2026 begins at 18:15 UTC on Sunday the 6th.
        let week =
            Window::containing(Period::Week, Asia::Kathmandu, utc(2026, 12, 7, 0, 0)).unwrap();
        assert_eq!(week.start, utc(2026, 12, 6, 18, 15));
        assert_eq!(week.end, utc(2026, 12, 13, 18, 15));
        let earlier =
            Window::containing(Period::Week, Asia::Kathmandu, utc(2026, 12, 6, 18, 14)).unwrap();
        assert_eq!(earlier.end, week.start);
    }

    #[test]
    fn windows_tile_time_in_every_period() {
        for period in [Period::Day, Period::Week, Period::Month] {
            for tz in [UTC, America::New_York, Pacific::Auckland, Asia::Kathmandu] {
                let mut window = Window::containing(period, tz, utc(2026, 1, 1, 0, 0)).unwrap();
                for _ in 0..60 {
                    let next = Window::containing(period, tz, window.end).unwrap();
                    assert_eq!(next.start, window.end, "{period:?} {tz}");
                    assert!(next.end > next.start);
                    window = next;
                }
            }
        }
    }

    #[test]
    fn periods_parse_their_names_only() {
        for period in [Period::Day, Period::Week, Period::Month] {
            assert_eq!(Period::parse(period.as_str()), Some(period));
        }
        assert_eq!(Period::parse("Month"), None);
        assert_eq!(Period::parse("year"), None);
    }
}
