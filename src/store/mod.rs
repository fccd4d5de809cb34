//! The catalogue's storage: the only module that speaks SQL.
//!
//! [`Store`] has two implementations with the same SQL (both take `$1`-style
//! parameters): [`sqlite::SqliteStore`], the embedded default (a file, WAL, foreign
//! keys on, applies under `BEGIN IMMEDIATE`), and [`postgres::PgStore`] for several
//! replicas (applies under `pg_advisory_xact_lock` per source). [`open`] picks one
//! from the database URL and runs the migrations.
//!
//! Applying a plan is one transaction: the source is locked, the plan's base
//! revision is checked against the source's current one (a plan made against an
//! older catalogue is refused, so two applies never interleave), the changes are
//! written, and a numbered revision records the plan and the spec. Hand edits
//! name the row version they saw; an edit based on a stale version is refused.

mod common;
pub mod postgres;
pub mod sqlite;

use std::future::Future;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::action::{ActionState, Channel, HandFields, SpecFields, StoredAction};
use crate::plan::{Counts, NameOwner, Plan};

/// The database URL used when none is given: a file next to the config.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://actionsync.db";

/// Why the store could not do something.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened.
    #[error("cannot open the catalogue at {url}: {reason}")]
    Open {
        /// The database URL, without a password.
        url: String,
        /// Why.
        reason: String,
    },
    /// A migration failed.
    #[error("cannot bring the catalogue's tables up to date: {0}")]
    Migrate(String),
    /// The database said no.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The plan was made against a revision that is no longer current.
    #[error(
        "the catalogue of source `{source_name}` changed since the plan was made (it is at revision {current}, the plan at {planned}); plan again"
    )]
    Conflict {
        /// The source.
        source_name: String,
        /// Its revision now.
        current: i64,
        /// The revision the plan was made against.
        planned: i64,
    },
    /// A hand edit based on a version that is no longer current.
    #[error(
        "action {id} changed since version {expected} (it is at version {current}); read it again and redo the edit"
    )]
    Stale {
        /// Action id.
        id: i64,
        /// The version the edit was based on.
        expected: i64,
        /// The version now.
        current: i64,
    },
    /// No such action or source.
    #[error("{0}")]
    NotFound(String),
    /// The name is taken by another active action.
    #[error(
        "the name `{0}` is already used by another active action; names are unique across the catalogue"
    )]
    NameTaken(String),
    /// An edit that is not valid.
    #[error("{0}")]
    Invalid(String),
    /// Stored data that does not decode.
    #[error(
        "the catalogue holds data this version cannot read ({0}); was it written by a newer actionsync?"
    )]
    Corrupt(String),
}

/// Shorthand.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What applied a revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AppliedBy {
    /// `actionsync reconcile`.
    Cli,
    /// A watched file or folder.
    Watch,
    /// A polled URL.
    Poll,
    /// A spec pushed over HTTP.
    Push,
    /// A person (rollback).
    User,
}

impl AppliedBy {
    /// Lowercase name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            AppliedBy::Cli => "cli",
            AppliedBy::Watch => "watch",
            AppliedBy::Poll => "poll",
            AppliedBy::Push => "push",
            AppliedBy::User => "user",
        }
    }
}

/// A source as the catalogue knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceRecord {
    /// Name.
    pub name: String,
    /// `file`, `dir`, `url` or `push`.
    pub kind: String,
    /// Where its spec comes from.
    pub location: String,
    /// Hash of the last spec (and conversion options) applied or found unchanged.
    pub input_hash: Option<String>,
    /// The last `ETag` its URL answered.
    pub etag: Option<String>,
    /// The last `Last-Modified` its URL answered.
    pub last_modified: Option<String>,
    /// Its latest revision (0: never applied).
    pub last_revision: i64,
    /// The last error, if the latest attempt failed.
    pub last_error: Option<String>,
    /// When that error happened.
    pub last_error_at: Option<i64>,
    /// When it was last reconciled successfully.
    pub last_success_at: Option<i64>,
    /// Paused: read and planned, never applied until resumed.
    pub paused: bool,
    /// While paused, the counts of the plan it would apply (`None`: in sync, or
    /// not planned since it was paused).
    pub pending: Option<Counts>,
}

