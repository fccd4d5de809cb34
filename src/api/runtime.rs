//! `GET /v1/tools`: the tool definitions one contact may see on one channel.
//!
//! The filter runs here, on the server: a restricted action never reaches a
//! contact outside its segments, and a disabled or archived one never appears.
//! The AI runtime asks on every conversation turn, so the answer comes from a
//! snapshot of the catalogue's active, enabled actions with each tool already
//! rendered in every format; the snapshot is rebuilt when the catalogue's
//! generation (bumped by every apply and hand edit, on any replica) moves.
//!
//! The body is exactly the format's document; what the list costs goes in headers:
//! `X-Tool-Count` (the tools served) and `X-Tool-Tokens` (their token cost in all,
//! see [`tools::tokens`]). Each tool's count is computed once per snapshot (and an
//! action unchanged since the previous snapshot keeps its rendering and count), so
//! a request only adds up the counts of the tools it serves anyway.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sha2::Digest;

use super::{ApiError, ApiState, auth};
use crate::action::{ActionState, Channel, StoredAction};
use crate::store::{ActionQuery, Store};
use crate::tools::{self, Audience, NotStrict, ToolFormat};

/// The response header with the number of tools served.
pub const TOOL_COUNT_HEADER: &str = "x-tool-count";
/// The response header with the token cost of the tools served, in all.
pub const TOOL_TOKENS_HEADER: &str = "x-tool-tokens";

/// The catalogue's tools as of one generation.
struct Snapshot {
    generation: i64,
    tools: Vec<Arc<RenderedTool>>,
    /// For each channel (in `Channel::ALL` order), the tools enabled on it, so a
    /// request filters only those by segment.
    by_channel: Vec<Vec<usize>>,
}

/// One action with its tool in each format (and OpenAI's strict mode), serialised
/// once, and its token cost.
struct RenderedTool {
    action: StoredAction,
    openai: String,
    /// The strict OpenAI tool, or why the action cannot be strict.
    openai_strict: Result<String, NotStrict>,
    anthropic: String,
    mcp: String,
    native: String,
    tokens: usize,
}

impl RenderedTool {
    fn new(action: StoredAction) -> RenderedTool {
        let render = |format| tools::tool_text(&action, format);
        let openai = render(ToolFormat::Openai);
        let tokens = tools::count_tokens(&openai);
        RenderedTool {
            openai_strict: tools::strict_tool(&action).map(|t| tools::text(&t)),
            anthropic: render(ToolFormat::Anthropic),
            mcp: render(ToolFormat::Mcp),
            native: tools::text(&tools::native(&action, tokens)),
            openai,
            tokens,
            action,
        }
    }

    /// The tool in `format`; strict only for OpenAI, where the caller checked that
    /// it can be.
    fn get(&self, format: ToolFormat, strict: bool) -> &str {
        match format {
            ToolFormat::Openai if strict => self
                .openai_strict
                .as_deref()
                .unwrap_or(self.openai.as_str()),
            ToolFormat::Openai => &self.openai,
            ToolFormat::Anthropic => &self.anthropic,
            ToolFormat::Mcp => &self.mcp,
            ToolFormat::Native => &self.native,
        }
    }
}

/// The snapshot the tool list is served from.
#[derive(Default)]
pub struct ToolCache {
    snapshot: tokio::sync::RwLock<Option<Arc<Snapshot>>>,
    /// One rebuild at a time: the requests that find the snapshot stale wait for it.
    rebuilding: tokio::sync::Mutex<()>,
}

impl ToolCache {
    /// The snapshot of `generation` (read by the caller), or of the catalogue's
    /// generation now if that moved since; rebuilt when the cached one differs
    /// (older, or newer after a restore from a backup).
    async fn current<S: Store>(
        &self,
        store: &S,
        generation: i64,
    ) -> Result<Arc<Snapshot>, ApiError> {
        if let Some(snapshot) = self.fresh(generation).await {
            return Ok(snapshot);
        }
        let _rebuilding = self.rebuilding.lock().await;
        // Another request may have rebuilt it while this one waited.
        let generation = store.generation().await?;
        if let Some(snapshot) = self.fresh(generation).await {
            return Ok(snapshot);
        }
        // The generation is read before the actions: a change that lands in
        // between makes the snapshot look older than it is, which only costs
        // another rebuild, never a stale answer.
        let actions = store
            .actions(&ActionQuery {
                state: Some(ActionState::Active),
                ..ActionQuery::default()
            })
            .await?;
        // An action that has not changed since the last snapshot keeps its rendered
        // tools and count: rendering every format, strict mode and the tokens again
        // is the cost of a rebuild, and an apply usually changes a few actions.
        let previous: HashMap<i64, Arc<RenderedTool>> = self
            .snapshot
            .read()
            .await
            .iter()
            .flat_map(|s| s.tools.iter())
            .map(|t| (t.action.id, t.clone()))
            .collect();
        let rendered = tokio::task::spawn_blocking(move || {
            let mut tools: Vec<Arc<RenderedTool>> = actions
                .into_iter()
                .filter(|a| a.hand.enabled)
                .map(|a| match previous.get(&a.id) {
                    Some(kept) if kept.action == a => kept.clone(),
                    _ => Arc::new(RenderedTool::new(a)),
                })
                .collect();
            tools.sort_by(|a, b| a.action.name.cmp(&b.action.name));
            tools
        })
        .await
        .map_err(|e| ApiError::Internal(format!("rendering the tools failed: {e}")))?;
        let by_channel = Channel::ALL
            .iter()
            .map(|c| {
                (0..rendered.len())
                    .filter(|&i| rendered[i].action.hand.channels.contains(c))
                    .collect()
            })
            .collect();
        let snapshot = Arc::new(Snapshot {
            generation,
            tools: rendered,
            by_channel,
        });
        *self.snapshot.write().await = Some(snapshot.clone());
        Ok(snapshot)
    }

