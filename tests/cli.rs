//! End-to-end tests of the `actionsync` binary: what a user sees on stdout, stderr
//! and in the exit code when running `actionsync convert` and `actionsync lint`.

mod util;

use std::path::Path;

use serde_json::{Value, json};
use util::{actionsync, fixture, tempdir};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// The HTTP methods that make an operation in an OpenAPI path item.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Counts the operations of a spec file (relative to the crate root) straight from
/// its text, independently of the program: every method key of every path item.
fn count_operations(path: &str) -> usize {
    let text = std::fs::read_to_string(util::crate_root().join(path))
        .unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let doc: serde_yaml::Value =
        serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{path} is not YAML: {e}"));
    let Some(paths) = doc.get("paths").and_then(|p| p.as_mapping()) else {
        return 0;
    };
    paths
        .values()
        .filter_map(|item| item.as_mapping())
        .map(|item| {
            item.keys()
                .filter(|k| k.as_str().is_some_and(|k| METHODS.contains(&k)))
                .count()
        })
        .sum()
}

/// `^[a-z0-9_]{5,64}$`, the tool-name rule of the LLM APIs.
fn is_valid_name(name: &str) -> bool {
    (5..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn array<'a>(doc: &'a Value, key: &str) -> &'a Vec<Value> {
    doc[key]
        .as_array()
        .unwrap_or_else(|| panic!("`{key}` is not an array in {doc:#}"))
}

fn names(doc: &Value) -> Vec<String> {
    array(doc, "actions")
        .iter()
        .map(|a| {
            a["name"]
                .as_str()
                .expect("action name is a string")
                .to_string()
        })
        .collect()
}

fn action<'a>(doc: &'a Value, name: &str) -> &'a Value {
    array(doc, "actions")
        .iter()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("no action `{name}` in {:?}", names(doc)))
}

fn skipped_keys(doc: &Value) -> Vec<String> {
    array(doc, "skipped")
        .iter()
        .map(|s| {
            s["key"]
                .as_str()
                .expect("skipped key is a string")
                .to_string()
        })
        .collect()
}

fn skipped<'a>(doc: &'a Value, key: &str) -> &'a Value {
    array(doc, "skipped")
        .iter()
        .find(|s| s["key"] == key)
        .unwrap_or_else(|| panic!("`{key}` is not skipped; skipped: {:?}", skipped_keys(doc)))
}

fn reason(skip: &Value) -> &str {
    skip["reason"].as_str().expect("skip reason is a string")
}

fn diagnostics_with<'a>(doc: &'a Value, severity: &str) -> Vec<&'a Value> {
    array(doc, "diagnostics")
        .iter()
        .filter(|d| d["severity"] == severity)
        .collect()
}

fn codes(diagnostics: &[&Value]) -> Vec<String> {
    diagnostics
        .iter()
        .map(|d| d["code"].as_str().unwrap_or("").to_string())
        .collect()
}

/// `convert ARGS...` must exit 0 with a JSON document on stdout; returns it.
fn convert_ok(args: &[&str]) -> Value {
    let mut all = vec!["convert"];
    all.extend_from_slice(args);
    let run = actionsync(&all).run();
    run.assert_success();
    run.stdout_json()
}

/// Checks that `actions + skipped` accounts for every operation of `spec`.
fn assert_accounts_for_every_operation(doc: &Value, spec: &str) {
    let operations = count_operations(spec);
    let actions = array(doc, "actions").len();
    let skipped = array(doc, "skipped").len();
    assert_eq!(
        actions + skipped,
        operations,
        "{spec}: {actions} actions + {skipped} skipped should be its {operations} operations\n\
         actions: {:?}\nskipped: {:?}",
        names(doc),
        skipped_keys(doc)
    );
}

/// Walks every value of a JSON document.
fn walk<'a>(value: &'a Value, visit: &mut dyn FnMut(&'a Value)) {
    visit(value);
    match value {
        Value::Array(items) => items.iter().for_each(|v| walk(v, visit)),
        Value::Object(map) => map.values().for_each(|v| walk(v, visit)),
        _ => {}
    }
}

// ---------------------------------------------------------------------------
// 1. The document `convert` prints
// ---------------------------------------------------------------------------

#[test]
fn convert_orders_prints_the_whole_document() {
    let doc = convert_ok(&["specs/orders.yaml"]);

    let keys: Vec<&str> = doc
        .as_object()
        .expect("the output is a JSON object")
        .keys()
        .map(String::as_str)
        .collect();
    for key in ["source", "spec", "actions", "skipped", "diagnostics"] {
        assert!(
            keys.contains(&key),
            "no `{key}` in the output keys {keys:?}"
        );
    }
    assert_eq!(doc["source"], "orders", "source is the file stem");
    assert_eq!(doc["spec"]["title"], "Acme Orders API");
    assert_eq!(doc["spec"]["version"], "1.4.0");
    assert_eq!(doc["spec"]["openapi"], "3.0.3");

    assert_accounts_for_every_operation(&doc, "specs/orders.yaml");
    let actions = array(&doc, "actions");
    assert!(!actions.is_empty(), "orders.yaml converts to actions");
    for a in actions {
        let name = a["name"].as_str().expect("name is a string");
        assert!(is_valid_name(name), "`{name}` is not ^[a-z0-9_]{{5,64}}$");
        let description = a["description"].as_str().expect("description is a string");
        assert!(
            description.chars().count() >= 20,
            "`{name}` has a description under 20 characters: {description:?}"
        );
        let url = a["url"].as_str().expect("url is a string");
        assert!(
            url.starts_with("https://"),
            "`{name}` has a non-https URL {url}"
        );
        assert_eq!(a["source"], "orders", "`{name}` has the document's source");
    }
    // specs/README.md promises a clean conversion: no diagnostics of any kind.
    assert_eq!(array(&doc, "diagnostics"), &Vec::<Value>::new());
}

/// The invariant behind item 1, over every fixture whose operations are all in the
/// root file: nothing is silently dropped.
#[test]
fn convert_accounts_for_every_operation_of_every_fixture() {
    let specs = [
        "specs/orders.yaml",
        "specs/helpdesk.json",
        "tests/fixtures/descriptions.yaml",
        "tests/fixtures/extensions.yaml",
        "tests/fixtures/methods.yaml",
        "tests/fixtures/name-collisions.yaml",
        "tests/fixtures/names-from-operation-id.yaml",
        "tests/fixtures/names-from-path.yaml",
        "tests/fixtures/oas31-features.yaml",
        "tests/fixtures/parameters.yaml",
        "tests/fixtures/recursive-schemas.yaml",
        "tests/fixtures/ref-escapes.yaml",
        "tests/fixtures/request-bodies.yaml",
        "tests/fixtures/schema-normalise-oas30.yaml",
        "tests/fixtures/security.yaml",
        "tests/fixtures/selection.yaml",
        "tests/fixtures/server-http.yaml",
        "tests/fixtures/server-missing.yaml",
        "tests/fixtures/server-relative.yaml",
        "tests/fixtures/servers.yaml",
        "tests/fixtures/swagger2.yaml",
        "tests/fixtures/swagger2.json",
        "tests/fixtures/swagger2-http.json",
        "tests/fixtures/zero-ops.yaml",
        "tests/fixtures/broken/bad-operation.yaml",
        "tests/fixtures/multi-file/escape.yaml",
    ];
    for spec in specs {
        let doc = convert_ok(&[spec]);
        assert_accounts_for_every_operation(&doc, spec);
        for name in names(&doc) {
            assert!(is_valid_name(&name), "{spec}: `{name}` is not a valid name");
        }
    }
}

