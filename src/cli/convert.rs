//! `actionsync convert SPEC`: one spec → the actions JSON (no database).

use std::cell::{Cell, RefCell};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, ValueEnum};
use serde::ser::{Error as _, SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};

use super::{SpecArgs, location, table};
use crate::convert::{self, Conversion, ConvertOptions};
use crate::diagnostic::Severity;
use crate::source;
use crate::spec::{Paths, Spec};

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
    let options = args.spec_args.convert_options(source);

    // Standard output is line-buffered: unbuffered, a large spec's output would be
    // one write per line (1.9 million for Microsoft Graph's).
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let converting = Instant::now();
    let (conversion, actions, written) = match args.output {
        // Each action is written as it is made, and dropped; so is the text
        // of each path item once converted (nothing reads it after).
        Format::Json => {
            if let Paths::Raw(paths) = spec.paths() {
                paths.give_back_as_converted();
            }
            let document = Streamed::new(&spec, &options);
            let written = super::write_json(&mut out, &document);
            let (conversion, actions) = document.into_conversion();
            (conversion, actions, written)
        }
        Format::Yaml => {
            let conversion = convert::convert(&spec, &options);
            let written = serde_yaml::to_string(&conversion)
                .map_err(std::io::Error::other)
                .and_then(|text| out.write_all(text.as_bytes()));
            (Some(conversion), 0, written)
        }
        Format::Table => {
            let conversion = convert::convert(&spec, &options);
            let written = table::conversion(&mut out, &conversion);
            (Some(conversion), 0, written)
        }
    };
    let written = written.and_then(|()| out.flush());
    let convert_time = converting.elapsed();
    // A closed pipe (`| head`) is not an error worth reporting.
    if let Err(e) = written
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(format!("cannot write the output: {e}"));
    }
    drop(out);
    // Writing stopped before the conversion ended: the pipe was closed.
    let Some(conversion) = conversion else {
        return Ok(ExitCode::SUCCESS);
    };

    let errors = conversion.count(Severity::Error);
    let warnings = conversion.count(Severity::Warning);
    if args.timings {
        eprintln!(
            "timings: read {:.1} ms, parse {:.1} ms, convert and write {:.1} ms, total {:.1} ms ({} documents, {} bytes, {} operations)",
            ms(load.read),
            ms(load.parse),
            ms(convert_time),
            ms(started.elapsed()),
            load.documents,
            load.bytes,
            conversion.operation_count() + actions
        );
    }
    if std::io::stderr().is_terminal() && args.output != Format::Table {
        eprintln!(
            "{}: {} actions, {} skipped, {errors} errors, {warnings} warnings",
            conversion.source,
            conversion.actions.len() + actions,
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

/// The conversion document, serialised as the conversion runs: its `actions`
/// are written one by one as [`convert::convert_each`] makes them, then its
/// skipped entries and diagnostics. Byte for byte [`convert::Conversion`]'s
/// serialisation.
struct Streamed<'a> {
    spec: &'a Spec,
    options: &'a ConvertOptions,
    /// The actions written so far.
    written: Cell<usize>,
    /// The conversion, once its actions have all been written.
    made: RefCell<Option<Conversion>>,
}

impl<'a> Streamed<'a> {
    fn new(spec: &'a Spec, options: &'a ConvertOptions) -> Self {
        Streamed {
            spec,
            options,
            written: Cell::new(0),
            made: RefCell::new(None),
        }
    }

    /// The conversion (without the actions, which were written) and how many
    /// actions were written; `None` when writing stopped first.
    fn into_conversion(self) -> (Option<Conversion>, usize) {
        (self.made.into_inner(), self.written.get())
    }
}

impl Serialize for Streamed<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut document = serializer.serialize_struct("Conversion", 5)?;
        document.serialize_field("source", &self.options.source)?;
        document.serialize_field("spec", &convert::spec_info(self.spec))?;
        document.serialize_field("actions", &ActionsAsMade(self))?;
        let made = self.made.borrow();
        let conversion = made
            .as_ref()
            .ok_or_else(|| S::Error::custom("the conversion did not finish"))?;
        document.serialize_field("skipped", &conversion.skipped)?;
        document.serialize_field("diagnostics", &conversion.diagnostics)?;
        document.end()
    }
}

/// The `actions` list of a [`Streamed`] document: running it runs the conversion.
struct ActionsAsMade<'d, 'a>(&'d Streamed<'a>);

impl Serialize for ActionsAsMade<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let document = self.0;
        let mut list = serializer.serialize_seq(None)?;
        let conversion = convert::convert_each(document.spec, document.options, |action| {
            document.written.set(document.written.get() + 1);
            list.serialize_element(&action)
        })?;
        *document.made.borrow_mut() = Some(conversion);
        list.end()
    }
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
