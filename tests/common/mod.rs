//! Shared by the catalogue tests: a store on each backend, and specs written to a
//! temporary folder. Postgres tests use `ACTIONSYNC_TEST_POSTGRES`; each test gets a
//! schema of its own, so tests run in parallel on one database.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use actionsync::convert::ConvertOptions;
use actionsync::source::{LoadOptions, SpecLocation};
use actionsync::store::{self, AnyStore};
use actionsync::sync::SourceSpec;

/// The environment variable naming the test PostgreSQL.
pub const POSTGRES_ENV: &str = "ACTIONSYNC_TEST_POSTGRES";

/// A SQLite catalogue in a temporary folder (kept alive by the returned guard).
pub async fn sqlite() -> (AnyStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store::open("sqlite://catalogue.db", dir.path())
        .await
        .expect("open sqlite");
    (store, dir)
}

/// A PostgreSQL catalogue in a fresh schema, or `None` (saying so) when the
/// variable is unset.
pub async fn postgres() -> Option<AnyStore> {
    let url = postgres_url().await?;
    Some(
        store::open(&url, Path::new("."))
            .await
            .expect("open postgres"),
    )
}

/// The URL of a fresh, empty schema in the test PostgreSQL, or `None` (saying so)
/// when the variable is unset. Schemas that earlier runs left are dropped first.
pub async fn postgres_url() -> Option<String> {
    let Ok(base) = std::env::var(POSTGRES_ENV) else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: {POSTGRES_ENV} is unset; the PostgreSQL half of this test did not run"
        );
        return None;
    };
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let schema = format!(
        "t{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    );
    let admin = sqlx::PgPool::connect(&base)
        .await
        .expect("connect to the test PostgreSQL");
    drop_old_schemas(&admin).await;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&admin)
        .await
        .expect("create a test schema");
    admin.close().await;
    let separator = if base.contains('?') { '&' } else { '?' };
    Some(format!(
        "{base}{separator}options=-c%20search_path%3D{schema}"
    ))
}

/// Drops the test schemas left by processes that have ended (`t<pid>_…`), once
/// per process.
async fn drop_old_schemas(admin: &sqlx::PgPool) {
    static ONCE: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    ONCE.get_or_init(|| async {
        let schemas: Vec<String> = sqlx::query_scalar(
            "SELECT nspname FROM pg_namespace WHERE nspname ~ '^t[0-9]+_[0-9]+_[0-9]+$'",
        )
        .fetch_all(admin)
        .await
        .unwrap_or_default();
        for schema in schemas {
            let pid: Option<u32> = schema[1..].split('_').next().and_then(|p| p.parse().ok());
            let alive = pid.is_some_and(|p| Path::new(&format!("/proc/{p}")).exists());
            if !alive {
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP SCHEMA IF EXISTS {schema} CASCADE"
                )))
                .execute(admin)
                .await;
            }
        }
    })
    .await;
}

/// Runs a test body against SQLite, then PostgreSQL when it is configured.
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let (store, _dir) = common::sqlite().await;
                ($body)(store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(store) = common::postgres().await {
                    ($body)(store).await;
                }
            }
        }
    };
}

/// A folder of spec files for one test.
pub struct Specs {
    dir: tempfile::TempDir,
}

impl Specs {
    /// An empty folder.
    pub fn new() -> Specs {
        Specs {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// Writes `name` and returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write spec");
        path
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// A source for the spec file at `path`.
pub fn source(name: &str, path: &Path) -> SourceSpec {
    SourceSpec {
        name: name.to_string(),
        kind: "file".to_string(),
        location: SpecLocation::File(path.to_path_buf()),
        load: LoadOptions::default(),
        convert: ConvertOptions {
            source: name.to_string(),
            ..ConvertOptions::default()
        },
        max_removed_share: 0.5,
        name_prefix: None,
    }
}

/// One operation of a test spec.
#[derive(Debug, Clone)]
pub struct Op {
    /// operationId, if any.
    pub id: Option<String>,
    /// Method, lowercase.
    pub method: &'static str,
    /// Path.
    pub path: String,
    /// Summary (the description).
    pub summary: String,
    /// Query parameters.
    pub params: Vec<String>,
}

impl Op {
    /// A GET with an operationId.
    pub fn get(id: &str, path: &str) -> Op {
        Op {
            id: Some(id.to_string()),
            method: "get",
            path: path.to_string(),
            summary: format!(
                "Look up {} and return its details to the customer",
                path.replace('/', " ")
            ),
            params: Vec::new(),
        }
    }
}

/// A spec with these operations on `https://api.example.com`.
pub fn spec(ops: &[Op]) -> String {
    let mut paths: Vec<(String, Vec<&Op>)> = Vec::new();
    for op in ops {
        match paths.iter_mut().find(|(p, _)| *p == op.path) {
            Some((_, list)) => list.push(op),
            None => paths.push((op.path.clone(), vec![op])),
        }
    }
    let mut out = String::from(
        "openapi: 3.0.3\ninfo: {title: Test, version: '1'}\nservers: [{url: 'https://api.example.com'}]\npaths:\n",
    );
    for (path, ops) in paths {
        out.push_str(&format!("  '{path}':\n"));
        for op in ops {
            out.push_str(&format!("    {}:\n", op.method));
            if let Some(id) = &op.id {
                out.push_str(&format!("      operationId: {id}\n"));
            }
            out.push_str(&format!("      summary: \"{}\"\n", op.summary));
            let path_params: Vec<&str> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
                .collect();
            if !path_params.is_empty() || !op.params.is_empty() {
                out.push_str("      parameters:\n");
                for p in &path_params {
                    out.push_str(&format!("        - {{name: {p}, in: path, required: true, schema: {{type: string}}}}\n"));
                }
                for p in &op.params {
                    out.push_str(&format!(
                        "        - {{name: {p}, in: query, schema: {{type: string}}}}\n"
                    ));
                }
            }
            out.push_str("      responses: {'200': {description: ok}}\n");
        }
    }
    out
}
