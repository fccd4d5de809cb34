//! Our convert against the fastest peer, whole process against whole process
//! (issue 10).
//!
//! For each large spec (every file in `$ACTIONSYNC_SHARED_SPECS/large`, by
//! default `../shared/specs/large`, or the paths given on the command line), three
//! things run interleaved, the order rotating each round, one warm-up then
//! `--runs N` (default 7) rounds:
//!
//! - **ours**: the release binary, `actionsync convert SPEC --base-url
//!   https://api.example.com`, standard output on `/dev/null`;
//! - **the peer**: `node benches/peer/list-tools.cjs PEER_DIR SPEC`, standard
//!   output on `/dev/null`: `@apidevtools/swagger-parser` 13 dereferences the spec,
//!   then each operation is printed as a tool (method, path, operationId,
//!   parameters, request body schema);
//! - **baseline**: `serde_json::from_slice::<Value>` of the same bytes
//!   (`serde_yaml` for YAML; our `parse_document` where that fails), timed around
//!   the parse alone, in a child process of this bench (see
//!   `parse_baseline_child` for why).
//!
//! Each child's wall time runs from spawn to `wait4`; its peak RSS is `wait4`'s
//! `ru_maxrss`. Idle footprints, measured the same way: `actionsync --version` and
//! `node -e 0`, so the table can give the peak above idle.
//!
//! The peer is never installed in the repository. Install it once with
//! `npm install --prefix ~/.cache/actionsync-peer @apidevtools/swagger-parser@13`;
//! the bench looks in `$ACTIONSYNC_PEER_DIR` (default `~/.cache/actionsync-peer`),
//! or installs it there itself when `ACTIONSYNC_PEER_INSTALL=1`. Without `node`
//! or the peer it says so and measures ours and the baseline only.
//! `$ACTIONSYNC_BIN` overrides the binary's path. A benchmark measures; it never
//! asserts timings. Run with `cargo bench --bench peer [-- --runs N] [SPEC...]`.

mod common;

use std::fs::File;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use actionsync::spec;

const WARMUP: usize = 1;
const DEFAULT_RUNS: usize = 7;
const BASE_URL: &str = "https://api.example.com";
const PEER_PACKAGE: &str = "@apidevtools/swagger-parser";
const PEER_VERSION: &str = "13";

