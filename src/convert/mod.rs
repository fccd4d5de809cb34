//! Operations → actions. Pure: takes a loaded [`Spec`], returns a [`Conversion`].
//!
//! Every operation in `paths` ends up either as an action or as a skipped entry
//! with its reason, so `actions.len() + skipped.len()` is the number of operations
//! (path items × HTTP methods). One operation that cannot be converted never fails
//! the others: it becomes a skipped entry plus an error diagnostic. The one
//! exception is a path item that cannot be read at all (an unresolvable `$ref`, or
//! not a mapping): its operations cannot be known, so it is one error diagnostic.

pub mod auth;
pub mod naming;
mod operation;
pub mod schema;
pub mod select;
pub mod server;

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use crate::action::{ActionDraft, Method, SkipKind, Skipped};
use crate::diagnostic::{Diagnostic, Severity};
use crate::spec::{Spec, SpecVersion, pointer};
pub use select::Selection;

/// The keys of a path item that are operations, in the order OpenAPI lists them.
pub const HTTP_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Whether `name` may name a source: 1 to 64 of `A-Z a-z 0-9 _ . -`, starting with
/// a letter or a digit (it appears in URLs, file names and logs).
pub fn is_valid_source_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// What the caller decided about a conversion.
#[derive(Debug, Clone, Default)]
pub struct ConvertOptions {
    /// The source name every action belongs to.
    pub source: String,
    /// Replaces the root server URL; relative server URLs resolve against it.
    pub base_url: Option<Url>,
    /// Accept `http://` servers (for local tests; the platform calls HTTPS only).
    pub allow_http: bool,
    /// Which operations to keep.
    pub selection: Selection,
}

/// What the spec says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecInfo {
    /// `info.title`.
    pub title: String,
    /// `info.version`.
    pub version: String,
    /// The `openapi` (or `swagger`) field.
    pub openapi: String,
}

/// The result of converting one spec: the document `actionsync convert` prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversion {
    /// Source name.
    pub source: String,
    /// Title, version and dialect of the spec.
    pub spec: SpecInfo,
    /// One per converted operation, in spec order.
    pub actions: Vec<ActionDraft>,
    /// One per operation that did not become an action.
    pub skipped: Vec<Skipped>,
    /// Everything worth saying, most severe first within each operation.
    pub diagnostics: Vec<Diagnostic>,
}

impl Conversion {
    /// Operations in the spec: converted plus skipped.
    pub fn operation_count(&self) -> usize {
        self.actions.len() + self.skipped.len()
    }

    /// Diagnostics of one severity.
    pub fn count(&self, severity: Severity) -> usize {
        crate::diagnostic::count(&self.diagnostics, severity)
    }
}

