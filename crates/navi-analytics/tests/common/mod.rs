//! Helpers shared by the integration tests: building calls, and a stand-in for the database
//! implementation that feeds a `DashboardBuilder` the way SQL over segments or rollups would.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use navi_analytics::{
    epoch_day_to_date, AnalyticsError, Dashboard, DashboardBuilder, DashboardQuery, FeedbackEvent,
    LatencyHistogram, LlmCall, Reference, Sums, UsageSource, LATENCY_BUCKET_UPPER_BOUNDS_MS,
};

/// The zones the property tests draw from: whole-hour, half-hour and 45-minute offsets, DST in
/// both hemispheres, a 30-minute DST shift (Lord Howe) and midnight transitions (Santiago).
/// On the database they reach every grain of the rollups: UTC reads whole UTC days, whole-hour
/// zones add and subtract hours, Kolkata, Kathmandu and Chatham 15-minute buckets.
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

/// A call of `org_1`/`usr_1` to `gpt-4o` with 100 + 20 tokens.
pub fn call_at(occurred_at: DateTime<Utc>, cost_micros: i64, latency_ms: i64) -> LlmCall {
    LlmCall {
        org_id: "org_1".into(),
        user_id: "usr_1".into(),
        model: "gpt-4o".into(),
        prompt_tokens: 100,
        completion_tokens: 20,
        cost_micros,
        latency_ms,
        occurred_at,
    }
}

/// The local date of `instant` found the way SQL does: the segment that holds it, then
/// `(t + offset) div 86400`. `None` when no segment holds it.
pub fn day_by_segments(query: &DashboardQuery, instant: DateTime<Utc>) -> Option<NaiveDate> {
    let t = instant.timestamp();
    let segment = query
        .offset_segments()
        .iter()
        .find(|segment| segment.start <= t && t < segment.end)?;
    epoch_day_to_date(segment.local_epoch_day(t))
}

/// The grains, in seconds, a [`CellSource`] may bucket calls by, coarsest first.
pub const ROLLUP_GRAINS_SECONDS: [i64; 3] = [3_600, 1_800, 900];

/// The coarsest of [`ROLLUP_GRAINS_SECONDS`] that divides every boundary of `query` (each local
/// day's start and end, each segment's, and each local midnight inside a segment), or 1 when
/// none does: with buckets of that grain, every bucket lies within one segment and one local day.
pub fn finest_grain_seconds(query: &DashboardQuery) -> i64 {
    let mut boundaries: Vec<i64> = query
        .days()
        .iter()
        .flat_map(|day| [day.start.timestamp(), day.end.timestamp()])
        .collect();
    for segment in query.offset_segments() {
        boundaries.push(segment.start);
        boundaries.push(segment.end);
        let mut midnight = (segment.start + segment.offset).div_euclid(86_400) + 1;
        while midnight * 86_400 - segment.offset < segment.end {
            boundaries.push(midnight * 86_400 - segment.offset);
            midnight += 1;
        }
    }
    ROLLUP_GRAINS_SECONDS
        .into_iter()
        .find(|grain| boundaries.iter().all(|b| b.rem_euclid(*grain) == 0))
        .unwrap_or(1)
}

/// What the database implementation will do, without a database: group the raw rows into
/// cells (per call, or per rollup bucket of `grain` seconds), attribute each cell to the local
/// day of its first instant through the segments, and feed the cells to a `DashboardBuilder`.
#[derive(Debug)]
pub struct CellSource<'a> {
    pub data: &'a Reference,
    /// `None`: one cell per call. `Some(g)`: rollup buckets `[k·g, (k+1)·g)` per user and model.
    pub grain: Option<i64>,
}

