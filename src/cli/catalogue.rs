//! The commands that use the catalogue: `plan`, `reconcile`, `actions`, `history`,
//! `rollback`. Each opens the catalogue from `--database`, `ACTIONSYNC_DATABASE_URL`,
//! the config's `database`, or `sqlite://actionsync.db` next to the config.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use serde_json::Value;

use crate::action::{ActionState, Channel, StoredAction};
use crate::config::{self, Config};
use crate::plan;
use crate::store::{self, ActionQuery, AnyStore, HandEdit, Store, StoreError};
use crate::sync::{self, Outcome, ReconcileOptions, SourceSpec, SyncError};
use crate::tools;

/// Where the catalogue and the sources are.
#[derive(Debug, Clone, Args)]
pub struct CatalogueArgs {
    /// The config file (default: actionsync.yaml in the working folder, if any).
    #[arg(long, value_name = "FILE", env = "ACTIONSYNC_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// Database URL: sqlite://file.db or postgres://… (overrides the config).
    #[arg(
        long,
        value_name = "URL",
        env = "ACTIONSYNC_DATABASE_URL",
        global = true
    )]
    database: Option<String>,
}

/// Text for people, or JSON for machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Readable.
    Text,
    /// Stable JSON.
    Json,
    /// Markdown (for a pull-request comment).
    Markdown,
}

/// Text or JSON, for commands that print data rather than a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DataOutput {
    /// Readable.
    Text,
    /// Stable JSON.
    Json,
}

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

/// `actions`.
#[derive(Debug, Args)]
pub struct ActionsArgs {
    #[command(subcommand)]
    command: ActionsCommand,
    #[command(flatten)]
    catalogue: CatalogueArgs,
}

#[derive(Debug, Subcommand)]
enum ActionsCommand {
    /// List actions, with the fields a person has set.
    List {
        /// Only this source.
        #[arg(long)]
        source: Option<String>,
        /// Only active or only archived actions.
        #[arg(long, value_enum)]
        state: Option<StateArg>,
        #[command(flatten)]
        filter: ListFilter,
        /// Output format.
        #[arg(long, value_enum, default_value_t = DataOutput::Text)]
        output: DataOutput,
    },
    /// Show one action, by name or id.
    Show {
        /// Name or id.
        action: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = DataOutput::Text)]
        output: DataOutput,
    },
    /// Set hand-owned fields of an action; the spec never changes them.
    Set(SetArgs),
}

/// `actions list`'s filters on hand-owned fields (the API's, by the same names).
#[derive(Debug, Args)]
struct ListFilter {
    /// Only actions enabled on this channel.
    #[arg(long, value_parser = Channel::parse_or_explain)]
    channel: Option<Channel>,
    /// Only actions restricted to this segment.
    #[arg(long)]
    segment: Option<String>,
    /// Only actions with this tag.
    #[arg(long)]
    tag: Option<String>,
    /// Only pinned (true) or only unpinned (false) actions.
    #[arg(long, value_name = "BOOL", action = clap::ArgAction::Set)]
    pinned: Option<bool>,
    /// At most this many (pinned first, then by id).
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
}

