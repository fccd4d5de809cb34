//! The HTTP API: how many tool lists `GET /v1/tools` serves per second
//! from a catalogue of 2,000 actions, and what pushing a large real spec costs.
//!
//! 1. **tool list**: `serve` on a fresh SQLite catalogue holding one pushed source of
//!    2,000 generated operations; by `PATCH /v1/actions/{id}`, 400 of them are
//!    restricted to segment `vip`, 400 moved to channel `sms` and 400 restricted to
//!    segments `eu` and `vip`, so 1,200 are visible to `channel=widget&segments=eu`.
//!    N client threads, each with one keep-alive connection, ask for that list for
//!    `--seconds` after a 0.5 s warm-up, in `--runs` rounds. The client is a few
//!    lines of HTTP/1.1 over `TcpStream`, so its own cost stays small, and it is
//!    measured (CPU time from `/proc`). Every run checks that the answers are 200
//!    and that one of them parses to the expected number of tools. One more row
//!    sends `If-None-Match` with the list's `ETag` and gets a 304: the request's
//!    fixed cost (token, generation) without filtering or body. Baseline from
//!    the same rounds, interleaved: the same client against `GET /healthz` (no
//!    token, no catalogue). With `wrk` on the `PATH`, one run of it per URL as a
//!    cross-check.
//! 2. **push**: Stripe's, OpenAI's and GitHub's specs from `../shared/specs/`, each
//!    to a fresh catalogue: a dry run (plans every action, writes nothing), the
//!    first push (creates them), and the same push again (`unchanged`), timed by
//!    the client from the first byte sent to the last byte read. Baseline from the
//!    same rounds: `spec::parse_document` of the same bytes, in-process.
//!
//! `cargo bench --bench api [-- --runs N --seconds S --only tools|push]`.
//! Linux (reads /proc).

mod common;

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier, Mutex, mpsc};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const OPERATIONS: usize = 2000;
const WARMUP: Duration = Duration::from_millis(500);
const DEFAULT_RUNS: usize = 5;
const DEFAULT_SECONDS: f64 = 3.0;
/// The query the AI runtime sends on each turn, without the format.
const AUDIENCE: &str = "channel=widget&segments=eu";
/// The large real specs pushed in part 2: label and path under `../shared/specs/`.
const PUSHED: &[(&str, &str)] = &[
    ("Stripe", "large/stripe-spec3-2022-04-12.json"),
    ("OpenAI", "large/openai-openapi.yaml"),
    ("GitHub", "swagger2/bugs__811__swagger.json"),
];

struct Args {
    runs: usize,
    measure: Duration,
    tools: bool,
    push: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        runs: DEFAULT_RUNS,
        measure: Duration::from_secs_f64(DEFAULT_SECONDS),
        tools: true,
        push: true,
    };
    let mut given = std::env::args().skip(1);
    while let Some(arg) = given.next() {
        let mut value = |name: &str| given.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--runs" => {
                let v = value("--runs")?;
                args.runs = v
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or(format!("--runs: `{v}` is not a number above 0"))?;
            }
            "--seconds" => {
                let v = value("--seconds")?;
                let seconds: f64 = v
                    .parse()
                    .ok()
                    .filter(|&s| s > 0.0)
                    .ok_or(format!("--seconds: `{v}` is not a positive number"))?;
                args.measure = Duration::from_secs_f64(seconds);
            }
            "--only" => match value("--only")?.as_str() {
                "tools" => args.push = false,
                "push" => args.tools = false,
                other => return Err(format!("--only: `{other}`; use tools or push")),
            },
            // Cargo passes `--bench`; other harness flags mean nothing here.
            _ => {}
        }
    }
    Ok(args)
}

// ---------------------------------------------------------------------------
// The server

