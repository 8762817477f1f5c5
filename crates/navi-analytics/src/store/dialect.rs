//! The usage store's SQL that differs between PostgreSQL and SQLite, in one place: the SQL
//! functions, the range joins of the reads and the bulk inserts of ingest. (What differs in
//! connections and transactions lives in `navi-tenancy`'s `dialect.rs`.)

use diesel::prelude::*;
use diesel::query_builder::SqlQuery;
use diesel::sql_types::{Text, Untyped};
use navi_tenancy::{Backend, DbConnection, StoreError};

use super::prepared::Prepared;

/// SQL for the larger of two integer expressions: `GREATEST` on PostgreSQL, the two-argument
/// scalar `MAX` on SQLite.
pub(crate) fn greatest(conn: &DbConnection, a: &str, b: &str) -> String {
    match conn {
        DbConnection::Postgresql(_) => format!("GREATEST({a}, {b})"),
        DbConnection::Sqlite(_) => format!("MAX({a}, {b})"),
    }
}

/// `WITH pieces (id, lo, hi) AS (...)`: the rows of a JSON array of `[id, lo, hi]` integer
/// triples, placeholder `$1`. One text parameter for any number of ranges keeps the statement's
/// text the same, and the parameters few, however many ranges it reads.
pub(crate) fn pieces_cte(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => {
            "WITH pieces (id, lo, hi) AS (SELECT CAST(e ->> 0 AS BIGINT), \
             CAST(e ->> 1 AS BIGINT), CAST(e ->> 2 AS BIGINT) \
             FROM jsonb_array_elements(CAST($1 AS JSONB)) AS e)"
        }
        Backend::Sqlite => {
            "WITH pieces (id, lo, hi) AS (SELECT json_extract(value, '$[0]'), \
             json_extract(value, '$[1]'), json_extract(value, '$[2]') FROM json_each($1))"
        }
    }
}

/// The `FROM` clause (with its `WHERE`) that reads, for each row of a [`pieces_cte`], the org's
/// rows of `table` whose `time_column` lies in `[lo, hi)` and that pass `filter` (`""` or
/// `" AND ..."`, its placeholders from `$3`), as `t` with `columns`; the org is placeholder `$2`.
///
/// Each piece must be one range scan of the table's key. PostgreSQL cannot estimate a join on
/// ranges and planned one over the calls as a sequential scan; a `LATERAL` subquery behind
/// `OFFSET 0` (which keeps the planner from flattening it back into that join) makes each piece
/// a scan of its own. SQLite has no `LATERAL`, and keeps the left side of a `CROSS JOIN` as the
/// outer loop, which is the same plan.
pub(crate) fn each_range(
    backend: Backend,
    columns: &str,
    table: &str,
    time_column: &str,
    filter: &str,
) -> String {
    match backend {
        Backend::Postgres => format!(
            "pieces CROSS JOIN LATERAL (SELECT {columns} FROM {table} WHERE org_id = $2 \
             AND {time_column} >= pieces.lo AND {time_column} < pieces.hi{filter} OFFSET 0) t"
        ),
        Backend::Sqlite => format!(
            "pieces CROSS JOIN {table} t WHERE t.org_id = $2 \
             AND t.{time_column} >= pieces.lo AND t.{time_column} < pieces.hi{filter}"
        ),
    }
}

/// One column of the rows a [`bulk_execute`] or [`bulk_load`] inserts.
#[derive(Debug, Clone)]
pub(crate) enum BulkColumn {
    /// The same text in every row (the org).
    Same(String),
    /// Text, one per row.
    Text(Vec<String>),
    /// Text or NULL, one per row.
    NullableText(Vec<Option<String>>),
    /// 64-bit integers, one per row.
    BigInt(Vec<i64>),
    /// 16-bit integers, one per row.
    SmallInt(Vec<i16>),
}

/// Rows to insert, column by column: `(column name, values)`, every column as long as the rows.
pub(crate) struct BulkRows<'a> {
    /// The table.
    pub table: &'a str,
    /// The columns and their values.
    pub columns: Vec<(&'a str, BulkColumn)>,
    /// What follows the rows: `ON CONFLICT ...`, `RETURNING ...`.
    pub tail: String,
}

