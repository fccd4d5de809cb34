//! End-to-end tests of the catalogue commands (`plan`, `reconcile`, `actions
//! list|show|set`, `history`, `rollback`), run on the real binary. Each test works in
//! a temporary folder of its own, with copies of the bundled specs (or specs it
//! writes) and a SQLite catalogue in that folder. One test also runs against
//! PostgreSQL when `ACTIONSYNC_TEST_POSTGRES` is set.

mod util;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use util::{Run, actionsync};

/// A temporary folder to run in, with helpers to write and edit specs there.
struct Work {
    dir: tempfile::TempDir,
}

impl Work {
    fn new() -> Work {
        Work {
            dir: util::tempdir(),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `text` to `rel` (folders created as needed).
    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.path().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create folder");
        }
        std::fs::write(&path, text).expect("write file");
        path
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path().join(rel)).expect("read file")
    }

    /// Copies a bundled spec (`specs/NAME`) to `rel`.
    fn copy_spec(&self, name: &str, rel: &str) {
        let text = std::fs::read_to_string(util::crate_root().join("specs").join(name))
            .expect("read bundled spec");
        self.write(rel, &text);
    }

    /// Replaces `from` by `to` in `rel`; the text must be there.
    fn edit(&self, rel: &str, from: &str, to: &str) {
        let text = self.read(rel);
        assert!(
            text.contains(from),
            "{rel} does not contain {from:?}; the bundled spec changed?"
        );
        self.write(rel, &text.replace(from, to));
    }

    /// Removes the text of `rel` from the line starting with `start` up to (not
    /// including) the line starting with `end`: a path item of the bundled YAML spec.
    fn cut(&self, rel: &str, start: &str, end: &str) {
        let text = self.read(rel);
        let from = text
            .find(start)
            .unwrap_or_else(|| panic!("{rel} has no {start:?}"));
        let to = from
            + text[from..]
                .find(end)
                .unwrap_or_else(|| panic!("{rel} has no {end:?} after {start:?}"));
        self.write(rel, &format!("{}{}", &text[..from], &text[to..]));
    }

    /// `actionsync ARGS` in this folder.
    fn run<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        actionsync(args).current_dir(self.path()).run()
    }

    /// `actionsync ARGS` in this folder, with one environment variable set.
    fn run_env<I, S>(&self, args: I, key: &str, value: &str) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        actionsync(args)
            .current_dir(self.path())
            .env(key, value)
            .run()
    }

    /// A folder `specs/` with copies of both bundled specs.
    fn with_bundled_specs() -> Work {
        let work = Work::new();
        work.copy_spec("orders.yaml", "specs/orders.yaml");
        work.copy_spec("helpdesk.json", "specs/helpdesk.json");
        work
    }
}

/// The operation of the bundled orders spec whose path item is cut out by tests.
const REWARDS_ITEM: &str = "  /customers/rewards:";
/// What follows it in the bundled orders spec.
const COMPONENTS: &str = "components:";

/// The first sentence of `getOrder`'s summary in the bundled spec.
const GET_ORDER_SUMMARY: &str = "summary: Look up an order by its order ID";

/// The `sources` array of a `plan`/`reconcile`/`rollback --output json`.
fn sources(run: &Run) -> Vec<Value> {
    let doc = run.stdout_json();
    match doc.get("sources").and_then(Value::as_array) {
        Some(list) => list.clone(),
        None => run.fail("the JSON has no `sources` array"),
    }
}

/// The one entry of `sources` for `name`.
fn source_entry(run: &Run, name: &str) -> Value {
    let all = sources(run);
    let found: Vec<&Value> = all.iter().filter(|s| s["source"] == name).collect();
    if found.len() != 1 {
        run.fail(format!(
            "expected one entry for source `{name}` in `sources`, found {}",
            found.len()
        ));
    }
    found[0].clone()
}

/// `actions list --output json` → the `actions` array.
fn list_actions(work: &Work, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["actions", "list", "--output", "json"];
    args.extend_from_slice(extra);
    let run = work.run(&args);
    run.assert_exit(0);
    match run.stdout_json()["actions"].as_array() {
        Some(list) => list.clone(),
        None => run.fail("the JSON has no `actions` array"),
    }
}

/// `actions show NAME --output json` → `{action, audit}`.
fn show_json(work: &Work, name: &str) -> Value {
    let run = work.run(["actions", "show", name, "--output", "json"]);
    run.assert_exit(0);
    run.stdout_json()
}

/// `history --output json` → the `revisions` array.
fn revisions(work: &Work) -> Vec<Value> {
    let run = work.run(["history", "--output", "json"]);
    run.assert_exit(0);
    match run.stdout_json()["revisions"].as_array() {
        Some(list) => list.clone(),
        None => run.fail("the JSON has no `revisions` array"),
    }
}

