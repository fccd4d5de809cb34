//! The SQLite catalogue: the embedded default. One file (created if missing), WAL,
//! foreign keys on; writes under `BEGIN IMMEDIATE`, so two writers queue on the
//! file lock instead of failing halfway.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

use super::common::store_impl;

/// The catalogue in a SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Writes a consistent copy of the catalogue to `to`, a file that must not
    /// exist yet (`VACUUM INTO`): it reads one snapshot, so it may run while
    /// `serve` writes, and the copy is compacted.
    pub async fn backup(&self, to: &Path) -> super::Result<()> {
        if to.exists() {
            return Err(super::StoreError::Invalid(format!(
                "{} exists already; a backup never overwrites a file: name a new one",
                to.display()
            )));
        }
        sqlx::query("VACUUM INTO $1")
            .bind(to.display().to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Opens (creating if missing) and migrates the database at `url`
    /// (`sqlite://relative/or/absolute.db`, `sqlite::memory:`); a relative path is
    /// taken relative to `base_dir`.
    pub async fn open(url: &str, base_dir: &Path) -> super::Result<SqliteStore> {
        let open_error = |reason: String| super::StoreError::Open {
            url: url.to_string(),
            reason,
        };
        let file = file_of(url, base_dir);
        let options = match &file {
            None => SqliteConnectOptions::from_str("sqlite::memory:")
                .map_err(|e| open_error(e.to_string()))?,
            Some(file) => {
                if let Some(parent) = file.parent()
                    && !parent.as_os_str().is_empty()
                    && !parent.exists()
                {
                    return Err(open_error(format!(
                        "the folder {} does not exist",
                        parent.display()
                    )));
                }
                SqliteConnectOptions::new()
                    .filename(file)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
            }
        };
        let memory = file.is_none();
        let options = options
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30));
        // An in-memory database lives as long as its one connection.
        let pool_options = if memory {
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            SqlitePoolOptions::new().max_connections(4)
        };
        let pool = pool_options
            .connect_with(options)
            .await
            .map_err(|e| open_error(e.to_string()))?;
        let migrator = super::common::migrator(&[
            (
                "catalogue",
                include_str!("../../migrations/sqlite/0001_catalogue.sql"),
            ),
            ("api", include_str!("../../migrations/sqlite/0002_api.sql")),
            (
                "revision_actor",
                include_str!("../../migrations/sqlite/0003_revision_actor.sql"),
            ),
            (
                "spec_digest",
                include_str!("../../migrations/sqlite/0004_spec_digest.sql"),
            ),
            (
                "pinned",
                include_str!("../../migrations/sqlite/0005_pinned.sql"),
            ),
            (
                "refusals",
                include_str!("../../migrations/sqlite/0006_refusals.sql"),
            ),
            (
                "paused",
                include_str!("../../migrations/sqlite/0007_paused.sql"),
            ),
            (
                "console",
                include_str!("../../migrations/sqlite/0008_console.sql"),
            ),
            (
                "zstd",
                include_str!("../../migrations/sqlite/0009_zstd.sql"),
            ),
        ]);
        migrator
            .run(&pool)
            .await
            .map_err(|e| super::StoreError::Migrate(e.to_string()))?;
        Ok(SqliteStore { pool })
    }

    /// A write transaction that holds the database's write lock from its start.
    async fn begin_write(
        &self,
        _lock: Option<&str>,
    ) -> super::Result<Transaction<'static, Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }
}

store_impl!(SqliteStore, Sqlite, 32_766);

/// The file a `sqlite:` URL names (relative paths under `base_dir`), or `None` for
/// an in-memory database.
pub fn file_of(url: &str, base_dir: &Path) -> Option<std::path::PathBuf> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let path = path.split('?').next().unwrap_or(path);
    if path == ":memory:" || path.is_empty() {
        None
    } else {
        Some(base_dir.join(path))
    }
}
