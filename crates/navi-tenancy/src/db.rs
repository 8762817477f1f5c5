//! The connection layer: one connection type over PostgreSQL and SQLite, built explicitly from the
//! URL scheme, and an r2d2 pool that sets each backend up for a server.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::R2D2Connection;
use diesel::{Connection, PgConnection, SqliteConnection};

use crate::StoreError;

/// A connection to either backend. Code written against it runs on both; what differs between
/// them lives in `dialect` and is reached by matching on the variant.
#[derive(diesel::MultiConnection)]
#[allow(missing_debug_implementations)] // The inner connections have no useful Debug.
pub enum DbConnection {
    /// PostgreSQL, the production backend.
    Postgresql(PgConnection),
    /// SQLite, the embedded default.
    Sqlite(SqliteConnection),
}

// Encrypted columns (navi-crypto's `Ciphertext`, `Sealed<T>`, `StoredValue`) through the enum.
navi_crypto::impl_encrypted_columns_for_multi_backend!(MultiBackend);

impl DbConnection {
    /// Which backend this connection talks to.
    pub fn backend(&self) -> Backend {
        match self {
            DbConnection::Postgresql(_) => Backend::Postgres,
            DbConnection::Sqlite(_) => Backend::Sqlite,
        }
    }
}

/// The two supported database backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// PostgreSQL.
    Postgres,
    /// SQLite.
    Sqlite,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Postgres => "PostgreSQL",
            Backend::Sqlite => "SQLite",
        })
    }
}

/// A database location whose backend is known from its form.
///
/// Accepted forms: `postgres://…` and `postgresql://…` (PostgreSQL, passed to libpq as written),
/// `sqlite://PATH` (SQLite file at PATH; `sqlite:///abs/path.db` for an absolute path) and a plain
/// file path ending in `.db`, `.sqlite` or `.sqlite3`. Anything else is refused rather than
/// guessed, so a typo never silently creates a SQLite file.
///
/// `Debug` and `Display` hide any password in a PostgreSQL URL.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A libpq connection URI.
    Postgres(String),
    /// A SQLite database file.
    Sqlite(PathBuf),
}

/// A database URL that is not one of the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidDatabaseUrl(String);

/// The embedded default: a SQLite file under `./data/`, relative to the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://./data/navi.db";

const ACCEPTED_FORMS: &str =
    "expected postgres://…, postgresql://…, sqlite://PATH or a file path ending in .db";

impl DatabaseUrl {
    /// Parses a database URL, choosing the backend from its scheme (see the type's docs).
    pub fn parse(url: &str) -> Result<Self, InvalidDatabaseUrl> {
        let url = url.trim();
        if url.is_empty() {
            return Err(InvalidDatabaseUrl(format!(
                "the database URL is empty: {ACCEPTED_FORMS}"
            )));
        }
        if let Some((scheme, rest)) = url.split_once("://") {
            return match scheme.to_ascii_lowercase().as_str() {
                "postgres" | "postgresql" if !rest.is_empty() => {
                    Ok(DatabaseUrl::Postgres(url.to_owned()))
                }
                "sqlite" if rest == ":memory:" => Err(InvalidDatabaseUrl(
                    "an in-memory SQLite database cannot be shared by a connection pool: \
                     use sqlite://PATH"
                        .to_owned(),
                )),
                "sqlite" if !rest.is_empty() => Ok(DatabaseUrl::Sqlite(PathBuf::from(rest))),
                "postgres" | "postgresql" | "sqlite" => Err(InvalidDatabaseUrl(format!(
                    "the database URL `{scheme}://` names no database: {ACCEPTED_FORMS}"
                ))),
                // Only the scheme is echoed: the rest may hold a password.
                _ => Err(InvalidDatabaseUrl(format!(
                    "unsupported database URL scheme `{scheme}://`: {ACCEPTED_FORMS}"
                ))),
            };
        }
        let is_sqlite_file = Path::new(url)
            .extension()
            .and_then(|ext| ext.to_str())
            .is_some_and(|ext| matches!(ext, "db" | "sqlite" | "sqlite3"));
        if is_sqlite_file {
            Ok(DatabaseUrl::Sqlite(PathBuf::from(url)))
        } else {
            Err(InvalidDatabaseUrl(format!(
                "unsupported database URL `{url}`: {ACCEPTED_FORMS}"
            )))
        }
    }

