//! OpenAI's strict mode (`"strict": true` on a function tool): the model's arguments
//! are then guaranteed to match the schema, but only a subset of JSON Schema is
//! accepted, and an unsupported schema fails the whole request.
//!
//! [`strict_schema`] rewrites an input schema to that subset where the result still
//! means (nearly) the same, and refuses, saying where and why, where it cannot:
//!
//! - every object gets `additionalProperties: false` and lists every property in
//!   `required`; a property that was optional becomes nullable (`"type": [T,
//!   "null"]`, or `anyOf` with `{"type": "null"}`), so the model sends `null` for
//!   it;
//! - `oneOf` becomes `anyOf` (the exclusivity is lost: the API still checks it);
//!   `allOf` is merged into one schema (properties, required, the other keywords);
//!   a `$ref` with siblings (a description) has its definition inlined, as OpenAI
//!   takes no siblings beside a `$ref`;
//! - keywords strict mode does not take are dropped. They only narrow what is valid
//!   (`minLength`, `maxLength`, `uniqueItems`, `not`, `if`/`then`/`else`, `dependent…`,
//!   `patternProperties`, `propertyNames`, `min/maxProperties`, `contains`), or are
//!   annotations (`title`, `default`, `examples`, `deprecated`, `readOnly`…), so the
//!   API validates the same requests as before; `format` is kept only where strict
//!   mode knows it;
//! - refused: a free-form object (no properties: the model could not send any key),
//!   a schema with no type (any value), an array without `items`, a `$ref` other than
//!   `#` or `#/$defs/…`, and schemas past OpenAI's limits: more than
//!   [`MAX_DEPTH`] levels of nesting, [`MAX_PROPERTIES`] properties or
//!   [`MAX_ENUM_VALUES`] enum values in all.

use serde_json::{Map, Value, json};

/// Most levels of nesting strict mode takes (the root object is level 1).
pub const MAX_DEPTH: usize = 10;
/// Most object properties, in all, strict mode takes.
pub const MAX_PROPERTIES: usize = 5_000;
/// Most enum values, in all, strict mode takes.
pub const MAX_ENUM_VALUES: usize = 1_000;

/// Keywords kept in a strict schema.
const KEPT: &[&str] = &[
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "anyOf",
    "enum",
    "const",
    "description",
    "$ref",
    "pattern",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
];

/// The string formats strict mode knows.
const FORMATS: &[&str] = &[
    "date-time",
    "time",
    "date",
    "duration",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "uuid",
];

/// How many times `allOf`s nested in `allOf` members are merged before giving up
/// (a member may refer to a definition that is itself an `allOf`).
const MAX_MERGES: usize = 16;

/// An action whose tool cannot be strict, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NotStrict {
    /// The action's tool name.
    pub name: String,
    /// Where in its input schema, and what strict mode cannot express.
    pub reason: String,
}

