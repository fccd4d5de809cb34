//! One operation → one [`ActionDraft`]: URL, parameters, body, auth, description,
//! name and the initial hand-owned values from vendor extensions.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use serde_json::{Map, Value, json};
use url::Url;

use super::ConvertOptions;
use super::naming;
use super::schema::{self, Purpose, Schemas};
use super::server::{self, Level, ServerPolicy};
use crate::action::{
    ActionDraft, AuthRequirement, Body, Channel, HandFields, MIN_DESCRIPTION, Method, Origin,
    Parameter, ParameterLocation, SpecFields, StaticHeader,
};
use crate::diagnostic::{Diagnostic, Severity};
use crate::spec::{Field, Spec, SpecVersion};

/// Why an operation could not become an action.
pub(super) struct Failure {
    pub code: &'static str,
    pub message: String,
    pub pointer: Option<String>,
}

impl Failure {
    /// Whether the failure comes from the spec's root (its servers or host), so it
    /// is the same for every operation that inherits them.
    pub fn is_root_level(&self) -> bool {
        matches!(self.pointer.as_deref(), Some("#/servers" | "#/host"))
    }

    fn new(
        code: &'static str,
        pointer: impl Into<Option<String>>,
        message: impl Into<String>,
    ) -> Self {
        Failure {
            code,
            message: message.into(),
            pointer: pointer.into(),
        }
    }
}

/// One operation, as the driver found it.
pub(super) struct OperationInput<'a, 'p> {
    pub key: &'a str,
    pub operation_id: Option<&'p str>,
    /// The operationId to name the action from: `None` when it is missing or shared.
    pub naming_id: Option<&'p str>,
    pub method: Method,
    pub method_key: &'p str,
    pub path: &'p str,
    pub pointer: &'a str,
    pub op: &'p Map<String, Value>,
    pub item: &'p Map<String, Value>,
    /// The document the path item lives in; references inside it resolve against it.
    pub base: &'p Url,
    pub tags: Vec<String>,
}

/// What every operation of a spec shares: servers, security schemes, defaults.
pub(super) struct SpecContext<'s> {
    spec: &'s Spec,
    options: &'s ConvertOptions,
    /// Every component schema, normalised once for all operations.
    schemas: Schemas<'s>,
    root_servers: Result<Vec<String>, server::ServerProblem>,
    schemes: Map<String, Value>,
    root_security: Option<&'s Value>,
    root_consumes: Vec<String>,
}

/// A parameter before conversion: where it was declared and what it says.
struct RawParameter<'p> {
    name: String,
    location: String,
    value: &'p Map<String, Value>,
    base: &'p Url,
    pointer: String,
}

