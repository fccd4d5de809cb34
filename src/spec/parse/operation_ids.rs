//! A path item's JSON text read for its operations' ids alone, building
//! nothing else: what conversion needs to know of the operations ahead before
//! it converts them ([`crate::convert`] names actions as it goes).

use std::fmt;
use std::marker::PhantomData;

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
    let ids = ObjectOr::<OperationIds>::new()
        .deserialize(&mut deserializer)
        .and_then(|ids| deserializer.end().map(|()| ids))
        .map_err(|e| from_json_error(&e))?;
    Ok(ids)
}

/// What is read from a JSON object; any other value reads as the default
/// (a path item or an operation that is not an object has no operations or
/// ids).
trait FromObject<'de>: Default {
    fn read<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error>;
}

impl<'de> FromObject<'de> for OperationIds {
    fn read<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut ids = OperationIds::default();
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Ref => {
                    ids.has_ref = true;
                    map.next_value::<IgnoredAny>()?;
                }
                Key::Method(method) => {
                    let found = map.next_value_seed(ObjectOr::<OperationIdList>::new())?;
                    ids.operations.push((method.to_string(), found.0));
                }
                Key::OperationId | Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(ids)
    }
}

/// An operation's value: the strings under its `operationId` keys.
#[derive(Default)]
struct OperationIdList(Vec<String>);

impl<'de> FromObject<'de> for OperationIdList {
    fn read<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut ids = Vec::new();
        while let Some(key) = map.next_key::<Key>()? {
            if matches!(key, Key::OperationId) {
                if let Value::String(id) = map.next_value::<Value>()? {
                    ids.push(id);
                }
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(OperationIdList(ids))
    }
}

/// Reads a `T` from an object, and any other value, read through, as `T`'s default.
struct ObjectOr<T>(PhantomData<T>);

impl<T> ObjectOr<T> {
    fn new() -> Self {
        ObjectOr(PhantomData)
    }
}

impl<'de, T: FromObject<'de>> DeserializeSeed<'de> for ObjectOr<T> {
    type Value = T;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, T: FromObject<'de>> Visitor<'de> for ObjectOr<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::read(map)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<T, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(T::default())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<T, E> {
        Ok(T::default())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<T, E> {
        Ok(T::default())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<T, E> {
        Ok(T::default())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<T, E> {
        Ok(T::default())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<T, E> {
        Ok(T::default())
    }

    fn visit_unit<E: de::Error>(self) -> Result<T, E> {
        Ok(T::default())
    }
}

/// A member's key, as far as [`OperationIds`] cares.
enum Key {
    Ref,
    Method(&'static str),
    OperationId,
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
            "operationId" => Key::OperationId,
            _ => match HTTP_METHODS.iter().find(|m| **m == key) {
                Some(method) => Key::Method(method),
                None => Key::Other,
            },
        })
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
