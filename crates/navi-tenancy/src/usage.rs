//! LLM usage rows: raw calls, feedback, and the rollups maintained with them in one transaction.
//! The aggregate reads return plain sums; what they mean (local days, p95, rounding) is
//! `navi-analytics`'s business.
//!
//! Times are Unix seconds. Aggregate reads take [`TimeSegment`]s: half-open UTC ranges with the
//! UTC offset that holds throughout, so both backends compute a row's local day with the same
//! integer arithmetic: `(t + offset) / 86400`, days since 1970-01-01.
//!
//! Whole-org reads use the rollups when every segment boundary falls on their 15-minute grain
//! (true of every zone since 1980), else the raw rows; the usage of one user is read from the
//! raw rows (a user's calls are few, and the index `(org_id, user_id, occurred_at)` holds them).

use std::collections::{BTreeMap, HashSet};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, SmallInt, Text};

pub mod grains;

use crate::db::MultiBackend;
use crate::ids::{new_id, IdKind};
use crate::{DbConnection, Role, StoreError, TenantScope};

/// The rollups' time grain, in seconds.
pub const BUCKET_SECONDS: i64 = 900;
/// Number of latency buckets the histogram rollup stores (`h00`..`h28`); must equal
/// `navi_analytics::LATENCY_BUCKET_COUNT` (a test there checks).
pub const LATENCY_BUCKETS: usize = 29;
/// Most calls in one batch.
pub const MAX_BATCH: usize = 1000;
/// Bind parameters per statement, below SQLite's limit of 32766.
const MAX_PARAMS: usize = 30_000;
const DAY: i64 = 86_400;

/// A validated call to record (see `navi-analytics` for validation and the latency bucket).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCall {
    /// The client's id for the call, unique per org.
    pub client_call_id: Option<String>,
    /// The model name.
    pub model: String,
    /// ≥ 0.
    pub prompt_tokens: i64,
    /// ≥ 0.
    pub completion_tokens: i64,
    /// ≥ 0, millionths of a US dollar.
    pub cost_micros: i64,
    /// ≥ 0.
    pub latency_ms: i64,
    /// Index of the call's latency bucket, `0..LATENCY_BUCKETS`.
    pub latency_bucket: i16,
    /// Unix seconds.
    pub occurred_at: i64,
}

/// What a batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    /// Calls recorded.
    pub accepted: u64,
    /// Calls whose client id the org already had (or that repeated one in the batch).
    pub duplicates: u64,
}

/// Sums of calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallSums {
    /// Calls.
    pub requests: i64,
    /// Prompt tokens.
    pub prompt_tokens: i64,
    /// Completion tokens.
    pub completion_tokens: i64,
    /// Cost, micro-dollars.
    pub cost_micros: i64,
    /// Sum of latencies, ms.
    pub latency_sum_ms: i64,
}

impl CallSums {
    fn of(call: &NewCall) -> CallSums {
        CallSums {
            requests: 1,
            prompt_tokens: call.prompt_tokens,
            completion_tokens: call.completion_tokens,
            cost_micros: call.cost_micros,
            latency_sum_ms: call.latency_ms,
        }
    }

    fn add(&mut self, other: &CallSums) -> Result<(), StoreError> {
        let overflow = || StoreError::Invalid("the batch's sums exceed 64-bit integers".to_owned());
        self.requests = self
            .requests
            .checked_add(other.requests)
            .ok_or_else(overflow)?;
        self.prompt_tokens = self
            .prompt_tokens
            .checked_add(other.prompt_tokens)
            .ok_or_else(overflow)?;
        self.completion_tokens = self
            .completion_tokens
            .checked_add(other.completion_tokens)
            .ok_or_else(overflow)?;
        self.cost_micros = self
            .cost_micros
            .checked_add(other.cost_micros)
            .ok_or_else(overflow)?;
        self.latency_sum_ms = self
            .latency_sum_ms
            .checked_add(other.latency_sum_ms)
            .ok_or_else(overflow)?;
        Ok(())
    }
}

