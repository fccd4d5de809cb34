//! `POST /v1/actions/{id}/test`: the console's Test button. Calls the action as
//! the platform would (see [`crate::call`]) and answers the same report as
//! `actionsync test --output json`. Admin token.
//!
//! The server calls out on a curator's behalf, so it must not become a way into
//! the private network: loopback, private, link-local and metadata addresses are
//! refused (after DNS resolution, on every redirect) unless the config's
//! `test.allow_networks` lists them; plain `http://` only with `test.allow_http`.
//! Each token may start `test.rate_limit` tests a minute (a burst of as many).

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use super::curate::{action_id, parse_body};
use super::{ApiError, ApiState, auth, json};
use crate::call::report::TestReport;
use crate::call::{self, CallError, CallOptions, TestInput, send::AddressPolicy};
use crate::store::{Store, TokenRecord};

/// Tests started per token, under the rate the config set.
#[derive(Default)]
pub struct TestLimits {
    limiter: Mutex<Option<(u32, Arc<DefaultKeyedRateLimiter<i64>>)>>,
}

impl TestLimits {
    /// Counts one test by `token`; `Err` with the seconds to wait when it is over
    /// `per_minute`.
    fn check(&self, token: i64, per_minute: u32) -> Result<(), u64> {
        let Some(rate) = NonZeroU32::new(per_minute) else {
            return Err(60);
        };
        let limiter = {
            let mut slot = self
                .limiter
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match &*slot {
                // The config may change on SIGHUP: a new rate starts afresh.
                Some((current, limiter)) if *current == per_minute => limiter.clone(),
                _ => {
                    let limiter = Arc::new(DefaultKeyedRateLimiter::keyed(Quota::per_minute(rate)));
                    *slot = Some((per_minute, limiter.clone()));
                    limiter
                }
            }
        };
        limiter.retain_recent();
        limiter.check_key(&token).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_secs().max(1)
        })
    }
}

/// `POST /v1/actions/{id}/test`.
pub async fn test_action(
    State(api): State<ApiState>,
    path: Result<Path<i64>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let token = api.authorize(&headers, auth::Need::Curate).await?;
    let id = action_id(path)?;
    // The rate limit counts before the body is read, as before the extraction.
    let input = move || -> Result<TestInput, ApiError> {
        parse_body(
            body,
            "{\"args\": {\"order_id\": \"42\"}, \"context\": {\"contact.email\": \"jane@example.com\"}, \"timeout\": 10}",
        )
    };
    let report = run_test(&api, &token, id, input).await?;
    Ok(json(StatusCode::OK, &report))
}

/// Calls action `id` for `token` (under its rate limit) with the input
/// `input` gives: what `POST /v1/actions/{id}/test` and the console's Test
/// button both call.
pub async fn run_test(
    api: &ApiState,
    token: &TokenRecord,
    id: i64,
    input: impl FnOnce() -> Result<TestInput, ApiError>,
) -> Result<TestReport, ApiError> {
    let config = api
        .daemon()
        .config
        .lock()
        .map(|c| c.clone())
        .unwrap_or_default();
    let settings = &config.test;
    if settings.rate_limit == 0 {
        return Err(ApiError::Forbidden(
            "tests are off on this server: its config's test.rate_limit is 0".to_string(),
        ));
    }
    api.inner
        .tests
        .check(token.id, settings.rate_limit)
        .map_err(|retry_after| ApiError::TooManyRequests {
            message: format!(
                "this token started {} tests in the last minute (the config's test.rate_limit); try again in {retry_after} s",
                settings.rate_limit
            ),
            retry_after,
        })?;
    let input = input()?;
    let store = &api.daemon().store;
    let action = store
        .action(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no action with id {id}")))?;
    let spec = call::current_spec(store, &action).await?;
    let options = CallOptions {
        globals: call::read_globals(settings, &config.base_dir, |k| std::env::var(k).ok())
            .map_err(setup_error)?,
        context_headers: settings.context_headers,
        allow_http: settings.allow_http,
        addresses: AddressPolicy {
            allow_all: false,
            allowed: settings.allow_networks.clone(),
        },
        ca_cert: settings
            .ca_cert
            .as_deref()
            .map(|path| call::read_ca_cert(path, &config.base_dir))
            .transpose()
            .map_err(setup_error)?,
        timeout: call::timeout(input.timeout)
            .map_err(|e| ApiError::InvalidRequest(e.to_string()))?,
    };
    let report = call::test_action(&action, spec.as_deref(), &input, &options)
        .await
        .map_err(|e| match e {
            CallError::Build(e) => ApiError::InvalidTest(e.to_string()),
            CallError::Setup(m) => ApiError::TestSetup(m),
        })?;
    tracing::info!(
        action = id,
        name = %action.name,
        token = %token.name,
        outcome = report.outcome,
        status = report.response.as_ref().map(|r| r.status),
        latency_ms = report.latency_ms,
        "test"
    );
    Ok(report)
}

/// A server-side problem with the test settings: the message names the
/// variable or file, never a value.
fn setup_error(e: CallError) -> ApiError {
    ApiError::TestSetup(e.to_string())
}
