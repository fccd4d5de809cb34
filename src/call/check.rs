//! The answer against the spec: the response schema the operation declares for
//! the status (exact, then `2XX`-style ranges, then `default`) and the content
//! type, checked with the `jsonschema` crate (JSON Schema 2020-12), each
//! mismatch by JSON pointer into the body.
//!
//! Why from the stored spec: an action keeps only what the AI and the call need
//! (its spec-owned fields); response schemas are neither, and storing them would
//! grow every action and every plan diff for a check only Test makes. The
//! source's current revision keeps the spec's root document, so the schema is
//! read from there, through the operation's pointer, and normalised by the same
//! code that builds tool schemas (`convert::schema`), so OpenAPI 3.0's
//! `nullable` and friends mean what they mean in the spec.

use serde::Serialize;
use serde_json::Value;

use super::send::{Exchange, Outcome};
use crate::action::Origin;
use crate::convert::schema::{Purpose, SchemaBudget, Schemas};
use crate::source::{LoadOptions, SpecLocation};
use crate::spec::SpecVersion;

/// The most mismatches listed.
pub const MAX_MISMATCHES: usize = 50;

/// One way the body differs from the schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// JSON pointer into the response body (`""` for the whole body).
    pub pointer: String,
    /// What is wrong there.
    pub message: String,
}

/// The outcome of checking the answer against the spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SchemaCheck {
    /// Whether a schema was found and the body checked against it.
    pub checked: bool,
    /// Which response of the spec applied (`200 application/json`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declared: Option<String>,
    /// Whether the body matches (`None` when not checked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matches: Option<bool>,
    /// Each mismatch, by JSON pointer (at most [`MAX_MISMATCHES`]).
    pub mismatches: Vec<Mismatch>,
    /// Why it was not checked, or what limited the check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl SchemaCheck {
    fn skipped(note: impl Into<String>) -> SchemaCheck {
        SchemaCheck {
            checked: false,
            declared: None,
            matches: None,
            mismatches: Vec::new(),
            note: Some(note.into()),
        }
    }
}

/// Checks the answer of `exchange` against the response `operation` declares in
/// `spec` (the stored root document of the action's source).
pub fn response(spec: Option<&[u8]>, operation: &Origin, exchange: &Exchange) -> SchemaCheck {
    let Outcome::Answered(answer) = &exchange.outcome else {
        return SchemaCheck::skipped("no answer to check");
    };
    let Some(spec) = spec else {
        return SchemaCheck::skipped(
            "the spec the action came from is not in the catalogue (an archived action, or one never applied)",
        );
    };
    let content_type = answer
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.as_str());
    let declared = match declared_schema(spec, operation, answer.status, content_type) {
        Ok(Some(found)) => found,
        Ok(None) => {
            return SchemaCheck::skipped(format!(
                "the spec declares no schema for a {} {} answer",
                answer.status,
                content_type.unwrap_or("(no content type)")
            ));
        }
        Err(reason) => return SchemaCheck::skipped(reason),
    };
    if answer.truncated {
        return SchemaCheck {
            declared: Some(declared.label),
            ..SchemaCheck::skipped(format!(
                "the body is over {} MiB; only its start was read",
                super::send::MAX_BODY >> 20
            ))
        };
    }
    let mut check = validate(&declared.schema, &answer.body, declared.json);
    check.declared = Some(declared.label);
    if declared.cut {
        check.note = Some(
            "parts of the schema were not expanded (recursive or very large); they accept any value of their type".to_string(),
        );
    }
    check
}

/// A response schema found in the spec.
struct Declared {
    /// `200 application/json`.
    label: String,
    /// JSON Schema 2020-12, no `$ref`.
    schema: Value,
    /// Whether the media type is JSON (the body is parsed as JSON).
    json: bool,
    /// Whether building the schema cut anything.
    cut: bool,
}

