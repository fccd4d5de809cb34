//! `actionsync.yaml`: the database, the sources and their options.
//!
//! ```yaml
//! database: sqlite://actionsync.db     # or postgres://…; relative paths are next to this file
//! defaults:                             # for every source, unless it says otherwise
//!   base_url: https://api.acme.example
//!   max_removed_share: 0.5
//! sources:
//!   - name: billing
//!     file: specs/billing.yaml
//!     include_tags: [billing]
//!   - dir: specs/                       # each spec file in it is a source named after the file
//!   - name: petstore
//!     url: https://petstore.example.com/openapi.json
//!     headers:
//!       Authorization: {env: PETSTORE_TOKEN}   # secrets only from the environment
//!   - name: payments                    # specs pushed by CI (actionsync push)
//!     push: true
//!     max_removed_share: 0.2
//!     schema_budget: {max_depth: 8, max_bytes: 8192}   # tighter tool schemas
//! token_budget:                         # what lint and export warn past, in tokens
//!   tool_tokens: 4000                   # one tool's definition
//!   audience_tokens: 20000              # every tool one audience is sent, in all
//! test:                                 # how `actionsync test` calls actions (crate::call)
//!   global_variables:
//!     Authorization: {env: ACME_AUTHORIZATION}   # values only from the environment or a file
//! ```
//!
//! Every value can come from the environment: `ACTIONSYNC_DATABASE_URL`,
//! `ACTIONSYNC_BASE_URL` and `ACTIONSYNC_MAX_REMOVED_SHARE` override the file's
//! `database` and defaults; `ACTIONSYNC_TOOL_TOKENS` and
//! `ACTIONSYNC_AUDIENCE_TOKENS` its `budget`; `ACTIONSYNC_SOURCE_<NAME>_BASE_URL`,
//! `…_MAX_REMOVED_SHARE`, `…_FILE` and `…_URL` override one source's (the name in
//! capitals, other characters as `_`). The schema budget's defaults come from
//! `ACTIONSYNC_SCHEMA_MAX_DEPTH`, `…_MAX_BYTES`, `…_MAX_PROPERTIES`, `…_MAX_ENUM`
//! and `…_MAX_UNION`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use url::Url;

use crate::convert::schema::SchemaBudget;
use crate::convert::{ConvertOptions, Selection, is_valid_source_name};
use crate::lint::Budget;
use crate::plan::DEFAULT_MAX_REMOVED_SHARE;
use crate::source::{LoadOptions, SpecLocation};
use crate::sync::SourceSpec;

/// The file names looked for in the working folder when `--config` is not given.
pub const DEFAULT_FILES: [&str; 2] = ["actionsync.yaml", "actionsync.yml"];

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the config {path}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The file is not valid.
    #[error("invalid config {path}: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong, with the line and column when known.
        reason: String,
    },
}

/// The parsed file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Database URL.
    pub database: Option<String>,
    /// Address the daemon's HTTP server listens on.
    pub listen: Option<String>,
    /// Options every source takes unless it says otherwise.
    #[serde(default)]
    pub defaults: SourceOptions,
    /// The sources.
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
    /// What the tool list may cost before lint and export warn.
    #[serde(default)]
    pub token_budget: Budget,
    /// How `actionsync test` and `POST /v1/actions/{id}/test` call actions.
    #[serde(default)]
    pub test: crate::call::TestSettings,
    /// Rate limits on the API, per token and per client address.
    #[serde(default)]
    pub rate_limit: RateLimits,
    /// The folder relative paths are taken from (the file's folder).
    #[serde(skip)]
    pub base_dir: PathBuf,
    /// The file it was read from, if any.
    #[serde(skip)]
    pub path: Option<PathBuf>,
}

/// Options of a source, or defaults for every source.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SourceOptions {
    /// Replaces the spec's root server; relative servers resolve against it.
    pub base_url: Option<Url>,
    /// Accept `http://` servers.
    pub allow_http: Option<bool>,
    /// Follow `$ref`s to other sites.
    pub allow_remote_refs: Option<bool>,
    /// Follow `$ref`s out of the spec's folder.
    pub allow_outside_refs: Option<bool>,
    /// The removal guard: largest share (0 to 1) of active actions a plan may remove.
    pub max_removed_share: Option<f64>,
    /// Largest document, in bytes.
    pub max_size: Option<usize>,
    /// What an action's name is prefixed with when another source has it
    /// (default: the source's name as tool-name characters).
    pub name_prefix: Option<String>,
    /// Limits on each action's tool schema.
    #[serde(default)]
    pub schema_budget: BudgetOptions,
    /// Which operations become actions.
    #[serde(flatten)]
    pub selection: Selection,
}