impl<'s> SpecContext<'s> {
    /// Reads what the operations share once: root servers, security schemes, `consumes`.
    pub fn new(
        spec: &'s Spec,
        options: &'s ConvertOptions,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Self {
        let root = spec.root();
        let root_servers = match spec.version() {
            SpecVersion::Swagger2 => Ok(server::swagger2_candidates(root, None)),
            _ => server::oas3_candidates(root.field("servers").unwrap_or(&Value::Null)),
        };
        let (schemes_value, schemes_pointer) = match spec.version() {
            SpecVersion::Swagger2 => (root.field("securityDefinitions"), "#/securityDefinitions"),
            _ => (
                root.field("components")
                    .and_then(|c| c.field("securitySchemes")),
                "#/components/securitySchemes",
            ),
        };
        let mut schemes = Map::new();
        for (name, definition) in schemes_value
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            match spec.deref(spec.root_url(), definition) {
                Ok(resolved) => {
                    schemes.insert(name.clone(), resolved.value.clone());
                }
                Err(e) => diagnostics.push(Diagnostic::new(
                    Severity::Warning,
                    "unresolved-ref",
                    None,
                    format!("{schemes_pointer}/{}", crate::spec::pointer::escape(name)),
                    format!("the security scheme `{name}` could not be read: {e}"),
                )),
            }
        }
        let root_consumes = string_list(root.field("consumes"));
        SpecContext {
            spec,
            options,
            schemas: Schemas::new(spec),
            root_servers,
            schemes,
            root_security: root.field("security"),
            root_consumes,
        }
    }

    /// Converts one operation into an action, or says why it cannot be one.
    pub fn convert<'p>(
        &self,
        input: &OperationInput<'_, 'p>,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Result<ActionDraft, Failure>
    where
        's: 'p,
    {
        let key = input.key;
        let mut warn = |severity: Severity, code: &str, pointer: String, message: String| {
            diagnostics.push(Diagnostic::new(severity, code, Some(key), pointer, message));
        };

        let path = rooted(input.path);
        let url = format!("{}{path}", self.server_for(input)?);
        let (parameters, swagger2_body) = self.parameters(input, &path, &mut warn)?;
        let body_bytes = self.bytes_left_for_body(&parameters);
        let body = self.body(input, swagger2_body, body_bytes, &mut warn)?;
        let headers = content_type_header(body.as_ref());
        let auth = self.auth(input, &mut warn)?;
        let name = action_name(input, &path, &mut warn);
        let description = action_description(input, &name, &path, &parameters, &mut warn);
        let spec = SpecFields {
            name,
            description,
            method: input.method,
            url,
            parameters,
            headers,
            body,
            auth,
            operation: input.origin(),
        };
        let hand = hand_fields(&spec, input, &mut warn);
        Ok(ActionDraft {
            source: self.options.source.clone(),
            key: key.to_string(),
            spec,
            hand,
        })
    }

    /// Builds one schema within `max_bytes`, reporting its caveats and what was cut
    /// to stay within the budget against `pointer`, as `what` ("request body").
    #[allow(clippy::too_many_arguments)]
    fn build_schema(
        &self,
        base: &Url,
        schema: &Value,
        purpose: Purpose,
        max_bytes: usize,
        what: &str,
        pointer: &str,
        warn: &mut impl FnMut(Severity, &str, String, String),
    ) -> Result<Arc<Value>, crate::spec::RefError> {
        let built = self
            .schemas
            .build(base, schema, purpose, &self.options.budget, max_bytes)?;
        for message in built.warnings {
            warn(
                Severity::Warning,
                "schema",
                pointer.to_string(),
                format!("{what}: {message}"),
            );
        }
        for message in schema::describe_cuts(&built.cuts) {
            warn(
                Severity::Warning,
                "schema-cut",
                pointer.to_string(),
                format!("{what}: {message}"),
            );
        }
        Ok(built.schema)
    }

    /// The action's parameters, and what in Swagger 2.0 makes its body instead.
    fn parameters<'p>(
        &self,
        input: &OperationInput<'_, 'p>,
        path: &str,
        warn: &mut impl FnMut(Severity, &str, String, String),
    ) -> Result<(Vec<Parameter>, Swagger2Body<'p>), Failure>
    where
        's: 'p,
    {
        let raw = self.raw_parameters(input, warn)?;
        let (mut parameters, swagger2_body) = self.classify_parameters(raw, warn)?;
        reconcile_path_parameters(path, input.pointer, &mut parameters, warn);
        make_parameter_names_unique(&mut parameters);
        Ok((parameters, swagger2_body))
    }

    /// The parameters as declared, the path item's first; an operation's parameter
    /// with the same name and location replaces the path item's.
    fn raw_parameters<'p>(
        &self,
        input: &OperationInput<'_, 'p>,
        warn: &mut impl FnMut(Severity, &str, String, String),
    ) -> Result<Vec<RawParameter<'p>>, Failure>
    where
        's: 'p,
    {
        let mut raw: Vec<RawParameter<'p>> = Vec::new();
        self.collect_parameters(
            input.item.field("parameters"),
            input.base,
            &format!("{}/parameters", input.item_pointer()),
            &mut raw,
            warn,
        )?;
        self.collect_parameters(
            input.op.field("parameters"),
            input.base,
            &format!("{}/parameters", input.pointer),
            &mut raw,
            warn,
        )?;
        Ok(raw)
    }

    /// Converts the parameters the action sends, sets aside Swagger 2.0's body and
    /// form parameters, and leaves out (saying why) what it cannot send.
    fn classify_parameters<'p>(
        &self,
        raw: Vec<RawParameter<'p>>,
        warn: &mut impl FnMut(Severity, &str, String, String),
    ) -> Result<(Vec<Parameter>, Swagger2Body<'p>), Failure>
    where
        's: 'p,
    {
        // Sized at once: grown by doubling, Kubernetes' 833 lists of parameters
        // held a third more than they used.
        let mut parameters: Vec<Parameter> = Vec::with_capacity(raw.len());
        let mut swagger2_body = Swagger2Body::default();
        // The parameters share the tool's budget with the body: each may take half
        // of it, and no more than the parameters before it left.
        let mut left = self.options.budget.max_bytes;
        for p in raw {
            match placement(&p, self.spec.version())? {
                Placement::Sent(location) => {
                    let max_bytes = (self.options.budget.max_bytes / 2).min(left);
                    let parameter = self.parameter(&p, location, max_bytes, warn)?;
                    left = left.saturating_sub(crate::json_text::compact_len(&parameter.schema));
                    parameters.push(parameter);
                }
                Placement::Body => swagger2_body.body = Some(p),
                Placement::FormField => swagger2_body.form.push(p),
                Placement::LeftOut(severity, code, message) => {
                    warn(severity, code, p.pointer, message)
                }
            }
        }
        Ok((parameters, swagger2_body))
    }

    /// The request body: OpenAPI 3's `requestBody`, or Swagger 2.0's body or form
    /// parameters.
    fn body<'p>(
        &self,
        input: &OperationInput<'_, 'p>,
        swagger2_body: Swagger2Body<'p>,
        max_bytes: usize,
        warn: &mut impl FnMut(Severity, &str, String, String),
    ) -> Result<Option<Body>, Failure>
    where
        's: 'p,
    {
        match self.spec.version() {
            SpecVersion::Swagger2 => self.swagger2_body(
                input,
                swagger2_body.body,
                swagger2_body.form,
                max_bytes,
                warn,
            ),
            _ => self.oas3_body(input, max_bytes, warn),
        }
    }

    /// What the parameters' schemas leave of the tool's byte budget.
    fn bytes_left_for_body(&self, parameters: &[Parameter]) -> usize {
        let used: usize = parameters
            .iter()
            .map(|p| crate::json_text::compact_len(&p.schema))
            .sum();
        self.options.budget.max_bytes.saturating_sub(used)
    }

    /// The security requirements in effect: the operation's, else the spec's. Those
    /// naming an undefined scheme are left out with a warning.
    fn auth<'p>(
        &self,
        input: &OperationInput<'_, 'p>,
        warn: &mut impl FnMut(Severity, &str, String, String),
    ) -> Result<Vec<AuthRequirement>, Failure>
    where
        's: 'p,
    {
        let security = input.op.field("security").or(self.root_security);
        let (auth, undefined) = match security {
            Some(security) => super::auth::requirements(security, &self.schemes),
            None => (Vec::new(), Vec::new()),
        };
        if undefined.is_empty() {
            return Ok(auth);
        }
        let names = undefined
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let requirements_given = security
            .and_then(Value::as_array)
            .is_some_and(|r| !r.is_empty());
        if requirements_given && auth.is_empty() {
            // Every way to authenticate names an undefined scheme: an empty `auth`
            // would mean "no credentials needed", which the spec never said.
            return Err(Failure::new(
                "unknown-security-scheme",
                format!("{}/security", input.pointer),
                format!(
                    "the operation's security names {names}, which is not a defined security scheme, so the credentials it needs are unknown; define it under components.securitySchemes (securityDefinitions in Swagger 2.0)"
                ),
            ));
        }
        warn(
            Severity::Warning,
            "unknown-security-scheme",
            format!("{}/security", input.pointer),
            format!(
                "the security requirements naming {names}, which is not a defined security scheme, are left out; the others apply"
            ),
        );
        Ok(auth)
    }

    /// The base URL the operation is called at: its own servers, its path item's, else
    /// the spec's (Swagger 2.0: `schemes`, `host`, `basePath`).
    fn server_for<'p>(&self, input: &OperationInput<'_, 'p>) -> Result<String, Failure>
    where
        's: 'p,
    {
        let policy = ServerPolicy {
            base_url: self.options.base_url.as_ref(),
            fetched_from: self.spec.fetched_from(),
            allow_http: self.options.allow_http,
        };
        let failure =
            |p: server::ServerProblem, pointer: String| Failure::new(p.code, pointer, p.message);
        let root_pointer = match self.spec.version() {
            SpecVersion::Swagger2 => "#/host",
            _ => "#/servers",
        };
        let (candidates, level, pointer) = match self.spec.version() {
            SpecVersion::Swagger2 => match input.op.field("schemes") {
                Some(schemes) => (
                    Ok(server::swagger2_candidates(self.spec.root(), Some(schemes))),
                    Level::Root,
                    format!("{}/schemes", input.pointer),
                ),
                None => (
                    self.root_servers.clone(),
                    Level::Root,
                    root_pointer.to_string(),
                ),
            },
            _ => {
                if let Some(servers) = local(input.op.field("servers")) {
                    (
                        server::oas3_candidates(&Value::Array(servers.clone())),
                        Level::Local,
                        format!("{}/servers", input.pointer),
                    )
                } else if let Some(servers) = local(input.item.field("servers")) {
                    (
                        server::oas3_candidates(&Value::Array(servers.clone())),
                        Level::Local,
                        format!("{}/servers", input.item_pointer()),
                    )
                } else {
                    (
                        self.root_servers.clone(),
                        Level::Root,
                        root_pointer.to_string(),
                    )
                }
            }
        };
        let candidates = candidates.map_err(|p| failure(p, pointer.clone()))?;
        server::choose(&candidates, level, policy).map_err(|p| failure(p, pointer))
    }

    /// Adds the parameters of one `parameters` list to `out`, replacing any with the
    /// same name and location.
    fn collect_parameters<'p>(
        &self,
        list: Option<&'p Value>,
        base: &'p Url,
        pointer: &str,
        out: &mut Vec<RawParameter<'p>>,
        warn: &mut impl FnMut(Severity, &str, String, String),
    ) -> Result<(), Failure>
    where
        's: 'p,
    {
        let Some(list) = list else { return Ok(()) };
        let Some(items) = list.as_array() else {
            return Err(Failure::new(
                "bad-parameters",
                pointer.to_string(),
                "`parameters` is not a list, so the operation's inputs are unknown",
            ));
        };
        for (i, item) in items.iter().enumerate() {
            let item_pointer = format!("{pointer}/{i}");
            let resolved = self.spec.deref(base, item).map_err(|e| {
                Failure::new(
                    "unresolved-ref",
                    item_pointer.clone(),
                    format!("a parameter could not be read: {e}"),
                )
            })?;
            let Some(map) = resolved.value.as_object() else {
                warn(
                    Severity::Warning,
                    "bad-parameter",
                    item_pointer,
                    "a parameter is not a mapping; it is left out".to_string(),
                );
                continue;
            };
            let (Some(name), Some(location)) = (
                map.field("name").and_then(Value::as_str),
                map.field("in").and_then(Value::as_str),
            ) else {
                warn(
                    Severity::Warning,
                    "bad-parameter",
                    item_pointer,
                    "a parameter has no `name` or no `in`; it is left out".to_string(),
                );
                continue;
            };
            let raw = RawParameter {
                name: name.to_string(),
                location: location.to_string(),
                value: map,
                base: resolved.base,
                pointer: item_pointer,
            };
            match out
                .iter_mut()
                .find(|p| p.name == raw.name && p.location == raw.location)
            {
                Some(existing) => *existing = raw,
                None => out.push(raw),
            }
        }
        Ok(())
    }

    /// One parameter the action sends: its schema, description and serialisation.
    fn parameter<'p>(
        &self,
        p: &RawParameter<'p>,
        location: ParameterLocation,
        max_bytes: usize,
        warn: &mut impl FnMut(Severity, &str, String, String),
    ) -> Result<Parameter, Failure>
    where
        's: 'p,
    {
        let schema_source: Value;
        let (schema_value, schema_base): (&Value, &Url) =
            if self.spec.version() == SpecVersion::Swagger2 {
                schema_source = swagger2_parameter_schema(p.value);
                (&schema_source, p.base)
            } else if let Some(schema) = p.value.field("schema") {
                (schema, p.base)
            } else if let Some(schema) = p
                .value
                .field("content")
                .and_then(Value::as_object)
                .and_then(|c| c.values().next())
                .and_then(|media| media.field("schema"))
            {
                (schema, p.base)
            } else {
                schema_source = json!({});
                (&schema_source, p.base)
            };
        let built = self
            .build_schema(
                schema_base,
                schema_value,
                Purpose::Parameter,
                max_bytes,
                &format!("parameter `{}`", p.name),
                &p.pointer,
                warn,
            )
            .map_err(|e| {
                Failure::new(
                    "unresolved-ref",
                    p.pointer.clone(),
                    format!(
                        "the schema of parameter `{}` could not be read: {e}",
                        p.name
                    ),
                )
            })?;
        let mut description = tidy(
            p.value
                .field("description")
                .and_then(Value::as_str)
                .unwrap_or(""),
        );
        if description.is_empty() {
            description = tidy(
                built
                    .field("description")
                    .and_then(Value::as_str)
                    .unwrap_or(""),
            );
        }
        let required = location == ParameterLocation::Path
            || p.value
                .field("required")
                .and_then(Value::as_bool)
                .unwrap_or(false);
        let (style, explode) = serialization(p.value);
        Ok(Parameter {
            key: p.name.clone(),
            name: naming::parameter_name(&p.name),
            location,
            description,
            required,
            schema: self.schemas.share_parameter(built),
            style,
            explode,
        })
    }

    /// The request body of an OpenAPI 3 operation, from `requestBody`.
    fn oas3_body<'p>(
        &self,
        input: &OperationInput<'_, 'p>,
        max_bytes: usize,
        warn: &mut impl FnMut(Severity, &str, String, String),
    ) -> Result<Option<Body>, Failure>
    where
        's: 'p,
    {
        let Some(request_body) = input.op.field("requestBody") else {
            return Ok(None);
        };
        let pointer = format!("{}/requestBody", input.pointer);
        let resolved = self.spec.deref(input.base, request_body).map_err(|e| {
            Failure::new(
                "unresolved-ref",
                pointer.clone(),
                format!("the request body could not be read: {e}"),
            )
        })?;
        let required = resolved
            .value
            .field("required")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);
        let content = resolved
            .value
            .field("content")
            .and_then(Value::as_object)
            .unwrap_or(&EMPTY);
        let Some((media_type, content_type)) =
            choose_media_type(content.keys().map(String::as_str))
        else {
            let types: Vec<&str> = content.keys().map(String::as_str).collect();
            let types = if types.is_empty() {
                "of no content type".to_string()
            } else {
                types.join(", ")
            };
            let message = format!(
                "the request body is {types}; actions send JSON or multipart/form-data bodies only"
            );
            if required {
                return Err(Failure::new("unsupported-body", pointer, message));
            }
            warn(
                Severity::Warning,
                "unsupported-body",
                pointer,
                format!("{message}; the optional body is left out"),
            );
            return Ok(None);
        };
        let media = content.get(media_type).unwrap_or(&Value::Null);
        let multipart = content_type == "multipart/form-data";
        let (schema, inferred) = if let Some(schema) = media.field("schema") {
            let built = self
                .build_schema(
                    resolved.base,
                    schema,
                    Purpose::RequestBody,
                    max_bytes,
                    "request body",
                    &pointer,
                    warn,
                )
                .map_err(|e| {
                    Failure::new(
                        "unresolved-ref",
                        format!("{pointer}/content"),
                        format!("the request body schema could not be read: {e}"),
                    )
                })?;
            (built, false)
        } else if let Some(example) = self.media_example(media, resolved.base) {
            let inferred = schema::infer_from_example(example);
            let built = self
                .build_schema(
                    resolved.base,
                    &inferred,
                    Purpose::RequestBody,
                    max_bytes,
                    "request body",
                    &pointer,
                    warn,
                )
                .map_err(|e| Failure::new("unresolved-ref", pointer.clone(), e.to_string()))?;
            (built, true)
        } else {
            warn(
                Severity::Warning,
                "body-without-schema",
                pointer.clone(),
                "the request body has neither a schema nor an example; the AI is told it may send any JSON".to_string(),
            );
            (
                Arc::new(if multipart {
                    json!({"type": "object"})
                } else {
                    json!({})
                }),
                false,
            )
        };
        Ok(Some(Body {
            content_type,
            required,
            schema,
            inferred,
        }))
    }

    /// The example a media type gives, to infer a schema from when it has none.
    fn media_example<'p>(&self, media: &'p Value, base: &'p Url) -> Option<&'p Value>
    where
        's: 'p,
    {
        if let Some(example) = media.field("example") {
            return Some(example);
        }
        let first = media.field("examples")?.as_object()?.values().next()?;
        let resolved = self.spec.deref(base, first).ok()?;
        resolved.value.field("value")
    }

    /// The request body of a Swagger 2.0 operation: its body parameter, else its
    /// form fields as one object.
    fn swagger2_body<'p>(
        &self,
        input: &OperationInput<'_, 'p>,
        body: Option<RawParameter<'p>>,
        form: Vec<RawParameter<'p>>,
        max_bytes: usize,
        warn: &mut impl FnMut(Severity, &str, String, String),
    ) -> Result<Option<Body>, Failure>
    where
        's: 'p,
    {
        let consumes = match input.op.field("consumes") {
            Some(c) => string_list(Some(c)),
            None => self.root_consumes.clone(),
        };
        if let Some(p) = body {
            let required = p
                .value
                .field("required")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let content_type = if consumes.is_empty() {
                Some("application/json".to_string())
            } else {
                choose_media_type(consumes.iter().map(String::as_str))
                    .map(|(_, ct)| ct)
                    .filter(|ct| ct != "multipart/form-data")
            };
            let Some(content_type) = content_type else {
                let message = format!(
                    "the body parameter `{}` is sent as {}; actions send JSON bodies only",
                    p.name,
                    consumes.join(", ")
                );
                if required {
                    return Err(Failure::new("unsupported-body", p.pointer, message));
                }
                warn(
                    Severity::Warning,
                    "unsupported-body",
                    p.pointer,
                    format!("{message}; the optional body is left out"),
                );
                return Ok(None);
            };
            let schema_value = p
                .value
                .field("schema")
                .cloned()
                .unwrap_or_else(|| json!({}));
            let built = self
                .build_schema(
                    p.base,
                    &schema_value,
                    Purpose::RequestBody,
                    max_bytes,
                    "request body",
                    &p.pointer,
                    warn,
                )
                .map_err(|e| {
                    Failure::new(
                        "unresolved-ref",
                        p.pointer.clone(),
                        format!("the body schema could not be read: {e}"),
                    )
                })?;
            return Ok(Some(Body {
                content_type,
                required,
                schema: built,
                inferred: false,
            }));
        }
        if form.is_empty() {
            return Ok(None);
        }
        let has_file = form
            .iter()
            .any(|p| p.value.field("type").and_then(Value::as_str) == Some("file"));
        let multipart = has_file
            || consumes
                .iter()
                .any(|c| c.starts_with("multipart/form-data"));
        let any_required = form.iter().any(|p| {
            p.value
                .field("required")
                .and_then(Value::as_bool)
                .unwrap_or(false)
        });
        if !multipart {
            let message = "the form parameters are sent as application/x-www-form-urlencoded; actions send JSON or multipart/form-data bodies only".to_string();
            let pointer = form[0].pointer.clone();
            if any_required {
                return Err(Failure::new("unsupported-body", pointer, message));
            }
            warn(
                Severity::Warning,
                "unsupported-body",
                pointer,
                format!("{message}; the optional form fields are left out"),
            );
            return Ok(None);
        }
        // The form is one object schema, built as one so the budget covers it whole.
        let mut properties = Map::new();
        let mut required = Vec::new();
        for p in &form {
            let mut field = swagger2_parameter_schema(p.value);
            if let (Value::Object(map), Some(d)) = (
                &mut field,
                p.value.field("description").and_then(Value::as_str),
            ) {
                map.insert("description".to_string(), json!(tidy(d)));
            }
            if p.value
                .field("required")
                .and_then(Value::as_bool)
                .unwrap_or(false)
            {
                required.push(json!(p.name));
            }
            properties.insert(p.name.clone(), field);
        }
        let mut raw = json!({"type": "object", "properties": properties});
        if !required.is_empty() {
            raw["required"] = Value::Array(required);
        }
        let pointer = form[0].pointer.clone();
        let schema = self
            .build_schema(
                form[0].base,
                &raw,
                Purpose::RequestBody,
                max_bytes,
                "form",
                &pointer,
                warn,
            )
            .map_err(|e| {
                Failure::new(
                    "unresolved-ref",
                    pointer.clone(),
                    format!("the form fields could not be read: {e}"),
                )
            })?;
        Ok(Some(Body {
            content_type: "multipart/form-data".to_string(),
            required: any_required,
            schema,
            inferred: false,
        }))
    }
}

