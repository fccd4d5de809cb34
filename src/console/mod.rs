//! The web console under `/ui/`: server-rendered HTML (`maud`, which escapes
//! every value it interpolates) with a small script and a stylesheet compiled
//! into the binary. Reading works without JavaScript: every change is a form
//! that POSTs and redirects (or renders its answer).
//!
//! Sign-in takes an admin or curator token ([`crate::store::TokenScope`]); tools
//! and push tokens cannot sign in. A session is a random id in an HttpOnly,
//! SameSite=Strict cookie scoped to `/ui`; the catalogue keeps only its SHA-256,
//! with the token it belongs to and a CSRF token (so replicas sharing a
//! catalogue share sessions). Sessions last [`SESSION_HOURS`] from sign-in (a
//! fixed expiry, not sliding); signing out deletes the row, and revoking the
//! token ends its sessions. Every POST must carry the session's CSRF token (a
//! form field or the `X-CSRF-Token` header) and must not come from another site
//! (`Origin`, `Sec-Fetch-Site`).
//!
//! The cookie is `Secure` unless the browser reached the server at a loopback
//! address (`Host: 127.0.0.1:…`, `localhost`, `[::1]`): anywhere else the console
//! is expected over TLS (`serve`'s own, or a proxy that terminates it), and a
//! `Secure` cookie never travels in clear.
//!
//! The console changes the catalogue only through the calls the API makes
//! ([`crate::api::curate::edit_hand`], [`crate::api::curate::rollback_source`],
//! [`crate::api::push::plan_spec`], [`crate::api::test::run_test`]).

mod actions;
mod assets;
mod audience;
mod layout;
mod sources;

use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::html;
use serde::Deserialize;

use crate::api::{ApiError, ApiState, auth};
use crate::store::{Store, TokenRecord, TokenScope, now_ms};

/// How long a session lasts from sign-in.
pub const SESSION_HOURS: i64 = 12;

/// The session cookie's name.
const COOKIE: &str = "actionsync_session";

/// The Content-Security-Policy of every console answer: nothing inline, nothing
/// from elsewhere.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; connect-src 'self'";

/// What the console's handlers share.
#[derive(Clone)]
pub struct Console {
    api: ApiState,
}

/// The console's routes, under `/ui/`. `api` is the API's state, shared so that
/// the console's rollbacks and plans queue with the API's pushes.
pub fn router(api: ApiState) -> Router {
    let console = Console { api };
    Router::new()
        .route("/ui", get(|| async { Redirect::to("/ui/") }))
        .route("/ui/", get(|| async { Redirect::to("/ui/actions") }))
        .route("/ui/sign-in", get(sign_in_page).post(sign_in))
        .route("/ui/sign-out", post(sign_out))
        .route("/ui/assets/{file}", get(assets::serve))
        .route("/ui/sources", get(sources::list))
        .route("/ui/sources/{name}/reconcile", post(sources::reconcile))
        .route("/ui/sources/{name}/revisions", get(sources::revisions))
        .route(
            "/ui/sources/{name}/revisions/{number}",
            get(sources::revision),
        )
        .route("/ui/sources/{name}/rollback", post(sources::rollback))
        .route(
            "/ui/sources/{name}/plan",
            get(sources::plan_page).post(sources::plan),
        )
        .route("/ui/actions", get(actions::list))
        .route("/ui/actions/{id}", get(actions::page))
        .route("/ui/actions/{id}/edit", post(actions::edit))
        .route("/ui/actions/{id}/pin", post(actions::pin))
        .route("/ui/actions/{id}/unpin", post(actions::unpin))
        .route("/ui/actions/{id}/test", post(actions::test))
        .route("/ui/audience", get(audience::page))
        .route("/ui/{*rest}", get(not_found))
        .route("/", get(root))
        .layer(middleware::from_fn(security_headers))
        .with_state(console)
}

/// `GET /`: a browser goes to the console; anything else learns where the API
/// is described.
async fn root(headers: HeaderMap) -> Response {
    let browser = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if browser {
        Redirect::to("/ui/").into_response()
    } else {
        ApiError::NotFound(
            "no route /; the API is described at /openapi.json, and the console is at /ui/"
                .to_string(),
        )
        .into_response()
    }
}

