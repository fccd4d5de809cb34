//! The allocator our programs run on, and its one setting. The binary declares
//! it; so do the benchmarks, so that what they time is what ships (on glibc's
//! allocator a convert of GitHub's spec took 1.7 times as long, BENCHMARKS.md
//! "Gains so far (issue 10)").
//!
//! Parsing a spec and building its actions allocate millions of small maps and
//! strings, most of them in fresh memory: mimalloc serves them with fewer
//! instructions and page faults than glibc's allocator.

pub use mimalloc::MiMalloc as Allocator;

/// `mi_option_purge_delay` in the `mimalloc.h` that libmimalloc-sys 0.1.49
/// vendors (mimalloc 3): the delay, in milliseconds, before freed memory goes
/// back to the system.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Sets the allocator up; called first thing by `main` (and by the benchmarks).
/// Freed memory goes back at once rather than after 10 ms: a convert frees the
/// parse's temporaries in bursts, and the default delay kept 5 to 20 MiB more
/// resident for no measurable time.
pub fn configure() {
    // SAFETY: sets a plain integer option; mimalloc reads options on use.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
}
