//! YAML text → `serde_json::Value`, built straight from saphyr-parser's events
//! (no tree of YAML nodes in between): the fast path of [`super::parse_yaml`].
//!
//! The value is the one yaml_serde's deserializer gives (the tests hold the two
//! side by side, over every YAML spec at hand):
//! - plain scalars are read by the YAML 1.2 core schema ([`resolve_plain`]),
//!   quoted and block scalars are strings;
//! - integers beyond 64 bits become floats, and a float that is not finite
//!   (`.inf`, `.nan`) becomes null, as JSON has neither;
//! - a key that YAML reads as anything but a string is written as JSON would
//!   write it (`200:` is `"200"`, `true:` is `"true"`, `~:` is `"null"`);
//! - a key given twice keeps its first place and its last value; `<<` is a key
//!   like any other (no merging);
//! - `!!str` makes a string, and YAML's other tags that are not types
//!   (`!!binary`, `!!timestamp`) leave a scalar a string;
//! - an alias repeats its anchor's node.
//!
//! Whatever this reader is not sure to read as yaml_serde would, it declines
//! ([`Declined`]), and yaml_serde reads the document instead: text the parser
//! refuses (saphyr-parser is stricter than libyaml in places real specs rely
//! on), and everything yaml_serde refuses or reads its own way: a second
//! document, a custom tag or a typed one (`!!int`), an empty key, nesting beyond
//! [`MAX_DEPTH`], aliases beyond yaml_serde's budget. A document declined costs
//! the time of both readers; its value, or its error, is yaml_serde's.

use std::borrow::Cow;

use saphyr_parser::{Event, Parser, ScalarStyle, Tag};
use serde_json::{Map, Value};

use super::MAX_DEPTH;

/// How many alias replays a document may make for each of its own events
/// (nodes and ends of collections), counting the aliases inside a repeated
/// node as replays too: yaml_serde's limit.
const REPLAY_BUDGET: u64 = 100;

/// The handle of YAML's own tags (`!!int` is this and `int`).
const CORE_TAGS: &str = "tag:yaml.org,2002:";

/// Why this reader left a document to yaml_serde.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Declined {
    /// saphyr-parser refused the text.
    Refused,
    /// More than one document.
    Documents,
    /// A custom tag, or one of YAML's typed tags (`!!int`).
    Tag,
    /// An empty key (`: value`), which libyaml refuses where it is implicit.
    EmptyKey,
    /// A block scalar (`|`, `>`) at the very end of a text without a final
    /// line break: saphyr-parser ends it with one, libyaml does not.
    OpenBlockScalar,
    /// Nested deeper than [`MAX_DEPTH`], or an alias inside its own node.
    TooDeep,
    /// Aliases replayed beyond [`REPLAY_BUDGET`].
    AliasBudget,
}

/// Reads one YAML document into a value, unless it declines.
pub(super) fn parse_yaml(text: &str) -> Result<Value, Declined> {
    let mut parser = Parser::new_from_str(text);
    let mut builder = Builder::default();
    while let Some(next) = parser.next_event() {
        let (event, _span) = next.map_err(|_| Declined::Refused)?;
        builder.event(event)?;
    }
    if builder.last_is_block_scalar && !text.ends_with(['\n', '\r']) {
        return Err(Declined::OpenBlockScalar);
    }
    Ok(builder.root.unwrap_or(Value::Null))
}

/// A collection being read.
enum Frame {
    /// A sequence and its items so far.
    Seq {
        items: Vec<Value>,
        anchor: usize,
        replays: u64,
    },
    /// A mapping, its members so far and the key read whose value is next.
    Map {
        map: Map<String, Value>,
        key: Option<String>,
        anchor: usize,
        replays: u64,
    },
}

/// A node with an anchor, for the aliases to it.
struct Anchored {
    value: Value,
    /// The replays one alias to it makes: itself and the aliases in the node.
    replays: u64,
}

