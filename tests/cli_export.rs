//! End-to-end tests of `actionsync export`, run on the real binary. Each test works in
//! a temporary folder of its own: it reconciles copies of the bundled specs (or a spec
//! it writes) into a SQLite catalogue there, sets hand-owned fields with `actions
//! set`, and reads the tools back in each format and for each audience.

mod util;

use std::path::Path;

use serde_json::{Value, json};
use util::{Run, actionsync};

/// A temporary folder with a catalogue in it.
struct Work {
    dir: tempfile::TempDir,
}

impl Work {
    /// Copies of both bundled specs in `specs/`, reconciled.
    fn bundled() -> Work {
        let work = Work {
            dir: util::tempdir(),
        };
        for name in ["orders.yaml", "helpdesk.json"] {
            let text = std::fs::read_to_string(util::crate_root().join("specs").join(name))
                .expect("read bundled spec");
            work.write(&format!("specs/{name}"), &text);
        }
        work.run(["reconcile", "specs"]).assert_exit(0);
        work
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, rel: &str, text: &str) {
        let path = self.path().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create folder");
        }
        std::fs::write(&path, text).expect("write file");
    }

    fn run<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        actionsync(args).current_dir(self.path()).run()
    }

    /// `actions set ARGS`, which must succeed.
    fn set(&self, args: &[&str]) {
        let mut all = vec!["actions", "set"];
        all.extend_from_slice(args);
        self.run(&all).assert_exit(0);
    }

    /// `export ARGS` → the document, after checking it succeeded.
    fn export(&self, args: &[&str]) -> Value {
        let mut all = vec!["export"];
        all.extend_from_slice(args);
        let run = self.run(&all);
        run.assert_exit(0);
        run.stdout_json()
    }

    /// The tool names of an OpenAI export with these filters, in output order.
    fn openai_names(&self, filters: &[&str]) -> Vec<String> {
        let mut args = vec!["--output", "openai"];
        args.extend_from_slice(filters);
        let doc = self.export(&args);
        doc.as_array()
            .unwrap_or_else(|| panic!("an OpenAI export is an array: {doc:#}"))
            .iter()
            .map(|t| t["function"]["name"].as_str().unwrap_or("?").to_string())
            .collect()
    }
}

/// The active actions of both bundled specs, sorted by name.
const ALL_NAMES: [&str; 15] = [
    "cancel_order",
    "create_order",
    "create_ticket",
    "create_ticket_attachment",
    "get_customer",
    "get_loyalty_rewards",
    "get_order",
    "get_ticket_by_ticket_id",
    "list_customers",
    "list_order_shipments",
    "list_orders",
    "list_tickets",
    "refund_order",
    "update_shipping_address",
    "update_ticket",
];

fn without(names: &[&str], left_out: &[&str]) -> Vec<String> {
    names
        .iter()
        .filter(|n| !left_out.contains(n))
        .map(|n| n.to_string())
        .collect()
}

#[test]
fn segments_restrict_and_disabled_actions_never_appear() {
    let work = Work::bundled();
    work.set(&["refund_order", "--segments", "vip,eu"]);
    work.set(&["cancel_order", "--enabled", "false"]);

    // No segment filter: every segment's actions, sorted by name; never a disabled one.
    // (get_loyalty_rewards is restricted to vip by the spec's x-actionsync-segments.)
    assert_eq!(
        work.openai_names(&[]),
        without(&ALL_NAMES, &["cancel_order"])
    );

    // A contact outside the segments never sees the restricted actions.
    let outside = without(
        &ALL_NAMES,
        &["cancel_order", "refund_order", "get_loyalty_rewards"],
    );
    assert_eq!(work.openai_names(&["--segments", "other"]), outside);
    assert_eq!(work.openai_names(&["--segments", "other,VIP"]), outside);
    assert_eq!(work.openai_names(&["--no-segments"]), outside);

    // A contact in one of them does.
    assert_eq!(
        work.openai_names(&["--segments", "eu"]),
        without(&ALL_NAMES, &["cancel_order", "get_loyalty_rewards"])
    );
    assert_eq!(
        work.openai_names(&["--segments", "other,vip"]),
        without(&ALL_NAMES, &["cancel_order"])
    );

    // The disabled action stays out for every audience and format.
    for format in ["openai", "mcp", "native"] {
        for filters in [&[][..], &["--segments", "vip,eu"], &["--channel", "widget"]] {
            let mut args = vec!["export", "--output", format];
            args.extend_from_slice(filters);
            let run = work.run(&args);
            run.assert_exit(0).check(
                !run.stdout().contains("cancel_order"),
                "a disabled action was exported",
            );
        }
    }

    // Enabled again, it is back.
    work.set(&["cancel_order", "--enabled", "true"]);
    assert!(
        work.openai_names(&["--no-segments"])
            .contains(&"cancel_order".to_string())
    );
}

