//! How a whole-org read cuts time into pieces that the rollups answer exactly.
//!
//! The rollups keep sums per aligned bucket of one [`Grain`]: a 15-minute bucket, a UTC hour, six
//! UTC hours, a UTC day (and the per-user running totals, which answer any range of whole UTC days). A range
//! of time is read as a signed sum of aligned ranges of buckets ([`cover`]): the coarsest grain
//! for the middle, finer grains for the edges, and the calls themselves for what no bucket fits.
//! Sums may subtract (a local day of Asia/Kathmandu, 18:15 to 18:15 UTC, is the UTC day that
//! starts at its midnight, plus six hours and minus fifteen minutes before, minus six hours and
//! plus fifteen minutes at its end); a maximum cannot, so the latency histogram asks for an
//! additive cover.
//!
//! Everything here is integer arithmetic on Unix seconds and days since 1970-01-01; nothing
//! touches a database.

use crate::query::SECONDS_PER_DAY as DAY;
use crate::OffsetSegment;

/// The length of the per-user running-total windows, in days ([`running_terms`]).
pub const RUNNING_WINDOW_DAYS: i64 = 64;
/// How far apart running-total windows start, in days: every day lies in two windows, and any
/// range of up to `RUNNING_WINDOW_DAYS - RUNNING_WINDOW_STRIDE_DAYS + 1` (33) days lies within one.
pub const RUNNING_WINDOW_STRIDE_DAYS: i64 = 32;

/// The time grain of a rollup, or the calls themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Grain {
    /// UTC days: `[k·86400, (k+1)·86400)`.
    Day,
    /// Quarters of a UTC day: 00:00, 06:00, 12:00 and 18:00 to six hours later.
    SixHours,
    /// UTC hours.
    Hour,
    /// 15-minute buckets.
    QuarterHour,
    /// No bucket: the raw rows, read by their exact instants.
    Raw,
}

impl Grain {
    /// The grain's length in seconds (1 for [`Grain::Raw`]).
    pub const fn seconds(self) -> i64 {
        match self {
            Grain::Day => DAY,
            Grain::SixHours => 21_600,
            Grain::Hour => 3_600,
            Grain::QuarterHour => 900,
            Grain::Raw => 1,
        }
    }
}

/// Whether a piece's sums count for or against the whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Sign {
    /// Added.
    Add,
    /// Subtracted.
    Subtract,
}

impl Sign {
    /// How many times a piece of this sign counts: 1 or -1.
    pub fn times(self) -> i64 {
        match self {
            Sign::Add => 1,
            Sign::Subtract => -1,
        }
    }

    fn flip(self) -> Sign {
        match self {
            Sign::Add => Sign::Subtract,
            Sign::Subtract => Sign::Add,
        }
    }
}

/// The rows of one grain whose bucket starts in `[start, end)` (for [`Grain::Raw`], the calls
/// that occurred in it), added or subtracted. `start` and `end` are multiples of the grain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Piece {
    /// Which rollup (or the raw rows).
    pub grain: Grain,
    /// First second (included).
    pub start: i64,
    /// First second after (excluded).
    pub end: i64,
    /// Added or subtracted.
    pub sign: Sign,
}

/// Cuts `[start, end)` (Unix seconds) into aligned pieces of `grains` and raw remainders, so
/// that the pieces' sums, added or subtracted as their [`Sign`] says, are exactly the sums of
/// `[start, end)`.
///
/// `grains` go coarsest first, each a multiple of the next, without [`Grain::Raw`] (which is
/// always the last resort). At each grain the middle is the aligned range between the bucket
/// boundaries nearest to `start` and `end`; what lies between those boundaries and `start` or
/// `end` is covered by the finer grains, added when it is inside `[start, end)` and subtracted
/// when it is outside. With `signed == false` nothing is subtracted: the middle is the widest
/// aligned range inside `[start, end)`, as a maximum needs. An empty range has no pieces.
///
/// ```
/// use navi_analytics::grains::{cover, Grain, Piece, Sign};
///
/// // A local day of Asia/Kathmandu (+05:45): 2026-11-21T18:15Z to 2026-11-22T18:15Z.
/// let (start, end) = (1_795_284_900, 1_795_371_300);
/// let pieces = cover(start, end, &[Grain::Day, Grain::Hour, Grain::QuarterHour], true);
/// let midnight = 1_795_305_600; // 2026-11-22T00:00Z
/// assert!(pieces.contains(&Piece {
///     grain: Grain::Day,
///     start: midnight,
///     end: midnight + 86_400,
///     sign: Sign::Add
/// }));
/// // 18:00 to 24:00 of the 21st added and 18:00 to 18:15 subtracted, the same on the 22nd
/// // with the signs the other way round: five pieces, no raw rows.
/// assert_eq!(pieces.len(), 5);
/// ```
pub fn cover(start: i64, end: i64, grains: &[Grain], signed: bool) -> Vec<Piece> {
    let mut pieces = Vec::new();
    cover_into(start, end, grains, signed, Sign::Add, &mut pieces);
    pieces
}

