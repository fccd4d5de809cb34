//! The `actionsync` binary: all of it lives in the library's `cli` module.

/// mimalloc, set up by `allocator::configure` (why: `src/allocator.rs`).
#[global_allocator]
static ALLOCATOR: actionsync::allocator::Allocator = actionsync::allocator::Allocator;

fn main() -> std::process::ExitCode {
    actionsync::allocator::configure();
    actionsync::cli::run()
}