/// A numbered revision of a source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Revision {
    /// Source.
    pub source: String,
    /// Number, from 1.
    pub number: i64,
    /// Hash of the spec it applied (its body is kept once per hash).
    pub spec_hash: String,
    /// What applied it.
    pub applied_by: String,
    /// Who, when known: `token:NAME` for a push or a rollback over the API.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub actor: Option<String>,
    /// When, in milliseconds since the Unix epoch.
    pub applied_at: i64,
    /// How many actions each kind of change touched.
    pub counts: Counts,
    /// The plan it applied (its diff), when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<Plan>,
}

/// A reconcile whose plan was refused, as `history` shows it: the same refusal
/// of the same spec again counts in `times`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusalRecord {
    /// Source.
    pub source: String,
    /// Hash of the spec whose plan was refused.
    pub spec_hash: String,
    /// Why, one entry per refusal.
    pub reasons: Vec<String>,
    /// What tried to apply it (`cli`, `watch`, `poll`, `push`, `user`).
    pub refused_by: String,
    /// Who, when known (`token:NAME`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub actor: Option<String>,
    /// When it was first refused, in milliseconds since the Unix epoch.
    pub first_at: i64,
    /// When it was last refused.
    pub last_at: i64,
    /// How many times.
    pub times: i64,
}

/// One hand edit of one field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Action id.
    pub action_id: i64,
    /// When, in milliseconds since the Unix epoch.
    pub at: i64,
    /// Who (`cli`, a token's name, …).
    pub actor: String,
    /// The field (`channels`, `magic_fields`, `pin:description`, …).
    pub field: String,
    /// Value before.
    pub old: Value,
    /// Value after.
    pub new: Value,
    /// The action's version after the edit.
    pub version: i64,
}

/// Changes to hand-owned fields; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HandEdit {
    /// Restricted-to segments.
    pub segments: Option<Vec<String>>,
    /// Channels.
    pub channels: Option<Vec<Channel>>,
    /// Magic fields to set: parameter or header → context path.
    pub magic_fields: Option<std::collections::BTreeMap<String, String>>,
    /// Magic fields to remove.
    pub remove_magic: Vec<String>,
    /// The "require form submission" toggle.
    pub require_confirmation: Option<bool>,
    /// Enabled or not.
    pub enabled: Option<bool>,
    /// Pinned at the top of lists or not.
    pub pinned: Option<bool>,
    /// Tags (replaces the list).
    pub tags: Option<Vec<String>>,
    /// Spec-owned fields to pin: field → value.
    pub pins: std::collections::BTreeMap<String, Value>,
    /// Pins to remove.
    pub unpin: Vec<String>,
}

impl HandEdit {
    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == HandEdit::default()
    }
}

/// An action without its spec-owned fields, which a plan reads only where their
/// digest differs from the draft's: the first of the two reads a plan makes.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionSummary {
    /// Stable id.
    pub id: i64,
    /// Identity within the source.
    pub key: String,
    /// The name in effect.
    pub name: String,
    /// Active or archived.
    pub state: ActionState,
    /// Hand-owned fields.
    pub hand: HandFields,
    /// [`crate::plan::spec_digest`] of its spec-owned fields as last applied;
    /// `None` for rows applied before the digest was kept.
    pub spec_digest: Option<String>,
}

/// Which actions to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActionQuery {
    /// Only this source.
    pub source: Option<String>,
    /// Only this state.
    pub state: Option<ActionState>,
    /// Only actions after this one (a page's cursor): ids greater than this, or
    /// with `pinned_first`, after it in that order.
    pub after: Option<i64>,
    /// At most this many.
    pub limit: Option<i64>,
    /// Pinned actions first, then by id; else by id.
    pub pinned_first: bool,
}

/// What an API token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenScope {
    /// Everything: the curators' API (read, hand edits, rollback), pushes to any
    /// source, the tool list.
    Admin,
    /// Pushing specs to its sources only.
    Push,
    /// Reading the tool list (the AI runtime).
    Tools,
    /// A person curating the catalogue, in the console or over the API: reads,
    /// hand edits and the Test button; no pushes, rollbacks, plans applied or
    /// source changes, and no tool list.
    Curator,
}

