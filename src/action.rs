//! The action, as conversion produces it: every spec-owned field of DESIGN.md's
//! table, plus the initial values of the hand-owned ones that a spec may suggest.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The shortest description the platform accepts: the AI reads it as prompt.
pub const MIN_DESCRIPTION: usize = 20;

/// An HTTP method an action may use. Other methods are skipped with a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
}

impl Method {
    /// The method as OpenAPI spells a path item's key (`get`), if actions support it.
    pub fn from_openapi(key: &str) -> Option<Method> {
        Some(match key {
            "get" => Method::Get,
            "post" => Method::Post,
            "put" => Method::Put,
            "patch" => Method::Patch,
            "delete" => Method::Delete,
            _ => return None,
        })
    }

    /// Upper-case name, as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a parameter goes in the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParameterLocation {
    /// `{name}` in the URL template.
    Path,
    /// `?name=` in the query string.
    Query,
    /// A request header.
    Header,
}

impl ParameterLocation {
    /// Lowercase, as OpenAPI spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ParameterLocation::Path => "path",
            ParameterLocation::Query => "query",
            ParameterLocation::Header => "header",
        }
    }
}

/// A per-call parameter the AI fills (or a magic field fills from context).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Parameter {
    /// The name as the spec spells it, sent on the wire (`X-Request-Id`, `petId`).
    pub key: String,
    /// A sanitised name that is a valid tool argument name (`x_request_id`, `pet_id`).
    pub name: String,
    /// Where it goes.
    #[serde(rename = "in")]
    pub location: ParameterLocation,
    /// What it means, for the AI.
    pub description: String,
    /// Whether the call needs it.
    pub required: bool,
    /// Its JSON Schema (2020-12), `$ref`s resolved. Shared: operations that
    /// take the same parameter hold one tree.
    #[serde(with = "shared_value")]
    pub schema: Arc<Value>,
    /// How an array or object value is written (`form`, `spaceDelimited`,
    /// `pipeDelimited`, `deepObject`, …), when the spec says; else OpenAPI's default.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub style: Option<String>,
    /// Whether array items become repeated parameters (`?a=1&a=2`), when the spec says.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub explode: Option<bool>,
}

/// A header sent with every call, whatever the conversation (e.g. `Content-Type`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaticHeader {
    /// Header name.
    pub name: String,
    /// Header value.
    pub value: String,
}

/// The request body an action sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Body {
    /// `application/json` (or a `+json` type) or `multipart/form-data`.
    pub content_type: String,
    /// Whether the operation requires a body.
    pub required: bool,
    /// JSON Schema (2020-12) of the body; recursive parts live under `$defs`.
    /// Shared: operations that send the same body hold one tree (it prints and
    /// compares as the value it points to).
    #[serde(with = "shared_value")]
    pub schema: Arc<Value>,
    /// True when the spec gave only an example and the schema was inferred from it.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub inferred: bool,
}

/// Serde for a shared [`Value`], as the value itself (serde's `rc` feature
/// would do the same for every crate that depends on serde).
mod shared_value {
    use std::sync::Arc;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use serde_json::Value;

    pub fn serialize<S: Serializer>(value: &Arc<Value>, serializer: S) -> Result<S::Ok, S::Error> {
        value.as_ref().serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Arc<Value>, D::Error> {
        Value::deserialize(deserializer).map(Arc::new)
    }
}

/// The kind of a security scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    /// An API key in a header, query parameter or cookie.
    ApiKey,
    /// `Authorization: Bearer …`.
    Bearer,
    /// `Authorization: Basic …`.
    Basic,
    /// Another HTTP authentication scheme (digest, …).
    Http,
    /// OAuth 2.0.
    Oauth2,
    /// OpenID Connect.
    OpenIdConnect,
    /// Mutual TLS.
    MutualTls,
}

/// One security scheme an action needs: a reference to a secret by name, never a value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthScheme {
    /// The scheme's name in the spec; it is also the name of the secret that holds the value.
    pub secret: String,
    /// What kind of credential.
    pub kind: AuthKind,
    /// For API keys: `header`, `query` or `cookie`.
    #[serde(rename = "in", skip_serializing_if = "Option::is_none", default)]
    pub location: Option<String>,
    /// For API keys: the header or query parameter name.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub param: Option<String>,
    /// For HTTP schemes other than bearer/basic: the scheme (`digest`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub scheme: Option<String>,
    /// OAuth 2.0 / OpenID Connect scopes the operation asks for.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub scopes: Vec<String>,
}

/// One way to authenticate: all of its schemes together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthRequirement {
    /// Every scheme this alternative needs.
    pub schemes: Vec<AuthScheme>,
}