/// `actionsync serve` on a catalogue, stopped when dropped.
struct Server {
    child: Child,
    address: SocketAddr,
    /// The last lines the server logged, to show when something fails.
    log: Arc<Mutex<VecDeque<String>>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `serve` (no watched specs) on `database` and waits until it listens.
    fn start(dir: &Path, database: &str) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_actionsync"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--log-format",
                "json",
                "--database",
                database,
            ])
            .current_dir(dir)
            // The bench measures the server's throughput, not its rate limits.
            .env("ACTIONSYNC_RATE_LIMIT_PER_TOKEN", "0")
            .env("ACTIONSYNC_RATE_LIMIT_PER_ADDRESS", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start actionsync serve");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(VecDeque::new()));
        let (listening_tx, listening_rx) = mpsc::channel();
        // Keep reading stderr for the server's whole life: a full pipe would block it.
        let kept = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(value) = serde_json::from_str::<Value>(&line)
                    && value["message"] == "listening"
                    && let Some(address) = value["address"].as_str()
                {
                    let _ = listening_tx.send(address.to_string());
                }
                let mut kept = kept.lock().unwrap_or_else(|e| e.into_inner());
                if kept.len() == 20 {
                    kept.pop_front();
                }
                kept.push_back(line);
            }
        });
        let address = listening_rx
            .recv_timeout(Duration::from_secs(120))
            .expect("the server logged the address it listens on");
        Server {
            child,
            address: address.parse().expect("a socket address"),
            log,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails the bench with `what`, followed by the server's last log lines.
    fn fail(&self, what: &str) -> ! {
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        let lines: Vec<&str> = log.iter().map(String::as_str).collect();
        panic!("{what}\nthe server's last log lines:\n{}", lines.join("\n"));
    }
}

/// A fresh catalogue in a temporary folder, an admin and a tools token for it, and
/// `serve` on it.
struct Instance {
    // Declared first so it stops before its folder is removed.
    server: Server,
    admin: String,
    tools: String,
    _dir: tempfile::TempDir,
}

impl Instance {
    fn new() -> Instance {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let database = format!("sqlite://{}", dir.path().join("catalogue.db").display());
        let admin = create_token(dir.path(), &database, "--admin");
        let tools = create_token(dir.path(), &database, "--tools");
        let server = Server::start(dir.path(), &database);
        Instance {
            server,
            admin,
            tools,
            _dir: dir,
        }
    }

    fn connect(&self) -> Connection {
        Connection::open(self.server.address).unwrap_or_else(|e| {
            self.server
                .fail(&format!("cannot connect to {}: {e}", self.server.address))
        })
    }

    /// One request; the status and the body.
    fn call(
        &self,
        connection: &mut Connection,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, Vec<u8>) {
        let mut reply = Vec::new();
        let status = connection
            .exchange(&request(method, path, headers, body), &mut reply)
            .unwrap_or_else(|e| self.server.fail(&format!("{method} {path}: {e}")));
        (status, reply)
    }

    /// One request that must answer 200 with JSON.
    fn call_json(
        &self,
        connection: &mut Connection,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Value {
        let (status, reply) = self.call(connection, method, path, headers, body);
        if status != 200 {
            self.server.fail(&format!(
                "{method} {path} answered {status}: {}",
                String::from_utf8_lossy(&reply)
            ));
        }
        serde_json::from_slice(&reply).unwrap_or_else(|e| {
            self.server
                .fail(&format!("{method} {path} answered something not JSON: {e}"))
        })
    }
}

/// Creates a token with `actionsync token create`; it is the last line of stdout.
fn create_token(dir: &Path, database: &str, scope: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_actionsync"))
        .args(["token", "create", scope, "--database", database])
        .current_dir(dir)
        .output()
        .expect("run actionsync token create");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "actionsync token create {scope} failed: {}{}",
        stdout,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .last()
        .expect("a token on the last line")
        .trim()
        .to_string()
}

// ---------------------------------------------------------------------------
// The client

/// One keep-alive HTTP/1.1 connection: just enough client for this server, which
/// answers with `Content-Length`.
struct Connection {
    writer: TcpStream,
    reader: BufReader<TcpStream>,
    line: String,
    /// The `ETag` of the last answer that had one.
    etag: Option<String>,
}

impl Connection {
    fn open(address: SocketAddr) -> io::Result<Connection> {
        let stream = TcpStream::connect(address)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(300)))?;
        Ok(Connection {
            writer: stream.try_clone()?,
            reader: BufReader::with_capacity(64 * 1024, stream),
            line: String::new(),
            etag: None,
        })
    }

    /// Sends a request (all its bytes) and reads the answer's body into `body`;
    /// returns the status.
    fn exchange(&mut self, request: &[u8], body: &mut Vec<u8>) -> io::Result<u16> {
        self.writer.write_all(request)?;
        let status_line = self.read_line()?;
        let status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| broken(format!("not an HTTP status line: {status_line:?}")))?;
        let mut length = None;
        loop {
            let header = self.read_line()?;
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse::<u64>().ok();
                } else if name.eq_ignore_ascii_case("etag") {
                    self.etag = Some(value.trim().to_string());
                }
            }
        }
        body.clear();
        match length {
            Some(n) => {
                (&mut self.reader).take(n).read_to_end(body)?;
                if body.len() as u64 != n {
                    return Err(broken(format!(
                        "the body ended after {} of {n} bytes",
                        body.len()
                    )));
                }
            }
            None if status == 204 || status == 304 => {}
            None => {
                return Err(broken(format!(
                    "answer {status} has no Content-Length; this client reads only that"
                )));
            }
        }
        Ok(status)
    }

    /// One line of the head, without its line end.
    fn read_line(&mut self) -> io::Result<String> {
        self.line.clear();
        if self.reader.read_line(&mut self.line)? == 0 {
            return Err(broken("the server closed the connection".to_string()));
        }
        Ok(self.line.trim_end().to_string())
    }
}