fn cover_into(
    start: i64,
    end: i64,
    grains: &[Grain],
    signed: bool,
    sign: Sign,
    pieces: &mut Vec<Piece>,
) {
    if start >= end {
        return;
    }
    let Some((grain, finer)) = grains.split_first() else {
        pieces.push(Piece {
            grain: Grain::Raw,
            start,
            end,
            sign,
        });
        return;
    };
    let size = grain.seconds();
    let floor = |t: i64| t - t.rem_euclid(size);
    let ceil = |t: i64| floor(t + size - 1);
    let (start_down, start_up) = (floor(start), ceil(start));
    let (end_down, end_up) = (floor(end), ceil(end));
    let middle_start = if signed && start - start_down < start_up - start {
        start_down
    } else {
        start_up
    };
    let middle_end = if signed && end_up - end < end - end_down {
        end_up
    } else {
        end_down
    };
    if middle_start >= middle_end {
        cover_into(start, end, finer, signed, sign, pieces);
        return;
    }
    if middle_start < start {
        cover_into(middle_start, start, finer, signed, sign.flip(), pieces);
    } else {
        cover_into(start, middle_start, finer, signed, sign, pieces);
    }
    pieces.push(Piece {
        grain: *grain,
        start: middle_start,
        end: middle_end,
        sign,
    });
    if middle_end > end {
        cover_into(end, middle_end, finer, signed, sign.flip(), pieces);
    } else {
        cover_into(middle_end, end, finer, signed, sign, pieces);
    }
}

/// The part `[start, end)` of one local day (days since 1970-01-01 in the zone's calendar) that
/// lies within a query's segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayPart {
    /// The local day.
    pub day: i64,
    /// First second (included).
    pub start: i64,
    /// First second after (excluded).
    pub end: i64,
}

/// The segments cut at local midnights: one part per local day, joined across a change of
/// offset when the day goes on (a DST change within the day), in order.
///
/// A local date that occurs twice (a zone that set clocks back across midnight) has two parts.
pub fn local_day_parts(segments: &[OffsetSegment]) -> Vec<DayPart> {
    let mut parts: Vec<DayPart> = Vec::new();
    for segment in segments {
        let mut at = segment.start;
        while at < segment.end {
            let day = (at + segment.offset).div_euclid(DAY);
            let next = segment.end.min((day + 1) * DAY - segment.offset);
            match parts.last_mut() {
                Some(last) if last.day == day && last.end == at => last.end = next,
                _ => parts.push(DayPart {
                    day,
                    start: at,
                    end: next,
                }),
            }
            at = next;
        }
    }
    parts
}

/// The segments as contiguous ranges `(start, end)` of Unix seconds, offsets forgotten: what
/// reads that do not group by day (totals, the histogram, `by_user`) need.
pub fn merged_ranges(segments: &[OffsetSegment]) -> Vec<(i64, i64)> {
    let mut ranges: Vec<(i64, i64)> = Vec::new();
    for segment in segments.iter().filter(|s| s.start < s.end) {
        match ranges.last_mut() {
            Some(last) if last.1 == segment.start => last.1 = segment.end,
            _ => ranges.push((segment.start, segment.end)),
        }
    }
    ranges
}