impl CellSource<'_> {
    fn dashboard(
        &self,
        org_id: &str,
        user_id: Option<&str>,
        query: &DashboardQuery,
    ) -> Result<Dashboard, AnalyticsError> {
        // Key: (instant that decides the day, user, model).
        type Cell = (Sums, LatencyHistogram);
        let mut cells: BTreeMap<(i64, String, String), Cell> = BTreeMap::new();
        let chosen = |org: &str, user: &str| org == org_id && user_id.is_none_or(|u| u == user);
        for (index, call) in self.data.calls.iter().enumerate() {
            if !chosen(&call.org_id, &call.user_id) {
                continue;
            }
            let t = call.occurred_at.timestamp();
            let (key_instant, distinct) = match self.grain {
                None => (t, index.to_string()),
                Some(grain) => (t.div_euclid(grain) * grain, String::new()),
            };
            let cell = cells
                .entry((
                    key_instant,
                    call.user_id.clone(),
                    format!("{}\u{0}{distinct}", call.model),
                ))
                .or_default();
            cell.0.add(&Sums::of_call(
                call.prompt_tokens,
                call.completion_tokens,
                call.cost_micros,
                call.latency_ms,
            ))?;
            cell.1.record(call.latency_ms)?;
        }
        let mut builder = DashboardBuilder::new(
            query,
            org_id.to_owned(),
            user_id.map(str::to_owned),
            user_id.is_none(),
        );
        for ((key_instant, user, model_key), (sums, histogram)) in &cells {
            let instant = DateTime::from_timestamp(*key_instant, 0).unwrap();
            let Some(day) = day_by_segments(query, instant) else {
                continue;
            };
            let model = model_key.split('\u{0}').next().unwrap();
            builder.add_day_model(day, model, sums)?;
            builder.add_user(user, sums)?;
            builder.add_latency(histogram)?;
        }
        let (mut positive, mut negative) = (0, 0);
        for event in &self.data.feedback {
            if chosen(&event.org_id, &event.user_id)
                && day_by_segments(query, event.created_at).is_some()
            {
                if event.rating > 0 {
                    positive += 1;
                } else if event.rating < 0 {
                    negative += 1;
                }
            }
        }
        builder.add_feedback(positive, negative)?;
        builder.finish()
    }
}

impl UsageSource for CellSource<'_> {
    type Error = AnalyticsError;

    fn usage_dashboard(
        &mut self,
        org_id: &str,
        user_id: &str,
        query: &DashboardQuery,
    ) -> Result<Dashboard, Self::Error> {
        self.dashboard(org_id, Some(user_id), query)
    }

    fn org_dashboard(
        &mut self,
        org_id: &str,
        query: &DashboardQuery,
    ) -> Result<Dashboard, Self::Error> {
        self.dashboard(org_id, None, query)
    }
}

// Random datasets, shared by the property tests of the builder and of the databases.

use proptest::prelude::*;

pub const ORGS: [&str; 3] = ["org_a", "org_b", "org_c"];
pub const USERS: [&str; 4] = ["usr_1", "usr_2", "usr_3", "usr_4"];
pub const MODELS: [&str; 4] = ["gpt-4o", "claude-sonnet", "llama-3", "Mistral"];

/// The first day data is spread over, and how many days it covers (2026-10-01..=2027-04-30).
pub fn first_day() -> NaiveDate {
    date(2026, 10, 1)
}
pub const DATA_DAYS: i64 = 212;

pub fn zone() -> impl Strategy<Value = Tz> {
    proptest::sample::select(ZONES.to_vec())
}

/// A range starting within the data's months: mostly short, sometimes up to a year.
pub fn range() -> impl Strategy<Value = (NaiveDate, NaiveDate)> {
    let length = prop_oneof![4 => 1_i64..=45, 1 => 1_i64..=366];
    (0..DATA_DAYS, length).prop_map(|(start, length)| {
        let from = first_day() + TimeDelta::days(start);
        (from, from + TimeDelta::days(length - 1))
    })
}

