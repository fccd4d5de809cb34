//! `actionsync push`, run on the real binary against a scripted HTTP server on
//! 127.0.0.1: the server records every request it gets and answers canned
//! responses built from the API's wire types, so these tests pin down the client's
//! side of `PUT /v1/sources/{name}/spec` without a catalogue.

mod util;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use actionsync::api::wire::{ErrorBody, PushOutcome, PushReply};
use actionsync::plan::{Change, ChangeKind, Counts, FieldChange, Plan, Refusal};
use serde_json::{Value, json};
use util::{Run, TestCommand, actionsync};

/// The token every test pushes with; no output may ever contain it.
const TOKEN: &str = "tok_9f8e7d6c5b4a-SECRET";

/// A spec with details a careless client would change (a comment, key order, no
/// final newline), so "sent as it is" is checked byte for byte.
const SPEC_YAML: &str =
    "# billing API\nopenapi: 3.0.3\ninfo: {version: \"2\", title: Billing}\npaths: {}";

/// One request as the server read it.
#[derive(Debug, Clone)]
struct Request {
    method: String,
    /// Path and query, as sent.
    target: String,
    /// Header names in lowercase.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A canned answer.
#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    body: String,
}

fn answer(status: u16, body: &impl serde::Serialize) -> Answer {
    Answer {
        status,
        body: serde_json::to_string(body).unwrap(),
    }
}

/// Answers each request with the next canned answer (the last one repeats) and
/// records what it got.
struct Server {
    url: String,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl Server {
    fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    fn only_request(&self, run: &Run) -> Request {
        let requests = self.requests();
        run.check(
            requests.len() == 1,
            format!("expected exactly one request, got {}", requests.len()),
        );
        requests[0].clone()
    }
}

fn serve(answers: Vec<Answer>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let recorded = requests.clone();
    std::thread::spawn(move || {
        // Bounded: a test makes a handful of requests.
        for (i, stream) in listener.incoming().take(32).enumerate() {
            let Ok(mut stream) = stream else { continue };
            let Some(request) = read_request(&mut stream) else {
                continue;
            };
            recorded.lock().unwrap().push(request);
            let canned = &answers[i.min(answers.len() - 1)];
            let reason = match canned.status {
                200 => "OK",
                308 => "Permanent Redirect",
                400 => "Bad Request",
                401 => "Unauthorized",
                403 => "Forbidden",
                409 => "Conflict",
                422 => "Unprocessable Entity",
                502 => "Bad Gateway",
                503 => "Service Unavailable",
                _ => "Whatever",
            };
            let extra = if canned.status == 308 {
                "Location: https://elsewhere.example/v1/sources/billing/spec\r\n"
            } else {
                ""
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {} {reason}\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{}",
                canned.status,
                canned.body.len(),
                canned.body
            );
        }
    });
    Server { url, requests }
}

fn read_request(stream: &mut std::net::TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        target,
        headers,
        body,
    })
}

/// A plan that creates one action and updates another.
fn changing_plan(refusals: Vec<Refusal>) -> Plan {
    Plan {
        source: "billing".into(),
        spec_hash: "4f2a9c0d1e7b3a55aa".into(),
        base_revision: 3,
        counts: Counts {
            created: 1,
            updated: 1,
            unchanged: 5,
            ..Counts::default()
        },
        changes: vec![
            Change {
                kind: ChangeKind::Create,
                id: None,
                key: "createInvoice".into(),
                previous_key: None,
                name: "create_invoice".into(),
                fields: vec![
                    FieldChange {
                        field: "method".into(),
                        old: Value::Null.into(),
                        new: json!("POST").into(),
                        pinned: false,
                    },
                    FieldChange {
                        field: "url".into(),
                        old: Value::Null.into(),
                        new: json!("https://api.example.com/invoices").into(),
                        pinned: false,
                    },
                ],
                spec: None,
                hand: None,
            },
            Change {
                kind: ChangeKind::Update,
                id: Some(7),
                key: "getInvoice".into(),
                previous_key: None,
                name: "get_invoice".into(),
                fields: vec![FieldChange {
                    field: "description".into(),
                    old: json!("Get an invoice").into(),
                    new: json!("Get one invoice by its number").into(),
                    pinned: false,
                }],
                spec: None,
                hand: None,
            },
        ],
        drift: vec![],
        orphans: vec![],
        kept: vec![],
        held_back: vec![],
        diagnostics: vec![],
        refusals,
        forced: false,
    }
}

