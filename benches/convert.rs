//! Convert time against plain parse time (issue 2).
//!
//! For each spec in `large/` of the shared corpus (`ACTIONSYNC_SHARED_SPECS`,
//! default `../shared/specs`), or the paths given on the command line, the file
//! is read once, then three things are timed, interleaved so that they share the
//! machine's noise:
//!
//! - **baseline**: the bytes parsed into a `serde_json::Value` the plain way
//!   (`serde_json::from_slice`, or `serde_yaml::from_slice` for YAML; when that
//!   fails, our own `parse_document` stands in and the output says so);
//! - **ours**: `actionsync::spec::parse_document` alone;
//! - **convert**: `source::load` of the bytes, then `convert::convert` (parse +
//!   resolve + convert), with `load` also timed on its own.
//!
//! Two warm-up runs of each, then `--runs N` (default 15) rounds. Prints a
//! Markdown table of medians and p90s. Run with `cargo bench --bench convert`.

mod common;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use actionsync::convert::{self, ConvertOptions};
use actionsync::source::{self, LoadOptions, SpecLocation};
use actionsync::spec;
use url::Url;

const WARMUP: usize = 2;
const DEFAULT_RUNS: usize = 15;

struct Args {
    runs: usize,
    paths: Vec<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut runs = DEFAULT_RUNS;
    let mut paths = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--runs" {
            let value = args.next().ok_or("--runs needs a number")?;
            runs = value
                .parse()
                .map_err(|_| format!("--runs: `{value}` is not a number"))?;
        } else if let Some(value) = arg.strip_prefix("--runs=") {
            runs = value
                .parse()
                .map_err(|_| format!("--runs: `{value}` is not a number"))?;
        } else if arg.starts_with("--") {
            // Cargo passes `--bench`; other harness flags mean nothing here.
        } else {
            paths.push(PathBuf::from(arg));
        }
    }
    if runs == 0 {
        return Err("--runs must be at least 1".to_string());
    }
    Ok(Args { runs, paths })
}

/// Which plain parser serves as the baseline for a spec.
#[derive(Clone, Copy)]
enum Baseline {
    Json,
    Yaml,
    /// The plain parser failed on this spec; `parse_document` stands in.
    Ours,
}

impl Baseline {
    fn run(self, bytes: &[u8]) -> Result<serde_json::Value, String> {
        match self {
            Baseline::Json => {
                serde_json::from_slice::<serde_json::Value>(bytes).map_err(|e| e.to_string())
            }
            Baseline::Yaml => {
                serde_yaml::from_slice::<serde_json::Value>(bytes).map_err(|e| e.to_string())
            }
            Baseline::Ours => spec::parse_document(bytes, usize::MAX)
                .map(|(v, _)| v)
                .map_err(|e| e.to_string()),
        }
    }

    fn label(self) -> &'static str {
        match self {
            Baseline::Json => "serde_json",
            Baseline::Yaml => "serde_yaml",
            Baseline::Ours => "parse_document",
        }
    }
}

fn options() -> ConvertOptions {
    ConvertOptions {
        source: "bench".into(),
        base_url: Some(Url::parse("https://api.example.com").expect("a valid URL")),
        ..Default::default()
    }
}

fn time_baseline(baseline: Baseline, bytes: &[u8]) -> Duration {
    let started = Instant::now();
    let value = black_box(baseline.run(black_box(bytes)));
    let elapsed = started.elapsed();
    drop(value);
    elapsed
}

fn time_ours(bytes: &[u8]) -> Duration {
    let started = Instant::now();
    let value = black_box(spec::parse_document(black_box(bytes), usize::MAX));
    let elapsed = started.elapsed();
    drop(value);
    elapsed
}

/// Full convert (load + convert) and, within it, load alone. The bytes are cloned
/// into the location before the clock starts; results are dropped after it stops.
fn time_convert(
    name: &str,
    bytes: &[u8],
    load: &LoadOptions,
    opts: &ConvertOptions,
) -> (Duration, Duration) {
    let location = SpecLocation::Bytes {
        name: name.to_string(),
        bytes: bytes.to_vec(),
    };
    let started = Instant::now();
    let spec = black_box(source::load(black_box(&location), load));
    let loaded = started.elapsed();
    let conversion = spec.as_ref().ok().map(|s| convert::convert(s, opts));
    let conversion = black_box(conversion);
    let elapsed = started.elapsed();
    drop(conversion);
    drop(spec);
    (elapsed, loaded)
}

struct Stats {
    median: Duration,
    p90: Duration,
}

