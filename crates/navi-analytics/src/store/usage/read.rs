//! The dashboard read: four typed queries, one per kind of sum, in one read-only snapshot.
//!
//! | query | rows | from |
//! |---|---|---|
//! | [`Reader::day_models`] | [`PieceRow`]s of models, added up per local day | model rollups (15 min, hour, day) and raw calls |
//! | [`Reader::latency`] | one [`LatencyCounts`] | latency histograms (15 min, day) and raw calls |
//! | [`Reader::users`] | [`PieceRow`]s of users, added up per user | per-user running totals, six-hour rollup and raw calls |
//! | [`Reader::feedback`] | one `(positive, negative)` | raw feedback |
//!
//! Each query reads *pieces*: ranges of one table, cut by [`grains::cover`] so that their sums,
//! each added or subtracted, are exactly the sums of the range. A piece is read once however
//! many local days it counts for (the six hours a day of Asia/Kathmandu subtracts at its end are
//! the six the next day adds at its start). The pieces of a table travel as one JSON value
//! ([`dialect::pieces`]), so a query's text depends only on the backend and the audience, and
//! the connection keeps it prepared. The database selects rows (and sums the raw calls of a
//! piece); Rust adds the pieces up, in 128-bit integers, as [`Pieces`] says each counts.
//!
//! One user's usage ([`Audience::OwnUsage`]) is read from the raw calls only: a user's calls are
//! few, and the index `(org_id, user_id, occurred_at)` holds them.
//!
//! `golden/` holds the SQL of an org dashboard, as this module writes it, on both backends.

use std::collections::BTreeMap;

use diesel::deserialize::{self, Queryable, QueryableByName};
use diesel::prelude::*;
use diesel::row::NamedRow;
use diesel::sql_types::{BigInt, Text};

use navi_tenancy::{Backend, DbConnection, StoreError, TenantScope};

use super::{
    require, Audience, DayModelSums, LatencyCounts, UserSums, DAY, HISTOGRAM_COLUMNS,
    LATENCY_GRAINS, LATENCY_ROLLUPS, MODEL_GRAINS, MODEL_ROLLUPS, SUM_COLUMNS, USER_GRAINS,
};
use crate::grains::{self, Grain};
use crate::store::dialect;
use crate::store::sql::{MultiBackend, Sql};
use crate::sums::WideSums;
use crate::{OffsetSegment, Sums};

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

/// The sums of the audience's calls and feedback over `segments`, read in one read-only snapshot
/// (see [`navi_tenancy::snapshot_transaction`]): a batch recorded meanwhile is in every sum or in
/// none.
pub fn usage_sums(
    scope: &TenantScope,
    conn: &mut DbConnection,
    audience: Audience,
    segments: &[OffsetSegment],
) -> Result<UsageSums, StoreError> {
    require(scope, audience)?;
    let reader = Reader::new(conn.backend(), scope, audience);
    navi_tenancy::snapshot_transaction(conn, |conn| {
        dialect::plan_once(conn)?;
        let (statement, pieces) = reader.day_models(segments);
        let rows: Vec<PieceRow> = statement.load(conn)?;
        let day_models = pieces
            .add_up(rows)?
            .into_iter()
            .map(|((day, model), sums)| DayModelSums { day, model, sums })
            .collect();
        let latency = reader.latency(segments).get_result(conn)?;
        let users = match audience {
            Audience::WholeOrg => {
                let (statement, pieces) = reader.users(segments);
                let rows: Vec<PieceRow> = statement.load(conn)?;
                pieces
                    .add_up(rows)?
                    .into_iter()
                    .map(|((_, user_id), sums)| UserSums { user_id, sums })
                    .collect()
            }
            Audience::OwnUsage => Vec::new(),
        };
        let (feedback_positive, feedback_negative) = reader.feedback(segments).get_result(conn)?;
        Ok(UsageSums {
            day_models,
            latency,
            users,
            feedback_positive,
            feedback_negative,
        })
    })
}

