//! The catalogue's rules (DESIGN.md, "Plan and apply"), on SQLite and PostgreSQL:
//! idempotence, hand-set fields surviving updates, renames, archive and restore,
//! prune, guards, kept operations, orphans, drift, conflicts, revisions, audit.

mod common;

use actionsync::action::{ActionState, Channel};
use actionsync::plan::ChangeKind;
use actionsync::store::{ActionQuery, AnyStore, HandEdit, Store, StoreError};
use actionsync::sync::{self, Outcome, ReconcileOptions};
use common::{Op, Specs, source, spec};
use serde_json::json;

async fn reconcile(
    store: &AnyStore,
    src: &actionsync::sync::SourceSpec,
    options: ReconcileOptions<'_>,
) -> Outcome {
    sync::reconcile(store, src, options)
        .await
        .expect("reconcile")
        .0
}

async fn action(store: &AnyStore, source: &str, key: &str) -> actionsync::action::StoredAction {
    store
        .actions(&ActionQuery {
            source: Some(source.to_string()),
            state: None,
            ..Default::default()
        })
        .await
        .expect("actions")
        .into_iter()
        .find(|a| a.key == key)
        .unwrap_or_else(|| panic!("no action {key}"))
}

fn applied(outcome: &Outcome) -> &actionsync::plan::Plan {
    match outcome {
        Outcome::Applied { plan, .. } => plan,
        other => panic!("expected an applied plan, got {other:#?}"),
    }
}

on_both_backends!(apply_then_plan_is_empty, |store: AnyStore| async move {
    let specs = Specs::new();
    let path = specs.write(
        "orders.yaml",
        &spec(&[
            Op::get("getOrder", "/orders/{id}"),
            Op::get("listOrders", "/orders"),
        ]),
    );
    let src = source("orders", &path);
    let first = reconcile(&store, &src, ReconcileOptions::default()).await;
    assert_eq!(applied(&first).counts.created, 2);
    // The same spec again: unchanged, without planning.
    assert!(matches!(
        reconcile(&store, &src, ReconcileOptions::default()).await,
        Outcome::Unchanged { .. }
    ));
    // Planned anyway: empty.
    let again = reconcile(
        &store,
        &src,
        ReconcileOptions {
            even_if_unchanged: true,
            ..ReconcileOptions::default()
        },
    )
    .await;
    let plan = again.plan().expect("a plan");
    assert!(plan.is_empty(), "{plan:#?}");
    assert_eq!(plan.counts.unchanged, 2);
});