    /// The backend this URL selects.
    pub fn backend(&self) -> Backend {
        match self {
            DatabaseUrl::Postgres(_) => Backend::Postgres,
            DatabaseUrl::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// The SQLite file, if this is a SQLite URL.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            DatabaseUrl::Sqlite(path) => Some(path),
            DatabaseUrl::Postgres(_) => None,
        }
    }

    /// A file kept next to a SQLite database (generated secrets such as `encryption_keys`);
    /// `None` for PostgreSQL.
    pub fn data_file(&self, name: &str) -> Option<PathBuf> {
        let database = self.sqlite_path()?;
        let dir = database
            .parent()
            .filter(|dir| !dir.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        Some(dir.join(name))
    }

    /// Opens one connection and prepares it as the pool would.
    pub fn connect(&self, options: &ConnectionOptions) -> Result<DbConnection, StoreError> {
        match self {
            DatabaseUrl::Postgres(url) => {
                let mut conn = PgConnection::establish(url)
                    .map_err(|e| StoreError::Unavailable(e.to_string()))?;
                // Naive timestamps are UTC: make `now()` and friends agree on every connection.
                conn.batch_execute(&format!(
                    "SET TIME ZONE 'UTC'; SET statement_timeout = {}",
                    options.statement_timeout.as_millis()
                ))?;
                Ok(DbConnection::Postgresql(conn))
            }
            DatabaseUrl::Sqlite(path) => {
                create_private_file(path).map_err(|e| {
                    StoreError::Unavailable(format!(
                        "cannot create the SQLite database {}: {e}",
                        path.display()
                    ))
                })?;
                let path = path.to_str().ok_or_else(|| {
                    StoreError::Invalid("the SQLite path is not valid UTF-8".to_owned())
                })?;
                let mut conn = SqliteConnection::establish(path)
                    .map_err(|e| StoreError::Unavailable(e.to_string()))?;
                // busy_timeout first: switching to WAL needs the write lock.
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                    options.sqlite_busy_timeout.as_millis()
                ))?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

/// Creates `path` private unless it exists: its missing directories with mode 0700 and the file
/// with mode 0600, so the umask cannot make it readable by other users. `Ok(Some(file))` when this
/// call made it (empty, open for writing), `Ok(None)` when it was already there: a directory or
/// file that exists is left as it is, since the operator chose its mode. For the SQLite database
/// (an empty file is an empty database; SQLite gives `-wal`, `-shm` and `-journal` the mode of
/// the database file) and the secrets generated next to it.
pub fn create_private_file(path: &Path) -> std::io::Result<Option<std::fs::File>> {
    let mut dir_builder = std::fs::DirBuilder::new();
    dir_builder.recursive(true);
    let mut file_options = std::fs::OpenOptions::new();
    file_options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        dir_builder.mode(0o700);
        file_options.mode(0o600);
    }
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        dir_builder.create(dir)?;
    }
    match file_options.open(path) {
        Ok(file) => Ok(Some(file)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(None),
        Err(e) => Err(e),
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Postgres(url) => f.write_str(&redact_url_password(url)),
            DatabaseUrl::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// `url` with every password it carries masked, for logs and `Debug`: the one in
/// `user:password@` (`postgres://user:***@host/db`) and the value of a `password` or `pass` query
/// parameter, where libpq and Redis also take one (`?password=***`). The rest is kept as given.
pub fn redact_url_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query_and_fragment)) => {
            let (query, fragment) = match query_and_fragment.split_once('#') {
                Some((query, fragment)) => (query, format!("#{fragment}")),
                None => (query_and_fragment, String::new()),
            };
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _))
                        if key.eq_ignore_ascii_case("password")
                            || key.eq_ignore_ascii_case("pass") =>
                    {
                        format!("{key}=***")
                    }
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}{fragment}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// How each pooled connection is set up.
#[derive(Debug, Clone)]
pub struct ConnectionOptions {
    /// PostgreSQL `statement_timeout`: a runaway query cannot hold a connection longer than this.
    pub statement_timeout: Duration,
    /// SQLite `busy_timeout`: how long a writer waits for the write lock.
    pub sqlite_busy_timeout: Duration,
}