/// A channel the AI may use an action on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// The web widget (the default for a new action).
    Widget,
    /// Email.
    Email,
    /// SMS.
    Sms,
    /// WhatsApp.
    Whatsapp,
    /// Phone calls.
    Phone,
    /// Slack.
    Slack,
}

impl Channel {
    /// Every channel, in display order.
    pub const ALL: [Channel; 6] = [
        Channel::Widget,
        Channel::Email,
        Channel::Sms,
        Channel::Whatsapp,
        Channel::Phone,
        Channel::Slack,
    ];

    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Widget => "widget",
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Whatsapp => "whatsapp",
            Channel::Phone => "phone",
            Channel::Slack => "slack",
        }
    }

    /// Parses a lowercase name, ignoring case.
    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// [`Channel::parse`] for what a person typed: an unknown name is an error
    /// that lists the channels.
    pub fn parse_or_explain(s: &str) -> Result<Channel, String> {
        Channel::parse(s).ok_or_else(|| {
            let names: Vec<&str> = Channel::ALL.iter().map(|c| c.as_str()).collect();
            format!("`{s}` is not a channel: {}", names.join(", "))
        })
    }
}

/// The hand-owned fields. Conversion only proposes initial values (from vendor
/// extensions and defaults); once a person sets one, the person's value wins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HandFields {
    /// Restricted-to segments; empty means everyone.
    pub segments: Vec<String>,
    /// Channels the action is enabled on; a new action gets `[widget]`.
    pub channels: Vec<Channel>,
    /// Parameter or header key → conversation context path (`contact.email`).
    pub magic_fields: BTreeMap<String, String>,
    /// The "require form submission" toggle; DELETE starts with `true`.
    pub require_confirmation: bool,
    /// Whether the AI may use the action at all.
    pub enabled: bool,
    /// Spec-owned fields pinned to a value a person chose (field name → value).
    pub pins: BTreeMap<String, Value>,
    /// The platform's labels (`x-open-tags`), for filtering lists.
    pub tags: Vec<String>,
    /// Pinned at the top of the dashboard's list (`x-open-pinned: true`); lists
    /// put pinned actions first.
    #[serde(default)]
    pub pinned: bool,
}

impl Default for HandFields {
    fn default() -> Self {
        HandFields {
            segments: Vec::new(),
            channels: vec![Channel::Widget],
            magic_fields: BTreeMap::new(),
            require_confirmation: false,
            enabled: true,
            pins: BTreeMap::new(),
            tags: Vec::new(),
            pinned: false,
        }
    }
}

/// Where in the spec an action came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// The operationId, if the spec gave one.
    pub operation_id: Option<String>,
    /// The method as the spec spells it (`get`).
    pub method: String,
    /// The path template (`/orders/{id}`).
    pub path: String,
    /// The operation's OpenAPI tags.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub tags: Vec<String>,
    /// JSON pointer to the operation in the root document.
    pub pointer: String,
}

/// One operation converted into an action, before it meets the catalogue.
///
/// It prints as one flat mapping: `source`, `key`, the spec-owned fields, the
/// hand-owned ones, then `operation` (see the `Serialize` impl).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ActionDraft {
    /// The source (spec) this action belongs to.
    pub source: String,
    /// Identity within the source: the operationId, else `METHOD /path/template`.
    pub key: String,
    /// The spec-owned fields: what a plan compares with the catalogue.
    #[serde(flatten)]
    pub spec: SpecFields,
    /// Initial values of the hand-owned fields.
    #[serde(flatten)]
    pub hand: HandFields,
}

impl Serialize for ActionDraft {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // `operation` is spec-owned, but `actionsync convert` has always printed it
        // last, after the hand-owned fields, and scripts and snapshots read that
        // order; flattening `spec` whole would move it up before them.
        #[derive(Serialize)]
        struct Printed<'a> {
            source: &'a str,
            key: &'a str,
            name: &'a str,
            description: &'a str,
            method: Method,
            url: &'a str,
            parameters: &'a [Parameter],
            headers: &'a [StaticHeader],
            body: &'a Option<Body>,
            auth: &'a [AuthRequirement],
            #[serde(flatten)]
            hand: &'a HandFields,
            operation: &'a Origin,
        }
        let spec = &self.spec;
        Printed {
            source: &self.source,
            key: &self.key,
            name: &spec.name,
            description: &spec.description,
            method: spec.method,
            url: &spec.url,
            parameters: &spec.parameters,
            headers: &spec.headers,
            body: &spec.body,
            auth: &spec.auth,
            hand: &self.hand,
            operation: &spec.operation,
        }
        .serialize(serializer)
    }
}

