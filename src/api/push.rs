//! `PUT /v1/sources/{name}/spec`: CI pushes a spec on deploy.

use axum::body::{Body, HttpBody};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use metrics::{counter, histogram};
use serde::Deserialize;
use tracing::info;

use super::wire::{PushOutcome, PushReply};
use super::{ApiError, ApiState, auth, json};
use crate::plan::{self, Counts};
use crate::store::{AppliedBy, Store};
use crate::sync::{self, Outcome, ReconcileOptions};

/// The query of a push.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushQuery {
    /// Plan only.
    #[serde(default)]
    pub dry_run: bool,
    /// Pass the guards (lint errors still refuse).
    #[serde(default)]
    pub force: bool,
    /// What an action name another source has is prefixed with (default: the
    /// config's, else the source's name).
    pub name_prefix: Option<String>,
    /// Replaces the spec's root server; relative servers resolve against it
    /// (default: the config's `base_url`).
    pub base_url: Option<url::Url>,
}

/// Plans and applies (or with `dry_run`, only plans) the spec in the body.
pub async fn push(
    State(api): State<ApiState>,
    Path(name): Path<String>,
    query: Result<Query<PushQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    // Who asks comes first: no route's rules are told to a caller without a token.
    let token = api.authorize(&headers, auth::Need::Push(&name)).await?;
    let Query(query) = query.map_err(|e| {
        ApiError::InvalidRequest(format!(
            "{}; the query takes dry_run=true, force=true, name_prefix=PREFIX and base_url=https://…",
            e.body_text()
        ))
    })?;
    valid_source_name(&name)?;
    // Where the source comes from, and its size limit, before reading the body.
    let settings = api.daemon().push_target(&name).map_err(|from| {
        ApiError::WatchedSource(format!(
            "source `{name}` is read from {from} by this server's config; push to another source, or make it `push: true` in the config"
        ))
    })?;
    let limit = settings.load.max_bytes;
    let bytes = read_limited(&headers, body, limit).await?;
    let actor = format!("token:{}", token.name);
    let started = std::time::Instant::now();
    let reply = plan_spec(
        &api,
        &name,
        settings,
        bytes,
        &query,
        AppliedBy::Push,
        &actor,
    )
    .await?;
    counter!("actionsync_pushes_total", "source" => name.clone(), "outcome" => outcome_label(reply.outcome)).increment(1);
    histogram!("actionsync_push_seconds", "source" => name.clone())
        .record(started.elapsed().as_secs_f64());
    info!(
        source = %name, token = %token.name, outcome = outcome_label(reply.outcome),
        revision = reply.revision, dry_run = query.dry_run, ms = started.elapsed().as_millis() as u64, "push"
    );
    Ok(answer(&headers, &reply))
}

/// Plans the spec `bytes` for source `name` (its `settings`, the location
/// replaced by the bytes) and, unless `query.dry_run`, applies it, as `actor`:
/// what a push and the console's plan preview both call.
pub async fn plan_spec(
    api: &ApiState,
    name: &str,
    settings: crate::sync::SourceSpec,
    bytes: Vec<u8>,
    query: &PushQuery,
    applied_by: AppliedBy,
    actor: &str,
) -> Result<PushReply, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::InvalidSpec(
            "the body is empty: send the spec (JSON or YAML) as the request body".to_string(),
        ));
    }
    if let Some(prefix) = &query.name_prefix {
        crate::config::check_name_prefix(prefix).map_err(ApiError::InvalidRequest)?;
    }
    if let Some(url) = &query.base_url
        && !matches!(url.scheme(), "https" | "http")
    {
        return Err(ApiError::InvalidRequest(format!(
            "base_url `{url}` is not an http(s) URL"
        )));
    }
    let mut convert = settings.convert.clone();
    if let Some(url) = &query.base_url {
        convert.base_url = Some(url.clone());
    }
    let spec = crate::sync::SourceSpec {
        location: crate::source::SpecLocation::Bytes {
            name: settings.location.display(),
            bytes,
        },
        name_prefix: query.name_prefix.clone().or(settings.name_prefix.clone()),
        convert,
        ..settings
    };
    let options = ReconcileOptions {
        dry_run: query.dry_run,
        force: query.force,
        applied_by,
        actor: Some(actor),
        tool_tokens: api.daemon().tool_tokens(),
        ..ReconcileOptions::default()
    };
    let lock = api.source_lock(name);
    let guard = lock.lock().await;
    let result = sync::reconcile(&api.daemon().store, &spec, options).await;
    let reply = reply(api, name, options.dry_run, result).await?;
    drop(guard);
    Ok(reply)
}