/// A half-open range of Unix seconds over which the UTC offset is constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeSegment {
    /// First second.
    pub start: i64,
    /// First second after.
    pub end: i64,
    /// UTC offset in seconds (local = UTC + offset).
    pub offset: i64,
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
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct DayModelSums {
    /// Local day, days since 1970-01-01.
    #[diesel(sql_type = BigInt)]
    pub day: i64,
    /// The model.
    #[diesel(sql_type = Text)]
    pub model: String,
    /// Calls.
    #[diesel(sql_type = BigInt)]
    pub requests: i64,
    /// Prompt tokens.
    #[diesel(sql_type = BigInt)]
    pub prompt_tokens: i64,
    /// Completion tokens.
    #[diesel(sql_type = BigInt)]
    pub completion_tokens: i64,
    /// Cost, micro-dollars.
    #[diesel(sql_type = BigInt)]
    pub cost_micros: i64,
    /// Sum of latencies, ms.
    #[diesel(sql_type = BigInt)]
    pub latency_sum_ms: i64,
}

impl DayModelSums {
    /// The sums alone.
    pub fn sums(&self) -> CallSums {
        CallSums {
            requests: self.requests,
            prompt_tokens: self.prompt_tokens,
            completion_tokens: self.completion_tokens,
            cost_micros: self.cost_micros,
            latency_sum_ms: self.latency_sum_ms,
        }
    }
}

/// Sums of one user.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct UserSums {
    /// The user.
    #[diesel(sql_type = Text)]
    pub user_id: String,
    /// Calls.
    #[diesel(sql_type = BigInt)]
    pub requests: i64,
    /// Prompt tokens.
    #[diesel(sql_type = BigInt)]
    pub prompt_tokens: i64,
    /// Completion tokens.
    #[diesel(sql_type = BigInt)]
    pub completion_tokens: i64,
    /// Cost, micro-dollars.
    #[diesel(sql_type = BigInt)]
    pub cost_micros: i64,
    /// Sum of latencies, ms.
    #[diesel(sql_type = BigInt)]
    pub latency_sum_ms: i64,
}

impl UserSums {
    /// The sums alone.
    pub fn sums(&self) -> CallSums {
        CallSums {
            requests: self.requests,
            prompt_tokens: self.prompt_tokens,
            completion_tokens: self.completion_tokens,
            cost_micros: self.cost_micros,
            latency_sum_ms: self.latency_sum_ms,
        }
    }
}

/// Calls per latency bucket, and the largest latency (`None` without calls).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatencyCounts {
    /// Calls per bucket, `LATENCY_BUCKETS` entries.
    pub counts: Vec<i64>,
    /// The largest latency, ms.
    pub max_ms: Option<i64>,
}

/// A placeholder list `$first, $first+1, ...`. Statements are written with `$n` placeholders used
/// once each, in increasing order; [`query`] turns them into `?` for SQLite.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

type Query =
    diesel::query_builder::BoxedSqlQuery<'static, MultiBackend, diesel::query_builder::SqlQuery>;

fn query(conn: &DbConnection, sql: String) -> Query {
    diesel::sql_query(crate::dialect::positional_placeholders(conn, sql)).into_boxed()
}

