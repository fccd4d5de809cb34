//! `actionsync push`: send a spec to a running `actionsync serve`
//! (`PUT /v1/sources/{name}/spec`) and report the plan it answers.
//!
//! Exit codes are for CI: 0 applied, unchanged or nothing to change; 2 a dry run
//! that would change something; 1 refused or failed, with the reason on stderr.
//!
//! The token is a secret: it goes into the `Authorization` header and nowhere else
//! (not into errors, not into `Debug`), and redirects are not followed, so it is
//! never sent to a host the user did not name.

use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, LOCATION};
use serde_json::Value;
use url::Url;

use super::catalogue::Output;
use crate::api::wire::{ErrorBody, PushOutcome, PushReply};
use crate::config::parse_duration;
use crate::plan;
use crate::source::redact_url;

/// The longest wait between two attempts, however many there were.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(8);

/// How much of an unexpected answer an error quotes.
const QUOTED_BYTES: usize = 200;

/// `push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// The spec: a JSON or YAML file, or `-` for standard input. Sent as it is.
    #[arg(value_name = "SPEC")]
    spec: PathBuf,
    /// The actionsync server's base URL; a path prefix is kept
    /// (https://host/actionsync/ → https://host/actionsync/v1/…).
    #[arg(long, value_name = "URL", env = "ACTIONSYNC_SERVER")]
    server: Url,
    /// The source's bearer token (from `actionsync token create` on the server).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "ACTIONSYNC_TOKEN",
        hide_env_values = true,
        value_parser = read_token
    )]
    token: Token,
    /// The source to push to.
    #[arg(long, value_name = "NAME", value_parser = super::parse_source_name)]
    source: String,
    /// Only plan: the server answers what would change and applies nothing.
    #[arg(long)]
    dry_run: bool,
    /// Pass the guards (removal share, zero operations); lint errors still refuse.
    #[arg(long)]
    force: bool,
    /// What the source's action names are prefixed with when another source has
    /// the name (default: the server's config, else the source's name).
    #[arg(long, value_name = "PREFIX", value_parser = parse_name_prefix)]
    name_prefix: Option<String>,
    /// Replaces the spec's root server on the server side (relative servers
    /// resolve against it), as `convert --base-url` does locally.
    #[arg(long, value_name = "URL")]
    base_url: Option<url::Url>,
    /// Output format: the plan as text, as Markdown (for a pull-request comment),
    /// or the server's JSON answer.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
    /// Attempts after the first, on connection errors and 5xx answers (never on 4xx).
    #[arg(long, value_name = "N", default_value_t = 3)]
    retries: u32,
    /// How long one attempt may take (planning a large spec takes a while).
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    timeout: Duration,
    /// The first wait before a retry; each next one doubles, up to 8s.
    #[arg(
        long,
        value_name = "DURATION",
        env = "ACTIONSYNC_PUSH_RETRY_DELAY",
        default_value = "500ms",
        value_parser = parse_duration,
        hide = true
    )]
    retry_delay: Duration,
}

/// A bearer token. Its `Debug` hides it, so `PushArgs` can derive `Debug` safely.
#[derive(Clone)]
struct Token(String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

/// Takes the token as it is. Checking it here would be wrong: clap quotes the
/// value it was given when a parser fails, and this value is a secret.
fn read_token(text: &str) -> Result<Token, std::convert::Infallible> {
    Ok(Token(text.to_string()))
}

impl Token {
    /// The `Authorization` header, marked sensitive so it stays out of debug output.
    /// Trims the token (a secret pasted with its newline is common); the errors
    /// never quote it.
    fn bearer(&self) -> Result<HeaderValue, String> {
        let token = self.0.trim();
        if token.is_empty() {
            return Err("the token is empty: pass --token or set ACTIONSYNC_TOKEN".to_string());
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(
                "the token has characters a token cannot have (spaces or non-ASCII); copy it again from `actionsync token create`"
                    .to_string(),
            );
        }
        let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| "the token cannot be sent in an HTTP header".to_string())?;
        value.set_sensitive(true);
        Ok(value)
    }
}

/// The spec as it will be sent.
struct Body {
    /// Where it came from, for messages.
    name: String,
    bytes: Vec<u8>,
    content_type: &'static str,
}