#[test]
fn archived_actions_never_appear() {
    let work = Work::bundled();
    assert!(
        work.openai_names(&[])
            .contains(&"list_customers".to_string())
    );
    let spec = work.path().join("specs/helpdesk.json");
    let mut doc: Value =
        serde_json::from_str(&std::fs::read_to_string(&spec).expect("read spec")).expect("JSON");
    let removed = doc["paths"]
        .as_object_mut()
        .expect("paths")
        .remove("/customers");
    assert!(
        removed.is_some(),
        "the bundled helpdesk spec has no /customers"
    );
    work.write("specs/helpdesk.json", &doc.to_string());
    work.run(["reconcile", "specs"])
        .assert_exit(0)
        .assert_stderr_contains("helpdesk: applied as revision 2 (1 archived)");
    let run = work.run(["export", "--output", "native"]);
    run.assert_exit(0).check(
        !run.stdout().contains("list_customers"),
        "an archived action was exported",
    );
}

#[test]
fn channel_filter_and_an_unknown_channel() {
    let work = Work::bundled();
    work.set(&["get_order", "--channels", "sms,widget"]);
    // get_loyalty_rewards is on widget and email, from the spec.
    assert_eq!(work.openai_names(&["--channel", "sms"]), ["get_order"]);
    assert_eq!(
        work.openai_names(&["--channel", "EMAIL"]),
        ["get_loyalty_rewards"]
    );
    assert_eq!(
        work.openai_names(&["--channel", "whatsapp"]),
        Vec::<String>::new()
    );
    assert_eq!(work.openai_names(&["--channel", "widget"]).len(), 15);

    work.run(["export", "--output", "openai", "--channel", "fax"])
        .assert_exit(64)
        .assert_stderr_contains("`fax` is not a channel")
        .assert_stderr_contains("widget, email, sms, whatsapp, phone, slack")
        .assert_stdout_empty();
}

#[test]
fn openai_tools_have_the_values_in_effect_and_no_magic_arguments() {
    let work = Work::bundled();
    let pinned = "Look up a customer's order from the number on their receipt.";
    work.set(&[
        "get_order",
        "--pin",
        &format!("description={pinned}"),
        "--magic",
        "orderId=contact.last_order_id",
    ]);
    let doc = work.export(&["--output", "openai", "--source", "orders"]);
    let tools = doc.as_array().expect("an array");
    assert_eq!(tools.len(), 8, "orders has 8 actions: {doc:#}");
    let get_order = tools
        .iter()
        .find(|t| t["function"]["name"] == "get_order")
        .expect("get_order is exported");
    assert_eq!(
        get_order,
        &json!({
            "type": "function",
            "function": {
                "name": "get_order",
                "description": pinned,
                "parameters": {"type": "object", "properties": {}, "required": []},
            },
        })
    );

    // The spec's magic field (email → contact.email) is filled by the runtime too.
    let rewards = tools
        .iter()
        .find(|t| t["function"]["name"] == "get_loyalty_rewards")
        .expect("get_loyalty_rewards is exported");
    let properties = &rewards["function"]["parameters"]["properties"];
    assert!(properties.get("email").is_none(), "{rewards:#}");

    // A body is one argument, required when the operation requires it.
    let create = tools
        .iter()
        .find(|t| t["function"]["name"] == "create_order")
        .expect("create_order is exported");
    let parameters = &create["function"]["parameters"];
    assert_eq!(parameters["type"], "object");
    assert_eq!(parameters["properties"]["body"]["type"], "object");
    assert_eq!(parameters["required"], json!(["body"]));
}