impl TokenScope {
    /// Lowercase name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Admin => "admin",
            TokenScope::Push => "push",
            TokenScope::Tools => "tools",
            TokenScope::Curator => "curator",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<TokenScope> {
        match s {
            "admin" => Some(TokenScope::Admin),
            "push" => Some(TokenScope::Push),
            "tools" => Some(TokenScope::Tools),
            "curator" => Some(TokenScope::Curator),
            _ => None,
        }
    }
}

/// A token to store: only its hash is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    /// A label for people (`ci-billing`).
    pub name: String,
    /// SHA-256 of the token, hex.
    pub hash: String,
    /// What it may do.
    pub scope: TokenScope,
    /// For push tokens: the sources it may push to.
    pub sources: Vec<String>,
}

/// A stored token (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Id, for revoking.
    pub id: i64,
    /// Label.
    pub name: String,
    /// What it may do.
    pub scope: TokenScope,
    /// For push tokens: its sources.
    pub sources: Vec<String>,
    /// When it was created, in milliseconds since the Unix epoch.
    pub created_at: i64,
    /// When it was revoked, if it was.
    pub revoked_at: Option<i64>,
}

/// A signed-in console session: the token it was opened with (live, not
/// revoked) and the CSRF token its writes must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    /// The token that signed in.
    pub token: TokenRecord,
    /// The CSRF token of the session's forms.
    pub csrf: String,
    /// When it ends, in milliseconds since the Unix epoch.
    pub expires_at: i64,
}

/// A spec as stored: its content hash and bytes.
#[derive(Debug, Clone, Copy)]
pub struct SpecBlob<'a> {
    /// SHA-256 of the bytes, hex.
    pub hash: &'a str,
    /// The spec document.
    pub bytes: &'a [u8],
}

/// The catalogue's storage. Every method is one transaction.
pub trait Store: Send + Sync {
    /// Every source, by name.
    fn sources(&self) -> impl Future<Output = Result<Vec<SourceRecord>>> + Send;

    /// One source.
    fn source(&self, name: &str) -> impl Future<Output = Result<Option<SourceRecord>>> + Send;

    /// Creates the source if it does not exist; updates its kind and location if it does.
    fn ensure_source(
        &self,
        name: &str,
        kind: &str,
        location: &str,
    ) -> impl Future<Output = Result<SourceRecord>> + Send;

