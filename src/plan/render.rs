//! Plans for people: a field-by-field text diff (like `terraform plan`) and
//! Markdown for a pull-request comment. JSON is the plan's serde form.

use std::fmt::Write;

use serde_json::Value;

use super::{Change, ChangeKind, FieldChange, Plan};
use crate::action::SpecFields;
use crate::diagnostic::Severity;

/// Longest value shown inline before it is summarised.
const INLINE: usize = 100;

/// The plan as text: one block per change, then drift, orphans, kept actions,
/// findings, refusals and a summary line.
pub fn text(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "source `{}`{}", plan.source, revision_note(plan));
    if plan.changes.is_empty() {
        let _ = writeln!(out, "  no changes: the catalogue matches the spec");
    }
    for change in &plan.changes {
        let (mark, verb) = marker(change.kind);
        let rename = change
            .previous_key
            .as_ref()
            .map(|k| format!(", was `{k}`"))
            .unwrap_or_default();
        if change.kind == ChangeKind::Create {
            let _ = writeln!(
                out,
                "  {mark} {} ({}) {verb}: {}",
                change.name,
                change.key,
                creation(change)
            );
            continue;
        }
        let _ = writeln!(
            out,
            "  {mark} {} ({}{rename}) {verb}",
            change.name, change.key
        );
        for field in &change.fields {
            if field.field == "key" {
                continue;
            }
            let _ = writeln!(out, "      {}", describe_field(change.kind, field));
        }
    }
    notes(plan, &mut out, "  ");
    let _ = writeln!(out, "{}", summary(plan));
    out
}

/// The plan as Markdown.
pub fn markdown(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### actionsync plan for `{}`\n", plan.source);
    let _ = writeln!(out, "{}\n", summary(plan));
    if !plan.refusals.is_empty() {
        for r in &plan.refusals {
            let forced = if r.overridable && plan.forced {
                " (forced)"
            } else {
                ""
            };
            let _ = writeln!(out, "> **Refused{forced}:** {}", r.message);
        }
        out.push('\n');
    }
    if !plan.changes.is_empty() {
        let _ = writeln!(out, "| | action | key | fields |\n|---|---|---|---|");
        for change in &plan.changes {
            let (mark, verb) = marker(change.kind);
            let fields: Vec<&str> = change
                .fields
                .iter()
                .filter(|f| change.kind != ChangeKind::Create && f.field != "key")
                .map(|f| f.field.as_str())
                .collect();
            let _ = writeln!(
                out,
                "| `{mark}` {verb} | `{}` | `{}` | {} |",
                change.name,
                change.key,
                fields.join(", ")
            );
        }
        let _ = writeln!(
            out,
            "\n<details><summary>Field by field</summary>\n\n```diff"
        );
        for change in &plan.changes {
            let (mark, _) = marker(change.kind);
            if change.kind == ChangeKind::Create {
                let _ = writeln!(
                    out,
                    "{mark} {} ({}): {}",
                    change.name,
                    change.key,
                    creation(change)
                );
                continue;
            }
            let _ = writeln!(out, "{mark} {} ({})", change.name, change.key);
            for field in &change.fields {
                if field.field != "key" {
                    let _ = writeln!(out, "    {}", describe_field(change.kind, field));
                }
            }
        }
        let _ = writeln!(out, "```\n</details>\n");
    }
    let mut rest = String::new();
    notes(plan, &mut rest, "- ");
    if !rest.is_empty() {
        out.push_str(&rest);
    }
    out
}

fn revision_note(plan: &Plan) -> String {
    let hash: String = plan.spec_hash.chars().take(12).collect();
    if plan.base_revision == 0 {
        format!(" (spec {hash}, first revision)")
    } else {
        format!(" (spec {hash}, against revision {})", plan.base_revision)
    }
}

fn marker(kind: ChangeKind) -> (&'static str, &'static str) {
    match kind {
        ChangeKind::Create => ("+", "create"),
        ChangeKind::Update => ("~", "update"),
        ChangeKind::Archive => ("-", "archive"),
        ChangeKind::Delete => ("x", "delete"),
        ChangeKind::Restore => ("^", "restore"),
    }
}

/// A new action in one line: the call, its inputs, its auth. Read from its
/// spec-owned fields while the plan has them (one just made), else from the
/// field changes, which stored plans keep: the same line either way, without
/// making a new action's parameters and body into JSON to count them.
fn creation(change: &Change) -> String {
    let call = match &change.spec {
        Some(spec) => NewCall::of_spec(spec),
        None => NewCall::of_fields(change),
    };
    let mut parts = vec![format!("{} {}", call.method, call.url)];
    let params = call.parameters;
    if params > 0 {
        parts.push(format!(
            "{params} parameter{}",
            if params == 1 { "" } else { "s" }
        ));
    }
    if let Some(content_type) = call.content_type {
        parts.push(format!("{content_type} body"));
    }
    if !call.secrets.is_empty() {
        parts.push(format!("auth {}", call.secrets.join(" or ")));
    }
    let pinned: Vec<&str> = change
        .fields
        .iter()
        .filter(|f| f.pinned)
        .map(|f| f.field.as_str())
        .collect();
    if !pinned.is_empty() {
        parts.push(format!("pinned {}", pinned.join(", ")));
    }
    parts.join(", ")
}

