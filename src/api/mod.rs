//! The HTTP API served by `actionsync serve`, documented in `openapi.json`
//! (served at `/openapi.json`).
//!
//! - For CI on deploy ([`push`]): `PUT /v1/sources/{name}/spec` plans and applies
//!   a spec, or with `?dry_run=true` only plans it, and answers the plan.
//! - For the people who curate the catalogue ([`curate`]): actions, sources and
//!   revisions; hand-owned fields with `If-Match`; pausing a source; rollback.
//! - The console's Test button ([`test`]): `POST /v1/actions/{id}/test` calls an
//!   action as the platform would and answers what came back.
//! - For the AI at run time ([`runtime`]): `GET /v1/tools`, the tool list one
//!   contact may see on one channel, filtered here, never by the caller.
//!
//! Every route takes a bearer token ([`auth`]): push tokens for their sources,
//! tools tokens for the tool list, admin tokens for everything. Spec changes go
//! through [`crate::sync::reconcile`], like the CLI's and the watcher's; pushes to
//! one source queue behind each other in this process, and the store's
//! per-source lock serialises them across replicas.
//!
//! Errors: every error answer is an [`wire::ErrorBody`] with a stable code and a
//! message that says what to do. The message a client sees never holds internal
//! detail (database errors are logged, and the client gets `internal`).

pub mod auth;
pub mod curate;
pub mod limit;
pub mod push;
pub mod runtime;
pub mod test;
pub mod wire;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use tracing::warn;

use crate::daemon::Daemon;
use crate::store::{Store, StoreError, TokenRecord};
use crate::sync::SyncError;
use wire::ErrorBody;

/// This API's OpenAPI 3.1 document.
pub const OPENAPI: &str = include_str!("openapi.json");

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    inner: Arc<Inner>,
}

struct Inner {
    daemon: Arc<Daemon>,
    /// One lock per source: pushes and rollbacks of a source in this process queue
    /// here instead of racing to the store and retrying.
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    tools: runtime::ToolCache,
    /// Tests started per token, for the rate limit.
    tests: test::TestLimits,
}

impl ApiState {
    /// The state for a running daemon.
    pub fn new(daemon: Arc<Daemon>) -> ApiState {
        ApiState {
            inner: Arc::new(Inner {
                daemon,
                locks: Mutex::new(HashMap::new()),
                tools: runtime::ToolCache::default(),
                tests: test::TestLimits::default(),
            }),
        }
    }

    /// The running daemon: its store, config and sources.
    pub fn daemon(&self) -> &Daemon {
        &self.inner.daemon
    }

    /// The lock that serialises changes to one source in this process.
    pub fn source_lock(&self, source: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self
            .inner
            .locks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        locks.entry(source.to_string()).or_default().clone()
    }

    /// The caller's token, if it may do what the request needs.
    async fn authorize(
        &self,
        headers: &HeaderMap,
        need: auth::Need<'_>,
    ) -> Result<TokenRecord, ApiError> {
        let secret = bearer(headers)?;
        let token = self
            .daemon()
            .store
            .token_by_hash(&auth::hash(secret))
            .await?;
        allowed(token, need)
    }

    /// [`Self::authorize`], also reading the catalogue's generation in the same
    /// round trip (the tool list needs both on every request).
    async fn authorize_with_generation(
        &self,
        headers: &HeaderMap,
        need: auth::Need<'_>,
    ) -> Result<(TokenRecord, i64), ApiError> {
        let secret = bearer(headers)?;
        let (token, generation) = self
            .daemon()
            .store
            .token_and_generation(&auth::hash(secret))
            .await?;
        Ok((allowed(token, need)?, generation))
    }
}

fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    auth::bearer(headers).ok_or_else(|| {
        ApiError::Unauthorized(
            "send a token: Authorization: Bearer <token> (create one with actionsync token create)"
                .to_string(),
        )
    })
}

fn allowed(token: Option<TokenRecord>, need: auth::Need<'_>) -> Result<TokenRecord, ApiError> {
    let token = token.ok_or_else(|| {
        ApiError::Unauthorized(
            "the token is not valid: it was revoked, or never created here".to_string(),
        )
    })?;
    auth::allows(&token, need).map_err(ApiError::Forbidden)?;
    Ok(token)
}