fn broken(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// A request's bytes, ready to write.
fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if method != "GET" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

// ---------------------------------------------------------------------------
// Part 1: the tool list

/// The generated spec: `operations` operations on one https server, each with a
/// distinct operationId and summary, a path, a query and a header parameter; the
/// POSTs and PATCHes take a JSON body.
fn widget_spec(operations: usize) -> Vec<u8> {
    let body = json!({
        "required": true,
        "content": {"application/json": {"schema": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "description": "The widget's display name"},
                "quantity": {"type": "integer", "minimum": 0},
                "tags": {"type": "array", "items": {"type": "string"}}
            }
        }}}
    });
    let mut paths = serde_json::Map::new();
    for i in 0..operations {
        let (method, verb, summary_verb) = match i % 4 {
            0 => ("get", "get", "Look up"),
            1 => ("post", "create", "Create"),
            2 => ("patch", "update", "Update"),
            _ => ("delete", "delete", "Remove"),
        };
        // Three numbers per summary keep any two summaries far from lint's
        // near-duplicate threshold.
        let summary = format!(
            "{summary_verb} widget {i} in aisle {} of warehouse {}",
            (i * 7) % 2003,
            (i * 13) % 1009
        );
        let mut operation = json!({
            "operationId": format!("{verb}Widget{i:04}"),
            "summary": summary,
            "parameters": [
                {"name": "widgetId", "in": "path", "required": true, "schema": {"type": "string"},
                 "description": "The widget's id"},
                {"name": "fields", "in": "query", "schema": {"type": "string"},
                 "description": "Comma-separated fields to return"},
                {"name": "X-Request-Id", "in": "header", "schema": {"type": "string"}}
            ],
            "responses": {"200": {"description": "The widget"}}
        });
        if matches!(method, "post" | "patch") {
            operation["requestBody"] = body.clone();
        }
        paths.insert(
            format!("/widgets/{i:04}/{{widgetId}}"),
            json!({ method: operation }),
        );
    }
    let spec = json!({
        "openapi": "3.0.3",
        "info": {"title": "Widgets", "version": "1"},
        "servers": [{"url": "https://widgets.example.com/v1"}],
        "paths": paths
    });
    serde_json::to_vec(&spec).expect("the spec serialises")
}

