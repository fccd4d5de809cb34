//! What the fuzz targets share: one spec's bytes through parse → convert → plan,
//! as `actionsync convert` reads them and as a reconcile plans them, with the
//! invariants a user would notice checked on the way.
//!
//! Everything here goes through the library's public API and is pure but for
//! one thing: a `$ref` to another file is followed the way `convert` follows it,
//! under a folder that does not exist, so it fails like a missing file.

pub mod doc;

use std::collections::{BTreeMap, HashSet};

use actionsync::action::ActionState;
use actionsync::convert::schema::SchemaBudget;
use actionsync::convert::{self, Conversion, ConvertOptions, Selection};
use actionsync::plan::{self, ChangeKind, CurrentAction, Plan, PlanInput, PlanOptions, StoredSpec};
use actionsync::source::{self, LoadError, LoadOptions, SpecLocation};
use serde_json::Value;
use url::Url;

/// Largest spec a fuzz input holds (the targets' `-max_len`).
pub const MAX_LEN: usize = 256 * 1024;

/// How the spec reaches actionsync: a file named with an extension (which
/// claims its syntax), a file without one, or bytes (standard input, a push).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Name {
    /// `spec.json`
    Json,
    /// `spec.yaml`
    Yaml,
    /// `spec`
    Bare,
    /// standard input / a pushed spec
    Pushed,
}

impl Name {
    /// From a fuzzer-chosen byte.
    pub fn from_byte(b: u8) -> Name {
        match b % 4 {
            0 => Name::Json,
            1 => Name::Yaml,
            2 => Name::Bare,
            _ => Name::Pushed,
        }
    }
}

/// What a conversion is asked for, from fuzzer-chosen bits.
#[derive(Debug, Clone, Copy, Default)]
pub struct Flags {
    /// `--base-url https://api.example.com/v1/`.
    pub base_url: bool,
    /// `--allow-http`.
    pub allow_http: bool,
    /// The tightest schema budget the CLI accepts, so cuts happen everywhere.
    pub tight_budget: bool,
    /// `--include-method get --exclude-path /admin/** --exclude-tag internal`.
    pub filters: bool,
}

impl Flags {
    /// From a fuzzer-chosen byte.
    pub fn from_byte(b: u8) -> Flags {
        Flags {
            base_url: b & 1 != 0,
            allow_http: b & 2 != 0,
            tight_budget: b & 4 != 0,
            filters: b & 8 != 0,
        }
    }
}

/// The folder a file-named spec lives in: it does not exist, so a `$ref` to
/// another file fails to read (and one outside it is refused by the policy).
const ROOT: &str = "file:///nonexistent-actionsync-fuzz/";

/// Loads `bytes` as `convert` would, converts, and plans. Panics (the finding)
/// when an invariant is broken; a spec that does not load is fine, if the
/// error names the spec.
pub fn pipeline(name: Name, flags: Flags, bytes: &[u8]) {
    if let Some(conversion) = load_and_convert(name, flags, bytes) {
        check_plans(&conversion);
    }
}

/// Loads and converts `bytes` as `convert` would; `None` if the spec does not
/// load (after checking that the error names it).
pub fn load_and_convert(name: Name, flags: Flags, bytes: &[u8]) -> Option<Conversion> {
    let location = match name {
        Name::Pushed => SpecLocation::Bytes {
            name: "stdin".to_string(),
            bytes: bytes.to_vec(),
        },
        other => {
            let file = match other {
                Name::Json => "spec.json",
                Name::Yaml => "spec.yaml",
                _ => "spec",
            };
            let url = Url::parse(ROOT).and_then(|root| root.join(file)).ok()?;
            SpecLocation::BytesAt {
                url,
                bytes: bytes.to_vec(),
            }
        }
    };
    let load = LoadOptions {
        http_timeout: std::time::Duration::from_secs(1),
        ..LoadOptions::default()
    };
    let spec = match source::load(&location, &load) {
        Ok(spec) => spec,
        Err(e) => {
            check_load_error(&location, &e);
            return None;
        }
    };
    let options = convert_options(&location, flags);
    let conversion = convert::convert(&spec, &options);
    check_conversion(&conversion, &options.budget);
    Some(conversion)
}

