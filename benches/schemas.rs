//! What the AI reads: the size and shape of every tool definition over a corpus of
//! real specs (issue 9).
//!
//! Converts every root spec under the shared corpus (`ACTIONSYNC_SHARED_SPECS`,
//! default `../shared/specs`; or the folders and files given on the command line)
//! and, for each action, measures its OpenAI tool definition: bytes (compact JSON),
//! tokens (`o200k_base`), nesting depth of its input schema (the root is level 1),
//! the most properties one object has, the longest `enum`, the most branches one
//! `oneOf`/`anyOf` has, and whether conversion cut anything (a `schema-cut`
//! warning). Prints the distribution of each, the share of operations a candidate
//! budget would leave uncut, and per large spec the size distribution and convert
//! time. Run with `cargo bench --bench schemas`.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use actionsync::convert::{self, ConvertOptions};
use actionsync::source::{self, LoadOptions, SpecLocation};
use actionsync::tools::{self, ToolFormat};
use serde_json::Value;

/// The measurements of one action's tool definition.
#[derive(Debug, Clone, Copy, Default)]
struct Shape {
    bytes: usize,
    tokens: usize,
    depth: usize,
    properties: usize,
    enum_values: usize,
    union: usize,
    cut: bool,
}

fn corpus_dir() -> PathBuf {
    std::env::var_os("ACTIONSYNC_SHARED_SPECS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/specs"))
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("json" | "yaml" | "yml")
        ) {
            out.push(path);
        }
    }
}

/// Whether a file is a spec's root (its top level names `openapi` or `swagger`):
/// JSON is parsed (it may be one line), YAML judged from its first lines.
fn is_root_document(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    if path.extension().is_some_and(|e| e == "json") {
        return serde_json::from_str::<Value>(&text)
            .is_ok_and(|v| v.get("openapi").is_some() || v.get("swagger").is_some());
    }
    text.lines().take(400).any(|l| {
        let l = l.trim_start_matches(['{', ' ']);
        l.starts_with("openapi:")
            || l.starts_with("swagger:")
            || l.starts_with("\"openapi\"")
            || l.starts_with("\"swagger\"")
    })
}

/// Keywords whose value is one subschema, a list of them, or a map of them.
const ONE: &[&str] = &[
    "items",
    "additionalProperties",
    "unevaluatedProperties",
    "not",
    "contains",
    "propertyNames",
    "if",
    "then",
    "else",
    "unevaluatedItems",
    "contentSchema",
];
const LISTS: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems"];
const MAPS: &[&str] = &[
    "properties",
    "patternProperties",
    "dependentSchemas",
    "$defs",
];

fn walk(schema: &Value, level: usize, shape: &mut Shape) {
    let Value::Object(map) = schema else {
        shape.depth = shape.depth.max(level);
        return;
    };
    shape.depth = shape.depth.max(level);
    for (key, value) in map {
        let key = key.as_str();
        if ONE.contains(&key) {
            walk(value, level + 1, shape);
        } else if LISTS.contains(&key) {
            if let Value::Array(items) = value {
                if key == "oneOf" || key == "anyOf" {
                    shape.union = shape.union.max(items.len());
                }
                for item in items {
                    walk(item, level + 1, shape);
                }
            }
        } else if MAPS.contains(&key) {
            if let Value::Object(children) = value {
                if key == "properties" {
                    shape.properties = shape.properties.max(children.len());
                }
                // `$defs` entries are not nested where they stand: each is a root.
                let next = if key == "$defs" { 1 } else { level + 1 };
                for child in children.values() {
                    walk(child, next, shape);
                }
            }
        } else if key == "enum"
            && let Value::Array(values) = value
        {
            shape.enum_values = shape.enum_values.max(values.len());
        }
    }
}

fn shape_of(
    draft: &actionsync::action::ActionDraft,
    cut: &HashSet<String>,
    bpe: &tiktoken_rs::CoreBPE,
) -> Shape {
    // The tool exactly as `export` and `/v1/tools` would serve it on a first apply.
    let tool = tools::tool(&tools::preview(draft), ToolFormat::Openai);
    let text = serde_json::to_string(&tool).unwrap_or_default();
    let mut shape = Shape {
        bytes: text.len(),
        tokens: bpe.encode_ordinary(&text).len(),
        cut: cut.contains(&draft.key),
        ..Shape::default()
    };
    walk(&tool["function"]["parameters"], 1, &mut shape);
    shape
}

