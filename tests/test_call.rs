//! `actionsync test` and `POST /v1/actions/{id}/test` against real local servers:
//! HTTPS with a certificate authority made here (rcgen), and plain HTTP with
//! `--allow-http`. Each server records every request it gets and answers from a
//! script; the catalogue is filled with `actionsync reconcile` first.
//!
//! No test asserts on time: the slow server sleeps longer than the short
//! `--timeout` a test gives, and is bounded so it stops by itself.

mod util;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use util::{Run, TestCommand};

/// Values no output or log may show.
const SECRET_ENV: &str = "Bearer tok-SECRET-4711";
const SECRET_FILE: &str = "key-SECRET-0815";

// ---------------------------------------------------------------------------
// Certificates
// ---------------------------------------------------------------------------

/// A certificate authority and a server certificate it signed for localhost,
/// 127.0.0.1 and 127.0.0.2.
struct Tls {
    ca_pem: String,
    server: Arc<rustls::ServerConfig>,
}

fn tls() -> Tls {
    let ca_key = rcgen::KeyPair::generate().expect("a CA key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "actionsync test CA");
    ca_params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let ca_cert = ca_params.self_signed(&ca_key).expect("the CA certificate");
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().expect("a server key");
    let params = rcgen::CertificateParams::new(vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "127.0.0.2".to_string(),
    ])
    .expect("server params");
    let cert = params
        .signed_by(&key, &issuer)
        .expect("the server certificate");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .expect("a TLS server config");
    Tls {
        ca_pem: ca_cert.pem(),
        server: Arc::new(server),
    }
}

// ---------------------------------------------------------------------------
// Scripted servers
// ---------------------------------------------------------------------------

/// One request as a server read it.
#[derive(Debug, Clone)]
struct Request {
    method: String,
    target: String,
    /// Names in lowercase, in order.
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

    /// The request as JSON, for an echo answer.
    fn echo(&self) -> Value {
        let headers: serde_json::Map<String, Value> = self
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        json!({
            "method": self.method,
            "target": self.target,
            "headers": headers,
            "body": String::from_utf8_lossy(&self.body),
        })
    }
}

/// What a server answers.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
    /// Wait this long before answering (a slow API).
    delay: Duration,
}

impl Reply {
    fn json(status: u16, body: &Value) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }

    fn redirect(location: &str) -> Reply {
        Reply {
            status: 302,
            headers: vec![("Location".into(), location.to_string())],
            body: String::new(),
            delay: Duration::ZERO,
        }
    }
}

type Script = Arc<dyn Fn(&Request) -> Reply + Send + Sync>;

/// A server on `ip`, HTTPS when `tls` is given, answering each request with
/// `script` and recording it. It serves a bounded number of connections.
struct Server {
    base: String,
    port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl Server {
    fn start(ip: &str, tls: Option<Arc<rustls::ServerConfig>>, script: Script) -> Server {
        let listener = TcpListener::bind((ip, 0)).expect("bind a test server");
        let port = listener.local_addr().expect("its address").port();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().take(40) {
                let Ok(stream) = stream else { continue };
                let (tls, script, recorded) = (tls.clone(), script.clone(), recorded.clone());
                std::thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
                    match tls {
                        Some(config) => {
                            let Ok(connection) = rustls::ServerConnection::new(config) else {
                                return;
                            };
                            let mut stream = rustls::StreamOwned::new(connection, stream);
                            exchange(&mut stream, &script, &recorded);
                            stream.conn.send_close_notify();
                            let _ = stream.flush();
                        }
                        None => {
                            let mut stream = stream;
                            exchange(&mut stream, &script, &recorded);
                        }
                    }
                });
            }
        });
        Server {
            base: format!("{scheme}://{ip}:{port}"),
            port,
            requests,
        }
    }

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

fn exchange<S: Read + Write>(stream: &mut S, script: &Script, recorded: &Mutex<Vec<Request>>) {
    let Some(request) = read_request(stream) else {
        return;
    };
    recorded.lock().unwrap().push(request.clone());
    let reply = script(&request);
    if !reply.delay.is_zero() {
        std::thread::sleep(reply.delay);
    }
    let mut head = format!("HTTP/1.1 {} Scripted\r\n", reply.status);
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        reply.body.len()
    ));
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(reply.body.as_bytes());
    let _ = stream.flush();
}