/// `convert` writes each action as it is made and drops it; the document is
/// still byte for byte the whole conversion's, renamed actions (held until every
/// name is known) and diagnostics included.
#[test]
fn convert_writes_the_whole_conversion_as_it_goes() {
    use actionsync::convert::{self, ConvertOptions};
    use actionsync::source::{self, LoadOptions, SpecLocation};
    for spec in [
        "specs/orders.yaml",
        "specs/helpdesk.json",
        "tests/fixtures/name-collisions.yaml",
        "tests/fixtures/broken/bad-operation.yaml",
        "tests/fixtures/zero-ops.yaml",
        "tests/fixtures/multi-file/escape.yaml",
    ] {
        let run = actionsync(["convert", spec]).run();
        run.assert_success();
        let location = SpecLocation::File(spec.into());
        let loaded = source::load(&location, &LoadOptions::default())
            .unwrap_or_else(|e| panic!("{spec}: {e}"));
        let options = ConvertOptions {
            source: location.default_source_name(),
            ..ConvertOptions::default()
        };
        let whole = convert::convert(&loaded, &options);
        let expected = serde_json::to_string_pretty(&whole).expect("serialise") + "\n";
        assert_eq!(
            run.stdout(),
            expected,
            "{spec}: the written document differs"
        );
    }
}

// ---------------------------------------------------------------------------
// 2. --source
// ---------------------------------------------------------------------------

#[test]
fn convert_source_flag_names_the_document_and_every_action() {
    let doc = convert_ok(&["--source", "billing", "specs/orders.yaml"]);
    assert_eq!(doc["source"], "billing");
    let actions = array(&doc, "actions");
    assert!(!actions.is_empty());
    for a in actions {
        assert_eq!(
            a["source"], "billing",
            "action {} keeps its source",
            a["name"]
        );
    }
}

// ---------------------------------------------------------------------------
// 3. --format yaml and --format table
// ---------------------------------------------------------------------------

#[test]
fn convert_yaml_output_is_the_same_document_as_json() {
    // Several fixtures, so that nulls, booleans, type arrays, numbers, multi-line
    // Markdown and number-like strings ("1.0.0", "200") all make the round trip.
    for spec in [
        "specs/orders.yaml",
        "specs/helpdesk.json",
        "tests/fixtures/descriptions.yaml",
        "tests/fixtures/schema-normalise-oas30.yaml",
        "tests/fixtures/oas31-features.yaml",
        "tests/fixtures/broken/bad-operation.yaml",
    ] {
        let json = convert_ok(&[spec]);
        let run = actionsync(["convert", "--output", "yaml", spec]).run();
        run.assert_success();
        let yaml = run.stdout_yaml();
        // The older spelling still works.
        let older = actionsync(["convert", "--format", "yaml", spec]).run();
        older.assert_success();
        if older.stdout() != run.stdout() {
            older.fail(format!("{spec}: --format yaml differs from --output yaml"));
        }
        if yaml != json {
            run.fail(format!(
                "{spec}: the YAML output differs from the JSON output\nJSON:\n{json:#}\nYAML as JSON:\n{yaml:#}"
            ));
        }
    }
}

#[test]
fn convert_table_output_lists_the_actions_under_a_header() {
    let json = convert_ok(&["specs/orders.yaml"]);
    let run = actionsync(["convert", "--output", "table", "specs/orders.yaml"]).run();
    run.assert_success();
    let out = run.stdout();
    run.check(
        serde_json::from_str::<Value>(out).is_err(),
        "the table is not JSON",
    );
    run.check(
        out.lines().any(|l| {
            l.split_whitespace().collect::<Vec<_>>()
                == ["NAME", "METHOD", "URL", "PARAMS", "BODY", "TOKENS"]
        }),
        "no header line `NAME METHOD URL PARAMS BODY TOKENS`",
    );
    run.assert_stdout_contains("Acme Orders API");
    for name in names(&json) {
        let row = out
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name.as_str()))
            .unwrap_or_else(|| {
                run.fail(format!("no table row starts with the action name `{name}`"))
            });
        // The last column is the tool's token cost.
        let tokens = row
            .split_whitespace()
            .last()
            .and_then(|t| t.parse::<u64>().ok());
        run.check(
            tokens.is_some_and(|n| n > 20),
            format!("the row of `{name}` does not end with its token count: {row}"),
        );
    }
}

// ---------------------------------------------------------------------------
// 4. Standard input
// ---------------------------------------------------------------------------

#[test]
fn convert_reads_standard_input_for_dash() {
    let bytes = std::fs::read(util::crate_root().join("specs/orders.yaml")).unwrap();
    let from_file = convert_ok(&["specs/orders.yaml"]);

    let run = actionsync(["convert", "-"]).stdin(bytes.clone()).run();
    run.assert_success();
    let from_stdin = run.stdout_json();
    assert_eq!(from_stdin["source"], "stdin", "default source for `-`");
    assert_eq!(names(&from_stdin), names(&from_file));
    assert_eq!(
        from_stdin["actions"][0]["url"],
        from_file["actions"][0]["url"]
    );

    let run = actionsync(["convert", "--source", "orders", "-"])
        .stdin(bytes)
        .run();
    run.assert_success();
    assert_eq!(
        run.stdout_json(),
        from_file,
        "same spec, same source, same output"
    );
}

#[test]
fn convert_from_standard_input_may_not_reference_other_files() {
    // Run inside the multi-file folder, where `paths/orders.yaml` and
    // `schemas/order.yaml` exist: they must still not be read. A spec sent as
    // bytes has no folder to resolve them against, so it must be one document.
    let dir = util::crate_root().join("tests/fixtures/multi-file");
    let bytes = std::fs::read(dir.join("api.yaml")).unwrap();
    let run = actionsync(["convert", "-"])
        .current_dir(&dir)
        .stdin(bytes)
        .run();
    run.assert_exit(1);
    run.check(
        run.stderr().contains("standard input") && run.stderr().contains("bundle it first"),
        "the error says why and what to do",
    );
    run.check(
        run.stderr().contains("paths/orders.yaml") || run.stderr().contains("schemas/"),
        "the error names a reference",
    );
    run.check(
        !run.stdout().contains("minor units"),
        "the Money schema from schemas/common.yaml leaked into the output",
    );
}

