//! `actionsync push` (being written in this change).

use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub struct PushArgs {}

pub fn run(_args: &PushArgs) -> Result<ExitCode, String> {
    Err("not yet".to_string())
}
