//! Statements written at run time that the connection keeps prepared.
//!
//! `diesel::sql_query` is never cached: each run parses and plans its text again, which on
//! PostgreSQL costs as much as running a small read (a tenth to a third of a millisecond). A
//! [`Prepared`] statement is cached by diesel under its text and bind types, like a statement
//! of the query builder, so the second run only binds and executes it.
//!
//! Diesel's cache is unbounded, so only a bounded set of texts may go through here: the usage
//! reads, whose texts vary only with the parts they hold, and PostgreSQL's bulk inserts, whose
//! texts vary only with their table (the rows travel as arrays). A statement whose text varies
//! with its data (SQLite's bulk insert of `n` rows) stays a `sql_query`.

use std::marker::PhantomData;

use diesel::backend::Backend;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{HasSqlType, Untyped};
use diesel::{Connection, PgConnection, QueryResult, RunQueryDsl};
use navi_tenancy::DbConnection;

/// The backend of a [`DbConnection`]: the one `diesel::MultiConnection` derives for it.
pub(crate) type MultiBackend = <DbConnection as Connection>::Backend;

/// SQL written with `$1, $2, ...` placeholders, each used once and in increasing order, and the
/// values bound to them in that order. Its rows are read by name (`QueryableByName`) when `ST` is
/// `Untyped`, or by position (`Queryable`) as the columns' SQL types `ST`: reading by name looks
/// each column up among the row's names, which for a thousand rows costs more than reading them. Diesel writes each backend's own placeholders (`$n` on
/// PostgreSQL, `?` on SQLite) where the text had them. (SQLite would read `$1` as a *named*
/// parameter and look each name up in a list: a 10,000-row insert then spent seconds matching.)
///
/// `DB` is the backend it runs on: [`MultiBackend`] for a [`DbConnection`], or one backend's for
/// types only that backend has (PostgreSQL's arrays).
#[must_use = "a statement runs only when it is loaded"]
pub(crate) struct Prepared<ST = Untyped, DB: Backend = MultiBackend> {
    /// The text between the placeholders: one more than there are placeholders.
    parts: Vec<String>,
    binds: Vec<Box<dyn QueryFragment<DB> + Send>>,
    columns: PhantomData<ST>,
}

impl<ST, DB: Backend> Prepared<ST, DB> {
    /// The statement `sql`, nothing bound yet.
    pub(crate) fn new(sql: &str) -> Self {
        let mut parts = vec![String::new()];
        let mut chars = sql.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
                let mut number = 0usize;
                while let Some(digit) = chars.peek().and_then(|d| d.to_digit(10)) {
                    number = number * 10 + digit as usize;
                    chars.next();
                }
                debug_assert_eq!(number, parts.len(), "placeholders in order in {sql}");
                parts.push(String::new());
            } else if let Some(part) = parts.last_mut() {
                part.push(c);
            }
        }
        Prepared {
            parts,
            binds: Vec::new(),
            columns: PhantomData,
        }
    }

    /// The rows of all `statements`, one after another, as one statement: `SELECT * FROM (a) AS
    /// p0 UNION ALL SELECT * FROM (b) AS p1 ...`. Each must select the same columns. `None`
    /// without statements.
    pub(crate) fn union_all(statements: Vec<Prepared<ST, DB>>) -> Option<Self> {
        let mut union: Option<Prepared<ST, DB>> = None;
        for (index, statement) in statements.into_iter().enumerate() {
            let Prepared { parts, binds, .. } = statement;
            let union = union.get_or_insert_with(|| Prepared {
                parts: vec![String::new()],
                binds: Vec::new(),
                columns: PhantomData,
            });
            let mut parts = parts.into_iter();
            if let Some(last) = union.parts.last_mut() {
                if index > 0 {
                    last.push_str(" UNION ALL ");
                }
                last.push_str("SELECT * FROM (");
                last.push_str(&parts.next().unwrap_or_default());
            }
            union.parts.extend(parts);
            if let Some(last) = union.parts.last_mut() {
                last.push_str(&format!(") AS p{index}"));
            }
            union.binds.extend(binds);
        }
        union
    }

    /// `before`, this statement and `after`, as one statement (whose rows are `T`).
    pub(crate) fn wrap<T>(self, before: &str, after: &str) -> Prepared<T, DB> {
        let Prepared {
            mut parts, binds, ..
        } = self;
        if let Some(first) = parts.first_mut() {
            first.insert_str(0, before);
        }
        if let Some(last) = parts.last_mut() {
            last.push_str(after);
        }
        Prepared {
            parts,
            binds,
            columns: PhantomData,
        }
    }

    /// The text, with `$1, $2, ...` where values are bound (for golden files).
    #[cfg(test)]
    pub(crate) fn sql(&self) -> String {
        let mut sql = String::new();
        for (index, part) in self.parts.iter().enumerate() {
            if index > 0 {
                sql.push_str(&format!("${index}"));
            }
            sql.push_str(part);
        }
        sql
    }

    /// Binds the next placeholder to `value` as SQL type `T`.
    pub(crate) fn bind<T, V>(mut self, value: V) -> Self
    where
        DB: HasSqlType<T>,
        V: ToSql<T, DB> + Send + 'static,
        T: Send + 'static,
    {
        self.binds.push(Box::new(Bound {
            value,
            sql_type: PhantomData::<T>,
        }));
        self
    }
}

/// One bound value.
struct Bound<ST, V> {
    value: V,
    sql_type: PhantomData<ST>,
}

