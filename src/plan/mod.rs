//! Plans: what applying a conversion would change in one source's catalogue. Pure.
//!
//! The rules (DESIGN.md, "Plan and apply"):
//! - A draft matches the stored action with the same key; else, a rename: a stored
//!   action whose operation has the same method and path (the operationId changed,
//!   or the operation gained or lost one); else it is created.
//! - Only spec-owned fields change, field by field. Hand-owned fields are never
//!   touched by a plan. A pinned field whose spec value changed is *drift*: the
//!   stored spec value follows the spec, the pin stays in effect.
//! - An operation left out on purpose (filter, `x-actionsync-ignore`, unsupported
//!   method) or gone from the spec archives its action (`prune` deletes it). One
//!   that failed to convert is *kept* as it is: it is still in the spec.
//! - An archived action whose operation returns is restored, with everything set
//!   by hand.
//! - Guards: archiving or deleting more than `max_removed_share` of the source's
//!   active actions, or a spec with zero operations, is refused unless forced.
//!   Lint errors (names, descriptions, a name another source uses, http or missing
//!   servers) are refused always: applying them would break the catalogue.
//! - Applying a plan and planning the same conversion again gives an empty plan.

mod render;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::action::{
    ActionDraft, ActionState, HandFields, Origin, SPEC_FIELDS, SkipKind, SpecFields, StoredAction,
};
use crate::convert::Conversion;
pub use crate::convert::naming::{default_name_prefix, prefixed_name};
use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::{self, Subject};

pub use render::{markdown, text};

/// Default share of a source's active actions a plan may archive or delete.
pub const DEFAULT_MAX_REMOVED_SHARE: f64 = 0.5;

/// What the caller decided about a plan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanOptions {
    /// Delete removed actions instead of archiving them.
    pub prune: bool,
    /// Pass the guards (not lint errors).
    pub force: bool,
    /// Largest share (0 to 1) of active actions a plan may remove without `force`.
    pub max_removed_share: f64,
    /// One tool's token budget: a created, updated or restored action over it is a
    /// warning (`budget.tool_tokens`).
    pub tool_tokens: usize,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            prune: false,
            force: false,
            max_removed_share: DEFAULT_MAX_REMOVED_SHARE,
            tool_tokens: lint::Budget::default().tool_tokens,
        }
    }
}

/// An active action of another source: its name is taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameOwner {
    /// The name in effect.
    pub name: String,
    /// Its source.
    pub source: String,
    /// Its key.
    pub key: String,
}

/// Everything a plan is made from.
#[derive(Debug, Clone, Copy)]
pub struct PlanInput<'a> {
    /// The source being planned.
    pub source: &'a str,
    /// Hash of the spec (and the options it was converted with).
    pub spec_hash: &'a str,
    /// The source's revision number the catalogue is at (0: never applied).
    pub base_revision: i64,
    /// Every action of the source, active and archived.
    pub current: &'a [CurrentAction],
    /// Active actions of the other sources: at least those whose name is one the
    /// plan may write (a draft's, or a pinned one).
    pub others: &'a [NameOwner],
    /// The conversion of the new spec.
    pub conversion: &'a Conversion,
    /// Prune, force, guard.
    pub options: PlanOptions,
    /// What a name another source has is prefixed with ([`default_name_prefix`]
    /// of the source's name unless the source sets `name_prefix`).
    pub name_prefix: &'a str,
}

/// A change the plan leaves out because its name cannot be resolved: the rest of
/// the plan applies, and this action stays as it is (or is not created).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldBack {
    /// What the change would have done.
    pub kind: ChangeKind,
    /// The stored action's id; `None` for a creation.
    pub id: Option<i64>,
    /// Its key.
    pub key: String,
    /// The name it would have had.
    pub name: String,
    /// Why, and what to do.
    pub reason: String,
}

/// A stored action as a plan reads it: its spec-owned fields are decoded only
/// where they may differ from its draft's (see [`StoredSpec`]).
#[derive(Debug, Clone, PartialEq)]
pub struct CurrentAction {
    /// Stable id.
    pub id: i64,
    /// Identity within the source.
    pub key: String,
    /// The name in effect: a pinned name, else the spec's.
    pub name: String,
    /// Active or archived.
    pub state: ActionState,
    /// Hand-owned fields (pins and magic fields matter to a plan).
    pub hand: HandFields,
    /// Its spec-owned fields, or that they equal its draft's.
    pub spec: StoredSpec,
}

/// A stored action's spec-owned fields, as far as a plan needs them.
#[derive(Debug, Clone, PartialEq)]
pub enum StoredSpec {
    /// Decoded: compared with the draft field by field.
    Decoded(Box<SpecFields>),
    /// Not read: the stored [`spec_digest`] equals that of the draft with the same
    /// key, so every compared field is the same as the draft's.
    SameAsDraft,
}

impl CurrentAction {
    /// The stored spec-owned fields, when they were read.
    pub fn decoded(&self) -> Option<&SpecFields> {
        match &self.spec {
            StoredSpec::Decoded(spec) => Some(spec),
            StoredSpec::SameAsDraft => None,
        }
    }
}

impl From<StoredAction> for CurrentAction {
    fn from(stored: StoredAction) -> CurrentAction {
        CurrentAction {
            id: stored.id,
            key: stored.key,
            name: stored.name,
            state: stored.state,
            hand: stored.hand,
            spec: StoredSpec::Decoded(Box::new(stored.spec)),
        }
    }
}

/// The digest of the spec-owned fields a plan compares (every field but
/// `operation`): XXH3-128, hex, of their JSON (`None` if they do not serialise,
/// which they always do). Equal digests mean equal fields, so a plan need not
/// read the stored ones; different digests mean only that the fields must be
/// compared (a map's keys in another order are the same schema). Not a
/// cryptographic hash: it tells a spec's versions apart, and whoever could
/// craft a collision writes the spec anyway.
pub fn spec_digest(spec: &SpecFields) -> Option<String> {
    // A version first, so a later change of what is compared invalidates old digests.
    let mut hashed = crate::json_text::HashWriter::new();
    std::io::Write::write_all(&mut hashed, DIGEST_VERSION).ok()?;
    // Serialising these types does not fail; if it did, no digest means a full compare.
    crate::json_text::to_writer(&mut hashed, &Compared::of(spec)).ok()?;
    Some(format!("{:032x}", hashed.finish()))
}

