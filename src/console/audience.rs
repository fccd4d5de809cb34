//! What the AI sees: the tool list one audience (a channel and a contact's
//! segments) gets from `GET /v1/tools`, with its count and token total, chosen
//! by the same rule ([`crate::tools::select`]).

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;

use super::layout::{self, Nav};
use super::{Console, Session, error_page};
use crate::action::{ActionState, Channel};
use crate::api::ApiError;
use crate::store::{ActionQuery, Store};
use crate::tools::{self, Audience};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AudienceQuery {
    channel: String,
    segments: String,
}

/// `GET /ui/audience?channel=widget&segments=vip,beta`.
pub async fn page(
    State(console): State<Console>,
    session: Session,
    query: Result<Query<AudienceQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let result = async {
        let channel = Channel::parse(&query.channel).unwrap_or(Channel::Widget);
        let segments: Vec<String> = query
            .segments
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        let actions = console
            .api
            .daemon()
            .store
            .actions(&ActionQuery {
                state: Some(ActionState::Active),
                ..ActionQuery::default()
            })
            .await?;
        let audience = Audience {
            channel: Some(channel),
            segments: Some(segments.clone()),
        };
        let chosen = tools::select(&actions, &audience);
        let costs: Vec<usize> = chosen.iter().map(|a| tools::tokens(a)).collect();
        let total: usize = costs.iter().sum();
        let body = html! {
            div.heading { h1 { "What the AI sees" } }
            form.filters method="get" action="/ui/audience" {
                div.field {
                    label for="a-channel" { "Channel" }
                    select #a-channel name="channel" data-autosubmit {
                        @for c in Channel::ALL {
                            option value=(c.as_str()) selected[c == channel] { (c.as_str()) }
                        }
                    }
                }
                div.field.grow {
                    label for="a-segments" { "Contact's segments" }
                    input #a-segments type="text" name="segments" value=(segments.join(", ")) placeholder="none (comma-separated)";
                }
                div.field.buttons { button.primary type="submit" { "Show" } }
            }
            div.stats {
                div.stat { span.big #tool-count { (chosen.len()) } span { "tools" } }
                div.stat { span.big #tool-tokens { (total) } span { "tokens" } }
            }
            p.hint { "The tools a contact in these segments gets on " (channel.as_str()) ", as " code { "GET /v1/tools" } " serves them: active, enabled, on the channel, and unrestricted or restricted to one of the segments." }
            @if chosen.is_empty() {
                p.empty { "This audience sees no tools." }
            } @else {
                div.table-wrap {
                    table {
                        thead { tr { th scope="col" { "Tool" } th scope="col" { "Description" } th scope="col" .num { "Tokens" } } }
                        tbody {
                            @for (a, cost) in chosen.iter().zip(&costs) {
                                tr {
                                    td.name { a href=(format!("/ui/actions/{}", a.id)) { (a.name) } }
                                    td.desc { (a.effective("description").as_str().unwrap_or("")) }
                                    td.num { (cost) }
                                }
                            }
                        }
                    }
                }
            }
        };
        Ok::<_, ApiError>(layout::page("What the AI sees", Some(&session), Nav::Audience, body))
    }
    .await;
    match result {
        Ok(m) => m.into_response(),
        Err(e) => error_page(Some(&session), e),
    }
}
