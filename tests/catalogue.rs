//! The catalogue's rules (DESIGN.md, "Plan and apply"), on SQLite and PostgreSQL:
//! idempotence, hand-set fields surviving updates, renames, archive and restore,
//! prune, guards, kept operations, orphans, drift, conflicts, revisions, audit.

mod common;

use actionsync::action::{ActionState, Channel};
use actionsync::plan::ChangeKind;
use actionsync::store::{ActionQuery, AnyStore, AppliedBy, HandEdit, Store, StoreError};
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
    a_refused_reconcile_is_recorded_once_per_spec_and_reason,
    |store: AnyStore| async move {
        let specs = Specs::new();
        let path = specs.write("orders.yaml", &spec(&[Op::get("getOrder", "/orders/{id}")]));
        let src = source("orders", &path);
        reconcile(&store, &src, ReconcileOptions::default()).await;
        // Zero operations: the guard refuses, twice, and a dry run is not recorded.
        specs.write("orders.yaml", &spec(&[]));
        for dry_run in [false, false, true] {
            let outcome = reconcile(
                &store,
                &src,
                ReconcileOptions {
                    dry_run,
                    ..ReconcileOptions::default()
                },
            )
            .await;
            assert!(matches!(outcome, Outcome::Refused { .. }), "{outcome:#?}");
        }
        let refusals = store.refusals("orders").await.unwrap();
        assert_eq!(refusals.len(), 1, "{refusals:#?}");
        assert_eq!(refusals[0].times, 2);
        assert!(refusals[0].reasons[0].contains("zero operations"));
        assert_eq!(refusals[0].refused_by, "cli");
        // Another spec refused: a row of its own, newest first.
        specs.write(
            "orders.yaml",
            &format!("{}\n# another revision of nothing\n", spec(&[])),
        );
        reconcile(&store, &src, ReconcileOptions::default()).await;
        let refusals = store.refusals("orders").await.unwrap();
        assert_eq!(refusals.len(), 2);
        assert_eq!(refusals[0].times, 1);
        assert!(store.refusals("nobody").await.unwrap().is_empty());
    }
);

on_both_backends!(
    a_file_source_is_recorded_by_its_absolute_path,
    |store: AnyStore| async move {
        // The bundled spec, by a path relative to the crate root (the tests' folder).
        let relative = std::path::Path::new("specs/orders.yaml");
        assert!(relative.is_file(), "run from the crate root");
        reconcile(
            &store,
            &source("orders", relative),
            ReconcileOptions::default(),
        )
        .await;
        let record = store.source("orders").await.unwrap().expect("the source");
        let recorded = std::path::Path::new(&record.location);
        assert!(recorded.is_absolute(), "{}", record.location);
        assert!(
            recorded.ends_with("specs/orders.yaml"),
            "{}",
            record.location
        );
    }
);

