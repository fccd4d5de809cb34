//! A loaded spec: the root document and every document it `$ref`s, parsed, with
//! `$ref` resolution across them. Pure: [`crate::source`] does the reading.
//!
//! Loading never fails as a whole because a referenced document is missing or
//! refused: that document is kept as [`Document::Failed`], and only the operations
//! that reach it are affected.

mod field;
pub mod parse;
pub mod pointer;

use std::collections::HashMap;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use serde_json::Value;
use url::Url;

pub use field::Field;
pub use parse::{
    DEFAULT_MAX_BYTES, ParseError, ParsedRoot, Syntax, parse_document, parse_document_as,
    parse_root,
};

/// The keys of a path item that are operations, in the order OpenAPI lists them.
pub const HTTP_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The OpenAPI dialect of a spec, detected from its `openapi`/`swagger` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SpecVersion {
    /// Swagger 2.0.
    Swagger2,
    /// OpenAPI 3.0.x.
    OpenApi30,
    /// OpenAPI 3.1.x (and later 3.x, read as 3.1).
    OpenApi31,
}

/// Why a document is not an OpenAPI spec we can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// The root is not a mapping.
    #[error(
        "the document is not a mapping (it is {0}); an OpenAPI spec starts with `openapi:` or `swagger:`"
    )]
    NotAMapping(&'static str),
    /// No `openapi` or `swagger` field.
    #[error(
        "the document has neither an `openapi` nor a `swagger` field, so it is not an OpenAPI spec (a fragment that a spec `$ref`s is read through that spec)"
    )]
    NotOpenApi,
    /// A version we do not read.
    #[error("unsupported version {0:?}: actionsync reads Swagger 2.0 and OpenAPI 3.0 and 3.1")]
    UnsupportedVersion(String),
}

/// One document of a spec, as loading left it.
#[derive(Debug, Clone)]
pub enum Document {
    /// Read and parsed.
    Loaded(Value),
    /// Could not be read, parsed, or was refused by the reference policy; the message says why.
    Failed(String),
}

/// Why a `$ref` could not be followed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefError {
    /// The reference is not a valid URI reference.
    #[error("`$ref: {reference}` is not a valid reference: {reason}")]
    Invalid {
        /// The `$ref` value.
        reference: String,
        /// Why.
        reason: String,
    },
    /// The fragment is not a JSON pointer.
    #[error("`$ref: {0}` uses a fragment that is not a JSON pointer (anchors are not supported)")]
    NotAPointer(String),
    /// The target document could not be loaded.
    #[error("`$ref: {reference}` points into {document}, which could not be used: {reason}")]
    Document {
        /// The `$ref` value.
        reference: String,
        /// The document, as the user would name it.
        document: String,
        /// Why it could not be used.
        reason: String,
    },
    /// The pointer leads nowhere.
    #[error("`$ref: {reference}` points at nothing: {document} has no {pointer}")]
    NotFound {
        /// The `$ref` value.
        reference: String,
        /// The document.
        document: String,
        /// The pointer.
        pointer: String,
    },
    /// References that only point at each other.
    #[error("`$ref: {0}` is part of a loop of references that never reaches a value")]
    Loop(String),
}

/// A value reached through `$ref`s, with the document it lives in (against which
/// the references inside it resolve) and a stable identity for cycle detection.
#[derive(Debug, Clone, Copy)]
pub struct Resolved<'s> {
    /// The value.
    pub value: &'s Value,
    /// The document the value lives in.
    pub base: &'s Url,
    /// `true` if at least one `$ref` was followed to reach it.
    pub via_ref: bool,
}

/// A spec: its root document plus every document reachable through `$ref`.
#[derive(Debug, Clone)]
pub struct Spec {
    root: Url,
    documents: HashMap<Url, Document>,
    version: SpecVersion,
    version_string: String,
    fetched_from: Option<Url>,
    /// The root's path items as text, when the root was read that way
    /// ([`parse::parse_root`]); its value then has no `paths`.
    raw_paths: Option<RawPaths>,
    /// The root's members left as text ([`parse::ParsedRoot::unbuilt`]), not
    /// in its value: each parsed once, when a `$ref` first leads into it.
    unbuilt: Option<Unbuilt>,
}

/// Members of the root document kept as JSON text ([`parse::ParsedRoot::unbuilt`]),
/// each parsed once, when a `$ref` first leads into it.
#[derive(Debug, Clone)]
pub struct Unbuilt {
    bytes: Arc<Vec<u8>>,
    /// Each member by JSON pointer: its text's range, and its value once parsed.
    members: HashMap<String, (Range<usize>, OnceLock<Value>)>,
    /// The kinds of `components` kept entry by entry: the entries' names in
    /// document order, and the whole kind once built (for a `$ref` to it).
    kinds: HashMap<String, (Vec<String>, OnceLock<Value>)>,
}

impl Unbuilt {
    /// The members `ranges` names in `bytes`, the root document they were read from.
    pub fn new(bytes: Arc<Vec<u8>>, ranges: Vec<(String, Range<usize>)>) -> Unbuilt {
        let mut members: HashMap<String, (Range<usize>, OnceLock<Value>)> =
            HashMap::with_capacity(ranges.len());
        let mut kinds: HashMap<String, (Vec<String>, OnceLock<Value>)> = HashMap::new();
        for (pointer, range) in ranges {
            if let Some((kind, name)) = pointer
                .strip_prefix("/components/")
                .and_then(|rest| rest.split_once('/'))
                && !members.contains_key(&pointer)
            {
                let names = &mut kinds.entry(kind.to_string()).or_default().0;
                names.push(pointer::unescape(name).into_owned());
            }
            // A pointer given twice keeps its first place and its last text.
            members.insert(pointer, (range, OnceLock::new()));
        }
        Unbuilt {
            bytes,
            members,
            kinds,
        }
    }

