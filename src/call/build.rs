//! The request an action makes, built as the platform builds it at call time.
//! Pure: the same action and input always give the same request.
//!
//! Order of the headers, as the platform sends them: `User-Agent: OpenCX`, the
//! action's static headers, its header parameters, the global variables, then
//! the context headers. A later header replaces an earlier one of the same name
//! (so a global variable wins over a static header), and the replacement is
//! noted.

use std::collections::BTreeMap;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value};
use url::Url;

use super::GlobalVariable;
use crate::action::{
    AuthKind, AuthRequirement, AuthScheme, Body, Method, Parameter, ParameterLocation,
    StaticHeader, StoredAction,
};
use crate::tools::body_argument;

/// The `User-Agent` the platform sends.
pub const USER_AGENT: &str = "OpenCX";

/// The context headers and the placeholder values a test sends (the platform
/// sends the conversation's real ones when the organisation enables them).
pub const CONTEXT_HEADERS: [(&str, &str); 4] = [
    ("x-opencx-org-id", "actionsync-test-org"),
    ("x-opencx-session-id", "actionsync-test-session"),
    ("x-opencx-ticket-number", "0"),
    ("x-opencx-external-user-id", "actionsync-test-user"),
];

/// What a path parameter's value may keep unencoded: RFC 3986's unreserved set.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Why a request could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// Required arguments with nothing to fill them.
    #[error(
        "{action}: these required arguments have no value, and the spec gives no example, default or enum to use: {}; give them with --arg NAME=VALUE (the body with --body JSON), or \"args\"/\"body\" over the API",
        missing.join(", ")
    )]
    Missing {
        /// The action's name.
        action: String,
        /// Each missing argument (`order_id (path)`, `body.customer.email`).
        missing: Vec<String>,
    },
    /// An argument the action does not take.
    #[error("{action} has no argument `{name}`; its arguments are: {known}")]
    UnknownArgument {
        /// The action's name.
        action: String,
        /// The argument given.
        name: String,
        /// The arguments it takes.
        known: String,
    },
    /// A body for an action that sends none.
    #[error("{0} sends no request body; leave --body out")]
    NoBody(String),
    /// The URL does not parse once filled in.
    #[error("{action}: the URL {url} is not valid once filled in: {reason}")]
    Url {
        /// The action's name.
        action: String,
        /// The URL, filled in.
        url: String,
        /// Why.
        reason: String,
    },
    /// A multipart body that is not an object.
    #[error(
        "{0}: a multipart/form-data body is an object, one field per property; give --body '{{\"field\": \"value\"}}'"
    )]
    MultipartNotObject(String),
}

/// One request header as it will be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Name, as given.
    pub name: String,
    /// Value.
    pub value: String,
    /// A global variable: never shown, redacted wherever it appears.
    pub secret: bool,
}

/// The request body.
#[derive(Debug, Clone, PartialEq)]
pub enum PreparedBody {
    /// JSON, with its content type (`application/json` or a `+json` type).
    Json {
        /// Content type.
        content_type: String,
        /// The document.
        value: Value,
    },
    /// `multipart/form-data`: one text field per property (strings as they are,
    /// other values as JSON).
    Multipart(Vec<(String, String)>),
}

/// A request ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    /// Method.
    pub method: Method,
    /// The URL, parameters filled in.
    pub url: Url,
    /// Headers in the order they are sent.
    pub headers: Vec<Header>,
    /// Body, if any.
    pub body: Option<PreparedBody>,
    /// What a person should know: placeholders, values taken from the spec,
    /// headers replaced.
    pub notes: Vec<String>,
}

/// The spec-owned fields the call uses, pins applied.
struct Effective {
    url: String,
    method: Method,
    parameters: Vec<Parameter>,
    headers: Vec<StaticHeader>,
    body: Option<Body>,
    auth: Vec<AuthRequirement>,
}

impl Effective {
    fn of(action: &StoredAction) -> Effective {
        Effective {
            url: action.in_effect("url", &action.spec.url).into_owned(),
            method: action.in_effect("method", &action.spec.method).into_owned(),
            parameters: action
                .in_effect("parameters", &action.spec.parameters)
                .into_owned(),
            headers: action
                .in_effect("headers", &action.spec.headers)
                .into_owned(),
            body: action.in_effect("body", &action.spec.body).into_owned(),
            auth: action.in_effect("auth", &action.spec.auth).into_owned(),
        }
    }
}