/// One read of the per-user running totals: for each user, the row of `(window, through)` minus
/// the row of `(window, before)` when there is one (`None`: nothing to subtract).
///
/// Window `w` (a multiple of [`RUNNING_WINDOW_STRIDE_DAYS`]) keeps, for each day `d` of
/// `[w, w + RUNNING_WINDOW_DAYS)` from a user's first call in the window on, the sums of that
/// user's calls on days `w..=d`. The difference is the user's sums over `before + 1 ..= through`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunningTerm {
    /// The window's first day.
    pub window: i64,
    /// The last day of the window not counted, if any.
    pub before: Option<i64>,
    /// The last day counted.
    pub through: i64,
}

/// The reads of the running totals that sum the days `first_day..end_day`: one per window, the
/// first window the one that starts at or just before `first_day`, the next ones whole.
pub fn running_terms(first_day: i64, end_day: i64) -> Vec<RunningTerm> {
    let mut terms = Vec::new();
    let mut day = first_day;
    while day < end_day {
        let window = day - day.rem_euclid(RUNNING_WINDOW_STRIDE_DAYS);
        let through = end_day.min(window + RUNNING_WINDOW_DAYS) - 1;
        terms.push(RunningTerm {
            window,
            before: (day > window).then_some(day - 1),
            through,
        });
        day = through + 1;
    }
    terms
}