/// The [`spec_digest`] of each of `specs`, in order, on every core: a re-plan
/// of a large spec digests every draft, and that was most of its plan step.
pub fn spec_digests(specs: &[&SpecFields]) -> Vec<Option<String>> {
    specs
        .par_iter()
        .with_min_len(PER_TASK)
        .map(|s| spec_digest(s))
        .collect()
}

/// The fewest actions a core is handed at a time: below that, handing work
/// over costs more than it saves.
const PER_TASK: usize = 32;

/// What a [`spec_digest`] hashes first: a change of what is compared changes it.
const DIGEST_VERSION: &[u8] = b"spec-digest/1\0";

/// The spec-owned fields a [`spec_digest`] covers, serialised as [`SpecFields`]
/// serialises them, in the same order, without `operation` (its last field).
#[derive(Serialize)]
struct Compared<'a> {
    name: &'a str,
    description: &'a str,
    method: crate::action::Method,
    url: &'a str,
    parameters: &'a [crate::action::Parameter],
    headers: &'a [crate::action::StaticHeader],
    body: &'a Option<crate::action::Body>,
    auth: &'a [crate::action::AuthRequirement],
}

impl<'a> Compared<'a> {
    fn of(spec: &'a SpecFields) -> Compared<'a> {
        Compared {
            name: &spec.name,
            description: &spec.description,
            method: spec.method,
            url: &spec.url,
            parameters: &spec.parameters,
            headers: &spec.headers,
            body: &spec.body,
            auth: &spec.auth,
        }
    }
}

/// An action's spec-owned fields as the catalogue stores them (the JSON of
/// [`SpecFields`]) and their [`spec_digest`], from one serialisation instead of
/// two: the digest's text is the stored text without `operation`, which comes
/// last. `None` for the digest (a full compare at the next plan) only if the
/// fields do not serialise, which they always do.
pub fn stored_spec(spec: &SpecFields) -> (String, Option<String>) {
    let fallback = || {
        let json = serde_json::to_string(spec).unwrap_or_else(|_| "null".to_string());
        (json, None)
    };
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(DIGEST_VERSION);
    let Ok(mut json) = crate::json_text::to_vec(&Compared::of(spec)) else {
        return fallback();
    };
    hasher.update(&json);
    let digest = format!("{:032x}", hasher.digest128());
    // `{…compared…}` becomes `{…compared…,"operation":{…}}`.
    if json.pop() != Some(b'}') {
        return fallback();
    }
    json.extend_from_slice(b",\"operation\":");
    if crate::json_text::to_writer(&mut json, &spec.operation).is_err() {
        return fallback();
    }
    json.push(b'}');
    match String::from_utf8(json) {
        Ok(json) => (json, Some(digest)),
        Err(_) => fallback(),
    }
}

/// What happens to one action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// A new action.
    Create,
    /// Spec-owned fields change (a rename is an update whose key changes).
    Update,
    /// The operation left the spec: disabled and kept.
    Archive,
    /// The operation left the spec and `prune` was asked for: gone.
    Delete,
    /// An archived action's operation is back.
    Restore,
}

/// One spec-owned field's change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// Field name (`description`, or `key` for a rename).
    pub field: String,
    /// Value before (`null` when created).
    pub old: FieldValue,
    /// Value after.
    pub new: FieldValue,
    /// The field is pinned: the stored spec value changes, the pin stays in effect.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub pinned: bool,
}

/// A field's value in a [`FieldChange`]: JSON, or a new action's field read from
/// its spec-owned fields. A first apply records every field of every action it
/// creates, and copying each into JSON, parameters' and body's schemas and all,
/// was a twentieth of a first apply of Microsoft Graph: a created action's
/// fields are serialised from the fields themselves when the plan is written
/// (the same text), and made into JSON only if something reads them as JSON.
#[derive(Debug, Clone)]
pub struct FieldValue(FieldRepr);

#[derive(Debug, Clone)]
enum FieldRepr {
    Json(Value),
    Spec {
        spec: Arc<SpecFields>,
        field: &'static str,
        json: OnceLock<Value>,
    },
}

impl FieldValue {
    /// The field `field` (one of [`SPEC_FIELDS`]) of `spec`.
    fn of_spec(spec: &Arc<SpecFields>, field: &'static str) -> FieldValue {
        FieldValue(FieldRepr::Spec {
            spec: Arc::clone(spec),
            field,
            json: OnceLock::new(),
        })
    }
}

impl From<Value> for FieldValue {
    fn from(value: Value) -> FieldValue {
        FieldValue(FieldRepr::Json(value))
    }
}

impl std::ops::Deref for FieldValue {
    type Target = Value;

    fn deref(&self) -> &Value {
        match &self.0 {
            FieldRepr::Json(value) => value,
            FieldRepr::Spec { spec, field, json } => json.get_or_init(|| spec.field(field)),
        }
    }
}

impl PartialEq for FieldValue {
    fn eq(&self, other: &FieldValue) -> bool {
        **self == **other
    }
}

impl Serialize for FieldValue {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            FieldRepr::Json(value) => value.serialize(serializer),
            FieldRepr::Spec { json, .. } if json.get().is_some() => (**self).serialize(serializer),
            FieldRepr::Spec { spec, field, .. } => spec.serialize_field(field, serializer),
        }
    }
}

impl<'de> Deserialize<'de> for FieldValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<FieldValue, D::Error> {
        Value::deserialize(deserializer).map(FieldValue::from)
    }
}

/// One action's change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// What happens.
    pub kind: ChangeKind,
    /// The action's id; `None` for a new one.
    pub id: Option<i64>,
    /// The key after the change.
    pub key: String,
    /// The key before, for a rename.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub previous_key: Option<String>,
    /// The name in effect after the change.
    pub name: String,
    /// Field-level changes (every field, for a creation).
    pub fields: Vec<FieldChange>,
    /// The new spec-owned fields (create, update, restore), for apply.
    #[serde(skip)]
    pub spec: Option<SpecFields>,
    /// The initial hand-owned fields of a new action, for apply.
    #[serde(skip)]
    pub hand: Option<HandFields>,
}

