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
mod pin;
pub mod schema;
pub mod select;
pub mod server;

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

use crate::action::{ActionDraft, Method, SkipKind, Skipped};
use crate::diagnostic::{Diagnostic, Severity};
pub use crate::spec::HTTP_METHODS;
use crate::spec::{Field, ParseError, Paths, RawPaths, Spec, SpecVersion, pointer};
pub use pin::check_pin;
pub use select::Selection;

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
    /// Limits on each action's tool schema.
    pub budget: schema::SchemaBudget,
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
    let mut conversion = Conversion {
        source: options.source.clone(),
        spec: spec_info(spec),
        actions: Vec::new(),
        skipped: Vec::new(),
        diagnostics: Vec::new(),
    };
    // Read before `paths`: an unreadable security scheme is worth saying even when
    // the spec has no operations.
    let context = operation::SpecContext::new(spec, options, &mut conversion.diagnostics);
    let Some(paths) = read_paths(spec, &mut conversion.diagnostics) else {
        return conversion;
    };
    let mut driver = Driver {
        spec,
        options,
        context,
        conversion,
        keys: HashSet::new(),
        root_failures: Vec::new(),
        filter_use: select::FilterUse::default(),
    };
    // `x-` keys are extensions, not paths.
    match paths {
        PathsToRead::Map(paths) => {
            for (path, item) in paths {
                if !path.starts_with("x-") {
                    driver.path_item(path, item);
                }
            }
        }
        // Each path item is parsed for its operations and dropped after them.
        PathsToRead::Raw(paths) => {
            for item in paths.items() {
                if item.key().starts_with("x-") {
                    continue;
                }
                match item.kept() {
                    Some(value) => driver.path_item(item.key(), value),
                    None => match paths.parse_operations(item) {
                        Ok(value) => driver.path_item(item.key(), &value),
                        Err(e) => driver.unreadable_path_item(item.key(), &e),
                    },
                }
            }
        }
    }
    let Driver {
        mut conversion,
        filter_use,
        root_failures,
        ..
    } = driver;
    report_unmatched_filters(&filter_use, &options.selection, &mut conversion.diagnostics);
    report_root_failures(root_failures, &mut conversion.diagnostics);
    make_names_unique(&mut conversion.actions, &mut conversion.diagnostics);
    conversion
}

/// Title and version as `info` gives them (empty when missing), and the dialect.
fn spec_info(spec: &Spec) -> SpecInfo {
    let info = spec.root().field("info");
    let text = |field: &str| match info.and_then(|i| i.get(field)) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    SpecInfo {
        title: text("title"),
        version: text("version"),
        openapi: spec.version_string().to_string(),
    }
}

/// A spec's path items, as values or as text.
enum PathsToRead<'s> {
    Map(&'s Map<String, Value>),
    Raw(&'s RawPaths),
}

/// The `paths` mapping, or `None` (with a diagnostic saying why) when there is
/// none to read operations from.
fn read_paths<'s>(spec: &'s Spec, diagnostics: &mut Vec<Diagnostic>) -> Option<PathsToRead<'s>> {
    let root = spec.root();
    let paths = match spec.paths() {
        Paths::Raw(paths) => PathsToRead::Raw(paths),
        Paths::InRoot(Some(Value::Object(paths))) => PathsToRead::Map(paths),
        Paths::InRoot(Some(_)) => {
            diagnostics.push(Diagnostic::new(
                Severity::Error,
                "bad-paths",
                None,
                "#/paths",
                "`paths` is not a mapping of path → path item, so no operation could be read",
            ));
            return None;
        }
        Paths::InRoot(None) => {
            if spec.version() == SpecVersion::OpenApi31 && root.field("webhooks").is_some() {
                diagnostics.push(Diagnostic::new(
                    Severity::Info,
                    "webhooks-only",
                    None,
                    "#/webhooks",
                    "the spec describes only webhooks (calls the API makes), so it has no operations to turn into actions",
                ));
            } else {
                diagnostics.push(Diagnostic::new(
                    Severity::Warning,
                    "no-paths",
                    None,
                    "#",
                    "the spec has no `paths`, so it has no operations",
                ));
            }
            return None;
        }
    };
    let only_extensions = match &paths {
        PathsToRead::Map(paths) => paths.keys().all(|p| p.starts_with("x-")),
        PathsToRead::Raw(paths) => paths.items().iter().all(|i| i.key().starts_with("x-")),
    };
    if only_extensions {
        diagnostics.push(Diagnostic::new(
            Severity::Warning,
            "no-operations",
            None,
            "#/paths",
            "the spec has no operations, so it makes no actions",
        ));
    }
    Some(paths)
}

