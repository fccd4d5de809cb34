//! Tool names: `^[a-z0-9_]{5,64}$`, from the operationId, else from the method and
//! the path's nouns (`GET /orders/{id}` → `get_order_by_id`).

use crate::action::Method;

/// Shortest valid name.
pub const MIN_NAME: usize = 5;
/// Longest valid name.
pub const MAX_NAME: usize = 64;

/// Whether `name` is a valid tool name.
pub fn is_valid_name(name: &str) -> bool {
    (MIN_NAME..=MAX_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Splits an identifier into lowercase ASCII words: at separators, at lower→upper
/// case changes, and before the last capital of an acronym (`HTTPServer` → `http`,
/// `server`). Characters that are not ASCII letters or digits separate words.
pub fn words(identifier: &str) -> Vec<String> {
    let chars: Vec<char> = identifier.chars().collect();
    let mut words = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        if c.is_ascii_uppercase() && !current.is_empty() {
            let prev = chars[i - 1];
            let next_is_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next_is_lower)
            {
                words.push(std::mem::take(&mut current));
            }
        }
        current.push(c.to_ascii_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// `snake_case` of an identifier; empty if it has no ASCII letters or digits.
pub fn snake_case(identifier: &str) -> String {
    words(identifier).join("_")
}

/// Shortens a name to [`MAX_NAME`], keeping it unique by ending it with a hash of
/// the whole name.
pub fn fit_length(name: &str) -> String {
    if name.len() <= MAX_NAME {
        return name.to_string();
    }
    let hash = format!("{:08x}", fnv1a(name.as_bytes()) as u32);
    let keep = MAX_NAME - hash.len() - 1;
    let mut head = &name[..keep];
    // Cut at a word boundary when one is near, so the name still reads.
    if let Some(cut) = head.rfind('_')
        && cut + 12 >= keep
    {
        head = &head[..cut];
    }
    format!("{}_{hash}", head.trim_end_matches('_'))
}

/// A name from an operationId, if it makes a valid one.
pub fn from_operation_id(operation_id: &str) -> Option<String> {
    let name = fit_length(&snake_case(operation_id));
    is_valid_name(&name).then_some(name)
}

/// A name from the method and the path: the verb, the path's nouns (singular
/// where a parameter follows them), and `by_<param>` for the last path parameter.
pub fn from_path(method: Method, path: &str) -> String {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let is_param = |s: &str| s.starts_with('{') && s.ends_with('}');
    let ends_with_param = segments.last().is_some_and(|s| is_param(s));
    // `GET /orders` lists; `GET /health` and `GET /status` get.
    let plural_end = segments.last().is_some_and(|s| {
        let last = words(s).pop().unwrap_or_default();
        !is_param(s) && singular(&last) != last
    });
    let verb = match method {
        Method::Get if plural_end => "list",
        Method::Get => "get",
        Method::Post => "create",
        Method::Put => "update",
        Method::Patch => "patch",
        Method::Delete => "delete",
    };
    let mut nouns: Vec<String> = Vec::new();
    let mut last_param: Option<String> = None;
    for (i, segment) in segments.iter().enumerate() {
        if is_param(segment) {
            last_param = Some(snake_case(&segment[1..segment.len() - 1]));
            continue;
        }
        last_param = None;
        let lower = segment.to_ascii_lowercase();
        if is_version_or_prefix(&lower) {
            continue;
        }
        let followed_by_param = segments.get(i + 1).is_some_and(|s| is_param(s));
        let is_last = i + 1 == segments.len();
        let mut words = words(segment);
        if let Some(last) = words.last_mut()
            && (followed_by_param || (is_last && method == Method::Post))
        {
            *last = singular(last);
        }
        nouns.extend(words);
    }
    let mut parts = vec![verb.to_string()];
    parts.extend(nouns);
    if ends_with_param && let Some(param) = last_param.filter(|p| !p.is_empty()) {
        parts.push("by".to_string());
        parts.push(param);
    }
    let mut name = parts.join("_");
    if name.len() < MIN_NAME {
        name.push_str("_root");
    }
    fit_length(&name)
}

fn is_version_or_prefix(segment: &str) -> bool {
    segment == "api"
        || segment == "rest"
        || (segment.len() >= 2
            && segment.starts_with('v')
            && segment[1..].chars().all(|c| c.is_ascii_digit() || c == '.'))
}

/// A cheap English singular, good enough for resource names in paths.
pub fn singular(word: &str) -> String {
    if word.len() <= 3 {
        return word.to_string();
    }
    if let Some(stem) = word.strip_suffix("ies") {
        return format!("{stem}y");
    }
    for suffix in ["sses", "xes", "ches", "shes", "zes"] {
        if word.ends_with(suffix) {
            return word[..word.len() - 2].to_string();
        }
    }
    if word.ends_with("ss")
        || word.ends_with("us")
        || word.ends_with("is")
        || word.ends_with("news")
    {
        return word.to_string();
    }
    word.strip_suffix('s').unwrap_or(word).to_string()
}

/// A parameter name the AI can use: snake_case ASCII, never empty.
pub fn parameter_name(key: &str) -> String {
    let name = snake_case(key);
    if name.is_empty() {
        format!("param_{:08x}", fnv1a(key.as_bytes()) as u32)
    } else {
        name
    }
}

/// FNV-1a: a small, stable hash for deterministic suffixes.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    fnv1a_of(bytes.iter().copied())
}

/// [`fnv1a`] of bytes as they come, for a caller that makes them on the way
/// (lint lowercases each word as it hashes it).
pub fn fnv1a_of(bytes: impl IntoIterator<Item = u8>) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// The name prefix of a source that sets none: its name, as a tool name's
/// characters (`billing-api` → `billing_api`).
pub fn default_name_prefix(source: &str) -> String {
    let mut prefix = String::with_capacity(source.len());
    for c in source.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            prefix.push(c);
        } else if !prefix.is_empty() && !prefix.ends_with('_') {
            prefix.push('_');
        }
    }
    while prefix.ends_with('_') {
        prefix.pop();
    }
    if prefix.is_empty() {
        prefix.push_str("source");
    }
    prefix
}