/// An operation that did not become an action, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// The operation's key (operationId, else `METHOD /path`).
    pub key: String,
    /// Method, upper-case (`HEAD`).
    pub method: String,
    /// Path template.
    pub path: String,
    /// Whether it was left out on purpose or could not be converted.
    pub kind: SkipKind,
    /// Why it was skipped.
    pub reason: String,
}

/// Why an operation did not become an action. A plan archives the actions of
/// operations left out on purpose, and keeps those that failed to convert: they
/// are still in the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SkipKind {
    /// A method actions do not support (HEAD, OPTIONS, TRACE).
    Unsupported,
    /// `x-actionsync-ignore: true`.
    Ignored,
    /// Left out by an include/exclude filter.
    Excluded,
    /// Could not be converted; an error diagnostic says why.
    Failed,
}

/// The spec-owned fields of an action, as one value: what conversion produces and
/// a plan compares field by field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpecFields {
    /// Tool name: `^[a-z0-9_]{5,64}$`, unique within the spec.
    pub name: String,
    /// What the action does, for the AI: at least 20 characters.
    pub description: String,
    /// HTTP method.
    pub method: Method,
    /// Absolute URL with `{path_params}`.
    pub url: String,
    /// Path, query and header parameters.
    pub parameters: Vec<Parameter>,
    /// Static headers.
    pub headers: Vec<StaticHeader>,
    /// Request body, if the operation takes one the platform can send.
    pub body: Option<Body>,
    /// Alternatives, any one of which authenticates the call; empty means none.
    pub auth: Vec<AuthRequirement>,
    /// Where in the spec it came from (not compared: it follows the other fields).
    pub operation: Origin,
}

/// The spec-owned fields a plan compares and a person may pin, in display order.
pub const SPEC_FIELDS: [&str; 8] = [
    "name",
    "description",
    "method",
    "url",
    "parameters",
    "headers",
    "body",
    "auth",
];

impl SpecFields {
    /// One field as JSON, by its name in [`SPEC_FIELDS`].
    pub fn field(&self, field: &str) -> Value {
        self.serialize_field(field, serde_json::value::Serializer)
            .unwrap_or(Value::Null)
    }

    /// One field, by its name in [`SPEC_FIELDS`], serialised by `serializer`
    /// (`null` for a name that is not one): [`SpecFields::field`] without the
    /// copy into a `Value` first.
    pub fn serialize_field<S: serde::Serializer>(
        &self,
        field: &str,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match field {
            "name" => self.name.serialize(serializer),
            "description" => self.description.serialize(serializer),
            "method" => self.method.serialize(serializer),
            "url" => self.url.serialize(serializer),
            "parameters" => self.parameters.serialize(serializer),
            "headers" => self.headers.serialize(serializer),
            "body" => self.body.serialize(serializer),
            "auth" => self.auth.serialize(serializer),
            _ => serializer.serialize_unit(),
        }
    }

    /// Whether one field is the same in both, compared as typed values (no JSON).
    pub fn same_field(&self, other: &SpecFields, field: &str) -> bool {
        match field {
            "name" => self.name == other.name,
            "description" => self.description == other.description,
            "method" => self.method == other.method,
            "url" => self.url == other.url,
            "parameters" => self.parameters == other.parameters,
            "headers" => self.headers == other.headers,
            "body" => self.body == other.body,
            "auth" => self.auth == other.auth,
            _ => self.field(field) == other.field(field),
        }
    }

    /// Whether a magic field keyed `key` fills something of this action: a path or
    /// query parameter by its exact key, a header (parameter or static) by its
    /// name in any case, as HTTP compares header names.
    pub fn fills(&self, key: &str) -> bool {
        self.parameters.iter().any(|p| match p.location {
            ParameterLocation::Header => p.key.eq_ignore_ascii_case(key),
            ParameterLocation::Path | ParameterLocation::Query => p.key == key,
        }) || self
            .headers
            .iter()
            .any(|h| h.name.eq_ignore_ascii_case(key))
    }
}

/// Whether an action is in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionState {
    /// In the catalogue; the AI sees it where its hand-owned fields allow.
    Active,
    /// Its operation left the spec: disabled, kept with everything set by hand,
    /// restored if the operation returns.
    Archived,
}

impl ActionState {
    /// Lowercase name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionState::Active => "active",
            ActionState::Archived => "archived",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<ActionState> {
        match s {
            "active" => Some(ActionState::Active),
            "archived" => Some(ActionState::Archived),
            _ => None,
        }
    }
}