// ---------------------------------------------------------------------------
// 5. Unreadable input
// ---------------------------------------------------------------------------

/// 1-based line and column of the first `: ` after the key on `line` (1-based) of a
/// file: where a YAML parser must stop on `summary: a: b`.
fn second_colon_position(path: &str, line: usize) -> (usize, usize) {
    let text = std::fs::read_to_string(util::crate_root().join(path)).unwrap();
    let l = text.lines().nth(line - 1).unwrap();
    let first = l.find(": ").expect("a key");
    let second = first + 2 + l[first + 2..].find(": ").expect("a second `: `");
    (line, second + 1)
}

#[test]
fn convert_bad_yaml_names_file_line_and_column() {
    let path = "tests/fixtures/broken/bad-yaml.yaml";
    // The README says line 17, column 31; check that against the file itself.
    assert_eq!(second_colon_position(path, 17), (17, 31));
    let run = actionsync(["convert", path]).run();
    run.assert_exit(1)
        .assert_stdout_empty()
        .assert_stderr_contains(path)
        .assert_stderr_contains("line 17, column 31")
        .assert_stderr_contains("mapping values are not allowed");
}

#[test]
fn convert_bad_json_names_file_line_and_column() {
    let path = "tests/fixtures/broken/bad-json.json";
    let run = actionsync(["convert", path]).run();
    run.assert_exit(1)
        .assert_stdout_empty()
        .assert_stderr_contains(path)
        .assert_stderr_contains("line 15, column 9")
        .assert_stderr_contains("trailing comma");
}

#[test]
fn convert_refuses_a_document_that_is_not_openapi() {
    let path = "tests/fixtures/broken/not-openapi.yaml";
    let run = actionsync(["convert", path]).run();
    run.assert_exit(1)
        .assert_stdout_empty()
        .assert_stderr_contains(path)
        .assert_stderr_contains("not an OpenAPI spec");
}

#[test]
fn convert_refuses_a_yaml_alias_bomb() {
    let path = "tests/fixtures/broken/billion-laughs.yaml";
    let run = actionsync(["convert", path]).run();
    run.assert_exit(1)
        .assert_stdout_empty()
        .assert_stderr_contains(path)
        .assert_stderr_contains_nocase("alias");
}

#[test]
fn convert_refuses_a_nesting_bomb() {
    let path = "tests/fixtures/broken/deep.json";
    let run = actionsync(["convert", path]).run();
    run.assert_exit(1)
        .assert_stdout_empty()
        .assert_stderr_contains(path)
        .assert_stderr_contains("line 1, column ")
        .assert_stderr_contains("128");
}

#[test]
fn convert_missing_file_says_no_such_file() {
    let run = actionsync(["convert", "tests/fixtures/does-not-exist.yaml"]).run();
    run.assert_exit(1)
        .assert_stdout_empty()
        .assert_stderr_contains("tests/fixtures/does-not-exist.yaml")
        .assert_stderr_contains("no such file");
}

#[test]
fn convert_refuses_empty_standard_input() {
    let run = actionsync(["convert", "-"]).stdin(Vec::new()).run();
    run.assert_exit(1)
        .assert_stdout_empty()
        .assert_stderr_contains("stdin")
        .assert_stderr_contains("empty");
}

#[test]
fn convert_non_utf8_names_line_and_column() {
    let dir = tempdir();
    let path = dir.path().join("latin1.yaml");
    std::fs::write(
        &path,
        b"openapi: 3.0.3\ninfo: {title: \"caf\xe9\", version: \"1\"}\npaths: {}\n",
    )
    .unwrap();
    let run = actionsync(["convert", "latin1.yaml"])
        .current_dir(dir.path())
        .run();
    run.assert_exit(1)
        .assert_stdout_empty()
        .assert_stderr_contains("latin1.yaml")
        .assert_stderr_contains("line 2, column 19")
        .assert_stderr_contains("UTF-8");
}

// ---------------------------------------------------------------------------
// 6. One bad operation never sinks the spec
// ---------------------------------------------------------------------------

#[test]
fn convert_skips_bad_operations_and_keeps_the_good_one() {
    let path = "tests/fixtures/broken/bad-operation.yaml";
    let doc = convert_ok(&[path]);
    assert_eq!(names(&doc), ["list_order_shipments"]);

    let mut keys = skipped_keys(&doc);
    keys.sort();
    assert_eq!(keys, ["createOrder", "getOrder"]);
    for key in ["createOrder", "getOrder"] {
        let skip = skipped(&doc, key);
        assert!(
            !reason(skip).trim().is_empty(),
            "`{key}` is skipped without a reason"
        );
        let errors = diagnostics_with(&doc, "error");
        assert!(
            errors.iter().any(|d| d["key"] == key),
            "no error diagnostic names `{key}`: {errors:#?}"
        );
    }
    let create = skipped(&doc, "createOrder");
    assert!(
        reason(create).contains("#/components/schemas/NewOrder"),
        "the reason names the missing schema: {}",
        reason(create)
    );
    let errors = diagnostics_with(&doc, "error");
    assert!(
        errors
            .iter()
            .any(|d| d["key"] == "createOrder" && d["code"] == "unresolved-ref"),
        "createOrder: code unresolved-ref expected in {errors:#?}"
    );
    let get = skipped(&doc, "getOrder");
    assert!(
        reason(get).contains("parameters"),
        "the reason names `parameters`: {}",
        reason(get)
    );

    actionsync(["convert", "--strict", path])
        .run()
        .assert_exit(1);
}

#[test]
fn convert_strict_says_on_standard_error_why_it_fails() {
    let path = "tests/fixtures/broken/bad-operation.yaml";
    let errors = diagnostics_with(&convert_ok(&[path]), "error").len();
    assert!(errors > 1, "{path} has several error diagnostics");
    let run = actionsync(["convert", "--strict", path]).run();
    run.assert_exit(1)
        .assert_stderr_contains(&format!("{errors} errors"))
        .assert_stderr_contains("diagnostics");
    // The document is still printed, so the diagnostics can be read.
    let doc = run.stdout_json();
    assert_eq!(diagnostics_with(&doc, "error").len(), errors);
}

#[test]
fn convert_strict_accepts_warnings() {
    // lint/a.yaml has warnings (a generated description) but no errors.
    let run = actionsync(["convert", "--strict", "tests/fixtures/lint/a.yaml"]).run();
    run.assert_success();
    let doc = run.stdout_json();
    assert!(diagnostics_with(&doc, "error").is_empty());
    assert!(!diagnostics_with(&doc, "warning").is_empty());
}

// ---------------------------------------------------------------------------
// 7. Usage errors
// ---------------------------------------------------------------------------

