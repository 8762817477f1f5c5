//! The dashboard read: every sum a dashboard shows, in one statement.
//!
//! Each kind of sum is a *part*: a `SELECT` of the same eight columns (`part, number, name` and
//! five values), and the parts run as one `UNION ALL`. One statement is one round trip, and one
//! snapshot on both backends (PostgreSQL takes a snapshot per statement; SQLite reads a statement
//! in one read transaction), so a batch recorded meanwhile is in every sum or in none.
//!
//! The ranges a part reads travel as one JSON parameter (see [`dialect::pieces_cte`]), so the
//! statement's text depends only on which parts it holds, never on how many ranges they read,
//! and the connection keeps it prepared (see [`Prepared`]).

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

use navi_tenancy::{Backend, DbConnection, StoreError, TenantScope};

use super::{
    histogram_column, require, BucketUses, DayModelSums, LatencyCounts, Sums, UserSums, DAY,
    LATENCY_GRAINS, LATENCY_ROLLUPS, MODEL_GRAINS, MODEL_ROLLUPS, SUM_COLUMNS, USER_GRAIN,
    USER_GRAINS,
};
use super::{narrow_signed, runs_of, Audience};
use crate::grains::{self, Grain, Sign};
use crate::store::dialect;
use crate::store::prepared::{MultiBackend, Prepared};
use crate::sums::WideSums;
use crate::{OffsetSegment, LATENCY_BUCKET_COUNT};

/// Everything a dashboard shows, summed over a set of segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageSums {
    /// Sums per local day and model (only those with calls).
    pub day_models: Vec<DayModelSums>,
    /// Calls per latency bucket.
    pub latency: LatencyCounts,
    /// Sums per user with calls, in no particular order: the whole org's (empty for
    /// [`Audience::OwnUsage`]).
    pub users: Vec<UserSums>,
    /// Positive feedback.
    pub feedback_positive: i64,
    /// Negative feedback.
    pub feedback_negative: i64,
}

/// The sums of the audience's calls and feedback over `segments`, read in one statement.
///
/// - Per local day and model: the whole org's from the rollups. Each local day is cut into UTC
///   days, hours and 15-minute buckets by [`grains::cover`] (raw rows only where a segment does
///   not start or end on a quarter hour), each bucket is read once whatever days it counts for,
///   and the pieces are added up in Rust. One user's come from the raw rows.
/// - Latency: the whole org's from the histogram rollups, over an additive cover of days and
///   15-minute buckets (the largest latency cannot be subtracted), summed in SQL; one user's
///   from the raw rows.
/// - Per user (the whole org, admin+): whole UTC days from the per-user running totals, one row
///   per user minus the row of the day before the range in the same window (see
///   [`grains::running_terms`]). A range that starts or ends within a UTC day takes the shorter
///   way to midnight, adding the time up to the next midnight or subtracting the time since the
///   last one, and the same way to the nearest six-hour boundary: whole blocks of six UTC hours
///   from the six-hour rollup, at most three hours at each end from the raw rows (a day of
///   Asia/Kathmandu, +05:45, starts at 18:15 UTC: the block from 18:00 less 15 minutes of calls).
///   These terms are summed per user in SQL, so each user is one row.
/// - Feedback: from the raw rows.
pub fn usage_sums(
    scope: &TenantScope,
    conn: &mut DbConnection,
    audience: Audience,
    segments: &[OffsetSegment],
) -> Result<UsageSums, StoreError> {
    require(scope, audience)?;
    let Plan {
        parts,
        models,
        latency,
        users,
        feedback,
    } = Plan::new(conn.backend(), scope, audience, segments);
    let mut rows = parts.run(conn)?;
    let (feedback_positive, feedback_negative) = feedback
        .and_then(|part| rows[part].first())
        .map_or((0, 0), |row| (row.values[0], row.values[1]));
    Ok(UsageSums {
        day_models: models.finish(&rows)?,
        latency: latency.finish(&rows)?,
        users: match users {
            Some(users) => users.finish(&mut rows)?,
            None => Vec::new(),
        },
        feedback_positive,
        feedback_negative,
    })
}

/// A dashboard's one statement, planned: its parts, and how each kind of sum reads its rows back.
struct Plan {
    parts: Parts,
    models: ModelRead,
    latency: LatencyRead,
    users: Option<UserRead>,
    feedback: Option<usize>,
}

impl Plan {
    fn new(
        backend: Backend,
        scope: &TenantScope,
        audience: Audience,
        segments: &[OffsetSegment],
    ) -> Plan {
        let mut parts = Parts::new(backend, scope, audience);
        let models = ModelRead::plan(&mut parts, segments);
        let latency = LatencyRead::plan(&mut parts, segments);
        let users = match audience {
            Audience::WholeOrg => Some(UserRead::plan(&mut parts, segments)),
            Audience::OwnUsage => None,
        };
        let feedback = plan_feedback(&mut parts, segments);
        Plan {
            parts,
            models,
            latency,
            users,
            feedback,
        }
    }
}