#[test]
fn mcp_document_shape() {
    let work = Work::bundled();
    let doc = work.export(&["--output", "mcp", "--source", "orders"]);
    let keys: Vec<&String> = doc.as_object().expect("an object").keys().collect();
    assert_eq!(keys, ["tools"]);
    let tools = doc["tools"].as_array().expect("tools is an array");
    let names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "tools are sorted by name");
    assert_eq!(names.len(), 8);
    for t in tools {
        let keys: Vec<&String> = t.as_object().expect("a tool object").keys().collect();
        assert_eq!(keys, ["name", "description", "inputSchema", "annotations"]);
        assert_eq!(t["inputSchema"]["type"], "object");
        assert!(t["description"].as_str().is_some_and(|d| d.len() >= 20));
    }
    let cancel = tools
        .iter()
        .find(|t| t["name"] == "cancel_order")
        .expect("cancel_order");
    assert_eq!(
        cancel["annotations"],
        json!({"readOnlyHint": false, "destructiveHint": true})
    );
    let get = tools
        .iter()
        .find(|t| t["name"] == "get_order")
        .expect("get_order");
    assert_eq!(
        get["annotations"],
        json!({"readOnlyHint": true, "destructiveHint": false})
    );
    assert_eq!(get["inputSchema"]["required"], json!(["order_id"]));
}

#[test]
fn native_document_shape() {
    let work = Work::bundled();
    work.set(&["get_order", "--segments", "vip", "--channels", "widget,sms"]);
    let doc = work.export(&["--output", "native", "--segments", "vip"]);
    let tools = doc.as_array().expect("an array");
    let get_order = tools
        .iter()
        .find(|t| t["name"] == "get_order")
        .expect("get_order");
    let keys: Vec<&String> = get_order.as_object().expect("object").keys().collect();
    assert_eq!(
        keys,
        [
            "id",
            "source",
            "key",
            "name",
            "description",
            "method",
            "url",
            "parameters",
            "headers",
            "body",
            "auth",
            "magic_fields",
            "require_confirmation",
            "channels",
            "segments",
            "tokens"
        ]
    );
    assert!(get_order["tokens"].as_u64().is_some_and(|n| n > 0));
    assert_eq!(get_order["source"], "orders");
    assert_eq!(get_order["key"], "getOrder");
    assert_eq!(get_order["method"], "GET");
    assert_eq!(
        get_order["url"],
        "https://api.acme.example/v1/orders/{orderId}"
    );
    assert_eq!(get_order["segments"], json!(["vip"]));
    assert_eq!(get_order["channels"], json!(["widget", "sms"]));
    assert!(get_order["id"].is_i64());
    let rewards = tools
        .iter()
        .find(|t| t["name"] == "get_loyalty_rewards")
        .expect("get_loyalty_rewards");
    assert_eq!(rewards["magic_fields"], json!({"email": "contact.email"}));
}

#[test]
fn source_filter_and_an_unknown_source() {
    let work = Work::bundled();
    let helpdesk = work.export(&["--output", "native", "--source", "helpdesk"]);
    let sources: Vec<&str> = helpdesk
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|t| t["source"].as_str())
        .collect();
    assert_eq!(sources, ["helpdesk"; 7]);

    work.run(["export", "--output", "openai", "--source", "billing"])
        .assert_exit(1)
        .assert_stderr_contains("no source named `billing`")
        .assert_stdout_empty();
}

