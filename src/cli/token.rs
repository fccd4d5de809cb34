//! `actionsync token` (being written in this change).

use std::process::ExitCode;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Placeholder.
    List,
}

pub fn run(_command: &TokenCommand) -> Result<ExitCode, String> {
    Err("not yet".to_string())
}
