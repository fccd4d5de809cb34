//! `actionsync serve`, the daemon, run as the real binary in a temporary folder and
//! watched from outside: its HTTP endpoints on 127.0.0.1, its logs (JSON, on
//! standard error), and the catalogue it writes. URL sources are served by a small
//! scripted HTTP server on 127.0.0.1 that this file starts; no other network is
//! used. Every wait is bounded and fails saying what it waited for; no test asserts
//! on how long something took. Every daemon is killed when its test ends, passed
//! or failed.
//!
//! The SIGTERM-during-a-large-apply test also runs on PostgreSQL when
//! `ACTIONSYNC_TEST_POSTGRES` is set.

mod common;
mod util;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actionsync::action::{ActionState, StoredAction};
use actionsync::convert::{self, ConvertOptions};
use actionsync::source::{self, LoadOptions, SpecLocation};
use actionsync::store::{self, ActionQuery, AnyStore, SourceRecord, Store};
use serde_json::Value;

/// How long any condition may take to hold before the test fails.
const WAIT: Duration = Duration::from_secs(20);
/// How long a daemon may take to exit after SIGTERM.
const EXIT_WAIT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------
// Specs
// ---------------------------------------------------------------------------

/// A spec of `count` GET operations whose summaries end with `, {marker}`; the
/// operation ids start with `prefix`, so sources never share action names.
fn spec(prefix: &str, count: usize, marker: &str) -> String {
    spec_changing(prefix, count, marker, None)
}

/// Like [`spec`], with operation `changed.0` ending with `changed.1` instead.
fn spec_changing(
    prefix: &str,
    count: usize,
    marker: &str,
    changed: Option<(usize, &str)>,
) -> String {
    let mut out = format!(
        "openapi: 3.0.3\ninfo: {{title: {prefix}, version: '1'}}\nservers: [{{url: 'https://api.example.com'}}]\npaths:\n"
    );
    for i in 0..count {
        let marker = match changed {
            Some((j, other)) if j == i => other,
            _ => marker,
        };
        out.push_str(&format!(
            "  /{prefix}/items{i}/{{id}}:\n    get:\n      operationId: {prefix}Item{i}\n      summary: Look up item {i} of the {prefix} warehouse, {marker}\n      parameters: [{{name: id, in: path, required: true, schema: {{type: string}}}}]\n      responses: {{'200': {{description: ok}}}}\n"
        ));
    }
    out
}

/// The version marker an action's description ends with.
fn marker(action: &StoredAction) -> &str {
    action.spec.description.rsplit(", ").next().unwrap_or("")
}

/// `{(state, marker): count}`, for messages.
fn summary(actions: &[StoredAction]) -> String {
    let mut counts: BTreeMap<(String, String), usize> = BTreeMap::new();
    for a in actions {
        *counts
            .entry((a.state.as_str().to_string(), marker(a).to_string()))
            .or_default() += 1;
    }
    format!("{} actions {counts:?}", actions.len())
}

/// Writes `text` to `path` the way editors do: a hidden temporary file in the same
/// folder, renamed over the target.
fn write_by_rename(path: &Path, temp_name: &str, text: &str) {
    let temp = path.parent().unwrap().join(temp_name);
    std::fs::write(&temp, text).unwrap();
    std::fs::rename(&temp, path).unwrap();
}

// ---------------------------------------------------------------------------
// The daemon
// ---------------------------------------------------------------------------

/// A running `actionsync serve`; dropping it kills the process (and prints its
/// logs when the test is failing).
struct Daemon {
    child: Child,
    address: String,
    logs: Arc<Mutex<Vec<String>>>,
    stderr_done: Arc<AtomicBool>,
    command: String,
}

/// A new temporary folder.
fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("actionsync-daemon-")
        .tempdir()
        .expect("cannot create a temporary folder")
}

