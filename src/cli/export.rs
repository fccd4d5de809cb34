//! `actionsync export` (being written in this change).

use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub struct ExportArgs {}

pub fn run(_args: &ExportArgs) -> Result<ExitCode, String> {
    Err("not yet".to_string())
}
