//! The answer of a test, for people (text) and machines (JSON): the request as
//! sent, what came back, what the AI would receive, the verdict and the schema
//! check. Every string in it has the global variables' values replaced by `***`.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

use super::GlobalVariable;
use super::build::{Prepared, PreparedBody};
use super::check::SchemaCheck;
use super::send::{Exchange, Outcome};
use crate::action::StoredAction;

/// The most characters of the response body shown.
pub const SHOWN_BODY: usize = 64 * 1024;

/// What replaces a secret.
pub const REDACTED: &str = "***";

/// A test's answer.
#[derive(Debug, Clone, Serialize)]
pub struct TestReport {
    /// Which action.
    pub action: ActionRef,
    /// The request as sent (global variables redacted).
    pub request: RequestShown,
    /// Whether the request was only built, not sent.
    pub dry_run: bool,
    /// `dry_run`, `answered`, `timeout`, `network_error` or `refused`.
    pub outcome: &'static str,
    /// From the first byte sent to the last byte read, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// Redirects followed: status and target.
    pub redirects: Vec<RedirectShown>,
    /// The answer, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<ResponseShown>,
    /// What the platform hands the AI for this outcome.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ai_receives: Option<AiView>,
    /// For a timeout, a network error or a refusal: what happened, for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Whether the HTTP contract works (a 2xx answer), and why.
    pub verdict: Verdict,
    /// The answer against the spec's response schema.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<SchemaCheck>,
    /// Placeholders, values taken from the spec, headers replaced or left off.
    pub notes: Vec<String>,
}

/// The action tested.
#[derive(Debug, Clone, Serialize)]
pub struct ActionRef {
    /// Id.
    pub id: i64,
    /// Name in effect.
    pub name: String,
    /// Source.
    pub source: String,
}

/// One header as shown.
#[derive(Debug, Clone, Serialize)]
pub struct HeaderShown {
    /// Name.
    pub name: String,
    /// Value, or `***` for a global variable.
    pub value: String,
}

/// The request as sent.
#[derive(Debug, Clone, Serialize)]
pub struct RequestShown {
    /// Method.
    pub method: String,
    /// URL.
    pub url: String,
    /// Headers, in the order sent.
    pub headers: Vec<HeaderShown>,
    /// `application/json` (or a `+json` type) or `multipart/form-data`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// The body: the JSON document, or the multipart fields as an object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

/// A redirect followed.
#[derive(Debug, Clone, Serialize)]
pub struct RedirectShown {
    /// Its status.
    pub status: u16,
    /// Where to.
    pub location: String,
}

/// The answer.
#[derive(Debug, Clone, Serialize)]
pub struct ResponseShown {
    /// Status code.
    pub status: u16,
    /// Headers, in order.
    pub headers: Vec<HeaderShown>,
    /// The body as text (pretty-printed when JSON), cut at [`SHOWN_BODY`]
    /// characters.
    pub body: String,
    /// The body's size in bytes (as read: at most 4 MiB).
    pub body_bytes: usize,
    /// Whether `body` is cut short.
    pub truncated: bool,
}

/// What the AI would receive.
#[derive(Debug, Clone, Serialize)]
pub struct AiView {
    /// The status, when the platform passes one (not for a network error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The text.
    pub body: String,
}

/// The verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// `true` for a 2xx answer: the HTTP contract works. `null` for a dry run.
    pub works: Option<bool>,
    /// One sentence.
    pub summary: String,
}

/// Replaces every global variable's value in `text` with `***`.
pub fn redact(text: &str, globals: &[GlobalVariable]) -> String {
    let mut out = text.to_string();
    for global in globals {
        if !global.value.is_empty() && out.contains(&global.value) {
            out = out.replace(&global.value, REDACTED);
        }
    }
    out
}