/// What a new action's line says of its call.
struct NewCall<'a> {
    method: &'a str,
    url: &'a str,
    parameters: usize,
    content_type: Option<&'a str>,
    secrets: Vec<&'a str>,
}

impl<'a> NewCall<'a> {
    fn of_spec(spec: &'a SpecFields) -> NewCall<'a> {
        NewCall {
            method: spec.method.as_str(),
            url: &spec.url,
            parameters: spec.parameters.len(),
            content_type: spec.body.as_ref().map(|b| b.content_type.as_str()),
            secrets: spec
                .auth
                .iter()
                .flat_map(|r| &r.schemes)
                .map(|s| s.secret.as_str())
                .collect(),
        }
    }

    fn of_fields(change: &'a Change) -> NewCall<'a> {
        let new = |field: &str| {
            change
                .fields
                .iter()
                .find(|f| f.field == field)
                .map(|f| &*f.new)
                .unwrap_or(&Value::Null)
        };
        NewCall {
            method: new("method").as_str().unwrap_or("?"),
            url: new("url").as_str().unwrap_or("?"),
            parameters: new("parameters").as_array().map_or(0, Vec::len),
            content_type: new("body").get("content_type").and_then(Value::as_str),
            secrets: new("auth")
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|r| r["schemes"].as_array().into_iter().flatten())
                .filter_map(|s| s["secret"].as_str())
                .collect(),
        }
    }
}

/// A word-level diff of two texts, `[-removed-]{+added+}`, with long unchanged
/// runs elided to a few words of context.
pub fn text_diff(old: &str, new: &str) -> String {
    use similar::{ChangeTag, TextDiff};
    let diff = TextDiff::from_words(old, new);
    let changes: Vec<(ChangeTag, String)> = diff
        .iter_all_changes()
        .map(|c| (c.tag(), c.value().replace('\n', "⏎")))
        .collect();
    let mut out = String::new();
    let mut i = 0;
    while i < changes.len() {
        let tag = changes[i].0;
        let start = i;
        while i < changes.len() && changes[i].0 == tag {
            i += 1;
        }
        let run: String = changes[start..i].iter().map(|(_, v)| v.as_str()).collect();
        match tag {
            ChangeTag::Equal => {
                let words: Vec<&str> = run.split_inclusive(' ').collect();
                if words.len() > 8 {
                    let head = if start == 0 {
                        String::new()
                    } else {
                        words[..3].concat()
                    };
                    let tail = if i == changes.len() {
                        String::new()
                    } else {
                        words[words.len() - 3..].concat()
                    };
                    out.push_str(&format!("{head}…{tail}"));
                } else {
                    out.push_str(&run);
                }
            }
            ChangeTag::Delete => out.push_str(&format!("[-{run}-]")),
            ChangeTag::Insert => out.push_str(&format!("{{+{run}+}}")),
        }
    }
    out
}

/// `field: old → new`, summarised for large values.
fn describe_field(kind: ChangeKind, f: &FieldChange) -> String {
    let pinned = if f.pinned {
        " (pinned: the pin stays in effect)"
    } else {
        ""
    };
    if kind == ChangeKind::Create {
        return format!("{}: {}{pinned}", f.field, show(&f.field, &f.new));
    }
    if f.field == "parameters" {
        return format!("~ parameters: {}{pinned}", parameter_diff(&f.old, &f.new));
    }
    if let (Value::String(old), Value::String(new)) = (&*f.old, &*f.new)
        && (old.chars().count() > 40 || new.chars().count() > 40)
    {
        return format!("~ {}: {}{pinned}", f.field, text_diff(old, new));
    }
    format!(
        "~ {}: {} → {}{pinned}",
        f.field,
        show(&f.field, &f.old),
        show(&f.field, &f.new)
    )
}

fn show(field: &str, value: &Value) -> String {
    match (field, value) {
        (_, Value::Null) => "none".to_string(),
        (_, Value::String(s)) => {
            let one_line = s.replace('\n', "⏎");
            if one_line.chars().count() > INLINE {
                format!("{:?}…", one_line.chars().take(INLINE).collect::<String>())
            } else {
                format!("{one_line:?}")
            }
        }
        ("parameters", Value::Array(items)) => {
            let keys: Vec<String> = items
                .iter()
                .map(|p| {
                    format!(
                        "{} ({})",
                        p["key"].as_str().unwrap_or("?"),
                        p["in"].as_str().unwrap_or("?")
                    )
                })
                .collect();
            if keys.is_empty() {
                "none".to_string()
            } else {
                keys.join(", ")
            }
        }
        ("body", Value::Object(body)) => {
            let properties = body
                .get("schema")
                .and_then(|s| s.get("properties"))
                .and_then(Value::as_object)
                .map(|p| p.len())
                .unwrap_or(0);
            format!(
                "{} ({properties} top-level properties)",
                body.get("content_type")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
            )
        }
        (_, other) => {
            let compact = other.to_string();
            if compact.chars().count() > INLINE {
                format!("{}…", compact.chars().take(INLINE).collect::<String>())
            } else {
                compact
            }
        }
    }
}

/// Which parameters were added, removed, or changed.
fn parameter_diff(old: &Value, new: &Value) -> String {
    let key = |p: &Value| {
        format!(
            "{} ({})",
            p["key"].as_str().unwrap_or("?"),
            p["in"].as_str().unwrap_or("?")
        )
    };
    let empty = Vec::new();
    let old = old.as_array().unwrap_or(&empty);
    let new = new.as_array().unwrap_or(&empty);
    let mut parts = Vec::new();
    for p in new {
        match old.iter().find(|o| key(o) == key(p)) {
            None => parts.push(format!("+{}", key(p))),
            Some(o) if o != p => parts.push(format!("~{}", key(p))),
            Some(_) => {}
        }
    }
    for o in old {
        if !new.iter().any(|p| key(p) == key(o)) {
            parts.push(format!("-{}", key(o)));
        }
    }
    if parts.is_empty() {
        "reordered".to_string()
    } else {
        parts.join(", ")
    }
}

fn notes(plan: &Plan, out: &mut String, bullet: &str) {
    for d in &plan.drift {
        let _ = writeln!(
            out,
            "{bullet}drift: `{}` {} is pinned to {}; the spec's value changed underneath it (the pin stays)",
            d.name,
            d.field,
            show(&d.field, &d.pinned),
        );
    }
    for o in &plan.orphans {
        let _ = writeln!(
            out,
            "{bullet}orphaned magic field: `{}` fills `{}` from {}, but the operation has no such parameter or header (kept; it works again when the parameter returns)",
            o.name, o.field, o.context
        );
    }
    for h in &plan.held_back {
        let _ = writeln!(
            out,
            "{bullet}held back: `{}` ({}) is not {}: {}",
            h.name,
            h.key,
            match h.kind {
                ChangeKind::Create => "created",
                ChangeKind::Restore => "restored",
                _ => "updated",
            },
            h.reason
        );
    }
    for k in &plan.kept {
        let _ = writeln!(
            out,
            "{bullet}kept as it is: `{}` ({}): the operation is in the spec but did not convert: {}",
            k.name, k.key, k.reason
        );
    }
    for d in plan
        .diagnostics
        .iter()
        .filter(|d| d.severity >= Severity::Warning)
    {
        let key = d.key.as_deref().unwrap_or("-");
        let _ = writeln!(out, "{bullet}{} {key}: {}", d.severity, d.message);
    }
    if bullet != "- " {
        for r in &plan.refusals {
            let forced = if r.overridable && plan.forced {
                " (overridden by --force)"
            } else {
                ""
            };
            let _ = writeln!(out, "{bullet}refused{forced}: {}", r.message);
        }
    }
}

/// `Plan: 1 to create, 2 to update, … 10 unchanged.`
pub fn summary(plan: &Plan) -> String {
    let c = &plan.counts;
    let mut s = format!(
        "Plan: {} to create, {} to update, {} to archive, {} to delete, {} to restore, {} unchanged.",
        c.created, c.updated, c.archived, c.deleted, c.restored, c.unchanged
    );
    if plan.is_blocked() {
        s.push_str(" Refused: nothing will be applied.");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_changes_are_shown_word_by_word() {
        let old = "Cancel an order that has not shipped yet. Cancel the order and release its reserved stock, then email the customer.";
        let new = "Cancel an open order that has not shipped yet. Cancel the order and release its reserved stock, then email the customer.";
        assert_eq!(text_diff(old, new), "Cancel an {+open +}order that has …");
        assert_eq!(text_diff("a b", "a c"), "a [-b-]{+c+}");
    }

    #[test]
    fn parameter_changes_are_named() {
        let old = json!([{"key": "id", "in": "path"}, {"key": "limit", "in": "query"}]);
        let new = json!([{"key": "id", "in": "path"}, {"key": "limit", "in": "query", "required": true}, {"key": "cursor", "in": "query"}]);
        assert_eq!(
            parameter_diff(&old, &new),
            "~limit (query), +cursor (query)"
        );
    }
}