/// A pinned field whose spec value changed underneath.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    /// Action id.
    pub id: i64,
    /// Name in effect.
    pub name: String,
    /// The pinned field.
    pub field: String,
    /// The pinned value, which stays in effect.
    pub pinned: Value,
    /// The spec's value before.
    pub spec_old: Value,
    /// The spec's value now.
    pub spec_new: Value,
}

/// A magic field whose parameter or header is not in the spec (kept; it takes
/// effect again when the parameter returns).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Orphan {
    /// Action id.
    pub id: i64,
    /// Name in effect.
    pub name: String,
    /// The parameter or header the magic field fills.
    pub field: String,
    /// The conversation context path it is filled from.
    pub context: String,
}

/// An action whose operation is still in the spec but failed to convert: left as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kept {
    /// Action id.
    pub id: i64,
    /// Name in effect.
    pub name: String,
    /// Key.
    pub key: String,
    /// Why the operation did not convert.
    pub reason: String,
}

/// Why a plan may not be applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// `removal-guard`, `zero-operations` (both overridable with force) or `lint`.
    pub code: String,
    /// What is wrong and what to do.
    pub message: String,
    /// Whether `force` lets the plan through.
    pub overridable: bool,
}

/// How many actions each kind of change touches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// New actions.
    pub created: usize,
    /// Actions whose spec-owned fields change (renames included).
    pub updated: usize,
    /// Actions archived.
    pub archived: usize,
    /// Actions deleted (`prune`).
    pub deleted: usize,
    /// Archived actions restored.
    pub restored: usize,
    /// Active actions left as they are.
    pub unchanged: usize,
}

/// The plan for one source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Source name.
    pub source: String,
    /// Hash of the spec the plan comes from.
    pub spec_hash: String,
    /// The source's revision the plan was made against; apply refuses a plan whose
    /// base is no longer current.
    pub base_revision: i64,
    /// Counts by kind of change.
    pub counts: Counts,
    /// The changes, in spec order, then removals.
    pub changes: Vec<Change>,
    /// Pinned fields whose spec value changed.
    pub drift: Vec<Drift>,
    /// Magic fields without their parameter.
    pub orphans: Vec<Orphan>,
    /// Actions left as they are because their operation failed to convert.
    pub kept: Vec<Kept>,
    /// Changes left out because their name cannot be resolved (a pinned name
    /// another source has, an invalid name).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held_back: Vec<HeldBack>,
    /// Conversion and lint findings (info left out).
    pub diagnostics: Vec<Diagnostic>,
    /// Why it may not be applied.
    pub refusals: Vec<Refusal>,
    /// Whether the guards were overridden.
    pub forced: bool,
}

impl Plan {
    /// Whether applying it would change nothing.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Whether it may not be applied (a lint error, or a guard that was not forced).
    pub fn is_blocked(&self) -> bool {
        self.refusals
            .iter()
            .any(|r| !(r.overridable && self.forced))
    }
}

/// The JSON a revision records of `plan` as applied: the plan, with each
/// change's id as `ids` has it (the new actions' ids) and its name as `names`
/// has it where `Some` (the name in effect, should a pin have won). The same
/// text as the plan so changed would give, without copying the plan: its
/// field changes are most of its bytes. Written to `writer` as it is made (the
/// store compresses it on the way).
pub fn write_applied<W: std::io::Write>(
    writer: W,
    plan: &Plan,
    ids: &[Option<i64>],
    names: &[Option<String>],
) -> Result<(), crate::json_text::Error> {
    #[derive(Serialize)]
    struct AppliedPlan<'a> {
        source: &'a str,
        spec_hash: &'a str,
        base_revision: i64,
        counts: &'a Counts,
        changes: Vec<AppliedChange<'a>>,
        drift: &'a [Drift],
        orphans: &'a [Orphan],
        kept: &'a [Kept],
        #[serde(skip_serializing_if = "<[_]>::is_empty")]
        held_back: &'a [HeldBack],
        diagnostics: &'a [Diagnostic],
        refusals: &'a [Refusal],
        forced: bool,
    }
    #[derive(Serialize)]
    struct AppliedChange<'a> {
        kind: ChangeKind,
        id: Option<i64>,
        key: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        previous_key: Option<&'a str>,
        name: &'a str,
        fields: &'a [FieldChange],
    }
    let applied = AppliedPlan {
        source: &plan.source,
        spec_hash: &plan.spec_hash,
        base_revision: plan.base_revision,
        counts: &plan.counts,
        changes: plan
            .changes
            .iter()
            .enumerate()
            .map(|(i, c)| AppliedChange {
                kind: c.kind,
                id: ids.get(i).copied().unwrap_or(c.id),
                key: &c.key,
                previous_key: c.previous_key.as_deref(),
                name: names.get(i).and_then(|n| n.as_deref()).unwrap_or(&c.name),
                fields: &c.fields,
            })
            .collect(),
        drift: &plan.drift,
        orphans: &plan.orphans,
        kept: &plan.kept,
        held_back: &plan.held_back,
        diagnostics: &plan.diagnostics,
        refusals: &plan.refusals,
        forced: plan.forced,
    };
    crate::json_text::to_writer(writer, &applied)
}

/// Conversion diagnostics that make a plan unsafe to apply.
const BLOCKING_CODES: &[&str] = &["http-url", "no-server", "relative-server", "bad-server"];

