//! Text output for people.

use std::io::Write;

use crate::convert::Conversion;
use crate::diagnostic::Diagnostic;
use crate::tools;

/// A conversion as a table of actions (with each one's token cost: see
/// [`tools::tokens`]), then skipped operations, then diagnostics.
pub fn conversion(out: &mut impl Write, c: &Conversion) -> std::io::Result<()> {
    writeln!(
        out,
        "{} {} (OpenAPI {}) → source `{}`: {} actions, {} skipped",
        if c.spec.title.is_empty() {
            "untitled spec"
        } else {
            &c.spec.title
        },
        c.spec.version,
        c.spec.openapi,
        c.source,
        c.actions.len(),
        c.skipped.len()
    )?;
    if !c.actions.is_empty() {
        let rows: Vec<[String; 6]> = c
            .actions
            .iter()
            .map(|draft| {
                let a = &draft.spec;
                [
                    a.name.clone(),
                    a.method.to_string(),
                    a.url.clone(),
                    a.parameters.len().to_string(),
                    a.body
                        .as_ref()
                        .map_or("-".to_string(), |b| b.content_type.clone()),
                    tools::tokens(&tools::preview(draft)).to_string(),
                ]
            })
            .collect();
        writeln!(out)?;
        print_rows(
            out,
            &["NAME", "METHOD", "URL", "PARAMS", "BODY", "TOKENS"],
            &rows,
        )?;
    }
    if !c.skipped.is_empty() {
        writeln!(out, "\nskipped:")?;
        for s in &c.skipped {
            writeln!(
                out,
                "  {} {}: {}",
                s.method.to_ascii_uppercase(),
                s.path,
                s.reason
            )?;
        }
    }
    if !c.diagnostics.is_empty() {
        writeln!(out, "\ndiagnostics:")?;
        for d in &c.diagnostics {
            diagnostic(out, d, "  ")?;
        }
    }
    Ok(())
}

/// One diagnostic on one line: severity, operation, pointer, message.
pub fn diagnostic(out: &mut impl Write, d: &Diagnostic, indent: &str) -> std::io::Result<()> {
    let key = d.key.as_deref().unwrap_or("-");
    let place = match &d.file {
        Some(file) => format!("{file}{}", d.pointer),
        None => d.pointer.clone(),
    };
    writeln!(
        out,
        "{indent}{:<8} {key}  {place}\n{indent}         {}",
        d.severity.as_str(),
        d.message
    )
}

fn print_rows<const N: usize>(
    out: &mut impl Write,
    header: &[&str; N],
    rows: &[[String; N]],
) -> std::io::Result<()> {
    let mut widths = header.map(str::len);
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; N]| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        s
    };
    writeln!(out, "{}", line(*header))?;
    for row in rows {
        writeln!(out, "{}", line(row.each_ref().map(String::as_str)))?;
    }
    Ok(())
}
