//! `actionsync actions list|show|set`: the catalogue's actions and their
//! hand-owned fields.

use std::collections::BTreeMap;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::Value;

use super::catalogue::{
    CatalogueArgs, DataOutput, Failure, find, format_time, load_config, open_existing, parse_pair,
    print_json, print_text, runtime,
};
use crate::action::{ActionState, Channel, StoredAction};
use crate::store::{self, ActionQuery, HandEdit, Store, StoreError};
use crate::tools;

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
                    DataOutput::Json => print_json(&super::Keyed("actions", &actions)),
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
