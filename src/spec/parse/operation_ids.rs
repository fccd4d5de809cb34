//! A path item's JSON text read for its operations' ids alone, building
//! nothing else: what conversion needs to know of the operations ahead before
//! it converts them ([`crate::convert`] names actions as it goes).

use std::fmt;

use serde::Deserializer as _;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::{ParseError, from_json_error, utf8};
use crate::spec::HTTP_METHODS;

/// What a path item says of its operations' names.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct OperationIds {
    /// Whether it has a `$ref`: then its operations may be elsewhere.
    pub has_ref: bool,
    /// Each member named after an HTTP method, in document order, with every
    /// `operationId` in it that is a string (a repeated key gives each).
    pub operations: Vec<(String, Vec<String>)>,
}

/// Reads `text`, a path item's JSON, for [`OperationIds`]. A path item that is
/// not an object has none. The errors are [`super::parse_path_item`]'s.
pub fn path_item_operation_ids(text: &[u8]) -> Result<OperationIds, ParseError> {
    let text = utf8(text)?;
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let ids = (&mut deserializer)
        .deserialize_any(PathItem)
        .and_then(|ids| deserializer.end().map(|()| ids))
        .map_err(|e| from_json_error(&e))?;
    Ok(ids)
}

/// The path item: an object of members, or anything else (no operations).
struct PathItem;

impl<'de> Visitor<'de> for PathItem {
    type Value = OperationIds;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a path item")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OperationIds, A::Error> {
        let mut ids = OperationIds::default();
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Ref => {
                    ids.has_ref = true;
                    map.next_value::<IgnoredAny>()?;
                }
                Key::Method(method) => {
                    let found = map.next_value_seed(Operation)?;
                    ids.operations.push((method.to_string(), found));
                }
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(ids)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OperationIds, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(OperationIds::default())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<OperationIds, E> {
        Ok(OperationIds::default())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<OperationIds, E> {
        Ok(OperationIds::default())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<OperationIds, E> {
        Ok(OperationIds::default())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<OperationIds, E> {
        Ok(OperationIds::default())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<OperationIds, E> {
        Ok(OperationIds::default())
    }

    fn visit_unit<E: de::Error>(self) -> Result<OperationIds, E> {
        Ok(OperationIds::default())
    }
}

/// A member's key, as far as [`OperationIds`] cares.
enum Key {
    Ref,
    Method(&'static str),
    Other,
}

impl<'de> de::Deserialize<'de> for Key {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Key, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
        Ok(match key {
            "$ref" => Key::Ref,
            _ => match HTTP_METHODS.iter().find(|m| **m == key) {
                Some(method) => Key::Method(method),
                None => Key::Other,
            },
        })
    }
}

/// An operation's value: the strings under its `operationId` keys.
struct Operation;

impl<'de> DeserializeSeed<'de> for Operation {
    type Value = Vec<String>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Vec<String>, D::Error> {
        deserializer.deserialize_any(OperationVisitor)
    }
}

struct OperationVisitor;

impl<'de> Visitor<'de> for OperationVisitor {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an operation")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<String>, A::Error> {
        let mut ids = Vec::new();
        while let Some(key) = map.next_key::<IsOperationId>()? {
            if key.0 {
                if let Value::String(id) = map.next_value::<Value>()? {
                    ids.push(id);
                }
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(ids)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Vec::new())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Vec<String>, E> {
        Ok(Vec::new())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Vec<String>, E> {
        Ok(Vec::new())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Vec<String>, E> {
        Ok(Vec::new())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Vec<String>, E> {
        Ok(Vec::new())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Vec<String>, E> {
        Ok(Vec::new())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Vec<String>, E> {
        Ok(Vec::new())
    }
}

/// Whether a key is `operationId`.
struct IsOperationId(bool);

impl<'de> de::Deserialize<'de> for IsOperationId {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(IsOperationIdVisitor)
    }
}

struct IsOperationIdVisitor;

impl Visitor<'_> for IsOperationIdVisitor {
    type Value = IsOperationId;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<IsOperationId, E> {
        Ok(IsOperationId(key == "operationId"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(text: &str) -> OperationIds {
        path_item_operation_ids(text.as_bytes()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn each_method_gives_its_operation_ids() {
        let found = ids(
            r#"{"summary": "s", "parameters": [{"name": "id", "in": "path"}],
                "get": {"operationId": "getItem", "responses": {"200": {"description": "ok", "links": {"l": {"operationId": "other"}}}}},
                "post": {"summary": "no id"},
                "x-get": {"operationId": "notAnOperation"}}"#,
        );
        assert!(!found.has_ref);
        assert_eq!(
            found.operations,
            [
                ("get".to_string(), vec!["getItem".to_string()]),
                ("post".to_string(), vec![]),
            ]
        );
    }

    #[test]
    fn escaped_keys_and_ids_read_as_their_text() {
        let found = ids(r#"{"g\u0065t": {"operation\u0049d": "get\u0049tem", "operationId": 7}}"#);
        assert_eq!(
            found.operations,
            [("get".to_string(), vec!["getItem".to_string()])]
        );
    }

    #[test]
    fn a_reference_is_noted_and_other_shapes_have_no_operations() {
        assert!(ids(r##"{"$ref": "#/components/pathItems/p"}"##).has_ref);
        assert_eq!(ids("[1, 2]"), OperationIds::default());
        assert_eq!(
            ids(r#"{"get": "text"}"#).operations,
            [("get".to_string(), vec![])]
        );
    }

    #[test]
    fn bad_json_is_an_error_with_its_place() {
        let error = path_item_operation_ids(b"{\n  \"get\": {,}\n}").err();
        assert!(
            matches!(error, Some(ParseError::Syntax { line: 2, .. })),
            "{error:?}"
        );
    }
}