/// A row of a piece: its id, a model or a user, and sums.
#[derive(Debug, Queryable)]
struct PieceRow {
    piece: i64,
    key: String,
    sums: Sums,
}

/// The SQL types of a [`PieceRow`].
type PieceRowSql = (BigInt, Text, SumsSql);

/// The SQL types of [`Sums`]' five columns, in their order.
type SumsSql = (BigInt, BigInt, BigInt, BigInt, BigInt);

impl Queryable<SumsSql, MultiBackend> for Sums {
    type Row = (i64, i64, i64, i64, i64);

    fn build(values: Self::Row) -> deserialize::Result<Self> {
        Ok(Sums::from_values(values.into()))
    }
}

/// Read by name: its 30 columns are more than a tuple holds.
impl QueryableByName<MultiBackend> for LatencyCounts {
    fn build<'a>(row: &impl NamedRow<'a, MultiBackend>) -> deserialize::Result<Self> {
        let max_ms = NamedRow::get::<BigInt, i64>(row, "max_ms")?;
        let counts = HISTOGRAM_COLUMNS
            .iter()
            .map(|column| NamedRow::get::<BigInt, i64>(row, column))
            .collect::<deserialize::Result<Vec<i64>>>()?;
        let any = counts.iter().any(|count| *count != 0);
        Ok(LatencyCounts {
            counts,
            max_ms: any.then_some(max_ms),
        })
    }
}

/// The five sums of a rollup row `t`, as stored.
fn stored_sums() -> String {
    let sums: Vec<String> = SUM_COLUMNS.iter().map(|c| format!("t.{c}")).collect();
    sums.join(", ")
}

/// The five sums of the raw calls `t` of a piece, for a `GROUP BY`: a piece holds at most a
/// local day of one org's calls, whose sums the rollups hold as `BIGINT`s too.
const RAW_SUMS: &str = "COUNT(*), CAST(SUM(t.prompt_tokens) AS BIGINT), \
     CAST(SUM(t.completion_tokens) AS BIGINT), CAST(SUM(t.cost_micros) AS BIGINT), \
     CAST(SUM(t.latency_ms) AS BIGINT)";

fn union_all(branches: Vec<Sql>) -> Sql {
    let mut union = Sql::new("");
    for (index, branch) in branches.into_iter().enumerate() {
        if index > 0 {
            union = union.push(" UNION ALL ");
        }
        union = union.append(branch);
    }
    union
}

/// The pieces one query reads: ranges `[lo, hi)` of its tables (a table by its index among the
/// query's branches), each read once, and what each counts for: `(day, times)`, a local day (0
/// where the read does not group by day) and how many times (negative to subtract).
#[derive(Default)]
struct Pieces {
    ids: BTreeMap<(usize, i64, i64), usize>,
    uses: Vec<Vec<(i64, i64)>>,
}

impl Pieces {
    /// Counts `[lo, hi)` of table `table` for `day`, `times` times.
    fn add(&mut self, table: usize, (lo, hi): (i64, i64), day: i64, times: i64) {
        let next = self.uses.len();
        let id = *self.ids.entry((table, lo, hi)).or_insert(next);
        if id == next {
            self.uses.push(Vec::new());
        }
        let uses = &mut self.uses[id];
        match uses.iter_mut().find(|(d, _)| *d == day) {
            Some((_, count)) => *count += times,
            None => uses.push((day, times)),
        }
    }

    /// Counts a piece of a cover of `table` for `day`.
    fn add_piece(&mut self, table: usize, piece: &grains::Piece, day: i64) {
        self.add(table, (piece.start, piece.end), day, piece.sign.times());
    }

