//! Regressions found by the fuzzer (`fuzz/`, issue 13; RELIABILITY.md, "Fuzzing
//! parse → convert → plan"). Each input is the minimised finding, in
//! `tests/fixtures/fuzz/` or inline, and each test failed before its fix.

use actionsync::convert::{self, Conversion, ConvertOptions};
use actionsync::diagnostic::Severity;
use actionsync::source::{self, LoadOptions, SpecLocation};
use serde_json::Value;

fn convert_fixture(name: &str) -> Conversion {
    let path = format!("tests/fixtures/fuzz/{name}");
    let location = SpecLocation::File(path.clone().into());
    let spec =
        source::load(&location, &LoadOptions::default()).unwrap_or_else(|e| panic!("{path}: {e}"));
    convert::convert(
        &spec,
        &ConvertOptions {
            source: location.default_source_name(),
            ..ConvertOptions::default()
        },
    )
}

/// Every parameter and body schema of every action, by a name for messages.
fn schemas(conversion: &Conversion) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    for action in &conversion.actions {
        for p in &action.spec.parameters {
            out.push((
                format!("{} parameter {}", action.spec.name, p.key),
                p.schema.as_ref(),
            ));
        }
        if let Some(body) = &action.spec.body {
            out.push((format!("{} body", action.spec.name), &body.schema));
        }
    }
    out
}

/// A draft-04 tuple without items (`items: []`) became `prefixItems: []`, which
/// JSON Schema 2020-12 refuses (at least one item): the platform's validator
/// would refuse the whole tool. It is left out with a warning, as other invalid
/// keyword values are; `additionalItems` beside it still types every item.
#[test]
fn an_empty_tuple_is_left_out_with_a_warning() {
    let conversion = convert_fixture("empty-tuple-items.yaml");
    assert_eq!(conversion.actions.len(), 1, "{:?}", conversion.diagnostics);
    for (what, schema) in schemas(&conversion) {
        assert!(
            jsonschema::draft202012::meta::validate(schema).is_ok(),
            "{what} is not valid JSON Schema 2020-12: {schema}"
        );
    }
    let parameters = &conversion.actions[0].spec.parameters;
    assert_eq!(parameters[0].schema["type"], "array");
    assert_eq!(parameters[0].schema.get("prefixItems"), None);
    assert_eq!(parameters[1].schema["items"]["type"], "integer");
    let warnings: Vec<&str> = conversion
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning && d.message.contains("items: []"))
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(warnings.len(), 2, "{:?}", conversion.diagnostics);
    assert!(
        warnings[0].contains("left out"),
        "the warning says what happened: {}",
        warnings[0]
    );
}

/// Each parameter could take half the tool's byte budget, whatever the others
/// took: four parameters of one large `Filter` object made 31 KB of schemas
/// where the README promises 16 KiB for a tool's parameters and body together.
/// Not found by the fuzzer's search but by its invariant (`check_conversion` in
/// `fuzz/src/lib.rs`), on this input written by hand while writing it.
#[test]
fn parameters_share_the_tool_byte_budget() {
    let fields: serde_json::Map<String, Value> = (0..80)
        .map(|i| {
            (
                format!("field_{i:02}"),
                serde_json::json!({"type": "string", "description": "One field of the filter, with a description long enough to weigh"}),
            )
        })
        .collect();
    let parameters: Vec<Value> = (0..4)
        .map(|i| {
            serde_json::json!({"name": format!("filter{i}"), "in": "query", "style": "deepObject",
                "schema": {"$ref": "#/components/schemas/Filter"}})
        })
        .collect();
    let spec = serde_json::json!({
        "openapi": "3.0.3",
        "info": {"title": "Parameters share the budget", "version": "1"},
        "servers": [{"url": "https://api.example.com"}],
        "components": {"schemas": {"Filter": {"type": "object", "properties": fields}}},
        "paths": {"/search": {"get": {
            "operationId": "searchThings",
            "summary": "Search the things of the account",
            "parameters": parameters,
            "responses": {"200": {"description": "ok"}},
        }}},
    });
    let location = SpecLocation::Bytes {
        name: "budget".to_string(),
        bytes: serde_json::to_vec(&spec).unwrap(),
    };
    let spec = source::load(&location, &LoadOptions::default()).unwrap();
    let budget = actionsync::convert::schema::SchemaBudget::default();
    let conversion = convert::convert(
        &spec,
        &ConvertOptions {
            source: "budget".to_string(),
            ..ConvertOptions::default()
        },
    );
    let action = &conversion.actions[0];
    assert_eq!(action.spec.parameters.len(), 4, "no parameter is dropped");
    let bytes: usize = schemas(&conversion)
        .iter()
        .map(|(_, s)| serde_json::to_vec(s).unwrap().len())
        .sum();
    assert!(
        bytes <= budget.max_bytes,
        "{bytes} bytes of schemas, over the {} budget",
        budget.max_bytes
    );
    // Each parameter still says what was cut, as the README's table says.
    let cuts = conversion
        .diagnostics
        .iter()
        .filter(|d| d.code == "schema-cut")
        .count();
    assert!(cuts >= 2, "{:?}", conversion.diagnostics);
}
