//! The base URL of an operation: operation-level servers, then path-level, then the
//! root's (or Swagger 2.0's `schemes` + `host` + `basePath`), variables filled
//! with their defaults, made absolute, and checked to be https.

use serde_json::Value;
use url::Url;

use crate::spec::Field;

/// What the caller decided about base URLs.
#[derive(Debug, Clone, Copy)]
pub struct ServerPolicy<'a> {
    /// `--base-url`: replaces the root's absolute server; relative servers resolve against it.
    pub base_url: Option<&'a Url>,
    /// Where the spec was fetched from, against which relative servers resolve otherwise.
    pub fetched_from: Option<&'a Url>,
    /// Accept `http://` servers.
    pub allow_http: bool,
}

/// Why no usable base URL was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerProblem {
    /// A stable code (`http-url`, `relative-server`, `no-server`, `bad-server`).
    pub code: &'static str,
    /// What was wrong and what to do.
    pub message: String,
}

/// Which level of the spec a list of servers came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// The root `servers` (or 2.0 `host`), which `--base-url` replaces.
    Root,
    /// A path item's or operation's own `servers`.
    Local,
}

/// Picks the base URL (without a trailing slash) from one level's candidate URLs:
/// the first https one, else the first one, made absolute.
pub fn choose(
    candidates: &[String],
    level: Level,
    policy: ServerPolicy<'_>,
) -> Result<String, ServerProblem> {
    if level == Level::Root
        && let Some(base) = policy.base_url
        && candidates.iter().all(|c| is_absolute(c))
    {
        return check(base.as_str(), policy);
    }
    let mut resolved: Vec<Result<String, ServerProblem>> = Vec::new();
    for candidate in candidates {
        resolved.push(absolutise(candidate, policy));
    }
    if resolved.is_empty() {
        resolved.push(absolutise("/", policy));
    }
    if let Some(https) = resolved
        .iter()
        .find_map(|r| r.as_ref().ok().filter(|u| u.starts_with("https://")))
    {
        return check(https, policy);
    }
    match resolved.into_iter().next() {
        Some(Ok(url)) => check(&url, policy),
        Some(Err(problem)) => Err(problem),
        None => Err(ServerProblem {
            code: "no-server",
            message: "the spec names no server; pass --base-url".to_string(),
        }),
    }
}

fn is_absolute(url: &str) -> bool {
    Url::parse(url).is_ok()
}

fn absolutise(candidate: &str, policy: ServerPolicy<'_>) -> Result<String, ServerProblem> {
    if is_absolute(candidate) {
        return Ok(candidate.to_string());
    }
    let base = policy.base_url.or(policy.fetched_from).ok_or_else(|| ServerProblem {
        code: if candidate == "/" { "no-server" } else { "relative-server" },
        message: if candidate == "/" {
            "the spec names no server, so the action has no URL; pass --base-url https://…".to_string()
        } else {
            format!("the server URL `{candidate}` is relative, so the action has no absolute URL; pass --base-url https://… (it is resolved against it)")
        },
    })?;
    let mut base = base.clone();
    if !base.path().ends_with('/') && !candidate.starts_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    base.join(candidate)
        .map(|u| u.to_string())
        .map_err(|e| ServerProblem {
            code: "bad-server",
            message: format!("the server URL `{candidate}` cannot be resolved against {base}: {e}"),
        })
}

fn check(url: &str, policy: ServerPolicy<'_>) -> Result<String, ServerProblem> {
    let parsed = Url::parse(url).map_err(|e| ServerProblem {
        code: "bad-server",
        message: format!("the server URL `{url}` is not a valid URL: {e}"),
    })?;
    match parsed.scheme() {
        "https" => {}
        "http" if policy.allow_http => {}
        "http" => {
            return Err(ServerProblem {
                code: "http-url",
                message: format!(
                    "the server URL `{url}` is http://; actions call HTTPS only. Serve the API over https, pass --base-url https://…, or --allow-http for a local test"
                ),
            });
        }
        other => {
            return Err(ServerProblem {
                code: "bad-server",
                message: format!("the server URL `{url}` uses `{other}:`; actions call HTTPS URLs"),
            });
        }
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(ServerProblem {
            code: "bad-server",
            message: format!("the server URL `{url}` has no host"),
        });
    }
    Ok(url.trim_end_matches('/').to_string())
}

/// The URLs of an OpenAPI 3 `servers` list, variables replaced by their defaults.
/// `Err` names a variable without a default.
pub fn oas3_candidates(servers: &Value) -> Result<Vec<String>, ServerProblem> {
    let mut out = Vec::new();
    for server in servers.as_array().into_iter().flatten() {
        let Some(template) = server.field("url").and_then(Value::as_str) else {
            continue;
        };
        let variables = server.field("variables");
        out.push(substitute(template, variables)?);
    }
    Ok(out)
}