/// Whether a host (`127.0.0.1:8080`, `[::1]:80`, `localhost:8080`, as the
/// `Host` header names it) is on the loopback interface.
fn is_loopback(listen: &str) -> bool {
    let host = listen
        .rsplit_once(':')
        .map_or(listen, |(host, _)| host)
        .trim_start_matches('[')
        .trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The headers of every console answer: the CSP, no sniffing, no framing, no
/// referrer, and pages never cached (assets set their own `Cache-Control`).
async fn security_headers(request: axum::extract::Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

async fn not_found(session: Option<Session>) -> Response {
    let body = html! {
        h1 { "Not found" }
        p { "There is no such page. " a href="/ui/actions" { "Back to the actions" } }
    };
    (
        StatusCode::NOT_FOUND,
        layout::page("Not found", session.as_ref(), layout::Nav::None, body),
    )
        .into_response()
}

// ---------------------------------------------------------------------------
// Sessions
// ---------------------------------------------------------------------------

/// A signed-in person: the token they signed in with and the session's CSRF
/// token. Taking it as an argument makes a handler unreachable without a
/// session: the rejection is a redirect to the sign-in page.
#[derive(Debug, Clone)]
pub struct Session {
    token: TokenRecord,
    csrf: String,
}

impl Session {
    /// Whether the token may do what `need` needs.
    fn allows(&self, need: auth::Need<'_>) -> bool {
        auth::allows(&self.token, need).is_ok()
    }

    /// The audit's actor for changes made in this session.
    fn actor(&self) -> String {
        format!("console:{}", self.token.name)
    }

    /// `Err(Forbidden)` unless the token may do what `need` needs.
    fn require(&self, need: auth::Need<'_>) -> Result<(), ApiError> {
        auth::allows(&self.token, need).map_err(ApiError::Forbidden)
    }

    /// Refuses a write whose CSRF token is not the session's.
    fn check_csrf(&self, sent: &str) -> Result<(), ApiError> {
        // Constant time: the comparison says nothing about how much matched.
        let same = sent.len() == self.csrf.len()
            && sent
                .bytes()
                .zip(self.csrf.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if same {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "the form's CSRF token is missing or not this session's: reload the page and try again"
                    .to_string(),
            ))
        }
    }
}

impl FromRequestParts<Console> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, console: &Console) -> Result<Self, Response> {
        let to_sign_in = || {
            let next = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/ui/actions");
            let location = if parts.method == Method::GET && next.starts_with("/ui/") {
                format!("/ui/sign-in?next={}", encode(next))
            } else {
                "/ui/sign-in".to_string()
            };
            Redirect::to(&location).into_response()
        };
        let Some(id) = cookie(&parts.headers, COOKIE) else {
            return Err(to_sign_in());
        };
        match console
            .api
            .daemon()
            .store
            .session(&auth::hash(id), now_ms())
            .await
        {
            Ok(Some(session)) => Ok(Session {
                token: session.token,
                csrf: session.csrf,
            }),
            Ok(None) => Err(to_sign_in()),
            Err(e) => Err(error_page(None, ApiError::from(e))),
        }
    }
}

impl axum::extract::OptionalFromRequestParts<Console> for Session {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        console: &Console,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(
            <Session as FromRequestParts<Console>>::from_request_parts(parts, console)
                .await
                .ok(),
        )
    }
}

/// A cookie's value from the request's `Cookie` headers.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// 32 random bytes, hex.
fn random_hex() -> Result<String, ApiError> {
    auth::random_bytes()
        .map(|bytes| crate::source::hex(&bytes))
        .map_err(|e| ApiError::Internal(format!("no random bytes for a session: {e}")))
}

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Refuses a POST sent from another site: its `Origin` names another host, or
/// the browser says it is cross-site.
fn same_site(headers: &HeaderMap) -> Result<(), ApiError> {
    let refuse = || {
        Err(ApiError::Forbidden(
            "this form was sent from another site; the console takes changes only from its own pages"
                .to_string(),
        ))
    };
    if headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|site| site == "cross-site" || site == "same-site")
    {
        return refuse();
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let origin_host = origin.split_once("://").map_or("", |(_, rest)| rest);
        if origin == "null" || !origin_host.eq_ignore_ascii_case(host) {
            return refuse();
        }
    }
    Ok(())
}

/// The CSRF checks of a write: same site, and the session's token in the form
/// (or the `X-CSRF-Token` header).
fn check_write(session: &Session, headers: &HeaderMap, form_csrf: &str) -> Result<(), ApiError> {
    same_site(headers)?;
    let sent = if form_csrf.is_empty() {
        headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    } else {
        form_csrf
    };
    session.check_csrf(sent)
}

#[derive(Debug, Default, Deserialize)]
struct SignInQuery {
    next: Option<String>,
    #[serde(default)]
    signed_out: bool,
}

async fn sign_in_page(axum::extract::Query(query): axum::extract::Query<SignInQuery>) -> Response {
    let notice = query
        .signed_out
        .then_some("You are signed out.")
        .map(str::to_string);
    sign_in_form(StatusCode::OK, query.next.as_deref(), None, notice)
}