impl Daemon {
    /// `actionsync serve ARGS --listen 127.0.0.1:0 --log-format json` in `dir` (ARGS
    /// may name another `--listen`), with `env` added to an environment cleared of
    /// `ACTIONSYNC_*` and proxies. Returns once it logged the address it listens on.
    fn start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Daemon {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_actionsync"));
        cmd.arg("serve").args(args);
        if !args.contains(&"--listen") {
            cmd.args(["--listen", "127.0.0.1:0"]);
        }
        cmd.args(["--log-format", "json"])
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        util::clear_env(&mut cmd);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let command = format!("actionsync serve {} (in {})", args.join(" "), dir.display());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{command}`: {e}"));
        let logs = Arc::new(Mutex::new(Vec::new()));
        let stderr_done = Arc::new(AtomicBool::new(false));
        let pipe = child.stderr.take().expect("stderr is piped");
        {
            let logs = logs.clone();
            let done = stderr_done.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    logs.lock().unwrap().push(line);
                }
                done.store(true, Ordering::SeqCst);
            });
        }
        let mut daemon = Daemon {
            child,
            address: String::new(),
            logs,
            stderr_done,
            command,
        };
        let started = Instant::now();
        loop {
            if let Some(event) = daemon.find_log("listening", |_| true) {
                daemon.address = event["address"]
                    .as_str()
                    .expect("the `listening` line carries the address")
                    .to_string();
                return daemon;
            }
            if let Ok(Some(status)) = daemon.child.try_wait() {
                panic!(
                    "`{}` exited ({status}) before listening:\n{}",
                    daemon.command,
                    daemon.log_text()
                );
            }
            if started.elapsed() > WAIT {
                panic!(
                    "`{}` did not log `listening` within {WAIT:?}:\n{}",
                    daemon.command,
                    daemon.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// Sends a signal with `kill -SIG PID`.
    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.pid()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} {} failed", self.pid());
    }

    /// Every log line, as JSON objects (lines that are not JSON are skipped).
    fn events(&self) -> Vec<Value> {
        self.logs
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The first log event with this message that `matches`.
    fn find_log(&self, message: &str, matches: impl Fn(&Value) -> bool) -> Option<Value> {
        self.events()
            .into_iter()
            .find(|e| e["message"] == message && matches(e))
    }

    fn log_text(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    /// `GET path` on the daemon's HTTP address: status and body.
    fn get(&self, path: &str) -> (u16, String) {
        http_get(&self.address, path)
    }

    /// The `/metrics` text.
    fn metrics(&self) -> String {
        let (status, body) = self.get("/metrics");
        assert_eq!(status, 200, "GET /metrics: {body}");
        body
    }

    /// Sends SIGTERM and waits (at most [`EXIT_WAIT`]) for the process to exit, and
    /// for its last log lines.
    fn terminate(&mut self) -> ExitStatus {
        self.signal("TERM");
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if started.elapsed() > EXIT_WAIT {
                panic!(
                    "`{}` did not exit within {EXIT_WAIT:?} of SIGTERM:\n{}",
                    self.command,
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let started = Instant::now();
        while !self.stderr_done.load(Ordering::SeqCst) && started.elapsed() < WAIT {
            std::thread::sleep(Duration::from_millis(10));
        }
        status
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "----- logs of `{}` -----\n{}\n-----",
                self.command,
                self.log_text()
            );
        }
    }
}

/// A plain HTTP/1.1 GET: status and body.
fn http_get(address: &str, path: &str) -> (u16, String) {
    let fail = |e: std::io::Error| -> ! { panic!("GET http://{address}{path}: {e}") };
    let socket = address.parse().expect("an IP address and port");
    let mut stream =
        TcpStream::connect_timeout(&socket, Duration::from_secs(5)).unwrap_or_else(|e| fail(e));
    stream.set_read_timeout(Some(WAIT)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap_or_else(|e| fail(e));
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .unwrap_or_else(|e| fail(e));
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("GET {path}: not an HTTP response: {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// One sample of a Prometheus text exposition: the value of the first series named
/// `name` that has every label in `labels`.
fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let (series_name, label_text) = match series.split_once('{') {
            Some((n, rest)) => (n, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        if series_name != name {
            continue;
        }
        let has_all = labels.iter().all(|(k, v)| {
            label_text
                .split(',')
                .any(|pair| pair == format!("{k}=\"{v}\""))
        });
        if has_all {
            return value.parse().ok();
        }
    }
    None
}

/// Waits until `check` returns `Ok`, at most [`WAIT`]; on timeout fails with what
/// was awaited and the last state `check` described.
async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Result<T, String>) -> T {
    let started = Instant::now();
    loop {
        match check().await {
            Ok(value) => return value,
            Err(state) if started.elapsed() > WAIT => {
                panic!("timed out after {WAIT:?} waiting for {what}; last seen: {state}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// Blocking version of [`eventually`], for conditions that need no catalogue.
fn eventually_sync<T>(what: &str, mut check: impl FnMut() -> Result<T, String>) -> T {
    let started = Instant::now();
    loop {
        match check() {
            Ok(value) => return value,
            Err(state) if started.elapsed() > WAIT => {
                panic!("timed out after {WAIT:?} waiting for {what}; last seen: {state}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

// ---------------------------------------------------------------------------
// The catalogue
// ---------------------------------------------------------------------------

async fn open(database: &str, dir: &Path) -> AnyStore {
    store::open(database, dir)
        .await
        .unwrap_or_else(|e| panic!("open the catalogue {database}: {e}"))
}

async fn actions(store: &AnyStore, source: &str) -> Vec<StoredAction> {
    store
        .actions(&ActionQuery {
            source: Some(source.to_string()),
            state: None,
            ..Default::default()
        })
        .await
        .expect("read the actions")
}

async fn source_record(store: &AnyStore, source: &str) -> Option<SourceRecord> {
    store.source(source).await.expect("read the source")
}

async fn revision_count(store: &AnyStore, source: &str) -> usize {
    store
        .revisions(source)
        .await
        .expect("read the revisions")
        .len()
}

async fn source_names(store: &AnyStore) -> BTreeSet<String> {
    store
        .sources()
        .await
        .expect("read the sources")
        .into_iter()
        .map(|s| s.name)
        .collect()
}

/// Waits until `source` has exactly `count` actions, all active, all at `expected`
/// (or, for the one index in `one`, at its marker).
async fn wait_for_markers(
    store: &AnyStore,
    source: &str,
    count: usize,
    expected: &str,
    one: Option<(usize, &str)>,
) -> Vec<StoredAction> {
    let what = format!("source `{source}`: {count} active actions at `{expected}` ({one:?})");
    eventually(&what, async || {
        let all = actions(store, source).await;
        let ok = all.len() == count
            && all.iter().all(|a| {
                let want = match one {
                    Some((i, m)) if a.key == format!("{source}Item{i}") => m,
                    _ => expected,
                };
                a.state == ActionState::Active && marker(a) == want
            });
        if ok { Ok(all) } else { Err(summary(&all)) }
    })
    .await
}

/// Asserts `source` has exactly `count` actions, all active, all at `expected`.
async fn assert_markers(store: &AnyStore, source: &str, count: usize, expected: &str, when: &str) {
    let all = actions(store, source).await;
    assert!(
        all.len() == count
            && all
                .iter()
                .all(|a| a.state == ActionState::Active && marker(a) == expected),
        "{when}: source `{source}` should still have {count} active actions at `{expected}`; it has {}",
        summary(&all)
    );
}

// ---------------------------------------------------------------------------
// A scripted HTTP server for URL sources
// ---------------------------------------------------------------------------

/// What the server answers. A `200` with an ETag answers `304` to a request whose
/// `If-None-Match` is that ETag.
#[derive(Debug, Clone)]
struct Reply {
    status: u16,
    body: String,
    etag: Option<String>,
}

impl Reply {
    fn doc(body: String, etag: &str) -> Reply {
        Reply {
            status: 200,
            body,
            etag: Some(etag.to_string()),
        }
    }
    fn plain(status: u16, body: &str) -> Reply {
        Reply {
            status,
            body: body.to_string(),
            etag: None,
        }
    }
}

/// One request the server answered.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    /// Header names in lowercase.
    headers: Vec<(String, String)>,
    /// The script step it was answered in.
    step: usize,
    /// The status sent.
    status: u16,
    /// When it was answered, in milliseconds since the Unix epoch.
    at_ms: i64,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

struct ScriptState {
    reply: Reply,
    step: usize,
    seen: Vec<Seen>,
    arrived: usize,
}

/// Answers every request with the current [`Reply`] and records what it saw. While
/// its gate is closed, requests wait (at most [`WAIT`]) before being answered.
struct ScriptedServer {
    base: String,
    state: Arc<Mutex<ScriptState>>,
    gate: Arc<(Mutex<bool>, Condvar)>,
    stop: Arc<AtomicBool>,
}

impl ScriptedServer {
    fn start(first: Reply, gate_open: bool) -> ScriptedServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        listener.set_nonblocking(true).unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(ScriptState {
            reply: first,
            step: 0,
            seen: Vec::new(),
            arrived: 0,
        }));
        let gate = Arc::new((Mutex::new(gate_open), Condvar::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, g, st) = (state.clone(), gate.clone(), stop.clone());
        std::thread::spawn(move || {
            while !st.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let _ = answer(stream, &s, &g);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        ScriptedServer {
            base,
            state,
            gate,
            stop,
        }
    }

    /// Answers `reply` from now on; returns the new step's number.
    fn set(&self, reply: Reply) -> usize {
        let mut state = self.state.lock().unwrap();
        state.reply = reply;
        state.step += 1;
        state.step
    }

    fn open_gate(&self) {
        let (open, condvar) = &*self.gate;
        *open.lock().unwrap() = true;
        condvar.notify_all();
    }

    fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    fn arrived(&self) -> usize {
        self.state.lock().unwrap().arrived
    }

    /// Waits for the first request answered in `step`.
    fn first_in_step(&self, step: usize) -> Seen {
        eventually_sync(
            &format!("a request answered in step {step} of the script"),
            || {
                let seen = self.seen();
                seen.iter()
                    .find(|s| s.step == step)
                    .cloned()
                    .ok_or_else(|| {
                        format!(
                            "{} requests, last: {:?}",
                            seen.len(),
                            seen.last().map(|s| (s.step, s.status))
                        )
                    })
            },
        )
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.open_gate();
    }
}

fn answer(
    stream: TcpStream,
    state: &Mutex<ScriptState>,
    gate: &(Mutex<bool>, Condvar),
) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    state.lock().unwrap().arrived += 1;
    {
        let (open, condvar) = gate;
        let guard = open.lock().unwrap();
        let _ = condvar
            .wait_timeout_while(guard, WAIT, |open| !*open)
            .unwrap();
    }
    let (status, body, etag) = {
        let mut state = state.lock().unwrap();
        let reply = state.reply.clone();
        let if_none_match = headers
            .iter()
            .find(|(n, _)| n == "if-none-match")
            .map(|(_, v)| v.clone());
        let status = if reply.status == 200 && reply.etag.is_some() && if_none_match == reply.etag {
            304
        } else {
            reply.status
        };
        let step = state.step;
        state.seen.push(Seen {
            path,
            headers,
            step,
            status,
            at_ms: store::now_ms(),
        });
        (status, reply.body, reply.etag)
    };
    let mut stream = stream;
    let reason = match status {
        200 => "OK",
        304 => "Not Modified",
        500 => "Internal Server Error",
        _ => "Other",
    };
    let mut head = format!("HTTP/1.1 {status} {reason}\r\nConnection: close\r\n");
    if let Some(etag) = &etag {
        head.push_str(&format!("ETag: {etag}\r\n"));
    }
    if status == 304 {
        head.push_str("\r\n");
        stream.write_all(head.as_bytes())?;
    } else {
        head.push_str(&format!(
            "Content-Type: application/yaml\r\nContent-Length: {}\r\n\r\n",
            body.len()
        ));
        stream.write_all(head.as_bytes())?;
        stream.write_all(body.as_bytes())?;
    }
    stream.flush()
}

/// Waits until `source` records an error that happened at or after `since_ms` and
/// that `matches`; returns it.
async fn wait_for_error(
    store: &AnyStore,
    source: &str,
    since_ms: i64,
    what: &str,
    matches: impl Fn(&str) -> bool,
) -> String {
    eventually(&format!("source `{source}` to record {what}"), async || {
        let record = source_record(store, source).await;
        match record
            .as_ref()
            .and_then(|r| Some((r.last_error.clone()?, r.last_error_at?)))
        {
            Some((error, at)) if at >= since_ms && matches(&error) => Ok(error),
            _ => Err(format!("{record:?}")),
        }
    })
    .await
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

/// Behaviours 1 and 7: health, readiness once the first reconcile of every source is
/// done (and the catalogue complete by then), metrics after a reconcile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_health_readiness_metrics_and_fills_the_catalogue() {
    let test_started_s = store::now_ms() / 1000;
    let dir = tempdir();
    let specs = dir.path().join("specs");
    std::fs::create_dir(&specs).unwrap();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("specs");
    let mut expected: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for file in ["orders.yaml", "helpdesk.json"] {
        std::fs::copy(root.join(file), specs.join(file)).unwrap();
        let name = file.split('.').next().unwrap().to_string();
        let spec = source::load(
            &SpecLocation::File(specs.join(file)),
            &LoadOptions::default(),
        )
        .unwrap();
        let conversion = convert::convert(
            &spec,
            &ConvertOptions {
                source: name.clone(),
                ..ConvertOptions::default()
            },
        );
        assert!(!conversion.actions.is_empty(), "{file} converts to actions");
        expected.insert(
            name,
            conversion
                .actions
                .iter()
                .map(|a| (a.key.clone(), a.spec.description.clone()))
                .collect(),
        );
    }

    let daemon = Daemon::start(dir.path(), &["specs"], &[]);
    let (status, body) = daemon.get("/healthz");
    assert_eq!(status, 200, "/healthz: {body}");
    eventually_sync("/readyz to answer 200", || {
        let (status, body) = daemon.get("/readyz");
        if status == 200 {
            Ok(())
        } else {
            Err(format!("{status} {body}"))
        }
    });

    // Ready means every source's first reconcile is done: the catalogue is
    // complete now, without waiting.
    let store = open("sqlite://actionsync.db", dir.path()).await;
    for (name, want) in &expected {
        let have = actions(&store, name).await;
        assert!(
            have.iter().all(|a| a.state == ActionState::Active),
            "{name}: {}",
            summary(&have)
        );
        let have: BTreeSet<(String, String)> = have
            .iter()
            .map(|a| (a.key.clone(), a.spec.description.clone()))
            .collect();
        assert_eq!(
            &have, want,
            "source `{name}`: the catalogue should hold the spec's actions once /readyz is 200"
        );
        let record = source_record(&store, name).await.expect("the source");
        assert_eq!(record.last_error, None, "{name}");
        assert_eq!(record.last_revision, 1, "{name}");
    }

    let metrics = daemon.metrics();
    for name in expected.keys() {
        let applied = metric(
            &metrics,
            "actionsync_reconciles_total",
            &[("source", name), ("outcome", "applied")],
        );
        assert_eq!(
            applied,
            Some(1.0),
            "actionsync_reconciles_total{{source=\"{name}\",outcome=\"applied\"}} after the first reconcile:\n{metrics}"
        );
        let last_success = metric(
            &metrics,
            "actionsync_last_success_timestamp_seconds",
            &[("source", name)],
        )
        .unwrap_or_else(|| {
            panic!("actionsync_last_success_timestamp_seconds for {name}:\n{metrics}")
        });
        assert!(
            last_success >= test_started_s as f64,
            "actionsync_last_success_timestamp_seconds{{source=\"{name}\"}} = {last_success} is a Unix time from this run (started at {test_started_s})"
        );
    }
    // Each metric says what it is: a `# HELP` line beside every `# TYPE`.
    let typed: Vec<&str> = metrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(
        typed.contains(&"actionsync_reconciles_total"),
        "/metrics has a # TYPE line per metric:\n{metrics}"
    );
    for name in typed {
        let help = format!("# HELP {name} ");
        assert!(
            metrics
                .lines()
                .any(|l| l.starts_with(&help) && l.len() > help.len()),
            "/metrics has no `# HELP` line for {name}:\n{metrics}"
        );
    }
}

/// Behaviour 1: `/readyz` stays 503 while a source the daemon started with has not
/// finished its first reconcile, even when other sources (one added since) have.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_waits_for_every_starting_source() {
    let server = ScriptedServer::start(Reply::doc(spec("slow", 2, "v1"), "\"s1\""), false);
    let dir = tempdir();
    let specs = dir.path().join("specs");
    std::fs::create_dir(&specs).unwrap();
    std::fs::write(specs.join("local.yaml"), spec("local", 2, "v1")).unwrap();
    std::fs::write(
        dir.path().join("actionsync.yaml"),
        format!(
            "sources:\n  - dir: specs\n  - name: slow\n    url: {}/slow.yaml\n    every: 1s\n",
            server.base
        ),
    )
    .unwrap();
    let daemon = Daemon::start(dir.path(), &["--config", "actionsync.yaml"], &[]);
    let (status, _) = daemon.get("/healthz");
    assert_eq!(status, 200, "/healthz answers while sources are starting");
    let store = open("sqlite://actionsync.db", dir.path()).await;