impl std::fmt::Display for NotStrict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}`: {}", self.name, self.reason)
    }
}

/// `schema` (a tool's input schema: an object) rewritten to OpenAI's strict
/// subset, or where and why it cannot be (see the module's documentation).
pub fn strict_schema(schema: Value) -> Result<Value, String> {
    let Value::Object(mut root) = schema else {
        return Err("the input schema is not an object".to_string());
    };
    let defs = match root.remove("$defs") {
        Some(Value::Object(defs)) => defs,
        _ => Map::new(),
    };
    // The root is the tool's arguments: closed, even with no argument at all.
    root.insert("additionalProperties".to_string(), Value::Bool(false));
    let mut walk = Walk {
        defs: &defs,
        properties: 0,
        enum_values: 0,
    };
    let out = walk.schema(Value::Object(root), "#", 1)?;
    let Value::Object(mut out) = out else {
        return Err("the input schema is not an object".to_string());
    };
    if out.contains_key("anyOf") || out.get("type") != Some(&json!("object")) {
        return Err("the input schema must be one object, not a union".to_string());
    }
    if !defs.is_empty() {
        let mut strict_defs = Map::with_capacity(defs.len());
        for (name, def) in &defs {
            let at = format!("#/$defs/{name}");
            strict_defs.insert(name.clone(), walk.schema(def.clone(), &at, 1)?);
        }
        out.insert("$defs".to_string(), Value::Object(strict_defs));
    }
    if walk.properties > MAX_PROPERTIES {
        return Err(format!(
            "{} properties in all; strict mode takes at most {MAX_PROPERTIES}",
            walk.properties
        ));
    }
    if walk.enum_values > MAX_ENUM_VALUES {
        return Err(format!(
            "{} enum values in all; strict mode takes at most {MAX_ENUM_VALUES}",
            walk.enum_values
        ));
    }
    Ok(Value::Object(out))
}

struct Walk<'a> {
    /// The input schema's definitions, which `allOf` members may refer to.
    defs: &'a Map<String, Value>,
    properties: usize,
    enum_values: usize,
}

impl Walk<'_> {
    fn schema(&mut self, schema: Value, at: &str, depth: usize) -> Result<Value, String> {
        if depth > MAX_DEPTH {
            return Err(format!(
                "{at}: more than {MAX_DEPTH} levels of nesting; strict mode takes at most {MAX_DEPTH}"
            ));
        }
        let mut map = match schema {
            Value::Object(map) => map,
            _ => return Err(format!("{at}: accepts any value; strict mode needs a type")),
        };
        let mut merges = 0;
        // A `$ref` with siblings (a parameter's description) is not taken by strict
        // mode: the definition is inlined under them (its own references stay).
        while let Some(Value::String(reference)) = map.get("$ref")
            && map
                .keys()
                .any(|k| k != "$ref" && KEPT.contains(&k.as_str()))
            && let Some(Value::Object(def)) = reference
                .strip_prefix("#/$defs/")
                .map(|n| n.replace("~1", "/").replace("~0", "~"))
                .and_then(|n| self.defs.get(&n))
        {
            merges += 1;
            if merges > MAX_MERGES {
                return Err(format!("{at}: $ref refers to itself"));
            }
            map.remove("$ref");
            for (k, v) in def {
                map.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        while let Some(all_of) = map.remove("allOf") {
            merges += 1;
            if merges > MAX_MERGES {
                return Err(format!("{at}: allOf nests too deeply to merge"));
            }
            self.merge(&mut map, all_of, at)?;
        }
        if let Some(one_of) = map.remove("oneOf") {
            if map.contains_key("anyOf") {
                return Err(format!(
                    "{at}: has both oneOf and anyOf, which strict mode cannot combine"
                ));
            }
            map.insert("anyOf".to_string(), one_of);
        }
        map.retain(|k, _| KEPT.contains(&k.as_str()));

        if let Some(reference) = map.get("$ref") {
            let reference = reference.as_str().unwrap_or_default().to_string();
            if reference != "#" && !reference.starts_with("#/$defs/") {
                return Err(format!(
                    "{at}: $ref to {reference}; strict mode follows only # and #/$defs/…"
                ));
            }
            // Siblings of a `$ref` are not for strict mode (a definition's were
            // inlined above; `#` cannot be).
            map.retain(|k, _| k == "$ref");
            return Ok(Value::Object(map));
        }
        if let Some(Value::Array(members)) = map.remove("anyOf") {
            let mut strict = Vec::with_capacity(members.len());
            for (i, member) in members.into_iter().enumerate() {
                strict.push(self.schema(member, &format!("{at}/anyOf/{i}"), depth)?);
            }
            map.insert("anyOf".to_string(), Value::Array(strict));
            map.remove("type");
            return Ok(Value::Object(map));
        }
        if let Some(Value::Array(values)) = map.get("enum") {
            self.enum_values += values.len();
        }
        if !map.contains_key("type") {
            let inferred = if map.contains_key("properties") {
                Some("object")
            } else if map.contains_key("items") {
                Some("array")
            } else {
                let values: Vec<&Value> = match (map.get("enum"), map.get("const")) {
                    (Some(Value::Array(values)), _) => values.iter().collect(),
                    (_, Some(value)) => vec![value],
                    _ => Vec::new(),
                };
                type_of_all(&values)
            };
            let Some(inferred) = inferred else {
                return Err(format!(
                    "{at}: has no type (accepts any value); strict mode needs one"
                ));
            };
            map.insert("type".to_string(), json!(inferred));
        }
        let types: Vec<&str> = match map.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let is_object = types.contains(&"object");
        let is_array = types.contains(&"array");
        let is_string = types.contains(&"string");
        if !is_string {
            map.remove("pattern");
            map.remove("format");
        } else if let Some(format) = map.get("format")
            && !format.as_str().is_some_and(|f| FORMATS.contains(&f))
        {
            map.remove("format");
        }
        if is_object {
            self.object(&mut map, at, depth)?;
        } else {
            map.remove("properties");
            map.remove("required");
            map.remove("additionalProperties");
        }
        if is_array {
            let Some(items) = map.remove("items") else {
                return Err(format!(
                    "{at}: an array without an items schema; strict mode needs one"
                ));
            };
            let items = self.schema(items, &format!("{at}/items"), depth + 1)?;
            map.insert("items".to_string(), items);
        } else {
            map.remove("items");
            map.remove("minItems");
            map.remove("maxItems");
        }
        Ok(Value::Object(map))
    }

    /// Every property required (the optional ones nullable), nothing else allowed.
    fn object(
        &mut self,
        map: &mut Map<String, Value>,
        at: &str,
        depth: usize,
    ) -> Result<(), String> {
        let properties = match map.remove("properties") {
            Some(Value::Object(properties)) => properties,
            _ => Map::new(),
        };
        if properties.is_empty() && map.get("additionalProperties") != Some(&Value::Bool(false)) {
            return Err(format!(
                "{at}: a free-form object (no properties); strict mode needs every property named"
            ));
        }
        let required: Vec<String> = match map.remove("required") {
            Some(Value::Array(names)) => names
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        };
        self.properties += properties.len();
        let mut strict = Map::with_capacity(properties.len());
        for (name, property) in properties {
            let child = format!(
                "{at}/properties/{}",
                name.replace('~', "~0").replace('/', "~1")
            );
            let mut property = self.schema(property, &child, depth + 1)?;
            if !required.contains(&name) {
                property = nullable(property);
            }
            strict.insert(name, property);
        }
        let names: Vec<Value> = strict.keys().map(|k| json!(k)).collect();
        map.insert("properties".to_string(), Value::Object(strict));
        map.insert("required".to_string(), Value::Array(names));
        map.insert("additionalProperties".to_string(), Value::Bool(false));
        Ok(())
    }

    /// Merges the members of an `allOf` into `map`: properties and required add up,
    /// the first value of any other keyword wins, and types must agree.
    fn merge(&self, map: &mut Map<String, Value>, all_of: Value, at: &str) -> Result<(), String> {
        let Value::Array(members) = all_of else {
            return Ok(());
        };
        for member in members {
            let member = match member {
                Value::Object(mut m) => {
                    // A member that is a reference to a definition is merged as the
                    // definition (its own references stay references).
                    if let Some(Value::String(reference)) = m.remove("$ref") {
                        let def = reference
                            .strip_prefix("#/$defs/")
                            .map(|n| n.replace("~1", "/").replace("~0", "~"))
                            .and_then(|n| self.defs.get(&n));
                        let Some(Value::Object(def)) = def else {
                            return Err(format!(
                                "{at}: allOf refers to {reference}, which cannot be merged"
                            ));
                        };
                        for (k, v) in def {
                            m.entry(k.clone()).or_insert_with(|| v.clone());
                        }
                    }
                    m
                }
                Value::Bool(true) => continue,
                _ => return Err(format!("{at}: allOf has a member that accepts nothing")),
            };
            for (key, value) in member {
                match (key.as_str(), map.get_mut(&key)) {
                    ("properties", Some(Value::Object(existing))) => {
                        if let Value::Object(more) = value {
                            for (k, v) in more {
                                existing.entry(k).or_insert(v);
                            }
                        }
                    }
                    ("required", Some(Value::Array(existing))) => {
                        if let Value::Array(more) = value {
                            for name in more {
                                if !existing.contains(&name) {
                                    existing.push(name);
                                }
                            }
                        }
                    }
                    ("type", Some(existing)) if *existing != value => {
                        return Err(format!(
                            "{at}: allOf combines the types {existing} and {value}"
                        ));
                    }
                    (_, Some(_)) => {}
                    (_, None) => {
                        map.insert(key, value);
                    }
                }
            }
        }
        Ok(())
    }
}

