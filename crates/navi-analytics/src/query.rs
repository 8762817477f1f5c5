//! A validated dashboard query and its layout in time: the calendar days of the range in the
//! caller's zone, and the UTC range cut into pieces of constant UTC offset.
//!
//! Everything here works on whole epoch seconds (seconds since 1970-01-01T00:00:00Z, rounded
//! down for instants with a fraction). Zone data changes offsets only at whole seconds, so an
//! instant with a fraction belongs to the same day and segment as its whole second.

use chrono::{DateTime, Days, NaiveDate, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use crate::error::InvalidQuery;

/// The longest range a dashboard covers, in calendar days, both ends included.
pub const MAX_RANGE_DAYS: i64 = 366;

/// The range a dashboard covers when the caller gives no `from`: the 30 days ending with `to`.
pub const DEFAULT_RANGE_DAYS: i64 = 30;

/// The earliest day a query may name.
///
/// Every UTC offset in the time zone database since 1972 is a whole number of 15 minutes (the
/// last exception, Africa/Monrovia's −0:44:30, ended on 1972-01-07); bounding queries after that
/// keeps every local day a sum of 15-minute buckets (see `grains`). Nobody has usage older than
/// this.
pub const EARLIEST_DATE: NaiveDate = match NaiveDate::from_ymd_opt(1980, 1, 1) {
    Some(date) => date,
    None => panic!("1980-01-01 is a calendar date"),
};

/// The latest day a query may name: the last day that `YYYY-MM-DD` can write.
pub const LATEST_DATE: NaiveDate = match NaiveDate::from_ymd_opt(9999, 12, 31) {
    Some(date) => date,
    None => panic!("9999-12-31 is a calendar date"),
};

/// The length of a UTC day, in seconds: the one day length of the crate.
pub(crate) const SECONDS_PER_DAY: i64 = 86_400;

/// How far beyond the range's days (read as UTC days) we look for instants of those days. Real
/// offsets stay within ±15 hours; two days leaves room for any offset a zone could adopt.
const WINDOW_MARGIN_SECONDS: i64 = 2 * SECONDS_PER_DAY;

/// How often the zone's offset is sampled while looking for transitions. A change and its
/// reversal between two samples would go unseen; the database has no two changes of offset less
/// than 7 days apart since 1970, so an hour leaves a wide margin.
const OFFSET_PROBE_SECONDS: i64 = 3_600;

/// The days since 1970-01-01 of `date` (negative before it).
pub fn date_to_epoch_day(date: NaiveDate) -> i64 {
    // NaiveDate's default is 1970-01-01.
    date.signed_duration_since(NaiveDate::default()).num_days()
}

/// The calendar date `epoch_day` days after 1970-01-01, or `None` beyond the dates chrono can
/// represent (about ±262,000 years). The inverse of [`date_to_epoch_day`].
pub fn epoch_day_to_date(epoch_day: i64) -> Option<NaiveDate> {
    NaiveDate::default().checked_add_signed(TimeDelta::try_days(epoch_day)?)
}

/// One calendar day of a query's range, in the query's zone, as a half-open UTC interval
/// `[start, end)`.
///
/// `start` is the first instant whose local date is `date` or later, and `end` is the next day's
/// `start`, so the days of a query tile its range. Usually `start` is local midnight; when the
/// zone skipped midnight that day it is the first instant after the gap, and a date the zone
/// skipped entirely (Pacific/Apia on 2011-12-30) has `start == end`.
///
/// In the few zones that once set clocks back across midnight (America/St_Johns and Goose_Bay
/// until 2010, America/Moncton until 2006, Antarctica/Casey in 2010) the local date went
/// backwards for an hour or three, so such a day's interval holds some minutes of the previous
/// date. Which day an instant counts for is always decided by its local date, as
/// [`OffsetSegment::local_epoch_day`] computes it; [`DashboardQuery::offset_segments`] leaves
/// such minutes out when their date is outside the range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalDay {
    /// The calendar date in the query's zone.
    pub date: NaiveDate,
    /// The first instant of the day (included).
    pub start: DateTime<Utc>,
    /// The first instant of the next day (excluded).
    pub end: DateTime<Utc>,
}