impl ListFilter {
    /// The actions that pass, pinned first, then by id, at most `limit`.
    fn apply(&self, mut actions: Vec<StoredAction>) -> Vec<StoredAction> {
        actions.retain(|a| {
            self.channel.is_none_or(|c| a.hand.channels.contains(&c))
                && self
                    .segment
                    .as_deref()
                    .is_none_or(|s| a.hand.segments.iter().any(|x| x == s))
                && self
                    .tag
                    .as_deref()
                    .is_none_or(|t| a.hand.tags.iter().any(|x| x == t))
                && self.pinned.is_none_or(|p| a.hand.pinned == p)
        });
        actions.sort_by_key(|a| (!a.hand.pinned, a.id));
        if let Some(limit) = self.limit {
            actions.truncate(limit);
        }
        actions
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum StateArg {
    Active,
    Archived,
}

#[derive(Debug, Args)]
struct SetArgs {
    /// Name or id.
    action: String,
    /// Channels (replaces the list): widget, email, sms, whatsapp, phone, slack.
    #[arg(long, value_delimiter = ',', value_parser = Channel::parse_or_explain)]
    channels: Option<Vec<Channel>>,
    /// Restricted-to segments (replaces the list; an empty value means everyone).
    #[arg(long, value_delimiter = ',', num_args = 0..)]
    segments: Option<Vec<String>>,
    /// A magic field: PARAM=context.path (repeat for several).
    #[arg(long, value_name = "PARAM=PATH", value_parser = parse_pair)]
    magic: Vec<(String, String)>,
    /// Remove a magic field.
    #[arg(long, value_name = "PARAM")]
    remove_magic: Vec<String>,
    /// The "require form submission" toggle.
    #[arg(long, value_name = "BOOL", action = clap::ArgAction::Set)]
    require_confirmation: Option<bool>,
    /// Enable or disable the action.
    #[arg(long, value_name = "BOOL", action = clap::ArgAction::Set)]
    enabled: Option<bool>,
    /// Pin the action at the top of lists, or unpin it.
    #[arg(long, value_name = "BOOL", action = clap::ArgAction::Set)]
    pinned: Option<bool>,
    /// Tags (replaces the list; an empty value removes them all).
    #[arg(long, value_delimiter = ',', num_args = 0..)]
    tags: Option<Vec<String>>,
    /// Pin a spec-owned field: FIELD=VALUE (a JSON value, or plain text for text fields).
    #[arg(long, value_name = "FIELD=VALUE", value_parser = parse_pair)]
    pin: Vec<(String, String)>,
    /// Remove a pin.
    #[arg(long, value_name = "FIELD")]
    unpin: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DataOutput::Text)]
    output: DataOutput,
}

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
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
    #[command(flatten)]
    catalogue: CatalogueArgs,
}

pub(super) fn parse_pair(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("`{s}` should be NAME=VALUE"))
}

/// A failure: the message is printed as `error: …` and the command exits 1.
pub(super) type Failure = String;

pub(super) fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

pub(super) fn load_config(args: &CatalogueArgs) -> Result<Config, Failure> {
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the working folder: {e}"))?;
    let mut config = Config::load(args.config.as_deref(), &cwd).map_err(|e| e.to_string())?;
    if let Some(database) = &args.database {
        config.database = Some(database.clone());
    }
    Ok(config)
}

/// Opens a catalogue that must already exist when its URL was given (flag,
/// environment or config): commands that only read (or edit what is there) must
/// not create an empty one at a mistyped path and report "nothing". The default
/// catalogue next to the config may be new.
pub(super) async fn open_existing(config: &Config) -> Result<AnyStore, Failure> {
    let url = config.database_url();
    if config.database.is_some()
        && url.starts_with("sqlite:")
        && let Some(file) = store::sqlite::file_of(&url, &config.base_dir)
        && !file.exists()
    {
        return Err(format!(
            "no catalogue at {}: check --database (or ACTIONSYNC_DATABASE_URL, or the config's database), or fill it first with actionsync reconcile or serve",
            file.display()
        ));
    }
    open(config).await
}

pub(super) async fn open(config: &Config) -> Result<AnyStore, Failure> {
    store::open(&config.database_url(), &config.base_dir)
        .await
        .map_err(|e| e.to_string())
}

fn select_sources(
    config: &Config,
    paths: &[PathBuf],
    only: Option<&str>,
) -> Result<Vec<SourceSpec>, Failure> {
    let mut sources = if paths.is_empty() {
        config.sources().map_err(|e| e.to_string())?
    } else {
        config::sources_from_paths(paths, &config.defaults).map_err(|e| e.to_string())?
    };
    if sources.is_empty() {
        return Err(match &config.path {
            Some(path) => format!("{} names no sources; add some under `sources:`", path.display()),
            None => "no sources: give spec files or folders (actionsync reconcile specs/), or write actionsync.yaml".to_string(),
        });
    }
    if let Some(only) = only {
        sources.retain(|s| s.name == only);
        if sources.is_empty() {
            return Err(format!("no source named `{only}`"));
        }
    }
    Ok(sources)
}

/// One source's result, as printed in JSON.
#[derive(Debug, Serialize)]
struct SourceResult {
    source: String,
    #[serde(flatten)]
    outcome: Option<Outcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
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

fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Unchanged { .. } => "unchanged since the last reconcile".to_string(),
        Outcome::Planned { plan } if plan.is_empty() => "no changes".to_string(),
        Outcome::Planned { plan } => {
            format!("planned, not applied ({})", short_counts(&plan.counts))
        }
        Outcome::Refused { .. } => "refused; nothing applied".to_string(),
        Outcome::Applied { plan, revision } => {
            format!(
                "applied as revision {revision} ({})",
                short_counts(&plan.counts)
            )
        }
    }
}