impl Default for ConnectionOptions {
    fn default() -> Self {
        ConnectionOptions {
            statement_timeout: Duration::from_secs(30),
            sqlite_busy_timeout: Duration::from_secs(5),
        }
    }
}

/// Pool settings.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    /// Most connections open at once.
    pub max_size: u32,
    /// How long a caller waits for a free connection before `Unavailable`.
    pub connection_timeout: Duration,
    /// Per-connection setup.
    pub connection: ConnectionOptions,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            max_size: 10,
            connection_timeout: Duration::from_secs(5),
            connection: ConnectionOptions::default(),
        }
    }
}

/// A pool of prepared connections to one database.
pub type DbPool = r2d2::Pool<ConnectionManager>;

/// A connection checked out of a [`DbPool`].
pub type PooledConnection = r2d2::PooledConnection<ConnectionManager>;

/// The r2d2 manager: opens connections through [`DatabaseUrl::connect`], never through
/// `MultiConnection::establish`, which guesses the backend and hides the real error.
#[derive(Debug)]
pub struct ConnectionManager {
    url: DatabaseUrl,
    options: ConnectionOptions,
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = StoreError;

    fn connect(&self) -> Result<DbConnection, StoreError> {
        self.url.connect(&self.options)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), StoreError> {
        conn.ping().map_err(StoreError::from)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        conn.is_broken()
    }
}

/// Builds a pool without opening a connection yet: the first checkout connects. A database that
/// is down therefore surfaces as `Unavailable` on use (and in `/readyz`), not as a start failure.
pub fn build_pool(url: &DatabaseUrl, options: &PoolOptions) -> DbPool {
    r2d2::Pool::builder()
        .max_size(options.max_size)
        .min_idle(Some(0))
        .connection_timeout(options.connection_timeout)
        .test_on_check_out(false)
        .build_unchecked(ConnectionManager {
            url: url.clone(),
            options: options.connection.clone(),
        })
}

/// Asks the database to answer a trivial query: readiness checks use it.
pub fn ping(conn: &mut DbConnection) -> Result<(), StoreError> {
    conn.ping().map_err(StoreError::from)
}