    /// `[id, lo, hi]` of each piece of `table`.
    fn of_table(&self, table: usize) -> Vec<[i64; 3]> {
        self.ids
            .range((table, i64::MIN, i64::MIN)..=(table, i64::MAX, i64::MAX))
            .map(|((_, lo, hi), id)| [*id as i64, *lo, *hi])
            .collect()
    }

    /// The sums per `(day, key)` of `rows` of these pieces, each row counted as its piece's uses
    /// say. A negative sum means the rollups disagree ([`StoreError::Internal`]); one beyond 64
    /// bits is [`StoreError::TooLarge`]; `(day, key)`s without calls are left out.
    fn add_up(&self, rows: Vec<PieceRow>) -> Result<BTreeMap<(i64, String), Sums>, StoreError> {
        let mut totals: BTreeMap<(i64, String), WideSums> = BTreeMap::new();
        for row in rows {
            let uses = usize::try_from(row.piece)
                .ok()
                .and_then(|piece| self.uses.get(piece))
                .ok_or_else(|| StoreError::Internal(format!("no piece {}", row.piece)))?;
            for (day, times) in uses {
                totals
                    .entry((*day, row.key.clone()))
                    .or_default()
                    .add_times(&row.sums, *times);
            }
        }
        let mut sums = BTreeMap::new();
        for (key, wide) in totals {
            if wide.is_negative() {
                return Err(StoreError::Internal(format!(
                    "the rollups disagree with each other: the sums of {key:?} are {wide:?}"
                )));
            }
            if wide.has_requests() {
                let narrow = wide.narrow().map_err(|error| {
                    StoreError::TooLarge(format!("the sums of the range: {error}"))
                })?;
                sums.insert(key, narrow);
            }
        }
        Ok(sums)
    }
}

/// The audience's dashboard queries, over one backend.
struct Reader<'s> {
    backend: Backend,
    org_id: &'s str,
    /// The user whose usage is read; `None` for the whole org.
    user_id: Option<&'s str>,
}

impl<'s> Reader<'s> {
    fn new(backend: Backend, scope: &'s TenantScope, audience: Audience) -> Self {
        Reader {
            backend,
            org_id: scope.org_id(),
            user_id: match audience {
                Audience::OwnUsage => Some(scope.user_id()),
                Audience::WholeOrg => None,
            },
        }
    }

    /// `SELECT {select}` from each piece `[id, lo, hi]` of `pieces` and the audience's rows `t`
    /// of `table` whose `time_column` lies in it, then `tail` (a `GROUP BY`, or nothing).
    fn select_in_pieces(
        &self,
        select: &str,
        (table, time_column): (&str, &str),
        pieces: &[[i64; 3]],
        tail: &str,
    ) -> Sql {
        let pieces = dialect::pieces(self.backend, ["id", "lo", "hi"], pieces);
        let mut condition = Sql::new("t.org_id = ").bind::<Text, _>(self.org_id.to_owned());
        if let Some(user_id) = self.user_id {
            condition = condition
                .push(" AND t.user_id = ")
                .bind::<Text, _>(user_id.to_owned());
        }
        let condition = condition.push(&format!(
            " AND t.{time_column} >= pieces.lo AND t.{time_column} < pieces.hi"
        ));
        Sql::new(&format!("SELECT {select} "))
            .append(dialect::for_each_piece(
                self.backend,
                pieces,
                table,
                condition,
            ))
            .push(tail)
    }