/// Pushes the generated spec as source `widgets`, then restricts every fifth
/// action to segment `vip` and every fifth (another one) to channel `sms`, and
/// puts every fifth (a third one) in segments `eu` and `vip`. Returns how many
/// actions `channel=widget&segments=eu` sees.
fn seed(instance: &Instance, operations: usize) -> usize {
    let admin = format!("Bearer {}", instance.admin);
    let auth = [("Authorization", admin.as_str())];
    let mut connection = instance.connect();
    let spec = widget_spec(operations);
    let reply = instance.call_json(
        &mut connection,
        "PUT",
        "/v1/sources/widgets/spec",
        &[auth[0], ("Content-Type", "application/json")],
        &spec,
    );
    let created = reply["counts"]["created"].as_u64().unwrap_or(0) as usize;
    if reply["outcome"] != "applied" || created != operations {
        instance.server.fail(&format!(
            "pushing the generated spec: outcome {}, {created} of {operations} actions created",
            reply["outcome"]
        ));
    }
    let mut visible = 0;
    let mut after: Option<i64> = None;
    loop {
        let path = match after {
            Some(a) => format!("/v1/actions?source=widgets&limit=1000&after={a}"),
            None => "/v1/actions?source=widgets&limit=1000".to_string(),
        };
        let page = instance.call_json(&mut connection, "GET", &path, &auth, b"");
        for action in page["actions"].as_array().into_iter().flatten() {
            let id = action["id"].as_i64().expect("an action id");
            let name = action["name"].as_str().unwrap_or("");
            let digits = name.len() - name.trim_end_matches(|c: char| c.is_ascii_digit()).len();
            let number: usize = name[name.len() - digits..]
                .parse()
                .unwrap_or_else(|_| panic!("action `{name}` does not end in its number"));
            let edit: &[u8] = match number % 5 {
                0 => br#"{"segments":["vip"]}"#,
                1 => br#"{"channels":["sms"]}"#,
                2 => br#"{"segments":["eu","vip"]}"#,
                _ => b"",
            };
            if number % 5 >= 2 {
                visible += 1;
            }
            if !edit.is_empty() {
                instance.call_json(
                    &mut connection,
                    "PATCH",
                    &format!("/v1/actions/{id}"),
                    &[
                        auth[0],
                        ("If-Match", "*"),
                        ("Content-Type", "application/json"),
                    ],
                    edit,
                );
            }
        }
        match page["next_after"].as_i64() {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    visible
}

/// What one load run asks for, and what a correct answer looks like.
struct Target {
    label: String,
    path: String,
    token: Option<String>,
    connections: usize,
    /// The tool format, or `None` for `/healthz`.
    format: Option<&'static str>,
    /// Sent as `If-None-Match`: the answer is then a 304 without a body.
    if_none_match: Option<String>,
}

/// One load run's figures.
struct Measured {
    requests: usize,
    rps: f64,
    p50: Duration,
    p99: Duration,
    bytes: usize,
    /// Server CPU time per request, µs.
    server_cpu: f64,
    /// Client (this process) CPU time per request, µs.
    client_cpu: f64,
    /// The server's context switches (all its threads) per request.
    server_switches: f64,
}

/// What each client thread brings back.
struct ThreadResult {
    latencies: Vec<Duration>,
    sample: Vec<u8>,
}

/// Runs `target` against the server: `connections` threads, each one connection,
/// as fast as answers come, for the warm-up and then `measure`. Checks every status
/// and one body.
fn load(instance: &Instance, target: &Target, expected: usize, measure: Duration) -> Measured {
    let auth = target.token.as_ref().map(|t| format!("Bearer {t}"));
    let mut headers: Vec<(&str, &str)> =
        auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    if let Some(tag) = &target.if_none_match {
        headers.push(("If-None-Match", tag.as_str()));
    }
    let want = if target.if_none_match.is_some() {
        304
    } else {
        200
    };
    let bytes = request("GET", &target.path, &headers, b"");
    let barrier = Barrier::new(target.connections + 1);
    let server_pid = instance.server.pid().to_string();
    let (results, window) = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..target.connections)
            .map(|_| {
                let mut connection = instance.connect();
                let (barrier, bytes) = (&barrier, &bytes);
                scope.spawn(move || -> Result<ThreadResult, String> {
                    let mut body = Vec::new();
                    let mut latencies = Vec::with_capacity(1 << 16);
                    let mut sample = Vec::new();
                    barrier.wait();
                    let measured_from = Instant::now() + WARMUP;
                    let end = measured_from + measure;
                    loop {
                        let started = Instant::now();
                        if started >= end {
                            break;
                        }
                        let status = connection
                            .exchange(bytes, &mut body)
                            .map_err(|e| e.to_string())?;
                        let done = Instant::now();
                        if status != want {
                            return Err(format!(
                                "answer {status}: {}",
                                String::from_utf8_lossy(&body)
                            ));
                        }
                        if sample.is_empty() {
                            sample = body.clone();
                        }
                        if started >= measured_from {
                            latencies.push(done - started);
                        }
                    }
                    Ok(ThreadResult { latencies, sample })
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        std::thread::sleep(WARMUP);
        let usage = || {
            (
                cpu_ticks(&server_pid),
                cpu_ticks("self"),
                context_switches(&server_pid),
            )
        };
        let before = usage();
        std::thread::sleep(measure.saturating_sub(start.elapsed().saturating_sub(WARMUP)));
        let after = usage();
        let results: Vec<_> = threads
            .into_iter()
            .map(|t| t.join().expect("a client thread"))
            .collect();
        (
            results,
            (after.0 - before.0, after.1 - before.1, after.2 - before.2),
        )
    });
    let mut latencies = Vec::new();
    let mut sample = Vec::new();
    for result in results {
        match result {
            Ok(r) => {
                latencies.extend(r.latencies);
                if sample.is_empty() {
                    sample = r.sample;
                }
            }
            Err(e) => instance.server.fail(&format!("GET {}: {e}", target.path)),
        }
    }
    check(instance, target, &sample, expected);
    latencies.sort();
    let requests = latencies.len().max(1);
    // Ticks are 1/100 s on Linux.
    let per_request = |ticks: u64| ticks as f64 * 10_000.0 / requests as f64;
    Measured {
        requests: latencies.len(),
        rps: latencies.len() as f64 / measure.as_secs_f64(),
        p50: percentile(&latencies, 0.5),
        p99: percentile(&latencies, 0.99),
        bytes: sample.len(),
        server_cpu: per_request(window.0),
        client_cpu: per_request(window.1),
        server_switches: window.2 as f64 / requests as f64,
    }
}

/// Fails the bench unless `body` is the answer `target` should give.
fn check(instance: &Instance, target: &Target, body: &[u8], expected: usize) {
    if target.if_none_match.is_some() {
        if !body.is_empty() {
            instance
                .server
                .fail(&format!("{}: a 304 with a body", target.path));
        }
        return;
    }
    let Some(format) = target.format else {
        if body != b"ok\n" {
            instance.server.fail(&format!(
                "/healthz answered {:?}",
                String::from_utf8_lossy(body)
            ));
        }
        return;
    };
    let value: Value = serde_json::from_slice(body).unwrap_or_else(|e| {
        instance
            .server
            .fail(&format!("{}: the answer is not JSON: {e}", target.path))
    });
    let tools = if format == "mcp" {
        &value["tools"]
    } else {
        &value
    };
    let count = tools.as_array().map_or(0, Vec::len);
    if count != expected {
        instance.server.fail(&format!(
            "{}: {count} tools, expected {expected}",
            target.path
        ));
    }
}

/// Context switches, voluntary or not, of all of a process's threads.
fn context_switches(pid: &str) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|task| std::fs::read_to_string(task.path().join("status")).ok())
        .flat_map(|status| {
            status
                .lines()
                .filter_map(|l| l.split_once("ctxt_switches:"))
                .filter_map(|(_, n)| n.trim().parse::<u64>().ok())
                .collect::<Vec<_>>()
        })
        .sum()
}

/// CPU ticks (user + system) of a process (`self` for this one).
fn cpu_ticks(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|v| v.parse::<u64>().ok()))
        .sum()
}