/// Checks a connection out of the pool, mapping pool exhaustion and connection failures to
/// [`StoreError::Unavailable`].
pub fn checkout(pool: &DbPool) -> Result<PooledConnection, StoreError> {
    pool.get()
        .map_err(|e| StoreError::Unavailable(format!("no database connection: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_passwords_are_masked_and_the_rest_kept() {
        for (url, masked) in [
            ("redis://:pw@h:6379", "redis://:***@h:6379"),
            ("rediss://u:p@ss@h/0?x=1", "rediss://u:***@h/0?x=1"),
            ("redis://u@h:6379", "redis://u@h:6379"),
            ("redis://h:6379/0", "redis://h:6379/0"),
            ("unix:///run/redis.sock", "unix:///run/redis.sock"),
            (
                "postgres://navi@db/navi?sslmode=require&password=hunter2",
                "postgres://navi@db/navi?sslmode=require&password=***",
            ),
            (
                "postgres://navi:pw@db/navi?PASSWORD=x#frag",
                "postgres://navi:***@db/navi?PASSWORD=***#frag",
            ),
            (
                "redis+unix:///run/redis.sock?pass=secret&db=1",
                "redis+unix:///run/redis.sock?pass=***&db=1",
            ),
            (
                "postgres://db/navi?passwordless=1",
                "postgres://db/navi?passwordless=1",
            ),
        ] {
            assert_eq!(redact_url_password(url), masked, "{url}");
        }
    }

    #[test]
    fn postgres_schemes_select_postgres() {
        for url in [
            "postgres://postgres@127.0.0.1:5432/test",
            "postgresql://u:p@db.example/navi?sslmode=require",
            "POSTGRES://host/db",
        ] {
            assert_eq!(
                DatabaseUrl::parse(url),
                Ok(DatabaseUrl::Postgres(url.to_owned())),
                "{url}"
            );
        }
    }

    #[test]
    fn sqlite_forms_select_sqlite() {
        let cases = [
            ("sqlite://./data/navi.db", "./data/navi.db"),
            ("sqlite:///var/lib/navi/navi.db", "/var/lib/navi/navi.db"),
            ("sqlite://relative/file", "relative/file"),
            ("./data/navi.db", "./data/navi.db"),
            ("/tmp/x.sqlite3", "/tmp/x.sqlite3"),
            ("navi.sqlite", "navi.sqlite"),
        ];
        for (url, path) in cases {
            assert_eq!(
                DatabaseUrl::parse(url),
                Ok(DatabaseUrl::Sqlite(PathBuf::from(path))),
                "{url}"
            );
        }
    }

    #[test]
    fn other_forms_are_refused_with_the_accepted_forms_named() {
        for url in [
            "",
            "   ",
            "mysql://root:hunter2@localhost/navi",
            "redis://127.0.0.1",
            "navi",
            "./data/navi.txt",
            "sqlite://",
            "postgres://",
            "sqlite://:memory:",
        ] {
            let err = DatabaseUrl::parse(url).expect_err(url).to_string();
            assert!(
                err.contains("postgres://") || err.contains("sqlite://PATH"),
                "{url}: {err}"
            );
            assert!(
                !err.contains("hunter2"),
                "the error leaks a password: {err}"
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_new_sqlite_database_its_wal_and_its_directories_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        let scratch = crate::testing::TestDatabase::sqlite();
        let root = scratch.url().sqlite_path().unwrap().parent().unwrap();
        let database = root.join("made/by/navi.db");
        let mut conn = DatabaseUrl::Sqlite(database.clone())
            .connect(&ConnectionOptions::default())
            .unwrap();
        // A write (not DDL: that belongs in migrations) makes the -wal and -shm files.
        conn.batch_execute("PRAGMA user_version = 7;").unwrap();
        for dir in ["made", "made/by"] {
            assert_eq!(mode(&root.join(dir)), 0o700, "{dir}");
        }
        for file in ["navi.db", "navi.db-wal", "navi.db-shm"] {
            assert_eq!(mode(&root.join("made/by").join(file)), 0o600, "{file}");
        }

        // The operator's own modes are kept.
        let theirs = root.join("theirs");
        std::fs::create_dir(&theirs).unwrap();
        std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(theirs.join("navi.db"), b"").unwrap();
        std::fs::set_permissions(
            theirs.join("navi.db"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        DatabaseUrl::Sqlite(theirs.join("navi.db"))
            .connect(&ConnectionOptions::default())
            .unwrap();
        assert_eq!(mode(&theirs), 0o755);
        assert_eq!(mode(&theirs.join("navi.db")), 0o644);
    }

    #[test]
    fn display_hides_the_password() {
        let url = DatabaseUrl::parse("postgres://navi:s3cret@db:5432/navi?sslmode=require")
            .expect("valid url");
        assert_eq!(
            url.to_string(),
            "postgres://navi:***@db:5432/navi?sslmode=require"
        );
        assert!(!format!("{url:?}").contains("s3cret"));
        let no_password = DatabaseUrl::parse("postgres://navi@db/navi").expect("valid url");
        assert_eq!(no_password.to_string(), "postgres://navi@db/navi");
    }
}