/// Runs `actionsync push`.
pub fn run(args: &PushArgs) -> Result<ExitCode, String> {
    // Everything that can fail without the server fails before the first request.
    let body = read_spec(&args.spec)?;
    let url = push_url(
        &args.server,
        &args.source,
        args.dry_run,
        args.force,
        &PushOptions {
            name_prefix: args.name_prefix.as_deref(),
            base_url: args.base_url.as_ref(),
        },
    )?;
    let authorization = args.token.bearer()?;
    if url.scheme() == "http" && !is_loopback(&url) {
        eprintln!(
            "push: warning: {} is plain http://: the token crosses the network in the clear; use https://",
            redact_url(&args.server)
        );
    }
    let client = reqwest::blocking::Client::builder()
        .timeout(args.timeout)
        // A dead host should not cost the whole (long) timeout on every attempt.
        .connect_timeout(args.timeout.min(Duration::from_secs(30)))
        // A redirected PUT may turn into a GET, or carry the token elsewhere:
        // say where the server points instead of following.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("actionsync/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot start an HTTP client: {e}"))?;

    let shown = redact_url(&url);
    let attempts = args.retries.saturating_add(1);
    let mut attempt = 1;
    let answer = loop {
        let sent = client
            .put(url.clone())
            .header(AUTHORIZATION, authorization.clone())
            .header(CONTENT_TYPE, body.content_type)
            .header(ACCEPT, "application/json")
            .body(body.bytes.clone())
            .send()
            .and_then(Answer::read);
        let last = attempt >= attempts;
        // Pushing is idempotent: if a failed attempt was applied after all, the
        // next one answers `unchanged`. A 4xx will not get better by asking again.
        let reason = match sent {
            Ok(answer) if answer.status.is_server_error() && !last => {
                format!("server answered {}", answer.status.as_u16())
            }
            Ok(answer) => break answer,
            Err(e) if e.is_builder() => {
                return Err(format!(
                    "cannot build the request to {shown}: {}",
                    crate::source::with_causes(&e.without_url())
                ));
            }
            Err(e) if !last => transport_error(e, &shown),
            Err(e) => {
                return Err(format!(
                    "{}; gave up after {attempts} attempt{}",
                    transport_error(e, &shown),
                    plural(attempts)
                ));
            }
        };
        let delay = backoff(args.retry_delay, attempt);
        attempt += 1;
        eprintln!(
            "push: {reason}, retrying in {} (attempt {attempt} of {attempts})",
            show_duration(delay)
        );
        std::thread::sleep(delay);
    };

    answer_to_exit(args, &body, &answer, attempts)
}

/// The parts of an HTTP answer a push looks at.
struct Answer {
    status: StatusCode,
    location: Option<String>,
    body: Vec<u8>,
}

impl Answer {
    /// Reads the whole answer. A body cut short is a transport error, retried like one.
    fn read(response: reqwest::blocking::Response) -> reqwest::Result<Answer> {
        let status = response.status();
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|l| l.to_str().ok())
            .map(str::to_string);
        let body = response.bytes()?.to_vec();
        Ok(Answer {
            status,
            location,
            body,
        })
    }
}

fn plural(n: u32) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Reads the spec and chooses its content type.
fn read_spec(path: &std::path::Path) -> Result<Body, String> {
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
            .map_err(|e| format!("cannot read the spec from standard input: {e}"))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err("the spec on standard input is empty".to_string());
        }
        let content_type = sniff(&bytes);
        return Ok(Body {
            name: "standard input".to_string(),
            bytes,
            content_type,
        });
    }
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!("cannot read the spec {name}: no such file"),
        _ => format!("cannot read the spec {name}: {e}"),
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(format!("the spec {name} is empty"));
    }
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let content_type = match extension.as_deref() {
        Some("json") => "application/json",
        Some("yaml" | "yml") => "application/yaml",
        _ => sniff(&bytes),
    };
    Ok(Body {
        name,
        bytes,
        content_type,
    })
}

/// JSON starts with `{` or `[` (after a byte-order mark and white space); anything
/// else is read as YAML, which is also what a YAML parser would make of it.
fn sniff(bytes: &[u8]) -> &'static str {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{' | b'[') => "application/json",
        _ => "application/yaml",
    }
}

/// `{server}/v1/sources/{name}/spec?dry_run=true&force=true`, keeping the server's
/// path prefix.
fn parse_name_prefix(s: &str) -> Result<String, String> {
    crate::config::check_name_prefix(s).map(|()| s.to_string())
}

/// Options a push sends in its query besides dry_run and force.
#[derive(Debug, Default)]
struct PushOptions<'a> {
    name_prefix: Option<&'a str>,
    base_url: Option<&'a Url>,
}