fn read_request<S: Read>(stream: &mut S) -> Option<Request> {
    let mut reader = BufReader::new(stream);
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
    let find = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim(), 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        let length: usize = find("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        body = vec![0; length];
        reader.read_exact(&mut body).ok()?;
    }
    Some(Request {
        method,
        target,
        headers,
        body,
    })
}

// ---------------------------------------------------------------------------
// Catalogue
// ---------------------------------------------------------------------------

/// The orders spec with its server at `base`: `POST /orders/{orderId}/notes` (a
/// path, a query and a header parameter, a JSON body) whose 200 answer is an
/// object with a string `id` and an integer `total`; and `POST /uploads`
/// (multipart).
fn spec(base: &str) -> String {
    format!(
        r#"openapi: 3.0.3
info: {{title: Orders, version: "1"}}
servers: [{{url: "{base}/v1"}}]
paths:
  /orders/{{orderId}}/notes:
    post:
      operationId: addOrderNote
      summary: Add a note to an order the customer asked about
      parameters:
        - {{name: orderId, in: path, required: true, schema: {{type: string}}}}
        - {{name: mode, in: query, required: true, schema: {{type: string, enum: [append, replace]}}}}
        - {{name: tags, in: query, schema: {{type: array, items: {{type: string}}}}}}
        - {{name: X-Request-Id, in: header, required: true, schema: {{type: string, example: req-1}}}}
        - {{name: X-Trace, in: header, schema: {{type: string}}}}
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [text]
              properties:
                text: {{type: string}}
                urgent: {{type: boolean}}
      responses:
        '200':
          description: The order.
          content:
            application/json:
              schema:
                type: object
                required: [id, total]
                properties:
                  id: {{type: string}}
                  total: {{type: integer}}
  /uploads:
    post:
      operationId: uploadAttachment
      summary: Upload an attachment to the customer's ticket
      requestBody:
        required: true
        content:
          multipart/form-data:
            schema:
              type: object
              properties:
                title: {{type: string}}
                count: {{type: integer}}
      responses:
        '201': {{description: Stored.}}
"#
    )
}

/// A folder with `actionsync.yaml` (plain http allowed for the specs, the two
/// global variables) and a catalogue holding the orders spec for `base`.
struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new(base: &str, tls: Option<&Tls>, test_section: &str) -> Workspace {
        let dir = util::tempdir();
        let config = format!(
            "database: sqlite://catalogue.db\ndefaults:\n  allow_http: true\ntest:\n  global_variables:\n    Authorization: {{env: ACME_AUTHORIZATION}}\n    X-Api-Key: {{file: api-key.txt}}\n{test_section}"
        );
        std::fs::write(dir.path().join("actionsync.yaml"), config).unwrap();
        std::fs::write(dir.path().join("api-key.txt"), format!("{SECRET_FILE}\n")).unwrap();
        std::fs::write(dir.path().join("orders.yaml"), spec(base)).unwrap();
        if let Some(tls) = tls {
            std::fs::write(dir.path().join("ca.pem"), &tls.ca_pem).unwrap();
        }
        let workspace = Workspace { dir };
        workspace
            .actionsync(["reconcile", "orders.yaml"])
            .run()
            .assert_success();
        workspace
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn actionsync<I, S>(&self, args: I) -> TestCommand
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = util::actionsync(args);
        cmd.current_dir(self.path())
            .args([
                "--config",
                "actionsync.yaml",
                "--database",
                "sqlite://catalogue.db",
            ])
            .env("ACME_AUTHORIZATION", SECRET_ENV);
        cmd
    }

    /// `actionsync test ACTION ARGS… --output json`.
    fn test(&self, action: &str, args: &[&str]) -> Run {
        let mut cmd = self.actionsync(["test", action, "--output", "json"]);
        cmd.args(args);
        cmd.run()
    }
}