fn stats(samples: &[Duration]) -> Stats {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    };
    // Nearest rank.
    let p90 = sorted[(n * 9).div_ceil(10).max(1) - 1];
    Stats { median, p90 }
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

struct Row {
    name: String,
    size: usize,
    operations: usize,
    actions: usize,
    baseline: Baseline,
    /// Why the plain parser could not serve as the baseline, if it could not.
    fallback: Option<String>,
    base: Stats,
    ours: Stats,
    full: Stats,
    load: Stats,
}

fn bench_spec(path: &Path, runs: usize) -> Result<Row, String> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| path.display().to_string());
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let mut baseline = if is_json {
        Baseline::Json
    } else {
        Baseline::Yaml
    };
    let mut fallback = None;
    if let Err(e) = baseline.run(&bytes) {
        fallback = Some(format!("{} cannot parse it ({e})", baseline.label()));
        baseline = Baseline::Ours;
        baseline.run(&bytes).map_err(|e| format!("{name}: {e}"))?;
    }
    let load = LoadOptions {
        max_bytes: usize::MAX,
        ..LoadOptions::default()
    };
    let opts = options();
    let location = SpecLocation::Bytes {
        name: name.clone(),
        bytes: bytes.clone(),
    };
    let spec = source::load(&location, &load).map_err(|e| format!("{name}: {e}"))?;
    let conversion = convert::convert(&spec, &opts);
    let (operations, actions) = (conversion.operation_count(), conversion.actions.len());
    drop((conversion, spec, location));

    for _ in 0..WARMUP {
        time_baseline(baseline, &bytes);
        time_ours(&bytes);
        time_convert(&name, &bytes, &load, &opts);
    }
    let mut base = Vec::with_capacity(runs);
    let mut ours = Vec::with_capacity(runs);
    let mut full = Vec::with_capacity(runs);
    let mut loaded = Vec::with_capacity(runs);
    for round in 0..runs {
        // Rotate the order so no measurement always follows the same one.
        for slot in 0..3 {
            match (round + slot) % 3 {
                0 => base.push(time_baseline(baseline, &bytes)),
                1 => ours.push(time_ours(&bytes)),
                _ => {
                    let (f, l) = time_convert(&name, &bytes, &load, &opts);
                    full.push(f);
                    loaded.push(l);
                }
            }
        }
    }
    Ok(Row {
        name,
        size: bytes.len(),
        operations,
        actions,
        baseline,
        fallback,
        base: stats(&base),
        ours: stats(&ours),
        full: stats(&full),
        load: stats(&loaded),
    })
}

fn main() {
    actionsync::allocator::configure();
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let mut paths = args.paths;
    if paths.is_empty() {
        let dir = common::shared_specs().join("large");
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(_) => {
                println!("SKIPPED: {} absent", dir.display());
                return;
            }
        };
        paths = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
    }
    paths.sort();

    println!(
        "{} warm-up + {} runs of each, interleaved; times in ms, median (p90).",
        WARMUP, args.runs
    );
    println!(
        "baseline parse = serde_json::from_slice (.json) or serde_yaml::from_slice (YAML) into a Value; \
         our parse = spec::parse_document; convert (full) = source::load + convert::convert.\n"
    );
    println!(
        "| spec | size (KiB) | ops | actions | baseline parse | our parse | convert (full) | of which load | convert / baseline |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut notes = Vec::new();
    let mut failed = false;
    for path in &paths {
        match bench_spec(path, args.runs) {
            Ok(row) => {
                let ratio = row.full.median.as_secs_f64() / row.base.median.as_secs_f64();
                let marker = match &row.fallback {
                    Some(why) => {
                        notes.push(format!(
                            "\\* {}: {why}; `{}` is the baseline.",
                            row.name,
                            row.baseline.label()
                        ));
                        "\\*"
                    }
                    None => "",
                };
                println!(
                    "| {} | {} | {} | {} | {} ({}){marker} | {} ({}) | {} ({}) | {} ({}) | {:.2}x |",
                    row.name,
                    row.size / 1024,
                    row.operations,
                    row.actions,
                    ms(row.base.median),
                    ms(row.base.p90),
                    ms(row.ours.median),
                    ms(row.ours.p90),
                    ms(row.full.median),
                    ms(row.full.p90),
                    ms(row.load.median),
                    ms(row.load.p90),
                    ratio,
                );
            }
            Err(e) => {
                eprintln!("error: {e}");
                failed = true;
            }
        }
    }
    if !notes.is_empty() {
        println!();
        for note in notes {
            println!("{note}");
        }
    }
    if failed {
        std::process::exit(1);
    }
}