/// Builds the request `action` makes with `input`'s arguments and context, the
/// global variables, and (when `context_headers`) the placeholder context headers.
pub fn request(
    action: &StoredAction,
    input: &super::TestInput,
    globals: &[GlobalVariable],
    context_headers: bool,
) -> Result<Prepared, BuildError> {
    let fields = Effective::of(action);
    let mut notes = Vec::new();
    check_argument_names(action, &fields, input)?;
    let mut missing = Vec::new();
    let values = parameter_values(action, &fields, input, &mut notes, &mut missing);
    let body = body_value(action, &fields, input, &mut notes, &mut missing)?;
    if !missing.is_empty() {
        return Err(BuildError::Missing {
            action: action.name.clone(),
            missing,
        });
    }
    let url = fill_url(action, &fields, &values)?;
    let headers = headers(
        action,
        &fields,
        &values,
        &body,
        globals,
        context_headers,
        input,
        &mut notes,
    );
    notes.extend(auth_hints(&fields.auth, &headers));
    Ok(Prepared {
        method: fields.method,
        url,
        headers,
        body,
        notes,
    })
}

/// Every argument given is one the action takes (by tool name or spec key).
fn check_argument_names(
    action: &StoredAction,
    fields: &Effective,
    input: &super::TestInput,
) -> Result<(), BuildError> {
    for name in input.args.keys() {
        if find_parameter(&fields.parameters, name).is_none() {
            let mut known: Vec<String> = fields.parameters.iter().map(|p| p.name.clone()).collect();
            if fields.body.is_some() {
                known.push(format!("{} (as --body)", body_argument(&fields.parameters)));
            }
            return Err(BuildError::UnknownArgument {
                action: action.name.clone(),
                name: name.clone(),
                known: if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                },
            });
        }
    }
    if input.body.is_some() && fields.body.is_none() {
        return Err(BuildError::NoBody(action.name.clone()));
    }
    Ok(())
}

fn find_parameter<'p>(parameters: &'p [Parameter], name: &str) -> Option<&'p Parameter> {
    parameters
        .iter()
        .find(|p| p.name == name)
        .or_else(|| parameters.iter().find(|p| p.key == name))
}

/// The value given for `parameter`, by its tool name or its spec key.
fn given<'i>(input: &'i super::TestInput, parameter: &Parameter) -> Option<&'i Value> {
    input
        .args
        .get(&parameter.name)
        .or_else(|| input.args.get(&parameter.key))
}

/// The magic field that fills `parameter` (header names in any case), if any.
fn magic_for<'a>(action: &'a StoredAction, key: &str, header: bool) -> Option<&'a String> {
    let magic = &action.hand.magic_fields;
    if header {
        magic
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    } else {
        magic.get(key)
    }
}

/// A magic field's value: the context given for its path, else a placeholder
/// (noted).
fn magic_value(input: &super::TestInput, key: &str, path: &str, notes: &mut Vec<String>) -> Value {
    match input.context.get(path) {
        Some(value) => Value::String(value.clone()),
        None => {
            notes.push(format!(
                "magic field `{key}` ← {path}: no context given, sent the placeholder `<{path}>` (give --context {path}=VALUE)"
            ));
            Value::String(format!("<{path}>"))
        }
    }
}