    /// The member at `pointer`, parsed once.
    fn member(&self, pointer: &str) -> Option<&Value> {
        let (range, kept) = self.members.get(pointer)?;
        // It was checked as JSON and for depth when the root was read.
        Some(kept.get_or_init(|| {
            self.bytes
                .get(range.clone())
                .and_then(|text| parse::parse_unbuilt(text).ok())
                .unwrap_or(Value::Null)
        }))
    }

    /// Follows a decoded pointer that leads into a member, or to a kind of
    /// component kept entry by entry; `None` when it leads into neither.
    fn follow(&self, decoded: &str) -> Option<Result<Option<&Value>, pointer::NotAPointer>> {
        /// The first token of `rest` (after its `/`) and what follows it.
        fn split(rest: &str) -> Option<(&str, &str)> {
            let rest = rest.strip_prefix('/')?;
            Some(rest.split_at(rest.find('/').unwrap_or(rest.len())))
        }
        // Pointers as the root's reading wrote them: each token escaped once.
        let canonical = |token: &str| pointer::escape(&pointer::unescape(token));
        let (first, after) = split(decoded)?;
        if first != "components" {
            let member = self.member(&format!("/{}", canonical(first)))?;
            return Some(pointer::follow_decoded(member, after));
        }
        let (kind, after) = split(after)?;
        let (names, whole) = self.kinds.get(kind)?;
        let Some((name, tail)) = split(after) else {
            let whole = whole.get_or_init(|| {
                let entry = |name: &String| {
                    let pointer = format!("/components/{kind}/{}", pointer::escape(name));
                    self.member(&pointer).cloned().unwrap_or(Value::Null)
                };
                Value::Object(names.iter().map(|n| (n.clone(), entry(n))).collect())
            });
            return Some(pointer::follow_decoded(whole, after));
        };
        Some(
            match self.member(&format!("/components/{kind}/{}", canonical(name))) {
                Some(entry) => pointer::follow_decoded(entry, tail),
                None => Ok(None),
            },
        )
    }
}

/// The root document's path items, kept as JSON text: each is parsed when its
/// operations are converted and dropped after ([`RawPaths::parse`]), so a
/// spec's paths are never all in memory as values at once. One a `$ref`
/// points into is parsed once and kept ([`Spec::resolve_ref`]).
#[derive(Debug)]
pub struct RawPaths {
    /// The root document's bytes, which the ranges index.
    bytes: Arc<Vec<u8>>,
    /// Whether the text of the items converted is to be given back.
    giving_back: AtomicBool,
    /// Where the text given back ends: nothing before it is read again.
    given_back: AtomicUsize,
    /// Each path item in document order, a repeated key in its first place
    /// with its last text (as a JSON object keeps it).
    items: Vec<RawPathItem>,
    /// Index of each key in `items`.
    index: HashMap<String, usize>,
    /// The whole `paths` as a value, for a `$ref` to `#/paths` itself.
    whole: OnceLock<Value>,
}

/// One path item of [`RawPaths`].
#[derive(Debug, Clone)]
pub struct RawPathItem {
    key: String,
    range: Range<usize>,
    kept: OnceLock<Value>,
}

impl RawPathItem {
    /// The path, as `paths` spells it.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Its value, if a `$ref` into it had it parsed and kept.
    pub fn kept(&self) -> Option<&Value> {
        self.kept.get()
    }
}

impl RawPaths {
    /// The path items of `bytes`, a root document read by [`parse::parse_root`]
    /// (its [`parse::ParsedRoot::paths`]).
    pub fn new(bytes: Arc<Vec<u8>>, ranges: Vec<(String, Range<usize>)>) -> RawPaths {
        let mut items: Vec<RawPathItem> = Vec::with_capacity(ranges.len());
        let mut index: HashMap<String, usize> = HashMap::with_capacity(ranges.len());
        for (key, range) in ranges {
            match index.get(&key) {
                Some(&i) => items[i].range = range,
                None => {
                    index.insert(key.clone(), items.len());
                    items.push(RawPathItem {
                        key,
                        range,
                        kept: OnceLock::new(),
                    });
                }
            }
        }
        RawPaths {
            bytes,
            giving_back: AtomicBool::new(false),
            given_back: AtomicUsize::new(0),
            items,
            index,
            whole: OnceLock::new(),
        }
    }

    /// From now on, the text of each path item, once its operations are
    /// converted ([`RawPaths::converted`]), is given back to the system: a
    /// convert that writes each action as it goes then never holds the paths'
    /// text whole (90 % of Kubernetes' and Microsoft Graph's specs). Only for
    /// an owner that reads nothing of the spec's bytes after converting it
    /// (`actionsync convert`), and only where no `$ref` could lead back into a
    /// path item ([`refs_may_lead_into_paths`]) and the items are in document
    /// order; returns whether it will be done.
    pub fn give_back_as_converted(&self) -> bool {
        let in_order = self
            .items
            .windows(2)
            .all(|pair| pair[0].range.end <= pair[1].range.start);
        // Less than the step never gives back more than the last few pages.
        let text = match (self.items.first(), self.items.last()) {
            (Some(first), Some(last)) => last.range.end.saturating_sub(first.range.start),
            _ => 0,
        };
        let safe = in_order && text >= GIVE_BACK_AT_ONCE && !refs_may_lead_into_paths(&self.bytes);
        self.giving_back.store(safe, Ordering::Relaxed);
        safe
    }

    /// Says the operations of items `..=index` are converted: their text is
    /// given back, a megabyte or more at a time, if [`Self::give_back_as_converted`]
    /// said so.
    pub fn converted(&self, index: usize) {
        if !self.giving_back.load(Ordering::Relaxed) {
            return;
        }
        let end = match self.items.get(index + 1) {
            Some(next) => next.range.start,
            None => match self.items.get(index) {
                Some(last) => last.range.end,
                None => return,
            },
        };
        let from = self.given_back.load(Ordering::Relaxed);
        let from = if from == 0 {
            self.items.first().map_or(end, |first| first.range.start)
        } else {
            from
        };
        let last = index + 1 >= self.items.len();
        if end <= from || (end - from < GIVE_BACK_AT_ONCE && !last) {
            return;
        }
        self.given_back.store(end, Ordering::Relaxed);
        // SAFETY: `bytes` is one allocation of the allocator's of `bytes.len()`
        // bytes; `from..end` is text of path items already converted (and what
        // lies between them), which `text` refuses to read from now on; nothing
        // else reads inside `paths` (`give_back_as_converted`'s callers read no
        // bytes after converting, and no `$ref` leads into a path item).
        unsafe {
            crate::allocator::give_back(self.bytes.as_ptr(), from..end.min(self.bytes.len()))
        };
    }

