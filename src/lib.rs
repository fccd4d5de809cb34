//! actionsync keeps an AI support agent's catalogue of *Actions* (HTTP tools the AI
//! may call) in sync with the OpenAPI specs of the APIs behind them.
//!
//! # Layout
//!
//! The flow is `source → spec → convert → lint`; each stage is a module with one
//! job and plain data at its boundary.
//!
//! - [`source`]: the only module that does I/O for specs. It reads the root document
//!   and every document it `$ref`s (files, and URLs when allowed), enforcing the
//!   size limit and the reference policy, and hands back a [`spec::Spec`].
//! - [`spec`]: pure. Parses bytes (JSON or YAML, with limits and line/column errors)
//!   into `serde_json::Value`s, detects the OpenAPI version, and resolves `$ref`s
//!   across the loaded documents.
//! - [`convert`]: pure. Turns every operation of a [`spec::Spec`] into an
//!   [`action::ActionDraft`], or a [`action::Skipped`] entry with the reason, plus
//!   [`diagnostic::Diagnostic`]s. One bad operation never fails the spec.
//! - [`lint`]: pure. The catalogue checks (names, descriptions, duplicates across
//!   specs, http URLs, missing servers) over one or more conversions.
//! - [`action`], [`diagnostic`]: the plain data passed between the stages.
//! - [`plan`], [`store`], [`sync`]: the catalogue: pure plans, their storage
//!   (SQLite or Postgres), and the one path from a spec to a revision.
//! - [`server`]: the process `serve` runs (listener, TLS, signals, systemd), from
//!   which hang [`daemon`] (watchers, pollers, per-source workers) and [`api`] (the
//!   HTTP API: pushes, the curators' routes, the tool list) and [`console`] (the
//!   web console under `/ui/`, over the API's calls); [`tools`]: actions as the
//!   tool definitions an LLM takes.
//! - [`call`]: tests an action: the request built and sent as the platform
//!   sends it, the answer checked against the spec's response schema.
//! - [`config`]: reads `actionsync.yaml`.
//! - [`json_text`]: JSON text as serde_json writes it, faster (string escaping,
//!   compact lengths without writing, pretty and compact writers), for the
//!   output of `cli`, the plan's records and digests, the tools' text and the
//!   byte budget of `convert`.
//! - [`cli`]: the command line; `main.rs` only calls it.

pub mod action;
pub mod allocator;
pub mod api;
pub mod call;
pub mod cli;
pub mod config;
pub mod console;
pub mod convert;
pub mod daemon;
pub mod diagnostic;
pub mod json_text;
pub mod lint;
pub mod plan;
pub mod server;
pub mod source;
pub mod spec;
pub mod store;
pub mod sync;
pub mod tls;
pub mod tools;