/// The tool-list targets and their baselines, in the order of the table. `etag`
/// is the tool list's current `ETag`, for the conditional request.
fn targets(tools_token: &str, etag: &str) -> Vec<Target> {
    let health = |connections| Target {
        label: "baseline: GET /healthz".to_string(),
        path: "/healthz".to_string(),
        token: None,
        connections,
        format: None,
        if_none_match: None,
    };
    let tools = |format: &'static str, connections| Target {
        label: format!("GET /v1/tools, format={format}"),
        path: format!("/v1/tools?{AUDIENCE}&format={format}"),
        token: Some(tools_token.to_string()),
        connections,
        format: Some(format),
        if_none_match: None,
    };
    // Token, generation and snapshot, but no filtering and no body: what every
    // tool list costs before its tools.
    let not_modified = Target {
        label: format!("GET /v1/tools, If-None-Match: {etag} (304)"),
        if_none_match: Some(etag.to_string()),
        ..tools("openai", 2)
    };
    vec![
        health(2),
        tools("openai", 2),
        health(8),
        tools("openai", 8),
        tools("native", 2),
        tools("mcp", 2),
        not_modified,
    ]
}

fn bench_tools(args: &Args) {
    let instance = Instance::new();
    let started = Instant::now();
    let expected = seed(&instance, OPERATIONS);
    println!(
        "Seeded {OPERATIONS} actions ({expected} visible to `{AUDIENCE}`) in {:.1} s.\n",
        started.elapsed().as_secs_f64()
    );
    let mut connection = instance.connect();
    let auth = format!("Bearer {}", instance.tools);
    let path = format!("/v1/tools?{AUDIENCE}&format=openai");
    instance.call_json(
        &mut connection,
        "GET",
        &path,
        &[("Authorization", &auth)],
        b"",
    );
    let Some(etag) = connection.etag.take() else {
        instance
            .server
            .fail(&format!("GET {path} answered without an ETag"));
    };
    let targets = targets(&instance.tools, &etag);
    let mut runs: Vec<Vec<Measured>> = targets.iter().map(|_| Vec::new()).collect();
    for round in 0..args.runs {
        // Rotate the order each round, so no target always follows the same one.
        for k in 0..targets.len() {
            let i = (k + round) % targets.len();
            runs[i].push(load(&instance, &targets[i], expected, args.measure));
        }
    }

    println!(
        "#### GET /v1/tools?{AUDIENCE}: {OPERATIONS} actions, {expected} visible ({} runs of {:.1} s after {:.1} s warm-up; medians)\n",
        args.runs,
        args.measure.as_secs_f64(),
        WARMUP.as_secs_f64()
    );
    println!(
        "| what | connections | answer (bytes) | requests/s | (min–max) | p50 (ms) | p99 (ms) | server CPU (µs/req) | server context switches / req | client CPU (µs/req) | vs baseline |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let baseline_rps = |connections: usize| {
        targets
            .iter()
            .zip(&runs)
            .find(|(t, _)| t.format.is_none() && t.connections == connections)
            .map(|(_, r)| median(r.iter().map(|m| m.rps).collect()))
    };
    for (target, measured) in targets.iter().zip(&runs) {
        let rps: Vec<f64> = measured.iter().map(|m| m.rps).collect();
        let (low, high) = rps
            .iter()
            .fold((f64::MAX, 0.0f64), |(l, h), &r| (l.min(r), h.max(r)));
        let rps = median(rps);
        let ratio = match (target.format, baseline_rps(target.connections)) {
            (Some(_), Some(base)) => format!("{:.2}x the rps", rps / base),
            _ => "—".to_string(),
        };
        println!(
            "| {} | {} | {} | {:.0} | {:.0}–{:.0} | {} | {} | {:.0} | {:.1} | {:.0} | {ratio} |",
            target.label,
            target.connections,
            measured.last().map_or(0, |m| m.bytes),
            rps,
            low,
            high,
            ms(median_duration(measured.iter().map(|m| m.p50).collect())),
            ms(median_duration(measured.iter().map(|m| m.p99).collect())),
            median(measured.iter().map(|m| m.server_cpu).collect()),
            median(measured.iter().map(|m| m.server_switches).collect()),
            median(measured.iter().map(|m| m.client_cpu).collect()),
        );
    }
    let total: usize = runs.iter().flatten().map(|m| m.requests).sum();
    println!(
        "\n{total} requests timed in all; every answer had the status expected (200, or 304) and one per run was checked."
    );

    cross_check(&instance, &targets, args.measure);
}

