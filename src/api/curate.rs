//! The curators' API: read the catalogue, set hand-owned fields, pause sources, roll back.
//! Every route takes an admin token.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::push::{answer, reply, valid_source_name};
use super::wire::PushReply;
use super::{ApiError, ApiState, auth, etag, json};
use crate::action::{ActionState, Channel, StoredAction};
use crate::daemon::Trigger;
use crate::store::{ActionQuery, AppliedBy, HandEdit, SourceRecord, Store};
use crate::sync::{self, ReconcileOptions};
use crate::tools::WithTokens;

/// The most actions one page holds.
pub const MAX_PAGE: usize = 1000;
/// A page's size when the query does not say.
pub const DEFAULT_PAGE: usize = 100;

/// `GET /v1/sources`: every source the catalogue knows.
pub async fn sources(
    State(api): State<ApiState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    api.authorize(&headers, auth::Need::Curate).await?;
    let sources: Vec<SourceView> = api
        .daemon()
        .store
        .sources()
        .await?
        .into_iter()
        .map(SourceView::from)
        .collect();
    Ok(json(StatusCode::OK, &json!({ "sources": sources })))
}

/// A source as the API shows it: its record, and whether it is out of sync (paused,
/// with a plan that would change the catalogue).
#[derive(Debug, Serialize)]
pub struct SourceView {
    #[serde(flatten)]
    record: SourceRecord,
    out_of_sync: bool,
}

impl From<SourceRecord> for SourceView {
    fn from(record: SourceRecord) -> SourceView {
        let out_of_sync = record.paused && record.pending.is_some();
        SourceView {
            record,
            out_of_sync,
        }
    }
}

/// `POST /v1/sources/{name}/pause`: the source is still read and planned, never
/// applied until resumed.
pub async fn pause(
    State(api): State<ApiState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    set_paused(api, name, headers, true).await
}

/// `POST /v1/sources/{name}/resume`: the source applies again; a watched or polled
/// one is reconciled at once.
pub async fn resume(
    State(api): State<ApiState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    set_paused(api, name, headers, false).await
}

async fn set_paused(
    api: ApiState,
    name: String,
    headers: HeaderMap,
    paused: bool,
) -> Result<Response, ApiError> {
    let token = api.authorize(&headers, auth::Need::Manage).await?;
    valid_source_name(&name)?;
    let lock = api.source_lock(&name);
    let guard = lock.lock().await;
    let record = api
        .daemon()
        .store
        .set_paused(&name, paused)
        .await?
        .ok_or_else(|| no_source(&name))?;
    drop(guard);
    if !paused && sync::is_watched(&record.kind) {
        let by = if record.kind == "url" {
            AppliedBy::Poll
        } else {
            AppliedBy::Watch
        };
        api.daemon().trigger(&name, Trigger::Check(by));
    }
    let what = if paused { "pause" } else { "resume" };
    tracing::info!(source = %name, token = %token.name, "{what}");
    Ok(json(StatusCode::OK, &SourceView::from(record)))
}

/// `GET /v1/sources/{name}/revisions`: a source's revisions, newest first.
pub async fn revisions(
    State(api): State<ApiState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    api.authorize(&headers, auth::Need::Curate).await?;
    let store = &api.daemon().store;
    if store.source(&name).await?.is_none() {
        return Err(no_source(&name));
    }
    let revisions = store.revisions(&name).await?;
    Ok(json(
        StatusCode::OK,
        &json!({ "source": name, "revisions": revisions }),
    ))
}

/// `GET /v1/sources/{name}/revisions/{number}`: one revision with its plan (its diff).
pub async fn revision(
    State(api): State<ApiState>,
    path: Result<Path<(String, i64)>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    // Who asks comes first: no route's rules are told to a caller without a token.
    api.authorize(&headers, auth::Need::Curate).await?;
    let Path((name, number)) = path.map_err(|_| {
        ApiError::InvalidRequest("a revision is a number: /v1/sources/{name}/revisions/3".into())
    })?;
    let revision = api
        .daemon()
        .store
        .revision(&name, number)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("source `{name}` has no revision {number}")))?;
    Ok(json(StatusCode::OK, &revision))
}

/// The body of a rollback.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollbackRequest {
    /// The revision whose spec to apply again.
    #[serde(deserialize_with = "whole_number")]
    pub revision: i64,
    /// Pass the guards.
    #[serde(default)]
    pub force: bool,
    /// Plan only.
    #[serde(default)]
    pub dry_run: bool,
    /// Pause a watched or polled source first (a rollback of one that is not
    /// paused is refused: its next change would undo it).
    #[serde(default)]
    pub pause: bool,
}

