//! The PostgreSQL catalogue, for several replicas sharing one catalogue: applies
//! to a source take `pg_advisory_xact_lock` on it, so replicas never interleave
//! them; migrations take sqlx's migration lock.

use sqlx::postgres::PgPoolOptions;
use sqlx::{PgPool, Postgres, Transaction};

use super::common::store_impl;

/// The catalogue in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to `url` and migrates.
    pub async fn open(url: &str) -> super::Result<PgStore> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(std::time::Duration::from_secs(30))
            .connect(url)
            .await
            .map_err(|e| super::StoreError::Open {
                url: super::redact(url),
                reason: e.to_string(),
            })?;
        let migrator = super::common::migrator(&[
            (
                "catalogue",
                include_str!("../../migrations/postgres/0001_catalogue.sql"),
            ),
            (
                "api",
                include_str!("../../migrations/postgres/0002_api.sql"),
            ),
            (
                "revision_actor",
                include_str!("../../migrations/postgres/0003_revision_actor.sql"),
            ),
            (
                "spec_digest",
                include_str!("../../migrations/postgres/0004_spec_digest.sql"),
            ),
            (
                "lz4",
                include_str!("../../migrations/postgres/0005_lz4.sql"),
            ),
            (
                "pinned",
                include_str!("../../migrations/postgres/0006_pinned.sql"),
            ),
            (
                "refusals",
                include_str!("../../migrations/postgres/0007_refusals.sql"),
            ),
            (
                "paused",
                include_str!("../../migrations/postgres/0008_paused.sql"),
            ),
            (
                "console",
                include_str!("../../migrations/postgres/0009_console.sql"),
            ),
            (
                "zstd",
                include_str!("../../migrations/postgres/0010_zstd.sql"),
            ),
        ]);
        migrator
            .run(&pool)
            .await
            .map_err(|e| super::StoreError::Migrate(e.to_string()))?;
        Ok(PgStore { pool })
    }

    /// A transaction that, for an apply, holds the source's advisory lock until it ends.
    async fn begin_write(
        &self,
        lock: Option<&str>,
    ) -> super::Result<Transaction<'static, Postgres>> {
        let mut tx = self.pool.begin().await?;
        if let Some(source) = lock {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
                .bind(format!("actionsync:source:{source}"))
                .execute(&mut *tx)
                .await?;
        }
        Ok(tx)
    }
}

store_impl!(PgStore, Postgres, 65_535);