impl OperationInput<'_, '_> {
    /// JSON pointer to the operation's path item.
    fn item_pointer(&self) -> &str {
        self.pointer.rsplit_once('/').map_or("", |(p, _)| p)
    }

    /// Where the operation is in the spec.
    fn origin(&self) -> Origin {
        Origin {
            operation_id: self.operation_id.map(str::to_string),
            method: self.method_key.to_string(),
            path: self.path.to_string(),
            tags: self.tags.clone(),
            pointer: self.pointer.to_string(),
        }
    }
}

/// Swagger 2.0's request body, which it declares as parameters: one `in: body`,
/// or `in: formData` fields.
#[derive(Default)]
struct Swagger2Body<'p> {
    body: Option<RawParameter<'p>>,
    form: Vec<RawParameter<'p>>,
}

/// What becomes of a declared parameter.
enum Placement {
    /// The action sends it, there.
    Sent(ParameterLocation),
    /// Swagger 2.0's `in: body`.
    Body,
    /// Swagger 2.0's `in: formData`.
    FormField,
    /// Left out, with a diagnostic (severity, code, message).
    LeftOut(Severity, &'static str, String),
}

/// Where a declared parameter goes, by its `in`. A required one the action cannot
/// send fails the operation: the call could not succeed without it.
fn placement(p: &RawParameter<'_>, version: SpecVersion) -> Result<Placement, Failure> {
    Ok(match p.location.as_str() {
        "path" => Placement::Sent(ParameterLocation::Path),
        "query" => Placement::Sent(ParameterLocation::Query),
        "header"
            if ["accept", "content-type", "authorization"]
                .contains(&p.name.to_ascii_lowercase().as_str()) =>
        {
            Placement::LeftOut(
                Severity::Info,
                "ignored-header",
                format!(
                    "the header parameter `{}` is left out: OpenAPI ignores it (the body sets Content-Type, security schemes set Authorization)",
                    p.name
                ),
            )
        }
        "header" => Placement::Sent(ParameterLocation::Header),
        "cookie" if p.value.field("required").and_then(Value::as_bool) == Some(true) => {
            return Err(Failure::new(
                "cookie-parameter",
                p.pointer.clone(),
                format!(
                    "the required cookie parameter `{}` cannot be sent: actions send path, query and header parameters only",
                    p.name
                ),
            ));
        }
        "cookie" => Placement::LeftOut(
            Severity::Warning,
            "cookie-parameter",
            format!(
                "the cookie parameter `{}` is left out: actions send path, query and header parameters only",
                p.name
            ),
        ),
        "body" if version == SpecVersion::Swagger2 => Placement::Body,
        "formData" if version == SpecVersion::Swagger2 => Placement::FormField,
        other => Placement::LeftOut(
            Severity::Warning,
            "bad-parameter",
            format!(
                "the parameter `{}` is `in: {other}`, which is not a parameter location; it is left out",
                p.name
            ),
        ),
    })
}

/// The path template with the leading `/` some specs leave out.
fn rooted(path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    }
}