/// A JSON integer, also when written with a zero fraction or an exponent (`3.0`,
/// `3e0`): JSON Schema's `integer`, which the API's document says, is any number
/// whose fraction is zero, so a client's serialiser may send either.
fn whole_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    use serde::de::Error;
    let number = serde_json::Number::deserialize(deserializer)?;
    if let Some(n) = number.as_i64() {
        return Ok(n);
    }
    match number.as_f64() {
        // i64::MAX as f64 rounds up to 2^63, which is out of range.
        Some(f) if f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64 => Ok(f as i64),
        _ => Err(D::Error::custom(format!(
            "{number} is not a whole number within 64 bits"
        ))),
    }
}

/// `POST /v1/sources/{name}/rollback`: applies an earlier revision's spec again,
/// as a new revision; hand-set fields are untouched, like any plan.
pub async fn rollback(
    State(api): State<ApiState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let token = api.authorize(&headers, auth::Need::Manage).await?;
    valid_source_name(&name)?;
    let request: RollbackRequest = parse_body(body, "{\"revision\": 3}")?;
    let actor = format!("token:{}", token.name);
    let reply = rollback_source(&api, &name, &request, &actor).await?;
    Ok(answer(&headers, &reply))
}

/// A rollback (or its dry run) of source `name` by `actor`: what
/// `POST /v1/sources/{name}/rollback` and the console both call.
pub async fn rollback_source(
    api: &ApiState,
    name: &str,
    request: &RollbackRequest,
    actor: &str,
) -> Result<PushReply, ApiError> {
    let store = &api.daemon().store;
    if store.source(name).await?.is_none() {
        return Err(no_source(name));
    }
    let settings = api.daemon().source_settings(name);
    let options = ReconcileOptions {
        dry_run: request.dry_run,
        force: request.force,
        applied_by: AppliedBy::User,
        actor: Some(actor),
        tool_tokens: api.daemon().tool_tokens(),
        ..ReconcileOptions::default()
    };
    let lock = api.source_lock(name);
    let guard = lock.lock().await;
    let result = sync::rollback(store, &settings, request.revision, request.pause, options).await;
    let mut reply = reply(api, name, request.dry_run, result).await?;
    if let Some(record) = store.source(name).await?
        && record.paused
        && sync::is_watched(&record.kind)
        && !request.dry_run
    {
        reply.note = Some(format!(
            "source `{name}` is paused: changes to its spec are planned, not applied; resume it (POST /v1/sources/{name}/resume) to apply its current spec again"
        ));
    }
    drop(guard);
    tracing::info!(
        source = %name,
        by = %actor,
        to = request.revision,
        outcome = ?reply.outcome,
        revision = reply.revision,
        "rollback"
    );
    Ok(reply)
}

/// The query of `GET /v1/actions`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionsQuery {
    /// Only this source.
    pub source: Option<String>,
    /// `active` or `archived`.
    pub state: Option<String>,
    /// Only actions enabled on this channel.
    pub channel: Option<String>,
    /// Only actions restricted to this segment.
    pub segment: Option<String>,
    /// Only actions with this tag.
    pub tag: Option<String>,
    /// Only pinned (`true`) or only unpinned (`false`) actions.
    pub pinned: Option<bool>,
    /// Page size (default 100, at most 1000).
    pub limit: Option<usize>,
    /// The cursor: the actions after this one (the previous page's `next_after`).
    pub after: Option<i64>,
}

/// A page of actions.
#[derive(Debug, Serialize)]
struct ActionsPage<'a> {
    actions: Vec<WithTokens<'a>>,
    /// Pass as `after` for the next page; `null` on the last page.
    next_after: Option<i64>,
}

