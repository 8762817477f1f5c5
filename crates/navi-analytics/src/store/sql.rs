//! SQL written at run time as text and values in the order they appear, kept prepared by the
//! connection.
//!
//! A [`Sql`] is built by appending text ([`Sql::push`]) and values ([`Sql::bind`]) where they
//! stand in the statement, and by appending other statements' pieces ([`Sql::append`]). Diesel
//! writes each backend's own placeholder (`$n` on PostgreSQL, `?` on SQLite) where a value
//! stands, so the text never names one.
//!
//! `diesel::sql_query` is never cached: each run parses and plans its text again, which on
//! PostgreSQL costs as much as running a small read (a tenth to a third of a millisecond). A
//! [`Sql`] is cached by diesel under its text and bind types, like a statement of the query
//! builder, so the second run only binds and executes it. Diesel's cache is unbounded, so only a
//! bounded set of texts may go through here: the usage reads, whose texts depend only on the
//! backend and the audience (the ranges they read travel as one JSON value), and PostgreSQL's
//! bulk inserts, whose texts depend only on their table (the rows travel as arrays). A statement
//! whose text varies with its data (SQLite's bulk insert of `n` rows) stays a `sql_query`.

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

/// A statement, or a piece of one: text and bound values in the order they appear. Its rows are
/// read by name (`QueryableByName`) when `ST` is `Untyped`, or by position (`Queryable`) as the
/// columns' SQL types `ST`.
///
/// `DB` is the backend it runs on: [`MultiBackend`] for a [`DbConnection`], or one backend's for
/// types only that backend has (PostgreSQL's arrays).
#[must_use = "a statement runs only when it is loaded"]
pub(crate) struct Sql<ST = Untyped, DB: Backend = MultiBackend> {
    pieces: Vec<Piece<DB>>,
    columns: PhantomData<ST>,
}

/// Text, or a value bound where it stands (with how it prints, for golden files).
enum Piece<DB: Backend> {
    Text(String),
    Value(Box<dyn QueryFragment<DB> + Send>, #[cfg(test)] String),
}

impl<ST, DB: Backend> Sql<ST, DB> {
    /// A statement that starts with `text`.
    pub(crate) fn new(text: &str) -> Self {
        Sql {
            pieces: Vec::new(),
            columns: PhantomData,
        }
        .push(text)
    }

    /// Appends `text`.
    pub(crate) fn push(mut self, text: &str) -> Self {
        match self.pieces.last_mut() {
            Some(Piece::Text(last)) => last.push_str(text),
            _ => self.pieces.push(Piece::Text(text.to_owned())),
        }
        self
    }

    /// Appends `value`, bound as SQL type `T`.
    pub(crate) fn bind<T, V>(mut self, value: V) -> Self
    where
        DB: HasSqlType<T>,
        V: ToSql<T, DB> + std::fmt::Debug + Send + 'static,
        T: Send + 'static,
    {
        #[cfg(test)]
        let shown = format!("{value:?}");
        self.pieces.push(Piece::Value(
            Box::new(Bound {
                value,
                sql_type: PhantomData::<T>,
            }),
            #[cfg(test)]
            shown,
        ));
        self
    }

    /// Appends the text and values of `other`.
    pub(crate) fn append<OtherST>(mut self, other: Sql<OtherST, DB>) -> Self {
        for piece in other.pieces {
            self = match piece {
                Piece::Text(text) => self.push(&text),
                value @ Piece::Value(..) => {
                    self.pieces.push(value);
                    self
                }
            };
        }
        self
    }

    /// The same statement, its rows read as `T`.
    pub(crate) fn rows<T>(self) -> Sql<T, DB> {
        Sql {
            pieces: self.pieces,
            columns: PhantomData,
        }
    }

    /// The text, with `$1, $2, ...` where values are bound (for golden files).
    #[cfg(test)]
    pub(crate) fn text(&self) -> String {
        let mut text = String::new();
        let mut values = 0;
        for piece in &self.pieces {
            match piece {
                Piece::Text(piece) => text.push_str(piece),
                Piece::Value(..) => {
                    values += 1;
                    text.push_str(&format!("${values}"));
                }
            }
        }
        text
    }

    /// The values bound, in order, as they print (for golden files).
    #[cfg(test)]
    pub(crate) fn values(&self) -> Vec<&str> {
        self.pieces
            .iter()
            .filter_map(|piece| match piece {
                Piece::Text(_) => None,
                Piece::Value(_, shown) => Some(shown.as_str()),
            })
            .collect()
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

impl<ST, DB: Backend> QueryFragment<DB> for Sql<ST, DB> {
    fn walk_ast<'b>(&'b self, mut pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => pass.push_sql(text),
                Piece::Value(value, ..) => value.walk_ast(pass.reborrow())?,
            }
        }
        Ok(())
    }
}

/// Cached by its text and bind types (diesel's `StatementCacheKey::Sql`): the text is not known
/// at compile time, and the statement never says it is unsafe to cache.
impl<ST, DB: Backend> QueryId for Sql<ST, DB> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<ST, DB: Backend> Query for Sql<ST, DB> {
    type SqlType = ST;
}

impl<ST> RunQueryDsl<DbConnection> for Sql<ST> {}

impl<ST> RunQueryDsl<PgConnection> for Sql<ST, Pg> {}

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
        Sql::<Untyped>::new("SELECT CAST(")
            .bind::<BigInt, _>(number)
            .push(" AS BIGINT) + 1 AS number, ")
            .bind::<Text, _>(word.to_owned())
            .push(" || '$1?' AS word")
            .load(conn)
    }

    #[test]
    fn binds_where_written_and_runs_again_from_the_cache() {
        for backend in [Backend::Postgres, Backend::Sqlite] {
            let db = TestDatabase::new(backend);
            let mut conn = db.connect();
            for (number, word) in [(1, "one"), (41, "forty-one")] {
                let rows = select(&mut conn, number, word).expect("select");
                assert_eq!(
                    rows,
                    vec![Row {
                        number: number + 1,
                        word: format!("{word}$1?"),
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
    fn rows_read_by_position_and_pieces_appended_in_order() {
        for backend in [Backend::Postgres, Backend::Sqlite] {
            let db = TestDatabase::new(backend);
            let mut conn = db.connect();
            let second = Sql::<Untyped>::new(", ").bind::<Text, _>("two".to_owned());
            let statement = Sql::<(BigInt, Text)>::new("SELECT CAST(")
                .bind::<BigInt, _>(21)
                .push(" AS BIGINT) * 2")
                .append(second);
            assert_eq!(statement.text(), "SELECT CAST($1 AS BIGINT) * 2, $2");
            assert_eq!(statement.values(), ["21", "\"two\""]);
            let rows: Vec<(i64, String)> = statement.load(&mut conn).expect("select");
            assert_eq!(rows, vec![(42, "two".to_owned())], "{backend:?}");
        }
    }
}
