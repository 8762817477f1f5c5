//! The usage store's SQL that differs between PostgreSQL and SQLite, in one place: the SQL
//! functions, the range joins of the reads and the bulk inserts of ingest. (What differs in
//! connections and transactions lives in `navi-tenancy`'s `dialect.rs`.)

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::query_builder::SqlQuery;
use diesel::sql_types::{Text, Untyped};
use navi_tenancy::{Backend, DbConnection, StoreError};

use super::sql::Sql;

/// SQL for the larger of two integer expressions: `GREATEST` on PostgreSQL, the two-argument
/// scalar `MAX` on SQLite.
pub(crate) fn greatest(conn: &DbConnection, a: &str, b: &str) -> String {
    match conn {
        DbConnection::Postgresql(_) => format!("GREATEST({a}, {b})"),
        DbConnection::Sqlite(_) => format!("MAX({a}, {b})"),
    }
}

/// Plans the rest of the current transaction's statements once, whatever values they bind: on
/// PostgreSQL, generic plans (a custom plan is made again at every run whenever PostgreSQL guesses
/// it pays: planning an Asia/Kathmandu dashboard took 5 ms of its 13, and the ingest upserts paid
/// too) without JIT (which compiles a statement again at every run: the planner counts 100 rows
/// for each JSON function, and compiled a 3 ms dashboard for 100 ms). The usage store's
/// statements are index range scans and array inserts whose plans the values never change.
/// SQLite has neither.
pub(crate) fn plan_once(conn: &mut DbConnection) -> Result<(), StoreError> {
    if let DbConnection::Postgresql(inner) = conn {
        inner
            .batch_execute("SET LOCAL jit = off; SET LOCAL plan_cache_mode = force_generic_plan")?;
    }
    Ok(())
}

/// `(SELECT ...) AS pieces`: a table of integer `columns`, one row per entry of `rows`, bound as
/// one JSON value. One value for any number of rows keeps the statement's text the same, and its
/// parameters few, however many ranges a read covers.
///
/// The `OFFSET` keeps both databases from flattening the subquery into the join that reads it,
/// where each use of a column would take the value out of the JSON again, for every row joined
/// (a third of a dashboard's time); kept apart, each column is read once per piece.
pub(crate) fn pieces<const N: usize>(
    backend: Backend,
    columns: [&str; N],
    rows: &[[i64; N]],
) -> Sql {
    let json: Vec<String> = rows
        .iter()
        .map(|row| {
            let values: Vec<String> = row.iter().map(i64::to_string).collect();
            format!("[{}]", values.join(","))
        })
        .collect();
    let json = format!("[{}]", json.join(","));
    let (select, from): (Vec<String>, _) = match backend {
        Backend::Postgres => (
            (0..N)
                .map(|i| format!("CAST(e ->> {i} AS BIGINT) AS {}", columns[i]))
                .collect(),
            ("jsonb_array_elements(CAST(", " AS JSONB)) AS e OFFSET 0"),
        ),
        Backend::Sqlite => (
            (0..N)
                .map(|i| format!("json_extract(value, '$[{i}]') AS {}", columns[i]))
                .collect(),
            ("json_each(", ") LIMIT -1 OFFSET 0"),
        ),
    };
    Sql::new(&format!("(SELECT {} FROM {}", select.join(", "), from.0))
        .bind::<Text, _>(json)
        .push(&format!("{}) AS pieces", from.1))
}

/// `FROM pieces` and, for each row of `pieces` (a [`pieces`] table), the rows `t` of `table` that
/// meet `condition` (written with `t.` and `pieces.`).
///
/// Each piece must be one range scan of the table's key. PostgreSQL cannot estimate a join on
/// ranges and planned one over the calls as a sequential scan; a `LATERAL` subquery behind
/// `OFFSET 0` (which keeps the planner from flattening it back into that join) makes each piece
/// a scan of its own. SQLite has no `LATERAL`, and keeps the left side of a `CROSS JOIN` as the
/// outer loop, which is the same plan.
pub(crate) fn for_each_piece(backend: Backend, pieces: Sql, table: &str, condition: Sql) -> Sql {
    let from = Sql::new("FROM ").append(pieces);
    match backend {
        Backend::Postgres => from
            .push(&format!(
                " CROSS JOIN LATERAL (SELECT * FROM {table} AS t WHERE "
            ))
            .append(condition)
            .push(" OFFSET 0) AS t"),
        Backend::Sqlite => from
            .push(&format!(" CROSS JOIN {table} AS t WHERE "))
            .append(condition),
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
    fn postgres(self) -> Sql<Untyped, diesel::pg::Pg> {
        use diesel::sql_types::{Array, BigInt, Nullable, SmallInt};
        let mut insert = Sql::new(&format!(
            "INSERT INTO {} ({}) SELECT ",
            self.table,
            self.names()
        ));
        let mut unnest = Sql::new("");
        let mut unnested = Vec::new();
        for (index, (name, column)) in self.columns.into_iter().enumerate() {
            if index > 0 {
                insert = insert.push(", ");
            }
            if !unnested.is_empty() && !matches!(column, BulkColumn::Same(_)) {
                unnest = unnest.push(", ");
            }
            let array = |unnest: Sql<Untyped, diesel::pg::Pg>, array_type: &str| {
                unnest.push(&format!("::{array_type}[]"))
            };
            unnest = match column {
                BulkColumn::Same(value) => {
                    insert = insert.bind::<Text, _>(value).push("::text");
                    continue;
                }
                BulkColumn::Text(values) => array(unnest.bind::<Array<Text>, _>(values), "text"),
                BulkColumn::NullableText(values) => {
                    array(unnest.bind::<Array<Nullable<Text>>, _>(values), "text")
                }
                BulkColumn::BigInt(values) => {
                    array(unnest.bind::<Array<BigInt>, _>(values), "bigint")
                }
                BulkColumn::SmallInt(values) => {
                    array(unnest.bind::<Array<SmallInt>, _>(values), "smallint")
                }
            };
            insert = insert.push(&format!("x.{name}"));
            unnested.push(name);
        }
        insert.push(" FROM unnest(").append(unnest).push(&format!(
            ") AS x ({}) {}",
            unnested.join(", "),
            self.tail
        ))
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

#[cfg(test)]
mod tests {
    use diesel::sql_types::Text;
    use diesel::QueryableByName;
    use navi_tenancy::testing::TestDatabase;

    use super::*;

    #[derive(QueryableByName)]
    struct Setting {
        #[diesel(sql_type = Text)]
        jit: String,
        #[diesel(sql_type = Text)]
        plans: String,
    }

    fn settings(conn: &mut DbConnection) -> (String, String) {
        let setting: Setting = diesel::sql_query(
            "SELECT current_setting('jit') AS jit, current_setting('plan_cache_mode') AS plans",
        )
        .get_result(conn)
        .expect("settings");
        (setting.jit, setting.plans)
    }

    /// The connection's defaults hold outside the transactions that plan once.
    #[test]
    fn planning_once_lasts_one_transaction() {
        let db = TestDatabase::new(Backend::Postgres);
        let mut conn = db.connect();
        let defaults = settings(&mut conn);
        assert_ne!(
            defaults,
            ("off".to_owned(), "force_generic_plan".to_owned())
        );
        let inside = conn
            .transaction(|conn| {
                plan_once(conn)?;
                Ok::<_, StoreError>(settings(conn))
            })
            .expect("transaction");
        assert_eq!(inside, ("off".to_owned(), "force_generic_plan".to_owned()));
        assert_eq!(settings(&mut conn), defaults);
    }
}