on_both_backends!(
    backup_copies_sqlite_and_names_pg_dump_for_postgres,
    |store: AnyStore| async move {
        let specs = Specs::new();
        let path = specs.write("orders.yaml", &spec(&[Op::get("getOrder", "/orders/{id}")]));
        reconcile(
            &store,
            &source("orders", &path),
            ReconcileOptions::default(),
        )
        .await;
        let to = specs.path().join("backup.db");
        match &store {
            AnyStore::Sqlite(_) => {
                store.backup(&to).await.expect("backup");
                let copy =
                    actionsync::store::open(&format!("sqlite://{}", to.display()), specs.path())
                        .await
                        .expect("the copy opens as a catalogue");
                let actions = copy.actions(&ActionQuery::default()).await.unwrap();
                assert_eq!(actions.len(), 1);
                assert!(store.backup(&to).await.is_err(), "never overwrites");
            }
            AnyStore::Postgres(_) => {
                let e = store.backup(&to).await.expect_err("postgres: pg_dump");
                assert!(e.to_string().contains("pg_dump"), "{e}");
                assert!(!to.exists());
            }
        }
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
        // The second source applies: its action takes the source's prefix.
        let outcome = reconcile(&store, &source("b", &b), ReconcileOptions::default()).await;
        let plan = applied(&outcome);
        assert_eq!(plan.changes[0].name, "b_get_customer");
        assert!(
            plan.diagnostics
                .iter()
                .any(|d| d.code == "name-prefixed" && d.message.contains("source `a`")),
            "{:#?}",
            plan.diagnostics
        );
        assert_eq!(
            action(&store, "b", "getCustomer").await.name,
            "b_get_customer"
        );
        assert_eq!(
            action(&store, "a", "getCustomer").await.name,
            "get_customer"
        );

        // It keeps that name when its spec changes, even once the clash is gone.
        let mut op = Op::get("getCustomer", "/people/{id}");
        op.summary = "Look up one customer of the people service by id".to_string();
        specs.write("b.yaml", &spec(&[op]));
        specs.write("a.yaml", &spec(&[Op::get("getInvoice", "/invoices/{id}")]));
        let forced = ReconcileOptions {
            force: true,
            ..ReconcileOptions::default()
        };
        reconcile(&store, &source("a", &a), forced).await;
        let outcome = reconcile(&store, &source("b", &b), ReconcileOptions::default()).await;
        assert_eq!(applied(&outcome).counts.updated, 1);
        assert_eq!(
            action(&store, "b", "getCustomer").await.name,
            "b_get_customer"
        );
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

    // A file source: its next reconcile would undo a rollback, so it must be paused.
    let refused = sync::rollback(&store, &src, 1, false, ReconcileOptions::default()).await;
    assert!(
        matches!(refused, Err(sync::SyncError::NotPaused { .. })),
        "{refused:?}"
    );
    let by_user = ReconcileOptions {
        applied_by: AppliedBy::User,
        ..ReconcileOptions::default()
    };
    let outcome = sync::rollback(&store, &src, 1, true, by_user)
        .await
        .expect("rollback")
        .0;
    let plan = applied(&outcome);
    assert!(store.source("orders").await.unwrap().unwrap().paused);
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
        old.actions[0].spec.body.as_mut().expect("a body").schema =
            std::sync::Arc::new(old_body.clone());
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
            name_prefix: "folders",
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
        assert_eq!(*before.spec.body.as_ref().unwrap().schema, old_body);
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

/// A dry-run plan of the source's spec, past the unchanged check.
async fn replan(store: &AnyStore, src: &actionsync::sync::SourceSpec) -> actionsync::plan::Plan {
    let outcome = reconcile(
        store,
        src,
        ReconcileOptions {
            dry_run: true,
            even_if_unchanged: true,
            ..ReconcileOptions::default()
        },
    )
    .await;
    outcome.plan().expect("a plan").clone()
}

on_both_backends!(
    a_first_apply_of_many_actions_keeps_each_id_with_its_key,
    |store: AnyStore| async move {
        // More actions than one multi-row statement takes.
        let n = 1_100;
        let ops: Vec<Op> = (0..n)
            .map(|i| Op::get(&format!("getThing{i}"), &format!("/things{i}/{{id}}")))
            .collect();
        let specs = Specs::new();
        let path = specs.write("things.yaml", &spec(&ops));
        let src = source("things", &path);
        let outcome = reconcile(&store, &src, ReconcileOptions::default()).await;
        let plan = applied(&outcome).clone();
        assert_eq!(plan.counts.created, n);

        let stored = store
            .actions(&ActionQuery {
                source: Some("things".to_string()),
                ..Default::default()
            })
            .await
            .expect("actions");
        assert_eq!(stored.len(), n);
        // The revision records the plan as applied, with each new action's id.
        let revision = store
            .revision("things", 1)
            .await
            .expect("revision")
            .expect("revision 1");
        let recorded = revision.plan.expect("its plan").changes;
        assert_eq!(
            recorded.iter().map(|c| &c.key).collect::<Vec<_>>(),
            plan.changes.iter().map(|c| &c.key).collect::<Vec<_>>()
        );
        let by_id: std::collections::HashMap<i64, &actionsync::action::StoredAction> =
            stored.iter().map(|a| (a.id, a)).collect();
        for (i, change) in recorded.iter().enumerate() {
            let id = change.id.expect("an id for each created action");
            let row = by_id.get(&id).expect("the row the revision names");
            assert_eq!(row.key, format!("getThing{i}"));
            assert_eq!(row.key, change.key);
            assert_eq!(row.name(), format!("get_thing{i}"));
            assert_eq!(row.spec.operation.path, format!("/things{i}/{{id}}"));
            assert_eq!((row.state, row.version), (ActionState::Active, 1));
        }

        // Planned again: nothing to do.
        let again = replan(&store, &src).await;
        assert!(again.is_empty(), "{:#?}", again.changes.first());
        assert_eq!(again.counts.unchanged, n);

        // Most of them leave: archived in one apply, and back again.
        specs.write("things.yaml", &spec(&ops[..100]));
        let forced = ReconcileOptions {
            force: true,
            ..ReconcileOptions::default()
        };
        let outcome = reconcile(&store, &src, forced).await;
        assert_eq!(applied(&outcome).counts.archived, n - 100);
        specs.write("things.yaml", &spec(&ops));
        let outcome = reconcile(&store, &src, forced).await;
        assert_eq!(applied(&outcome).counts.restored, n - 100);
        assert!(replan(&store, &src).await.is_empty());
    }
);

on_both_backends!(
    two_actions_swap_names_in_one_apply,
    |store: AnyStore| async move {
        // Both operationIds make the name `get_item`: the first in spec order
        // keeps it, the other is `get_item_2`. Reordering swaps them.
        let a = Op::get("getItem", "/items/a");
        let b = Op::get("get_item", "/items/b");
        let specs = Specs::new();
        let path = specs.write("items.yaml", &spec(&[a.clone(), b.clone()]));
        let src = source("items", &path);
        reconcile(&store, &src, ReconcileOptions::default()).await;
        assert_eq!(action(&store, "items", "getItem").await.name(), "get_item");
        assert_eq!(
            action(&store, "items", "get_item").await.name(),
            "get_item_2"
        );

        specs.write("items.yaml", &spec(&[b, a]));
        let outcome = reconcile(&store, &src, ReconcileOptions::default()).await;
        assert_eq!(applied(&outcome).counts.updated, 2);
        assert_eq!(
            action(&store, "items", "getItem").await.name(),
            "get_item_2"
        );
        assert_eq!(action(&store, "items", "get_item").await.name(), "get_item");
        assert!(replan(&store, &src).await.is_empty());
    }
);

on_both_backends!(
    a_hand_edit_made_after_the_plan_survives_its_apply,
    |store: AnyStore| async move {
        let specs = Specs::new();
        let path = specs.write("orders.yaml", &spec(&[Op::get("getOrder", "/orders/{id}")]));
        let src = source("orders", &path);
        reconcile(&store, &src, ReconcileOptions::default()).await;
        let mut changed = Op::get("getOrder", "/orders/{id}");
        changed.summary = "Find one order by its number for the customer".to_string();
        specs.write("orders.yaml", &spec(&[changed]));
        let plan = replan(&store, &src).await;
        assert_eq!(plan.counts.updated, 1);

        // Between the plan and its apply, a person pins a name and sets segments.
        let before = action(&store, "orders", "getOrder").await;
        let edit = HandEdit {
            segments: Some(vec!["vip".into()]),
            pins: [("name".to_string(), json!("find_order"))].into(),
            ..HandEdit::default()
        };
        let edited = store
            .edit_hand(before.id, Some(before.version), &edit, "alice")
            .await
            .expect("edit");
        let blob = actionsync::store::SpecBlob {
            hash: "v2",
            bytes: b"v2",
        };
        store
            .apply(&plan, blob, "v2", actionsync::store::AppliedBy::Cli, None)
            .await
            .expect("the plan applies");
        let after = action(&store, "orders", "getOrder").await;
        assert_eq!(after.hand, edited.hand, "the hand edit is kept");
        assert_eq!(after.name(), "find_order", "the pinned name wins");
        assert_eq!(
            after.spec.description,
            "Find one order by its number for the customer"
        );
        assert_eq!(after.version, edited.version + 1);
    }
);

on_both_backends!(
    a_name_taken_after_the_plan_is_refused_naming_it,
    |store: AnyStore| async move {
        let specs = Specs::new();
        let a = specs.write(
            "a.yaml",
            &spec(&[Op::get("getCustomer", "/customers/{id}")]),
        );
        let b = specs.write(
            "b.yaml",
            &spec(&[
                Op::get("listPeople", "/people"),
                Op::get("getCustomer", "/people/{id}"),
            ]),
        );
        let (src_a, src_b) = (source("a", &a), source("b", &b));
        // b is planned while the name is free; a takes it before b applies.
        store
            .ensure_source("b", "file", "b.yaml")
            .await
            .expect("source b");
        let plan = replan(&store, &src_b).await;
        assert!(!plan.is_blocked(), "{:#?}", plan.refusals);
        reconcile(&store, &src_a, ReconcileOptions::default()).await;
        let blob = actionsync::store::SpecBlob {
            hash: "b",
            bytes: b"b",
        };
        let err = store
            .apply(&plan, blob, "b", actionsync::store::AppliedBy::Cli, None)
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::NameTaken(ref n) if n == "get_customer"),
            "{err}"
        );
        // Nothing of b was applied.
        let left = store
            .actions(&ActionQuery {
                source: Some("b".to_string()),
                ..Default::default()
            })
            .await
            .expect("actions");
        assert!(left.is_empty(), "{left:#?}");
        assert_eq!(store.source("b").await.unwrap().unwrap().last_revision, 0);
    }
);

