//! Databases for tests: a fresh SQLite file, or a fresh PostgreSQL database when
//! `TEST_POSTGRES_URL` points at a server (`.ci/run` always sets it).

use diesel::{Connection, PgConnection, RunQueryDsl};
use tempfile::TempDir;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestDb {
    pub url: String,
    /// Holds the SQLite file (and any other per-test files) until the test ends.
    pub dir: TempDir,
    postgres: Option<(String, String)>,
}

pub const POSTGRES_ENV: &str = "TEST_POSTGRES_URL";

impl TestDb {
    /// A fresh database, or `None` (with a note on stderr) for PostgreSQL when not configured.
    pub fn new(backend: Backend) -> Option<TestDb> {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Sqlite => {
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                Some(TestDb {
                    url,
                    dir,
                    postgres: None,
                })
            }
            Backend::Postgres => {
                let Ok(admin) = std::env::var(POSTGRES_ENV) else {
                    eprintln!("skipping: {POSTGRES_ENV} is not set (see README)");
                    return None;
                };
                let name = format!("owncast_sentry_test_{:016x}", fastrand::u64(..));
                let mut conn =
                    PgConnection::establish(&admin).expect("connect to TEST_POSTGRES_URL");
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .expect("create test database");
                let mut url = url::Url::parse(&admin).expect("TEST_POSTGRES_URL is a URL");
                url.set_path(&name);
                Some(TestDb {
                    url: url.to_string(),
                    dir,
                    postgres: Some((admin, name)),
                })
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.postgres
            && let Ok(mut conn) = PgConnection::establish(admin)
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn);
        }
    }
}
