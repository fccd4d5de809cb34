//! Property tests of the catalogue's rules (DESIGN.md, "Plan and apply: the rules"),
//! on SQLite and PostgreSQL: for random sequences of spec changes (operations added,
//! removed, renamed, re-added; parameters added and removed; summaries changed),
//! interleaved with random hand edits,
//! - no hand-set value is ever lost (update, rename, archive, restore), and a plan
//!   never touches a hand-owned field;
//! - one stable action id per operation, across renames (a new operationId on the
//!   same method and path, or the same operationId on a new path), removals and
//!   re-adds;
//! - each applied plan holds exactly the changes the model predicts (create,
//!   update, rename, archive, restore; drift under a pinned description), and is
//!   one new revision;
//! - apply-then-plan is always empty;
//! - the active actions are exactly the operations in the spec, the archived ones
//!   exactly those that left it, each with the spec's key and parameters;
//! - every magic field whose parameter is not in the operation is reported as an
//!   orphan (and only those);
//! - the removal and zero-operation guards refuse exactly the plans they should.
//!
//! A failure reports the minimal case as a readable trace of the steps it took.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use actionsync::action::{ActionState, Channel, HandFields, StoredAction};
use actionsync::plan::{ChangeKind, Plan};
use actionsync::store::{ActionQuery, AnyStore, HandEdit, Store};
use actionsync::sync::{self, Outcome, ReconcileOptions, SourceSpec};
use common::{Op, Specs, source, spec};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestCaseError;
use serde_json::{Value, json};

/// The source every case reconciles.
const SOURCE: &str = "props";