/// The answer to a reconcile (a push or a rollback), with the source's revision.
pub(super) async fn reply(
    api: &ApiState,
    source: &str,
    dry_run: bool,
    result: Result<(Outcome, crate::sync::Timings), crate::sync::SyncError>,
) -> Result<PushReply, ApiError> {
    let (outcome, _) = result?;
    let current = api
        .daemon()
        .store
        .source(source)
        .await?
        .map_or(0, |r| r.last_revision);
    let source = source.to_string();
    Ok(match outcome {
        Outcome::Unchanged { .. } => PushReply {
            source,
            outcome: PushOutcome::Unchanged,
            dry_run,
            revision: current,
            counts: Counts::default(),
            plan: None,
            note: None,
        },
        Outcome::Planned { plan } => PushReply {
            source: source.clone(),
            outcome: if plan.is_empty() {
                PushOutcome::NoChanges
            } else {
                PushOutcome::Planned
            },
            dry_run,
            revision: current,
            counts: plan.counts,
            plan: Some(*plan),
            note: None,
        },
        Outcome::Refused { plan } => PushReply {
            source: source.clone(),
            outcome: PushOutcome::Refused,
            dry_run,
            revision: current,
            counts: plan.counts,
            plan: Some(*plan),
            note: None,
        },
        Outcome::Paused { plan } => PushReply {
            source: source.clone(),
            outcome: if plan.is_empty() {
                PushOutcome::NoChanges
            } else {
                PushOutcome::Planned
            },
            dry_run: true,
            revision: current,
            counts: plan.counts,
            plan: Some(*plan),
            note: Some(paused_note(&source)),
        },
        Outcome::Applied { plan, revision } => PushReply {
            source: source.clone(),
            outcome: PushOutcome::Applied,
            dry_run: false,
            revision,
            counts: plan.counts,
            plan: Some(*plan),
            note: None,
        },
    })
}

/// What a reply says when the source is paused.
pub(super) fn paused_note(source: &str) -> String {
    format!(
        "source `{source}` is paused: this was a dry run, nothing applied; resume it (POST /v1/sources/{source}/resume) to apply its current spec"
    )
}

/// The reply as JSON (status 422 when refused), or as Markdown or text when the
/// client asks for `text/markdown` or `text/plain` (curl in a CI job).
pub(super) fn answer(headers: &HeaderMap, reply: &PushReply) -> Response {
    let status = if reply.outcome == PushOutcome::Refused {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let rendered = |render: fn(&plan::Plan) -> String| {
        let mut text = match &reply.plan {
            Some(plan) => render(plan),
            None => format!(
                "`{}` is unchanged since revision {}.\n",
                reply.source, reply.revision
            ),
        };
        if let Some(note) = &reply.note {
            text.push_str(&format!("\nNote: {note}\n"));
        }
        text
    };
    if accept.contains("text/markdown") {
        (
            status,
            [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
            rendered(plan::markdown),
        )
            .into_response()
    } else if accept.starts_with("text/plain") {
        (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            rendered(plan::text),
        )
            .into_response()
    } else {
        json(status, reply)
    }
}

/// Reads the body up to `limit` bytes; more is a 413, said before reading it all
/// when the client announced its length.
async fn read_limited(headers: &HeaderMap, body: Body, limit: usize) -> Result<Vec<u8>, ApiError> {
    let too_large = || {
        ApiError::TooLarge(format!(
            "the spec is larger than this server's limit of {limit} bytes; raise max_size in the config (defaults or the source)"
        ))
    };
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    // Read frame by frame, so a body without a length stops at the limit too.
    let mut body = body;
    // The announced length is a hint, not a promise: reserve at most 1 MiB up front.
    let mut out = Vec::with_capacity(announced.map_or(0, |n| n as usize).min(1 << 20));
    // A client that stops sending must not hold the connection (and the memory
    // read so far) for ever.
    let deadline = tokio::time::Instant::now() + BODY_TIMEOUT;
    loop {
        let next = std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx));
        let Ok(frame) = tokio::time::timeout_at(deadline, next).await else {
            return Err(ApiError::RequestTimeout(format!(
                "the body did not arrive within {} s; send the spec in one request",
                BODY_TIMEOUT.as_secs()
            )));
        };
        let Some(frame) = frame else { break };
        let frame =
            frame.map_err(|e| ApiError::InvalidRequest(format!("cannot read the body: {e}")))?;
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > limit {
                return Err(too_large());
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out)
}

/// How long a push's body may take to arrive.
const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// A source name must be one the catalogue accepts.
pub fn valid_source_name(name: &str) -> Result<(), ApiError> {
    if crate::convert::is_valid_source_name(name) {
        Ok(())
    } else {
        Err(ApiError::InvalidRequest(format!(
            "`{name}` is not a source name: 1 to 64 of A-Z a-z 0-9 _ . -, starting with a letter or digit"
        )))
    }
}

fn outcome_label(outcome: PushOutcome) -> &'static str {
    match outcome {
        PushOutcome::Applied => "applied",
        PushOutcome::Unchanged => "unchanged",
        PushOutcome::NoChanges => "no_changes",
        PushOutcome::Planned => "planned",
        PushOutcome::Refused => "refused",
    }
}