/// The static `Content-Type` header the body needs. A multipart Content-Type needs
/// the boundary of each request, so only the body says multipart; a static header
/// would carry no boundary.
fn content_type_header(body: Option<&Body>) -> Vec<StaticHeader> {
    body.iter()
        .filter(|b| b.content_type != "multipart/form-data")
        .map(|b| StaticHeader {
            name: "Content-Type".to_string(),
            value: b.content_type.clone(),
        })
        .collect()
}

/// Every name ending in `_` and a number that [`action_name`] could give the
/// operation `method_key` of `path` whose operationId is one of
/// `operation_ids` (whether or not an earlier operation has it): the names a
/// renamed action (`name_2`) could clash with. A name ends in a digit only
/// where its operationId or path has digits, or where [`naming::fit_length`]
/// ends it with its hash (eight hex digits, which a rename's number under
/// 10,000,000 never is); so only those are worked out.
pub(super) fn possible_numbered_names<'i>(
    method_key: &str,
    path: &str,
    operation_ids: impl IntoIterator<Item = &'i str>,
    names: &mut HashSet<String>,
) {
    let Some(method) = Method::from_openapi(method_key) else {
        return;
    };
    let has_digit = |text: &str| text.bytes().any(|b| b.is_ascii_digit());
    let numbered = |name: &String| {
        let digits = name.trim_end_matches(|c: char| c.is_ascii_digit());
        digits.len() < name.len() && digits.ends_with('_')
    };
    if has_digit(path) {
        let name = naming::from_path(method, &rooted(path));
        if numbered(&name) {
            names.insert(name);
        }
    }
    for id in operation_ids
        .into_iter()
        .map(str::trim)
        .filter(|id| has_digit(id))
    {
        if let Some(name) = naming::from_operation_id(id).filter(numbered) {
            names.insert(name);
        }
    }
}

