//! The actions list (search, filters, pages) and an action's page (its fields,
//! pins, hand edits, audit trail and the Test button).

use std::collections::{BTreeMap, HashMap};

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;

use super::layout::{self, Nav, badge, csrf};
use super::{Console, Session, check_write, error_page, format_time};
use crate::action::{ActionState, Channel, ParameterLocation, SPEC_FIELDS, StoredAction};
use crate::api::curate::{edit_hand, page_of_actions};
use crate::api::{ApiError, auth};
use crate::call::TestInput;
use crate::call::report::TestReport;
use crate::plan::Drift;
use crate::store::{ActionQuery, AnyStore, HandEdit, Store, StoreError};

/// Actions per page of the list.
const PAGE: usize = 50;

/// The list's query: every filter is optional; an empty one is no filter.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    q: String,
    source: String,
    state: String,
    channel: String,
    segment: String,
    tag: String,
    pinned: String,
    drift: String,
    orphans: String,
    after: Option<i64>,
}

impl ListQuery {
    /// The query string of these filters (without the cursor).
    fn filters(&self) -> String {
        let pairs = [
            ("q", &self.q),
            ("source", &self.source),
            ("state", &self.state),
            ("channel", &self.channel),
            ("segment", &self.segment),
            ("tag", &self.tag),
            ("pinned", &self.pinned),
            ("drift", &self.drift),
            ("orphans", &self.orphans),
        ];
        pairs
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", super::encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// Magic fields of `action` whose parameter or header it no longer has.
fn orphans(action: &StoredAction) -> Vec<(&String, &String)> {
    action
        .hand
        .magic_fields
        .iter()
        .filter(|(field, _)| !action.spec.fills(field))
        .collect()
}

/// How many of the newest revisions of a source are read for drift.
const DRIFT_REVISIONS: usize = 20;

/// Drift under pins still in place, by action id, from the plans of the newest
/// revisions of `sources`: a pinned field whose spec value moved since.
async fn drift(
    store: &AnyStore,
    sources: &[String],
) -> Result<HashMap<i64, Vec<(i64, Drift)>>, StoreError> {
    let mut out: HashMap<i64, Vec<(i64, Drift)>> = HashMap::new();
    for source in sources {
        for revision in store
            .revisions(source)
            .await?
            .into_iter()
            .take(DRIFT_REVISIONS)
        {
            let Some(full) = store.revision(source, revision.number).await? else {
                continue;
            };
            for d in full.plan.map(|p| p.drift).unwrap_or_default() {
                out.entry(d.id).or_default().push((revision.number, d));
            }
        }
    }
    Ok(out)
}

/// Whether `action` has drift under a pin it still has.
fn drifted(action: &StoredAction, drift: &HashMap<i64, Vec<(i64, Drift)>>) -> bool {
    drift.get(&action.id).is_some_and(|entries| {
        entries
            .iter()
            .any(|(_, d)| action.hand.pins.contains_key(&d.field))
    })
}

/// `GET /ui/actions`.
pub async fn list(
    State(console): State<Console>,
    session: Session,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    match list_page(&console, &session, &query).await {
        Ok(markup) => markup.into_response(),
        Err(e) => error_page(Some(&session), e),
    }
}

async fn list_page(
    console: &Console,
    session: &Session,
    query: &ListQuery,
) -> Result<layout::Page, ApiError> {
    let store = &console.api.daemon().store;
    let sources = store.sources().await?;
    let mut problems = Vec::new();
    let state = match query.state.as_str() {
        "" => None,
        s => ActionState::parse(s).or_else(|| {
            problems.push(format!("`{s}` is not a state: active or archived"));
            None
        }),
    };
    let channel = match query.channel.as_str() {
        "" => None,
        c => Channel::parse_or_explain(c)
            .map_err(|e| problems.push(e))
            .ok(),
    };
    let pinned = match query.pinned.as_str() {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    };
    let want_drift = !query.drift.is_empty();
    let want_orphans = !query.orphans.is_empty();
    let search = query.q.trim().to_lowercase();
    let drift_map = if want_drift {
        let names: Vec<String> = if query.source.is_empty() {
            sources.iter().map(|s| s.name.clone()).collect()
        } else {
            vec![query.source.clone()]
        };
        drift(store, &names).await?
    } else {
        HashMap::new()
    };
    let wanted = |a: &StoredAction| {
        (search.is_empty()
            || a.name.to_lowercase().contains(&search)
            || a.spec.description.to_lowercase().contains(&search)
            || a.hand
                .pins
                .get("description")
                .and_then(Value::as_str)
                .is_some_and(|d| d.to_lowercase().contains(&search)))
            && channel.is_none_or(|c| a.hand.channels.contains(&c))
            && (query.segment.is_empty() || a.hand.segments.contains(&query.segment))
            && (query.tag.is_empty() || a.hand.tags.contains(&query.tag))
            && pinned.is_none_or(|p| a.hand.pinned == p)
            && (!want_orphans || !orphans(a).is_empty())
            && (!want_drift || drifted(a, &drift_map))
    };
    let filtered = !search.is_empty()
        || channel.is_some()
        || !query.segment.is_empty()
        || !query.tag.is_empty()
        || pinned.is_some()
        || want_orphans
        || want_drift;
    let (page, next_after) = page_of_actions(
        store,
        &ActionQuery {
            source: Some(query.source.clone()).filter(|s| !s.is_empty()),
            state,
            after: query.after,
            limit: None,
            pinned_first: true,
        },
        PAGE,
        filtered.then_some(&wanted as &(dyn Fn(&StoredAction) -> bool + Sync)),
    )
    .await?;
    let filters = query.filters();
    let channels = Channel::ALL;
    let body = html! {
        div.heading {
            h1 { "Actions" }
        }
        @for problem in &problems {
            p.flash.error role="alert" { (problem) }
        }
        form.filters #filters method="get" action="/ui/actions" role="search" {
            div.field.grow {
                label for="q" { "Search" }
                input #q type="search" name="q" value=(query.q) placeholder="Name or description" data-live="results";
            }
            div.field {
                label for="f-source" { "Source" }
                select #f-source name="source" data-autosubmit {
                    option value="" { "All" }
                    @for s in &sources {
                        option value=(s.name) selected[s.name == query.source] { (s.name) }
                    }
                }
            }
            div.field {
                label for="f-state" { "State" }
                select #f-state name="state" data-autosubmit {
                    option value="" { "Any" }
                    option value="active" selected[query.state == "active"] { "Active" }
                    option value="archived" selected[query.state == "archived"] { "Archived" }
                }
            }
            div.field {
                label for="f-channel" { "Channel" }
                select #f-channel name="channel" data-autosubmit {
                    option value="" { "Any" }
                    @for c in channels {
                        option value=(c.as_str()) selected[query.channel == c.as_str()] { (c.as_str()) }
                    }
                }
            }
            div.field {
                label for="f-segment" { "Segment" }
                input #f-segment type="text" name="segment" value=(query.segment) size="10";
            }
            div.field {
                label for="f-tag" { "Tag" }
                input #f-tag type="text" name="tag" value=(query.tag) size="10";
            }
            div.field {
                label for="f-pinned" { "Pinned" }
                select #f-pinned name="pinned" data-autosubmit {
                    option value="" { "Any" }
                    option value="yes" selected[query.pinned == "yes"] { "Pinned" }
                    option value="no" selected[query.pinned == "no"] { "Not pinned" }
                }
            }
            div.field.check {
                input #f-drift type="checkbox" name="drift" value="1" checked[want_drift] data-autosubmit;
                label for="f-drift" { "Drift" }
            }
            div.field.check {
                input #f-orphans type="checkbox" name="orphans" value="1" checked[want_orphans] data-autosubmit;
                label for="f-orphans" { "Orphaned magic" }
            }
            div.field.buttons {
                button.primary type="submit" { "Filter" }
                @if !filters.is_empty() {
                    a.button href="/ui/actions" { "Clear" }
                }
            }
        }
        div #results {
            @if page.is_empty() {
                p.empty { "No actions match." }
            } @else {
                div.table-wrap {
                    table.actions {
                        thead {
                            tr {
                                th scope="col" { "Name" }
                                th scope="col" { "Source" }
                                th scope="col" { "Status" }
                                th scope="col" { "Channels" }
                                th scope="col" { "Segments" }
                                th scope="col" { "Tags" }
                                th scope="col" .num { "Tokens" }
                            }
                        }
                        tbody {
                            @for a in &page {
                                (row(a, want_drift && drifted(a, &drift_map)))
                            }
                        }
                    }
                }
            }
            nav.pager aria-label="Pages" {
                @if query.after.is_some() {
                    a.button href=(format!("/ui/actions?{filters}")) { "← First page" }
                }
                @if let Some(next) = next_after {
                    a.button href=(format!("/ui/actions?{filters}{}after={next}", if filters.is_empty() { "" } else { "&" })) { "Next page →" }
                }
            }
        }
    };
    Ok(layout::page("Actions", Some(session), Nav::Actions, body))
}

