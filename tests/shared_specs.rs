//! Every real spec under `../shared/specs` (written by others) converts without a
//! panic, accounts for every operation (`actions + skipped = operations`, checked
//! against an independent count and the MANIFEST's), and yields only valid actions;
//! a JSON spec converts the same whether its path items are kept as text until
//! converted (as `source::load` reads one document) or parsed with the rest.
//! Every schema they produce is finite, ref-free, within the default schema budget
//! and valid JSON Schema 2020-12. The folder is `ACTIONSYNC_SHARED_SPECS`, else
//! `../shared/specs`; the tests skip, saying so, where it is absent.

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use actionsync::convert::{self, ConvertOptions};
use actionsync::diagnostic::Severity;
use actionsync::source::{self, LoadOptions, SpecLocation};
use actionsync::tools::{self, ToolFormat};
use serde_json::Value;

fn shared_specs() -> Option<PathBuf> {
    let dir = std::env::var_os("ACTIONSYNC_SHARED_SPECS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/specs"));
    if dir.is_dir() {
        Some(dir)
    } else {
        // Straight to the stderr handle: cargo test captures `eprintln!` of a
        // passing test, and a skip must be seen.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: {} is absent (set ACTIONSYNC_SHARED_SPECS); the tests over the shared specs did not run",
            dir.display()
        );
        None
    }
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("json" | "yaml" | "yml")
        ) {
            out.push(path);
        }
    }
}

/// Root documents: files whose top level has `openapi` or `swagger` (the rest are
/// fragments that specs `$ref`). Decided with a cheap text look at the first lines
/// for YAML, and a parse for JSON.
fn is_root_document(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    if path.extension().is_some_and(|e| e == "json") {
        return serde_json::from_str::<Value>(&text)
            .map(|v| v.get("openapi").is_some() || v.get("swagger").is_some())
            .unwrap_or(false);
    }
    text.lines().any(|l| {
        l.starts_with("openapi:")
            || l.starts_with("swagger:")
            || l.starts_with("\"openapi\":")
            || l.starts_with("\"swagger\":")
    })
}

/// `ops` per file from MANIFEST.md's tables.
fn manifest_ops(dir: &Path) -> BTreeMap<String, usize> {
    let text = std::fs::read_to_string(dir.join("MANIFEST.md")).unwrap_or_default();
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 9 || !cells[1].starts_with('`') {
            continue;
        }
        let file = cells[1].trim_matches('`').to_string();
        let ops = cells[7]
            .split_whitespace()
            .next()
            .unwrap_or("")
            .replace(',', "");
        if let Ok(n) = ops.parse() {
            out.insert(file, n);
        }
    }
    out
}

/// Operations counted without the converter: path items (following a path item's
/// `$ref` into another file by hand) × the eight HTTP methods.
fn count_operations(path: &Path) -> usize {
    let read = |p: &Path| -> Option<Value> {
        let bytes = std::fs::read(p).ok()?;
        actionsync::spec::parse_document(&bytes, usize::MAX)
            .ok()
            .map(|(v, _)| v)
    };
    let Some(root) = read(path) else { return 0 };
    let methods = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];
    let Some(paths) = root.get("paths").and_then(Value::as_object) else {
        return 0;
    };
    paths
        .iter()
        .filter(|(p, _)| !p.starts_with("x-"))
        .map(|(_, item)| {
            let item = match item.get("$ref").and_then(Value::as_str) {
                Some(r) if !r.starts_with('#') => {
                    let (file, fragment) = r.split_once('#').unwrap_or((r, ""));
                    let doc = read(&path.parent().unwrap().join(file)).unwrap_or(Value::Null);
                    let pointer = fragment.replace("~1", "/").replace("~0", "~");
                    doc.pointer(&pointer).cloned().unwrap_or(Value::Null)
                }
                Some(r) => root
                    .pointer(&r[1..].replace("%7B", "{").replace("%7D", "}"))
                    .cloned()
                    .unwrap_or(Value::Null),
                None => item.clone(),
            };
            item.as_object()
                .map(|m| m.keys().filter(|k| methods.contains(&k.as_str())).count())
                .unwrap_or(0)
        })
        .sum()
}