    eventually_sync("the first fetch of `slow` to reach the server", || {
        if server.arrived() > 0 {
            Ok(())
        } else {
            Err("no request yet".into())
        }
    });
    wait_for_markers(&store, "local", 2, "v1", None).await;
    let (status, body) = daemon.get("/readyz");
    assert_eq!(
        status, 503,
        "/readyz while the first fetch of `slow` is held by the server: {body}"
    );

    // A spec file dropped in the watched folder becomes a source and is
    // reconciled; that must not count for `slow`.
    std::fs::write(specs.join("extra.yaml"), spec("extra", 2, "v1")).unwrap();
    wait_for_markers(&store, "extra", 2, "v1", None).await;
    let (status, body) = daemon.get("/readyz");
    assert_eq!(
        status, 503,
        "/readyz after a new source's first reconcile, while the first fetch of `slow` (a source the daemon started with) is still held: {body}"
    );

    server.open_gate();
    eventually_sync("/readyz to answer 200 once `slow` is fetched", || {
        let (status, body) = daemon.get("/readyz");
        if status == 200 {
            Ok(())
        } else {
            Err(format!("{status} {body}"))
        }
    });
    assert_markers(&store, "slow", 2, "v1", "once ready").await;
}

/// Behaviour 2: saved files show up in the catalogue (native notifications).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saved_files_show_up_in_the_catalogue() {
    let dir = tempdir();
    let specs = dir.path().join("specs");
    std::fs::create_dir(&specs).unwrap();
    let alpha = specs.join("alpha.yaml");
    std::fs::write(&alpha, spec("alpha", 3, "v0")).unwrap();
    let daemon = Daemon::start(dir.path(), &["specs"], &[]);
    let store = open("sqlite://actionsync.db", dir.path()).await;
    wait_for_markers(&store, "alpha", 3, "v0", None).await;

    // (a) A plain write of a changed summary.
    std::fs::write(&alpha, spec("alpha", 3, "v1")).unwrap();
    wait_for_markers(&store, "alpha", 3, "v1", None).await;
    assert_eq!(revision_count(&store, "alpha").await, 2);

    // (b) Written to a temporary file, then renamed over the spec, like editors;
    // a swap file left lying around (with a spec in it) is never a source.
    std::fs::write(specs.join(".scratch.yaml.swp"), spec("scratch", 1, "v0")).unwrap();
    write_by_rename(&alpha, ".alpha.yaml.swp", &spec("alpha", 3, "v2"));
    wait_for_markers(&store, "alpha", 3, "v2", None).await;
    assert_eq!(revision_count(&store, "alpha").await, 3);

    // (c) A new spec file in the folder becomes a new source.
    std::fs::write(specs.join("beta.yaml"), spec("beta", 2, "v0")).unwrap();
    wait_for_markers(&store, "beta", 2, "v0", None).await;
    let names = source_names(&store).await;
    assert_eq!(
        names,
        BTreeSet::from(["alpha".to_string(), "beta".to_string()]),
        "only the spec files are sources, never the temporary files"
    );
    let all = store.actions(&ActionQuery::default()).await.unwrap();
    assert!(
        all.iter()
            .all(|a| a.source == "alpha" || a.source == "beta"),
        "no actions of temporary files: {}",
        summary(&all)
    );

    // (d) A touch without a change is checked (it costs a hash) and makes no
    // new revision.
    let unchanged = |text: &str| {
        metric(
            text,
            "actionsync_reconciles_total",
            &[("source", "alpha"), ("outcome", "unchanged")],
        )
        .unwrap_or(0.0)
    };
    let before = unchanged(&daemon.metrics());
    let revisions = revision_count(&store, "alpha").await;
    set_mtime(&alpha, SystemTime::now() + Duration::from_secs(5));
    eventually_sync("the touched file to be checked and found unchanged", || {
        let now = unchanged(&daemon.metrics());
        if now > before {
            Ok(())
        } else {
            Err(format!("unchanged reconciles of alpha: {now}"))
        }
    });
    assert_eq!(
        revision_count(&store, "alpha").await,
        revisions,
        "a touch without a change makes no new revision"
    );
    assert_markers(&store, "alpha", 3, "v2", "after a touch").await;
}