/// The one JSON type of every value, if they share one.
fn type_of_all(values: &[&Value]) -> Option<&'static str> {
    let kind = |v: &Value| match v {
        Value::String(_) => "string",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::Bool(_) => "boolean",
        Value::Null => "null",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let first = kind(values.first().copied()?);
    values
        .iter()
        .all(|v| {
            let this = kind(v);
            this == first || (first == "integer" && this == "number")
        })
        .then_some(first)
}

/// `schema` that also accepts `null`: `null` added to its type (and enum), or, for a
/// union or reference, one more `anyOf` member.
fn nullable(schema: Value) -> Value {
    let Value::Object(mut map) = schema else {
        return schema;
    };
    if let Some(Value::Array(members)) = map.get_mut("anyOf") {
        if !members.contains(&json!({"type": "null"})) {
            members.push(json!({"type": "null"}));
        }
        return Value::Object(map);
    }
    let has_const = map.contains_key("const");
    let typed = match map.get_mut("type") {
        Some(_) if has_const => false,
        Some(ty) => {
            if let Some(t) = ty.as_str().map(str::to_string) {
                if t != "null" {
                    *ty = json!([t, "null"]);
                }
                true
            } else if let Value::Array(types) = ty {
                if !types.contains(&json!("null")) {
                    types.push(json!("null"));
                }
                true
            } else {
                false
            }
        }
        None => false,
    };
    if typed {
        if let Some(Value::Array(values)) = map.get_mut("enum")
            && !values.contains(&Value::Null)
        {
            values.push(Value::Null);
        }
        return Value::Object(map);
    }
    // A reference or a const: keep its description beside the union.
    let description = map.remove("description");
    let mut union = Map::new();
    union.insert(
        "anyOf".to_string(),
        json!([Value::Object(map), {"type": "null"}]),
    );
    if let Some(description) = description {
        union.insert("description".to_string(), description);
    }
    Value::Object(union)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(properties: Value, required: Value) -> Value {
        json!({"type": "object", "properties": properties, "required": required})
    }

    #[test]
    fn every_property_is_required_and_the_optional_ones_nullable() {
        let schema = object(
            json!({
                "order_id": {"type": "string", "description": "The order.", "minLength": 3},
                "status": {"type": "string", "enum": ["open", "shipped"]},
                "address": {"type": "object", "properties": {"city": {"type": "string"}}},
                "kind": {"$ref": "#/$defs/Kind", "description": "Which kind."},
                "tree": {"$ref": "#/$defs/Kind", "title": "Dropped"},
            }),
            json!(["order_id"]),
        );
        let mut schema = schema;
        schema["$defs"] = json!({"Kind": {"type": "string", "enum": ["a", "b"], "title": "Kind"}});
        let strict = strict_schema(schema).unwrap();
        assert_eq!(
            strict,
            json!({
                "type": "object",
                "properties": {
                    "order_id": {"type": "string", "description": "The order."},
                    "status": {"type": ["string", "null"], "enum": ["open", "shipped", null]},
                    "address": {
                        "type": ["object", "null"],
                        "properties": {"city": {"type": ["string", "null"]}},
                        "required": ["city"],
                        "additionalProperties": false,
                    },
                    "kind": {"type": ["string", "null"], "enum": ["a", "b", null], "description": "Which kind."},
                    "tree": {"anyOf": [{"$ref": "#/$defs/Kind"}, {"type": "null"}]},
                },
                "required": ["order_id", "status", "address", "kind", "tree"],
                "additionalProperties": false,
                "$defs": {"Kind": {"type": "string", "enum": ["a", "b"]}},
            })
        );
    }

    #[test]
    fn one_of_becomes_any_of_and_all_of_is_merged() {
        let schema = object(
            json!({
                "pet": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
                "owner": {"allOf": [
                    {"$ref": "#/$defs/Person"},
                    {"properties": {"vip": {"type": "boolean"}}, "required": ["vip"]},
                ], "description": "Who owns it."},
            }),
            json!(["pet", "owner"]),
        );
        let mut schema = schema;
        schema["$defs"] = json!({"Person": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}});
        let strict = strict_schema(schema).unwrap();
        assert_eq!(
            strict["properties"]["pet"],
            json!({"anyOf": [{"type": "string"}, {"type": "integer"}]})
        );
        assert_eq!(
            strict["properties"]["owner"],
            json!({
                "description": "Who owns it.",
                "type": "object",
                "properties": {"name": {"type": "string"}, "vip": {"type": "boolean"}},
                "required": ["name", "vip"],
                "additionalProperties": false,
            })
        );
    }

    #[test]
    fn refuses_what_strict_mode_cannot_say() {
        let refused = |property: Value| {
            strict_schema(object(json!({"p": property}), json!(["p"]))).unwrap_err()
        };
        assert!(refused(json!({"type": "object"})).contains("free-form object"));
        assert!(
            refused(json!({"type": "object", "additionalProperties": {"type": "string"}}))
                .contains("free-form object")
        );
        assert!(refused(json!({"description": "anything"})).contains("no type"));
        assert!(refused(json!({"type": "array"})).contains("without an items schema"));
        assert!(refused(json!({"$ref": "#/properties/q"})).contains("$ref"));
        let mut deep = json!({"type": "string"});
        for _ in 0..MAX_DEPTH {
            deep = object(json!({"p": deep}), json!(["p"]));
        }
        let why = strict_schema(deep).unwrap_err();
        assert!(why.contains("levels of nesting"), "{why}");
        let many: Vec<Value> = (0..=MAX_ENUM_VALUES)
            .map(|i| json!(i.to_string()))
            .collect();
        let why = refused(json!({"type": "string", "enum": many}));
        assert!(why.contains("enum values"), "{why}");
        let wide: Map<String, Value> = (0..=MAX_PROPERTIES)
            .map(|i| (format!("p{i}"), json!({"type": "integer"})))
            .collect();
        let why = strict_schema(object(Value::Object(wide), json!([]))).unwrap_err();
        assert!(why.contains("properties in all"), "{why}");
    }

    #[test]
    fn keeps_the_keywords_and_formats_strict_mode_takes() {
        let strict = strict_schema(object(
            json!({
                "when": {"type": "string", "format": "date-time", "pattern": "^2", "maxLength": 30},
                "site": {"type": "string", "format": "uri"},
                "n": {"type": "integer", "minimum": 1, "maximum": 9, "default": 3, "examples": [4]},
                "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 5, "uniqueItems": true},
            }),
            json!(["when", "site", "n", "tags"]),
        ))
        .unwrap();
        assert_eq!(
            strict["properties"],
            json!({
                "when": {"type": "string", "format": "date-time", "pattern": "^2"},
                "site": {"type": "string"},
                "n": {"type": "integer", "minimum": 1, "maximum": 9},
                "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 5},
            })
        );
    }
}
