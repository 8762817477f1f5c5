//! LLM usage rows: raw calls, feedback, and the rollups maintained with them in one transaction.
//! The aggregate reads return plain sums; what they mean (local days, p95, rounding) is the
//! [`DashboardBuilder`](crate::DashboardBuilder)'s business.
//!
//! Times are Unix seconds. Aggregate reads take [`OffsetSegment`](crate::grains::OffsetSegment)s:
//! half-open UTC ranges with the UTC offset that holds throughout, so both backends compute a
//! row's local day with the same integer arithmetic: `(t + offset) / 86400`, days since
//! 1970-01-01.
//!
//! Each batch adds its calls, in the same transaction, to:
//! - sums per model per 15-minute bucket, UTC hour and UTC day (`navi_usage_model_15m`,
//!   `navi_usage_model_1h`, `navi_usage_model_1d`);
//! - latency histograms per model per 15-minute bucket (in `navi_usage_model_15m`) and per UTC
//!   day (`navi_usage_latency_1d`);
//! - sums per user per six UTC hours (`navi_usage_user_6h`), and per-user running totals
//!   (`navi_usage_user_running_1d`): in windows of 64 UTC days that start every 32 days, each
//!   user's sums from the window's first day through each day.
//!
//! Whole-org reads cut their range with [`grains::cover`] into the coarsest pieces those rollups
//! answer exactly, subtracting where that is shorter, and read the raw rows only for what lies
//! off the 15-minute grain (off the six-hour blocks, for `by_user`). The usage of one user is read
//! from the raw rows (a user's calls are few, and the index `(org_id, user_id, occurred_at)` holds
//! them). [`usage_sums`] reads all of a dashboard's sums in one read-only snapshot.

use std::collections::{BTreeMap, HashSet};
use std::sync::LazyLock;

use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};
use navi_tenancy::ids::{new_id, IdKind};
use navi_tenancy::{DbConnection, Role, StoreError, TenantScope};

mod read;

pub use read::{usage_sums, UsageSums};

use super::dialect::{self, BulkColumn, BulkRows};
use crate::grains::{self, Grain};
use crate::query::SECONDS_PER_DAY as DAY;
use crate::{NewCall, Sums, LATENCY_BUCKET_COUNT, MAX_BATCH};

/// The `ON CONFLICT` target of the calls' client ids, unique per org and user. The unique index
/// holds only the calls that have an id (a partial index, which the target must name by its
/// predicate), on both backends.
const CLIENT_CALL_CONFLICT: &str =
    "ON CONFLICT (org_id, user_id, client_call_id) WHERE client_call_id IS NOT NULL";

/// What a batch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// Calls whose client id the user already had in the org (or that repeated one in the
    /// batch).
    pub duplicates: u64,
    /// The positions in the batch of the calls recorded, in order.
    pub recorded: Vec<usize>,
}

impl Recorded {
    /// Calls recorded.
    pub fn accepted(&self) -> u64 {
        self.recorded.len() as u64
    }
}

/// A batch's sums beyond 64 bits: unreachable with calls bounded at ingest, refused all the same.
fn batch_overflow(_: crate::AnalyticsError) -> StoreError {
    StoreError::Invalid("the batch's sums exceed 64-bit integers".to_owned())
}

/// Whose calls a read covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// The scope's own user (any member).
    OwnUsage,
    /// Every user of the org (admin+).
    WholeOrg,
}

/// Sums of one local day and model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayModelSums {
    /// Local day, days since 1970-01-01.
    pub day: i64,
    /// The model.
    pub model: String,
    /// The sums of its calls.
    pub sums: Sums,
}

/// Sums of one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSums {
    /// The user.
    pub user_id: String,
    /// The sums of their calls.
    pub sums: Sums,
}

/// Calls per latency bucket, and the largest latency (`None` without calls).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatencyCounts {
    /// Calls per bucket, `LATENCY_BUCKET_COUNT` entries.
    pub counts: Vec<i64>,
    /// The largest latency, ms.
    pub max_ms: Option<i64>,
}

