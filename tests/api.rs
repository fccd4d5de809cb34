//! The HTTP API of `actionsync serve`, driven from outside like its clients: CI
//! pushing specs, curators editing actions, the AI runtime reading its tools.
//!
//! Each test starts the real binary on 127.0.0.1 with a port of its own, creates
//! its tokens with `actionsync token create` against the same database, and talks
//! to it with a blocking HTTP client. Every test runs on SQLite and, when
//! `ACTIONSYNC_TEST_POSTGRES` is set, on PostgreSQL (a fresh schema each time).
//! Waits are bounded polls of a condition; no test asserts on how long anything
//! took. A server is killed when its test ends, passed or failed, and its log is
//! printed when the test failed.

mod common;
mod util;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::blocking::{Body, Client};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

/// How long a condition may take to hold before the test fails.
const WAIT: Duration = Duration::from_secs(30);

/// The bundled spec: 8 operations, all pushed as source `orders`.
const ORDERS_ACTIONS: [&str; 8] = [
    "list_orders",
    "create_order",
    "get_order",
    "cancel_order",
    "update_shipping_address",
    "list_order_shipments",
    "refund_order",
    "get_loyalty_rewards",
];

/// The tool formats of `GET /v1/tools`.
const FORMATS: [&str; 4] = ["openai", "anthropic", "mcp", "native"];

// ---------------------------------------------------------------------------
// Backends
// ---------------------------------------------------------------------------

/// A catalogue database and the folder the server and the CLI run in.
struct Backend {
    url: String,
    dir: tempfile::TempDir,
}

impl Backend {
    /// A SQLite file in a new folder.
    fn sqlite() -> Backend {
        Backend {
            url: "sqlite://actionsync.db".to_string(),
            dir: tempdir(),
        }
    }

    /// A fresh schema in the test PostgreSQL, or `None` (saying so) when
    /// `ACTIONSYNC_TEST_POSTGRES` is unset.
    fn postgres() -> Option<Backend> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime to create the test schema");
        let url = runtime.block_on(common::postgres_url())?;
        Some(Backend {
            url,
            dir: tempdir(),
        })
    }
}

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("actionsync-api-")
        .tempdir()
        .expect("cannot create a temporary folder")
}

/// Runs `fn $name(Backend)` as two tests, `$name::sqlite` and `$name::postgres`.
macro_rules! on_each_backend {
    ($name:ident) => {
        mod $name {
            #[test]
            fn sqlite() {
                super::$name(super::Backend::sqlite());
            }

            #[test]
            fn postgres() {
                if let Some(backend) = super::Backend::postgres() {
                    super::$name(backend);
                }
            }
        }
    };
}

// ---------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------

/// A bearer token made with `actionsync token create`.
#[derive(Debug, Clone)]
struct Token {
    id: i64,
    secret: String,
}

/// A running `actionsync serve` with an admin token; dropping it kills the process
/// (and prints its log when the test is failing).
struct Server {
    child: Child,
    base: String,
    backend: Backend,
    admin: Token,
    http: Client,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// `actionsync serve --database URL [--config actionsync.yaml]` in the backend's
    /// folder, with `config` written there first. Returns once `/readyz` is 200.
    fn start(backend: Backend, config: Option<&str>) -> Server {
        let dir = backend.dir.path().to_path_buf();
        if let Some(text) = config {
            std::fs::write(dir.join("actionsync.yaml"), text).expect("write the config");
        }
        // Before the server starts, so the two never migrate the database at once.
        let admin = create_token(&dir, &backend.url, &["--admin"]);
        actionsync::tls::install_provider();
        let http = Client::builder()
            .no_proxy()
            .timeout(WAIT)
            .build()
            .expect("an HTTP client");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_actionsync"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
            .args(["--database", &backend.url])
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if config.is_some() {
            cmd.args(["--config", "actionsync.yaml"]);
        }
        util::clear_env(&mut cmd);
        let mut child = cmd.spawn().expect("start actionsync serve");
        let logs = util::collect_lines(child.stderr.take().expect("stderr is piped"));
        let mut server = Server {
            child,
            base: String::new(),
            backend,
            admin,
            http,
            logs,
        };
        let started = Instant::now();
        let address = loop {
            let listening = server
                .logs
                .lock()
                .unwrap()
                .iter()
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                .find(|e| e["message"] == "listening")
                .and_then(|e| e["address"].as_str().map(str::to_string));
            if let Some(address) = listening {
                break address;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("actionsync serve exited ({status}) before listening");
            }
            assert!(
                started.elapsed() < WAIT,
                "actionsync serve did not log `listening` within {WAIT:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        server.base = format!("http://{address}");
        server.eventually("/readyz to answer 200", |s| {
            let reply = s.send(Method::GET, "/readyz", None, &[], None);
            if reply.status == 200 {
                Ok(())
            } else {
                Err(format!("{} {}", reply.status, reply.body))
            }
        });
        server
    }

    /// Polls `check` until it returns `Ok`, at most [`WAIT`].
    fn eventually<T>(&self, what: &str, mut check: impl FnMut(&Self) -> Result<T, String>) -> T {
        let started = Instant::now();
        loop {
            match check(self) {
                Ok(value) => return value,
                Err(state) if started.elapsed() > WAIT => {
                    panic!("timed out after {WAIT:?} waiting for {what}; last seen: {state}")
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    /// A new token: `scope` is `--admin`, `--tools` or `--source NAME`.
    fn token(&self, scope: &[&str]) -> Token {
        create_token(self.backend.dir.path(), &self.backend.url, scope)
    }

    /// `actionsync token revoke ID`.
    fn revoke(&self, token: &Token) {
        util::actionsync(["token", "revoke", &token.id.to_string()])
            .args(["--database", &self.backend.url])
            .current_dir(self.backend.dir.path())
            .run()
            .assert_success();
    }

    /// Sends a request; `token` goes in `Authorization: Bearer`.
    fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&Token>,
        headers: &[(&str, &str)],
        body: Option<Body>,
    ) -> Reply {
        let what = format!("{method} {path}");
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(&token.secret);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().unwrap_or_else(|e| panic!("{what}: {e}"));
        Reply {
            what,
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.text().unwrap_or_default(),
        }
    }

    /// `GET path`.
    fn get(&self, token: &Token, path: &str) -> Reply {
        self.send(Method::GET, path, Some(token), &[], None)
    }

    /// `PUT /v1/sources/{source}/spec` with `spec` as the body.
    fn push(&self, token: &Token, source: &str, spec: &str) -> Reply {
        self.push_with(token, source, "", spec)
    }

    /// A push with a query (`?dry_run=true`).
    fn push_with(&self, token: &Token, source: &str, query: &str, spec: &str) -> Reply {
        let path = format!("/v1/sources/{source}/spec{query}");
        self.send(
            Method::PUT,
            &path,
            Some(token),
            &[],
            Some(spec.to_string().into()),
        )
    }

    /// `PATCH /v1/actions/{id}` with `If-Match` when given.
    fn patch(&self, token: &Token, id: i64, if_match: Option<&str>, edit: &Value) -> Reply {
        let mut headers = vec![("content-type", "application/json")];
        if let Some(tag) = if_match {
            headers.push(("if-match", tag));
        }
        let path = format!("/v1/actions/{id}");
        self.send(
            Method::PATCH,
            &path,
            Some(token),
            &headers,
            Some(edit.to_string().into()),
        )
    }

    /// Edits an action the way a careful client does: read it for its ETag, send
    /// the edit with `If-Match`, and on 412 read again and retry. Returns the
    /// action as edited and how many 412s it met.
    fn edit(&self, id: i64, edit: &Value) -> (Value, usize) {
        let mut stale = 0;
        loop {
            let current = self.get(&self.admin, &format!("/v1/actions/{id}"));
            current.expect_json(200);
            let tag = current.etag();
            let reply = self.patch(&self.admin, id, Some(&tag), edit);
            match reply.status {
                200 => return (reply.json(), stale),
                412 if stale < 100 => stale += 1,
                _ => reply.fail("expected 200, or 412 and a retry"),
            }
        }
    }

    /// Every action (of every source and state), by id.
    fn actions(&self, query: &str) -> Vec<Value> {
        let reply = self.get(&self.admin, &format!("/v1/actions?limit=1000{query}"));
        let page = reply.expect_json(200);
        assert_eq!(page["next_after"], Value::Null, "one page holds them all");
        page["actions"].as_array().expect("actions").clone()
    }

    /// The action of source `orders` named `name`.
    fn action(&self, name: &str) -> Value {
        self.actions("&source=orders")
            .into_iter()
            .find(|a| a["name"] == name)
            .unwrap_or_else(|| panic!("no action `{name}` in source `orders`"))
    }

    /// The id of the action of source `orders` named `name`.
    fn id(&self, name: &str) -> i64 {
        self.action(name)["id"].as_i64().expect("an id")
    }

    /// The revision numbers `GET /v1/sources/{source}/revisions` lists.
    fn revisions(&self, source: &str) -> Vec<i64> {
        let reply = self.get(&self.admin, &format!("/v1/sources/{source}/revisions"));
        reply.expect_json(200)["revisions"]
            .as_array()
            .expect("revisions")
            .iter()
            .map(|r| r["number"].as_i64().expect("a revision number"))
            .collect()
    }

    /// The names `GET /v1/tools` lists, read from the format's own shape.
    fn tool_names(&self, token: &Token, query: &str, format: &str) -> BTreeSet<String> {
        let reply = self.get(token, &format!("/v1/tools?format={format}{query}"));
        let tools = reply.expect_json(200);
        let list = match format {
            "mcp" => &tools["tools"],
            _ => &tools,
        };
        let list = list
            .as_array()
            .unwrap_or_else(|| reply.fail("expected a list of tools"));
        list.iter()
            .map(|tool| {
                let name = match format {
                    "openai" => &tool["function"]["name"],
                    _ => &tool["name"],
                };
                name.as_str()
                    .unwrap_or_else(|| reply.fail("a tool without a name"))
                    .to_string()
            })
            .collect()
    }

    fn log_text(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "----- log of actionsync serve --database {} -----\n{}\n-----",
                self.backend.url,
                self.log_text()
            );
        }
    }
}

/// `actionsync token create SCOPE --database URL` in `dir`.
fn create_token(dir: &Path, database: &str, scope: &[&str]) -> Token {
    let run = util::actionsync(["token", "create"])
        .args(scope)
        .args(["--database", database])
        .current_dir(dir)
        .run();
    run.assert_success();
    let stdout = run.stdout();
    let id = stdout
        .split_whitespace()
        .nth(1)
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| run.fail("expected `token ID …` on the first line"));
    let secret = stdout.lines().last().unwrap_or_default().trim().to_string();
    run.check(
        secret.starts_with("ast_"),
        "expected the token on the last line",
    );
    Token { id, secret }
}

/// An answer: status, headers and body.
struct Reply {
    what: String,
    status: u16,
    headers: HeaderMap,
    body: String,
}

impl Reply {
    #[track_caller]
    fn fail(&self, message: &str) -> ! {
        panic!(
            "{}: {message}\n  got {} {}\n  headers {:?}",
            self.what, self.status, self.body, self.headers
        )
    }

    /// The body as JSON.
    #[track_caller]
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| self.fail(&format!("not JSON: {e}")))
    }

