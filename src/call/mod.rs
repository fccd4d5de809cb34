//! Test an action: one request built and sent exactly as the platform sends it at
//! call time (`reference/platform-notes.md`, "Execution"), and the answer checked.
//!
//! The path is three named steps, each in its own file, with plain data between:
//!
//! - [`build`] (pure): the action, the arguments and conversation context a test
//!   gives, and the global variables → a [`build::Prepared`] request: path
//!   parameters filled and percent-encoded into the URL template, query
//!   parameters, `User-Agent: OpenCX`, the action's static headers, every global
//!   variable as a header, the placeholder context headers, magic fields from the
//!   context (or a placeholder, said so), a JSON or multipart body. A missing
//!   required argument takes its schema's example, default or first enum value;
//!   with none, the error lists everything missing.
//! - [`send`] (I/O): HTTPS only unless allowed, one attempt (no retries), a hard
//!   timeout of at most 60 s, at most 5 redirects, each hop's address checked
//!   against the [`send::AddressPolicy`] after DNS resolution and connected to
//!   as checked (a resolver of our own, so a second lookup cannot rebind).
//! - [`check`] (pure): the response against the schema the spec declares for
//!   that status and content type, mismatches listed by JSON pointer.
//!
//! [`report::TestReport`] is the answer `actionsync test` prints and `POST
//! /v1/actions/{id}/test` returns: the request as sent (secrets redacted), what
//! the AI would receive, the verdict, and the schema check.
//!
//! Secrets: global variable values come from the environment or a file named in
//! the config ([`TestSettings`]); they are never stored, and every output
//! replaces them with `***` — in the request shown, and wherever the server
//! echoed them back in its answer.

pub mod build;
pub mod check;
pub mod report;
pub mod send;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::action::{ActionState, StoredAction};
use crate::store::{Store, StoreError};

pub use report::TestReport;

/// The platform's hard limit for one call; a test may only lower it.
pub const PLATFORM_TIMEOUT: Duration = Duration::from_secs(60);

/// The most redirects one test follows.
pub const MAX_REDIRECTS: usize = 5;

/// What a test fills in: the tool arguments the AI would extract and the
/// conversation context magic fields read. The body of `POST
/// /v1/actions/{id}/test`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TestInput {
    /// Tool arguments by name (as the tool definition names them) or by the
    /// parameter's key in the spec.
    pub args: BTreeMap<String, Value>,
    /// The request body; without it, a required body is made from its schema's
    /// examples, defaults and enums.
    pub body: Option<Value>,
    /// Conversation context by path (`contact.email`), for magic fields.
    pub context: BTreeMap<String, String>,
    /// Build the request and show it, but do not send it.
    pub dry_run: bool,
    /// Seconds to wait, at most 60 (the platform's limit).
    pub timeout: Option<f64>,
}

/// Where a global variable's value is (`{env: NAME}` or `{file: PATH}`): never in
/// the config or the catalogue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretSource {
    /// An environment variable.
    pub env: Option<String>,
    /// A file (relative to the config's folder); one trailing newline is dropped.
    pub file: Option<PathBuf>,
}

/// The config's `test:` section.
///
/// ```yaml
/// test:
///   global_variables:                 # header name → where its value is
///     Authorization: {env: ACME_AUTHORIZATION}
///     X-Api-Key: {file: secrets/acme-key}
///   context_headers: true             # x-opencx-* placeholders (the default)
///   ca_cert: certs/internal-ca.pem    # extra roots for internal APIs
///   allow_http: false                 # server-side tests: plain http:// targets
///   allow_networks: [10.20.0.0/16]    # server-side tests: private ranges allowed
///   rate_limit: 10                    # server-side tests per token per minute (0: off)
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TestSettings {
    /// Global variables: each is sent as a header on every call.
    pub global_variables: BTreeMap<String, SecretSource>,
    /// Whether the placeholder context headers are sent.
    pub context_headers: bool,
    /// A PEM bundle of extra root certificates (relative to the config's folder).
    pub ca_cert: Option<PathBuf>,
    /// Whether a server-side test may call `http://` URLs.
    pub allow_http: bool,
    /// Networks a server-side test may reach although they are loopback,
    /// private, link-local or metadata addresses.
    pub allow_networks: Vec<ipnet::IpNet>,
    /// Server-side tests one token may start per minute; 0 turns them off.
    pub rate_limit: u32,
}

impl Default for TestSettings {
    fn default() -> Self {
        TestSettings {
            global_variables: BTreeMap::new(),
            context_headers: true,
            ca_cert: None,
            allow_http: false,
            allow_networks: Vec::new(),
            rate_limit: 10,
        }
    }
}