#[test]
fn usage_errors_exit_2() {
    let cases: &[&[&str]] = &[
        &["convert", "--no-such-flag", "specs/orders.yaml"],
        &["convert"],
        &["convert", "--format", "xml", "specs/orders.yaml"],
        &["convert", "--max-size", "lots", "specs/orders.yaml"],
        &["convert", "--max-size", "3parsecs", "specs/orders.yaml"],
        &["convert", "--base-url", "not a url", "specs/orders.yaml"],
        &["lint"],
        &["lint", "--output", "xml", "specs/orders.yaml"],
        &["lint", "-", "-"],
        &["convert", "--source", "", "specs/orders.yaml"],
        &[
            "convert",
            "--source",
            "bad name/with slash",
            "specs/orders.yaml",
        ],
        &["convert", "--include-method", "FOO", "specs/orders.yaml"],
        &["frobnicate"],
        &[],
    ];
    for args in cases {
        let run = actionsync(*args).run();
        run.assert_exit(64).assert_stdout_empty();
        run.check(!run.stderr().trim().is_empty(), "a usage error says why");
    }
    actionsync(["convert", "--output", "xml", "specs/orders.yaml"])
        .run()
        .assert_stderr_contains("--output");
    actionsync(["convert", "--max-size", "lots", "specs/orders.yaml"])
        .run()
        .assert_stderr_contains("--max-size");
}

#[test]
fn a_filter_that_matches_nothing_is_warned_about() {
    let run = actionsync([
        "convert",
        "--include-tag",
        "billing,billling",
        "tests/fixtures/selection.yaml",
    ])
    .run();
    run.assert_success();
    let doc = run.stdout_json();
    let warned: Vec<&str> = array(&doc, "diagnostics")
        .iter()
        .filter(|d| d["code"] == "unmatched-filter")
        .filter_map(|d| d["message"].as_str())
        .collect();
    run.check(
        warned.len() == 1 && warned[0].contains("--include-tag billling"),
        format!("one warning, naming the misspelt tag: {warned:?}"),
    );
}

#[test]
fn a_folder_given_as_the_spec_says_so() {
    actionsync(["convert", "specs"])
        .run()
        .assert_exit(1)
        .assert_stdout_empty()
        .assert_stderr_contains("it is a folder");
}

#[test]
fn help_and_version_exit_0() {
    let run = actionsync(["--version"]).run();
    run.assert_success()
        .assert_stdout_contains(env!("CARGO_PKG_VERSION"));
    let run = actionsync(["convert", "--help"]).run();
    run.assert_success()
        .assert_stdout_contains("--output <FORMAT>")
        .assert_stdout_contains("--include-tag");
}

// ---------------------------------------------------------------------------
// 8. --max-size
// ---------------------------------------------------------------------------

#[test]
fn convert_max_size_refuses_a_larger_spec_and_says_the_limit() {
    let run = actionsync(["convert", "--max-size", "100", "specs/orders.yaml"]).run();
    run.assert_exit(1)
        .assert_stdout_empty()
        .assert_stderr_contains("specs/orders.yaml")
        .assert_stderr_contains("100 bytes")
        .assert_stderr_contains("--max-size");

    // A suffixed limit above the file size reads it.
    convert_ok(&["--max-size", "1MiB", "specs/orders.yaml"]);
}

#[test]
fn convert_max_size_counts_each_document_alone() {
    // A small root that references a large schema file: the root is read, and only
    // the operation that needs the large file is skipped.
    let dir = tempdir();
    std::fs::write(
        dir.path().join("root.yaml"),
        "openapi: 3.0.3\n\
         info: {title: Size limits, version: '1'}\n\
         servers: [{url: 'https://api.example.com'}]\n\
         paths:\n\
         \x20 /things:\n\
         \x20   get:\n\
         \x20     operationId: listThings\n\
         \x20     summary: List all the things of the current account\n\
         \x20     responses: {'200': {description: ok}}\n\
         \x20   post:\n\
         \x20     operationId: createThing\n\
         \x20     summary: Create a thing in the current account\n\
         \x20     requestBody:\n\
         \x20       required: true\n\
         \x20       content:\n\
         \x20         application/json:\n\
         \x20           schema: {$ref: 'big.yaml#/Thing'}\n\
         \x20     responses: {'201': {description: ok}}\n",
    )
    .unwrap();
    let mut big = String::from("Thing:\n  type: object\n  properties:\n    name: {type: string}\n");
    while big.len() < 8000 {
        big.push_str("# padding to make this document larger than the limit\n");
    }
    std::fs::write(dir.path().join("big.yaml"), big).unwrap();

    let run = actionsync(["convert", "--max-size", "4K", "root.yaml"])
        .current_dir(dir.path())
        .run();
    run.assert_success();
    let doc = run.stdout_json();
    assert_eq!(names(&doc), ["list_things"]);
    let skip = skipped(&doc, "createThing");
    assert!(
        reason(skip).contains("4096"),
        "the reason says the limit: {}",
        reason(skip)
    );

    let run = actionsync(["convert", "root.yaml"])
        .current_dir(dir.path())
        .run();
    run.assert_success();
    assert_eq!(names(&run.stdout_json()), ["list_things", "create_thing"]);
}

// ---------------------------------------------------------------------------
// 9. Servers
// ---------------------------------------------------------------------------

#[test]
fn convert_relative_server_needs_a_base_url() {
    let path = "tests/fixtures/server-relative.yaml";
    let doc = convert_ok(&[path]);
    assert_eq!(array(&doc, "actions").len(), 0);
    assert_accounts_for_every_operation(&doc, path);
    let errors = diagnostics_with(&doc, "error");
    assert!(
        codes(&errors).contains(&"relative-server".to_string()),
        "expected a relative-server error: {errors:#?}"
    );
    for key in skipped_keys(&doc) {
        let skip = skipped(&doc, &key);
        assert!(
            reason(skip).contains("--base-url"),
            "reason: {}",
            reason(skip)
        );
    }

    actionsync(["convert", "--strict", path])
        .run()
        .assert_exit(1);

    let base = "https://pets.example.com";
    let doc = convert_ok(&["--base-url", base, path]);
    assert_eq!(
        array(&doc, "actions").len(),
        count_operations(path),
        "every operation converts with a base URL"
    );
    assert_eq!(array(&doc, "skipped").len(), 0);
    assert!(diagnostics_with(&doc, "error").is_empty());
    for a in array(&doc, "actions") {
        let url = a["url"].as_str().unwrap();
        assert!(
            url.starts_with(&format!("{base}/")),
            "{} has URL {url}, not under {base}",
            a["name"]
        );
    }
    // The relative server is resolved against the base (see `--base-url --help`).
    assert_eq!(
        action(&doc, "get_pet_by_id")["url"],
        "https://pets.example.com/api/v3/pets/{petId}"
    );
    // --strict passes once nothing is wrong.
    actionsync(["convert", "--strict", "--base-url", base, path])
        .run()
        .assert_success();
}