/// The SQL types of a part's row.
type PartSql = (
    BigInt,
    BigInt,
    Nullable<Text>,
    BigInt,
    BigInt,
    BigInt,
    BigInt,
    BigInt,
);

/// One row of a part: a number (a bucket, a piece's index, a day...), a name (a model, a user)
/// and five values, as the part defines them.
#[derive(Debug)]
struct PartRow {
    part: i64,
    number: i64,
    name: Option<String>,
    values: [i64; 5],
}

impl PartRow {
    fn name(&self) -> Result<&str, StoreError> {
        self.name
            .as_deref()
            .ok_or_else(|| StoreError::Internal("a usage row has no name".to_owned()))
    }

    /// The values as sums: requests, prompt and completion tokens, cost, latency.
    fn sums(&self) -> Sums {
        Sums::from_values(self.values)
    }
}

impl Queryable<PartSql, MultiBackend> for PartRow {
    type Row = (i64, i64, Option<String>, i64, i64, i64, i64, i64);

    fn build((part, number, name, a, b, c, d, e): Self::Row) -> diesel::deserialize::Result<Self> {
        Ok(PartRow {
            part,
            number,
            name,
            values: [a, b, c, d, e],
        })
    }
}

/// The parts of one statement, for one scope and audience.
struct Parts {
    backend: Backend,
    org_id: String,
    user_id: Option<String>,
    selects: Vec<Prepared<PartSql>>,
}

impl Parts {
    fn new(backend: Backend, scope: &TenantScope, audience: Audience) -> Self {
        Parts {
            backend,
            org_id: scope.org_id().to_owned(),
            user_id: match audience {
                Audience::OwnUsage => Some(scope.user_id().to_owned()),
                Audience::WholeOrg => None,
            },
            selects: Vec::new(),
        }
    }

    /// `SELECT` of the part's columns: this part's index, `number`, `name` and `values`.
    fn select(&self, number: &str, name: &str, values: &[impl AsRef<str>; 5]) -> String {
        let values: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, value)| format!("CAST({} AS BIGINT) AS v{i}", value.as_ref()))
            .collect();
        format!(
            "SELECT CAST({} AS BIGINT) AS part, CAST({number} AS BIGINT) AS number, \
             CAST({name} AS TEXT) AS name, {}",
            self.selects.len(),
            values.join(", ")
        )
    }

    /// Adds a part that reads the audience's rows of `table` whose `time_column` lies in one of
    /// `ranges`, as `t` (with `columns`) beside its range as `pieces (id, lo, hi)`, the id its
    /// index: `select` makes the rest of the statement from the `FROM` clause. Returns the
    /// part's index, or `None` (and adds nothing) without ranges.
    fn add_ranges(
        &mut self,
        source: (&str, &str, &str),
        ranges: &[(i64, i64)],
        select: impl FnOnce(&Self, &str) -> String,
    ) -> Option<usize> {
        let pieces: Vec<(i64, i64, i64)> = (0..)
            .zip(ranges)
            .map(|(id, (lo, hi))| (id, *lo, *hi))
            .collect();
        self.add_pieces(source, &pieces, select)
    }

    /// [`Parts::add_ranges`] with the pieces' ids given: `(id, lo, hi)`.
    fn add_pieces(
        &mut self,
        source: (&str, &str, &str),
        pieces: &[(i64, i64, i64)],
        select: impl FnOnce(&Self, &str) -> String,
    ) -> Option<usize> {
        let statement = self.ranges_statement(source, pieces, select)?;
        Some(self.push(statement))
    }

    /// The statement [`Parts::add_pieces`] adds, not added.
    fn ranges_statement(
        &self,
        (table, time_column, columns): (&str, &str, &str),
        pieces: &[(i64, i64, i64)],
        select: impl FnOnce(&Self, &str) -> String,
    ) -> Option<Prepared<PartSql>> {
        if pieces.is_empty() {
            return None;
        }
        let user_filter = if self.user_id.is_some() {
            " AND user_id = $3"
        } else {
            ""
        };
        let from = dialect::each_range(self.backend, columns, table, time_column, user_filter);
        let sql = format!(
            "{} {}",
            dialect::pieces_cte(self.backend),
            select(self, &from)
        );
        let pieces: Vec<String> = pieces
            .iter()
            .map(|(id, lo, hi)| format!("[{id},{lo},{hi}]"))
            .collect();
        let mut statement = Prepared::new(&sql)
            .bind::<Text, _>(format!("[{}]", pieces.join(",")))
            .bind::<Text, _>(self.org_id.clone());
        if let Some(user_id) = &self.user_id {
            statement = statement.bind::<Text, _>(user_id.clone());
        }
        Some(statement)
    }

    fn push(&mut self, statement: Prepared<PartSql>) -> usize {
        self.selects.push(statement);
        self.selects.len() - 1
    }

    /// Runs the parts as one statement; returns each part's rows.
    fn run(self, conn: &mut DbConnection) -> Result<Vec<Vec<PartRow>>, StoreError> {
        let mut rows: Vec<Vec<PartRow>> = (0..self.selects.len()).map(|_| Vec::new()).collect();
        if let Some(statement) = self.statement() {
            for row in statement.load::<PartRow>(conn)? {
                let part = usize::try_from(row.part)
                    .ok()
                    .filter(|part| *part < rows.len())
                    .ok_or_else(|| StoreError::Internal(format!("no part {}", row.part)))?;
                rows[part].push(row);
            }
        }
        Ok(rows)
    }
}

