//! An action's OpenAI function tool as compact JSON, written straight from the
//! action's fields: the same bytes as [`super::tool`] made into a `Value` and
//! written, without that `Value`. Building it copied every parameter's and the
//! body's schema and rebuilt each of their maps (to move `$ref`s, [`super::hoist`]),
//! only for the text to be weighed: a first apply of Microsoft Graph built
//! 11,320 of them.
//!
//! Only a tool whose schemas [`super::hoist`] would leave as they are is written
//! here: each an object, with no `$defs` or `definitions` of its own and no
//! `$ref` anywhere. Any other (a pinned schema, say) is `None`, and the caller
//! builds the `Value`.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

use super::{DEFS_KEYWORDS, arguments, description};
use crate::action::StoredAction;

/// The OpenAI tool of `action` as compact JSON, or `None` where a schema needs
/// [`super::hoist`]'s work.
pub(super) fn openai_text(action: &StoredAction) -> Option<String> {
    let parameters = action.in_effect("parameters", action.spec.parameters.as_slice());
    let body = action.in_effect("body", &action.spec.body);
    let arguments = arguments(action, &parameters, (*body).as_ref());
    let mut properties: Vec<(&str, Property<'_>)> = Vec::with_capacity(arguments.len());
    let mut required: Vec<&str> = Vec::new();
    for argument in &arguments {
        properties.push((
            &argument.name,
            Property {
                schema: plain(argument.schema)?,
                description: argument.description,
            },
        ));
        if argument.required {
            required.push(&argument.name);
        }
    }
    let description = description(action);
    let tool = Tool {
        kind: "function",
        function: Function {
            name: &action.name,
            description: &description,
            parameters: Parameters {
                kind: "object",
                properties: Properties(properties),
                required,
            },
        },
    };
    crate::json_text::to_string(&tool).ok()
}

/// `schema` as a map if [`super::hoist`] would leave it as it is.
fn plain(schema: &Value) -> Option<&Map<String, Value>> {
    let Value::Object(map) = schema else {
        return None;
    };
    let own_definitions = DEFS_KEYWORDS.iter().any(|k| map.contains_key(*k));
    (!own_definitions && !has_ref(schema)).then_some(map)
}

/// Whether a `$ref` key appears anywhere in `value`.
fn has_ref(value: &Value) -> bool {
    match value {
        Value::Object(map) => map
            .iter()
            .any(|(key, value)| key == "$ref" || has_ref(value)),
        Value::Array(items) => items.iter().any(has_ref),
        _ => false,
    }
}

#[derive(serde::Serialize)]
struct Tool<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    function: Function<'a>,
}

#[derive(serde::Serialize)]
struct Function<'a> {
    name: &'a str,
    description: &'a str,
    parameters: Parameters<'a>,
}

#[derive(serde::Serialize)]
struct Parameters<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    properties: Properties<'a>,
    required: Vec<&'a str>,
}

/// The input schema's `properties`, in order.
struct Properties<'a>(Vec<(&'a str, Property<'a>)>);

impl Serialize for Properties<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, property) in &self.0 {
            map.serialize_entry(name, property)?;
        }
        map.end()
    }
}

/// One argument's schema, with the parameter's description in it: in the place
/// of the schema's own `description` if it has one, else last (where inserting
/// into the map puts it).
struct Property<'a> {
    schema: &'a Map<String, Value>,
    description: Option<&'a str>,
}

impl Serialize for Property<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let replaces = self.description.is_some() && self.schema.contains_key("description");
        let appended = self.description.is_some() && !replaces;
        let mut map = serializer.serialize_map(Some(self.schema.len() + usize::from(appended)))?;
        for (key, value) in self.schema {
            match self.description {
                Some(description) if key == "description" => {
                    map.serialize_entry(key, description)?;
                }
                _ => map.serialize_entry(key, value)?,
            }
        }
        if appended && let Some(description) = self.description {
            map.serialize_entry("description", description)?;
        }
        map.end()
    }
}