#[test]
fn convert_base_url_from_the_environment() {
    let run = actionsync(["convert", "tests/fixtures/server-relative.yaml"])
        .env("ACTIONSYNC_BASE_URL", "https://env.example.com")
        .run();
    run.assert_success();
    let doc = run.stdout_json();
    assert_eq!(array(&doc, "actions").len(), 2);
    for a in array(&doc, "actions") {
        assert!(
            a["url"]
                .as_str()
                .unwrap()
                .starts_with("https://env.example.com/"),
            "{a:#}"
        );
    }
}

#[test]
fn convert_missing_server_needs_a_base_url() {
    let path = "tests/fixtures/server-missing.yaml";
    let doc = convert_ok(&[path]);
    assert_eq!(array(&doc, "actions").len(), 0);
    assert!(codes(&diagnostics_with(&doc, "error")).contains(&"no-server".to_string()));
    let doc = convert_ok(&["--base-url", "https://billing.example.com", path]);
    assert_eq!(array(&doc, "actions").len(), count_operations(path));
}

#[test]
fn convert_refuses_http_servers_unless_allowed() {
    let path = "tests/fixtures/server-http.yaml";
    let doc = convert_ok(&[path]);
    assert_eq!(array(&doc, "actions").len(), 0);
    assert_accounts_for_every_operation(&doc, path);
    let errors = diagnostics_with(&doc, "error");
    assert!(
        codes(&errors).contains(&"http-url".to_string()),
        "expected an http-url error: {errors:#?}"
    );
    actionsync(["convert", "--strict", path])
        .run()
        .assert_exit(1);

    let doc = convert_ok(&["--allow-http", path]);
    let mut got = names(&doc);
    got.sort();
    assert_eq!(got, ["cancel_order", "get_order"]);
    for a in array(&doc, "actions") {
        assert!(
            a["url"]
                .as_str()
                .unwrap()
                .starts_with("http://api.example.com/")
        );
    }
    assert!(diagnostics_with(&doc, "error").is_empty());
}

#[test]
fn convert_refuses_an_http_base_url_unless_allowed() {
    let path = "tests/fixtures/server-relative.yaml";
    let doc = convert_ok(&["--base-url", "http://pets.example.com", path]);
    assert_eq!(array(&doc, "actions").len(), 0);
    assert!(codes(&diagnostics_with(&doc, "error")).contains(&"http-url".to_string()));
}

// ---------------------------------------------------------------------------
// 10. Multi-file specs and the reference policy
// ---------------------------------------------------------------------------

/// The Money schema as written in multi-file/schemas/common.yaml.
fn money_schema() -> Value {
    let text = std::fs::read_to_string(
        util::crate_root().join("tests/fixtures/multi-file/schemas/common.yaml"),
    )
    .unwrap();
    let doc: Value = serde_yaml::from_str(&text).unwrap();
    doc["components"]["schemas"]["Money"].clone()
}

#[test]
fn convert_multi_file_spec_resolves_references_across_files() {
    let path = "tests/fixtures/multi-file/api.yaml";
    let doc = convert_ok(&[path]);
    let errors = diagnostics_with(&doc, "error");
    assert!(errors.is_empty(), "no error diagnostics: {errors:#?}");
    let mut got = names(&doc);
    got.sort();
    assert_eq!(
        got,
        ["create_order", "get_order", "list_orders", "replace_order"]
    );
    for a in array(&doc, "actions") {
        assert!(
            a["url"]
                .as_str()
                .unwrap()
                .starts_with("https://orders.example.com/v1/"),
            "{}",
            a["url"]
        );
    }

    let money = money_schema();
    assert!(money.is_object(), "Money is in common.yaml");
    for name in ["create_order", "replace_order"] {
        let schema = &action(&doc, name)["body"]["schema"];
        assert_eq!(
            schema["properties"]["total"], money,
            "{name}: `total` is the Money schema from schemas/common.yaml; body: {schema:#}"
        );
        assert_eq!(
            schema["properties"]["items"]["items"]["properties"]["unitPrice"], money,
            "{name}: `items[].unitPrice` is Money; body: {schema:#}"
        );
        let mut refs = Vec::new();
        walk(schema, &mut |v| {
            if let Some(r) = v.get("$ref") {
                refs.push(r.clone());
            }
        });
        assert!(refs.is_empty(), "{name}: $refs left in the body: {refs:?}");
    }
}

#[test]
fn convert_refuses_references_outside_the_folder_and_remote_ones() {
    let path = "tests/fixtures/multi-file/escape.yaml";
    let run = actionsync(["convert", path]).run();
    run.assert_success();
    let doc = run.stdout_json();
    assert_eq!(names(&doc), ["get_export"]);

    let outside = skipped(&doc, "createExport");
    assert!(
        reason(outside).contains("--allow-outside-refs"),
        "reason: {}",
        reason(outside)
    );
    let remote = skipped(&doc, "createImport");
    assert!(
        reason(remote).contains("--allow-remote-refs"),
        "reason: {}",
        reason(remote)
    );
    let errors = diagnostics_with(&doc, "error");
    for key in ["createExport", "createImport"] {
        assert!(
            errors.iter().any(|d| d["key"] == key),
            "no error for {key}: {errors:#?}"
        );
    }
    run.check(
        !run.stdout().contains("leaked"),
        "the schema of ../outside.yaml appears in the output",
    );

    let run = actionsync(["convert", "--allow-outside-refs", path]).run();
    run.assert_success();
    let doc = run.stdout_json();
    let mut got = names(&doc);
    got.sort();
    assert_eq!(got, ["create_export", "get_export"]);
    assert!(
        action(&doc, "create_export")["body"]["schema"]["properties"]
            .get("leaked")
            .is_some(),
        "the outside schema is the body once allowed"
    );
    // The remote reference is still refused (and never fetched).
    let remote = skipped(&doc, "createImport");
    assert!(reason(remote).contains("--allow-remote-refs"));
}

