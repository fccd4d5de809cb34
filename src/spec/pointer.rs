//! JSON pointers (RFC 6901) as they appear in `$ref` fragments (RFC 3986).

use std::borrow::Cow;

use serde_json::Value;

/// Splits a fragment (`/components/schemas/a~1b`, without the `#`) into unescaped
/// tokens. The fragment may be percent-encoded, as URI fragments are.
/// Returns `None` if the fragment is not a JSON pointer (e.g. a 3.1 `$anchor`).
pub fn parse_fragment(fragment: &str) -> Option<Vec<String>> {
    if fragment.is_empty() {
        return Some(Vec::new());
    }
    let decoded = percent_encoding::percent_decode_str(fragment).decode_utf8_lossy();
    let rest = decoded.strip_prefix('/')?;
    Some(
        rest.split('/')
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .collect(),
    )
}

/// A fragment that is not a JSON pointer (a 3.1 `$anchor`, say).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotAPointer;

/// Follows a fragment (without the `#`) from `value`, without allocating unless the
/// fragment is percent-encoded or escaped. `Ok(None)` when it leads nowhere.
pub fn follow<'v>(value: &'v Value, fragment: &str) -> Result<Option<&'v Value>, NotAPointer> {
    follow_decoded(value, &decode(fragment))
}

/// A fragment percent-decoded, as URI fragments are before they are read as
/// pointers; borrowed when there is nothing to decode.
pub fn decode(fragment: &str) -> Cow<'_, str> {
    if fragment.contains('%') {
        percent_encoding::percent_decode_str(fragment).decode_utf8_lossy()
    } else {
        Cow::Borrowed(fragment)
    }
}

/// Unescapes one pointer token (`a~1b~0c` → `a/b~c`).
pub fn unescape(token: &str) -> Cow<'_, str> {
    if token.contains('~') {
        Cow::Owned(token.replace("~1", "/").replace("~0", "~"))
    } else {
        Cow::Borrowed(token)
    }
}

/// [`follow`] of a fragment already percent-decoded ([`decode`]).
pub fn follow_decoded<'v>(
    value: &'v Value,
    decoded: &str,
) -> Result<Option<&'v Value>, NotAPointer> {
    if decoded.is_empty() {
        return Ok(Some(value));
    }
    let rest = decoded.strip_prefix('/').ok_or(NotAPointer)?;
    let mut current = value;
    for raw in rest.split('/') {
        match step(current, &unescape(raw)) {
            Some(next) => current = next,
            None => return Ok(None),
        }
    }
    Ok(Some(current))
}

fn step<'v>(value: &'v Value, token: &str) -> Option<&'v Value> {
    match value {
        Value::Object(map) => map.get(token),
        Value::Array(items) => {
            // RFC 6901: no leading zeros, no signs.
            if token.len() > 1 && token.starts_with('0') {
                return None;
            }
            items.get(token.parse::<usize>().ok()?)
        }
        _ => None,
    }
}

/// Follows unescaped tokens from `value`.
pub fn get<'v>(mut value: &'v Value, tokens: &[String]) -> Option<&'v Value> {
    for token in tokens {
        value = match value {
            Value::Object(map) => map.get(token.as_str())?,
            Value::Array(items) => {
                // RFC 6901: no leading zeros, no signs.
                if token.len() > 1 && token.starts_with('0') {
                    return None;
                }
                items.get(token.parse::<usize>().ok()?)?
            }
            _ => return None,
        };
    }
    Some(value)
}

/// Escapes one token for use in a pointer (`a/b~c` → `a~1b~0c`).
pub fn escape(token: &str) -> String {
    if token.contains(['~', '/']) {
        token.replace('~', "~0").replace('/', "~1")
    } else {
        token.to_string()
    }
}

/// Builds `#/a/b` from unescaped tokens.
pub fn fragment<'a>(tokens: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::from("#");
    for t in tokens {
        out.push('/');
        out.push_str(&escape(t));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escapes_round_trip() {
        let doc = json!({"paths": {"/orders/{id}": {"get": 1}}, "a~b": [10, 20]});
        let tokens = parse_fragment("/paths/~1orders~1%7Bid%7D/get").unwrap();
        assert_eq!(get(&doc, &tokens), Some(&json!(1)));
        assert_eq!(
            get(&doc, &parse_fragment("/a~0b/1").unwrap()),
            Some(&json!(20))
        );
        assert_eq!(get(&doc, &parse_fragment("/a~0b/01").unwrap()), None);
        assert_eq!(
            fragment(["paths", "/orders/{id}"]),
            "#/paths/~1orders~1{id}"
        );
        assert_eq!(parse_fragment("anchor"), None);
        assert_eq!(parse_fragment(""), Some(vec![]));
        assert_eq!(
            follow(&doc, "/paths/~1orders~1%7Bid%7D/get"),
            Ok(Some(&json!(1)))
        );
        assert_eq!(follow(&doc, "/a~0b/1"), Ok(Some(&json!(20))));
        assert_eq!(follow(&doc, "/a~0b/01"), Ok(None));
        assert_eq!(follow(&doc, "anchor"), Err(NotAPointer));
        assert_eq!(follow(&doc, ""), Ok(Some(&doc)));
    }
}
