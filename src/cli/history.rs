//! `actionsync history`: each source's revisions and refused applies.

use std::process::ExitCode;

use clap::Args;

use super::catalogue::{
    CatalogueArgs, Failure, Output, format_time, load_config, open_existing, print_json,
    print_text, runtime,
};
use crate::plan;
use crate::store::{self, Store};

/// `history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Only this source.
    #[arg(long)]
    source: Option<String>,
    /// Show this revision's plan (needs --source).
    #[arg(value_name = "REVISION", requires = "source")]
    revision: Option<i64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
    #[command(flatten)]
    catalogue: CatalogueArgs,
}

/// `actionsync history`.
pub fn history(args: &HistoryArgs) -> Result<ExitCode, Failure> {
    let config = load_config(&args.catalogue)?;
    runtime()?.block_on(async {
        let store = open_existing(&config).await?;
        if let (Some(source), Some(number)) = (&args.source, args.revision) {
            let revision = store
                .revision(source, number)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("source `{source}` has no revision {number}"))?;
            return match args.output {
                Output::Json => print_json(&super::Keyed("revision", &revision)),
                Output::Markdown => print_text(
                    &revision
                        .plan
                        .as_ref()
                        .map(plan::markdown)
                        .unwrap_or_default(),
                ),
                Output::Text => {
                    let header = format!(
                        "revision {} of `{}`, applied by {} at {}\n",
                        revision.number,
                        revision.source,
                        applied_by(&revision),
                        format_time(revision.applied_at)
                    );
                    print_text(
                        &(header + &revision.plan.as_ref().map(plan::text).unwrap_or_default()),
                    )
                }
            };
        }
        let sources: Vec<String> = match &args.source {
            Some(s) => vec![s.clone()],
            None => store
                .sources()
                .await
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|s| s.name)
                .collect(),
        };
        let mut all = Vec::new();
        let mut refusals = Vec::new();
        for source in sources {
            all.extend(store.revisions(&source).await.map_err(|e| e.to_string())?);
            refusals.extend(store.refusals(&source).await.map_err(|e| e.to_string())?);
        }
        all.sort_by(|a, b| {
            b.applied_at
                .cmp(&a.applied_at)
                .then(b.number.cmp(&a.number))
        });
        refusals.sort_by_key(|r| std::cmp::Reverse(r.last_at));
        match args.output {
            Output::Json => {
                print_json(&serde_json::json!({ "revisions": all, "refusals": refusals }))
            }
            _ => print_text(&history_text(&all, &refusals)),
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Revisions and refusals, newest first, one line each.
fn history_text(revisions: &[store::Revision], refusals: &[store::RefusalRecord]) -> String {
    let mut lines: Vec<(i64, String)> = revisions
        .iter()
        .map(|r| {
            let c = &r.counts;
            let line = format!(
                "{}  {} #{}  by {}  +{} ~{} -{} x{} ^{}  spec {}\n",
                format_time(r.applied_at),
                r.source,
                r.number,
                applied_by(r),
                c.created,
                c.updated,
                c.archived,
                c.deleted,
                c.restored,
                &r.spec_hash.chars().take(12).collect::<String>()
            );
            (r.applied_at, line)
        })
        .collect();
    for r in refusals {
        let times = if r.times > 1 {
            format!(" ({} times since {})", r.times, format_time(r.first_at))
        } else {
            String::new()
        };
        let by = match &r.actor {
            Some(actor) => format!("{} ({actor})", r.refused_by),
            None => r.refused_by.clone(),
        };
        let line = format!(
            "{}  {} refused{times}  by {by}  spec {}: {}\n",
            format_time(r.last_at),
            r.source,
            &r.spec_hash.chars().take(12).collect::<String>(),
            r.reasons.join("; ")
        );
        lines.push((r.last_at, line));
    }
    lines.sort_by_key(|l| std::cmp::Reverse(l.0));
    if lines.is_empty() {
        return "no revisions yet\n".to_string();
    }
    lines.into_iter().map(|(_, line)| line).collect()
}

/// `push`, or `push (token:ci-billing)` when the revision knows who.
fn applied_by(revision: &store::Revision) -> String {
    match &revision.actor {
        Some(actor) => format!("{} ({actor})", revision.applied_by),
        None => revision.applied_by.clone(),
    }
}