    /// Rows per piece and model, and the pieces, which [`Pieces::add_up`] turns into sums per
    /// local day and model. The whole org's: each local day cut into UTC days, hours and
    /// 15-minute buckets of the model rollups (a row per bucket and model, as stored), and raw
    /// calls (summed per piece and model) where a segment does not start or end on a quarter
    /// hour. A day of Asia/Kathmandu (+05:45) is a UTC day, five hours and three quarters added
    /// at one end and subtracted at the other. One user's: each local day from the raw calls.
    fn day_models(&self, segments: &[OffsetSegment]) -> (Sql<PieceRowSql>, Pieces) {
        let raw = MODEL_ROLLUPS.len();
        let mut pieces = Pieces::default();
        for part in grains::local_day_parts(segments) {
            if self.user_id.is_some() {
                pieces.add(raw, (part.start, part.end), part.day, 1);
                continue;
            }
            for piece in grains::cover(part.start, part.end, &MODEL_GRAINS, true) {
                let table = MODEL_ROLLUPS
                    .iter()
                    .position(|(grain, _)| *grain == piece.grain)
                    .unwrap_or(raw);
                pieces.add_piece(table, &piece, part.day);
            }
        }
        let mut branches = Vec::new();
        if self.user_id.is_none() {
            for (index, (_, table)) in MODEL_ROLLUPS.iter().enumerate() {
                branches.push(self.select_in_pieces(
                    &format!("pieces.id, t.model, {}", stored_sums()),
                    (table, "bucket"),
                    &pieces.of_table(index),
                    "",
                ));
            }
        }
        branches.push(self.select_in_pieces(
            &format!("pieces.id, t.model, {RAW_SUMS}"),
            ("navi_llm_calls", "occurred_at"),
            &pieces.of_table(raw),
            " GROUP BY pieces.id, t.model",
        ));
        (union_all(branches).rows(), pieces)
    }

    /// Calls per latency bucket and the largest latency, summed in SQL: the whole org's from
    /// the histogram rollups over an additive cover of UTC days and 15-minute buckets (a maximum
    /// cannot be subtracted) and raw calls at unaligned ends; one user's from the raw calls.
    fn latency(&self, segments: &[OffsetSegment]) -> Sql {
        let raw = LATENCY_ROLLUPS.len();
        let mut pieces = Pieces::default();
        for range in grains::merged_ranges(segments) {
            if self.user_id.is_some() {
                pieces.add(raw, range, 0, 1);
                continue;
            }
            for piece in grains::cover(range.0, range.1, &LATENCY_GRAINS, false) {
                let table = LATENCY_ROLLUPS
                    .iter()
                    .position(|(grain, _)| *grain == piece.grain)
                    .unwrap_or(raw);
                pieces.add_piece(table, &piece, 0);
            }
        }
        let mut branches = Vec::new();
        if self.user_id.is_none() {
            let stored: Vec<String> = HISTOGRAM_COLUMNS
                .iter()
                .map(|h| format!("t.{h} AS {h}"))
                .collect();
            let select = format!("t.max_ms AS max_ms, {}", stored.join(", "));
            for (index, (_, table)) in LATENCY_ROLLUPS.iter().enumerate() {
                branches.push(self.select_in_pieces(
                    &select,
                    (table, "bucket"),
                    &pieces.of_table(index),
                    "",
                ));
            }
        }
        let counted: Vec<String> = HISTOGRAM_COLUMNS
            .iter()
            .enumerate()
            .map(|(bucket, h)| {
                format!("CASE WHEN t.latency_bucket = {bucket} THEN 1 ELSE 0 END AS {h}")
            })
            .collect();
        branches.push(self.select_in_pieces(
            &format!("t.latency_ms AS max_ms, {}", counted.join(", ")),
            ("navi_llm_calls", "occurred_at"),
            &pieces.of_table(raw),
            "",
        ));
        let sums: Vec<String> = HISTOGRAM_COLUMNS
            .iter()
            .map(|h| format!("CAST(COALESCE(SUM(s.{h}), 0) AS BIGINT) AS {h}"))
            .collect();
        Sql::new(&format!(
            "SELECT CAST(COALESCE(MAX(s.max_ms), 0) AS BIGINT) AS max_ms, {} FROM (",
            sums.join(", ")
        ))
        .append(union_all(branches))
        .push(") AS s")
    }