impl Parts {
    /// The parts as one statement, `None` without parts.
    fn statement(self) -> Option<Prepared<PartSql>> {
        Prepared::union_all(self.selects)
    }
}

/// The five sums of the rows of `t`, for a `GROUP BY`.
const SUMMED: [&str; 5] = [
    "COUNT(*)",
    "SUM(t.prompt_tokens)",
    "SUM(t.completion_tokens)",
    "SUM(t.cost_micros)",
    "SUM(t.latency_ms)",
];

/// The five sums columns of a rollup row `t`.
fn stored_sums() -> [String; 5] {
    SUM_COLUMNS.map(|column| format!("t.{column}"))
}

/// Distinct raw ranges and what each counts for.
struct RawUses<K> {
    ranges: Vec<(i64, i64)>,
    uses: Vec<Vec<(K, Sign)>>,
}

impl<K> Default for RawUses<K> {
    fn default() -> Self {
        RawUses {
            ranges: Vec::new(),
            uses: Vec::new(),
        }
    }
}

impl<K> RawUses<K> {
    fn add(&mut self, piece: &grains::Piece, key: K) {
        let range = (piece.start, piece.end);
        let index = match self.ranges.iter().position(|r| *r == range) {
            Some(index) => index,
            None => {
                self.ranges.push(range);
                self.uses.push(Vec::new());
                self.ranges.len() - 1
            }
        };
        self.uses[index].push((key, piece.sign));
    }

    fn of(&self, index: i64) -> Result<&[(K, Sign)], StoreError> {
        usize::try_from(index)
            .ok()
            .and_then(|index| self.uses.get(index))
            .map(Vec::as_slice)
            .ok_or_else(|| StoreError::Internal(format!("range {index} was not asked for")))
    }
}

/// The rows of `part`, none if it was not added.
fn rows_of(rows: &[Vec<PartRow>], part: Option<usize>) -> &[PartRow] {
    part.and_then(|part| rows.get(part))
        .map_or(&[], Vec::as_slice)
}

/// Sums per local day and model.
enum ModelRead {
    /// The whole org's, from the rollups (and raw rows at unaligned edges).
    Rollups {
        rollups: Vec<(Option<usize>, RollupUses)>,
        raw: (Option<usize>, RawUses<i64>),
    },
    /// One user's, from the raw rows: the part's `number` is the local day.
    Raw(Option<usize>),
}

impl ModelRead {
    fn plan(parts: &mut Parts, segments: &[OffsetSegment]) -> Self {
        if parts.user_id.is_some() {
            // A piece's id is the offset of its segment: local day = (UTC + offset) / day.
            let pieces: Vec<(i64, i64, i64)> = segments
                .iter()
                .map(|s| (s.offset, s.start, s.end))
                .collect();
            let day = format!("(t.occurred_at + pieces.id) / {DAY}");
            let part = parts.add_pieces(
                (
                    "navi_llm_calls",
                    "occurred_at",
                    "occurred_at, model, prompt_tokens, completion_tokens, cost_micros, latency_ms",
                ),
                &pieces,
                |parts, from| {
                    format!(
                        "{} FROM {from} GROUP BY {day}, t.model",
                        parts.select(&day, "t.model", &SUMMED)
                    )
                },
            );
            return ModelRead::Raw(part);
        }
        let mut rollups: Vec<(Grain, &str, BucketUses<i64>)> = MODEL_ROLLUPS
            .iter()
            .map(|(grain, table)| (*grain, *table, BucketUses::new(*grain)))
            .collect();
        let mut raw = RawUses::default();
        for part in grains::local_day_parts(segments) {
            for piece in grains::cover(part.start, part.end, &MODEL_GRAINS, true) {
                match rollups
                    .iter_mut()
                    .find(|(grain, _, _)| *grain == piece.grain)
                {
                    Some((_, _, uses)) => uses.add(&piece, &part.day),
                    None => raw.add(&piece, part.day),
                }
            }
        }
        let stored = stored_sums();
        let summed_stored = SUM_COLUMNS.map(|column| format!("SUM(t.{column})"));
        let columns = format!("bucket, model, {}", SUM_COLUMNS.join(", "));
        let rollups = rollups
            .into_iter()
            .map(|(grain, table, uses)| {
                let source = (table, "bucket", columns.as_str());
                if grain == Grain::Day {
                    // Each day counts for its own local days: its rows are read as stored.
                    let part = parts.add_ranges(
                        source,
                        &runs_of(&uses.buckets(), grain.seconds()),
                        |parts, from| {
                            format!(
                                "{} FROM {from}",
                                parts.select("t.bucket", "t.model", &stored)
                            )
                        },
                    );
                    return (part, RollupUses::Buckets(uses));
                }
                // The hours or quarters at a local day's edge count alike (a day of
                // Asia/Kathmandu subtracts six hours for itself that the next day adds): each run
                // of them is summed per model in SQL, a row per run and model.
                let runs = uses.uniform_runs();
                let part = parts.add_ranges(source, &runs.ranges, |parts, from| {
                    format!(
                        "{} FROM {from} GROUP BY pieces.id, t.model",
                        parts.select("pieces.id", "t.model", &summed_stored)
                    )
                });
                (part, RollupUses::Runs(runs))
            })
            .collect();
        let raw_part = add_raw_sums(parts, "model", &raw.ranges);
        ModelRead::Rollups {
            rollups,
            raw: (raw_part, raw),
        }
    }