/// Limits on each action's tool schema ([`SchemaBudget`]); a limit a source does
/// not set comes from `defaults`, then from the built-in defaults.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetOptions {
    /// Deepest nesting level (the tool's input schema is level 1), 2 to 10.
    pub max_depth: Option<usize>,
    /// Bytes of one tool's parameter and body schemas together, 256 to 16384.
    pub max_bytes: Option<usize>,
    /// Properties one object may list.
    pub max_properties: Option<usize>,
    /// Values one `enum` may list.
    pub max_enum: Option<usize>,
    /// Branches one `oneOf`/`anyOf` may have.
    pub max_union: Option<usize>,
}

impl BudgetOptions {
    /// Each limit this sets, else `defaults`'.
    fn or(self, defaults: BudgetOptions) -> BudgetOptions {
        BudgetOptions {
            max_depth: self.max_depth.or(defaults.max_depth),
            max_bytes: self.max_bytes.or(defaults.max_bytes),
            max_properties: self.max_properties.or(defaults.max_properties),
            max_enum: self.max_enum.or(defaults.max_enum),
            max_union: self.max_union.or(defaults.max_union),
        }
    }

    /// The budget in force: these limits over the built-in defaults.
    pub fn budget(self) -> SchemaBudget {
        let default = SchemaBudget::default();
        SchemaBudget {
            max_depth: self.max_depth.unwrap_or(default.max_depth),
            max_bytes: self.max_bytes.unwrap_or(default.max_bytes),
            max_properties: self.max_properties.unwrap_or(default.max_properties),
            max_enum: self.max_enum.unwrap_or(default.max_enum),
            max_union: self.max_union.unwrap_or(default.max_union),
        }
    }
}

/// A header sent when fetching a URL source; its value comes from the environment.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderValue {
    /// The environment variable holding the value.
    pub env: String,
}

/// The config's `rate_limit`: requests per second, each with a burst; 0 turns a
/// limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimits {
    /// Requests per second one token may make, sustained.
    pub per_token: u32,
    /// Requests per second one client address may make, sustained.
    pub per_address: u32,
    /// How many requests beyond the rate each may make at once.
    pub burst: u32,
}

impl Default for RateLimits {
    /// Far above what CI and curators do (a deploy pushes a handful of specs; the
    /// AI runtime reads tools once a conversation), well below what would starve
    /// the server.
    fn default() -> Self {
        RateLimits {
            per_token: 50,
            per_address: 100,
            burst: 200,
        }
    }
}

/// One entry of `sources`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SourceConfig {
    /// Source name (for `dir`, the names come from the files).
    pub name: Option<String>,
    /// A spec file.
    pub file: Option<PathBuf>,
    /// A folder: each spec file in it is a source named after the file.
    pub dir: Option<PathBuf>,
    /// A spec URL.
    pub url: Option<Url>,
    /// Headers sent when fetching `url`, from environment variables.
    #[serde(default)]
    pub headers: BTreeMap<String, HeaderValue>,
    /// Poll interval for `url` (`5m`, `30s`, `1h`).
    pub every: Option<String>,
    /// Poll schedule for `url`, crontab syntax with five fields.
    pub cron: Option<String>,
    /// A source whose specs arrive over HTTP (`PUT /v1/sources/{name}/spec`), with
    /// these options. A push to a name not in the config takes the defaults.
    pub push: Option<bool>,
    /// Options.
    #[serde(flatten)]
    pub options: SourceOptions,
}

