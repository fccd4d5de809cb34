//! Schemas → self-contained JSON Schema 2020-12.
//!
//! `$ref`s are inlined, so the AI sees one schema per body or parameter. A cycle is
//! cut: the inner occurrence becomes `{"$ref": "#/$defs/Name"}` and `Name` is kept
//! under the root's `$defs`, so the result is finite and still valid JSON Schema.
//! A body that would inline to more than [`NODE_BUDGET`] schema nodes keeps the rest
//! of its references as `$defs` entries too, so output stays linear in the spec.
//!
//! OpenAPI 3.0 and Swagger 2.0 dialects are normalised: `nullable`/`x-nullable`
//! become a `"null"` type, boolean `exclusiveMinimum`/`exclusiveMaximum` become
//! numbers, `example` becomes `examples`, `type: file` becomes a binary string, and
//! keywords that mean nothing to JSON Schema (`discriminator`, `xml`, `x-…`) go.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};
use url::Url;

use crate::spec::{RefError, Spec, SpecVersion, pointer};

/// How many schema nodes one root may inline before references become `$defs`.
pub const NODE_BUDGET: usize = 20_000;

/// How deep schema nesting may go (counting inlined references) before it is cut.
const MAX_DEPTH: usize = 96;

/// What the schema describes; request bodies drop `readOnly` properties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A request body: `readOnly` properties are not sent, so they are dropped.
    RequestBody,
    /// A parameter.
    Parameter,
}

/// A schema built for one root, and what happened on the way.
#[derive(Debug)]
pub struct Built {
    /// The JSON Schema.
    pub schema: Value,
    /// Caveats worth a warning (truncated depth, a schema that was not an object).
    pub warnings: Vec<String>,
}

/// Builds a self-contained JSON Schema from `schema`, which lives in document `base`.
/// Fails only on a `$ref` that cannot be followed: the schema would be wrong.
pub fn build(spec: &Spec, base: &Url, schema: &Value, purpose: Purpose) -> Result<Built, RefError> {
    let mut builder = Builder {
        spec,
        version: spec.version(),
        purpose,
        stack: Vec::new(),
        recursive: HashSet::new(),
        defs: Map::new(),
        def_names: HashMap::new(),
        nodes: 0,
        over_budget: false,
        warnings: Vec::new(),
    };
    let mut schema = builder.expand(schema, base, 0)?;
    if !builder.defs.is_empty() {
        if let Value::Object(map) = &mut schema {
            map.insert(
                "$defs".to_string(),
                Value::Object(std::mem::take(&mut builder.defs)),
            );
        } else {
            schema = json!({"allOf": [schema], "$defs": Value::Object(std::mem::take(&mut builder.defs))});
        }
    }
    Ok(Built {
        schema,
        warnings: builder.warnings,
    })
}

/// A JSON Schema inferred from an example value, for bodies that give only an example.
pub fn infer_from_example(example: &Value) -> Value {
    match example {
        Value::Null => json!({}),
        Value::Bool(_) => json!({"type": "boolean"}),
        Value::Number(n) if n.is_i64() || n.is_u64() => json!({"type": "integer"}),
        Value::Number(_) => json!({"type": "number"}),
        Value::String(_) => json!({"type": "string"}),
        Value::Array(items) => match items.first() {
            Some(first) => json!({"type": "array", "items": infer_from_example(first)}),
            None => json!({"type": "array"}),
        },
        Value::Object(map) => {
            let properties: Map<String, Value> = map
                .iter()
                .map(|(k, v)| (k.clone(), infer_from_example(v)))
                .collect();
            json!({"type": "object", "properties": properties})
        }
    }
}

struct Builder<'s> {
    spec: &'s Spec,
    version: SpecVersion,
    purpose: Purpose,
    /// Identities of the references being inlined, outermost first.
    stack: Vec<String>,
    /// References that were met again inside themselves.
    recursive: HashSet<String>,
    defs: Map<String, Value>,
    def_names: HashMap<String, String>,
    nodes: usize,
    over_budget: bool,
    warnings: Vec<String>,
}