/// An action in the catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredAction {
    /// Stable id; never reused.
    pub id: i64,
    /// Source it belongs to.
    pub source: String,
    /// Identity within the source.
    pub key: String,
    /// The name in effect: a pinned name, else the spec's.
    pub name: String,
    /// Active or archived.
    pub state: ActionState,
    /// Spec-owned fields, as last applied from the spec (pins not applied).
    pub spec: SpecFields,
    /// Hand-owned fields.
    pub hand: HandFields,
    /// Which hand-owned fields a person has set (the others still hold the
    /// values the action was created with).
    pub hand_set: Vec<String>,
    /// Row version: bumps on every change; hand edits must name the version they saw.
    pub version: i64,
    /// When it was created, in milliseconds since the Unix epoch.
    pub created_at: i64,
    /// When it last changed, in milliseconds since the Unix epoch.
    pub updated_at: i64,
}

impl StoredAction {
    /// A spec-owned field in effect, typed: the pin where one is set and fits the
    /// field, else `spec` (the spec's own value, borrowed: a tool or a call reads
    /// every action's parameters and body, and copying them through JSON was most
    /// of weighing a tool). Pins are checked when they are set
    /// (`convert::check_pin`), so one that does not fit predates that check; the
    /// spec's value is then the safe choice rather than a broken tool or call.
    pub fn in_effect<'a, T>(&'a self, field: &str, spec: &'a T) -> Cow<'a, T>
    where
        T: ToOwned + ?Sized,
        T::Owned: DeserializeOwned,
    {
        match self.hand.pins.get(field).map(T::Owned::deserialize) {
            Some(Ok(pinned)) => Cow::Owned(pinned),
            Some(Err(_)) | None => Cow::Borrowed(spec),
        }
    }

    /// A spec-owned field's value in effect: the pin if there is one, else the spec's.
    pub fn effective(&self, field: &str) -> Value {
        self.hand
            .pins
            .get(field)
            .cloned()
            .unwrap_or_else(|| self.spec.field(field))
    }

    /// The name in effect (a pinned name wins).
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// A draft of a GET on `/orders` named `name`, for unit tests elsewhere.
#[cfg(test)]
pub(crate) fn example_draft(name: &str, description: &str) -> ActionDraft {
    ActionDraft {
        source: "orders".to_string(),
        key: name.to_string(),
        spec: SpecFields {
            name: name.to_string(),
            description: description.to_string(),
            method: Method::Get,
            url: "https://api.acme.example/orders".to_string(),
            parameters: Vec::new(),
            headers: Vec::new(),
            body: None,
            auth: Vec::new(),
            operation: Origin {
                operation_id: Some(name.to_string()),
                method: "get".to_string(),
                path: "/orders".to_string(),
                tags: Vec::new(),
                pointer: "#/paths/~1orders/get".to_string(),
            },
        },
        hand: HandFields::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parameter(key: &str, location: ParameterLocation) -> Parameter {
        Parameter {
            key: key.to_string(),
            name: key.to_ascii_lowercase().replace('-', "_"),
            location,
            description: String::new(),
            required: false,
            schema: Arc::new(Value::Bool(true)),
            style: None,
            explode: None,
        }
    }

    /// `GET /orders/{orderId}` with a path and a header parameter and a static header.
    fn get_order() -> SpecFields {
        SpecFields {
            name: "get_order".into(),
            description: "Look up one order by its id".into(),
            method: Method::Get,
            url: "https://api.example.com/orders/{orderId}".into(),
            parameters: vec![
                parameter("orderId", ParameterLocation::Path),
                parameter("X-Request-Id", ParameterLocation::Header),
            ],
            headers: vec![StaticHeader {
                name: "X-Tenant".into(),
                value: "acme".into(),
            }],
            body: None,
            auth: Vec::new(),
            operation: Origin {
                operation_id: None,
                method: "get".into(),
                path: "/orders/{orderId}".into(),
                tags: Vec::new(),
                pointer: String::new(),
            },
        }
    }

    #[test]
    fn magic_fields_match_headers_in_any_case_and_parameters_exactly() {
        let spec = get_order();
        assert!(spec.fills("orderId"));
        assert!(
            !spec.fills("orderid"),
            "query and path keys are case-sensitive"
        );
        assert!(spec.fills("x-request-id"));
        assert!(spec.fills("X-REQUEST-ID"));
        assert!(spec.fills("x-tenant"));
        assert!(!spec.fills("x-other"));
    }

    #[test]
    fn a_draft_prints_flat_with_its_operation_last_and_reads_back() {
        let draft = ActionDraft {
            source: "orders".into(),
            key: "getOrder".into(),
            spec: get_order(),
            hand: HandFields::default(),
        };
        let printed = serde_json::to_value(&draft).unwrap();
        let fields: Vec<&str> = printed
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            fields,
            [
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
                "segments",
                "channels",
                "magic_fields",
                "require_confirmation",
                "enabled",
                "pins",
                "tags",
                "pinned",
                "operation",
            ]
        );
        assert_eq!(
            serde_json::from_value::<ActionDraft>(printed).unwrap(),
            draft
        );
    }
}
