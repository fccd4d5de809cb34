//! The allocator our programs run on, and its settings. The binary declares
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
/// - Freed memory goes back at once rather than after 10 ms: a convert frees
///   the parse's temporaries in bursts, and the default delay kept 5 to 20 MiB
///   more resident for no measurable time. `MIMALLOC_PURGE_DELAY`, where set,
///   is mimalloc's to act on instead.
/// - No transparent huge pages ([`no_huge_pages`]).
pub fn configure() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets a plain integer option; mimalloc reads options on use.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
    }
    no_huge_pages();
}

/// Turns transparent huge pages off for this process, as mimalloc's own
/// `MIMALLOC_ALLOW_THP=0` does, unless that variable is set (either way: it is
/// then mimalloc's to act on). mimalloc asks for them (`madvise(MADV_HUGEPAGE)`)
/// on the arena it reserves before `main` runs, too early for its option to be
/// set from here; the process's flag overrides that advice. A huge page is
/// 2 MiB resident, and zeroed, from the first byte touched: without them the
/// peak of a convert of Kubernetes' spec is 6 MiB lower and of a first apply of
/// it 28 MiB lower, for 2 to 9 % more time on a convert and 4 to 12 % on a
/// first apply, the cost of more, smaller page faults (BENCHMARKS.md, issue 10).
/// Children the process starts inherit the flag.
fn no_huge_pages() {
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_some() {
        return;
    }
    #[cfg(target_os = "linux")]
    // SAFETY: `PR_SET_THP_DISABLE` takes plain integers and touches no memory of
    // ours; if it fails (an old kernel, a seccomp filter) nothing changes.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// Gives the whole memory pages within `start + range` back to the system
/// (`madvise(MADV_DONTNEED)`), so that the process's resident memory falls by
/// them at once. Pages partly outside the range are kept; where the system
/// has no such call, or refuses, nothing changes.
///
/// # Safety
/// `start` points to an allocation of at least `range.end` bytes of
/// anonymous memory (as the allocator's), and nothing reads or writes its
/// bytes in `range` afterwards: the pages given back read as zeros.
pub unsafe fn give_back(start: *const u8, range: std::ops::Range<usize>) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: `sysconf` reads a constant of the system.
        let page = match usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }) {
            Ok(page) if page.is_power_of_two() => page,
            _ => return,
        };
        let base = start as usize;
        let from = (base + range.start).next_multiple_of(page);
        let to = (base + range.end) & !(page - 1);
        if from < to {
            // SAFETY: [from, to) lies within the caller's range of its
            // allocation, which by the contract no one reads again.
            unsafe { libc::madvise(from as *mut libc::c_void, to - from, libc::MADV_DONTNEED) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (start, range);
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    /// After `configure`, the kernel reports huge pages off for the process
    /// (`THP_enabled` in `/proc/self/status`, Linux 5.0 and later).
    #[test]
    fn configure_turns_huge_pages_off() {
        if std::env::var_os("MIMALLOC_ALLOW_THP").is_some() {
            eprintln!("skipped: MIMALLOC_ALLOW_THP is set, so huge pages are mimalloc's to decide");
            return;
        }
        super::configure();
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let Some(line) = status.lines().find(|l| l.starts_with("THP_enabled:")) else {
            eprintln!("skipped: this kernel does not report THP_enabled");
            return;
        };
        assert_eq!(line.split_whitespace().nth(1), Some("0"), "{line}");
    }

    /// After `configure`, freed memory goes back at once, unless
    /// `MIMALLOC_PURGE_DELAY` says otherwise.
    #[test]
    fn configure_purges_at_once() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            eprintln!("skipped: MIMALLOC_PURGE_DELAY is set, so the delay is mimalloc's to decide");
            return;
        }
        super::configure();
        // SAFETY: reads a plain integer option.
        let delay = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        assert_eq!(delay, 0);
    }
}
