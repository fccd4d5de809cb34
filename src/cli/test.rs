//! `actionsync test`: one action from the catalogue, called as the platform calls
//! it (see [`crate::call`]).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde_json::Value;

use super::catalogue::{self, CatalogueArgs, Failure, Output, parse_pair};
use crate::call::{self, CallOptions, TestInput, send::AddressPolicy};

/// The exit code of a 2xx whose body does not match the spec's response schema.
pub const SCHEMA_MISMATCH: u8 = 3;

/// `test`.
#[derive(Debug, Args)]
#[command(after_help = "\
Exit status: 0 a 2xx answer (or --dry-run); 1 any other answer, a timeout, a network \
error, or an error before sending; 3 a 2xx whose body does not match the spec's \
response schema.

This command runs on your machine and may reach loopback and private addresses \
(a local or internal API). The server's POST /v1/actions/{id}/test refuses those \
unless its config's test.allow_networks lists them. Both follow at most 5 redirects \
and never retry.")]
pub struct TestArgs {
    /// The action: its name or id.
    action: String,
    /// A tool argument: NAME=VALUE (repeat for several). NAME is the argument's
    /// name in the tool, or the parameter's name in the spec; VALUE is text, or
    /// JSON for a parameter that is not a string.
    #[arg(long = "arg", value_name = "NAME=VALUE", value_parser = parse_pair)]
    args: Vec<(String, String)>,
    /// The request body: JSON, or @FILE to read it from a file. Without it, a
    /// required body is made from the spec's examples, defaults and enums.
    #[arg(long, value_name = "JSON|@FILE")]
    body: Option<String>,
    /// Conversation context for magic fields: PATH=VALUE (e.g.
    /// contact.email=jane@example.com). Magic fields without one get a placeholder.
    #[arg(long, value_name = "PATH=VALUE", value_parser = parse_pair)]
    context: Vec<(String, String)>,
    /// Build the request and show it, without sending it.
    #[arg(long)]
    dry_run: bool,
    /// Seconds to wait for the answer, at most 60 (the platform's limit).
    #[arg(long, value_name = "S")]
    timeout: Option<f64>,
    /// Allow plain http:// URLs (the platform calls HTTPS only: for local servers).
    #[arg(long)]
    allow_http: bool,
    /// A PEM file of extra root certificates, for internal APIs (overrides the
    /// config's test.ca_cert).
    #[arg(long, value_name = "FILE")]
    ca_cert: Option<PathBuf>,
    /// Leave out the placeholder x-opencx-* context headers (sent by default, as
    /// by the platform's Test button; the config's test.context_headers).
    #[arg(long)]
    no_context_headers: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
    #[command(flatten)]
    catalogue: CatalogueArgs,
}

/// `actionsync test`.
pub fn run(args: &TestArgs) -> Result<ExitCode, Failure> {
    let config = catalogue::load_config(&args.catalogue)?;
    let settings = &config.test;
    let globals = call::read_globals(settings, &config.base_dir, |k| std::env::var(k).ok())
        .map_err(|e| e.to_string())?;
    let ca_cert = match (&args.ca_cert, &settings.ca_cert) {
        (Some(path), _) => Some(call::read_ca_cert(path, std::path::Path::new(""))),
        (None, Some(path)) => Some(call::read_ca_cert(path, &config.base_dir)),
        (None, None) => None,
    }
    .transpose()
    .map_err(|e| e.to_string())?;
    let body = args.body.as_deref().map(read_body).transpose()?;
    let options = CallOptions {
        globals,
        context_headers: settings.context_headers && !args.no_context_headers,
        allow_http: args.allow_http,
        addresses: AddressPolicy {
            allow_all: true,
            allowed: Vec::new(),
        },
        ca_cert,
        timeout: call::timeout(args.timeout).map_err(|e| e.to_string())?,
    };
    let report = catalogue::runtime()?.block_on(async {
        let store = catalogue::open_existing(&config).await?;
        let action = catalogue::find(&store, &args.action).await?;
        let spec = call::current_spec(&store, &action)
            .await
            .map_err(|e| e.to_string())?;
        let input = TestInput {
            args: args
                .args
                .iter()
                .map(|(name, text)| {
                    (
                        name.clone(),
                        call::build::parse_argument(&action, name, text),
                    )
                })
                .collect(),
            body,
            context: call::build::context_map(&args.context),
            dry_run: args.dry_run,
            timeout: args.timeout,
        };
        call::test_action(&action, spec.as_deref(), &input, &options)
            .await
            .map_err(|e| e.to_string())
    })?;
    match args.output {
        Output::Json => {
            catalogue::print_json(&serde_json::to_value(&report).unwrap_or(Value::Null))?
        }
        _ => catalogue::print_text(&report.to_text())?,
    }
    Ok(exit_code(&report))
}

/// `--body`: JSON text, or `@FILE` holding it.
fn read_body(arg: &str) -> Result<Value, Failure> {
    let (text, from) = match arg.strip_prefix('@') {
        Some(path) => (
            std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read the body file {path}: {e}"))?,
            path.to_string(),
        ),
        None => (arg.to_string(), "--body".to_string()),
    };
    serde_json::from_str(&text).map_err(|e| {
        format!("{from} is not JSON ({e}); give a JSON document, or @FILE to read one from a file")
    })
}

fn exit_code(report: &call::TestReport) -> ExitCode {
    match report.verdict.works {
        None => ExitCode::SUCCESS,
        Some(false) => ExitCode::from(1),
        Some(true) => match report.schema.as_ref().and_then(|s| s.matches) {
            Some(false) => ExitCode::from(SCHEMA_MISMATCH),
            _ => ExitCode::SUCCESS,
        },
    }
}
