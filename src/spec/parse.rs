//! Bytes → `serde_json::Value`, for JSON and YAML, with limits and errors that say
//! where (line and column) and what to do.

use std::ops::Range;

use serde::Deserialize;
use serde::de::{DeserializeSeed, Visitor};
use serde_json::Value;

mod operation_ids;
mod yaml;

pub use operation_ids::{OperationIds, path_item_operation_ids};

/// The largest document read unless the caller says otherwise: 64 MiB.
pub const DEFAULT_MAX_BYTES: usize = 64 * 1024 * 1024;

/// How deep a document may nest. Both parsers refuse deeper input themselves;
/// the number is here so error messages can say it.
pub const MAX_DEPTH: usize = 128;

/// Which syntax a document was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// JSON.
    Json,
    /// YAML 1.2.
    Yaml,
}

/// Why a document could not be parsed. Line and column are 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The document is larger than the limit.
    #[error(
        "the document is {size} bytes, over the limit of {limit} bytes; raise it with --max-size if the spec is really this large"
    )]
    TooLarge {
        /// Size of the document.
        size: usize,
        /// The limit in force.
        limit: usize,
    },
    /// The bytes are not UTF-8.
    #[error("line {line}, column {column}: the document is not valid UTF-8; save it as UTF-8")]
    NotUtf8 {
        /// Line of the first invalid byte.
        line: usize,
        /// Column of the first invalid byte.
        column: usize,
    },
    /// A syntax error.
    #[error("line {line}, column {column}: invalid {syntax}: {message}")]
    Syntax {
        /// `JSON` or `YAML`.
        syntax: &'static str,
        /// Line of the error.
        line: usize,
        /// Column of the error.
        column: usize,
        /// The parser's own words.
        message: String,
    },
    /// Nested deeper than [`MAX_DEPTH`].
    #[error(
        "line {line}, column {column}: the document nests deeper than {MAX_DEPTH} levels; no OpenAPI spec needs that"
    )]
    TooDeep {
        /// Where the limit was reached.
        line: usize,
        /// Where the limit was reached.
        column: usize,
    },
    /// YAML aliases that would expand far beyond the document ("billion laughs").
    #[error(
        "YAML aliases (*name) expand to far more than the document itself; refusing to expand them"
    )]
    AliasBomb,
    /// The document is empty.
    #[error("the document is empty")]
    Empty,
    /// Text read after it was given back ([`crate::spec::RawPaths::give_back_as_converted`]).
    #[error("the text of this path item was given back once its operations were converted")]
    GivenBack,
}

/// Parses a JSON or YAML document whose name says nothing about its syntax:
/// JSON when the text starts like JSON (`{` or `[`), falling back to YAML (a flow
/// style YAML document also starts with `{`); YAML otherwise.
pub fn parse_document(bytes: &[u8], max_bytes: usize) -> Result<(Value, Syntax), ParseError> {
    parse_document_as(bytes, max_bytes, None)
}

/// Parses a document whose name says which syntax it claims (`Syntax::from_name`).
/// A document named `.json` is strict JSON: YAML would accept a trailing comma
/// that every JSON tool rejects.
pub fn parse_document_as(
    bytes: &[u8],
    max_bytes: usize,
    claimed: Option<Syntax>,
) -> Result<(Value, Syntax), ParseError> {
    parse_with(bytes, max_bytes, claimed, false).map(|parsed| (parsed.value, parsed.syntax))
}

/// A spec's root document as [`parse_root`] reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedRoot {
    /// The document; without its `paths` member when `paths` is `Some`.
    pub value: Value,
    /// Which syntax it was read as.
    pub syntax: Syntax,
    /// A JSON document's `paths`, when it is a mapping: each path item's key and
    /// the byte range of its JSON text in the bytes parsed, in order (a key given
    /// twice appears twice; the later one wins). Checked as JSON and for depth,
    /// so that parsing a range again cannot fail; not built into a `Value`.
    pub paths: Option<Vec<(String, Range<usize>)>>,
    /// A JSON document's members that conversion reads only where a `$ref`
    /// leads, left as text: the root's [`UNBUILT_ROOT`] and extensions, each
    /// of the entries of `components`' [`UNBUILT_COMPONENTS`]. Each one's JSON
    /// pointer (`/x-webhooks`, `/components/schemas/Pet`) and the byte range of
    /// its text, in document order; a pointer given twice, the later range
    /// wins. Checked as JSON and for depth; not in [`ParsedRoot::value`] (a
    /// kind of component with no entries is, as an empty mapping).
    pub unbuilt: Vec<(String, Range<usize>)>,
}

/// [`parse_document_as`] for a spec's root document: the same checks, errors and
/// value, except that a JSON document's path items are left as text
/// ([`ParsedRoot::paths`]). Most of a large spec is its paths, and a path item is
/// needed only while its operations are converted: a `Value` is about ten times
/// the size of its text.
pub fn parse_root(
    bytes: &[u8],
    max_bytes: usize,
    claimed: Option<Syntax>,
) -> Result<ParsedRoot, ParseError> {
    parse_with(bytes, max_bytes, claimed, true)
}

/// Parses the JSON text of one path item that [`parse_root`] left as text.
pub fn parse_path_item(text: &[u8]) -> Result<Value, ParseError> {
    let text = utf8(text)?;
    parse_json(text).map_err(|e| from_json_error(&e))
}

/// Parses the JSON text of a member [`parse_root`] left unbuilt
/// ([`ParsedRoot::unbuilt`]).
pub fn parse_unbuilt(text: &[u8]) -> Result<Value, ParseError> {
    parse_path_item(text)
}

/// [`parse_path_item`] for its operations' conversion: the same checks and
/// errors, but each operation's `responses`, `callbacks` and `externalDocs` are
/// read without being built, and are not in the value.
pub fn parse_path_item_operations(text: &[u8]) -> Result<Value, ParseError> {
    let text = utf8(text)?;
    parse_json_building(text, Unread::InOperations).map_err(|e| from_json_error(&e))
}

/// The bytes as text, or where the first byte that is not UTF-8 is.
fn utf8(bytes: &[u8]) -> Result<&str, ParseError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let (line, column) = line_column(bytes, e.valid_up_to());
        ParseError::NotUtf8 { line, column }
    })
}

fn parse_with(
    bytes: &[u8],
    max_bytes: usize,
    claimed: Option<Syntax>,
    lazy_paths: bool,
) -> Result<ParsedRoot, ParseError> {
    if bytes.len() > max_bytes {
        return Err(ParseError::TooLarge {
            size: bytes.len(),
            limit: max_bytes,
        });
    }
    let bom = if bytes.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let bytes = &bytes[bom..];
    let text = utf8(bytes)?;
    let yaml = |value| ParsedRoot {
        value,
        syntax: Syntax::Yaml,
        paths: None,
        unbuilt: Vec::new(),
    };
    let first = text.trim_start().bytes().next();
    let json = if lazy_paths && first == Some(b'{') {
        parse_json_lazy_paths(text)
    } else {
        parse_json(text).map(LazyRead::whole)
    };
    let shift = |ranges: PathRanges| -> PathRanges {
        ranges
            .into_iter()
            .map(|(key, range)| (key, range.start + bom..range.end + bom))
            .collect()
    };
    match first {
        None => Err(ParseError::Empty),
        Some(b'{') | Some(b'[') => match json {
            Ok(read) => Ok(ParsedRoot {
                value: read.value,
                syntax: Syntax::Json,
                paths: read.paths.map(shift),
                unbuilt: shift(read.unbuilt),
            }),
            Err(json_error) if claimed == Some(Syntax::Json) => Err(from_json_error(&json_error)),
            // Too deep as JSON is too deep as YAML: parsing it again would only
            // cost time (the YAML parser's is quadratic in flow nesting).
            Err(json_error)
                if matches!(from_json_error(&json_error), ParseError::TooDeep { .. }) =>
            {
                Err(from_json_error(&json_error))
            }
            Err(json_error) => match parse_yaml(text) {
                Ok(value) => Ok(yaml(value)),
                Err(yaml_error) if claimed == Some(Syntax::Yaml) => Err(yaml_error),
                Err(yaml_error @ ParseError::TooDeep { .. }) => Err(yaml_error),
                Err(_) => Err(from_json_error(&json_error)),
            },
        },
        Some(_) => parse_yaml(text).map(yaml),
    }
}

