//! `actionsync backup FILE`: a consistent copy of the SQLite catalogue, safe
//! while `serve` runs.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;

use super::catalogue::{CatalogueArgs, Failure, load_config, open_existing, runtime};

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The copy to write: a new file (an existing one is never overwritten).
    #[arg(value_name = "FILE")]
    to: PathBuf,
    #[command(flatten)]
    catalogue: CatalogueArgs,
}

pub fn run(args: &BackupArgs) -> Result<ExitCode, Failure> {
    let config = load_config(&args.catalogue)?;
    let started = Instant::now();
    runtime()?.block_on(async {
        let store = open_existing(&config).await?;
        store.backup(&args.to).await.map_err(|e| e.to_string())
    })?;
    let size = std::fs::metadata(&args.to).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "backed up the catalogue to {} ({size} bytes) in {} ms; restore by pointing --database (or the config's database) at a copy of it",
        args.to.display(),
        started.elapsed().as_millis()
    );
    Ok(ExitCode::SUCCESS)
}
