//! Diagnostics: what a stage could not do, or did with a caveat, about one place
//! in a spec. They are data, never panics or early returns.

use serde::{Deserialize, Serialize};

/// How much a diagnostic matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; changes nothing.
    Info,
    /// Converted, but not quite as the spec said (a dropped parameter, a generated name).
    Warning,
    /// Something could not be converted, or would make a broken action; blocks a plan.
    Error,
}

impl Severity {
    /// The lowercase word used in text output.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding about one place in a spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// How much it matters.
    pub severity: Severity,
    /// A stable, kebab-case identifier of the kind of finding (`http-url`, `cookie-parameter`).
    pub code: String,
    /// The operation's key (operationId, else `METHOD /path`), when it concerns one.
    pub key: Option<String>,
    /// JSON pointer into the document, as a URI fragment (`#/paths/~1orders/get`).
    pub pointer: String,
    /// The document the pointer is into, when it is not the root spec file.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub file: Option<String>,
    /// What was wrong, and what to do about it.
    pub message: String,
}

impl Diagnostic {
    /// A diagnostic about the place `pointer` (a `#/…` fragment) in the root document.
    pub fn new(
        severity: Severity,
        code: &str,
        key: Option<&str>,
        pointer: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity,
            code: code.to_string(),
            key: key.map(str::to_string),
            pointer: pointer.into(),
            file: None,
            message: message.into(),
        }
    }
}

/// Counts of diagnostics by severity.
pub fn count(diagnostics: &[Diagnostic], severity: Severity) -> usize {
    diagnostics
        .iter()
        .filter(|d| d.severity == severity)
        .count()
}
