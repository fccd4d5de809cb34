//! Polling URL sources: on a schedule (`every: 5m`, or `cron:` with five fields),
//! a conditional GET (`If-None-Match`, `If-Modified-Since`); `304` costs nothing, a
//! new body goes to the source's worker. A failed, cut-short or non-spec answer
//! keeps the last good spec, is recorded on the source, and is retried with
//! backoff (5 s, doubling, up to the schedule's interval); it never plans removals.

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use metrics::{counter, histogram};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};
use url::Url;

use super::{Daemon, Trigger};
use crate::config::SourceConfig;
use crate::source::{self, Fetched};
use crate::store::Store;

/// The default poll interval.
pub const DEFAULT_EVERY: Duration = Duration::from_secs(300);

/// When to poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// At a fixed interval.
    Every(Duration),
    /// A crontab expression with five fields (minute hour day month weekday), UTC.
    Cron(String),
}

impl Schedule {
    /// How long until the next poll.
    pub fn next_delay(&self) -> Duration {
        match self {
            Schedule::Every(interval) => *interval,
            Schedule::Cron(expression) => croner::Cron::from_str(expression)
                .ok()
                .and_then(|cron| cron.find_next_occurrence(&chrono::Utc::now(), false).ok())
                .and_then(|next| (next - chrono::Utc::now()).to_std().ok())
                .unwrap_or(DEFAULT_EVERY),
        }
    }

    /// The longest a retry waits: the schedule's interval (an hour at most for cron).
    fn interval(&self) -> Duration {
        match self {
            Schedule::Every(interval) => *interval,
            Schedule::Cron(_) => Duration::from_secs(3600),
        }
    }
}

/// How a URL source is polled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlSettings {
    /// The spec's URL.
    pub url: Url,
    /// Request headers: header name → the environment variable holding its value.
    pub headers: Vec<(String, String)>,
    /// When to poll.
    pub schedule: Schedule,
    /// Largest document.
    pub max_bytes: usize,
}

impl UrlSettings {
    /// From a config entry (`every`, `cron`, `headers`, `max_size`).
    pub fn from_config(url: Url, entry: Option<&SourceConfig>) -> Result<UrlSettings, String> {
        let schedule = match entry {
            Some(SourceConfig {
                cron: Some(expression),
                every: None,
                ..
            }) => {
                croner::Cron::from_str(expression).map_err(|e| {
                    format!("cron {expression:?} is not a crontab expression with five fields: {e}")
                })?;
                Schedule::Cron(expression.clone())
            }
            Some(SourceConfig {
                every: Some(every),
                cron: None,
                ..
            }) => Schedule::Every(parse_every(every)?),
            Some(SourceConfig {
                every: Some(_),
                cron: Some(_),
                ..
            }) => {
                return Err("a url source takes `every` or `cron`, not both".to_string());
            }
            _ => Schedule::Every(DEFAULT_EVERY),
        };
        Ok(UrlSettings {
            url,
            headers: entry
                .map(|e| {
                    e.headers
                        .iter()
                        .map(|(h, v)| (h.clone(), v.env.clone()))
                        .collect()
                })
                .unwrap_or_default(),
            schedule,
            max_bytes: entry
                .and_then(|e| e.options.max_size)
                .unwrap_or(crate::spec::DEFAULT_MAX_BYTES),
        })
    }
}

/// `30s`, `5m`, `1h`, `1d`: a poll interval, at least one second.
pub fn parse_every(text: &str) -> Result<Duration, String> {
    let interval = crate::config::parse_duration(text).map_err(|e| format!("every: {e}"))?;
    if interval < Duration::from_secs(1) {
        return Err(format!("every {text:?}: the interval must be at least 1s"));
    }
    Ok(interval)
}

