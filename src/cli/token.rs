//! `actionsync token create|list|revoke`: the API's bearer tokens, kept in the
//! catalogue as hashes. A token is printed once, alone on the last line of
//! standard output, so a script can take it with `tail -n 1`.

use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::catalogue::{
    CatalogueArgs, Failure, Output, load_config, open, open_existing, print_json, runtime,
};
use crate::api::auth;
use crate::store::{Store, TokenScope};

/// The token commands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it once (alone on the last line of stdout).
    Create(CreateArgs),
    /// List tokens (never the tokens themselves: they are not stored).
    List(ListArgs),
    /// Revoke a token by id: it stops working at once.
    Revoke(RevokeArgs),
}

/// `token create`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("scope").required(true).multiple(false).args(["source", "admin", "tools", "curator"]))]
pub struct CreateArgs {
    /// A push token for this source (repeat for several): CI pushes its spec with it.
    #[arg(long, value_name = "NAME", value_parser = super::parse_source_name)]
    source: Vec<String>,
    /// An admin token: the curators' API (read, hand edits, rollback) and pushes to any source.
    #[arg(long)]
    admin: bool,
    /// A tools token: reads the tool list (GET /v1/tools), for the AI runtime.
    #[arg(long)]
    tools: bool,
    /// A curator token: reads the catalogue, edits hand-owned fields and runs
    /// tests (in the console or over the API); no pushes, rollbacks or tokens.
    #[arg(long)]
    curator: bool,
    /// A label for people, shown by `token list` and in the server's log.
    #[arg(long, value_name = "LABEL")]
    name: Option<String>,
    #[command(flatten)]
    catalogue: CatalogueArgs,
}

/// `token list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
    #[command(flatten)]
    catalogue: CatalogueArgs,
}

/// `token revoke`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The token's id (from `token list`).
    id: i64,
    #[command(flatten)]
    catalogue: CatalogueArgs,
}

/// Runs a token command.
pub fn run(command: &TokenCommand) -> Result<ExitCode, Failure> {
    match command {
        TokenCommand::Create(args) => create(args),
        TokenCommand::List(args) => list(args),
        TokenCommand::Revoke(args) => revoke(args),
    }
}

fn create(args: &CreateArgs) -> Result<ExitCode, Failure> {
    let (scope, sources) = if args.admin {
        (TokenScope::Admin, Vec::new())
    } else if args.tools {
        (TokenScope::Tools, Vec::new())
    } else if args.curator {
        (TokenScope::Curator, Vec::new())
    } else {
        let mut sources = args.source.clone();
        sources.sort();
        sources.dedup();
        (TokenScope::Push, sources)
    };
    let name = args.name.clone().unwrap_or_else(|| match scope {
        TokenScope::Push => format!("push:{}", sources.join(",")),
        other => other.as_str().to_string(),
    });
    let minted = auth::mint(&name, scope, sources)?;
    let config = load_config(&args.catalogue)?;
    let record = runtime()?.block_on(async {
        let store = open(&config).await?;
        store
            .create_token(&minted.stored)
            .await
            .map_err(|e| e.to_string())
    })?;
    let what = match record.scope {
        TokenScope::Push => format!("push to {}", record.sources.join(", ")),
        TokenScope::Admin => {
            "do everything an admin does (read, hand edits, rollback, test, push to any source)"
                .to_string()
        }
        TokenScope::Tools => "read the tool list".to_string(),
        TokenScope::Curator => {
            "curate (read, hand edits, test; sign in to the console at /ui/)".to_string()
        }
    };
    // The token alone on the last line: scripts take it with `tail -n 1`.
    println!(
        "token {} `{}` may {what}. It is shown once; keep it in your CI's secrets:",
        record.id, record.name
    );
    println!("{}", minted.secret);
    Ok(ExitCode::SUCCESS)
}

fn list(args: &ListArgs) -> Result<ExitCode, Failure> {
    let config = load_config(&args.catalogue)?;
    let tokens = runtime()?.block_on(async {
        let store = open_existing(&config).await?;
        store.tokens().await.map_err(|e| e.to_string())
    })?;
    if args.output == Output::Json {
        return print_json(&serde_json::json!({ "tokens": tokens })).map(|()| ExitCode::SUCCESS);
    }
    if tokens.is_empty() {
        println!(
            "no tokens; create one with actionsync token create --source NAME (or --admin, --tools, --curator)"
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:>4}  {:<24} {:<7} {:<24} {:<21} REVOKED",
        "ID", "NAME", "SCOPE", "SOURCES", "CREATED"
    );
    for t in &tokens {
        println!(
            "{:>4}  {:<24} {:<7} {:<24} {:<21} {}",
            t.id,
            t.name,
            t.scope.as_str(),
            if t.sources.is_empty() {
                "-".to_string()
            } else {
                t.sources.join(",")
            },
            super::catalogue::format_time(t.created_at),
            t.revoked_at
                .map_or_else(|| "-".to_string(), super::catalogue::format_time),
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn revoke(args: &RevokeArgs) -> Result<ExitCode, Failure> {
    let config = load_config(&args.catalogue)?;
    let revoked = runtime()?.block_on(async {
        let store = open_existing(&config).await?;
        store.revoke_token(args.id).await.map_err(|e| e.to_string())
    })?;
    if revoked {
        println!("token {} revoked", args.id);
        Ok(ExitCode::SUCCESS)
    } else {
        Err(format!(
            "no live token with id {} (actionsync token list shows them)",
            args.id
        ))
    }
}