impl TestSettings {
    /// Applies `ACTIONSYNC_TEST_CONTEXT_HEADERS`, `…_CA_CERT`, `…_ALLOW_HTTP`,
    /// `…_ALLOW_NETWORKS` (comma-separated CIDRs) and `…_RATE_LIMIT` read through
    /// `var`; the error names the variable.
    pub fn apply_environment(
        &mut self,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<(), String> {
        let boolean = |name: &str, value: String| match value.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            _ => Err(format!("{name}={value:?} is not true or false")),
        };
        if let Some(v) = var("ACTIONSYNC_TEST_CONTEXT_HEADERS") {
            self.context_headers = boolean("ACTIONSYNC_TEST_CONTEXT_HEADERS", v)?;
        }
        if let Some(v) = var("ACTIONSYNC_TEST_ALLOW_HTTP") {
            self.allow_http = boolean("ACTIONSYNC_TEST_ALLOW_HTTP", v)?;
        }
        if let Some(v) = var("ACTIONSYNC_TEST_CA_CERT") {
            self.ca_cert = Some(PathBuf::from(v));
        }
        if let Some(v) = var("ACTIONSYNC_TEST_ALLOW_NETWORKS") {
            self.allow_networks = v
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(|n| {
                    n.parse().map_err(|_| {
                        format!("ACTIONSYNC_TEST_ALLOW_NETWORKS: `{n}` is not a network such as 10.20.0.0/16")
                    })
                })
                .collect::<Result<_, _>>()?;
        }
        if let Some(v) = var("ACTIONSYNC_TEST_RATE_LIMIT") {
            self.rate_limit = v.trim().parse().map_err(|_| {
                format!("ACTIONSYNC_TEST_RATE_LIMIT={v:?} is not a number of tests per minute")
            })?;
        }
        Ok(())
    }
}

/// A global variable with its value, read for one test.
#[derive(Clone, PartialEq, Eq)]
pub struct GlobalVariable {
    /// The header name.
    pub name: String,
    /// The value, sent verbatim and shown nowhere.
    pub value: String,
}

impl std::fmt::Debug for GlobalVariable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GlobalVariable({}: ***)", self.name)
    }
}

/// How one test is sent.
#[derive(Debug, Clone)]
pub struct CallOptions {
    /// The global variables, with their values.
    pub globals: Vec<GlobalVariable>,
    /// Whether the placeholder context headers are sent.
    pub context_headers: bool,
    /// Whether `http://` URLs may be called.
    pub allow_http: bool,
    /// Which addresses may be reached.
    pub addresses: send::AddressPolicy,
    /// Extra root certificates (PEM).
    pub ca_cert: Option<Vec<u8>>,
    /// The hard limit for the whole exchange, redirects and body included.
    pub timeout: Duration,
}

/// Why a test could not be made (as opposed to a request that failed, which is
/// part of the report).
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The arguments, body or context do not make a request.
    #[error(transparent)]
    Build(#[from] build::BuildError),
    /// A global variable's value or the CA bundle could not be read, or the
    /// settings do not make a client.
    #[error("{0}")]
    Setup(String),
}