/// The tool name: from the operationId when it makes a valid one, else from the
/// method and path.
fn action_name(
    input: &OperationInput<'_, '_>,
    path: &str,
    warn: &mut impl FnMut(Severity, &str, String, String),
) -> String {
    let Some(id) = input.naming_id else {
        return naming::from_path(input.method, path);
    };
    if let Some(name) = naming::from_operation_id(id) {
        return name;
    }
    let name = naming::from_path(input.method, path);
    warn(
        Severity::Info,
        "name-from-path",
        format!("{}/operationId", input.pointer),
        format!(
            "operationId `{id}` does not make a valid tool name (5 to 64 of a-z, 0-9, _); named `{name}` from the method and path"
        ),
    );
    name
}

/// The summary and description together; when they are too short for the AI to
/// go on, a generated description and a warning.
fn action_description(
    input: &OperationInput<'_, '_>,
    name: &str,
    path: &str,
    parameters: &[Parameter],
    warn: &mut impl FnMut(Severity, &str, String, String),
) -> String {
    let text = |k: &str| input.op.get(k).and_then(Value::as_str).unwrap_or("");
    let description = describe(text("summary"), text("description"));
    if description.chars().count() >= MIN_DESCRIPTION {
        return description;
    }
    let generated = generated_description(&description, name, input.method, path, parameters);
    warn(
        Severity::Warning,
        "generated-description",
        input.pointer.to_string(),
        format!(
            "the summary and description together are under {MIN_DESCRIPTION} characters; generated: \"{generated}\". Write a description that names the noun and the verb"
        ),
    );
    generated
}