#[cfg(unix)]
#[test]
fn convert_refuses_a_symlink_that_leaves_the_folder() {
    // spec/api.yaml references spec/link.yaml, a symbolic link to ../secret.yaml.
    let dir = tempdir();
    let spec_dir = dir.path().join("spec");
    std::fs::create_dir(&spec_dir).unwrap();
    std::fs::write(
        dir.path().join("secret.yaml"),
        "Secret:\n  type: object\n  properties:\n    leakedsecret: {type: string}\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(dir.path().join("secret.yaml"), spec_dir.join("link.yaml")).unwrap();
    std::fs::write(
        spec_dir.join("api.yaml"),
        "openapi: 3.0.3\n\
         info: {title: Symlinks, version: '1'}\n\
         servers: [{url: 'https://api.example.com'}]\n\
         paths:\n\
         \x20 /secrets:\n\
         \x20   post:\n\
         \x20     operationId: createSecret\n\
         \x20     summary: Create a secret in the current account\n\
         \x20     requestBody:\n\
         \x20       required: true\n\
         \x20       content:\n\
         \x20         application/json:\n\
         \x20           schema: {$ref: 'link.yaml#/Secret'}\n\
         \x20     responses: {'201': {description: ok}}\n",
    )
    .unwrap();
    let run = actionsync(["convert", "api.yaml"])
        .current_dir(&spec_dir)
        .run();
    run.assert_success();
    let doc = run.stdout_json();
    assert!(names(&doc).is_empty());
    assert!(reason(skipped(&doc, "createSecret")).contains("--allow-outside-refs"));
    run.check(
        !run.stdout().contains("leakedsecret"),
        "the file behind the symlink was read",
    );
}

// ---------------------------------------------------------------------------
// 11. Selection filters
// ---------------------------------------------------------------------------

const SELECTION: &str = "tests/fixtures/selection.yaml";

/// Converts selection.yaml with the filter `args`, checks the action names, and that
/// every other operation is skipped with a reason that names `flag`.
fn check_filter(args: &[&str], flag: &str, expected: &[&str]) {
    let mut all = args.to_vec();
    all.push(SELECTION);
    let doc = convert_ok(&all);
    assert_eq!(names(&doc), expected, "actions with {args:?}");
    assert_accounts_for_every_operation(&doc, SELECTION);
    let skips = array(&doc, "skipped");
    assert_eq!(skips.len(), count_operations(SELECTION) - expected.len());
    for skip in skips {
        assert!(
            reason(skip).contains(flag),
            "with {args:?}, {} is skipped for a reason that does not mention {flag}: {}",
            skip["key"],
            reason(skip)
        );
    }
    assert!(
        diagnostics_with(&doc, "error").is_empty(),
        "a filter is not an error"
    );
}

#[test]
fn convert_selection_without_filters_keeps_everything() {
    let doc = convert_ok(&[SELECTION]);
    assert_eq!(
        names(&doc),
        [
            "list_invoices",
            "pay_invoice",
            "list_users",
            "delete_user",
            "issue_manual_refund",
            "get_public_status",
            "get_help_article",
            "get_order"
        ]
    );
    assert!(array(&doc, "skipped").is_empty());
}

#[test]
fn convert_include_tag() {
    check_filter(
        &["--include-tag", "billing"],
        "--include-tag",
        &["list_invoices", "pay_invoice", "issue_manual_refund"],
    );
}

#[test]
fn convert_exclude_path_glob() {
    check_filter(
        &["--exclude-path", "/admin/**"],
        "--exclude-path",
        &[
            "list_invoices",
            "pay_invoice",
            "get_public_status",
            "get_help_article",
            "get_order",
        ],
    );
}

#[test]
fn convert_include_method() {
    check_filter(
        &["--include-method", "GET"],
        "--include-method",
        &[
            "list_invoices",
            "list_users",
            "get_public_status",
            "get_help_article",
            "get_order",
        ],
    );
}

#[test]
fn convert_include_path_single_segment_glob() {
    check_filter(
        &["--include-path", "/admin/*"],
        "--include-path",
        &["list_users"],
    );
    check_filter(
        &["--include-path", "/public/**"],
        "--include-path",
        &["get_public_status", "get_help_article"],
    );
}

#[test]
fn convert_exclude_tag_wins_over_include_tag() {
    let mut all = vec![
        "--include-tag",
        "billing",
        "--exclude-tag",
        "admin",
        SELECTION,
    ];
    let doc = convert_ok(&all);
    assert_eq!(names(&doc), ["list_invoices", "pay_invoice"]);
    assert_accounts_for_every_operation(&doc, SELECTION);
    assert!(reason(skipped(&doc, "issueManualRefund")).contains("--exclude-tag"));
    // Comma-separated values work like repeated flags.
    all = vec!["--include-tag", "billing,public", SELECTION];
    let doc = convert_ok(&all);
    assert_eq!(
        names(&doc),
        [
            "list_invoices",
            "pay_invoice",
            "issue_manual_refund",
            "get_public_status",
            "get_help_article"
        ]
    );
}

// ---------------------------------------------------------------------------
// 12. lint
// ---------------------------------------------------------------------------

#[test]
fn lint_clean_spec_has_no_problems() {
    let run = actionsync(["lint", "tests/fixtures/lint/clean.yaml"]).run();
    run.assert_success()
        .assert_stdout_contains("tests/fixtures/lint/clean.yaml")
        .assert_stdout_contains("no problems");
}

const LINT_ABC: [&str; 3] = [
    "tests/fixtures/lint/a.yaml",
    "tests/fixtures/lint/b.yaml",
    "tests/fixtures/lint/c.yaml",
];

#[test]
fn lint_text_names_every_spec_and_fails() {
    let mut args = vec!["lint"];
    args.extend(LINT_ABC);
    let run = actionsync(&args).run();
    run.assert_exit(1);
    for spec in LINT_ABC {
        run.assert_stdout_contains(spec);
    }
    for name in ["get_data", "get_customer", "list_closed_orders_by_email"] {
        run.assert_stdout_contains(name);
    }
    run.check(
        !run.stdout().contains("no problems"),
        "lint reports problems",
    );
}

#[test]
fn lint_json_report() {
    let mut args = vec!["lint", "--output", "json"];
    args.extend(LINT_ABC);
    let run = actionsync(&args).run();
    run.assert_exit(1);
    let report = run.stdout_json();

    let keys: Vec<&String> = report.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["specs", "audiences", "errors", "warnings"],
        "report keys"
    );
    assert_eq!(report["audiences"], json!([]), "the default budget holds");
    let errors = report["errors"].as_u64().expect("errors is a number");
    let warnings = report["warnings"].as_u64().expect("warnings is a number");
    assert!(errors > 0);
    assert!(warnings > 0);

    let specs = array(&report, "specs");
    assert_eq!(specs.len(), 3);
    let mut all_codes = Vec::new();
    let (mut counted_errors, mut counted_warnings) = (0, 0);
    for (spec, path) in specs.iter().zip(LINT_ABC) {
        let keys: Vec<&String> = spec.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["spec", "source", "actions", "skipped", "findings"],
            "spec report keys"
        );
        assert_eq!(spec["spec"], path);
        assert_eq!(
            spec["source"],
            Path::new(path).file_stem().unwrap().to_str().unwrap()
        );
        assert!(spec["actions"].is_u64() && spec["skipped"].is_u64());
        assert_eq!(
            spec["actions"].as_u64().unwrap() + spec["skipped"].as_u64().unwrap(),
            count_operations(path) as u64,
            "{path}: actions + skipped"
        );
        for finding in array(spec, "findings") {
            for key in ["severity", "code", "key", "pointer", "message"] {
                assert!(
                    finding.get(key).is_some(),
                    "finding without `{key}`: {finding}"
                );
            }
            match finding["severity"].as_str() {
                Some("error") => counted_errors += 1,
                Some("warning") => counted_warnings += 1,
                other => panic!("unexpected severity {other:?} without --verbose"),
            }
            all_codes.push((
                path,
                finding["code"].as_str().unwrap().to_string(),
                finding["key"].clone(),
            ));
        }
    }
    assert_eq!(errors, counted_errors, "`errors` counts the error findings");
    assert_eq!(warnings, counted_warnings, "`warnings` counts the warnings");

    let has = |path: &str, code: &str| all_codes.iter().any(|(p, c, _)| *p == path && c == code);
    assert!(has(LINT_ABC[0], "generic-name"), "{all_codes:#?}");
    assert!(
        has(LINT_ABC[0], "near-duplicate-description"),
        "{all_codes:#?}"
    );
    assert!(
        all_codes
            .iter()
            .any(|(_, c, k)| c == "duplicate-name" && *k == "getCustomer"),
        "{all_codes:#?}"
    );
    // A name two sources share does not stop them: reconcile prefixes one, and
    // lint says so as a warning.
    let duplicate = specs
        .iter()
        .flat_map(|s| s["findings"].as_array().cloned().unwrap_or_default())
        .find(|f| f["code"] == "duplicate-name")
        .expect("a duplicate-name finding");
    assert_eq!(duplicate["severity"], "warning", "{duplicate}");
    assert!(
        duplicate["message"]
            .as_str()
            .is_some_and(|m| m.contains("_get_customer")),
        "{duplicate}"
    );
    assert!(has(LINT_ABC[1], "http-url"), "{all_codes:#?}");
    assert!(has(LINT_ABC[2], "no-server"), "{all_codes:#?}");
}