impl Syntax {
    /// The syntax a file or URL path claims by its extension, if any.
    pub fn from_name(name: &str) -> Option<Syntax> {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".json") {
            Some(Syntax::Json)
        } else if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            Some(Syntax::Yaml)
        } else {
            None
        }
    }
}

/// `serde_json::from_str::<Value>`, the same value and the same errors (the same
/// deserializer reads it: recursion limit, trailing characters, line and
/// column), but each object's map and each array is built at its final size:
/// its members or items are gathered first (on a scratch stack for the whole
/// document), then moved into a map or vector of exactly that capacity.
/// serde_json's grow by doubling, which leaves up to half of each one's slots
/// unused (and rehashes maps as they grow).
fn parse_json(text: &str) -> Result<Value, serde_json::Error> {
    parse_json_building(text, Unread::Nothing)
}

/// [`parse_json`], leaving out of the value what `unread` says.
fn parse_json_building(text: &str, unread: Unread) -> Result<Value, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let mut members = Vec::new();
    let mut items = Vec::new();
    let value = ExactJson {
        members: &mut members,
        items: &mut items,
        unread,
    }
    .deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

/// A JSON value, read as serde_json's own `Value` visitor reads it but for the
/// size of its maps and arrays. `members` holds the members of the objects
/// being read, `items` the items of the arrays being read, the innermost last.
struct ExactJson<'a> {
    members: &'a mut Vec<(String, Value)>,
    items: &'a mut Vec<Value>,
    /// What of this value is read and checked but not built.
    unread: Unread,
}

/// What of a value conversion never reads, so that parsing it need not build it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unread {
    /// Nothing: all of it is built.
    Nothing,
    /// A path item: of each operation, [`Unread::OperationMembers`].
    InOperations,
    /// An operation: its `responses`, `callbacks` and `externalDocs`, which an
    /// action does not use. They are a seventh to three quarters of the text of
    /// a large spec's paths.
    OperationMembers,
}

impl Unread {
    /// What of the member `key` of a mapping read as `self` is not built;
    /// `None` when none of it is.
    fn member(self, key: &str) -> Option<Unread> {
        match self {
            Unread::Nothing => Some(Unread::Nothing),
            Unread::InOperations if super::HTTP_METHODS.contains(&key) => {
                Some(Unread::OperationMembers)
            }
            Unread::InOperations => Some(Unread::Nothing),
            Unread::OperationMembers
                if matches!(key, "responses" | "callbacks" | "externalDocs") =>
            {
                None
            }
            Unread::OperationMembers => Some(Unread::Nothing),
        }
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for ExactJson<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for ExactJson<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any valid JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let (members, items) = (self.members, self.items);
        let start = items.len();
        while let Some(item) = seq.next_element_seed(ExactJson {
            members: &mut *members,
            items: &mut *items,
            unread: Unread::Nothing,
        })? {
            items.push(item);
        }
        // Collected from a drain: a vector of exactly that many items.
        Ok(Value::Array(items.drain(start..).collect()))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let (members, items) = (self.members, self.items);
        let start = members.len();
        while let Some(key) = map.next_key::<String>()? {
            let Some(unread) = self.unread.member(&key) else {
                map.next_value_seed(Skip)?;
                continue;
            };
            let value = map.next_value_seed(ExactJson {
                members: &mut *members,
                items: &mut *items,
                unread,
            })?;
            members.push((key, value));
        }
        Ok(object_of(members, start))
    }
}

/// The object of the members read from `start` on, taken off the stack. In
/// order: a repeated key keeps its first place and its last value, as
/// serde_json's `insert` does.
fn object_of(members: &mut Vec<(String, Value)>, start: usize) -> Value {
    let mut out = serde_json::Map::with_capacity(members.len() - start);
    for (key, value) in members.drain(start..) {
        out.insert(key, value);
    }
    Value::Object(out)
}

/// The byte ranges of a document's path items, by key.
type PathRanges = Vec<(String, Range<usize>)>;

/// [`parse_json`] of a document whose text starts with `{`, leaving its path
/// items as text: the root's `paths` member, when it is a mapping, is not in
/// the value, and each of its members is returned as its key and range in
/// `text`.
///
/// One pass of the same deserializer reads everything: the path items are
/// walked ([`Skip`]) but not built, so they are checked as JSON and for depth
/// by serde_json itself, at their depth in the document. A path item's range
/// runs from after its key's colon to before the comma or brace that ends it,
/// found from where the keys are in `text` (a key without escapes is read in
/// place). A document this cannot place (a key with escapes around its
/// `paths`), one whose `paths` is not a mapping, and one that fails, is parsed
/// again whole: the value, or the
/// error at its line and column, is then exactly [`parse_json`]'s.
fn parse_json_lazy_paths(text: &str) -> Result<LazyRead, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let mut members = Vec::new();
    let mut items = Vec::new();
    let read = LazyRoot {
        text,
        members: &mut members,
        items: &mut items,
    }
    .deserialize(&mut deserializer)
    .and_then(|read| deserializer.end().map(|()| read));
    match read {
        Ok(Some(read)) => Ok(read),
        Ok(None) | Err(_) => parse_json(text).map(LazyRead::whole),
    }
}

/// A JSON root document as [`parse_json_lazy_paths`] reads it.
struct LazyRead {
    /// Without `paths` when `paths` is `Some`, and without the `unbuilt` members.
    value: Value,
    paths: Option<PathRanges>,
    /// The members left as text, by JSON pointer.
    unbuilt: PathRanges,
}

impl LazyRead {
    /// A document read whole.
    fn whole(value: Value) -> LazyRead {
        LazyRead {
            value,
            paths: None,
            unbuilt: Vec::new(),
        }
    }
}

/// Members of the root that conversion reads only where a `$ref` leads, so
/// that [`parse_root`] leaves them as text: extensions (GitHub's
/// `x-webhooks`), `tags`, `externalDocs`, and Swagger 2.0's shared `responses`.
pub const UNBUILT_ROOT: [&str; 3] = ["tags", "externalDocs", "responses"];

/// The kinds of `components` that conversion reads only where a `$ref`
/// leads, so that [`parse_root`] leaves each of their entries as text: GitHub's
/// operations reach 40 of its 582 schemas, Stripe's none of its 561, and its
/// examples are a fifth of the file. (`securitySchemes` is read whole.)
pub const UNBUILT_COMPONENTS: [&str; 8] = [
    "schemas",
    "parameters",
    "requestBodies",
    "examples",
    "responses",
    "headers",
    "links",
    "callbacks",
];

/// Nesting beyond which a member is not left as text: parsed alone it must
/// stay within serde_json's limit, and a document nested this deep is parsed
/// whole, which says so where it is too deep.
const UNBUILT_MAX_NESTING: usize = 100;

/// Where `raw`, a value read in place from `text`, lies in it; `None` when it
/// is not in place, or nests too deep to be left as text.
fn unbuilt_range(text: &str, raw: &serde_json::value::RawValue) -> Option<Range<usize>> {
    let raw = raw.get();
    let start = offset_in(text, raw)?;
    (!nests_deeper_than(raw.as_bytes(), UNBUILT_MAX_NESTING)).then_some(start..start + raw.len())
}

/// Whether the arrays and objects of `json`, valid JSON, nest deeper than
/// `limit`.
fn nests_deeper_than(json: &[u8], limit: usize) -> bool {
    // Most values open too few arrays and objects to be that deep: counting
    // them is quicker than following them.
    if memchr::memchr2_iter(b'[', b'{', json)
        .take(limit + 1)
        .count()
        <= limit
    {
        return false;
    }
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(at) = json.get(i..).and_then(|rest| {
        rest.iter()
            .position(|&b| matches!(b, b'"' | b'[' | b'{' | b']' | b'}'))
    }) {
        let at = i + at;
        match json[at] {
            b'"' => match double_quoted_end(json, at + 1) {
                Some(end) => i = end + 1,
                None => return false,
            },
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
                i = at + 1;
            }
            _ => {
                depth = depth.saturating_sub(1);
                i = at + 1;
            }
        }
    }
    false
}