    fn finish<'r>(self, rows: &'r [Vec<PartRow>]) -> Result<Vec<DayModelSums>, StoreError> {
        // Keyed by the rows' own names: a model's name is copied once, not once per row.
        let mut totals: BTreeMap<(i64, &str), WideSums> = BTreeMap::new();
        match self {
            ModelRead::Raw(part) => {
                for row in rows_of(rows, part) {
                    totals
                        .entry((row.number, row.name()?))
                        .or_default()
                        .add_times(&row.sums(), Sign::Add.times().into());
                }
            }
            ModelRead::Rollups { rollups, raw } => {
                let mut apply =
                    |row: &'r PartRow, uses: &[(i64, Sign)]| -> Result<(), StoreError> {
                        for (day, sign) in uses {
                            totals
                                .entry((*day, row.name()?))
                                .or_default()
                                .add_times(&row.sums(), sign.times().into());
                        }
                        Ok(())
                    };
                for (part, uses) in &rollups {
                    for row in rows_of(rows, *part) {
                        let uses = match uses {
                            RollupUses::Buckets(uses) => uses.of(row.number)?,
                            RollupUses::Runs(runs) => runs.of(row.number)?,
                        };
                        apply(row, uses)?;
                    }
                }
                for row in rows_of(rows, raw.0) {
                    apply(row, raw.1.of(row.number)?)?;
                }
            }
        }
        let mut day_models = Vec::new();
        for ((day, model), signed) in totals {
            let sums = narrow_signed(&signed)?;
            if sums.requests > 0 {
                day_models.push(DayModelSums {
                    day,
                    model: model.to_owned(),
                    sums,
                });
            }
        }
        Ok(day_models)
    }
}

/// What the rows of a rollup count for.
enum RollupUses {
    /// A row per bucket: its `number` is the bucket.
    Buckets(BucketUses<i64>),
    /// A row per run of buckets that count alike: its `number` is the run's index.
    Runs(RawUses<i64>),
}

impl<K: Clone + PartialEq> BucketUses<K> {
    /// The runs of adjacent buckets that count for the same totals with the same signs, each
    /// as its range and those uses.
    fn uniform_runs(&self) -> RawUses<K> {
        let size = self.grain.seconds();
        let mut runs = RawUses::default();
        for (bucket, uses) in &self.uses {
            match (runs.ranges.last_mut(), runs.uses.last()) {
                (Some(last), Some(last_uses)) if last.1 == *bucket && last_uses == uses => {
                    last.1 += size;
                }
                _ => {
                    runs.ranges.push((*bucket, bucket + size));
                    runs.uses.push(uses.clone());
                }
            }
        }
        runs
    }
}

/// Adds a part that sums the audience's raw calls in each of `ranges` per `key_column` (`model`
/// or `user_id`); a row's `number` is the index of its range.
fn add_raw_sums(parts: &mut Parts, key_column: &str, ranges: &[(i64, i64)]) -> Option<usize> {
    let columns =
        format!("{key_column}, prompt_tokens, completion_tokens, cost_micros, latency_ms");
    let key = format!("t.{key_column}");
    parts.add_ranges(
        ("navi_llm_calls", "occurred_at", &columns),
        ranges,
        |parts, from| {
            format!(
                "{} FROM {from} GROUP BY pieces.id, {key}",
                parts.select("pieces.id", &key, &SUMMED)
            )
        },
    )
}

