//! `actionsync lint SPEC...`: rule 8's checks across every spec given, printed per
//! spec and operation; then the token budget (`budget` in `actionsync.yaml`) over
//! the tool lists those actions would make.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use serde::Serialize;

use super::{SpecArgs, location, table};
use crate::action::StoredAction;
use crate::config::Config;
use crate::convert::{self, Conversion};
use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::{self, Costed, Subject};
use crate::source;
use crate::tools;

#[derive(Debug, Args)]
pub struct LintArgs {
    /// The specs: files, folders (each spec file in them, as `plan` reads them),
    /// http(s) URLs, or - for standard input.
    #[arg(value_name = "SPEC", required = true)]
    specs: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
    /// Show info-level findings too.
    #[arg(long)]
    verbose: bool,
    /// The config whose `budget` applies (default: actionsync.yaml in the working
    /// folder, if any; else the defaults, 4,000 tokens per tool and 20,000 per
    /// audience).
    #[arg(long, value_name = "FILE", env = "ACTIONSYNC_CONFIG")]
    config: Option<PathBuf>,
    #[command(flatten)]
    spec_args: SpecArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Output {
    /// For people.
    Text,
    /// A stable JSON document: `{"specs": [{"spec", "source", "actions", "skipped", "findings"}], "audiences", "errors", "warnings"}`.
    Json,
}

/// The lint result of one spec.
#[derive(Debug, Serialize)]
struct SpecReport {
    spec: String,
    source: String,
    actions: usize,
    skipped: usize,
    findings: Vec<Diagnostic>,
}

#[derive(Debug, Serialize)]
struct Report {
    specs: Vec<SpecReport>,
    /// Findings about a whole tool list (one channel and contact), not one spec.
    audiences: Vec<Diagnostic>,
    errors: usize,
    warnings: usize,
}

pub fn run(args: &LintArgs) -> Result<ExitCode, String> {
    if args.specs.iter().filter(|s| s.as_str() == "-").count() > 1 {
        eprintln!("error: standard input (-) can be given only once");
        return Ok(ExitCode::from(super::USAGE_ERROR));
    }
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the working folder: {e}"))?;
    let budget = Config::load(args.config.as_deref(), &cwd)
        .map_err(|e| e.to_string())?
        .token_budget;
    let load_options = args.spec_args.load_options();
    let mut reports: Vec<SpecReport> = Vec::new();
    let mut conversions: Vec<Option<Conversion>> = Vec::new();
    let mut source_names: HashMap<String, usize> = HashMap::new();
    for arg in expand_folders(&args.specs) {
        let arg = match arg {
            Ok(arg) => arg,
            Err(empty) => {
                reports.push(SpecReport {
                    source: String::new(),
                    actions: 0,
                    skipped: 0,
                    findings: vec![Diagnostic::new(
                        Severity::Error,
                        "no-specs",
                        None,
                        "#",
                        "no spec files in this folder (.yaml, .yml or .json files with `openapi` or `swagger` at the top)".to_string(),
                    )],
                    spec: empty,
                });
                conversions.push(None);
                continue;
            }
        };
        let location = location(&arg)?;
        let mut source = location.default_source_name();
        let n = source_names.entry(source.clone()).or_default();
        *n += 1;
        if *n > 1 {
            source = format!("{source}_{n}");
        }
        let display = location.display();
        match source::load(&location, &load_options) {
            Ok(spec) => {
                let conversion =
                    convert::convert(&spec, &args.spec_args.convert_options(source.clone()));
                reports.push(SpecReport {
                    spec: display,
                    source,
                    actions: conversion.actions.len(),
                    skipped: conversion.skipped.len(),
                    findings: conversion.diagnostics.clone(),
                });
                conversions.push(Some(conversion));
            }
            Err(e) => {
                reports.push(SpecReport {
                    spec: display,
                    source,
                    actions: 0,
                    skipped: 0,
                    findings: vec![Diagnostic::new(
                        Severity::Error,
                        "unreadable",
                        None,
                        "#",
                        e.to_string(),
                    )],
                });
                conversions.push(None);
            }
        }
    }

    // Cross-spec checks over every action of every readable spec.
    let mut owners: Vec<usize> = Vec::new();
    let mut subjects: Vec<Subject<'_>> = Vec::new();
    for (spec_index, conversion) in conversions.iter().enumerate() {
        for action in conversion.iter().flat_map(|c| &c.actions) {
            owners.push(spec_index);
            subjects.push(Subject::of(action));
        }
    }
    for (subject, finding) in lint::check(&subjects) {
        reports[owners[subject]].findings.push(finding);
    }
    // The token budget, over the tools the actions would be once applied.
    let previews: Vec<StoredAction> = conversions
        .iter()
        .flat_map(|c| c.iter().flat_map(|c| &c.actions))
        .map(tools::preview)
        .collect();
    let costed: Vec<Costed<'_>> = subjects
        .iter()
        .zip(&previews)
        .map(|(subject, action)| Costed {
            subject: *subject,
            action,
            tokens: tools::tokens(action),
        })
        .collect();
    let budget_findings = lint::check_budget(&costed, &budget);
    for (subject, finding) in budget_findings.actions {
        reports[owners[subject]].findings.push(finding);
    }
    let audiences = budget_findings.audiences;
    // A pinned description replaces the short one the spec gave: the conversion's
    // note that it generated one says nothing about the catalogue.
    for (report, conversion) in reports.iter_mut().zip(&conversions) {
        let pinned: Vec<&str> = conversion
            .iter()
            .flat_map(|c| &c.actions)
            .filter(|a| a.hand.pins.contains_key("description"))
            .map(|a| a.key.as_str())
            .collect();
        report.findings.retain(|d| {
            !(d.code == "generated-description"
                && d.key.as_deref().is_some_and(|k| pinned.contains(&k)))
        });
    }
    for report in &mut reports {
        if !args.verbose {
            report.findings.retain(|d| d.severity != Severity::Info);
        }
        report
            .findings
            .sort_by(|a, b| b.severity.cmp(&a.severity).then(a.pointer.cmp(&b.pointer)));
    }
    let count = |s: Severity| {
        reports
            .iter()
            .map(|r| crate::diagnostic::count(&r.findings, s))
            .sum::<usize>()
            + crate::diagnostic::count(&audiences, s)
    };
    let (errors, warnings) = (count(Severity::Error), count(Severity::Warning));
    let report = Report {
        audiences,
        errors,
        warnings,
        specs: reports,
    };

    let mut out = std::io::stdout().lock();
    let written = match args.output {
        Output::Json => super::write_json(&mut out, &report),
        Output::Text => text(&mut out, &report),
    };
    if let Err(e) = written
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(format!("cannot write the output: {e}"));
    }
    Ok(if report.errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The spec arguments with each folder replaced by the spec files in it (sorted,
/// as `plan` and `serve` read a folder). A folder with none is `Err(folder)`; a
/// folder that cannot be read is passed on, to be reported like a missing file.
fn expand_folders(args: &[String]) -> Vec<Result<String, String>> {
    let mut expanded = Vec::new();
    for arg in args {
        let path = std::path::Path::new(arg);
        if arg == "-" || !path.is_dir() {
            expanded.push(Ok(arg.clone()));
            continue;
        }
        match crate::config::spec_files(path) {
            Ok(files) if files.is_empty() => expanded.push(Err(arg.clone())),
            Ok(files) => expanded.extend(
                files
                    .into_iter()
                    .map(|file| Ok(file.to_string_lossy().into_owned())),
            ),
            Err(_) => expanded.push(Ok(arg.clone())),
        }
    }
    expanded
}

fn text(out: &mut impl Write, report: &Report) -> std::io::Result<()> {
    for spec in &report.specs {
        writeln!(
            out,
            "{} (source `{}`): {}, {} skipped",
            spec.spec,
            spec.source,
            plural(spec.actions, "action"),
            spec.skipped
        )?;
        for finding in &spec.findings {
            table::diagnostic(out, finding, "  ")?;
        }
    }
    if !report.audiences.is_empty() {
        writeln!(out, "tool lists:")?;
        for finding in &report.audiences {
            table::diagnostic(out, finding, "  ")?;
        }
    }
    let actions = plural(report.specs.iter().map(|s| s.actions).sum(), "action");
    let specs = plural(report.specs.len(), "spec");
    if report.errors + report.warnings == 0 {
        writeln!(out, "no problems in {specs} ({actions})")
    } else {
        writeln!(
            out,
            "{}, {} in {specs} ({actions})",
            plural(report.errors, "error"),
            plural(report.warnings, "warning")
        )
    }
}

/// `1 spec`, `2 specs`.
fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}
