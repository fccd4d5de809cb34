//! The catalogue's costs (issue 3), each next to a baseline timed in the same run:
//!
//! 1. **unchanged**: reconciling a source whose spec did not change, in a catalogue
//!    of 10,000 actions across 20 sources; baseline: reading and hashing its file.
//! 2. **large specs**: the first apply of each spec in `large/` of the shared
//!    corpus (`ACTIONSYNC_SHARED_SPECS`, default `../shared/specs`), and of those
//!    `ACTIONSYNC_BENCH_SPECS` or the arguments name (Microsoft Graph,
//!    Kubernetes, GitHub), as a fresh source, the unchanged reconcile, a
//!    re-plan of the same spec (forced past the unchanged check: read, convert,
//!    plan), and a re-plan after one operation changed; baselines: converting the
//!    spec (load and convert, as `actionsync convert` does) and parsing the file
//!    into a `serde_json::Value`, timed in the same rounds.
//!
//! On SQLite, and on PostgreSQL too when `ACTIONSYNC_TEST_POSTGRES` is set.
//! `cargo bench --bench catalogue [-- --runs N] [SPEC…]`. Prints Markdown tables
//! of medians.

mod common;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use actionsync::convert::{Conversion, ConvertOptions};
use actionsync::plan::PlanOptions;
use actionsync::source::{LoadOptions, SpecLocation};
use actionsync::store::{self, AnyStore, AppliedBy, SpecBlob, Store};
use actionsync::sync::{self, Outcome, ReconcileOptions, SourceSpec, Timings};
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
        name_prefix: None,
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
    reconcile_timed(store, s, options).await.0
}