/// One `wrk` run per URL (2 threads), if wrk is installed.
fn cross_check(instance: &Instance, targets: &[Target], measure: Duration) {
    let seconds = measure.as_secs().max(1);
    println!("\n#### Cross-check: wrk -t2, {seconds} s, one run each\n");
    let mut printed_header = false;
    for target in targets
        .iter()
        .filter(|t| t.if_none_match.is_none() && t.format.is_none_or(|f| f == "openai"))
    {
        let url = format!("http://{}{}", instance.server.address, target.path);
        let mut command = Command::new("wrk");
        command.args([
            "-t2",
            &format!("-c{}", target.connections),
            &format!("-d{seconds}s"),
            "--latency",
        ]);
        if let Some(token) = &target.token {
            command.args(["-H", &format!("Authorization: Bearer {token}")]);
        }
        let output = match command.arg(&url).output() {
            Ok(output) if output.status.success() => output,
            Ok(output) => {
                println!(
                    "wrk failed on {url}: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
                continue;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                println!("SKIPPED: wrk is not installed");
                return;
            }
            Err(e) => {
                println!("SKIPPED: cannot run wrk: {e}");
                return;
            }
        };
        let text = String::from_utf8_lossy(&output.stdout);
        if !printed_header {
            println!("| what | connections | requests/s | p50 (ms) | p99 (ms) | non-2xx |");
            println!("|---|---:|---:|---:|---:|---:|");
            printed_header = true;
        }
        let field = |prefix: &str| {
            text.lines()
                .map(str::trim)
                .find_map(|l| l.strip_prefix(prefix))
                .map(|v| v.trim().to_string())
        };
        let latency = |p: &str| {
            field(p)
                .and_then(|v| wrk_duration(&v))
                .map_or("?".to_string(), ms)
        };
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            target.label,
            target.connections,
            field("Requests/sec:").unwrap_or_else(|| "?".to_string()),
            latency("50%"),
            latency("99%"),
            field("Non-2xx or 3xx responses:").unwrap_or_else(|| "0".to_string()),
        );
    }
}

