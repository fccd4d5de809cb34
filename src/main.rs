//! The `actionsync` binary: all of it lives in the library's `cli` module.

/// Parsing a spec and building its actions allocate millions of small maps and
/// strings, most of them in fresh memory: mimalloc serves them with fewer
/// instructions and page faults than glibc's allocator (BENCHMARKS.md, "Gains so
/// far (issue 10)").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in the `mimalloc.h` that libmimalloc-sys 0.1.49
/// vendors (mimalloc 3): the delay, in milliseconds, before freed memory goes
/// back to the system.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> std::process::ExitCode {
    // Give freed memory back at once rather than after 10 ms: a convert frees
    // the parse's temporaries in bursts, and the default delay kept 5 to 20 MiB
    // more resident for no measurable time.
    // SAFETY: sets a plain integer option; mimalloc reads options on use.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
    actionsync::cli::run()
}