/// Polls one URL source until `stop`.
pub async fn poller(
    daemon: Arc<Daemon>,
    name: String,
    settings: UrlSettings,
    stop: CancellationToken,
    client: reqwest::Client,
) {
    let mut failures: u32 = 0;
    // The source is in the catalogue from the start, so a first fetch that fails
    // is recorded on it.
    if let Err(e) = daemon
        .store
        .ensure_source(&name, "url", settings.url.as_str())
        .await
    {
        warn!(source = %name, error = %e, "cannot record the source");
    }
    loop {
        // A fetch in flight (up to 60 s) must not hold up shutdown.
        let ok = tokio::select! {
            ok = poll_once(&daemon, &name, &settings, &client) => ok,
            _ = stop.cancelled() => break,
        };
        let delay = if ok {
            failures = 0;
            settings.schedule.next_delay()
        } else {
            failures = failures.saturating_add(1);
            let backoff = Duration::from_secs(5).saturating_mul(2u32.saturating_pow(failures - 1));
            backoff.min(settings.schedule.interval())
        };
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop.cancelled() => break,
        }
    }
}

/// One conditional GET. `false` when it failed (the caller backs off).
async fn poll_once(
    daemon: &Arc<Daemon>,
    name: &str,
    settings: &UrlSettings,
    client: &reqwest::Client,
) -> bool {
    let fail = |reason: String| async move {
        warn!(source = %name, url = %source::redact_url(&settings.url), error = %reason, "fetch failed; the catalogue keeps the last good spec");
        counter!("actionsync_fetches_total", "source" => name.to_string(), "outcome" => "error")
            .increment(1);
        if let Err(e) = daemon.store.record_attempt(name, None, Some(&reason)).await {
            warn!(source = %name, error = %e, "cannot record the failure");
        }
        daemon.initial_done_for(name);
        false
    };
    let mut headers = Vec::new();
    for (header, variable) in &settings.headers {
        match std::env::var(variable) {
            Ok(value) => headers.push((header.clone(), value)),
            Err(_) => {
                return fail(format!(
                    "the environment variable {variable} (for the header {header}) is not set"
                ))
                .await;
            }
        }
    }
    let record = daemon.store.source(name).await.ok().flatten();
    let (etag, last_modified) = record
        .map(|r| (r.etag, r.last_modified))
        .unwrap_or((None, None));
    let started = Instant::now();
    let fetched = source::fetch_conditional(
        client,
        &settings.url,
        &headers,
        etag.as_deref(),
        last_modified.as_deref(),
        settings.max_bytes,
    )
    .await;
    histogram!("actionsync_fetch_seconds", "source" => name.to_string())
        .record(started.elapsed().as_secs_f64());
    match fetched {
        Ok(Fetched::NotModified) => {
            debug!(source = %name, "not modified");
            counter!("actionsync_fetches_total", "source" => name.to_string(), "outcome" => "not_modified").increment(1);
            if let Err(e) = daemon.store.record_attempt(name, None, None).await {
                warn!(source = %name, error = %e, "cannot record the fetch");
            }
            daemon.initial_done_for(name);
            true
        }
        Ok(Fetched::Body {
            bytes,
            etag,
            last_modified,
        }) => {
            counter!("actionsync_fetches_total", "source" => name.to_string(), "outcome" => "fetched").increment(1);
            daemon.trigger(
                name,
                Trigger::Fetched {
                    bytes,
                    etag,
                    last_modified,
                },
            );
            true
        }
        Err(reason) => fail(reason).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_and_schedules() {
        assert_eq!(parse_every("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_every("5m"), Ok(Duration::from_secs(300)));
        assert!(parse_every("0s").is_err());
        assert!(parse_every("5 minutes").is_err());
        let cron = Schedule::Cron("*/5 * * * *".to_string());
        assert!(cron.next_delay() <= Duration::from_secs(300));
        let url = Url::parse("https://a.example/openapi.json").unwrap();
        let entry = SourceConfig {
            cron: Some("not cron".into()),
            ..SourceConfig::default()
        };
        assert!(UrlSettings::from_config(url, Some(&entry)).is_err());
    }
}