    /// Rows per piece and user, and the pieces, which [`Pieces::add_up`] turns into sums per
    /// user (the whole org's). Whole UTC days come from the per-user running totals: a row per
    /// user, minus their row of the day before the range in the same window (see
    /// [`grains::running_terms`]). The rest of the range takes the shorter way to midnight and to
    /// the nearest six-hour boundary: whole blocks of six UTC hours from the six-hour rollup, at
    /// most three hours at each end from the raw calls (a day of Asia/Kathmandu, +05:45, starts
    /// at 18:15 UTC: the block from 18:00 less 15 minutes of calls).
    fn users(&self, segments: &[OffsetSegment]) -> (Sql<PieceRowSql>, Pieces) {
        const RUNNING: usize = 0;
        const BLOCKS: usize = 1;
        const RAW: usize = 2;
        let mut pieces = Pieces::default();
        for (start, end) in grains::merged_ranges(segments) {
            for piece in grains::cover(start, end, &USER_GRAINS, true) {
                let times = piece.sign.times();
                match piece.grain {
                    Grain::Day => {
                        let (first, end) = (piece.start.div_euclid(DAY), piece.end.div_euclid(DAY));
                        for term in grains::running_terms(first, end) {
                            // A running-total row is a piece `(window, day)`.
                            pieces.add(RUNNING, (term.window, term.through), 0, times);
                            if let Some(before) = term.before {
                                pieces.add(RUNNING, (term.window, before), 0, -times);
                            }
                        }
                    }
                    Grain::SixHours => pieces.add_piece(BLOCKS, &piece, 0),
                    _ => pieces.add_piece(RAW, &piece, 0),
                }
            }
        }
        let running = dialect::pieces(
            self.backend,
            ["id", "window_start", "day"],
            &pieces.of_table(RUNNING),
        );
        let condition = Sql::new("t.org_id = ")
            .bind::<Text, _>(self.org_id.to_owned())
            .push(" AND t.window_start = pieces.window_start AND t.day = pieces.day");
        let branches = vec![
            Sql::new(&format!("SELECT pieces.id, t.user_id, {} ", stored_sums())).append(
                dialect::for_each_piece(
                    self.backend,
                    running,
                    "navi_usage_user_running_1d",
                    condition,
                ),
            ),
            self.select_in_pieces(
                &format!("pieces.id, t.user_id, {}", stored_sums()),
                ("navi_usage_user_6h", "bucket"),
                &pieces.of_table(BLOCKS),
                "",
            ),
            self.select_in_pieces(
                &format!("pieces.id, t.user_id, {RAW_SUMS}"),
                ("navi_llm_calls", "occurred_at"),
                &pieces.of_table(RAW),
                " GROUP BY pieces.id, t.user_id",
            ),
        ];
        (union_all(branches).rows(), pieces)
    }

