//! Spec bytes → load (as `actionsync convert` reads a file or standard input) →
//! convert → plan against an empty catalogue and against the catalogue the spec
//! itself produced. The first byte picks the name the spec is read under
//! (`spec.json`, `spec.yaml`, `spec`, standard input), the second the convert
//! options; the rest is the spec.
#![no_main]

use actionsync_fuzz::{Flags, MAX_LEN, Name, pipeline};
use libfuzzer_sys::fuzz_target;

fuzz_target!(
    // The token counter's tables are built once per process, on first use
    // (seconds in this instrumented build): built here, so that first input is
    // not reported slow for it.
    init: {
        actionsync::tools::count_tokens("warm up");
    },
    |data: &[u8]| {
        let [name, flags, spec @ ..] = data else {
            return;
        };
        if spec.len() > MAX_LEN {
            return;
        }
        pipeline(Name::from_byte(*name), Flags::from_byte(*flags), spec);
    }
);