async fn reconcile_timed(
    store: &AnyStore,
    s: &SourceSpec,
    options: ReconcileOptions<'_>,
) -> (Outcome, Timings) {
    match sync::reconcile(store, s, options).await {
        Ok(done) => done,
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
        "| spec | actions | parse (ms) | convert (ms) | first apply (ms) | re-plan, same spec (ms) | re-plan, one operation changed (ms) | unchanged (ms) | first apply / convert | re-plan (one) / convert |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    let few = runs.clamp(3, 7);
    let mut steps = Vec::new();
    for path in large {
        let name = path
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .replace('.', "-");
        let bytes = std::fs::read(path).unwrap();
        let mut parse_times = Vec::new();
        let mut convert_times = Vec::new();
        let mut first = Vec::new();
        let mut first_steps = Vec::new();
        let mut replan = Vec::new();
        let mut replan_one = Vec::new();
        let mut replan_steps = Vec::new();
        let mut same = Vec::new();
        let mut actions = 0;
        for round in 0..few {
            let s = source(&format!("{name}-{round}"), path);
            // The baselines, interleaved with what they are the baseline of.
            let t = Instant::now();
            black_box(actionsync::spec::parse_document(&bytes, usize::MAX).ok());
            parse_times.push(t.elapsed());
            let t = Instant::now();
            let loaded = actionsync::source::load(&s.location, &s.load).unwrap();
            let conversion = actionsync::convert::convert(&loaded, &s.convert);
            convert_times.push(t.elapsed());
            drop(loaded);

            let t = Instant::now();
            let (outcome, timings) = reconcile_timed(
                &store,
                &s,
                ReconcileOptions {
                    force: true,
                    ..ReconcileOptions::default()
                },
            )
            .await;
            first.push(t.elapsed());
            first_steps.push(timings);
            match &outcome {
                Outcome::Applied { plan, .. } => actions = plan.counts.created,
                other => panic!(
                    "{name}: not applied: {:?}",
                    other.plan().map(|p| &p.refusals)
                ),
            }
            let t = Instant::now();
            let outcome = reconcile(&store, &s, ReconcileOptions::default()).await;
            same.push(t.elapsed());
            assert!(matches!(outcome, Outcome::Unchanged { .. }));
            let t = Instant::now();
            let plan = reconcile(&store, &s, replan_options()).await;
            replan.push(t.elapsed());
            assert!(plan.plan().is_some_and(|p| p.is_empty()));

            // One operation's description differs between the catalogue and the spec.
            change_one_action(&store, &s, conversion).await;
            let t = Instant::now();
            let (plan, timings) = reconcile_timed(&store, &s, replan_options()).await;
            replan_one.push(t.elapsed());
            replan_steps.push(timings);
            assert_eq!(plan.plan().map(|p| p.counts.updated), Some(1), "{name}");

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
        let (p, c, f, r, r1, u) = (
            median(parse_times),
            median(convert_times),
            median(first),
            median(replan),
            median(replan_one),
            median(same),
        );
        println!(
            "| {} | {actions} | {} | {} | {} | {} | {} | {} | {:.2}x | {:.2}x |",
            path.file_name().unwrap().to_string_lossy(),
            ms(p),
            ms(c),
            ms(f),
            ms(r),
            ms(r1),
            ms(u),
            f.as_secs_f64() / c.as_secs_f64(),
            r1.as_secs_f64() / c.as_secs_f64()
        );
        steps.push((
            path.file_name().unwrap().to_string_lossy().to_string(),
            median_steps(first_steps),
            median_steps(replan_steps),
        ));
    }
    println!(
        "\n{label}, where the time goes (medians of each step, ms: load / convert / plan / apply):\n"
    );
    println!("| spec | first apply | re-plan, one operation changed |\n|---|---|---|");
    for (spec, first, replan) in steps {
        println!("| {spec} | {first} | {replan} |");
    }
}

/// A dry-run plan of the source's spec, past the unchanged check.
fn replan_options() -> ReconcileOptions<'static> {
    ReconcileOptions {
        dry_run: true,
        even_if_unchanged: true,
        ..ReconcileOptions::default()
    }
}

/// Applies `conversion` with its first action's description changed, so that the
/// catalogue and the spec differ in one operation.
async fn change_one_action(store: &AnyStore, s: &SourceSpec, mut conversion: Conversion) {
    conversion.actions[0]
        .spec
        .description
        .push_str(" (changed by the bench)");
    let options = PlanOptions {
        force: true,
        max_removed_share: 1.0,
        ..PlanOptions::default()
    };
    let plan = sync::plan_against(
        store,
        &s.name,
        "bench-one",
        &conversion,
        options,
        &s.name_prefix(),
    )
    .await
    .unwrap();
    assert_eq!(plan.counts.updated, 1, "{}", s.name);
    let blob = SpecBlob {
        hash: "bench-one",
        bytes: b"",
    };
    store
        .apply(&plan, blob, "bench-one", AppliedBy::Cli, None)
        .await
        .unwrap();
}

/// Medians of each step, as `load / convert / plan / apply` in ms.
fn median_steps(steps: Vec<Timings>) -> String {
    let step = |f: fn(&Timings) -> Duration| ms(median(steps.iter().map(f).collect()));
    format!(
        "{} / {} / {} / {}",
        step(|t| t.load),
        step(|t| t.convert),
        step(|t| t.plan),
        step(|t| t.apply)
    )
}

/// The environment variable listing more specs to measure (paths, `:`-separated),
/// such as Microsoft Graph, Kubernetes and GitHub.
const EXTRA_ENV: &str = "ACTIONSYNC_BENCH_SPECS";

/// The specs `ACTIONSYNC_BENCH_SPECS` and the arguments after `--runs N` name,
/// skipping (and saying so) those that are absent.
fn extra_specs() -> Vec<PathBuf> {
    let mut named: Vec<PathBuf> = std::env::var_os(EXTRA_ENV)
        .map(|v| std::env::split_paths(&v).collect())
        .unwrap_or_default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => {
                args.next();
            }
            "--bench" => {}
            other => named.push(PathBuf::from(other)),
        }
    }
    if named.is_empty() {
        println!(
            "SKIPPED (more specs): none named; list them in {EXTRA_ENV} (`:`-separated) or as arguments"
        );
    }
    named.retain(|path| {
        let present = path.is_file();
        if !present {
            println!("SKIPPED: {} is absent", path.display());
        }
        present
    });
    named
}

fn main() {
    actionsync::allocator::configure();
    let mut runs = 50;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--runs" {
            runs = args.next().and_then(|n| n.parse().ok()).unwrap_or(runs);
        }
    }
    let large_dir = common::shared_specs().join("large");
    let mut large: Vec<PathBuf> = std::fs::read_dir(&large_dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    large.sort();
    if large.is_empty() {
        println!("SKIPPED (large specs): {} is absent", large_dir.display());
    }
    large.extend(extra_specs());
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
                // The URL may carry a query already (`?host=/var/run/postgresql`
                // for a Unix socket).
                let joiner = if url.contains('?') { '&' } else { '?' };
                let pg = store::open(
                    &format!("{url}{joiner}options=-c%20search_path%3D{schema}"),
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