/// Where the events of the document are put together.
#[derive(Default)]
struct Builder {
    /// The collections open, the innermost last.
    stack: Vec<Frame>,
    /// The document's value once read.
    root: Option<Value>,
    /// Anchored nodes by anchor id (the parser numbers anchors from 1 as they
    /// come; `None` until the node is read).
    anchors: Vec<Option<Anchored>>,
    /// The document's events so far.
    events: u64,
    /// The alias replays so far.
    replays: u64,
    /// Documents started.
    documents: usize,
    /// Whether the last node read is a block scalar.
    last_is_block_scalar: bool,
}

impl Builder {
    /// Takes one event of the stream.
    fn event(&mut self, event: Event<'_>) -> Result<(), Declined> {
        if matches!(
            event,
            Event::Scalar(..)
                | Event::SequenceStart(..)
                | Event::MappingStart(..)
                | Event::Alias(_)
        ) {
            self.last_is_block_scalar = matches!(
                event,
                Event::Scalar(_, ScalarStyle::Literal | ScalarStyle::Folded, ..)
            );
        }
        match event {
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => Ok(()),
            Event::DocumentStart(_) => self.start_document(),
            Event::Scalar(text, style, anchor, tag) => {
                self.events += 1;
                self.scalar(text, style, anchor, tag.as_deref())
            }
            Event::SequenceStart(anchor, tag) => {
                self.events += 1;
                self.open(tag.as_deref())?;
                self.stack.push(Frame::Seq {
                    items: Vec::new(),
                    anchor,
                    replays: 0,
                });
                Ok(())
            }
            Event::MappingStart(anchor, tag) => {
                self.events += 1;
                self.open(tag.as_deref())?;
                self.stack.push(Frame::Map {
                    map: Map::new(),
                    key: None,
                    anchor,
                    replays: 0,
                });
                Ok(())
            }
            Event::SequenceEnd | Event::MappingEnd => {
                self.events += 1;
                self.close();
                Ok(())
            }
            Event::Alias(id) => {
                self.events += 1;
                self.alias(id)
            }
        }
    }

    /// A document starts: the first one only (yaml_serde reads one).
    fn start_document(&mut self) -> Result<(), Declined> {
        if self.documents > 0 {
            return Err(Declined::Documents);
        }
        self.documents += 1;
        Ok(())
    }

    /// A scalar: a key when a mapping awaits one, a value otherwise.
    fn scalar(
        &mut self,
        text: Cow<'_, str>,
        style: ScalarStyle,
        anchor: usize,
        tag: Option<&Tag>,
    ) -> Result<(), Declined> {
        let awaits_key = self.awaits_key();
        if awaits_key && style == ScalarStyle::Plain && text.is_empty() {
            return Err(Declined::EmptyKey);
        }
        if awaits_key && anchor == 0 && tag.is_none() {
            let key = match style {
                ScalarStyle::Plain => plain_key(text),
                _ => exact(text),
            };
            if let Some(Frame::Map { key: slot, .. }) = self.stack.last_mut() {
                *slot = Some(key);
            }
            return Ok(());
        }
        let value = match tag {
            None if style == ScalarStyle::Plain => resolve_plain(text),
            None => Value::String(exact(text)),
            Some(tag) => tagged_scalar(text, tag)?,
        };
        if anchor != 0 {
            self.remember(anchor, &value, 0);
        }
        self.push(value);
        Ok(())
    }

    /// Checks a collection about to open: its tag and its depth.
    fn open(&self, tag: Option<&Tag>) -> Result<(), Declined> {
        if tag.is_some_and(is_custom) {
            return Err(Declined::Tag);
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(Declined::TooDeep);
        }
        Ok(())
    }