fn substitute(template: &str, variables: Option<&Value>) -> Result<String, ServerProblem> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            out.push_str(&rest[open..]);
            rest = "";
            break;
        };
        let name = &rest[open + 1..open + close];
        let value = variables
            .and_then(|v| v.get(name))
            .and_then(|v| v.field("default"))
            .map(|d| match d {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .ok_or_else(|| ServerProblem {
                code: "bad-server",
                message: format!(
                    "the server URL `{template}` uses the variable {{{name}}}, which has no default"
                ),
            })?;
        out.push_str(&value);
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The URL of a Swagger 2.0 spec's `schemes` + `host` + `basePath`; https when the
/// schemes allow it (or say nothing); relative (`basePath` alone) without a host.
pub fn swagger2_candidates(root: &Value, operation_schemes: Option<&Value>) -> Vec<String> {
    let base_path = root.field("basePath").and_then(Value::as_str).unwrap_or("");
    let base_path = if base_path.is_empty() || base_path.starts_with('/') {
        base_path.to_string()
    } else {
        format!("/{base_path}")
    };
    let Some(host) = root
        .field("host")
        .and_then(Value::as_str)
        .filter(|h| !h.is_empty())
    else {
        return if base_path.is_empty() {
            Vec::new()
        } else {
            vec![base_path]
        };
    };
    let schemes: Vec<&str> = operation_schemes
        .or_else(|| root.field("schemes"))
        .and_then(Value::as_array)
        .map(|s| s.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut ordered: Vec<&str> = Vec::new();
    if schemes.is_empty() || schemes.iter().any(|s| s.eq_ignore_ascii_case("https")) {
        ordered.push("https");
    }
    ordered.extend(schemes.iter().filter(|s| !s.eq_ignore_ascii_case("https")));
    ordered
        .into_iter()
        .map(|scheme| format!("{}://{host}{base_path}", scheme.to_ascii_lowercase()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const STRICT: ServerPolicy<'static> = ServerPolicy {
        base_url: None,
        fetched_from: None,
        allow_http: false,
    };

    #[test]
    fn variables_take_defaults_and_https_wins() {
        let servers = json!([
            {"url": "http://api.example.com"},
            {"url": "https://{region}.api.example.com/{base}", "variables": {"region": {"default": "eu"}, "base": {"default": "v2"}}}
        ]);
        let c = oas3_candidates(&servers).unwrap();
        assert_eq!(
            choose(&c, Level::Root, STRICT).unwrap(),
            "https://eu.api.example.com/v2"
        );
    }

    #[test]
    fn http_and_relative_are_refused_with_advice() {
        let http = choose(&["http://a.example".into()], Level::Root, STRICT).unwrap_err();
        assert_eq!(http.code, "http-url");
        let allowed = ServerPolicy {
            allow_http: true,
            ..STRICT
        };
        assert_eq!(
            choose(&["http://a.example/".into()], Level::Root, allowed).unwrap(),
            "http://a.example"
        );
        let rel = choose(&["/api/v3".into()], Level::Root, STRICT).unwrap_err();
        assert_eq!(rel.code, "relative-server");
        assert_eq!(
            choose(&[], Level::Root, STRICT).unwrap_err().code,
            "no-server"
        );
    }

    #[test]
    fn base_url_resolves_relative_and_replaces_absolute_root() {
        let base = Url::parse("https://staging.example.com").unwrap();
        let policy = ServerPolicy {
            base_url: Some(&base),
            ..STRICT
        };
        assert_eq!(
            choose(&["/api/v3".into()], Level::Root, policy).unwrap(),
            "https://staging.example.com/api/v3"
        );
        assert_eq!(
            choose(&["https://prod.example.com/v1".into()], Level::Root, policy).unwrap(),
            "https://staging.example.com"
        );
        assert_eq!(
            choose(
                &["https://uploads.example.com".into()],
                Level::Local,
                policy
            )
            .unwrap(),
            "https://uploads.example.com"
        );
    }

    #[test]
    fn swagger2_host() {
        let root =
            json!({"host": "api.example.com", "basePath": "/v1", "schemes": ["http", "https"]});
        assert_eq!(
            swagger2_candidates(&root, None),
            vec!["https://api.example.com/v1", "http://api.example.com/v1"]
        );
        assert_eq!(
            swagger2_candidates(&json!({"basePath": "/v1"}), None),
            vec!["/v1"]
        );
        assert_eq!(
            swagger2_candidates(&root, Some(&json!(["http"]))),
            vec!["http://api.example.com/v1"]
        );
    }
}