impl Config {
    /// Reads `path`, or the default file in `cwd` if `path` is `None` (and none is
    /// fine: the result is empty). Environment overrides are applied.
    pub fn load(path: Option<&Path>, cwd: &Path) -> Result<Config, ConfigError> {
        let found = match path {
            Some(p) => Some(p.to_path_buf()),
            None => DEFAULT_FILES
                .iter()
                .map(|f| cwd.join(f))
                .find(|p| p.is_file()),
        };
        let mut config = match &found {
            None => Config::default(),
            Some(file) => {
                let display = file.display().to_string();
                let text = std::fs::read_to_string(file).map_err(|e| ConfigError::Read {
                    path: display.clone(),
                    reason: e.to_string(),
                })?;
                let mut config: Config = if text.trim().is_empty() {
                    Config::default()
                } else {
                    parse(&text).map_err(|reason| ConfigError::Invalid {
                        path: display.clone(),
                        reason,
                    })?
                };
                config.base_dir = file
                    .parent()
                    .map(|p| {
                        if p.as_os_str().is_empty() {
                            cwd.to_path_buf()
                        } else {
                            p.to_path_buf()
                        }
                    })
                    .unwrap_or_else(|| cwd.to_path_buf());
                config.path = Some(file.clone());
                config
            }
        };
        if found.is_none() {
            config.base_dir = cwd.to_path_buf();
        }
        config.apply_environment(|k| std::env::var(k).ok())?;
        config.validate()?;
        Ok(config)
    }

    fn display(&self) -> String {
        self.path
            .as_ref()
            .map_or_else(|| "(environment)".to_string(), |p| p.display().to_string())
    }

    fn invalid(&self, reason: String) -> ConfigError {
        ConfigError::Invalid {
            path: self.display(),
            reason,
        }
    }