/// Records calls for the scope's user in the scope's org, all or nothing, with their rollups in
/// the same transaction. A call whose client id the org already has is skipped (and counted).
pub fn record_calls(
    scope: &TenantScope,
    conn: &mut DbConnection,
    calls: &[NewCall],
) -> Result<Recorded, StoreError> {
    if calls.len() > MAX_BATCH {
        return Err(StoreError::Invalid(format!(
            "calls: at most {MAX_BATCH} per batch"
        )));
    }
    // A client id repeated inside the batch counts once: the first occurrence.
    let mut seen = HashSet::new();
    let unique: Vec<&NewCall> = calls
        .iter()
        .filter(|call| {
            call.client_call_id
                .as_ref()
                .is_none_or(|id| seen.insert(id.as_str()))
        })
        .collect();
    conn.transaction(|conn| {
        let mut inserted_ids: HashSet<String> = HashSet::new();
        const COLUMNS: usize = 10;
        for chunk in unique.chunks(MAX_PARAMS / COLUMNS) {
            let sql = format!(
                "INSERT INTO navi_llm_calls (org_id, user_id, client_call_id, model, prompt_tokens, \
                 completion_tokens, cost_micros, latency_ms, latency_bucket, occurred_at) VALUES {} \
                 ON CONFLICT (org_id, client_call_id) DO NOTHING RETURNING client_call_id",
                values_list(chunk.len(), COLUMNS)
            );
            let mut insert = query(conn, sql);
            for call in chunk {
                insert = insert
                    .bind::<Text, _>(scope.org_id().to_owned())
                    .bind::<Text, _>(scope.user_id().to_owned())
                    .bind::<Nullable<Text>, _>(call.client_call_id.clone())
                    .bind::<Text, _>(call.model.clone())
                    .bind::<BigInt, _>(call.prompt_tokens)
                    .bind::<BigInt, _>(call.completion_tokens)
                    .bind::<BigInt, _>(call.cost_micros)
                    .bind::<BigInt, _>(call.latency_ms)
                    .bind::<SmallInt, _>(call.latency_bucket)
                    .bind::<BigInt, _>(call.occurred_at);
            }
            #[derive(QueryableByName)]
            struct Inserted {
                #[diesel(sql_type = Nullable<Text>)]
                client_call_id: Option<String>,
            }
            for row in insert.load::<Inserted>(conn)? {
                if let Some(id) = row.client_call_id {
                    inserted_ids.insert(id);
                }
            }
        }
        let recorded: Vec<&NewCall> = unique
            .iter()
            .copied()
            .filter(|call| call.client_call_id.as_ref().is_none_or(|id| inserted_ids.contains(id)))
            .collect();
        update_rollups(scope, conn, &recorded)?;
        Ok(Recorded {
            accepted: recorded.len() as u64,
            duplicates: (calls.len() - recorded.len()) as u64,
        })
    })
}

fn bucket_of(at: i64) -> i64 {
    at.div_euclid(BUCKET_SECONDS) * BUCKET_SECONDS
}