on_both_backends!(
    hand_set_fields_survive_update_rename_archive_and_restore,
    |store: AnyStore| async move {
        let specs = Specs::new();
        let mut order = Op::get("getOrder", "/orders/{id}");
        order.params = vec!["expand".to_string()];
        let list = Op::get("listOrders", "/orders");
        let extra = Op::get("listShipments", "/shipments");
        let path = specs.write(
            "orders.yaml",
            &spec(&[order.clone(), list.clone(), extra.clone()]),
        );
        let src = source("orders", &path);
        reconcile(&store, &src, ReconcileOptions::default()).await;
        let original = action(&store, "orders", "getOrder").await;

        let edit = HandEdit {
            segments: Some(vec!["vip".into()]),
            channels: Some(vec![Channel::Sms, Channel::Widget]),
            magic_fields: Some([("expand".to_string(), "contact.order_id".to_string())].into()),
            require_confirmation: Some(true),
            enabled: Some(false),
            pins: [(
                "description".to_string(),
                json!("Look up one order by its number for the customer"),
            )]
            .into(),
            ..HandEdit::default()
        };
        let edited = store
            .edit_hand(original.id, Some(original.version), &edit, "test")
            .await
            .expect("edit");
        let hand = edited.hand.clone();
        assert_eq!(edited.hand_set.len(), 6, "{:?}", edited.hand_set);

        // The operationId changes, the path does not: a rename. The summary changes
        // under the pin (drift), and the magic field's parameter goes (orphan).
        let mut renamed = order.clone();
        renamed.id = Some("fetchOrder".to_string());
        renamed.summary = "Fetch an order with its lines and the shipping status".to_string();
        renamed.params = vec![];
        specs.write(
            "orders.yaml",
            &spec(&[renamed.clone(), list.clone(), extra.clone()]),
        );
        let outcome = reconcile(&store, &src, ReconcileOptions::default()).await;
        let plan = applied(&outcome);
        let change = plan
            .changes
            .iter()
            .find(|c| c.key == "fetchOrder")
            .expect("a change for fetchOrder");
        assert_eq!(
            (change.kind, change.id, change.previous_key.as_deref()),
            (ChangeKind::Update, Some(original.id), Some("getOrder"))
        );
        assert!(
            plan.drift
                .iter()
                .any(|d| d.id == original.id && d.field == "description"),
            "{:#?}",
            plan.drift
        );
        assert!(
            plan.orphans
                .iter()
                .any(|o| o.id == original.id && o.field == "expand"),
            "{:#?}",
            plan.orphans
        );
        let after = action(&store, "orders", "fetchOrder").await;
        assert_eq!(after.id, original.id);
        assert_eq!(after.hand, hand);
        assert_eq!(after.name(), "fetch_order");

        // The operation leaves the spec: archived, hand kept.
        specs.write("orders.yaml", &spec(&[list.clone(), extra.clone()]));
        let outcome = reconcile(&store, &src, ReconcileOptions::default()).await;
        assert_eq!(applied(&outcome).counts.archived, 1);
        let archived = action(&store, "orders", "fetchOrder").await;
        assert_eq!(
            (archived.state, &archived.hand),
            (ActionState::Archived, &hand)
        );

        // It returns, with its parameter: restored with everything, the magic field live again.
        let mut back = renamed.clone();
        back.params = vec!["expand".to_string()];
        specs.write("orders.yaml", &spec(&[back, list, extra]));
        let outcome = reconcile(&store, &src, ReconcileOptions::default()).await;
        let plan = applied(&outcome);
        assert_eq!(plan.counts.restored, 1);
        assert!(plan.orphans.is_empty(), "{:#?}", plan.orphans);
        let restored = action(&store, "orders", "fetchOrder").await;
        assert_eq!(
            (restored.id, restored.state, &restored.hand),
            (original.id, ActionState::Active, &hand)
        );
        assert_eq!(restored.hand_set, edited.hand_set);
    }
);

on_both_backends!(
    prune_deletes_and_guards_refuse_big_removals,
    |store: AnyStore| async move {
        let specs = Specs::new();
        let ops: Vec<Op> = (0..4)
            .map(|i| Op::get(&format!("op{i}Thing"), &format!("/things{i}")))
            .collect();
        let path = specs.write("things.yaml", &spec(&ops));
        let src = source("things", &path);
        reconcile(&store, &src, ReconcileOptions::default()).await;

        // Three of four gone: over the 50 % guard.
        specs.write("things.yaml", &spec(&ops[..1]));
        let refused = reconcile(&store, &src, ReconcileOptions::default()).await;
        let Outcome::Refused { plan } = &refused else {
            panic!("expected a refusal, got {refused:#?}")
        };
        assert!(
            plan.refusals
                .iter()
                .any(|r| r.code == "removal-guard" && r.overridable)
        );
        assert_eq!(
            action(&store, "things", "op3Thing").await.state,
            ActionState::Active,
            "nothing applied"
        );
        let record = store.source("things").await.unwrap().unwrap();
        assert!(
            record
                .last_error
                .as_deref()
                .unwrap_or("")
                .contains("refused"),
            "{record:?}"
        );

        // Forced, with prune: deleted.
        let forced = reconcile(
            &store,
            &src,
            ReconcileOptions {
                force: true,
                prune: true,
                ..ReconcileOptions::default()
            },
        )
        .await;
        assert_eq!(applied(&forced).counts.deleted, 3);
        let left = store.actions(&ActionQuery::default()).await.unwrap();
        assert_eq!(left.len(), 1);

        // A spec with zero operations is refused.
        specs.write("things.yaml", &spec(&[]));
        let zero = reconcile(&store, &src, ReconcileOptions::default()).await;
        let Outcome::Refused { plan } = &zero else {
            panic!("expected a refusal, got {zero:#?}")
        };
        assert!(plan.refusals.iter().any(|r| r.code == "zero-operations"));
    }
);

