//! The command line. `main.rs` calls [`run`]; each subcommand lives in its own file.
//!
//! Exit codes: 0 done (warnings allowed), 1 failed (unreadable spec, lint errors,
//! a refused plan, or any error diagnostic under `--strict`; `test`: no 2xx), 2
//! changes planned (`push --dry-run`, `plan --detailed-exitcode`), 3 (`test`) a 2xx
//! whose body does not match the spec's response schema, 64 usage error (sysexits'
//! `EX_USAGE`: a mistyped flag in CI must not read as "changes planned").

mod actions;
mod backup;
mod catalogue;
mod convert;
mod export;
mod history;
mod lint;
mod push;
mod reconcile;
mod rollback;
mod serve;
mod sources;
mod table;
mod test;
mod token;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use url::Url;

use crate::convert::schema::SchemaBudget;
use crate::convert::{ConvertOptions, Selection};
use crate::source::{LoadOptions, SpecLocation};

/// Keeps an AI support agent's Actions catalogue in sync with OpenAPI specs.
#[derive(Debug, Parser)]
#[command(name = "actionsync", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the service: reconcile every source, then watch files, poll URLs and
    /// serve health and metrics over HTTP, until SIGTERM or Ctrl-C.
    Serve(serve::ServeArgs),
    /// Convert one spec into actions and print them (no database).
    Convert(convert::ConvertArgs),
    /// Check specs for problems that would make bad actions: names, descriptions,
    /// duplicates across specs, http URLs, missing servers.
    Lint(lint::LintArgs),
    /// Show what reconciling would change in the catalogue, field by field.
    Plan(reconcile::PlanArgs),
    /// Apply the specs to the catalogue (one revision per changed source).
    Reconcile(reconcile::ReconcileArgs),
    /// List, show and set the hand-owned fields of actions.
    Actions(actions::ActionsArgs),
    /// The revisions applied to each source, or one revision's plan.
    History(history::HistoryArgs),
    /// Apply an earlier revision's spec again, as a new revision.
    Rollback(rollback::RollbackArgs),
    /// Copy the SQLite catalogue to a new file, consistently, even while serve
    /// runs (for PostgreSQL, use pg_dump).
    Backup(backup::BackupArgs),
    /// Send a spec to a running `actionsync serve` (CI on deploy): it plans and
    /// applies it, or with --dry-run only plans, and answers the plan.
    Push(push::PushArgs),
    /// Write the catalogue as tool definitions an LLM takes (OpenAI, Anthropic, MCP,
    /// native), filtered by channel and segments like the server's /v1/tools; the
    /// count and token total go to standard error.
    Export(export::ExportArgs),
    /// Call one action as the platform would (placeholder context headers, the
    /// global variables, HTTPS, 60 s, no retries) and check the answer against the
    /// spec's response schema.
    Test(test::TestArgs),
    /// Create, list and revoke the API's bearer tokens.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// List sources; pause one (read and planned, never applied) or resume it.
    #[command(subcommand)]
    Sources(sources::SourcesCommand),
}

/// The exit code of a usage error (sysexits' `EX_USAGE`); 2 means "changes planned".
pub const USAGE_ERROR: u8 = 64;

/// Methods a filter may name.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Options shared by every command that reads specs.
#[derive(Debug, Clone, Args)]
pub struct SpecArgs {
    /// Base URL for every action: replaces the spec's root server; relative
    /// servers are resolved against it.
    #[arg(long, value_name = "URL", env = "ACTIONSYNC_BASE_URL")]
    base_url: Option<Url>,
    /// Accept http:// servers (the platform calls HTTPS only: for local tests).
    #[arg(long)]
    allow_http: bool,
    /// Follow $refs to other sites.
    #[arg(long)]
    allow_remote_refs: bool,
    /// Follow $refs to files outside the spec's folder.
    #[arg(long)]
    allow_outside_refs: bool,
    /// Largest document to read (bytes, or with a K/M/G/KiB/MiB/GiB suffix).
    #[arg(long, value_name = "SIZE", default_value = "64MiB", value_parser = parse_size)]
    max_size: usize,
    #[command(flatten)]
    filters: FilterArgs,
    #[command(flatten)]
    budget: BudgetArgs,
}