/// Makes the plan. See the module docs for the rules.
pub fn plan(input: PlanInput<'_>) -> Plan {
    let mut matched: HashSet<i64> = HashSet::new();
    let mut drift = Vec::new();
    let mut changes = draft_changes(&input, &mut matched, &mut drift);
    let (kept, removals) = leftover_changes(&input, &matched);
    changes.extend(removals);
    let mut name_findings = Vec::new();
    let held_back = resolve_names(&input, &mut changes, &mut name_findings);

    let active_before = input
        .current
        .iter()
        .filter(|a| a.state == ActionState::Active)
        .count();
    let removed_active = removed_active(input.current, &changes);
    let counts = counts(&changes, active_before, removed_active);
    let orphans = orphans(&input, &changes);

    // Info findings stay with `convert`: a plan shows what a person may need to act on.
    let mut diagnostics: Vec<Diagnostic> = input
        .conversion
        .diagnostics
        .iter()
        .filter(|d| d.severity != Severity::Info)
        .cloned()
        .collect();
    diagnostics.append(&mut name_findings);
    let mut refusals = Vec::new();
    lint_plan(&input, &mut changes, &mut diagnostics, &mut refusals);
    guard_plan(
        &input,
        &changes,
        active_before,
        removed_active,
        &mut refusals,
    );

    Plan {
        source: input.source.to_string(),
        spec_hash: input.spec_hash.to_string(),
        base_revision: input.base_revision,
        counts,
        changes,
        drift,
        orphans,
        kept,
        held_back,
        diagnostics,
        refusals,
        forced: input.options.force,
    }
}

/// What each draft changes, in spec order: the stored action with its key, else
/// one it was renamed from, else a new action. Drafts that change nothing are
/// left out; every stored action they match goes into `matched`.
fn draft_changes(
    input: &PlanInput<'_>,
    matched: &mut HashSet<i64>,
    drift: &mut Vec<Drift>,
) -> Vec<Change> {
    let drafts = &input.conversion.actions;
    let mut by_key: HashMap<&str, &CurrentAction> =
        input.current.iter().map(|a| (a.key.as_str(), a)).collect();
    let mut changes = Vec::new();

    // First pass: same key. Second: renames among what is left.
    let mut unmatched_drafts = Vec::new();
    for (index, draft) in drafts.iter().enumerate() {
        match by_key.remove(draft.key.as_str()) {
            Some(stored) => {
                matched.insert(stored.id);
                changes.push((
                    index,
                    stored_change(stored, &draft.spec, &draft.key, input.name_prefix, drift),
                ));
            }
            None => unmatched_drafts.push(index),
        }
    }
    let mut renamable = rename_candidates(by_key.into_values());
    for index in unmatched_drafts {
        let draft = &drafts[index];
        let renamed = renamable
            .get_mut(&operation_of(&draft.spec.operation))
            .and_then(|c| {
                if c.is_empty() {
                    None
                } else {
                    Some(c.remove(0))
                }
            });
        let change = match renamed {
            Some(stored) => {
                matched.insert(stored.id);
                stored_change(stored, &draft.spec, &draft.key, input.name_prefix, drift)
            }
            None => Some(create(draft)),
        };
        changes.push((index, change));
    }
    changes.sort_by_key(|(index, _)| *index);
    changes.into_iter().filter_map(|(_, c)| c).collect()
}

/// An operation's method (lower-case) and path: what a rename keeps.
fn operation_of(origin: &Origin) -> (String, String) {
    (origin.method.to_ascii_lowercase(), origin.path.clone())
}

/// Stored actions no draft has by key, by their operation: the actions a draft
/// may have been renamed from, the one to prefer first. (Their spec-owned fields
/// are always read: only a draft with the same key can vouch for them.)
fn rename_candidates<'a>(
    unmatched: impl Iterator<Item = &'a CurrentAction>,
) -> HashMap<(String, String), Vec<&'a CurrentAction>> {
    let mut by_operation: HashMap<(String, String), Vec<&CurrentAction>> = HashMap::new();
    for stored in unmatched {
        let Some(spec) = stored.decoded() else {
            continue;
        };
        by_operation
            .entry(operation_of(&spec.operation))
            .or_default()
            .push(stored);
    }
    for candidates in by_operation.values_mut() {
        // Prefer an active action, then the newest.
        candidates.sort_by_key(|a| (a.state != ActionState::Active, -a.id));
    }
    by_operation
}

/// Operations still in the spec that failed to convert: their actions are kept.
struct Failed<'a> {
    /// Failed operations' keys, with the reason.
    by_key: HashMap<&'a str, &'a str>,
    /// Failed operations' method (lower-case) and path, for an action keyed by an
    /// operationId the spec no longer gives.
    by_operation: HashSet<(String, &'a str)>,
}

impl<'a> Failed<'a> {
    /// The failed operations of a conversion.
    fn of(conversion: &'a Conversion) -> Failed<'a> {
        let failed = || {
            conversion
                .skipped
                .iter()
                .filter(|s| s.kind == SkipKind::Failed)
        };
        Failed {
            by_key: failed()
                .map(|s| (s.key.as_str(), s.reason.as_str()))
                .collect(),
            by_operation: failed()
                .map(|s| (s.method.to_ascii_lowercase(), s.path.as_str()))
                .collect(),
        }
    }

    /// Why `stored`'s operation failed to convert, if it did.
    fn reason(&self, stored: &CurrentAction) -> Option<&'a str> {
        self.by_key.get(stored.key.as_str()).copied().or_else(|| {
            let op = &stored.decoded()?.operation;
            self.by_operation
                .contains(&(op.method.to_ascii_lowercase(), op.path.as_str()))
                .then_some("the operation failed to convert")
        })
    }
}

/// What becomes of the stored actions no draft matched: operations gone, left out,
/// or failed. Active ones whose operation failed are kept; the others are archived
/// (deleted with `prune`), in id order.
fn leftover_changes(input: &PlanInput<'_>, matched: &HashSet<i64>) -> (Vec<Kept>, Vec<Change>) {
    let failed = Failed::of(input.conversion);
    let mut kept = Vec::new();
    let mut removals = Vec::new();
    let mut leftovers: Vec<&CurrentAction> = input
        .current
        .iter()
        .filter(|a| !matched.contains(&a.id))
        .collect();
    leftovers.sort_by_key(|a| a.id);
    for stored in leftovers {
        if let Some(reason) = failed.reason(stored) {
            if stored.state == ActionState::Active {
                kept.push(Kept {
                    id: stored.id,
                    name: stored.name.clone(),
                    key: stored.key.clone(),
                    reason: reason.to_string(),
                });
            }
            continue;
        }
        let kind = match (input.options.prune, stored.state) {
            (true, _) => ChangeKind::Delete,
            (false, ActionState::Active) => ChangeKind::Archive,
            (false, ActionState::Archived) => continue,
        };
        removals.push(Change {
            kind,
            id: Some(stored.id),
            key: stored.key.clone(),
            previous_key: None,
            name: stored.name.clone(),
            fields: Vec::new(),
            spec: None,
            hand: None,
        });
    }
    (kept, removals)
}