on_both_backends!(
    an_operation_that_fails_to_convert_is_kept,
    |store: AnyStore| async move {
        let specs = Specs::new();
        let good = spec(&[
            Op::get("getOrder", "/orders/{id}"),
            Op::get("listOrders", "/orders"),
        ]);
        let path = specs.write("orders.yaml", &good);
        let src = source("orders", &path);
        reconcile(&store, &src, ReconcileOptions::default()).await;
        // getOrder's parameter now points at nothing.
        let broken = good.replace(
            "- {name: id, in: path, required: true, schema: {type: string}}",
            "- {$ref: '#/components/parameters/Missing'}",
        );
        assert_ne!(broken, good);
        specs.write("orders.yaml", &broken);
        let outcome = reconcile(&store, &src, ReconcileOptions::default()).await;
        let plan = outcome.plan().expect("plan");
        assert!(plan.changes.is_empty(), "{:#?}", plan.changes);
        assert_eq!(plan.kept.len(), 1);
        assert_eq!(
            action(&store, "orders", "getOrder").await.state,
            ActionState::Active
        );
    }
);

on_both_backends!(
    names_are_unique_across_sources,
    |store: AnyStore| async move {
        let specs = Specs::new();
        let a = specs.write(
            "a.yaml",
            &spec(&[Op::get("getCustomer", "/customers/{id}")]),
        );
        let b = specs.write("b.yaml", &spec(&[Op::get("getCustomer", "/people/{id}")]));
        reconcile(&store, &source("a", &a), ReconcileOptions::default()).await;
        let outcome = reconcile(&store, &source("b", &b), ReconcileOptions::default()).await;
        let Outcome::Refused { plan } = &outcome else {
            panic!("expected a refusal, got {outcome:#?}")
        };
        assert!(
            plan.refusals
                .iter()
                .any(|r| r.code == "lint" && !r.overridable && r.message.contains("get_customer"))
        );
        // Forcing does not let a broken catalogue through.
        let forced = reconcile(
            &store,
            &source("b", &b),
            ReconcileOptions {
                force: true,
                ..ReconcileOptions::default()
            },
        )
        .await;
        assert!(matches!(forced, Outcome::Refused { .. }));
    }
);

on_both_backends!(
    a_stale_plan_and_a_stale_edit_are_refused,
    |store: AnyStore| async move {
        let specs = Specs::new();
        let path = specs.write("orders.yaml", &spec(&[Op::get("getOrder", "/orders/{id}")]));
        let src = source("orders", &path);
        reconcile(&store, &src, ReconcileOptions::default()).await;
        let stored = action(&store, "orders", "getOrder").await;

        // Two plans made against revision 1; the second to apply is refused.
        let mut op = Op::get("getOrder", "/orders/{id}");
        op.summary = "A newer description of looking up one order".to_string();
        specs.write("orders.yaml", &spec(&[op]));
        let first = reconcile(
            &store,
            &src,
            ReconcileOptions {
                dry_run: true,
                ..ReconcileOptions::default()
            },
        )
        .await;
        let plan = first.plan().expect("plan").clone();
        reconcile(&store, &src, ReconcileOptions::default()).await;
        let blob = actionsync::store::SpecBlob {
            hash: "x",
            bytes: b"x",
        };
        let err = store
            .apply(&plan, blob, "x", actionsync::store::AppliedBy::Cli, None)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Conflict {
                    current: 2,
                    planned: 1,
                    ..
                }
            ),
            "{err}"
        );

        // A hand edit based on the version before that apply.
        let edit = HandEdit {
            enabled: Some(false),
            ..HandEdit::default()
        };
        let err = store
            .edit_hand(stored.id, Some(stored.version), &edit, "test")
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Stale { .. }), "{err}");
        let fresh = action(&store, "orders", "getOrder").await;
        store
            .edit_hand(fresh.id, Some(fresh.version), &edit, "test")
            .await
            .expect("a fresh edit");
    }
);