    async fn fresh(&self, generation: i64) -> Option<Arc<Snapshot>> {
        self.snapshot
            .read()
            .await
            .as_ref()
            .filter(|s| s.generation == generation)
            .cloned()
    }
}

/// The query of `GET /v1/tools`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolsQuery {
    /// The channel the conversation is on (required).
    pub channel: Option<String>,
    /// The contact's segments, comma-separated (none: a contact in no segment).
    pub segments: Option<String>,
    /// `openai`, `anthropic`, `mcp` or `native` (the default).
    pub format: Option<String>,
    /// `true`: OpenAI strict-mode tools (with `format=openai` only).
    pub strict: Option<String>,
}

/// `GET /v1/tools?channel=sms&segments=vip,eu&format=openai&strict=true`.
pub async fn tools(
    State(api): State<ApiState>,
    query: Result<Query<ToolsQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (_, generation) = api
        .authorize_with_generation(&headers, auth::Need::Tools)
        .await?;
    let Query(query) = query.map_err(|e| {
        ApiError::InvalidRequest(format!(
            "{}; the query takes channel, segments, format and strict",
            e.body_text()
        ))
    })?;
    // The channel is required: a tool list for "any channel" would show a contact
    // actions enabled only elsewhere.
    let channel = match query.channel.as_deref() {
        None | Some("") => {
            return Err(ApiError::InvalidRequest(
                "give the conversation's channel: ?channel=widget (email, sms, whatsapp, phone, slack)".to_string(),
            ));
        }
        Some(c) => Channel::parse_or_explain(c).map_err(ApiError::InvalidRequest)?,
    };
    let format = match query.format.as_deref() {
        None => ToolFormat::Native,
        Some(f) => ToolFormat::parse(f).ok_or_else(|| {
            ApiError::InvalidRequest(format!(
                "format `{f}`: use openai, anthropic, mcp or native"
            ))
        })?,
    };
    let strict = match query.strict.as_deref().map(str::trim) {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::InvalidRequest(format!(
                "strict `{other}`: use true or false"
            )));
        }
    };
    // Each value is valid on its own; together they ask for what does not exist:
    // 422, like tools that cannot be strict (a 400 would say the request is
    // malformed, and the document cannot tie one parameter to another).
    if strict && format != ToolFormat::Openai {
        return Err(ApiError::NotStrict(format!(
            "format={format} has no strict mode: strict=true is OpenAI's strict mode, ask for format=openai"
        )));
    }
    let segments: Vec<String> = query
        .segments
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let audience = Audience {
        channel: Some(channel),
        segments: Some(segments),
    };
    let snapshot = api
        .inner
        .tools
        .current(&api.daemon().store, generation)
        .await?;
    // The tag names the generation and the audience: one contact's tag never
    // validates another's list, even for a client that keeps one tag per token.
    let tag = {
        let mut segments = audience.segments.clone().unwrap_or_default();
        segments.sort();
        segments.dedup();
        let key = format!(
            "{}\n{}\n{}{}",
            channel.as_str(),
            segments.join(","),
            format.as_str(),
            if strict { "\nstrict" } else { "" }
        );
        let digest = crate::source::hex(&sha2::Sha256::digest(key.as_bytes()));
        format!("\"g{}-{}\"", snapshot.generation, &digest[..16])
    };
    let tag_header = HeaderValue::from_str(&tag).ok();
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag))
    {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        if let Some(value) = tag_header {
            response.headers_mut().insert(header::ETAG, value);
        }
        return Ok(response);
    }
    let (prefix, suffix) = tools::envelope(format);
    let on_channel = Channel::ALL
        .iter()
        .position(|c| *c == channel)
        .and_then(|i| snapshot.by_channel.get(i))
        .map_or(&[][..], Vec::as_slice);
    let visible: Vec<&RenderedTool> = on_channel
        .iter()
        .filter_map(|&i| snapshot.tools.get(i).map(Arc::as_ref))
        .filter(|t| tools::visible(&t.action, &audience))
        .collect();
    if strict {
        let refused: Vec<String> = visible
            .iter()
            .filter_map(|t| t.openai_strict.as_ref().err())
            .map(NotStrict::to_string)
            .collect();
        if !refused.is_empty() {
            return Err(ApiError::NotStrict(format!(
                "{} of the tools cannot be strict (fix their schemas, or pin them, or ask without strict=true): {}",
                refused.len(),
                refused.join("; ")
            )));
        }
    }
    let tokens: usize = visible.iter().map(|t| t.tokens).sum();
    let count = visible.len();
    let visible: Vec<&str> = visible.iter().map(|t| t.get(format, strict)).collect();
    let size = prefix.len() + suffix.len() + visible.iter().map(|t| t.len() + 1).sum::<usize>();
    let mut body = String::with_capacity(size);
    body.push_str(prefix);
    let mut first = true;
    for tool in visible {
        if !first {
            body.push(',');
        }
        first = false;
        body.push_str(tool);
    }
    body.push_str(suffix);
    let mut response = (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response();
    let headers = response.headers_mut();
    if let Some(value) = tag_header {
        headers.insert(header::ETAG, value);
    }
    headers.insert(TOOL_COUNT_HEADER, HeaderValue::from(count));
    headers.insert(TOOL_TOKENS_HEADER, HeaderValue::from(tokens));
    Ok(response)
}