/// Removals of actions that were active: the guard's numerator, and with the
/// updates, what is not unchanged.
fn removed_active(current: &[CurrentAction], changes: &[Change]) -> usize {
    let active: HashSet<i64> = current
        .iter()
        .filter(|a| a.state == ActionState::Active)
        .map(|a| a.id)
        .collect();
    changes
        .iter()
        .filter(|c| matches!(c.kind, ChangeKind::Archive | ChangeKind::Delete))
        .filter(|c| c.id.is_some_and(|id| active.contains(&id)))
        .count()
}

/// How many actions each kind of change touches, and how many active ones none does.
fn counts(changes: &[Change], active_before: usize, removed_active: usize) -> Counts {
    let mut counts = Counts::default();
    for change in changes {
        match change.kind {
            ChangeKind::Create => counts.created += 1,
            ChangeKind::Update => counts.updated += 1,
            ChangeKind::Archive => counts.archived += 1,
            ChangeKind::Delete => counts.deleted += 1,
            ChangeKind::Restore => counts.restored += 1,
        }
    }
    counts.unchanged = active_before.saturating_sub(counts.updated + removed_active);
    counts
}

/// Magic fields without their parameter, over every action active afterwards.
fn orphans(input: &PlanInput<'_>, changes: &[Change]) -> Vec<Orphan> {
    let by_id: HashMap<i64, &Change> = changes.iter().filter_map(|c| Some((c.id?, c))).collect();
    let drafts: HashMap<&str, &SpecFields> = input
        .conversion
        .actions
        .iter()
        .map(|d| (d.key.as_str(), &d.spec))
        .collect();
    let mut orphans = Vec::new();
    for stored in input.current {
        if stored.hand.magic_fields.is_empty() {
            continue;
        }
        let change = by_id.get(&stored.id);
        let active_after = match change {
            Some(c) => matches!(c.kind, ChangeKind::Update | ChangeKind::Restore),
            None => stored.state == ActionState::Active,
        };
        if !active_after {
            continue;
        }
        // The spec-owned fields afterwards: the change's, else the stored ones,
        // else (not read) the draft's, which are the same.
        let spec = change
            .and_then(|c| c.spec.as_ref())
            .or_else(|| stored.decoded())
            .or_else(|| drafts.get(stored.key.as_str()).copied());
        let Some(spec) = spec else {
            continue;
        };
        for (field, context) in &stored.hand.magic_fields {
            if !spec.fills(field) {
                orphans.push(Orphan {
                    id: stored.id,
                    name: stored.name.clone(),
                    field: field.clone(),
                    context: context.clone(),
                });
            }
        }
    }
    orphans
}

/// The change (if any) that brings `stored` to `spec` under `key`.
fn stored_change(
    stored: &CurrentAction,
    spec: &SpecFields,
    key: &str,
    name_prefix: &str,
    drift: &mut Vec<Drift>,
) -> Option<Change> {
    let mut fields = Vec::new();
    if stored.key != key {
        fields.push(FieldChange {
            field: "key".to_string(),
            old: Value::String(stored.key.clone()).into(),
            new: Value::String(key.to_string()).into(),
            pinned: false,
        });
    }
    // Not read: the same as the draft's, so no field changes and no drift.
    if let Some(old_spec) = stored.decoded() {
        fields.extend(field_changes(stored, old_spec, spec, drift));
    }
    let kind = match stored.state {
        ActionState::Archived => ChangeKind::Restore,
        ActionState::Active if fields.is_empty() => {
            // The operation's place in the spec may have moved (tags, pointer):
            // not a change anyone sees, and not worth a revision.
            return None;
        }
        ActionState::Active => ChangeKind::Update,
    };
    let name = match stored.hand.pins.get("name").and_then(Value::as_str) {
        Some(pinned) => pinned.to_string(),
        // Once prefixed, a name stays: tools and people know it by that name.
        None if stored.name == prefixed_name(name_prefix, &spec.name) => stored.name.clone(),
        None => spec.name.clone(),
    };
    Some(Change {
        kind,
        id: Some(stored.id),
        key: key.to_string(),
        previous_key: (stored.key != key).then(|| stored.key.clone()),
        name,
        fields,
        spec: Some(spec.clone()),
        hand: None,
    })
}

/// The spec-owned fields that differ between `old_spec` (stored) and `new_spec`,
/// each pinned one also a drift.
fn field_changes(
    stored: &CurrentAction,
    old_spec: &SpecFields,
    new_spec: &SpecFields,
    drift: &mut Vec<Drift>,
) -> Vec<FieldChange> {
    let mut fields = Vec::new();
    for field in SPEC_FIELDS {
        if old_spec.same_field(new_spec, field) {
            continue;
        }
        let (old, new) = (old_spec.field(field), new_spec.field(field));
        let pinned = stored.hand.pins.get(field);
        if let Some(pinned) = pinned {
            drift.push(Drift {
                id: stored.id,
                name: stored.name.clone(),
                field: field.to_string(),
                pinned: pinned.clone(),
                spec_old: old.clone(),
                spec_new: new.clone(),
            });
        }
        fields.push(FieldChange {
            field: field.to_string(),
            old: old.into(),
            new: new.into(),
            pinned: pinned.is_some(),
        });
    }
    fields
}