/// The schema the operation at `operation.pointer` declares for `status` and
/// `content_type`, if any.
fn declared_schema(
    spec_bytes: &[u8],
    operation: &Origin,
    status: u16,
    content_type: Option<&str>,
) -> Result<Option<Declared>, String> {
    let location = SpecLocation::Bytes {
        name: "the stored spec".to_string(),
        bytes: spec_bytes.to_vec(),
    };
    let spec = crate::source::load(&location, &LoadOptions::default())
        .map_err(|e| format!("the stored spec cannot be read again: {e}"))?;
    let root = spec.root_url().clone();
    let fragment = operation
        .pointer
        .strip_prefix('#')
        .unwrap_or(&operation.pointer);
    let Some(op) = spec.follow_in_root(fragment).ok().flatten() else {
        return Err(format!(
            "the operation {} {} is not in the stored spec",
            operation.method.to_uppercase(),
            operation.path
        ));
    };
    let Some(responses) = op.get("responses").and_then(Value::as_object) else {
        return Ok(None);
    };
    let code = status.to_string();
    let range = format!("{}XX", status / 100);
    let key = [code.as_str(), range.as_str(), "default"]
        .into_iter()
        .find_map(|wanted| responses.keys().find(|k| k.eq_ignore_ascii_case(wanted)));
    let Some(key) = key else {
        return Ok(None);
    };
    let response = spec
        .deref(&root, &responses[key.as_str()])
        .map_err(|e| format!("responses/{key}: {e}"))?;
    let media = content_type
        .and_then(|c| c.split(';').next())
        .map(|c| c.trim().to_ascii_lowercase());
    let (label, raw, json) = if spec.version() == SpecVersion::Swagger2 {
        let Some(schema) = response.value.get("schema") else {
            return Ok(None);
        };
        let json = media.as_deref().is_none_or(is_json);
        (key.clone(), schema, json)
    } else {
        let Some(content) = response.value.get("content").and_then(Value::as_object) else {
            return Ok(None);
        };
        let Some((name, entry)) = pick_media(content, media.as_deref()) else {
            return Ok(None);
        };
        let Some(schema) = entry.get("schema") else {
            return Ok(None);
        };
        (format!("{key} {name}"), schema, is_json(name))
    };
    let schemas = Schemas::new(&spec);
    let budget = validation_budget();
    let built = schemas
        .build(response.base, raw, Purpose::Parameter, &budget, usize::MAX)
        .map_err(|e| format!("responses/{label}: {e}"))?;
    Ok(Some(Declared {
        label,
        schema: std::sync::Arc::unwrap_or_clone(built.schema),
        json,
        cut: !built.cuts.is_empty(),
    }))
}

/// A budget that leaves all but recursion whole: the check should see the
/// schema as the spec wrote it.
fn validation_budget() -> SchemaBudget {
    SchemaBudget {
        max_depth: 64,
        max_bytes: usize::MAX,
        max_properties: 100_000,
        max_enum: 100_000,
        max_union: 10_000,
    }
}

/// The spec's media type for the answer's: exact, then `type/*`, then `*/*`;
/// with no content type, the first declared.
fn pick_media<'v>(
    content: &'v serde_json::Map<String, Value>,
    media: Option<&str>,
) -> Option<(&'v String, &'v Value)> {
    let Some(media) = media else {
        return content.iter().next();
    };
    let family = media.split('/').next().unwrap_or("");
    // A spec may key a media type with its parameters (`application/json; charset=utf-8`).
    let bare = |k: &str| {
        k.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    };
    content
        .iter()
        .find(|(k, _)| bare(k) == media)
        .or_else(|| {
            content
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(&format!("{family}/*")))
        })
        .or_else(|| content.iter().find(|(k, _)| k.as_str() == "*/*"))
}

fn is_json(media: &str) -> bool {
    let media = media.to_ascii_lowercase();
    media == "application/json" || media.ends_with("+json") || media == "*/*"
}

