//! Sources (their sync state, "reconcile now"), their revisions with the plan
//! each applied, rollback (a dry run first), and a plan preview of a pasted spec.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use super::layout::{self, Nav, badge, csrf};
use super::{Console, Session, check_write, encode, error_page, format_time};
use crate::action::ActionState;
use crate::api::curate::{RollbackRequest, rollback_source};
use crate::api::push::{PushQuery, plan_spec, valid_source_name};
use crate::api::wire::{PushOutcome, PushReply};
use crate::api::{ApiError, auth};
use crate::daemon::Trigger;
use crate::plan::{Counts, Plan};
use crate::store::{AppliedBy, SourceRecord, Store};

/// A stored location with any secret in it hidden: a URL's user, password and
/// query values.
fn redacted(location: &str) -> String {
    match url::Url::parse(location) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => crate::source::redact_url(&url),
        _ => location.to_string(),
    }
}

/// `GET /ui/sources`.
pub async fn list(State(console): State<Console>, session: Session) -> Response {
    match list_page(&console, &session, Vec::new()).await {
        Ok(m) => m.into_response(),
        Err(e) => error_page(Some(&session), e),
    }
}

async fn list_page(
    console: &Console,
    session: &Session,
    flash: Vec<(&'static str, String)>,
) -> Result<layout::Page, ApiError> {
    let store = &console.api.daemon().store;
    let sources = store.sources().await?;
    let mut rows = Vec::new();
    for source in sources {
        let summaries = store.action_summaries(&source.name).await?;
        let active = summaries
            .iter()
            .filter(|a| a.state == ActionState::Active)
            .count();
        let disabled = summaries
            .iter()
            .filter(|a| a.state == ActionState::Active && !a.hand.enabled)
            .count();
        let archived = summaries.len() - active;
        rows.push((source, active, disabled, archived));
    }
    let body = html! {
        div.heading { h1 { "Sources" } }
        @for (kind, text) in &flash {
            p class=(format!("flash {kind}")) role="status" { (text) }
        }
        @if rows.is_empty() {
            p.empty { "No sources yet: add one to the config, or push a spec." }
        }
        div.cards {
            @for (s, active, disabled, archived) in &rows {
                section.card.source aria-label=(s.name) {
                    div.cardhead {
                        h2 { (s.name) }
                        (health(s))
                    }
                    dl.facts {
                        dt { "Kind" } dd { span.chip { (s.kind) } }
                        dt { "Location" } dd { code.wrap { (redacted(&s.location)) } }
                        dt { "Revision" } dd { @if s.last_revision == 0 { span.muted { "none yet" } } @else { a href=(format!("/ui/sources/{}/revisions", encode(&s.name))) { (s.last_revision) } } }
                        dt { "Last sync" } dd { @match s.last_success_at { Some(t) => (format_time(t)), None => span.muted { "never" } } }
                        dt { "Actions" } dd {
                            a href=(format!("/ui/actions?source={}&state=active", encode(&s.name))) { (active) " active" }
                            @if *disabled > 0 { ", " (disabled) " disabled" }
                            ", "
                            a href=(format!("/ui/actions?source={}&state=archived", encode(&s.name))) { (archived) " archived" }
                        }
                        @if let Some(pending) = &s.pending {
                            dt { "Pending" } dd { (counts_text(pending)) }
                        }
                    }
                    @if let Some(error) = &s.last_error {
                        div.flash.error role="note" {
                            strong { "Last error" }
                            @if let Some(at) = s.last_error_at { " (" (format_time(at)) ")" }
                            ": " (error)
                        }
                    }
                    div.buttons {
                        a.button href=(format!("/ui/sources/{}/revisions", encode(&s.name))) { "Revisions" }
                        a.button href=(format!("/ui/sources/{}/plan", encode(&s.name))) { "Plan a spec" }
                        @if matches!(s.kind.as_str(), "file" | "url" | "dir") {
                            form.inline method="post" action=(format!("/ui/sources/{}/reconcile", encode(&s.name))) {
                                (csrf(session))
                                button type="submit" aria-label=(format!("Reconcile {} now", s.name)) { "Reconcile now" }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page("Sources", Some(session), Nav::Sources, body))
}

/// The source's state as a badge: failing, paused, out of sync or synced.
fn health(s: &SourceRecord) -> Markup {
    if s.last_error.is_some() {
        badge("err", "failing")
    } else if s.paused && s.pending.is_some() {
        badge("warn", "paused · out of sync")
    } else if s.paused {
        badge("warn", "paused")
    } else if s.last_success_at.is_some() || s.last_revision > 0 {
        badge("ok", "synced")
    } else {
        badge("plain", "not synced yet")
    }
}

fn counts_text(c: &Counts) -> String {
    let parts = [
        (c.created, "created"),
        (c.updated, "updated"),
        (c.archived, "archived"),
        (c.restored, "restored"),
        (c.deleted, "deleted"),
    ];
    let said: Vec<String> = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, w)| format!("{n} {w}"))
        .collect();
    if said.is_empty() {
        format!("no changes ({} unchanged)", c.unchanged)
    } else {
        said.join(", ")
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

/// `POST /ui/sources/{name}/reconcile`: asks the source's worker to read it
/// now, as the watcher or poller would.
pub async fn reconcile(
    State(console): State<Console>,
    session: Session,
    Path(name): Path<String>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<CsrfOnly>,
) -> Response {
    let result = async {
        check_write(&session, &headers, &form.csrf)?;
        session.require(auth::Need::Curate)?;
        valid_source_name(&name)?;
        let record = console
            .api
            .daemon()
            .store
            .source(&name)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("no source `{name}`")))?;
        let by = match record.kind.as_str() {
            "url" => AppliedBy::Poll,
            "file" | "dir" => AppliedBy::Watch,
            other => {
                return Err(ApiError::Conflict(format!(
                    "source `{name}` is a {other} source: it changes when a spec is pushed, not read"
                )));
            }
        };
        console.api.daemon().trigger(&name, Trigger::Check(by));
        tracing::info!(source = %name, by = %session.actor(), "reconcile requested");
        Ok(())
    }
    .await;
    match result {
        Ok(()) => match list_page(
            &console,
            &session,
            vec![(
                "ok",
                format!("Source `{name}` is being read again; reload to see the outcome."),
            )],
        )
        .await
        {
            Ok(m) => m.into_response(),
            Err(e) => error_page(Some(&session), e),
        },
        Err(e) => error_page(Some(&session), e),
    }
}

/// `GET /ui/sources/{name}/revisions`.
pub async fn revisions(
    State(console): State<Console>,
    session: Session,
    Path(name): Path<String>,
) -> Response {
    let result = async {
        let store = &console.api.daemon().store;
        let source = store
            .source(&name)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("no source `{name}`")))?;
        let revisions = store.revisions(&name).await?;
        let refusals = store.refusals(&name).await?;
        Ok::<_, ApiError>(html! {
            nav.crumbs aria-label="Breadcrumb" { a href="/ui/sources" { "Sources" } " / " span { (name) } }
            div.heading { h1 { "Revisions of " (name) } (health(&source)) }
            @if revisions.is_empty() {
                p.empty { "No revisions yet." }
            } @else {
                div.table-wrap {
                    table {
                        thead { tr { th scope="col" .num { "#" } th scope="col" { "Applied" } th scope="col" { "By" } th scope="col" { "Changes" } th scope="col" {} } }
                        tbody {
                            @for r in &revisions {
                                tr {
                                    td.num { a href=(format!("/ui/sources/{}/revisions/{}", encode(&name), r.number)) { (r.number) } }
                                    td.nowrap { (format_time(r.applied_at)) }
                                    td { (r.applied_by) @if let Some(actor) = &r.actor { " · " (actor) } }
                                    td { (counts_text(&r.counts)) }
                                    td {
                                        @if r.number == source.last_revision { (badge("ok", "current")) }
                                        @else { a href=(format!("/ui/sources/{}/revisions/{}", encode(&name), r.number)) { "Diff and rollback" } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if !refusals.is_empty() {
                h2 { "Refused plans" }
                ul.refusals {
                    @for r in &refusals {
                        li {
                            (format_time(r.last_at)) " · " (r.refused_by)
                            @if r.times > 1 { " · " (r.times) " times" }
                            ul { @for reason in &r.reasons { li { (reason) } } }
                        }
                    }
                }
            }
        })
    }
    .await;
    match result {
        Ok(body) => layout::page(
            &format!("Revisions of {name}"),
            Some(&session),
            Nav::Sources,
            body,
        )
        .into_response(),
        Err(e) => error_page(Some(&session), e),
    }
}

/// A plan as the CLI prints it, each line coloured by what it says.
pub fn plan_view(plan: &Plan) -> Markup {
    let text = crate::plan::text(plan);
    html! {
        pre.plan {
            @for line in text.lines() {
                @let trimmed = line.trim_start();
                @let class = match trimmed.chars().next() {
                    Some('+') => "add",
                    Some('-') => "del",
                    Some('~') => "mod",
                    Some('!') => "warn",
                    _ => "",
                };
                span class=(class) { (line) } "\n"
            }
        }
    }
}

/// `GET /ui/sources/{name}/revisions/{number}`: the plan it applied, and a
/// rollback to it (a dry run first).
pub async fn revision(
    State(console): State<Console>,
    session: Session,
    path: Result<Path<(String, i64)>, PathRejection>,
) -> Response {
    let result = async {
        let Path((name, number)) =
            path.map_err(|_| ApiError::NotFound("a revision is a number".into()))?;
        let store = &console.api.daemon().store;
        let source = store
            .source(&name)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("no source `{name}`")))?;
        let revision = store
            .revision(&name, number)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("source `{name}` has no revision {number}")))?;
        let can_manage = session.allows(auth::Need::Manage);
        let body = html! {
            nav.crumbs aria-label="Breadcrumb" {
                a href="/ui/sources" { "Sources" } " / "
                a href=(format!("/ui/sources/{}/revisions", encode(&name))) { (name) } " / "
                span { "revision " (number) }
            }
            div.heading { h1 { "Revision " (number) " of " (name) } }
            p.muted { "Applied " (format_time(revision.applied_at)) " by " (revision.applied_by) @if let Some(a) = &revision.actor { " (" (a) ")" } ". " (counts_text(&revision.counts)) "." }
            @match &revision.plan {
                Some(plan) => { h2 { "What it changed" } (plan_view(plan)) }
                None => { p.muted { "This revision has no stored plan." } }
            }
            @if number != source.last_revision {
                section.card aria-labelledby="rb-h" {
                    h2 #rb-h { "Roll back to revision " (number) }
                    p { "Applies this revision's spec again as a new revision; hand-set fields stay as they are. Preview the plan first." }
                    @if can_manage {
                        (rollback_form(&session, &name, number, true, sync_watched(&source.kind)))
                    } @else {
                        p.muted { "Rollbacks take an admin token." }
                    }
                }
            }
        };
        Ok::<_, ApiError>(layout::page(
            &format!("Revision {number} of {name}"),
            Some(&session),
            Nav::Sources,
            body,
        ))
    }
    .await;
    match result {
        Ok(m) => m.into_response(),
        Err(e) => error_page(Some(&session), e),
    }
}

fn sync_watched(kind: &str) -> bool {
    crate::sync::is_watched(kind)
}

fn rollback_form(
    session: &Session,
    name: &str,
    number: i64,
    dry_run: bool,
    watched: bool,
) -> Markup {
    html! {
        form method="post" action=(format!("/ui/sources/{}/rollback", encode(name))) {
            (csrf(session))
            input type="hidden" name="revision" value=(number);
            input type="hidden" name="dry_run" value=(if dry_run { "true" } else { "false" });
            @if watched {
                label { input type="checkbox" name="pause" value="true" checked; " Pause the source first (its next change would undo the rollback)" }
            }
            div.buttons {
                @if dry_run {
                    button.primary type="submit" { "Preview rollback" }
                } @else {
                    button.danger type="submit" { "Roll back to revision " (number) }
                }
            }
        }
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct RollbackForm {
    #[serde(default)]
    csrf: String,
    revision: i64,
    #[serde(default)]
    dry_run: String,
    #[serde(default)]
    pause: String,
}

/// `POST /ui/sources/{name}/rollback`: with `dry_run=true` the preview and a
/// button to apply it; else the rollback, through the API's call.
pub async fn rollback(
    State(console): State<Console>,
    session: Session,
    Path(name): Path<String>,
    headers: HeaderMap,
    form: Result<axum::Form<RollbackForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let result = async {
        let axum::Form(form) = form.map_err(|e| ApiError::InvalidRequest(e.body_text()))?;
        check_write(&session, &headers, &form.csrf)?;
        session.require(auth::Need::Manage)?;
        valid_source_name(&name)?;
        let dry_run = form.dry_run == "true";
        let request = RollbackRequest {
            revision: form.revision,
            force: false,
            dry_run,
            pause: form.pause == "true",
        };
        let reply = rollback_source(&console.api, &name, &request, &session.actor()).await?;
        let watched = console
            .api
            .daemon()
            .store
            .source(&name)
            .await?
            .is_some_and(|s| sync_watched(&s.kind) && !s.paused);
        Ok::<_, ApiError>((reply, dry_run, form, watched))
    }
    .await;
    match result {
        Ok((reply, true, form, watched)) => {
            let body = html! {
                nav.crumbs aria-label="Breadcrumb" {
                    a href="/ui/sources" { "Sources" } " / "
                    a href=(format!("/ui/sources/{}/revisions", encode(&name))) { (name) } " / "
                    span { "rollback preview" }
                }
                div.heading { h1 { "Roll back " (name) " to revision " (form.revision) "?" } }
                p.flash.warn role="status" { "Dry run: nothing has changed yet." }
                (reply_view(&reply))
                @if reply.outcome != PushOutcome::Refused {
                    (rollback_form(&session, &name, form.revision, false, watched || form.pause == "true"))
                }
            };
            layout::page("Rollback preview", Some(&session), Nav::Sources, body).into_response()
        }
        Ok((_, false, _, _)) => {
            Redirect::to(&format!("/ui/sources/{}/revisions", encode(&name))).into_response()
        }
        Err(e) => error_page(Some(&session), e),
    }
}

/// A reconcile's reply: its outcome, note and plan.
fn reply_view(reply: &PushReply) -> Markup {
    let (kind, text) = match reply.outcome {
        PushOutcome::Applied => ("ok", "applied"),
        PushOutcome::Unchanged => ("plain", "unchanged"),
        PushOutcome::NoChanges => ("plain", "no changes"),
        PushOutcome::Planned => ("info", "planned"),
        PushOutcome::Refused => ("err", "refused"),
    };
    html! {
        p.outcome { (badge(kind, text)) " " (counts_text(&reply.counts)) }
        @if let Some(note) = &reply.note { p.flash.warn role="note" { (note) } }
        @match &reply.plan {
            Some(plan) => (plan_view(plan)),
            None => p.muted { "The spec is the one already applied." },
        }
    }
}

/// `GET /ui/sources/{name}/plan`: paste or upload a spec.
pub async fn plan_page(
    State(console): State<Console>,
    session: Session,
    Path(name): Path<String>,
) -> Response {
    match console.api.daemon().store.source(&name).await {
        Ok(Some(_)) => plan_form(&console, &session, &name, "", None, None).into_response(),
        Ok(None) => error_page(
            Some(&session),
            ApiError::NotFound(format!("no source `{name}`")),
        ),
        Err(e) => error_page(Some(&session), e.into()),
    }
}

/// The plan page; `previewed` is the hash of the spec whose dry run it shows,
/// the only spec its Apply button applies.
fn plan_form(
    console: &Console,
    session: &Session,
    name: &str,
    spec: &str,
    answer: Option<Markup>,
    previewed: Option<&str>,
) -> layout::Page {
    let pushable = console.api.daemon().push_target(name).is_ok();
    let body = html! {
        nav.crumbs aria-label="Breadcrumb" { a href="/ui/sources" { "Sources" } " / " span { (name) } " / " span { "plan" } }
        div.heading { h1 { "Plan a spec for " (name) } }
        p { "Paste a spec (JSON or YAML) or load a file, and see the plan before anything changes." }
        form.plan method="post" action=(format!("/ui/sources/{}/plan", encode(name))) {
            (csrf(session))
            div.field {
                label for="spec-file" { "Spec file" }
                input #spec-file type="file" accept=".json,.yaml,.yml,application/json,application/yaml" data-into="spec";
            }
            div.field {
                label for="spec" { "Spec" }
                textarea #spec name="spec" rows="14" spellcheck="false" { (spec) }
            }
            @if let Some(previewed) = previewed {
                input type="hidden" name="previewed" value=(previewed);
            }
            div.buttons {
                button.primary type="submit" name="apply" value="false" { "Preview plan" }
                @if pushable && session.allows(auth::Need::Manage) && previewed.is_some() {
                    button.danger type="submit" name="apply" value="true" { "Apply this spec" }
                }
            }
            @if !pushable {
                p.hint { "This source is read from its file or URL: its plan can be previewed here, and changes by editing the spec there." }
            }
        }
        @if let Some(answer) = answer { section.card aria-label="Plan" { (answer) } }
    };
    layout::page(
        &format!("Plan for {name}"),
        Some(session),
        Nav::Sources,
        body,
    )
}

#[derive(Debug, serde::Deserialize)]
pub struct PlanForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    spec: String,
    #[serde(default)]
    apply: String,
    #[serde(default)]
    previewed: String,
}

/// SHA-256 of a pasted spec, hex.
fn spec_hash(spec: &str) -> String {
    use sha2::Digest;
    crate::source::hex(&sha2::Sha256::digest(spec.as_bytes()))
}

/// `POST /ui/sources/{name}/plan`: the plan of the pasted spec (a dry run);
/// with `apply=true` (admin, push sources) it is applied.
pub async fn plan(
    State(console): State<Console>,
    session: Session,
    Path(name): Path<String>,
    headers: HeaderMap,
    form: Result<axum::Form<PlanForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let form = match form {
        Ok(axum::Form(form)) => form,
        Err(e) => {
            return error_page(Some(&session), ApiError::InvalidRequest(e.body_text()));
        }
    };
    let result = async {
        check_write(&session, &headers, &form.csrf)?;
        session.require(auth::Need::Curate)?;
        valid_source_name(&name)?;
        let store = &console.api.daemon().store;
        if store.source(&name).await?.is_none() {
            return Err(ApiError::NotFound(format!("no source `{name}`")));
        }
        let apply = form.apply == "true";
        if apply && form.previewed != spec_hash(&form.spec) {
            return Err(ApiError::Conflict(
                "the spec changed since its preview: preview it again, then apply".to_string(),
            ));
        }
        let settings = if apply {
            session.require(auth::Need::Manage)?;
            console.api.daemon().push_target(&name).map_err(|from| {
                ApiError::WatchedSource(format!(
                    "source `{name}` is read from {from}: change the spec there"
                ))
            })?
        } else {
            console.api.daemon().source_settings(&name)
        };
        if form.spec.len() > settings.load.max_bytes {
            return Err(ApiError::TooLarge(format!(
                "the spec is larger than this source's limit of {} bytes",
                settings.load.max_bytes
            )));
        }
        let query = PushQuery {
            dry_run: !apply,
            ..PushQuery::default()
        };
        let reply = plan_spec(
            &console.api,
            &name,
            settings,
            form.spec.clone().into_bytes(),
            &query,
            AppliedBy::Push,
            &session.actor(),
        )
        .await?;
        Ok(reply)
    }
    .await;
    match result {
        Ok(reply) => {
            let answer = html! {
                @if reply.dry_run { p.flash.warn role="status" { "Dry run: nothing has changed." } }
                (reply_view(&reply))
            };
            let status = if reply.outcome == PushOutcome::Refused {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::OK
            };
            let hash = spec_hash(&form.spec);
            let previewed =
                (reply.dry_run && reply.outcome != PushOutcome::Refused).then_some(hash.as_str());
            (
                status,
                plan_form(
                    &console,
                    &session,
                    &name,
                    &form.spec,
                    Some(answer),
                    previewed,
                ),
            )
                .into_response()
        }
        Err(
            e @ (ApiError::InvalidSpec(_)
            | ApiError::TooLarge(_)
            | ApiError::WatchedSource(_)
            | ApiError::Conflict(_)),
        ) => {
            let answer = html! { p.flash.error role="alert" { (e.to_string()) } };
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                plan_form(&console, &session, &name, &form.spec, Some(answer), None),
            )
                .into_response()
        }
        Err(e) => error_page(Some(&session), e),
    }
}