    /// Records that the latest attempt on a source succeeded without a change
    /// (`error: None`, with the input hash seen) or failed (`error: Some`).
    fn record_attempt(
        &self,
        name: &str,
        input_hash: Option<&str>,
        error: Option<&str>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Pauses (`true`) or resumes a source; resuming forgets its pending plan.
    /// `None`: no such source.
    fn set_paused(
        &self,
        name: &str,
        paused: bool,
    ) -> impl Future<Output = Result<Option<SourceRecord>>> + Send;

    /// Records the counts of the plan a paused source would apply (`None`: in sync).
    fn record_pending(
        &self,
        name: &str,
        pending: Option<&Counts>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Records the validators a URL source's server answered (`ETag`,
    /// `Last-Modified`), for the next conditional GET.
    fn record_validators(
        &self,
        name: &str,
        etag: Option<&str>,
        last_modified: Option<&str>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Actions, by id.
    fn actions(
        &self,
        query: &ActionQuery,
    ) -> impl Future<Output = Result<Vec<StoredAction>>> + Send;

    /// One action by id.
    fn action(&self, id: i64) -> impl Future<Output = Result<Option<StoredAction>>> + Send;

    /// The active action with this name in effect, else the newest archived one.
    fn action_by_name(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<StoredAction>>> + Send;

    /// Every action of a source, active and archived, without its spec-owned
    /// fields, by id.
    fn action_summaries(
        &self,
        source: &str,
    ) -> impl Future<Output = Result<Vec<ActionSummary>>> + Send;

    /// The spec-owned fields of those of `ids` that are actions of `source`
    /// (an id gone since is left out), by id.
    fn action_specs(
        &self,
        source: &str,
        ids: &[i64],
    ) -> impl Future<Output = Result<Vec<(i64, SpecFields)>>> + Send;

    /// The active actions of every source but `except` whose name in effect is
    /// one of `names`, by name.
    fn name_owners(
        &self,
        except: &str,
        names: &[&str],
    ) -> impl Future<Output = Result<Vec<NameOwner>>> + Send;

    /// Applies a plan as a new revision of its source, in one transaction, under
    /// the source's lock. Refuses a blocked plan, and one whose base revision is
    /// not the source's current one. Returns the revision number.
    fn apply(
        &self,
        plan: &Plan,
        spec: SpecBlob<'_>,
        input_hash: &str,
        applied_by: AppliedBy,
        actor: Option<&str>,
    ) -> impl Future<Output = Result<i64>> + Send;

    /// Edits hand-owned fields of an action whose version is `expected_version`
    /// (any version when `None`), recording each changed field in the audit.
    fn edit_hand(
        &self,
        id: i64,
        expected_version: Option<i64>,
        edit: &HandEdit,
        actor: &str,
    ) -> impl Future<Output = Result<StoredAction>> + Send;

    /// A source's revisions, newest first, without their plans.
    fn revisions(&self, source: &str) -> impl Future<Output = Result<Vec<Revision>>> + Send;

    /// One revision, with its plan.
    fn revision(
        &self,
        source: &str,
        number: i64,
    ) -> impl Future<Output = Result<Option<Revision>>> + Send;

    /// A stored spec's bytes.
    fn spec_body(&self, hash: &str) -> impl Future<Output = Result<Option<Vec<u8>>>> + Send;

    /// Records that a plan for `source` was refused (or, if the last refusal of
    /// that source was the same spec for the same reasons, counts it again).
    fn record_refusal(
        &self,
        source: &str,
        spec_hash: &str,
        reasons: &[String],
        by: AppliedBy,
        actor: Option<&str>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// A source's refusals, newest first.
    fn refusals(&self, source: &str) -> impl Future<Output = Result<Vec<RefusalRecord>>> + Send;

    /// The hand edits of an action, oldest first.
    fn audit(&self, action_id: i64) -> impl Future<Output = Result<Vec<AuditEntry>>> + Send;

    /// Stores a new API token (its hash).
    fn create_token(&self, token: &NewToken) -> impl Future<Output = Result<TokenRecord>> + Send;

    /// The token with this hash, unless it was revoked.
    fn token_by_hash(&self, hash: &str)
    -> impl Future<Output = Result<Option<TokenRecord>>> + Send;

    /// The live token with this hash, and the catalogue's generation, in one
    /// round trip: what every tool-list request needs.
    fn token_and_generation(
        &self,
        hash: &str,
    ) -> impl Future<Output = Result<(Option<TokenRecord>, i64)>> + Send;

    /// Every token, revoked ones included, by id.
    fn tokens(&self) -> impl Future<Output = Result<Vec<TokenRecord>>> + Send;

    /// Revokes a token, ending its console sessions; false if there is no such
    /// live token.
    fn revoke_token(&self, id: i64) -> impl Future<Output = Result<bool>> + Send;

    /// Opens a console session: `hash` is the SHA-256 of the session id (the id
    /// itself is never stored). Expired sessions are deleted on the way.
    fn create_session(
        &self,
        hash: &str,
        token_id: i64,
        csrf: &str,
        expires_at: i64,
    ) -> impl Future<Output = Result<()>> + Send;

    /// The session with this hash, if it has not expired by `now` and its token
    /// is live.
    fn session(
        &self,
        hash: &str,
        now: i64,
    ) -> impl Future<Output = Result<Option<ConsoleSession>>> + Send;

    /// Ends a session (signing out); false if there was none.
    fn delete_session(&self, hash: &str) -> impl Future<Output = Result<bool>> + Send;

    /// A number that every change to actions (apply, hand edit) increases: a
    /// cache of the catalogue built at generation `g` is current while it is `g`.
    fn generation(&self) -> impl Future<Output = Result<i64>> + Send;
}

/// Either backend, chosen at run time from the database URL.
#[derive(Debug, Clone)]
pub enum AnyStore {
    /// SQLite.
    Sqlite(sqlite::SqliteStore),
    /// PostgreSQL.
    Postgres(postgres::PgStore),
}

impl AnyStore {
    /// A consistent copy of a SQLite catalogue in the new file `to`; PostgreSQL
    /// has its own tools for that, which the error names.
    pub async fn backup(&self, to: &std::path::Path) -> Result<()> {
        match self {
            AnyStore::Sqlite(s) => s.backup(to).await,
            AnyStore::Postgres(_) => Err(StoreError::Invalid(
                "the catalogue is in PostgreSQL: back it up with pg_dump (pg_dump --format=custom --file=actionsync.dump DATABASE_URL), which copies one consistent snapshot while serve runs".to_string(),
            )),
        }
    }
}

/// Opens the catalogue at `url` (`sqlite://path`, `sqlite::memory:`, `postgres://…`)
/// and brings its tables up to date. A relative SQLite path is taken relative to
/// `base_dir` (the config file's folder), and the file is created if missing.
pub async fn open(url: &str, base_dir: &std::path::Path) -> Result<AnyStore> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(AnyStore::Postgres(postgres::PgStore::open(url).await?));
    }
    if url.starts_with("sqlite:") {
        return Ok(AnyStore::Sqlite(
            sqlite::SqliteStore::open(url, base_dir).await?,
        ));
    }
    Err(StoreError::Open {
        url: redact(url),
        reason: "use sqlite://path/to/file.db or postgres://user@host/database".to_string(),
    })
}

/// A database URL without its password (in the user part or the query), for
/// messages and logs.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            if parsed.query().is_some() {
                let pairs: Vec<(String, String)> = parsed
                    .query_pairs()
                    .map(|(k, v)| {
                        let secret = k.to_ascii_lowercase().contains("password");
                        (
                            k.into_owned(),
                            if secret {
                                "***".to_string()
                            } else {
                                v.into_owned()
                            },
                        )
                    })
                    .collect();
                parsed.query_pairs_mut().clear().extend_pairs(pairs);
            }
            parsed.to_string()
        }
        // Unparseable: hide everything between the scheme and the host.
        Err(_) => match (url.find("://"), url.rfind('@')) {
            (Some(start), Some(at)) if at > start => {
                format!("{}***{}", &url[..start + 3], &url[at..])
            }
            _ => url.to_string(),
        },
    }
}

