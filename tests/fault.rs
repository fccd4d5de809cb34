//! Two `serve` replicas on one PostgreSQL catalogue, under concurrent pushes, hand
//! edits and tool-list reads, while one of them (the victim) is killed with SIGKILL
//! at random moments and restarted after each kill. The other (the survivor) is
//! never touched.
//!
//! Every write the server acknowledged (a 2xx answer) must be in the catalogue
//! afterwards: each acknowledged revision with the spec it applied, each
//! acknowledged hand edit's value. No apply may be partial: each source's revisions
//! are numbered 1, 2, … without a gap, and its active actions are exactly what its
//! last revision's spec converts to, all from that one spec. The survivor must keep
//! serving: no 5xx but `503 busy` (documented: other applies kept landing first),
//! and no failed connection.
//!
//! The short version runs in `cargo test` (20 s of load); `ACTIONSYNC_FAULT_SECONDS`
//! sets another length and `ACTIONSYNC_FAULT_SEED` another seed (the kill moments,
//! the replica each request goes to, the specs). PostgreSQL only: it is what
//! replicas share. Without `ACTIONSYNC_TEST_POSTGRES` the test says it skipped.
//! The figures are printed at the end (`--nocapture` shows them); RELIABILITY.md,
//! "Replicas killed under load (issue 13)", has those of a long run.

mod common;
mod util;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use actionsync::action::ActionState;
use actionsync::convert::{ConvertOptions, convert};
use actionsync::source::{LoadOptions, SpecLocation, load};
use actionsync::store::{self, ActionQuery, Store};
use reqwest::blocking::Client;
use serde_json::{Value, json};

/// The pushed sources.
const SOURCES: [&str; 2] = ["alpha", "beta"];
/// Operations every spec has; the hand edits go to their actions.
const BASE_OPERATIONS: usize = 5;
/// Operations a spec may have besides (0 to this many), so pushes also create,
/// archive and restore actions. 3 of 8 is under the removal guard's half.
const EXTRA_OPERATIONS: u64 = 3;
/// How long a replica may take to start, or a check to hold.
const WAIT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------
// A seeded random number generator (SplitMix64): the run is one seed.
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `low..=high`.
    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }

    /// A generator of its own for one worker.
    fn fork(&mut self) -> Rng {
        Rng(self.next())
    }
}

// ---------------------------------------------------------------------------
// Specs
// ---------------------------------------------------------------------------

/// Push `push` of `source`: the base operations and `extra` more, every summary
/// naming the push, so each push changes every action and the catalogue shows which
/// push its actions came from.
fn spec(source: &str, push: u64, extra: u64) -> String {
    let mut out = format!(
        "openapi: 3.0.3\ninfo: {{title: {source}, version: '{push}'}}\nservers: [{{url: 'https://api.example.com'}}]\npaths:\n"
    );
    for i in 0..BASE_OPERATIONS as u64 + extra {
        out.push_str(&format!(
            "  /{source}/items{i}/{{id}}:\n    get:\n      operationId: {source}Item{i}\n      summary: Look up item {i} of {source} and return its details to the customer (push {push})\n      parameters: [{{name: id, in: path, required: true, schema: {{type: string}}}}]\n      responses: {{'200': {{description: ok}}}}\n"
        ));
    }
    out
}

/// The push a description names: `… (push 12)` is 12.
fn push_of(description: &str) -> Option<u64> {
    description
        .rsplit_once("(push ")
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .and_then(|n| n.parse().ok())
}

// ---------------------------------------------------------------------------
// Replicas
// ---------------------------------------------------------------------------

