//! `actionsync sources list|pause|resume`: the catalogue's sources, and pausing
//! one. A paused source is still read and planned (`reconcile` and `plan` show
//! it out of sync, with its plan), never applied until it is resumed.

use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::catalogue::{
    CatalogueArgs, Failure, Output, format_time, load_config, open_existing, print_json,
    print_text, runtime, short_counts,
};
use crate::store::{SourceRecord, Store};

/// The source commands.
#[derive(Debug, Subcommand)]
pub enum SourcesCommand {
    /// List the catalogue's sources: kind, location, last revision, paused or not.
    List(ListArgs),
    /// Pause a source: it is still read and planned, never applied until resumed
    /// (so a rollback of a watched file stays rolled back).
    Pause(NameArgs),
    /// Resume a paused source: the next reconcile applies its current spec.
    Resume(NameArgs),
}

/// `sources list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
    #[command(flatten)]
    catalogue: CatalogueArgs,
}

/// `sources pause` and `sources resume`.
#[derive(Debug, Args)]
pub struct NameArgs {
    /// The source's name (`actionsync sources list` shows them).
    name: String,
    #[command(flatten)]
    catalogue: CatalogueArgs,
}

/// Runs a source command.
pub fn run(command: &SourcesCommand) -> Result<ExitCode, Failure> {
    match command {
        SourcesCommand::List(args) => list(args),
        SourcesCommand::Pause(args) => set_paused(args, true),
        SourcesCommand::Resume(args) => set_paused(args, false),
    }
}

fn list(args: &ListArgs) -> Result<ExitCode, Failure> {
    let config = load_config(&args.catalogue)?;
    let sources = runtime()?.block_on(async {
        let store = open_existing(&config).await?;
        store.sources().await.map_err(|e| e.to_string())
    })?;
    if args.output == Output::Json {
        return print_json(&serde_json::json!({ "sources": sources })).map(|()| ExitCode::SUCCESS);
    }
    if sources.is_empty() {
        return print_text("no sources yet; actionsync reconcile (or serve) records them\n")
            .map(|()| ExitCode::SUCCESS);
    }
    print_text(&source_table(&sources)).map(|()| ExitCode::SUCCESS)
}

/// One line per source; the paused column says whether a paused one is out of sync.
fn source_table(sources: &[SourceRecord]) -> String {
    let mut text = format!(
        "{:<24} {:<5} {:>8}  {:<40} {}\n",
        "NAME", "KIND", "REVISION", "LOCATION", "PAUSED"
    );
    for s in sources {
        let paused = match (&s.paused, &s.pending) {
            (false, _) => "no".to_string(),
            (true, None) => "yes".to_string(),
            (true, Some(pending)) => format!("yes, out of sync ({})", short_counts(pending)),
        };
        text.push_str(&format!(
            "{:<24} {:<5} {:>8}  {:<40} {paused}\n",
            s.name, s.kind, s.last_revision, s.location
        ));
        if let Some(error) = &s.last_error {
            let at = s.last_error_at.map(format_time).unwrap_or_default();
            text.push_str(&format!("    last error {at}: {error}\n"));
        }
    }
    text
}

fn set_paused(args: &NameArgs, paused: bool) -> Result<ExitCode, Failure> {
    let config = load_config(&args.catalogue)?;
    let name = &args.name;
    let record = runtime()?.block_on(async {
        let store = open_existing(&config).await?;
        store
            .set_paused(name, paused)
            .await
            .map_err(|e| e.to_string())
    })?;
    let Some(record) = record else {
        return Err(format!(
            "no source `{name}` in the catalogue: actionsync sources list shows them (a source is recorded by its first reconcile)"
        ));
    };
    let message = if paused {
        format!(
            "paused `{name}`: its spec is still read and planned (actionsync plan --source {name}), never applied until actionsync sources resume {name}"
        )
    } else if record.kind == "push" {
        format!("resumed `{name}`: the next push applies")
    } else {
        format!(
            "resumed `{name}`: run actionsync reconcile --source {name} to apply its current spec now (a running serve applies it at the spec's next change)"
        )
    };
    print_text(&format!("{message}\n")).map(|()| ExitCode::SUCCESS)
}
