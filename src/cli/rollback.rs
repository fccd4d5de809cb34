//! `actionsync rollback`: an earlier revision's spec applied again.

use std::process::ExitCode;

use clap::Args;

use super::catalogue::{
    CatalogueArgs, Failure, Output, load_config, open, runtime, select_sources, stored_source,
};
use super::reconcile::{SourceResult, describe, print_results};
use crate::store::Store;
use crate::sync::{self, Outcome, ReconcileOptions};

/// `rollback`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The source.
    #[arg(long)]
    source: String,
    /// The revision whose spec to apply again, as a new revision.
    #[arg(long, value_name = "N")]
    to: i64,
    /// Pass the guards.
    #[arg(long)]
    force: bool,
    /// Pause the source first, if it is read from a file, folder or URL (a
    /// rollback of one that is not paused is refused: its next change would undo it).
    #[arg(long)]
    pause: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
    #[command(flatten)]
    catalogue: CatalogueArgs,
}

/// `actionsync rollback`.
pub fn rollback(args: &RollbackArgs) -> Result<ExitCode, Failure> {
    let config = load_config(&args.catalogue)?;
    let options = ReconcileOptions {
        force: args.force,
        tool_tokens: config.token_budget.tool_tokens,
        ..ReconcileOptions::default()
    };
    let result = runtime()?.block_on(async {
        let store = open(&config).await?;
        // A source no longer in the config (or given as a path, or pushed) can still
        // be rolled back: its stored record says what it is.
        let source = match select_sources(&config, &[], Some(&args.source)) {
            Ok(mut sources) => sources.remove(0),
            // Any other config error is the user's to fix, not a reason to roll back
            // without the source's options.
            Err(e)
                if !e.starts_with("no source named")
                    && !e.starts_with("no sources")
                    && !e.contains("names no sources") =>
            {
                return Err(e);
            }
            Err(_) => {
                let record = store
                    .source(&args.source)
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| format!("no source named `{}` in the catalogue", args.source))?;
                stored_source(&record)
            }
        };
        let outcome = sync::rollback(&store, &source, args.to, args.pause, options)
            .await
            .map_err(|e| e.to_string())?;
        let paused = store
            .source(&source.name)
            .await
            .map_err(|e| e.to_string())?
            .is_some_and(|r| r.paused && sync::is_watched(&r.kind));
        Ok::<_, Failure>((source, outcome, paused))
    });
    let (source, (outcome, _), paused) = result?;
    let refused = matches!(outcome, Outcome::Refused { .. });
    eprintln!("{}: {}", source.name, describe(&outcome));
    if paused {
        eprintln!(
            "{0}: paused: changes to its spec are planned, not applied; actionsync sources resume {0} applies its current spec again",
            source.name
        );
    }
    print_results(
        &[SourceResult {
            source: source.name.clone(),
            outcome: Some(outcome),
            error: None,
        }],
        args.output,
    )?;
    Ok(if refused {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
