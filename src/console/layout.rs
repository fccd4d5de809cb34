//! The page shell: header with navigation, the signed-in token and sign-out.

use maud::{DOCTYPE, Markup, html};

use super::Session;
use super::assets;

/// Which navigation entry is current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    /// None (sign-in, errors).
    None,
    /// The actions list and an action's page.
    Actions,
    /// Sources, revisions, plans.
    Sources,
    /// What the AI sees.
    Audience,
}

/// A page as an HTML answer.
pub type Page = axum::response::Html<String>;

/// A whole page.
pub fn page(title: &str, session: Option<&Session>, nav: Nav, body: Markup) -> Page {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · actionsync" }
                link rel="stylesheet" href=(assets::css_url());
                script src=(assets::js_url()) defer {}
            }
            body {
                header.top {
                    a.brand href="/ui/actions" { "actionsync" }
                    @if let Some(session) = session {
                        nav aria-label="Main" {
                            a href="/ui/actions" aria-current=[(nav == Nav::Actions).then_some("page")] { "Actions" }
                            a href="/ui/sources" aria-current=[(nav == Nav::Sources).then_some("page")] { "Sources" }
                            a href="/ui/audience" aria-current=[(nav == Nav::Audience).then_some("page")] { "What the AI sees" }
                        }
                        div.who {
                            span.token title="Signed in with this token" {
                                (session.token.name) " "
                                span.badge.scope { (session.token.scope.as_str()) }
                            }
                            form method="post" action="/ui/sign-out" {
                                (csrf(session))
                                button.link type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main { (body) }
            }
        }
    };
    axum::response::Html(markup.into_string())
}

/// The hidden CSRF field every form of a session carries.
pub fn csrf(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf); }
}

/// A status badge.
pub fn badge(kind: &str, text: &str) -> Markup {
    html! { span class=(format!("badge {kind}")) { (text) } }
}