    /// Applies `ACTIONSYNC_*` overrides read through `var`.
    pub fn apply_environment(
        &mut self,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        if let Some(url) = var("ACTIONSYNC_DATABASE_URL") {
            self.database = Some(url);
        }
        if let Some(listen) = var("ACTIONSYNC_LISTEN") {
            self.listen = Some(listen);
        }
        for (name, field) in [
            ("ACTIONSYNC_TOOL_TOKENS", &mut self.token_budget.tool_tokens),
            (
                "ACTIONSYNC_AUDIENCE_TOKENS",
                &mut self.token_budget.audience_tokens,
            ),
        ] {
            if let Some(v) = var(name) {
                *field = v
                    .trim()
                    .parse::<usize>()
                    .map_err(|_| ConfigError::Invalid {
                        path: self.path.as_ref().map_or_else(
                            || "(environment)".to_string(),
                            |p| p.display().to_string(),
                        ),
                        reason: format!("{name}={v:?} is not a number of tokens"),
                    })?;
            }
        }
        for (name, field) in [
            (
                "ACTIONSYNC_RATE_LIMIT_PER_TOKEN",
                &mut self.rate_limit.per_token,
            ),
            (
                "ACTIONSYNC_RATE_LIMIT_PER_ADDRESS",
                &mut self.rate_limit.per_address,
            ),
            ("ACTIONSYNC_RATE_LIMIT_BURST", &mut self.rate_limit.burst),
        ] {
            if let Some(v) = var(name) {
                *field = v.trim().parse::<u32>().map_err(|_| ConfigError::Invalid {
                    path: self
                        .path
                        .as_ref()
                        .map_or_else(|| "(environment)".to_string(), |p| p.display().to_string()),
                    reason: format!("{name}={v:?} is not a number of requests (0 turns it off)"),
                })?;
            }
        }
        let parse_url = |name: &str, value: String| {
            Url::parse(&value)
                .map_err(|e| self.invalid(format!("{name}={value:?} is not a URL: {e}")))
        };
        let parse_share = |name: &str, value: String| {
            value.parse::<f64>().map_err(|_| {
                self.invalid(format!("{name}={value:?} is not a number between 0 and 1"))
            })
        };
        let mut defaults = self.defaults.clone();
        if let Some(v) = var("ACTIONSYNC_BASE_URL") {
            defaults.base_url = Some(parse_url("ACTIONSYNC_BASE_URL", v)?);
        }
        if let Some(v) = var("ACTIONSYNC_MAX_REMOVED_SHARE") {
            defaults.max_removed_share = Some(parse_share("ACTIONSYNC_MAX_REMOVED_SHARE", v)?);
        }
        let budget = &mut defaults.schema_budget;
        for (suffix, limit) in [
            ("MAX_DEPTH", &mut budget.max_depth),
            ("MAX_BYTES", &mut budget.max_bytes),
            ("MAX_PROPERTIES", &mut budget.max_properties),
            ("MAX_ENUM", &mut budget.max_enum),
            ("MAX_UNION", &mut budget.max_union),
        ] {
            let name = format!("ACTIONSYNC_SCHEMA_{suffix}");
            if let Some(v) = var(&name) {
                *limit =
                    Some(v.trim().parse::<usize>().map_err(|_| {
                        self.invalid(format!("{name}={v:?} is not a whole number"))
                    })?);
            }
        }
        let mut sources = self.sources.clone();
        for source in &mut sources {
            let Some(name) = &source.name else { continue };
            let prefix = format!("ACTIONSYNC_SOURCE_{}_", env_name(name));
            if let Some(v) = var(&format!("{prefix}BASE_URL")) {
                source.options.base_url = Some(parse_url(&format!("{prefix}BASE_URL"), v)?);
            }
            if let Some(v) = var(&format!("{prefix}MAX_REMOVED_SHARE")) {
                source.options.max_removed_share =
                    Some(parse_share(&format!("{prefix}MAX_REMOVED_SHARE"), v)?);
            }
            if let Some(v) = var(&format!("{prefix}FILE")) {
                source.file = Some(PathBuf::from(v));
            }
            if let Some(v) = var(&format!("{prefix}URL")) {
                source.url = Some(parse_url(&format!("{prefix}URL"), v)?);
            }
        }
        self.defaults = defaults;
        self.sources = sources;
        self.test
            .apply_environment(&var)
            .map_err(|reason| self.invalid(reason))?;
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.token_budget.tool_tokens == 0 || self.token_budget.audience_tokens == 0 {
            return Err(self.invalid(
                "token_budget: tool_tokens and audience_tokens are numbers of tokens above 0"
                    .to_string(),
            ));
        }
        let shares = std::iter::once(&self.defaults).chain(self.sources.iter().map(|s| &s.options));
        for options in shares.clone() {
            options
                .schema_budget
                .or(self.defaults.schema_budget)
                .budget()
                .check()
                .map_err(|e| self.invalid(format!("schema_budget: {e}")))?;
        }
        if self.defaults.name_prefix.is_some() {
            return Err(self.invalid(
                "defaults: name_prefix is a source's own (one prefix for every source resolves no clash between them); set it on the sources".to_string(),
            ));
        }
        for options in shares.clone() {
            if let Some(prefix) = &options.name_prefix {
                check_name_prefix(prefix).map_err(|e| self.invalid(e))?;
            }
        }
        for options in shares {
            if let Some(share) = options.max_removed_share
                && !(0.0..=1.0).contains(&share)
            {
                return Err(self.invalid(format!(
                    "max_removed_share is {share}; it is a share between 0 and 1 (0.5 = 50 %)"
                )));
            }
        }
        for (i, source) in self.sources.iter().enumerate() {
            let kinds = [
                source.file.is_some(),
                source.dir.is_some(),
                source.url.is_some(),
                source.push == Some(true),
            ];
            let what = source
                .name
                .clone()
                .unwrap_or_else(|| format!("sources[{i}]"));
            match kinds.iter().filter(|k| **k).count() {
                1 => {}
                0 => {
                    return Err(
                        self.invalid(format!("{what} needs one of file, dir, url or push: true"))
                    );
                }
                _ => {
                    return Err(self.invalid(format!(
                        "{what} has more than one of file, dir, url and push; give one"
                    )));
                }
            }
            if source.dir.is_some() && source.name.is_some() {
                return Err(self.invalid(format!(
                    "{what}: a dir source takes its names from its files; remove `name`"
                )));
            }
            if source.dir.is_none() && source.name.is_none() && source.url.is_some() {
                return Err(self.invalid(format!("{what}: a url source needs a name")));
            }
            if source.push == Some(true) && source.name.is_none() {
                return Err(self.invalid(format!("{what}: a push source needs a name")));
            }
            if let Some(name) = &source.name
                && !is_valid_source_name(name)
            {
                return Err(self.invalid(format!(
                    "source name {name:?}: 1 to 64 of A-Z a-z 0-9 _ . -, starting with a letter or digit"
                )));
            }
            if source.url.is_none()
                && (source.every.is_some() || source.cron.is_some() || !source.headers.is_empty())
            {
                return Err(self.invalid(format!(
                    "{what}: every, cron and headers are for url sources"
                )));
            }
        }
        Ok(())
    }

