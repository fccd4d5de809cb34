//! The catalogue as the tool definitions an LLM takes: which actions a contact may
//! see ([`visible`]), and each action as an OpenAI function tool, an Anthropic tool,
//! an MCP `tools/list` entry, or the catalogue's own shape ([`tool`]), gathered into
//! one document ([`document`], [`envelope`]); what each costs in tokens
//! ([`tokens`]); and OpenAI's strict mode ([`strict_tool`]).
//!
//! **Token cost.** An action's token count is the number of `o200k_base` tokens
//! (the encoding of GPT-4o and later, counted offline by `tiktoken-rs`) of its
//! OpenAI function tool serialised as compact JSON: the same count for every
//! format, so budgets compare across formats. The request a model provider builds
//! around the tools adds a few tokens of its own per tool; the count is the part
//! the catalogue controls.
//!
//! Pure: no I/O, and the same actions always give the same bytes, so `actionsync
//! export` and the server's `GET /v1/tools` agree and a client can cache by content.
//!
//! Invariants: a restricted action never reaches a contact outside its segments, and
//! a disabled or archived action never appears. The AI never sees an argument that a
//! magic field fills: the runtime fills it from the conversation.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};

use crate::action::{
    ActionDraft, ActionState, Body, Channel, Method, Parameter, ParameterLocation, StoredAction,
};
use crate::convert::schema;

mod borrowed;
mod strict;
mod tokens;

pub use strict::{NotStrict, strict_schema};

/// A shape of tool definition.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum ToolFormat {
    /// OpenAI Chat Completions function tools (a request's `tools`).
    Openai,
    /// Anthropic Messages API tools (a request's `tools`).
    Anthropic,
    /// Model Context Protocol: the result of `tools/list`.
    Mcp,
    /// The actions as the catalogue holds them, with pins applied and each one's
    /// token count.
    Native,
}

impl ToolFormat {
    /// Every format, in display order.
    pub const ALL: [ToolFormat; 4] = [
        ToolFormat::Openai,
        ToolFormat::Anthropic,
        ToolFormat::Mcp,
        ToolFormat::Native,
    ];

    /// Lowercase name, as a query parameter or flag spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ToolFormat::Openai => "openai",
            ToolFormat::Anthropic => "anthropic",
            ToolFormat::Mcp => "mcp",
            ToolFormat::Native => "native",
        }
    }

    /// Parses `openai`, `anthropic`, `mcp` or `native`, ignoring case and
    /// surrounding blanks.
    pub fn parse(s: &str) -> Option<ToolFormat> {
        ToolFormat::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

impl std::fmt::Display for ToolFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who the tools are for: the contact's channel and segments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Audience {
    /// The channel of the conversation; `None` means any channel.
    pub channel: Option<Channel>,
    /// The contact's segments; `None` means no segment filter (an export of every
    /// segment's actions), `Some(vec![])` a contact in no segment.
    pub segments: Option<Vec<String>>,
}

/// Whether `audience` may see `action`: it is active and enabled, on the audience's
/// channel, and either unrestricted or restricted to a segment the contact is in.
pub fn visible(action: &StoredAction, audience: &Audience) -> bool {
    if action.state != ActionState::Active || !action.hand.enabled {
        return false;
    }
    let on_channel = match audience.channel {
        Some(channel) => action.hand.channels.contains(&channel),
        // An action on no channel is usable nowhere, so even "any channel" leaves it out.
        None => !action.hand.channels.is_empty(),
    };
    if !on_channel {
        return false;
    }
    let Some(contact) = &audience.segments else {
        return true;
    };
    // Fail closed: a restriction made only of blank names still restricts (to no
    // one), and a blank name on the contact's side matches nothing.
    action.hand.segments.is_empty()
        || action.hand.segments.iter().any(|restricted| {
            let restricted = restricted.trim();
            !restricted.is_empty() && contact.iter().any(|s| s.trim() == restricted)
        })
}

/// The actions `audience` may see, pinned ones first, then by name (then id), so
/// that every caller lists them in the same order.
pub fn select<'a>(actions: &'a [StoredAction], audience: &Audience) -> Vec<&'a StoredAction> {
    let mut chosen: Vec<&StoredAction> = actions.iter().filter(|a| visible(a, audience)).collect();
    chosen.sort_by(|a, b| {
        b.hand
            .pinned
            .cmp(&a.hand.pinned)
            .then(a.name.cmp(&b.name))
            .then(a.id.cmp(&b.id))
    });
    chosen
}

/// One action as a tool definition in `format`, with every pin in effect.
pub fn tool(action: &StoredAction, format: ToolFormat) -> Value {
    match format {
        ToolFormat::Openai => openai(action, input_schema(action), false),
        ToolFormat::Anthropic => object([
            ("name", Value::String(action.name.clone())),
            ("description", Value::String(description(action))),
            ("input_schema", input_schema(action)),
        ]),
        ToolFormat::Mcp => {
            let method = *action.in_effect("method", &action.spec.method);
            object([
                ("name", Value::String(action.name.clone())),
                ("description", Value::String(description(action))),
                ("inputSchema", input_schema(action)),
                (
                    "annotations",
                    json!({
                        "readOnlyHint": method == Method::Get,
                        "destructiveHint": method == Method::Delete,
                    }),
                ),
            ])
        }
        ToolFormat::Native => native(action, tokens(action)),
    }
}

/// The OpenAI function tool around `parameters`; `strict` adds `"strict": true`.
fn openai(action: &StoredAction, parameters: Value, strict: bool) -> Value {
    let mut function = Map::new();
    function.insert("name".to_string(), Value::String(action.name.clone()));
    function.insert(
        "description".to_string(),
        Value::String(description(action)),
    );
    function.insert("parameters".to_string(), parameters);
    if strict {
        function.insert("strict".to_string(), Value::Bool(true));
    }
    object([
        ("type", Value::String("function".to_string())),
        ("function", Value::Object(function)),
    ])
}

/// A JSON object of `members`, in order, each value moved in: `json!` would copy
/// a value given to it (a tool's input schema is most of the tool).
fn object<const N: usize>(members: [(&str, Value); N]) -> Value {
    Value::Object(
        members
            .into_iter()
            .map(|(key, value)| (key.to_string(), value))
            .collect(),
    )
}