/// Redacts every string inside a JSON value.
fn redact_value(value: &Value, globals: &[GlobalVariable]) -> Value {
    match value {
        Value::String(s) => Value::String(redact(s, globals)),
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| redact_value(v, globals)).collect())
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (redact(k, globals), redact_value(v, globals)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn request_shown(prepared: &Prepared, globals: &[GlobalVariable]) -> RequestShown {
    let headers = prepared
        .headers
        .iter()
        .map(|h| HeaderShown {
            name: h.name.clone(),
            value: if h.secret {
                REDACTED.to_string()
            } else {
                redact(&h.value, globals)
            },
        })
        .collect();
    let (content_type, body) = match &prepared.body {
        None => (None, None),
        Some(PreparedBody::Json {
            content_type,
            value,
        }) => (
            Some(content_type.clone()),
            Some(redact_value(value, globals)),
        ),
        Some(PreparedBody::Multipart(fields)) => {
            let map: Map<String, Value> = fields
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            (
                Some("multipart/form-data".to_string()),
                Some(redact_value(&Value::Object(map), globals)),
            )
        }
    };
    RequestShown {
        method: prepared.method.as_str().to_string(),
        url: redact(prepared.url.as_str(), globals),
        headers,
        content_type,
        body,
    }
}

/// The body as text: pretty when it is JSON, cut at [`SHOWN_BODY`] characters.
fn shown_body(bytes: &[u8]) -> (String, bool) {
    let text = match serde_json::from_slice::<Value>(bytes) {
        Ok(value) => serde_json::to_string_pretty(&value)
            .unwrap_or_else(|_| String::from_utf8_lossy(bytes).into_owned()),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    };
    match text.char_indices().nth(SHOWN_BODY) {
        Some((cut, _)) => (text[..cut].to_string(), true),
        None => (text, false),
    }
}

impl TestReport {
    /// The report of a request built but not sent.
    pub fn dry_run(
        action: &StoredAction,
        prepared: &Prepared,
        globals: &[GlobalVariable],
    ) -> TestReport {
        TestReport {
            action: action_ref(action),
            request: request_shown(prepared, globals),
            dry_run: true,
            outcome: "dry_run",
            latency_ms: None,
            redirects: Vec::new(),
            response: None,
            ai_receives: None,
            error: None,
            verdict: Verdict {
                works: None,
                summary: "not sent (dry run)".to_string(),
            },
            schema: None,
            notes: prepared.notes.iter().map(|n| redact(n, globals)).collect(),
        }
    }

    /// The report of a request sent.
    pub fn new(
        action: &StoredAction,
        prepared: &Prepared,
        exchange: &Exchange,
        schema: SchemaCheck,
        timeout: Duration,
        globals: &[GlobalVariable],
    ) -> TestReport {
        let mut report = TestReport::dry_run(action, prepared, globals);
        report.dry_run = false;
        report.latency_ms = Some(u64::try_from(exchange.latency.as_millis()).unwrap_or(u64::MAX));
        report.redirects = exchange
            .redirects
            .iter()
            .map(|(status, location)| RedirectShown {
                status: *status,
                location: redact(location, globals),
            })
            .collect();
        report
            .notes
            .extend(exchange.notes.iter().map(|n| redact(n, globals)));
        let timeout_ms = timeout.as_millis();
        match &exchange.outcome {
            Outcome::Answered(answer) => {
                let (body, cut) = shown_body(&answer.body);
                let body = redact(&body, globals);
                report.outcome = "answered";
                report.response = Some(ResponseShown {
                    status: answer.status,
                    headers: answer
                        .headers
                        .iter()
                        .map(|(k, v)| HeaderShown {
                            name: k.clone(),
                            value: redact(v, globals),
                        })
                        .collect(),
                    body_bytes: answer.body.len(),
                    truncated: cut || answer.truncated,
                    body: body.clone(),
                });
                // The platform hands over the body as the server sent it.
                let verbatim = redact(&String::from_utf8_lossy(&answer.body), globals);
                let (verbatim, _) = match verbatim.char_indices().nth(SHOWN_BODY) {
                    Some((cut, _)) => (verbatim[..cut].to_string(), true),
                    None => (verbatim, false),
                };
                report.ai_receives = Some(AiView {
                    status: Some(answer.status),
                    body: verbatim,
                });
                report.verdict = answered_verdict(answer.status, &schema);
                let context_sent = prepared.headers.iter().any(|h| {
                    h.name
                        .eq_ignore_ascii_case(super::build::CONTEXT_HEADERS[0].0)
                });
                if (400..500).contains(&answer.status) && context_sent {
                    report.notes.push(
                        "a 4xx: if the API's middleware refuses headers it does not know, test again without the x-opencx-* context headers (--no-context-headers, or test.context_headers: false) to see whether they are the cause; the platform sends them on every call when the organisation enables them".to_string(),
                    );
                }
                report.schema = Some(redact_check(schema, globals));
            }
            Outcome::TimedOut => {
                report.outcome = "timeout";
                report.ai_receives = Some(AiView {
                    status: Some(408),
                    body: format!("Request timed out after {timeout_ms}ms"),
                });
                report.error = Some(format!(
                    "no answer within {timeout_ms} ms (no retry: the platform makes one attempt)"
                ));
                report.verdict = Verdict {
                    works: Some(false),
                    summary: format!("timed out after {timeout_ms} ms: the AI receives 408"),
                };
            }
            Outcome::Failed { reason, refused } => {
                let reason = redact(reason, globals);
                report.outcome = if *refused { "refused" } else { "network_error" };
                report.ai_receives = Some(AiView {
                    status: None,
                    body: "Something went wrong".to_string(),
                });
                report.verdict = Verdict {
                    works: Some(false),
                    summary: if *refused {
                        format!("not sent: {reason}")
                    } else {
                        format!("the request failed: {reason}")
                    },
                };
                report.error = Some(reason);
            }
        }
        report
    }

    /// The report for people.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let request = &self.request;
        let _ = writeln!(out, "{} {}", request.method, request.url);
        for header in &request.headers {
            let _ = writeln!(out, "  {}: {}", header.name, header.value);
        }
        if let Some(body) = &request.body {
            let text = serde_json::to_string_pretty(body).unwrap_or_default();
            let _ = writeln!(
                out,
                "  body ({}):",
                request.content_type.as_deref().unwrap_or("")
            );
            for line in text.lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
        for note in &self.notes {
            let _ = writeln!(out, "note: {note}");
        }
        for redirect in &self.redirects {
            let _ = writeln!(
                out,
                "→ {} redirect to {}",
                redirect.status, redirect.location
            );
        }
        if let Some(response) = &self.response {
            let latency = self.latency_ms.unwrap_or(0);
            let _ = writeln!(out, "\n← {} in {latency} ms", response.status);
            for header in &response.headers {
                let _ = writeln!(out, "  {}: {}", header.name, header.value);
            }
            let _ = writeln!(out);
            out.push_str(&response.body);
            if !response.body.ends_with('\n') {
                out.push('\n');
            }
            if response.truncated {
                let _ = writeln!(out, "… (cut: {} bytes in all)", response.body_bytes);
            }
        }
        if let Some(error) = &self.error {
            let _ = writeln!(out, "\n{}: {error}", self.outcome.replace('_', " "));
        }
        if let Some(ai) = &self.ai_receives
            && self.response.is_none()
        {
            match ai.status {
                Some(status) => {
                    let _ = writeln!(out, "the AI receives: {status} {}", ai.body);
                }
                None => {
                    let _ = writeln!(out, "the AI receives: {}", ai.body);
                }
            }
        }
        let _ = writeln!(out, "\nverdict: {}", self.verdict.summary);
        if let Some(schema) = &self.schema {
            let declared = schema.declared.as_deref().unwrap_or("");
            match schema.matches {
                Some(true) => {
                    let _ = writeln!(
                        out,
                        "schema: the body matches the spec's {declared} response"
                    );
                }
                Some(false) => {
                    let _ = writeln!(
                        out,
                        "schema: {} mismatch(es) with the spec's {declared} response:",
                        schema.mismatches.len()
                    );
                    for m in &schema.mismatches {
                        let at = if m.pointer.is_empty() {
                            "(root)"
                        } else {
                            &m.pointer
                        };
                        let _ = writeln!(out, "  {at}: {}", m.message);
                    }
                }
                None => {}
            }
            if let Some(note) = &schema.note {
                let _ = writeln!(out, "schema: {note}");
            }
        }
        out
    }
}

fn action_ref(action: &StoredAction) -> ActionRef {
    ActionRef {
        id: action.id,
        name: action.name.clone(),
        source: action.source.clone(),
    }
}

fn answered_verdict(status: u16, schema: &SchemaCheck) -> Verdict {
    if (200..300).contains(&status) {
        let summary = match schema.matches {
            Some(false) => format!(
                "{status}: the HTTP contract works, but the body does not match the spec's response schema ({} mismatch(es))",
                schema.mismatches.len()
            ),
            _ => format!("{status}: the HTTP contract works"),
        };
        Verdict {
            works: Some(true),
            summary,
        }
    } else {
        Verdict {
            works: Some(false),
            summary: format!(
                "{status}: not a 2xx; the AI receives the status and the body verbatim"
            ),
        }
    }
}

fn redact_check(mut check: SchemaCheck, globals: &[GlobalVariable]) -> SchemaCheck {
    for m in &mut check.mismatches {
        m.message = redact(&m.message, globals);
    }
    check
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_replaced_wherever_they_appear() {
        let globals = [GlobalVariable {
            name: "Authorization".into(),
            value: "Bearer s3cret".into(),
        }];
        assert_eq!(redact("echo: Bearer s3cret!", &globals), "echo: ***!");
        let value = serde_json::json!({"headers": {"authorization": "Bearer s3cret"}});
        assert!(
            !redact_value(&value, &globals)
                .to_string()
                .contains("s3cret")
        );
    }

    #[test]
    fn json_bodies_are_pretty_and_long_ones_cut() {
        let (pretty, cut) = shown_body(br#"{"a":1}"#);
        assert_eq!(pretty, "{\n  \"a\": 1\n}");
        assert!(!cut);
        let long = "x".repeat(SHOWN_BODY + 10);
        let (shown, cut) = shown_body(long.as_bytes());
        assert!(cut);
        assert_eq!(shown.len(), SHOWN_BODY);
    }
}