/// One operation of the universe: its method and paths, the operationIds it may
/// carry (each operation its own, so no two operations' names or keys can
/// collide, with or without an operationId), and the summaries it may have.
struct OpDef {
    method: &'static str,
    /// The paths it may have: a move keeps the operationId (DESIGN rule 3, "or
    /// the reverse"). No (method, path) belongs to two operations.
    paths: [&'static str; 2],
    ids: [&'static str; 3],
    /// The tool name each operationId makes, then those of the paths (no
    /// operationId).
    names: [&'static str; 5],
    summaries: [&'static str; 3],
}

/// Names: `list_orders`, `list_recent_orders`, `search_orders` / `get_order`, … and
/// the path fallbacks `list_orders`, `get_order_by_id`, `get_order_by_order_id`,
/// `create_order`, `delete_order_by_id`, `delete_order_by_order_id`,
/// `list_customers`, `list_clients`, `list_customer_notes`: no name is shared by
/// two operations.
const OPS: [OpDef; 6] = [
    OpDef {
        method: "get",
        paths: ["/orders", "/v2/orders"],
        ids: ["listOrders", "listRecentOrders", "searchOrders"],
        names: [
            "list_orders",
            "list_recent_orders",
            "search_orders",
            "list_orders",
            "list_orders",
        ],
        summaries: [
            "List the orders a customer placed recently",
            "Search every order of the shop by its status",
            "Page through the orders of the current customer",
        ],
    },
    OpDef {
        method: "get",
        paths: ["/orders/{id}", "/orders/{orderId}"],
        ids: ["getOrder", "fetchOrder", "showOrder"],
        names: [
            "get_order",
            "fetch_order",
            "show_order",
            "get_order_by_id",
            "get_order_by_order_id",
        ],
        summaries: [
            "Look up one order by its number for the customer",
            "Fetch a single order with its lines and totals",
            "Show the shipping status of one order by number",
        ],
    },
    OpDef {
        method: "post",
        paths: ["/orders", "/v2/orders"],
        ids: ["createOrder", "placeOrder", "submitOrder"],
        names: [
            "create_order",
            "place_order",
            "submit_order",
            "create_order",
            "create_order",
        ],
        summaries: [
            "Create a new order on behalf of the customer",
            "Place an order for the items in the basket",
            "Submit a draft order so the warehouse ships it",
        ],
    },
    OpDef {
        method: "delete",
        paths: ["/orders/{id}", "/orders/{orderId}"],
        ids: ["cancelOrder", "deleteOrder", "voidOrder"],
        names: [
            "cancel_order",
            "delete_order",
            "void_order",
            "delete_order_by_id",
            "delete_order_by_order_id",
        ],
        summaries: [
            "Cancel an order that has not shipped yet",
            "Delete an unpaid order from the customer account",
            "Void an order and refund what the customer paid",
        ],
    },
    OpDef {
        method: "get",
        paths: ["/customers", "/clients"],
        ids: ["listCustomers", "findCustomers", "browseCustomers"],
        names: [
            "list_customers",
            "find_customers",
            "browse_customers",
            "list_customers",
            "list_clients",
        ],
        summaries: [
            "List customers whose email matches the query",
            "Find a customer record from a phone number",
            "Browse the customers of one company account",
        ],
    },
    OpDef {
        method: "get",
        paths: ["/customers/{id}/notes", "/customers/{customerId}/notes"],
        ids: [
            "listCustomerNotes",
            "readCustomerNotes",
            "getNotesForCustomer",
        ],
        names: [
            "list_customer_notes",
            "read_customer_notes",
            "get_notes_for_customer",
            "list_customer_notes",
            "list_customer_notes",
        ],
        summaries: [
            "Read the notes support agents left on a customer",
            "List internal notes about one customer profile",
            "Get the history of notes written about a customer",
        ],
    },
];

/// Query parameters an operation may have.
const PARAMS: [&str; 4] = ["limit", "status", "expand", "cursor"];
/// Keys a magic field may fill: the path parameters, the query parameters, and
/// one that is never a parameter.
const MAGIC_KEYS: [&str; 8] = [
    "id",
    "orderId",
    "customerId",
    "limit",
    "status",
    "expand",
    "cursor",
    "ghost",
];
const CONTEXTS: [&str; 3] = ["contact.email", "contact.id", "conversation.order_id"];
const SEGMENTS: [&str; 3] = ["vip", "eu", "beta"];
const PINS: [&str; 2] = [
    "Look up an order for the customer, pinned by support",
    "A description a person wrote, which must survive every sync",
];

/// One operation in the spec model.
#[derive(Debug, Clone, PartialEq)]
struct OpState {
    present: bool,
    /// Index into the operation's `ids`; 3 means no operationId.
    id: usize,
    /// Index into the operation's `paths`.
    path: usize,
    /// Indexes into `PARAMS`.
    params: BTreeSet<usize>,
    /// Index into the operation's `summaries`.
    summary: usize,
}

impl OpState {
    fn operation_id(&self, def: &OpDef) -> Option<&'static str> {
        def.ids.get(self.id).copied()
    }

    fn path(&self, def: &OpDef) -> &'static str {
        def.paths[self.path]
    }

    fn name(&self, def: &OpDef) -> &'static str {
        match self.operation_id(def) {
            Some(_) => def.names[self.id],
            None => def.names[3 + self.path],
        }
    }

    fn key(&self, def: &OpDef) -> String {
        match self.operation_id(def) {
            Some(id) => id.to_string(),
            None => format!("{} {}", def.method.to_ascii_uppercase(), self.path(def)),
        }
    }

    /// Every key a magic field can fill: path parameters and query parameters.
    fn param_keys(&self, def: &OpDef) -> BTreeSet<String> {
        let mut keys: BTreeSet<String> = self
            .path(def)
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(str::to_string)
            .collect();
        keys.extend(self.params.iter().map(|&p| PARAMS[p].to_string()));
        keys
    }

    /// Whether an action stored from `self` changes when `other` is applied.
    fn differs(&self, other: &OpState, def: &OpDef) -> bool {
        self.key(def) != other.key(def)
            || self.path != other.path
            || self.params != other.params
            || self.summary != other.summary
    }

    fn describe(&self, def: &OpDef) -> String {
        let id = self.operation_id(def).unwrap_or("(no operationId)");
        let params: Vec<&str> = self.params.iter().map(|&p| PARAMS[p]).collect();
        format!(
            "{} {} {id} params={params:?} summary={}",
            def.method.to_ascii_uppercase(),
            self.path(def),
            self.summary
        )
    }
}

fn spec_text(ops: &[OpState]) -> String {
    let ops: Vec<Op> = ops
        .iter()
        .zip(OPS.iter())
        .filter(|(state, _)| state.present)
        .map(|(state, def)| Op {
            id: state.operation_id(def).map(str::to_string),
            method: def.method,
            path: state.path(def).to_string(),
            summary: def.summaries[state.summary].to_string(),
            params: state
                .params
                .iter()
                .map(|&p| PARAMS[p].to_string())
                .collect(),
        })
        .collect();
    spec(&ops)
}

/// A change to the spec model.
#[derive(Debug, Clone)]
enum SpecChange {
    /// Adds one of the absent operations (re-adds it, if it was there before;
    /// `again` prefers those), with some operationId (or none).
    Add { op: Index, again: bool, id: usize },
    /// Removes one of the present operations.
    Remove { op: Index },
    /// Gives one of the present operations another operationId (or none).
    Rename { op: Index, to: Index },
    /// Adds or removes a query parameter of any operation.
    ToggleParam { op: usize, param: usize },
    /// Changes the summary of any operation.
    Summary { op: usize, summary: usize },
}

/// One hand edit of one field.
#[derive(Debug, Clone)]
enum Edit {
    Segments(Vec<&'static str>),
    Channels(Vec<Channel>),
    Magic { key: usize, context: usize },
    RemoveMagic(Index),
    RequireConfirmation(bool),
    Enabled(bool),
    PinDescription(usize),
}

#[derive(Debug, Clone)]
enum Step {
    /// A spec change, then (or not yet) a reconcile.
    Spec { change: SpecChange, apply: bool },
    /// What is pending is applied; then one present operation with an
    /// operationId moves to its other path, and that is applied.
    Move { op: Index },
    /// A hand edit of the action of one operation, if it has one.
    Hand { op: usize, edit: Edit },
}

fn op_state() -> impl Strategy<Value = OpState> {
    (
        prop::bool::weighted(0.6),
        0..4usize,
        0..2usize,
        prop::collection::btree_set(0..PARAMS.len(), 0..=2),
        0..3usize,
    )
        .prop_map(|(present, id, path, params, summary)| OpState {
            present,
            id,
            path,
            params,
            summary,
        })
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        1 => prop::sample::subsequence(SEGMENTS.to_vec(), 0..=2).prop_map(Edit::Segments),
        1 => prop::collection::vec(prop::sample::select(Channel::ALL.to_vec()), 0..=3)
            .prop_map(Edit::Channels),
        3 => (0..MAGIC_KEYS.len(), 0..CONTEXTS.len())
            .prop_map(|(key, context)| Edit::Magic { key, context }),
        1 => any::<Index>().prop_map(Edit::RemoveMagic),
        1 => any::<bool>().prop_map(Edit::RequireConfirmation),
        1 => any::<bool>().prop_map(Edit::Enabled),
        1 => (0..PINS.len()).prop_map(Edit::PinDescription),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    let change = prop_oneof![
        2 => (any::<Index>(), any::<bool>(), 0..4usize)
            .prop_map(|(op, again, id)| SpecChange::Add { op, again, id }),
        2 => any::<Index>().prop_map(|op| SpecChange::Remove { op }),
        3 => (any::<Index>(), any::<Index>()).prop_map(|(op, to)| SpecChange::Rename { op, to }),
        2 => (0..OPS.len(), 0..PARAMS.len())
            .prop_map(|(op, param)| SpecChange::ToggleParam { op, param }),
        1 => (0..OPS.len(), 0..3usize).prop_map(|(op, summary)| SpecChange::Summary { op, summary }),
    ];
    prop_oneof![
        6 => (change, prop::bool::weighted(0.75))
            .prop_map(|(change, apply)| Step::Spec { change, apply }),
        1 => any::<Index>().prop_map(|op| Step::Move { op }),
        4 => (0..OPS.len(), edit()).prop_map(|(op, edit)| Step::Hand { op, edit }),
    ]
}

/// A case: the first spec, hand edits right after it is applied (so that later
/// steps meet hand-set values), then the steps.
type Case = (Vec<OpState>, Vec<(usize, Edit)>, Vec<Step>);

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(op_state(), OPS.len()),
        prop::collection::vec((0..OPS.len(), edit()), 0..=6),
        prop::collection::vec(step(), 1..=8),
    )
}