/// Adds the recorded calls to the three rollups, in key order (so concurrent batches take row
/// locks in the same order and cannot deadlock).
fn update_rollups(
    scope: &TenantScope,
    conn: &mut DbConnection,
    calls: &[&NewCall],
) -> Result<(), StoreError> {
    let mut by_model: BTreeMap<(i64, &str), CallSums> = BTreeMap::new();
    let mut by_user_day: BTreeMap<i64, CallSums> = BTreeMap::new();
    let mut latency: BTreeMap<i64, (i64, [i64; LATENCY_BUCKETS])> = BTreeMap::new();
    for call in calls {
        let sums = CallSums::of(call);
        by_model
            .entry((bucket_of(call.occurred_at), call.model.as_str()))
            .or_default()
            .add(&sums)?;
        by_user_day
            .entry(call.occurred_at.div_euclid(DAY))
            .or_default()
            .add(&sums)?;
        let (max_ms, counts) = latency
            .entry(bucket_of(call.occurred_at))
            .or_insert((0, [0; LATENCY_BUCKETS]));
        *max_ms = (*max_ms).max(call.latency_ms);
        let index = usize::try_from(call.latency_bucket)
            .ok()
            .filter(|&index| index < LATENCY_BUCKETS)
            .ok_or_else(|| StoreError::Invalid("latency bucket out of range".to_owned()))?;
        counts[index] += 1;
    }

    let sums_columns = "requests, prompt_tokens, completion_tokens, cost_micros, latency_sum_ms";
    let add_sums = |table: &str| {
        [
            "requests",
            "prompt_tokens",
            "completion_tokens",
            "cost_micros",
            "latency_sum_ms",
        ]
        .map(|c| format!("{c} = {table}.{c} + excluded.{c}"))
        .join(", ")
    };
    let bind_sums = |query: Query, sums: &CallSums| {
        query
            .bind::<BigInt, _>(sums.requests)
            .bind::<BigInt, _>(sums.prompt_tokens)
            .bind::<BigInt, _>(sums.completion_tokens)
            .bind::<BigInt, _>(sums.cost_micros)
            .bind::<BigInt, _>(sums.latency_sum_ms)
    };

    let rows: Vec<_> = by_model.into_iter().collect();
    for chunk in rows.chunks(MAX_PARAMS / 8) {
        let sql = format!(
            "INSERT INTO navi_usage_by_model (org_id, bucket, model, {sums_columns}) VALUES {} \
             ON CONFLICT (org_id, bucket, model) DO UPDATE SET {}",
            values_list(chunk.len(), 8),
            add_sums("navi_usage_by_model")
        );
        let mut upsert = query(conn, sql);
        for ((bucket, model), sums) in chunk {
            upsert = bind_sums(
                upsert
                    .bind::<Text, _>(scope.org_id().to_owned())
                    .bind::<BigInt, _>(*bucket)
                    .bind::<Text, _>((*model).to_owned()),
                sums,
            );
        }
        upsert.execute(conn)?;
    }

    let rows: Vec<_> = by_user_day.into_iter().collect();
    for chunk in rows.chunks(MAX_PARAMS / 8) {
        let sql = format!(
            "INSERT INTO navi_usage_by_user_day (org_id, day, user_id, {sums_columns}) VALUES {} \
             ON CONFLICT (org_id, day, user_id) DO UPDATE SET {}",
            values_list(chunk.len(), 8),
            add_sums("navi_usage_by_user_day")
        );
        let mut upsert = query(conn, sql);
        for (day, sums) in chunk {
            upsert = bind_sums(
                upsert
                    .bind::<Text, _>(scope.org_id().to_owned())
                    .bind::<BigInt, _>(*day)
                    .bind::<Text, _>(scope.user_id().to_owned()),
                sums,
            );
        }
        upsert.execute(conn)?;
    }

    let histogram_columns: Vec<String> = (0..LATENCY_BUCKETS).map(|i| format!("h{i:02}")).collect();
    let width = 3 + LATENCY_BUCKETS;
    let rows: Vec<_> = latency.into_iter().collect();
    for chunk in rows.chunks(MAX_PARAMS / width) {
        let add_counts: Vec<String> = histogram_columns
            .iter()
            .map(|h| format!("{h} = navi_usage_latency.{h} + excluded.{h}"))
            .collect();
        let sql = format!(
            "INSERT INTO navi_usage_latency (org_id, bucket, max_ms, {}) VALUES {} \
             ON CONFLICT (org_id, bucket) DO UPDATE SET max_ms = {}, {}",
            histogram_columns.join(", "),
            values_list(chunk.len(), width),
            crate::dialect::greatest(conn, "navi_usage_latency.max_ms", "excluded.max_ms"),
            add_counts.join(", ")
        );
        let mut upsert = query(conn, sql);
        for (bucket, (max_ms, counts)) in chunk {
            upsert = upsert
                .bind::<Text, _>(scope.org_id().to_owned())
                .bind::<BigInt, _>(*bucket)
                .bind::<BigInt, _>(*max_ms);
            for count in counts {
                upsert = upsert.bind::<BigInt, _>(*count);
            }
        }
        upsert.execute(conn)?;
    }
    Ok(())
}