/// Keywords whose value is a map of name → schema.
pub(crate) const SCHEMA_MAPS: &[&str] = &["properties", "patternProperties", "dependentSchemas"];
/// Keywords whose value is one schema.
pub(crate) const SCHEMA_ONE: &[&str] = &[
    "additionalProperties",
    "unevaluatedProperties",
    "not",
    "contains",
    "propertyNames",
    "if",
    "then",
    "else",
    "additionalItems",
    "unevaluatedItems",
    "contentSchema",
];
/// Keywords whose value is a list of schemas.
pub(crate) const SCHEMA_LISTS: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems"];
/// Keywords dropped: OpenAPI-only, or identifiers that would change how `$ref`s resolve.
const DROPPED: &[&str] = &[
    "discriminator",
    "xml",
    "externalDocs",
    "$schema",
    "$id",
    "$anchor",
    "$dynamicAnchor",
    "$dynamicRef",
    "$comment",
    "$defs",
    "definitions",
    "nullable",
    "example",
];

impl<'s> Builder<'s> {
    fn expand(&mut self, value: &Value, base: &'s Url, depth: usize) -> Result<Value, RefError> {
        self.nodes += 1;
        if !self.over_budget && self.nodes > NODE_BUDGET {
            self.over_budget = true;
            self.warnings.push(format!(
                "the schema inlines to more than {NODE_BUDGET} nodes; the rest of its references are kept under $defs"
            ));
        }
        if depth > MAX_DEPTH {
            self.warnings.push(format!(
                "the schema nests deeper than {MAX_DEPTH} levels; deeper parts accept any value"
            ));
            return Ok(json!({}));
        }
        let map = match value {
            Value::Object(map) => map,
            Value::Bool(b) => return Ok(Value::Bool(*b)),
            other => {
                self.warnings.push(format!(
                    "a schema is {} instead of an object; it accepts any value",
                    kind_of(other)
                ));
                return Ok(json!({}));
            }
        };
        if let Some(Value::String(reference)) = map.get("$ref") {
            return self.expand_ref(reference, map, base, depth);
        }

        let legacy = self.version != SpecVersion::OpenApi31;
        let mut out = Map::with_capacity(map.len());
        let mut dropped_read_only: Vec<String> = Vec::new();
        // Keywords acted on after the loop, noted as it passes them.
        let mut example = None;
        let mut nullable = false;
        let mut exclusive = [false, false];
        for (key, child) in map {
            let key = key.as_str();
            match key {
                "example" => example = Some(child),
                "nullable" | "x-nullable" => nullable |= child == &Value::Bool(true),
                "exclusiveMinimum" if legacy => exclusive[0] = child == &Value::Bool(true),
                "exclusiveMaximum" if legacy => exclusive[1] = child == &Value::Bool(true),
                _ => {}
            }
            if key.starts_with("x-") || DROPPED.contains(&key) {
                continue;
            }
            if SCHEMA_MAPS.contains(&key) {
                let Value::Object(children) = child else {
                    continue;
                };
                let mut converted = Map::with_capacity(children.len());
                for (name, sub) in children {
                    let sub = self.expand(sub, base, depth + 1)?;
                    if key == "properties"
                        && self.purpose == Purpose::RequestBody
                        && sub.get("readOnly") == Some(&Value::Bool(true))
                    {
                        dropped_read_only.push(name.clone());
                        continue;
                    }
                    converted.insert(name.clone(), sub);
                }
                out.insert(key.to_string(), Value::Object(converted));
            } else if SCHEMA_ONE.contains(&key) {
                match child {
                    Value::Object(_) | Value::Bool(_) => {
                        let sub = self.expand(child, base, depth + 1)?;
                        out.insert(key.to_string(), sub);
                    }
                    _ => {}
                }
            } else if SCHEMA_LISTS.contains(&key) {
                let Value::Array(items) = child else { continue };
                let mut converted = Vec::with_capacity(items.len());
                for item in items {
                    converted.push(self.expand(item, base, depth + 1)?);
                }
                out.insert(key.to_string(), Value::Array(converted));
            } else if key == "items" {
                match child {
                    // Draft-4 style tuples (seen in Swagger 2.0 specs).
                    Value::Array(items) => {
                        let mut converted = Vec::with_capacity(items.len());
                        for item in items {
                            converted.push(self.expand(item, base, depth + 1)?);
                        }
                        out.insert("prefixItems".to_string(), Value::Array(converted));
                    }
                    _ => {
                        let sub = self.expand(child, base, depth + 1)?;
                        out.insert("items".to_string(), sub);
                    }
                }
            } else if key == "type" && child == "file" {
                out.insert("type".to_string(), json!("string"));
                out.insert("format".to_string(), json!("binary"));
            } else if key == "required" && !child.is_array() {
                // Swagger 1.x style `required: true` on a schema: meaningless here.
            } else if legacy
                && (key == "exclusiveMinimum" || key == "exclusiveMaximum")
                && child.is_boolean()
            {
                // Handled below, once `minimum`/`maximum` are known.
            } else {
                out.insert(key.to_string(), child.clone());
            }
        }

        let bounds = [
            ("exclusiveMinimum", "minimum"),
            ("exclusiveMaximum", "maximum"),
        ];
        for (on, (flag, bound)) in exclusive.into_iter().zip(bounds) {
            if on && let Some(limit) = out.remove(bound) {
                out.insert(flag.to_string(), limit);
            }
        }
        if !dropped_read_only.is_empty()
            && let Some(Value::Array(required)) = out.get_mut("required")
        {
            required.retain(|r| {
                !r.as_str()
                    .is_some_and(|r| dropped_read_only.iter().any(|d| d == r))
            });
            if required.is_empty() {
                out.remove("required");
            }
        }
        if let Some(example) = example
            && !out.contains_key("examples")
        {
            out.insert("examples".to_string(), Value::Array(vec![example.clone()]));
        }
        if nullable && legacy {
            return Ok(make_nullable(out));
        }
        Ok(Value::Object(out))
    }