/// Picks the content type actions can send: `application/json`, then a `+json`
/// type, then `*/*` (sent as JSON), then `multipart/form-data`. Returns the key as
/// written and the content type to send.
fn choose_media_type<'a>(
    types: impl Iterator<Item = &'a str> + Clone,
) -> Option<(&'a str, String)> {
    let essence = |t: &str| {
        t.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    };
    if let Some(t) = types.clone().find(|t| essence(t) == "application/json") {
        return Some((t, "application/json".to_string()));
    }
    if let Some(t) = types.clone().find(|t| {
        let e = essence(t);
        e.ends_with("+json") || (e.starts_with("application/") && e.ends_with("json"))
    }) {
        return Some((t, essence(t)));
    }
    if let Some(t) = types
        .clone()
        .find(|t| matches!(essence(t).as_str(), "*/*" | "application/*"))
    {
        return Some((t, "application/json".to_string()));
    }
    types
        .clone()
        .find(|t| essence(t) == "multipart/form-data")
        .map(|t| (t, "multipart/form-data".to_string()))
}

/// How an array or object parameter is written on the wire, when the spec says:
/// OpenAPI 3's `style`/`explode`, or Swagger 2.0's `collectionFormat` in those terms.
fn serialization(p: &Map<String, Value>) -> (Option<String>, Option<bool>) {
    let explode = p.field("explode").and_then(Value::as_bool);
    if let Some(style) = p.field("style").and_then(Value::as_str) {
        return (Some(style.to_string()), explode);
    }
    match p.field("collectionFormat").and_then(Value::as_str) {
        Some("csv") => (Some("form".to_string()), Some(false)),
        Some("multi") => (Some("form".to_string()), Some(true)),
        Some("ssv") => (Some("spaceDelimited".to_string()), Some(false)),
        Some("pipes") => (Some("pipeDelimited".to_string()), Some(false)),
        Some("tsv") => (Some("tabDelimited".to_string()), Some(false)),
        _ => (None, explode),
    }
}

/// A non-empty `servers` list of a path item or operation.
fn local(servers: Option<&Value>) -> Option<&Vec<Value>> {
    servers.and_then(Value::as_array).filter(|a| !a.is_empty())
}

/// A Swagger 2.0 non-body parameter carries its schema keywords on itself.
fn swagger2_parameter_schema(p: &Map<String, Value>) -> Value {
    const KEYWORDS: &[&str] = &[
        "type",
        "format",
        "items",
        "enum",
        "default",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "pattern",
        "minItems",
        "maxItems",
        "uniqueItems",
        "multipleOf",
        "x-nullable",
        "$ref",
    ];
    if let Some(schema) = p.field("schema") {
        return schema.clone();
    }
    let map: Map<String, Value> = p
        .iter()
        .filter(|(k, _)| KEYWORDS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Value::Object(map)
}

/// Adds path parameters the template uses but the spec forgot, and drops declared
/// path parameters the template has no place for.
fn reconcile_path_parameters(
    path: &str,
    pointer: &str,
    parameters: &mut Vec<Parameter>,
    warn: &mut impl FnMut(Severity, &str, String, String),
) {
    let in_template = template_variables(path);
    parameters.retain(|p| {
        if p.location != ParameterLocation::Path || in_template.iter().any(|v| v == &p.key) {
            return true;
        }
        warn(
            Severity::Warning,
            "unused-path-parameter",
            pointer.to_string(),
            format!(
                "the path parameter `{}` does not appear in {path}; it is left out",
                p.key
            ),
        );
        false
    });
    for variable in in_template {
        if parameters
            .iter()
            .any(|p| p.location == ParameterLocation::Path && p.key == variable)
        {
            continue;
        }
        warn(
            Severity::Warning,
            "undeclared-path-parameter",
            pointer.to_string(),
            format!(
                "{path} uses {{{variable}}} but declares no such path parameter; it is added as a required string"
            ),
        );
        parameters.push(Parameter {
            key: variable.clone(),
            name: naming::parameter_name(&variable),
            location: ParameterLocation::Path,
            description: String::new(),
            required: true,
            schema: Arc::new(json!({"type": "string"})),
            style: None,
            explode: None,
        });
    }
}

/// `{name}` variables of a path template, in order.
pub fn template_variables(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        out.push(rest[open + 1..open + close].to_string());
        rest = &rest[open + close + 1..];
    }
    out
}