/// `($1, ..., $width), ($width+1, ...)`, `rows` times.
fn values_list(rows: usize, width: usize) -> String {
    (0..rows)
        .map(|row| format!("({})", placeholders(row * width + 1, width)))
        .collect::<Vec<_>>()
        .join(", ")
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
    query(
        conn,
        format!(
        "INSERT INTO navi_feedback (id, org_id, user_id, target_id, rating, comment, created_at) \
         VALUES ({})",
        placeholders(1, 7)
    ),
    )
    .bind::<Text, _>(id.clone())
    .bind::<Text, _>(scope.org_id().to_owned())
    .bind::<Text, _>(scope.user_id().to_owned())
    .bind::<Text, _>(target_id.to_owned())
    .bind::<SmallInt, _>(rating)
    .bind::<Nullable<Text>, _>(comment.map(str::to_owned))
    .bind::<BigInt, _>(at)
    .execute(conn)?;
    Ok(id)
}

fn require(scope: &TenantScope, audience: Audience) -> Result<(), StoreError> {
    match audience {
        Audience::OwnUsage => Ok(()),
        Audience::WholeOrg => scope.require(Role::Admin),
    }
}

/// Whether the rollups can answer these segments exactly.
fn rollups_fit(segments: &[TimeSegment]) -> bool {
    segments
        .iter()
        .all(|s| s.start % BUCKET_SECONDS == 0 && s.end % BUCKET_SECONDS == 0)
}

/// The raw-row filter for an audience, with the user bound last (placeholder `$n`).
fn user_filter(audience: Audience, n: usize) -> String {
    match audience {
        Audience::OwnUsage => format!(" AND user_id = ${n}"),
        Audience::WholeOrg => String::new(),
    }
}

fn bind_user(query: Query, scope: &TenantScope, audience: Audience) -> Query {
    match audience {
        Audience::OwnUsage => query.bind::<Text, _>(scope.user_id().to_owned()),
        Audience::WholeOrg => query,
    }
}

const SUMS_SELECT: &str = "CAST(SUM(prompt_tokens) AS BIGINT) AS prompt_tokens, \
     CAST(SUM(completion_tokens) AS BIGINT) AS completion_tokens, \
     CAST(SUM(cost_micros) AS BIGINT) AS cost_micros";

/// Sums per local day and model over the segments.
pub fn day_model_sums(
    scope: &TenantScope,
    conn: &mut DbConnection,
    audience: Audience,
    segments: &[TimeSegment],
) -> Result<Vec<DayModelSums>, StoreError> {
    require(scope, audience)?;
    let from_rollup = audience == Audience::WholeOrg && rollups_fit(segments);
    let mut rows = Vec::new();
    for segment in segments {
        let sql = if from_rollup {
            format!(
                "SELECT (bucket + $1) / {DAY} AS day, model, CAST(SUM(requests) AS BIGINT) AS requests, \
                 {SUMS_SELECT}, CAST(SUM(latency_sum_ms) AS BIGINT) AS latency_sum_ms \
                 FROM navi_usage_by_model WHERE org_id = $2 AND bucket >= $3 AND bucket < $4 \
                 GROUP BY 1, 2"
            )
        } else {
            format!(
                "SELECT (occurred_at + $1) / {DAY} AS day, model, COUNT(*) AS requests, \
                 {SUMS_SELECT}, CAST(SUM(latency_ms) AS BIGINT) AS latency_sum_ms \
                 FROM navi_llm_calls WHERE org_id = $2 AND occurred_at >= $3 AND occurred_at < $4{} \
                 GROUP BY 1, 2",
                user_filter(audience, 5)
            )
        };
        let select = query(conn, sql)
            .bind::<BigInt, _>(segment.offset)
            .bind::<Text, _>(scope.org_id().to_owned())
            .bind::<BigInt, _>(segment.start)
            .bind::<BigInt, _>(segment.end);
        rows.extend(bind_user(select, scope, audience).load::<DayModelSums>(conn)?);
    }
    Ok(rows)
}

