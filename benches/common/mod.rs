//! What every benchmark shares: the allocator the binary runs on, and where the
//! shared corpus of real specs lies.

use std::path::{Path, PathBuf};

/// The allocator the binary runs on, set up as it sets it up (each benchmark's
/// `main` calls `actionsync::allocator::configure` first): what is timed here
/// is what ships.
#[global_allocator]
static ALLOCATOR: actionsync::allocator::Allocator = actionsync::allocator::Allocator;

/// The shared corpus: `ACTIONSYNC_SHARED_SPECS`, default `../shared/specs` beside
/// the repository (as the tests take it).
#[allow(dead_code)] // Not every benchmark reads the corpus.
pub fn shared_specs() -> PathBuf {
    std::env::var_os("ACTIONSYNC_SHARED_SPECS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/specs"))
}