/// The action's OpenAI function tool in strict mode (`"strict": true`, its schema
/// made to OpenAI's strict rules by [`strict_schema`]), or why it cannot be strict.
pub fn strict_tool(action: &StoredAction) -> Result<Value, NotStrict> {
    let parameters = strict_schema(input_schema(action)).map_err(|reason| NotStrict {
        name: action.name.clone(),
        reason,
    })?;
    Ok(openai(action, parameters, true))
}

/// The number of tokens `text` takes in `o200k_base`. The encoder is loaded once per
/// process, on first use (it ships inside the binary; nothing is read or fetched).
pub fn count_tokens(text: &str) -> usize {
    tokens::count(text)
}

/// Readies the token counter in the background (see [`tokens::warm_up`]), for a
/// reconcile about to plan a changed spec.
pub fn warm_up_tokens() {
    tokens::warm_up();
}

/// [`tool`] as compact JSON: what `/v1/tools` serves and what is weighed.
pub fn tool_text(action: &StoredAction, format: ToolFormat) -> String {
    if format == ToolFormat::Openai
        && let Some(text) = borrowed::openai_text(action)
    {
        return text;
    }
    text(&tool(action, format))
}

/// A tool as compact JSON (a `Value` always writes).
pub fn text(tool: &Value) -> String {
    crate::json_text::to_string(tool).unwrap_or_default()
}

/// The action's token cost: the `o200k_base` tokens of its OpenAI function tool as
/// compact JSON (see the module's documentation).
pub fn tokens(action: &StoredAction) -> usize {
    count_tokens(&tool_text(action, ToolFormat::Openai))
}

/// An action with its token cost, serialised as the action's fields plus `tokens`:
/// how the API and `actions show` present an action.
#[derive(Debug, serde::Serialize)]
pub struct WithTokens<'a> {
    /// The action.
    #[serde(flatten)]
    pub action: &'a StoredAction,
    /// Its token cost ([`tokens`]).
    pub tokens: usize,
}

impl<'a> WithTokens<'a> {
    /// `action` with its token cost counted.
    pub fn new(action: &'a StoredAction) -> WithTokens<'a> {
        WithTokens {
            action,
            tokens: tokens(action),
        }
    }
}

/// A converted draft as the catalogue would hold it when first applied (active,
/// its pins and hand-owned defaults in effect), so its tool and token cost can be
/// shown before it is stored. The id is 0: it has none yet.
pub fn preview(draft: &ActionDraft) -> StoredAction {
    let name = draft
        .hand
        .pins
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or(&draft.spec.name)
        .to_string();
    StoredAction {
        id: 0,
        source: draft.source.clone(),
        key: draft.key.clone(),
        name,
        state: ActionState::Active,
        spec: draft.spec.clone(),
        hand: draft.hand.clone(),
        hand_set: Vec::new(),
        version: 0,
        created_at: 0,
        updated_at: 0,
    }
}

/// The native tool of `action` whose token cost is `tokens` (computed once by a
/// caller that has it already).
pub fn native(action: &StoredAction, tokens: usize) -> Value {
    let hand = &action.hand;
    object([
        ("id", Value::from(action.id)),
        ("source", Value::String(action.source.clone())),
        ("key", Value::String(action.key.clone())),
        ("name", Value::String(action.name.clone())),
        ("description", action.effective("description")),
        ("method", action.effective("method")),
        ("url", action.effective("url")),
        ("parameters", action.effective("parameters")),
        ("headers", action.effective("headers")),
        ("body", action.effective("body")),
        ("auth", action.effective("auth")),
        ("magic_fields", json!(hand.magic_fields)),
        ("require_confirmation", json!(hand.require_confirmation)),
        ("channels", json!(hand.channels)),
        ("segments", json!(hand.segments)),
        ("tokens", Value::from(tokens)),
    ])
}

/// The tools as one document: a JSON array for OpenAI, Anthropic and native,
/// `{"tools": [...]}` for MCP.
pub fn document(format: ToolFormat, tools: Vec<Value>) -> Value {
    match format {
        ToolFormat::Openai | ToolFormat::Anthropic | ToolFormat::Native => Value::Array(tools),
        ToolFormat::Mcp => object([("tools", Value::Array(tools))]),
    }
}

/// The text before and after the comma-joined tools in [`document`]'s compact JSON,
/// so a server can join tools it serialised earlier without parsing them again.
pub fn envelope(format: ToolFormat) -> (&'static str, &'static str) {
    match format {
        ToolFormat::Openai | ToolFormat::Anthropic | ToolFormat::Native => ("[", "]"),
        ToolFormat::Mcp => ("{\"tools\":[", "]}"),
    }
}

/// The name of the argument that carries the request body: `body`, unless a
/// parameter already has that name.
pub fn body_argument(parameters: &[Parameter]) -> String {
    let taken = |name: &str| parameters.iter().any(|p| p.name == name);
    let mut candidate = "body".to_string();
    let mut n = 1;
    while taken(&candidate) {
        candidate = if n == 1 {
            "request_body".to_string()
        } else {
            format!("request_body_{n}")
        };
        n += 1;
    }
    candidate
}

fn description(action: &StoredAction) -> String {
    action
        .in_effect("description", action.spec.description.as_str())
        .into_owned()
}

/// Whether a magic field fills this parameter, so the AI must not be asked for it.
fn filled_by_magic(action: &StoredAction, parameter: &Parameter) -> bool {
    let magic = &action.hand.magic_fields;
    match parameter.location {
        // Header names are case-insensitive on the wire, so a magic field set as
        // `x-request-id` fills `X-Request-Id`.
        ParameterLocation::Header => magic.keys().any(|k| k.eq_ignore_ascii_case(&parameter.key)),
        ParameterLocation::Path | ParameterLocation::Query => magic.contains_key(&parameter.key),
    }
}

/// One argument of a tool's input schema: a parameter the AI fills, or the body.
struct Argument<'a> {
    name: Cow<'a, str>,
    schema: &'a Value,
    /// The parameter's description, where it says something (the body has none).
    description: Option<&'a str>,
    required: bool,
}