/// Calls per latency bucket.
struct LatencyRead {
    /// Parts whose rows are `(bucket, count, largest latency)`.
    parts: Vec<Option<usize>>,
}

impl LatencyRead {
    fn plan(parts: &mut Parts, segments: &[OffsetSegment]) -> Self {
        let (rollup_pieces, raw_pieces): (Vec<grains::Piece>, Vec<grains::Piece>) =
            if parts.user_id.is_some() {
                let raw = segments
                    .iter()
                    .map(|s| grains::Piece {
                        grain: Grain::Raw,
                        start: s.start,
                        end: s.end,
                        sign: Sign::Add,
                    })
                    .collect();
                (Vec::new(), raw)
            } else {
                grains::merged_ranges(segments)
                    .into_iter()
                    .flat_map(|(start, end)| grains::cover(start, end, &LATENCY_GRAINS, false))
                    .partition(|piece| piece.grain != Grain::Raw)
            };
        let ranges_of = |pieces: &[grains::Piece], grain: Grain| -> Vec<(i64, i64)> {
            pieces
                .iter()
                .filter(|piece| piece.grain == grain)
                .map(|piece| (piece.start, piece.end))
                .collect()
        };
        let histogram: Vec<String> = (0..LATENCY_BUCKET_COUNT).map(histogram_column).collect();
        let summed: Vec<String> = histogram
            .iter()
            .map(|h| format!("COALESCE(SUM(t.{h}), 0) AS {h}"))
            .collect();
        let count: Vec<String> = histogram
            .iter()
            .enumerate()
            .map(|(i, h)| format!("WHEN {i} THEN {h}"))
            .collect();
        // The bucket numbers as rows `i`, in SQL both backends read alike.
        let buckets: Vec<String> = (0..LATENCY_BUCKET_COUNT)
            .map(|i| format!("SELECT {i} AS i"))
            .collect();
        let mut added = Vec::new();
        // The pieces of an additive cover do not overlap: each is read once as it is. The
        // histogram rows are summed in SQL, then turned into one row per bucket.
        for (grain, table) in LATENCY_ROLLUPS {
            let columns = format!("max_ms, {}", histogram.join(", "));
            added.push(parts.add_ranges(
                (table, "bucket", &columns),
                &ranges_of(&rollup_pieces, grain),
                |parts, from| {
                    let count = format!("CASE buckets.i {} END", count.join(" "));
                    format!(
                        "{} FROM (SELECT COALESCE(MAX(t.max_ms), 0) AS max_ms, {} FROM {from}) \
                         AS summed CROSS JOIN ({}) AS buckets",
                        parts.select(
                            "buckets.i",
                            "NULL",
                            &[&count, "summed.max_ms", "0", "0", "0"]
                        ),
                        summed.join(", "),
                        buckets.join(" UNION ALL "),
                    )
                },
            ));
        }
        added.push(parts.add_ranges(
            (
                "navi_llm_calls",
                "occurred_at",
                "latency_bucket, latency_ms",
            ),
            &ranges_of(&raw_pieces, Grain::Raw),
            |parts, from| {
                format!(
                    "{} FROM {from} GROUP BY t.latency_bucket",
                    parts.select(
                        "t.latency_bucket",
                        "NULL",
                        &["COUNT(*)", "MAX(t.latency_ms)", "0", "0", "0"]
                    )
                )
            },
        ));
        LatencyRead { parts: added }
    }

    fn finish(self, rows: &[Vec<PartRow>]) -> Result<LatencyCounts, StoreError> {
        let mut total = LatencyCounts {
            counts: vec![0; LATENCY_BUCKET_COUNT],
            max_ms: None,
        };
        for part in self.parts {
            for row in rows_of(rows, part) {
                let [count, max_ms, ..] = row.values;
                if count == 0 {
                    continue;
                }
                let slot = usize::try_from(row.number)
                    .ok()
                    .and_then(|bucket| total.counts.get_mut(bucket))
                    .ok_or_else(|| {
                        StoreError::Internal("stored latency bucket out of range".to_owned())
                    })?;
                *slot = slot.checked_add(count).ok_or_else(|| {
                    StoreError::Internal("the latency counts exceed 64-bit integers".to_owned())
                })?;
                total.max_ms = Some(total.max_ms.map_or(max_ms, |m| m.max(max_ms)));
            }
        }
        Ok(total)
    }
}

/// Sums per user (the whole org).
struct UserRead {
    /// The part of each user's sums, if the range holds anything.
    part: Option<usize>,
}