struct Args {
    runs: usize,
    paths: Vec<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut runs = DEFAULT_RUNS;
    let mut paths = Vec::new();
    let mut args = std::env::args().skip(1);
    let number = |value: &str| -> Result<usize, String> {
        value
            .parse()
            .map_err(|_| format!("--runs: `{value}` is not a number"))
    };
    while let Some(arg) = args.next() {
        if arg == "--runs" {
            runs = number(&args.next().ok_or("--runs needs a number")?)?;
        } else if let Some(value) = arg.strip_prefix("--runs=") {
            runs = number(value)?;
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

/// One finished child: wall time from spawn to reap, and what `wait4` said.
struct Run {
    wall: Duration,
    /// Peak resident set size, in KiB (`ru_maxrss` on Linux).
    max_rss_kib: u64,
    /// User + system CPU time.
    cpu: Duration,
    /// What the child wrote on standard error.
    stderr: String,
}

fn timeval(tv: libc::timeval) -> Duration {
    let secs = u64::try_from(tv.tv_sec).unwrap_or(0);
    let micros = u32::try_from(tv.tv_usec).unwrap_or(0);
    Duration::from_secs(secs) + Duration::from_micros(u64::from(micros))
}

/// Runs `command` with standard output on `/dev/null` and standard error in a
/// temporary file (so a chatty child cannot block on a pipe), and reaps it with
/// `wait4` for its rusage. A failure carries the end of its standard error.
fn run_child(command: &mut Command) -> Result<Run, String> {
    let null = File::create("/dev/null").map_err(|e| format!("/dev/null: {e}"))?;
    let mut stderr = tempfile::tempfile().map_err(|e| format!("a temporary file: {e}"))?;
    let stderr_handle = stderr
        .try_clone()
        .map_err(|e| format!("a temporary file: {e}"))?;
    let started = Instant::now();
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::from(null))
        .stderr(Stdio::from(stderr_handle))
        .spawn()
        .map_err(|e| format!("cannot start {:?}: {e}", command.get_program()))?;
    let pid = libc::pid_t::try_from(child.id()).map_err(|_| "pid out of range".to_string())?;
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero `rusage` is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own unreaped child; `status` and `usage` are valid,
    // writable and live for the call. `child` is not waited on afterwards (dropping
    // a `Child` neither waits nor kills).
    let reaped = loop {
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == -1 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        break r;
    };
    let wall = started.elapsed();
    drop(child);
    if reaped != pid {
        return Err(format!(
            "wait4 on {pid}: {}",
            std::io::Error::last_os_error()
        ));
    }
    let exited_ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    if !exited_ok {
        let text = read_back(&mut stderr);
        let tail: Vec<&str> = text.lines().rev().take(3).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        let how = if libc::WIFEXITED(status) {
            format!("exit status {}", libc::WEXITSTATUS(status))
        } else if libc::WIFSIGNALED(status) {
            format!("signal {}", libc::WTERMSIG(status))
        } else {
            format!("wait status {status}")
        };
        return Err(format!("{how}: {}", tail.join(" / ")));
    }
    Ok(Run {
        wall,
        max_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
        cpu: timeval(usage.ru_utime) + timeval(usage.ru_stime),
        stderr: read_back(&mut stderr),
    })
}

fn read_back(file: &mut File) -> String {
    use std::io::{Read, Seek, SeekFrom};
    let mut text = String::new();
    if file.seek(SeekFrom::Start(0)).is_ok() {
        let mut bytes = Vec::new();
        if file.read_to_end(&mut bytes).is_ok() {
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
    }
    text
}

/// Runs `command` to the end, standard output and error captured (for the
/// one-off commands: versions, the install, `--timings`).
fn output(command: &mut Command) -> Result<(String, String), String> {
    let out = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot start {:?}: {e}", command.get_program()))?;
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    if out.status.success() {
        Ok((stdout, stderr))
    } else {
        Err(format!("{}: {stderr}", out.status))
    }
}

/// The release `actionsync`: `$ACTIONSYNC_BIN`, else the one Cargo built for this
/// bench, else the one next to the bench executable (`target/release/deps/peer-…`
/// → `target/release/actionsync`).
fn find_binary() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("ACTIONSYNC_BIN") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("ACTIONSYNC_BIN={} is not a file", path.display()))
        };
    }
    let mut candidates = Vec::new();
    if let Some(path) = option_env!("CARGO_BIN_EXE_actionsync") {
        candidates.push(PathBuf::from(path));
    }
    if let Ok(exe) = std::env::current_exe()
        && let Some(profile_dir) = exe.parent().and_then(Path::parent)
    {
        candidates.push(profile_dir.join("actionsync"));
    }
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| {
            let looked: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
            format!(
                "the release binary is missing (looked at {}); run `cargo build --release` \
                 first, or set ACTIONSYNC_BIN",
                looked.join(", ")
            )
        })
}

/// The peer, ready to run: node, the installed package and the driver script.
struct Peer {
    node: PathBuf,
    dir: PathBuf,
    script: PathBuf,
    node_version: String,
    version: String,
}

impl Peer {
    fn command(&self, spec: &Path) -> Command {
        let mut command = Command::new(&self.node);
        command.arg(&self.script).arg(&self.dir).arg(spec);
        command
    }
}

fn peer_dir() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("ACTIONSYNC_PEER_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let home = std::env::var_os("HOME").ok_or("neither ACTIONSYNC_PEER_DIR nor HOME is set")?;
    Ok(Path::new(&home).join(".cache/actionsync-peer"))
}