/// The tool's arguments in order: each parameter no magic field fills, then the
/// body ([`body_argument`] names it). Conversion makes argument names unique; a
/// pin could repeat one, and the first keeps it so the output stays well-formed.
fn arguments<'a>(
    action: &StoredAction,
    parameters: &'a [Parameter],
    body: Option<&'a Body>,
) -> Vec<Argument<'a>> {
    let mut arguments: Vec<Argument<'a>> = Vec::with_capacity(parameters.len() + 1);
    for parameter in parameters {
        if filled_by_magic(action, parameter)
            || arguments.iter().any(|a| a.name == parameter.name.as_str())
        {
            continue;
        }
        let description = parameter.description.as_str();
        arguments.push(Argument {
            name: Cow::Borrowed(&parameter.name),
            schema: &parameter.schema,
            description: (!description.trim().is_empty()).then_some(description),
            required: parameter.required,
        });
    }
    if let Some(body) = body {
        arguments.push(Argument {
            name: Cow::Owned(body_argument(parameters)),
            schema: &body.schema,
            description: None,
            required: body.required,
        });
    }
    arguments
}

/// The JSON Schema of the tool's arguments: one property per parameter the AI
/// fills, and the body.
fn input_schema(action: &StoredAction) -> Value {
    let parameters = action.in_effect("parameters", action.spec.parameters.as_slice());
    let body = action.in_effect("body", &action.spec.body);

    let mut defs = Map::new();
    let mut properties = Map::new();
    let mut required = Vec::new();
    for argument in arguments(action, &parameters, (*body).as_ref()) {
        let mut schema = hoist(argument.schema.clone(), &argument.name, &mut defs);
        if let Some(description) = argument.description
            && let Value::Object(map) = &mut schema
        {
            map.insert(
                "description".to_string(),
                Value::String(description.to_string()),
            );
        }
        if argument.required {
            required.push(Value::String(argument.name.to_string()));
        }
        properties.insert(argument.name.into_owned(), schema);
    }
    let mut schema = Map::new();
    schema.insert("type".to_string(), json!("object"));
    schema.insert("properties".to_string(), Value::Object(properties));
    schema.insert("required".to_string(), Value::Array(required));
    if !defs.is_empty() {
        schema.insert("$defs".to_string(), Value::Object(defs));
    }
    Value::Object(schema)
}

/// The keywords whose entries `#/$defs/…` (2020-12) or `#/definitions/…` (older
/// drafts, as a pinned schema may use) refer to.
const DEFS_KEYWORDS: [&str; 2] = ["$defs", "definitions"];

/// Where a definition came from in its own schema: the keyword and its name.
type DefKey = (&'static str, String);

/// What becomes of one of a schema's definitions in the input schema's `$defs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Its name is free at the root: it keeps it.
    Kept,
    /// The root has the same definition under the same name: it is shared.
    Shared,
    /// The name is taken by something else: it gets a fresh one.
    Renamed,
}

/// Prepares `schema` to sit at `/properties/{name}` of the input schema: its
/// definitions move into `defs` (the input schema's root `$defs`), since a `$ref`
/// such as `#/$defs/Node` resolves against the document root, and so do its other
/// local references, which gain the path of the property.
///
/// A definition whose name the root already has keeps it only if it is the same
/// definition; otherwise it gets the first free `Name_2`, `Name_3`, … and the
/// references to it follow. A definition that refers to a renamed one cannot be
/// shared either, since its references now differ.
fn hoist(schema: Value, name: &str, defs: &mut Map<String, Value>) -> Value {
    let mut schema = match schema {
        Value::Object(map) => map,
        // `false` accepts nothing; `true`, and anything that is not a schema, anything.
        Value::Bool(false) => return json!({"not": {}}),
        _ => return json!({}),
    };
    let prefix = format!("/properties/{}", escape_token(name));

    let mut entries: Vec<(DefKey, Value)> = Vec::new();
    for keyword in DEFS_KEYWORDS {
        // A value that is not a map holds no definitions a `$ref` could reach.
        if let Some(Value::Object(map)) = schema.remove(keyword) {
            entries.extend(map.into_iter().map(|(k, v)| ((keyword, k), v)));
        }
    }
    if entries.is_empty() {
        return rewrite(
            Value::Object(schema),
            &HashMap::new(),
            &prefix,
            &mut Vec::new(),
        );
    }

    // Classify with every definition under its own name, and learn which
    // definitions each one refers to.
    let identity: HashMap<DefKey, String> = entries
        .iter()
        .map(|(key, _)| (key.clone(), key.1.clone()))
        .collect();
    let mut fates = Vec::with_capacity(entries.len());
    let mut refers_to: Vec<Vec<DefKey>> = Vec::with_capacity(entries.len());
    let mut claimed: HashSet<&str> = HashSet::new();
    for ((_, def_name), value) in &entries {
        let mut refs = Vec::new();
        let rewritten = rewrite(value.clone(), &identity, &prefix, &mut refs);
        refers_to.push(refs);
        let fate = if claimed.contains(def_name.as_str()) {
            Fate::Renamed
        } else {
            match defs.get(def_name) {
                None => Fate::Kept,
                Some(existing) if *existing == rewritten => Fate::Shared,
                Some(_) => Fate::Renamed,
            }
        };
        if fate != Fate::Renamed {
            claimed.insert(def_name);
        }
        fates.push(fate);
    }
    // A shared definition that refers to a renamed one is not the root's any more.
    let index: HashMap<&DefKey, usize> = entries
        .iter()
        .enumerate()
        .map(|(i, (key, _))| (key, i))
        .collect();
    let mut changed = true;
    while changed {
        changed = false;
        for i in 0..entries.len() {
            if fates[i] == Fate::Shared
                && refers_to[i]
                    .iter()
                    .filter_map(|key| index.get(key))
                    .any(|&j| fates[j] == Fate::Renamed)
            {
                fates[i] = Fate::Renamed;
                changed = true;
            }
        }
    }

    // Fresh names avoid the root's names and those this schema keeps or shares.
    let mut taken: HashSet<String> = defs.keys().cloned().collect();
    for ((key, _), fate) in entries.iter().zip(&fates) {
        if *fate != Fate::Renamed {
            taken.insert(key.1.clone());
        }
    }
    let mut mapping: HashMap<DefKey, String> = HashMap::with_capacity(entries.len());
    for ((key, _), fate) in entries.iter().zip(&fates) {
        let target = if *fate == Fate::Renamed {
            let mut n = 2;
            let mut candidate = format!("{}_{n}", key.1);
            while taken.contains(&candidate) {
                n += 1;
                candidate = format!("{}_{n}", key.1);
            }
            taken.insert(candidate.clone());
            candidate
        } else {
            key.1.clone()
        };
        mapping.insert(key.clone(), target);
    }

    for ((key, value), fate) in entries.into_iter().zip(fates) {
        if fate == Fate::Shared {
            continue;
        }
        let target = mapping.get(&key).cloned().unwrap_or_else(|| key.1.clone());
        let value = rewrite(value, &mapping, &prefix, &mut Vec::new());
        defs.insert(target, value);
    }
    rewrite(Value::Object(schema), &mapping, &prefix, &mut Vec::new())
}