/// Each parameter's value: a magic field's, the argument given, or for a
/// required one the schema's example, default or first enum value.
fn parameter_values(
    action: &StoredAction,
    fields: &Effective,
    input: &super::TestInput,
    notes: &mut Vec<String>,
    missing: &mut Vec<String>,
) -> Vec<(Parameter, Value)> {
    let mut values = Vec::new();
    for parameter in &fields.parameters {
        let header = parameter.location == ParameterLocation::Header;
        let value = if let Some(path) = magic_for(action, &parameter.key, header) {
            if given(input, parameter).is_some() {
                notes.push(format!(
                    "argument `{}` is filled by a magic field from {path}, as the platform fills it: the value given was not used (give --context {path}=VALUE)",
                    parameter.name
                ));
            }
            Some(magic_value(input, &parameter.key, path, notes))
        } else if let Some(value) = given(input, parameter) {
            Some(value.clone())
        } else if parameter.required {
            let mut holes = Vec::new();
            let value = sample(&parameter.schema, &parameter.name, &mut holes);
            match value {
                Some(value) if holes.is_empty() => {
                    notes.push(format!(
                        "argument `{}` not given: sent {} from the spec",
                        parameter.name,
                        compact(&value)
                    ));
                    Some(value)
                }
                _ => {
                    missing.push(format!(
                        "{} ({})",
                        parameter.name,
                        parameter.location.as_str()
                    ));
                    None
                }
            }
        } else {
            None
        };
        if let Some(value) = value {
            values.push((parameter.clone(), value));
        }
    }
    values
}

/// The body: the one given, else for a required body one made from its schema.
fn body_value(
    action: &StoredAction,
    fields: &Effective,
    input: &super::TestInput,
    notes: &mut Vec<String>,
    missing: &mut Vec<String>,
) -> Result<Option<PreparedBody>, BuildError> {
    let Some(body) = &fields.body else {
        return Ok(None);
    };
    let argument = body_argument(&fields.parameters);
    let value = match &input.body {
        Some(value) => value.clone(),
        None if body.required => {
            let mut holes = Vec::new();
            match sample(&body.schema, &argument, &mut holes) {
                Some(value) if holes.is_empty() => {
                    notes.push(
                        "no body given: sent one made from the spec's examples, defaults and enums"
                            .to_string(),
                    );
                    value
                }
                _ => {
                    missing.extend(holes);
                    return Ok(None);
                }
            }
        }
        None => return Ok(None),
    };
    if body
        .content_type
        .eq_ignore_ascii_case("multipart/form-data")
    {
        let Value::Object(map) = value else {
            return Err(BuildError::MultipartNotObject(action.name.clone()));
        };
        let fields = map
            .into_iter()
            .map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, text)
            })
            .collect();
        return Ok(Some(PreparedBody::Multipart(fields)));
    }
    Ok(Some(PreparedBody::Json {
        content_type: body.content_type.clone(),
        value,
    }))
}

/// A value for `schema` from what the spec offers: `examples`, `example`,
/// `default`, `const`, the first `enum` value; an object is made of its required
/// properties' values, an array may be empty. What has nothing is pushed to
/// `holes` by path (`body.customer.email`).
pub fn sample(schema: &Value, path: &str, holes: &mut Vec<String>) -> Option<Value> {
    let Value::Object(schema) = schema else {
        holes.push(path.to_string());
        return None;
    };
    if let Some(Value::Array(examples)) = schema.get("examples")
        && let Some(first) = examples.first()
    {
        return Some(first.clone());
    }
    for keyword in ["example", "default", "const"] {
        if let Some(value) = schema.get(keyword) {
            return Some(value.clone());
        }
    }
    if let Some(Value::Array(values)) = schema.get("enum")
        && let Some(first) = values.first()
    {
        return Some(first.clone());
    }
    let types = schema_types(schema);
    if types.iter().any(|t| t == "object") || schema.contains_key("properties") {
        let properties = schema.get("properties").and_then(Value::as_object);
        let mut object = Map::new();
        for name in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            let inner = properties
                .and_then(|p| p.get(name))
                .cloned()
                .unwrap_or(Value::Bool(true));
            if let Some(value) = sample(&inner, &format!("{path}.{name}"), holes) {
                object.insert(name.to_string(), value);
            }
        }
        return Some(Value::Object(object));
    }
    if types.iter().any(|t| t == "array") {
        return Some(Value::Array(Vec::new()));
    }
    if types.iter().any(|t| t == "null") {
        return Some(Value::Null);
    }
    // A union: the first branch that can be sampled whole.
    for keyword in ["oneOf", "anyOf"] {
        if let Some(Value::Array(branches)) = schema.get(keyword) {
            for branch in branches {
                let mut inner = Vec::new();
                if let Some(value) = sample(branch, path, &mut inner)
                    && inner.is_empty()
                {
                    return Some(value);
                }
            }
        }
    }
    holes.push(path.to_string());
    None
}