/// Where a key was read in the text: its offset, for a key read in place.
fn offset_in(text: &str, key: &str) -> Option<usize> {
    let offset = (key.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
    (offset + key.len() <= text.len()).then_some(offset)
}

/// The end of the value before `at` (the offset of the next key's opening
/// quote, or of a closing brace): back over whitespace, then `separator` if
/// given, then whitespace.
fn end_before(text: &str, at: usize, separator: Option<u8>) -> Option<usize> {
    let before = text.get(..at)?.trim_end_matches(is_json_space);
    let before = match separator {
        Some(separator) => before
            .strip_suffix(char::from(separator))?
            .trim_end_matches(is_json_space),
        None => before,
    };
    Some(before.len())
}

fn is_json_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// A key, borrowed from the text when it has no escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = std::borrow::Cow<'de, str>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = std::borrow::Cow<'de, str>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(std::borrow::Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(std::borrow::Cow::Owned(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(std::borrow::Cow::Owned(v))
    }
}

/// Any JSON value, read and checked but not kept.
struct Skip;

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any valid JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Skip)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key_seed(Skip)?.is_some() {
            map.next_value_seed(Skip)?;
        }
        Ok(())
    }
}

/// The root object of a JSON document, read like [`ExactJson`] but for
/// `paths`. `None` when the path items cannot be placed in the text.
struct LazyRoot<'t, 'a> {
    text: &'t str,
    members: &'a mut Vec<(String, Value)>,
    items: &'a mut Vec<Value>,
}

/// A `paths` mapping read, whose last item's end is known once the text after
/// it is: each item's key and where its value starts, the last one's range
/// still open.
struct OpenPaths {
    ranges: PathRanges,
}

impl OpenPaths {
    /// The ranges, the last item ending before the brace that closes `paths`,
    /// which is at `close`.
    fn close(mut self, text: &str, close: usize) -> Option<PathRanges> {
        if let Some((_, last)) = self.ranges.last_mut() {
            last.end = end_before(text, close, None)?;
        }
        Some(self.ranges)
    }
}

impl<'de> DeserializeSeed<'de> for LazyRoot<'_, '_> {
    type Value = Option<LazyRead>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for LazyRoot<'_, '_> {
    type Value = Option<LazyRead>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let LazyRoot {
            text,
            members,
            items,
        } = self;
        let start = members.len();
        let mut paths: Option<PathRanges> = None;
        let mut open: Option<OpenPaths> = None;
        let mut unbuilt: PathRanges = Vec::new();
        while let Some(key) = map.next_key_seed(Key)? {
            if let Some(open) = open.take() {
                // `paths` closes before this key: `}`, whitespace, `,`.
                let Some(close) = offset_in(text, &key)
                    .and_then(|at| at.checked_sub(1))
                    .and_then(|quote| end_before(text, quote, Some(b',')))
                    .and_then(|brace| brace.checked_sub(1))
                    .and_then(|brace| open.close(text, brace))
                else {
                    return Ok(None);
                };
                paths = Some(close);
            }
            if key == "paths" {
                // The last `paths` wins, as it does in a map.
                if let Some(i) = members[start..].iter().position(|(k, _)| k == "paths") {
                    members.remove(start + i);
                }
                paths = None;
                match map.next_value_seed(LazyPaths { text })? {
                    PathsRead::Open(read) => open = Some(read),
                    PathsRead::Unplaced => return Ok(None),
                }
                continue;
            }
            if key.starts_with("x-") || UNBUILT_ROOT.contains(&&*key) {
                let raw: &serde_json::value::RawValue = map.next_value()?;
                let Some(range) = unbuilt_range(text, raw) else {
                    return Ok(None);
                };
                unbuilt.push((format!("/{}", super::pointer::escape(&key)), range));
                continue;
            }
            let value = if key == "components" {
                // The last `components` wins, its members left as text too.
                unbuilt.retain(|(pointer, _)| !pointer.starts_with("/components/"));
                let read = map.next_value_seed(LazyComponents {
                    text,
                    members: &mut *members,
                    items: &mut *items,
                    unbuilt: &mut unbuilt,
                })?;
                match read {
                    Some(value) => value,
                    None => return Ok(None),
                }
            } else {
                map.next_value_seed(ExactJson {
                    members: &mut *members,
                    items: &mut *items,
                    unread: Unread::Nothing,
                })?
            };
            members.push((key.into_owned(), value));
        }
        if let Some(open) = open {
            // `paths` was the last member: `}` of `paths`, whitespace, `}` of the
            // root, whitespace to the end (the deserializer checks the end).
            let root_close = text.trim_end_matches(is_json_space).len().checked_sub(1);
            let Some(close) = root_close
                .and_then(|brace| end_before(text, brace, None))
                .and_then(|end| end.checked_sub(1))
                .and_then(|brace| open.close(text, brace))
            else {
                return Ok(None);
            };
            paths = Some(close);
        }
        Ok(Some(LazyRead {
            value: object_of(members, start),
            paths,
            unbuilt,
        }))
    }
}

/// The root's `components`, when it is a mapping, read like [`ExactJson`] but
/// for its [`UNBUILT_COMPONENTS`], which are left as text. `None` when one
/// cannot be; anything but a mapping is refused as the wrong type, which sends
/// the document to be parsed again whole.
struct LazyComponents<'t, 'a> {
    text: &'t str,
    members: &'a mut Vec<(String, Value)>,
    items: &'a mut Vec<Value>,
    unbuilt: &'a mut PathRanges,
}

impl<'de> DeserializeSeed<'de> for LazyComponents<'_, '_> {
    type Value = Option<Value>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for LazyComponents<'_, '_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a mapping of component kinds")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let LazyComponents {
            text,
            members,
            items,
            unbuilt,
        } = self;
        let start = members.len();
        while let Some(key) = map.next_key::<String>()? {
            if UNBUILT_COMPONENTS.contains(&key.as_str()) {
                // The last of a kind given twice wins.
                let prefix = format!("/components/{key}/");
                unbuilt.retain(|(pointer, _)| !pointer.starts_with(&prefix));
                let read = map.next_value_seed(Entries {
                    text,
                    prefix,
                    unbuilt: &mut *unbuilt,
                })?;
                match read {
                    // A kind without entries is itself, as built.
                    Some(0) => members.push((key, Value::Object(serde_json::Map::new()))),
                    Some(_) => {}
                    None => return Ok(None),
                }
                continue;
            }
            let value = map.next_value_seed(ExactJson {
                members: &mut *members,
                items: &mut *items,
                unread: Unread::Nothing,
            })?;
            members.push((key, value));
        }
        Ok(Some(object_of(members, start)))
    }
}

/// The entries of one kind of component, when it is a mapping, each left as
/// text under `prefix`; how many there were. `None` when one cannot be;
/// anything but a mapping is refused as the wrong type, which sends the
/// document to be parsed again whole.
struct Entries<'t, 'a> {
    text: &'t str,
    /// `/components/{kind}/`.
    prefix: String,
    unbuilt: &'a mut PathRanges,
}

impl<'de> DeserializeSeed<'de> for Entries<'_, '_> {
    type Value = Option<usize>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Entries<'_, '_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a mapping of name → component")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut count = 0;
        while let Some(name) = map.next_key_seed(Key)? {
            let raw: &serde_json::value::RawValue = map.next_value()?;
            let Some(range) = unbuilt_range(self.text, raw) else {
                return Ok(None);
            };
            let pointer = format!("{}{}", self.prefix, super::pointer::escape(&name));
            self.unbuilt.push((pointer, range));
            count += 1;
        }
        Ok(Some(count))
    }
}

/// What the root's `paths` was read as.
enum PathsRead {
    /// A mapping, its items as text.
    Open(OpenPaths),
    /// A mapping whose items could not be placed in the text.
    Unplaced,
}

/// The root's `paths`, when it is a mapping. Anything else is refused as the
/// wrong type, which sends the document to be parsed again whole (conversion
/// reports such a `paths`): rare enough that reading it in this pass would
/// not pay for its code.
struct LazyPaths<'t> {
    text: &'t str,
}