impl UserRead {
    fn plan(parts: &mut Parts, segments: &[OffsetSegment]) -> Self {
        let pieces: Vec<grains::Piece> = grains::merged_ranges(segments)
            .into_iter()
            .flat_map(|(start, end)| grains::cover(start, end, &USER_GRAINS, true))
            .collect();
        // Terms, each of the columns `name` (the user) and five signed values: the running
        // terms, then the six-hour blocks and the raw edges, each as often as its pieces say.
        let mut terms: Vec<(Prepared<PartSql>, Sign)> = Vec::new();
        let mut blocks = BucketUses::new(USER_GRAIN);
        let mut raw = RawUses::default();
        for piece in pieces {
            match piece.grain {
                Grain::Day => {
                    let first_day = piece.start.div_euclid(DAY);
                    let end_day = piece.end.div_euclid(DAY);
                    for term in grains::running_terms(first_day, end_day) {
                        let select = |values: &[String; 5]| term_select(piece.sign, values);
                        terms.push((running_term(&parts.org_id, &term, select), piece.sign));
                    }
                }
                Grain::SixHours => blocks.add(&piece, &()),
                Grain::Hour | Grain::QuarterHour | Grain::Raw => raw.add(&piece, ()),
            }
        }
        if let [(_, Sign::Add)] = terms.as_slice() {
            if blocks.uses.is_empty() && raw.ranges.is_empty() {
                // Whole UTC days within one window (a month in UTC): one row per user, read as
                // stored, is the answer.
                let (term, _) = terms.remove(0);
                return UserRead::per_user(parts, term);
            }
        }
        let block_buckets = blocks
            .uses
            .iter()
            .map(|(bucket, uses)| ((*bucket, *bucket + USER_GRAIN.seconds()), uses.as_slice()));
        let raw_ranges = raw
            .ranges
            .iter()
            .copied()
            .zip(raw.uses.iter().map(Vec::as_slice));
        let columns = format!("user_id, {}", SUM_COLUMNS.join(", "));
        let stored = stored_sums();
        let raw_values = [
            "1".to_owned(),
            "t.prompt_tokens".to_owned(),
            "t.completion_tokens".to_owned(),
            "t.cost_micros".to_owned(),
            "t.latency_ms".to_owned(),
        ];
        for (source, values, ranges) in [
            (
                ("navi_usage_user_6h", "bucket", columns.as_str()),
                &stored,
                net_ranges(block_buckets),
            ),
            (
                (
                    "navi_llm_calls",
                    "occurred_at",
                    "user_id, prompt_tokens, completion_tokens, cost_micros, latency_ms",
                ),
                &raw_values,
                net_ranges(raw_ranges),
            ),
        ] {
            for (sign, ranges) in ranges {
                let pieces: Vec<(i64, i64, i64)> =
                    ranges.into_iter().map(|(lo, hi)| (0, lo, hi)).collect();
                let term = parts.ranges_statement(source, &pieces, |_, from| {
                    format!("{} FROM {from}", term_select(sign, values))
                });
                terms.extend(term.map(|term| (term, sign)));
            }
        }
        let statements = terms.into_iter().map(|(term, _)| term).collect();
        let Some(union) = Prepared::union_all(statements) else {
            return UserRead { part: None };
        };
        // Summed per user in SQL: a user's terms are several rows (four for a month of
        // Asia/Kathmandu), and the database adds them up faster than they travel and decode.
        // PostgreSQL sums into `numeric` and SQLite fails on an overflow, so the sums are exact
        // or an error; the values are non-negative sums of calls once added up.
        let sums: Vec<String> = (0..5)
            .map(|i| format!("CAST(SUM(u.v{i}) AS BIGINT) AS v{i}"))
            .collect();
        let per_user = union.wrap(
            &format!("SELECT u.name AS name, {} FROM (", sums.join(", ")),
            ") AS u GROUP BY u.name HAVING SUM(u.v0) <> 0",
        );
        UserRead::per_user(parts, per_user)
    }

    /// Adds the part that reads the rows of `per_user` (columns `name` and `v0`..`v4`): a row per
    /// user, the id as `name` and the sums as values.
    fn per_user(parts: &mut Parts, per_user: Prepared<PartSql>) -> Self {
        let part = parts.selects.len();
        let statement = per_user.wrap(
            &format!(
                "SELECT CAST({part} AS BIGINT) AS part, CAST(0 AS BIGINT) AS number, \
                 CAST(u.name AS TEXT) AS name, u.v0, u.v1, u.v2, u.v3, u.v4 FROM ("
            ),
            ") AS u",
        );
        UserRead {
            part: Some(parts.push(statement)),
        }
    }

    /// The users' sums, which are sums of calls once their terms are added up: a negative one
    /// means the rollups disagree ([`StoreError::Internal`]).
    fn finish(self, rows: &mut [Vec<PartRow>]) -> Result<Vec<UserSums>, StoreError> {
        let Some(rows) = self.part.and_then(|part| rows.get_mut(part)) else {
            return Ok(Vec::new());
        };
        std::mem::take(rows)
            .into_iter()
            .map(|row| {
                if row.values.iter().any(|value| *value < 0) {
                    return Err(StoreError::Internal(format!(
                        "the rollups disagree with each other: a user's sums are {:?}",
                        row.values
                    )));
                }
                Ok(UserSums {
                    user_id: row.name()?.to_owned(),
                    sums: row.sums(),
                })
            })
            .collect()
    }
}