impl<ST, V, DB> QueryFragment<DB> for Bound<ST, V>
where
    DB: Backend + HasSqlType<ST>,
    V: ToSql<ST, DB>,
{
    fn walk_ast<'b>(&'b self, mut pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        pass.push_bind_param::<ST, V>(&self.value)
    }
}

impl<ST, DB: Backend> QueryFragment<DB> for Prepared<ST, DB> {
    fn walk_ast<'b>(&'b self, mut pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        if self.binds.len() + 1 != self.parts.len() {
            return Err(diesel::result::Error::QueryBuilderError(
                format!(
                    "{} values bound to {} placeholders",
                    self.binds.len(),
                    self.parts.len() - 1
                )
                .into(),
            ));
        }
        let mut binds = self.binds.iter();
        for part in &self.parts {
            pass.push_sql(part);
            if let Some(bind) = binds.next() {
                bind.walk_ast(pass.reborrow())?;
            }
        }
        Ok(())
    }
}

/// Cached by its text and bind types (diesel's `StatementCacheKey::Sql`): the text is not known
/// at compile time, and the statement never says it is unsafe to cache.
impl<ST, DB: Backend> QueryId for Prepared<ST, DB> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<ST, DB: Backend> Query for Prepared<ST, DB> {
    type SqlType = ST;
}

impl<ST> RunQueryDsl<DbConnection> for Prepared<ST> {}

impl<ST> RunQueryDsl<PgConnection> for Prepared<ST, Pg> {}

#[cfg(test)]
mod tests {
    use diesel::sql_types::{BigInt, Text};
    use diesel::QueryableByName;
    use navi_tenancy::testing::TestDatabase;
    use navi_tenancy::Backend;

    use super::*;

    #[derive(QueryableByName, Debug, PartialEq)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        number: i64,
        #[diesel(sql_type = Text)]
        word: String,
    }

    fn select(conn: &mut DbConnection, number: i64, word: &str) -> QueryResult<Vec<Row>> {
        Prepared::<Untyped>::new("SELECT CAST($1 AS BIGINT) + 1 AS number, $2 || '$' AS word")
            .bind::<BigInt, _>(number)
            .bind::<Text, _>(word.to_owned())
            .load(conn)
    }

    #[test]
    fn binds_in_order_and_runs_again_from_the_cache() {
        for backend in [Backend::Postgres, Backend::Sqlite] {
            let db = TestDatabase::new(backend);
            let mut conn = db.connect();
            for (number, word) in [(1, "one"), (41, "forty-one")] {
                let rows = select(&mut conn, number, word).expect("select");
                assert_eq!(
                    rows,
                    vec![Row {
                        number: number + 1,
                        word: format!("{word}$"),
                    }],
                    "{backend:?}"
                );
            }
            if backend == Backend::Postgres {
                #[derive(QueryableByName)]
                struct Count {
                    #[diesel(sql_type = BigInt)]
                    statements: i64,
                }
                let prepared: Count = diesel::sql_query(
                    "SELECT COUNT(*) AS statements FROM pg_prepared_statements \
                     WHERE statement LIKE '%forty%' OR statement LIKE '%AS word%'",
                )
                .get_result(&mut conn)
                .expect("prepared statements");
                assert_eq!(prepared.statements, 1, "prepared once, run twice");
            }
        }
    }

    #[test]
    fn rows_read_by_position() {
        for backend in [Backend::Postgres, Backend::Sqlite] {
            let db = TestDatabase::new(backend);
            let mut conn = db.connect();
            let rows: Vec<(i64, String)> =
                Prepared::<(BigInt, Text)>::new("SELECT CAST($1 AS BIGINT) * 2, $2")
                    .bind::<BigInt, _>(21)
                    .bind::<Text, _>("two".to_owned())
                    .load(&mut conn)
                    .expect("select");
            assert_eq!(rows, vec![(42, "two".to_owned())], "{backend:?}");
        }
    }

    #[test]
    fn a_union_binds_each_statement_in_turn() {
        let pair = |number: i64, word: &str| {
            Prepared::<(BigInt, Text)>::new("SELECT CAST($1 AS BIGINT) AS n, CAST($2 AS TEXT) AS w")
                .bind::<BigInt, _>(number)
                .bind::<Text, _>(word.to_owned())
        };
        assert!(Prepared::<(BigInt, Text)>::union_all(Vec::new()).is_none());
        for backend in [Backend::Postgres, Backend::Sqlite] {
            let db = TestDatabase::new(backend);
            let mut conn = db.connect();
            let union = Prepared::union_all(vec![pair(1, "one"), pair(2, "two"), pair(3, "three")])
                .expect("three statements");
            let mut rows: Vec<(i64, String)> = union.load(&mut conn).expect("union");
            rows.sort();
            let expected: Vec<(i64, String)> = [(1, "one"), (2, "two"), (3, "three")]
                .map(|(n, w)| (n, w.to_owned()))
                .into();
            assert_eq!(rows, expected, "{backend:?}");
        }
    }

    #[test]
    fn a_missing_value_is_an_error_not_a_panic() {
        let db = TestDatabase::new(Backend::Sqlite);
        let mut conn = db.connect();
        let missing = Prepared::<Untyped>::new("SELECT CAST($1 AS BIGINT) AS number, $2 AS word")
            .bind::<BigInt, _>(1)
            .load::<Row>(&mut conn);
        assert!(missing.is_err());
    }
}