/// A catalogue's life: `first` is converted, planned and applied; a person
/// edits the actions (`edits`, a byte each: pin the description, set a magic
/// field, pin a name); `second` is planned
/// against that and applied; then `first` again (restores, renames back). After
/// each apply, planning the same conversion again must change nothing.
pub fn evolve(first: &Conversion, second: &Conversion, edits: &[u8]) {
    let plan = plan_against(first, &[]);
    render(&plan);
    let mut catalogue = apply(&[], &plan);
    check_settled(first, &catalogue);
    for (action, edit) in catalogue.iter_mut().zip(edits) {
        if edit & 1 != 0 {
            action.hand.pins.insert(
                "description".to_string(),
                serde_json::Value::String("Pinned by a curator for the fuzzer".to_string()),
            );
        }
        if edit & 2 != 0 {
            let field = match &action.spec {
                StoredSpec::Decoded(spec) => spec
                    .parameters
                    .first()
                    .map_or("email".to_string(), |p| p.key.clone()),
                StoredSpec::SameAsDraft => "email".to_string(),
            };
            action
                .hand
                .magic_fields
                .insert(field, "contact.email".to_string());
        }
        if edit & 4 != 0 {
            let name = format!("pinned_name_{}", action.id);
            action
                .hand
                .pins
                .insert("name".to_string(), serde_json::Value::String(name.clone()));
            action.name = name;
        }
    }
    for conversion in [second, first] {
        let plan = plan_against(conversion, &catalogue);
        render(&plan);
        catalogue = apply(&catalogue, &plan);
        check_settled(conversion, &catalogue);
    }
}

fn convert_options(location: &SpecLocation, flags: Flags) -> ConvertOptions {
    let mut options = ConvertOptions {
        source: location.default_source_name(),
        base_url: if flags.base_url {
            Url::parse("https://api.example.com/v1/").ok()
        } else {
            None
        },
        allow_http: flags.allow_http,
        selection: Selection::default(),
        budget: SchemaBudget::default(),
    };
    if flags.tight_budget {
        options.budget = SchemaBudget {
            max_depth: 2,
            max_bytes: 256,
            max_properties: 1,
            max_enum: 1,
            max_union: 1,
        };
    }
    if flags.filters {
        options.selection.include_methods = vec!["get".to_string(), "POST".to_string()];
        options.selection.exclude_paths = vec!["/admin/**".to_string(), "/*/{id}".to_string()];
        options.selection.exclude_tags = vec!["internal".to_string()];
    }
    options
}

/// A spec that does not load says which spec, and why.
fn check_load_error(location: &SpecLocation, e: &LoadError) {
    let message = e.to_string();
    let named = location.display();
    assert!(
        message.starts_with(&format!("cannot read {named}")),
        "a load error that does not name the spec: {message}"
    );
}