#[test]
fn segments_and_no_segments_conflict() {
    let work = Work::bundled();
    work.run([
        "export",
        "--output",
        "openai",
        "--segments",
        "vip",
        "--no-segments",
    ])
    .assert_exit(64)
    .assert_stdout_empty();
    work.run(["export", "--output", "claude"])
        .assert_exit(64)
        .assert_stderr_contains("anthropic");
    work.run(["export", "--output", "mcp", "--strict"])
        .assert_exit(64)
        .assert_stderr_contains("--output openai")
        .assert_stdout_empty();
}

/// `--output` is the format, as in every other command; the file is `--out`.
#[test]
fn output_is_the_format_and_out_the_file() {
    let work = Work::bundled();
    let stdout = work.run(["export", "--output", "json"]);
    stdout
        .assert_exit(64)
        .assert_stderr_contains("openai")
        .assert_stdout_empty();
    assert!(
        !work.path().join("json").exists(),
        "`--output json` wrote a file named json"
    );
    let run = work.run(["export", "--output", "openai", "--out", "tools.json"]);
    run.assert_exit(0).assert_stdout_empty();
    let written = std::fs::read_to_string(work.path().join("tools.json")).expect("read");
    let doc: Value = serde_json::from_str(&written).expect("JSON");
    assert!(
        doc.as_array().is_some_and(|tools| !tools.is_empty()),
        "{doc:#}"
    );
}

#[test]
fn output_file_is_the_same_document_and_replaced_whole() {
    let work = Work::bundled();
    let stdout = work.run(["export", "--output", "mcp"]);
    stdout.assert_exit(0);

    work.write("out/tools.json", "an older export");
    work.run(["export", "--output", "mcp", "--out", "out/tools.json"])
        .assert_exit(0)
        .assert_stdout_empty()
        .assert_stderr_contains("wrote 15 mcp tools, ")
        .assert_stderr_contains(" to out/tools.json for any channel, every segment");
    let written = std::fs::read_to_string(work.path().join("out/tools.json")).expect("read");
    assert_eq!(written, stdout.stdout(), "the file differs from stdout");
    let left: Vec<String> = std::fs::read_dir(work.path().join("out"))
        .expect("list out/")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["tools.json"], "a temporary file was left behind");

    // The same input gives the same bytes.
    work.run(["export", "--output", "mcp", "-o", "out/again.json"])
        .assert_exit(0);
    assert_eq!(
        std::fs::read_to_string(work.path().join("out/again.json")).expect("read"),
        written
    );

    work.run(["export", "--output", "mcp", "--out", "missing/tools.json"])
        .assert_exit(1)
        .assert_stderr_contains("cannot write missing/tools.json");
}

/// A spec whose body and a query parameter each carry a different recursive schema
/// named `Folder`.
const TREES_SPEC: &str = r##"
openapi: 3.1.0
info: {title: Trees, version: "1"}
servers: [{url: "https://trees.example/api"}]
paths:
  /folders:
    post:
      operationId: createFolder
      summary: Create a folder tree for a customer's documents
      parameters:
        - name: filter
          in: query
          description: Which folders to copy from the template.
          schema: {$ref: "#/x-filters/Folder"}
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
x-filters:
  Folder:
    type: object
    properties:
      pattern: {type: string}
      not: {$ref: "#/x-filters/Folder"}
"##;

/// Every `$ref` string in `value`.
fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
fn recursive_schemas_are_cut_into_self_contained_tools_in_every_format() {
    let work = Work {
        dir: util::tempdir(),
    };
    work.write("specs/trees.yaml", TREES_SPEC);
    work.run(["reconcile", "specs"]).assert_exit(0);
    let openai = work.export(&["--output", "openai"]);
    let schema = &openai[0]["function"]["parameters"];
    assert_eq!(openai[0]["function"]["name"], "create_folder");
    // Nothing a client must resolve: no reference, no definitions.
    let mut found = Vec::new();
    refs(schema, &mut found);
    assert!(found.is_empty(), "{found:?} in {schema:#}");
    assert!(schema.get("$defs").is_none(), "{schema:#}");
    assert_eq!(schema["required"], json!(["body"]));
    // Each recursion is cut where it comes back, keeping its type and saying why.
    assert_eq!(
        schema["properties"]["filter"]["properties"]["not"],
        json!({"type": "object", "description": "Folder (not expanded: recursive)"})
    );
    assert_eq!(
        schema["properties"]["body"]["properties"]["children"]["items"],
        json!({"type": "object", "description": "Folder (not expanded: recursive)"})
    );
    assert!(schema["properties"]["filter"]["properties"]["pattern"].is_object());

    let mcp = work.export(&["--output", "mcp"]);
    assert_eq!(&mcp["tools"][0]["inputSchema"], schema);
}