/// Finds node and the peer, installing the peer only when
/// `ACTIONSYNC_PEER_INSTALL=1` asks for it. `Err` is the reason to skip it.
fn find_peer() -> Result<Peer, String> {
    let node = PathBuf::from(std::env::var_os("ACTIONSYNC_NODE").unwrap_or_else(|| "node".into()));
    let (node_version, _) = output(Command::new(&node).arg("--version"))
        .map_err(|e| format!("no Node.js (`{} --version`: {e})", node.display()))?;
    let dir = peer_dir()?;
    let package_json = dir
        .join("node_modules")
        .join(PEER_PACKAGE)
        .join("package.json");
    if !package_json.is_file() {
        if std::env::var("ACTIONSYNC_PEER_INSTALL").is_ok_and(|v| v == "1") {
            eprintln!(
                "installing {PEER_PACKAGE}@{PEER_VERSION} into {} (ACTIONSYNC_PEER_INSTALL=1)",
                dir.display()
            );
            output(
                Command::new("npm")
                    .arg("install")
                    .arg("--prefix")
                    .arg(&dir)
                    .arg(format!("{PEER_PACKAGE}@{PEER_VERSION}")),
            )
            .map_err(|e| format!("`npm install` failed: {e}"))?;
        } else {
            return Err(format!(
                "{PEER_PACKAGE} is not installed in {} (run `npm install --prefix {} \
                 {PEER_PACKAGE}@{PEER_VERSION}`, set ACTIONSYNC_PEER_DIR, or set \
                 ACTIONSYNC_PEER_INSTALL=1)",
                dir.display(),
                dir.display()
            ));
        }
    }
    let manifest = std::fs::read_to_string(&package_json)
        .map_err(|e| format!("{}: {e}", package_json.display()))?;
    let version = serde_json::from_str::<serde_json::Value>(&manifest)
        .ok()
        .and_then(|v| v.get("version").and_then(|v| v.as_str()).map(String::from))
        .unwrap_or_else(|| "?".to_string());
    if version.split('.').next() != Some(PEER_VERSION) {
        return Err(format!(
            "{PEER_PACKAGE} {version} in {} is not version {PEER_VERSION}",
            dir.display()
        ));
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peer/list-tools.cjs");
    if !script.is_file() {
        return Err(format!("the driver {} is missing", script.display()));
    }
    Ok(Peer {
        node,
        dir,
        script,
        node_version,
        version,
    })
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
            Baseline::Json => "serde_json::from_slice",
            Baseline::Yaml => "serde_yaml::from_slice",
            Baseline::Ours => "spec::parse_document",
        }
    }
}

/// The baseline's child: `peer --parse-baseline SPEC` reads the file, chooses
/// the parser (as `benches/convert.rs` does), times one parse and writes
/// `parsed <parser> <nanoseconds>` on standard error, and `fallback <why>` first
/// if the plain parser failed. It runs in a process of its own so that the bench
/// never holds a spec: Linux counts the peak RSS of the process that spawns a
/// child (its memory before the `exec`) in the child's `ru_maxrss`.
fn parse_baseline_child(path: &Path) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let plain = if is_json {
        Baseline::Json
    } else {
        Baseline::Yaml
    };
    let started = Instant::now();
    let mut parsed = black_box(plain.run(black_box(&bytes)));
    let mut elapsed = started.elapsed();
    let mut baseline = plain;
    if let Err(e) = &parsed {
        eprintln!("fallback {} cannot parse it ({e})", plain.label());
        baseline = Baseline::Ours;
        let started = Instant::now();
        parsed = black_box(baseline.run(black_box(&bytes)));
        elapsed = started.elapsed();
    }
    parsed.map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("parsed {} {}", baseline.label(), elapsed.as_nanos());
    Ok(())
}

/// One baseline run: the child's own parse time, and its `wait4` figures.
struct BaselineRun {
    parse: Duration,
    parser: String,
    fallback: Option<String>,
    run: Run,
}