/// The change that creates a draft's action, every field new.
fn create(draft: &ActionDraft) -> Change {
    let spec = &draft.spec;
    let shared = Arc::new(spec.clone());
    let fields = SPEC_FIELDS
        .iter()
        .map(|field| FieldChange {
            field: field.to_string(),
            old: Value::Null.into(),
            new: FieldValue::of_spec(&shared, field),
            pinned: draft.hand.pins.contains_key(*field),
        })
        .collect();
    let name = draft
        .hand
        .pins
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or(&spec.name)
        .to_string();
    Change {
        kind: ChangeKind::Create,
        id: None,
        key: draft.key.clone(),
        previous_key: None,
        name,
        fields,
        spec: Some(spec.clone()),
        hand: Some(draft.hand.clone()),
    }
}

/// Names in effect after the plan but for the actions it writes, each with its
/// source and key: the other sources' actions, and this source's active ones the
/// plan neither changes nor removes.
fn untouched_owners(
    input: &PlanInput<'_>,
    changes: &[Change],
) -> HashMap<String, (String, String)> {
    let touched: HashSet<i64> = changes.iter().filter_map(|c| c.id).collect();
    let mut owners: HashMap<String, (String, String)> = input
        .others
        .iter()
        .map(|o| (o.name.clone(), (o.source.clone(), o.key.clone())))
        .collect();
    for stored in input.current {
        if stored.state == ActionState::Active && !touched.contains(&stored.id) {
            owners.insert(
                stored.name.clone(),
                (input.source.to_string(), stored.key.clone()),
            );
        }
    }
    owners
}

/// Makes the name of every action the plan writes unique across the catalogue.
/// A name another source (or an earlier action of this plan) has is prefixed
/// with the source's prefix, with a warning; what cannot be resolved that way (a
/// pinned name, a prefixed name that is taken too or not a valid name) is held
/// back: that change leaves the plan, the rest applies.
fn resolve_names(
    input: &PlanInput<'_>,
    changes: &mut Vec<Change>,
    findings: &mut Vec<Diagnostic>,
) -> Vec<HeldBack> {
    let mut owners = untouched_owners(input, changes);
    let current_by_id: HashMap<i64, &CurrentAction> =
        input.current.iter().map(|a| (a.id, a)).collect();
    let mut held_back = Vec::new();
    let mut kept = Vec::with_capacity(changes.len());
    for mut change in changes.drain(..) {
        let (Some(spec), true) = (
            change.spec.as_ref(),
            matches!(
                change.kind,
                ChangeKind::Create | ChangeKind::Update | ChangeKind::Restore
            ),
        ) else {
            kept.push(change);
            continue;
        };
        let hand = match change.id.and_then(|id| current_by_id.get(&id)) {
            Some(stored) => &stored.hand,
            None => match &change.hand {
                Some(hand) => hand,
                None => {
                    kept.push(change);
                    continue;
                }
            },
        };
        let pinned = hand.pins.get("name").and_then(Value::as_str).is_some();
        let hold = |change: &Change, reason: String| HeldBack {
            kind: change.kind,
            id: change.id,
            key: change.key.clone(),
            name: change.name.clone(),
            reason,
        };
        if !crate::convert::naming::is_valid_name(&change.name) {
            let reason = format!(
                "`{}` is not a valid tool name (5 to 64 characters of a-z, 0-9 and _); pin another name (actionsync actions set --pin name=…) or fix the spec",
                change.name
            );
            held_back.push(hold(&change, reason));
            continue;
        }
        let Some((source, key)) = owners.get(&change.name).cloned() else {
            owners.insert(
                change.name.clone(),
                (input.source.to_string(), change.key.clone()),
            );
            kept.push(change);
            continue;
        };
        let taken = format!(
            "the name `{}` is `{key}`'s in source `{source}`",
            change.name
        );
        if pinned {
            let reason = format!(
                "{taken}, and it is pinned here: pin another name (actionsync actions set --pin name=…)"
            );
            held_back.push(hold(&change, reason));
            continue;
        }
        let candidate = prefixed_name(input.name_prefix, &spec.name);
        if !crate::convert::naming::is_valid_name(&candidate) || owners.contains_key(&candidate) {
            let reason = format!(
                "{taken}, and `{candidate}` is {}: pin a name (actionsync actions set --pin name=…), or set the source's name_prefix",
                if owners.contains_key(&candidate) {
                    "taken too"
                } else {
                    "not a valid tool name"
                }
            );
            held_back.push(hold(&change, reason));
            continue;
        }
        findings.push(Diagnostic::new(
            Severity::Warning,
            "name-prefixed",
            Some(&change.key),
            &spec.operation.pointer,
            format!("{taken}: this action is named `{candidate}`, and keeps that name"),
        ));
        change.name = candidate;
        owners.insert(
            change.name.clone(),
            (input.source.to_string(), change.key.clone()),
        );
        kept.push(change);
    }
    *changes = kept;
    held_back
}