/// A maximal piece `[start, end)` of a query's UTC range over which the zone's UTC
/// offset is constant, in epoch seconds.
///
/// Within a segment the local day of an instant is one integer expression, which SQL can group
/// by: `(t + offset)` divided by 86,400, rounded down ([`Self::local_epoch_day`]). The
/// segments of a query hold exactly the instants whose local date is within the range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetSegment {
    /// The first epoch second of the segment (included).
    pub start: i64,
    /// The epoch second after the segment (excluded).
    pub end: i64,
    /// The zone's UTC offset throughout the segment, in seconds east of UTC. Since 1972 always a
    /// multiple of 900 (15 minutes).
    pub offset: i64,
}

impl OffsetSegment {
    /// Whether the instant `epoch_seconds` lies within the segment.
    pub fn contains(&self, epoch_seconds: i64) -> bool {
        self.start <= epoch_seconds && epoch_seconds < self.end
    }

    /// The local day (days since 1970-01-01) of an instant within this segment:
    /// `(epoch_seconds + offset).div_euclid(86_400)`.
    pub fn local_epoch_day(&self, epoch_seconds: i64) -> i64 {
        (epoch_seconds + self.offset).div_euclid(SECONDS_PER_DAY)
    }
}

/// A validated dashboard query: an inclusive range of calendar days in an IANA time zone, and
/// its layout in UTC (computed once, when the query is made).
///
/// ```
/// use chrono::{NaiveDate, TimeZone, Utc};
/// use navi_analytics::DashboardQuery;
///
/// let now = Utc.with_ymd_and_hms(2026, 11, 2, 3, 0, 0).unwrap();
/// let query = DashboardQuery::parse(Some("2026-11-01"), None, Some("America/New_York"), now)?;
/// // 03:00 UTC is still the evening of 1 November in New York.
/// assert_eq!(query.to(), NaiveDate::from_ymd_opt(2026, 11, 1).unwrap());
/// // The day clocks go back has 25 hours.
/// let day = query.days()[0];
/// assert_eq!((day.end - day.start).num_hours(), 25);
/// # Ok::<(), navi_analytics::InvalidQuery>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardQuery {
    from: NaiveDate,
    to: NaiveDate,
    tz: Tz,
    days: Vec<LocalDay>,
    segments: Vec<OffsetSegment>,
    utc_range: (DateTime<Utc>, DateTime<Utc>),
}

