//! Operations → actions. Pure: takes a loaded [`Spec`], returns a [`Conversion`]
//! ([`convert`]), or hands each action on as it is made ([`convert_each`]).
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

use std::collections::HashSet;

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
    let mut actions = Vec::new();
    let Ok(mut conversion) = convert_each(spec, options, |action| {
        actions.push(action);
        Ok::<(), std::convert::Infallible>(())
    });
    conversion.actions = actions;
    conversion
}

/// Converts every operation of `spec`, handing each action to `emit` as soon as
/// its name is final, in spec order, so a caller that writes the actions out
/// need not hold them all (`actionsync convert`: Microsoft Graph's are 11,422).
/// The conversion returned has every skipped entry and diagnostic but no
/// actions. The first error `emit` returns stops the conversion and is returned.
pub fn convert_each<E>(
    spec: &Spec,
    options: &ConvertOptions,
    emit: impl FnMut(ActionDraft) -> Result<(), E>,
) -> Result<Conversion, E> {
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
        return Ok(conversion);
    };
    let mut driver = Driver {
        spec,
        options,
        context,
        conversion,
        keys: HashSet::new(),
        root_failures: Vec::new(),
        filter_use: select::FilterUse::default(),
        names: UniqueNames::default(),
        emit,
        paths,
        position: 0,
        stopped: None,
    };
    // `x-` keys are extensions, not paths.
    match paths {
        PathsToRead::Map(paths) => {
            for (position, (path, item)) in paths.iter().enumerate() {
                if driver.stopped.is_some() {
                    break;
                }
                driver.position = position;
                if !path.starts_with("x-") {
                    driver.path_item(path, item);
                }
            }
        }
        // Each path item is parsed for its operations and dropped after them.
        PathsToRead::Raw(paths) => {
            for (position, item) in paths.items().iter().enumerate() {
                if driver.stopped.is_some() {
                    break;
                }
                driver.position = position;
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
                paths.converted(position);
            }
        }
    }
    let Driver {
        mut conversion,
        filter_use,
        root_failures,
        names,
        mut emit,
        stopped,
        ..
    } = driver;
    if let Some(error) = stopped {
        return Err(error);
    }
    report_unmatched_filters(&filter_use, &options.selection, &mut conversion.diagnostics);
    report_root_failures(root_failures, &mut conversion.diagnostics);
    names.finish(&mut conversion.diagnostics, &mut emit)?;
    Ok(conversion)
}