fn schema_types(schema: &Map<String, Value>) -> Vec<String> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect(),
        _ => Vec::new(),
    }
}

fn compact(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 60 {
        format!("{}…", text.chars().take(60).collect::<String>())
    } else {
        text
    }
}

/// A scalar as text: strings as they are, `null` as nothing.
fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The URL template with each path parameter filled in (style `simple`,
/// percent-encoded), and the query parameters appended.
fn fill_url(
    action: &StoredAction,
    fields: &Effective,
    values: &[(Parameter, Value)],
) -> Result<Url, BuildError> {
    let mut filled = fields.url.clone();
    for (parameter, value) in values {
        if parameter.location != ParameterLocation::Path {
            continue;
        }
        let explode = parameter.explode.unwrap_or(false);
        let encode = |s: &str| utf8_percent_encode(s, PATH_SEGMENT).to_string();
        let text = match value {
            Value::Array(items) => items
                .iter()
                .map(|v| encode(&scalar(v)))
                .collect::<Vec<_>>()
                .join(","),
            Value::Object(map) => map
                .iter()
                .map(|(k, v)| {
                    let (k, v) = (encode(k), encode(&scalar(v)));
                    if explode {
                        format!("{k}={v}")
                    } else {
                        format!("{k},{v}")
                    }
                })
                .collect::<Vec<_>>()
                .join(","),
            other => encode(&scalar(other)),
        };
        filled = filled.replace(&format!("{{{}}}", parameter.key), &text);
    }
    let mut url = Url::parse(&filled).map_err(|e| BuildError::Url {
        action: action.name.clone(),
        url: filled.clone(),
        reason: e.to_string(),
    })?;
    let pairs = query_pairs(values);
    if !pairs.is_empty() {
        let mut query = url.query_pairs_mut();
        for (name, value) in &pairs {
            query.append_pair(name, value);
        }
    }
    Ok(url)
}

/// The query parameters as name–value pairs, by their OpenAPI style: `form`
/// (exploded by default: `a=1&a=2`), `spaceDelimited`, `pipeDelimited`,
/// `deepObject` (`a[k]=v`).
fn query_pairs(values: &[(Parameter, Value)]) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for (parameter, value) in values {
        if parameter.location != ParameterLocation::Query {
            continue;
        }
        let name = &parameter.key;
        let style = parameter.style.as_deref().unwrap_or("form");
        let explode = parameter.explode.unwrap_or(style == "form");
        match (value, style) {
            (Value::Array(items), "spaceDelimited" | "pipeDelimited") if !explode => {
                let sep = if style == "pipeDelimited" { "|" } else { " " };
                let joined: Vec<String> = items.iter().map(scalar).collect();
                pairs.push((name.clone(), joined.join(sep)));
            }
            (Value::Array(items), _) if explode => {
                pairs.extend(items.iter().map(|v| (name.clone(), scalar(v))));
            }
            (Value::Array(items), _) => {
                let joined: Vec<String> = items.iter().map(scalar).collect();
                pairs.push((name.clone(), joined.join(",")));
            }
            (Value::Object(map), "deepObject") => {
                pairs.extend(map.iter().map(|(k, v)| (format!("{name}[{k}]"), scalar(v))));
            }
            (Value::Object(map), _) if explode => {
                pairs.extend(map.iter().map(|(k, v)| (k.clone(), scalar(v))));
            }
            (Value::Object(map), _) => {
                let joined: Vec<String> = map
                    .iter()
                    .flat_map(|(k, v)| [k.clone(), scalar(v)])
                    .collect();
                pairs.push((name.clone(), joined.join(",")));
            }
            (other, _) => pairs.push((name.clone(), scalar(other))),
        }
    }
    pairs
}