/// Validates the body against `schema`.
fn validate(schema: &Value, body: &[u8], json: bool) -> SchemaCheck {
    let instance = if json {
        match serde_json::from_slice::<Value>(body) {
            Ok(value) => value,
            Err(e) => {
                return SchemaCheck {
                    checked: true,
                    declared: None,
                    matches: Some(false),
                    mismatches: vec![Mismatch {
                        pointer: String::new(),
                        message: format!("the body is not JSON: {e}"),
                    }],
                    note: None,
                };
            }
        }
    } else {
        Value::String(String::from_utf8_lossy(body).into_owned())
    };
    let validator = match jsonschema::draft202012::new(schema) {
        Ok(v) => v,
        Err(e) => {
            return SchemaCheck::skipped(format!(
                "the spec's response schema is not a schema the checker takes: {e}"
            ));
        }
    };
    let mismatches: Vec<Mismatch> = validator
        .iter_errors(&instance)
        .take(MAX_MISMATCHES)
        .map(|e| Mismatch {
            pointer: e.instance_path().to_string(),
            message: e.to_string(),
        })
        .collect();
    SchemaCheck {
        checked: true,
        declared: None,
        matches: Some(mismatches.is_empty()),
        mismatches,
        note: None,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::call::send::Answer;

    const SPEC: &str = r#"
openapi: 3.0.3
info: {title: Orders, version: "1"}
servers: [{url: "https://api.example.com"}]
paths:
  /orders/{id}:
    get:
      operationId: getOrder
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        '200':
          description: The order.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Order'}
        4XX:
          description: An error.
          content:
            application/problem+json:
              schema: {type: object, required: [title]}
components:
  schemas:
    Order:
      type: object
      required: [id, total]
      properties:
        id: {type: string}
        total: {type: integer}
        note: {type: string, nullable: true}
"#;

    fn origin() -> Origin {
        Origin {
            operation_id: Some("getOrder".into()),
            method: "get".into(),
            path: "/orders/{id}".into(),
            tags: Vec::new(),
            pointer: "#/paths/~1orders~1{id}/get".into(),
        }
    }

    fn answered(status: u16, content_type: &str, body: &str) -> Exchange {
        Exchange {
            outcome: Outcome::Answered(Answer {
                status,
                headers: vec![("content-type".into(), content_type.into())],
                body: body.as_bytes().to_vec(),
                truncated: false,
            }),
            redirects: Vec::new(),
            latency: Duration::ZERO,
            notes: Vec::new(),
        }
    }

    #[test]
    fn mismatches_are_listed_by_pointer() {
        let check = response(
            Some(SPEC.as_bytes()),
            &origin(),
            &answered(
                200,
                "application/json; charset=utf-8",
                r#"{"id": 7, "note": null}"#,
            ),
        );
        assert!(check.checked);
        assert_eq!(check.declared.as_deref(), Some("200 application/json"));
        assert_eq!(check.matches, Some(false));
        let pointers: Vec<&str> = check
            .mismatches
            .iter()
            .map(|m| m.pointer.as_str())
            .collect();
        assert!(pointers.contains(&"/id"), "{check:#?}");
        assert!(pointers.contains(&""), "the missing `total`: {check:#?}");
        assert!(
            !pointers.contains(&"/note"),
            "nullable means null is fine: {check:#?}"
        );
    }

    #[test]
    fn a_matching_body_and_a_status_range() {
        let ok = response(
            Some(SPEC.as_bytes()),
            &origin(),
            &answered(200, "application/json", r#"{"id": "7", "total": 1200}"#),
        );
        assert_eq!(ok.matches, Some(true), "{ok:#?}");
        let problem = response(
            Some(SPEC.as_bytes()),
            &origin(),
            &answered(404, "application/problem+json", r#"{"detail": "no"}"#),
        );
        assert_eq!(
            problem.declared.as_deref(),
            Some("4XX application/problem+json")
        );
        assert_eq!(problem.matches, Some(false));
        let undeclared = response(
            Some(SPEC.as_bytes()),
            &origin(),
            &answered(500, "text/plain", "x"),
        );
        assert!(!undeclared.checked);
        assert!(undeclared.note.unwrap().contains("500"));
    }
}