on_both_backends!(revisions_audit_and_rollback, |store: AnyStore| async move {
    let specs = Specs::new();
    let v1 = spec(&[
        Op::get("getOrder", "/orders/{id}"),
        Op::get("listOrders", "/orders"),
    ]);
    let path = specs.write("orders.yaml", &v1);
    let src = source("orders", &path);
    reconcile(&store, &src, ReconcileOptions::default()).await;
    let stored = action(&store, "orders", "getOrder").await;
    store
        .edit_hand(
            stored.id,
            None,
            &HandEdit {
                segments: Some(vec!["eu".into()]),
                ..HandEdit::default()
            },
            "alice",
        )
        .await
        .unwrap();
    let mut changed = Op::get("getOrder", "/orders/{id}");
    changed.summary = "Look up one order and its refunds for the customer".to_string();
    specs.write(
        "orders.yaml",
        &spec(&[changed, Op::get("listOrders", "/orders")]),
    );
    reconcile(&store, &src, ReconcileOptions::default()).await;

    let outcome = sync::rollback(&store, &src, 1, ReconcileOptions::default())
        .await
        .expect("rollback")
        .0;
    let plan = applied(&outcome);
    assert_eq!(plan.counts.updated, 1);
    let revisions = store.revisions("orders").await.unwrap();
    assert_eq!(
        revisions.iter().map(|r| r.number).collect::<Vec<_>>(),
        vec![3, 2, 1]
    );
    assert_eq!(
        revisions[0].spec_hash, revisions[2].spec_hash,
        "the spec is stored once per hash"
    );
    assert_eq!(revisions[0].applied_by, "user");
    let body = store
        .spec_body(&revisions[2].spec_hash)
        .await
        .unwrap()
        .expect("stored spec");
    assert_eq!(body, v1.as_bytes());
    let detail = store
        .revision("orders", 2)
        .await
        .unwrap()
        .expect("revision 2");
    assert_eq!(detail.plan.expect("its plan").changes.len(), 1);
    let after = action(&store, "orders", "getOrder").await;
    assert_eq!(
        after.hand.segments,
        vec!["eu"],
        "rollback leaves hand-set fields"
    );
    let audit = store.audit(stored.id).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(
        (
            audit[0].actor.as_str(),
            audit[0].field.as_str(),
            &audit[0].new
        ),
        ("alice", "segments", &json!(["eu"]))
    );
});

on_both_backends!(
    pinned_names_are_unique_and_validated,
    |store: AnyStore| async move {
        let specs = Specs::new();
        let path = specs.write(
            "orders.yaml",
            &spec(&[
                Op::get("getOrder", "/orders/{id}"),
                Op::get("listOrders", "/orders"),
            ]),
        );
        reconcile(
            &store,
            &source("orders", &path),
            ReconcileOptions::default(),
        )
        .await;
        let get = action(&store, "orders", "getOrder").await;
        let pin = |v: serde_json::Value| HandEdit {
            pins: [("name".to_string(), v)].into(),
            ..HandEdit::default()
        };
        let err = store
            .edit_hand(get.id, None, &pin(json!("list_orders")), "t")
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::NameTaken(ref n) if n == "list_orders"),
            "{err}"
        );
        let err = store
            .edit_hand(get.id, None, &pin(json!("Bad Name")), "t")
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{err}");
        let renamed = store
            .edit_hand(get.id, None, &pin(json!("look_up_order")), "t")
            .await
            .unwrap();
        assert_eq!(renamed.name(), "look_up_order");
        assert_eq!(
            store
                .action_by_name("look_up_order")
                .await
                .unwrap()
                .map(|a| a.id),
            Some(get.id)
        );
    }
);