fn percentile(sorted: &[usize], p: f64) -> usize {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn distribution(label: &str, values: impl Iterator<Item = usize>) -> String {
    let mut v: Vec<usize> = values.collect();
    v.sort_unstable();
    format!(
        "| {label} | {} | {} | {} | {} | {} |",
        percentile(&v, 50.0),
        percentile(&v, 90.0),
        percentile(&v, 95.0),
        percentile(&v, 99.0),
        v.last().copied().unwrap_or(0)
    )
}

fn share_within(shapes: &[Shape], f: impl Fn(&Shape) -> bool) -> String {
    let n = shapes.iter().filter(|s| f(s)).count();
    format!(
        "{:.1} % ({n} of {})",
        100.0 * n as f64 / shapes.len().max(1) as f64,
        shapes.len()
    )
}

struct Converted {
    shapes: Vec<Shape>,
    operations: usize,
    elapsed: Duration,
}

fn convert_one(path: &Path, bpe: &tiktoken_rs::CoreBPE) -> Result<Converted, String> {
    let started = Instant::now();
    let spec = source::load(
        &SpecLocation::File(path.to_path_buf()),
        &LoadOptions::default(),
    )
    .map_err(|e| e.to_string())?;
    let options = ConvertOptions {
        source: "bench".to_string(),
        base_url: Some(url::Url::parse("https://api.example.com").map_err(|e| e.to_string())?),
        ..ConvertOptions::default()
    };
    let conversion = convert::convert(&spec, &options);
    let elapsed = started.elapsed();
    let cut: HashSet<String> = conversion
        .diagnostics
        .iter()
        .filter(|d| d.code == "schema-cut")
        .filter_map(|d| d.key.clone())
        .collect();
    Ok(Converted {
        shapes: conversion
            .actions
            .iter()
            .map(|a| shape_of(a, &cut, bpe))
            .collect(),
        operations: conversion.operation_count(),
        elapsed,
    })
}

fn main() {
    actionsync::allocator::configure();
    let bpe = match tiktoken_rs::o200k_base() {
        Ok(bpe) => bpe,
        Err(e) => {
            eprintln!("the o200k_base encoding could not be loaded: {e}");
            std::process::exit(1);
        }
    };
    let args: Vec<PathBuf> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .collect();
    let roots = if args.is_empty() {
        vec![corpus_dir()]
    } else {
        args
    };
    let mut paths = Vec::new();
    for root in &roots {
        if root.is_dir() {
            files(root, &mut paths);
        } else {
            paths.push(root.clone());
        }
    }
    paths.retain(|p| is_root_document(p));
    if paths.is_empty() {
        eprintln!(
            "SKIPPED: no specs under {} (set ACTIONSYNC_SHARED_SPECS or name folders)",
            roots
                .iter()
                .map(|r| r.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        return;
    }

    let mut all: Vec<Shape> = Vec::new();
    let mut per_spec: BTreeMap<String, (usize, Converted)> = BTreeMap::new();
    let mut operations = 0;
    for path in &paths {
        let size = std::fs::metadata(path)
            .map(|m| m.len() as usize)
            .unwrap_or(0);
        match convert_one(path, &bpe) {
            Ok(converted) => {
                operations += converted.operations;
                all.extend(converted.shapes.iter().copied());
                // Several folders hold files of the same name: key by the path.
                let name = path.display().to_string();
                per_spec.insert(name, (size, converted));
            }
            Err(e) => eprintln!("{}: {e}", path.display()),
        }
    }

    println!(
        "{} specs, {operations} operations, {} actions\n",
        per_spec.len(),
        all.len()
    );
    println!("| per action | median | p90 | p95 | p99 | max |");
    println!("|---|---:|---:|---:|---:|---:|");
    println!("{}", distribution("bytes", all.iter().map(|s| s.bytes)));
    println!("{}", distribution("tokens", all.iter().map(|s| s.tokens)));
    println!("{}", distribution("depth", all.iter().map(|s| s.depth)));
    println!(
        "{}",
        distribution("properties (one object)", all.iter().map(|s| s.properties))
    );
    println!(
        "{}",
        distribution("enum values", all.iter().map(|s| s.enum_values))
    );
    println!(
        "{}",
        distribution("union branches", all.iter().map(|s| s.union))
    );
    println!();
    println!("cut by conversion: {}", share_within(&all, |s| s.cut));
    println!(
        "over 16 KiB: {}",
        share_within(&all, |s| s.bytes > 16 * 1024)
    );
    println!();
    println!("| within | share of actions |");
    println!("|---|---:|");
    for depth in [6, 8, 10] {
        println!(
            "| depth ≤ {depth} | {} |",
            share_within(&all, |s| s.depth <= depth)
        );
    }
    for bytes in [8, 12, 16] {
        println!(
            "| ≤ {bytes} KiB | {} |",
            share_within(&all, |s| s.bytes <= bytes * 1024)
        );
    }
    for p in [50, 100, 200] {
        println!(
            "| ≤ {p} properties per object | {} |",
            share_within(&all, |s| s.properties <= p)
        );
    }
    for e in [50, 100, 250] {
        println!(
            "| ≤ {e} enum values | {} |",
            share_within(&all, |s| s.enum_values <= e)
        );
    }
    for u in [4, 8, 16] {
        println!(
            "| ≤ {u} union branches | {} |",
            share_within(&all, |s| s.union <= u)
        );
    }
    println!(
        "| depth ≤ 10, ≤ 16 KiB, ≤ 100 properties, ≤ 100 enum values, ≤ 8 branches | {} |",
        share_within(&all, |s| s.depth <= 10
            && s.bytes <= 16 * 1024
            && s.properties <= 100
            && s.enum_values <= 100
            && s.union <= 8)
    );

    println!(
        "\n| large spec (> 1 MB) | size (KiB) | actions | convert (ms) | bytes median / p99 / max | tokens median / p99 / max | cut |"
    );
    println!("|---|---:|---:|---:|---|---|---:|");
    for (name, (size, converted)) in &per_spec {
        if *size < 1_000_000 {
            continue;
        }
        let mut bytes: Vec<usize> = converted.shapes.iter().map(|s| s.bytes).collect();
        let mut tokens: Vec<usize> = converted.shapes.iter().map(|s| s.tokens).collect();
        bytes.sort_unstable();
        tokens.sort_unstable();
        let name = Path::new(name)
            .file_name()
            .map_or(name.clone(), |f| f.to_string_lossy().to_string());
        println!(
            "| {name} | {} | {} | {:.0} | {} / {} / {} | {} / {} / {} | {} |",
            size / 1024,
            converted.shapes.len(),
            converted.elapsed.as_secs_f64() * 1000.0,
            percentile(&bytes, 50.0),
            percentile(&bytes, 99.0),
            bytes.last().copied().unwrap_or(0),
            percentile(&tokens, 50.0),
            percentile(&tokens, 99.0),
            tokens.last().copied().unwrap_or(0),
            converted.shapes.iter().filter(|s| s.cut).count(),
        );
    }
}
