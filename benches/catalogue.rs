//! The catalogue's costs (issue 3), each next to a baseline timed in the same run:
//!
//! 1. **unchanged**: reconciling a source whose spec did not change, in a catalogue
//!    of 10,000 actions across 20 sources; baseline: reading and hashing its file.
//! 2. **large specs**: the first apply of each spec in `../shared/specs/large/`
//!    (a fresh source), then a re-plan of the same spec (forced past the unchanged
//!    check: read, convert, plan), and the unchanged reconcile; baseline: parsing
//!    the file into a `serde_json::Value`.
//!
//! On SQLite, and on PostgreSQL too when `ACTIONSYNC_TEST_POSTGRES` is set.
//! `cargo bench --bench catalogue [-- --runs N]`. Prints Markdown tables of medians.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use actionsync::convert::ConvertOptions;
use actionsync::source::{LoadOptions, SpecLocation};
use actionsync::store::{self, AnyStore};
use actionsync::sync::{self, Outcome, ReconcileOptions, SourceSpec};
use sha2::{Digest, Sha256};
use url::Url;

const SOURCES: usize = 20;
const PER_SOURCE: usize = 500;

fn source(name: &str, path: &Path) -> SourceSpec {
    SourceSpec {
        name: name.to_string(),
        kind: "file".to_string(),
        location: SpecLocation::File(path.to_path_buf()),
        load: LoadOptions::default(),
        convert: ConvertOptions {
            source: name.to_string(),
            base_url: Some(Url::parse("https://api.example.com").unwrap()),
            ..ConvertOptions::default()
        },
        max_removed_share: 1.0,
    }
}