/// A duration as wrk prints it: `310.00us`, `1.23ms`, `2.00s`, `1.00m`.
fn wrk_duration(text: &str) -> Option<Duration> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let seconds = match unit {
        "us" => number / 1e6,
        "ms" => number / 1e3,
        "s" => number,
        "m" => number * 60.0,
        _ => return None,
    };
    Some(Duration::from_secs_f64(seconds))
}

// ---------------------------------------------------------------------------
// Part 2: pushing large specs

/// One spec's timings over the rounds.
#[derive(Default)]
struct PushTimes {
    parse: Vec<Duration>,
    dry_run: Vec<Duration>,
    first: Vec<Duration>,
    second: Vec<Duration>,
    /// How each step ended in the last round: status and outcome.
    outcomes: [String; 3],
    created: u64,
    first_reply_bytes: usize,
}

/// One push, timed from the first byte written to the last byte read.
fn timed_push(
    instance: &Instance,
    connection: &mut Connection,
    request: &[u8],
) -> (Duration, String, Value, usize) {
    let mut reply = Vec::new();
    let started = Instant::now();
    let status = connection
        .exchange(request, &mut reply)
        .unwrap_or_else(|e| instance.server.fail(&format!("push: {e}")));
    let elapsed = started.elapsed();
    let value: Value = serde_json::from_slice(&reply).unwrap_or(Value::Null);
    let outcome = value["outcome"]
        .as_str()
        .or(value["error"].as_str())
        .unwrap_or("?");
    if status != 200 && status != 422 {
        instance.server.fail(&format!(
            "push answered {status}: {}",
            String::from_utf8_lossy(&reply)
        ));
    }
    (elapsed, format!("{status} {outcome}"), value, reply.len())
}