fn run_baseline(spec: &Path) -> Result<BaselineRun, String> {
    let exe = std::env::current_exe().map_err(|e| format!("the bench's own path: {e}"))?;
    let run = run_child(Command::new(exe).arg("--parse-baseline").arg(spec))?;
    let mut fallback = None;
    let mut parsed = None;
    for line in run.stderr.lines() {
        if let Some(why) = line.strip_prefix("fallback ") {
            fallback = Some(why.to_string());
        } else if let Some(rest) = line.strip_prefix("parsed ") {
            let mut words = rest.split(' ');
            if let (Some(parser), Some(nanos)) = (words.next(), words.next())
                && let Ok(nanos) = nanos.parse::<u64>()
            {
                parsed = Some((parser.to_string(), Duration::from_nanos(nanos)));
            }
        }
    }
    let (parser, parse) =
        parsed.ok_or_else(|| format!("the baseline child said: {}", run.stderr.trim()))?;
    Ok(BaselineRun {
        parse,
        parser,
        fallback,
        run,
    })
}

fn median(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let n = sorted.len();
    if n == 0 {
        Duration::ZERO
    } else if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    }
}

fn median_u64(samples: &[u64]) -> u64 {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    if n == 0 {
        0
    } else if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    }
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 100.0 {
        format!("{ms:.0}")
    } else {
        format!("{ms:.1}")
    }
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

/// The medians of one kind of child over the timed rounds.
struct ChildStats {
    wall: Duration,
    cpu: Duration,
    max_rss_kib: u64,
    /// Spread of the wall times: min and max.
    min: Duration,
    max: Duration,
}

fn child_stats(runs: &[Run]) -> ChildStats {
    let walls: Vec<Duration> = runs.iter().map(|r| r.wall).collect();
    ChildStats {
        wall: median(&walls),
        cpu: median(&runs.iter().map(|r| r.cpu).collect::<Vec<_>>()),
        max_rss_kib: median_u64(&runs.iter().map(|r| r.max_rss_kib).collect::<Vec<_>>()),
        min: walls.iter().copied().min().unwrap_or_default(),
        max: walls.iter().copied().max().unwrap_or_default(),
    }
}

struct Row {
    name: String,
    size: u64,
    parser: String,
    fallback: Option<String>,
    base: Duration,
    /// The baseline child's peak RSS (median), in KiB.
    base_rss_kib: u64,
    ours: ChildStats,
    /// The peer's figures, or why there are none for this spec.
    peer: Result<ChildStats, String>,
    /// Our `--timings` line and the peer's tool count, from the warm-up.
    our_timings: Option<String>,
    peer_tools: Option<String>,
}

fn our_command(binary: &Path, spec: &Path) -> Command {
    let mut command = Command::new(binary);
    command
        .arg("convert")
        .arg(spec)
        .arg("--base-url")
        .arg(BASE_URL);
    command
}