/// Title and version as `info` gives them (empty when missing), and the dialect:
/// a [`Conversion`]'s `spec`.
pub fn spec_info(spec: &Spec) -> SpecInfo {
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
#[derive(Clone, Copy)]
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
struct Driver<'s, F, E> {
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
    /// The actions' names so far, and the actions held until theirs are final.
    names: UniqueNames,
    /// Where each action goes once its name is final.
    emit: F,
    /// The path items, to read ahead when a name repeats.
    paths: PathsToRead<'s>,
    /// The index of the path item being converted.
    position: usize,
    /// The error `emit` returned, which ends the conversion.
    stopped: Option<E>,
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

impl<'s, F, E> Driver<'s, F, E>
where
    F: FnMut(ActionDraft) -> Result<(), E>,
{
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
            Ok(action) => {
                let (paths, position) = (self.paths, self.position);
                let read_ahead = || names_ahead(paths, position);
                if let Err(error) = self.names.accept(action, &mut self.emit, read_ahead) {
                    self.stopped = Some(error);
                }
            }
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
/// others get `_2`, `_3`, … (never a name another action has, before or after
/// it), and hands each action on as soon as its name is final.
///
/// An action whose name is new is handed on at once. When a name first
/// repeats, the names every operation ahead could have of its own are read
/// ahead ([`names_ahead`]); a repeated name takes the first suffix that no
/// action has yet and none ahead could have, and is handed on. Only when the
/// suffix it would take is one an operation ahead could have (or what is ahead
/// cannot be read without converting it) are it and every action after it held
/// to the end, when every action's own name is known.
#[derive(Default)]
struct UniqueNames {
    /// The names of the actions handed on, renamed ones included.
    seen: HashSet<String>,
    /// What the operations ahead could be named, read when a name first repeats.
    ahead: Ahead,
    /// The `name-collision` warnings of the actions renamed as they came.
    renamed: Vec<Diagnostic>,
    /// The actions held, in spec order.
    held: Vec<ActionDraft>,
}

/// The names ending in a number (as `name_2`) that the operations ahead could
/// have of their own: those a renamed action could clash with.
#[derive(Default)]
enum Ahead {
    /// Not read yet: no name has repeated.
    #[default]
    NotRead,
    /// Every such name they could have.
    Names(HashSet<String>),
    /// Not known without converting them.
    Unknown,
}

impl UniqueNames {
    /// Hands `action` on if its name is final, else holds it. `read_ahead`
    /// gives the names of the operations ahead ([`names_ahead`]).
    fn accept<E>(
        &mut self,
        mut action: ActionDraft,
        emit: &mut impl FnMut(ActionDraft) -> Result<(), E>,
        read_ahead: impl FnOnce() -> Option<HashSet<String>>,
    ) -> Result<(), E> {
        if !self.held.is_empty() {
            self.held.push(action);
            return Ok(());
        }
        if self.seen.insert(action.spec.name.clone()) {
            return emit(action);
        }
        if matches!(self.ahead, Ahead::NotRead) {
            self.ahead = read_ahead().map_or(Ahead::Unknown, Ahead::Names);
        }
        let Some(renamed) = self.rename_now(&action.spec.name) else {
            self.held.push(action);
            return Ok(());
        };
        self.seen.insert(renamed.clone());
        self.renamed.push(collision(&action, &renamed));
        action.spec.name = renamed;
        emit(action)
    }

    /// The name an action named `original`, already taken, gets, if that is
    /// certain before the operations ahead are converted.
    fn rename_now(&self, original: &str) -> Option<String> {
        let Ahead::Names(ahead) = &self.ahead else {
            return None;
        };
        for (n, candidate) in (2..).zip(suffixed(original)) {
            // Past this, a name's hash could read as the number ([`operation::possible_numbered_names`]).
            if n >= 10_000_000 {
                return None;
            }
            if self.seen.contains(&candidate) {
                continue;
            }
            // Free now, but an operation ahead may have it of its own.
            return (!ahead.contains(&candidate)).then_some(candidate);
        }
        None
    }

    /// Names the held actions, says which were renamed, and hands them on.
    fn finish<E>(
        self,
        diagnostics: &mut Vec<Diagnostic>,
        emit: &mut impl FnMut(ActionDraft) -> Result<(), E>,
    ) -> Result<(), E> {
        let UniqueNames {
            mut seen,
            renamed,
            held,
            ..
        } = self;
        diagnostics.extend(renamed);
        if held.is_empty() {
            return Ok(());
        }
        // Every name an action has of its own, or was given on the way.
        let mut taken = seen.clone();
        taken.extend(held.iter().map(|action| action.spec.name.clone()));
        for mut action in held {
            if !seen.insert(action.spec.name.clone()) {
                let renamed = suffixed(&action.spec.name)
                    .find(|candidate| !taken.contains(candidate))
                    .unwrap_or_default();
                taken.insert(renamed.clone());
                seen.insert(renamed.clone());
                diagnostics.push(collision(&action, &renamed));
                action.spec.name = renamed;
            }
            emit(action)?;
        }
        Ok(())
    }
}

/// `original` with `_2`, `_3`, … in turn, cut to fit the length limit.
fn suffixed(original: &str) -> impl Iterator<Item = String> + '_ {
    (2..).map(move |n: u64| {
        let suffix = format!("_{n}");
        let head = &original[..original.len().min(naming::MAX_NAME - suffix.len())];
        format!("{}{suffix}", head.trim_end_matches('_'))
    })
}

/// The warning for `action`, renamed `renamed` because its name was taken.
fn collision(action: &ActionDraft, renamed: &str) -> Diagnostic {
    Diagnostic::new(
        Severity::Warning,
        "name-collision",
        Some(&action.key),
        action.spec.operation.pointer.clone(),
        format!(
            "the name `{}` is already taken by another operation in this spec; this one is named `{renamed}`. Give the operations distinct operationIds to choose the names yourself",
            action.spec.name
        ),
    )
}

/// Every name ending in a number that an operation in the path items from
/// `from` on could have of its own ([`operation::possible_numbered_names`]),
/// read without converting them; `None`
/// when that cannot be known so (a path item behind a `$ref`, or unreadable).
fn names_ahead(paths: PathsToRead<'_>, from: usize) -> Option<HashSet<String>> {
    let mut names = HashSet::new();
    match paths {
        PathsToRead::Map(paths) => {
            for (path, item) in paths.iter().skip(from) {
                if !path.starts_with("x-") {
                    value_names(path, item, &mut names)?;
                }
            }
        }
        PathsToRead::Raw(paths) => {
            for item in paths.items().iter().skip(from) {
                let path = item.key();
                if path.starts_with("x-") {
                    continue;
                }
                if let Some(value) = item.kept() {
                    value_names(path, value, &mut names)?;
                    continue;
                }
                let ids = paths.operation_ids(item).ok()?;
                if ids.has_ref {
                    return None;
                }
                for (method_key, ids) in &ids.operations {
                    operation::possible_numbered_names(
                        method_key,
                        path,
                        ids.iter().map(String::as_str),
                        &mut names,
                    );
                }
            }
        }
    }
    Some(names)
}

/// [`names_ahead`] of one path item read as a value.
fn value_names(path: &str, item: &Value, names: &mut HashSet<String>) -> Option<()> {
    let Some(item) = item.as_object() else {
        return Some(()); // Not a mapping: it has no operations.
    };
    if item.contains_key("$ref") {
        return None;
    }
    for (method_key, op) in item {
        if HTTP_METHODS.contains(&method_key.as_str()) {
            operation::possible_numbered_names(method_key, path, operation_id(op), names);
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A spec of `/a`, `/b`, `/c`, … each with one GET named by `ids`.
    fn spec_with_operations(ids: &[&str]) -> Spec {
        let paths: Vec<String> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                format!(
                    r#""/p{i}": {{"get": {{"operationId": "{id}", "summary": "Fetch the things of path {i}", "responses": {{"200": {{"description": "ok"}}}}}}}}"#
                )
            })
            .collect();
        let text = format!(
            r#"{{"openapi": "3.0.3", "info": {{"title": "t", "version": "1"}},
               "servers": [{{"url": "https://api.example.com"}}],
               "paths": {{{}}}}}"#,
            paths.join(",")
        );
        let location = crate::source::SpecLocation::Bytes {
            name: "t.json".into(),
            bytes: text.into_bytes(),
        };
        crate::source::load(&location, &crate::source::LoadOptions::default())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The names of the actions in the order `emit` saw them, and the rest.
    fn emitted(spec: &Spec) -> (Vec<String>, Conversion) {
        let mut names = Vec::new();
        let conversion = convert_each(spec, &ConvertOptions::default(), |action| {
            names.push(action.spec.name);
            Ok::<(), ()>(())
        })
        .unwrap_or_else(|()| panic!("emit never fails here"));
        (names, conversion)
    }

    #[test]
    fn each_action_is_handed_on_as_it_is_made_while_names_are_distinct() {
        let spec = spec_with_operations(&["listOrders", "getOrder", "listCustomers"]);
        let (names, conversion) = emitted(&spec);
        assert_eq!(names, ["list_orders", "get_order", "list_customers"]);
        assert!(conversion.actions.is_empty(), "the actions were handed on");
        assert_eq!(convert(&spec, &ConvertOptions::default()).actions.len(), 3);
    }

    #[test]
    fn from_a_repeated_name_on_actions_wait_until_every_name_is_known() {
        // `get_order_2` later in the spec has that name of its own, so the second
        // `get_order` cannot take it: it is `get_order_3`, in spec order.
        let spec = spec_with_operations(&["getOrder", "get_order", "listOrders", "getOrder_2"]);
        let (names, conversion) = emitted(&spec);
        assert_eq!(
            names,
            ["get_order", "get_order_3", "list_orders", "get_order_2"]
        );
        let collisions: Vec<&str> = conversion
            .diagnostics
            .iter()
            .filter(|d| d.code == "name-collision")
            .map(|d| d.message.as_str())
            .collect();
        assert_eq!(collisions.len(), 1, "{collisions:?}");
        assert!(collisions[0].contains("`get_order_3`"), "{collisions:?}");
    }

    #[test]
    fn an_error_from_emit_stops_the_conversion() {
        let spec = spec_with_operations(&["listOrders", "getOrder", "listCustomers"]);
        let mut calls = 0;
        let result = convert_each(&spec, &ConvertOptions::default(), |_| {
            calls += 1;
            Err("the reader went away")
        });
        assert_eq!(result.err(), Some("the reader went away"));
        assert_eq!(calls, 1, "no action is handed on after an error");
    }
    fn draft(name: &str) -> ActionDraft {
        crate::action::example_draft(name, "Look up one order by its number.")
    }

    /// Feeds `names` to a [`UniqueNames`] whose read-ahead finds `ahead`;
    /// returns how many actions had been handed on after each was accepted,
    /// and every name handed on by the end.
    fn feed(names: &[&str], ahead: Option<&[&str]>) -> (Vec<usize>, Vec<String>, usize) {
        let mut unique = UniqueNames::default();
        let mut out: Vec<String> = Vec::new();
        let mut after_each = Vec::new();
        let mut reads = 0;
        for name in names {
            let mut emit = |a: ActionDraft| {
                out.push(a.spec.name);
                Ok::<(), ()>(())
            };
            let read = || {
                reads += 1;
                ahead.map(|a| a.iter().map(|n| n.to_string()).collect())
            };
            unique
                .accept(draft(name), &mut emit, read)
                .unwrap_or_else(|()| panic!("emit never fails here"));
            after_each.push(out.len());
        }
        let mut diagnostics = Vec::new();
        let mut emit = |a: ActionDraft| {
            out.push(a.spec.name);
            Ok::<(), ()>(())
        };
        unique
            .finish(&mut diagnostics, &mut emit)
            .unwrap_or_else(|()| panic!("emit never fails here"));
        (after_each, out, reads)
    }

    #[test]
    fn a_repeated_name_is_renamed_at_once_when_nothing_ahead_could_have_the_new_one() {
        let (after_each, out, reads) = feed(
            &["get_order", "get_order", "list_orders"],
            Some(&["get_order", "list_orders"]),
        );
        assert_eq!(after_each, [1, 2, 3], "nothing was held");
        assert_eq!(out, ["get_order", "get_order_2", "list_orders"]);
        assert_eq!(reads, 1, "read ahead once, at the first repeat");
        // A suffix an earlier rename took is skipped without holding.
        let (after_each, out, _) = feed(
            &["a_name", "a_name", "a_name", "other"],
            Some(&["a_name", "other"]),
        );
        assert_eq!(after_each, [1, 2, 3, 4]);
        assert_eq!(out, ["a_name", "a_name_2", "a_name_3", "other"]);
    }

    #[test]
    fn a_repeated_name_waits_when_an_operation_ahead_could_have_the_new_one() {
        let (after_each, out, _) = feed(
            &["get_order", "get_order", "list_orders", "get_order_2"],
            Some(&["get_order", "list_orders", "get_order_2"]),
        );
        assert_eq!(after_each, [1, 1, 1, 1], "held from the repeat on");
        assert_eq!(
            out,
            ["get_order", "get_order_3", "list_orders", "get_order_2"]
        );
        // What is ahead could not be read: the same, held.
        let (after_each, out, _) = feed(&["get_order", "get_order", "list_orders"], None);
        assert_eq!(after_each, [1, 1, 1]);
        assert_eq!(out, ["get_order", "get_order_2", "list_orders"]);
    }
}