/// `SELECT` of a term of the per-user sums: the user as `name`, and `values` as `v0`..`v4`,
/// negated when `sign` subtracts.
fn term_select(sign: Sign, values: &[String; 5]) -> String {
    let minus = match sign {
        Sign::Add => "",
        Sign::Subtract => "-",
    };
    let values: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, value)| format!("CAST({minus}({value}) AS BIGINT) AS v{i}"))
        .collect();
    format!(
        "SELECT CAST(t.user_id AS TEXT) AS name, {}",
        values.join(", ")
    )
}

/// The ranges to add and the ranges to subtract, from ranges and the signs they count with:
/// a range counts as often as its signs add up to, so one counted twice is listed twice.
fn net_ranges<'u>(
    ranges: impl Iterator<Item = ((i64, i64), &'u [((), Sign)])>,
) -> [(Sign, Vec<(i64, i64)>); 2] {
    let mut added = Vec::new();
    let mut subtracted = Vec::new();
    for (range, uses) in ranges {
        let count: i64 = uses.iter().map(|(_, sign)| sign.times()).sum();
        let list: &mut Vec<(i64, i64)> = if count > 0 {
            &mut added
        } else {
            &mut subtracted
        };
        for _ in 0..count.unsigned_abs() {
            // Ranges that meet are read as one.
            match list.last_mut() {
                Some(last) if last.1 == range.0 => last.1 = range.1,
                _ => list.push(range),
            }
        }
    }
    [(Sign::Add, added), (Sign::Subtract, subtracted)]
}

/// Each user's sums over the days of one running term, selected by `select` from five values:
/// their row of `(window, through)` minus their row of `(window, before)`. A user with a row on
/// `before` has one on `through` (rows go on to the window's end), so a left join from `through`
/// finds everyone.
fn running_term(
    org_id: &str,
    term: &grains::RunningTerm,
    select: impl FnOnce(&[String; 5]) -> String,
) -> Prepared<PartSql> {
    match term.before {
        Some(before) => {
            let difference = SUM_COLUMNS.map(|c| format!("t.{c} - COALESCE(b.{c}, 0)"));
            // The join's key is the user alone: both sides are one (org, window, day) each.
            let sql = format!(
                "{} FROM navi_usage_user_running_1d t \
                 LEFT JOIN navi_usage_user_running_1d b ON b.org_id = $1 \
                 AND b.window_start = $2 AND b.day = $3 AND b.user_id = t.user_id \
                 WHERE t.org_id = $4 AND t.window_start = $5 AND t.day = $6 \
                 AND t.requests > COALESCE(b.requests, 0)",
                select(&difference)
            );
            Prepared::new(&sql)
                .bind::<Text, _>(org_id.to_owned())
                .bind::<BigInt, _>(term.window)
                .bind::<BigInt, _>(before)
                .bind::<Text, _>(org_id.to_owned())
                .bind::<BigInt, _>(term.window)
                .bind::<BigInt, _>(term.through)
        }
        None => {
            let sql = format!(
                "{} FROM navi_usage_user_running_1d t \
                 WHERE t.org_id = $1 AND t.window_start = $2 AND t.day = $3",
                select(&stored_sums())
            );
            Prepared::new(&sql)
                .bind::<Text, _>(org_id.to_owned())
                .bind::<BigInt, _>(term.window)
                .bind::<BigInt, _>(term.through)
        }
    }
}