fn sign_in_form(
    status: StatusCode,
    next: Option<&str>,
    error: Option<String>,
    notice: Option<String>,
) -> Response {
    let body = html! {
        div.signin {
            h1 { "actionsync" }
            p.muted { "Sign in with an admin or curator token (" code { "actionsync token create --curator" } ")." }
            @if let Some(error) = &error {
                p.flash.error role="alert" { (error) }
            }
            @if let Some(notice) = &notice {
                p.flash.ok role="status" { (notice) }
            }
            form method="post" action="/ui/sign-in" {
                input type="hidden" name="next" value=(next.unwrap_or(""));
                label for="token" { "Token" }
                input #token type="password" name="token" autocomplete="off" required autofocus;
                button.primary type="submit" { "Sign in" }
            }
        }
    };
    (
        status,
        layout::page("Sign in", None, layout::Nav::None, body),
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
struct SignInForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    next: String,
}

async fn sign_in(
    State(console): State<Console>,
    headers: HeaderMap,
    form: Result<axum::Form<SignInForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    if let Err(e) = same_site(&headers) {
        return error_page(None, e);
    }
    let Ok(axum::Form(form)) = form else {
        return sign_in_form(
            StatusCode::BAD_REQUEST,
            None,
            Some("Enter a token.".to_string()),
            None,
        );
    };
    let next = Some(form.next.as_str()).filter(|n| is_console_path(n));
    let store = &console.api.daemon().store;
    let token = match store.token_by_hash(&auth::hash(form.token.trim())).await {
        Ok(token) => token,
        Err(e) => return error_page(None, e.into()),
    };
    let refuse = |message: &str| {
        sign_in_form(
            StatusCode::UNAUTHORIZED,
            next,
            Some(message.to_string()),
            None,
        )
    };
    let Some(token) = token else {
        return refuse("That token is not valid here: it was revoked, or never created.");
    };
    if !matches!(token.scope, TokenScope::Admin | TokenScope::Curator) {
        tracing::info!(token = %token.name, scope = token.scope.as_str(), "console sign-in refused");
        return refuse(&format!(
            "A {} token cannot sign in to the console: use an admin or curator token.",
            token.scope.as_str()
        ));
    }
    let (id, csrf) = match (random_hex(), random_hex()) {
        (Ok(id), Ok(csrf)) => (id, csrf),
        (Err(e), _) | (_, Err(e)) => return error_page(None, e),
    };
    let expires_at = now_ms() + SESSION_HOURS * 3_600_000;
    if let Err(e) = store
        .create_session(&auth::hash(&id), token.id, &csrf, expires_at)
        .await
    {
        return error_page(None, e.into());
    }
    tracing::info!(token = %token.name, "console sign-in");
    let mut cookie = format!(
        "{COOKIE}={id}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age={}",
        SESSION_HOURS * 3600
    );
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !is_loopback(host) {
        cookie.push_str("; Secure");
    }
    let mut response = Redirect::to(next.unwrap_or("/ui/actions")).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// Whether `next` is a console page to go back to (never another site).
fn is_console_path(next: &str) -> bool {
    next.starts_with("/ui/") && !next.starts_with("//") && !next.contains('\\')
}

#[derive(Debug, Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn sign_out(
    State(console): State<Console>,
    session: Session,
    headers: HeaderMap,
    axum::Form(form): axum::Form<CsrfForm>,
) -> Response {
    if let Err(e) = check_write(&session, &headers, &form.csrf) {
        return error_page(Some(&session), e);
    }
    if let Some(id) = cookie(&headers, COOKIE)
        && let Err(e) = console
            .api
            .daemon()
            .store
            .delete_session(&auth::hash(id))
            .await
    {
        return error_page(Some(&session), e.into());
    }
    let mut response = Redirect::to("/ui/sign-in?signed_out=true").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "actionsync_session=; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
    response
}

/// An error as a page: the API's status and message (internal detail goes to
/// the log only, as the API's answer puts it there).
fn error_page(session: Option<&Session>, error: ApiError) -> Response {
    let message = match &error {
        ApiError::Internal(_) => {
            "Something went wrong on the server; its log has the details.".to_string()
        }
        other => other.to_string(),
    };
    let status = error.into_response().status();
    let body = html! {
        h1 { (status.canonical_reason().unwrap_or("Error")) }
        p.flash.error role="alert" { (message) }
        p { a href="/ui/actions" { "Back to the actions" } }
    };
    (
        status,
        layout::page("Error", session, layout::Nav::None, body),
    )
        .into_response()
}

/// Milliseconds since the epoch as `2026-05-01 14:03 UTC`.
fn format_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| "-".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_listeners_get_no_secure_cookie() {
        assert!(is_loopback("127.0.0.1:8080"));
        assert!(is_loopback("[::1]:8080"));
        assert!(is_loopback("localhost:8080"));
        assert!(!is_loopback("0.0.0.0:8080"));
        assert!(!is_loopback("10.0.0.5:80"));
    }

    #[test]
    fn next_never_leaves_the_console() {
        assert!(is_console_path("/ui/actions?q=x"));
        assert!(!is_console_path("//evil.example/ui/"));
        assert!(!is_console_path("https://evil.example/ui/"));
        assert!(!is_console_path("/v1/tools"));
    }

    #[test]
    fn cookies_are_read_by_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; actionsync_session=abc; b=2"),
        );
        assert_eq!(cookie(&headers, COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "c"), None);
    }

    #[test]
    fn cross_site_posts_are_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(same_site(&headers).is_ok());
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(same_site(&headers).is_ok());
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(same_site(&headers).is_err());
    }
}