/// What `convert` prints holds together, and every tool schema is what the
/// README promises: finite, self-contained (no `$ref`, no `$defs`), valid JSON
/// Schema 2020-12, within the budget's depth and bytes.
fn check_conversion(conversion: &Conversion, budget: &SchemaBudget) {
    for action in &conversion.actions {
        let mut bytes = 0;
        let schemas = action
            .spec
            .parameters
            .iter()
            .map(|p| (format!("parameter `{}`", p.key), p.schema.as_ref()))
            .chain(
                action
                    .spec
                    .body
                    .iter()
                    .map(|b| ("the body".to_string(), b.schema.as_ref())),
            );
        for (what, schema) in schemas {
            bytes += serde_json::to_vec(schema).map_or(0, |v| v.len());
            let name = &action.spec.name;
            if let Some(key) = has_key(schema, &["$ref", "$defs", "definitions"]) {
                panic!("{name}: {what} has `{key}`: {schema}");
            }
            let depth = nesting(schema, 2);
            assert!(
                depth <= budget.max_depth,
                "{name}: {what} nests {depth} levels, over {}: {schema}",
                budget.max_depth
            );
            if let Err(e) = jsonschema::draft202012::meta::validate(schema) {
                panic!("{name}: {what} is not valid JSON Schema 2020-12 ({e}): {schema}");
            }
        }
        // Under the default budget only: cut to the bone, each parameter still
        // keeps its type and a description of the cut, and a tool with many
        // parameters needs more than the tightest budget (256 B) for those
        // alone (RELIABILITY.md, "Fuzzing parse → convert → plan").
        assert!(
            bytes <= budget.max_bytes || *budget != SchemaBudget::default(),
            "{}: {bytes} bytes of schemas, over the {} budget",
            action.spec.name,
            budget.max_bytes
        );
    }
    // The document `convert` prints.
    let printed = serde_json::to_vec(conversion);
    assert!(
        printed.is_ok(),
        "the conversion does not print: {printed:?}"
    );
    // Every operation once: as an action or as skipped, each key once.
    let mut keys = HashSet::new();
    for key in conversion
        .actions
        .iter()
        .map(|a| &a.key)
        .chain(conversion.skipped.iter().map(|s| &s.key))
    {
        assert!(keys.insert(key.as_str()), "key `{key}` appears twice");
    }
    // Names are unique within the spec.
    let mut names = HashSet::new();
    for action in &conversion.actions {
        assert!(
            names.insert(action.spec.name.as_str()),
            "two actions are named `{}`",
            action.spec.name
        );
        assert!(
            plan::spec_digest(&action.spec).is_some(),
            "no digest for `{}`",
            action.key
        );
    }
}

/// Plans the conversion against an empty catalogue, applies that plan to a
/// catalogue held in memory as the store would, and plans the same conversion
/// again: that plan must be empty.
fn check_plans(conversion: &Conversion) {
    let empty = plan_against(conversion, &[]);
    render(&empty);
    let created = empty
        .changes
        .iter()
        .filter(|c| c.kind == ChangeKind::Create)
        .count();
    assert_eq!(
        created,
        empty.changes.len(),
        "a plan against an empty catalogue does more than create"
    );
    assert_eq!(
        created + empty.held_back.len(),
        conversion.actions.len(),
        "every action is created or held back"
    );
    let catalogue = apply(&[], &empty);
    check_settled(conversion, &catalogue);
}

/// DESIGN.md: "Applying a plan and planning the same conversion again gives an
/// empty plan", whether the stored fields are read or vouched for by their
/// digest (as a reconcile reads the catalogue).
pub fn check_settled(conversion: &Conversion, catalogue: &[CurrentAction]) {
    let drafts: std::collections::HashMap<&str, &actionsync::action::SpecFields> = conversion
        .actions
        .iter()
        .map(|d| (d.key.as_str(), &d.spec))
        .collect();
    for vouched in [false, true] {
        let current: Vec<CurrentAction> = catalogue
            .iter()
            .map(|a| {
                let same = match (&a.spec, drafts.get(a.key.as_str())) {
                    (StoredSpec::Decoded(stored), Some(draft)) => {
                        plan::spec_digest(stored) == plan::spec_digest(draft)
                    }
                    _ => false,
                };
                CurrentAction {
                    spec: if vouched && same {
                        StoredSpec::SameAsDraft
                    } else {
                        a.spec.clone()
                    },
                    ..a.clone()
                }
            })
            .collect();
        let again = plan_against(conversion, &current);
        render(&again);
        assert!(
            again.changes.is_empty(),
            "planning the applied conversion again changes {:?} (digest vouched: {vouched})",
            again
                .changes
                .iter()
                .map(|c| (
                    c.kind,
                    &c.key,
                    c.fields.iter().map(|f| &f.field).collect::<Vec<_>>()
                ))
                .collect::<Vec<_>>()
        );
    }
}

/// Plans `conversion` against `current`, as a reconcile of its source would.
pub fn plan_against(conversion: &Conversion, current: &[CurrentAction]) -> Plan {
    let prefix = plan::default_name_prefix(&conversion.source);
    plan::plan(PlanInput {
        source: &conversion.source,
        spec_hash: "fuzz",
        base_revision: 0,
        current,
        others: &[],
        conversion,
        options: PlanOptions::default(),
        name_prefix: &prefix,
    })
}