fn push_url(
    server: &Url,
    source: &str,
    dry_run: bool,
    force: bool,
    options: &PushOptions<'_>,
) -> Result<Url, String> {
    let shown = redact_url(server);
    if !matches!(server.scheme(), "http" | "https") {
        return Err(format!(
            "--server {shown} is not an http:// or https:// URL"
        ));
    }
    if server.query().is_some() || server.fragment().is_some() {
        return Err(format!(
            "--server {shown} has a query or fragment; give the server's base URL, such as https://actionsync.example.com/"
        ));
    }
    let mut url = server.clone();
    url.path_segments_mut()
        .map_err(|()| format!("--server {shown} cannot have a path added to it"))?
        .pop_if_empty()
        .extend(["v1", "sources", source, "spec"]);
    {
        let mut query = url.query_pairs_mut();
        if dry_run {
            query.append_pair("dry_run", "true");
        }
        if force {
            query.append_pair("force", "true");
        }
        if let Some(prefix) = options.name_prefix {
            query.append_pair("name_prefix", prefix);
        }
        if let Some(base) = options.base_url {
            query.append_pair("base_url", base.as_str());
        }
    }
    // `query_pairs_mut` leaves a bare `?` when nothing was appended.
    if url.query() == Some("") {
        url.set_query(None);
    }
    Ok(url)
}

/// Whether the URL names this machine, where plain http:// exposes nothing.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// A transport error in a few words. reqwest's errors name the URL, which we print
/// ourselves (redacted); they never carry headers, so the token cannot leak here.
fn transport_error(e: reqwest::Error, shown: &str) -> String {
    let e = e.without_url();
    let what = if e.is_timeout() {
        "timed out waiting for"
    } else if e.is_connect() {
        "cannot connect to"
    } else {
        "lost the connection to"
    };
    format!("{what} {shown}: {}", root_cause(&e))
}

/// The innermost cause (`Connection refused (os error 111)`, `invalid peer
/// certificate: UnknownIssuer`): the layers above it only say "error sending request".
fn root_cause(e: &dyn std::error::Error) -> String {
    let mut innermost = e;
    while let Some(inner) = innermost.source() {
        innermost = inner;
    }
    innermost.to_string()
}

/// The wait before retry number `attempt` (1 for the first retry).
fn backoff(first: Duration, attempt: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
    first.saturating_mul(factor).min(MAX_RETRY_DELAY.max(first))
}

/// `500ms`, `1s`, `1.5s`.
fn show_duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// Reads the server's answer, prints it, and chooses the exit code.
fn answer_to_exit(
    args: &PushArgs,
    body: &Body,
    answer: &Answer,
    attempts: u32,
) -> Result<ExitCode, String> {
    let status = answer.status;
    if status.is_redirection() {
        let location = answer.location.as_deref();
        let to = location
            .and_then(|l| Url::parse(l).ok())
            .map(|l| redact_url(&l))
            .or_else(|| location.map(str::to_string))
            .unwrap_or_else(|| "nowhere".to_string());
        return Err(format!(
            "the server answered {} and points to {to}; redirects are not followed (the token would go with them): give that URL as --server",
            describe_status(status)
        ));
    }
    if status.is_server_error() {
        return Err(server_error(status, &answer.body, attempts));
    }
    if status != StatusCode::OK && status != StatusCode::UNPROCESSABLE_ENTITY {
        return Err(error_answer(args, body, status, &answer.body));
    }
    let json: Value =
        serde_json::from_slice(&answer.body).map_err(|_| unexpected(status, &answer.body))?;
    let reply: PushReply =
        serde_json::from_value(json.clone()).map_err(|_| unexpected(status, &answer.body))?;

    let printed = match args.output {
        Output::Json => super::write_json(&mut std::io::stdout().lock(), &json),
        Output::Text => print(&text_report(&reply)),
        Output::Markdown => print(&markdown_report(&reply)),
    };
    match printed {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            return Err(format!("cannot write the output: {e}"));
        }
        _ => {}
    }

    // A 422 is a refusal whatever its outcome says: nothing was applied.
    if reply.outcome == PushOutcome::Refused || status == StatusCode::UNPROCESSABLE_ENTITY {
        return Err(refusal_message(&reply));
    }
    Ok(match reply.outcome {
        PushOutcome::Planned => ExitCode::from(2),
        _ => ExitCode::SUCCESS,
    })
}