    /// Expects `status` and a JSON body, and returns it.
    #[track_caller]
    fn expect_json(&self, status: u16) -> Value {
        if self.status != status {
            self.fail(&format!("expected {status}"));
        }
        self.json()
    }

    /// Expects an error answer: `status`, and a JSON `{"error": code, "message": …}`.
    /// Returns the message.
    #[track_caller]
    fn expect_error(&self, status: u16, code: &str) -> String {
        let body = self.expect_json(status);
        if body["error"] != code {
            self.fail(&format!("expected error code `{code}`"));
        }
        match body["message"].as_str() {
            Some(message) if !message.is_empty() => message.to_string(),
            _ => self.fail("expected a message for people"),
        }
    }

    /// Expects a push reply (`PushReply`) with this status and outcome.
    #[track_caller]
    fn expect_push(&self, status: u16, outcome: &str) -> Value {
        let body = self.expect_json(status);
        if body["outcome"] != outcome {
            self.fail(&format!("expected outcome `{outcome}`"));
        }
        body
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    #[track_caller]
    fn etag(&self) -> String {
        self.header("etag")
            .unwrap_or_else(|| self.fail("expected an ETag"))
            .to_string()
    }
}

/// Fails unless `message` contains `needle`.
#[track_caller]
fn assert_mentions(message: &str, needle: &str) {
    assert!(
        message.contains(needle),
        "expected the message to mention {needle:?}: {message}"
    );
}

// ---------------------------------------------------------------------------
// Specs
// ---------------------------------------------------------------------------

/// `specs/orders.yaml`.
fn orders() -> String {
    std::fs::read_to_string(util::crate_root().join("specs/orders.yaml"))
        .expect("specs/orders.yaml")
}

/// `specs/orders.yaml` with `from` (which must be in it) replaced by `to`.
fn orders_with(from: &str, to: &str) -> String {
    let spec = orders();
    assert!(
        spec.contains(from),
        "specs/orders.yaml no longer contains {from:?}"
    );
    spec.replacen(from, to, 1)
}

/// The text of `getOrder`'s description that tests change.
const GET_ORDER_TEXT: &str = "Return one order with its line items";

/// `specs/orders.yaml` with `getOrder`'s description saying `marker`.
fn orders_marked(marker: &str) -> String {
    orders_with(
        GET_ORDER_TEXT,
        &format!("Return one order ({marker}) with its line items"),
    )
}

/// `specs/orders.yaml` without the `refundOrder` operation (its whole path).
fn orders_without_refunds() -> String {
    let spec = orders();
    let start = spec
        .find("  /orders/{orderId}/refunds:")
        .expect("the refunds path");
    let end = spec
        .find("  /customers/rewards:")
        .expect("the rewards path");
    format!("{}{}", &spec[..start], &spec[end..])
}

/// `getOrder`'s description in the catalogue.
fn get_order_description(server: &Server) -> String {
    server.action("get_order")["spec"]["description"]
        .as_str()
        .expect("a description")
        .to_string()
}

// ---------------------------------------------------------------------------
// 1. Every status code the API promises
// ---------------------------------------------------------------------------

/// Pushes: 200 (applied, unchanged, planned), 400, 409, 413 and 422.
fn push_answers(backend: Backend) {
    let watched = common::spec(&[common::Op::get("getThing", "/things/{id}")]);
    std::fs::write(backend.dir.path().join("watched.yaml"), &watched).unwrap();
    let server = Server::start(
        backend,
        Some(
            "defaults: {max_size: 2048}\n\
             sources:\n  \
               - {name: orders, push: true, max_size: 1000000}\n  \
               - {name: watched, file: watched.yaml}\n",
        ),
    );
    let admin = &server.admin;

    // 200: applied, then unchanged.
    let applied = server
        .push(admin, "orders", &orders())
        .expect_push(200, "applied");
    assert_eq!(applied["revision"], 1);
    assert_eq!(applied["counts"]["created"], 8);
    let again = server
        .push(admin, "orders", &orders())
        .expect_push(200, "unchanged");
    assert_eq!(again["revision"], 1);

    // 200: a dry run plans the change and applies nothing.
    let planned = server
        .push_with(admin, "orders", "?dry_run=true", &orders_marked("dry"))
        .expect_push(200, "planned");
    assert_eq!(planned["dry_run"], true);
    assert_eq!(planned["counts"]["updated"], 1, "{planned}");
    assert_eq!(
        server.revisions("orders"),
        [1],
        "a dry run adds no revision"
    );
    assert!(
        !get_order_description(&server).contains("(dry)"),
        "a dry run changed the catalogue"
    );

    // 400: YAML that does not parse; the message says where.
    let broken = "openapi: 3.0.3\ninfo:\n  title: [Broken\n  version: '1'\npaths: {}\n";
    let message = server
        .push(admin, "orders", broken)
        .expect_error(400, "invalid_spec");
    assert_mentions(&message, "line 4, column ");

    // 400: a spec that references another document cannot be resolved from bytes.
    let split = orders_with(
        "$ref: '#/components/schemas/CreateOrderRequest'",
        "$ref: 'other.yaml#/CreateOrderRequest'",
    );
    let message = server
        .push(admin, "orders", &split)
        .expect_error(400, "invalid_spec");
    assert_mentions(&message, "other.yaml");

    // 400: a query the push does not take.
    let message = server
        .push_with(admin, "orders", "?dry_run=maybe", &orders())
        .expect_error(400, "invalid_request");
    assert_mentions(&message, "dry_run");
    assert_eq!(
        server.revisions("orders"),
        [1],
        "refused pushes add no revision"
    );

    // 409: the config reads this source from a file.
    let message = server
        .push(admin, "watched", &orders())
        .expect_error(409, "watched_source");
    assert_mentions(&message, "watched.yaml");
    assert_eq!(server.revisions("watched"), [1], "the file's revision only");

    // 413: over the limit, announced with Content-Length. (Streamed without one, see
    // `a_streamed_push_over_the_limit_is_answered_cleanly`.)
    let spec = orders();
    assert!(spec.len() > 2048);
    let message = server
        .push(admin, "big", &spec)
        .expect_error(413, "too_large");
    assert_mentions(&message, "2048");
    server
        .get(admin, "/v1/sources/big/revisions")
        .expect_error(404, "not_found");

    // 422: lint refuses a spec without servers (a real fixture); nothing applied.
    let no_servers =
        std::fs::read_to_string(util::crate_root().join("tests/fixtures/server-missing.yaml"))
            .expect("the fixture");
    let refused = server
        .push(admin, "subscriptions", &no_servers)
        .expect_push(422, "refused");
    let refusals = refused["plan"]["refusals"].as_array().expect("refusals");
    assert!(
        refusals
            .iter()
            .any(|r| r["code"] == "lint" && r["overridable"] == false),
        "{refused}"
    );
    assert!(
        server.actions("&source=subscriptions").is_empty(),
        "refused, yet applied"
    );
}
on_each_backend!(push_answers);

/// Tokens: 401 with `WWW-Authenticate` (none, made up, revoked) and 403 (a token
/// used outside its scope).
fn token_answers(backend: Backend) {
    let server = Server::start(backend, None);
    let admin = &server.admin;
    server
        .push(admin, "orders", &orders())
        .expect_push(200, "applied");
    let id = server.id("get_order");
    let unauthorized = |reply: Reply| {
        reply.expect_error(401, "unauthorized");
        let challenge = reply.header("www-authenticate").unwrap_or("");
        if !challenge.starts_with("Bearer") {
            reply.fail("expected WWW-Authenticate: Bearer …");
        }
    };

    // 401: no token, on each kind of route.
    unauthorized(server.send(Method::GET, "/v1/actions", None, &[], None));
    unauthorized(server.send(Method::GET, "/v1/tools?channel=widget", None, &[], None));
    unauthorized(server.send(
        Method::PUT,
        "/v1/sources/orders/spec",
        None,
        &[],
        Some(orders().into()),
    ));
    // 401 before any rule of the route is checked: a bad id, source name, query
    // or revision number without a token says only that a token is needed.
    for (method, path) in [
        (Method::PATCH, "/v1/actions/x"),
        (Method::GET, "/v1/actions/x"),
        (Method::POST, "/v1/actions/x/test"),
        (Method::PUT, "/v1/sources/Bad%20Name/spec?colour=red"),
        (Method::POST, "/v1/sources/Bad%20Name/rollback"),
        (Method::POST, "/v1/sources/Bad%20Name/pause"),
        (Method::POST, "/v1/sources/Bad%20Name/resume"),
        (Method::GET, "/v1/sources/orders/revisions/three"),
        (Method::GET, "/v1/actions?colour=red"),
    ] {
        unauthorized(server.send(method, path, None, &[], Some("{}".into())));
    }

    // 401: a token that was never created.
    let made_up = Token {
        id: 0,
        secret: "ast_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_string(),
    };
    unauthorized(server.get(&made_up, "/v1/actions"));

    // 401: a token that worked, once revoked.
    let ci = server.token(&["--source", "orders"]);
    server
        .push(&ci, "orders", &orders())
        .expect_push(200, "unchanged");
    server.revoke(&ci);
    unauthorized(server.push(&ci, "orders", &orders_marked("revoked")));
    assert!(!get_order_description(&server).contains("(revoked)"));

    // 403: a push token for `orders` pushing to `billing`; nothing is created.
    let ci = server.token(&["--source", "orders"]);
    let message = server
        .push(&ci, "billing", &orders())
        .expect_error(403, "forbidden");
    assert_mentions(&message, "`orders`");
    assert_mentions(&message, "`billing`");
    server
        .get(admin, "/v1/sources/billing/revisions")
        .expect_error(404, "not_found");

    // 403: a push token reading the curators' API or the tools.
    server
        .get(&ci, "/v1/actions")
        .expect_error(403, "forbidden");
    server
        .get(&ci, "/v1/tools?channel=widget")
        .expect_error(403, "forbidden");

    // 403: a tools token editing an action, or pushing.
    let tools = server.token(&["--tools"]);
    server
        .get(&tools, "/v1/tools?channel=widget")
        .expect_json(200);
    let version = server.action("get_order")["version"].clone();
    server
        .patch(
            &tools,
            id,
            Some(&format!("\"{version}\"")),
            &json!({"enabled": false}),
        )
        .expect_error(403, "forbidden");
    assert_eq!(server.action("get_order")["hand"]["enabled"], true);
    server
        .push(&tools, "orders", &orders())
        .expect_error(403, "forbidden");
}
on_each_backend!(token_answers);

/// The curators' routes and the tools: 400, 404, 409, 412, 422, 428 and 304.
fn curation_answers(backend: Backend) {
    let server = Server::start(backend, None);
    let admin = &server.admin;
    server
        .push(admin, "orders", &orders())
        .expect_push(200, "applied");
    let id = server.id("get_order");

    // 404: an unknown action, revision, source or route, each answered in JSON.
    server
        .get(admin, "/v1/actions/999999")
        .expect_error(404, "not_found");
    server
        .patch(admin, 999_999, Some("*"), &json!({"enabled": false}))
        .expect_error(404, "not_found");
    let message = server
        .get(admin, "/v1/sources/orders/revisions/7")
        .expect_error(404, "not_found");
    assert_mentions(&message, "7");
    server
        .get(admin, "/v1/sources/nowhere/revisions")
        .expect_error(404, "not_found");
    let message = server
        .get(admin, "/v1/nothing/here")
        .expect_error(404, "not_found");
    assert_mentions(&message, "/openapi.json");
    let rollback = json!({"revision": 1}).to_string();
    server
        .send(
            Method::POST,
            "/v1/sources/nowhere/rollback",
            Some(admin),
            &[],
            Some(rollback.into()),
        )
        .expect_error(404, "not_found");

    // 400: malformed requests.
    server
        .get(admin, "/v1/actions/abc")
        .expect_error(400, "invalid_request");
    server
        .get(admin, "/v1/actions?channel=fax")
        .expect_error(400, "invalid_request");
    server
        .patch(admin, id, Some("*"), &json!({"colour": "red"}))
        .expect_error(400, "invalid_request");
    // No field takes null: `"segments": null` was read as the field left out,
    // a 200 that changed nothing, where the document says segments is a list.
    let message = server
        .patch(
            admin,
            id,
            Some("*"),
            &json!({"segments": null, "enabled": true}),
        )
        .expect_error(400, "invalid_request");
    assert_mentions(&message, "`segments` is null");

    // 428: an edit without If-Match changes nothing.
    let before = server.get(admin, &format!("/v1/actions/{id}"));
    let tag = before.etag();
    assert_eq!(tag, format!("\"{}\"", before.json()["version"]));
    let message = server
        .patch(admin, id, None, &json!({"segments": ["vip"]}))
        .expect_error(428, "precondition_required");
    assert_mentions(&message, "If-Match");

    // 200, then 412 for an edit based on the version before it: the answer's ETag
    // is the current version, and the stale edit changes nothing.
    let edited = server.patch(admin, id, Some(&tag), &json!({"segments": ["vip"]}));
    let current = edited.etag();
    assert_ne!(current, tag);
    assert_eq!(edited.json()["hand"]["segments"], json!(["vip"]));
    let stale = server.patch(admin, id, Some(&tag), &json!({"segments": ["eu"]}));
    stale.expect_error(412, "stale");
    assert_eq!(stale.etag(), current, "412 names the current version");
    let now = server.get(admin, &format!("/v1/actions/{id}"));
    assert_eq!(now.etag(), current);
    assert_eq!(now.json()["hand"]["segments"], json!(["vip"]));
    // A weak tag never matches (RFC 9110's strong comparison), even the current one.
    let weak = server.patch(
        admin,
        id,
        Some(&format!("W/{current}")),
        &json!({"segments": ["eu"]}),
    );
    assert_mentions(&weak.expect_error(412, "stale"), "weak");
    // A body that is not an edit is 400 whatever the tag: the request is wrong
    // before any version is compared (it was 412 with a weak tag).
    for tag in [format!("W/{current}"), "\"1\"".to_string()] {
        let message = server
            .patch(admin, id, Some(&tag), &json!({"enabled": 5}))
            .expect_error(400, "invalid_request");
        assert_mentions(&message, "expected a boolean");
    }

    // 422: a pin that does not fit its field.
    let message = server
        .patch(
            admin,
            id,
            Some(&current),
            &json!({"pins": {"method": "FETCH"}}),
        )
        .expect_error(422, "invalid_edit");
    assert_mentions(&message, "method");
    let now = server.get(admin, &format!("/v1/actions/{id}"));
    assert_eq!(now.etag(), current, "a refused edit changes nothing");
    assert_eq!(now.json()["hand"]["pins"], json!({}));

    // 409: pinning a name another action has.
    server
        .patch(
            admin,
            id,
            Some(&current),
            &json!({"pins": {"name": "list_orders"}}),
        )
        .expect_error(409, "name_taken");
    assert_eq!(server.action("get_order")["hand"]["pins"], json!({}));

    // 304: the tool list again, with the ETag it gave; after an edit, 200 again.
    let tools = server.token(&["--tools"]);
    let first = server.get(&tools, "/v1/tools?channel=widget");
    first.expect_json(200);
    let tag = first.etag();
    let again = server.send(
        Method::GET,
        "/v1/tools?channel=widget",
        Some(&tools),
        &[("if-none-match", &tag)],
        None,
    );
    if again.status != 304 || !again.body.is_empty() {
        again.fail("expected 304 with no body");
    }
    assert_eq!(again.etag(), tag, "the 304 names its tag");
    // Another contact's list (other segments, another format) is not validated
    // by this tag, even at the same generation.
    for other in [
        "/v1/tools?channel=widget&segments=vip",
        "/v1/tools?channel=widget&format=openai",
        "/v1/tools?channel=sms",
    ] {
        server
            .send(
                Method::GET,
                other,
                Some(&tools),
                &[("if-none-match", &tag)],
                None,
            )
            .expect_json(200);
    }
    server.edit(id, &json!({"enabled": false}));
    let changed = server.send(
        Method::GET,
        "/v1/tools?channel=widget",
        Some(&tools),
        &[("if-none-match", &tag)],
        None,
    );
    changed.expect_json(200);
    assert_ne!(changed.etag(), tag);
}
on_each_backend!(curation_answers);

// ---------------------------------------------------------------------------
// 2. Concurrent pushes
// ---------------------------------------------------------------------------

/// Eight versions of one source pushed at once: each is applied as its own
/// revision, numbered 1 to 8 without gaps, and the catalogue ends at the version
/// that got the highest number.
fn concurrent_pushes_get_consecutive_revisions(backend: Backend) {
    let server = Server::start(backend, None);
    let ci = server.token(&["--source", "orders"]);
    const PUSHES: usize = 8;
    let start = Barrier::new(PUSHES);
    let answers: Vec<(usize, i64)> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..PUSHES)
            .map(|i| {
                let (server, ci, start) = (&server, &ci, &start);
                scope.spawn(move || {
                    let spec = orders_marked(&format!("build {i}"));
                    start.wait();
                    let reply = server.push(ci, "orders", &spec);
                    let revision = reply.expect_push(200, "applied")["revision"]
                        .as_i64()
                        .expect("a revision");
                    (i, revision)
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().expect("a push thread"))
            .collect()
    });

    let mut numbers: Vec<i64> = answers.iter().map(|(_, r)| *r).collect();
    numbers.sort_unstable();
    assert_eq!(
        numbers,
        (1..=PUSHES as i64).collect::<Vec<_>>(),
        "{answers:?}"
    );
    assert_eq!(
        server.revisions("orders"),
        (1..=PUSHES as i64).rev().collect::<Vec<_>>()
    );
    let listed = server
        .get(&server.admin, "/v1/sources/orders/revisions")
        .expect_json(200);
    let hashes: BTreeSet<&str> = listed["revisions"]
        .as_array()
        .expect("revisions")
        .iter()
        .map(|r| r["spec_hash"].as_str().expect("a spec hash"))
        .collect();
    assert_eq!(
        hashes.len(),
        PUSHES,
        "each revision applied a different version: {listed}"
    );
    let (last, _) = answers.iter().max_by_key(|(_, r)| *r).unwrap();
    let description = get_order_description(&server);
    assert!(
        description.contains(&format!("(build {last})")),
        "the catalogue should hold the push that got revision {PUSHES} (build {last}): {description}\n{answers:?}"
    );
    assert_eq!(server.actions("&source=orders&state=active").len(), 8);
}
on_each_backend!(concurrent_pushes_get_consecutive_revisions);

// ---------------------------------------------------------------------------
// 3. A hand edit racing a push
// ---------------------------------------------------------------------------

/// A push changing `get_order`'s description (spec-owned) while a curator keeps
/// setting its segments (hand-owned) until the push has answered: the push's
/// description and the curator's last segments both survive, whatever the order.
fn a_hand_edit_racing_a_push_keeps_both_changes(backend: Backend) {
    const ROUNDS: usize = 6;
    let server = Server::start(backend, None);
    server
        .push(&server.admin, "orders", &orders())
        .expect_push(200, "applied");
    let id = server.id("get_order");
    let ci = server.token(&["--source", "orders"]);
    let (mut edits, mut retries) = (0, 0);
    for round in 1..=ROUNDS {
        let spec = orders_marked(&format!("round {round}"));
        let start = Barrier::new(2);
        let pushed = AtomicBool::new(false);
        let last = std::thread::scope(|scope| {
            scope.spawn(|| {
                start.wait();
                let reply = server.push(&ci, "orders", &spec);
                pushed.store(true, Ordering::SeqCst);
                reply.expect_push(200, "applied");
            });
            let editor = scope.spawn(|| {
                start.wait();
                // At least one edit; more while the push is in flight, so edits
                // land before, during and after its plan and its apply.
                for n in 1.. {
                    let segment = format!("round-{round}-edit-{n}");
                    let (edited, stale) = server.edit(id, &json!({"segments": [segment]}));
                    assert_eq!(edited["hand"]["segments"], json!([segment]));
                    retries += stale;
                    edits += 1;
                    if pushed.load(Ordering::SeqCst) {
                        return segment;
                    }
                }
                unreachable!()
            });
            editor.join().expect("the editor")
        });
        let action = server.action("get_order");
        assert!(
            action["spec"]["description"]
                .as_str()
                .is_some_and(|d| d.contains(&format!("(round {round})"))),
            "round {round}: the push's description was lost: {action}"
        );
        assert_eq!(
            action["hand"]["segments"],
            json!([last]),
            "round {round}: the last hand edit was lost: {action}"
        );
    }
    eprintln!("{edits} edits raced {ROUNDS} pushes; {retries} met 412 and read again");
}
on_each_backend!(a_hand_edit_racing_a_push_keeps_both_changes);

// ---------------------------------------------------------------------------
// 4. The tool list
// ---------------------------------------------------------------------------

/// A contact outside a segment never sees an action restricted to it; disabled
/// and archived actions never appear; edits show at once.
fn tools_show_each_contact_only_what_they_may_use(backend: Backend) {
    let server = Server::start(backend, None);
    let admin = &server.admin;
    let tools = server.token(&["--tools"]);
    server
        .push(admin, "orders", &orders())
        .expect_push(200, "applied");
    let names = |query: &str, format: &str| server.tool_names(&tools, query, format);
    assert!(names("&channel=widget", "native").contains("refund_order"));

    // get_order: vip only, on widget and sms. cancel_order: disabled.
    // refund_order: archived by a spec without it.
    server.edit(
        server.id("get_order"),
        &json!({"segments": ["vip"], "channels": ["widget", "sms"]}),
    );
    server.edit(server.id("cancel_order"), &json!({"enabled": false}));
    server
        .push(admin, "orders", &orders_without_refunds())
        .expect_push(200, "applied");
    assert_eq!(server.action("refund_order")["state"], "archived");

    let everyone = BTreeSet::from(
        [
            "list_orders",
            "create_order",
            "update_shipping_address",
            "list_order_shipments",
        ]
        .map(String::from),
    );
    for format in FORMATS {
        for channel in ["widget", "sms"] {
            for segments in ["", "&segments=eu", "&segments=", "&segments=%20vip%20x"] {
                let query = format!("&channel={channel}{segments}");
                let seen = names(&query, format);
                for hidden in [
                    "get_order",
                    "get_loyalty_rewards",
                    "cancel_order",
                    "refund_order",
                ] {
                    assert!(
                        !seen.contains(hidden),
                        "{format} {query} lists {hidden}: {seen:?}"
                    );
                }
                if channel == "widget" {
                    assert_eq!(seen, everyone, "{format} {query}");
                }
            }
            for segments in ["&segments=vip", "&segments=vip,eu", "&segments=eu,%20vip"] {
                let query = format!("&channel={channel}{segments}");
                let seen = names(&query, format);
                assert!(seen.contains("get_order"), "{format} {query}: {seen:?}");
                for hidden in ["cancel_order", "refund_order"] {
                    assert!(
                        !seen.contains(hidden),
                        "{format} {query} lists {hidden}: {seen:?}"
                    );
                }
            }
        }
        // Email is not one of get_order's channels, whatever the contact's segments.
        let seen = names("&channel=email&segments=vip", format);
        assert!(!seen.contains("get_order"), "{format} email: {seen:?}");
        assert!(
            seen.contains("get_loyalty_rewards"),
            "{format} email: {seen:?}"
        );
    }

    // Edits show in the very next answer.
    let cancel = server.id("cancel_order");
    server.edit(cancel, &json!({"enabled": true}));
    assert!(names("&channel=widget", "openai").contains("cancel_order"));
    server.edit(cancel, &json!({"segments": ["vip"]}));
    assert!(!names("&channel=widget&segments=eu", "mcp").contains("cancel_order"));
    assert!(names("&channel=widget&segments=vip", "mcp").contains("cancel_order"));

    // The channel is required.
    for query in ["/v1/tools", "/v1/tools?channel=", "/v1/tools?segments=vip"] {
        let message = server
            .get(&tools, query)
            .expect_error(400, "invalid_request");
        assert_mentions(&message, "channel");
    }
}
on_each_backend!(tools_show_each_contact_only_what_they_may_use);

/// `X-Tool-Count` and `X-Tool-Tokens` say what one contact's list holds and costs,
/// the same in every format; each action says its own cost; the body is the
/// format's document, read here with the official MCP SDK's and async-openai's types;
/// `strict=true` gives OpenAI strict tools or names those that cannot be.
fn tools_say_what_they_cost_in_every_format(backend: Backend) {
    let server = Server::start(backend, None);
    let admin = &server.admin;
    let tools = server.token(&["--tools"]);
    server
        .push(admin, "orders", &orders())
        .expect_push(200, "applied");
    let number = |reply: &Reply, header: &str| -> u64 {
        reply
            .header(header)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| reply.fail(&format!("expected a number in {header}")))
    };
    let native = server.get(&tools, "/v1/tools?channel=widget&format=native");
    let list = native.expect_json(200);
    let list = list.as_array().expect("an array");
    let count = number(&native, "x-tool-count");
    let tokens = number(&native, "x-tool-tokens");
    assert_eq!(count, list.len() as u64);
    assert_eq!(
        tokens,
        list.iter()
            .filter_map(|t| t["tokens"].as_u64())
            .sum::<u64>()
    );
    assert!(
        tokens > 100 * count / 10,
        "{tokens} tokens for {count} tools"
    );
    for format in FORMATS {
        let reply = server.get(&tools, &format!("/v1/tools?channel=widget&format={format}"));
        reply.expect_json(200);
        assert_eq!(number(&reply, "x-tool-count"), count, "{format}");
        assert_eq!(number(&reply, "x-tool-tokens"), tokens, "{format}");
    }
    // Each action says its own cost, as the tool list counts it.
    let get_order = server.action("get_order");
    let own = get_order["tokens"].as_u64().expect("the action's tokens");
    let reply = server.get(admin, &format!("/v1/actions/{}", get_order["id"]));
    assert_eq!(reply.expect_json(200)["tokens"], own);
    let listed = list
        .iter()
        .find(|t| t["name"] == "get_order")
        .expect("get_order is listed");
    assert_eq!(listed["tokens"], own);
    // A contact who may not see get_order is not charged for it.
    server.edit(server.id("get_order"), &json!({"segments": ["vip"]}));
    let reply = server.get(&tools, "/v1/tools?channel=widget&format=openai");
    reply.expect_json(200);
    assert_eq!(number(&reply, "x-tool-count"), count - 1);
    assert_eq!(number(&reply, "x-tool-tokens"), tokens - own);