/// Lint of the actions the plan creates, updates or restores, against every name
/// in the catalogue afterwards. Errors refuse the plan; warnings are shown.
fn lint_plan(
    input: &PlanInput<'_>,
    changes: &mut [Change],
    diagnostics: &mut Vec<Diagnostic>,
    refusals: &mut Vec<Refusal>,
) {
    let blocking: Vec<&Diagnostic> = input
        .conversion
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error && BLOCKING_CODES.contains(&d.code.as_str()))
        .collect();
    for d in blocking {
        refusals.push(Refusal {
            code: "lint".to_string(),
            message: d.message.clone(),
            overridable: false,
        });
    }

    // Names in effect after the plan, in this source and the others.
    let owners = untouched_owners(input, changes);
    let current_by_id: HashMap<i64, &CurrentAction> =
        input.current.iter().map(|a| (a.id, a)).collect();
    // Each action the plan writes, as it will be (its hand-owned fields, so pins,
    // in effect): what lint and the token budget weigh. Each change lends its
    // spec-owned fields (the bulk of it) to its action, which gives them back
    // below: copying them was a tenth of a first apply's plan.
    let mut lent: Vec<usize> = Vec::new();
    let written: Vec<StoredAction> = changes
        .iter_mut()
        .enumerate()
        .filter(|(_, c)| {
            matches!(
                c.kind,
                ChangeKind::Create | ChangeKind::Update | ChangeKind::Restore
            )
        })
        .filter_map(|(index, c)| {
            let stored = c.id.and_then(|id| current_by_id.get(&id));
            let hand = match (stored, &c.hand) {
                (Some(stored), _) => stored.hand.clone(),
                (None, Some(hand)) => hand.clone(),
                (None, None) => return None,
            };
            let spec = c.spec.take()?;
            lent.push(index);
            Some(StoredAction {
                id: c.id.unwrap_or(0),
                source: input.source.to_string(),
                key: c.key.clone(),
                name: c.name.clone(),
                state: ActionState::Active,
                spec,
                hand,
                hand_set: Vec::new(),
                version: 0,
                created_at: 0,
                updated_at: 0,
            })
        })
        .collect();
    let descriptions: Vec<String> = written
        .iter()
        .map(|a| {
            a.hand
                .pins
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or(&a.spec.description)
                .to_string()
        })
        .collect();
    let subjects: Vec<Subject<'_>> = written
        .iter()
        .zip(&descriptions)
        .map(|(a, description)| Subject {
            source: input.source,
            key: &a.key,
            name: &a.name,
            description,
            pointer: &a.spec.operation.pointer,
        })
        .collect();
    // Only a tool longer in bytes than the budget can be over it (an o200k token
    // is at least one byte), so only those are counted: counting every tool was
    // the dearest step of a plan that writes many actions. The count is
    // `tools::tokens`, from the same text. Each tool is weighed on its own, on
    // every core; the result keeps the actions' order. Lint's checks run beside
    // the weighing, not after it: on a spec of templated descriptions (Microsoft
    // Graph's) its near-duplicate pairs take about as long.
    let weigh = || -> Vec<lint::Costed<'_>> {
        written
            .par_iter()
            .with_min_len(PER_TASK)
            .filter_map(|a| {
                let text = crate::tools::tool_text(a, crate::tools::ToolFormat::Openai);
                (text.len() > input.options.tool_tokens).then(|| lint::Costed {
                    subject: Subject {
                        source: &a.source,
                        key: &a.key,
                        name: &a.name,
                        description: &a.spec.description,
                        pointer: &a.spec.operation.pointer,
                    },
                    action: a,
                    tokens: crate::tools::count_tokens(&text),
                })
            })
            .collect()
    };
    let (costed, findings) = rayon::join(weigh, || lint::check(&subjects));
    let budget = lint::Budget {
        tool_tokens: input.options.tool_tokens,
        ..lint::Budget::default()
    };
    // Per tool only: audiences span every source, and lint and export weigh those.
    diagnostics.extend(
        lint::check_budget(&costed, &budget)
            .actions
            .into_iter()
            .map(|(_, d)| d),
    );
    for (_, finding) in findings {
        if finding.severity == Severity::Error {
            refusals.push(Refusal {
                code: "lint".to_string(),
                message: format!(
                    "{}: {}",
                    finding.key.as_deref().unwrap_or("-"),
                    finding.message
                ),
                overridable: false,
            });
        }
        diagnostics.push(finding);
    }
    for subject in &subjects {
        if let Some((source, key)) = owners.get(subject.name) {
            let message = format!(
                "the name `{}` of `{}` is already the name of `{key}` in source `{source}`; names are unique across the catalogue. Rename one (operationId, or pin a name)",
                subject.name, subject.key
            );
            diagnostics.push(Diagnostic::new(
                Severity::Error,
                "duplicate-name",
                Some(subject.key),
                subject.pointer,
                message.clone(),
            ));
            refusals.push(Refusal {
                code: "lint".to_string(),
                message,
                overridable: false,
            });
        }
    }
    drop((subjects, costed));
    for (index, action) in lent.into_iter().zip(written) {
        changes[index].spec = Some(action.spec);
    }
}