impl<'de> DeserializeSeed<'de> for LazyPaths<'_> {
    type Value = PathsRead;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for LazyPaths<'_> {
    type Value = PathsRead;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a mapping of path → path item")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let text = self.text;
        let mut ranges: PathRanges = Vec::new();
        while let Some(key) = map.next_key_seed(Key)? {
            // Where the key's text ends, and so where its value starts: after
            // the closing quote, whitespace, the colon and whitespace.
            let Some(key_at) = offset_in(text, &key) else {
                // An escaped key: read the rest, then parse the whole document.
                map.next_value_seed(Skip)?;
                while map.next_key_seed(Skip)?.is_some() {
                    map.next_value_seed(Skip)?;
                }
                return Ok(PathsRead::Unplaced);
            };
            if let Some((_, previous)) = ranges.last_mut() {
                // The previous item ends before `,` and this key's quote.
                match key_at
                    .checked_sub(1)
                    .and_then(|quote| end_before(text, quote, Some(b',')))
                {
                    Some(end) => previous.end = end,
                    None => return Ok(PathsRead::Unplaced),
                }
            }
            let after_key = &text[key_at + key.len()..];
            let value_at = after_key
                .strip_prefix('"')
                .map(|rest| rest.trim_start_matches(is_json_space))
                .and_then(|rest| rest.strip_prefix(':'))
                .map(|rest| rest.trim_start_matches(is_json_space))
                .map(|rest| text.len() - rest.len());
            let Some(value_at) = value_at else {
                return Ok(PathsRead::Unplaced);
            };
            map.next_value_seed(Skip)?;
            ranges.push((key.into_owned(), value_at..value_at));
        }
        Ok(PathsRead::Open(OpenPaths { ranges }))
    }
}

/// Parses a YAML document: its flow nesting checked first, then read from
/// saphyr-parser's events ([`yaml`]); a document that reader declines is read
/// by yaml_serde, which gives the same value, and says what is wrong, if
/// anything, where and as it always has.
fn parse_yaml(text: &str) -> Result<Value, ParseError> {
    check_flow_depth(text)?;
    yaml::parse_yaml(text).or_else(|_declined| parse_yaml_serde(text))
}

/// Parses a YAML document with yaml_serde's deserializer.
fn parse_yaml_serde(text: &str) -> Result<Value, ParseError> {
    let deserializer = serde_yaml::Deserializer::from_str(text);
    JsonValue::deserialize(deserializer)
        .map(|v| v.0)
        .map_err(|e| from_yaml_error(&e))
}

/// A `serde_json::Value` read from YAML the way a JSON parser would read it:
/// integers beyond 64 bits become floats (OpenAI's spec has
/// `minimum: -9223372036854776000`), and keys that YAML reads as numbers or
/// booleans (`200:`) become strings.
struct JsonValue(Value);

impl<'de> serde::Deserialize<'de> for JsonValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(JsonValueVisitor)
            .map(JsonValue)
    }
}

struct JsonValueVisitor;

impl<'de> serde::de::Visitor<'de> for JsonValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or_else(|_| Value::from(v as f64), Value::from))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Value, E> {
        Ok(u64::try_from(v).map_or_else(|_| Value::from(v as f64), Value::from))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // Not finite (`.nan`, `.inf`) has no JSON form: null, as serde_json does.
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(JsonValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(JsonValue(key)) = map.next_key()? {
            let key = match key {
                Value::String(s) => s,
                Value::Null => "null".to_string(),
                other => other.to_string(),
            };
            let JsonValue(value) = map.next_value()?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

fn from_json_error(e: &serde_json::Error) -> ParseError {
    let message = e.to_string();
    // serde_json appends " at line L column C" to its message; we say it ourselves.
    let message = match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message,
    };
    if message.contains("recursion limit exceeded") {
        return ParseError::TooDeep {
            line: e.line(),
            column: e.column(),
        };
    }
    ParseError::Syntax {
        syntax: "JSON",
        line: e.line(),
        column: e.column(),
        message,
    }
}

fn from_yaml_error(e: &serde_yaml::Error) -> ParseError {
    let message = e.to_string();
    if message.contains("repetition limit exceeded") {
        return ParseError::AliasBomb;
    }
    let (line, column) = e
        .location()
        .map(|l| (l.line(), l.column()))
        .unwrap_or((1, 1));
    if message.contains("recursion limit exceeded") {
        return ParseError::TooDeep { line, column };
    }
    // yaml_serde appends " at line L column C" (and sometimes more) to its message.
    let message = match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message,
    };
    ParseError::Syntax {
        syntax: "YAML",
        line,
        column,
        message,
    }
}

/// 1-based line and column of a byte offset.
/// Refuses YAML whose flow collections (`{…}`, `[…]`) nest deeper than
/// [`MAX_DEPTH`], in one pass over the text. The YAML parser takes time
/// quadratic in that nesting before its own depth limit applies (100,000 levels:
/// minutes), so it must not see such a document. Block nesting needs no check:
/// each level costs its indentation, so the document's size bounds it.
///
/// A bracket counts where YAML would open a flow collection: at the start of a
/// line or value (after `:`, `-`, `,`, `?`, `[`, `{` and spaces), outside quoted
/// scalars and comments. Brackets inside plain text (`Returns {id}`) do not.
fn check_flow_depth(text: &str) -> Result<(), ParseError> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    // The last byte that was not a space or tab on this line, if any.
    let mut last: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        // Up to the next byte that may open, close or quote something, only
        // `last` moves: to the last byte of the stretch that is not a space.
        let start = i;
        while bytes.get(i).is_some_and(|&b| !FLOW_STOP[usize::from(b)]) {
            i += 1;
        }
        if let Some(&b) = bytes[start..i]
            .iter()
            .rev()
            .find(|&&b| !matches!(b, b' ' | b'\t' | b'\r'))
        {
            last = Some(b);
        }
        let Some(&b) = bytes.get(i) else { break };
        let at_value_start = matches!(last, None | Some(b':' | b'-' | b',' | b'?' | b'[' | b'{'));
        match b {
            b'\n' => {
                last = None;
                i += 1;
            }
            // A comment, to the end of its line (whose break is read next).
            b'#' if i == 0 || matches!(bytes[i - 1], b' ' | b'\t' | b'\n') => {
                i = memchr::memchr(b'\n', &bytes[i..]).map_or(bytes.len(), |n| i + n);
            }
            b'\'' if at_value_start => match single_quoted_end(bytes, i + 1) {
                Some(end) => {
                    last = Some(b);
                    i = end + 1;
                }
                None => break,
            },
            b'"' if at_value_start => match double_quoted_end(bytes, i + 1) {
                Some(end) => {
                    last = Some(b);
                    i = end + 1;
                }
                None => break,
            },
            b'[' | b'{' if at_value_start => {
                depth += 1;
                if depth > MAX_DEPTH {
                    let (line, column) = line_column(bytes, i);
                    return Err(ParseError::TooDeep { line, column });
                }
                last = Some(b);
                i += 1;
            }
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                last = Some(b);
                i += 1;
            }
            _ => {
                last = Some(b);
                i += 1;
            }
        }
    }
    Ok(())
}

/// The bytes at which [`check_flow_depth`] stops to look; it skips the rest.
const FLOW_STOP: [bool; 256] = {
    let mut table = [false; 256];
    let mut stops: &[u8] = b"\n#'\"[{]}";
    while let [first, rest @ ..] = stops {
        table[*first as usize] = true;
        stops = rest;
    }
    table
};

/// Where the single-quoted scalar whose text starts at `from` ends: its closing
/// `'` (`''` is a quote inside it), if it ends.
fn single_quoted_end(bytes: &[u8], mut from: usize) -> Option<usize> {
    loop {
        let quote = from + memchr::memchr(b'\'', bytes.get(from..)?)?;
        if bytes.get(quote + 1) == Some(&b'\'') {
            from = quote + 2;
        } else {
            return Some(quote);
        }
    }
}