/// Behaviour 3: `--watch-mode poll` picks up a change, including a save made in the
/// same second as the one before it (mtimes are set explicitly, so the test does
/// not depend on when it runs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_watch_mode_picks_up_changes() {
    let dir = tempdir();
    let specs = dir.path().join("specs");
    std::fs::create_dir(&specs).unwrap();
    let file = specs.join("polled.yaml");
    std::fs::write(&file, spec("polled", 2, "v0")).unwrap();
    set_mtime(&file, SystemTime::now() - Duration::from_secs(100));
    let _daemon = Daemon::start(dir.path(), &["specs", "--watch-mode", "poll"], &[]);
    let store = open("sqlite://actionsync.db", dir.path()).await;
    wait_for_markers(&store, "polled", 2, "v0", None).await;

    // A plain write.
    std::fs::write(&file, spec("polled", 2, "v1")).unwrap();
    wait_for_markers(&store, "polled", 2, "v1", None).await;

    // Saved again (temporary file, then rename) later within the same second of
    // modification time as the save before.
    let previous = std::fs::metadata(&file).unwrap().modified().unwrap();
    let into_second = previous.duration_since(UNIX_EPOCH).unwrap().subsec_nanos();
    let later = previous + Duration::from_nanos(u64::from(1_000_000_000 - into_second) / 2);
    let temp = specs.join(".polled.yaml.tmp");
    std::fs::write(&temp, spec("polled", 2, "v2")).unwrap();
    set_mtime(&temp, later);
    std::fs::rename(&temp, &file).unwrap();
    wait_for_markers(&store, "polled", 2, "v2", None).await;
    assert_eq!(revision_count(&store, "polled").await, 3);
}

fn set_mtime(path: &Path, time: SystemTime) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(time)
        .unwrap();
}

/// Behaviour 4: a URL source follows its server through a scripted sequence of
/// answers, keeping its last good spec through failures and refusals.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_source_follows_its_server_and_keeps_its_last_good_spec() {
    const OPS: usize = 6;
    let token = "Bearer spec-token-7f3a";
    let server = ScriptedServer::start(Reply::doc(spec("remote", OPS, "v1"), "\"v1\""), true);
    let dir = tempdir();
    std::fs::write(
        dir.path().join("actionsync.yaml"),
        format!(
            "sources:\n  - name: remote\n    url: {}/api.yaml\n    every: 1s\n    headers:\n      Authorization: {{env: SPEC_TOKEN}}\n",
            server.base
        ),
    )
    .unwrap();
    let daemon = Daemon::start(
        dir.path(),
        &["--config", "actionsync.yaml"],
        &[("SPEC_TOKEN", token)],
    );
    let store = open("sqlite://actionsync.db", dir.path()).await;

    // 200 with v1 and ETag "v1": applied.
    wait_for_markers(&store, "remote", OPS, "v1", None).await;
    let record = eventually("the ETag of v1 to be recorded", async || {
        let record = source_record(&store, "remote").await;
        match &record {
            Some(r) if r.etag.as_deref() == Some("\"v1\"") => Ok(r.clone()),
            _ => Err(format!("{record:?}")),
        }
    })
    .await;
    assert_eq!(record.last_error, None);

    // The next poll sends If-None-Match: "v1"; the server answers 304; nothing changes.
    let not_modified = eventually_sync("a poll with If-None-Match: \"v1\" (answered 304)", || {
        let seen = server.seen();
        seen.iter()
            .find(|s| s.status == 304)
            .cloned()
            .ok_or_else(|| {
                format!(
                    "If-None-Match of the requests so far: {:?}",
                    seen.iter()
                        .map(|s| s.header("if-none-match").map(str::to_string))
                        .collect::<Vec<_>>()
                )
            })
    });
    assert_eq!(not_modified.header("if-none-match"), Some("\"v1\""));
    eventually_sync("the 304 to be counted", || {
        let metrics = daemon.metrics();
        metric(
            &metrics,
            "actionsync_fetches_total",
            &[("source", "remote"), ("outcome", "not_modified")],
        )
        .filter(|n| *n >= 1.0)
        .ok_or(metrics)
    });
    assert_eq!(
        revision_count(&store, "remote").await,
        1,
        "a 304 changes nothing"
    );
    assert_markers(&store, "remote", OPS, "v1", "after a 304").await;

    // 500: the catalogue keeps v1; the error is recorded.
    let step = server.set(Reply::plain(500, "internal error"));
    let first = server.first_in_step(step);
    let error = wait_for_error(&store, "remote", first.at_ms, "the 500", |e| {
        e.contains("500")
    })
    .await;
    assert_markers(
        &store,
        "remote",
        OPS,
        "v1",
        &format!("after a 500 ({error})"),
    )
    .await;

    // Garbage, then a YAML list: not specs; v1 stays; the errors are recorded.
    for (what, body) in [
        (
            "garbage",
            "<html><body>Service temporarily moved {{{</body></html>",
        ),
        ("a YAML list", "- just\n- a list\n- of strings\n"),
    ] {
        let step = server.set(Reply::plain(200, body));
        let first = server.first_in_step(step);
        let error = wait_for_error(&store, "remote", first.at_ms, what, |_| true).await;
        assert_markers(
            &store,
            "remote",
            OPS,
            "v1",
            &format!("after {what} ({error})"),
        )
        .await;
        assert_eq!(revision_count(&store, "remote").await, 1, "after {what}");
    }

    // More than half of the operations gone: the removal guard refuses; every
    // action stays active.
    let step = server.set(Reply::doc(spec("remote", 2, "v1"), "\"shrunk\""));
    let first = server.first_in_step(step);
    let error = wait_for_error(&store, "remote", first.at_ms, "the refusal", |e| {
        e.contains("refused")
    })
    .await;
    assert_markers(
        &store,
        "remote",
        OPS,
        "v1",
        &format!("after a refusal ({error})"),
    )
    .await;
    assert_eq!(revision_count(&store, "remote").await, 1, "after a refusal");

    // One description changed, ETag "v2": applied; its ETag is sent next.
    let step = server.set(Reply::doc(
        spec_changing("remote", OPS, "v1", Some((0, "v2"))),
        "\"v2\"",
    ));
    wait_for_markers(&store, "remote", OPS, "v1", Some((0, "v2"))).await;
    assert_eq!(revision_count(&store, "remote").await, 2);
    eventually("the error to be cleared after the apply", async || {
        let record = source_record(&store, "remote").await;
        match &record {
            Some(r) if r.last_error.is_none() => Ok(()),
            _ => Err(format!("{record:?}")),
        }
    })
    .await;
    eventually_sync("a poll with If-None-Match: \"v2\" (answered 304)", || {
        let seen = server.seen();
        seen.iter()
            .find(|s| s.step == step && s.status == 304)
            .map(|_| ())
            .ok_or_else(|| {
                format!(
                    "{:?}",
                    seen.iter()
                        .filter(|s| s.step == step)
                        .map(|s| (s.status, s.header("if-none-match").map(str::to_string)))
                        .collect::<Vec<_>>()
                )
            })
    });

    // The header from the environment reached the server on every request.
    let seen = server.seen();
    assert!(seen.iter().all(|s| s.path == "/api.yaml"), "{seen:?}");
    for s in &seen {
        assert_eq!(
            s.header("authorization"),
            Some(token),
            "every request carries the Authorization header from SPEC_TOKEN: {s:?}"
        );
    }
    // The header's value is never logged.
    assert!(
        !daemon.log_text().contains("spec-token-7f3a"),
        "the header's value appears in the logs"
    );
}