/// Keywords whose value is a map of name → schema: conversion's, and the
/// definitions this module hoists.
fn is_schema_map(key: &str) -> bool {
    schema::SCHEMA_MAPS.contains(&key) || matches!(key, "dependencies" | "$defs" | "definitions")
}

/// Keywords whose value is one schema: conversion's, and `items` (a list in
/// older drafts: see the list case).
fn is_schema_one(key: &str) -> bool {
    key == "items" || schema::SCHEMA_ONE.contains(&key)
}

/// Rewrites the local `$ref`s of `schema`, which moves to `prefix` (a JSON pointer)
/// of the input schema and whose definitions now live at the root under the names in
/// `mapping`. Records in `refs` which definitions it refers to. Only schema keywords
/// are followed: `enum`, `const`, `default` and `examples` hold data, which may
/// happen to look like a `$ref`.
fn rewrite(
    schema: Value,
    mapping: &HashMap<DefKey, String>,
    prefix: &str,
    refs: &mut Vec<DefKey>,
) -> Value {
    let Value::Object(map) = schema else {
        return schema;
    };
    let mut out = Map::with_capacity(map.len());
    for (keyword, value) in map {
        let value = match (keyword.as_str(), value) {
            ("$ref", Value::String(reference)) => {
                Value::String(rewrite_ref(&reference, mapping, prefix, refs))
            }
            (k, Value::Object(entries)) if is_schema_map(k) => Value::Object(
                entries
                    .into_iter()
                    .map(|(name, s)| (name, rewrite(s, mapping, prefix, refs)))
                    .collect(),
            ),
            (k, Value::Array(items)) if schema::SCHEMA_LISTS.contains(&k) || k == "items" => {
                Value::Array(
                    items
                        .into_iter()
                        .map(|s| rewrite(s, mapping, prefix, refs))
                        .collect(),
                )
            }
            (k, value) if is_schema_one(k) => rewrite(value, mapping, prefix, refs),
            (_, value) => value,
        };
        out.insert(keyword, value);
    }
    Value::Object(out)
}

/// One `$ref`: into a definition → the definition's name at the root; elsewhere in
/// the same schema → the same place under `prefix`; anything else is left alone.
fn rewrite_ref(
    reference: &str,
    mapping: &HashMap<DefKey, String>,
    prefix: &str,
    refs: &mut Vec<DefKey>,
) -> String {
    let Some(fragment) = reference.strip_prefix('#') else {
        // Another document: not ours to move.
        return reference.to_string();
    };
    if fragment.is_empty() {
        return format!("#{prefix}");
    }
    let Some(path) = fragment.strip_prefix('/') else {
        // A plain-name anchor: it names a place, wherever the schema sits.
        return reference.to_string();
    };
    let mut tokens = path.splitn(3, '/');
    let first = tokens.next().unwrap_or("");
    let second = tokens.next();
    let rest = tokens.next();
    if let (Some(keyword), Some(token)) = (DEFS_KEYWORDS.into_iter().find(|k| *k == first), second)
    {
        let key: DefKey = (keyword, unescape_token(token));
        if let Some(target) = mapping.get(&key) {
            refs.push(key);
            let mut out = format!("#/$defs/{}", escape_token(target));
            if let Some(rest) = rest {
                out.push('/');
                out.push_str(rest);
            }
            return out;
        }
    }
    // Into the schema itself (or a definition it does not have, which stays as
    // unresolvable as it was rather than landing on another schema's definition).
    format!("#{prefix}{fragment}")
}