/// Adds a part of the audience's positive and negative feedback over the segments (their
/// ranges, offsets aside).
fn plan_feedback(parts: &mut Parts, segments: &[OffsetSegment]) -> Option<usize> {
    parts.add_ranges(
        ("navi_feedback", "created_at", "rating"),
        &grains::merged_ranges(segments),
        |parts, from| {
            format!(
                "{} FROM {from}",
                parts.select(
                    "0",
                    "NULL",
                    &[
                        "COALESCE(SUM(CASE WHEN t.rating > 0 THEN 1 ELSE 0 END), 0)",
                        "COALESCE(SUM(CASE WHEN t.rating < 0 THEN 1 ELSE 0 END), 0)",
                        "0",
                        "0",
                        "0",
                    ]
                )
            )
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SQL an org dashboard of 30 days runs on `backend` in `zone`, laid out one part, one
    /// clause per line.
    fn org_dashboard_sql(backend: Backend, zone: chrono_tz::Tz) -> String {
        let from = chrono::NaiveDate::from_ymd_opt(2026, 10, 1).expect("a date");
        let to = chrono::NaiveDate::from_ymd_opt(2026, 10, 30).expect("a date");
        let query = crate::DashboardQuery::new(from, to, zone).expect("a query");
        let scope = TenantScope::for_tests("org_golden", "usr_golden", navi_tenancy::Role::Admin);
        let plan = Plan::new(backend, &scope, Audience::WholeOrg, query.offset_segments());
        let sql = plan.parts.statement().expect("parts").sql();
        let mut laid_out = format!(
            "-- The org dashboard's one statement, 30 days in {zone}, on {backend:?}: the SQL that\n\
             -- runs, written by `NAVI_BLESS=1 cargo test -p navi-analytics golden` (`$n` marks a\n\
             -- bound value).\n"
        );
        let mut previous = "";
        for word in sql.split(' ').filter(|word| !word.is_empty()) {
            let starts_line = match word {
                "JOIN" => !matches!(previous, "CROSS" | "LEFT"),
                "WITH" | "SELECT" | "FROM" | "LEFT" | "CROSS" | "WHERE" | "GROUP" | "UNION" => true,
                _ => false,
            };
            previous = word;
            if starts_line && !laid_out.ends_with('\n') && !laid_out.ends_with('(') {
                laid_out.push('\n');
            } else if !laid_out.ends_with('\n') {
                laid_out.push(' ');
            }
            laid_out.push_str(word);
        }
        laid_out.push('\n');
        laid_out
    }

    /// The SQL of a UTC and an Asia/Kathmandu org dashboard on both backends, as committed under
    /// `golden/`, so that reviewers read the SQL that runs and see every change to it.
    /// `NAVI_BLESS=1 cargo test -p navi-analytics golden` rewrites the files after a change.
    #[test]
    fn the_org_dashboard_sql_is_the_golden_sql() {
        let golden = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("golden");
        for (backend, backend_name) in
            [(Backend::Postgres, "postgres"), (Backend::Sqlite, "sqlite")]
        {
            for (zone, zone_name) in [
                (chrono_tz::UTC, "utc"),
                (chrono_tz::Asia::Kathmandu, "asia-kathmandu"),
            ] {
                let sql = org_dashboard_sql(backend, zone);
                let path = golden.join(format!("org-dashboard-{zone_name}.{backend_name}.sql"));
                if std::env::var_os("NAVI_BLESS").is_some() {
                    std::fs::create_dir_all(&golden).expect("golden/ can be made");
                    std::fs::write(&path, &sql).expect("golden file written");
                }
                let expected = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("{}: {e} (NAVI_BLESS=1 writes it)", path.display()));
                assert!(
                    sql == expected,
                    "{} differs from the SQL that runs (NAVI_BLESS=1 rewrites it):\n{sql}",
                    path.display()
                );
            }
        }
    }

    #[test]
    fn users_read_back_as_their_sums_and_a_negative_one_is_internal() {
        let row = |values: [i64; 5]| PartRow {
            part: 0,
            number: 0,
            name: Some("usr_a1".to_owned()),
            values,
        };
        let mut rows = vec![vec![row([3, 40, 5, 6_000_000_000, 70])]];
        let users = UserRead { part: Some(0) }.finish(&mut rows).unwrap();
        assert_eq!(
            users,
            [UserSums {
                user_id: "usr_a1".to_owned(),
                sums: Sums {
                    requests: 3,
                    prompt_tokens: 40,
                    completion_tokens: 5,
                    cost_micros: 6_000_000_000,
                    latency_sum_ms: 70,
                },
            }]
        );
        let mut rows = vec![vec![row([1, -2, 3, 4, 5])]];
        assert!(matches!(
            UserRead { part: Some(0) }.finish(&mut rows),
            Err(StoreError::Internal(_))
        ));
    }

    #[test]
    fn buckets_make_one_run_only_while_adjacent_and_counting_alike() {
        const HOUR: i64 = 3600;
        let piece = |start: i64, hours: i64, sign: Sign| grains::Piece {
            grain: Grain::Hour,
            start: start * HOUR,
            end: (start + hours) * HOUR,
            sign,
        };
        let mut uses = BucketUses::new(Grain::Hour);
        // Hours 0..3 count for day 1; hours 3..5 for day 1 and, subtracted, for day 2; hours
        // 7..8 (after a gap) for day 2.
        uses.add(&piece(0, 5, Sign::Add), &1);
        uses.add(&piece(3, 2, Sign::Subtract), &2);
        uses.add(&piece(7, 1, Sign::Add), &2);
        let runs = uses.uniform_runs();
        assert_eq!(
            runs.ranges,
            [(0, 3 * HOUR), (3 * HOUR, 5 * HOUR), (7 * HOUR, 8 * HOUR)]
        );
        assert_eq!(
            runs.uses,
            [
                vec![(1, Sign::Add)],
                vec![(1, Sign::Add), (2, Sign::Subtract)],
                vec![(2, Sign::Add)],
            ]
        );
    }
}