/// Behaviour 4: a header whose environment variable is missing is recorded on the
/// source as an error naming the variable, and nothing is fetched without it. Also:
/// a URL source that fails from its very first fetch has that failure recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_of_url_sources_that_never_fetched_are_recorded() {
    let variable = "SPEC_TOKEN_NOT_SET_7F3A";
    let server = ScriptedServer::start(Reply::plain(500, "internal error"), true);
    let dir = tempdir();
    std::fs::write(
        dir.path().join("actionsync.yaml"),
        format!(
            "sources:\n  - name: locked\n    url: {base}/locked.yaml\n    every: 1s\n    headers:\n      X-Api-Key: {{env: {variable}}}\n  - name: down\n    url: {base}/down.yaml\n    every: 1s\n",
            base = server.base
        ),
    )
    .unwrap();
    let daemon = Daemon::start(dir.path(), &["--config", "actionsync.yaml"], &[]);
    let store = open("sqlite://actionsync.db", dir.path()).await;
    let started = Instant::now();
    let (locked, down) = eventually(
        &format!("`locked` to record an error naming {variable}, and `down` one naming the 500"),
        async || {
            let locked = source_record(&store, "locked").await;
            let down = source_record(&store, "down").await;
            let locked_error = locked.as_ref().and_then(|r| r.last_error.clone());
            let down_error = down.as_ref().and_then(|r| r.last_error.clone());
            match (&locked_error, &down_error) {
                (Some(l), Some(d)) if l.contains(variable) && d.contains("500") => {
                    Ok((l.clone(), d.clone()))
                }
                _ => Err(format!(
                    "locked: {locked:?}; down: {down:?}; sources in the catalogue: {:?}; \
                     logged warnings: locked {}, down {}; {:?} since start",
                    source_names(&store).await,
                    daemon
                        .find_log(
                            "fetch failed; the catalogue keeps the last good spec",
                            |e| {
                                e["source"] == "locked"
                                    && e["error"].as_str().is_some_and(|t| t.contains(variable))
                            }
                        )
                        .is_some(),
                    daemon
                        .find_log(
                            "fetch failed; the catalogue keeps the last good spec",
                            |e| {
                                e["source"] == "down"
                                    && e["error"].as_str().is_some_and(|t| t.contains("500"))
                            }
                        )
                        .is_some(),
                    started.elapsed()
                )),
            }
        },
    )
    .await;
    assert!(locked.contains("X-Api-Key"), "{locked}");
    assert!(!down.is_empty());
    let seen = server.seen();
    assert!(
        seen.iter().all(|s| s.path != "/locked.yaml"),
        "nothing is fetched without the header: {seen:?}"
    );
    assert!(actions(&store, "locked").await.is_empty());
    assert!(actions(&store, "down").await.is_empty());
}

/// Behaviour 5: SIGTERM stops the daemon: exit 0, `stopped` logged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_exits_zero() {
    let dir = tempdir();
    let specs = dir.path().join("specs");
    std::fs::create_dir(&specs).unwrap();
    std::fs::write(specs.join("calm.yaml"), spec("calm", 2, "v0")).unwrap();
    let mut daemon = Daemon::start(dir.path(), &["specs"], &[]);
    eventually_sync("/readyz to answer 200", || {
        let (status, body) = daemon.get("/readyz");
        if status == 200 {
            Ok(())
        } else {
            Err(format!("{status} {body}"))
        }
    });
    let status = daemon.terminate();
    assert_eq!(
        status.code(),
        Some(0),
        "exit status after SIGTERM: {status}\n{}",
        daemon.log_text()
    );
    assert!(
        daemon.find_log("stopped", |_| true).is_some(),
        "`stopped` is logged:\n{}",
        daemon.log_text()
    );
}

/// Behaviour 5: SIGTERM while a URL fetch hangs (the server has not answered yet):
/// there is no apply in flight to finish, so the daemon exits 0 promptly, without
/// waiting for the fetch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_a_fetch_hangs_exits_promptly() {
    let server = ScriptedServer::start(Reply::doc(spec("hung", 2, "v1"), "\"h1\""), false);
    let dir = tempdir();
    std::fs::write(
        dir.path().join("actionsync.yaml"),
        format!(
            "sources:\n  - name: hung\n    url: {}/hung.yaml\n    every: 1s\n",
            server.base
        ),
    )
    .unwrap();
    let mut daemon = Daemon::start(dir.path(), &["--config", "actionsync.yaml"], &[]);
    eventually_sync("the fetch to reach the server", || {
        if server.arrived() > 0 {
            Ok(())
        } else {
            Err("no request yet".into())
        }
    });
    let status = daemon.terminate();
    assert_eq!(status.code(), Some(0), "{status}");
    assert!(daemon.find_log("stopped", |_| true).is_some());
}

/// A generated spec large enough that applying it takes a while.
const LARGE: usize = 2000;

/// Checks that every action of `big` is active and at one marker; returns it.
async fn consistent_marker(store: &AnyStore, when: &str) -> String {
    let all = actions(store, "big").await;
    let markers: BTreeSet<&str> = all.iter().map(marker).collect();
    assert!(
        all.len() == LARGE
            && markers.len() == 1
            && all.iter().all(|a| a.state == ActionState::Active),
        "{when}: the catalogue should be wholly at one version; it has {}",
        summary(&all)
    );
    let record = source_record(store, "big").await.expect("the source");
    let revisions = store.revisions("big").await.unwrap();
    assert_eq!(
        revisions.first().map_or(0, |r| r.number),
        record.last_revision,
        "{when}: the source's revision is its last recorded one"
    );
    markers.into_iter().next().unwrap().to_string()
}