    /// The text of `item`, unless it was given back.
    fn text(&self, item: &RawPathItem) -> Result<&[u8], ParseError> {
        if item.range.start < self.given_back.load(Ordering::Relaxed) {
            return Err(ParseError::GivenBack);
        }
        self.bytes.get(item.range.clone()).ok_or(ParseError::Empty)
    }

    /// The path items, in document order.
    pub fn items(&self) -> &[RawPathItem] {
        &self.items
    }

    /// Parses one path item; the caller owns the value. Cannot fail for items
    /// of a document [`parse::parse_root`] accepted; the error says why if it does.
    pub fn parse(&self, item: &RawPathItem) -> Result<Value, ParseError> {
        parse::parse_path_item(self.text(item)?)
    }

    /// Parses one path item for its operations' conversion, without what that
    /// never reads ([`parse::parse_path_item_operations`]); the caller owns the
    /// value. A `$ref` into the item reads it whole ([`RawPaths::kept`]).
    pub fn parse_operations(&self, item: &RawPathItem) -> Result<Value, ParseError> {
        parse::parse_path_item_operations(self.text(item)?)
    }

    /// What one path item says of its operations' ids, building nothing else
    /// ([`parse::path_item_operation_ids`]).
    pub fn operation_ids(&self, item: &RawPathItem) -> Result<parse::OperationIds, ParseError> {
        parse::path_item_operation_ids(self.text(item)?)
    }

    /// The path item `key`, parsed once and kept.
    fn kept(&self, key: &str) -> Option<&Value> {
        let item = &self.items[*self.index.get(key)?];
        Some(
            item.kept
                .get_or_init(|| self.parse(item).unwrap_or(Value::Null)),
        )
    }

    /// All of `paths`, parsed once and kept.
    fn whole(&self) -> &Value {
        self.whole.get_or_init(|| {
            Value::Object(
                self.items
                    .iter()
                    .map(|item| {
                        let value = item
                            .kept()
                            .cloned()
                            .unwrap_or_else(|| self.parse(item).unwrap_or(Value::Null));
                        (item.key.clone(), value)
                    })
                    .collect(),
            )
        })
    }
}

/// How much converted text [`RawPaths::converted`] lets gather before giving
/// it back: one call to the system per megabyte.
const GIVE_BACK_AT_ONCE: usize = 1 << 20;

impl Clone for RawPaths {
    /// A copy that gives nothing back, and reads no more than the original.
    fn clone(&self) -> Self {
        RawPaths {
            bytes: Arc::clone(&self.bytes),
            giving_back: AtomicBool::new(false),
            given_back: AtomicUsize::new(self.given_back.load(Ordering::Relaxed)),
            items: self.items.clone(),
            index: self.index.clone(),
            whole: self.whole.clone(),
        }
    }
}

/// Whether a `$ref` in `text` (a JSON document all of whose references are
/// local: [`may_reference_other_documents`]) may lead into `paths`: a
/// fragment that names `paths` anywhere, or is escaped or percent-encoded
/// (`\u…`, `%…`), or a key that may be an escaped `$ref`. A byte scan that
/// errs on the side of yes.
pub fn refs_may_lead_into_paths(text: &[u8]) -> bool {
    // `\u` then the code of `$`, `r`, `e` or `f`: perhaps a `$ref` key spelt
    // with escapes. One pass over the backslashes, one over the dollars.
    let escaped_key = memchr::memchr_iter(b'\\', text).any(|at| {
        text.get(at + 1) == Some(&b'u')
            && text.get(at + 2..at + 6).is_some_and(|hex| {
                [b"0024", b"0072", b"0065", b"0066"]
                    .iter()
                    .any(|c| c[..] == *hex)
            })
    });
    escaped_key
        || memchr::memchr_iter(b'$', text).any(|at| {
            if at == 0 || text[at - 1] != b'"' || !text[at..].starts_with(b"$ref\"") {
                return false;
            }
            let rest = &text[at + 5..];
            let Some(open) = rest
                .iter()
                .position(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b':'))
            else {
                return false;
            };
            if rest[open] != b'"' {
                return false; // Not a string: not a reference.
            }
            let value = &rest[open + 1..];
            let close = memchr::memchr(b'"', value).unwrap_or(value.len());
            let fragment = &value[..close];
            memchr::memmem::find(fragment, b"paths").is_some()
                || fragment.contains(&b'%')
                || fragment.contains(&b'\\')
        })
}