/// A JSON pointer token: `~` → `~0`, `/` → `~1`.
fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// The reverse of [`escape_token`].
fn unescape_token(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use crate::action::{Body, HandFields, Origin, SpecFields, StaticHeader};

    fn parameter(key: &str, name: &str, location: ParameterLocation, required: bool) -> Parameter {
        Parameter {
            key: key.to_string(),
            name: name.to_string(),
            location,
            description: format!("The {key}."),
            required,
            schema: Arc::new(json!({"type": "string"})),
            style: None,
            explode: None,
        }
    }

    /// An active, enabled action on the widget, open to everyone: `GET` with a path
    /// parameter, a query parameter and a header parameter.
    fn action(name: &str) -> StoredAction {
        StoredAction {
            id: 7,
            source: "orders".to_string(),
            key: format!("{name}Op"),
            name: name.to_string(),
            state: ActionState::Active,
            spec: SpecFields {
                name: name.to_string(),
                description: "Look up one order by its order ID.".to_string(),
                method: Method::Get,
                url: "https://api.acme.example/v1/orders/{orderId}".to_string(),
                parameters: vec![
                    parameter("orderId", "order_id", ParameterLocation::Path, true),
                    parameter(
                        "customerEmail",
                        "customer_email",
                        ParameterLocation::Query,
                        false,
                    ),
                    parameter(
                        "X-Request-Id",
                        "x_request_id",
                        ParameterLocation::Header,
                        false,
                    ),
                ],
                headers: vec![StaticHeader {
                    name: "Accept".to_string(),
                    value: "application/json".to_string(),
                }],
                body: None,
                auth: Vec::new(),
                operation: Origin {
                    operation_id: Some(format!("{name}Op")),
                    method: "get".to_string(),
                    path: "/orders/{orderId}".to_string(),
                    tags: Vec::new(),
                    pointer: "/paths/~1orders~1{orderId}/get".to_string(),
                },
            },
            hand: HandFields::default(),
            hand_set: Vec::new(),
            version: 1,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn with_body(mut a: StoredAction, schema: Value, required: bool) -> StoredAction {
        a.spec.method = Method::Post;
        a.spec.body = Some(Body {
            content_type: "application/json".to_string(),
            required,
            schema: Arc::new(schema),
            inferred: false,
        });
        a
    }

    fn audience(channel: Option<Channel>, segments: Option<&[&str]>) -> Audience {
        Audience {
            channel,
            segments: segments.map(|s| s.iter().map(|x| x.to_string()).collect()),
        }
    }

    fn schema_of(a: &StoredAction) -> Value {
        tool(a, ToolFormat::Openai)["function"]["parameters"].clone()
    }

    // -- visible ---------------------------------------------------------------

    #[test]
    fn a_contact_outside_the_segment_never_sees_a_restricted_action() {
        let mut a = action("get_order");
        a.hand.segments = vec!["vip".to_string()];
        for contact in [
            audience(None, Some(&[])),
            audience(None, Some(&["other"])),
            audience(None, Some(&["VIP"])),
            audience(None, Some(&["vi"])),
            audience(None, Some(&["", "  "])),
            audience(Some(Channel::Widget), Some(&["eu", "other"])),
        ] {
            assert!(!visible(&a, &contact), "{contact:?} saw a vip-only action");
        }
        assert!(visible(&a, &audience(None, Some(&["eu", "vip"]))));
        assert!(visible(
            &a,
            &audience(Some(Channel::Widget), Some(&[" vip "]))
        ));
        // No segment filter: an offline export of every segment's actions.
        assert!(visible(&a, &audience(None, None)));
    }

    #[test]
    fn segment_names_compare_trimmed_and_blank_restrictions_still_restrict() {
        let mut a = action("get_order");
        a.hand.segments = vec![" vip ".to_string()];
        assert!(visible(&a, &audience(None, Some(&["vip"]))));
        a.hand.segments = vec!["  ".to_string()];
        assert!(!visible(&a, &audience(None, Some(&[""]))));
        assert!(!visible(&a, &audience(None, Some(&[]))));
    }

    #[test]
    fn an_unrestricted_action_is_seen_by_every_contact() {
        let a = action("get_order");
        assert!(visible(&a, &audience(None, Some(&[]))));
        assert!(visible(&a, &audience(None, Some(&["vip"]))));
        assert!(visible(&a, &audience(None, None)));
    }

    #[test]
    fn channels_filter_and_no_channel_means_any() {
        let mut a = action("get_order");
        a.hand.channels = vec![Channel::Widget, Channel::Sms];
        assert!(visible(&a, &audience(Some(Channel::Sms), None)));
        assert!(!visible(&a, &audience(Some(Channel::Email), None)));
        assert!(visible(&a, &audience(None, None)));
        a.hand.channels.clear();
        assert!(!visible(&a, &audience(None, None)));
    }

    #[test]
    fn disabled_and_archived_actions_never_appear() {
        let mut disabled = action("get_order");
        disabled.hand.enabled = false;
        let mut archived = action("get_order");
        archived.state = ActionState::Archived;
        for a in [&disabled, &archived] {
            for contact in [
                audience(None, None),
                audience(Some(Channel::Widget), Some(&[])),
                audience(Some(Channel::Widget), Some(&["vip"])),
            ] {
                assert!(!visible(a, &contact));
            }
        }
    }

    #[test]
    fn select_sorts_pinned_first_then_by_name() {
        let mut hidden = action("aaa_hidden");
        hidden.hand.enabled = false;
        let actions = vec![action("zed_order"), hidden, action("get_order")];
        let names: Vec<&str> = select(&actions, &Audience::default())
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        assert_eq!(names, ["get_order", "zed_order"]);
        let mut pinned = action("zzz_pinned_order");
        pinned.hand.pinned = true;
        let actions = vec![action("zed_order"), pinned, action("get_order")];
        let names: Vec<&str> = select(&actions, &Audience::default())
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        assert_eq!(names, ["zzz_pinned_order", "get_order", "zed_order"]);
    }

    // -- shapes -----------------------------------------------------------------

    #[test]
    fn openai_shape() {
        let a = action("get_order");
        assert_eq!(
            tool(&a, ToolFormat::Openai),
            json!({
                "type": "function",
                "function": {
                    "name": "get_order",
                    "description": "Look up one order by its order ID.",
                    "parameters": {
                        "type": "object",
                        "properties": {
                            "order_id": {"type": "string", "description": "The orderId."},
                            "customer_email": {"type": "string", "description": "The customerEmail."},
                            "x_request_id": {"type": "string", "description": "The X-Request-Id."},
                        },
                        "required": ["order_id"],
                    },
                },
            })
        );
    }

    #[test]
    fn anthropic_shape() {
        let a = action("get_order");
        assert_eq!(
            tool(&a, ToolFormat::Anthropic),
            json!({
                "name": "get_order",
                "description": "Look up one order by its order ID.",
                "input_schema": schema_of(&a),
            })
        );
    }

    #[test]
    fn tokens_count_the_compact_openai_tool() {
        let a = action("get_order");
        let compact = serde_json::to_string(&tool(&a, ToolFormat::Openai)).unwrap();
        assert_eq!(tokens(&a), count_tokens(&compact));
        // o200k_base: known counts (checked against OpenAI's tiktoken).
        assert_eq!(count_tokens(""), 0);
        assert_eq!(count_tokens("hello world"), 2);
        // More schema, more tokens; the count is well below the byte count.
        let bigger = with_body(
            action("get_order"),
            json!({"type": "object", "properties": {"sku": {"type": "string", "description": "The stock keeping unit of the item to order."}}}),
            true,
        );
        assert!(tokens(&bigger) > tokens(&a));
        assert!(
            tokens(&a) > 20 && tokens(&a) < compact.len() / 2,
            "{}",
            tokens(&a)
        );
    }

    #[test]
    fn a_preview_renders_a_draft_like_the_stored_action() {
        let stored = action("get_order");
        let draft = ActionDraft {
            source: stored.source.clone(),
            key: stored.key.clone(),
            spec: SpecFields {
                name: "get_order_v0".to_string(),
                body: None,
                auth: Vec::new(),
                ..stored.spec.clone()
            },
            hand: HandFields {
                pins: [("name".to_string(), json!("get_order"))]
                    .into_iter()
                    .collect(),
                ..HandFields::default()
            },
        };
        let preview = preview(&draft);
        assert_eq!(preview.name, "get_order");
        for format in [ToolFormat::Openai, ToolFormat::Anthropic, ToolFormat::Mcp] {
            assert_eq!(tool(&preview, format), tool(&stored, format), "{format}");
        }
    }

    #[test]
    fn strict_tools_say_strict_or_why_not() {
        let a = action("get_order");
        let strict = strict_tool(&a).unwrap();
        assert_eq!(strict["function"]["strict"], true);
        assert_eq!(
            strict["function"]["parameters"]["required"],
            json!(["order_id", "customer_email", "x_request_id"])
        );
        assert_eq!(
            strict["function"]["parameters"]["properties"]["customer_email"]["type"],
            json!(["string", "null"])
        );
        assert_eq!(
            strict["function"]["parameters"]["additionalProperties"],
            false
        );
        let free = with_body(action("create_order"), json!({"type": "object"}), true);
        let refused = strict_tool(&free).unwrap_err();
        assert_eq!(refused.name, "create_order");
        assert!(refused.reason.contains("#/properties/body"), "{refused}");
        assert!(refused.reason.contains("free-form object"), "{refused}");
    }

    #[test]
    fn mcp_shape_and_hints() {
        let a = action("get_order");
        let mcp = tool(&a, ToolFormat::Mcp);
        assert_eq!(
            mcp,
            json!({
                "name": "get_order",
                "description": "Look up one order by its order ID.",
                "inputSchema": schema_of(&a),
                "annotations": {"readOnlyHint": true, "destructiveHint": false},
            })
        );
        let mut delete = action("cancel_order");
        delete.spec.method = Method::Delete;
        assert_eq!(
            tool(&delete, ToolFormat::Mcp)["annotations"],
            json!({"readOnlyHint": false, "destructiveHint": true})
        );
        // A pinned method is the one in effect.
        delete.hand.pins.insert("method".to_string(), json!("GET"));
        assert_eq!(
            tool(&delete, ToolFormat::Mcp)["annotations"],
            json!({"readOnlyHint": true, "destructiveHint": false})
        );
    }

    #[test]
    fn native_shape_has_the_catalogue_fields_in_effect() {
        let mut a = action("get_order");
        a.hand.segments = vec!["vip".to_string()];
        a.hand.channels = vec![Channel::Widget, Channel::Sms];
        a.hand.require_confirmation = true;
        a.hand
            .magic_fields
            .insert("customerEmail".to_string(), "contact.email".to_string());
        a.hand.pins.insert(
            "url".to_string(),
            json!("https://eu.acme.example/v1/orders/{orderId}"),
        );
        let native = tool(&a, ToolFormat::Native);
        let keys: Vec<&str> = native
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "id",
                "source",
                "key",
                "name",
                "description",
                "method",
                "url",
                "parameters",
                "headers",
                "body",
                "auth",
                "magic_fields",
                "require_confirmation",
                "channels",
                "segments",
                "tokens"
            ]
        );
        assert_eq!(native["tokens"], tokens(&a));
        assert_eq!(native["id"], 7);
        assert_eq!(native["method"], "GET");
        assert_eq!(native["url"], "https://eu.acme.example/v1/orders/{orderId}");
        // Native keeps every parameter: the runtime needs the magic ones to fill them.
        assert_eq!(native["parameters"].as_array().unwrap().len(), 3);
        assert_eq!(native["headers"][0]["name"], "Accept");
        assert_eq!(native["body"], Value::Null);
        assert_eq!(
            native["magic_fields"],
            json!({"customerEmail": "contact.email"})
        );
        assert_eq!(native["require_confirmation"], true);
        assert_eq!(native["channels"], json!(["widget", "sms"]));
        assert_eq!(native["segments"], json!(["vip"]));
    }

    #[test]
    fn pins_are_in_effect() {
        let mut a = action("get_order");
        a.hand.pins.insert(
            "description".to_string(),
            json!("Find a customer's order from the number on their receipt."),
        );
        let mut pinned_params = a.spec.parameters.clone();
        pinned_params[0].description = "The number printed on the receipt.".to_string();
        pinned_params.truncate(1);
        a.hand.pins.insert(
            "parameters".to_string(),
            serde_json::to_value(&pinned_params).unwrap(),
        );
        a.hand.pins.insert("name".to_string(), json!("find_order"));
        a.name = "find_order".to_string();
        for format in ToolFormat::ALL {
            let t = tool(&a, format);
            let text = t.to_string();
            assert!(text.contains("Find a customer's order"), "{format}: {t}");
            assert!(!text.contains("Look up one order"), "{format}: {t}");
            assert!(text.contains("find_order"), "{format}: {t}");
        }
        assert_eq!(
            schema_of(&a)["properties"],
            json!({"order_id": {"type": "string", "description": "The number printed on the receipt."}})
        );
        // A pin that does not fit its field (stored before pins were checked) falls
        // back to the spec's value rather than breaking the tool.
        a.hand
            .pins
            .insert("parameters".to_string(), json!("nonsense"));
        assert_eq!(schema_of(&a)["properties"].as_object().unwrap().len(), 3);
    }

    #[test]
    fn magic_fields_are_left_out_of_the_schema() {
        let mut a = action("get_order");
        a.hand
            .magic_fields
            .insert("customerEmail".to_string(), "contact.email".to_string());
        // Header names are case-insensitive.
        a.hand
            .magic_fields
            .insert("x-request-id".to_string(), "conversation.id".to_string());
        // Magic fields match the key on the wire, not the argument name.
        a.hand
            .magic_fields
            .insert("order_id".to_string(), "contact.last_order".to_string());
        let schema = schema_of(&a);
        assert_eq!(
            schema["properties"],
            json!({"order_id": {"type": "string", "description": "The orderId."}})
        );
        // A required parameter a magic field fills is not required of the AI.
        a.hand
            .magic_fields
            .insert("orderId".to_string(), "contact.last_order".to_string());
        let schema = schema_of(&a);
        assert_eq!(schema["properties"], json!({}));
        assert_eq!(schema["required"], json!([]));
    }

    #[test]
    fn the_body_is_an_argument_named_body_or_request_body() {
        let a = with_body(
            action("create_order"),
            json!({"type": "object", "properties": {"sku": {"type": "string"}}}),
            true,
        );
        let schema = schema_of(&a);
        assert_eq!(
            schema["properties"]["body"]["properties"]["sku"]["type"],
            "string"
        );
        assert_eq!(schema["required"], json!(["order_id", "body"]));

        let mut b = with_body(action("create_order"), json!({"type": "object"}), false);
        b.spec.parameters[1].name = "body".to_string();
        let schema = schema_of(&b);
        assert_eq!(
            schema["properties"]["request_body"],
            json!({"type": "object"})
        );
        assert_eq!(schema["required"], json!(["order_id"]));
        b.spec.parameters[2].name = "request_body".to_string();
        assert_eq!(body_argument(&b.spec.parameters), "request_body_2");
    }

    /// Each action's OpenAI tool as written from its fields, against the tool
    /// built as a `Value` and written: `Some` (and the same bytes) where no
    /// schema needs its `$ref`s moved, `None` where one does.
    #[test]
    fn the_openai_tool_written_from_the_fields_is_the_built_one() {
        let built = |a: &StoredAction| text(&tool(a, ToolFormat::Openai));
        let mut plain: Vec<StoredAction> = Vec::new();
        plain.push(action("get_order"));
        // The parameter's description replaces the schema's own, in its place.
        let mut a = action("get_order");
        a.spec.parameters[0].schema =
            Arc::new(json!({"description": "old", "type": "string", "format": "uuid"}));
        plain.push(a);
        // A blank description adds nothing.
        let mut a = action("get_order");
        a.spec.parameters[1].description = "  ".to_string();
        plain.push(a);
        // Magic fields leave their parameters out, required or not.
        let mut a = action("get_order");
        a.hand
            .magic_fields
            .insert("orderId".to_string(), "contact.last_order".to_string());
        a.hand
            .magic_fields
            .insert("x-request-id".to_string(), "conversation.id".to_string());
        plain.push(a);
        // Two parameters of one name: the first keeps it.
        let mut a = action("get_order");
        a.spec.parameters[2].name = "order_id".to_string();
        plain.push(a);
        // A body beside a parameter named `body`, and pins in effect.
        let mut a = with_body(
            action("create_order"),
            json!({"type": "object", "required": ["sku"], "properties": {"sku": {"type": "string", "description": "SKU \"quoted\" ✓"}}}),
            true,
        );
        a.spec.parameters[1].name = "body".to_string();
        a.hand.pins.insert(
            "description".to_string(),
            json!("Create an order.\nLine two."),
        );
        plain.push(a);
        for a in &plain {
            let written = borrowed::openai_text(a);
            assert_eq!(written.as_deref(), Some(built(a).as_str()), "{}", a.name);
            assert_eq!(tool_text(a, ToolFormat::Openai), built(a));
        }

        let mut moved: Vec<StoredAction> = Vec::new();
        moved.push(with_body(action("create_tree"), tree("string"), true));
        let mut a = action("get_order");
        a.spec.parameters[0].schema = Arc::new(json!({"type": "array", "items": {"$ref": "#"}}));
        moved.push(a);
        let mut a = action("get_order");
        a.spec.parameters[0].schema = Arc::new(json!(true));
        moved.push(a);
        let mut a = action("get_order");
        a.spec.parameters[0].schema =
            Arc::new(json!({"type": "string", "definitions": {"x": {"type": "string"}}}));
        moved.push(a);
        for a in &moved {
            assert_eq!(borrowed::openai_text(a), None, "{}", a.name);
            assert_eq!(tool_text(a, ToolFormat::Openai), built(a));
        }
    }

    // -- $defs -------------------------------------------------------------------

    /// A recursive `Node` as conversion writes it: `$defs` at the schema's root.
    fn tree(leaf_type: &str) -> Value {
        json!({
            "$ref": "#/$defs/Node",
            "$defs": {
                "Node": {
                    "type": "object",
                    "properties": {
                        "value": {"type": leaf_type},
                        "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
                    },
                },
            },
        })
    }

    #[test]
    fn defs_are_hoisted_to_the_root_and_collisions_renamed() {
        let mut a = with_body(action("create_order"), tree("integer"), true);
        a.spec.parameters.truncate(2);
        a.spec.parameters[1].schema = Arc::new(tree("string"));
        let schema = schema_of(&a);
        assert_eq!(
            schema["properties"]["customer_email"],
            json!({"$ref": "#/$defs/Node", "description": "The customerEmail."})
        );
        assert_eq!(
            schema["properties"]["body"],
            json!({"$ref": "#/$defs/Node_2"})
        );
        assert_eq!(schema["$defs"]["Node"], tree("string")["$defs"]["Node"]);
        assert_eq!(
            schema["$defs"]["Node_2"]["properties"],
            json!({
                "value": {"type": "integer"},
                "children": {"type": "array", "items": {"$ref": "#/$defs/Node_2"}},
            })
        );
        assert_eq!(schema["$defs"].as_object().unwrap().len(), 2);
        // Nothing refers to a `$defs` that is not at the root.
        assert!(!schema["properties"].to_string().contains("\"$defs\":"));
        assert_eq!(
            schema,
            schema_of(&a),
            "the same input gives the same schema"
        );
        assert_eq!(
            serde_json::to_string(&schema).unwrap(),
            serde_json::to_string(&schema_of(&a)).unwrap()
        );
    }

    #[test]
    fn identical_defs_are_shared() {
        let mut a = with_body(action("create_order"), tree("string"), true);
        a.spec.parameters.truncate(2);
        a.spec.parameters[1].schema = Arc::new(tree("string"));
        let schema = schema_of(&a);
        assert_eq!(
            schema["properties"]["body"],
            json!({"$ref": "#/$defs/Node"})
        );
        assert_eq!(schema["$defs"].as_object().unwrap().len(), 1);
    }

    #[test]
    fn a_def_that_refers_to_a_renamed_one_is_renamed_too() {
        // Both schemas have `Node` (different) and `Wrapper` (same text, but each
        // refers to its own `Node`): sharing `Wrapper` would point body at the
        // parameter's `Node`.
        let with_wrapper = |leaf: &str| {
            let mut t = tree(leaf);
            t["$ref"] = json!("#/$defs/Wrapper");
            t["$defs"]["Wrapper"] =
                json!({"type": "object", "properties": {"root": {"$ref": "#/$defs/Node"}}});
            t
        };
        let mut a = with_body(action("create_order"), with_wrapper("integer"), true);
        a.spec.parameters.truncate(2);
        a.spec.parameters[1].schema = Arc::new(with_wrapper("string"));
        let schema = schema_of(&a);
        assert_eq!(schema["properties"]["body"]["$ref"], "#/$defs/Wrapper_2");
        assert_eq!(
            schema["$defs"]["Wrapper_2"]["properties"]["root"]["$ref"],
            "#/$defs/Node_2"
        );
        assert_eq!(
            schema["$defs"]["Node_2"]["properties"]["value"]["type"],
            "integer"
        );
        assert_eq!(
            schema["$defs"]["Wrapper"]["properties"]["root"]["$ref"],
            "#/$defs/Node"
        );
        assert_eq!(
            schema["$defs"]["Node"]["properties"]["value"]["type"],
            "string"
        );
    }

    #[test]
    fn fresh_names_avoid_every_name_in_use() {
        // The body has `Node` (colliding) and its own `Node_2`: the renamed `Node`
        // must not land on either.
        let mut body = tree("integer");
        body["$defs"]["Node_2"] = json!({"type": "boolean"});
        body["properties"] = json!({"flag": {"$ref": "#/$defs/Node_2"}});
        let mut a = with_body(action("create_order"), body, true);
        a.spec.parameters.truncate(2);
        a.spec.parameters[1].schema = Arc::new(tree("string"));
        let schema = schema_of(&a);
        let body = &schema["properties"]["body"];
        assert_eq!(body["$ref"], "#/$defs/Node_3");
        assert_eq!(body["properties"]["flag"]["$ref"], "#/$defs/Node_2");
        assert_eq!(schema["$defs"]["Node_2"], json!({"type": "boolean"}));
        assert_eq!(
            schema["$defs"]["Node_3"]["properties"]["value"]["type"],
            "integer"
        );
    }

    #[test]
    fn other_local_refs_follow_the_schema_and_data_is_left_alone() {
        let body = json!({
            "type": "object",
            "properties": {
                "a": {"type": "string"},
                "b": {"$ref": "#/properties/a"},
                "self": {"$ref": "#"},
                "d": {"$ref": "#/definitions/D"},
            },
            "definitions": {"D": {"type": "number"}},
            "default": {"$ref": "#/properties/a"},
            "enum": [{"$ref": "#/$defs/Node"}],
        });
        let a = with_body(action("create_order"), body, false);
        let schema = schema_of(&a);
        let body = &schema["properties"]["body"];
        assert_eq!(
            body["properties"]["b"]["$ref"],
            "#/properties/body/properties/a"
        );
        assert_eq!(body["properties"]["self"]["$ref"], "#/properties/body");
        assert_eq!(body["properties"]["d"]["$ref"], "#/$defs/D");
        assert_eq!(schema["$defs"]["D"], json!({"type": "number"}));
        assert!(body.get("definitions").is_none());
        assert_eq!(body["default"], json!({"$ref": "#/properties/a"}));
        assert_eq!(body["enum"], json!([{"$ref": "#/$defs/Node"}]));
    }

    #[test]
    fn boolean_schemas_become_objects() {
        let mut a = action("get_order");
        a.spec.parameters.truncate(2);
        a.spec.parameters[0].schema = Arc::new(json!(true));
        a.spec.parameters[1].schema = Arc::new(json!(false));
        let schema = schema_of(&a);
        assert_eq!(
            schema["properties"]["order_id"],
            json!({"description": "The orderId."})
        );
        assert_eq!(
            schema["properties"]["customer_email"],
            json!({"not": {}, "description": "The customerEmail."})
        );
    }

    // -- documents ------------------------------------------------------------

    #[test]
    fn documents_have_the_shape_of_each_format() {
        let tools = vec![json!({"a": 1}), json!({"b": 2})];
        assert_eq!(
            document(ToolFormat::Openai, tools.clone()),
            json!([{"a": 1}, {"b": 2}])
        );
        assert_eq!(
            document(ToolFormat::Native, tools.clone()),
            json!([{"a": 1}, {"b": 2}])
        );
        assert_eq!(
            document(ToolFormat::Mcp, tools),
            json!({"tools": [{"a": 1}, {"b": 2}]})
        );
    }

    #[test]
    fn the_envelope_joins_serialised_tools_into_the_document() {
        let mut restricted = action("refund_order");
        restricted.hand.segments = vec!["vip".to_string()];
        let actions = [
            action("get_order"),
            with_body(action("create_order"), tree("string"), true),
            restricted,
        ];
        for format in ToolFormat::ALL {
            for n in 0..=actions.len() {
                let tools: Vec<Value> = actions[..n].iter().map(|a| tool(a, format)).collect();
                let (prefix, suffix) = envelope(format);
                let joined = format!(
                    "{prefix}{}{suffix}",
                    tools
                        .iter()
                        .map(|t| serde_json::to_string(t).unwrap())
                        .collect::<Vec<_>>()
                        .join(",")
                );
                assert_eq!(
                    serde_json::to_string(&document(format, tools)).unwrap(),
                    joined,
                    "{format} with {n} tools"
                );
            }
        }
    }

    #[test]
    fn formats_parse_ignoring_case() {
        assert_eq!(ToolFormat::parse("openai"), Some(ToolFormat::Openai));
        assert_eq!(ToolFormat::parse(" MCP "), Some(ToolFormat::Mcp));
        assert_eq!(ToolFormat::parse("Native"), Some(ToolFormat::Native));
        assert_eq!(ToolFormat::parse("Anthropic"), Some(ToolFormat::Anthropic));
        assert_eq!(ToolFormat::parse("claude"), None);
        for format in ToolFormat::ALL {
            assert_eq!(ToolFormat::parse(format.as_str()), Some(format));
            assert_eq!(
                serde_json::to_value(format).unwrap(),
                json!(format.as_str())
            );
        }
    }
}