/// Records calls for the scope's user in the scope's org, all or nothing, with their rollups in
/// the same transaction, each with the API key that sent it (`None` for a browser session), so
/// spend per key can be read. A call whose client id the scope's user already has in the org is
/// skipped (and counted); another user's call with the same id is recorded.
pub fn record_calls(
    scope: &TenantScope,
    conn: &mut DbConnection,
    api_key_id: Option<&str>,
    calls: &[NewCall],
) -> Result<Recorded, StoreError> {
    if calls.len() > MAX_BATCH {
        return Err(StoreError::Invalid(format!(
            "calls: at most {MAX_BATCH} per batch"
        )));
    }
    // A client id repeated inside the batch counts once: the first occurrence.
    let mut seen = HashSet::new();
    let mut unique: Vec<(usize, &NewCall)> = calls
        .iter()
        .enumerate()
        .filter(|(_, call)| {
            call.client_call_id
                .as_ref()
                .is_none_or(|id| seen.insert(id.as_str()))
        })
        .collect();
    // Inserted in the order of their ids (the calls without one first, as they came), so that two
    // batches sharing ids, say a retry sent while the first attempt still runs, wait for each
    // other in one order: in two orders each could hold an id the other waits for, a deadlock.
    unique.sort_by(|(_, a), (_, b)| a.client_call_id.cmp(&b.client_call_id));
    // Calls without an id cannot conflict, so they are inserted without `ON CONFLICT`: with it,
    // PostgreSQL inserts every row speculatively (checked against the unique index, then
    // confirmed in the WAL), even a row that the partial index leaves out.
    let (anonymous, identified) =
        unique.split_at(unique.partition_point(|(_, call)| call.client_call_id.is_none()));
    conn.transaction(|conn| {
        dialect::plan_once(conn)?;
        #[derive(QueryableByName)]
        struct Inserted {
            #[diesel(sql_type = Nullable<Text>)]
            client_call_id: Option<String>,
        }
        dialect::bulk_execute(
            conn,
            BulkRows {
                table: "navi_llm_calls",
                columns: call_columns(scope, api_key_id, anonymous, false),
                tail: String::new(),
            },
        )?;
        let inserted: Vec<Inserted> = dialect::bulk_load(
            conn,
            BulkRows {
                table: "navi_llm_calls",
                columns: call_columns(scope, api_key_id, identified, true),
                tail: format!("{CLIENT_CALL_CONFLICT} DO NOTHING RETURNING client_call_id"),
            },
        )?;
        let inserted_ids: HashSet<String> = inserted
            .into_iter()
            .filter_map(|row| row.client_call_id)
            .collect();
        let (mut positions, recorded): (Vec<usize>, Vec<&NewCall>) = anonymous
            .iter()
            .copied()
            .chain(identified.iter().copied().filter(|(_, call)| {
                call.client_call_id
                    .as_ref()
                    .is_some_and(|id| inserted_ids.contains(id))
            }))
            .unzip();
        update_rollups(scope, conn, &recorded)?;
        positions.sort_unstable();
        Ok(Recorded {
            duplicates: (calls.len() - recorded.len()) as u64,
            recorded: positions,
        })
    })
}