/// Behaviour 5: SIGTERM while a large spec is being applied leaves the catalogue
/// wholly at the old spec or wholly at the new; the daemon still exits 0.
async fn sigterm_during_a_large_apply(database: &str) {
    let dir = tempdir();
    let specs = dir.path().join("specs");
    std::fs::create_dir(&specs).unwrap();
    let big = specs.join("big.yaml");
    std::fs::write(&big, spec("big", LARGE, "v0")).unwrap();
    let args = ["specs", "--database", database, "--debounce", "100ms"];

    let mut daemon = Daemon::start(dir.path(), &args, &[]);
    let store = open(database, dir.path()).await;
    wait_for_markers(&store, "big", LARGE, "v0", None).await;
    let took_ms = eventually_sync("the `applied` log line of the first reconcile", || {
        daemon
            .find_log("applied", |e| e["source"] == "big")
            .and_then(|e| e["ms"].as_u64())
            .ok_or_else(|| daemon.log_text())
    });

    // A new version saved while the daemon runs; SIGTERM about halfway through
    // its reconcile (the debounce, then half of what a reconcile took).
    write_by_rename(&big, ".big.yaml.tmp", &spec("big", LARGE, "v1"));
    tokio::time::sleep(Duration::from_millis(100 + took_ms / 2)).await;
    let status = daemon.terminate();
    assert_eq!(
        status.code(),
        Some(0),
        "exit after SIGTERM mid-apply: {status}"
    );
    assert!(daemon.find_log("stopped", |_| true).is_some());
    let at = consistent_marker(&store, "after SIGTERM while applying v1").await;
    assert!(at == "v0" || at == "v1", "{at}");
    eprintln!(
        "{database}: a first reconcile of {LARGE} operations took {took_ms} ms; SIGTERM about halfway through the next left the catalogue at {at}"
    );
    let applied_v1 = daemon
        .find_log("applied", |e| e["source"] == "big" && e["revision"] == 2)
        .is_some();
    assert_eq!(
        applied_v1,
        at == "v1",
        "the daemon logged an apply of v1 ({applied_v1}) iff the catalogue is at v1 ({at})"
    );
    drop(daemon);

    // Saved while no daemon runs; SIGTERM as soon as the next daemon listens, while
    // its first reconcile is under way.
    std::fs::write(&big, spec("big", LARGE, "v2")).unwrap();
    let mut daemon = Daemon::start(dir.path(), &args, &[]);
    let status = daemon.terminate();
    assert_eq!(
        status.code(),
        Some(0),
        "exit after SIGTERM during the first reconcile: {status}"
    );
    assert!(daemon.find_log("stopped", |_| true).is_some());
    let now = consistent_marker(&store, "after SIGTERM during the first reconcile of v2").await;
    assert!(now == at || now == "v2", "{now}, expected {at} or v2");
    eprintln!("{database}: SIGTERM during the first reconcile of v2 left the catalogue at {now}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_large_apply_sqlite() {
    sigterm_during_a_large_apply("sqlite://actionsync.db").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_large_apply_postgres() {
    let Some(url) = common::postgres_url().await else {
        return;
    };
    sigterm_during_a_large_apply(&url).await;
}

/// Behaviour 6: SIGHUP reloads the config: a source added appears; a source removed
/// stops being watched and keeps its actions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_adds_and_removes_sources() {
    let dir = tempdir();
    for folder in ["specs", "other"] {
        std::fs::create_dir(dir.path().join(folder)).unwrap();
    }
    let first = dir.path().join("specs/first.yaml");
    let second = dir.path().join("other/second.yaml");
    std::fs::write(&first, spec("first", 2, "v0")).unwrap();
    std::fs::write(&second, spec("second", 2, "v0")).unwrap();
    let config = dir.path().join("actionsync.yaml");
    let one = "sources:\n  - {name: first, file: specs/first.yaml}\n";
    let two = format!("{one}  - {{name: second, file: other/second.yaml}}\n");
    std::fs::write(&config, one).unwrap();
    let daemon = Daemon::start(dir.path(), &["--config", "actionsync.yaml"], &[]);
    let store = open("sqlite://actionsync.db", dir.path()).await;
    wait_for_markers(&store, "first", 2, "v0", None).await;
    eventually_sync("/readyz to answer 200", || {
        let (status, body) = daemon.get("/readyz");
        if status == 200 {
            Ok(())
        } else {
            Err(format!("{status} {body}"))
        }
    });
    assert!(source_record(&store, "second").await.is_none());

    // Added: appears, and is watched.
    std::fs::write(&config, &two).unwrap();
    daemon.signal("HUP");
    wait_for_markers(&store, "second", 2, "v0", None).await;
    std::fs::write(&second, spec("second", 2, "v1")).unwrap();
    wait_for_markers(&store, "second", 2, "v1", None).await;
    assert_eq!(revision_count(&store, "second").await, 2);

    // Removed: no longer watched; its actions stay.
    std::fs::write(&config, one).unwrap();
    let hups_before = daemon
        .events()
        .iter()
        .filter(|e| e["message"] == "SIGHUP: reloading the config")
        .count();
    daemon.signal("HUP");
    eventually_sync("the second SIGHUP to be handled", || {
        let hups = daemon
            .events()
            .iter()
            .filter(|e| e["message"] == "SIGHUP: reloading the config")
            .count();
        let removed = daemon
            .find_log(
                "source removed from the config; its actions stay in the catalogue",
                |e| e["source"] == "second",
            )
            .is_some();
        if hups > hups_before && removed {
            Ok(())
        } else {
            Err(daemon.log_text())
        }
    });
    std::fs::write(&second, spec("second", 2, "v2")).unwrap();
    // A change to a file still watched, saved after it, is the barrier.
    std::fs::write(&first, spec("first", 2, "v1")).unwrap();
    wait_for_markers(&store, "first", 2, "v1", None).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_markers(
        &store,
        "second",
        2,
        "v1",
        "after its source was removed from the config and its file changed",
    )
    .await;
    assert_eq!(
        revision_count(&store, "second").await,
        2,
        "a source removed from the config makes no new revision"
    );
    // A config that does not parse is not applied: the running sources stay.
    std::fs::write(
        &config,
        "sources:\n  - {name: first, fil: specs/first.yaml}\n",
    )
    .unwrap();
    daemon.signal("HUP");
    eventually_sync("the broken config to be refused", || {
        daemon
            .find_log(
                "the config was not reloaded; the running sources stay as they were",
                |_| true,
            )
            .ok_or_else(|| daemon.log_text())
    });
    std::fs::write(&first, spec("first", 2, "v2")).unwrap();
    wait_for_markers(&store, "first", 2, "v2", None).await;
    assert_eq!(daemon.get("/healthz").0, 200);
}

/// A paused source's file changed on disk is planned, not applied: the plan's
/// counts are recorded on the source (out of sync), the daemon logs it, and the
/// catalogue keeps its actions; once resumed, the next change applies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_watched_file_is_planned_not_applied() {
    let dir = tempdir();
    let specs = dir.path().join("specs");
    std::fs::create_dir(&specs).unwrap();
    let alpha = specs.join("alpha.yaml");
    std::fs::write(&alpha, spec("alpha", 3, "v0")).unwrap();
    let daemon = Daemon::start(dir.path(), &["specs"], &[]);
    let store = open("sqlite://actionsync.db", dir.path()).await;
    wait_for_markers(&store, "alpha", 3, "v0", None).await;
    store
        .set_paused("alpha", true)
        .await
        .expect("pause the source");

    std::fs::write(&alpha, spec("alpha", 3, "v1")).unwrap();
    let pending = eventually("the paused source to plan the change", async || {
        let record = store.source("alpha").await.map_err(|e| e.to_string())?;
        match record.and_then(|r| r.pending) {
            Some(pending) => Ok(pending),
            None => Err("no pending plan".to_string()),
        }
    })
    .await;
    assert_eq!(pending.updated, 3);
    let logged = eventually_sync("the daemon to log the paused plan", || {
        daemon
            .find_log("paused: out of sync; planned, not applied", |e| {
                e["source"] == "alpha"
            })
            .ok_or_else(|| daemon.log_text())
    });
    assert_eq!(logged["updated"], 3);
    assert_markers(&store, "alpha", 3, "v0", "while paused").await;
    assert_eq!(revision_count(&store, "alpha").await, 1, "nothing applied");

    store
        .set_paused("alpha", false)
        .await
        .expect("resume the source");
    std::fs::write(&alpha, spec("alpha", 3, "v2")).unwrap();
    wait_for_markers(&store, "alpha", 3, "v2", None).await;
    assert_eq!(revision_count(&store, "alpha").await, 2);
}