/// A recursive body as catalogues stored it before schemas were bounded: the
/// recursion kept under `$defs`, reached by `$ref`.
const TREE_SPEC: &str = r##"
openapi: 3.0.3
info: {title: Folders, version: "1"}
servers: [{url: "https://api.example.com"}]
paths:
  /folders:
    post:
      operationId: createFolder
      summary: Create a folder tree for a customer's documents
      parameters:
        - {name: X-Tenant, in: header, schema: {type: string}}
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Folder"}
      responses: {"201": {description: Created}}
components:
  schemas:
    Folder:
      type: object
      properties:
        name: {type: string}
        children: {type: array, items: {$ref: "#/components/schemas/Folder"}}
"##;

on_both_backends!(
    a_catalogue_from_before_bounded_schemas_replans_once_and_keeps_hand_edits,
    |store: AnyStore| async move {
        use actionsync::plan::{PlanInput, PlanOptions};
        use actionsync::store::{AppliedBy, SpecBlob};

        let specs = Specs::new();
        let path = specs.write("folders.yaml", TREE_SPEC);
        let src = source("folders", &path);
        // What the catalogue held before: the same conversion, its body in the old
        // shape (recursion under `$defs`).
        let loaded = actionsync::source::load(&src.location, &src.load).expect("the spec loads");
        let mut old = actionsync::convert::convert(&loaded, &src.convert);
        let old_body = json!({
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "children": {"type": "array", "items": {"$ref": "#/$defs/Folder"}}
            },
            "$defs": {"Folder": {"type": "object", "properties": {
                "name": {"type": "string"},
                "children": {"type": "array", "items": {"$ref": "#/$defs/Folder"}}
            }}}
        });
        old.actions[0].spec.body.as_mut().expect("a body").schema = old_body.clone();
        store
            .ensure_source("folders", "file", &src.location.display())
            .await
            .expect("the source");
        let plan = actionsync::plan::plan(PlanInput {
            source: "folders",
            spec_hash: "before",
            base_revision: 0,
            current: &[],
            others: &[],
            conversion: &old,
            options: PlanOptions::default(),
        });
        store
            .apply(
                &plan,
                SpecBlob {
                    hash: "before",
                    bytes: b"",
                },
                "before",
                AppliedBy::Cli,
                None,
            )
            .await
            .expect("the old catalogue applies");
        let before = action(&store, "folders", "createFolder").await;
        assert_eq!(before.spec.body.as_ref().unwrap().schema, old_body);
        let edit = HandEdit {
            channels: Some(vec![Channel::Widget, Channel::Email]),
            segments: Some(vec!["vip".to_string()]),
            magic_fields: Some(
                [("X-Tenant".to_string(), "contact.company".to_string())]
                    .into_iter()
                    .collect(),
            ),
            require_confirmation: Some(true),
            ..HandEdit::default()
        };
        let edited = store
            .edit_hand(before.id, Some(before.version), &edit, "test")
            .await
            .expect("hand edit");

        // The first reconcile with bounded schemas: one update, of the body only.
        let outcome = reconcile(&store, &src, ReconcileOptions::default()).await;
        let plan = applied(&outcome);
        assert_eq!(plan.counts.updated, 1, "{plan:#?}");
        let change = &plan.changes[0];
        assert_eq!(change.kind, ChangeKind::Update);
        let fields: Vec<&str> = change.fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["body"]);
        let after = action(&store, "folders", "createFolder").await;
        assert_eq!(after.id, before.id);
        assert_eq!(after.hand, edited.hand, "no hand-set field moved");
        let body = &after.spec.body.as_ref().unwrap().schema;
        assert!(body.get("$defs").is_none(), "{body:#}");
        assert_eq!(
            body["properties"]["children"]["items"],
            json!({"type": "object", "description": "Folder (not expanded: recursive)"})
        );

        // Once only: planning the same spec again changes nothing.
        let again = reconcile(
            &store,
            &src,
            ReconcileOptions {
                even_if_unchanged: true,
                ..ReconcileOptions::default()
            },
        )
        .await;
        assert!(again.plan().expect("a plan").is_empty());
    }
);