/// The columns of the rows of `navi_llm_calls` for `calls` of the scope's user sent with
/// `api_key_id` (the column is left out, NULL, without one), with their client ids or (`with_ids`
/// false) without that column.
fn call_columns<'a>(
    scope: &TenantScope,
    api_key_id: Option<&str>,
    calls: &[(usize, &NewCall)],
    with_ids: bool,
) -> Vec<(&'a str, BulkColumn)> {
    let integers = |value: fn(&NewCall) -> i64| {
        BulkColumn::BigInt(calls.iter().map(|(_, call)| value(call)).collect())
    };
    let mut columns = vec![
        ("org_id", BulkColumn::Same(scope.org_id().to_owned())),
        ("user_id", BulkColumn::Same(scope.user_id().to_owned())),
    ];
    if let Some(key) = api_key_id {
        columns.push(("api_key_id", BulkColumn::Same(key.to_owned())));
    }
    if with_ids {
        columns.push((
            "client_call_id",
            BulkColumn::NullableText(
                calls
                    .iter()
                    .map(|(_, c)| c.client_call_id.clone())
                    .collect(),
            ),
        ));
    }
    columns.extend([
        (
            "model",
            BulkColumn::Text(calls.iter().map(|(_, c)| c.model.clone()).collect()),
        ),
        ("prompt_tokens", integers(|c| c.prompt_tokens)),
        ("completion_tokens", integers(|c| c.completion_tokens)),
        ("cost_micros", integers(|c| c.cost_micros)),
        ("latency_ms", integers(|c| c.latency_ms)),
        (
            "latency_bucket",
            BulkColumn::SmallInt(calls.iter().map(|(_, c)| c.latency_bucket).collect()),
        ),
        ("occurred_at", integers(|c| c.occurred_at)),
    ]);
    columns
}

/// The rollups of sums by model, with their grain, in the order every batch updates them. The
/// 15-minute one holds each model's latency histogram too (see [`LATENCY_ROLLUPS`]).
const MODEL_ROLLUPS: [(Grain, &str); 3] = [
    (Grain::QuarterHour, "navi_usage_model_15m"),
    (Grain::Hour, "navi_usage_model_1h"),
    (Grain::Day, "navi_usage_model_1d"),
];
/// The tables of latency histograms, with their grain: per model in the 15-minute rollup of sums
/// (a call spread from its neighbours lands on a row of its own at that grain, and one row is
/// cheaper to update than two), per org in the daily one.
const LATENCY_ROLLUPS: [(Grain, &str); 2] = [
    (Grain::QuarterHour, MODEL_ROLLUPS[0].1),
    (Grain::Day, LATENCY_DAY_ROLLUP),
];
/// The daily latency histogram, which ingest updates after the rollups of sums by model.
const LATENCY_DAY_ROLLUP: &str = "navi_usage_latency_1d";
/// The grains the per-(day, model) read cuts a local day into, coarsest first.
const MODEL_GRAINS: [Grain; 3] = [Grain::Day, Grain::Hour, Grain::QuarterHour];
/// The grains of the latency read: its cover must be additive (a maximum cannot be
/// subtracted), and its edges are only the range's two ends, so no hourly histogram is kept.
const LATENCY_GRAINS: [Grain; 2] = [Grain::Day, Grain::QuarterHour];
/// The grains of the per-user read: whole UTC days from the running totals, quarters of a day
/// from the per-user six-hour rollup, and the raw rows within three hours of those. (An hourly
/// rollup held about a row per call of a busy org, as many as the calls themselves, and its
/// edges read more rows than these.)
const USER_GRAINS: [Grain; 2] = [Grain::Day, Grain::SixHours];
/// The grain of the per-user rollup.
const USER_GRAIN: Grain = Grain::SixHours;
const SUM_COLUMNS: [&str; 5] = [
    "requests",
    "prompt_tokens",
    "completion_tokens",
    "cost_micros",
    "latency_sum_ms",
];

/// The start of the bucket of `grain` that holds `at`.
fn bucket_of(at: i64, grain: Grain) -> i64 {
    at - at.rem_euclid(grain.seconds())
}

/// The largest latency and the count of calls per latency bucket that one batch adds to a
/// histogram row. A batch holds at most [`MAX_BATCH`] calls, so the counts fit 16 bits and are
/// sent as such: the rows of a batch spread over days carry 29 counts each, most of them zero,
/// and as 64-bit integers these were most of the batch's bytes.
type Histogram = (i64, [i16; LATENCY_BUCKET_COUNT]);
const _: () = assert!(MAX_BATCH <= i16::MAX as usize);
const EMPTY_HISTOGRAM: Histogram = (0, [0; LATENCY_BUCKET_COUNT]);

