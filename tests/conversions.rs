//! Snapshot tests: every fixture spec in `tests/fixtures` (each written for one
//! conversion rule, see its README) and the bundled `specs/`, converted, with the
//! whole conversion document checked in under `tests/snapshots`. Review a change
//! with `cargo insta review`.

use actionsync::convert::{self, Conversion, ConvertOptions, Selection};
use actionsync::source::{self, LoadOptions, SpecLocation};
use url::Url;

fn convert_with(path: &str, options: ConvertOptions, load: LoadOptions) -> Conversion {
    let location = SpecLocation::File(path.into());
    let spec = source::load(&location, &load).unwrap_or_else(|e| panic!("{path}: {e}"));
    convert::convert(&spec, &options)
}

fn options(path: &str) -> ConvertOptions {
    ConvertOptions {
        source: SpecLocation::File(path.into()).default_source_name(),
        ..ConvertOptions::default()
    }
}

fn convert_file(path: &str) -> Conversion {
    convert_with(path, options(path), LoadOptions::default())
}

macro_rules! snapshot {
    ($name:ident, $path:expr) => {
        snapshot!($name, $path, count_operations($path));
    };
    ($name:ident, $path:expr, $operations:expr) => {
        #[test]
        fn $name() {
            let conversion = convert_file($path);
            assert_eq!(
                conversion.operation_count(),
                $operations,
                "actions + skipped must equal the operations in {}",
                $path
            );
            insta::assert_yaml_snapshot!(stringify!($name), conversion);
        }
    };
}

/// Operations in a single-file fixture, counted from the YAML by hand.
fn count_operations(path: &str) -> usize {
    let bytes = std::fs::read(path).unwrap();
    let (doc, _) = actionsync::spec::parse_document(&bytes, usize::MAX).unwrap();
    let methods = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];
    doc.get("paths")
        .and_then(|p| p.as_object())
        .map(|paths| {
            paths
                .values()
                .filter_map(|item| item.as_object())
                .map(|item| {
                    item.keys()
                        .filter(|k| methods.contains(&k.as_str()))
                        .count()
                })
                .sum()
        })
        .unwrap_or(0)
}

snapshot!(bundled_orders, "specs/orders.yaml");
snapshot!(bundled_helpdesk, "specs/helpdesk.json");
snapshot!(
    names_from_operation_id,
    "tests/fixtures/names-from-operation-id.yaml"
);
snapshot!(names_from_path, "tests/fixtures/names-from-path.yaml");
snapshot!(name_collisions, "tests/fixtures/name-collisions.yaml");
snapshot!(descriptions, "tests/fixtures/descriptions.yaml");
snapshot!(methods, "tests/fixtures/methods.yaml");
snapshot!(servers, "tests/fixtures/servers.yaml");
snapshot!(server_http, "tests/fixtures/server-http.yaml");
snapshot!(server_relative, "tests/fixtures/server-relative.yaml");
snapshot!(server_missing, "tests/fixtures/server-missing.yaml");
snapshot!(parameters, "tests/fixtures/parameters.yaml");
snapshot!(request_bodies, "tests/fixtures/request-bodies.yaml");
snapshot!(
    schema_normalise_oas30,
    "tests/fixtures/schema-normalise-oas30.yaml"
);
snapshot!(recursive_schemas, "tests/fixtures/recursive-schemas.yaml");
snapshot!(schema_budget, "tests/fixtures/schema-budget.yaml");
snapshot!(ref_escapes, "tests/fixtures/ref-escapes.yaml");
snapshot!(swagger2_yaml, "tests/fixtures/swagger2.yaml");
snapshot!(swagger2_json, "tests/fixtures/swagger2.json");
snapshot!(swagger2_http, "tests/fixtures/swagger2-http.json");
snapshot!(security, "tests/fixtures/security.yaml");
snapshot!(extensions, "tests/fixtures/extensions.yaml");
snapshot!(oas31_features, "tests/fixtures/oas31-features.yaml");
snapshot!(zero_ops, "tests/fixtures/zero-ops.yaml");
snapshot!(bad_operation, "tests/fixtures/broken/bad-operation.yaml");
// Its path items are `$ref`s into other files: 4 operations, counted by hand.
snapshot!(multi_file, "tests/fixtures/multi-file/api.yaml", 4);
snapshot!(multi_file_escape, "tests/fixtures/multi-file/escape.yaml");

