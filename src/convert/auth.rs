//! Security requirements → [`AuthRequirement`]s: which secret, of what kind, sent
//! where. Never a value.

use serde_json::{Map, Value};

use crate::action::{AuthKind, AuthRequirement, AuthScheme};
use crate::spec::Field;

/// Converts a `security` list against the spec's schemes (`components.securitySchemes`
/// or Swagger 2.0's `securityDefinitions`, already dereferenced). Returns the
/// requirements, and the names of schemes the requirements use that are not
/// defined (those requirements are left out).
pub fn requirements(
    security: &Value,
    schemes: &Map<String, Value>,
) -> (Vec<AuthRequirement>, Vec<String>) {
    let mut out = Vec::new();
    let mut undefined: Vec<String> = Vec::new();
    for requirement in security.as_array().into_iter().flatten() {
        let Some(requirement) = requirement.as_object() else {
            continue;
        };
        let mut converted = Vec::new();
        let mut complete = true;
        for (name, scopes) in requirement {
            match schemes.get(name).and_then(|s| scheme(name, s, scopes)) {
                Some(s) => converted.push(s),
                None => {
                    complete = false;
                    if !undefined.contains(name) {
                        undefined.push(name.clone());
                    }
                }
            }
        }
        // An empty requirement (`{}`) means anonymous access is allowed; one that lost a
        // scheme is dropped rather than turned into anonymous access.
        if complete {
            out.push(AuthRequirement { schemes: converted });
        }
    }
    (out, undefined)
}

fn scheme(name: &str, definition: &Value, scopes: &Value) -> Option<AuthScheme> {
    let kind_field = definition.field("type")?.as_str()?;
    let text = |k: &str| {
        definition
            .get(k)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let scopes: Vec<String> = scopes
        .as_array()
        .map(|s| {
            s.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let mut out = AuthScheme {
        secret: name.to_string(),
        kind: AuthKind::Http,
        location: None,
        param: None,
        scheme: None,
        scopes,
    };
    match kind_field {
        "apiKey" => {
            out.kind = AuthKind::ApiKey;
            out.location = text("in");
            out.param = text("name");
        }
        // Swagger 2.0.
        "basic" => out.kind = AuthKind::Basic,
        "http" => {
            let scheme = text("scheme").unwrap_or_default().to_ascii_lowercase();
            match scheme.as_str() {
                "bearer" => out.kind = AuthKind::Bearer,
                "basic" => out.kind = AuthKind::Basic,
                _ => out.scheme = Some(scheme),
            }
        }
        "oauth2" => out.kind = AuthKind::Oauth2,
        "openIdConnect" => out.kind = AuthKind::OpenIdConnect,
        "mutualTLS" => out.kind = AuthKind::MutualTls,
        _ => return None,
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_alternatives_and_unknown_schemes() {
        let schemes = json!({
            "key": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            "jwt": {"type": "http", "scheme": "Bearer"},
            "oauth": {"type": "oauth2", "flows": {}}
        });
        let schemes = schemes.as_object().unwrap();
        let (reqs, undefined) = requirements(
            &json!([{"key": [], "jwt": []}, {"oauth": ["read"]}, {"nope": []}, {}]),
            schemes,
        );
        assert_eq!(reqs.len(), 3);
        assert_eq!(reqs[0].schemes[0].param.as_deref(), Some("X-API-Key"));
        assert_eq!(reqs[0].schemes[1].kind, AuthKind::Bearer);
        assert_eq!(reqs[1].schemes[0].scopes, vec!["read"]);
        assert!(reqs[2].schemes.is_empty());
        assert_eq!(undefined, vec!["nope"]);
    }
}