// ---------------------------------------------------------------------------
// Token counts, and the formats checked with their clients' own types
// ---------------------------------------------------------------------------

/// The `o200k_base` tokens of `value` as compact JSON: how a tool's cost is defined.
fn o200k(value: &Value) -> u64 {
    let text = serde_json::to_string(value).expect("serialise");
    tiktoken_rs::o200k_base_singleton()
        .encode_ordinary(&text)
        .len() as u64
}

/// `N TOOLS, T tokens` from export's summary on standard error.
fn summary(run: &Run) -> (u64, u64) {
    let line = run
        .stderr()
        .lines()
        .find(|l| l.contains(" tokens (o200k_base)"))
        .unwrap_or_else(|| run.fail("no summary on standard error"));
    let numbers: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    match numbers[..] {
        [count, tokens, ..] => (count, tokens),
        _ => run.fail("a summary without its numbers"),
    }
}

#[test]
fn each_tool_and_each_audience_reports_its_token_cost() {
    let work = Work::bundled();
    work.set(&["refund_order", "--segments", "vip"]);
    let openai = work.export(&["--output", "openai"]);
    let native = work.export(&["--output", "native"]);
    let (openai, native) = (openai.as_array().unwrap(), native.as_array().unwrap());
    assert_eq!(openai.len(), native.len());
    // The count is the tokens of the OpenAI tool as compact JSON, in every format.
    for (tool, action) in openai.iter().zip(native) {
        assert_eq!(tool["function"]["name"], action["name"]);
        assert_eq!(action["tokens"], o200k(tool), "{}", action["name"]);
    }
    let total: u64 = native.iter().filter_map(|t| t["tokens"].as_u64()).sum();
    for format in ["openai", "anthropic", "mcp", "native"] {
        let run = work.run(["export", "--output", format]);
        run.assert_exit(0).assert_stderr_contains(&format!(
            "15 {format} tools, {total} tokens (o200k_base) for any channel, every segment"
        ));
    }

    // The audience's total: what that contact is sent, no more.
    let refund = native
        .iter()
        .find(|t| t["name"] == "refund_order")
        .and_then(|t| t["tokens"].as_u64())
        .expect("refund_order's tokens");
    let rewards = native
        .iter()
        .find(|t| t["name"] == "get_loyalty_rewards")
        .and_then(|t| t["tokens"].as_u64())
        .expect("get_loyalty_rewards's tokens");
    let run = work.run(["export", "--output", "openai", "--no-segments"]);
    run.assert_exit(0)
        .assert_stderr_contains("for any channel, a contact in no segment");
    assert_eq!(summary(&run), (13, total - refund - rewards));
    let doc = run.stdout_json();
    let sent: u64 = doc.as_array().unwrap().iter().map(o200k).sum();
    assert_eq!(sent, total - refund - rewards);
}

#[test]
fn the_budget_warns_when_an_audience_is_sent_too_much() {
    let work = Work::bundled();
    let run = work.run(["export", "--output", "openai"]);
    run.assert_exit(0).check(
        !run.stderr().contains("warning"),
        "a warning under the default budget",
    );
    work.write("actionsync.yaml", "token_budget:\n  audience_tokens: 100\n");
    work.run(["export", "--output", "openai", "--channel", "widget"])
        .assert_exit(0)
        .assert_stderr_contains("over the budget of 100 for one audience (budget.audience_tokens)");
    // The environment overrides the file.
    let run = actionsync(["export", "--output", "openai"])
        .current_dir(work.path())
        .env("ACTIONSYNC_AUDIENCE_TOKENS", "1000000")
        .run();
    run.assert_exit(0).check(
        !run.stderr().contains("warning"),
        "the environment's budget did not apply",
    );
}