/// Limits on each action's tool schema; what does not fit is cut, with a warning.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Schema budget (per action)")]
pub struct BudgetArgs {
    /// Deepest nesting level of a tool's schema, its root being level 1 (2 to 10)
    /// [default: 10]
    #[arg(long, value_name = "LEVELS", value_parser = clap::value_parser!(u64).range(2..=10))]
    max_depth: Option<u64>,
    /// Largest schema of one tool, parameters and body together (256 bytes to 16KiB)
    /// [default: 16KiB]
    #[arg(long, value_name = "SIZE", value_parser = parse_tool_bytes)]
    max_tool_bytes: Option<usize>,
    /// Properties one object may list; the required ones are kept first [default: 100]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_properties: Option<u64>,
    /// Values one enum may list [default: 250]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_enum: Option<u64>,
    /// Branches one oneOf/anyOf may have [default: 16]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_union: Option<u64>,
}

impl BudgetArgs {
    /// The default budget with the flags given laid over it.
    fn budget(&self) -> SchemaBudget {
        let default = SchemaBudget::default();
        let or = |flag: Option<u64>, default: usize| {
            flag.map_or(default, |v| usize::try_from(v).unwrap_or(usize::MAX))
        };
        SchemaBudget {
            max_depth: or(self.max_depth, default.max_depth),
            max_bytes: self.max_tool_bytes.unwrap_or(default.max_bytes),
            max_properties: or(self.max_properties, default.max_properties),
            max_enum: or(self.max_enum, default.max_enum),
            max_union: or(self.max_union, default.max_union),
        }
    }
}

/// Parses `--max-tool-bytes`: a size from 256 bytes to 16KiB.
fn parse_tool_bytes(text: &str) -> Result<usize, String> {
    let bytes = parse_size(text)?;
    if (256..=SchemaBudget::MAX_BYTES).contains(&bytes) {
        Ok(bytes)
    } else {
        Err(format!(
            "{bytes} bytes is outside 256 to {} (16KiB)",
            SchemaBudget::MAX_BYTES
        ))
    }
}

/// Which operations become actions. Each takes a comma-separated list and may repeat.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Selection")]
pub struct FilterArgs {
    /// Keep only operations with one of these tags.
    #[arg(long, value_name = "TAG", value_delimiter = ',')]
    include_tag: Vec<String>,
    /// Leave out operations with any of these tags.
    #[arg(long, value_name = "TAG", value_delimiter = ',')]
    exclude_tag: Vec<String>,
    /// Keep only these methods.
    #[arg(long, value_name = "METHOD", value_delimiter = ',', ignore_case = true, value_parser = METHODS)]
    include_method: Vec<String>,
    /// Leave out these methods.
    #[arg(long, value_name = "METHOD", value_delimiter = ',', ignore_case = true, value_parser = METHODS)]
    exclude_method: Vec<String>,
    /// Keep only paths matching one of these globs (`*` within a segment, `**` across).
    #[arg(long, value_name = "GLOB", value_delimiter = ',')]
    include_path: Vec<String>,
    /// Leave out paths matching any of these globs.
    #[arg(long, value_name = "GLOB", value_delimiter = ',')]
    exclude_path: Vec<String>,
    /// Keep only operationIds matching one of these globs.
    #[arg(long, value_name = "GLOB", value_delimiter = ',')]
    include_operation: Vec<String>,
    /// Leave out operationIds matching any of these globs.
    #[arg(long, value_name = "GLOB", value_delimiter = ',')]
    exclude_operation: Vec<String>,
}

impl SpecArgs {
    fn load_options(&self) -> LoadOptions {
        LoadOptions {
            max_bytes: self.max_size,
            allow_remote_refs: self.allow_remote_refs,
            allow_outside_refs: self.allow_outside_refs,
            http_timeout: Duration::from_secs(60),
        }
    }