/// Converts every operation of `spec`.
pub fn convert(spec: &Spec, options: &ConvertOptions) -> Conversion {
    let root = spec.root();
    let text = |v: Option<&Value>| match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    let info = root.get("info");
    let mut conversion = Conversion {
        source: options.source.clone(),
        spec: SpecInfo {
            title: text(info.and_then(|i| i.get("title"))),
            version: text(info.and_then(|i| i.get("version"))),
            openapi: spec.version_string().to_string(),
        },
        actions: Vec::new(),
        skipped: Vec::new(),
        diagnostics: Vec::new(),
    };
    let context = operation::SpecContext::new(spec, options, &mut conversion.diagnostics);
    let mut keys: HashSet<String> = HashSet::new();
    let root_url = spec.root_url();
    // Failures that come from the root (its servers), said once for all operations.
    let mut root_failures: Vec<(operation::Failure, usize)> = Vec::new();
    let mut filter_use = select::FilterUse::default();

    let paths = match root.get("paths") {
        Some(Value::Object(paths)) => paths,
        Some(_) => {
            conversion.diagnostics.push(Diagnostic::new(
                Severity::Error,
                "bad-paths",
                None,
                "#/paths",
                "`paths` is not a mapping of path → path item, so no operation could be read",
            ));
            return conversion;
        }
        None => {
            if spec.version() == SpecVersion::OpenApi31 && root.get("webhooks").is_some() {
                conversion.diagnostics.push(Diagnostic::new(
                    Severity::Info,
                    "webhooks-only",
                    None,
                    "#/webhooks",
                    "the spec describes only webhooks (calls the API makes), so it has no operations to turn into actions",
                ));
            } else {
                conversion.diagnostics.push(Diagnostic::new(
                    Severity::Warning,
                    "no-paths",
                    None,
                    "#",
                    "the spec has no `paths`, so it has no operations",
                ));
            }
            return conversion;
        }
    };

    if paths.keys().all(|p| p.starts_with("x-")) {
        conversion.diagnostics.push(Diagnostic::new(
            Severity::Warning,
            "no-operations",
            None,
            "#/paths",
            "the spec has no operations, so it makes no actions",
        ));
    }
    for (path, item) in paths {
        if path.starts_with("x-") {
            continue;
        }
        let item_pointer = pointer::fragment(["paths", path.as_str()]);
        let item = match spec.deref(root_url, item) {
            Ok(resolved) => resolved,
            Err(e) => {
                conversion.diagnostics.push(Diagnostic::new(
                    Severity::Error,
                    "unresolved-path-item",
                    None,
                    item_pointer,
                    format!("the operations of {path} could not be read: {e}"),
                ));
                continue;
            }
        };
        let Some(item_map) = item.value.as_object() else {
            conversion.diagnostics.push(Diagnostic::new(
                Severity::Error,
                "bad-path-item",
                None,
                item_pointer,
                format!(
                    "the path item for {path} is not a mapping, so its operations could not be read"
                ),
            ));
            continue;
        };
        for (method_key, op) in item_map {
            if !HTTP_METHODS.contains(&method_key.as_str()) {
                continue;
            }
            let op_pointer = format!("{item_pointer}/{method_key}");
            let operation_id = op
                .get("operationId")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty());
            let fallback_key = format!("{} {path}", method_key.to_ascii_uppercase());
            // A duplicated operationId names neither the key nor the action: a
            // DELETE must not be named after the GET that owns the id.
            let mut naming_id = operation_id;
            let key = match operation_id {
                Some(id) if !keys.contains(id) => id.to_string(),
                Some(id) => {
                    naming_id = None;
                    conversion.diagnostics.push(Diagnostic::new(
                        Severity::Warning,
                        "duplicate-operation-id",
                        Some(&fallback_key),
                        format!("{op_pointer}/operationId"),
                        format!(
                            "operationId `{id}` is used by more than one operation; this one is keyed `{fallback_key}` instead. Give each operation its own operationId"
                        ),
                    ));
                    fallback_key.clone()
                }
                None => fallback_key.clone(),
            };
            keys.insert(key.clone());
            let skip = |kind: SkipKind, reason: String| Skipped {
                key: key.clone(),
                method: method_key.to_ascii_uppercase(),
                path: path.clone(),
                kind,
                reason,
            };
            let Some(method) = Method::from_openapi(method_key) else {
                conversion.skipped.push(skip(
                    SkipKind::Unsupported,
                    format!(
                        "{} is not a method actions support (GET, POST, PUT, PATCH, DELETE)",
                        method_key.to_ascii_uppercase()
                    ),
                ));
                continue;
            };
            let Some(op_map) = op.as_object() else {
                let reason = "the operation is not a mapping".to_string();
                conversion.diagnostics.push(Diagnostic::new(
                    Severity::Error,
                    "bad-operation",
                    Some(&key),
                    op_pointer,
                    reason.clone(),
                ));
                conversion.skipped.push(skip(SkipKind::Failed, reason));
                continue;
            };
            if op_map.get("x-actionsync-ignore") == Some(&Value::Bool(true)) {
                conversion.skipped.push(skip(
                    SkipKind::Ignored,
                    "x-actionsync-ignore: true".to_string(),
                ));
                continue;
            }
            let tags: Vec<String> = op_map
                .get("tags")
                .and_then(Value::as_array)
                .map(|t| {
                    t.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            let candidate = select::Candidate {
                tags: &tags,
                method: method_key,
                path,
                operation_id,
            };
            if !options.selection.is_empty() {
                filter_use.record(&options.selection, candidate);
            }
            if let Some(reason) = options.selection.rejects(candidate) {
                conversion.skipped.push(skip(SkipKind::Excluded, reason));
                continue;
            }
            let input = operation::OperationInput {
                key: &key,
                operation_id,
                naming_id,
                method,
                method_key,
                path,
                pointer: &op_pointer,
                op: op_map,
                item: item_map,
                base: item.base,
                tags,
            };
            match context.convert(&input, &mut conversion.diagnostics) {
                Ok(action) => conversion.actions.push(action),
                Err(reason) => {
                    conversion
                        .skipped
                        .push(skip(SkipKind::Failed, reason.message.clone()));
                    if reason.is_root_level() {
                        match root_failures
                            .iter_mut()
                            .find(|(f, _)| f.message == reason.message)
                        {
                            Some((_, n)) => *n += 1,
                            None => root_failures.push((reason, 1)),
                        }
                        continue;
                    }
                    conversion.diagnostics.push(Diagnostic::new(
                        Severity::Error,
                        reason.code,
                        Some(&key),
                        reason.pointer.unwrap_or(op_pointer),
                        format!("skipped: {}", reason.message),
                    ));
                }
            }
        }
    }
    for filter in filter_use.unmatched(&options.selection) {
        conversion.diagnostics.push(Diagnostic::new(
            Severity::Warning,
            "unmatched-filter",
            None,
            "#/paths",
            format!("{filter} matched no operation of this spec; is it spelled right?"),
        ));
    }
    for (failure, n) in root_failures {
        let what = if n == 1 {
            "1 operation".to_string()
        } else {
            format!("{n} operations")
        };
        conversion.diagnostics.push(Diagnostic::new(
            Severity::Error,
            failure.code,
            None,
            failure.pointer.unwrap_or_else(|| "#".to_string()),
            format!("{what} skipped: {}", failure.message),
        ));
    }
    make_names_unique(&mut conversion.actions, &mut conversion.diagnostics);
    conversion
}

/// Gives every action a distinct name: the first in spec order keeps it, the
/// others get `_2`, `_3`, … (never a name another action already has).
fn make_names_unique(actions: &mut [ActionDraft], diagnostics: &mut Vec<Diagnostic>) {
    let mut claims: HashMap<String, usize> = HashMap::new();
    for action in actions.iter() {
        *claims.entry(action.spec.name.clone()).or_default() += 1;
    }
    let mut taken: HashSet<String> = claims.keys().cloned().collect();
    let mut seen: HashSet<String> = HashSet::new();
    for action in actions.iter_mut() {
        if seen.insert(action.spec.name.clone()) {
            continue;
        }
        let original = action.spec.name.clone();
        let mut n = 2;
        let renamed = loop {
            let suffix = format!("_{n}");
            let head = &original[..original.len().min(naming::MAX_NAME - suffix.len())];
            let candidate = format!("{}{suffix}", head.trim_end_matches('_'));
            if !taken.contains(&candidate) {
                break candidate;
            }
            n += 1;
        };
        taken.insert(renamed.clone());
        seen.insert(renamed.clone());
        diagnostics.push(Diagnostic::new(
            Severity::Warning,
            "name-collision",
            Some(&action.key),
            action.spec.operation.pointer.clone(),
            format!(
                "the name `{original}` is already taken by another operation in this spec; this one is named `{renamed}`. Give the operations distinct operationIds to choose the names yourself"
            ),
        ));
        action.spec.name = renamed;
    }
}