fn assert_no_secret(run: &Run) {
    for secret in [SECRET_ENV, SECRET_FILE, "tok-SECRET", "key-SECRET"] {
        run.check(
            !run.stdout().contains(secret) && !run.stderr().contains(secret),
            format!("a global variable's value ({secret}) was printed"),
        );
    }
}

/// Answers 200 with the request it got, in a body that matches the spec's
/// declared 200 schema.
fn echo() -> Script {
    Arc::new(|request: &Request| {
        Reply::json(
            200,
            &json!({"id": "echo", "total": 0, "request": request.echo()}),
        )
    })
}

fn header<'r>(report: &'r Value, name: &str) -> Option<&'r str> {
    report["request"]["headers"]
        .as_array()?
        .iter()
        .find(|h| {
            h["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
        .and_then(|h| h["value"].as_str())
}

// ---------------------------------------------------------------------------
// The CLI
// ---------------------------------------------------------------------------

/// Over HTTPS (a CA given with --ca-cert): the path parameter percent-encoded into
/// the template, the query, the header parameter, a pinned static header, both
/// global variables, the four context headers, User-Agent: OpenCX and the JSON
/// body all arrive; the server's echo of the secrets is redacted.
#[test]
fn every_header_parameter_and_the_body_arrive_over_https() {
    let tls = tls();
    let server = Server::start("127.0.0.1", Some(tls.server.clone()), echo());
    let ws = Workspace::new(&server.base, Some(&tls), "");
    ws.actionsync([
        "actions",
        "set",
        "add_order_note",
        "--pin",
        r#"headers=[{"name": "X-Tenant", "value": "acme"}, {"name": "Content-Type", "value": "application/json"}]"#,
    ])
    .run()
    .assert_success();

    let run = ws.test(
        "add_order_note",
        &[
            "--ca-cert",
            "ca.pem",
            "--arg",
            "orderId=A 1/2",
            "--arg",
            "mode=replace",
            "--arg",
            r#"tags=["vip","eu"]"#,
            "--arg",
            "X-Trace=t-9",
            "--body",
            r#"{"text": "call back", "urgent": true}"#,
        ],
    );
    run.assert_success();
    assert_no_secret(&run);
    let request = server.only_request(&run);
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.target,
        "/v1/orders/A%201%2F2/notes?mode=replace&tags=vip&tags=eu"
    );
    let expect = [
        ("user-agent", "OpenCX"),
        ("x-tenant", "acme"),
        ("content-type", "application/json"),
        ("x-request-id", "req-1"),
        ("x-trace", "t-9"),
        ("authorization", SECRET_ENV),
        ("x-api-key", SECRET_FILE),
        ("x-opencx-org-id", "actionsync-test-org"),
        ("x-opencx-session-id", "actionsync-test-session"),
        ("x-opencx-ticket-number", "0"),
        ("x-opencx-external-user-id", "actionsync-test-user"),
    ];
    for (name, value) in expect {
        run.check(
            request.header(name) == Some(value),
            format!(
                "header {name}: expected {value:?}, got {:?}",
                request.header(name)
            ),
        );
    }
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body, json!({"text": "call back", "urgent": true}));

    let report = run.stdout_json();
    assert_eq!(report["outcome"], "answered");
    assert_eq!(report["response"]["status"], 200);
    assert_eq!(report["verdict"]["works"], true);
    assert_eq!(header(&report, "Authorization"), Some("***"));
    assert_eq!(header(&report, "X-Api-Key"), Some("***"));
    assert!(
        report["response"]["body"]
            .as_str()
            .unwrap()
            .contains("\"authorization\": \"***\""),
        "the echoed secret is redacted, pretty-printed: {report:#}"
    );
    assert!(
        report["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("x_request_id")),
        "X-Request-Id came from the spec's example, and the report says so: {report:#}"
    );
    assert_eq!(report["schema"]["matches"], true, "{report:#}");
}

/// The text output shows the request, the answer and the verdict, and no secret;
/// a body that matches the declared schema says so; --no-context-headers leaves
/// the x-opencx-* headers out.
#[test]
fn text_output_and_a_matching_body() {
    let tls = tls();
    let server = Server::start(
        "127.0.0.1",
        Some(tls.server.clone()),
        Arc::new(|_: &Request| Reply::json(200, &json!({"id": "A1", "total": 1200}))),
    );
    let ws = Workspace::new(&server.base, Some(&tls), "");
    let run = ws
        .actionsync([
            "test",
            "add_order_note",
            "--ca-cert",
            "ca.pem",
            "--no-context-headers",
        ])
        .args(["--arg", "orderId=A1", "--body", r#"{"text": "hi"}"#])
        .run();
    run.assert_success();
    assert_no_secret(&run);
    run.assert_stdout_contains("POST https://127.0.0.1:")
        .assert_stdout_contains("Authorization: ***")
        .assert_stdout_contains("the HTTP contract works")
        .assert_stdout_contains("the body matches the spec's 200 application/json response");
    let request = server.only_request(&run);
    assert!(
        !request
            .headers
            .iter()
            .any(|(n, _)| n.starts_with("x-opencx")),
        "{request:?}"
    );
    assert_eq!(
        request.target, "/v1/orders/A1/notes?mode=append",
        "the first enum value"
    );
}

/// HTTPS to a server whose certificate authority is not trusted (no --ca-cert)
/// fails as a network error, and the report says it was the certificate.
#[test]
fn an_untrusted_certificate_is_a_network_error() {
    let tls = tls();
    let server = Server::start("127.0.0.1", Some(tls.server.clone()), echo());
    let ws = Workspace::new(&server.base, Some(&tls), "");
    let run = ws.test(
        "add_order_note",
        &["--arg", "orderId=1", "--body", r#"{"text": "x"}"#],
    );
    run.assert_exit(1);
    let report = run.stdout_json();
    assert_eq!(report["outcome"], "network_error", "{report:#}");
    assert_eq!(report["ai_receives"]["body"], "Something went wrong");
    let error = report["error"].as_str().unwrap().to_ascii_lowercase();
    assert!(error.contains("certificate"), "{error}");
    assert!(
        server.requests().is_empty(),
        "no request got through the handshake"
    );
}

/// The platform notes' trap: middleware that refuses the x-opencx-* headers. The
/// 4xx report suggests testing without them, and without them the call works.
#[test]
fn a_4xx_suggests_testing_without_the_context_headers() {
    let server = Server::start(
        "127.0.0.1",
        None,
        Arc::new(|request: &Request| {
            if request.header("x-opencx-org-id").is_some() {
                Reply::json(403, &json!({"error": "unknown header x-opencx-org-id"}))
            } else {
                Reply::json(200, &json!({"id": "A1", "total": 1}))
            }
        }),
    );
    let ws = Workspace::new(&server.base, None, "");
    let args = [
        "--allow-http",
        "--arg",
        "orderId=1",
        "--body",
        r#"{"text": "x"}"#,
    ];
    let run = ws.test("add_order_note", &args);
    run.assert_exit(1);
    let report = run.stdout_json();
    assert_eq!(report["ai_receives"]["status"], 403);
    assert!(
        report["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("--no-context-headers")),
        "{report:#}"
    );
    let mut without = args.to_vec();
    without.push("--no-context-headers");
    ws.test("add_order_note", &without).assert_success();
}

/// A 2xx whose body does not match the spec: exit 3, each mismatch by pointer.
#[test]
fn a_body_that_does_not_match_the_spec_exits_3_with_pointers() {
    let server = Server::start(
        "127.0.0.1",
        None,
        Arc::new(|_: &Request| Reply::json(200, &json!({"id": 7, "total": "lots"}))),
    );
    let ws = Workspace::new(&server.base, None, "");
    let run = ws.test(
        "add_order_note",
        &[
            "--allow-http",
            "--arg",
            "orderId=1",
            "--body",
            r#"{"text": "x"}"#,
        ],
    );
    run.assert_exit(3);
    let report = run.stdout_json();
    let pointers: Vec<&str> = report["schema"]["mismatches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["pointer"].as_str().unwrap())
        .collect();
    assert!(
        pointers.contains(&"/id") && pointers.contains(&"/total"),
        "{report:#}"
    );
    assert_eq!(report["schema"]["declared"], "200 application/json");
}

/// Plain http:// is refused without --allow-http, before any request.
#[test]
fn plain_http_needs_allow_http() {
    let server = Server::start("127.0.0.1", None, echo());
    let ws = Workspace::new(&server.base, None, "");
    let args = ["--arg", "orderId=1", "--body", r#"{"text": "x"}"#];
    let refused = ws.test("add_order_note", &args);
    refused.assert_exit(1);
    let report = refused.stdout_json();
    assert_eq!(report["outcome"], "refused");
    assert!(report["error"].as_str().unwrap().contains("--allow-http"));
    assert!(server.requests().is_empty(), "nothing was sent");

    let mut allowed = args.to_vec();
    allowed.push("--allow-http");
    ws.test("add_order_note", &allowed).assert_success();
    assert_eq!(server.requests().len(), 1);
}

/// A 500 is reported with its body verbatim, and the server gets exactly one
/// request: no retry.
#[test]
fn a_500_is_shown_verbatim_and_never_retried() {
    let server = Server::start(
        "127.0.0.1",
        None,
        Arc::new(|_: &Request| Reply {
            status: 500,
            headers: vec![("Content-Type".into(), "text/plain".into())],
            body: "boom: database down".into(),
            delay: Duration::ZERO,
        }),
    );
    let ws = Workspace::new(&server.base, None, "");
    let run = ws.test(
        "add_order_note",
        &[
            "--allow-http",
            "--arg",
            "orderId=1",
            "--body",
            r#"{"text": "x"}"#,
        ],
    );
    run.assert_exit(1);
    server.only_request(&run);
    let report = run.stdout_json();
    assert_eq!(report["response"]["status"], 500);
    assert_eq!(
        report["ai_receives"],
        json!({"status": 500, "body": "boom: database down"})
    );
    assert_eq!(report["verdict"]["works"], false);
}

/// A server slower than --timeout: cut, reported as the platform's 408 with the
/// timeout in milliseconds; one request.
#[test]
fn a_slow_server_is_cut_at_the_timeout_and_reported_as_408() {
    let server = Server::start(
        "127.0.0.1",
        None,
        Arc::new(|_: &Request| Reply {
            delay: Duration::from_secs(10),
            ..Reply::json(200, &json!({}))
        }),
    );
    let ws = Workspace::new(&server.base, None, "");
    let run = ws.test(
        "add_order_note",
        &[
            "--allow-http",
            "--timeout",
            "0.5",
            "--arg",
            "orderId=1",
            "--body",
            r#"{"text": "x"}"#,
        ],
    );
    run.assert_exit(1);
    let report = run.stdout_json();
    assert_eq!(report["outcome"], "timeout");
    assert_eq!(
        report["ai_receives"],
        json!({"status": 408, "body": "Request timed out after 500ms"})
    );
    assert_eq!(server.requests().len(), 1, "no retry");
    ws.test("add_order_note", &["--timeout", "61", "--dry-run"])
        .assert_exit(1)
        .assert_stderr_contains("at most 60");
}

/// Required arguments without a value or an example are listed, and nothing is
/// sent; --dry-run builds the request and sends nothing.
#[test]
fn missing_arguments_are_listed_and_a_dry_run_sends_nothing() {
    let server = Server::start("127.0.0.1", None, echo());
    let ws = Workspace::new(&server.base, None, "");
    let run = ws.test("add_order_note", &["--allow-http"]);
    run.assert_exit(1)
        .assert_stderr_contains("order_id (path)")
        .assert_stderr_contains("body.text");
    let dry = ws.test(
        "add_order_note",
        &[
            "--dry-run",
            "--arg",
            "orderId=9",
            "--body",
            r#"{"text": "x"}"#,
        ],
    );
    dry.assert_success();
    assert_no_secret(&dry);
    let report = dry.stdout_json();
    assert_eq!(report["outcome"], "dry_run");
    assert!(
        report["request"]["url"]
            .as_str()
            .unwrap()
            .ends_with("/v1/orders/9/notes?mode=append")
    );
    ws.test("add_order_note", &["--arg", "nope=1", "--dry-run"])
        .assert_exit(1)
        .assert_stderr_contains("no argument `nope`");
    assert!(server.requests().is_empty());
}

/// Magic fields take the --context value (over an --arg, as the platform fills
/// them), else a placeholder the report names.
#[test]
fn magic_fields_come_from_context_or_a_placeholder() {
    let server = Server::start("127.0.0.1", None, echo());
    let ws = Workspace::new(&server.base, None, "");
    ws.actionsync([
        "actions",
        "set",
        "add_order_note",
        "--magic",
        "orderId=contact.order_id",
        "--magic",
        "x-trace=conversation.id",
    ])
    .run()
    .assert_success();
    let run = ws.test(
        "add_order_note",
        &[
            "--allow-http",
            "--context",
            "contact.order_id=77",
            "--arg",
            "orderId=5",
            "--body",
            r#"{"text": "x"}"#,
        ],
    );
    run.assert_success();
    let request = server.only_request(&run);
    assert_eq!(request.target, "/v1/orders/77/notes?mode=append");
    assert_eq!(request.header("x-trace"), Some("<conversation.id>"));
    let report = run.stdout_json();
    assert!(
        report["notes"].as_array().unwrap().iter().any(|n| n
            .as_str()
            .unwrap()
            .contains("placeholder `<conversation.id>`")),
        "{report:#}"
    );
    let notes = report["notes"].to_string();
    assert!(
        notes.contains("`order_id` is filled by a magic field"),
        "the --arg the magic field overrode is noted: {notes}"
    );
}

/// A multipart/form-data body arrives as form fields.
#[test]
fn a_multipart_body_arrives_as_form_fields() {
    let server = Server::start(
        "127.0.0.1",
        None,
        Arc::new(|_: &Request| Reply::json(201, &json!({}))),
    );
    let ws = Workspace::new(&server.base, None, "");
    let run = ws.test(
        "upload_attachment",
        &[
            "--allow-http",
            "--body",
            r#"{"title": "receipt", "count": 2}"#,
        ],
    );
    run.assert_success();
    let request = server.only_request(&run);
    let content_type = request.header("content-type").unwrap_or("");
    assert!(
        content_type.starts_with("multipart/form-data; boundary="),
        "{content_type}"
    );
    let body = String::from_utf8_lossy(&request.body);
    assert!(body.contains("name=\"title\"\r\n\r\nreceipt\r\n"), "{body}");
    assert!(body.contains("name=\"count\"\r\n\r\n2\r\n"), "{body}");
}

/// Redirects are followed, at most 5: a sixth is refused.
#[test]
fn at_most_five_redirects_are_followed() {
    let server = Server::start(
        "127.0.0.1",
        None,
        Arc::new(|request: &Request| {
            let n: u32 = request
                .target
                .rsplit('/')
                .next()
                .and_then(|s| s.split('?').next())
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            Reply::redirect(&format!("/hop/{}", n + 1))
        }),
    );
    let ws = Workspace::new(&server.base, None, "");
    let run = ws.test(
        "add_order_note",
        &[
            "--allow-http",
            "--arg",
            "orderId=1",
            "--body",
            r#"{"text": "x"}"#,
        ],
    );
    run.assert_exit(1);
    let report = run.stdout_json();
    assert_eq!(report["redirects"].as_array().unwrap().len(), 5);
    assert!(
        report["error"]
            .as_str()
            .unwrap()
            .contains("more than 5 redirects")
    );
    assert_eq!(
        server.requests().len(),
        6,
        "the first request and 5 redirects"
    );
    assert_eq!(report["ai_receives"]["body"], "Something went wrong");
}

/// A network error is what the AI would receive: "Something went wrong".
#[test]
fn a_connection_refused_is_something_went_wrong() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let ws = Workspace::new(&format!("http://127.0.0.1:{port}"), None, "");
    let run = ws.test(
        "add_order_note",
        &[
            "--allow-http",
            "--arg",
            "orderId=1",
            "--body",
            r#"{"text": "x"}"#,
        ],
    );
    run.assert_exit(1);
    let report = run.stdout_json();
    assert_eq!(report["outcome"], "network_error");
    assert_eq!(
        report["ai_receives"],
        json!({"body": "Something went wrong"})
    );
}

// ---------------------------------------------------------------------------
// The API
// ---------------------------------------------------------------------------

/// `actionsync serve` in a workspace, with an admin token; killed when dropped.
struct Serve {
    child: Child,
    base: String,
    token: String,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- server log ---\n{}",
                self.logs.lock().unwrap().join("\n")
            );
        }
    }
}

impl Serve {
    fn start(ws: &Workspace) -> Serve {
        Serve::start_with(ws, &[])
    }

    /// [`Serve::start`] with these environment variables set.
    fn start_with(ws: &Workspace, env: &[(&str, &str)]) -> Serve {
        let created = ws
            .actionsync(["token", "create", "--admin", "--name", "curator"])
            .run();
        created.assert_success();
        let token = created
            .stdout()
            .lines()
            .last()
            .expect("the token")
            .trim()
            .to_string();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_actionsync"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
            .args([
                "--config",
                "actionsync.yaml",
                "--database",
                "sqlite://catalogue.db",
            ])
            .current_dir(ws.path())
            .env("ACME_AUTHORIZATION", SECRET_ENV)
            .env_remove("ACTIONSYNC_DATABASE_URL")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start actionsync serve");
        let logs = util::collect_lines(child.stderr.take().expect("stderr"));
        let mut serve = Serve {
            child,
            base: String::new(),
            token,
            logs,
        };
        let started = Instant::now();
        serve.base = loop {
            let address = serve
                .logs
                .lock()
                .unwrap()
                .iter()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .find(|e| e["message"] == "listening")
                .and_then(|e| e["address"].as_str().map(String::from));
            if let Some(address) = address {
                break format!("http://{address}");
            }
            if let Ok(Some(status)) = serve.child.try_wait() {
                panic!("actionsync serve exited ({status}) before listening");
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "serve did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        serve
    }

    /// `POST /v1/actions/{id}/test` with `body`: status, headers and JSON.
    fn test(&self, id: i64, body: &Value) -> (u16, reqwest::header::HeaderMap, Value) {
        actionsync::tls::install_provider();
        let client = reqwest::blocking::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let response = client
            .post(format!("{}/v1/actions/{id}/test", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .expect("the server answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().unwrap_or_default();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, headers, value)
    }

    fn log(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }
}

fn action_id(ws: &Workspace, name: &str) -> i64 {
    let run = ws
        .actionsync(["actions", "show", name, "--output", "json"])
        .run();
    run.assert_success();
    run.stdout_json()["action"]["id"].as_i64().expect("an id")
}

/// Server side: the action's own host (127.0.0.2, listed in test.allow_networks,
/// HTTPS with the config's CA) is called; a redirect from it to 127.0.0.1 or to
/// localhost (loopback after DNS) is refused, and nothing reaches that server.
/// Secrets appear neither in the answers nor in the server's log.
#[test]
fn the_server_side_test_refuses_a_redirect_into_loopback() {
    let tls = tls();
    let inside = Server::start("127.0.0.1", Some(tls.server.clone()), echo());
    let inside_port = inside.port;
    let target = Server::start(
        "127.0.0.2",
        Some(tls.server.clone()),
        Arc::new(move |request: &Request| {
            if request.target.contains("/orders/to-ip/") {
                Reply::redirect(&format!("https://127.0.0.1:{inside_port}/admin"))
            } else if request.target.contains("/orders/to-name/") {
                Reply::redirect(&format!("https://localhost:{inside_port}/admin"))
            } else {
                Reply::json(200, &json!({"id": "A1", "total": 1}))
            }
        }),
    );
    let ws = Workspace::new(
        &target.base,
        Some(&tls),
        "  ca_cert: ca.pem\n  allow_networks: [127.0.0.2/32]\n  rate_limit: 5\n",
    );
    let id = action_id(&ws, "add_order_note");
    let serve = Serve::start(&ws);

    let (status, _, report) = serve.test(
        id,
        &json!({"args": {"orderId": "A1"}, "body": {"text": "x"}}),
    );
    assert_eq!(status, 200, "{report:#}");
    assert_eq!(report["outcome"], "answered", "{report:#}");
    assert_eq!(report["verdict"]["works"], true);
    assert_eq!(report["schema"]["matches"], true, "{report:#}");

    for (path, host) in [("to-ip", "127.0.0.1"), ("to-name", "localhost")] {
        let (status, _, report) = serve.test(
            id,
            &json!({"args": {"orderId": path}, "body": {"text": "x"}}),
        );
        assert_eq!(status, 200, "{report:#}");
        assert_eq!(report["outcome"], "refused", "{report:#}");
        let error = report["error"].as_str().unwrap();
        assert!(
            error.contains(host) && error.contains("loopback"),
            "{error}"
        );
        assert_eq!(report["redirects"].as_array().unwrap().len(), 1);
        assert_eq!(report["ai_receives"]["body"], "Something went wrong");
    }
    assert!(inside.requests().is_empty(), "nothing reached 127.0.0.1");
    assert_eq!(target.requests().len(), 3);
    let sent = &target.requests()[0];
    assert_eq!(sent.header("authorization"), Some(SECRET_ENV));
    assert_eq!(sent.header("x-opencx-org-id"), Some("actionsync-test-org"));

    // A missing required argument is a 422 that lists it.
    let (status, _, answer) = serve.test(id, &json!({"dry_run": true}));
    assert_eq!(status, 422, "{answer:#}");
    assert_eq!(answer["error"], "invalid_test");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("order_id (path)")
    );
    // rate_limit: 5, and 4 tests were started: the next one or two (should the
    // bucket refill meanwhile) pass, then the token must wait.
    let limited = (0..5)
        .map(|_| serve.test(id, &json!({"dry_run": true})))
        .find(|(status, _, _)| *status == 429);
    let (_, headers, answer) = limited.expect("a 429 within a few more tests");
    assert_eq!(answer["error"], "rate_limited");
    assert!(headers.contains_key("retry-after"));

    let log = serve.log();
    for secret in [SECRET_ENV, SECRET_FILE] {
        assert!(!log.contains(secret), "the server logged a secret");
    }
}

/// Server side, by default: a target on loopback is refused before any request;
/// the environment can allow it, or turn tests off.
#[test]
fn the_server_side_test_refuses_loopback_targets_by_default() {
    let server = Server::start("127.0.0.1", None, echo());
    let ws = Workspace::new(&server.base, None, "  allow_http: true\n");
    let id = action_id(&ws, "add_order_note");
    let serve = Serve::start(&ws);
    let (status, _, report) = serve.test(
        id,
        &json!({"args": {"orderId": "1"}, "body": {"text": "x"}}),
    );
    assert_eq!(status, 200, "{report:#}");
    assert_eq!(report["outcome"], "refused");
    assert!(report["error"].as_str().unwrap().contains("allow_networks"));
    assert!(server.requests().is_empty());
    assert!(!report.to_string().contains("SECRET"));
    drop(serve);

    // ACTIONSYNC_TEST_ALLOW_NETWORKS opens loopback; a rate limit of 0 turns
    // tests off.
    let serve = Serve::start_with(&ws, &[("ACTIONSYNC_TEST_ALLOW_NETWORKS", "127.0.0.0/8")]);
    let (_, _, report) = serve.test(
        id,
        &json!({"args": {"orderId": "1"}, "body": {"text": "x"}}),
    );
    assert_eq!(report["outcome"], "answered", "{report:#}");
    assert_eq!(server.requests().len(), 1);
    drop(serve);
    let serve = Serve::start_with(&ws, &[("ACTIONSYNC_TEST_RATE_LIMIT", "0")]);
    let (status, _, answer) = serve.test(id, &json!({"dry_run": true}));
    assert_eq!(status, 403, "{answer:#}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("test.rate_limit is 0")
    );
}
