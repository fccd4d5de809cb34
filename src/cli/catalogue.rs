//! What the commands that use the catalogue share (`plan`, `reconcile`, `actions`, `history`,
//! `rollback`. Each opens the catalogue from `--database`, `ACTIONSYNC_DATABASE_URL`,
//! the config's `database`, or `sqlite://actionsync.db` next to the config.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::action::StoredAction;
use crate::config::{self, Config};
use crate::plan;
use crate::store::{self, AnyStore, Store};
use crate::sync::SourceSpec;

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

pub(super) fn select_sources(
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

/// A source as the catalogue recorded it, for commands that need one the config
/// no longer names.
pub(super) fn stored_source(record: &store::SourceRecord) -> SourceSpec {
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

pub(super) fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
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
