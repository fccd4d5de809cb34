//! The web console in a real headless Chromium, driven over WebDriver
//! (`chromedriver`) with `fantoccini`: the real `actionsync serve` binary on a
//! temporary SQLite catalogue, specs pushed over the API, and each step checked
//! both on the page and through the API.
//!
//! Without `/usr/bin/chromedriver` (or `CHROMEDRIVER`) the tests print
//! `SKIPPED: …` and pass; CI installs Chromium (`.ci/run`), so they run there.
//! With `ACTIONSYNC_SCREENSHOTS=1` the test also writes the README's screenshots
//! to `docs/screenshots/`.

mod util;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// How long anything may take before the test gives up.
const WAIT: Duration = Duration::from_secs(30);

/// The chromedriver to use, if there is one.
fn chromedriver() -> Option<PathBuf> {
    let path = std::env::var_os("CHROMEDRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromedriver"));
    path.exists().then_some(path)
}

/// The Chromium binary.
fn chromium() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_string())
}

/// A child process killed when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free port on 127.0.0.1.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The API the actions call, and a page on another origin that posts a form
/// to the console (a cross-site request forgery attempt).
fn upstream(console: Arc<Mutex<String>>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the upstream");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let console = console.clone();
            std::thread::spawn(move || answer(stream, &console));
        }
    });
    port
}

fn answer(mut stream: TcpStream, console: &Mutex<String>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone the stream"));
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).is_err() || line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let path = request_line.split_whitespace().nth(1).unwrap_or("/");
    let (content_type, text) = if path.starts_with("/evil") {
        // A form on another origin, aimed at the console, without the CSRF token.
        let target = console.lock().expect("lock").clone();
        (
            "text/html",
            format!(
                "<!doctype html><title>Win a prize</title><form method=post action=\"{target}\">\
                 <input type=hidden name=version value=1><input type=hidden name=channel value=sms>\
                 <input type=hidden name=enabled value=1><button id=go>Claim</button></form>"
            ),
        )
    } else {
        (
            "application/json",
            json!({ "id": "42", "status": "shipped", "path": path }).to_string(),
        )
    };
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
}

/// The shop's spec: `version` changes one description, so two pushes make two
/// revisions; one description carries a script tag.
fn shop_spec(upstream: u16, version: u32) -> String {
    let ops = [
        (
            "get_order",
            "get",
            "/orders/{order_id}",
            "Look up one order by its id: status, items, totals and the shipping address.",
            true,
        ),
        (
            "list_orders",
            "get",
            "/orders",
            "List a customer's recent orders, newest first, with their status.",
            false,
        ),
        (
            "cancel_order",
            "post",
            "/orders/{order_id}/cancel",
            "Cancel an order that has not shipped yet; refunds the payment in full.",
            true,
        ),
        (
            "track_shipment",
            "get",
            "/orders/{order_id}/tracking",
            "Where an order's parcel is: carrier, tracking number and the latest scan.",
            true,
        ),
        (
            "update_address",
            "put",
            "/orders/{order_id}/address",
            "Change the delivery address of an order before it ships.",
            true,
        ),
        (
            "start_return",
            "post",
            "/returns",
            "Open a return for items of a delivered order and email the label. <script>window.__xss = 1</script>",
            false,
        ),
        (
            "get_product",
            "get",
            "/products/{product_id}",
            "A product's name, price, stock level and delivery estimate.",
            false,
        ),
        (
            "delete_wishlist_item",
            "delete",
            "/wishlist/{item_id}",
            "Remove one item from the customer's wishlist.",
            false,
        ),
    ];
    let mut paths = serde_json::Map::new();
    for (id, method, path, description, has_order) in ops {
        let description = if id == "list_orders" && version > 1 {
            "List a customer's orders, newest first, with status and totals (v2)."
        } else if id == "track_shipment" && version > 2 {
            "Track an order's parcel: carrier, tracking number, latest scan and ETA."
        } else {
            description
        };
        let mut parameters = Vec::new();
        if has_order {
            parameters.push(json!({"name": "order_id", "in": "path", "required": true, "description": "The order's id", "schema": {"type": "string"}, "example": "42"}));
        } else if path.contains("{product_id}") {
            parameters.push(json!({"name": "product_id", "in": "path", "required": true, "schema": {"type": "string"}, "example": "p1"}));
        } else if path.contains("{item_id}") {
            parameters.push(json!({"name": "item_id", "in": "path", "required": true, "schema": {"type": "string"}, "example": "i1"}));
        }
        // Version 3 drops the email parameter, which a magic field fills.
        if id == "list_orders" && version < 3 {
            parameters.push(json!({"name": "email", "in": "query", "required": true, "description": "The customer's email", "schema": {"type": "string"}}));
        }
        let mut op = json!({
            "operationId": id,
            "summary": description,
            "description": description,
            "parameters": parameters,
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}}
        });
        if id == "get_order" {
            op["x-open-tags"] = json!(["orders", "tier-1"]);
            op["x-open-pinned"] = json!(true);
        }
        if id == "cancel_order" {
            op["x-actionsync-segments"] = json!(["vip"]);
            op["x-actionsync-channels"] = json!(["widget", "email"]);
        }
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        entry[method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Shop", "version": format!("{version}.0.0")},
        "servers": [{"url": format!("http://127.0.0.1:{upstream}")}],
        "paths": paths
    })
    .to_string()
}