fn bench_push(args: &Args) {
    let dir = common::shared_specs();
    let specs: Vec<(&str, PathBuf, Vec<u8>)> = PUSHED
        .iter()
        .filter_map(|(label, path)| {
            let path = dir.join(path);
            match std::fs::read(&path) {
                Ok(bytes) => Some((*label, path, bytes)),
                Err(e) => {
                    println!("SKIPPED ({label}): {}: {e}", path.display());
                    None
                }
            }
        })
        .collect();
    if specs.is_empty() {
        return;
    }
    let mut times: Vec<PushTimes> = specs.iter().map(|_| PushTimes::default()).collect();
    for (_, _, bytes) in &specs {
        // Warm-up: the first parse pays for page faults the others do not.
        drop(std::hint::black_box(actionsync::spec::parse_document(
            bytes,
            usize::MAX,
        )));
    }
    for round in 0..args.runs {
        for k in 0..specs.len() {
            let i = (k + round) % specs.len();
            let (label, path, bytes) = &specs[i];
            let t = &mut times[i];

            let started = Instant::now();
            let parsed = std::hint::black_box(actionsync::spec::parse_document(
                std::hint::black_box(bytes),
                usize::MAX,
            ));
            t.parse.push(started.elapsed());
            if let Err(e) = parsed {
                panic!("{}: {e}", path.display());
            }

            // A fresh catalogue each time: the first push creates every action.
            let instance = Instance::new();
            let mut connection = instance.connect();
            instance.call(&mut connection, "GET", "/healthz", &[], b"");
            let auth = format!("Bearer {}", instance.admin);
            let content_type = if path.extension().is_some_and(|e| e == "json") {
                "application/json"
            } else {
                "application/yaml"
            };
            let headers = [
                ("Authorization", auth.as_str()),
                ("Content-Type", content_type),
            ];
            let source = label.to_ascii_lowercase();
            let dry_run = request(
                "PUT",
                &format!("/v1/sources/{source}/spec?dry_run=true"),
                &headers,
                bytes,
            );
            let push = request(
                "PUT",
                &format!("/v1/sources/{source}/spec"),
                &headers,
                bytes,
            );
            let (elapsed, dry_outcome, _, _) = timed_push(&instance, &mut connection, &dry_run);
            t.dry_run.push(elapsed);
            let (elapsed, first_outcome, value, size) =
                timed_push(&instance, &mut connection, &push);
            t.first.push(elapsed);
            t.created = value["counts"]["created"].as_u64().unwrap_or(0);
            t.first_reply_bytes = size;
            let (elapsed, second_outcome, _, _) = timed_push(&instance, &mut connection, &push);
            t.second.push(elapsed);
            t.outcomes = [dry_outcome, first_outcome, second_outcome];
        }
    }

    println!(
        "\n#### PUT /v1/sources/{{name}}/spec: large specs, each round on a fresh catalogue ({} rounds; medians, ms)\n",
        args.runs
    );
    println!(
        "| spec | size (KiB) | actions | baseline: parse in-process | dry run | first push | second push (unchanged) | dry run / parse | first push / parse | unchanged / parse |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for ((label, path, bytes), t) in specs.iter().zip(&times) {
        let parse = median_duration(t.parse.clone());
        let [dry, first, second] =
            [&t.dry_run, &t.first, &t.second].map(|v| median_duration(v.clone()));
        let ratio = |d: Duration| format!("{:.1}x", d.as_secs_f64() / parse.as_secs_f64());
        println!(
            "| {label} (`{}`) | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            path.file_name().unwrap_or_default().to_string_lossy(),
            bytes.len() / 1024,
            t.created,
            ms(parse),
            ms(dry),
            ms(first),
            ms(second),
            ratio(dry),
            ratio(first),
            ratio(second),
        );
    }
    println!();
    for ((label, _, _), t) in specs.iter().zip(&times) {
        println!(
            "- {label}: dry run {}, first push {}, second push {}; the first push's reply is {} KiB.",
            t.outcomes[0],
            t.outcomes[1],
            t.outcomes[2],
            t.first_reply_bytes / 1024
        );
    }
}

// ---------------------------------------------------------------------------

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

fn median_duration(mut values: Vec<Duration>) -> Duration {
    values.sort();
    percentile(&values, 0.5)
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.2}")
    } else {
        format!("{ms:.1}")
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".to_string())
}

fn main() {
    actionsync::allocator::configure();
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "{cores} cores; load average (1 min) {} at the start.\n",
        load_average()
    );
    if args.tools {
        bench_tools(&args);
    }
    if args.push {
        bench_push(&args);
    }
    println!("\nLoad average (1 min) {} at the end.", load_average());
}
