//! Opening a database by URL and running the embedded migrations.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::{PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::StorageError;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A connection to either backend; queries are written once against this type.
#[derive(diesel::MultiConnection)]
pub enum Database {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

/// Where a database URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Backend {
    Sqlite(String),
    Postgres(String),
}

fn backend(url: &str) -> Result<Backend, StorageError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Backend::Postgres(url.to_owned()));
    }
    match url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        Some("") | None => Err(StorageError::UnsupportedUrl(url.to_owned())),
        Some(path) => Ok(Backend::Sqlite(path.to_owned())),
    }
}

/// Opens the database at `url` and brings its schema up to date.
pub fn connect(url: &str) -> Result<Database, StorageError> {
    let mut db = open(url)?;
    migrate(&mut db)?;
    Ok(db)
}

/// Opens the database at `url` without migrating.
pub fn open(url: &str) -> Result<Database, StorageError> {
    match backend(url)? {
        Backend::Sqlite(path) => {
            let mut conn = SqliteConnection::establish(&path)?;
            // WAL lets the operator's `subscriptions list` read while the daemon writes;
            // the busy timeout makes a concurrent CLI write wait instead of failing.
            conn.batch_execute(
                "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;",
            )?;
            Ok(Database::Sqlite(conn))
        }
        Backend::Postgres(url) => Ok(Database::Postgres(PgConnection::establish(&url)?)),
    }
}

/// Runs pending migrations; returns how many were applied.
pub fn migrate(db: &mut Database) -> Result<usize, StorageError> {
    let applied = match db {
        Database::Sqlite(conn) => conn
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|v| v.len()),
        Database::Postgres(conn) => conn
            .run_pending_migrations(POSTGRES_MIGRATIONS)
            .map(|v| v.len()),
    };
    applied.map_err(|e| StorageError::Migration(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_choose_the_backend() {
        assert_eq!(
            backend("sqlite://owncast-sentry.db").unwrap(),
            Backend::Sqlite("owncast-sentry.db".into())
        );
        assert_eq!(
            backend("sqlite:///var/lib/x.db").unwrap(),
            Backend::Sqlite("/var/lib/x.db".into())
        );
        assert_eq!(
            backend("sqlite::memory:").unwrap(),
            Backend::Sqlite(":memory:".into())
        );
        assert!(matches!(
            backend("postgresql://u@h/db").unwrap(),
            Backend::Postgres(_)
        ));
        assert!(backend("mysql://h/db").is_err());
        assert!(backend("sqlite://").is_err());
    }
}