/// A spec's `paths`, wherever it is.
#[derive(Debug, Clone, Copy)]
pub enum Paths<'s> {
    /// In the root document's value (`None`: it has none).
    InRoot(Option<&'s Value>),
    /// Kept as text.
    Raw(&'s RawPaths),
}

/// How many `$ref`s a chain may follow before it is called a loop.
const MAX_REF_CHAIN: usize = 64;

impl Spec {
    /// Builds a spec from its loaded documents. `root` must be among them and loaded.
    /// `fetched_from` is the http(s) URL the root came from, for relative server URLs.
    pub fn new(
        root: Url,
        documents: HashMap<Url, Document>,
        fetched_from: Option<Url>,
    ) -> Result<Spec, SpecError> {
        let root_value = match documents.get(&root) {
            Some(Document::Loaded(v)) => v,
            _ => return Err(SpecError::NotAMapping("missing")),
        };
        let (version, version_string) = detect_version(root_value)?;
        Ok(Spec {
            root,
            documents,
            version,
            version_string,
            fetched_from,
            raw_paths: None,
            unbuilt: None,
        })
    }

    /// The spec with its root's path items kept as text: the root's value has
    /// no `paths` ([`parse::parse_root`]).
    pub fn with_raw_paths(mut self, raw_paths: RawPaths) -> Spec {
        self.raw_paths = Some(raw_paths);
        self
    }

    /// The spec with some of its root's members kept as text: the root's value
    /// does not have them ([`parse::parse_root`]).
    pub fn with_unbuilt(mut self, unbuilt: Unbuilt) -> Spec {
        self.unbuilt = Some(unbuilt);
        self
    }

    /// The root's `paths`.
    pub fn paths(&self) -> Paths<'_> {
        match &self.raw_paths {
            Some(raw) => Paths::Raw(raw),
            None => Paths::InRoot(self.root().get("paths")),
        }
    }

    /// Follows a fragment (without the `#`) in the root document, into its
    /// path items too when they are kept as text. `Ok(None)` when it leads
    /// nowhere.
    pub fn follow_in_root(&self, fragment: &str) -> Result<Option<&Value>, pointer::NotAPointer> {
        self.follow_in(&self.root, self.root(), fragment)
    }

    /// Follows `fragment` in the document `url`, whose value is `document`.
    fn follow_in<'s>(
        &'s self,
        url: &Url,
        document: &'s Value,
        fragment: &str,
    ) -> Result<Option<&'s Value>, pointer::NotAPointer> {
        let decoded = pointer::decode(fragment);
        if let Some(raw) = &self.raw_paths
            && url == &self.root
            && let Some(rest) = decoded.strip_prefix("/paths")
        {
            if rest.is_empty() {
                return Ok(Some(raw.whole()));
            }
            if let Some(rest) = rest.strip_prefix('/') {
                let (token, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                return match raw.kept(&pointer::unescape(token)) {
                    Some(item) => pointer::follow_decoded(item, tail),
                    None => Ok(None),
                };
            }
        }
        if let Some(unbuilt) = &self.unbuilt
            && url == &self.root
            && let Some(followed) = unbuilt.follow(&decoded)
        {
            return followed;
        }
        pointer::follow_decoded(document, &decoded)
    }

    /// The root document.
    pub fn root(&self) -> &Value {
        match self.documents.get(&self.root) {
            Some(Document::Loaded(v)) => v,
            // `new` checked it.
            _ => &Value::Null,
        }
    }

    /// The URL of the root document (a `file:` URL for files).
    pub fn root_url(&self) -> &Url {
        &self.root
    }

    /// The http(s) URL the spec was fetched from, if it was.
    pub fn fetched_from(&self) -> Option<&Url> {
        self.fetched_from.as_ref()
    }

    /// The dialect.
    pub fn version(&self) -> SpecVersion {
        self.version
    }

    /// The `openapi` or `swagger` field as written.
    pub fn version_string(&self) -> &str {
        &self.version_string
    }

    /// How many documents were loaded (the root included), and how many failed.
    pub fn document_counts(&self) -> (usize, usize) {
        let failed = self
            .documents
            .values()
            .filter(|d| matches!(d, Document::Failed(_)))
            .count();
        (self.documents.len(), failed)
    }

    /// The documents that could not be used, with the reason, sorted by URL.
    pub fn failed_documents(&self) -> Vec<(&Url, &str)> {
        let mut out: Vec<(&Url, &str)> = self
            .documents
            .iter()
            .filter_map(|(url, d)| match d {
                Document::Failed(reason) => Some((url, reason.as_str())),
                Document::Loaded(_) => None,
            })
            .collect();
        out.sort();
        out
    }

    /// Names a document the way a user would: a path relative to the root's folder
    /// for files, the URL otherwise.
    pub fn display_url(&self, url: &Url) -> String {
        display_relative(&self.root, url)
    }

    /// Follows one `$ref` string found in the document `base`.
    pub fn resolve_ref<'s>(
        &'s self,
        base: &Url,
        reference: &str,
    ) -> Result<Resolved<'s>, RefError> {
        // Local references, by far the most common, need no URL work.
        let joined;
        let (doc_url, fragment): (&Url, &str) = match reference.strip_prefix('#') {
            Some(fragment) => (base, fragment),
            None => {
                let target = base.join(reference).map_err(|e| RefError::Invalid {
                    reference: reference.to_string(),
                    reason: e.to_string(),
                })?;
                let fragment = reference.split_once('#').map_or("", |(_, f)| f);
                joined = document_url(target);
                (&joined, fragment)
            }
        };
        let (doc_key, document) =
            self.documents
                .get_key_value(doc_url)
                .ok_or_else(|| RefError::Document {
                    reference: reference.to_string(),
                    document: self.display_url(doc_url),
                    reason: "it was not loaded".to_string(),
                })?;
        let root = match document {
            Document::Loaded(v) => v,
            Document::Failed(reason) => {
                return Err(RefError::Document {
                    reference: reference.to_string(),
                    document: self.display_url(doc_url),
                    reason: reason.clone(),
                });
            }
        };
        let value = self
            .follow_in(doc_key, root, fragment)
            .map_err(|_| RefError::NotAPointer(reference.to_string()))?
            .ok_or_else(|| RefError::NotFound {
                reference: reference.to_string(),
                document: self.display_url(doc_url),
                pointer: format!("#{fragment}"),
            })?;
        Ok(Resolved {
            value,
            base: doc_key,
            via_ref: true,
        })
    }

    /// If `value` is a Reference Object (`{"$ref": "…"}`), follows it, and any
    /// reference it lands on, to a value that is not a reference. Otherwise returns
    /// `value` itself. Only call this where a Reference Object may stand.
    pub fn deref<'s>(&'s self, base: &'s Url, value: &'s Value) -> Result<Resolved<'s>, RefError> {
        let mut current = Resolved {
            value,
            base,
            via_ref: false,
        };
        for _ in 0..MAX_REF_CHAIN {
            match ref_of(current.value) {
                Some(reference) => current = self.resolve_ref(current.base, reference)?,
                None => return Ok(current),
            }
        }
        Err(RefError::Loop(
            ref_of(value).unwrap_or_default().to_string(),
        ))
    }

    /// A stable identity for the target of `reference` in `base`: the absolute URL
    /// with its fragment, for cycle detection and `$defs` names.
    pub fn ref_identity(&self, base: &Url, reference: &str) -> String {
        if let Some(fragment) = reference.strip_prefix('#') {
            format!("{}#{}", base.as_str(), fragment)
        } else {
            base.join(reference)
                .map(|u| u.to_string())
                .unwrap_or_else(|_| reference.to_string())
        }
    }
}

