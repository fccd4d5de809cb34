//! The shapes the HTTP API sends, shared by the server and `actionsync push`.

use serde::{Deserialize, Serialize};

use crate::plan::{Counts, Plan};

/// How a push (`PUT /v1/sources/{name}/spec`) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushOutcome {
    /// The plan was applied as a new revision.
    Applied,
    /// The spec (and the source's options) are the same as last applied: nothing planned.
    Unchanged,
    /// The plan changes nothing.
    NoChanges,
    /// A dry run whose plan would change something.
    Planned,
    /// Lint or a guard refused the plan: nothing applied (status 422).
    Refused,
}

/// The answer to a push: what happened, and the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushReply {
    /// The source.
    pub source: String,
    /// What happened.
    pub outcome: PushOutcome,
    /// Whether it was a dry run.
    pub dry_run: bool,
    /// The revision applied; otherwise the source's current revision (0: none yet).
    pub revision: i64,
    /// Counts by kind of change (all zero when unchanged).
    pub counts: Counts,
    /// The plan: field-level changes, drift, orphans, diagnostics, refusals
    /// (absent when unchanged).
    pub plan: Option<Plan>,
    /// Why the push was a dry run though it did not ask for one: the source is
    /// paused (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The body of every error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A stable code: `invalid_request`, `invalid_spec`, `unauthorized`,
    /// `forbidden`, `not_found`, `method_not_allowed`, `conflict`,
    /// `watched_source`, `name_taken`, `stale`, `too_large`, `invalid_edit`,
    /// `precondition_required`, `timeout` (408), `busy` (503: send again), `internal`.
    pub error: String,
    /// What went wrong and what to do, for people.
    pub message: String,
}