/// The spec name (`spec.name`) of each action.
fn spec_names(actions: &[Value]) -> Vec<String> {
    actions
        .iter()
        .map(|a| a["spec"]["name"].as_str().unwrap_or("?").to_string())
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

const ORDERS_NAMES: [&str; 8] = [
    "list_orders",
    "create_order",
    "get_order",
    "cancel_order",
    "update_shipping_address",
    "list_order_shipments",
    "refund_order",
    "get_loyalty_rewards",
];

const HELPDESK_NAMES: [&str; 7] = [
    "list_tickets",
    "create_ticket",
    "get_ticket_by_ticket_id",
    "update_ticket",
    "create_ticket_attachment",
    "list_customers",
    "get_customer",
];

// ---------------------------------------------------------------------------
// 1. reconcile a folder
// ---------------------------------------------------------------------------

#[test]
fn reconcile_a_folder_makes_one_source_per_spec_and_is_idempotent() {
    let work = Work::with_bundled_specs();

    let first = work.run(["reconcile", "specs"]);
    first
        .assert_exit(0)
        .assert_stderr_contains("orders: applied as revision 1 (8 created)")
        .assert_stderr_contains("helpdesk: applied as revision 1 (7 created)")
        .assert_stdout_contains(
            "+ get_order (getOrder) create: GET https://api.acme.example/v1/orders/{orderId}",
        )
        .assert_stdout_contains(
            "Plan: 8 to create, 0 to update, 0 to archive, 0 to delete, 0 to restore, 0 unchanged.",
        )
        .assert_stdout_contains(
            "Plan: 7 to create, 0 to update, 0 to archive, 0 to delete, 0 to restore, 0 unchanged.",
        );
    first.check(
        work.path().join("actionsync.db").is_file(),
        "the default catalogue sqlite://actionsync.db is not in the working folder",
    );

    let orders = list_actions(&work, &["--source", "orders"]);
    let helpdesk = list_actions(&work, &["--source", "helpdesk"]);
    assert_eq!(
        sorted(spec_names(&orders)),
        sorted(strings(&ORDERS_NAMES)),
        "orders' actions"
    );
    assert_eq!(
        sorted(spec_names(&helpdesk)),
        sorted(strings(&HELPDESK_NAMES)),
        "helpdesk's actions"
    );
    assert_eq!(list_actions(&work, &[]).len(), 15);

    let second = work.run(["reconcile", "specs"]);
    second
        .assert_exit(0)
        .assert_stderr_contains("orders: unchanged since the last reconcile")
        .assert_stderr_contains("helpdesk: unchanged since the last reconcile")
        .assert_stdout_contains("source `orders`: unchanged since the last reconcile")
        .check(
            !second.stderr().contains("applied as revision"),
            "an unchanged reconcile applied a revision",
        );

    let revs = revisions(&work);
    let mut numbered: Vec<(String, i64)> = revs
        .iter()
        .map(|r| {
            (
                r["source"].as_str().unwrap_or("?").to_string(),
                r["number"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    numbered.sort();
    assert_eq!(
        numbered,
        vec![("helpdesk".to_string(), 1), ("orders".to_string(), 1)],
        "history after two reconciles of the same specs: {revs:#?}"
    );
}

// ---------------------------------------------------------------------------
// 2. plan --detailed-exitcode
// ---------------------------------------------------------------------------

#[test]
fn plan_detailed_exitcode_says_nothing_changes_something_changes_or_refused() {
    let work = Work::with_bundled_specs();
    work.run(["reconcile", "specs"]).assert_exit(0);
    let history_before = work.run(["history", "--output", "json"]).stdout_json();
    let actions_before = list_actions(&work, &[]);

    // Nothing changed: 0.
    work.run(["plan", "specs", "--detailed-exitcode"])
        .assert_exit(0);
    // A change that changes no action (a comment): still 0, and the plan says so.
    let mut text = work.read("specs/orders.yaml");
    text.push_str("# a comment only\n");
    work.write("specs/orders.yaml", &text);
    work.run(["plan", "specs/orders.yaml", "--detailed-exitcode"])
        .assert_exit(0)
        .assert_stdout_contains("no changes: the catalogue matches the spec");

    // A summary edited: 2, and the field-level change with a word diff.
    work.edit(
        "specs/orders.yaml",
        GET_ORDER_SUMMARY,
        "summary: Look up one customer order by its order ID",
    );
    let changed = work.run(["plan", "specs", "--detailed-exitcode"]);
    changed
        .assert_exit(2)
        .assert_stdout_contains("~ get_order (getOrder) update")
        .assert_stdout_contains("~ description:")
        .assert_stdout_contains("{+one customer+}")
        .assert_stdout_contains("[-an-]")
        .assert_stdout_contains(
            "Plan: 0 to create, 1 to update, 0 to archive, 0 to delete, 0 to restore, 7 unchanged.",
        )
        .assert_stderr_contains("orders: planned, not applied (1 updated)");
    // The same plan without the flag exits 0.
    work.run(["plan", "specs"]).assert_exit(0);

    // An http:// server: refused, 1.
    work.write(
        "insecure/orders.yaml",
        &work
            .read("specs/orders.yaml")
            .replace("https://api.acme.example/v1", "http://api.acme.example/v1"),
    );
    work.run([
        "plan",
        "insecure/orders.yaml",
        "--source",
        "orders",
        "--detailed-exitcode",
    ])
    .assert_exit(1)
    .assert_stdout_contains("refused: ")
    .assert_stdout_contains("http://")
    .assert_stdout_contains("Refused: nothing will be applied.")
    .assert_stderr_contains("orders: refused; nothing applied");

    // Most operations removed: the removal guard refuses, 1.
    work.cut("specs/orders.yaml", "  /orders/{orderId}:", REWARDS_ITEM);
    let guarded = work.run(["plan", "specs/orders.yaml", "--detailed-exitcode"]);
    guarded
        .assert_exit(1)
        .assert_stdout_contains("refused: the plan would remove 5 of the source's 8 active actions")
        .assert_stdout_contains("Refused: nothing will be applied.");

    // plan never writes.
    assert_eq!(
        work.run(["history", "--output", "json"]).stdout_json(),
        history_before,
        "plan changed the history"
    );
    assert_eq!(
        list_actions(&work, &[]),
        actions_before,
        "plan changed the catalogue"
    );
}

// ---------------------------------------------------------------------------
// 3. --output json
// ---------------------------------------------------------------------------

/// Checks the documented shape of a plan.
fn check_plan_shape(run: &Run, plan: &Value, source: &str) {
    let keys = [
        "source",
        "spec_hash",
        "base_revision",
        "counts",
        "changes",
        "drift",
        "orphans",
        "kept",
        "diagnostics",
        "refusals",
        "forced",
    ];
    for key in keys {
        run.check(
            plan.get(key).is_some(),
            format!("the plan of `{source}` has no `{key}`"),
        );
    }
    run.check(
        plan["source"] == source,
        format!("plan.source is not {source}"),
    );
    let hash = plan["spec_hash"].as_str().unwrap_or("");
    run.check(
        hash.len() == 64 && hash.chars().all(|c| c.is_ascii_hexdigit()),
        format!("spec_hash {hash:?} is not a SHA-256 in hex"),
    );
    run.check(
        plan["base_revision"].is_i64(),
        "base_revision is not a number",
    );
    for count in [
        "created",
        "updated",
        "archived",
        "deleted",
        "restored",
        "unchanged",
    ] {
        run.check(
            plan["counts"][count].is_u64(),
            format!("counts.{count} is not a number"),
        );
    }
    for list in [
        "changes",
        "drift",
        "orphans",
        "kept",
        "diagnostics",
        "refusals",
    ] {
        run.check(
            plan[list].is_array(),
            format!("plan.{list} is not an array"),
        );
    }
    run.check(plan["forced"].is_boolean(), "forced is not a boolean");
    for change in plan["changes"].as_array().into_iter().flatten() {
        for key in ["kind", "id", "key", "name", "fields"] {
            run.check(
                change.get(key).is_some(),
                format!("a change has no `{key}`: {change}"),
            );
        }
        for field in change["fields"].as_array().into_iter().flatten() {
            for key in ["field", "old", "new"] {
                run.check(
                    field.get(key).is_some(),
                    format!("a field change has no `{key}`: {field}"),
                );
            }
        }
    }
}

fn counts(
    created: u64,
    updated: u64,
    archived: u64,
    deleted: u64,
    restored: u64,
    unchanged: u64,
) -> Value {
    json!({
        "created": created,
        "updated": updated,
        "archived": archived,
        "deleted": deleted,
        "restored": restored,
        "unchanged": unchanged,
    })
}

#[test]
fn json_output_of_plan_and_reconcile_has_the_documented_shape() {
    let work = Work::with_bundled_specs();

    let planned = work.run(["plan", "specs", "--output", "json"]);
    planned.assert_exit(0);
    planned.check(planned.stderr().is_empty(), "JSON output printed on stderr");
    for (source, created) in [("orders", 8), ("helpdesk", 7)] {
        let entry = source_entry(&planned, source);
        planned.check(
            entry["outcome"] == "planned",
            format!("{source}: outcome is not planned"),
        );
        planned.check(entry.get("revision").is_none(), "a plan has a revision");
        let plan = &entry["plan"];
        check_plan_shape(&planned, plan, source);
        planned.check(
            plan["counts"] == counts(created, 0, 0, 0, 0, 0),
            format!("{source}: counts {}", plan["counts"]),
        );
        planned.check(plan["base_revision"] == 0, "base_revision of a first plan");
        let changes = plan["changes"].as_array().cloned().unwrap_or_default();
        planned.check(changes.len() == created as usize, "one change per action");
        for change in &changes {
            planned.check(change["kind"] == "create", "a first plan only creates");
            planned.check(change["id"].is_null(), "a new action has no id yet");
            let fields: Vec<&str> = change["fields"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f["field"].as_str())
                .collect();
            planned.check(
                fields
                    == [
                        "name",
                        "description",
                        "method",
                        "url",
                        "parameters",
                        "headers",
                        "body",
                        "auth",
                    ],
                format!("a creation lists every spec-owned field: {fields:?}"),
            );
        }
        planned.check(plan["refusals"] == json!([]), "refusals of a clean spec");
        planned.check(plan["forced"] == false, "forced without --force");
    }
    let get_order = source_entry(&planned, "orders")["plan"]["changes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["key"] == "getOrder")
        .cloned()
        .unwrap_or(Value::Null);
    planned.check(
        get_order["name"] == "get_order",
        "getOrder's change names get_order",
    );
    let url = get_order["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["field"] == "url")
        .cloned()
        .unwrap_or(Value::Null);
    planned.check(
        url == json!({"field": "url", "old": null, "new": "https://api.acme.example/v1/orders/{orderId}"}),
        format!("getOrder's url change: {url}"),
    );

    // --dry-run is a plan.
    let dry = work.run(["reconcile", "specs", "--dry-run", "--output", "json"]);
    dry.assert_exit(0);
    dry.check(
        source_entry(&dry, "orders")["outcome"] == "planned",
        "reconcile --dry-run did not plan",
    );
    assert_eq!(revisions(&work).len(), 0, "--dry-run applied something");

    let applied = work.run(["reconcile", "specs", "--output", "json"]);
    applied.assert_exit(0);
    for (source, created) in [("orders", 8), ("helpdesk", 7)] {
        let entry = source_entry(&applied, source);
        applied.check(
            entry["outcome"] == "applied",
            format!("{source}: not applied"),
        );
        applied.check(
            entry["revision"] == 1,
            format!("{source}: revision {}", entry["revision"]),
        );
        applied.check(
            entry.get("error").is_none(),
            "an applied source has an error",
        );
        check_plan_shape(&applied, &entry["plan"], source);
        applied.check(
            entry["plan"]["counts"] == counts(created, 0, 0, 0, 0, 0),
            format!("{source}: counts {}", entry["plan"]["counts"]),
        );
    }

    let unchanged = work.run(["reconcile", "specs", "--output", "json"]);
    unchanged.assert_exit(0);
    let entry = source_entry(&unchanged, "orders");
    unchanged.check(
        entry == json!({"source": "orders", "outcome": "unchanged"}),
        format!("an unchanged source: {entry}"),
    );

    work.edit(
        "specs/orders.yaml",
        GET_ORDER_SUMMARY,
        "summary: Look up one customer order by its order ID",
    );
    let updated = work.run(["reconcile", "specs", "--output", "json"]);
    updated.assert_exit(0);
    let entry = source_entry(&updated, "orders");
    updated.check(
        entry["outcome"] == "applied" && entry["revision"] == 2,
        "orders: revision 2",
    );
    let plan = &entry["plan"];
    check_plan_shape(&updated, plan, "orders");
    updated.check(
        plan["base_revision"] == 1,
        "base_revision of the second plan",
    );
    updated.check(
        plan["counts"] == counts(0, 1, 0, 0, 0, 7),
        format!("counts {}", plan["counts"]),
    );
    let change = &plan["changes"][0];
    updated.check(
        change["kind"] == "update" && change["key"] == "getOrder" && change["id"].is_i64(),
        format!("the change: {change}"),
    );
    let fields = change["fields"].as_array().cloned().unwrap_or_default();
    updated.check(fields.len() == 1, "only the description changed");
    updated.check(
        fields[0]["field"] == "description",
        "the description changed",
    );
    updated.check(
        fields[0]["old"]
            .as_str()
            .is_some_and(|s| s.starts_with("Look up an order by its order ID"))
            && fields[0]["new"]
                .as_str()
                .is_some_and(|s| s.starts_with("Look up one customer order by its order ID")),
        format!("old and new descriptions: {}", fields[0]),
    );
    updated.check(
        source_entry(&updated, "helpdesk")["outcome"] == "unchanged",
        "helpdesk did not change",
    );
}

// ---------------------------------------------------------------------------
// 4. actions list / show
// ---------------------------------------------------------------------------

#[test]
fn actions_list_and_show() {
    let work = Work::with_bundled_specs();
    work.run(["reconcile", "specs"]).assert_exit(0);

    let all = list_actions(&work, &[]);
    assert_eq!(all.len(), 15, "every action is listed");
    let mut ids: Vec<i64> = all.iter().filter_map(|a| a["id"].as_i64()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 15, "every action has an id of its own: {ids:?}");
    for a in &all {
        let source = a["source"].as_str().unwrap_or("?");
        let name = a["spec"]["name"].as_str().unwrap_or("?");
        assert!(
            source == "orders" || source == "helpdesk",
            "source {source}"
        );
        assert_eq!(a["state"], "active", "{name} is active");
        assert!(a["key"].is_string(), "{name} has a key");
        let expected = if source == "orders" {
            ORDERS_NAMES.contains(&name)
        } else {
            HELPDESK_NAMES.contains(&name)
        };
        assert!(expected, "{name} of {source} is not one of the spec's");
    }
    assert_eq!(list_actions(&work, &["--source", "helpdesk"]).len(), 7);
    assert_eq!(list_actions(&work, &["--state", "active"]).len(), 15);
    assert_eq!(list_actions(&work, &["--state", "archived"]).len(), 0);

    // Markdown is for plans: `actions` offers text and JSON only.
    work.run(["actions", "list", "--output", "markdown"])
        .assert_exit(64)
        .assert_stderr_contains("possible values: text, json");

    let table = work.run(["actions", "list"]);
    table
        .assert_exit(0)
        .assert_stdout_contains("NAME")
        .assert_stdout_contains("get_loyalty_rewards")
        .assert_stdout_contains("15 actions");

    let show = work.run(["actions", "show", "get_order"]);
    show.assert_exit(0)
        .assert_stdout_contains("get_order (id ")
        .assert_stdout_contains("source: orders  key: getOrder")
        .assert_stdout_contains("GET https://api.acme.example/v1/orders/{orderId}")
        .assert_stdout_contains("parameters: orderId (path, required)")
        .assert_stdout_contains("channels: widget");

    let json = show_json(&work, "get_order");
    let action = &json["action"];
    assert_eq!(action["key"], "getOrder");
    assert_eq!(action["source"], "orders");
    assert_eq!(action["state"], "active");
    assert_eq!(action["spec"]["name"], "get_order");
    assert_eq!(action["spec"]["method"], "GET");
    assert_eq!(json["audit"], json!([]), "no hand edits yet");

    // By id too.
    let id = action["id"].as_i64().expect("id");
    let by_id = show_json(&work, &id.to_string());
    assert_eq!(by_id["action"]["key"], "getOrder", "actions show {id}");

    let missing = work.run(["actions", "show", "no_such_action"]);
    missing
        .assert_exit(1)
        .assert_stdout_empty()
        .assert_stderr_contains("no action named `no_such_action`");
    work.run(["actions", "show", "999999"])
        .assert_exit(1)
        .assert_stderr_contains("no action named `999999`");
}

/// `pinned` (the platform's `x-open-pinned`) puts an action at the top of the
/// list; tags and the hand-owned fields filter it, as the API's list does; both
/// are a person's from then on.
#[test]
fn pinned_actions_list_first_and_lists_filter_by_tag_channel_and_pinned() {
    let work = Work::with_bundled_specs();
    work.run(["reconcile", "specs"]).assert_exit(0);
    let names = |extra: &[&str]| -> Vec<String> {
        list_actions(&work, extra)
            .iter()
            .map(|a| a["name"].as_str().unwrap_or("?").to_string())
            .collect()
    };
    let before = names(&[]);
    assert_ne!(before.last().map(String::as_str), Some("get_order"));

    work.run([
        "actions",
        "set",
        "get_order",
        "--pinned",
        "true",
        "--tags",
        "orders,vip",
    ])
    .assert_exit(0);
    work.run([
        "actions",
        "set",
        "cancel_order",
        "--tags",
        "orders",
        "--channels",
        "sms",
    ])
    .assert_exit(0);

    let after = names(&[]);
    assert_eq!(
        after[0], "get_order",
        "the pinned action comes first: {after:?}"
    );
    assert_eq!(after.len(), before.len());
    assert_eq!(names(&["--pinned", "true"]), ["get_order"]);
    assert_eq!(names(&["--pinned", "false"]).len(), before.len() - 1);
    assert_eq!(names(&["--tag", "vip"]), ["get_order"]);
    assert_eq!(
        sorted(names(&["--tag", "orders"])),
        ["cancel_order", "get_order"]
    );
    assert_eq!(names(&["--channel", "sms"]), ["cancel_order"]);
    assert_eq!(names(&["--limit", "2"]).len(), 2);
    assert_eq!(names(&["--limit", "1"]), ["get_order"]);

    let show = work.run(["actions", "show", "get_order"]);
    show.assert_exit(0)
        .assert_stdout_contains("pinned at the top: true (set by hand)")
        .assert_stdout_contains("tags: orders, vip (set by hand)");
    work.run(["actions", "list"])
        .assert_exit(0)
        .assert_stdout_contains("PINNED");

    // A reconcile of a changed spec keeps what a person set.
    work.edit(
        "specs/orders.yaml",
        "summary: Look up an order by its order ID",
        "summary: Look up one order by its order ID",
    );
    work.run(["reconcile", "specs"]).assert_exit(0);
    assert_eq!(names(&["--pinned", "true"]), ["get_order"]);
    let action = &show_json(&work, "get_order")["action"];
    assert_eq!(action["hand"]["pinned"], true);
    assert_eq!(action["hand"]["tags"], json!(["orders", "vip"]));

    work.run(["actions", "set", "get_order", "--pinned", "false"])
        .assert_exit(0);
    assert!(names(&["--pinned", "true"]).is_empty());
}

/// An action's token cost is the same number wherever it is shown: `convert`'s
/// table before it is stored, `actions show` (text and JSON), and `export`.
#[test]
fn one_token_count_everywhere() {
    let work = Work::with_bundled_specs();
    work.run(["reconcile", "specs"]).assert_exit(0);
    let tokens = show_json(&work, "get_order")["action"]["tokens"]
        .as_u64()
        .expect("the action's tokens");
    assert!(tokens > 20, "{tokens}");
    work.run(["actions", "show", "get_order"])
        .assert_exit(0)
        .assert_stdout_contains(&format!("tokens: {tokens} "));
    let export = work.run(["export", "--format", "native", "--source", "orders"]);
    export.assert_exit(0);
    let exported = export
        .stdout_json()
        .as_array()
        .and_then(|tools| tools.iter().find(|t| t["name"] == "get_order").cloned())
        .expect("get_order is exported");
    assert_eq!(exported["tokens"], tokens);
    let table = work.run(["convert", "--format", "table", "specs/orders.yaml"]);
    table.assert_exit(0);
    let row = table
        .stdout()
        .lines()
        .find(|l| l.starts_with("get_order "))
        .unwrap_or_else(|| table.fail("no get_order row"));
    assert_eq!(
        row.split_whitespace().last(),
        Some(tokens.to_string().as_str()),
        "{row}"
    );

    // A pin changes what the model is sent, and so the count.
    let longer = format!(
        "description={}",
        "Look up a customer's order by the number printed on their receipt. ".repeat(20)
    );
    work.run(["actions", "set", "get_order", "--pin", &longer])
        .assert_exit(0);
    let pinned = show_json(&work, "get_order")["action"]["tokens"]
        .as_u64()
        .expect("tokens");
    assert!(
        pinned > tokens,
        "{pinned} after a longer description, {tokens} before"
    );
}

/// `plan` warns about each tool it would write over the config's per-tool budget
/// (a warning: the plan still applies).
#[test]
fn plan_warns_about_tools_over_the_token_budget() {
    let work = Work::with_bundled_specs();
    work.write("actionsync.yaml", "token_budget:\n  tool_tokens: 250\n");
    let run = work.run(["plan", "specs/orders.yaml"]);
    run.assert_exit(0)
        .assert_stdout_contains("the tool `create_order` costs ")
        .assert_stdout_contains("over the budget of 250 per tool");
    run.check(
        !run.stdout().contains("the tool `get_order` costs"),
        "get_order is under the budget",
    );
    // The environment overrides the file; the apply is not held back.
    let run = work.run_env(
        ["reconcile", "specs/orders.yaml"],
        "ACTIONSYNC_TOOL_TOKENS",
        "5000",
    );
    run.assert_exit(0);
    run.check(
        !run.stdout().contains("over the budget"),
        "a budget of 5,000 warns about nothing",
    );
}

/// The JSON of an action says its name in effect (what `actions list` shows under
/// NAME), not only the spec's name: a pinned name is the action's name.
#[test]
fn actions_json_says_each_actions_name() {
    let work = Work::with_bundled_specs();
    work.run(["reconcile", "specs"]).assert_exit(0);
    work.run([
        "actions",
        "set",
        "get_order",
        "--pin",
        "name=find_order_by_number",
    ])
    .assert_exit(0)
    .assert_stdout_contains("find_order_by_number (version 2)");

    let all = list_actions(&work, &[]);
    for a in &all {
        assert!(
            a["name"].is_string(),
            "`actions list --output json`: an action has no `name`: keys are {:?}",
            a.as_object().map(|o| o.keys().collect::<Vec<_>>())
        );
    }
    let pinned = all
        .iter()
        .find(|a| a["key"] == "getOrder")
        .expect("getOrder is listed");
    assert_eq!(
        pinned["name"], "find_order_by_number",
        "the pinned name is the name"
    );
    let shown = show_json(&work, "find_order_by_number");
    assert_eq!(shown["action"]["name"], "find_order_by_number");
    // The text table agrees.
    work.run(["actions", "list"])
        .assert_exit(0)
        .assert_stdout_contains("find_order_by_number");
}

// ---------------------------------------------------------------------------
// 5. actions set, and hand fields across a reconcile
// ---------------------------------------------------------------------------

const LONG_DESCRIPTION: &str = "A description that is long enough to be valid";

/// `actions set` says what this edit changed, old → new, not every field a
/// person has set so far.
#[test]
fn actions_set_reports_what_this_edit_changed() {
    let work = Work::with_bundled_specs();
    work.run(["reconcile", "specs"]).assert_exit(0);
    work.run([
        "actions",
        "set",
        "get_order",
        "--enabled",
        "false",
        "--pin",
        &format!("description={LONG_DESCRIPTION}"),
    ])
    .assert_exit(0)
    .assert_stdout_contains("get_order (version 2):\n");
    // The report says what this edit changed, not every field set so far.
    let unpin = work.run(["actions", "set", "get_order", "--unpin", "description"]);
    unpin
        .assert_exit(0)
        .assert_stdout_contains("get_order (version 3):\n  unpinned description\n");
    let again = work.run(["actions", "set", "get_order", "--enabled", "false"]);
    again
        .assert_exit(0)
        .assert_stdout_contains("nothing changed; the fields already had those values");
    work.run([
        "actions",
        "set",
        "get_order",
        "--pin",
        &format!("description={LONG_DESCRIPTION}"),
    ])
    .assert_exit(0)
    .assert_stdout_contains("):\n  pinned description");
}

#[test]
fn hand_set_fields_survive_a_reconcile_with_drift_and_orphans() {
    let work = Work::with_bundled_specs();
    work.run(["reconcile", "specs"]).assert_exit(0);

    let set = work.run([
        "actions",
        "set",
        "get_order",
        "--channels",
        "widget,sms",
        "--segments",
        "vip,eu",
        "--magic",
        "orderId=contact.order_id",
        "--require-confirmation",
        "true",
        "--enabled",
        "false",
        "--pin",
        &format!("description={LONG_DESCRIPTION}"),
    ]);
    set.assert_exit(0)
        .assert_stdout_contains("get_order (version 2):")
        .assert_stdout_contains("  channels: [\"widget\"] → [\"widget\",\"sms\"]")
        .assert_stdout_contains("  enabled: true → false")
        .assert_stdout_contains(&format!("  pinned description: \"{LONG_DESCRIPTION}\""));

    let shown = show_json(&work, "get_order");
    let hand = shown["action"]["hand"].clone();
    assert_eq!(hand["channels"], json!(["widget", "sms"]));
    assert_eq!(hand["segments"], json!(["vip", "eu"]));
    assert_eq!(hand["magic_fields"], json!({"orderId": "contact.order_id"}));
    assert_eq!(hand["require_confirmation"], true);
    assert_eq!(hand["enabled"], false);
    assert_eq!(hand["pins"], json!({"description": LONG_DESCRIPTION}));
    let mut hand_set: Vec<String> = shown["action"]["hand_set"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    hand_set.sort();
    assert_eq!(
        hand_set,
        strings(&[
            "channels",
            "enabled",
            "magic_fields",
            "pins",
            "require_confirmation",
            "segments"
        ])
    );
    let audit = shown["audit"].as_array().cloned().unwrap_or_default();
    let audited: Vec<&str> = audit.iter().filter_map(|e| e["field"].as_str()).collect();
    for field in [
        "channels",
        "segments",
        "magic_fields",
        "require_confirmation",
        "enabled",
    ] {
        assert!(
            audited.contains(&field),
            "no audit entry for {field}: {audited:?}"
        );
    }
    assert!(
        audited.iter().any(|f| f.ends_with("description")),
        "no audit entry for the description pin: {audited:?}"
    );
    for entry in &audit {
        assert!(
            entry["actor"]
                .as_str()
                .is_some_and(|a| a.starts_with("cli")),
            "audit actor: {entry}"
        );
        assert_eq!(entry["version"], 2, "audit version: {entry}");
    }
    let enabled = audit
        .iter()
        .find(|e| e["field"] == "enabled")
        .expect("enabled");
    assert_eq!(
        (&enabled["old"], &enabled["new"]),
        (&json!(true), &json!(false))
    );

    let text = work.run(["actions", "show", "get_order"]);
    text.assert_exit(0)
        .assert_stdout_contains(&format!("description: {LONG_DESCRIPTION}"))
        .assert_stdout_contains("channels: widget, sms (set by hand)")
        .assert_stdout_contains("segments: vip, eu (set by hand)")
        .assert_stdout_contains("magic: orderId ← contact.order_id")
        .assert_stdout_contains("enabled: false (set by hand)");

    // The spec changes: getOrder's summary (the pinned description), and its
    // orderId parameter becomes orderNumber.
    work.edit(
        "specs/orders.yaml",
        GET_ORDER_SUMMARY,
        "summary: Find an order by the order number",
    );
    let renamed = work
        .read("specs/orders.yaml")
        .replace("name: orderId", "name: orderNumber")
        .replace("{orderId}", "{orderNumber}");
    work.write("specs/orders.yaml", &renamed);

    let text_plan = work.run(["plan", "specs/orders.yaml"]);
    text_plan
        .assert_exit(0)
        .assert_stdout_contains("(pinned: the pin stays in effect)")
        .assert_stdout_contains("drift: `get_order` description is pinned to")
        .assert_stdout_contains(
            "orphaned magic field: `get_order` fills `orderId` from contact.order_id",
        );

    let reconciled = work.run(["reconcile", "specs", "--output", "json"]);
    reconciled.assert_exit(0);
    let entry = source_entry(&reconciled, "orders");
    reconciled.check(
        entry["outcome"] == "applied",
        "the changed spec was applied",
    );
    let plan = &entry["plan"];
    let drift = plan["drift"].as_array().cloned().unwrap_or_default();
    reconciled.check(drift.len() == 1, format!("one drift: {drift:?}"));
    reconciled.check(
        drift[0]["name"] == "get_order"
            && drift[0]["field"] == "description"
            && drift[0]["pinned"] == LONG_DESCRIPTION
            && drift[0]["spec_old"]
                .as_str()
                .is_some_and(|s| s.starts_with("Look up an order by its order ID"))
            && drift[0]["spec_new"]
                .as_str()
                .is_some_and(|s| s.starts_with("Find an order by the order number")),
        format!("the drift: {}", drift[0]),
    );
    let orphans = plan["orphans"].as_array().cloned().unwrap_or_default();
    reconciled.check(
        orphans.len() == 1
            && orphans[0]["name"] == "get_order"
            && orphans[0]["field"] == "orderId"
            && orphans[0]["context"] == "contact.order_id",
        format!("the orphans: {orphans:?}"),
    );
    let change = plan["changes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["key"] == "getOrder")
        .cloned()
        .unwrap_or(Value::Null);
    let description = change["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["field"] == "description")
        .cloned()
        .unwrap_or(Value::Null);
    reconciled.check(
        description["pinned"] == true,
        format!("the pinned description's change is marked pinned: {change}"),
    );

    let after = show_json(&work, "get_order");
    assert_eq!(
        after["action"]["hand"], hand,
        "a reconcile changed hand-owned fields"
    );
    assert_eq!(after["action"]["id"], shown["action"]["id"]);
    assert!(
        after["action"]["spec"]["description"]
            .as_str()
            .is_some_and(|s| s.starts_with("Find an order by the order number")),
        "the stored spec value follows the spec"
    );
    work.run(["actions", "show", "get_order"])
        .assert_exit(0)
        .assert_stdout_contains(&format!("description: {LONG_DESCRIPTION}"))
        .assert_stdout_contains("parameters: orderNumber (path, required)")
        .assert_stdout_contains("magic: orderId ← contact.order_id (orphaned: no such parameter)");

    // The parameter returns: the magic field is no longer orphaned.
    let back = work
        .read("specs/orders.yaml")
        .replace("name: orderNumber", "name: orderId")
        .replace("{orderNumber}", "{orderId}");
    work.write("specs/orders.yaml", &back);
    let rebound = work.run(["reconcile", "specs/orders.yaml", "--output", "json"]);
    rebound.assert_exit(0);
    let entry = source_entry(&rebound, "orders");
    rebound.check(
        entry["outcome"] == "applied" && entry["plan"]["orphans"] == json!([]),
        "the magic field rebinds when its parameter returns",
    );
    assert_eq!(show_json(&work, "get_order")["action"]["hand"], hand);
}

#[test]
fn invalid_hand_edits_are_refused_with_a_clear_message() {
    let work = Work::with_bundled_specs();
    work.run(["reconcile", "specs"]).assert_exit(0);
    let before = show_json(&work, "get_order");

    work.run(["actions", "set", "get_order", "--pin", "name=Bad Name"])
        .assert_exit(1)
        .assert_stderr_contains("cannot pin name: a name is 5 to 64 characters of a-z, 0-9 and _");
    work.run(["actions", "set", "get_order", "--channels", "fax"])
        .assert_exit(64)
        .assert_stderr_contains(
            "`fax` is not a channel: widget, email, sms, whatsapp, phone, slack",
        );
    // A name another action of the same source has, and one of another source.
    for taken in ["cancel_order", "list_tickets"] {
        work.run([
            "actions",
            "set",
            "get_order",
            "--pin",
            &format!("name={taken}"),
        ])
        .assert_exit(1)
        .assert_stderr_contains(&format!(
            "the name `{taken}` is already used by another active action"
        ));
    }
    work.run([
        "actions",
        "set",
        "get_order",
        "--pin",
        "description=too short",
    ])
    .assert_exit(1)
    .assert_stderr_contains("cannot pin description: a description has at least 20 characters");
    work.run([
        "actions",
        "set",
        "get_order",
        "--pin",
        "url=http://api.acme.example/v1/x",
    ])
    .assert_exit(1)
    .assert_stderr_contains("cannot pin url");
    work.run(["actions", "set", "get_order", "--pin", "colour=1"])
        .assert_exit(1)
        .assert_stderr_contains("only these fields can be pinned");
    work.run(["actions", "set", "get_order", "--unpin", "url"])
        .assert_exit(1)
        .assert_stderr_contains("`get_order` has no pin on `url`");
    work.run(["actions", "set", "get_order", "--enabled", "maybe"])
        .assert_exit(64)
        .assert_stderr_contains("invalid value 'maybe'");
    work.run(["actions", "set", "get_order"])
        .assert_exit(1)
        .assert_stderr_contains("nothing to set");
    work.run(["actions", "set", "no_such_action", "--enabled", "false"])
        .assert_exit(1)
        .assert_stderr_contains("no action named `no_such_action`");

    // None of it changed the action.
    assert_eq!(
        show_json(&work, "get_order"),
        before,
        "a refused edit changed the action"
    );
}

// ---------------------------------------------------------------------------
// 6. archive, restore, prune
// ---------------------------------------------------------------------------

/// A refused reconcile is history: `history` shows it beside the revisions, the
/// same refusal again counts, and a refused dry run (`plan`) is not recorded.
#[test]
fn history_shows_refused_reconciles() {
    let work = Work::new();
    work.copy_spec("orders.yaml", "orders.yaml");
    work.run(["reconcile", "orders.yaml"]).assert_exit(0);
    work.cut("orders.yaml", "  /orders/{orderId}:", COMPONENTS);
    work.run(["reconcile", "orders.yaml", "--prune"])
        .assert_exit(1);

    let history = work.run(["history"]);
    history
        .assert_exit(0)
        .assert_stdout_contains("orders #1  by cli")
        .assert_stdout_contains("orders refused  by cli  spec ")
        .assert_stdout_contains("6 of the source's 8 active actions");

    work.run(["reconcile", "orders.yaml", "--prune"])
        .assert_exit(1);
    work.run(["plan", "orders.yaml", "--prune"]).assert_exit(1);
    let json = work.run(["history", "--output", "json"]);
    json.assert_exit(0);
    let refusals = json.stdout_json()["refusals"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    json.check(
        refusals.len() == 1 && refusals[0]["times"] == 2 && refusals[0]["refused_by"] == "cli",
        format!("one refusal, twice, the dry run not counted: {refusals:?}"),
    );
    work.run(["history"])
        .assert_exit(0)
        .assert_stdout_contains("orders refused (2 times since ");
}

#[test]
fn removal_archives_readding_restores_and_prune_deletes() {
    let work = Work::new();
    work.copy_spec("orders.yaml", "orders.yaml");
    let full = work.read("orders.yaml");
    work.run(["reconcile", "orders.yaml"]).assert_exit(0);
    work.run([
        "actions",
        "set",
        "get_loyalty_rewards",
        "--channels",
        "sms",
        "--segments",
        "gold",
        "--enabled",
        "false",
        "--magic",
        "email=contact.email_address",
    ])
    .assert_exit(0);
    let before = show_json(&work, "get_loyalty_rewards")["action"].clone();

    // Removed from the spec: archived.
    work.cut("orders.yaml", REWARDS_ITEM, COMPONENTS);
    let archived = work.run(["reconcile", "orders.yaml"]);
    archived
        .assert_exit(0)
        .assert_stdout_contains("- get_loyalty_rewards (getLoyaltyRewards) archive")
        .assert_stderr_contains("orders: applied as revision 2 (1 archived)");
    let list = list_actions(&work, &["--state", "archived"]);
    assert_eq!(spec_names(&list), strings(&["get_loyalty_rewards"]));
    assert_eq!(list[0]["id"], before["id"]);
    assert_eq!(
        list[0]["hand"], before["hand"],
        "archiving kept the hand fields"
    );
    assert_eq!(list_actions(&work, &["--state", "active"]).len(), 7);
    work.run(["actions", "list", "--state", "archived"])
        .assert_exit(0)
        .assert_stdout_contains("get_loyalty_rewards  orders  archived")
        .assert_stdout_contains("1 actions");

    // Back in the spec: restored, same id, same hand fields.
    work.write("orders.yaml", &full);
    let restored = work.run(["reconcile", "orders.yaml", "--output", "json"]);
    restored.assert_exit(0);
    let plan = &source_entry(&restored, "orders")["plan"];
    restored.check(
        plan["counts"] == counts(0, 0, 0, 0, 1, 7),
        format!("restore counts: {}", plan["counts"]),
    );
    restored.check(
        plan["changes"][0]["kind"] == "restore" && plan["changes"][0]["id"] == before["id"],
        format!("the restore: {}", plan["changes"][0]),
    );
    let after = show_json(&work, "get_loyalty_rewards")["action"].clone();
    assert_eq!(after["id"], before["id"], "restored with the same id");
    assert_eq!(after["state"], "active");
    assert_eq!(
        after["hand"], before["hand"],
        "restored with the hand fields"
    );
    assert_eq!(after["hand_set"], before["hand_set"]);
    assert_eq!(list_actions(&work, &["--state", "archived"]).len(), 0);

    // Removed again, with --prune: deleted.
    work.cut("orders.yaml", REWARDS_ITEM, COMPONENTS);
    work.run(["reconcile", "orders.yaml", "--prune"])
        .assert_exit(0)
        .assert_stdout_contains("x get_loyalty_rewards (getLoyaltyRewards) delete")
        .assert_stderr_contains("(1 deleted)");
    let all = list_actions(&work, &[]);
    assert_eq!(all.len(), 7);
    assert!(!spec_names(&all).contains(&"get_loyalty_rewards".to_string()));
    work.run(["actions", "show", "get_loyalty_rewards"])
        .assert_exit(1);

    // Most of the rest removed: the guard refuses a prune until forced.
    work.cut("orders.yaml", "  /orders/{orderId}:", COMPONENTS);
    let refused = work.run(["reconcile", "orders.yaml", "--prune", "--output", "json"]);
    refused.assert_exit(1);
    let entry = source_entry(&refused, "orders");
    refused.check(entry["outcome"] == "refused", "the guard refused");
    let refusals = entry["plan"]["refusals"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    refused.check(
        refusals.len() == 1
            && refusals[0]["code"] == "removal-guard"
            && refusals[0]["overridable"] == true
            && refusals[0]["message"].as_str().is_some_and(|m| {
                m.contains("5 of the source's 7 active actions")
                    // Each front end's way to force it, as it is spelt there.
                    && m.contains("--force on the command line")
                    && m.contains("force=true on a push")
                    && m.contains("\"force\": true in a rollback over the API")
            }),
        format!("the refusals: {refusals:?}"),
    );
    assert_eq!(
        list_actions(&work, &[]).len(),
        7,
        "a refused plan deleted something"
    );

    let forced = work.run([
        "reconcile",
        "orders.yaml",
        "--prune",
        "--force",
        "--output",
        "json",
    ]);
    forced.assert_exit(0);
    let entry = source_entry(&forced, "orders");
    forced.check(
        entry["outcome"] == "applied"
            && entry["plan"]["forced"] == true
            && entry["plan"]["counts"] == counts(0, 0, 0, 5, 0, 2),
        format!("the forced prune: {entry}"),
    );
    assert_eq!(
        sorted(spec_names(&list_actions(&work, &[]))),
        strings(&["create_order", "list_orders"])
    );
}

/// `--prune` deletes the actions whose operation left the spec, whether the
/// operation left in this run or an earlier reconcile archived it.
#[test]
fn prune_deletes_actions_archived_by_an_earlier_reconcile() {
    let work = Work::new();
    work.copy_spec("orders.yaml", "orders.yaml");
    work.run(["reconcile", "orders.yaml"]).assert_exit(0);
    work.cut("orders.yaml", REWARDS_ITEM, COMPONENTS);
    work.run(["reconcile", "orders.yaml"])
        .assert_exit(0)
        .assert_stderr_contains("(1 archived)");
    assert_eq!(list_actions(&work, &["--state", "archived"]).len(), 1);

    let pruned = work.run(["reconcile", "orders.yaml", "--prune"]);
    pruned.assert_exit(0);
    pruned.check(
        list_actions(&work, &["--state", "archived"]).is_empty(),
        "`reconcile --prune` left the archived action of an operation that is not in the spec",
    );
}

// ---------------------------------------------------------------------------
// 7. history and rollback
// ---------------------------------------------------------------------------

#[test]
fn history_lists_revisions_and_rollback_reverts_as_a_new_revision() {
    let work = Work::new();
    work.copy_spec("orders.yaml", "orders.yaml");
    let original = work.read("orders.yaml");
    work.run(["history"])
        .assert_exit(0)
        .assert_stdout_contains("no revisions yet");
    work.run(["reconcile", "orders.yaml"]).assert_exit(0);
    work.edit(
        "orders.yaml",
        GET_ORDER_SUMMARY,
        "summary: Find one order by its order number",
    );
    work.run(["reconcile", "orders.yaml"])
        .assert_exit(0)
        .assert_stderr_contains("orders: applied as revision 2 (1 updated)");
    work.run(["actions", "set", "get_order", "--channels", "email"])
        .assert_exit(0);

    // Newest first, in text and JSON.
    let text = work.run(["history"]);
    text.assert_exit(0);
    let lines: Vec<&str> = text.stdout().lines().collect();
    text.check(lines.len() == 2, "two revisions, one line each");
    text.check(
        lines[0].contains("orders #2") && lines[0].contains("+0 ~1 -0 x0 ^0"),
        "the newest revision first",
    );
    text.check(
        lines[1].contains("orders #1") && lines[1].contains("+8 ~0 -0 x0 ^0"),
        "the oldest revision last",
    );
    let numbers: Vec<i64> = revisions(&work)
        .iter()
        .filter_map(|r| r["number"].as_i64())
        .collect();
    assert_eq!(numbers, vec![2, 1]);

    let first = work.run(["history", "--source", "orders", "1"]);
    first
        .assert_exit(0)
        .assert_stdout_contains("revision 1 of `orders`, applied by cli at ")
        .assert_stdout_contains("+ get_order (getOrder) create")
        .assert_stdout_contains("Plan: 8 to create,");
    let second = work.run(["history", "--source", "orders", "2"]);
    second
        .assert_exit(0)
        .assert_stdout_contains("revision 2 of `orders`")
        .assert_stdout_contains("~ get_order (getOrder) update")
        .assert_stdout_contains("~ description: [-Look-]{+Find+}");
    let json = work.run(["history", "--source", "orders", "2", "--output", "json"]);
    json.assert_exit(0);
    let rev = &json.stdout_json()["revision"];
    json.check(
        rev["number"] == 2
            && rev["source"] == "orders"
            && rev["plan"]["counts"] == counts(0, 1, 0, 0, 0, 7),
        format!("revision 2 as JSON: {rev}"),
    );

    work.run(["history", "--source", "orders", "9"])
        .assert_exit(1)
        .assert_stderr_contains("source `orders` has no revision 9");
    work.run(["history", "1"])
        .assert_exit(64)
        .assert_stderr_contains("--source");

    // Roll back to revision 1: a new revision 3 that reverts the description (the
    // source is a file: it is paused, so its next reconcile cannot undo this).
    let rolled = work.run([
        "rollback", "--source", "orders", "--to", "1", "--pause", "--output", "json",
    ]);
    rolled
        .assert_exit(0)
        .assert_stderr_contains("orders: applied as revision 3 (1 updated)");
    // Recorded like every other change made from the command line.
    work.run(["history", "--source", "orders"])
        .assert_exit(0)
        .assert_stdout_contains("orders #3  by cli");
    let entry = source_entry(&rolled, "orders");
    rolled.check(
        entry["outcome"] == "applied" && entry["revision"] == 3,
        format!("the rollback: {entry}"),
    );
    let change = &entry["plan"]["changes"][0];
    rolled.check(
        change["kind"] == "update"
            && change["key"] == "getOrder"
            && change["fields"][0]["field"] == "description"
            && change["fields"][0]["old"]
                .as_str()
                .is_some_and(|s| s.starts_with("Find one order by its order number"))
            && change["fields"][0]["new"]
                .as_str()
                .is_some_and(|s| s.starts_with("Look up an order by its order ID")),
        format!("the rollback's change: {change}"),
    );
    let numbers: Vec<i64> = revisions(&work)
        .iter()
        .filter_map(|r| r["number"].as_i64())
        .collect();
    assert_eq!(numbers, vec![3, 2, 1]);
    let action = show_json(&work, "get_order")["action"].clone();
    assert!(
        action["spec"]["description"]
            .as_str()
            .is_some_and(|s| s.starts_with("Look up an order by its order ID")),
        "the rollback reverted the description"
    );
    assert_eq!(
        action["hand"]["channels"],
        json!(["email"]),
        "the rollback kept the hand-set channels"
    );

    // Rolling back to what is already there changes nothing and makes no revision.
    work.run(["rollback", "--source", "orders", "--to", "1"])
        .assert_exit(0)
        .assert_stderr_contains("orders: no changes");
    assert_eq!(revisions(&work).len(), 3);

    work.run(["rollback", "--source", "orders", "--to", "7"])
        .assert_exit(1)
        .assert_stderr_contains("source `orders` has no revision 7");
    work.run(["rollback", "--source", "nosuch", "--to", "1"])
        .assert_exit(1)
        .assert_stderr_contains("no source named `nosuch`");

    // A rollback the removal guard refuses, then forced.
    work.run(["sources", "resume", "orders"]).assert_exit(0);
    work.cut("orders.yaml", "  /orders/{orderId}:", COMPONENTS);
    work.run(["reconcile", "orders.yaml"])
        .assert_exit(1)
        .assert_stderr_contains("orders: refused; nothing applied");
    work.run(["reconcile", "orders.yaml", "--force"])
        .assert_exit(0)
        .assert_stderr_contains("orders: applied as revision 4 (6 archived)");
    work.write("orders.yaml", &original);
    work.run(["reconcile", "orders.yaml"])
        .assert_exit(0)
        .assert_stderr_contains("orders: applied as revision 5 (6 restored)");
    let refused = work.run(["rollback", "--source", "orders", "--to", "4", "--pause"]);
    refused
        .assert_exit(1)
        .assert_stderr_contains("orders: refused; nothing applied")
        .assert_stdout_contains(
            "refused: the plan would remove 6 of the source's 8 active actions",
        );
    assert_eq!(
        revisions(&work).len(),
        5,
        "a refused rollback made a revision"
    );
    work.run(["rollback", "--source", "orders", "--to", "4", "--force"])
        .assert_exit(0)
        .assert_stderr_contains("orders: applied as revision 6 (6 archived)");
    assert_eq!(list_actions(&work, &["--state", "active"]).len(), 2);
}

/// `sources pause`: a paused source is still read and planned (`reconcile` and
/// `plan` say it is out of sync, with its plan), never applied; `sources list`
/// shows it; after `sources resume`, `reconcile` applies the same spec.
#[test]
fn a_paused_source_plans_but_applies_only_once_resumed() {
    let work = Work::new();
    work.copy_spec("orders.yaml", "orders.yaml");
    work.run(["reconcile", "orders.yaml"]).assert_exit(0);
    work.run(["sources", "pause", "orders"])
        .assert_exit(0)
        .assert_stdout_contains("paused `orders`");
    work.run(["sources", "list"])
        .assert_exit(0)
        .assert_stdout_contains("orders")
        .assert_stdout_contains("file")
        .assert_stdout_contains("yes");

    work.edit(
        "orders.yaml",
        GET_ORDER_SUMMARY,
        "summary: Find one order by its order number",
    );
    work.run(["reconcile", "orders.yaml"])
        .assert_exit(0)
        .assert_stderr_contains("orders: paused, out of sync: planned, not applied (1 updated)")
        .assert_stderr_contains("actionsync sources resume orders")
        .assert_stdout_contains("~ get_order (getOrder) update");
    work.run(["plan", "orders.yaml"])
        .assert_exit(0)
        .assert_stderr_contains("orders: paused, out of sync");
    assert_eq!(revisions(&work).len(), 1, "paused: nothing applied");
    let description = |work: &Work| {
        show_json(work, "get_order")["action"]["spec"]["description"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert!(description(&work).starts_with("Look up an order"));
    work.run(["sources", "list"])
        .assert_exit(0)
        .assert_stdout_contains("yes, out of sync (1 updated)");
    let listed = work.run(["sources", "list", "--output", "json"]);
    listed.assert_exit(0);
    let source = &listed.stdout_json()["sources"][0];
    listed.check(
        source["name"] == "orders" && source["paused"] == true && source["pending"]["updated"] == 1,
        format!("the paused source as JSON: {source}"),
    );

    work.run(["sources", "resume", "orders"])
        .assert_exit(0)
        .assert_stdout_contains("run actionsync reconcile --source orders");
    work.run(["reconcile", "orders.yaml"])
        .assert_exit(0)
        .assert_stderr_contains("orders: applied as revision 2 (1 updated)");
    assert!(description(&work).starts_with("Find one order"));
    work.run(["sources", "list"])
        .assert_exit(0)
        .assert_stdout_contains(" no\n");

    work.run(["sources", "pause", "nosuch"])
        .assert_exit(1)
        .assert_stderr_contains("no source `nosuch` in the catalogue");
}

/// A rollback of a file source is refused unless the source is paused (its next
/// reconcile would undo it), and the error says what to run; `--pause` pauses it,
/// and the rollback then survives a reconcile of the unchanged file.
#[test]
fn rollback_of_a_file_source_needs_it_paused() {
    let work = Work::new();
    work.copy_spec("orders.yaml", "orders.yaml");
    work.run(["reconcile", "orders.yaml"]).assert_exit(0);
    work.edit(
        "orders.yaml",
        GET_ORDER_SUMMARY,
        "summary: Find one order by its order number",
    );
    work.run(["reconcile", "orders.yaml"]).assert_exit(0);

    work.run(["rollback", "--source", "orders", "--to", "1"])
        .assert_exit(1)
        .assert_stderr_contains("source `orders` is read from")
        .assert_stderr_contains("orders.yaml")
        .assert_stderr_contains("actionsync sources pause orders")
        .assert_stderr_contains("--pause");
    assert_eq!(
        revisions(&work).len(),
        2,
        "a refused rollback applies nothing"
    );
    work.run(["rollback", "--source", "orders", "--to", "1", "--pause"])
        .assert_exit(0)
        .assert_stderr_contains("orders: applied as revision 3 (1 updated)")
        .assert_stderr_contains("orders: paused")
        .assert_stderr_contains("actionsync sources resume orders");
    // The file still says revision 2's summary: planned, not applied.
    work.run(["reconcile", "orders.yaml"])
        .assert_exit(0)
        .assert_stderr_contains("orders: paused, out of sync: planned, not applied (1 updated)");
    assert_eq!(revisions(&work).len(), 3);
    let action = show_json(&work, "get_order")["action"].clone();
    assert!(
        action["spec"]["description"]
            .as_str()
            .is_some_and(|s| s.starts_with("Look up an order by its order ID")),
        "the rollback stays rolled back"
    );
}

/// `history --source S N` shows the plan as `reconcile` showed it: a creation says
/// the call it creates, not only the action's name.
#[test]
fn history_of_a_revision_shows_what_each_creation_calls() {
    let work = Work::new();
    work.copy_spec("orders.yaml", "orders.yaml");
    let applied = work.run(["reconcile", "orders.yaml"]);
    applied.assert_exit(0);
    let line = "+ list_orders (listOrders) create: GET https://api.acme.example/v1/orders, 5 parameters, auth bearerAuth";
    applied.assert_stdout_contains(line);
    work.run(["history", "--source", "orders", "1"])
        .assert_exit(0)
        .assert_stdout_contains(line);
}

// ---------------------------------------------------------------------------
// 8. the config file
// ---------------------------------------------------------------------------

#[test]
fn config_file_sources_filters_database_and_mistakes() {
    let work = Work::new();
    work.copy_spec("orders.yaml", "api/orders.yaml");
    work.copy_spec("helpdesk.json", "more/helpdesk.json");
    work.write("more/notes.yaml", "title: not a spec\n");
    work.write(
        "actionsync.yaml",
        "database: sqlite://cat.db\n\
         defaults:\n  max_removed_share: 0.5\n  exclude_tags: [customers]\n\
         sources:\n\
         \x20 - name: shop\n    file: api/orders.yaml\n    include_tags: [orders, refunds]\n    exclude_methods: [delete]\n\
         \x20 - dir: more\n",
    );

    let planned = work.run(["plan", "--source", "helpdesk", "--output", "json"]);
    planned.assert_exit(0);
    let names: Vec<String> = sources(&planned)
        .iter()
        .map(|s| s["source"].as_str().unwrap_or("?").to_string())
        .collect();
    planned.check(names == ["helpdesk"], "--source limits plan to one source");

    let reconciled = work.run(["reconcile"]);
    reconciled
        .assert_exit(0)
        .assert_stderr_contains("shop: applied as revision 1 (5 created)")
        .assert_stderr_contains("helpdesk: applied as revision 1 (5 created)")
        .check(
            !reconciled.stderr().contains("notes"),
            "a YAML file that is not a spec became a source",
        );
    reconciled.check(
        work.path().join("cat.db").is_file(),
        "the config's database cat.db was not created",
    );
    reconciled.check(
        !work.path().join("actionsync.db").exists(),
        "the default database was created although the config names cat.db",
    );

    let shop = list_actions(&work, &["--source", "shop"]);
    assert_eq!(
        sorted(spec_names(&shop)),
        sorted(strings(&[
            "list_orders",
            "create_order",
            "get_order",
            "update_shipping_address",
            "refund_order"
        ])),
        "include_tags [orders, refunds] and exclude_methods [delete]"
    );
    let helpdesk = list_actions(&work, &["--source", "helpdesk"]);
    assert_eq!(
        sorted(spec_names(&helpdesk)),
        sorted(strings(&[
            "list_tickets",
            "create_ticket",
            "get_ticket_by_ticket_id",
            "update_ticket",
            "create_ticket_attachment"
        ])),
        "the defaults' exclude_tags [customers] on the dir source"
    );

    // --source NAME: only that source.
    work.edit(
        "api/orders.yaml",
        GET_ORDER_SUMMARY,
        "summary: Find one order by its order number",
    );
    work.edit(
        "more/helpdesk.json",
        "\"summary\": \"List support tickets\"",
        "\"summary\": \"List the support tickets\"",
    );
    let only = work.run(["reconcile", "--source", "shop"]);
    only.assert_exit(0)
        .assert_stderr_contains("shop: applied as revision 2 (1 updated)")
        .check(
            !only.stderr().contains("helpdesk"),
            "--source shop touched helpdesk",
        );
    work.run(["plan", "--detailed-exitcode", "--source", "helpdesk"])
        .assert_exit(2);
    work.run(["plan", "--source", "nope"])
        .assert_exit(1)
        .assert_stderr_contains("no source named `nope`");

    // From another folder, with --config: the database is next to the config.
    std::fs::create_dir_all(work.path().join("elsewhere")).expect("mkdir");
    let history = actionsync([
        "history",
        "--config",
        "../actionsync.yaml",
        "--output",
        "json",
    ])
    .current_dir(work.path().join("elsewhere"))
    .run();
    history.assert_exit(0);
    history.check(
        history.stdout_json()["revisions"].as_array().map(Vec::len) == Some(3),
        "history through --config reads cat.db next to the config",
    );

    // ACTIONSYNC_DATABASE_URL overrides the config's database.
    let env = work.run_env(["reconcile"], "ACTIONSYNC_DATABASE_URL", "sqlite://env.db");
    env.assert_exit(0)
        .assert_stderr_contains("shop: applied as revision 1")
        .assert_stderr_contains("helpdesk: applied as revision 1");
    env.check(
        work.path().join("env.db").is_file(),
        "ACTIONSYNC_DATABASE_URL was not used",
    );
    let env_history = work.run_env(
        ["history", "--output", "json"],
        "ACTIONSYNC_DATABASE_URL",
        "sqlite://env.db",
    );
    env_history.check(
        env_history.stdout_json()["revisions"]
            .as_array()
            .map(Vec::len)
            == Some(2),
        "env.db has its own two revisions",
    );
    // …and --database overrides both.
    work.run_env(
        [
            "history",
            "--database",
            "sqlite://cat.db",
            "--output",
            "json",
        ],
        "ACTIONSYNC_DATABASE_URL",
        "sqlite://env.db",
    )
    .assert_exit(0);
    assert_eq!(revisions(&work).len(), 3, "cat.db kept its own revisions");

    // A misspelt key: exit 1, naming the key and the file.
    work.write(
        "actionsync.yaml",
        "database: sqlite://cat.db\nsources:\n  - name: shop\n    fil: api/orders.yaml\n",
    );
    work.run(["reconcile"])
        .assert_exit(1)
        .assert_stderr_contains("actionsync.yaml")
        .assert_stderr_contains("unknown key `fil` in sources[0]");
    work.write("actionsync.yaml", "databse: sqlite://cat.db\n");
    work.run(["plan"])
        .assert_exit(1)
        .assert_stderr_contains("unknown key `databse`");
}

#[test]
fn no_config_and_no_paths_is_an_error_that_says_what_to_do() {
    let work = Work::new();
    work.run(["plan"])
        .assert_exit(1)
        .assert_stderr_contains("no sources");
    work.write("actionsync.yaml", "database: sqlite://cat.db\n");
    work.run(["reconcile"])
        .assert_exit(1)
        .assert_stderr_contains("names no sources");
}

// ---------------------------------------------------------------------------
// 9. PostgreSQL
// ---------------------------------------------------------------------------

/// Drops the schema when the test ends, passed or not.
struct Schema {
    admin_url: String,
    name: String,
}

impl Drop for Schema {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .arg(&self.admin_url)
            .args([
                "-q",
                "-c",
                &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// `backup FILE` copies the SQLite catalogue to a new file that works as a
/// catalogue; it never overwrites a file.
#[test]
fn backup_copies_the_catalogue_to_a_new_file() {
    let work = Work::with_bundled_specs();
    work.run(["reconcile", "specs"]).assert_exit(0);
    work.run(["actions", "set", "get_order", "--pinned", "true"])
        .assert_exit(0);
    work.run(["backup", "copy.db"])
        .assert_exit(0)
        .assert_stderr_contains("backed up the catalogue to copy.db");
    let copied = work.run([
        "actions",
        "list",
        "--output",
        "json",
        "--database",
        "sqlite://copy.db",
    ]);
    copied.assert_exit(0);
    let actions = copied.stdout_json()["actions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(actions.len(), 15, "every action is in the copy");
    assert_eq!(
        actions[0]["name"], "get_order",
        "hand edits too: pinned first"
    );
    work.run(["backup", "copy.db"])
        .assert_exit(1)
        .assert_stderr_contains("exists already");
}

#[test]
fn reconcile_and_list_on_postgres() {
    let Ok(admin_url) = std::env::var("ACTIONSYNC_TEST_POSTGRES") else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED reconcile_and_list_on_postgres: set ACTIONSYNC_TEST_POSTGRES=postgres://… to run it"
        );
        return;
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let schema = Schema {
        admin_url: admin_url.clone(),
        name: format!("actionsync_cli_{}_{nanos}", std::process::id()),
    };
    let created = Command::new("psql")
        .arg(&admin_url)
        .args([
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            "-c",
            &format!("CREATE SCHEMA {}", schema.name),
        ])
        .output()
        .expect("run psql");
    assert!(
        created.status.success(),
        "cannot create the schema: {}",
        String::from_utf8_lossy(&created.stderr)
    );
    let separator = if admin_url.contains('?') { '&' } else { '?' };
    let url = format!(
        "{admin_url}{separator}options=-c%20search_path%3D{}",
        schema.name
    );

    let work = Work::with_bundled_specs();
    let first = work.run(["reconcile", "specs", "--database", &url]);
    first
        .assert_exit(0)
        .assert_stderr_contains("orders: applied as revision 1 (8 created)")
        .assert_stderr_contains("helpdesk: applied as revision 1 (7 created)");
    work.run(["reconcile", "specs", "--database", &url])
        .assert_exit(0)
        .assert_stderr_contains("orders: unchanged since the last reconcile");
    let listed = work.run(["actions", "list", "--database", &url, "--output", "json"]);
    listed.assert_exit(0);
    let actions = listed.stdout_json()["actions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(actions.len(), 15, "actions on postgres");
    assert_eq!(
        sorted(spec_names(&actions)),
        sorted(
            ORDERS_NAMES
                .iter()
                .chain(HELPDESK_NAMES.iter())
                .map(|s| s.to_string())
                .collect()
        )
    );
    first.check(
        !work.path().join("actionsync.db").exists(),
        "a SQLite catalogue was created although --database named postgres",
    );
    // The tables are in the test's own schema.
    let tables = Command::new("psql")
        .arg(&admin_url)
        .args([
            "-At",
            "-c",
            &format!(
                "SELECT count(*) FROM {}.actions WHERE state = 'active'",
                schema.name
            ),
        ])
        .output()
        .expect("run psql");
    assert_eq!(String::from_utf8_lossy(&tables.stdout).trim(), "15");
}

// ---------------------------------------------------------------------------
// 10. the same name in two sources
// ---------------------------------------------------------------------------

fn widget_spec(host: &str, title: &str) -> String {
    format!(
        "openapi: 3.0.3\n\
         info: {{title: {title}, version: '1'}}\n\
         servers: [{{url: 'https://{host}'}}]\n\
         paths:\n\
         \x20 /widgets/{{widgetId}}/price:\n\
         \x20   get:\n\
         \x20     operationId: getWidgetPrice\n\
         \x20     summary: Look up the current price of one widget\n\
         \x20     parameters: [{{name: widgetId, in: path, required: true, schema: {{type: string}}}}]\n\
         \x20     responses: {{'200': {{description: ok}}}}\n"
    )
}

/// Two sources whose specs give an action the same name both apply: the second
/// one's action takes its source's prefix, with a warning, and keeps that name
/// on later applies. Only what a prefix cannot resolve (a pinned name another
/// source has) is held back, and only that action.
#[test]
fn a_name_another_source_uses_is_prefixed_and_never_blocks_the_source() {
    let work = Work::new();
    work.write("specs/alpha.yaml", &widget_spec("alpha.example", "Alpha"));
    work.write("specs/beta.yaml", &widget_spec("beta.example", "Beta"));

    let run = work.run(["reconcile", "specs"]);
    run.assert_exit(0)
        .assert_stderr_contains("alpha: applied as revision 1 (1 created)")
        .assert_stderr_contains("beta: applied as revision 1 (1 created)")
        .assert_stdout_contains("the name `get_widget_price` is `getWidgetPrice`'s in source `alpha`: this action is named `beta_get_widget_price`");
    let names = |work: &Work| -> Vec<(String, String)> {
        let mut all: Vec<(String, String)> = list_actions(work, &[])
            .iter()
            .map(|a| {
                (
                    a["source"].as_str().unwrap_or("?").to_string(),
                    a["name"].as_str().unwrap_or("?").to_string(),
                )
            })
            .collect();
        all.sort();
        all
    };
    let both = vec![
        ("alpha".to_string(), "get_widget_price".to_string()),
        ("beta".to_string(), "beta_get_widget_price".to_string()),
    ];
    assert_eq!(names(&work), both);

    // The name stays: on a re-apply of a changed spec, and after alpha is gone.
    work.edit(
        "specs/beta.yaml",
        "Look up the current price of one widget",
        "Look up the current price of a single widget",
    );
    work.run(["reconcile", "specs"]).assert_exit(0);
    assert_eq!(names(&work), both);
    std::fs::remove_file(work.path().join("specs/alpha.yaml")).expect("remove alpha");
    work.write(
        "specs/alpha.yaml",
        "openapi: 3.0.3\ninfo: {title: Alpha, version: '2'}\npaths: {}\n",
    );
    work.run(["reconcile", "specs/alpha.yaml", "--force"])
        .assert_exit(0);
    work.edit(
        "specs/beta.yaml",
        "Look up the current price of a single widget",
        "Look up the price of a single widget",
    );
    work.run(["reconcile", "specs/beta.yaml"]).assert_exit(0);
    let active: Vec<(String, String)> = list_actions(&work, &["--state", "active"])
        .iter()
        .map(|a| {
            (
                a["source"].as_str().unwrap_or("?").to_string(),
                a["name"].as_str().unwrap_or("?").to_string(),
            )
        })
        .collect();
    assert_eq!(
        active,
        [("beta".to_string(), "beta_get_widget_price".to_string())],
        "a prefixed name is kept once given"
    );

    // A source's own prefix, from the config.
    work.write("specs/gamma.yaml", &widget_spec("gamma.example", "Gamma"));
    work.write(
        "actionsync.yaml",
        "sources:\n  - file: specs/gamma.yaml\n    name: gamma\n    name_prefix: gm\n  - file: specs/beta.yaml\n    name: beta\n",
    );
    work.write("specs/beta.yaml", &widget_spec("beta.example", "Beta"));
    work.run(["reconcile"]).assert_exit(0);
    let gamma = list_actions(&work, &["--source", "gamma"]);
    assert_eq!(gamma.len(), 1);
    // beta's action is `beta_get_widget_price`, so gamma's `get_widget_price`
    // is free while alpha's is archived.
    assert_eq!(gamma[0]["name"], "get_widget_price");

    // A pinned name another source has cannot be prefixed: that action is held
    // back, the rest of its source applies.
    let two_ops = format!(
        "{}\n  /widgets/{{widgetId}}/stock:\n    get:\n      operationId: getWidgetStock\n      summary: Look up how many of one widget are in stock\n      x-actionsync-pins: {{name: get_widget_price}}\n      parameters: [{{name: widgetId, in: path, required: true, schema: {{type: string}}}}]\n      responses: {{'200': {{description: ok}}}}\n",
        widget_spec("delta.example", "Delta").trim_end()
    );
    work.write("specs/delta.yaml", &two_ops);
    work.write(
        "actionsync.yaml",
        "sources:\n  - file: specs/gamma.yaml\n    name: gamma\n    name_prefix: gm\n  - file: specs/beta.yaml\n    name: beta\n  - file: specs/delta.yaml\n    name: delta\n",
    );
    let run = work.run(["reconcile"]);
    run.assert_exit(0)
        .assert_stdout_contains("held back: `get_widget_price` (getWidgetStock) is not created")
        .assert_stdout_contains("pin another name");
    let delta: Vec<String> = list_actions(&work, &["--source", "delta"])
        .iter()
        .map(|a| a["name"].as_str().unwrap_or("?").to_string())
        .collect();
    assert_eq!(delta, ["delta_get_widget_price"]);
    let plan = work.run(["plan", "--output", "json"]);
    plan.assert_exit(0);
    let held = &source_entry(&plan, "delta")["plan"]["held_back"];
    plan.check(
        held[0]["key"] == "getWidgetStock" && held[0]["kind"] == "create",
        format!("the plan says which change is held back: {held}"),
    );
}

// ---------------------------------------------------------------------------
// Output into a closed pipe (`actionsync … | head -1`)
// ---------------------------------------------------------------------------

/// Runs the binary with standard output a pipe nobody reads, as `| head -1` ends
/// up; returns the exit code and standard error.
fn run_into_closed_pipe(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_actionsync"))
        .args(args)
        .current_dir(dir)
        .env_remove("ACTIONSYNC_BASE_URL")
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("run actionsync");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A reader that stops reading (`| head`) is not an error: text output already
/// treats it so, and JSON output must too.
#[test]
fn output_into_a_closed_pipe_is_not_an_error() {
    let work = Work::with_bundled_specs();
    work.run(["reconcile", "specs"]).assert_exit(0);
    for args in [
        &["actions", "list"][..],
        &["actions", "list", "--output", "json"][..],
        &["actions", "show", "get_order", "--output", "json"][..],
        &["history", "--output", "json"][..],
        &["plan", "specs", "--output", "json"][..],
    ] {
        let (code, stderr) = run_into_closed_pipe(work.path(), args);
        assert!(
            code == Some(0) && !stderr.contains("error"),
            "`actionsync {}` into a closed pipe: exit {code:?}, stderr:\n{stderr}",
            args.join(" ")
        );
    }
}

/// `convert` writes its actions as it makes them: a reader that stops after the
/// first lines ends the conversion quietly, not with an error.
#[test]
fn convert_into_a_closed_pipe_stops_quietly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut paths = String::new();
    for i in 0..2000 {
        paths.push_str(&format!(
            "  /items{i}/{{id}}:\n    get:\n      operationId: getItem{i}\n      summary: Fetch item {i} of the catalogue by its id\n      parameters:\n        - {{name: id, in: path, required: true, schema: {{type: string}}}}\n      responses: {{'200': {{description: ok}}}}\n"
        ));
    }
    let spec = format!(
        "openapi: 3.0.3\ninfo: {{title: Many, version: '1'}}\nservers: [{{url: 'https://api.example.com'}}]\npaths:\n{paths}"
    );
    std::fs::write(dir.path().join("many.yaml"), spec).expect("write the spec");
    let (code, stderr) = run_into_closed_pipe(dir.path(), &["convert", "many.yaml"]);
    assert!(
        code == Some(0) && !stderr.contains("error"),
        "`actionsync convert` into a closed pipe: exit {code:?}, stderr:\n{stderr}"
    );
}

#[test]
fn commands_that_read_never_create_a_catalogue_at_a_mistyped_path() {
    let work = Work::with_bundled_specs();
    work.run(["reconcile", "specs"]).assert_success();
    for args in [
        &[
            "actions",
            "list",
            "--database",
            "sqlite://actionsync-typo.db",
        ][..],
        &["history", "--database", "sqlite://actionsync-typo.db"],
        &[
            "export",
            "--format",
            "openai",
            "--database",
            "sqlite://actionsync-typo.db",
        ],
        &["token", "list", "--database", "sqlite://actionsync-typo.db"],
    ] {
        work.run(args)
            .assert_exit(1)
            .assert_stderr_contains("no catalogue at")
            .assert_stderr_contains("actionsync-typo.db")
            .assert_stdout_empty();
        assert!(
            !work.path().join("actionsync-typo.db").exists(),
            "{args:?} created the catalogue"
        );
    }
    // The real one still reads.
    work.run(["actions", "list"])
        .assert_success()
        .assert_stdout_contains("get_order");
}