/// Tool argument names must be unique within an action: on a clash the later one
/// gets its location appended (`id_query`), then a number.
fn make_parameter_names_unique(parameters: &mut [Parameter]) {
    let mut taken: HashSet<String> = HashSet::new();
    for p in parameters.iter_mut() {
        if taken.insert(p.name.clone()) {
            continue;
        }
        let mut candidate = format!("{}_{}", p.name, p.location.as_str());
        let mut n = 2;
        while taken.contains(&candidate) {
            candidate = format!("{}_{}_{n}", p.name, p.location.as_str());
            n += 1;
        }
        taken.insert(candidate.clone());
        p.name = candidate;
    }
}

/// Normalises line endings and trailing spaces, and collapses runs of blank lines;
/// Markdown is kept.
pub fn tidy(text: &str) -> String {
    // Most text has no carriage return: then it is read as it is, not copied twice.
    let text: Cow<'_, str> = if text.contains('\r') {
        Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        Cow::Borrowed(text)
    };
    // Room for the line break written after the last line too: one byte short,
    // the string was reallocated at twice the text's size, and kept so.
    let mut out = String::with_capacity(text.len() + 1);
    let mut blank_run = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            if blank_run > 1 {
                continue;
            }
        } else {
            blank_run = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    // `out.trim()`, in place.
    out.truncate(out.trim_end().len());
    let leading = out.len() - out.trim_start().len();
    out.drain(..leading);
    out
}

/// Summary and description together: the summary, a blank line, the description;
/// just the description when it already starts with the summary.
pub fn describe(summary: &str, description: &str) -> String {
    let summary = tidy(summary);
    let description = tidy(description);
    if summary.is_empty() {
        return description;
    }
    if description.is_empty() {
        return summary;
    }
    let head = summary.trim_end_matches('.').to_lowercase();
    if description.to_lowercase().starts_with(&head) {
        return description;
    }
    format!("{summary}\n\n{description}")
}

/// A description for an operation whose own is too short: what little the spec
/// said (else the action's name, in words), and the call itself.
fn generated_description(
    short: &str,
    name: &str,
    method: Method,
    path: &str,
    parameters: &[Parameter],
) -> String {
    let lead = if short.is_empty() {
        capitalise(&name.replace('_', " "))
    } else {
        short.trim_end_matches('.').to_string()
    };
    let mut out = format!("{lead}. Calls {} {path}", method.as_str());
    let required: Vec<&str> = parameters
        .iter()
        .filter(|p| p.required)
        .map(|p| p.key.as_str())
        .collect();
    if !required.is_empty() {
        out.push_str(&format!(" with {}", required.join(", ")));
    }
    out.push('.');
    out
}