/// The API's routes.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/v1/sources/{name}/spec", put(push::push))
        .route("/v1/sources", get(curate::sources))
        .route("/v1/sources/{name}/revisions", get(curate::revisions))
        .route(
            "/v1/sources/{name}/revisions/{number}",
            get(curate::revision),
        )
        .route("/v1/sources/{name}/rollback", post(curate::rollback))
        .route("/v1/sources/{name}/pause", post(curate::pause))
        .route("/v1/sources/{name}/resume", post(curate::resume))
        .route("/v1/actions", get(curate::actions))
        .route(
            "/v1/actions/{id}",
            get(curate::action).patch(curate::edit_action),
        )
        .route("/v1/actions/{id}/test", post(test::test_action))
        .route("/v1/tools", get(runtime::tools))
        .with_state(state)
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

/// An error answer. The message is for the client; internal detail goes to the log.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed.
    #[error("{0}")]
    InvalidRequest(String),
    /// 400: the pushed spec cannot be read.
    #[error("{0}")]
    InvalidSpec(String),
    /// 401: no token, or not a valid one.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the token may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// 404.
    #[error("{0}")]
    NotFound(String),
    /// 405: the route exists, the method does not.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 408: the body did not arrive in time.
    #[error("{0}")]
    RequestTimeout(String),
    /// 409: the request conflicts with the catalogue or the config.
    #[error("{0}")]
    Conflict(String),
    /// 409: the source is read from a file, folder or URL by the server's config.
    #[error("{0}")]
    WatchedSource(String),
    /// 409: the name is taken by another active action.
    #[error("{0}")]
    NameTaken(String),
    /// 503: other applies to the source kept getting in first; retrying succeeds.
    #[error("{0}")]
    Busy(String),
    /// 412: `If-Match` names a version that is no longer current.
    #[error("{message}")]
    Stale {
        /// What happened and what to do.
        message: String,
        /// The current version, sent as the `ETag`.
        current: i64,
    },
    /// 413: the body is larger than the limit.
    #[error("{0}")]
    TooLarge(String),
    /// 422: a valid request the catalogue refuses (an invalid hand edit).
    #[error("{0}")]
    Unprocessable(String),
    /// 422: `strict=true`, and some of the tools cannot be strict.
    #[error("{0}")]
    NotStrict(String),
    /// 422: the test's arguments, body or context do not make a request.
    #[error("{0}")]
    InvalidTest(String),
    /// 429: the token started too many tests in the last minute.
    #[error("{message}")]
    TooManyRequests {
        /// What happened and when to try again.
        message: String,
        /// Seconds until a test is allowed again, sent as `Retry-After`.
        retry_after: u64,
    },
    /// 500: the server's test settings do not work (a global variable's
    /// environment variable or file, the CA bundle); the message names it.
    #[error("{0}")]
    TestSetup(String),
    /// 428: a change without `If-Match`.
    #[error("{0}")]
    PreconditionRequired(String),
    /// 500: logged in full; the client learns only that it happened.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::InvalidRequest(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            ApiError::InvalidSpec(_) => (StatusCode::BAD_REQUEST, "invalid_spec"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::RequestTimeout(_) => (StatusCode::REQUEST_TIMEOUT, "timeout"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::WatchedSource(_) => (StatusCode::CONFLICT, "watched_source"),
            ApiError::NameTaken(_) => (StatusCode::CONFLICT, "name_taken"),
            ApiError::Busy(_) => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
            ApiError::Stale { .. } => (StatusCode::PRECONDITION_FAILED, "stale"),
            ApiError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            ApiError::Unprocessable(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_edit"),
            ApiError::NotStrict(_) => (StatusCode::UNPROCESSABLE_ENTITY, "not_strict"),
            ApiError::InvalidTest(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_test"),
            ApiError::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::TestSetup(_) => (StatusCode::INTERNAL_SERVER_ERROR, "test_setup"),
            ApiError::PreconditionRequired(_) => {
                (StatusCode::PRECONDITION_REQUIRED, "precondition_required")
            }
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = match &self {
            ApiError::Internal(detail) => {
                warn!(error = %detail, "internal error answering a request");
                "internal error; the server's log has the details".to_string()
            }
            other => other.to_string(),
        };
        let mut response = (
            status,
            axum::Json(ErrorBody {
                error: code.to_string(),
                message,
            }),
        )
            .into_response();
        match &self {
            ApiError::Unauthorized(_) => {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"actionsync\""),
                );
            }
            // The rest of an oversized body is not read: the connection cannot
            // carry another request, so say so instead of resetting it.
            ApiError::TooLarge(_) | ApiError::RequestTimeout(_) => {
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            ApiError::Busy(_) => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            ApiError::TooManyRequests { retry_after, .. } => {
                if let Ok(value) = HeaderValue::from_str(&retry_after.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
            }
            ApiError::Stale { current, .. } if *current >= 0 => {
                if let Ok(value) = HeaderValue::from_str(&etag(*current)) {
                    response.headers_mut().insert(header::ETAG, value);
                }
            }
            _ => {}
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::NotFound(m) => ApiError::NotFound(m),
            StoreError::Stale { current, .. } => ApiError::Stale {
                message: format!("{e}; send If-Match: \"{current}\" after reading it again"),
                current,
            },
            StoreError::NameTaken(_) => ApiError::NameTaken(e.to_string()),
            StoreError::Conflict { .. } => ApiError::Busy(format!(
                "{e}; other changes to the source kept landing first: send the request again"
            )),
            StoreError::Invalid(m) => ApiError::Unprocessable(m),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<SyncError> for ApiError {
    fn from(e: SyncError) -> ApiError {
        match e {
            SyncError::Load(load) => {
                let message = load.to_string();
                if matches!(
                    &load,
                    crate::source::LoadError::Parse {
                        source: crate::spec::ParseError::TooLarge { .. },
                        ..
                    }
                ) {
                    ApiError::TooLarge(message)
                } else {
                    ApiError::InvalidSpec(message)
                }
            }
            SyncError::Store(store) => store.into(),
            SyncError::NotPaused {
                source_name,
                location,
                ..
            } => ApiError::Conflict(format!(
                "source `{source_name}` is read from {location}: its next change there would undo the rollback; pause it first (POST /v1/sources/{source_name}/pause), or send \"pause\": true"
            )),
            SyncError::Internal(m) => ApiError::Internal(m),
        }
    }
}

/// An action's row version as an entity tag.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// Answers a JSON body with a status.
fn json<T: serde::Serialize>(status: StatusCode, value: &T) -> Response {
    (status, axum::Json(value)).into_response()
}

#[cfg(test)]
mod tests {
    use crate::convert::{ConvertOptions, convert};
    use crate::diagnostic::Severity;
    use crate::source::{LoadOptions, SpecLocation, load};

    /// The API's own description converts like any spec: every operation becomes
    /// an action, with no error.
    #[test]
    fn the_openapi_document_converts_cleanly() {
        let location = SpecLocation::Bytes {
            name: "openapi.json".to_string(),
            bytes: super::OPENAPI.as_bytes().to_vec(),
        };
        let spec = load(&location, &LoadOptions::default()).expect("the document loads");
        let conversion = convert(
            &spec,
            &ConvertOptions {
                source: "actionsync".to_string(),
                ..ConvertOptions::default()
            },
        );
        let errors: Vec<_> = conversion
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
        assert!(conversion.skipped.is_empty(), "{:#?}", conversion.skipped);
        let mut names: Vec<&str> = conversion
            .actions
            .iter()
            .map(|a| a.spec.name.as_str())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "check_service_health",
                "check_service_readiness",
                "get_action",
                "get_api_description",
                "get_prometheus_metrics",
                "get_source_revision",
                "list_actions",
                "list_source_revisions",
                "list_sources",
                "list_tools_for_contact",
                "pause_source",
                "push_source_spec",
                "resume_source",
                "rollback_source",
                "test_action",
                "update_action_hand_fields",
            ]
        );
    }
}