    /// Every source, `dir` entries expanded into one source per spec file, in the
    /// order of the file. Names are unique.
    pub fn sources(&self) -> Result<Vec<SourceSpec>, ConfigError> {
        let mut out: Vec<SourceSpec> = Vec::new();
        for entry in &self.sources {
            let options = merge(&self.defaults, &entry.options);
            if let Some(dir) = &entry.dir {
                let dir = self.base_dir.join(dir);
                for file in spec_files(&dir).map_err(|reason| self.invalid(reason))? {
                    let location = SpecLocation::File(file);
                    let name = location.default_source_name();
                    out.push(source_spec(name, "dir", location, &options, entry));
                }
            } else if let Some(file) = &entry.file {
                let location = SpecLocation::File(self.base_dir.join(file));
                let name = entry
                    .name
                    .clone()
                    .unwrap_or_else(|| location.default_source_name());
                out.push(source_spec(name, "file", location, &options, entry));
            } else if let (Some(url), Some(name)) = (&entry.url, &entry.name) {
                out.push(source_spec(
                    name.clone(),
                    "url",
                    SpecLocation::Url(url.clone()),
                    &options,
                    entry,
                ));
            }
        }
        let mut seen = std::collections::HashMap::new();
        for s in &out {
            if let Some(previous) = seen.insert(s.name.clone(), s.location.display()) {
                return Err(self.invalid(format!(
                    "two sources are named `{}` ({previous} and {}); give one a name of its own",
                    s.name,
                    s.location.display()
                )));
            }
        }
        Ok(out)
    }

    /// The file, URL or folder source called `name`, with its options; a folder
    /// that cannot be read (or another entry's problem) does not hide the others.
    pub fn named_source(&self, name: &str) -> Option<SourceSpec> {
        self.sources.iter().find_map(|entry| {
            let single = Config {
                sources: vec![entry.clone()],
                ..self.clone()
            };
            single.sources().ok()?.into_iter().find(|s| s.name == name)
        })
    }

    /// How to reconcile a spec pushed to source `name`: a `push: true` entry's
    /// options, else the defaults. `None` if the config reads the source from a
    /// file, folder or URL: a push would fight the watcher.
    pub fn push_source(&self, name: &str, bytes: Vec<u8>) -> Option<SourceSpec> {
        let entry = self
            .sources
            .iter()
            .find(|e| e.name.as_deref() == Some(name));
        if entry.is_some_and(|e| e.push != Some(true)) {
            return None;
        }
        let default_entry = SourceConfig::default();
        let entry = entry.unwrap_or(&default_entry);
        let options = merge(&self.defaults, &entry.options);
        let location = SpecLocation::Bytes {
            name: format!("the spec pushed to `{name}`"),
            bytes,
        };
        Some(source_spec(
            name.to_string(),
            "push",
            location,
            &options,
            entry,
        ))
    }

    /// Source `name` with the defaults' options only, reading pushed bytes: for a
    /// source the config names but cannot start (its folder is gone).
    pub fn default_source(&self, name: &str) -> SourceSpec {
        let entry = SourceConfig::default();
        let location = SpecLocation::Bytes {
            name: format!("the spec pushed to `{name}`"),
            bytes: Vec::new(),
        };
        let options = merge(&self.defaults, &entry.options);
        source_spec(name.to_string(), "push", location, &options, &entry)
    }

    /// The database URL: the file's, else the default (a SQLite file next to the config).
    pub fn database_url(&self) -> String {
        self.database
            .clone()
            .unwrap_or_else(|| crate::store::DEFAULT_DATABASE_URL.to_string())
    }
}

/// Sources for paths given on the command line: a file is a source, a folder gives
/// one source per spec file in it. `defaults` apply to all.
pub fn sources_from_paths(
    paths: &[PathBuf],
    defaults: &SourceOptions,
) -> Result<Vec<SourceSpec>, ConfigError> {
    let config = Config {
        defaults: defaults.clone(),
        sources: paths
            .iter()
            .map(|p| {
                if p.is_dir() {
                    SourceConfig {
                        dir: Some(p.clone()),
                        ..SourceConfig::default()
                    }
                } else {
                    SourceConfig {
                        file: Some(p.clone()),
                        ..SourceConfig::default()
                    }
                }
            })
            .collect(),
        ..Config::default()
    };
    config.sources()
}