/// What the CLI and the API show of a plan.
pub fn render(plan: &Plan) {
    let json = serde_json::to_vec(plan);
    assert!(json.is_ok(), "the plan does not print: {json:?}");
    let _ = plan::text(plan);
    let _ = plan::markdown(plan);
}

/// A catalogue after `plan` is applied to `current`, as the store applies it:
/// removals, then updates and restores, then creations with new ids.
pub fn apply(current: &[CurrentAction], plan: &Plan) -> Vec<CurrentAction> {
    let mut out: BTreeMap<i64, CurrentAction> = current.iter().map(|a| (a.id, a.clone())).collect();
    let mut next = out.keys().next_back().copied().unwrap_or(0) + 1;
    for change in &plan.changes {
        match change.kind {
            ChangeKind::Archive | ChangeKind::Delete => {
                let Some(id) = change.id else { continue };
                if change.kind == ChangeKind::Delete {
                    out.remove(&id);
                } else if let Some(a) = out.get_mut(&id) {
                    a.state = ActionState::Archived;
                }
            }
            ChangeKind::Update | ChangeKind::Restore => {
                let (Some(id), Some(spec)) = (change.id, &change.spec) else {
                    continue;
                };
                if let Some(a) = out.get_mut(&id) {
                    a.key = change.key.clone();
                    // A pinned name wins (the store's `update_action`).
                    a.name = a
                        .hand
                        .pins
                        .get("name")
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or(&change.name)
                        .to_string();
                    a.state = ActionState::Active;
                    a.spec = StoredSpec::Decoded(Box::new(spec.clone()));
                }
            }
            ChangeKind::Create => {
                let (Some(spec), Some(hand)) = (&change.spec, &change.hand) else {
                    continue;
                };
                out.insert(
                    next,
                    CurrentAction {
                        id: next,
                        key: change.key.clone(),
                        name: change.name.clone(),
                        state: ActionState::Active,
                        hand: hand.clone(),
                        spec: StoredSpec::Decoded(Box::new(spec.clone())),
                    },
                );
                next += 1;
            }
        }
    }
    // What the store's constraints refuse, failing the apply: a key twice in
    // the source, a name twice among active actions.
    let mut keys = HashSet::new();
    let mut names = HashSet::new();
    for a in out.values() {
        assert!(
            keys.insert(a.key.as_str()),
            "the plan leaves key `{}` twice",
            a.key
        );
        if a.state == ActionState::Active {
            assert!(
                names.insert(a.name.as_str()),
                "the plan leaves two active actions named `{}`",
                a.name
            );
        }
    }
    out.into_values().collect()
}

/// How deep a schema nests, `level` being its root's (the tool's input schema is
/// 1): as `tests/shared_specs.rs` counts it.
fn nesting(schema: &Value, level: usize) -> usize {
    let Value::Object(map) = schema else {
        return level;
    };
    let mut deepest = level;
    for (key, value) in map {
        for child in subschemas(key, value) {
            deepest = deepest.max(nesting(child, level + 1));
        }
    }
    deepest
}

/// The subschemas under one keyword of a schema (none for literal data such as
/// `enum`, `const`, `default`, `examples`, or for annotations).
fn subschemas<'v>(key: &str, value: &'v Value) -> Vec<&'v Value> {
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
    match (key, value) {
        ("properties" | "patternProperties" | "dependentSchemas", Value::Object(m)) => {
            m.values().collect()
        }
        ("allOf" | "anyOf" | "oneOf" | "prefixItems", Value::Array(items)) => {
            items.iter().collect()
        }
        (k, v) if ONE.contains(&k) => vec![v],
        _ => Vec::new(),
    }
}

/// The first of `wanted` used as a keyword anywhere in a schema (a property
/// named `$ref` is not a keyword).
fn has_key(schema: &Value, wanted: &[&str]) -> Option<String> {
    let Value::Object(map) = schema else {
        return None;
    };
    map.iter().find_map(|(k, v)| {
        if wanted.contains(&k.as_str()) {
            return Some(k.clone());
        }
        subschemas(k, v)
            .into_iter()
            .find_map(|child| has_key(child, wanted))
    })
}