/// The document a reference URL points into: without its fragment, and without a
/// trailing slash after a file name (`./session.yml/#/x`, seen in real specs: a
/// folder is never a document).
pub fn document_url(mut url: Url) -> Url {
    url.set_fragment(None);
    if url.scheme() == "file" && url.path().len() > 1 && url.path().ends_with('/') {
        let trimmed = url.path().trim_end_matches('/').to_string();
        url.set_path(&trimmed);
    }
    url
}

/// Whether a document's text may `$ref` another document: `false` only when every
/// `$ref` in it is plainly local (`#…`) or plainly not a reference (a key whose
/// value is a mapping or a list: a property or a path named `$ref`; a reference
/// inside such a value is a `$ref` of its own, looked at in turn). A byte scan
/// far cheaper than walking the parsed tree, so single-file specs skip
/// [`external_documents`] and keep their path items as text.
pub fn may_reference_other_documents(text: &[u8]) -> bool {
    let space = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    memchr::memmem::find_iter(text, b"$ref").any(|at| {
        let rest = &text[at + 4..];
        // The key's closing quote, then the colon.
        let key_end = rest
            .iter()
            .position(|b| !matches!(b, b'"' | b'\'') && !space(b))
            .unwrap_or(rest.len());
        if rest.get(key_end) != Some(&b':') {
            // Not the key `$ref` (`$refs`, or `/users/{id}/$ref` as a value).
            return false;
        }
        let value = &rest[key_end + 1..];
        let first = value.iter().position(|b| !space(b)).map(|i| (i, value[i]));
        match first {
            // A mapping or a list is not a reference.
            Some((_, b'{' | b'[')) => false,
            Some((_, b'#')) => false,
            Some((i, b'"' | b'\'')) => value.get(i + 1) != Some(&b'#'),
            _ => true,
        }
    })
}

/// The `$ref` string of a Reference Object, if `value` is one.
pub fn ref_of(value: &Value) -> Option<&str> {
    value.field("$ref")?.as_str()
}

fn detect_version(root: &Value) -> Result<(SpecVersion, String), SpecError> {
    let map = match root {
        Value::Object(map) => map,
        Value::Array(_) => return Err(SpecError::NotAMapping("a list")),
        Value::String(_) => return Err(SpecError::NotAMapping("a string")),
        Value::Null => return Err(SpecError::NotAMapping("empty")),
        _ => return Err(SpecError::NotAMapping("a scalar")),
    };
    let as_text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if let Some(v) = map.get("openapi") {
        let s = as_text(v);
        return if s.starts_with("3.0") {
            Ok((SpecVersion::OpenApi30, s))
        } else if s.starts_with("3.") {
            Ok((SpecVersion::OpenApi31, s))
        } else {
            Err(SpecError::UnsupportedVersion(s))
        };
    }
    if let Some(v) = map.get("swagger") {
        let s = as_text(v);
        return if s == "2.0" || s == "2" {
            Ok((SpecVersion::Swagger2, s))
        } else {
            Err(SpecError::UnsupportedVersion(s))
        };
    }
    Err(SpecError::NotOpenApi)
}

/// Every document that `value` (living in `base`) references, as URLs without
/// fragments, in the order first seen. Only `$ref`s where a Reference Object may
/// stand count: literal data (`example`, `default`, `enum`, `const`, vendor
/// extensions) is not searched, and a schema property named `$ref` is an object,
/// not a reference.
pub fn external_documents(value: &Value, base: &Url) -> Vec<Result<Url, String>> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    collect_refs(value, base, &mut out, &mut seen, false, 0);
    out
}

/// Keys whose value maps names to objects: under them a key like `default` or
/// `value` is a name (a property called `value`), not a keyword.
const NAME_MAPS: &[&str] = &[
    "properties",
    "patternProperties",
    "definitions",
    "$defs",
    "schemas",
    "parameters",
    "responses",
    "requestBodies",
    "headers",
    "securitySchemes",
    "securityDefinitions",
    "examples",
    "links",
    "callbacks",
    "pathItems",
    "paths",
    "webhooks",
    "content",
    "encoding",
    "variables",
    "dependentSchemas",
];

/// Keys whose values are literal data, never references.
const LITERALS: &[&str] = &["example", "default", "enum", "const", "value"];

fn collect_refs(
    value: &Value,
    base: &Url,
    out: &mut Vec<Result<Url, String>>,
    seen: &mut std::collections::HashSet<String>,
    keys_are_names: bool,
    depth: usize,
) {
    if depth > parse::MAX_DEPTH * 2 {
        return;
    }
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if !keys_are_names {
                    if key == "$ref" {
                        if let Value::String(reference) = child
                            && !reference.starts_with('#')
                            && seen.insert(reference.split('#').next().unwrap_or("").to_string())
                        {
                            out.push(match base.join(reference) {
                                Ok(url) => Ok(document_url(url)),
                                Err(e) => Err(format!(
                                    "`$ref: {reference}` is not a valid reference: {e}"
                                )),
                            });
                        }
                        continue;
                    }
                    // `examples` is a map of Example Objects (which may be `$ref`s) in
                    // OpenAPI, but a list of literal values in a JSON Schema.
                    if LITERALS.contains(&key.as_str())
                        || key.starts_with("x-")
                        || (key == "examples" && child.is_array())
                    {
                        continue;
                    }
                }
                let names =
                    !keys_are_names && NAME_MAPS.contains(&key.as_str()) && child.is_object();
                collect_refs(child, base, out, seen, names, depth + 1);
            }
        }
        Value::Array(items) => {
            for item in items {
                collect_refs(item, base, out, seen, false, depth + 1);
            }
        }
        _ => {}
    }
}