fn billing_spec(upstream: u16) -> String {
    billing_spec_with(upstream, false)
}

/// Billing's spec; `more` adds `list_invoices`.
fn billing_spec_with(upstream: u16, more: bool) -> String {
    let mut spec = json!({
        "openapi": "3.1.0",
        "info": {"title": "Billing", "version": "1.0.0"},
        "servers": [{"url": format!("http://127.0.0.1:{upstream}")}],
        "paths": {
            "/invoices/{invoice_id}": {"get": {
                "operationId": "get_invoice",
                "description": "Fetch one invoice with its lines, taxes and payment status.",
                "parameters": [{"name": "invoice_id", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "OK"}}
            }},
            "/refunds": {"post": {
                "operationId": "create_refund",
                "description": "Refund part or all of a payment to the customer's card.",
                "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {"amount": {"type": "number"}}}}}},
                "responses": {"200": {"description": "OK"}}
            }}
        }
    });
    if more {
        spec["paths"]["/invoices"] = json!({"get": {
            "operationId": "list_invoices",
            "description": "List a customer's invoices, newest first, with their totals.",
            "responses": {"200": {"description": "OK"}}
        }});
    }
    spec.to_string()
}

/// `actionsync token create SCOPE` against the test's catalogue; the token.
fn token(dir: &Path, scope: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_actionsync"))
        .args(["token", "create", scope, "--config", "actionsync.yaml"])
        .current_dir(dir)
        .output()
        .expect("run token create");
    assert!(
        out.status.success(),
        "token create {scope}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// The running server, its tokens and an HTTP client for the API.
struct Server {
    _process: Process,
    base: String,
    admin: String,
    tools: String,
    curator: String,
    http: reqwest::Client,
    logs: Arc<Mutex<Vec<String>>>,
    dir: tempfile::TempDir,
}

impl Drop for Server {
    /// A failing test shows the server's log.
    fn drop(&mut self) {
        if std::thread::panicking() {
            let logs = self.logs.lock().map(|l| l.join("\n")).unwrap_or_default();
            eprintln!("actionsync serve's log:\n{logs}");
        }
    }
}

impl Server {
    fn start() -> Server {
        let dir = tempfile::Builder::new()
            .prefix("actionsync-console-")
            .tempdir()
            .expect("a temporary folder");
        std::fs::write(
            dir.path().join("actionsync.yaml"),
            "database: sqlite://catalogue.db\ndefaults:\n  allow_http: true\nsources:\n  - name: shop\n    push: true\n  - name: billing\n    push: true\n  - name: docs\n    file: docs.json\ntest:\n  allow_http: true\n  allow_networks: [127.0.0.0/8]\n",
        )
        .expect("write the config");
        std::fs::write(
            dir.path().join("docs.json"),
            json!({
                "openapi": "3.1.0",
                "info": {"title": "Docs", "version": "1"},
                "servers": [{"url": "https://docs.example.com"}],
                "paths": {"/articles": {"get": {
                    "operationId": "search_articles",
                    "description": "Search the help centre's articles by keywords.",
                    "responses": {"200": {"description": "OK"}}
                }}}
            })
            .to_string(),
        )
        .expect("write docs.json");
        let admin = token(dir.path(), "--admin");
        let tools = token(dir.path(), "--tools");
        let curator = token(dir.path(), "--curator");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_actionsync"));
        cmd.args(["serve", "--config", "actionsync.yaml"])
            .args(["--listen", "127.0.0.1:0", "--log-format", "json"])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        util::clear_env(&mut cmd);
        let mut child = cmd.spawn().expect("start actionsync serve");
        let logs = util::collect_lines(child.stderr.take().expect("stderr is piped"));
        let process = Process(child);
        let started = Instant::now();
        let address = loop {
            let found = logs
                .lock()
                .expect("lock")
                .iter()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .find(|e| e["message"] == "listening")
                .and_then(|e| e["address"].as_str().map(str::to_string));
            if let Some(address) = found {
                break address;
            }
            assert!(started.elapsed() < WAIT, "serve did not start: {:?}", logs);
            std::thread::sleep(Duration::from_millis(20));
        };
        actionsync::tls::install_provider();
        Server {
            _process: process,
            base: format!("http://{address}"),
            admin,
            tools,
            curator,
            http: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(WAIT)
                .build()
                .expect("an HTTP client"),
            logs,
            dir,
        }
    }

    async fn api(&self, method: reqwest::Method, path: &str, body: Option<String>) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.admin);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .header("if-match", "*")
                .body(body);
        }
        let response = request.send().await.expect("the API answers");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// `GET path` with `token`; the answer's JSON array (or object's first array).
    async fn api_with(&self, token: &str, path: &str) -> (u16, Vec<Value>) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .expect("the API answers");
        let status = response.status().as_u16();
        let body: Value =
            serde_json::from_str(&response.text().await.unwrap_or_default()).unwrap_or(Value::Null);
        let list = match body {
            Value::Array(items) => items,
            Value::Object(map) => map
                .into_iter()
                .find_map(|(_, v)| v.as_array().cloned())
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        (status, list)
    }

    async fn push(&self, source: &str, spec: String) {
        let (status, body) = self
            .api(
                reqwest::Method::PUT,
                &format!("/v1/sources/{source}/spec"),
                Some(spec),
            )
            .await;
        assert_eq!(status, 200, "push {source}: {body}");
    }

    /// The action named `name`, through the API.
    async fn action(&self, name: &str) -> Value {
        let (_, page) = self
            .api(reqwest::Method::GET, "/v1/actions?limit=1000", None)
            .await;
        page["actions"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["name"] == name).cloned())
            .unwrap_or_else(|| panic!("no action `{name}` in {page}"))
    }
}