    fn expand_ref(
        &mut self,
        reference: &str,
        map: &Map<String, Value>,
        base: &'s Url,
        depth: usize,
    ) -> Result<Value, RefError> {
        let identity = self.spec.ref_identity(base, reference);
        let expanded = if self.stack.contains(&identity) {
            self.recursive.insert(identity.clone());
            json!({"$ref": format!("#/$defs/{}", self.def_name(&identity))})
        } else if self.over_budget {
            let name = self.def_name(&identity);
            if !self.defs.contains_key(&name) {
                // Reserve the name first: the definition may refer to itself.
                self.defs.insert(name.clone(), json!({}));
                let target = self.spec.resolve_ref(base, reference)?;
                self.stack.push(identity.clone());
                let def = self.expand(target.value, target.base, depth + 1);
                self.stack.pop();
                self.defs.insert(name.clone(), def?);
            }
            json!({"$ref": format!("#/$defs/{name}")})
        } else {
            let target = self.spec.resolve_ref(base, reference)?;
            self.stack.push(identity.clone());
            let expanded = self.expand(target.value, target.base, depth + 1);
            self.stack.pop();
            let expanded = expanded?;
            if self.recursive.contains(&identity) {
                let name = self.def_name(&identity);
                if !self.defs.contains_key(&name) {
                    self.defs.insert(name, expanded.clone());
                }
            }
            expanded
        };
        self.apply_ref_siblings(expanded, map, base, depth)
    }