/// A pool on the database file of the SQLite catalogue in `dir`
/// (`common::sqlite`), for tests that look at its rows.
async fn sqlite_pool(dir: &std::path::Path) -> sqlx::SqlitePool {
    sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.join("catalogue.db").display()))
        .await
        .expect("open the file")
}

/// A PostgreSQL catalogue in a schema of its own and a pool on it, for tests
/// that look at its rows; `None` where the test database is not set
/// (`postgres_url` says so).
async fn postgres_with_pool() -> Option<(AnyStore, sqlx::PgPool)> {
    let url = common::postgres_url().await?;
    let store = actionsync::store::open(&url, std::path::Path::new("."))
        .await
        .expect("open postgres");
    let pool = sqlx::PgPool::connect(&url).await.expect("connect");
    Some((store, pool))
}

/// Forgets every action's digest, as in a catalogue written before digests were
/// kept.
async fn forget_digests_sqlite(dir: &std::path::Path) {
    let pool = sqlite_pool(dir).await;
    sqlx::query("UPDATE actions SET spec_digest = NULL")
        .execute(&pool)
        .await
        .expect("forget digests");
    pool.close().await;
}

/// A sequence of spec changes and hand edits, planned on a catalogue with digests
/// and again with them forgotten: the plans are the same. Returns the plan.
async fn plans_without_digests_are_the_same(
    store: &AnyStore,
    forget: impl AsyncFn(),
) -> actionsync::plan::Plan {
    let specs = Specs::new();
    let mut get = Op::get("getOrder", "/orders/{id}");
    get.params = vec!["expand".to_string()];
    let list = Op::get("listOrders", "/orders");
    let ship = Op::get("listShipments", "/shipments");
    let gone = Op::get("listRefunds", "/refunds");
    let path = specs.write(
        "orders.yaml",
        &spec(&[get.clone(), list.clone(), ship.clone(), gone.clone()]),
    );
    let src = source("orders", &path);
    reconcile(store, &src, ReconcileOptions::default()).await;
    let stored = action(store, "orders", "getOrder").await;
    store
        .edit_hand(
            stored.id,
            None,
            &HandEdit {
                magic_fields: Some([("expand".to_string(), "contact.id".to_string())].into()),
                pins: [(
                    "description".to_string(),
                    json!("Look up one order for the customer"),
                )]
                .into(),
                ..HandEdit::default()
            },
            "alice",
        )
        .await
        .expect("edit");

    // Drift and an orphan on getOrder, a rename of listShipments, one removal,
    // listOrders unchanged.
    let mut drifted = get.clone();
    drifted.summary = "Look up one order with its lines for the customer".to_string();
    drifted.params = Vec::new();
    let mut renamed = ship.clone();
    renamed.id = Some("getShipments".to_string());
    specs.write("orders.yaml", &spec(&[drifted, list.clone(), renamed]));
    let with_digests = replan(store, &src).await;
    forget().await;
    let without = replan(store, &src).await;
    assert_eq!(with_digests, without);

    // Applied without digests, then planned again: nothing to do, with or without.
    let outcome = reconcile(store, &src, ReconcileOptions::default()).await;
    assert_eq!(applied(&outcome).changes, with_digests.changes);
    assert!(replan(store, &src).await.is_empty());
    forget().await;
    assert!(replan(store, &src).await.is_empty());
    with_digests
}