fn reply(outcome: PushOutcome, dry_run: bool, revision: i64, plan: Option<Plan>) -> PushReply {
    PushReply {
        source: "billing".into(),
        outcome,
        dry_run,
        revision,
        counts: plan.as_ref().map(|p| p.counts).unwrap_or_default(),
        plan,
        note: None,
    }
}

fn applied() -> PushReply {
    reply(PushOutcome::Applied, false, 4, Some(changing_plan(vec![])))
}

fn refusals() -> Vec<Refusal> {
    vec![
        Refusal {
            code: "removal-guard".into(),
            message: "the plan would remove 6 of the source's 8 active actions (75 %), more than its limit of 50 %. Check the spec, or force the plan: --force on the command line, force=true on a push, \"force\": true in a rollback over the API".into(),
            overridable: true,
        },
        Refusal {
            code: "lint".into(),
            message: "getInvoice: the name `get_data` is too generic".into(),
            overridable: false,
        },
    ]
}

fn error(code: &str, message: &str) -> ErrorBody {
    ErrorBody {
        error: code.into(),
        message: message.into(),
    }
}

/// A folder with the spec written in it as `name`.
fn spec_file(name: &str, contents: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = util::tempdir();
    let path = dir.path().join(name);
    std::fs::write(&path, contents).unwrap();
    (dir, path)
}

/// `actionsync push` to `server` with the token, source `billing` and `spec`, and
/// retries that wait a millisecond (from the environment, so a test may still
/// give `--retry-delay`).
fn push(server: &str, spec: &PathBuf) -> TestCommand {
    let mut cmd = actionsync([
        "push", "--server", server, "--token", TOKEN, "--source", "billing",
    ]);
    cmd.arg(spec).env("ACTIONSYNC_PUSH_RETRY_DELAY", "1ms");
    cmd
}

/// Fails the test if the token shows anywhere in what the run printed.
#[track_caller]
fn assert_no_token(run: &Run) {
    run.check(
        !run.stdout().contains(TOKEN) && !run.stderr().contains(TOKEN),
        "the token was printed",
    );
    // Nor a recognisable part of it.
    run.check(
        !run.stdout().contains("SECRET") && !run.stderr().contains("SECRET"),
        "part of the token was printed",
    );
}

#[test]
fn an_applied_push_sends_the_spec_as_it_is_and_exits_0() {
    let server = serve(vec![answer(200, &applied())]);
    let (_dir, spec) = spec_file("openapi.yaml", SPEC_YAML);
    let run = push(&server.url, &spec).run();
    run.assert_success()
        .assert_stdout_contains("source `billing` (spec 4f2a9c0d1e7b, against revision 3)")
        .assert_stdout_contains(
            "+ create_invoice (createInvoice) create: POST https://api.example.com/invoices",
        )
        .assert_stdout_contains("~ get_invoice (getInvoice) update")
        .assert_stdout_contains("Plan: 1 to create, 1 to update, 0 to archive")
        .assert_stdout_contains("billing: applied revision 4 (1 created, 1 updated)\n");
    assert_no_token(&run);

    let request = server.only_request(&run);
    assert_eq!(request.method, "PUT");
    assert_eq!(request.target, "/v1/sources/billing/spec");
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(request.header("content-type"), Some("application/yaml"));
    assert_eq!(request.header("accept"), Some("application/json"));
    let agent = request.header("user-agent").unwrap_or_default();
    assert!(agent.starts_with("actionsync/"), "{agent}");
    assert_eq!(request.body, SPEC_YAML.as_bytes());
}