/// Refusals that `force` overrides: a spec with zero operations, or one that
/// removes too large a share of the source's active actions.
fn guard_plan(
    input: &PlanInput<'_>,
    changes: &[Change],
    active_before: usize,
    removed: usize,
    refusals: &mut Vec<Refusal>,
) {
    if changes.is_empty() {
        return;
    }
    if input.conversion.operation_count() == 0 {
        refusals.push(Refusal {
            code: "zero-operations".to_string(),
            message: "the spec has zero operations; applying it would empty the source. Check the spec, or force the plan: --force on the command line, force=true on a push, \"force\": true in a rollback over the API".to_string(),
            overridable: true,
        });
    }
    if active_before > 0 {
        let share = removed as f64 / active_before as f64;
        if share > input.options.max_removed_share {
            refusals.push(Refusal {
                code: "removal-guard".to_string(),
                message: format!(
                    "the plan would remove {removed} of the source's {active_before} active actions ({:.0} %), more than its limit of {:.0} %. Check the spec, or force the plan: --force on the command line, force=true on a push, \"force\": true in a rollback over the API",
                    share * 100.0,
                    input.options.max_removed_share * 100.0
                ),
                overridable: true,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::ConvertOptions;
    use crate::source::{LoadOptions, SpecLocation};

    /// The drafts of a fixture spec.
    fn drafts(fixture: &str) -> Vec<ActionDraft> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(fixture);
        let spec = crate::source::load(&SpecLocation::File(path), &LoadOptions::default())
            .expect("the fixture loads");
        let options = ConvertOptions {
            source: "fixture".to_string(),
            base_url: url::Url::parse("https://api.example.com").ok(),
            ..ConvertOptions::default()
        };
        crate::convert::convert(&spec, &options).actions
    }

    #[test]
    fn a_created_actions_fields_are_written_as_their_json() {
        // Every field of every action of fixtures with bodies, parameters of each
        // kind, auth and recursive schemas: what the plan writes from the fields
        // themselves is the text of their JSON, pretty or compact, and reads back
        // as that JSON.
        for fixture in [
            "request-bodies.yaml",
            "parameters.yaml",
            "security.yaml",
            "recursive-schemas.yaml",
        ] {
            for draft in drafts(fixture) {
                let change = create(&draft);
                assert_eq!(change.fields.len(), SPEC_FIELDS.len());
                for f in &change.fields {
                    let json = draft.spec.field(&f.field);
                    let compact = serde_json::to_string(&f.new).expect("serialises");
                    assert_eq!(
                        compact,
                        serde_json::to_string(&json).expect("serialises"),
                        "{fixture} {}",
                        f.field
                    );
                    let pretty = serde_json::to_string_pretty(&f.new).expect("serialises");
                    assert_eq!(
                        pretty,
                        serde_json::to_string_pretty(&json).expect("serialises")
                    );
                    let read: FieldValue = serde_json::from_str(&compact).expect("reads back");
                    assert_eq!(read, f.new);
                    assert_eq!(*f.new, json);
                    // Once read as JSON, it writes the same.
                    assert_eq!(serde_json::to_string(&f.new).expect("serialises"), compact);
                }
            }
        }
    }

    /// A plan with a change of every kind, a rename, drift and a held-back change.
    fn plan_of_every_kind(held_back: bool) -> Plan {
        let spec = drafts("request-bodies.yaml").remove(0).spec;
        let change = |kind, id: Option<i64>, key: &str, previous: Option<&str>| Change {
            kind,
            id,
            key: key.to_string(),
            previous_key: previous.map(str::to_string),
            name: format!("name_of_{key}"),
            fields: vec![FieldChange {
                field: "description".to_string(),
                old: Value::Null.into(),
                new: Value::String("Löschen \"quoted\"".to_string()).into(),
                pinned: id == Some(2),
            }],
            spec: Some(spec.clone()),
            hand: Some(HandFields::default()),
        };
        Plan {
            source: "orders".to_string(),
            spec_hash: "abc".to_string(),
            base_revision: 3,
            counts: Counts {
                created: 1,
                updated: 1,
                archived: 1,
                ..Counts::default()
            },
            changes: vec![
                change(ChangeKind::Create, None, "createOrder", None),
                change(ChangeKind::Update, Some(2), "getOrder", Some("fetchOrder")),
                change(ChangeKind::Archive, Some(5), "oldOrder", None),
            ],
            drift: vec![Drift {
                id: 2,
                name: "get_order".to_string(),
                field: "description".to_string(),
                pinned: Value::String("pinned".to_string()),
                spec_old: Value::Null,
                spec_new: Value::Bool(true),
            }],
            orphans: Vec::new(),
            kept: Vec::new(),
            held_back: if held_back {
                vec![HeldBack {
                    kind: ChangeKind::Create,
                    id: None,
                    key: "clash".to_string(),
                    name: "taken_name".to_string(),
                    reason: "taken".to_string(),
                }]
            } else {
                Vec::new()
            },
            diagnostics: Vec::new(),
            refusals: Vec::new(),
            forced: true,
        }
    }

    #[test]
    fn a_new_action_reads_the_same_from_its_fields_and_from_the_stored_plan() {
        // A plan just made describes a new action from its spec-owned fields; a
        // stored plan, read back, only from its field changes.
        let mut plan = plan_of_every_kind(false);
        plan.changes = ["request-bodies.yaml", "parameters.yaml", "security.yaml"]
            .into_iter()
            .flat_map(drafts)
            .map(|draft| create(&draft))
            .collect();
        let read: Plan = serde_json::from_str(&serde_json::to_string(&plan).expect("serialises"))
            .expect("reads back");
        assert!(read.changes.iter().all(|c| c.spec.is_none()));
        let (fresh, stored) = (text(&plan), text(&read));
        assert_eq!(fresh, stored);
        assert_eq!(markdown(&plan), markdown(&read));
        for said in ["parameters", "application/json body", "auth "] {
            assert!(fresh.contains(said), "{said} in {fresh}");
        }
    }

    #[test]
    fn the_applied_plan_is_recorded_as_the_plan_with_its_ids_and_names() {
        for held_back in [false, true] {
            let plan = plan_of_every_kind(held_back);
            let ids = [Some(41), Some(2), Some(5)];
            let names = [None, Some("pinned_name".to_string()), None];
            let mut expected = plan.clone();
            expected.changes[0].id = Some(41);
            expected.changes[1].name = "pinned_name".to_string();
            let mut applied = Vec::new();
            write_applied(&mut applied, &plan, &ids, &names).expect("writes");
            assert_eq!(
                String::from_utf8(applied.clone()).expect("UTF-8"),
                serde_json::to_string(&expected).expect("serialises")
            );
            let read: Plan = serde_json::from_slice(&applied).expect("reads back");
            assert_eq!(read.changes[0].id, Some(41));
        }
    }

    #[test]
    fn the_stored_spec_and_its_digest_come_out_as_from_two_serialisations() {
        let mut seen = 0;
        let mut specs = Vec::new();
        for fixture in [
            "request-bodies.yaml",
            "parameters.yaml",
            "security.yaml",
            "extensions.yaml",
            "swagger2.json",
            "oas31-features.yaml",
        ] {
            for draft in drafts(fixture) {
                let (json, digest) = stored_spec(&draft.spec);
                assert_eq!(
                    json,
                    serde_json::to_string(&draft.spec).expect("serialises"),
                    "{fixture}: {}",
                    draft.key
                );
                assert_eq!(digest, spec_digest(&draft.spec), "{fixture}: {}", draft.key);
                // The digest every catalogue has stored since digests were kept.
                let mut text = b"spec-digest/1\0".to_vec();
                serde_json::to_writer(&mut text, &Compared::of(&draft.spec)).expect("serialises");
                let stored = format!("{:032x}", xxhash_rust::xxh3::xxh3_128(&text));
                assert_eq!(digest.as_deref(), Some(stored.as_str()));
                specs.push(draft.spec);
                seen += 1;
            }
        }
        assert!(seen > 20, "only {seen} drafts");
        // Many at once, as a re-plan digests them (on several threads): the same.
        let many: Vec<&SpecFields> = specs.iter().cycle().take(seen * 5 + 3).collect();
        let one_by_one: Vec<Option<String>> = many.iter().map(|s| spec_digest(s)).collect();
        assert_eq!(spec_digests(&many), one_by_one);
    }
}