/// Adds the recorded calls to the rollups, one table after another in a fixed order and each
/// table's rows in key order, so concurrent batches take row locks in one global order and
/// cannot deadlock.
fn update_rollups(
    scope: &TenantScope,
    conn: &mut DbConnection,
    calls: &[&NewCall],
) -> Result<(), StoreError> {
    let mut by_model: [BTreeMap<(i64, &str), Sums>; MODEL_ROLLUPS.len()] = Default::default();
    // The 15-minute histograms, under the keys of the 15-minute sums of `by_model`.
    let mut quarter_latency: BTreeMap<(i64, &str), Histogram> = BTreeMap::new();
    let mut day_latency: BTreeMap<i64, Histogram> = BTreeMap::new();
    let mut by_user: BTreeMap<i64, Sums> = BTreeMap::new();
    // The user's sums per running-total window and day.
    let mut by_window_day: BTreeMap<(i64, i64), Sums> = BTreeMap::new();
    for call in calls {
        let sums = Sums::of_call(
            call.prompt_tokens,
            call.completion_tokens,
            call.cost_micros,
            call.latency_ms,
        );
        for (rollup, (grain, _)) in by_model.iter_mut().zip(MODEL_ROLLUPS) {
            rollup
                .entry((bucket_of(call.occurred_at, grain), call.model.as_str()))
                .or_default()
                .add(&sums)
                .map_err(batch_overflow)?;
        }
        let index = usize::try_from(call.latency_bucket)
            .ok()
            .filter(|&index| index < LATENCY_BUCKET_COUNT)
            .ok_or_else(|| StoreError::Internal("latency bucket out of range".to_owned()))?;
        let quarter = (
            bucket_of(call.occurred_at, Grain::QuarterHour),
            call.model.as_str(),
        );
        let day = bucket_of(call.occurred_at, Grain::Day);
        for (max_ms, counts) in [
            quarter_latency.entry(quarter).or_insert(EMPTY_HISTOGRAM),
            day_latency.entry(day).or_insert(EMPTY_HISTOGRAM),
        ] {
            *max_ms = (*max_ms).max(call.latency_ms);
            counts[index] += 1;
        }
        by_user
            .entry(bucket_of(call.occurred_at, USER_GRAIN))
            .or_default()
            .add(&sums)
            .map_err(batch_overflow)?;
        let day = call.occurred_at.div_euclid(DAY);
        for window in grains::running_windows(day) {
            by_window_day
                .entry((window, day))
                .or_default()
                .add(&sums)
                .map_err(batch_overflow)?;
        }
    }

    for (rows, (grain, table)) in by_model.iter().zip(MODEL_ROLLUPS) {
        // The 15-minute rows hold the latency histograms too: the same keys, so the same order.
        let histograms = (grain == Grain::QuarterHour).then(|| {
            debug_assert!(quarter_latency.keys().eq(rows.keys()));
            quarter_latency.values().collect::<Vec<_>>()
        });
        add_to_sums_rollup(
            scope,
            conn,
            table,
            vec![
                (
                    "bucket",
                    BulkColumn::BigInt(rows.keys().map(|k| k.0).collect()),
                ),
                (
                    "model",
                    BulkColumn::Text(rows.keys().map(|k| k.1.to_owned()).collect()),
                ),
            ],
            rows.values(),
            histograms.as_deref(),
        )?;
    }
    add_to_histogram_rollup(scope, conn, LATENCY_DAY_ROLLUP, &day_latency)?;
    let user_id = || BulkColumn::Same(scope.user_id().to_owned());
    add_to_sums_rollup(
        scope,
        conn,
        "navi_usage_user_6h",
        vec![
            (
                "bucket",
                BulkColumn::BigInt(by_user.keys().copied().collect()),
            ),
            ("user_id", user_id()),
        ],
        by_user.values(),
        None,
    )?;
    let running = running_rows(&by_window_day)?;
    add_to_sums_rollup(
        scope,
        conn,
        "navi_usage_user_running_1d",
        vec![
            (
                "window_start",
                BulkColumn::BigInt(running.iter().map(|((window, _), _)| *window).collect()),
            ),
            (
                "day",
                BulkColumn::BigInt(running.iter().map(|((_, day), _)| *day).collect()),
            ),
            ("user_id", user_id()),
        ],
        running.iter().map(|(_, sums)| sums),
        None,
    )?;
    Ok(())
}