    // The formats, read with their clients' own types. A VIP contact is also
    // sent get_loyalty_rewards (VIP only, from the spec) and get_order.
    let vip = count + 1;
    let mcp = server.get(&tools, "/v1/tools?channel=widget&format=mcp&segments=vip");
    let result: rmcp::model::ListToolsResult = serde_json::from_str(&mcp.body)
        .unwrap_or_else(|e| mcp.fail(&format!("not an MCP ListToolsResult: {e}")));
    assert_eq!(result.tools.len() as u64, vip);
    let openai = server.get(
        &tools,
        "/v1/tools?channel=widget&format=openai&segments=vip",
    );
    let functions: Vec<async_openai::types::chat::ChatCompletionTools> =
        serde_json::from_str(&openai.body)
            .unwrap_or_else(|e| openai.fail(&format!("not OpenAI chat tools: {e}")));
    assert_eq!(functions.len() as u64, vip);
    let anthropic = server.get(
        &tools,
        "/v1/tools?channel=widget&format=anthropic&segments=vip",
    );
    for tool in anthropic.expect_json(200).as_array().expect("an array") {
        let keys: Vec<&String> = tool.as_object().expect("a tool").keys().collect();
        assert_eq!(keys, ["name", "description", "input_schema"]);
    }

    // Strict mode: the bundled spec's tools can all be strict.
    let strict = server.get(
        &tools,
        "/v1/tools?channel=widget&format=openai&strict=true&segments=vip",
    );
    let strict_tools = strict.expect_json(200);
    let strict_tools = strict_tools.as_array().expect("an array");
    assert_eq!(strict_tools.len() as u64, vip);
    for tool in strict_tools {
        assert_eq!(tool["function"]["strict"], true, "{tool}");
        assert_eq!(
            tool["function"]["parameters"]["additionalProperties"],
            false
        );
    }
    assert_ne!(strict.etag(), openai.etag(), "strict and not share a tag");
    // One that cannot be (a free-form body) is named, with why.
    server
        .push(admin, "notes", FREE_FORM_SPEC)
        .expect_push(200, "applied");
    let message = server
        .get(&tools, "/v1/tools?channel=widget&format=openai&strict=true")
        .expect_error(422, "not_strict");
    assert_mentions(
        &message,
        "`set_note_metadata`: #/properties/body: a free-form object",
    );
    // Without strict, it is listed as ever.
    assert!(names_of(&server, &tools).contains("set_note_metadata"));
    let message = server
        .get(&tools, "/v1/tools?channel=widget&format=mcp&strict=true")
        .expect_error(422, "not_strict");
    assert_mentions(&message, "format=openai");
    // So is strict=true without a format (native, the default): each value is
    // valid, so schemathesis expected it accepted; 422 says it is the pair.
    server
        .get(&tools, "/v1/tools?channel=widget&strict=true")
        .expect_error(422, "not_strict");
    let message = server
        .get(&tools, "/v1/tools?channel=widget&format=openai&strict=yes")
        .expect_error(400, "invalid_request");
    assert_mentions(&message, "true or false");
    // An empty value is refused like an empty channel: the document's enums
    // have no empty string.
    for empty in [
        "channel=&format=native",
        "channel=widget&format=",
        "channel=widget&strict=",
    ] {
        server
            .get(&tools, &format!("/v1/tools?{empty}"))
            .expect_error(400, "invalid_request");
    }
}
on_each_backend!(tools_say_what_they_cost_in_every_format);