fn synthetic_spec(source: usize) -> String {
    let mut out = String::from(
        "openapi: 3.0.3\ninfo: {title: Bench, version: '1'}\nservers: [{url: 'https://api.example.com'}]\npaths:\n",
    );
    for i in 0..PER_SOURCE {
        out.push_str(&format!(
            "  /s{source}/items{i}/{{id}}:\n    get:\n      operationId: s{source}GetItem{i}\n      summary: Look up item {i} of warehouse {source} by its id\n      parameters: [{{name: id, in: path, required: true, schema: {{type: string}}}}, {{name: expand, in: query, schema: {{type: string}}}}]\n      responses: {{'200': {{description: ok}}}}\n"
        ));
    }
    out
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

async fn reconcile(store: &AnyStore, s: &SourceSpec, options: ReconcileOptions<'_>) -> Outcome {
    match sync::reconcile(store, s, options).await {
        Ok((outcome, _)) => outcome,
        Err(e) => panic!("{}: {e}", s.name),
    }
}

async fn bench_backend(label: &str, store: AnyStore, dir: &Path, runs: usize, large: &[PathBuf]) {
    // 1. 10,000 actions in 20 sources.
    let mut sources = Vec::new();
    let started = Instant::now();
    for i in 0..SOURCES {
        let path = dir.join(format!("s{i}.yaml"));
        std::fs::write(&path, synthetic_spec(i)).unwrap();
        let s = source(&format!("s{i}"), &path);
        assert!(matches!(
            reconcile(&store, &s, ReconcileOptions::default()).await,
            Outcome::Applied { .. }
        ));
        sources.push(s);
    }
    let fill = started.elapsed();
    let mut unchanged = Vec::new();
    let mut baseline = Vec::new();
    for round in 0..runs {
        let s = &sources[round % SOURCES];
        let SpecLocation::File(path) = &s.location else {
            unreachable!()
        };
        let t = Instant::now();
        let bytes = std::fs::read(path).unwrap();
        black_box(Sha256::digest(&bytes));
        baseline.push(t.elapsed());
        let t = Instant::now();
        let outcome = reconcile(&store, s, ReconcileOptions::default()).await;
        unchanged.push(t.elapsed());
        assert!(matches!(outcome, Outcome::Unchanged { .. }));
    }
    println!(
        "\n### {label}: unchanged source, catalogue of {} actions in {SOURCES} sources\n",
        SOURCES * PER_SOURCE
    );
    println!(
        "Filling the catalogue (20 first applies of {PER_SOURCE} operations): {} ms in all.\n",
        ms(fill)
    );
    println!(
        "| what | median (ms) | baseline: read + SHA-256 of the file (ms) | ratio |\n|---|---:|---:|---:|"
    );
    let (u, b) = (median(unchanged), median(baseline));
    println!(
        "| reconcile, unchanged ({runs} runs) | {} | {} | {:.1}x |",
        ms(u),
        ms(b),
        u.as_secs_f64() / b.as_secs_f64()
    );

    // 2. The large specs.
    if large.is_empty() {
        return;
    }
    println!("\n### {label}: large specs\n");
    println!(
        "| spec | actions | baseline parse (ms) | first apply (ms) | re-plan (ms) | unchanged (ms) | first apply / parse | re-plan / parse |\n|---|---:|---:|---:|---:|---:|---:|---:|"
    );
    let few = runs.clamp(3, 7);
    for path in large {
        let name = path
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .replace('.', "-");
        let bytes = std::fs::read(path).unwrap();
        let parse_times: Vec<Duration> = (0..few)
            .map(|_| {
                let t = Instant::now();
                black_box(actionsync::spec::parse_document(&bytes, usize::MAX).ok());
                t.elapsed()
            })
            .collect();
        let mut first = Vec::new();
        let mut replan = Vec::new();
        let mut same = Vec::new();
        let mut actions = 0;
        for round in 0..few {
            let s = source(&format!("{name}-{round}"), path);
            let t = Instant::now();
            let outcome = reconcile(
                &store,
                &s,
                ReconcileOptions {
                    force: true,
                    ..ReconcileOptions::default()
                },
            )
            .await;
            first.push(t.elapsed());
            match &outcome {
                Outcome::Applied { plan, .. } => actions = plan.counts.created,
                other => panic!(
                    "{name}: not applied: {:?}",
                    other.plan().map(|p| &p.refusals)
                ),
            }
            let t = Instant::now();
            let plan = reconcile(
                &store,
                &s,
                ReconcileOptions {
                    dry_run: true,
                    even_if_unchanged: true,
                    ..ReconcileOptions::default()
                },
            )
            .await;
            replan.push(t.elapsed());
            assert!(plan.plan().is_some_and(|p| p.is_empty()));
            let t = Instant::now();
            let outcome = reconcile(&store, &s, ReconcileOptions::default()).await;
            same.push(t.elapsed());
            assert!(matches!(outcome, Outcome::Unchanged { .. }));
            // Names are unique across sources: make room for the next copy.
            reconcile(
                &store,
                &SourceSpec {
                    location: SpecLocation::Bytes {
                        name: "empty".into(),
                        bytes: b"openapi: 3.0.3\ninfo: {title: e, version: '1'}\npaths: {}\n"
                            .to_vec(),
                    },
                    ..s.clone()
                },
                ReconcileOptions {
                    force: true,
                    prune: true,
                    ..ReconcileOptions::default()
                },
            )
            .await;
        }
        let (p, f, r, u) = (
            median(parse_times),
            median(first),
            median(replan),
            median(same),
        );
        println!(
            "| {} | {actions} | {} | {} | {} | {} | {:.1}x | {:.1}x |",
            path.file_name().unwrap().to_string_lossy(),
            ms(p),
            ms(f),
            ms(r),
            ms(u),
            f.as_secs_f64() / p.as_secs_f64(),
            r.as_secs_f64() / p.as_secs_f64()
        );
    }
}

fn main() {
    let mut runs = 50;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--runs" {
            runs = args.next().and_then(|n| n.parse().ok()).unwrap_or(runs);
        }
    }
    let large_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/specs/large");
    let mut large: Vec<PathBuf> = std::fs::read_dir(&large_dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    large.sort();
    if large.is_empty() {
        println!("SKIPPED (large specs): {} is absent", large_dir.display());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        println!("Medians; {runs} runs for the unchanged source, 3 to 7 for the large specs.");
        let dir = tempfile::tempdir().unwrap();
        let sqlite = store::open("sqlite://bench.db", dir.path()).await.unwrap();
        bench_backend("SQLite", sqlite, dir.path(), runs, &large).await;
        match std::env::var("ACTIONSYNC_TEST_POSTGRES") {
            Ok(url) => {
                let admin = sqlx::PgPool::connect(&url).await.unwrap();
                let schema = format!("bench_{}", std::process::id());
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                    .execute(&admin)
                    .await
                    .unwrap();
                let pg = store::open(
                    &format!("{url}?options=-c%20search_path%3D{schema}"),
                    dir.path(),
                )
                .await
                .unwrap();
                let pg_dir = tempfile::tempdir().unwrap();
                bench_backend("PostgreSQL", pg, pg_dir.path(), runs, &large).await;
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                    .execute(&admin)
                    .await;
            }
            Err(_) => println!("\nSKIPPED (PostgreSQL): ACTIONSYNC_TEST_POSTGRES is unset"),
        }
    });
}