/// One row of the list.
fn row(a: &StoredAction, drift: bool) -> Markup {
    let description = a
        .effective("description")
        .as_str()
        .map(str::to_string)
        .unwrap_or_default();
    let orphaned = orphans(a).len();
    html! {
        tr {
            td.name {
                @if a.hand.pinned { span.pin title="Pinned to the top" aria-label="Pinned" { "★ " } }
                a href=(format!("/ui/actions/{}", a.id)) { (a.name) }
                div.desc { (truncate(&description, 140)) }
            }
            td { a.muted href=(format!("/ui/actions?source={}", super::encode(&a.source))) { (a.source) } }
            td.status {
                @if a.state == ActionState::Archived {
                    (badge("archived", "archived"))
                } @else if a.hand.enabled {
                    (badge("ok", "enabled"))
                } @else {
                    (badge("off", "disabled"))
                }
                @if !a.hand.pins.is_empty() {
                    " " (badge("info", &format!("{} pinned field{}", a.hand.pins.len(), if a.hand.pins.len() == 1 { "" } else { "s" })))
                }
                @if drift { " " (badge("warn", "drift")) }
                @if orphaned > 0 { " " (badge("warn", &format!("{orphaned} orphaned magic"))) }
            }
            td.chips { @for c in &a.hand.channels { span.chip { (c.as_str()) } " " } }
            td.chips {
                @if a.hand.segments.is_empty() { span.muted { "everyone" } }
                @for s in &a.hand.segments { span.chip { (s) } " " }
            }
            td.chips { @for t in &a.hand.tags { span.chip.tag { (t) } " " } }
            td.num { (crate::tools::tokens(a)) }
        }
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max).collect();
        format!("{}…", cut.trim_end())
    }
}