    /// Positive and negative feedback.
    fn feedback(&self, segments: &[OffsetSegment]) -> Sql<(BigInt, BigInt)> {
        let pieces: Vec<[i64; 3]> = (0..)
            .zip(grains::merged_ranges(segments))
            .map(|(id, (lo, hi))| [id, lo, hi])
            .collect();
        self.select_in_pieces(
            "CAST(COALESCE(SUM(CASE WHEN t.rating > 0 THEN 1 ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN t.rating < 0 THEN 1 ELSE 0 END), 0) AS BIGINT)",
            ("navi_feedback", "created_at"),
            &pieces,
            "",
        )
        .rows()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SQL of an org dashboard of 30 days on `backend` in `zone`, laid out one clause per
    /// line.
    fn org_dashboard_sql(backend: Backend, zone: chrono_tz::Tz) -> String {
        let from = chrono::NaiveDate::from_ymd_opt(2026, 10, 1).expect("a date");
        let to = chrono::NaiveDate::from_ymd_opt(2026, 10, 30).expect("a date");
        let query = crate::DashboardQuery::new(from, to, zone).expect("a query");
        let segments = query.offset_segments();
        let scope = TenantScope::for_tests("org_golden", "usr_golden", navi_tenancy::Role::Admin);
        let reader = Reader::new(backend, &scope, Audience::WholeOrg);
        let mut laid_out = format!(
            "-- The org dashboard's four queries, 30 days in {zone}, on {backend:?}: the SQL that\n\
             -- runs, written by `NAVI_BLESS=1 cargo test -p navi-analytics golden`. `$n` marks a\n\
             -- bound value, listed after its query: the pieces each table is read in.\n"
        );
        let statements = [
            (
                "day_models",
                reader
                    .day_models(segments)
                    .0
                    .rows::<diesel::sql_types::Untyped>(),
            ),
            ("latency", reader.latency(segments)),
            ("users", reader.users(segments).0.rows()),
            ("feedback", reader.feedback(segments).rows()),
        ];
        for (name, statement) in &statements {
            let sql = statement.text();
            laid_out.push_str(&format!("\n-- {name}\n"));
            let mut previous = "";
            for word in sql.split(' ').filter(|word| !word.is_empty()) {
                let starts_line = match word {
                    "JOIN" => !matches!(previous, "CROSS" | "LEFT"),
                    "SELECT" | "FROM" | "LEFT" | "CROSS" | "WHERE" | "GROUP" | "UNION" => true,
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
            laid_out.push_str(";\n");
            for (index, value) in statement.values().iter().enumerate() {
                laid_out.push_str(&format!("-- ${} = {value}\n", index + 1));
            }
        }
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

    fn row(piece: i64, key: &str, requests: i64, cost_micros: i64) -> PieceRow {
        PieceRow {
            piece,
            key: key.to_owned(),
            sums: Sums {
                requests,
                cost_micros,
                ..Sums::default()
            },
        }
    }

    #[test]
    fn a_piece_is_read_once_and_counts_for_each_of_its_days() {
        let mut pieces = Pieces::default();
        // Hours 0..2 count for day 1, subtracted for day 2; hours 2..3 for day 2; the same hours
        // of another table are another piece.
        pieces.add(0, (0, 7200), 1, 1);
        pieces.add(0, (0, 7200), 2, -1);
        pieces.add(0, (7200, 10800), 2, 1);
        pieces.add(0, (7200, 10800), 2, 1);
        pieces.add(1, (0, 7200), 2, 1);
        assert_eq!(pieces.of_table(0), [[0, 0, 7200], [1, 7200, 10800]]);
        assert_eq!(pieces.of_table(1), [[2, 0, 7200]]);
        let sums = pieces
            .add_up(vec![
                row(0, "m", 2, 20),
                row(1, "m", 3, 30),
                row(2, "m", 1, 10),
            ])
            .unwrap();
        let sums: Vec<((i64, String), i64)> = sums
            .into_iter()
            .map(|(key, sums)| (key, sums.cost_micros))
            .collect();
        assert_eq!(sums, [((1, "m".to_owned()), 20), ((2, "m".to_owned()), 50)]);
    }

    #[test]
    fn sums_netted_to_nothing_are_dropped_and_negative_or_huge_ones_refused() {
        let mut pieces = Pieces::default();
        pieces.add(0, (0, 900), 0, 1);
        pieces.add(0, (900, 1800), 0, -1);
        let netted = pieces.add_up(vec![row(0, "a", 1, 5), row(1, "a", 1, 5)]);
        assert!(netted.unwrap().is_empty());
        assert!(matches!(
            pieces.add_up(vec![row(1, "a", 1, 5)]),
            Err(StoreError::Internal(_))
        ));
        assert!(matches!(
            pieces.add_up(vec![row(0, "a", 1, i64::MAX), row(0, "a", 1, 1)]),
            Err(StoreError::TooLarge(_))
        ));
        assert!(matches!(
            pieces.add_up(vec![row(7, "a", 1, 1)]),
            Err(StoreError::Internal(_))
        ));
    }
}