/// A spec file deleted from a watched folder plans its source's removal, and the
/// guards refuse it: the actions stay active, and the refusal is recorded on the
/// source. A file deleted by mistake costs nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_spec_file_plans_its_removal_and_the_guards_refuse_it() {
    let dir = tempdir();
    let specs = dir.path().join("specs");
    std::fs::create_dir(&specs).unwrap();
    std::fs::write(specs.join("gone.yaml"), spec("gone", 3, "v0")).unwrap();
    std::fs::write(specs.join("kept.yaml"), spec("kept", 2, "v0")).unwrap();
    let _daemon = Daemon::start(dir.path(), &["specs"], &[]);
    let store = open("sqlite://actionsync.db", dir.path()).await;
    wait_for_markers(&store, "gone", 3, "v0", None).await;
    wait_for_markers(&store, "kept", 2, "v0", None).await;

    std::fs::remove_file(specs.join("gone.yaml")).unwrap();
    let error = eventually("the deletion to be recorded on the source", async || {
        let record = store.source("gone").await.map_err(|e| e.to_string())?;
        match record.and_then(|r| r.last_error) {
            Some(error) if error.contains("deleted") => Ok(error),
            other => Err(format!("last_error: {other:?}")),
        }
    })
    .await;
    assert!(error.contains("refused"), "{error}");
    let actions = store
        .actions(&actionsync::store::ActionQuery {
            source: Some("gone".to_string()),
            state: None,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(actions.len(), 3);
    assert!(
        actions
            .iter()
            .all(|a| a.state == actionsync::action::ActionState::Active),
        "the guards kept every action active"
    );
    assert_eq!(
        revision_count(&store, "gone").await,
        1,
        "nothing was applied"
    );
}

/// Text logs written to a pipe or a file carry no ANSI colour codes: `serve
/// 2>serve.log` or a log collector reads plain text.
#[test]
fn text_logs_to_a_pipe_have_no_colour() {
    let dir = tempdir();
    let specs = dir.path().join("specs");
    std::fs::create_dir(&specs).unwrap();
    std::fs::write(specs.join("local.yaml"), spec("local", 2, "v1")).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_actionsync"));
    cmd.args(["serve", "specs", "--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .env_remove("NO_COLOR");
    for (key, _) in std::env::vars_os() {
        let text = key.to_string_lossy().to_ascii_uppercase();
        if text.starts_with("ACTIONSYNC_") {
            cmd.env_remove(&key);
        }
    }
    let mut child = cmd.spawn().expect("start actionsync serve");
    let pipe = child.stderr.take().expect("stderr is piped");
    let (lines, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let mut logs = Vec::new();
    let started = Instant::now();
    while !logs.iter().any(|l: &String| l.contains("applied")) && started.elapsed() < WAIT {
        if let Ok(line) = received.recv_timeout(Duration::from_millis(100)) {
            logs.push(line);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let text = logs.join("\n");
    assert!(
        text.contains("applied") && text.contains("INFO"),
        "serve logged its first apply as text:\n{text}"
    );
    assert!(
        !text.contains("\x1b["),
        "text logs to a pipe carry ANSI colour codes:\n{}",
        text.escape_debug()
    );
}

/// What `serve` writes to a terminal (a pseudo-terminal as its standard error) until
/// its first apply, with `NO_COLOR` set to `no_color` or unset.
fn serve_on_a_terminal(no_color: Option<&str>) -> String {
    use std::os::fd::FromRawFd;
    let dir = tempdir();
    let specs = dir.path().join("specs");
    std::fs::create_dir(&specs).unwrap();
    std::fs::write(specs.join("local.yaml"), spec("local", 2, "v1")).unwrap();
    let (mut leader, mut follower) = (-1, -1);
    // SAFETY: openpty writes two new descriptors, which are owned by Files below.
    let opened = unsafe {
        libc::openpty(
            &mut leader,
            &mut follower,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(opened, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened and are owned by nothing else.
    let (leader, follower) = unsafe {
        (
            std::fs::File::from_raw_fd(leader),
            std::fs::File::from_raw_fd(follower),
        )
    };
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_actionsync"));
    cmd.args(["serve", "specs", "--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(follower))
        .env_remove("NO_COLOR");
    for (key, _) in std::env::vars_os() {
        if key
            .to_string_lossy()
            .to_ascii_uppercase()
            .starts_with("ACTIONSYNC_")
        {
            cmd.env_remove(&key);
        }
    }
    if let Some(value) = no_color {
        cmd.env("NO_COLOR", value);
    }
    // `cmd` holds the follower until it is dropped; the child has its own copy.
    let mut child = cmd.spawn().expect("start actionsync serve");
    drop(cmd);
    let (chunks, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut leader = leader;
        let mut buffer = [0u8; 4096];
        // Ends with EIO once the child has exited.
        while let Ok(n) = leader.read(&mut buffer) {
            if n == 0 || chunks.send(buffer[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut output = Vec::new();
    let started = Instant::now();
    while !String::from_utf8_lossy(&output).contains("applied") && started.elapsed() < WAIT {
        if let Ok(chunk) = received.recv_timeout(Duration::from_millis(100)) {
            output.extend(chunk);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let text = String::from_utf8_lossy(&output).into_owned();
    assert!(
        text.contains("applied"),
        "serve logged its first apply:\n{text}"
    );
    text
}

/// On a terminal, text logs are coloured; `NO_COLOR` (any value but empty) turns
/// the colour off (https://no-color.org).
#[test]
fn text_logs_on_a_terminal_are_coloured_unless_no_color() {
    let coloured = serve_on_a_terminal(None);
    assert!(
        coloured.contains("\x1b["),
        "no colour on a terminal:\n{}",
        coloured.escape_debug()
    );
    for value in ["1", "true"] {
        let plain = serve_on_a_terminal(Some(value));
        assert!(
            !plain.contains("\x1b["),
            "colour on a terminal with NO_COLOR={value}:\n{}",
            plain.escape_debug()
        );
    }
    assert!(
        serve_on_a_terminal(Some("")).contains("\x1b["),
        "NO_COLOR= (empty) is unset"
    );
}

// ---------------------------------------------------------------------------
// Production: TLS, systemd, plain HTTP on the network
// ---------------------------------------------------------------------------

/// A self-signed certificate for 127.0.0.1 named `name`: (certificate PEM, key PEM).
fn certificate(name: &str) -> (String, String) {
    let key = rcgen::KeyPair::generate().expect("a key");
    let mut params =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).expect("certificate params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let cert = params.self_signed(&key).expect("a self-signed certificate");
    (cert.pem(), key.serialize_pem())
}

/// Writes a certificate and its key where `serve` reads them, each by rename (as a
/// certificate manager does), so `serve` never reads half a file.
fn install_certificate(dir: &Path, (cert, key): &(String, String)) {
    write_by_rename(&dir.join("cert.pem"), "cert.pem.new", cert);
    write_by_rename(&dir.join("key.pem"), "key.pem.new", key);
}

/// `GET https://ADDRESS/healthz` from a client that trusts only `cert`, on a new
/// connection: the status, or the client's error.
fn https_health(address: &str, cert: &str) -> Result<u16, String> {
    https_get(address, "/healthz", cert, None)
}

/// `GET https://ADDRESS{path}`, with a bearer token if given, from a client that
/// trusts only `cert`, on a new connection: the status, or the client's error.
fn https_get(address: &str, path: &str, cert: &str, token: Option<&str>) -> Result<u16, String> {
    actionsync::tls::install_provider();
    let root = reqwest::Certificate::from_pem(cert.as_bytes()).expect("a PEM certificate");
    let client = reqwest::blocking::Client::builder()
        .tls_certs_only([root])
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("an HTTPS client");
    let mut request = client.get(format!("https://{address}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request
        .send()
        .map(|r| r.status().as_u16())
        .map_err(|e| format!("{e:?}"))
}

/// `--tls-cert`/`--tls-key`: the API is served over HTTPS with that certificate;
/// after SIGHUP, new connections get the renewed one; a broken renewal keeps the
/// one that works, and says so.
#[test]
fn https_serves_the_given_certificate_and_a_renewed_one_after_sighup() {
    let dir = tempdir();
    let first = certificate("first");
    install_certificate(dir.path(), &first);
    let token = util::actionsync(["token", "create", "--admin"])
        .current_dir(dir.path())
        .run()
        .assert_success()
        .stdout()
        .lines()
        .last()
        .expect("the token, on the last line")
        .to_string();
    let daemon = Daemon::start(
        dir.path(),
        &["--tls-cert", "cert.pem", "--tls-key", "key.pem"],
        &[],
    );
    let listening = daemon
        .find_log("listening", |_| true)
        .expect("a `listening` line");
    assert_eq!(
        listening["tls"], true,
        "the listening line says TLS: {listening}"
    );
    assert_eq!(
        https_health(&daemon.address, &first.0),
        Ok(200),
        "GET /healthz over HTTPS, trusting the first certificate"
    );
    assert_eq!(
        https_get(&daemon.address, "/v1/sources", &first.0, Some(&token)),
        Ok(200),
        "the API over HTTPS, with the rate limits on (they key on the client's address)"
    );
    let (status, _) = http_get_raw(&daemon.address);
    assert_ne!(status, Some(200), "plain HTTP is not served beside HTTPS");

    let second = certificate("second");
    install_certificate(dir.path(), &second);
    daemon.signal("HUP");
    eventually_sync(
        "the renewed certificate to be served",
        || match https_health(&daemon.address, &second.0) {
            Ok(200) => Ok(()),
            other => Err(format!("{other:?}")),
        },
    );
    assert!(
        daemon
            .find_log("TLS certificate reloaded", |_| true)
            .is_some(),
        "the reload is logged:\n{}",
        daemon.log_text()
    );
    assert!(
        https_health(&daemon.address, &first.0).is_err(),
        "a client trusting only the old certificate no longer connects"
    );

    std::fs::write(dir.path().join("cert.pem"), "not a certificate\n").unwrap();
    daemon.signal("HUP");
    eventually_sync("the failed reload to be logged", || {
        daemon
            .find_log(
                "the TLS certificate was not reloaded; new connections keep the one loaded before",
                |e| {
                    e["level"] == "WARN"
                        && e["error"].as_str().is_some_and(|m| m.contains("cert.pem"))
                },
            )
            .ok_or_else(|| daemon.log_text())
    });
    assert_eq!(
        https_health(&daemon.address, &second.0),
        Ok(200),
        "after a broken renewal the working certificate is still served"
    );
}

/// A plain HTTP request to `address`: the status, if the answer was HTTP at all.
fn http_get_raw(address: &str) -> (Option<u16>, String) {
    let Ok(mut stream) = TcpStream::connect(address) else {
        return (None, String::new());
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let _ = write!(
        stream,
        "GET /healthz HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    );
    let mut bytes = Vec::new();
    let _ = stream.read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes).to_string();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|t| t.get(..3))
        .and_then(|s| s.parse().ok());
    (status, text)
}

/// A certificate that cannot be read stops `serve` at once, naming the file.
#[test]
fn an_unreadable_certificate_stops_serve_naming_the_file() {
    let dir = tempdir();
    std::fs::write(dir.path().join("key.pem"), certificate("k").1).unwrap();
    let run = util::actionsync([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        "missing.pem",
        "--tls-key",
        "key.pem",
    ])
    .current_dir(dir.path())
    .run();
    run.check(
        run.code() != Some(0),
        "serve must fail without its certificate",
    )
    .assert_stderr_contains("missing.pem")
    .assert_stderr_contains("cannot read the certificate");
    let run = util::actionsync(["serve", "--tls-cert", "cert.pem"])
        .current_dir(dir.path())
        .run();
    run.assert_exit(64).assert_stderr_contains("--tls-key");
}

/// Plain HTTP on an address other machines reach is warned about at start; on
/// loopback it is not.
#[test]
fn plain_http_beyond_loopback_is_warned_about() {
    const WARNING: &str = "serving plain HTTP on a non-loopback address: bearer tokens and edits cross the network unencrypted; give --tls-cert and --tls-key, or put a TLS-terminating proxy in front";
    let dir = tempdir();
    let open = Daemon::start(dir.path(), &["--listen", "0.0.0.0:0"], &[]);
    assert!(
        open.find_log(WARNING, |e| e["level"] == "WARN").is_some(),
        "no warning for plain HTTP on 0.0.0.0:\n{}",
        open.log_text()
    );
    let dir = tempdir();
    let local = Daemon::start(dir.path(), &[], &[]);
    assert!(
        local.find_log(WARNING, |_| true).is_none(),
        "a warning on loopback:\n{}",
        local.log_text()
    );
}

/// The datagrams `serve` sent to a `NOTIFY_SOCKET` made here.
struct NotifySocket {
    socket: std::os::unix::net::UnixDatagram,
    path: PathBuf,
    seen: Vec<String>,
}

impl NotifySocket {
    fn bind(dir: &Path) -> NotifySocket {
        let path = dir.join("notify.sock");
        let socket = std::os::unix::net::UnixDatagram::bind(&path).expect("bind a notify socket");
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        NotifySocket {
            socket,
            path,
            seen: Vec::new(),
        }
    }

    /// Reads what arrived until `done` holds of everything seen so far.
    fn until(&mut self, what: &str, done: impl Fn(&[String]) -> bool) {
        let started = Instant::now();
        let mut buffer = [0u8; 4096];
        while !done(&self.seen) {
            if started.elapsed() > WAIT {
                panic!(
                    "timed out waiting for {what}; systemd was told {:?}",
                    self.seen
                );
            }
            if let Ok(n) = self.socket.recv(&mut buffer) {
                self.seen
                    .push(String::from_utf8_lossy(&buffer[..n]).to_string());
            }
        }
    }
}

/// How many of the datagrams `seen` hold the line `line`.
fn said(seen: &[String], line: &str) -> usize {
    seen.iter().filter(|m| m.lines().any(|l| l == line)).count()
}

/// `Type=notify`: systemd hears `READY=1` only once `/readyz` would say ready, the
/// watchdog is fed at half its period, a reload says `RELOADING=1` then `READY=1`,
/// and a stop says `STOPPING=1`.
#[test]
fn systemd_hears_ready_when_ready_and_the_watchdog_is_fed() {
    let server = ScriptedServer::start(Reply::doc(spec("held", 2, "v1"), "\"h1\""), false);
    let dir = tempdir();
    std::fs::write(
        dir.path().join("actionsync.yaml"),
        format!(
            "sources:\n  - name: held\n    url: {}/held.yaml\n    every: 1s\n",
            server.base
        ),
    )
    .unwrap();
    let mut notify = NotifySocket::bind(dir.path());
    let socket = notify.path.display().to_string();
    let mut daemon = Daemon::start(
        dir.path(),
        &["--config", "actionsync.yaml"],
        &[("NOTIFY_SOCKET", &socket), ("WATCHDOG_USEC", "200000")],
    );
    notify.until("three watchdog pings", |seen| said(seen, "WATCHDOG=1") >= 3);
    let (status, body) = daemon.get("/readyz");
    assert_eq!(status, 503, "/readyz while the first fetch is held: {body}");
    assert_eq!(
        said(&notify.seen, "READY=1"),
        0,
        "READY=1 before ready: {:?}",
        notify.seen
    );

    server.open_gate();
    notify.until("READY=1", |seen| said(seen, "READY=1") > 0);
    let (status, body) = daemon.get("/readyz");
    assert_eq!(status, 200, "/readyz once systemd was told READY=1: {body}");

    daemon.signal("HUP");
    notify.until("RELOADING=1 then READY=1", |seen| {
        let reloading = seen
            .iter()
            .position(|m| m.lines().any(|l| l == "RELOADING=1"));
        reloading.is_some_and(|at| said(&seen[at..], "READY=1") > 0)
    });

    let status = daemon.terminate();
    assert!(status.success(), "serve exits 0 on SIGTERM: {status}");
    notify.until("STOPPING=1", |seen| said(seen, "STOPPING=1") > 0);
}