#[test]
fn a_dry_run_with_changes_exits_2_and_sends_dry_run() {
    let planned = reply(PushOutcome::Planned, true, 3, Some(changing_plan(vec![])));
    let server = serve(vec![answer(200, &planned)]);
    let json_spec = "{\"openapi\": \"3.1.0\", \"paths\": {}}\n";
    let (_dir, spec) = spec_file("openapi.json", json_spec);
    let run = push(&server.url, &spec)
        .args(["--dry-run", "--output", "markdown"])
        .run();
    run.assert_exit(2)
        .assert_stdout_contains("### actionsync plan for `billing`")
        .assert_stdout_contains("| `+` create | `create_invoice` | `createInvoice` |")
        .assert_stdout_contains("Dry run against revision 3: nothing applied yet");
    assert_no_token(&run);

    let request = server.only_request(&run);
    assert_eq!(request.method, "PUT");
    assert_eq!(request.target, "/v1/sources/billing/spec?dry_run=true");
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.body, json_spec.as_bytes());
}

#[test]
fn a_dry_run_without_changes_exits_0() {
    let mut plan = changing_plan(vec![]);
    plan.changes.clear();
    plan.counts = Counts {
        unchanged: 7,
        ..Counts::default()
    };
    let nothing = reply(PushOutcome::NoChanges, true, 3, Some(plan));
    let server = serve(vec![answer(200, &nothing)]);
    let (_dir, spec) = spec_file("openapi.yaml", SPEC_YAML);
    let run = push(&server.url, &spec)
        .args(["--dry-run", "--force"])
        .run();
    run.assert_success()
        .assert_stdout_contains("no changes: the catalogue matches the spec")
        .assert_stdout_contains("billing: no changes");
    let request = server.only_request(&run);
    assert_eq!(
        request.target,
        "/v1/sources/billing/spec?dry_run=true&force=true"
    );
}

#[test]
fn an_unchanged_spec_exits_0_in_every_output() {
    let unchanged = reply(PushOutcome::Unchanged, false, 3, None);
    let server = serve(vec![answer(200, &unchanged)]);
    let (_dir, spec) = spec_file("openapi.yaml", SPEC_YAML);

    push(&server.url, &spec)
        .run()
        .assert_success()
        .assert_stdout_contains("billing: unchanged since revision 3");
    push(&server.url, &spec)
        .args(["--output", "markdown"])
        .run()
        .assert_success()
        .assert_stdout_contains("### actionsync plan for `billing`")
        .assert_stdout_contains("Unchanged: this spec is the one applied as revision 3");
    let run = push(&server.url, &spec).args(["--output", "json"]).run();
    run.assert_success();
    assert_eq!(run.stdout_json(), serde_json::to_value(&unchanged).unwrap());
}

#[test]
fn a_refused_plan_exits_1_and_lists_each_refusal() {
    let refused = reply(
        PushOutcome::Refused,
        false,
        3,
        Some(changing_plan(refusals())),
    );
    let server = serve(vec![answer(422, &refused)]);
    let (_dir, spec) = spec_file("openapi.yaml", SPEC_YAML);
    let run = push(&server.url, &spec).run();
    run.assert_exit(1)
        .assert_stdout_contains("Refused: nothing will be applied.")
        .assert_stdout_contains("billing: refused; nothing applied")
        .assert_stderr_contains("error: billing: the server refused the plan; nothing applied")
        .assert_stderr_contains(
            "  - the plan would remove 6 of the source's 8 active actions (75 %), more than its limit of 50 %. Check the spec, or force the plan: --force on the command line, force=true on a push, \"force\": true in a rollback over the API [--force passes this]",
        )
        .assert_stderr_contains("  - getInvoice: the name `get_data` is too generic\n");
    assert_no_token(&run);
    // A refusal is an answer, not a failure: it is not retried.
    server.only_request(&run);

    // Markdown still carries the plan (a PR comment shows why it was refused).
    let run = push(&server.url, &spec)
        .args(["--dry-run", "--output", "markdown"])
        .run();
    run.assert_exit(1)
        .assert_stdout_contains("> **Refused:** getInvoice: the name `get_data` is too generic")
        .assert_stderr_contains("getInvoice: the name `get_data` is too generic");
}