/// `GET /v1/actions`: pinned actions first, then by id, filtered and paginated.
pub async fn actions(
    State(api): State<ApiState>,
    query: Result<Query<ActionsQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    api.authorize(&headers, auth::Need::Curate).await?;
    let Query(query) = query.map_err(|e| {
        ApiError::InvalidRequest(format!(
            "{}; the filters are source, state, channel, segment, tag, pinned, limit and after",
            e.body_text()
        ))
    })?;
    let state = match query.state.as_deref() {
        None => None,
        Some(s) => Some(ActionState::parse(s).ok_or_else(|| {
            ApiError::InvalidRequest(format!("state `{s}`: use active or archived"))
        })?),
    };
    let channel = query
        .channel
        .as_deref()
        .map(Channel::parse_or_explain)
        .transpose()
        .map_err(ApiError::InvalidRequest)?;
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if limit == 0 || limit > MAX_PAGE {
        return Err(ApiError::InvalidRequest(format!(
            "limit is 1 to {MAX_PAGE}"
        )));
    }
    let wanted = |a: &StoredAction| {
        channel.is_none_or(|c| a.hand.channels.contains(&c))
            && query
                .segment
                .as_deref()
                .is_none_or(|s| a.hand.segments.iter().any(|x| x == s))
            && query
                .tag
                .as_deref()
                .is_none_or(|t| a.hand.tags.iter().any(|x| x == t))
            && query.pinned.is_none_or(|p| a.hand.pinned == p)
    };
    let filtered = channel.is_some()
        || query.segment.is_some()
        || query.tag.is_some()
        || query.pinned.is_some();
    let (page, next_after) = page_of_actions(
        &api.daemon().store,
        &ActionQuery {
            source: query.source.clone(),
            state,
            after: query.after,
            limit: None,
            pinned_first: true,
        },
        limit,
        filtered.then_some(&wanted as &(dyn Fn(&StoredAction) -> bool + Sync)),
    )
    .await?;
    Ok(json(
        StatusCode::OK,
        &ActionsPage {
            actions: page.iter().map(WithTokens::new).collect(),
            next_after,
        },
    ))
}

/// One page of actions (pinned first, then by id) of those `query` selects that
/// pass `wanted`, and the cursor of the next page (`None` on the last): what
/// `GET /v1/actions` and the console's list both call. Filters on hand-owned
/// fields are applied here, a batch at a time, so a page costs what it returns,
/// not the whole catalogue.
pub async fn page_of_actions(
    store: &crate::store::AnyStore,
    query: &ActionQuery,
    limit: usize,
    wanted: Option<&(dyn Fn(&StoredAction) -> bool + Sync)>,
) -> Result<(Vec<StoredAction>, Option<i64>), crate::store::StoreError> {
    let batch = if wanted.is_some() {
        (limit * 4).max(500)
    } else {
        limit + 1
    };
    let mut after = query.after;
    let mut page: Vec<StoredAction> = Vec::new();
    let mut more = false;
    loop {
        let rows = store
            .actions(&ActionQuery {
                after,
                limit: Some(batch as i64),
                ..query.clone()
            })
            .await?;
        let exhausted = rows.len() < batch;
        after = rows.last().map(|a| a.id).or(after);
        for action in rows
            .into_iter()
            .filter(|a| wanted.is_none_or(|wanted| wanted(a)))
        {
            if page.len() == limit {
                more = true;
                break;
            }
            page.push(action);
        }
        if more || exhausted {
            break;
        }
    }
    let next_after = if more {
        page.last().map(|a| a.id)
    } else {
        None
    };
    Ok((page, next_after))
}

/// `GET /v1/actions/{id}`: one action; its `ETag` is its row version.
pub async fn action(
    State(api): State<ApiState>,
    path: Result<Path<i64>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    api.authorize(&headers, auth::Need::Curate).await?;
    let id = action_id(path)?;
    let action = api
        .daemon()
        .store
        .action(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no action with id {id}")))?;
    Ok(with_etag(
        json(StatusCode::OK, &WithTokens::new(&action)),
        action.version,
    ))
}

/// An edited action, and what the editor should know about the edit.
#[derive(Debug, Serialize)]
struct EditedAction<'a> {
    #[serde(flatten)]
    action: WithTokens<'a>,
    /// Allowed but likely mistakes, such as a magic field for a parameter the
    /// action does not have (it is kept, and takes effect if one appears).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String>,
}

/// The warning `actions set` gives too: a magic field set for a parameter or
/// header the action does not have.
fn magic_field_warnings(action: &StoredAction, edit: &HandEdit) -> Vec<String> {
    edit.magic_fields
        .iter()
        .flatten()
        .filter(|(field, _)| !action.spec.fills(field))
        .map(|(field, _)| {
            format!(
                "`{}` has no parameter or header `{field}`; the magic field is kept and takes effect if one appears",
                action.name()
            )
        })
        .collect()
}

