//! The routes `serve` answers: liveness, readiness, Prometheus metrics, and the
//! API ([`crate::api`]) behind its rate limits.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::daemon::Daemon;

#[derive(Clone)]
struct AppState {
    daemon: Arc<Daemon>,
    metrics: Option<PrometheusHandle>,
}

/// The routes: `/healthz` (the process is up), `/readyz` (migrations ran and
/// every source was reconciled once), `/metrics`, and the API's.
pub fn router(daemon: Arc<Daemon>, metrics: Option<PrometheusHandle>) -> Router {
    let limits = daemon
        .config
        .lock()
        .map(|c| c.rate_limit)
        .unwrap_or_default();
    let state = crate::api::ApiState::new(daemon.clone());
    let api = crate::api::limit::limited(crate::api::router(state.clone()), limits)
        .merge(crate::console::router(state)); // the console under /ui/, and `/` for a browser
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(render_metrics))
        .with_state(AppState { daemon, metrics })
        .merge(api)
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
}

async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    if state.daemon.ready.load(Ordering::SeqCst) {
        (StatusCode::OK, "ready\n")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "starting: the first reconcile of every source is not done\n",
        )
    }
}

async fn render_metrics(State(state): State<AppState>) -> impl IntoResponse {
    match &state.metrics {
        Some(handle) => (
            StatusCode::OK,
            [("content-type", "text/plain; version=0.0.4")],
            handle.render(),
        ),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            [("content-type", "text/plain; version=0.0.4")],
            "metrics are not available in this process\n".to_string(),
        ),
    }
}

async fn not_found(uri: axum::http::Uri) -> crate::api::ApiError {
    crate::api::ApiError::NotFound(format!(
        "no route {}; the API is described at /openapi.json",
        uri.path()
    ))
}

async fn method_not_allowed(
    method: axum::http::Method,
    uri: axum::http::Uri,
) -> crate::api::ApiError {
    crate::api::ApiError::MethodNotAllowed(format!(
        "{method} is not allowed on {}; the Allow header lists what is, and /openapi.json describes the API",
        uri.path()
    ))
}