fn assert_plan_has_everything(plan: &actionsync::plan::Plan) {
    assert_eq!(
        (
            plan.counts.updated,
            plan.counts.archived,
            plan.counts.unchanged
        ),
        (2, 1, 1),
        "{plan:#?}"
    );
    assert!(
        plan.drift.iter().any(|d| d.field == "description"),
        "{:#?}",
        plan.drift
    );
    assert!(
        plan.orphans.iter().any(|o| o.field == "expand"),
        "{:#?}",
        plan.orphans
    );
    assert!(
        plan.changes
            .iter()
            .any(|c| c.previous_key.as_deref() == Some("listShipments")),
        "{:#?}",
        plan.changes
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catalogue_without_digests_plans_the_same_sqlite() {
    let (store, dir) = common::sqlite().await;
    let plan = plans_without_digests_are_the_same(&store, async || {
        forget_digests_sqlite(dir.path()).await
    })
    .await;
    assert_plan_has_everything(&plan);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catalogue_without_digests_plans_the_same_postgres() {
    let Some((store, pool)) = postgres_with_pool().await else {
        return;
    };
    let plan = plans_without_digests_are_the_same(&store, async || {
        sqlx::query("UPDATE actions SET spec_digest = NULL")
            .execute(&pool)
            .await
            .expect("forget digests");
    })
    .await;
    assert_plan_has_everything(&plan);
    pool.close().await;
}

/// The plan warns about exactly the tools over `tool_tokens`, with their counts,
/// whichever of them it counts.
#[test]
fn the_plan_warns_about_exactly_the_tools_over_the_token_budget() {
    use actionsync::plan::{PlanInput, PlanOptions};

    let specs = Specs::new();
    let mut ops: Vec<Op> = (0..12)
        .map(|i| Op::get(&format!("getThing{i}"), &format!("/things{i}/{{id}}")))
        .collect();
    for (i, op) in ops.iter_mut().enumerate() {
        op.params = (0..i * 3).map(|p| format!("filter{p}")).collect();
    }
    let path = specs.write("things.yaml", &spec(&ops));
    let src = source("things", &path);
    let loaded = actionsync::source::load(&src.location, &src.load).expect("the spec loads");
    let conversion = actionsync::convert::convert(&loaded, &src.convert);
    let mut costs: Vec<(String, usize)> = conversion
        .actions
        .iter()
        .map(|d| {
            (
                d.key.clone(),
                actionsync::tools::tokens(&actionsync::tools::preview(d)),
            )
        })
        .collect();
    costs.sort_by_key(|(_, tokens)| *tokens);
    // A budget in the middle: half the tools are over it.
    let budget = costs[costs.len() / 2].1;
    let plan = actionsync::plan::plan(PlanInput {
        source: "things",
        spec_hash: "h",
        base_revision: 0,
        current: &[],
        others: &[],
        conversion: &conversion,
        options: PlanOptions {
            tool_tokens: budget,
            ..PlanOptions::default()
        },
        name_prefix: "things",
    });
    let mut warned: Vec<(String, String)> = plan
        .diagnostics
        .iter()
        .filter(|d| d.code == "tool-over-budget")
        .map(|d| (d.key.clone().unwrap_or_default(), d.message.clone()))
        .collect();
    warned.sort();
    let mut expected: Vec<(String, String)> = costs
        .iter()
        .filter(|(_, tokens)| *tokens > budget)
        .map(|(key, tokens)| {
            let name = conversion
                .actions
                .iter()
                .find(|d| &d.key == key)
                .map(|d| d.spec.name.clone())
                .unwrap_or_default();
            (
                key.clone(),
                format!(
                    "the tool `{name}` costs {tokens} tokens, over the budget of {budget} per tool (budget.tool_tokens); shorten its description, leave out parameters the AI need not fill (magic fields), or pin a smaller body"
                ),
            )
        })
        .collect();
    expected.sort();
    assert!(!expected.is_empty() && expected.len() < costs.len());
    assert_eq!(warned, expected);
}

on_both_backends!(
    console_sessions_expire_end_and_die_with_their_token,
    |store: AnyStore| async move {
        use actionsync::store::{NewToken, TokenScope, now_ms};
        let token = store
            .create_token(&NewToken {
                name: "jane".to_string(),
                hash: "h-jane".to_string(),
                scope: TokenScope::Curator,
                sources: Vec::new(),
            })
            .await
            .expect("a curator token is stored");
        assert_eq!(token.scope, TokenScope::Curator);
        let now = now_ms();
        store
            .create_session("s1", token.id, "csrf-1", now + 60_000)
            .await
            .expect("a session");
        store
            .create_session("s2", token.id, "csrf-2", now + 60_000)
            .await
            .expect("another session");
        let session = store
            .session("s1", now)
            .await
            .expect("read")
            .expect("the session is live");
        assert_eq!(session.token.name, "jane");
        assert_eq!(session.csrf, "csrf-1");
        // Past its expiry, a session is gone.
        assert!(
            store
                .session("s1", now + 60_000)
                .await
                .expect("read")
                .is_none()
        );
        // Signing out ends one session, not the others.
        assert!(store.delete_session("s1").await.expect("delete"));
        assert!(store.session("s1", now).await.expect("read").is_none());
        assert!(store.session("s2", now).await.expect("read").is_some());
        // Revoking the token ends the rest.
        assert!(store.revoke_token(token.id).await.expect("revoke"));
        assert!(store.session("s2", now).await.expect("read").is_none());
        assert!(!store.delete_session("s2").await.expect("delete"));
    }
);

/// What an apply writes most of, the spec's bytes and the revision's plan, is
/// stored compressed and reads back the same; rows in the layout of catalogues
/// written before (plain bytes, plan as text) read as before; a stored spec that
/// is not what its row says is an error naming the column, not a wrong spec.
/// `$pool` is a connection pool to the store's own database.
macro_rules! compressed_columns_read_back {
    ($store:expr, $pool:expr) => {{
        let store: &AnyStore = $store;
        let pool = $pool;
        let specs = Specs::new();
        let ops: Vec<Op> = (0..30)
            .map(|i| Op::get(&format!("getThing{i}"), &format!("/things{i}/{{id}}")))
            .collect();
        let text = spec(&ops);
        let path = specs.write("things.yaml", &text);
        let outcome = reconcile(store, &source("things", &path), ReconcileOptions::default()).await;
        assert_eq!(applied(&outcome).counts.created, 30);

        let row = sqlx::query("SELECT encoding, CAST(length(body) AS BIGINT) AS stored, size FROM specs")
            .fetch_one(&pool)
            .await
            .expect("the spec's row");
        let (encoding, stored, size): (Option<String>, i64, i64) = (
            row.get("encoding"),
            row.get("stored"),
            row.get("size"),
        );
        assert_eq!(encoding.as_deref(), Some("zstd"));
        assert_eq!(size, text.len() as i64);
        assert!(stored * 4 < size, "{stored} bytes stored of {size}");
        let row = sqlx::query(
            "SELECT plan, CAST(length(plan_zstd) AS BIGINT) AS stored FROM revisions WHERE source = 'things'",
        )
        .fetch_one(&pool)
        .await
        .expect("the revision's row");
        assert_eq!(row.get::<String, _>("plan"), "");
        assert!(row.get::<Option<i64>, _>("stored").is_some_and(|n| n > 0));

        let hash = store.revisions("things").await.expect("revisions")[0].spec_hash.clone();
        let body = store.spec_body(&hash).await.expect("read").expect("stored");
        assert_eq!(body, text.as_bytes());
        let recorded = store
            .revision("things", 1)
            .await
            .expect("read")
            .expect("revision 1")
            .plan
            .expect("its plan");
        assert_eq!(recorded.changes.len(), 30);
        assert!(recorded.changes.iter().all(|c| c.id.is_some()), "the new actions' ids are recorded");
        assert_eq!(recorded.changes.iter().map(|c| &c.key).collect::<Vec<_>>(),
            applied(&outcome).changes.iter().map(|c| &c.key).collect::<Vec<_>>());

        // As a catalogue written before compression holds them.
        sqlx::query("UPDATE specs SET body = $1, encoding = NULL")
            .bind(text.as_bytes())
            .execute(&pool)
            .await
            .expect("plain body");
        sqlx::query("UPDATE revisions SET plan = $1, plan_zstd = NULL")
            .bind(serde_json::to_string(&recorded).expect("plan as JSON"))
            .execute(&pool)
            .await
            .expect("plan as text");
        assert_eq!(store.spec_body(&hash).await.expect("read").expect("stored"), text.as_bytes());
        assert_eq!(
            store.revision("things", 1).await.expect("read").expect("revision 1").plan,
            Some(recorded)
        );

        // Not what the row says.
        sqlx::query("UPDATE specs SET body = $1, encoding = 'zstd'")
            .bind(&b"openapi: 3.0.3"[..])
            .execute(&pool)
            .await
            .expect("corrupt body");
        let e = store.spec_body(&hash).await.expect_err("not a zstd frame");
        assert!(matches!(e, StoreError::Corrupt(_)) && e.to_string().contains("specs.body"), "{e}");
        sqlx::query("UPDATE specs SET encoding = 'brotli'")
            .execute(&pool)
            .await
            .expect("unknown encoding");
        let e = store.spec_body(&hash).await.expect_err("unknown encoding");
        assert!(e.to_string().contains("`brotli`"), "{e}");
    }};
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compressed_specs_and_plans_read_back_sqlite() {
    use sqlx::Row;
    let (store, dir) = common::sqlite().await;
    let pool = sqlite_pool(dir.path()).await;
    compressed_columns_read_back!(&store, pool.clone());
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compressed_specs_and_plans_read_back_postgres() {
    use sqlx::Row;
    let Some((store, pool)) = postgres_with_pool().await else {
        return;
    };
    compressed_columns_read_back!(&store, pool.clone());
    pool.close().await;
}
