//! `actionsync convert SPEC`: one spec → the actions JSON (no database).

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, ValueEnum};

use super::{SpecArgs, location, table};
use crate::convert;
use crate::diagnostic::Severity;
use crate::source;

#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The spec: a file, an http(s) URL, or - for standard input.
    #[arg(value_name = "SPEC")]
    spec: String,
    /// Source name for the actions (default: the file name without extension).
    #[arg(long, value_name = "NAME", value_parser = super::parse_source_name)]
    source: Option<String>,
    /// Output format (`--format` is the older spelling).
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = Format::Json, alias = "format")]
    output: Format,
    /// Exit 1 if any error diagnostic was reported.
    #[arg(long)]
    strict: bool,
    /// Print how long reading, parsing and converting took, on standard error.
    #[arg(long)]
    timings: bool,
    #[command(flatten)]
    spec_args: SpecArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// The conversion document, as JSON.
    Json,
    /// The same document, as YAML.
    Yaml,
    /// A table for people.
    Table,
}

pub fn run(args: &ConvertArgs) -> Result<ExitCode, String> {
    let started = Instant::now();
    let location = location(&args.spec)?;
    let (spec, load) =
        source::load_timed(&location, &args.spec_args.load_options()).map_err(|e| e.to_string())?;
    let source = args
        .source
        .clone()
        .unwrap_or_else(|| location.default_source_name());
    let converting = Instant::now();
    let conversion = convert::convert(&spec, &args.spec_args.convert_options(source));
    let convert_time = converting.elapsed();

    // Standard output is line-buffered: unbuffered, a large spec's output would be
    // one write per line (1.9 million for Microsoft Graph's).
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let written: std::io::Result<()> = match args.output {
        Format::Json => super::write_json(&mut out, &conversion),
        Format::Yaml => serde_yaml::to_string(&conversion)
            .map_err(std::io::Error::other)
            .and_then(|text| out.write_all(text.as_bytes())),
        Format::Table => table::conversion(&mut out, &conversion),
    }
    .and_then(|()| out.flush());
    // A closed pipe (`| head`) is not an error worth reporting.
    if let Err(e) = written
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(format!("cannot write the output: {e}"));
    }
    drop(out);

    let errors = conversion.count(Severity::Error);
    let warnings = conversion.count(Severity::Warning);
    if args.timings {
        eprintln!(
            "timings: read {:.1} ms, parse {:.1} ms, convert {:.1} ms, total {:.1} ms ({} documents, {} bytes, {} operations)",
            ms(load.read),
            ms(load.parse),
            ms(convert_time),
            ms(started.elapsed()),
            load.documents,
            load.bytes,
            conversion.operation_count()
        );
    }
    if std::io::stderr().is_terminal() && args.output != Format::Table {
        eprintln!(
            "{}: {} actions, {} skipped, {errors} errors, {warnings} warnings",
            conversion.source,
            conversion.actions.len(),
            conversion.skipped.len()
        );
    }
    let code = if args.strict && errors > 0 {
        eprintln!(
            "error: --strict: the conversion reported {}; see the diagnostics of severity error in the output",
            if errors == 1 {
                "1 error".to_string()
            } else {
                format!("{errors} errors")
            }
        );
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    };
    // The process ends here: the OS takes the memory back at once, where freeing
    // the parsed spec and the conversion node by node costs 5-7 % of the run.
    std::mem::forget(conversion);
    std::mem::forget(spec);
    Ok(code)
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
