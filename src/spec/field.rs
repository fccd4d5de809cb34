//! A member of a JSON object by its name, found without hashing the name when
//! the object is small. serde_json's `Map` is an `IndexMap` hashed with std's
//! SipHash, which costs more than comparing a few keys: most objects of a spec
//! (a parameter, a schema, an operation) have under a dozen members, and the
//! converter looks up about 55 names per operation (BENCHMARKS.md, issue 10).

use serde_json::{Map, Value};

/// Up to this many members, an object is scanned rather than hashed.
const SCAN_UP_TO: usize = 12;

/// `get` for a JSON object, by scanning small objects.
pub trait Field {
    /// The member named `key`: `None` when there is none, or when `self` is
    /// not an object.
    fn field(&self, key: &str) -> Option<&Value>;
}

impl Field for Map<String, Value> {
    #[inline]
    fn field(&self, key: &str) -> Option<&Value> {
        if self.len() <= SCAN_UP_TO {
            // A key appears once in a map, so the first match is the one.
            self.iter().find(|(k, _)| k.as_str() == key).map(|(_, v)| v)
        } else {
            self.get(key)
        }
    }
}

impl Field for Value {
    #[inline]
    fn field(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(map) => map.field(key),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Field;
    use serde_json::{Value, json};

    /// The same answer as `get`, small or large, present or absent, on any value.
    #[test]
    fn field_answers_as_get_does() {
        let mut large = serde_json::Map::new();
        for i in 0..40 {
            large.insert(format!("k{i}"), json!(i));
        }
        let values = [
            json!({}),
            json!({"a": 1}),
            json!({"a": 1, "ab": 2, "b": {"c": 3}, "": 4}),
            Value::Object(large),
            json!([1, 2]),
            json!("a"),
            Value::Null,
        ];
        for value in &values {
            for key in ["a", "ab", "b", "", "c", "k0", "k39", "k40", "A"] {
                assert_eq!(value.field(key), value.get(key), "{key} in {value}");
            }
        }
    }
}