/// Keys a source's options may have (and `defaults`).
const OPTION_KEYS: &[&str] = &[
    "base_url",
    "allow_http",
    "allow_remote_refs",
    "allow_outside_refs",
    "max_removed_share",
    "max_size",
    "name_prefix",
    "schema_budget",
    "include_tags",
    "exclude_tags",
    "include_methods",
    "exclude_methods",
    "include_paths",
    "exclude_paths",
    "include_operations",
    "exclude_operations",
];
/// Keys only a source has.
const SOURCE_KEYS: &[&str] = &[
    "name", "file", "dir", "url", "headers", "every", "cron", "push",
];
/// Top-level keys.
const TOP_KEYS: &[&str] = &[
    "database",
    "listen",
    "defaults",
    "sources",
    "token_budget",
    "test",
    "rate_limit",
];

/// Parses the config's text, naming any key it does not know (serde cannot refuse
/// unknown keys in flattened structs, and a misspelt key must not pass silently).
pub fn parse(text: &str) -> Result<Config, String> {
    let value: serde_json::Value = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
    let unknown =
        |map: &serde_json::Map<String, serde_json::Value>, allowed: &[&[&str]], at: &str| {
            for key in map.keys() {
                if !allowed.iter().any(|list| list.contains(&key.as_str())) {
                    let known: Vec<&str> = allowed.iter().flat_map(|l| l.iter().copied()).collect();
                    return Err(format!(
                        "unknown key `{key}` in {at}; the keys are: {}",
                        known.join(", ")
                    ));
                }
            }
            Ok(())
        };
    if let Some(map) = value.as_object() {
        unknown(map, &[TOP_KEYS], "the config")?;
        if let Some(defaults) = map.get("defaults").and_then(|d| d.as_object()) {
            unknown(defaults, &[OPTION_KEYS], "defaults")?;
        }
        for (i, source) in map
            .get("sources")
            .and_then(|s| s.as_array())
            .into_iter()
            .flatten()
            .enumerate()
        {
            if let Some(source) = source.as_object() {
                unknown(
                    source,
                    &[SOURCE_KEYS, OPTION_KEYS],
                    &format!("sources[{i}]"),
                )?;
            }
        }
    }
    serde_yaml::from_str(text).map_err(|e| e.to_string())
}

/// A duration as people write it in a config or a flag: `300ms`, `30s`, `5m`, `1h`, `1d`.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    use std::time::Duration;
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| {
        format!(
            "{text:?} is not a duration: write a number and a unit, such as 300ms, 30s, 5m or 1h"
        )
    })?;
    let seconds = |factor: u64| Duration::from_secs(number.saturating_mul(factor));
    Ok(match unit.trim() {
        "ms" => Duration::from_millis(number),
        "s" => seconds(1),
        "m" => seconds(60),
        "h" => seconds(3600),
        "d" => seconds(86_400),
        other => {
            return Err(format!(
                "{text:?}: unknown unit {other:?}; use ms, s, m, h or d"
            ));
        }
    })
}

/// `orders-v2` → `ORDERS_V2`.
pub fn env_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// A name prefix is 1 to 32 of the characters a tool name may have.
pub fn check_name_prefix(prefix: &str) -> Result<(), String> {
    let fine = (1..=32).contains(&prefix.len())
        && prefix
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if fine {
        Ok(())
    } else {
        Err(format!(
            "name_prefix `{prefix}`: use 1 to 32 characters of a-z, 0-9 and _ (it starts a tool name)"
        ))
    }
}