    /// The innermost collection is complete: into its parent, and kept for
    /// aliases if anchored.
    fn close(&mut self) {
        let Some(frame) = self.stack.pop() else {
            return;
        };
        let (value, anchor, replays) = match frame {
            Frame::Seq {
                items,
                anchor,
                replays,
            } => (Value::Array(items), anchor, replays),
            Frame::Map {
                map,
                anchor,
                replays,
                ..
            } => (Value::Object(map), anchor, replays),
        };
        self.add_replays(replays);
        if anchor != 0 {
            self.remember(anchor, &value, replays);
        }
        self.push(value);
    }

    /// An alias: its anchor's node again, within the replay budget and the
    /// depth limit.
    fn alias(&mut self, id: usize) -> Result<(), Declined> {
        // An alias inside the node it names (not read yet) would repeat it
        // without end.
        let Some(Some(anchored)) = self.anchors.get(id) else {
            return Err(Declined::TooDeep);
        };
        let replays = anchored.replays.saturating_add(1);
        self.replays = self.replays.saturating_add(replays);
        if self.replays > self.events.saturating_mul(REPLAY_BUDGET) {
            return Err(Declined::AliasBudget);
        }
        if self.stack.len() + depth(&anchored.value) > MAX_DEPTH {
            return Err(Declined::TooDeep);
        }
        let value = anchored.value.clone();
        self.add_replays(replays);
        self.push(value);
        Ok(())
    }

    /// Counts replays made inside the innermost collection.
    fn add_replays(&mut self, count: u64) {
        if let Some(Frame::Seq { replays, .. } | Frame::Map { replays, .. }) = self.stack.last_mut()
        {
            *replays = replays.saturating_add(count);
        }
    }

    /// Keeps an anchored node for the aliases to it.
    fn remember(&mut self, anchor: usize, value: &Value, replays: u64) {
        *self.slot(anchor) = Some(Anchored {
            value: value.clone(),
            replays,
        });
    }

    fn slot(&mut self, anchor: usize) -> &mut Option<Anchored> {
        if self.anchors.len() <= anchor {
            self.anchors.resize_with(anchor + 1, || None);
        }
        &mut self.anchors[anchor]
    }

    /// Whether the next node is a mapping's key.
    fn awaits_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { key: None, .. }))
    }

    /// A node read: an item, a key, a member's value, or the document.
    fn push(&mut self, value: Value) {
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(value);
                }
            }
            Some(Frame::Seq { items, .. }) => items.push(value),
            Some(Frame::Map { map, key, .. }) => match key.take() {
                None => *key = Some(key_text(value)),
                Some(key) => {
                    // A key given twice keeps its place and takes the new value.
                    map.insert(key, value);
                }
            },
        }
    }
}

/// How many collections deep a value is (0 for a scalar).
fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// A key as text: a string as it is, anything else as JSON writes it.
fn key_text(value: Value) -> String {
    match value {
        Value::String(text) => text,
        Value::Null => "null".to_string(),
        other => other.to_string(),
    }
}

/// A plain scalar key as text: as it is, unless it is null, a boolean or a
/// number, which are written as JSON writes them.
fn plain_key(text: Cow<'_, str>) -> String {
    match special(&text) {
        Some(value) => key_text(value),
        None => exact(text),
    }
}

/// What a plain (unquoted, untagged) scalar means, by the YAML 1.2 core
/// schema: null, a boolean, an integer or a float, else a string.
fn resolve_plain(text: Cow<'_, str>) -> Value {
    special(&text).unwrap_or_else(|| Value::String(exact(text)))
}

/// A plain scalar that is not a string: null (`~`, `null`, `Null`, `NULL` or
/// nothing), a boolean (`true`, `True`, `TRUE` and the same of `false`), an
/// integer ([`integer`]) or a float ([`float`]); decimal digits after a
/// leading zero (`017`) are neither in YAML 1.2.
fn special(text: &str) -> Option<Value> {
    let first = text.as_bytes().first();
    let may_be = matches!(
        first,
        None | Some(
            b'0'..=b'9' | b'+' | b'-' | b'.' | b'~' | b'n' | b'N' | b't' | b'T' | b'f' | b'F'
        )
    );
    if !may_be {
        // Most scalars: words.
        return None;
    }
    if text.is_empty() || is_null(text) {
        return Some(Value::Null);
    }
    if let Some(boolean) = boolean(text) {
        return Some(Value::Bool(boolean));
    }
    if let Some(integer) = integer(text) {
        return Some(integer);
    }
    if has_leading_zero(text) {
        return None;
    }
    float(text).map(Value::from)
}