/// A row of the running totals: `(window, day)` and the sums to add to it.
type RunningRow = ((i64, i64), Sums);

/// What one user's calls add to the running totals: in each window the user has calls in,
/// every day from the first of them to the window's last gets the sums of the calls up to it.
fn running_rows(by_window_day: &BTreeMap<(i64, i64), Sums>) -> Result<Vec<RunningRow>, StoreError> {
    let mut rows = Vec::new();
    let mut days = by_window_day.iter().peekable();
    while let Some((&(window, first_day), first_sums)) = days.next() {
        let mut running = *first_sums;
        rows.push(((window, first_day), running));
        for day in first_day + 1..window + grains::RUNNING_WINDOW_DAYS {
            if let Some((_, sums)) = days.next_if(|((w, d), _)| *w == window && *d == day) {
                running.add(sums).map_err(batch_overflow)?;
            }
            rows.push(((window, day), running));
        }
    }
    Ok(rows)
}

/// Adds sums to the rows `(org_id, keys..., sums...)` of a rollup, creating those missing:
/// `keys` are the key columns of the rows, in key order, and `sums` their sums in the same order,
/// and `histograms` (if the rollup holds them) their latency histograms in the same order.
fn add_to_sums_rollup<'s>(
    scope: &TenantScope,
    conn: &mut DbConnection,
    table: &str,
    keys: Vec<(&str, BulkColumn)>,
    sums: impl Iterator<Item = &'s Sums>,
    histograms: Option<&[&Histogram]>,
) -> Result<(), StoreError> {
    let key_names: Vec<&str> = keys.iter().map(|(name, _)| *name).collect();
    let mut add: Vec<String> = SUM_COLUMNS
        .iter()
        .map(|c| format!("{c} = {table}.{c} + excluded.{c}"))
        .collect();
    let mut values: [Vec<i64>; SUM_COLUMNS.len()] = Default::default();
    for sums in sums {
        for (column, value) in values.iter_mut().zip(sums.values()) {
            column.push(value);
        }
    }
    let mut columns = vec![("org_id", BulkColumn::Same(scope.org_id().to_owned()))];
    columns.extend(keys);
    columns.extend(
        SUM_COLUMNS
            .iter()
            .zip(values)
            .map(|(name, values)| (*name, BulkColumn::BigInt(values))),
    );
    if let Some(histograms) = histograms {
        let (histogram_columns, add_histograms) = histogram_update(conn, table, histograms);
        columns.extend(histogram_columns);
        add.extend(add_histograms);
    }
    dialect::bulk_execute(
        conn,
        BulkRows {
            table,
            columns,
            tail: format!(
                "ON CONFLICT (org_id, {}) DO UPDATE SET {}",
                key_names.join(", "),
                add.join(", ")
            ),
        },
    )?;
    Ok(())
}