/// A spec whose one operation takes a free-form object: no strict schema for it.
const FREE_FORM_SPEC: &str = r#"
openapi: 3.0.3
info: {title: Notes, version: "1"}
servers: [{url: "https://notes.example/api"}]
paths:
  /notes/{noteId}/metadata:
    put:
      operationId: setNoteMetadata
      summary: Replace the free-form metadata attached to a note
      parameters:
        - {name: noteId, in: path, required: true, schema: {type: string}}
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object, additionalProperties: true}
      responses: {"204": {description: Done}}
"#;

/// The OpenAI tool names a widget contact in no segment is sent.
fn names_of(server: &Server, token: &Token) -> BTreeSet<String> {
    server.tool_names(token, "&channel=widget", "openai")
}

// ---------------------------------------------------------------------------
// 5. The API's description
// ---------------------------------------------------------------------------

/// `/openapi.json` is JSON, every operation it documents exists on the server,
/// and `actionsync convert` turns it into 16 actions without an error.
fn the_api_description_matches_the_live_server(backend: Backend) {
    let server = Server::start(backend, None);
    let admin = &server.admin;
    server
        .push(admin, "orders", &orders())
        .expect_push(200, "applied");
    let id = server.id("get_order").to_string();

    let reply = server.send(Method::GET, "/openapi.json", None, &[], None);
    let document = reply.expect_json(200);
    let content_type = reply.header("content-type").unwrap_or("");
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );

    let paths = document["paths"].as_object().expect("paths");
    let mut operations = 0;
    for (path, item) in paths {
        let concrete = path
            .replace("{name}", "orders")
            .replace("{number}", "1")
            .replace("{id}", &id);
        assert!(
            !concrete.contains('{'),
            "a path parameter this test does not know: {path}"
        );
        for method in ["get", "put", "post", "patch", "delete"] {
            if item.get(method).is_none() {
                continue;
            }
            operations += 1;
            let method: Method = method.to_uppercase().parse().unwrap();
            let reply = server.send(method, &concrete, Some(admin), &[], None);
            if reply.status == 404 || reply.status == 405 {
                reply.fail(&format!(
                    "documented as {path}, but the server has no such route"
                ));
            }
        }
    }
    assert_eq!(operations, 16);
    assert_eq!(
        server.revisions("orders"),
        [1],
        "probing the routes changed nothing"
    );

    let saved = server.backend.dir.path().join("openapi.json");
    std::fs::write(&saved, &reply.body).unwrap();
    let run = util::actionsync(["convert"])
        .arg(&saved)
        .args(["--source", "actionsync"])
        .run();
    run.assert_success();
    let conversion = run.stdout_json();
    let actions = conversion["actions"].as_array().expect("actions");
    run.check(actions.len() == 16, "expected 16 actions");
    let errors: Vec<&Value> = conversion["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter(|d| d["severity"] == "error")
        .collect();
    run.check(
        errors.is_empty(),
        format!("expected no error diagnostics: {errors:#?}"),
    );
}
on_each_backend!(the_api_description_matches_the_live_server);