fn merge(defaults: &SourceOptions, own: &SourceOptions) -> SourceOptions {
    SourceOptions {
        base_url: own.base_url.clone().or_else(|| defaults.base_url.clone()),
        allow_http: own.allow_http.or(defaults.allow_http),
        allow_remote_refs: own.allow_remote_refs.or(defaults.allow_remote_refs),
        allow_outside_refs: own.allow_outside_refs.or(defaults.allow_outside_refs),
        max_removed_share: own.max_removed_share.or(defaults.max_removed_share),
        max_size: own.max_size.or(defaults.max_size),
        // One prefix for every source would resolve no clash between them.
        name_prefix: own.name_prefix.clone(),
        schema_budget: own.schema_budget.or(defaults.schema_budget),
        selection: if own.selection.is_empty() {
            defaults.selection.clone()
        } else {
            own.selection.clone()
        },
    }
}

fn source_spec(
    name: String,
    kind: &str,
    location: SpecLocation,
    options: &SourceOptions,
    _entry: &SourceConfig,
) -> SourceSpec {
    SourceSpec {
        convert: ConvertOptions {
            source: name.clone(),
            base_url: options.base_url.clone(),
            allow_http: options.allow_http.unwrap_or(false),
            selection: options.selection.clone(),
            budget: options.schema_budget.budget(),
        },
        load: LoadOptions {
            max_bytes: options.max_size.unwrap_or(crate::spec::DEFAULT_MAX_BYTES),
            allow_remote_refs: options.allow_remote_refs.unwrap_or(false),
            allow_outside_refs: options.allow_outside_refs.unwrap_or(false),
            ..LoadOptions::default()
        },
        max_removed_share: options
            .max_removed_share
            .unwrap_or(DEFAULT_MAX_REMOVED_SHARE),
        name_prefix: options.name_prefix.clone(),
        name,
        kind: kind.to_string(),
        location,
    }
}

/// The spec files directly in `dir`: `.yaml`, `.yml` and `.json` files whose top
/// level has `openapi` or `swagger` (fragments that specs `$ref` are not sources),
/// sorted by name.
pub fn spec_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read the folder {}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && is_spec_file(p))
        .collect();
    files.sort();
    Ok(files)
}