/// The columns `max_ms, h00..h28` of `histograms` (rows in order), and what an update of a row
/// of `table` sets them to: the larger latency, the sums of the counts.
fn histogram_update(
    conn: &DbConnection,
    table: &str,
    histograms: &[&Histogram],
) -> (Vec<(&'static str, BulkColumn)>, Vec<String>) {
    let mut columns = vec![(
        "max_ms",
        BulkColumn::BigInt(histograms.iter().map(|(max_ms, _)| *max_ms).collect()),
    )];
    for (index, name) in HISTOGRAM_COLUMNS.iter().enumerate() {
        columns.push((
            name.as_str(),
            BulkColumn::SmallInt(histograms.iter().map(|(_, counts)| counts[index]).collect()),
        ));
    }
    let mut set = vec![format!(
        "max_ms = {}",
        dialect::greatest(conn, &format!("{table}.max_ms"), "excluded.max_ms")
    )];
    set.extend(
        HISTOGRAM_COLUMNS
            .iter()
            .map(|h| format!("{h} = {table}.{h} + excluded.{h}")),
    );
    (columns, set)
}

/// The count column of latency bucket `bucket` in a histogram rollup: `h00`, `h01`, ...
fn histogram_column(bucket: usize) -> String {
    format!("h{bucket:02}")
}

/// The count columns of a latency histogram, one per latency bucket.
static HISTOGRAM_COLUMNS: LazyLock<Vec<String>> =
    LazyLock::new(|| (0..LATENCY_BUCKET_COUNT).map(histogram_column).collect());

/// Adds counts to the histogram rows `(org_id, bucket, max_ms, h00..h28)` of a rollup.
fn add_to_histogram_rollup(
    scope: &TenantScope,
    conn: &mut DbConnection,
    table: &str,
    rows: &BTreeMap<i64, Histogram>,
) -> Result<(), StoreError> {
    let histograms: Vec<&Histogram> = rows.values().collect();
    let (histogram_columns, set) = histogram_update(conn, table, &histograms);
    let mut columns = vec![
        ("org_id", BulkColumn::Same(scope.org_id().to_owned())),
        ("bucket", BulkColumn::BigInt(rows.keys().copied().collect())),
    ];
    columns.extend(histogram_columns);
    dialect::bulk_execute(
        conn,
        BulkRows {
            table,
            columns,
            tail: format!(
                "ON CONFLICT (org_id, bucket) DO UPDATE SET {}",
                set.join(", ")
            ),
        },
    )?;
    Ok(())
}

/// Records feedback by the scope's user; returns its id (`fbk_…`).
pub fn record_feedback(
    scope: &TenantScope,
    conn: &mut DbConnection,
    target_id: &str,
    rating: i16,
    comment: Option<&str>,
    at: i64,
) -> Result<String, StoreError> {
    if target_id.is_empty()
        || target_id.chars().count() > 200
        || target_id.chars().any(char::is_control)
    {
        return Err(StoreError::Invalid(
            "target_id: 1 to 200 characters, no control characters".to_owned(),
        ));
    }
    if rating != 1 && rating != -1 {
        return Err(StoreError::Invalid("rating: 1 or -1".to_owned()));
    }
    if comment.is_some_and(|comment| comment.chars().count() > 10_000) {
        return Err(StoreError::Invalid(
            "comment: at most 10000 characters".to_owned(),
        ));
    }
    let id = new_id(IdKind::Feedback);
    dialect::bulk_execute(
        conn,
        BulkRows {
            table: "navi_feedback",
            columns: vec![
                ("id", BulkColumn::Text(vec![id.clone()])),
                ("org_id", BulkColumn::Same(scope.org_id().to_owned())),
                ("user_id", BulkColumn::Same(scope.user_id().to_owned())),
                ("target_id", BulkColumn::Text(vec![target_id.to_owned()])),
                ("rating", BulkColumn::SmallInt(vec![rating])),
                (
                    "comment",
                    BulkColumn::NullableText(vec![comment.map(str::to_owned)]),
                ),
                ("created_at", BulkColumn::BigInt(vec![at])),
            ],
            tail: String::new(),
        },
    )?;
    Ok(id)
}

fn require(scope: &TenantScope, audience: Audience) -> Result<(), StoreError> {
    match audience {
        Audience::OwnUsage => Ok(()),
        Audience::WholeOrg => scope.require(Role::Admin),
    }
}