#[test]
fn json_output_is_the_servers_answer_for_200_and_422() {
    let (_dir, spec) = spec_file("openapi.yaml", SPEC_YAML);

    let server = serve(vec![answer(200, &applied())]);
    let run = push(&server.url, &spec).args(["--output", "json"]).run();
    run.assert_success();
    run.check(
        run.stdout().contains("\n  \""),
        "the JSON is not pretty-printed",
    );
    assert_eq!(run.stdout_json(), serde_json::to_value(applied()).unwrap());
    // It is the wire type, so a script can read it back.
    let back: PushReply = serde_json::from_value(run.stdout_json()).unwrap();
    assert_eq!(back, applied());

    let refused = reply(
        PushOutcome::Refused,
        true,
        3,
        Some(changing_plan(refusals())),
    );
    let server = serve(vec![answer(422, &refused)]);
    let run = push(&server.url, &spec)
        .args(["--dry-run", "--output", "json"])
        .run();
    run.assert_exit(1)
        .assert_stderr_contains("getInvoice: the name `get_data` is too generic");
    assert_eq!(run.stdout_json(), serde_json::to_value(&refused).unwrap());
}

#[test]
fn a_503_is_retried_and_then_succeeds() {
    let server = serve(vec![
        answer(
            503,
            &error("internal", "the catalogue is busy; try again shortly"),
        ),
        answer(200, &applied()),
    ]);
    let (_dir, spec) = spec_file("openapi.yaml", SPEC_YAML);
    let run = push(&server.url, &spec)
        .args(["--retry-delay", "20ms"])
        .run();
    run.assert_success()
        .assert_stderr_contains("push: server answered 503, retrying in 20ms (attempt 2 of 4)\n")
        .assert_stdout_contains("billing: applied revision 4");
    assert_no_token(&run);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    // The retry sends the same request again.
    assert_eq!(requests[1].target, requests[0].target);
    assert_eq!(requests[1].body, SPEC_YAML.as_bytes());
    assert_eq!(
        requests[1].header("authorization"),
        requests[0].header("authorization")
    );
}