impl DashboardQuery {
    /// Reads the query parameters of a dashboard request.
    ///
    /// - `from`, `to`: calendar days written exactly `YYYY-MM-DD`, both included. `to` defaults
    ///   to today in `tz` (as of `now`), `from` to 29 days before `to`.
    /// - `tz`: an IANA zone name such as `Europe/Paris` (exact spelling), default `UTC`.
    ///
    /// A parameter that is present but empty is invalid, not absent. Errors name the field at
    /// fault: a malformed value names itself, `from` after `to` names `from`, and a range of more
    /// than [`MAX_RANGE_DAYS`] days names `to`.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        tz: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Self, InvalidQuery> {
        let tz = match tz {
            None => Tz::UTC,
            Some(name) => name.parse::<Tz>().map_err(|_| {
                InvalidQuery::new(
                    "tz",
                    "tz must be an IANA time zone name such as UTC or Europe/Paris.",
                )
            })?,
        };
        let to = match to {
            None => now.with_timezone(&tz).date_naive(),
            Some(text) => parse_date("to", text)?,
        };
        let from = match from {
            None => to
                .checked_sub_days(Days::new(DEFAULT_RANGE_DAYS.unsigned_abs() - 1))
                .unwrap_or(EARLIEST_DATE)
                .max(EARLIEST_DATE),
            Some(text) => parse_date("from", text)?,
        };
        Self::new(from, to, tz)
    }

    /// A query for the days `from..=to` in `tz`.
    ///
    /// Fails, naming the field, when `from` is after `to`, when the range spans more than
    /// [`MAX_RANGE_DAYS`] days, or when a day lies outside [`EARLIEST_DATE`]..=[`LATEST_DATE`].
    pub fn new(from: NaiveDate, to: NaiveDate, tz: Tz) -> Result<Self, InvalidQuery> {
        for (field, date) in [("from", from), ("to", to)] {
            if date < EARLIEST_DATE {
                return Err(InvalidQuery::new(
                    field,
                    format!("{field} must be {EARLIEST_DATE} or later."),
                ));
            }
            if date > LATEST_DATE {
                return Err(InvalidQuery::new(
                    field,
                    format!("{field} must be {LATEST_DATE} or earlier."),
                ));
            }
        }
        if from > to {
            return Err(InvalidQuery::new("from", "from must not be after to."));
        }
        if (to - from).num_days() + 1 > MAX_RANGE_DAYS {
            return Err(InvalidQuery::new(
                "to",
                format!(
                    "to must be no more than {} days after from ({MAX_RANGE_DAYS} days in all).",
                    MAX_RANGE_DAYS - 1
                ),
            ));
        }
        // Within the bounds checked above every instant involved is representable, so the
        // layout always exists; should it not, the dates are what is at fault.
        Layout::compute(from, to, tz)
            .map(|layout| Self {
                from,
                to,
                tz,
                days: layout.days,
                segments: layout.segments,
                utc_range: layout.utc_range,
            })
            .ok_or_else(|| {
                InvalidQuery::new("to", "to is too far from 1970 to be laid out in time.")
            })
    }

    /// The first day of the range (included).
    pub fn from(&self) -> NaiveDate {
        self.from
    }

    /// The last day of the range (included).
    pub fn to(&self) -> NaiveDate {
        self.to
    }

    /// The zone whose calendar days the range counts.
    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// The number of calendar days in the range.
    pub fn day_count(&self) -> usize {
        self.days.len()
    }

    /// Each calendar day of the range, in order, as a half-open UTC interval; see [`LocalDay`].
    pub fn days(&self) -> &[LocalDay] {
        &self.days
    }

    /// The UTC interval `[start, end)` that holds every instant whose local date is within the
    /// range: the start of the first day and the end of the last day.
    ///
    /// Only in zones that once set clocks back across midnight can the end lie later than the
    /// last day's `end` (see [`LocalDay`]); it is always the end of the last segment.
    pub fn utc_range(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        self.utc_range
    }

    /// The range cut into maximal pieces of constant UTC offset, in order; see
    /// [`OffsetSegment`]. Together they hold exactly the instants whose local date is within
    /// the range, so a row belongs to the dashboard if and only if it lies in a segment.
    ///
    /// They tile [`Self::utc_range`] without gaps, except in the zones that once set clocks back
    /// across midnight, where the minutes of a date outside the range are left out.
    pub fn offset_segments(&self) -> &[OffsetSegment] {
        &self.segments
    }

    /// The local date of `instant` when it falls within the range, through the segments.
    pub fn local_date_of(&self, instant: DateTime<Utc>) -> Option<NaiveDate> {
        let epoch_seconds = instant.timestamp();
        let index = self
            .segments
            .partition_point(|segment| segment.end <= epoch_seconds);
        let segment = self.segments.get(index)?;
        if !segment.contains(epoch_seconds) {
            return None;
        }
        epoch_day_to_date(segment.local_epoch_day(epoch_seconds))
    }
}