/// A one-document JSON spec read the way `source::load` reads specs that
/// reference other documents: its path items parsed with the rest, not kept as
/// text. `None` for the others (read that way by `source::load` already).
fn read_whole(path: &Path) -> Option<actionsync::spec::Spec> {
    use actionsync::spec::{self, Document, Spec, Syntax};
    let bytes = std::fs::read(path).ok()?;
    if path.extension()? != "json" || spec::may_reference_other_documents(&bytes) {
        return None;
    }
    let (value, _) =
        spec::parse_document_as(&bytes, spec::DEFAULT_MAX_BYTES, Some(Syntax::Json)).ok()?;
    let url = url::Url::from_file_path(std::fs::canonicalize(path).ok()?).ok()?;
    let documents = [(url.clone(), Document::Loaded(value))]
        .into_iter()
        .collect();
    Spec::new(url, documents, None).ok()
}

#[test]
fn every_shared_spec_converts_and_accounts_for_every_operation() {
    let Some(dir) = shared_specs() else { return };
    let manifest = manifest_ops(&dir);
    let mut all = Vec::new();
    files(&dir, &mut all);
    let roots: Vec<PathBuf> = all.into_iter().filter(|p| is_root_document(p)).collect();
    assert!(
        roots.len() >= 100,
        "expected the shared corpus, found {} specs",
        roots.len()
    );

    let mut failures = Vec::new();
    let mut checked_against_manifest = 0;
    for path in &roots {
        let rel = path
            .strip_prefix(&dir)
            .unwrap()
            .to_string_lossy()
            .to_string();
        let spec = match source::load(&SpecLocation::File(path.clone()), &LoadOptions::default()) {
            Ok(spec) => spec,
            Err(e) => {
                failures.push(format!("{rel}: could not be read: {e}"));
                continue;
            }
        };
        let options = ConvertOptions {
            source: "shared".to_string(),
            // Many real specs use http:// or relative servers; a base URL lets every
            // operation through to the checks below.
            base_url: Some(url::Url::parse("https://api.example.com").unwrap()),
            ..ConvertOptions::default()
        };
        let conversion = convert::convert(&spec, &options);
        if let Some(whole) = read_whole(path)
            && serde_json::to_string(&convert::convert(&whole, &options)).ok()
                != serde_json::to_string(&conversion).ok()
        {
            failures.push(format!(
                "{rel}: converts differently when its path items are parsed with the rest"
            ));
        }
        let expected = count_operations(path);
        if conversion.operation_count() != expected {
            failures.push(format!(
                "{rel}: {} actions + {} skipped != {expected} operations",
                conversion.actions.len(),
                conversion.skipped.len()
            ));
        }
        if let Some(&listed) = manifest.get(&rel) {
            checked_against_manifest += 1;
            if conversion.operation_count() != listed {
                failures.push(format!(
                    "{rel}: {} operations, MANIFEST says {listed}",
                    conversion.operation_count()
                ));
            }
        }
        let mut names = HashSet::new();
        for action in conversion.actions.iter().map(|a| &a.spec) {
            if !actionsync::convert::naming::is_valid_name(&action.name) {
                failures.push(format!("{rel}: invalid name {:?}", action.name));
            }
            if !names.insert(action.name.clone()) {
                failures.push(format!("{rel}: duplicate name {:?}", action.name));
            }
            if action.description.chars().count() < 20 {
                failures.push(format!("{rel}: short description for {}", action.name));
            }
            if !action.url.starts_with("https://") {
                failures.push(format!("{rel}: non-https url {}", action.url));
            }
            if action.url.contains("//") && action.url["https://".len()..].contains("//") {
                failures.push(format!("{rel}: double slash in {}", action.url));
            }
        }
        for d in &conversion.diagnostics {
            if d.severity == Severity::Error
                && (d.code == "unresolved-path-item" || d.message.contains("was not loaded"))
            {
                failures.push(format!("{rel}: {}: {}", d.code, d.message));
            }
        }
    }
    assert!(
        checked_against_manifest >= 40,
        "only {checked_against_manifest} specs matched MANIFEST rows"
    );
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn multi_file_specs_resolve_fully() {
    let Some(dir) = shared_specs() else { return };
    // The separate petstore keeps `Error.yaml` in a sibling folder of the spec's:
    // following it needs --allow-outside-refs.
    for (rel, operations, allow_outside_refs) in [
        (
            "multi-file/digitalocean/specification/DigitalOcean-public.v2.yaml",
            659,
            false,
        ),
        ("multi-file/openziti-edge-api/client.yml", 51, false),
        ("multi-file/openziti-edge-api/management.yml", 181, false),
        (
            "petstore/petstore-separate-swagger2-yaml/spec/swagger.yaml",
            4,
            true,
        ),
    ] {
        let load = LoadOptions {
            allow_outside_refs,
            ..LoadOptions::default()
        };
        let spec = source::load(&SpecLocation::File(dir.join(rel)), &load)
            .unwrap_or_else(|e| panic!("{rel}: {e}"));
        // A document may fail only because the snapshot lacks it (DigitalOcean's
        // references a few files it does not ship, in responses and examples).
        for (url, reason) in spec.failed_documents() {
            let path = url.to_file_path().unwrap();
            assert!(
                !path.exists() && reason == "no such file",
                "{rel}: {} failed to load: {reason}",
                path.display()
            );
        }
        let options = ConvertOptions {
            source: "multi".to_string(),
            base_url: Some(url::Url::parse("https://api.example.com").unwrap()),
            ..ConvertOptions::default()
        };
        let conversion = convert::convert(&spec, &options);
        assert_eq!(conversion.operation_count(), operations, "{rel}");
        let unresolved: Vec<_> = conversion
            .diagnostics
            .iter()
            .filter(|d| d.code.starts_with("unresolved"))
            .map(|d| {
                format!(
                    "{} {}: {}",
                    d.key.as_deref().unwrap_or("-"),
                    d.pointer,
                    d.message
                )
            })
            .collect();
        assert!(unresolved.is_empty(), "{rel}:\n{}", unresolved.join("\n"));
        assert!(
            conversion.actions.len() as f64 >= operations as f64 * 0.9,
            "{rel}: only {} of {operations} operations converted; skipped: {:?}",
            conversion.actions.len(),
            conversion.skipped.iter().take(5).collect::<Vec<_>>()
        );
    }
}

/// How deep a schema nests, `level` being its root's (the tool's input schema is 1).
fn nesting(schema: &Value, level: usize) -> usize {
    const ONE: [&str; 11] = [
        "items",
        "additionalProperties",
        "unevaluatedProperties",
        "not",
        "contains",
        "propertyNames",
        "if",
        "then",
        "else",
        "unevaluatedItems",
        "contentSchema",
    ];
    let Value::Object(map) = schema else {
        return level;
    };
    let mut deepest = level;
    for (key, value) in map {
        let children: Vec<&Value> = match (key.as_str(), value) {
            ("properties" | "patternProperties" | "dependentSchemas", Value::Object(m)) => {
                m.values().collect()
            }
            ("allOf" | "anyOf" | "oneOf" | "prefixItems", Value::Array(items)) => {
                items.iter().collect()
            }
            (k, v) if ONE.contains(&k) => vec![v],
            _ => continue,
        };
        for child in children {
            deepest = deepest.max(nesting(child, level + 1));
        }
    }
    deepest
}

/// The first of `wanted` used as a keyword anywhere in a schema (property names and
/// literal data such as `enum` or `examples` are not keywords).
fn has_key(schema: &Value, wanted: &[&str]) -> Option<String> {
    let Value::Object(map) = schema else {
        return None;
    };
    map.iter().find_map(|(k, v)| {
        if wanted.contains(&k.as_str()) {
            return Some(k.clone());
        }
        match (k.as_str(), v) {
            ("properties" | "patternProperties" | "dependentSchemas", Value::Object(m)) => {
                m.values().find_map(|child| has_key(child, wanted))
            }
            ("allOf" | "anyOf" | "oneOf" | "prefixItems", Value::Array(items)) => {
                items.iter().find_map(|child| has_key(child, wanted))
            }
            ("enum" | "const" | "examples" | "default", _) => None,
            (_, Value::Object(_)) => has_key(v, wanted),
            _ => None,
        }
    })
}

#[test]
fn every_schema_is_bounded_ref_free_and_valid_json_schema_2020_12() {
    let Some(dir) = shared_specs() else { return };
    let mut all = Vec::new();
    files(&dir, &mut all);
    let roots: Vec<PathBuf> = all.into_iter().filter(|p| is_root_document(p)).collect();
    let budget = actionsync::convert::schema::SchemaBudget::default();
    let mut failures = Vec::new();
    let mut schemas = 0;
    for path in &roots {
        let rel = path.strip_prefix(&dir).unwrap().display().to_string();
        let load = LoadOptions {
            allow_outside_refs: true,
            ..LoadOptions::default()
        };
        let Ok(spec) = source::load(&SpecLocation::File(path.clone()), &load) else {
            continue;
        };
        let options = ConvertOptions {
            source: "shared".to_string(),
            base_url: Some(url::Url::parse("https://api.example.com").unwrap()),
            ..ConvertOptions::default()
        };
        let conversion = convert::convert(&spec, &options);
        for action in &conversion.actions {
            let mut each = |what: String, schema: &Value| {
                schemas += 1;
                if let Some(key) = has_key(schema, &["$ref", "$defs", "definitions"]) {
                    failures.push(format!("{rel} {what}: has `{key}`"));
                }
                if nesting(schema, 2) > budget.max_depth {
                    failures.push(format!("{rel} {what}: nests {} levels", nesting(schema, 2)));
                }
                if let Err(e) = jsonschema::draft202012::meta::validate(schema) {
                    failures.push(format!("{rel} {what}: not valid 2020-12: {e}"));
                }
            };
            let mut bytes = 0;
            for p in &action.spec.parameters {
                bytes += serde_json::to_vec(&p.schema).unwrap().len();
                each(
                    format!("{} parameter {}", action.spec.name, p.key),
                    &p.schema,
                );
            }
            if let Some(body) = &action.spec.body {
                bytes += serde_json::to_vec(&body.schema).unwrap().len();
                each(format!("{} body", action.spec.name), &body.schema);
            }
            if bytes > budget.max_bytes {
                failures.push(format!(
                    "{rel} {}: {bytes} bytes of schemas, over the {} budget",
                    action.spec.name, budget.max_bytes
                ));
            }
            // The tool the plan weighs and `/v1/tools` serves, written from the
            // action's fields, is the tool built as a value and written.
            let stored = tools::preview(action);
            if tools::tool_text(&stored, ToolFormat::Openai)
                != tools::text(&tools::tool(&stored, ToolFormat::Openai))
            {
                failures.push(format!(
                    "{rel} {}: the tool's text differs",
                    action.spec.name
                ));
            }
        }
    }
    assert!(schemas > 10_000, "only {schemas} schemas checked");
    let count = failures.len();
    failures.truncate(40);
    assert!(
        failures.is_empty(),
        "{count} problems, first ones:\n{}",
        failures.join("\n")
    );
}