/// `2 created, 1 updated`, or `nothing`.
pub(super) fn short_counts(c: &plan::Counts) -> String {
    let parts: Vec<String> = [
        (c.created, "created"),
        (c.updated, "updated"),
        (c.archived, "archived"),
        (c.deleted, "deleted"),
        (c.restored, "restored"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    if parts.is_empty() {
        "nothing".to_string()
    } else {
        parts.join(", ")
    }
}

fn print_results(results: &[SourceResult], output: Output) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    let written = match output {
        Output::Json => super::write_json(&mut out, &serde_json::json!({ "sources": results })),
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

/// `actionsync actions …`.
pub fn actions(args: &ActionsArgs) -> Result<ExitCode, Failure> {
    let config = load_config(&args.catalogue)?;
    runtime()?.block_on(async {
        let store = open_existing(&config).await?;
        match &args.command {
            ActionsCommand::List { source, state, filter, output } => {
                let query = ActionQuery {
                    source: source.clone(),
                    state: state.map(|s| match s {
                        StateArg::Active => ActionState::Active,
                        StateArg::Archived => ActionState::Archived,
                    }),
                    ..Default::default()
                };
                let actions = store.actions(&query).await.map_err(|e| e.to_string())?;
                let actions = filter.apply(actions);
                match output {
                    DataOutput::Json => print_json(&serde_json::json!({ "actions": actions })),
                    _ => print_text(&action_table(&actions)),
                }
            }
            ActionsCommand::Show { action, output } => {
                let found = find(&store, action).await?;
                let audit = store.audit(found.id).await.map_err(|e| e.to_string())?;
                match output {
                    DataOutput::Json => print_json(&serde_json::json!({ "action": tools::WithTokens::new(&found), "audit": audit })),
                    _ => print_text(&show_action(&found, &audit)),
                }
            }
            ActionsCommand::Set(set) => {
                let edit = hand_edit(set)?;
                if edit.is_empty() {
                    return Err("nothing to set: give --channels, --segments, --magic, --require-confirmation, --enabled, --pinned, --tags, --pin or --unpin".to_string());
                }
                let actor = std::env::var("USER").map(|u| format!("cli:{u}")).unwrap_or_else(|_| "cli".to_string());
                // Read, then write at that version; if a reconcile got in between, read again.
                let mut result = Err("the action kept changing while it was being edited; try again".to_string());
                for _ in 0..3 {
                    let found = find(&store, &set.action).await?;
                    match store.edit_hand(found.id, Some(found.version), &edit, &actor).await {
                        Err(StoreError::Stale { .. }) => continue,
                        other => {
                            result = other.map_err(|e| e.to_string());
                            break;
                        }
                    }
                }
                let updated = result?;
                // Allowed (a magic field outlives its parameter), but a typo is likelier.
                for (field, _) in &set.magic {
                    if !updated.spec.fills(field) {
                        eprintln!(
                            "warning: `{}` has no parameter or header `{field}`; the magic field is kept and takes effect if one appears",
                            updated.name()
                        );
                    }
                }
                // What this edit changed: its audit entries (a value set to what it
                // already was changes nothing and has none).
                let audit = store.audit(updated.id).await.map_err(|e| e.to_string())?;
                let changed: Vec<&store::AuditEntry> =
                    audit.iter().filter(|e| e.version == updated.version).collect();
                match set.output {
                    DataOutput::Json => print_json(&serde_json::json!({ "action": updated, "changed": changed })),
                    _ => print_text(&edit_report(&updated, &changed)),
                }
            }
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `actions set`'s text report: each field this edit changed, old → new.
fn edit_report(updated: &StoredAction, changed: &[&store::AuditEntry]) -> String {
    if changed.is_empty() {
        return format!(
            "{} (version {}): nothing changed; the fields already had those values\n",
            updated.name(),
            updated.version
        );
    }
    let mut out = format!("{} (version {}):\n", updated.name(), updated.version);
    for entry in changed {
        let what = match entry.field.strip_prefix("pin:") {
            Some(field) if entry.new.is_null() => format!("unpinned {field}"),
            Some(field) => format!("pinned {field}: {}", entry.new),
            None => format!("{}: {} → {}", entry.field, entry.old, entry.new),
        };
        out.push_str(&format!("  {what}\n"));
    }
    out
}

pub(super) async fn find(store: &AnyStore, name_or_id: &str) -> Result<StoredAction, Failure> {
    let by_name = store
        .action_by_name(name_or_id)
        .await
        .map_err(|e| e.to_string())?;
    let found = match by_name {
        Some(a) => Some(a),
        None => match name_or_id.parse::<i64>() {
            Ok(id) => store.action(id).await.map_err(|e| e.to_string())?,
            Err(_) => None,
        },
    };
    found.ok_or_else(|| format!("no action named `{name_or_id}` (see `actionsync actions list`)"))
}

fn hand_edit(set: &SetArgs) -> Result<HandEdit, Failure> {
    let mut pins = BTreeMap::new();
    for (field, raw) in &set.pin {
        // Text fields take plain text; the others a JSON value.
        let value = match field.as_str() {
            "name" | "description" | "url" => Value::String(raw.clone()),
            "method" => Value::String(raw.to_ascii_uppercase()),
            _ => serde_json::from_str(raw)
                .map_err(|e| format!("--pin {field}=…: the value is not JSON: {e}"))?,
        };
        pins.insert(field.clone(), value);
    }
    Ok(HandEdit {
        segments: set.segments.clone(),
        channels: set.channels.clone(),
        magic_fields: (!set.magic.is_empty()).then(|| set.magic.iter().cloned().collect()),
        remove_magic: set.remove_magic.clone(),
        require_confirmation: set.require_confirmation,
        enabled: set.enabled,
        pinned: set.pinned,
        tags: set.tags.clone(),
        pins,
        unpin: set.unpin.clone(),
    })
}

fn action_table(actions: &[StoredAction]) -> String {
    let mut rows = vec![[
        "ID".to_string(),
        "NAME".to_string(),
        "SOURCE".to_string(),
        "STATE".to_string(),
        "METHOD".to_string(),
        "PINNED".to_string(),
        "SET BY HAND".to_string(),
    ]];
    for a in actions {
        let mut set = a.hand_set.clone();
        set.extend(a.hand.pins.keys().map(|k| format!("pin:{k}")));
        set.sort();
        set.dedup();
        set.retain(|s| s != "pins");
        rows.push([
            a.id.to_string(),
            a.name().to_string(),
            a.source.clone(),
            a.state.as_str().to_string(),
            a.spec.method.to_string(),
            if a.hand.pinned { "yes" } else { "-" }.to_string(),
            if set.is_empty() {
                "-".to_string()
            } else {
                set.join(",")
            },
        ]);
    }
    let widths: Vec<usize> = (0..7)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i == 6 {
                    c.clone()
                } else {
                    format!("{c:<w$}", w = widths[i])
                }
            })
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out.push_str(&format!("{} actions\n", actions.len()));
    out
}

fn show_action(a: &StoredAction, audit: &[store::AuditEntry]) -> String {
    let mut out = format!(
        "{} (id {}, version {}, {})\n",
        a.name(),
        a.id,
        a.version,
        a.state.as_str()
    );
    out.push_str(&format!("  source: {}  key: {}\n", a.source, a.key));
    out.push_str(&format!(
        "  {} {}\n",
        a.spec.method,
        a.effective("url").as_str().unwrap_or(&a.spec.url)
    ));
    out.push_str(&format!(
        "  description: {}\n",
        a.effective("description")
            .as_str()
            .unwrap_or(&a.spec.description)
            .replace('\n', "\n    ")
    ));
    let params: Vec<String> = a
        .spec
        .parameters
        .iter()
        .map(|p| {
            format!(
                "{} ({}{})",
                p.key,
                p.location.as_str(),
                if p.required { ", required" } else { "" }
            )
        })
        .collect();
    out.push_str(&format!(
        "  parameters: {}\n",
        if params.is_empty() {
            "none".to_string()
        } else {
            params.join(", ")
        }
    ));
    if let Some(body) = &a.spec.body {
        out.push_str(&format!("  body: {}\n", body.content_type));
    }
    out.push_str(&format!(
        "  tokens: {} (its OpenAI tool definition, o200k_base)\n",
        tools::tokens(a)
    ));
    let mark = |field: &str| {
        if a.hand_set.iter().any(|f| f == field) {
            " (set by hand)"
        } else {
            ""
        }
    };
    let channels: Vec<&str> = a.hand.channels.iter().map(|c| c.as_str()).collect();
    out.push_str(&format!(
        "  channels: {}{}\n",
        channels.join(", "),
        mark("channels")
    ));
    out.push_str(&format!(
        "  segments: {}{}\n",
        if a.hand.segments.is_empty() {
            "everyone".to_string()
        } else {
            a.hand.segments.join(", ")
        },
        mark("segments")
    ));
    for (field, context) in &a.hand.magic_fields {
        let orphan = if a.spec.fills(field) {
            ""
        } else {
            " (orphaned: no such parameter)"
        };
        out.push_str(&format!("  magic: {field} ← {context}{orphan}\n"));
    }
    out.push_str(&format!(
        "  require confirmation: {}{}\n",
        a.hand.require_confirmation,
        mark("require_confirmation")
    ));
    out.push_str(&format!(
        "  enabled: {}{}\n",
        a.hand.enabled,
        mark("enabled")
    ));
    out.push_str(&format!(
        "  pinned at the top: {}{}\n",
        a.hand.pinned,
        mark("pinned")
    ));
    if !a.hand.tags.is_empty() {
        out.push_str(&format!(
            "  tags: {}{}\n",
            a.hand.tags.join(", "),
            mark("tags")
        ));
    }
    for (field, value) in &a.hand.pins {
        out.push_str(&format!("  pin {field}: {value}\n"));
    }
    for entry in audit {
        out.push_str(&format!(
            "  edited {} by {}: {} {} → {}\n",
            format_time(entry.at),
            entry.actor,
            entry.field,
            entry.old,
            entry.new
        ));
    }
    out
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
                Output::Json => print_json(&serde_json::json!({ "revision": revision })),
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
        let outcome = sync::rollback(&store, &source, args.to, options)
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, Failure>((source, outcome))
    });
    let (source, (outcome, _)) = result?;
    let refused = matches!(outcome, Outcome::Refused { .. });
    eprintln!("{}: {}", source.name, describe(&outcome));
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

/// `push`, or `push (token:ci-billing)` when the revision knows who.
fn applied_by(revision: &store::Revision) -> String {
    match &revision.actor {
        Some(actor) => format!("{} ({actor})", revision.applied_by),
        None => revision.applied_by.clone(),
    }
}

/// A source as the catalogue recorded it, for commands that need one the config
/// no longer names.
fn stored_source(record: &store::SourceRecord) -> SourceSpec {
    let location = match record.kind.as_str() {
        "url" => url::Url::parse(&record.location)
            .map(crate::source::SpecLocation::Url)
            .unwrap_or_else(|_| crate::source::SpecLocation::File(record.location.clone().into())),
        "file" | "dir" => crate::source::SpecLocation::File(record.location.clone().into()),
        _ => crate::source::SpecLocation::Bytes {
            name: record.name.clone(),
            bytes: Vec::new(),
        },
    };
    SourceSpec {
        name: record.name.clone(),
        kind: record.kind.clone(),
        location,
        load: crate::source::LoadOptions::default(),
        convert: crate::convert::ConvertOptions {
            source: record.name.clone(),
            ..Default::default()
        },
        max_removed_share: plan::DEFAULT_MAX_REMOVED_SHARE,
        name_prefix: None,
    }
}

pub(super) fn print_json(value: &Value) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match super::write_json(&mut out, value) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(format!("cannot write the output: {e}"))
        }
        _ => Ok(()),
    }
}

pub(super) fn print_text(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(format!("cannot write the output: {e}"))
        }
        _ => Ok(()),
    }
}

/// `2026-11-25 18:20:15Z` from milliseconds since the Unix epoch (UTC).
pub fn format_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_times() {
        assert_eq!(format_time(0), "1970-01-01 00:00:00Z");
        assert_eq!(format_time(1_795_630_815_000), "2026-11-25 18:20:15Z");
        assert_eq!(format_time(951_782_400_000), "2000-02-29 00:00:00Z");
    }
}