/// A single day (from = to) in `tz`: the local date of the call `pick` chooses, so that the day
/// holds data, or the day `fallback` days into the data's months when there are no calls.
pub fn single_day(
    data: &Reference,
    pick: proptest::sample::Index,
    fallback: i64,
    tz: Tz,
) -> (NaiveDate, NaiveDate) {
    let day = if data.calls.is_empty() {
        first_day() + TimeDelta::days(fallback)
    } else {
        pick.get(&data.calls)
            .occurred_at
            .with_timezone(&tz)
            .date_naive()
    };
    (day, day)
}

/// The first days in `tz` from `start` days into the data's months on that hold no call and no
/// feedback of any org: up to `length` of them, stopping short of the next day that holds
/// something. Such a day always exists, at the latest just after the data's last instant.
pub fn empty_range(data: &Reference, start: i64, length: i64, tz: Tz) -> (NaiveDate, NaiveDate) {
    let busy: BTreeSet<NaiveDate> = data
        .calls
        .iter()
        .map(|call| call.occurred_at)
        .chain(data.feedback.iter().map(|event| event.created_at))
        .map(|instant| instant.with_timezone(&tz).date_naive())
        .collect();
    let from = (start..)
        .map(|day| first_day() + TimeDelta::days(day))
        .find(|day| !busy.contains(day))
        .expect("finitely many days hold something");
    let to = (1..length)
        .map(|days| from + TimeDelta::days(days))
        .take_while(|day| !busy.contains(day))
        .last()
        .unwrap_or(from);
    (from, to)
}

/// An instant in the data's months, half the time on or right next to a quarter hour, where
/// day and offset boundaries lie.
pub fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    let time_of_day = prop_oneof![
        0_i64..86_400,
        (0_i64..96, -1_i64..=1).prop_map(|(quarter, nudge)| quarter * 900 + nudge),
    ];
    (-2..DATA_DAYS + 2, time_of_day).prop_map(|(day, seconds)| {
        let midnight = first_day().and_hms_opt(0, 0, 0).unwrap().and_utc();
        midnight + TimeDelta::days(day) + TimeDelta::seconds(seconds)
    })
}

pub fn latency() -> impl Strategy<Value = i64> {
    prop_oneof![
        0_i64..2_000,
        0_i64..400_000,
        (
            proptest::sample::select(LATENCY_BUCKET_UPPER_BOUNDS_MS.to_vec()),
            -1_i64..=1
        )
            .prop_map(|(bound, nudge)| bound + nudge),
    ]
}

pub fn cost() -> impl Strategy<Value = i64> {
    // Small sets of values make ties in the ordering by cost.
    prop_oneof![
        proptest::sample::select(vec![0_i64, 1, 500, 250_000]),
        0_i64..5_000_000,
        0_i64..5_000_000_000,
    ]
}

pub fn call() -> impl Strategy<Value = LlmCall> {
    (
        proptest::sample::select(ORGS.to_vec()),
        proptest::sample::select(USERS.to_vec()),
        proptest::sample::select(MODELS.to_vec()),
        0_i64..10_000,
        0_i64..5_000,
        cost(),
        latency(),
        instant(),
    )
        .prop_map(
            |(org, user, model, prompt_tokens, completion_tokens, cost_micros, latency_ms, at)| {
                LlmCall {
                    org_id: org.into(),
                    user_id: user.into(),
                    model: model.into(),
                    prompt_tokens,
                    completion_tokens,
                    cost_micros,
                    latency_ms,
                    occurred_at: at,
                }
            },
        )
}

pub fn feedback() -> impl Strategy<Value = FeedbackEvent> {
    (
        proptest::sample::select(ORGS.to_vec()),
        proptest::sample::select(USERS.to_vec()),
        prop_oneof![Just(1_i8), Just(-1_i8)],
        instant(),
    )
        .prop_map(|(org, user, rating, at)| FeedbackEvent {
            org_id: org.into(),
            user_id: user.into(),
            rating,
            created_at: at,
        })
}

pub fn dataset() -> impl Strategy<Value = Reference> {
    (
        proptest::collection::vec(call(), 0..80),
        proptest::collection::vec(feedback(), 0..20),
    )
        .prop_map(|(calls, feedback)| Reference { calls, feedback })
}