/// Reads each global variable's value from the environment or its file
/// (relative paths from `base_dir`). The error names the variable and where its
/// value should be, never a value.
pub fn read_globals(
    settings: &TestSettings,
    base_dir: &Path,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Vec<GlobalVariable>, CallError> {
    settings
        .global_variables
        .iter()
        .map(|(name, source)| {
            let value = match (&source.env, &source.file) {
                (Some(var), None) => env(var).ok_or_else(|| {
                    CallError::Setup(format!(
                        "global variable `{name}`: the environment variable {var} is not set; set it, or remove the variable from the config's test.global_variables"
                    ))
                })?,
                (None, Some(path)) => {
                    let path = base_dir.join(path);
                    let text = std::fs::read_to_string(&path).map_err(|e| {
                        CallError::Setup(format!(
                            "global variable `{name}`: cannot read {}: {e}",
                            path.display()
                        ))
                    })?;
                    let text = text.strip_suffix('\n').unwrap_or(&text);
                    text.strip_suffix('\r').unwrap_or(text).to_string()
                }
                _ => {
                    return Err(CallError::Setup(format!(
                        "global variable `{name}`: give its value's place as {{env: VARIABLE}} or {{file: PATH}}, one of the two"
                    )));
                }
            };
            Ok(GlobalVariable {
                name: name.clone(),
                value,
            })
        })
        .collect()
}

/// Reads a PEM bundle of root certificates (a relative path from `base_dir`).
pub fn read_ca_cert(path: &Path, base_dir: &Path) -> Result<Vec<u8>, CallError> {
    let path = base_dir.join(path);
    std::fs::read(&path)
        .map_err(|e| CallError::Setup(format!("cannot read the CA bundle {}: {e}", path.display())))
}

/// The timeout a test asked for, within the platform's 60 s.
pub fn timeout(seconds: Option<f64>) -> Result<Duration, CallError> {
    match seconds {
        None => Ok(PLATFORM_TIMEOUT),
        Some(s) if s.is_finite() && s > 0.0 && s <= PLATFORM_TIMEOUT.as_secs_f64() => {
            Ok(Duration::from_secs_f64(s))
        }
        Some(s) => Err(CallError::Setup(format!(
            "a timeout of {s} s: give more than 0 and at most 60 seconds (the platform's limit; a test may only lower it)"
        ))),
    }
}

/// The spec document the action was last applied from (the source's current
/// revision), for the response schemas; `None` when the action is archived (its
/// operation is no longer in that spec) or nothing was stored.
pub async fn current_spec<S: Store>(
    store: &S,
    action: &StoredAction,
) -> Result<Option<Vec<u8>>, StoreError> {
    if action.state != ActionState::Active {
        return Ok(None);
    }
    let revisions = store.revisions(&action.source).await?;
    match revisions.first() {
        Some(latest) => store.spec_body(&latest.spec_hash).await,
        None => Ok(None),
    }
}

/// Tests `action`: builds the request, sends it (unless `input.dry_run`), and
/// checks the answer against the response schemas of `spec` (the document the
/// action came from, when known).
pub async fn test_action(
    action: &StoredAction,
    spec: Option<&[u8]>,
    input: &TestInput,
    options: &CallOptions,
) -> Result<TestReport, CallError> {
    let prepared = build::request(action, input, &options.globals, options.context_headers)?;
    if input.dry_run {
        return Ok(TestReport::dry_run(action, &prepared, &options.globals));
    }
    let client = send::client(options)?;
    let outcome = send::send(&client, &prepared, options).await;
    let schema = check::response(spec, &action.spec.operation, &outcome);
    Ok(TestReport::new(
        action,
        &prepared,
        &outcome,
        schema,
        options.timeout,
        &options.globals,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timeout_may_only_be_lowered() {
        assert_eq!(timeout(None).unwrap(), PLATFORM_TIMEOUT);
        assert_eq!(timeout(Some(2.5)).unwrap(), Duration::from_millis(2500));
        for bad in [0.0, -1.0, 61.0, f64::NAN] {
            let message = timeout(Some(bad)).unwrap_err().to_string();
            assert!(message.contains("at most 60"), "{message}");
        }
    }

    #[test]
    fn a_missing_global_names_the_variable_not_a_value() {
        let settings = TestSettings {
            global_variables: BTreeMap::from([(
                "Authorization".to_string(),
                SecretSource {
                    env: Some("ACME_TOKEN".to_string()),
                    file: None,
                },
            )]),
            ..TestSettings::default()
        };
        let error = read_globals(&settings, Path::new("."), |_| None)
            .unwrap_err()
            .to_string();
        assert!(error.contains("Authorization") && error.contains("ACME_TOKEN"));
        let read =
            read_globals(&settings, Path::new("."), |_| Some("Bearer s3cret".into())).unwrap();
        assert!(
            !format!("{read:?}").contains("s3cret"),
            "Debug hides values"
        );
    }

    #[test]
    fn settings_read_from_yaml() {
        let settings: TestSettings = serde_yaml::from_str(
            "global_variables:\n  Authorization: {env: T}\n  X-Key: {file: k.txt}\nallow_networks: [127.0.0.2/32]\ncontext_headers: false\n",
        )
        .unwrap();
        assert_eq!(
            settings.global_variables["X-Key"],
            SecretSource {
                env: None,
                file: Some("k.txt".into())
            }
        );
        assert!(!settings.context_headers);
        assert_eq!(settings.rate_limit, 10);
        assert!(serde_yaml::from_str::<TestSettings>("global_variable: {}\n").is_err());
    }

    #[test]
    fn the_environment_overrides_the_settings() {
        let mut settings = TestSettings::default();
        let env = |k: &str| match k {
            "ACTIONSYNC_TEST_ALLOW_NETWORKS" => Some("10.0.0.0/8, fd00::/8".to_string()),
            "ACTIONSYNC_TEST_CONTEXT_HEADERS" => Some("false".to_string()),
            "ACTIONSYNC_TEST_RATE_LIMIT" => Some("3".to_string()),
            _ => None,
        };
        settings.apply_environment(env).unwrap();
        assert_eq!(settings.allow_networks.len(), 2);
        assert!(!settings.context_headers);
        assert_eq!(settings.rate_limit, 3);
        let bad =
            |k: &str| (k == "ACTIONSYNC_TEST_ALLOW_NETWORKS").then(|| "10.0.0.0/33".to_string());
        let message = TestSettings::default().apply_environment(bad).unwrap_err();
        assert!(message.contains("10.0.0.0/33"), "{message}");
    }
}