/// `path` relative to the folder `dir` (`../common/Error.yaml`), both absolute.
fn relative_path(dir: &std::path::Path, path: &std::path::Path) -> std::path::PathBuf {
    let dir: Vec<_> = dir.components().collect();
    let target: Vec<_> = path.components().collect();
    let common = dir.iter().zip(&target).take_while(|(a, b)| a == b).count();
    let mut out = std::path::PathBuf::new();
    for _ in common..dir.len() {
        out.push("..");
    }
    for component in &target[common..] {
        out.push(component.as_os_str());
    }
    out
}

/// For `file:` URLs, a path relative to the root's folder; the URL otherwise.
pub fn display_relative(root: &Url, url: &Url) -> String {
    if url.scheme() == "file"
        && root.scheme() == "file"
        && let (Ok(root_path), Ok(path)) = (root.to_file_path(), url.to_file_path())
    {
        if let Some(dir) = root_path.parent() {
            return relative_path(dir, &path).display().to_string();
        }
        return path.display().to_string();
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(docs: Vec<(&str, Value)>) -> Spec {
        let root = Url::parse(docs[0].0).unwrap();
        let documents = docs
            .into_iter()
            .map(|(u, v)| (Url::parse(u).unwrap(), Document::Loaded(v)))
            .collect();
        Spec::new(root, documents, None).unwrap()
    }

    /// The path items of a JSON root, kept as text.
    fn raw_paths(text: &[u8]) -> RawPaths {
        let bytes = Arc::new(text.to_vec());
        let parsed = parse::parse_root(&bytes, DEFAULT_MAX_BYTES, None).unwrap();
        RawPaths::new(bytes, parsed.paths.unwrap())
    }

    #[test]
    fn converted_path_items_are_given_back_and_never_read_again() {
        // Three path items of 1.5 MB each, so that each step gives text back.
        let filler = "x".repeat(1_500_000);
        let text = format!(
            r##"{{"openapi": "3.0.3", "paths": {{
              "/a": {{"get": {{"operationId": "a", "description": "{filler}"}}}},
              "/b": {{"get": {{"operationId": "b", "description": "{filler}",
                     "parameters": [{{"$ref": "#/components/parameters/id"}}]}}}},
              "/c": {{"get": {{"operationId": "c", "description": "{filler}"}}}}}},
              "components": {{"parameters": {{"id": {{"name": "id", "in": "query"}}}}}}}}"##
        );
        let paths = raw_paths(text.as_bytes());
        let items = paths.items();
        // Nothing is given back until the owner asks for it.
        paths.converted(0);
        assert!(paths.parse(&items[0]).is_ok());
        assert!(paths.give_back_as_converted());
        paths.converted(0);
        assert_eq!(paths.parse(&items[0]).err(), Some(ParseError::GivenBack));
        assert_eq!(
            paths.parse_operations(&items[1]).unwrap()["get"]["operationId"],
            "b"
        );
        paths.converted(1);
        assert_eq!(
            paths.operation_ids(&items[1]).err(),
            Some(ParseError::GivenBack)
        );
        assert_eq!(paths.parse(&items[2]).unwrap()["get"]["operationId"], "c");
        // A copy reads no more than the original, and gives nothing back.
        let copy = paths.clone();
        assert_eq!(copy.parse(&items[1]).err(), Some(ParseError::GivenBack));
        copy.converted(2);
        assert!(copy.parse(&items[2]).is_ok());
    }

    #[test]
    fn nothing_is_given_back_where_a_reference_may_lead_into_paths() {
        for text in [
            r##"{"paths": {"/a": {"get": {}}, "/b": {"$ref": "#/paths/~1a"}}}"##,
            r##"{"paths": {"/a": {"get": {}}, "/b": {"$ref": "#/p%61ths/~1a"}}}"##,
            r##"{"paths": {"/a": {"get": {}}, "/b": {"\u0024ref": "#/components/x"}}}"##,
            r##"{"paths": {"/a": {"get": {}}, "/b": {"$ref" : "#/components/pathItems/p"}},
                "components": {"pathItems": {"p": {"$ref": "#/paths/~1a"}}}}"##,
        ] {
            assert!(refs_may_lead_into_paths(text.as_bytes()), "{text}");
        }
        let plain = r##"{"paths": {"/a": {"get": {"parameters": [{"$ref": "#/components/parameters/id"}]}}},
            "components": {"parameters": {"id": {"name": "id", "in": "query"}},
                           "schemas": {"Ref": {"properties": {"$ref": {"type": "string"}}}}}}"##;
        assert!(!refs_may_lead_into_paths(plain.as_bytes()));
        // Paths of less than a megabyte are not worth it.
        assert!(!raw_paths(plain.as_bytes()).give_back_as_converted());
        // Large ones are, unless a reference may lead into them.
        let filler = "x".repeat(1_200_000);
        let large = |reference: &str| {
            format!(
                r##"{{"paths": {{"/a": {{"get": {{"description": "{filler}"}}}},
                   "/b": {{"get": {{"parameters": [{{"$ref": "{reference}"}}]}}}}}}}}"##
            )
        };
        let plain = large("#/components/parameters/id");
        assert!(raw_paths(plain.as_bytes()).give_back_as_converted());
        let into_paths = large("#/paths/~1a/get/parameters/0");
        assert!(!raw_paths(into_paths.as_bytes()).give_back_as_converted());
    }

    #[test]
    fn references_into_path_items_kept_as_text_resolve() {
        let text = br##"{"openapi": "3.0.3", "paths": {
            "/a/{id}": {"parameters": [{"name": "id", "in": "path"}],
                        "get": {"parameters": [{"$ref": "#/paths/~1a~1%7Bid%7D/parameters/0"}]}},
            "/b": {"$ref": "#/paths/~1a~1{id}"}}}"##;
        let bytes = Arc::new(text.to_vec());
        let parsed = parse::parse_root(&bytes, DEFAULT_MAX_BYTES, None).unwrap();
        let url = Url::parse("file:///spec.json").unwrap();
        let documents = HashMap::from([(url.clone(), Document::Loaded(parsed.value))]);
        let spec = Spec::new(url.clone(), documents, None)
            .unwrap()
            .with_raw_paths(RawPaths::new(bytes, parsed.paths.unwrap()));
        assert!(spec.root().get("paths").is_none());
        assert!(matches!(spec.paths(), Paths::Raw(raw) if raw.items().len() == 2));

        let parameter = spec
            .resolve_ref(&url, "#/paths/~1a~1%7Bid%7D/parameters/0")
            .unwrap();
        assert_eq!(parameter.value, &json!({"name": "id", "in": "path"}));
        // A path item that is a reference leads to the one it names.
        let b = spec.follow_in_root("/paths/~1b").unwrap().unwrap();
        let item = spec.deref(&url, b).unwrap();
        assert_eq!(
            item.value["get"]["parameters"][0]["$ref"],
            "#/paths/~1a~1%7Bid%7D/parameters/0"
        );
        // All of `paths`, in order.
        let whole = spec.resolve_ref(&url, "#/paths").unwrap().value;
        assert_eq!(
            whole.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["/a/{id}", "/b"]
        );
        assert!(matches!(
            spec.resolve_ref(&url, "#/paths/~1c"),
            Err(RefError::NotFound { .. })
        ));
        assert!(matches!(
            spec.resolve_ref(&url, "#/paths/~1b/get"),
            Err(RefError::NotFound { .. })
        ));
        assert_eq!(spec.follow_in_root("/openapi"), Ok(Some(&json!("3.0.3"))));
    }

    #[test]
    fn members_left_as_text_resolve_where_a_reference_leads() {
        let text = br##"{"openapi": "3.0.3", "x-webhooks": {"ping": {"post": {}}},
            "components": {"examples": {"first": {"value": {"id": 1}}},
                           "schemas": {"Id": {"type": "integer"}},
                           "examples": {"first": {"value": {"id": 2}}, "a/b": {"value": 3}}},
            "tags": [{"name": "t"}], "x-a/b": [1], "paths": {}}"##;
        let bytes = Arc::new(text.to_vec());
        let parsed = parse::parse_root(&bytes, DEFAULT_MAX_BYTES, None).unwrap();
        let pointers: Vec<&str> = parsed.unbuilt.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            pointers,
            [
                "/x-webhooks",
                "/components/schemas/Id",
                "/components/examples/first",
                "/components/examples/a~1b",
                "/tags",
                "/x-a~1b"
            ]
        );
        // Read whole, the same document has them all; left as text, none.
        let (whole, _) = parse::parse_document(text, DEFAULT_MAX_BYTES).unwrap();
        assert_eq!(whole["components"]["examples"]["first"]["value"]["id"], 2);
        assert_eq!(parsed.value["components"], json!({}));
        assert!(parsed.value.get("x-webhooks").is_none() && parsed.value.get("tags").is_none());

        let url = Url::parse("file:///spec.json").unwrap();
        let documents = HashMap::from([(url.clone(), Document::Loaded(parsed.value))]);
        let spec = Spec::new(url.clone(), documents, None)
            .unwrap()
            .with_raw_paths(RawPaths::new(Arc::clone(&bytes), parsed.paths.unwrap()))
            .with_unbuilt(Unbuilt::new(bytes, parsed.unbuilt));
        // The last text of a member given twice, as a JSON object keeps it.
        let example = spec
            .resolve_ref(&url, "#/components/examples/first/value")
            .unwrap();
        assert_eq!(example.value, &json!({"id": 2}));
        assert_eq!(
            spec.resolve_ref(&url, "#/components/examples/a~1b/value")
                .unwrap()
                .value,
            &json!(3)
        );
        assert_eq!(spec.follow_in_root("/x-a~1b/0"), Ok(Some(&json!(1))));
        assert_eq!(
            spec.follow_in_root("/tags"),
            Ok(Some(&json!([{"name": "t"}])))
        );
        assert_eq!(
            spec.follow_in_root("/components/schemas/Id/type"),
            Ok(Some(&json!("integer")))
        );
        // A kind of component, whole, its entries in order.
        assert_eq!(
            spec.resolve_ref(&url, "#/components/examples")
                .unwrap()
                .value,
            &json!({"first": {"value": {"id": 2}}, "a/b": {"value": 3}})
        );
        // A pointer that only starts like a member's does not lead into it.
        assert_eq!(spec.follow_in_root("/tagsx"), Ok(None));
        assert_eq!(spec.follow_in_root("/components/schemasx/Id"), Ok(None));
        assert!(matches!(
            spec.resolve_ref(&url, "#/components/examples/second"),
            Err(RefError::NotFound { .. })
        ));
    }

    #[test]
    fn members_too_deep_or_of_the_wrong_shape_are_read_whole() {
        let nested = |levels: usize| format!("{}1{}", "[".repeat(levels), "]".repeat(levels));
        for (text, left) in [
            // Deep, but within what serde_json reads: read whole, and read.
            (
                format!(r#"{{"openapi": "3.0.3", "x-deep": {}}}"#, nested(110)),
                false,
            ),
            (
                format!(r#"{{"openapi": "3.0.3", "x-deep": {}}}"#, nested(90)),
                true,
            ),
            (
                r#"{"openapi": "3.0.3", "components": [1]}"#.to_string(),
                false,
            ),
            (
                r#"{"openapi": "3.0.3", "components": {"schemas": 1}}"#.to_string(),
                false,
            ),
        ] {
            let parsed = parse::parse_root(text.as_bytes(), DEFAULT_MAX_BYTES, None).unwrap();
            let (whole, _) = parse::parse_document(text.as_bytes(), DEFAULT_MAX_BYTES).unwrap();
            assert_eq!(!parsed.unbuilt.is_empty(), left, "{text}");
            if !left {
                assert_eq!(parsed.value, whole);
            }
        }
        // Too deep for serde_json: the same error, where the whole parse finds it.
        let text = format!(r#"{{"openapi": "3.0.3", "x-deep": {}}}"#, nested(200));
        assert_eq!(
            parse::parse_root(text.as_bytes(), DEFAULT_MAX_BYTES, None).map(|p| p.value),
            parse::parse_document(text.as_bytes(), DEFAULT_MAX_BYTES).map(|(v, _)| v)
        );
        assert!(parse::parse_document(text.as_bytes(), DEFAULT_MAX_BYTES).is_err());
    }

    #[test]
    fn detects_versions() {
        assert_eq!(
            detect_version(&json!({"openapi": "3.0.3"})).unwrap().0,
            SpecVersion::OpenApi30
        );
        assert_eq!(
            detect_version(&json!({"openapi": "3.1.0"})).unwrap().0,
            SpecVersion::OpenApi31
        );
        assert_eq!(
            detect_version(&json!({"swagger": "2.0"})).unwrap().0,
            SpecVersion::Swagger2
        );
        assert_eq!(
            detect_version(&json!({"openapi": "4.0"})).unwrap_err(),
            SpecError::UnsupportedVersion("4.0".into())
        );
        assert_eq!(
            detect_version(&json!({"info": {}})).unwrap_err(),
            SpecError::NotOpenApi
        );
    }

    #[test]
    fn follows_chains_across_documents() {
        let s = spec(vec![
            (
                "file:///api/root.yaml",
                json!({"openapi": "3.0.0", "a": {"$ref": "sub/b.yaml#/B"}}),
            ),
            (
                "file:///api/sub/b.yaml",
                json!({"B": {"$ref": "../c.yaml"}}),
            ),
            (
                "file:///api/c.yaml",
                json!({"type": "string", "d": {"$ref": "./sub/b.yaml/#/B"}}),
            ),
        ]);
        let c = s.deref(s.root_url(), &s.root()["a"]).unwrap();
        let again = s.deref(c.base, &c.value["d"]).unwrap();
        assert_eq!(again.base.as_str(), "file:///api/c.yaml");
        let r = s.deref(s.root_url(), &s.root()["a"]).unwrap();
        assert_eq!(r.value["type"], json!("string"));
        assert_eq!(r.base.as_str(), "file:///api/c.yaml");
    }

    #[test]
    fn reports_missing_targets_and_loops() {
        let s = spec(vec![(
            "file:///api/root.yaml",
            json!({"openapi": "3.0.0", "a": {"$ref": "#/b"}, "b": {"$ref": "#/a"}, "c": {"$ref": "#/nope"}}),
        )]);
        assert!(matches!(
            s.deref(s.root_url(), &s.root()["a"]),
            Err(RefError::Loop(_))
        ));
        assert!(matches!(
            s.deref(s.root_url(), &s.root()["c"]),
            Err(RefError::NotFound { .. })
        ));
        let missing = s
            .deref(s.root_url(), &json!({"$ref": "other.yaml#/X"}))
            .unwrap_err();
        assert!(missing.to_string().contains("other.yaml"), "{missing}");
    }

    #[test]
    fn the_byte_scan_spots_every_reference_to_another_document() {
        assert!(!may_reference_other_documents(
            b"{\"$ref\": \"#/a\", \"b\": {\"$ref\":\"#/c\"}}"
        ));
        assert!(!may_reference_other_documents(
            b"a:\n  $ref: '#/a'\nb: {$ref: \"#/b\"}\n"
        ));
        assert!(may_reference_other_documents(
            b"a:\n  $ref: other.yaml#/a\n"
        ));
        assert!(may_reference_other_documents(b"{\"$ref\": \"other.json\"}"));
        // A property or a path named $ref is not a reference; one inside it is.
        assert!(!may_reference_other_documents(
            b"properties:\n  $ref: {type: string}\n"
        ));
        assert!(!may_reference_other_documents(
            b"{\"paths\": {\"/users/{id}/$ref\": {\"get\": {}}}, \"x\": {\"$ref\" : [1]}}"
        ));
        assert!(may_reference_other_documents(
            b"properties:\n  $ref: {$ref: other.yaml}\n"
        ));
        assert!(may_reference_other_documents(
            b"{\"properties\": {\"$ref\": {\"$ref\": \"other.json#/a\"}}}"
        ));
        assert!(may_reference_other_documents(b"$ref:\n  other.yaml\n"));
        assert!(!may_reference_other_documents(b"openapi: 3.0.0\n"));
    }

    #[test]
    fn names_documents_relative_to_the_root() {
        let root = Url::parse("file:///api/spec/root.yaml").unwrap();
        let other = Url::parse("file:///api/common/Error.yaml").unwrap();
        assert_eq!(display_relative(&root, &other), "../common/Error.yaml");
        let inside = Url::parse("file:///api/spec/sub/x.yaml").unwrap();
        assert_eq!(display_relative(&root, &inside), "sub/x.yaml");
    }

    #[test]
    fn finds_external_documents_but_not_literal_data() {
        let base = Url::parse("file:///api/root.yaml").unwrap();
        let doc = json!({
            "a": {"$ref": "one.yaml#/X"},
            "b": {"$ref": "one.yaml#/Y"},
            "c": {"properties": {"$ref": {"type": "string"}}},
            "d": {"example": {"$ref": "literal.yaml"}},
            "e": [{"$ref": "two.json"}],
            "f": {"$ref": "#/local"},
            "g": {"properties": {"value": {"$ref": "three.yaml"}, "default": {"$ref": "four.yaml#/D"}}},
            "h": {"examples": {"first": {"$ref": "five.yaml"}}, "enum": [{"$ref": "no.yaml"}]}
        });
        let found: Vec<String> = external_documents(&doc, &base)
            .into_iter()
            .map(|u| u.unwrap().to_string())
            .collect();
        assert_eq!(
            found,
            vec![
                "file:///api/one.yaml",
                "file:///api/two.json",
                "file:///api/three.yaml",
                "file:///api/four.yaml",
                "file:///api/five.yaml"
            ]
        );
    }
}