fn bench_spec(path: &Path, runs: usize, binary: &Path, peer: Option<&Peer>) -> Result<Row, String> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| path.display().to_string());
    // The bench never reads the spec itself (see `parse_baseline_child`).
    let size = std::fs::metadata(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .len();
    let first = run_baseline(path).map_err(|e| format!("{name}: baseline: {e}"))?;
    let (parser, fallback) = (first.parser, first.fallback);

    // Warm-up, which also checks both sides work on this spec; our run with
    // `--timings` (not timed) tells where our time goes.
    let our_timings = output(
        our_command(binary, path)
            .arg("--timings")
            .stdout(Stdio::null()),
    )
    .map_err(|e| format!("{name}: actionsync convert failed: {e}"))?
    .1
    .lines()
    .find(|l| l.starts_with("timings:"))
    .map(String::from);
    let mut peer_error = None;
    let mut peer_tools = None;
    if let Some(peer) = peer {
        match output(peer.command(path).stdout(Stdio::null())) {
            Ok((_, stderr)) => peer_tools = stderr.lines().last().map(String::from),
            Err(e) => peer_error = Some(format!("the peer failed: {e}")),
        }
    }
    for _ in 0..WARMUP {
        run_child(&mut our_command(binary, path)).map_err(|e| format!("{name}: ours: {e}"))?;
        if let (Some(peer), None) = (peer, &peer_error)
            && let Err(e) = run_child(&mut peer.command(path))
        {
            peer_error = Some(format!("the peer failed: {e}"));
        }
    }

    let run_peer = peer.filter(|_| peer_error.is_none());
    let mut ours = Vec::with_capacity(runs);
    let mut theirs = Vec::with_capacity(runs);
    let mut base = Vec::with_capacity(runs);
    for round in 0..runs {
        // Rotate the order so no measurement always follows the same one.
        for slot in 0..3 {
            match (round + slot) % 3 {
                0 => ours.push(
                    run_child(&mut our_command(binary, path))
                        .map_err(|e| format!("{name}: ours: {e}"))?,
                ),
                1 => {
                    if let (Some(peer), None) = (run_peer, &peer_error) {
                        match run_child(&mut peer.command(path)) {
                            Ok(run) => theirs.push(run),
                            Err(e) => {
                                peer_error = Some(format!("the peer failed: {e}"));
                            }
                        }
                    }
                }
                _ => base.push(run_baseline(path).map_err(|e| format!("{name}: baseline: {e}"))?),
            }
        }
        eprint!(".");
    }
    eprintln!(" {name}");
    let peer = match (peer, peer_error) {
        (None, _) => Err("skipped".to_string()),
        (Some(_), Some(e)) => Err(e),
        (Some(_), None) => Ok(child_stats(&theirs)),
    };
    Ok(Row {
        name,
        size,
        parser,
        fallback,
        base: median(&base.iter().map(|b| b.parse).collect::<Vec<_>>()),
        base_rss_kib: median_u64(&base.iter().map(|b| b.run.max_rss_kib).collect::<Vec<_>>()),
        ours: child_stats(&ours),
        peer,
        our_timings,
        peer_tools,
    })
}

/// Peak RSS of a command that does nothing much: the process's idle footprint.
/// The median of five runs.
fn idle_rss(mut make: impl FnMut() -> Command) -> Result<u64, String> {
    let mut peaks = Vec::new();
    for _ in 0..5 {
        peaks.push(run_child(&mut make())?.max_rss_kib);
    }
    Ok(median_u64(&peaks))
}

fn default_specs() -> Result<Vec<PathBuf>, String> {
    let shared = std::env::var_os("ACTIONSYNC_SHARED_SPECS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/specs"));
    let dir = shared.join("large");
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect())
}