#[test]
fn base_url_resolves_a_relative_server() {
    let path = "tests/fixtures/server-relative.yaml";
    let conversion = convert_with(
        path,
        ConvertOptions {
            base_url: Some(Url::parse("https://pets.example.com").unwrap()),
            ..options(path)
        },
        LoadOptions::default(),
    );
    assert!(conversion.skipped.is_empty(), "{:?}", conversion.skipped);
    let urls: Vec<&str> = conversion
        .actions
        .iter()
        .map(|a| a.spec.url.as_str())
        .collect();
    assert!(
        urls.iter()
            .all(|u| u.starts_with("https://pets.example.com/api/v3/")),
        "{urls:?}"
    );
}

#[test]
fn allow_http_keeps_http_servers() {
    let path = "tests/fixtures/server-http.yaml";
    let conversion = convert_with(
        path,
        ConvertOptions {
            allow_http: true,
            ..options(path)
        },
        LoadOptions::default(),
    );
    assert!(conversion.skipped.is_empty());
    assert!(
        conversion
            .actions
            .iter()
            .all(|a| a.spec.url.starts_with("http://api.example.com/"))
    );
}

#[test]
fn outside_refs_are_followed_only_when_allowed() {
    let path = "tests/fixtures/multi-file/escape.yaml";
    let refused = convert_file(path);
    let allowed = convert_with(
        path,
        options(path),
        LoadOptions {
            allow_outside_refs: true,
            ..LoadOptions::default()
        },
    );
    let skipped = |c: &Conversion| c.skipped.iter().map(|s| s.key.clone()).collect::<Vec<_>>();
    assert!(skipped(&refused).contains(&"createExport".to_string()));
    assert!(
        !skipped(&allowed).contains(&"createExport".to_string()),
        "{:?}",
        allowed.skipped
    );
    // The remote reference stays refused: it was not allowed.
    assert!(skipped(&allowed).contains(&"createImport".to_string()));
}

#[test]
fn selection_filters_skip_with_a_reason_and_keep_the_count() {
    let path = "tests/fixtures/selection.yaml";
    let all = convert_file(path);
    let names = |selection: Selection| {
        let c = convert_with(
            path,
            ConvertOptions {
                selection,
                ..options(path)
            },
            LoadOptions::default(),
        );
        assert_eq!(c.operation_count(), all.operation_count());
        assert!(
            c.skipped.iter().all(|s| s.reason.contains("exclu")),
            "{:?}",
            c.skipped
        );
        c.actions.into_iter().map(|a| a.key).collect::<Vec<_>>()
    };
    assert_eq!(
        names(Selection {
            include_tags: vec!["billing".into()],
            ..Selection::default()
        }),
        ["listInvoices", "payInvoice", "issueManualRefund"]
    );
    assert_eq!(
        names(Selection {
            include_tags: vec!["billing".into()],
            exclude_tags: vec!["admin".into()],
            ..Selection::default()
        }),
        ["listInvoices", "payInvoice"]
    );
    assert_eq!(
        names(Selection {
            include_paths: vec!["/admin/*".into()],
            ..Selection::default()
        }),
        ["listUsers"]
    );
    assert_eq!(
        names(Selection {
            include_paths: vec!["/public/**".into()],
            ..Selection::default()
        }),
        ["getPublicStatus", "getHelpArticle"]
    );
    assert_eq!(
        names(Selection {
            exclude_operations: vec!["*Invoice*".into()],
            include_methods: vec!["get".into()],
            ..Selection::default()
        }),
        ["listUsers", "getPublicStatus", "getHelpArticle", "getOrder"]
    );
}