/// A scalar with a tag: a string, for `!!str` and the tags of YAML that are
/// not types; the typed ones and custom ones are left to yaml_serde.
fn tagged_scalar(text: Cow<'_, str>, tag: &Tag) -> Result<Value, Declined> {
    let typed =
        tag.handle == CORE_TAGS && matches!(tag.suffix.as_str(), "bool" | "int" | "float" | "null");
    if typed || is_custom(tag) {
        return Err(Declined::Tag);
    }
    Ok(Value::String(exact(text)))
}

/// A scalar's text as a string no larger than it: the parser's strings have
/// room for 32 bytes or more, and most of a spec's keys and values are
/// shorter (the allocator keeps a string in place when it fills at least
/// half of its block, so only the much shorter ones move).
fn exact(text: Cow<'_, str>) -> String {
    let mut text = text.into_owned();
    text.shrink_to_fit();
    text
}

/// Whether a tag is the document's own (`!name`, `!`), not YAML's or a URI.
fn is_custom(tag: &Tag) -> bool {
    tag.handle.starts_with('!') || (tag.handle.is_empty() && tag.suffix.starts_with('!'))
}

fn is_null(text: &str) -> bool {
    matches!(text, "~" | "null" | "Null" | "NULL")
}

fn boolean(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// Decimal digits after a leading zero, signed or not (`017`, `-00`).
fn has_leading_zero(text: &str) -> bool {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    digits.len() > 1 && digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit())
}

/// An integer: an optional sign, then decimal digits (no leading zero), or
/// `0x`, `0o` or `0b` and hexadecimal, octal or binary digits. One that fits
/// 64 bits (signed, or unsigned when positive) is an integer; a larger one a
/// float, up to 128 bits; beyond that, not an integer.
fn integer(text: &str) -> Option<Value> {
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, digits) = if let Some(digits) = unsigned.strip_prefix("0x") {
        (16, digits)
    } else if let Some(digits) = unsigned.strip_prefix("0o") {
        (8, digits)
    } else if let Some(digits) = unsigned.strip_prefix("0b") {
        (2, digits)
    } else {
        if has_leading_zero(unsigned) {
            return None;
        }
        (10, unsigned)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u128::from_str_radix(digits, radix).ok()?;
    if !negative {
        return Some(match u64::try_from(magnitude) {
            Ok(small) => Value::from(small),
            Err(_) => Value::from(magnitude as f64),
        });
    }
    let value = 0i128.checked_sub_unsigned(magnitude)?;
    Some(match i64::try_from(value) {
        Ok(small) => Value::from(small),
        Err(_) => Value::from(value as f64),
    })
}

/// A finite float as Rust reads one (`1.5`, `-2e3`, `.5`), with one optional
/// `+`; or YAML's `.inf`, `-.inf` and `.nan` forms.
fn float(text: &str) -> Option<f64> {
    let unsigned = match text.strip_prefix('+') {
        Some(rest) if rest.starts_with(['+', '-']) => return None,
        Some(rest) => rest,
        None => text,
    };
    match (text, unsigned) {
        (_, ".inf" | ".Inf" | ".INF") => Some(f64::INFINITY),
        ("-.inf" | "-.Inf" | "-.INF", _) => Some(f64::NEG_INFINITY),
        (".nan" | ".NaN" | ".NAN", _) => Some(f64::NAN),
        _ => unsigned.parse::<f64>().ok().filter(|f| f.is_finite()),
    }
}