fn main() {
    actionsync::allocator::configure();
    let mut argv = std::env::args().skip(1);
    if argv.next().as_deref() == Some("--parse-baseline") {
        let Some(path) = argv.next() else {
            eprintln!("error: --parse-baseline needs a spec");
            std::process::exit(2);
        };
        if let Err(e) = parse_baseline_child(Path::new(&path)) {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
        return;
    }
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let mut paths = args.paths;
    if paths.is_empty() {
        match default_specs() {
            Ok(found) => paths = found,
            Err(e) => {
                println!("SKIPPED: no large specs ({e})");
                return;
            }
        }
        paths.sort();
    }
    let binary = match find_binary() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let peer = match find_peer() {
        Ok(peer) => Some(peer),
        Err(why) => {
            println!("SKIPPED the peer: {why}. Measuring ours and the baseline only.\n");
            None
        }
    };
    let (our_idle, peer_idle) = match (
        idle_rss(|| {
            let mut c = Command::new(&binary);
            c.arg("--version");
            c
        }),
        peer.as_ref().map(|p| {
            idle_rss(|| {
                let mut c = Command::new(&p.node);
                c.arg("-e").arg("0");
                c
            })
        }),
    ) {
        (Ok(ours), theirs) => (ours, theirs.and_then(Result::ok)),
        (Err(e), _) => {
            eprintln!("error: `actionsync --version`: {e}");
            std::process::exit(1);
        }
    };

    println!(
        "{WARMUP} warm-up + {} rounds, the three interleaved, order rotating; medians.",
        args.runs
    );
    println!(
        "ours = `{} convert SPEC --base-url {BASE_URL} > /dev/null`; idle (`--version`) peak RSS {} MiB.",
        binary.display(),
        mib(our_idle)
    );
    match &peer {
        Some(p) => println!(
            "peer = `node {} {} SPEC > /dev/null` ({PEER_PACKAGE} {}, Node {}); idle (`node -e 0`) peak RSS {} MiB.",
            p.script.display(),
            p.dir.display(),
            p.version,
            p.node_version,
            peer_idle.map_or_else(|| "?".to_string(), mib)
        ),
        None => println!("peer = skipped."),
    }
    println!(
        "parse baseline = serde_json::from_slice::<Value> (serde_yaml for YAML) of the same bytes, \
         timed around the parse alone in a child of the bench (no process start, no file read).\n"
    );
    println!(
        "| spec | size (KiB) | ours (ms) | peer (ms) | ours / peer | parse baseline (ms) | our peak RSS (MiB) | above idle | peer peak RSS (MiB) | above idle | our (peak − idle) / size |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut notes = Vec::new();
    let mut details = Vec::new();
    let mut failed = false;
    for path in &paths {
        let row = match bench_spec(path, args.runs, &binary, peer.as_ref()) {
            Ok(row) => row,
            Err(e) => {
                eprintln!("error: {e}");
                failed = true;
                continue;
            }
        };
        let marker = match &row.fallback {
            Some(why) => {
                notes.push(format!(
                    "\\* {}: {why}; `{}` is the baseline.",
                    row.name, row.parser
                ));
                "\\*"
            }
            None => "",
        };
        let above = row.ours.max_rss_kib.saturating_sub(our_idle);
        let (peer_ms, ratio, peer_rss, peer_above) = match &row.peer {
            Ok(p) => (
                ms(p.wall),
                format!("{:.2}x", row.ours.wall.as_secs_f64() / p.wall.as_secs_f64()),
                mib(p.max_rss_kib),
                peer_idle.map_or_else(|| "?".to_string(), |i| mib(p.max_rss_kib.saturating_sub(i))),
            ),
            Err(why) => {
                if why != "skipped" {
                    notes.push(format!("{}: {why}", row.name));
                }
                ("—".into(), "—".into(), "—".into(), "—".into())
            }
        };
        println!(
            "| {} | {} | {} | {peer_ms} | {ratio} | {}{marker} | {} | {} | {peer_rss} | {peer_above} | {:.2}x |",
            row.name,
            row.size / 1024,
            ms(row.ours.wall),
            ms(row.base),
            mib(row.ours.max_rss_kib),
            mib(above),
            (above * 1024) as f64 / row.size as f64,
        );
        let mut detail = format!(
            "- {}: ours {}–{} ms (CPU {} ms)",
            row.name,
            ms(row.ours.min),
            ms(row.ours.max),
            ms(row.ours.cpu)
        );
        if let Ok(p) = &row.peer {
            detail.push_str(&format!(
                "; peer {}–{} ms (CPU {} ms)",
                ms(p.min),
                ms(p.max),
                ms(p.cpu)
            ));
        }
        detail.push_str(&format!(
            "; baseline child's peak RSS {} MiB",
            mib(row.base_rss_kib)
        ));
        if let Some(t) = &row.our_timings {
            detail.push_str(&format!("; our {t}"));
        }
        if let Some(t) = &row.peer_tools {
            detail.push_str(&format!("; peer: {t}"));
        }
        details.push(detail);
    }
    if !notes.is_empty() {
        println!();
        for note in notes {
            println!("{note}");
        }
    }
    println!(
        "\nSpread (min–max wall time), median CPU time (user + system), and the warm-up's breakdown:\n"
    );
    for detail in details {
        println!("{detail}");
    }
    // What leaks into each child's peak is this process's own memory high-water
    // mark (VmHWM; `getrusage` would also count cargo's, from before our exec).
    if let Some(hwm) = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(String::from)
        })
    {
        println!(
            "\nThe bench's own {} (a floor under every child's peak RSS, the idle runs' included).",
            hwm.split_whitespace().collect::<Vec<_>>().join(" ")
        );
    }
    if failed {
        std::process::exit(1);
    }
}