    /// Keywords beside a `$ref`. OpenAPI 3.1 (JSON Schema 2020-12) applies them all;
    /// 3.0 and 2.0 say to ignore them, but specs put `description` there expecting it
    /// to show, so annotations are kept in every dialect.
    fn apply_ref_siblings(
        &mut self,
        mut expanded: Value,
        map: &Map<String, Value>,
        base: &'s Url,
        depth: usize,
    ) -> Result<Value, RefError> {
        const ANNOTATIONS: &[&str] = &[
            "description",
            "title",
            "deprecated",
            "readOnly",
            "writeOnly",
            "default",
            "summary",
        ];
        let mut constraints = Map::new();
        for (key, value) in map {
            let key = key.as_str();
            if key == "$ref" || key.starts_with("x-") {
                continue;
            }
            if ANNOTATIONS.contains(&key) {
                if key == "summary" {
                    continue;
                }
                if let Value::Object(target) = &mut expanded {
                    target.insert(key.to_string(), value.clone());
                }
            } else if self.version == SpecVersion::OpenApi31 {
                constraints.insert(key.to_string(), value.clone());
            }
        }
        if constraints.is_empty() {
            return Ok(expanded);
        }
        let mut rest = match self.expand(&Value::Object(constraints), base, depth + 1) {
            Ok(Value::Object(rest)) => rest,
            Ok(_) => Map::new(),
            Err(e) => return Err(e),
        };
        let mut all_of = vec![expanded];
        if let Some(Value::Array(more)) = rest.remove("allOf") {
            all_of.extend(more);
        }
        rest.insert("allOf".to_string(), Value::Array(all_of));
        Ok(Value::Object(rest))
    }

    /// A `$defs` name for a reference: the last pointer token (the component's
    /// name), made unique.
    fn def_name(&mut self, identity: &str) -> String {
        if let Some(name) = self.def_names.get(identity) {
            return name.clone();
        }
        let (doc, fragment) = identity.split_once('#').unwrap_or((identity, ""));
        let raw = pointer::parse_fragment(fragment)
            .and_then(|tokens| tokens.last().cloned())
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| {
                doc.rsplit('/')
                    .next()
                    .map(|f| f.split('.').next().unwrap_or(f).to_string())
                    .unwrap_or_default()
            });
        let mut base: String = raw
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if base.is_empty() {
            base = "schema".to_string();
        }
        let taken: HashSet<&String> = self.def_names.values().collect();
        let mut name = base.clone();
        let mut n = 2;
        while taken.contains(&name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        self.def_names.insert(identity.to_string(), name.clone());
        name
    }
}