/// `s` with its first letter upper-case.
fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A list of strings, or one string as a list of one.
fn string_list(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// Segment names from `x-actionsync-segments`: a list (numbers and booleans read
/// as their text) or one comma-separated string, trimmed. `None` when it cannot be
/// read as names (a map, `null`, nested lists, only blank names).
fn segment_list(value: &Value) -> Option<Vec<String>> {
    let item = |v: &Value| match v {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let names: Vec<String> = match value {
        Value::Array(items) if items.is_empty() => return Some(Vec::new()),
        Value::Array(items) => items.iter().map(item).collect::<Option<Vec<_>>>()?,
        Value::String(s) => s.split(',').map(|p| p.trim().to_string()).collect(),
        other => vec![item(other)?],
    };
    let names: Vec<String> = names.into_iter().filter(|n| !n.is_empty()).collect();
    (!names.is_empty()).then_some(names)
}

/// Initial hand-owned values: defaults, then the vendor extensions.
fn hand_fields(
    spec: &SpecFields,
    input: &OperationInput<'_, '_>,
    warn: &mut impl FnMut(Severity, &str, String, String),
) -> HandFields {
    let op = input.op;
    let at = |ext: &str| format!("{}/{ext}", input.pointer);
    let mut hand = HandFields {
        require_confirmation: spec.method == Method::Delete,
        ..HandFields::default()
    };
    if let Some(value) = op.field("x-open-require-form-submission") {
        match value.as_bool() {
            Some(b) => hand.require_confirmation = b,
            None => warn(
                Severity::Warning,
                "bad-extension",
                at("x-open-require-form-submission"),
                "x-open-require-form-submission should be true or false; ignored".to_string(),
            ),
        }
    }
    if let Some(value) = op.field("x-actionsync-channels") {
        let mut channels = Vec::new();
        for name in string_list(Some(value)) {
            match Channel::parse(&name) {
                Some(c) if !channels.contains(&c) => channels.push(c),
                Some(_) => {}
                None => warn(
                    Severity::Warning,
                    "unknown-channel",
                    at("x-actionsync-channels"),
                    format!(
                        "`{name}` is not a channel (widget, email, sms, whatsapp, phone, slack); it is left out"
                    ),
                ),
            }
        }
        if value.is_array() || !channels.is_empty() {
            hand.channels = channels;
        }
    }
    if let Some(value) = op.field("x-actionsync-segments") {
        match segment_list(value) {
            Some(segments) => hand.segments = segments,
            // A restriction that cannot be read must not become "everyone": the
            // action starts disabled, reaching no one until a person decides.
            None => {
                hand.enabled = false;
                warn(
                    Severity::Warning,
                    "unreadable-segments",
                    at("x-actionsync-segments"),
                    "x-actionsync-segments is not a list of segment names; the action starts disabled so it reaches no one until a person sets its segments (actionsync actions set --segments …)".to_string(),
                );
            }
        }
    }
    if let Some(value) = op.field("x-open-tags") {
        hand.tags = string_list(Some(value));
    }
    if let Some(value) = op.field("x-actionsync-magic") {
        match value.as_object() {
            Some(map) => {
                let known: Vec<&str> = spec
                    .parameters
                    .iter()
                    .map(|p| p.key.as_str())
                    .chain(spec.headers.iter().map(|h| h.name.as_str()))
                    .collect();
                let mut magic = BTreeMap::new();
                for (field, path) in map {
                    let Some(path) = path.as_str() else {
                        warn(
                            Severity::Warning,
                            "bad-extension",
                            at("x-actionsync-magic"),
                            format!(
                                "the magic field for `{field}` should be a context path such as contact.email; ignored"
                            ),
                        );
                        continue;
                    };
                    if !known.contains(&field.as_str()) {
                        warn(
                            Severity::Warning,
                            "orphaned-magic-field",
                            at("x-actionsync-magic"),
                            format!(
                                "the magic field `{field}` names no parameter or header of this operation; it is kept and takes effect if one appears"
                            ),
                        );
                    }
                    magic.insert(field.clone(), path.to_string());
                }
                hand.magic_fields = magic;
            }
            None => warn(
                Severity::Warning,
                "bad-extension",
                at("x-actionsync-magic"),
                "x-actionsync-magic should map parameter names to context paths; ignored"
                    .to_string(),
            ),
        }
    }
    if let Some(value) = op.field("x-open-pinned") {
        match value {
            Value::Bool(pinned) => hand.pinned = *pinned,
            // Before the platform's meaning was known, this extension pinned
            // fields: such a spec keeps its pins, and is told where they belong.
            Value::Object(_) | Value::Array(_) => {
                warn(
                    Severity::Warning,
                    "moved-extension",
                    at("x-open-pinned"),
                    "x-open-pinned is the platform's `pinned at the top of the list` (true or false); fields pinned to a value belong in x-actionsync-pins, which this one is read as: rename it".to_string(),
                );
                hand.pins = pins(spec, value, "x-open-pinned", &at("x-open-pinned"), warn);
            }
            _ => warn(
                Severity::Warning,
                "bad-extension",
                at("x-open-pinned"),
                "x-open-pinned should be true or false (pinned at the top of the list); ignored"
                    .to_string(),
            ),
        }
    }
    if let Some(value) = op.field("x-actionsync-pins") {
        hand.pins = pins(
            spec,
            value,
            "x-actionsync-pins",
            &at("x-actionsync-pins"),
            warn,
        );
    }
    hand
}

/// `x-actionsync-pins`: a map of field → value, or a list of fields pinned to the
/// value the spec gives them now.
fn pins(
    spec: &SpecFields,
    value: &Value,
    extension: &str,
    pointer: &str,
    warn: &mut impl FnMut(Severity, &str, String, String),
) -> BTreeMap<String, Value> {
    let entries: Vec<(String, Value)> = match value {
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        Value::Array(fields) => fields
            .iter()
            .filter_map(Value::as_str)
            .map(|f| (f.to_string(), spec.field(f)))
            .collect(),
        _ => {
            warn(
                Severity::Warning,
                "bad-extension",
                pointer.to_string(),
                format!(
                    "{extension} should map field names to values, or list field names; ignored"
                ),
            );
            return BTreeMap::new();
        }
    };
    let mut out = BTreeMap::new();
    for (field, pinned) in entries {
        // The same rule as a person's pin: the value replaces the spec's.
        if let Err(why) = crate::convert::check_pin(&field, &pinned) {
            warn(
                Severity::Warning,
                "bad-pin",
                pointer.to_string(),
                format!("{extension}: {why}; ignored"),
            );
            continue;
        }
        out.insert(field, pinned);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tidies_and_joins_descriptions() {
        assert_eq!(tidy("a  \r\n\r\n\r\n\r\nb\t\n"), "a\n\nb");
        assert_eq!(
            describe("List pets", "List pets, newest first."),
            "List pets, newest first."
        );
        assert_eq!(
            describe("List pets", "Newest first."),
            "List pets\n\nNewest first."
        );
        assert_eq!(describe("", "  - item\n  - item"), "- item\n  - item");
    }

    #[test]
    fn media_types() {
        let pick = |types: &[&str]| choose_media_type(types.iter().copied()).map(|(_, ct)| ct);
        assert_eq!(
            pick(&["text/plain", "application/json; charset=utf-8"]).as_deref(),
            Some("application/json")
        );
        assert_eq!(
            pick(&["application/merge-patch+json"]).as_deref(),
            Some("application/merge-patch+json")
        );
        assert_eq!(
            pick(&["multipart/form-data"]).as_deref(),
            Some("multipart/form-data")
        );
        assert_eq!(pick(&["application/x-www-form-urlencoded"]), None);
    }

    #[test]
    fn template_variables_in_order() {
        assert_eq!(template_variables("/a/{x}/b/{y-z}"), vec!["x", "y-z"]);
    }

    #[test]
    fn segment_restrictions_never_silently_become_everyone() {
        use serde_json::json;
        assert_eq!(
            segment_list(&json!(["vip", " eu "])),
            Some(vec!["vip".into(), "eu".into()])
        );
        assert_eq!(
            segment_list(&json!([2024, true])),
            Some(vec!["2024".into(), "true".into()])
        );
        assert_eq!(
            segment_list(&json!("vip, eu")),
            Some(vec!["vip".into(), "eu".into()])
        );
        assert_eq!(segment_list(&json!([])), Some(vec![]));
        for unreadable in [
            json!({"vip": true}),
            json!(null),
            json!([["vip"]]),
            json!([" "]),
            json!(""),
        ] {
            assert_eq!(segment_list(&unreadable), None, "{unreadable}");
        }
    }

    #[test]
    fn an_unreadable_segment_restriction_starts_the_action_disabled() {
        let text = r#"{"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
            "servers": [{"url": "https://api.example.com"}],
            "paths": {"/refunds": {"post": {"operationId": "createRefund",
              "summary": "Refund a paid order to the customer's card",
              "x-actionsync-segments": {"vip": true},
              "responses": {"200": {"description": "ok"}}}}}}"#;
        let location = crate::source::SpecLocation::Bytes {
            name: "t.json".into(),
            bytes: text.as_bytes().to_vec(),
        };
        let spec = crate::source::load(&location, &crate::source::LoadOptions::default()).unwrap();
        let conversion = crate::convert::convert(&spec, &crate::convert::ConvertOptions::default());
        let action = &conversion.actions[0];
        assert!(!action.hand.enabled);
        assert!(action.hand.segments.is_empty());
        assert!(
            conversion
                .diagnostics
                .iter()
                .any(|d| d.code == "unreadable-segments"),
            "{:#?}",
            conversion.diagnostics
        );
    }
}