#[test]
fn anthropic_tools_have_their_shape() {
    let work = Work::bundled();
    let openai = work.export(&["--output", "openai"]);
    let anthropic = work.export(&["--output", "anthropic"]);
    let tools = anthropic.as_array().expect("an array");
    assert_eq!(tools.len(), 15);
    for (tool, function) in tools.iter().zip(openai.as_array().unwrap()) {
        let keys: Vec<&String> = tool.as_object().expect("an object").keys().collect();
        assert_eq!(keys, ["name", "description", "input_schema"]);
        let function = &function["function"];
        assert_eq!(tool["name"], function["name"]);
        assert_eq!(tool["description"], function["description"]);
        assert_eq!(tool["input_schema"], function["parameters"]);
        assert_eq!(tool["input_schema"]["type"], "object");
        // Anthropic's tool names: 1 to 64 of a-z A-Z 0-9 _ -.
        let name = tool["name"].as_str().expect("a name");
        assert!(
            (1..=64).contains(&name.len())
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
            "{name}"
        );
    }
}

#[test]
fn mcp_export_reads_as_the_official_sdks_list_tools_result() {
    let work = Work::bundled();
    let run = work.run(["export", "--output", "mcp"]);
    run.assert_exit(0);
    let result: rmcp::model::ListToolsResult = serde_json::from_str(run.stdout())
        .unwrap_or_else(|e| run.fail(format!("not an MCP ListToolsResult: {e}")));
    assert_eq!(result.tools.len(), 15);
    assert!(result.next_cursor.is_none());
    let names: Vec<&str> = result.tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names, ALL_NAMES);
    let cancel = result
        .tools
        .iter()
        .find(|t| t.name == "cancel_order")
        .expect("cancel_order");
    let hints = cancel.annotations.as_ref().expect("annotations");
    assert_eq!(hints.read_only_hint, Some(false));
    assert_eq!(hints.destructive_hint, Some(true));
    for tool in &result.tools {
        assert_eq!(
            tool.input_schema.get("type"),
            Some(&json!("object")),
            "{}",
            tool.name
        );
        assert!(tool.description.as_deref().is_some_and(|d| d.len() >= 20));
    }
}

#[test]
fn openai_export_reads_as_async_openais_chat_tools() {
    use async_openai::types::chat::ChatCompletionTools;
    let work = Work::bundled();
    let run = work.run(["export", "--output", "openai"]);
    run.assert_exit(0);
    let tools: Vec<ChatCompletionTools> = serde_json::from_str(run.stdout())
        .unwrap_or_else(|e| run.fail(format!("not OpenAI chat tools: {e}")));
    assert_eq!(tools.len(), 15);
    for (tool, name) in tools.iter().zip(ALL_NAMES) {
        let ChatCompletionTools::Function(tool) = tool else {
            run.fail("a tool that is not a function");
        };
        assert_eq!(tool.function.name, name);
        assert_eq!(tool.function.strict, None);
        let parameters = tool.function.parameters.as_ref().expect("parameters");
        assert_eq!(parameters["type"], "object");
    }
}

