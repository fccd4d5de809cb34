//! Rate limits on the whole API, per token and per client address (config
//! `rate_limit`), with `tower_governor`: past a limit, `429 rate_limited` with
//! `Retry-After`. `/healthz`, `/readyz` and `/metrics` are not limited: probes
//! and scrapers must always get through.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response, header};
use axum::response::IntoResponse;
use sha2::{Digest, Sha256};
use tower_governor::GovernorError;
use tower_governor::GovernorLayer;
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::KeyExtractor;

use super::ApiError;
use crate::config::RateLimits;

/// The requests' bearer token, hashed (a limiter's keys stay in memory); one key
/// for every request without one, which are answered 401 anyway.
#[derive(Debug, Clone, Copy)]
struct TokenKey;

impl KeyExtractor for TokenKey {
    type Key = [u8; 32];

    fn extract<T>(&self, req: &Request<T>) -> Result<Self::Key, GovernorError> {
        let token = req
            .headers()
            .get(header::AUTHORIZATION)
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        Ok(Sha256::digest(token).into())
    }
}

/// The client's address, from the connection (not from headers a client sets).
#[derive(Debug, Clone, Copy)]
struct AddressKey;

impl KeyExtractor for AddressKey {
    type Key = std::net::IpAddr;

    fn extract<T>(&self, req: &Request<T>) -> Result<Self::Key, GovernorError> {
        req.extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            .ok_or(GovernorError::UnableToExtractKey)
    }
}

/// `router` with the limits in force. The limiters forget idle keys every minute.
/// Must run inside the server's runtime.
pub fn limited(mut router: Router, limits: RateLimits) -> Router {
    let burst = limits.burst.max(1);
    if limits.per_token > 0
        && let Some(config) = GovernorConfigBuilder::default()
            .per_nanosecond(1_000_000_000 / u64::from(limits.per_token))
            .burst_size(burst)
            .key_extractor(TokenKey)
            .finish()
    {
        let limiter = config.limiter().clone();
        forget_idle_keys(move || limiter.retain_recent());
        router = router.layer(GovernorLayer::new(config).error_handler(answer));
    }
    if limits.per_address > 0
        && let Some(config) = GovernorConfigBuilder::default()
            .per_nanosecond(1_000_000_000 / u64::from(limits.per_address))
            .burst_size(burst)
            .key_extractor(AddressKey)
            .finish()
    {
        let limiter = config.limiter().clone();
        forget_idle_keys(move || limiter.retain_recent());
        router = router.layer(GovernorLayer::new(config).error_handler(answer));
    }
    router
}

fn forget_idle_keys(retain: impl Fn() + Send + 'static) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        loop {
            every.tick().await;
            retain();
        }
    });
}

/// The API's error answer for a limit: `429 rate_limited` with `Retry-After`.
fn answer(error: GovernorError) -> Response<Body> {
    match error {
        GovernorError::TooManyRequests { wait_time, .. } => ApiError::TooManyRequests {
            message: format!(
                "too many requests from this token or address; try again in {} s (the server's rate_limit)",
                wait_time.max(1)
            ),
            retry_after: wait_time.max(1),
        }
        .into_response(),
        GovernorError::UnableToExtractKey | GovernorError::Other { .. } => {
            ApiError::Internal("the rate limiter could not tell who is asking".to_string())
                .into_response()
        }
    }
}