/// Where the double-quoted scalar whose text starts at `from` ends: its closing
/// `"` (a backslash escapes the byte after it), if it ends.
fn double_quoted_end(bytes: &[u8], mut from: usize) -> Option<usize> {
    loop {
        let at = from + memchr::memchr2(b'\\', b'"', bytes.get(from..)?)?;
        if bytes[at] == b'"' {
            return Some(at);
        }
        from = at + 2;
    }
}

fn line_column(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = offset
        - before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1)
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scan as it was first written, a byte at a time: the reference the
    /// faster one is held to.
    fn check_flow_depth_byte_by_byte(text: &str) -> Result<(), ParseError> {
        #[derive(PartialEq)]
        enum In {
            Plain,
            Single,
            Double,
            Comment,
        }
        let bytes = text.as_bytes();
        let mut state = In::Plain;
        let mut depth = 0usize;
        // The last byte that was not a space or tab on this line, if any.
        let mut last: Option<u8> = None;
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            match state {
                In::Comment => {
                    if b == b'\n' {
                        state = In::Plain;
                        last = None;
                    }
                }
                In::Single => {
                    if b == b'\'' {
                        if bytes.get(i + 1) == Some(&b'\'') {
                            i += 1;
                        } else {
                            state = In::Plain;
                            last = Some(b);
                        }
                    }
                }
                In::Double => match b {
                    b'\\' => i += 1,
                    b'"' => {
                        state = In::Plain;
                        last = Some(b);
                    }
                    _ => {}
                },
                In::Plain => {
                    let at_value_start =
                        matches!(last, None | Some(b':' | b'-' | b',' | b'?' | b'[' | b'{'));
                    match b {
                        b'\n' => last = None,
                        b' ' | b'\t' | b'\r' => {}
                        b'#' if i == 0 || matches!(bytes[i - 1], b' ' | b'\t' | b'\n') => {
                            state = In::Comment;
                        }
                        b'\'' if at_value_start => state = In::Single,
                        b'"' if at_value_start => state = In::Double,
                        b'[' | b'{' if at_value_start => {
                            depth += 1;
                            if depth > MAX_DEPTH {
                                let (line, column) = line_column(bytes, i);
                                return Err(ParseError::TooDeep { line, column });
                            }
                            last = Some(b);
                        }
                        b']' | b'}' => {
                            depth = depth.saturating_sub(1);
                            last = Some(b);
                        }
                        _ => last = Some(b),
                    }
                }
            }
            i += 1;
        }
        Ok(())
    }

    /// Reads `text` as [`parse_yaml`] does and as yaml_serde alone did, and
    /// says how the two differ, if they do: the value (members in the same
    /// order), or the error.
    fn differs_from_yaml_serde(text: &str) -> Option<String> {
        let ours = parse_yaml(text);
        let theirs = check_flow_depth(text).and_then(|()| parse_yaml_serde(text));
        match (&ours, &theirs) {
            (Ok(a), Ok(b)) => {
                let (a, b) = (a.to_string(), b.to_string());
                let at = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
                let around = |s: &str| {
                    s.get(at.saturating_sub(80)..(at + 80).min(s.len()))
                        .unwrap_or("")
                        .to_string()
                };
                (a != b).then(|| {
                    format!(
                        "values differ at byte {at}:\nours   …{}…\ntheirs …{}…",
                        around(&a),
                        around(&b)
                    )
                })
            }
            (Err(a), Err(b)) if a == b => None,
            _ => Some(format!("ours {ours:?}\ntheirs {theirs:?}")),
        }
    }

    /// Scalars whose reading is easy to get wrong, each as a value, a key,
    /// an item, with each of YAML's tags and quoted.
    const TRICKY_SCALARS: &[&str] = &[
        "",
        "~",
        "null",
        "Null",
        "NULL",
        "nULL",
        "true",
        "True",
        "TRUE",
        "tRUE",
        "false",
        "False",
        "FALSE",
        "yes",
        "no",
        "on",
        "off",
        "y",
        "n",
        "Y",
        "0",
        "-0",
        "+0",
        "00",
        "017",
        "-017",
        "+017",
        "09",
        "0.5",
        "00.5",
        "017.5",
        "-0.0",
        "1",
        "+1",
        "-1",
        "++1",
        "+-1",
        "-+1",
        "--1",
        "1_000",
        "1e3",
        "1E3",
        "1e+3",
        "-1e-3",
        "1e400",
        "1e-400",
        ".5",
        "5.",
        "-.5",
        ".",
        "+.",
        "-",
        "+",
        ".inf",
        ".Inf",
        ".INF",
        "+.inf",
        "-.inf",
        "-.Inf",
        "-.INF",
        "+.INF",
        ".nan",
        ".NaN",
        ".NAN",
        "-.nan",
        "+.nan",
        "inf",
        "-inf",
        "nan",
        "NaN",
        "infinity",
        "Infinity",
        "0x1F",
        "0x1f",
        "0X1F",
        "-0x1F",
        "+0x1F",
        "0x",
        "0x+1",
        "0x-1",
        "-0x-1",
        "0xFFFFFFFFFFFFFFFF",
        "0x10000000000000000",
        "0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
        "0x100000000000000000000000000000000",
        "-0x8000000000000000",
        "-0x8000000000000001",
        "0o17",
        "0o8",
        "-0o17",
        "+0o17",
        "0o",
        "0b101",
        "-0b101",
        "+0b101",
        "0b2",
        "0b",
        "0b-1",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854776000",
        "9223372036854776000",
        "340282366920938463463374607431768211455",
        "340282366920938463463374607431768211456",
        "-170141183460469231731687303715884105728",
        "-170141183460469231731687303715884105729",
        "1.0",
        "1.",
        "0.0",
        "3.0.0",
        "1:2",
        "12:30:45",
        "2001-12-14",
        "2001-12-14t21:59:43.10-05:00",
        "0.1.2",
        "1,000",
        "$1",
        "1 2",
        "one two",
        "+a",
        "-a",
        ".a",
        "~a",
        "tru",
        "falsey",
        "null!",
        "<<",
        "=",
    ];

    #[test]
    fn scalars_read_as_yaml_serde_reads_them() {
        let mut differences = Vec::new();
        for scalar in TRICKY_SCALARS {
            let quoted = format!("{scalar:?}");
            let mut docs = vec![
                format!("v: {scalar}\n"),
                format!("{scalar}: v\n"),
                format!("- {scalar}\n"),
                format!("{{{scalar}: [{scalar}]}}\n"),
                format!("v: {quoted}\n"),
                format!("v: '{scalar}'\n"),
                format!("v: |\n  {scalar}\n"),
                format!("v: &a {scalar}\nw: *a\n*a : x\n"),
            ];
            for tag in [
                "!!str", "!!int", "!!float", "!!bool", "!!null", "!!binary", "!custom", "!",
            ] {
                docs.push(format!("v: {tag} {scalar}\n"));
                docs.push(format!("v: {tag} {quoted}\n"));
                docs.push(format!("{tag} {scalar}: v\n"));
            }
            for doc in docs {
                if let Some(difference) = differs_from_yaml_serde(&doc) {
                    differences.push(format!("{doc:?}\n{difference}"));
                }
            }
        }
        assert!(differences.is_empty(), "{}", differences.join("\n\n"));
    }

    proptest::proptest! {
        #[test]
        fn any_plain_scalar_reads_as_yaml_serde_reads_it(
            scalar in "[-+]?(0[xob])?[0-9a-fA-F._eE+\\-xob]{0,8}|[-+]?\\.?(inf|Inf|INF|nan|NaN|NAN)|[0-9]{15,42}",
        ) {
            for doc in [format!("v: {scalar}\n"), format!("{scalar}: v\n")] {
                let difference = differs_from_yaml_serde(&doc);
                proptest::prop_assert!(difference.is_none(), "{doc:?}: {difference:?}");
            }
        }
    }

    #[test]
    fn nesting_is_measured_by_what_opens_outside_strings() {
        let nested = |levels: usize| format!("{}1{}", "[".repeat(levels), "]".repeat(levels));
        assert!(!nests_deeper_than(nested(100).as_bytes(), 100));
        assert!(nests_deeper_than(nested(101).as_bytes(), 100));
        // Many arrays and objects, none deep: counted past the limit, then followed.
        let wide = format!("[{}]", vec![r#"{"a": [1]}"#; 200].join(","));
        assert!(!nests_deeper_than(wide.as_bytes(), 100));
        // Brackets in strings, escaped quotes and all, do not open anything.
        let quoted = format!(
            r#"{{"k": "\"{}", "deep": {}}}"#,
            "[".repeat(300),
            nested(99)
        );
        assert!(!nests_deeper_than(quoted.as_bytes(), 100));
        let deeper = format!(
            r#"{{"k": "\"{}", "deep": {}}}"#,
            "[".repeat(300),
            nested(100)
        );
        assert!(nests_deeper_than(deeper.as_bytes(), 100));
    }

    #[test]
    fn a_path_item_read_for_its_operations_leaves_out_only_what_they_never_use() {
        let item = br#"{
            "summary": "s", "responses": {"kept": "not an operation's"},
            "parameters": [{"name": "responses", "in": "query", "schema": {"type": "string"}}],
            "get": {"operationId": "g", "responses": {"200": {"description": "ok"}},
                    "callbacks": {"c": {}}, "externalDocs": {"url": "https://x"},
                    "requestBody": {"content": {"application/json": {"schema": {
                        "properties": {"responses": {"type": "integer"}}}}}}},
            "x-get": {"responses": 1},
            "post": "not a mapping"
        }"#;
        let whole = parse_path_item(item).unwrap();
        let mut expected = whole.clone();
        let get = expected["get"].as_object_mut().unwrap();
        for unused in ["responses", "callbacks", "externalDocs"] {
            get.shift_remove(unused);
        }
        let read = parse_path_item_operations(item).unwrap();
        assert_eq!(read, expected);
        // In the same order, too.
        assert_eq!(read.to_string(), expected.to_string());
        assert_eq!(read["x-get"]["responses"], 1);

        // Text that is not JSON fails alike, inside a member left out or not.
        for bad in [
            &br#"{"get": {"responses": {"200": tru}}}"#[..],
            br#"{"get": {"x": [1,}}"#,
        ] {
            assert_eq!(parse_path_item_operations(bad), parse_path_item(bad));
            assert!(parse_path_item(bad).is_err());
        }
    }

    proptest::proptest! {
        /// The scan that skips to the bytes that matter says what the scan of
        /// every byte says: the same depth error at the same place, or none.
        #[test]
        fn the_flow_depth_scan_skips_nothing_that_counts(
            text in "[\\[\\]{}'\"#\\\\:,?\\- \\t\\r\\nab]{0,300}",
            opened in 0usize..=MAX_DEPTH,
        ) {
            // Brackets already open, so that the text may cross the limit.
            let deep = format!("a: {}{text}", "[".repeat(opened));
            for doc in [&text, &deep] {
                proptest::prop_assert_eq!(check_flow_depth(doc), check_flow_depth_byte_by_byte(doc), "{:?}", doc);
            }
        }
    }

    #[test]
    fn yaml_structure_reads_as_yaml_serde_reads_it() {
        // `levels` lines, each `line` indented one level more, then `last`.
        let nested = |line: &'static str, last: &'static str| {
            move |levels: usize| {
                (0..levels)
                    .map(|i| format!("{}{line}\n", "  ".repeat(i)))
                    .collect::<String>()
                    + &"  ".repeat(levels)
                    + last
            }
        };
        let mut docs: Vec<String> = [
            // Duplicate keys: the first place, the last value.
            "a: 1\nb: 2\na: 3\n",
            "{a: 1, b: 2, a: {c: 3}}\n",
            "1: x\n\"1\": y\n",
            // Merge keys are plain keys.
            "base: &b {x: 1}\nderived:\n  <<: *b\n  y: 2\n",
            // Anchors and aliases.
            "a: &x {k: [1, 2]}\nb: *x\nc: [*x, *x]\n",
            "a: &x 1\nb: &x 2\nc: *x\n",
            "a: &x [*x]\n",
            "a: *x\n",
            "&r {a: 1}\n",
            // Keys that are not scalars.
            "? [a, b]\n: 1\n? {c: d}\n: 2\n",
            "[a, b]: 1\n",
            // Collections with tags.
            "a: !!map {b: 1}\nc: !!seq [1]\nd: !!set {e}\n",
            "a: !custom {b: 1}\n",
            "a: !custom [1]\n",
            "%TAG !e! tag:example.com,2000:\n---\na: !e!thing 1\nb: !e!thing {c: 1}\n",
            "a: !<tag:yaml.org,2002:int> 7\nb: !<!local> 1\n",
            // Documents.
            "",
            "# a comment only\n",
            "---\n",
            "--- 1\n",
            "a: 1\n---\nb: 2\n",
            "a: 1\n...\n",
            "a: 1\n...\n]\n",
            "a: 1\n--- [\n",
            "%YAML 1.2\n---\na: 1\n",
            // Scalars of every style.
            "a: |\n  line\n  next\nb: >\n  folded\n  text\nc: \"esc\\taped \\u00e9\"\nd: 'it''s'\n",
            "a: multi\n  line plain\n",
            "a:\nb: ~\nc: null\n",
            // Syntax errors.
            "a: [1, 2\nb: 1\n",
            "a: \"abc\n",
            "a:\n\tb: 1\n",
            "a: 1\n a: 2\n",
            "a: b: c\n",
            "- a\nb: c\n",
            "{a: 1\n",
            "a: @b\n",
            "a: `b\n",
            "!!str\n",
        ]
        .iter()
        .map(|doc| doc.to_string())
        .collect();
        docs.extend((126..=130).map(nested("k:", "x: 1\n")));
        docs.extend((126..=130).map(nested("-", "- 1\n")));
        let mut differences = Vec::new();
        for doc in &docs {
            if let Some(difference) = differs_from_yaml_serde(doc) {
                differences.push(format!("{doc:?}\n{difference}"));
            }
        }
        assert!(differences.is_empty(), "{}", differences.join("\n\n"));
    }

    #[test]
    fn the_fast_reader_reads_specs_itself_and_leaves_the_rest_to_yaml_serde() {
        let orders = include_str!("../../specs/orders.yaml");
        assert_eq!(
            yaml::parse_yaml(orders).ok(),
            Some(parse_yaml_serde(orders).unwrap())
        );
        for (text, reason) in [
            ("a: 1\n---\nb: 2\n", yaml::Declined::Documents),
            ("a: !!int 1\n", yaml::Declined::Tag),
            ("a: !thing {}\n", yaml::Declined::Tag),
            ("? \n: 1\n", yaml::Declined::EmptyKey),
            ("a: |\n  text", yaml::Declined::OpenBlockScalar),
            ("a: &x [*x]\n", yaml::Declined::TooDeep),
            ("a: [1, 2\nb: 1\n", yaml::Declined::Refused),
        ] {
            assert_eq!(yaml::parse_yaml(text), Err(reason), "{text:?}");
        }
    }

    /// Every `.yaml` and `.yml` file under the folders, sorted.
    fn yaml_files(folders: &[std::path::PathBuf]) -> Vec<std::path::PathBuf> {
        let mut pending = folders.to_vec();
        let mut found = Vec::new();
        while let Some(folder) = pending.pop() {
            for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    pending.push(path);
                } else if Syntax::from_name(&path.to_string_lossy()) == Some(Syntax::Yaml) {
                    found.push(path);
                }
            }
        }
        found.sort();
        found
    }

    #[test]
    fn every_yaml_spec_reads_as_yaml_serde_reads_it() {
        use std::io::Write;
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut folders = vec![root.join("specs"), root.join("tests/fixtures")];
        let shared = std::env::var_os("ACTIONSYNC_SHARED_SPECS")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| root.join("../shared/specs"));
        if shared.is_dir() {
            folders.push(shared);
        } else {
            // Straight to the stderr handle: cargo test captures `eprintln!`.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: {} is absent (set ACTIONSYNC_SHARED_SPECS); only the repository's YAML was compared",
                shared.display()
            );
        }
        let files = yaml_files(&folders);
        assert!(!files.is_empty(), "no YAML under {folders:?}");
        let mut differences = Vec::new();
        let mut declined = std::collections::BTreeMap::new();
        for file in &files {
            let bytes = std::fs::read(file).expect("read a spec");
            let text =
                match std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes)) {
                    Ok(text) => text,
                    // Refused before either reader sees it.
                    Err(_) => continue,
                };
            if let Err(reason) = yaml::parse_yaml(text) {
                declined
                    .entry(reason)
                    .or_insert_with(Vec::new)
                    .push(file.display().to_string());
            }
            if let Some(difference) = differs_from_yaml_serde(text) {
                differences.push(format!("{}\n{difference}", file.display()));
            }
        }
        // How many documents the fast reader left to yaml_serde, why, and one of them.
        let declined: Vec<_> = declined
            .iter()
            .map(|(reason, files)| format!("{reason:?}: {} (such as {})", files.len(), files[0]))
            .collect();
        let _ = writeln!(
            std::io::stderr(),
            "{} YAML files compared; left to yaml_serde: {declined:?}",
            files.len()
        );
        assert!(
            differences.is_empty(),
            "{} of {} files differ:\n{}",
            differences.len(),
            files.len(),
            differences.join("\n\n")
        );
    }

    #[test]
    fn json_parses_as_serde_json_parses_it() {
        let good = [
            r#"{"b": 1, "a": [1, -2, 3.5, 1e300, 18446744073709551615, -9223372036854775808], "c": {"d": {}, "e": []}}"#,
            r#"{"dup": 1, "x": {"y": [{"z": null}, true, false, "s\u00e9\n"]}, "dup": 2}"#,
            "[]",
            "[{}, [], {\"k\": [{\"k\": {\"k\": 0}}]}]",
        ];
        for text in good {
            let theirs: Value = serde_json::from_str(text).unwrap();
            let ours = parse_json(text).unwrap();
            assert_eq!(ours, theirs, "{text}");
            assert_eq!(
                serde_json::to_string(&ours).unwrap(),
                serde_json::to_string(&theirs).unwrap()
            );
        }
        let deep = "[".repeat(200) + &"]".repeat(200);
        let bad = [
            "{\"a\": 1,}",
            "{\"a\" 1}",
            "[1, 2] x",
            "{\"a\": [1, 2}",
            "{1: 2}",
            "[1e400]",
            deep.as_str(),
        ];
        for text in bad {
            let theirs = serde_json::from_str::<Value>(text).unwrap_err();
            let ours = parse_json(text).unwrap_err();
            assert_eq!(ours.to_string(), theirs.to_string(), "{text}");
        }
    }

    /// What `parse_root` reads, put back together: the value with `paths`
    /// rebuilt from the text of its items.
    fn reassembled(bytes: &[u8]) -> Result<Value, ParseError> {
        let mut parsed = parse_root(bytes, DEFAULT_MAX_BYTES, Some(Syntax::Json))?;
        let unescape = |token: &str| super::super::pointer::unescape(token).into_owned();
        for (pointer, range) in std::mem::take(&mut parsed.unbuilt) {
            let member = parse_unbuilt(&bytes[range])?;
            let (parent, key) = match pointer.strip_prefix("/components/") {
                Some(entry) => {
                    let (kind, name) = entry.split_once('/').expect("an entry of a kind");
                    let kind = parsed.value["components"]
                        .as_object_mut()
                        .expect("components left as text are in a mapping")
                        .entry(kind)
                        .or_insert_with(|| Value::Object(serde_json::Map::new()));
                    (kind, unescape(name))
                }
                None => (&mut parsed.value, unescape(&pointer[1..])),
            };
            parent
                .as_object_mut()
                .expect("members are left as text in mappings")
                .insert(key, member);
        }
        let Some(ranges) = parsed.paths else {
            return Ok(parsed.value);
        };
        assert!(parsed.value.get("paths").is_none());
        let mut paths = serde_json::Map::new();
        for (key, range) in ranges {
            paths.insert(key, parse_path_item(&bytes[range])?);
        }
        let mut value = parsed.value;
        value
            .as_object_mut()
            .expect("a root with paths is an object")
            .insert("paths".to_string(), Value::Object(paths));
        Ok(value)
    }

    #[test]
    fn path_items_left_as_text_read_back_as_the_whole_document_reads() {
        let docs = [
            r#"{"openapi": "3.0.3", "paths": {"/a": {"get": {"x": [1, {"y": "}]\""}]}}, "/b/{id}": {}}, "info": {}}"#,
            // A path given twice keeps its first place and its last value.
            r#"{"paths": {"/a": {"get": 1}, "/b": 2, "/a": {"put": 3}}}"#,
            // So does `paths` itself, whether either is a mapping or not.
            r#"{"paths": {"/a": 1}, "x": 0, "paths": {"/b": 2}}"#,
            r#"{"paths": {"/a": 1}, "paths": []}"#,
            r#"{"paths": null, "paths": {"/b": {}}}"#,
            r#"{"paths": [1, 2]}"#,
            r#"{"paths": "none"}"#,
            r#"{"paths": {}}"#,
            "\u{FEFF}{\"paths\": {\"/é\": {\"get\": \"caf\\u00e9\"}}}",
            r#"{"openapi": "3.1.0"}"#,
            // Whitespace anywhere JSON allows it.
            "{\n  \"paths\" : {\n    \"/a\" :\n {\"get\": 1} ,\n \"/b\":[1]\r\n  }\t\n}\n  ",
            " { \"paths\" : { } , \"x\" : { } } ",
            r#"{"paths": {"": {"get": 2}, "/c": "}"}, "info": {"paths": {}}}"#,
            // Escaped keys cannot be placed: the document is read whole.
            r#"{"paths": {"/a\/b": {}, "/c": 1}, "x": 1}"#,
            r#"{"paths": {"/a": {}}, "x\u0041": 1}"#,
            // Members left as text: the last of a member given twice, whatever
            // their shapes; the rest of `components` built.
            r#"{"x-a": [1], "paths": {}, "x-a": {"b": "}"}, "tags": [], "x-~/": null}"#,
            r#"{"components": {"examples": {"a": 1}, "schemas": {}, "examples": []}}"#,
            r#"{"components": {"examples": {"a": 1}}, "components": {"schemas": {"b": 2}}}"#,
            r#"{"components": {"examples": {"a": 1}}, "components": {}, "x": 1}"#,
            r#"{"components": null, "components": {"links": {}}}"#,
            r#"{"components": {"responses": 1}, "components": [2]}"#,
            r#"{"components": {"examples": {"a": 1}, "schemas": {"b": 2}}, "components": null}"#,
        ];
        for text in docs {
            let bytes = text.as_bytes();
            let (whole, _) =
                parse_document_as(bytes, DEFAULT_MAX_BYTES, Some(Syntax::Json)).unwrap();
            let read_back = reassembled(bytes).unwrap();
            assert_eq!(read_back, whole, "{text}");
            // Same order of members, too.
            assert_eq!(
                serde_json::to_string(&read_back["paths"]).unwrap(),
                serde_json::to_string(&whole["paths"]).unwrap(),
                "{text}"
            );
        }
        let parsed = parse_root(br#"{"paths": {"/a": 1}}"#, DEFAULT_MAX_BYTES, None).unwrap();
        assert_eq!(parsed.paths, Some(vec![("/a".to_string(), 17..18)]));
        let text = br#"{"paths": {"/a": {"get": {}} , "/b" : [ ] }, "x": 1}"#;
        let parsed = parse_root(text, DEFAULT_MAX_BYTES, None).unwrap();
        let items: Vec<&[u8]> = parsed
            .paths
            .unwrap()
            .into_iter()
            .map(|(_, r)| &text[r])
            .collect();
        assert_eq!(items, [&b"{\"get\": {}}"[..], b"[ ]"]);
        // YAML keeps its paths in the value.
        let parsed = parse_root(b"paths: {/a: 1}\n", DEFAULT_MAX_BYTES, None).unwrap();
        assert_eq!((parsed.paths, parsed.syntax), (None, Syntax::Yaml));
        assert_eq!(parsed.value["paths"]["/a"], 1);
    }

    #[test]
    fn a_document_with_path_items_left_as_text_fails_as_the_whole_document_fails() {
        let nested = |levels: usize| {
            format!(
                r#"{{"paths": {{"/a": {}1{}}}, "info": {{}}}}"#,
                "[".repeat(levels),
                "]".repeat(levels)
            )
        };
        let mut docs: Vec<String> = (120..=130).map(nested).collect();
        docs.extend([
            r#"{"paths": {"/a": {"get": [1, 2}}}"#.to_string(),
            r#"{"paths": {"/a": {"get": "\q"}}}"#.to_string(),
            r#"{"paths": {"/a": 01}}"#.to_string(),
            r#"{"paths": {"/a": {}}} x"#.to_string(),
            r#"{"paths": {"/a": {},}}"#.to_string(),
            "{\"paths\": {\"/a\": \"\u{1}\"}}".to_string(),
            // Errors in members left as text, too.
            r#"{"x-a": [1, 2}, "paths": {}}"#.to_string(),
            r#"{"components": {"examples": {"a": 01}}}"#.to_string(),
            r#"{"components": {"examples": {"a": "\q"}}, "paths": {}}"#.to_string(),
            r#"{"tags": [1,]}"#.to_string(),
        ]);
        docs.extend((95..=130).map(|levels| {
            format!(
                r#"{{"x-a": {}1{}, "components": {{"examples": {}2{}}}}}"#,
                "[".repeat(levels),
                "]".repeat(levels),
                "[".repeat(levels.saturating_sub(1)),
                "]".repeat(levels.saturating_sub(1))
            )
        }));
        for text in &docs {
            let bytes = text.as_bytes();
            let whole = parse_document_as(bytes, DEFAULT_MAX_BYTES, Some(Syntax::Json));
            match whole {
                Ok((value, _)) => assert_eq!(reassembled(bytes), Ok(value), "{text}"),
                Err(e) => assert_eq!(
                    parse_root(bytes, DEFAULT_MAX_BYTES, Some(Syntax::Json)).unwrap_err(),
                    e,
                    "{text}"
                ),
            }
        }
        // The limit is where it was: 126 levels inside a path item are the
        // 128 of the document.
        assert!(reassembled(nested(125).as_bytes()).is_ok());
        assert!(matches!(
            reassembled(nested(126).as_bytes()),
            Err(ParseError::TooDeep { .. })
        ));
    }

    #[test]
    fn json_error_has_line_and_column() {
        let err = parse_document_as(
            b"{\n  \"a\": 1,\n}\n",
            DEFAULT_MAX_BYTES,
            Some(Syntax::Json),
        )
        .unwrap_err();
        match err {
            ParseError::Syntax {
                syntax: "JSON",
                line: 3,
                column,
                ..
            } => assert_eq!(column, 1),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn flow_style_yaml_is_yaml_unless_named_json() {
        let flow = b"{openapi: 3.0.3, paths: {}}";
        let (value, syntax) = parse_document(flow, DEFAULT_MAX_BYTES).unwrap();
        assert_eq!(
            (value["openapi"].as_str(), syntax),
            (Some("3.0.3"), Syntax::Yaml)
        );
        assert!(parse_document_as(flow, DEFAULT_MAX_BYTES, Some(Syntax::Yaml)).is_ok());
        assert!(parse_document_as(flow, DEFAULT_MAX_BYTES, Some(Syntax::Json)).is_err());
        assert_eq!(Syntax::from_name("a/b.JSON"), Some(Syntax::Json));
        assert_eq!(Syntax::from_name("spec"), None);
    }

    #[test]
    fn yaml_error_has_line_and_column() {
        let err = parse_document(b"a: 1\nb: [1, 2\nc: 3\n", DEFAULT_MAX_BYTES).unwrap_err();
        assert!(
            matches!(err, ParseError::Syntax { syntax: "YAML", line, .. } if line >= 2),
            "{err:?}"
        );
    }

    #[test]
    fn too_large_is_refused_before_parsing() {
        let err = parse_document(b"{\"a\": 1}", 4).unwrap_err();
        assert_eq!(err, ParseError::TooLarge { size: 8, limit: 4 });
    }

    #[test]
    fn deep_nesting_fails_with_a_clear_error() {
        let deep = format!("{}{}", "[".repeat(300), "]".repeat(300));
        assert!(matches!(
            parse_document(deep.as_bytes(), DEFAULT_MAX_BYTES),
            Err(ParseError::TooDeep { .. })
        ));
        let yaml = (0..300).fold(String::from("x"), |acc, _| format!("[{acc}]"));
        assert!(matches!(
            parse_document(format!("a: {yaml}").as_bytes(), DEFAULT_MAX_BYTES),
            Err(ParseError::TooDeep { .. })
        ));
    }

    #[test]
    fn a_hostile_depth_is_refused_at_its_129th_level_whatever_the_syntax() {
        // 100,000 levels: the YAML parser alone would take minutes over these.
        let flow = "{a: ".repeat(100_000);
        let json = "{\"a\":".repeat(100_000);
        for (text, claimed, column) in [
            (&flow, Some(Syntax::Yaml), 4 * 128 + 1),
            (&flow, None, 4 * 128 + 1),
            (&json, None, 5 * 127 + 1),
            (&json, Some(Syntax::Yaml), 5 * 127 + 1),
        ] {
            assert_eq!(
                parse_document_as(text.as_bytes(), DEFAULT_MAX_BYTES, claimed).unwrap_err(),
                ParseError::TooDeep { line: 1, column },
                "{claimed:?}"
            );
        }
    }

    #[test]
    fn brackets_in_text_quotes_and_comments_are_not_nesting() {
        let mut doc = String::from("paths:\n");
        for i in 0..300 {
            doc.push_str(&format!(
                "  /p{i}:\n    summary: Returns {{id}} or [a list\n    x-note: '[[{{{{ quoted'\n    x-other: \"{{{{[[ \\\" still quoted\"\n    # {{{{[[[ a comment\n"
            ));
        }
        let (value, _) = parse_document(doc.as_bytes(), DEFAULT_MAX_BYTES).unwrap();
        assert_eq!(
            value["paths"]["/p299"]["summary"],
            "Returns {id} or [a list"
        );
        assert_eq!(check_flow_depth(&doc), Ok(()));
        // Real flow collections count, however they are spread over lines.
        let nested = format!("a: {}\n", "[\n".repeat(MAX_DEPTH + 1));
        assert!(matches!(
            check_flow_depth(&nested),
            Err(ParseError::TooDeep { line, .. }) if line == MAX_DEPTH + 1
        ));
    }

    #[test]
    fn billion_laughs_fails_fast() {
        let mut doc = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
        for w in names.windows(2) {
            let refs = vec![format!("*{}", w[0]); 9].join(",");
            doc.push_str(&format!("{}: &{} [{}]\n", w[1], w[1], refs));
        }
        assert_eq!(
            parse_document(doc.as_bytes(), DEFAULT_MAX_BYTES).unwrap_err(),
            ParseError::AliasBomb
        );
    }

    #[test]
    fn bom_and_yaml_integer_keys_are_fine() {
        let (v, syntax) = parse_document(
            b"\xEF\xBB\xBFresponses:\n  200: {description: ok}\n",
            1 << 20,
        )
        .unwrap();
        assert_eq!(syntax, Syntax::Yaml);
        assert!(v["responses"]["200"].is_object());
    }

    #[test]
    fn yaml_integers_beyond_64_bits_become_floats() {
        let (v, _) = parse_document(
            b"min: -9223372036854776000\nmax: 18446744073709551616\nok: 7\n",
            1 << 20,
        )
        .unwrap();
        assert_eq!(v["min"].as_f64(), Some(-9.223372036854776e18));
        assert_eq!(v["max"].as_f64(), Some(1.8446744073709552e19));
        assert_eq!(v["ok"].as_i64(), Some(7));
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        let err = parse_document(b"a: 1\nb: \xff\n", 1 << 20).unwrap_err();
        assert_eq!(err, ParseError::NotUtf8 { line: 2, column: 4 });
    }
}
