//! `actionsync export`: the catalogue as tool definitions an LLM takes, read offline.
//! It writes the same document as the server's `GET /v1/tools` for the same format,
//! channel and segments, so a deployment without the server can ship a file instead.
//! What the document costs (how many tools, their tokens in all) goes to standard
//! error, like the server's `X-Tool-Count` and `X-Tool-Tokens` headers; the native
//! format also carries each tool's count.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use serde_json::Value;

use super::catalogue::{CatalogueArgs, Failure, load_config, open_existing, print_json, runtime};
use crate::action::{ActionState, Channel};
use crate::lint;
use crate::store::{ActionQuery, Store};
use crate::tools::{self, Audience, ToolFormat};

/// `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The shape of the tools (`--output` is a format in every command; the file
    /// is `--out`).
    #[arg(long, value_enum, value_name = "FORMAT", alias = "format")]
    output: ToolFormat,
    /// OpenAI strict mode (with --output openai): `"strict": true`, every property
    /// required and the optional ones nullable, no other properties allowed. Fails,
    /// naming each action and why, if a tool cannot be strict.
    #[arg(long)]
    strict: bool,
    /// Only actions enabled on this channel: widget, email, sms, whatsapp, phone or
    /// slack (default: any channel).
    #[arg(long, value_name = "CHANNEL", value_parser = Channel::parse_or_explain)]
    channel: Option<Channel>,
    /// Only what a contact in these segments sees (comma-separated): actions open to
    /// everyone and those restricted to one of these. Without this flag (or
    /// --no-segments), the actions of every segment are included.
    #[arg(
        long,
        value_name = "SEGMENT",
        value_delimiter = ',',
        conflicts_with = "no_segments"
    )]
    segments: Option<Vec<String>>,
    /// Only what a contact in no segment sees: the actions open to everyone.
    #[arg(long)]
    no_segments: bool,
    /// Only this source's actions.
    #[arg(long, value_name = "NAME")]
    source: Option<String>,
    /// Write to FILE instead of standard output. The file is replaced whole, never
    /// left half-written.
    #[arg(long, short = 'o', value_name = "FILE")]
    out: Option<PathBuf>,
    #[command(flatten)]
    catalogue: CatalogueArgs,
}

/// `actionsync export`.
pub fn run(args: &ExportArgs) -> Result<ExitCode, Failure> {
    if args.strict && args.output != ToolFormat::Openai {
        eprintln!(
            "error: --strict is OpenAI's strict mode: use it with --output openai, not {}",
            args.output
        );
        return Ok(ExitCode::from(super::USAGE_ERROR));
    }
    let config = load_config(&args.catalogue)?;
    let audience = Audience {
        channel: args.channel,
        segments: if args.no_segments {
            Some(Vec::new())
        } else {
            args.segments.clone()
        },
    };
    let actions = runtime()?.block_on(async {
        let store = open_existing(&config).await?;
        // An unknown source would export an empty list that looks like a valid answer.
        if let Some(source) = &args.source
            && store
                .source(source)
                .await
                .map_err(|e| e.to_string())?
                .is_none()
        {
            return Err(format!(
                "no source named `{source}` in the catalogue (see `actionsync history`)"
            ));
        }
        let query = ActionQuery {
            source: args.source.clone(),
            state: Some(ActionState::Active),
            ..ActionQuery::default()
        };
        store.actions(&query).await.map_err(|e| e.to_string())
    })?;
    let chosen = tools::select(&actions, &audience);
    let count = chosen.len();
    let costs: Vec<usize> = chosen.iter().map(|a| tools::tokens(a)).collect();
    let tokens: usize = costs.iter().sum();
    let rendered: Vec<Value> = if args.strict {
        let (strict, refused): (Vec<_>, Vec<_>) = chosen
            .iter()
            .map(|a| tools::strict_tool(a))
            .partition(Result::is_ok);
        if !refused.is_empty() {
            let mut message = format!(
                "{} of the {count} tools cannot be strict; nothing was written. Fix their schemas in the spec (or pin parameters/body), or export without --strict:",
                refused.len()
            );
            for why in refused.into_iter().filter_map(Result::err) {
                message.push_str(&format!("\n  {why}"));
            }
            return Err(message);
        }
        strict.into_iter().filter_map(Result::ok).collect()
    } else if args.output == ToolFormat::Native {
        // Counted once, above.
        chosen
            .iter()
            .zip(&costs)
            .map(|(a, t)| tools::native(a, *t))
            .collect()
    } else {
        chosen.iter().map(|a| tools::tool(a, args.output)).collect()
    };
    let document = tools::document(args.output, rendered);
    // The same limits lint checks, for the one audience exported.
    let mut warnings = Vec::new();
    if count > lint::MAX_TOOLS {
        warnings.push(format!(
            "warning: {count} tools; OpenAI and Vertex take at most {} per request",
            lint::MAX_TOOLS
        ));
    }
    if tokens > config.token_budget.audience_tokens {
        warnings.push(format!(
            "warning: {tokens} tokens, over the budget of {} for one audience (budget.audience_tokens)",
            config.token_budget.audience_tokens
        ));
    }
    let what = format!(
        "{count} {}{} tool{}, {tokens} tokens (o200k_base)",
        args.output,
        if args.strict { " strict" } else { "" },
        if count == 1 { "" } else { "s" },
    );
    match &args.out {
        None => {
            print_json(&document)?;
            eprintln!("{what} for {}", audience_text(&audience));
        }
        Some(path) => {
            write_replacing(path, &document)?;
            eprintln!(
                "wrote {what} to {} for {}",
                path.display(),
                audience_text(&audience)
            );
        }
    }
    for warning in warnings {
        eprintln!("{warning}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Who the export is for, as the summary on standard error says it.
fn audience_text(audience: &Audience) -> String {
    let channel = match audience.channel {
        Some(channel) => format!("channel {}", channel.as_str()),
        None => "any channel".to_string(),
    };
    let segments = match &audience.segments {
        None => "every segment".to_string(),
        Some(s) if s.is_empty() => "a contact in no segment".to_string(),
        Some(s) => format!("segments {}", s.join(",")),
    };
    format!("{channel}, {segments}")
}

/// Writes `document` as pretty JSON to a temporary file beside `path`, then renames
/// it over `path`: a reader (or a crash) never sees a half-written file, and the
/// rename stays on one file system.
fn write_replacing(path: &Path, document: &Value) -> Result<(), Failure> {
    let mut bytes = Vec::new();
    super::write_json(&mut bytes, document)
        .map_err(|e| format!("cannot serialise the tools: {e}"))?;
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| format!("--out {}: name a file, not a folder", path.display()))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(file_name);
    temp_name.push(format!(".{}.tmp", std::process::id()));
    let temp = folder.join(temp_name);

    let written = std::fs::File::create(&temp).and_then(|mut file| {
        file.write_all(&bytes)?;
        // Durable before the rename, so the new name never points at lost data.
        file.sync_all()
    });
    let result = written.and_then(|()| std::fs::rename(&temp, path));
    if let Err(e) = result {
        // The temporary file is ours alone (named after this process); leave nothing.
        let _ = std::fs::remove_file(&temp);
        return Err(format!("cannot write {}: {e}", path.display()));
    }
    Ok(())
}