/// One conversion under way: what it has produced so far, and what it must
/// remember from one operation to the next.
struct Driver<'s> {
    spec: &'s Spec,
    options: &'s ConvertOptions,
    context: operation::SpecContext<'s>,
    conversion: Conversion,
    /// Keys handed out so far, so a shared operationId keys only its first operation.
    keys: HashSet<String>,
    /// Failures that come from the root (its servers), said once for all operations.
    root_failures: Vec<(operation::Failure, usize)>,
    /// Which filter values matched an operation, to point out those that never did.
    filter_use: select::FilterUse,
}

/// A path item that could be read.
struct PathItem<'p> {
    /// The path template, as `paths` spells it.
    path: &'p str,
    /// JSON pointer to the path item in the root document.
    pointer: String,
    /// The path item, `$ref` followed.
    map: &'p Map<String, Value>,
    /// The document it lives in; references inside it resolve against it.
    base: &'p Url,
}

/// What identifies an operation in the conversion's output.
struct OperationSite<'p> {
    key: String,
    method_key: &'p str,
    path: &'p str,
    pointer: String,
}

impl OperationSite<'_> {
    /// The skipped entry for this operation.
    fn skipped(&self, kind: SkipKind, reason: String) -> Skipped {
        Skipped {
            key: self.key.clone(),
            method: self.method_key.to_ascii_uppercase(),
            path: self.path.to_string(),
            kind,
            reason,
        }
    }
}

impl<'s> Driver<'s> {
    /// Converts the operations of one path item. It may live only as long as
    /// this call (a path item parsed from text for it).
    fn path_item<'p>(&mut self, path: &'p str, item: &'p Value)
    where
        's: 'p,
    {
        let Some(item) = self.read_path_item(path, item) else {
            return;
        };
        for (method_key, op) in item.map {
            if HTTP_METHODS.contains(&method_key.as_str()) {
                self.operation(&item, method_key, op);
            }
        }
    }

    /// The path item behind its `$ref`s, or `None` (with an error) when it cannot be
    /// read: then its operations cannot even be counted.
    fn read_path_item<'p>(&mut self, path: &'p str, item: &'p Value) -> Option<PathItem<'p>>
    where
        's: 'p,
    {
        let pointer = pointer::fragment(["paths", path]);
        let resolved = match self.spec.deref(self.spec.root_url(), item) {
            Ok(resolved) => resolved,
            Err(e) => {
                self.conversion.diagnostics.push(Diagnostic::new(
                    Severity::Error,
                    "unresolved-path-item",
                    None,
                    pointer,
                    format!("the operations of {path} could not be read: {e}"),
                ));
                return None;
            }
        };
        let Some(map) = resolved.value.as_object() else {
            self.conversion.diagnostics.push(Diagnostic::new(
                Severity::Error,
                "bad-path-item",
                None,
                pointer,
                format!(
                    "the path item for {path} is not a mapping, so its operations could not be read"
                ),
            ));
            return None;
        };
        Some(PathItem {
            path,
            pointer,
            map,
            base: resolved.base,
        })
    }

    /// A path item whose text could not be parsed again: its operations cannot
    /// be known. (It was checked when the spec was read, so this does not happen.)
    fn unreadable_path_item(&mut self, path: &str, error: &ParseError) {
        self.conversion.diagnostics.push(Diagnostic::new(
            Severity::Error,
            "bad-path-item",
            None,
            pointer::fragment(["paths", path]),
            format!("the path item for {path} could not be read: {error}"),
        ));
    }