/// A running `actionsync serve`.
struct Replica {
    child: Child,
    base: String,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Replica {
    /// `actionsync serve --database URL` on a free loopback port, rate limits off;
    /// returns once `/readyz` answers 200.
    fn start(database: &str, dir: &Path, http: &Client) -> Replica {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_actionsync"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
            .args(["--database", database])
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        util::clear_env(&mut cmd);
        // The load is far above what the default limits allow one client.
        cmd.env("ACTIONSYNC_RATE_LIMIT_PER_TOKEN", "0")
            .env("ACTIONSYNC_RATE_LIMIT_PER_ADDRESS", "0");
        let mut child = cmd.spawn().expect("start actionsync serve");
        let logs = util::collect_lines(child.stderr.take().expect("stderr is piped"));
        let started = Instant::now();
        let address = loop {
            let listening = logs
                .lock()
                .expect("the log lock")
                .iter()
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                .find(|e| e["message"] == "listening")
                .and_then(|e| e["address"].as_str().map(str::to_string));
            if let Some(address) = listening {
                break address;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "actionsync serve exited ({status}) before listening:\n{}",
                    logs.lock().expect("the log lock").join("\n")
                );
            }
            assert!(
                started.elapsed() < WAIT,
                "actionsync serve did not log `listening` within {WAIT:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        let base = format!("http://{address}");
        loop {
            let ready = http
                .get(format!("{base}/readyz"))
                .send()
                .is_ok_and(|r| r.status() == 200);
            if ready {
                break;
            }
            assert!(
                started.elapsed() < WAIT,
                "{base}/readyz did not answer 200 within {WAIT:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        Replica { child, base, logs }
    }

    /// SIGKILL, and wait for the process to be gone.
    fn kill(&mut self) {
        // `Child::kill` is SIGKILL on Unix: no handler runs, nothing is flushed.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn log_text(&self) -> String {
        self.logs.lock().expect("the log lock").join("\n")
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `actionsync token create SCOPE --database URL`: the token.
fn token(database: &str, dir: &Path, scope: &str) -> String {
    let run = util::actionsync(["token", "create", scope, "--database", database])
        .current_dir(dir)
        .run();
    run.assert_success();
    let secret = run.stdout().lines().last().unwrap_or_default().trim();
    run.check(secret.starts_with("ast_"), "expected the token last");
    secret.to_string()
}

// ---------------------------------------------------------------------------
// Requests and what they proved
// ---------------------------------------------------------------------------

/// Where a request went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Survivor,
    Victim,
}

/// An answer, or why there was none.
enum Answer {
    Reply {
        status: u16,
        headers: reqwest::header::HeaderMap,
        body: String,
    },
    NoReply(String),
}

/// What the run saw.
#[derive(Default)]
struct Record {
    requests: u64,
    /// Acknowledged revisions: (source, revision) → (spec hash, push).
    revisions: BTreeMap<(String, i64), (String, u64)>,
    /// The same revision acknowledged twice, with different pushes.
    double_acks: Vec<String>,
    /// Acknowledged hand edits: (action id, tag added).
    edits: Vec<(i64, String)>,
    /// Pushes answered 200 unchanged or no_changes.
    unchanged: u64,
    /// 412 answers to hand edits (an apply or another edit got in first).
    stale: u64,
    /// `503 busy` answers, by target.
    busy: BTreeMap<&'static str, u64>,
    /// Tool lists read.
    reads: u64,
    /// Requests to the victim without an answer (it was killed or down).
    victim_no_reply: u64,
    /// What must not happen: a 5xx other than busy, a survivor that does not
    /// answer, an answer that contradicts itself.
    failures: Vec<String>,
}

struct Shared {
    http: Client,
    survivor: String,
    /// The victim's base URL while it runs.
    victim: RwLock<Option<String>>,
    admin: String,
    tools: String,
    record: Mutex<Record>,
    pushes: AtomicU64,
    stop: AtomicBool,
}

impl Shared {
    /// A target chosen at random: the victim half of the time, when it runs.
    fn pick(&self, rng: &mut Rng) -> (Target, String) {
        if rng.next().is_multiple_of(2)
            && let Some(base) = self.victim.read().expect("the victim lock").clone()
        {
            return (Target::Victim, base);
        }
        (Target::Survivor, self.survivor.clone())
    }

    fn send(&self, request: reqwest::blocking::RequestBuilder) -> Answer {
        self.record.lock().expect("the record lock").requests += 1;
        match request.send() {
            Ok(response) => {
                let status = response.status().as_u16();
                let headers = response.headers().clone();
                match response.text() {
                    Ok(body) => Answer::Reply {
                        status,
                        headers,
                        body,
                    },
                    Err(e) => Answer::NoReply(format!("{status}, then the body failed: {e}")),
                }
            }
            Err(e) => Answer::NoReply(e.to_string()),
        }
    }

    /// Files an answer that is not what the worker expected: a documented
    /// refusal (`503 busy`), a victim that did not answer (it was killed), or a
    /// failure.
    fn unexpected(&self, target: Target, what: &str, answer: &Answer) {
        let mut record = self.record.lock().expect("the record lock");
        match (answer, target) {
            (Answer::NoReply(_), Target::Victim) => record.victim_no_reply += 1,
            (Answer::NoReply(e), Target::Survivor) => record
                .failures
                .push(format!("{what}: the survivor did not answer: {e}")),
            (
                Answer::Reply {
                    status: 503, body, ..
                },
                _,
            ) if body.contains("\"busy\"") => {
                *record
                    .busy
                    .entry(match target {
                        Target::Survivor => "survivor",
                        Target::Victim => "victim",
                    })
                    .or_default() += 1;
            }
            (Answer::Reply { status, body, .. }, target) => record
                .failures
                .push(format!("{what} ({target:?}): {status} {body}")),
        }
    }
}

/// Pushes changing specs of `source` until told to stop.
fn pusher(shared: &Shared, source: &str, mut rng: Rng) {
    while !shared.stop.load(Ordering::SeqCst) {
        let push = shared.pushes.fetch_add(1, Ordering::SeqCst) + 1000;
        let body = spec(source, push, rng.between(0, EXTRA_OPERATIONS));
        let (target, base) = shared.pick(&mut rng);
        let answer = shared.send(
            shared
                .http
                .put(format!("{base}/v1/sources/{source}/spec"))
                .bearer_auth(&shared.admin)
                .body(body),
        );
        let what = format!("push {push} to {source}");
        match &answer {
            Answer::Reply {
                status: 200, body, ..
            } => {
                let reply: Value = match serde_json::from_str(body) {
                    Ok(reply) => reply,
                    Err(e) => {
                        shared
                            .record
                            .lock()
                            .expect("the record lock")
                            .failures
                            .push(format!("{what}: a 200 that is not JSON ({e}): {body}"));
                        continue;
                    }
                };
                let mut record = shared.record.lock().expect("the record lock");
                match reply["outcome"].as_str() {
                    Some("applied") => {
                        let (Some(revision), Some(hash)) = (
                            reply["revision"].as_i64(),
                            reply["plan"]["spec_hash"].as_str(),
                        ) else {
                            record
                                .failures
                                .push(format!("{what}: applied without a revision: {body}"));
                            continue;
                        };
                        let key = (source.to_string(), revision);
                        if let Some((_, earlier)) = record.revisions.get(&key) {
                            let message = format!(
                                "{source} revision {revision} acknowledged for push {earlier} and push {push}"
                            );
                            record.double_acks.push(message);
                        }
                        record.revisions.insert(key, (hash.to_string(), push));
                    }
                    Some("unchanged" | "no_changes") => record.unchanged += 1,
                    _ => record
                        .failures
                        .push(format!("{what}: 200 with an unexpected outcome: {body}")),
                }
            }
            _ => shared.unexpected(target, &what, &answer),
        }
    }
}

/// Adds a tag to one of `ids` at a time, with the `If-Match` of the version it
/// read, until told to stop.
fn editor(shared: &Shared, ids: &[i64], worker: u64, mut rng: Rng) {
    let mut edit = 0u64;
    while !shared.stop.load(Ordering::SeqCst) {
        let id = ids[(rng.next() % ids.len() as u64) as usize];
        let (target, base) = shared.pick(&mut rng);
        let url = format!("{base}/v1/actions/{id}");
        let what = format!("GET /v1/actions/{id}");
        let answer = shared.send(shared.http.get(&url).bearer_auth(&shared.admin));
        let Answer::Reply {
            status: 200,
            headers,
            body,
        } = &answer
        else {
            shared.unexpected(target, &what, &answer);
            continue;
        };
        let (Some(tag), Ok(action)) = (
            headers.get("etag").and_then(|v| v.to_str().ok()),
            serde_json::from_str::<Value>(body),
        ) else {
            shared
                .record
                .lock()
                .expect("the record lock")
                .failures
                .push(format!("{what}: 200 without an ETag or JSON: {body}"));
            continue;
        };
        let mut tags: Vec<String> = action["hand"]["tags"]
            .as_array()
            .map(|t| {
                t.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        edit += 1;
        let added = format!("w{worker}e{edit}");
        tags.push(added.clone());
        let what = format!("PATCH /v1/actions/{id} adding {added}");
        let answer = shared.send(
            shared
                .http
                .patch(&url)
                .bearer_auth(&shared.admin)
                .header("if-match", tag)
                .header("content-type", "application/json")
                .body(json!({ "tags": tags }).to_string()),
        );
        match &answer {
            Answer::Reply {
                status: 200, body, ..
            } => {
                let edited: Value = serde_json::from_str(body).unwrap_or(Value::Null);
                let kept = edited["hand"]["tags"]
                    .as_array()
                    .is_some_and(|t| tags.iter().all(|x| t.iter().any(|y| y == x)));
                let mut record = shared.record.lock().expect("the record lock");
                if kept {
                    record.edits.push((id, added));
                } else {
                    record
                        .failures
                        .push(format!("{what}: 200 without the tags sent: {body}"));
                }
            }
            Answer::Reply { status: 412, .. } => {
                shared.record.lock().expect("the record lock").stale += 1;
            }
            _ => shared.unexpected(target, &what, &answer),
        }
    }
}

/// Reads the tool list until told to stop.
fn reader(shared: &Shared, mut rng: Rng) {
    while !shared.stop.load(Ordering::SeqCst) {
        let (target, base) = shared.pick(&mut rng);
        let what = "GET /v1/tools?channel=widget&format=openai";
        let answer = shared.send(
            shared
                .http
                .get(format!("{base}/v1/tools?channel=widget&format=openai"))
                .bearer_auth(&shared.tools),
        );
        match &answer {
            Answer::Reply {
                status: 200,
                headers,
                body,
            } => {
                let listed = serde_json::from_str::<Value>(body)
                    .ok()
                    .and_then(|v| v.as_array().map(Vec::len));
                let counted = headers
                    .get("x-tool-count")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<usize>().ok());
                let mut record = shared.record.lock().expect("the record lock");
                // Both sources' base operations are always there, enabled on widget.
                match (listed, counted) {
                    (Some(n), Some(c)) if n == c && n >= 2 * BASE_OPERATIONS => {
                        record.reads += 1;
                    }
                    _ => record.failures.push(format!(
                        "{what} ({target:?}): a list of {listed:?} tools, X-Tool-Count {counted:?}"
                    )),
                }
            }
            _ => shared.unexpected(target, what, &answer),
        }
    }
}

// ---------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------

fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(text) => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={text:?} is not a whole number")),
        Err(_) => default,
    }
}

#[test]
fn a_replica_killed_under_load_loses_no_acknowledged_write() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for the store");
    let Some(database) = runtime.block_on(common::postgres_url()) else {
        return;
    };
    let seconds = env_number("ACTIONSYNC_FAULT_SECONDS", 20);
    let seed = env_number("ACTIONSYNC_FAULT_SEED", 13);
    let mut rng = Rng(seed);
    let dir = tempfile::Builder::new()
        .prefix("actionsync-fault-")
        .tempdir()
        .expect("a temporary folder");
    // Tokens before any server, so nothing migrates the schema at once.
    let admin = token(&database, dir.path(), "--admin");
    let tools = token(&database, dir.path(), "--tools");
    actionsync::tls::install_provider();
    let http = Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client");

    let survivor = Replica::start(&database, dir.path(), &http);
    let mut victim = Replica::start(&database, dir.path(), &http);

    // A first revision of each source, so there are actions to edit and tools to read.
    let mut ids = Vec::new();
    for source in SOURCES {
        let reply = http
            .put(format!("{}/v1/sources/{source}/spec", survivor.base))
            .bearer_auth(&admin)
            .body(spec(source, 0, 0))
            .send()
            .expect("the first push");
        assert_eq!(reply.status(), 200, "the first push of {source}");
        let page: Value = http
            .get(format!(
                "{}/v1/actions?source={source}&limit=1000",
                survivor.base
            ))
            .bearer_auth(&admin)
            .send()
            .and_then(|r| r.text())
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .expect("the first actions");
        let actions = page["actions"].as_array().expect("a list of actions");
        assert_eq!(actions.len(), BASE_OPERATIONS, "{page}");
        ids.extend(actions.iter().filter_map(|a| a["id"].as_i64()));
    }

    let shared = Arc::new(Shared {
        http: http.clone(),
        survivor: survivor.base.clone(),
        victim: RwLock::new(Some(victim.base.clone())),
        admin,
        tools,
        record: Mutex::new(Record::default()),
        pushes: AtomicU64::new(0),
        stop: AtomicBool::new(false),
    });
    let mut workers = Vec::new();
    for source in SOURCES {
        let (shared, rng) = (shared.clone(), rng.fork());
        workers.push(std::thread::spawn(move || pusher(&shared, source, rng)));
    }
    for worker in 0..2 {
        let (shared, rng, ids) = (shared.clone(), rng.fork(), ids.clone());
        workers.push(std::thread::spawn(move || {
            editor(&shared, &ids, worker, rng)
        }));
    }
    {
        let (shared, rng) = (shared.clone(), rng.fork());
        workers.push(std::thread::spawn(move || reader(&shared, rng)));
    }

    // Kill the victim at random moments; restart it at once each time.
    let started = Instant::now();
    let mut kills = 0u64;
    while started.elapsed() < Duration::from_secs(seconds) {
        std::thread::sleep(Duration::from_millis(rng.between(200, 2000)));
        victim.kill();
        *shared.victim.write().expect("the victim lock") = None;
        kills += 1;
        std::thread::sleep(Duration::from_millis(rng.between(0, 300)));
        victim = Replica::start(&database, dir.path(), &http);
        *shared.victim.write().expect("the victim lock") = Some(victim.base.clone());
    }
    shared.stop.store(true, Ordering::SeqCst);
    for worker in workers {
        worker.join().expect("a worker panicked");
    }

    // What the catalogue holds, read through the survivor and the store.
    let record = std::mem::take(&mut *shared.record.lock().expect("the record lock"));
    let get = |path: &str| -> Value {
        let response = http
            .get(format!("{}{path}", survivor.base))
            .bearer_auth(&shared.admin)
            .send()
            .unwrap_or_else(|e| panic!("GET {path} from the survivor: {e}"));
        assert_eq!(response.status(), 200, "GET {path} from the survivor");
        let text = response.text().expect("an answer");
        serde_json::from_str(&text).expect("a JSON answer")
    };
    let store = runtime
        .block_on(store::open(&database, dir.path()))
        .expect("open the catalogue");
    let mut losses = Vec::new();
    let sources = get("/v1/sources");
    let names: BTreeSet<&str> = sources["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(names, BTreeSet::from(SOURCES), "the catalogue's sources");
    for source in SOURCES {
        // Revisions 1, 2, …, last: no gap, no source row ahead of its revisions.
        let record_of = runtime
            .block_on(store.source(source))
            .expect("read the source")
            .expect("the source is there");
        let listed = get(&format!("/v1/sources/{source}/revisions"));
        let mut numbers: Vec<i64> = listed["revisions"]
            .as_array()
            .expect("revisions")
            .iter()
            .filter_map(|r| r["number"].as_i64())
            .collect();
        numbers.sort();
        let expected: Vec<i64> = (1..=record_of.last_revision).collect();
        assert_eq!(
            numbers, expected,
            "{source}: the revisions are 1 to its last_revision, without a gap"
        );
        // Every acknowledged revision, with the spec it applied.
        for ((s, number), (hash, push)) in &record.revisions {
            if s != source {
                continue;
            }
            let revision = get(&format!("/v1/sources/{source}/revisions/{number}"));
            if revision["spec_hash"] != hash.as_str() {
                losses.push(format!(
                    "{source} revision {number} (push {push}) was acknowledged with spec {hash}; the catalogue has {}",
                    revision["spec_hash"]
                ));
            }
        }
        // The active actions are exactly what the last revision's spec converts to.
        let last = runtime
            .block_on(store.revision(source, record_of.last_revision))
            .expect("read the last revision")
            .expect("the last revision is there");
        let body = runtime
            .block_on(store.spec_body(&last.spec_hash))
            .expect("read the last spec")
            .expect("the last revision's spec is kept");
        let spec = load(
            &SpecLocation::Bytes {
                name: format!("{source}.yaml"),
                bytes: body,
            },
            &LoadOptions::default(),
        )
        .expect("the last spec loads");
        let conversion = convert(
            &spec,
            &ConvertOptions {
                source: source.to_string(),
                ..ConvertOptions::default()
            },
        );
        let drafts: BTreeMap<String, String> = conversion
            .actions
            .iter()
            .map(|a| (a.key.clone(), a.spec.description.clone()))
            .collect();
        let active: BTreeMap<String, String> = runtime
            .block_on(store.actions(&ActionQuery {
                source: Some(source.to_string()),
                state: Some(ActionState::Active),
                ..ActionQuery::default()
            }))
            .expect("read the actions")
            .into_iter()
            .map(|a| (a.key, a.spec.description))
            .collect();
        assert_eq!(
            active, drafts,
            "{source}: the active actions are those of revision {} and no other",
            record_of.last_revision
        );
        let pushes: BTreeSet<Option<u64>> = active.values().map(|d| push_of(d)).collect();
        assert_eq!(
            pushes.len(),
            1,
            "{source}: actions of several pushes: {pushes:?}"
        );
    }
    // Every acknowledged hand edit's tag.
    let mut tags: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
    for id in &ids {
        let action = get(&format!("/v1/actions/{id}"));
        tags.insert(
            *id,
            action["hand"]["tags"]
                .as_array()
                .expect("tags")
                .iter()
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect(),
        );
    }
    for (id, tag) in &record.edits {
        if !tags.get(id).is_some_and(|t| t.contains(tag)) {
            losses.push(format!("action {id}: the acknowledged tag {tag} is gone"));
        }
    }

    println!(
        "fault: seed {seed}, {seconds} s of load: {} requests, {kills} kills, {} acknowledged revisions, {} acknowledged edits, {} unchanged pushes, {} stale edits (412), {} tool lists read, {} requests to the victim without an answer, busy {:?}, {} losses, {} other failures",
        record.requests,
        record.revisions.len(),
        record.edits.len(),
        record.unchanged,
        record.stale,
        record.reads,
        record.victim_no_reply,
        record.busy,
        losses.len(),
        record.failures.len(),
    );
    let report = |what: &str, list: &[String]| {
        if !list.is_empty() {
            eprintln!("----- survivor's log -----\n{}", survivor.log_text());
            eprintln!("----- victim's last log -----\n{}", victim.log_text());
            panic!("{what}:\n{}", list.join("\n"));
        }
    };
    report("acknowledged writes lost", &losses);
    report("a revision acknowledged twice", &record.double_acks);
    report("answers that must not happen", &record.failures);
    assert!(kills > 0, "the victim was never killed");
    assert!(
        !record.revisions.is_empty() && !record.edits.is_empty() && record.reads > 0,
        "the load did nothing: {} revisions, {} edits, {} reads",
        record.revisions.len(),
        record.edits.len(),
        record.reads
    );
}