    fn convert_options(&self, source: String) -> ConvertOptions {
        let f = &self.filters;
        ConvertOptions {
            source,
            base_url: self.base_url.clone(),
            allow_http: self.allow_http,
            selection: Selection {
                include_tags: f.include_tag.clone(),
                exclude_tags: f.exclude_tag.clone(),
                include_methods: f.include_method.clone(),
                exclude_methods: f.exclude_method.clone(),
                include_paths: f.include_path.clone(),
                exclude_paths: f.exclude_path.clone(),
                include_operations: f.include_operation.clone(),
                exclude_operations: f.exclude_operation.clone(),
            },
            budget: self.budget.budget(),
        }
    }
}

/// Writes `value` as pretty JSON and a newline. An I/O error keeps its kind, so a
/// closed pipe (`| head`) can be told from a real failure.
pub(crate) fn write_json(
    out: &mut impl std::io::Write,
    value: &impl serde::Serialize,
) -> std::io::Result<()> {
    crate::json_text::to_writer_pretty(&mut *out, value)?;
    writeln!(out)
}

/// `{"<key>": value}`, serialised straight from `value`: `json!({ "key": value })`
/// would copy all of it into a `Value` first (a first apply's plan of Microsoft
/// Graph is 11,320 actions' every field).
pub(crate) struct Keyed<'a, T: ?Sized>(pub &'static str, pub &'a T);

impl<T: serde::Serialize + ?Sized> serde::Serialize for Keyed<'_, T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(self.0, self.1)?;
        map.end()
    }
}

/// Parses `--source`: see [`crate::convert::is_valid_source_name`].
fn parse_source_name(name: &str) -> Result<String, String> {
    if crate::convert::is_valid_source_name(name) {
        Ok(name.to_string())
    } else {
        Err(
            "a source name is 1 to 64 of A-Z a-z 0-9 _ . - and starts with a letter or digit"
                .to_string(),
        )
    }
}

/// Turns a spec argument into a location, reading standard input for `-`.
fn location(arg: &str) -> Result<SpecLocation, String> {
    if arg == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        return Ok(SpecLocation::Bytes {
            name: "stdin".to_string(),
            bytes,
        });
    }
    Ok(SpecLocation::from_arg(arg))
}

/// Parses `65536`, `64K`, `64KiB`, `64M`, `64MiB`, `1G` (K = 1024).
fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    if number.is_empty() {
        return Err(format!(
            "`{text}` is not a size: write bytes, or a number with K, M or G"
        ));
    }
    let number: usize = number
        .parse()
        .map_err(|_| format!("`{text}` is too large"))?;
    let factor: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => return Err(format!("unknown size unit `{other}`: use K, M or G")),
    };
    number
        .checked_mul(factor)
        .ok_or_else(|| format!("`{text}` is too large"))
}

/// Parses the command line and runs the command.
pub fn run() -> ExitCode {
    crate::tls::install_provider();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(USAGE_ERROR),
            };
        }
    };
    let result = match cli.command {
        Command::Serve(args) => serve::run(&args),
        Command::Convert(args) => convert::run(&args),
        Command::Lint(args) => lint::run(&args),
        Command::Plan(args) => reconcile::plan(&args),
        Command::Reconcile(args) => reconcile::reconcile(&args),
        Command::Actions(args) => actions::actions(&args),
        Command::History(args) => history::history(&args),
        Command::Rollback(args) => rollback::rollback(&args),
        Command::Backup(args) => backup::run(&args),
        Command::Push(args) => push::run(&args),
        Command::Export(args) => export::run(&args),
        Command::Test(args) => test::run(&args),
        Command::Token(command) => token::run(&command),
        Command::Sources(command) => sources::run(&command),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("2k"), Ok(2048));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("3 parsecs").is_err());
        assert!(
            parse_size("99999999999999999999G")
                .unwrap_err()
                .contains("too large")
        );
    }

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