    /// Converts one operation, or records it as skipped with the reason.
    fn operation<'p>(&mut self, item: &PathItem<'p>, method_key: &'p str, op: &'p Value)
    where
        's: 'p,
    {
        let pointer = format!("{}/{method_key}", item.pointer);
        let operation_id = operation_id(op);
        let (key, naming_id) = self.operation_key(operation_id, method_key, item.path, &pointer);
        let site = OperationSite {
            key,
            method_key,
            path: item.path,
            pointer,
        };
        let Some(method) = Method::from_openapi(method_key) else {
            let reason = format!(
                "{} is not a method actions support (GET, POST, PUT, PATCH, DELETE)",
                method_key.to_ascii_uppercase()
            );
            self.skip(&site, SkipKind::Unsupported, reason);
            return;
        };
        let Some(op) = op.as_object() else {
            self.not_a_mapping(&site);
            return;
        };
        if op.field("x-actionsync-ignore") == Some(&Value::Bool(true)) {
            let reason = "x-actionsync-ignore: true".to_string();
            self.skip(&site, SkipKind::Ignored, reason);
            return;
        }
        let tags = tags(op);
        let candidate = select::Candidate {
            tags: &tags,
            method: method_key,
            path: item.path,
            operation_id,
        };
        if let Some(reason) = self.selection_rejects(candidate) {
            self.skip(&site, SkipKind::Excluded, reason);
            return;
        }
        let input = operation::OperationInput {
            key: &site.key,
            operation_id,
            naming_id,
            method,
            method_key,
            path: item.path,
            pointer: &site.pointer,
            op,
            item: item.map,
            base: item.base,
            tags,
        };
        match self
            .context
            .convert(&input, &mut self.conversion.diagnostics)
        {
            Ok(action) => self.conversion.actions.push(action),
            Err(failure) => self.failed(site, failure),
        }
    }

    /// The operation's key, its operationId unless an earlier operation has it (then
    /// `METHOD /path`), and the operationId to name the action from.
    fn operation_key<'p>(
        &mut self,
        operation_id: Option<&'p str>,
        method_key: &str,
        path: &str,
        pointer: &str,
    ) -> (String, Option<&'p str>)
    where
        's: 'p,
    {
        let fallback_key = format!("{} {path}", method_key.to_ascii_uppercase());
        let (key, naming_id) = match operation_id {
            Some(id) if !self.keys.contains(id) => (id.to_string(), Some(id)),
            // A duplicated operationId names neither the key nor the action: a
            // DELETE must not be named after the GET that owns the id.
            Some(id) => {
                self.conversion.diagnostics.push(Diagnostic::new(
                    Severity::Warning,
                    "duplicate-operation-id",
                    Some(&fallback_key),
                    format!("{pointer}/operationId"),
                    format!(
                        "operationId `{id}` is used by more than one operation; this one is keyed `{fallback_key}` instead. Give each operation its own operationId"
                    ),
                ));
                (fallback_key, None)
            }
            None => (fallback_key, None),
        };
        self.keys.insert(key.clone());
        (key, naming_id)
    }

    /// Whether the include/exclude filters leave the operation out, and why.
    fn selection_rejects(&mut self, candidate: select::Candidate<'_>) -> Option<String> {
        let selection = &self.options.selection;
        if !selection.is_empty() {
            self.filter_use.record(selection, candidate);
        }
        selection.rejects(candidate)
    }

    /// Records an operation left out, on purpose or not.
    fn skip(&mut self, site: &OperationSite<'_>, kind: SkipKind, reason: String) {
        self.conversion.skipped.push(site.skipped(kind, reason));
    }

    /// Records an operation that is not a mapping: skipped, with an error.
    fn not_a_mapping(&mut self, site: &OperationSite<'_>) {
        let reason = "the operation is not a mapping".to_string();
        self.conversion.diagnostics.push(Diagnostic::new(
            Severity::Error,
            "bad-operation",
            Some(&site.key),
            site.pointer.clone(),
            reason.clone(),
        ));
        self.skip(site, SkipKind::Failed, reason);
    }

    /// Records an operation that failed to convert: skipped, with an error of its
    /// own, or counted towards one error for the spec when the root is to blame.
    fn failed(&mut self, site: OperationSite<'_>, failure: operation::Failure) {
        self.skip(&site, SkipKind::Failed, failure.message.clone());
        if failure.is_root_level() {
            match self
                .root_failures
                .iter_mut()
                .find(|(f, _)| f.message == failure.message)
            {
                Some((_, n)) => *n += 1,
                None => self.root_failures.push((failure, 1)),
            }
            return;
        }
        self.conversion.diagnostics.push(Diagnostic::new(
            Severity::Error,
            failure.code,
            Some(&site.key),
            failure.pointer.unwrap_or(site.pointer),
            format!("skipped: {}", failure.message),
        ));
    }
}

/// The operationId, trimmed; `None` when missing or blank.
fn operation_id(op: &Value) -> Option<&str> {
    op.field("operationId")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The operation's OpenAPI tags; those that are not strings are left out.
fn tags(op: &Map<String, Value>) -> Vec<String> {
    op.field("tags")
        .and_then(Value::as_array)
        .map(|t| {
            t.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Warns about each filter value that matched no operation: likely a typo.
fn report_unmatched_filters(
    filter_use: &select::FilterUse,
    selection: &Selection,
    diagnostics: &mut Vec<Diagnostic>,
) {
    for filter in filter_use.unmatched(selection) {
        diagnostics.push(Diagnostic::new(
            Severity::Warning,
            "unmatched-filter",
            None,
            "#/paths",
            format!("{filter} matched no operation of this spec; is it spelled right?"),
        ));
    }
}

/// One error per root-level failure, with how many operations it skipped.
fn report_root_failures(
    root_failures: Vec<(operation::Failure, usize)>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    for (failure, n) in root_failures {
        let what = if n == 1 {
            "1 operation".to_string()
        } else {
            format!("{n} operations")
        };
        diagnostics.push(Diagnostic::new(
            Severity::Error,
            failure.code,
            None,
            failure.pointer.unwrap_or_else(|| "#".to_string()),
            format!("{what} skipped: {}", failure.message),
        ));
    }
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