/// Adds `null` to a 3.0 `nullable: true` schema's type (and enum); a schema with
/// constraints but no type becomes `anyOf: [schema, {type: null}]`.
fn make_nullable(mut out: Map<String, Value>) -> Value {
    if let Some(Value::Array(values)) = out.get_mut("enum")
        && !values.contains(&Value::Null)
    {
        values.push(Value::Null);
    }
    if !out.contains_key("type") {
        // Without constraints a schema already accepts null.
        const ANNOTATIONS: &[&str] = &[
            "description",
            "title",
            "default",
            "examples",
            "deprecated",
            "readOnly",
            "writeOnly",
        ];
        return if out.keys().all(|k| ANNOTATIONS.contains(&k.as_str())) {
            Value::Object(out)
        } else {
            json!({"anyOf": [Value::Object(out), {"type": "null"}]})
        };
    }
    match out.get_mut("type") {
        Some(Value::String(t)) if t != "null" => {
            let t = std::mem::take(t);
            out.insert("type".to_string(), json!([t, "null"]));
        }
        Some(Value::Array(types)) if !types.iter().any(|t| t == "null") => {
            types.push(json!("null"));
        }
        _ => {}
    }
    Value::Object(out)
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Document;

    fn spec(version: &str, components: Value) -> Spec {
        let root = Url::parse("file:///api/root.yaml").unwrap();
        let doc = json!({"openapi": version, "components": {"schemas": components}});
        Spec::new(
            root.clone(),
            [(root, Document::Loaded(doc))].into_iter().collect(),
            None,
        )
        .unwrap()
    }

    fn build_ref(spec: &Spec, name: &str, purpose: Purpose) -> Value {
        let r = json!({"$ref": format!("#/components/schemas/{name}")});
        build(spec, spec.root_url(), &r, purpose).unwrap().schema
    }

    #[test]
    fn self_recursion_is_cut_into_defs() {
        let s = spec(
            "3.0.3",
            json!({"Tree": {"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#/components/schemas/Tree"}}}}}),
        );
        let out = build_ref(&s, "Tree", Purpose::RequestBody);
        assert_eq!(
            out["properties"]["children"]["items"],
            json!({"$ref": "#/$defs/Tree"})
        );
        assert_eq!(
            out["$defs"]["Tree"]["properties"]["children"]["items"],
            json!({"$ref": "#/$defs/Tree"})
        );
    }

    #[test]
    fn mutual_recursion_is_finite_and_every_ref_has_a_def() {
        let s = spec(
            "3.0.3",
            json!({
                "Person": {"type": "object", "properties": {"employer": {"$ref": "#/components/schemas/Company"}}},
                "Company": {"type": "object", "properties": {"ceo": {"$ref": "#/components/schemas/Person"}}}
            }),
        );
        let out = build_ref(&s, "Person", Purpose::RequestBody);
        let text = out.to_string();
        assert!(text.len() < 2000);
        let defs = out["$defs"].as_object().unwrap();
        assert!(defs.contains_key("Person"), "{out:#}");
        assert_eq!(
            out["properties"]["employer"]["properties"]["ceo"],
            json!({"$ref": "#/$defs/Person"})
        );
    }

    #[test]
    fn oas30_is_normalised() {
        let s = spec(
            "3.0.3",
            json!({"N": {"type": "object", "required": ["id", "n"], "properties": {
                "id": {"type": "string", "readOnly": true},
                "n": {"type": "integer", "nullable": true, "minimum": 0, "exclusiveMinimum": true, "example": 3},
                "e": {"type": "string", "enum": ["a"], "nullable": true},
                "any": {"nullable": true, "allOf": [{"type": "string"}]},
                "x": {"type": "string", "x-internal": true, "xml": {"name": "x"}}
            }}}),
        );
        let out = build_ref(&s, "N", Purpose::RequestBody);
        assert_eq!(out["required"], json!(["n"]));
        assert!(out["properties"].get("id").is_none());
        assert_eq!(
            out["properties"]["n"],
            json!({"type": ["integer", "null"], "exclusiveMinimum": 0, "examples": [3]})
        );
        assert_eq!(out["properties"]["e"]["enum"], json!(["a", null]));
        assert_eq!(
            out["properties"]["any"],
            json!({"anyOf": [{"allOf": [{"type": "string"}]}, {"type": "null"}]})
        );
        assert_eq!(out["properties"]["x"], json!({"type": "string"}));
        let as_param = build_ref(&s, "N", Purpose::Parameter);
        assert!(as_param["properties"].get("id").is_some());
    }

    #[test]
    fn oas31_ref_siblings_apply() {
        let s = spec(
            "3.1.0",
            json!({"S": {"type": "string"}, "T": {"$ref": "#/components/schemas/S", "description": "why", "maxLength": 3}}),
        );
        let out = build_ref(&s, "T", Purpose::Parameter);
        assert_eq!(
            out,
            json!({"maxLength": 3, "allOf": [{"type": "string", "description": "why"}]})
        );
    }

    #[test]
    fn a_broken_ref_fails_the_schema() {
        let s = spec(
            "3.0.3",
            json!({"A": {"properties": {"b": {"$ref": "#/components/schemas/Nope"}}}}),
        );
        let r = json!({"$ref": "#/components/schemas/A"});
        assert!(build(&s, s.root_url(), &r, Purpose::RequestBody).is_err());
    }

    #[test]
    fn infers_from_example() {
        assert_eq!(
            infer_from_example(&json!({"id": 1, "tags": ["a"], "price": 1.5, "ok": true})),
            json!({"type": "object", "properties": {
                "id": {"type": "integer"}, "tags": {"type": "array", "items": {"type": "string"}},
                "price": {"type": "number"}, "ok": {"type": "boolean"}}})
        );
    }
}