// ---------------------------------------------------------------------------
// An action's page
// ---------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PageQuery {
    saved: String,
    warned: String,
}

/// What a page shows above its sections.
#[derive(Default)]
struct Extras {
    flash: Vec<(&'static str, String)>,
    conflict: Option<Markup>,
    test: Option<Result<TestReport, String>>,
    test_input: Option<(String, String)>,
}

fn id_of(path: Result<Path<i64>, PathRejection>) -> Result<i64, ApiError> {
    path.map(|Path(id)| id)
        .map_err(|_| ApiError::NotFound("an action's page is /ui/actions/ and its id".into()))
}

/// `GET /ui/actions/{id}`.
pub async fn page(
    State(console): State<Console>,
    session: Session,
    path: Result<Path<i64>, PathRejection>,
    query: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let mut extras = Extras::default();
    if !query.saved.is_empty() {
        extras.flash.push(("ok", "Saved.".to_string()));
    }
    if !query.warned.is_empty() {
        extras.flash.push((
            "warn",
            "A magic field names a parameter or header this action does not have: it is kept, flagged below, and takes effect if one appears.".to_string(),
        ));
    }
    let result = async {
        let id = id_of(path)?;
        action_page(&console, &session, id, extras).await
    }
    .await;
    match result {
        Ok(markup) => markup.into_response(),
        Err(e) => error_page(Some(&session), e),
    }
}

async fn load(console: &Console, id: i64) -> Result<StoredAction, ApiError> {
    console
        .api
        .daemon()
        .store
        .action(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no action with id {id}")))
}

async fn action_page(
    console: &Console,
    session: &Session,
    id: i64,
    extras: Extras,
) -> Result<layout::Page, ApiError> {
    let store = &console.api.daemon().store;
    let action = load(console, id).await?;
    let audit = store.audit(id).await?;
    let drift_map = drift(store, std::slice::from_ref(&action.source)).await?;
    // Drift counts from the revision after the field was last pinned.
    let pinned_at: HashMap<&str, i64> = audit
        .iter()
        .filter_map(|e| e.field.strip_prefix("pin:").map(|f| (f, e.at)))
        .collect();
    let revisions = store.revisions(&action.source).await?;
    let applied_at: HashMap<i64, i64> =
        revisions.iter().map(|r| (r.number, r.applied_at)).collect();
    let drifts: Vec<&(i64, Drift)> = drift_map
        .get(&id)
        .map(|v| v.iter().collect())
        .unwrap_or_default();
    let drift_of = |field: &str| -> Vec<&(i64, Drift)> {
        drifts
            .iter()
            .copied()
            .filter(|(number, d)| {
                d.field == field
                    && action.hand.pins.contains_key(field)
                    && pinned_at
                        .get(field)
                        .is_none_or(|at| applied_at.get(number).is_some_and(|t| t > at))
            })
            .collect()
    };
    let can_edit = session.allows(auth::Need::Curate);
    let orphaned = orphans(&action);
    let tokens = crate::tools::tokens(&action);
    let description = action
        .effective("description")
        .as_str()
        .map(str::to_string)
        .unwrap_or_default();
    let body = html! {
        nav.crumbs aria-label="Breadcrumb" {
            a href="/ui/actions" { "Actions" } " / "
            a href=(format!("/ui/actions?source={}", super::encode(&action.source))) { (action.source) } " / "
            span { (action.name) }
        }
        div.heading {
            h1 { (action.name) }
            div.badges {
                @if action.state == ActionState::Archived { (badge("archived", "archived")) }
                @else if action.hand.enabled { (badge("ok", "enabled")) }
                @else { (badge("off", "disabled")) }
                @if action.hand.pinned { " " (badge("info", "★ pinned to the top")) }
                " " span.badge.plain { (tokens) " tokens" }
                " " span.badge.plain { "version " (action.version) }
            }
        }
        p.endpoint {
            span class=(format!("method m-{}", action.spec.method.as_str().to_lowercase())) { (action.spec.method.as_str()) }
            " " code { (action.effective("url").as_str().unwrap_or(&action.spec.url)) }
        }
        p.lead { (description) }
        @for (kind, text) in &extras.flash {
            p class=(format!("flash {kind}")) role="status" { (text) }
        }
        @if let Some(conflict) = &extras.conflict { (conflict) }

        div.columns {
            section.card aria-labelledby="hand-h" {
                h2 #hand-h { "Hand-owned fields" }
                @if can_edit {
                    form.edit method="post" action=(format!("/ui/actions/{id}/edit")) {
                        (csrf(session))
                        input type="hidden" name="version" value=(action.version);
                        fieldset {
                            legend { "Channels" }
                            div.toggles {
                                @for c in Channel::ALL {
                                    label.toggle {
                                        input type="checkbox" name="channel" value=(c.as_str()) checked[action.hand.channels.contains(&c)];
                                        " " (c.as_str())
                                    }
                                }
                            }
                        }
                        div.field {
                            label for="segments" { "Segments" }
                            input #segments type="text" name="segments" value=(action.hand.segments.join(", ")) placeholder="everyone";
                            small.hint { "Comma-separated; empty means everyone." }
                        }
                        div.field {
                            label for="tags" { "Tags" }
                            input #tags type="text" name="tags" value=(action.hand.tags.join(", "));
                        }
                        div.checks {
                            label { input type="checkbox" name="enabled" value="1" checked[action.hand.enabled]; " Enabled" }
                            label { input type="checkbox" name="require_confirmation" value="1" checked[action.hand.require_confirmation]; " Require confirmation" }
                            label { input type="checkbox" name="pinned" value="1" checked[action.hand.pinned]; " Pinned to the top of lists" }
                        }
                        fieldset {
                            legend { "Magic fields" }
                            p.hint { "Filled by the platform from the conversation (e.g. " code { "contact.email" } "), hidden from the AI." }
                            @let targets = magic_targets(&action);
                            @if targets.is_empty() && orphaned.is_empty() {
                                p.muted { "This action has no parameters or headers." }
                            }
                            @for (i, (key, where_)) in targets.iter().enumerate() {
                                div.field.magic {
                                    label for=(format!("magic-{i}")) { code { (key) } " " span.muted { "(" (where_) ")" } }
                                    input type="hidden" name="magic_key" value=(key);
                                    input id=(format!("magic-{i}")) type="text" name="magic_value" value=(action.hand.magic_fields.get(key.as_str()).map(String::as_str).unwrap_or("")) placeholder="not filled";
                                }
                            }
                            @for (i, (key, context)) in orphaned.iter().enumerate() {
                                div.field.magic.orphan {
                                    span { code { (key) } " → " code { (context) } " " (badge("warn", "orphaned")) }
                                    small.hint { "The spec no longer has this parameter or header; the field is kept and takes effect if it returns." }
                                    label for=(format!("orphan-{i}")) {
                                        input id=(format!("orphan-{i}")) type="checkbox" name="remove_magic" value=(key);
                                        " Remove " (key)
                                    }
                                }
                            }
                        }
                        div.buttons { button.primary type="submit" { "Save" } }
                    }
                } @else {
                    p.muted { "Your token may not edit." }
                }
            }

            section.card aria-labelledby="spec-h" {
                h2 #spec-h { "Spec-owned fields" }
                p.hint { "Set by the spec on every sync. Pin a field to override it; the spec's value is kept underneath." }
                @for field in SPEC_FIELDS {
                    @let pinned = action.hand.pins.get(field);
                    @let drifted = drift_of(field);
                    div.specfield {
                        div.fieldhead {
                            h3 { (field) }
                            @if pinned.is_some() { (badge("info", "pinned")) }
                            @if !drifted.is_empty() { " " (badge("warn", "drift")) }
                        }
                        (value_view(&action.effective(field)))
                        @if pinned.is_some() {
                            details {
                                summary { "The spec's value" }
                                (value_view(&action.spec.field(field)))
                            }
                        }
                        @for (number, d) in &drifted {
                            div.drift role="note" {
                                "The spec changed this field under the pin in "
                                a href=(format!("/ui/sources/{}/revisions/{number}", super::encode(&action.source))) { "revision " (number) }
                                ": it was "
                                (inline_value(&d.spec_old))
                                ", it is now "
                                (inline_value(&d.spec_new))
                                "."
                            }
                        }
                        @if can_edit {
                            @if pinned.is_some() {
                                form.inline method="post" action=(format!("/ui/actions/{id}/unpin")) {
                                    (csrf(session))
                                    input type="hidden" name="version" value=(action.version);
                                    input type="hidden" name="field" value=(field);
                                    button type="submit" aria-label=(format!("Unpin {field}")) { "Unpin" }
                                }
                            }
                            details.pin {
                                summary { @if pinned.is_some() { "Change pin" } @else { "Pin" } }
                                form method="post" action=(format!("/ui/actions/{id}/pin")) {
                                    (csrf(session))
                                    input type="hidden" name="version" value=(action.version);
                                    input type="hidden" name="field" value=(field);
                                    label for=(format!("pin-{field}")) { "Pinned " (field) @if !is_text_field(field) { " (JSON)" } }
                                    textarea id=(format!("pin-{field}")) name="value" rows=(if field == "description" { 4 } else if is_text_field(field) { 1 } else { 6 }) {
                                        (editable(&action.effective(field), field))
                                    }
                                    button type="submit" { "Pin " (field) }
                                }
                            }
                        }
                    }
                }
            }
        }

        section.card #test aria-labelledby="test-h" {
            h2 #test-h { "Test" }
            p.hint { "Calls the action as the platform would, from this server." }
            @if can_edit {
                @let (args, context) = extras.test_input.clone().unwrap_or_else(|| ("{}".to_string(), "{}".to_string()));
                form method="post" action=(format!("/ui/actions/{id}/test#test")) {
                    (csrf(session))
                    div.field {
                        label for="test-args" { "Arguments (JSON)" }
                        textarea #test-args name="args" rows="3" { (args) }
                    }
                    div.field {
                        label for="test-context" { "Conversation context (JSON)" }
                        textarea #test-context name="context" rows="2" { (context) }
                    }
                    div.buttons { button.primary #test-button type="submit" { "Test" } }
                }
            }
            @match &extras.test {
                None => {}
                Some(Err(message)) => { p.flash.error role="alert" { (message) } }
                Some(Ok(report)) => {
                    div.testresult #test-result role="status" {
                        p {
                            @match report.verdict.works {
                                Some(true) => (badge("ok", "works")),
                                Some(false) => (badge("err", "fails")),
                                None => (badge("plain", "dry run")),
                            }
                            " "
                            @if let Some(r) = &report.response { strong { "HTTP " (r.status) } " " }
                            @if let Some(ms) = report.latency_ms { span.muted { (ms) " ms" } " " }
                            (report.verdict.summary)
                        }
                        pre.report { (report.to_text()) }
                    }
                }
            }
        }

        section.card aria-labelledby="audit-h" {
            h2 #audit-h { "Audit trail" }
            @if audit.is_empty() {
                p.muted { "No hand edits yet." }
            } @else {
                div.table-wrap {
                    table.audit {
                        thead { tr { th scope="col" { "When" } th scope="col" { "Who" } th scope="col" { "Field" } th scope="col" { "Before" } th scope="col" { "After" } th scope="col" .num { "Version" } } }
                        tbody {
                            @for e in audit.iter().rev() {
                                tr {
                                    td.nowrap { (format_time(e.at)) }
                                    td { (e.actor) }
                                    td { code { (e.field) } }
                                    td { (inline_value(&e.old)) }
                                    td { (inline_value(&e.new)) }
                                    td.num { (e.version) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(
        &action.name,
        Some(session),
        Nav::Actions,
        body,
    ))
}

/// The parameters and headers a magic field may fill: key and where it goes.
fn magic_targets(action: &StoredAction) -> Vec<(String, &'static str)> {
    let mut out: Vec<(String, &'static str)> = action
        .spec
        .parameters
        .iter()
        .map(|p| {
            let where_ = match p.location {
                ParameterLocation::Path => "path",
                ParameterLocation::Query => "query",
                ParameterLocation::Header => "header",
            };
            (p.key.clone(), where_)
        })
        .collect();
    out.extend(
        action
            .spec
            .headers
            .iter()
            .map(|h| (h.name.clone(), "static header")),
    );
    out
}

/// Fields whose value is a string, edited as text rather than JSON.
fn is_text_field(field: &str) -> bool {
    matches!(field, "name" | "description" | "url" | "method")
}

/// A value as the pin form shows it.
fn editable(value: &Value, field: &str) -> String {
    match value {
        Value::String(s) if is_text_field(field) => s.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    }
}

/// A value in a field's block: text as text, the rest as JSON.
fn value_view(value: &Value) -> Markup {
    html! {
        @match value {
            Value::String(s) => { div.value { (s) } }
            Value::Null => { div.value.muted { "none" } }
            Value::Array(items) if items.is_empty() => { div.value.muted { "none" } }
            other => { pre.value { (serde_json::to_string_pretty(other).unwrap_or_default()) } }
        }
    }
}

/// A value inline, shortened.
fn inline_value(value: &Value) -> Markup {
    let text = match value {
        Value::String(s) => format!("\"{s}\""),
        other => other.to_string(),
    };
    html! { code.inline { (truncate(&text, 160)) } }
}

// ---------------------------------------------------------------------------
// Changes
// ---------------------------------------------------------------------------

/// The hand-edit form, read from `application/x-www-form-urlencoded` pairs
/// (repeated names: channels, magic fields).
fn form_values(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

fn one<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

fn all<'a>(pairs: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    pairs
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

fn list_of(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The form's version, or a 400.
fn version(pairs: &[(String, String)]) -> Result<i64, ApiError> {
    one(pairs, "version").parse().map_err(|_| {
        ApiError::InvalidRequest(
            "the form has no action version; reload the page and try again".into(),
        )
    })
}

/// The edit the form asks for, against `current` (only what differs).
fn edit_from_form(
    pairs: &[(String, String)],
    current: &StoredAction,
) -> Result<HandEdit, ApiError> {
    let mut edit = HandEdit::default();
    let mut channels = Vec::new();
    for name in all(pairs, "channel") {
        channels.push(Channel::parse_or_explain(name).map_err(ApiError::InvalidRequest)?);
    }
    channels.sort_by_key(|c| Channel::ALL.iter().position(|x| x == c));
    let mut now = current.hand.channels.clone();
    now.sort_by_key(|c| Channel::ALL.iter().position(|x| x == c));
    if channels != now {
        edit.channels = Some(channels);
    }
    let segments = list_of(one(pairs, "segments"));
    if segments != current.hand.segments {
        edit.segments = Some(segments);
    }
    let tags = list_of(one(pairs, "tags"));
    if tags != current.hand.tags {
        edit.tags = Some(tags);
    }
    let flag = |name: &str| !one(pairs, name).is_empty();
    if flag("enabled") != current.hand.enabled {
        edit.enabled = Some(flag("enabled"));
    }
    if flag("require_confirmation") != current.hand.require_confirmation {
        edit.require_confirmation = Some(flag("require_confirmation"));
    }
    if flag("pinned") != current.hand.pinned {
        edit.pinned = Some(flag("pinned"));
    }
    let keys = all(pairs, "magic_key");
    let values = all(pairs, "magic_value");
    let mut set = BTreeMap::new();
    for (key, value) in keys.iter().zip(values.iter()) {
        let value = value.trim();
        let old = current.hand.magic_fields.get(*key).map(String::as_str);
        if value.is_empty() {
            if old.is_some() {
                edit.remove_magic.push(key.to_string());
            }
        } else if old != Some(value) {
            set.insert(key.to_string(), value.to_string());
        }
    }
    if !set.is_empty() {
        edit.magic_fields = Some(set);
    }
    for key in all(pairs, "remove_magic") {
        if current.hand.magic_fields.contains_key(key)
            && !edit.remove_magic.iter().any(|k| k == key)
        {
            edit.remove_magic.push(key.to_string());
        }
    }
    Ok(edit)
}

/// Runs a change: the CSRF check, the edit through the API's call, then a
/// redirect to the page; a stale version renders the conflict.
async fn change(
    console: &Console,
    session: &Session,
    headers: &HeaderMap,
    id: i64,
    body: &[u8],
    make: impl FnOnce(&[(String, String)], &StoredAction) -> Result<HandEdit, ApiError>,
) -> Response {
    let pairs = form_values(body);
    let result = async {
        check_write(session, headers, one(&pairs, "csrf"))?;
        session.require(auth::Need::Curate)?;
        let expected = version(&pairs)?;
        let current = load(console, id).await?;
        if current.version != expected {
            return Ok(Err((expected, current)));
        }
        let edit = make(&pairs, &current)?;
        if edit.is_empty() {
            return Ok(Ok(Vec::new()));
        }
        match edit_hand(&console.api, id, Some(expected), &edit, &session.actor()).await {
            Ok((_, warnings)) => Ok(Ok(warnings)),
            Err(ApiError::Stale { .. }) => Ok(Err((expected, load(console, id).await?))),
            Err(e) => Err(e),
        }
    }
    .await;
    match result {
        Ok(Ok(warnings)) => {
            // The page flags what the warnings say (an orphaned magic field); no
            // text travels in the URL, so a link cannot put words on the page.
            let to = if warnings.is_empty() {
                format!("/ui/actions/{id}?saved=1")
            } else {
                format!("/ui/actions/{id}?saved=1&warned=1")
            };
            Redirect::to(&to).into_response()
        }
        Ok(Err((expected, current))) => {
            let conflict = conflict_box(expected, &current, &pairs);
            let extras = Extras {
                conflict: Some(conflict),
                ..Extras::default()
            };
            match action_page(console, session, id, extras).await {
                Ok(markup) => (StatusCode::CONFLICT, markup).into_response(),
                Err(e) => error_page(Some(session), e),
            }
        }
        Err(e) => match e {
            ApiError::Unprocessable(_) | ApiError::InvalidRequest(_) | ApiError::NameTaken(_) => {
                let status = if matches!(e, ApiError::NameTaken(_)) {
                    StatusCode::CONFLICT
                } else {
                    StatusCode::UNPROCESSABLE_ENTITY
                };
                let extras = Extras {
                    flash: vec![("error", format!("Not saved: {e}"))],
                    ..Extras::default()
                };
                match action_page(console, session, id, extras).await {
                    Ok(markup) => (status, markup).into_response(),
                    Err(e) => error_page(Some(session), e),
                }
            }
            other => error_page(Some(session), other),
        },
    }
}

/// What a stale edit shows: the version it was based on, the current values,
/// and what the person tried to save.
fn conflict_box(expected: i64, current: &StoredAction, pairs: &[(String, String)]) -> Markup {
    let sent: Vec<(&str, String)> = {
        let mut out = Vec::new();
        let channels = all(pairs, "channel");
        if one(pairs, "field").is_empty() {
            out.push(("channels", channels.join(", ")));
            out.push(("segments", one(pairs, "segments").to_string()));
            out.push(("tags", one(pairs, "tags").to_string()));
            out.push(("enabled", (!one(pairs, "enabled").is_empty()).to_string()));
        } else {
            let field = one(pairs, "field");
            let value = one(pairs, "value");
            out.push((
                "pin",
                if value.is_empty() {
                    format!("unpin {field}")
                } else {
                    format!("{field} = {value}")
                },
            ));
        }
        out
    };
    let channels: Vec<&str> = current.hand.channels.iter().map(|c| c.as_str()).collect();
    html! {
        div.conflict role="alert" {
            h2 { "Not saved: this action changed since you opened it" }
            p { "You edited version " (expected) "; it is now at version " (current.version) ". Nothing was overwritten. The page below shows the current values; redo your change on them if it still applies." }
            div.columns {
                div {
                    h3 { "Current values" }
                    dl {
                        dt { "channels" } dd { (channels.join(", ")) }
                        dt { "segments" } dd { (current.hand.segments.join(", ")) }
                        dt { "tags" } dd { (current.hand.tags.join(", ")) }
                        dt { "enabled" } dd { (current.hand.enabled) }
                        dt { "description" } dd { (current.effective("description").as_str().unwrap_or("")) }
                    }
                }
                div {
                    h3 { "Your change (not saved)" }
                    dl {
                        @for (k, v) in &sent { dt { (k) } dd { (v) } }
                    }
                }
            }
        }
    }
}

/// `POST /ui/actions/{id}/edit`.
pub async fn edit(
    State(console): State<Console>,
    session: Session,
    path: Result<Path<i64>, PathRejection>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let id = match id_of(path) {
        Ok(id) => id,
        Err(e) => return error_page(Some(&session), e),
    };
    change(&console, &session, &headers, id, &body, edit_from_form).await
}

/// `POST /ui/actions/{id}/pin`: field and value.
pub async fn pin(
    State(console): State<Console>,
    session: Session,
    path: Result<Path<i64>, PathRejection>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let id = match id_of(path) {
        Ok(id) => id,
        Err(e) => return error_page(Some(&session), e),
    };
    change(&console, &session, &headers, id, &body, |pairs, _| {
        let field = one(pairs, "field");
        if !SPEC_FIELDS.contains(&field) {
            return Err(ApiError::InvalidRequest(format!(
                "`{field}` is not a spec-owned field"
            )));
        }
        let text = one(pairs, "value");
        let value = if is_text_field(field) {
            Value::String(text.trim().to_string())
        } else {
            serde_json::from_str(text).map_err(|e| {
                ApiError::InvalidRequest(format!("the pinned {field} is not JSON: {e}"))
            })?
        };
        let mut edit = HandEdit::default();
        edit.pins.insert(field.to_string(), value);
        Ok(edit)
    })
    .await
}

/// `POST /ui/actions/{id}/unpin`: field.
pub async fn unpin(
    State(console): State<Console>,
    session: Session,
    path: Result<Path<i64>, PathRejection>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let id = match id_of(path) {
        Ok(id) => id,
        Err(e) => return error_page(Some(&session), e),
    };
    change(&console, &session, &headers, id, &body, |pairs, _| {
        Ok(HandEdit {
            unpin: vec![one(pairs, "field").to_string()],
            ..HandEdit::default()
        })
    })
    .await
}

/// `POST /ui/actions/{id}/test`: arguments and context as JSON objects; the
/// page comes back with the report.
pub async fn test(
    State(console): State<Console>,
    session: Session,
    path: Result<Path<i64>, PathRejection>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let pairs = form_values(&body);
    let id = match id_of(path) {
        Ok(id) => id,
        Err(e) => return error_page(Some(&session), e),
    };
    if let Err(e) = check_write(&session, &headers, one(&pairs, "csrf"))
        .and_then(|()| session.require(auth::Need::Curate))
    {
        return error_page(Some(&session), e);
    }
    let args_text = one(&pairs, "args").to_string();
    let context_text = one(&pairs, "context").to_string();
    let input = || -> Result<TestInput, ApiError> {
        let object = |text: &str, what: &str| -> Result<Value, ApiError> {
            let text = if text.trim().is_empty() { "{}" } else { text };
            serde_json::from_str::<Value>(text)
                .ok()
                .filter(Value::is_object)
                .ok_or_else(|| {
                    ApiError::InvalidTest(format!(
                        "the {what} must be a JSON object, such as {{\"order_id\": \"42\"}}"
                    ))
                })
        };
        let args = object(&args_text, "arguments")?;
        let context = object(&context_text, "context")?;
        serde_json::from_value(serde_json::json!({ "args": args, "context": context }))
            .map_err(|e| ApiError::InvalidTest(format!("the context's values are text: {e}")))
    };
    let result = crate::api::test::run_test(&console.api, &session.token, id, input).await;
    let test = match result {
        Ok(report) => Ok(report),
        Err(e @ (ApiError::NotFound(_) | ApiError::Internal(_))) => {
            return error_page(Some(&session), e);
        }
        Err(e) => Err(e.to_string()),
    };
    let extras = Extras {
        test: Some(test),
        test_input: Some((args_text.clone(), context_text.clone())),
        ..Extras::default()
    };
    match action_page(&console, &session, id, extras).await {
        Ok(markup) => markup.into_response(),
        Err(e) => error_page(Some(&session), e),
    }
}