/// chromedriver on a free port, and a headless Chromium session.
/// The browser's profile folder is removed when the returned `TempDir` drops.
async fn browser(driver: &Path) -> (Process, Client, tempfile::TempDir) {
    let port = free_port();
    let process = Process(
        Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    let profile = tempfile::tempdir().expect("a profile folder");
    let profile_path = profile.path().to_path_buf();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".to_string(),
        json!({
            "binary": chromium(),
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--hide-scrollbars",
                format!("--user-data-dir={}", profile_path.display()),
                "--window-size=1280,900"
            ]
        }),
    );
    let started = Instant::now();
    loop {
        let connected =
            ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await;
        match connected {
            Ok(client) => return (process, client, profile),
            Err(e) if started.elapsed() > WAIT => panic!("cannot start Chromium: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// The page's visible text (read again while a navigation replaces the page).
async fn text(client: &Client) -> String {
    let started = Instant::now();
    loop {
        let read = async { client.find(Locator::Css("body")).await?.text().await };
        match read.await {
            Ok(text) => return text,
            Err(e) if started.elapsed() > WAIT => panic!("cannot read the page: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// Opens `url` in the browser.
async fn open(client: &Client, url: &str) {
    client
        .goto(url)
        .await
        .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
}

/// The text of the first element `css` selects.
async fn text_of(client: &Client, css: &str) -> String {
    let element = client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no element {css}: {e}"));
    element
        .text()
        .await
        .unwrap_or_else(|e| panic!("cannot read {css}: {e}"))
}

/// The current URL's path.
async fn path(client: &Client) -> String {
    client
        .current_url()
        .await
        .expect("a URL")
        .path()
        .to_string()
}

async fn sign_in(client: &Client, base: &str, token: &str) {
    open(client, &format!("{base}/ui/sign-in")).await;
    let field = client
        .find(Locator::XPath(
            "//label[normalize-space()='Token']/following::input[1]",
        ))
        .await
        .expect("a field labelled Token");
    field.send_keys(token).await.expect("type the token");
    client
        .find(Locator::Css(
            "form[action='/ui/sign-in'] button[type=submit]",
        ))
        .await
        .expect("the sign-in button")
        .click()
        .await
        .expect("sign in");
    // The answer: the actions page, or the sign-in page with why not.
    wait_for(client, |t| {
        t.contains("Sign out") || t.contains("cannot sign in") || t.contains("not valid")
    })
    .await;
}

/// Clicks the submit button whose text is `label`.
async fn click_button(client: &Client, label: &str) {
    client
        .find(Locator::XPath(&format!(
            "//button[normalize-space()='{label}' or @aria-label='{label}']"
        )))
        .await
        .unwrap_or_else(|e| panic!("a button `{label}`: {e}"))
        .click()
        .await
        .expect("click");
}

/// Every form control and button with no accessible name.
async fn unlabelled(client: &Client) -> Vec<Value> {
    let found = client
        .execute(
            r#"return Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea, button'))
                .filter(el => {
                  if (el.getAttribute('aria-label')) return false;
                  if (el.tagName === 'BUTTON') return el.textContent.trim() === '';
                  if (el.id && document.querySelector('label[for="' + el.id + '"]')) return false;
                  return !el.closest('label');
                })
                .map(el => el.outerHTML);"#,
            vec![],
        )
        .await
        .expect("run the check");
    found.as_array().cloned().unwrap_or_default()
}

async fn screenshot(client: &Client, name: &str) {
    if std::env::var("ACTIONSYNC_SCREENSHOTS").as_deref() != Ok("1") {
        return;
    }
    let png = client.screenshot().await.expect("a screenshot");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
    std::fs::create_dir_all(&dir).expect("create docs/screenshots");
    std::fs::write(dir.join(name), png).expect("write the screenshot");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_a_real_browser() {
    let Some(driver) = chromedriver() else {
        println!(
            "SKIPPED: no chromedriver at /usr/bin/chromedriver (set CHROMEDRIVER, or apt-get install chromium chromium-driver)"
        );
        return;
    };
    let evil_target = Arc::new(Mutex::new(String::new()));
    let upstream = upstream(evil_target.clone());
    let server = tokio::task::spawn_blocking(Server::start)
        .await
        .expect("start the server");
    let base = server.base.clone();
    server.push("shop", shop_spec(upstream, 1)).await;
    server.push("billing", billing_spec(upstream)).await;
    server.push("shop", shop_spec(upstream, 2)).await;

    // The console's answers carry the strict CSP; assets are cacheable.
    let response = server
        .http
        .get(format!("{base}/ui/sign-in"))
        .send()
        .await
        .expect("GET /ui/sign-in");
    let csp = response
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert_eq!(csp, actionsync::console::CSP);
    let page = response.text().await.unwrap_or_default();
    let css = page
        .split("href=\"")
        .find_map(|s| s.split('"').next().filter(|h| h.ends_with(".css")))
        .expect("a stylesheet link")
        .to_string();
    let asset = server
        .http
        .get(format!("{base}{css}"))
        .send()
        .await
        .expect("the CSS");
    assert_eq!(asset.status(), 200);
    assert!(
        asset
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("immutable")),
        "assets are cached"
    );

    let (_driver, client, _profile) = browser(&driver).await;
    // The steps run in a task of their own, so that a failing one still closes
    // the browser (a killed chromedriver leaves Chromium running).
    let steps = tokio::spawn(steps(server, client.clone(), upstream, evil_target));
    let outcome = steps.await;
    let _ = client.close().await;
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("the steps did not finish: {e}"),
        }
    }
}

/// The browser test's steps, on a signed-out browser.
async fn steps(server: Server, client: Client, upstream: u16, evil_target: Arc<Mutex<String>>) {
    let base = server.base.clone();

    // Without a session, every page leads to the sign-in page.
    for page in [
        "/ui/",
        "/ui/actions",
        "/ui/actions/1",
        "/ui/sources",
        "/ui/sources/shop/revisions/1",
        "/ui/audience",
    ] {
        open(&client, &format!("{base}{page}")).await;
        assert_eq!(
            path(&client).await,
            "/ui/sign-in",
            "{page} without a session"
        );
    }
    // The browser's `/` goes to the console.
    open(&client, &format!("{base}/")).await;
    assert_eq!(path(&client).await, "/ui/sign-in", "/ leads to the console");

    // A tools token cannot sign in.
    sign_in(&client, &base, &server.tools).await;
    assert_eq!(path(&client).await, "/ui/sign-in");
    let shown = text(&client).await;
    assert!(shown.contains("tools token cannot sign in"), "{shown}");

    // An admin token can.
    sign_in(&client, &base, &server.admin).await;
    wait_for(&client, |t| t.contains("Sign out")).await;
    assert_eq!(path(&client).await, "/ui/actions");
    let shown = text(&client).await;
    assert!(
        shown.contains("get_order") && shown.contains("get_invoice"),
        "{shown}"
    );
    assert!(
        unlabelled(&client).await.is_empty(),
        "unlabelled controls: {:?}",
        unlabelled(&client).await
    );

    // A description with a script tag is text, never a script.
    assert!(
        shown.contains("<script>window.__xss = 1</script>"),
        "{shown}"
    );
    let xss = client
        .execute(
            "return window.__xss === undefined && document.scripts.length === 1;",
            vec![],
        )
        .await
        .expect("run");
    assert_eq!(xss, json!(true), "the description's script must not run");

    // Pinned actions come first.
    let first = text_of(&client, "table.actions tbody tr td.name a").await;
    assert_eq!(first, "get_order");

    // Filter by source, then search.
    let source = client
        .find(Locator::Css("#f-source"))
        .await
        .expect("the source filter");
    source
        .select_by_value("billing")
        .await
        .expect("choose billing");
    wait_for(&client, |t| {
        !t.contains("get_order") && t.contains("get_invoice")
    })
    .await;
    open(&client, &format!("{base}/ui/actions")).await;
    let search = client
        .find(Locator::Css("#q"))
        .await
        .expect("the search field");
    search.send_keys("parcel").await.expect("type");
    click_button(&client, "Filter").await;
    let shown = wait_for(&client, |t| {
        t.contains("track_shipment") && !t.contains("get_invoice")
    })
    .await;
    assert!(!shown.contains("cancel_order"), "{shown}");
    open(&client, &format!("{base}/ui/actions?channel=email")).await;
    let shown = text(&client).await;
    assert!(
        shown.contains("cancel_order") && !shown.contains("track_shipment"),
        "{shown}"
    );

    // Toggle a channel; the API reports it.
    let order = server.action("track_shipment").await;
    let id = order["id"].as_i64().expect("an id");
    open(&client, &format!("{base}/ui/actions/{id}")).await;
    assert!(
        unlabelled(&client).await.is_empty(),
        "unlabelled controls: {:?}",
        unlabelled(&client).await
    );
    client
        .find(Locator::XPath("//label[normalize-space()='sms']/input"))
        .await
        .expect("a toggle labelled sms")
        .click()
        .await
        .expect("toggle sms");
    click_button(&client, "Save").await;
    wait_for(&client, |t| t.contains("Saved.")).await;
    let order = server.action("track_shipment").await;
    assert_eq!(
        order["hand"]["channels"],
        json!(["widget", "sms"]),
        "{order}"
    );

    // A stale edit shows the conflict and overwrites nothing.
    open(&client, &format!("{base}/ui/actions/{id}")).await;
    let (status, _) = server
        .api(
            reqwest::Method::PATCH,
            &format!("/v1/actions/{id}"),
            Some(json!({"segments": ["gold"]}).to_string()),
        )
        .await;
    assert_eq!(status, 200);
    client
        .find(Locator::XPath("//label[normalize-space()='email']/input"))
        .await
        .expect("a toggle labelled email")
        .click()
        .await
        .expect("toggle email");
    click_button(&client, "Save").await;
    let shown = wait_for(&client, |t| t.contains("changed since you opened it")).await;
    assert!(
        shown.contains("gold"),
        "the conflict shows the current values: {shown}"
    );
    let order = server.action("track_shipment").await;
    assert_eq!(
        order["hand"]["channels"],
        json!(["widget", "sms"]),
        "{order}"
    );
    assert_eq!(order["hand"]["segments"], json!(["gold"]), "{order}");

    // A magic field for a query parameter.
    let orders = server.action("list_orders").await["id"].clone();
    open(&client, &format!("{base}/ui/actions/{orders}")).await;
    let magic = client
        .find(Locator::XPath(
            "//label[code='email']/following-sibling::input[@name='magic_value']",
        ))
        .await
        .expect("the magic field of email");
    magic.send_keys("contact.email").await.expect("type");
    click_button(&client, "Save").await;
    wait_for(&client, |t| t.contains("Saved.")).await;
    assert_eq!(
        server.action("list_orders").await["hand"]["magic_fields"],
        json!({"email": "contact.email"})
    );

    // Pin a sharper description, then unpin it.
    open(&client, &format!("{base}/ui/actions/{id}")).await;
    client
        .find(Locator::XPath(
            "//h3[text()='description']/ancestor::div[contains(@class,'specfield')]//summary",
        ))
        .await
        .expect("the description's Pin")
        .click()
        .await
        .expect("open Pin");
    let field = client
        .find(Locator::Css("#pin-description"))
        .await
        .expect("the pin field");
    field.clear().await.expect("clear");
    field
        .send_keys("Where the parcel is now. Use when a customer asks where their order is.")
        .await
        .expect("type");
    click_button(&client, "Pin description").await;
    wait_for(&client, |t| t.contains("Saved.")).await;
    let order = server.action("track_shipment").await;
    assert_eq!(
        order["hand"]["pins"]["description"],
        json!("Where the parcel is now. Use when a customer asks where their order is.")
    );
    // The spec moves under the pin: the page shows the drift, the pin stays.
    server.push("shop", shop_spec(upstream, 3)).await;
    open(&client, &format!("{base}/ui/actions/{id}")).await;
    let shown = text(&client).await;
    assert!(
        shown.contains("The spec changed this field under the pin in revision 3"),
        "{shown}"
    );
    assert!(shown.contains("Where the parcel is now."), "{shown}");
    screenshot(&client, "action.png").await;
    open(&client, &format!("{base}/ui/actions?drift=1")).await;
    let shown = text(&client).await;
    assert!(
        shown.contains("track_shipment") && !shown.contains("get_order"),
        "the drift filter: {shown}"
    );
    // The same push dropped list_orders' email: its magic field is orphaned.
    open(&client, &format!("{base}/ui/actions?orphans=1")).await;
    let shown = text(&client).await;
    assert!(
        shown.contains("list_orders")
            && shown.contains("1 orphaned magic")
            && !shown.contains("track_shipment"),
        "the orphans filter: {shown}"
    );
    open(&client, &format!("{base}/ui/actions/{orders}")).await;
    let shown = text(&client).await;
    assert!(
        shown.contains("orphaned") && shown.contains("Remove email"),
        "{shown}"
    );
    if std::env::var("ACTIONSYNC_SCREENSHOTS").as_deref() == Ok("1") {
        // A catalogue with some variety for the README's picture.
        let wishlist = server.action("delete_wishlist_item").await["id"].clone();
        let (status, _) = server
            .api(
                reqwest::Method::PATCH,
                &format!("/v1/actions/{wishlist}"),
                Some(json!({"enabled": false}).to_string()),
            )
            .await;
        assert_eq!(status, 200);
        open(&client, &format!("{base}/ui/actions")).await;
        screenshot(&client, "actions.png").await;
    }
    open(&client, &format!("{base}/ui/actions/{id}")).await;
    click_button(&client, "Unpin description").await;
    wait_for(&client, |t| t.contains("Saved.")).await;
    let order = server.action("track_shipment").await;
    assert!(
        order["hand"]["pins"].get("description").is_none(),
        "{order}"
    );

    // The Test button calls the local upstream.
    open(&client, &format!("{base}/ui/actions/{id}")).await;
    let args = client
        .find(Locator::Css("#test-args"))
        .await
        .expect("the arguments");
    args.clear().await.expect("clear");
    args.send_keys("{\"order_id\": \"42\"}")
        .await
        .expect("type");
    click_button(&client, "Test").await;
    let shown = wait_for(&client, |t| t.contains("HTTP 200")).await;
    assert!(shown.contains("/orders/42/tracking"), "{shown}");

    // Roll back, previewing first.
    open(&client, &format!("{base}/ui/sources/shop/revisions/1")).await;
    click_button(&client, "Preview rollback").await;
    let shown = wait_for(&client, |t| t.contains("Dry run")).await;
    assert!(
        shown.contains("list_orders"),
        "the preview shows the plan: {shown}"
    );
    let (_, sources) = server.api(reqwest::Method::GET, "/v1/sources", None).await;
    let revision = |sources: &Value| {
        sources["sources"]
            .as_array()
            .and_then(|s| s.iter().find(|x| x["name"] == "shop"))
            .map(|s| s["last_revision"].clone())
    };
    assert_eq!(
        revision(&sources),
        Some(json!(3)),
        "a preview changes nothing"
    );
    click_button(&client, "Roll back to revision 1").await;
    wait_for(&client, |t| t.contains("Revisions of shop")).await;
    let (_, sources) = server.api(reqwest::Method::GET, "/v1/sources", None).await;
    assert_eq!(revision(&sources), Some(json!(4)));
    let list = server.action("list_orders").await;
    assert!(
        list["spec"]["description"]
            .as_str()
            .is_some_and(|d| !d.contains("(v2)")),
        "{list}"
    );

    // What the AI sees.
    open(&client, &format!("{base}/ui/audience?channel=sms")).await;
    let count = text_of(&client, "#tool-count").await;
    assert_eq!(
        count, "0",
        "track_shipment, the one action on sms, is for gold contacts only"
    );
    open(
        &client,
        &format!("{base}/ui/audience?channel=sms&segments=gold"),
    )
    .await;
    let count = text_of(&client, "#tool-count").await;
    assert_eq!(count, "1", "a gold contact on sms gets track_shipment");
    let (_, tools) = server
        .api_with(&server.tools, "/v1/tools?channel=sms&segments=gold")
        .await;
    assert_eq!(tools.len(), 1, "the API serves the same list: {tools:?}");

    // A cross-site form without the CSRF token is refused.
    *evil_target.lock().expect("lock") = format!(
        "{base}/ui/actions/{}/edit",
        server.action("get_product").await["id"]
    );
    open(&client, &format!("http://127.0.0.1:{upstream}/evil")).await;
    client
        .find(Locator::Css("#go"))
        .await
        .expect("the button")
        .click()
        .await
        .expect("click");
    let shown = wait_for(&client, |t| {
        t.contains("Forbidden") || t.contains("Sign in")
    })
    .await;
    assert!(
        shown.contains("another site") || shown.contains("CSRF") || shown.contains("Sign in"),
        "{shown}"
    );
    let product = server.action("get_product").await;
    assert_eq!(product["hand"]["channels"], json!(["widget"]), "{product}");

    // Usable at 375 px: nothing wider than the screen but the tables' own scroll.
    client.set_window_size(375, 800).await.expect("resize");
    for page in ["/ui/actions", &format!("/ui/actions/{id}"), "/ui/sources"] {
        open(&client, &format!("{base}{page}")).await;
        let width = client
            .execute(
                "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
                vec![],
            )
            .await
            .expect("measure");
        assert_eq!(width, json!(true), "{page} is wider than 375 px");
    }
    client.set_window_size(1280, 900).await.expect("resize");

    // Sources: state, counts, and "Reconcile now" for a file source.
    open(&client, &format!("{base}/ui/sources")).await;
    let shown = text(&client).await;
    assert!(
        shown.contains("docs") && shown.contains("docs.json") && shown.contains("synced"),
        "{shown}"
    );
    click_button(&client, "Reconcile docs now").await;
    wait_for(&client, |t| t.contains("is being read again")).await;

    // Plan a pasted spec: a dry run first, then apply it.
    open(&client, &format!("{base}/ui/sources/billing/plan")).await;
    client
        .execute(
            "document.getElementById('spec').value = arguments[0];",
            vec![json!(billing_spec_with(upstream, true))],
        )
        .await
        .expect("paste the spec");
    click_button(&client, "Preview plan").await;
    let shown = wait_for(&client, |t| t.contains("Dry run")).await;
    assert!(shown.contains("list_invoices"), "{shown}");
    let (_, page) = server
        .api(reqwest::Method::GET, "/v1/actions?source=billing", None)
        .await;
    assert_eq!(
        page["actions"].as_array().map(Vec::len),
        Some(2),
        "a preview applies nothing"
    );
    click_button(&client, "Apply this spec").await;
    wait_for(&client, |t| t.contains("applied") && !t.contains("Dry run")).await;
    let (_, page) = server
        .api(reqwest::Method::GET, "/v1/actions?source=billing", None)
        .await;
    assert_eq!(page["actions"].as_array().map(Vec::len), Some(3), "{page}");

    // Signing out ends the session on the server.
    open(&client, &format!("{base}/ui/actions")).await;
    click_button(&client, "Sign out").await;
    wait_for(&client, |t| t.contains("signed out")).await;
    open(&client, &format!("{base}/ui/actions")).await;
    assert_eq!(path(&client).await, "/ui/sign-in");

    // A curator reads and edits, but cannot roll back.
    sign_in(&client, &base, &server.curator).await;
    assert_eq!(path(&client).await, "/ui/actions");
    open(&client, &format!("{base}/ui/sources/shop/revisions/1")).await;
    let shown = text(&client).await;
    assert!(shown.contains("Rollbacks take an admin token"), "{shown}");
}

/// Waits until the page's text satisfies `ok`; returns it.
async fn wait_for(client: &Client, ok: impl Fn(&str) -> bool) -> String {
    let started = Instant::now();
    loop {
        let shown = text(client).await;
        if ok(&shown) {
            return shown;
        }
        assert!(
            started.elapsed() < WAIT,
            "timed out; the page shows:\n{shown}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Signs in over HTTP with `token`: the session cookie (`name=value`) and the
/// CSRF token of the actions page's forms.
async fn http_session(server: &Server, token: &str) -> (String, String) {
    let response = server
        .http
        .post(format!("{}/ui/sign-in", server.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode_form(&[("token", token), ("next", "")]))
        .send()
        .await
        .expect("POST /ui/sign-in");
    assert_eq!(response.status(), 303, "sign-in redirects");
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("a session cookie")
        .to_string();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/ui", "Max-Age="] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    let pair = cookie.split(';').next().unwrap_or_default().to_string();
    let page = server
        .http
        .get(format!("{}/ui/actions", server.base))
        .header("cookie", &pair)
        .send()
        .await
        .expect("GET /ui/actions")
        .text()
        .await
        .unwrap_or_default();
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a CSRF token in the page")
        .to_string();
    (pair, csrf)
}

/// What the browser test shows, checked at the HTTP level (no browser needed):
/// a write without the session's CSRF token is refused, and a curator token
/// reads and edits but neither rolls back, pushes nor reads the tool list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csrf_and_the_curator_scope_over_http() {
    let evil_target = Arc::new(Mutex::new(String::new()));
    let upstream = upstream(evil_target);
    let server = tokio::task::spawn_blocking(Server::start)
        .await
        .expect("start the server");
    server.push("shop", shop_spec(upstream, 1)).await;
    server.push("shop", shop_spec(upstream, 2)).await;
    let product = server.action("get_product").await;
    let id = product["id"].as_i64().expect("an id");
    let version = product["version"].as_i64().expect("a version").to_string();
    let (cookie, csrf) = http_session(&server, &server.curator).await;
    let edit = |csrf: Option<&str>| {
        let mut form = vec![
            ("version", version.as_str()),
            ("channel", "widget"),
            ("channel", "slack"),
            ("enabled", "1"),
        ];
        if let Some(csrf) = csrf {
            form.push(("csrf", csrf));
        }
        server
            .http
            .post(format!("{}/ui/actions/{id}/edit", server.base))
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode_form(&form))
            .send()
    };
    // No CSRF token, or another one: refused, nothing changes.
    let refused = edit(None).await.expect("POST");
    assert_eq!(refused.status(), 403);
    let refused = edit(Some("0123")).await.expect("POST");
    assert_eq!(refused.status(), 403);
    assert_eq!(
        server.action("get_product").await["hand"]["channels"],
        json!(["widget"])
    );
    // The session's token: saved, through the same edit as the API's.
    let saved = edit(Some(&csrf)).await.expect("POST");
    assert_eq!(saved.status(), 303);
    let product = server.action("get_product").await;
    assert_eq!(product["hand"]["channels"], json!(["widget", "slack"]));
    let audit = server
        .api(reqwest::Method::GET, &format!("/v1/actions/{id}"), None)
        .await;
    assert_eq!(audit.0, 200);

    // The curator may not roll back, from the console or the API.
    let rollback = server
        .http
        .post(format!("{}/ui/sources/shop/rollback", server.base))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode_form(&[
            ("csrf", csrf.as_str()),
            ("revision", "1"),
            ("dry_run", "false"),
        ]))
        .send()
        .await
        .expect("POST rollback");
    assert_eq!(rollback.status(), 403);
    // A curator reads and edits hand-owned fields; rollback, pause, pushes and the
    // AI's tool list are not theirs.
    let edit = format!("/v1/actions/{id}");
    let expected = [
        (reqwest::Method::GET, "/v1/actions", "", 200),
        (
            reqwest::Method::PATCH,
            edit.as_str(),
            "{\"tags\": [\"x\"]}",
            200,
        ),
        (
            reqwest::Method::POST,
            "/v1/sources/shop/rollback",
            "{\"revision\": 1}",
            403,
        ),
        (reqwest::Method::POST, "/v1/sources/shop/pause", "", 403),
        (reqwest::Method::PUT, "/v1/sources/shop/spec", "{}", 403),
        (reqwest::Method::GET, "/v1/tools", "", 403),
    ];
    for (method, path, body, status) in expected {
        let answer = server
            .http
            .request(method.clone(), format!("{}{path}", server.base))
            .bearer_auth(&server.curator)
            .header("content-type", "application/json")
            .header("if-match", "*")
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        assert_eq!(
            answer.status().as_u16(),
            status,
            "{method} {path} with a curator token"
        );
    }

    // Sign-out ends the session on the server: the old cookie leads to sign-in.
    let out = server
        .http
        .post(format!("{}/ui/sign-out", server.base))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode_form(&[("csrf", csrf.as_str())]))
        .send()
        .await
        .expect("POST sign-out");
    assert_eq!(out.status(), 303);
    let again = server
        .http
        .get(format!("{}/ui/actions", server.base))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("GET");
    assert_eq!(again.status(), 303);
    assert!(
        again
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|l| l.starts_with("/ui/sign-in")),
        "{:?}",
        again.headers()
    );
    // Apply applies only the spec whose plan was previewed.
    server.push("billing", billing_spec(upstream)).await;
    let (admin_cookie, admin_csrf) = http_session(&server, &server.admin).await;
    let changed = billing_spec_with(upstream, true);
    let apply = server
        .http
        .post(format!("{}/ui/sources/billing/plan", server.base))
        .header("cookie", &admin_cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode_form(&[
            ("csrf", admin_csrf.as_str()),
            ("spec", changed.as_str()),
            ("apply", "true"),
            ("previewed", "not-the-previewed-spec"),
        ]))
        .send()
        .await
        .expect("POST plan");
    assert_eq!(apply.status(), 422);
    let page = apply.text().await.unwrap_or_default();
    assert!(page.contains("changed since its preview"), "{page}");
    let (_, actions) = server
        .api(reqwest::Method::GET, "/v1/actions?source=billing", None)
        .await;
    assert_eq!(actions["actions"].as_array().map(Vec::len), Some(2));

    // A long catalogue comes in pages of 50, each with the cursor of the next.
    let mut bulk: Value = serde_json::from_str(&shop_spec(upstream, 2)).expect("JSON");
    for n in 0..112 {
        bulk["paths"][format!("/reports/{n}")] = json!({"get": {
            "operationId": format!("get_report_{n:03}"),
            "description": format!("Fetch sales report number {n} with its totals by day."),
            "responses": {"200": {"description": "OK"}}
        }});
    }
    server.push("shop", bulk.to_string()).await;
    let mut next = Some("/ui/actions?source=shop".to_string());
    let mut pages = Vec::new();
    while let Some(url) = next.take() {
        let page = server
            .http
            .get(format!("{}{url}", server.base))
            .header("cookie", &admin_cookie)
            .send()
            .await
            .expect("GET a page")
            .text()
            .await
            .unwrap_or_default();
        let body = page.split("<tbody>").nth(1).unwrap_or_default();
        pages.push(body.matches("<tr>").count());
        next = page
            .split("href=\"")
            .filter_map(|s| s.split('"').next())
            .find(|h| h.contains("after="))
            .map(|h| h.replace("&amp;", "&"));
        assert!(pages.len() < 10, "the pages never end: {pages:?}");
    }
    assert_eq!(pages, [50, 50, 20]);

    // A push token cannot sign in either.
    let push = token_in(&server, "--source=shop");
    let refused = server
        .http
        .post(format!("{}/ui/sign-in", server.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode_form(&[("token", push.as_str())]))
        .send()
        .await
        .expect("POST sign-in");
    assert_eq!(refused.status(), 401);
}

/// A token made while the server runs.
fn token_in(server: &Server, scope: &str) -> String {
    token(server.dir.path(), scope)
}

/// `application/x-www-form-urlencoded` of `pairs`.
fn encode_form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}