/// The headers, in the platform's order, a later one replacing an earlier one
/// of the same name.
#[allow(clippy::too_many_arguments)]
fn headers(
    action: &StoredAction,
    fields: &Effective,
    values: &[(Parameter, Value)],
    body: &Option<PreparedBody>,
    globals: &[GlobalVariable],
    context_headers: bool,
    input: &super::TestInput,
    notes: &mut Vec<String>,
) -> Vec<Header> {
    let mut headers: Vec<Header> = Vec::new();
    let mut set = |name: &str, value: String, secret: bool, notes: &mut Vec<String>| {
        if let Some(i) = headers
            .iter()
            .position(|h| h.name.eq_ignore_ascii_case(name))
        {
            let replaced = headers.remove(i);
            if !replaced.name.eq_ignore_ascii_case("content-type") || secret {
                notes.push(format!(
                    "header `{name}` replaces an earlier one of the same name"
                ));
            }
        }
        headers.push(Header {
            name: name.to_string(),
            value,
            secret,
        });
    };
    set("User-Agent", USER_AGENT.to_string(), false, notes);
    let multipart = matches!(body, Some(PreparedBody::Multipart(_)));
    if let Some(PreparedBody::Json { content_type, .. }) = body {
        set("Content-Type", content_type.clone(), false, notes);
    }
    for header in &fields.headers {
        // A multipart body's Content-Type carries its boundary: the client sets it.
        if multipart && header.name.eq_ignore_ascii_case("content-type") {
            continue;
        }
        let value = match magic_for(action, &header.name, true) {
            Some(path) => scalar(&magic_value(input, &header.name, path, notes)),
            None => header.value.clone(),
        };
        set(&header.name, value, false, notes);
    }
    for (parameter, value) in values {
        if parameter.location != ParameterLocation::Header {
            continue;
        }
        let text = match value {
            Value::Array(items) => items.iter().map(scalar).collect::<Vec<_>>().join(","),
            Value::Object(map) => map
                .iter()
                .flat_map(|(k, v)| [k.clone(), scalar(v)])
                .collect::<Vec<_>>()
                .join(","),
            other => scalar(other),
        };
        set(&parameter.key, text, false, notes);
    }
    for global in globals {
        set(&global.name, global.value.clone(), true, notes);
    }
    if context_headers {
        for (name, value) in CONTEXT_HEADERS {
            set(name, value.to_string(), false, notes);
        }
    }
    headers
}

/// What the headers lack for the action's security requirements, when no
/// alternative is met: the platform authenticates only through global variables
/// (headers, sent verbatim). Says nothing of a value but whether a bearer token
/// has its `Bearer ` prefix, the platform's common trap.
fn auth_hints(auth: &[AuthRequirement], headers: &[Header]) -> Vec<String> {
    let find = |name: &str| headers.iter().find(|h| h.name.eq_ignore_ascii_case(name));
    let header_of = |scheme: &AuthScheme| -> Option<String> {
        match scheme.kind {
            AuthKind::ApiKey => match scheme.location.as_deref() {
                Some("header") => scheme.param.clone(),
                _ => None,
            },
            AuthKind::MutualTls => None,
            _ => Some("Authorization".to_string()),
        }
    };
    let met = |requirement: &AuthRequirement| {
        requirement
            .schemes
            .iter()
            .all(|s| header_of(s).is_some_and(|h| find(&h).is_some()))
    };
    let Some(first) = auth.first() else {
        return Vec::new();
    };
    let mut hints = Vec::new();
    if !auth.iter().any(met) {
        for scheme in &first.schemes {
            match header_of(scheme) {
                Some(header) if find(&header).is_none() => hints.push(format!(
                    "the spec's security scheme `{}` needs a `{header}` header and none is sent: add a global variable `{header}` to the config's test.global_variables",
                    scheme.secret
                )),
                Some(_) => {}
                None => hints.push(format!(
                    "the spec's security scheme `{}` ({}) cannot be sent: the platform authenticates only with headers (global variables)",
                    scheme.secret,
                    scheme.location.as_deref().unwrap_or("mutual TLS")
                )),
            }
        }
    }
    let bearer = auth
        .iter()
        .flat_map(|r| &r.schemes)
        .any(|s| s.kind == AuthKind::Bearer);
    if bearer
        && let Some(header) = find("Authorization")
        && !header.value.to_ascii_lowercase().starts_with("bearer ")
    {
        hints.push(
            "the `Authorization` header does not start with `Bearer `, which the spec's bearer scheme expects: the platform sends a global variable verbatim, so its value must be the whole `Bearer <token>`".to_string(),
        );
    }
    hints
}

