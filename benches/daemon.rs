//! The daemon (issue 4): how long from saving a spec file to the change being
//! committed, and what the daemon costs when idle.
//!
//! 1. **latency**: `serve` watches 50 specs (default 300 ms debounce); one file is
//!    changed at a time, 100 times; the time runs from the write to the daemon's
//!    `applied` log line for that source (written after the commit). Baselines
//!    from the same run: the debounce itself, and the same kind of reconcile done
//!    directly in-process (what the daemon does once the burst settled).
//! 2. **idle**: CPU time the daemon uses over 10 s with nothing changing, and its
//!    resident memory, with 50 watched specs and, as a baseline, with 1.
//!
//! `cargo bench --bench daemon [-- --saves N]`. Linux (reads /proc).

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const SPECS: usize = 50;
const OPERATIONS: usize = 20;
const DEBOUNCE_MS: u64 = 300;

fn spec(source: usize, version: usize) -> String {
    let mut out = String::from(
        "openapi: 3.0.3\ninfo: {title: Bench, version: '1'}\nservers: [{url: 'https://api.example.com'}]\npaths:\n",
    );
    for i in 0..OPERATIONS {
        out.push_str(&format!(
            "  /s{source}/things{i}/{{id}}:\n    get:\n      operationId: s{source}GetThing{i}\n      summary: Look up thing {i} of shop {source}, revision {version}\n      parameters: [{{name: id, in: path, required: true, schema: {{type: string}}}}]\n      responses: {{'200': {{description: ok}}}}\n"
        ));
    }
    out
}

struct Daemon {
    child: Child,
    applied: mpsc::Receiver<(String, Instant)>,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `serve` on `dir` and waits until it logged that it is ready.
fn start(dir: &Path) -> Daemon {
    let mut child = Command::new(env!("CARGO_BIN_EXE_actionsync"))
        .args([
            "serve",
            ".",
            "--listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
        ])
        .current_dir(dir)
        // The bench measures the daemon, not the API's rate limits.
        .env("ACTIONSYNC_RATE_LIMIT_PER_TOKEN", "0")
        .env("ACTIONSYNC_RATE_LIMIT_PER_ADDRESS", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start actionsync serve");
    let stderr = child.stderr.take().expect("stderr");
    let (ready_tx, ready_rx) = mpsc::channel();
    let (applied_tx, applied_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let now = Instant::now();
            let Ok(value) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            match value["message"].as_str() {
                Some("applied") => {
                    let _ =
                        applied_tx.send((value["source"].as_str().unwrap_or("").to_string(), now));
                }
                Some(m) if m.starts_with("ready") => {
                    let _ = ready_tx.send(());
                }
                _ => {}
            }
        }
    });
    ready_rx
        .recv_timeout(Duration::from_secs(120))
        .expect("the daemon became ready");
    Daemon {
        child,
        applied: applied_rx,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// CPU ticks (user + system) and resident memory of a process.
fn usage(pid: u32) -> (u64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = fields
        .get(11)
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0)
        + fields
            .get(12)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss_kb = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    (ticks, rss_kb)
}

fn idle(dir: &Path, specs: usize) -> (f64, u64) {
    for i in 0..specs {
        std::fs::write(dir.join(format!("s{i}.yaml")), spec(i, 0)).unwrap();
    }
    let daemon = start(dir);
    std::thread::sleep(Duration::from_secs(2));
    let pid = daemon.child.id();
    let (before, _) = usage(pid);
    std::thread::sleep(Duration::from_secs(10));
    let (after, rss) = usage(pid);
    // Ticks are 1/100 s on Linux: CPU % over the 10 s.
    let cpu = (after - before) as f64 / 100.0 / 10.0 * 100.0;
    (cpu, rss)
}

fn main() {
    actionsync::allocator::configure();
    let mut saves = 100;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--saves" {
            saves = args.next().and_then(|n| n.parse().ok()).unwrap_or(saves);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    for i in 0..SPECS {
        std::fs::write(dir.path().join(format!("s{i}.yaml")), spec(i, 0)).unwrap();
    }
    let daemon = start(dir.path());
    let mut latencies = Vec::new();
    for save in 0..saves {
        let source = save % SPECS;
        let path = dir.path().join(format!("s{source}.yaml"));
        let started = Instant::now();
        std::fs::write(&path, spec(source, save + 1)).unwrap();
        let name = format!("s{source}");
        loop {
            let (applied, at) = daemon
                .applied
                .recv_timeout(Duration::from_secs(30))
                .expect("the change was applied");
            if applied == name {
                latencies.push(at - started);
                break;
            }
        }
        // Let the folder settle so saves do not share a debounce window.
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(daemon);

    // Baseline: the same change reconciled directly, in-process.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let direct: Vec<Duration> = runtime.block_on(async {
        let base = tempfile::tempdir().unwrap();
        let store = actionsync::store::open("sqlite://direct.db", base.path())
            .await
            .unwrap();
        let path = base.path().join("s0.yaml");
        std::fs::write(&path, spec(0, 0)).unwrap();
        let sources = actionsync::config::sources_from_paths(
            std::slice::from_ref(&path),
            &Default::default(),
        )
        .unwrap();
        let source = &sources[0];
        actionsync::sync::reconcile(&store, source, Default::default())
            .await
            .unwrap();
        let mut out = Vec::new();
        for v in 1..=30 {
            std::fs::write(&path, spec(0, v)).unwrap();
            let t = Instant::now();
            actionsync::sync::reconcile(&store, source, Default::default())
                .await
                .unwrap();
            out.push(t.elapsed());
        }
        out
    });

    latencies.sort();
    let mut direct = direct;
    direct.sort();
    println!(
        "### Save → commit ({saves} saves, {SPECS} watched specs of {OPERATIONS} operations, debounce {DEBOUNCE_MS} ms)\n"
    );
    println!("| what | p50 (ms) | p99 (ms) | max (ms) |\n|---|---:|---:|---:|");
    println!(
        "| save → applied (the daemon) | {} | {} | {} |",
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.99)),
        ms(*latencies.last().unwrap())
    );
    println!("| baseline: the debounce | {DEBOUNCE_MS}.0 | {DEBOUNCE_MS}.0 | {DEBOUNCE_MS}.0 |");
    println!(
        "| baseline: the same reconcile in-process (30 runs) | {} | {} | {} |",
        ms(percentile(&direct, 0.5)),
        ms(percentile(&direct, 0.99)),
        ms(*direct.last().unwrap())
    );

    let one = tempfile::tempdir().unwrap();
    let (cpu_one, rss_one) = idle(one.path(), 1);
    let many = tempfile::tempdir().unwrap();
    let (cpu_many, rss_many) = idle(many.path(), SPECS);
    println!("\n### Idle (10 s with nothing changing)\n");
    println!("| watched specs | CPU (% of one core) | resident memory (MiB) |\n|---|---:|---:|");
    println!(
        "| 1 (baseline) | {cpu_one:.2} | {:.1} |",
        rss_one as f64 / 1024.0
    );
    println!(
        "| {SPECS} | {cpu_many:.2} | {:.1} |",
        rss_many as f64 / 1024.0
    );
}