/// The running-total windows that hold `day`, earliest first.
pub fn running_windows(day: i64) -> [i64; 2] {
    let newest = day - day.rem_euclid(RUNNING_WINDOW_STRIDE_DAYS);
    [newest - RUNNING_WINDOW_STRIDE_DAYS, newest]
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODEL_GRAINS: [Grain; 3] = [Grain::Day, Grain::Hour, Grain::QuarterHour];
    const H: i64 = 3_600;
    const Q: i64 = 900;
    /// 2026-11-22T00:00Z.
    const MIDNIGHT: i64 = 1_795_305_600;

    fn piece(grain: Grain, start: i64, end: i64, sign: Sign) -> Piece {
        Piece {
            grain,
            start,
            end,
            sign,
        }
    }

    /// The pieces count every second of `[start, end)` once and no other second (checked on
    /// the points where the count can change), and each is aligned to its grain.
    fn assert_exact(pieces: &[Piece], start: i64, end: i64) {
        let mut changes: Vec<(i64, i64)> = vec![(start, 0), (end, 0)];
        for p in pieces {
            assert!(p.start < p.end, "{p:?} is empty");
            assert_eq!(p.start.rem_euclid(p.grain.seconds()), 0, "{p:?}");
            assert_eq!(p.end.rem_euclid(p.grain.seconds()), 0, "{p:?}");
            let weight = p.sign.times();
            changes.push((p.start, weight));
            changes.push((p.end, -weight));
        }
        changes.sort();
        let mut count = 0;
        for (i, (at, change)) in changes.iter().enumerate() {
            count += change;
            if changes.get(i + 1).is_some_and(|(next, _)| next == at) {
                continue;
            }
            let expected = i64::from(start <= *at && *at < end);
            assert_eq!(count, expected, "from {at} in [{start}, {end}): {pieces:?}");
        }
    }

    fn local_day(offset: i64, day: i64) -> (i64, i64) {
        (day * DAY - offset, (day + 1) * DAY - offset)
    }

    #[test]
    fn a_kathmandu_day_for_by_user_is_blocks_of_six_hours_and_quarter_hours_of_calls() {
        // 2026-11-21T18:15Z to 2026-11-22T18:15Z, cut as by_user cuts it.
        let (start, end) = (MIDNIGHT - 6 * H + Q, MIDNIGHT + 18 * H + Q);
        let pieces = cover(start, end, &[Grain::Day, Grain::SixHours], true);
        assert_exact(&pieces, start, end);
        let raw: i64 = pieces
            .iter()
            .filter(|p| p.grain == Grain::Raw)
            .map(|p| p.end - p.start)
            .sum();
        assert_eq!(raw, 2 * Q, "{pieces:?}");
        assert!(pieces.contains(&piece(
            Grain::SixHours,
            MIDNIGHT - 6 * H,
            MIDNIGHT,
            Sign::Add
        )));
        assert!(pieces.contains(&piece(
            Grain::SixHours,
            MIDNIGHT + 18 * H,
            MIDNIGHT + DAY,
            Sign::Subtract
        )));
        assert_eq!(pieces.len(), 5);
    }

    #[test]
    fn a_utc_day_is_one_day_bucket() {
        let pieces = cover(MIDNIGHT, MIDNIGHT + DAY, &MODEL_GRAINS, true);
        assert_eq!(
            pieces,
            [piece(Grain::Day, MIDNIGHT, MIDNIGHT + DAY, Sign::Add)]
        );
    }

    #[test]
    fn thirty_utc_days_are_one_range_of_day_buckets() {
        let end = MIDNIGHT + 30 * DAY;
        for signed in [true, false] {
            assert_eq!(
                cover(MIDNIGHT, end, &MODEL_GRAINS, signed),
                [piece(Grain::Day, MIDNIGHT, end, Sign::Add)]
            );
        }
    }

    #[test]
    fn a_day_at_plus_one_hour_is_a_utc_day_and_an_hour_moved() {
        let day = MIDNIGHT / DAY;
        let (start, end) = local_day(H, day);
        let pieces = cover(start, end, &MODEL_GRAINS, true);
        assert_eq!(
            pieces,
            [
                piece(Grain::Hour, MIDNIGHT - H, MIDNIGHT, Sign::Add),
                piece(Grain::Day, MIDNIGHT, MIDNIGHT + DAY, Sign::Add),
                piece(
                    Grain::Hour,
                    MIDNIGHT + DAY - H,
                    MIDNIGHT + DAY,
                    Sign::Subtract
                ),
            ]
        );
        assert_exact(&pieces, start, end);
        // Without subtraction: 24 hours.
        let additive = cover(start, end, &MODEL_GRAINS, false);
        assert_eq!(additive, [piece(Grain::Hour, start, end, Sign::Add)]);
        assert_exact(&additive, start, end);
    }

    #[test]
    fn a_day_at_plus_five_thirty_needs_quarter_hours_at_its_edges() {
        let day = MIDNIGHT / DAY;
        let offset = 5 * H + 30 * 60;
        let (start, end) = local_day(offset, day);
        let pieces = cover(start, end, &MODEL_GRAINS, true);
        assert_exact(&pieces, start, end);
        assert!(pieces.iter().all(|p| p.grain != Grain::Raw));
        assert_eq!(
            pieces
                .iter()
                .filter(|p| p.grain == Grain::QuarterHour)
                .count(),
            2,
            "18:30 is two quarters from an hour: {pieces:?}"
        );
        assert!(pieces.contains(&piece(Grain::Day, MIDNIGHT, MIDNIGHT + DAY, Sign::Add)));
    }

    #[test]
    fn a_day_at_plus_five_forty_five_has_hours_inside_and_quarters_at_the_edges() {
        let day = MIDNIGHT / DAY;
        let offset = 5 * H + 45 * 60;
        let (start, end) = local_day(offset, day);
        let pieces = cover(start, end, &MODEL_GRAINS, true);
        let previous = MIDNIGHT - DAY;
        assert_eq!(
            pieces,
            [
                piece(Grain::QuarterHour, previous + 18 * H, start, Sign::Subtract),
                piece(Grain::Hour, previous + 18 * H, MIDNIGHT, Sign::Add),
                piece(Grain::Day, MIDNIGHT, MIDNIGHT + DAY, Sign::Add),
                piece(Grain::QuarterHour, MIDNIGHT + 18 * H, end, Sign::Add),
                piece(
                    Grain::Hour,
                    MIDNIGHT + 18 * H,
                    MIDNIGHT + DAY,
                    Sign::Subtract
                ),
            ]
        );
        assert_exact(&pieces, start, end);
        // Additively: quarters to the first hour, whole hours, quarters after the last.
        let additive = cover(start, end, &MODEL_GRAINS, false);
        assert_eq!(
            additive,
            [
                piece(Grain::QuarterHour, start, previous + 19 * H, Sign::Add),
                piece(Grain::Hour, previous + 19 * H, MIDNIGHT + 18 * H, Sign::Add),
                piece(Grain::QuarterHour, MIDNIGHT + 18 * H, end, Sign::Add),
            ]
        );
        assert_exact(&additive, start, end);
    }

    #[test]
    fn ranges_off_every_grain_read_raw_rows_only_at_their_edges() {
        let start = MIDNIGHT + 10 * H + 7 * 60 + 13; // 10:07:13
        let end = MIDNIGHT + 2 * DAY + 3 * H + 59 * 60 + 59; // two days later, 03:59:59
        for signed in [true, false] {
            let pieces = cover(start, end, &MODEL_GRAINS, signed);
            assert_exact(&pieces, start, end);
            let raw: i64 = pieces
                .iter()
                .filter(|p| p.grain == Grain::Raw)
                .map(|p| p.end - p.start)
                .sum();
            assert!(
                raw < 2 * Q,
                "at most a quarter of raw rows at each end: {pieces:?}"
            );
        }
        // A second, alone.
        assert_eq!(
            cover(start, start + 1, &MODEL_GRAINS, true),
            [piece(Grain::Raw, start, start + 1, Sign::Add)]
        );
    }

    #[test]
    fn empty_ranges_have_no_pieces() {
        assert!(cover(MIDNIGHT, MIDNIGHT, &MODEL_GRAINS, true).is_empty());
        assert!(cover(MIDNIGHT + 5, MIDNIGHT, &MODEL_GRAINS, false).is_empty());
        assert!(local_day_parts(&[]).is_empty());
        assert!(merged_ranges(&[OffsetSegment {
            start: MIDNIGHT,
            end: MIDNIGHT,
            offset: 0
        }])
        .is_empty());
        assert!(running_terms(5, 5).is_empty());
    }

    #[test]
    fn covers_are_exact_for_every_offset_and_edge() {
        // Every quarter-hour offset from −12:00 to +14:00, a whole local day and pieces of one.
        let day = MIDNIGHT / DAY;
        for quarters in -48..=56 {
            let offset = quarters * Q;
            let (start, end) = local_day(offset, day);
            for (a, b) in [
                (start, end),
                (start + 7 * Q, end),
                (start, end - 1),
                (start + 61, start + 4 * H),
            ] {
                for grains in [
                    &MODEL_GRAINS[..],
                    &[Grain::Day, Grain::QuarterHour],
                    &[Grain::Day],
                ] {
                    for signed in [true, false] {
                        let pieces = cover(a, b, grains, signed);
                        assert_exact(&pieces, a, b);
                        if !signed {
                            assert!(pieces.iter().all(|p| p.sign == Sign::Add));
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn by_user_edges_are_the_shorter_way_to_midnight() {
        // Kathmandu's range 2026-11-22..=2026-11-23: 18:15 UTC to 18:15 UTC two days later.
        let offset = 5 * H + 45 * 60;
        let start = MIDNIGHT - offset;
        let end = MIDNIGHT + 2 * DAY - offset;
        let pieces = cover(start, end, &[Grain::Day], true);
        assert_eq!(
            pieces,
            [
                piece(Grain::Raw, start, MIDNIGHT, Sign::Add),
                piece(Grain::Day, MIDNIGHT, MIDNIGHT + 2 * DAY, Sign::Add),
                piece(Grain::Raw, end, MIDNIGHT + 2 * DAY, Sign::Subtract),
            ]
        );
        assert_exact(&pieces, start, end);
    }

    #[test]
    fn a_dst_change_within_a_day_joins_the_two_segments_of_that_day() {
        // New York, 2026-11-01: EDT (−4) until 06:00Z, then EST (−5). The local day runs from
        // 04:00Z to 05:00Z the next day (25 hours).
        let nov1 = 1_793_491_200; // 2026-11-01T00:00Z
        let change = nov1 + 6 * H;
        let segments = [
            OffsetSegment {
                start: nov1 + 4 * H,
                end: change,
                offset: -4 * H,
            },
            OffsetSegment {
                start: change,
                end: nov1 + DAY + 5 * H,
                offset: -5 * H,
            },
        ];
        let parts = local_day_parts(&segments);
        assert_eq!(
            parts,
            [DayPart {
                day: nov1 / DAY,
                start: nov1 + 4 * H,
                end: nov1 + DAY + 5 * H
            }]
        );
        let pieces = cover(parts[0].start, parts[0].end, &MODEL_GRAINS, true);
        assert_eq!(
            pieces,
            [
                piece(Grain::Hour, nov1, nov1 + 4 * H, Sign::Subtract),
                piece(Grain::Day, nov1, nov1 + DAY, Sign::Add),
                piece(Grain::Hour, nov1 + DAY, nov1 + DAY + 5 * H, Sign::Add),
            ]
        );
        assert_exact(&pieces, parts[0].start, parts[0].end);
        assert_eq!(
            merged_ranges(&segments),
            [(nov1 + 4 * H, nov1 + DAY + 5 * H)]
        );
    }

    #[test]
    fn segments_off_day_boundaries_give_parts_of_days() {
        // A segment from 10:00 to 14:00 the next day at +05:45 crosses one local midnight
        // (18:15Z).
        let offset = 5 * H + 45 * 60;
        let segment = OffsetSegment {
            start: MIDNIGHT + 10 * H,
            end: MIDNIGHT + DAY + 14 * H,
            offset,
        };
        let day = MIDNIGHT / DAY;
        assert_eq!(
            local_day_parts(&[segment]),
            [
                DayPart {
                    day,
                    start: MIDNIGHT + 10 * H,
                    end: MIDNIGHT + 18 * H + 15 * 60
                },
                DayPart {
                    day: day + 1,
                    start: MIDNIGHT + 18 * H + 15 * 60,
                    end: MIDNIGHT + DAY + 14 * H
                },
            ]
        );
        // Segments with a gap between them (a date outside the range left out) stay apart.
        let later = OffsetSegment {
            start: segment.end + H,
            end: segment.end + 2 * H,
            offset,
        };
        assert_eq!(
            merged_ranges(&[segment, later]),
            [(segment.start, segment.end), (later.start, later.end)]
        );
    }

    #[test]
    fn running_terms_read_one_window_for_a_month_and_one_more_per_64_days() {
        // A window starts on every day divisible by 32.
        let w = 20_704; // 2026-09-08
        assert_eq!(
            running_terms(w + 15, w + 45),
            [RunningTerm {
                window: w,
                before: Some(w + 14),
                through: w + 44
            }]
        );
        assert_eq!(
            running_terms(w, w + 30),
            [RunningTerm {
                window: w,
                before: None,
                through: w + 29
            }]
        );
        // 33 days starting at the last day of a stride still fit.
        assert_eq!(running_terms(w + 31, w + 64).len(), 1);
        let year = running_terms(w + 20, w + 20 + 366);
        assert_eq!(year.len(), 7);
        for pair in year.windows(2) {
            assert_eq!(pair[1].before, None);
            assert_eq!(pair[1].window, pair[0].through + 1);
        }
        // The days counted are exactly first..end.
        for first in w - 40..w + 40 {
            for length in [1, 2, 31, 33, 34, 64, 65, 200] {
                let mut days = Vec::new();
                for term in running_terms(first, first + length) {
                    assert_eq!(term.window.rem_euclid(RUNNING_WINDOW_STRIDE_DAYS), 0);
                    assert!(term.through < term.window + RUNNING_WINDOW_DAYS);
                    let from = term.before.map_or(term.window, |before| before + 1);
                    assert!(term.window <= from && from <= term.through);
                    days.extend(from..=term.through);
                }
                assert_eq!(days, (first..first + length).collect::<Vec<_>>());
            }
        }
    }

    #[test]
    fn every_day_lies_in_two_running_windows() {
        for day in [0, 31, 32, 20_719, 20_735, 20_736] {
            for window in running_windows(day) {
                assert!(window <= day && day < window + RUNNING_WINDOW_DAYS);
                assert_eq!(window.rem_euclid(RUNNING_WINDOW_STRIDE_DAYS), 0);
            }
        }
    }
}