/// Turns `--arg NAME=TEXT` into a value: text for a parameter whose schema
/// allows strings (or says nothing), else JSON when the text is JSON.
pub fn parse_argument(action: &StoredAction, name: &str, text: &str) -> Value {
    let fields = Effective::of(action);
    let wants_string = find_parameter(&fields.parameters, name).is_none_or(|p| {
        let types = match p.schema.as_ref() {
            Value::Object(map) => schema_types(map),
            _ => Vec::new(),
        };
        types.is_empty() || types.iter().any(|t| t == "string")
    });
    if wants_string {
        return Value::String(text.to_string());
    }
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

/// The context a test gives, as `PATH=VALUE` pairs, keyed by path.
pub fn context_map(pairs: &[(String, String)]) -> BTreeMap<String, String> {
    pairs.iter().cloned().collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::action::{ActionState, HandFields, Origin, SpecFields};
    use crate::call::TestInput;

    fn parameter(
        key: &str,
        location: ParameterLocation,
        required: bool,
        schema: Value,
    ) -> Parameter {
        Parameter {
            key: key.to_string(),
            name: key.to_ascii_lowercase().replace('-', "_"),
            location,
            description: String::new(),
            required,
            schema: std::sync::Arc::new(schema),
            style: None,
            explode: None,
        }
    }

    fn action(parameters: Vec<Parameter>, body: Option<Body>) -> StoredAction {
        StoredAction {
            id: 1,
            source: "orders".into(),
            key: "k".into(),
            name: "get_order".into(),
            state: ActionState::Active,
            spec: SpecFields {
                name: "get_order".into(),
                description: "Look up one order by its id".into(),
                method: Method::Post,
                url: "https://api.example.com/orders/{orderId}".into(),
                parameters,
                headers: vec![StaticHeader {
                    name: "X-Tenant".into(),
                    value: "acme".into(),
                }],
                body,
                auth: Vec::new(),
                operation: Origin {
                    operation_id: None,
                    method: "post".into(),
                    path: "/orders/{orderId}".into(),
                    tags: Vec::new(),
                    pointer: String::new(),
                },
            },
            hand: HandFields::default(),
            hand_set: Vec::new(),
            version: 1,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn path_values_are_percent_encoded_and_queries_follow_their_style() {
        let a = action(
            vec![
                parameter(
                    "orderId",
                    ParameterLocation::Path,
                    true,
                    json!({"type": "string"}),
                ),
                parameter(
                    "tags",
                    ParameterLocation::Query,
                    false,
                    json!({"type": "array"}),
                ),
                Parameter {
                    style: Some("deepObject".into()),
                    ..parameter(
                        "filter",
                        ParameterLocation::Query,
                        false,
                        json!({"type": "object"}),
                    )
                },
            ],
            None,
        );
        let input = TestInput {
            args: BTreeMap::from([
                ("orderid".to_string(), json!("a b/c?")),
                ("tags".to_string(), json!(["x", "y"])),
                ("filter".to_string(), json!({"status": "open"})),
            ]),
            ..TestInput::default()
        };
        let prepared = request(&a, &input, &[], true).unwrap();
        assert_eq!(
            prepared.url.as_str(),
            "https://api.example.com/orders/a%20b%2Fc%3F?tags=x&tags=y&filter%5Bstatus%5D=open"
        );
    }

    #[test]
    fn missing_required_values_come_from_the_spec_or_are_listed() {
        let a = action(
            vec![
                parameter(
                    "orderId",
                    ParameterLocation::Path,
                    true,
                    json!({"type": "integer", "examples": [42]}),
                ),
                parameter(
                    "mode",
                    ParameterLocation::Query,
                    true,
                    json!({"enum": ["fast", "slow"]}),
                ),
                parameter(
                    "X-Trace",
                    ParameterLocation::Header,
                    true,
                    json!({"type": "string"}),
                ),
            ],
            Some(Body {
                content_type: "application/json".into(),
                required: true,
                schema: std::sync::Arc::new(
                    json!({"type": "object", "required": ["email", "kind"],
                    "properties": {"email": {"type": "string"}, "kind": {"default": "gift"}}}),
                ),
                inferred: false,
            }),
        );
        let error = request(&a, &TestInput::default(), &[], true).unwrap_err();
        assert_eq!(
            error,
            BuildError::Missing {
                action: "get_order".into(),
                missing: vec!["x_trace (header)".into(), "body.email".into()],
            }
        );
        let input = TestInput {
            args: BTreeMap::from([("X-Trace".to_string(), json!("t-1"))]),
            body: Some(json!({"email": "a@b.c"})),
            ..TestInput::default()
        };
        let prepared = request(&a, &input, &[], false).unwrap();
        assert_eq!(
            prepared.url.as_str(),
            "https://api.example.com/orders/42?mode=fast"
        );
        assert!(
            prepared
                .notes
                .iter()
                .any(|n| n.contains("`orderid`") && n.contains("42"))
        );
    }

    #[test]
    fn headers_come_in_the_platforms_order_and_globals_are_secret() {
        let mut a = action(
            vec![parameter(
                "orderId",
                ParameterLocation::Path,
                true,
                json!({"type": "string"}),
            )],
            None,
        );
        a.hand
            .magic_fields
            .insert("orderId".into(), "contact.order".into());
        let globals = [GlobalVariable {
            name: "Authorization".into(),
            value: "Bearer s3cret".into(),
        }];
        let prepared = request(&a, &TestInput::default(), &globals, true).unwrap();
        let names: Vec<&str> = prepared.headers.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "User-Agent",
                "X-Tenant",
                "Authorization",
                "x-opencx-org-id",
                "x-opencx-session-id",
                "x-opencx-ticket-number",
                "x-opencx-external-user-id"
            ]
        );
        assert!(
            prepared
                .headers
                .iter()
                .all(|h| h.secret == (h.name == "Authorization"))
        );
        assert_eq!(
            prepared.url.as_str(),
            "https://api.example.com/orders/%3Ccontact.order%3E"
        );
        assert!(prepared.notes.iter().any(|n| n.contains("placeholder")));
        let without = request(&a, &TestInput::default(), &[], false).unwrap();
        assert!(
            !without
                .headers
                .iter()
                .any(|h| h.name.starts_with("x-opencx"))
        );
    }

    #[test]
    fn auth_hints_say_what_is_missing_without_a_value() {
        let scheme = |kind, location: Option<&str>, param: Option<&str>| AuthScheme {
            secret: "key".into(),
            kind,
            location: location.map(String::from),
            param: param.map(String::from),
            scheme: None,
            scopes: Vec::new(),
        };
        let header = |name: &str, value: &str| Header {
            name: name.into(),
            value: value.into(),
            secret: true,
        };
        let api_key = vec![AuthRequirement {
            schemes: vec![scheme(AuthKind::ApiKey, Some("header"), Some("X-Api-Key"))],
        }];
        let hints = auth_hints(&api_key, &[]);
        assert_eq!(hints.len(), 1);
        assert!(hints[0].contains("`X-Api-Key`"), "{hints:?}");
        assert!(auth_hints(&api_key, &[header("x-api-key", "k")]).is_empty());

        let bearer = vec![AuthRequirement {
            schemes: vec![scheme(AuthKind::Bearer, None, None)],
        }];
        let hints = auth_hints(&bearer, &[header("Authorization", "tok-123")]);
        assert_eq!(hints.len(), 1);
        assert!(
            hints[0].contains("Bearer ") && !hints[0].contains("tok-123"),
            "{hints:?}"
        );
        assert!(auth_hints(&bearer, &[header("Authorization", "Bearer tok")]).is_empty());

        let query = vec![AuthRequirement {
            schemes: vec![scheme(AuthKind::ApiKey, Some("query"), Some("key"))],
        }];
        assert!(auth_hints(&query, &[])[0].contains("cannot be sent"));
    }

    #[test]
    fn an_unknown_argument_lists_the_known_ones() {
        let a = action(
            vec![parameter(
                "orderId",
                ParameterLocation::Path,
                true,
                json!({}),
            )],
            None,
        );
        let input = TestInput {
            args: BTreeMap::from([("order".to_string(), json!("1"))]),
            ..TestInput::default()
        };
        let message = request(&a, &input, &[], true).unwrap_err().to_string();
        assert!(
            message.contains("`order`") && message.contains("orderid"),
            "{message}"
        );
    }
}