fn print(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// An error answer: the server's message and the status, with a hint for the
/// statuses a CI setup most often meets.
fn error_answer(args: &PushArgs, body: &Body, status: StatusCode, answer: &[u8]) -> String {
    let Ok(error) = serde_json::from_slice::<ErrorBody>(answer) else {
        return unexpected(status, answer);
    };
    let source = &args.source;
    let hint = match status.as_u16() {
        400 => format!(" for {}", body.name),
        401 => format!(
            "; check --token or ACTIONSYNC_TOKEN: `actionsync token create --source {source}` on the server host makes one"
        ),
        403 => format!(
            "; a token pushes to one source only: use one made with `actionsync token create --source {source}`"
        ),
        409 if error.error == "watched_source" => "; the server's config reads this source from a file or URL, so it cannot be pushed to: take it out of the config, or push to another source".to_string(),
        409 if error.error == "name_taken" => "; another source's action has that name: rename the operation (operationId), or have a curator pin another name".to_string(),
        _ => String::new(),
    };
    format!(
        "{} (server answered {}{})",
        error.message.trim_end(),
        describe_status(status),
        hint
    )
}

/// A 5xx on the last attempt: the server's message if it sent one, else the
/// start of what it sent (often a proxy's page).
fn server_error(status: StatusCode, answer: &[u8], attempts: u32) -> String {
    let said = match serde_json::from_slice::<ErrorBody>(answer) {
        Ok(error) => error.message.trim_end().to_string(),
        Err(_) => quote(answer),
    };
    format!(
        "the server answered {} on the last of {attempts} attempt{}: {said}; check the server's logs, then push again (pushing twice is safe: a spec already applied answers `unchanged`)",
        describe_status(status),
        plural(attempts)
    )
}

/// `403 Forbidden`.
fn describe_status(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

/// An answer that is not what a push server sends: quote its start, so a proxy's
/// HTML page or a wrong `--server` is easy to recognise.
fn unexpected(status: StatusCode, answer: &[u8]) -> String {
    format!(
        "the server answered {} with something other than an actionsync answer; is --server an actionsync server? It said: {}",
        describe_status(status),
        quote(answer)
    )
}

/// The first bytes of an answer, on one line.
fn quote(answer: &[u8]) -> String {
    let end = answer.len().min(QUOTED_BYTES);
    let head = &answer[..end];
    // Cut at a character boundary rather than show half a character.
    let head = match std::str::from_utf8(head) {
        Err(e) if e.error_len().is_none() => &head[..e.valid_up_to()],
        _ => head,
    };
    let mut quoted = String::from_utf8_lossy(head)
        .trim()
        .replace(['\r', '\n'], " ");
    if answer.len() > end {
        quoted.push('…');
    }
    if quoted.is_empty() {
        quoted = "(an empty body)".to_string();
    }
    quoted
}

/// Every refusal, one to a line.
fn refusal_message(reply: &PushReply) -> String {
    let refusals: Vec<String> = reply
        .plan
        .iter()
        .flat_map(|p| &p.refusals)
        .map(|r| {
            let hint = if r.overridable {
                " [--force passes this]"
            } else {
                ""
            };
            format!("\n  - {}{hint}", r.message)
        })
        .collect();
    if refusals.is_empty() {
        format!(
            "{}: the server refused the plan; nothing applied",
            reply.source
        )
    } else {
        format!(
            "{}: the server refused the plan; nothing applied:{}",
            reply.source,
            refusals.concat()
        )
    }
}

/// The plan as text, then one line saying what happened.
fn text_report(reply: &PushReply) -> String {
    let mut out = reply.plan.as_ref().map(plan::text).unwrap_or_default();
    out.push_str(&outcome_line(reply));
    out.push('\n');
    out
}

/// `billing: applied revision 4 (2 created, 1 updated)`.
fn outcome_line(reply: &PushReply) -> String {
    let counts = super::catalogue::short_counts(&reply.counts);
    let source = &reply.source;
    let revision = reply.revision;
    match reply.outcome {
        PushOutcome::Applied => format!("{source}: applied revision {revision} ({counts})"),
        PushOutcome::Unchanged => format!("{source}: unchanged since revision {revision}"),
        PushOutcome::NoChanges => {
            format!("{source}: no changes; the catalogue matches the spec (revision {revision})")
        }
        PushOutcome::Planned => {
            format!("{source}: planned against revision {revision}, not applied ({counts})")
        }
        PushOutcome::Refused => format!("{source}: refused; nothing applied"),
    }
}

/// The plan as Markdown for a pull-request comment, then what happened.
fn markdown_report(reply: &PushReply) -> String {
    let source = &reply.source;
    let revision = reply.revision;
    let Some(plan) = &reply.plan else {
        return format!(
            "### actionsync plan for `{source}`\n\nUnchanged: this spec is the one applied as revision {revision}; nothing to do.\n"
        );
    };
    let mut out = plan::markdown(plan);
    if !out.ends_with("\n\n") {
        out.push('\n');
    }
    let line = match reply.outcome {
        PushOutcome::Applied => format!("**Applied** as revision {revision}."),
        PushOutcome::Unchanged | PushOutcome::NoChanges => {
            format!("No changes: the catalogue matches the spec (revision {revision}).")
        }
        PushOutcome::Planned => format!(
            "Dry run against revision {revision}: nothing applied yet; deploying applies this plan."
        ),
        PushOutcome::Refused => "**Refused**: nothing will be applied.".to_string(),
    };
    out.push_str(&line);
    out.push('\n');
    out
}

/// `2 created, 1 updated`, or `nothing`.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_the_prefix_and_encode_the_source() {
        let server = Url::parse("https://host/actionsync/").unwrap();
        let url = push_url(&server, "billing", true, false, &PushOptions::default()).unwrap();
        assert_eq!(
            url.as_str(),
            "https://host/actionsync/v1/sources/billing/spec?dry_run=true"
        );
        let base = Url::parse("https://api.example.com/v1").unwrap();
        let url = push_url(
            &server,
            "billing",
            false,
            false,
            &PushOptions {
                name_prefix: Some("bill"),
                base_url: Some(&base),
            },
        )
        .unwrap();
        assert_eq!(
            url.as_str(),
            "https://host/actionsync/v1/sources/billing/spec?name_prefix=bill&base_url=https%3A%2F%2Fapi.example.com%2Fv1"
        );
        let server = Url::parse("https://host/actionsync").unwrap();
        let url = push_url(&server, "a b/c", false, true, &PushOptions::default()).unwrap();
        assert_eq!(
            url.as_str(),
            "https://host/actionsync/v1/sources/a%20b%2Fc/spec?force=true"
        );
        let server = Url::parse("http://127.0.0.1:8080").unwrap();
        let url = push_url(&server, "billing", false, false, &PushOptions::default()).unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:8080/v1/sources/billing/spec"
        );
        assert!(
            push_url(
                &Url::parse("ftp://host/").unwrap(),
                "b",
                false,
                false,
                &PushOptions::default()
            )
            .is_err()
        );
        assert!(is_loopback(&Url::parse("http://127.0.0.1:8080/").unwrap()));
        assert!(is_loopback(&Url::parse("http://[::1]/").unwrap()));
        assert!(is_loopback(&Url::parse("http://LOCALHOST/").unwrap()));
        assert!(!is_loopback(
            &Url::parse("http://actionsync.internal/").unwrap()
        ));
        assert!(
            push_url(
                &Url::parse("https://host/?x=1").unwrap(),
                "b",
                false,
                false,
                &PushOptions::default()
            )
            .is_err()
        );
    }

    #[test]
    fn content_is_sniffed() {
        assert_eq!(sniff(b"  \n{\"openapi\": \"3.0.0\"}"), "application/json");
        assert_eq!(sniff(b"\xEF\xBB\xBF[1]"), "application/json");
        assert_eq!(sniff(b"openapi: 3.0.0\n"), "application/yaml");
        assert_eq!(sniff(b"---\n{a: 1}"), "application/yaml");
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let first = Duration::from_millis(500);
        let waits: Vec<String> = (1..=6).map(|a| show_duration(backoff(first, a))).collect();
        assert_eq!(waits, ["500ms", "1s", "2s", "4s", "8s", "8s"]);
        assert_eq!(backoff(first, 400), MAX_RETRY_DELAY);
    }

    #[test]
    fn tokens_are_trimmed_and_never_shown() {
        let token = read_token(" s3cret\n").unwrap();
        assert!(!format!("{token:?}").contains("s3cret"));
        let header = token.bearer().unwrap();
        assert_eq!(header.to_str().unwrap(), "Bearer s3cret");
        assert!(header.is_sensitive());
        assert!(read_token("  ").unwrap().bearer().is_err());
        let err = read_token("two words").unwrap().bearer().unwrap_err();
        assert!(!err.contains("two words"), "{err}");
    }
}