/// Reads `YYYY-MM-DD` exactly: four digits, dash, two digits, dash, two digits, a real date.
fn parse_date(field: &'static str, text: &str) -> Result<NaiveDate, InvalidQuery> {
    let invalid = || {
        InvalidQuery::new(
            field,
            format!("{field} must be a calendar date written YYYY-MM-DD."),
        )
    };
    let bytes = text.as_bytes();
    let well_formed = bytes.len() == 10
        && bytes.iter().enumerate().all(|(index, byte)| match index {
            4 | 7 => *byte == b'-',
            _ => byte.is_ascii_digit(),
        });
    if !well_formed {
        return Err(invalid());
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> { text.get(range)?.parse().ok() };
    let (Some(year), Some(month), Some(day)) = (number(0..4), number(5..7), number(8..10)) else {
        return Err(invalid());
    };
    let year = i32::try_from(year).map_err(|_| invalid())?;
    NaiveDate::from_ymd_opt(year, month, day).ok_or_else(invalid)
}

/// The parts of a query computed from its dates and zone.
struct Layout {
    days: Vec<LocalDay>,
    segments: Vec<OffsetSegment>,
    utc_range: (DateTime<Utc>, DateTime<Utc>),
}

impl Layout {
    /// `None` only when an instant involved is beyond what chrono represents.
    fn compute(from: NaiveDate, to: NaiveDate, tz: Tz) -> Option<Self> {
        let first_day = date_to_epoch_day(from);
        let last_day = date_to_epoch_day(to);
        let range_start_local = first_day.checked_mul(SECONDS_PER_DAY)?;
        let range_end_local = last_day.checked_add(1)?.checked_mul(SECONDS_PER_DAY)?;
        let pieces = offset_pieces(
            tz,
            range_start_local.checked_sub(WINDOW_MARGIN_SECONDS)?,
            range_end_local.checked_add(WINDOW_MARGIN_SECONDS)?,
        )?;

        // The first instant whose local day is `epoch_day` or later. Local days only move
        // forward within a piece, so it is the first piece that reaches that day.
        let day_start = |epoch_day: i64| -> Option<i64> {
            let local_midnight = epoch_day.checked_mul(SECONDS_PER_DAY)?;
            pieces.iter().find_map(|piece| {
                let candidate = piece.start.max(local_midnight - piece.offset);
                (candidate < piece.end).then_some(candidate)
            })
        };
        let mut day_starts = Vec::new();
        for epoch_day in first_day..=last_day + 1 {
            day_starts.push(day_start(epoch_day)?);
        }
        let mut days = Vec::new();
        for (epoch_day, bounds) in (first_day..).zip(day_starts.windows(2)) {
            days.push(LocalDay {
                date: epoch_day_to_date(epoch_day)?,
                start: instant(bounds[0])?,
                end: instant(bounds[1])?,
            });
        }

        // Each piece keeps the instants whose local time falls within the range's days.
        let segments: Vec<OffsetSegment> = pieces
            .iter()
            .filter_map(|piece| {
                let start = piece.start.max(range_start_local - piece.offset);
                let end = piece.end.min(range_end_local - piece.offset);
                (start < end).then_some(OffsetSegment {
                    start,
                    end,
                    offset: piece.offset,
                })
            })
            .collect();

        let utc_range = match (segments.first(), segments.last()) {
            (Some(first), Some(last)) => (instant(first.start)?, instant(last.end)?),
            // Every day of the range was skipped by the zone: an empty range where it would be.
            _ => {
                let start = instant(*day_starts.first()?)?;
                (start, start)
            }
        };

        Some(Self {
            days,
            segments,
            utc_range,
        })
    }
}

/// A maximal interval `[start, end)` of epoch seconds with one UTC offset.
#[derive(Debug, Clone, Copy)]
struct Piece {
    start: i64,
    end: i64,
    offset: i64,
}

/// The instant `epoch_seconds` seconds after the Unix epoch.
fn instant(epoch_seconds: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(epoch_seconds, 0)
}

/// The UTC offset of `tz` at `epoch_seconds`, in seconds east of UTC.
fn offset_at(tz: Tz, epoch_seconds: i64) -> Option<i64> {
    let utc = instant(epoch_seconds)?.naive_utc();
    Some(i64::from(
        tz.offset_from_utc_datetime(&utc).fix().local_minus_utc(),
    ))
}

/// `[start, end)` cut into maximal pieces of constant offset in `tz`.
///
/// chrono-tz does not list a zone's transitions, so we find them: sample the offset every
/// [`OFFSET_PROBE_SECONDS`], and bisect to the exact second wherever two samples differ.
fn offset_pieces(tz: Tz, start: i64, end: i64) -> Option<Vec<Piece>> {
    let mut pieces = Vec::new();
    let mut piece_start = start;
    let mut offset = offset_at(tz, start)?;
    // The last second known to have `offset`.
    let mut known = start;
    while known < end - 1 {
        let probe = known.saturating_add(OFFSET_PROBE_SECONDS).min(end - 1);
        let probe_offset = offset_at(tz, probe)?;
        // Each round finds the first change after `known`; several changes between two samples
        // are found one after another.
        while probe_offset != offset {
            let (mut same, mut changed) = (known, probe);
            while changed - same > 1 {
                let middle = same + (changed - same) / 2;
                if offset_at(tz, middle)? == offset {
                    same = middle;
                } else {
                    changed = middle;
                }
            }
            pieces.push(Piece {
                start: piece_start,
                end: changed,
                offset,
            });
            piece_start = changed;
            offset = offset_at(tz, changed)?;
            known = changed;
        }
        known = probe;
    }
    pieces.push(Piece {
        start: piece_start,
        end,
        offset,
    });
    Some(pieces)
}