/// Checks what OpenAI's strict mode asks of `schema` (found at `at`), everywhere
/// in it: every object closed and all its properties required.
fn assert_strict(schema: &Value, at: &str) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::Object(properties)) = map.get("properties") {
                assert_eq!(map.get("additionalProperties"), Some(&json!(false)), "{at}");
                let required: Vec<&str> = map["required"]
                    .as_array()
                    .unwrap_or_else(|| panic!("{at}: no required"))
                    .iter()
                    .filter_map(Value::as_str)
                    .collect();
                let names: Vec<&str> = properties.keys().map(String::as_str).collect();
                assert_eq!(required, names, "{at}");
            }
            for keyword in [
                "oneOf",
                "allOf",
                "not",
                "minLength",
                "maxLength",
                "title",
                "default",
                "examples",
            ] {
                assert!(!map.contains_key(keyword), "{at} has {keyword}");
            }
            for (key, value) in map {
                assert_strict(value, &format!("{at}/{key}"));
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                assert_strict(item, &format!("{at}/{i}"));
            }
        }
        _ => {}
    }
}

/// A spec with one operation strict mode can take and one it cannot (a body that
/// is a free-form object).
const STRICT_SPEC: &str = r##"
openapi: 3.0.3
info: {title: Notes, version: "1"}
servers: [{url: "https://notes.example/api"}]
paths:
  /notes:
    post:
      operationId: createNote
      summary: Create a note on a customer's account
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [text]
              properties:
                text: {type: string, minLength: 1, maxLength: 2000}
                pinned: {type: boolean, default: false}
                color: {type: string, enum: [red, green], nullable: true}
                author:
                  oneOf:
                    - {type: string}
                    - {type: object, properties: {id: {type: integer}}, required: [id]}
      responses: {"201": {description: Created}}
  /notes/{noteId}/metadata:
    put:
      operationId: setNoteMetadata
      summary: Replace the free-form metadata attached to a note
      parameters:
        - {name: noteId, in: path, required: true, schema: {type: string}}
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object, additionalProperties: true}
      responses: {"204": {description: Done}}
"##;

#[test]
fn strict_export_follows_openais_rules_or_names_what_cannot() {
    use async_openai::types::chat::ChatCompletionTools;
    let work = Work {
        dir: util::tempdir(),
    };
    work.write("specs/notes.yaml", STRICT_SPEC);
    work.run(["reconcile", "specs"]).assert_exit(0);

    // One action cannot be strict: nothing is written, and it is named with why.
    let run = work.run(["export", "--output", "openai", "--strict"]);
    run.assert_exit(1)
        .assert_stdout_empty()
        .assert_stderr_contains("1 of the 2 tools cannot be strict")
        .assert_stderr_contains("`set_note_metadata`: #/properties/body: a free-form object");
    work.run([
        "export",
        "--output",
        "openai",
        "--strict",
        "-o",
        "tools.json",
    ])
    .assert_exit(1);
    assert!(!work.path().join("tools.json").exists());

    // Without it, the rest is strict.
    work.set(&["set_note_metadata", "--enabled", "false"]);
    let run = work.run(["export", "--output", "openai", "--strict"]);
    run.assert_exit(0)
        .assert_stderr_contains("1 openai strict tool, ");
    let doc = run.stdout_json();
    let tool = &doc[0]["function"];
    assert_eq!(tool["name"], "create_note");
    assert_eq!(tool["strict"], true);
    let parameters = &tool["parameters"];
    assert_strict(parameters, "#");
    let body = &parameters["properties"]["body"];
    assert_eq!(body["properties"]["text"], json!({"type": "string"}));
    // Optional: nullable, so the model may send null.
    assert_eq!(
        body["properties"]["pinned"],
        json!({"type": ["boolean", "null"]})
    );
    assert_eq!(
        body["properties"]["color"],
        json!({"type": ["string", "null"], "enum": ["red", "green", null]})
    );
    assert_eq!(
        body["properties"]["author"]["anyOf"][1],
        json!({"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"], "additionalProperties": false})
    );
    assert_eq!(
        body["properties"]["author"]["anyOf"][2],
        json!({"type": "null"})
    );

    let tools: Vec<ChatCompletionTools> = serde_json::from_str(run.stdout())
        .unwrap_or_else(|e| run.fail(format!("not OpenAI chat tools: {e}")));
    let ChatCompletionTools::Function(tool) = &tools[0] else {
        run.fail("not a function tool");
    };
    assert_eq!(tool.function.strict, Some(true));
}