#[test]
fn a_5xx_on_every_attempt_fails_with_the_servers_message() {
    let server = serve(vec![answer(
        502,
        &error("internal", "the database is down"),
    )]);
    let (_dir, spec) = spec_file("openapi.yaml", SPEC_YAML);
    let run = push(&server.url, &spec).args(["--retries", "2"]).run();
    run.assert_exit(1)
        .assert_stderr_contains("(attempt 2 of 3)")
        .assert_stderr_contains("(attempt 3 of 3)")
        .assert_stderr_contains(
            "error: the server answered 502 Bad Gateway on the last of 3 attempts: the database is down",
        )
        .assert_stdout_empty();
    assert_no_token(&run);
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn client_errors_are_not_retried() {
    let (_dir, spec) = spec_file("openapi.yaml", SPEC_YAML);
    let cases = [
        (
            400,
            error(
                "invalid_spec",
                "openapi.yaml line 3: a $ref to another file cannot be pushed",
            ),
            "error: openapi.yaml line 3: a $ref to another file cannot be pushed (server answered 400 Bad Request for /",
        ),
        (
            401,
            error("unauthorized", "the token is not valid"),
            "error: the token is not valid (server answered 401 Unauthorized; check --token or ACTIONSYNC_TOKEN: `actionsync token create --source billing` on the server host makes one)",
        ),
        (
            403,
            error("forbidden", "this token may not push to `billing`"),
            "error: this token may not push to `billing` (server answered 403 Forbidden; a token pushes to one source only",
        ),
        (
            409,
            error(
                "watched_source",
                "source `billing` is read from specs/billing.yaml by the server's config",
            ),
            "by the server's config (server answered 409 Conflict; the server's config reads this source",
        ),
    ];
    for (status, body, expected) in cases {
        let server = serve(vec![answer(status, &body), answer(200, &applied())]);
        let run = push(&server.url, &spec).run();
        run.assert_exit(1)
            .assert_stderr_contains(expected)
            .assert_stdout_empty();
        run.check(!run.stderr().contains("retrying"), "a 4xx was retried");
        assert_no_token(&run);
        server.only_request(&run);
    }
}

#[test]
fn connection_refused_is_retried_then_fails() {
    // A port that was just free: nothing listens there.
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let (_dir, spec) = spec_file("openapi.yaml", SPEC_YAML);
    let server = format!("http://127.0.0.1:{port}/");
    let run = push(&server, &spec).args(["--retries", "2"]).run();
    let target = format!("http://127.0.0.1:{port}/v1/sources/billing/spec");
    run.assert_exit(1)
        .assert_stderr_contains(&format!("push: cannot connect to {target}"))
        .assert_stderr_contains("retrying in 1ms (attempt 2 of 3)")
        .assert_stderr_contains("retrying in 2ms (attempt 3 of 3)")
        .assert_stderr_contains(&format!("error: cannot connect to {target}"))
        .assert_stderr_contains("gave up after 3 attempts")
        .assert_stdout_empty();
    run.check(
        run.stderr().matches("retrying").count() == 2,
        "expected two retries",
    );
    assert_no_token(&run);

    // --retries 0: one attempt only.
    let run = push(&server, &spec).args(["--retries", "0"]).run();
    run.assert_exit(1)
        .assert_stderr_contains("gave up after 1 attempt\n");
    run.check(
        !run.stderr().contains("retrying"),
        "retried with --retries 0",
    );
}

#[test]
fn an_answer_that_is_not_json_quotes_the_status_and_its_start() {
    let page = format!(
        "<html><body>{}</body></html>",
        "Welcome to nginx! ".repeat(30)
    );
    let server = serve(vec![Answer {
        status: 200,
        body: page.clone(),
    }]);
    let (_dir, spec) = spec_file("openapi.yaml", SPEC_YAML);
    let run = push(&server.url, &spec).run();
    run.assert_exit(1)
        .assert_stderr_contains(
            "the server answered 200 OK with something other than an actionsync answer",
        )
        .assert_stderr_contains(&format!("{}…", page[..200].trim_end()));
    run.check(
        !run.stderr().contains(&page[..230]),
        "quoted more than ~200 bytes",
    );

    // JSON, but not a push answer.
    let server = serve(vec![answer(404, &json!({"detail": "no route"}))]);
    push(&server.url, &spec)
        .run()
        .assert_exit(1)
        .assert_stderr_contains(
            "the server answered 404 Not Found with something other than an actionsync answer",
        )
        .assert_stderr_contains("{\"detail\":\"no route\"}");
}

#[test]
fn redirects_are_not_followed() {
    let server = serve(vec![Answer {
        status: 308,
        body: String::new(),
    }]);
    let (_dir, spec) = spec_file("openapi.yaml", SPEC_YAML);
    let run = push(&server.url, &spec).run();
    run.assert_exit(1)
        .assert_stderr_contains("308 Permanent Redirect")
        .assert_stderr_contains("https://elsewhere.example/v1/sources/billing/spec");
    server.only_request(&run);
}

#[test]
fn the_server_path_prefix_is_kept() {
    let server = serve(vec![answer(200, &applied())]);
    let (_dir, spec) = spec_file("openapi.yaml", SPEC_YAML);
    let prefixed = format!("{}actionsync/", server.url);
    let run = push(&prefixed, &spec).run();
    run.assert_success();
    assert_eq!(
        server.only_request(&run).target,
        "/actionsync/v1/sources/billing/spec"
    );
}

#[test]
fn the_token_and_server_come_from_the_environment() {
    let server = serve(vec![answer(200, &applied())]);
    let (_dir, spec) = spec_file("openapi.yaml", SPEC_YAML);
    let run = actionsync(["push", "--source", "billing"])
        .arg(&spec)
        .env("ACTIONSYNC_SERVER", &server.url)
        .env("ACTIONSYNC_TOKEN", format!("{TOKEN}\n"))
        .run();
    run.assert_success();
    assert_no_token(&run);
    // Trimmed: a secret pasted with its newline still works.
    assert_eq!(
        server.only_request(&run).header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );

    // --help shows that the variable is read, never its value.
    let run = actionsync(["push", "--help"])
        .env("ACTIONSYNC_TOKEN", TOKEN)
        .run();
    run.assert_success()
        .assert_stdout_contains("ACTIONSYNC_TOKEN");
    assert_no_token(&run);
}

#[test]
fn the_token_is_never_printed() {
    let (_dir, spec) = spec_file("openapi.yaml", SPEC_YAML);
    // A token that is not a valid header value: refused without quoting it, and
    // before any request.
    let server = serve(vec![answer(200, &applied())]);
    let bad = format!("{TOKEN} with spaces");
    let run = actionsync([
        "push",
        "--server",
        &server.url,
        "--token",
        &bad,
        "--source",
        "billing",
    ])
    .arg(&spec)
    .run();
    run.assert_exit(1)
        .assert_stderr_contains("the token has characters a token cannot have");
    assert_no_token(&run);
    assert!(server.requests().is_empty());

    // A usage error next to the token.
    let run = actionsync(["push", "--token", TOKEN, "--source", "billing", "--bogus"])
        .arg(&spec)
        .run();
    run.check(run.code() != Some(0), "a usage error succeeded");
    assert_no_token(&run);

    // A server URL carrying credentials: the password is not shown either.
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let with_password = format!("http://ci:{TOKEN}@127.0.0.1:{port}/");
    let run = push(&with_password, &spec).args(["--retries", "1"]).run();
    run.assert_exit(1)
        .assert_stderr_contains("cannot connect to");
    assert_no_token(&run);
}

#[test]
fn a_missing_spec_fails_before_any_request() {
    let server = serve(vec![answer(200, &applied())]);
    let dir = util::tempdir();
    let missing = dir.path().join("nope/openapi.yaml");
    let run = push(&server.url, &missing).run();
    run.assert_exit(1)
        .assert_stderr_contains(&format!(
            "error: cannot read the spec {}: no such file",
            missing.display()
        ))
        .assert_stdout_empty();
    assert!(server.requests().is_empty());

    // An invalid source name is a usage error, also before any request.
    let (_dir, spec) = spec_file("openapi.yaml", SPEC_YAML);
    let run = actionsync([
        "push",
        "--server",
        &server.url,
        "--token",
        TOKEN,
        "--source",
        "../admin",
    ])
    .arg(&spec)
    .run();
    run.check(run.code() != Some(0), "an invalid source name was accepted")
        .assert_stderr_contains("a source name is 1 to 64 of");
    assert!(server.requests().is_empty());
}

#[test]
fn standard_input_and_other_extensions_are_sniffed() {
    let server = serve(vec![answer(200, &applied())]);
    let json_spec = "\n  {\"openapi\": \"3.0.3\"}";
    push(&server.url, &PathBuf::from("-"))
        .stdin(json_spec)
        .run()
        .assert_success();
    let (_dir, spec) = spec_file("billing.spec", SPEC_YAML);
    push(&server.url, &spec).run().assert_success();
    let (_dir, upper) = spec_file("BILLING.YML", SPEC_YAML);
    push(&server.url, &upper).run().assert_success();

    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0].header("content-type"), Some("application/json"));
    assert_eq!(requests[0].body, json_spec.as_bytes());
    assert_eq!(requests[1].header("content-type"), Some("application/yaml"));
    assert_eq!(requests[2].header("content-type"), Some("application/yaml"));
}

#[test]
fn plain_http_to_another_host_is_warned_about() {
    let server = serve(vec![answer(200, &applied())]);
    let (_dir, spec) = spec_file("openapi.yaml", SPEC_YAML);
    // 127.0.0.1 is this machine: nothing crosses a network, no warning.
    let run = push(&server.url, &spec).run();
    run.assert_success();
    run.check(!run.stderr().contains("warning"), "warned about loopback");
    // 0.0.0.0 reaches the same server on Linux, but is not loopback by its name.
    let port = server.url.rsplit(':').next().unwrap().trim_end_matches('/');
    let elsewhere = format!("http://0.0.0.0:{port}/");
    let run = push(&elsewhere, &spec).args(["--retries", "0"]).run();
    run.assert_stderr_contains("push: warning: http://0.0.0.0:")
        .assert_stderr_contains("the token crosses the network in the clear");
    assert_no_token(&run);
}
