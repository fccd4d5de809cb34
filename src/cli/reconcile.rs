//! `actionsync plan` and `actionsync reconcile`: specs against the catalogue.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use super::catalogue::{
    CatalogueArgs, Failure, Output, load_config, open, runtime, select_sources, short_counts,
};
use crate::plan;
use crate::sync::{self, Outcome, ReconcileOptions, SyncError};

/// `plan` and `reconcile`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Spec files or folders to use as sources instead of the config's (each file is
    /// a source named after it).
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Only this source.
    #[arg(long, value_name = "NAME")]
    source: Option<String>,
    /// Delete actions whose operation left the spec, instead of archiving them.
    #[arg(long)]
    prune: bool,
    /// Pass the guards (removal share, zero operations); lint errors still refuse.
    #[arg(long)]
    force: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
    #[command(flatten)]
    catalogue: CatalogueArgs,
}

/// `plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    sync: SyncArgs,
    /// Exit 0 when nothing would change, 2 when something would, 1 on an error or a refusal.
    #[arg(long)]
    detailed_exitcode: bool,
}

/// `reconcile`.
#[derive(Debug, Args)]
pub struct ReconcileArgs {
    #[command(flatten)]
    sync: SyncArgs,
    /// Plan only (like `plan`).
    #[arg(long)]
    dry_run: bool,
}

#[derive(Debug, Serialize)]
pub(super) struct SourceResult {
    pub(super) source: String,
    #[serde(flatten)]
    pub(super) outcome: Option<Outcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) error: Option<String>,
}

/// Runs `plan` (dry run) or `reconcile` over the selected sources.
fn run_sync(args: &SyncArgs, dry_run: bool) -> Result<(Vec<SourceResult>, bool), Failure> {
    let config = load_config(&args.catalogue)?;
    let sources = select_sources(&config, &args.paths, args.source.as_deref())?;
    let options = ReconcileOptions {
        dry_run,
        prune: args.prune,
        force: args.force,
        tool_tokens: config.token_budget.tool_tokens,
        ..ReconcileOptions::default()
    };
    runtime()?.block_on(async {
        let store = open(&config).await?;
        let mut results = Vec::new();
        let mut failed = false;
        for source in &sources {
            match sync::reconcile(&store, source, options).await {
                Ok((outcome, timings)) => {
                    if matches!(outcome, Outcome::Refused { .. }) {
                        failed = true;
                    }
                    if args.output == Output::Text {
                        let total = timings.load + timings.convert + timings.plan + timings.apply;
                        eprintln!(
                            "{}: {} in {:.0} ms",
                            source.name,
                            describe(&outcome),
                            total.as_secs_f64() * 1000.0
                        );
                    }
                    results.push(SourceResult {
                        source: source.name.clone(),
                        outcome: Some(outcome),
                        error: None,
                    });
                }
                Err(e) => {
                    failed = true;
                    if args.output == Output::Text {
                        eprintln!("{}: error: {e}", source.name);
                    }
                    results.push(SourceResult {
                        source: source.name.clone(),
                        outcome: None,
                        error: Some(error_message(&e)),
                    });
                }
            }
        }
        Ok((results, failed))
    })
}

fn error_message(e: &SyncError) -> String {
    e.to_string()
}

pub(super) fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Unchanged { .. } => "unchanged since the last reconcile".to_string(),
        Outcome::Planned { plan } if plan.is_empty() => "no changes".to_string(),
        Outcome::Planned { plan } => {
            format!("planned, not applied ({})", short_counts(&plan.counts))
        }
        Outcome::Refused { .. } => "refused; nothing applied".to_string(),
        Outcome::Paused { plan } if plan.is_empty() => "paused; in sync".to_string(),
        Outcome::Paused { plan } => format!(
            "paused, out of sync: planned, not applied ({}); to apply it, run actionsync sources resume {} then actionsync reconcile",
            short_counts(&plan.counts),
            plan.source
        ),
        Outcome::Applied { plan, revision } => {
            format!(
                "applied as revision {revision} ({})",
                short_counts(&plan.counts)
            )
        }
    }
}

pub(super) fn print_results(results: &[SourceResult], output: Output) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    let written = match output {
        Output::Json => super::write_json(&mut out, &super::Keyed("sources", results)),
        Output::Text | Output::Markdown => {
            let mut text = String::new();
            for r in results {
                match (&r.outcome, &r.error) {
                    (Some(outcome), _) => match outcome.plan() {
                        Some(p) if output == Output::Markdown => text.push_str(&plan::markdown(p)),
                        Some(p) => text.push_str(&plan::text(p)),
                        None => text.push_str(&format!(
                            "source `{}`: unchanged since the last reconcile\n",
                            r.source
                        )),
                    },
                    (None, Some(error)) => {
                        text.push_str(&format!("source `{}`: error: {error}\n", r.source))
                    }
                    (None, None) => {}
                }
                text.push('\n');
            }
            out.write_all(text.trim_end().as_bytes())
                .and_then(|()| writeln!(out))
        }
    };
    match written {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(format!("cannot write the output: {e}"))
        }
        _ => Ok(()),
    }
}

/// `actionsync plan`.
pub fn plan(args: &PlanArgs) -> Result<ExitCode, Failure> {
    let (results, failed) = run_sync(&args.sync, true)?;
    print_results(&results, args.sync.output)?;
    let changes = results
        .iter()
        .filter_map(|r| r.outcome.as_ref()?.plan())
        .any(|p| !p.is_empty());
    Ok(if failed {
        ExitCode::from(1)
    } else if args.detailed_exitcode && changes {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// `actionsync reconcile`.
pub fn reconcile(args: &ReconcileArgs) -> Result<ExitCode, Failure> {
    let (results, failed) = run_sync(&args.sync, args.dry_run)?;
    print_results(&results, args.sync.output)?;
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