#[test]
fn lint_warns_past_the_token_budget_of_the_config_and_environment() {
    let dir = tempdir();
    let spec = util::crate_root().join("specs/orders.yaml");
    std::fs::write(
        dir.path().join("actionsync.yaml"),
        "token_budget:\n  tool_tokens: 120\n",
    )
    .expect("write the config");
    let run = actionsync(["lint", "--output", "json"])
        .arg(&spec)
        .current_dir(dir.path())
        .run();
    run.assert_success();
    let report = run.stdout_json();
    let over: Vec<&Value> = report["specs"][0]["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["code"] == "tool-over-budget")
        .collect();
    run.check(!over.is_empty(), "no tool over a budget of 120 tokens");
    run.check(
        over.len() < 8,
        "every tool over 120 tokens: the budget did not discriminate",
    );
    for finding in &over {
        assert_eq!(finding["severity"], "warning");
        assert!(
            finding["message"]
                .as_str()
                .unwrap()
                .contains("over the budget of 120 per tool")
        );
    }
    assert_eq!(report["audiences"], json!([]));

    // The environment's budget for an audience; lint's text says which audience.
    let run = actionsync(["lint"])
        .arg(&spec)
        .current_dir(dir.path())
        .env("ACTIONSYNC_AUDIENCE_TOKENS", "300")
        .run();
    run.assert_success()
        .assert_stdout_contains("tool lists:")
        .assert_stdout_contains("a contact in no segment on widget would be sent")
        .assert_stdout_contains("over the budget of 300");
}

#[test]
fn lint_clean_spec_stays_clean_next_to_others() {
    let mut args = vec!["lint", "--output", "json", "tests/fixtures/lint/clean.yaml"];
    args.extend(LINT_ABC);
    let run = actionsync(&args).run();
    run.assert_exit(1);
    let report = run.stdout_json();
    let clean = &array(&report, "specs")[0];
    assert_eq!(clean["source"], "clean");
    assert_eq!(clean["actions"], 2);
    assert_eq!(array(clean, "findings"), &Vec::<Value>::new());
}

/// A folder is every spec file in it, as `plan`, `reconcile` and `serve` read it.
#[test]
fn lint_takes_folders() {
    let by_folder = actionsync(["lint", "--output", "json", "tests/fixtures/lint"]).run();
    by_folder.assert_exit(1);
    let mut specs = vec!["tests/fixtures/lint/clean.yaml"];
    specs.extend(LINT_ABC);
    specs.sort();
    let by_file = actionsync(["lint", "--output", "json"].into_iter().chain(specs)).run();
    by_file.assert_exit(1);
    assert_eq!(
        by_folder.stdout_json(),
        by_file.stdout_json(),
        "lint of the folder is lint of its spec files"
    );

    // The bundled specs, as the README's first command serves them.
    actionsync(["lint", "specs"])
        .run()
        .assert_success()
        .assert_stdout_contains("specs/orders.yaml (source `orders`)")
        .assert_stdout_contains("specs/helpdesk.json (source `helpdesk`)");

    // A folder without a spec file is an error, not a clean bill of health.
    let empty = tempdir();
    std::fs::write(empty.path().join("notes.txt"), "not a spec").expect("write");
    let run = actionsync([std::ffi::OsStr::new("lint"), empty.path().as_os_str()]).run();
    run.assert_exit(1).assert_stdout_contains("no spec files");
}

#[test]
fn lint_reports_an_unreadable_spec_and_goes_on() {
    let run = actionsync([
        "lint",
        "--output",
        "json",
        "tests/fixtures/lint/clean.yaml",
        "tests/fixtures/broken/bad-yaml.yaml",
    ])
    .run();
    run.assert_exit(1);
    let report = run.stdout_json();
    let specs = array(&report, "specs");
    assert_eq!(specs.len(), 2);
    assert_eq!(specs[0]["actions"], 2);
    let findings = array(&specs[1], "findings");
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0]["severity"], "error");
    assert!(
        findings[0]["message"]
            .as_str()
            .unwrap()
            .contains("line 17, column 31")
    );
    assert_eq!(report["errors"], 1);
}

// ---------------------------------------------------------------------------
// 13. --timings
// ---------------------------------------------------------------------------

#[test]
fn convert_timings_go_to_stderr() {
    let run = actionsync(["convert", "--timings", "specs/orders.yaml"]).run();
    run.assert_success();
    run.check(
        run.stderr().lines().any(|l| l.starts_with("timings:")),
        "no `timings:` line on stderr",
    );
    let doc = run.stdout_json();
    assert_eq!(doc, convert_ok(&["specs/orders.yaml"]));
    run.check(
        !run.stdout().contains("timings"),
        "timings leaked into stdout",
    );
}

// ---------------------------------------------------------------------------
// 14. Line endings, byte-order marks, YAML styles
// ---------------------------------------------------------------------------

fn with_bom_and_crlf(path: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(util::crate_root().join(path)).unwrap();
    assert!(!text.contains('\r'), "{path} already has CR characters");
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(text.replace('\n', "\r\n").as_bytes());
    bytes
}