impl BulkRows<'_> {
    fn len(&self) -> usize {
        self.columns
            .iter()
            .map(|(_, column)| match column {
                BulkColumn::Same(_) => 0,
                BulkColumn::Text(v) => v.len(),
                BulkColumn::NullableText(v) => v.len(),
                BulkColumn::BigInt(v) => v.len(),
                BulkColumn::SmallInt(v) => v.len(),
            })
            .max()
            .unwrap_or(0)
    }

    fn names(&self) -> String {
        let names: Vec<&str> = self.columns.iter().map(|(name, _)| *name).collect();
        names.join(", ")
    }

    /// PostgreSQL: one statement whose rows are arrays, one parameter per column, unnested. (A
    /// `VALUES` list of 1000 rows has ten thousand parameters, each parsed, planned and bound
    /// on its own: that was half of an ingest batch's time.) Its text depends only on the table
    /// and columns, never on the rows, so the connection keeps it prepared: parsing and planning
    /// it again cost up to half a millisecond per statement, seven statements a batch.
    fn postgres(self) -> Prepared<Untyped, diesel::pg::Pg> {
        use diesel::sql_types::{Array, BigInt, Nullable, SmallInt};
        // Placeholders in the order of the text: the values every row shares (in the select
        // list) first, then the arrays (in `unnest`).
        let shared = self
            .columns
            .iter()
            .filter(|(_, column)| matches!(column, BulkColumn::Same(_)))
            .count();
        let (mut select, mut arrays, mut unnested) = (Vec::new(), Vec::new(), Vec::new());
        for (name, column) in &self.columns {
            let array_type = match column {
                BulkColumn::Same(_) => {
                    // The shared values so far, this one among them.
                    let n = select.len() - arrays.len() + 1;
                    select.push(format!("${n}::text"));
                    continue;
                }
                BulkColumn::Text(_) | BulkColumn::NullableText(_) => "text",
                BulkColumn::BigInt(_) => "bigint",
                BulkColumn::SmallInt(_) => "smallint",
            };
            let n = shared + arrays.len() + 1;
            select.push(format!("x.{name}"));
            arrays.push(format!("${n}::{array_type}[]"));
            unnested.push(*name);
        }
        let sql = format!(
            "INSERT INTO {} ({}) SELECT {} FROM unnest({}) AS x ({}) {}",
            self.table,
            self.names(),
            select.join(", "),
            arrays.join(", "),
            unnested.join(", "),
            self.tail
        );
        let mut query = Prepared::new(&sql);
        let (same, arrays): (Vec<_>, Vec<_>) = self
            .columns
            .into_iter()
            .map(|(_, column)| column)
            .partition(|column| matches!(column, BulkColumn::Same(_)));
        for column in same.into_iter().chain(arrays) {
            query = match column {
                BulkColumn::Same(value) => query.bind::<Text, _>(value),
                BulkColumn::Text(values) => query.bind::<Array<Text>, _>(values),
                BulkColumn::NullableText(values) => query.bind::<Array<Nullable<Text>>, _>(values),
                BulkColumn::BigInt(values) => query.bind::<Array<BigInt>, _>(values),
                BulkColumn::SmallInt(values) => query.bind::<Array<SmallInt>, _>(values),
            };
        }
        query
    }

    /// SQLite: `VALUES` lists, as many rows to a statement as its parameter limit allows.
    fn sqlite(
        self,
    ) -> Vec<diesel::query_builder::BoxedSqlQuery<'static, diesel::sqlite::Sqlite, SqlQuery>> {
        use diesel::sql_types::{BigInt, Nullable, SmallInt};
        /// Bind parameters per statement, below SQLite's limit of 32766.
        const MAX_PARAMS: usize = 30_000;
        let width = self.columns.len().max(1);
        let row = format!("({})", vec!["?"; width].join(", "));
        let rows = self.len();
        let per_statement = (MAX_PARAMS / width).max(1);
        let mut statements = Vec::new();
        for first in (0..rows).step_by(per_statement) {
            let last = (first + per_statement).min(rows);
            let sql = format!(
                "INSERT INTO {} ({}) VALUES {} {}",
                self.table,
                self.names(),
                vec![row.as_str(); last - first].join(", "),
                self.tail
            );
            let mut query = diesel::sql_query(sql).into_boxed::<diesel::sqlite::Sqlite>();
            for index in first..last {
                for (_, column) in &self.columns {
                    query = match column {
                        BulkColumn::Same(value) => query.bind::<Text, _>(value.clone()),
                        BulkColumn::Text(values) => query.bind::<Text, _>(values[index].clone()),
                        BulkColumn::NullableText(values) => {
                            query.bind::<Nullable<Text>, _>(values[index].clone())
                        }
                        BulkColumn::BigInt(values) => query.bind::<BigInt, _>(values[index]),
                        BulkColumn::SmallInt(values) => query.bind::<SmallInt, _>(values[index]),
                    };
                }
            }
            statements.push(query);
        }
        statements
    }
}

/// Inserts rows in bulk (see [`BulkRows`]); returns how many the statements affected.
pub(crate) fn bulk_execute(
    conn: &mut DbConnection,
    rows: BulkRows<'_>,
) -> Result<usize, StoreError> {
    if rows.len() == 0 {
        return Ok(0);
    }
    Ok(match conn {
        DbConnection::Postgresql(inner) => rows.postgres().execute(inner)?,
        DbConnection::Sqlite(inner) => {
            let mut affected = 0;
            for statement in rows.sqlite() {
                affected += statement.execute(inner)?;
            }
            affected
        }
    })
}

/// Inserts rows in bulk (see [`BulkRows`]) and loads what their `RETURNING` tail returns.
pub(crate) fn bulk_load<R>(
    conn: &mut DbConnection,
    rows: BulkRows<'_>,
) -> Result<Vec<R>, StoreError>
where
    R: QueryableByName<diesel::pg::Pg> + QueryableByName<diesel::sqlite::Sqlite> + 'static,
{
    if rows.len() == 0 {
        return Ok(Vec::new());
    }
    Ok(match conn {
        DbConnection::Postgresql(inner) => rows.postgres().load(inner)?,
        DbConnection::Sqlite(inner) => {
            let mut loaded = Vec::new();
            for statement in rows.sqlite() {
                loaded.extend(statement.load::<R>(inner)?);
            }
            loaded
        }
    })
}