// ---------------------------------------------------------------------------
// 6. Pagination and filters
// ---------------------------------------------------------------------------

/// Pages of `GET /v1/actions`: each action exactly once, in id order, with
/// `next_after: null` on the last page; filters on channel, segment and source.
fn actions_page_through_the_catalogue(backend: Backend) {
    let server = Server::start(backend, None);
    let admin = &server.admin;
    server
        .push(admin, "orders", &orders())
        .expect_push(200, "applied");
    let tiny = common::spec(&[common::Op::get("getThing", "/things/{id}")]);
    server
        .push(admin, "tiny", &tiny)
        .expect_push(200, "applied");

    let pages = |query: &str| -> Vec<Vec<Value>> {
        let mut pages = Vec::new();
        let mut after = String::new();
        loop {
            let page = server
                .get(admin, &format!("/v1/actions?{query}{after}"))
                .expect_json(200);
            pages.push(page["actions"].as_array().expect("actions").clone());
            assert!(pages.len() <= 20, "paging does not end: {query}");
            match &page["next_after"] {
                Value::Null => return pages,
                next => after = format!("&after={}", next.as_i64().expect("next_after is an id")),
            }
        }
    };
    let names = |pages: &[Vec<Value>]| -> Vec<String> {
        pages
            .iter()
            .flatten()
            .map(|a| a["name"].as_str().expect("a name").to_string())
            .collect()
    };

    let paged = pages("source=orders&limit=3");
    let sizes: Vec<usize> = paged.iter().map(Vec::len).collect();
    assert_eq!(sizes, [3, 3, 2]);
    let ids: Vec<i64> = paged
        .iter()
        .flatten()
        .map(|a| a["id"].as_i64().unwrap())
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "in id order, once each: {ids:?}"
    );
    let mut seen = names(&paged);
    seen.sort();
    let mut all = ORDERS_ACTIONS.map(String::from).to_vec();
    all.sort();
    assert_eq!(seen, all);

    // A last page that is full still says it is the last.
    let sizes: Vec<usize> = pages("source=orders&limit=4")
        .iter()
        .map(Vec::len)
        .collect();
    assert_eq!(sizes, [4, 4]);
    assert_eq!(names(&pages("limit=5")).len(), 9, "both sources");

    // Filters on hand-owned fields, paged too.
    server.edit(
        server.id("get_order"),
        &json!({"channels": ["sms"], "segments": ["vip"]}),
    );
    server.edit(
        server.id("refund_order"),
        &json!({"channels": ["widget", "sms"]}),
    );
    let sms = pages("channel=sms&limit=1");
    assert_eq!(sms.iter().map(Vec::len).collect::<Vec<_>>(), [1, 1]);
    assert_eq!(names(&sms), ["get_order", "refund_order"]);
    let vip = names(&pages("segment=vip&limit=1"));
    assert_eq!(vip, ["get_order", "get_loyalty_rewards"]);
    assert_eq!(
        names(&pages("channel=email&segment=vip")),
        ["get_loyalty_rewards"]
    );
    let widget = names(&pages("channel=widget&source=orders&limit=2"));
    assert_eq!(widget.len(), 7, "{widget:?}");
    assert!(!widget.contains(&"get_order".to_string()));
    assert!(pages("segment=nobody")[0].is_empty());

    // Tags and pinned, set through the API like every hand-owned field.
    server.edit(
        server.id("refund_order"),
        &json!({"pinned": true, "tags": ["money", "orders"]}),
    );
    server.edit(server.id("get_order"), &json!({"tags": ["orders"]}));
    assert_eq!(names(&pages("pinned=true&limit=1")), ["refund_order"]);
    // Pinned first, then by id, every action once, across pages.
    let ordered = names(&pages("source=orders&limit=3"));
    assert_eq!(ordered[0], "refund_order", "{ordered:?}");
    let mut once = ordered.clone();
    once.sort();
    let mut all = ORDERS_ACTIONS.map(String::from).to_vec();
    all.sort();
    assert_eq!(once, all, "each action once: {ordered:?}");
    assert_eq!(names(&pages("pinned=false")).len(), 8);
    assert_eq!(names(&pages("tag=money")), ["refund_order"]);
    let tagged = names(&pages("tag=orders&limit=1"));
    assert_eq!(tagged.len(), 2, "{tagged:?}");
    assert!(tagged.contains(&"get_order".to_string()));
    assert!(pages("tag=orders&pinned=false&channel=widget")[0].is_empty());

    for bad in [
        "limit=0",
        "limit=1001",
        "channel=fax",
        "state=gone",
        "colour=red",
        "pinned=maybe",
    ] {
        server
            .get(admin, &format!("/v1/actions?{bad}"))
            .expect_error(400, "invalid_request");
    }
}
on_each_backend!(actions_page_through_the_catalogue);