/// What the catalogue must hold.
struct Model {
    /// The spec as edited, not yet applied.
    pending: Vec<OpState>,
    /// The spec as last applied (what the spec file holds).
    applied: Vec<OpState>,
    /// Each operation as its action's spec-owned fields last stored it (for an
    /// archived action: as it was when it left the spec).
    stored: Vec<Option<OpState>>,
    /// The action id of each operation, once it has one.
    ids: Vec<Option<i64>>,
    /// Each action's hand-owned fields: the values it was created with, then
    /// every hand edit.
    hand: Vec<HandFields>,
    /// The hand-owned fields a person set, per action.
    hand_set: Vec<BTreeSet<String>>,
    /// The source's last revision.
    revision: i64,
    /// The steps so far, readable.
    trace: Vec<String>,
}

impl Model {
    fn trace(&self) -> String {
        self.trace
            .iter()
            .enumerate()
            .map(|(i, line)| format!("  {}. {line}", i + 1))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The hand-owned fields a new action starts with (DESIGN.md: `[widget]`, DELETE
/// requires confirmation, enabled).
fn initial_hand(def: &OpDef) -> HandFields {
    HandFields {
        require_confirmation: def.method == "delete",
        ..HandFields::default()
    }
}

/// A plan's change, comparable: (id, or the key of a creation; kind; previous key).
type ChangeSummary = (String, String, Option<String>);

struct Run<'a> {
    store: &'a AnyStore,
    src: SourceSpec,
    file: PathBuf,
    model: Model,
}

macro_rules! ensure {
    ($run:expr, $cond:expr, $($fmt:tt)*) => {
        if !$cond {
            return Err(TestCaseError::fail(format!(
                "{}\nsteps:\n{}",
                format!($($fmt)*),
                $run.model.trace()
            )));
        }
    };
}

macro_rules! ensure_eq {
    ($run:expr, $left:expr, $right:expr, $($fmt:tt)*) => {{
        let (left, right) = (&$left, &$right);
        ensure!(
            $run,
            left == right,
            "{}\n  found:    {:?}\n  expected: {:?}",
            format!($($fmt)*),
            left,
            right
        );
    }};
}

impl Run<'_> {
    fn fail(&self, what: String) -> TestCaseError {
        TestCaseError::fail(format!("{what}\nsteps:\n{}", self.model.trace()))
    }

    async fn reconcile(&self, options: ReconcileOptions<'_>) -> Result<Outcome, TestCaseError> {
        match sync::reconcile(self.store, &self.src, options).await {
            Ok((outcome, _)) => Ok(outcome),
            Err(e) => Err(self.fail(format!("reconcile failed: {e}"))),
        }
    }

    async fn dry_run(&self, force: bool) -> Result<Plan, TestCaseError> {
        let outcome = self
            .reconcile(ReconcileOptions {
                dry_run: true,
                even_if_unchanged: true,
                force,
                ..ReconcileOptions::default()
            })
            .await?;
        match outcome.plan() {
            Some(plan) => Ok(plan.clone()),
            None => Err(self.fail(format!("a dry run made no plan: {outcome:?}"))),
        }
    }

    async fn actions(&self) -> Result<Vec<StoredAction>, TestCaseError> {
        self.store
            .actions(&ActionQuery {
                source: Some(SOURCE.to_string()),
                state: None,
                ..Default::default()
            })
            .await
            .map_err(|e| self.fail(format!("actions: {e}")))
    }

    /// The changes, drift and counts applying the pending spec must make.
    fn expected_plan(&self) -> (BTreeSet<ChangeSummary>, BTreeSet<i64>, [usize; 6]) {
        let m = &self.model;
        let mut changes = BTreeSet::new();
        let mut drift = BTreeSet::new();
        // created, updated, archived, deleted, restored, unchanged
        let mut counts = [0; 6];
        for (i, def) in OPS.iter().enumerate() {
            let (before, after) = (&m.applied[i], &m.pending[i]);
            let id = m.ids[i].map(|id| id.to_string());
            let kind = match (&m.stored[i], before.present, after.present) {
                (None, _, true) => Some(ChangeKind::Create),
                (Some(_), false, true) => Some(ChangeKind::Restore),
                (Some(stored), true, true) if stored.differs(after, def) => {
                    Some(ChangeKind::Update)
                }
                (Some(_), true, false) => Some(ChangeKind::Archive),
                _ => None,
            };
            let Some(kind) = kind else {
                if before.present {
                    counts[5] += 1;
                }
                continue;
            };
            let slot = match kind {
                ChangeKind::Create => 0,
                ChangeKind::Update => 1,
                ChangeKind::Archive => 2,
                ChangeKind::Delete => 3,
                ChangeKind::Restore => 4,
            };
            counts[slot] += 1;
            let stored = m.stored[i].as_ref();
            let previous_key = match kind {
                ChangeKind::Update | ChangeKind::Restore => {
                    stored.map(|s| s.key(def)).filter(|k| *k != after.key(def))
                }
                _ => None,
            };
            if matches!(kind, ChangeKind::Update | ChangeKind::Restore)
                && stored.is_some_and(|s| s.summary != after.summary)
                && m.hand[i].pins.contains_key("description")
            {
                drift.insert(m.ids[i].unwrap_or_default());
            }
            let key = match kind {
                ChangeKind::Create => format!("new {}", after.key(def)),
                _ => id.unwrap_or_default(),
            };
            changes.insert((key, format!("{kind:?}"), previous_key));
        }
        (changes, drift, counts)
    }

    /// Writes the pending spec and reconciles it (forced, so random removals pass
    /// the guard), after checking what the guards say without force, and checks
    /// the plan it applied.
    async fn apply(&mut self) -> Result<(), TestCaseError> {
        let text = spec_text(&self.model.pending);
        std::fs::write(&self.file, text).expect("write spec");
        let present = |ops: &[OpState]| ops.iter().filter(|o| o.present).count();
        self.model.trace.push(format!(
            "apply the spec: [{}]",
            self.model
                .pending
                .iter()
                .zip(OPS.iter())
                .filter(|(o, _)| o.present)
                .map(|(o, def)| o.describe(def))
                .collect::<Vec<_>>()
                .join("; ")
        ));

        // Rule 5: the guards, unforced.
        let active_before = present(&self.model.applied);
        let removed = self
            .model
            .applied
            .iter()
            .zip(&self.model.pending)
            .filter(|(before, after)| before.present && !after.present)
            .count();
        let unforced = self.dry_run(false).await?;
        let codes: BTreeSet<&str> = unforced.refusals.iter().map(|r| r.code.as_str()).collect();
        let mut expected = BTreeSet::new();
        if active_before > 0 && removed as f64 / active_before as f64 > 0.5 {
            expected.insert("removal-guard");
        }
        if present(&self.model.pending) == 0 && active_before > 0 {
            expected.insert("zero-operations");
        }
        ensure_eq!(
            self,
            codes,
            expected,
            "the unforced plan's refusals ({removed} of {active_before} active removed)"
        );
        ensure!(
            self,
            unforced.refusals.iter().all(|r| r.overridable),
            "a refusal force cannot pass: {:#?}",
            unforced.refusals
        );

        // Forced: applied, with exactly the changes the model predicts.
        let (expected_changes, expected_drift, expected_counts) = self.expected_plan();
        let outcome = self
            .reconcile(ReconcileOptions {
                force: true,
                ..ReconcileOptions::default()
            })
            .await?;
        let plan = match outcome {
            Outcome::Applied { plan, revision } => {
                ensure_eq!(
                    self,
                    revision,
                    self.model.revision + 1,
                    "the revision of the apply"
                );
                self.model.revision = revision;
                Some(plan)
            }
            Outcome::Planned { plan } => {
                ensure!(self, plan.is_empty(), "planned, not applied: {plan:#?}");
                Some(plan)
            }
            Outcome::Unchanged { .. } => None,
            Outcome::Refused { plan } => {
                return Err(self.fail(format!("the forced plan was refused: {plan:#?}")));
            }
            Outcome::Paused { plan } => {
                return Err(self.fail(format!("no source is paused here: {plan:#?}")));
            }
        };
        let (changes, drift, counts) = match &plan {
            Some(plan) => (
                plan.changes
                    .iter()
                    .map(|c| {
                        let key = match (c.kind, c.id) {
                            (ChangeKind::Create, _) | (_, None) => format!("new {}", c.key),
                            (_, Some(id)) => id.to_string(),
                        };
                        (key, format!("{:?}", c.kind), c.previous_key.clone())
                    })
                    .collect(),
                plan.drift
                    .iter()
                    .filter(|d| d.field == "description")
                    .map(|d| d.id)
                    .collect(),
                {
                    let c = plan.counts;
                    [
                        c.created,
                        c.updated,
                        c.archived,
                        c.deleted,
                        c.restored,
                        c.unchanged,
                    ]
                },
            ),
            None => (BTreeSet::new(), BTreeSet::new(), expected_counts),
        };
        ensure_eq!(
            self,
            changes,
            expected_changes,
            "the applied plan's changes (id, kind, previous key)"
        );
        ensure_eq!(
            self,
            drift,
            expected_drift,
            "actions with description drift"
        );
        ensure_eq!(
            self,
            counts,
            expected_counts,
            "counts (created, updated, archived, deleted, restored, unchanged)"
        );
        if plan.is_none() {
            ensure!(
                self,
                expected_changes.is_empty(),
                "the spec changed, yet the reconcile said unchanged"
            );
        }

        self.model.applied = self.model.pending.clone();
        for (stored, applied) in self.model.stored.iter_mut().zip(&self.model.applied) {
            if applied.present {
                *stored = Some(applied.clone());
            }
        }

        // Rule 3: one stable id per operation.
        let actions = self.actions().await?;
        for (i, def) in OPS.iter().enumerate() {
            let same_operation: Vec<i64> = actions
                .iter()
                .filter(|a| {
                    a.spec.operation.method.eq_ignore_ascii_case(def.method)
                        && def.paths.contains(&a.spec.operation.path.as_str())
                })
                .map(|a| a.id)
                .collect();
            match self.model.ids[i] {
                Some(id) => ensure_eq!(
                    self,
                    same_operation,
                    vec![id],
                    "the actions of {} {:?} (its action id never changes)",
                    def.method,
                    def.paths
                ),
                None if self.model.applied[i].present => {
                    ensure_eq!(
                        self,
                        same_operation.len(),
                        1,
                        "actions of the new operation {} {:?}: {same_operation:?}",
                        def.method,
                        def.paths
                    );
                    self.model.ids[i] = Some(same_operation[0]);
                }
                None => ensure!(
                    self,
                    same_operation.is_empty(),
                    "{} {:?} was never in the spec, yet has actions {same_operation:?}",
                    def.method,
                    def.paths
                ),
            }
        }
        // The applied plan reports the orphans too.
        if let Some(plan) = &plan {
            ensure_eq!(
                self,
                orphans(plan),
                self.expected_orphans(),
                "orphans of the applied plan"
            );
        }
        Ok(())
    }

    async fn step(&mut self, step: &Step) -> Result<(), TestCaseError> {
        match step {
            Step::Spec { change, apply } => {
                self.change(change);
                if *apply {
                    self.apply().await?;
                }
            }
            Step::Move { op } => {
                if self.model.pending != self.model.applied {
                    self.apply().await?;
                    self.check().await?;
                }
                let candidates: Vec<usize> = (0..OPS.len())
                    .filter(|&i| {
                        let state = &self.model.pending[i];
                        state.present && state.operation_id(&OPS[i]).is_some()
                    })
                    .collect();
                if candidates.is_empty() {
                    self.model
                        .trace
                        .push("(move skipped: no present operation has an operationId)".into());
                } else {
                    let i = candidates[op.index(candidates.len())];
                    let state = &mut self.model.pending[i];
                    let from = state.path(&OPS[i]);
                    state.path = 1 - state.path;
                    let line = format!(
                        "move {} {}: {from} -> {}",
                        OPS[i].method.to_ascii_uppercase(),
                        state.key(&OPS[i]),
                        state.path(&OPS[i])
                    );
                    self.model.trace.push(line);
                    self.apply().await?;
                }
            }
            Step::Hand { op, edit } => self.edit(*op, edit).await?,
        }
        self.check().await
    }

    fn change(&mut self, change: &SpecChange) {
        let pending = &mut self.model.pending;
        let ids = &self.model.ids;
        let pick = |ops: &[OpState], present: bool, index: &Index| {
            let candidates: Vec<usize> = (0..ops.len())
                .filter(|&i| ops[i].present == present)
                .collect();
            (!candidates.is_empty()).then(|| candidates[index.index(candidates.len())])
        };
        let line = match change {
            SpecChange::Add { op, again, id } => match (0..OPS.len())
                .filter(|&i| !pending[i].present && ids[i].is_some())
                .collect::<Vec<_>>()
            {
                archived if *again && !archived.is_empty() => {
                    let i = archived[op.index(archived.len())];
                    pending[i].present = true;
                    pending[i].id = *id;
                    format!("re-add {}", pending[i].describe(&OPS[i]))
                }
                _ => match pick(pending, false, op) {
                    Some(i) => {
                        pending[i].present = true;
                        pending[i].id = *id;
                        format!("add {}", pending[i].describe(&OPS[i]))
                    }
                    None => "(add skipped: every operation is present)".to_string(),
                },
            },
            SpecChange::Remove { op } => match pick(pending, true, op) {
                Some(i) => {
                    pending[i].present = false;
                    format!("remove {}", pending[i].describe(&OPS[i]))
                }
                None => "(remove skipped: no operation is present)".to_string(),
            },
            SpecChange::Rename { op, to } => match pick(pending, true, op) {
                Some(i) => {
                    let others: Vec<usize> = (0..4).filter(|&k| k != pending[i].id).collect();
                    let before = pending[i].key(&OPS[i]);
                    pending[i].id = others[to.index(others.len())];
                    format!(
                        "rename {} {}: {before} -> {}",
                        OPS[i].method.to_ascii_uppercase(),
                        pending[i].path(&OPS[i]),
                        pending[i].key(&OPS[i])
                    )
                }
                None => "(rename skipped: no operation is present)".to_string(),
            },
            SpecChange::ToggleParam { op, param } => {
                let state = &mut pending[*op];
                let added = state.params.insert(*param);
                if !added {
                    state.params.remove(param);
                }
                format!(
                    "{} query parameter `{}` of {} {}",
                    if added { "add" } else { "remove" },
                    PARAMS[*param],
                    OPS[*op].method.to_ascii_uppercase(),
                    state.path(&OPS[*op])
                )
            }
            SpecChange::Summary { op, summary } => {
                pending[*op].summary = *summary;
                format!(
                    "summary {summary} for {} {}",
                    OPS[*op].method.to_ascii_uppercase(),
                    pending[*op].path(&OPS[*op])
                )
            }
        };
        self.model.trace.push(line);
    }

    async fn edit(&mut self, op: usize, edit: &Edit) -> Result<(), TestCaseError> {
        let def = &OPS[op];
        let what = format!(
            "{} {}",
            def.method.to_ascii_uppercase(),
            self.model.applied[op].path(def)
        );
        let Some(id) = self.model.ids[op] else {
            self.model
                .trace
                .push(format!("(hand edit of {what} skipped: no action)"));
            return Ok(());
        };
        if matches!(edit, Edit::RemoveMagic(_)) && self.model.hand[op].magic_fields.is_empty() {
            self.model
                .trace
                .push(format!("(magic field removal on {what} skipped: none set)"));
            return Ok(());
        }
        let hand = &mut self.model.hand[op];
        let mut request = HandEdit::default();
        let field = match edit {
            Edit::Segments(segments) => {
                let segments: Vec<String> = segments.iter().map(|s| s.to_string()).collect();
                request.segments = Some(segments.clone());
                hand.segments = segments;
                "segments"
            }
            Edit::Channels(channels) => {
                request.channels = Some(channels.clone());
                let mut channels = channels.clone();
                channels.sort();
                channels.dedup();
                hand.channels = channels;
                "channels"
            }
            Edit::Magic { key, context } => {
                let (key, context) = (MAGIC_KEYS[*key].to_string(), CONTEXTS[*context].to_string());
                request.magic_fields = Some(BTreeMap::from([(key.clone(), context.clone())]));
                hand.magic_fields.insert(key, context);
                "magic_fields"
            }
            Edit::RemoveMagic(index) => {
                let keys: Vec<String> = hand.magic_fields.keys().cloned().collect();
                let key = keys[index.index(keys.len())].clone();
                hand.magic_fields.remove(&key);
                request.remove_magic = vec![key];
                "magic_fields"
            }
            Edit::RequireConfirmation(b) => {
                request.require_confirmation = Some(*b);
                hand.require_confirmation = *b;
                "require_confirmation"
            }
            Edit::Enabled(b) => {
                request.enabled = Some(*b);
                hand.enabled = *b;
                "enabled"
            }
            Edit::PinDescription(pin) => {
                request.pins = BTreeMap::from([("description".to_string(), json!(PINS[*pin]))]);
                hand.pins
                    .insert("description".to_string(), Value::from(PINS[*pin]));
                "pins"
            }
        };
        self.model.hand_set[op].insert(field.to_string());
        self.model.trace.push(format!(
            "hand edit of {what} (action {id}): {}",
            serde_json::to_string(&request).unwrap_or_default()
        ));
        let current = self
            .store
            .action(id)
            .await
            .map_err(|e| self.fail(format!("action {id}: {e}")))?;
        ensure!(self, current.is_some(), "action {id} is gone");
        let version = current.map(|a| a.version);
        let edited = self.store.edit_hand(id, version, &request, "prop").await;
        ensure!(
            self,
            edited.is_ok(),
            "the hand edit failed: {:?}",
            edited.err()
        );
        Ok(())
    }

    /// Every rule, against the catalogue as it is now.
    async fn check(&self) -> Result<(), TestCaseError> {
        let actions = self.actions().await?;
        let mut known = BTreeSet::new();
        for (i, def) in OPS.iter().enumerate() {
            let (Some(id), Some(stored)) = (self.model.ids[i], &self.model.stored[i]) else {
                continue;
            };
            known.insert(id);
            let present = self.model.applied[i].present;
            let found = actions.iter().find(|a| a.id == id);
            let what = format!("action {id} ({} {})", def.method, stored.path(def));
            ensure!(self, found.is_some(), "{what} is gone");
            let action = found.expect("checked");

            // Rule 4: active exactly when in the spec; archived when it left.
            let expected_state = if present {
                ActionState::Active
            } else {
                ActionState::Archived
            };
            ensure_eq!(self, action.state, expected_state, "{what}: state");

            // The spec-owned fields follow the spec (an archived action keeps the
            // last it had): key (renames), operation, parameters, description.
            ensure_eq!(self, action.key, stored.key(def), "{what}: key");
            ensure_eq!(self, action.name(), stored.name(def), "{what}: name");
            ensure_eq!(
                self,
                (
                    action.spec.operation.method.to_ascii_lowercase(),
                    action.spec.operation.path.as_str(),
                    action.spec.operation.operation_id.as_deref()
                ),
                (
                    def.method.to_string(),
                    stored.path(def),
                    stored.operation_id(def)
                ),
                "{what}: operation"
            );
            let params: BTreeSet<String> = action
                .spec
                .parameters
                .iter()
                .map(|p| p.key.clone())
                .collect();
            ensure_eq!(self, params, stored.param_keys(def), "{what}: parameters");
            ensure!(
                self,
                action
                    .spec
                    .description
                    .contains(def.summaries[stored.summary]),
                "{what}: the description {:?} is not from summary {}",
                action.spec.description,
                stored.summary
            );

            // Rule 2: hand-owned fields are the person's, never the plan's.
            ensure_eq!(
                self,
                action.hand,
                self.model.hand[i],
                "{what}: hand-owned fields"
            );
            let hand_set: BTreeSet<String> = action.hand_set.iter().cloned().collect();
            ensure_eq!(
                self,
                hand_set,
                self.model.hand_set[i],
                "{what}: fields a person set"
            );
            // The description in effect is the pin, when there is one.
            if let Some(pin) = self.model.hand[i].pins.get("description") {
                ensure_eq!(
                    self,
                    action.effective("description"),
                    *pin,
                    "{what}: description in effect"
                );
            }
        }
        let ids: BTreeSet<i64> = actions.iter().map(|a| a.id).collect();
        ensure_eq!(self, ids, known, "the source's action ids");

        // Rule 6: one revision per applied plan.
        let revisions = self
            .store
            .revisions(SOURCE)
            .await
            .map_err(|e| self.fail(format!("revisions: {e}")))?;
        ensure_eq!(
            self,
            revisions.iter().map(|r| r.number).collect::<Vec<_>>(),
            (1..=self.model.revision).rev().collect::<Vec<_>>(),
            "revisions"
        );

        // Rule 1: apply, then plan the same spec: empty. Orphans: exactly the magic
        // fields without their parameter.
        let plan = self.dry_run(true).await?;
        ensure!(
            self,
            plan.is_empty() && plan.refusals.is_empty(),
            "planning the applied spec again is not empty: {:#?}\nrefusals: {:#?}",
            plan.changes,
            plan.refusals
        );
        ensure_eq!(
            self,
            orphans(&plan),
            self.expected_orphans(),
            "orphans of the dry run"
        );
        Ok(())
    }

    /// The magic fields of active actions whose parameter is not in the operation.
    fn expected_orphans(&self) -> BTreeSet<(i64, String, String)> {
        let m = &self.model;
        let mut orphans = BTreeSet::new();
        for (i, def) in OPS.iter().enumerate() {
            let (Some(id), true) = (m.ids[i], m.applied[i].present) else {
                continue;
            };
            let fillable = m.applied[i].param_keys(def);
            for (field, context) in &m.hand[i].magic_fields {
                if !fillable.contains(field) {
                    orphans.insert((id, field.clone(), context.clone()));
                }
            }
        }
        orphans
    }
}

fn orphans(plan: &Plan) -> BTreeSet<(i64, String, String)> {
    plan.orphans
        .iter()
        .map(|o| (o.id, o.field.clone(), o.context.clone()))
        .collect()
}

async fn run_case(store: &AnyStore, (initial, edits, steps): &Case) -> Result<(), TestCaseError> {
    let specs = Specs::new();
    let file = specs.write("spec.yaml", &spec_text(&[]));
    let mut applied = initial.to_vec();
    for op in &mut applied {
        op.present = false;
    }
    let mut case = Run {
        store,
        src: source(SOURCE, &file),
        file,
        model: Model {
            pending: initial.to_vec(),
            applied,
            stored: vec![None; OPS.len()],
            ids: vec![None; OPS.len()],
            hand: OPS.iter().map(initial_hand).collect(),
            hand_set: vec![BTreeSet::new(); OPS.len()],
            revision: 0,
            trace: Vec::new(),
        },
    };
    case.apply().await?;
    for (op, edit) in edits {
        case.edit(*op, edit).await?;
    }
    case.check().await?;
    for step in steps {
        case.step(step).await?;
    }
    // Whatever is still pending, applied.
    case.apply().await?;
    case.check().await
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 200,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn sqlite(case in case()) {
        runtime().block_on(async {
            let (store, _dir) = common::sqlite().await;
            run_case(&store, &case).await
        })?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    fn postgres_cases(case in case()) {
        runtime().block_on(async {
            let store = common::postgres().await.expect("ACTIONSYNC_TEST_POSTGRES is set");
            run_case(&store, &case).await
        })?;
    }
}

#[test]
fn postgres() {
    if std::env::var(common::POSTGRES_ENV).is_err() {
        eprintln!(
            "SKIPPED: {} is unset; the PostgreSQL property test did not run",
            common::POSTGRES_ENV
        );
        return;
    }
    postgres_cases();
}