#[test]
fn convert_reads_crlf_and_a_byte_order_mark() {
    let dir = tempdir();
    for (spec, file) in [
        ("specs/orders.yaml", "orders.yaml"),
        ("specs/helpdesk.json", "helpdesk.json"),
    ] {
        let expected = convert_ok(&[spec]);
        std::fs::write(dir.path().join(file), with_bom_and_crlf(spec)).unwrap();
        let run = actionsync(["convert", file]).current_dir(dir.path()).run();
        run.assert_success();
        let got = run.stdout_json();
        if got != expected {
            run.fail(format!(
                "{file} with a BOM and CRLF converts differently from {spec}"
            ));
        }
        run.check(!run.stdout().contains("\\r"), "a CR leaked into the output");
    }
    // And the same bytes on standard input.
    let run = actionsync(["convert", "--source", "orders", "-"])
        .stdin(with_bom_and_crlf("specs/orders.yaml"))
        .run();
    run.assert_success();
    assert_eq!(run.stdout_json(), convert_ok(&["specs/orders.yaml"]));
}

#[test]
fn convert_reads_a_flow_style_yaml_file() {
    // Valid YAML (and a valid OpenAPI document) that merely starts with `{`.
    let dir = tempdir();
    std::fs::write(
        dir.path().join("flow.yaml"),
        "{openapi: 3.0.3, info: {title: Flow style, version: '1'},\n \
         servers: [{url: 'https://api.example.com'}],\n \
         paths: {/things: {get: {operationId: listThings,\n \
         summary: List all the things of the current account,\n \
         responses: {'200': {description: ok}}}}}}\n",
    )
    .unwrap();
    let run = actionsync(["convert", "flow.yaml"])
        .current_dir(dir.path())
        .run();
    run.assert_success();
    assert_eq!(names(&run.stdout_json()), ["list_things"]);
}

#[test]
fn lint_does_not_report_a_generated_description_that_a_pin_replaces() {
    let run = actionsync(["lint", "--output", "json", "tests/fixtures/extensions.yaml"]).run();
    let doc = run.stdout_json();
    let findings = &doc["specs"][0]["findings"];
    let about_eta: Vec<&Value> = findings
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["key"] == "getDeliveryEstimate")
        .collect();
    run.check(
        about_eta.is_empty(),
        format!("the pinned description is the one in effect: {about_eta:?}"),
    );
}

// ---------------------------------------------------------------------------
// The schema budget
// ---------------------------------------------------------------------------

/// The `schema-cut` warnings of a `convert` JSON document, as `key: message`.
fn cuts(doc: &Value) -> Vec<String> {
    array(doc, "diagnostics")
        .iter()
        .filter(|d| d["code"] == "schema-cut")
        .map(|d| format!("{}: {}", d["key"].as_str().unwrap_or("-"), d["message"]))
        .collect()
}

#[test]
fn schema_cuts_are_warnings_in_convert_lint_and_plan() {
    let spec = fixture("schema-budget.yaml");
    let doc = actionsync(["convert", spec.as_str()])
        .run()
        .assert_success()
        .stdout_json();
    let found = cuts(&doc);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found[0].starts_with("createTeam: ") && found[0].contains("(recursive)"));
    assert!(found[1].starts_with("submitReport: ") && found[1].contains("(size limit)"));

    actionsync(["lint", spec.as_str()])
        .run()
        .assert_success()
        .assert_stdout_contains("createTeam  #/paths/~1teams/post/requestBody")
        .assert_stdout_contains("3 parts not expanded (recursive): /properties/parent (Team)");

    let dir = tempdir();
    std::fs::copy(
        util::crate_root().join(&spec),
        dir.path().join("reports.yaml"),
    )
    .unwrap();
    actionsync(["plan", "reports.yaml"])
        .current_dir(dir.path())
        .run()
        .assert_success()
        .assert_stdout_contains(
            "warning submitReport: request body: 50 parts not expanded (size limit)",
        );
}

#[test]
fn the_budget_flags_tighten_the_schemas_and_refuse_what_models_cannot_take() {
    let spec = fixture("schema-budget.yaml");
    let doc = actionsync(["convert", spec.as_str(), "--max-depth", "3"])
        .run()
        .assert_success()
        .stdout_json();
    // Level 3 is the team's properties: they keep their own keywords only.
    let team = &doc["actions"][0]["body"]["schema"];
    assert_eq!(
        team["properties"]["members"],
        json!({"type": "array", "description": "A list (not expanded: depth limit)"})
    );
    assert!(
        cuts(&doc)
            .iter()
            .any(|c| c.starts_with("createTeam: ") && c.contains("(depth limit)"))
    );

    let doc = actionsync(["convert", spec.as_str(), "--max-tool-bytes", "1KiB"])
        .run()
        .assert_success()
        .stdout_json();
    for action in array(&doc, "actions") {
        let bytes = action["body"]["schema"].to_string().len();
        assert!(bytes <= 1024, "{}: {bytes} bytes", action["name"]);
    }

    actionsync(["convert", spec.as_str(), "--max-depth", "11"])
        .run()
        .assert_exit(64)
        .assert_stderr_contains("--max-depth");
    actionsync(["convert", spec.as_str(), "--max-tool-bytes", "32KiB"])
        .run()
        .assert_exit(64)
        .assert_stderr_contains("16KiB");
}

#[test]
fn a_source_sets_its_schema_budget_in_the_config() {
    let dir = tempdir();
    std::fs::copy(
        util::crate_root().join(fixture("schema-budget.yaml")),
        dir.path().join("reports.yaml"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("actionsync.yaml"),
        "defaults:\n  schema_budget: {max_depth: 4}\nsources:\n  - name: reports\n    file: reports.yaml\n    schema_budget: {max_properties: 2}\n",
    )
    .unwrap();
    actionsync(["plan", "--output", "json"])
        .current_dir(dir.path())
        .run()
        .assert_success()
        .assert_stdout_contains("not expanded (depth limit)")
        .assert_stdout_contains("more properties not listed: property limit");

    std::fs::write(
        dir.path().join("actionsync.yaml"),
        "sources:\n  - name: reports\n    file: reports.yaml\n    schema_budget: {max_depth: 12}\n",
    )
    .unwrap();
    actionsync(["plan"])
        .current_dir(dir.path())
        .run()
        .assert_exit(1)
        .assert_stderr_contains("schema_budget: max_depth is 12; it must be 2 to 10");
}

// ---------------------------------------------------------------------------
// token
// ---------------------------------------------------------------------------

#[test]
fn token_create_says_in_a_sentence_what_each_scope_may_do() {
    let dir = tempdir();
    let cases: [(&[&str], &str); 3] = [
        (&["--admin"], "may do everything an admin does"),
        (&["--tools"], "may read the tool list"),
        (&["--source", "billing"], "may push to billing"),
    ];
    for (scope, says) in cases {
        let run = actionsync(["token", "create"])
            .args(scope)
            .current_dir(dir.path())
            .run();
        run.assert_success().assert_stdout_contains(says);
        let first = run.stdout().lines().next().unwrap_or_default();
        run.check(
            !first.contains("may everything"),
            "the first line is a sentence",
        );
    }
}