/// A push whose action names another source already has applies: the names take
/// the push's `name_prefix` (else the source's name), with a warning in the plan.
fn pushes_with_clashing_names_both_apply(backend: Backend) {
    let server = Server::start(backend, None);
    let admin = &server.admin;
    server
        .push(admin, "orders", &orders())
        .expect_push(200, "applied");
    let again = server.push_with(admin, "orders-eu", "?name_prefix=eu", &orders());
    let answer = again.expect_json(200);
    assert_eq!(answer["outcome"], "applied", "{answer}");
    let warned = answer["plan"]["diagnostics"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["code"] == "name-prefixed")
        .count();
    assert_eq!(
        warned,
        ORDERS_ACTIONS.len(),
        "one warning per renamed action: {answer}"
    );
    let eu = server
        .get(admin, "/v1/actions?source=orders-eu")
        .expect_json(200);
    let mut names: Vec<String> = eu["actions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| a["name"].as_str().unwrap_or("?").to_string())
        .collect();
    names.sort();
    let mut expected: Vec<String> = ORDERS_ACTIONS.iter().map(|n| format!("eu_{n}")).collect();
    expected.sort();
    assert_eq!(names, expected);
    // Without a prefix, the source's name: `orders-us` → `orders_us_…`.
    let third = server.push(admin, "orders-us", &orders()).expect_json(200);
    assert_eq!(third["outcome"], "applied", "{third}");
    let us = server
        .get(admin, "/v1/actions?source=orders-us")
        .expect_json(200);
    assert!(
        us["actions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|a| a["name"] == "orders_us_get_order"),
        "{us}"
    );
    server
        .push_with(admin, "orders-x", "?name_prefix=Bad-Prefix", &orders())
        .expect_error(400, "invalid_request");
}
on_each_backend!(pushes_with_clashing_names_both_apply);

/// `PATCH` warns, as `actions set` does, about a magic field for a parameter the
/// action does not have, and keeps it; a right one has no warning.
fn a_magic_field_for_no_parameter_is_kept_with_a_warning(backend: Backend) {
    let server = Server::start(backend, None);
    server
        .push(&server.admin, "orders", &orders())
        .expect_push(200, "applied");
    let id = server.id("get_order");
    let (typo, _) = server.edit(id, &json!({"magic_fields": {"order_id": "contact.order"}}));
    let warnings = typo["warnings"].as_array().cloned().unwrap_or_default();
    assert_eq!(warnings.len(), 1, "{typo}");
    assert!(
        warnings[0]
            .as_str()
            .is_some_and(|w| w.contains("no parameter or header `order_id`")),
        "{typo}"
    );
    assert_eq!(typo["hand"]["magic_fields"]["order_id"], "contact.order");
    let (right, _) = server.edit(id, &json!({"magic_fields": {"orderId": "contact.order"}}));
    assert!(right.get("warnings").is_none(), "{right}");
}
on_each_backend!(a_magic_field_for_no_parameter_is_kept_with_a_warning);

/// A spec without servers, pushed with `base_url`, applies with URLs under it;
/// without one it says to give one.
fn a_push_may_give_the_base_url(backend: Backend) {
    let server = Server::start(backend, None);
    let no_servers = "openapi: 3.0.3\ninfo: {title: Things, version: '1'}\npaths:\n  /things/{id}:\n    get:\n      operationId: getThing\n      summary: Look up one thing by its id\n      parameters: [{name: id, in: path, required: true, schema: {type: string}}]\n      responses: {'200': {description: ok}}\n";
    let without = server.push(&server.admin, "things", no_servers).json();
    assert!(without.to_string().contains("--base-url"), "{without}");
    let with = server
        .push_with(
            &server.admin,
            "things",
            "?base_url=https%3A%2F%2Fthings.example.com%2Fv2",
            no_servers,
        )
        .expect_push(200, "applied");
    let url = with["plan"]["changes"][0]["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["field"] == "url")
        .map(|f| f["new"].clone());
    assert_eq!(
        url,
        Some(json!("https://things.example.com/v2/things/{id}")),
        "{with}"
    );
    server
        .push_with(
            &server.admin,
            "things",
            "?base_url=ftp%3A%2F%2Fx",
            no_servers,
        )
        .expect_error(400, "invalid_request");
}
on_each_backend!(a_push_may_give_the_base_url);

/// A first push that fails leaves no source behind; one that applies creates it.
fn a_failed_first_push_leaves_no_source(backend: Backend) {
    let server = Server::start(backend, None);
    let admin = &server.admin;
    server
        .push(admin, "fresh", "openapi: 3.0.3\ninfo: [not, a, map\n")
        .expect_error(400, "invalid_spec");
    // Nothing to apply (no operations): nothing is created either.
    let empty = server.push(
        admin,
        "fresh",
        "openapi: 3.0.3\ninfo: {title: T, version: '1'}\npaths: {}\n",
    );
    assert_eq!(empty.status, 200);
    let sources = server.get(admin, "/v1/sources").expect_json(200);
    assert!(
        !sources.to_string().contains("\"fresh\""),
        "no source `fresh` after failed pushes: {sources}"
    );
    server
        .push(admin, "fresh", &orders())
        .expect_push(200, "applied");
    let sources = server.get(admin, "/v1/sources").expect_json(200);
    assert!(sources.to_string().contains("\"fresh\""), "{sources}");
}
on_each_backend!(a_failed_first_push_leaves_no_source);

/// Past the config's `rate_limit`, the API answers `429 rate_limited` with
/// `Retry-After`, per token (another token is not held back) and per address;
/// health checks are never limited.
fn requests_past_the_rate_limit_are_answered_429(backend: Backend) {
    let server = Server::start(
        backend,
        Some("rate_limit: {per_token: 1, per_address: 0, burst: 3}\n"),
    );
    let admin = &server.admin;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(server.get(admin, "/v1/sources").status);
    }
    assert_eq!(
        &statuses[..3],
        [200, 200, 200],
        "the burst passes: {statuses:?}"
    );
    assert!(
        statuses.contains(&429),
        "then the limit holds: {statuses:?}"
    );
    let limited = server.get(admin, "/v1/sources");
    let message = limited.expect_error(429, "rate_limited");
    assert_mentions(&message, "try again");
    assert!(
        limited
            .header("retry-after")
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|s| s >= 1),
        "Retry-After in seconds"
    );
    // Another token has its own allowance.
    let other = server.token(&["--admin"]);
    server.get(&other, "/v1/sources").expect_json(200);
    // Probes are not limited.
    for _ in 0..5 {
        let health = server.send(Method::GET, "/healthz", None, &[], None);
        assert_eq!(health.status, 200);
    }

    // Per address, whatever the token.
    let server = Server::start(
        Backend::sqlite(),
        Some("rate_limit: {per_token: 0, per_address: 1, burst: 2}\n"),
    );
    let a = server.token(&["--admin"]);
    let b = server.token(&["--admin"]);
    let statuses: Vec<u16> = [&a, &b, &a, &b]
        .iter()
        .map(|t| server.get(t, "/v1/sources").status)
        .collect();
    assert_eq!(statuses[..2], [200, 200]);
    assert!(statuses[2..].contains(&429), "{statuses:?}");
}
on_each_backend!(requests_past_the_rate_limit_are_answered_429);

/// `POST /v1/sources/{name}/pause` and `/resume`: a paused source's pushes are dry
/// runs that say why, `/v1/sources` shows it paused and out of sync with the
/// pending plan's counts, and once resumed the same push applies.
fn a_paused_source_plans_pushes_without_applying_them(backend: Backend) {
    let server = Server::start(backend, None);
    let admin = &server.admin;
    let pusher = server.token(&["--source", "orders", "--name", "ci-orders"]);
    server
        .push(&pusher, "orders", &orders())
        .expect_push(200, "applied");
    let post = |token: &Token, path: &str| server.send(Method::POST, path, Some(token), &[], None);
    let orders_source = || {
        let listed = server.get(admin, "/v1/sources").expect_json(200);
        listed["sources"]
            .as_array()
            .expect("sources")
            .iter()
            .find(|s| s["name"] == "orders")
            .cloned()
            .expect("the orders source")
    };
    assert_eq!(orders_source()["paused"], false);

    // Only admins pause; an unknown source is 404.
    post(&pusher, "/v1/sources/orders/pause").expect_error(403, "forbidden");
    post(admin, "/v1/sources/nothing/pause").expect_error(404, "not_found");
    let paused = post(admin, "/v1/sources/orders/pause").expect_json(200);
    assert_eq!(paused["paused"], true);
    assert_eq!(paused["out_of_sync"], false);

    // A push while paused: planned, not applied, and the answer says why.
    let planned = server
        .push(&pusher, "orders", &orders_marked("v2"))
        .expect_push(200, "planned");
    assert_eq!(planned["dry_run"], true);
    assert_eq!(planned["counts"]["updated"], 1);
    let note = planned["note"].as_str().expect("a note");
    assert_mentions(note, "paused");
    assert_mentions(note, "/v1/sources/orders/resume");
    assert_eq!(server.revisions("orders"), vec![1]);
    assert!(!get_order_description(&server).contains("(v2)"));
    let source = orders_source();
    assert_eq!(source["paused"], true);
    assert_eq!(source["out_of_sync"], true);
    assert_eq!(source["pending"]["updated"], 1);

    // Resumed: in sync again once the same push applies.
    let resumed = post(admin, "/v1/sources/orders/resume").expect_json(200);
    assert_eq!(resumed["paused"], false);
    assert_eq!(resumed["pending"], Value::Null);
    let applied = server
        .push(&pusher, "orders", &orders_marked("v2"))
        .expect_push(200, "applied");
    assert_eq!(applied["revision"], 2);
    assert!(applied.get("note").is_none(), "no note once resumed");
    assert!(get_order_description(&server).contains("(v2)"));
    let source = orders_source();
    assert_eq!(source["paused"], false);
    assert_eq!(source["out_of_sync"], false);
}
on_each_backend!(a_paused_source_plans_pushes_without_applying_them);

/// Rolling back a source the server reads from a file: refused while it is not
/// paused (its next save would undo it), with what to send; `"pause": true`
/// pauses it and rolls back, and says so.
fn rollback_of_a_watched_source_needs_it_paused(backend: Backend) {
    std::fs::write(backend.dir.path().join("watched.yaml"), orders()).unwrap();
    let server = Server::start(
        backend,
        Some("sources:\n  - {name: watched, file: watched.yaml}\n"),
    );
    let admin = &server.admin;
    assert_eq!(server.revisions("watched"), vec![1]);
    let rollback = |body: Value| {
        server.send(
            Method::POST,
            "/v1/sources/watched/rollback",
            Some(admin),
            &[("content-type", "application/json")],
            Some(body.to_string().into()),
        )
    };
    let message = rollback(json!({"revision": 1})).expect_error(409, "conflict");
    assert_mentions(&message, "watched.yaml");
    assert_mentions(&message, "POST /v1/sources/watched/pause");
    assert_mentions(&message, "\"pause\": true");
    // A dry run applies nothing, so it needs no pause.
    rollback(json!({"revision": 1, "dry_run": true})).expect_push(200, "no_changes");

    let rolled = rollback(json!({"revision": 1, "pause": true})).expect_json(200);
    assert_mentions(rolled["note"].as_str().expect("a note"), "paused");
    let listed = server.get(admin, "/v1/sources").expect_json(200);
    assert_eq!(listed["sources"][0]["name"], "watched");
    assert_eq!(listed["sources"][0]["paused"], true);
    // Paused already: a rollback needs nothing more.
    rollback(json!({"revision": 1})).expect_json(200);
    // The log says how each rollback ended, refused ones included.
    let started = std::time::Instant::now();
    let logged = |outcome: &str| {
        server.log_text().lines().any(|l| {
            l.contains("\"message\":\"rollback\"")
                && l.contains(&format!("\"outcome\":\"{outcome}\""))
        })
    };
    while !logged("NoChanges") && started.elapsed() < WAIT {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(logged("NoChanges"), "{}", server.log_text());

    // A save while paused is planned, not applied; resuming applies it at once.
    std::fs::write(
        server.backend.dir.path().join("watched.yaml"),
        orders_marked("v2"),
    )
    .unwrap();
    server.eventually("the paused source to plan the saved file", |server| {
        let listed = server.get(&server.admin, "/v1/sources").expect_json(200);
        let source = &listed["sources"][0];
        if source["out_of_sync"] == true && source["pending"]["updated"] == 1 {
            Ok(())
        } else {
            Err(source.to_string())
        }
    });
    assert_eq!(
        server.revisions("watched"),
        vec![1],
        "paused: nothing applied"
    );
    let resumed = server
        .send(
            Method::POST,
            "/v1/sources/watched/resume",
            Some(admin),
            &[],
            None,
        )
        .expect_json(200);
    assert_eq!(resumed["paused"], false);
    server.eventually("the resumed source to apply the saved file", |server| {
        let revisions = server.revisions("watched");
        if revisions == [2, 1] {
            Ok(())
        } else {
            Err(format!("revisions {revisions:?}"))
        }
    });
}
on_each_backend!(rollback_of_a_watched_source_needs_it_paused);

/// A method a route does not take is answered like every other error: 405 with
/// `Allow` and a JSON error body a client can parse.
/// `POST /v1/sources/{name}/rollback`: an earlier revision's spec applied again as
/// a new revision, hand-set fields untouched, and who did it on every revision.
fn rollback_restores_the_spec_and_keeps_hand_edits(backend: Backend) {
    let server = Server::start(backend, None);
    let admin = &server.admin;
    let pusher = server.token(&["--source", "orders", "--name", "ci-orders"]);
    server
        .push(&pusher, "orders", &orders())
        .expect_push(200, "applied");
    server
        .push(&pusher, "orders", &orders_marked("v2"))
        .expect_push(200, "applied");
    assert!(get_order_description(&server).contains("(v2)"));
    let id = server.id("get_order");
    server.edit(
        id,
        &json!({"segments": ["vip"], "channels": ["widget", "sms"]}),
    );

    let rollback = |token: &Token, body: Value| {
        server.send(
            Method::POST,
            "/v1/sources/orders/rollback",
            Some(token),
            &[("content-type", "application/json")],
            Some(body.to_string().into()),
        )
    };
    // A dry run plans the way back and applies nothing.
    let planned = rollback(admin, json!({"revision": 1, "dry_run": true}));
    let planned = planned.expect_push(200, "planned");
    assert_eq!(planned["plan"]["counts"]["updated"], 1);
    assert_eq!(server.revisions("orders"), vec![2, 1]);
    // JSON Schema's integer is any number without a fraction: 1.0 is revision 1
    // (schemathesis sent `{"revision": 4239.0}`, which was answered 400); 1.5 is not.
    let planned = rollback(admin, json!({"revision": 1.0, "dry_run": true}));
    planned.expect_push(200, "planned");
    let message = rollback(admin, json!({"revision": 1.5})).expect_error(400, "invalid_request");
    assert_mentions(&message, "whole number");
    // Push tokens cannot roll back; an unknown revision is 404.
    rollback(&pusher, json!({"revision": 1})).expect_error(403, "forbidden");
    rollback(admin, json!({"revision": 9})).expect_error(404, "not_found");
    rollback(admin, json!({"revison": 1})).expect_error(400, "invalid_request");

    let applied = rollback(admin, json!({"revision": 1})).expect_push(200, "applied");
    assert_eq!(applied["revision"], 3);
    assert!(!get_order_description(&server).contains("(v2)"));
    let action = server.action("get_order");
    assert_eq!(action["id"], id);
    assert_eq!(action["hand"]["segments"], json!(["vip"]));
    assert_eq!(action["hand"]["channels"], json!(["widget", "sms"]));

    // Every revision says what applied it and, over the API, which token.
    let listed = server
        .get(admin, "/v1/sources/orders/revisions")
        .expect_json(200);
    let who: Vec<(String, String)> = listed["revisions"]
        .as_array()
        .expect("revisions")
        .iter()
        .map(|r| {
            (
                r["applied_by"].as_str().unwrap_or_default().to_string(),
                r["actor"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        who,
        [
            ("user".to_string(), "token:admin".to_string()),
            ("push".to_string(), "token:ci-orders".to_string()),
            ("push".to_string(), "token:ci-orders".to_string()),
        ]
    );
    let history = util::actionsync([
        "history",
        "--source",
        "orders",
        "--database",
        &server.backend.url,
    ])
    .current_dir(server.backend.dir.path())
    .run();
    history
        .assert_success()
        .assert_stdout_contains("by user (token:admin)")
        .assert_stdout_contains("by push (token:ci-orders)");
}
on_each_backend!(rollback_restores_the_spec_and_keeps_hand_edits);

/// `actionsync push` against the real server: what CI sees, exit code by exit code.
fn push_command_exit_codes(backend: Backend) {
    let server = Server::start(backend, None);
    let dir = server.backend.dir.path().to_path_buf();
    let token = server.token(&["--source", "orders"]);
    std::fs::write(dir.join("orders.yaml"), orders()).expect("write the spec");
    std::fs::write(dir.join("orders-v2.yaml"), orders_marked("v2")).expect("write the spec");
    std::fs::copy(
        util::crate_root().join("tests/fixtures/server-missing.yaml"),
        dir.join("no-server.yaml"),
    )
    .expect("copy the spec");
    let push = |args: &[&str]| {
        util::actionsync(["push", "--server", &server.base, "--source", "orders"])
            .args(args)
            .env("ACTIONSYNC_TOKEN", &token.secret)
            .env("ACTIONSYNC_PUSH_RETRY_DELAY", "10ms")
            .current_dir(&dir)
            .run()
    };

    // First deploy: applied, exit 0, the plan and a summary printed.
    push(&["orders.yaml"])
        .assert_exit(0)
        .assert_stdout_contains("+ get_order")
        .assert_stdout_contains("orders: applied revision 1");
    // The same spec again: nothing to do, exit 0.
    push(&["orders.yaml"])
        .assert_exit(0)
        .assert_stdout_contains("unchanged");
    // A pull request: a dry run that would change something exits 2 and prints
    // the Markdown plan; nothing is applied.
    let planned = push(&["--dry-run", "--output", "markdown", "orders-v2.yaml"]);
    planned
        .assert_exit(2)
        .assert_stdout_contains("### actionsync plan for `orders`")
        .assert_stdout_contains("get_order");
    assert_eq!(server.revisions("orders"), vec![1]);
    // The deploy: applied, the JSON answer is the server's.
    let applied = push(&["--output", "json", "orders-v2.yaml"]);
    applied.assert_exit(0);
    let answer: Value = serde_json::from_str(applied.stdout()).expect("JSON output");
    assert_eq!(answer["outcome"], "applied");
    assert_eq!(answer["revision"], 2);
    assert!(get_order_description(&server).contains("(v2)"));
    // A spec lint refuses: exit 1, the reason on stderr, nothing applied.
    push(&["no-server.yaml"])
        .assert_exit(1)
        .assert_stderr_contains("refused");
    assert_eq!(server.revisions("orders"), vec![2, 1]);
    // A token for another source: exit 1 at once (a 4xx is never retried).
    let other = util::actionsync([
        "push",
        "--server",
        &server.base,
        "--source",
        "billing",
        "orders.yaml",
    ])
    .env("ACTIONSYNC_TOKEN", &token.secret)
    .env("ACTIONSYNC_PUSH_RETRY_DELAY", "10ms")
    .current_dir(&dir)
    .run();
    other.assert_exit(1).assert_stderr_contains("403");
    other.check(
        !other.stderr().contains("retrying"),
        "a 403 must not be retried",
    );
    other.check(
        !other.stderr().contains(&token.secret) && !other.stdout().contains(&token.secret),
        "the token was printed",
    );
}
on_each_backend!(push_command_exit_codes);

#[test]
fn a_wrong_method_is_answered_in_json() {
    let server = Server::start(Backend::sqlite(), None);
    for (method, path) in [
        (Method::POST, "/v1/actions"),
        (Method::DELETE, "/v1/tools"),
        (Method::GET, "/v1/sources/orders/spec"),
    ] {
        let reply = server.send(method, path, Some(&server.admin), &[], None);
        if reply.header("allow").is_none() {
            reply.fail("expected 405 with Allow");
        }
        let body = reply.expect_json(405);
        if !body["error"].is_string() || !body["message"].is_string() {
            reply.fail("expected {\"error\": …, \"message\": …}");
        }
    }
}

/// A push streamed without `Content-Length` (chunked) and over the size limit is
/// answered 413 once the server has read past the limit; the server then drops
/// the connection without reading the rest and without `Connection: close`. A
/// keep-alive client that got the 413 sends its next request down a dead
/// connection ("error sending request"); one still sending may get a broken
/// connection instead of the 413 (reqwest's blocking client, under load: "request
/// or response body error", `SendError { kind: Disconnected }`). Expected: the
/// 413 says `Connection: close`, or the connection stays usable.
#[test]
fn a_streamed_push_over_the_limit_is_answered_cleanly() {
    let server = Server::start(Backend::sqlite(), Some("defaults: {max_size: 2048}\n"));
    let address = server.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).expect("connect");
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let spec = orders();
    let mut request = format!(
        "PUT /v1/sources/big/spec HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\nTransfer-Encoding: chunked\r\n\r\n",
        server.admin.secret
    )
    .into_bytes();
    for chunk in spec.as_bytes().chunks(1000) {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    stream
        .write_all(&request)
        .expect("send the whole chunked push");
    let first = read_response(&mut stream).expect("an answer to the push");
    assert!(first.starts_with("HTTP/1.1 413"), "{first}");
    let announced_close = first
        .split("\r\n\r\n")
        .next()
        .unwrap_or("")
        .lines()
        .any(|l| l.eq_ignore_ascii_case("connection: close"));
    if announced_close {
        return;
    }
    let next = format!(
        "GET /v1/sources HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\r\n",
        server.admin.secret
    );
    let second = stream
        .write_all(next.as_bytes())
        .ok()
        .and_then(|()| read_response(&mut stream));
    assert!(
        second
            .as_deref()
            .is_some_and(|r| r.starts_with("HTTP/1.1 200")),
        "the 413 did not say `Connection: close`, yet the next request on the connection got {second:?}\n413 answer: {first}"
    );
}

/// One HTTP/1.1 response with a `Content-Length`, read from `stream`; `None` when
/// the connection ends (or fails) before a whole one arrives.
fn read_response(stream: &mut TcpStream) -> Option<String> {
    let mut bytes = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&bytes).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text[..end]
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .unwrap_or(0);
            if bytes.len() >= end + 4 + length {
                return Some(text);
            }
        }
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return None,
            Ok(n) => bytes.extend_from_slice(&buffer[..n]),
        }
    }
}