/// `PATCH /v1/actions/{id}`: sets hand-owned fields. `If-Match` must name the
/// version the editor saw, so two editors never overwrite each other silently.
pub async fn edit_action(
    State(api): State<ApiState>,
    path: Result<Path<i64>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let token = api.authorize(&headers, auth::Need::Curate).await?;
    let id = action_id(path)?;
    let example = "{\"segments\": [\"vip\"], \"channels\": [\"widget\", \"sms\"]}";
    let fields: serde_json::Map<String, serde_json::Value> = parse_body(body, example)?;
    // No field takes null (the document says so): `"segments": null` would
    // otherwise read as the field left out, and a client that meant "clear it"
    // would get a 200 that changed nothing.
    if let Some((field, _)) = fields.iter().find(|(_, v)| v.is_null()) {
        return Err(ApiError::InvalidRequest(format!(
            "`{field}` is null: no field takes null; leave a field out to keep it as it is, or send [] or {{}} to empty it; for example {example}"
        )));
    }
    let edit: HandEdit =
        serde_json::from_value(serde_json::Value::Object(fields)).map_err(|e| {
            ApiError::InvalidRequest(format!(
                "the body is not the JSON this route takes ({e}); for example {example}"
            ))
        })?;
    if edit.is_empty() {
        return Err(nothing_to_edit());
    }
    // After the body: a request that is wrong in itself is 400 whatever its tag,
    // before any version is compared (412).
    let expected = if_match(&headers)?;
    let actor = format!("token:{}", token.name);
    let (action, warnings) = edit_hand(&api, id, expected, &edit, &actor).await?;
    let body = EditedAction {
        action: WithTokens::new(&action),
        warnings,
    };
    Ok(with_etag(json(StatusCode::OK, &body), action.version))
}

/// The answer to an edit that changes nothing.
fn nothing_to_edit() -> ApiError {
    ApiError::InvalidRequest(
        "the edit changes nothing: give segments, channels, magic_fields, remove_magic, require_confirmation, enabled, pinned, tags, pins or unpin".to_string(),
    )
}

/// A hand edit of action `id` by `actor`, based on version `expected` (`None`:
/// whatever is current), and its warnings: what `PATCH /v1/actions/{id}` and
/// the console both call.
pub async fn edit_hand(
    api: &ApiState,
    id: i64,
    expected: Option<i64>,
    edit: &HandEdit,
    actor: &str,
) -> Result<(StoredAction, Vec<String>), ApiError> {
    if edit.is_empty() {
        return Err(nothing_to_edit());
    }
    let store = &api.daemon().store;
    let mut attempt = 0;
    let action = loop {
        match store.edit_hand(id, expected, edit, actor).await {
            // `If-Match: *` asked for whatever version is current: an apply that
            // landed between the read and the write is no reason to refuse.
            Err(crate::store::StoreError::Stale { .. }) if expected.is_none() && attempt < 3 => {
                attempt += 1;
            }
            other => break other?,
        }
    };
    tracing::info!(action = id, name = %action.name, by = %actor, version = action.version, "hand edit");
    let warnings = magic_field_warnings(&action, edit);
    Ok((action, warnings))
}

pub(super) fn action_id(path: Result<Path<i64>, PathRejection>) -> Result<i64, ApiError> {
    path.map(|Path(id)| id)
        .map_err(|_| ApiError::InvalidRequest("an action id is a number: /v1/actions/42".into()))
}

/// The version in `If-Match` (`"3"` or `3`); `*` means any version; a weak tag
/// (`W/"3"`) never matches.
fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Err(ApiError::PreconditionRequired(
            "send If-Match with the action's version (its ETag from GET /v1/actions/{id}), or If-Match: * to edit whatever version is current".to_string(),
        ));
    };
    let text = value.to_str().unwrap_or("").trim();
    if text == "*" {
        return Ok(None);
    }
    if text.starts_with("W/") {
        // RFC 9110: If-Match compares strongly, and a weak tag never matches.
        return Err(ApiError::Stale {
            message: format!(
                "If-Match: {text} is a weak tag, which never matches; send the ETag as GET /v1/actions/{{id}} gave it, such as \"3\""
            ),
            current: -1,
        });
    }
    let bare = text.trim_matches('"');
    bare.parse::<i64>().map(Some).map_err(|_| {
        ApiError::InvalidRequest(format!(
            "If-Match: {text:?} is not an action version; use the ETag of GET /v1/actions/{{id}}, such as \"3\""
        ))
    })
}

fn with_etag(mut response: Response, version: i64) -> Response {
    if let Ok(value) = HeaderValue::from_str(&etag(version)) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

/// A JSON body, or a 400 that quotes the parser and an example.
pub(super) fn parse_body<T: serde::de::DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
    example: &str,
) -> Result<T, ApiError> {
    let bytes = body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge(e.body_text()),
        _ => ApiError::InvalidRequest(e.body_text()),
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::InvalidRequest(format!(
            "the body is not the JSON this route takes ({e}); for example {example}"
        ))
    })
}

fn no_source(name: &str) -> ApiError {
    ApiError::NotFound(format!(
        "no source `{name}` in the catalogue (GET /v1/sources lists them)"
    ))
}