/// `name` with a source's prefix: what it is called when another source has it.
pub fn prefixed_name(prefix: &str, name: &str) -> String {
    format!("{prefix}_{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_cases_real_operation_ids() {
        assert_eq!(snake_case("getOrderById"), "get_order_by_id");
        assert_eq!(snake_case("ListAllOrders"), "list_all_orders");
        assert_eq!(snake_case("repos/get-content"), "repos_get_content");
        assert_eq!(snake_case("getHTTPServerStatus"), "get_http_server_status");
        assert_eq!(
            snake_case("GetAccountsAccountBankAccountsId"),
            "get_accounts_account_bank_accounts_id"
        );
        assert_eq!(snake_case("pets.v2.find"), "pets_v2_find");
        assert_eq!(snake_case("getV2Users"), "get_v2_users");
        assert_eq!(snake_case("获取用户"), "");
    }

    #[test]
    fn names_from_paths() {
        assert_eq!(from_path(Method::Get, "/orders/{id}"), "get_order_by_id");
        assert_eq!(from_path(Method::Get, "/orders"), "list_orders");
        assert_eq!(from_path(Method::Post, "/orders"), "create_order");
        assert_eq!(from_path(Method::Put, "/orders/{id}"), "update_order_by_id");
        assert_eq!(
            from_path(Method::Delete, "/orders/{id}"),
            "delete_order_by_id"
        );
        assert_eq!(
            from_path(Method::Get, "/users/{userId}/orders/{orderId}"),
            "get_user_order_by_order_id"
        );
        assert_eq!(from_path(Method::Get, "/v1/api/status"), "get_status");
        assert_eq!(from_path(Method::Get, "/health"), "get_health");
        assert_eq!(
            from_path(Method::Get, "/users/{id}/orders"),
            "list_user_orders"
        );
        assert_eq!(from_path(Method::Get, "/"), "get_root");
        assert_eq!(from_path(Method::Post, "/categories"), "create_category");
    }

    #[test]
    fn long_names_are_cut_and_stay_unique() {
        let a = fit_length(&"very_long_operation_name_".repeat(4));
        let b = fit_length(&format!("{}x", "very_long_operation_name_".repeat(4)));
        assert!(a.len() <= MAX_NAME && is_valid_name(&a), "{a}");
        assert_ne!(a, b);
        assert_eq!(from_operation_id("get"), None);
    }
}