/// Whether a file looks like a spec root, by its name and a look at its text.
pub fn is_spec_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name.starts_with('.') || name.ends_with('~') {
        return false;
    }
    if !matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    ) {
        return false;
    }
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    text.lines().any(|line| {
        let line = line.trim_start_matches('\u{feff}');
        line.starts_with("openapi:") || line.starts_with("swagger:")
    }) || text.contains("\"openapi\"")
        || text.contains("\"swagger\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Config {
        let mut config: Config = super::parse(text).unwrap();
        config.base_dir = PathBuf::from("/srv/app");
        config
    }

    #[test]
    fn rate_limits_default_read_and_override() {
        assert_eq!(parse("").rate_limit, RateLimits::default());
        let mut config = parse("rate_limit: {per_token: 5, burst: 10}\n");
        assert_eq!(config.rate_limit.per_token, 5);
        assert_eq!(
            config.rate_limit.per_address,
            RateLimits::default().per_address
        );
        config
            .apply_environment(|k| {
                (k == "ACTIONSYNC_RATE_LIMIT_PER_ADDRESS").then(|| "0".to_string())
            })
            .unwrap();
        assert_eq!(config.rate_limit.per_address, 0);
        assert!(
            super::parse("rate_limit: {per_second: 5}\n").is_err(),
            "a misspelt key"
        );
        let mut bad = parse("");
        assert!(
            bad.apply_environment(
                |k| (k == "ACTIONSYNC_RATE_LIMIT_BURST").then(|| "lots".to_string())
            )
            .is_err()
        );
    }

    #[test]
    fn defaults_merge_and_environment_overrides() {
        let mut config = parse(
            "defaults: {base_url: 'https://a.example', max_removed_share: 0.3}\nsources:\n  - {name: billing, file: billing.yaml, include_tags: [billing]}\n  - {name: pets, url: 'https://p.example/openapi.json', max_removed_share: 0.9}\n",
        );
        config
            .apply_environment(|k| match k {
                "ACTIONSYNC_SOURCE_BILLING_BASE_URL" => Some("https://staging.example".into()),
                "ACTIONSYNC_DATABASE_URL" => Some("postgres://db/x".into()),
                _ => None,
            })
            .unwrap();
        config.validate().unwrap();
        let sources = config.sources().unwrap();
        assert_eq!(config.database_url(), "postgres://db/x");
        assert_eq!(
            sources[0].convert.base_url.as_ref().map(Url::as_str),
            Some("https://staging.example/")
        );
        assert_eq!(sources[0].convert.selection.include_tags, vec!["billing"]);
        assert_eq!(sources[0].max_removed_share, 0.3);
        assert_eq!(
            sources[1].convert.base_url.as_ref().map(Url::as_str),
            Some("https://a.example/")
        );
        assert_eq!(sources[1].max_removed_share, 0.9);
        assert!(
            matches!(&sources[0].location, SpecLocation::File(p) if p == Path::new("/srv/app/billing.yaml"))
        );
    }

    #[test]
    fn the_budget_has_defaults_a_file_and_environment_overrides() {
        assert_eq!(parse("sources: []").token_budget, Budget::default());
        let mut config = parse("token_budget: {tool_tokens: 800}");
        assert_eq!(config.token_budget.tool_tokens, 800);
        assert_eq!(
            config.token_budget.audience_tokens,
            Budget::default().audience_tokens
        );
        config
            .apply_environment(|k| (k == "ACTIONSYNC_AUDIENCE_TOKENS").then(|| "9000".into()))
            .unwrap();
        assert_eq!(config.token_budget.audience_tokens, 9000);
        assert_eq!(config.token_budget.tool_tokens, 800);
        let err = config
            .apply_environment(|k| (k == "ACTIONSYNC_TOOL_TOKENS").then(|| "lots".into()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("ACTIONSYNC_TOOL_TOKENS"), "{err}");
        let err = super::parse("token_budget: {tool_token: 5}").unwrap_err();
        assert!(err.contains("tool_token"), "{err}");
        let err = parse("token_budget: {tool_tokens: 0}")
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("above 0"), "{err}");
    }

    #[test]
    fn mistakes_are_named() {
        let err = super::parse("sources: [{name: x, fil: a.yaml}]").unwrap_err();
        assert!(err.contains("unknown key `fil` in sources[0]"), "{err}");
        let err = super::parse("defaults: {include_tag: [a]}").unwrap_err();
        assert!(
            err.contains("unknown key `include_tag` in defaults"),
            "{err}"
        );
        for (text, needle) in [
            (
                "sources: [{name: x}]",
                "needs one of file, dir, url or push",
            ),
            (
                "sources: [{name: x, file: a.yaml, url: 'https://a.example'}]",
                "more than one",
            ),
            ("sources: [{url: 'https://a.example'}]", "needs a name"),
            ("sources: [{name: 'bad name', file: a.yaml}]", "source name"),
            ("defaults: {max_removed_share: 50}", "between 0 and 1"),
            (
                "sources: [{name: x, file: a.yaml, every: 5m}]",
                "for url sources",
            ),
        ] {
            let err = parse(text).validate().unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn push_and_named_sources_keep_their_options() {
        let config = parse(
            "defaults: {base_url: 'https://a.example'}\nsources:\n  - {dir: missing-folder/}\n  - {name: billing, file: billing.yaml, base_url: 'https://billing.example', include_tags: [billing]}\n  - {name: payments, push: true, max_removed_share: 0.2}\n",
        );
        config.validate().unwrap();
        // A folder that cannot be read does not hide the file source's options.
        let billing = config.named_source("billing").unwrap();
        assert_eq!(
            billing.convert.base_url.as_ref().map(Url::as_str),
            Some("https://billing.example/")
        );
        assert_eq!(billing.convert.selection.include_tags, vec!["billing"]);
        // A push source takes its own options; a name not in the config the defaults.
        let payments = config.push_source("payments", b"{}".to_vec()).unwrap();
        assert_eq!(payments.kind, "push");
        assert_eq!(payments.max_removed_share, 0.2);
        let other = config.push_source("other", Vec::new()).unwrap();
        assert_eq!(
            other.convert.base_url.as_ref().map(Url::as_str),
            Some("https://a.example/")
        );
        // A source the config reads from a file cannot be pushed to.
        assert!(config.push_source("billing", Vec::new()).is_none());
        let err = super::parse("sources: [{push: true}]")
            .map(|mut c| {
                c.base_dir = PathBuf::from("/srv");
                c.validate()
            })
            .unwrap()
            .unwrap_err()
            .to_string();
        assert!(err.contains("a push source needs a name"), "{err}");
    }
}