macro_rules! delegate {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            AnyStore::Sqlite($store) => $call.await,
            AnyStore::Postgres($store) => $call.await,
        }
    };
}

impl Store for AnyStore {
    async fn sources(&self) -> Result<Vec<SourceRecord>> {
        delegate!(self, s => s.sources())
    }
    async fn source(&self, name: &str) -> Result<Option<SourceRecord>> {
        delegate!(self, s => s.source(name))
    }
    async fn ensure_source(&self, name: &str, kind: &str, location: &str) -> Result<SourceRecord> {
        delegate!(self, s => s.ensure_source(name, kind, location))
    }
    async fn record_attempt(
        &self,
        name: &str,
        input_hash: Option<&str>,
        error: Option<&str>,
    ) -> Result<()> {
        delegate!(self, s => s.record_attempt(name, input_hash, error))
    }
    async fn set_paused(&self, name: &str, paused: bool) -> Result<Option<SourceRecord>> {
        delegate!(self, s => s.set_paused(name, paused))
    }
    async fn record_pending(&self, name: &str, pending: Option<&Counts>) -> Result<()> {
        delegate!(self, s => s.record_pending(name, pending))
    }
    async fn record_validators(
        &self,
        name: &str,
        etag: Option<&str>,
        last_modified: Option<&str>,
    ) -> Result<()> {
        delegate!(self, s => s.record_validators(name, etag, last_modified))
    }
    async fn actions(&self, query: &ActionQuery) -> Result<Vec<StoredAction>> {
        delegate!(self, s => s.actions(query))
    }
    async fn action(&self, id: i64) -> Result<Option<StoredAction>> {
        delegate!(self, s => s.action(id))
    }
    async fn action_by_name(&self, name: &str) -> Result<Option<StoredAction>> {
        delegate!(self, s => s.action_by_name(name))
    }
    async fn action_summaries(&self, source: &str) -> Result<Vec<ActionSummary>> {
        delegate!(self, s => s.action_summaries(source))
    }
    async fn action_specs(&self, source: &str, ids: &[i64]) -> Result<Vec<(i64, SpecFields)>> {
        delegate!(self, s => s.action_specs(source, ids))
    }
    async fn name_owners(&self, except: &str, names: &[&str]) -> Result<Vec<NameOwner>> {
        delegate!(self, s => s.name_owners(except, names))
    }
    async fn apply(
        &self,
        plan: &Plan,
        spec: SpecBlob<'_>,
        input_hash: &str,
        applied_by: AppliedBy,
        actor: Option<&str>,
    ) -> Result<i64> {
        delegate!(self, s => s.apply(plan, spec, input_hash, applied_by, actor))
    }
    async fn edit_hand(
        &self,
        id: i64,
        expected_version: Option<i64>,
        edit: &HandEdit,
        actor: &str,
    ) -> Result<StoredAction> {
        delegate!(self, s => s.edit_hand(id, expected_version, edit, actor))
    }
    async fn revisions(&self, source: &str) -> Result<Vec<Revision>> {
        delegate!(self, s => s.revisions(source))
    }
    async fn revision(&self, source: &str, number: i64) -> Result<Option<Revision>> {
        delegate!(self, s => s.revision(source, number))
    }
    async fn spec_body(&self, hash: &str) -> Result<Option<Vec<u8>>> {
        delegate!(self, s => s.spec_body(hash))
    }
    async fn record_refusal(
        &self,
        source: &str,
        spec_hash: &str,
        reasons: &[String],
        by: AppliedBy,
        actor: Option<&str>,
    ) -> Result<()> {
        delegate!(self, s => s.record_refusal(source, spec_hash, reasons, by, actor))
    }
    async fn refusals(&self, source: &str) -> Result<Vec<RefusalRecord>> {
        delegate!(self, s => s.refusals(source))
    }
    async fn audit(&self, action_id: i64) -> Result<Vec<AuditEntry>> {
        delegate!(self, s => s.audit(action_id))
    }
    async fn create_token(&self, token: &NewToken) -> Result<TokenRecord> {
        delegate!(self, s => s.create_token(token))
    }
    async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>> {
        delegate!(self, s => s.token_by_hash(hash))
    }
    async fn token_and_generation(&self, hash: &str) -> Result<(Option<TokenRecord>, i64)> {
        delegate!(self, s => s.token_and_generation(hash))
    }
    async fn tokens(&self) -> Result<Vec<TokenRecord>> {
        delegate!(self, s => s.tokens())
    }
    async fn revoke_token(&self, id: i64) -> Result<bool> {
        delegate!(self, s => s.revoke_token(id))
    }
    async fn create_session(
        &self,
        hash: &str,
        token_id: i64,
        csrf: &str,
        expires_at: i64,
    ) -> Result<()> {
        delegate!(self, s => s.create_session(hash, token_id, csrf, expires_at))
    }
    async fn session(&self, hash: &str, now: i64) -> Result<Option<ConsoleSession>> {
        delegate!(self, s => s.session(hash, now))
    }
    async fn delete_session(&self, hash: &str) -> Result<bool> {
        delegate!(self, s => s.delete_session(hash))
    }
    async fn generation(&self) -> Result<i64> {
        delegate!(self, s => s.generation())
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact("postgres://app:s3cret@db/cat"),
            "postgres://app:***@db/cat"
        );
        assert!(
            !redact("postgres://app@db/cat?password=s3cret&sslmode=require").contains("s3cret")
        );
        assert!(
            redact("postgres://app@db/cat?password=s3cret&sslmode=require")
                .contains("sslmode=require")
        );
        assert!(!redact("postgres://app:p/a#ss@db/cat").contains("p/a#ss"));
        assert_eq!(redact("sqlite://actionsync.db"), "sqlite://actionsync.db");
    }
}