macro_rules! histogram_row {
    ($($h:ident),*) => {
        #[derive(QueryableByName)]
        struct HistogramRow {
            #[diesel(sql_type = Nullable<BigInt>)]
            max_ms: Option<i64>,
            $(#[diesel(sql_type = BigInt)] $h: i64,)*
        }
        impl HistogramRow {
            fn counts(&self) -> Vec<i64> {
                vec![$(self.$h),*]
            }
        }
    };
}
histogram_row!(
    h00, h01, h02, h03, h04, h05, h06, h07, h08, h09, h10, h11, h12, h13, h14, h15, h16, h17, h18,
    h19, h20, h21, h22, h23, h24, h25, h26, h27, h28
);

#[derive(QueryableByName)]
struct BucketCount {
    #[diesel(sql_type = SmallInt)]
    latency_bucket: i16,
    #[diesel(sql_type = BigInt)]
    requests: i64,
    #[diesel(sql_type = BigInt)]
    max_ms: i64,
}

/// Calls per latency bucket over the segments.
pub fn latency_counts(
    scope: &TenantScope,
    conn: &mut DbConnection,
    audience: Audience,
    segments: &[TimeSegment],
) -> Result<LatencyCounts, StoreError> {
    require(scope, audience)?;
    let mut total = LatencyCounts {
        counts: vec![0; LATENCY_BUCKETS],
        max_ms: None,
    };
    let add = |bucket: usize, count: i64, max_ms: i64, total: &mut LatencyCounts| {
        total.counts[bucket] += count;
        total.max_ms = Some(total.max_ms.map_or(max_ms, |m| m.max(max_ms)));
    };
    let from_rollup = audience == Audience::WholeOrg && rollups_fit(segments);
    for segment in segments {
        if from_rollup {
            let sums: Vec<String> = (0..LATENCY_BUCKETS)
                .map(|i| format!("COALESCE(CAST(SUM(h{i:02}) AS BIGINT), 0) AS h{i:02}"))
                .collect();
            let sql = format!(
                "SELECT MAX(max_ms) AS max_ms, {} FROM navi_usage_latency \
                 WHERE org_id = $1 AND bucket >= $2 AND bucket < $3",
                sums.join(", ")
            );
            let row: HistogramRow = query(conn, sql)
                .bind::<Text, _>(scope.org_id().to_owned())
                .bind::<BigInt, _>(segment.start)
                .bind::<BigInt, _>(segment.end)
                .get_result(conn)?;
            if let Some(max_ms) = row.max_ms {
                for (bucket, count) in row.counts().into_iter().enumerate() {
                    add(bucket, count, max_ms, &mut total);
                }
            }
        } else {
            let sql = format!(
                "SELECT latency_bucket, COUNT(*) AS requests, MAX(latency_ms) AS max_ms \
                 FROM navi_llm_calls WHERE org_id = $1 AND occurred_at >= $2 AND occurred_at < $3{} \
                 GROUP BY latency_bucket",
                user_filter(audience, 4)
            );
            let select = query(conn, sql)
                .bind::<Text, _>(scope.org_id().to_owned())
                .bind::<BigInt, _>(segment.start)
                .bind::<BigInt, _>(segment.end);
            for row in bind_user(select, scope, audience).load::<BucketCount>(conn)? {
                let bucket = usize::try_from(row.latency_bucket)
                    .ok()
                    .filter(|&bucket| bucket < LATENCY_BUCKETS)
                    .ok_or_else(|| {
                        StoreError::Invalid("stored latency bucket out of range".to_owned())
                    })?;
                add(bucket, row.requests, row.max_ms, &mut total);
            }
        }
    }
    Ok(total)
}

/// Sums per user over the segments (admin+): whole UTC days from the per-user-day rollup, the
/// partial days at the ends from the raw rows.
pub fn user_sums(
    scope: &TenantScope,
    conn: &mut DbConnection,
    segments: &[TimeSegment],
) -> Result<Vec<UserSums>, StoreError> {
    scope.require(Role::Admin)?;
    let mut totals: BTreeMap<String, CallSums> = BTreeMap::new();
    let mut add = |rows: Vec<UserSums>| -> Result<(), StoreError> {
        for row in rows {
            totals
                .entry(row.user_id.clone())
                .or_default()
                .add(&row.sums())?;
        }
        Ok(())
    };
    let raw =
        |conn: &mut DbConnection, start: i64, end: i64| -> Result<Vec<UserSums>, StoreError> {
            let sql = format!(
                "SELECT user_id, COUNT(*) AS requests, {SUMS_SELECT}, \
             CAST(SUM(latency_ms) AS BIGINT) AS latency_sum_ms FROM navi_llm_calls \
             WHERE org_id = $1 AND occurred_at >= $2 AND occurred_at < $3 GROUP BY user_id"
            );
            Ok(query(conn, sql)
                .bind::<Text, _>(scope.org_id().to_owned())
                .bind::<BigInt, _>(start)
                .bind::<BigInt, _>(end)
                .load(conn)?)
        };
    for segment in segments {
        let first_day =
            segment.start.div_euclid(DAY) + i64::from(segment.start.rem_euclid(DAY) != 0);
        let end_day = segment.end.div_euclid(DAY);
        if first_day >= end_day {
            add(raw(conn, segment.start, segment.end)?)?;
            continue;
        }
        add(raw(conn, segment.start, first_day * DAY)?)?;
        let sql = format!(
            "SELECT user_id, CAST(SUM(requests) AS BIGINT) AS requests, {SUMS_SELECT}, \
             CAST(SUM(latency_sum_ms) AS BIGINT) AS latency_sum_ms FROM navi_usage_by_user_day \
             WHERE org_id = $1 AND day >= $2 AND day < $3 GROUP BY user_id"
        );
        add(query(conn, sql)
            .bind::<Text, _>(scope.org_id().to_owned())
            .bind::<BigInt, _>(first_day)
            .bind::<BigInt, _>(end_day)
            .load(conn)?)?;
        add(raw(conn, end_day * DAY, segment.end)?)?;
    }
    Ok(totals
        .into_iter()
        .map(|(user_id, sums)| UserSums {
            user_id,
            requests: sums.requests,
            prompt_tokens: sums.prompt_tokens,
            completion_tokens: sums.completion_tokens,
            cost_micros: sums.cost_micros,
            latency_sum_ms: sums.latency_sum_ms,
        })
        .collect())
}

/// Positive and negative feedback over the segments.
pub fn feedback_counts(
    scope: &TenantScope,
    conn: &mut DbConnection,
    audience: Audience,
    segments: &[TimeSegment],
) -> Result<(i64, i64), StoreError> {
    require(scope, audience)?;
    #[derive(QueryableByName)]
    struct Counts {
        #[diesel(sql_type = BigInt)]
        positive: i64,
        #[diesel(sql_type = BigInt)]
        negative: i64,
    }
    let (mut positive, mut negative) = (0, 0);
    for segment in segments {
        let sql = format!(
            "SELECT COALESCE(CAST(SUM(CASE WHEN rating > 0 THEN 1 ELSE 0 END) AS BIGINT), 0) AS positive, \
             COALESCE(CAST(SUM(CASE WHEN rating < 0 THEN 1 ELSE 0 END) AS BIGINT), 0) AS negative \
             FROM navi_feedback WHERE org_id = $1 AND created_at >= $2 AND created_at < $3{}",
            user_filter(audience, 4)
        );
        let select = query(conn, sql)
            .bind::<Text, _>(scope.org_id().to_owned())
            .bind::<BigInt, _>(segment.start)
            .bind::<BigInt, _>(segment.end);
        let counts: Counts = bind_user(select, scope, audience).get_result(conn)?;
        positive += counts.positive;
        negative += counts.negative;
    }
    Ok((positive, negative))
}
